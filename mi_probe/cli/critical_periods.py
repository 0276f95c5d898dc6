"""``mi-probe critical-periods``: the blur-deficit critical-period experiment on digits.

Writes OUT/critical_periods.csv (one row per removal epoch), OUT/critical_periods_history.csv
(per epoch: loss, test accuracy, Fisher trace) and, unless --no-figures,
OUT/critical_periods.png. Exit status 0, or 2 for a bad option (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


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
    try:
        res = critical_periods(
            random_state=args.seed, device=args.device, progress=not args.no_progress, **kwargs
        )
    except (ValueError, ModuleNotFoundError) as exc:
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"mi-probe critical-periods: error: {line}", file=sys.stderr)
        return 2
    out = Path(args.out)
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
