"""Jointly Gaussian tasks: bivariate normal, dense and sparse multinormal.

The dense and sparse covariance matrices are those of benchmark-mi [1]_:

- dense: correlation ``off_diag`` between every pair of the ``dim_x + dim_y``
  coordinates, unit variances;
- sparse ("2-pair" when ``n_interacting=2``): a latent-variable model with
  ``X_i = strength * Z_i + E_i`` and ``Y_i = strength * Z_i + F_i`` for the first
  ``n_interacting`` coordinates, and ``X_i = strength * V_i + E_i`` (likewise ``Y``)
  for the others, all latents standard normal. Every coordinate has variance
  ``1 + strength**2``; the matrix is rescaled to a correlation matrix, so
  ``corr(X_i, Y_i) = strength**2 / (1 + strength**2)`` for ``i < n_interacting``
  and every other correlation is 0.

References
----------
.. [1] P. Czyz, F. Grabowski, J. E. Vogt, N. Beerenwinkel, A. Marx, "Beyond normality:
   learning and evaluating mutual information estimators", NeurIPS 2023.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_positive
from ._base import Task, fmt_float

__all__ = [
    "gaussian_mi",
    "dense_covariance",
    "sparse_covariance",
    "multinormal_task",
    "bivariate_normal",
    "multinormal_dense",
    "multinormal_sparse",
]


def gaussian_mi(covariance: np.ndarray, dim_x: int) -> float:
    """Mutual information of a jointly Gaussian ``(x, y)``.

    Parameters
    ----------
    covariance : numpy.ndarray, shape (dim_x + dim_y, dim_x + dim_y)
        Joint covariance, symmetric positive definite; ``x`` is the first ``dim_x``
        coordinates.
    dim_x : int
        Dimension of ``x``.

    Returns
    -------
    float
        ``0.5 * (log det S_xx + log det S_yy - log det S)`` in nats.

    Raises
    ------
    ValueError
        ``covariance`` is not square, symmetric and positive definite.
    """
    cov = np.asarray(covariance, dtype=np.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"covariance must be a square matrix, got shape {cov.shape}")
    if not np.allclose(cov, cov.T):
        raise ValueError("covariance must be symmetric")
    dim_x = check_int(dim_x, "dim_x", low=1, high=cov.shape[0] - 1)
    parts = (cov, cov[:dim_x, :dim_x], cov[dim_x:, dim_x:])
    logdets = []
    for part in parts:
        sign, logdet = np.linalg.slogdet(part)
        if sign <= 0 or np.min(np.linalg.eigvalsh(part)) <= 0:
            raise ValueError("covariance must be positive definite")
        logdets.append(logdet)
    return max(0.0, 0.5 * (logdets[1] + logdets[2] - logdets[0]))


def dense_covariance(dim_x: int, dim_y: int, off_diag: float) -> np.ndarray:
    """Unit variances and correlation ``off_diag`` between all coordinates.

    Returns
    -------
    numpy.ndarray, shape (dim_x + dim_y, dim_x + dim_y)
    """
    d = dim_x + dim_y
    return np.full((d, d), float(off_diag)) + (1.0 - float(off_diag)) * np.eye(d)


def sparse_covariance(dim_x: int, dim_y: int, n_interacting: int, strength: float) -> np.ndarray:
    """Correlation matrix of benchmark-mi's sparse latent-variable model (see module notes).

    Returns
    -------
    numpy.ndarray, shape (dim_x + dim_y, dim_x + dim_y)
    """
    d = dim_x + dim_y
    s2 = float(strength) ** 2
    # variance: unit noise + strength^2 (from Z_i for interacting coordinates, from the
    # per-coordinate V_i / W_i term for the others), so every coordinate has 1 + s^2
    cov = np.eye(d) * (1.0 + s2)
    for i in range(n_interacting):
        cov[i, dim_x + i] = cov[dim_x + i, i] = s2
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def multinormal_task(
    task_id: str, name: str, covariance: np.ndarray, dim_x: int, params: dict
) -> Task:
    """A zero-mean Gaussian task with the given joint covariance."""
    cov = np.asarray(covariance, dtype=np.float64)
    mi = gaussian_mi(cov, dim_x)
    chol = np.linalg.cholesky(cov)
    d = cov.shape[0]

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        xy = rng.standard_normal((n, d)) @ chol.T
        return xy[:, :dim_x], xy[:, dim_x:]

    return Task(
        id=task_id,
        dim_x=dim_x,
        dim_y=d - dim_x,
        name=name,
        mi=mi,
        sampler=sampler,
        params={**params, "covariance": cov},
    )


def _check_corr(value: float, name: str) -> float:
    value = float(value)
    if not -1.0 < value < 1.0:
        raise ValueError(f"{name} must be in (-1, 1), got {value}")
    return value


def bivariate_normal(correlation: float = 0.75) -> Task:
    """``1v1-normal-{correlation}``: standard bivariate normal, MI ``-0.5 log(1 - rho^2)``.

    Raises
    ------
    ValueError
        ``correlation`` outside (-1, 1).
    """
    rho = _check_corr(correlation, "correlation")
    cov = np.array([[1.0, rho], [rho, 1.0]])
    task = multinormal_task(
        f"1v1-normal-{fmt_float(rho)}", "Bivariate normal 1 x 1", cov, 1, {"correlation": rho}
    )
    return task


def multinormal_dense(dim_x: int, dim_y: int, off_diag: float = 0.5) -> Task:
    """``multinormal-dense-{dim_x}-{dim_y}-{off_diag}`` (benchmark-mi's dense task).

    Raises
    ------
    ValueError
        Dimensions below 1, or ``off_diag`` that does not give a positive definite
        matrix (it must lie in ``(-1 / (dim_x + dim_y - 1), 1)``).
    """
    dim_x = check_int(dim_x, "dim_x", low=1)
    dim_y = check_int(dim_y, "dim_y", low=1)
    c = float(off_diag)
    if not -1.0 / (dim_x + dim_y - 1) < c < 1.0:
        raise ValueError(
            f"off_diag must be in (-1/{dim_x + dim_y - 1}, 1) for a positive definite "
            f"matrix, got {c}"
        )
    return multinormal_task(
        f"multinormal-dense-{dim_x}-{dim_y}-{fmt_float(c)}",
        f"Multinormal {dim_x} x {dim_y} (dense)",
        dense_covariance(dim_x, dim_y, c),
        dim_x,
        {"off_diag": c},
    )


def multinormal_sparse(
    dim_x: int, dim_y: int, n_interacting: int = 2, strength: float = 2.0
) -> Task:
    """``multinormal-sparse-{dim_x}-{dim_y}-{n_interacting}-{strength}`` (benchmark-mi).

    MI is ``-n_interacting / 2 * log(1 - r^2)`` with ``r = s^2 / (1 + s^2)``.

    Raises
    ------
    ValueError
        Dimensions below 1, ``n_interacting`` outside ``[0, min(dim_x, dim_y)]``, or a
        negative ``strength``.
    """
    dim_x = check_int(dim_x, "dim_x", low=1)
    dim_y = check_int(dim_y, "dim_y", low=1)
    k = check_int(n_interacting, "n_interacting", low=0, high=min(dim_x, dim_y))
    s = check_positive(strength, "strength", allow_zero=True)
    return multinormal_task(
        f"multinormal-sparse-{dim_x}-{dim_y}-{k}-{fmt_float(s)}",
        f"Multinormal {dim_x} x {dim_y} (sparse)",
        sparse_covariance(dim_x, dim_y, k, s),
        dim_x,
        {"n_interacting": k, "strength": s},
    )
