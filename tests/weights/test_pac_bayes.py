"""PAC-Bayes bound from the weights' IB Lagrangian: hand-computed cases and errors."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from mi_probe.weights.pac_bayes import pac_bayes_bound, pac_bayes_bound_from_fit


def test_hand_computed_beta_one() -> None:
    # H = 1000 * 0.1 = 100, beta KL = 50, N (1 - 1/2) = 500  ->  150 / 500
    b = pac_bayes_bound(0.1, 50.0, 1000, 1.0)
    assert b.bound == pytest.approx(0.3, rel=1e-12)
    assert float(b) == b.bound
    assert b.trivial == 1.0 and not b.vacuous


def test_hand_computed_beta_two_with_confidence_and_loss_max() -> None:
    # (100 + 2 * 3 * (50 + log 20)) / (1000 * 0.75)
    b = pac_bayes_bound(0.1, 50.0, 1000, 2.0, delta=0.05, loss_max=3.0, n_classes=10)
    want = (100 + 2 * 3 * (50 + math.log(20))) / 750
    assert b.bound == pytest.approx(want, rel=1e-12)
    assert b.trivial == pytest.approx(math.log(10))  # min(loss_max, log 10)
    assert not b.vacuous


def test_vacuous_flag_and_trivial_loss() -> None:
    # KL much larger than N: the bound exceeds log(10)
    b = pac_bayes_bound(0.05, 5000.0, 1000, 1.0, loss_max=5.0, n_classes=10)
    assert b.bound == pytest.approx((50 + 5 * 5000) / 500)
    assert b.vacuous
    b2 = pac_bayes_bound(0.05, 1.0, 1000, 1.0, trivial_loss=0.09)
    assert b2.bound == pytest.approx((50 + 1) / 500) and b2.vacuous  # 0.102 >= 0.09


def test_bound_never_below_train_loss_and_shrinks_with_n() -> None:
    prev = math.inf
    for n in (100, 1000, 10000, 100000):
        b = pac_bayes_bound(0.2, 30.0, n, 1.5)
        assert b.bound >= 0.2 and b.bound < prev
        prev = b.bound
    # the limit N -> inf is E[L_train] / (1 - 1/(2 beta))
    assert 0 < prev - 0.2 / (1 - 1 / 3) < 1e-3


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0.1, 1.0, 100, 0.5), {}, "beta must be > 1/2"),
        ((0.1, 1.0, 100, 0.3), {}, "beta must be > 1/2"),
        ((0.1, 1.0, 100, -1.0), {}, "beta must be > 0"),
        ((-0.1, 1.0, 100, 1.0), {}, "expected_loss must be >= 0"),
        ((0.1, float("nan"), 100, 1.0), {}, "kl must be finite"),
        ((0.1, 1.0, 0, 1.0), {}, "n_train must be >= 1"),
        ((2.0, 1.0, 100, 1.0), {}, "expected_loss=2.0 exceeds loss_max=1.0"),
        ((0.1, 1.0, 100, 1.0), {"delta": 1.0}, "delta must be in"),
        ((0.1, 1.0, 100, 1.0), {"delta": 0.0}, "delta must be > 0"),
        ((0.1, 1.0, 100, 1.0), {"loss_max": 0.0}, "loss_max must be > 0"),
        ((0.1, 1.0, 100, 1.0), {"n_classes": 1}, "n_classes must be >= 2"),
        ((0.1, 1.0, 100, 1.0), {"trivial_loss": -1.0}, "trivial_loss must be > 0"),
    ],
)
def test_errors(args, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        pac_bayes_bound(*args, **kwargs)


def test_from_variational_fit() -> None:
    from mi_probe import weight_information

    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 4, generator=g)
    y = (x[:, 0] > 0).long()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = torch.nn.Linear(4, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[-2.0, 0, 0, 0], [2.0, 0, 0, 0]]))
        net.bias.zero_()
    df = weight_information(net, (x, y), method="variational", beta=1.0, n_steps=50, prior_std=1.0)
    b = pac_bayes_bound_from_fit(df, n_classes=2)
    row = df.iloc[0]
    want = (row["n_train"] * row["expected_nll"] + row["kl_total"]) / (row["n_train"] * 0.5)
    assert b.bound == pytest.approx(want, rel=1e-12)
    assert b.n_train == 200 and b.beta == 1.0
    with pytest.raises(ValueError, match="fit must be the DataFrame"):
        pac_bayes_bound_from_fit(pd.DataFrame({"information": [1.0]}))
    with pytest.raises(ValueError, match="beta must be > 1/2"):
        pac_bayes_bound_from_fit(df.assign(beta=0.4))
