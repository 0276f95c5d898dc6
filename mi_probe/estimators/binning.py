"""Binning (histogram) estimators: quantise, then plug-in discrete entropy and MI.

What it measures
----------------
The binning estimator returns the mutual information of the *binned* variables,
``I(bin(x); bin(y))`` (or ``I(bin(x); y)`` for integer labels ``y``). That is a
consistent estimate of ``I(x; y)`` only as the bins shrink and the number of samples
grows much faster than the number of occupied joint cells; at fixed bins it is a
lower bound in the large-sample limit (data processing) and the plug-in estimate is
biased upward at finite ``n``. For a deterministic layer ``T = f(X)`` of a finite data
set, ``I(X; bin(T)) = H(bin(T))``: the binning estimator then measures the entropy of
the binned representation, which depends on the bin size (as discussed by Saxe et al.
2018 for the information plane of Shwartz-Ziv & Tishby 2017).

References
----------
.. [1] R. Shwartz-Ziv, N. Tishby, "Opening the black box of deep neural networks via
   information", arXiv:1703.00810 (2017).
.. [2] A. M. Saxe et al., "On the information bottleneck theory of deep learning",
   ICLR 2018.
.. [3] L. Paninski, "Estimation of entropy and mutual information", Neural Computation
   15 (2003).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    check_array,
    check_choice,
    check_int,
    check_labels,
    check_positive,
    check_random_state,
    check_same_samples,
    is_tensor,
)
from ..result import MIResult
from ._base import from_function
from .discrete import _check_correction, _mi_from_symbols, entropy_from_counts

__all__ = [
    "STRATEGIES",
    "discretize",
    "row_key",
    "row_symbols",
    "sorted_run_lengths",
    "binning_mi",
    "binning_entropy",
    "BinningEstimator",
]

STRATEGIES = ("uniform", "quantile", "fixed")


def _check_binning(n_bins: Any, strategy: Any, bin_size: Any) -> tuple[int, float | None]:
    n_bins = check_int(n_bins, "n_bins", low=1)
    check_choice(strategy, "strategy", STRATEGIES)
    if strategy == "fixed":
        if bin_size is None:
            raise ValueError("bin_size is required with strategy='fixed' (e.g. bin_size=0.5)")
        return n_bins, check_positive(bin_size, "bin_size")
    if bin_size is not None:
        raise ValueError(
            f"bin_size is only used with strategy='fixed', got bin_size={bin_size!r} "
            f"with strategy={strategy!r}"
        )
    return n_bins, None


def _discretize(a: np.ndarray, n_bins: int, strategy: str, bin_size: float | None) -> np.ndarray:
    if strategy == "fixed":
        assert bin_size is not None
        with np.errstate(over="ignore"):
            q = np.floor(a / bin_size)
        if q.size and not np.abs(q).max() < 2.0**62:
            raise ValueError(
                f"x / bin_size reaches {np.abs(q).max():.3g}, beyond the bin codes int64 can "
                f"hold; use a larger bin_size than {bin_size:g} or strategy='uniform'"
            )
        return q.astype(np.int64)
    if strategy == "uniform":
        # scale-safe: each column divided by a power of two at its largest |value| (exact),
        # so max - min cannot overflow near 1.7e308 nor n_bins / span near 1e-308
        peak = np.max(np.abs(a), axis=0)
        _, exp = np.frexp(np.where(peak > 0, peak, 1.0))
        a = np.ldexp(a, -exp)
        lo = a.min(axis=0)
        span = a.max(axis=0) - lo
        span[span == 0] = 1.0  # a constant column falls in bin 0
        codes: np.ndarray = np.floor((a - lo) * (n_bins / span)).astype(np.int64)
        np.clip(codes, 0, n_bins - 1, out=codes)  # the maximum goes in the last bin
        return codes
    # quantile: equal-mass bins from each column's empirical quantiles
    inner = np.quantile(a, np.linspace(0.0, 1.0, n_bins + 1)[1:-1], axis=0)  # (n_bins-1, d)
    codes = np.empty(a.shape, dtype=np.int64)
    for j in range(a.shape[1]):
        codes[:, j] = np.searchsorted(inner[:, j], a[:, j], side="right")
    return codes


def discretize(
    x: Any,
    *,
    n_bins: int = 30,
    strategy: str = "uniform",
    bin_size: float | None = None,
) -> np.ndarray:
    """Quantise each column of ``x`` into integer bin codes.

    Parameters
    ----------
    x : array-like or tensor, shape (n_samples,) or (n_samples, d)
        Continuous data.
    n_bins : int, default 30
        Bins per column for ``"uniform"`` and ``"quantile"`` (ignored by ``"fixed"``).
    strategy : {"uniform", "quantile", "fixed"}
        ``"uniform"``: ``n_bins`` equal-width bins spanning each column's own range
        ``[min, max]`` (not a fixed interval such as [-1, 1]). ``"quantile"``: equal-mass
        bins from each column's empirical quantiles (ties can leave some bins empty).
        ``"fixed"``: bins of width ``bin_size`` anchored at 0 (``floor(x / bin_size)``),
        unbounded, as used on activations by Shwartz-Ziv & Tishby and Saxe et al.
    bin_size : float, optional
        Bin width for ``strategy="fixed"`` (required there, rejected elsewhere).

    Returns
    -------
    numpy.ndarray of int64, shape (n_samples, d)
        Bin index of each value (``0..n_bins-1`` for uniform and quantile; any integer
        for fixed).

    Raises
    ------
    ValueError
        Bad ``x`` (NaN, inf, shape, dtype, empty), ``n_bins < 1``, an unknown strategy,
        ``bin_size`` missing for ``"fixed"``, given for another strategy, or not > 0.

    Examples
    --------
    >>> discretize([0.0, 0.4, 0.6, 1.0], n_bins=2).ravel().tolist()
    [0, 0, 1, 1]
    >>> discretize([-0.7, -0.2, 0.3, 1.2], strategy="fixed", bin_size=0.5).ravel().tolist()
    [-2, -1, 0, 2]
    """
    n_bins, bin_size = _check_binning(n_bins, strategy, bin_size)
    a = check_array(x, "x", min_samples=1)
    return _discretize(a, n_bins, strategy, bin_size)


_KEY_LIMIT = 1 << 62


def _densify(key: np.ndarray) -> tuple[np.ndarray, int]:
    _, inv = np.unique(key, return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64)
    return inv, int(inv.max()) + 1


def row_key(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """An int64 key ``0..size-1`` per row of an integer matrix, equal for equal rows.

    Columns are folded into a mixed-radix key; whenever the next column would overflow
    int64, the key is first re-numbered to its ``k <= n`` distinct values (one sort).
    So no ``n_bins**d`` table is ever formed and any number of columns works. Unlike
    :func:`row_symbols` the key is not dense (``size`` can exceed ``n``), which spares
    the final sort when the caller sorts anyway.

    Parameters
    ----------
    codes : numpy.ndarray of int, shape (n_samples, d)
        Integer codes, e.g. bin indices from :func:`discretize`.

    Returns
    -------
    key : numpy.ndarray of int64, shape (n_samples,)
        Equal exactly for equal rows, in ``[0, size)``.
    size : int
        An upper bound on the key (the product of the column ranges, or the number of
        distinct rows after a re-numbering).

    Examples
    --------
    >>> key, size = row_key(np.array([[0, 1], [2, 1], [0, 1]]))
    >>> bool(key[0] == key[2]), bool(key[0] != key[1]), size
    (True, True, 3)
    """
    n, d = codes.shape
    key = np.zeros(n, dtype=np.int64)
    size = 1
    if n == 0:
        return key, size
    # columns as contiguous rows: reductions and arithmetic along n run several times
    # faster than down the strided columns of an (n, d) array with small d
    cols = np.ascontiguousarray(codes.T)
    lo = cols.min(axis=1)
    hi = cols.max(axis=1)
    for j in range(d):
        r = int(hi[j]) - int(lo[j]) + 1
        if r == 1:
            continue
        if r >= _KEY_LIMIT:  # pathological range: hash this column first
            col, r = _densify(cols[j])
        else:
            col = cols[j] - lo[j]
        if size * r >= _KEY_LIMIT:
            key, size = _densify(key)
        key *= r
        key += col
        size *= r
    return key, size


def row_symbols(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """One symbol ``0..k-1`` per row of an integer matrix (the partition of ``encode_rows``).

    The dense re-numbering of :func:`row_key`: the sort runs on int64 keys (faster than
    on raw row bytes).
    """
    if codes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), 0
    return _densify(row_key(codes)[0])


def sorted_run_lengths(sorted_keys: np.ndarray) -> np.ndarray:
    """Lengths of the runs of equal values in a sorted 1-D array (the cell counts).

    Parameters
    ----------
    sorted_keys : numpy.ndarray, shape (n,)
        Sorted values (e.g. ``np.sort`` of :func:`row_key` keys).

    Returns
    -------
    numpy.ndarray of int64
        One count per distinct value, in sorted order; they sum to ``n``.

    Examples
    --------
    >>> sorted_run_lengths(np.array([2, 2, 5, 7, 7, 7])).tolist()
    [2, 1, 3]
    """
    n = sorted_keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    return np.diff(np.concatenate(([0], starts, [n])))


def _is_integer_coded(y: Any) -> bool:
    if is_tensor(y):
        return not (y.dtype.is_floating_point or y.dtype.is_complex)
    kind = np.asarray(y).dtype.kind
    return kind in "biu"


def binning_mi(
    x: Any,
    y: Any,
    *,
    n_bins: int = 30,
    strategy: str = "uniform",
    bin_size: float | None = None,
    correction: str | None = None,
    y_discrete: bool | str = "auto",
    random_state: Any = None,
) -> MIResult:
    """Mutual information in nats of the binned variables, ``I(bin(x); bin(y))``.

    Parameters
    ----------
    x : array-like or tensor, shape (n_samples,) or (n_samples, d_x)
        Continuous data; every column is binned and the rows of bin codes are hashed
        into joint symbols (any ``d_x``; no ``n_bins**d_x`` table).
    y : array-like or tensor, shape (n_samples,) or (n_samples, d_y)
        Continuous data (binned like ``x``) or integer class labels (used as is).
    n_bins : int, default 30
        Bins per column (``"uniform"``, ``"quantile"``).
    strategy : {"uniform", "quantile", "fixed"}
        See :func:`discretize`.
    bin_size : float, optional
        Bin width for ``strategy="fixed"``.
    correction : {None, "miller-madow"}
        Bias correction of the plug-in entropies (see :func:`~mi_probe.estimators.
        discrete.discrete_mi`).
    y_discrete : {"auto", True, False}
        Whether ``y`` holds integer labels that are not binned. ``"auto"``: yes when
        ``y`` has an integer or bool dtype; floats are binned.
    random_state : None, int or numpy Generator
        Accepted for a uniform interface; the estimate is deterministic.

    Returns
    -------
    MIResult
        ``value`` clipped at 0; ``diagnostics`` holds ``raw_value``, the entropies of
        the binned variables, the numbers of occupied cells, ``bias_estimate`` and
        ``undersampled`` (occupied joint cells above 20% of n: the plug-in is then
        dominated by its upward bias; see :func:`~mi_probe.estimators.discrete.
        discrete_mi`), ``y_discrete`` and ``regime``.

    Raises
    ------
    ValueError
        Bad input, mismatched lengths, or an invalid binning parameter.

    Notes
    -----
    This is the MI of quantised variables, not of the continuous ones. With fine bins
    and few samples nearly every sample has its own cell and the estimate approaches
    ``H(bin(x))``, up to ``log n``; with a deterministic layer of a finite data set,
    ``I(X; bin(T)) = H(bin(T))`` for any bins. It is biased upward by about
    ``(m_xy - m_x - m_y + 1) / (2 n)`` nats (``m``: occupied cells). Quantile bins
    make the estimate invariant to monotone maps of each coordinate.

    References
    ----------
    Shwartz-Ziv & Tishby (2017); Saxe et al. (2018); Paninski (2003).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(20000); y = x + rng.standard_normal(20000)
    >>> r = binning_mi(x, y, n_bins=20, strategy="quantile")
    >>> bool(abs(float(r) - 0.3466) < 0.05)  # truth -0.5 log(1 - 0.5)
    True
    """
    n_bins, bin_size = _check_binning(n_bins, strategy, bin_size)
    _check_correction(correction)
    if not (isinstance(y_discrete, (bool, np.bool_)) or y_discrete == "auto"):  # not 0/1
        raise ValueError(f"y_discrete must be one of 'auto', True, False; got {y_discrete!r}")
    check_random_state(random_state)
    xa = check_array(x, "x", min_samples=2)
    use_labels = _is_integer_coded(y) if y_discrete == "auto" else bool(y_discrete)
    if use_labels:
        ycodes = check_labels(y, "y")
    else:
        ycodes = _discretize(check_array(y, "y", min_samples=1), n_bins, strategy, bin_size)
    check_same_samples(xa.shape[0], ycodes.shape[0], "x", "y")
    cx, kx = row_symbols(_discretize(xa, n_bins, strategy, bin_size))
    cy, ky = row_symbols(ycodes)
    raw, diag = _mi_from_symbols(cx, kx, cy, ky, correction)
    diag["y_discrete"] = use_labels
    diag["regime"] = "I(bin(x); bin(y)) of the quantised variables"
    return MIResult(
        value=max(raw, 0.0),
        estimator="binning",
        n_samples=xa.shape[0],
        params=dict(
            n_bins=n_bins,
            strategy=strategy,
            bin_size=bin_size,
            correction=correction,
            y_discrete=y_discrete,
            random_state=random_state,
        ),
        diagnostics=diag,
    )


def binning_entropy(
    x: Any,
    *,
    n_bins: int = 30,
    strategy: str = "uniform",
    bin_size: float | None = None,
    correction: str | None = None,
    random_state: Any = None,
) -> MIResult:
    """Entropy in nats of the binned variable, ``H(bin(x))`` (a discrete entropy).

    Parameters
    ----------
    x : array-like or tensor, shape (n_samples,) or (n_samples, d)
    n_bins, strategy, bin_size
        See :func:`discretize`.
    correction : {None, "miller-madow"}
    random_state : None, int or numpy Generator
        Accepted for a uniform interface; the estimate is deterministic.

    Returns
    -------
    MIResult
        ``H(bin(x))`` in nats, at most ``log n``; ``diagnostics["n_states"]`` is the
        number of occupied cells. This is not the differential entropy of ``x``
        (that would need ``+ log(bin volume)``).

    Raises
    ------
    ValueError
        Bad input or an invalid binning parameter.
    """
    n_bins, bin_size = _check_binning(n_bins, strategy, bin_size)
    _check_correction(correction)
    check_random_state(random_state)
    xa = check_array(x, "x", min_samples=2)
    cx, kx = row_symbols(_discretize(xa, n_bins, strategy, bin_size))
    h = entropy_from_counts(np.bincount(cx, minlength=kx), correction)
    return MIResult(
        value=h,
        estimator="binning",
        n_samples=xa.shape[0],
        params=dict(
            n_bins=n_bins,
            strategy=strategy,
            bin_size=bin_size,
            correction=correction,
            random_state=random_state,
        ),
        diagnostics={"raw_value": h, "n_states": kx},
    )


BinningEstimator = from_function(
    binning_mi,
    "binning",
    doc="Histogram (binning) MI estimator; the class twin of :func:`binning_mi`.",
    cls_name="BinningEstimator",
)
