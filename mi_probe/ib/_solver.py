"""The self-consistent (Blahut-Arimoto style) updates of the generalised IB.

One routine, written once against a tiny array namespace so that it runs on numpy
(default) or torch (CPU or GPU) tensors. Minimises, for fixed ``beta`` and ``alpha``,

    L[q(t|x)] = H(T) - alpha H(T|X) - beta I(T;Y)

(``alpha = 1``: the IB Lagrangian I(X;T) - beta I(T;Y); ``alpha = 0``: the deterministic
IB) by iterating, with d(x, t) = KL[p(y|x) || q(y|t)],

    q(t|x) ~ exp((log q(t) - beta d(x, t)) / alpha)      (alpha > 0)
    q(t|x) = 1[t = argmax_t log q(t) - beta d(x, t)]      (alpha = 0)
    q(t)   = sum_x p(x) q(t|x)
    q(y|t) = sum_x p(x, y) q(t|x) / q(t).

The encoder is normalised in log space (max subtracted before exponentiating) and
log q(y|t) is floored at log(TINY), so no NaN or inf appears at any beta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._pmf import xlogx

TINY = 1e-300
LOG_TINY = float(np.log(TINY))


class _NumpyOps:
    name = "numpy"
    always_shift = False

    def __init__(self) -> None:
        self.dtype = np.float64

    def asarray(self, a: Any) -> np.ndarray:
        return np.asarray(a, dtype=np.float64)

    def to_numpy(self, a: Any) -> np.ndarray:
        return np.asarray(a, dtype=np.float64)

    log = staticmethod(np.log)
    exp = staticmethod(np.exp)

    def clamp_min(self, a: np.ndarray, low: float) -> np.ndarray:
        return np.maximum(a, low)

    def where(self, c: Any, a: Any, b: Any) -> Any:
        return np.where(c, a, b)

    def one_hot_argmax(self, a: np.ndarray) -> np.ndarray:
        out = np.zeros_like(a)
        out[np.arange(a.shape[0]), np.argmax(a, axis=1)] = 1.0
        return out

    def max_abs_diff2(self, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> float:
        return max(float(np.max(np.abs(a - b))), float(np.max(np.abs(c - d))))

    def cat(self, parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts, axis=0)

    def full(self, shape: tuple[int, ...], value: float) -> np.ndarray:
        return np.full(shape, value)

    def ones(self, n: int) -> np.ndarray:
        return np.ones(n)

    def reshape(self, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        return a.reshape(shape)

    isfinite = staticmethod(np.isfinite)

    def rowmax(self, a: np.ndarray) -> np.ndarray:
        return a.max(axis=1, keepdims=True)

    def take_rows(self, a: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return a[idx]


class _TorchOps:
    name = "torch"
    always_shift = True

    def __init__(self, device: Any) -> None:
        import torch

        self.torch = torch
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            raise ValueError(
                f"device must be None, a torch device such as 'cpu' or 'cuda', got {device!r}"
            ) from None
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but CUDA is not available")
        self.dtype = torch.float64

    def asarray(self, a: Any) -> Any:
        if self.torch.is_tensor(a):
            return a.to(device=self.device, dtype=self.dtype)
        return self.torch.as_tensor(np.asarray(a), dtype=self.dtype, device=self.device)

    def to_numpy(self, a: Any) -> np.ndarray:
        return a.detach().cpu().numpy().astype(np.float64, copy=False)

    def log(self, a: Any) -> Any:
        return self.torch.log(a)

    def exp(self, a: Any) -> Any:
        return self.torch.exp(a)

    def clamp_min(self, a: Any, low: float) -> Any:
        return self.torch.clamp(a, min=low)

    def where(self, c: Any, a: Any, b: Any) -> Any:
        t = self.torch
        a = a if t.is_tensor(a) else t.tensor(a, dtype=self.dtype, device=self.device)
        b = b if t.is_tensor(b) else t.tensor(b, dtype=self.dtype, device=self.device)
        return t.where(c, a, b)

    def one_hot_argmax(self, a: Any) -> Any:
        out = self.torch.zeros_like(a)
        out.scatter_(1, self.torch.argmax(a, dim=1, keepdim=True), 1.0)
        return out

    def max_abs_diff2(self, a: Any, b: Any, c: Any, d: Any) -> float:
        # one device-to-host transfer per iteration
        return float(self.torch.maximum((a - b).abs().max(), (c - d).abs().max()))

    def cat(self, parts: list[Any]) -> Any:
        return self.torch.cat(parts, dim=0)

    def full(self, shape: tuple[int, ...], value: float) -> Any:
        return self.torch.full(shape, value, dtype=self.dtype, device=self.device)

    def ones(self, n: int) -> Any:
        return self.torch.ones(n, dtype=self.dtype, device=self.device)

    def reshape(self, a: Any, shape: tuple[int, ...]) -> Any:
        return a.reshape(shape)

    def isfinite(self, a: Any) -> Any:
        return self.torch.isfinite(a)

    def rowmax(self, a: Any) -> Any:
        return a.amax(dim=1, keepdim=True)

    def take_rows(self, a: Any, idx: np.ndarray) -> Any:
        return a[self.torch.as_tensor(idx, device=self.device)]


def get_ops(device: Any) -> _NumpyOps | _TorchOps:
    """numpy for ``device=None``, else torch on that device."""
    return _NumpyOps() if device is None else _TorchOps(device)


@dataclass
class Problem:
    """The (reduced) IB problem on the array backend: all x have p(x) > 0."""

    px: Any  # (n_x,)
    pxy: Any  # (n_x, n_y)
    py_x: Any  # (n_x, n_y) p(y|x)
    neg_h_y_x: Any  # (n_x,) sum_y p(y|x) log p(y|x)
    aug: Any  # (n_x, n_y + 2) [p(y|x), sum_y p(y|x) log p(y|x), 1]
    py: np.ndarray  # (n_y,) float64 numpy, for the final statistics


def make_problem(pxy: np.ndarray, ops: Any) -> Problem:
    """Arrays the iteration needs, from a joint pmf whose rows all have mass."""
    px = pxy.sum(axis=1)
    py_x = pxy / px[:, None]
    neg_h = xlogx(py_x).sum(axis=1)
    return Problem(
        px=ops.asarray(px),
        pxy=ops.asarray(pxy),
        py_x=ops.asarray(py_x),
        neg_h_y_x=ops.asarray(neg_h),
        aug=ops.asarray(np.column_stack([py_x, neg_h, np.ones(px.size)])),
        py=pxy.sum(axis=0),
    )


@dataclass
class Fit:
    """A converged (or stopped) solution at one beta.

    ``encoder`` is on the array backend (numpy or torch), with one column per distinct
    cluster in use (clusters with equal q(y|t) merged, empty ones dropped).
    """

    encoder: Any  # (n_x, k) q(t|x), k <= n_t
    lagrangian: float
    i_xt: float
    i_ty: float
    h_t: float
    n_used: int
    n_iter: int
    converged: bool


def _weights(log_qt: Any, log_qy_t: Any, beta: float, alpha: float, ops: Any) -> Any:
    """W (n_y + 2, n_t) with ``prob.aug @ W`` = (log q(t) - beta KL[p(y|x) || q(y|t)]) / alpha.

    aug = [p(y|x), sum_y p(y|x) log p(y|x), 1], so one matrix product gives the logits.
    Entries are clamped at -1e300 so that 0 * W stays 0 (no NaN from 0 * -inf).
    """
    a = alpha if alpha > 0 else 1.0
    n_t = log_qt.shape[0]
    rows = ops.cat(
        [
            (beta / a) * log_qy_t.T,
            ops.full((1, n_t), -beta / a),
            ops.reshape(log_qt, (1, n_t)) / a,
        ]
    )
    return ops.clamp_min(rows, -1e300)


def encoder_step(
    prob: Problem, log_qt: Any, log_qy_t: Any, beta: float, alpha: float, ops: Any
) -> tuple[Any, Any, Any]:
    """Unnormalised encoder of the next iteration.

    Returns ``(e, s, logits)`` with q(t|x) = e / s[:, None], log q(t|x) =
    logits - log s[:, None]; for ``alpha = 0`` ``e`` is one-hot and ``s`` is 1.
    """
    logits = prob.aug @ _weights(log_qt, log_qy_t, beta, alpha, ops)
    if alpha == 0.0:
        e = ops.one_hot_argmax(logits)
        return e, ops.ones(e.shape[0]), logits
    if ops.always_shift:
        # on torch, shifting every row costs less than a device-to-host check
        logits = logits - ops.rowmax(logits)
        e = ops.exp(logits)
        return e, e @ ops.ones(e.shape[1]), logits
    e = ops.exp(logits)
    s = e @ ops.ones(e.shape[1])
    if float(s.min()) < 1e-250 or not bool(ops.isfinite(s).all()):
        # some row has every logit far below 0 (large beta): shift by the row maximum
        logits = logits - ops.rowmax(logits)
        e = ops.exp(logits)
        s = e @ ops.ones(e.shape[1])
    return e, s, logits


def solve(
    prob: Problem,
    log_encoder0: Any,
    *,
    beta: float,
    alpha: float,
    max_iter: int,
    tol: float,
    ops: Any,
) -> Fit:
    """Iterate the IB updates from ``log_encoder0`` (n_x, n_t) until q(t), q(t, y) settle.

    Convergence: the largest change of any entry of q(t) or q(t, y) between two
    iterations is below ``tol``. The encoder is kept unnormalised inside the loop
    (its row sums are folded into p(x) and p(x, y)).
    """
    logits = ops.asarray(log_encoder0)
    logits = ops.where(ops.isfinite(logits), logits, -np.inf)
    logits = logits - ops.rowmax(logits)
    if alpha == 0.0:
        e = ops.one_hot_argmax(logits)
    else:
        e = ops.exp(logits)
    s = e @ ops.ones(e.shape[1])
    qt, qty = _marginals(prob, e, s)
    log_qt, log_qy_t = _logs(qt, qty, ops)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is read after the loop
        e, s, logits = encoder_step(prob, log_qt, log_qy_t, beta, alpha, ops)
        qt_new, qty_new = _marginals(prob, e, s)
        change = ops.max_abs_diff2(qt_new, qt, qty_new, qty)
        qt, qty = qt_new, qty_new
        log_qt, log_qy_t = _logs(qt, qty, ops)
        if change < tol:
            converged = True
            break
    return finish(prob, e / s[:, None], beta, alpha, it, converged, ops)


def _marginals(prob: Problem, e: Any, s: Any) -> tuple[Any, Any]:
    """q(t) and q(t, y) of the encoder e / s[:, None]."""
    qt = (prob.px / s) @ e
    qty = e.T @ (prob.pxy / s[:, None])
    return qt, qty


def _logs(qt: Any, qty: Any, ops: Any) -> tuple[Any, Any]:
    """log q(t) (-inf for dead clusters) and log q(y|t) floored at log(TINY)."""
    alive = qt > TINY
    log_qt = ops.where(alive, ops.log(ops.clamp_min(qt, TINY)), -np.inf)
    log_qy_t = ops.log(ops.clamp_min(qty, TINY)) - ops.log(ops.clamp_min(qt, TINY))[:, None]
    return log_qt, ops.clamp_min(log_qy_t, LOG_TINY)


def finish(
    prob: Problem,
    enc: Any,
    beta: float,
    alpha: float,
    n_iter: int,
    converged: bool,
    ops: Any,
) -> Fit:
    """Merge duplicate clusters, then the information quantities (nats) and Lagrangian.

    Clusters with the same decoder q(y|t) (to 1e-6) are one cluster: their encoder
    columns are summed (I(T;Y) is unchanged; at a fixed point I(X;T) too), and clusters
    without mass are dropped. Only (n_t, n_y)-sized arrays leave the array backend.
    """
    enc = merge_duplicate_clusters(enc, prob, ops)
    qt = _np(prob.px @ enc)
    qty = _np(enc.T @ prob.pxy)
    h_t = float(-xlogx(qt).sum())
    # H(T|X) = -sum_x p(x) sum_t q(t|x) log q(t|x); q = 0 entries give 0 * log(TINY) = 0
    plogp = enc * ops.log(ops.clamp_min(enc, TINY))
    h_t_x = max(float(-(prob.px @ (plogp @ ops.ones(plogp.shape[1])))), 0.0)
    i_xt = max(h_t - h_t_x, 0.0)
    h_y = float(-xlogx(prob.py).sum())
    h_ty = float(-xlogx(qty).sum())
    i_ty = max(h_t + h_y - h_ty, 0.0)
    lag = h_t - alpha * h_t_x - beta * i_ty
    n_used = int((qt > 1e-9).sum())
    return Fit(enc, lag, i_xt, i_ty, h_t, n_used, n_iter, converged)


def merge_duplicate_clusters(enc: Any, prob: Problem, ops: Any) -> Any:
    """Encoder (n_x, k) with one column per distinct decoder q(y|t) (rounded to 1e-6)
    among the clusters with mass > 1e-300 (columns of a group summed)."""
    qt = _np(prob.px @ enc)
    alive = np.flatnonzero(qt > TINY)
    if alive.size == 0:  # cannot happen for a normalised encoder; keep it as is
        return enc
    qty = _np(enc.T @ prob.pxy)
    qy_t = qty[alive] / qt[alive, None]
    _, inv = np.unique(np.round(qy_t, 6), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    n_groups = int(inv.max()) + 1
    if n_groups == enc.shape[1]:
        return enc
    onehot = np.zeros((enc.shape[1], n_groups))
    onehot[alive, inv] = 1.0
    return enc @ ops.asarray(onehot)


def _np(a: Any) -> np.ndarray:
    if isinstance(a, np.ndarray):
        return a
    return a.detach().cpu().numpy()
