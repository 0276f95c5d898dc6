"""Information-plane figures from the tidy table of :class:`~mi_probe.InformationPlaneRecorder`.

Every function takes the DataFrame (columns ``epoch, layer, estimator, I_XT, I_TY``, in
nats), draws with matplotlib/seaborn and returns the Axes; :func:`save_figure` writes
PNG or SVG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._deps import require

__all__ = [
    "plot_information_plane",
    "plot_layer_grid",
    "plot_mi_over_epochs",
    "save_figure",
    "MARKERS",
]

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
_LN2 = math.log(2.0)
_REQUIRED = ("epoch", "layer", "estimator", "I_XT", "I_TY")


def _plt() -> Any:
    require("matplotlib", "plotting")
    import matplotlib.pyplot as plt

    return plt


def _check_df(df: Any, estimator: str | None, layers: Sequence[str] | None) -> Any:
    pd = require("pandas", "plotting")
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"df is missing the columns {missing}")
    if df.empty:
        raise ValueError("df has no rows")
    names = list(dict.fromkeys(df["estimator"].astype(str)))
    if estimator is None:
        if len(names) > 1:
            raise ValueError(f"estimator must be given: df holds several estimators {names}")
        estimator = names[0]
    if estimator not in names:
        raise ValueError(f"estimator {estimator!r} is not in df; it holds {names}")
    sub = df[df["estimator"].astype(str) == estimator].copy()
    sub["layer"] = sub["layer"].astype(str)
    order = list(dict.fromkeys(sub["layer"]))
    if layers is not None:
        layers = [str(layer) for layer in layers]
        unknown = [layer for layer in layers if layer not in order]
        if unknown:
            raise ValueError(f"layers {unknown} are not in df; it holds {order}")
        order = layers
        sub = sub[sub["layer"].isin(order)]
    return sub, estimator, order


def _scale(unit: str) -> float:
    if unit not in ("bits", "nats"):
        raise ValueError(f"unit must be 'bits' or 'nats', got {unit!r}")
    return 1.0 / _LN2 if unit == "bits" else 1.0


def _epoch_norm(epochs: np.ndarray) -> Any:
    from matplotlib.colors import LogNorm, Normalize, SymLogNorm

    lo, hi = float(np.min(epochs)), float(np.max(epochs))
    if lo > 0 and hi / lo >= 20:
        return LogNorm(vmin=lo, vmax=hi)
    if lo == 0 and hi >= 20:  # log-spaced schedules that start at epoch 0
        return SymLogNorm(linthresh=1.0, linscale=0.5, vmin=0.0, vmax=hi)
    return Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)


def plot_information_plane(
    df: Any,
    *,
    estimator: str | None = None,
    layers: Sequence[str] | None = None,
    ax: Any = None,
    bound: Any = None,
    unit: str = "bits",
    cmap: str = "viridis",
    colorbar: bool = True,
    legend: bool = True,
    title: str | None = None,
) -> Any:
    """The information plane: one trajectory per layer, coloured by epoch.

    Parameters
    ----------
    df : pandas.DataFrame
        The recorder's table (``epoch, layer, estimator, I_XT, I_TY`` in nats).
    estimator : str, optional
        Which estimator's rows to draw (required when ``df`` holds several).
    layers : sequence of str, optional
        Layers to draw, in this order (default: all, in table order).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    bound : pandas.DataFrame, optional
        A curve with ``I_XT`` and ``I_TY`` columns in nats (for example an
        information-bottleneck bound from :mod:`mi_probe.ib`), drawn as a dashed line.
    unit : {"bits", "nats"}
        Axis unit (values are converted from nats).
    cmap : str
        Colormap of the epoch colouring (log scale when epochs span >= 20x; symmetric-log
        when they start at 0).
    colorbar, legend : bool
        Draw the epoch colour bar and the layer-marker legend.
    title : str, optional
        Axes title (default: the estimator name).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``df`` not a DataFrame, missing columns or rows, unknown ``estimator`` /
        ``layers``, bad ``unit``, or ``bound`` without ``I_XT``/``I_TY``.
    """
    plt = _plt()
    sub, estimator, order = _check_df(df, estimator, layers)
    k = _scale(unit)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.2))
    norm = _epoch_norm(sub["epoch"].to_numpy(dtype=float))
    sc = None
    for i, layer in enumerate(order):
        d = sub[sub["layer"] == layer].sort_values("epoch")
        xs, ys = d["I_XT"].to_numpy() * k, d["I_TY"].to_numpy() * k
        ax.plot(xs, ys, color="0.65", lw=0.8, zorder=1)
        sc = ax.scatter(
            xs,
            ys,
            c=d["epoch"].to_numpy(dtype=float),
            cmap=cmap,
            norm=norm,
            marker=MARKERS[i % len(MARKERS)],
            s=28,
            edgecolors="k",
            linewidths=0.3,
            zorder=2,
            label=str(layer),
        )
    if bound is not None:
        pd = require("pandas", "plotting")
        if not isinstance(bound, pd.DataFrame) or not {"I_XT", "I_TY"} <= set(bound.columns):
            raise ValueError("bound must be a DataFrame with I_XT and I_TY columns (nats)")
        b = bound.sort_values("I_XT")
        ax.plot(b["I_XT"] * k, b["I_TY"] * k, "k--", lw=1.2, label="IB bound", zorder=3)
    ax.set_xlabel(f"I(X;T) [{unit}]")
    ax.set_ylabel(f"I(T;Y) [{unit}]")
    ax.set_title(title if title is not None else estimator)
    if colorbar and sc is not None:
        ax.figure.colorbar(sc, ax=ax, label="epoch")
    if legend:
        leg = ax.legend(title="layer", fontsize=7, title_fontsize=7, loc="best", markerscale=0.8)
        for h in getattr(leg, "legend_handles", getattr(leg, "legendHandles", [])):
            if hasattr(h, "set_facecolor"):
                h.set_facecolor("0.8")
    return ax


def plot_layer_grid(
    df: Any,
    *,
    estimator: str | None = None,
    layers: Sequence[str] | None = None,
    ncols: int = 3,
    unit: str = "bits",
    cmap: str = "viridis",
    sharex: bool = True,
    sharey: bool = True,
) -> np.ndarray:
    """Small multiples: one information-plane panel per layer.

    Parameters
    ----------
    df, estimator, layers, unit, cmap
        As in :func:`plot_information_plane`.
    ncols : int
        Panels per row.
    sharex, sharey : bool
        Share the axis ranges between panels.

    Returns
    -------
    numpy.ndarray of matplotlib Axes
        One per layer, in order (unused panels of the grid are removed).

    Raises
    ------
    ValueError
        As :func:`plot_information_plane`, or ``ncols < 1``.
    """
    plt = _plt()
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be an integer >= 1, got {ncols!r}")
    sub, estimator, order = _check_df(df, estimator, layers)
    _scale(unit)
    n = len(order)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.2 * ncols, 2.8 * nrows),
        sharex=sharex,
        sharey=sharey,
        squeeze=False,
    )
    flat = axes.ravel()
    for i, layer in enumerate(order):
        plot_information_plane(
            sub,
            estimator=estimator,
            layers=[layer],
            ax=flat[i],
            unit=unit,
            cmap=cmap,
            colorbar=False,
            legend=False,
            title=str(layer),
        )
    for j in range(n, flat.size):
        fig.delaxes(flat[j])
    from matplotlib.cm import ScalarMappable

    sm = ScalarMappable(norm=_epoch_norm(sub["epoch"].to_numpy(dtype=float)), cmap=cmap)
    fig.colorbar(sm, ax=list(flat[:n]), label="epoch", shrink=0.8)
    fig.suptitle(estimator)
    return flat[:n]


def plot_mi_over_epochs(
    df: Any,
    *,
    estimator: str | None = None,
    layers: Sequence[str] | None = None,
    quantities: Sequence[str] = ("I_XT", "I_TY"),
    unit: str = "bits",
    logx: bool = True,
    axes: Any = None,
) -> np.ndarray:
    """Each quantity against the epoch, one line per layer (one panel per quantity).

    Parameters
    ----------
    df, estimator, layers, unit
        As in :func:`plot_information_plane`.
    quantities : sequence of {"I_XT", "I_TY"} or other numeric columns
        What to draw (one panel each); loss columns work too.
    logx : bool
        Log-scale epoch axis (when all epochs are > 0).
    axes : sequence of Axes, optional
        One per quantity (default: a new figure).

    Returns
    -------
    numpy.ndarray of matplotlib Axes

    Raises
    ------
    ValueError
        As :func:`plot_information_plane`, an unknown quantity, or ``axes`` of the
        wrong length.
    """
    plt = _plt()
    sns = require("seaborn", "plotting")
    sub, estimator, order = _check_df(df, estimator, layers)
    k = _scale(unit)
    quantities = [quantities] if isinstance(quantities, str) else list(quantities)
    for q in quantities:
        if q not in sub.columns:
            raise ValueError(f"quantities: {q!r} is not a column of df")
    if axes is None:
        _, axes = plt.subplots(
            1, len(quantities), figsize=(4.6 * len(quantities), 3.6), squeeze=False
        )
        axes = axes.ravel()
    else:
        axes = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
        if axes.size != len(quantities):
            raise ValueError(f"axes must hold {len(quantities)} Axes, got {axes.size}")
    plot_df = sub.copy()
    for q, ax in zip(quantities, axes):
        is_mi = q.startswith("I_")
        plot_df["_value"] = plot_df[q] * (k if is_mi else 1.0)
        sns.lineplot(
            data=plot_df,
            x="epoch",
            y="_value",
            hue="layer",
            hue_order=order,
            style="layer",
            style_order=order,
            markers=list(MARKERS[: len(order)]),
            dashes=False,
            ax=ax,
            legend=ax is axes[-1],
        )
        label = {"I_XT": "I(X;T)", "I_TY": "I(T;Y)"}.get(q, q)
        ax.set_ylabel(f"{label} [{unit}]" if is_mi else label)
        if logx and (plot_df["epoch"] > 0).all():
            ax.set_xscale("log")
        ax.set_title(estimator)
    return axes


def save_figure(obj: Any, path: Any, *, dpi: int = 150) -> Path:
    """Save the figure of an Axes (or array of Axes, or Figure) to PNG or SVG.

    Raises
    ------
    ValueError
        ``path`` does not end in ``.png`` or ``.svg``.
    """
    p = Path(path)
    if p.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"path must end in .png or .svg, got {str(p)!r}")
    if isinstance(obj, np.ndarray):
        obj = obj.ravel()[0]
    fig = getattr(obj, "figure", obj)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=dpi, bbox_inches="tight")
    return p
