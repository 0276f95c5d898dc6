"""Dense numpy backend: exact, simple, for a few thousand points."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._base import nudge

__all__ = ["NumpyBackend"]


def _pairwise(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    diff = np.abs(a[:, None, :] - b[None, :, :])
    if metric == "max":
        return diff.max(axis=-1)
    return np.sqrt((diff * diff).sum(axis=-1))


class NumpyBackend:
    """All-pairs distances in numpy, in row blocks so memory stays ``block * n``."""

    name = "numpy"

    def __init__(self, block: int = 256) -> None:
        self.block = block

    def _blocks(self, n: int):
        for start in range(0, n, self.block):
            yield start, min(n, start + self.block)

    def knn(self, points: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
        n = points.shape[0]
        dist = np.empty((n, k))
        idx = np.empty((n, k), dtype=np.int64)
        for s, e in self._blocks(n):
            d = _pairwise(points[s:e], points, metric)
            d[np.arange(e - s), np.arange(s, e)] = np.inf
            part = np.argpartition(d, k - 1, axis=1)[:, :k]
            pd = np.take_along_axis(d, part, axis=1)
            order = np.argsort(pd, axis=1, kind="stable")
            dist[s:e] = np.take_along_axis(pd, order, axis=1)
            idx[s:e] = np.take_along_axis(part, order, axis=1)
        return dist, idx

    def count_within(
        self, points: np.ndarray, radius: np.ndarray, metric: str, *, inclusive: bool
    ) -> np.ndarray:
        n = points.shape[0]
        r = nudge(radius, inclusive=inclusive)
        out = np.empty(n, dtype=np.int64)
        for s, e in self._blocks(n):
            d = _pairwise(points[s:e], points, metric)
            within = d <= r[s:e, None] if inclusive else d < r[s:e, None]
            out[s:e] = within.sum(axis=1) - 1  # the point itself
        return out

    def gaussian_logsumexp(
        self, queries: np.ndarray, points: np.ndarray, variance: float
    ) -> np.ndarray:
        out = np.empty(queries.shape[0])
        for s, e in self._blocks(queries.shape[0]):
            d = _pairwise(queries[s:e], points, "l2")
            out[s:e] = logsumexp(-(d * d) / (2.0 * variance), axis=1)
        return out
