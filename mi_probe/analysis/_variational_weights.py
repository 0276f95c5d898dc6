"""Variational posterior over the weights for :func:`weight_information`
(``method="variational"``): a per-weight Gaussian ``q(w) = N(w*, diag s^2)`` whose scales
are fitted by stochastic gradient descent on the IB Lagrangian of the weights,
``E_q[cross-entropy] + beta KL(q || p)``, with the reparameterisation trick."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call

from .._progress import progress as _progress
from . import _fisher

def _diag_gauss_kl(mu: Tensor, log_s: Tensor, prior_std: float) -> Tensor:
    """KL(N(mu, diag exp(log_s)^2) || N(0, prior_std^2 I)), summed, in nats."""
    lam2 = prior_std**2
    s2 = torch.exp(2 * log_s)
    return 0.5 * ((s2 + mu**2) / lam2 - 1.0 - (2 * log_s - math.log(lam2))).sum()


# --------------------------------------------------------------------------- variational


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
            _fisher.iter_batches(
                data,
                batch_size=10**12,
                dtype=dtype,
                device=device,
                need_y=True,
                loss_name=loss_name,
            )
        )
        n = x.shape[0]
        b = min(batch_size, n)
        while True:
            idx = torch.randint(0, n, (b,), generator=generator, device=device)
            yield x[idx], y[idx]
    while True:
        for xb, yb in _fisher.iter_batches(
            data,
            batch_size=batch_size,
            dtype=dtype,
            device=device,
            need_y=True,
            loss_name=loss_name,
        ):
            yield xb, yb


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
) -> tuple[dict[str, float], dict[str, float]]:
    """Fit log s on a deep copy of ``model``; return per-layer KL and the loss terms."""
    device, dtype = _fisher.model_device_dtype(model)
    twin = copy.deepcopy(model)
    twin.eval()
    for p in twin.parameters():
        p.requires_grad_(False)
    params = {n: p.detach() for n, p in twin.named_parameters()}
    buffers = {n: b.detach() for n, b in twin.named_buffers()}
    names = [n for _, ns in table for n in ns]
    names = list(dict.fromkeys(names))
    mu = {n: params[n] for n in names}
    const = {n: p for n, p in params.items() if n not in mu}
    lam2 = prior_std**2
    log_s: dict[str, Tensor] = {}
    for n in names:
        if init == "fisher":
            a = lam2 * n_train * fisher[n].to(torch.float64).clamp_min(0.0) / beta
            s0 = torch.sqrt(lam2 / (1.0 + a))
        else:
            s0 = torch.full(mu[n].shape, float(init), dtype=torch.float64, device=device)
        log_s[n] = torch.log(s0).to(mu[n].dtype).clone().requires_grad_(True)
    opt = torch.optim.Adam(list(log_s.values()), lr=lr)
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

    def sample_weights() -> dict[str, Tensor]:
        out = {}
        for n in names:
            eps = torch.randn(mu[n].shape, generator=generator, device=device, dtype=mu[n].dtype)
            out[n] = mu[n] + torch.exp(log_s[n]) * eps
        return out

    with torch.enable_grad():
        for _ in _progress(range(n_steps), desc="variational", enabled=progress):
            x, y = next(stream)
            # antithetic pair w* + s eps, w* - s eps: the term linear in eps (the
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
            kl = sum(_diag_gauss_kl(mu[n], log_s[n], prior_std) for n in names)
            objective = nll + beta * kl / n_train
            opt.zero_grad(set_to_none=True)
            objective.backward()
            opt.step()
            sched.step()
    stream.close()
    with torch.no_grad():
        kl_layer = {
            layer: float(sum(_diag_gauss_kl(mu[n], log_s[n], prior_std) for n in ns))
            for layer, ns in table
        }
        kl_total = float(sum(_diag_gauss_kl(mu[n], log_s[n], prior_std) for n in names))
        std_layer = {
            layer: float(torch.cat([torch.exp(log_s[n]).reshape(-1) for n in ns]).mean())
            for layer, ns in table
        }
        total_mean = 0.0
        total_q = 0.0
        count = 0
        for k in range(n_eval_samples + 1):
            w = mu if k == 0 else sample_weights()
            s = 0.0
            m = 0
            for x, y in _fisher.iter_batches(
                data,
                batch_size=batch_size,
                dtype=dtype,
                device=device,
                need_y=True,
                loss_name=loss_name,
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
        "objective": n_train * expected_nll + beta * kl_total,
        "n_eval_data": float(count),
    }
    return {"kl": kl_layer, "std": std_layer}, terms  # type: ignore[return-value]
