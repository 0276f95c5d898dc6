"""Issue 19 regressions: scale invariance at the limits of float64, no NaN from finite
input, and the errors that name their argument.

MI is invariant under scaling each variable, so ``x * c`` must give the unscaled value
for any ``c`` that keeps the data finite; entropy shifts by exactly ``d log c``. Before
the fix, ``np.std`` over- or underflowed for ``c >= 1e154`` or ``c <= 1e-160`` and the
estimators returned 0.0 (or +inf, or ignored ``z``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import mi_probe
from mi_probe._validation import check_bool, check_kwargs, check_labels, standardize_columns
from mi_probe.analysis.total_correlation import total_correlation

SCALES = (1e155, 1e-161, 1e300, 1e-300)


def _pair(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x: 2-D Gaussian, y = x_0 + noise: I(x; y) = 0.5 log(1 + 1 / 0.25) = 0.805 nats."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    y = x[:, :1] + 0.5 * rng.standard_normal((n, 1))
    return x, y


def _near_limit(a: np.ndarray) -> np.ndarray:
    """``a`` scaled so that its largest absolute value is 1.7e308 (float64 max is 1.798e308)."""
    return a * (1.7e308 / np.abs(a).max())


# --------------------------------------------------------------------------------------
# the scale-safe standardisation itself
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("c", (1.0, *SCALES, 1.7e308 / 4.0))
def test_standardize_columns_is_scale_free(c: float) -> None:
    x, _ = _pair()
    z1, _, log1 = standardize_columns(x)
    zc, _, logc = standardize_columns(x * c)
    np.testing.assert_allclose(zc, z1, atol=1e-12)
    np.testing.assert_allclose(logc, log1 + math.log(c), rtol=1e-12)


def test_standardize_columns_constant_column_is_zero_with_log_std_minus_inf() -> None:
    a = np.column_stack([np.full(5, 1e-300), np.arange(5.0) * 1e300])
    z, _, log_std = standardize_columns(a)
    assert np.all(z[:, 0] == 0) and log_std[0] == -np.inf
    assert np.isfinite(z).all() and np.isfinite(log_std[1])


# --------------------------------------------------------------------------------------
# scale: x * c gives the unscaled value
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("c", SCALES)
@pytest.mark.parametrize("estimator", ["ksg", "gaussian", "kde"])
def test_continuous_mi_is_invariant_to_extreme_scales(estimator: str, c: float) -> None:
    x, y = _pair()
    ref = float(mi_probe.estimate_mi(x, y, estimator, random_state=0))
    got = float(mi_probe.estimate_mi(x * c, y, estimator, random_state=0))
    assert ref > 0.4  # truth 0.805; the KDE noisy-layer reading is lower
    # the standardised data agree to rounding, so the estimates do too
    assert abs(got - ref) < 1e-6


@pytest.mark.parametrize("c", SCALES)
def test_mixed_mi_is_invariant_to_extreme_scales(c: float) -> None:
    x, y = _pair()
    labels = (y[:, 0] > 0).astype(int)
    ref = float(mi_probe.estimate_mi(x, labels, "mixed", random_state=0))
    got = float(mi_probe.estimate_mi(x * c, labels, "mixed", random_state=0))
    assert ref > 0.2
    assert abs(got - ref) < 1e-6


@pytest.mark.parametrize("c", SCALES)
def test_kl_entropy_shifts_by_d_log_c(c: float) -> None:
    x, _ = _pair()
    ref = float(mi_probe.entropy(x, "kl", random_state=0))
    got = float(mi_probe.entropy(x * c, "kl", random_state=0))
    # e.g. c = 1e-300: -1379 nats, not +inf or -43
    assert abs(got - (ref + 2 * math.log(c))) < 1e-6


@pytest.mark.parametrize("c", SCALES)
def test_conditional_mi_does_not_ignore_a_scaled_z(c: float) -> None:
    rng = np.random.default_rng(1)
    n = 600
    z = rng.standard_normal((n, 1))
    x = z + 0.5 * rng.standard_normal((n, 1))
    y = z + 0.5 * rng.standard_normal((n, 1))
    ref = float(mi_probe.conditional_mi(x, y, z, random_state=0))
    got = float(mi_probe.conditional_mi(x, y, z * c, random_state=0))
    assert ref < 0.1  # x and y are independent given z
    assert abs(got - ref) < 1e-6


@pytest.mark.parametrize("c", SCALES)
@pytest.mark.parametrize("estimator", ["gaussian", "ksg"])
def test_total_correlation_is_invariant_to_extreme_scales(estimator: str, c: float) -> None:
    x, y = _pair()
    z = np.hstack([x, y])
    ref = float(total_correlation(z, estimator=estimator, random_state=0).value)
    got = float(total_correlation(z * c, estimator=estimator, random_state=0).value)
    assert ref > 0.5
    assert abs(got - ref) < 1e-6


def test_gaussian_mi_and_entropy_near_float64_max() -> None:
    x, y = _pair()
    ref = float(mi_probe.estimate_mi(x, y, "gaussian"))
    assert abs(float(mi_probe.estimate_mi(_near_limit(x), y, "gaussian")) - ref) < 1e-9
    h = float(mi_probe.entropy(x, "gaussian"))
    c = 1.7e308 / np.abs(x).max()
    assert abs(float(mi_probe.entropy(_near_limit(x), "gaussian")) - (h + 2 * math.log(c))) < 1e-6


def test_discrete_codes_beyond_int64_stay_distinct() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(1, 3, size=500).astype(float)
    x = codes * 1e19  # 1e19 and 2e19 both wrapped to -2**63 on the int64 cast
    assert float(mi_probe.estimate_mi(x, codes, "discrete")) == pytest.approx(
        float(mi_probe.estimate_mi(codes, codes, "discrete")), abs=1e-12
    )
    assert float(mi_probe.entropy(x, "discrete")) > 0.68  # log 2 = 0.693, not 0
    assert check_labels(np.array([1e19, 2e19, 1e19])).ravel().tolist() == [0, 1, 0]


# --------------------------------------------------------------------------------------
# NaN from finite input: the neural bounds return a finite value or raise
# --------------------------------------------------------------------------------------
NEURAL = dict(max_steps=60, eval_every=20, hidden_dims=(16,), progress=False, random_state=0)


@pytest.mark.parametrize("estimator", ["infonce", "smile", "ba", "club", "nwj"])
def test_neural_bounds_near_float64_max_are_the_unscaled_value(estimator: str) -> None:
    x, y = _pair(300)
    ref = float(mi_probe.estimate_mi(x, y, estimator, **NEURAL))
    got = float(mi_probe.estimate_mi(_near_limit(x), _near_limit(y), estimator, **NEURAL))
    assert math.isfinite(got)
    # same seed, same split; the standardised inputs agree to float32 rounding
    assert abs(got - ref) < 0.05


@pytest.mark.parametrize("c", (1e155, 1e-161))
def test_neural_bound_is_invariant_to_extreme_scales(c: float) -> None:
    x, y = _pair(300)
    ref = float(mi_probe.estimate_mi(x, y, "infonce", **NEURAL))
    assert ref > 0.2
    assert abs(float(mi_probe.estimate_mi(x * c, y, "infonce", **NEURAL)) - ref) < 0.05


@pytest.mark.parametrize("estimator", ["infonce", "club"])
def test_neural_bounds_on_near_constant_columns_are_finite_or_raise(estimator: str) -> None:
    rng = np.random.default_rng(3)
    n = 300
    x = np.full((n, 2), 1e6)
    x[:, 1] += rng.standard_normal(n)
    x[::97, 0] = -1e6  # a column constant but for three rows
    y = rng.standard_normal((n, 1))
    try:
        r = mi_probe.estimate_mi(x, y, estimator, **NEURAL)
    except ValueError as exc:
        assert "held-out bound" in str(exc) or "float32" in str(exc)
    else:
        assert math.isfinite(float(r)) and math.isfinite(r.diagnostics["raw_value"])


def test_neural_unstandardised_values_beyond_float32_raise() -> None:
    x, y = _pair(100)
    with pytest.raises(ValueError, match="x has values beyond the float32 range"):
        mi_probe.estimate_mi(x * 1e40, y, "infonce", standardize=False, **NEURAL)


def test_finite_or_raise_names_the_bound() -> None:
    from mi_probe.estimators.neural.training import finite_or_raise

    assert finite_or_raise(0.5, "infonce") == 0.5
    with pytest.raises(ValueError, match="infonce: the held-out bound is nan"):
        finite_or_raise(float("nan"), "infonce")


# --------------------------------------------------------------------------------------
# errors that name the argument
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda x: mi_probe.estimate_mi(x, x, "binning"),
        lambda x: mi_probe.estimate_mi(x, x, "discrete"),
        lambda x: mi_probe.entropy(x, "binning"),
        lambda x: mi_probe.entropy(x, "discrete"),
    ],
)
def test_one_sample_is_rejected_by_binning_and_discrete(call) -> None:
    with pytest.raises(ValueError, match="x has 1 samples; at least 2"):
        call(np.array([1.0]))


@pytest.mark.parametrize("n", (2, 3))
def test_too_few_samples_for_knn_entropy_and_tc_name_the_argument(n: int) -> None:
    a = np.arange(2.0 * n).reshape(n, 2)
    for est in ("kl", "ksg"):
        with pytest.raises(ValueError, match=f"needs more than 3 samples, got {n} in x"):
            mi_probe.entropy(a, est)
    with pytest.raises(ValueError, match=f"needs more than 3 samples, got {n} in z"):
        total_correlation(a, estimator="ksg")


def test_check_bool() -> None:
    assert check_bool(np.bool_(True), "flag") is True
    with pytest.raises(ValueError, match="flag must be True or False, got 'no'"):
        check_bool("no", "flag")


def test_non_bool_flags_are_rejected_by_name() -> None:
    x, y = _pair(60)
    with pytest.raises(ValueError, match="standardize must be True or False, got 'no'"):
        mi_probe.estimate_mi(x, y, "ksg", standardize="no")
    with pytest.raises(ValueError, match="standardize must be True or False, got 'no'"):
        mi_probe.estimate_mi(x, y, "infonce", standardize="no", **NEURAL)
    with pytest.raises(ValueError, match="interval must be True or False, got 'yes'"):
        mi_probe.estimate_mi(x, y, "ksg", interval="yes")
    with pytest.raises(ValueError, match="null must be True or False, got 1"):
        mi_probe.estimate_mi(x, y, "ksg", null=1)


def test_check_kwargs_names_the_unknown_ones() -> None:
    check_kwargs("f", {"a": 1}, ("a", "b"))
    with pytest.raises(ValueError, match=r"f\(\) got unknown keyword argument\(s\) 'c'"):
        check_kwargs("f", {"a": 1, "c": 2}, ("a", "b"))


def test_gaussian_linalg_failure_is_a_value_error() -> None:
    from mi_probe.estimators.gaussian import _logdet

    with pytest.raises(ValueError, match="could not be decomposed"):
        _logdet(np.array([[np.nan, 0.0], [0.0, 1.0]]), "x")


@pytest.mark.parametrize("c", (1e300, 1e-300))
def test_kde_and_gaussian_at_extreme_scales_do_not_blame_a_constant_column(c: float) -> None:
    x, y = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "constant" warning either
        for est in ("kde", "gaussian"):
            assert float(mi_probe.estimate_mi(x * c, y, est)) > 0.4
    with pytest.raises(ValueError, match=r"x has a singular covariance \(column 1 is constant\)"):
        mi_probe.estimate_mi(np.column_stack([x[:, 0] * c, np.full(len(x), c)]), y, "kde")
    with pytest.raises(ValueError, match="x column 1 is constant"):
        mi_probe.estimate_mi(np.column_stack([x[:, 0] * c, np.full(len(x), c)]), y, "gaussian")


@pytest.mark.parametrize(
    "call, name",
    [
        (
            lambda: mi_probe.conditional_mi([1.0, 2.0], [1.0, 2.0], [1.0, 2.0], k=3),
            "conditional_mi",
        ),
        (lambda: mi_probe.disentanglement_scores(np.zeros((4, 2)), np.zeros(4), bins=3), None),
        (lambda: mi_probe.ib_curve(np.full((2, 2), 0.25), bogus=1), "ib_curve"),
        (lambda: mi_probe.invariance(None, np.zeros((4, 2)), nuisances=1), "invariance"),
    ],
)
def test_unknown_keyword_arguments_are_named_value_errors(call, name) -> None:
    func = name or "disentanglement_scores"
    with pytest.raises(ValueError, match=rf"{func}\(\) got unknown keyword argument\(s\) '"):
        call()


def test_ib_curve_bad_device_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="device must be None, a torch device"):
        mi_probe.ib_curve(np.full((2, 2), 0.25), device="bogus")


def test_tutorial_smoke_tests_time_out_only_on_a_hang() -> None:
    # the work is budgeted by --tiny; the subprocess timeout only stops a hang (a loaded
    # 2-core runner took more than the old 300 s for a correct tutorial-8 run)
    import inspect

    from tests import _helpers

    assert _helpers.HANG_TIMEOUT >= 1800
    source = inspect.getsource(_helpers.run_tutorial)
    assert '"--tiny"' in source and "timeout=HANG_TIMEOUT" in source


@pytest.mark.parametrize("c", (*SCALES, None))
def test_uniform_binning_is_invariant_to_extreme_scales(c: float | None) -> None:
    x, y = _pair()
    ref = float(mi_probe.estimate_mi(x, y, "binning", n_bins=10))
    xs = _near_limit(x) if c is None else x * c
    assert float(mi_probe.estimate_mi(xs, y, "binning", n_bins=10)) == pytest.approx(ref, abs=1e-12)


def test_fixed_binning_beyond_int64_codes_raises() -> None:
    x, y = _pair(50)
    with pytest.raises(ValueError, match="beyond the bin codes int64 can hold"):
        mi_probe.estimate_mi(x * 1e300, y, "binning", strategy="fixed", bin_size=0.5)


def test_auto_check_stability_must_be_a_bool() -> None:
    x, y = _pair(60)
    with pytest.raises(ValueError, match="check_stability must be True or False, got 'no'"):
        mi_probe.estimate_mi(x, y, "auto", check_stability="no")


@pytest.mark.parametrize("estimator", ["ksg", "kde", "gaussian", "mixed"])
def test_near_float64_max_gives_the_unscaled_value(estimator: str) -> None:
    x, y = _pair()
    target = (y[:, 0] > 0).astype(int) if estimator == "mixed" else y
    ref = float(mi_probe.estimate_mi(x, target, estimator, random_state=0))
    got = float(mi_probe.estimate_mi(_near_limit(x), target, estimator, random_state=0))
    assert abs(got - ref) < 1e-6


@pytest.mark.parametrize("c", SCALES)
def test_preprocessing_standardize_is_scale_safe(c: float) -> None:
    from mi_probe.preprocessing import standardize

    x, _ = _pair()
    np.testing.assert_allclose(standardize(x * c), standardize(x), atol=1e-12)


@pytest.mark.parametrize("c", (1e155, 1e-161))
def test_disentanglement_scores_are_scale_free(c: float) -> None:
    rng = np.random.default_rng(0)
    v = rng.integers(0, 3, size=(300, 2))
    z = v + 0.3 * rng.standard_normal((300, 2))
    ref = mi_probe.disentanglement_scores(z, v, dci_model="lasso", factorvae_votes=50)
    got = mi_probe.disentanglement_scores(z * c, v, dci_model="lasso", factorvae_votes=50)
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key
