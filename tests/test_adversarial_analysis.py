"""Adversarial inputs for the layers above the estimators: total correlation,
disentanglement, the information plane, probes, weight information, PAC-Bayes and the
IB solvers. Bad input is a ValueError naming the argument; an answer that cannot be
trusted comes with a warning and a diagnostics flag; probing never changes the model.

Small n and fixed seeds throughout: the whole file runs in seconds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mi_probe.analysis.total_correlation import binning_tc, ksg_tc, mss_tc


def _codes(n: int = 200, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 3))


# --------------------------------------------------------------------- total correlation


@pytest.mark.parametrize("discrete", [1, 0, "yes", None])
def test_binning_tc_discrete_must_be_a_bool_or_auto(discrete):
    # 1 == True: check_choice let 1 and 0 through, and 1 then meant "bin the codes"
    with pytest.raises(ValueError, match=r"discrete must be one of 'auto', True, False"):
        binning_tc(_codes(), discrete=discrete)


@pytest.mark.parametrize(
    "extra, copula, pair",
    [
        (lambda z: z[:, 0], True, (0, 3)),  # an exact copy
        (lambda z: np.exp(z[:, 1]), True, (1, 3)),  # an increasing map of a column
        (lambda z: 1.0 - 3.0 * z[:, 0], False, (0, 3)),  # an affine copy, no copula
    ],
)
def test_ksg_tc_flags_columns_that_determine_each_other(extra, copula, pair):
    z = _codes()
    z = np.c_[z[:, :2], np.ones(len(z)), z[:, 2], extra(z)]  # a constant column in between
    pair = (pair[0] + (pair[0] >= 2), pair[1] + 1)  # the caller's column numbers
    with pytest.warns(RuntimeWarning, match=r"TC is infinite"):
        r = ksg_tc(z, copula=copula)
    assert r.diagnostics["dependent_columns"] == [pair]


def test_ksg_tc_independent_columns_are_not_flagged():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = ksg_tc(_codes())
    assert r.diagnostics["dependent_columns"] == []


@pytest.mark.parametrize("shift", [-800.0, 800.0])
def test_mss_tc_is_finite_and_scale_equivariant_at_extreme_variances(shift):
    # mu * s with logvar + 2 log s is the same aggregate posterior, rescaled: same TC.
    # Before: diff**2 * exp(-logvar) was inf * 0 = NaN, returned as the value
    rng = np.random.default_rng(0)
    mu, lv = rng.standard_normal((50, 2)), np.zeros((50, 2))
    base = mss_tc(mu, lv, random_state=0).value
    r = mss_tc(mu * np.exp(shift / 2), lv + shift, random_state=0)
    assert np.isfinite(r.value)
    assert r.value == pytest.approx(base, rel=1e-6, abs=1e-9)


def test_mss_tc_overflowing_samples_raise():
    mu, lv = np.zeros((20, 2)), np.full((20, 2), 1500.0)
    with pytest.raises(ValueError, match=r"mu and logvar give samples .* overflow"):
        mss_tc(mu, lv, random_state=0)
