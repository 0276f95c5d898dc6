"""The ``Task`` type: a sampler of paired data with a known mutual information."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_int, check_random_state

__all__ = ["Task", "Sampler", "fmt_float"]

Sampler = Callable[[int, np.random.Generator], "tuple[np.ndarray, np.ndarray]"]
"""``sampler(n, rng) -> (x, y)`` with shapes ``(n, dim_x)`` and ``(n, dim_y)``."""


def fmt_float(value: float) -> str:
    """How a real parameter is spelled in a task id (Python's float repr: 0.5, 2.0, 0.1)."""
    return repr(float(value))


@dataclass(frozen=True)
class Task:
    """A joint distribution of ``(x, y)`` whose mutual information is known exactly.

    Tasks are made by :func:`mi_probe.tasks.get_task` from an id; their ids follow
    benchmark-mi (Czyz et al. 2023) where the distribution is the same.

    Attributes
    ----------
    id : str
        Canonical task id, e.g. ``"multinormal-dense-5-5-0.5"``;
        ``get_task(task.id)`` gives the same task back.
    dim_x, dim_y : int
        Dimensions of ``x`` and ``y``.
    name : str
        A human-readable name.
    mi : float
        The exact mutual information I(x; y) in nats (see :meth:`mutual_information`).
    discrete_x, discrete_y : bool
        Whether the variable takes finitely many values (integer codes stored as floats).
    params : Mapping[str, Any]
        The parameters the task was built from.
    """

    id: str
    dim_x: int
    dim_y: int
    name: str
    mi: float
    sampler: Sampler = field(repr=False, compare=False)
    discrete_x: bool = False
    discrete_y: bool = False
    params: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def mutual_information(self) -> float:
        """The exact mutual information I(x; y).

        Returns
        -------
        float
            Mutual information in nats.
        """
        return float(self.mi)

    def sample(
        self, n: int, seed: int | np.random.Generator | None = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` independent pairs ``(x, y)``.

        Parameters
        ----------
        n : int
            Number of samples, at least 1.
        seed : int, numpy.random.Generator or None
            Seed for the draw; the same int always gives the same samples.

        Returns
        -------
        x : numpy.ndarray, shape (n, dim_x), float64
        y : numpy.ndarray, shape (n, dim_y), float64
            Discrete variables hold integer codes as floats.

        Raises
        ------
        ValueError
            ``n`` is not a positive integer, or ``seed`` is not a valid seed.
        """
        n = check_int(n, "n", low=1)
        rng = check_random_state(seed, "seed")
        x, y = self.sampler(n, rng)
        x = np.asarray(x, dtype=np.float64).reshape(n, self.dim_x)
        y = np.asarray(y, dtype=np.float64).reshape(n, self.dim_y)
        return x, y

    def transformed(
        self,
        prefix: str,
        fx: Callable[[np.ndarray], np.ndarray],
        fy: Callable[[np.ndarray], np.ndarray],
        name: str,
    ) -> Task:
        """This task with invertible maps applied to ``x`` and ``y`` (same MI).

        Parameters
        ----------
        prefix : str
            Id prefix; the new id is ``f"{prefix}-{self.id}"``.
        fx, fy : callable
            Injective maps of arrays of shape ``(n, dim_x)`` / ``(n, dim_y)`` to arrays
            of the same shape.
        name : str
            Name of the transform, used in the task name.

        Returns
        -------
        Task
            Same dimensions, same mutual information.
        """
        base = self.sampler

        def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
            x, y = base(n, rng)
            return fx(np.asarray(x, dtype=np.float64)), fy(np.asarray(y, dtype=np.float64))

        return Task(
            id=f"{prefix}-{self.id}",
            dim_x=self.dim_x,
            dim_y=self.dim_y,
            name=f"{name} @ {self.name}",
            mi=self.mi,
            sampler=sampler,
            discrete_x=self.discrete_x,
            discrete_y=self.discrete_y,
            params={**self.params, "transform": prefix, "base": self.id},
        )
