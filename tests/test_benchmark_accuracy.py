"""benchmarks/accuracy.py: the --json record is written as the run goes and --resume
skips what is already in it (the script is not part of the package; loaded by path)."""

from __future__ import annotations

import importlib.util
import json
import pathlib

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "accuracy.py"


@pytest.fixture(scope="module")
def accuracy():
    spec = importlib.util.spec_from_file_location("_accuracy_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ARGS = ["--n", "200", "--tasks", "1v1-normal-0.75", "--estimators", "gaussian"]


def test_json_then_resume_skips_recorded_estimates(accuracy, tmp_path, capsys) -> None:
    path = tmp_path / "acc.json"
    accuracy.main([*ARGS, "--seeds", "2", "--json", str(path)])
    data = json.loads(path.read_text())
    keys = {f"1v1-normal-0.75|gaussian|200|{s}" for s in (0, 1)}
    assert set(data["estimates"]) == keys and data["runs"] == 1
    # a sentinel in place of seed 0: a resumed run must keep it, not recompute it
    data["estimates"]["1v1-normal-0.75|gaussian|200|0"] = 123.0
    path.write_text(json.dumps(data))
    capsys.readouterr()
    accuracy.main([*ARGS, "--seeds", "3", "--json", str(path), "--resume"])
    out = capsys.readouterr().out
    data = json.loads(path.read_text())
    assert data["runs"] == 2
    assert data["estimates"]["1v1-normal-0.75|gaussian|200|0"] == 123.0
    assert "1v1-normal-0.75|gaussian|200|2" in data["estimates"]
    assert "3 seeds" in out
    # without --resume the file starts afresh
    accuracy.main([*ARGS, "--seeds", "1", "--json", str(path)])
    data = json.loads(path.read_text())
    assert list(data["estimates"]) == ["1v1-normal-0.75|gaussian|200|0"]
    assert data["estimates"]["1v1-normal-0.75|gaussian|200|0"] != 123.0


def test_resume_refuses_a_foreign_file(accuracy, tmp_path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"1v1-normal-0.75|ksg|1000": [0.41]}))
    with pytest.raises(SystemExit, match="format 2"):
        accuracy.main([*ARGS, "--json", str(path), "--resume"])


def test_resume_needs_json(accuracy) -> None:
    with pytest.raises(SystemExit):
        accuracy.main([*ARGS, "--resume"])
