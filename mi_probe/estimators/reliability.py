"""Uncertainty and reliability checks that wrap any estimator.

* :func:`subsample_interval` -- a confidence interval from half-size subsamples (no
  duplicated rows, so it is safe for k-NN estimators, unlike the plain bootstrap).
* :func:`permutation_null` -- the level that independent data would give.
* :func:`stability_flags` -- does the estimate settle as n grows (n/4, n/2, n)?
* :func:`sample_flags` -- too few samples for the dimension, many tied rows.
* :func:`bias_statement` -- what an interval does not cover, in words and numbers.
* :func:`flags_for` -- the flags of any result as flat table columns
  (:data:`FLAG_COLUMNS`), for per-row reliability in information-plane or
  invariance tables.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import norm

from .._validation import check_int, tie_fraction

__all__ = [
    "subsample_interval",
    "permutation_null",
    "stability_flags",
    "sample_flags",
    "warn_flags",
    "bias_statement",
    "flags_for",
    "SERIOUS_FLAGS",
    "FLAG_COLUMNS",
]

EstimateFn = Callable[[np.ndarray, np.ndarray, int], float]

# Flags that also raise a RuntimeWarning.
SERIOUS_FLAGS = ("unstable_in_n", "few_samples_for_dim", "at_ceiling", "candidates_disagree")

#: Upper bound on ``n_resamples`` and ``n_permutations``. Each resample or permutation
#: is one full estimate, so 100 000 of them is already hours for a k-NN estimator at
#: n = 10 000; a permutation p-value cannot go below ``1 / (1 + n_permutations)``, so
#: 1e5 resolves p = 1e-5, finer than any test here needs. Far larger counts are typos
#: (``1e20`` failed inside numpy with "Maximum allowed dimension exceeded").
MAX_RESAMPLES = 100_000


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
    drift_exponent: float | None = 0.5,
    rng: np.random.Generator,
) -> tuple[tuple[float, float], dict[str, float]]:
    """Sampling interval for an estimate from ``n_resamples`` half-size subsamples,
    widened by its drift in n.

    For a root-n estimator the spread of half-sample estimates around the full one
    has variance ``sigma^2 (2/n - 1/n) = sigma^2 / n``: the variance of the full
    estimate. ``gap`` is the full estimate minus the mean half-sample estimate, a
    first-order measure of how far the estimator still moves with n (k-NN and plug-in
    estimators are biased low at high MI). The interval is
    ``value - z sd - |gap| - e max(-gap, 0)`` to ``value + z sd + |gap| + e max(gap, 0)``
    with ``e = 1 / (2^a - 1)``: on the side the estimate drifts it also covers the
    drift extrapolated to infinite n for a bias that falls as ``n^(-a)``
    (``a = drift_exponent``, 1/2 by default: ``e = 2.41``; ``None`` or 0 turns the
    extrapolation off). A bias that converges more slowly (k-NN estimators in many
    dimensions converge as ``n^(-1/d)`` or slower) is not covered: this is a sampling
    interval with a first-order bias allowance, not a guarantee; see
    :func:`bias_statement`.

    Returns
    -------
    (low, high) in nats, and a dict with ``sd``, ``bias_gap`` and
    ``extrapolated_bias`` (``e * gap``, nats: the remaining bias beyond n that the
    interval allows for, signed).
    """
    n_resamples = check_int(n_resamples, "n_resamples", low=2, high=MAX_RESAMPLES)
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
    e = 1.0 / (2.0**drift_exponent - 1.0) if drift_exponent else 0.0
    low = value - z * sd - abs(gap) - e * max(-gap, 0.0)
    high = value + z * sd + abs(gap) + e * max(gap, 0.0)
    return (low, high), {"sd": sd, "bias_gap": gap, "extrapolated_bias": e * gap}


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
    n_permutations = check_int(n_permutations, "n_permutations", low=1, high=MAX_RESAMPLES)
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
    noise_sd: float | None = None,
) -> dict[str, Any]:
    """Estimates at n/4 and n/2 next to the one at n; flag when they disagree.

    ``unstable_in_n`` is set when the spread of the three exceeds
    ``max(abs_tol, rel_tol * |value|, 3 * sqrt(3) * noise_sd)`` nats: the estimate has
    not converged in n, typically a k-NN estimator far below a large MI, or too few
    samples.

    Parameters
    ----------
    noise_sd : float, optional
        The standard deviation of the estimate at n (e.g. the ``sd`` of
        :func:`subsample_interval`). A root-n estimate on a nested n/4 subsample differs
        from the full one by ``sqrt(4 - 1) = sqrt(3)`` such sds, so spreads within three
        of those are sampling noise, not a trend in n, and are not flagged. Without it
        only the fixed tolerances apply (more false alarms below n ~ 1000).
    """
    n = x.shape[0]
    out: dict[str, Any] = {}
    vals = {}
    for frac, seed in zip((4, 2), _seeds(rng, 2), strict=True):
        m = n // frac
        if m < 20:
            continue
        idx = np.random.default_rng(seed).choice(n, size=m, replace=False)
        vals[f"n/{frac}"] = fn(x[idx], y[idx], seed)
    vals["n"] = value
    out["estimates_by_n"] = vals
    spread = max(vals.values()) - min(vals.values())
    tol = max(abs_tol, rel_tol * abs(value), 3.0 * np.sqrt(3.0) * (noise_sd or 0.0))
    out["stability_tolerance"] = float(tol)
    out["unstable_in_n"] = bool(len(vals) > 1 and spread > tol)
    return out


def sample_flags(x: np.ndarray, y: np.ndarray, *, continuous: bool = True) -> dict[str, Any]:
    """``few_samples_for_dim`` (n < 100 (d_x + d_y) for continuous data) and
    ``many_ties`` (over 5% of the rows of x or y repeat, for continuous data)."""
    n = x.shape[0]
    d = x.shape[1] + y.shape[1]
    ties = max(tie_fraction(x), tie_fraction(y))
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


def bias_statement(
    info: dict[str, Any], flags: dict[str, Any], *, lower_bounds: bool = True
) -> dict[str, Any]:
    """An honest statement of the bias that a sampling interval leaves out.

    Parameters
    ----------
    info : dict
        From :func:`subsample_interval` (``bias_gap``, ``extrapolated_bias``), or empty
        when no interval was computed.
    flags : dict
        Reliability flags (``unstable_in_n``, ``candidates_disagree``,
        ``estimates_by_n``), possibly empty.
    lower_bounds : bool, default True
        Whether the estimate is built from lower bounds (then the unknown part of the
        bias is expected to be downward: the truth above the estimate).

    Returns
    -------
    dict
        ``drift_half_to_full`` and ``extrapolated`` (nats, or ``None``), ``direction``
        (``"truth likely above"``, ``"truth likely below"`` or ``"unknown"``) and
        ``note``: a sentence for a user.
    """
    gap = info.get("bias_gap")
    ext = info.get("extrapolated_bias")
    if lower_bounds:
        direction = "truth likely above"
    elif gap is not None and abs(gap) > 0:
        direction = "truth likely above" if gap > 0 else "truth likely below"
    else:
        direction = "unknown"
    parts = [
        "The interval is a sampling interval widened by the drift between n/2 and n "
        "and that drift extrapolated as n^-1/2; a slower convergence (k-NN estimators "
        "in many dimensions) is not covered."
    ]
    if lower_bounds:
        parts.append(
            "Each candidate is a lower bound up to estimation noise, so the remaining "
            "bias is expected to be downward: the truth may lie above the interval."
        )
    if flags.get("unstable_in_n"):
        parts.append("The estimate still moves with n (unstable_in_n): treat it as a floor.")
    if flags.get("candidates_disagree"):
        parts.append(
            "The kept candidate rests on an estimated correction that no other candidate "
            "corroborates (candidates_disagree); the interval reaches down to the next one."
        )
    return {
        "drift_half_to_full": gap,
        "extrapolated": ext,
        "direction": direction,
        "note": " ".join(parts),
    }


FLAG_COLUMNS = (
    "unstable_in_n",
    "candidates_disagree",
    "few_samples_for_dim",
    "many_ties",
    "at_ceiling",
    "not_above_null",
    "interval_low",
    "interval_high",
    "null",
    "p_value",
    "warning",
)
"""The keys of :func:`flags_for`, in a fixed order (one table column each)."""


def flags_for(result: Any, x: Any = None, y: Any = None) -> dict[str, Any]:
    """Reliability columns for one table row, from any :class:`~mi_probe.result.MIResult`.

    Parameters
    ----------
    result : MIResult
        From any estimator; ``auto`` results carry every flag, others what they have
        (neural bounds their ``at_ceiling``; any result its ``interval``/``null`` when
        they were asked for).
    x, y : array-like, shape (n_samples, d), optional
        The data the estimate came from. When given and the result has no sample
        flags, ``few_samples_for_dim``, ``many_ties`` are computed from them
        (cheap: no re-estimation).

    Returns
    -------
    dict
        Keys :data:`FLAG_COLUMNS`: booleans (``None`` when not checked) for
        ``unstable_in_n``, ``candidates_disagree`` (``auto`` kept a candidate that
        rests on an estimated correction no other candidate corroborates),
        ``few_samples_for_dim``, ``many_ties``, ``at_ceiling``, ``not_above_null`` (the estimate does not exceed the permutation null);
        floats or ``None`` for ``interval_low``, ``interval_high``, ``null`` (nats)
        and ``p_value``; ``warning``: the serious flags that are set, comma-separated
        (``""`` when none).

    Examples
    --------
    >>> import numpy as np
    >>> from mi_probe.estimators.auto import auto_mi
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(500); y = x + rng.standard_normal(500)
    >>> row = flags_for(auto_mi(x, y, random_state=0))
    >>> row["unstable_in_n"], row["not_above_null"], row["warning"]
    (False, False, '')
    """
    diag = getattr(result, "diagnostics", None)
    if diag is None:
        raise ValueError(f"result must be an MIResult, got {type(result).__name__}")
    flags: dict[str, Any] = dict(diag.get("flags") or {})
    if "at_ceiling" in diag and "at_ceiling" not in flags:
        flags["at_ceiling"] = bool(diag["at_ceiling"])
    if x is not None and y is not None and "few_samples_for_dim" not in flags:
        from .._validation import check_xy

        xa, ya = check_xy(x, y, min_samples=1)
        flags.update(sample_flags(xa, ya))
    value = float(result)
    interval = result.interval
    null = result.null
    row: dict[str, Any] = {
        key: (bool(flags[key]) if key in flags else None)
        for key in (
            "unstable_in_n",
            "candidates_disagree",
            "few_samples_for_dim",
            "many_ties",
            "at_ceiling",
        )
    }
    row["not_above_null"] = None if null is None else bool(value <= null)
    row["interval_low"] = None if interval is None else float(interval[0])
    row["interval_high"] = None if interval is None else float(interval[1])
    row["null"] = None if null is None else float(null)
    row["p_value"] = float(diag["p_value"]) if "p_value" in diag else None
    row["warning"] = ", ".join(f for f in SERIOUS_FLAGS if row.get(f))
    return row
