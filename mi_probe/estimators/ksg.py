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
    tie_fraction,
)
from ..backends import METRICS, pick
from ..result import MIResult
from ._base import from_function

__all__ = ["ksg_mi", "ksg_cmi", "kl_entropy", "KSGEstimator", "prepare_continuous"]

# Fraction of duplicated rows above which "auto" ties handling switches from jitter
# to the Gao et al. rule (jitter would turn discrete data into a random continuum).
_TIE_FRACTION = 0.05


def _to_numpy64(a: Any) -> np.ndarray:
    if is_tensor(a):
        return a.detach().cpu().double().numpy()
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
    a = np.array(a, dtype=np.float64, copy=True)
    scale = np.ones(a.shape[1])
    if standardize:
        mean = a.mean(axis=0)
        std = a.std(axis=0)
        std[std == 0] = 1.0
        a = (a - mean) / std
        scale = std
    if jitter > 0:
        col = a.std(axis=0)
        col[col == 0] = 1.0
        a = a + jitter * col * rng.standard_normal(a.shape)
    return a, scale


def _check_k(n_neighbors: Any, n: int) -> int:
    k = check_int(n_neighbors, "n_neighbors", low=1)
    if n <= k:
        raise ValueError(f"n_neighbors={k} needs more than {k} samples, got {n}")
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
        I(x; x) of discrete x; ``"auto"`` uses it when more than 5% of the rows of x
        or y repeat, else the jitter.
    backend : {"auto", "native", "kdtree", "numpy", "torch", "keops"}
        Where the neighbour searches run (see :mod:`mi_probe.backends`).
    random_state : None, int or numpy Generator
        Seed for the jitter; a seed gives the same number.

    Returns
    -------
    MIResult
        ``value`` clipped at 0; ``diagnostics["raw_value"]`` holds the unclipped
        estimate, ``diagnostics["ties"]`` the tie rule used.

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
    if algorithm not in (1, 2):
        raise ValueError(f"algorithm must be 1 or 2, got {algorithm!r}")
    jitter = _common_checks(metric, jitter)
    check_choice(ties, "ties", ("auto", "jitter", "gao"))
    xa, ya = check_xy(x, y, min_samples=1)
    n = xa.shape[0]
    k = _check_k(k, n)
    rng = check_random_state(random_state)

    tie_rule = ties
    if ties == "auto":
        frac = max(tie_fraction(xa), tie_fraction(ya))
        tie_rule = "gao" if frac > _TIE_FRACTION else "jitter"
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
        params=dict(
            n_neighbors=k,
            algorithm=algorithm,
            metric=metric,
            standardize=standardize,
            jitter=jitter,
            ties=ties,
            backend=backend,
            random_state=random_state,
        ),
        backend=be.name,
        diagnostics={"raw_value": raw, "ties": tie_rule},
    )


def _marginal_extent(a: np.ndarray, idx: np.ndarray, metric: str) -> np.ndarray:
    """Largest distance, in one marginal, from each point to its k joint neighbours."""
    diff = np.abs(a[idx] - a[:, None, :])  # (n, k, d)
    if metric == "max":
        d = diff.max(axis=-1)
    else:
        d = np.sqrt((diff * diff).sum(axis=-1))
    return d.max(axis=1)


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
        return d * np.log(2.0)
    return 0.5 * d * np.log(np.pi) - gammaln(0.5 * d + 1.0)


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
        Differential entropy in nats (can be negative; not clipped).

    Raises
    ------
    ValueError
        Bad input or ``n_neighbors`` not below the number of samples.

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
        params=dict(
            n_neighbors=k,
            metric=metric,
            standardize=standardize,
            jitter=jitter,
            backend=backend,
            random_state=random_state,
        ),
        backend=be.name,
        diagnostics={"raw_value": float(h)},
    )


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
        In nats, clipped at 0 (raw value in diagnostics).

    Raises
    ------
    ValueError
        Bad input, mismatched lengths, or too few samples.

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
    xs, ys, zs = (
        prepare_continuous(a, standardize=standardize, jitter=jitter, rng=rng)[0]
        for a in (xa, ya, za)
    )
    joint = np.hstack([xs, ys, zs])
    be = pick(backend, joint)
    dist, _ = be.knn(joint, k, metric)
    eps = _to_numpy64(dist)[:, -1]
    nxz = _to_numpy64(be.count_within(np.hstack([xs, zs]), eps, metric, inclusive=False))
    nyz = _to_numpy64(be.count_within(np.hstack([ys, zs]), eps, metric, inclusive=False))
    nz = _to_numpy64(be.count_within(zs, eps, metric, inclusive=False))
    raw = float(digamma(k) - np.mean(digamma(nxz + 1) + digamma(nyz + 1) - digamma(nz + 1)))
    return MIResult(
        value=max(raw, 0.0),
        estimator="ksg_cmi",
        n_samples=n,
        params=dict(
            n_neighbors=k,
            metric=metric,
            standardize=standardize,
            jitter=jitter,
            backend=backend,
            random_state=random_state,
        ),
        backend=be.name,
        diagnostics={"raw_value": raw},
    )


KSGEstimator = from_function(
    ksg_mi,
    "ksg",
    doc="KSG k-NN mutual information estimator; the class twin of :func:`ksg_mi`.",
    cls_name="KSGEstimator",
)
