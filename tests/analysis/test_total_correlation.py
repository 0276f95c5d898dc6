"""Total correlation: closed forms, independence, invariances, the MSS estimator, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mi_probe
from mi_probe.analysis.total_correlation import (
    binning_tc,
    gaussian_tc,
    ksg_tc,
    mss_tc,
    total_correlation,
)

SEEDS = [0, 1, 2]


def _gaussian_tc_truth(cov: np.ndarray) -> float:
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def _random_cov(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T + np.eye(d)


@pytest.mark.parametrize("seed", SEEDS)
def test_independent_components_give_about_zero(seed: int) -> None:
    # 10 independent coordinates: the separately-estimated-entropies or plug-in trap
    # gives several nats (binning: ~10 nats, see the last check); ours stays near 0
    rng = np.random.default_rng(seed)
    z = np.column_stack(
        [
            rng.standard_normal(2000),
            rng.uniform(size=2000),
            rng.exponential(size=2000),
            *rng.standard_normal((7, 2000)),
        ]
    )
    assert abs(ksg_tc(z, random_state=seed).diagnostics["raw_value"]) < 0.05
    assert gaussian_tc(z).value < 0.05  # plug-in bias ~ d(d-1)/(4n) = 0.011
    with pytest.warns(RuntimeWarning, match="undersampled"):
        assert binning_tc(z).value > 5.0  # the trap, flagged


@pytest.mark.parametrize("seed", SEEDS)
def test_gaussian_matches_closed_form(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cov = _random_cov(rng, 4)
    z = rng.multivariate_normal(np.zeros(4), cov, size=4000)
    truth = _gaussian_tc_truth(cov)
    # Gaussian: plug-in, sd ~ sqrt(d(d-1)/2 / n) ~ 0.03 at worst
    assert abs(gaussian_tc(z).value - truth) < 0.06
    # KSG: documented k-NN tolerance at low TC and d=4
    assert abs(ksg_tc(z, random_state=seed).value - truth) < 0.08


def test_ksg_equals_two_variable_ksg_mi() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(1500)
    y = 0.7 * x + rng.standard_normal(1500)
    z = np.column_stack([x, y])
    from mi_probe.estimators.ksg import ksg_mi

    a = ksg_tc(z, copula=False, random_state=0).diagnostics["raw_value"]
    b = ksg_mi(x, y, random_state=0).diagnostics["raw_value"]
    assert a == pytest.approx(b, abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_invariant_under_per_coordinate_invertible_maps(seed: int) -> None:
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal(np.zeros(3), _random_cov(rng, 3), size=2000)
    mapped = np.column_stack([np.exp(z[:, 0]), -3.0 * z[:, 1] + 7.0, np.tanh(z[:, 2] / 4.0)])
    # rank-based KSG: the same normal scores (negated for a decreasing map), so the
    # same neighbours up to how the 1e-10 jitter breaks equal distances on the grid
    assert ksg_tc(mapped, random_state=0).value == pytest.approx(
        ksg_tc(z, random_state=0).value, abs=1e-3
    )
    # Gaussian TC: invariant under per-coordinate affine maps
    affine = z * np.array([2.0, -0.5, 10.0]) + np.array([1.0, 2.0, 3.0])
    assert gaussian_tc(affine).value == pytest.approx(gaussian_tc(z).value, abs=1e-9)
    # binning with quantile bins: monotone maps keep every bin
    b1 = binning_tc(z, n_bins=4, strategy="quantile").value
    b2 = binning_tc(
        np.column_stack([np.exp(z[:, 0]), z[:, 1], z[:, 2] ** 3]), n_bins=4, strategy="quantile"
    ).value
    assert b1 == pytest.approx(b2, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_binning_discrete_codes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, size=5000)
    b = rng.integers(0, 3, size=5000)
    indep = binning_tc(np.column_stack([a, b]))
    assert indep.value < 0.01  # plug-in bias (m - 1)/(2n) ~ 2e-4
    # c = a xor with noise: I(a; c) known: a bit through a BSC(0.1)
    flip = rng.uniform(size=5000) < 0.1
    c = np.where(flip, 1 - a, a)
    truth = np.log(2) + 0.1 * np.log(0.1) + 0.9 * np.log(0.9)
    assert binning_tc(np.column_stack([a, c])).value == pytest.approx(truth, abs=0.03)  # sd ~0.009


@pytest.mark.parametrize("seed", SEEDS)
def test_mss_against_closed_form(seed: int) -> None:
    # mu ~ N(0, S), q(z|x) = N(mu, v I): the aggregate posterior tends to N(0, S + v I)
    rng = np.random.default_rng(seed)
    cov = _random_cov(rng, 3) * 0.5
    mu = rng.multivariate_normal(np.zeros(3), cov, size=2000)
    logvar = np.zeros_like(mu)
    truth = _gaussian_tc_truth(cov + np.eye(3))
    assert abs(mss_tc(mu, logvar, random_state=seed).value - truth) < 0.05
    r = mss_tc(
        torch.tensor(mu), torch.tensor(logvar), batch_size=200, n_batches=50, random_state=seed
    )
    assert abs(r.value - truth) < 0.08
    assert r.estimator == "mss"


def test_mss_weights_sum_to_one() -> None:
    from mi_probe.analysis.total_correlation import _mss_log_weights

    w = np.exp(_mss_log_weights(16, 1000))
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert np.allclose(np.diag(w), 1e-3)


def test_entry_point_and_lazy_export() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((500, 3))
    r = mi_probe.total_correlation(torch.tensor(z), estimator="ksg", n_neighbors=5, random_state=0)
    assert r.estimator == "ksg" and r.unit == "nats" and r.params["n_neighbors"] == 5
    assert total_correlation(z).estimator == "gaussian"


def test_gaussian_drops_constant_columns() -> None:
    rng = np.random.default_rng(0)
    z = np.column_stack([rng.standard_normal(300), np.ones(300), rng.standard_normal(300)])
    r = gaussian_tc(z)
    assert r.diagnostics["n_constant"] == 1 and r.value < 0.05


def test_errors() -> None:
    z = np.random.default_rng(0).standard_normal((100, 3))
    with pytest.raises(ValueError, match="estimator must be one of"):
        total_correlation(z, estimator="kde")
    with pytest.raises(ValueError, match="takes no parameter n_bins"):
        total_correlation(z, estimator="ksg", n_bins=4)
    with pytest.raises(ValueError, match="z contains NaN"):
        total_correlation(np.full((10, 2), np.nan))
    with pytest.raises(ValueError, match="linearly dependent"):
        gaussian_tc(np.column_stack([z, z[:, 0] + z[:, 1]]))
    with pytest.raises(ValueError, match="regularization must be >= 0"):
        gaussian_tc(z, regularization=-1.0)
    with pytest.raises(ValueError, match="n_neighbors=200 needs more than 200 samples"):
        ksg_tc(z, n_neighbors=200)
    with pytest.raises(ValueError, match="metric must be one of"):
        ksg_tc(z, metric="cosine")
    with pytest.raises(ValueError, match="jitter must be >= 0"):
        ksg_tc(z, jitter=-1.0)
    with pytest.raises(ValueError, match="discrete must be one of"):
        binning_tc(z, discrete="yes")
    with pytest.raises(ValueError, match="n_bins must be >= 1"):
        binning_tc(z, n_bins=0)
    with pytest.raises(ValueError, match="mu and logvar must have the same shape"):
        mss_tc(z, z[:, :2])
    with pytest.raises(ValueError, match="batch_size must be <= 100"):
        mss_tc(z, z, batch_size=101)
    with pytest.raises(ValueError, match="dataset_size=20 must be >= batch_size=50"):
        mss_tc(z, z, batch_size=50, dataset_size=20)
    with pytest.raises(ValueError, match="n_batches must be >= 1"):
        mss_tc(z, z, batch_size=10, n_batches=0)
    with pytest.raises(ValueError, match="logvar contains inf"):
        mss_tc(z, np.full_like(z, np.inf))
