"""Layers whose information content is known by construction.

:class:`InformationDropout` (Achille & Soatto 2018) multiplies its activations by
learned log-normal noise; its KL term is an upper bound on I(x; z), so a network built
with it carries its own information budget, and the layer can be probed from both
sides with :func:`mi_probe.estimators.neural.gaussian_encoder_mi`.

References
----------
.. [1] A. Achille, S. Soatto, "Information dropout: learning optimal representations
   through noisy computation", IEEE TPAMI 40 (2018), arXiv:1611.01353.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import check_int, check_positive

__all__ = ["InformationDropout"]


class InformationDropout(nn.Module):
    """Linear map, softplus, and multiplicative log-normal noise with learned scale.

    ``z = softplus(W x + b) * exp(alpha(x) * eps)``, ``eps ~ N(0, 1)`` per unit, with
    ``alpha(x) = max_alpha * sigmoid(V x + c)``. In log space the encoder is Gaussian:
    ``log z | x ~ N(log softplus(W x + b), diag alpha(x)^2)``, and with the log-normal
    prior ``log z ~ N(prior_mean, prior_std^2)`` (learned per unit)

    ``I(x; z) = I(x; log z) <= E_x KL(q(log z | x) || prior)``,

    the term :meth:`kl` returns. Add ``beta * layer.kl(x).mean()`` (or the stored
    ``layer.last_kl.mean()``) to the loss for the Information Bottleneck Lagrangian.

    Parameters
    ----------
    in_features : int
        Input width.
    out_features : int
        Output width (number of noisy units).
    max_alpha : float, default 0.7
        Upper limit on the noise scale (the paper's 0.7 keeps training stable).
    min_alpha : float, default 1e-3
        Lower limit, so the KL (and the information) stays finite.
    learn_prior : bool, default True
        Learn the prior's mean and log-std per unit (else N(0, 1) in log space).

    Raises
    ------
    ValueError
        Non-positive sizes or ``min_alpha >= max_alpha``.

    Notes
    -----
    The noise is applied in training mode, or always when ``stochastic=True`` is set
    on the instance; in eval mode the layer returns the noise median
    ``softplus(W x + b)``. The paper's ReLU variant with a log-uniform prior has a KL
    that is only defined up to a constant; the softplus / log-normal variant used here
    gives a true bound.

    Examples
    --------
    >>> import torch
    >>> from mi_probe.layers import InformationDropout
    >>> layer = InformationDropout(4, 3)
    >>> z = layer(torch.randn(8, 4))
    >>> z.shape, layer.last_kl.shape
    (torch.Size([8, 3]), torch.Size([8]))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        max_alpha: float = 0.7,
        min_alpha: float = 1e-3,
        learn_prior: bool = True,
    ) -> None:
        super().__init__()
        in_features = check_int(in_features, "in_features", low=1)
        out_features = check_int(out_features, "out_features", low=1)
        max_alpha = check_positive(max_alpha, "max_alpha")
        min_alpha = check_positive(min_alpha, "min_alpha")
        if min_alpha >= max_alpha:
            raise ValueError(f"min_alpha must be < max_alpha, got {min_alpha} >= {max_alpha}")
        self.in_features, self.out_features = in_features, out_features
        self.max_alpha, self.min_alpha = max_alpha, min_alpha
        self.linear = nn.Linear(in_features, out_features)
        self.alpha_linear = nn.Linear(in_features, out_features)
        self.prior_mean = nn.Parameter(torch.zeros(out_features), requires_grad=learn_prior)
        self.prior_log_std = nn.Parameter(torch.zeros(out_features), requires_grad=learn_prior)
        self.stochastic = False
        self.last_kl: torch.Tensor | None = None

    def encoder(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and standard deviation of ``log z`` given x, each ``(B, out_features)``."""
        log_mean = torch.log(F.softplus(self.linear(x)).clamp_min(1e-12))
        span = self.max_alpha - self.min_alpha
        alpha = self.min_alpha + span * torch.sigmoid(self.alpha_linear(x))
        return log_mean, alpha

    def kl(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample ``KL(q(log z | x) || prior)`` summed over units, shape ``(B,)``, nats.

        Its mean over the data is an upper bound on I(x; z).
        """
        log_mean, alpha = self.encoder(x)
        return self._kl(log_mean, alpha)

    def _kl(self, log_mean: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        log_s = self.prior_log_std
        var_p = torch.exp(2 * log_s)
        per_unit = (
            log_s
            - torch.log(alpha)
            + (alpha**2 + (log_mean - self.prior_mean) ** 2) / (2 * var_p)
            - 0.5
        )
        return per_unit.sum(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Noisy activations ``(B, out_features)``; stores ``last_kl`` ``(B,)``."""
        log_mean, alpha = self.encoder(x)
        self.last_kl = self._kl(log_mean, alpha)
        if self.training or self.stochastic:
            eps = torch.randn_like(log_mean)
            return torch.exp(log_mean + alpha * eps)
        return torch.exp(log_mean)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"max_alpha={self.max_alpha}, min_alpha={self.min_alpha}"
        )
