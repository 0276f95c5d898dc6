"""Plug-in entropy and mutual information of integer-coded (discrete) variables.

Multi-column variables are treated as one symbol per row: rows are hashed with
:func:`mi_probe._validation.encode_rows`, so a ``d``-column variable never needs a
``k**d`` table and there is no limit on ``d``.

References
----------
.. [1] G. A. Miller, "Note on the bias of information estimates", in Information
   Theory in Psychology, Free Press (1955) (the Miller-Madow correction).
.. [2] L. Paninski, "Estimation of entropy and mutual information", Neural Computation
   15, 1191-1253 (2003).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    check_choice,
    check_labels,
    check_random_state,
    check_same_samples,
    encode_rows,
)
from ..result import MIResult
from ._atoms import warn_constant
from ._base import from_function

__all__ = [
    "CORRECTIONS",
    "entropy_from_counts",
    "discrete_entropy",
    "discrete_mi",
    "joint_codes",
    "DiscreteEstimator",
]

CORRECTIONS = (None, "miller-madow")

# occupied joint cells above this fraction of n: diagnostics["undersampled"] is set
_UNDERSAMPLED = 0.2


def _check_correction(correction: Any) -> Any:
    return check_choice(correction, "correction", CORRECTIONS)


def entropy_from_counts(counts: Any, correction: str | None = None) -> float:
    """Plug-in entropy (nats) of the empirical distribution given by ``counts``.

    Parameters
    ----------
    counts : array-like of non-negative numbers, any shape
        Occupation counts of the cells (zeros are ignored). Flattened.
    correction : {None, "miller-madow"}
        ``"miller-madow"`` adds ``(m - 1) / (2 n)``, with ``m`` the number of occupied
        cells and ``n`` the total count, which removes the first-order (downward) bias
        of the plug-in estimate.

    Returns
    -------
    float
        ``-sum p log p`` with ``p = counts / n``, in nats (plus the correction).

    Raises
    ------
    ValueError
        Negative, non-finite or all-zero counts, or an unknown correction.

    Examples
    --------
    >>> round(entropy_from_counts([5, 5]), 6)  # log 2
    0.693147
    """
    _check_correction(correction)
    c = np.asarray(counts, dtype=np.float64).reshape(-1)
    if c.size == 0 or not np.all(np.isfinite(c)):
        raise ValueError("counts must be a non-empty array of finite numbers")
    if np.any(c < 0):
        raise ValueError("counts must be non-negative")
    c = c[c > 0]
    n = c.sum()
    if n <= 0:
        raise ValueError("counts must not all be zero")
    h = float(np.log(n) - np.dot(c, np.log(c)) / n)
    if correction == "miller-madow":
        h += (c.size - 1) / (2.0 * n)
    return h


def _symbols(a: np.ndarray) -> tuple[np.ndarray, int]:
    """One symbol per row, 0..k-1."""
    return encode_rows(a)


def joint_codes(cx: np.ndarray, kx: int, cy: np.ndarray, ky: int) -> tuple[np.ndarray, int]:
    """Symbols 0..k-1 of the pairs (cx_i, cy_i), given symbols 0..kx-1 and 0..ky-1."""
    if kx * ky <= max(4 * cx.size, 1 << 16):
        code = cx * ky + cy
        counts = np.bincount(code, minlength=kx * ky)
        occupied = counts > 0
        remap = np.cumsum(occupied) - 1
        return remap[code], int(occupied.sum())
    # kx * ky < n**2 always fits int64 for any realistic n
    _, inv = np.unique(cx * ky + cy, return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64)
    return inv, int(inv.max()) + 1


def _mi_from_symbols(
    cx: np.ndarray, kx: int, cy: np.ndarray, ky: int, correction: str | None
) -> tuple[float, dict[str, Any]]:
    """Plug-in I = H(x) + H(y) - H(x, y) from row symbols; returns (raw, diagnostics)."""
    cxy, kxy = joint_codes(cx, kx, cy, ky)
    hx = entropy_from_counts(np.bincount(cx, minlength=kx), correction)
    hy = entropy_from_counts(np.bincount(cy, minlength=ky), correction)
    hxy = entropy_from_counts(np.bincount(cxy, minlength=kxy), correction)
    raw = hx + hy - hxy
    n = max(int(cx.size), 1)
    diag = {
        "raw_value": raw,
        "h_x": hx,
        "h_y": hy,
        "h_xy": hxy,
        "n_states_x": kx,
        "n_states_y": ky,
        "n_states_xy": kxy,
        # first-order upward bias of the plug-in MI (what Miller-Madow removes), nats
        "bias_estimate": (kxy - kx - ky + 1) / (2.0 * n),
        # many occupied joint cells per sample: the plug-in MI tends to min(H(x), H(y))
        # whatever the dependence (n = 300 independent values in 30 x 30 bins: 1.0 nats)
        "undersampled": bool(kxy > _UNDERSAMPLED * n),
    }
    return raw, diag


def discrete_mi(
    x: Any,
    y: Any,
    *,
    correction: str | None = None,
    random_state: Any = None,
) -> MIResult:
    """Plug-in mutual information I(x; y) in nats of two integer-coded variables.

    Parameters
    ----------
    x : array-like or tensor of integers, shape (n_samples,) or (n_samples, d_x)
        Discrete codes (ints, bools, or floats holding whole numbers). A multi-column
        ``x`` is one variable whose symbols are its distinct rows.
    y : array-like or tensor of integers, shape (n_samples,) or (n_samples, d_y)
    correction : {None, "miller-madow"}
        Bias correction applied to each of H(x), H(y), H(x, y). Miller-Madow subtracts
        ``(m_xy - m_x - m_y + 1) / (2 n)`` from the plug-in MI (``m`` = occupied cells),
        which lowers its upward bias for independent or weakly dependent variables.
    random_state : None, int or numpy Generator
        Accepted for a uniform interface; the estimate is deterministic.

    Returns
    -------
    MIResult
        ``value`` clipped at 0 (Miller-Madow can go negative); ``diagnostics`` holds
        ``raw_value``, the three entropies, the numbers of occupied states,
        ``bias_estimate`` (``(m_xy - m_x - m_y + 1) / (2n)`` nats) and ``undersampled``
        (True when the occupied joint states exceed 20% of n: the estimate is then
        dominated by its upward bias). A constant ``x`` or ``y`` gives exactly 0 (the
        plug-in is exact there).

    Raises
    ------
    ValueError
        Non-integer floats, NaN/inf, non-numeric or complex dtype, more than two
        dimensions, empty input, mismatched lengths, or an unknown correction.

    Warns
    -----
    RuntimeWarning
        When ``x`` or ``y`` takes a single value.

    Notes
    -----
    ``I = H(x) + H(y) - H(x, y)`` from the contingency table of row symbols, built
    with ``np.bincount`` on combined codes (only occupied cells are ever stored).
    The plug-in estimate is biased upward by about ``(m_xy - m_x - m_y + 1)/(2n)``;
    it needs ``n`` well above the number of joint states. ``I(x; x) = H(x)`` exactly.

    References
    ----------
    Paninski, Neural Computation 15 (2003); Miller (1955).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0, 0, 1, 1]); y = np.array([1, 1, 0, 0])
    >>> round(float(discrete_mi(x, y)), 6)  # log 2
    0.693147
    """
    _check_correction(correction)
    check_random_state(random_state)
    xa = check_labels(x, "x", min_samples=2)
    ya = check_labels(y, "y", min_samples=2)
    check_same_samples(xa.shape[0], ya.shape[0], "x", "y")
    cx, kx = _symbols(xa)
    cy, ky = _symbols(ya)
    for name, k_states in (("x", kx), ("y", ky)):
        if k_states == 1:
            warn_constant(name)
            break
    raw, diag = _mi_from_symbols(cx, kx, cy, ky, correction)
    return MIResult(
        value=max(raw, 0.0),
        estimator="discrete",
        n_samples=xa.shape[0],
        params=dict(correction=correction, random_state=random_state),
        diagnostics=diag,
    )


def discrete_entropy(
    x: Any,
    *,
    correction: str | None = None,
    random_state: Any = None,
) -> MIResult:
    """Plug-in Shannon entropy H(x) in nats of an integer-coded variable.

    Parameters
    ----------
    x : array-like or tensor of integers, shape (n_samples,) or (n_samples, d)
        Discrete codes; the symbols of a multi-column ``x`` are its distinct rows.
    correction : {None, "miller-madow"}
        Add ``(m - 1) / (2 n)`` (``m`` occupied states) against the downward bias.
    random_state : None, int or numpy Generator
        Accepted for a uniform interface; the estimate is deterministic.

    Returns
    -------
    MIResult
        The entropy in nats (``estimator="discrete"``); ``diagnostics["n_states"]``.

    Raises
    ------
    ValueError
        Invalid codes (see :func:`discrete_mi`) or an unknown correction.

    Examples
    --------
    >>> round(float(discrete_entropy([0, 1, 2, 3])), 6)  # log 4
    1.386294
    """
    _check_correction(correction)
    check_random_state(random_state)
    xa = check_labels(x, "x", min_samples=2)
    cx, kx = _symbols(xa)
    h = entropy_from_counts(np.bincount(cx, minlength=kx), correction)
    return MIResult(
        value=h,
        estimator="discrete",
        n_samples=xa.shape[0],
        params=dict(correction=correction, random_state=random_state),
        diagnostics={"raw_value": h, "n_states": kx},
    )


DiscreteEstimator = from_function(
    discrete_mi,
    "discrete",
    doc="Plug-in MI of integer-coded variables; the class twin of :func:`discrete_mi`.",
    cls_name="DiscreteEstimator",
)
