"""Critics f(x, y) for the contrastive bounds: joint and separable.

A critic maps a batch of ``B`` x-rows and ``B`` y-rows to the ``B x B`` matrix of
scores ``f(x_i, y_j)``; the diagonal holds the paired (joint) samples and the
off-diagonal entries serve as samples of the product of marginals. Every bound in
:mod:`mi_probe.estimators.neural.bounds` is a function of that one matrix, or of the
positives and K sampled negatives per row that :func:`pair_scores` gives: a joint
critic then scores ``B (K + 1)`` pairs instead of ``B^2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..._validation import check_choice, check_int
from .bounds import split_scores

__all__ = [
    "mlp",
    "JointCritic",
    "SeparableCritic",
    "make_critic",
    "default_hidden_dims",
    "INFONCE_SEPARABLE_HIDDEN",
    "pair_scores",
    "sample_shifts",
    "resolve_critic",
]

CRITICS = ("auto", "separable", "joint")

# critic="auto" picks a joint critic for NWJ, MINE and JS when d_x + d_y is at most
# this (the largest input measured, a 20 x 20 Gaussian), a separable one above.
AUTO_JOINT_MAX_DIM = 40

# Default hidden widths of a joint critic: one layer of 256 ReLU units. Measured with
# 16 sampled negatives per row (n=5000, 300 steps, batch 128, lr 1e-3, chosen on
# seeds 0-4): on a 5 x 5 Gaussian (2 nats) NWJ 1.88, MINE 1.91, JS 1.91 nats against
# 1.84, 1.88, 1.85 for two layers of 64 (the former default) and 1.87, 1.89 (NWJ,
# MINE), 1.84 (JS) for two layers of 128; one layer of 128 was worse (NWJ 1.78, JS
# 1.85). A single hidden layer costs about 3 h per scored pair instead of h^2.
JOINT_HIDDEN = (256,)

# Default hidden widths of each embedding of InfoNCE's separable critic: one layer of
# 256 units whatever the input dimension (the other bounds' separable critics take
# twice default_hidden_dims, 128 units up to ~22 dimensions). InfoNCE learns only
# from how each positive ranks among its batch, and the wider embeddings help it where
# the narrower ones limit it: n=5000, 300 steps, batch 128, against the 128-unit
# default, on a 20 x 20 Gaussian (3 nats) +0.08 nats on seeds 0-4 (2.44 -> 2.53) and
# +0.06 on seeds 5-9 (2.46 -> 2.52); within 0.005 nats on 1 x 1 and 5 x 5 Gaussians
# and +0.02 / +0.00 on the heavy-tailed cubic 5 x 5 task (same seeds); about 20%
# more time a fit.
INFONCE_SEPARABLE_HIDDEN = (256,)


def default_hidden_dims(d_in: int) -> tuple[int, ...]:
    """Two hidden layers sized for the input: 64 units for d <= 16, up to 256 for d ~ 1000.

    Parameters
    ----------
    d_in : int
        Input dimension (``d_x + d_y`` for a joint critic, ``d_x`` or ``d_y`` for an
        embedding of a separable one).

    Returns
    -------
    tuple of int
        Widths of the hidden layers.
    """
    width = int(min(256, max(64, 2 ** round(torch.log2(torch.tensor(float(d_in))).item() + 2))))
    return (width, width)


def mlp(d_in: int, hidden_dims: Sequence[int], d_out: int) -> nn.Sequential:
    """A ReLU multilayer perceptron ``d_in -> hidden_dims... -> d_out`` (linear output).

    Parameters
    ----------
    d_in, d_out : int
        Input and output widths.
    hidden_dims : sequence of int
        Hidden widths; empty for a linear map.

    Returns
    -------
    torch.nn.Sequential
    """
    layers: list[nn.Module] = []
    prev = d_in
    for h in hidden_dims:
        layers += [nn.Linear(prev, h), nn.ReLU()]
        prev = h
    layers.append(nn.Linear(prev, d_out))
    return nn.Sequential(*layers)


class SeparableCritic(nn.Module):
    """``f(x, y) = g(x) . h(y) [+ a(x) + b(y)]``: two MLP embeddings, one matmul per batch.

    Parameters
    ----------
    d_x, d_y : int
        Dimensions of x and y.
    hidden_dims : sequence of int
        Hidden widths of each embedding MLP.
    embed_dim : int
        Embedding width ``k``.
    marginal_terms : bool, default True
        Add scalar heads ``a(x)`` and ``b(y)`` (one more output unit on each embedding
        network), so the critic can hold the x-only and y-only parts of ``log p/q``
        that NWJ, DV and JS need; they cost two broadcasts per batch.

    Notes
    -----
    A batch of B pairs costs ``2 B`` MLP passes and one ``B x B x k`` matmul, so all
    B(B-1) negatives come almost for free (Poole et al. 2019, "separable critic").
    """

    def __init__(
        self,
        d_x: int,
        d_y: int,
        hidden_dims: Sequence[int],
        embed_dim: int,
        marginal_terms: bool = True,
    ) -> None:
        super().__init__()
        self.marginal_terms = bool(marginal_terms)
        extra = 1 if self.marginal_terms else 0
        self.g = mlp(d_x, hidden_dims, embed_dim + extra)
        self.h = mlp(d_y, hidden_dims, embed_dim + extra)

    def embed(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two embeddings (with the marginal head as last column when present)."""
        return self.g(x), self.h(y)

    def combine(self, ex: torch.Tensor, ey: torch.Tensor) -> torch.Tensor:
        """Scores ``(B_x, B_y)`` from embeddings returned by :meth:`embed`."""
        if not self.marginal_terms:
            return ex @ ey.T
        scores: torch.Tensor = _MarginalScores.apply(ex, ey)  # type: ignore[no-untyped-call]  # torch: unannotated
        return scores

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores ``(B_x, B_y)``: entry (i, j) is f(x_i, y_j)."""
        return self.combine(*self.embed(x, y))

    def shifted(self, x: torch.Tensor, y: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
        """Scores ``(B, S)``: entry (i, s) is ``f(x_i, y_{(i + shifts[s]) mod B})``."""
        ex, ey = self.embed(x, y)
        ez = ey[_shifted_rows(x.shape[0], shifts, x.device)]  # (B, S, k [+ 1])
        if not self.marginal_terms:
            return (ex[:, None, :] * ez).sum(-1)
        return (ex[:, None, :-1] * ez[..., :-1]).sum(-1) + ex[:, -1:] + ez[..., -1]


class _MarginalScores(torch.autograd.Function):
    """``ex[:, :-1] @ ey[:, :-1].T + ex[:, -1:] + ey[:, -1]`` as one autograd node.

    Written out, the slices, transpose, matmul and two broadcast adds are nine nodes;
    the gradients here are the same two matmuls and two sums. With the one-node JS
    objective (``bounds._JSMatrix``) a separable training step went from 1.05 to 0.92
    ms in a micro-benchmark here (20-D, batch 128, one thread); whole fits are
    dominated by the rest of autograd and moved by less than their noise.
    """

    @staticmethod
    def forward(ctx: Any, ex: torch.Tensor, ey: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(ex, ey)
        return torch.addmm(ex[:, -1:] + ey[:, -1][None, :], ex[:, :-1], ey[:, :-1].T)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        ex, ey = ctx.saved_tensors
        dex = dey = None
        if ctx.needs_input_grad[0]:
            dex = torch.cat([grad @ ey[:, :-1], grad.sum(1, keepdim=True)], dim=1)
        if ctx.needs_input_grad[1]:
            dey = torch.cat([grad.T @ ex[:, :-1], grad.sum(0)[:, None]], dim=1)
        return dex, dey


class JointCritic(nn.Module):
    """``f(x, y) = MLP([x, y])``: the most flexible critic, ``B^2`` passes per batch.

    Parameters
    ----------
    d_x, d_y : int
        Dimensions of x and y.
    hidden_dims : sequence of int
        Hidden widths (at least one layer).

    Notes
    -----
    The first layer is split as ``W_x x + W_y y + b``, so the ``B x B`` grid of inputs
    is never materialised at input width; only the hidden activations are
    (``B^2 x width``).
    """

    def __init__(self, d_x: int, d_y: int, hidden_dims: Sequence[int]) -> None:
        super().__init__()
        if len(hidden_dims) == 0:
            raise ValueError("hidden_dims must have at least one layer for a joint critic")
        h0 = hidden_dims[0]
        self.wx = nn.Linear(d_x, h0)
        self.wy = nn.Linear(d_y, h0, bias=False)
        self.rest = nn.Sequential(nn.ReLU(), mlp(h0, hidden_dims[1:], 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores ``(B_x, B_y)``: entry (i, j) is f(x_i, y_j)."""
        a = self.wx(x)  # (Bx, h)
        b = self.wy(y)  # (By, h)
        grid = a[:, None, :] + b[None, :, :]
        scores: torch.Tensor = self.rest[1](torch.relu_(grid))
        return scores.squeeze(-1)

    def shifted(self, x: torch.Tensor, y: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
        """Scores ``(B, S)``: entry (i, s) is ``f(x_i, y_{(i + shifts[s]) mod B})``.

        Costs ``B S`` passes of the MLP above its first layer (``B (B - 1)`` would be
        the full grid).
        """
        idx = _shifted_rows(x.shape[0], shifts, x.device)
        a = self.wx(x)
        if y.shape[1] <= self.wy.out_features:
            # gather the inputs (no gradient flows into y, so no scatter-add backward)
            b = self.wy(y[idx])
        else:
            b = self.wy(y)[idx]
        # ReLU in place on the (B, S, h) sum: one buffer fewer per call
        scores: torch.Tensor = self.rest[1](torch.relu_(a[:, None, :] + b))
        return scores.squeeze(-1)


def _shifted_rows(b: int, shifts: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Row indices ``(B, S)``: entry (i, s) is ``(i + shifts[s]) mod B``."""
    return (torch.arange(b, device=device)[:, None] + shifts[None, :]) % b


def sample_shifts(batch: int, n_negatives: int, generator: torch.Generator) -> torch.Tensor:
    """``n_negatives`` distinct shifts drawn uniformly from ``1 .. batch - 1``.

    Shift ``r`` pairs ``x_i`` with ``y_{(i + r) mod B}``: a cyclic relabelling with no
    fixed point, so every shift gives B pairs from the product of marginals and every
    y of the batch serves as a negative exactly ``n_negatives`` times.
    """
    return torch.randperm(batch - 1, generator=generator)[:n_negatives] + 1


def pair_scores(
    critic: JointCritic | SeparableCritic,
    x: torch.Tensor,
    y: torch.Tensor,
    shifts: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Positive scores and negative scores per row, for the bounds' ``negatives`` form.

    Parameters
    ----------
    critic : JointCritic or SeparableCritic
    x, y : torch.Tensor, shapes (B, d_x), (B, d_y)
        Paired rows.
    shifts : torch.Tensor of int, shape (K,), or None
        Negatives ``y_{(i + r) mod B}`` for each shift r (each in ``1 .. B - 1``, see
        :func:`sample_shifts`); None: all ``B - 1`` other rows, from the full ``B x B``
        matrix.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        ``pos`` of shape ``(B,)``: ``f(x_i, y_i)``; ``neg`` of shape ``(B, K)``
        (``K = B - 1`` for ``shifts=None``).
    """
    b = x.shape[0]
    if shifts is None:
        pos, neg = split_scores(critic(x, y))
        return pos, neg.reshape(b, b - 1)
    zero = torch.zeros(1, dtype=shifts.dtype, device=shifts.device)
    s = critic.shifted(x, y, torch.cat([zero, shifts.to(x.device)]))
    return s[:, 0], s[:, 1:]


def resolve_critic(critic: str, bound: str, d_x: int, d_y: int) -> str:
    """The critic ``critic="auto"`` stands for; other names are returned unchanged.

    Parameters
    ----------
    critic : {"auto", "separable", "joint"}
    bound : str
        ``"infonce"``, ``"nwj"``, ``"mine"``, ``"smile"`` or ``"js"``.
    d_x, d_y : int
        Dimensions of x and y.

    Returns
    -------
    str
        ``"separable"`` for InfoNCE (its bound needs every row against every other,
        which a separable critic gives for one matmul), for SMILE, and whenever
        ``d_x + d_y > AUTO_JOINT_MAX_DIM`` (40); ``"joint"`` otherwise (NWJ, MINE and
        JS on inputs of at most 40 columns in all).

    Raises
    ------
    ValueError
        Unknown critic.

    Notes
    -----
    Evidence (n=5000, 300 steps, batch 128, lr 1e-3, Gaussians of 1 x 1, 5 x 5 and
    20 x 20 dimensions with 0.5, 2 and 3 nats; joint = one layer of 256 units with 16
    sampled negatives per row, 32 per held-out row; chosen on seeds 0-4, checked on
    5-9): mean absolute errors within 0.01 nats of the separable critic's on 1 x 1
    (0.013-0.022 for both); estimates 0.06-0.12 nats higher (closer to the truth) on
    5 x 5 (e.g. NWJ 1.80 -> 1.88 on seeds 0-4, 1.83 -> 1.90 on 5-9) and 0.12-0.47
    higher on 20 x 20 (NWJ 2.25 -> 2.56, 2.26 -> 2.60; JS 2.12 -> 2.55, 2.13 -> 2.59)
    for NWJ, MINE, SMILE and JS alike. Wider inputs were not measured, so the
    separable critic (the former default, cheaper per pair) stays theirs.

    SMILE keeps the separable critic: its clipping already bounds the variance that
    hurts the separable critic's NWJ, MINE and JS, and on a heavy-tailed task
    (5 x 5 Gaussian, 2 nats, y -> y^3) its separable estimate was the better one
    (n=5000, 300 steps, seeds 0-4: 1.44 against 1.25 nats; n=50000, 3000 steps,
    seed 0: 1.79 against 1.67), whereas there the joint critic was far better for
    NWJ (1.18 vs 0.60), MINE (1.24 vs 0.75) and JS (1.23 vs -0.81, the separable
    critic's DV wrecked by held-out outliers). On the Gaussians the joint critic
    raised SMILE by 0.06-0.13 nats (against torch-mist: 5 x 5 a tie either way, 20 x 20
    a win instead of a tie).
    """
    check_choice(critic, "critic", CRITICS)
    if critic != "auto":
        return critic
    if bound in ("infonce", "smile") or d_x + d_y > AUTO_JOINT_MAX_DIM:
        return "separable"
    return "joint"


def make_critic(
    critic: str,
    d_x: int,
    d_y: int,
    *,
    hidden_dims: Sequence[int] | None = None,
    embed_dim: int = 64,
    marginal_terms: bool = True,
) -> JointCritic | SeparableCritic:
    """Build a critic by name.

    Parameters
    ----------
    critic : {"separable", "joint"}
        (``"auto"`` is resolved by the estimators, see :func:`resolve_critic`.)
    d_x, d_y : int
        Dimensions of x and y.
    hidden_dims : sequence of int or None
        Hidden widths; None picks one layer of 256 units for a joint critic
        (``JOINT_HIDDEN``) and, for each embedding of a separable one, a single hidden
        layer twice as wide as :func:`default_hidden_dims` (at most 256).
    embed_dim : int, default 64
        Embedding width of a separable critic.
    marginal_terms : bool, default True
        Whether a separable critic has the scalar heads ``a(x) + b(y)``.

    Returns
    -------
    torch.nn.Module
        Called as ``critic(x, y)`` on ``(B, d_x)`` and ``(B, d_y)`` tensors, returns
        the ``(B, B)`` score matrix.

    Raises
    ------
    ValueError
        Unknown critic, bad widths.
    """
    check_choice(critic, "critic", ("separable", "joint"))
    embed_dim = check_int(embed_dim, "embed_dim", low=1)
    if hidden_dims is None and critic == "joint":
        hidden_dims = JOINT_HIDDEN
    if hidden_dims is None:
        hidden_dims = default_hidden_dims(max(d_x, d_y))
        if critic == "separable":
            # one hidden layer, twice as wide as a joint critic's (at most 256), and a
            # 64-wide embedding. Each embedding sees one side only, so the x-only and
            # y-only parts of log p/q (which NWJ, DV and JS need) come from a linear
            # read-out of that one layer. On a 20-D Gaussian (3 nats, n=5000, 300
            # steps, seeds 5-9) width 128 against 64 raised
            # every bound by 0.15-0.35 nats (InfoNCE 2.14 -> 2.30, NWJ 2.01 -> 2.21,
            # MINE 2.07 -> 2.30, SMILE 2.11 -> 2.45; chosen on seeds 0-4 with JS and
            # MINE, widths 64-512 tried); 1-D and 5-D within noise; on
            # the heavy-tailed cubic 5-D task NWJ and MINE fell by ~0.2 (0.85 -> 0.70,
            # 0.98 -> 0.76). Two hidden layers were worse in 20-D (1.3-1.6 nats).
            hidden_dims = (min(256, 2 * hidden_dims[0]),)
            # marginal_terms (scalar heads a(x) + b(y), on by default): n=5000, 300
            # steps, paired against the plain g.h over seeds 0-4 then 5-9 -- 20-D,
            # 3 nats: NWJ +0.07/+0.05, MINE +0.04/+0.02, JS +0.03/+0.09 nats closer to
            # the truth, SMILE -0.04/+0.03, InfoNCE within 0.01; 1-D and 5-D within
            # 0.02 for every bound (it does not close the 5-D gap to joint critics).
    try:
        dims = tuple(int(check_int(h, "hidden_dims", low=1)) for h in hidden_dims)
    except TypeError:
        raise ValueError(
            f"hidden_dims must be a sequence of positive integers, got {hidden_dims!r}"
        ) from None
    if critic == "joint":
        return JointCritic(d_x, d_y, dims)
    return SeparableCritic(d_x, d_y, dims, embed_dim, marginal_terms)
