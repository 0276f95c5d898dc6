"""The compiled joint-critic kernel: the same training as autograd, to float32 rounding.

Every test that runs the kernel is skipped where the native library does not build
(no C compiler); CI has one, and there the library must build (tests/test_native.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from mi_probe.backends import _native
from mi_probe.estimators.neural import (
    _native_critic,
    infonce_mi,
    js_mi,
    mine_mi,
    nwj_mi,
    smile_mi,
)
from mi_probe.estimators.neural import bounds as B
from mi_probe.estimators.neural.critics import make_critic, pair_scores, sample_shifts
from tests._helpers import gaussian_pair

from ._common import RHO, SEEDS, TOL, N

needs_native = pytest.mark.skipif(
    _native.native_library() is None, reason="native library not built here"
)

# (estimator, keywords): every objective the kernel knows, through the public API
CASES = {
    "nwj": (nwj_mi, {}),
    "mine": (mine_mi, {}),
    "dv": (mine_mi, {"ema_decay": 0.0}),
    "js": (js_mi, {}),
    "smile": (smile_mi, {"critic": "joint"}),
    "infonce": (infonce_mi, {"critic": "joint", "batch_size": 32}),
}
SHORT = dict(max_steps=60, eval_every=20, patience=None, progress=False)


def _run(name: str, native: bool, monkeypatch: pytest.MonkeyPatch, seed: int = 0):
    fn, kw = CASES[name]
    x, y, _ = gaussian_pair(1500, 1, RHO, seed=seed)
    with monkeypatch.context() as m:
        if not native:
            m.setattr(_native_critic, "native_library", lambda: None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn(x, y, random_state=seed, **SHORT, **kw)


@needs_native
@pytest.mark.parametrize("name", list(CASES))
def test_kernel_trains_as_autograd_does(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _run(name, True, monkeypatch)
    slow = _run(name, False, monkeypatch)
    assert fast.diagnostics["engine"] == "native" and fast.backend == "native"
    assert slow.diagnostics["engine"] == "torch" and slow.backend == "torch"
    # same batches, shifts and initial weights; float32 rounding apart, the same
    # training curve (60 Adam steps) and the same held-out estimate (measured: within
    # 6e-5 nats for MINE, whose moving average compounds the rounding, 2e-6 for the rest)
    np.testing.assert_allclose(
        fast.diagnostics["curve"]["train"], slow.diagnostics["curve"]["train"], rtol=0, atol=2e-4
    )
    np.testing.assert_allclose(
        fast.diagnostics["curve"]["heldout"],
        slow.diagnostics["curve"]["heldout"],
        rtol=0,
        atol=2e-4,
    )
    assert fast.diagnostics["best_step"] == slow.diagnostics["best_step"]
    assert fast.value == pytest.approx(slow.value, abs=2e-4)


@needs_native
def test_kernel_is_seed_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    a = _run("mine", True, monkeypatch, seed=3)
    b = _run("mine", True, monkeypatch, seed=3)
    assert a.diagnostics["curve"] == b.diagnostics["curve"] and a.value == b.value


@needs_native
@pytest.mark.parametrize("name", ["nwj", "mine", "js"])
@pytest.mark.parametrize("seed", SEEDS)
def test_default_critic_on_the_gaussian(name: str, seed: int) -> None:
    # the defaults (joint critic of one hidden layer, trained by the kernel) on the
    # 2-D Gaussian, I = 0.4999 nats, within the neural tests' tolerance
    fn, kw = CASES[name]
    x, y, truth = gaussian_pair(N, 1, RHO, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = fn(x, y, random_state=seed, max_steps=300, progress=False, **kw)
    assert r.diagnostics["engine"] == "native"
    assert abs(r.value - truth) < TOL


@needs_native
def test_heldout_scores_match_the_module() -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        critic = make_critic("joint", 3, 2, hidden_dims=(21,))  # not a multiple of 16
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(40, 3, generator=g), torch.randn(40, 2, generator=g)
    trainer = _native_critic.NativeJointTrainer.create(critic, x, y, 0, 1e-3, None)
    assert trainer is not None
    blocks = [torch.arange(0, 10), torch.arange(10, 20)[torch.randperm(10, generator=g)]]
    shifts = [sample_shifts(10, 3, g), sample_shifts(10, 3, g)]
    pos, neg = trainer.heldout_scores(x, y, blocks, shifts)()
    with torch.no_grad():
        parts = [pair_scores(critic, x[i], y[i], s) for i, s in zip(blocks, shifts, strict=True)]
    torch.testing.assert_close(pos, torch.cat([p for p, _ in parts]), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(neg, torch.cat([q for _, q in parts]), rtol=1e-5, atol=1e-5)


def test_kernel_applies_only_where_it_can() -> None:
    x, y = torch.randn(20, 3), torch.randn(20, 2)
    two_layers = make_critic("joint", 3, 2, hidden_dims=(8, 8))
    separable = make_critic("separable", 3, 2, hidden_dims=(8,))
    one_layer = make_critic("joint", 3, 2, hidden_dims=(8,))
    create = _native_critic.NativeJointTrainer.create
    assert create(two_layers, x, y, 0, 1e-3, None) is None
    assert create(separable, x, y, 0, 1e-3, None) is None
    assert create(one_layer, x, y, None, 1e-3, None) is None  # an objective it lacks
    assert create(one_layer, x.double(), y.double(), 0, 1e-3, None) is None
    # the objective codes follow the bounds, MINE's moving average first
    assert _native_critic.objective_code(B.nwj_bound, 0.99) == _native_critic._MINE
    assert _native_critic.objective_code(B.smile_bound, None) is None


def test_two_layer_critic_trains_with_autograd() -> None:
    x, y, _ = gaussian_pair(600, 1, RHO, seed=0)
    r = nwj_mi(x, y, hidden_dims=(8, 8), random_state=0, max_steps=10, progress=False)
    assert r.diagnostics["engine"] == "torch"


def test_no_library_trains_with_autograd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_native_critic, "native_library", lambda: None)
    x, y, _ = gaussian_pair(600, 1, RHO, seed=0)
    r = nwj_mi(x, y, random_state=0, max_steps=10, progress=False)
    assert r.diagnostics["engine"] == "torch" and r.diagnostics["critic"] == "joint"


@needs_native
def test_self_check_catches_a_wrong_kernel() -> None:
    lib = _native.native_library()
    assert _native._check_joint(lib, np.random.default_rng(0))

    class Wrong:
        # right scores, but a training step that moves nothing
        mi_joint_scores = lib.mi_joint_scores

        @staticmethod
        def mi_joint_train(*args: object) -> int:
            return 0

    assert not _native._check_joint(Wrong(), np.random.default_rng(0))


@needs_native
def test_a_failed_allocation_is_a_memory_error() -> None:
    critic = make_critic("joint", 3, 2, hidden_dims=(8,))
    x, y = torch.randn(20, 3), torch.randn(20, 2)
    trainer = _native_critic.NativeJointTrainer.create(critic, x, y, 0, 1e-3, None)
    assert trainer is not None

    class OutOfMemory:
        # what the C entry points return when malloc fails
        @staticmethod
        def mi_joint_train(*args: object) -> int:
            return -1

        @staticmethod
        def mi_joint_scores(*args: object) -> int:
            return -1

    trainer._lib = OutOfMemory()
    rows = torch.arange(10)[None, :]
    with pytest.raises(MemoryError, match="native joint-critic kernel ran out of memory"):
        trainer.train(rows, [torch.tensor([1, 2])])
    score = trainer.heldout_scores(x, y, [torch.arange(10)], [torch.tensor([1, 2])])
    with pytest.raises(MemoryError, match="native joint-critic kernel ran out of memory"):
        score()
