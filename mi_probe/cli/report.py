"""``mi-probe report``: a report folder for a model's layers from the shell."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ._common import CLIError, first_line

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


def _load_model(spec: str, weights: str | None, trust_pickle: bool) -> Any:
    import importlib.util

    import torch

    if ".py:" in spec:
        file, func = spec.rsplit(":", 1)
        if not Path(file).is_file():
            raise CLIError(f"{file}: no such file")
        mod_spec = importlib.util.spec_from_file_location("_mi_probe_user_model", file)
        if mod_spec is None or mod_spec.loader is None:
            raise CLIError(f"{file}: cannot be imported as a Python module")
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
        if not hasattr(module, func):
            raise CLIError(f"{file} has no function {func!r}")
        model = getattr(module, func)()
        if weights is not None:
            from .._safe_load import torch_load_safe

            try:
                state = torch_load_safe(weights, "--weights")
            except (OSError, ValueError) as exc:
                raise CLIError(first_line(exc)) from None
            if not isinstance(state, dict):
                raise CLIError(
                    f"--weights {weights}: holds a {type(state).__name__}, not a state_dict"
                )
            try:
                model.load_state_dict(state)
            except RuntimeError as exc:
                raise CLIError(f"--weights {weights}: {first_line(exc)}") from None
        return model
    if not Path(spec).is_file():
        raise CLIError(f"{spec}: no such file")
    if not trust_pickle:
        raise CLIError(
            f"{spec}: loading a whole pickled model runs code from the file; pass "
            "--trust-pickle if you trust it, or use PATH.py:FUNCTION with --weights"
        )
    model = torch.load(spec, map_location="cpu", weights_only=False)
    if not isinstance(model, torch.nn.Module):
        raise CLIError(f"{spec} does not hold a torch.nn.Module (got {type(model).__name__})")
    return model


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
    except ValueError as exc:
        raise CLIError(str(exc).splitlines()[0]) from None
    print(f"wrote {df.attrs['files']['html']} ({len(df)} layers)")
    return 0
