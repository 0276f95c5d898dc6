"""Variational posterior over the weights for :func:`weight_information`
(``method="variational"``): a per-weight Gaussian ``q(w) = N(w*, diag s^2)`` whose scales
are fitted by stochastic gradient descent on the IB Lagrangian of the weights,
``E_q[cross-entropy] + beta KL(q || p)``, with the reparameterisation trick.

Three options of :func:`_fit_variational` (all off by default) make the posterior a
shorter code for what the weights store, as in the PAC-Bayes literature:

* ``prior_mean``: a data-independent prior centre, e.g. the network's initial weights
  ``w0`` (Dziugaite & Roy 2017), so ``KL`` pays for ``||mu - w0||^2`` instead of
  ``||mu||^2``;
* ``prior_std_grid``: the prior scale of each layer chosen from a finite grid (the one
  that minimises that layer's KL, re-chosen at every step); the cost of the choice,
  ``log(len(grid))`` nats per layer, is added to the reported KL (a union bound over the
  grid; Langford & Caruana 2002, Dziugaite & Roy 2017);
* ``train_mean``: the mean is fitted too, starting from the trained weights, so ``q`` is
  the best ``N(mu, diag s^2)`` for the Lagrangian rather than one pinned at ``w*``.

References
----------
.. [1] G. K. Dziugaite, D. M. Roy, "Computing nonvacuous generalization bounds for deep
   (stochastic) neural networks with many more parameters than training data", UAI 2017.
.. [2] J. Langford, R. Caruana, "(Not) bounding the true error", NIPS 2002.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

from .._progress import progress as _progress
from . import _fisher


def _diag_gauss_kl(
    mu: Tensor, log_s: Tensor, prior_std: float, prior_mean: Tensor | None = None
) -> Tensor:
    """KL(N(mu, diag exp(log_s)^2) || N(m, prior_std^2 I)), summed, in nats (m = 0 unless
    ``prior_mean`` is given)."""
    lam2 = prior_std**2
    s2 = torch.exp(2 * log_s)
    d = mu if prior_mean is None else mu - prior_mean
    return 0.5 * ((s2 + d**2) / lam2 - 1.0 - (2 * log_s - math.log(lam2))).sum()


def _best_prior_std(
    mus: list[Tensor], log_ss: list[Tensor], means: list[Tensor | None], grid: Tensor
) -> int:
    """Index of the grid scale that minimises the summed KL of one layer's parameters."""
    with torch.no_grad():
        a = sum(
            float((torch.exp(2 * ls) + (mu if m is None else mu - m) ** 2).double().sum())
            for mu, ls, m in zip(mus, log_ss, means, strict=True)
        )
        k = sum(mu.numel() for mu in mus)
        lam2 = grid.double() ** 2
        # the lambda-dependent part of the KL: 1/2 (a / lambda^2 + k log lambda^2)
        return int(torch.argmin(a / lam2 + k * torch.log(lam2)))


def _check_options(
    names: list[str],
    params: dict[str, Tensor],
    prior_mean: Any,
    prior_std_grid: Any,
) -> tuple[dict[str, Tensor | None], Tensor | None]:
    """Validate the prior options of :func:`_fit_variational`."""
    means: dict[str, Tensor | None] = {n: None for n in names}
    if prior_mean is not None:
        if not isinstance(prior_mean, dict):
            raise ValueError(
                "prior_mean must be a dict from parameter name to tensor, "
                f"got {type(prior_mean).__name__}"
            )
        missing = [n for n in names if n not in prior_mean]
        if missing:
            raise ValueError(f"prior_mean has no entry for parameters {missing}")
        for n in names:
            m = torch.as_tensor(prior_mean[n])
            if m.shape != params[n].shape:
                raise ValueError(
                    f"prior_mean[{n!r}] has shape {tuple(m.shape)}, "
                    f"the parameter has {tuple(params[n].shape)}"
                )
            if not bool(torch.isfinite(m).all()):
                raise ValueError(f"prior_mean[{n!r}] contains NaN or inf")
            means[n] = m.detach().to(device=params[n].device, dtype=params[n].dtype).clone()
    grid = None
    if prior_std_grid is not None:
        try:
            if any(isinstance(v, (bool, np.bool_)) for v in prior_std_grid):
                raise TypeError("a bool is not a prior scale")  # float(True) would be 1.0
            grid = torch.as_tensor([float(v) for v in prior_std_grid], dtype=torch.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"prior_std_grid must be a sequence of positive numbers, got {prior_std_grid!r}"
            ) from None
        if grid.numel() == 0 or not bool((grid > 0).all()) or not bool(torch.isfinite(grid).all()):
            raise ValueError(
                f"prior_std_grid must be a non-empty sequence of positive numbers, "
                f"got {prior_std_grid!r}"
            )
    return means, grid


# --------------------------------------------------------------------------- variational


def _labelled_batches(
    data: Any, batch_size: int, *, dtype: torch.dtype, device: torch.device, loss_name: str
) -> Any:
    """One pass over ``data`` in labelled batches of ``batch_size``."""
    return _fisher.iter_batches(
        data, batch_size=batch_size, dtype=dtype, device=device, need_y=True, loss_name=loss_name
    )


def _minibatches(
    data: Any,
    *,
    batch_size: int,
    dtype: torch.dtype,
    device: torch.device,
    loss_name: str,
    generator: torch.Generator,
) -> Any:
    """Endless stream of labelled minibatches (random for arrays, cycling for loaders)."""
    form, _ = _fisher.normalise_data(data)
    if form == "arrays":
        x, y = next(
            _labelled_batches(data, 10**12, dtype=dtype, device=device, loss_name=loss_name)
        )
        n = x.shape[0]
        b = min(batch_size, n)
        while True:
            idx = torch.randint(0, n, (b,), generator=generator, device=device)
            yield x[idx], y[idx]
    while True:
        yield from _labelled_batches(
            data, batch_size, dtype=dtype, device=device, loss_name=loss_name
        )


def _fit_variational(
    model: nn.Module,
    data: Any,
    table: list[tuple[str, list[str]]],
    fisher: dict[str, Tensor],
    *,
    loss_name: str,
    loss_fn: _fisher.LossFn,
    n_train: int,
    beta: float,
    prior_std: float,
    init: Any,
    n_steps: int,
    lr: float,
    batch_size: int,
    n_eval_samples: int,
    generator: torch.Generator,
    progress: bool,
    prior_mean: dict[str, Tensor] | None = None,
    prior_std_grid: Sequence[float] | None = None,
    train_mean: bool = False,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Fit ``q = N(mu, diag s^2)`` on a deep copy of ``model``; return per-layer KL and the
    loss terms.

    ``mu`` starts (and, unless ``train_mean``, stays) at the model's weights ``w*``; the
    prior is ``N(m, lambda^2 I)`` per layer with ``m = prior_mean`` (default 0) and
    ``lambda = prior_std``, or, with ``prior_std_grid``, the grid value that minimises the
    layer's KL (re-chosen at every step; ``log(len(grid))`` nats per layer are added to
    the reported ``kl``). With ``init="fisher"`` the initial scales use ``prior_std``.

    Returns ``({"kl": {layer: nats}, "std": {layer: mean s}, "prior_std": {layer: lambda},
    "mean_shift": {layer: ||mu - w*||}}, terms)`` where ``terms`` has ``expected_nll``,
    ``nll_at_mean``, ``kl_total`` (including the grid cost), ``prior_choice_nats`` (that
    cost), ``objective`` and ``n_eval_data``.
    """
    device, dtype = _fisher.model_device_dtype(model)
    twin = copy.deepcopy(model)
    twin.eval()
    for p in twin.parameters():
        p.requires_grad_(False)
    params = {n: p.detach() for n, p in twin.named_parameters()}
    buffers = {n: b.detach() for n, b in twin.named_buffers()}
    names = [n for _, ns in table for n in ns]
    names = list(dict.fromkeys(names))
    means, grid = _check_options(names, params, prior_mean, prior_std_grid)
    w_star = {n: params[n].clone() for n in names}
    mu = {n: params[n].clone().requires_grad_(bool(train_mean)) for n in names}
    const = {n: p for n, p in params.items() if n not in mu}
    # each parameter belongs to the first layer that names it (one prior scale per group)
    groups: list[tuple[str, list[str]]] = []
    seen: set[str] = set()
    for layer, ns in table:
        own = [n for n in ns if n not in seen]
        seen.update(own)
        groups.append((layer, own))
    lam = {layer: float(prior_std) for layer, _ in groups}
    lam2 = prior_std**2
    log_s: dict[str, Tensor] = {}
    for n in names:
        if init == "fisher":
            a = lam2 * n_train * fisher[n].to(torch.float64).clamp_min(0.0) / beta
            s0 = torch.sqrt(lam2 / (1.0 + a))
        else:
            s0 = torch.full(mu[n].shape, float(init), dtype=torch.float64, device=device)
        log_s[n] = torch.log(s0).to(mu[n].dtype).clone().requires_grad_(True)
    trainable = list(log_s.values()) + (list(mu.values()) if train_mean else [])
    opt = torch.optim.Adam(trainable, lr=lr)
    # linear decay to zero: the last iterates average out the Monte Carlo gradient noise
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: max(0.0, 1.0 - t / max(n_steps, 1)))
    stream = _minibatches(
        data,
        batch_size=batch_size,
        dtype=dtype,
        device=device,
        loss_name=loss_name,
        generator=generator,
    )

    def choose_scales() -> None:
        if grid is None:
            return
        for layer, ns in groups:
            if ns:
                i = _best_prior_std(
                    [mu[n] for n in ns], [log_s[n] for n in ns], [means[n] for n in ns], grid
                )
                lam[layer] = float(grid[i])

    def layer_kl(ns: list[str], scale: float) -> Tensor:
        return sum(
            (_diag_gauss_kl(mu[n], log_s[n], scale, means[n]) for n in ns),
            torch.zeros((), dtype=torch.float64, device=device),
        )

    def total_kl() -> Tensor:
        return sum(
            (layer_kl(ns, lam[layer]) for layer, ns in groups),
            torch.zeros((), dtype=torch.float64, device=device),
        )

    def sample_weights() -> dict[str, Tensor]:
        out = {}
        for n in names:
            eps = torch.randn(mu[n].shape, generator=generator, device=device, dtype=mu[n].dtype)
            out[n] = mu[n] + torch.exp(log_s[n]) * eps
        return out

    with torch.enable_grad():
        for _ in _progress(range(n_steps), desc="variational", enabled=progress):
            choose_scales()
            x, y = next(stream)
            # antithetic pair mu + s eps, mu - s eps: the term linear in eps (the
            # residual-driven part of the gradient noise) cancels exactly
            eps = {
                n: torch.randn(mu[n].shape, generator=generator, device=device, dtype=mu[n].dtype)
                for n in names
            }
            nll = 0.0
            for sign in (1.0, -1.0):
                w = {n: mu[n] + sign * torch.exp(log_s[n]) * eps[n] for n in names}
                out = functional_call(twin, ({**const, **w}, buffers), (x,))
                nll = nll + loss_fn(out, y) / (2 * x.shape[0])
            kl = total_kl()
            objective = nll + beta * kl / n_train
            opt.zero_grad(set_to_none=True)
            objective.backward()
            opt.step()
            sched.step()
    stream.close()
    with torch.no_grad():
        choose_scales()
        choice = math.log(len(grid)) if grid is not None else 0.0
        kl_layer = {layer: float(layer_kl(ns, lam[layer])) + choice for layer, ns in groups}
        prior_choice = choice * len(groups)
        kl_total = float(total_kl()) + prior_choice
        std_layer = {
            layer: float(torch.cat([torch.exp(log_s[n]).reshape(-1) for n in ns]).mean())
            for layer, ns in table
        }
        shift_layer = {
            layer: float(
                torch.sqrt(cast(Tensor, sum(((mu[n] - w_star[n]).double() ** 2).sum() for n in ns)))
            )
            for layer, ns in table
        }
        mu_eval = {n: mu[n].detach() for n in names}
        total_mean = 0.0
        total_q = 0.0
        count = 0
        for k in range(n_eval_samples + 1):
            w = mu_eval if k == 0 else sample_weights()
            s = 0.0
            m = 0
            for x, y in _labelled_batches(
                data, batch_size, dtype=dtype, device=device, loss_name=loss_name
            ):
                out = functional_call(twin, ({**const, **w}, buffers), (x,))
                s += float(loss_fn(out, y))
                m += x.shape[0]
            if k == 0:
                total_mean = s / m
            else:
                total_q += s / m
            count = m
        expected_nll = total_q / n_eval_samples
    terms = {
        "expected_nll": expected_nll,
        "nll_at_mean": total_mean,
        "kl_total": kl_total,
        "prior_choice_nats": prior_choice,
        "objective": n_train * expected_nll + beta * kl_total,
        "n_eval_data": float(count),
    }
    per_layer = {
        "kl": kl_layer,
        "std": std_layer,
        "prior_std": dict(lam),
        "mean_shift": shift_layer,
    }
    return per_layer, terms
