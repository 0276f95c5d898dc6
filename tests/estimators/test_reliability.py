import warnings

import numpy as np
import pytest

from mi_probe.estimators import reliability
from mi_probe.estimators.auto import auto_mi
from mi_probe.estimators.gaussian import gaussian_mi
from mi_probe.result import MIResult
from tests._helpers import gaussian_pair

# (d, rho) of the Gaussian cases whose true MI the 95% interval must cover
CASES = [(1, 0.5), (2, 0.6), (3, 0.4)]


def _coverage(n, seeds):
    hits = total = 0
    for d, rho in CASES:
        for seed in seeds:
            x, y, truth = gaussian_pair(n, d, rho, seed)
            r = auto_mi(x, y, null=False, check_stability=False, random_state=seed)
            lo, hi = r.interval
            hits += lo <= truth <= hi
            total += 1
    return hits, total


def test_interval_covers_gaussian_truth():
    # nominal 95%: 18 runs, at least 15 must cover (P(<= 14 | p = 0.95) ~ 1%)
    hits, total = _coverage(600, range(6))
    assert hits >= 15, f"{hits}/{total}"


@pytest.mark.slow
def test_interval_covers_gaussian_truth_many_seeds():
    # 60 runs at n = 2000: at least 52 (87%) must cover (P(<= 51 | p = 0.95) < 1%)
    hits, total = _coverage(2000, range(100, 120))
    assert hits >= 52, f"{hits}/{total}"


def _gauss_fn(a, b, seed):
    return float(gaussian_mi(a, b).diagnostics["raw_value"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_subsample_interval_sd_matches_spread_over_datasets(seed):
    # the half-sample sd estimates the sd of the full-n estimate: compare with the
    # spread of the estimate over 40 independent data sets (tolerance: factor 1.6)
    n, d, rho = 800, 1, 0.6
    spread = np.std(
        [_gauss_fn(*gaussian_pair(n, d, rho, 1000 + i)[:2], 0) for i in range(40)], ddof=1
    )
    x, y, _ = gaussian_pair(n, d, rho, seed)
    _, info = reliability.subsample_interval(
        _gauss_fn, x, y, _gauss_fn(x, y, 0), n_resamples=30, rng=np.random.default_rng(seed)
    )
    assert spread / 1.6 < info["sd"] < spread * 1.6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_permutation_null_of_independent_data(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((1000, 2)), rng.standard_normal((1000, 2))
    value = _gauss_fn(x, y, 0)
    level, info = reliability.permutation_null(_gauss_fn, x, y, value, n_permutations=40, rng=rng)
    # 2 n I ~ chi2(d_x d_y = 4) under independence: 95% level 9.49 / 2000 = 0.0047
    assert 0.002 < level < 0.01
    assert abs(info["null_mean"]) < 0.005
    dep_x, dep_y, _ = gaussian_pair(1000, 2, 0.3, seed)
    dep = _gauss_fn(dep_x, dep_y, 0)
    level, info = reliability.permutation_null(
        _gauss_fn, dep_x, dep_y, dep, n_permutations=40, rng=rng
    )
    assert dep > 5 * level and info["p_value"] == pytest.approx(1 / 41)


def test_stability_flags_trend_vs_noise():
    def trending(a, b, seed):  # an estimate that still climbs as n grows
        return 1.0 - 10.0 / np.sqrt(a.shape[0])

    x = y = np.zeros((1600, 1))
    value = trending(x, y, 0)
    out = reliability.stability_flags(trending, x, y, value, rng=np.random.default_rng(0))
    assert out["unstable_in_n"]
    assert set(out["estimates_by_n"]) == {"n/4", "n/2", "n"}
    # the same spread is not flagged when the estimate's own noise explains it
    out = reliability.stability_flags(
        trending, x, y, value, rng=np.random.default_rng(0), noise_sd=0.1
    )
    assert not out["unstable_in_n"]


def test_sample_flags_and_warning():
    rng = np.random.default_rng(0)
    flags = reliability.sample_flags(rng.standard_normal((300, 2)), rng.standard_normal((300, 2)))
    assert flags["few_samples_for_dim"] and not flags["many_ties"]
    ties = reliability.sample_flags(
        rng.integers(0, 3, (5000, 1)).astype(float), rng.standard_normal((5000, 1))
    )
    assert ties["many_ties"] and not ties["few_samples_for_dim"]
    with pytest.warns(RuntimeWarning, match="unreliable: few_samples_for_dim"):
        reliability.warn_flags(flags, "test")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reliability.warn_flags({"many_ties": True}, "test")  # not a serious flag


def test_flags_for_auto_result():
    x, y, _ = gaussian_pair(2000, 1, 0.6, seed=3)
    row = reliability.flags_for(auto_mi(x, y, random_state=0))
    assert tuple(row) == reliability.FLAG_COLUMNS
    assert row["unstable_in_n"] is False and row["few_samples_for_dim"] is False
    assert row["not_above_null"] is False and row["warning"] == ""
    assert row["interval_low"] <= row["interval_high"] and 0 < row["p_value"] < 0.1


def test_flags_for_plain_and_neural_like_results():
    x, y, _ = gaussian_pair(100, 2, 0.6, seed=3)
    plain = MIResult(value=0.5, estimator="ksg", n_samples=100, params={}, diagnostics={})
    row = reliability.flags_for(plain)
    assert row["unstable_in_n"] is None and row["interval_low"] is None
    assert row["null"] is None and row["warning"] == ""
    row = reliability.flags_for(plain, x, y)  # sample flags from the data
    assert row["few_samples_for_dim"] is True and row["warning"] == "few_samples_for_dim"
    neural = MIResult(
        value=2.0,
        estimator="infonce",
        n_samples=100,
        params={},
        diagnostics={"at_ceiling": True},
        null=2.5,
    )
    row = reliability.flags_for(neural)
    assert row["at_ceiling"] is True and row["not_above_null"] is True
    assert row["warning"] == "at_ceiling"


def test_flags_for_bad_input():
    with pytest.raises(ValueError, match="result must be an MIResult, got float"):
        reliability.flags_for(0.3)
