"""Nuisance families for 1-D signals and generic tensors; image transforms refuse signals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from mi_probe.analysis._nuisance import (
    BUILTIN,
    Gain,
    Masking,
    NoiseSNR,
    Occlusion,
    Phase,
    Polarity,
    Rotation,
    TimeShift,
    Translation,
    as_nuisance,
)
from mi_probe.analysis.invariance import invariance

RNG = np.random.default_rng


def _tones(n: int = 4, length: int = 256, seed: int = 0) -> torch.Tensor:
    t = np.arange(length) / length
    f = RNG(seed).integers(3, 20, size=n)
    return torch.from_numpy(np.sin(2 * np.pi * f[:, None] * t[None, :])).float()


def test_names_are_usable_as_strings() -> None:
    for name in ("gain", "snr", "time_shift", "polarity", "phase", "masking"):
        fam = as_nuisance(name)
        assert fam is not None and fam.name == name and isinstance(fam, BUILTIN[name])


def test_gain_scales_by_decibels() -> None:
    x = _tones()
    out = Gain().apply(x, np.array([[20.0], [-20.0], [0.0], [6.0]]), RNG(0))
    np.testing.assert_allclose(out[0], 10 * x[0], rtol=1e-6)
    np.testing.assert_allclose(out[1], 0.1 * x[1], rtol=1e-6)
    np.testing.assert_allclose(out[2], x[2])
    params = Gain(max_db=6).sample(1000, (1000, 256), RNG(1))
    assert params.shape == (1000, 1) and np.all(np.abs(params) <= 6)


def test_noise_at_snr_has_the_stated_level() -> None:
    # a sine of amplitude a has rms a / sqrt(2); at 10 dB the noise rms is a / sqrt(2) / sqrt(10)
    x = 3.0 * _tones(n=2, length=20000).double()
    out = NoiseSNR().apply(x, np.array([[10.0], [30.0]]), RNG(0))
    noise = (out - x).numpy()
    for i, snr in enumerate((10.0, 30.0)):
        expect = 3.0 / math.sqrt(2) / 10 ** (snr / 20)
        assert noise[i].std() == pytest.approx(expect, rel=0.03)  # 20000 draws: sd ~0.5%
    # the level follows the signal: the same SNR on a 10x louder input gives 10x the noise
    loud = NoiseSNR().apply(10 * x[:1], np.array([[10.0]]), RNG(0)) - 10 * x[:1]
    assert loud.numpy().std() == pytest.approx(10 * noise[0].std(), rel=1e-6)
    silent = NoiseSNR().apply(torch.zeros(1, 50), np.array([[0.0]]), RNG(0))
    assert torch.equal(silent, torch.zeros(1, 50))


def test_time_shift_zero_fill_and_circular() -> None:
    x = torch.arange(1.0, 11.0).reshape(1, 1, 10).repeat(2, 1, 1)
    out = TimeShift(max_shift=3).apply(x, np.array([[2.0], [-3.0]]), RNG(0))
    assert out[0, 0].tolist() == [0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert out[1, 0].tolist() == [4, 5, 6, 7, 8, 9, 10, 0, 0, 0]
    circ = TimeShift(max_shift=3, circular=True).apply(x, np.array([[2.0], [-3.0]]), RNG(0))
    assert torch.equal(circ[0, 0], torch.roll(x[0, 0], 2))
    assert torch.equal(circ[1, 0], torch.roll(x[1, 0], -3))


def test_polarity_and_phase() -> None:
    x = _tones(n=3)
    out = Polarity().apply(x, np.array([[-1.0], [1.0], [-1.0]]), RNG(0))
    assert torch.equal(out[0], -x[0]) and torch.equal(out[1], x[1])
    signs = Polarity().sample(2000, (2000, 8), RNG(0))
    assert set(np.unique(signs)) == {-1.0, 1.0} and abs(signs.mean()) < 0.1
    # sin(w t) rotated by theta is sin(w t + theta) for a tone on the FFT grid
    length = 256
    t = np.arange(length) / length
    theta = np.array([0.7, -2.0])
    tone = torch.from_numpy(np.tile(np.sin(2 * np.pi * 5 * t), (2, 1)))
    rotated = Phase().apply(tone, theta[:, None], RNG(0)).numpy()
    expect = np.sin(2 * np.pi * 5 * t[None, :] + theta[:, None])
    np.testing.assert_allclose(rotated, expect, atol=1e-9)
    # the spectrum's magnitude is unchanged, also for a (n, C, L) batch
    noise = torch.from_numpy(RNG(1).standard_normal((2, 3, 101)))
    out = Phase().apply(noise, theta[:, None], RNG(0))
    np.testing.assert_allclose(
        torch.fft.rfft(out).abs().numpy(), torch.fft.rfft(noise).abs().numpy(), atol=1e-9
    )


def test_masking_fraction() -> None:
    x = torch.ones(3, 4, 50, 50)
    out = Masking(fill=-1.0).apply(x, np.array([[0.0], [0.3], [1.0]]), RNG(0))
    frac = (out == -1.0).float().mean(dim=(1, 2, 3)).numpy()
    assert frac[0] == 0.0 and frac[2] == 1.0
    assert frac[1] == pytest.approx(0.3, abs=0.02)  # 10000 draws: sd 0.005


@pytest.mark.parametrize("family", [Translation(), Rotation(), Occlusion()])
@pytest.mark.parametrize("shape", [(5, 1, 64), (5, 3, 1, 64), (5, 64, 1)])
def test_image_transforms_refuse_signals(family, shape) -> None:
    x = torch.randn(*shape)
    with pytest.raises(ValueError, match="1-D signal, not an image; for 1-D signals use"):
        family(x, RNG(0))


def test_translation_refuses_a_shift_larger_than_half_the_image() -> None:
    with pytest.raises(ValueError, match="max_shift=2 must be less than half the 3x40 image"):
        Translation(max_shift=2)(torch.randn(5, 3, 40), RNG(0))


def test_signal_transforms_check_their_input() -> None:
    with pytest.raises(ValueError, match=r"transforms 1-D signals shaped \(n, L\) or \(n, C, L\)"):
        TimeShift()(torch.randn(5, 2, 8, 8), RNG(0))
    with pytest.raises(ValueError, match=r"transforms 1-D signals shaped"):
        Phase()(torch.randn(5), RNG(0))
    with pytest.raises(ValueError, match="max_shift=32 must be less than half the signal length"):
        TimeShift()(torch.randn(5, 1, 60), RNG(0))
    with pytest.raises(ValueError, match="max_shift must be >= 1"):
        TimeShift(max_shift=0)(torch.randn(5, 60), RNG(0))
    with pytest.raises(ValueError, match="circular must be True or False"):
        TimeShift(max_shift=2, circular="yes")(torch.randn(5, 60), RNG(0))
    with pytest.raises(ValueError, match="max_db must be > 0"):
        Gain(max_db=0)(torch.randn(5, 60), RNG(0))
    with pytest.raises(ValueError, match="min_db and max_db must be finite with min_db < max_db"):
        NoiseSNR(min_db=10, max_db=5)(torch.randn(5, 60), RNG(0))
    with pytest.raises(ValueError, match="max_radians must be > 0"):
        Phase(max_radians=-1)(torch.randn(5, 60), RNG(0))
    with pytest.raises(ValueError, match="max_fraction must be <= 1"):
        Masking(max_fraction=2)(torch.randn(5, 60), RNG(0))


class _Envelope(nn.Module):
    """Magnitude spectrum: blind to polarity and phase, sees gain."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.fft.rfft(x.reshape(x.shape[0], -1)).abs()[:, 1:9]


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.raw = nn.Identity()
        self.spec = _Envelope()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.raw(x).reshape(x.shape[0], -1), self.spec(x)], 1)


@pytest.mark.parametrize("seed", [0, 1])
def test_invariance_with_signal_nuisances(seed: int) -> None:
    # tones of random pitch, loudness, phase: the magnitude spectrum ignores polarity, keeps gain (log scale)
    rng = RNG(seed)
    n, length = 600, 64
    t = np.arange(length) / length
    f = rng.uniform(1, 8, size=(n, 1))
    amp = rng.uniform(0.5, 2.0, size=(n, 1))
    ph = rng.uniform(0, 2 * np.pi, size=(n, 1))
    x = torch.from_numpy((amp * np.sin(2 * np.pi * f * t + ph))[:, None, :]).float()
    model = _Net()
    kw = dict(layers=["spec"], n_permutations=8, n_resamples=0, random_state=seed)
    pol = invariance(model, x, nuisance="polarity", **kw).set_index("layer")
    assert pol.loc["spec", "I_zn"] <= pol.loc["spec", "I_zn_null"] + 0.02
    gain = invariance(model, x, nuisance=Gain(max_db=10), **kw).set_index("layer")
    assert gain.loc["spec", "I_zn"] > 1.0  # gain is read off the magnitude almost exactly
