"""Forward hooks on any ``torch.nn.Module`` and activation collection.

One hook per probed layer stores a detached, flattened *copy* of the layer's output
(so an in-place ReLU later in the network cannot overwrite it), the way captum's
``_forward_layer_eval`` does; hooks are removed in ``finally`` blocks so none
survives an exception. Probing never changes the model: weights, ``training`` flags,
``requires_grad`` and the torch RNG state are the same afterwards.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Union

import numpy as np
import torch
from torch import nn

from .._progress import progress
from .._validation import (
    check_int,
    check_random_state,
    check_same_samples,
    is_tensor,
    subsample_index,
)

__all__ = ["Probe", "attach", "resolve_layers", "model_device"]

LayerSpec = Union[str, nn.Module, type]


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (or buffer); CPU for a model with neither."""
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def _model_float_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.dtype.is_floating_point:
            return p.dtype
    return torch.float32


def _valid_names(model: nn.Module, limit: int = 40) -> str:
    names = [n for n, _ in model.named_modules() if n]
    shown = ", ".join(repr(n) for n in names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return shown or "(the model has no submodules)"


def resolve_layers(model: nn.Module, layers: LayerSpec | Sequence[LayerSpec] = "all") -> list[str]:
    """Turn a layer specification into dotted module names, in the order given.

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    layers : str, nn.Module, module type, or a sequence of them
        ``"all"`` (every leaf module), dotted names (``"features.3"``), module objects
        that belong to ``model``, or module classes (``nn.Linear``: every instance, in
        definition order). Duplicates are dropped, keeping the first occurrence.

    Returns
    -------
    list of str
        Dotted module names (``""`` is the model itself).

    Raises
    ------
    ValueError
        An unknown name (the message lists the valid ones), a module that is not part of
        ``model``, a type that matches nothing, an empty selection, or an entry of
        another kind.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(layers, (str, nn.Module, type)):
        specs: list[Any] = [layers]
    else:
        try:
            specs = list(layers)
        except TypeError:
            raise ValueError(
                "layers must be 'all', a name, a module, a module type or a list of them, "
                f"got {type(layers).__name__}"
            ) from None
    if not specs:
        raise ValueError("layers is empty; give at least one layer (or 'all')")
    named = list(model.named_modules())
    by_id = {id(m): n for n, m in named}
    out: list[str] = []
    for spec in specs:
        if isinstance(spec, str):
            if spec == "all":
                leaves = [n for n, m in named if n and not any(True for _ in m.children())]
                found = leaves or [""]
            else:
                try:
                    model.get_submodule(spec)
                except AttributeError:
                    raise ValueError(
                        f"layers: unknown layer {spec!r}; valid names: {_valid_names(model)}"
                    ) from None
                found = [spec]
        elif isinstance(spec, nn.Module):
            if id(spec) not in by_id:
                raise ValueError(
                    f"layers: module {type(spec).__name__} is not part of the model; "
                    f"valid names: {_valid_names(model)}"
                )
            found = [by_id[id(spec)]]
        elif isinstance(spec, type) and issubclass(spec, nn.Module):
            found = [n for n, m in named if isinstance(m, spec)]
            if not found:
                raise ValueError(f"layers: the model has no module of type {spec.__name__}")
        else:
            raise ValueError(
                f"layers entries must be names, modules or module types, got {type(spec).__name__}"
            )
        for name in found:
            if name not in out:
                out.append(name)
    return out


def _flatten_output(out: Any, key: str) -> list[tuple[str, torch.Tensor]]:
    """(key, tensor) pairs for a tensor, or a (nested) tuple/list/dict of tensors."""
    if is_tensor(out):
        return [(key, out)]
    pairs: list[tuple[str, torch.Tensor]] = []
    if isinstance(out, (tuple, list)):
        for i, item in enumerate(out):
            pairs.extend(_flatten_output(item, f"{key}[{i}]"))
    elif isinstance(out, Mapping):
        for k, item in out.items():
            pairs.extend(_flatten_output(item, f"{key}[{k}]"))
    return pairs


def _as_rows(t: torch.Tensor) -> torch.Tensor:
    """(batch, ...) -> (batch, features); a 0-d output becomes (1, 1)."""
    if t.dim() == 0:
        return t.reshape(1, 1)
    return t.reshape(t.shape[0], -1)


class Probe:
    """Forward hooks that record layer outputs of a model.

    Create one with :func:`attach`. Used as a context manager, the hooks are removed on
    exit, also when the body raises.

    Parameters
    ----------
    model : torch.nn.Module
        The network to observe; it is never modified.
    layers : str, nn.Module, module type, or a sequence of them
        See :func:`resolve_layers`. Default ``"all"`` leaf modules.

    Attributes
    ----------
    model : torch.nn.Module
    layers : list of str
        The resolved dotted layer names, in the order given.
    targets : torch.Tensor or None
        Labels seen by the last :meth:`collect` (from ``(x, y)`` data), else None.
    indices : numpy.ndarray or None
        Positions of the rows kept by the last :meth:`collect` (after subsampling).

    Notes
    -----
    Each hook stores ``output.detach().clone()`` reshaped to ``(batch, features)``.
    A tuple/list/dict output is stored per tensor element under ``"name[i]"`` /
    ``"name[key]"``. A module called more than once in one forward pass is stored per
    call as ``"name:1"``, ``"name:2"``, ...

    Examples
    --------
    >>> import torch, mi_probe
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> with mi_probe.attach(net, layers=["1", "2"]) as probe:
    ...     _ = net(torch.randn(5, 3))
    >>> {k: tuple(v.shape) for k, v in probe.activations.items()}
    {'1': (5, 4), '2': (5, 2)}
    """

    def __init__(self, model: nn.Module, layers: LayerSpec | Sequence[LayerSpec] = "all") -> None:
        self.model = model
        self.layers = resolve_layers(model, layers)
        self._handles: list[Any] = []
        self._pending: dict[str, list[Any]] = {}
        self._store: OrderedDict[str, list[torch.Tensor]] = OrderedDict()
        self._key_layer: dict[str, str] = {}
        self._to_cpu = False
        self.targets: torch.Tensor | None = None
        self.indices: np.ndarray | None = None

    # -- hooks -------------------------------------------------------------------------
    @property
    def attached(self) -> bool:
        """Whether the hooks are currently registered."""
        return bool(self._handles)

    def _make_hook(self, name: str):
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            self._pending.setdefault(name, []).append(self._snapshot(output, name))

        return hook

    def _snapshot(self, output: Any, name: str) -> list[tuple[str, torch.Tensor]]:
        pairs = []
        for key, t in _flatten_output(output, name):
            t = _as_rows(t.detach())
            if self._to_cpu:
                dtype = (
                    torch.float32
                    if (t.dtype.is_floating_point or t.dtype == torch.bool)
                    else t.dtype
                )
                t = t.to(device="cpu", dtype=dtype, copy=True)
            else:
                t = t.clone()
            pairs.append((key, t))
        return pairs

    def _reset_pending(self, *_: Any) -> None:
        self._pending = {}

    def _commit(self, *_: Any) -> None:
        """Move one forward pass's outputs into the store, naming repeated calls."""
        pending, self._pending = self._pending, {}
        for name in self.layers:
            calls = pending.get(name)
            if not calls:
                continue
            for i, pairs in enumerate(calls, start=1):
                for key, t in pairs:
                    if len(calls) > 1:
                        key = f"{name}:{i}" + key[len(name) :]
                    self._store.setdefault(key, []).append(t)
                    self._key_layer[key] = name

    def attach(self) -> Probe:
        """Register the hooks (a no-op if already attached); returns ``self``."""
        if self._handles:
            return self
        handles = []
        try:
            handles.append(self.model.register_forward_pre_hook(self._reset_pending, prepend=True))
            for name in self.layers:
                module = self.model.get_submodule(name)
                handles.append(module.register_forward_hook(self._make_hook(name)))
            # registered last, so it runs after a hook on the model itself
            handles.append(self.model.register_forward_hook(self._commit))
        except BaseException:
            for h in handles:
                h.remove()
            raise
        self._handles = handles
        return self

    def remove(self) -> None:
        """Remove every hook this probe registered (safe to call twice)."""
        handles, self._handles = self._handles, []
        for h in handles:
            h.remove()
        self._pending = {}

    def __enter__(self) -> Probe:
        return self.attach()

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.remove()
        except Exception:
            pass

    # -- stored activations ------------------------------------------------------------
    def clear(self) -> None:
        """Forget the stored activations."""
        self._store = OrderedDict()
        self._pending = {}

    def _ordered(self) -> OrderedDict[str, torch.Tensor]:
        if self._pending:  # a submodule called directly, outside the model's forward
            self._commit()
        out: OrderedDict[str, torch.Tensor] = OrderedDict()

        for name in self.layers:
            for key, chunks in self._store.items():
                if self._key_layer.get(key) == name and key not in out:
                    out[key] = chunks[0] if len(chunks) == 1 else torch.cat(chunks, dim=0)
        return out

    @property
    def activations(self) -> OrderedDict[str, torch.Tensor]:
        """Everything recorded since the last :meth:`clear`: ``{key: (n, features)}``."""
        return self._ordered()

    # -- collection --------------------------------------------------------------------
    def collect(
        self,
        data: Any,
        *,
        batch_size: int = 1024,
        max_samples: int | None = None,
        random_state: Any = 0,
        progress_bar: bool = True,
    ) -> OrderedDict[str, torch.Tensor]:
        """Run ``data`` through the model and return every probed layer's activations.

        The model runs in eval mode under ``torch.no_grad()`` on its own device; its
        training flags and the torch RNG state are restored afterwards. Activations are
        moved to the CPU as float32 batch by batch, so GPU memory stays bounded.

        Parameters
        ----------
        data : torch.utils.data.DataLoader, torch.Tensor, numpy.ndarray or (x, y) tuple
            Inputs (first axis = samples). A DataLoader may yield tensors or
            ``(x, y, ...)`` batches; ``y`` is kept in :attr:`targets`.
        batch_size : int
            Rows per forward pass for tensor/array input.
        max_samples : int or None
            Keep at most this many rows, a seeded uniform subsample (for an iterable
            dataset of unknown length, the first ``max_samples`` rows).
        random_state : int, numpy Generator or None
            Seed of the subsample (numpy; the torch RNG is not touched).
        progress_bar : bool
            Draw a progress bar on stderr (via ``mi_probe._progress.progress``).

        Returns
        -------
        OrderedDict of str to torch.Tensor
            ``{layer: (n, features)}`` float32 CPU tensors, in the order of :attr:`layers`.

        Raises
        ------
        ValueError
            Bad ``batch_size``/``max_samples``/``random_state``, or ``data`` of an
            unsupported kind or with no rows.
        """
        batch_size = check_int(batch_size, "batch_size", low=1)
        if max_samples is not None:
            max_samples = check_int(max_samples, "max_samples", low=1)
        rng = check_random_state(random_state, "random_state")
        batches, total, n_rows = self._batches(data, batch_size, max_samples, rng)

        model = self.model
        device = model_device(model)
        fdtype = _model_float_dtype(model)
        modes = [(m, m.training) for m in model.modules()]
        cpu_rng = torch.get_rng_state()
        cuda_rng = (
            torch.cuda.get_rng_state_all()
            if torch.cuda.is_available() and torch.cuda.is_initialized()
            else None
        )
        was_attached = self.attached
        self.clear()
        self._to_cpu = True
        targets: list[torch.Tensor] = []
        kept: list[np.ndarray] = []
        try:
            self.attach()
            model.eval()
            with torch.no_grad():
                for xb, yb, pos in progress(
                    batches, total=total, desc="collect", enabled=progress_bar
                ):
                    if xb is None:
                        continue
                    xb = xb.to(device=device, dtype=fdtype if xb.dtype.is_floating_point else None)
                    model(xb)
                    if yb is not None:
                        targets.append(yb.detach().cpu())
                    kept.append(pos)
        finally:
            self._to_cpu = False
            if not was_attached:
                self.remove()
            for m, flag in modes:
                m.training = flag
            torch.set_rng_state(cpu_rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state_all(cuda_rng)
        if not kept:
            raise ValueError("data has no rows")
        self.indices = np.concatenate(kept)
        self.targets = torch.cat(targets) if targets and len(targets) == len(kept) else None
        result = self._ordered()
        self.clear()
        return result

    def _batches(
        self, data: Any, batch_size: int, max_samples: int | None, rng: np.random.Generator
    ) -> tuple[Iterable[tuple[Any, Any, np.ndarray]], int | None, int | None]:
        loader_cls = torch.utils.data.DataLoader
        if isinstance(data, loader_cls):
            return self._loader_batches(data, max_samples, rng)
        x, y = data, None
        if isinstance(data, tuple):
            if len(data) != 2:
                raise ValueError(f"data as a tuple must be (x, y), got {len(data)} elements")
            x, y = data
        xt = _to_tensor(x, "data")
        yt = _to_tensor(y, "data (labels)") if y is not None else None
        if xt.dim() == 0 or xt.shape[0] == 0:
            raise ValueError("data has no rows")
        n = xt.shape[0]
        if yt is not None:
            check_same_samples(n, yt.shape[0], "data x", "y")
        idx = subsample_index(n, max_samples, rng)
        starts = range(0, idx.size, batch_size)

        def gen() -> Iterator[tuple[Any, Any, np.ndarray]]:
            for s in starts:
                sel = idx[s : s + batch_size]
                ti = torch.as_tensor(sel)
                yield xt[ti], (yt[ti] if yt is not None else None), sel

        return gen(), len(starts), idx.size

    def _loader_batches(
        self, loader: Any, max_samples: int | None, rng: np.random.Generator
    ) -> tuple[Iterable[tuple[Any, Any, np.ndarray]], int | None, int | None]:
        try:
            n: int | None = len(loader.dataset)
        except TypeError:
            n = None
        try:
            total: int | None = len(loader)
        except TypeError:
            total = None
        keep: np.ndarray | None = None
        if max_samples is not None and n is not None and max_samples < n:
            keep = np.zeros(n, dtype=bool)
            keep[rng.choice(n, size=max_samples, replace=False)] = True

        def gen() -> Iterator[tuple[Any, Any, np.ndarray]]:
            pos = 0
            for batch in loader:
                if isinstance(batch, (tuple, list)):
                    if not batch:
                        raise ValueError("data yielded an empty batch")
                    xb, yb = batch[0], (batch[1] if len(batch) > 1 else None)
                elif is_tensor(batch):
                    xb, yb = batch, None
                else:
                    raise ValueError(
                        "data (a DataLoader) must yield tensors or (x, y, ...) tuples, "
                        f"got {type(batch).__name__}"
                    )
                xb = _to_tensor(xb, "data")
                yb = (
                    _to_tensor(yb, "data (labels)")
                    if yb is not None and (is_tensor(yb) or isinstance(yb, np.ndarray))
                    else None
                )
                m = xb.shape[0]
                positions = np.arange(pos, pos + m)
                pos += m
                if keep is not None:
                    mask = keep[positions[positions < keep.size]]
                    mask = np.concatenate([mask, np.zeros(m - mask.size, dtype=bool)])
                elif max_samples is not None:
                    mask = positions < max_samples
                else:
                    mask = np.ones(m, dtype=bool)
                if not mask.any():
                    if max_samples is not None and keep is None and pos >= max_samples:
                        return
                    yield None, None, positions[:0]
                    continue
                tm = torch.as_tensor(mask)
                yield xb[tm], (yb[tm] if yb is not None else None), positions[mask]

        return gen(), total, n


def _to_tensor(a: Any, name: str) -> torch.Tensor:
    if is_tensor(a):
        return a
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must be a DataLoader, a tensor, an array or an (x, y) tuple, "
            f"got {type(a).__name__} of dtype {arr.dtype}"
        )
    return torch.from_numpy(np.ascontiguousarray(arr))


def attach(model: nn.Module, layers: LayerSpec | Sequence[LayerSpec] = "all") -> Probe:
    """Attach forward hooks to ``model`` and return the :class:`Probe`.

    Parameters
    ----------
    model : torch.nn.Module
        Any PyTorch model (a freshly built one or one loaded from a state_dict).
    layers : str, nn.Module, module type, or a sequence of them
        Dotted names (``"features.3"``), module objects, module types (``nn.Linear``),
        or ``"all"`` leaf modules.

    Returns
    -------
    Probe
        Already attached; use it as a context manager (hooks removed on exit, also on
        exceptions) or call :meth:`Probe.remove`. :meth:`Probe.collect` runs data
        through the model and returns ``{layer: (n, features) float32 tensor}``.

    Raises
    ------
    ValueError
        ``model`` is not a Module, or a layer is unknown (the valid names are listed).

    Examples
    --------
    >>> import torch, mi_probe
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())
    >>> with mi_probe.attach(net, layers=torch.nn.Tanh) as probe:
    ...     acts = probe.collect(torch.randn(100, 3), progress_bar=False)
    >>> tuple(acts["1"].shape)
    (100, 4)
    """
    return Probe(model, layers).attach()
