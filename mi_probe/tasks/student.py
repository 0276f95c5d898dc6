"""Multivariate Student-t tasks (benchmark-mi's ``student-*`` family).

``(x, y) = z / sqrt(w / dof)`` with ``z ~ N(0, S)`` and ``w ~ chi2(dof)``: a joint
multivariate t with dispersion ``S``. Its mutual information is that of the Gaussian
with covariance ``S`` plus a correction that depends only on the dimensions and
``dof`` [1]_ [2]_:

    I = I_gauss(S) + h(dim_x) + h(dim_y) - h(dim_x + dim_y),

    h(k) = log G(dof/2) - log G((dof+k)/2) + k/2 log(dof pi)
           + (dof+k)/2 (psi((dof+k)/2) - psi(dof/2)),

the differential entropy of a standard k-dimensional t (identity dispersion). The
correction is positive: heavy tails share information even when ``S`` is diagonal.

References
----------
.. [1] R. B. Arellano-Valle, J. E. Contreras-Reyes, M. G. Genton, "Shannon entropy and
   mutual information for multivariate skew-elliptical distributions",
   Scand. J. Stat. 40 (2013).
.. [2] P. Czyz et al., "Beyond normality: learning and evaluating mutual information
   estimators", NeurIPS 2023.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from .._validation import check_int, check_positive
from ._base import Task, fmt_float
from .gaussian import dense_covariance, gaussian_mi, sparse_covariance

__all__ = [
    "student_t_entropy",
    "student_t_correction",
    "student_task",
    "student_identity",
    "student_dense",
    "student_sparse",
]


def student_t_entropy(k: int, dof: float) -> float:
    """Differential entropy of a standard ``k``-dimensional Student-t (identity dispersion).

    Parameters
    ----------
    k : int
        Dimension.
    dof : float
        Degrees of freedom, > 0.

    Returns
    -------
    float
        Entropy in nats.
    """
    a = 0.5 * (dof + k)
    b = 0.5 * dof
    return float(
        gammaln(b) - gammaln(a) + 0.5 * k * np.log(dof * np.pi) + a * (digamma(a) - digamma(b))
    )


def student_t_correction(dim_x: int, dim_y: int, dof: float) -> float:
    """The term added to the Gaussian MI of the dispersion matrix, in nats (>= 0)."""
    return (
        student_t_entropy(dim_x, dof)
        + student_t_entropy(dim_y, dof)
        - student_t_entropy(dim_x + dim_y, dof)
    )


def student_task(
    task_id: str, name: str, dispersion: np.ndarray, dim_x: int, dof: float, params: dict
) -> Task:
    """A zero-location multivariate t task with the given dispersion matrix."""
    disp = np.asarray(dispersion, dtype=np.float64)
    d = disp.shape[0]
    mi = gaussian_mi(disp, dim_x) + student_t_correction(dim_x, d - dim_x, dof)
    chol = np.linalg.cholesky(disp)

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((n, d)) @ chol.T
        w = rng.chisquare(dof, size=(n, 1))
        xy = z / np.sqrt(w / dof)
        return xy[:, :dim_x], xy[:, dim_x:]

    return Task(
        id=task_id,
        dim_x=dim_x,
        dim_y=d - dim_x,
        name=name,
        mi=mi,
        sampler=sampler,
        params={**params, "dof": dof, "dispersion": disp},
    )


def _check_dims(dim_x: int, dim_y: int) -> tuple[int, int]:
    return check_int(dim_x, "dim_x", low=1), check_int(dim_y, "dim_y", low=1)


def student_identity(dim_x: int, dim_y: int, dof: int) -> Task:
    """``student-identity-{dim_x}-{dim_y}-{dof}``: identity dispersion; MI is the correction.

    Raises
    ------
    ValueError
        Dimensions or ``dof`` below 1.
    """
    dim_x, dim_y = _check_dims(dim_x, dim_y)
    dof = check_int(dof, "dof", low=1)
    return student_task(
        f"student-identity-{dim_x}-{dim_y}-{dof}",
        f"Student-t {dim_x} x {dim_y} (dof={dof})",
        np.eye(dim_x + dim_y),
        dim_x,
        dof,
        {},
    )


def student_dense(dim_x: int, dim_y: int, dof: int, off_diag: float = 0.5) -> Task:
    """``student-dense-{dim_x}-{dim_y}-{dof}-{off_diag}``: dense dispersion (as multinormal-dense).

    Raises
    ------
    ValueError
        Dimensions or ``dof`` below 1, or ``off_diag`` outside ``(-1/(d-1), 1)``.
    """
    dim_x, dim_y = _check_dims(dim_x, dim_y)
    dof = check_int(dof, "dof", low=1)
    c = float(off_diag)
    if not -1.0 / (dim_x + dim_y - 1) < c < 1.0:
        raise ValueError(
            f"off_diag must be in (-1/{dim_x + dim_y - 1}, 1) for a positive definite "
            f"matrix, got {c}"
        )
    return student_task(
        f"student-dense-{dim_x}-{dim_y}-{dof}-{fmt_float(c)}",
        f"Student-t {dim_x} x {dim_y} (dof={dof}, dense)",
        dense_covariance(dim_x, dim_y, c),
        dim_x,
        dof,
        {"off_diag": c},
    )


def student_sparse(
    dim_x: int, dim_y: int, dof: int, n_interacting: int = 2, strength: float = 2.0
) -> Task:
    """``student-sparse-{dim_x}-{dim_y}-{dof}-{n_interacting}-{strength}``.

    Raises
    ------
    ValueError
        Dimensions or ``dof`` below 1, ``n_interacting`` out of range, negative ``strength``.
    """
    dim_x, dim_y = _check_dims(dim_x, dim_y)
    dof = check_int(dof, "dof", low=1)
    k = check_int(n_interacting, "n_interacting", low=0, high=min(dim_x, dim_y))
    s = check_positive(strength, "strength", allow_zero=True)
    return student_task(
        f"student-sparse-{dim_x}-{dim_y}-{dof}-{k}-{fmt_float(s)}",
        f"Student-t {dim_x} x {dim_y} (dof={dof}, sparse)",
        sparse_covariance(dim_x, dim_y, k, s),
        dim_x,
        dof,
        {"n_interacting": k, "strength": s},
    )
