"""``mi-probe report``: a report folder for a model's layers from the shell."""

from __future__ import annotations

import argparse
import contextlib
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ._common import CLIError, clip, first_line

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the ``report`` subcommand on an argparse subparsers object."""
    rep = sub.add_parser(
        "report",
        help="HTML + Markdown report of a model's layers: information, invariance, disentanglement",
        description=(
            "Probe the layers of a model on data from a .npz or .pt file and write a report "
            "folder (index.html, report.md, results.csv, settings.json, figures/) with, per "
            "layer, I(x;z), I(z;y), the total correlation, I(z;n) and the invariance score "
            "for each nuisance, and disentanglement metrics when factors are given. "
            "The model is either PATH.py:FUNCTION (a function returning the nn.Module) with "
            "--weights STATE_DICT.pt (loaded with weights_only=True), or a whole model saved "
            "with torch.save, which unpickles code: only with --trust-pickle."
        ),
    )
    rep.add_argument(
        "model", help="PATH.py:FUNCTION, or a torch.save(model) file with --trust-pickle"
    )
    rep.add_argument("data", help=".npz or .pt file (dict of tensors) with named arrays")
    rep.add_argument("--weights", default=None, help="state_dict file for PATH.py:FUNCTION models")
    rep.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow loading a whole pickled model (runs code from the file)",
    )
    rep.add_argument("--x", default="x", help="name of the input array (default: x)")
    rep.add_argument("--y", default=None, help="name of the label array (optional)")
    rep.add_argument(
        "--layers", default="all", help="comma-separated layer names (default: all leaf modules)"
    )
    rep.add_argument(
        "--nuisance",
        action="append",
        default=[],
        metavar="NAME[=ARRAY]",
        help="repeatable: a transform family (occlusion, rotation, translation, noise, "
        "brightness), or NAME=ARRAY for per-sample nuisance values stored in the data file",
    )
    rep.add_argument(
        "--factors", default=None, help="name of the factors array, for disentanglement"
    )
    rep.add_argument(
        "--out", default="mi_probe_report", help="output folder (default: mi_probe_report)"
    )
    rep.add_argument(
        "--estimator",
        choices=("ksg", "gaussian", "binning"),
        default="ksg",
        help="estimator of I(z;n) and I(z;y) (default: ksg)",
    )
    rep.add_argument(
        "--max-samples", type=int, default=2000, help="seeded subsample (default: 2000)"
    )
    rep.add_argument(
        "--permutations",
        type=int,
        default=20,
        help="permutations for the null level of I(z;n) (default: 20)",
    )
    rep.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    rep.add_argument("--title", default="mi_probe report", help="report title")
    rep.add_argument("--no-figures", action="store_true", help="tables only")
    rep.add_argument(
        "--quiet", action="store_true", help="no progress on stderr (shown by default)"
    )


def _load_named(path: str) -> dict[str, np.ndarray]:
    """The named arrays of a ``.npz`` or ``.pt`` data file; no code from the file runs."""
    from .._safe_load import npz_load_safe, torch_load_safe

    p = Path(path)
    if not p.is_file():
        raise CLIError(f"{path}: no such file")
    try:
        if p.suffix == ".npz":
            return npz_load_safe(p, "data file")
        if p.suffix in (".pt", ".pth"):
            obj = torch_load_safe(p, "data file")
            if not isinstance(obj, dict):
                raise CLIError(f"{path}: a .pt data file must hold a dict of tensors")
            out = {}
            for k, v in obj.items():
                arr = v.numpy() if hasattr(v, "numpy") else np.asarray(v)
                if arr.dtype == object:
                    raise CLIError(f"{path}: entry {str(k)!r} is not a tensor or numeric array")
                out[str(k)] = arr
            return out
    except ValueError as exc:  # the safe loaders: file and cause in one line
        raise CLIError(first_line(exc)) from None
    raise CLIError(f"{path}: data must be a .npz or .pt file, got {p.suffix or 'no suffix'}")


def _described(exc: BaseException) -> str:
    """``"TypeName: first line of the message"``, cut to 200 characters."""
    return clip(f"{type(exc).__name__}: {first_line(exc)}")


def _user_line(exc: BaseException, file: str) -> str:
    """`` (FILE line N)`` for the innermost frame of ``exc`` in the user's ``file``, or ``""``."""
    target = Path(file).resolve()
    lineno = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == target:
            lineno = frame.lineno
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == target:
        lineno = exc.lineno  # a syntax error has no frame of its own file
    return f" ({Path(file).name} line {lineno})" if lineno is not None else ""


def _from_user_module(spec: str) -> Any:
    """Call FUNCTION of PATH.py for ``spec = "PATH.py:FUNCTION"``; its errors in one line."""
    import importlib.util

    file, func = spec.rsplit(":", 1)
    if not Path(file).is_file():
        raise CLIError(f"{file}: no such file")
    mod_spec = importlib.util.spec_from_file_location("_mi_probe_user_model", file)
    if mod_spec is None or mod_spec.loader is None:
        raise CLIError(f"{file}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(mod_spec)
    try:
        mod_spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: where and what, not our traceback
        raise CLIError(
            f"importing {file} failed: {_described(exc)}{_user_line(exc, file)}"
        ) from None
    if not hasattr(module, func):
        raise CLIError(f"{file} has no function {func!r}")
    try:
        return getattr(module, func)()
    except Exception as exc:
        raise CLIError(f"{spec}() failed: {_described(exc)}{_user_line(exc, file)}") from None


def _keys(keys: list[str], n: int = 3) -> str:
    shown = ", ".join(clip(k, 60) for k in keys[:n])
    return shown + (f", ... ({len(keys) - n} more)" if len(keys) > n else "")


def _state_dict_mismatch(model: Any, state: dict[Any, Any]) -> str:
    """What keeps ``state`` from loading into ``model``: missing and unexpected keys and
    shape mismatches, the first few of each, or ``""`` when the keys and shapes agree."""
    expected = model.state_dict()
    given = {str(k): v for k, v in state.items()}
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    shapes = [
        f"{clip(k, 60)}: file {tuple(given[k].shape)}, model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in given and hasattr(given[k], "shape") and tuple(given[k].shape) != tuple(v.shape)
    ]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s) ({_keys(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s) ({_keys(unexpected)})")
    if shapes:
        more = f"; ... ({len(shapes) - 3} more)" if len(shapes) > 3 else ""
        parts.append(f"{len(shapes)} shape mismatch(es) ({'; '.join(shapes[:3])}{more})")
    nested = [k for k, v in given.items() if isinstance(v, dict)]
    if nested and missing:
        parts.append(
            f"the file looks like a checkpoint with the weights under {_keys(nested, 2)}: "
            "save model.state_dict() itself"
        )
    return ", ".join(parts)


def _load_weights(model: Any, spec: str, weights: str) -> None:
    """Load the state_dict file ``weights`` into ``model``; every failure one line."""
    from .._safe_load import torch_load_safe

    path = Path(weights)
    if not path.exists():
        raise CLIError(f"--weights {weights}: no such file")
    if not path.is_file():
        raise CLIError(f"--weights {weights}: not a file")
    try:
        state = torch_load_safe(path, "--weights")
    except OSError as exc:
        raise CLIError(f"--weights {weights}: {clip(exc.strerror or first_line(exc))}") from None
    except ValueError as exc:
        with open(path, "rb") as fh:
            head = fh.read(4)
        # torch.save writes a zip archive (a pickle of protocol 2 with the legacy format)
        if not head.startswith(b"PK\x03\x04") and not head.startswith(b"\x80"):
            raise CLIError(
                f"--weights {weights}: not a file written by torch.save "
                "(neither a zip archive nor a pickle)"
            ) from None
        raise CLIError(clip(first_line(exc), 400)) from None
    if not isinstance(state, dict):
        raise CLIError(f"--weights {weights}: holds a {type(state).__name__}, not a state_dict")
    mismatch = _state_dict_mismatch(model, state)
    if mismatch:
        raise CLIError(
            clip(f"--weights {weights} does not fit the model of {spec}: {mismatch}", 600)
        )
    try:
        model.load_state_dict(state)
    except Exception as exc:  # keys and shapes agree, yet torch refused: its reasons
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        raise CLIError(
            clip(f"--weights {weights}: {'; '.join(lines) or type(exc).__name__}", 400)
        ) from None


def _load_model(spec: str, weights: str | None, trust_pickle: bool) -> Any:
    import torch

    if ".py:" in spec:
        model = _from_user_module(spec)
        if not isinstance(model, torch.nn.Module):
            raise CLIError(f"{spec}() returned a {type(model).__name__}, not a torch.nn.Module")
        if weights is not None:
            _load_weights(model, spec, weights)
        return model
    if weights is not None:
        raise CLIError(f"--weights is for PATH.py:FUNCTION models; {spec} is a whole saved model")
    if not Path(spec).is_file():
        raise CLIError(f"{spec}: no such file")
    if not trust_pickle:
        raise CLIError(
            f"{spec}: loading a whole pickled model runs code from the file; pass "
            "--trust-pickle if you trust it, or use PATH.py:FUNCTION with --weights"
        )
    try:
        model = torch.load(spec, map_location="cpu", weights_only=False)
    except Exception as exc:  # the file's own code, or a class that no longer imports
        raise CLIError(
            f"{spec} could not be loaded as a pickled model: {_described(exc)}"
        ) from None
    if not isinstance(model, torch.nn.Module):
        raise CLIError(f"{spec} does not hold a torch.nn.Module (got {type(model).__name__})")
    return model


class _ModelFailed(Exception):
    """The model's own forward raised ``cause`` (not mi_probe's code)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _raised_in_mi_probe(exc: BaseException) -> bool:
    """Whether the innermost frame of ``exc`` is mi_probe's code (a probe hook)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return False
    package = Path(__file__).resolve().parent.parent
    return Path(frames[-1].filename).resolve().is_relative_to(package)


@contextlib.contextmanager
def _forward_errors_marked(model: Any) -> Iterator[None]:
    """While active, an exception from ``model.forward`` (the user's code or torch's, not a
    probe hook's) comes out as :class:`_ModelFailed`, so the CLI can say the model failed
    on the data instead of printing a traceback. ``model.forward`` is restored after."""
    forward = model.forward

    def marked(*args: Any, **kwargs: Any) -> Any:
        try:
            return forward(*args, **kwargs)
        except Exception as exc:
            if _raised_in_mi_probe(exc):
                raise
            raise _ModelFailed(exc) from exc

    try:
        model.forward = marked
    except Exception:  # a module whose forward cannot be replaced (scripted): unmarked
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            del model.forward


def run(args: argparse.Namespace) -> int:
    """Run ``mi-probe report``; returns the exit code."""
    from ..analysis._nuisance import BUILTIN
    from ..analysis.report import report

    arrays = _load_named(args.data)

    def pick(name: str, what: str) -> np.ndarray:
        if name not in arrays:
            raise CLIError(f"{args.data} has no array {name!r} ({what}); it has {sorted(arrays)}")
        return arrays[name]

    x = pick(args.x, "--x")
    y = pick(args.y, "--y") if args.y else None
    factors = pick(args.factors, "--factors") if args.factors else None
    nuisances: dict[str, Any] = {}
    for item in args.nuisance:
        name, _, array = item.partition("=")
        if array:
            nuisances[name] = pick(array, f"--nuisance {item}")
        elif name in BUILTIN:
            nuisances[name] = name
        else:
            raise CLIError(f"--nuisance {item!r}: use one of {', '.join(BUILTIN)} or NAME=ARRAY")
    if args.max_samples < 10:
        raise CLIError(f"--max-samples must be >= 10, got {args.max_samples}")
    model = _load_model(args.model, args.weights, args.trust_pickle)
    layers = (
        "all" if args.layers == "all" else [s.strip() for s in args.layers.split(",") if s.strip()]
    )
    try:
        with _forward_errors_marked(model):
            df = report(
                model,
                (x, y) if y is not None else x,
                layers=layers,
                nuisances=nuisances or None,
                factors=factors,
                out=args.out,
                estimator=args.estimator,
                n_permutations=args.permutations,
                max_samples=args.max_samples,
                title=args.title,
                figures=not args.no_figures,
                random_state=args.seed,
                progress_bar=not args.quiet,
            )
    except _ModelFailed as exc:
        raise CLIError(
            f"the model failed on --x {args.x!r} ({x.dtype}, shape {tuple(x.shape)}): "
            f"{_described(exc.cause)}"
        ) from None
    except ValueError as exc:
        raise CLIError(clip(first_line(exc), 400)) from None
    n_layers = int((df["layer"] != "input").sum())
    print(f"wrote {df.attrs['files']['html']} (input + {n_layers} layers)")
    return 0
