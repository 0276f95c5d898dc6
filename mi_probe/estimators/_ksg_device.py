"""KSG on the GPU: the data stay on their CUDA device from the input to the digammas.

:func:`mi_probe.estimators.ksg.ksg_mi` hands CUDA tensors here. The host path would copy
them to the CPU and search neighbours with the compiled kd-tree; here the standardising,
the seeded jitter, the joint k-NN radius and both marginal counts run where the tensors
are, and only the estimate comes back.

With KeOps (healthy, see :mod:`mi_probe.backends._health`) the work is two symbolic
passes over all pairs, memory O(n):

1. ``Kmin`` of the joint max-norm distance with K = k + 1 (the point itself is the
   smallest, at 0), giving each point's radius eps_i, the distance to its k-th neighbour;
2. one reduction that sums the two-vector ``[step(|x_i - x_j| - e_i),
   step(|y_i - y_j| - e_i)]`` over j, so both strict marginal counts come from a single
   pass that reads each pair once (the plain composition reads them twice).

Without KeOps the chunked torch backend does the same in three passes. Repeated rows
(where the tie rule matters) and KSG's second algorithm go to the host path.
"""

from __future__ import annotations

from typing import Any

import torch
from scipy.special import digamma

from .._validation import check_random_state, check_xy, scale_columns_by_power_of_two
from ..backends import pick
from ..backends._base import nudge
from ..result import MIResult

__all__ = ["ksg_device_applies", "ksg_mi_device"]


def ksg_device_applies(x: Any, y: Any, backend: str) -> bool:
    """Whether ``ksg_mi(x, y)`` runs on a CUDA device: either input is a CUDA tensor and
    the backend is one that runs there (``auto``, ``torch`` or ``keops``)."""
    on_cuda = any(isinstance(a, torch.Tensor) and a.is_cuda for a in (x, y))
    return on_cuda and backend in ("auto", "torch", "keops")


def _standardise(a: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance per column, safe for any finite scale (the column is first
    divided exactly by a power of two at its largest magnitude, as on the host path)."""
    a, _ = scale_columns_by_power_of_two(a)
    a = a - a.mean(dim=0)
    std = a.std(dim=0, unbiased=False)
    return a / torch.where(std > 0, std, torch.ones_like(std))


def _repeats(a: torch.Tensor) -> bool:
    return int(torch.unique(a, dim=0).shape[0]) < a.shape[0]


def _fused_counts(lazy: Any, xs: torch.Tensor, ys: torch.Tensor, eps: torch.Tensor) -> Any:
    """Strict counts of other points within eps_i in x and in y, one KeOps pass."""
    n = xs.shape[0]
    e = lazy(eps[:, None, None].contiguous())
    dx = (lazy(xs[:, None, :]) - lazy(xs[None, :, :])).abs().max()
    dy = (lazy(ys[:, None, :]) - lazy(ys[None, :, :])).abs().max()
    outside = (dx - e).step().concat((dy - e).step())  # 1 where distance >= radius
    far = outside.sum(dim=1).reshape(n, 2)
    counts = n - torch.round(far).to(torch.int64) - 1  # minus the point itself
    return counts[:, 0], counts[:, 1]


def ksg_mi_device(x: Any, y: Any, *, params: dict[str, Any]) -> MIResult | None:
    """KSG algorithm 1 on the inputs' device, in the first tensor's float dtype.

    ``params`` are ``ksg_mi``'s checked keywords. A numpy side is moved to the device.
    Returns ``None`` when rows repeat on either side and ``ties`` is not ``"jitter"``:
    the tie rule is the host path's, and ``ksg_mi`` goes on there.
    """
    xa, ya = check_xy(x, y, min_samples=1, native=True)
    # the first tensor's device and dtype (ksg_mi calls this when one is on CUDA; tests
    # call it with CPU tensors, where KeOps and torch run the same passes)
    first = next(a for a in (xa, ya) if isinstance(a, torch.Tensor))
    device, dtype = first.device, first.dtype
    xs = torch.as_tensor(xa).to(device=device, dtype=dtype)
    ys = torch.as_tensor(ya).to(device=device, dtype=dtype)
    if params["ties"] != "jitter" and (_repeats(xs) or _repeats(ys)):
        return None
    n, k = xs.shape[0], params["n_neighbors"]
    if n <= k:
        raise ValueError(f"n_neighbors={k} needs more than {k} samples, got {n}")
    metric, jitter, random_state = params["metric"], params["jitter"], params["random_state"]
    if params["standardize"]:
        xs, ys = _standardise(xs), _standardise(ys)
    if jitter > 0:
        # one seed for the device generator, drawn from random_state as the host path
        # draws its jitter (a seed gives the same number; the global RNGs are untouched)
        seed = int(check_random_state(random_state).integers(2**62))
        gen = torch.Generator(device=device).manual_seed(seed)
        for a in (xs, ys):
            col = a.std(dim=0, unbiased=False)
            col = torch.where(col > 0, col, torch.ones_like(col))
            a.add_(jitter * col * torch.randn(a.shape, generator=gen, device=device, dtype=dtype))
    xs, ys = xs.contiguous(), ys.contiguous()
    joint = torch.cat([xs, ys], dim=1).contiguous()
    be = pick(params["backend"], joint)
    tiny = torch.finfo(dtype).eps
    if be.name == "keops" and metric == "max":
        from ..backends._keops import _lazy_tensor

        lazy = _lazy_tensor()
        dist = (lazy(joint[:, None, :]) - lazy(joint[None, :, :])).abs().max()
        eps = dist.Kmin(K=k + 1, dim=1).reshape(n, k + 1)[:, k]  # self first, at 0
        nx, ny = _fused_counts(lazy, xs, ys, nudge(eps, inclusive=False, eps=tiny))
        passes = "keops: Kmin + one fused count pass"
    else:
        eps = be.knn(joint, k, metric)[0][:, -1]
        nx = be.count_within(xs, eps, metric, inclusive=False)
        ny = be.count_within(ys, eps, metric, inclusive=False)
        passes = f"{be.name}: k-NN + two count passes"
    psi = torch.special.digamma
    # counts as float64 tensors whatever the backend returned (numpy from a host tree)
    nx64 = torch.as_tensor(nx, device=device).to(torch.float64)
    ny64 = torch.as_tensor(ny, device=device).to(torch.float64)
    mean_psi = float((psi(nx64 + 1) + psi(ny64 + 1)).mean())
    raw = float(digamma(k) + digamma(n)) - mean_psi
    from .ksg import log_ball_ratio  # here: ksg imports this module

    raw += log_ball_ratio((xs.shape[1], ys.shape[1]), (joint.shape[1],), metric)
    return MIResult(
        value=max(raw, 0.0),
        estimator="ksg",
        n_samples=n,
        params=params,
        backend=be.name,
        diagnostics={"raw_value": raw, "ties": "jitter", "device": str(device), "passes": passes},
    )
