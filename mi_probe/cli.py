"""The ``mi-probe`` command.

``mi-probe demo``      train the 12-bit network (tanh and ReLU) and draw its information plane
``mi-probe estimate``  mutual information between two arrays stored in a file
``mi-probe sweep``     a checkpoint x layer information-plane sweep from a TOML config
``mi-probe report``    HTML + Markdown report of a model's layers (information, invariance)
``mi-probe critical-periods``  the blur-deficit critical-period experiment on digits

Errors in the input (a missing file or key, a bad option) print one line to stderr and
exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "load_arrays", "build_parser"]

_SUFFIXES = (".npy", ".npz", ".csv", ".pt", ".pth")


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


def _parse_param(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param must look like NAME=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mi-probe`` (subcommands ``demo`` and ``estimate``)."""
    from .estimators._registry import MI_ESTIMATORS

    parser = argparse.ArgumentParser(
        prog="mi-probe",
        description="Mutual information estimators and information-plane probes (values in nats).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="train the 12-bit task network and draw its information plane",
        description=(
            "Train the 12-10-7-5-4-3-2 network of Shwartz-Ziv & Tishby on the 12-bit task, "
            "record I(X;T) and I(T;Y) of every layer with binning and KDE, and write "
            "figures and a CSV to --out."
        ),
    )
    demo.add_argument(
        "--out", default="mi_probe_demo", help="output folder (default: mi_probe_demo)"
    )
    demo.add_argument("--epochs", type=int, default=None, help="training epochs (default: 400)")
    demo.add_argument(
        "--activation",
        choices=("tanh", "relu", "both"),
        default="both",
        help="hidden non-linearity (default: both, to compare)",
    )
    demo.add_argument(
        "--estimator",
        choices=("binning", "kde", "both"),
        default="both",
        help="information-plane estimator (default: both)",
    )
    demo.add_argument(
        "--device", default="cpu", help="torch device, e.g. cpu or cuda (default: cpu)"
    )
    demo.add_argument(
        "--seed", type=int, default=0, help="seed of init, split and batches (default: 0)"
    )
    demo.add_argument(
        "--records", type=int, default=None, help="number of recorded epochs (default: 20)"
    )
    demo.add_argument("--no-figures", action="store_true", help="write only the CSV")

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
        default="ksg",
        choices=sorted(MI_ESTIMATORS),
        help="estimator name (default: ksg)",
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

    from ._critical_cli import add_critical_parser
    from ._report_cli import add_report_parser
    from ._sweep_cli import add_sweep_parser

    add_sweep_parser(sub)
    add_report_parser(sub)
    add_critical_parser(sub)
    return parser


# --------------------------------------------------------------------------------------
# estimate
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
            with np.load(p, allow_pickle=False) as data:
                return _pick(dict(data.items()), x, "key"), _pick(dict(data.items()), y, "key")
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
        import torch

        data = torch.load(p, weights_only=True, map_location="cpu")
        if not isinstance(data, dict):
            raise CLIError(f"{p.name} must hold a dict of tensors, got {type(data).__name__}")
        return _pick(data, x, "key"), _pick(data, y, "key")
    except CLIError:
        raise
    except Exception as exc:  # unreadable / unsafe file: one line, no traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CLIError(f"could not read {p.name}: {first}") from None


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


def _estimate(args: argparse.Namespace) -> int:
    from . import estimate_mi

    xa, ya = load_arrays(args.file, args.x, args.y)
    params = dict(args.param)
    try:
        result = estimate_mi(xa, ya, estimator=args.estimator, **params)
    except ValueError as exc:
        raise CLIError(str(exc).splitlines()[0]) from None
    nats = float(result.value)
    if args.json:
        payload = {
            "file": str(args.file),
            "x": args.x,
            "y": args.y,
            "estimator": result.estimator,
            "nats": nats,
            "bits": result.to_bits(),
            "n_samples": result.n_samples,
            "params": {k: _jsonable(v) for k, v in result.params.items()},
            "backend": result.backend,
        }
        print(json.dumps(payload, indent=2))
        return 0
    rows = [
        ("file", str(args.file)),
        ("I(X;Y)", f"{args.x} ; {args.y}"),
        ("estimator", result.estimator),
        ("n_samples", str(result.n_samples)),
        ("nats", f"{nats:.6f}"),
        ("bits", f"{result.to_bits():.6f}"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, bool)) or v is None:
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    return str(v)


# --------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------
def _demo(args: argparse.Namespace) -> int:
    from .demo import DEFAULTS, run_demo

    epochs = DEFAULTS["epochs"] if args.epochs is None else args.epochs
    records = DEFAULTS["n_records"] if args.records is None else args.records
    if epochs < 1:
        raise CLIError(f"--epochs must be >= 1, got {epochs}")
    if records < 2:
        raise CLIError(f"--records must be >= 2, got {records}")
    estimators = ("binning", "kde") if args.estimator == "both" else (args.estimator,)
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise CLIError(f"--device {args.device}: CUDA is not available on this machine")
    try:
        run_demo(
            args.out,
            epochs=epochs,
            activation=args.activation,
            estimators=estimators,
            seed=args.seed,
            device=args.device,
            n_records=records,
            figures=not args.no_figures,
        )
    except ValueError as exc:
        raise CLIError(str(exc).splitlines()[0]) from None
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mi-probe`` console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its one-line usage error
        return int(exc.code) if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "estimate":
            return _estimate(args)
        if args.command == "sweep":
            from ._sweep_cli import sweep_command

            return sweep_command(args)
        if args.command == "report":
            from ._report_cli import report_command

            return report_command(args)
        if args.command == "critical-periods":
            from ._critical_cli import critical_command

            return critical_command(args)
        return _demo(args)
    except CLIError as exc:
        print(f"mi-probe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("mi-probe: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
