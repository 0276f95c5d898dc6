"""Binning estimator: its documented regime, hashing of many dimensions, bad input.

Regime: binning measures the MI of the quantised variables. On a 2-D Gaussian with 20
equal-mass bins per axis at n=20000 it is within 0.03 nats of the continuous MI for
|rho| <= 0.8 (coarse bins lose information at high correlation, the plug-in adds about
(m_xy - m_x - m_y + 1) / (2n) ~ 0.01); it is not a consistent estimator at fixed bins.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mi_probe import entropy, estimate_mi
from mi_probe._validation import encode_rows
from mi_probe.estimators.binning import (
    BinningEstimator,
    binning_entropy,
    binning_mi,
    discretize,
    row_key,
    row_symbols,
    sorted_run_lengths,
)
from mi_probe.estimators.discrete import discrete_entropy, discrete_mi
from tests._helpers import gaussian_pair

SEEDS = [0, 1, 2, 3, 4]


# --- discretize ----------------------------------------------------------------------


def test_uniform_bins_span_each_columns_own_range() -> None:
    g = np.random.default_rng(0)
    x = np.column_stack([g.uniform(100, 300, 1000), g.uniform(-0.01, 0.01, 1000)])
    codes = discretize(x, n_bins=7)
    for j in range(2):
        assert codes[:, j].min() == 0 and codes[:, j].max() == 6
        assert len(np.unique(codes[:, j])) == 7
    # equal width: the bin of a value is floor((v - min) / width)
    assert discretize([0.0, 0.49, 0.51, 1.0], n_bins=2).ravel().tolist() == [0, 0, 1, 1]
    assert discretize(np.full(5, 3.0), n_bins=4).ravel().tolist() == [0] * 5


def test_quantile_bins_have_equal_mass() -> None:
    x = np.random.default_rng(1).standard_normal(10_000)
    counts = np.bincount(discretize(x, n_bins=8, strategy="quantile").ravel())
    assert counts.tolist() == [1250] * 8


def test_fixed_bins_are_anchored_at_zero() -> None:
    codes = discretize([-0.7, -0.2, 0.0, 0.3, 1.2, 2.6], strategy="fixed", bin_size=0.5)
    assert codes.ravel().tolist() == [-2, -1, 0, 0, 2, 5]
    # shifting by a whole bin shifts the codes by one: bins do not move with the data
    x = np.random.default_rng(2).uniform(-3, 3, 100)
    c0 = discretize(x, strategy="fixed", bin_size=0.25)
    c1 = discretize(x + 0.25, strategy="fixed", bin_size=0.25)
    assert np.array_equal(c1 - c0, np.ones_like(c0))


@pytest.mark.parametrize("seed", SEEDS)
def test_row_symbols_partition_equals_encode_rows(seed: int) -> None:
    g = np.random.default_rng(seed)
    c = g.integers(-40, 40, (3000, 50))
    c[1000:1500] = c[:500]  # repeated rows
    a, ka = row_symbols(c)
    b, kb = encode_rows(c)
    assert ka == kb == 2500
    assert len(set(zip(a.tolist(), b.tolist(), strict=True))) == ka  # a bijection between the two


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("d", [3, 50])  # 80**50 overflows int64: re-numbered on the way
def test_row_key_equal_iff_rows_equal(seed: int, d: int) -> None:
    g = np.random.default_rng(seed)
    c = g.integers(-40, 40, (2000, d))
    c[1000:1300] = c[:300]
    key, size = row_key(c)
    assert key.min() >= 0 and key.max() < size
    _, inv = np.unique(c, axis=0, return_inverse=True)
    assert len(set(zip(key.tolist(), inv.ravel().tolist(), strict=True))) == inv.max() + 1


def test_sorted_run_lengths() -> None:
    assert sorted_run_lengths(np.array([2, 2, 5, 7, 7, 7])).tolist() == [2, 1, 3]
    assert sorted_run_lengths(np.array([4])).tolist() == [1]
    assert sorted_run_lengths(np.array([], dtype=np.int64)).tolist() == []


# --- accuracy in the documented regime -------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rho", [0.3, 0.5, 0.8])
def test_gaussian_quantile_bins_within_tolerance(seed: int, rho: float) -> None:
    x, y, truth = gaussian_pair(20_000, 1, rho, seed)
    est = float(binning_mi(x, y, n_bins=20, strategy="quantile"))
    assert abs(est - truth) < 0.03


@pytest.mark.parametrize("seed", SEEDS)
def test_fine_bins_on_few_samples_saturate_at_entropy(seed: int) -> None:
    """Biased regime, stated honestly: when nearly every sample has its own cell,
    the estimate approaches H(bin(x)) <= log n, whatever the true MI."""
    x, y, truth = gaussian_pair(200, 1, 0.1, seed)
    r = binning_mi(x, y, n_bins=200, strategy="quantile")
    assert float(r) > 10 * truth
    assert float(r) <= np.log(200) + 1e-12


@pytest.mark.parametrize("seed", SEEDS)
def test_deterministic_layer_gives_binned_entropy(seed: int) -> None:
    """I(bin(T); X) = H(bin(T)) for T = f(X) on distinct inputs X (given as integer
    ids, which are used as labels and not binned)."""
    g = np.random.default_rng(seed)
    x_ids = np.arange(1000)
    t = np.tanh(g.standard_normal((1000, 5)) * 2)
    for kw in ({"n_bins": 10}, {"strategy": "fixed", "bin_size": 0.5}):
        mi = float(binning_mi(t, x_ids, **kw))
        assert mi == pytest.approx(float(binning_entropy(t, **kw)), abs=1e-12)


def test_joint_binning_of_many_dimensions() -> None:
    """50 dimensions x 30 bins: no n_bins**d array, no 32-dimension limit."""
    g = np.random.default_rng(0)
    x = g.standard_normal((2000, 50))
    labels = (x[:, 0] > 0).astype(np.int64)
    r = binning_mi(x, labels, n_bins=30)
    # all 2000 rows land in distinct cells, so the estimate is exactly H(labels)
    assert r.diagnostics["n_states_x"] == 2000
    assert float(r) == pytest.approx(float(discrete_entropy(labels)), abs=1e-12)
    # 40 dims of a 2-valued variable copied: I(bin(x); bin(x)) = H(bin(x))
    z = g.integers(0, 2, (3000, 40)).astype(float)
    assert float(binning_mi(z, z, n_bins=2)) == pytest.approx(
        float(binning_entropy(z, n_bins=2)), abs=1e-12
    )


# --- properties -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_symmetry(seed: int) -> None:
    x, y, _ = gaussian_pair(3000, 2, 0.6, seed)
    for strategy in ("uniform", "quantile"):
        a = float(binning_mi(x, y, n_bins=8, strategy=strategy))
        b = float(binning_mi(y, x, n_bins=8, strategy=strategy))
        assert a == pytest.approx(b, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_quantile_bins_invariant_to_monotone_maps(seed: int) -> None:
    x, y, _ = gaussian_pair(5000, 1, 0.7, seed)
    a = float(binning_mi(x, y, n_bins=12, strategy="quantile"))
    b = float(binning_mi(np.exp(x), y**3 - 2.0, n_bins=12, strategy="quantile"))
    assert a == pytest.approx(b, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_uniform_bins_invariant_to_scaling(seed: int) -> None:
    x, y, _ = gaussian_pair(5000, 1, 0.7, seed)
    a = float(binning_mi(x, y, n_bins=12))
    assert float(binning_mi(4.0 * x, y / 8.0, n_bins=12)) == pytest.approx(a, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_independence_near_zero_and_miller_madow(seed: int) -> None:
    g = np.random.default_rng(seed)
    x, y = g.standard_normal(20_000), g.standard_normal(20_000)
    plain = float(binning_mi(x, y, n_bins=10, strategy="quantile"))
    mm = binning_mi(x, y, n_bins=10, strategy="quantile", correction="miller-madow")
    assert plain < 0.006  # bias about 81 / (2 n) = 0.002
    assert abs(mm.diagnostics["raw_value"]) < abs(plain) or abs(mm.diagnostics["raw_value"]) < 1e-3


def test_integer_labels_are_not_binned_by_default() -> None:
    g = np.random.default_rng(0)
    idx = np.repeat(np.arange(4), 1000)
    y = np.array([0, 1, 2, 1000])[idx]
    x = idx + 0.01 * g.standard_normal(4000)
    r = binning_mi(x, y, n_bins=30)
    assert r.diagnostics["y_discrete"] is True
    assert float(r) == pytest.approx(np.log(4), abs=1e-12)
    xb = discretize(x, n_bins=30)
    assert float(r) == pytest.approx(float(discrete_mi(xb, y)), abs=1e-12)
    # binned as a continuous variable, 0, 1 and 2 share the first of 30 bins of y
    r2 = binning_mi(x, y, n_bins=30, y_discrete=False)
    assert r2.diagnostics["y_discrete"] is False
    h_merged = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    assert float(r2) == pytest.approx(h_merged, abs=1e-12)
    # torch integer labels and float activations
    r3 = binning_mi(torch.tensor(x, dtype=torch.float32), torch.tensor(y), n_bins=30)
    assert r3.diagnostics["y_discrete"] is True


def test_entry_points_and_class() -> None:
    x, y, _ = gaussian_pair(2000, 1, 0.5, 0)
    ref = float(binning_mi(x, y, n_bins=10, strategy="quantile"))
    est = BinningEstimator(n_bins=10, strategy="quantile")
    assert est.get_params()["n_bins"] == 10
    assert float(est.estimate(x, y)) == pytest.approx(ref)
    assert float(estimate_mi(x, y, estimator="binning", n_bins=10, strategy="quantile")) == (
        pytest.approx(ref)
    )
    h = entropy(x, estimator="binning", n_bins=4, strategy="quantile")
    assert float(h) == pytest.approx(np.log(4), abs=1e-12)


# --- bad input ----------------------------------------------------------------------------


def test_bad_input() -> None:
    x = np.random.default_rng(0).standard_normal(50)
    with pytest.raises(ValueError, match="n_bins must be >= 1"):
        binning_mi(x, x, n_bins=0)
    with pytest.raises(ValueError, match="n_bins must be an integer"):
        discretize(x, n_bins=2.5)
    with pytest.raises(ValueError, match="strategy must be one of"):
        binning_mi(x, x, strategy="kmeans")
    with pytest.raises(ValueError, match="bin_size is required with strategy='fixed'"):
        discretize(x, strategy="fixed")
    with pytest.raises(ValueError, match="bin_size is only used with strategy='fixed'"):
        binning_entropy(x, bin_size=0.5)
    with pytest.raises(ValueError, match="bin_size must be > 0"):
        binning_mi(x, x, strategy="fixed", bin_size=-0.5)
    with pytest.raises(ValueError, match="x contains NaN"):
        binning_mi(np.array([0.0, np.nan, 1.0]), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="y contains inf"):
        binning_mi(x[:3], np.array([0.0, np.inf, 1.0]))
    with pytest.raises(ValueError, match="same number of samples, got 50 and 49"):
        binning_mi(x, x[:49])
    with pytest.raises(ValueError, match="same number of samples, got 50 and 3"):
        binning_mi(x, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="y_discrete must be one of"):
        binning_mi(x, x, y_discrete="yes")
    with pytest.raises(ValueError, match="non-integer floats"):
        binning_mi(x, x, y_discrete=True)
    with pytest.raises(ValueError, match="correction must be one of"):
        binning_mi(x, x, correction="jackknife")
    with pytest.raises(ValueError, match="x is empty"):
        discretize(np.array([]))
    with pytest.raises(ValueError, match="3-D"):
        binning_entropy(np.zeros((3, 2, 2)))
