"""Options of the variational weight posterior (_fit_variational): prior centred at the
initial weights, per-layer prior scale from a grid (with its log-grid-size cost), and a
trained posterior mean."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from mi_probe.weights import _fisher
from mi_probe.weights._variational_weights import (
    _best_prior_std,
    _diag_gauss_kl,
    _fit_variational,
)

SEEDS = (0, 1, 2)
TABLE = [("0", ["0.weight", "0.bias"]), ("2", ["2.weight", "2.bias"])]


def _mlp_data(seed: int, n: int = 24):
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 3))
    w0 = {k: v.detach().clone() for k, v in net.named_parameters()}
    x = torch.randn(n, 5, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    return net, w0, x, y


def _fit(net, x, y, seed=0, **kw):
    _, loss_fn, _ = _fisher.resolve_loss(None, None, "empirical")
    args = dict(
        loss_name="cross_entropy",
        loss_fn=loss_fn,
        n_train=x.shape[0],
        beta=1.0,
        prior_std=0.5,
        init=0.05,
        n_steps=0,
        lr=0.05,
        batch_size=x.shape[0],
        n_eval_samples=2,
        generator=torch.Generator().manual_seed(seed),
        progress=False,
    )
    args.update(kw)
    return _fit_variational(net, (x, y), TABLE, {}, **args)


def test_kl_with_prior_mean_matches_torch():
    g = torch.Generator().manual_seed(0)
    mu, m = (
        torch.randn(7, generator=g, dtype=torch.float64),
        torch.randn(7, generator=g, dtype=torch.float64),
    )
    log_s = 0.3 * torch.randn(7, generator=g, dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(log_s))
    p = torch.distributions.Normal(m, 0.7)
    want = float(torch.distributions.kl_divergence(q, p).sum())
    assert float(_diag_gauss_kl(mu, log_s, 0.7, m)) == pytest.approx(want, rel=1e-12)
    # no prior mean = prior at 0
    p0 = torch.distributions.Normal(torch.zeros(7, dtype=torch.float64), 0.7)
    assert float(_diag_gauss_kl(mu, log_s, 0.7)) == pytest.approx(
        float(torch.distributions.kl_divergence(q, p0).sum()), rel=1e-12
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_prior_at_init_kl_zero_when_q_is_the_prior(seed):
    # an untrained net (w* = w0) with s = lambda: q equals the prior centred at w0
    net, w0, x, y = _mlp_data(seed)
    per_layer, terms = _fit(net, x, y, prior_mean=w0, init=0.5, prior_std=0.5)
    assert terms["kl_total"] == pytest.approx(0.0, abs=1e-9)
    assert all(abs(v) < 1e-9 for v in per_layer["kl"].values())
    # the same q against a prior at 0 pays ||w0||^2 / (2 lambda^2)
    _, t0 = _fit(net, x, y, init=0.5, prior_std=0.5)
    norm = sum(float((v.double() ** 2).sum()) for v in w0.values()) / (2 * 0.25)
    assert t0["kl_total"] == pytest.approx(norm, rel=1e-5)
    # with a grid containing lambda, only the cost of the choice remains
    per_layer, terms = _fit(net, x, y, prior_mean=w0, init=0.5, prior_std_grid=[0.1, 0.5, 2.0])
    assert per_layer["prior_std"] == {"0": 0.5, "2": 0.5}
    assert terms["prior_choice_nats"] == pytest.approx(2 * math.log(3), rel=1e-12)
    assert terms["kl_total"] == pytest.approx(2 * math.log(3), abs=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_grid_choice_is_the_kl_minimiser(seed):
    g = torch.Generator().manual_seed(seed)
    mus = [torch.randn(4, 3, generator=g) * 0.3, torch.randn(3, generator=g) * 0.3]
    log_ss = [torch.randn(4, 3, generator=g) - 2, torch.randn(3, generator=g) - 2]
    means = [None, torch.randn(3, generator=g) * 0.1]
    grid = torch.logspace(-2, 1, 10, dtype=torch.float64)
    i = _best_prior_std(mus, log_ss, means, grid)
    kls = [
        float(
            sum(
                _diag_gauss_kl(mu.double(), ls.double(), float(lam), m if m is None else m.double())
                for mu, ls, m in zip(mus, log_ss, means, strict=True)
            )
        )
        for lam in grid
    ]
    assert i == min(range(len(kls)), key=kls.__getitem__)


def test_fixed_mean_stays_and_trained_mean_moves():
    net, w0, x, y = _mlp_data(3)
    before = copy.deepcopy(net.state_dict())
    pl, _ = _fit(net, x, y, n_steps=30)
    assert all(v == 0.0 for v in pl["mean_shift"].values())
    pl, _ = _fit(net, x, y, n_steps=30, train_mean=True, prior_mean=w0, prior_std_grid=[0.1, 1.0])
    assert all(v > 1e-3 for v in pl["mean_shift"].values())
    # probing never changes the model
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])
    assert all(p.requires_grad for p in net.parameters())


@pytest.mark.parametrize("seed", SEEDS)
def test_kl_goes_down_as_beta_goes_up_with_all_options(seed):
    # tiny dataset, random labels: fit them with a trained net, then the posterior with
    # every option on; its KL must fall as beta rises and the training loss rise
    net, w0, x, y = _mlp_data(seed, n=20)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    kls, losses = [], []
    for beta in (0.03, 0.3, 3.0):
        _, t = _fit(
            net,
            x,
            y,
            seed=seed,
            beta=beta,
            n_steps=400,
            init=1e-2,
            train_mean=True,
            prior_mean=w0,
            prior_std_grid=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0],
            n_eval_samples=10,
        )
        assert t["kl_total"] >= t["prior_choice_nats"] - 1e-9
        kls.append(t["kl_total"])
        losses.append(t["expected_nll"])
    assert kls[0] > kls[1] > kls[2], kls
    assert losses[0] < losses[2], losses


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"prior_mean": [1.0]}, "prior_mean must be a dict"),
        ({"prior_mean": {"0.weight": torch.zeros(6, 5)}}, "prior_mean has no entry"),
        ({"prior_mean": "w0"}, "prior_mean must be a dict"),
        ({"prior_std_grid": []}, "prior_std_grid must be a non-empty"),
        ({"prior_std_grid": [0.1, -1.0]}, "prior_std_grid must be a non-empty"),
        ({"prior_std_grid": ["a"]}, "prior_std_grid must be a sequence"),
        ({"prior_std_grid": 0.1}, "prior_std_grid must be a sequence"),
    ],
)
def test_bad_options(kw, match):
    net, _, x, y = _mlp_data(0)
    with pytest.raises(ValueError, match=match):
        _fit(net, x, y, **kw)


def test_bad_prior_mean_shape_and_values():
    net, w0, x, y = _mlp_data(0)
    bad = dict(w0)
    bad["2.bias"] = torch.zeros(4)
    with pytest.raises(ValueError, match=r"prior_mean\['2.bias'\] has shape \(4,\)"):
        _fit(net, x, y, prior_mean=bad)
    bad["2.bias"] = torch.full((3,), math.nan)
    with pytest.raises(ValueError, match=r"prior_mean\['2.bias'\] contains NaN"):
        _fit(net, x, y, prior_mean=bad)
