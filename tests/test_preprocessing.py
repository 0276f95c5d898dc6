import numpy as np
import pytest
from scipy.special import ndtr

from mi_probe.estimators.ksg import ksg_mi
from mi_probe.preprocessing import copula_normalize, reduce_dim, standardize
from tests._helpers import gaussian_pair


def test_copula_scores_are_marginally_normal_and_rank_preserving():
    x = np.random.default_rng(0).exponential(size=(5000, 2))
    z = copula_normalize(x)
    assert np.allclose(z.mean(axis=0), 0.0, atol=1e-9)
    assert np.allclose(z.std(axis=0), 1.0, atol=0.01)
    assert np.array_equal(np.argsort(z[:, 0]), np.argsort(x[:, 0]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_copula_undoes_monotone_distortions_exactly(seed):
    x, y, _ = gaussian_pair(1500, 2, 0.6, seed)
    for distort in (lambda a: np.sign(a) * np.abs(a) ** 3, np.arcsinh, ndtr):
        assert np.allclose(copula_normalize(distort(x)), copula_normalize(x))
    # so KSG after the copula transform sees the same numbers (half-cube distortion)
    half_cube = lambda a: np.sign(a) * np.abs(a) ** 1.5  # noqa: E731
    a = ksg_mi(copula_normalize(half_cube(x)), copula_normalize(y), random_state=0)
    b = ksg_mi(copula_normalize(x), copula_normalize(y), random_state=0)
    assert float(a) == pytest.approx(float(b), abs=1e-9)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_copula_leaves_gaussian_mi_unchanged(seed):
    x, y, truth = gaussian_pair(3000, 2, 0.7, seed)
    est = float(ksg_mi(copula_normalize(x), copula_normalize(y), random_state=seed))
    assert abs(est - truth) < max(0.05, 0.1 * truth)


def test_standardize_and_reduce_dim():
    x = np.random.default_rng(1).normal(3.0, 5.0, size=(500, 4))
    s = standardize(x)
    assert np.allclose(s.mean(0), 0) and np.allclose(s.std(0), 1)
    r = reduce_dim(x, 2)
    assert r.shape == (500, 2)
    with pytest.raises(ValueError, match="n_components must be <= 4, got 5"):
        reduce_dim(x, 5)
    with pytest.raises(ValueError, match="x contains NaN"):
        copula_normalize(np.array([1.0, np.nan, 2.0]))
