"""Variational lower bounds on I(x; y) from one matrix of critic scores.

Every function takes ``scores``, a ``(B, B)`` tensor with ``scores[i, j] = f(x_i, y_j)``:
the diagonal holds samples of the joint p(x, y), the ``B(B-1)`` off-diagonal entries
samples of the product of marginals p(x)p(y). All values are in nats.

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

import torch
import torch.nn.functional as F

__all__ = [
    "logmeanexp_offdiag",
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


def _offdiag(scores: torch.Tensor) -> torch.Tensor:
    b = scores.shape[0]
    eye = torch.eye(b, dtype=torch.bool, device=scores.device)
    return scores.masked_fill(eye, -math.inf)


def logmeanexp_offdiag(scores: torch.Tensor) -> torch.Tensor:
    """``log mean_{i != j} exp(scores[i, j])`` (scalar tensor), computed stably."""
    b = _check_square(scores)
    return torch.logsumexp(_offdiag(scores).reshape(-1), dim=0) - math.log(b * (b - 1))


def dv_bound(scores: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan bound ``E_p[f] - log E_q[e^f]`` (the MINE estimate), nats.

    Parameters
    ----------
    scores : torch.Tensor, shape (B, B)

    Returns
    -------
    torch.Tensor
        Scalar; tight at ``f = log p/q + c`` for any constant c.
    """
    _check_square(scores)
    return scores.diagonal().mean() - logmeanexp_offdiag(scores)


def nwj_bound(scores: torch.Tensor) -> torch.Tensor:
    """Nguyen-Wainwright-Jordan (f-MINE) bound ``E_p[f] - E_q[e^(f - 1)]``, nats.

    Tight at ``f = 1 + log p/q``. Looser than DV for the same critic, but its gradient
    is unbiased from minibatches.
    """
    _check_square(scores)
    return scores.diagonal().mean() - torch.exp(logmeanexp_offdiag(scores) - 1.0)


def infonce_bound(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE / CPC bound ``mean_i [f_ii - logsumexp_j f_ij] + log B``, nats.

    Never exceeds ``log B`` (the ceiling); low variance. ``B`` is the number of
    candidates per row (the positive and its ``B - 1`` negatives).
    """
    b = _check_square(scores)
    return (scores.diagonal() - torch.logsumexp(scores, dim=1)).mean() + math.log(b)


def smile_bound(scores: torch.Tensor, clip: float = 5.0) -> torch.Tensor:
    """SMILE: DV with the negative scores clipped to ``[-clip, clip]``, nats.

    Clipping bounds the variance of the partition-function term (at the price of a
    bias that vanishes as ``clip`` grows); ``clip=inf`` gives :func:`dv_bound`.
    """
    _check_square(scores)
    clipped = scores.clamp(-clip, clip) if math.isfinite(clip) else scores
    return scores.diagonal().mean() - logmeanexp_offdiag(clipped)


def js_bound(scores: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon (f-GAN) objective ``E_p[-softplus(-f)] - E_q[softplus(f)]``.

    Not an MI bound itself; maximising it trains the critic towards ``f = log p/q``,
    which :func:`js_nwj_bound` then evaluates.
    """
    b = _check_square(scores)
    pos = -F.softplus(-scores.diagonal()).mean()
    off = ~torch.eye(b, dtype=torch.bool, device=scores.device)
    neg = F.softplus(scores[off]).mean()
    return pos - neg


def js_nwj_bound(scores: torch.Tensor) -> torch.Tensor:
    """The NWJ bound of the shifted critic ``f + 1`` (tight when ``f = log p/q``), nats.

    The evaluation Poole et al. (2019) pair with a JS-trained critic.
    """
    return nwj_bound(scores + 1.0)


def mine_surrogate(
    scores: torch.Tensor, log_moving_average: torch.Tensor
) -> torch.Tensor:
    """MINE's bias-corrected training objective (to maximise).

    Parameters
    ----------
    scores : torch.Tensor, shape (B, B)
    log_moving_average : torch.Tensor
        Log of the exponential moving average of ``E_q[e^f]`` over past batches
        (no gradient).

    Returns
    -------
    torch.Tensor
        ``E_p[f] - E_q[e^f] / ma``, whose gradient is the DV gradient with the
        minibatch denominator replaced by the moving average (Belghazi et al. 2018,
        Sec. 3.2), which removes the bias of the minibatch gradient.
    """
    _check_square(scores)
    lme = logmeanexp_offdiag(scores)
    return scores.diagonal().mean() - torch.exp(lme - log_moving_average.detach())
