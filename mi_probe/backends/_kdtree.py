"""kd-tree backend on scipy and scikit-learn trees: O(n log n) neighbour queries on the
CPU, all cores. ``backend="auto"`` uses it when the compiled kd-tree of
:mod:`mi_probe.backends._native` is not available (no C compiler); the answers are the same.

Two things make it fast (measured in ``benchmarks/speed.py``):

* Queries run in the tree's own leaf order and the answers are put back in the
  input order afterwards: consecutive queries then walk nearly the same nodes, so the
  tree stays in cache (about 1.3x for k-NN and 2.3x for counts at n=100k, 5 dims).
* Counts in more than one dimension use scikit-learn's ``KDTree`` with
  ``count_only=True``, which adds a whole node's size when the node lies inside the
  radius instead of visiting its points (scipy's ``query_ball_point`` visits every
  point it counts). Its loop releases the GIL, so chunks run on a thread pool.

One-dimensional counts use a sorted array and binary search.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from .._threads import native_workers
from ._base import nudge
from ._numpy import NumpyBackend

__all__ = ["KDTreeBackend"]

_P = {"max": np.inf, "l2": 2.0}
_SK_METRIC = {"max": "chebyshev", "l2": "euclidean"}
# Below this many points one thread is faster (thread start-up dominates).
_MIN_PARALLEL = 8192


def _n_workers(workers: int | None) -> int:
    """Threads for ``workers``; -1: ``MI_PROBE_NUM_THREADS`` when set, else the CPUs this
    process may run on, not all of the host's (:func:`mi_probe._threads.native_workers`)."""
    return native_workers(workers)


class KDTreeBackend:
    """Neighbour searches with kd-trees (scipy ``cKDTree`` for k-NN, scikit-learn
    ``KDTree`` for counts in more than one dimension).

    Parameters
    ----------
    workers : int, default -1
        Threads to use; -1 for all cores.
    leafsize : int, default 16
        Points per tree leaf (16 was fastest for 5-10 dims at n=10k-100k).
    """

    name = "kdtree"

    def __init__(self, workers: int = -1, leafsize: int = 16) -> None:
        self.workers = workers
        self.leafsize = leafsize

    def knn(self, points: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
        points = np.ascontiguousarray(points, dtype=np.float64)
        n = points.shape[0]
        tree = cKDTree(points, leafsize=self.leafsize, balanced_tree=False, compact_nodes=False)
        order = tree.indices  # leaf order: neighbouring queries share tree paths
        # threads cost more to start than they save on small inputs
        workers = _n_workers(self.workers) if n >= _MIN_PARALLEL else 1
        dist_o, idx_o = tree.query(points[order], k=k + 1, p=_P[metric], workers=workers)
        dist = np.empty((n, k + 1))
        idx = np.empty((n, k + 1), dtype=np.int64)
        dist[order] = np.asarray(dist_o).reshape(n, k + 1)
        idx[order] = np.asarray(idx_o).reshape(n, k + 1)
        # Drop the point itself. With duplicate points the self match need not be in
        # column 0, so remove it by index where it appears and the last column elsewhere.
        rows = np.arange(n)
        is_self = idx == rows[:, None]
        has_self = is_self.any(axis=1)
        keep = ~is_self
        keep[~has_self, -1] = False
        return dist[keep].reshape(-1, k), idx[keep].reshape(-1, k)

    def count_within(
        self, points: np.ndarray, radius: np.ndarray, metric: str, *, inclusive: bool
    ) -> np.ndarray:
        points = np.ascontiguousarray(points, dtype=np.float64)
        radius = np.asarray(radius, dtype=np.float64)
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
            counts: np.ndarray = (hi - lo - 1).astype(np.int64)
            return counts
        from sklearn.neighbors import KDTree

        # KDTree counts distance <= r; for strict counts r was shrunk by nudge
        r = np.maximum(nudge(radius, inclusive=inclusive), 0.0)
        n = points.shape[0]
        tree = KDTree(points, leaf_size=self.leafsize, metric=_SK_METRIC[metric])
        order = np.asarray(tree.get_arrays()[1], dtype=np.int64)
        q, rq = points[order], r[order]
        n_threads = _n_workers(self.workers) if n >= _MIN_PARALLEL else 1
        if n_threads == 1:
            counts_o = tree.query_radius(q, rq, count_only=True)
        else:
            bounds = np.linspace(0, n, 4 * n_threads + 1).astype(np.int64)
            parts = list(zip(bounds[:-1], bounds[1:], strict=True))
            with ThreadPoolExecutor(n_threads) as pool:
                res = list(
                    pool.map(
                        lambda se: tree.query_radius(
                            q[se[0] : se[1]], rq[se[0] : se[1]], count_only=True
                        ),
                        parts,
                    )
                )
            counts_o = np.concatenate(res)
        counts = np.empty(n, dtype=np.int64)
        counts[order] = counts_o
        return counts - 1  # the point itself

    def gaussian_logsumexp(
        self, queries: np.ndarray, points: np.ndarray, variance: Any
    ) -> np.ndarray:
        return NumpyBackend().gaussian_logsumexp(queries, points, variance)
