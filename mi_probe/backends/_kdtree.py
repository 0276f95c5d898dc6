"""scipy cKDTree backend: O(n log n) neighbour queries on the CPU, all cores."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ._base import nudge
from ._numpy import NumpyBackend

__all__ = ["KDTreeBackend"]

_P = {"max": np.inf, "l2": 2.0}


class KDTreeBackend:
    """Neighbour searches with ``scipy.spatial.cKDTree`` (``workers=-1``).

    One-dimensional counts use a sorted array and binary search, which is several
    times faster than a tree. Kernel sums fall back to the dense numpy backend.
    """

    name = "kdtree"

    def __init__(self, workers: int = -1, leafsize: int = 16) -> None:
        self.workers = workers
        self.leafsize = leafsize

    def knn(self, points: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
        tree = cKDTree(points, leafsize=self.leafsize, balanced_tree=False, compact_nodes=False)
        dist, idx = tree.query(points, k=k + 1, p=_P[metric], workers=self.workers)
        dist = np.asarray(dist).reshape(points.shape[0], k + 1)
        idx = np.asarray(idx).reshape(points.shape[0], k + 1)
        # Drop the point itself. With duplicate points the self match need not be in
        # column 0, so remove it by index where it appears and the last column elsewhere.
        rows = np.arange(points.shape[0])
        is_self = idx == rows[:, None]
        has_self = is_self.any(axis=1)
        keep = ~is_self
        keep[~has_self, -1] = False
        return dist[keep].reshape(-1, k), idx[keep].reshape(-1, k)

    def count_within(
        self, points: np.ndarray, radius: np.ndarray, metric: str, *, inclusive: bool
    ) -> np.ndarray:
        if points.shape[1] == 1:
            v = points[:, 0]
            s = np.sort(v)
            # v +- r rounds at the scale of |v|, not of r: nudge by that rounding
            tol = 8.0 * np.finfo(np.float64).eps * (np.abs(v) + radius)
            r = radius + tol if inclusive else radius - tol
            if inclusive:
                hi = np.searchsorted(s, v + r, side="right")
                lo = np.searchsorted(s, v - r, side="left")
            else:
                hi = np.searchsorted(s, v + r, side="left")
                lo = np.searchsorted(s, v - r, side="right")
            return (hi - lo - 1).astype(np.int64)
        r = nudge(radius, inclusive=inclusive)
        tree = cKDTree(points, leafsize=self.leafsize, balanced_tree=False, compact_nodes=False)
        # query_ball_point counts distance <= r; for strict counts r was shrunk above
        counts = tree.query_ball_point(
            points, r, p=_P[metric], return_length=True, workers=self.workers
        )
        return np.asarray(counts, dtype=np.int64) - 1

    def gaussian_logsumexp(
        self, queries: np.ndarray, points: np.ndarray, variance: float
    ) -> np.ndarray:
        return NumpyBackend().gaussian_logsumexp(queries, points, variance)
