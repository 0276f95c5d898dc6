"""Gaussian (linear) estimator: the MI and entropy of a fitted joint Gaussian.

``I(x; y) = 0.5 * (log det S_xx + log det S_yy - log det S)`` for the sample covariance
``S`` of ``(x, y)``. It is exact for jointly Gaussian data and, for any data, equals the
MI of the Gaussian with the same covariance: a linear baseline that misses every
non-linear dependence (for a fixed covariance the Gaussian has the least MI only under
extra conditions, so it is neither a lower nor an upper bound in general).

References
----------
.. [1] T. M. Cover, J. A. Thomas, Elements of Information Theory, 2nd ed., Wiley
   (2006), eqs. 8.56 and 9.8 (entropy and MI of Gaussians).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    check_array,
    check_positive,
    check_random_state,
    check_xy,
    standardize_columns,
)
from ..result import MIResult
from ._base import from_function
from ._bounds import apply_discrete_ceiling

__all__ = ["gaussian_mi", "gaussian_entropy", "GaussianEstimator"]

# Eigenvalues of the (regularised) correlation matrix below this, relative to the
# largest, mean the covariance is singular to working precision.
_RCOND = 1e-12


def _standardize(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale columns at any magnitude; constant columns become zeros.

    Returns the standardised columns and the log of each column's standard deviation
    (``-inf`` for a constant column): a log, because a deviation near 1e-320 or 1e308
    need not be representable, and the entropy only needs its log.
    """
    if a.shape[0] < 2:
        return a - a.mean(axis=0), np.full(a.shape[1], -np.inf)
    z, _, log_std = standardize_columns(a, ddof=1)
    return z, log_std


def _logdet(c: np.ndarray, what: str) -> float:
    try:
        if not np.all(np.isfinite(c)):
            raise np.linalg.LinAlgError("non-finite entries")
        w = np.linalg.eigvalsh(c)
    except np.linalg.LinAlgError as exc:  # standardised finite input never gets here
        raise ValueError(
            f"the covariance of {what} could not be decomposed ({exc}); the values cannot "
            "be represented after standardisation"
        ) from None
    if w[0] <= _RCOND * max(w[-1], 1.0):
        raise ValueError(
            f"the covariance of {what} is singular (smallest eigenvalue {w[0]:.3g} of the "
            "correlation matrix): constant or linearly dependent columns, or fewer "
            "samples than dimensions; pass regularization > 0 (e.g. 1e-6) to add a "
            "ridge, or drop the redundant columns"
        )
    return float(np.sum(np.log(w)))


def _corr(a: np.ndarray, regularization: float) -> np.ndarray:
    n = a.shape[0]
    c: np.ndarray = (a.T @ a) / (n - 1)
    if regularization > 0:
        c = c + regularization * np.eye(c.shape[0])
    return c


def gaussian_mi(
    x: Any,
    y: Any,
    *,
    regularization: float = 0.0,
    random_state: Any = None,
) -> MIResult:
    """MI in nats of the Gaussian fitted to ``(x, y)``: ``0.5 log(det S_xx det S_yy / det S)``.

    Parameters
    ----------
    x : array-like or tensor, shape (n_samples,) or (n_samples, d_x)
    y : array-like or tensor, shape (n_samples,) or (n_samples, d_y)
    regularization : float, default 0.0
        Ridge added to the diagonal of the *correlation* matrix (columns standardised to
        unit variance first, so it is scale-free): ``S + regularization * I``. With 0 a
        singular covariance (constant or collinear columns, ``n <= d_x + d_y``) raises;
        with a small ridge such as 1e-6 the estimate stays finite and a constant column
        contributes nothing.
    random_state : None, int or numpy Generator
        Accepted for a uniform interface; the estimate is deterministic.

    Returns
    -------
    MIResult
        ``value`` clipped at 0 (it is >= 0 up to rounding, Fischer's inequality);
        ``diagnostics["raw_value"]`` and ``diagnostics["correlation"]`` (the canonical
        correlations ``rho_i``, with ``I = -0.5 sum log(1 - rho_i^2)``). When ``y``
        (or ``x``) is categorical (integer labels, one-hot rows), ``value`` is clamped at
        its plug-in entropy ``H(y)``, a hard bound the Gaussian formula ignores (it read
        6-11 nats for ``I(z; one-hot class)`` with ``H(y) = 3.86``); ``diagnostics``
        then holds ``ceiling``, ``ceiling_name``, ``unclamped_value``,
        ``exceeded_ceiling`` and ``at_ceiling``, and a ``RuntimeWarning`` says so.

    Raises
    ------
    ValueError
        Bad input, mismatched lengths, fewer than 3 samples, a negative
        ``regularization``, or a singular covariance with ``regularization=0``.

    Notes
    -----
    Exact for jointly Gaussian data up to sampling error (the plug-in estimate is
    biased upward by about ``d_x d_y / (2 n)`` nats). Invariant under invertible affine
    maps of ``x`` and of ``y`` separately (with ``regularization=0``).

    References
    ----------
    Cover & Thomas, Elements of Information Theory (2006), ch. 8.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(20000); y = 0.8 * x + 0.6 * rng.standard_normal(20000)
    >>> bool(abs(float(gaussian_mi(x, y)) + 0.5 * np.log(1 - 0.8**2)) < 0.02)
    True
    """
    regularization = check_positive(regularization, "regularization", allow_zero=True)
    check_random_state(random_state)
    xa, ya = check_xy(x, y, min_samples=3)
    dx = xa.shape[1]
    xs, sx = _standardize(xa)
    ys, sy = _standardize(ya)
    if regularization == 0:
        for name, s in (("x", sx), ("y", sy)):
            if np.any(np.isneginf(s)):
                j = int(np.flatnonzero(np.isneginf(s))[0])
                raise ValueError(
                    f"{name} column {j} is constant; its covariance is singular "
                    "(pass regularization > 0, or drop the column)"
                )
    c = _corr(np.hstack([xs, ys]), regularization)
    ld_x = _logdet(c[:dx, :dx], "x")
    ld_y = _logdet(c[dx:, dx:], "y")
    ld = _logdet(c, "the joint (x, y)")
    raw = 0.5 * (ld_x + ld_y - ld)
    # canonical correlations: singular values of Sxx^-1/2 Sxy Syy^-1/2
    lx = np.linalg.cholesky(c[:dx, :dx])
    ly = np.linalg.cholesky(c[dx:, dx:])
    m = np.linalg.solve(lx, np.linalg.solve(ly, c[dx:, :dx]).T)
    rho = np.clip(np.linalg.svd(m, compute_uv=False), 0.0, 1.0)
    result = MIResult(
        value=max(raw, 0.0),
        estimator="gaussian",
        n_samples=xa.shape[0],
        params=dict(regularization=regularization, random_state=random_state),
        diagnostics={"raw_value": raw, "correlation": tuple(float(r) for r in rho)},
    )
    # I(x; y) <= H(y) for categorical y (labels, one-hot): clamp, flag and warn
    return apply_discrete_ceiling(result, x, y)


def gaussian_entropy(
    x: Any,
    *,
    regularization: float = 0.0,
    random_state: Any = None,
) -> MIResult:
    """Differential entropy in nats of the Gaussian fitted to ``x``.

    Parameters
    ----------
    x : array-like or tensor, shape (n_samples,) or (n_samples, d)
    regularization : float, default 0.0
        Ridge on the correlation matrix, as in :func:`gaussian_mi`. A constant column
        then has variance ``regularization`` in units of 1 (its log-scale is taken as 0).
    random_state : None, int or numpy Generator
        Accepted for a uniform interface; the estimate is deterministic.

    Returns
    -------
    MIResult
        ``0.5 * log det(2 pi e S)`` with the unbiased sample covariance ``S``
        (may be negative).

    Raises
    ------
    ValueError
        Bad input, fewer than 2 samples, a negative ``regularization``, or a singular
        covariance with ``regularization=0``.
    """
    regularization = check_positive(regularization, "regularization", allow_zero=True)
    check_random_state(random_state)
    xa = check_array(x, "x", min_samples=2)
    d = xa.shape[1]
    xs, sx = _standardize(xa)
    if regularization == 0 and np.any(np.isneginf(sx)):
        j = int(np.flatnonzero(np.isneginf(sx))[0])
        raise ValueError(
            f"x column {j} is constant; its covariance is singular "
            "(pass regularization > 0, or drop the column)"
        )
    ld = _logdet(_corr(xs, regularization), "x")
    log_scale = float(np.sum(sx[np.isfinite(sx)]))
    h = 0.5 * (d * np.log(2.0 * np.pi * np.e) + ld) + log_scale
    return MIResult(
        value=h,
        estimator="gaussian",
        n_samples=xa.shape[0],
        params=dict(regularization=regularization, random_state=random_state),
        diagnostics={"raw_value": h},
    )


GaussianEstimator = from_function(
    gaussian_mi,
    "gaussian",
    doc="Closed-form MI of a fitted joint Gaussian; the class twin of :func:`gaussian_mi`.",
    cls_name="GaussianEstimator",
)
