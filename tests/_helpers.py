"""Small data generators and runners shared by tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: seconds a test subprocess may run: a hang guard, not a speed check. The work is
#: budgeted by the arguments (``--tiny`` sizes), so a correct run on a loaded 2-core
#: runner (load ~13: 300 s was not enough for tutorial 8) stays far below it.
HANG_TIMEOUT = 1800


def run_tutorial(script: str, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``tutorials/<script> --tiny <args>`` in ``cwd`` (matplotlib off-screen).

    ``--tiny`` bounds the work; the timeout (:data:`HANG_TIMEOUT`) only stops a hang.
    """
    return subprocess.run(
        [sys.executable, str(ROOT / "tutorials" / script), "--tiny", *args],
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,
        env=dict(os.environ, MPLBACKEND="Agg", **env),
        cwd=cwd,
    )


def gaussian_pair(n: int, d: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """x, y with y_i = rho x_i + sqrt(1-rho^2) e_i per coordinate; truth -d/2 log(1-rho^2)."""
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, d))
    y = rho * x + np.sqrt(1 - rho**2) * g.standard_normal((n, d))
    return x, y, -0.5 * d * np.log(1 - rho**2)
