"""recorder.to_tensorboard writes scalars and the information-plane figure that
TensorBoard reads back from the event file."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
import torch

pytest.importorskip(
    "tensorboard", reason="tensorboard is not installed (pip install 'mi-probe[tensorboard]')"
)
pytest.importorskip("matplotlib", reason="matplotlib draws the information-plane image")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)
from torch.utils.tensorboard import SummaryWriter  # noqa: E402

from mi_probe import InformationPlaneRecorder  # noqa: E402
from mi_probe.integrations.tensorboard import plane_to_tensorboard  # noqa: E402


def _recorder(estimators=("binning", "kde")) -> InformationPlaneRecorder:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    x = torch.randn(80, 4)
    y = (x[:, 0] > 0).long()
    return InformationPlaneRecorder(net, x, y, layers=["1", "2"], estimators=estimators)


def _read(logdir) -> EventAccumulator:
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def test_scalars_and_figure_read_back(tmp_path, one_torch_thread) -> None:
    rec = _recorder()
    writer = SummaryWriter(log_dir=str(tmp_path))
    for epoch in range(3):
        with torch.no_grad():  # stands in for training: moves the weights
            for p in rec.model.parameters():
                p.mul_(1.3)
        rec.record(epoch)
        rec.to_tensorboard(writer, epochs=epoch, figure=(epoch == 2))
    writer.close()
    acc = _read(tmp_path)
    df = rec.dataframe
    tags = acc.Tags()
    assert len(tags["scalars"]) == 2 * 2 * 2  # I_XT, I_TY x 2 layers x 2 estimators
    for layer in ("1", "2"):
        for est in ("binning", "kde"):
            want = df[(df.layer == layer) & (df.estimator == est)].sort_values("epoch")
            for coord in ("I_XT", "I_TY"):
                events = acc.Scalars(f"info/{coord}/{layer}/{est}")
                assert [e.step for e in events] == [0, 1, 2]  # each point once
                np.testing.assert_allclose(
                    [e.value for e in events], want[coord].to_numpy(), rtol=1e-6
                )
    assert sorted(tags["images"]) == ["info/plane/binning", "info/plane/kde"]
    img = acc.Images("info/plane/kde")
    assert len(img) == 1 and img[0].step == 2
    assert img[0].width > 100 and img[0].height > 100
    assert img[0].encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_estimator_no_suffix_and_all_epochs(tmp_path, one_torch_thread) -> None:
    rec = _recorder(estimators="binning")
    rec.record(0)
    rec.record(1)
    with SummaryWriter(log_dir=str(tmp_path)) as writer:
        rec.to_tensorboard(writer)  # default: every epoch, and the figure
    acc = _read(tmp_path)
    assert [e.step for e in acc.Scalars("info/I_TY/2")] == [0, 1]
    assert acc.Tags()["images"] == ["info/plane"]


def test_bad_input(tmp_path) -> None:
    import pandas as pd

    rec = _recorder(estimators="binning")
    rec.record(0.5)
    with SummaryWriter(log_dir=str(tmp_path)) as writer:
        with pytest.raises(ValueError, match="epoch must be a whole number"):
            rec.to_tensorboard(writer, figure=False)
        with pytest.raises(ValueError, match=r"epochs \[3\] have no rows"):
            rec.to_tensorboard(writer, epochs=[3])
        with pytest.raises(ValueError, match="df is not an information-plane table"):
            plane_to_tensorboard(pd.DataFrame({"epoch": [0]}), writer)


def test_missing_tensorboard_names_the_extra(monkeypatch, tmp_path) -> None:
    rec = _recorder(estimators="binning")
    rec.record(0)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'mi-probe\[tensorboard\]'"):
        importlib.import_module("mi_probe.integrations.tensorboard").plane_to_tensorboard(
            rec.dataframe, object()
        )
