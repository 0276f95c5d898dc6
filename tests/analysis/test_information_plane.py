"""Information plane: the fused estimators against the estimator functions and closed
forms, the recorder's table, saving and loading."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import mi_probe
from mi_probe._deps import has
from mi_probe.analysis.information_plane import (
    COLUMNS,
    InformationPlaneRecorder,
    binned_plane,
    information_plane,
    kde_plane,
    load_plane,
    log_spaced_epochs,
)
from mi_probe.estimators.binning import binning_mi, discretize
from mi_probe.estimators.kde import noisy_layer_mi

LOG2 = math.log(2.0)


def _layer(seed: int, n: int = 600, d: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    y = g.integers(0, 3, n)
    t = np.tanh(g.standard_normal((n, d)) + y[:, None])
    return np.arange(n), y, t


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bound", ["upper", "lower"])
def test_kde_plane_equals_noisy_layer_mi(seed: int, bound: str) -> None:
    x, y, t = _layer(seed)
    i_xt, i_ty, diag = kde_plane(t, x, y, noise_variance=0.05, bound=bound, chunk_size=256)
    ref_xt = noisy_layer_mi(x, t, noise_variance=0.05, bound=bound, backend="numpy")
    ref_ty = noisy_layer_mi(y, t, noise_variance=0.05, bound=bound, backend="numpy")
    # float32 kernel sums vs float64: agree to 1e-4 nats
    assert abs(i_xt - float(ref_xt)) < 1e-4
    assert abs(i_ty - float(ref_ty)) < 1e-4
    assert diag["noise_variance"] == 0.05


@pytest.mark.parametrize("seed", [0, 1])
def test_kde_plane_with_repeated_inputs(seed: int) -> None:
    _, y, t = _layer(seed, n=400)
    x = np.repeat(np.arange(100), 4)  # 4 samples per input
    i_xt, _, _ = kde_plane(torch.tensor(t), x, y, noise_variance=0.1)
    assert abs(i_xt - float(noisy_layer_mi(x, t, noise_variance=0.1, backend="numpy"))) < 1e-4


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "strategy, extra", [("uniform", {"n_bins": 8}), ("fixed", {"bin_size": 0.25})]
)
def test_binned_plane_equals_binning_mi(seed: int, strategy: str, extra: dict) -> None:
    x, y, t = _layer(seed)
    i_xt, i_ty, diag = binned_plane(t, x, y, strategy=strategy, **extra)
    assert i_xt == pytest.approx(float(binning_mi(t, x, strategy=strategy, **extra)), abs=1e-12)
    assert i_ty == pytest.approx(float(binning_mi(t, y, strategy=strategy, **extra)), abs=1e-12)
    # distinct inputs: I(X; bin T) = H(bin T)
    assert i_xt == pytest.approx(diag["h_t"], abs=1e-12)


@pytest.mark.parametrize("n_classes", [2, 7])
def test_binned_plane_many_columns_and_classes(n_classes: int) -> None:
    # 40 columns of 30 bins: the mixed-radix row key overflows int64 and is re-numbered
    rng = np.random.default_rng(11)
    t = rng.normal(size=(600, 40))
    y = rng.integers(0, n_classes, 600)
    x = np.arange(600)
    i_xt, i_ty, diag = binned_plane(t, x, y, n_bins=30)
    assert i_ty == pytest.approx(float(binning_mi(t, y, n_bins=30)), abs=1e-12)
    assert i_xt == pytest.approx(float(binning_mi(t, x, n_bins=30)), abs=1e-12)
    codes = discretize(t, n_bins=30)
    assert diag["n_cells"] == np.unique(codes, axis=0).shape[0]


def test_binned_plane_repeated_inputs_uses_plugin_mi() -> None:
    _, y, t = _layer(3, n=400)
    x = np.repeat(np.arange(100), 4)
    i_xt, _, _ = binned_plane(t, x, y, n_bins=6)
    assert i_xt == pytest.approx(float(binning_mi(t, x, n_bins=6)), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_label_copying_layer(seed: int) -> None:
    # T copies a balanced binary label, far apart: I(X;T) = I(T;Y) = H(Y) = log 2
    g = np.random.default_rng(seed)
    y = g.permutation(np.repeat([0, 1], 300))
    t = 10.0 * np.eye(2)[y]
    x = np.arange(600)
    for i_xt, i_ty, _ in (kde_plane(t, x, y, noise_variance=0.1), binned_plane(t, x, y, n_bins=10)):
        assert i_xt == pytest.approx(LOG2, abs=1e-9)
        assert i_ty == pytest.approx(LOG2, abs=1e-9)


def test_closed_form_distinct_far_apart_points() -> None:
    # every input mapped to its own far-away point: I(X;T) = log n, I(T;Y) = H(Y)
    n = 64
    t = 100.0 * np.arange(n, dtype=float)[:, None]
    y = np.arange(n) % 4
    i_xt, i_ty, _ = kde_plane(t, np.arange(n), y, noise_variance=0.1)
    assert i_xt == pytest.approx(math.log(n), abs=1e-9)
    assert i_ty == pytest.approx(math.log(4), abs=1e-9)


def _net(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def _data(n: int = 300, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def test_recorder_table_and_round_trip(tmp_path) -> None:
    net = _net()
    x, y = _data()
    rec = mi_probe.InformationPlaneRecorder(
        net, x, y, layers=["1", "3", "4"], estimators=("binning", "kde")
    )
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for epoch in range(3):
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        new = rec.record(epoch, train_loss=loss.item(), accuracy=0.5 + epoch / 10)
        assert len(new) == 3 * 2
    df = rec.dataframe
    assert list(df.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert len(df) == 3 * 3 * 2
    assert set(df["estimator"]) == {"binning", "kde"} and list(dict.fromkeys(df["layer"])) == [
        "1",
        "3",
        "4",
    ]
    assert df["test_loss"].isna().all() and df["train_loss"].notna().all()
    assert "accuracy" in df.columns
    assert df.loc[df.estimator == "kde", "regime"].str.contains("noisy layer").all()
    assert df.loc[df.estimator == "binning", "regime"].str.contains("binned layer").all()
    # MI of distinct inputs is at most log n; I(T;Y) at most H(Y) <= log 2
    assert (df["I_XT"] <= math.log(300) + 1e-9).all() and (df["I_TY"] <= LOG2 + 1e-9).all()
    path = tmp_path / "plane.csv"
    rec.save(path)
    back = InformationPlaneRecorder.load(path)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    pd.testing.assert_frame_equal(load_plane(path), df, check_dtype=False)


@pytest.mark.skipif(not has("pyarrow"), reason="pyarrow not installed")
def test_parquet_round_trip(tmp_path) -> None:
    rec = InformationPlaneRecorder(_net(), *_data(), layers=["1"], estimators="binning")
    rec.record(0)
    rec.save(tmp_path / "p.parquet")
    pd.testing.assert_frame_equal(
        load_plane(tmp_path / "p.parquet"), rec.dataframe, check_dtype=False
    )


@pytest.mark.skipif(has("pyarrow"), reason="pyarrow installed")
def test_parquet_without_pyarrow_raises(tmp_path) -> None:
    rec = InformationPlaneRecorder(_net(), *_data(), layers=["1"], estimators="binning")
    rec.record(0)
    with pytest.raises(ModuleNotFoundError, match="pyarrow"):
        rec.save(tmp_path / "p.parquet")


def test_recorder_leaves_model_unchanged() -> None:
    net = _net()
    net.train()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    rec = InformationPlaneRecorder(net, *_data(), layers="all")  # the default estimators
    rec.record(1)
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(not m._forward_hooks for m in net.modules())


def test_pretrained_model_loaded_from_disk(tmp_path) -> None:
    net = _net(0)
    x, y = _data(400)
    opt = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    for _ in range(100):
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.save(net.state_dict(), tmp_path / "w.pt")
    fresh = _net(7)
    fresh.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
    trained = information_plane(
        fresh, x, y, layers=["4"], estimators="binning", params={"binning": {"n_bins": 10}}
    )
    untrained = information_plane(
        _net(7), x, y, layers=["4"], estimators="binning", params={"binning": {"n_bins": 10}}
    )
    # the trained output layer carries nearly all of H(Y) (balanced-ish labels), more than an untrained one
    h_y = float(mi_probe.entropy(y.numpy(), estimator="discrete"))
    assert trained["I_TY"].iloc[0] > 0.8 * h_y
    assert trained["I_TY"].iloc[0] > untrained["I_TY"].iloc[0] + 0.2


def test_information_plane_from_activations_and_other_estimators() -> None:
    x, y, t = _layer(0, n=500, d=2)
    df = information_plane(
        {"t": torch.tensor(t, dtype=torch.float32)},
        x.reshape(-1, 1).astype(float),
        y,
        estimators=["mixed", "binning"],
    )
    assert list(df["estimator"]) == ["mixed", "binning"]
    row = df.iloc[0]
    assert "I(T;Y) by the mixed (Ross) estimator" in row["regime"]
    # mixed I(T;Y) matches the estimator called directly
    ref = mi_probe.estimate_mi(t.astype(np.float32), y, estimator="mixed")
    assert row["I_TY"] == pytest.approx(float(ref), abs=1e-6)


def test_max_samples_subset_is_fixed() -> None:
    x, y = _data(500)
    rec = InformationPlaneRecorder(
        _net(), x, y, layers=["1"], max_samples=100, random_state=3, estimators="binning"
    )
    assert rec.x.shape[0] == 100 and rec.y.shape[0] == 100
    rec.record(0)
    assert (rec.dataframe["n_samples"] == 100).all()


def test_log_spaced_epochs() -> None:
    e = log_spaced_epochs(1000, 20)
    assert e[0] == 1 and e[-1] == 1000 and e == sorted(set(e))
    assert 10 <= len(e) <= 20
    assert log_spaced_epochs(5, 10, start=0) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="n_points must be >= 2"):
        log_spaced_epochs(10, 1)
    with pytest.raises(ValueError, match="n_epochs must be >= 1"):
        log_spaced_epochs(0, 5)
    with pytest.raises(ValueError, match="start must be >= 0"):
        log_spaced_epochs(10, 5, start=-1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"estimators": []}, "estimators is empty"),
        ({"estimators": "nope"}, "estimators must be one of"),
        ({"estimators": [3]}, "estimators entries must be"),
        ({"estimators": 3}, "estimators must be a name"),
        (
            {"params": {"kde": {"noise_variance": 0.1}}, "estimators": "binning"},
            "not among the estimators",
        ),
        (
            {"params": {"binning": {"bandwidth": 1}}, "estimators": "binning"},
            r"params\['binning'\] has unknown parameter bandwidth",
        ),
        (
            {"params": {"binning": 3}, "estimators": "binning"},
            r"params\['binning'\] must be a mapping",
        ),
        ({"params": [1]}, "params must be a mapping"),
        ({"max_samples": 1}, "max_samples must be >= 2"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"layers": "nope"}, "unknown layer 'nope'"),
    ],
)
def test_recorder_bad_arguments(kwargs, match) -> None:
    x, y = _data()
    with pytest.raises(ValueError, match=match):
        InformationPlaneRecorder(_net(), x, y, **kwargs)


def test_recorder_bad_data_and_epoch() -> None:
    x, y = _data()
    with pytest.raises(ValueError, match="same number of samples, got 300 and 299"):
        InformationPlaneRecorder(_net(), x, y[:-1])
    with pytest.raises(ValueError, match="y must be one column"):
        InformationPlaneRecorder(_net(), x, torch.stack([y, y], 1))
    with pytest.raises(ValueError, match="y must hold integer-coded"):
        InformationPlaneRecorder(_net(), x, x[:, 0])
    rec = InformationPlaneRecorder(_net(), x, y, layers=["1"])
    with pytest.raises(ValueError, match="epoch must be a number"):
        rec.record("one")


def test_information_plane_bad_activations() -> None:
    with pytest.raises(ValueError, match="activations of layer 't' have 5 rows; x has 6"):
        information_plane({"t": np.zeros((5, 2))}, np.arange(6), np.zeros(6, dtype=int))
    with pytest.raises(ValueError, match="same number of samples, got 6 and 5"):
        information_plane({"t": np.zeros((6, 2))}, np.arange(6), np.zeros(5, dtype=int))


def test_kde_and_binned_plane_bad_parameters() -> None:
    x, y, t = _layer(0, n=50)
    with pytest.raises(ValueError, match="noise_variance must be > 0"):
        kde_plane(t, x, y, noise_variance=0)
    with pytest.raises(ValueError, match="bound must be one of"):
        kde_plane(t, x, y, bound="middle")
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        kde_plane(t, x, y, chunk_size=0)
    with pytest.raises(ValueError, match="t contains NaN or inf"):
        kde_plane(np.full((50, 2), np.nan), x, y)
    with pytest.raises(ValueError, match="bin_size is required"):
        binned_plane(t, x, y, strategy="fixed")


def test_load_plane_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_plane(tmp_path / "none.csv")
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="not an information-plane table"):
        load_plane(tmp_path / "bad.csv")


def test_analysis_never_imports_plotting() -> None:
    code = (
        "import sys, torch, mi_probe\n"
        "from mi_probe.analysis.information_plane import InformationPlaneRecorder\n"
        "net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh())\n"
        "r = InformationPlaneRecorder(net, torch.randn(50, 2), torch.arange(50) % 2)\n"
        "r.record(0)\n"
        "bad = [m for m in sys.modules if m.startswith(('matplotlib', 'seaborn', 'mi_probe.plotting'))]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.gpu
def test_recorder_on_cuda() -> None:
    net = _net().cuda()
    x, y = _data()
    rec = InformationPlaneRecorder(net, x.cuda(), y.cuda(), layers=["1"], estimators="kde")
    rec.record(0)
    cpu = InformationPlaneRecorder(_net(), x, y, layers=["1"], estimators="kde")
    cpu.record(0)
    np.testing.assert_allclose(rec.dataframe["I_XT"], cpu.dataframe["I_XT"], atol=1e-3)
