"""Checkpoint x layer sweeps of the information plane, locally or on a Ray cluster.

A study of a real network measures ``I(X;T)`` and ``I(T;Y)`` for many layers of many
saved checkpoints (50 layers x 100 checkpoints x two quantities is 10^4 estimates).
:func:`sweep` runs one *task per checkpoint*: build a fresh model with ``model_fn()``,
load the checkpoint's ``state_dict`` (``torch.load(..., weights_only=True)``), collect
the probed layers in one pass over the probe set, and estimate each layer with the
same per-layer code as :class:`~mi_probe.analysis.information_plane.InformationPlaneRecorder`.

``executor="local"`` runs the tasks one after the other in this process (no extra
dependency); ``executor="ray"`` submits them to Ray (``pip install 'mi-probe[distributed]'``),
each task loading its own weights (and, with a data factory, its own data) so
activations never cross the network.

Nothing is lost: with ``out=`` every finished ``(checkpoint, layer)`` is written to its
own small JSON file (written to a temporary name and renamed, so a crash mid-write
leaves no half row); rerunning the same sweep skips what is done. A checkpoint whose
task keeps failing (after ``max_retries`` retries) appears in the result as rows with
NaN values and its error message in the ``error`` column.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._deps import require
from .._progress import progress
from .._validation import (
    check_choice,
    check_int,
    check_labels,
    check_out_dir,
    check_same_samples,
    encode_rows,
    is_tensor,
)
from .information_plane import (
    _FAST,
    COLUMNS,
    _check_estimators,
    _check_params,
    _layer_rows,
    _regime,
    _symbols_of,
    _tidy,
    binned_plane,
    kde_plane,
    save_plane,
)

__all__ = ["sweep", "SWEEP_COLUMNS"]

#: columns of the sweep table after the recorder's ``COLUMNS``
SWEEP_COLUMNS = ("checkpoint", "n_samples", "dim", "seconds", "error")
_ERROR_CHARS = 2000


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Prepared:
    """The probe set of one sweep: inputs, labels, and their symbols."""

    x: Any  # torch.Tensor, (n, ...)
    y: np.ndarray  # int64, (n,)
    x_symbols: np.ndarray
    y_symbols: np.ndarray


def _is_loader(obj: Any) -> bool:
    try:
        import torch

        return isinstance(obj, torch.utils.data.DataLoader)
    except ImportError:  # pragma: no cover - torch is a dependency
        return False


def _materialize(data: Any) -> tuple[Any, Any]:
    """``(x, y)`` from an ``(x, y)`` pair or a DataLoader yielding ``(x, y, ...)`` batches."""
    import torch

    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"data as a tuple must be (x, y), got {len(data)} elements")
        return data[0], data[1]
    if _is_loader(data):
        xs, ys = [], []
        for batch in data:
            if not isinstance(batch, (tuple, list)) or len(batch) < 2:
                raise ValueError(
                    "data (a DataLoader) must yield (x, y, ...) batches with class labels y, "
                    f"got {type(batch).__name__}"
                )
            xs.append(torch.as_tensor(batch[0]))
            ys.append(torch.as_tensor(batch[1]))
        if not xs:
            raise ValueError("data (a DataLoader) yielded no batches")
        return torch.cat(xs), torch.cat(ys)
    raise ValueError(
        "data must be an (x, y) pair of tensors/arrays, a DataLoader yielding (x, y) batches, "
        f"or a function returning one of them; got {type(data).__name__}"
    )


def _prepare(data: Any) -> _Prepared:
    """Check the probe set and compute the symbols of its inputs and labels."""
    import torch

    if isinstance(data, _Prepared):
        arrays = (data.y, data.x_symbols, data.y_symbols)
        if all(a.flags.writeable for a in arrays):
            return data
        # zero-copy views from Ray's object store are read-only; torch warns on those
        return _Prepared(data.x, *(np.array(a) for a in arrays))
    if callable(data) and not _is_loader(data):
        try:
            data = data()
        except Exception as exc:  # the user's factory: its error in one line, cause chained
            raise ValueError(f"data() failed: {_first_line(exc)}") from exc
        if callable(data) and not _is_loader(data):
            raise ValueError("data() must return (x, y) or a DataLoader, got another function")
    x, y = _materialize(data)
    if not is_tensor(x):
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise ValueError(f"data x has dtype {x.dtype}; expected a numeric array")
    xt = x if is_tensor(x) else torch.as_tensor(x)
    if xt.dim() == 0 or xt.shape[0] == 0:
        raise ValueError("data has no rows")
    ylab = check_labels(y, "data labels y")
    if ylab.shape[1] != 1:
        raise ValueError(
            f"data labels y must be one column of class labels, got shape {ylab.shape}"
        )
    ylab = ylab[:, 0]
    check_same_samples(xt.shape[0], ylab.shape[0], "data x", "y")
    x_symbols, _ = _symbols_of(xt, "data x")
    y_symbols, _ = encode_rows(ylab.reshape(-1, 1))
    return _Prepared(xt, ylab, x_symbols, y_symbols)


def _first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` of a user function's exception."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _digest(prep: _Prepared | None, factory: Any) -> str:
    """The probe set's identity: a hash of ``x`` and ``y``, or (when only Ray workers load
    it) of the data factory's code, defaults and captured values."""
    if prep is None:
        return _callable_identity(factory)
    h = hashlib.sha1()
    x = prep.x.detach().cpu().contiguous().numpy()
    h.update(str((x.shape, x.dtype.str)).encode())
    h.update(x.tobytes())
    h.update(np.ascontiguousarray(prep.y).tobytes())
    return "sha1:" + h.hexdigest()


def _code_digest(h: Any, code: Any) -> None:
    """Feed a code object's bytecode, names and constants (nested code too) into ``h``."""
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            _code_digest(h, const)
        else:
            h.update(repr(const).encode())


def _callable_identity(fn: Any) -> str:
    """A digest of what a function computes: its code, defaults, closure and bound args.

    Used for a data factory that only Ray workers call, so that editing the factory (or
    the values it captured) does not reuse rows computed from other data.
    """
    h = hashlib.sha256()
    seen = 0
    while isinstance(fn, functools.partial) and seen < 16:
        h.update(repr((fn.args, sorted(fn.keywords.items()))).encode())
        fn = fn.func
        seen += 1
    h.update((getattr(fn, "__module__", "?") + "." + getattr(fn, "__qualname__", "?")).encode())
    code = getattr(fn, "__code__", None)
    if code is not None:
        _code_digest(h, code)
        h.update(repr(getattr(fn, "__defaults__", None)).encode())
        h.update(repr(getattr(fn, "__kwdefaults__", None)).encode())
        for cell in getattr(fn, "__closure__", None) or ():
            with contextlib.suppress(ValueError):  # an empty cell
                h.update(repr(cell.cell_contents).encode())
    return "factory:" + h.hexdigest()


def _model_identity(model: Any) -> str:
    """A digest of the model's architecture: what ``model_fn()`` builds, without weights.

    The module tree (``repr``, which shows each module's settings), each module's class
    and the code of its ``forward``, and the names, shapes and dtypes of its parameters
    and buffers. Two ``model_fn`` that build the same architecture share it (their rows
    differ only through the checkpoint); a ReLU model and a tanh model do not.
    """
    h = hashlib.sha256()
    h.update(repr(model).encode())
    for name, module in model.named_modules():
        cls = type(module)
        h.update(f"{name}:{cls.__module__}.{cls.__qualname__}".encode())
        forward = getattr(cls, "forward", None)
        code = getattr(forward, "__code__", None)
        if code is not None:
            _code_digest(h, code)
    for key, value in model.state_dict().items():
        h.update(f"{key}:{tuple(value.shape)}:{value.dtype}".encode())
    return "sha256:" + h.hexdigest()


def _file_digest(path: str) -> str:
    """SHA-256 of a file's contents (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def _checkpoint_digest(path: str) -> str | None:
    """The checkpoint's content digest, or None where this process cannot read it."""
    try:
        return _file_digest(path)
    except OSError:
        return None


# --------------------------------------------------------------------------------------
# the row store (one small JSON file per finished (checkpoint, layer))
# --------------------------------------------------------------------------------------
class _RowStore:
    """Finished rows under ``out/rows/``, one file per (settings, checkpoint, layer).

    The file name is keyed on the settings (estimators, their parameters, the probe
    set), the checkpoint's path and the layer; the file records what produced its rows
    (the model's identity and the checkpoint's content digest), and :meth:`load` returns
    them only when both still match, otherwise the reason they do not.
    """

    def __init__(self, out: str | os.PathLike[str], fingerprint: str, model: str) -> None:
        self.root = Path(out)
        self.dir = self.root / "rows"
        self.fingerprint = fingerprint
        self.model = model

    def path(self, checkpoint: str, layer: str) -> Path:
        key = json.dumps([self.fingerprint, checkpoint, layer])
        return self.dir / (hashlib.sha1(key.encode()).hexdigest()[:24] + ".json")

    def lookup(
        self, checkpoint: str, layer: str, digest: str | None
    ) -> tuple[list[dict[str, Any]] | None, str | None]:
        """``(rows, None)`` when valid; ``(None, why)`` when stale; ``(None, None)`` if absent.

        ``digest`` is the checkpoint's content digest now (None: unknown here, so no
        stored row can be trusted).
        """
        p = self.path(checkpoint, layer)
        try:
            payload = json.loads(p.read_text())
        except (OSError, ValueError):
            return None, None
        if (
            not isinstance(payload, dict)
            or payload.get("fingerprint") != self.fingerprint
            or payload.get("checkpoint") != checkpoint
            or payload.get("layer") != layer
        ):
            return None, None
        if digest is None:
            return None, None
        old = payload.get("checkpoint_digest")
        if old != digest:
            return None, (
                f"the checkpoint's contents changed since they were computed "
                f"({str(old)[:19]}... -> {digest[:19]}...)"
            )
        if payload.get("model") != self.model:
            return None, "model_fn builds a different model than the one that produced them"
        return list(payload["rows"]), None

    def load(self, checkpoint: str, layer: str, digest: str | None) -> list[dict[str, Any]] | None:
        return self.lookup(checkpoint, layer, digest)[0]

    def write(self, checkpoint: str, layer: str, rows: list[dict[str, Any]], digest: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        final = self.path(checkpoint, layer)
        tmp = final.with_name(f".{final.stem}.{uuid.uuid4().hex}.tmp")
        payload = {
            "fingerprint": self.fingerprint,
            "checkpoint": checkpoint,
            "layer": layer,
            "checkpoint_digest": digest,
            "model": self.model,
            "rows": rows,
        }
        with open(tmp, "w") as f:
            json.dump(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)  # atomic: the row file is either absent or complete


# --------------------------------------------------------------------------------------
# one task = one checkpoint
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Job:
    model_fn: Callable[[], Any]
    checkpoint: str
    epoch: float
    layers: tuple[str, ...]
    estimators: tuple[tuple[str, Any], ...]
    params: Mapping[str, Mapping[str, Any]]
    device: str | None
    batch_size: int
    out: str | None
    fingerprint: str
    model: str = ""
    digest: str | None = None  # the checkpoint's content digest as the driver read it
    done: frozenset = field(default_factory=frozenset)


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text[:_ERROR_CHARS]


def _error_rows(job: _Job, layers: Sequence[str], error: str) -> list[dict[str, Any]]:
    nan = float("nan")
    return [
        {
            "layer": layer,
            "estimator": name,
            "I_XT": nan,
            "I_TY": nan,
            "regime": _regime(name, job.params.get(name, {})),
            "n_samples": nan,
            "dim": nan,
            "seconds": nan,
            "epoch": job.epoch,
            "checkpoint": job.checkpoint,
            "error": error,
        }
        for layer in layers
        for name, _ in job.estimators
    ]


def _keys_of(layer: str, keys: Sequence[str]) -> list[str]:
    """Activation keys that belong to ``layer`` (``layer``, ``layer[i]``, ``layer:k``)."""
    return [k for k in keys if k == layer or k.startswith(layer + "[") or k.startswith(layer + ":")]


def _load_state(path: str) -> Mapping[str, Any]:
    from .._safe_load import torch_load_safe

    # read with weights_only=True; the error gives the cause, never torch's advice to
    # load with weights_only=False
    state = torch_load_safe(path, "checkpoint")
    if not isinstance(state, Mapping):
        raise ValueError(
            f"checkpoint {path!r} holds a {type(state).__name__}, not a state_dict "
            "(save checkpoints with torch.save(model.state_dict(), path))"
        )
    return state


def _run_checkpoint(job: _Job, data: Any) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """Run one checkpoint: its content digest and ``{layer: rows}`` of every layer not done.

    Rows already stored for this checkpoint's current contents and this model are
    returned as they are; the other layers are computed. A layer whose estimation fails
    gets error rows (the other layers are kept); loading the model, the checkpoint or
    the data raises, so that the executor can retry the whole task.
    """
    import torch

    from ..probes import Probe

    store = _RowStore(job.out, job.fingerprint, job.model) if job.out is not None else None
    # what this task loads; stored rows are keyed on it (no store: nothing to key)
    digest = _file_digest(job.checkpoint) if store is not None else ""
    out: dict[str, list[dict[str, Any]]] = {}
    todo = []
    for layer in job.layers:
        if layer in job.done:
            continue
        stored = store.load(job.checkpoint, layer, digest) if store is not None else None
        if stored is not None:
            out[layer] = stored
        else:
            todo.append(layer)
    if not todo:
        return digest, out
    if job.device is not None:
        device = torch.device(job.device)
    else:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    prep = _prepare(data)
    model = job.model_fn()
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model_fn() must return a torch.nn.Module, got {type(model).__name__}")
    model.load_state_dict(_load_state(job.checkpoint))
    model.to(device)
    try:
        acts = Probe(model, todo).collect(prep.x, batch_size=job.batch_size, progress_bar=False)
        est = list(job.estimators)
        for layer in todo:
            keys = _keys_of(layer, list(acts))
            if not keys:
                text = f"layer {layer!r} produced no output in the forward pass"
                out[layer] = _error_rows(job, [layer], text)
                continue
            try:
                new = _layer_rows(
                    {k: acts[k] for k in keys},
                    prep.x,
                    prep.y,
                    prep.x_symbols,
                    prep.y_symbols,
                    est,
                    job.params,
                    device,
                )
            except Exception as exc:  # one bad layer (e.g. NaN activations) spares the others
                out[layer] = _error_rows(job, [layer], _error_text(exc))
                continue
            for r in new:
                r.update(epoch=job.epoch, checkpoint=job.checkpoint, error=None)
            if store is not None:
                # a worker that cannot reach out=: the driver writes the rows
                with contextlib.suppress(OSError):
                    store.write(job.checkpoint, layer, new, digest)
            out[layer] = new
            for k in keys:
                del acts[k]
    finally:
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return digest, out


# --------------------------------------------------------------------------------------
# executors: both yield (job, {layer: rows} or None, exception or None) as tasks finish
# --------------------------------------------------------------------------------------
_Outcome = tuple[_Job, "tuple[str, dict[str, list[dict[str, Any]]]] | None", "BaseException | None"]


def _run_local(jobs: Sequence[_Job], data: Any, max_retries: int) -> Iterator[_Outcome]:
    for job in jobs:
        error: BaseException | None = None
        for _ in range(max_retries + 1):
            try:
                result = _run_checkpoint(job, data)
            except Exception as exc:  # retried, then reported in the result
                error = exc
            else:
                error = None
                break
        yield job, (None if error is not None else result), error


def _ray_cause(exc: BaseException) -> BaseException:
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def _run_ray(
    jobs: Sequence[_Job],
    data: Any,
    *,
    num_cpus: float,
    num_gpus: float | None,
    max_retries: int,
) -> Iterator[_Outcome]:
    ray = require("ray", "executor='ray'")
    if not ray.is_initialized():
        # connects to the cluster named by RAY_ADDRESS, else starts a local one
        ray.init()
    if num_gpus is None:
        num_gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    task = ray.remote(_run_checkpoint).options(
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        max_retries=max_retries,
        retry_exceptions=True,
    )
    data_arg = ray.put(data) if isinstance(data, _Prepared) else data  # sent to each node once
    refs = {task.remote(job, data_arg): job for job in jobs}
    pending = list(refs)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            ref = ready[0]
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as exc:
                yield refs[ref], None, _ray_cause(exc)
            else:
                yield refs[ref], result, None
    finally:  # Ctrl-C or an abandoned sweep: stop what has not run yet
        for ref in pending:
            with contextlib.suppress(Exception):  # pragma: no cover - best effort
                ray.cancel(ref)


# --------------------------------------------------------------------------------------
# the sweep
# --------------------------------------------------------------------------------------
def _check_checkpoints(checkpoints: Any) -> list[tuple[str, float]]:
    if isinstance(checkpoints, (str, os.PathLike)):
        checkpoints = [checkpoints]
    if isinstance(checkpoints, Mapping):
        items = list(checkpoints.items())
        for epoch, _ in items:
            if isinstance(epoch, bool) or not isinstance(
                epoch, (int, float, np.integer, np.floating)
            ):
                raise ValueError(
                    f"checkpoints as a mapping must map epochs (numbers) to files, got key {epoch!r}"
                )
    else:
        try:
            items = list(enumerate(checkpoints))
        except TypeError:
            raise ValueError(
                "checkpoints must be a list of state_dict files or a mapping epoch -> file, "
                f"got {checkpoints!r}"
            ) from None
    if not items:
        raise ValueError("checkpoints is empty; give at least one state_dict file")
    out: list[tuple[str, float]] = []
    seen: set[str] = set()
    for epoch, path in items:
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"checkpoints entries must be file paths, got {type(path).__name__}")
        full = os.path.abspath(os.fspath(path))
        if full in seen:
            raise ValueError(f"checkpoints lists {os.fspath(path)!r} twice")
        seen.add(full)
        out.append((full, epoch.item() if isinstance(epoch, np.generic) else epoch))
    return out


def _split_params(
    estimators: list[tuple[str, Any]], estimator_params: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    from ..estimators._registry import get_estimator

    names = [n for n, _ in estimators]
    if len(estimators) == 1:
        params = {names[0]: dict(estimator_params)} if estimator_params else {}
    else:
        bad = [
            k for k, v in estimator_params.items() if k not in names or not isinstance(v, Mapping)
        ]
        if bad:
            raise ValueError(
                "with several estimators, give parameters per estimator, e.g. "
                f"kde={{'noise_variance': 0.1}}; got {', '.join(bad)}"
            )
        params = {k: dict(v) for k, v in estimator_params.items()}
    params = _check_params(params, names)
    for name, est in estimators:
        if name not in _FAST or not isinstance(est, str):
            get_estimator(est, **params.get(name, {}))  # unknown parameters raise here
        else:
            _dry_run(name, params.get(name, {}))
    return params


def _dry_run(name: str, params: Mapping[str, Any]) -> None:
    """Run ``binning`` or ``kde`` once on a tiny synthetic layer (8 rows, well under a
    millisecond), so that a bad value (``n_bins=-1``, ``noise_variance=0``) raises here,
    once, and not as error rows of every checkpoint. The layer and symbols are valid by
    construction: what raises is a parameter. The registry estimators are only built
    (unknown names raise): their values are checked when they run, and running them
    here is neither cheap (the neural bounds train) nor safe (on 8 rows a sample-size
    check would fail for a good value)."""
    t = np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32)
    x_symbols = np.arange(8)
    y_symbols = np.arange(8) % 2
    try:
        if name == "binning":
            binned_plane(t, x_symbols, y_symbols, **params)
        else:  # kde; on the CPU here: the device is the task's choice
            kde_plane(t, x_symbols, y_symbols, **{**params, "device": "cpu"})
    except (ValueError, TypeError) as exc:
        raise ValueError(f"estimator {name!r}: {exc}") from None


def sweep(
    model_fn: Callable[[], Any],
    checkpoints: Sequence[str | os.PathLike[str]] | Mapping[float, str | os.PathLike[str]],
    data: Any,
    layers: Any = "all",
    estimator: Any = "kde",
    executor: str = "local",
    out: str | os.PathLike[str] | None = None,
    *,
    device: Any = None,
    batch_size: int = 4096,
    max_retries: int = 2,
    num_cpus: float = 1,
    num_gpus: float | None = None,
    progress_bar: bool = True,
    **estimator_params: Any,
) -> Any:
    """I(X;T) and I(T;Y) of every (checkpoint, layer), locally or on Ray, resumable.

    Parameters
    ----------
    model_fn : callable
        ``model_fn()`` builds a fresh ``torch.nn.Module`` (on the CPU) into which each
        checkpoint is loaded. With ``executor="ray"`` it is pickled (cloudpickle) to the
        workers, so a lambda or a ``functools.partial`` works.
    checkpoints : list of paths, or mapping epoch -> path
        ``state_dict`` files, read with ``torch.load(path, weights_only=True)``. The
        ``epoch`` column holds the mapping's key, else the file's position in the list;
        the ``checkpoint`` column holds the absolute path.
    data : (x, y), DataLoader, or a function returning one of them
        The probe set: inputs ``x`` of shape ``(n_samples, ...)`` and integer class
        labels ``y`` of shape ``(n_samples,)`` (a DataLoader must yield ``(x, y, ...)``
        batches in a fixed order). A function (a *data factory*) is called once per
        task with ``executor="ray"``, so each worker loads its own data; otherwise
        the data is read once on the driver (and sent once to each Ray node).
    layers : see :func:`mi_probe.attach`
        Layers to probe (default ``"all"`` leaf modules), resolved once on a model
        from ``model_fn()``.
    estimator : str, MIEstimator or sequence of them
        ``"kde"`` (default, the noisy-layer estimate of Saxe et al.), ``"binning"``
        or any registry name; see :func:`~mi_probe.analysis.information_plane.information_plane`.
    executor : {"local", "ray"}
        ``"local"``: one checkpoint after the other in this process. ``"ray"``: one Ray
        task per checkpoint; uses the running cluster if ``ray.init(address=...)`` was
        called (or ``RAY_ADDRESS`` is set), else starts a local one, which stays up for
        later sweeps (``ray.shutdown()`` stops it).
    out : str or Path, optional
        Folder that keeps every finished ``(checkpoint, layer)`` as a small JSON file in
        ``out/rows/`` (written atomically); rerunning the same sweep skips them while
        the checkpoint's contents, the model, the estimators and the data are the same
        (see Notes), and recomputes them with a warning otherwise. The
        whole table is also written to ``out/sweep.csv`` at the end. With Ray on several
        nodes, ``out`` should be on storage every node sees; otherwise the driver still
        writes each checkpoint's rows when its task returns.
    device : str or torch.device, optional
        Where the model runs (and KDE computes). Default: ``"cuda"`` where the task
        sees a GPU, else ``"cpu"``.
    batch_size : int
        Rows per forward pass.
    max_retries : int
        Times a failing checkpoint task is retried (Ray retries, or a loop locally)
        before it is reported with its error.
    num_cpus, num_gpus : float
        Ray resources per task. ``num_gpus=None`` asks for one GPU per task when the
        cluster has GPUs, else none; fractions (``0.25``) share a GPU between tasks.
    progress_bar : bool
        Draw a progress bar over tasks on stderr.
    **estimator_params
        Parameters of the estimator (``noise_variance=0.1`` for KDE, ``n_bins=30`` for
        binning, ...). With several estimators, one mapping per estimator name:
        ``kde={"noise_variance": 0.1}, binning={"n_bins": 30}``.

    Returns
    -------
    pandas.DataFrame
        The recorder's tidy table, ``epoch, layer, estimator, I_XT, I_TY, train_loss,
        test_loss, regime``, then ``checkpoint, n_samples, dim, seconds, error``: one
        row per (checkpoint, layer, estimator), in the order of ``checkpoints`` and
        ``layers``; values in nats. Rows of a checkpoint or layer that failed have NaN
        values and the error message in ``error`` (None elsewhere); they are not saved
        as done, so a rerun tries them again.

    Raises
    ------
    ValueError
        A bad argument: ``model_fn`` not callable or not returning a Module, no or
        duplicate checkpoints, unknown layers, estimators or estimator parameters,
        unknown ``executor``, malformed ``data`` (or non-numeric inputs), ``out`` that
        is (or lies under) a file; ``model_fn()`` or a data factory that raised (its
        exception chained as ``__cause__``).
    ModuleNotFoundError
        ``executor="ray"`` without Ray installed (``pip install 'mi-probe[distributed]'``).

    Warns
    -----
    RuntimeWarning
        Stored rows in ``out`` that were computed from other checkpoint contents or
        another model; they are recomputed.

    Notes
    -----
    Each task builds the model, loads one checkpoint, collects all its pending layers
    in one forward pass over the probe set (:meth:`mi_probe.Probe.collect`), and
    estimates each layer with the recorder's per-layer code (fused binning / KDE), so
    a row here equals the row :class:`InformationPlaneRecorder` records for the same
    weights.

    Rows already in ``out`` are reused only for what produced them. Each row file is
    keyed on the checkpoint's absolute path, the layer, the estimators with their
    parameters, and the probe set (a hash of ``x`` and ``y``; for a data factory that
    only Ray workers call, a hash of the factory's code, defaults and captured values),
    so a sweep with other settings writes next to them without mixing. Each file also
    records the SHA-256 of the checkpoint's contents and the model's identity (module
    tree, module classes and their ``forward`` code, parameter shapes); when either
    differs now (a checkpoint overwritten in place, a ``model_fn`` that builds another
    model under the same layer names) the rows are recomputed and replaced, with a
    ``RuntimeWarning`` naming each checkpoint, layer and which of the two changed.
    Every checkpoint is read once on the driver to hash it (a checkpoint the driver
    cannot read is hashed and checked by its task).

    Examples
    --------
    >>> import torch, mi_probe
    >>> def make():
    ...     return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> paths = []
    >>> for i in range(2):
    ...     _ = torch.manual_seed(i)
    ...     paths.append(os.path.join(d, f"epoch{i}.pt"))
    ...     torch.save(make().state_dict(), paths[-1])
    >>> x = torch.randn(200, 4); y = (x[:, 0] > 0).long()
    >>> df = mi_probe.sweep(make, paths, (x, y), layers=["1", "2"], progress_bar=False)
    >>> df.shape[0], bool(df["error"].isna().all())  # 2 checkpoints x 2 layers
    (4, True)
    """
    import pandas as pd
    import torch

    from ..probes import resolve_layers

    if not callable(model_fn):
        raise ValueError(
            f"model_fn must be a function that builds the model, got {type(model_fn).__name__}"
        )
    check_choice(executor, "executor", ("local", "ray"))
    if executor == "ray":
        require("ray", "executor='ray'")
    ckpts = _check_checkpoints(checkpoints)
    est = _check_estimators(estimator)
    params = _split_params(est, estimator_params)
    batch_size = check_int(batch_size, "batch_size", low=1)
    max_retries = check_int(max_retries, "max_retries", low=0)
    for value, name in ((num_cpus, "num_cpus"), (num_gpus, "num_gpus")):
        if value is None and name == "num_gpus":
            continue
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not value >= 0
            or math.isinf(value)
        ):
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    if device is not None:
        try:
            device = str(torch.device(device))
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}"
            ) from None
    if out is not None:
        check_out_dir(out, "out")
    try:
        model = model_fn()
    except Exception as exc:  # the user's factory: its error in one line, cause chained
        raise ValueError(f"model_fn() failed: {_first_line(exc)}") from exc
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model_fn() must return a torch.nn.Module, got {type(model).__name__}")
    layer_names = tuple(resolve_layers(model, layers))
    model_id = _model_identity(model)
    del model

    factory = data if callable(data) and not _is_loader(data) else None
    prep = _prepare(data) if factory is None or executor == "local" else None
    task_data: Any = prep if prep is not None else factory
    settings = {
        "version": 2,
        "estimators": [(n, e if isinstance(e, str) else repr(e)) for n, e in est],
        "params": params,
        "data": _digest(prep, factory),
    }
    fingerprint = hashlib.sha1(
        json.dumps(settings, sort_keys=True, default=repr).encode()
    ).hexdigest()
    store = _RowStore(out, fingerprint, model_id) if out is not None else None

    saved: dict[tuple[str, str], list[dict[str, Any]]] = {}
    digests: dict[str, str | None] = {}
    stale: list[str] = []
    jobs = []
    for ck, epoch in ckpts:
        done = set()
        if store is not None:
            digests[ck] = _checkpoint_digest(ck)  # None: not readable here; the task checks
            for layer in layer_names:
                rows, why = store.lookup(ck, layer, digests[ck])
                if rows is not None:
                    saved[(ck, layer)] = rows
                    done.add(layer)
                elif why is not None:
                    stale.append(f"{ck} (layer {layer!r}): {why}")
        if len(done) < len(layer_names):
            jobs.append(
                _Job(
                    model_fn=model_fn,
                    checkpoint=ck,
                    epoch=epoch,
                    layers=layer_names,
                    estimators=tuple(est),
                    params=params,
                    device=device,
                    batch_size=batch_size,
                    out=None if out is None else os.path.abspath(os.fspath(out)),
                    fingerprint=fingerprint,
                    model=model_id,
                    digest=digests.get(ck),
                    done=frozenset(done),
                )
            )

    if stale:
        assert out is not None  # stale results are read from the store under out
        shown = "; ".join(stale[:5]) + (f"; and {len(stale) - 5} more" if len(stale) > 5 else "")
        warnings.warn(
            f"sweep: recomputing {len(stale)} stored (checkpoint, layer) results in "
            f"{os.fspath(out)!r} that no longer match what would produce them now: {shown}",
            RuntimeWarning,
            stacklevel=2,
        )

    outcomes: Iterator[_Outcome]
    if not jobs:
        outcomes = iter(())
    elif executor == "local":
        outcomes = _run_local(jobs, task_data, max_retries)
    else:
        outcomes = _run_ray(
            jobs, task_data, num_cpus=num_cpus, num_gpus=num_gpus, max_retries=max_retries
        )
    new: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for job, result, error in progress(
        outcomes, total=len(jobs), desc="sweep", enabled=progress_bar
    ):
        if error is not None:
            text = _error_text(error)
            for layer in job.layers:
                if layer not in job.done:
                    new[(job.checkpoint, layer)] = _error_rows(job, [layer], text)
            continue
        if result is None:
            continue
        digest, by_layer = result
        for layer, rows in by_layer.items():
            new[(job.checkpoint, layer)] = rows
            ok = all(r.get("error") is None for r in rows)
            if store is not None and ok and store.load(job.checkpoint, layer, digest) is None:
                store.write(job.checkpoint, layer, rows, digest)  # a worker without out= access

    table_rows: list[dict[str, Any]] = []
    for ck, _ in ckpts:
        for layer in layer_names:
            got = saved.get((ck, layer))
            if got is None:
                fresh = new.get((ck, layer))
                if fresh is not None and all(r.get("error") is None for r in fresh):
                    got = fresh
                elif store is not None:  # written by an attempt that failed later on
                    got = store.load(ck, layer, digests.get(ck))
                if got is None:
                    got = fresh or []
            table_rows.extend(got)
    df = _sweep_table(pd.DataFrame(table_rows))
    if out is not None:
        save_plane(df, Path(out) / "sweep.csv")
    return df


def _sweep_table(df: Any) -> Any:
    """Recorder columns, then the sweep's, then anything else."""
    df = _tidy(df)
    for c in SWEEP_COLUMNS:
        if c not in df.columns:
            df[c] = None if c == "error" else float("nan")
    rest = [c for c in df.columns if c not in COLUMNS and c not in SWEEP_COLUMNS]
    df = df[list(COLUMNS) + list(SWEEP_COLUMNS) + rest].copy()
    df["error"] = df["error"].astype(object).where(df["error"].notna(), None)
    return df.reset_index(drop=True)
