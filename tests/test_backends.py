"""Backend parity: numpy, the native and scipy kd-trees and torch give the same
neighbours, counts and estimates.

All on float64 data, where they agree to 1e-9 (distances) and exactly (counts and
indices of untied continuous data). The native kd-tree is in the list wherever it builds
(it needs a C compiler; ``test_native_builds`` says so when it does not).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mi_probe.backends import native_available, pick
from mi_probe.estimators.ksg import kl_entropy, ksg_cmi, ksg_mi
from tests._helpers import gaussian_pair

NAMES = ("numpy", "kdtree", "torch") + (("native",) if native_available() else ())


def _points(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d))


@pytest.mark.parametrize("metric", ["max", "l2"])
@pytest.mark.parametrize("d", [1, 3, 7])
@pytest.mark.parametrize("seed", [0, 1])
def test_knn_parity(metric: str, d: int, seed: int) -> None:
    p = _points(700, d, seed)
    ref_d, ref_i = pick("numpy").knn(p, 4, metric)
    # brute-force truth for a few rows, independent of every backend
    for row in (0, 123, 699):
        diff = np.abs(p - p[row])
        dist = diff.max(axis=1) if metric == "max" else np.sqrt((diff**2).sum(axis=1))
        dist[row] = np.inf
        np.testing.assert_allclose(ref_d[row], np.sort(dist)[:4], rtol=0, atol=1e-12)
    for name in NAMES[1:]:
        dist, idx = pick(name).knn(p, 4, metric)
        dist, idx = np.asarray(dist), np.asarray(idx)
        assert dist.shape == idx.shape == (700, 4)
        np.testing.assert_allclose(dist, ref_d, rtol=0, atol=1e-9, err_msg=name)
        np.testing.assert_array_equal(idx, ref_i, err_msg=name)
        assert np.all(idx != np.arange(700)[:, None])  # never its own neighbour


@pytest.mark.parametrize("inclusive", [True, False])
@pytest.mark.parametrize("metric", ["max", "l2"])
@pytest.mark.parametrize("d", [1, 2, 5])
def test_count_within_parity(inclusive: bool, metric: str, d: int) -> None:
    p = _points(600, d, 7)
    r = np.random.default_rng(8).uniform(0.05, 1.0, 600)
    counts = {
        name: np.asarray(pick(name).count_within(p, r, metric, inclusive=inclusive))
        for name in NAMES
    }
    diff = np.abs(p[:, None, :] - p[None, :, :])
    dist = diff.max(axis=-1) if metric == "max" else np.sqrt((diff**2).sum(axis=-1))
    truth = ((dist <= r[:, None]) if inclusive else (dist < r[:, None])).sum(axis=1) - 1
    for name, c in counts.items():
        np.testing.assert_array_equal(c, truth, err_msg=name)


@pytest.mark.parametrize("metric", ["max", "l2"])
def test_count_at_knn_radius_boundary(metric: str) -> None:
    # the radius is the distance to the k-th neighbour: a strict count excludes it,
    # an inclusive one includes it, in every backend (this is what KSG relies on)
    p = _points(500, 3, 3)
    k = 3
    for name in NAMES:
        be = pick(name)
        dist, _ = be.knn(p, k, metric)
        eps = np.asarray(dist)[:, -1]
        strict = np.asarray(be.count_within(p, eps, metric, inclusive=False))
        incl = np.asarray(be.count_within(p, eps, metric, inclusive=True))
        np.testing.assert_array_equal(strict, k - 1, err_msg=name)
        np.testing.assert_array_equal(incl, k, err_msg=name)


def test_torch_tensor_in_tensor_out() -> None:
    p = torch.from_numpy(_points(300, 2, 0))
    be = pick("torch")
    dist, idx = be.knn(p, 3, "max")
    assert isinstance(dist, torch.Tensor) and dist.dtype == torch.float64
    counts = be.count_within(p, dist[:, -1], "max", inclusive=True)
    assert isinstance(counts, torch.Tensor)
    assert torch.all(counts == 3)


def test_torch_chunks_bound_memory() -> None:
    # a tiny chunk budget forces many chunks; the numbers must not change
    from mi_probe.backends._torch import TorchBackend

    p = _points(400, 3, 2)
    small = TorchBackend(max_elements=1000)
    big = TorchBackend()
    np.testing.assert_array_equal(small.knn(p, 3, "max")[1], big.knn(p, 3, "max")[1])
    r = np.full(400, 0.5)
    np.testing.assert_array_equal(
        small.count_within(p, r, "l2", inclusive=False),
        big.count_within(p, r, "l2", inclusive=False),
    )


@pytest.mark.parametrize("algorithm", [1, 2])
@pytest.mark.parametrize("metric", ["max", "l2"])
@pytest.mark.parametrize("d", [1, 3])
def test_ksg_parity(algorithm: int, metric: str, d: int) -> None:
    x, y, _ = gaussian_pair(800, d, 0.6, 4)
    vals = [
        ksg_mi(x, y, algorithm=algorithm, metric=metric, backend=name, random_state=0)
        for name in NAMES
    ]
    assert [v.backend for v in vals] == list(NAMES)
    raw = [v.diagnostics["raw_value"] for v in vals]
    np.testing.assert_allclose(raw, raw[0], rtol=0, atol=1e-9)


def test_ksg_gao_and_kl_and_cmi_parity() -> None:
    g = np.random.default_rng(5)
    xd = g.integers(0, 4, 600).astype(float)
    y = xd + g.standard_normal(600)
    z = g.standard_normal((600, 2))
    for fn in (
        lambda b: ksg_mi(xd, y, ties="gao", backend=b),
        lambda b: kl_entropy(z, backend=b, random_state=1),
        lambda b: kl_entropy(z, metric="l2", backend=b, random_state=1),
        lambda b: ksg_cmi(y, z[:, 0], z[:, 1], backend=b, random_state=1),
    ):
        raw = [fn(name).diagnostics["raw_value"] for name in NAMES]
        np.testing.assert_allclose(raw, raw[0], rtol=0, atol=1e-9)


def test_pick_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    from mi_probe.backends import _native

    if native_available():
        assert pick("auto", _points(10, 3, 0)).name == "native"
        assert pick("auto", _points(10, 40, 0)).name == "native"
    # without the native kd-tree: scipy's up to 20 dimensions, chunked torch above
    monkeypatch.setitem(_native._STATE, "lib", None)
    monkeypatch.setitem(_native._STATE, "why", "test")
    assert pick("auto", _points(10, 3, 0)).name == "kdtree"
    assert pick("auto", _points(10, 40, 0)).name == "torch"
    with pytest.raises(ValueError, match="backend='native' is not available here: test"):
        pick("native")
    be = pick("numpy")
    assert pick(be) is be


def test_pick_bad_name() -> None:
    with pytest.raises(ValueError, match="backend must be one of .*got 'cuda'"):
        pick("cuda")


@pytest.mark.parametrize("metric", ["max", "l2"])
@pytest.mark.parametrize("d", [2, 9])
def test_native_threads_and_leaf_sizes_agree(
    metric: str, d: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # several threads (used from 8192 points on) and any leaf size give the same answer
    if not native_available():
        pytest.skip("native kd-tree not available")
    from mi_probe.backends import _native

    p = _points(1500, d, 11)
    p[10] = p[20]  # a duplicated point
    r = np.random.default_rng(12).uniform(0.1, 1.5, 1500)
    ref = _native.NativeBackend(workers=1, leafsize=1)
    ref_knn = ref.knn(p, 3, metric)
    ref_cnt = ref.count_within(p, r, metric, inclusive=True)
    monkeypatch.setattr(_native, "_MIN_PARALLEL", 100)
    for leafsize in (None, 7, 2000):
        be = _native.NativeBackend(workers=3, leafsize=leafsize)
        dist, idx = be.knn(p, 3, metric)
        np.testing.assert_array_equal(dist, ref_knn[0])
        assert np.all(idx != np.arange(1500)[:, None])
        np.testing.assert_array_equal(be.count_within(p, r, metric, inclusive=True), ref_cnt)


@pytest.mark.parametrize("metric", ["max", "l2"])
def test_kdtree_threaded_path_matches(metric: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the thread pool (used from 8192 points on) must give the single-thread numbers
    from mi_probe.backends import _kdtree

    p = _points(1500, 4, 9)
    r = np.random.default_rng(10).uniform(0.1, 0.8, 1500)
    one = _kdtree.KDTreeBackend(workers=1)
    ref_knn = one.knn(p, 3, metric)
    ref_cnt = one.count_within(p, r, metric, inclusive=False)
    monkeypatch.setattr(_kdtree, "_MIN_PARALLEL", 100)
    two = _kdtree.KDTreeBackend(workers=2)
    knn = two.knn(p, 3, metric)
    np.testing.assert_array_equal(knn[1], ref_knn[1])
    np.testing.assert_array_equal(knn[0], ref_knn[0])
    np.testing.assert_array_equal(two.count_within(p, r, metric, inclusive=False), ref_cnt)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_max_norm_by_columns_equals_cdist_exactly(dtype):
    """The CUDA path's column-by-column max-norm gives cdist(p=inf) bit for bit (run here
    on CPU tensors; tests/test_gpu.py checks the backend on a GPU)."""
    from mi_probe.backends._torch import max_norm_by_columns

    g = torch.Generator().manual_seed(0)
    a = torch.randn(70, 7, generator=g, dtype=dtype)
    b = torch.randn(90, 7, generator=g, dtype=dtype)
    ref = torch.cdist(a, b, p=float("inf"), compute_mode="donot_use_mm_for_euclid_dist")
    assert torch.equal(max_norm_by_columns(a, b), ref)
    one = a[:, :1].contiguous()
    assert torch.equal(max_norm_by_columns(one, one), (one - one.T).abs())
