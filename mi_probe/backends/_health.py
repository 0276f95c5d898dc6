"""KeOps health: the compiler trap and a crash-proof, cached health check.

Two things can make pykeops take the user's process down:

1. **A C++ compiler whose libstdc++ differs from the one already loaded.** KeOps
   compiles a small shared library (``nvrtc_jit.so`` on CUDA) with ``$CXX`` and loads it
   into the running process. When ``CXX`` points at a GCC installed beside the system
   one (``/opt/gcc/bin/g++``, a conda or HPC module compiler), that library expects a
   newer libstdc++ than the one Python (through torch) has already loaded, and the
   process dies inside the first compile (a segfault in ``std::ostream``).
   :func:`configure_compiler` detects this by comparing the libstdc++ that the compiler
   links (``$CXX -print-file-name=libstdc++.so.6``) with the one mapped into this process
   (``/proc/self/maps``) and, when they differ, points ``CXX`` at a compiler that matches
   (``/usr/bin/g++`` first) before keopscore reads it, with a KeOps cache folder of its
   own so that nothing built by the wrong compiler is reused.
2. **Anything else** (a broken CUDA install, a compiler error). :func:`keops_healthy` runs
   one tiny KeOps reduction in a *subprocess* with a timeout, compares it with a brute
   force answer, and caches the verdict in this process and on disk (keyed by the
   pykeops version, the compiler, the Python executable and whether CUDA is present).
   A failed check gives one ``RuntimeWarning`` and the callers fall back to torch.

Environment variables
---------------------
``MI_PROBE_KEOPS_CXX``
    Use this compiler for KeOps, with no detection.
``MI_PROBE_KEOPS_NO_CXX_FIX=1``
    Leave ``CXX`` alone even when its libstdc++ differs.
``MI_PROBE_KEOPS_RECHECK=1``
    Ignore the verdict cached on disk and run the check again.
``MI_PROBE_KEOPS_TIMEOUT``
    Seconds the check may take (default 300: the first KeOps use compiles its runtime).
``MI_PROBE_CACHE_DIR``
    Where the verdict is kept (default ``~/.cache/mi_probe``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CompilerChoice",
    "HealthVerdict",
    "choose_compiler",
    "compiler_libstdcxx",
    "configure_compiler",
    "keops_health",
    "keops_healthy",
    "loaded_libstdcxx",
    "same_libstdcxx",
]

# Compilers tried, in order, when $CXX's libstdc++ differs from the loaded one.
FALLBACK_COMPILERS: tuple[str, ...] = ("/usr/bin/g++", "/usr/bin/c++", "/usr/local/bin/g++")

_OK_MARK = "MI_PROBE_KEOPS_OK"
_DEFAULT_TIMEOUT = 300.0


# --------------------------------------------------------------------- the compiler trap


def loaded_libstdcxx(maps_text: str | None = None) -> str | None:
    """Path of the libstdc++ mapped into this process, or None if none is loaded.

    Parameters
    ----------
    maps_text : str, optional
        Contents of ``/proc/<pid>/maps`` (read from ``/proc/self/maps`` when omitted;
        tests pass a fake).
    """
    if maps_text is None:
        try:
            maps_text = Path("/proc/self/maps").read_text()
        except OSError:
            return None
    for line in maps_text.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and re.search(r"/libstdc\+\+\.so[.\d]*$", parts[5].strip()):
            return parts[5].strip()
    return None


def compiler_libstdcxx(
    cxx: str, run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run
) -> str | None:
    """The libstdc++ that ``cxx`` links against, or None if it cannot tell.

    Runs ``cxx -print-file-name=libstdc++.so.6``; a compiler that does not know the
    file answers with the bare name, which counts as "cannot tell".
    """
    try:
        res = run(
            [cxx, "-print-file-name=libstdc++.so.6"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = (res.stdout or "").strip()
    if res.returncode != 0 or not out or not os.path.isabs(out):
        return None
    return out


def _real_name(path: str, realpath: Callable[[str], str]) -> tuple[str, str]:
    real = realpath(path)
    return real, os.path.basename(real)


def same_libstdcxx(a: str, b: str, realpath: Callable[[str], str] = os.path.realpath) -> bool:
    """Whether two libstdc++ paths are the same library.

    The same file, or the same versioned name (``libstdc++.so.6.0.33`` in two places,
    as conda and module systems copy it), counts as the same.
    """
    ra, na = _real_name(a, realpath)
    rb, nb = _real_name(b, realpath)
    return ra == rb or (
        na == nb and re.fullmatch(r"libstdc\+\+\.so\.\d+\.\d+\.\d+", na) is not None
    )


@dataclasses.dataclass(frozen=True)
class CompilerChoice:
    """What :func:`choose_compiler` decided.

    Attributes
    ----------
    cxx : str or None
        Compiler KeOps should use; None leaves keopscore's own choice (``$CXX`` or g++).
    changed : bool
        True when ``cxx`` replaces the ``$CXX`` / g++ keopscore would have used.
    reason : str
        One line for logs and warnings.
    """

    cxx: str | None
    changed: bool
    reason: str


def choose_compiler(
    env: Mapping[str, str] | None = None,
    *,
    loaded: str | None,
    lib_of: Callable[[str], str | None] = compiler_libstdcxx,
    which: Callable[[str], str | None] = shutil.which,
    candidates: Sequence[str] = FALLBACK_COMPILERS,
    realpath: Callable[[str], str] = os.path.realpath,
) -> CompilerChoice:
    """Pick the C++ compiler for KeOps so that its libstdc++ matches the loaded one.

    Pure logic (every probe is injectable), so the trap can be tested without it.

    Parameters
    ----------
    env : mapping, optional
        The environment (``os.environ`` when omitted).
    loaded : str or None
        The libstdc++ loaded in the process (:func:`loaded_libstdcxx`).
    lib_of : callable
        ``cxx -> libstdc++ path or None`` (:func:`compiler_libstdcxx`).
    which : callable
        ``name -> full path or None`` (``shutil.which``).
    candidates : sequence of str
        Compilers to try, in order, when the current one does not match.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    forced = environ.get("MI_PROBE_KEOPS_CXX")
    if forced:
        return CompilerChoice(forced, True, f"MI_PROBE_KEOPS_CXX={forced}")
    current = environ.get("CXX") or "g++"
    current_path = which(current)
    if environ.get("MI_PROBE_KEOPS_NO_CXX_FIX"):
        return CompilerChoice(None, False, "MI_PROBE_KEOPS_NO_CXX_FIX is set; CXX left alone")
    if current_path is None:
        return CompilerChoice(None, False, f"compiler {current!r} not found; left to keopscore")
    if loaded is None:
        return CompilerChoice(None, False, "no libstdc++ loaded yet; nothing to compare")
    lib = lib_of(current_path)
    if lib is None or same_libstdcxx(lib, loaded, realpath):
        return CompilerChoice(None, False, f"{current_path} matches the loaded libstdc++")
    seen = {realpath(current_path)}
    for cand in candidates:
        path = which(cand)
        if path is None or realpath(path) in seen:
            continue
        seen.add(realpath(path))
        cand_lib = lib_of(path)
        if cand_lib is not None and same_libstdcxx(cand_lib, loaded, realpath):
            return CompilerChoice(
                path,
                True,
                f"{current_path} links {lib} but this process has loaded {loaded}; "
                f"using {path} for KeOps instead",
            )
    return CompilerChoice(
        None,
        False,
        f"{current_path} links {lib} but this process has loaded {loaded}, and no "
        f"matching compiler was found among {list(candidates)}; set MI_PROBE_KEOPS_CXX",
    )


_CONFIGURED: CompilerChoice | None = None


def _cache_tag(cxx: str) -> str:
    import hashlib

    return hashlib.sha1(os.path.realpath(cxx).encode()).hexdigest()[:10]


def configure_compiler(env: MutableMapping[str, str] | None = None) -> CompilerChoice:
    """Point KeOps at a compiler whose libstdc++ matches this process (once per process).

    Must run before keopscore is first imported (it reads ``CXX`` at import time);
    :mod:`mi_probe.backends._keops` calls it first thing. When the compiler is changed,
    ``KEOPS_CACHE_FOLDER`` (unless set by the user) moves to a folder of its own, so no
    library built by the mismatched compiler is loaded from the cache.

    Returns
    -------
    CompilerChoice
    """
    global _CONFIGURED
    if _CONFIGURED is not None:
        return _CONFIGURED
    environ: MutableMapping[str, str] = os.environ if env is None else env
    if "torch" not in sys.modules:  # the libstdc++ the user's process will hold
        with contextlib.suppress(ImportError):
            import torch  # noqa: F401  (imported for its side effect: loading libstdc++)
    choice = choose_compiler(environ, loaded=loaded_libstdcxx())
    cxx = choice.cxx
    if choice.changed and cxx:
        if "keopscore" in sys.modules:
            choice = CompilerChoice(
                None, False, choice.reason + " (too late: keopscore was already imported)"
            )
        else:
            environ["CXX"] = cxx
            if "KEOPS_CACHE_FOLDER" not in environ:
                try:
                    from importlib.metadata import version

                    ver = version("keopscore")
                except Exception:  # pragma: no cover - metadata missing
                    ver = "unknown"
                environ["KEOPS_CACHE_FOLDER"] = str(
                    Path.home() / ".cache" / f"keops{ver}-cxx-{_cache_tag(cxx)}"
                )
    _CONFIGURED = choice
    return choice


# ------------------------------------------------------------------------ health check

_PROBE = rf"""
import sys
sys.path.insert(0, sys.argv[2])
from mi_probe.backends._health import configure_compiler
choice = configure_compiler()
import torch
from pykeops.torch import LazyTensor
dev = sys.argv[1]
g = torch.Generator().manual_seed(0)
x = torch.rand(300, 3, generator=g, dtype=torch.float32).to(dev)
xi, xj = LazyTensor(x[:, None, :]), LazyTensor(x[None, :, :])
d = (xi - xj).abs().max()
vals, idx = d.Kmin_argKmin(K=3, dim=1)
ref = torch.cdist(x, x, p=float("inf")).topk(3, dim=1, largest=False).values
assert torch.allclose(vals, ref, atol=1e-6), "KeOps max-norm k-NN disagrees with torch"
lse = (-((xi - xj) ** 2).sum()).logsumexp(dim=1).view(-1)
ref = torch.logsumexp(-torch.cdist(x, x) ** 2, dim=1)
assert torch.allclose(lse, ref, atol=1e-4), "KeOps log-sum-exp disagrees with torch"
print("{_OK_MARK}", dev, choice.cxx or "", flush=True)
"""


@dataclasses.dataclass(frozen=True)
class HealthVerdict:
    """The outcome of one KeOps health check.

    Attributes
    ----------
    ok : bool
        Whether KeOps ran the probe and matched brute force.
    detail : str
        Why not (or what ran), one short paragraph.
    key : str
        The cache key (pykeops version, compiler, Python executable, CUDA present).
    cached : bool
        Whether the verdict came from the disk cache.
    """

    ok: bool
    detail: str
    key: str
    cached: bool = False


_VERDICT: HealthVerdict | None = None
_WARNED = False


def cache_root() -> Path:
    """Where mi_probe keeps what it builds and checks: ``$MI_PROBE_CACHE_DIR``, else
    ``~/.cache/mi_probe`` (the KeOps verdict here, the native kd-tree in ``native/``)."""
    return Path(os.environ.get("MI_PROBE_CACHE_DIR") or Path.home() / ".cache" / "mi_probe")


def _cache_file() -> Path:
    return cache_root() / "keops_health.json"


def _pykeops_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pykeops")
    except PackageNotFoundError:
        return None


def _cuda_present() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def _key(version: str, cxx: str, python: str, cuda: bool) -> str:
    return f"pykeops={version}|cxx={cxx}|python={python}|cuda={int(cuda)}"


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, key: str, verdict: HealthVerdict, cxx: str | None = None) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _read_cache(path)
        data[key] = {"ok": verdict.ok, "detail": verdict.detail, "time": time.time()}
        if cxx:
            data[key]["cxx"] = cxx
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs a re-check next time


def _describe_rc(rc: int) -> str:
    if rc < 0:
        try:
            return f"crashed with signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"crashed with signal {-rc}"
    return f"exited with status {rc}"


def run_probe(
    device: str,
    *,
    timeout: float,
    python: str = sys.executable,
    probe: str = _PROBE,
    env: dict[str, str] | None = None,
) -> tuple[bool, str, bool]:
    """Run the KeOps probe in a subprocess.

    Returns
    -------
    ok : bool
    detail : str
    cacheable : bool
        False for a timeout (a slow first compile should not be remembered as broken).
    """
    pkg_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ if env is None else env)
    try:
        res = subprocess.run(
            [python, "-c", probe, device, pkg_root],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return False, f"the KeOps probe took longer than {timeout:.0f} s", False
    except OSError as exc:
        return False, f"could not start the KeOps probe: {exc}", True
    if res.returncode == 0 and _OK_MARK in res.stdout:
        return True, f"KeOps ran on {device}", True
    tail = (res.stderr or res.stdout or "").strip().splitlines()[-3:]
    return False, f"the KeOps probe {_describe_rc(res.returncode)}: " + " | ".join(tail), True


def keops_health(
    *, refresh: bool = False, timeout: float | None = None, warn: bool = True
) -> HealthVerdict:
    """Check (once) that pykeops works here, without risking this process.

    Parameters
    ----------
    refresh : bool, default False
        Ignore the verdicts cached in this process and on disk.
    timeout : float, optional
        Seconds for the subprocess (default ``$MI_PROBE_KEOPS_TIMEOUT`` or 300).
    warn : bool, default True
        Emit one ``RuntimeWarning`` per process when the check fails.

    Returns
    -------
    HealthVerdict
    """
    global _VERDICT, _WARNED
    if _VERDICT is not None and not refresh:
        return _VERDICT
    version = _pykeops_version()
    if version is None:
        # not installed: no warning, the caller simply does not use KeOps
        _VERDICT = HealthVerdict(False, "pykeops is not installed", "", False)
        return _VERDICT
    choice = configure_compiler()
    cxx = choice.cxx or os.environ.get("CXX") or (shutil.which("g++") or "g++")
    cuda = _cuda_present()
    key = _key(version, cxx, sys.executable, cuda)
    path = _cache_file()
    refresh = refresh or bool(os.environ.get("MI_PROBE_KEOPS_RECHECK"))
    entry = None if refresh else _read_cache(path).get(key)
    if isinstance(entry, dict) and "ok" in entry:
        verdict = HealthVerdict(bool(entry["ok"]), str(entry.get("detail", "")), key, True)
        if verdict.ok and entry.get("cxx"):
            _use_compiler(str(entry["cxx"]))
    else:
        if timeout is None:
            timeout = float(os.environ.get("MI_PROBE_KEOPS_TIMEOUT", _DEFAULT_TIMEOUT))
        device = "cuda" if cuda else "cpu"
        ok, detail, cacheable = run_probe(device, timeout=timeout)
        if choice.changed:
            detail += f" ({choice.reason})"
        fixed = None
        if not ok and cacheable and "keopscore" not in sys.modules:
            fixed, more = _retry_with_system_compiler(cxx, device, timeout)
            if fixed:
                ok, detail = True, f"KeOps works with CXX={fixed} (it crashed with {cxx})"
            elif more:
                detail += f"; {more}"
        verdict = HealthVerdict(ok, detail, key, False)
        if cacheable:
            _write_cache(path, key, verdict, fixed)
    _VERDICT = verdict
    if not verdict.ok and warn and not _WARNED:
        _WARNED = True
        warnings.warn(
            f"pykeops is installed but unusable here, so mi_probe uses its torch backend "
            f"instead: {verdict.detail}. The verdict is cached in {path}; set "
            f"MI_PROBE_KEOPS_RECHECK=1 to check again.",
            RuntimeWarning,
            stacklevel=3,
        )
    return verdict


def _compiler_env(cxx: str) -> dict[str, str]:
    """CXX and a KeOps cache folder of that compiler's own."""
    try:
        from importlib.metadata import version

        ver = version("keopscore")
    except Exception:  # pragma: no cover - metadata missing
        ver = "unknown"
    return {
        "CXX": cxx,
        "KEOPS_CACHE_FOLDER": str(Path.home() / ".cache" / f"keops{ver}-cxx-{_cache_tag(cxx)}"),
    }


def _use_compiler(cxx: str) -> None:
    """Make this process's KeOps use ``cxx`` (only before keopscore is imported)."""
    global _CONFIGURED
    if "keopscore" in sys.modules:
        return
    os.environ.update(_compiler_env(cxx))
    _CONFIGURED = CompilerChoice(cxx, True, f"KeOps crashed with the default compiler; using {cxx}")


def _retry_with_system_compiler(cxx: str, device: str, timeout: float) -> tuple[str | None, str]:
    """When the probe crashed with ``cxx``, try the system g++ (the libstdc++ check
    can pass while the compiler's own headers still do not match the loaded
    runtime, as with a newer GCC in /opt). Returns (working compiler or None, note)."""
    tried: list[str] = []
    for cand in ("/usr/bin/g++", shutil.which("g++")):
        if not cand or not os.path.exists(cand) or tried.count(cand):
            continue
        if os.path.realpath(cand) == os.path.realpath(shutil.which(cxx) or cxx):
            continue
        tried.append(cand)
        env = dict(os.environ)
        env.update(_compiler_env(cand))
        ok, _, _ = run_probe(device, timeout=timeout, env=env)
        if ok:
            _use_compiler(cand)
            return cand, ""
    return None, (f"also failed with {', '.join(tried)}" if tried else "")


def keops_healthy(*, refresh: bool = False) -> bool:
    """Whether pykeops is installed and passed its subprocess health check (cached)."""
    return keops_health(refresh=refresh).ok


def _reset_for_tests() -> None:
    """Forget the in-process verdict, warning flag and compiler choice."""
    global _VERDICT, _WARNED, _CONFIGURED
    _VERDICT, _WARNED, _CONFIGURED = None, False, None
