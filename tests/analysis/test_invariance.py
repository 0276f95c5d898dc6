"""Nuisance invariance: hand-built models with known answers, transforms, immutability."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import mi_probe
from mi_probe.analysis.invariance import (
    COLUMNS,
    AdditiveNoise,
    Brightness,
    Occlusion,
    Rotation,
    Translation,
    invariance,
)

SEEDS = [0, 1, 2]
FAST = dict(n_permutations=8, n_resamples=4, progress_bar=False)


class Keep(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)


class Column(nn.Module):
    """Keeps the listed input columns."""

    def __init__(self, cols: list[int]) -> None:
        super().__init__()
        self.cols = cols

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.cols]


class Center(nn.Module):
    """Subtracts each sample's mean: removes any brightness offset exactly."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        return x - x.mean(dim=1, keepdim=True)


class Branches(nn.Module):
    def __init__(self, *named: tuple[str, nn.Module]) -> None:
        super().__init__()
        for name, m in named:
            self.add_module(name, m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m(x) for m in self.children()], dim=1)


def _signal_nuisance(seed: int, n: int = 1000, sigma: float = 0.5):
    # x = (s, n + e): I(x; n) = I(n + e; n) = 0.5 log(1 + 1/sigma^2) for n, e Gaussian
    rng = np.random.default_rng(seed)
    s = rng.standard_normal(n)
    nu = rng.standard_normal(n)
    x = np.column_stack([s, nu + sigma * rng.standard_normal(n)]).astype(np.float32)
    return torch.from_numpy(x), nu, 0.5 * np.log(1 + 1 / sigma**2)


@pytest.mark.parametrize("seed", SEEDS)
def test_known_nuisance_information_per_layer(seed: int) -> None:
    x, nu, truth = _signal_nuisance(seed)
    model = Branches(("keep", Keep()), ("signal", Column([0])))
    df = invariance(model, x, layers=["keep", "signal"], nuisance=nu, random_state=seed, **FAST)
    assert list(df.columns[:6]) == list(COLUMNS)
    assert list(df["layer"]) == ["input", "keep", "signal"]
    row = df.set_index("layer")
    # the layer that keeps n + e: truth 0.80 nats, KSG at n=1000 in 2-D within 0.1
    assert abs(row.loc["keep", "I_zn"] - truth) < 0.1
    assert abs(row.loc["keep", "invariance"]) < 0.05  # same data as the input
    # the layer that drops it: nothing above the null level, invariance ~1
    assert row.loc["signal", "I_zn"] <= row.loc["signal", "I_zn_null"] + 0.02
    assert row.loc["signal", "invariance"] > 0.95
    lo, hi = row.loc["keep", "invariance_low"], row.loc["keep", "invariance_high"]
    assert lo <= row.loc["keep", "invariance"] <= hi
    assert row.loc["keep", "I_zn_p_value"] < 0.2 and row.loc["signal", "I_zn_p_value"] > 0.05


@pytest.mark.parametrize("seed", SEEDS)
def test_brightness_removed_by_centering(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.uniform(size=(600, 6, 6)).astype(np.float32))
    model = Branches(("keep", Keep()), ("center", Center()))
    df = invariance(
        model, x, layers=["keep", "center"], nuisance="brightness", random_state=seed, **FAST
    ).set_index("layer")
    assert df.loc["keep", "I_zn"] > 10 * max(df.loc["keep", "I_zn_null"], 0.01)
    assert df.loc["center", "I_zn"] <= df.loc["center", "I_zn_null"] + 0.02
    assert df.loc["center", "invariance"] > 0.9
    assert df.loc["keep", "invariance"] < 0.3


@pytest.mark.parametrize("seed", SEEDS)
def test_discrete_nuisance_and_labels_use_ross(seed: int) -> None:
    # n in {0, 1, 2} shifts a coordinate; labels y shift another one
    rng = np.random.default_rng(seed)
    nu = rng.integers(0, 3, size=900)
    y = rng.integers(0, 2, size=900)
    x = np.column_stack([nu + 0.3 * rng.standard_normal(900), 3.0 * y + rng.standard_normal(900)])
    model = Branches(("keep", Keep()), ("label", Column([1])))
    df = invariance(
        model,
        (torch.tensor(x, dtype=torch.float32), torch.tensor(y)),
        layers=["keep", "label"],
        nuisance=nu,
        random_state=seed,
        **FAST,
    ).set_index("layer")
    assert df["estimator"].iloc[0].startswith("mixed")
    assert df.loc["label", "invariance"] > 0.9
    # I(z; y) for z = 3y + N(0, 1), y ~ Bernoulli(1/2): 0.5268 nats by quadrature
    # (Ross's estimator at n=900: sd ~0.03)
    assert df.loc["label", "I_zy"] == pytest.approx(0.5268, abs=0.08)
    assert bool(df.loc["label", "bound_ok"])
    assert df.loc["label", "I_zx"] <= np.log(900) + 1e-9  # H(bin z) <= log n


def test_model_is_not_changed() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(36, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 3)
    )
    model.train()
    model[1].weight.requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [m.training for m in model.modules()]
    grads = [p.requires_grad for p in model.parameters()]
    rng_state = torch.get_rng_state()
    x = torch.rand(200, 6, 6, generator=torch.Generator().manual_seed(1))
    for nuisance in ("rotation", "occlusion", "noise", "translation", "brightness"):
        invariance(model, x, layers=["1", "4"], nuisance=nuisance, n_permutations=2, n_resamples=0)
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert [m.training for m in model.modules()] == flags
    assert [p.requires_grad for p in model.parameters()] == grads
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_no_hook_survives_an_exception() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(RuntimeError):
        invariance(model, torch.rand(50, 3, 3), layers=["1"], nuisance=np.arange(50.0))
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_transforms_do_what_they_say() -> None:
    rng = np.random.default_rng(0)
    img = torch.arange(36, dtype=torch.float32).reshape(1, 1, 6, 6) + 1.0
    # rotation by 90 degrees is an exact quarter turn on the pixel grid
    r = Rotation().apply(img, np.array([[90.0]]), rng)
    assert torch.allclose(r, torch.rot90(img, k=1, dims=(-2, -1)), atol=1e-4) or torch.allclose(
        r, torch.rot90(img, k=-1, dims=(-2, -1)), atol=1e-4
    )
    assert torch.allclose(Rotation().apply(img, np.array([[0.0]]), rng), img, atol=1e-5)
    # translation: shift right by 2, down by 1, zeros shifted in
    t = Translation().apply(img, np.array([[1.0, 2.0]]), rng)
    expect = torch.zeros_like(img)
    expect[..., 1:, 2:] = img[..., :-1, :-2]
    assert torch.equal(t, expect)
    # occlusion: a 3x3 patch at (1, 2) filled with 0
    o = Occlusion(fill=0.0).apply(img[:, 0], np.array([[1.0, 2.0, 3.0]]), rng)
    assert o.shape == (1, 6, 6) and int((o == 0).sum()) == 9 and torch.all(o[0, 1:4, 2:5] == 0)
    params = Occlusion(sizes=(2, 4)).sample(500, (500, 8, 8), rng)
    assert set(np.unique(params[:, 2])) == {2.0, 4.0}
    assert np.all(params[:, 0] + params[:, 2] <= 8) and np.all(params[:, 1] + params[:, 2] <= 8)
    # brightness and noise
    b = Brightness().apply(img, np.array([[0.25]]), rng)
    assert torch.allclose(b - img, torch.full_like(img, 0.25))
    big = torch.zeros(2, 100, 100)
    nz = AdditiveNoise().apply(big, np.array([[0.0], [0.5]]), rng)
    assert float(nz[0].std()) == 0.0 and abs(float(nz[1].std()) - 0.5) < 0.02


def test_callable_nuisance_and_lazy_export() -> None:
    def flip(x: torch.Tensor, rng: np.random.Generator):
        f = rng.integers(0, 2, size=x.shape[0])
        out = torch.where(torch.as_tensor(f).view(-1, 1, 1).bool(), x.flip(-1), x)
        return out, f

    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.uniform(size=(300, 4, 4)).astype(np.float32))
    x[:, :, :2] += 1.0  # left half brighter: a flip is visible
    model = nn.Sequential(nn.Flatten())
    df = mi_probe.invariance(model, x, layers=["0"], nuisance=flip, n_permutations=4, n_resamples=0)
    assert df["nuisance"].iloc[0] == "flip"
    assert df["I_zn"].iloc[1] == pytest.approx(np.log(2), abs=0.1)  # flip fully visible
    assert df.attrs["settings"]["nuisance_discrete"] is True


@pytest.mark.parametrize("estimator", ["gaussian", "binning"])
def test_other_estimators(estimator: str) -> None:
    x, nu, truth = _signal_nuisance(0, n=800)
    model = Branches(("keep", Keep()), ("signal", Column([0])))
    df = invariance(
        model,
        x,
        layers=["keep", "signal"],
        nuisance=nu,
        estimator=estimator,
        n_permutations=5,
        n_resamples=0,
    ).set_index("layer")
    assert df.loc["signal", "invariance"] > 0.8
    if estimator == "gaussian":  # exact model class: Gaussian
        assert abs(df.loc["keep", "I_zn"] - truth) < 0.05


def test_errors() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    x = torch.rand(40, 4, 4)
    with pytest.raises(ValueError, match="nuisance is required"):
        invariance(model, x, layers=["1"])
    with pytest.raises(ValueError, match="nuisance must be one of 'occlusion'"):
        invariance(model, x, layers=["1"], nuisance="blur")
    with pytest.raises(ValueError, match="data and nuisance must have the same number"):
        invariance(model, x, layers=["1"], nuisance=np.zeros(39))
    with pytest.raises(ValueError, match="estimator must be one of"):
        invariance(model, x, layers=["1"], nuisance="noise", estimator="kde")
    with pytest.raises(ValueError, match="n_components must be >= 1"):
        invariance(model, x, layers=["1"], nuisance="noise", n_components=0)
    with pytest.raises(ValueError, match="n_discrete must be one of"):
        invariance(model, x, layers=["1"], nuisance="noise", n_discrete="maybe")
    with pytest.raises(ValueError, match="max_samples must be >= 10"):
        invariance(model, x, layers=["1"], nuisance="noise", max_samples=3)
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        invariance("net", x, layers=["1"], nuisance="noise")
    with pytest.raises(ValueError, match="unknown layer 'fc'"):
        invariance(model, x, layers=["fc"], nuisance="noise")
    with pytest.raises(ValueError, match=r"transforms images shaped \(n, H, W\)"):
        invariance(model, x.reshape(40, 16), layers=["1"], nuisance="rotation")
    with pytest.raises(ValueError, match="data and targets must have the same number"):
        invariance(model, x, layers=["1"], nuisance="noise", targets=np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match=r"data as a tuple must be \(x, y\)"):
        invariance(model, (x, x, x), layers=["1"], nuisance="noise")
    with pytest.raises(ValueError, match="must return \\(x_transformed, params\\)"):
        invariance(model, x, layers=["1"], nuisance=lambda a, rng: a)
    with pytest.raises(ValueError, match="sizes must be non-empty and fit"):
        invariance(model, x, layers=["1"], nuisance=Occlusion(sizes=(9,)))
    with pytest.raises(ValueError, match="max_degrees must be > 0"):
        invariance(model, x, layers=["1"], nuisance=Rotation(max_degrees=-1))
    with pytest.raises(ValueError, match="max_shift must be >= 1"):
        invariance(model, x, layers=["1"], nuisance=Translation(max_shift=0))
    with pytest.raises(ValueError, match="n_neighbors=3 needs more than 4 samples"):
        invariance(model, x[:4], layers=["1"], nuisance="noise", max_samples=None)


def test_dataloader_input_gives_the_same_table() -> None:
    x, nu, _ = _signal_nuisance(4, n=300)
    y = torch.tensor((nu > 0).astype(np.int64))
    model = Branches(("keep", Keep()))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64)
    kw = dict(layers=["keep"], nuisance=nu, n_permutations=3, n_resamples=0, random_state=0)
    a = invariance(model, loader, **kw)
    b = invariance(model, (x, y), **kw)
    np.testing.assert_allclose(
        a[["I_zn", "I_zy", "I_zx"]].to_numpy(), b[["I_zn", "I_zy", "I_zx"]].to_numpy()
    )
    assert a["I_zy"].notna().all()


@pytest.mark.parametrize("seed", SEEDS)
def test_rows_carry_reliability_flags(seed: int) -> None:
    x, nu, _ = _signal_nuisance(seed)
    model = Branches(("keep", Keep()), ("signal", Column([0])))
    df = invariance(model, x, layers=["keep", "signal"], nuisance=nu, random_state=seed, **FAST)
    row = df.set_index("layer")
    for col in ("unstable_in_n", "few_samples_for_dim", "many_ties", "not_above_null", "warning"):
        assert col in df.columns
    assert not row.loc["keep", "not_above_null"] and row.loc["signal", "not_above_null"]
    assert not row.loc["keep", "few_samples_for_dim"]  # 1000 samples for 2 + 1 dims
    small_x, small_nu, _ = _signal_nuisance(seed, n=120)
    small = invariance(
        model, small_x, layers=["keep"], nuisance=small_nu, random_state=seed, **FAST
    ).set_index("layer")
    assert small.loc["keep", "few_samples_for_dim"]  # 120 < 100 * (2 + 1)
    assert "few_samples_for_dim" in small.loc["keep", "warning"]
