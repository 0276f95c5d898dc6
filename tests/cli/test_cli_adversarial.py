"""Adversarial inputs to every ``mi-probe`` subcommand but ``report`` (which has its own
tests): each bad input gives exit status 2 and ONE line on stderr that names the option
(or config key), never a traceback; valid runs are unchanged."""

from __future__ import annotations

import json
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


# --------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------
_DEMO = ["demo", "--epochs", "2", "--records", "2", "--seeds", "1", "--estimator", "binning"]
_DEMO += ["--activation", "tanh", "--no-figures"]


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--epochs", "99999999999999999999"], "--epochs must be <= 1000000"),
        (["--records", "99999999999"], "--records must be <= 10000"),
        (["--seeds", "99999999999999"], "--seeds must be <= 1000"),
        (["--seed", str(10**23)], "--seed must be between 0 and 9223372036854775807"),
        (["--seeds", "3", "--seed", str(2**63 - 2)], "(for 3 seeds from it)"),
        (["--device", "foo"], "--device must be a torch device such as cpu or cuda, got 'foo'"),
        (["--device", "meta"], "--device meta holds no data"),
    ],
)
def test_demo_bad_numbers_and_devices(tmp_path, capsys, extra, expected) -> None:
    code, _, err = _run(capsys, *_DEMO, "--out", tmp_path / "o", *extra)
    assert code == 2
    assert expected in _one_line(err)
    assert not (tmp_path / "o").exists()


def test_demo_out_that_is_a_file_is_refused_before_training(tmp_path, capsys) -> None:
    (tmp_path / "f").write_text("keep")
    code, out, err = _run(capsys, *_DEMO, "--out", tmp_path / "f")
    assert code == 2 and out == ""  # nothing trained
    assert _one_line(err).endswith(f"--out {str(tmp_path / 'f')!r} is not a folder")
    code, out, err = _run(capsys, *_DEMO, "--out", tmp_path / "f" / "sub")
    assert code == 2 and out == ""
    assert f"not a folder ({str(tmp_path / 'f')!r} is a file)" in _one_line(err)
    assert (tmp_path / "f").read_text() == "keep"


def test_demo_largest_seed_still_runs(tmp_path, capsys) -> None:
    code, out, err = _run(capsys, *_DEMO, "--seed", str(2**63 - 1), "--out", tmp_path / "o")
    assert code == 0, err
    assert (tmp_path / "o" / "information_plane.csv").is_file()


@pytest.mark.parametrize("value", [np.float32("nan"), np.float32("inf"), np.float16("-inf")])
def test_jsonable_makes_numpy_non_finite_floats_valid_json(value) -> None:
    from mi_probe.cli._common import jsonable

    text = json.dumps(jsonable(value), allow_nan=False)  # raised: NaN is not JSON
    assert json.loads(text) == str(float(value))


# --------------------------------------------------------------------------------------
# critical-periods
# --------------------------------------------------------------------------------------
_CP = ["critical-periods", "--tiny", "--no-figures", "--no-progress"]


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--post-epochs", "0"], "post_epochs must be >= 1, got 0 (--post-epochs)"),
        (["--post-epochs", "-3"], "post_epochs must be >= 1, got -3 (--post-epochs)"),
        (["--post-epochs", str(10**20)], "--post-epochs must be <= 100000"),
        (["--blur-size", "99"], "blur_size must be <= 7, got 99 (--blur-size)"),
        (["--repeats", "0"], "n_repeats must be >= 1, got 0 (--repeats)"),
        (["--repeats", "99999999999"], "--repeats must be <= 1000"),
        (["--fisher-samples", "0"], "fisher_samples must be >= 1, got 0 (--fisher-samples)"),
        (["--seed", "-1"], "--seed must be >= 0, got -1"),
        (["--seed", str(10**23)], "--seed must be between 0 and 9223372036854775807"),
        (["--removal", "-1"], "removal_epochs entries must be integers >= 0"),
        (["--removal", "3,99999999999999999999,never"], "--removal epochs must be <= 100000"),
        (["--removal", "1,1"], "removal_epochs has duplicates"),
        (["--device", "foo"], "device must be a torch device"),
    ],
)
def test_critical_periods_errors_name_the_option(tmp_path, capsys, extra, expected) -> None:
    code, out, err = _run(capsys, *_CP, "--out", tmp_path / "o", *extra)
    assert code == 2 and out == ""
    line = _one_line(err)
    assert expected in line and extra[0] in line
    assert not (tmp_path / "o").exists()


def test_critical_periods_out_that_is_a_file_is_refused_before_training(tmp_path, capsys) -> None:
    (tmp_path / "f").write_text("keep")
    code, out, err = _run(capsys, *_CP, "--out", tmp_path / "f")
    assert code == 2 and out == ""  # refused before training, not after it
    assert _one_line(err).endswith(f"--out {str(tmp_path / 'f')!r} is not a folder")
    assert (tmp_path / "f").read_text() == "keep"


# --------------------------------------------------------------------------------------
# estimate
# --------------------------------------------------------------------------------------
_KSG = ["--x", "x", "--y", "y", "--estimator", "ksg"]


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--param", "=3"], "--param needs a NAME before '=', got '=3'"),
        (
            ["--param", "n_neighbors=3", "--param", "n_neighbors=4"],
            "--param n_neighbors given twice",
        ),
        (["--param", "n_neighbors=abc"], "got 'abc' (--param n_neighbors)"),
        (["--param", "n_neighbors=$(rm -rf ~)<b>=1"], "(--param n_neighbors)"),
        (["--param", "random_state=-5"], "got -5 (--param random_state)"),
        (["--seed", "-1"], "--seed must be >= 0, got -1"),
    ],
)
def test_estimate_bad_params_and_seeds_name_the_option(npz, capsys, extra, expected) -> None:
    code, out, err = _run(capsys, "estimate", npz, *_KSG, *extra)
    assert code == 2 and out == ""
    assert expected in _one_line(err)


@pytest.mark.parametrize(
    "arrays, expected",
    [
        ({"a": [0.0] * 29 + [np.nan], "b": np.arange(30.0)}, "x contains NaN (--x 'a')"),
        ({"a": np.arange(30.0), "b": [0.0] * 29 + [np.inf]}, "y contains inf (--y 'b')"),
        ({"a": np.arange(30.0), "b": np.arange(20.0)}, "got 30 and 20 (--x 'a', --y 'b')"),
        ({"a": np.array(["s"] * 30), "b": np.arange(30.0)}, "expected a numeric array"),
        ({"a": np.ones(1), "b": np.ones(1)}, "needs more than 3 samples, got 1 in x"),
        ({"a": np.zeros(0), "b": np.zeros(0)}, "x is empty (shape (0,)) (--x 'a')"),
    ],
)
def test_estimate_bad_arrays_name_the_option(tmp_path, capsys, arrays, expected) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})
    code, out, err = _run(capsys, "estimate", path, "--x", "a", "--y", "b", "--estimator", "ksg")
    assert code == 2 and out == ""
    assert expected in _one_line(err)


@pytest.mark.parametrize(
    "content, expected",
    [(None, "no such file"), (b"hello", "not a .npz archive"), ("dir", "no such file")],
)
def test_estimate_unreadable_files(tmp_path, capsys, content, expected) -> None:
    path = tmp_path / "in.npz"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    code, _, err = _run(capsys, "estimate", path, *_KSG)
    assert code == 2 and expected in _one_line(err)


def test_estimate_missing_key_lists_the_available_ones(npz, capsys) -> None:
    code, _, err = _run(capsys, "estimate", npz, "--x", "nope", "--y", "y")
    assert code == 2 and "key 'nope' not found; available: x, y" in _one_line(err)


def test_estimate_json_stays_valid_json_with_non_finite_numpy_values(npz, capsys, monkeypatch):
    import mi_probe
    from mi_probe.result import MIResult

    def fake(x, y, **kwargs):
        return MIResult(
            value=np.float32("inf"),
            estimator="ksg",
            n_samples=len(x),
            params={"scale": np.float32("nan"), "label": "=cmd|' /C calc'!A0"},
            interval=(np.float32("nan"), np.float32("inf")),
            null=np.float32("nan"),
        )

    monkeypatch.setattr(mi_probe, "estimate_mi", fake)
    code, out, err = _run(capsys, "estimate", npz, *_KSG, "--json")
    assert code == 0, err

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    info = json.loads(out, parse_constant=refuse)
    assert info["nats"] == "inf" and info["interval"] == ["nan", "inf"]
    assert info["params"]["scale"] == "nan"


def test_estimate_valid_run_is_unchanged(npz, capsys) -> None:
    code, out, err = _run(capsys, "estimate", npz, *_KSG, "--param", "n_neighbors=4", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["params"]["n_neighbors"] == 4 and info["seed"] == 0
    assert info["nats"] > 0.1


# --------------------------------------------------------------------------------------
# sweep
# --------------------------------------------------------------------------------------
SWEEP_MODELS = """
import sys
import torch

def make():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))

def wide(width):
    return torch.nn.Sequential(torch.nn.Linear(4, width), torch.nn.Tanh())

def boom():
    raise RuntimeError("model boom\\nsecond line")

def data_boom():
    raise RuntimeError("data boom")
"""

_BASE = 'checkpoints = ["e1.pt"]\nestimator = "binning"\nlayers = ["1"]\n'
_OK = _BASE + 'model = "models.py:make"\ndata = "probe.pt"\n'


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    import fractions

    import torch

    (tmp_path / "models.py").write_text(SWEEP_MODELS)
    torch.manual_seed(0)
    x = torch.randn(40, 4)
    y = (x[:, 0] > 0).long()
    torch.save({"x": x, "y": y}, tmp_path / "probe.pt")
    np.savez(tmp_path / "strings.npz", x=np.array(["a"] * 40), y=y.numpy())
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    torch.save(net.state_dict(), tmp_path / "e1.pt")
    torch.save({"w": fractions.Fraction(1, 2)}, tmp_path / "code.pt")
    (tmp_path / "afile").write_text("keep")
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(3)\n")
    return tmp_path


def _sweep(capsys, folder: Path, config: str, *extra: str) -> tuple[int, str, str]:
    (folder / "c.toml").write_text(config)
    return _run(capsys, "sweep", folder / "c.toml", "--no-progress", *extra)


@pytest.mark.parametrize(
    "config, expected",
    [
        ("model = \n", "is not valid TOML"),
        (_OK + "foo = 1\n", "unknown key 'foo' in the config"),
        (_BASE + 'data = "probe.pt"\n', "the config has no model"),
        (_BASE + 'model = "models.py:make"\n', "the config has no data"),
        ('model = "models.py:make"\ndata = "probe.pt"\n', "the config has no checkpoints"),
        (_OK.replace("e1.pt", "nope.pt"), "checkpoints: 'nope.pt' matches no file"),
        (_BASE + 'model = "models.py:boom"\ndata = "probe.pt"\n', "model_fn() failed: Runtime"),
        (_BASE + 'model = "exits.py:f"\ndata = "probe.pt"\n', "running exits.py failed: Sys"),
        (
            _BASE + 'data = "probe.pt"\n[model]\nfactory = "models.py:wide"\nkwargs = 3\n',
            "model.kwargs must be a table",
        ),
        (
            _BASE + 'data = "probe.pt"\n[model]\nfactory = "models.py:wide"\nwidth = 3\n',
            "unknown key 'width' in [model]; valid keys: factory, kwargs",
        ),
        (
            _BASE + 'model = "models.py:make"\n[data]\nfactory = "models.py:data_boom"\n',
            "data() failed: RuntimeError: data boom",
        ),
        (
            _BASE + 'model = "models.py:make"\n[data]\nfactory = "models.py:make"\nkwargs = 5\n',
            "data.kwargs must be a table",
        ),
        (
            _BASE + 'model = "models.py:make"\n[data]\nnope = 1\n',
            "unknown key 'nope' in [data]; valid keys: path, x, y, factory, kwargs",
        ),
        (_BASE + 'model = "models.py:make"\ndata = ""\n', "data must name a .pt/.npz file"),
        (
            _BASE + 'model = "models.py:make"\n[data]\npath = "probe.pt"\nx = [1]\n',
            "data.x must be the name of an array, got [1]",
        ),
        (
            _BASE + 'model = "models.py:make"\ndata = "strings.npz"\n',
            "data x has dtype <U1; expected a numeric array",
        ),
        (_OK + 'out = "afile"\n', "out '{d}/afile' is not a folder"),
        (_OK + 'out = "afile/sub"\n', "is not a folder ('{d}/afile' is a file)"),
    ],
)
def test_sweep_bad_configs_are_one_line(sweep_dir, capsys, config, expected) -> None:
    code, out, err = _sweep(capsys, sweep_dir, config)
    assert code == 2 and out == ""
    line = _one_line(err)
    assert expected.format(d=sweep_dir) in line and "second line" not in line
    assert (sweep_dir / "afile").read_text() == "keep"


def test_sweep_missing_config(tmp_path, capsys) -> None:
    code, _, err = _run(capsys, "sweep", tmp_path / "missing.toml")
    assert code == 2 and "does not exist" in _one_line(err)


@pytest.mark.parametrize("sub", ["afile", "afile/sub"])
def test_sweep_out_option_that_is_a_file(sweep_dir, capsys, sub) -> None:
    code, out, err = _sweep(capsys, sweep_dir, _OK, "--out", str(sweep_dir / sub))
    assert code == 2 and out == ""
    assert f"--out {str(sweep_dir / sub)!r} is not a folder" in _one_line(err)
    assert (sweep_dir / "afile").read_text() == "keep"


def test_sweep_checkpoint_needing_code_is_refused_in_one_line(sweep_dir, capsys) -> None:
    config = _OK.replace("e1.pt", "code.pt") + 'out = "o"\n'
    code, out, err = _sweep(capsys, sweep_dir, config)
    assert code == 1  # the checkpoint failed; its rows hold the error
    lines = err.strip().splitlines()
    assert lines[0] == "mi-probe sweep: 1 of 1 checkpoints failed (a rerun retries them):"
    assert len(lines) == 2 and "Traceback" not in err
    assert "weights_only=True" in lines[1] and "fractions.Fraction" in lines[1]
    assert "weights_only=False" not in err


def test_sweep_valid_config_still_runs(sweep_dir, capsys) -> None:
    code, out, err = _sweep(capsys, sweep_dir, _OK + 'out = "o"\n')
    assert code == 0, err
    assert "1 rows (1 checkpoints) written to" in out
    assert (sweep_dir / "o" / "sweep.csv").is_file()


def test_sweep_api_names_the_failing_factory_and_keeps_the_cause(tmp_path) -> None:
    import torch

    from mi_probe.analysis.sweep import sweep

    def make() -> torch.nn.Module:
        return torch.nn.Sequential(torch.nn.Linear(4, 2))

    def boom() -> torch.nn.Module:
        raise KeyError("width")

    ck = tmp_path / "e.pt"
    torch.save(make().state_dict(), ck)
    data = (torch.randn(20, 4), torch.arange(20) % 2)
    with pytest.raises(ValueError, match=r"^model_fn\(\) failed: KeyError: 'width'$") as exc:
        sweep(boom, [ck], data, progress_bar=False)
    assert isinstance(exc.value.__cause__, KeyError)
    with pytest.raises(ValueError, match=r"^data\(\) failed: KeyError: 'width'$"):
        sweep(make, [ck], boom, progress_bar=False)
    with pytest.raises(ValueError, match="data x has dtype <U1"):
        sweep(make, [ck], (np.array([["a"] * 4] * 20), data[1]), progress_bar=False)
    (tmp_path / "f").write_text("keep")
    with pytest.raises(ValueError, match="is not a folder"):
        sweep(make, [ck], data, out=tmp_path / "f", progress_bar=False)
    assert (tmp_path / "f").read_text() == "keep"


def test_sweep_csv_neutralises_user_strings(tmp_path, monkeypatch) -> None:
    import csv

    import torch

    from mi_probe.analysis.sweep import sweep

    def make() -> torch.nn.Module:
        net = torch.nn.Sequential()
        net.add_module("=HYPERLINK(1)", torch.nn.Linear(4, 3))
        net.add_module("@t", torch.nn.Tanh())
        return net

    monkeypatch.chdir(tmp_path)
    torch.save(make().state_dict(), "-e+1.pt")
    data = (torch.randn(30, 4), torch.arange(30) % 2)
    df = sweep(make, ["-e+1.pt"], data, layers="all", estimator="binning", out="o")
    assert set(df["layer"]) == {"=HYPERLINK(1)", "@t"}
    with open(tmp_path / "o" / "sweep.csv", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    text_cells = [c for c in cells if c and not c.lstrip("-").replace(".", "").isdigit()]
    assert "'=HYPERLINK(1)" in cells and "'@t" in cells  # checkpoints are absolute paths
    bad = [c for c in text_cells if c[0] in "=+@\t\r" or (c[0] == "-" and not _is_number(c))]
    assert bad == []


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
