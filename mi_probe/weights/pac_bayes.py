"""PAC-Bayes generalisation bound from the information bottleneck Lagrangian of the weights.

For a posterior ``q(w | D)`` fitted by minimising ``H + beta KL(q || p)`` (see
:func:`mi_probe.weight_information` with ``method="variational"``), McAllester's form of
Catoni's bound [1]_ [2]_, as used by Achille & Soatto [3]_, reads

    ``L_test(q) <= [H + beta * loss_max * (KL + log(1/delta))] / (N (1 - 1/(2 beta)))``

with ``H = N * E_q[L_train]`` the training loss summed over the ``N`` training samples and
averaged over ``q``. With ``loss_max = 1`` and the confidence term left out
(``delta=None``) this is the expression ``[H + beta KL] / (N (1 - 1/(2 beta)))`` of the
seed talk.

References
----------
.. [1] D. McAllester, "A PAC-Bayesian tutorial with a dropout bound", arXiv:1307.2118
   (2013), Theorem 1.
.. [2] O. Catoni, "PAC-Bayesian supervised classification: the thermodynamics of
   statistical learning", IMS Lecture Notes 56 (2007).
.. [3] A. Achille, S. Soatto, "Emergence of invariance and disentanglement in deep
   representations", JMLR 19 (2018).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

from .._validation import check_int, check_positive

__all__ = ["pac_bayes_bound", "pac_bayes_bound_from_fit", "PACBayesBound"]


@dataclasses.dataclass(frozen=True)
class PACBayesBound:
    """A PAC-Bayes bound on the expected test loss of the posterior ``q``.

    Attributes
    ----------
    bound : float
        Upper bound on ``E_q[L_test]``, in the loss's units (nats per sample for
        cross-entropy).
    expected_loss : float
        ``E_q[L_train]``, mean per training sample.
    kl : float
        ``KL(q || p)`` in nats.
    n_train, beta, loss_max, delta
        The inputs (``delta`` None when the confidence term is left out).
    trivial : float
        The loss of a trivial predictor, the level at or above which the bound says
        nothing: ``min(loss_max, trivial_loss or log(n_classes))`` (``loss_max`` when
        neither is given).
    vacuous : bool
        ``bound >= trivial``.
    """

    bound: float
    expected_loss: float
    kl: float
    n_train: int
    beta: float
    loss_max: float
    delta: float | None
    trivial: float
    vacuous: bool

    def __float__(self) -> float:
        return self.bound


def _nonneg(value: Any, name: str) -> float:
    return check_positive(value, name, allow_zero=True)


def pac_bayes_bound(
    expected_loss: float,
    kl: float,
    n_train: int,
    beta: float,
    *,
    delta: float | None = None,
    loss_max: float = 1.0,
    n_classes: int | None = None,
    trivial_loss: float | None = None,
) -> PACBayesBound:
    """PAC-Bayes bound ``[H + beta KL] / (N (1 - 1/(2 beta)))`` on the test loss.

    Parameters
    ----------
    expected_loss : float
        ``E_{w~q}[L_train(w)]``, the training loss per sample averaged over the posterior
        (``expected_nll`` of :func:`mi_probe.weight_information`, nats), so that
        ``H = n_train * expected_loss``.
    kl : float
        ``KL(q || p)`` in nats (``kl_total`` of the variational fit).
    n_train : int
        ``N``, the number of training samples the loss is summed over.
    beta : float
        The Lagrange multiplier of the fit; the bound holds for ``beta > 1/2`` only.
    delta : float, optional
        Confidence: with probability at least ``1 - delta`` over the draw of the
        training set, adds ``log(1/delta)`` to ``KL``. None (default) leaves the term
        out, as in the talk's formula (then it is the bound's leading part, not a
        high-probability statement).
    loss_max : float, default 1.0
        The bound assumes the per-sample loss lies in ``[0, loss_max]``; the KL term is
        scaled by it. Cross-entropy is unbounded: for a rigorous statement clip it (or
        use the 0-1 error) and pass the clip level. With 1.0 the formula is the issue's.
    n_classes : int, optional
        For cross-entropy, the trivial loss is ``log(n_classes)`` (uniform prediction).
    trivial_loss : float, optional
        The trivial loss directly (e.g. ``1 - 1/n_classes`` for the 0-1 error);
        overrides ``n_classes``.

    Returns
    -------
    PACBayesBound
        ``bound``, ``vacuous`` and the inputs.

    Raises
    ------
    ValueError
        ``beta <= 1/2``; a negative or non-finite ``expected_loss``/``kl``;
        ``expected_loss > loss_max``; ``n_train < 1``; ``delta`` outside (0, 1);
        ``n_classes < 2``; a non-positive ``loss_max``/``trivial_loss``.

    Examples
    --------
    >>> from mi_probe.weights.pac_bayes import pac_bayes_bound
    >>> b = pac_bayes_bound(0.1, 50.0, 1000, 1.0)
    >>> round(b.bound, 6)  # (100 + 50) / (1000 * 0.5)
    0.3
    """
    expected_loss = _nonneg(expected_loss, "expected_loss")
    kl = _nonneg(kl, "kl")
    n_train = check_int(n_train, "n_train", low=1)
    beta = check_positive(beta, "beta")
    if beta <= 0.5:
        raise ValueError(f"beta must be > 1/2 for the PAC-Bayes bound, got {beta}")
    loss_max = check_positive(loss_max, "loss_max")
    if expected_loss > loss_max:
        raise ValueError(
            f"expected_loss={expected_loss} exceeds loss_max={loss_max}; the bound assumes "
            "a loss in [0, loss_max]"
        )
    conf = 0.0
    if delta is not None:
        delta = check_positive(delta, "delta")
        if delta >= 1:
            raise ValueError(f"delta must be in (0, 1), got {delta}")
        conf = math.log(1.0 / delta)
    if trivial_loss is not None:
        trivial = check_positive(trivial_loss, "trivial_loss")
    elif n_classes is not None:
        n_classes = check_int(n_classes, "n_classes", low=2)
        trivial = math.log(n_classes)
    else:
        trivial = loss_max
    trivial = min(trivial, loss_max)
    h = n_train * expected_loss
    bound = (h + beta * loss_max * (kl + conf)) / (n_train * (1.0 - 1.0 / (2.0 * beta)))
    return PACBayesBound(
        bound=float(bound),
        expected_loss=expected_loss,
        kl=kl,
        n_train=n_train,
        beta=beta,
        loss_max=loss_max,
        delta=delta,
        trivial=float(trivial),
        vacuous=bool(bound >= trivial),
    )


def pac_bayes_bound_from_fit(fit: Any, **kwargs: Any) -> PACBayesBound:
    """:func:`pac_bayes_bound` from the DataFrame of a variational fit.

    Parameters
    ----------
    fit : pandas.DataFrame
        The output of ``weight_information(..., method="variational")``: its
        ``expected_nll``, ``kl_total``, ``n_train`` and ``beta`` columns (equal on every
        row) give ``expected_loss``, ``kl``, ``n_train`` and ``beta``.
    **kwargs
        ``delta``, ``loss_max``, ``n_classes``, ``trivial_loss``.

    Raises
    ------
    ValueError
        ``fit`` is not a variational fit (missing columns), or any error of
        :func:`pac_bayes_bound`.
    """
    cols = ("expected_nll", "kl_total", "n_train", "beta")
    have = getattr(fit, "columns", None)
    if have is None or any(c not in have for c in cols) or len(fit) == 0:
        raise ValueError(
            "fit must be the DataFrame of weight_information(..., method='variational') "
            f"with columns {list(cols)}"
        )
    row = fit.iloc[0]
    n_train = row["n_train"]
    if isinstance(n_train, numbers.Real) and float(n_train).is_integer():
        n_train = int(float(n_train))
    return pac_bayes_bound(
        float(row["expected_nll"]),
        float(row["kl_total"]),
        n_train,
        float(row["beta"]),
        **kwargs,
    )
