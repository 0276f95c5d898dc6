"""KeOps backend: parity with the torch backend on the CPU, and its health machinery.

The parity tests need pykeops (the ``keops`` extra) and skip, saying why, without it or
when its health check fails. The health check and the compiler-trap detection are tested
everywhere with fakes (no pykeops needed).
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from mi_probe._deps import has
from mi_probe.backends import _health, pick
from mi_probe.backends._torch import TorchBackend

SEEDS = (0, 1, 2)

# ------------------------------------------------------------------ compiler trap (fakes)

SYS_LIB = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"
SYS_REAL = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.33"
OPT_LIB = "/opt/gcc/lib64/libstdc++.so.6"
OPT_REAL = "/opt/gcc/lib64/libstdc++.so.6.0.34"

MAPS = f"""\
7f0000000000-7f0000001000 r-xp 00000000 08:01 123 /usr/bin/python3.12
7f0000002000-7f0000003000 r--p 00000000 08:01 456 {SYS_REAL}
7f0000004000-7f0000005000 rw-p 00000000 00:00 0
7f0000006000-7f0000007000 r-xp 00000000 08:01 789 /usr/lib/x86_64-linux-gnu/libc.so.6
"""


def fake_realpath(p: str) -> str:
    return {SYS_LIB: SYS_REAL, OPT_LIB: OPT_REAL}.get(p, p)


def fake_which(present: dict[str, str]):
    return lambda name: present.get(name)


def fake_lib_of(libs: dict[str, str | None]):
    return lambda cxx: libs.get(cxx)


# the machine of issue 8: CXX=/opt/gcc/bin/g++ (newer libstdc++), system g++ matches
TRAP_WHICH = fake_which(
    {
        "/opt/gcc/bin/g++": "/opt/gcc/bin/g++",
        "/usr/bin/g++": "/usr/bin/g++",
        "g++": "/usr/bin/g++",
    }
)
TRAP_LIBS = fake_lib_of({"/opt/gcc/bin/g++": OPT_LIB, "/usr/bin/g++": SYS_LIB})


def test_loaded_libstdcxx_parses_maps():
    assert _health.loaded_libstdcxx(MAPS) == SYS_REAL
    assert _health.loaded_libstdcxx("7f-7f r-xp 0 0:0 1 /usr/lib/libc.so.6\n") is None
    # this very process: torch is imported, so a libstdc++ is loaded on Linux
    if sys.platform.startswith("linux"):
        assert "libstdc++" in (_health.loaded_libstdcxx() or "")


def test_compiler_libstdcxx_reads_print_file_name():
    def run_ok(cmd, **kw):
        assert cmd[1] == "-print-file-name=libstdc++.so.6"
        return subprocess.CompletedProcess(cmd, 0, stdout=OPT_LIB + "\n", stderr="")

    def run_bare(cmd, **kw):  # the compiler does not know the file
        return subprocess.CompletedProcess(cmd, 0, stdout="libstdc++.so.6\n", stderr="")

    def run_fail(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1, stdout="", stderr="boom")

    def run_missing(cmd, **kw):
        raise FileNotFoundError(cmd[0])

    assert _health.compiler_libstdcxx("/opt/gcc/bin/g++", run=run_ok) == OPT_LIB
    assert _health.compiler_libstdcxx("g++", run=run_bare) is None
    assert _health.compiler_libstdcxx("g++", run=run_fail) is None
    assert _health.compiler_libstdcxx("nope", run=run_missing) is None


def test_same_libstdcxx():
    assert _health.same_libstdcxx(SYS_LIB, SYS_REAL, fake_realpath)
    assert not _health.same_libstdcxx(OPT_LIB, SYS_REAL, fake_realpath)
    # the same version copied elsewhere (conda) counts as the same library
    assert _health.same_libstdcxx("/conda/lib/libstdc++.so.6.0.33", SYS_REAL, fake_realpath)


def test_choose_compiler_detects_the_trap_and_prefers_system_gxx():
    env = {"CXX": "/opt/gcc/bin/g++"}
    c = _health.choose_compiler(
        env, loaded=SYS_REAL, lib_of=TRAP_LIBS, which=TRAP_WHICH, realpath=fake_realpath
    )
    assert c.changed and c.cxx == "/usr/bin/g++"
    assert "/opt/gcc/bin/g++" in c.reason and SYS_REAL in c.reason


def test_choose_compiler_keeps_a_matching_compiler():
    for env in ({"CXX": "/usr/bin/g++"}, {}):
        c = _health.choose_compiler(
            env, loaded=SYS_REAL, lib_of=TRAP_LIBS, which=TRAP_WHICH, realpath=fake_realpath
        )
        assert not c.changed and c.cxx is None


def test_choose_compiler_no_matching_fallback():
    which = fake_which({"/opt/gcc/bin/g++": "/opt/gcc/bin/g++"})
    c = _health.choose_compiler(
        {"CXX": "/opt/gcc/bin/g++"},
        loaded=SYS_REAL,
        lib_of=TRAP_LIBS,
        which=which,
        realpath=fake_realpath,
    )
    assert not c.changed and c.cxx is None and "MI_PROBE_KEOPS_CXX" in c.reason


def test_choose_compiler_overrides_and_unknowns():
    kw = dict(lib_of=TRAP_LIBS, which=TRAP_WHICH, realpath=fake_realpath)
    forced = _health.choose_compiler(
        {"CXX": "/opt/gcc/bin/g++", "MI_PROBE_KEOPS_CXX": "/my/g++"}, loaded=SYS_REAL, **kw
    )
    assert forced.changed and forced.cxx == "/my/g++"
    off = _health.choose_compiler(
        {"CXX": "/opt/gcc/bin/g++", "MI_PROBE_KEOPS_NO_CXX_FIX": "1"}, loaded=SYS_REAL, **kw
    )
    assert not off.changed
    missing = _health.choose_compiler({"CXX": "/not/there"}, loaded=SYS_REAL, **kw)
    assert not missing.changed and "not found" in missing.reason
    nothing_loaded = _health.choose_compiler({"CXX": "/opt/gcc/bin/g++"}, loaded=None, **kw)
    assert not nothing_loaded.changed


@pytest.fixture
def fresh_health(monkeypatch, tmp_path):
    """Isolated health state: empty in-process verdicts, a private disk cache."""
    _health._reset_for_tests()
    monkeypatch.setenv("MI_PROBE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("MI_PROBE_KEOPS_RECHECK", raising=False)
    yield tmp_path
    _health._reset_for_tests()


def test_configure_compiler_sets_cxx_and_a_separate_cache(monkeypatch, fresh_health):
    monkeypatch.setattr(_health, "loaded_libstdcxx", lambda maps_text=None: SYS_REAL)
    monkeypatch.setattr(
        _health,
        "choose_compiler",
        lambda env, loaded: _health.CompilerChoice("/usr/bin/g++", True, "fake trap"),
    )
    monkeypatch.delitem(sys.modules, "keopscore", raising=False)
    env = {"CXX": "/opt/gcc/bin/g++"}
    c = _health.configure_compiler(env)
    assert c.changed and env["CXX"] == "/usr/bin/g++"
    assert "-cxx-" in env["KEOPS_CACHE_FOLDER"]
    # once per process: a second call returns the same choice and changes nothing
    env2: dict[str, str] = {}
    assert _health.configure_compiler(env2) is c and env2 == {}


def test_configure_compiler_too_late_once_keopscore_is_imported(monkeypatch, fresh_health):
    monkeypatch.setattr(
        _health,
        "choose_compiler",
        lambda env, loaded: _health.CompilerChoice("/usr/bin/g++", True, "fake trap"),
    )
    monkeypatch.setitem(sys.modules, "keopscore", object())
    env = {"CXX": "/opt/gcc/bin/g++"}
    c = _health.configure_compiler(env)
    assert not c.changed and "too late" in c.reason and env["CXX"] == "/opt/gcc/bin/g++"


# ----------------------------------------------------------------- health check (fakes)


def test_probe_that_segfaults_does_not_crash_us():
    probe = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    ok, detail, cacheable = _health.run_probe("cpu", timeout=60, probe=probe)
    assert not ok and cacheable and "SIGSEGV" in detail


def test_probe_timeout_is_not_cached():
    ok, detail, cacheable = _health.run_probe("cpu", timeout=1, probe="import time; time.sleep(30)")
    assert not ok and not cacheable and "longer than" in detail


def test_probe_success_needs_the_mark():
    ok, _, _ = _health.run_probe("cpu", timeout=60, probe=f"print({_health._OK_MARK!r})")
    assert ok
    ok, detail, _ = _health.run_probe("cpu", timeout=60, probe="raise SystemExit(3)")
    assert not ok and "status 3" in detail


def test_verdict_cached_in_process_and_on_disk(monkeypatch, fresh_health):
    calls = []

    def fake_probe(device, *, timeout, env=None):
        if env is None:  # retries with the system compiler are not counted here
            calls.append(device)
        return False, "the KeOps probe crashed with signal SIGSEGV", True

    monkeypatch.setattr(_health, "run_probe", fake_probe)
    monkeypatch.setattr(_health, "_pykeops_version", lambda: "9.9")
    monkeypatch.setattr(
        _health, "configure_compiler", lambda: _health.CompilerChoice(None, False, "fake")
    )
    with pytest.warns(RuntimeWarning, match="unusable here.*SIGSEGV"):
        assert _health.keops_healthy() is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning per process, not one per call
        assert _health.keops_healthy() is False
    assert len(calls) == 1
    assert (fresh_health / "keops_health.json").exists()

    _health._VERDICT = None  # a new process: the verdict comes from disk
    v = _health.keops_health(warn=False)
    assert v.cached and not v.ok and len(calls) == 1 and "pykeops=9.9" in v.key

    monkeypatch.setenv("MI_PROBE_KEOPS_RECHECK", "1")
    _health._VERDICT = None
    assert not _health.keops_health(warn=False).cached and len(calls) == 2

    monkeypatch.delenv("MI_PROBE_KEOPS_RECHECK")
    monkeypatch.setenv("CXX", "/some/other/g++")  # another compiler: another key
    _health._VERDICT = None
    assert not _health.keops_health(warn=False).cached and len(calls) == 3


def test_crash_is_retried_with_the_system_compiler(monkeypatch, fresh_health, tmp_path):
    # the GPU machine's case: /opt/gcc/bin/g++ passes the libstdc++ check, yet KeOps
    # crashes; /usr/bin/g++ works. The verdict says so and the process switches CXX.
    import sys

    seen = []

    def fake_probe(device, *, timeout, env=None):
        seen.append(None if env is None else env["CXX"])
        if env is not None and env["CXX"] == "/usr/bin/g++":
            return True, "ok", True
        return False, "the KeOps probe crashed with signal SIGSEGV", True

    monkeypatch.setattr(_health, "run_probe", fake_probe)
    monkeypatch.setattr(_health, "_pykeops_version", lambda: "9.9")
    monkeypatch.setattr(
        _health, "configure_compiler", lambda: _health.CompilerChoice(None, False, "fake")
    )
    monkeypatch.setattr(_health.os.path, "exists", lambda p: p == "/usr/bin/g++")
    monkeypatch.setattr(_health.shutil, "which", lambda c: c if c.startswith("/") else None)
    monkeypatch.delitem(sys.modules, "keopscore", raising=False)
    monkeypatch.setenv("CXX", "/opt/gcc/bin/g++")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KEOPS_CACHE_FOLDER", "unset-by-teardown")  # restored afterwards
    monkeypatch.delenv("KEOPS_CACHE_FOLDER")
    v = _health.keops_health(warn=False)
    assert v.ok and "CXX=/usr/bin/g++" in v.detail and "crashed with /opt/gcc/bin/g++" in v.detail
    assert seen == [None, "/usr/bin/g++"]
    assert _health.os.environ["CXX"] == "/usr/bin/g++"
    assert "keops" in _health.os.environ["KEOPS_CACHE_FOLDER"]
    # a new process reads the verdict and the working compiler from disk
    _health._VERDICT = None
    monkeypatch.setenv("CXX", "/opt/gcc/bin/g++")
    v2 = _health.keops_health(warn=False)
    assert v2.cached and v2.ok and _health.os.environ["CXX"] == "/usr/bin/g++"
    assert seen == [None, "/usr/bin/g++"]


def test_timeout_verdict_not_written_to_disk(monkeypatch, fresh_health):
    monkeypatch.setattr(_health, "run_probe", lambda d, *, timeout: (False, "slow", False))
    monkeypatch.setattr(_health, "_pykeops_version", lambda: "9.9")
    monkeypatch.setattr(
        _health, "configure_compiler", lambda: _health.CompilerChoice(None, False, "fake")
    )
    assert not _health.keops_health(warn=False).ok
    assert not (fresh_health / "keops_health.json").exists()


def test_not_installed_is_false_without_warning(monkeypatch, fresh_health):
    monkeypatch.setattr(_health, "_pykeops_version", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _health.keops_healthy() is False


def test_pick_falls_back_to_torch_when_unhealthy(monkeypatch, fresh_health):
    if not has("pykeops"):
        pytest.skip("pykeops not installed: pick('keops') raises ModuleNotFoundError instead")
    from mi_probe.backends import _keops

    monkeypatch.setattr(_keops, "keops_healthy", lambda: False)
    with pytest.warns(RuntimeWarning, match="health check"):
        be = pick("keops")
    assert be.name == "torch"


def test_pick_keops_without_pykeops_names_the_extra(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake_import(name, *a, **k):
        if name == "pykeops":
            raise ModuleNotFoundError("No module named 'pykeops'")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(ModuleNotFoundError, match=r"mi-probe\[keops\]"):
        pick("keops")


def test_auto_on_cpu_never_picks_keops():
    x = np.zeros((100, 3))
    assert pick("auto", x).name != "keops"


# ------------------------------------------------------------ parity with torch (pykeops)


@pytest.fixture(scope="module")
def kb():
    if not has("pykeops"):
        pytest.skip("pykeops is not installed (pip install 'mi-probe[keops]')")
    if not _health.keops_health(warn=False).ok:
        pytest.skip(f"pykeops failed its health check: {_health.keops_health(warn=False).detail}")
    from mi_probe.backends._keops import KeOpsBackend

    return KeOpsBackend()


TB = TorchBackend()


@pytest.mark.keops
@pytest.mark.parametrize("metric", ["max", "l2"])
@pytest.mark.parametrize("seed", SEEDS)
def test_knn_parity(kb, metric, seed):
    x = np.random.default_rng(seed).standard_normal((400, 3))
    dk, ik = kb.knn(x, 4, metric)
    dt, it = TB.knn(x, 4, metric)
    assert isinstance(dk, np.ndarray) and dk.shape == (400, 4) and ik.dtype == np.int64
    np.testing.assert_allclose(dk, dt, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(ik, it)  # continuous data: no ties
    assert not (ik == np.arange(400)[:, None]).any()


@pytest.mark.keops
@pytest.mark.parametrize("metric", ["max", "l2"])
@pytest.mark.parametrize("inclusive", [True, False])
@pytest.mark.parametrize("seed", SEEDS)
def test_count_within_parity_on_the_boundary(kb, metric, inclusive, seed):
    g = np.random.default_rng(seed)
    x = g.standard_normal((400, 3))
    # radii exactly at the 3rd-neighbour distance: the hardest case for rounding
    r = TB.knn(x, 3, metric)[0][:, -1]
    ck = kb.count_within(x, r, metric, inclusive=inclusive)
    ct = TB.count_within(x, r, metric, inclusive=inclusive)
    assert ck.dtype == np.int64
    np.testing.assert_array_equal(ck, ct)
    np.testing.assert_array_equal(ck, 3 if inclusive else 2)  # known truth
    r2 = g.uniform(0, 2, 400)
    np.testing.assert_array_equal(
        kb.count_within(x, r2, metric, inclusive=inclusive),
        TB.count_within(x, r2, metric, inclusive=inclusive),
    )


@pytest.mark.keops
def test_ties_and_zero_radius(kb):
    # integer grid: many exact ties and duplicate rows
    x = np.random.default_rng(0).integers(0, 3, size=(300, 3)).astype(np.float64)
    dk, ik = kb.knn(x, 4, "max")
    dt, _ = TB.knn(x, 4, "max")
    np.testing.assert_array_equal(dk, dt)
    assert not (ik == np.arange(300)[:, None]).any()
    for inclusive in (True, False):
        for r in (np.zeros(300), np.ones(300)):
            np.testing.assert_array_equal(
                kb.count_within(x, r, "max", inclusive=inclusive),
                TB.count_within(x, r, "max", inclusive=inclusive),
            )


@pytest.mark.keops
@pytest.mark.parametrize("seed", SEEDS)
def test_gaussian_logsumexp_parity(kb, seed):
    g = np.random.default_rng(seed)
    q, p = g.standard_normal((200, 3)), g.standard_normal((300, 3))
    for v in (0.05, 1.0, 7.0):
        np.testing.assert_allclose(
            kb.gaussian_logsumexp(q, p, v), TB.gaussian_logsumexp(q, p, v), rtol=1e-10, atol=1e-10
        )
    both = kb.gaussian_logsumexp(q, p, [0.5, 2.0])
    assert both.shape == (2, 200)
    np.testing.assert_allclose(
        both, TB.gaussian_logsumexp(q, p, [0.5, 2.0]), rtol=1e-10, atol=1e-10
    )
    # closed form: one point -> -|q - p|^2 / (2 v)
    one = kb.gaussian_logsumexp(q, p[:1], 2.0)
    np.testing.assert_allclose(one, -((q - p[0]) ** 2).sum(1) / 4.0, rtol=1e-12)


@pytest.mark.keops
def test_tensor_in_tensor_out(kb):
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((200, 3)))
    d, i = kb.knn(x, 2, "max")
    assert isinstance(d, torch.Tensor) and d.device == x.device and i.dtype == torch.int64
    c = kb.count_within(x, d[:, -1], "max", inclusive=True)
    assert isinstance(c, torch.Tensor) and bool((c == 2).all())
    s = kb.gaussian_logsumexp(x, x, 1.0)
    assert isinstance(s, torch.Tensor) and s.shape == (200,)


@pytest.mark.keops
def test_keops_errors(kb):
    x = np.random.default_rng(0).standard_normal((10, 3))
    with pytest.raises(ValueError, match="k=10 must be"):
        kb.knn(x, 10, "max")
    with pytest.raises(ValueError, match="metric must be one of"):
        kb.knn(x, 2, "l1")
    with pytest.raises(ValueError, match="radius must have one entry per point"):
        kb.count_within(x, np.ones(9), "max", inclusive=True)
    with pytest.raises(ValueError, match="variance must be > 0"):
        kb.gaussian_logsumexp(x, x, -1.0)


@pytest.mark.keops
@pytest.mark.parametrize("seed", SEEDS)
def test_ksg_same_estimate_through_keops(kb, seed):
    from mi_probe.estimators.ksg import ksg_mi
    from tests._helpers import gaussian_pair

    x, y, truth = gaussian_pair(600, 1, 0.6, seed)
    for algorithm in (1, 2):
        a = ksg_mi(x, y, algorithm=algorithm, backend="keops", random_state=seed)
        b = ksg_mi(x, y, algorithm=algorithm, backend="torch", random_state=seed)
        assert a.backend == "keops"
        assert float(a) == pytest.approx(float(b), abs=1e-12)
        assert abs(float(a) - truth) < 0.1  # KSG at n=600, rho=0.6 (truth 0.223 nats)


def test_direct_keops_backend_consults_the_health_verdict(monkeypatch, fresh_health):
    """KeOpsBackend() built directly (not through pick) runs the cached subprocess check
    first, so the compiler switch it found applies, and refuses when KeOps is unusable
    (seen on the H200 image: without the check the first reduction segfaulted)."""
    if not has("pykeops"):
        pytest.skip("pykeops not installed")
    from mi_probe.backends import _keops

    calls = []

    def unhealthy(**kw):
        calls.append(kw)
        return _health.HealthVerdict(False, "probe crashed (SIGSEGV)", "k", False)

    monkeypatch.setattr(_keops, "_LAZY", None)
    monkeypatch.setattr(_keops, "keops_health", unhealthy)
    with pytest.raises(RuntimeError, match=r"backend='keops'.*failed its health check"):
        _keops.KeOpsBackend()
    assert calls == [{"warn": False}]
