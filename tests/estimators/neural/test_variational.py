"""Barber-Agakov, CLUB and the Gaussian-encoder bounds against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mi_probe
from mi_probe.estimators.neural import (
    ba_mi,
    club_mi,
    gaussian_encoder_kl_bound,
    gaussian_encoder_mi,
)
from tests._helpers import gaussian_pair

from ._common import FAST, RHO, SEEDS, TOL, N


@pytest.mark.parametrize("seed", SEEDS)
def test_ba_accuracy_and_below_truth(seed: int) -> None:
    x, y, truth = gaussian_pair(N, 1, RHO, seed)
    r = ba_mi(x, y, random_state=seed, **FAST)
    assert abs(r.value - truth) < TOL
    assert r.diagnostics["raw_value"] < truth + TOL / 2
    assert r.diagnostics["ceiling"] is None and r.diagnostics["bound"] == "estimate"


def test_ba_with_known_entropy_of_scaled_y() -> None:
    x, y, truth = gaussian_pair(N, 1, RHO, 0)
    y = 3.0 * y + 1.0  # H(y) = 0.5 log(2 pi e 9)
    h = 0.5 * math.log(2 * math.pi * math.e * 9.0)
    r = mi_probe.estimate_mi(x, y, estimator="ba", y_entropy=h, random_state=0, **FAST)
    assert abs(r.value - truth) < TOL
    assert r.diagnostics["bound"] == "lower"


@pytest.mark.parametrize("seed", SEEDS)
def test_club_is_above_truth_and_near_its_closed_form(seed: int) -> None:
    # with the exact decoder, CLUB = rho^2 / (1 - rho^2) = 1.72 nats; truth 0.50
    x, y, truth = gaussian_pair(N, 1, RHO, seed)
    r = club_mi(x, y, random_state=seed, **FAST)
    assert r.value > truth - TOL
    assert abs(r.value - RHO**2 / (1 - RHO**2)) < 0.5  # CLUB's own sampling noise is large
    assert r.diagnostics["bound"] == "upper"


def test_club_brackets_ba_on_average() -> None:
    vals = []
    for seed in SEEDS:
        x, y, truth = gaussian_pair(2000, 2, 0.5, seed)  # 0.288 nats
        kw = {**FAST, "max_steps": 150}
        vals.append(
            (
                ba_mi(x, y, random_state=seed, **kw).value,
                club_mi(x, y, random_state=seed, **kw).value,
            )
        )
    ba, club = np.mean(vals, axis=0)
    assert ba < truth + 0.05 and club > truth - 0.05 and ba < club


def _linear_gaussian_encoder(n: int, d: int, a: float, sigma: float, seed: int):
    """z = a x + sigma e with x ~ N(0, I_d): I(x; z) = d/2 log(1 + a^2 / sigma^2)."""
    g = np.random.default_rng(seed)
    mean = a * g.standard_normal((n, d))
    std = np.full((n, d), sigma)
    return mean, std, 0.5 * d * math.log(1 + a * a / sigma**2)


@pytest.mark.parametrize("seed", SEEDS)
def test_encoder_bounds_bracket_the_truth(seed: int) -> None:
    mean, std, truth = _linear_gaussian_encoder(1000, 2, 1.5, 0.5, seed)  # 2.30 nats
    std_normal = gaussian_encoder_kl_bound(mean, std)
    # closed form: d/2 (sigma^2 + a^2 E x^2 - 1 - log sigma^2), with the sample E x^2
    closed = 0.5 * np.sum(std**2 + mean**2 - 1 - np.log(std**2), axis=1).mean()
    assert std_normal.value == pytest.approx(closed, rel=1e-10)
    mix = gaussian_encoder_kl_bound(mean, std, prior="mixture", random_state=seed)
    assert truth - 0.1 < mix.value < std_normal.value  # the learned prior is tighter
    assert mix.value < truth + 0.1
    mc = gaussian_encoder_mi(mean, std, random_state=seed)
    lo, hi = mc.interval
    assert lo <= mc.value <= hi
    assert abs(mc.value - truth) < 0.15  # at n=1000, ln n = 6.9 >> 2.3
    assert mc.diagnostics["ceiling"] == pytest.approx(math.log(1000))
    assert mc.value <= mix.value + 0.1


def test_encoder_mi_saturates_at_log_n() -> None:
    # nearly noiseless encoder: the empirical x carries ln n nats
    mean, std, _ = _linear_gaussian_encoder(200, 3, 1.0, 1e-3, 0)
    r = gaussian_encoder_mi(mean, std, random_state=0, chunk_size=64)
    assert r.value == pytest.approx(math.log(200), abs=1e-3)
    assert r.interval[1] == pytest.approx(math.log(200), abs=1e-3)


def test_encoder_same_seed_same_number() -> None:
    mean, std, _ = _linear_gaussian_encoder(300, 2, 1.0, 0.5, 0)
    a = gaussian_encoder_mi(mean, std, random_state=5, n_mc_samples=2)
    b = gaussian_encoder_mi(mean, std, random_state=5, n_mc_samples=2)
    assert a.value == b.value
    c = gaussian_encoder_kl_bound(mean, std, prior="mixture", random_state=5)
    d = gaussian_encoder_kl_bound(mean, std, prior="mixture", random_state=5)
    assert c.value == d.value


def test_bad_input() -> None:
    x, y, _ = gaussian_pair(200, 1, 0.5, 0)
    with pytest.raises(ValueError, match="y_entropy must be one of"):
        ba_mi(x, y, y_entropy="kde", progress=False)
    with pytest.raises(ValueError, match="y_entropy must be a finite number"):
        ba_mi(x, y, y_entropy=math.inf, progress=False)
    with pytest.raises(ValueError, match="hidden_dims must be a sequence"):
        club_mi(x, y, hidden_dims=3, progress=False)
    with pytest.raises(ValueError, match="batch_size must be >= 2"):
        club_mi(x, y, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="singular covariance"):
        ba_mi(x, np.hstack([y, y]), progress=False, max_steps=2)
    mean, std, _ = _linear_gaussian_encoder(50, 2, 1.0, 0.5, 0)
    with pytest.raises(ValueError, match="std must be > 0"):
        gaussian_encoder_mi(mean, -std)
    with pytest.raises(ValueError, match="same number of samples"):
        gaussian_encoder_kl_bound(mean, std[:10])
    with pytest.raises(ValueError, match="same shape"):
        gaussian_encoder_kl_bound(mean, std[:, :1])
    with pytest.raises(ValueError, match="prior must be one of"):
        gaussian_encoder_kl_bound(mean, std, prior="laplace")
    with pytest.raises(ValueError, match="n_components must be >= 1"):
        gaussian_encoder_kl_bound(mean, std, prior="mixture", n_components=0)
    with pytest.raises(ValueError, match="at least 4"):
        gaussian_encoder_kl_bound(mean[:3], std[:3], prior="mixture")
    with pytest.raises(ValueError, match="n_mc_samples must be >= 1"):
        gaussian_encoder_mi(mean, std, n_mc_samples=0)
    with pytest.raises(ValueError, match="mean contains NaN"):
        gaussian_encoder_mi(np.full((5, 2), np.nan), np.ones((5, 2)))


def test_encoder_mi_progress_per_block(monkeypatch, capsys) -> None:
    # a line per block of rows when every update is shown (stderr is not a terminal
    # under pytest); none with progress=False; the same number either way
    import mi_probe._progress as prog

    monkeypatch.setattr(prog, "LINE_INTERVAL", 0.0)
    mean, std, _ = _linear_gaussian_encoder(200, 2, 1.0, 0.5, 0)
    shown = gaussian_encoder_mi(mean, std, random_state=1, chunk_size=64)
    lines = [s for s in capsys.readouterr().err.splitlines() if "gaussian_encoder_mi" in s]
    assert len(lines) == 4  # ceil(200 / 64) blocks
    assert lines[-1].startswith("gaussian_encoder_mi: blocks: 4/4")
    quiet = gaussian_encoder_mi(mean, std, random_state=1, chunk_size=64, progress=False)
    assert capsys.readouterr().err == ""
    assert quiet.value == shown.value
    with pytest.raises(ValueError, match="progress"):
        gaussian_encoder_mi(mean, std, progress="yes")
