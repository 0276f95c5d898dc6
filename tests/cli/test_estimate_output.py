"""`mi-probe estimate` reports what the API reports: auto's choice, the interval, the
null and p-value, the flags; --seed makes reruns identical."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mi_probe.cli import main
from tests._helpers import gaussian_pair


@pytest.fixture
def npz(tmp_path):
    x, y, truth = gaussian_pair(1500, 1, 0.8, seed=5)
    path = tmp_path / "d.npz"
    np.savez(path, a=x, b=y)
    return path, truth


def _run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_default_is_auto_with_interval_null_flags_in_json(npz, capsys) -> None:
    path, truth = npz
    code, out, err = _run(capsys, ["estimate", str(path), "--x", "a", "--y", "b", "--json"])
    assert code == 0, err
    res = json.loads(out)
    assert res["estimator"] == "auto" and res["choice"] and res["reason"]
    lo, hi = res["interval"]
    assert lo <= res["nats"] <= hi
    # the interval brackets the closed form (0.511 nats) here; the null is far below it
    assert lo - 0.05 < truth < hi + 0.05
    assert 0 <= res["null"] < res["nats"] and 0 < res["p_value"] <= 0.05
    assert set(res["flags"]) >= {"unstable_in_n", "few_samples_for_dim", "many_ties"}
    assert all(isinstance(v, bool) for v in res["flags"].values())
    # the switches that asked for them are not listed as parameters
    assert "interval" not in res["params"] and "null" not in res["params"]
    assert res["seed"] == 0 and res["params"]["random_state"] == 0


def test_text_output_names_every_item(npz, capsys) -> None:
    path, _ = npz
    code, out, _ = _run(capsys, ["estimate", str(path), "--x", "a", "--y", "b"])
    assert code == 0
    keys = [line.split(None, 1)[0] for line in out.strip().splitlines()]
    for key in ("estimator", "choice", "reason", "nats", "bits", "interval", "null", "p_value"):
        assert key in keys
    assert "flags" in keys
    lines = dict(line.split(None, 1) for line in out.strip().splitlines())
    assert float(lines["bits"]) == pytest.approx(float(lines["nats"]) / math.log(2), rel=1e-5)


def test_seed_makes_reruns_identical_and_changes_with_the_seed(npz, capsys) -> None:
    path, _ = npz
    argv = ["estimate", str(path), "--x", "a", "--y", "b", "--estimator", "ksg", "--json"]
    first = json.loads(_run(capsys, [*argv, "--seed", "7"])[1])
    again = json.loads(_run(capsys, [*argv, "--seed", "7"])[1])
    other = json.loads(_run(capsys, [*argv, "--seed", "8"])[1])
    assert first["nats"] == again["nats"] and first["seed"] == 7
    assert first["params"]["random_state"] == 7 and other["params"]["random_state"] == 8
    # KSG without interval/null reports none
    assert first["interval"] is None and first["null"] is None and first["p_value"] is None


def test_interval_and_null_for_another_estimator(npz, capsys) -> None:
    path, _ = npz
    argv = ["estimate", str(path), "--x", "a", "--y", "b", "--estimator", "ksg"]
    code, out, _ = _run(capsys, [*argv, "--interval", "--null", "--json"])
    res = json.loads(out)
    assert code == 0 and res["interval"] is not None and res["null"] is not None
    code, out, _ = _run(capsys, ["estimate", str(path), "--x", "a", "--y", "b", "--no-null"])
    assert code == 0 and "null" not in [ln.split()[0] for ln in out.splitlines()]


def test_seed_given_twice_is_one_line_error(npz, capsys) -> None:
    path, _ = npz
    code, _, err = _run(
        capsys,
        ["estimate", str(path), "--x", "a", "--y", "b", "--seed", "1"]
        + ["--param", "random_state=2"],
    )
    assert code == 2 and "give the seed once" in err and len(err.strip().splitlines()) == 1
