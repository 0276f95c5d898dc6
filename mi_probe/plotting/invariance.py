"""Per-layer figures for :func:`mi_probe.invariance` tables: information bars and scores.

Every function takes the tidy DataFrame (one row per layer, and per nuisance when several
tables are concatenated), draws with seaborn and returns the Axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._deps import require
from ._text import tex_safe, tex_safe_column

__all__ = ["plot_layer_information", "plot_invariance"]

_LABELS = {
    "I_zx": "I(x; z)",
    "I_zy": "I(z; y)",
    "I_zn": "I(z; n)",
    "I_zn_null": "null level of I(z; n)",
}


def _check(df: Any, needed: Sequence[str]) -> Any:
    pd = require("pandas", "plotting")
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"df is missing the columns {missing}; columns: {list(df.columns)}")
    if df.empty:
        raise ValueError("df has no rows")
    return pd


def plot_layer_information(
    df: Any,
    ax: Any = None,
    *,
    columns: Sequence[str] = ("I_zx", "I_zy", "I_zn"),
    show_null: bool = True,
) -> Any:
    """Grouped bars per layer of information quantities, in nats.

    Parameters
    ----------
    df : pandas.DataFrame
        A table from :func:`mi_probe.invariance` (columns ``layer`` and ``columns``).
    ax : matplotlib.axes.Axes, optional
    columns : sequence of str, default ("I_zx", "I_zy", "I_zn")
        Columns drawn as bars (any numeric columns in nats).
    show_null : bool, default True
        Mark ``I_zn_null`` (the permutation-test level) on the ``I_zn`` bars.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``df`` is not a DataFrame, is empty, or lacks ``layer`` or a column.
    """
    _check(df, ["layer", *columns])
    sns = require("seaborn", "plotting")
    plt = require("matplotlib.pyplot", "plotting")
    if ax is None:
        _, ax = plt.subplots(figsize=(max(5.0, 1.2 * df["layer"].nunique() + 2), 4))
    df = df.reset_index(drop=True)  # pd.concat(tables) repeats index labels
    df = tex_safe_column(df, "layer")  # names shown as typed, never as mathtext
    long = df.melt(
        id_vars=["layer"], value_vars=list(columns), var_name="quantity", value_name="nats"
    )
    long["quantity"] = long["quantity"].map(lambda c: _LABELS.get(c, tex_safe(c)))
    long["layer"] = long["layer"].astype(str)
    order = list(dict.fromkeys(df["layer"].astype(str)))
    sns.barplot(data=long, x="layer", y="nats", hue="quantity", order=order, ax=ax, errorbar=None)
    if show_null and "I_zn" in columns and "I_zn_null" in df.columns:
        k = len(columns)
        width = 0.8 / k
        pos = list(columns).index("I_zn")
        nulls = df.groupby(df["layer"].astype(str), sort=False)["I_zn_null"].mean()
        for i, layer in enumerate(order):
            x0 = i - 0.4 + pos * width
            ax.hlines(
                nulls.get(layer, np.nan),
                x0,
                x0 + width,
                colors="k",
                linestyles=":",
                label="permutation null (95%)" if i == 0 else None,
            )
    if ax.get_legend() is not None or show_null:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylabel("nats")
    ax.set_xlabel("layer")
    return ax


def plot_invariance(
    df: Any,
    ax: Any = None,
    *,
    hue: str | None = "nuisance",
) -> Any:
    """Invariance score ``1 - I(z; n) / I(x; n)`` per layer with its interval.

    A nuisance whose score is undefined on every layer (NaN: ``I(x; n)`` is not above its
    permutation null, so there is no nuisance information to be invariant to) gets no
    bars and no legend entry; the axes' title names the nuisances left out and why. When
    every nuisance is undefined the axes hold only that note (no empty bar chart).

    Parameters
    ----------
    df : pandas.DataFrame
        One or more :func:`mi_probe.invariance` tables (concatenated), with ``layer``,
        ``invariance`` and optionally ``invariance_low``/``invariance_high``.
    ax : matplotlib.axes.Axes, optional
    hue : str or None, default "nuisance"
        Column that splits the bars (ignored when absent).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``df`` is not a DataFrame, is empty, or lacks ``layer`` or ``invariance``.
    """
    _check(df, ["layer", "invariance"])
    sns = require("seaborn", "plotting")
    plt = require("matplotlib.pyplot", "plotting")
    data = df.reset_index(drop=True)  # pd.concat(tables) repeats index labels
    use_hue = hue if hue is not None and hue in data.columns else None
    score = data["invariance"].astype(float)
    if use_hue is not None:
        defined = score.notna().groupby(data[use_hue].astype(str), sort=False).any()
        left_out = [str(g) for g, ok in defined.items() if not ok]
        data = data[data[use_hue].astype(str).map(defined)].reset_index(drop=True)
    else:
        left_out = [] if score.notna().any() else ["the nuisance"]
        if left_out:
            data = data.iloc[:0]
    note = (
        "Left out, invariance undefined (I(x; n) not above its permutation null): "
        + ", ".join(left_out)
        if left_out
        else ""
    )
    data = tex_safe_column(data, "layer")  # names shown as typed, never as mathtext
    if use_hue is not None:
        data = tex_safe_column(data, use_hue)
    order = list(dict.fromkeys(data["layer"]))
    if ax is None:
        width = max(5.0, 1.2 * len(order) + 2) if order else 6.0
        _, ax = plt.subplots(figsize=(width, 4 if order else 1.6))
    if data.empty:  # every nuisance undefined: a note, not an empty bar chart
        ax.axis("off")
        ax.text(
            0.5,
            0.5,
            tex_safe("No invariance score to draw: " + note.replace("Left out, ", "")),
            ha="center",
            va="center",
            wrap=True,
            fontsize=9,
            transform=ax.transAxes,
        )
        return ax
    sns.barplot(
        data=data, x="layer", y="invariance", hue=use_hue, order=order, ax=ax, errorbar=None
    )
    if {"invariance_low", "invariance_high"} <= set(data.columns):
        groups = list(dict.fromkeys(data[use_hue])) if use_hue else [None]
        k = len(groups)
        width = 0.8 / k
        for g_i, g in enumerate(groups):
            sub = data if g is None else data[data[use_hue] == g]
            for _, row in sub.iterrows():
                i = order.index(row["layer"])
                x = i - 0.4 + (g_i + 0.5) * width
                lo, hi, v = row["invariance_low"], row["invariance_high"], row["invariance"]
                if np.isfinite([lo, hi, v]).all():
                    ax.errorbar(x, v, yerr=[[v - lo], [hi - v]], color="k", capsize=3, lw=1)
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    if note:
        ax.set_title(tex_safe(note), fontsize=8, loc="left", wrap=True)
    ax.set_ylabel("invariance  1 - I(z;n) / I(x;n)")
    ax.set_xlabel("layer")
    return ax
