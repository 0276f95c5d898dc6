"""Kernel estimators: noisy-layer pairwise-distance bounds and the KDE plug-in.

Documented regime of the KDE plug-in (Scott's rule, leave-one-out, n=1000; the joint
whitened with its full covariance, as kde_entropy does): within 0.03 nats on 1-D
correlated Gaussians with I <= 0.25 nats; at I ~ 0.8 in 1-D within 0.06 (mean error
-0.004 over seeds 0-9); biased low in 2+2-D (0.04-0.10 nats at I = 0.29-1.02), never
above the truth by more than 0.03 on seeds 0-9.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from mi_probe import entropy, estimate_mi
from mi_probe.backends import pick
from mi_probe.estimators.kde import KDEEstimator, kde_entropy, kde_mi, noisy_layer_mi
from tests._helpers import gaussian_pair

SEEDS = [0, 1, 2, 3, 4]


# --- noisy-layer estimator: limits ---------------------------------------------------


@pytest.mark.parametrize("n", [2, 10, 200])
@pytest.mark.parametrize("bound", ["upper", "lower"])
def test_well_separated_points_give_log_n(n: int, bound: str) -> None:
    """T = X uniform over n points 1 apart with sigma = 0.1: I(X; T + N) -> log n."""
    x = np.arange(n, dtype=float)
    r = noisy_layer_mi(x, x, noise_variance=0.01, bound=bound)
    # the nearest other component adds exp(-12.5) per neighbour to the BD bound
    assert float(r) == pytest.approx(np.log(n), abs=1e-4)
    assert r.diagnostics["upper"] == pytest.approx(np.log(n), abs=1e-12)


@pytest.mark.parametrize("n", [10, 200])
def test_points_much_closer_than_sigma_give_about_zero(n: int) -> None:
    x = np.arange(n) * (0.01 / n)  # all within 0.01, sigma = 1
    r = noisy_layer_mi(x, x, noise_variance=1.0)
    assert 0.0 <= r.diagnostics["lower"] <= r.diagnostics["upper"] < 1e-4


@pytest.mark.parametrize("seed", range(10))
def test_upper_at_least_lower_for_distinct_inputs(seed: int) -> None:
    g = np.random.default_rng(seed)
    n, d = int(g.integers(5, 300)), int(g.integers(1, 6))
    t = g.standard_normal((n, d)) * g.uniform(0.1, 3)
    s2 = float(10 ** g.uniform(-3, 1))
    r = noisy_layer_mi(g.standard_normal((n, 2)), t, noise_variance=s2)
    up, lo = r.diagnostics["upper"], r.diagnostics["lower"]
    assert -1e-12 <= lo <= up + 1e-12
    assert up <= np.log(n) + 1e-12
    assert r.diagnostics["h_lower"] <= r.diagnostics["h_upper"] + 1e-12


@pytest.mark.parametrize("seed", SEEDS)
def test_two_far_classes_give_log_2(seed: int) -> None:
    g = np.random.default_rng(seed)
    y = g.integers(0, 2, 600)
    t = 20.0 * y[:, None] + g.standard_normal((600, 3))  # classes 20 apart, sigma 0.3
    p = y.mean()
    h_y = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    for bound in ("upper", "lower"):
        r = noisy_layer_mi(y, t, noise_variance=0.09, bound=bound)
        assert float(r) == pytest.approx(h_y, abs=1e-6)
        assert abs(h_y - np.log(2)) < 0.01
        lo, hi = r.diagnostics["bracket"]
        assert lo - 1e-9 <= r.diagnostics["lower"] and r.diagnostics["upper"] <= hi + 1e-9


def test_repeated_inputs_group_as_one_component() -> None:
    """Duplicated (input, activation) pairs give the same I as the unique ones."""
    g = np.random.default_rng(0)
    x = g.standard_normal((50, 4))
    t = np.tanh(x @ g.standard_normal((4, 3)))
    a = noisy_layer_mi(x, t, noise_variance=0.05)
    b = noisy_layer_mi(np.vstack([x, x]), np.vstack([t, t]), noise_variance=0.05)
    assert b.diagnostics["n_groups"] == 50
    for key in ("upper", "lower"):
        assert b.diagnostics[key] == pytest.approx(a.diagnostics[key], abs=1e-10)


# --- noisy-layer estimator against Monte Carlo -------------------------------------------


def _mixture_entropy_mc(
    centers: np.ndarray, s2: float, n_mc: int, g: np.random.Generator
) -> tuple[float, float]:
    """H of the equal-weight mixture of N(c_i, s2 I) by Monte Carlo: (mean, std error)."""
    n, d = centers.shape
    z = centers[g.integers(0, n, n_mc)] + np.sqrt(s2) * g.standard_normal((n_mc, d))
    d2 = ((z[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    logp = logsumexp(-d2 / (2 * s2), axis=1) - np.log(n) - 0.5 * d * np.log(2 * np.pi * s2)
    return float(-logp.mean()), float(logp.std() / np.sqrt(n_mc))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bounds_bracket_monte_carlo_mi(seed: int) -> None:
    """I(X; T+N) = H(T+N) - H(N) for 40 distinct inputs whose activations overlap at
    the noise scale; the Monte-Carlo value (5 standard errors) lies between the bounds,
    and they are informative (KL is the looser one at this overlap)."""
    g = np.random.default_rng(seed)
    s2 = 0.25
    t = g.standard_normal((40, 2))
    d = t.shape[1]
    h, se = _mixture_entropy_mc(t, s2, 40_000, g)
    truth = h - 0.5 * d * np.log(2 * np.pi * np.e * s2)
    r = noisy_layer_mi(np.arange(40), t, noise_variance=s2)
    up, lo = r.diagnostics["upper"], r.diagnostics["lower"]
    assert lo - 5 * se <= truth <= up + 5 * se
    assert lo > 0.5 * truth and up < 0.75 * np.log(40)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_class_bracket_contains_monte_carlo_mi(seed: int) -> None:
    """I(T+N; Y) for two overlapping classes: the guaranteed bracket contains the MC value."""
    g = np.random.default_rng(seed)
    s2 = 0.2
    y = np.repeat([0, 1], 30)
    t = g.standard_normal((60, 2)) + 1.0 * y[:, None]
    h_all, se_all = _mixture_entropy_mc(t, s2, 30_000, g)
    h0, se0 = _mixture_entropy_mc(t[y == 0], s2, 30_000, g)
    h1, se1 = _mixture_entropy_mc(t[y == 1], s2, 30_000, g)
    truth = h_all - 0.5 * (h0 + h1)
    se = np.sqrt(se_all**2 + 0.25 * (se0**2 + se1**2))
    r = noisy_layer_mi(y, t, noise_variance=s2)
    lo, hi = r.diagnostics["bracket"]
    assert lo - 5 * se <= truth <= hi + 5 * se
    # the papers' estimates are close to the truth here
    assert abs(r.diagnostics["upper"] - truth) < 0.1
    assert abs(r.diagnostics["lower"] - truth) < 0.1


# --- noisy-layer estimator: backends and inputs ------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backends_agree(seed: int) -> None:
    g = np.random.default_rng(seed)
    t = np.tanh(g.standard_normal((300, 5)))
    y = g.integers(0, 3, 300)
    ref = noisy_layer_mi(y, t, noise_variance=0.01, backend="numpy")
    for backend in ("kdtree", "torch", "auto"):
        r = noisy_layer_mi(y, t, noise_variance=0.01, backend=backend)
        for key in ("upper", "lower"):
            assert r.diagnostics[key] == pytest.approx(ref.diagnostics[key], abs=1e-10)
    r32 = noisy_layer_mi(torch.tensor(y), torch.tensor(t, dtype=torch.float32), noise_variance=0.01)
    assert r32.backend == "torch"
    for key in ("upper", "lower"):
        assert r32.diagnostics[key] == pytest.approx(ref.diagnostics[key], abs=1e-4)


def test_memo_is_keyed_by_content() -> None:
    """The whole-layer sums are reused for the same activations, never for changed ones."""
    from mi_probe.estimators import kde

    g = np.random.default_rng(2)
    t = g.standard_normal((200, 3))
    y = g.integers(0, 2, 200)
    kde._MEMO.clear()
    a = noisy_layer_mi(np.arange(200), t, noise_variance=0.1)
    assert len(kde._MEMO) == 1
    b = noisy_layer_mi(y, t.copy(), noise_variance=0.1)  # hit: same bytes
    assert len(kde._MEMO) == 1
    assert b.diagnostics["h_upper"] == a.diagnostics["h_upper"]
    t2 = t.copy()
    t2[0, 0] += 1e-9
    c = noisy_layer_mi(np.arange(200), t2, noise_variance=0.1)  # changed: recomputed
    assert len(kde._MEMO) == 2
    assert c.diagnostics["upper"] != a.diagnostics["upper"]
    kde._MEMO.clear()
    fresh = noisy_layer_mi(y, t, noise_variance=0.1)
    assert fresh.diagnostics["upper"] == b.diagnostics["upper"]


def test_fused_variance_pair_matches_separate_calls() -> None:
    g = np.random.default_rng(0)
    q, p = g.standard_normal((70, 3)) * 2, g.standard_normal((90, 3))
    for name in ("numpy", "torch"):
        be = pick(name)
        both = be.gaussian_logsumexp(q, p, [0.05, 0.2])
        d2 = ((q[:, None] - p[None]) ** 2).sum(-1)
        for row, v in zip(both, (0.05, 0.2), strict=True):
            assert np.allclose(row, logsumexp(-d2 / (2 * v), axis=1), atol=1e-9)
        # queries that are the points: symmetric half-matrix path
        sym = be.gaussian_logsumexp(p, p, [0.05, 0.2])
        dp = ((p[:, None] - p[None]) ** 2).sum(-1)
        for row, v in zip(sym, (0.05, 0.2), strict=True):
            assert np.allclose(row, logsumexp(-dp / (2 * v), axis=1), atol=1e-9)
        # far queries (no point within 30 sigma) go through the max-shifted path
        far = be.gaussian_logsumexp(q + 100.0, p, 0.05)
        df = ((q[:, None] + 100.0 - p[None]) ** 2).sum(-1)
        assert np.allclose(far, logsumexp(-df / 0.1, axis=1), rtol=1e-12)
        with pytest.raises(ValueError, match="each must be 4 times the previous"):
            be.gaussian_logsumexp(q, p, [0.05, 0.8])
        with pytest.raises(ValueError, match="variance must be > 0"):
            be.gaussian_logsumexp(q, p, -1.0)


def test_kde_mi_with_noise_variance_is_the_noisy_layer_estimator() -> None:
    g = np.random.default_rng(1)
    y = g.integers(0, 2, 100)
    t = g.standard_normal((100, 2)) + y[:, None]
    a = kde_mi(y, t, noise_variance=0.1, bound="lower")
    b = noisy_layer_mi(y, t, noise_variance=0.1, bound="lower")
    assert float(a) == pytest.approx(float(b), abs=1e-12)
    assert a.diagnostics["regime"] == "I(X;T+N(0, s2 I)) of a noisy layer"
    est = KDEEstimator(noise_variance=0.1, bound="lower")
    assert float(est.estimate(y, t)) == pytest.approx(float(b), abs=1e-12)


# --- KDE plug-in ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rho", [0.3, 0.6])
def test_kde_mi_weak_dependence(seed: int, rho: float) -> None:
    x, y, truth = gaussian_pair(1000, 1, rho, seed)
    assert abs(float(kde_mi(x, y)) - truth) < 0.03
    assert abs(float(kde_mi(x, y, bandwidth="silverman")) - truth) < 0.03


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("d", "rho"), [(1, 0.9), (2, 0.5), (2, 0.8)])
def test_kde_mi_strong_dependence(seed: int, d: int, rho: float) -> None:
    x, y, truth = gaussian_pair(1000, d, rho, seed)
    est = float(kde_mi(x, y))
    assert truth - 0.12 <= est <= truth + 0.04


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bandwidth", ["scott", "silverman", 0.4])
def test_kde_mi_is_the_difference_of_kde_entropies(seed: int, bandwidth) -> None:
    """Issue 20: estimate_mi(x, y, "kde") read 0.4865 and H(x) + H(y) - H(x, y) from
    entropy(..., "kde") 0.4942 on the same samples (the joint was whitened per block for
    the MI, with its full covariance for the entropy); now they are one computation."""
    g = np.random.default_rng(seed)
    x = g.standard_normal((600, 2))
    y = x @ g.standard_normal((2, 1)) + 0.8 * g.standard_normal((600, 1))
    mi = estimate_mi(x, y, "kde", bandwidth=bandwidth)
    parts = [entropy(a, "kde", bandwidth=bandwidth).value for a in (x, y, np.hstack([x, y]))]
    assert float(mi) == pytest.approx(parts[0] + parts[1] - parts[2], abs=1e-10)
    assert mi.diagnostics["h_xy"] == pytest.approx(parts[2], abs=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kde_mi_properties(seed: int) -> None:
    g = np.random.default_rng(seed)
    x, y, _ = gaussian_pair(500, 2, 0.6, seed)
    a = float(kde_mi(x, y))
    assert float(kde_mi(y, x)) == pytest.approx(a, abs=1e-9)
    ax = g.standard_normal((2, 2))
    assert float(kde_mi(x @ ax + 4.0, -3.0 * y)) == pytest.approx(a, abs=1e-8)
    u, v = g.standard_normal((1000, 2)), g.standard_normal(1000)
    assert float(kde_mi(u, v)) < 0.02
    assert float(kde_mi(x, y, backend="torch")) == pytest.approx(a, abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_kde_entropy_gaussian(seed: int) -> None:
    g = np.random.default_rng(seed)
    cov = np.array([[4.0, 1.0], [1.0, 1.0]])
    z = g.multivariate_normal([0, 0], cov, 1000)
    truth = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]
    est = float(kde_entropy(z))
    assert abs(est - truth) < 0.06  # smoothing bias ~ +0.03 at n=1000
    assert float(entropy(z, estimator="kde")) == pytest.approx(est)
    assert float(kde_entropy(3.0 * z)) == pytest.approx(est + 2 * np.log(3.0), abs=1e-9)


def test_entry_point_and_fixed_bandwidth() -> None:
    x, y, truth = gaussian_pair(800, 1, 0.6, 0)
    r = estimate_mi(x, y, estimator="kde", bandwidth=0.3)
    assert r.estimator == "kde" and r.params["bandwidth"] == 0.3
    assert abs(float(r) - truth) < 0.05
    assert r.diagnostics["bandwidth_factors"] == (0.3, 0.3, 0.3)


# --- bad input ----------------------------------------------------------------------------


def test_bad_input() -> None:
    g = np.random.default_rng(0)
    t = g.standard_normal((20, 2))
    y = g.integers(0, 2, 20)
    with pytest.raises(ValueError, match="noise_variance must be > 0"):
        noisy_layer_mi(y, t, noise_variance=0.0)
    with pytest.raises(ValueError, match="noise_variance must be > 0"):
        kde_mi(y, t, noise_variance=-1.0)
    with pytest.raises(ValueError, match="bound must be one of"):
        noisy_layer_mi(y, t, bound="middle")
    with pytest.raises(ValueError, match="bound must be one of"):
        kde_mi(t, t, bound="both")
    with pytest.raises(ValueError, match="backend must be one of"):
        noisy_layer_mi(y, t, backend="cuda")
    with pytest.raises(ValueError, match="backend must be one of"):
        kde_mi(t, t, backend="gpu")
    with pytest.raises(ValueError, match="backend must be one of"):
        kde_entropy(t, backend="gpu")
    with pytest.raises(ValueError, match="x and t must have the same number of samples"):
        noisy_layer_mi(y[:10], t)
    with pytest.raises(ValueError, match="t contains NaN"):
        noisy_layer_mi(y, np.where(t > 1, np.nan, t))
    with pytest.raises(ValueError, match="x contains inf"):
        noisy_layer_mi(np.full(20, np.inf), t)
    with pytest.raises(ValueError, match="t has 1 samples"):
        noisy_layer_mi([0], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        kde_mi(t[:, 0], t[:, 1], bandwidth=-0.5)
    with pytest.raises(ValueError, match="bandwidth must be one of"):
        kde_entropy(t, bandwidth="auto")
    with pytest.raises(ValueError, match="x has a singular covariance"):
        kde_mi(np.column_stack([t[:, 0], t[:, 0]]), t[:, 1])
    with pytest.raises(ValueError, match="y has a singular covariance"):
        kde_mi(t[:, 0], np.ones(20))
    with pytest.raises(ValueError, match="same number of samples, got 20 and 19"):
        kde_mi(t, t[:19])
    with pytest.raises(ValueError, match="x has 2 samples"):
        kde_mi(t[:2], t[:2])
    with pytest.raises(ValueError, match="3-D"):
        kde_entropy(np.zeros((5, 2, 2)))
