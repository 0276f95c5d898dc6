"""The 12-bit demo: the task's symmetry and balance, and the literature's result:
with binning, tanh layers' I(X;T) rises then falls late in training, ReLU layers' does not."""

from __future__ import annotations

import numpy as np
import pytest

from mi_probe.experiments.demo import (
    DIMS,
    PROBED_LAYERS,
    compression,
    make_network,
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
    # The default demo settings over 5 seeds (about 20 s of CPU per network).
    # Measured (bits, mean fall of the 5 hidden layers): tanh 1.42 2.23 2.03 1.87 2.22,
    # ReLU 0.44 0.16 0.05 0.38 2.14 for seeds 0-4. Seed 4 is an honest exception:
    # several of its ReLU units die late in training and the binned I(X;T) of the deep
    # ReLU layers falls too. So: tanh compresses for every seed, ReLU does not for most.
    seeds = range(5)
    falls = []
    for seed in seeds:
        tanh = train_and_record("tanh", estimators=["binning"], seed=seed)
        relu = train_and_record("relu", estimators=["binning"], seed=seed)
        c_tanh = compression(tanh)["compression"].mean()
        c_relu = compression(relu)["compression"].mean()
        falls.append((c_tanh, c_relu))
        assert c_tanh > 1.0, (seed, c_tanh)
        shapes = [_rise_and_fall(tanh, layer) for layer in ("act3", "act4", "act5")]
        assert sum(rise > 0.5 and fall > 0.5 for rise, fall in shapes) >= 2, (seed, shapes)
    clear = sum(c_relu < c_tanh / 2.5 for c_tanh, c_relu in falls)
    assert clear >= 4, falls
    mean_tanh = np.mean([f[0] for f in falls])
    mean_relu = np.mean([f[1] for f in falls])
    assert mean_relu < mean_tanh / 2.5, falls


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
    assert set(table["activation"]) == {"relu"}
    assert list(summary["layer"]) == list(PROBED_LAYERS[:5])


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
