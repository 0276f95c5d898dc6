"""Plug-in discrete entropy and MI: closed forms, Miller-Madow, properties, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mi_probe import entropy, estimate_mi
from mi_probe.estimators.discrete import (
    DiscreteEstimator,
    discrete_entropy,
    discrete_mi,
    entropy_from_counts,
)

SEEDS = [0, 1, 2, 3, 4]


def h_b(p: float) -> float:
    return float(-p * np.log(p) - (1 - p) * np.log(1 - p))


def bsc(n: int, p: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Binary symmetric channel with a uniform input: I = log 2 - H_b(p)."""
    g = np.random.default_rng(seed)
    x = g.integers(0, 2, n)
    flip = g.random(n) < p
    return x, np.where(flip, 1 - x, x)


# --- closed forms ----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_symmetric_channel(seed: int) -> None:
    x, y = bsc(100_000, 0.1, seed)
    truth = np.log(2) - h_b(0.1)
    # sd of the plug-in estimate ~ 1e-3 nats at n=1e5; bias (1/(2n)) negligible
    assert abs(float(discrete_mi(x, y)) - truth) < 0.006


def test_entropy_from_counts_closed_forms() -> None:
    assert entropy_from_counts([3, 3, 3]) == pytest.approx(np.log(3), abs=1e-12)
    assert entropy_from_counts([[1, 0], [0, 1]]) == pytest.approx(np.log(2), abs=1e-12)
    assert entropy_from_counts([7]) == 0.0
    # Miller-Madow: + (m - 1) / (2 n)
    assert entropy_from_counts([2, 2, 4], "miller-madow") == pytest.approx(
        entropy_from_counts([2, 2, 4]) + 2 / 16, abs=1e-12
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_entropy_uniform_large_n(seed: int) -> None:
    x = np.random.default_rng(seed).integers(0, 8, 50_000)
    assert float(discrete_entropy(x)) == pytest.approx(np.log(8), abs=2e-3)


def test_miller_madow_lowers_bias() -> None:
    """Averaged over many small samples, Miller-Madow is closer to the truth."""
    truth_h = np.log(20)
    truth_i = np.log(2) - h_b(0.2)
    err_h = {None: [], "miller-madow": []}
    err_i = {None: [], "miller-madow": []}
    for seed in range(200):
        g = np.random.default_rng(seed)
        xs = g.integers(0, 20, 60)
        x, y = bsc(60, 0.2, 1000 + seed)
        for c in err_h:
            err_h[c].append(float(discrete_entropy(xs, correction=c)) - truth_h)
            err_i[c].append(discrete_mi(x, y, correction=c).diagnostics["raw_value"] - truth_i)
    assert abs(np.mean(err_h["miller-madow"])) < 0.5 * abs(np.mean(err_h[None]))
    assert abs(np.mean(err_i["miller-madow"])) < abs(np.mean(err_i[None]))
    assert np.mean(err_h[None]) < 0  # plug-in entropy is biased low


@pytest.mark.parametrize("seed", SEEDS)
def test_mi_of_x_with_itself_is_entropy(seed: int) -> None:
    x = np.random.default_rng(seed).integers(-3, 5, 1000)
    assert float(discrete_mi(x, x)) == pytest.approx(float(discrete_entropy(x)), abs=1e-12)


def test_multi_column_rows_are_one_variable() -> None:
    """A 2-column x with 4 equiprobable rows has H = log 4; I(x; x[:, 0]) = log 2."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 50)
    assert float(discrete_entropy(x)) == pytest.approx(np.log(4), abs=1e-12)
    assert float(discrete_mi(x, x[:, 0])) == pytest.approx(np.log(2), abs=1e-12)


def test_many_columns_and_large_codes() -> None:
    """60 binary columns (2**60 cells) and huge code values: rows are hashed."""
    g = np.random.default_rng(0)
    x = g.integers(0, 2, (500, 60))
    r = discrete_entropy(x)
    assert float(r) == pytest.approx(np.log(500), abs=1e-9)  # all rows distinct
    big = g.integers(0, 10**15, 300)
    assert float(discrete_mi(big, big)) == pytest.approx(np.log(300), abs=1e-9)


# --- properties -------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_symmetry_and_relabelling(seed: int) -> None:
    g = np.random.default_rng(seed)
    x = g.integers(0, 5, 3000)
    y = (x + g.integers(0, 3, 3000)) % 7
    a = float(discrete_mi(x, y))
    assert float(discrete_mi(y, x)) == pytest.approx(a, abs=1e-12)
    perm = g.permutation(100)
    assert float(discrete_mi(perm[x] * 3 - 50, y)) == pytest.approx(a, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_independent_is_near_zero(seed: int) -> None:
    g = np.random.default_rng(seed)
    x, y = g.integers(0, 4, 20_000), g.integers(0, 4, 20_000)
    assert float(discrete_mi(x, y)) < 0.002  # bias 9 / (2n) = 2.3e-4
    assert float(discrete_mi(x, y, correction="miller-madow")) < 0.001


def test_inputs_torch_bool_float_and_class() -> None:
    x = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    ref = float(discrete_mi(x, y))
    assert float(discrete_mi(torch.tensor(x), torch.tensor(y))) == pytest.approx(ref)
    assert float(discrete_mi(x.astype(bool), y.astype(float))) == pytest.approx(ref)
    est = DiscreteEstimator(correction="miller-madow")
    assert est.get_params() == {"correction": "miller-madow", "random_state": None}
    r = est.estimate(x, y)
    assert r.estimator == "discrete" and r.n_samples == 8
    assert float(estimate_mi(x, y, estimator="discrete")) == pytest.approx(ref)
    assert float(entropy(x, estimator="discrete")) == pytest.approx(np.log(2))


def test_value_clipped_raw_kept() -> None:
    g = np.random.default_rng(3)
    x, y = g.integers(0, 3, 30), g.integers(0, 3, 30)
    r = discrete_mi(x, y, correction="miller-madow")
    assert r.value == max(r.diagnostics["raw_value"], 0.0)
    assert r.value >= 0


# --- bad input ---------------------------------------------------------------------


def test_bad_input() -> None:
    x = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="non-integer floats"):
        discrete_mi(np.array([0.5, 1.0, 0.0, 1.0]), x)
    with pytest.raises(ValueError, match="y contains NaN"):
        discrete_mi(x, np.array([0, np.nan, 1, 1]))
    with pytest.raises(ValueError, match="same number of samples, got 4 and 3"):
        discrete_mi(x, x[:3])
    with pytest.raises(ValueError, match="x is empty"):
        discrete_entropy(np.array([], dtype=int))
    with pytest.raises(ValueError, match="3-D"):
        discrete_mi(np.zeros((2, 2, 2), dtype=int), x)
    with pytest.raises(ValueError, match="expected a numeric array"):
        discrete_mi(np.array(["a", "b", "a", "b"]), x)
    with pytest.raises(ValueError, match="correction must be one of"):
        discrete_mi(x, x, correction="chao-shen")
    with pytest.raises(ValueError, match="correction must be one of"):
        discrete_entropy(x, correction="mm")
    with pytest.raises(ValueError, match="random_state must be"):
        discrete_mi(x, x, random_state="seed")


def test_entropy_from_counts_bad_input() -> None:
    with pytest.raises(ValueError, match="counts must be non-negative"):
        entropy_from_counts([3, -1])
    with pytest.raises(ValueError, match="counts must not all be zero"):
        entropy_from_counts([0, 0])
    with pytest.raises(ValueError, match="non-empty array of finite numbers"):
        entropy_from_counts([1.0, np.inf])
    with pytest.raises(ValueError, match="non-empty array of finite numbers"):
        entropy_from_counts([])
    with pytest.raises(ValueError, match="correction must be one of"):
        entropy_from_counts([1, 2], correction="bogus")
