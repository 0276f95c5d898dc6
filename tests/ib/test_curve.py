"""ib_curve against closed forms and the properties every IB curve has."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

from mi_probe.ib import COLUMNS, ib_curve, upper_envelope
from mi_probe.ib._pmf import entropy_pmf, mutual_information_pmf

from ._cases import LN2, bsc_pxy, h2, random_pxy

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.2, 0.3])
@pytest.mark.parametrize("seed", SEEDS)
def test_binary_symmetric_channel_matches_mrs_gerber_closed_form(eps: float, seed: int) -> None:
    # Doubly symmetric binary source: the optimal T is X through a BSC(delta), so on
    # the curve I_XT = ln2 - h(delta) and I_TY = ln2 - h(delta*eps), delta*eps =
    # delta(1-eps) + eps(1-delta). Tolerance 1e-6 nats (solver tol is 1e-9).
    betas = np.geomspace(0.5, 200.0, 30)
    curve = ib_curve(bsc_pxy(eps), betas, random_state=seed)
    inner = curve[(curve.I_XT > 1e-4) & (curve.I_XT < LN2 - 1e-6)]
    assert len(inner) >= 3
    for ixt, ity in zip(inner.I_XT, inner.I_TY, strict=True):
        delta = brentq(lambda d, ixt=ixt: LN2 - float(h2(d)) - ixt, 1e-15, 0.5)
        conv = delta * (1 - eps) + eps * (1 - delta)
        assert ity == pytest.approx(LN2 - float(h2(conv)), abs=1e-6)
    # the end point is (H(X), I(X;Y)) = (ln 2, ln 2 - h(eps))
    assert curve.I_XT.iloc[-1] == pytest.approx(LN2, abs=1e-6)
    assert curve.I_TY.iloc[-1] == pytest.approx(LN2 - float(h2(eps)), abs=1e-6)


@pytest.mark.parametrize("eps", [0.1, 0.25])
@pytest.mark.parametrize("seed", SEEDS)
def test_binary_symmetric_channel_critical_beta(eps: float, seed: int) -> None:
    # T stays independent of X up to beta_c = 1 / (1 - 2 eps)^2 (the inverse squared
    # maximal correlation) and becomes informative above it.
    beta_c = 1.0 / (1 - 2 * eps) ** 2
    curve = ib_curve(bsc_pxy(eps), [0.8 * beta_c, 1.3 * beta_c], random_state=seed)
    assert curve.I_XT.iloc[0] < 1e-6
    assert curve.I_XT.iloc[1] > 1e-2


@pytest.mark.parametrize("seed", SEEDS + [3])
def test_curve_runs_from_origin_to_hx_ixy(seed: int) -> None:
    pxy = random_pxy(seed)
    curve = ib_curve(pxy, [0.1, 0.5, 1e6], random_state=seed)
    assert curve.I_XT.iloc[0] < 1e-9 and curve.I_TY.iloc[0] < 1e-9
    assert curve.I_XT.iloc[1] < 1e-9 and curve.I_TY.iloc[1] < 1e-9
    assert curve.I_XT.iloc[-1] == pytest.approx(entropy_pmf(pxy.sum(axis=1)), abs=1e-6)
    assert curve.I_TY.iloc[-1] == pytest.approx(mutual_information_pmf(pxy), abs=1e-6)
    assert curve.n_clusters_used.iloc[0] == 1
    assert curve.n_clusters_used.iloc[-1] == pxy.shape[0]
    assert curve.attrs["H_X"] == pytest.approx(entropy_pmf(pxy.sum(axis=1)))
    assert curve.attrs["I_XY"] == pytest.approx(mutual_information_pmf(pxy))


@pytest.mark.parametrize("seed", SEEDS)
def test_curve_is_monotone_and_concave_with_slope_one_over_beta(seed: int) -> None:
    # On the IB curve dI_TY/dI_XT = 1/beta, so the chord between the solutions at
    # beta_i < beta_j has a slope in [1/beta_j, 1/beta_i]: this is concavity, tested
    # with absolute slack 1e-3 on chords longer than 1e-3 nats.
    pxy = random_pxy(seed, n_x=6, n_y=3)
    betas = np.geomspace(0.5, 300.0, 40)
    curve = ib_curve(pxy, betas, random_state=seed)
    x, y = curve.I_XT.to_numpy(), curve.I_TY.to_numpy()
    assert np.all(np.diff(x) >= -1e-9)
    assert np.all(np.diff(y) >= -1e-9)
    assert np.all(y <= np.minimum(x, curve.attrs["I_XY"]) + 1e-12)
    checked = 0
    for i in range(len(betas) - 1):
        dx, dy = x[i + 1] - x[i], y[i + 1] - y[i]
        if dx > 1e-3:
            checked += 1
            assert 1 / betas[i + 1] - 1e-3 <= dy / dx <= 1 / betas[i] + 1e-3
    assert checked >= 5
    # every point already lies on the concave upper envelope
    env = upper_envelope(curve)
    assert np.max(np.abs(np.interp(x, env.I_XT, env.I_TY) - y)) < 1e-6


@pytest.mark.parametrize("seed", SEEDS)
def test_deterministic_ib_gives_hard_encoders(seed: int) -> None:
    pxy = random_pxy(seed, n_x=6)
    curve, enc = ib_curve(
        pxy, np.geomspace(0.5, 1e3, 15), alpha=0.0, random_state=seed, return_encoders=True
    )
    assert set(np.unique(enc)) <= {0.0, 1.0}
    np.testing.assert_array_equal(enc.sum(axis=2), 1.0)
    # deterministic encoder: H(T|X) = 0, so I(X;T) = H(T)
    np.testing.assert_allclose(curve.I_XT, curve.H_T, atol=1e-12)
    np.testing.assert_allclose(curve.lagrangian, curve.H_T - curve.beta * curve.I_TY, atol=1e-9)
    assert curve.I_TY.iloc[-1] == pytest.approx(mutual_information_pmf(pxy), abs=1e-9)
    # the DIB never beats the IB on its own objective I(X;T) - beta I(T;Y)
    ibc = ib_curve(pxy, curve.beta, alpha=1.0, random_state=seed)
    assert np.all(ibc.lagrangian <= curve.I_XT - curve.beta * curve.I_TY + 1e-9)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_encoders_reproduce_the_reported_quantities(alpha: float, seed: int) -> None:
    pxy = random_pxy(seed)
    curve, enc = ib_curve(
        pxy, [0.5, 3.0, 20.0], alpha=alpha, random_state=seed, return_encoders=True
    )
    assert list(curve.columns) == list(COLUMNS)
    assert enc.shape == (3, pxy.shape[0], pxy.shape[0])
    np.testing.assert_allclose(enc.sum(axis=2), 1.0, atol=1e-12)
    px = pxy.sum(axis=1)
    for k, row in curve.iterrows():
        joint_xt = px[:, None] * enc[k]
        joint_ty = enc[k].T @ pxy
        assert mutual_information_pmf(joint_xt) == pytest.approx(row.I_XT, abs=1e-9)
        assert mutual_information_pmf(joint_ty) == pytest.approx(row.I_TY, abs=1e-9)
        assert entropy_pmf(joint_xt.sum(axis=0)) == pytest.approx(row.H_T, abs=1e-9)
        h_t_x = entropy_pmf(joint_xt) - entropy_pmf(px)
        lag = row.H_T - alpha * h_t_x - row.beta * row.I_TY
        assert row.lagrangian == pytest.approx(lag, abs=1e-9)


@pytest.mark.parametrize("alpha", [1.0, 0.3, 0.0])
def test_no_nan_at_huge_beta_and_zero_probability_rows(alpha: float) -> None:
    base = random_pxy(4)
    pxy = np.zeros((base.shape[0] + 2, base.shape[1] + 1))
    pxy[1:-1, :-1] = base  # first and last x, and the last y, have probability 0
    betas = [1e-3, 1.0, 1e4, 1e8, 1e12]
    curve, enc = ib_curve(pxy, betas, alpha=alpha, random_state=0, return_encoders=True)
    assert not curve[["I_XT", "I_TY", "H_T", "lagrangian"]].isna().any().any()
    assert np.isfinite(enc).all()
    np.testing.assert_allclose(enc.sum(axis=2), 1.0, atol=1e-12)
    ref = ib_curve(base, betas, alpha=alpha, random_state=0)
    np.testing.assert_allclose(curve.I_XT, ref.I_XT, atol=1e-9)
    np.testing.assert_allclose(curve.I_TY, ref.I_TY, atol=1e-9)
    assert curve.I_XT.iloc[-1] == pytest.approx(entropy_pmf(base.sum(axis=1)), abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_merging_identical_rows_changes_nothing(seed: int) -> None:
    base = random_pxy(seed, n_x=4)
    # split every x into two copies with the same p(y|x) and unequal mass
    w = np.random.default_rng(seed).uniform(0.2, 0.8, size=(4, 1))
    pxy = np.vstack([base * w, base * (1 - w)])
    betas = np.geomspace(0.5, 1e3, 12)
    merged = ib_curve(pxy, betas, random_state=seed)
    ref = ib_curve(base, betas, random_state=seed)
    np.testing.assert_allclose(merged.I_XT, ref.I_XT, atol=1e-7)
    np.testing.assert_allclose(merged.I_TY, ref.I_TY, atol=1e-7)
    full = ib_curve(pxy, betas, n_clusters=8, merge_identical=False, random_state=seed)
    np.testing.assert_allclose(full.I_TY, ref.I_TY, atol=1e-5)
    np.testing.assert_allclose(full.I_XT, ref.I_XT, atol=1e-4)


@pytest.mark.parametrize("alpha", [1.0, 0.0])
def test_torch_backend_matches_numpy(alpha: float) -> None:
    pytest.importorskip("torch")
    pxy = random_pxy(7)
    betas = np.geomspace(0.5, 1e6, 10)
    a = ib_curve(pxy, betas, alpha=alpha, random_state=3)
    b = ib_curve(pxy, betas, alpha=alpha, random_state=3, device="cpu")
    np.testing.assert_allclose(a.I_XT, b.I_XT, atol=1e-10)
    np.testing.assert_allclose(a.I_TY, b.I_TY, atol=1e-10)


def test_fewer_clusters_than_x_and_single_pass_annealing() -> None:
    pxy = random_pxy(5, n_x=8)
    betas = np.geomspace(0.5, 1e4, 12)
    both = ib_curve(pxy, betas, n_clusters=3, random_state=0)
    assert both.n_clusters_used.max() <= 3
    # a bottleneck of 3 clusters keeps I_XT <= ln 3
    assert both.I_XT.max() <= np.log(3) + 1e-12
    for anneal in ("forward", "reverse"):
        one = ib_curve(pxy, betas, n_clusters=3, anneal=anneal, random_state=0)
        assert set(one.direction) == {anneal}
        assert np.all(both.lagrangian <= one.lagrangian + 1e-12)


def test_default_betas_and_progress_run() -> None:
    curve = ib_curve(bsc_pxy(0.1), progress=True, random_state=0)
    assert len(curve) == 50
    assert curve.beta.iloc[0] == 1.0 and curve.beta.iloc[-1] == pytest.approx(1e3)


def test_upper_envelope_drops_points_below_the_hull() -> None:
    frame = pd.DataFrame({"I_XT": [0.0, 0.5, 0.6, 1.0, 1.2], "I_TY": [0.0, 0.4, 0.2, 0.6, 0.55]})
    env = upper_envelope(frame)
    assert env.I_XT.tolist() == [0.0, 0.5, 1.0]


def test_docstring_examples() -> None:
    for name in ("curve", "rate_distortion", "_pmf"):
        module = importlib.import_module(f"mi_probe.ib.{name}")
        failed, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert failed == 0


@pytest.mark.parametrize(
    ("pxy", "match"),
    [
        (np.array([[0.5, 0.6], [-0.1, 0.0]]), "pxy has negative entries"),
        (np.array([[0.5, 0.2], [0.1, 0.1]]), "pxy must sum to 1"),
        (np.full(4, 0.25), "pxy must be a \\(n_x, n_y\\) matrix"),
        (np.full((2, 2, 1), 0.25), "pxy must be a \\(n_x, n_y\\) matrix"),
        (np.array([[np.nan, 0.5], [0.25, 0.25]]), "pxy contains NaN"),
        (np.array([[np.inf, 0.5], [0.25, 0.25]]), "pxy contains inf"),
        (np.zeros((0, 2)), "pxy is empty"),
        (np.array([["a", "b"]]), "pxy has dtype"),
        (np.array([[0.5 + 0j, 0.5]]), "pxy has a complex dtype"),
    ],
)
def test_bad_pxy_raises(pxy: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ib_curve(pxy)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"betas": [1.0, -2.0]}, "betas must be > 0"),
        ({"betas": []}, "betas is empty"),
        ({"betas": [[1.0, 2.0]]}, "betas must be 1-D"),
        ({"betas": [1.0, np.inf]}, "betas must be finite"),
        ({"betas": ["a"]}, "betas must be numbers"),
        ({"alpha": 1.5}, "alpha must be in \\[0, 1\\]"),
        ({"alpha": -0.1}, "alpha must be >= 0"),
        ({"n_clusters": 0}, "n_clusters must be >= 1"),
        ({"anneal": "sideways"}, "anneal must be one of"),
        ({"max_iter": 0}, "max_iter must be >= 1"),
        ({"tol": 0.0}, "tol must be > 0"),
        ({"perturbation": -1.0}, "perturbation must be >= 0"),
    ],
)
def test_bad_parameters_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ib_curve(bsc_pxy(0.1), **kwargs)


def test_upper_envelope_missing_column_raises() -> None:
    with pytest.raises(ValueError, match="y='I_TY' is not a column"):
        upper_envelope(pd.DataFrame({"I_XT": [0.0]}))


@pytest.mark.gpu
@pytest.mark.parametrize("alpha", [1.0, 0.0])
def test_cuda_backend_matches_numpy(alpha: float) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    g = np.random.default_rng(0)
    pxy = g.dirichlet(np.ones(512 * 2)).reshape(512, 2)
    betas = np.geomspace(0.5, 1e3, 8)
    a = ib_curve(pxy, betas, alpha=alpha, n_clusters=32, random_state=3)
    b = ib_curve(pxy, betas, alpha=alpha, n_clusters=32, random_state=3, device="cuda")
    np.testing.assert_allclose(a.I_XT, b.I_XT, atol=1e-8)
    np.testing.assert_allclose(a.I_TY, b.I_TY, atol=1e-8)


def test_huge_default_cluster_count_raises_instead_of_allocating() -> None:
    g = np.random.default_rng(0)
    pxy = g.dirichlet(np.ones(2 * 30000)).reshape(30000, 2)  # 30000 distinct rows
    with pytest.raises(ValueError, match="n_clusters=30000 with 30000 distinct rows"):
        ib_curve(pxy, [1.0])
    assert len(ib_curve(pxy, [1.0], n_clusters=4, max_iter=5)) == 1
