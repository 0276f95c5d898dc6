"""Progress: a bar redrawn in place on a terminal, whole lines in a log file."""

from __future__ import annotations

import io
import itertools
import sys

import mi_probe._progress as prog
from mi_probe._progress import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _fake_clock(monkeypatch, step: float) -> None:
    ticks = itertools.count()
    monkeypatch.setattr(prog, "_clock", lambda: step * next(ticks))


def test_log_file_gets_one_line_per_update(monkeypatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    _fake_clock(monkeypatch, 3.0)  # each step "takes" 3 s; lines at most every 5 s
    assert list(progress(range(6), desc="train")) == list(range(6))
    text = err.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert 2 <= len(lines) <= 4  # throttled, not one line per step
    assert all(line.startswith("train: ") for line in lines)
    assert lines[-1].startswith("train: 6/6 (100%)") and lines[-1].endswith("done")


def test_log_file_quiet_for_a_short_loop(monkeypatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert list(progress(range(50), desc="quick")) == list(range(50))
    assert err.getvalue() == ""


def test_log_file_unknown_length(monkeypatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    list(progress(iter(range(3)), desc="gen", min_interval=0.0))
    assert err.getvalue().splitlines()[-1].startswith("gen: 3 done")


def test_terminal_gets_a_bar_redrawn_in_place(monkeypatch) -> None:
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    _fake_clock(monkeypatch, 0.1)
    assert list(progress(range(10), desc="bar")) == list(range(10))
    text = err.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")  # one line, finished once
    assert text.count("\r") >= 2
    assert "10/10" in text.split("\r")[-1]


def test_disabled_shows_nothing(monkeypatch) -> None:
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    assert list(progress(range(3), enabled=False, min_interval=0.0)) == [0, 1, 2]
    assert err.getvalue() == ""


def test_a_loop_stopped_early_finishes_its_bar(monkeypatch) -> None:
    """Early stopping breaks out of the loop: the bar still ends its line (on a terminal)
    and the log still gets the count reached, so the next print starts a line of its own."""
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    _fake_clock(monkeypatch, 0.1)
    for i in progress(range(100), desc="fit"):
        if i == 6:
            break
    text = err.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    assert "6/100" in text.split("\r")[-1]  # items finished before the break

    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    _fake_clock(monkeypatch, 3.0)
    for i in progress(range(100), desc="fit"):
        if i == 6:
            break
    assert log.getvalue().splitlines()[-1].startswith("fit: 6/100 (6%)")


def test_an_error_inside_the_loop_finishes_the_bar(monkeypatch) -> None:
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    _fake_clock(monkeypatch, 0.1)
    try:
        for i in progress(range(10), desc="fit"):
            if i == 4:
                raise KeyError("boom")
    except KeyError:
        pass
    assert err.getvalue().endswith("\n")
