"""Variational lower bounds on I(x; y) from one matrix of critic scores.

Every function takes the critic's scores in one of two forms:

- ``scores`` alone: a ``(B, B)`` tensor with ``scores[i, j] = f(x_i, y_j)``; the
  diagonal holds samples of the joint p(x, y), the ``B(B-1)`` off-diagonal entries
  samples of the product of marginals p(x)p(y) (what a separable critic gives for the
  price of one matmul);
- ``scores`` and ``negatives``: ``scores`` is the ``(B,)`` vector of positive scores
  ``f(x_i, y_i)`` and ``negatives`` a ``(B, K)`` tensor of scores of K pairs per row
  drawn from p(x)p(y), ``negatives[i, k] = f(x_i, y_{j_k(i)})`` with ``j_k(i) != i``
  (what a joint critic scores when it samples K negatives instead of all B - 1).

All values are in nats.

References
----------
.. [1] M. D. Donsker, S. R. S. Varadhan, "Asymptotic evaluation of certain Markov
   process expectations for large time IV", Comm. Pure Appl. Math. 36 (1983).
.. [2] M. I. Belghazi et al., "Mutual Information Neural Estimation", ICML 2018.
.. [3] X. Nguyen, M. J. Wainwright, M. I. Jordan, "Estimating divergence functionals
   and the likelihood ratio by convex risk minimization", IEEE Trans. Inf. Theory 56 (2010).
.. [4] A. van den Oord, Y. Li, O. Vinyals, "Representation learning with contrastive
   predictive coding", arXiv:1807.03748 (2018).
.. [5] B. Poole, S. Ozair, A. van den Oord, A. Alemi, G. Tucker, "On variational bounds
   of mutual information", ICML 2019.
.. [6] J. Song, S. Ermon, "Understanding the limitations of variational mutual
   information estimators", ICLR 2020.
.. [7] D. McAllester, K. Stratos, "Formal limitations on the measurement of mutual
   information", AISTATS 2020.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "logmeanexp_offdiag",
    "split_scores",
    "dv_bound",
    "nwj_bound",
    "infonce_bound",
    "smile_bound",
    "js_bound",
    "js_nwj_bound",
    "mine_surrogate",
]


def _check_square(scores: torch.Tensor) -> int:
    if scores.dim() != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"scores must be a square (B, B) matrix, got shape {tuple(scores.shape)}")
    b = scores.shape[0]
    if b < 2:
        raise ValueError(f"scores must be at least 2 x 2 (one negative per row), got {b} x {b}")
    return b


def _check_pairs(scores: torch.Tensor, negatives: torch.Tensor) -> int:
    if scores.dim() != 1:
        raise ValueError(
            "with negatives given, scores must be the (B,) vector of positive scores, got "
            f"shape {tuple(scores.shape)}"
        )
    if negatives.dim() != 2 or negatives.shape[0] != scores.shape[0] or negatives.shape[1] < 1:
        raise ValueError(
            f"negatives must be a (B, K) matrix with B = {scores.shape[0]} rows and K >= 1, "
            f"got shape {tuple(negatives.shape)}"
        )
    return int(negatives.shape[1])


def _offdiag(scores: torch.Tensor) -> torch.Tensor:
    """The ``B(B-1)`` off-diagonal entries, row by row, without a boolean mask.

    Dropping the first entry of the flattened matrix leaves rows of ``B + 1`` entries
    that each end with a diagonal one: a strided view and one copy, where boolean
    indexing (and its scatter backward) took twice the time of the whole JS objective
    on a 128 x 128 batch.
    """
    b = scores.shape[0]
    return scores.reshape(-1)[1:].reshape(b - 1, b + 1)[:, :-1].reshape(-1)


def split_scores(
    scores: torch.Tensor, negatives: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Positive scores ``(B,)`` and negative scores (flattened) from either form.

    Parameters
    ----------
    scores : torch.Tensor, shape (B, B), or (B,) when ``negatives`` is given
    negatives : torch.Tensor, shape (B, K), or None

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        The B positive scores and the ``B(B-1)`` (or ``B K``) negative ones.

    Raises
    ------
    ValueError
        Shapes that fit neither form.
    """
    if negatives is None:
        _check_square(scores)
        return scores.diagonal(), _offdiag(scores)
    _check_pairs(scores, negatives)
    return scores, negatives.reshape(-1)


def _logmeanexp(v: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(v.reshape(-1), dim=0) - math.log(v.numel())


def logmeanexp_offdiag(scores: torch.Tensor, negatives: torch.Tensor | None = None) -> torch.Tensor:
    """``log mean_{i != j} exp(scores[i, j])`` (scalar tensor), computed stably.

    With ``negatives`` given, the log-mean-exp of all its entries instead.
    """
    if negatives is not None:
        _check_pairs(scores, negatives)
        return _logmeanexp(negatives)
    b = _check_square(scores)
    return torch.logsumexp(_offdiag(scores), dim=0) - math.log(b * (b - 1))


def dv_bound(scores: torch.Tensor, negatives: torch.Tensor | None = None) -> torch.Tensor:
    """Donsker-Varadhan bound ``E_p[f] - log E_q[e^f]`` (the MINE estimate), nats.

    Parameters
    ----------
    scores : torch.Tensor, shape (B, B), or (B,) positive scores with ``negatives``
    negatives : torch.Tensor, shape (B, K), or None
        Sampled negative scores (see the module docstring); None: the off-diagonal.

    Returns
    -------
    torch.Tensor
        Scalar; tight at ``f = log p/q + c`` for any constant c.
    """
    pos, _ = split_scores(scores, negatives)
    return pos.mean() - logmeanexp_offdiag(scores, negatives)


def nwj_bound(scores: torch.Tensor, negatives: torch.Tensor | None = None) -> torch.Tensor:
    """Nguyen-Wainwright-Jordan (f-MINE) bound ``E_p[f] - E_q[e^(f - 1)]``, nats.

    Tight at ``f = 1 + log p/q``. Looser than DV for the same critic, but its gradient
    is unbiased from minibatches. ``scores`` / ``negatives`` as for :func:`dv_bound`.
    """
    pos, _ = split_scores(scores, negatives)
    return pos.mean() - torch.exp(logmeanexp_offdiag(scores, negatives) - 1.0)


def infonce_bound(scores: torch.Tensor, negatives: torch.Tensor | None = None) -> torch.Tensor:
    """InfoNCE / CPC bound ``mean_i [f_ii - logsumexp_j f_ij] + log K``, nats.

    Never exceeds ``log K`` (the ceiling); low variance. ``K`` is the number of
    candidates per row: the positive and its negatives, ``B`` for a ``(B, B)`` matrix,
    ``K + 1`` when ``negatives`` of shape ``(B, K)`` are given (then each row's
    candidates are its positive and its own K negatives).
    """
    if negatives is None:
        b = _check_square(scores)
        return (scores.diagonal() - torch.logsumexp(scores, dim=1)).mean() + math.log(b)
    k = _check_pairs(scores, negatives)
    cand = torch.cat([scores[:, None], negatives], dim=1)
    return (scores - torch.logsumexp(cand, dim=1)).mean() + math.log(k + 1)


def smile_bound(
    scores: torch.Tensor, clip: float = 5.0, negatives: torch.Tensor | None = None
) -> torch.Tensor:
    """SMILE: DV with the negative scores clipped to ``[-clip, clip]``, nats.

    Clipping bounds the variance of the partition-function term (at the price of a
    bias that vanishes as ``clip`` grows); ``clip=inf`` gives :func:`dv_bound`.
    ``scores`` / ``negatives`` as for :func:`dv_bound`.
    """
    pos, neg = split_scores(scores, negatives)
    clipped = neg.clamp(-clip, clip) if math.isfinite(clip) else neg
    return pos.mean() - _logmeanexp(clipped)


def js_bound(scores: torch.Tensor, negatives: torch.Tensor | None = None) -> torch.Tensor:
    """Jensen-Shannon (f-GAN) objective ``E_p[-softplus(-f)] - E_q[softplus(f)]``.

    Not an MI bound itself; maximising it trains the critic towards ``f = log p/q``,
    which :func:`js_nwj_bound` then evaluates. ``scores`` / ``negatives`` as for
    :func:`dv_bound`.
    """
    if negatives is None:
        _check_square(scores)
        value: torch.Tensor = _JSMatrix.apply(scores)  # type: ignore[no-untyped-call]  # torch: unannotated
        return value
    pos, neg = split_scores(scores, negatives)
    return -F.softplus(-pos).mean() - F.softplus(neg).mean()


class _JSMatrix(torch.autograd.Function):
    """:func:`js_bound` of a full ``(B, B)`` matrix as one autograd node.

    The mean over the off-diagonal is the whole matrix's sum less the diagonal's, so
    nothing is gathered; the gradient is ``sigmoid(-f) / B`` on the diagonal and
    ``-sigmoid(f) / (B (B - 1))`` off it, in place of a dozen autograd nodes (see
    ``critics._MarginalScores`` for what the two together save).
    """

    @staticmethod
    def forward(ctx: Any, scores: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(scores)
        b = scores.shape[0]
        sp = F.softplus(scores)
        neg = (sp.sum() - sp.diagonal().sum()) / (b * (b - 1))
        return -F.softplus(-scores.diagonal()).mean() - neg

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (scores,) = ctx.saved_tensors
        b = scores.shape[0]
        out = torch.sigmoid(scores).mul_(-1.0 / (b * (b - 1)))
        out.diagonal().copy_(torch.sigmoid(-scores.diagonal()) / b)
        return out * grad


def js_nwj_bound(scores: torch.Tensor, negatives: torch.Tensor | None = None) -> torch.Tensor:
    """The NWJ bound of the shifted critic ``f + 1`` (tight when ``f = log p/q``), nats.

    The evaluation Poole et al. (2019) pair with a JS-trained critic.
    """
    return nwj_bound(scores + 1.0, None if negatives is None else negatives + 1.0)


def mine_surrogate(
    scores: torch.Tensor,
    log_moving_average: torch.Tensor,
    negatives: torch.Tensor | None = None,
) -> torch.Tensor:
    """MINE's bias-corrected training objective (to maximise).

    Parameters
    ----------
    scores : torch.Tensor, shape (B, B), or (B,) positive scores with ``negatives``
    log_moving_average : torch.Tensor
        Log of the exponential moving average of ``E_q[e^f]`` over past batches
        (no gradient).
    negatives : torch.Tensor, shape (B, K), or None
        Sampled negative scores; None: the off-diagonal of ``scores``.

    Returns
    -------
    torch.Tensor
        ``E_p[f] - E_q[e^f] / ma``, whose gradient is the DV gradient with the
        minibatch denominator replaced by the moving average (Belghazi et al. 2018,
        Sec. 3.2), which removes the bias of the minibatch gradient.
    """
    pos, _ = split_scores(scores, negatives)
    lme = logmeanexp_offdiag(scores, negatives)
    return pos.mean() - torch.exp(lme - log_moving_average.detach())
