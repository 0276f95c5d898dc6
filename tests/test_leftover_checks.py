"""Input checks left over from the audits: resample counts bounded, the sweep's binning
and KDE parameter values checked before any checkpoint runs, close-name suggestions in
weight_information."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import mi_probe
from mi_probe.estimators import reliability
from mi_probe.estimators.auto import auto_mi


@pytest.fixture
def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(60)
    return x, x + rng.standard_normal(60)


# ---------------------------------------------------------------- 1: resample counts
@pytest.mark.parametrize("name", ["n_permutations", "n_resamples"])
@pytest.mark.parametrize("value", [10**20, reliability.MAX_RESAMPLES + 1])
def test_auto_bounds_resample_counts(xy, name: str, value: int) -> None:
    # 10**20 failed inside numpy: "Maximum allowed dimension exceeded"
    with pytest.raises(ValueError, match=rf"^{name} must be <= 100000, got {value}$"):
        mi_probe.estimate_mi(*xy, "auto", **{name: value})
    with pytest.raises(ValueError, match=rf"^{name} must be <= 100000"):
        auto_mi(*xy, **{name: value})


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_auto_bound_is_inclusive(xy, monkeypatch: pytest.MonkeyPatch) -> None:
    # the bound itself is accepted (checked without running 100 000 estimates)
    monkeypatch.setattr(reliability, "MAX_RESAMPLES", 3)
    r = auto_mi(*xy, n_resamples=3, n_permutations=3, check_stability=False, random_state=0)
    assert r.interval is not None and r.null is not None
    with pytest.raises(ValueError, match="n_permutations must be <= 3, got 4"):
        auto_mi(*xy, n_resamples=3, n_permutations=4, random_state=0)


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda f, x, y: reliability.subsample_interval(
                f, x, y, 0.0, n_resamples=10**20, rng=np.random.default_rng(0)
            ),
            "n_resamples must be <= 100000",
        ),
        (
            lambda f, x, y: reliability.subsample_interval(
                f, x, y, 0.0, n_resamples=1, rng=np.random.default_rng(0)
            ),
            "n_resamples must be >= 2",
        ),
        (
            lambda f, x, y: reliability.permutation_null(
                f, x, y, 0.0, n_permutations=10**20, rng=np.random.default_rng(0)
            ),
            "n_permutations must be <= 100000",
        ),
        (
            lambda f, x, y: reliability.permutation_null(
                f, x, y, 0.0, n_permutations=0, rng=np.random.default_rng(0)
            ),
            "n_permutations must be >= 1",
        ),
    ],
)
def test_reliability_bounds_resample_counts(xy, call, match: str) -> None:
    calls = []

    def fn(a: np.ndarray, b: np.ndarray, seed: int) -> float:
        calls.append(seed)
        return 0.0

    x, y = (v.reshape(-1, 1) for v in xy)
    with pytest.raises(ValueError, match=match):
        call(fn, x, y)
    assert calls == []  # refused before any estimate


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_cli_estimate_names_the_parameter(tmp_path: Path, xy, capsys) -> None:
    from mi_probe.cli import main

    path = tmp_path / "xy.npz"
    np.savez(path, x=xy[0], y=xy[1])
    args = ["estimate", str(path), "--x", "x", "--y", "y"]
    code = main([*args, "--param", "n_permutations=100000000000000000000"])
    err = capsys.readouterr().err
    assert code == 2
    assert "n_permutations must be <= 100000" in err and "(--param n_permutations)" in err
    assert "Maximum allowed dimension" not in err
    assert main([*args, "--param", "n_permutations=5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["null"] is not None


# ---------------------------------------------------------------- 2: sweep parameters
def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def _sweep_args(tmp_path: Path) -> dict:
    torch.manual_seed(0)
    ck = tmp_path / "epoch0.pt"
    torch.save(_net().state_dict(), ck)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g)
    return {
        "model_fn": _net,
        "checkpoints": [str(ck)],
        "data": (x, (x[:, 0] > 0).long()),
        "layers": ["1"],
        "progress_bar": False,
    }


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"estimator": "binning", "n_bins": -1}, r"^estimator 'binning': n_bins must be >= 1"),
        (
            {"estimator": "binning", "strategy": "fixed"},
            r"^estimator 'binning': bin_size is required",
        ),
        ({"estimator": "kde", "noise_variance": 0}, r"^estimator 'kde': noise_variance must be"),
        ({"estimator": "kde", "chunk_size": 0}, r"^estimator 'kde': chunk_size must be >= 1"),
        (
            {"estimator": ["kde", "binning"], "binning": {"n_bins": 0}},
            r"^estimator 'binning': n_bins must be >= 1",
        ),
    ],
)
def test_sweep_checks_fast_estimator_values_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict, match: str
) -> None:
    from mi_probe.analysis import sweep as sweep_mod

    def no_checkpoint(*a: object, **k: object) -> None:
        raise AssertionError("a checkpoint ran")

    monkeypatch.setattr(sweep_mod, "_run_checkpoint", no_checkpoint)
    args = _sweep_args(tmp_path)
    with pytest.raises(ValueError, match=match):
        sweep_mod.sweep(**args, **kwargs)  # before: one error row per checkpoint


def test_sweep_good_fast_values_still_run(tmp_path: Path) -> None:
    from mi_probe.analysis.sweep import sweep

    df = sweep(**_sweep_args(tmp_path), estimator="binning", n_bins=5)
    assert len(df) == 1 and df["error"].isna().all() and np.isfinite(df["I_XT"]).all()


# ---------------------------------------------------------------- 3: weight layer names
def test_weight_information_suggests_close_layer_names() -> None:
    model = nn.Sequential()
    model.add_module("encoder", nn.Linear(3, 4))
    model.add_module("act", nn.Tanh())
    model.add_module("classifier", nn.Linear(4, 2))
    x = torch.randn(10, 3)
    y = torch.randint(0, 2, (10,))
    with pytest.raises(ValueError) as info:
        mi_probe.weight_information(model, (x, y), ["classifer"])
    msg = str(info.value)
    assert "unknown module 'classifer'; did you mean 'classifier'? " in msg
    assert msg.endswith("modules with parameters: 'encoder', 'classifier'")
    with pytest.raises(ValueError) as info:
        mi_probe.weight_information(model, (x, y), ["zzz"])
    assert "did you mean" not in str(info.value)
