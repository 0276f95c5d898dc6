"""Forward hooks on any ``torch.nn.Module`` and activation collection.

One hook per probed layer stores a detached, flattened *copy* of the layer's output
(so an in-place ReLU later in the network cannot overwrite it), the way captum's
``_forward_layer_eval`` does; hooks are removed in ``finally`` blocks so none
survives an exception. Probing never changes the model: weights, ``training`` flags,
``requires_grad`` and the torch RNG state are the same afterwards.
"""

from __future__ import annotations

import contextlib
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

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
from ._reduce import ProbeOptions, Reducer

__all__ = ["Probe", "attach", "resolve_layers", "model_device", "INPUT_SUFFIX"]

LayerSpec = str | nn.Module | type

#: a layer name ending in this probes the module's input (a forward pre-hook)
INPUT_SUFFIX = ":input"


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


def _close_names(model: nn.Module, name: str) -> str:
    """``"did you mean 'a', 'b'? "`` for module names close to ``name`` ("" if none).

    A large model's first 40 names (all the listing shows) rarely hold the one meant.
    """
    import difflib

    names = [n for n, _ in model.named_modules() if n]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    return f"did you mean {', '.join(map(repr, close))}? " if close else ""


def resolve_layers(model: nn.Module, layers: LayerSpec | Sequence[LayerSpec] = "all") -> list[str]:
    """Turn a layer specification into dotted module names, in the order given.

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    layers : str, nn.Module, module type, or a sequence of them
        ``"all"`` (every leaf module), dotted names (``"features.3"``), module objects
        that belong to ``model``, or module classes (``nn.Linear``: every instance, in
        definition order). A name ending in ``":input"`` (``"fc:input"``) stands for
        that module's input. Duplicates are dropped, keeping the first occurrence. A
        mapping is read as its keys.

    Returns
    -------
    list of str
        Dotted module names (``""`` is the model itself), with ``":input"`` kept.

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
        if isinstance(spec, str) and spec != INPUT_SUFFIX and spec.endswith(INPUT_SUFFIX):
            base = spec[: -len(INPUT_SUFFIX)]
            if base != "all":
                for name in resolve_layers(model, base):
                    if name + INPUT_SUFFIX not in out:
                        out.append(name + INPUT_SUFFIX)
                continue
        if isinstance(spec, str):
            if spec == "all":
                leaves = [n for n, m in named if n and not any(True for _ in m.children())]
                found = leaves or [""]
            else:
                try:
                    model.get_submodule(spec)
                except AttributeError:
                    raise ValueError(
                        f"layers: unknown layer {spec!r}; {_close_names(model, spec)}"
                        f"valid names: {_valid_names(model)}"
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
    """Forward hooks that record layer outputs (or inputs) of a model, reduced on the fly.

    Create one with :func:`attach`. Used as a context manager, the hooks are removed on
    exit, also when the body raises.

    Parameters
    ----------
    model : torch.nn.Module
        The network to observe; it is never modified.
    layers : str, nn.Module, module type, a sequence of them, or a mapping
        See :func:`resolve_layers`. Default ``"all"`` leaf modules. A name ending in
        ``":input"`` records the module's input instead of its output. A mapping
        ``{layer: {option: value}}`` sets options per layer (they override the keyword
        defaults below), e.g. ``{"conv1": {"pool": "mean"}, "fc": {"where": "input",
        "project": 256}}``.
    where : {"output", "input"}
        Default for every layer: the module's output (forward hook) or its first
        positional input (forward pre-hook), stored under ``"name:input"``.
    pool : {"flatten", "mean", "max"}
        Default pooling of outputs with positions ``(batch, channels, *positions)``:
        keep every feature, or average / take the max over positions.
    channel_dim : int
        Channel axis for pooling (1 for convolutions, -1 for ``(batch, tokens, dim)``).
    project : int, optional
        Seeded Gaussian random projection (Johnson-Lindenstrauss) to ``project`` dims,
        applied per batch after pooling (layers no wider are kept as they are).
    pca : int, optional
        Principal-component coordinates in ``pca`` dims, per batch after pooling.
    pca_fit : {"first", "incremental"}
        Fit the principal axes on the first batch, or update them with every batch.
    random_state : int
        Seed of the projection matrix / randomized SVD (recorded in :attr:`reductions`).

    Attributes
    ----------
    model : torch.nn.Module
    layers : list of str
        The resolved probe names (dotted module names, ``":input"`` for inputs), in order.
    options : dict of str to ProbeOptions
        Per probe name, what it records and how it reduces it.
    reductions : dict of str to dict
        Per activation key, what was done to it (see
        :meth:`mi_probe.probes._reduce.Reducer.describe`): widths before and after,
        method, ``k`` and the seed. Filled by :meth:`collect`.
    missing : list of str
        Probe names that produced no output in the last :meth:`collect` (their module
        never ran in the forward pass).
    targets : torch.Tensor or None
        Labels seen by the last :meth:`collect` (from ``(x, y)`` data), else None.
    indices : numpy.ndarray or None
        Positions of the rows kept by the last :meth:`collect` (after subsampling).

    Raises
    ------
    ValueError
        Unknown layers or options, both ``project`` and ``pca``.

    Notes
    -----
    Each hook stores a detached copy of the output reshaped to ``(batch, features)``
    (after the probe's reduction, computed on the model's device, one batch at a time:
    memory is ``n x k`` per layer, never ``n x width``). A tuple/list/dict output is
    stored per tensor element under ``"name[i]"`` / ``"name[key]"``. A module called
    more than once in one forward pass is stored per call as ``"name:1"``,
    ``"name:2"``, ...; :meth:`collect` refuses a module called a varying number of
    times across batches (its rows could not be aligned with the inputs).

    Examples
    --------
    >>> import torch, mi_probe
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> with mi_probe.attach(net, layers=["1", "2"]) as probe:
    ...     _ = net(torch.randn(5, 3))
    >>> {k: tuple(v.shape) for k, v in probe.activations.items()}
    {'1': (5, 4), '2': (5, 2)}
    >>> conv = torch.nn.Sequential(torch.nn.Conv1d(1, 8, 3, padding=1), torch.nn.ReLU())
    >>> probe = mi_probe.attach(conv, layers={"0": {"pool": "mean"}, "1": {"project": 16}})
    >>> acts = probe.collect(torch.randn(20, 1, 64), progress_bar=False)
    >>> probe.remove()
    >>> {k: tuple(v.shape) for k, v in acts.items()}
    {'0': (20, 8), '1': (20, 16)}
    """

    def __init__(
        self,
        model: nn.Module,
        layers: LayerSpec | Sequence[LayerSpec] | Mapping[Any, Mapping[str, Any]] = "all",
        *,
        where: str = "output",
        pool: str = "flatten",
        channel_dim: int = 1,
        project: int | None = None,
        pca: int | None = None,
        pca_fit: str = "first",
        random_state: int = 0,
    ) -> None:
        self.model = model
        base = ProbeOptions(
            where=where,
            pool=pool,
            channel_dim=channel_dim,
            project=project,
            pca=pca,
            pca_fit=pca_fit,
            random_state=random_state,
        ).checked()
        self.layers: list[str] = []
        self.options: dict[str, ProbeOptions] = {}
        self._module_of: dict[str, str] = {}
        items: list[tuple[Any, Any]]
        if isinstance(layers, Mapping):
            items = list(layers.items())
        else:
            items = [(spec, None) for spec in resolve_layers(model, layers)]
        for spec, opts in items:
            if opts is not None and not isinstance(opts, Mapping):
                raise ValueError(
                    f"layers[{spec!r}] must be a mapping of probe options, got {opts!r}"
                )
            opt = base.updated(opts) if opts else base
            for name in resolve_layers(model, spec):
                module_name = name
                if name.endswith(INPUT_SUFFIX):
                    module_name = name[: -len(INPUT_SUFFIX)]
                    opt = opt.updated({"where": "input"})
                elif opt.where == "input":
                    name = name + INPUT_SUFFIX
                if name in self.options:
                    continue
                self.layers.append(name)
                self.options[name] = opt
                self._module_of[name] = module_name
        self._handles: list[Any] = []
        self._pending: dict[str, list[Any]] = {}
        self._store: OrderedDict[str, list[torch.Tensor]] = OrderedDict()
        self._key_layer: dict[str, str] = {}
        self._reducers: dict[str, Reducer] = {}
        self._calls: dict[str, list[int]] = {}
        self._n_forwards = 0
        self._to_cpu = False
        self.reductions: dict[str, dict[str, Any]] = {}
        self.missing: list[str] = []
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

    def _make_pre_hook(self, name: str):
        def pre_hook(module: nn.Module, inputs: Any) -> None:
            value = inputs[0] if isinstance(inputs, tuple) and len(inputs) == 1 else inputs
            self._pending.setdefault(name, []).append(self._snapshot(value, name))

        return pre_hook

    def _reducer(self, key: str, name: str) -> Reducer:
        red = self._reducers.get(key)
        if red is None:
            red = self._reducers[key] = Reducer(self.options[name], key)
        return red

    def _snapshot(self, output: Any, name: str) -> list[tuple[str, torch.Tensor]]:
        pairs = []
        n_call = len(self._pending.get(name, ())) + 1
        for key, t in _flatten_output(output, name):
            t = t.detach()
            # one reducer per key and call, so a module called twice keeps two states
            red = self._reducer(f"{key}#{n_call}", name)
            reduced = red(t)
            if self._to_cpu:
                dtype = (
                    torch.float32
                    if (reduced.dtype.is_floating_point or reduced.dtype == torch.bool)
                    else reduced.dtype
                )
                reduced = reduced.to(device="cpu", dtype=dtype, copy=True)
            else:
                reduced = reduced.clone()
            red.keep(reduced)
            pairs.append((key, reduced))
        return pairs

    def _reset_pending(self, *_: Any) -> None:
        self._pending = {}

    def _commit(self, *_: Any) -> None:
        """Move one forward pass's outputs into the store, naming repeated calls."""
        pending, self._pending = self._pending, {}
        self._n_forwards += 1
        for name in self.layers:
            calls = pending.get(name)
            self._calls.setdefault(name, []).append(len(calls) if calls else 0)
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
                module = self.model.get_submodule(self._module_of[name])
                if self.options[name].where == "input":
                    handles.append(module.register_forward_pre_hook(self._make_pre_hook(name)))
                else:
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
        with contextlib.suppress(Exception):
            self.remove()

    # -- stored activations ------------------------------------------------------------
    def clear(self) -> None:
        """Forget the stored activations (and the reductions' fitted state)."""
        self._store = OrderedDict()
        self._pending = {}
        self._key_layer = {}
        self._reducers = {}
        self._calls = {}
        self._n_forwards = 0

    def _ordered(self) -> OrderedDict[str, torch.Tensor]:
        if self._pending:  # a submodule called directly, outside the model's forward
            self._commit()
        out: OrderedDict[str, torch.Tensor] = OrderedDict()

        for name in self.layers:
            for key, chunks in self._store.items():
                if self._key_layer.get(key) == name and key not in out:
                    out[key] = chunks[0] if len(chunks) == 1 else torch.cat(chunks, dim=0)
        return out

    def _describe_reductions(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for rkey, red in self._reducers.items():
            key, n_call = rkey.rsplit("#", 1)
            name = self._key_layer_of_raw(key)
            calls = self._calls.get(name, [])
            if calls and max(calls) > 1:
                key = f"{name}:{n_call}" + key[len(name) :]
            out[key] = red.describe()
        return out

    def _key_layer_of_raw(self, key: str) -> str:
        for name in self.layers:
            if key == name or key.startswith(name + "["):
                return name
        return key

    def _check_alignment(self, n_rows: int) -> None:
        """Refuse keys whose rows cannot be matched to the inputs; note silent layers."""
        self.missing = [name for name in self.layers if not any(self._calls.get(name, []))]
        for name in self.layers:
            calls = self._calls.get(name, [])
            if calls and any(calls) and min(calls) != max(calls):
                raise ValueError(
                    f"layer {name!r} was called a varying number of times per forward pass "
                    f"({min(calls)} to {max(calls)} calls in {len(calls)} batches of the same "
                    "data), so its outputs cannot be aligned with the inputs; probe a module "
                    "that runs a fixed number of times per forward (or its parent)"
                )
        for key, chunks in self._store.items():
            rows = sum(int(c.shape[0]) for c in chunks)
            if rows != n_rows:
                raise ValueError(
                    f"layer {self._key_layer.get(key, key)!r} (key {key!r}) gave {rows} rows for "
                    f"{n_rows} inputs: its first axis is not the batch (e.g. a sequence-first "
                    "transformer, or a scalar output), so rows cannot be aligned with the inputs"
                )
        if self.missing:
            warnings.warn(
                "layers "
                + ", ".join(repr(m) for m in self.missing)
                + " produced no output: the module was never called in the forward pass "
                "(e.g. MultiheadAttention uses out_proj's weights without calling it); "
                "probe a module that runs, or its parent",
                RuntimeWarning,
                stacklevel=3,
            )

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
        training flags and the torch RNG state are restored afterwards. Each batch is
        reduced as the probe's options say on the model's device and moved to the CPU
        as float32, so memory stays ``n x k`` per layer.

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
            ``{key: (n, features)}`` float32 CPU tensors, in the order of :attr:`layers`.
            :attr:`reductions` says what was done to each key.

        Raises
        ------
        ValueError
            Bad ``batch_size``/``max_samples``/``random_state``, ``data`` of an
            unsupported kind or with no rows, or a layer whose rows cannot be aligned
            with the inputs (called a varying number of times per batch, or an output
            whose first axis is not the batch).

        Warns
        -----
        RuntimeWarning
            A probed layer never ran (it is listed in :attr:`missing`).
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
            for red in self._reducers.values():
                red.release()
        if not kept:
            raise ValueError("data has no rows")
        self.indices = np.concatenate(kept)
        self.targets = torch.cat(targets) if targets and len(targets) == len(kept) else None
        try:
            self._check_alignment(int(self.indices.size))
            self.reductions = self._describe_reductions()
            result = self._ordered()
        finally:
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


def attach(
    model: nn.Module,
    layers: LayerSpec | Sequence[LayerSpec] | Mapping[Any, Mapping[str, Any]] = "all",
    **options: Any,
) -> Probe:
    """Attach forward hooks to ``model`` and return the :class:`Probe`.

    Parameters
    ----------
    model : torch.nn.Module
        Any PyTorch model (a freshly built one or one loaded from a state_dict).
    layers : str, nn.Module, module type, a sequence of them, or a mapping
        Dotted names (``"features.3"``; ``"fc:input"`` for a module's input), module
        objects, module types (``nn.Linear``), or ``"all"`` leaf modules; a mapping
        ``{layer: {option: value}}`` sets probe options per layer.
    **options
        Probe options for every layer: ``where``, ``pool``, ``channel_dim``,
        ``project``, ``pca``, ``pca_fit``, ``random_state`` (see :class:`Probe`).

    Returns
    -------
    Probe
        Already attached; use it as a context manager (hooks removed on exit, also on
        exceptions) or call :meth:`Probe.remove`. :meth:`Probe.collect` runs data
        through the model and returns ``{layer: (n, features) float32 tensor}``.

    Raises
    ------
    ValueError
        ``model`` is not a Module, a layer is unknown (the valid names are listed), or
        an option is unknown or invalid.

    Examples
    --------
    >>> import torch, mi_probe
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())
    >>> with mi_probe.attach(net, layers=torch.nn.Tanh) as probe:
    ...     acts = probe.collect(torch.randn(100, 3), progress_bar=False)
    >>> tuple(acts["1"].shape)
    (100, 4)
    """
    valid = ("where", "pool", "channel_dim", "project", "pca", "pca_fit", "random_state")
    bad = sorted(set(options) - set(valid))
    if bad:
        raise ValueError(
            f"unknown probe option {', '.join(map(repr, bad))}; valid: {', '.join(valid)}"
        )
    return Probe(model, layers, **options).attach()
