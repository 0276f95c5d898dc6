"""Invertible maps that keep mutual information, and the tasks built with them.

Mutual information is invariant under injective (measurable, a.e. differentiable) maps
of ``x`` and of ``y`` separately, so a transformed task has its base task's MI while the
samples look very different to an estimator. The maps and their ids are benchmark-mi's:

- ``half_cube-{base}``: ``t -> t * sqrt(|t|)`` per coordinate (heavier tails);
- ``asinh-{base}``: ``arcsinh`` per coordinate (lighter tails, e.g. of a Student-t);
- ``normal_cdf-{base}``: the standard normal CDF per coordinate (onto (0, 1));
- ``wiggly-{base}`` (1-D): two fixed strictly increasing wiggly functions;
- ``swissroll_x-{base}`` (``x`` 1-D in [0, 1], e.g. ``normal_cdf-1v1-normal-0.75``):
  embeds ``x`` as a Swiss roll in 2-D, ``t = 1.5 pi (1 + 2 x)``,
  ``x -> (t cos t, t sin t) / 21``; ``y`` is unchanged and ``dim_x`` becomes 2;
- ``spiral-{base}``: ``v -> R(|v|^2 / dim) v`` with ``R(t)`` the rotation by angle ``t``
  in the plane of coordinates (0, 1) for ``x`` and (1, 2) for ``y`` (needs
  ``dim_x >= 2``, ``dim_y >= 3``); a norm-preserving, invertible twist.

``1v1-bimodal-{rho}`` pushes a bivariate normal through the normal CDF and then through
the inverse CDFs of two Gaussian mixtures (``0.3 N(0,1) + 0.7 N(5,1)`` for ``x``,
``0.5 N(-1,1) + 0.5 N(3,1)`` for ``y``), giving bimodal marginals with the MI of the
bivariate normal.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import ndtr

from ._base import Task

__all__ = [
    "half_cube",
    "normal_cdf",
    "wiggly_x",
    "wiggly_y",
    "spiral",
    "swissroll",
    "mixture_icdf",
    "TRANSFORMS",
    "transform_task",
    "bimodal_gaussians",
]

Array = np.ndarray


def half_cube(t: Array) -> Array:
    """Signed ``|t|^(3/2)``: ``t * sqrt(|t|)``."""
    return t * np.sqrt(np.abs(t))


def normal_cdf(t: Array) -> Array:
    """Standard normal CDF, elementwise."""
    return ndtr(t)


def wiggly_x(t: Array) -> Array:
    """Strictly increasing wiggle applied to x (derivative >= 1 - 0.4 - 0.34 - 0.099 > 0)."""
    return t + 0.4 * np.sin(t) + 0.2 * np.sin(1.7 * t + 1.0) + 0.03 * np.sin(3.3 * t - 2.5)


def wiggly_y(t: Array) -> Array:
    """Strictly increasing wiggle applied to y."""
    return t - 0.4 * np.sin(0.4 * t) + 0.17 * np.sin(1.3 * t + 3.5) + 0.02 * np.sin(4.3 * t - 2.5)


def spiral(v: Array, i: int, j: int, speed: float) -> Array:
    """Rotate each row ``v`` by angle ``speed * |v|^2`` in the plane of coordinates (i, j).

    Parameters
    ----------
    v : numpy.ndarray, shape (n, d)
    i, j : int
        The plane of rotation, ``0 <= i < j < d``.
    speed : float
        Radians per unit of squared norm.

    Returns
    -------
    numpy.ndarray, shape (n, d)
        Same norms; invertible because the angle depends only on the norm.
    """
    theta = speed * np.einsum("nd,nd->n", v, v)
    c, s = np.cos(theta), np.sin(theta)
    out = v.copy()
    out[:, i] = c * v[:, i] - s * v[:, j]
    out[:, j] = s * v[:, i] + c * v[:, j]
    return out


def mixture_icdf(
    u: Array,
    weights: tuple[float, ...],
    means: tuple[float, ...],
    lo: float = -20.0,
    hi: float = 20.0,
) -> Array:
    """Inverse CDF of a mixture of unit-variance normals, by vectorised bisection.

    Parameters
    ----------
    u : numpy.ndarray
        Probabilities in (0, 1).
    weights, means : tuple of float
        Mixture weights (summing to 1) and component means.
    lo, hi : float
        Bracket searched.

    Returns
    -------
    numpy.ndarray
        Same shape as ``u``, accurate to about 1e-12.
    """
    a = np.full(u.shape, lo)
    b = np.full(u.shape, hi)
    w = np.asarray(weights)
    m = np.asarray(means)
    for _ in range(60):
        mid = 0.5 * (a + b)
        cdf = (w * ndtr(mid[..., None] - m)).sum(-1)
        below = cdf < u
        a = np.where(below, mid, a)
        b = np.where(below, b, mid)
    return 0.5 * (a + b)


def swissroll(x: Array) -> Array:
    """Embed ``x`` of shape (n, 1) with values in [0, 1] as a 2-D Swiss roll, shape (n, 2)."""
    t = 1.5 * np.pi * (1.0 + 2.0 * x[:, 0])
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 21.0


def _swissroll_task(base: Task) -> Task:
    if base.dim_x != 1 or base.discrete_x:
        raise ValueError(
            f"swissroll_x needs a continuous 1-D x with values in [0, 1], got dim_x={base.dim_x} "
            f"({base.id!r})"
        )
    inner = base.transformed("swissroll_x", swissroll, lambda y: y, "Swiss roll")
    return Task(
        id=inner.id,
        dim_x=2,
        dim_y=base.dim_y,
        name=inner.name,
        mi=base.mi,
        sampler=inner.sampler,
        discrete_y=base.discrete_y,
        params=inner.params,
    )


def _spiral_task(base: Task) -> Task:
    if base.dim_x < 2 or base.dim_y < 3:
        raise ValueError(
            "spiral needs dim_x >= 2 and dim_y >= 3 (a plane to rotate in), got "
            f"dim_x={base.dim_x}, dim_y={base.dim_y} for base task {base.id!r}"
        )
    sx, sy = 1.0 / base.dim_x, 1.0 / base.dim_y
    return base.transformed(
        "spiral", lambda x: spiral(x, 0, 1, sx), lambda y: spiral(y, 1, 2, sy), "Spiral"
    )


def _wiggly_task(base: Task) -> Task:
    if base.dim_x != 1 or base.dim_y != 1:
        raise ValueError(
            f"wiggly needs a 1 x 1 base task, got {base.dim_x} x {base.dim_y} ({base.id!r})"
        )
    return base.transformed("wiggly", wiggly_x, wiggly_y, "Wiggly")


TRANSFORMS: dict[str, Callable[[Task], Task]] = {
    "half_cube": lambda b: b.transformed("half_cube", half_cube, half_cube, "Half-cube"),
    "asinh": lambda b: b.transformed("asinh", np.arcsinh, np.arcsinh, "Asinh"),
    "normal_cdf": lambda b: b.transformed("normal_cdf", normal_cdf, normal_cdf, "Normal CDF"),
    "wiggly": _wiggly_task,
    "spiral": _spiral_task,
    "swissroll_x": _swissroll_task,
}
"""Id prefix -> function wrapping a base task."""


def transform_task(prefix: str, base: Task) -> Task:
    """Wrap ``base`` in the transform named ``prefix`` (a key of ``TRANSFORMS``).

    Raises
    ------
    ValueError
        Unknown prefix, or a base task of the wrong dimensions for the transform.
    """
    if prefix not in TRANSFORMS:
        raise ValueError(f"transform must be one of {sorted(TRANSFORMS)}; got {prefix!r}")
    return TRANSFORMS[prefix](base)


def bimodal_gaussians(correlation: float = 0.75) -> Task:
    """``1v1-bimodal-{correlation}``: bivariate normal with bimodal marginals (same MI)."""
    from .gaussian import bivariate_normal

    base = bivariate_normal(correlation)

    def fx(x: Array) -> Array:
        return mixture_icdf(ndtr(x), (0.3, 0.7), (0.0, 5.0))

    def fy(y: Array) -> Array:
        return mixture_icdf(ndtr(y), (0.5, 0.5), (-1.0, 3.0))

    task = base.transformed("bimodal", fx, fy, "Bimodal")
    return Task(
        id=base.id.replace("1v1-normal-", "1v1-bimodal-"),
        dim_x=1,
        dim_y=1,
        name="Bimodal 1 x 1",
        mi=base.mi,
        sampler=task.sampler,
        params={"correlation": base.params["correlation"]},
    )
