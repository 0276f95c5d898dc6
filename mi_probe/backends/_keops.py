"""KeOps backend: symbolic all-pairs reductions, memory O(n), no n x n matrix anywhere.

pykeops is optional (``pip install 'mi-probe[keops]'``). Nothing here imports it until a
:class:`KeOpsBackend` is made, and before that happens
:func:`mi_probe.backends._health.configure_compiler` points KeOps at a C++ compiler whose
libstdc++ matches this process (see that module for the trap it avoids).
:func:`keops_healthy` is the cached subprocess health check that ``pick("auto")`` asks.
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any

import numpy as np
import torch

from ._base import METRICS, nudge
from ._health import _pykeops_version, configure_compiler, keops_health, keops_healthy

__all__ = ["KeOpsBackend", "keops_healthy", "keops_health"]

# Before anything can import keopscore (it reads CXX at import time).
configure_compiler()

_LAZY: Any = None


def _lazy_tensor() -> Any:
    """``pykeops.torch.LazyTensor``, imported once, after the compiler is configured."""
    global _LAZY
    if _LAZY is None:
        from .._deps import require

        configure_compiler()
        # The subprocess health check (cached on disk) before the first import in this
        # process: when KeOps crashed with the configured compiler and worked with the
        # system g++, the verdict switches CXX here. Building a KeOpsBackend directly
        # (backend="keops") otherwise skipped it and segfaulted on the first reduction
        # (seen on the H200 image: CXX=/opt/gcc/bin/g++ passes the libstdc++ comparison
        # but crashes, /usr/bin/g++ works).
        if _pykeops_version() is not None:
            verdict = keops_health(warn=False)
            if not verdict.ok:
                raise RuntimeError(
                    "backend='keops': pykeops is installed but failed its health check "
                    f"here ({verdict.detail}); use backend='torch' or 'auto'"
                )
        # keopscore prints a notice on import on machines without CUDA; keep it quiet
        with contextlib.redirect_stdout(io.StringIO()):
            pykeops = require("pykeops", "backend='keops'")
            from pykeops.torch import LazyTensor
        if not os.environ.get("MI_PROBE_KEOPS_VERBOSE"):
            pykeops.set_verbose(False)
        _LAZY = LazyTensor
    return _LAZY


def _as_tensor(a: Any, device: Any = None) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        t = a if device is None else a.to(device)
    else:
        t = torch.from_numpy(np.ascontiguousarray(a)).to(device or "cpu")
    if not t.is_floating_point():
        t = t.to(torch.float64)
    return t.contiguous()


class KeOpsBackend:
    """k-NN radii, neighbour counts and Gaussian log-sum-exp as KeOps reductions.

    Same numbers as :class:`~mi_probe.backends._torch.TorchBackend` (parity-tested):
    distances are computed in the input's dtype, a point is never its own neighbour, and
    radii are nudged by :func:`~mi_probe.backends._base.nudge` with that dtype's epsilon.
    numpy in gives numpy out; a tensor in gives a tensor on its device (or ``device``).

    Parameters
    ----------
    device : str or torch.device, optional
        Where to compute; default the device of the input (CPU for numpy input).

    Raises
    ------
    ModuleNotFoundError
        pykeops is not installed.

    Notes
    -----
    Each reduction is a formula that KeOps compiles once per (formula, dimension,
    dtype) and caches on disk. Counts are sums of step functions, exact while the
    number of points stays below 2**24 in float32 (2**53 in float64). Use
    :func:`mi_probe.backends.pick` to get this backend only when it is healthy.

    References
    ----------
    Charlier, Feydy, Glaunès, Collin & Durif, "Kernel operations on the GPU, with
    autodiff, without memory overflows", JMLR 22(74), 2021.
    """

    name = "keops"

    def __init__(self, device: Any = None) -> None:
        self.device = device
        self._lt = _lazy_tensor()

    # ------------------------------------------------------------------ formulas
    def _pairwise(self, a: torch.Tensor, b: torch.Tensor, metric: str) -> Any:
        """Max-norm distance, or the *squared* Euclidean distance, as a LazyTensor."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        ai = self._lt(a[:, None, :])
        bj = self._lt(b[None, :, :])
        diff = ai - bj
        if metric == "max":
            return diff.abs().max()
        return (diff**2).sum()

    # ---------------------------------------------------------------- primitives
    def knn(self, points: Any, k: int, metric: str) -> tuple[Any, Any]:
        """Distances (n, k), ascending, and indices (n, k) of each point's k nearest others.

        Raises
        ------
        ValueError
            ``k`` not in ``1 .. n - 1``, or an unknown metric.
        """
        numpy_in = not isinstance(points, torch.Tensor)
        p = _as_tensor(points, self.device)
        n = p.shape[0]
        if not 1 <= k < n:
            raise ValueError(f"k={k} must be at least 1 and below the number of points ({n})")
        d = self._pairwise(p, p, metric)
        vals, idx = d.Kmin_argKmin(K=k + 1, dim=1)
        vals, idx = vals.reshape(n, k + 1), idx.reshape(n, k + 1).to(torch.int64)
        # drop the point itself; where ties at distance 0 pushed it out of the k + 1
        # nearest, drop the last one instead (its distance equals the k-th)
        keep = idx != torch.arange(n, device=idx.device)[:, None]
        no_self = keep.all(dim=1)
        keep[no_self, -1] = False
        vals = vals[keep].reshape(n, k)
        idx = idx[keep].reshape(n, k)
        if metric == "l2":
            vals = vals.clamp_min(0).sqrt()
        if numpy_in:
            return vals.cpu().numpy(), idx.cpu().numpy()
        return vals, idx

    def count_within(self, points: Any, radius: Any, metric: str, *, inclusive: bool) -> Any:
        """Number of *other* points within ``radius[i]`` of point i, shape (n,), int64.

        ``inclusive=True`` counts distance <= radius, else distance < radius (after the
        nudge of :func:`~mi_probe.backends._base.nudge`).
        """
        numpy_in = not isinstance(points, torch.Tensor)
        p = _as_tensor(points, self.device)
        r = _as_tensor(radius, p.device).to(p.dtype).reshape(-1)
        r = nudge(r, inclusive=inclusive, eps=torch.finfo(p.dtype).eps)
        n = p.shape[0]
        if r.shape[0] != n:
            raise ValueError(f"radius must have one entry per point ({n}), got {r.shape[0]}")
        d = self._pairwise(p, p, metric)
        thr = r if metric == "max" else r * r  # the l2 formula is squared
        ti = self._lt(thr[:, None, None].contiguous())
        if inclusive:
            within = (ti - d).step().sum(dim=1).reshape(-1)  # step(0) = 1: d <= r
        else:
            within = n - (d - ti).step().sum(dim=1).reshape(-1)  # not (d >= r)
        out = torch.round(within).to(torch.int64) - 1
        return out.cpu().numpy() if numpy_in else out

    def gaussian_logsumexp(self, queries: Any, points: Any, variance: Any) -> Any:
        """``log sum_j exp(-||q_i - p_j||^2 / (2 variance))`` for each query.

        Parameters
        ----------
        queries : array or tensor, shape (m, d)
        points : array or tensor, shape (n, d)
        variance : float or sequence of float
            One variance (output shape (m,)) or ``[v, 4 v, ...]`` as the other backends
            accept (output shape (len(variance), m)).

        Raises
        ------
        ValueError
            A variance that is not positive and finite, or a sequence not spaced by 4.
        """
        from ._numpy import _variances

        variances, single = _variances(variance)
        numpy_in = not isinstance(queries, torch.Tensor)
        q = _as_tensor(queries, self.device)
        p = _as_tensor(points, q.device).to(q.dtype)
        outs = []
        for v in variances:
            # scale the data rather than the formula, so one compiled kernel serves
            # every variance (a Python float inside a formula is compiled into it)
            scale = 1.0 / float(np.sqrt(2.0 * v))
            d2 = self._pairwise((q * scale).contiguous(), (p * scale).contiguous(), "l2")
            outs.append((-d2).logsumexp(dim=1).reshape(-1))
        res = outs[0] if single else torch.stack(outs)
        return res.cpu().numpy() if numpy_in else res
