"""Sampled negatives: a joint critic scoring B (K + 1) pairs instead of B^2."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from mi_probe.estimators.neural import bounds as B
from mi_probe.estimators.neural import (
    infonce_mi,
    js_mi,
    make_critic,
    nwj_mi,
)
from mi_probe.estimators.neural.critics import (
    AUTO_JOINT_MAX_DIM,
    pair_scores,
    resolve_critic,
    sample_shifts,
)
from tests._helpers import gaussian_pair

from ._common import FAST, LOWER, RHO, SEEDS, TOL, N


def _critics() -> list[torch.nn.Module]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return [
            make_critic("joint", 3, 2, hidden_dims=(8, 8)),
            make_critic("joint", 3, 2, hidden_dims=(8,)),
            make_critic("separable", 3, 2, hidden_dims=(8,), embed_dim=4),
        ]


@pytest.mark.parametrize("which", [0, 1, 2])
def test_pair_scores_are_entries_of_the_full_matrix(which: int) -> None:
    critic = _critics()[which]
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(9, 3, generator=g), torch.randn(9, 2, generator=g)
    shifts = sample_shifts(9, 4, torch.Generator().manual_seed(2))
    assert sorted(set(shifts.tolist())) == sorted(shifts.tolist())  # distinct
    assert all(1 <= r <= 8 for r in shifts.tolist())
    with torch.no_grad():
        full = critic(x, y)
        pos, neg = pair_scores(critic, x, y, shifts)
        pos_all, neg_all = pair_scores(critic, x, y, None)
    assert neg.shape == (9, 4) and neg_all.shape == (9, 8)
    assert torch.allclose(pos, full.diagonal(), atol=1e-6)
    for k, r in enumerate(shifts.tolist()):
        expected = full[torch.arange(9), (torch.arange(9) + r) % 9]
        assert torch.allclose(neg[:, k], expected, atol=1e-6)
    # all B - 1 negatives: the bounds' two forms agree exactly
    for fn in (B.dv_bound, B.nwj_bound, B.infonce_bound, B.js_bound, B.js_nwj_bound):
        assert float(fn(pos_all, neg_all)) == pytest.approx(float(fn(full)), abs=1e-5)
    assert float(B.smile_bound(pos_all, 0.3, neg_all)) == pytest.approx(
        float(B.smile_bound(full, 0.3)), abs=1e-5
    )


def test_infonce_with_k_negatives_is_capped_at_log_k_plus_1() -> None:
    # positives far above every negative: each row's softmax puts all mass on itself
    pos = torch.full((6,), 50.0)
    neg = torch.zeros(6, 3)
    assert float(B.infonce_bound(pos, neg)) == pytest.approx(math.log(4), abs=1e-6)


def test_sampled_negatives_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"scores must be the \(B,\) vector"):
        B.dv_bound(torch.zeros(4, 4), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"negatives must be a \(B, K\) matrix"):
        B.nwj_bound(torch.zeros(4), torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"negatives must be a \(B, K\) matrix"):
        B.infonce_bound(torch.zeros(4), torch.zeros(4, 0))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(LOWER))
def test_joint_critic_with_sampled_negatives_on_gaussian(name: str, seed: int) -> None:
    # I = 0.5 nats; a joint critic with 4 sampled negatives per row in training and 16
    # per held-out row (32 for InfoNCE, ceiling log 33 = 3.5 nats, far above 0.5)
    x, y, truth = gaussian_pair(N, 1, RHO, seed)
    k_eval = 32 if name == "infonce" else 16
    r = LOWER[name](
        x, y, critic="joint", n_negatives=4, eval_negatives=k_eval, random_state=seed, **FAST
    )
    raw = r.diagnostics["raw_value"]
    assert abs(raw - truth) < TOL, (name, seed, raw, truth)
    assert r.diagnostics["n_negatives"] == 4
    assert r.diagnostics["eval_negatives"] == k_eval
    n_val = r.diagnostics["n_heldout"]
    expected = math.log(k_eval + 1) if name == "infonce" else math.log(n_val)
    assert r.diagnostics["ceiling"] == pytest.approx(expected)


def test_joint_defaults_sample_negatives_except_infonce() -> None:
    x, y, _ = gaussian_pair(600, 1, RHO, 0)
    kw = {**FAST, "max_steps": 5, "critic": "joint", "batch_size": 64}
    r = nwj_mi(x, y, random_state=0, **kw)
    assert r.diagnostics["n_negatives"] == 16 and r.diagnostics["eval_negatives"] == 32
    r = js_mi(x, y, random_state=0, **kw)
    assert r.diagnostics["n_negatives"] == 4 and r.diagnostics["eval_negatives"] == 32
    r = infonce_mi(x, y, random_state=0, **kw)  # InfoNCE: every other row of the batch
    assert r.diagnostics["n_negatives"] == 63 and r.diagnostics["eval_negatives"] == 63
    assert r.diagnostics["ceiling"] == pytest.approx(math.log(64))
    r = nwj_mi(x, y, random_state=0, **{**kw, "critic": "separable"})
    assert r.diagnostics["n_negatives"] == 63 and r.diagnostics["eval_negatives"] == 63


X, Y, _ = gaussian_pair(300, 2, 0.5, 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_negatives=0), "n_negatives must be >= 1"),
        (dict(n_negatives=2.5), "n_negatives must be an integer"),
        (dict(n_negatives=True), "n_negatives must be an integer"),
        (dict(n_negatives="all"), "n_negatives must be an integer"),
        (dict(n_negatives=32, batch_size=32), "n_negatives=32 is more than the 31 other rows"),
        (dict(eval_negatives=0), "eval_negatives must be >= 1"),
        (dict(eval_negatives=32, batch_size=32), "eval_negatives=32 is more than the 31"),
    ],
)
@pytest.mark.parametrize("critic", ["joint", "separable"])
def test_bad_negatives(kwargs: dict, match: str, critic: str) -> None:
    with pytest.raises(ValueError, match=match):
        nwj_mi(X, Y, critic=critic, progress=False, max_steps=2, **kwargs)


def test_infonce_joint_critic_ceiling_follows_eval_negatives() -> None:
    x, y, truth = gaussian_pair(1000, 5, 0.95, 0)  # 5.8 nats
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = infonce_mi(
            x,
            y,
            batch_size=32,
            critic="joint",
            n_negatives=7,
            eval_negatives=9,
            random_state=0,
            **{**FAST, "max_steps": 40, "hidden_dims": (16,)},
        )
    assert r.diagnostics["ceiling"] == pytest.approx(math.log(10))
    assert r.value <= math.log(10) + 1e-6 < truth


def test_auto_critic_rule() -> None:
    for bound in ("nwj", "mine", "js"):
        assert resolve_critic("auto", bound, 1, 1) == "joint"
        assert resolve_critic("auto", bound, 20, 20) == "joint"
        assert resolve_critic("auto", bound, 20, 21) == "separable"
        assert resolve_critic("separable", bound, 1, 1) == "separable"
    assert AUTO_JOINT_MAX_DIM == 40
    assert resolve_critic("auto", "infonce", 1, 1) == "separable"
    assert resolve_critic("auto", "smile", 1, 1) == "separable"
    assert resolve_critic("joint", "smile", 1, 1) == "joint"
    assert resolve_critic("joint", "infonce", 50, 50) == "joint"
    with pytest.raises(ValueError, match="critic must be one of"):
        resolve_critic("bilinear", "nwj", 1, 1)
    x, y, _ = gaussian_pair(600, 21, 0.3, 0)  # d_x + d_y = 42: separable
    r = nwj_mi(x, y, random_state=0, **{**FAST, "max_steps": 2, "hidden_dims": None})
    assert r.diagnostics["critic"] == "separable" and r.diagnostics["n_negatives"] == 127


def test_separable_scores_gradient() -> None:
    # the separable critic's score matrix is one hand-written autograd node
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        critic = make_critic("separable", 3, 2, hidden_dims=(8,), embed_dim=4).double()
    g = torch.Generator().manual_seed(3)
    ex = torch.randn(6, 5, generator=g, dtype=torch.float64, requires_grad=True)
    ey = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    want = ex[:, :-1] @ ey[:, :-1].T + ex[:, -1:] + ey[:, -1][None, :]
    torch.testing.assert_close(critic.combine(ex, ey), want)
    assert torch.autograd.gradcheck(critic.combine, (ex, ey))
    # only one side needing a gradient
    ey_fixed = ey.detach()
    critic.combine(ex, ey_fixed).sum().backward()
    assert ex.grad is not None and ey_fixed.grad is None
