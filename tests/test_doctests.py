"""The examples in the docstrings run, and print what they say they print.

Every module of the package that has a ``>>>`` example is one test. Examples that are
slow or depend on the machine carry ``# doctest: +SKIP`` in the docstring itself, so
what is skipped is visible where the example is written. A module whose optional
dependency is missing here is skipped with the reason.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import numpy as np
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mi_probe"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if ">>>" not in path.read_text():
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, one_torch_thread: None
) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and not exc.name.startswith("mi_probe"):
            pytest.skip(f"{name} needs {exc.name}, not installed here")
        raise
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    tests = [t for t in tests if t.examples]
    assert tests, f"{name} has '>>>' in its source but no example was found"
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    with np.printoptions(legacy=False):
        for test in tests:
            runner.run(test, out=report.append)
    failed, attempted = runner.failures, runner.tries
    assert not failed, f"{failed} of {attempted} examples failed:\n" + "".join(report)
