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

from ._validation import check_array, check_int

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
    std = a.std(axis=0)
    std[std == 0] = 1.0
    return (a - a.mean(axis=0)) / std


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


def reduce_dim(x: Any, n_components: int) -> np.ndarray:
    """Project onto the top ``n_components`` principal components.

    Caveat: any map that is not invertible can only lower mutual information (data
    processing inequality), so an estimate after this is a lower bound on I(x; y).

    Parameters
    ----------
    x : array-like, shape (n_samples, d)
    n_components : int
        Kept dimensions, 1 <= n_components <= d.

    Returns
    -------
    numpy.ndarray, shape (n_samples, n_components)

    Raises
    ------
    ValueError
        ``n_components`` outside [1, d].
    """
    a = check_array(x, "x")
    k = check_int(n_components, "n_components", low=1, high=a.shape[1])
    centred = a - a.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:k].T


PREPROCESSORS = {"none": None, "standardize": standardize, "copula": copula_normalize}
