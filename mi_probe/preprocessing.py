"""Preprocessing that leaves mutual information unchanged (or only lowers it, said so).

Mutual information is invariant under invertible maps of each variable separately, so
standardising, or replacing every coordinate by its normal scores (a Gaussian copula
transform), changes the true I(x; y) not at all while making estimators' jobs easier:
the copula transform undoes any per-coordinate monotone distortion (half-cube, asinh,
normal-CDF, heavy tails) exactly, up to sampling of the ranks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

from ._validation import check_array, check_int, standardize_columns

__all__ = ["standardize", "copula_normalize", "reduce_dim", "PREPROCESSORS"]


def standardize(x: Any) -> np.ndarray:
    """Zero mean and unit variance per column (constant columns are only centred).

    Parameters
    ----------
    x : array-like, shape (n_samples,) or (n_samples, d)

    Returns
    -------
    numpy.ndarray, shape (n_samples, d), float64
    """
    a = check_array(x, "x")
    # scale-safe: np.std over/underflows for columns near 1e154 or 1e-160
    return standardize_columns(a)[0]


def copula_normalize(x: Any) -> np.ndarray:
    """Replace each column by its normal scores ``Phi^-1(rank / (n + 1))``.

    Ties get the average rank, so repeated values stay repeated (tie handling of the
    estimator downstream still applies).

    Parameters
    ----------
    x : array-like, shape (n_samples,) or (n_samples, d)

    Returns
    -------
    numpy.ndarray, shape (n_samples, d)
        Each column marginally standard normal (up to ties). I(x; y) is unchanged.

    References
    ----------
    R. A. A. Ince et al., "A statistical framework for neuroimaging data analysis based
    on mutual information estimated via a Gaussian copula", Hum. Brain Mapp. 38 (2017).
    """
    a = check_array(x, "x")
    n = a.shape[0]
    ranks = rankdata(a, axis=0, method="average")
    return ndtri(ranks / (n + 1.0))


def reduce_dim(
    x: Any,
    n_components: int,
    *,
    method: str = "auto",
    n_iter: int = 4,
    random_state: int = 0,
    progress_bar: bool = False,
) -> np.ndarray:
    """Project onto the top ``n_components`` principal components.

    Caveat: any map that is not invertible can only lower mutual information (data
    processing inequality), so an estimate after this is a lower bound on I(x; y).

    Parameters
    ----------
    x : array-like, shape (n_samples, d)
    n_components : int
        Kept dimensions, 1 <= n_components <= d.
    method : {"auto", "full", "randomized"}
        ``"full"``: an exact thin SVD (cost ``n d min(n, d)``, memory a few copies of
        ``x``). ``"randomized"``: the randomized range finder of Halko et al. (cost
        ``n d (k + 10) (2 n_iter + 2)``, memory ``x`` plus ``(n + d) (k + 10)``; the
        data are centred implicitly, never copied). ``"auto"`` picks randomized when
        ``n_components`` is below a quarter of ``min(n, d)`` and ``min(n, d) > 500``.
    n_iter : int
        Power iterations of the randomized method (more: closer to the exact axes when
        the spectrum decays slowly).
    random_state : int
        Seed of the randomized method.
    progress_bar : bool
        Report the randomized method's passes over ``x`` on stderr.

    Returns
    -------
    numpy.ndarray, shape (n_samples, n_components), float64
        Coordinates on the principal axes (centred).

    Raises
    ------
    ValueError
        ``n_components`` outside [1, d], unknown ``method``, ``n_iter < 0``.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness:
    probabilistic algorithms for constructing approximate matrix decompositions",
    SIAM Review 53 (2011).
    """
    from ._validation import check_choice

    check_choice(method, "method", ("auto", "full", "randomized"))
    n_iter = check_int(n_iter, "n_iter", low=0)
    seed = check_int(random_state, "random_state", low=0)
    src = x.detach().cpu().numpy() if hasattr(x, "detach") else x
    single = getattr(src, "dtype", None) == np.float32
    a = check_array(src, "x", dtype=np.float32 if single else np.float64)
    n, d = a.shape
    k = check_int(n_components, "n_components", low=1, high=d)
    small = min(n, d)
    if method == "auto":
        method = "randomized" if (small > 500 and 4 * k < small) else "full"
    mean = a.mean(axis=0, dtype=np.float64).astype(a.dtype)
    if method == "full":
        centred = a - mean
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        return (centred @ vt[:k].T).astype(np.float64)
    from ._progress import progress

    q = min(k + 10, small)
    g = np.random.default_rng(seed)
    ones = np.ones((n, 1), dtype=a.dtype)
    mrow = mean.reshape(1, -1)

    def times(m: np.ndarray) -> np.ndarray:  # (a - mean) @ m
        return a @ m - ones @ (mrow @ m)

    def times_t(m: np.ndarray) -> np.ndarray:  # (a - mean).T @ m
        return a.T @ m - mrow.T @ (ones.T @ m)

    basis, _ = np.linalg.qr(times(g.standard_normal((d, q)).astype(a.dtype)))
    for _ in progress(range(n_iter), desc="reduce_dim", enabled=progress_bar):
        z, _ = np.linalg.qr(times_t(basis))
        basis, _ = np.linalg.qr(times(z))
    small_b = times_t(basis).T  # (q, d): basis.T @ (a - mean)
    _, _, vt = np.linalg.svd(small_b.astype(np.float64), full_matrices=False)
    return times(vt[:k].T.astype(a.dtype)).astype(np.float64)


PREPROCESSORS = {"none": None, "standardize": standardize, "copula": copula_normalize}
