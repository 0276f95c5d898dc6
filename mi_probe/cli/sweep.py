"""``mi-probe sweep CONFIG.toml``: a checkpoint x layer sweep described in a TOML file.

A config (paths relative to the config file's folder)::

    model = "models.py:make_net"        # MODULE:FUNCTION or FILE.py:FUNCTION, called with no args
    data = "probe.pt"                   # .pt (dict of tensors, weights_only) or .npz with x and y
    checkpoints = ["ckpt/epoch*.pt"]    # files or glob patterns, each sorted naturally
    layers = ["1", "3"]                 # or "all" (default)
    estimator = "kde"                   # or a list, e.g. ["binning", "kde"]
    executor = "local"                  # or "ray"
    out = "sweep_out"                   # default: <config name>_out next to the config
    # optional: device, batch_size, max_retries, num_cpus, num_gpus

    [params]                            # estimator parameters
    noise_variance = 0.1

The keys may also sit under a ``[sweep]`` table; ``[model]`` and ``[data]`` may be
tables instead: ``[model] factory = "pkg.nets:make", kwargs = {width = 64}``, ``[data]
path = "probe.npz", x = "inputs", y = "labels"`` or ``[data] factory = "pkg.data:probe_set"``
(a function returning ``(x, y)`` or a DataLoader; with Ray, each worker calls it).

Exit status: 0 when every row was computed, 1 when some checkpoints failed (listed on
stderr; their rows hold the error), 2 for a bad config (one line on stderr).
"""

from __future__ import annotations

import argparse
import functools
import glob
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._common import CLIError, check_out_dir

__all__ = ["add_parser", "run", "load_config"]

_KEYS = (
    "model",
    "data",
    "checkpoints",
    "layers",
    "estimator",
    "executor",
    "out",
    "device",
    "batch_size",
    "max_retries",
    "num_cpus",
    "num_gpus",
    "params",
)


# The config format, shown by `mi-probe sweep --help` (and in the README).
CONFIG_HELP = """\
config file (TOML; paths are relative to the config file's folder):

  model = "models.py:make_net"      # MODULE:FUNCTION or FILE.py:FUNCTION, called with no args
  data = "probe.npz"                # .npz or .pt (dict of tensors) holding x and y
  checkpoints = ["ckpt/epoch*.pt"]  # files or glob patterns (state_dicts, weights_only)
  layers = ["1", "3"]               # dotted module names, or "all" (default)
  estimator = "kde"                 # or several: ["binning", "kde"]
  executor = "local"                # or "ray"
  out = "sweep_out"                 # default: <config name>_out beside the config
  # optional: device, batch_size, max_retries, num_cpus, num_gpus

  [params]                          # one estimator: its parameters directly
  noise_variance = 0.1

  # several estimators: one table per estimator instead
  # [params.kde]
  # noise_variance = 0.1
  # [params.binning]
  # n_bins = 30

  # model and data may be tables instead:
  # [model]
  # factory = "pkg.nets:make"
  # kwargs = { width = 64 }
  # [data]
  # path = "probe.npz"              # or: factory = "pkg.data:probe_set" -> (x, y) or a DataLoader
  # x = "inputs"
  # y = "labels"

All keys may also sit under a [sweep] table. Output: OUT/sweep.csv (nats), one row per
(checkpoint, layer, estimator). Exit status 0: every row computed; 1: some checkpoints
failed (listed on stderr, a rerun retries them); 2: a bad config.
"""


class ConfigError(CLIError):
    """A bad config: printed as one line, exit status 2."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` subcommand to the ``mi-probe`` subparsers; returns its parser."""
    p = subparsers.add_parser(
        "sweep",
        help="I(X;T) and I(T;Y) of every (checkpoint, layer), locally or on Ray (TOML config)",
        description=(
            "Run mi_probe.sweep from a TOML config: build the model, load each checkpoint "
            "(weights_only), probe the layers on the probe set and write one row per "
            "(checkpoint, layer, estimator) to OUT/sweep.csv. Finished rows are kept in "
            "OUT/rows, so rerunning resumes. Values in nats."
        ),
        epilog=CONFIG_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", metavar="CONFIG.toml", help="the sweep's config file")
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default=None,
        help="override the config's executor (ray: uses RAY_ADDRESS if set)",
    )
    p.add_argument("--out", default=None, help="override the config's output folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ConfigError(
                "reading a TOML config needs Python 3.11+ or the tomli package: pip install tomli"
            ) from None
    if not path.is_file():
        raise ConfigError(f"config {str(path)!r} does not exist")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def _load_function(spec: Any, base: Path, what: str) -> Callable[..., Any]:
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(
            f"{what} must look like MODULE:FUNCTION or FILE.py:FUNCTION, got {spec!r}"
        )
    mod_name, func = spec.rsplit(":", 1)
    if mod_name.endswith(".py"):
        file = (base / mod_name).resolve()
        if not file.is_file():
            raise ConfigError(f"{what}: file {str(file)!r} does not exist")
        # not registered in sys.modules, so Ray's cloudpickle sends the function by value
        module_spec = importlib.util.spec_from_file_location(f"_mi_probe_cfg_{file.stem}", file)
        module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
        try:
            module_spec.loader.exec_module(module)  # type: ignore[union-attr]
        except (Exception, SystemExit) as exc:  # sys.exit() in the file: not our exit
            raise ConfigError(
                f"{what}: running {file.name} failed: {type(exc).__name__}: {exc}"
            ) from None
    else:
        sys.path.insert(0, str(base))
        try:
            module = importlib.import_module(mod_name)
        except ImportError as exc:
            raise ConfigError(f"{what}: cannot import {mod_name!r} ({exc})") from None
        except (Exception, SystemExit) as exc:  # the module's own code failed
            raise ConfigError(
                f"{what}: importing {mod_name} failed: {type(exc).__name__}: {exc}"
            ) from None
        finally:
            sys.path.remove(str(base))
    fn = getattr(module, func, None)
    if not callable(fn):
        raise ConfigError(f"{what}: {mod_name} has no function {func!r}")
    return fn


def _table(spec: dict[str, Any], what: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """``spec`` (the config's ``[model]`` or ``[data]`` table) checked for unknown keys
    and a ``kwargs`` that is a table."""
    unknown = sorted(set(spec) - set(keys))
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} in [{what}]; valid keys: {', '.join(keys)}")
    kwargs = spec.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise ConfigError(f"{what}.kwargs must be a table, e.g. {{ width = 64 }}; got {kwargs!r}")
    return kwargs


def _natural(path: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def _checkpoints(patterns: Any, base: Path) -> list[str]:
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not patterns:
        raise ConfigError("the config has no checkpoints (a list of files or glob patterns)")
    out: list[str] = []
    for pat in patterns:
        if not isinstance(pat, str):
            raise ConfigError(f"checkpoints entries must be strings, got {pat!r}")
        full = str(base / os.path.expanduser(pat))
        found = (
            sorted(glob.glob(full), key=_natural)
            if glob.has_magic(full)
            else ([full] if os.path.isfile(full) else [])
        )
        if not found:
            raise ConfigError(f"checkpoints: {pat!r} matches no file")
        out += [f for f in found if f not in out]
    return out


def _load_data(spec: Any, base: Path) -> Any:
    if spec is None:
        raise ConfigError(
            "the config has no data (a .pt/.npz file with x and y, or [data] factory)"
        )
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"data must be a file name or a table, got {spec!r}")
    kwargs = _table(spec, "data", ("path", "x", "y", "factory", "kwargs"))
    if "factory" in spec:
        if "path" in spec:
            raise ConfigError("[data] takes path or factory, not both")
        fn = _load_function(spec["factory"], base, "data.factory")
        return functools.partial(fn, **kwargs) if kwargs else fn
    if kwargs:
        raise ConfigError("data.kwargs is for [data] factory; a data file takes none")
    if not isinstance(spec.get("path"), str) or not spec["path"].strip():
        raise ConfigError(
            f"data must name a .pt/.npz file (or [data] factory), got {spec.get('path')!r}"
        )
    path = base / spec["path"]
    for key in ("x", "y"):
        if not isinstance(spec.get(key, key), str):
            raise ConfigError(f"data.{key} must be the name of an array, got {spec[key]!r}")
    xk, yk = str(spec.get("x", "x")), str(spec.get("y", "y"))
    if not path.is_file():
        raise ConfigError(f"data file {str(path)!r} does not exist")
    if path.suffix in (".npz", ".pt", ".pth"):
        from .._safe_load import npz_load_safe, torch_load_safe

        load = npz_load_safe if path.suffix == ".npz" else torch_load_safe
        try:
            arrays = load(path, "data file")
        except ValueError as exc:  # the cause in one line, no advice to disable the loader
            raise ConfigError(str(exc)) from None
        if not isinstance(arrays, dict):
            raise ConfigError(f"data file {path.name} must hold a dict with {xk!r} and {yk!r}")
    else:
        raise ConfigError(f"data file must be .pt or .npz, got {path.name}")
    for k in (xk, yk):
        if k not in arrays:
            raise ConfigError(f"data file {path.name} has no {k!r}; it has {sorted(arrays)}")
    return arrays[xk], arrays[yk]


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a sweep config into the keyword arguments of :func:`mi_probe.sweep`.

    Raises
    ------
    ConfigError
        A missing file, invalid TOML, an unknown key, a model or data that cannot be
        loaded, or checkpoint patterns that match nothing.
    """
    cfg_path = Path(path)
    raw = _read_toml(cfg_path)
    base = cfg_path.resolve().parent
    cfg = {k: v for k, v in raw.items() if k != "sweep"}
    sweep_table = raw.get("sweep", {})
    if not isinstance(sweep_table, dict):
        raise ConfigError("[sweep] must be a table")
    cfg.update(sweep_table)
    unknown = sorted(set(cfg) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in the config; valid keys: {', '.join(_KEYS)}"
        )
    model = cfg.get("model")
    if model is None:
        raise ConfigError("the config has no model (MODULE:FUNCTION or FILE.py:FUNCTION)")
    if isinstance(model, dict):
        factory_kwargs = _table(model, "model", ("factory", "kwargs"))
        fn = _load_function(model.get("factory"), base, "model.factory")
        model_fn = functools.partial(fn, **factory_kwargs) if factory_kwargs else fn
    else:
        model_fn = _load_function(model, base, "model")
    data = _load_data(cfg.get("data"), base)
    kwargs: dict[str, Any] = {
        "model_fn": model_fn,
        "checkpoints": _checkpoints(cfg.get("checkpoints"), base),
        "data": data,
        "layers": cfg.get("layers", "all"),
        "estimator": cfg.get("estimator", "kde"),
        "executor": cfg.get("executor", "local"),
        "out": str(base / cfg["out"]) if "out" in cfg else str(base / f"{cfg_path.stem}_out"),
    }
    for k in ("device", "batch_size", "max_retries", "num_cpus", "num_gpus"):
        if k in cfg:
            kwargs[k] = cfg[k]
    params = cfg.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError("[params] must be a table of estimator parameters")
    names = kwargs["estimator"]
    if isinstance(names, list) and len(names) > 1:
        flat = [k for k, v in params.items() if not isinstance(v, dict)]
        if flat:
            raise ConfigError(
                "with several estimators, give parameters in one table per estimator, "
                f"e.g. [params.kde] noise_variance = 0.1; got {', '.join(flat)} directly "
                "under [params]"
            )
    kwargs.update(params)
    return kwargs


def run(args: argparse.Namespace) -> int:
    """Run ``mi-probe sweep``; returns the exit status (0 ok, 1 failed checkpoints, 2 bad config)."""
    from ..analysis.sweep import sweep

    try:
        if getattr(args, "out", None):
            check_out_dir(args.out, "--out")
        kwargs = load_config(args.config)
        if getattr(args, "executor", None):
            kwargs["executor"] = args.executor
        if getattr(args, "out", None):
            kwargs["out"] = args.out
        df = sweep(progress_bar=not getattr(args, "no_progress", False), **kwargs)
    except (ConfigError, ValueError, ModuleNotFoundError) as exc:
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"mi-probe sweep: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print(
            "mi-probe sweep: interrupted; finished rows are kept, rerun to resume", file=sys.stderr
        )
        return 130
    out = Path(kwargs["out"]) / "sweep.csv"
    n_ck = df["checkpoint"].nunique()
    print(f"{len(df)} rows ({n_ck} checkpoints) written to {out}")
    failed = df[df["error"].notna()]
    if failed.empty:
        return 0
    bad = failed.drop_duplicates("checkpoint")
    print(
        f"mi-probe sweep: {bad.shape[0]} of {n_ck} checkpoints failed (a rerun retries them):",
        file=sys.stderr,
    )
    for _, row in bad.head(5).iterrows():
        print(f"  {row['checkpoint']}: {str(row['error']).splitlines()[0][:500]}", file=sys.stderr)
    return 1
