"""Adversarial inputs to every ``mi-probe`` subcommand but ``report`` (which has its own
tests): each bad input gives exit status 2 and ONE line on stderr that names the option
(or config key), never a traceback; valid runs are unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mi_probe.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def npz(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    path = tmp_path / "xy.npz"
    np.savez(path, x=x, y=x + rng.normal(size=60))
    return path


# --------------------------------------------------------------------------------------
# argparse's own errors
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, option",
    [
        (["estimate", "{npz}", "--x", "x", "--y", "y", "--seed", "abc"], "--seed"),
        (["estimate", "{npz}", "--x", "x", "--y", "y", "--estimator", "nope"], "--estimator"),
        (["estimate", "{npz}", "--x", "x"], "--y"),
        (["demo", "--epochs", "1.5"], "--epochs"),
        (["critical-periods", "--removal", ",,"], "--removal"),
        (["sweep"], "CONFIG.toml"),
        (["bogus"], "COMMAND"),
    ],
)
def test_usage_errors_are_one_line_naming_the_option(npz, capsys, argv, option) -> None:
    code, out, err = _run(capsys, *[a.format(npz=npz) for a in argv])
    assert code == 2 and out == ""
    line = _one_line(err)
    assert option in line and "--help" in line


def test_help_still_prints_the_usage(capsys) -> None:
    assert main(["estimate", "--help"]) == 0
    assert "usage: mi-probe estimate" in capsys.readouterr().out
