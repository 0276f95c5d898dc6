"""The compiled kd-tree: it builds where there is a C compiler, and every way it can fail
(no compiler, a compile error, a library that answers wrong) falls back to the scipy
kd-tree with the same numbers, never taking the process down."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from mi_probe.backends import _native, pick
from mi_probe.estimators.ksg import ksg_mi
from tests._helpers import gaussian_pair


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """An empty build cache and no loaded library, restored afterwards."""
    monkeypatch.setenv("MI_PROBE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_native, "_STATE", {})
    return tmp_path


def _compiler() -> str | None:
    return _native._find_compiler()


def test_native_builds() -> None:
    # where a C compiler exists (CI has gcc) the native kd-tree must build and load
    if _compiler() is None:
        pytest.skip("no C compiler on this machine")
    assert _native.native_status() == "ok"
    assert pick("native").name == "native"


def test_native_ksg_same_estimate_as_scipy_tree() -> None:
    if not _native.native_available():
        pytest.skip(_native.native_status())
    x, y, _ = gaussian_pair(3000, 4, 0.5, 21)
    for algorithm in (1, 2):
        a = ksg_mi(x, y, algorithm=algorithm, backend="native", random_state=3)
        b = ksg_mi(x, y, algorithm=algorithm, backend="kdtree", random_state=3)
        assert a.backend == "native"
        assert a.diagnostics["raw_value"] == pytest.approx(b.diagnostics["raw_value"], abs=1e-12)


def test_turned_off_by_environment(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MI_PROBE_NATIVE", "0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # switching it off is not worth a warning
        assert not _native.native_available()
    assert "MI_PROBE_NATIVE=0" in _native.native_status()
    assert pick("auto", np.zeros((5, 2))).name == "kdtree"
    with pytest.raises(RuntimeError, match="native kd-tree is not available: turned off"):
        _native.NativeBackend()


def test_no_compiler_falls_back_quietly(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_native, "_find_compiler", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not _native.native_available()
    assert "no C compiler" in _native.native_status()


def test_compile_error_warns_once_and_falls_back(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if _compiler() is None:
        pytest.skip("no C compiler on this machine")
    bad = fresh / "broken.c"
    bad.write_text("this is not C;\n")
    monkeypatch.setattr(_native, "_SOURCE", bad)
    with pytest.warns(RuntimeWarning, match="compiling the native kd-tree .* failed: .*error"):
        assert not _native.native_available()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the verdict is kept: no second warning
        assert not _native.native_available()
    x, y, _ = gaussian_pair(400, 2, 0.5, 0)
    assert ksg_mi(x, y).backend == "kdtree"


def test_wrong_library_fails_the_subprocess_check(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a library that returns wrong answers is caught in a subprocess before it is loaded
    if _compiler() is None:
        pytest.skip("no C compiler on this machine")
    src = _native._SOURCE.read_text()
    wrong = src.replace("- 1;\n", "- 2;\n")  # every count off by one
    assert wrong != src
    bad = fresh / "wrong.c"
    bad.write_text(wrong)
    monkeypatch.setattr(_native, "_SOURCE", bad)
    with pytest.warns(RuntimeWarning, match="failed its self-check"):
        assert not _native.native_available()
    assert len(list(fresh.glob("native/*.json"))) == 1  # the verdict is cached on disk


def test_cached_library_is_reused(fresh: Path) -> None:
    if _compiler() is None:
        pytest.skip("no C compiler on this machine")
    assert _native.native_available()
    libs = list((fresh / "native").glob("*.so"))
    assert len(libs) == 1
    stamp = libs[0].stat().st_mtime_ns
    _native._STATE.clear()
    assert _native.native_available()  # loaded from the cache, not rebuilt
    assert libs[0].stat().st_mtime_ns == stamp


def test_too_few_points_is_a_value_error() -> None:
    if not _native.native_available():
        pytest.skip(_native.native_status())
    with pytest.raises(ValueError, match="k=3 neighbours need more than 3 points"):
        _native.NativeBackend().knn(np.zeros((3, 2)), 3, "max")


def test_source_ships_with_the_package() -> None:
    # the C files must be package data, or an installed (non-editable) copy cannot build
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]
    for source in (_native._SOURCE, _native._JOINT_SOURCE):
        assert source.exists()
        rel = source.relative_to(Path(_native.__file__).resolve().parents[1])
        assert any(rel.match(pattern) for pattern in data["mi_probe"])


@pytest.mark.parametrize("metric", ["max", "l2"])
def test_many_equal_values(metric: str) -> None:
    # discrete columns with a few outliers force median splits over long runs of equal
    # values (a two-way quickselect is quadratic there); answers still match brute force
    if not _native.native_available():
        pytest.skip(_native.native_status())
    g = np.random.default_rng(4)
    p = np.zeros((3000, 2))
    p[:, 1] = g.integers(0, 3, 3000)
    p[:60, 0] = g.uniform(50, 60, 60)  # outliers stretch the box: midpoint splits are lopsided
    be = _native.NativeBackend(workers=1, leafsize=8)
    ref = pick("numpy")
    r = np.full(3000, 0.5)
    np.testing.assert_array_equal(
        be.count_within(p, r, metric, inclusive=True),
        ref.count_within(p, r, metric, inclusive=True),
    )
    np.testing.assert_array_equal(be.knn(p, 4, metric)[0], ref.knn(p, 4, metric)[0])


def test_out_of_memory_in_c_is_a_memory_error() -> None:
    # the C entry points return -1 when malloc fails; that must not pass as an answer
    if not _native.native_available():
        pytest.skip(_native.native_status())

    class Failing:
        def mi_knn(self, *args):
            return -1

        def mi_count(self, *args):
            return -1

    be = _native.NativeBackend()
    be._lib = Failing()
    p = np.random.default_rng(0).standard_normal((50, 2))
    with pytest.raises(MemoryError, match="native kd-tree ran out of memory"):
        be.knn(p, 3, "max")
    with pytest.raises(MemoryError, match="native kd-tree ran out of memory"):
        be.count_within(p, np.ones(50), "max", inclusive=True)
