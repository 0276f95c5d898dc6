"""Ross (2014) continuous-discrete estimator: scikit-learn parity, truth, properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from sklearn.feature_selection import mutual_info_classif

from mi_probe import estimate_mi
from mi_probe.estimators.mixed import MixedEstimator, mixed_mi

SEEDS = [0, 1, 2, 3, 4]


def mixture_truth(mu: float, p: float = 0.5) -> float:
    """I(X; Y) for Y ~ Bernoulli(1-p), X | Y ~ N(mu * Y, 1): h(X) - h(N(0,1)), by quadrature."""

    def f(x: float) -> float:
        return p * stats.norm.pdf(x) + (1 - p) * stats.norm.pdf(x, mu, 1.0)

    h = integrate.quad(lambda x: -f(x) * np.log(f(x)), -12.0, mu + 12.0, limit=200)[0]
    return h - 0.5 * np.log(2 * np.pi * np.e)


def sample(n: int, mu: float, seed: int, p: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    y = (g.random(n) >= p).astype(np.int64)
    return mu * y + g.standard_normal(n), y


def test_truth_by_quadrature_limits() -> None:
    assert mixture_truth(0.0) == pytest.approx(0.0, abs=1e-8)
    assert mixture_truth(20.0) == pytest.approx(np.log(2), abs=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_matches_sklearn_mutual_info_classif(seed: int) -> None:
    g = np.random.default_rng(seed)
    y = g.integers(0, 3, 2000)
    y[:2] = [7, 9]  # two labels with a single sample: dropped by both
    x = 1.5 * y + g.standard_normal(2000)
    for k in (1, 3, 10):
        ours = float(mixed_mi(x, y, n_neighbors=k, jitter=0.0))
        ref = mutual_info_classif(
            x[:, None], y, discrete_features=False, n_neighbors=k, random_state=seed
        )[0]
        assert ours == pytest.approx(ref, abs=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mu", [1.0, 2.0, 4.0])
def test_two_class_gaussian_mixture_truth(seed: int, mu: float) -> None:
    truth = mixture_truth(mu)
    x, y = sample(4000, mu, seed)
    assert abs(float(mixed_mi(x, y, random_state=seed)) - truth) < 0.04
    # an extra independent dimension (multi-D path through the backends)
    noise = np.random.default_rng(100 + seed).standard_normal(4000)
    est = float(mixed_mi(np.column_stack([x, noise]), y, random_state=seed))
    assert abs(est - truth) < 0.05


@pytest.mark.parametrize("seed", SEEDS)
def test_unbalanced_classes(seed: int) -> None:
    truth = mixture_truth(2.0, p=0.8)
    x, y = sample(4000, 2.0, seed, p=0.8)
    assert abs(float(mixed_mi(x, y, random_state=seed)) - truth) < 0.04


@pytest.mark.parametrize("seed", SEEDS)
def test_backends_agree(seed: int) -> None:
    g = np.random.default_rng(seed)
    y = g.integers(0, 4, 800)
    x = np.column_stack([y + g.standard_normal(800), g.standard_normal((800, 2))])
    ref = float(mixed_mi(x, y, random_state=seed))
    for backend in ("numpy", "torch"):
        assert float(mixed_mi(x, y, backend=backend, random_state=seed)) == pytest.approx(
            ref, abs=1e-10
        )


@pytest.mark.parametrize("seed", SEEDS)
def test_properties(seed: int) -> None:
    x, y = sample(2000, 2.0, seed)
    a = float(mixed_mi(x, y, random_state=0))
    # scaling x and relabelling y change nothing
    assert float(mixed_mi(250.0 * x - 3.0, y, random_state=0)) == pytest.approx(a, abs=1e-9)
    assert float(mixed_mi(x, 5 - 3 * y, random_state=0)) == pytest.approx(a, abs=1e-12)
    # independent labels give about 0
    y_ind = np.random.default_rng(seed + 50).integers(0, 3, 2000)
    assert float(mixed_mi(x, y_ind, random_state=0)) < 0.02
    # same seed, same number
    assert float(mixed_mi(x, y, random_state=7)) == float(mixed_mi(x, y, random_state=7))


def test_single_sample_labels_are_dropped() -> None:
    x, y = sample(500, 2.0, 0)
    y = y.copy()
    y[:3] = [10, 11, 12]
    r = mixed_mi(x, y)
    assert r.diagnostics["n_dropped"] == 3 and r.diagnostics["n_used"] == 497
    assert r.n_samples == 500
    ref = mixed_mi(x[3:], y[3:], jitter=0.0)
    assert float(mixed_mi(x, y, jitter=0.0)) == pytest.approx(float(ref), abs=1e-12)


def test_ties_in_x_with_default_jitter() -> None:
    """Heavily repeated x values (quantised activations) stay finite."""
    g = np.random.default_rng(0)
    y = g.integers(0, 2, 3000)
    x = np.round(y + g.standard_normal(3000))  # only a handful of distinct values
    r = mixed_mi(x, y, random_state=0)
    assert np.isfinite(float(r)) and 0.0 < float(r) < np.log(2)


def test_inputs_class_and_entry_point() -> None:
    x, y = sample(600, 2.0, 3)
    ref = float(mixed_mi(x, y, random_state=1))
    r = mixed_mi(torch.tensor(x, dtype=torch.float64), torch.tensor(y), random_state=1)
    assert float(r) == pytest.approx(ref)
    est = MixedEstimator(n_neighbors=3, random_state=1)
    assert float(est.estimate(x, y)) == pytest.approx(ref)
    assert float(estimate_mi(x, y, estimator="mixed", random_state=1)) == pytest.approx(ref)
    assert est.estimate(x, y).estimator == "mixed"


def test_bad_input() -> None:
    x, y = sample(50, 1.0, 0)
    with pytest.raises(ValueError, match="non-integer floats"):
        mixed_mi(x, x)
    with pytest.raises(ValueError, match="n_neighbors must be >= 1"):
        mixed_mi(x, y, n_neighbors=0)
    with pytest.raises(ValueError, match="jitter must be >= 0"):
        mixed_mi(x, y, jitter=-1.0)
    with pytest.raises(ValueError, match="same number of samples, got 50 and 49"):
        mixed_mi(x, y[:49])
    with pytest.raises(ValueError, match="no label that occurs more than once"):
        mixed_mi(x, np.arange(50))
    with pytest.raises(ValueError, match="x contains NaN"):
        mixed_mi(np.where(x > 1, np.nan, x), y)
    with pytest.raises(ValueError, match="backend must be one of"):
        mixed_mi(x, y, backend="gpu")
    with pytest.raises(ValueError, match="3-D"):
        mixed_mi(np.zeros((50, 2, 2)), y)
