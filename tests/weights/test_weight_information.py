"""Tests for mi_probe.weights.weight_information: Fisher diagonal vs closed forms and a
per-sample autograd loop, the closed-form weight information vs a hand computation and
torch's Gaussian KL, the variational fit vs its exact optimum, model immutability,
the recorder and every error message."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from mi_probe import WeightInformationRecorder, fisher_diagonal, weight_information
from mi_probe.weights._variational_weights import _diag_gauss_kl
from mi_probe.weights.weight_information import _gaussian_terms

SEEDS = [0, 1, 2]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --------------------------------------------------------------------------- helpers


def _logistic_data(seed: int, n: int = 60, d: int = 3):
    g = torch.Generator().manual_seed(seed)
    model = nn.Linear(d, 1)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, d, generator=g))
        model.bias.fill_(0.3)
    x = torch.randn(n, d, generator=g)
    y = (torch.rand(n, generator=g) < 0.5).float()
    return model, x, y


def _softmax_data(seed: int, n: int = 40, d: int = 4, c: int = 3):
    g = torch.Generator().manual_seed(seed)
    model = nn.Linear(d, c)
    with torch.no_grad():
        model.weight.copy_(torch.randn(c, d, generator=g))
        model.bias.copy_(0.5 * torch.randn(c, generator=g))
    x = torch.randn(n, d, generator=g)
    y = torch.randint(0, c, (n,), generator=g)
    return model, x, y


class SmallCNN(nn.Module):
    """Conv + batch-norm + dropout + linear: buffers, eval-mode and vmap all matter."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(3 * 4 * 4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn(self.conv(x)))
        return self.fc(self.drop(h.flatten(1)))


def _cnn(seed: int):
    torch.manual_seed(seed)
    model = SmallCNN()
    with torch.no_grad():  # non-trivial running statistics
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
    g = torch.Generator().manual_seed(seed + 100)
    x = torch.randn(20, 1, 6, 6, generator=g)
    y = torch.randint(0, 4, (20,), generator=g)
    return model, x, y


def _loop_fisher(model, x, y, loss_fn):
    """Reference: per-sample backward passes on a deep copy in eval mode."""
    m = copy.deepcopy(model).eval()
    acc = {n: torch.zeros_like(p, dtype=torch.float64) for n, p in m.named_parameters()}
    for i in range(x.shape[0]):
        m.zero_grad()
        loss_fn(m(x[i : i + 1]), y[i : i + 1]).sum().backward()
        for n, p in m.named_parameters():
            acc[n] += p.grad.double() ** 2
    return {n: a / x.shape[0] for n, a in acc.items()}


def _ce_sum(out, y):
    return nn.functional.cross_entropy(out, y, reduction="sum")


def _snapshot(model: nn.Module):
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "training": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grad": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "torch_rng": torch.get_rng_state().clone(),
        "np_rng": np.random.get_state()[1].copy(),  # noqa: NPY002  (the global one must not move)
    }


def _assert_same(before, after):
    assert before["state"].keys() == after["state"].keys()
    for k in before["state"]:
        assert torch.equal(before["state"][k], after["state"][k]), k
    assert before["training"] == after["training"]
    assert before["requires_grad"] == after["requires_grad"]
    for a, b in zip(before["grad"], after["grad"], strict=True):
        assert (a is None and b is None) or torch.equal(a, b)
    assert torch.equal(before["torch_rng"], after["torch_rng"])
    assert np.array_equal(before["np_rng"], after["np_rng"])


# --------------------------------------------------------------------------- Fisher


@pytest.mark.parametrize("seed", SEEDS)
def test_logistic_true_fisher_matches_closed_form(seed):
    # true Fisher of logistic regression: E_x[p(1-p) x x^T]; its diagonal, with the bias
    # as a constant feature 1. Monte Carlo over 4000 label draws per input (240k
    # gradients): relative error ~1%; tolerance 5%.
    model, x, _ = _logistic_data(seed)
    F = fisher_diagonal(
        model,
        x,
        kind="true",
        loss="binary_cross_entropy",
        n_label_samples=4000,
        batch_size=4096,
        random_state=seed,
    )
    with torch.no_grad():
        p = torch.sigmoid(model(x)).reshape(-1).double()
    v = p * (1 - p)
    exact_w = (v[:, None] * x.double() ** 2).mean(0)
    exact_b = v.mean()
    torch.testing.assert_close(F["weight"].double().reshape(-1), exact_w, rtol=0.05, atol=0)
    torch.testing.assert_close(F["bias"].double().reshape(()), exact_b, rtol=0.05, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_logistic_empirical_fisher_exact(seed):
    # empirical Fisher: mean of (p - y)^2 x_j^2, no sampling, so exact up to float32
    model, x, y = _logistic_data(seed)
    F = fisher_diagonal(model, (x, y), kind="empirical", loss="binary_cross_entropy")
    with torch.no_grad():
        p = torch.sigmoid(model(x)).reshape(-1).double()
    r2 = (p - y.double()) ** 2
    torch.testing.assert_close(
        F["weight"].double().reshape(-1),
        (r2[:, None] * x.double() ** 2).mean(0),
        rtol=1e-5,
        atol=1e-8,
    )
    torch.testing.assert_close(F["bias"].double().reshape(()), r2.mean(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_true_fisher_matches_closed_form(seed):
    # linear softmax: d/dW_cj (-log p_y) = (p_c - [y=c]) x_j, so the true Fisher diagonal
    # is E_x[p_c (1 - p_c) x_j^2]; 3000 draws per input, tolerance 5%.
    model, x, _ = _softmax_data(seed)
    F = fisher_diagonal(model, (x,), n_label_samples=3000, batch_size=4096, random_state=seed)
    with torch.no_grad():
        p = torch.softmax(model(x).double(), dim=1)
    v = p * (1 - p)  # (n, c)
    exact_w = (v[:, :, None] * x.double()[:, None, :] ** 2).mean(0)
    torch.testing.assert_close(F["weight"].double(), exact_w, rtol=0.05, atol=0)
    torch.testing.assert_close(F["bias"].double(), v.mean(0), rtol=0.05, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_empirical_fisher_equals_per_sample_loop(seed):
    # vmap(grad) vs one backward per sample on a conv/batch-norm/dropout model
    model, x, y = _cnn(seed)
    model.train()  # the Fisher is computed in eval mode either way
    F = fisher_diagonal(model, (x, y), kind="empirical", batch_size=7)
    F_loop = fisher_diagonal(model, (x, y), kind="empirical", vectorize=False)
    ref = _loop_fisher(model, x, y, _ce_sum)
    for n in ref:
        assert F[n].shape == ref[n].shape
        torch.testing.assert_close(F[n].double(), ref[n], rtol=1e-4, atol=1e-9)
        torch.testing.assert_close(F_loop[n].double(), ref[n], rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_true_fisher_vmap_equals_loop_and_is_seeded(seed):
    model, x, _ = _cnn(seed)
    a = fisher_diagonal(model, x, random_state=seed, n_label_samples=2, batch_size=8)
    b = fisher_diagonal(model, x, random_state=seed, n_label_samples=2, vectorize=False)
    c = fisher_diagonal(model, x, random_state=seed + 10, n_label_samples=2)
    for n in a:
        torch.testing.assert_close(a[n], b[n], rtol=1e-4, atol=1e-9)
    assert any(not torch.allclose(a[n], c[n]) for n in a)


def test_data_forms_agree():
    model, x, y = _softmax_data(0)
    ref = fisher_diagonal(model, (x, y), kind="empirical")
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=9, shuffle=False
    )
    batches = [(x[:15], y[:15]), (x[15:], y[15:])]
    for data in [loader, batches, (x.numpy(), y.numpy()), [x, y.double()], (x.double(), y)]:
        got = fisher_diagonal(model, data, kind="empirical", batch_size=5)
        for n in ref:
            torch.testing.assert_close(got[n], ref[n], rtol=1e-5, atol=1e-9)
            assert got[n].dtype == torch.float32


def test_custom_loss_and_sampler():
    # a callable NLL equal to the built-in gives the same Fisher, also for kind="true"
    model, x, y = _softmax_data(1)
    ref_e = fisher_diagonal(model, (x, y), kind="empirical")
    got_e = fisher_diagonal(model, (x, y), kind="empirical", loss=_ce_sum)
    ref_t = fisher_diagonal(model, x, random_state=3)
    got_t = fisher_diagonal(
        model,
        x,
        loss=_ce_sum,
        random_state=3,
        sample_target=lambda out, g: torch.multinomial(
            torch.softmax(out.double(), -1), 1, generator=g
        ).reshape(-1),
    )
    for n in ref_e:
        torch.testing.assert_close(got_e[n], ref_e[n], rtol=1e-6, atol=1e-9)
        torch.testing.assert_close(got_t[n], ref_t[n], rtol=1e-6, atol=1e-9)


def test_param_names_and_frozen_parameters():
    model, x, y = _cnn(0)
    model.conv.bias.requires_grad_(False)
    F = fisher_diagonal(model, (x, y), kind="empirical")
    assert "conv.bias" not in F and "conv.weight" in F
    only = fisher_diagonal(model, (x, y), kind="empirical", param_names=["fc.weight"])
    assert list(only) == ["fc.weight"]
    torch.testing.assert_close(only["fc.weight"], F["fc.weight"], rtol=1e-6, atol=1e-10)


# --------------------------------------------------------------------------- immutability


@pytest.mark.parametrize("seed", SEEDS)
def test_model_and_rng_unchanged(seed):
    model, x, y = _cnn(seed)
    model.train()
    model.bn.eval()  # mixed flags must be restored module by module
    model.conv.bias.requires_grad_(False)
    model.fc.weight.grad = torch.full_like(model.fc.weight, 0.25)
    before = _snapshot(model)
    fisher_diagonal(model, x, random_state=None)
    _assert_same(before, _snapshot(model))
    fisher_diagonal(model, (x, y), kind="empirical", vectorize=False)
    _assert_same(before, _snapshot(model))
    weight_information(model, (x, y), method="fisher")
    _assert_same(before, _snapshot(model))
    weight_information(model, (x, y), method="variational", n_steps=3, n_eval_samples=1)
    _assert_same(before, _snapshot(model))
    rec = WeightInformationRecorder(model, (x, y))
    rec.record(0)
    _assert_same(before, _snapshot(model))


def test_training_flags_restored_after_error():
    model, x, y = _cnn(0)
    model.train()
    with pytest.raises(ValueError, match="label 9"):
        fisher_diagonal(model, (x, torch.full_like(y, 9)), kind="empirical")
    assert all(m.training for m in model.modules())


# --------------------------------------------------------------------------- closed form


def test_closed_form_terms_by_hand():
    # w* = (1, -2), F = (0.5, 0), N = 4, lambda = 2, beta = 1:
    # a = lambda^2 N F / beta = (8, 0); s^2 = lambda^2 / (1 + a) = (4/9, 4)
    # norm = (1 + 4) / 8 = 0.625; logdet = 1/2 log 9 = log 3; trace = -1/2 * 8/9 = -4/9
    t = _gaussian_terms(
        torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.0]), n_train=4, prior_std=2.0, beta=1.0
    )
    assert t["norm_term"] == pytest.approx(0.625, rel=1e-12)
    assert t["logdet_term"] == pytest.approx(math.log(3.0), rel=1e-12)
    assert t["trace_term"] == pytest.approx(-4.0 / 9.0, rel=1e-12)
    assert t["information"] == pytest.approx(0.625 + math.log(3.0) - 4.0 / 9.0, rel=1e-12)
    # the same number from torch's analytic Gaussian KL
    s = torch.sqrt(torch.tensor([4.0 / 9.0, 4.0], dtype=torch.float64))
    q = torch.distributions.Normal(torch.tensor([1.0, -2.0], dtype=torch.float64), s)
    p = torch.distributions.Normal(torch.zeros(2, dtype=torch.float64), 2.0)
    assert t["information"] == pytest.approx(
        float(torch.distributions.kl_divergence(q, p).sum()), rel=1e-12
    )
    # beta scales the data term: beta = 2 is the same as halving N
    t2 = _gaussian_terms(
        torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.0]), n_train=8, prior_std=2.0, beta=2.0
    )
    assert t2["information"] == pytest.approx(t["information"], rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_closed_form_sigma_is_the_optimum(seed):
    # s*^2 = 1/(N F/beta + 1/lambda^2) minimises (N/2) sum F s^2 + beta KL(q||p)
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(5, generator=g, dtype=torch.float64)
    f = torch.rand(5, generator=g, dtype=torch.float64) * 3
    N, lam, beta = 50, 0.7, 1.5
    log_s_opt = 0.5 * torch.log(1.0 / (N * f / beta + 1.0 / lam**2))

    def objective(log_s):
        return 0.5 * N * (f * torch.exp(2 * log_s)).sum() + beta * _diag_gauss_kl(w, log_s, lam)

    best = objective(log_s_opt)
    for _ in range(20):
        assert objective(log_s_opt + 0.05 * torch.randn(5, generator=g, dtype=torch.float64)) > best
    terms = _gaussian_terms(w, f, n_train=N, prior_std=lam, beta=beta)
    kl_opt = float(_diag_gauss_kl(w, log_s_opt, lam))
    assert terms["information"] == pytest.approx(kl_opt, rel=1e-10)


def test_weight_information_fisher_rows_use_fisher_diagonal():
    model, x, y = _cnn(1)
    df = weight_information(model, (x, y), kind="empirical", prior_std=0.5, beta=2.0, n_train=1000)
    assert list(df["layer"]) == ["conv", "bn", "fc"]
    F = fisher_diagonal(model, (x, y), kind="empirical")
    params = dict(model.named_parameters())
    for _, row in df.iterrows():
        ns = [n for n in F if n.startswith(row["layer"] + ".")]
        w = torch.cat([params[n].detach().reshape(-1) for n in ns])
        f = torch.cat([F[n].reshape(-1) for n in ns])
        t = _gaussian_terms(w, f, n_train=1000, prior_std=0.5, beta=2.0)
        assert row["n_params"] == w.numel()
        assert row["fisher_trace"] == pytest.approx(float(f.double().sum()), rel=1e-5)
        assert row["information"] == pytest.approx(t["information"], rel=1e-5)
        assert row["information"] == pytest.approx(
            row["norm_term"] + row["logdet_term"] + row["trace_term"], rel=1e-12
        )
        assert row["information"] >= 0
    # explicit selection: a container covers every parameter under it
    df2 = weight_information(model, (x, y), ["fc", "conv"], kind="empirical")
    assert list(df2["layer"]) == ["fc", "conv"]
    seq = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    xs, ys = torch.randn(10, 3), torch.randint(0, 2, (10,))
    whole = weight_information(seq, (xs, ys), "", kind="empirical")
    parts = weight_information(seq, (xs, ys), kind="empirical")
    assert whole["n_params"].iloc[0] == parts["n_params"].sum() == 26
    assert whole["fisher_trace"].iloc[0] == pytest.approx(parts["fisher_trace"].sum(), rel=1e-5)


# --------------------------------------------------------------------------- variational


@pytest.mark.parametrize("seed", SEEDS)
def test_variational_matches_exact_optimum_for_linear_gaussian(seed):
    # For f(x) = w.x + b with the unit-Gaussian NLL, E_q[sum_i NLL_i] is exactly
    # quadratic, so the optimal diagonal posterior is s_j^-2 = sum_i x_ij^2 / beta
    # + 1/lambda^2 (bias: x_ij = 1). The fit starts far from it (s = 0.3) and must land
    # within 5% of the exact KL (measured over seeds 0-3: at most 3% off at 300-1000 steps).
    g = torch.Generator().manual_seed(seed)
    n, d, lam, beta = 40, 3, 1.0, 1.0
    x = torch.randn(n, d, generator=g)
    y = x @ torch.tensor([1.0, -0.5, 0.25]) + 0.3 * torch.randn(n, generator=g)
    model = nn.Linear(d, 1)
    with torch.no_grad():
        sol = torch.linalg.lstsq(torch.cat([x, torch.ones(n, 1)], 1), y[:, None]).solution
        model.weight.copy_(sol[:d].T)
        model.bias.copy_(sol[d])
    df = weight_information(
        model,
        (x, y),
        method="variational",
        loss="gaussian",
        prior_std=lam,
        beta=beta,
        init=0.3,
        n_steps=600,
        lr=0.05,
        batch_size=n,
        random_state=seed,
        n_eval_samples=200,
    )
    xx = torch.cat([x, torch.ones(n, 1)], 1).double()
    s2 = 1.0 / ((xx**2).sum(0) / beta + 1.0 / lam**2)
    mu = torch.cat([model.weight.detach().reshape(-1), model.bias.detach()]).double()
    exact = float(_diag_gauss_kl(mu, 0.5 * torch.log(s2), lam))
    assert df["information"].iloc[0] == pytest.approx(exact, rel=0.05)
    assert df["kl"].iloc[0] == df["information"].iloc[0]
    # E_q[NLL] - NLL(w*) = 1/(2n) sum_ij x_ij^2 s_j^2 for this model; 200 weight draws
    # give a relative standard error near 5%, tolerance 20%
    gap = float(0.5 * (xx**2 * s2).sum() / n)
    got_gap = df["expected_nll"].iloc[0] - df["nll_at_mean"].iloc[0]
    assert got_gap == pytest.approx(gap, rel=0.2)
    row = df.iloc[0]
    assert row["objective"] == pytest.approx(n * row["expected_nll"] + beta * row["kl_total"])


@pytest.mark.parametrize("seed", SEEDS)
def test_variational_kl_nonnegative_and_decreasing_in_beta(seed):
    model, x, y = _softmax_data(seed, n=30)
    kls = []
    for beta in (0.2, 1.0, 5.0):
        df = weight_information(
            model,
            (x, y),
            method="variational",
            beta=beta,
            init=0.05,
            n_steps=250,
            lr=0.05,
            batch_size=30,
            random_state=seed,
        )
        assert (df["kl"] >= 0).all()
        kls.append(float(df["kl_total"].iloc[0]))
    assert kls[0] > kls[1] > kls[2], kls


def test_variational_fisher_init_close_to_closed_form():
    # with n_steps=0 the variational posterior is the closed-form one
    model, x, y = _softmax_data(0)
    a = weight_information(model, (x, y), method="fisher", random_state=5)
    b = weight_information(model, (x, y), method="variational", n_steps=0, random_state=5)
    assert b["information"].iloc[0] == pytest.approx(a["information"].iloc[0], rel=1e-5)


def test_variational_prior_equal_to_posterior_has_zero_kl():
    # prior N(w*, lambda^2) and posterior N(w*, lambda^2) (no steps, fixed mean): KL = 0
    model, x, y = _softmax_data(1)
    lam = 0.3
    for centre in (model, {n: p.detach().clone() for n, p in model.named_parameters()}):
        df = weight_information(
            model,
            (x, y),
            method="variational",
            prior_mean=centre,
            prior_std=lam,
            init=lam,
            n_steps=0,
            random_state=0,
        )
        assert df["kl"].abs().max() < 1e-6
        assert (df["mean_shift"] == 0).all() and (df["prior_std_chosen"] == lam).all()
    # the default prior centre 0 makes the same posterior cost ||w*||^2 / (2 lambda^2)
    df0 = weight_information(
        model, (x, y), method="variational", prior_std=lam, init=lam, n_steps=0, random_state=0
    )
    norm = sum(float((p.detach().double() ** 2).sum()) for p in model.parameters())
    assert float(df0["kl"].sum()) == pytest.approx(norm / (2 * lam**2), rel=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_variational_grid_and_trained_mean(seed):
    model, x, y = _cnn(seed)
    before = _snapshot(model)
    grid = [0.01, 0.1, 1.0]
    df = weight_information(
        model,
        (x, y),
        ["conv", "fc"],
        method="variational",
        prior_std_grid=grid,
        train_mean=True,
        n_steps=20,
        batch_size=16,
        random_state=seed,
    )
    _assert_same(before, _snapshot(model))
    assert set(df["prior_std_chosen"]) <= set(grid)
    assert df["prior_choice_nats"].iloc[0] == pytest.approx(2 * math.log(len(grid)))
    assert (df["mean_shift"] > 0).all()
    assert (df["kl"] >= math.log(len(grid)) - 1e-9).all()  # each layer pays its choice


# --------------------------------------------------------------------------- recorder / plot


def test_recorder_rows_and_csv_roundtrip(tmp_path):
    model, x, y = _cnn(0)
    rec = WeightInformationRecorder(model, (x, y), layers=["conv", "fc"], kind="empirical")
    assert rec.to_frame().empty
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(3):
        rows = rec.record(epoch)
        assert list(rows.columns[:4]) == ["epoch", "layer", "information", "fisher_trace"]
        assert (rows["epoch"] == epoch).all() and len(rows) == 2
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    df = rec.to_frame()
    assert len(df) == 6 and df["epoch"].tolist() == [0, 0, 1, 1, 2, 2]
    first = df.loc[df.epoch == 0, "information"].tolist()
    assert first != df.loc[df.epoch == 2, "information"].tolist()
    path = tmp_path / "w.csv"
    rec.save(path)
    back = WeightInformationRecorder.load(path)
    assert back["layer"].tolist() == df["layer"].tolist()
    np.testing.assert_allclose(back["information"], df["information"], rtol=1e-12)


def test_plot_weight_information():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mi_probe.plotting.weight_information import plot_weight_information

    model, x, y = _cnn(0)
    rec = WeightInformationRecorder(model, (x, y), kind="empirical")
    rec.record(0)
    rec.record(1)
    ax = plot_weight_information(rec.to_frame())
    assert ax.get_xlabel() == "epoch" and "nats" in ax.get_ylabel()
    assert len(ax.get_lines()) >= 3
    with pytest.raises(ValueError, match="df is missing"):
        plot_weight_information(rec.to_frame().drop(columns="epoch"))
    with pytest.raises(ValueError, match="y="):
        plot_weight_information(rec.to_frame(), y="nope")
    plt.close("all")


# --------------------------------------------------------------------------- errors


def _bad_sampler_count(out, g):
    return torch.zeros(1, dtype=torch.long)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m, x, y: fisher_diagonal("net", (x, y)), "model must be a torch.nn.Module"),
        (lambda m, x, y: fisher_diagonal(nn.ReLU(), (x, y)), "model has no parameters"),
        (lambda m, x, y: fisher_diagonal(m, (x, y), kind="exact"), "kind must be one of"),
        (lambda m, x, y: fisher_diagonal(m, (x, y), loss="hinge"), "loss must be one of"),
        (lambda m, x, y: fisher_diagonal(m, (x, y), loss=3), "loss must be None, a string"),
        (lambda m, x, y: fisher_diagonal(m, (x, y), loss=_ce_sum), "needs sample_target"),
        (lambda m, x, y: fisher_diagonal(m, (x, y), sample_target=1), "sample_target must be"),
        (
            lambda m, x, y: fisher_diagonal(m, (x, y), loss=_ce_sum, sample_target=1),
            "sample_target must be",
        ),
        (
            lambda m, x, y: fisher_diagonal(m, x, sample_target=_bad_sampler_count),
            "sample_target returned 1 targets",
        ),
        (lambda m, x, y: fisher_diagonal(m, (x, y), param_names=["w"]), "unknown parameter"),
        (lambda m, x, y: fisher_diagonal(m, (x, y), param_names=[]), "param_names is empty"),
        (lambda m, x, y: fisher_diagonal(m, (x, y), batch_size=0), "batch_size must be >= 1"),
        (lambda m, x, y: fisher_diagonal(m, x, n_label_samples=0), "n_label_samples must be"),
        (
            lambda m, x, y: fisher_diagonal(m, (x, y), kind="empirical", n_label_samples=2),
            "n_label_samples applies",
        ),
        (lambda m, x, y: fisher_diagonal(m, x, random_state=-1), "random_state must be a non"),
        (lambda m, x, y: fisher_diagonal(m, x, random_state="a"), "random_state must be None"),
        (lambda m, x, y: fisher_diagonal(m, None), "got None"),
        (lambda m, x, y: fisher_diagonal(m, {"x": x}), "data must be a DataLoader"),
        (lambda m, x, y: fisher_diagonal(m, "abc"), "data must be a DataLoader"),
        (lambda m, x, y: fisher_diagonal(m, (x, y, y)), "data as a tuple must be"),
        (lambda m, x, y: fisher_diagonal(m, x[:0]), "data is empty"),
        (lambda m, x, y: fisher_diagonal(m, []), "loader yielded no batches"),
        (lambda m, x, y: fisher_diagonal(m, [()]), "empty batch"),
        (lambda m, x, y: fisher_diagonal(m, torch.tensor(1.0)), "leading sample dimension"),
        (lambda m, x, y: fisher_diagonal(m, np.array(["a", "b"])), "expected numbers"),
        (lambda m, x, y: fisher_diagonal(m, (np.array(["a"]), y)), "x \\(from data\\) has dtype"),
        (lambda m, x, y: fisher_diagonal(m, x.to(torch.complex64)), "complex dtype"),
        (
            lambda m, x, y: fisher_diagonal(m, torch.full_like(x, float("nan"))),
            "x \\(from data\\) contains NaN",
        ),
        (
            lambda m, x, y: fisher_diagonal(m, torch.full_like(x, float("inf"))),
            "x \\(from data\\) contains inf",
        ),
        (lambda m, x, y: fisher_diagonal(m, (x, y[:3]), kind="empirical"), "same number"),
        (lambda m, x, y: fisher_diagonal(m, x, kind="empirical"), "data has no labels"),
        (
            lambda m, x, y: fisher_diagonal(m, (x, y.double() + 0.5), kind="empirical"),
            "integer class labels",
        ),
        (
            lambda m, x, y: fisher_diagonal(m, (x, torch.full((len(x),), float("nan")))),
            "y \\(from data\\) contains NaN",
        ),
        (lambda m, x, y: fisher_diagonal(m, (x, y - 5), kind="empirical"), "negative class"),
        (
            lambda m, x, y: fisher_diagonal(m, (x, torch.stack([y, y], 1)), kind="empirical"),
            "must be 1-D class labels",
        ),
        (lambda m, x, y: fisher_diagonal(m, (x, y + 7), kind="empirical"), "outputs 4 classes"),
        (lambda m, x, y: fisher_diagonal(nn.Conv2d(1, 2, 3), x), "n_samples, n_classes"),
        (
            lambda m, x, y: fisher_diagonal(nn.Conv2d(1, 2, 3), (x, y), kind="empirical"),
            "n_samples, n_classes",
        ),
        (lambda m, x, y: weight_information(m, (x, y), method="mdl"), "method must be one of"),
        (lambda m, x, y: weight_information(m, (x, y), kind="x"), "kind must be one of"),
        (lambda m, x, y: weight_information(m, (x, y), prior_std=0), "prior_std must be > 0"),
        (lambda m, x, y: weight_information(m, (x, y), beta=-1.0), "beta must be > 0"),
        (lambda m, x, y: weight_information(m, (x, y), n_train=0), "n_train must be >= 1"),
        (
            lambda m, x, y: weight_information(m, (x, y), ["conv", "nope"]),
            "unknown module 'nope'.*'fc'",
        ),
        (lambda m, x, y: weight_information(m, (x, y), ["fc", "fc"]), "duplicate"),
        (lambda m, x, y: weight_information(m, (x, y), []), "layers is empty"),
        (lambda m, x, y: weight_information(m, (x, y), [3]), "module names"),
        (lambda m, x, y: weight_information(m, (x, y), 3), "layers must be None"),
        (lambda m, x, y: weight_information(m, (x, y), "drop"), "no trainable parameters"),
        (
            lambda m, x, y: weight_information(m, (x, y), method="variational", init="laplace"),
            "init must be 'fisher'",
        ),
        (
            lambda m, x, y: weight_information(m, (x, y), method="variational", init=0.0),
            "init must be > 0",
        ),
        (
            lambda m, x, y: weight_information(m, (x, y), method="variational", n_steps=-1),
            "n_steps must be >= 0",
        ),
        (lambda m, x, y: weight_information(m, (x, y), method="variational", lr=0), "lr must be"),
        (
            lambda m, x, y: weight_information(m, (x, y), method="variational", n_eval_samples=0),
            "n_eval_samples must be",
        ),
        (lambda m, x, y: weight_information(m, x, method="variational"), "data has no labels"),
        (
            lambda m, x, y: weight_information(m, (x, y), prior_mean=m),
            r"prior_mean applies to method='variational' only",
        ),
        (
            lambda m, x, y: weight_information(m, (x, y), prior_std_grid=[0.1], train_mean=True),
            r"prior_std_grid, train_mean applies to method='variational' only",
        ),
        (
            lambda m, x, y: weight_information(m, (x, y), method="variational", train_mean="yes"),
            "train_mean must be True or False",
        ),
        (
            lambda m, x, y: weight_information(m, (x, y), method="variational", prior_mean=[1.0]),
            "prior_mean must be a dict",
        ),
        (
            lambda m, x, y: weight_information(
                m, (x, y), method="variational", prior_std_grid=[0.1, -1.0]
            ),
            "prior_std_grid must be a non-empty sequence of positive numbers",
        ),
        (
            lambda m, x, y: WeightInformationRecorder(m, (x, y)).record("one"),
            "epoch must be a number",
        ),
        (
            lambda m, x, y: WeightInformationRecorder(m, (x, y)).record(float("nan")),
            "epoch must be finite",
        ),
    ],
)
def test_errors(call, match):
    model, x, y = _cnn(0)
    with pytest.raises(ValueError, match=match):
        call(model, x, y)


def test_frozen_model_errors():
    model = nn.Linear(2, 2)
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="no parameters with requires_grad=True"):
        fisher_diagonal(model, x)
    with pytest.raises(ValueError, match="no parameters with requires_grad=True"):
        weight_information(model, x)


def test_load_missing_columns(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="missing columns"):
        WeightInformationRecorder.load(path)


# --------------------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    model, x, y = _cnn(0)
    cpu = fisher_diagonal(model, (x, y), kind="empirical")
    gpu = fisher_diagonal(copy.deepcopy(model).cuda(), (x.cuda(), y.cuda()), kind="empirical")
    for n in cpu:
        assert gpu[n].device.type == "cuda"
        torch.testing.assert_close(gpu[n].cpu(), cpu[n], rtol=1e-4, atol=1e-8)
    t_cpu = fisher_diagonal(model, x, random_state=1)
    t_gpu = fisher_diagonal(copy.deepcopy(model).cuda(), x.cuda(), random_state=1)
    assert all(t_gpu[n].shape == t_cpu[n].shape for n in t_cpu)
    df = weight_information(
        copy.deepcopy(model).cuda(), (x.cuda(), y.cuda()), method="variational", n_steps=5
    )
    assert (df["kl"] >= 0).all()


# --------------------------------------------------------------------------- critical period


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_fisher_trace_rises_then_falls_on_digits(seed):
    # Achille, Rovere & Soatto (2019): the Fisher trace of the weights grows in the first
    # epochs and then decays. On sklearn digits with an MLP (as in tutorial 3) the peak
    # must fall strictly inside the run and the last value be under half of the peak.
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data / 16.0, dtype=torch.float32)
    y = torch.tensor(d.target)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True, generator=g
    )
    rec = WeightInformationRecorder(model, (x[:300], y[:300]), n_train=len(x), random_state=1)
    rec.record(0)
    epochs = 12
    for epoch in range(1, epochs + 1):
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
        rec.record(epoch)
    trace = rec.to_frame().groupby("epoch")["fisher_trace"].sum()
    peak = int(trace.idxmax())
    assert 0 < peak < epochs, trace.tolist()
    assert trace.iloc[-1] < 0.5 * trace.max(), trace.tolist()
    assert trace.max() > 2 * trace.iloc[0], trace.tolist()
