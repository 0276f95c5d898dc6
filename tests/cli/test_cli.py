"""The `mi-probe` command: estimate from files, errors, demo options."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from mi_probe.cli import main
from tests._helpers import HANG_TIMEOUT, gaussian_pair


@pytest.fixture
def pair():
    x, y, truth = gaussian_pair(2000, 1, 0.8, seed=3)
    return x[:, 0], y[:, 0], truth


def _run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("kind", ["npz", "npy", "csv", "pt"])
def test_estimate_every_file_kind(tmp_path, capsys, pair, kind) -> None:
    x, y, truth = pair
    if kind == "npz":
        path = tmp_path / "d.npz"
        np.savez(path, a=x, b=y)
        names = ["--x", "a", "--y", "b"]
    elif kind == "npy":
        path = tmp_path / "d.npy"
        np.save(path, np.stack([x, y], axis=1))
        names = ["--x", "0", "--y", "1"]
    elif kind == "csv":
        path = tmp_path / "d.csv"
        pd.DataFrame({"a": x, "b": y}).to_csv(path, index=False)
        names = ["--x", "a", "--y", "b"]
    else:
        path = tmp_path / "d.pt"
        torch.save({"a": torch.tensor(x), "b": torch.tensor(y)}, path)
        names = ["--x", "a", "--y", "b"]
    code, out, err = _run(capsys, ["estimate", str(path), *names, "--estimator", "ksg", "--json"])
    assert code == 0, err
    res = json.loads(out)
    # KSG on 2000 Gaussian samples: within 0.05 nats of the closed form (0.511 nats)
    assert abs(res["nats"] - truth) < 0.05
    assert res["bits"] == pytest.approx(res["nats"] / math.log(2))
    assert res["n_samples"] == 2000 and res["estimator"] == "ksg"


def test_estimate_table_in_nats_and_bits(tmp_path, capsys, pair) -> None:
    x, y, _ = pair
    path = tmp_path / "d.npz"
    np.savez(path, a=x, b=y)
    code, out, _ = _run(
        capsys,
        ["estimate", str(path), "--x", "a", "--y", "b", "--estimator", "ksg"]
        + ["--param", "n_neighbors=5"],
    )
    assert code == 0
    lines = dict(line.split(None, 1) for line in out.strip().splitlines())
    nats, bits = float(lines["nats"]), float(lines["bits"])
    assert bits == pytest.approx(nats / math.log(2), rel=1e-5)


def test_estimate_multi_column_csv(tmp_path, capsys) -> None:
    g = np.random.default_rng(0)
    a = g.standard_normal((1500, 2))
    df = pd.DataFrame({"a1": a[:, 0], "a2": a[:, 1], "s": a.sum(1) + g.standard_normal(1500)})
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    code, out, _ = _run(capsys, ["estimate", str(path), "--x", "a1,a2", "--y", "s", "--json"])
    assert code == 0
    # y = a1 + a2 + e: I = 0.5 log(1 + 2) = 0.549 nats
    assert abs(json.loads(out)["nats"] - 0.5 * math.log(3)) < 0.06


@pytest.mark.parametrize(
    "make, argv_tail, match",
    [
        ("npz", ["--x", "nope", "--y", "b"], "key 'nope' not found; available: a, b"),
        ("csv", ["--x", "a", "--y", "zz"], "column 'zz' not found; available: a, b"),
        ("npy", ["--x", "0", "--y", "7"], "column 7 out of range"),
        ("npy", ["--x", "a", "--y", "1"], "given by index"),
        ("pt", ["--x", "a", "--y", "c"], "key 'c' not found"),
        ("txt", ["--x", "a", "--y", "b"], "unsupported file type .txt"),
        ("missing", ["--x", "a", "--y", "b"], "no such file"),
    ],
)
def test_estimate_errors_are_one_line_exit_2(tmp_path, capsys, make, argv_tail, match) -> None:
    x = np.arange(10.0)
    path = tmp_path / f"d.{make}"
    if make == "npz":
        np.savez(path, a=x, b=x)
    elif make == "csv":
        pd.DataFrame({"a": x, "b": x}).to_csv(path, index=False)
    elif make == "npy":
        np.save(path, np.stack([x, x], 1))
    elif make == "pt":
        torch.save({"a": torch.tensor(x), "b": torch.tensor(x)}, path)
    elif make == "txt":
        path.write_text("1 2\n")
    code, out, err = _run(capsys, ["estimate", str(path), *argv_tail])
    assert code == 2
    assert match in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_pt_file_that_would_run_code_is_refused(tmp_path, capsys) -> None:
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"a": Evil()}, path)
    code, out, err = _run(capsys, ["estimate", str(path), "--x", "a", "--y", "a"])
    assert code == 2 and "could not read evil.pt" in err
    assert "pwned" not in out


def test_estimator_value_error_is_one_line(tmp_path, capsys) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, a=np.arange(10.0), b=np.arange(9.0))
    code, _, err = _run(capsys, ["estimate", str(path), "--x", "a", "--y", "b"])
    assert code == 2 and "same number of samples" in err and len(err.strip().splitlines()) == 1


def test_bad_param_and_unknown_estimator(tmp_path, capsys) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, a=np.arange(10.0), b=np.arange(10.0))
    code, _, err = _run(capsys, ["estimate", str(path), "--x", "a", "--y", "b", "--param", "k"])
    assert code == 2 and "NAME=VALUE" in err
    code, _, err = _run(
        capsys, ["estimate", str(path), "--x", "a", "--y", "b", "--estimator", "zzz"]
    )
    assert code == 2 and "invalid choice" in err
    code, _, err = _run(
        capsys, ["estimate", str(path), "--x", "a", "--y", "b", "--param", "bogus=1"]
    )
    assert code == 2 and "takes no parameter bogus" in err


def test_no_command_prints_help(capsys) -> None:
    code, out, _ = _run(capsys, [])
    assert code == 2 and "estimate" in out and "demo" in out


def test_demo_bad_options(capsys, tmp_path) -> None:
    code, _, err = _run(capsys, ["demo", "--epochs", "0", "--out", str(tmp_path)])
    assert code == 2 and "--epochs must be >= 1" in err
    code, _, err = _run(capsys, ["demo", "--records", "1", "--out", str(tmp_path)])
    assert code == 2 and "--records must be >= 2" in err
    code, _, err = _run(capsys, ["demo", "--activation", "sigmoid"])
    assert code == 2 and "invalid choice" in err
    if not torch.cuda.is_available():
        code, _, err = _run(capsys, ["demo", "--device", "cuda", "--out", str(tmp_path)])
        assert code == 2 and "CUDA is not available" in err


def test_demo_tiny_run_writes_csv_and_figures(capsys, tmp_path) -> None:
    code, out, err = _run(
        capsys,
        [
            "demo",
            "--epochs",
            "3",
            "--records",
            "2",
            "--estimator",
            "binning",
            "--activation",
            "tanh",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert code == 0, err
    df = pd.read_csv(tmp_path / "o" / "information_plane.csv")
    assert set(df["epoch"]) == {0, 1, 3} and set(df["estimator"]) == {"binning"}
    assert (tmp_path / "o" / "information_plane.png").stat().st_size > 1000
    assert "I(X;T) of the hidden layers" in out


def test_console_script_module_entry() -> None:
    # the same entry point as the `mi-probe` console script, through a real process
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from mi_probe.cli import main; sys.exit(main(['estimate', 'nofile.npz', '--x', 'a', '--y', 'b']))",
        ],
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,  # a hang guard, not a speed check
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "mi-probe estimate: error: no such file: nofile.npz"


def test_sweep_subcommand_is_wired(capsys, tmp_path) -> None:
    code, out, _ = _run(capsys, [])
    assert "sweep" in out
    code, _, err = _run(capsys, ["sweep", str(tmp_path / "missing.toml")])
    assert (
        code == 2
        and err.startswith("mi-probe sweep: error:")
        and len(err.strip().splitlines()) == 1
    )
