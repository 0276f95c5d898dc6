"""The pairwise primitives every backend provides.

All distances are in the max-norm (``"max"``, Chebyshev) or Euclidean (``"l2"``) metric.
The query points are the data themselves and a point is never its own neighbour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["Backend", "METRICS", "nudge"]

METRICS = ("max", "l2")

# Radii are nudged by a few units of rounding so that a point lying exactly on the
# radius (the k-th neighbour itself, in the max-norm) is reliably outside a strict
# count and inside an inclusive one. Distances and radii come from the same
# subtraction, so a few ulps suffice; continuous data never sits that close by chance.
_ULPS = 16.0


def nudge(r: Any, *, inclusive: bool, eps: float = 2.220446049250313e-16) -> Any:
    """Radius for an inclusive count (distance <= r) or a strict one (distance < r).

    ``eps`` is the machine epsilon of the dtype the distances are computed in.
    """
    rel = _ULPS * eps
    return r * (1.0 + rel) if inclusive else r * (1.0 - rel)


class Backend(Protocol):
    """What an estimator may ask of a backend."""

    name: str

    def knn(self, points: Any, k: int, metric: str) -> tuple[Any, Any]:
        """Distances (n, k), ascending, and indices (n, k) of each point's k nearest others."""
        ...

    def count_within(self, points: Any, radius: Any, metric: str, *, inclusive: bool) -> Any:
        """Number of *other* points within ``radius[i]`` of point i, shape (n,), int64."""
        ...

    def gaussian_logsumexp(
        self, queries: Any, points: Any, variance: float | Sequence[float]
    ) -> Any:
        """``log sum_j exp(-||q_i - p_j||^2 / (2 v))`` per query, shape (m,).

        For a sequence ``[v, 4v, ...]`` (each 4x the previous) the result has shape
        (len, m) and comes from one distance pass. Passing the same object as queries
        and points lets a backend use the symmetry.
        """
        ...
