"""``mi-probe estimate``: the mutual information between two arrays stored in a file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .._safe_load import LoadError, load_error_cause, npz_load_safe, torch_load_safe
from ._common import CLIError, first_line, jsonable

__all__ = ["add_parser", "run", "load_arrays"]

_SUFFIXES = (".npy", ".npz", ".csv", ".pt", ".pth")


def _parse_param(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param must look like NAME=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    if not key.strip():
        raise argparse.ArgumentTypeError(f"--param needs a NAME before '=', got {text!r}")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``estimate`` subcommand on an argparse subparsers object; returns its parser."""
    from ..estimators._registry import MI_ESTIMATORS

    est = sub.add_parser(
        "estimate",
        help="estimate I(X;Y) between two arrays in a .npy/.npz/.csv/.pt file",
        description=(
            "Estimate the mutual information between two arrays stored in FILE. "
            ".npz and .pt (a dict of tensors, loaded with weights_only=True) hold named "
            "arrays; .csv names columns (comma-separated lists allowed); a .npy file holds "
            "one 2-D array whose columns are selected by index (e.g. --x 0,1 --y 2)."
        ),
    )
    est.add_argument("file", help="input file")
    est.add_argument("--x", required=True, help="name of the X array (or columns)")
    est.add_argument("--y", required=True, help="name of the Y array (or columns)")
    est.add_argument(
        "--estimator",
        default="auto",
        choices=sorted(MI_ESTIMATORS),
        help=(
            "estimator name (default: auto, as in the Python API: it chooses from the data "
            "and reports a 95%% interval, a permutation null and reliability flags)"
        ),
    )
    est.add_argument(
        "--seed",
        type=int,
        default=None,
        help="random_state of the estimator, interval and null (default: 0, so a rerun "
        "gives the same numbers)",
    )
    est.add_argument(
        "--interval",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="95%% subsampling interval (default: on for auto, off otherwise)",
    )
    est.add_argument(
        "--null",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="permutation null and p-value (default: on for auto, off otherwise)",
    )
    est.add_argument(
        "--param",
        action="append",
        default=[],
        type=_parse_param,
        metavar="NAME=VALUE",
        help="estimator parameter, repeatable (e.g. --param n_neighbors=5)",
    )
    est.add_argument("--json", action="store_true", help="print the result as JSON")

    return est


# --------------------------------------------------------------------------------------
def _columns(spec: str) -> list[str]:
    return [c.strip() for c in spec.split(",") if c.strip()]


def load_arrays(path: str | Path, x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
    """Read two arrays from a ``.npy``, ``.npz``, ``.csv`` or ``.pt`` file.

    Parameters
    ----------
    path : str or Path
        The file. ``.pt``/``.pth`` files are read with ``torch.load(weights_only=True)``
        (no code from the file runs) and must hold a dict of tensors/arrays.
    x, y : str
        Keys (``.npz``, ``.pt``), column names (``.csv``; comma-separated for several)
        or column indices (``.npy``, a 2-D array; comma-separated).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)

    Raises
    ------
    CLIError
        Missing file, unsupported suffix, missing key or column, unreadable file.
    """
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"no such file: {p}")
    suffix = p.suffix.lower()
    if suffix not in _SUFFIXES:
        raise CLIError(
            f"unsupported file type {suffix or '(none)'}; use one of {', '.join(_SUFFIXES)}"
        )
    try:
        if suffix == ".npz":
            arrays = npz_load_safe(p)
            return _pick(arrays, x, "key"), _pick(arrays, y, "key")
        if suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
            if arr.ndim != 2:
                raise CLIError(
                    f"{p.name} holds a {arr.ndim}-D array; a .npy file must hold a 2-D array"
                )
            return _index_columns(arr, x), _index_columns(arr, y)
        if suffix == ".csv":
            import pandas as pd

            df = pd.read_csv(p)
            return _csv_columns(df, x), _csv_columns(df, y)
        data = torch_load_safe(p)
        if not isinstance(data, dict):
            raise CLIError(f"{p.name} must hold a dict of tensors, got {type(data).__name__}")
        return _pick(data, x, "key"), _pick(data, y, "key")
    except CLIError:
        raise
    except LoadError as exc:  # refused by the safe loaders: the cause, never their advice
        raise CLIError(f"could not read {p.name}: {exc.cause}") from None
    except Exception as exc:  # unreadable / unsafe file: one line, no traceback
        raise CLIError(f"could not read {p.name}: {load_error_cause(exc)}") from None


def _pick(data: dict[str, Any], key: str, what: str) -> np.ndarray:
    if key not in data:
        raise CLIError(
            f"{what} {key!r} not found; available: {', '.join(map(str, data)) or '(none)'}"
        )
    value = data[key]
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _index_columns(arr: np.ndarray, spec: str) -> np.ndarray:
    cols = []
    for c in _columns(spec):
        try:
            i = int(c)
        except ValueError:
            raise CLIError(f"columns of a .npy file are given by index, got {c!r}") from None
        if not -arr.shape[1] <= i < arr.shape[1]:
            raise CLIError(f"column {i} out of range; the array has {arr.shape[1]} columns")
        cols.append(i)
    if not cols:
        raise CLIError(f"no columns given in {spec!r}")
    return arr[:, cols]


def _csv_columns(df: Any, spec: str) -> np.ndarray:
    cols = _columns(spec)
    missing = [c for c in cols if c not in df.columns]
    if missing or not cols:
        raise CLIError(
            f"column {', '.join(map(repr, missing or [spec]))} not found; "
            f"available: {', '.join(map(str, df.columns))}"
        )
    return df[cols].to_numpy()


def _flags(result: Any) -> dict[str, Any]:
    """The reliability columns of ``result`` (booleans, interval, null, p-value, warning)."""
    from ..estimators.reliability import flags_for

    return flags_for(result)


def _summary(args: argparse.Namespace, result: Any, seed: Any, caught: list[str]) -> dict:
    """Everything ``estimate`` reports, as JSON-ready values (nats unless named bits)."""
    row = _flags(result)
    diag = result.diagnostics
    interval = result.interval
    # interval / null are reported as values below, not as the switches that asked for them
    params = {k: jsonable(v) for k, v in result.params.items() if k not in ("interval", "null")}
    flags = {
        k: row[k]
        for k in (
            "unstable_in_n",
            "candidates_disagree",
            "few_samples_for_dim",
            "many_ties",
            "at_ceiling",
            "not_above_null",
        )
        if row.get(k) is not None
    }
    return {
        "file": str(args.file),
        "x": args.x,
        "y": args.y,
        "estimator": result.estimator,
        "choice": diag.get("choice"),
        "reason": diag.get("reason"),
        "nats": float(result.value),
        "bits": result.to_bits(),
        "interval": None if interval is None else [interval[0], interval[1]],
        "null": None if result.null is None else float(result.null),
        "p_value": None if diag.get("p_value") is None else float(diag["p_value"]),
        "flags": flags,
        "warning": row.get("warning", "") or "",
        "warnings": caught,
        "n_samples": result.n_samples,
        "seed": seed,
        "params": params,
        "backend": result.backend,
    }


def _text(info: dict) -> list[tuple[str, str]]:
    rows = [
        ("file", info["file"]),
        ("I(X;Y)", f"{info['x']} ; {info['y']}"),
        ("estimator", info["estimator"]),
    ]
    if info["choice"]:
        rows.append(("choice", str(info["choice"])))
    if info["reason"]:
        rows.append(("reason", str(info["reason"])))
    rows += [
        ("n_samples", str(info["n_samples"])),
        ("seed", "none" if info["seed"] is None else str(info["seed"])),
        ("nats", f"{info['nats']:.6f}"),
        ("bits", f"{info['bits']:.6f}"),
    ]
    if info["interval"] is not None:
        lo, hi = info["interval"]
        rows.append(("interval", f"{lo:.6f} .. {hi:.6f} nats (95%, half-size subsamples)"))
    if info["null"] is not None:
        rows.append(("null", f"{info['null']:.6f} nats (95% level of shuffled pairs)"))
    if info["p_value"] is not None:
        rows.append(("p_value", f"{info['p_value']:.4g}"))
    if info["flags"]:
        shown = [k for k, v in info["flags"].items() if v]
        rows.append(("flags", ", ".join(shown) if shown else "none set"))
    if info["warning"]:
        rows.append(("warning", f"{info['warning']} (serious: read the estimate with care)"))
    return rows


def _named(message: str, args: argparse.Namespace, params: dict[str, Any]) -> str:
    """``message`` followed by the option its subject came from: the estimators name the
    arrays x and y and their parameters, not the --x/--y/--param that gave them."""

    def leads(word: str) -> bool:
        return message.startswith(word) and message[len(word) : len(word) + 1] in (" ", "=", ":")

    if message.startswith("x and y "):
        return f"{message} (--x {args.x!r}, --y {args.y!r})"
    for word, option, spec in (("x", "--x", args.x), ("y", "--y", args.y)):
        if leads(word):
            return f"{message} ({option} {spec!r})"
    for name in params:
        if leads(name):
            return f"{message} (--param {name})"
    return message


def run(args: argparse.Namespace) -> int:
    """Run ``mi-probe estimate``; returns the exit status."""
    import warnings

    from .. import estimate_mi

    params: dict[str, Any] = {}
    for name, value in args.param:
        if name in params:
            raise CLIError(
                f"--param {name} given twice ({params[name]!r} and {value!r}); give it once"
            )
        params[name] = value
    if "random_state" in params and args.seed is not None:
        raise CLIError("give the seed once: --seed or --param random_state=..., not both")
    if args.seed is not None and args.seed < 0:
        raise CLIError(f"--seed must be >= 0, got {args.seed}")
    xa, ya = load_arrays(args.file, args.x, args.y)
    params.setdefault("random_state", 0 if args.seed is None else args.seed)
    seed = params["random_state"]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = estimate_mi(
                xa, ya, estimator=args.estimator, interval=args.interval, null=args.null, **params
            )
    except ValueError as exc:
        raise CLIError(_named(first_line(exc), args, params)) from None
    messages = list(
        dict.fromkeys(
            first_line(w.message) if isinstance(w.message, Warning) else str(w.message)
            for w in caught
        )
    )
    info = _summary(args, result, seed, messages)
    if args.json:
        print(json.dumps({k: _jsonable_tree(v) for k, v in info.items()}, indent=2))
        return 0
    rows = _text(info)
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    # the estimators' own warnings, one line each (no source-file lines)
    for m in messages:
        print(f"mi-probe estimate: warning: {m}", file=sys.stderr)
    return 0


def _jsonable_tree(v: Any) -> Any:
    """:func:`jsonable` applied through lists and dicts."""
    if isinstance(v, dict):
        return {str(k): _jsonable_tree(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable_tree(x) for x in v]
    return jsonable(v)
