"""Plot the information in the weights per layer over training."""

from __future__ import annotations

from typing import Any

from .._deps import require
from ._text import tex_safe

__all__ = ["plot_weight_information"]

_UNITS = {
    "information": "information in the weights (nats)",
    "kl": "KL(q || p) (nats)",
    "norm_term": "norm term (nats)",
    "logdet_term": "log-det term (nats)",
    "trace_term": "trace term (nats)",
    "fisher_trace": "Fisher trace (nats per sample)",
}


def plot_weight_information(
    df: Any,
    ax: Any = None,
    *,
    y: str = "information",
    hue: str = "layer",
    logy: bool = False,
) -> Any:
    """Line plot of a per-layer weight-information column against the epoch.

    Parameters
    ----------
    df : pandas.DataFrame
        Tidy rows with at least ``epoch``, ``hue`` and ``y`` columns, as returned by
        ``WeightInformationRecorder.to_frame()`` or ``WeightInformationRecorder.load``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when None.
    y : str, default "information"
        Column to plot (``"information"`` or ``"fisher_trace"`` are the usual ones).
    hue : str, default "layer"
        Column that splits the lines.
    logy : bool, default False
        Log-scale y axis (the Fisher trace spans decades early in training).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``df`` is missing ``epoch``, ``y`` or ``hue``.
    """
    plt = require("matplotlib.pyplot", "plotting")
    sns = require("seaborn", "plotting")
    for col, what in (("epoch", "epoch"), (y, f"y={y!r}"), (hue, f"hue={hue!r}")):
        if col not in df.columns:
            raise ValueError(
                f"df is missing the column {col!r} ({what}); columns: {list(df.columns)}"
            )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    data = df.copy()
    data[hue] = data[hue].astype(str).map(tex_safe)  # drawn as typed, never as mathtext
    sns.lineplot(data=data, x="epoch", y=y, hue=hue, marker="o", ax=ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel(_UNITS.get(y, f"{y} (nats)"))
    if logy:
        ax.set_yscale("log")
    return ax
