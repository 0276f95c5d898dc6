"""report(): collected activations reused, continuous targets, NaN refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from mi_probe.analysis.report import report
from mi_probe.probes import attach


class _Counting(nn.Module):
    """A small net that counts its forward passes."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 4)
        self.act = nn.Tanh()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.act(self.fc(x))


def _data(seed: int = 0, n: int = 300):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    nu = x[:, 0] + 0.5 * rng.standard_normal(n)
    y = x[:, 1] + 0.5 * rng.standard_normal(n)
    return torch.from_numpy(x), nu, y


KW = dict(n_permutations=3, n_resamples=0, figures=False, tc_units=3, random_state=0)


def test_report_reuses_collected_activations(tmp_path) -> None:
    torch.manual_seed(0)
    model = _Counting()
    x, nu, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = report(
            model, x, layers=["fc", "act"], nuisances={"n": nu}, targets=y, out=tmp_path / "a", **KW
        )
        with attach(model, ["fc", "act"]) as probe:
            acts = probe.collect(x, progress_bar=False)
        calls = model.calls
        b = report(
            None, x, nuisances={"n": nu}, targets=y, activations=acts, out=tmp_path / "b", **KW
        )
    assert model.calls == calls  # the model did not run again
    assert list(b["layer"]) == ["input", "fc", "act"]
    cols = ["I_zx", "I_zy", "tc", "I_zn[n]", "invariance[n]"]
    np.testing.assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), atol=1e-6)
    assert b.attrs["settings"]["activations"] == "given"
    assert "continuous targets" in b.attrs["settings"]["I_zy"]


def test_report_continuous_target_matches_the_closed_form(tmp_path) -> None:
    # y = x1 + 0.5 e: I(x; y) = 0.5 log(1 + 1/0.25) = 0.805 nats; the Gaussian estimator
    # is exact for this model class (sd ~0.03 at n=600)
    x, nu, y = _data(1, n=600)
    model = _Counting()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        df = report(model, x, layers=["act"], targets=y, estimator="gaussian", out=tmp_path, **KW)
    assert df.set_index("layer").loc["input", "I_zy"] == pytest.approx(0.805, abs=0.1)
    assert not df["I_zy_clamped"].any()


def test_report_errors(tmp_path) -> None:
    x, nu, _ = _data(n=60)
    bad = x.clone()
    bad[1, 1] = float("nan")
    with pytest.raises(ValueError, match="x contains NaN"):
        report(_Counting(), bad, layers=["act"], out=tmp_path, **KW)
    bad[1, 1] = float("inf")
    with pytest.raises(ValueError, match="x contains inf"):
        report(_Counting(), bad, layers=["act"], out=tmp_path, **KW)
    with pytest.raises(ValueError, match=r"'light' transform the inputs"):
        report(None, x, nuisances={"light": "gain"}, activations={"a": x}, out=tmp_path, **KW)
    with pytest.raises(ValueError, match="target_estimator must be one of"):
        report(None, x, activations={"a": x}, target_estimator="kde", out=tmp_path, **KW)
    with pytest.raises(ValueError, match="discrete_y must be one of"):
        report(None, x, activations={"a": x}, discrete_y=2, out=tmp_path, **KW)
    with pytest.raises(ValueError, match=r"data and activations\['a'\] must have the same"):
        report(None, x, activations={"a": x[:10]}, out=tmp_path, **KW)


def test_report_clamps_gaussian_I_zy_at_H_y(tmp_path) -> None:
    # z = onehot(y) + tiny noise determines y: I(z; y) = H(y); the Gaussian estimate on
    # one-hot labels reads far above it and is clamped, flagged and warned about
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, size=400)
    z = (np.eye(4)[y] + 1e-3 * rng.standard_normal((400, 4))).astype(np.float32)
    with pytest.warns(RuntimeWarning, match=r"exceeded H\(y\)"):
        df = report(
            None,
            torch.from_numpy(z),
            activations={"code": z},
            targets=y,
            estimator="gaussian",
            out=tmp_path,
            **KW,
        )
    p = np.bincount(y) / 400
    h_y = float(-(p * np.log(p)).sum())
    assert (df["I_zy"] <= h_y + 1e-12).all()
    assert df.set_index("layer").loc["code", "I_zy_clamped"]
