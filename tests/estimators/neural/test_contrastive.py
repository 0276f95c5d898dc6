"""Critic-based bounds (MINE, NWJ, InfoNCE, SMILE, JS) against a Gaussian with known MI."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import mi_probe
from mi_probe.estimators import get_estimator
from mi_probe.estimators.neural import (
    InfoNCEEstimator,
    infonce_bound,
    infonce_mi,
    js_mi,
    make_critic,
    mine_mi,
    nwj_mi,
    smile_mi,
)
from mi_probe.estimators.neural.contrastive import warn_if_saturated
from mi_probe.estimators.neural.critics import default_hidden_dims
from tests._helpers import gaussian_pair

from ._common import FAST, LOWER, RHO, SEEDS, TOL, N


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(LOWER))
def test_lower_bound_accuracy_on_gaussian(name: str, seed: int) -> None:
    x, y, truth = gaussian_pair(N, 1, RHO, seed)
    r = LOWER[name](x, y, random_state=seed, **FAST)
    raw = r.diagnostics["raw_value"]
    assert abs(raw - truth) < TOL, (name, seed, raw, truth)
    assert r.estimator == name and r.unit == "nats"
    # ceilings: ln(n held out) for every bound -- InfoNCE's is log(candidates per row),
    # and with the default separable critic every held-out row is a candidate
    n_val = r.diagnostics["n_heldout"]
    assert n_val == round(0.4 * N)
    assert r.diagnostics["ceiling"] == pytest.approx(math.log(n_val))
    expected_block = n_val if name == "infonce" else 128
    assert r.diagnostics["eval_batch_size"] == expected_block
    # critic="auto" on 1-D data: joint for every bound but InfoNCE and SMILE
    assert r.diagnostics["critic"] == ("separable" if name in ("infonce", "smile") else "joint")
    assert r.diagnostics["at_ceiling"] is False
    curve = r.diagnostics["curve"]
    assert len(curve["step"]) == len(curve["train"]) == len(curve["heldout"]) >= 1
    assert r.diagnostics["best_step"] in curve["step"]
    assert max(curve["heldout"]) == pytest.approx(raw, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_infonce_below_log_candidates_at_high_mi(seed: int) -> None:
    # 5.8 nats; 300 samples with 40% held out give 120 candidates per held-out row,
    # log 120 = 4.79: the separable critic's all-rows estimate must stay below it
    x, y, truth = gaussian_pair(300, 5, 0.95, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = infonce_mi(x, y, batch_size=16, random_state=seed, **{**FAST, "max_steps": 80})
    assert r.diagnostics["eval_batch_size"] == 120
    assert r.diagnostics["ceiling"] == pytest.approx(math.log(120))
    assert r.value <= math.log(120) + 1e-6 < truth


def test_infonce_joint_critic_ceiling_is_log_batch() -> None:
    x, y, truth = gaussian_pair(1000, 5, 0.95, 0)  # 5.8 nats
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = infonce_mi(
            x,
            y,
            batch_size=16,
            critic="joint",
            random_state=0,
            **{**FAST, "max_steps": 40, "hidden_dims": (16,)},
        )
    assert r.diagnostics["eval_batch_size"] == 16
    assert r.diagnostics["ceiling"] == pytest.approx(math.log(16))
    assert r.value <= math.log(16) + 1e-6 < truth


@pytest.mark.parametrize("marginal_terms", [True, False])
@pytest.mark.parametrize("chunk", [1 << 22, 50])
def test_infonce_all_rows_is_infonce_bound_of_full_matrix(
    monkeypatch: pytest.MonkeyPatch, marginal_terms: bool, chunk: int
) -> None:
    # chunked all-rows evaluation == infonce_bound on the full n x n score matrix
    import mi_probe.estimators.neural.contrastive as C

    monkeypatch.setattr(C, "_CHUNK_ENTRIES", chunk)  # 50 entries: one row per chunk
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(37, 3, generator=g), torch.randn(37, 2, generator=g)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        critic = make_critic(
            "separable", 3, 2, hidden_dims=(8,), embed_dim=4, marginal_terms=marginal_terms
        )
    with torch.no_grad():
        full = infonce_bound(critic(x, y))
        chunked = C.infonce_all_rows(critic, x, y)
    assert float(chunked) == pytest.approx(float(full), abs=1e-5)


def test_infonce_candidates_capped_in_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    # beyond _MAX_CANDIDATES held-out rows, near-equal groups: 120 rows, cap 50 ->
    # 3 groups of 40, ceiling log 40; the value is the row-weighted mean over groups
    import mi_probe.estimators.neural.contrastive as C

    monkeypatch.setattr(C, "_MAX_CANDIDATES", 50)
    x, y, _ = gaussian_pair(300, 2, 0.8, 0)
    r = infonce_mi(x, y, batch_size=16, random_state=0, **{**FAST, "max_steps": 20})
    assert r.diagnostics["n_heldout"] == 120
    assert r.diagnostics["eval_batch_size"] == 40
    assert r.diagnostics["ceiling"] == pytest.approx(math.log(40))
    assert r.diagnostics["raw_value"] <= math.log(40) + 1e-6


def test_separable_marginal_terms_are_added_to_every_row_and_column() -> None:
    # f(x, y) = g(x)[:k] . h(y)[:k] + a(x) + b(y), with a, b the extra output units
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)
        critic = make_critic("separable", 3, 2, hidden_dims=(8,), embed_dim=4)
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(5, 3, generator=g), torch.randn(6, 2, generator=g)
    with torch.no_grad():
        ex, ey = critic.g(x), critic.h(y)
        assert ex.shape == (5, 5) and ey.shape == (6, 5)
        expected = ex[:, :4] @ ey[:, :4].T + ex[:, 4:5] + ey[:, 4][None, :]
        assert torch.allclose(critic(x, y), expected, atol=1e-6)
        # the scalar heads are live: changing a(x) moves a whole row of scores
        before = critic(x, y)
        critic.g[-1].bias[4] += 1.0
        assert torch.allclose(critic(x, y), before + 1.0, atol=1e-5)
    plain = make_critic("separable", 3, 2, hidden_dims=(8,), embed_dim=4, marginal_terms=False)
    with torch.no_grad():
        assert torch.allclose(plain(x, y), plain.g(x) @ plain.h(y).T, atol=1e-6)
    assert plain.g[-1].out_features == 4


def test_warning_at_ceiling() -> None:
    with pytest.warns(RuntimeWarning, match="at its ceiling"):
        assert warn_if_saturated("infonce", 4.6, math.log(128), "why") is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_if_saturated("infonce", 1.0, math.log(128), "why") is False


@pytest.mark.parametrize("seed", [0, 1])
def test_independent_data_gives_about_zero_and_stops_early(seed: int) -> None:
    g = np.random.default_rng(seed)
    x, y = g.standard_normal((2000, 2)), g.standard_normal((2000, 2))
    r = nwj_mi(
        x, y, random_state=seed, **{**FAST, "max_steps": 1000, "eval_every": 20, "patience": 2}
    )
    assert r.diagnostics["stopped_early"] and r.diagnostics["steps_run"] < 1000
    assert r.diagnostics["raw_value"] < 0.05
    assert r.value >= 0.0


def test_joint_critic_accuracy() -> None:
    for seed in (0, 1):
        x, y, truth = gaussian_pair(N, 1, RHO, seed)
        r = infonce_mi(
            x,
            y,
            critic="joint",
            batch_size=64,
            random_state=seed,
            **{**FAST, "hidden_dims": (16, 16)},
        )
        assert abs(r.value - truth) < TOL


JOINT_SAMPLED = {"critic": "joint", "n_negatives": 3}


@pytest.mark.parametrize(
    "fn, extra",
    [(infonce_mi, {}), (mine_mi, {}), (nwj_mi, JOINT_SAMPLED), (mine_mi, JOINT_SAMPLED)],
)
def test_same_seed_same_number_and_global_rng_untouched(fn, extra) -> None:
    # also with sampled negatives: their draws come from the fit's own generator
    x, y, _ = gaussian_pair(600, 2, 0.5, 0)
    kw = {**FAST, "max_steps": 40, "eval_every": 10, **extra}
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002  (the global one must not move)
    a = fn(x, y, random_state=7, **kw)
    b = fn(x, y, random_state=7, **kw)
    c = fn(x, y, random_state=8, **kw)
    assert a.value == b.value
    assert a.diagnostics["curve"] == b.diagnostics["curve"]
    assert a.value != c.value
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002


def test_class_twin_registry_and_torch_input() -> None:
    x, y, _ = gaussian_pair(600, 2, 0.5, 0)
    kw = {**FAST, "max_steps": 30}
    est = InfoNCEEstimator(random_state=3, **kw)
    assert est.get_params()["random_state"] == 3 and "batch_size" in repr(est)
    a = est.estimate(x, y)
    b = mi_probe.estimate_mi(
        torch.as_tensor(x), torch.as_tensor(y), estimator="infonce", random_state=3, **kw
    )
    assert a.value == pytest.approx(b.value, abs=1e-6)
    names = {
        "mine": "MINEEstimator",
        "nwj": "NWJEstimator",
        "infonce": "InfoNCEEstimator",
        "smile": "SMILEEstimator",
        "js": "JSEstimator",
        "ba": "BarberAgakovEstimator",
        "club": "CLUBEstimator",
    }
    for name, cls in names.items():
        assert type(get_estimator(name)).__name__ == cls


def test_progress_off_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    x, y, _ = gaussian_pair(300, 1, 0.5, 0)
    infonce_mi(x, y, random_state=0, **{**FAST, "max_steps": 10})
    assert capsys.readouterr().err == ""


def test_mine_without_moving_average_is_plain_dv() -> None:
    x, y, truth = gaussian_pair(N, 1, RHO, 0)
    r = mine_mi(x, y, ema_decay=0.0, random_state=0, **FAST)
    assert abs(r.value - truth) < TOL


# ------------------------------------------------------------------ bad input

X, Y, _ = gaussian_pair(100, 2, 0.5, 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(critic="bilinear"), "critic must be one of"),
        (dict(batch_size=1), "batch_size must be >= 2"),
        (dict(max_steps=0), "max_steps must be >= 1"),
        (dict(learning_rate=-1.0), "learning_rate must be > 0"),
        (dict(eval_every=0), "eval_every must be >= 1"),
        (dict(patience=0), "patience must be >= 1"),
        (dict(validation_fraction=1.0), r"validation_fraction must be in \(0, 1\)"),
        (dict(validation_fraction=0.0), "validation_fraction must be > 0"),
        (dict(standardize="yes"), "standardize must be True or False"),
        (dict(device="tpu"), "device must be"),
        (dict(device=3), "device must be"),
        (dict(random_state=-1), "random_state must be a non-negative integer"),
        (dict(hidden_dims=[32, 0]), "hidden_dims must be >= 1"),
        (dict(hidden_dims=5), "hidden_dims must be a sequence"),
        (dict(embed_dim=0), "embed_dim must be >= 1"),
    ],
)
def test_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        infonce_mi(X, Y, progress=False, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda() -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        infonce_mi(X, Y, device="cuda", progress=False)


def test_bad_data() -> None:
    bad = X.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        nwj_mi(bad, Y, progress=False)
    with pytest.raises(ValueError, match="same number of samples"):
        nwj_mi(X, Y[:50], progress=False)
    with pytest.raises(ValueError, match="both need at least 2"):
        nwj_mi(X[:3], Y[:3], progress=False)
    with pytest.raises(ValueError, match="ema_decay must be in"):
        mine_mi(X, Y, ema_decay=1.0, progress=False)
    with pytest.raises(ValueError, match="ema_decay must be >= 0"):
        mine_mi(X, Y, ema_decay=-0.5, progress=False)
    with pytest.raises(ValueError, match="clip must be > 0"):
        smile_mi(X, Y, clip=0.0, progress=False)
    with pytest.raises(ValueError, match="at least one layer"):
        make_critic("joint", 2, 2, hidden_dims=())
    with pytest.raises(ValueError, match="estimator 'nwj' takes no parameter"):
        mi_probe.estimate_mi(X, Y, estimator="nwj", clip=2.0)


@pytest.mark.parametrize("d, width", [(1, 128), (5, 128), (20, 128), (100, 256)])
def test_separable_default_is_one_layer_twice_the_mlp_width(d: int, width: int) -> None:
    # each embedding: one hidden layer, twice default_hidden_dims(d) (at most 256)
    sep = make_critic("separable", d, d)
    linears = [m for m in sep.g if isinstance(m, torch.nn.Linear)]
    # 64-wide embedding plus the marginal head a(x)
    assert [m.out_features for m in linears] == [width, 65]
    assert width == min(256, 2 * default_hidden_dims(d)[0])


@pytest.mark.parametrize("critic", ["joint", "separable"])
def test_js_estimate_is_dv_of_its_critic(critic: str) -> None:
    # js_mi and smile_mi(clip=inf) train the same critic with the same seed and both
    # evaluate it with DV, so they must agree exactly (given the same critic and
    # negatives: "auto" gives them different critics)
    x, y, _ = gaussian_pair(1000, 1, RHO, 0)
    kw = dict(FAST, max_steps=50, random_state=3, critic=critic, n_negatives=4)
    a = js_mi(x, y, **kw).diagnostics["raw_value"]
    b = smile_mi(x, y, clip=math.inf, **kw).diagnostics["raw_value"]
    assert a == pytest.approx(b, abs=1e-6)


@pytest.mark.gpu
def test_cuda_matches_truth() -> None:
    x, y, truth = gaussian_pair(N, 1, RHO, 0)
    r = infonce_mi(x, y, device="cuda", random_state=0, **FAST)
    assert r.diagnostics["device"].startswith("cuda")
    assert abs(r.value - truth) < TOL


def test_adam_falls_back_where_fused_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    # torch before 2.4 has no fused Adam on the CPU: the loop must still train
    from mi_probe.estimators.neural import training

    real = torch.optim.Adam

    def no_fused(params, lr, **kw):  # noqa: ANN001, ANN202
        if kw.get("fused"):
            raise RuntimeError("`fused=True` requires all the params to be on CUDA")
        return real(params, lr=lr, **kw)

    monkeypatch.setattr(torch.optim, "Adam", no_fused)
    opt = training._adam(torch.nn.Linear(2, 1), 1e-3)
    assert isinstance(opt, real) and opt.defaults["foreach"] and not opt.defaults["fused"]
