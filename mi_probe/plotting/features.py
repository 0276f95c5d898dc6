"""Figures for per-feature and pairwise mutual information: a heatmap and unit bars."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._deps import require
from ._text import tex_safe

__all__ = ["plot_pairwise_mi", "plot_feature_mi"]


def plot_pairwise_mi(
    mi: Any,
    ax: Any = None,
    *,
    max_features: int = 40,
    annotate: bool | None = None,
    cmap: str = "viridis",
) -> Any:
    """Heatmap of ``I(X_i; X_j)`` in nats, from :func:`mi_probe.pairwise_mi`.

    Parameters
    ----------
    mi : pandas.DataFrame or array-like, shape (p, p)
        A square, symmetric matrix; labels are taken from a DataFrame's columns. The
        NaN diagonal is drawn blank.
    ax : matplotlib.axes.Axes, optional
    max_features : int, default 40
        Show only the features with the largest MI with any other (kept in order).
    annotate : bool, optional
        Write the values in the cells (default: when at most 12 features are shown).
    cmap : str, default "viridis"

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``mi`` is not a non-empty square matrix, or ``max_features < 1``.
    ModuleNotFoundError
        When seaborn or matplotlib is not installed.
    """
    sns = require("seaborn", "plotting")
    plt = require("matplotlib.pyplot", "plotting")
    labels = list(mi.columns) if hasattr(mi, "to_numpy") and hasattr(mi, "columns") else None
    m = np.asarray(mi, dtype=float)
    if m.ndim != 2 or m.size == 0 or m.shape[0] != m.shape[1]:
        raise ValueError(f"mi must be a non-empty square matrix, got shape {m.shape}")
    if max_features < 1:
        raise ValueError(f"max_features must be >= 1, got {max_features}")
    labels = labels if labels is not None else list(range(m.shape[0]))
    if m.shape[0] > max_features:
        strength = np.nanmax(np.where(np.isnan(m), -np.inf, m), axis=1)
        keep = np.sort(np.argsort(-strength, kind="stable")[:max_features])
        m = m[np.ix_(keep, keep)]
        labels = [labels[i] for i in keep]
    if annotate is None:
        annotate = m.shape[0] <= 12
    if ax is None:
        side = 1.5 + 0.35 * m.shape[0]
        _, ax = plt.subplots(figsize=(side + 1.0, side))
    sns.heatmap(
        m,
        ax=ax,
        cmap=cmap,
        vmin=0.0,
        square=True,
        annot=annotate,
        fmt=".2f",
        xticklabels=[tex_safe(c) for c in labels],
        yticklabels=[tex_safe(c) for c in labels],
        mask=np.isnan(m),
        cbar_kws={"label": "I(X_i; X_j)  (nats)"},
    )
    ax.set_title("pairwise mutual information")
    return ax


def plot_feature_mi(mi: Any, ax: Any = None, *, top: int | None = 30, target: str = "y") -> Any:
    """Bars of ``I(X_j; y)`` in nats per feature (unit), largest first.

    Parameters
    ----------
    mi : pandas.Series or array-like, shape (p,)
        From :func:`mi_probe.mutual_info_features`.
    ax : matplotlib.axes.Axes, optional
    top : int or None, default 30
        Show the ``top`` largest (None: all).
    target : str, default "y"
        Name of the target in the axis label.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``mi`` is not a non-empty 1-D array, or ``top < 1``.
    ModuleNotFoundError
        When matplotlib is not installed.
    """
    plt = require("matplotlib.pyplot", "plotting")
    labels = list(mi.index) if hasattr(mi, "to_numpy") else None
    v = np.asarray(mi, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"mi must be a non-empty 1-D array, got shape {v.shape}")
    if top is not None and top < 1:
        raise ValueError(f"top must be >= 1 or None, got {top}")
    labels = labels if labels is not None else list(range(v.size))
    order = np.argsort(-v, kind="stable")[: top or v.size]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.25 * order.size + 1.5), 3.0))
    ax.bar(np.arange(order.size), v[order], color="C0")
    ax.set_xticks(np.arange(order.size))
    ax.set_xticklabels([tex_safe(labels[i]) for i in order], rotation=90)
    ax.set_ylabel(tex_safe(f"I(X_j; {target})  (nats)"))
    ax.set_xlabel("feature")
    return ax
