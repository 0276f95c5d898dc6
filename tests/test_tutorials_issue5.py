"""Tutorials 4 (invariance + report) and 5 (beta-VAE disentanglement) at tiny scale."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd

from tests._helpers import run_tutorial


def _run(script: str, out: Path) -> subprocess.CompletedProcess:
    return run_tutorial(script, out, "--out", str(out))


def test_tutorial_02_invariance_tiny(tmp_path: Path) -> None:
    proc = _run("02_invariance.py", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("index.html", "report.md", "results.csv", "figures/invariance.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    df = pd.read_csv(tmp_path / "results.csv")
    assert {"layer", "I_zx", "I_zy", "invariance[rotation]", "invariance[occlusion]"} <= set(
        df.columns
    )
    assert list(df["layer"].astype(str)) == ["input", "1", "3", "7", "8"]


def test_tutorial_03_disentanglement_tiny(tmp_path: Path) -> None:
    proc = _run("03_disentanglement.py", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    df = pd.read_csv(tmp_path / "disentanglement_vs_beta.csv")
    assert list(df["beta"]) == [1.0, 4.0]
    assert df["mig"].between(0, 1).all() and (df["tc"] >= 0).all()
    assert (tmp_path / "tradeoff.png").stat().st_size > 0
