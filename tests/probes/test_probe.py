"""Probes: layer lookup, hook storage, invariance of the model, collection."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import mi_probe
from mi_probe.probes import Probe, attach, resolve_layers


def mlp(seed: int = 0, inplace: bool = False) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(4, 6), nn.ReLU(inplace=inplace), nn.Dropout(0.5), nn.Linear(6, 3), nn.Tanh()
    )


class Twice(nn.Module):
    """Applies the same linear layer twice per forward."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(torch.relu(self.lin(x)))


class TupleOut(nn.Module):
    def forward(self, x: torch.Tensor):
        return x * 2, {"neg": -x, "meta": "ignored"}


class WithTuple(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.split = TupleOut()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, d = self.split(x)
        return a + d["neg"]


class Known(nn.Module):
    """Activations known in closed form: h = 2x + 1, out = h.sum(1)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 2)
        with torch.no_grad():
            self.lin.weight.copy_(2 * torch.eye(2))
            self.lin.bias.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x).sum(1, keepdim=True)


def test_public_names() -> None:
    assert mi_probe.attach is attach
    assert mi_probe.Probe is Probe


def test_layers_by_name_module_type_and_all() -> None:
    net = mlp()
    assert resolve_layers(net, "3") == ["3"]
    assert resolve_layers(net, net[0]) == ["0"]
    assert resolve_layers(net, nn.Linear) == ["0", "3"]
    assert resolve_layers(net, "all") == ["0", "1", "2", "3", "4"]
    # order as given, duplicates dropped
    assert resolve_layers(net, ["4", net[0], "4", nn.Tanh]) == ["4", "0"]


def test_nested_dotted_names() -> None:
    net = nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.ReLU()), nn.Linear(3, 1))
    assert resolve_layers(net, "0.1") == ["0.1"]
    assert resolve_layers(net, "all") == ["0.0", "0.1", "1"]


def test_unknown_layer_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown layer 'features.9'; valid names: '0', '1'"):
        attach(mlp(), layers="features.9")


@pytest.mark.parametrize(
    "layers, match",
    [
        ([], "layers is empty"),
        (nn.Conv2d, "no module of type Conv2d"),
        (nn.Linear(2, 2), "not part of the model"),
        ([3.5], "layers entries must be"),
        (5, "layers must be"),
    ],
)
def test_bad_layers(layers, match) -> None:
    with pytest.raises(ValueError, match=match):
        attach(mlp(), layers=layers)


def test_bad_model() -> None:
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        attach("not a model")  # type: ignore[arg-type]


def test_known_activations() -> None:
    net = Known()
    x = torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])
    with attach(net, ["lin", ""]) as probe:
        net(x)
    acts = probe.activations
    torch.testing.assert_close(acts["lin"], 2 * x + 1)
    torch.testing.assert_close(acts[""], (2 * x + 1).sum(1, keepdim=True))


def test_inplace_relu_does_not_corrupt_stored_output() -> None:
    net = mlp(inplace=True)
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(1))
    with attach(net, ["0", "1"]) as probe:
        net.eval()
        net(x)
    pre = probe.activations["0"]
    torch.testing.assert_close(pre, net[0](x).detach())
    assert (pre < 0).any(), "the pre-activation copy must keep its negative values"
    torch.testing.assert_close(probe.activations["1"], torch.relu(pre))


def test_outputs_are_flattened_and_detached() -> None:
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 1))
    x = torch.randn(5, 1, 6, 6, requires_grad=True)
    with attach(net, ["0"]) as probe:
        net(x)
    a = probe.activations["0"]
    assert a.shape == (5, 2 * 4 * 4)
    assert not a.requires_grad


def test_module_called_twice_recorded_per_call() -> None:
    torch.manual_seed(0)
    net = Twice()
    x = torch.randn(7, 3)
    with attach(net, "lin") as probe:
        net(x)
        net(x)
    acts = probe.activations
    assert list(acts) == ["lin:1", "lin:2"]
    first = net.lin(x).detach()
    torch.testing.assert_close(acts["lin:1"], torch.cat([first, first]))
    second = net.lin(torch.relu(first)).detach()
    torch.testing.assert_close(acts["lin:2"], torch.cat([second, second]))


def test_tuple_and_dict_outputs() -> None:
    net = WithTuple()
    x = torch.randn(4, 2)
    with attach(net, "split") as probe:
        net(x)
    acts = probe.activations
    assert list(acts) == ["split[0]", "split[1][neg]"]
    torch.testing.assert_close(acts["split[0]"], 2 * x)
    torch.testing.assert_close(acts["split[1][neg]"], -x)


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_hooks_removed_on_exit_and_on_exception() -> None:
    net = mlp()
    before = _hook_count(net)
    with attach(net, "all"):
        assert _hook_count(net) > before
    assert _hook_count(net) == before
    with pytest.raises(RuntimeError), attach(net, "all"):
        net(torch.randn(2, 5))  # wrong width: the forward raises
    assert _hook_count(net) == before
    probe = attach(net, "0")
    probe.remove()
    probe.remove()  # twice is fine
    assert _hook_count(net) == before


def test_collect_leaves_no_hook_after_a_failing_forward() -> None:
    net = mlp()
    probe = Probe(net, "0")
    with pytest.raises(RuntimeError):
        probe.collect(torch.randn(10, 5), progress_bar=False)
    assert _hook_count(net) == 0


@pytest.mark.parametrize("training", [True, False])
def test_probing_never_changes_the_model(training: bool) -> None:
    net = mlp()
    net.train(training)
    net[3].weight.requires_grad_(False)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    flags = [m.training for m in net.modules()]
    grads = [p.requires_grad for p in net.parameters()]
    torch.manual_seed(123)
    rng_before = torch.get_rng_state()
    x = torch.randn(300, 4, generator=torch.Generator().manual_seed(2))
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, torch.zeros(300)), batch_size=64, shuffle=True
    )
    probe = attach(net, "all")
    probe.collect(loader, progress_bar=False, max_samples=100)
    probe.collect(x, progress_bar=False)
    probe.remove()
    assert torch.equal(torch.get_rng_state(), rng_before)
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert [m.training for m in net.modules()] == flags
    assert [p.requires_grad for p in net.parameters()] == grads
    assert _hook_count(net) == 0


def test_collect_eval_mode_and_shapes() -> None:
    net = mlp()
    net.train()
    x = torch.randn(200, 4, generator=torch.Generator().manual_seed(3))
    acts = Probe(net, ["3", "1"]).collect(x, batch_size=64, progress_bar=False)
    assert list(acts) == ["3", "1"]  # the order given
    assert acts["1"].shape == (200, 6) and acts["3"].shape == (200, 3)
    assert all(a.dtype == torch.float32 and a.device.type == "cpu" for a in acts.values())
    net.eval()
    # eval mode: dropout off, so the result is deterministic and equals a plain forward
    with torch.no_grad():
        torch.testing.assert_close(acts["3"], net[3](net[2](net[1](net[0](x)))))


def test_collect_inputs_agree_across_kinds() -> None:
    net = mlp()
    g = np.random.default_rng(0)
    x = g.standard_normal((150, 4))  # float64 numpy is cast to the model's float32
    y = g.integers(0, 2, 150)
    probe = Probe(net, "3")
    a = probe.collect(x, progress_bar=False)["3"]
    b = probe.collect((x, y), progress_bar=False)["3"]
    assert torch.equal(probe.targets, torch.as_tensor(y))
    ds = torch.utils.data.TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y))
    c = probe.collect(torch.utils.data.DataLoader(ds, batch_size=32), progress_bar=False)["3"]
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)
    assert torch.equal(probe.targets, torch.as_tensor(y))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_max_samples_is_a_seeded_subset(seed: int) -> None:
    net = Known()
    x = torch.arange(2000, dtype=torch.float32).reshape(1000, 2)
    probe = Probe(net, "lin")
    a = probe.collect(x, max_samples=100, random_state=seed, progress_bar=False)["lin"]
    idx = probe.indices
    assert a.shape == (100, 2) and len(set(idx.tolist())) == 100
    torch.testing.assert_close(a, 2 * x[torch.as_tensor(idx)] + 1)
    again = probe.collect(x, max_samples=100, random_state=seed, progress_bar=False)["lin"]
    assert torch.equal(a, again)
    loader = torch.utils.data.DataLoader(x, batch_size=128)
    d = probe.collect(loader, max_samples=100, random_state=seed, progress_bar=False)["lin"]
    assert d.shape == (100, 2)
    torch.testing.assert_close(d, 2 * x[torch.as_tensor(probe.indices)] + 1)
    # a subsample covers the whole range, not just the first rows
    assert probe.indices.max() > 500


def test_collect_keeps_the_probe_attached_if_it_was() -> None:
    net = mlp()
    with attach(net, "0") as probe:
        probe.collect(torch.randn(10, 4), progress_bar=False)
        assert probe.attached
    assert not probe.attached


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"max_samples": 0}, "max_samples must be >= 1"),
        ({"max_samples": 2.5}, "max_samples must be an integer"),
        ({"random_state": "x"}, "random_state must be None"),
    ],
)
def test_collect_bad_arguments(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        Probe(mlp(), "0").collect(torch.randn(10, 4), **kwargs)


def test_collect_bad_data() -> None:
    probe = Probe(mlp(), "0")
    with pytest.raises(ValueError, match="data must be a DataLoader"):
        probe.collect(["a", "b"], progress_bar=False)
    with pytest.raises(ValueError, match=r"data as a tuple must be \(x, y\)"):
        probe.collect((torch.randn(3, 4),) * 3, progress_bar=False)
    with pytest.raises(ValueError, match="same number of samples, got 10 and 9"):
        probe.collect((torch.randn(10, 4), torch.zeros(9)), progress_bar=False)
    with pytest.raises(ValueError, match="data has no rows"):
        probe.collect(torch.zeros(0, 4), progress_bar=False)
    loader = torch.utils.data.DataLoader([{"x": torch.zeros(4)}] * 3, batch_size=2)
    with pytest.raises(ValueError, match="must yield tensors or"):
        probe.collect(loader, progress_bar=False)


def test_pretrained_model_from_state_dict(tmp_path) -> None:
    # train briefly, save the weights, load them into a fresh instance, probe that
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = (x[:, 0] > 0).long()
    net = mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(50):
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = tmp_path / "model.pt"
    torch.save(net.state_dict(), path)
    fresh = mlp(seed=99)
    fresh.load_state_dict(torch.load(path, weights_only=True))
    acts = Probe(fresh, nn.Linear).collect(x, progress_bar=False)
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(acts["3"], net[3](net[1](net[0](x))))


@pytest.mark.gpu
def test_collect_on_cuda_returns_cpu_float32() -> None:
    net = mlp().cuda()
    acts = Probe(net, "all").collect(torch.randn(64, 4), progress_bar=False)
    assert all(a.device.type == "cpu" and a.dtype == torch.float32 for a in acts.values())
