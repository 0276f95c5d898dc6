"""The Lightning callbacks record what a plain loop records and leave training unchanged."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
import torch

pytest.importorskip(
    "lightning", reason="lightning is not installed (pip install 'mi-probe[lightning]')"
)
import lightning.pytorch as pl  # noqa: E402
from lightning.pytorch.loggers import CSVLogger  # noqa: E402

from mi_probe import InformationPlaneRecorder, WeightInformationRecorder  # noqa: E402
from mi_probe.integrations.lightning import (  # noqa: E402
    InformationPlaneCallback,
    WeightInformationCallback,
)

ESTIMATORS = ("binning", "kde")
LAYERS = ["net.1", "net.4"]
# the columns that depend on the measurement, not on timing or on what a loop logs
INFO_COLUMNS = ["epoch", "layer", "estimator", "I_XT", "I_TY", "regime", "n_samples", "dim"]


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(96, 5, generator=g)
    y = ((x[:, 0] + 0.5 * x[:, 1]) > 0).long()
    return x, y


def _net() -> torch.nn.Module:
    # dropout makes training consume the torch RNG and depend on train/eval mode
    return torch.nn.Sequential(
        torch.nn.Linear(5, 8),
        torch.nn.Tanh(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(8, 6),
        torch.nn.Tanh(),
        torch.nn.Linear(6, 2),
    )


class _Module(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = _net()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):
        xb, yb = batch
        loss = torch.nn.functional.cross_entropy(self.net(xb), yb)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.2, momentum=0.9)


def _loader() -> torch.utils.data.DataLoader:
    x, y = _data()
    # shuffled with the global torch RNG: a callback that used it would change the order
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True
    )


def _fit(tmp_path, callbacks, max_epochs: int = 3):
    torch.manual_seed(0)
    module = _Module()
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        accelerator="cpu",
        devices=1,
        logger=CSVLogger(tmp_path, name="run"),
        callbacks=callbacks,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    trainer.fit(module, _loader())
    return module, trainer


def _plain_loop(n_epochs: int = 3):
    """The same training written by hand, recording with the recorders directly."""
    torch.manual_seed(0)
    net = _net()
    x, y = _data()
    opt = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
    plane = InformationPlaneRecorder(net, x, y, layers=["1", "4"], estimators=ESTIMATORS)
    weights = WeightInformationRecorder(net, (x, y))
    loader = _loader()
    for epoch in range(n_epochs):
        net.train()
        for xb, yb in loader:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xb), yb).backward()
            opt.step()
        plane.record(epoch)
        weights.record(epoch)
    return net, plane.dataframe, weights.to_frame()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, one_torch_thread_module):
    x, y = _data()
    base = tmp_path_factory.mktemp("lightning")
    plane_cb = InformationPlaneCallback(x, y, layers=LAYERS, estimators=ESTIMATORS)
    weight_cb = WeightInformationCallback((x, y))
    with_cb, trainer = _fit(base / "with", [plane_cb, weight_cb])
    without_cb, _ = _fit(base / "without", [])
    plain = _plain_loop()
    return {
        "with": with_cb,
        "without": without_cb,
        "trainer": trainer,
        "plane_cb": plane_cb,
        "weight_cb": weight_cb,
        "plain": plain,
    }


@pytest.fixture(scope="module")
def one_torch_thread_module():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_trained_weights_identical_with_and_without_callbacks(runs) -> None:
    a = runs["with"].state_dict()
    b = runs["without"].state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # and the module is left in the mode Lightning leaves it in
    assert runs["with"].training == runs["without"].training


def test_three_epochs_of_rows_identical_to_plain_loop(runs) -> None:
    df = runs["plane_cb"].dataframe
    assert sorted(df["epoch"].unique()) == [0, 1, 2]
    assert len(df) == 3 * len(LAYERS) * len(ESTIMATORS)
    plain = runs["plain"][1].copy()
    plain["layer"] = plain["layer"].map({"1": "net.1", "4": "net.4"})
    cols = INFO_COLUMNS
    got = df[cols].sort_values(["epoch", "layer", "estimator"]).reset_index(drop=True)
    want = plain[cols].sort_values(["epoch", "layer", "estimator"]).reset_index(drop=True)
    assert got.equals(want), (got, want)
    # the plain loop trained the same weights as Lightning
    for (k, v), w in zip(
        runs["with"].net.state_dict().items(), runs["plain"][0].state_dict().values(), strict=True
    ):
        assert torch.equal(v, w), k
    # the logged training loss landed in its column
    assert np.isfinite(df["train_loss"]).all()


def test_table_written_to_log_dir_and_scalars_logged(runs) -> None:
    import pandas as pd

    trainer = runs["trainer"]
    cb = runs["plane_cb"]
    assert cb.path is not None and cb.path.parent == __import__("pathlib").Path(trainer.log_dir)
    written = pd.read_csv(cb.path, dtype={"layer": str})
    assert written[INFO_COLUMNS].equals(cb.dataframe[INFO_COLUMNS])
    metrics = pd.read_csv(__import__("pathlib").Path(trainer.log_dir) / "metrics.csv")
    df = cb.dataframe
    for layer in LAYERS:
        for est in ESTIMATORS:
            for coord in ("I_XT", "I_TY"):
                col = f"info/{coord}/{layer}/{est}"
                logged = metrics[col].dropna().to_numpy()
                want = df[(df.layer == layer) & (df.estimator == est)][coord].to_numpy()
                np.testing.assert_allclose(logged, want, rtol=1e-6)
    assert (trainer.log_dir + "/weight_information.csv") == str(runs["weight_cb"].path)


def test_weight_information_callback_matches_plain_recorder(runs) -> None:
    df = runs["weight_cb"].dataframe
    plain = runs["plain"][2].copy()
    plain["layer"] = "net." + plain["layer"]
    assert sorted(df["epoch"].unique()) == [0, 1, 2]
    cols = ["epoch", "layer", "information", "fisher_trace"]
    np.testing.assert_allclose(df[cols[2:]].to_numpy(), plain[cols[2:]].to_numpy(), rtol=1e-6)
    assert list(df["layer"]) == list(plain["layer"])
    for layer in df["layer"].unique():
        for name in ("information", "fisher_trace"):
            logged = float(runs["trainer"].callback_metrics[f"weights/{name}/{layer}"])
            want = float(df[(df.layer == layer) & (df.epoch == 2)][name].iloc[0])
            assert logged == pytest.approx(want, rel=1e-6)


def test_every_n_epochs_and_validation_hook(tmp_path, one_torch_thread) -> None:
    x, y = _data()

    class WithVal(_Module):
        def validation_step(self, batch, batch_idx):
            xb, yb = batch
            self.log("val_loss", torch.nn.functional.cross_entropy(self.net(xb), yb))

    cb = InformationPlaneCallback(
        x, y, layers=["net.4"], estimators="binning", every_n_epochs=2, on="validation"
    )
    torch.manual_seed(0)
    trainer = pl.Trainer(
        max_epochs=4,
        accelerator="cpu",
        devices=1,
        logger=False,
        default_root_dir=tmp_path,
        callbacks=[cb],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=2,
    )
    x, y = _data()
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
    trainer.fit(WithVal(), _loader(), val)
    df = cb.dataframe
    assert list(df["epoch"]) == [1, 3]  # not the sanity check, every second epoch
    assert np.isfinite(df["test_loss"]).all()
    assert cb.path == tmp_path / "information_plane.csv"  # no logger: default_root_dir
    assert "info/I_XT/net.4" in trainer.callback_metrics  # one estimator: no suffix


def test_empty_dataframe_before_fit() -> None:
    x, y = _data()
    assert list(InformationPlaneCallback(x, y).dataframe.columns[:3]) == [
        "epoch",
        "layer",
        "estimator",
    ]
    assert WeightInformationCallback((x, y)).dataframe.empty


def test_bad_arguments() -> None:
    x, y = _data()
    with pytest.raises(ValueError, match="every_n_epochs"):
        InformationPlaneCallback(x, y, every_n_epochs=0)
    with pytest.raises(ValueError, match="on must be one of 'train', 'validation'"):
        InformationPlaneCallback(x, y, on="test")
    with pytest.raises(ValueError, match="filename must be a non-empty file name"):
        WeightInformationCallback((x, y), filename="")


def test_missing_lightning_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "lightning", None)
    monkeypatch.delitem(sys.modules, "mi_probe.integrations.lightning")
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'mi-probe\[lightning\]'"):
        importlib.import_module("mi_probe.integrations.lightning")


def test_missing_framework_error_names_the_module(monkeypatch) -> None:
    # tests/test_doctests.py and tests/test_readme_names.py skip on exc.name
    monkeypatch.setitem(sys.modules, "lightning", None)
    monkeypatch.delitem(sys.modules, "mi_probe.integrations.lightning")
    with pytest.raises(ModuleNotFoundError) as info:
        importlib.import_module("mi_probe.integrations.lightning")
    assert info.value.name == "lightning"
