"""``auto`` must never be confidently wrong (issue 18).

Truths are Monte Carlo integrals under the exact densities, computed here (standard
errors below 0.01 nats). ``Y = X + sigma E`` throughout, so ``I(X; Y) = h(Y) -
h(Y | X)`` with ``h(Y | X) = (d / 2) log(2 pi e sigma^2)`` and ``h(Y)`` the entropy of a
zero-mean Gaussian mixture.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp

from mi_probe.estimators import auto as auto_module
from mi_probe.estimators.auto import auto_mi, side_negentropy
from mi_probe.estimators.reliability import subsample_interval
from mi_probe.preprocessing import copula_normalize
from tests._helpers import gaussian_pair

# --- mixtures of zero-mean Gaussians, each coordinate exactly N(0, 1) ----------------


def _mixture_logpdf(y: np.ndarray, covs: list[np.ndarray]) -> np.ndarray:
    """log of the equal-weight mixture of N(0, C) at the rows of y."""
    d = y.shape[1]
    terms = []
    for c in covs:
        chol = np.linalg.cholesky(c)
        sol = np.linalg.solve(chol, y.T)
        terms.append(
            -0.5 * (sol**2).sum(0) - np.log(np.diag(chol)).sum() - 0.5 * d * np.log(2 * np.pi)
        )
    return logsumexp(np.stack(terms), axis=0) - np.log(len(covs))


def _sample_mixture(covs: list[np.ndarray], sigma: float, n: int, seed: int):
    g = np.random.default_rng(seed)
    d = covs[0].shape[0]
    k = g.integers(0, len(covs), n)
    chol = np.stack([np.linalg.cholesky(c + 1e-12 * np.eye(d)) for c in covs])
    x = np.einsum("nij,nj->ni", chol[k], g.standard_normal((n, d)))
    return x, x + sigma * g.standard_normal((n, d))


def _mixture_truth(covs: tuple, sigma: float, m: int = 200_000) -> tuple[float, float]:
    """(I(X; X + sigma E), its Monte Carlo standard error) in nats."""
    covs = [np.asarray(c) for c in covs]
    d = covs[0].shape[0]
    _, y = _sample_mixture(covs, sigma, m, seed=987_654)
    lp = _mixture_logpdf(y, [c + sigma**2 * np.eye(d) for c in covs])
    h_y = -lp.mean()
    return float(h_y - 0.5 * d * np.log(2 * np.pi * np.e * sigma**2)), float(lp.std() / np.sqrt(m))


def _sign_covs(rho: float) -> tuple:
    """X = (rho Z, s rho Z) + sqrt(1 - rho^2) eta with a random sign s."""
    r2 = rho**2
    return (np.array([[1.0, r2], [r2, 1.0]]), np.array([[1.0, -r2], [-r2, 1.0]]))


def _low_rank_covs(d: int, k: int, rank: int, eps: float, seed: int = 1) -> tuple:
    """k correlation matrices, each of a rank-``rank`` Gaussian plus eps I."""
    g = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        a = g.standard_normal((d, rank))
        c = a @ a.T + eps * np.eye(d)
        s = np.sqrt(np.diag(c))
        out.append(c / np.outer(s, s))
    return tuple(out)


@functools.cache
def _truth_sign(rho: float, sigma: float) -> tuple[float, float]:
    return _mixture_truth(_sign_covs(rho), sigma)


@functools.cache
def _truth_low_rank(d: int, k: int, rank: int, eps: float, sigma: float) -> tuple[float, float]:
    return _mixture_truth(_low_rank_covs(d, k, rank, eps), sigma)


def _trusted(r, truth: float) -> bool:  # noqa: ANN001
    """The issue's criterion: the interval covers the truth, or a serious flag says the
    estimate may be off -- never a clean, tight interval that excludes the truth."""
    lo, hi = r.interval
    flags = r.diagnostics["flags"]
    return lo <= truth <= hi or flags["candidates_disagree"] or flags["unstable_in_n"]


# --- the sign mixture ------------------------------------------------------------------


def test_sign_mixture_truth_matches_the_issue():
    # the values the issue measured (its own Monte Carlo): 3.739 and 5.636 nats
    for (rho, sigma), expected in (((0.99, 0.1), 3.739), ((1.0, 0.01), 5.636)):
        truth, se = _truth_sign(rho, sigma)
        assert se < 0.01
        assert abs(truth - expected) < 0.02


@pytest.mark.parametrize("rho, sigma", [(0.99, 0.1), (1.0, 0.01)])
@pytest.mark.parametrize("seed", [0, 1])
def test_sign_mixture_is_not_confidently_wrong(rho, sigma, seed):
    truth, se = _truth_sign(rho, sigma)
    x, y = _sample_mixture(list(_sign_covs(rho)), sigma, 3000, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = auto_mi(x, y, null=False, random_state=seed)
    d = r.diagnostics
    # the uncorrected Gaussian-copula value overshoots (4.6 and 9.1 nats, the issue's
    # failure); the corrected candidate is a lower bound (up to noise)
    assert d["gaussian_uncorrected"] > 1.15 * truth
    assert d["candidates"]["gaussian_copula"] < truth + 0.05
    assert d["negentropy_correction"] > 0.5
    assert 1 / 1.5 < float(r) / truth < 1.5
    assert _trusted(r, truth)


def test_side_negentropy_against_the_exact_value():
    # J(X) = h(N(0, I_2)) - h(X) for one side of the sign mixture (rho = 0.99); its
    # columns are exactly N(0, 1) and uncorrelated, so N_X = N(0, I_2)
    covs = list(_sign_covs(0.99))
    xs, _ = _sample_mixture(covs, 1.0, 200_000, seed=5)
    exact = float(np.log(2 * np.pi * np.e) + _mixture_logpdf(xs, covs).mean())
    x, _ = _sample_mixture(covs, 1.0, 4000, seed=6)
    est = side_negentropy(copula_normalize(x), 3, normal_scores=True)
    assert exact > 0.9
    assert abs(est - exact) < 0.15
    # a Gaussian side: ~0 (documented noise: sd 0.02-0.05 at 5 dimensions)
    g = np.random.default_rng(7).standard_normal((2000, 5))
    assert abs(side_negentropy(copula_normalize(g), 8, normal_scores=True)) < 0.1


def test_one_column_side_has_no_negentropy():
    z = copula_normalize(np.random.default_rng(0).exponential(size=(100, 1)))
    assert side_negentropy(z, 0, normal_scores=True) == 0.0


# --- mixtures of low-rank Gaussians in 10 dimensions -----------------------------------


# configurations looked at on seeds 0-2; checked here on seeds 3 and 4
@pytest.mark.parametrize("k, eps, sigma", [(3, 0.05, 0.4), (4, 0.1, 0.5)])
@pytest.mark.parametrize("seed", [3, 4])
def test_low_rank_mixture_is_not_confidently_wrong(k, eps, sigma, seed):
    truth, se = _truth_low_rank(10, k, 2, eps, sigma)
    assert se < 0.01
    x, y = _sample_mixture(list(_low_rank_covs(10, k, 2, eps)), sigma, 3000, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = auto_mi(x, y, null=False, random_state=seed)
    d = r.diagnostics
    assert d["gaussian_uncorrected"] > 1.05 * truth  # I_G alone overshoots
    assert d["candidates"]["gaussian_copula"] < 1.05 * truth  # corrected: a lower bound
    assert float(r) < 1.5 * truth  # never far above
    assert _trusted(r, truth)


# --- the flag, the interval, the bias statement ----------------------------------------


def test_unsupported_candidate_is_flagged_and_interval_reaches_the_next(monkeypatch):
    # force a sizeable negentropy correction on Gaussian data: the corrected Gaussian
    # candidate then rests on that correction alone, far above KSG in 20 dimensions
    monkeypatch.setattr(auto_module, "side_negentropy", lambda a, seed, **kw: 0.3)
    x, y, _ = gaussian_pair(1500, 10, 0.8, seed=2)
    with pytest.warns(RuntimeWarning, match="candidates_disagree"):
        r = auto_mi(x, y, null=False, check_stability=False, random_state=0)
    flags = r.diagnostics["flags"]
    assert flags["candidates_disagree"]
    below = flags["disagreement"]["below"]
    assert below["kept"] == "gaussian_copula" and below["gap"] > below["tolerance"]
    assert r.interval[0] <= r.diagnostics["candidates"][below["runner_up"]] + 1e-12


def test_gaussian_data_is_not_flagged():
    x, y, truth = gaussian_pair(3000, 5, 0.6, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = auto_mi(x, y, null=False, random_state=1)
    assert not r.diagnostics["flags"]["candidates_disagree"]
    assert r.diagnostics["negentropy_correction"] < 0.05
    lo, hi = r.interval
    assert lo <= truth <= hi


def test_subsample_interval_covers_an_n_to_the_minus_half_drift():
    # an estimator whose bias falls exactly as n^-1/2: I(n) = 1 - 10 / sqrt(n)
    def fn(a, b, seed):  # noqa: ANN001, ARG001
        return 1.0 - 10.0 / np.sqrt(a.shape[0])

    x = np.zeros((400, 1))
    value = fn(x, x, 0)  # 0.5; the truth at infinite n is 1.0
    (lo, hi), info = subsample_interval(fn, x, x, value, rng=np.random.default_rng(0))
    assert info["extrapolated_bias"] == pytest.approx(0.5, abs=1e-9)
    assert lo <= 1.0 <= hi
    (lo0, hi0), _ = subsample_interval(
        fn, x, x, value, drift_exponent=None, rng=np.random.default_rng(0)
    )
    assert hi0 < 1.0 < hi  # without the extrapolation the drift is not covered


def test_bias_statement_is_given():
    x, y, _ = gaussian_pair(1000, 2, 0.5, seed=3)
    r = auto_mi(x, y, null=False, random_state=0)
    bias = r.diagnostics["bias"]
    assert bias["direction"] == "truth likely above"
    assert "sampling interval" in bias["note"]
    assert bias["drift_half_to_full"] == pytest.approx(r.diagnostics["bias_gap"])


def test_independent_mixture_sides_read_near_zero():
    covs = list(_sign_covs(0.99))
    x, _ = _sample_mixture(covs, 0.1, 2000, seed=8)
    y, _ = _sample_mixture(covs, 0.1, 2000, seed=9)
    r = auto_mi(x, y, interval=False, check_stability=False, n_permutations=10, random_state=0)
    assert float(r) < 0.05
    assert r.null is not None and r.null < 0.1


# --- wide layers, label targets ---------------------------------------------------------


def test_wide_linear_gaussian_layer_skips_ksg_and_is_right():
    g = np.random.default_rng(0)
    n, d, dz = 1000, 40, 100
    w = g.standard_normal((dz, d)) / np.sqrt(d)
    x = g.standard_normal((n, d))
    z = x @ w.T + g.standard_normal((n, dz))
    truth = 0.5 * np.linalg.slogdet(np.eye(dz) + w @ w.T)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # few_samples_for_dim
        r = auto_mi(x, z, interval=False, null=False, check_stability=False, random_state=0)
    assert "ksg_copula" not in r.diagnostics["candidates"]
    assert "128" in r.diagnostics["skipped"]["ksg_copula"]
    assert abs(float(r) - truth) < 0.05 * truth


def test_label_target_uses_usable_information_when_available():
    pytest.importorskip("mi_probe.estimators.usable", reason="usable.py not written yet")
    g = np.random.default_rng(1)
    k, d, n = 4, 10, 2000
    mu = g.standard_normal((k, d)) * 2.0 / np.sqrt(d)

    def draw(m, seed):  # noqa: ANN001
        r = np.random.default_rng(seed)
        lab = r.integers(0, k, m)
        return mu[lab] + r.standard_normal((m, d)), lab

    zs, ls = draw(200_000, 99)
    ll = -0.5 * ((zs[:, None, :] - mu[None]) ** 2).sum(-1)
    truth = float(np.log(k) + (ll[np.arange(ls.size), ls] - logsumexp(ll, axis=1)).mean())
    z, lab = draw(n, 0)
    r = auto_mi(z, lab, interval=False, null=False, check_stability=False, random_state=0)
    cands = r.diagnostics["candidates"]
    assert set(cands) == {"mixed", "usable"}
    assert float(r) >= cands["mixed"]
    assert abs(float(r) - truth) < 0.1 * truth
