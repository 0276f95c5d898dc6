"""The bound formulas, checked with the exact log density ratio of a Gaussian pair."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mi_probe.estimators.neural import bounds as B


def _exact_scores(n: int, rho: float, seed: int) -> tuple[torch.Tensor, float]:
    """scores[i, j] = log p(x_i, y_j) / (p(x_i) p(y_j)) for 1-D x, y with correlation rho."""
    g = np.random.default_rng(seed)
    x = g.standard_normal(n)
    y = rho * x + math.sqrt(1 - rho**2) * g.standard_normal(n)
    X, Y = x[:, None], y[None, :]
    s2 = 1 - rho**2
    f = -0.5 * math.log(s2) - (X**2 + Y**2 - 2 * rho * X * Y) / (2 * s2) + (X**2 + Y**2) / 2
    return torch.tensor(f), -0.5 * math.log(s2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bounds_are_tight_at_the_optimal_critic(seed: int) -> None:
    # truth 0.2231 nats; 2000 positives and ~4e6 negatives: sampling error < 0.05
    f, truth = _exact_scores(2000, 0.6, seed)
    assert abs(float(B.dv_bound(f)) - truth) < 0.05
    assert abs(float(B.nwj_bound(f + 1.0)) - truth) < 0.05  # NWJ optimum is 1 + log ratio
    assert abs(float(B.js_nwj_bound(f)) - truth) < 0.05  # JS optimum is the log ratio
    assert abs(float(B.infonce_bound(f)) - truth) < 0.05  # truth << log(2000)
    assert float(B.smile_bound(f, math.inf)) == pytest.approx(float(B.dv_bound(f)))
    # a large clip leaves this well-behaved critic unchanged
    assert abs(float(B.smile_bound(f, 20.0)) - truth) < 0.05


@pytest.mark.parametrize("seed", [0, 1])
def test_infonce_never_exceeds_log_batch(seed: int) -> None:
    # truth 4.6 nats, far above log 16 = 2.77: InfoNCE must saturate below log B
    f, truth = _exact_scores(16, 0.9999, seed)
    v = float(B.infonce_bound(f))
    assert v <= math.log(16) + 1e-9
    assert v > math.log(16) - 0.5


def test_nwj_is_below_dv_for_any_critic() -> None:
    # log u <= u/e for u > 0, so E_q[e^(f-1)] >= log E_q[e^f]
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        f = torch.randn(50, 50, generator=g, dtype=torch.float64) * 2
        assert float(B.nwj_bound(f)) <= float(B.dv_bound(f)) + 1e-12


def test_dv_is_never_below_the_js_nwj_evaluation() -> None:
    # -log z >= 1 - z, so DV(f) >= NWJ(f + 1) on the same scores: why js_mi uses DV;
    # equal only when the mean off-diagonal e^f is exactly 1
    g = torch.Generator().manual_seed(1)
    for scale in (0.5, 2.0, 5.0):
        f = torch.randn(40, 40, generator=g, dtype=torch.float64) * scale
        assert float(B.js_nwj_bound(f)) <= float(B.dv_bound(f)) + 1e-12
    f = f - B.logmeanexp_offdiag(f)
    assert float(B.js_nwj_bound(f)) == pytest.approx(float(B.dv_bound(f)), abs=1e-9)


def test_mine_surrogate_gradient_uses_the_moving_average() -> None:
    f = torch.randn(8, 8, dtype=torch.float64, requires_grad=True)
    lme = B.logmeanexp_offdiag(f).detach()
    # with the moving average equal to the batch value, the gradient is DV's
    B.mine_surrogate(f, lme).backward()
    g1 = f.grad.clone()
    f.grad = None
    B.dv_bound(f).backward()
    assert torch.allclose(g1, f.grad)


@pytest.mark.parametrize(
    "fn", [B.dv_bound, B.nwj_bound, B.infonce_bound, B.js_bound, B.logmeanexp_offdiag]
)
def test_scores_must_be_square(fn) -> None:
    with pytest.raises(ValueError, match="square"):
        fn(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="at least 2 x 2"):
        fn(torch.zeros(1, 1))


@pytest.mark.parametrize("b", [2, 7])
def test_js_of_the_full_matrix_matches_its_split_form(b: int) -> None:
    # the full-matrix JS objective is one hand-written autograd node: its value and
    # gradient must be those of the same formula over the split positives/negatives
    g = torch.Generator().manual_seed(b)
    s1 = (3 * torch.randn(b, b, generator=g, dtype=torch.float64)).requires_grad_()
    s2 = s1.detach().clone().requires_grad_()
    full = B.js_bound(s1)
    pos, neg = B.split_scores(s2)
    split = -torch.nn.functional.softplus(-pos).mean() - torch.nn.functional.softplus(neg).mean()
    (2.5 * full).backward()
    (2.5 * split).backward()
    assert float(full.detach()) == pytest.approx(float(split.detach()), abs=1e-12)
    torch.testing.assert_close(s1.grad, s2.grad, rtol=1e-10, atol=1e-12)
    assert torch.autograd.gradcheck(B.js_bound, (s1.detach().requires_grad_(),))
