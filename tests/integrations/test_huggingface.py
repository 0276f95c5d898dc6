"""The Hugging Face Trainer callbacks record what the recorders record on the same
weights, and leave training unchanged."""

from __future__ import annotations

import copy
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip(
    "transformers", reason="transformers is not installed (pip install 'mi-probe[transformers]')"
)
pytest.importorskip("accelerate", reason="the transformers Trainer needs accelerate")
from transformers import Trainer, TrainerCallback, TrainingArguments  # noqa: E402

from mi_probe import InformationPlaneRecorder, WeightInformationRecorder  # noqa: E402
from mi_probe.integrations.huggingface import (  # noqa: E402
    InformationPlaneCallback,
    WeightInformationCallback,
)

ESTIMATORS = ("binning", "kde")
LAYERS = ["body.1", "body.4"]
INFO_COLUMNS = ["epoch", "layer", "estimator", "I_XT", "I_TY", "regime", "n_samples", "dim"]


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(96, 5, generator=g)
    y = ((x[:, 0] + 0.5 * x[:, 1]) > 0).long()
    return x, y


class _Net(torch.nn.Module):
    """Logits for ``net(x)`` (what the probes and the Fisher call); the Trainer's
    ``{"loss", "logits"}`` when labels are given."""

    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(5, 8),
            torch.nn.Tanh(),
            torch.nn.Dropout(0.2),  # consumes the RNG, depends on train/eval mode
            torch.nn.Linear(8, 6),
            torch.nn.Tanh(),
            torch.nn.Linear(6, 2),
        )

    def forward(self, x, labels=None):
        logits = self.body(x)
        if labels is None:
            return logits
        return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}


class _Rows(torch.utils.data.Dataset):
    def __init__(self) -> None:
        self.x, self.y = _data()

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.y[i]}


class _Snapshots(TrainerCallback):
    """Copies the weights at each epoch end (reads only: no RNG, no mode change)."""

    def __init__(self) -> None:
        self.states: list[dict] = []

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        self.states.append(copy.deepcopy(model.state_dict()))


def _train(tmp_path, callbacks, attach=()):
    args = TrainingArguments(
        output_dir=str(tmp_path),
        num_train_epochs=3,
        per_device_train_batch_size=16,
        learning_rate=0.05,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        logging_strategy="epoch",
        disable_tqdm=True,
        seed=0,
        dataloader_num_workers=0,
    )
    torch.manual_seed(0)
    model = _Net()
    trainer = Trainer(model=model, args=args, train_dataset=_Rows(), callbacks=list(callbacks))
    for cb in attach:
        cb.attach(trainer)
    trainer.train()
    return model, trainer


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x, y = _data()
        base = tmp_path_factory.mktemp("hf")
        plane_cb = InformationPlaneCallback(x, y, layers=LAYERS, estimators=ESTIMATORS)
        weight_cb = WeightInformationCallback((x, y))
        with_cb, trainer = _train(base / "with", [weight_cb], attach=[plane_cb])
        snaps = _Snapshots()
        without_cb, _ = _train(base / "without", [snaps])
    finally:
        torch.set_num_threads(threads)
    return {
        "with": with_cb,
        "without": without_cb,
        "trainer": trainer,
        "plane_cb": plane_cb,
        "weight_cb": weight_cb,
        "snapshots": snaps.states,
    }


def test_trained_weights_identical_with_and_without_callbacks(runs) -> None:
    a, b = runs["with"].state_dict(), runs["without"].state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_rows_equal_the_recorders_on_the_same_weights(runs) -> None:
    df = runs["plane_cb"].dataframe
    assert sorted(df["epoch"].unique()) == [0, 1, 2]
    assert len(df) == 3 * len(LAYERS) * len(ESTIMATORS)
    x, y = _data()
    net = _Net()
    plane = InformationPlaneRecorder(net, x, y, layers=LAYERS, estimators=ESTIMATORS)
    weights = WeightInformationRecorder(net, (x, y))
    assert len(runs["snapshots"]) == 3
    for epoch, state in enumerate(runs["snapshots"]):
        net.load_state_dict(state)
        plane.record(epoch)
        weights.record(epoch)
    want = plane.dataframe[INFO_COLUMNS]
    assert df[INFO_COLUMNS].reset_index(drop=True).equals(want.reset_index(drop=True))
    got_w = runs["weight_cb"].dataframe
    np.testing.assert_allclose(
        got_w[["information", "fisher_trace"]].to_numpy(),
        weights.to_frame()[["information", "fisher_trace"]].to_numpy(),
        rtol=1e-6,
    )
    # the loss the Trainer logged for each epoch (logging_strategy="epoch")
    losses = [h["loss"] for h in runs["trainer"].state.log_history if "loss" in h]
    assert len(losses) == 3  # the callback did not swallow the Trainer's own logs
    per_epoch = df.groupby("epoch")["train_loss"].first().to_numpy()
    np.testing.assert_allclose(per_epoch, losses)


def test_scalars_in_log_history_and_table_in_output_dir(runs) -> None:
    import pandas as pd

    trainer, cb = runs["trainer"], runs["plane_cb"]
    history = trainer.state.log_history
    logged = [h for h in history if "info/I_XT/body.1/binning" in h]
    assert len(logged) == 3  # attached: through trainer.log
    df = cb.dataframe
    want = df[(df.layer == "body.1") & (df.estimator == "binning")]["I_XT"].to_numpy()
    np.testing.assert_allclose([h["info/I_XT/body.1/binning"] for h in logged], want)
    # not attached: appended to the log history directly
    assert len([h for h in history if "weights/fisher_trace/body.0" in h]) == 3
    assert cb.path == Path(trainer.args.output_dir) / "information_plane.csv"
    assert runs["weight_cb"].path == Path(trainer.args.output_dir) / "weight_information.csv"
    written = pd.read_csv(cb.path, dtype={"layer": str})
    assert written[INFO_COLUMNS].equals(df[INFO_COLUMNS])


def test_every_n_epochs_after_evaluation(tmp_path, one_torch_thread) -> None:
    x, y = _data()
    cb = InformationPlaneCallback(
        x, y, layers=["body.4"], estimators="binning", every_n_epochs=2, on="evaluate"
    )
    args = TrainingArguments(
        output_dir=str(tmp_path),
        num_train_epochs=4,
        per_device_train_batch_size=32,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        eval_strategy="epoch",
        disable_tqdm=True,
        seed=0,
    )
    torch.manual_seed(0)
    trainer = Trainer(
        model=_Net(), args=args, train_dataset=_Rows(), eval_dataset=_Rows(), callbacks=[cb]
    )
    trainer.train()
    df = cb.dataframe
    assert list(df["epoch"]) == [1, 3]
    assert np.isfinite(df["test_loss"]).all()  # the evaluation's eval_loss
    logged = [h for h in trainer.state.log_history if "info/I_XT/body.4" in h]
    assert [h["epoch"] for h in logged] == [2.0, 4.0]  # one estimator: no suffix


def test_bad_arguments() -> None:
    x, y = _data()
    with pytest.raises(ValueError, match="every_n_epochs"):
        InformationPlaneCallback(x, y, every_n_epochs=0)
    with pytest.raises(ValueError, match="on must be one of 'epoch', 'evaluate'"):
        InformationPlaneCallback(x, y, on="train")
    with pytest.raises(ValueError, match="filename must be a non-empty file name"):
        WeightInformationCallback((x, y), filename="")
    assert InformationPlaneCallback(x, y).dataframe.empty
    assert WeightInformationCallback((x, y)).dataframe.empty


def test_missing_transformers_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    monkeypatch.delitem(sys.modules, "mi_probe.integrations.huggingface")
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'mi-probe\[transformers\]'"):
        importlib.import_module("mi_probe.integrations.huggingface")
