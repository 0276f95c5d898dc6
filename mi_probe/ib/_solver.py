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

    def max_abs_diff(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.max(np.abs(a - b)))

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


class _TorchOps:
    name = "torch"

    def __init__(self, device: Any) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.dtype = torch.float64

    def asarray(self, a: Any) -> Any:
        return self.torch.as_tensor(np.asarray(a), dtype=self.dtype, device=self.device)

    def to_numpy(self, a: Any) -> np.ndarray:
        return a.detach().cpu().numpy().astype(np.float64)

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

    def max_abs_diff(self, a: Any, b: Any) -> float:
        return float((a - b).abs().max())

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
    """A converged (or stopped) solution at one beta, as numpy arrays."""

    encoder: np.ndarray  # (n_x, n_t) q(t|x)
    log_encoder: np.ndarray  # (n_x, n_t)
    lagrangian: float
    i_xt: float
    i_ty: float
    h_t: float
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
    log_encoder0: np.ndarray,
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
    for it in range(1, max_iter + 1):
        e, s, logits = encoder_step(prob, log_qt, log_qy_t, beta, alpha, ops)
        qt_new, qty_new = _marginals(prob, e, s)
        change = max(ops.max_abs_diff(qt_new, qt), ops.max_abs_diff(qty_new, qty))
        qt, qty = qt_new, qty_new
        log_qt, log_qy_t = _logs(qt, qty, ops)
        if change < tol:
            converged = True
            break
    enc = ops.to_numpy(e / s[:, None])
    if alpha > 0:
        log_enc = ops.to_numpy(logits - ops.log(s)[:, None])
    else:
        log_enc = np.where(enc > 0, 0.0, -np.inf)
    return finish(prob, enc, log_enc, beta, alpha, it, converged)


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
    enc: np.ndarray,
    log_enc: np.ndarray,
    beta: float,
    alpha: float,
    n_iter: int,
    converged: bool,
) -> Fit:
    """Information quantities (nats) and the Lagrangian of an encoder, in float64 numpy.

    Clusters with the same decoder q(y|t) (to 1e-6) are merged first (their encoder
    columns summed): they are one cluster, and merging them leaves I(T;Y) unchanged.
    The reported ``encoder`` is the merged one; ``log_encoder`` stays the raw one, as
    the warm start of the next beta (where the copies may split).
    """
    px = _np(prob.px)
    pxy = _np(prob.pxy)
    enc = merge_duplicate_clusters(enc, px, pxy)
    log_enc_m = np.log(np.maximum(enc, TINY))
    qt = px @ enc
    qty = enc.T @ pxy
    h_t = float(-xlogx(qt).sum())
    # H(T|X) = -sum_x p(x) sum_t q(t|x) log q(t|x); entries with q = 0 contribute 0.
    plogp = np.where(enc > 0, enc * np.where(enc > 0, log_enc_m, 0.0), 0.0)
    h_t_x = float(-(px @ plogp.sum(axis=1)))
    h_t_x = max(h_t_x, 0.0)
    i_xt = max(h_t - h_t_x, 0.0)
    h_y = float(-xlogx(prob.py).sum())
    h_ty = float(-xlogx(qty).sum())
    i_ty = max(h_t + h_y - h_ty, 0.0)
    lag = h_t - alpha * h_t_x - beta * i_ty
    return Fit(enc, log_enc, lag, i_xt, i_ty, h_t, n_iter, converged)


def merge_duplicate_clusters(enc: np.ndarray, px: np.ndarray, pxy: np.ndarray) -> np.ndarray:
    """Encoder (n_x, n_t) with clusters of equal q(y|t) (rounded to 1e-6) summed into
    the first of each group; dead clusters (q(t) <= 1e-300) are zeroed."""
    qt = px @ enc
    alive = np.flatnonzero(qt > TINY)
    out = np.zeros_like(enc)
    if alive.size == 0:
        return enc.copy()
    qy_t = (enc[:, alive].T @ pxy) / qt[alive, None]
    _, first, inv = np.unique(np.round(qy_t, 6), axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    target = alive[first][inv]  # column each alive cluster is merged into
    np.add.at(out.T, target, enc[:, alive].T)
    return out


def _np(a: Any) -> np.ndarray:
    if isinstance(a, np.ndarray):
        return a
    return a.detach().cpu().numpy()
