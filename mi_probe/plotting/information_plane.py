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
from ._text import tex_safe

__all__ = [
    "plot_information_plane",
    "plot_layer_grid",
    "plot_mi_over_epochs",
    "plot_depth_profile",
    "plot_noise_profile",
    "save_figure",
    "MARKERS",
]

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
_LN2 = math.log(2.0)
_REQUIRED = ("layer", "estimator", "I_XT", "I_TY")
_LABELS = {"I_XT": "I(X;T)", "I_TY": "I(T;Y)"}


def _is_snapshot(sub: Any) -> bool:
    """One recording (no ``epoch`` column, or a single epoch): a pretrained model."""
    return "epoch" not in sub.columns or sub["epoch"].nunique(dropna=False) <= 1


def _require_epochs(sub: Any, what: str) -> None:
    if "epoch" not in sub.columns:
        raise ValueError(
            f"df has no epoch column (a single recording): {what} draws values over "
            "epochs; use plot_information_plane or plot_depth_profile for one snapshot"
        )


def short_name(name: str, width: int = 16) -> str:
    """A dotted layer name broken at dots onto lines of about ``width`` characters.

    ``$`` is escaped, so the name is drawn as typed, never as mathtext.
    """
    name = str(name)
    if len(name) <= width or "." not in name:
        return tex_safe(name)
    lines, cur = [], ""
    for part in name.split("."):
        piece = part if not cur else "." + part
        if cur and len(cur) + len(piece) > width:
            lines.append(cur)
            cur = "." + part
        else:
            cur += piece
    lines.append(cur)
    return tex_safe("\n".join(lines))


def _layer_axis(ax: Any, order: Sequence[str]) -> None:
    """Layer names on the x axis, in depth order, rotated so long names never overlap."""
    ax.set_xticks(range(len(order)))
    rotate = max((len(str(n)) for n in order), default=0) > 4 or len(order) > 8
    ax.set_xticklabels(
        [short_name(n) for n in order],
        rotation=35 if rotate else 0,
        ha="right" if rotate else "center",
        fontsize=8,
    )
    ax.set_xlabel("layer (input to output)")


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
    sub = df[df["estimator"].astype(str) == estimator].reset_index(drop=True)
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

    A table without an ``epoch`` column (or with one epoch: a pretrained model recorded
    once) is drawn as one point per layer, joined in depth order (table order), with
    the rows' intervals as error bars where present and no epoch colour bar.

    Parameters
    ----------
    df : pandas.DataFrame
        The recorder's table (``layer, estimator, I_XT, I_TY`` in nats; ``epoch`` for
        trajectories; ``I_XT_low`` ... ``I_TY_high`` for error bars).
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
        _, ax = plt.subplots(figsize=(5.5, 4.2), layout="constrained")
    if _is_snapshot(sub):
        _snapshot_plane(ax, sub, order, k, legend)
        _finish_plane(ax, bound, k, unit, title if title is not None else tex_safe(estimator))
        return ax
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
            label=tex_safe(layer),
        )
    _finish_plane(ax, bound, k, unit, title if title is not None else tex_safe(estimator))
    if colorbar and sc is not None:
        ax.figure.colorbar(sc, ax=ax, label="epoch")
    if legend:
        leg = ax.legend(title="layer", fontsize=7, title_fontsize=7, loc="best", markerscale=0.8)
        for h in getattr(leg, "legend_handles", getattr(leg, "legendHandles", [])):
            if hasattr(h, "set_facecolor"):
                h.set_facecolor("0.8")
    return ax


def _finish_plane(ax: Any, bound: Any, k: float, unit: str, title: str) -> None:
    if bound is not None:
        pd = require("pandas", "plotting")
        if not isinstance(bound, pd.DataFrame) or not {"I_XT", "I_TY"} <= set(bound.columns):
            raise ValueError("bound must be a DataFrame with I_XT and I_TY columns (nats)")
        b = bound.sort_values("I_XT")
        ax.plot(b["I_XT"] * k, b["I_TY"] * k, "k--", lw=1.2, label="IB bound", zorder=3)
        if ax.get_legend() is not None:
            ax.legend(fontsize=7, title_fontsize=7, loc="best")
    ax.set_xlabel(f"I(X;T) [{unit}]")
    ax.set_ylabel(f"I(T;Y) [{unit}]")
    ax.set_title(title)


def _err(sub: Any, col: str, k: float) -> Any:
    """Asymmetric error bars ``[[v - low], [high - v]]`` from ``col_low/col_high``."""
    lo, hi = f"{col}_low", f"{col}_high"
    if lo not in sub.columns or hi not in sub.columns:
        return None
    v = sub[col].to_numpy(dtype=float)
    low = np.clip(v - sub[lo].to_numpy(dtype=float), 0.0, None)
    high = np.clip(sub[hi].to_numpy(dtype=float) - v, 0.0, None)
    if not (np.isfinite(low).any() or np.isfinite(high).any()):
        return None
    return np.nan_to_num(np.vstack([low, high])) * k


def _snapshot_plane(ax: Any, sub: Any, order: Sequence[str], k: float, legend: bool) -> None:
    """One point per layer joined in depth order; colour by depth (no colour bar)."""
    plt = _plt()
    pts = sub.drop_duplicates("layer", keep="last").set_index("layer").loc[list(order)]
    xs, ys = pts["I_XT"].to_numpy(dtype=float) * k, pts["I_TY"].to_numpy(dtype=float) * k
    ax.plot(xs, ys, color="0.55", lw=1.0, zorder=1)
    xerr, yerr = _err(pts, "I_XT", k), _err(pts, "I_TY", k)
    if xerr is not None or yerr is not None:
        ax.errorbar(xs, ys, xerr=xerr, yerr=yerr, fmt="none", ecolor="0.4", lw=0.8, zorder=1)
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(len(order), 1)))
    for i, layer in enumerate(order):
        ax.scatter(
            xs[i],
            ys[i],
            color=colors[i],
            marker=MARKERS[i % len(MARKERS)],
            s=42,
            edgecolors="k",
            linewidths=0.4,
            zorder=2,
            label=tex_safe(layer),
        )
    if legend:
        ax.legend(title="layer (input to output)", fontsize=7, title_fontsize=7, loc="best")


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
    _require_epochs(sub, "plot_layer_grid")
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
        layout="constrained",
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
            title=short_name(layer, 24),
        )
        flat[i].title.set_fontsize(8)
    for j in range(n, flat.size):
        fig.delaxes(flat[j])
    from matplotlib.cm import ScalarMappable

    sm = ScalarMappable(norm=_epoch_norm(sub["epoch"].to_numpy(dtype=float)), cmap=cmap)
    fig.colorbar(sm, ax=list(flat[:n]), label="epoch", shrink=0.8)
    fig.suptitle(tex_safe(estimator))
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
    _require_epochs(sub, "plot_mi_over_epochs")
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
    for q, ax in zip(quantities, axes, strict=True):
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
        ax.set_title(tex_safe(estimator))
    return axes


def plot_depth_profile(
    df: Any,
    *,
    estimator: str | None = None,
    layers: Sequence[str] | None = None,
    quantities: Sequence[str] = ("I_TY", "I_XT"),
    epoch: Any = None,
    unit: str = "nats",
    ceilings: bool = True,
    axes: Any = None,
) -> np.ndarray:
    """Each quantity against depth (layers in table order), with its interval.

    For a pretrained model recorded once: with the default estimator ``"usable+noise"``,
    ``I_TY`` is the usable information (a lower bound on I(T;Y)) and ``I_XT`` the
    relative-noise summary ``I(X; T + sigma Z)``.

    Parameters
    ----------
    df, estimator, layers, unit
        As in :func:`plot_information_plane` (``epoch`` optional).
    quantities : sequence of str
        Columns to draw, one panel each; ``<q>_low``/``<q>_high`` give the band.
    epoch : optional
        Which epoch to draw when ``df`` holds several (default: the last).
    ceilings : bool
        Draw the hard ceilings (``ceiling_TY`` = H(Y), ``ceiling_XT`` = ln n) where the
        table has them.
    axes : sequence of Axes, optional
        One per quantity (default: a new figure).

    Returns
    -------
    numpy.ndarray of matplotlib Axes

    Raises
    ------
    ValueError
        As :func:`plot_information_plane`, an unknown quantity or epoch, or ``axes`` of
        the wrong length.
    """
    plt = _plt()
    sub, estimator, order = _check_df(df, estimator, layers)
    k = _scale(unit)
    quantities = [quantities] if isinstance(quantities, str) else list(quantities)
    for q in quantities:
        if q not in sub.columns:
            raise ValueError(f"quantities: {q!r} is not a column of df")
    if "epoch" in sub.columns and sub["epoch"].nunique(dropna=False) > 1:
        epochs = list(dict.fromkeys(sub["epoch"]))
        if epoch is None:
            epoch = max(epochs)
        if epoch not in epochs:
            raise ValueError(f"epoch {epoch!r} is not in df; it holds {epochs}")
        sub = sub[sub["epoch"] == epoch]
    if axes is None:
        _, axes = plt.subplots(
            1,
            len(quantities),
            figsize=(max(4.2, 0.55 * len(order) + 2.2) * len(quantities), 3.8),
            squeeze=False,
            layout="constrained",
        )
        axes = axes.ravel()
    else:
        axes = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
        if axes.size != len(quantities):
            raise ValueError(f"axes must hold {len(quantities)} Axes, got {axes.size}")
    pts = sub.drop_duplicates("layer", keep="last").set_index("layer").loc[list(order)]
    pos = np.arange(len(order))
    for q, ax in zip(quantities, axes, strict=True):
        v = pts[q].to_numpy(dtype=float) * k
        ax.plot(pos, v, "o-", color="C0", ms=5, lw=1.2, label=_LABELS.get(q, q))
        lo, hi = f"{q}_low", f"{q}_high"
        if lo in pts.columns and hi in pts.columns:
            low, high = pts[lo].to_numpy(dtype=float) * k, pts[hi].to_numpy(dtype=float) * k
            if np.isfinite(low).any():
                ax.fill_between(pos, low, high, color="C0", alpha=0.25, lw=0, label="interval")
        ceiling_col = {"I_TY": "ceiling_TY", "I_XT": "ceiling_XT"}.get(q)
        if ceilings and ceiling_col in pts.columns:
            c = float(np.nanmax(pts[ceiling_col].to_numpy(dtype=float))) * k
            if np.isfinite(c):
                name = "H(Y)" if q == "I_TY" else "ln n"
                ax.axhline(c, color="0.4", ls="--", lw=0.9, label=f"ceiling {name}")
        label = _LABELS.get(q, q)
        ax.set_ylabel(f"{label} [{unit}]" if q.startswith("I_") else label)
        title = label
        if q == "I_TY" and estimator == "usable+noise":
            title = "usable information I(T;Y) (lower bound)"
        elif q == "I_XT" and estimator == "usable+noise" and "sigma_relative" in pts.columns:
            title = f"I(X; T + sigma Z), sigma = {float(pts['sigma_relative'].iloc[0]):g} x scale"
        ax.set_title(title, fontsize=9)
        _layer_axis(ax, order)
        ax.set_ylim(bottom=0.0)
        ax.legend(fontsize=7, loc="best")
    return axes


def plot_noise_profile(
    profiles: Any,
    *,
    by: str | None = None,
    ax: Any = None,
    unit: str = "nats",
    logx: bool = True,
    mark_sigma: float | None = None,
) -> Any:
    """Noise-profile curves ``I(X; T + sigma Z)`` against the relative noise scale.

    Parameters
    ----------
    profiles : pandas.DataFrame or mapping of str to DataFrame
        Tables from :func:`mi_probe.estimators.noise_profile.noise_profile`
        (``sigma_relative``, ``I_XT`` in nats; ``lower``/``upper`` for a band,
        ``ceiling`` for ln n), concatenated with a ``layer`` or ``epoch`` column, or a
        mapping ``{layer: table}``.
    by : str, optional
        The column that separates the curves (default: ``"layer"`` if present, else
        ``"epoch"``); its values are kept in table order (depth order for layers).
    ax : matplotlib Axes, optional
    unit : {"bits", "nats"}
    logx : bool
        Log-scale sigma axis.
    mark_sigma : float, optional
        Draw a vertical line at this relative sigma (e.g. the recorder's summary scale).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        Not a DataFrame or mapping of them, missing columns, no rows, bad ``unit``, or
        ``by`` not a column.
    """
    plt = _plt()
    pd = require("pandas", "plotting")
    if isinstance(profiles, dict) or (
        hasattr(profiles, "items") and not isinstance(profiles, pd.DataFrame)
    ):
        parts = []
        for name, t in profiles.items():
            if not isinstance(t, pd.DataFrame):
                raise ValueError(f"profiles[{name!r}] must be a DataFrame, got {type(t).__name__}")
            parts.append(t.assign(layer=str(name)))
        if not parts:
            raise ValueError("profiles has no rows")
        profiles = pd.concat(parts, ignore_index=True)
    if not isinstance(profiles, pd.DataFrame):
        raise ValueError(f"profiles must be a DataFrame, got {type(profiles).__name__}")
    missing = [c for c in ("sigma_relative", "I_XT") if c not in profiles.columns]
    if missing:
        raise ValueError(f"profiles is missing the columns {missing}")
    if profiles.empty:
        raise ValueError("profiles has no rows")
    k = _scale(unit)
    if by is None:
        by = "layer" if "layer" in profiles.columns else ("epoch" if "epoch" in profiles else None)
    elif by not in profiles.columns:
        raise ValueError(f"by: {by!r} is not a column of profiles")
    data = profiles.reset_index(drop=True)
    groups = list(dict.fromkeys(data[by])) if by is not None else [None]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 4.0), layout="constrained")
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(len(groups), 1)))
    for i, g in enumerate(groups):
        d = data if g is None else data[data[by] == g]
        d = d.sort_values("sigma_relative")
        s = d["sigma_relative"].to_numpy(dtype=float)
        label = (
            None if g is None else (short_name(g, 24) if by == "layer" else tex_safe(f"{by} {g}"))
        )
        ax.plot(s, d["I_XT"].to_numpy(dtype=float) * k, "-", color=colors[i], lw=1.4, label=label)
        if {"lower", "upper"} <= set(d.columns):
            ax.fill_between(
                s,
                d["lower"].to_numpy(dtype=float) * k,
                d["upper"].to_numpy(dtype=float) * k,
                color=colors[i],
                alpha=0.2,
                lw=0,
            )
    if "ceiling" in data.columns:
        c = float(np.nanmax(data["ceiling"].to_numpy(dtype=float))) * k
        ax.axhline(c, color="0.4", ls="--", lw=0.9, label="ln n")
    if mark_sigma is not None:
        ax.axvline(float(mark_sigma), color="0.3", ls=":", lw=1.0, label=f"sigma = {mark_sigma:g}")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("relative noise scale sigma (x RMS distance between samples)")
    ax.set_ylabel(f"I(X; T + sigma Z) [{unit}]")
    ax.set_ylim(bottom=0.0)
    ax.set_title("noise profile", fontsize=9)
    ax.legend(fontsize=7, loc="best", title=None if by is None else tex_safe(by), title_fontsize=7)
    return ax


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
