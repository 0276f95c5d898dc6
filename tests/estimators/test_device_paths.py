"""The device paths of KSG (mi_probe.estimators._ksg_device) and of the KDE whitening,
run here on CPU tensors: the same passes that run on a GPU, checked against the host path
and the Gaussian truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mi_probe.estimators._ksg_device import ksg_device_applies, ksg_mi_device
from mi_probe.estimators.ksg import ksg_mi
from tests._helpers import gaussian_pair

PARAMS = dict(
    n_neighbors=3,
    algorithm=1,
    metric="max",
    standardize=True,
    jitter=1e-10,
    ties="auto",
    random_state=0,
)


@pytest.mark.parametrize("seed", [0, 1])
def test_device_path_equals_host_path(seed):
    x, y, truth = gaussian_pair(2000, 3, 0.6, seed)
    host = float(ksg_mi(x, y, random_state=seed))
    r = ksg_mi_device(
        torch.from_numpy(x), torch.from_numpy(y), params=dict(PARAMS, backend="torch")
    )
    assert r is not None and r.backend == "torch" and r.diagnostics["device"] == "cpu"
    assert float(r) == pytest.approx(host, abs=1e-9)  # float64: the same counts
    assert abs(float(r) - truth) < 0.1  # KSG at n = 2000, 3 + 3 dims (truth 0.669 nats)
    r32 = ksg_mi_device(
        torch.from_numpy(x).float(),
        torch.from_numpy(y).float(),
        params=dict(PARAMS, backend="torch"),
    )
    assert float(r32) == pytest.approx(host, abs=0.01)


def test_device_path_is_scale_free():
    """Standardising first divides by each column's largest magnitude: no overflow."""
    x, y, _ = gaussian_pair(1000, 2, 0.6, 0)
    base = ksg_mi_device(
        torch.from_numpy(x), torch.from_numpy(y), params=dict(PARAMS, backend="torch")
    )
    for c in (1e-200, 1e200):
        r = ksg_mi_device(
            torch.from_numpy(x * c), torch.from_numpy(y), params=dict(PARAMS, backend="torch")
        )
        assert float(r) == pytest.approx(float(base), abs=1e-6)


def test_repeated_rows_go_to_the_host_rule():
    codes = np.repeat(np.arange(4.0), 50)[:, None]
    t = torch.from_numpy(codes)
    assert ksg_mi_device(t, t, params=dict(PARAMS, backend="torch")) is None
    # ties="jitter" asks for the jitter, which the device path applies itself
    r = ksg_mi_device(t, t, params=dict(PARAMS, backend="torch", ties="jitter"))
    assert r is not None and r.diagnostics["ties"] == "jitter"


def test_only_cuda_tensors_take_the_device_path():
    x = torch.zeros(10, 2)
    assert not ksg_device_applies(x, x, "auto")
    assert not ksg_device_applies(x.numpy(), x.numpy(), "auto")


def test_too_few_samples_named():
    x = torch.randn(3, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="n_neighbors=3 needs more than 3 samples"):
        ksg_mi_device(x, x, params=dict(PARAMS, backend="torch"))


@pytest.mark.keops
@pytest.mark.slow
def test_fused_keops_counts_equal_torch_counts():
    """One KeOps pass for both marginal counts gives the torch backend's two passes."""
    pytest.importorskip("pykeops")
    from mi_probe.backends._health import keops_healthy

    if not keops_healthy():
        pytest.skip("KeOps failed its health check here")
    x, y, _ = gaussian_pair(1500, 3, 0.6, 2)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    a = ksg_mi_device(xt, yt, params=dict(PARAMS, backend="keops"))
    b = ksg_mi_device(xt, yt, params=dict(PARAMS, backend="torch"))
    assert a.diagnostics["passes"].startswith("keops") and a.backend == "keops"
    assert float(a) == pytest.approx(float(b), abs=1e-12)


def test_kde_device_whitening_equals_host_whitening():
    """The KDE entropy's whitening of a CUDA tensor (float64 Cholesky, one GEMM), run
    here on a CPU tensor, gives the host's numpy whitening."""
    from mi_probe.estimators.kde import _whiten, _whiten_device

    g = np.random.default_rng(0)
    x = g.standard_normal((400, 4)) @ g.standard_normal((4, 4))
    z_host, logdet_host = _whiten(x, "x")
    z_dev, logdet_dev = _whiten_device(torch.from_numpy(x), "x")
    np.testing.assert_allclose(z_dev.numpy(), z_host, atol=1e-10)
    assert logdet_dev == pytest.approx(logdet_host, abs=1e-10)
    with pytest.raises(ValueError, match="x has a singular covariance"):
        _whiten_device(torch.from_numpy(np.c_[x, x[:, :1]]), "x")
    # any finite scale: the whitened data are the same, log det L moves by d log c
    for c in (1e-200, 1e200):
        z_c, logdet_c = _whiten_device(torch.from_numpy(x * c), "x")
        np.testing.assert_allclose(z_c.numpy(), z_host, atol=1e-9)
        assert logdet_c == pytest.approx(logdet_host + 4 * np.log(c), rel=1e-12)


def test_estimate_mi_hands_tensors_to_the_device_path(monkeypatch):
    """The public entry point reaches the device path with the tensors themselves (forced
    here on CPU tensors, where any backend's counts are accepted) and gives the host number."""
    import mi_probe
    from mi_probe.estimators import ksg as ksg_module

    x, y, _ = gaussian_pair(300, 2, 0.6, 4)
    host = float(mi_probe.estimate_mi(x, y, "ksg", random_state=0))
    monkeypatch.setattr(ksg_module, "ksg_device_applies", lambda *args: True)
    r = mi_probe.estimate_mi(torch.from_numpy(x), torch.from_numpy(y), "ksg", random_state=0)
    assert r.diagnostics["device"] == "cpu"
    assert float(r) == pytest.approx(host, abs=1e-9)
