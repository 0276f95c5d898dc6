"""Longer accuracy checks (run with --run-slow): 5x5 and 20x20 Gaussians, a transformed task.

Tolerance: 10% of the true MI (0.2 nats at 2 nats), per seed. Large n keeps the critic
from overfitting (at n=20000 in 20-D the held-out InfoNCE plateaus ~15% low while the
training bound keeps rising).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import mi_probe
from tests._helpers import gaussian_pair

SLOW = dict(
    max_steps=3000,
    batch_size=256,
    validation_fraction=0.2,
    eval_every=100,
    patience=10,
    progress=False,
)
SEEDS = (0, 1, 2)


def _rho(total_mi: float, d: int) -> float:
    return math.sqrt(1.0 - math.exp(-2.0 * total_mi / d))


# y -> y^3 makes y heavy-tailed and the critic learns it more slowly: at the SLOW budget
# the held-out bound is still rising when it stops (seeds 0-2: InfoNCE 1.76-1.79, SMILE
# 1.79-1.84 nats for a truth of 2.0); with 10000 steps they reach 1.86-1.87 and 1.91-1.93.
CUBIC = {**SLOW, "max_steps": 10000, "patience": 20}


def _estimate(name: str, x: np.ndarray, y: np.ndarray, seed: int, budget: dict = SLOW) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = mi_probe.estimate_mi(x, y, estimator=name, random_state=seed, **budget)
    return r.diagnostics["raw_value"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ["infonce", "nwj", "mine", "smile", "js", "ba"])
def test_gaussian_5x5(name: str, seed: int) -> None:
    x, y, truth = gaussian_pair(50000, 5, _rho(2.0, 5), seed)
    assert abs(_estimate(name, x, y, seed) - truth) < 0.1 * truth


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ["infonce", "smile", "ba"])
def test_gaussian_20x20(name: str, seed: int) -> None:
    x, y, truth = gaussian_pair(100000, 20, _rho(2.0, 20), seed)
    assert abs(_estimate(name, x, y, seed) - truth) < 0.1 * truth


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ["infonce", "smile"])
def test_cubic_transformed_5x5(name: str, seed: int) -> None:
    # y -> y^3 is invertible per coordinate: the MI is unchanged
    x, y, truth = gaussian_pair(50000, 5, _rho(2.0, 5), seed)
    assert abs(_estimate(name, x, y**3, seed, CUBIC) - truth) < 0.1 * truth


@pytest.mark.slow
@pytest.mark.parametrize("d", [5, 20])
def test_club_upper_bound(d: int) -> None:
    for seed in SEEDS:
        x, y, truth = gaussian_pair(50000, d, _rho(2.0, d), seed)
        assert _estimate("club", x, y, seed) > truth
