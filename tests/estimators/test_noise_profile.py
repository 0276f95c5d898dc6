"""I(X; T + sigma Z) of a deterministic layer and its noise profile.

Ground truth: Gaussian T ~ N(0, S) in 2-D, where the mixture of n Gaussians centred at
the samples approaches N(0, S + sigma^2 I) and I(X; T + sigma Z) -> 0.5 log det(I + S /
sigma^2). Tolerance (chosen on seeds 0-2, confirmed on 3-5): at n = 2000 with 2 noise
draws per sample the mean over three seeds is within 0.04 nats of the closed form, each
seed within 0.1 (the Monte Carlo sd is ~0.02, the finite-mixture bias below 0.02 for
sigma^2 >= 0.25 S_min).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mi_probe
from mi_probe.estimators import noise_profile as npmod
from mi_probe.estimators.noise_profile import layer_scale, noise_profile, noisy_information

S = np.array([1.0, 0.5])


@pytest.mark.parametrize("seeds", [range(0, 3), range(3, 6)])
@pytest.mark.parametrize("sigma", [0.5, 1.0])
def test_gaussian_layer_closed_form(seeds: range, sigma: float) -> None:
    truth = 0.5 * np.sum(np.log1p(S / sigma**2))
    vals = []
    for seed in seeds:
        t = np.random.default_rng(seed).standard_normal((2000, 2)) * np.sqrt(S)
        r = noisy_information(t, sigma, relative=False, n_draws=2, random_state=seed + 100)
        assert r.diagnostics["sigma"] == sigma
        # Kolchinsky-Tracey bracket contains the mixture value (up to MC noise)
        assert r.diagnostics["pairwise_lower"] - 0.05 <= r.value
        assert r.value <= r.diagnostics["pairwise_upper"] + 0.05
        assert abs(r.value - truth) < 0.1
        vals.append(r.value)
    assert np.mean(vals) == pytest.approx(truth, abs=0.04)


def test_clusters_read_log_k_between_their_scales() -> None:
    g = np.random.default_rng(0)
    k, n = 5, 500
    centres = g.standard_normal((k, 8)) * 10.0
    t = centres[np.arange(n) % k] + 1e-3 * g.standard_normal((n, 8))
    df = noise_profile(t, [1e-6, 1e-2, 1e2], random_state=0)
    i_xt = df["I_XT"].to_numpy()
    assert i_xt[0] == pytest.approx(np.log(n), abs=1e-6)  # every input resolved
    assert df["at_ceiling"].iloc[0]
    assert i_xt[1] == pytest.approx(np.log(k), abs=0.02)  # clusters resolved, not within
    assert i_xt[2] < 0.01  # nothing resolved


def test_profile_falls_from_log_n_to_zero() -> None:
    t = np.random.default_rng(1).standard_normal((300, 6))
    df = noise_profile(t, random_state=0)
    assert list(df.columns[:5]) == ["sigma_relative", "sigma", "I_XT", "lower", "upper"]
    for col in ("pairwise_lower", "pairwise_upper", "ceiling", "at_ceiling", "n_samples"):
        assert col in df.columns
    assert df["I_XT"].iloc[0] == pytest.approx(np.log(300), abs=1e-6)
    assert df["I_XT"].iloc[-1] < 0.05
    # common random numbers: smooth and non-increasing up to Monte Carlo noise
    assert np.all(np.diff(df["I_XT"].to_numpy()) <= 0.05)
    assert np.all(df["lower"] <= df["I_XT"]) and np.all(df["I_XT"] <= df["upper"])
    assert np.all(df["I_XT"] <= df["ceiling"])
    assert df.attrs["scale"] == pytest.approx(layer_scale(t))
    assert df["sigma"].to_numpy() == pytest.approx(df["sigma_relative"] * df.attrs["scale"])


def test_never_above_log_n_on_wide_float32() -> None:
    """The issue's case: far-apart wide float32 codes; the estimate may reach ln n, never
    exceed it (the diagonal is exactly zero, the Gram matrix is float64)."""
    g = np.random.default_rng(2)
    t = (1e3 + 50.0 * g.standard_normal((300, 5000))).astype(np.float32)
    for sigma in (1e-4, 1e-3, 1e-2):
        r = noisy_information(t, sigma, random_state=0)
        assert r.value <= np.log(300)
        assert r.diagnostics["unclamped_value"] <= np.log(300) + 1e-12
        assert r.diagnostics["exceeded_ceiling"] is False
    assert r.diagnostics["at_ceiling"] is True


def test_scale_free_and_translation_free() -> None:
    t = np.random.default_rng(3).standard_normal((200, 4))
    a = noisy_information(t, 0.3, random_state=0)
    b = noisy_information(1e4 * t + 7.0, 0.3, random_state=0)
    assert b.value == pytest.approx(a.value, abs=1e-9)
    assert b.diagnostics["sigma"] == pytest.approx(1e4 * a.diagnostics["sigma"])


def test_wide_layer_through_the_span_matches_the_direct_route(monkeypatch) -> None:
    """d > n goes through the Gram matrix; the pairwise distances are unchanged."""
    t = np.random.default_rng(4).standard_normal((60, 150))
    gram = noisy_information(t, 0.2, random_state=0)
    monkeypatch.setattr(npmod, "_GRAM_MAX_N", 0)
    direct = noisy_information(t, 0.2, random_state=0)
    for key in ("pairwise_upper", "pairwise_lower", "scale"):
        assert gram.diagnostics[key] == pytest.approx(direct.diagnostics[key], abs=1e-9)
    assert gram.value == pytest.approx(direct.value, abs=4 * gram.diagnostics["se"] + 0.02)


def test_duplicated_codes_lower_the_ceiling() -> None:
    t = np.repeat(np.random.default_rng(5).standard_normal((50, 3)), 4, axis=0)
    r = noisy_information(t, 1e-4, random_state=0)
    assert r.diagnostics["ceiling"] == pytest.approx(np.log(50))
    assert r.diagnostics["ceiling_name"] == "H(distinct rows of t)"
    assert r.value == pytest.approx(np.log(50), abs=1e-6)
    assert r.diagnostics["at_ceiling"] is True


def test_constant_layer_reads_zero() -> None:
    r = noisy_information(np.ones((40, 3)), 0.3)
    assert r.value == 0.0


def test_query_subsample_and_tensor_input() -> None:
    t = torch.randn(400, 5, generator=torch.Generator().manual_seed(0))
    full = noisy_information(t, 0.3, random_state=0)
    sub = noisy_information(t, 0.3, max_queries=200, random_state=0)
    assert sub.diagnostics["n_queries"] == 200
    assert abs(sub.value - full.value) < 4 * (sub.diagnostics["se"] + full.diagnostics["se"])
    big = np.random.default_rng(1).standard_normal((2100, 3))
    assert noisy_information(big, 0.3, random_state=0).diagnostics["n_queries"] == 2000
    assert noisy_information(big, 0.3, max_queries=None).diagnostics["n_queries"] == 2100


def test_exported() -> None:
    assert mi_probe.noisy_information is noisy_information
    assert mi_probe.noise_profile is noise_profile


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda t: noisy_information(t, 0.0), "sigma"),
        (lambda t: noisy_information(t, -1.0), "sigma"),
        (lambda t: noisy_information(t, 0.3, n_draws=0), "n_draws"),
        (lambda t: noisy_information(t, 0.3, max_queries=1), "max_queries"),
        (lambda t: noisy_information(t, 0.3, confidence=1.0), "confidence"),
        (lambda t: noise_profile(t, []), "sigmas is empty"),
        (lambda t: noise_profile(t, [0.1, -0.1]), "sigma"),
        (lambda t: noisy_information(t[:1], 0.3), "at least 2"),
        (lambda t: noisy_information(np.full_like(t, np.nan), 0.3), "contains NaN"),
        (lambda t: layer_scale(t[:1]), "at least 2"),
    ],
)
def test_bad_input(call, match: str) -> None:
    t = np.random.default_rng(0).standard_normal((20, 2))
    with pytest.raises(ValueError, match=match):
        call(t)
