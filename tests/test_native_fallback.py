"""The pure-Python fallback, forced the way a user forces it (``MI_PROBE_NATIVE=0``).

tests/test_native.py checks each failure path of the compiled library in this process
(by resetting its state); tests/estimators/neural/test_native_critic.py checks the joint
critic with the library patched away. What neither does is run the estimators in a fresh
process whose environment switches the library off from the start, so that every import
and every ``backend="auto"`` choice goes down the fallback path. This module does: a
subprocess with ``MI_PROBE_NATIVE=0`` computes a few estimates through the public API,
and they must agree with the same estimates on the native path in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from typing import Any

import pytest

from mi_probe.backends import _native
from tests._helpers import ROOT, gaussian_pair

# Neural fits: 60 Adam steps, float32. The compiled kernel and autograd round differently
# (tests/estimators/neural/test_native_critic.py measured <= 6e-5 nats apart for MINE,
# 2e-6 for the rest); a different thread count in the subprocess can add as much again.
NEURAL_TOL = 2e-4
# kNN and kernel estimates: the same neighbours and the same float64 sums, so the same
# numbers up to summation order.
EXACT_TOL = 1e-10
_NEURAL = dict(max_steps=60, eval_every=20, patience=None, progress=False, random_state=0)


def _estimates() -> dict[str, Any]:
    """KSG (both algorithms), KL entropy, the KDE plug-in and noisy-layer bound, Ross's
    mixed estimator and two joint-critic neural bounds, each as (value, backend/engine)."""
    import mi_probe
    from mi_probe.estimators.kde import noisy_layer_mi
    from mi_probe.estimators.mixed import mixed_mi
    from mi_probe.estimators.neural import mine_mi, nwj_mi

    x, y, _ = gaussian_pair(2000, 3, 0.6, seed=11)
    labels = (y[:, 0] > 0).astype(int)
    out: dict[str, Any] = {"status": _native.native_status()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for algorithm in (1, 2):
            r = mi_probe.estimate_mi(x, y, "ksg", algorithm=algorithm, random_state=3)
            out[f"ksg{algorithm}"] = (r.diagnostics["raw_value"], r.backend)
        r = mi_probe.entropy(x, estimator="kl", random_state=3)
        out["kl"] = (r.value, r.backend)
        r = mi_probe.estimate_mi(x[:800], y[:800], "kde")
        out["kde"] = (r.diagnostics.get("raw_value", r.value), r.backend)
        r = noisy_layer_mi(x[:800], y[:800], noise_variance=0.1)
        out["noisy_layer"] = (r.value, r.backend)
        r = mixed_mi(x, labels, random_state=3)
        out["mixed"] = (r.diagnostics.get("raw_value", r.value), r.backend)
        xs, ys = x[:1500, :1], y[:1500, :1]
        for name, fn in (("nwj", nwj_mi), ("mine", mine_mi)):
            r = fn(xs, ys, **_NEURAL)
            out[name] = (r.value, r.diagnostics["engine"])
    return out


@pytest.fixture(scope="module")
def fallback() -> dict[str, Any]:
    """The estimates from a fresh process with ``MI_PROBE_NATIVE=0``."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from tests.test_native_fallback import _estimates; "
            "print(json.dumps(_estimates()))",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=dict(os.environ, MI_PROBE_NATIVE="0", OMP_NUM_THREADS="1"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_fallback_process_does_not_use_the_library(fallback: dict[str, Any]) -> None:
    assert fallback["status"] == "turned off by MI_PROBE_NATIVE=0"
    for key in ("ksg1", "ksg2", "kl", "mixed"):
        assert fallback[key][1] == "kdtree", key
    for key in ("kde", "noisy_layer"):
        assert fallback[key][1] != "native", key
    assert fallback["nwj"][1] == "torch" and fallback["mine"][1] == "torch"


def test_fallback_agrees_with_the_native_path(fallback: dict[str, Any]) -> None:
    if not _native.native_available():
        pytest.skip(f"no native library to compare with: {_native.native_status()}")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        native = _estimates()
    finally:
        torch.set_num_threads(threads)
    assert native["status"] == "ok"
    assert native["ksg1"][1] == "native" and native["nwj"][1] == "native"
    for key in ("ksg1", "ksg2", "kl", "kde", "noisy_layer", "mixed"):
        assert fallback[key][0] == pytest.approx(native[key][0], rel=0, abs=EXACT_TOL), key
    for key in ("nwj", "mine"):
        assert fallback[key][0] == pytest.approx(native[key][0], rel=0, abs=NEURAL_TOL), key
