"""Squared per-sample gradients of nn.Linear and nn.Conv2d parameters without
materialising every per-sample gradient, and the K-FAC factors of those layers.

For a layer ``z = W a + b`` evaluated on a batch whose samples are independent, the
per-sample gradient of the summed negative log-likelihood is ``g_i a_i^T`` with
``g_i = dNLL_i / dz_i``; one backward pass of the summed loss gives every ``g_i`` at
once. The forward hooks here keep each layer input ``a`` and add a zero tensor ``e`` to
the output (a broadcast zero scalar, no memory), so ``autograd.grad(loss, e)`` is the
gradient with respect to the layer's output (even when the next operation is in place). Then

* Linear, 2-D input: ``sum_i (g_i a_i^T)^2 = (g^2)^T (a^2)``, bias ``sum_i g_i^2``;
* Linear with extra dimensions, Conv2d (input unfolded into patches), a parameter used
  by several calls (a module called twice, tied weights): per-sample gradients of that
  one parameter, formed in chunks of samples, summed over calls, squared and summed.

Exactness conditions, each checked per batch; a parameter that fails one falls back
to the caller's ``vmap(grad)`` path for that batch and every later one:

* every use of the parameter is a call of an eligible module (plain ``nn.Linear`` /
  ``nn.Conv2d`` forward, zeros padding, no hooks of its own). Inside a call the module
  sees a detached copy of the parameter; a use anywhere else reaches the parameter
  itself and gives it a gradient, which is how it is detected;
* the layer's input and output keep the sample dimension first with the batch's size.

Not checked (stated in the docstrings): the model must process samples independently
in eval mode (no batch statistics, no attention across the batch dimension).

Nothing here is public API.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# elements per chunk of per-sample gradients / unfolded patches (64 MiB in float32)
_CHUNK_ELEMENTS = 1 << 24


def eligible_kind(m: nn.Module) -> str | None:
    """'linear' / 'conv2d' when the fast formulas hold for this module, else None."""
    if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks:
        return None
    if getattr(m, "_backward_pre_hooks", None):
        return None
    if isinstance(m, nn.Linear) and type(m).forward is nn.Linear.forward:
        return "linear"
    if (
        isinstance(m, nn.Conv2d)
        and type(m).forward is nn.Conv2d.forward
        and type(m)._conv_forward is nn.Conv2d._conv_forward
        and m.padding_mode == "zeros"
    ):
        return "conv2d"
    return None


def _global_hooks_present() -> bool:
    from torch.nn.modules import module as _mod

    return any(
        getattr(_mod, name, None)
        for name in (
            "_global_forward_hooks",
            "_global_forward_pre_hooks",
            "_global_backward_hooks",
            "_global_backward_pre_hooks",
        )
    )


@dataclass
class Plan:
    """Which module owns which fast parameter: module -> (kind, [(attr, full name)])."""

    modules: dict[nn.Module, tuple[str, list[tuple[str, str]]]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)


def build_plan(model: nn.Module, names: list[str]) -> Plan:
    plan = Plan()
    if _global_hooks_present():
        return plan
    wanted = set(names)
    id2name = {id(p): n for n, p in model.named_parameters()}
    for m in model.modules():
        kind = eligible_kind(m)
        if kind is None:
            continue
        attrs = []
        for attr, p in m._parameters.items():
            if p is None:
                continue
            full = id2name.get(id(p))
            if full in wanted:
                attrs.append((attr, full))
        if attrs:
            plan.modules[m] = (kind, attrs)
            plan.names.update(n for _, n in attrs)
    return plan


# --------------------------------------------------------------------------- per-sample


def _unfold(mod: nn.Conv2d, a: Tensor) -> Tensor:
    """Patches of ``a`` (b, C, H, W) as the convolution sees them: (b, C*kh*kw, L),
    laid out as ``torch.nn.functional.unfold`` does (a strided view copied once, which
    is several times faster than ``unfold``'s im2col on CPU)."""
    kh, kw = mod.kernel_size
    dh, dw = mod.dilation
    sh, sw = mod.stride
    padding: Any = mod.padding
    if isinstance(padding, str):
        pads = [0, 0, 0, 0]
        if padding == "same":
            th, tw = dh * (kh - 1), dw * (kw - 1)
            pads = [tw // 2, tw - tw // 2, th // 2, th - th // 2]
    else:
        pads = [padding[1], padding[1], padding[0], padding[0]]
    if any(pads):
        a = F.pad(a, pads)
    a = a.contiguous()
    b, c, h, w = a.shape
    ho = (h - dh * (kh - 1) - 1) // sh + 1
    wo = (w - dw * (kw - 1) - 1) // sw + 1
    s0, s1, s2, s3 = a.stride()
    view = a.as_strided((b, c, kh, kw, ho, wo), (s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw))
    return view.reshape(b, c * kh * kw, ho * wo)


def _per_sample(kind: str, mod: nn.Module, attr: str, a: Tensor, g: Tensor) -> Tensor:
    """Per-sample gradients of ``mod.<attr>`` for the samples in ``a``/``g``."""
    b = a.shape[0]
    if kind == "linear":
        n_out = g.shape[-1]
        gs = g.reshape(b, -1, n_out)
        if attr == "bias":
            return gs.sum(1)
        return torch.bmm(gs.transpose(1, 2), a.reshape(b, -1, a.shape[-1]))
    conv: nn.Conv2d = mod  # type: ignore[assignment]
    if attr == "bias":
        return g.sum((2, 3))
    u = _unfold(conv, a)
    gm = g.reshape(b, g.shape[1], -1)
    groups = conv.groups
    if groups == 1:
        ps = torch.bmm(gm, u.transpose(1, 2))
    else:
        gg = gm.reshape(b, groups, -1, gm.shape[-1])
        ug = u.reshape(b, groups, -1, u.shape[-1])
        ps = torch.einsum("bgol,bgkl->bgok", gg, ug)
    return ps.reshape(b, *conv.weight.shape)


def _chunk_rows(kind: str, mod: nn.Module, attr: str, a: Tensor, g: Tensor, numel: int) -> int:
    per = numel + g[0].numel()
    if kind == "conv2d" and attr == "weight":
        conv = cast(nn.Conv2d, mod)
        k = conv.weight[0].numel() * conv.groups
        per += k * (g[0].numel() // g.shape[1])
    return max(1, _CHUNK_ELEMENTS // max(per, 1))


def _squared_sum(
    contribs: list[tuple[str, nn.Module, str, Tensor, Tensor]], shape: torch.Size
) -> Tensor:
    """sum over samples of (sum over calls of the per-sample gradient)^2."""
    if len(contribs) == 1:
        kind, mod, attr, a, g = contribs[0]
        if kind == "linear" and g.dim() == 2:
            if attr == "bias":
                return g.square().sum(0)
            return g.square().T @ a.square()
        if kind == "conv2d" and attr == "bias":
            return g.sum((2, 3)).square().sum(0)
    b = contribs[0][3].shape[0]
    numel = 1
    for s in shape:
        numel *= int(s)
    step = min(_chunk_rows(k, m, at, a, g, numel) for k, m, at, a, g in contribs)
    total: Tensor | None = None
    for lo in range(0, b, step):
        hi = min(b, lo + step)
        ps: Tensor | None = None
        for kind, mod, attr, a, g in contribs:
            part = _per_sample(kind, mod, attr, a[lo:hi], g[lo:hi]).reshape(hi - lo, *shape)
            ps = part if ps is None else ps + part
        assert ps is not None
        sq = ps.square().sum(0)
        total = sq if total is None else total + sq
    assert total is not None
    return total


# --------------------------------------------------------------------------- K-FAC


def _kfac_update(
    kind: str, mod: nn.Module, has_bias: bool, a: Tensor, g: Tensor
) -> tuple[Tensor, Tensor]:
    """(sum over samples and positions of abar abar^T, sum over samples of the
    position-averaged g g^T), float64."""
    b = a.shape[0]
    if kind == "linear":
        af = a.reshape(-1, a.shape[-1]).to(torch.float64)
        gf = g.reshape(-1, g.shape[-1]).to(torch.float64)
        positions = af.shape[0] // b
        if has_bias:
            af = torch.cat([af, af.new_ones(af.shape[0], 1)], 1)
        return af.T @ af, (gf.T @ gf) / positions
    conv: nn.Conv2d = mod  # type: ignore[assignment]
    k = conv.weight[0].numel() + (1 if has_bias else 0)
    a_sum = torch.zeros(k, k, dtype=torch.float64, device=a.device)
    c_out = g.shape[1]
    positions = g[0].numel() // c_out
    per = (k + c_out) * positions
    step = max(1, _CHUNK_ELEMENTS // max(per, 1))
    g_sum = torch.zeros(c_out, c_out, dtype=torch.float64, device=a.device)
    for lo in range(0, b, step):
        u = _unfold(conv, a[lo : lo + step]).transpose(1, 2).reshape(-1, conv.weight[0].numel())
        u = u.to(torch.float64)
        if has_bias:
            u = torch.cat([u, u.new_ones(u.shape[0], 1)], 1)
        a_sum += u.T @ u
        gf = g[lo : lo + step].reshape(-1, c_out, positions).transpose(1, 2)
        gf = gf.reshape(-1, c_out).to(torch.float64)
        g_sum += gf.T @ gf
    return a_sum, g_sum / positions


@dataclass
class KFACFactors:
    """Running sums of the K-FAC factors of one module (divide by the sample count)."""

    kind: str
    weight: str
    bias: str | None
    a_sum: Tensor | None = None
    g_sum: Tensor | None = None
    ok: bool = True


# --------------------------------------------------------------------------- the pass


class FastPass:
    """Hooks on the planned modules; :meth:`run` does one batch."""

    def __init__(self, model: nn.Module, plan: Plan, *, kfac: bool) -> None:
        self.model = model
        self.plan = plan
        self.records: list[tuple[nn.Module, Tensor | None, Tensor | None]] = []
        self.stacks: dict[nn.Module, list[list[tuple[str, Any]]]] = {}
        self.dropped: set[str] = set()  # parameters moved to the fallback for good
        self.factors: dict[nn.Module, KFACFactors] = {}
        self.armed = False  # hooks act only inside run(), not in the vmap fallback
        if kfac:
            for m, (kind, attrs) in plan.modules.items():
                d = dict(attrs)
                if "weight" in d and not (kind == "conv2d" and m.groups != 1):
                    # a frozen (or absent) bias gets no column of ones
                    self.factors[m] = KFACFactors(kind, d["weight"], d.get("bias"))

    @contextlib.contextmanager
    def hooks(self) -> Iterator[FastPass]:
        handles = []
        try:
            for m in self.plan.modules:
                handles.append(m.register_forward_pre_hook(self._pre))
                handles.append(m.register_forward_hook(self._post))
            yield self
        finally:
            for h in handles:
                h.remove()
            self.stacks.clear()
            self.records.clear()

    def _pre(self, mod: nn.Module, args: tuple[Any, ...]) -> None:
        if not self.armed:
            return
        saved = []
        for attr, _ in self.plan.modules[mod][1]:
            t = mod._parameters[attr]
            saved.append((attr, t))
            if t is not None:
                mod._parameters[attr] = t.detach()  # type: ignore[assignment]
        self.stacks.setdefault(mod, []).append(saved)

    def _post(self, mod: nn.Module, args: tuple[Any, ...], out: Any) -> Any:
        if not self.armed:
            return None
        for attr, t in self.stacks[mod].pop():
            mod._parameters[attr] = t
        if not args or not isinstance(args[0], Tensor) or not isinstance(out, Tensor):
            self.records.append((mod, None, None))  # unusable call: fall back
            return None
        if not torch.is_grad_enabled():
            return None  # no gradient flows through this call
        # a zero of the output's shape that needs no memory: the gradient with respect
        # to this (non-leaf) expanded view is the full output gradient
        zero = torch.zeros((), dtype=out.dtype, device=out.device, requires_grad=True)
        e = zero.expand(out.shape)
        self.records.append((mod, args[0].detach(), e))
        return out + e

    def active_names(self) -> set[str]:
        return self.plan.names - self.dropped

    def run(
        self,
        call: Callable[[Tensor], Tensor],
        x: Tensor,
        leaves: dict[str, Tensor],
        targets: Callable[[Tensor], Tensor],
        batch_loss: Callable[[Tensor, Tensor], Tensor],
    ) -> tuple[Tensor, dict[str, Tensor], set[str]]:
        """One batch: (targets used, squared-gradient sums, parameters to redo by vmap).

        ``call(x)`` runs the model with ``leaves`` (the fast parameters, requiring
        grad) in place of the parameters; ``targets(out)`` returns the batch's targets.
        """
        self.records.clear()
        self.stacks.clear()
        b = x.shape[0]
        with torch.enable_grad():
            self.armed = True
            try:
                out = call(x)
            finally:
                self.armed = False
            y = targets(out)
            loss = batch_loss(out, y)
            es = [e for _, _, e in self.records if e is not None]
            active = sorted(self.active_names())
            inputs = es + [leaves[n] for n in active]
            grads: tuple[Tensor | None, ...]
            if loss.requires_grad and inputs:
                grads = torch.autograd.grad(loss, inputs, allow_unused=True)
            else:
                grads = tuple(None for _ in inputs)
        g_of = dict(zip(map(id, es), grads[: len(es)], strict=True))
        bad = {n for n, gr in zip(active, grads[len(es) :], strict=True) if gr is not None}
        calls: dict[nn.Module, int] = {}
        contribs: dict[str, list[tuple[str, nn.Module, str, Tensor, Tensor]]] = {}
        for mod, a, e in self.records:
            kind, attrs = self.plan.modules[mod]
            calls[mod] = calls.get(mod, 0) + 1
            g = None if e is None else g_of.get(id(e))
            shape_ok = (
                a is not None
                and e is not None
                and a.shape[0] == b
                and e.shape[0] == b
                and (a.dim() == 4 if kind == "conv2d" else a.dim() >= 2)
            )
            if not shape_ok:
                bad.update(n for _, n in attrs)
                continue
            if g is None:
                continue  # the output does not reach the loss: zero contribution
            assert a is not None  # shape_ok
            for attr, n in attrs:
                contribs.setdefault(n, []).append((kind, mod, attr, a, g))
        bad &= set(active)
        sums: dict[str, Tensor] = {}
        params = dict(self.model.named_parameters())
        for n in active:
            if n in bad:
                continue
            lst = contribs.get(n)
            if not lst:
                sums[n] = torch.zeros_like(params[n])
            else:
                sums[n] = _squared_sum(lst, params[n].shape)
        for mod, fac in self.factors.items():
            if not fac.ok:
                continue
            used = {fac.weight} | ({fac.bias} if fac.bias else set())
            lst = contribs.get(fac.weight)
            if calls.get(mod, 0) != 1 or used & (bad | self.dropped) or not lst or len(lst) != 1:
                fac.ok = False
                continue
            kind, _, _, a, g = lst[0]
            a_sum, g_sum = _kfac_update(kind, mod, fac.bias is not None, a, g)
            fac.a_sum = a_sum if fac.a_sum is None else fac.a_sum + a_sum
            fac.g_sum = g_sum if fac.g_sum is None else fac.g_sum + g_sum
        self.dropped |= bad
        self.records.clear()
        return y, sums, bad
