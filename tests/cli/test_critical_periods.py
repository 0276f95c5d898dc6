"""`mi-probe critical-periods` at tiny size, and its errors."""

from __future__ import annotations

import pandas as pd
import pytest

from mi_probe.cli import main


def test_critical_periods_tiny(tmp_path, capsys) -> None:
    out = tmp_path / "cp"
    code = main(
        [
            "critical-periods",
            "--tiny",
            "--removal",
            "0,1,never",
            "--post-epochs",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    df = pd.read_csv(out / "critical_periods.csv", dtype={"removal": str})
    assert list(df["removal"]) == ["0", "1", "never"]
    assert list(df["total_epochs"]) == [1, 2, 2]
    hist = pd.read_csv(out / "critical_periods_history.csv")
    assert len(hist) == 2 + 3 + 3 and (hist["fisher_trace"] > 0).all()
    assert (out / "critical_periods.png").stat().st_size > 0
    assert "drop in test accuracy" in captured.out


def test_critical_periods_lr_schedule(tmp_path, capsys) -> None:
    out = tmp_path / "cp"
    code = main(
        [
            "critical-periods",
            "--tiny",
            "--removal",
            "0,2",
            "--post-epochs",
            "2",
            "--lr-schedule",
            "restart",
            "--out",
            str(out),
            "--no-progress",
            "--no-figures",
        ]
    )
    assert code == 0, capsys.readouterr().err
    df = pd.read_csv(out / "critical_periods.csv", dtype={"removal": str})
    assert list(df["clean_epochs"]) == [2, 2]
    # same clean-phase schedule for both removal epochs: same last learning rate
    assert df["final_lr"].iloc[0] == df["final_lr"].iloc[1] == 0.05 * 0.93
    assert not (out / "critical_periods.png").exists()
    code = main(["critical-periods", "--lr-schedule", "cosine"])
    assert code == 2


def test_critical_periods_bad_option(tmp_path, capsys) -> None:
    code = main(
        ["critical-periods", "--tiny", "--blur-size", "9", "--out", str(tmp_path), "--no-progress"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "mi-probe critical-periods: error: blur_size must be <= 7" in err
    assert "Traceback" not in err


def test_critical_periods_bad_removal(capsys) -> None:
    code = main(["critical-periods", "--removal", "0,soon"])
    assert code == 2
    assert "--removal must be comma-separated epochs" in capsys.readouterr().err


def test_removals_parser() -> None:
    import argparse

    from mi_probe.cli.critical_periods import _removals

    assert _removals("0, 5,never") == [0, 5, None]
    with pytest.raises(argparse.ArgumentTypeError, match="--removal must be"):
        _removals("x")
