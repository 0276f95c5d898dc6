"""Dense numpy backend: exact, simple, for a few thousand points."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ._base import nudge

__all__ = ["NumpyBackend"]


def _pairwise(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    diff = np.abs(a[:, None, :] - b[None, :, :])
    out: np.ndarray = diff.max(axis=-1) if metric == "max" else np.sqrt((diff * diff).sum(axis=-1))
    return out


class NumpyBackend:
    """All-pairs distances in numpy, in row blocks so memory stays ``block * n``."""

    name = "numpy"

    def __init__(self, block: int = 256) -> None:
        self.block = block

    def _blocks(self, n: int) -> Iterator[tuple[int, int]]:
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
        self, queries: np.ndarray, points: np.ndarray, variance: Any
    ) -> np.ndarray:
        """``log sum_j exp(-|q_i - p_j|^2 / (2 v))``, shape (m,), or (len(v), m) for a
        sequence of variances ``[v, 4 v, 16 v, ...]`` (one distance computation and one
        exp serve them all)."""
        # Squared distances by the matmul expansion |q|^2 + |p|^2 - 2 q.p on data
        # centred at the points' mean (kernel sums have no boundary to round across),
        # in cache-sized row blocks. No max-shift pass: exp(-d^2/2v) <= 1 cannot
        # overflow, and rows whose sum is tiny (no point within ~30 sigma: never for
        # queries that are among the points) are redone with the max shift.
        variances, single = _variances(variance)
        # the same object for queries and points: the kernel matrix is symmetric and
        # only its upper triangle of blocks is computed (half the work)
        symmetric = queries is points
        p = np.asarray(points, dtype=np.float64)
        q = np.asarray(queries, dtype=np.float64)
        center = p.mean(axis=0)
        p = p - center
        q = p if symmetric else q - center
        s0 = 1.0 / (2.0 * variances[0])
        pn = np.einsum("ij,ij->i", p, p) * s0
        qn = pn if symmetric else np.einsum("ij,ij->i", q, q) * s0
        pt2 = np.ascontiguousarray(p.T) * (2.0 * s0)
        m, n = q.shape[0], p.shape[0]
        step = max(1, min(m, (1 << 18) // max(n, 1)))
        out = np.zeros((len(variances), m))
        for s in range(0, m, step):
            e = min(m, s + step)
            c0 = s if symmetric else 0  # first column computed
            a = q[s:e] @ pt2[:, c0:]  # 2 s q.p
            a -= pn[c0:]
            a -= qn[s:e, None]  # -s |q - p|^2 (up to rounding)
            np.exp(a, out=a)
            for i in range(len(variances)):
                if i:
                    # exp(-d/(2*4v)) = exp(-d/(2v)) ** (1/4): two square roots, no exp
                    np.sqrt(a, out=a)
                    np.sqrt(a, out=a)
                out[i, s:e] += a.sum(axis=1)
                if symmetric and e < n:  # the transposed blocks below the diagonal
                    out[i, e:] += a[:, e - s :].sum(axis=0)
        tiny = out[0] < 1e-200
        with np.errstate(divide="ignore"):
            np.log(out, out=out)
        if tiny.any():
            out[:, tiny] = _lse_shifted(q[tiny], p, variances)
        return out[0] if single else out


def _lse_shifted(q: np.ndarray, p: np.ndarray, variances: list[float]) -> np.ndarray:
    """Max-shifted log-sum-exp, one query at a time, for queries far from every point."""
    out = np.empty((len(variances), q.shape[0]))
    for r in range(q.shape[0]):
        d2 = ((p - q[r]) ** 2).sum(axis=1)
        for i, v in enumerate(variances):
            a = -d2 / (2.0 * v)
            top = a.max()
            out[i, r] = top + np.log(np.exp(a - top).sum())
    return out


def _quarterings(prev: float, v: float) -> int:
    """k with v == prev * 4**k; the variances were checked to be so spaced (k == 1)."""
    return int(round(np.log(v / prev) / np.log(4.0)))


def _variances(variance: Any) -> tuple[list[float], bool]:
    """Validate one variance or a sequence of them, each 4 times the previous.

    Only the factor 4 is allowed: an entry that underflows in the first exp is then
    below e^-186 (float64) or e^-25 (float32) at 4 v, negligible next to a row sum that
    is not tiny, so taking fourth roots loses nothing; larger factors would.
    """
    single = np.ndim(variance) == 0
    vs = [float(variance)] if single else [float(v) for v in np.asarray(variance).ravel()]
    if not vs or any(not np.isfinite(v) or v <= 0 for v in vs):
        raise ValueError(f"variance must be > 0 and finite, got {variance!r}")
    for a, b in zip(vs, vs[1:], strict=False):  # consecutive pairs
        k = np.log(b / a) / np.log(4.0)
        if abs(k - 1.0) > 1e-9:
            raise ValueError(
                "in a sequence of variances each must be 4 times the previous "
                f"(e.g. [v, 4 v]), got {list(vs)}"
            )
    return vs, single
