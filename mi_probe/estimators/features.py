"""Per-feature and pairwise mutual information: one value per column, computed fast.

:func:`mutual_info_features` is mi_probe's ``mutual_info_classif`` /
``mutual_info_regression``: I(X_j; y) for every column j of X (for a probed layer, the
information each unit carries about the labels). :func:`pairwise_mi` gives
I(X_i; X_j) for every pair of columns.

The estimators are the ones scikit-learn uses, so the numbers agree with it (tested):
KSG (algorithm 1, max-norm) between continuous columns and a continuous target, Ross's
estimator between a continuous and a discrete variable, the plug-in between discrete
ones. What is fast: the columns are standardised and jittered once; for a discrete
target the k-NN radii of all columns come from one sort per class (in one dimension the
k nearest neighbours of a point are among the k values on either side of it in sorted
order, so the radii of every column are found at once in numpy) and the counts from one
sorted copy per column with binary search; for a continuous target each column needs one
two-dimensional k-NN search and binary searches in the sorted column and target.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import digamma

from .._validation import (
    check_array,
    check_bool,
    check_int,
    check_positive,
    check_random_state,
    check_same_samples,
    encode_rows,
    is_tensor,
    named_kwargs,
)
from ..backends import pick
from .discrete import entropy_from_counts, joint_codes
from .ksg import _to_numpy64, prepare_continuous

__all__ = ["mutual_info_features", "pairwise_mi"]

_EPS = np.finfo(np.float64).eps


def _is_discrete_column(col: np.ndarray) -> bool:
    from .auto import is_discrete

    return bool(is_discrete(col.reshape(-1, 1)))


def _read_x(X: Any) -> tuple[np.ndarray, list[Any] | None]:
    """(values (n, p), column names or None)."""
    columns = None
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):  # a pandas DataFrame
        columns = list(X.columns)
        X = X.to_numpy()
    elif is_tensor(X):
        X = X.detach().cpu()
    return check_array(X, "X", min_samples=1), columns


def _discrete_mask(discrete_features: Any, xa: np.ndarray) -> np.ndarray:
    p = xa.shape[1]
    msg = (
        'discrete_features must be "auto", a bool, a boolean mask of length n_features '
        f"({p}) or an array of column indices; got {discrete_features!r}"
    )
    if isinstance(discrete_features, str):
        if discrete_features != "auto":
            raise ValueError(msg)
        return np.array([_is_discrete_column(xa[:, j]) for j in range(p)], dtype=bool)
    if isinstance(discrete_features, (bool, np.bool_)):
        mask = np.full(p, bool(discrete_features))
    else:
        arr = np.asarray(discrete_features)
        if arr.ndim != 1:
            raise ValueError(msg)
        if arr.dtype == bool:
            if arr.size != p:
                raise ValueError(msg)
            mask = arr.copy()
        elif arr.dtype.kind in "iu":
            if arr.size and (arr.min() < -p or arr.max() >= p):
                raise ValueError(f"discrete_features has a column index out of range for {p}")
            mask = np.zeros(p, dtype=bool)
            mask[arr] = True
        elif arr.size == 0:
            mask = np.zeros(p, dtype=bool)
        else:
            raise ValueError(msg)
    bad = [j for j in np.flatnonzero(mask) if not np.all(xa[:, j] == np.round(xa[:, j]))]
    if bad:
        raise ValueError(
            f"discrete_features marks column {bad[0]} discrete but it holds non-integer values"
        )
    return mask


def _kth_radius_sorted(s: np.ndarray, k: int) -> np.ndarray:
    """Distance to the k-th nearest other value, for every entry of each sorted column.

    ``s`` is (m, p) with every column sorted ascending and ``m > k``.
    """
    m = s.shape[0]
    cand = np.full((2 * k, m, s.shape[1]), np.inf)
    for j in range(1, k + 1):
        cand[j - 1, j:] = s[j:] - s[:-j]  # to the j-th value below
        cand[k + j - 1, :-j] = s[j:] - s[:-j]  # to the j-th value above
    out: np.ndarray = np.partition(cand, k - 1, axis=0)[k - 1]
    return out


def _count_1d(s: np.ndarray, v: np.ndarray, r: np.ndarray, inclusive: bool) -> np.ndarray:
    """Other points of the sorted column ``s`` within ``r`` of each ``v`` (the point itself
    is in ``s``), with the rounding margin of the kd-tree backend's 1-D counts."""
    tol = 8.0 * _EPS * (np.abs(v) + r)
    if inclusive:
        rr = r + tol
        hi = np.searchsorted(s, v + rr, side="right")
        lo = np.searchsorted(s, v - rr, side="left")
    else:
        rr = r - tol
        hi = np.searchsorted(s, v + rr, side="left")
        lo = np.searchsorted(s, v - rr, side="right")
    return np.asarray(hi - lo - 1, dtype=np.int64)


def _ross_columns(c: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Ross's estimate (raw, nats) of I(c_j; labels) for every column of ``c`` (n, p)."""
    _, codes = np.unique(labels, return_inverse=True)
    codes = codes.reshape(-1)
    counts = np.bincount(codes)
    keep = counts[codes] > 1
    n = int(keep.sum())
    if n < 2:
        return np.zeros(c.shape[1])
    c, codes = c[keep], codes[keep]
    radius = np.empty_like(c)
    k_all = np.empty(n)
    for lab in np.flatnonzero(counts > 1):
        rows = np.flatnonzero(codes == lab)
        kc = min(k, int(counts[lab]) - 1)
        block = c[rows]
        order = np.argsort(block, axis=0, kind="stable")
        r_sorted = _kth_radius_sorted(np.take_along_axis(block, order, axis=0), kc)
        r = np.empty_like(block)
        np.put_along_axis(r, order, r_sorted, axis=0)
        radius[rows] = r
        k_all[rows] = kc
    psi = digamma(np.arange(1, n + 1, dtype=np.float64))  # psi[m - 1] = digamma(m)
    psi_m = np.empty(c.shape[1])
    for j in range(c.shape[1]):
        # the mean is order-free: query in sorted order (binary searches stay in cache)
        order = np.argsort(c[:, j], kind="stable")
        s = c[order, j]
        m = _count_1d(s, s, radius[order, j], inclusive=True)
        psi_m[j] = np.mean(psi[np.maximum(m, 1) - 1])
    label_counts = counts[codes].astype(np.float64)
    return digamma(n) + np.mean(digamma(k_all)) - np.mean(digamma(label_counts)) - psi_m


def _ksg_columns(c: np.ndarray, y: np.ndarray, k: int, backend: str) -> tuple[np.ndarray, str]:
    """KSG algorithm 1 (max-norm, raw, nats) of I(c_j; y) for every column of ``c``."""
    n = c.shape[0]
    out = np.empty(c.shape[1])
    y_order = np.argsort(y[:, 0], kind="stable") if y.shape[1] == 1 else None
    y_sorted = y[y_order, 0] if y_order is not None else None
    name = ""
    for j in range(c.shape[1]):
        joint = np.hstack([c[:, j : j + 1], y])
        be = pick(backend, joint)
        name = be.name
        dist, _ = be.knn(joint, k, "max")
        eps = _to_numpy64(dist)[:, -1]
        order = np.argsort(c[:, j], kind="stable")
        s = c[order, j]
        nx = _count_1d(s, s, eps[order], inclusive=False)
        if y_sorted is not None:
            ny = _count_1d(y_sorted, y_sorted, eps[y_order], inclusive=False)
        else:
            ny = _to_numpy64(be.count_within(y, eps, "max", inclusive=False))
        out[j] = digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))
    return out, name


def _plug_in_columns(d: np.ndarray, labels: np.ndarray) -> np.ndarray:
    cy, ky = encode_rows(labels)
    hy = entropy_from_counts(np.bincount(cy, minlength=ky))
    out = np.empty(d.shape[1])
    for j in range(d.shape[1]):
        cx, kx = encode_rows(d[:, j : j + 1].astype(np.int64))
        cxy, kxy = joint_codes(cx, kx, cy, ky)
        hx = entropy_from_counts(np.bincount(cx, minlength=kx))
        out[j] = hx + hy - entropy_from_counts(np.bincount(cxy, minlength=kxy))
    return out


def _mi_columns(
    cont: np.ndarray,
    disc: np.ndarray,
    mask: np.ndarray,
    target: np.ndarray,
    target_discrete: bool,
    k: int,
    backend: str,
) -> np.ndarray:
    """Raw MI of each column with the target. ``cont``: all columns prepared as continuous
    (standardised, jittered); ``disc``: the raw values (used for discrete columns);
    ``target``: prepared (continuous) or raw integer codes (discrete)."""
    p = mask.size
    out = np.zeros(p)
    ic, idisc = np.flatnonzero(~mask), np.flatnonzero(mask)
    if target_discrete:
        if ic.size:
            out[ic] = _ross_columns(
                cont[:, ic], target[:, 0] if target.shape[1] == 1 else encode_rows(target)[0], k
            )
        if idisc.size:
            out[idisc] = _plug_in_columns(disc[:, idisc], target)
        return out
    if ic.size:
        out[ic] = _ksg_columns(cont[:, ic], target, k, backend)[0]
    for j in idisc:
        if target.shape[1] == 1:
            out[j] = _ross_columns(target, disc[:, j], k)[0]
        else:
            from .mixed import mixed_mi

            r = mixed_mi(target, disc[:, j], n_neighbors=k, standardize=False, jitter=0.0)
            out[j] = float(r.diagnostics.get("raw_value", r.value))
    return out


def _prepare(
    xa: np.ndarray, mask: np.ndarray, standardize: bool, jitter: float, rng: np.random.Generator
) -> np.ndarray:
    cont = np.array(xa, dtype=np.float64, copy=True)
    if (~mask).any():
        cont[:, ~mask] = prepare_continuous(
            xa[:, ~mask], standardize=standardize, jitter=jitter, rng=rng
        )[0]
    return cont


@named_kwargs
def mutual_info_features(
    X: Any,
    y: Any,
    *,
    discrete_features: str | bool | Sequence[Any] = "auto",
    discrete_target: str | bool = "auto",
    n_neighbors: int = 3,
    standardize: bool = True,
    jitter: float = 1e-10,
    clip: bool = True,
    backend: str = "auto",
    random_state: Any = None,
) -> Any:
    """I(X_j; y) in nats for every column j of X: per-feature (per-unit) information.

    Parameters
    ----------
    X : array-like, tensor or pandas DataFrame, shape (n_samples, n_features)
        One variable per column (a layer's units, a table's features).
    y : array-like or tensor, shape (n_samples,) or (n_samples, d_y)
        The target: class labels or a continuous quantity; a multi-column ``y`` is one
        joint variable.
    discrete_features : "auto", bool, boolean mask or column indices
        Which columns of X are discrete, as scikit-learn's argument (a mask of length
        n_features or indices). ``"auto"`` differs from scikit-learn's (which means
        "all continuous" for dense X): a column is discrete when it holds integers with
        at most ``min(64, n/10)`` distinct values, the test ``estimator="auto"`` uses.
    discrete_target : "auto" or bool
        Whether ``y`` is discrete (``mutual_info_classif``) or continuous
        (``mutual_info_regression``); ``"auto"`` decides by the same test.
    n_neighbors : int, default 3
        k of the k-NN estimators (3, as scikit-learn).
    standardize : bool, default True
        Scale continuous columns (and a continuous target) to unit variance first.
    jitter : float, default 1e-10
        Seeded noise, relative to each continuous column's standard deviation, against
        tied values (scikit-learn adds noise of the same size).
    clip : bool, default True
        Clip the estimates at 0, as scikit-learn does.
    backend : str, default "auto"
        Where the two-dimensional k-NN searches run for a continuous target.
    random_state : None, int or numpy Generator
        Seed of the jitter.

    Returns
    -------
    numpy.ndarray of shape (n_features,) or pandas.Series
        The estimates in nats; a Series indexed by the column names when X is a
        DataFrame.

    Raises
    ------
    ValueError
        Bad X or y (NaN, inf, shape, dtype), different numbers of samples, a bad
        ``discrete_features`` or ``discrete_target``, a column marked discrete that holds
        non-integer values, ``n_neighbors`` not below the number of samples, or ``clip``
        not a boolean.

    Warns
    -----
    RuntimeWarning
        When columns of X, or y, take a single value (their estimates are exactly 0).

    See Also
    --------
    mi_probe.estimate_mi : I(x; y) where a 2-D x is one joint variable, not one per
        column (unlike ennemi's ``estimate_mi``, which returns one MI per column).
    pairwise_mi : I(X_i; X_j) for every pair of columns.

    Notes
    -----
    Continuous column, continuous target: KSG algorithm 1 in the max-norm (strict
    counts), as ``mutual_info_regression``. Continuous column, discrete target (or the
    reverse): Ross (2014), as ``mutual_info_classif``; labels that occur once are
    dropped. Discrete with discrete: the plug-in estimate (``mutual_info_score``).
    With continuous untied data the numbers equal scikit-learn's to about 1e-6 nats
    (both add ~1e-10-scale noise; see ``tests/estimators/test_features.py``).

    References
    ----------
    Kraskov et al., Phys. Rev. E 69 (2004); Ross, PLoS ONE 9 (2014).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 2000)
    >>> X = np.column_stack([3.0 * y + rng.standard_normal(2000), rng.standard_normal(2000)])
    >>> mi = mutual_info_features(X, y, random_state=0)
    >>> bool(mi[0] > 0.4 and mi[1] < 0.03)  # unit 0 carries the label, unit 1 does not
    True
    """
    k = check_int(n_neighbors, "n_neighbors", low=1)
    jitter = check_positive(jitter, "jitter", allow_zero=True)
    clip = check_bool(clip, "clip")
    xa, columns = _read_x(X)
    ya = check_array(y, "y", min_samples=1)
    check_same_samples(xa.shape[0], ya.shape[0], "X", "y")
    n, p = xa.shape
    if n <= k:
        raise ValueError(f"n_neighbors={k} needs more than {k} samples, got {n}")
    mask = _discrete_mask(discrete_features, xa)
    if isinstance(discrete_target, str):
        if discrete_target != "auto":
            raise ValueError(f'discrete_target must be "auto" or a bool, got {discrete_target!r}')
        y_discrete = _is_discrete_column(ya) if ya.shape[1] == 1 else _all_discrete(ya)
    elif isinstance(discrete_target, (bool, np.bool_)):
        y_discrete = bool(discrete_target)
        if y_discrete and not np.all(ya == np.round(ya)):
            raise ValueError("y is marked discrete (discrete_target=True) but holds non-integers")
    else:
        raise ValueError(f'discrete_target must be "auto" or a bool, got {discrete_target!r}')
    rng = check_random_state(random_state)
    out = np.zeros(p)
    constant = np.all(xa == xa[:1], axis=0)
    if np.all(ya == ya[:1]):
        warnings.warn(
            "y takes only a single value (it is constant); every feature's mutual "
            "information with it is exactly 0",
            RuntimeWarning,
            stacklevel=2,
        )
        return _wrap(out, columns)
    if constant.any():
        names = [columns[j] if columns else j for j in np.flatnonzero(constant)]
        shown = ", ".join(repr(c) for c in names[:5]) + (", ..." if len(names) > 5 else "")
        warnings.warn(
            f"X has {len(names)} constant column(s) ({shown}): each takes only a single "
            "value, so its mutual information with y is exactly 0",
            RuntimeWarning,
            stacklevel=2,
        )
    live = np.flatnonzero(~constant)
    if live.size:
        sub = xa[:, live]
        cont = _prepare(sub, mask[live], standardize, jitter, rng)
        if y_discrete:
            target = ya.astype(np.int64)
        else:
            target = prepare_continuous(ya, standardize=standardize, jitter=jitter, rng=rng)[0]
        out[live] = _mi_columns(cont, sub, mask[live], target, y_discrete, k, backend)
    if clip:
        out = np.maximum(out, 0.0)
    return _wrap(out, columns)


def _all_discrete(a: np.ndarray) -> bool:
    from .auto import is_discrete

    return bool(is_discrete(a))


def _wrap(values: np.ndarray, columns: list[Any] | None) -> Any:
    if columns is None:
        return values
    import pandas as pd

    return pd.Series(values, index=columns, name="mutual_information_nats")


@named_kwargs
def pairwise_mi(
    X: Any,
    *,
    discrete_features: str | bool | Sequence[Any] = "auto",
    n_neighbors: int = 3,
    standardize: bool = True,
    jitter: float = 1e-10,
    clip: bool = True,
    backend: str = "auto",
    random_state: Any = None,
) -> Any:
    """I(X_i; X_j) in nats for every pair of columns of X, as a symmetric DataFrame.

    Parameters
    ----------
    X : array-like, tensor or pandas DataFrame, shape (n_samples, n_features)
    discrete_features, n_neighbors, standardize, jitter, clip, backend, random_state
        As in :func:`mutual_info_features`; each pair uses the estimator its two kinds
        call for (KSG, Ross or plug-in).

    Returns
    -------
    pandas.DataFrame, shape (n_features, n_features)
        Symmetric, indexed and labelled by the column names (``0..p-1`` for an array);
        the diagonal is NaN (I(X_i; X_i) is H(X_i) for a discrete column and infinite
        for a continuous one, not a dependence between two features).

    Raises
    ------
    ValueError
        As :func:`mutual_info_features`; fewer than 2 columns.
    ModuleNotFoundError
        When pandas is not installed.

    Warns
    -----
    RuntimeWarning
        When columns of X are constant (their row and column are 0).

    Notes
    -----
    Each column is prepared (standardised, jittered) once; row i costs one k-NN search
    per later column (``p (p - 1) / 2`` in all), so keep ``p`` to a few hundred.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal(1000)
    >>> X = np.column_stack([a, a + 0.5 * rng.standard_normal(1000), rng.standard_normal(1000)])
    >>> m = pairwise_mi(X, random_state=0)
    >>> bool(m.loc[0, 1] > 0.5 and m.loc[0, 2] < 0.05 and m.loc[1, 0] == m.loc[0, 1])
    True
    """
    from .._deps import require

    pd = require("pandas", "pairwise_mi")
    k = check_int(n_neighbors, "n_neighbors", low=1)
    jitter = check_positive(jitter, "jitter", allow_zero=True)
    clip = check_bool(clip, "clip")
    xa, columns = _read_x(X)
    n, p = xa.shape
    if p < 2:
        raise ValueError(f"X must have at least 2 columns for pairwise_mi, got {p}")
    if n <= k:
        raise ValueError(f"n_neighbors={k} needs more than {k} samples, got {n}")
    mask = _discrete_mask(discrete_features, xa)
    rng = check_random_state(random_state)
    constant = np.all(xa == xa[:1], axis=0)
    names = columns if columns is not None else list(range(p))
    if constant.any():
        bad = [names[j] for j in np.flatnonzero(constant)]
        warnings.warn(
            f"X has {len(bad)} constant column(s) ({', '.join(repr(b) for b in bad[:5])}): "
            "their mutual information with every other column is exactly 0",
            RuntimeWarning,
            stacklevel=2,
        )
    cont = _prepare(xa, mask | constant, standardize, jitter, rng)
    codes = xa.astype(np.int64) if mask.any() else np.zeros((n, 0), dtype=np.int64)
    mat = np.zeros((p, p))
    for i in range(p - 1):
        if constant[i]:
            continue
        rest = np.arange(i + 1, p)
        rest = rest[~constant[rest]]
        if rest.size == 0:
            continue
        if mask[i]:
            target, t_discrete = codes[:, i : i + 1], True
        else:
            target, t_discrete = cont[:, i : i + 1], False
        vals = _mi_columns(cont[:, rest], xa[:, rest], mask[rest], target, t_discrete, k, backend)
        mat[i, rest] = vals
        mat[rest, i] = vals
    if clip:
        mat = np.maximum(mat, 0.0)
    np.fill_diagonal(mat, np.nan)
    return pd.DataFrame(mat, index=names, columns=names)
