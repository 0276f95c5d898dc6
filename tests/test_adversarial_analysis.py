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
import torch

import mi_probe
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


# ---------------------------------------------------------------------- disentanglement

_FAST_DS = {"dci_model": "lasso", "factorvae_votes": 20}


def _factors(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    v = rng.integers(0, 3, size=(n, 2))
    return v + 0.1 * rng.standard_normal(v.shape), v


def test_disentanglement_test_size_leaving_no_training_rows_is_named():
    # before: "zero-size array to reduction operation maximum which has no identity"
    z, v = _factors()
    with pytest.raises(ValueError, match=r"test_size=0.999 leaves 0 of 60 samples"):
        mi_probe.disentanglement_scores(z, v, test_size=0.999, **_FAST_DS)


@pytest.mark.parametrize("prune", [1.0, 2.0])
def test_disentanglement_prune_threshold_of_one_or_more_raises(prune):
    # before: every code pruned and factorvae = 0.0 for perfectly disentangled codes
    z, v = _factors()
    with pytest.raises(ValueError, match=r"prune_threshold must be in \[0, 1\)"):
        mi_probe.disentanglement_scores(z, v, prune_threshold=prune, **_FAST_DS)


def test_disentanglement_constant_factor_is_warned_and_listed():
    # a factor with one value has nothing to disentangle but halves the averaged MIG
    from mi_probe.analysis.disentanglement import disentanglement_details

    z, v = _factors()
    v = np.c_[v[:, 0], np.full(len(v), 7), v[:, 1]]
    z = np.c_[z[:, 0], z[:, 1]]
    with pytest.warns(RuntimeWarning, match=r"factors \[1\] take a single value"):
        d = disentanglement_details(z, v, **_FAST_DS)
    assert d["constant_factors"] == [1]
    assert d["mig_per_factor"][1] == 0.0


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_disentanglement_scores_do_not_depend_on_the_codes_scale(scale):
    z, v = _factors()
    base = mi_probe.disentanglement_scores(z, v, **_FAST_DS)
    assert mi_probe.disentanglement_scores(z * scale, v, **_FAST_DS) == pytest.approx(base)


# --------------------------------------------------------------------- information plane


def _net_xy(n: int = 64) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    x = torch.randn(n, 3, generator=g)
    return net, x, (x[:, 0] > 0).long()


def test_information_plane_model_must_be_a_module_or_activations():
    _, x, y = _net_xy()
    with pytest.raises(ValueError, match=r"model must be a torch.nn.Module or a mapping"):
        mi_probe.information_plane("net", x, y, estimators="binning")  # was AttributeError
    with pytest.raises(ValueError, match=r"model is an empty mapping"):
        mi_probe.information_plane({}, x, y, estimators="binning")  # was an empty frame
    with pytest.raises(ValueError, match=r"activations of layer 'a' must be an array"):
        mi_probe.information_plane({"a": ["u"] * 64}, x, y, estimators="binning")


def test_information_plane_activations_as_nested_lists_are_read():
    _, x, y = _net_xy()
    acts = x.numpy().tolist()  # was AttributeError: 'list' object has no attribute 'shape'
    df = mi_probe.information_plane({"a": acts}, x, y, estimators="binning")
    ref = mi_probe.information_plane({"a": x.numpy()}, x, y, estimators="binning")
    assert df["I_XT"].tolist() == ref["I_XT"].tolist()


def test_recorder_x_of_strings_is_named():
    net, _, y = _net_xy()
    with pytest.raises(ValueError, match=r"x must be an array or tensor of numbers"):
        mi_probe.InformationPlaneRecorder(net, np.array(["a"] * 64), y, estimators="binning")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epoch": float("nan")}, r"epoch must be finite, got nan"),
        ({"epoch": float("inf")}, r"epoch must be finite, got inf"),
        ({"epoch": 1, "train_loss": "abc"}, r"train_loss must be a number or None"),
        ({"epoch": 1, "test_loss": True}, r"test_loss must be a number or None"),
        ({"epoch": 1, "layer": "oops"}, r"metrics 'layer' would overwrite"),
        ({"epoch": 1, "I_XT": 99.0}, r"metrics 'I_XT' would overwrite"),
        ({"epoch": 1, "accuracy": [0.5, 0.6]}, r"metric 'accuracy' must be a scalar"),
    ],
)
def test_recorder_record_rejects_bad_rows_before_measuring(kwargs, match):
    # before: NaN/inf epochs were stored, a metric named like a column overwrote it
    # (every row's layer became 'oops'), and train_loss='abc' leaked float()'s error
    net, x, y = _net_xy()
    rec = mi_probe.InformationPlaneRecorder(net, x, y, estimators="binning")
    with pytest.raises(ValueError, match=match):
        rec.record(**kwargs)
    assert rec.rows == []
    rec.record(2, train_loss=np.float32(0.5), accuracy=torch.tensor(0.9))
    assert set(rec.dataframe["layer"]) == {"0", "1", "2"}


# ------------------------------------------------------------------------------- probes


def _state(net: torch.nn.Module) -> tuple:
    return (
        {k: v.clone() for k, v in net.state_dict().items()},
        [m.training for m in net.modules()],
        [p.requires_grad for p in net.parameters()],
        [None if p.grad is None else p.grad.clone() for p in net.parameters()],
        torch.get_rng_state(),
        [(len(m._forward_hooks), len(m._forward_pre_hooks)) for m in net.modules()],
    )


def _assert_same(a: tuple, b: tuple) -> None:
    assert a[0].keys() == b[0].keys()
    assert all(torch.equal(a[0][k], b[0][k]) for k in a[0])
    assert a[1:3] == b[1:3]
    assert all(
        (g is None and h is None) or torch.equal(g, h) for g, h in zip(a[3], b[3], strict=True)
    )
    assert torch.equal(a[4], b[4])
    assert a[5] == b[5]


def _big_net() -> torch.nn.Module:
    blocks = [
        torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Dropout(0.1))
        for _ in range(20)
    ]
    return torch.nn.Sequential(torch.nn.Sequential(*blocks), torch.nn.Linear(4, 2))


def test_unknown_layer_suggests_close_names_beyond_the_listed_ones():
    # the listing shows the first 40 names; '0.17.1' is past them and was never shown
    net = _big_net()
    with pytest.raises(ValueError, match=r"unknown layer '0\.17\.l'; did you mean [^?]*'0\.17\.1'"):
        mi_probe.attach(net, "0.17.l")
    with pytest.raises(ValueError, match=r"unknown layer 'zzz'; valid names: '0', "):
        mi_probe.attach(net, "zzz")


def test_collect_leaves_the_model_as_it_was_when_a_batch_fails():
    net = _big_net()
    net.train()
    net[1].weight.requires_grad_(False)
    net(torch.randn(5, 4)).sum().backward()
    x_bad = torch.randn(8, 7)  # the first Linear expects 4 features
    before = _state(net)
    with (
        pytest.raises(RuntimeError, match=r"mat1 and mat2"),
        mi_probe.attach(net, ["0.3.1", "1"]) as probe,
    ):
        probe.collect(x_bad, progress_bar=False)
    _assert_same(before, _state(net))


# ---------------------------------------------------------------------- weight information


def _fit_net() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.5), torch.nn.Linear(4, 2))
    x = torch.randn(40, 3, generator=g)
    return net, x, torch.randint(0, 2, (40,), generator=g)


@pytest.mark.parametrize(
    "call",
    [
        lambda net, data: mi_probe.fisher_diagonal(net, data),
        lambda net, data: mi_probe.weight_information(net, data),
        lambda net, data: mi_probe.weight_information(net, data, method="variational", n_steps=2),
    ],
    ids=["fisher_diagonal", "weight_information", "variational"],
)
def test_weight_information_from_a_loader_leaves_the_global_rng_alone(call):
    # iterating a (shuffled) DataLoader draws from the global torch RNG: a recorder
    # inside a training loop changed the run it measured (the docstring promised not)
    net, x, y = _fit_net()
    net.train()
    net(x[:4]).sum().backward()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=8, shuffle=True
    )
    before = _state(net)
    call(net, loader)
    _assert_same(before, _state(net))


def test_weight_information_state_survives_a_bad_batch():
    net, x, y = _fit_net()
    x_bad = torch.randn(40, 5)  # the first Linear expects 3 features
    before = _state(net)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2"):
        mi_probe.weight_information(net, (x_bad, y))
    _assert_same(before, _state(net))


@pytest.mark.parametrize("name", ["vectorize", "fast", "progress"])
def test_fisher_diagonal_flags_must_be_bools(name):
    net, x, y = _fit_net()
    with pytest.raises(ValueError, match=rf"{name} must be True or False, got 'no'"):
        mi_probe.fisher_diagonal(net, (x, y), **{name: "no"})


@pytest.mark.parametrize("prior_std", [1e300, 1e-300])
def test_weight_information_prior_std_out_of_range(prior_std):
    # before: 1e300 leaked OverflowError (34, 'Numerical result out of range'),
    # 1e-300 returned information = inf
    net, x, y = _fit_net()
    with pytest.raises(ValueError, match=r"prior_std=1e[+-]300 is out of range"):
        mi_probe.weight_information(net, (x, y), prior_std=prior_std)


def test_weight_information_prior_std_grid_rejects_bools():
    net, x, y = _fit_net()
    with pytest.raises(ValueError, match=r"prior_std_grid must be a sequence of positive"):
        mi_probe.weight_information(
            net, (x, y), method="variational", n_steps=1, prior_std_grid=[True, 0.5]
        )


def test_fisher_data_tuple_names_the_bad_element():
    # before: "data as a tuple must be (x,) or (x, y) ...; got a tuple of length 2"
    net, _, y = _fit_net()
    with pytest.raises(ValueError, match=r"data\[0\] \(x\) must be a numpy array or a tensor"):
        mi_probe.fisher_diagonal(net, ("abc", y))


def test_weight_recorder_checks_its_arguments_when_built():
    # before: a TypeError (or the model check) only at the first record(), mid-training
    net, x, y = _fit_net()
    with pytest.raises(ValueError, match=r"unknown keyword argument\(s\) 'prior_sd'"):
        mi_probe.WeightInformationRecorder(net, (x, y), prior_sd=1.0)
    with pytest.raises(ValueError, match=r"model must be a torch.nn.Module, got str"):
        mi_probe.WeightInformationRecorder("net", (x, y))
    with pytest.raises(ValueError, match=r"method must be one of"):
        mi_probe.WeightInformationRecorder(net, (x, y), method="laplace")


# ---------------------------------------------------------------------- IB solvers

_PXY = np.array([[0.3, 0.1], [0.1, 0.3], [0.1, 0.1]])


@pytest.mark.parametrize("betas", [True, [True, True], np.array([False, True])])
def test_ib_betas_of_booleans_raise(betas):
    # before: True ran as beta = 1
    with pytest.raises(ValueError, match=r"betas must be numbers, got booleans"):
        mi_probe.ib_curve(_PXY, betas)
    with pytest.raises(ValueError, match=r"betas must be numbers, got booleans"):
        mi_probe.rate_distortion([0.5, 0.5], 1 - np.eye(2), betas)


@pytest.mark.parametrize("name", ["merge_identical", "return_encoders", "progress"])
def test_ib_curve_flags_must_be_bools(name):
    # before: 'no' was truthy, so return_encoders='no' returned a tuple
    with pytest.raises(ValueError, match=rf"{name} must be True or False, got 'no'"):
        mi_probe.ib_curve(_PXY, [2.0], **{name: "no"})


def test_rate_distortion_return_encoders_must_be_a_bool():
    with pytest.raises(ValueError, match=r"return_encoders must be True or False"):
        mi_probe.rate_distortion([0.5, 0.5], 1 - np.eye(2), return_encoders="no")


def test_ib_curve_zero_rows_and_columns_do_not_change_the_curve():
    base = mi_probe.ib_curve(_PXY, [0.5, 10.0], random_state=0)
    padded = np.zeros((4, 3))
    padded[:3, :2] = _PXY
    got = mi_probe.ib_curve(padded, [0.5, 10.0], random_state=0)
    np.testing.assert_allclose(got[["I_XT", "I_TY"]], base[["I_XT", "I_TY"]], atol=1e-9)


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "inf")])
@pytest.mark.parametrize("estimator", ["binning", "ksg"])
def test_information_plane_row_error_names_the_layer_not_x_or_y(bad, word, estimator):
    # before: the row's error read "x contains NaN" (binning) or "y contains inf" (ksg):
    # the estimators' own argument names, while x is the user's input and fine
    _, x, y = _net_xy()
    t = x.numpy().astype(np.float64)
    t[3, 1] = bad
    df = mi_probe.information_plane({"h": t}, x, y, estimators=estimator)
    assert df["error"].tolist() == [f"ValueError: activations of layer 'h' contain {word}"]
    assert np.isnan(df["I_XT"]).all()
