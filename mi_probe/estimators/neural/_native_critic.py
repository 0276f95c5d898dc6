"""The joint critic trained by the compiled kernel instead of autograd (CPU only).

The default joint critic (one hidden layer, ``JOINT_HIDDEN``) costs little arithmetic
per step, so on the CPU a step with autograd and ``torch.optim.Adam`` is mostly the
overhead of some sixty small tensor operations and the (B, K+1, 256) activations they
write and read back. ``mi_probe/backends/_native_joint.c`` does the same step (scores of
the shifted pairs, the objective's gradient, backpropagation, Adam) in one call that
keeps each pair's hidden layer in cache: 0.3 ms a step against 2-5 ms for autograd on
the 5 x 5 benchmark task here, with the same numbers to float32 rounding
(``tests/estimators/neural/test_native_critic.py`` runs both side by side).

The kernel writes the module's parameters in place, so the ``JointCritic`` stays the
one holder of the weights: held-out scoring, best-state bookkeeping and the returned
critic are unchanged. It is used when the library builds (see
:func:`mi_probe.backends.native_status`, ``MI_PROBE_NATIVE=0`` turns it off), the
critic has exactly one hidden layer, the data are on the CPU and the training
objective is one the kernel knows (NWJ, MINE with its moving average, DV, JS,
InfoNCE); anything else trains with autograd.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import torch

from ...backends._native import native_library
from . import bounds as B
from .critics import JointCritic

__all__ = ["NativeJointTrainer", "objective_code"]

# the kernel's objective codes (_native_joint.c)
_NWJ, _MINE, _DV, _JS, _INFONCE = range(5)
_CODES: dict[object, int] = {
    B.nwj_bound: _NWJ,
    B.dv_bound: _DV,
    B.js_bound: _JS,
    B.infonce_bound: _INFONCE,
}


def objective_code(train_bound: object, ema_decay: float | None) -> int | None:
    """The kernel's code for a training objective, or None when it has none."""
    if ema_decay is not None:
        return _MINE
    return _CODES.get(train_bound)


def _parameters(critic: JointCritic) -> list[torch.Tensor] | None:
    """wx, bx, wy, w2, b2 when the critic is one hidden layer of float32 CPU tensors."""
    head = cast(torch.nn.Sequential, critic.rest[1])  # mlp() builds a Sequential
    if len(head) != 1 or not isinstance(head[0], torch.nn.Linear):
        return None
    params = [critic.wx.weight, critic.wx.bias, critic.wy.weight, head[0].weight, head[0].bias]
    if any(
        p is None or p.device.type != "cpu" or p.dtype != torch.float32 or not p.is_contiguous()
        for p in params
    ):
        return None
    return params


class NativeJointTrainer:
    """Adam steps and held-out scores of a one-hidden-layer ``JointCritic`` in C.

    Build it with :meth:`create`, which returns None when the kernel cannot be used.

    Parameters
    ----------
    lib : ctypes.CDLL
        The native library.
    critic : JointCritic
        Trained in place.
    params : list of torch.Tensor
        Its parameters in the kernel's order (wx, bx, wy, w2, b2).
    x_train, y_train : torch.Tensor
        Float32 CPU training rows.
    code : int
        Objective code.
    learning_rate : float
    ema_decay : float or None
        MINE's moving-average decay.
    """

    def __init__(
        self,
        lib: ctypes.CDLL,
        critic: JointCritic,
        params: list[torch.Tensor],
        x_train: torch.Tensor,
        y_train: torch.Tensor,
        code: int,
        learning_rate: float,
        ema_decay: float | None,
    ) -> None:
        self._lib = lib
        self.critic = critic
        self._params = params
        self._x = np.ascontiguousarray(x_train.numpy(), dtype=np.float32)
        self._y = np.ascontiguousarray(y_train.numpy(), dtype=np.float32)
        self._dx, self._dy = self._x.shape[1], self._y.shape[1]
        self._h = int(critic.wx.out_features)
        n_params = sum(p.numel() for p in params)
        self._m1 = np.zeros(n_params, dtype=np.float32)
        self._m2 = np.zeros(n_params, dtype=np.float32)
        self._step = ctypes.c_int64(0)
        self._log_ma = ctypes.c_double(0.0)
        self._have_ma = ctypes.c_int(0)
        self._code = code
        self._lr = float(learning_rate)
        self._decay = 0.0 if ema_decay is None else float(ema_decay)

    @classmethod
    def create(
        cls,
        critic: torch.nn.Module,
        x_train: torch.Tensor,
        y_train: torch.Tensor,
        code: int | None,
        learning_rate: float,
        ema_decay: float | None,
    ) -> NativeJointTrainer | None:
        """A trainer, or None (autograd trains instead) when the kernel does not apply."""
        if code is None or not isinstance(critic, JointCritic):
            return None
        if x_train.device.type != "cpu" or x_train.dtype != torch.float32:
            return None
        params = _parameters(critic)
        if params is None:
            return None
        lib = native_library()
        if lib is None:
            return None
        return cls(lib, critic, params, x_train, y_train, code, learning_rate, ema_decay)

    def _pointers(self) -> list[int]:
        return [p.data_ptr() for p in self._params]

    def train(self, rows: torch.Tensor, shifts: Sequence[torch.Tensor | None]) -> np.ndarray:
        """Run ``len(rows)`` Adam steps in place.

        Parameters
        ----------
        rows : torch.Tensor of int, shape (m, B)
            Training-row indices of each step's batch.
        shifts : sequence of m torch.Tensor of int, or None
            Each step's K shifts (see :func:`~mi_probe.estimators.neural.critics.sample_shifts`);
            None: all ``B - 1`` other rows.

        Returns
        -------
        numpy.ndarray, shape (m,)
            The objective before each step (what autograd's loop records).
        """
        r = np.ascontiguousarray(rows.cpu().numpy(), dtype=np.int64)
        m, b = r.shape
        s = _with_positives(shifts, b)
        values = np.empty(m)
        rc = self._lib.mi_joint_train(
            *self._pointers(),
            self._dx,
            self._dy,
            self._h,
            self._m1.ctypes.data,
            self._m2.ctypes.data,
            ctypes.byref(self._step),
            self._x,
            self._y,
            r,
            s,
            m,
            b,
            s.shape[1],
            self._code,
            self._decay,
            ctypes.byref(self._log_ma),
            ctypes.byref(self._have_ma),
            self._lr,
            0.9,
            0.999,
            1e-8,
            values,
        )
        if rc != 0:
            raise MemoryError("the native joint-critic kernel ran out of memory")
        return values

    def heldout_scores(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        blocks: Sequence[torch.Tensor],
        shifts: Sequence[torch.Tensor | None],
    ) -> Callable[[], tuple[torch.Tensor, torch.Tensor]]:
        """A function giving the current critic's scores of fixed held-out blocks.

        The rows and shifts are laid out once here; each call scores them with the
        parameters as they are then.

        Parameters
        ----------
        x, y : torch.Tensor
            Float32 CPU rows.
        blocks : sequence of torch.Tensor of int
            Row indices of each block (all of the same length B).
        shifts : sequence of torch.Tensor of int, or None
            Each block's K shifts; None: all ``B - 1`` other rows of the block.

        Returns
        -------
        callable
            Returns positive ``(n,)`` and negative ``(n, K)`` scores, as
            :func:`~mi_probe.estimators.neural.critics.pair_scores` gives them, the
            blocks one after the other.
        """
        xa = np.ascontiguousarray(x.numpy(), dtype=np.float32)
        ya = np.ascontiguousarray(y.numpy(), dtype=np.float32)
        rows = np.ascontiguousarray(torch.cat(list(blocks)).numpy(), dtype=np.int64)
        n_blocks = len(blocks)
        b = rows.size // n_blocks
        sh = _with_positives(shifts, b)
        s = sh.shape[1]

        def score() -> tuple[torch.Tensor, torch.Tensor]:
            out = np.empty((rows.size, s), dtype=np.float32)
            rc = self._lib.mi_joint_scores(
                *self._pointers(),
                self._dx,
                self._dy,
                self._h,
                xa,
                ya,
                rows,
                n_blocks,
                b,
                sh,
                s,
                out,
            )
            if rc != 0:
                raise MemoryError("the native joint-critic kernel ran out of memory")
            scores = torch.from_numpy(out)
            return scores[:, 0], scores[:, 1:]

        return score


def _with_positives(shifts: Sequence[torch.Tensor | None], b: int) -> np.ndarray:
    """The kernel's shift rows: 0 (the positives) then each entry's shifts (None: all)."""
    every_row = torch.arange(1, b)
    zero = torch.zeros(1, dtype=torch.int64)
    return np.ascontiguousarray(
        torch.stack(
            [torch.cat([zero, (every_row if sh is None else sh).to(torch.int64)]) for sh in shifts]
        ).numpy()
    )
