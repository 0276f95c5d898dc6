"""Tutorials 1, 5-8 show progress on stderr (issue 22), and ``--quiet`` turns it off.

In these runs stderr is a pipe, not a terminal, so ``mi_probe._progress.progress`` writes
whole lines (no ``\\r``). ``--progress-every 0`` makes every update of a tutorial's own
loops a line of its own, so the lines expected below do not depend on how fast the
machine is. Tutorials 1, 5, 6 and 8 are checked in the runs of ``test_tutorials.py``
(which call :func:`assert_progress_lines`); tutorial 7, whose smoke test lives elsewhere,
is run here once more.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests._helpers import run_tutorial

#: a progress line of ``mi_probe._progress.progress`` when stderr is not a terminal
PROGRESS_LINE = re.compile(
    r"^(?P<desc>.+): (?P<count>\d+)/(?P<total>\d+) \(\d+%\), \S+ elapsed, "
    r"(?:done|about \S+ left)$"
)
#: either form of a progress line (with or without a known total)
ANY_PROGRESS = re.compile(r": \d+(?:/\d+ \(\d+%\),| done,) \S+ elapsed")

#: per tutorial, at ``--tiny``: each loop of its own (label -> number of steps)
EXPECTED = {
    "01_information_plane.py": {"training to epoch 5": 3, "figures": 2},
    "05_weight_information.py": {"epochs (training, Fisher)": 3, "variational posterior fits": 3},
    "06_digits_cnn.py": {"training to epoch 3": 1, "figures": 3},
    "07_random_labels.py": {"posterior fits, seed 0": 3},
    "08_noisy_layer_bounds.py": {"training epochs": 5, "bounds and estimate": 3},
}

#: arguments that give a line for every update of the tutorials' own loops
EVERY_UPDATE = ("--progress-every", "0")


def assert_progress_lines(script: str, stderr: str) -> None:
    """``stderr`` of ``script --tiny --progress-every 0`` has one line per update of each
    of the tutorial's loops (1/n, 2/n, ..., n/n done), and no carriage return."""
    assert "\r" not in stderr
    seen: dict[str, list[tuple[int, int]]] = {}
    for line in stderr.splitlines():
        m = PROGRESS_LINE.match(line)
        if m:
            seen.setdefault(m["desc"], []).append((int(m["count"]), int(m["total"])))
    for desc, total in EXPECTED[script].items():
        assert seen.get(desc) == [(k, total) for k in range(1, total + 1)], (desc, stderr)


def test_random_labels_tutorial_shows_progress(tmp_path: Path) -> None:
    script = "07_random_labels.py"
    proc = run_tutorial(script, tmp_path, "--out", str(tmp_path), *EVERY_UPDATE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_progress_lines(script, proc.stderr)
    assert "E_q[train loss]" in proc.stdout  # results stay on stdout
    assert not ANY_PROGRESS.search(proc.stdout)


#: the default suite runs --quiet for tutorial 8 (its neural estimators draw progress by
#: default, so it is the easiest to leave on by mistake); the others, 30-60 s each on a
#: shared 2-core box, with --run-slow
QUIET_DEFAULT = "08_noisy_layer_bounds.py"


@pytest.mark.parametrize(
    "script",
    [s if s == QUIET_DEFAULT else pytest.param(s, marks=pytest.mark.slow) for s in EXPECTED],
)
def test_quiet_tutorial_writes_no_progress(tmp_path: Path, script: str) -> None:
    # --progress-every 0 would make every update a line, were progress on
    proc = run_tutorial(script, tmp_path, "--out", str(tmp_path), "--quiet", *EVERY_UPDATE)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "\r" not in proc.stderr
    assert not ANY_PROGRESS.search(proc.stderr), proc.stderr
    assert proc.stdout.strip()  # the results are still printed
