"""Hard bounds on information estimates: clamp at a known ceiling, flag, warn.

Some ceilings are exact, not statistical: ``I(z; y) <= H(y)`` for discrete ``y``,
``I(X; T) <= ln n`` (more precisely ``H`` of the distinct inputs) for a finite input
set. An estimate above such a ceiling is impossible; :func:`apply_ceiling` clamps it,
keeps the unclamped number, and says so in ``diagnostics`` (and with a
``RuntimeWarning`` when the ceiling was exceeded, not merely reached).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._validation import encode_rows, is_tensor
from ..result import MIResult

__all__ = [
    "apply_ceiling",
    "apply_discrete_ceiling",
    "discrete_entropy",
    "plugin_entropy",
    "CEILING_FRACTION",
    "MAX_AUTO_CLASSES",
]

# float values with integer values and at most this many distinct rows count as labels
MAX_AUTO_CLASSES = 256

# An estimate at or above this fraction of its ceiling is flagged ``at_ceiling``: the
# data cannot tell the value from the ceiling (the information plane uses the same).
CEILING_FRACTION = 0.99


def plugin_entropy(codes: np.ndarray) -> float:
    """Plug-in (empirical) entropy in nats of integer symbols ``0..k-1``, shape (n,)."""
    counts = np.bincount(np.asarray(codes, dtype=np.int64).reshape(-1))
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


def apply_ceiling(
    result: MIResult,
    ceiling: float,
    name: str,
    *,
    fraction: float = CEILING_FRACTION,
    warn: bool = True,
    tol: float = 1e-9,
) -> MIResult:
    """Clamp ``result`` at a hard ceiling and flag it.

    Parameters
    ----------
    result : MIResult
        An estimate in nats.
    ceiling : float
        The hard upper bound in nats (e.g. ``H(y)`` of discrete labels, ``ln n``).
    name : str
        What the ceiling is, for the diagnostics and the warning (``"H(y)"``, ``"ln n"``).
    fraction : float, default 0.99
        ``at_ceiling`` is set when the (clamped) value reaches ``fraction * ceiling``.
    warn : bool, default True
        Emit a ``RuntimeWarning`` when the estimate exceeded the ceiling (it was
        impossible and has been clamped).
    tol : float, default 1e-9
        Excess in nats below which rounding is assumed and nothing is reported as
        exceeded (the value is still clamped).

    Returns
    -------
    MIResult
        A copy with ``value = min(value, ceiling)``, the interval clamped into
        ``[0, ceiling]``, and ``diagnostics`` entries ``ceiling``, ``ceiling_name``,
        ``exceeded_ceiling`` (bool), ``unclamped_value`` and ``at_ceiling`` (bool; an
        ``at_ceiling`` already set by the estimator is kept).

    Raises
    ------
    ValueError
        ``ceiling`` is negative or not finite, or ``fraction`` is not in (0, 1].
    """
    ceiling = float(ceiling)
    if not math.isfinite(ceiling) or ceiling < 0:
        raise ValueError(f"ceiling must be a finite number >= 0, got {ceiling}")
    if not 0.0 < float(fraction) <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    value = float(result.value)
    exceeded = value > ceiling + tol
    clamped = min(value, ceiling)
    at = bool(result.diagnostics.get("at_ceiling", False)) or (
        ceiling > 0 and clamped >= fraction * ceiling
    )
    if exceeded and warn:
        warnings.warn(
            f"{result.estimator} estimate {value:.4f} nats exceeds its hard ceiling "
            f"{name} = {ceiling:.4f} nats and was clamped to it (the raw number is in "
            "diagnostics['unclamped_value']); it is not a valid measurement there",
            RuntimeWarning,
            stacklevel=3,
        )
    changes: dict[str, Any] = {
        "value": clamped,
        "diagnostics": {
            "ceiling": ceiling,
            "ceiling_name": name,
            "exceeded_ceiling": bool(exceeded),
            "unclamped_value": value,
            "at_ceiling": at,
        },
    }
    if result.interval is not None:
        lo, hi = result.interval
        changes["interval"] = (min(max(lo, 0.0), ceiling), min(max(hi, 0.0), ceiling))
    return result.with_updates(**changes)


def _categorical_codes(a: Any) -> np.ndarray | None:
    """Symbols ``0..k-1`` of ``a``'s rows if ``a`` is categorical, else None.

    Categorical: an integer or bool dtype; one-hot float rows; or float rows with
    integer values and at most ``min(MAX_AUTO_CLASSES, n / 2)`` distinct rows.
    """
    arr = a.detach().cpu().numpy() if is_tensor(a) else np.asarray(a)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.size == 0 or arr.dtype.kind not in "biuf":
        return None
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            return None
        if np.max(np.abs(arr)) > 2.0**53:  # every float this large is an integer
            return None
        if arr.shape[1] > 1 and np.all((arr == 0) | (arr == 1)) and np.all(arr.sum(1) == 1):
            codes: np.ndarray = np.argmax(arr, axis=1).astype(np.int64)
            return codes
        sym, k = encode_rows(np.ascontiguousarray(arr, dtype=np.float64) + 0.0)
        return sym if k <= min(MAX_AUTO_CLASSES, max(2, arr.shape[0] // 2)) else None
    sym, _ = encode_rows(np.ascontiguousarray(arr))
    return sym


def discrete_entropy(a: Any) -> float | None:
    """Plug-in entropy in nats of ``a``'s rows when ``a`` is categorical, else None.

    Parameters
    ----------
    a : array-like or tensor, shape (n_samples,) or (n_samples, k)
        Integer labels, one-hot rows, or integer-valued floats with at most
        ``min(256, n / 2)`` distinct rows count as categorical.

    Returns
    -------
    float or None
        ``H(a)`` of the empirical distribution of its rows (nats), or None.
    """
    codes = _categorical_codes(a)
    return None if codes is None else plugin_entropy(codes)


def apply_discrete_ceiling(result: MIResult, x: Any, y: Any) -> MIResult:
    """Clamp an estimate of ``I(x; y)`` at ``min(H(x), H(y))`` over the categorical ones.

    ``I(x; y) <= H(y)`` for discrete ``y`` (and likewise for ``x``), whatever the
    estimator assumed. Nothing changes when neither is categorical (see
    :func:`discrete_entropy`); otherwise :func:`apply_ceiling` with a
    ``RuntimeWarning`` when the estimate was above the ceiling.

    Parameters
    ----------
    result : MIResult
        The estimate, in nats.
    x, y : array-like or tensor
        The two variables as passed to the estimator.

    Returns
    -------
    MIResult
    """
    best: tuple[float, str] | None = None
    for name, a in (("H(y)", y), ("H(x)", x)):
        h = discrete_entropy(a)
        if h is not None and (best is None or h < best[0]):
            best = (h, name)
    if best is None:
        return result
    return apply_ceiling(result, best[0], best[1])
