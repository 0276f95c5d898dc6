"""Private machinery for the weight-information analysis: data batching, built-in
likelihoods, model-state guards and the per-sample squared-gradient accumulator.

Nothing here is public API; :mod:`mi_probe.weights.weight_information` documents it.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap

from .._progress import progress as _progress
from .._validation import check_random_state, is_tensor
from . import _fisher_fast

LossFn = Callable[[Tensor, Tensor], Tensor]
Sampler = Callable[[Tensor, torch.Generator], Tensor]

LOSSES = ("cross_entropy", "binary_cross_entropy", "gaussian")


# --------------------------------------------------------------------------- likelihoods


def _ce(out: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(out, y, reduction="sum")


def _ce_sample(out: Tensor, g: torch.Generator) -> Tensor:
    probs = torch.softmax(out.detach().to(torch.float64), dim=-1)
    return torch.multinomial(probs, 1, replacement=True, generator=g).reshape(-1)


def _bce(out: Tensor, y: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(
        out.reshape(-1), y.reshape(-1).to(out.dtype), reduction="sum"
    )


def _bce_sample(out: Tensor, g: torch.Generator) -> Tensor:
    p = torch.sigmoid(out.detach().to(torch.float64))
    return torch.bernoulli(p, generator=g).to(out.dtype).reshape(out.shape)


def _gauss(out: Tensor, y: Tensor) -> Tensor:
    return 0.5 * ((out - y.reshape(out.shape).to(out.dtype)) ** 2).sum()


def _gauss_sample(out: Tensor, g: torch.Generator) -> Tensor:
    noise = torch.randn(out.shape, generator=g, device=out.device, dtype=out.dtype)
    return out.detach() + noise


_BUILTIN: dict[str, tuple[LossFn, Sampler]] = {
    "cross_entropy": (_ce, _ce_sample),
    "binary_cross_entropy": (_bce, _bce_sample),
    "gaussian": (_gauss, _gauss_sample),
}


def resolve_loss(loss: Any, sample_target: Any, kind: str) -> tuple[str, LossFn, Sampler | None]:
    """Return (name, summed negative log-likelihood, sampler or None)."""
    if loss is None:
        loss = "cross_entropy"
    if isinstance(loss, str):
        if loss not in _BUILTIN:
            opts = ", ".join(repr(c) for c in LOSSES)
            raise ValueError(f"loss must be one of {opts} or a callable; got {loss!r}")
        fn, sampler = _BUILTIN[loss]
        if sample_target is not None:
            if not callable(sample_target):
                raise ValueError(f"sample_target must be callable, got {sample_target!r}")
            sampler = sample_target
        return loss, fn, sampler
    if not callable(loss):
        raise ValueError(f"loss must be None, a string or a callable, got {loss!r}")
    if sample_target is not None and not callable(sample_target):
        raise ValueError(f"sample_target must be callable, got {sample_target!r}")
    if kind == "true" and sample_target is None:
        raise ValueError(
            "kind='true' with a custom loss needs sample_target(output, generator) to draw "
            "targets from the model's predictive distribution; pass it, or use kind='empirical'"
        )

    def user(out: Tensor, y: Tensor) -> Tensor:
        return loss(out, y).sum()

    name = getattr(loss, "__name__", type(loss).__name__)
    return name, user, sample_target


# --------------------------------------------------------------------------- data


def _to_tensor(a: Any, name: str) -> Tensor:
    if is_tensor(a):
        return a.detach()
    if isinstance(a, (str, bytes)):
        raise ValueError(f"{name} must be an array or tensor, got a string")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged input
        raise ValueError(f"{name} could not be read as an array: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} has dtype {arr.dtype}; expected numbers")
    return torch.as_tensor(arr)


def _split(item: Any) -> tuple[Any, Any]:
    if isinstance(item, (tuple, list)):
        if len(item) == 0:
            raise ValueError("data yielded an empty batch")
        return item[0], (item[1] if len(item) > 1 else None)
    return item, None


def _is_array_like(a: Any) -> bool:
    return is_tensor(a) or isinstance(a, np.ndarray)


def normalise_data(data: Any) -> tuple[str, Any]:
    """Classify ``data``: ("arrays", (x, y|None)) or ("loader", iterable)."""
    if data is None:
        raise ValueError("data must be a DataLoader, an (x, y) pair or an x array; got None")
    if _is_array_like(data):
        return "arrays", (data, None)
    if isinstance(data, (tuple, list)):
        if len(data) in (1, 2) and all(_is_array_like(d) for d in data):
            x = data[0]
            y = data[1] if len(data) == 2 else None
            return "arrays", (x, y)
        if isinstance(data, list):  # a list of (x, y) batches
            return "loader", data
        if len(data) in (1, 2):  # the right length: name the element that is wrong
            i = next(i for i, d in enumerate(data) if not _is_array_like(d))
            raise ValueError(
                f"data[{i}] ({'xy'[i]}) must be a numpy array or a tensor, "
                f"got {type(data[i]).__name__}"
            )
        raise ValueError(
            "data as a tuple must be (x,) or (x, y) arrays/tensors; "
            f"got a {type(data).__name__} of length {len(data)}"
        )
    if isinstance(data, (str, bytes, Mapping)) or not hasattr(data, "__iter__"):
        raise ValueError(
            "data must be a DataLoader (or iterable of (x, y) batches), an (x, y) pair "
            f"or an x array; got {type(data).__name__}"
        )
    return "loader", data


def _prepare(
    x: Any, y: Any, dtype: torch.dtype, device: torch.device, need_y: bool
) -> tuple[Tensor, Tensor | None]:
    xt = _to_tensor(x, "x (from data)")
    if xt.dim() == 0:
        raise ValueError("x (from data) must have a leading sample dimension, got a scalar")
    if xt.shape[0] == 0:
        raise ValueError("data is empty (0 samples)")
    if xt.is_complex():
        raise ValueError(f"x (from data) has a complex dtype ({xt.dtype}); expected real numbers")
    if xt.is_floating_point():
        if torch.isnan(xt).any():
            raise ValueError("x (from data) contains NaN")
        if not torch.isfinite(xt).all():
            raise ValueError("x (from data) contains inf")
        xt = xt.to(dtype)
    xt = xt.to(device)
    if y is None:
        if need_y:
            raise ValueError(
                "data has no labels; kind='empirical' (and method='variational') need (x, y)"
            )
        return xt, None
    yt = _to_tensor(y, "y (from data)")
    if yt.dim() == 0 or yt.shape[0] != xt.shape[0]:
        ny = yt.shape[0] if yt.dim() else 0
        raise ValueError(
            f"x and y in data must have the same number of samples, got {xt.shape[0]} and {ny}"
        )
    if yt.is_floating_point() and torch.isnan(yt).any():
        raise ValueError("y (from data) contains NaN")
    return xt, yt.to(device)


def _fix_labels(y: Tensor, loss_name: str, dtype: torch.dtype) -> Tensor:
    if loss_name == "cross_entropy":
        if y.is_floating_point():
            if not torch.all(y == torch.round(y)):
                raise ValueError(
                    "y (from data) must hold integer class labels for loss='cross_entropy'; "
                    "got non-integer floats"
                )
            y = y.long()
        if y.dim() == 2 and y.shape[1] == 1:
            y = y.reshape(-1)
        if y.dim() != 1:
            raise ValueError(
                "y (from data) must be 1-D class labels for loss='cross_entropy', "
                f"got shape {tuple(y.shape)}"
            )
        if (y < 0).any():
            raise ValueError("y (from data) contains negative class labels")
        return y.long()
    if loss_name in ("binary_cross_entropy", "gaussian"):
        return y.to(dtype)
    return y


def iter_batches(
    data: Any,
    *,
    batch_size: int,
    dtype: torch.dtype,
    device: torch.device,
    need_y: bool,
    loss_name: str,
) -> Iterator[tuple[Tensor, Tensor | None]]:
    """Yield (x, y) chunks of at most ``batch_size`` rows on ``device``."""
    form, payload = normalise_data(data)
    if form == "arrays":
        x, y = payload
        xt, yt = _prepare(x, y, dtype, device, need_y)
        if yt is not None:
            yt = _fix_labels(yt, loss_name, dtype)
        for i in range(0, xt.shape[0], batch_size):
            yield xt[i : i + batch_size], (None if yt is None else yt[i : i + batch_size])
        return
    seen = False
    for item in payload:
        bx, by = _split(item)
        xt, yt = _prepare(bx, by, dtype, device, need_y)
        if yt is not None:
            yt = _fix_labels(yt, loss_name, dtype)
        seen = True
        for i in range(0, xt.shape[0], batch_size):
            yield xt[i : i + batch_size], (None if yt is None else yt[i : i + batch_size])
    if not seen:
        raise ValueError("data is empty (the loader yielded no batches)")


def count_samples(data: Any) -> int | None:
    """Number of samples in ``data`` when it can be known without iterating."""
    form, payload = normalise_data(data)
    if form == "arrays":
        x = payload[0]
        return int(len(x))
    ds = getattr(payload, "dataset", None)
    if ds is not None:
        try:
            return int(len(ds))
        except TypeError:
            return None
    return None


# --------------------------------------------------------------------------- model state


def model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for p in model.parameters():
        return p.device, (p.dtype if p.is_floating_point() else torch.float32)
    raise ValueError("model has no parameters")


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode; restore each module's own flag afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        yield
    finally:
        for m, f in flags:
            m.training = f


def seed_generator(random_state: Any, device: torch.device) -> torch.Generator:
    """A local torch.Generator on ``device``; never touches the global RNG."""
    if isinstance(random_state, torch.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state}")
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).integers(0, 2**63 - 1))
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def resolve_param_names(model: nn.Module, param_names: Sequence[str] | None) -> list[str]:
    named = dict(model.named_parameters())
    if param_names is None:
        names = [n for n, p in named.items() if p.requires_grad]
        if not names:
            raise ValueError("model has no parameters with requires_grad=True")
        return names
    if isinstance(param_names, str):
        param_names = [param_names]
    names = list(param_names)
    if not names:
        raise ValueError("param_names is empty")
    unknown = [n for n in names if n not in named]
    if unknown:
        valid = ", ".join(named)
        raise ValueError(f"param_names has unknown parameter(s) {unknown}; valid names: {valid}")
    return names


# --------------------------------------------------------------------------- accumulator


def _is_builtin(loss_fn: LossFn) -> bool:
    return any(loss_fn is fn for fn, _ in _BUILTIN.values())


def squared_grad_sums(
    model: nn.Module,
    data: Any,
    names: Sequence[str],
    *,
    kind: str,
    loss_name: str,
    loss_fn: LossFn,
    sampler: Sampler | None,
    n_label_samples: int,
    batch_size: int,
    generator: torch.Generator | None,
    vectorize: bool,
    show_progress: bool,
    fast: bool = True,
    kfac: bool = False,
) -> tuple[dict[str, Tensor], int, dict[str, _fisher_fast.KFACFactors]]:
    """Sum over samples of the squared per-sample gradients of the negative log-likelihood.

    Returns float64 sums keyed by parameter name, the number of (x, label) pairs, and
    (``kfac=True``) the K-FAC factor sums of the Linear/Conv2d modules keyed by module
    name (``ok=False`` where the factors could not be formed exactly).

    ``fast=True`` computes the parameters of plain ``nn.Linear``/``nn.Conv2d`` modules
    from layer inputs and output gradients of one batched backward pass
    (:mod:`._fisher_fast`), every other parameter with ``vmap(grad)`` (or a loop when
    ``vectorize`` is False); ``fast=False`` uses the per-sample path for all. The fast
    path assumes the model treats samples independently (true in eval mode for
    standard layers). The model must already be in eval mode; nothing on it is modified.
    """
    device, dtype = model_device_dtype(model)
    all_params = {n: p.detach() for n, p in model.named_parameters()}
    buffers = {n: b.detach() for n, b in model.named_buffers()}
    acc_dtype = torch.float64 if device.type != "mps" else torch.float32
    sums = {n: torch.zeros(all_params[n].shape, dtype=acc_dtype, device=device) for n in names}

    def vmap_sq(subset: Sequence[str], xs: Tensor, ys: Tensor) -> None:
        wanted = {n: all_params[n] for n in subset}
        const = {n: p for n, p in all_params.items() if n not in wanted}

        def nll(p: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
            out = functional_call(model, ({**const, **p}, buffers), (x.unsqueeze(0),))
            return loss_fn(out, y.unsqueeze(0))

        g_fn = grad(nll)
        if vectorize:
            gs = vmap(g_fn, in_dims=(None, 0, 0))(wanted, xs, ys)
            for n in wanted:  # square and sum within the chunk in the parameter dtype
                sums[n] += gs[n].square().sum(0).to(acc_dtype)
        else:
            for j in range(xs.shape[0]):
                gj = g_fn(wanted, xs[j], ys[j])
                for n in wanted:
                    sums[n] += gj[n].to(acc_dtype).pow(2)

    plan = _fisher_fast.build_plan(model, list(names)) if fast else _fisher_fast.Plan()
    fpass = _fisher_fast.FastPass(model, plan, kfac=kfac)
    fast_params = {
        **all_params,
        **{n: all_params[n].detach().requires_grad_() for n in plan.names},
    }
    builtin = _is_builtin(loss_fn)

    def call(xs: Tensor) -> Tensor:
        return functional_call(model, (fast_params, buffers), (xs,))

    def batch_loss(out: Tensor, ys: Tensor) -> Tensor:
        # the sum of per-sample losses, each computed on a batch of one as in nll()
        if builtin:
            return loss_fn(out, ys)
        if vectorize:
            per = vmap(lambda o, t: loss_fn(o.unsqueeze(0), t.unsqueeze(0)))(out, ys)
            return per.sum()
        return torch.stack(
            [loss_fn(out[j : j + 1], ys[j : j + 1]) for j in range(out.shape[0])]
        ).sum()

    def check_ce(out: Tensor) -> None:
        if loss_name == "cross_entropy" and out.dim() != 2:
            raise ValueError(
                "loss='cross_entropy' needs model outputs of shape (n_samples, n_classes), "
                f"got {tuple(out.shape)}"
            )

    def draw(out: Tensor, n_rows: int) -> Tensor:
        assert sampler is not None and generator is not None
        y = sampler(out, generator)
        if y.shape[0] != n_rows:
            raise ValueError(f"sample_target returned {y.shape[0]} targets for {n_rows} outputs")
        return y

    count = 0
    chunks = iter_batches(
        data,
        batch_size=batch_size,
        dtype=dtype,
        device=device,
        need_y=(kind == "empirical"),
        loss_name=loss_name,
    )
    n_classes: int | None = None
    with fpass.hooks():
        for x, y in _progress(chunks, desc="fisher", enabled=show_progress):
            sample_in_pass = kind == "true" and n_label_samples == 1 and bool(fpass.active_names())
            if sample_in_pass:
                y = None  # drawn from the outputs of the fast pass's own forward
            elif kind == "true":
                with torch.no_grad():
                    out = functional_call(model, (all_params, buffers), (x,))
                check_ce(out)
                if n_label_samples > 1:
                    x = x.repeat_interleave(n_label_samples, dim=0)
                    out = out.repeat_interleave(n_label_samples, dim=0)
                y = draw(out, x.shape[0])
            elif kind == "empirical" and loss_name == "cross_entropy":
                assert y is not None
                if n_classes is None:
                    with torch.no_grad():
                        out = functional_call(model, (all_params, buffers), (x[:1],))
                    if out.dim() != 2:
                        raise ValueError(
                            "loss='cross_entropy' needs model outputs of shape "
                            f"(n_samples, n_classes), got {tuple(out.shape)}"
                        )
                    n_classes = int(out.shape[1])
                if int(y.max()) >= n_classes:
                    raise ValueError(
                        f"y (from data) has label {int(y.max())} but the model outputs "
                        f"{n_classes} classes"
                    )
            for i in range(0, x.shape[0], batch_size):
                xs = x[i : i + batch_size]
                ys = None if y is None else y[i : i + batch_size]
                active = fpass.active_names()
                redo = [n for n in names if n not in active]
                if active:
                    fixed = ys

                    def targets(out: Tensor, fixed: Tensor | None = fixed) -> Tensor:
                        if fixed is not None:
                            return fixed
                        check_ce(out)
                        return draw(out.detach(), out.shape[0])

                    ys, fsums, bad = fpass.run(call, xs, fast_params, targets, batch_loss)
                    for n, v in fsums.items():
                        sums[n] += v.to(acc_dtype)
                    redo += [n for n in names if n in bad]
                assert ys is not None
                if redo:
                    vmap_sq(redo, xs, ys)
                count += xs.shape[0]
    factors = {}
    if kfac:
        mod_names = {m: n for n, m in model.named_modules()}
        factors = {mod_names[m]: f for m, f in fpass.factors.items()}
    return sums, count, factors
