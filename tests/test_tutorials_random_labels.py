"""Tutorial 7 (random-label phase transition) at tiny scale."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests._helpers import HANG_TIMEOUT

ROOT = Path(__file__).resolve().parents[1]


def test_tutorial_07_random_labels_tiny(tmp_path: Path) -> None:
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tutorials" / "07_random_labels.py"),
            "--tiny",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,  # --tiny bounds the work; this only stops a hang
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    df = pd.read_csv(tmp_path / "random_labels.csv")
    assert list(df["beta"]) == [0.01, 0.1, 1.0]
    assert (df["kl"] >= 0).all()
    # the prior-scale grid is paid for: log(13) nats for each of the two layers
    assert (df["prior_choice_nats"] - 2 * math.log(13)).abs().max() < 1e-9
    assert (df["kl"] >= df["prior_choice_nats"] - 1e-9).all()
    # more weight on the KL: less information in the weights, higher training loss
    assert df["kl"].iloc[0] > df["kl"].iloc[1] >= df["kl"].iloc[2] - 1e-6
    assert df["train_loss"].iloc[-1] > df["train_loss"].iloc[0] + 1.0
    assert df["train_loss"].iloc[-1] < 1.2 * math.log(10)
    t = pd.read_csv(tmp_path / "random_labels_transition.csv")
    assert list(t.columns[:3]) == ["seed", "half", "beta_switch"]
    assert "measured switch" in proc.stdout or "no switch" in proc.stdout
    assert "predicted beta*" in proc.stdout
    assert (tmp_path / "random_labels.png").stat().st_size > 0
