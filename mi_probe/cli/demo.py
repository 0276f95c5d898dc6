"""``mi-probe demo``: train the 12-bit network and draw its information plane."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import CLIError, check_out_dir, check_seed, first_line

# upper bounds of the numeric options: far above any useful run (the defaults are 400
# epochs, 20 records, 3 seeds), low enough that a typo is refused at once instead of
# failing deep in training (numpy overflow, or a MemoryError for the schedule)
_MAX_EPOCHS = 1_000_000
_MAX_RECORDS = 10_000
_MAX_SEEDS = 1_000

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


def _check_device(device: str) -> None:
    """Refuse a --device torch cannot parse, one without data (meta) or absent CUDA."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise CLIError(
            f"--device must be a torch device such as cpu or cuda, got {device!r}"
        ) from None
    if dev.type == "meta":
        raise CLIError("--device meta holds no data; use cpu or cuda")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise CLIError(f"--device {device}: CUDA is not available on this machine")


def run(args: argparse.Namespace) -> int:
    """Run ``mi-probe demo``; returns the exit status."""
    from ..experiments.demo import DEFAULTS, run_demo

    epochs = DEFAULTS["epochs"] if args.epochs is None else args.epochs
    records = DEFAULTS["n_records"] if args.records is None else args.records
    n_seeds = DEFAULTS["n_seeds"] if args.seeds is None else args.seeds
    if epochs < 1:
        raise CLIError(f"--epochs must be >= 1, got {epochs}")
    if epochs > _MAX_EPOCHS:
        raise CLIError(f"--epochs must be <= {_MAX_EPOCHS}, got {epochs}")
    if records < 2:
        raise CLIError(f"--records must be >= 2, got {records}")
    if records > _MAX_RECORDS:
        raise CLIError(f"--records must be <= {_MAX_RECORDS}, got {records}")
    if n_seeds < 1:
        raise CLIError(f"--seeds must be >= 1, got {n_seeds}")
    if n_seeds > _MAX_SEEDS:
        raise CLIError(f"--seeds must be <= {_MAX_SEEDS}, got {n_seeds}")
    if args.seed < 0:
        raise CLIError(f"--seed must be >= 0, got {args.seed}")
    check_seed(args.seed, "--seed", count=n_seeds)
    check_out_dir(args.out, "--out")
    estimators = ("binning", "kde") if args.estimator == "both" else (args.estimator,)
    _check_device(args.device)
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
