"""Small pmf-level helpers for the IB solvers: validation, entropies, mutual information.

Everything is in nats and uses the convention ``0 log 0 = 0``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import _to_numpy, check_labels, check_same_samples, encode_rows

__all__ = [
    "check_pmf",
    "joint_from_samples",
    "entropy_pmf",
    "mutual_information_pmf",
    "xlogx",
]

# Tolerance on the total mass of a pmf given by the user.
PMF_ATOL = 1e-6


def xlogx(p: np.ndarray) -> np.ndarray:
    """Elementwise ``p * log(p)`` with ``0 log 0 = 0``."""
    p = np.asarray(p, dtype=np.float64)
    out = np.zeros_like(p)
    pos = p > 0
    out[pos] = p[pos] * np.log(p[pos])
    return out


def entropy_pmf(p: np.ndarray) -> float:
    """Shannon entropy (nats) of a pmf of any shape (all entries together)."""
    return float(-xlogx(p).sum())


def mutual_information_pmf(pxy: np.ndarray) -> float:
    """I(X;Y) (nats) of a joint pmf matrix ``pxy[x, y]``."""
    pxy = np.asarray(pxy, dtype=np.float64)
    hx = entropy_pmf(pxy.sum(axis=1))
    hy = entropy_pmf(pxy.sum(axis=0))
    return max(hx + hy - entropy_pmf(pxy), 0.0)


def check_pmf(p: Any, name: str, *, ndim: int, atol: float = PMF_ATOL) -> np.ndarray:
    """A probability table: real, finite, ``ndim``-D, non-negative, summing to 1.

    Returns a float64 copy renormalised to sum to exactly 1.

    Raises
    ------
    ValueError
        Wrong number of dimensions, empty, non-numeric, NaN/inf, negative entries,
        or a total mass further than ``atol`` from 1.
    """
    arr = _to_numpy(p, name)
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} has a complex dtype ({arr.dtype}); expected real numbers")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} has dtype {arr.dtype}; expected a numeric array")
    if arr.ndim != ndim:
        shape = "(n_x, n_y) matrix" if ndim == 2 else "1-D vector"
        raise ValueError(f"{name} must be a {shape}, got {arr.ndim}-D with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    arr = np.array(arr, dtype=np.float64, copy=True)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains inf")
    if (arr < 0).any():
        raise ValueError(f"{name} has negative entries (min {arr.min():.3g}); a pmf is >= 0")
    total = float(arr.sum())
    if abs(total - 1.0) > atol:
        raise ValueError(
            f"{name} must sum to 1 (within {atol:g}), got {total:.6g}; "
            "normalise it first, or build it with joint_from_samples"
        )
    return arr / total


def joint_from_samples(
    x: Any, y: Any, *, return_labels: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical joint pmf ``p(x, y)`` of paired discrete samples.

    Parameters
    ----------
    x : array-like, shape (n_samples,) or (n_samples, d_x)
        Integer-coded symbols; each distinct row of a 2-D ``x`` is one symbol.
    y : array-like, shape (n_samples,) or (n_samples, d_y)
        Integer-coded symbols, paired with ``x``.
    return_labels : bool, default False
        Also return the distinct rows of ``x`` and ``y`` in the order of the pmf's
        rows and columns.

    Returns
    -------
    pxy : numpy.ndarray, shape (n_distinct_x, n_distinct_y)
        Counts divided by ``n_samples``; row ``i`` is the distinct value
        ``x_values[i]`` (sorted for 1-D ``x``), likewise the columns for ``y``.
    x_values, y_values : numpy.ndarray
        Only with ``return_labels=True``: the distinct rows, shape (n_distinct, d).

    Raises
    ------
    ValueError
        Non-integer, NaN or empty input, or ``x`` and ``y`` of different lengths.

    Examples
    --------
    >>> joint_from_samples([0, 0, 1, 1], [0, 1, 1, 1])
    array([[0.25, 0.25],
           [0.  , 0.5 ]])
    """
    xc = check_labels(x, "x")
    yc = check_labels(y, "y")
    check_same_samples(xc.shape[0], yc.shape[0], "x", "y")
    xs, nx = encode_rows(xc)
    ys, ny = encode_rows(yc)
    counts = np.zeros((nx, ny), dtype=np.float64)
    np.add.at(counts, (xs, ys), 1.0)
    pxy = counts / xc.shape[0]
    if not return_labels:
        return pxy
    x_values = np.zeros((nx, xc.shape[1]), dtype=np.int64)
    x_values[xs] = xc
    y_values = np.zeros((ny, yc.shape[1]), dtype=np.int64)
    y_values[ys] = yc
    return pxy, x_values, y_values
