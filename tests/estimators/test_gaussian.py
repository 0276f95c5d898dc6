"""Gaussian (linear) estimator: exact on Gaussians, affine invariance, singular input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mi_probe import entropy, estimate_mi
from mi_probe.estimators.gaussian import GaussianEstimator, gaussian_entropy, gaussian_mi
from tests._helpers import gaussian_pair

SEEDS = [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("d", "rho"), [(1, 0.3), (1, 0.9), (3, 0.6), (5, 0.5)])
def test_exact_on_gaussians(seed: int, d: int, rho: float) -> None:
    x, y, truth = gaussian_pair(20_000, d, rho, seed)
    r = gaussian_mi(x, y)
    assert abs(float(r) - truth) < 0.02
    # canonical correlations recover rho
    assert np.allclose(r.diagnostics["correlation"], rho, atol=0.03)


@pytest.mark.parametrize("seed", SEEDS)
def test_dense_covariance_closed_form(seed: int) -> None:
    g = np.random.default_rng(seed)
    a = g.standard_normal((5, 5))
    cov = a @ a.T + 0.5 * np.eye(5)
    truth = 0.5 * (
        np.linalg.slogdet(cov[:2, :2])[1]
        + np.linalg.slogdet(cov[2:, 2:])[1]
        - np.linalg.slogdet(cov)[1]
    )
    z = g.multivariate_normal(np.zeros(5), cov, 20_000)
    assert abs(float(gaussian_mi(z[:, :2], z[:, 2:])) - truth) < 0.02


@pytest.mark.parametrize("seed", SEEDS)
def test_invariant_to_affine_maps(seed: int) -> None:
    g = np.random.default_rng(seed)
    x, y, _ = gaussian_pair(3000, 3, 0.5, seed)
    a = float(gaussian_mi(x, y))
    ax, ay = g.standard_normal((3, 3)), g.standard_normal((3, 3))
    b = float(gaussian_mi(x @ ax + 7.0, y @ ay - 3.0))
    assert b == pytest.approx(a, abs=1e-9)
    assert float(gaussian_mi(1e4 * x, 1e-3 * y)) == pytest.approx(a, abs=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_symmetry_and_independence(seed: int) -> None:
    x, y, _ = gaussian_pair(5000, 2, 0.4, seed)
    assert float(gaussian_mi(x, y)) == pytest.approx(float(gaussian_mi(y, x)), abs=1e-10)
    g = np.random.default_rng(seed)
    u, v = g.standard_normal((5000, 3)), g.standard_normal((5000, 2))
    assert float(gaussian_mi(u, v)) < 0.005  # bias about d_x d_y / (2n) = 6e-4


@pytest.mark.parametrize("seed", SEEDS)
def test_entropy_closed_form(seed: int) -> None:
    g = np.random.default_rng(seed)
    a = g.standard_normal((3, 3))
    cov = a @ a.T + np.eye(3)
    z = g.multivariate_normal(np.ones(3), cov, 20_000)
    truth = 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]
    assert abs(float(gaussian_entropy(z)) - truth) < 0.03
    assert float(entropy(z, estimator="gaussian")) == pytest.approx(float(gaussian_entropy(z)))


def test_regularization_handles_constant_and_collinear_columns() -> None:
    g = np.random.default_rng(0)
    x, y, truth = gaussian_pair(20_000, 1, 0.8, 0)
    xc = np.column_stack([x, np.ones(len(x))])  # constant column: carries nothing
    r = gaussian_mi(xc, y, regularization=1e-8)
    assert abs(float(r) - truth) < 0.02
    xd = np.column_stack([x, 2 * x])  # collinear
    r2 = gaussian_mi(xd, y + 1e-3 * g.standard_normal(y.shape), regularization=1e-6)
    assert np.isfinite(float(r2))
    assert float(gaussian_entropy(xc, regularization=1e-8)) < float(gaussian_entropy(x)) + 1e-9


def test_torch_input_class_and_entry_point() -> None:
    x, y, _ = gaussian_pair(2000, 2, 0.5, 1)
    ref = float(gaussian_mi(x, y))
    assert float(gaussian_mi(torch.tensor(x), torch.tensor(y))) == pytest.approx(ref)
    est = GaussianEstimator(regularization=0.0)
    assert float(est.estimate(x, y)) == pytest.approx(ref)
    assert float(estimate_mi(x, y, estimator="gaussian")) == pytest.approx(ref)
    assert est.estimate(x, y).estimator == "gaussian"


def test_bad_input() -> None:
    x, y, _ = gaussian_pair(100, 1, 0.5, 0)
    with pytest.raises(ValueError, match="x column 1 is constant"):
        gaussian_mi(np.column_stack([x, np.ones(100)]), y)
    with pytest.raises(ValueError, match="y column 0 is constant"):
        gaussian_mi(x, np.ones(100))
    with pytest.raises(ValueError, match="x column 0 is constant"):
        gaussian_entropy(np.ones((10, 2)))
    with pytest.raises(ValueError, match="covariance of x is singular"):
        gaussian_mi(np.column_stack([x, 2 * x]), y)
    with pytest.raises(ValueError, match=r"covariance of the joint \(x, y\) is singular"):
        gaussian_mi(x, 3 * x + 1)
    with pytest.raises(ValueError, match="covariance of x is singular"):
        gaussian_entropy(np.random.default_rng(0).standard_normal((3, 5)))
    with pytest.raises(ValueError, match="regularization must be >= 0"):
        gaussian_mi(x, y, regularization=-1.0)
    with pytest.raises(ValueError, match="x contains NaN"):
        gaussian_mi(np.array([1.0, np.nan, 2.0, 3.0]), np.arange(4.0))
    with pytest.raises(ValueError, match="same number of samples, got 100 and 99"):
        gaussian_mi(x, y[:99])
    with pytest.raises(ValueError, match="x has 2 samples"):
        gaussian_mi(x[:2], y[:2])
    with pytest.raises(ValueError, match="3-D"):
        gaussian_entropy(np.zeros((4, 2, 2)))
