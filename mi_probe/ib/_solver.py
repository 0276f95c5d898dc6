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

    def full_like_neg_inf(self, a: np.ndarray) -> np.ndarray:
        return np.full_like(a, -np.inf)


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

    def full_like_neg_inf(self, a: Any) -> Any:
        return self.torch.full_like(a, -float("inf"))


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


def _decoder(prob: Problem, enc: Any, ops: Any) -> tuple[Any, Any, Any, Any]:
    """q(t) (n_t,), log q(t) (-inf for dead clusters), log q(y|t) (n_t, n_y) floored, q(t, y)."""
    qt = prob.px @ enc
    qty = enc.T @ prob.pxy
    alive = qt > TINY
    log_qt = ops.where(alive, ops.log(ops.clamp_min(qt, TINY)), -np.inf)
    log_qy_t = ops.log(ops.clamp_min(qty, TINY)) - ops.log(ops.clamp_min(qt, TINY))[:, None]
    log_qy_t = ops.clamp_min(log_qy_t, LOG_TINY)
    return qt, log_qt, log_qy_t, qty


def encoder_step(
    prob: Problem, log_qt: Any, log_qy_t: Any, beta: float, alpha: float, ops: Any
) -> tuple[Any, Any]:
    """New encoder q(t|x) and its log from the current q(t) and q(y|t)."""
    d = prob.neg_h_y_x[:, None] - prob.py_x @ log_qy_t.T  # KL[p(y|x) || q(y|t)], (n_x, n_t)
    if alpha == 0.0:
        enc = ops.one_hot_argmax(log_qt[None, :] - beta * d)
        log_enc = ops.where(enc > 0, 0.0, -np.inf)
        return enc, log_enc
    logits = (log_qt[None, :] - beta * d) / alpha
    logits = logits - logits.max(axis=1, keepdims=True)
    e = ops.exp(logits)
    s = e.sum(axis=1, keepdims=True)
    return e / s, logits - ops.log(s)


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
    iterations is below ``tol``.
    """
    log_enc = ops.asarray(log_encoder0)
    log_enc = log_enc - log_enc.max(axis=1, keepdims=True)
    enc = ops.exp(log_enc)
    enc = enc / enc.sum(axis=1, keepdims=True)
    if alpha == 0.0:
        enc = ops.one_hot_argmax(log_enc)
    qt, log_qt, log_qy_t, qty = _decoder(prob, enc, ops)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        enc, log_enc = encoder_step(prob, log_qt, log_qy_t, beta, alpha, ops)
        qt_new, log_qt, log_qy_t, qty_new = _decoder(prob, enc, ops)
        change = max(ops.max_abs_diff(qt_new, qt), ops.max_abs_diff(qty_new, qty))
        qt, qty = qt_new, qty_new
        if change < tol:
            converged = True
            break
    enc_np = ops.to_numpy(enc)
    log_enc_np = ops.to_numpy(log_enc) if alpha > 0 else np.where(enc_np > 0, 0.0, -np.inf)
    return finish(prob, enc_np, log_enc_np, beta, alpha, it, converged)


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
