"""Probe options: pooling, random projection, PCA, module inputs; layers that never run
or run a varying number of times (issue 19, items 5 and 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from mi_probe.probes import Probe, attach, describe_reduction, randomized_svd


class Conv(nn.Module):
    """(n, 1, L) -> conv (n, 4, L) -> functional mean pool -> fc."""

    def __init__(self, length: int = 16) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(1, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.conv(x))
        return self.fc(h.mean(dim=2))  # functional pooling: only fc's input shows it


def _x(n: int = 50, length: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 1, length, generator=torch.Generator().manual_seed(seed))


def test_mean_and_max_pooling_known_values() -> None:
    net = Conv()
    x = _x()
    acts = Probe(net, {"conv": {"pool": "mean"}, "act": {"pool": "max"}}).collect(
        x, progress_bar=False, batch_size=16
    )
    with torch.no_grad():
        h = net.conv(x)
    torch.testing.assert_close(acts["conv"], h.mean(2))
    torch.testing.assert_close(acts["act"], torch.relu(h).amax(2))


def test_pooling_over_tokens_with_channel_last() -> None:
    class Seq(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(3, 5)

        def forward(self, x):
            return self.lin(x)

    net = Seq()
    x = torch.randn(8, 7, 3)  # (batch, tokens, features)
    acts = Probe(net, "lin", pool="mean", channel_dim=-1).collect(x, progress_bar=False)
    with torch.no_grad():
        torch.testing.assert_close(acts["lin"], net.lin(x).mean(1))


def test_input_probe_sees_the_functional_op() -> None:
    net = Conv()
    x = _x()
    acts = Probe(net, ["fc:input", "conv"]).collect(x, progress_bar=False)
    assert list(acts) == ["fc:input", "conv"]
    with torch.no_grad():
        torch.testing.assert_close(acts["fc:input"], net.act(net.conv(x)).mean(2))
    # the same with the option instead of the suffix
    again = Probe(net, "fc", where="input").collect(x, progress_bar=False)
    torch.testing.assert_close(again["fc:input"], acts["fc:input"])
    # output and input of the same module side by side
    both = Probe(net, ["fc", "fc:input"]).collect(x, progress_bar=False)
    assert list(both) == ["fc", "fc:input"] and both["fc"].shape == (50, 2)


@pytest.mark.parametrize("seed", [0, 3])
def test_random_projection_is_seeded_and_recorded(seed: int) -> None:
    net = Conv()
    x = _x(n=40)
    probe = Probe(net, "conv", project=8, random_state=seed)
    a = probe.collect(x, progress_bar=False, batch_size=7)["conv"]
    info = probe.reductions["conv"]
    assert info["method"] == "random_projection" and info["k"] == 8 and info["seed"] == seed
    assert info["width_in"] == 64 and info["width_out"] == 8
    assert f"random projection 64 -> 8 (seed {seed})" in describe_reduction(info)
    r = np.random.default_rng(seed).standard_normal((64, 8), dtype=np.float32) / math.sqrt(8)
    with torch.no_grad():
        full = net.conv(x).reshape(40, -1)
    torch.testing.assert_close(a, full @ torch.from_numpy(r), rtol=1e-5, atol=1e-5)


def test_narrow_layer_is_not_projected() -> None:
    probe = Probe(Conv(), "fc", project=8)
    a = probe.collect(_x(), progress_bar=False)["fc"]
    assert a.shape == (50, 2) and probe.reductions["fc"]["method"] == "none"


def _low_rank_net(width: int = 40, rank: int = 5) -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(rank, width, bias=True))


def _centred_gram(a: torch.Tensor) -> torch.Tensor:
    a = a.double() - a.double().mean(0)
    return a @ a.T


@pytest.mark.parametrize("fit, batch", [("first", 64), ("incremental", 16), ("incremental", 3)])
def test_pca_keeps_a_rank_k_layer_exactly(fit: str, batch: int) -> None:
    # the layer lies in a rank-5 affine subspace of R^40: 5 principal coordinates keep
    # every pairwise distance (the centred Gram matrix), whatever the batching
    net = _low_rank_net()
    x = torch.randn(200, 5, generator=torch.Generator().manual_seed(2))
    probe = Probe(net, "0", pca=5, pca_fit=fit)
    z = probe.collect(x, progress_bar=False, batch_size=batch)["0"]
    assert z.shape == (200, 5)
    with torch.no_grad():
        full = net(x)
    g_full, g_z = _centred_gram(full), _centred_gram(z)
    assert torch.allclose(g_z, g_full, atol=1e-3 * float(g_full.abs().max()))
    assert probe.reductions["0"]["method"] == ("pca" if fit == "first" else "pca_incremental")


def test_randomized_svd_matches_exact_on_low_rank() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(60, 4, generator=g, dtype=torch.float64) @ torch.randn(
        4, 30, generator=g, dtype=torch.float64
    )
    rng_before = torch.get_rng_state()
    _, s, _ = randomized_svd(a, 4, seed=5)
    assert torch.equal(torch.get_rng_state(), rng_before)  # a private generator
    torch.testing.assert_close(s, torch.linalg.svdvals(a)[:4])


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


@pytest.mark.parametrize(
    "options",
    [
        {"pool": "max"},
        {"project": 4},
        {"pca": 3},
        {"pca": 3, "pca_fit": "incremental"},
        {"where": "input", "project": 2},
    ],
)
def test_options_never_change_the_model(options: dict) -> None:
    net = Conv()
    net.train()
    net.fc.weight.requires_grad_(False)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    flags = [m.training for m in net.modules()]
    grads = [p.requires_grad for p in net.parameters()]
    torch.manual_seed(7)
    rng = torch.get_rng_state()
    probe = attach(net, ["conv", "act", "fc"], **options)
    probe.collect(_x(60), progress_bar=False, batch_size=20)
    net(_x(5))  # a manual forward while attached
    probe.remove()
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())
    assert [m.training for m in net.modules()] == flags
    assert [p.requires_grad for p in net.parameters()] == grads
    assert _hook_count(net) == 0


def test_module_that_never_runs_warns_with_its_name() -> None:
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True)
    net = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)
    probe = Probe(net, ["layers.0.self_attn.out_proj", "layers.0.linear1"])
    with pytest.warns(RuntimeWarning, match=r"'layers.0.self_attn.out_proj' produced no output"):
        acts = probe.collect(torch.randn(10, 4, 8), progress_bar=False)
    assert probe.missing == ["layers.0.self_attn.out_proj"]
    assert list(acts) == ["layers.0.linear1"]


class Varying(nn.Module):
    """Calls ``r`` once on batches whose first input is positive, twice otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.r = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.r(x)
        if x[0, 0] < 0:
            h = self.r(h)
        return h


def test_module_called_a_varying_number_of_times_raises() -> None:
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    x[0, 0], x[10, 0] = 1.0, -1.0  # batch 1 calls r once, batch 2 twice
    with pytest.raises(ValueError, match=r"'r' was called a varying number of times"):
        Probe(Varying(), "r").collect(x, batch_size=10, progress_bar=False)


class TokensAsRows(nn.Module):
    """Applies ``lin`` to (batch * tokens, d): its output rows are tokens, not inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.reshape(-1, x.shape[-1])).reshape(x.shape)


def test_output_whose_first_axis_is_not_the_batch_raises() -> None:
    with pytest.raises(ValueError, match=r"gave 12 rows for 4 inputs: its first axis"):
        Probe(TokensAsRows(), "lin").collect(torch.randn(4, 3, 8), progress_bar=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"pool": "sum"}, "pool must be one of"),
        ({"where": "inside"}, "where must be one of"),
        ({"project": 0}, "project must be >= 1"),
        ({"pca": 2.5}, "pca must be an integer"),
        ({"project": 4, "pca": 4}, "project and pca are exclusive"),
        ({"pca_fit": "later"}, "pca_fit must be one of"),
        ({"random_state": -1}, "random_state must be >= 0"),
    ],
)
def test_bad_probe_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        attach(Conv(), "conv", **kwargs)


def test_bad_option_names_and_mappings() -> None:
    with pytest.raises(ValueError, match="unknown probe option 'poool'"):
        attach(Conv(), "conv", poool="mean")
    with pytest.raises(ValueError, match="unknown probe option 'size'"):
        Probe(Conv(), {"conv": {"size": 3}})
    with pytest.raises(ValueError, match=r"layers\['conv'\] must be a mapping"):
        Probe(Conv(), {"conv": 3})
    with pytest.raises(ValueError, match="unknown layer 'nope'"):
        Probe(Conv(), ["nope:input"])


def test_pca_first_batch_too_small_and_channel_dim_on_batch() -> None:
    with pytest.raises(ValueError, match=r"pca=8 fitted on the first batch needs at least 8 rows"):
        Probe(Conv(), "conv", pca=8).collect(_x(20), batch_size=4, progress_bar=False)
    with pytest.raises(ValueError, match="channel_dim=0 points at the batch axis"):
        Probe(Conv(), "conv", pool="mean", channel_dim=0).collect(_x(4), progress_bar=False)
