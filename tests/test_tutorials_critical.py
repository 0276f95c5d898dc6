"""Tutorial 4 (critical learning periods) at tiny scale."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tests._helpers import run_tutorial


def test_tutorial_04_critical_periods_tiny(tmp_path: Path) -> None:
    proc = run_tutorial("04_critical_periods.py", tmp_path, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "measured:" in proc.stdout and "Fisher trace" in proc.stdout
    df = pd.read_csv(tmp_path / "critical_periods.csv", dtype={"removal": str})
    assert list(df["removal"]) == ["0", "2", "never"]
    assert df["test_accuracy"].between(0, 1).all()
    assert (tmp_path / "critical_periods.png").stat().st_size > 0
