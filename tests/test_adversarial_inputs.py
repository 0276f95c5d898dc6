"""Adversarial inputs across the public API: bad input is a ValueError naming the argument,
scale-free estimators give the same number at any column scale, degenerate data gives the
known answer (or a flag), and nothing is silently wrong.

Small n and fixed seeds throughout: the whole file runs in seconds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mi_probe
from mi_probe import entropy, estimate_mi

# warnings (constant inputs, undersampled histograms, auto's flags) are asserted where
# they matter, with pytest.warns; elsewhere they are noise
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

CONTINUOUS = ("ksg", "binning", "kde", "gaussian", "auto")
SCALES = (1e-8, 1e8, 1e-300, 1e300)


def _pair(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    y = x[:, :1] + 0.5 * rng.standard_normal((n, 1))
    return x, y


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------- shapes, values


BAD_XY = {
    "empty": (np.array([]), np.array([]), r"x is empty"),
    "empty columns": (np.empty((50, 0)), np.zeros(50), r"x is empty"),
    "3-D": (np.zeros((5, 5, 2)), np.zeros((5, 5, 2)), r"x must be 1-D .* or 2-D .* got 3-D"),
    "scalar": (3.0, 4.0, r"x must be 1-D .* got 0-D"),
    "mismatched": (np.arange(50.0), np.arange(49.0), r"x and y .* same number of samples"),
    "nan": (np.r_[np.nan, np.arange(49.0)], np.arange(50.0), r"x contains NaN"),
    "inf": (np.r_[np.inf, np.arange(49.0)], np.arange(50.0), r"x contains inf"),
    "-inf in y": (np.arange(50.0), np.r_[-np.inf, np.arange(49.0)], r"y contains inf"),
    "complex": (np.arange(50.0) + 1j, np.arange(50.0), r"x has a complex dtype"),
    "object": (np.arange(50.0).astype(object), np.arange(50.0), r"x has dtype object"),
    "strings": (np.array(["a", "b"] * 25), np.arange(50.0), r"x has dtype <U1"),
    "ragged": ([[1.0, 2.0], [3.0]], [1.0, 2.0], r"x could not be read as an array"),
}


@pytest.mark.parametrize("estimator", ["ksg", "binning", "kde", "gaussian", "auto", "mixed"])
@pytest.mark.parametrize("case", sorted(BAD_XY))
def test_bad_arrays_raise_naming_the_argument(estimator, case):
    x, y, match = BAD_XY[case]
    if estimator == "mixed" and case == "mismatched":
        y = np.arange(49)  # mixed wants integer labels in y; keep only the length wrong
    with pytest.raises(ValueError, match=match):
        _quiet(estimate_mi, x, y, estimator, random_state=0)


@pytest.mark.parametrize("estimator", ["ksg", "kde", "gaussian", "auto"])
def test_too_few_samples_raise_with_the_count(estimator):
    x, y = _pair(3)
    with pytest.raises(ValueError, match=r"samples"):
        estimate_mi(x, y, estimator, random_state=0)


def test_ksg_fewer_samples_than_neighbours():
    x, y = _pair(5)
    with pytest.raises(ValueError, match=r"n_neighbors=5 needs more than 5 samples, got 5"):
        estimate_mi(x, y, "ksg", n_neighbors=5)


@pytest.mark.parametrize("value", [0, -1, 2.0, 2.5, True, "3", None])
@pytest.mark.parametrize("estimator", ["ksg", "mixed"])
def test_bad_n_neighbors(estimator, value):
    x, y = _pair(60)
    if estimator == "mixed":
        y = (y > 0).astype(int)
    with pytest.raises(ValueError, match=r"n_neighbors must be"):
        estimate_mi(x, y, estimator, n_neighbors=value)


def test_numpy_integer_n_neighbors_accepted():
    x, y = _pair(60)
    a = estimate_mi(x, y, "ksg", n_neighbors=np.int64(4), random_state=0)
    b = estimate_mi(x, y, "ksg", n_neighbors=4, random_state=0)
    assert float(a) == float(b)


@pytest.mark.parametrize("name", ["KSG", "foo", "", "ksg "])
def test_unknown_estimator_names(name):
    x, y = _pair(60)
    with pytest.raises(ValueError, match=r"estimator must be one of"):
        estimate_mi(x, y, name)
    with pytest.raises(ValueError, match=r"estimator must be one of"):
        entropy(x, name)


@pytest.mark.parametrize("name", [None, 3])
def test_estimator_not_a_name(name):
    x, y = _pair(60)
    with pytest.raises(ValueError, match=r"estimator must be"):
        estimate_mi(x, y, name)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "a"])
@pytest.mark.parametrize("estimator", ["ksg", "binning", "kde", "gaussian", "auto"])
def test_bad_random_state(estimator, bad):
    x, y = _pair(60)
    with pytest.raises(ValueError, match=r"random_state must be"):
        estimate_mi(x, y, estimator, random_state=bad)


@pytest.mark.parametrize("estimator", ["ksg", "kde", "gaussian", "binning"])
def test_random_state_kinds_agree(estimator):
    x, y = _pair(150)
    values = {
        float(estimate_mi(x, y, estimator, random_state=rs)) for rs in (0, np.random.default_rng(0))
    }
    assert len(values) == 1


@pytest.mark.parametrize("flag", ["interval", "null"])
def test_bool_options_reject_ints(flag):
    x, y = _pair(60)
    with pytest.raises(ValueError, match=rf"{flag} must be True or False, got 1"):
        estimate_mi(x, y, "ksg", **{flag: 1})


# ------------------------------------------------------------------ containers and dtypes


@pytest.mark.parametrize("estimator", CONTINUOUS)
def test_containers_give_the_numpy_answer(estimator):
    torch = pytest.importorskip("torch")
    pd = pytest.importorskip("pandas")
    x, y = _pair(150)
    ref = float(estimate_mi(x, y, estimator, random_state=0))
    variants = {
        "list": (x.tolist(), y.tolist()),
        "fortran": (np.asfortranarray(x), y),
        "pandas": (pd.DataFrame(x, columns=["a", "b"]), pd.Series(y[:, 0])),
        "torch": (torch.tensor(x), torch.tensor(y)),
        "torch grad": (torch.tensor(x, requires_grad=True), torch.tensor(y)),
        "torch non-contiguous": (torch.tensor(x.T.copy()).T, torch.tensor(y)),
    }
    for label, (a, b) in variants.items():
        got = float(estimate_mi(a, b, estimator, random_state=0))
        assert got == pytest.approx(ref, abs=1e-9), label


def test_requires_grad_tensor_is_left_alone():
    torch = pytest.importorskip("torch")
    x, y = _pair(100)
    t = torch.tensor(x, requires_grad=True)
    estimate_mi(t, y, "ksg", random_state=0)
    assert t.requires_grad and t.grad is None


def test_n_vs_n1_shapes_agree():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(150)
    y = x + rng.standard_normal(150)
    for est in ("ksg", "kde", "gaussian", "binning"):
        a = float(estimate_mi(x, y, est, random_state=0))
        b = float(estimate_mi(x[:, None], y[:, None], est, random_state=0))
        assert a == pytest.approx(b, abs=1e-12), est


# ------------------------------------------------------------------------ scale invariance


@pytest.mark.parametrize("estimator", CONTINUOUS)
@pytest.mark.parametrize("scale", SCALES)
def test_mi_invariant_to_one_column_scale(estimator, scale):
    x, y = _pair(200)
    ref = float(estimate_mi(x, y, estimator, random_state=0))
    xs = x.copy()
    xs[:, 1] *= scale
    assert float(estimate_mi(xs, y, estimator, random_state=0)) == pytest.approx(ref, abs=1e-9)
    assert float(estimate_mi(x, y * scale, estimator, random_state=0)) == pytest.approx(
        ref, abs=1e-9
    )


@pytest.mark.parametrize("estimator", ["ksg", "kde", "gaussian", "binning", "mixed", "auto"])
def test_mi_with_labels_invariant_to_scale(estimator):
    # auto's held-out probe (usable information) returned ~0 at 1e-300 and 1e300, so
    # auto kept Ross's estimator there and the probe elsewhere (0.388 vs 0.391 nats)
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 200)
    x = labels + 0.7 * rng.standard_normal(200)
    # auto: the point estimate alone here (its interval and null rerun the same candidates)
    opts = (
        {"interval": False, "null": False, "check_stability": False} if estimator == "auto" else {}
    )
    ref = estimate_mi(x, labels, estimator, random_state=0, **opts)
    for scale in SCALES:
        got = estimate_mi(x * scale, labels, estimator, random_state=0, **opts)
        assert float(got) == pytest.approx(float(ref), abs=1e-9), scale
        if estimator == "auto":
            assert got.diagnostics["chosen"] == ref.diagnostics["chosen"] == "usable"


@pytest.mark.parametrize("estimator", CONTINUOUS)
def test_mi_invariant_to_column_permutation_and_symmetric(estimator):
    x, y = _pair(200)
    ref = float(estimate_mi(x, y, estimator, random_state=0))
    assert float(estimate_mi(x[:, ::-1], y, estimator, random_state=0)) == pytest.approx(
        ref, abs=1e-9
    )
    assert float(estimate_mi(y, x, estimator, random_state=0)) == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("estimator", ["kl", "kde", "gaussian"])
@pytest.mark.parametrize("scale", SCALES)
def test_differential_entropy_shifts_by_log_scale(estimator, scale):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((200, 2))
    ref = float(entropy(x, estimator, random_state=0))
    xs = x.copy()
    xs[:, 0] *= scale
    got = float(entropy(xs, estimator, random_state=0))
    assert got == pytest.approx(ref + np.log(scale), abs=1e-9)


@pytest.mark.parametrize("scale", SCALES)
def test_binning_entropy_is_scale_free(scale):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((200, 2))
    assert float(entropy(x * scale, "binning")) == float(entropy(x, "binning"))


# ----------------------------------------------------------------------- known answers


@pytest.mark.parametrize("estimator", ["ksg", "kde", "gaussian", "auto"])
def test_independent_data_near_zero(estimator):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal(300), rng.standard_normal(300)
    # KSG's sd at n=300 is about 0.03 nats; 0.1 is three of them
    assert float(estimate_mi(x, y, estimator, random_state=0)) < 0.1


@pytest.mark.parametrize("estimator", ["ksg", "kde", "auto"])
def test_x_and_x_plus_tiny_noise_is_large(estimator):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(300)
    # truth: about 13.8 nats; KSG saturates near psi(n) - psi(k) ~ 4.5 at n=300
    assert float(estimate_mi(x, x + 1e-6 * rng.standard_normal(300), estimator)) > 3.0


def test_constant_x_gives_exact_zero_for_ksg_and_binning():
    rng = np.random.default_rng(6)
    y = rng.standard_normal(100)
    with pytest.warns(RuntimeWarning, match="constant"):
        r = estimate_mi(np.ones(100), y, "ksg")
    assert float(r) == 0.0 and r.diagnostics["constant"] == "x"
    assert float(estimate_mi(np.ones(100), y, "binning")) == 0.0


@pytest.mark.parametrize("estimator", ["kde", "gaussian"])
def test_constant_x_is_a_clear_error_for_covariance_estimators(estimator):
    y = np.random.default_rng(6).standard_normal(100)
    with pytest.raises(ValueError, match=r"x .*constant"):
        estimate_mi(np.ones(100), y, estimator)


def test_discrete_known_answers():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, 300)
    h = float(entropy(labels, "discrete"))
    assert float(estimate_mi(labels, labels, "discrete")) == pytest.approx(h, abs=1e-12)
    # negative labels, float-coded labels, booleans: the partition is what counts
    assert float(estimate_mi(labels - 7, labels, "discrete")) == pytest.approx(h, abs=1e-12)
    assert float(entropy(labels.astype(float), "discrete")) == pytest.approx(h, abs=1e-12)
    assert float(entropy(np.zeros(50, int), "discrete")) == 0.0
    assert float(entropy(np.arange(64), "discrete")) == pytest.approx(np.log(64), abs=1e-12)


def test_discrete_rejects_non_integer_floats():
    with pytest.raises(ValueError, match=r"x must hold integer-coded discrete values"):
        estimate_mi(np.array([0.5, 1.0, 2.0]), np.array([0, 1, 2]), "discrete")


def test_mixed_degenerate_labels():
    rng = np.random.default_rng(8)
    x = rng.standard_normal(100)
    r = _quiet(estimate_mi, x, np.zeros(100, int), "mixed")
    assert float(r) == 0.0 and r.diagnostics["constant"] == "y"
    with pytest.raises(ValueError, match=r"y has no label that occurs more than once"):
        estimate_mi(x, np.arange(100), "mixed")


# ------------------------------------------------------------------------ kl_divergence


@pytest.mark.parametrize("scale", [1e-160, 1e160, 1e-300, 1e300])
def test_kl_divergence_scale_invariant(scale):
    # the pooled std over/underflowed: 0 nats instead of ~0.87 at these scales
    rng = np.random.default_rng(9)
    p = rng.standard_normal((300, 2))
    q = rng.standard_normal((300, 2)) + 1.0
    ref = float(mi_probe.kl_divergence(p, q, random_state=0))
    assert ref == pytest.approx(1.0, abs=0.3)  # truth: |mu|^2 / 2 = 1
    got = float(mi_probe.kl_divergence(p * scale, q * scale, random_state=0))
    assert got == pytest.approx(ref, abs=1e-9)


def test_kl_divergence_shared_constant_column_is_dropped():
    # kept, it raised d in d * mean(log nu/rho): 1.31 nats instead of 0.87
    rng = np.random.default_rng(9)
    p = rng.standard_normal((300, 2))
    q = rng.standard_normal((300, 2)) + 1.0
    ref = float(mi_probe.kl_divergence(p, q, random_state=0))
    ones = np.ones((300, 1))
    r = mi_probe.kl_divergence(np.hstack([p, ones]), np.hstack([q, ones]), random_state=0)
    assert float(r) == pytest.approx(ref, abs=1e-12)
    assert r.diagnostics["n_constant"] == 1


def test_kl_divergence_one_point_mass_is_zero():
    r = mi_probe.kl_divergence(np.ones(50), np.ones(40), interval=True, random_state=0)
    assert float(r) == 0.0 and r.interval == (0.0, 0.0)


def test_kl_divergence_point_mass_against_a_density_is_flagged():
    rng = np.random.default_rng(9)
    with pytest.warns(RuntimeWarning, match="barely overlap"):
        r = mi_probe.kl_divergence(np.ones(200), rng.standard_normal(200), random_state=0)
    assert r.diagnostics["lower_bound"] is True


@pytest.mark.parametrize("flag", ["standardize", "interval"])
def test_kl_divergence_bool_options(flag):
    p = np.random.default_rng(9).standard_normal(50)
    with pytest.raises(ValueError, match=rf"{flag} must be True or False"):
        mi_probe.kl_divergence(p, p + 1, **{flag: "no"})


def test_kl_divergence_overflow_without_standardize():
    p = np.random.default_rng(9).standard_normal((50, 2)) * 1e300
    with pytest.raises(ValueError, match=r"not finite .* use standardize=True"):
        mi_probe.kl_divergence(p, p + 1e300, standardize=False, random_state=0)


def test_kl_divergence_bad_shapes():
    p = np.random.default_rng(9).standard_normal((50, 1))
    with pytest.raises(ValueError, match=r"p and q must have the same number of columns"):
        mi_probe.kl_divergence(p, np.hstack([p, p]))
    with pytest.raises(ValueError, match=r"n_neighbors=3 needs more than 3 samples in p"):
        mi_probe.kl_divergence(p[:2], p)
    with pytest.raises(ValueError, match=r"p contains NaN"):
        mi_probe.kl_divergence(np.r_[p, [[np.nan]]], p)


# ------------------------------------------------------------------- total correlation


def _tc_code(n: int = 300, seed: int = 10) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    return np.c_[a, b, a + b + 0.5 * rng.standard_normal(n)]


@pytest.mark.parametrize("estimator", ["gaussian", "ksg", "binning"])
def test_total_correlation_ignores_a_constant_column(estimator):
    # ksg: the copula turned the constant column into independent noise (2.18 -> 1.33)
    z = _tc_code()
    ref = float(mi_probe.total_correlation(z, estimator, random_state=0))
    with_const = np.hstack([z[:, :1], np.full((z.shape[0], 1), 7.0), z[:, 1:]])
    got = _quiet(mi_probe.total_correlation, with_const, estimator, random_state=0)
    assert float(got) == pytest.approx(ref, abs=1e-9)


def test_ksg_total_correlation_degenerate_codes():
    r = mi_probe.total_correlation(np.ones((50, 3)), "ksg", random_state=0)
    assert float(r) == 0.0 and r.diagnostics["n_constant"] == 3
    with pytest.raises(ValueError, match=r"copula must be True or False"):
        mi_probe.total_correlation(_tc_code(), "ksg", copula="no")


@pytest.mark.parametrize("estimator", ["gaussian", "ksg", "binning"])
@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_total_correlation_scale_and_permutation(estimator, scale):
    z = _tc_code()
    ref = float(mi_probe.total_correlation(z, estimator, random_state=0))
    zs = z * np.array([1.0, scale, 1.0])
    assert float(mi_probe.total_correlation(zs, estimator, random_state=0)) == pytest.approx(
        ref, abs=1e-9
    )
    perm = float(mi_probe.total_correlation(z[:, [2, 0, 1]], estimator, random_state=0))
    assert perm == pytest.approx(ref, abs=1e-3)  # ksg: ties broken in another order


@pytest.mark.parametrize("estimator", ["gaussian", "ksg", "binning"])
def test_total_correlation_bad_input(estimator):
    with pytest.raises(ValueError, match=r"z contains NaN"):
        mi_probe.total_correlation(np.r_[_tc_code(), [[np.nan, 0, 0]]], estimator)
    with pytest.raises(ValueError, match=r"z must be 1-D .* got 3-D"):
        mi_probe.total_correlation(np.ones((5, 5, 5)), estimator)


# --------------------------------------------------------------- option types, ties in H


@pytest.mark.parametrize("algorithm", [True, 2.0, "1", 3, 0])
def test_ksg_algorithm_must_be_the_int_1_or_2(algorithm):
    # True == 1 and 2.0 == 2 passed `algorithm in (1, 2)`
    x, y = _pair(60)
    with pytest.raises(ValueError, match=r"algorithm must be 1 or 2"):
        estimate_mi(x, y, "ksg", algorithm=algorithm)


def test_ksg_algorithm_numpy_int_accepted():
    x, y = _pair(80)
    a = estimate_mi(x, y, "ksg", algorithm=np.int64(2), random_state=0)
    assert a.params["algorithm"] == 2 and type(a.params["algorithm"]) is int


@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_binning_y_discrete_rejects_non_booleans(value):
    x, y = _pair(60)
    with pytest.raises(ValueError, match=r"y_discrete must be one of 'auto', True, False"):
        estimate_mi(x, (y > 0).astype(int), "binning", y_discrete=value)


def test_kl_entropy_warns_when_ties_set_the_distances():
    # 10 copies of 30 normal values: -18.4 nats (truth 1.42), silently
    rng = np.random.default_rng(11)
    x = np.repeat(rng.standard_normal(30), 10)
    with pytest.warns(RuntimeWarning, match=r"x has repeated values \(100.0% of the rows"):
        r = entropy(x, "kl", random_state=0)
    assert r.diagnostics["tied_share"] == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clean = entropy(rng.standard_normal(200), "kl", random_state=0)
    assert clean.diagnostics["tied_share"] == 0.0


def test_auto_does_not_leak_the_tie_warning():
    rng = np.random.default_rng(12)
    x = np.maximum(rng.standard_normal((200, 2)), 0.0)  # ReLU-like atoms at zero
    y = x.sum(axis=1) + rng.standard_normal(200)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimate_mi(x, y, "auto", random_state=0, interval=False, null=False)
    assert not [w for w in caught if "repeated values" in str(w.message)]


@pytest.mark.parametrize("bandwidth", [1e-300, 1e300])
def test_kde_bandwidth_out_of_range_names_bandwidth(bandwidth):
    # the message named the kernel "variance" (its square under- or overflowed)
    x, y = _pair(60)
    with pytest.raises(ValueError, match=r"bandwidth=1e[-+]300 is out of range"):
        estimate_mi(x, y, "kde", bandwidth=bandwidth)
    with pytest.raises(ValueError, match=r"bandwidth=1e[-+]300 is out of range"):
        entropy(x, "kde", bandwidth=bandwidth)


@pytest.mark.parametrize("bandwidth", [0, -1, np.nan, True, "foo"])
def test_kde_bad_bandwidth(bandwidth):
    x, y = _pair(60)
    with pytest.raises(ValueError, match=r"bandwidth must be"):
        estimate_mi(x, y, "kde", bandwidth=bandwidth)


# ------------------------------------------------------- plug-in estimators: undersampled


def test_plug_in_mi_flags_an_undersampled_histogram():
    # independent data, 30 x 30 bins, n = 300: ~0.7 nats of pure bias, unflagged before
    rng = np.random.default_rng(13)
    x, y = rng.standard_normal(300), rng.standard_normal(300)
    r = estimate_mi(x, y, "binning")
    assert float(r) > 0.3 and r.diagnostics["undersampled"] is True
    coarse = estimate_mi(x, y, "binning", n_bins=4)
    assert float(coarse) < 0.05 and coarse.diagnostics["undersampled"] is False
    # a label per sample: the plug-in MI is H(y) whatever y is
    ids = estimate_mi(np.arange(300), rng.integers(0, 3, 300), "discrete")
    assert float(ids) > 1.0 and ids.diagnostics["undersampled"] is True
    few = estimate_mi(rng.integers(0, 3, 300), rng.integers(0, 3, 300), "discrete")
    assert few.diagnostics["undersampled"] is False
    assert few.diagnostics["bias_estimate"] == pytest.approx(4 / 600)  # (9 - 3 - 3 + 1) / 2n


# ------------------------------------------------- conditional MI, per-feature MI, options


def test_boolean_options_of_cmi_and_feature_mi():
    # 'yes' and 1 were accepted as truthy
    x, y = _pair(60)
    z = np.random.default_rng(14).standard_normal(60)
    with pytest.raises(ValueError, match=r"interval must be True or False, got 'yes'"):
        mi_probe.conditional_mi(x, y, z, interval="yes")
    with pytest.raises(ValueError, match=r"clip must be True or False, got 1"):
        mi_probe.mutual_info_features(x, y, clip=1)
    pytest.importorskip("pandas")
    with pytest.raises(ValueError, match=r"clip must be True or False, got 1"):
        mi_probe.pairwise_mi(x, clip=1)


@pytest.mark.parametrize("kinds", ["fff", "fif", "ffi"])
@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_conditional_mi_scale_invariant(kinds, scale):
    rng = np.random.default_rng(15)
    labels = rng.integers(0, 3, 200)
    z = rng.standard_normal(200)
    x = labels + z + 0.5 * rng.standard_normal(200)
    y = z + 0.5 * rng.standard_normal(200)
    args = {"fff": (x, y, z), "fif": (x, labels, z), "ffi": (x, y, labels)}[kinds]
    ref = float(mi_probe.conditional_mi(*args, random_state=0))
    scaled = [a * scale if a.dtype.kind == "f" else a for a in args]
    assert float(mi_probe.conditional_mi(*scaled, random_state=0)) == pytest.approx(ref, abs=1e-9)


def test_conditional_mi_known_answers():
    rng = np.random.default_rng(16)
    x = rng.standard_normal(300)
    y = x + 0.5 * rng.standard_normal(300)
    # y given y: nothing left to learn
    assert float(mi_probe.conditional_mi(x, y, y, random_state=0)) < 0.05
    # conditioning on a constant changes nothing: I(x; y | c) = I(x; y)
    with pytest.warns(RuntimeWarning, match="z takes only a single value"):
        cmi = mi_probe.conditional_mi(x, y, np.ones(300), random_state=0)
    mi = estimate_mi(x, y, "ksg", random_state=0)
    assert float(cmi) == pytest.approx(float(mi), abs=0.05)
    # XOR: I(x; y) = 0 but I(x; y | x ^ y) = ln 2
    a, b = rng.integers(0, 2, 2000), rng.integers(0, 2, 2000)
    assert float(mi_probe.conditional_mi(a, b, a ^ b)) == pytest.approx(np.log(2), abs=0.01)


def test_conditional_mi_bad_input():
    x, y = _pair(60)
    with pytest.raises(ValueError, match=r"x and z must have the same number of samples"):
        mi_probe.conditional_mi(x, y, np.zeros(59))
    with pytest.raises(ValueError, match=r"z contains NaN"):
        mi_probe.conditional_mi(x, y, np.r_[np.nan, np.zeros(59)])
    with pytest.raises(ValueError, match=r"discrete must be"):
        mi_probe.conditional_mi(x, y, y, discrete=(1, 1, 1))


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_mutual_info_features_scale_invariant(scale):
    rng = np.random.default_rng(17)
    labels = rng.integers(0, 3, 200)
    X = np.c_[labels + rng.standard_normal(200), rng.standard_normal(200), labels]
    y = X[:, 0] + rng.standard_normal(200)
    ref = np.asarray(mi_probe.mutual_info_features(X, y, random_state=0))
    got = mi_probe.mutual_info_features(X * np.array([scale, scale, 1]), y * scale, random_state=0)
    np.testing.assert_allclose(np.asarray(got), ref, atol=1e-9)


# ------------------------------------------------------------ probing leaves the model alone


def _model_and_data():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        torch.nn.Dropout(0.5),
        torch.nn.BatchNorm1d(4),
        torch.nn.ReLU(),
        torch.nn.Linear(4, 2),
    )
    model.train()  # dropout and batch-norm statistics would move in train mode
    model[0].bias.requires_grad_(False)
    x = torch.randn(40, 3)
    y = torch.randint(0, 2, (40,))
    # gradients left over from the user's own step must survive untouched
    torch.nn.functional.cross_entropy(model(x), y).backward()
    return torch, model, x, y


def _snapshot(torch, model):
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "training": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "torch_rng": torch.get_rng_state(),
        "np_rng": np.random.get_state()[1].copy(),  # noqa: NPY002 (the global one must not move)
        "hooks": sum(
            len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
            for m in model.modules()
        ),
    }


def _assert_same(torch, before, after):
    assert before["state"].keys() == after["state"].keys()
    for key in before["state"]:
        assert torch.equal(before["state"][key], after["state"][key]), key
    assert before["training"] == after["training"]
    assert before["requires_grad"] == after["requires_grad"]
    for g0, g1 in zip(before["grads"], after["grads"], strict=True):
        assert (g0 is None) == (g1 is None)
        if g0 is not None:
            assert torch.equal(g0, g1)
    assert torch.equal(before["torch_rng"], after["torch_rng"])
    assert np.array_equal(before["np_rng"], after["np_rng"])
    assert before["hooks"] == after["hooks"]


@pytest.mark.parametrize(
    "call",
    ["recorder", "information_plane", "fisher", "weight_information", "attach_error"],
)
def test_probing_never_changes_the_model(call, one_torch_thread):
    torch, model, x, y = _model_and_data()
    before = _snapshot(torch, model)
    if call == "recorder":
        mi_probe.InformationPlaneRecorder(model, x, y, estimators=("binning",)).record(0)
    elif call == "information_plane":
        mi_probe.information_plane(model, x, y, estimators=("ksg",))
    elif call == "fisher":
        mi_probe.fisher_diagonal(model, [(x, y)], loss="cross_entropy")
    elif call == "weight_information":
        mi_probe.weight_information(model, [(x, y)], loss="cross_entropy")
    else:
        with pytest.raises(ValueError, match=r"unknown layer 'nope'"):
            mi_probe.attach(model, "nope")
    _assert_same(torch, before, _snapshot(torch, model))


def test_no_hook_survives_an_exception_in_a_probe(one_torch_thread):
    torch, model, x, _ = _model_and_data()
    before = _snapshot(torch, model)
    with pytest.raises(RuntimeError, match="boom"), mi_probe.attach(model):
        raise RuntimeError("boom")
    _assert_same(torch, before, _snapshot(torch, model))


def test_recorder_bad_input_names_the_argument(one_torch_thread):
    torch, model, x, y = _model_and_data()
    with pytest.raises(ValueError, match=r"x contains NaN"):
        mi_probe.InformationPlaneRecorder(model, x * float("nan"), y, estimators=("binning",))
    with pytest.raises(ValueError, match=r"x and y must have the same number of samples"):
        mi_probe.InformationPlaneRecorder(model, x, y[:-1], estimators=("binning",))
    with pytest.raises(ValueError, match=r"estimators must be one of"):
        mi_probe.InformationPlaneRecorder(model, x, y, estimators=("nope",))


# -------------------------------------------------------------- disentanglement, weights


def _codes_factors(n: int = 200, seed: int = 18) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 4, (n, 2))
    return factors + 0.1 * rng.standard_normal((n, 2)), factors


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_disentanglement_scores_scale_invariant(scale):
    codes, factors = _codes_factors()
    ref = mi_probe.disentanglement_scores(codes, factors, factorvae_votes=100)
    got = mi_probe.disentanglement_scores(codes * scale, factors, factorvae_votes=100)
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_disentanglement_scores_bad_input():
    codes, factors = _codes_factors()
    with pytest.raises(ValueError, match=r"codes and factors must have the same number"):
        mi_probe.disentanglement_scores(codes, factors[:-1])
    with pytest.raises(ValueError, match=r"codes contains NaN"):
        mi_probe.disentanglement_scores(np.r_[codes, [[np.nan, 0.0]]], np.r_[factors, [[0, 0]]])
    with pytest.raises(ValueError, match=r"factors has dtype <U1"):
        mi_probe.disentanglement_scores(codes, np.array(list("abcd"))[factors])
    with pytest.raises(ValueError, match=r"codes has 5 samples"):
        mi_probe.disentanglement_scores(codes[:5], factors[:5])
    with pytest.raises(ValueError, match=r"n_bins must be >= 2"):
        mi_probe.disentanglement_scores(codes, factors, n_bins=0)
    with pytest.raises(ValueError, match=r"test_size must be in \(0, 1\)"):
        mi_probe.disentanglement_scores(codes, factors, test_size=1.5)


def test_weight_information_bad_data_names_it(one_torch_thread):
    torch, model, x, y = _model_and_data()
    with pytest.raises(ValueError, match=r"x \(from data\) contains NaN"):
        mi_probe.weight_information(model, [(x * float("nan"), y)], loss="cross_entropy")


def test_noisy_information_relative_must_be_boolean():
    # relative=1 was accepted as truthy
    t = np.random.default_rng(19).standard_normal((50, 2))
    with pytest.raises(ValueError, match=r"relative must be True or False, got 1"):
        mi_probe.noisy_information(t, sigma=0.3, relative=1)
    with pytest.raises(ValueError, match=r"relative must be True or False"):
        mi_probe.noise_profile(t, relative="yes")


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_noisy_information_relative_sigma_is_scale_free(scale):
    t = np.random.default_rng(19).standard_normal((100, 2))
    ref = float(mi_probe.noisy_information(t, sigma=0.3, random_state=0))
    got = float(mi_probe.noisy_information(t * scale, sigma=0.3, random_state=0))
    assert got == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("flag", ["interval", "null"])
def test_uncertainty_on_too_few_samples_says_why(flag):
    x = np.arange(10.0)
    with pytest.raises(ValueError, match=rf"x has 10 samples; {flag}=True needs at least 20"):
        estimate_mi(x, x**2, "ksg", **{flag: True})


def test_tiny_samples_of_binning_are_flagged():
    # two samples in their own bins read ln 2 nats of "information"
    r = estimate_mi(np.array([0.0, 1.0]), np.array([0.0, 1.0]), "binning")
    assert float(r) == pytest.approx(np.log(2)) and r.diagnostics["undersampled"] is True


# ------------------------------------------------------------------ the l2 metric of KSG


def test_ksg_l2_metric_matches_the_gaussian_truth():
    # the unit-ball volume term was left out: -0.09 nats for a true 0.35 (d_x = 2)
    rng = np.random.default_rng(20)
    x = rng.standard_normal((1500, 2))
    y = x.sum(axis=1, keepdims=True) / np.sqrt(2) + rng.standard_normal((1500, 1))
    truth = 0.5 * np.log(2)
    l2 = float(estimate_mi(x, y, "ksg", metric="l2", random_state=0))
    mx = float(estimate_mi(x, y, "ksg", random_state=0))
    # tolerance: sd about 0.02 at n = 1500; the l2 form is biased low by a few hundredths
    assert l2 == pytest.approx(truth, abs=0.1) and mx == pytest.approx(truth, abs=0.1)


def test_ksg_cmi_and_tc_l2_metric_match_the_truth():
    rng = np.random.default_rng(21)
    n = 1500
    z = rng.standard_normal((n, 1))
    x = z + rng.standard_normal((n, 1))
    y = x + z + rng.standard_normal((n, 1))  # I(x; y | z) = 0.5 ln 2
    cmi = float(mi_probe.conditional_mi(x, y, z, metric="l2", random_state=0))
    assert cmi == pytest.approx(0.5 * np.log(2), abs=0.12)
    cov = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]])
    codes = rng.multivariate_normal(np.zeros(3), cov, size=n)
    tc = float(mi_probe.total_correlation(codes, "ksg", metric="l2", random_state=0))
    assert tc == pytest.approx(-0.5 * np.log(np.linalg.det(cov)), abs=0.08)
