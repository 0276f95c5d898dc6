"""The fast Linear/Conv2d path of fisher_diagonal against the per-sample reference
(vmap(grad) and a loop), its fall-backs (tied weights, repeated calls, uses outside a
module, non-Linear parameters), model immutability; and the K-FAC weight information
against the dense Fisher matrix where K-FAC is exact."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mi_probe import fisher_diagonal, weight_information
from mi_probe.weights import _fisher_fast

SEEDS = [0, 1, 2]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Mixed(nn.Module):
    """Conv2d with stride/padding, 'same' + dilation + groups, an in-place ReLU on a
    conv output, LayerNorm, a free nn.Parameter, a Linear on a sequence, a Linear called
    twice, a weight tied between two Linears, and a weight also used outside its module."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(4, 4, 3, padding="same", dilation=2, groups=2)
        self.c3 = nn.Conv2d(4, 3, (2, 3), stride=(1, 2), padding=(1, 0), bias=False)
        self.ln = nn.LayerNorm(12)
        self.seq = nn.Linear(3, 3)  # applied to (B, T, 3)
        self.fc = nn.Linear(12, 5)
        self.scale = nn.Parameter(torch.randn(5))
        self.twice = nn.Linear(5, 5)
        self.a = nn.Linear(5, 5)
        self.b = nn.Linear(5, 5)
        self.b.weight = self.a.weight  # tied between two modules
        self.out = nn.Linear(5, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu_(self.c1(x))
        h = self.c2(h)
        h = self.c3(h)  # (B, 3, 5, 2)
        s = self.seq(h.flatten(2).transpose(1, 2))  # (B, 10, 3)
        h = self.ln(s[:, :4].flatten(1))
        h = self.fc(h) * self.scale
        h = self.twice(torch.tanh(self.twice(h)))
        h = self.b(torch.tanh(self.a(h)))
        # out.weight is also used outside out's forward: must fall back
        return self.out(h) + 0.1 * h @ self.out.weight.T


def _mixed(seed: int, n: int = 23):
    torch.manual_seed(seed)
    model = Mixed()
    g = torch.Generator().manual_seed(seed + 50)
    x = torch.randn(n, 2, 8, 8, generator=g)
    y = torch.randint(0, 4, (n,), generator=g)
    return model, x, y


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


class _Spy:
    """Record which parameters each FastPass.run handled and which it sent back."""

    def __init__(self, monkeypatch) -> None:
        self.fast: set[str] = set()
        self.bad: set[str] = set()
        orig = _fisher_fast.FastPass.run
        spy = self

        def run(self_, *args, **kwargs):
            out = orig(self_, *args, **kwargs)
            spy.fast.update(out[1])
            spy.bad.update(out[2])
            return out

        monkeypatch.setattr(_fisher_fast.FastPass, "run", run)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["empirical", "true"])
def test_fast_equals_reference_on_mixed_model(seed, kind, monkeypatch):
    # same labels (kind="true": the same seeded draws), same diagonal to 1e-5 relative
    model, x, y = _mixed(seed)
    ref = fisher_diagonal(model, (x, y), kind=kind, batch_size=6, fast=False, random_state=seed)
    loop = fisher_diagonal(
        model, (x, y), kind=kind, batch_size=6, fast=False, vectorize=False, random_state=seed
    )
    spy = _Spy(monkeypatch)
    got = fisher_diagonal(model, (x, y), kind=kind, batch_size=6, random_state=seed)
    assert got.keys() == ref.keys()
    for n in ref:
        assert got[n].shape == ref[n].shape and got[n].dtype == ref[n].dtype
        assert _rel(got[n], ref[n]) < 1e-5, (n, _rel(got[n], ref[n]))
        assert _rel(loop[n], ref[n]) < 1e-5, n
    linear_conv = {
        "c1.weight",
        "c1.bias",
        "c2.weight",
        "c2.bias",
        "c3.weight",
        "seq.weight",
        "seq.bias",
        "fc.weight",
        "fc.bias",
        "twice.weight",
        "twice.bias",
        "a.weight",
        "a.bias",
        "b.bias",
        "out.bias",
    }
    assert spy.fast == linear_conv
    assert spy.bad == {"out.weight"}  # the use outside out's forward was detected


@pytest.mark.parametrize("seed", SEEDS)
def test_fast_equals_reference_extra_cases(seed):
    # several label draws per input, a custom loss with mean reduction (each sample's
    # loss is computed on its own, as in the reference), float64, frozen bias
    model, x, y = _mixed(seed, n=11)
    model.c1.bias.requires_grad_(False)
    a = fisher_diagonal(model, x, n_label_samples=3, batch_size=8, random_state=seed)
    b = fisher_diagonal(model, x, n_label_samples=3, batch_size=8, random_state=seed, fast=False)
    assert "c1.bias" not in a
    for n in b:
        assert _rel(a[n], b[n]) < 1e-5, n
    for vectorize in (True, False):
        a = fisher_diagonal(
            model, (x, y), kind="empirical", loss=F.cross_entropy, vectorize=vectorize
        )
        b = fisher_diagonal(model, (x, y), kind="empirical", fast=False)
        for n in b:
            assert _rel(a[n], b[n]) < 1e-5, n
    m64 = model.double()
    a = fisher_diagonal(m64, (x.double(), y), kind="empirical", batch_size=5)
    b = fisher_diagonal(m64, (x.double(), y), kind="empirical", batch_size=5, fast=False)
    for n in b:
        assert a[n].dtype == torch.float64
        assert _rel(a[n], b[n]) < 1e-12, n


def test_fast_path_respects_hooks_and_subclasses(monkeypatch):
    # a module with a user hook, or a subclass with its own forward, is not fast
    class Scaled(nn.Linear):
        def forward(self, x):
            return 2 * super().forward(x)

    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), Scaled(4, 4), nn.Tanh(), nn.Linear(4, 3))
    model[4].register_forward_hook(lambda m, i, o: o * 1.5)
    x, y = torch.randn(9, 3), torch.randint(0, 3, (9,))
    spy = _Spy(monkeypatch)
    got = fisher_diagonal(model, (x, y), kind="empirical")
    ref = fisher_diagonal(model, (x, y), kind="empirical", fast=False)
    assert spy.fast == {"0.weight", "0.bias"}
    for n in ref:
        assert _rel(got[n], ref[n]) < 1e-5, n


def test_fast_path_leaves_model_unchanged_even_on_error():
    model, x, y = _mixed(0)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ids = {n: id(p) for n, p in model.named_parameters()}
    fisher_diagonal(model, (x, y), kind="empirical")
    fisher_diagonal(model, x)

    calls = {"n": 0}
    orig = Mixed.forward

    def failing(self, inp):
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("boom")
        return orig(self, inp)

    Mixed.forward = failing
    try:
        with pytest.raises(RuntimeError, match="boom"):
            fisher_diagonal(model, x, batch_size=5)
    finally:
        Mixed.forward = orig
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
        assert m.training
    assert {n: id(p) for n, p in model.named_parameters()} == ids
    for p in model.parameters():
        assert isinstance(p, nn.Parameter) and p.grad is None
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


# --------------------------------------------------------------------------- K-FAC


def _dense_information(model, x, y, lam, beta, n_train):
    """KL(N(w*, S) || N(0, lam^2 I)) with S^-1 = N F / beta + I / lam^2, F the full
    empirical Fisher matrix from per-sample gradients (torch's Gaussian KL)."""
    grads = []
    for i in range(x.shape[0]):
        model.zero_grad()
        F.cross_entropy(model(x[i : i + 1]), y[i : i + 1], reduction="sum").backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
    model.zero_grad()
    g = torch.stack(grads).double()
    fisher = g.T @ g / x.shape[0]
    k = fisher.shape[0]
    w = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()
    cov = torch.linalg.inv(n_train * fisher / beta + torch.eye(k, dtype=torch.float64) / lam**2)
    q = torch.distributions.MultivariateNormal(w, cov)
    p = torch.distributions.MultivariateNormal(
        torch.zeros(k, dtype=torch.float64), lam**2 * torch.eye(k, dtype=torch.float64)
    )
    return float(torch.distributions.kl_divergence(q, p)), float(cov.diag().sqrt().mean())


def _factorial(seed, d=3, c=4, nx=10):
    # every input with every label: at zero weights (p uniform, independent of x) the
    # per-sample Fisher is (p - e_y)(p - e_y)^T (x) xbar xbar^T, and averaging over this
    # design factorises exactly, so K-FAC equals the full Fisher (= the true Fisher)
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn(nx, d, generator=g) + 0.3
    return xs.repeat_interleave(c, 0), torch.arange(c).repeat(nx)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("bias", [True, False])
def test_kfac_equals_dense_fisher_where_exact(seed, bias):
    x, y = _factorial(seed)
    model = nn.Linear(3, 4, bias=bias)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    lam, beta, n_train = 0.7, 1.3, 200
    df = weight_information(
        model,
        (x, y),
        kind="empirical",
        approximation="kfac",
        prior_std=lam,
        beta=beta,
        n_train=n_train,
    )
    assert df["approximation"].tolist() == ["kfac"]
    kl, std = _dense_information(model, x, y, lam, beta, n_train)
    assert df["information"].iloc[0] == pytest.approx(kl, rel=1e-6)
    assert df["mean_posterior_std"].iloc[0] == pytest.approx(std, rel=1e-6)
    # the diagonal approximation is a different (larger-information) number here
    diag = weight_information(
        model, (x, y), kind="empirical", prior_std=lam, beta=beta, n_train=n_train
    )
    assert diag["approximation"].tolist() == ["diagonal"]
    assert abs(diag["information"].iloc[0] - kl) > 1e-3 * kl


@pytest.mark.parametrize("seed", SEEDS)
def test_kfac_true_fisher_converges_to_dense_exact(seed):
    # kind="true" at zero weights: labels drawn from the uniform prediction; with 2000
    # draws per input G is close to its expectation, and the information (log terms)
    # is insensitive to it: measured relative error <= 6.3e-5 on seeds 0-5, tolerance 1e-3
    x, y = _factorial(seed)
    xs = x[::4]
    model = nn.Linear(3, 4)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    df = weight_information(
        model,
        xs,
        approximation="kfac",
        n_label_samples=2000,
        batch_size=4096,
        random_state=seed,
        n_train=100,
    )
    kl, _ = _dense_information(model, x, y, 1.0, 1.0, 100)  # factorial = exact Fisher
    assert df["information"].iloc[0] == pytest.approx(kl, rel=1e-3)


@pytest.mark.parametrize("seed", SEEDS)
def test_kfac_conv_covering_the_input_equals_linear(seed):
    # a conv whose kernel covers the whole input is a Linear on the flattened input
    # (one spatial position), so both give the same K-FAC numbers
    torch.manual_seed(seed)
    conv = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten())
    lin = nn.Linear(18, 4)
    with torch.no_grad():
        lin.weight.copy_(conv[0].weight.reshape(4, -1))
        lin.bias.copy_(conv[0].bias)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(30, 2, 3, 3, generator=g)
    y = torch.randint(0, 4, (30,), generator=g)
    a = weight_information(conv, (x, y), kind="empirical", approximation="kfac", n_train=500)
    b = weight_information(
        lin, (x.flatten(1), y), kind="empirical", approximation="kfac", n_train=500
    )
    assert a["approximation"].tolist() == b["approximation"].tolist() == ["kfac"]
    for col in ("information", "logdet_term", "trace_term", "mean_posterior_std"):
        assert a[col].iloc[0] == pytest.approx(b[col].iloc[0], rel=1e-6), col


def test_kfac_conv_factors_by_hand():
    # KFC (Grosse & Martens 2016): A = E[sum_t abar_t abar_t^T] over patches t,
    # G = E[(1/T) sum_t g_t g_t^T]; checked against a per-sample autograd construction
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.Flatten(), nn.Linear(3 * 3 * 3, 4)
    )
    x, y = torch.randn(15, 2, 5, 5), torch.randint(0, 4, (15,))
    from mi_probe.weights import _fisher

    _, count, factors = _fisher.squared_grad_sums(
        model.eval(),
        (x, y),
        [n for n, _ in model.named_parameters()],
        kind="empirical",
        loss_name="cross_entropy",
        loss_fn=_fisher._ce,
        sampler=None,
        n_label_samples=1,
        batch_size=4,
        generator=None,
        vectorize=True,
        show_progress=False,
        kfac=True,
    )
    conv = model[0]
    u = F.unfold(x, 3, padding=1, stride=2).transpose(1, 2).reshape(-1, 18).double()
    u = torch.cat([u, torch.ones(len(u), 1, dtype=torch.float64)], 1)
    a_ref = u.T @ u
    gs = []
    for i in range(15):
        z = conv(x[i : i + 1])
        zz = z.detach().requires_grad_()
        loss = F.cross_entropy(model[2](model[1](zz)), y[i : i + 1], reduction="sum")
        gs.append(torch.autograd.grad(loss, zz)[0].reshape(3, -1).T.double())  # (T, 3)
    g = torch.cat(gs)
    g_ref = g.T @ g / 9
    fac = factors["0"]
    assert fac.ok and count == 15
    torch.testing.assert_close(fac.a_sum, a_ref, rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(fac.g_sum, g_ref, rtol=1e-5, atol=1e-10)


def test_kfac_fallbacks_and_mixed_rows():
    model, x, y = _mixed(0)
    df = weight_information(model, (x, y), kind="empirical", approximation="kfac")
    used = dict(zip(df["layer"], df["approximation"], strict=True))
    # groups=2 conv, LayerNorm, a free parameter, a module called twice, tied weights
    # and a weight used outside its module all fall back to the diagonal
    assert used["c1"] == used["c3"] == used["seq"] == used["fc"] == "kfac"
    for name in ("c2", "ln", "twice", "a", "b", "out"):
        assert used[name] == "diagonal", name
    assert used[""] == "diagonal"  # the model's own parameter `scale`
    whole = weight_information(model, (x, y), "", kind="empirical", approximation="kfac")
    assert whole["approximation"].iloc[0] == "kfac+diagonal"
    # a block-diagonal posterior: a container's information is the sum of its layers'
    seq = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.LayerNorm(108), nn.Linear(108, 4))
    parts = weight_information(seq, (x, y), kind="empirical", approximation="kfac")
    assert parts["approximation"].tolist() == ["kfac", "diagonal", "kfac"]
    joint = weight_information(seq, (x, y), "", kind="empirical", approximation="kfac")
    assert joint["approximation"].iloc[0] == "kfac+diagonal"
    assert joint["information"].iloc[0] == pytest.approx(parts["information"].sum(), rel=1e-9)
    assert joint["mean_posterior_std"].iloc[0] == pytest.approx(
        (parts["mean_posterior_std"] * parts["n_params"]).sum() / parts["n_params"].sum(),
        rel=1e-9,
    )
    diag = weight_information(model, (x, y), kind="empirical")
    same = df["approximation"] == "diagonal"
    assert (diag["approximation"] == "diagonal").all()
    assert diag.loc[same, "information"].tolist() == pytest.approx(
        df.loc[same, "information"].tolist(), rel=1e-9
    )
    assert (df["information"] >= 0).all() and all(map(math.isfinite, df["information"]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"approximation": "full"}, "approximation must be one of"),
        ({"approximation": None}, "approximation must be one of"),
        ({"approximation": "kfac", "method": "variational"}, "approximation='kfac' applies"),
    ],
)
def test_kfac_errors(kwargs, match):
    model, x, y = _mixed(0, n=4)
    with pytest.raises(ValueError, match=match):
        weight_information(model, (x, y), **kwargs)


@pytest.mark.parametrize("seed", SEEDS)
def test_kfac_true_fisher_on_an_mlp_is_a_valid_kl(seed):
    # away from the exact case K-FAC is an approximation: each row must still be a KL
    # (>= its norm term, logdet >= 0, trace in [-k/2, 0]) and be seeded like the diagonal
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    x = torch.randn(40, 5, generator=torch.Generator().manual_seed(seed))
    a = weight_information(net, x, approximation="kfac", random_state=seed, n_train=1000)
    b = weight_information(net, x, approximation="kfac", random_state=seed, n_train=1000)
    assert a["approximation"].tolist() == ["kfac", "kfac"]
    assert a["information"].tolist() == b["information"].tolist()
    assert (a["logdet_term"] >= 0).all()
    assert (a["trace_term"] <= 0).all() and (a["trace_term"] >= -a["n_params"] / 2).all()
    assert (a["information"] >= a["norm_term"] - 1e-9).all()
    assert (a["mean_posterior_std"] > 0).all() and (a["mean_posterior_std"] <= 1).all()
