"""Disentanglement figures: the heatmap of I(z_i; v_j) and score bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._deps import require
from ._text import tex_safe

__all__ = ["plot_mi_heatmap", "plot_disentanglement_scores", "plot_tradeoff"]


def plot_mi_heatmap(
    mi: Any,
    ax: Any = None,
    *,
    code_names: Sequence[str] | None = None,
    factor_names: Sequence[str] | None = None,
    max_codes: int = 30,
    annotate: bool | None = None,
) -> Any:
    """Heatmap of ``I(z_i; v_j)`` in nats (codes as rows, factors as columns).

    Parameters
    ----------
    mi : array-like, shape (n_codes, n_factors)
        From :func:`mi_probe.analysis.disentanglement.mutual_info_matrix` or
        ``disentanglement_details(...)["mi_matrix"]``.
    ax : matplotlib.axes.Axes, optional
    code_names, factor_names : sequence of str, optional
        Row and column labels (default ``z0, z1, ...`` and ``v0, v1, ...``).
    max_codes : int, default 30
        Show only the codes with the largest MI about any factor (in their order).
    annotate : bool, optional
        Write the values in the cells (default: when at most 15 x 8 cells).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``mi`` is not a 2-D array, names of the wrong length, ``max_codes < 1``.
    """
    sns = require("seaborn", "plotting")
    plt = require("matplotlib.pyplot", "plotting")
    m = np.asarray(mi, dtype=float)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"mi must be a non-empty 2-D array (codes x factors), got shape {m.shape}")
    if max_codes < 1:
        raise ValueError(f"max_codes must be >= 1, got {max_codes}")
    rows = [f"z{i}" for i in range(m.shape[0])] if code_names is None else list(code_names)
    cols = [f"v{j}" for j in range(m.shape[1])] if factor_names is None else list(factor_names)
    rows, cols = [tex_safe(r) for r in rows], [tex_safe(c) for c in cols]
    if len(rows) != m.shape[0]:
        raise ValueError(f"code_names has {len(rows)} names for {m.shape[0]} codes")
    if len(cols) != m.shape[1]:
        raise ValueError(f"factor_names has {len(cols)} names for {m.shape[1]} factors")
    if m.shape[0] > max_codes:
        keep = np.sort(np.argsort(-m.max(axis=1), kind="stable")[:max_codes])
        m = m[keep]
        rows = [rows[i] for i in keep]
    if annotate is None:
        annotate = m.shape[0] <= 15 and m.shape[1] <= 8
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.9 * m.shape[1], 1.0 + 0.3 * m.shape[0]))
    sns.heatmap(
        m,
        ax=ax,
        cmap="viridis",
        vmin=0.0,
        annot=annotate,
        fmt=".2f",
        xticklabels=cols,
        yticklabels=rows,
        cbar_kws={"label": "I(z_i; v_j)  (nats)"},
    )
    ax.set_xlabel("factor")
    ax.set_ylabel("code")
    return ax


def plot_disentanglement_scores(scores: Any, ax: Any = None) -> Any:
    """Bars of disentanglement scores in [0, 1].

    Parameters
    ----------
    scores : dict or pandas.DataFrame
        A dict from :func:`mi_probe.disentanglement_scores` (one bar per metric), or a
        DataFrame with a ``layer`` column and metric columns (bars grouped by layer).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        No known metric in ``scores``.
    """
    pd = require("pandas", "plotting")
    sns = require("seaborn", "plotting")
    plt = require("matplotlib.pyplot", "plotting")
    from ..analysis.disentanglement import SCORE_KEYS

    if isinstance(scores, Mapping):
        df = pd.DataFrame([{**dict(scores), "layer": "codes"}])
    else:
        df = scores
    metrics = [k for k in SCORE_KEYS if k in df.columns]
    if not metrics:
        raise ValueError(f"scores has none of the metrics {list(SCORE_KEYS)}")
    if "layer" not in df.columns:
        df = df.assign(layer="codes")
    long = df.melt(id_vars=["layer"], value_vars=metrics, var_name="metric", value_name="score")
    long["layer"] = long["layer"].astype(str).map(tex_safe)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    sns.barplot(data=long, x="metric", y="score", hue="layer", ax=ax, errorbar=None)
    ax.set_ylim(0, 1.05)
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel("")
    return ax


def plot_tradeoff(
    df: Any, ax: Any = None, *, x: str = "beta", y: Sequence[str] = ("mig", "tc")
) -> Any:
    """Metrics against a training hyper-parameter (e.g. MIG and TC against beta).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per run with column ``x`` and the ``y`` columns; several rows per ``x``
        (seeds) are averaged with a band.
    ax : matplotlib.axes.Axes, optional
        The first ``y`` is drawn on it and the second on a twin axis.
    x : str, default "beta"
    y : sequence of one or two str, default ("mig", "tc")

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        Missing columns or more than two ``y``.
    """
    sns = require("seaborn", "plotting")
    plt = require("matplotlib.pyplot", "plotting")
    y = list(y)
    if not 1 <= len(y) <= 2:
        raise ValueError(f"y must name one or two columns, got {y}")
    missing = [c for c in [x, *y] if c not in df.columns]
    if missing:
        raise ValueError(f"df is missing the columns {missing}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    sns.lineplot(data=df, x=x, y=y[0], marker="o", ax=ax, color="C0", label=y[0])
    ax.set_ylabel(y[0], color="C0")
    if len(y) == 2:
        ax2 = ax.twinx()
        sns.lineplot(data=df, x=x, y=y[1], marker="s", ax=ax2, color="C1", label=y[1])
        ax2.set_ylabel(f"{y[1]} (nats)" if y[1] == "tc" else y[1], color="C1")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="best")
        if ax2.get_legend() is not None:
            ax2.get_legend().remove()
    if (df[x] > 0).all() and df[x].max() / max(df[x].min(), 1e-12) >= 8:
        ax.set_xscale("log", base=2)  # beta sweeps are usually geometric
    ax.set_xlabel(x)
    return ax
