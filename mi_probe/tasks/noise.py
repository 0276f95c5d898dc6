"""Additive uniform noise (benchmark-mi's ``1v1-additive-{epsilon}``).

``x ~ Uniform(0, 1)``, ``y = x + n`` with ``n ~ Uniform(-epsilon, epsilon)``. Since
``h(y | x) = log(2 epsilon)``, ``I = h(y) - log(2 epsilon)``; the density of ``y`` is a
trapezoid (``epsilon <= 1/2``) or a flat-topped triangle, which gives

    I = epsilon - log(2 epsilon)      if epsilon <= 1/2,
    I = 1 / (4 epsilon)               otherwise.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive
from ._base import Task, fmt_float

__all__ = ["additive_uniform_mi", "additive_noise"]


def additive_uniform_mi(epsilon: float) -> float:
    """Closed-form I(x; y) in nats of the additive uniform noise task."""
    eps = check_positive(epsilon, "epsilon")
    if eps <= 0.5:
        return float(eps - np.log(2.0 * eps))
    return 0.25 / eps


def additive_noise(epsilon: float) -> Task:
    """``1v1-additive-{epsilon}``: uniform x plus uniform noise of half-width ``epsilon``.

    Raises
    ------
    ValueError
        ``epsilon`` not > 0.
    """
    eps = check_positive(epsilon, "epsilon")

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(0.0, 1.0, size=(n, 1))
        return x, x + rng.uniform(-eps, eps, size=(n, 1))

    return Task(
        id=f"1v1-additive-{fmt_float(eps)}",
        dim_x=1,
        dim_y=1,
        name=f"Uniform 1 x 1 (additive noise={eps})",
        mi=additive_uniform_mi(eps),
        sampler=sampler,
        params={"epsilon": eps},
    )
