"""Plot a critical-period experiment: accuracy vs removal epoch, Fisher trace over training."""

from __future__ import annotations

from typing import Any

from .._deps import require

__all__ = ["plot_critical_periods"]


def plot_critical_periods(result: Any, axes: Any = None, *, logy: bool = True) -> Any:
    """Two panels: final clean test accuracy against the epoch the blur was removed, and
    the Fisher trace per epoch for each removal epoch.

    Parameters
    ----------
    result : CriticalPeriodsResult
        As returned by :func:`mi_probe.experiments.critical_periods` (``summary`` and
        ``history`` DataFrames).
    axes : sequence of two matplotlib Axes, optional
        Where to draw; a new 1x2 figure when None.
    logy : bool, default True
        Log-scale Fisher-trace axis.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        The two axes.

    Raises
    ------
    ValueError
        ``result`` lacks ``summary``/``history`` or their columns, or ``axes`` is not two
        axes.
    """
    plt = require("matplotlib.pyplot", "plotting")
    sns = require("seaborn", "plotting")
    np = require("numpy", "plotting")
    summary = getattr(result, "summary", None)
    history = getattr(result, "history", None)
    if summary is None or history is None:
        raise ValueError(
            "result must be a CriticalPeriodsResult (with summary and history), "
            f"got {type(result).__name__}"
        )
    need = {
        "summary": ("removal", "removal_epoch", "test_accuracy"),
        "history": ("removal", "epoch", "fisher_trace"),
    }
    for name, df in (("summary", summary), ("history", history)):
        missing = [c for c in need[name] if c not in df.columns]
        if missing:
            raise ValueError(f"result.{name} is missing columns {missing}")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes = np.asarray(axes).reshape(-1)
    if axes.size != 2:
        raise ValueError(f"axes must be two Axes, got {axes.size}")
    ax0, ax1 = axes
    finite = summary[summary["removal_epoch"].notna()].sort_values("removal_epoch")
    err = finite.get("test_accuracy_std", None)
    ax0.errorbar(
        finite["removal_epoch"],
        finite["test_accuracy"],
        yerr=err,
        marker="o",
        capsize=3,
        label="deficit removed",
    )
    never = summary[summary["removal_epoch"].isna()]
    if len(never):
        ax0.axhline(
            float(never["test_accuracy"].iloc[0]), color="grey", ls="--", label="never removed"
        )
    ax0.set_xlabel("epoch the blur was removed")
    ax0.set_ylabel("final test accuracy (clean digits)")
    ax0.legend()
    data = history.copy()
    data["removal"] = data["removal"].astype(str)
    order = list(summary["removal"].astype(str))
    sns.lineplot(data=data, x="epoch", y="fisher_trace", hue="removal", hue_order=order, ax=ax1)
    ax1.set_ylabel("Fisher trace (nats per sample)")
    ax1.legend(title="blur removed at")
    if logy:
        ax1.set_yscale("log")
    return axes
