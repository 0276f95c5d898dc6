"""Chunked PyTorch backend: brute force on CPU or CUDA, memory ``chunk * n``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._base import nudge

__all__ = ["TorchBackend"]

_P = {"max": float("inf"), "l2": 2.0}


def _as_tensor(a: Any, device: Any = None) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a if device is None else a.to(device)
    return torch.from_numpy(np.ascontiguousarray(a)).to(device or "cpu")


class TorchBackend:
    """All-pairs distances with ``torch.cdist`` in row chunks.

    Parameters
    ----------
    device : str or torch.device, optional
        Where to compute; default the device of the input (CPU for numpy input).
    max_elements : int
        Upper bound on ``chunk * n`` distance entries held at once (default 2**24,
        64 MiB in float32), so memory never grows as ``n * n``.
    """

    name = "torch"

    def __init__(self, device: Any = None, max_elements: int = 2**24) -> None:
        self.device = device
        self.max_elements = max_elements

    def _chunks(self, n_rows: int, n_cols: int):
        step = max(1, min(n_rows, self.max_elements // max(n_cols, 1)))
        for start in range(0, n_rows, step):
            yield start, min(n_rows, start + step)

    @staticmethod
    def _dist(a: torch.Tensor, b: torch.Tensor, metric: str) -> torch.Tensor:
        # exact differences (no matmul trick), so radii and counts round alike
        return torch.cdist(a, b, p=_P[metric], compute_mode="donot_use_mm_for_euclid_dist")

    def knn(self, points: Any, k: int, metric: str) -> tuple[Any, Any]:
        numpy_in = not isinstance(points, torch.Tensor)
        p = _as_tensor(points, self.device)
        n = p.shape[0]
        dist = torch.empty((n, k), dtype=p.dtype, device=p.device)
        idx = torch.empty((n, k), dtype=torch.int64, device=p.device)
        for s, e in self._chunks(n, n):
            d = self._dist(p[s:e], p, metric)
            rows = torch.arange(e - s, device=p.device)
            d[rows, rows + s] = float("inf")
            vals, ind = torch.topk(d, k, dim=1, largest=False, sorted=True)
            dist[s:e] = vals
            idx[s:e] = ind
        if numpy_in:
            return dist.cpu().numpy(), idx.cpu().numpy()
        return dist, idx

    def count_within(self, points: Any, radius: Any, metric: str, *, inclusive: bool) -> Any:
        numpy_in = not isinstance(points, torch.Tensor)
        p = _as_tensor(points, self.device)
        r = _as_tensor(radius, p.device).to(p.dtype)
        r = nudge(r, inclusive=inclusive, eps=torch.finfo(p.dtype).eps)
        n = p.shape[0]
        out = torch.empty(n, dtype=torch.int64, device=p.device)
        for s, e in self._chunks(n, n):
            d = self._dist(p[s:e], p, metric)
            rr = r[s:e, None]
            within = d <= rr if inclusive else d < rr
            out[s:e] = within.sum(dim=1) - 1
        return out.cpu().numpy() if numpy_in else out

    def gaussian_logsumexp(self, queries: Any, points: Any, variance: float) -> Any:
        numpy_in = not isinstance(queries, torch.Tensor)
        q = _as_tensor(queries, self.device)
        p = _as_tensor(points, q.device).to(q.dtype)
        out = torch.empty(q.shape[0], dtype=q.dtype, device=q.device)
        for s, e in self._chunks(q.shape[0], p.shape[0]):
            d = self._dist(q[s:e], p, "l2")
            out[s:e] = torch.logsumexp(-(d * d) / (2.0 * variance), dim=1)
        return out.cpu().numpy() if numpy_in else out
