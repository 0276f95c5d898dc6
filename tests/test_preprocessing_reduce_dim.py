"""reduce_dim: the randomized SVD against the exact one, and its argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from mi_probe.preprocessing import reduce_dim


def _wide(seed: int, n: int = 520, d: int = 1200, rank: int = 6, dtype=np.float64):
    g = np.random.default_rng(seed)
    scales = np.geomspace(10.0, 2.0, rank)
    signal = (g.standard_normal((n, rank)) * scales) @ g.standard_normal((rank, d)) / np.sqrt(d)
    return (signal + 0.01 * g.standard_normal((n, d)) + 3.0).astype(dtype)


def _gram(z: np.ndarray) -> np.ndarray:
    return z @ z.T


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_randomized_equals_full_on_a_decaying_spectrum(seed: int, dtype) -> None:
    # components are defined up to sign: compare the Gram matrices of the coordinates
    x = _wide(seed, dtype=dtype)
    full = reduce_dim(x, 4, method="full")
    fast = reduce_dim(x, 4, method="randomized", random_state=seed)
    assert fast.shape == (520, 4) and fast.dtype == np.float64
    g_full = _gram(full)
    assert np.abs(_gram(fast) - g_full).max() < 1e-3 * np.abs(g_full).max()
    np.testing.assert_allclose(fast.mean(axis=0), 0.0, atol=1e-4 * np.abs(full).max())


def test_auto_picks_randomized_for_wide_input_and_is_seeded() -> None:
    x = _wide(3)
    a = reduce_dim(x, 3)  # min(n, d) = 520 > 500 and 4 * 3 < 520: randomized
    b = reduce_dim(x, 3, method="randomized", random_state=0)
    np.testing.assert_array_equal(a, b)


def test_reduce_dim_bad_arguments() -> None:
    x = _wide(0, n=50, d=8)
    with pytest.raises(ValueError, match="method must be one of"):
        reduce_dim(x, 2, method="exact")
    with pytest.raises(ValueError, match="n_iter must be >= 0"):
        reduce_dim(x, 2, n_iter=-1)
    with pytest.raises(ValueError, match="n_components must be <= 8"):
        reduce_dim(x, 9)
