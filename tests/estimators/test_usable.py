"""Usable (V-)information: ground truth on Gaussian classes, hard bounds, the null.

Ground truth: K Gaussian classes with a shared identity covariance (logistic regression
is then well specified), ``I(z; y) = H(y) - H(y | z)`` by Monte Carlo with the exact
class posteriors (200 000 draws, MC error ~0.002 nats). Tolerances (chosen on seeds
0-4, confirmed on 5-9 with the same numbers): at n = 2000 the mean estimate over five
seeds lies in [truth - 0.03, truth + 0.01] (a lower bound: the +0.01 is three standard
errors of a five-seed mean) and every interval starts below the truth; at n = 300 the
gap is at most 0.12 nats.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

import mi_probe
from mi_probe import estimate_mi
from mi_probe.estimators.usable import UsableEstimator, usable_information

K, D = 4, 3
MEANS = np.random.default_rng(0).standard_normal((K, D)) * 1.5


def _classes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    y = g.integers(0, K, n)
    return MEANS[y] + g.standard_normal((n, D)), y


def _truth() -> float:
    z, y = _classes(200_000, 999)
    ll = -0.5 * ((z[:, None, :] - MEANS[None]) ** 2).sum(-1)
    post = ll - logsumexp(ll, axis=1, keepdims=True)
    return float(np.log(K) + np.mean(post[np.arange(y.size), y]))


TRUTH = _truth()


@pytest.mark.parametrize("seeds", [range(0, 5), range(5, 10)])
def test_gaussian_classes_lower_bound_that_approaches_the_truth(seeds: range) -> None:
    big, small = [], []
    for seed in seeds:
        z, y = _classes(2000, 100 + seed)
        r = usable_information(z, y, n_permutations=0, random_state=seed)
        assert r.diagnostics["lower_bound"] is True
        assert r.interval[0] <= TRUTH  # a lower bound, within its interval
        assert r.value <= r.diagnostics["h_y"]
        big.append(r.value)
        z, y = _classes(300, 200 + seed)
        small.append(usable_information(z, y, n_permutations=0, random_state=seed).value)
    assert TRUTH - 0.03 <= np.mean(big) <= TRUTH + 0.01
    assert np.mean(small) >= TRUTH - 0.12


def test_never_above_h_y_and_flags_the_ceiling() -> None:
    g = np.random.default_rng(1)
    y = g.integers(0, 6, 600)
    z = np.eye(6)[y] * 50.0 + 0.01 * g.standard_normal((600, 6))  # separable
    r = usable_information(z, y, n_permutations=0, random_state=0)
    h = r.diagnostics["h_y"]
    counts = np.bincount(y) / y.size
    assert h == pytest.approx(-np.sum(counts * np.log(counts)), abs=1e-12)
    assert r.value <= h
    assert r.diagnostics["at_ceiling"] is True
    assert r.interval[1] <= h
    assert r.diagnostics["accuracy"] == 1.0


def test_independent_gives_about_zero_and_a_large_p_value() -> None:
    g = np.random.default_rng(2)
    z = g.standard_normal((800, 5))
    y = g.integers(0, 3, 800)
    r = usable_information(z, y, n_permutations=5, random_state=0)
    assert r.value < 0.01
    assert r.diagnostics["raw_value"] < 0.01
    assert r.diagnostics["p_value"] > 1 / 6
    assert len(r.diagnostics["null_values"]) == 5


def test_dependent_data_beats_every_permutation() -> None:
    z, y = _classes(600, 3)
    r = usable_information(z, y, n_permutations=5, random_state=0)
    assert r.diagnostics["p_value"] == pytest.approx(1 / 6)
    assert r.value > r.null


def test_one_hot_labels_match_integer_labels() -> None:
    z, y = _classes(400, 4)
    a = usable_information(z, y, n_permutations=0, random_state=0)
    b = usable_information(z, np.eye(K)[y], n_permutations=0, random_state=0)
    c = usable_information(z, y.astype(float), n_permutations=0, random_state=0)
    assert a.value == pytest.approx(b.value, abs=1e-12)
    assert a.value == pytest.approx(c.value, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_continuous_target_gaussian_regression(seed: int, rho: float) -> None:
    """Jointly Gaussian: I_V with a Gaussian likelihood is I = -0.5 log(1 - rho^2)."""
    g = np.random.default_rng(seed)
    n = 2000
    z = g.standard_normal((n, 3))
    y = rho * z[:, 0] + np.sqrt(1 - rho**2) * g.standard_normal(n)
    r = usable_information(z, y, n_permutations=0, random_state=seed)
    truth = -0.5 * np.log(1 - rho**2)
    assert r.diagnostics["discrete_y"] is False
    assert r.diagnostics["likelihood"] == "gaussian"
    assert r.value == pytest.approx(truth, abs=0.04)
    assert r.interval[0] <= truth + 0.01


def test_trained_classifier_logits_carry_more_than_a_random_copy() -> None:
    """20 inputs, the class in 3 of them: a trained net's 4 logits keep it, the same
    architecture at its random init projects mostly the 17 nuisance inputs."""
    z, y = _classes(800, 5)
    g = np.random.default_rng(5)
    inputs = np.hstack([z, 3.0 * g.standard_normal((800, 17))])
    x = torch.tensor(inputs, dtype=torch.float32)
    gen = torch.Generator().manual_seed(0)

    def make() -> torch.nn.Module:
        net = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.Tanh(), torch.nn.Linear(16, K))
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
        return net

    net, random_copy = make(), make()
    yt = torch.tensor(y)
    for _ in range(300):  # full-batch gradient descent (torch.optim's import is slow)
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(x), yt).backward()
        with torch.no_grad():
            for p in net.parameters():
                p -= 0.3 * p.grad
    with torch.no_grad():
        trained, rand = net(x), random_copy(x)
    a = usable_information(trained, y, n_permutations=0, random_state=0)
    b = usable_information(rand, y, n_permutations=0, random_state=0)
    assert a.value > b.value + 0.1
    assert a.value <= a.diagnostics["h_y"]


def test_wide_float32_layer_is_reduced() -> None:
    g = np.random.default_rng(6)
    z, y = _classes(400, 6)
    wide = (z @ g.standard_normal((D, 3000)) + 0.1 * g.standard_normal((400, 3000))).astype(
        np.float32
    )
    r = usable_information(wide, y, n_permutations=0, max_dim=32, random_state=0)
    assert r.diagnostics["reduced_dim"] == 32
    assert r.diagnostics["input_dim"] == 3000
    assert 0 < r.diagnostics["explained_variance"] <= 1
    # the 3 informative directions dominate the variance: most of I survives
    assert r.value >= TRUTH - 0.15


def test_reduction_finds_the_leading_principal_subspace() -> None:
    """The randomised range finder against the exact SVD of the centred layer."""
    from mi_probe.estimators.usable import _standardize_reduce

    g = np.random.default_rng(13)
    z = g.standard_normal((300, 20)) @ g.standard_normal((20, 900)) * 3.0
    z += g.standard_normal((300, 900))
    x, info = _standardize_reduce(z.astype(np.float32), 20, np.random.default_rng(0))
    s = np.linalg.svd(z - z.mean(axis=0), compute_uv=False)
    exact = float(np.sum(s[:20] ** 2) / np.sum(s**2))
    assert info["explained_variance"] == pytest.approx(exact, abs=0.01)
    assert x.shape == (300, 20)
    assert np.mean(x.var(axis=0)) == pytest.approx(1.0)


def test_constant_columns_are_dropped_and_all_constant_gives_zero() -> None:
    z, y = _classes(300, 7)
    padded = np.hstack([z, np.ones((300, 2))])
    r = usable_information(padded, y, n_permutations=0, random_state=0)
    assert r.diagnostics["n_constant_columns"] == 2
    r0 = usable_information(np.ones((300, 2)), y, n_permutations=0, random_state=0)
    assert r0.value == 0.0


def test_mlp_reads_what_a_linear_probe_cannot() -> None:
    g = np.random.default_rng(8)
    z = g.standard_normal((800, 2))
    y = ((z[:, 0] > 0) ^ (z[:, 1] > 0)).astype(int)  # XOR: no linear signal
    lin = usable_information(z, y, n_permutations=0, random_state=0)
    mlp = usable_information(z, y, family="mlp", n_permutations=0, random_state=0)
    assert lin.value < 0.02
    assert mlp.value > 0.35
    assert mlp.value <= np.log(2)


def test_registered_and_exported() -> None:
    z, y = _classes(200, 9)
    r = estimate_mi(z, y, "usable", n_permutations=0, random_state=0)
    assert r.estimator == "usable"
    assert mi_probe.usable_information is usable_information
    bare = estimate_mi(z, y, "usable", interval=False, null=False, random_state=0)
    assert bare.interval is None and bare.null is None
    assert bare.value == pytest.approx(r.value)
    est = UsableEstimator(n_permutations=0, random_state=0)
    assert est.estimate(z, y).value == pytest.approx(r.value)


def test_deterministic_given_random_state() -> None:
    z, y = _classes(300, 10)
    a = usable_information(z, y, n_permutations=2, random_state=3)
    b = usable_information(z, y, n_permutations=2, random_state=3)
    assert a.value == b.value and a.null == b.null


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"family": "forest"}, "family"),
        ({"n_folds": 1}, "n_folds"),
        ({"n_permutations": -1}, "n_permutations"),
        ({"max_dim": 0}, "max_dim"),
        ({"hidden_units": 0}, "hidden_units"),
        ({"max_iter": 0}, "max_iter"),
        ({"confidence": 1.0}, "confidence"),
        ({"discrete_y": "yes"}, "discrete_y"),
    ],
)
def test_bad_parameters(kwargs: dict, match: str) -> None:
    z, y = _classes(100, 11)
    with pytest.raises(ValueError, match=match):
        usable_information(z, y, **kwargs)


def test_bad_inputs() -> None:
    z, y = _classes(100, 12)
    with pytest.raises(ValueError, match="n_folds=5 needs at least 10"):
        usable_information(z[:6], y[:6])
    with pytest.raises(ValueError, match="single value"):
        usable_information(z, np.zeros(100, dtype=int))
    with pytest.raises(ValueError, match="same number of samples"):
        usable_information(z, y[:50])
    with pytest.raises(ValueError, match="constant"):
        usable_information(z, np.full(100, 0.5), discrete_y=False)
    with pytest.raises(ValueError, match="contains NaN"):
        usable_information(np.full((100, 2), np.nan), y)
    with pytest.raises(ValueError, match="0-D"):
        usable_information(z, np.float64(1.0))
