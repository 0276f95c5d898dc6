"""Figures for a pretrained model recorded once: the plane without epochs, quantities
against depth, noise-profile curves, concatenated invariance tables, readable labels."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from mi_probe.plotting import (  # noqa: E402
    plot_depth_profile,
    plot_information_plane,
    plot_invariance,
    plot_layer_grid,
    plot_mi_over_epochs,
    plot_noise_profile,
)

LAYERS = ["features.0.conv", "features.1.block.conv", "features.2.block.bn", "pool", "head.fc"]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture
def snapshot() -> pd.DataFrame:
    n = len(LAYERS)
    i_xt = np.linspace(5.0, 1.0, n)
    i_ty = np.linspace(0.5, 1.9, n)
    return pd.DataFrame(
        {
            "layer": LAYERS,
            "estimator": "usable+noise",
            "I_XT": i_xt,
            "I_TY": i_ty,
            "I_XT_low": i_xt - 0.1,
            "I_XT_high": i_xt + 0.1,
            "I_TY_low": i_ty - 0.05,
            "I_TY_high": i_ty + 0.05,
            "ceiling_XT": np.log(3000),
            "ceiling_TY": np.log(8),
            "sigma_relative": 0.3,
        }
    )


def _overlap(boxes) -> bool:
    return any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def test_plane_without_epochs_joins_layers_in_depth_order(snapshot) -> None:
    ax = plot_information_plane(snapshot, unit="nats")
    fig = ax.figure
    assert len(fig.axes) == 1  # no epoch colour bar
    scatters = [c for c in ax.collections if c.get_label() in LAYERS]
    assert [c.get_label() for c in scatters] == LAYERS
    path = ax.lines[0]  # the line that joins the layers, input to output
    np.testing.assert_allclose(path.get_xdata(), snapshot["I_XT"])
    np.testing.assert_allclose(path.get_ydata(), snapshot["I_TY"])
    # the intervals as error bars (LineCollections besides the scatters)
    assert len(ax.collections) > len(LAYERS)
    assert ax.get_legend().get_title().get_text() == "layer (input to output)"


def test_single_epoch_is_a_snapshot_too(snapshot) -> None:
    ax = plot_information_plane(snapshot.assign(epoch=0), unit="nats")
    assert len(ax.figure.axes) == 1


def test_epoch_plots_refuse_a_table_without_epochs(snapshot) -> None:
    with pytest.raises(ValueError, match="df has no epoch column .* plot_depth_profile"):
        plot_mi_over_epochs(snapshot)
    with pytest.raises(ValueError, match="df has no epoch column"):
        plot_layer_grid(snapshot)


def test_depth_profile_draws_values_bands_and_ceilings(snapshot) -> None:
    axes = plot_depth_profile(snapshot)
    assert len(axes) == 2
    ty, xt = axes
    np.testing.assert_allclose(ty.lines[0].get_ydata(), snapshot["I_TY"])
    np.testing.assert_allclose(xt.lines[0].get_ydata(), snapshot["I_XT"])
    assert any(isinstance(c, PolyCollection) for c in ty.collections)  # the interval band
    assert ty.lines[1].get_ydata()[0] == pytest.approx(np.log(8))  # H(Y) ceiling
    assert "lower bound" in ty.get_title() and "sigma = 0.3" in xt.get_title()
    labels = [t.get_text().replace("\n", "") for t in ty.get_xticklabels()]
    assert labels == LAYERS
    fig = ty.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in axes:  # dotted names do not overlap one another
        assert not _overlap([t.get_window_extent(renderer) for t in ax.get_xticklabels()])
    # nor do the panel titles
    assert not _overlap([ax.title.get_window_extent(renderer) for ax in axes])


def test_depth_profile_picks_the_last_epoch_and_checks_arguments(snapshot) -> None:
    two = pd.concat([snapshot.assign(epoch=1), snapshot.assign(epoch=5, I_TY=0.1)])
    (ax,) = plot_depth_profile(two, quantities=["I_TY"])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 0.1)
    (ax,) = plot_depth_profile(two, quantities=["I_TY"], epoch=1)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), snapshot["I_TY"])
    with pytest.raises(ValueError, match="epoch 3 is not in df"):
        plot_depth_profile(two, epoch=3)
    with pytest.raises(ValueError, match="quantities: 'I_ZZ' is not a column"):
        plot_depth_profile(snapshot, quantities=["I_ZZ"])
    with pytest.raises(ValueError, match="axes must hold 2 Axes, got 1"):
        plot_depth_profile(snapshot, axes=[plt.gca()])


def _profile(scale: float) -> pd.DataFrame:
    s = np.logspace(-3, 1, 9)
    v = np.log(500) / (1 + (s / scale) ** 2)
    return pd.DataFrame(
        {"sigma_relative": s, "I_XT": v, "lower": v - 0.1, "upper": v + 0.1, "ceiling": np.log(500)}
    )


def test_noise_profile_one_curve_per_layer_with_bands() -> None:
    table = pd.concat(
        [_profile(0.1).assign(layer="a.b"), _profile(0.5).assign(layer="c")], ignore_index=True
    )
    ax = plot_noise_profile(table, mark_sigma=0.3)
    curves = [ln for ln in ax.lines if ln.get_label() in ("a.b", "c")]
    assert len(curves) == 2 and ax.get_xscale() == "log"
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2
    assert any(ln.get_label() == "ln n" for ln in ax.lines)
    assert any(ln.get_label() == "sigma = 0.3" for ln in ax.lines)
    # a mapping {layer: profile} and curves per epoch work too
    ax2 = plot_noise_profile({"x": _profile(0.2), "y": _profile(0.4)}, ax=plt.figure().gca())
    assert [ln.get_label() for ln in ax2.lines[:2]] == ["x", "y"]
    by_epoch = pd.concat([_profile(0.1).assign(epoch=e) for e in (1, 10)], ignore_index=True)
    ax3 = plot_noise_profile(by_epoch)
    assert [ln.get_label() for ln in ax3.lines[:2]] == ["epoch 1", "epoch 10"]


def test_noise_profile_bad_input() -> None:
    with pytest.raises(ValueError, match="profiles is missing the columns"):
        plot_noise_profile(pd.DataFrame({"I_XT": [1.0]}))
    with pytest.raises(ValueError, match="profiles must be a DataFrame"):
        plot_noise_profile([1, 2])
    with pytest.raises(ValueError, match=r"profiles\['a'\] must be a DataFrame"):
        plot_noise_profile({"a": 3})
    with pytest.raises(ValueError, match="by: 'depth' is not a column"):
        plot_noise_profile(_profile(0.1), by="depth")
    with pytest.raises(ValueError, match="profiles has no rows"):
        plot_noise_profile(_profile(0.1).iloc[:0])


def test_invariance_plot_of_concatenated_tables() -> None:
    one = pd.DataFrame(
        {
            "layer": ["conv1", "fc"],
            "invariance": [0.2, 0.6],
            "invariance_low": [0.1, 0.5],
            "invariance_high": [0.3, 0.7],
        }
    )
    both = pd.concat([one.assign(nuisance="gain"), one.assign(nuisance="shift")])
    assert both.index.duplicated().any()
    ax = plot_invariance(both)
    assert len(ax.patches) >= 4  # a bar per layer and nuisance
    assert len(ax.lines) >= 4  # their error bars


def test_recorder_table_end_to_end() -> None:
    import torch
    from torch import nn

    from mi_probe.analysis.information_plane import information_plane

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
    x = torch.randn(120, 3)
    y = (x[:, 0] > 0).long()
    df = information_plane(net, x, y, layers=["0", "1", "2"])
    ax = plot_information_plane(df)
    assert len(ax.figure.axes) == 1
    axes = plot_depth_profile(df)
    assert len(axes[0].lines[0].get_ydata()) == 3
