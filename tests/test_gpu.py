"""CUDA checks: KeOps vs torch on GPU tensors, KSG on GPU vs the CPU result, pick("auto").

Marked ``gpu``: skipped unless ``--run-gpu`` is given and a CUDA device is present.
Run on a GPU machine with ``pytest -q --run-gpu tests/test_gpu.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mi_probe._deps import has
from mi_probe.backends import pick
from mi_probe.backends._torch import TorchBackend
from tests._helpers import gaussian_pair

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="gpu: no CUDA device here"),
]

SEEDS = (0, 1)
N = 4000


@pytest.fixture(scope="module")
def kb():
    if not has("pykeops"):
        pytest.skip("pykeops is not installed (pip install 'mi-probe[keops]')")
    from mi_probe.backends._keops import KeOpsBackend

    return KeOpsBackend(device="cuda")


def test_keops_health_passes_on_cuda():
    """The health check (with the compiler fix of issue 8) must pass on a CUDA machine."""
    if not has("pykeops"):
        pytest.skip("pykeops is not installed")
    from mi_probe.backends._health import keops_health

    v = keops_health(warn=False)
    assert v.ok, v.detail
    assert "cuda=1" in v.key


def test_auto_picks_keops_on_cuda_when_healthy():
    x = torch.randn(100, 3, device="cuda")
    be = pick("auto", x)
    if has("pykeops"):
        from mi_probe.backends._health import keops_healthy

        assert be.name == ("keops" if keops_healthy() else "torch")
    else:
        assert be.name == "torch"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("metric", ["max", "l2"])
@pytest.mark.parametrize("seed", SEEDS)
def test_knn_parity_cuda(kb, dtype, metric, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, 5, generator=g, dtype=dtype).cuda()
    dk, ik = kb.knn(x, 4, metric)
    dt, it = TorchBackend().knn(x, 4, metric)
    assert dk.is_cuda and ik.is_cuda and dk.dtype == dtype
    rtol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(dk, dt, rtol=rtol, atol=rtol)
    if metric == "max" or dtype == torch.float64:
        assert bool((ik == it).all())  # exact arithmetic in both: same neighbours
    else:  # float32 sums of squares in another order: near-ties may swap
        assert float((ik == it).float().mean()) > 0.999


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("metric", ["max", "l2"])
@pytest.mark.parametrize("inclusive", [True, False])
def test_count_parity_cuda(kb, dtype, metric, inclusive):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(N, 5, generator=g, dtype=dtype).cuda()
    r = TorchBackend().knn(x, 3, metric)[0][:, -1]
    ck = kb.count_within(x, r, metric, inclusive=inclusive)
    assert ck.is_cuda and ck.dtype == torch.int64
    # on the k-NN radius the answer is known exactly
    assert bool((ck == (3 if inclusive else 2)).all())
    r2 = torch.rand(N, generator=g, dtype=dtype).cuda() * 2
    ct = TorchBackend().count_within(x, r2, metric, inclusive=inclusive)
    ck = kb.count_within(x, r2, metric, inclusive=inclusive)
    if metric == "max" or dtype == torch.float64:
        assert bool((ck == ct).all())
    else:  # a pair within a few float32 ulps of a random radius may count differently
        diff = (ck - ct).abs()
        assert int(diff.max()) <= 1 and float((diff > 0).float().mean()) < 2e-3


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_logsumexp_parity_cuda(kb, dtype):
    g = torch.Generator().manual_seed(5)
    q = torch.randn(N, 5, generator=g, dtype=dtype).cuda()
    p = torch.randn(N, 5, generator=g, dtype=dtype).cuda()
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    for v in (0.1, 2.0):
        torch.testing.assert_close(
            kb.gaussian_logsumexp(q, p, v),
            TorchBackend().gaussian_logsumexp(q, p, v),
            rtol=tol,
            atol=tol,
        )


def test_torch_backend_cuda_matches_cpu():
    x = np.random.default_rng(0).standard_normal((N, 4))
    xc = torch.from_numpy(x).cuda()
    for metric in ("max", "l2"):
        dc, ic = TorchBackend().knn(xc, 3, metric)
        dn, inn = TorchBackend().knn(x, 3, metric)
        np.testing.assert_allclose(dc.cpu().numpy(), dn, rtol=1e-12)
        np.testing.assert_array_equal(ic.cpu().numpy(), inn)
        cc = TorchBackend().count_within(xc, dc[:, -1], metric, inclusive=False)
        np.testing.assert_array_equal(cc.cpu().numpy(), 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_ksg_on_gpu_matches_cpu(seed):
    """KSG through CUDA backends gives the CPU (kd-tree) number, on numpy and CUDA input."""
    from mi_probe.estimators.ksg import ksg_mi

    x, y, truth = gaussian_pair(3000, 2, 0.6, seed)
    cpu = float(ksg_mi(x, y, random_state=seed))
    xc, yc = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
    backends = [TorchBackend(device="cuda")]
    if has("pykeops"):
        from mi_probe.backends._health import keops_healthy
        from mi_probe.backends._keops import KeOpsBackend

        if keops_healthy():
            backends.append(KeOpsBackend(device="cuda"))
    for be in backends:
        for a, b in ((x, y), (xc, yc)):
            r = ksg_mi(a, b, backend=be, random_state=seed)
            assert float(r) == pytest.approx(cpu, abs=1e-9), be.name
    assert abs(cpu - truth) < 0.1  # KSG at n=3000, 2+2 dims, truth 0.446 nats


def test_ksg_float32_gpu_composition_close_to_cpu(kb):
    """KSG algorithm 1 composed from fp32 KeOps primitives on the GPU (the benchmark's
    path) is within 0.01 nats of the float64 CPU estimate."""
    from scipy.special import digamma

    from mi_probe.estimators.ksg import ksg_mi

    for seed in SEEDS:
        x, y, _ = gaussian_pair(N, 2, 0.6, seed)
        cpu = float(ksg_mi(x, y, standardize=False, jitter=0.0, ties="jitter"))
        xc = torch.from_numpy(x).float().cuda()
        yc = torch.from_numpy(y).float().cuda()
        dist, _ = kb.knn(torch.cat([xc, yc], 1), 3, "max")
        eps = dist[:, -1]
        nx = kb.count_within(xc, eps, "max", inclusive=False).cpu().numpy()
        ny = kb.count_within(yc, eps, "max", inclusive=False).cpu().numpy()
        est = digamma(3) + digamma(N) - np.mean(digamma(nx + 1) + digamma(ny + 1))
        assert abs(est - cpu) < 0.01


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_ksg_cuda_input_stays_on_the_device(dtype):
    """CUDA tensors take the device path end to end (one fused count pass with KeOps) and
    give the host number: to 1e-9 nats in float64, 0.01 in float32."""
    from mi_probe.estimators.ksg import ksg_mi

    x, y, truth = gaussian_pair(N, 3, 0.6, 0)
    host = float(ksg_mi(x, y, random_state=0))
    r = ksg_mi(torch.from_numpy(x).to("cuda", dtype), torch.from_numpy(y).to("cuda", dtype))
    assert r.diagnostics["device"].startswith("cuda")
    assert r.backend in ("keops", "torch")
    assert float(r) == pytest.approx(host, abs=1e-9 if dtype == torch.float64 else 0.01)
    assert abs(host - truth) < 0.1


def test_kde_entropy_cuda_matches_cpu():
    """The KDE entropy of a CUDA tensor is whitened and summed on the device, same number."""
    from mi_probe.estimators.kde import kde_entropy

    x = np.random.default_rng(1).standard_normal((N, 6))
    cpu = kde_entropy(x)
    gpu = kde_entropy(torch.from_numpy(x).cuda())
    assert gpu.backend in ("keops", "torch")
    assert float(gpu) == pytest.approx(float(cpu), abs=1e-8)
