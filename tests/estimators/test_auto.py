import warnings

import numpy as np
import pytest

import mi_probe
from mi_probe.estimators.auto import auto_mi, is_discrete
from tests._helpers import gaussian_pair


def test_auto_is_the_default_and_records_its_choice():
    x, y, truth = gaussian_pair(2000, 2, 0.6, seed=21)
    r = mi_probe.estimate_mi(x, y, random_state=0)
    assert r.estimator == "auto"
    assert r.diagnostics["choice"].startswith("max(")
    assert r.diagnostics["reason"]
    assert set(r.diagnostics["candidates"]) == {
        "gaussian_copula",
        "ksg_copula",
        "ksg_raw",
        "ksg_radial",
    }
    assert abs(float(r) - truth) < max(0.05, 0.1 * truth)
    lo, hi = r.interval
    assert lo <= float(r) <= hi


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auto_undoes_monotone_distortion(seed):
    x, y, truth = gaussian_pair(2000, 3, 0.5, seed)
    distorted = np.sign(x) * np.abs(x) ** 3  # half-cube-like, invertible per coordinate
    r = auto_mi(
        distorted,
        np.arcsinh(y),
        interval=False,
        null=False,
        check_stability=False,
        random_state=seed,
    )
    assert abs(float(r) - truth) < max(0.05, 0.1 * truth)


def test_permutation_null_separates_dependent_from_independent():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1000, 1))
    indep = auto_mi(
        x, rng.standard_normal((1000, 1)), interval=False, check_stability=False, random_state=0
    )
    assert indep.null < 0.05 and indep.diagnostics["p_value"] > 0.05
    dep = auto_mi(
        x, x + rng.standard_normal((1000, 1)), interval=False, check_stability=False, random_state=0
    )
    assert float(dep) > 5 * dep.null and dep.diagnostics["p_value"] < 0.1


def test_discrete_data_uses_plugin():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, 5000)
    flip = rng.random(5000) < 0.1
    y = np.where(flip, 1 - x, x)
    truth = np.log(2) + 0.1 * np.log(0.1) + 0.9 * np.log(0.9)
    r = auto_mi(x, y, interval=False, null=False, random_state=0)
    assert r.diagnostics["choice"] == "discrete"
    assert abs(float(r) - truth) < 0.02


def test_labels_vs_continuous_uses_mixed():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 3000)
    x = rng.standard_normal(3000) + 4.0 * y  # nearly separable: MI close to log 2
    r = auto_mi(x, y, interval=False, null=False, random_state=0)
    assert "mixed+copula" in r.diagnostics["choice"]
    assert abs(float(r) - np.log(2)) < 0.08


def test_too_few_samples_for_dim_warns():
    x, y, _ = gaussian_pair(120, 8, 0.9, seed=9)
    with pytest.warns(RuntimeWarning, match="unreliable: .*few_samples_for_dim"):
        r = auto_mi(x, y, interval=False, null=False, random_state=0)
    assert r.diagnostics["flags"]["few_samples_for_dim"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_too_small_n_raises_stability_flag(seed):
    # y = sin(3x) + small noise: MI ~ 2.6 nats, far beyond what 60 samples resolve,
    # so the estimate still climbs with n (n/2 vs n) and the flag must say so
    g = np.random.default_rng(seed)
    x = g.uniform(-3, 3, (60, 1))
    y = np.sin(3 * x) + 0.05 * g.standard_normal((60, 1))
    with pytest.warns(RuntimeWarning, match="unreliable: unstable_in_n"):
        r = auto_mi(x, y, interval=False, null=False, random_state=seed)
    assert r.diagnostics["flags"]["unstable_in_n"]


def test_enough_samples_no_warning():
    x, y, _ = gaussian_pair(3000, 1, 0.5, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = auto_mi(x, y, interval=False, null=False, random_state=0)
    assert not r.diagnostics["flags"]["unstable_in_n"]


def test_same_seed_same_number():
    x, y, _ = gaussian_pair(800, 2, 0.5, seed=7)
    a = auto_mi(x, y, random_state=3)
    b = auto_mi(x, y, random_state=3)
    assert float(a) == float(b) and a.interval == b.interval and a.null == b.null


def test_interval_and_null_for_named_estimators():
    x, y, truth = gaussian_pair(1500, 1, 0.7, seed=8)
    r = mi_probe.estimate_mi(x, y, "ksg", interval=True, null=True, random_state=0)
    lo, hi = r.interval
    assert lo <= truth <= hi
    assert r.null < 0.05


def test_is_discrete():
    assert is_discrete(np.array([[0.0], [1.0], [1.0]] * 10))
    assert not is_discrete(np.linspace(0, 1, 30)[:, None])


def test_bad_arguments():
    x, y, _ = gaussian_pair(100, 1, 0.5, seed=0)
    with pytest.raises(ValueError, match="n_resamples must be >= 2"):
        auto_mi(x, y, n_resamples=1)
    with pytest.raises(ValueError, match="n_permutations must be >= 1"):
        auto_mi(x, y, n_permutations=0)
    with pytest.raises(ValueError, match="x has 10 samples"):
        auto_mi(x[:10], y[:10])


def test_gaussian_copula_candidate_is_unbiased():
    # 10 + 10 dimensions at n = 200: the plug-in is biased up by ~ d_x d_y / (2n) = 0.25
    # nats; the corrected estimate's mean over 20 data sets must be within 0.05 of truth
    # (its sd over data sets is ~0.1, so the mean's sd is ~0.02)
    from mi_probe.estimators.auto import gaussian_copula_mi
    from mi_probe.estimators.gaussian import gaussian_mi

    corrected, plug_in = [], []
    for seed in range(20):
        x, y, truth = gaussian_pair(200, 10, 0.3, seed)
        corrected.append(gaussian_copula_mi(x, y))
        plug_in.append(float(gaussian_mi(x, y).diagnostics["raw_value"]))
    assert abs(np.mean(corrected) - truth) < 0.05
    assert np.mean(plug_in) - truth > 0.15


def test_value_does_not_depend_on_interval_null_or_stability():
    x, y, _ = gaussian_pair(600, 2, 0.5, seed=4)
    full = auto_mi(x, y, random_state=11)
    bare = auto_mi(x, y, interval=False, null=False, check_stability=False, random_state=11)
    assert float(full) == float(bare)
    assert bare.interval is None and bare.null is None


def test_expensive_null_uses_a_quarter_of_the_rows():
    x, y, _ = gaussian_pair(800, 3, 0.5, seed=5)
    r = auto_mi(x, y, interval=False, check_stability=False, n_permutations=5, random_state=0)
    assert r.diagnostics["null_ksg_rows"] == 200
    assert r.null < float(r) and r.diagnostics["p_value"] == pytest.approx(1 / 6)
