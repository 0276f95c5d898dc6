"""Uncertainty and reliability checks that wrap any estimator.

* :func:`subsample_interval` -- a confidence interval from half-size subsamples (no
  duplicated rows, so it is safe for k-NN estimators, unlike the plain bootstrap).
* :func:`permutation_null` -- the level that independent data would give.
* :func:`stability_flags` -- does the estimate settle as n grows (n/4, n/2, n)?
* :func:`sample_flags` -- too few samples for the dimension, many tied rows.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
from scipy.stats import norm

__all__ = [
    "subsample_interval",
    "permutation_null",
    "stability_flags",
    "sample_flags",
    "warn_flags",
    "SERIOUS_FLAGS",
]

EstimateFn = Callable[[np.ndarray, np.ndarray, int], float]

# Flags that also raise a RuntimeWarning.
SERIOUS_FLAGS = ("unstable_in_n", "few_samples_for_dim", "at_ceiling")


def _seeds(rng: np.random.Generator, k: int) -> list[int]:
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=k)]


def subsample_interval(
    fn: EstimateFn,
    x: np.ndarray,
    y: np.ndarray,
    value: float,
    *,
    n_resamples: int = 10,
    confidence: float = 0.95,
    rng: np.random.Generator,
) -> tuple[tuple[float, float], dict[str, float]]:
    """Interval for an estimate from ``n_resamples`` half-size subsamples.

    For a root-n estimator the spread of half-sample estimates around the full one
    has variance ``sigma^2 (2/n - 1/n) = sigma^2 / n``: the variance of the full
    estimate. The interval is ``value +- (z * sd + |bias|)`` where ``bias`` is the
    gap between the full estimate and the mean half-sample estimate, a first-order
    measure of how far the estimator still moves with n (k-NN and plug-in estimators
    are biased low at high MI); it widens the interval rather than shifting it.

    Returns
    -------
    (low, high) in nats, and a dict with ``sd``, ``bias_gap``.
    """
    n = x.shape[0]
    m = n // 2
    vals = []
    for seed in _seeds(rng, n_resamples):
        idx = np.random.default_rng(seed).choice(n, size=m, replace=False)
        vals.append(fn(x[idx], y[idx], seed))
    arr = np.asarray(vals)
    sd = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    gap = float(value - arr.mean())
    z = float(norm.ppf(0.5 + confidence / 2.0))
    half = z * sd + abs(gap)
    return (value - half, value + half), {"sd": sd, "bias_gap": gap}


def permutation_null(
    fn: EstimateFn,
    x: np.ndarray,
    y: np.ndarray,
    value: float,
    *,
    n_permutations: int = 20,
    quantile: float = 0.95,
    rng: np.random.Generator,
) -> tuple[float, dict[str, float]]:
    """The ``quantile`` of estimates on data with y's rows shuffled (x, y independent).

    Returns
    -------
    null : float
        The level independent data reaches (nats); an estimate below it is not
        distinguishable from zero dependence.
    info : dict
        ``null_mean`` and ``p_value = (1 + #{null >= value}) / (1 + n_permutations)``.
    """
    vals = []
    for seed in _seeds(rng, n_permutations):
        perm = np.random.default_rng(seed).permutation(x.shape[0])
        vals.append(fn(x, y[perm], seed))
    arr = np.asarray(vals)
    p = (1.0 + float(np.sum(arr >= value))) / (1.0 + arr.size)
    return float(np.quantile(arr, quantile)), {"null_mean": float(arr.mean()), "p_value": p}


def stability_flags(
    fn: EstimateFn,
    x: np.ndarray,
    y: np.ndarray,
    value: float,
    *,
    rng: np.random.Generator,
    abs_tol: float = 0.05,
    rel_tol: float = 0.10,
) -> dict[str, Any]:
    """Estimates at n/4 and n/2 next to the one at n; flag when they disagree.

    ``unstable_in_n`` is set when the spread of the three exceeds
    ``max(abs_tol, rel_tol * |value|)`` nats: the estimate has not converged in n,
    typically a k-NN estimator far below a large MI, or too few samples.
    """
    n = x.shape[0]
    out: dict[str, Any] = {}
    vals = {}
    for frac, seed in zip((4, 2), _seeds(rng, 2)):
        m = n // frac
        if m < 20:
            continue
        idx = np.random.default_rng(seed).choice(n, size=m, replace=False)
        vals[f"n/{frac}"] = fn(x[idx], y[idx], seed)
    vals["n"] = value
    out["estimates_by_n"] = vals
    spread = max(vals.values()) - min(vals.values())
    out["unstable_in_n"] = bool(len(vals) > 1 and spread > max(abs_tol, rel_tol * abs(value)))
    return out


def _tie_fraction(a: np.ndarray) -> float:
    a = np.ascontiguousarray(a)
    view = a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1])))
    return 1.0 - np.unique(view.reshape(-1)).size / a.shape[0]


def sample_flags(x: np.ndarray, y: np.ndarray, *, continuous: bool = True) -> dict[str, Any]:
    """``few_samples_for_dim`` (n < 100 (d_x + d_y) for continuous data) and
    ``many_ties`` (over 5% of the rows of x or y repeat, for continuous data)."""
    n = x.shape[0]
    d = x.shape[1] + y.shape[1]
    ties = max(_tie_fraction(x), _tie_fraction(y))
    return {
        "few_samples_for_dim": bool(continuous and n < 100 * d),
        "many_ties": bool(continuous and ties > 0.05),
        "tie_fraction": ties,
    }


def warn_flags(flags: dict[str, Any], estimator: str, stacklevel: int = 3) -> None:
    """One RuntimeWarning listing the serious flags that are set."""
    bad = [f for f in SERIOUS_FLAGS if flags.get(f)]
    if bad:
        warnings.warn(
            f"{estimator} estimate may be unreliable: {', '.join(bad)} "
            "(see result.diagnostics['flags'])",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
