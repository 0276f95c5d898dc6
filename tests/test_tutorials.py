"""The tutorials run end to end at tiny scale (what a new user runs first)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests._helpers import run_tutorial
from tests.test_tutorials_progress import EVERY_UPDATE, assert_progress_lines


@pytest.mark.parametrize(
    "script, outputs",
    [
        (
            "01_information_plane.py",
            [
                "information_plane.csv",
                "information_plane_binning.png",
                "information_plane_kde.png",
                "mi_over_epochs_kde.png",
            ],
        ),
        ("06_digits_cnn.py", ["information_plane.csv", "information_plane_binning.png"]),
    ],
)
def test_tutorial_runs_tiny(tmp_path, script: str, outputs: list[str]) -> None:
    proc = run_tutorial(script, tmp_path, "--out", str(tmp_path), *EVERY_UPDATE, MI_PROBE_TINY="1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_progress_lines(script, proc.stderr)  # progress on stderr, a line per update
    for name in outputs:
        assert (tmp_path / name).stat().st_size > 0, name
    df = pd.read_csv(tmp_path / "information_plane.csv")
    assert {"epoch", "layer", "estimator", "I_XT", "I_TY"} <= set(df.columns)
    assert df["I_XT"].notna().all() and (df["I_XT"] >= 0).all()


def test_weight_information_tutorial_runs_tiny(tmp_path) -> None:
    plot = tmp_path / "weights.png"
    proc = run_tutorial("05_weight_information.py", tmp_path, "--plot", str(plot), *EVERY_UPDATE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_progress_lines("05_weight_information.py", proc.stderr)
    assert "information in the weights" in proc.stdout
    assert plot.stat().st_size > 0
    # the CSV goes to the default --out folder, named like every tutorial's
    df = pd.read_csv(tmp_path / "tutorial_05_output" / "weight_information.csv")
    assert {"epoch", "layer", "fisher_trace"} <= set(df.columns)


def test_noisy_layer_bounds_tutorial_brackets_the_estimate(tmp_path) -> None:
    script = "08_noisy_layer_bounds.py"
    proc = run_tutorial(script, tmp_path, "--out", str(tmp_path), *EVERY_UPDATE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_progress_lines(script, proc.stderr)
    assert (tmp_path / "bounds.png").stat().st_size > 0
    df = pd.read_csv(tmp_path / "bounds.csv")
    estimate = float(df.loc[df["kind"] == "estimate", "nats"].iloc[0])
    uppers = df.loc[df["kind"] == "upper", "nats"]
    lowers = df.loc[df["kind"] == "lower", "nats"]
    assert len(uppers) == 4 and len(lowers) == 3
    # every upper bound above the exact-noise estimate and every lower bound below it,
    # up to the Monte-Carlo error of the sampled ones (0.1 nats)
    assert (uppers >= estimate - 0.1).all(), df
    assert (lowers <= estimate + 0.1).all(), df
    assert 0 < estimate < np.log(1797)
