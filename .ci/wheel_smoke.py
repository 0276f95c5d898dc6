"""Import-level smoke test of an installed wheel (run by `make check-wheel`).

Run from outside the repository with the wheel's venv, so that ``import mi_probe`` finds
the installed copy: every subpackage imports, the files that are not Python (the two C
sources, py.typed) were installed, the C library builds from them and passes its
self-check, and a few public calls give the known answers. The sdist must carry the same
files. Usage: ``python wheel_smoke.py DIST_DIR [--no-compiler]``; with ``--no-compiler``
(run with ``CC`` empty and ``PATH`` holding no compiler, and an empty cache) the compiled
tree must be reported missing and the same calls must give the same answers on the
fallback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import tarfile
from pathlib import Path

import numpy as np

OPTIONAL = ("mi_probe.integrations",)  # need packages outside the base install
NON_PYTHON = ("py.typed", "backends/_native_kdtree.c", "backends/_native_joint.c")


def main(dist: Path, no_compiler: bool = False) -> None:
    import mi_probe

    root = Path(mi_probe.__file__).resolve().parent
    assert "site-packages" in root.parts, f"imported the source tree, not the wheel: {root}"
    for name in NON_PYTHON:
        assert (root / name).is_file(), f"{name} is missing from the installed package"

    names = [m.name for m in pkgutil.walk_packages([str(root)], "mi_probe.")]
    for name in names:
        # __main__ modules run the command when imported
        if not name.startswith(OPTIONAL) and not name.endswith(".__main__"):
            importlib.import_module(name)
    for sub in ("cli", "estimators", "backends", "probes", "analysis", "weights", "ib"):
        assert f"mi_probe.{sub}" in names, f"subpackage mi_probe.{sub} was not installed"

    from mi_probe.backends import _native, native_status

    status = native_status()
    if no_compiler:  # run with CC unset and an empty PATH: the fallback must answer
        assert _native._find_compiler() is None, "a C compiler is still on PATH"
        assert "no C compiler" in status, status
    elif _native._find_compiler() is not None:  # CI has one: the shipped C must build
        assert status == "ok", status

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 1))
    y = 0.6 * x + 0.8 * rng.standard_normal((2000, 1))
    truth = -0.5 * np.log(1 - 0.6**2)
    r = mi_probe.estimate_mi(x, y, "ksg", random_state=0)
    assert abs(r.value - truth) < 0.05, (r.value, truth)
    assert abs(mi_probe.estimate_mi(x, y, "gaussian").value - truth) < 0.03

    sdists = sorted(dist.glob("*.tar.gz"))
    assert len(sdists) == 1, sdists
    with tarfile.open(sdists[0]) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
    for name in NON_PYTHON:
        assert f"mi_probe/{name}" in members, f"{name} is missing from the sdist"
    print(
        f"wheel smoke test{' without a C compiler' if no_compiler else ''}: {len(names)} "
        f"modules, native backend {status!r}, "
        f"KSG {r.value:.3f} nats (truth {truth:.3f})"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), no_compiler="--no-compiler" in sys.argv[2:])
