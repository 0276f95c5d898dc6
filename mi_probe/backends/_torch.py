"""Chunked PyTorch backend: brute force on CPU or CUDA, memory ``chunk * n``."""

from __future__ import annotations

from collections.abc import Iterator
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


def max_norm_by_columns(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Max-norm distances (m, n) built one coordinate at a time: three elementwise kernels
    per column over an (m, n) buffer, no (m, n, d) intermediate. The same numbers as
    ``cdist(p=inf)`` (a maximum of exact absolute differences does not depend on the
    order); on CUDA, where cdist's p=inf kernel is slow, this is what the backend uses.
    """
    out = (a[:, None, 0] - b[None, :, 0]).abs_()
    buf = torch.empty_like(out)
    for j in range(1, a.shape[1]):
        torch.sub(a[:, None, j], b[None, :, j], out=buf)
        torch.maximum(out, buf.abs_(), out=out)
    return out


class TorchBackend:
    """All-pairs distances with ``torch.cdist`` in row chunks.

    Parameters
    ----------
    device : str or torch.device, optional
        Where to compute; default the device of the input (CPU for numpy input).
    max_elements : int, optional
        Upper bound on ``chunk * n`` distance entries held at once, so memory never
        grows as ``n * n``. Default 2**24 (64 MiB in float32) on the CPU and, for the
        k-NN and count passes, 2**28 (1 GiB) on CUDA, where small chunks leave the GPU
        idle between launches.
    """

    name = "torch"

    def __init__(self, device: Any = None, max_elements: int | None = None) -> None:
        self.device = device
        self.max_elements = max_elements

    def _chunks(self, n_rows: int, n_cols: int, device: Any = None) -> Iterator[tuple[int, int]]:
        limit = self.max_elements
        if limit is None:
            on_cuda = device is not None and torch.device(device).type == "cuda"
            limit = 2**28 if on_cuda else 2**24
        step = max(1, min(n_rows, limit // max(n_cols, 1)))
        for start in range(0, n_rows, step):
            yield start, min(n_rows, start + step)

    @staticmethod
    def _dist(a: torch.Tensor, b: torch.Tensor, metric: str) -> torch.Tensor:
        # exact differences (no matmul trick), so radii and counts round alike
        if metric == "max" and a.is_cuda:
            return max_norm_by_columns(a, b)
        return torch.cdist(a, b, p=_P[metric], compute_mode="donot_use_mm_for_euclid_dist")

    def knn(self, points: Any, k: int, metric: str) -> tuple[Any, Any]:
        numpy_in = not isinstance(points, torch.Tensor)
        p = _as_tensor(points, self.device)
        n = p.shape[0]
        dist = torch.empty((n, k), dtype=p.dtype, device=p.device)
        idx = torch.empty((n, k), dtype=torch.int64, device=p.device)
        for s, e in self._chunks(n, n, p.device):
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
        for s, e in self._chunks(n, n, p.device):
            d = self._dist(p[s:e], p, metric)
            rr = r[s:e, None]
            within = d <= rr if inclusive else d < rr
            out[s:e] = within.sum(dim=1) - 1
        return out.cpu().numpy() if numpy_in else out

    def gaussian_logsumexp(self, queries: Any, points: Any, variance: Any) -> Any:
        """``log sum_j exp(-|q_i - p_j|^2 / (2 v))``, shape (m,), or (len(v), m) for a
        sequence of variances ``[v, 4 v, ...]`` (one distance computation and one exp)."""
        # Squared distances by the matmul expansion |q|^2 + |p|^2 - 2 q.p (one GEMM per
        # cache-sized chunk, the scale folded in) on data centred at the points' mean,
        # in the input's dtype (float32 or float64). Kernel sums have no radius
        # boundary, so the matmul's rounding is harmless. No max-shift pass: the terms
        # are <= 1; rows whose sum is tiny (no point within ~5 sigma in float32, ~30 in
        # float64: never for queries that are among the points) are redone shifted.
        from ._numpy import _lse_shifted, _variances

        variances, single = _variances(variance)
        # the same object for queries and points: the kernel matrix is symmetric and
        # only its upper triangle of blocks is computed (half the work)
        symmetric = queries is points
        numpy_in = not isinstance(queries, torch.Tensor)
        q = _as_tensor(queries, self.device)
        if not q.dtype.is_floating_point:
            q = q.to(torch.float32)
        p = q if symmetric else _as_tensor(points, q.device).to(q.dtype)
        center = p.mean(dim=0, keepdim=True)
        p = p - center
        q = p if symmetric else q - center
        s0 = 1.0 / (2.0 * variances[0])
        pn = (p * p).sum(dim=1) * s0
        qn = pn if symmetric else (q * q).sum(dim=1) * s0
        pt = p.T.contiguous()
        neg_pn = -pn.unsqueeze(0)
        m, n = q.shape[0], p.shape[0]
        out = torch.zeros((len(variances), m), dtype=q.dtype, device=q.device)
        block = (1 << 18) if q.device.type == "cpu" else (self.max_elements or 1 << 26)
        step = max(1, min(m, block // max(n, 1)))
        for s in range(0, m, step):
            e = min(m, s + step)
            c0 = s if symmetric else 0  # first column computed
            # 2 s q.p - s |p|^2 - s |q|^2 = -s |q - p|^2
            a = torch.addmm(neg_pn[:, c0:], q[s:e], pt[:, c0:], beta=1.0, alpha=2.0 * s0)
            a.sub_(qn[s:e, None]).exp_()
            for i in range(len(variances)):
                if i:  # exp(-d/(8v)) = exp(-d/(2v)) ** (1/4), see the numpy backend
                    a.sqrt_().sqrt_()
                out[i, s:e] += a.sum(dim=1)
                if symmetric and e < n:  # the transposed blocks below the diagonal
                    out[i, e:] += a[:, e - s :].sum(dim=0)
        tiny = out[0] < (1e-200 if q.dtype == torch.float64 else 1e-6)
        out = out.log()
        if bool(tiny.any()):
            rows = _lse_shifted(q[tiny].double().cpu().numpy(), p.double().cpu().numpy(), variances)
            out[:, tiny] = torch.from_numpy(rows).to(out.dtype).to(out.device)
        res = out[0] if single else out
        return res.cpu().numpy() if numpy_in else res
