"""``estimator="auto"``: choose estimator and preprocessing from the data, and say why.

The choice (recorded in ``diagnostics["choice"]`` with ``diagnostics["reason"]``):

* both variables discrete (integer-valued with few distinct rows): plug-in MI with the
  Miller-Madow correction;
* one discrete label column, the other continuous: Ross's mixed k-NN estimator on the
  copula-normalised continuous side;
* both continuous: both are copula-normalised (which undoes any per-coordinate monotone
  distortion and heavy marginal tails exactly, leaving MI unchanged), then three
  estimates are computed: the Gaussian copula estimate (exact for Gaussian dependence
  at any dimension), KSG (non-linear dependence, low dimension) and KSG between the
  radii |x| and |y| (dependence through a shared scale, as in Student-t data). Each is
  a lower bound up to estimation noise -- the Gaussian copula misses non-Gaussian
  dependence, KSG loses information in many dimensions, the radii are functions of the
  data -- so the largest is reported and all three are kept in the diagnostics.

Every auto result carries a subsampling interval, a permutation null and reliability
flags (see :mod:`mi_probe.estimators.reliability`).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._validation import check_int, check_random_state, check_xy
from ..preprocessing import copula_normalize
from ..result import MIResult
from . import reliability
from ._base import from_function

__all__ = ["auto_mi", "AutoEstimator", "is_discrete"]

# A column is treated as discrete when it holds integers with at most this many values
# (and fewer than a tenth of the samples).
_MAX_DISCRETE_VALUES = 64


def is_discrete(a: np.ndarray) -> bool:
    """Integer-valued with few distinct values per column."""
    if not np.all(a == np.round(a)):
        return False
    limit = min(_MAX_DISCRETE_VALUES, max(2, a.shape[0] // 10))
    return all(np.unique(col).size <= limit for col in a.T)


def _plan(xa: np.ndarray, ya: np.ndarray) -> tuple[str, Callable[..., float], np.ndarray, np.ndarray, str]:
    """(choice, fn(x, y, seed) -> raw float, x', y', reason)."""
    from .discrete import discrete_mi
    from .gaussian import gaussian_mi
    from .ksg import ksg_mi
    from .mixed import mixed_mi

    dx, dy = is_discrete(xa), is_discrete(ya)
    if dx and dy:
        def fn(a, b, seed):
            r = discrete_mi(a, b, correction="miller-madow")
            return float(r.diagnostics.get("raw_value", r.value))

        return "discrete", fn, xa, ya, "both variables are integer-valued with few values"
    if dx != dy:
        cont, lab = (ya, xa) if dx else (xa, ya)
        if lab.shape[1] == 1:
            xc = copula_normalize(cont)

            def fn(a, b, seed):
                r = mixed_mi(a, b, random_state=seed)
                return float(r.diagnostics.get("raw_value", r.value))

            return (
                "mixed+copula", fn, xc, lab,
                "one side is a discrete label column, the other continuous",
            )
    xc, yc = copula_normalize(xa), copula_normalize(ya)

    def fn(a, b, seed):
        return max(_continuous_candidates(a, b, seed).values())

    return (
        "max(gaussian,ksg,ksg_radial)+copula", fn, xc, yc,
        "continuous data: three lower bounds on normal scores, the largest kept",
    )


def _continuous_candidates(a: np.ndarray, b: np.ndarray, seed: int) -> dict[str, float]:
    """The three estimates that ``auto`` compares for continuous data (nats, raw).

    Each is a lower bound on I(a; b) up to estimation noise: the Gaussian copula
    estimate (exact for Gaussian dependence), KSG on the normal scores, and KSG on
    the radii ``(|a|, |b|)`` -- a function of each side, so it cannot exceed
    I(a; b) (data processing), and it captures dependence through a shared scale
    (elliptical, Student-t-like) that KSG misses in many dimensions.
    """
    from .gaussian import gaussian_mi
    from .ksg import ksg_mi

    out = {"gaussian_copula": float(gaussian_mi(a, b))}
    k = ksg_mi(a, b, random_state=seed)
    out["ksg_copula"] = float(k.diagnostics["raw_value"])
    if a.shape[1] > 1 or b.shape[1] > 1:
        r = ksg_mi(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1), random_state=seed)
        out["ksg_radial"] = float(r.diagnostics["raw_value"])
    return out


def auto_mi(
    x: Any,
    y: Any,
    *,
    interval: bool = True,
    null: bool = True,
    check_stability: bool = True,
    n_resamples: int = 10,
    n_permutations: int = 20,
    random_state: Any = None,
) -> MIResult:
    """Estimate I(x; y) in nats with an estimator chosen from the data.

    Parameters
    ----------
    x, y : array-like or tensor, shape (n_samples,) or (n_samples, d)
    interval : bool, default True
        Compute ``result.interval`` (95%, half-size subsampling, see
        :func:`~mi_probe.estimators.reliability.subsample_interval`).
    null : bool, default True
        Compute ``result.null`` (95% quantile of a permutation test) and a p-value.
    check_stability : bool, default True
        Re-estimate at n/4 and n/2 and flag ``unstable_in_n`` when they disagree.
    n_resamples, n_permutations : int
        Subsamples for the interval and shuffles for the null.
    random_state : None, int or numpy Generator

    Returns
    -------
    MIResult
        ``diagnostics`` has ``choice``, ``reason``, ``flags`` (dict of booleans and
        supporting numbers) and, for continuous data, both candidate estimates.

    Raises
    ------
    ValueError
        Bad input (see :func:`mi_probe._validation.check_xy`), fewer than 20 samples.

    Warns
    -----
    RuntimeWarning
        When a serious reliability flag is set (unstable in n, too few samples for the
        dimension).
    """
    n_resamples = check_int(n_resamples, "n_resamples", low=2)
    n_permutations = check_int(n_permutations, "n_permutations", low=1)
    xa, ya = check_xy(x, y, min_samples=20)
    rng = check_random_state(random_state)
    choice, fn, xp, yp, reason = _plan(xa, ya)
    seed = int(rng.integers(0, 2**31 - 1))
    raw = fn(xp, yp, seed)
    diag: dict[str, Any] = {"choice": choice, "reason": reason, "raw_value": raw}
    if choice.startswith("max("):
        candidates = _continuous_candidates(xp, yp, seed)
        diag["candidates"] = candidates
        diag["chosen"] = max(candidates, key=candidates.__getitem__)
    flags: dict[str, Any] = reliability.sample_flags(
        xa, ya, continuous=choice != "discrete"
    )
    lo_hi = None
    null_level = None
    if interval:
        lo_hi, info = reliability.subsample_interval(
            fn, xp, yp, raw, n_resamples=n_resamples, rng=rng
        )
        lo_hi = (max(lo_hi[0], 0.0), max(lo_hi[1], 0.0))
        diag.update(info)
    if null:
        null_level, info = reliability.permutation_null(
            fn, xp, yp, raw, n_permutations=n_permutations, rng=rng
        )
        diag.update(info)
    if check_stability:
        flags.update(reliability.stability_flags(fn, xp, yp, raw, rng=rng))
    diag["flags"] = flags
    reliability.warn_flags(flags, "auto")
    return MIResult(
        value=max(raw, 0.0),
        estimator="auto",
        n_samples=xa.shape[0],
        params=dict(interval=interval, null=null, check_stability=check_stability,
                    n_resamples=n_resamples, n_permutations=n_permutations,
                    random_state=random_state),
        diagnostics=diag,
        interval=lo_hi,
        null=null_level,
    )


AutoEstimator = from_function(
    auto_mi, "auto", doc="Automatic estimator choice; the class twin of :func:`auto_mi`.",
    cls_name="AutoEstimator",
)
