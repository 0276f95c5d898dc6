"""``mi-probe critical-periods``: the blur-deficit critical-period experiment on digits.

Writes OUT/critical_periods.csv (one row per removal epoch), OUT/critical_periods_history.csv
(per epoch: loss, test accuracy, Fisher trace) and, unless --no-figures,
OUT/critical_periods.png. Exit status 0, or 2 for a bad option (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import CLIError, check_out_dir, check_seed, first_line

__all__ = ["add_parser", "run"]

# the experiment's parameter -> the option that sets it (its errors name the option)
_OPTIONS = {
    "removal_epochs": "--removal",
    "post_epochs": "--post-epochs",
    "lr_schedule": "--lr-schedule",
    "blur_size": "--blur-size",
    "n_repeats": "--repeats",
    "fisher_samples": "--fisher-samples",
    "random_state": "--seed",
    "device": "--device",
}

# upper bounds of the epoch and repeat options: far above any useful run (the defaults
# are 20 clean epochs, removal at 0..20, one repeat), low enough that a typo is refused
# at once instead of training for days
_MAX_EPOCHS = 100_000
_MAX_REPEATS = 1_000


def _named(message: str) -> str:
    """``message`` followed by the option that sets the parameter it starts with
    (``post_epochs must be >= 1, got 0 (--post-epochs)``)."""
    for name, option in _OPTIONS.items():
        if message.startswith(name) and message[len(name) : len(name) + 1] in (" ", "=", ":"):
            return f"{message} ({option})"
    return message


def _removals(text: str) -> list[Any]:
    out: list[Any] = []
    for tok in text.split(","):
        tok = tok.strip()
        if tok in ("never", "none", "None"):
            out.append(None)
            continue
        try:
            out.append(int(tok))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"--removal must be comma-separated epochs or 'never', got {tok!r}"
            ) from None
    return out


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``critical-periods`` subcommand to the ``mi-probe`` subparsers; returns its parser."""
    p = subparsers.add_parser(
        "critical-periods",
        help="blur deficit removed at different epochs: test accuracy and Fisher trace (digits CNN)",
        description=(
            "Train a small CNN on scikit-learn's 8x8 digits, blurred for the first T epochs "
            "and clean for --post-epochs more, for each removal epoch T; write the final "
            "clean test accuracy per T and the Fisher trace of the weights per epoch "
            "(Achille, Rovere & Soatto 2019)."
        ),
    )
    p.add_argument(
        "--removal",
        type=_removals,
        default=None,
        metavar="T,T,...",
        help="removal epochs, 'never' for a kept deficit (default: 0,5,10,20,never)",
    )
    p.add_argument(
        "--post-epochs", type=int, default=None, help="clean epochs after removal (default: 20)"
    )
    p.add_argument(
        "--lr-schedule",
        choices=("global", "restart", "constant"),
        default=None,
        help="learning rate: 'global' decays over the whole run (default); 'restart' "
        "gives every removal epoch the same clean-phase schedule; 'constant'",
    )
    p.add_argument("--blur-size", type=int, default=None, help="downsampled side, 1-7 (default: 3)")
    p.add_argument("--repeats", type=int, default=1, help="independent seeds (default: 1)")
    p.add_argument(
        "--fisher-samples", type=int, default=None, help="probe subset size (default: 200)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--tiny", action="store_true", help="a seconds-long run (smoke test)")
    p.add_argument(
        "--out", default="mi_probe_critical", help="output folder (default: mi_probe_critical)"
    )
    p.add_argument("--no-figures", action="store_true", help="write only the CSVs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``mi-probe critical-periods``; returns the exit status (0 ok, 2 bad option)."""
    from .._csv import write_csv
    from ..experiments.critical_periods import TINY, critical_periods

    kwargs: dict[str, Any] = dict(TINY) if args.tiny else {}
    for key, value in (
        ("removal_epochs", args.removal),
        ("post_epochs", args.post_epochs),
        ("blur_size", args.blur_size),
        ("fisher_samples", args.fisher_samples),
        ("lr_schedule", args.lr_schedule),
    ):
        if value is not None:
            kwargs[key] = value
    kwargs["n_repeats"] = args.repeats
    for option, value, top in (
        ("--post-epochs", args.post_epochs, _MAX_EPOCHS),
        (
            "--removal epochs",
            max((t for t in args.removal or () if t is not None), default=None),
            _MAX_EPOCHS,
        ),
        ("--repeats", args.repeats, _MAX_REPEATS),
    ):
        if value is not None and value > top:
            raise CLIError(f"{option} must be <= {top}, got {value}")
    if args.seed < 0:
        raise CLIError(f"--seed must be >= 0, got {args.seed}")
    check_seed(args.seed, "--seed", count=max(args.repeats, 1))
    out = check_out_dir(args.out, "--out")  # before the training, not after it
    try:
        res = critical_periods(
            random_state=args.seed, device=args.device, progress=not args.no_progress, **kwargs
        )
    except (ValueError, ModuleNotFoundError) as exc:
        print(f"mi-probe critical-periods: error: {_named(first_line(exc))}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    write_csv(res.summary, out / "critical_periods.csv")
    write_csv(res.history, out / "critical_periods_history.csv")
    cols = [
        "removal",
        "total_epochs",
        "clean_epochs",
        "final_lr",
        "test_accuracy",
        "peak_fisher_epoch",
        "peak_fisher_trace",
    ]
    print(res.summary[cols].round(4).to_string(index=False))
    eff = res.effect()
    print(
        f"drop in test accuracy from the first to the last removal epoch: "
        f"{100 * eff['drop']:.1f} points"
    )
    if not args.no_figures:
        import matplotlib

        matplotlib.use("Agg")
        from ..plotting.critical_periods import plot_critical_periods

        axes = plot_critical_periods(res)
        axes[0].figure.tight_layout()
        axes[0].figure.savefig(out / "critical_periods.png", dpi=120)
    print(f"written to {out}")
    return 0
