"""Information in the weights: diagonal Fisher information, per-layer weight
information in nats (closed form and variational), and a recorder for training loops.

The weights ``w`` of a trained network are a representation of the training set ``D``.
Following Achille et al. [1]_, the information they hold is measured as
``KL(q(w | D) || p(w))`` for a posterior ``q`` that trades the training loss against
that KL (the information bottleneck Lagrangian for the weights [1]_, [3]_),

    ``C_beta(q) = E_{w ~ q}[ H_{p,q}(D | w) ] + beta * KL(q(w | D) || p(w))``,

with ``H_{p,q}(D | w) = sum_i -log p_w(y_i | x_i)`` the training cross-entropy in nats.
Two estimates are offered:

* ``method="fisher"``: a Gaussian posterior centred at the trained weights ``w*`` whose
  covariance is optimal under a quadratic expansion of the loss with the diagonal (or
  K-FAC) Fisher information (closed form, see :func:`weight_information`);
* ``method="variational"``: a per-weight Gaussian posterior ``N(w*, diag s^2)`` fitted by
  stochastic gradient descent on ``C_beta`` with the reparameterisation trick.

The Fisher trace per layer over training is the quantity whose rise-then-fall Achille,
Rovere and Soatto [2]_ relate to critical learning periods.

References
----------
.. [1] A. Achille, G. Paolini, S. Soatto, "Where is the information in a deep neural
   network?", arXiv:1905.12213 (2019).
.. [2] A. Achille, M. Rovere, S. Soatto, "Critical learning periods in deep networks",
   ICLR 2019.
.. [3] A. Achille, S. Soatto, "Emergence of invariance and disentanglement in deep
   representations", JMLR 19 (2018).
.. [4] J. Martens, "New insights and perspectives on the natural gradient method",
   JMLR 21 (2020) (true vs empirical Fisher).
.. [5] J. Martens, R. Grosse, "Optimizing neural networks with Kronecker-factored
   approximate curvature", ICML 2015 (K-FAC).
.. [6] R. Grosse, J. Martens, "A Kronecker-factored approximate Fisher matrix for
   convolution layers", ICML 2016 (KFC).
"""

from __future__ import annotations

import functools
import math
import numbers
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .._deps import require
from .._threads import small_torch_work
from .._validation import check_bool, check_choice, check_int, check_positive
from ..probes._probe import _close_names
from . import _fisher
from ._variational_weights import _fit_variational

__all__ = ["fisher_diagonal", "weight_information", "WeightInformationRecorder"]

_KINDS = ("true", "empirical")
_METHODS = ("fisher", "variational")
_APPROXIMATIONS = ("diagonal", "kfac")


def _keeps_global_rng(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Restore the global torch RNG (CPU, and CUDA once initialised) after ``fn``.

    The computation itself draws from local generators, but iterating a DataLoader
    draws its base seed (and, shuffled, its order) from the global generator: a
    recorder called inside a training loop would otherwise change the run it measures.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # CUDA generators only once CUDA is up: reading them would initialise it
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        devices = list(range(torch.cuda.device_count())) if cuda else []
        with torch.random.fork_rng(devices=devices):
            return fn(*args, **kwargs)

    return wrapper


def _check_prior_std(prior_std: Any, name: str = "prior_std") -> float:
    value = check_positive(prior_std, name)
    if not 0.0 < value * value < math.inf:  # the KL uses lambda^2 (1e300 overflowed)
        raise ValueError(
            f"{name}={value:g} is out of range: its square must be a positive finite "
            "float (about 1e-154 to 1e154)"
        )
    return value


def _check_model(model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not any(True for _ in model.parameters()):
        raise ValueError("model has no parameters")
    return model


def _fisher_sums(
    model: nn.Module,
    data: Any,
    names: Sequence[str],
    *,
    kind: str,
    loss: Any,
    sample_target: Any,
    n_label_samples: int,
    batch_size: int,
    random_state: Any,
    vectorize: bool,
    progress: bool,
    fast: bool = True,
    kfac: bool = False,
) -> tuple[dict[str, Tensor], int, str, _fisher.LossFn, dict[str, Any]]:
    """Validated core shared by fisher_diagonal and weight_information."""
    check_choice(kind, "kind", _KINDS)
    vectorize = check_bool(vectorize, "vectorize")
    progress = check_bool(progress, "progress")
    fast = check_bool(fast, "fast")
    loss_name, loss_fn, sampler = _fisher.resolve_loss(loss, sample_target, kind)
    n_label_samples = check_int(n_label_samples, "n_label_samples", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    device, _ = _fisher.model_device_dtype(model)
    generator = _fisher.seed_generator(random_state, device) if kind == "true" else None
    if kind == "empirical" and n_label_samples != 1:
        raise ValueError("n_label_samples applies to kind='true' only; leave it at 1")
    with _fisher.eval_mode(model):
        sums, count, factors = _fisher.squared_grad_sums(
            model,
            data,
            names,
            kind=kind,
            loss_name=loss_name,
            loss_fn=loss_fn,
            sampler=sampler,
            n_label_samples=n_label_samples,
            batch_size=batch_size,
            generator=generator,
            vectorize=bool(vectorize),
            show_progress=bool(progress),
            fast=bool(fast),
            kfac=kfac,
        )
    return sums, count, loss_name, loss_fn, factors


@small_torch_work
@_keeps_global_rng
def fisher_diagonal(
    model: nn.Module,
    data: Any,
    kind: str = "true",
    loss: str | Callable[[Tensor, Tensor], Tensor] | None = None,
    *,
    sample_target: Callable[[Tensor, torch.Generator], Tensor] | None = None,
    param_names: Sequence[str] | None = None,
    n_label_samples: int = 1,
    batch_size: int = 128,
    random_state: int | np.random.Generator | torch.Generator | None = 0,
    vectorize: bool = True,
    fast: bool = True,
    progress: bool = False,
) -> dict[str, Tensor]:
    """Diagonal of the Fisher information of a model's parameters.

    ``F_jj = (1/N) sum_i (d/dw_j log p_w(y_i | x_i))^2``: the mean over samples of the
    squared per-sample gradient of the log-likelihood, computed with
    ``torch.func.vmap(torch.func.grad(...))`` over batches, on the model's device (CPU or
    CUDA). Units: nats per squared parameter unit, per sample.

    Parameters
    ----------
    model : torch.nn.Module
        Any module mapping a batch ``x`` of shape ``(n, ...)`` to outputs ``(n, ...)``.
        It is evaluated in eval mode (dropout off, batch-norm running statistics);
        nothing on it changes (weights, ``training`` flags, ``requires_grad``, ``.grad``,
        buffers), and the global torch/numpy RNG states are left alone.
    data : DataLoader, (x, y) pair, (x,) or x
        A ``torch.utils.data.DataLoader`` (or any iterable of ``(x, y, ...)`` batches),
        or tensors/arrays ``x`` of shape ``(n_samples, ...)`` and ``y`` of shape
        ``(n_samples,)`` (class labels) or ``(n_samples, ...)`` (targets). Labels are
        only needed for ``kind="empirical"``.
    kind : {"true", "empirical"}
        ``"true"``: labels are drawn from the model's own predictive distribution
        ``p_w(y | x_i)`` (Monte Carlo, ``n_label_samples`` draws per input, local
        generator seeded by ``random_state``); this is the Fisher information proper.
        ``"empirical"``: the data labels are used (the "empirical Fisher", which differs
        from the Fisher away from a perfect fit; see Martens 2020).
    loss : {"cross_entropy", "binary_cross_entropy", "gaussian"} or callable, optional
        The negative log-likelihood ``-log p_w(y | x)`` in nats. Default
        ``"cross_entropy"``: outputs are logits ``(n, n_classes)``, labels integers.
        ``"binary_cross_entropy"``: one logit per sample, labels in {0, 1}.
        ``"gaussian"``: unit-variance Gaussian, ``0.5 * ||y - f(x)||^2`` (the constant
        is dropped; it does not change gradients). A callable ``loss(output, target)``
        is treated as the negative log-likelihood of one sample (it is called with
        batches of one and its result is summed), so the "log-likelihood" is
        ``-loss``; a loss that is a multiple ``c`` of a true NLL (e.g. ``mse_loss`` is
        twice the unit-Gaussian NLL) gives ``c**2`` times the Fisher.
    sample_target : callable, optional
        ``sample_target(output, generator) -> target`` draws targets from the model's
        predictive distribution given outputs ``(m, ...)``; required for
        ``kind="true"`` with a callable ``loss``; overrides the built-in sampler
        otherwise. It must use ``generator`` for its randomness.
    param_names : sequence of str, optional
        Parameter names (as in ``model.named_parameters()``) to compute; default every
        parameter with ``requires_grad=True``.
    n_label_samples : int, default 1
        Labels drawn per input for ``kind="true"``; more draws, less Monte Carlo noise.
    batch_size : int, default 128
        Samples per ``vmap`` call; memory grows as ``batch_size * n_params``.
    random_state : int, numpy Generator, torch.Generator or None, default 0
        Seeds the local generator for the sampled labels (``kind="true"``).
    vectorize : bool, default True
        Use ``vmap``; False loops over samples (for models ``vmap`` cannot handle).
    fast : bool, default True
        Compute the parameters of plain ``nn.Linear`` and ``nn.Conv2d`` modules from
        the layer inputs and output gradients of one batched backward pass, without
        forming every per-sample gradient (see Notes); every other parameter, and any
        Linear/Conv2d parameter the fast formulas cannot cover exactly, goes through
        the per-sample path. ``False`` forces the per-sample path for all parameters.
        Both give the same diagonal (same labels, float rounding apart).
    progress : bool, default False
        Draw a progress bar on stderr.

    Returns
    -------
    dict of str to torch.Tensor
        Parameter name to the Fisher diagonal, shaped and typed like the parameter, on
        its device.

    Raises
    ------
    ValueError
        Unknown ``kind``/``loss``, a custom loss without ``sample_target`` for the true
        Fisher, unknown ``param_names``, empty data, NaN/inf inputs, mismatched or
        missing labels, labels out of range, bad ``batch_size``/``n_label_samples``.

    Notes
    -----
    The true Fisher equals the expected Hessian of the negative log-likelihood (the
    Gauss-Newton matrix for the built-in losses); with one label draw per input it is
    unbiased but noisy, its relative error falls like ``1/sqrt(N * n_label_samples)``.

    **Fast path** (``fast=True``). For a layer ``z = W a + b`` the per-sample gradient
    is ``g_i a_i^T`` with ``g_i`` the gradient of sample ``i``'s loss with respect to
    ``z_i``; one backward pass of the summed loss yields every ``g_i`` when samples
    are processed independently. Then ``sum_i (g_i a_i^T)^2 = (g^2)^T (a^2)`` for a
    Linear on ``(n, d)`` inputs; Linear layers on sequences, convolutions (patches
    from ``torch.nn.functional.unfold``, any stride/padding/dilation/groups) and
    parameters used by several calls (a module called twice, tied weights) form the
    per-sample gradients of that one parameter in chunks. A parameter also used
    outside its module's forward, a module with hooks or a custom ``forward``, a
    layer input whose first dimension is not the batch, ``padding_mode`` other than
    ``"zeros"``: the per-sample path. Assumption (not checked): in eval mode the
    model treats samples independently (true of standard layers, batch-norm with
    running statistics included; not of attention across the batch dimension) and
    keeps the sample dimension first; otherwise pass ``fast=False``.

    Examples
    --------
    >>> import torch
    >>> from mi_probe import fisher_diagonal
    >>> model = torch.nn.Linear(3, 2)
    >>> x, y = torch.randn(50, 3), torch.randint(0, 2, (50,))
    >>> F = fisher_diagonal(model, (x, y), kind="empirical")
    >>> F["weight"].shape
    torch.Size([2, 3])
    """
    model = _check_model(model)
    names = _fisher.resolve_param_names(model, param_names)
    sums, count, _, _, _ = _fisher_sums(
        model,
        data,
        names,
        kind=kind,
        loss=loss,
        sample_target=sample_target,
        n_label_samples=n_label_samples,
        batch_size=batch_size,
        random_state=random_state,
        vectorize=vectorize,
        progress=progress,
        fast=fast,
    )
    params = dict(model.named_parameters())
    return {n: (sums[n] / count).to(params[n].dtype) for n in names}


# --------------------------------------------------------------------------- layers


def _layer_table(model: nn.Module, layers: Any) -> list[tuple[str, list[str]]]:
    """(layer name, its trainable parameter names) for each selected layer.

    A parameter shared by several modules (tied weights) goes by its first name in
    ``model.named_parameters()`` and is listed under every layer that holds it.
    """
    canonical = {id(p): n for n, p in model.named_parameters()}
    owners = [
        name
        for name, m in model.named_modules()
        if any(p.requires_grad for p in m.parameters(recurse=False))
    ]
    if layers is None:
        table = []
        for name, m in model.named_modules():
            own = [canonical[id(p)] for p in m.parameters(recurse=False) if p.requires_grad]
            if own:
                table.append((name, own))
        if not table:
            raise ValueError("model has no parameters with requires_grad=True")
        return table
    if isinstance(layers, str):
        layers = [layers]
    try:
        layers = list(layers)
    except TypeError:
        raise ValueError(
            f"layers must be None, a module name or a list of names, got {layers!r}"
        ) from None
    if not layers:
        raise ValueError("layers is empty; pass None for every layer with parameters")
    if len(set(layers)) != len(layers):
        raise ValueError(f"layers has duplicate names: {layers}")
    table = []
    for name in layers:
        if not isinstance(name, str):
            raise ValueError(f"layers must hold module names (str), got {name!r}")
        try:
            sub = model.get_submodule(name)
        except AttributeError:
            valid = ", ".join(repr(n) for n in owners)
            raise ValueError(
                f"layers: unknown module {name!r}; {_close_names(model, name)}"
                f"modules with parameters: {valid}"
            ) from None
        own = [canonical[id(p)] for p in sub.parameters() if p.requires_grad]
        if not own:
            raise ValueError(f"layers: module {name!r} has no trainable parameters")
        table.append((name, own))
    return table


# --------------------------------------------------------------------------- closed form


def _gaussian_terms(
    w: Tensor, fisher: Tensor, *, n_train: int, prior_std: float, beta: float
) -> dict[str, float]:
    """Terms of KL(N(w*, diag s*^2) || N(0, prior_std^2 I)) at the optimal diagonal s*."""
    w = w.detach().to(torch.float64).reshape(-1)
    f = fisher.detach().to(torch.float64).reshape(-1).clamp_min(0.0)
    lam2 = prior_std**2
    a = lam2 * n_train * f / beta  # lambda^2 N F_jj / beta
    norm = float((w**2).sum() / (2 * lam2))
    logdet = float(0.5 * torch.log1p(a).sum())
    trace = float(-0.5 * (a / (1 + a)).sum())
    return {
        "norm_term": norm,
        "logdet_term": logdet,
        "trace_term": trace,
        "information": norm + logdet + trace,
        "mean_posterior_std": float(torch.sqrt(lam2 / (1 + a)).mean()),
    }


def _kfac_block(
    a_sum: Tensor, g_sum: Tensor, count: int, *, n_train: int, prior_std: float, beta: float
) -> dict[str, Any]:
    """Log-det and trace terms of one Linear/Conv2d layer with ``F ~= G (x) A``.

    ``A = a_sum / count`` (inputs with a 1 appended for the bias, summed over spatial
    positions for a convolution), ``G = g_sum / count`` (output gradients, averaged
    over positions). The eigenvalues of ``lambda^2 N F / beta`` are
    ``c alpha_i gamma_j`` with ``c = lambda^2 N / beta``, so no Kronecker product is
    formed; the marginal posterior variances are
    ``var[o, k] = sum_ij QG[o, j]^2 QA[k, i]^2 lambda^2 / (1 + c alpha_i gamma_j)``.
    """
    lam2 = prior_std**2
    c = lam2 * n_train / beta
    alpha, qa = torch.linalg.eigh(a_sum.to(torch.float64) / count)
    gamma, qg = torch.linalg.eigh(g_sum.to(torch.float64) / count)
    prod = c * gamma.clamp_min(0.0)[:, None] * alpha.clamp_min(0.0)[None, :]  # (J, I)
    var = (qg**2) @ (lam2 / (1 + prod)) @ (qa**2).T  # (n_out, n_in [+1])
    return {
        "logdet": float(0.5 * torch.log1p(prod).sum()),
        "trace": float(-0.5 * (prod / (1 + prod)).sum()),
        "std_sum": float(var.clamp_min(0.0).sqrt().sum()),
        "n": int(var.numel()),
        "fisher_trace": float(alpha.sum() * gamma.sum()),
    }


def _mixed_terms(
    w: Tensor,
    diag_f: Tensor,
    blocks: list[dict[str, Any]],
    *,
    n_train: int,
    prior_std: float,
    beta: float,
) -> dict[str, float]:
    """As :func:`_gaussian_terms` for a layer whose weights are split into K-FAC blocks
    and a diagonal remainder ``diag_f`` (the posterior is block-diagonal, so the terms
    add up)."""
    lam2 = prior_std**2
    f = diag_f.detach().to(torch.float64).reshape(-1).clamp_min(0.0)
    a = lam2 * n_train * f / beta
    norm = float((w.detach().to(torch.float64) ** 2).sum() / (2 * lam2))
    logdet = float(0.5 * torch.log1p(a).sum()) + sum(b["logdet"] for b in blocks)
    trace = float(-0.5 * (a / (1 + a)).sum()) + sum(b["trace"] for b in blocks)
    std_sum = float(torch.sqrt(lam2 / (1 + a)).sum()) + sum(b["std_sum"] for b in blocks)
    n = int(a.numel()) + sum(b["n"] for b in blocks)
    return {
        "norm_term": norm,
        "logdet_term": logdet,
        "trace_term": trace,
        "information": norm + logdet + trace,
        "mean_posterior_std": std_sum / n,
    }


# --------------------------------------------------------------------------- public


@small_torch_work
@_keeps_global_rng
def weight_information(
    model: nn.Module,
    data: Any,
    layers: str | Sequence[str] | None = None,
    *,
    method: str = "fisher",
    kind: str = "true",
    loss: str | Callable[[Tensor, Tensor], Tensor] | None = None,
    sample_target: Callable[[Tensor, torch.Generator], Tensor] | None = None,
    prior_std: float = 1.0,
    beta: float = 1.0,
    n_train: int | None = None,
    n_label_samples: int = 1,
    batch_size: int = 128,
    random_state: int | np.random.Generator | torch.Generator | None = 0,
    init: str | float = "fisher",
    n_steps: int = 500,
    lr: float = 0.05,
    n_eval_samples: int = 4,
    approximation: str = "diagonal",
    fast: bool = True,
    prior_mean: dict[str, Tensor] | nn.Module | None = None,
    prior_std_grid: Sequence[float] | None = None,
    train_mean: bool = False,
    progress: bool = False,
) -> Any:
    """Information in the weights of each layer, in nats.

    Parameters
    ----------
    model : torch.nn.Module
        The trained network, evaluated at its current weights ``w*`` in eval mode. It
        is never modified (the variational fit works on a deep copy).
    data : DataLoader, (x, y) pair, (x,) or x
        The training set (or a subset of it; see ``n_train``). As in
        :func:`fisher_diagonal`; labels are needed for ``kind="empirical"`` and for
        ``method="variational"``.
    layers : str or sequence of str, optional
        Dotted module names (``model.get_submodule`` names); each row covers all
        trainable parameters under that module. Default: every module that owns
        trainable parameters directly (in practice the leaf layers), each with its own
        parameters; a model that is itself one layer is named ``""``.
    method : {"fisher", "variational"}
        Closed form from the diagonal Fisher, or a fitted Gaussian posterior.
    kind : {"true", "empirical"}
        Which Fisher to use (see :func:`fisher_diagonal`).
    loss, sample_target
        The negative log-likelihood and its sampler (see :func:`fisher_diagonal`).
    prior_std : float, default 1.0
        ``lambda``, the standard deviation of the prior ``p(w) = N(0, lambda^2 I)``.
    beta : float, default 1.0
        Weight of the KL term in the Lagrangian; ``beta = 1`` gives the Bayesian
        (evidence lower bound) posterior.
    n_train : int, optional
        ``N``, the size of the training set the loss sums over. Default: the number of
        samples in ``data``.
    n_label_samples, batch_size, random_state
        As in :func:`fisher_diagonal`; ``random_state`` also seeds the variational
        noise and minibatches (a local generator).
    init : "fisher" or float, default "fisher"
        Variational only: initial posterior standard deviations, from the closed-form
        solution or one constant for every weight.
    n_steps : int, default 500
        Variational only: Adam steps on ``log s`` (the learning rate decays linearly
        to zero over them).
    lr : float, default 0.05
        Variational only: initial Adam learning rate.
    n_eval_samples : int, default 4
        Variational only: weight draws used to report ``E_q[NLL]`` on ``data``.
    approximation : {"diagonal", "kfac"}, default "diagonal"
        Fisher method only: the approximation of the Fisher matrix of each layer.
        ``"kfac"``: Kronecker-factored (Martens & Grosse 2015 for ``nn.Linear``,
        Grosse & Martens 2016 for ``nn.Conv2d`` with ``groups=1``), see Notes; every
        other parameter (and a Linear/Conv2d layer that is tied, called more than once,
        or used outside its forward) keeps the diagonal. The ``approximation`` column
        says what each row used. Costs an eigendecomposition of a
        ``(d_in + 1)``-square and a ``d_out``-square matrix per layer.
    fast : bool, default True
        As in :func:`fisher_diagonal` (``approximation="kfac"`` always uses the
        layer inputs and output gradients it relies on).
    prior_mean : dict or torch.nn.Module, optional
        Variational only: the centre of the prior, ``p(w) = N(prior_mean, lambda^2 I)``,
        as a dict from parameter name to tensor or a module with the same parameter
        names, e.g. a copy of the network taken at its initialisation (a prior chosen
        before seeing the data, as in Dziugaite & Roy 2017). Default: 0.
    prior_std_grid : sequence of float, optional
        Variational only: instead of one ``prior_std``, each layer's prior scale is the
        grid value that minimises its KL; the choice costs ``log(len(grid))`` nats per
        layer, which is added to ``kl`` (and reported as ``prior_choice_nats``).
    train_mean : bool, default False
        Variational only: fit the posterior mean too (starting from ``w*``), i.e.
        ``q = N(mu, diag s^2)``; by default ``mu = w*`` stays fixed and only the scales
        are fitted. Needed for the posterior to move back towards the prior, e.g. in
        the random-label experiment of ``tutorials/07_random_labels.py``.
    progress : bool, default False
        Progress bars on stderr.

    Returns
    -------
    pandas.DataFrame
        One row per layer: ``layer``, ``n_params``, ``fisher_trace`` (sum of the Fisher
        diagonal over the layer's parameters, per sample), ``information`` (nats), and

        * ``method="fisher"``: ``norm_term``, ``logdet_term``, ``trace_term`` (the
          three terms below, nats), ``mean_posterior_std``;
        * ``method="variational"``: ``kl`` (= ``information``), ``mean_posterior_std``,
          and the loss terms of the whole fit (the same on every row, since all
          selected layers are perturbed together): ``expected_nll`` (``E_q`` of the
          per-sample NLL on ``data``, nats), ``nll_at_mean`` (at ``w*``), ``kl_total``
          (over all selected layers) and ``objective = n_train * expected_nll +
          beta * kl_total`` (the IB Lagrangian, nats); ``prior_std_chosen`` (the
          layer's prior scale: ``prior_std`` or the grid value chosen),
          ``prior_choice_nats`` (the grid's cost, over all layers; 0 without a grid)
          and ``mean_shift`` (``||mu - w*||`` of the layer; 0 unless ``train_mean``);

        plus ``approximation`` (``"diagonal"``, ``"kfac"``, or ``"kfac+diagonal"`` for a
        row covering both kinds of parameters; always ``"diagonal"`` for the
        variational method, whose posterior is diagonal), ``method``, ``kind``,
        ``beta``, ``prior_std``, ``n_train``. ``fisher_trace`` is always the trace of
        the diagonal Fisher (exact for the sampled labels).

    Raises
    ------
    ValueError
        Unknown ``method``/``kind``/``loss``/``approximation``, ``approximation="kfac"``
        with ``method="variational"``, ``prior_mean``/``prior_std_grid``/``train_mean``
        with ``method="fisher"`` or of the wrong form, unknown layer names (the message lists
        the valid ones), bad ``prior_std``/``beta``/``n_train``/``n_steps``/``lr``/
        ``init``, and the data errors of :func:`fisher_diagonal`.

    Notes
    -----
    **Fisher method** (Achille et al. 2019, Sec. 4). With prior ``N(0, lambda^2 I)``
    and posterior ``q = N(w*, Sigma)``, expand the training loss to second order,
    ``E_q[H(D | w)] ~ H(D | w*) + (N / 2) tr(F Sigma)``. Minimising
    ``(N/2) tr(F Sigma) + beta KL(q || p)`` over ``Sigma`` gives
    ``Sigma*^{-1} = N F / beta + I / lambda^2``; with the diagonal approximation
    ``F ~ diag(F_jj)`` the information is the exact KL of the two Gaussians:

        ``KL = ||w*||^2 / (2 lambda^2)``                                  (norm_term)
        ``   + 1/2 sum_j log(1 + lambda^2 N F_jj / beta)``                (logdet_term)
        ``   - 1/2 sum_j a_j / (1 + a_j),  a_j = lambda^2 N F_jj / beta``   (trace_term)

    summed over the layer's weights ``j``. The trace term comes from
    ``tr(Sigma*) / lambda^2 - k`` and lies in ``[-k/2, 0]``. Achille et al. write the
    log-determinant as ``1/2 log|2 lambda^2 N F / beta + I|``, which is ours with
    ``beta`` replaced by ``beta / 2`` (a different scaling convention for the
    Lagrangian): pass ``beta/2`` to reproduce their numbers. With ``beta = 1`` our
    ``Sigma*`` is the Laplace approximation of the Bayesian posterior. The expansion
    assumes ``w*`` is a minimum where the Fisher approximates the Hessian (true Fisher:
    exact for the expected Hessian of the built-in losses).

    **K-FAC** (``approximation="kfac"``). For a Linear layer with inputs ``a`` (a 1
    appended for the bias) and output gradients ``g`` (with the sampled labels for
    the true Fisher), ``F ~= G (x) A`` with ``A = E[a a^T]`` and ``G = E[g g^T]``
    (Martens & Grosse 2015); for a convolution ``A`` sums ``a a^T`` over the input
    patches of one sample and ``G`` averages ``g g^T`` over the output positions
    (KFC, Grosse & Martens 2016), and a Linear applied along extra (sequence)
    dimensions is treated the same way. ``Sigma*`` is then the exact optimum for this
    non-diagonal ``F``, and with ``alpha_i``, ``gamma_j`` the eigenvalues of ``A`` and
    ``G`` and ``a_ij = lambda^2 N alpha_i gamma_j / beta`` (the eigenvalues of
    ``lambda^2 N F / beta``) the logdet and trace terms above become
    ``1/2 sum_ij log(1 + a_ij)`` and ``-1/2 sum_ij a_ij / (1 + a_ij)``;
    ``mean_posterior_std`` averages the marginal standard deviations
    ``sqrt(Sigma*_kk)``. The posterior is block-diagonal across layers, so a row
    covering several layers adds their terms. K-FAC is exact when the output gradients
    are independent of the inputs (e.g. a linear softmax model whose prediction does
    not depend on ``x``); otherwise it keeps correlations within a layer that the
    diagonal drops, and assumes ``a`` and ``g`` independent.

    **Variational method**. ``q(w) = N(w*, diag s^2)`` (mean fixed at the trained
    weights, other layers fixed) minimising
    ``E_q[H(D | w)] + beta KL(q || p)``, estimated on minibatches as
    ``mean NLL + beta KL / N`` with an antithetic pair of reparameterised draws
    ``w = w* +/- s * eps`` per step (the pair cancels the gradient noise that is linear
    in ``eps``); ``information = KL(q || p)`` in closed form. It does not rely on the
    quadratic expansion, but is a stochastic optimisation: more ``n_steps`` and a
    smaller ``lr`` reduce its noise. For a linear model with the Gaussian loss both
    methods agree exactly (the loss is quadratic in ``w``).

    Examples
    --------
    >>> import torch
    >>> from mi_probe import weight_information
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    >>> x, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    >>> df = weight_information(net, (x, y))
    >>> list(df["layer"])
    ['0', '2']
    """
    pd = require("pandas", "weight_information tables")
    model = _check_model(model)
    check_choice(method, "method", _METHODS)
    check_choice(kind, "kind", _KINDS)
    check_choice(approximation, "approximation", _APPROXIMATIONS)
    if approximation == "kfac" and method != "fisher":
        raise ValueError(
            f"approximation='kfac' applies to method='fisher' only, got method={method!r}"
        )
    variational_only = {
        "prior_mean": prior_mean is not None,
        "prior_std_grid": prior_std_grid is not None,
        "train_mean": bool(train_mean),
    }
    if method == "fisher" and any(variational_only.values()):
        given = [k for k, v in variational_only.items() if v]
        raise ValueError(
            f"{', '.join(given)} applies to method='variational' only (the closed form "
            "assumes a prior N(0, prior_std^2 I) and a posterior centred at w*)"
        )
    if not isinstance(train_mean, bool):
        raise ValueError(f"train_mean must be True or False, got {train_mean!r}")
    if isinstance(prior_mean, nn.Module):
        prior_mean = {n: p.detach() for n, p in prior_mean.named_parameters()}
    prior_std = _check_prior_std(prior_std)
    fast = check_bool(fast, "fast")
    beta = check_positive(beta, "beta")
    if n_train is not None:
        n_train = check_int(n_train, "n_train", low=1)
    if method == "variational":
        n_steps = check_int(n_steps, "n_steps", low=0)
        n_eval_samples = check_int(n_eval_samples, "n_eval_samples", low=1)
        lr = check_positive(lr, "lr")
        if not (isinstance(init, str) and init == "fisher"):
            if isinstance(init, str) or not isinstance(init, numbers.Real):
                raise ValueError(f"init must be 'fisher' or a positive number, got {init!r}")
            init = check_positive(init, "init")
    table = _layer_table(model, layers)
    names = list(dict.fromkeys(n for _, ns in table for n in ns))
    use_kfac = approximation == "kfac"
    sums, count, loss_name, loss_fn, factors = _fisher_sums(
        model,
        data,
        names,
        kind=kind,
        loss=loss,
        sample_target=sample_target,
        n_label_samples=n_label_samples,
        batch_size=batch_size,
        random_state=random_state,
        vectorize=True,
        progress=progress,
        fast=fast or use_kfac,
        kfac=use_kfac,
    )
    fisher = {n: sums[n] / count for n in names}
    n_data = count // (n_label_samples if kind == "true" else 1)
    N = n_train if n_train is not None else n_data
    params = dict(model.named_parameters())
    rows: list[dict[str, Any]] = []
    if method == "fisher":
        # K-FAC blocks: (module's parameter names, its factor sums) where they are exact
        kfac_blocks = [
            ([f.weight] + ([f.bias] if f.bias else []), f)
            for f in factors.values()
            if f.ok and f.a_sum is not None and f.g_sum is not None
        ]
        for layer, ns in table:
            w = torch.cat([params[n].detach().reshape(-1) for n in ns])
            f = torch.cat([fisher[n].reshape(-1) for n in ns])
            mine = [(pn, fac) for pn, fac in kfac_blocks if set(pn) <= set(ns)]
            covered = {n for pn, _ in mine for n in pn}
            if not mine:
                terms = _gaussian_terms(w, f, n_train=N, prior_std=prior_std, beta=beta)
                used = "diagonal"
            else:
                rest = [n for n in ns if n not in covered]
                rest_f = (
                    torch.cat([fisher[n].reshape(-1) for n in rest]) if rest else f.new_zeros(0)
                )
                blocks = [
                    _kfac_block(
                        fac.a_sum, fac.g_sum, count, n_train=N, prior_std=prior_std, beta=beta
                    )
                    for _, fac in mine
                ]
                terms = _mixed_terms(w, rest_f, blocks, n_train=N, prior_std=prior_std, beta=beta)
                used = "kfac" if not rest else "kfac+diagonal"
            rows.append(
                {
                    "layer": layer,
                    "n_params": int(w.numel()),
                    "fisher_trace": float(f.sum()),
                    "information": terms["information"],
                    "norm_term": terms["norm_term"],
                    "logdet_term": terms["logdet_term"],
                    "trace_term": terms["trace_term"],
                    "mean_posterior_std": terms["mean_posterior_std"],
                    "approximation": used,
                }
            )
    else:
        device, _ = _fisher.model_device_dtype(model)
        # an independent stream from the Fisher's labels, still seeded by random_state
        gen = _fisher.seed_generator(random_state, device)
        gen.manual_seed(gen.initial_seed() + 1)
        with _fisher.eval_mode(model):
            per_layer, terms = _fit_variational(
                model,
                data,
                table,
                fisher,
                loss_name=loss_name,
                loss_fn=loss_fn,
                n_train=N,
                beta=beta,
                prior_std=prior_std,
                init=init,
                n_steps=n_steps,
                lr=lr,
                batch_size=batch_size,
                n_eval_samples=n_eval_samples,
                generator=gen,
                progress=progress,
                prior_mean=prior_mean,
                prior_std_grid=prior_std_grid,
                train_mean=train_mean,
            )
        for layer, ns in table:
            n_params = sum(params[n].numel() for n in ns)
            rows.append(
                {
                    "layer": layer,
                    "n_params": int(n_params),
                    "fisher_trace": float(sum(float(fisher[n].sum()) for n in ns)),
                    "information": per_layer["kl"][layer],
                    "kl": per_layer["kl"][layer],
                    "mean_posterior_std": per_layer["std"][layer],
                    "expected_nll": terms["expected_nll"],
                    "nll_at_mean": terms["nll_at_mean"],
                    "kl_total": terms["kl_total"],
                    "objective": terms["objective"],
                    "prior_std_chosen": per_layer["prior_std"][layer],
                    "prior_choice_nats": terms["prior_choice_nats"],
                    "mean_shift": per_layer["mean_shift"][layer],
                    "approximation": "diagonal",
                }
            )
    df = pd.DataFrame(rows)
    df["method"] = method
    df["kind"] = kind
    df["beta"] = beta
    df["prior_std"] = prior_std
    df["n_train"] = int(N)
    return df


class WeightInformationRecorder:
    """Record the information in the weights per layer during any training loop.

    Parameters
    ----------
    model : torch.nn.Module
        The network being trained; read at each :meth:`record`, never modified.
    data : DataLoader, (x, y) pair, (x,) or x
        Data for the Fisher (a fixed subset of the training set keeps it cheap; pass
        ``n_train`` for the full training-set size).
    layers : str or sequence of str, optional
        As in :func:`weight_information`.
    method : {"fisher", "variational"}, default "fisher"
    **kwargs
        Passed to :func:`weight_information` (``kind``, ``prior_std``, ``beta``,
        ``n_train``, ``random_state``, ...). The same ``random_state`` is used at every
        epoch, so differences between epochs are not label-sampling noise.

    Examples
    --------
    >>> rec = WeightInformationRecorder(model, (x_sub, y_sub), n_train=60000)  # doctest: +SKIP
    >>> for epoch in range(20):  # doctest: +SKIP
    ...     train_one_epoch(model)
    ...     rec.record(epoch)
    >>> rec.save("weights.csv")  # doctest: +SKIP
    """

    COLUMNS = ("epoch", "layer", "information", "fisher_trace")

    def __init__(
        self,
        model: nn.Module,
        data: Any,
        *,
        layers: str | Sequence[str] | None = None,
        method: str = "fisher",
        **kwargs: Any,
    ) -> None:
        import inspect

        # checked now, not at the first record() deep in a training run
        self.model = _check_model(model)
        valid = [
            p.name
            for p in inspect.signature(weight_information).parameters.values()
            if p.kind is p.KEYWORD_ONLY and p.name != "method"
        ]
        unknown = sorted(set(kwargs) - set(valid))
        if unknown:
            raise ValueError(
                f"WeightInformationRecorder got unknown keyword argument(s) "
                f"{', '.join(map(repr, unknown))}; valid: {', '.join(valid)}"
            )
        check_choice(method, "method", _METHODS)
        self.data = data
        self.layers = layers
        self.method = method
        self.kwargs = kwargs
        self._frames: list[Any] = []

    def record(self, epoch: float) -> Any:
        """Measure now and append the rows for ``epoch``.

        Returns
        -------
        pandas.DataFrame
            The new rows: ``epoch``, ``layer``, ``information``, ``fisher_trace``, then
            the other columns of :func:`weight_information`.

        Raises
        ------
        ValueError
            ``epoch`` not a finite number, or any error of :func:`weight_information`.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real):
            raise ValueError(f"epoch must be a number, got {epoch!r}")
        if not math.isfinite(float(epoch)):
            raise ValueError(f"epoch must be finite, got {epoch}")
        df = weight_information(
            self.model, self.data, self.layers, method=self.method, **self.kwargs
        )
        df.insert(0, "epoch", epoch)
        rest = [c for c in df.columns if c not in self.COLUMNS]
        df = df[list(self.COLUMNS) + rest]
        self._frames.append(df)
        return df

    def to_frame(self) -> Any:
        """Every recorded row as one tidy DataFrame (empty with the core columns if none)."""
        pd = require("pandas", "WeightInformationRecorder")
        if not self._frames:
            return pd.DataFrame(columns=list(self.COLUMNS))
        return pd.concat(self._frames, ignore_index=True)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_frame` to a CSV file."""
        from .._csv import write_csv

        write_csv(self.to_frame(), path)  # formula-like text neutralised for spreadsheets

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Any:
        """Read a CSV written by :meth:`save` back into a DataFrame.

        Raises
        ------
        ValueError
            The file lacks the columns ``epoch, layer, information, fisher_trace``.
        """
        pd = require("pandas", "WeightInformationRecorder")
        from .._csv import unescape_csv

        df = unescape_csv(pd.read_csv(path, dtype={"layer": str}, keep_default_na=False))
        missing = [c for c in WeightInformationRecorder.COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"path: {os.fspath(path)!r} is missing columns {missing}")
        return df
