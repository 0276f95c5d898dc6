"""Per-feature figures: Axes returned, content drawn, errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mi_probe.plotting.features import plot_feature_mi, plot_pairwise_mi  # noqa: E402


def _matrix(p: int) -> pd.DataFrame:
    g = np.random.default_rng(0)
    a = g.random((p, p))
    m = (a + a.T) / 2
    np.fill_diagonal(m, np.nan)
    names = [f"u{i}" for i in range(p)]
    return pd.DataFrame(m, index=names, columns=names)


def test_pairwise_heatmap() -> None:
    ax = plot_pairwise_mi(_matrix(5))
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"u{i}" for i in range(5)]
    assert len(ax.texts) == 5 * 4  # annotated off-diagonal cells
    plt.close("all")
    ax = plot_pairwise_mi(_matrix(50).to_numpy(), max_features=10)
    assert len(ax.get_xticklabels()) == 10
    plt.close("all")


def test_feature_bars() -> None:
    s = pd.Series([0.1, 0.5, 0.0, 0.3], index=["a", "b", "c", "d"])
    ax = plot_feature_mi(s, top=3)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b", "d", "a"]
    assert [p.get_height() for p in ax.patches] == [0.5, 0.3, 0.1]
    plt.close("all")


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="mi must be a non-empty square matrix"):
        plot_pairwise_mi(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="max_features must be >= 1"):
        plot_pairwise_mi(_matrix(3), max_features=0)
    with pytest.raises(ValueError, match="mi must be a non-empty 1-D array"):
        plot_feature_mi(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="top must be >= 1 or None"):
        plot_feature_mi([0.1, 0.2], top=0)
