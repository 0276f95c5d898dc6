"""Tutorial 7 (random-label phase transition) at tiny scale."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_tutorial_07_random_labels_tiny(tmp_path: Path) -> None:
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tutorials" / "07_random_labels.py"), "--tiny",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    df = pd.read_csv(tmp_path / "random_labels.csv")
    assert list(df["beta"]) == [0.1, 1.0, 10.0]
    assert (df["kl"] >= 0).all()
    # more weight on the KL: less information in the weights, higher training loss
    assert df["kl"].is_monotonic_decreasing
    assert df["train_loss"].iloc[-1] > df["train_loss"].iloc[0]
    assert df["train_loss"].iloc[-1] < 1.2 * math.log(10)
    assert (tmp_path / "random_labels.png").stat().st_size > 0
