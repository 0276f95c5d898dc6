"""k-nearest-neighbour estimators: KSG mutual information, Kozachenko-Leonenko
entropy and Frenzel-Pompe conditional mutual information.

References
----------
.. [1] A. Kraskov, H. Stoegbauer, P. Grassberger, "Estimating mutual information",
   Phys. Rev. E 69, 066138 (2004).
.. [2] L. F. Kozachenko, N. N. Leonenko, "Sample estimate of the entropy of a random
   vector", Probl. Peredachi Inf. 23 (1987).
.. [3] S. Frenzel, B. Pompe, "Partial mutual information for coupling analysis of
   multivariate time series", Phys. Rev. Lett. 99, 204101 (2007).
.. [4] W. Gao, S. Kannan, S. Oh, P. Viswanath, "Estimating mutual information for
   discrete-continuous mixtures", NeurIPS 2017 (the rule for tied points).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from .._validation import (
    check_array,
    check_choice,
    check_int,
    check_positive,
    check_random_state,
    check_xy,
    is_tensor,
    named_kwargs,
)
from ..backends import METRICS, pick
from ..result import MIResult
from ._atoms import describe_atoms, is_constant, warn_constant
from ._base import from_function
from ._ksg_device import ksg_device_applies, ksg_mi_device

__all__ = [
    "ksg_mi",
    "ksg_cmi",
    "kl_entropy",
    "KSGEstimator",
    "prepare_continuous",
    "choose_tie_rule",
    "constant_argument",
    "zero_result",
    "log_ball_ratio",
]


def _to_numpy64(a: Any) -> np.ndarray:
    if is_tensor(a):
        out: np.ndarray = a.detach().cpu().double().numpy()
        return out
    return np.asarray(a, dtype=np.float64)


def prepare_continuous(
    a: np.ndarray,
    *,
    standardize: bool,
    jitter: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Standardise each column (if asked) and add seeded Gaussian jitter.

    Returns the prepared data and the per-column scale that was divided out (ones if
    not standardised); entropies need the scale back, MI does not.
    """
    from .._validation import check_bool, standardize_columns

    standardize = check_bool(standardize, "standardize")
    a = np.array(a, dtype=np.float64, copy=True)
    scale = np.ones(a.shape[1])
    if standardize:
        # scale-safe: np.std over/underflows for columns near 1e154 or 1e-160
        a, _, log_std = standardize_columns(a)
        scale = np.where(np.isfinite(log_std), np.exp(log_std), 1.0)
        if not np.all(np.isfinite(scale) & (scale > 0)):
            raise ValueError(
                "the input's standard deviation is not representable in float64 "
                "(values beyond about 1e308 or below 1e-308); rescale the data"
            )
    if jitter > 0:
        _, _, log_col = standardize_columns(a)
        col = np.where(np.isfinite(log_col), np.exp(np.minimum(log_col, 700.0)), 1.0)
        a = a + jitter * col * rng.standard_normal(a.shape)
    return a, scale


def _check_k(n_neighbors: Any, n: int, name: str = "x") -> int:
    k = check_int(n_neighbors, "n_neighbors", low=1)
    if n <= k:
        raise ValueError(f"n_neighbors={k} needs more than {k} samples, got {n} in {name}")
    return k


def _common_checks(metric: str, jitter: Any) -> float:
    check_choice(metric, "metric", METRICS)
    return check_positive(jitter, "jitter", allow_zero=True)


def ksg_mi(
    x: Any,
    y: Any,
    *,
    n_neighbors: int = 3,
    algorithm: int = 1,
    metric: str = "max",
    standardize: bool = True,
    jitter: float = 1e-10,
    ties: str = "auto",
    backend: str = "auto",
    random_state: Any = None,
) -> MIResult:
    """Kraskov-Stoegbauer-Grassberger estimate of I(x; y) in nats.

    Parameters
    ----------
    x : array-like or tensor, shape (n_samples,) or (n_samples, d_x)
    y : array-like or tensor, shape (n_samples,) or (n_samples, d_y)
    n_neighbors : int, default 3
        k, the neighbour order (3 as in scikit-learn and NPEET). Larger k: less
        variance, more bias.
    algorithm : {1, 2}
        KSG's first estimator (strict counts inside the joint k-NN radius) or second
        (inclusive counts inside the per-marginal extent of the k neighbours).
    metric : {"max", "l2"}
        Norm in the joint space. KSG is defined with the max-norm.
    standardize : bool, default True
        Scale each column to zero mean and unit variance first (MI is unchanged; the
        neighbour search becomes scale-free).
    jitter : float, default 1e-10
        Standard deviation (relative to each column's) of seeded Gaussian noise added
        to break ties between repeated values.
    ties : {"auto", "jitter", "gao"}
        How repeated rows are handled. ``"jitter"`` always adds the jitter;
        ``"gao"`` uses the rule of Gao et al. (2017) for discrete-continuous mixtures
        (points at distance zero are counted as neighbours), which returns H(x) for
        I(x; x) of discrete x; ``"auto"`` looks at each variable (how many distinct
        values, what share of the rows sits on repeated values) and uses the Gao rule
        only when both are discrete (at least 95% of rows on two or more repeated
        values), else the jitter: a continuous variable with atoms (censored data, a
        ReLU unit's zeros) is jittered. The choice and why are in
        ``diagnostics["ties"]``, ``["tie_reason"]`` and ``["atoms"]``.
    backend : {"auto", "native", "kdtree", "numpy", "torch", "keops"}
        Where the neighbour searches run (see :mod:`mi_probe.backends`).
    random_state : None, int or numpy Generator
        Seed for the jitter; a seed gives the same number.

    Returns
    -------
    MIResult
        ``value`` clipped at 0; ``diagnostics["raw_value"]`` holds the unclipped
        estimate, ``diagnostics["ties"]`` the tie rule used. A constant ``x`` or ``y``
        gives exactly 0 (``diagnostics["constant"]`` names it).

    Warns
    -----
    RuntimeWarning
        When ``x`` or ``y`` takes a single value (the estimate is then exactly 0).

    Raises
    ------
    ValueError
        Bad input (NaN, inf, shape, dtype, length mismatch), ``n_neighbors`` not
        below the number of samples, or an unknown option.

    Notes
    -----
    Algorithm 1: ``psi(k) + psi(N) - < psi(n_x + 1) + psi(n_y + 1) >`` where n_x counts
    the points strictly closer in x than the distance to the k-th joint neighbour.
    The estimate is biased low when I is large (it needs ~exp(I) samples); see the
    accuracy tables in ``benchmarks/README.md``.

    References
    ----------
    Kraskov, Stoegbauer & Grassberger, Phys. Rev. E 69, 066138 (2004).

    Examples
    --------
    >>> import numpy as np
    >>> from mi_probe.estimators.ksg import ksg_mi
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((3000, 1))
    >>> y = 0.8 * x + 0.6 * rng.standard_normal((3000, 1))  # rho = 0.8
    >>> abs(float(ksg_mi(x, y, random_state=0)) - 0.5108) < 0.05
    True
    """
    k = check_int(n_neighbors, "n_neighbors", low=1)
    # an int, not `in (1, 2)` alone: True == 1 and 2.0 == 2 would pass
    integral = isinstance(algorithm, (int, np.integer)) and not isinstance(algorithm, bool)
    if not integral or algorithm not in (1, 2):
        raise ValueError(f"algorithm must be 1 or 2, got {algorithm!r}")
    algorithm = int(algorithm)
    jitter = _common_checks(metric, jitter)
    check_choice(ties, "ties", ("auto", "jitter", "gao"))
    params = dict(
        n_neighbors=k,
        algorithm=algorithm,
        metric=metric,
        standardize=standardize,
        jitter=jitter,
        ties=ties,
        backend=backend,
        random_state=random_state,
    )
    if algorithm == 1 and ties != "gao" and ksg_device_applies(x, y, backend):
        on_device = ksg_mi_device(x, y, params=params)  # None: repeated rows, host rule
        if on_device is not None:
            return on_device
    xa, ya = check_xy(x, y, min_samples=1)
    n = xa.shape[0]
    k = _check_k(k, n)
    params["n_neighbors"] = k
    rng = check_random_state(random_state)
    const = constant_argument(("x", xa), ("y", ya))
    if const is not None:
        warn_constant(const)
        return zero_result("ksg", n, params, const)

    tie_rule = ties
    diagnostics: dict[str, Any] = {}
    if ties == "auto":
        tie_rule, reason, atoms = choose_tie_rule(("x", xa), ("y", ya))
        diagnostics.update(tie_reason=reason, atoms=atoms)
    xs, _ = prepare_continuous(
        xa, standardize=standardize, jitter=jitter if tie_rule == "jitter" else 0.0, rng=rng
    )
    ys, _ = prepare_continuous(
        ya, standardize=standardize, jitter=jitter if tie_rule == "jitter" else 0.0, rng=rng
    )
    joint = np.hstack([xs, ys])
    be = pick(backend, joint)

    if tie_rule == "gao":
        raw = _gao(be, xs, ys, joint, k, metric)
    elif algorithm == 1:
        dist, _ = be.knn(joint, k, metric)
        eps = _to_numpy64(dist)[:, -1]
        nx = _to_numpy64(be.count_within(xs, eps, metric, inclusive=False))
        ny = _to_numpy64(be.count_within(ys, eps, metric, inclusive=False))
        raw = digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))
        raw += log_ball_ratio((xs.shape[1], ys.shape[1]), (joint.shape[1],), metric)
    else:
        _, idx = be.knn(joint, k, metric)
        idx = np.asarray(_to_numpy64(idx), dtype=np.int64)
        eps_x = _marginal_extent(xs, idx, metric)
        eps_y = _marginal_extent(ys, idx, metric)
        nx = _to_numpy64(be.count_within(xs, eps_x, metric, inclusive=True))
        ny = _to_numpy64(be.count_within(ys, eps_y, metric, inclusive=True))
        raw = digamma(k) - 1.0 / k + digamma(n) - np.mean(digamma(nx) + digamma(ny))

    raw = float(raw)
    return MIResult(
        value=max(raw, 0.0),
        estimator="ksg",
        n_samples=n,
        params=params,
        backend=be.name,
        diagnostics={"raw_value": raw, "ties": tie_rule, **diagnostics},
    )


def constant_argument(*named: tuple[str, np.ndarray]) -> str | None:
    """The name of the first constant array among ``(name, array)`` pairs, else None."""
    for name, a in named:
        if is_constant(a):
            return name
    return None


def zero_result(estimator: str, n: int, params: dict[str, Any], constant: str) -> MIResult:
    """The exact 0 returned when ``constant`` takes a single value."""
    return MIResult(
        value=0.0,
        estimator=estimator,
        n_samples=n,
        params=params,
        diagnostics={"raw_value": 0.0, "constant": constant, "reason": f"{constant} is constant"},
    )


def choose_tie_rule(*named: tuple[str, np.ndarray]) -> tuple[str, str, dict[str, Any]]:
    """``ties="auto"``: the Gao et al. rule when every variable is discrete, else jitter.

    Each variable is described by :func:`~mi_probe.estimators._atoms.describe_atoms`
    (distinct values, share of rows on repeated values). Ties are kept only when all
    of them are discrete (then the tied rows are the information: I(x; x) = H(x));
    a continuous variable, with atoms or without, is jittered, and so is a discrete
    one paired with a continuous one, where the jittered KSG count equals Ross's
    estimator and the Gao rule's ``log`` counts are biased low (0.21 instead of 0.45
    nats for 5 values and n = 2000).

    Returns
    -------
    (rule, reason, atoms): ``"gao"`` or ``"jitter"``, one sentence, and the per-variable
    descriptions keyed by name.
    """
    atoms = {name: describe_atoms(a, name) for name, a in named}
    discrete = [name for name, info in atoms.items() if info["kind"] == "discrete"]
    described = "; ".join(info["reason"] for info in atoms.values())
    if len(discrete) == len(atoms):
        return "gao", f"{described}: every variable is discrete, Gao et al. rule", atoms
    if not discrete:
        return "jitter", f"{described}: no discrete variable, jitter", atoms
    return "jitter", f"{described}: not every variable is discrete, jitter", atoms


def _marginal_extent(a: np.ndarray, idx: np.ndarray, metric: str) -> np.ndarray:
    """Largest distance, in one marginal, from each point to its k joint neighbours."""
    diff = np.abs(a[idx] - a[:, None, :])  # (n, k, d)
    if metric == "max":
        d = diff.max(axis=-1)
    else:
        d = np.sqrt((diff * diff).sum(axis=-1))
    out: np.ndarray = d.max(axis=1)
    return out


def _gao(be: Any, xs: np.ndarray, ys: np.ndarray, joint: np.ndarray, k: int, metric: str) -> float:
    n = joint.shape[0]
    dist, _ = be.knn(joint, k, metric)
    rho = _to_numpy64(dist)[:, -1]
    k_i = np.full(n, float(k))
    zero = rho == 0
    if zero.any():
        at_zero = _to_numpy64(be.count_within(joint, np.zeros(n), metric, inclusive=True))
        k_i[zero] = at_zero[zero]
    nx = _to_numpy64(be.count_within(xs, rho, metric, inclusive=True))
    ny = _to_numpy64(be.count_within(ys, rho, metric, inclusive=True))
    return float(np.mean(digamma(k_i) + np.log(n) - np.log(nx + 1) - np.log(ny + 1)))


def _log_unit_ball(d: int, metric: str) -> float:
    if metric == "max":
        return float(d * np.log(2.0))
    return float(0.5 * d * np.log(np.pi) - gammaln(0.5 * d + 1.0))


def log_ball_ratio(plus: tuple[int, ...], minus: tuple[int, ...], metric: str) -> float:
    """``sum log V(d) over plus - sum log V(d) over minus``, V(d) the unit-ball volume.

    The volume term of the k-NN entropy estimates that KSG-type sums leave behind
    (Kraskov et al. 2004, eq. 8): zero for the max-norm (``V(d) = 2**d`` and the
    dimensions add up), but not for ``"l2"``, where leaving it out read -0.09 nats for
    a true 0.35 (d_x = 2, d_y = 1, n = 2000).
    """
    return float(
        sum(_log_unit_ball(d, metric) for d in plus) - sum(_log_unit_ball(d, metric) for d in minus)
    )


def kl_entropy(
    x: Any,
    *,
    n_neighbors: int = 3,
    metric: str = "max",
    standardize: bool = True,
    jitter: float = 1e-10,
    backend: str = "auto",
    random_state: Any = None,
) -> MIResult:
    """Kozachenko-Leonenko k-NN estimate of the differential entropy H(x) in nats.

    Parameters
    ----------
    x : array-like or tensor, shape (n_samples,) or (n_samples, d)
    n_neighbors : int, default 3
    metric : {"max", "l2"}
    standardize : bool, default True
        Estimate on standardised data, then add back ``sum(log std)`` (exact).
    jitter : float, default 1e-10
        Relative seeded noise against ties (a repeated point has zero radius).
    backend : str, default "auto"
    random_state : None, int or numpy Generator

    Returns
    -------
    MIResult
        Differential entropy in nats (can be negative; not clipped). A constant ``x``
        (every row the same) gives ``-inf``: a point mass is the limit of ever narrower
        densities, whose differential entropy goes to minus infinity.

    Raises
    ------
    ValueError
        Bad input or ``n_neighbors`` not below the number of samples.

    Warns
    -----
    RuntimeWarning
        When ``x`` is constant (the value is then ``-inf``), or when some rows have
        exact copies (``diagnostics["tied_share"]`` is their share): the distances to
        the copies are then the jitter's, and the estimate is biased low.

    Notes
    -----
    ``H = psi(N) - psi(k) + log V_d + d <log r_k>``, with r_k the distance to the
    k-th neighbour and V_d the volume of the unit ball of the metric.

    References
    ----------
    Kozachenko & Leonenko (1987); Kraskov et al. (2004), eq. (20).
    """
    jitter = _common_checks(metric, jitter)
    xa = check_array(x, "x", min_samples=1)
    n, d = xa.shape
    k = _check_k(n_neighbors, n)
    rng = check_random_state(random_state)
    params = dict(
        n_neighbors=k,
        metric=metric,
        standardize=standardize,
        jitter=jitter,
        backend=backend,
        random_state=random_state,
    )
    if is_constant(xa):
        warnings.warn(
            "x takes only a single value (it is constant); its differential entropy is -inf",
            RuntimeWarning,
            stacklevel=2,
        )
        return MIResult(
            value=-np.inf,
            estimator="kl",
            n_samples=n,
            params=params,
            diagnostics={"raw_value": -np.inf, "constant": "x"},
        )
    # exact copies are neighbours at distance zero, which the jitter turns into its own
    # scale: 4 copies of each value at k=3 gave -18 nats for N(0, 1) (truth 1.42), pairs
    # 0.69; a density has no ties, and data with atoms has H = -inf
    _, inverse, counts = np.unique(xa, axis=0, return_inverse=True, return_counts=True)
    tied_share = float(np.mean(counts[inverse.reshape(-1)] > 1))
    if tied_share > 0 and jitter > 0:
        warnings.warn(
            f"x has repeated values ({tied_share:.1%} of the rows have an exact copy): the "
            "distances to the copies are the jitter's, not the data's, and the estimate "
            "is biased low (the differential entropy of data with atoms is -inf). Use "
            "estimator='discrete' or 'binning' for discrete data",
            RuntimeWarning,
            stacklevel=2,
        )
    xs, scale = prepare_continuous(xa, standardize=standardize, jitter=jitter, rng=rng)
    be = pick(backend, xs)
    dist, _ = be.knn(xs, k, metric)
    r = _to_numpy64(dist)[:, -1]
    if np.any(r <= 0):
        raise ValueError(
            "x has repeated points at its k-th neighbour (zero radius); raise jitter "
            "or use estimator='discrete' or 'binning' for discrete data"
        )
    h = digamma(n) - digamma(k) + _log_unit_ball(d, metric) + d * np.mean(np.log(r))
    h += float(np.sum(np.log(scale)))
    return MIResult(
        value=float(h),
        estimator="kl",
        n_samples=n,
        params=params,
        backend=be.name,
        diagnostics={"raw_value": float(h), "tied_share": tied_share},
    )


@named_kwargs
def ksg_cmi(
    x: Any,
    y: Any,
    z: Any,
    *,
    n_neighbors: int = 3,
    metric: str = "max",
    standardize: bool = True,
    jitter: float = 1e-10,
    backend: str = "auto",
    random_state: Any = None,
) -> MIResult:
    """Frenzel-Pompe k-NN estimate of the conditional mutual information I(x; y | z).

    Parameters
    ----------
    x, y, z : array-like or tensor, each (n_samples,) or (n_samples, d)
    n_neighbors, metric, standardize, jitter, backend, random_state
        As in :func:`ksg_mi`.

    Returns
    -------
    MIResult
        In nats, clipped at 0 (raw value in diagnostics). A constant ``x`` or ``y``
        gives exactly 0; a constant ``z`` gives I(x; y).

    Raises
    ------
    ValueError
        Bad input, mismatched lengths, or too few samples.

    Warns
    -----
    RuntimeWarning
        When ``x``, ``y`` or ``z`` takes a single value.

    Notes
    -----
    ``psi(k) - < psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1) >``, counts strictly
    inside the distance to the k-th neighbour in the joint (x, y, z) space.

    References
    ----------
    Frenzel & Pompe, Phys. Rev. Lett. 99, 204101 (2007).
    """
    jitter = _common_checks(metric, jitter)
    xa, ya = check_xy(x, y, min_samples=1)
    _, za = check_xy(x, z, names=("x", "z"), min_samples=1)
    n = xa.shape[0]
    k = _check_k(n_neighbors, n)
    rng = check_random_state(random_state)
    params = dict(
        n_neighbors=k,
        metric=metric,
        standardize=standardize,
        jitter=jitter,
        backend=backend,
        random_state=random_state,
    )
    const = constant_argument(("x", xa), ("y", ya))
    if const is not None:
        warn_constant(const, "the conditional mutual information")
        return zero_result("ksg_cmi", n, params, const)
    xs, ys, zs = (
        prepare_continuous(a, standardize=standardize, jitter=jitter, rng=rng)[0]
        for a in (xa, ya, za)
    )
    z_constant = is_constant(za)
    if z_constant:
        # I(x; y | z) = I(x; y): an exact zero z makes the counts KSG's algorithm 1
        warnings.warn(
            "z takes only a single value (it is constant); I(x; y | z) = I(x; y)",
            RuntimeWarning,
            stacklevel=2,
        )
        zs = np.zeros((n, 1))
    joint = np.hstack([xs, ys, zs])
    be = pick(backend, joint)
    dist, _ = be.knn(joint, k, metric)
    eps = _to_numpy64(dist)[:, -1]
    nxz = _to_numpy64(be.count_within(np.hstack([xs, zs]), eps, metric, inclusive=False))
    nyz = _to_numpy64(be.count_within(np.hstack([ys, zs]), eps, metric, inclusive=False))
    nz = _to_numpy64(be.count_within(zs, eps, metric, inclusive=False))
    raw = float(digamma(k) - np.mean(digamma(nxz + 1) + digamma(nyz + 1) - digamma(nz + 1)))
    d_x, d_y, d_z = xs.shape[1], ys.shape[1], 0 if z_constant else zs.shape[1]
    raw += log_ball_ratio((d_x + d_z, d_y + d_z), (d_x + d_y + d_z, d_z), metric)
    diagnostics: dict[str, Any] = {"raw_value": raw}
    if z_constant:
        diagnostics["constant"] = "z"
    return MIResult(
        value=max(raw, 0.0),
        estimator="ksg_cmi",
        n_samples=n,
        params=params,
        backend=be.name,
        diagnostics=diagnostics,
    )


KSGEstimator = from_function(
    ksg_mi,
    "ksg",
    doc="KSG k-NN mutual information estimator; the class twin of :func:`ksg_mi`.",
    cls_name="KSGEstimator",
)
