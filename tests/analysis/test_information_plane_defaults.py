"""The recorder's defaults on deterministic networks (issue 17): usable information for
I(T;Y), the relative-noise estimate for I(X;T), hard bounds, per-layer errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from mi_probe.analysis.information_plane import (
    InformationPlaneRecorder,
    _check_bounds,
    information_plane,
    load_plane,
)


def _blobs(seed: int, n: int = 400) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centres = torch.tensor([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    x = centres[y] + 0.9 * torch.randn(n, 2, generator=g)
    return x, y


def _net(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 3)
    )


def _trained(seed: int, x: torch.Tensor, y: torch.Tensor) -> nn.Sequential:
    net = _net(seed)
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(150):
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


def _xor(seed: int, n: int = 400) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = 4 * torch.rand(n, 2, generator=g) - 2
    return x, (x[:, 0] * x[:, 1] > 0).long()


def _xor_net(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trained_logits_carry_more_usable_information_than_random_init(seed: int) -> None:
    # XOR: the labels are not linearly readable from the input, so a random network's
    # logits carry little usable information and a trained one's nearly H(Y) = ln 2
    x, y = _xor(seed)
    net = _xor_net(seed)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(200):
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    trained = information_plane(net, x, y, layers=["2"])
    random = information_plane(_xor_net(seed + 100), x, y, layers=["2"])
    t, r = trained.iloc[0], random.iloc[0]
    assert t["estimator"] == "usable+noise" and t["error"] == ""
    assert t["I_TY"] > r["I_TY"] + 0.2
    assert t["I_TY_low"] <= t["I_TY"] <= t["I_TY_high"] <= math.log(2) + 1e-9
    assert "lower bound" in t["regime"] and "usable information" in t["regime"]


@pytest.mark.parametrize("seed", [0, 1])
def test_defaults_are_not_at_their_ceilings_where_every_code_is_unique(seed: int) -> None:
    x, y = _blobs(seed, n=300)
    net = _trained(seed, x, y)
    layers = ["0", "1", "2", "3", "4"]
    classic = information_plane(
        net, x, y, layers=layers, estimators="binning", params={"binning": {"n_bins": 1000}}
    )
    # every input has its own code: the fine binning reads ln n and H(Y) on every layer
    assert classic["at_ceiling"].all() and classic["TY_at_ceiling"].all()
    df = information_plane(net, x, y, layers=layers)
    assert not df["at_ceiling"].all() and not df["TY_at_ceiling"].all()
    assert (df["I_XT"] < 0.99 * math.log(300)).all()
    assert df["I_XT"].nunique() == len(layers)  # the layers differ
    assert (df["sigma"] > 0).all() and (df["sigma_relative"] == df["sigma_relative"].iloc[0]).all()
    assert (df["I_XT_low"] <= df["I_XT"]).all() and (df["I_XT"] <= df["I_XT_high"]).all()
    assert (df["seconds"] > 0).all()


def test_one_failing_layer_keeps_the_other_rows() -> None:
    x, y = _blobs(0, n=120)
    rng = np.random.default_rng(0)
    acts = {
        "good": rng.standard_normal((120, 3)),
        "bad": np.full((120, 3), np.nan),
        "also_good": rng.standard_normal((120, 2)),
    }
    df = information_plane(acts, x, y)
    assert list(df["layer"]) == ["good", "bad", "also_good"]
    bad = df[df.layer == "bad"].iloc[0]
    assert "ValueError" in bad["error"] and "NaN" in bad["error"] and math.isnan(bad["I_TY"])
    ok = df[df.layer != "bad"]
    assert (ok["error"] == "").all() and ok["I_TY"].notna().all() and ok["I_XT"].notna().all()


def test_recorder_keeps_rows_of_other_layers_and_round_trips(tmp_path) -> None:
    torch.manual_seed(0)
    enc = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True)
    net = nn.TransformerEncoder(enc, num_layers=1, enable_nested_tensor=False)
    x = torch.randn(60, 4, 8)
    y = torch.arange(60) % 2
    rec = InformationPlaneRecorder(
        net, x, y, layers=["layers.0.self_attn.out_proj", "layers.0.linear1"], probe_options=None
    )
    rec.record(0)
    df = rec.dataframe
    never = df[df.layer == "layers.0.self_attn.out_proj"].iloc[0]
    assert "never called in the forward pass" in never["error"]
    ran = df[df.layer == "layers.0.linear1"].iloc[0]
    assert ran["error"] == "" and not math.isnan(ran["I_XT"])
    rec.save(tmp_path / "p.csv")
    back = load_plane(tmp_path / "p.csv")
    assert list(back["error"]) == list(df["error"])


def test_gaussian_singular_covariance_gets_a_stated_ridge() -> None:
    rng = np.random.default_rng(1)
    n = 40
    x = rng.standard_normal((n, 3))
    y = rng.integers(0, 2, n)
    wide = rng.standard_normal((n, 60))  # more units than samples: singular covariance
    df = information_plane({"wide": wide}, x, y, estimators="gaussian")
    row = df.iloc[0]
    assert row["error"] == "" and np.isfinite(row["I_XT"])
    assert "singular covariance: ridge 1e-06 added" in row["regularization"]


def test_values_above_their_ceiling_are_clamped_and_flagged() -> None:
    # I(T;Y) by the Gaussian formula on a layer that copies the label (plus a little
    # noise) reads far above H(Y) = ln 2: it is clamped and the row says so
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    t = y[:, None] + 1e-4 * rng.standard_normal((200, 1))
    df = information_plane({"copy": t}, np.arange(200), y, estimators="gaussian")
    row = df.iloc[0]
    p = np.bincount(y) / y.size
    h_y = float(-(p * np.log(p)).sum())  # the plug-in H(Y) of the sample
    assert row["out_of_bounds"] and row["I_TY"] == pytest.approx(h_y)
    assert row["ceiling_TY"] == pytest.approx(h_y)
    assert "> H(y)" in row["bounds"].replace("H(Y)", "H(y)") and "out_of_bounds" in row["warning"]
    assert _check_bounds(1.0, 0.5, 2.0, 0.7) == (1.0, 0.5, "")
    assert _check_bounds(3.0, 0.5, 2.0, 0.7)[0] == 2.0


def test_wide_layers_are_projected_and_the_row_says_so() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv1d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 64, 3)
    )
    x = torch.randn(150, 1, 64)
    y = torch.arange(150) % 3
    df = information_plane(net, x, y, layers=["1", "3"])
    wide, narrow = df.iloc[0], df.iloc[1]
    assert wide["reduction"] == "random projection 512 -> 256 (seed 0)" and wide["dim"] == 256
    assert narrow["reduction"] == ""
    # the classic estimators see the layer unit by unit: nothing is reduced for them
    classic = information_plane(net, x, y, layers=["1"], estimators="kde")
    assert classic["reduction"].iloc[0] == "" and classic["dim"].iloc[0] == 512
    pooled = information_plane(net, x, y, layers=["1"], probe_options={"pool": "mean"})
    assert pooled["reduction"].iloc[0] == "mean-pooled 512 -> 8"


def test_knn_on_a_reduced_layer_records_the_reduction() -> None:
    x, y = _blobs(0, n=200)
    rng = np.random.default_rng(0)
    t = np.hstack([x.numpy(), rng.standard_normal((200, 30))])
    df = information_plane(
        {"t": t}, x, y, estimators="mixed", params={"mixed": {"dims": 4, "random_state": 0}}
    )
    row = df.iloc[0]
    assert row["reduction"] == "layer PCA 32 -> 4" and "a lower bound" in row["regime"]
    assert row["error"] == ""


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"params": {"usable+noise": {"bandwidth": 1}}}, "has unknown parameter bandwidth"),
        ({"probe_options": {"pool": "sum"}}, "pool must be one of"),
        ({"probe_options": "always"}, "probe_options must be one of"),
        ({"probe_options": 3}, "probe_options must be a mapping"),
        (
            {"estimators": "mixed", "params": {"mixed": {"dims": 0}}},
            r"params\['mixed'\]\['dims'\] must be >= 1",
        ),
        (
            {"estimators": "mixed", "params": {"mixed": {"reduction": "tsne"}}},
            r"params\['mixed'\]\['reduction'\] must be one of",
        ),
        (
            {"estimators": "ksg", "params": {"ksg": {"bandwidth": 2}}},
            "bandwidth",
        ),
    ],
)
def test_bad_arguments_raise_before_recording(kwargs: dict, match: str) -> None:
    x, y = _blobs(0, n=50)
    with pytest.raises(ValueError, match=match):
        InformationPlaneRecorder(_net(0), x, y, **kwargs)


def test_wide_inputs_are_numbered_by_row_without_a_float64_copy() -> None:
    from mi_probe._validation import encode_rows
    from mi_probe.analysis.information_plane import _symbols_of

    g = np.random.default_rng(0)
    x = g.standard_normal((300, 1, 100)).astype(np.float32)
    x[5] = x[7]  # a repeated input
    x[9, 0, 0] = -0.0
    x[10] = x[9]
    x[10, 0, 0] = 0.0  # equal to row 9 (-0.0 == 0.0)
    sym, k = _symbols_of(torch.from_numpy(x), "x")
    ref, k_ref = encode_rows(x.reshape(300, -1).astype(np.float64) + 0.0)
    assert k == k_ref == 298
    assert len(set(zip(sym.tolist(), ref.tolist(), strict=True))) == k  # the same partition
    bad = x.copy()
    bad[3, 0, 4] = np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        _symbols_of(bad, "x")
    bad[3, 0, 4] = np.inf
    with pytest.raises(ValueError, match="x contains inf"):
        _symbols_of(bad, "x")
    with pytest.raises(ValueError, match="x has a complex dtype"):
        _symbols_of(x.astype(np.complex64), "x")
    with pytest.raises(ValueError, match="x must hold numbers"):
        _symbols_of(np.full((3, 100), "a", dtype=object), "x")
