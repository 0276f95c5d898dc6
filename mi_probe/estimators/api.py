"""The two entry points for scripts: ``estimate_mi`` and ``entropy``."""

from __future__ import annotations

import inspect
from typing import Any

from ..result import MIResult
from ._base import MIEstimator
from ._registry import ENTROPY_ESTIMATORS, get_entropy_function, get_estimator

__all__ = ["estimate_mi", "entropy"]


def estimate_mi(
    x: Any,
    y: Any,
    estimator: str | MIEstimator = "auto",
    *,
    interval: bool | None = None,
    null: bool | None = None,
    **params: Any,
) -> MIResult:
    """Estimate the mutual information I(x; y) in nats.

    Parameters
    ----------
    x, y : array-like or torch.Tensor, shape (n_samples,) or (n_samples, n_features)
        Paired samples.
    estimator : str or MIEstimator, default "auto"
        A registry name or an instance. ``"auto"`` (the default) chooses from the data
        and reports an interval, a permutation null and reliability flags (see
        :func:`mi_probe.estimators.auto.auto_mi`). Others: ``"ksg"``, ``"mixed"``,
        ``"binning"``, ``"discrete"``, ``"kde"``, ``"gaussian"``, ``"usable"`` (usable
        information of ``y`` from ``x`` by cross-fitted probes, see
        :func:`mi_probe.estimators.usable.usable_information`), and the neural bounds
        ``"mine"``, ``"nwj"``, ``"infonce"``, ``"smile"``, ``"js"``, ``"ba"``, ``"club"``.
    interval : bool, optional
        Add ``result.interval``, a 95% interval from half-size subsamples. Default: on
        for ``"auto"``, off otherwise. ``"usable"`` computes its own interval and
        permutation null (both on by default; ``null=False`` sets
        ``n_permutations=0``).
    null : bool, optional
        Add ``result.null``, the 95% level of a permutation test (and
        ``diagnostics["p_value"]``). Default: on for ``"auto"``, off otherwise.
    **params
        Parameters of the named estimator (``n_neighbors=5``, ``random_state=0``...).

    Returns
    -------
    MIResult
        ``float(result)`` is the estimate in nats; ``result.to_bits()`` in bits.

    Raises
    ------
    ValueError
        Unknown estimator or parameter, or bad input (see each estimator).

    Examples
    --------
    >>> import numpy as np, mi_probe
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000); y = x + rng.standard_normal(2000)
    >>> r = mi_probe.estimate_mi(x, y, "ksg", random_state=0)  # truth 0.347
    >>> round(float(r), 1)
    0.3
    """
    from .._validation import check_bool

    interval = None if interval is None else check_bool(interval, "interval")
    null = None if null is None else check_bool(null, "null")
    if estimator == "auto":
        if "check_stability" in params:
            params["check_stability"] = check_bool(params["check_stability"], "check_stability")
        for key, value in (("interval", interval), ("null", null)):
            if value is not None:
                params[key] = value
        return get_estimator(estimator, **params).estimate(x, y)
    if estimator == "usable":  # its own per-sample interval and permutation null
        if interval is not None:
            params["interval"] = interval
        if null is False:
            params["n_permutations"] = 0
        return get_estimator(estimator, **params).estimate(x, y)
    est = get_estimator(estimator, **params)
    result = est.estimate(x, y)
    if interval or null:
        result = _add_uncertainty(est, x, y, result, interval=bool(interval), null=bool(null))
    return result


def _add_uncertainty(
    est: MIEstimator, x: Any, y: Any, result: MIResult, *, interval: bool, null: bool
) -> MIResult:
    """Subsampling interval and permutation null for any estimator."""
    from .._validation import check_min_samples, check_random_state, check_xy
    from . import reliability

    xa, ya = check_xy(x, y, min_samples=1)
    asked = " and ".join(f"{k}=True" for k, on in (("interval", interval), ("null", null)) if on)
    check_min_samples(xa.shape[0], 20, "x", f"{asked} needs at least 20 (subsamples, permutations)")
    params = est.get_params()
    rng = check_random_state(params.get("random_state"))

    def fn(a: Any, b: Any, seed: int) -> float:
        clone = type(est)(**params)
        if "random_state" in params:
            clone.random_state = seed  # type: ignore[attr-defined]
        r = clone.estimate(a, b)
        return float(r.diagnostics.get("raw_value", r.value))

    raw = float(result.diagnostics.get("raw_value", result.value))
    changes: dict[str, Any] = {}
    diag: dict[str, Any] = {}
    if interval:
        lo_hi, info = reliability.subsample_interval(fn, xa, ya, raw, rng=rng)
        # mutual information is non-negative: so is the interval
        changes["interval"] = (max(lo_hi[0], 0.0), max(lo_hi[1], 0.0))
        diag.update(info)
    if null:
        level, info = reliability.permutation_null(fn, xa, ya, raw, rng=rng)
        changes["null"] = level
        diag.update(info)
    return result.with_updates(diagnostics=diag, **changes)


def entropy(x: Any, estimator: str = "kl", **params: Any) -> MIResult:
    """Estimate the (differential or discrete) entropy H(x) in nats.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n_samples,) or (n_samples, n_features)
    estimator : str
        ``"kl"`` (Kozachenko-Leonenko; alias ``"ksg"``), ``"binning"``,
        ``"discrete"``, ``"kde"`` or ``"gaussian"``.
    **params
        Parameters of that entropy estimator.

    Returns
    -------
    MIResult
        The entropy in nats (differential entropy may be negative).

    Raises
    ------
    ValueError
        Unknown estimator or parameter, or bad input.
    """
    fn = get_entropy_function(estimator)
    valid = [p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"entropy estimator {estimator!r} takes no parameter {', '.join(unknown)}; "
            f"valid parameters: {', '.join(valid)}"
        )
    return fn(x, **params)


ENTROPY_NAMES = tuple(ENTROPY_ESTIMATORS)
