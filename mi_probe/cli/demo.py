"""``mi-probe demo``: train the 12-bit network and draw its information plane."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import CLIError, first_line

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``demo`` subcommand on an argparse subparsers object; returns its parser."""
    demo = sub.add_parser(
        "demo",
        help="train the 12-bit task network and draw its information plane",
        description=(
            "Train the 12-10-7-5-4-3-2 network of Shwartz-Ziv & Tishby on the 12-bit task, "
            "record I(X;T) and I(T;Y) of every layer with binning and KDE, and write "
            "figures and a CSV to --out. Trains --seeds seeds (--seed, --seed + 1, ...) and "
            "judges the tanh-compresses / ReLU-does-not pattern on the median over them; "
            "the figures show the median seed."
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
        "--seed",
        type=int,
        default=0,
        help="first seed of init, split and batches (default: 0)",
    )
    demo.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="how many seeds to train, from --seed on (default: 3; 1: a single run of --seed)",
    )
    demo.add_argument(
        "--records", type=int, default=None, help="number of recorded epochs (default: 20)"
    )
    demo.add_argument("--no-figures", action="store_true", help="write only the CSV")

    return demo


def run(args: argparse.Namespace) -> int:
    """Run ``mi-probe demo``; returns the exit status."""
    from ..experiments.demo import DEFAULTS, run_demo

    epochs = DEFAULTS["epochs"] if args.epochs is None else args.epochs
    records = DEFAULTS["n_records"] if args.records is None else args.records
    n_seeds = DEFAULTS["n_seeds"] if args.seeds is None else args.seeds
    if epochs < 1:
        raise CLIError(f"--epochs must be >= 1, got {epochs}")
    if records < 2:
        raise CLIError(f"--records must be >= 2, got {records}")
    if n_seeds < 1:
        raise CLIError(f"--seeds must be >= 1, got {n_seeds}")
    if args.seed < 0:
        raise CLIError(f"--seed must be >= 0, got {args.seed}")
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
            n_seeds=n_seeds,
            device=args.device,
            n_records=records,
            figures=not args.no_figures,
        )
    except ValueError as exc:
        raise CLIError(first_line(exc)) from None
    return 0
