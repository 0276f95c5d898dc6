"""Conditional mutual information I(x; y | z) for continuous, discrete and mixed data.

:func:`conditional_mi` looks at each of x, y, z (discrete: integer-valued with few
distinct values, the test ``estimator="auto"`` uses) and picks a rule:

=====================  ==============================  ====================================
x, y                   z                               rule
=====================  ==============================  ====================================
both discrete          discrete                        plug-in (``"plug-in"``)
both continuous        discrete                        KSG within each z class
one discrete           discrete                        Ross's mixed estimator within each
                                                       z class
any, one discrete      continuous                      Mesner & Shalizi (2020)
both continuous        continuous                      Frenzel & Pompe (KSG)
=====================  ==============================  ====================================

References
----------
.. [1] O. C. Mesner, C. R. Shalizi, "Conditional mutual information estimation for mixed,
   discrete and continuous data", IEEE Trans. Inf. Theory 67(1), 464-484 (2021).
.. [2] S. Frenzel, B. Pompe, "Partial mutual information for coupling analysis of
   multivariate time series", Phys. Rev. Lett. 99, 204101 (2007).
.. [3] B. C. Ross, "Mutual information between discrete and continuous data sets",
   PLoS ONE 9(2), e87357 (2014).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import digamma

from .._validation import (
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_random_state,
    check_xy,
    encode_rows,
    named_kwargs,
)
from ..backends import METRICS, pick
from ..result import MIResult
from ._atoms import is_constant, warn_constant
from .discrete import CORRECTIONS, entropy_from_counts, joint_codes
from .ksg import _to_numpy64, ksg_cmi, ksg_mi, prepare_continuous, zero_result
from .mixed import mixed_mi

__all__ = ["conditional_mi", "mesner_shalizi_cmi", "RULES"]

# Above this share of rows in dropped z classes the by-class rules warn. The estimate is
# sum_c p(c) I_c over the kept classes, renormalised: it misses the dropped rows' share
# of the sum, so it can be off by that share times the spread of the per-class values.
# At 5% that is at most 0.05 of the spread, about the k-NN rules' own error at n = 2000
# (about 0.02-0.03 nats on truths of 0.3-0.7, tests/estimators/test_peer_parity_truths.py).
_MAX_DROPPED = 0.05

RULES = ("plug-in", "ksg within z", "mixed within z", "mesner-shalizi", "frenzel-pompe")


def _is_discrete(a: np.ndarray) -> bool:
    from .auto import is_discrete

    return bool(is_discrete(a))


def _check_discrete(discrete: Any, arrays: dict[str, np.ndarray]) -> dict[str, bool]:
    names = tuple(arrays)
    if isinstance(discrete, str):
        check_choice(discrete, "discrete", ("auto",))
        return {name: _is_discrete(a) for name, a in arrays.items()}
    if (
        not isinstance(discrete, Sequence)
        or len(discrete) != 3
        or not all(isinstance(v, (bool, np.bool_)) for v in discrete)
    ):
        raise ValueError(
            f'discrete must be "auto" or three booleans for (x, y, z), got {discrete!r}'
        )
    flags = dict(zip(names, (bool(v) for v in discrete), strict=True))
    for name, flag in flags.items():
        a = arrays[name]
        if flag and not np.all(a == np.round(a)):
            raise ValueError(f"{name} is marked discrete but holds non-integer values")
    return flags


def _plug_in(xa: np.ndarray, ya: np.ndarray, za: np.ndarray, correction: Any) -> float:
    cx, kx = encode_rows(xa)
    cy, ky = encode_rows(ya)
    cz, kz = encode_rows(za)
    cxz, kxz = joint_codes(cx, kx, cz, kz)
    cyz, kyz = joint_codes(cy, ky, cz, kz)
    cxyz, kxyz = joint_codes(cxz, kxz, cy, ky)

    def h(codes: np.ndarray, k: int) -> float:
        return entropy_from_counts(np.bincount(codes, minlength=k), correction)

    return h(cxz, kxz) + h(cyz, kyz) - h(cz, kz) - h(cxyz, kxyz)


def mesner_shalizi_cmi(
    xs: np.ndarray,
    ys: np.ndarray,
    zs: np.ndarray,
    k: int,
    *,
    metric: str = "max",
    backend: str = "auto",
) -> tuple[float, str]:
    """Mesner & Shalizi's k-NN estimate of I(x; y | z) on prepared data (raw, nats).

    ``xs``, ``ys``, ``zs`` are 2-D float arrays, already scaled; discrete columns keep
    their ties. For each point: ``rho`` the distance to its k-th neighbour in the
    joint space; where ``rho = 0``, ``k~`` is the number of other points at distance 0,
    else ``k``; ``n_w`` the number of other points within ``rho`` (inclusive) in the
    subspace ``w``. The estimate is the mean of
    ``psi(k~) - psi(n_xz) - psi(n_yz) + psi(n_z)``. Counting the point itself in the
    ``n_w`` as well (``psi(n_w + 1)``) reads 0.00 instead of 0.34 nats on the XOR case
    with a continuous z (n = 3000): the subspace counts are as small as ``k`` there,
    and both k and the counts must be taken the same way.

    Returns the estimate and the backend's name.
    """
    n = xs.shape[0]
    joint = np.hstack([xs, ys, zs])
    be = pick(backend, joint)
    dist, _ = be.knn(joint, k, metric)
    rho = _to_numpy64(dist)[:, -1]
    k_i = np.full(n, float(k))
    zero = rho == 0
    if zero.any():
        at_zero = _to_numpy64(be.count_within(joint, np.zeros(n), metric, inclusive=True))
        k_i[zero] = at_zero[zero]

    def count(a: np.ndarray) -> np.ndarray:
        return _to_numpy64(be.count_within(a, rho, metric, inclusive=True))

    nxz = count(np.hstack([xs, zs]))
    nyz = count(np.hstack([ys, zs]))
    nz = count(zs)
    raw = float(np.mean(digamma(k_i) - digamma(nxz) - digamma(nyz) + digamma(nz)))
    return raw, be.name


@named_kwargs
def conditional_mi(
    x: Any,
    y: Any,
    z: Any,
    *,
    n_neighbors: int = 3,
    discrete: str | Sequence[bool] = "auto",
    correction: str | None = None,
    metric: str = "max",
    standardize: bool = True,
    jitter: float = 1e-10,
    interval: bool = False,
    n_resamples: int = 10,
    backend: str = "auto",
    random_state: Any = None,
) -> MIResult:
    """Conditional mutual information I(x; y | z) in nats, with the rule chosen by the data.

    Parameters
    ----------
    x, y, z : array-like or tensor, each (n_samples,) or (n_samples, d)
        Paired samples. A multi-column variable is one joint variable.
    n_neighbors : int, default 3
        k of the k-NN rules (within each z class for the by-class rules).
    discrete : "auto" or three booleans
        Which of (x, y, z) are discrete. ``"auto"``: integer-valued with at most
        ``min(64, n/10)`` distinct values per column, as ``estimator="auto"`` decides.
    correction : {None, "miller-madow"}
        Bias correction of the plug-in entropies (all-discrete rule only).
    metric : {"max", "l2"}
        Norm of the k-NN rules (Mesner-Shalizi and Frenzel-Pompe; the by-class rules
        use the max-norm).
    standardize : bool, default True
        Scale each column to unit variance first (the information is unchanged).
    jitter : float, default 1e-10
        Seeded noise, relative to each column's standard deviation, added to the
        continuous variables only.
    interval : bool, default False
        Add ``result.interval``: 95%, from ``n_resamples`` half-size subsamples, as
        :func:`mi_probe.estimate_mi` does.
    n_resamples : int, default 10
        Subsamples for the interval.
    backend : str, default "auto"
        Where the neighbour searches run (see :mod:`mi_probe.backends`).
    random_state : None, int or numpy Generator
        Seed for the jitter and the subsamples.

    Returns
    -------
    MIResult
        ``estimator="conditional_mi"``, ``value`` clipped at 0; ``diagnostics`` has
        ``rule`` (one of :data:`RULES`), ``reason``, ``discrete`` (the flag per variable)
        and ``raw_value``; the by-class rules add ``per_class`` (value and count of each z
        class), ``n_dropped`` (rows of z classes with too few samples for k-NN) and
        ``dropped_many`` (True when ``n_dropped`` exceeds 5% of n).

    Raises
    ------
    ValueError
        Bad input (NaN, inf, shape, length mismatch), an unknown option, a variable
        marked discrete that holds non-integer values, or ``n_neighbors`` not below
        the number of samples.

    Warns
    -----
    RuntimeWarning
        When ``x`` or ``y`` is constant (the result is exactly 0) or ``z`` is constant
        (the result is I(x; y)), and when ``dropped_many`` is set (the estimate covers
        only the kept z classes).

    Notes
    -----
    With a discrete z, ``I(x; y | z) = sum_c p(c) I(x; y | z = c)`` is estimated class by
    class; classes with ``n_neighbors + 1`` or fewer samples (and, for the mixed rule,
    classes where every label occurs once) are dropped and the weights of the others
    renormalised. Dropping more than 5% of the rows warns: the estimate then misses a
    share of the sum that can be larger than the estimator's error (with z of 3^5
    classes at n = 500, about 80% of the rows are dropped and 0.337 nats read 0.18-0.24).
    Mesner & Shalizi's rule is KSG's with ties: where a point's k-th neighbour is at
    distance 0 (discrete coordinates that coincide) its ``k`` becomes the number of points
    at distance 0, and counts are inclusive.

    Accuracy (n = 2000, 15 seeds, ``tests/estimators/test_peer_parity_truths.py``):
    within about 0.02 nats on average of the truth with ``d_z`` up to 3 for Gaussian
    chains, partial correlations, XOR triples and mixed triples. With ``d_z = 5`` the
    k-NN rules drift: a partial correlation of 0.6 (0.223 nats) reads 0.19
    (Frenzel-Pompe, low), two noisy copies of z (0 nats) read +0.03, and a bit seen
    through a Gaussian channel given z (0.337 nats) reads 0.25 (Mesner-Shalizi, low).

    References
    ----------
    Mesner & Shalizi, IEEE Trans. Inf. Theory 67 (2021); Frenzel & Pompe, PRL 99
    (2007); Ross, PLoS ONE 9 (2014).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(0, 2, 2000); y = rng.integers(0, 2, 2000); z = x ^ y
    >>> round(float(conditional_mi(x, y, z)), 2)  # ln 2, while I(x; y) = 0
    0.69
    """
    k = check_int(n_neighbors, "n_neighbors", low=1)
    check_choice(correction, "correction", CORRECTIONS)
    check_choice(metric, "metric", METRICS)
    jitter = check_positive(jitter, "jitter", allow_zero=True)
    n_resamples = check_int(n_resamples, "n_resamples", low=2)
    interval = check_bool(interval, "interval")
    xa, ya = check_xy(x, y, min_samples=1)
    _, za = check_xy(x, z, names=("x", "z"), min_samples=1)
    n = xa.shape[0]
    if n <= k:
        raise ValueError(f"n_neighbors={k} needs more than {k} samples, got {n}")
    rng = check_random_state(random_state)
    flags = _check_discrete(discrete, {"x": xa, "y": ya, "z": za})
    params = dict(
        n_neighbors=k,
        discrete=discrete,
        correction=correction,
        metric=metric,
        standardize=standardize,
        jitter=jitter,
        interval=interval,
        n_resamples=n_resamples,
        backend=backend,
        random_state=random_state,
    )
    for name, a in (("x", xa), ("y", ya)):
        if is_constant(a):
            warn_constant(name, "the conditional mutual information")
            result = zero_result("conditional_mi", n, params, name)
            return result.with_updates(diagnostics={"rule": "constant", "discrete": flags})
    if is_constant(za):
        warnings.warn(
            "z takes only a single value (it is constant); I(x; y | z) = I(x; y)",
            RuntimeWarning,
            stacklevel=2,
        )
        flags["z"] = True
    seed = int(rng.integers(0, 2**31 - 1))

    def estimate(
        a: np.ndarray, b: np.ndarray, c: np.ndarray, s: int
    ) -> tuple[float, dict[str, Any]]:
        return _estimate(a, b, c, s, k, flags, correction, metric, standardize, jitter, backend)

    raw, diag = estimate(xa, ya, za, seed)
    if "n_dropped" in diag:
        n_drop = int(diag["n_dropped"])
        diag["dropped_many"] = n_drop > _MAX_DROPPED * n
        if diag["dropped_many"]:
            c_drop = sum(1 for c in diag["per_class"] if c["value"] is None)
            warnings.warn(
                f"{n_drop} of {n} rows ({n_drop / n:.1%}), in {c_drop} of "
                f"{len(diag['per_class'])} z classes, were dropped: their classes have "
                f"too few samples for n_neighbors={k} (or, with a discrete x or y, every "
                "label occurs once), so the estimate covers only the other rows' z "
                "classes; merge z classes, lower n_neighbors or pass more samples",
                RuntimeWarning,
                stacklevel=2,
            )
    result = MIResult(
        value=max(raw, 0.0),
        estimator="conditional_mi",
        n_samples=n,
        params=params,
        backend=diag.pop("backend", None),
        diagnostics={"raw_value": raw, "discrete": flags, **diag},
    )
    if interval:
        from . import reliability

        dy = ya.shape[1]

        def fn(a: np.ndarray, bc: np.ndarray, s: int) -> float:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return estimate(a, bc[:, :dy], bc[:, dy:], s)[0]

        lo_hi, info = reliability.subsample_interval(
            fn, xa, np.hstack([ya, za]), raw, n_resamples=n_resamples, rng=rng
        )
        result = result.with_updates(
            interval=(max(lo_hi[0], 0.0), max(lo_hi[1], 0.0)), diagnostics=info
        )
    return result


def _estimate(
    xa: np.ndarray,
    ya: np.ndarray,
    za: np.ndarray,
    seed: int,
    k: int,
    flags: dict[str, bool],
    correction: Any,
    metric: str,
    standardize: bool,
    jitter: float,
    backend: str,
) -> tuple[float, dict[str, Any]]:
    """(raw estimate, diagnostics with rule, reason, backend) for one data set."""
    dx, dy, dz = flags["x"], flags["y"], flags["z"]
    if dx and dy and dz:
        raw = _plug_in(xa, ya, za, correction)
        return raw, {"rule": "plug-in", "reason": "x, y and z are all discrete"}
    if dz:
        return _by_class(xa, ya, za, seed, k, dx, dy, standardize, jitter, backend)
    if dx or dy:
        rng = np.random.default_rng(seed)
        prepared = [
            prepare_continuous(a, standardize=standardize, jitter=0.0 if flag else jitter, rng=rng)[
                0
            ]
            for a, flag in ((xa, dx), (ya, dy), (za, dz))
        ]
        raw, be_name = mesner_shalizi_cmi(
            prepared[0], prepared[1], prepared[2], k, metric=metric, backend=backend
        )
        which = " and ".join(n for n, f in (("x", dx), ("y", dy)) if f)
        return raw, {
            "rule": "mesner-shalizi",
            "reason": f"{which} discrete, z continuous",
            "backend": be_name,
        }
    r = ksg_cmi(
        xa,
        ya,
        za,
        n_neighbors=k,
        metric=metric,
        standardize=standardize,
        jitter=jitter,
        backend=backend,
        random_state=seed,
    )
    return float(r.diagnostics["raw_value"]), {
        "rule": "frenzel-pompe",
        "reason": "x, y and z are all continuous",
        "backend": r.backend,
    }


def _by_class(
    xa: np.ndarray,
    ya: np.ndarray,
    za: np.ndarray,
    seed: int,
    k: int,
    dx: bool,
    dy: bool,
    standardize: bool,
    jitter: float,
    backend: str,
) -> tuple[float, dict[str, Any]]:
    """sum_c p(c) I(x; y | z = c) with KSG (both continuous) or Ross (one discrete)."""
    cz, kz = encode_rows(za)
    counts = np.bincount(cz, minlength=kz)
    rule = "mixed within z" if (dx or dy) else "ksg within z"
    per_class: list[dict[str, Any]] = []
    total = 0.0
    used = 0
    be_name = None
    for c in range(kz):
        mask = cz == c
        n_c = int(counts[c])
        if n_c <= k + 1:
            per_class.append({"n": n_c, "value": None})
            continue
        a, b = xa[mask], ya[mask]
        with warnings.catch_warnings():
            # a variable constant within a class carries no information there: exact 0
            warnings.simplefilter("ignore", RuntimeWarning)
            if dx or dy:
                cont, lab = (b, a) if dx else (a, b)
                try:
                    r = mixed_mi(
                        cont,
                        lab,
                        n_neighbors=k,
                        standardize=standardize,
                        jitter=jitter,
                        backend=backend,
                        random_state=seed + c,
                    )
                    v = float(r.diagnostics["raw_value"])
                except ValueError:  # every label of this class occurs once
                    per_class.append({"n": n_c, "value": None})
                    continue
            else:
                r = ksg_mi(
                    a,
                    b,
                    n_neighbors=k,
                    standardize=standardize,
                    jitter=jitter,
                    backend=backend,
                    random_state=seed + c,
                )
                v = float(r.diagnostics["raw_value"])
        be_name = r.backend or be_name
        per_class.append({"n": n_c, "value": v})
        total += n_c * v
        used += n_c
    n = xa.shape[0]
    if used == 0:
        raise ValueError(
            f"z has no class with more than n_neighbors + 1 = {k + 1} samples; "
            "lower n_neighbors or pass discrete with z marked continuous"
        )
    which = "x" if dx else "y"
    reason = "z discrete, " + (
        f"{which} discrete and the other continuous" if (dx or dy) else "x and y continuous"
    )
    return total / used, {
        "rule": rule,
        "reason": reason,
        "per_class": per_class,
        "n_dropped": n - used,
        "backend": be_name,
    }
