"""Tutorial 4: critical learning periods on scikit-learn's digits.

Achille, Rovere and Soatto (ICLR 2019) found that a deficit early in training (blurred
images) can leave a permanent mark: if the blur is removed late, the network never
reaches the accuracy of a network trained on clean images from the start, even with the
same number of clean epochs afterwards; and the trace of the Fisher information of the
weights rises early in training and then falls.

This script trains a small CNN on 8x8 digits blurred (to 3x3 and back) for t epochs,
then 20 epochs on clean digits, for t = 0, 5, 10, 20 and never, with
``mi_probe.experiments.critical_periods``; it prints the final clean test accuracy per
removal epoch and the Fisher-trace peak, states whether the effect showed, and saves a
figure. ``--lr-schedule`` picks the learning rate: ``global`` (default) decays it over
the whole run, so a late removal also gets its 20 clean epochs at a smaller rate (a
confound: under-training); ``restart`` (full rate during the deficit, then the same
decaying schedule from the removal on, for every t) and ``constant`` are the controls.

Run::

    python tutorials/04_critical_periods.py            # ~2 minutes on one CPU core
    python tutorials/04_critical_periods.py --tiny     # ~20 s (smoke test; shared 2-core box)
    python tutorials/04_critical_periods.py --repeats 3 --lr-schedule restart --out critical

Measured (``--repeats 3``, seeds 0-2, 539 clean test digits, CPU, 2026-11-28; final clean
test accuracy, mean +/- sd over seeds; "drop" = accuracy(t=0) - accuracy(t=20) paired by
seed, in points):

    schedule   t=0            t=5            t=10           t=20           never          drop 0->20
    global     0.975 +/-.001  0.970 +/-.003  0.965 +/-.003  0.955 +/-.006  0.426 +/-.048  2.0 +/- 0.7
    restart    0.975 +/-.001  0.972 +/-.004  0.970 +/-.003  0.972 +/-.002  0.424 +/-.047  0.3 +/- 0.3
    constant   0.979 +/-.004  0.977 +/-.001  0.974 +/-.003  0.974 +/-.003  0.450 +/-.057  0.5 +/- 0.7

With the global decay the accuracy falls monotonically with later removal (2 points by
t=20, where the train accuracy is also lower, 0.987), but with the same clean-phase
schedule for every t ("restart") or a constant rate the drop shrinks to 0.3-0.5 points,
about one standard deviation and not monotone in t: most of the global-schedule effect
is under-training, and what survives at this scale is small (per seed the drops are
0.0/0.6/0.4 points with restart and 0.0/0.2/1.3 with constant: never negative, never
large). A blur that is never removed costs about 55 points under every schedule. The
Fisher trace of the run without deficit peaks at epoch 2 (96 nats per sample with the
decaying schedules, 82 with the constant one) and falls to 20 (13) by epoch 20, a
five- to sixfold fall.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mi_probe.experiments import critical_periods
from mi_probe.experiments.critical_periods import TINY


def main() -> None:
    ap = argparse.ArgumentParser(description="blur deficit removed at different epochs")
    ap.add_argument("--tiny", action="store_true", help="a few epochs on 200 digits")
    ap.add_argument("--repeats", type=int, default=1, help="independent seeds (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--lr-schedule",
        choices=("global", "restart", "constant"),
        default="global",
        help="'global' (default): one decay over the whole run; 'restart': the same "
        "clean-phase schedule for every removal epoch; 'constant'",
    )
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--out", default="tutorial_04_output", help="folder for critical_periods.png/.csv"
    )
    args = ap.parse_args()

    kwargs = dict(TINY) if args.tiny else {}
    kwargs["n_repeats"] = args.repeats
    kwargs["lr_schedule"] = args.lr_schedule
    res = critical_periods(random_state=args.seed, device=args.device, **kwargs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res.history.to_csv(out / "critical_periods_history.csv", index=False)
    res.summary.to_csv(out / "critical_periods.csv", index=False)

    cols = [
        "removal",
        "total_epochs",
        "clean_epochs",
        "final_lr",
        "test_accuracy",
        "test_accuracy_std",
        "train_accuracy",
        "peak_fisher_epoch",
        "peak_fisher_trace",
    ]
    print(
        "final clean test accuracy by the epoch the blur was removed "
        f"({res.params['n_test']} test digits, {res.params['n_repeats']} repeat(s), "
        f"learning-rate schedule {res.params['lr_schedule']!r}):"
    )
    print(res.summary[cols].round(4).to_string(index=False))

    eff = res.effect()
    finite = res.summary[res.summary["removal_epoch"].notna()].sort_values("removal_epoch")
    acc = list(finite["test_accuracy"])
    monotone = all(a >= b for a, b in zip(acc, acc[1:], strict=False))  # neighbours
    se = (
        eff["acc_first_removal"]
        * (1 - eff["acc_first_removal"])
        / (res.params["n_test"] * res.params["n_repeats"])
    ) ** 0.5
    print(
        f"\nremoval at epoch {int(finite['removal_epoch'].iloc[0])}: "
        f"{eff['acc_first_removal']:.3f}; at epoch {int(finite['removal_epoch'].iloc[-1])}: "
        f"{eff['acc_last_removal']:.3f}; never removed: {eff['acc_never']:.3f}"
    )
    verdict = (
        "later removal -> lower accuracy"
        if eff["drop"] > 0
        else "no accuracy loss from later removal"
    )
    print(
        f"measured: {verdict} (drop {100 * eff['drop']:.1f} points, "
        f"{'monotone' if monotone else 'not monotone'} in the removal epoch; "
        f"binomial standard error of one accuracy ~{100 * se:.1f} points)"
    )
    if res.params["n_repeats"] > 1:
        sem = eff["drop_sd"] / res.params["n_repeats"] ** 0.5
        clear = eff["drop"] > 2 * sem
        print(
            f"paired drop over {res.params['n_repeats']} repeats (same initialisation and "
            f"minibatch order): {100 * eff['drop']:.1f} +/- {100 * eff['drop_sd']:.1f} points (sd); "
            f"{'more' if clear else 'less'} than 2 standard errors of the mean "
            f"({100 * 2 * sem:.1f} points): "
            f"{'an effect beyond seed noise' if clear else 'not distinguishable from seed noise'}"
        )
    if res.params["lr_schedule"] == "global":
        print(
            "note: with the 'global' schedule a later removal also trains its clean epochs at "
            "a smaller learning rate; rerun with --lr-schedule restart for the control"
        )
    h0 = res.history[res.history["removal"] == finite["removal"].iloc[0]]
    curve = h0.groupby("epoch")["fisher_trace"].mean()
    peak = int(curve.idxmax())
    print(
        f"Fisher trace (deficit removed at once): peak {curve.max():.1f} at epoch {peak} "
        f"of {int(curve.index.max())}, final {curve.iloc[-1]:.1f} "
        f"({'peaks early, then falls' if peak < curve.index.max() / 2 and curve.iloc[-1] < curve.max() else 'no early peak'})"
    )

    import matplotlib

    matplotlib.use("Agg")
    from mi_probe.plotting.critical_periods import plot_critical_periods

    axes = plot_critical_periods(res)
    axes[0].figure.tight_layout()
    axes[0].figure.savefig(out / "critical_periods.png", dpi=120)
    print(f"\nwrote {out / 'critical_periods.png'} and the CSVs in {out}")


if __name__ == "__main__":
    main()
