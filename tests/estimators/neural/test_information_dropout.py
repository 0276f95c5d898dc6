"""The Information Dropout layer: noise law, KL term as an I(x; z) bound, errors."""

from __future__ import annotations

import math

import pytest
import torch

from mi_probe.estimators.neural import gaussian_encoder_kl_bound, gaussian_encoder_mi
from mi_probe.layers import InformationDropout


def _layer(seed: int, d_in: int = 4, d_out: int = 3, **kw) -> InformationDropout:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return InformationDropout(d_in, d_out, **kw)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noise_is_log_normal_with_the_encoders_scale(seed: int) -> None:
    layer = _layer(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        x = torch.randn(1, 4).repeat(20000, 1)
        layer.train()
        z = layer(x)
    log_mean, alpha = layer.encoder(x[:1])
    eps = (torch.log(z) - log_mean) / alpha
    # standard normal: mean 0, sd 1 (standard errors 0.007 and 0.005)
    assert eps.mean(0).abs().max() < 0.04
    assert (eps.std(0) - 1).abs().max() < 0.04
    assert ((alpha > 1e-3 - 1e-9) & (alpha < 0.7 + 1e-9)).all()


def test_eval_mode_is_deterministic_and_stochastic_flag() -> None:
    layer = _layer(0).eval()
    x = torch.randn(10, 4)
    assert torch.equal(layer(x), layer(x))
    assert torch.allclose(layer(x), torch.nn.functional.softplus(layer.linear(x)))
    layer.stochastic = True
    assert not torch.equal(layer(x), layer(x))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kl_term_is_an_upper_bound_on_the_layers_information(seed: int) -> None:
    layer = _layer(seed, d_in=3, d_out=2, max_alpha=0.3)
    x = torch.randn(800, 3, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        kl = layer.kl(x).double()
        log_mean, alpha = layer.encoder(x)
    # with the initial N(0, 1) prior the layer's KL is the standard-normal encoder bound
    bound = gaussian_encoder_kl_bound(log_mean, alpha)
    assert float(kl.mean()) == pytest.approx(bound.value, rel=1e-5)
    # I(x; z) = I(x; log z): the exact-noise estimate sits below the KL bound
    est = gaussian_encoder_mi(log_mean, alpha, random_state=seed)
    assert est.value < bound.value
    mix = gaussian_encoder_kl_bound(log_mean, alpha, prior="mixture", random_state=seed)
    assert est.value < mix.value + 0.1
    assert est.interval[0] <= est.value <= est.interval[1]


def test_kl_penalty_trains_the_information_down() -> None:
    layer = _layer(0, d_in=3, d_out=2)
    x = torch.randn(256, 3, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    before = float(layer.kl(x).mean().detach())
    for _ in range(100):
        opt.zero_grad()
        layer.kl(x).mean().backward()
        opt.step()
    after = float(layer.kl(x).mean().detach())
    assert after < 0.5 * before


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(in_features=0, out_features=2), "in_features must be >= 1"),
        (dict(in_features=2, out_features=0), "out_features must be >= 1"),
        (dict(in_features=2, out_features=2, max_alpha=0.0), "max_alpha must be > 0"),
        (dict(in_features=2, out_features=2, min_alpha=0.8), "min_alpha must be < max_alpha"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        InformationDropout(**kwargs)


def test_last_kl_and_math() -> None:
    layer = _layer(0)
    x = torch.randn(5, 4)
    layer(x)
    assert layer.last_kl is not None and layer.last_kl.shape == (5,)
    assert torch.isfinite(layer.last_kl).all()
    assert math.isfinite(float(layer.kl(x).sum().detach()))
