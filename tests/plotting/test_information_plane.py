"""Information-plane figures: Axes returned, content drawn, files written, errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mi_probe.plotting import (  # noqa: E402
    plot_information_plane,
    plot_layer_grid,
    plot_mi_over_epochs,
    save_figure,
)


@pytest.fixture
def table() -> pd.DataFrame:
    rows = []
    for est in ("binning", "kde"):
        for li, layer in enumerate(["fc1", "fc2", "out"]):
            for epoch in (1, 3, 10, 30, 100):
                rows.append(
                    dict(
                        epoch=epoch,
                        layer=layer,
                        estimator=est,
                        I_XT=np.log(2) * (5 - li + np.log(epoch)),
                        I_TY=np.log(2) * min(1, epoch / 50),
                        train_loss=1 / epoch,
                        test_loss=np.nan,
                        regime="r",
                    )
                )
    return pd.DataFrame(rows)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_information_plane_draws_one_trajectory_per_layer(table) -> None:
    ax = plot_information_plane(table, estimator="binning")
    assert ax.get_xlabel() == "I(X;T) [bits]" and ax.get_ylabel() == "I(T;Y) [bits]"
    assert len(ax.collections) == 3  # one scatter per layer
    assert [c.get_label() for c in ax.collections] == ["fc1", "fc2", "out"]
    # values converted from nats to bits: layer fc1 at epoch 1 sits at x = 5 bits
    offsets = ax.collections[0].get_offsets()
    assert offsets[0][0] == pytest.approx(5.0)
    # coloured by epoch: the colour array holds the epochs
    assert list(ax.collections[0].get_array()) == [1, 3, 10, 30, 100]
    markers = {tuple(map(tuple, c.get_paths()[0].vertices.round(3))) for c in ax.collections}
    assert len(markers) == 3  # a different marker per layer


def test_information_plane_units_layers_and_bound(table) -> None:
    bound = pd.DataFrame({"I_XT": [0.0, 1.0, 4.0], "I_TY": [0.0, 0.5, 0.69]})
    ax = plot_information_plane(table, estimator="kde", layers=["out"], unit="nats", bound=bound)
    assert ax.get_xlabel() == "I(X;T) [nats]"
    assert len(ax.collections) == 1
    dashed = [line for line in ax.get_lines() if line.get_label() == "IB bound"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == [0.0, 0.5, 0.69]


def test_layer_grid_and_over_epochs(table) -> None:
    axes = plot_layer_grid(table, estimator="binning", ncols=2)
    assert len(axes) == 3 and [a.get_title() for a in axes] == ["fc1", "fc2", "out"]
    assert len(axes[0].figure.axes) == 4 + 1 - 1  # 3 panels (one removed) + colour bar
    axes = plot_mi_over_epochs(table, estimator="kde")
    assert len(axes) == 2 and axes[0].get_xscale() == "log"
    assert axes[1].get_ylabel() == "I(T;Y) [bits]"
    assert len(axes[0].get_lines()) >= 3
    axes = plot_mi_over_epochs(table, estimator="kde", quantities="train_loss", logx=False)
    assert axes[0].get_ylabel() == "train_loss" and axes[0].get_xscale() == "linear"


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_save_figure(table, tmp_path, suffix) -> None:
    ax = plot_information_plane(table, estimator="binning")
    path = save_figure(ax, tmp_path / f"sub/plane{suffix}")
    assert path.stat().st_size > 1000
    grid = plot_layer_grid(table, estimator="kde")
    assert save_figure(grid, tmp_path / f"grid{suffix}").exists()


def test_errors(table, tmp_path) -> None:
    with pytest.raises(ValueError, match="estimator must be given: df holds several estimators"):
        plot_information_plane(table)
    with pytest.raises(ValueError, match="estimator 'ksg' is not in df"):
        plot_information_plane(table, estimator="ksg")
    with pytest.raises(ValueError, match=r"layers \['zz'\] are not in df"):
        plot_information_plane(table, estimator="kde", layers=["zz"])
    with pytest.raises(ValueError, match="df must be a pandas DataFrame"):
        plot_information_plane({"a": 1})
    with pytest.raises(ValueError, match="df is missing the columns"):
        plot_information_plane(table.drop(columns=["I_TY"]), estimator="kde")
    with pytest.raises(ValueError, match="df has no rows"):
        plot_information_plane(table.iloc[:0])
    with pytest.raises(ValueError, match="unit must be 'bits' or 'nats'"):
        plot_information_plane(table, estimator="kde", unit="bans")
    with pytest.raises(ValueError, match="bound must be a DataFrame with I_XT and I_TY"):
        plot_information_plane(table, estimator="kde", bound=pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="ncols must be an integer >= 1"):
        plot_layer_grid(table, estimator="kde", ncols=0)
    with pytest.raises(ValueError, match="quantities: 'acc' is not a column"):
        plot_mi_over_epochs(table, estimator="kde", quantities=["acc"])
    _, axs = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="axes must hold 2 Axes, got 3"):
        plot_mi_over_epochs(table, estimator="kde", axes=axs)
    ax = plot_information_plane(table, estimator="kde")
    with pytest.raises(ValueError, match="path must end in .png or .svg"):
        save_figure(ax, tmp_path / "x.pdf")


def test_works_on_a_recorded_table(tmp_path) -> None:
    import torch

    from mi_probe import InformationPlaneRecorder

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    x = torch.randn(200, 3)
    rec = InformationPlaneRecorder(net, x, (x[:, 0] > 0).long(), estimators=("binning", "kde"))
    for e in (1, 2, 5):
        rec.record(e)
    rec.save(tmp_path / "t.csv")
    df = InformationPlaneRecorder.load(tmp_path / "t.csv")
    ax = plot_information_plane(df, estimator="kde")
    assert [c.get_label() for c in ax.collections] == ["0", "1", "2"]
