"""The 12-bit demo: the task's symmetry and balance, and the literature's result:
with binning, tanh layers' I(X;T) rises then falls late in training, ReLU layers' does not.
(The multi-seed verdict, the drawn seed and the CSV's seed column: test_demo_seeds.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mi_probe.experiments.demo import (
    DEFAULTS,
    DIMS,
    PROBED_LAYERS,
    compression,
    make_network,
    pattern_verdict,
    run_demo,
    train_and_record,
    twelve_bit_task,
)


def test_task_is_exactly_balanced_and_symmetric() -> None:
    x, y = twelve_bit_task()
    assert x.shape == (4096, 12) and x.dtype == np.float32
    assert len({tuple(r) for r in x.astype(int)}) == 4096  # every pattern once
    assert int(y.sum()) == 2048  # exactly 50/50
    # invariant under the rotation i -> i + 4 (mod 12) of the bit positions
    rot = x[:, (np.arange(12) - 4) % 12]
    idx = (rot.astype(int) * (1 << np.arange(11, -1, -1))).sum(1)
    assert np.array_equal(y[idx], y)
    # a pattern and its complement have opposite labels
    comp = 4095 - np.arange(4096)
    assert np.all(y[comp] == 1 - y)


def test_task_is_not_linearly_separable() -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = twelve_bit_task()
    assert LogisticRegression(max_iter=2000).fit(x, y).score(x, y) < 0.8


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_network_shape(activation: str) -> None:
    import torch

    net = make_network(activation, seed=1)
    widths = [m.out_features for m in net if isinstance(m, torch.nn.Linear)]
    assert widths == list(DIMS[1:])
    assert [n for n, _ in net.named_children() if n.startswith(("act", "out"))] == list(
        PROBED_LAYERS
    )
    rng = torch.get_rng_state()
    a, b = make_network(activation, seed=3), make_network(activation, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert torch.equal(torch.get_rng_state(), rng)  # building it leaves the global RNG alone


def _rise_and_fall(df, layer: str) -> tuple[float, float]:
    d = df[(df.estimator == "binning") & (df.layer == layer)].sort_values("epoch")
    bits = d["I_XT"].to_numpy() / np.log(2)
    peak = int(np.argmax(bits))
    return bits[peak] - bits[0], bits[peak] - bits[-1]


def _check_literature_result(tanh, relu, *, min_tanh: float, n_shaped: int) -> None:
    c_tanh = compression(tanh)["compression"].mean()
    c_relu = compression(relu)["compression"].mean()
    # tanh: the hidden layers' I(X;T) falls after its peak by min_tanh bits on average,
    # at least 2.5 times as much as the ReLU layers' (which keep or grow theirs)
    assert c_tanh > min_tanh, (c_tanh, c_relu)
    assert c_relu < c_tanh / 2.5, (c_tanh, c_relu)
    # and it is a rise *then* a fall: at least n_shaped of the deep tanh layers first
    # gain and then lose more than half a bit
    shapes = [_rise_and_fall(tanh, layer) for layer in ("act3", "act4", "act5")]
    assert sum(rise > 0.5 and fall > 0.5 for rise, fall in shapes) >= n_shaped, shapes


@pytest.mark.parametrize("seed", [0, 1])
def test_tanh_compresses_relu_does_not_small_scale(seed: int) -> None:
    # 150 epochs, 8 recordings, binning only: a few seconds per network
    kw = dict(epochs=150, n_records=8, estimators=["binning"], seed=seed)
    tanh = train_and_record("tanh", **kw)
    relu = train_and_record("relu", **kw)
    _check_literature_result(tanh, relu, min_tanh=0.5, n_shaped=1)


@pytest.mark.slow
def test_tanh_compresses_relu_does_not_default_settings() -> None:
    # The default demo settings (400 epochs, 20 recordings) over seeds 0-4, binning only
    # (about 7 s of CPU per network). Measured on torch 2.13.0 CPU, numpy 2.4 (bits, mean
    # fall of the 5 hidden layers): tanh 1.25 2.19 1.94 2.00 2.22, ReLU 1.21 0.17 0.10
    # 0.03 0.43 for seeds 0-4 (and tanh 1.80 2.13 2.23 2.01 2.12, ReLU 0.05 0.01 0.35
    # 0.43 0.38 for seeds 5-9, the confirmation set). Seed 0 is the exception there:
    # late in training the act4/act5 ReLU units switch off for about half of the inputs
    # while staying small (max 4-8, against 60-90 for seed 1), so the deep ReLU layers'
    # binned I(X;T) falls too (on another platform it was seed 4). Hence the demo's verdict on the median of
    # 3 seeds, which shows the pattern for every 3 consecutive seeds of 0-9.
    assert (DEFAULTS["epochs"], DEFAULTS["n_records"], DEFAULTS["n_seeds"]) == (400, 20, 3)
    tables = []
    for seed in range(5):
        tanh = train_and_record("tanh", estimators=["binning"], seed=seed)
        relu = train_and_record("relu", estimators=["binning"], seed=seed)
        tables += [tanh, relu]
        c_tanh = compression(tanh)["compression"].mean()
        assert c_tanh > 1.0, (seed, c_tanh)
        shapes = [_rise_and_fall(tanh, layer) for layer in ("act3", "act4", "act5")]
        assert sum(rise > 0.5 and fall > 0.5 for rise, fall in shapes) >= 2, (seed, shapes)
    summary = compression(pd.concat(tables, ignore_index=True))
    falls, _, _ = pattern_verdict(summary)
    assert falls["shows"].sum() >= 4, falls
    # the demo's verdict (median over 3 consecutive seeds) holds for every window
    for first in range(3):
        window = summary[summary["seed"].between(first, first + 2)]
        _, median, shows = pattern_verdict(window)
        assert shows, (first, median)


def test_kde_is_recorded_and_bounded() -> None:
    df = train_and_record("tanh", epochs=2, n_records=2, estimators=["kde"], seed=0)
    assert set(df["epoch"]) == {0, 1, 2} and set(df["layer"]) == set(PROBED_LAYERS)
    assert (df["I_XT"] <= np.log(4096) + 1e-6).all() and (df["I_TY"] <= np.log(2) + 1e-6).all()
    assert df["regime"].str.contains("noisy layer").all()


def test_run_demo_writes_outputs(tmp_path) -> None:
    table, summary = run_demo(
        tmp_path,
        epochs=2,
        activation="relu",
        estimators=["binning"],
        n_records=2,
        verbose=False,
        figures=False,
    )
    assert (tmp_path / "information_plane.csv").exists()
    assert set(table["activation"]) == {"relu"} and set(table["seed"]) == {0, 1, 2}
    assert list(summary["layer"]) == list(PROBED_LAYERS[:5]) * DEFAULTS["n_seeds"]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: make_network("sigmoid"), "activation must be one of"),
        (lambda: make_network("tanh", seed=-1), "seed must be >= 0"),
        (lambda: train_and_record("tanh", epochs=0), "epochs must be >= 1"),
        (lambda: train_and_record("tanh", estimators=["ksg"]), "estimator must be one of"),
        (lambda: train_and_record("tanh", lr=0), "lr must be > 0"),
        (lambda: train_and_record("tanh", n_records=1), "n_records must be >= 2"),
        (lambda: run_demo("x", activation="gelu"), "activation must be one of"),
    ],
)
def test_bad_arguments(call, match) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_compression_unknown_estimator() -> None:
    import pandas as pd

    df = pd.DataFrame({"epoch": [0], "layer": ["act1"], "estimator": ["kde"], "I_XT": [1.0]})
    with pytest.raises(ValueError, match="estimator 'binning' is not in df"):
        compression(df)
