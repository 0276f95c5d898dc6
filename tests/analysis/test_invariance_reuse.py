"""invariance(): reused activations, continuous targets, the safe reference I(x; n), bounds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from mi_probe.analysis.invariance import invariance
from mi_probe.probes import attach

FAST = dict(n_permutations=8, n_resamples=4, progress_bar=False)


class Keep(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


class Column(nn.Module):
    def __init__(self, cols: list[int], scale: float = 1.0) -> None:
        super().__init__()
        self.cols = cols
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x[:, self.cols]


class Branches(nn.Module):
    def __init__(self, *named: tuple[str, nn.Module]) -> None:
        super().__init__()
        for name, m in named:
            self.add_module(name, m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m(x) for m in self.children()], dim=1)


def _signal_nuisance(seed: int, n: int = 800, sigma: float = 0.5):
    rng = np.random.default_rng(seed)
    s = rng.standard_normal(n)
    nu = rng.standard_normal(n)
    x = np.column_stack([s, nu + sigma * rng.standard_normal(n)]).astype(np.float32)
    return torch.from_numpy(x), s, nu


def test_nan_and_inf_inputs_are_refused() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    x = torch.rand(50, 4)
    x[3, 1] = float("nan")
    with pytest.raises(ValueError, match="x contains NaN"):
        invariance(model, x, nuisance=np.arange(50.0))
    x[3, 1] = float("inf")
    with pytest.raises(ValueError, match="x contains inf"):
        invariance(model, (x.numpy(), np.zeros(50, dtype=int)), nuisance="noise")


@pytest.mark.parametrize("seed", [0, 1])
def test_collected_activations_give_the_same_table(seed: int) -> None:
    x, s, nu = _signal_nuisance(seed)
    y = (s > 0).astype(np.int64)
    model = Branches(("keep", Keep()), ("signal", Column([0])))
    kw = dict(nuisance=nu, targets=y, random_state=seed, max_samples=500, **FAST)
    a = invariance(model, x, layers=["keep", "signal"], **kw)
    with attach(model, ["keep", "signal"]) as probe:
        acts = probe.collect(x, progress_bar=False)
    b = invariance(None, x, activations=acts, **kw)
    c = invariance(None, x, layers=["signal"], activations={"signal": x[:, :1].numpy()}, **kw)
    cols = ["I_zn", "I_zy", "I_zx", "invariance", "I_zn_null", "invariance_low"]
    np.testing.assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), atol=1e-6)
    assert list(b["layer"]) == ["input", "keep", "signal"]
    assert b.attrs["settings"]["activations"] == "given"
    np.testing.assert_allclose(
        c.set_index("layer").loc["signal", ["I_zn", "I_zy"]].to_numpy(float),
        a.set_index("layer").loc["signal", ["I_zn", "I_zy"]].to_numpy(float),
        atol=1e-6,
    )


def test_activation_errors() -> None:
    x = torch.rand(60, 3)
    nu = np.arange(60.0)
    with pytest.raises(ValueError, match="activations must be a non-empty dict"):
        invariance(None, x, nuisance=nu, activations=[x])
    with pytest.raises(ValueError, match="activations must be a non-empty dict"):
        invariance(None, x, nuisance=nu, activations={})
    with pytest.raises(ValueError, match="layers: 'b' is not in activations; it has: 'a'"):
        invariance(None, x, layers=["b"], nuisance=nu, activations={"a": x})
    with pytest.raises(ValueError, match=r"data and activations\['a'\] must have the same number"):
        invariance(None, x, nuisance=nu, activations={"a": x[:50]})
    bad = x.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"activations\['a'\] contains NaN"):
        invariance(None, x, nuisance=nu, activations={"a": bad})
    bad[0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"activations\['a'\] contains inf"):
        invariance(None, x, nuisance=nu, activations={"a": bad})
    with pytest.raises(ValueError, match=r"activations\['a'\] must hold numbers"):
        invariance(None, x, nuisance=nu, activations={"a": np.array(["u"] * 60)})
    with pytest.raises(ValueError, match="'gain' is a transform of the inputs, but activations"):
        invariance(None, x, nuisance="gain", activations={"a": x})
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        invariance(None, x, nuisance=nu)
    with pytest.raises(ValueError, match="discrete_y must be one of"):
        invariance(None, x, nuisance=nu, activations={"a": x}, discrete_y="maybe")
    with pytest.raises(ValueError, match="target_estimator must be one of"):
        invariance(None, x, nuisance=nu, activations={"a": x}, target_estimator="kde")
    with pytest.raises(ValueError, match="targets must have one entry per sample"):
        invariance(None, x, nuisance=nu, activations={"a": x}, targets=3.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("estimator", ["ksg", "gaussian"])
def test_continuous_targets(seed: int, estimator: str) -> None:
    # y = s + 0.5 e: I(x; y) = I(s; y) = 0.5 log(1 + 1 / 0.25) = 0.805 nats for every layer
    # that keeps s; the layer that keeps only the nuisance column has I(z; y) = 0
    x, s, nu = _signal_nuisance(seed, n=1000)
    y = s + 0.5 * np.random.default_rng(seed + 10).standard_normal(1000)
    model = Branches(("keep", Keep()), ("noise", Column([1])))
    df = invariance(
        model,
        x,
        layers=["keep", "noise"],
        nuisance=nu,
        targets=y,
        estimator=estimator,
        random_state=seed,
        n_permutations=4,
        n_resamples=0,
    ).set_index("layer")
    truth = 0.5 * np.log(1 + 1 / 0.25)
    tol = 0.1 if estimator == "ksg" else 0.05  # KSG at n=1000, 2-D + 1-D: sd ~0.03
    assert df.loc["keep", "I_zy"] == pytest.approx(truth, abs=tol)
    assert df.loc["noise", "I_zy"] < 0.05
    assert df.attrs["settings"]["targets"] == "continuous"
    assert np.isnan(df.loc["keep", "I_zy_ceiling"]) and not df.loc["keep", "I_zy_clamped"]


def test_usable_information_for_labels() -> None:
    # I(z; y) for z = 3y + N(0, 1), y ~ Bernoulli(1/2): 0.5268 nats (quadrature); a
    # cross-fitted logistic regression is well specified here and reads just under it
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=1200)
    x = np.column_stack([rng.standard_normal(1200), 3.0 * y + rng.standard_normal(1200)])
    model = Branches(("label", Column([1])), ("other", Column([0])))
    df = invariance(
        model,
        (torch.tensor(x, dtype=torch.float32), torch.tensor(y)),
        layers=["label", "other"],
        nuisance=x[:, 0] + rng.standard_normal(1200),
        target_estimator="usable",
        n_permutations=4,
        n_resamples=0,
    ).set_index("layer")
    assert 0.42 < df.loc["label", "I_zy"] < 0.5268 + 0.03
    assert df.loc["label", "I_zy_low"] <= df.loc["label", "I_zy"] <= df.loc["label", "I_zy_high"]
    assert df.loc["other", "I_zy"] < 0.03
    assert df.attrs["settings"]["estimator_I_zy"].startswith("usable information")


def test_gaussian_I_zy_is_clamped_at_H_y() -> None:
    # z = onehot(y) + tiny noise determines y: I(z; y) = H(y) = log 4; the Gaussian estimate
    # on one-hot labels reads far above it (within-class covariance ~1e-6)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=600)
    z = np.eye(4)[y] + 1e-3 * rng.standard_normal((600, 4))
    x = torch.from_numpy(np.column_stack([z, rng.standard_normal(600)]).astype(np.float32))
    model = Branches(("code", Column([0, 1, 2, 3])))
    with pytest.warns(RuntimeWarning, match=r"exceeded H\(y\) = 1.38 nats and was clamped"):
        df = invariance(
            model,
            (x, torch.tensor(y)),
            layers=["code"],
            nuisance=x[:, 4].numpy(),
            estimator="gaussian",
            n_permutations=4,
            n_resamples=0,
        )
    row = df.set_index("layer").loc["code"]
    h_y = -np.sum((np.bincount(y) / 600) * np.log(np.bincount(y) / 600))
    assert row["I_zy"] == pytest.approx(h_y, abs=1e-12) and row["I_zy_ceiling"] == h_y
    assert row["I_zy_clamped"] and "I_zy_clamped" in row["warning"]
    assert (df["I_zy"] <= h_y + 1e-12).all()


class _Hidden(nn.Module):
    """The input carries the nuisance in a low-variance column that its top PCs miss."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 50.0 * x[:, -1:]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_never_below_a_layer(seed: int) -> None:
    # 20 loud irrelevant columns and the nuisance in a quiet one: PCA(10) of the input
    # drops it (I_xn_input ~ 0), the layer that amplifies the quiet column reads it fully
    rng = np.random.default_rng(seed)
    n = 800
    nu = rng.standard_normal(n)
    x = np.column_stack([10 * rng.standard_normal((n, 20)), 0.01 * (nu + 0.3 * rng.normal(size=n))])
    model = Branches(("hidden", _Hidden()), ("loud", Column([0, 1])))
    with pytest.warns(RuntimeWarning, match="exceeds the input's own estimate"):
        df = invariance(
            model,
            torch.tensor(x, dtype=torch.float32),
            layers=["hidden", "loud"],
            nuisance=nu,
            random_state=seed,
            **FAST,
        )
    row = df.set_index("layer")
    truth = 0.5 * np.log(1 + 1 / 0.09)  # I(n; n + 0.3 e) = 1.26 nats
    assert row.loc["input", "I_xn_input"] < 0.2
    assert row.loc["hidden", "I_zn"] == pytest.approx(truth, abs=0.15)
    assert row.loc["hidden", "dpi_violation"] and "dpi_violation" in row.loc["hidden", "warning"]
    assert not row.loc["loud", "dpi_violation"]
    assert (df["I_xn_source"] == "hidden").all()
    assert (df["I_zn"] <= df["I_xn"] + 1e-12).all()
    assert row.loc["hidden", "invariance"] == 0.0 and row.loc["loud", "invariance"] > 0.9
    assert "from layer 'hidden', the largest estimate" in row.loc["loud", "invariance_note"]
    assert "data processing violated" in row.loc["hidden", "invariance_note"]
    assert row.loc["input", "invariance"] == 0.0  # the input keeps its own information
    assert "under-reads it" in row.loc["input", "invariance_note"]
    finite = df[["invariance", "invariance_low", "invariance_high"]].to_numpy(float)
    assert np.all((finite[np.isfinite(finite)] >= 0) & (finite[np.isfinite(finite)] <= 1))


def test_undefined_score_is_nan_with_a_reason() -> None:
    # constant inputs carry no nuisance information: no reference to divide by
    x = torch.zeros(300, 3)
    nu = np.random.default_rng(0).standard_normal(300)
    df = invariance(Branches(("keep", Keep())), x, layers=["keep"], nuisance=nu, **FAST)
    scores = df[["invariance", "invariance_low", "invariance_high"]].to_numpy(float)
    assert np.isnan(scores).all()
    assert df["invariance_note"].str.startswith("undefined: I(x;n) = 0 nats").all()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("nuisance", ["noise", "independent"])
def test_scores_are_in_the_unit_interval_or_nan(seed: int, nuisance: str) -> None:
    # the old 1e-12 floor gave intervals of +-1e11 for "noise" when I(x;n) of a half was ~0
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.uniform(size=(400, 4, 4)).astype(np.float32))
    nu = "noise" if nuisance == "noise" else rng.standard_normal(400)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        df = invariance(model, x, layers=["1", "2"], nuisance=nu, random_state=seed, **FAST)
    scores = df[["invariance", "invariance_low", "invariance_high"]].to_numpy(float)
    finite = scores[np.isfinite(scores)]
    assert np.all((finite >= 0) & (finite <= 1))
    undefined = df["invariance"].isna()
    assert df.loc[undefined, "invariance_note"].str.startswith("undefined").all()
    assert (df["I_zn"] <= df["I_xn"] + 1e-12).all()
