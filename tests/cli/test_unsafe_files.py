"""Issue 19: malicious, object-array and corrupt files through ``report``, ``estimate`` and
``sweep`` give one line on stderr and exit status 2 (``sweep``: an error row and 1 for a
bad checkpoint), no code runs, and no message advises loading with weights_only=False."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from mi_probe._safe_load import LoadError, load_error_cause, npz_load_safe, torch_load_safe
from mi_probe.cli import main

MODEL_SRC = """
import torch

def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh())
"""


class Evil:
    """Unpickling this would write a marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    marker = str(tmp_path / "PWNED")
    raw = tmp_path / "raw_pickle.pt"
    with open(raw, "wb") as f:
        pickle.dump({"x": Evil(marker)}, f, protocol=4)
    zipped = tmp_path / "torch_pickle.pt"
    torch.save({"x": torch.zeros(4, 2), "evil": Evil(marker)}, zipped)
    objects = tmp_path / "objects.npz"
    np.savez(objects, x=np.array([{"a": 1}] * 10, dtype=object), y=np.arange(10))
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    return {"raw": raw, "zipped": zipped, "objects": objects, "corrupt": corrupt}


def _one_line_no_advice(err: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "weights_only=False" not in err and "weights_only` set to `False" not in err
    assert "\x1b[" not in err  # no ANSI codes


@pytest.mark.parametrize("which", ["raw", "zipped", "objects", "corrupt"])
def test_report_with_a_bad_data_file_is_one_line_and_exit_2(tmp_path, capsys, which) -> None:
    files = _bad_files(tmp_path)
    (tmp_path / "net.py").write_text(MODEL_SRC)
    rc = main(
        ["report", f"{tmp_path / 'net.py'}:make_model", str(files[which]), "--no-figures"]
        + ["--out", str(tmp_path / "rep")]
    )
    err = capsys.readouterr().err
    assert rc == 2
    _one_line_no_advice(err)
    assert "data file" in err
    assert not (tmp_path / "PWNED").exists()


def test_report_with_malicious_weights_is_one_line_and_exit_2(tmp_path, capsys) -> None:
    files = _bad_files(tmp_path)
    (tmp_path / "net.py").write_text(MODEL_SRC)
    np.savez(tmp_path / "ok.npz", x=np.random.default_rng(0).standard_normal((50, 2)))
    rc = main(
        ["report", f"{tmp_path / 'net.py'}:make_model", str(tmp_path / "ok.npz")]
        + ["--weights", str(files["zipped"]), "--no-figures", "--out", str(tmp_path / "rep")]
    )
    err = capsys.readouterr().err
    assert rc == 2
    _one_line_no_advice(err)
    assert "--weights" in err and "GLOBAL" in err  # the cause: a global it will not load
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("which", ["raw", "zipped", "objects", "corrupt"])
def test_estimate_with_a_bad_file_gives_the_cause(tmp_path, capsys, which) -> None:
    files = _bad_files(tmp_path)
    rc = main(["estimate", str(files[which]), "--x", "x", "--y", "y"])
    err = capsys.readouterr().err
    assert rc == 2
    _one_line_no_advice(err)
    assert f"could not read {files[which].name}: " in err
    assert not (tmp_path / "PWNED").exists()


def test_sweep_with_a_malicious_checkpoint_and_data(tmp_path, capsys) -> None:
    files = _bad_files(tmp_path)
    (tmp_path / "net.py").write_text(MODEL_SRC)
    good = tmp_path / "good.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh()).state_dict(), good)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "probe.npz", x=rng.standard_normal((60, 2)), y=rng.integers(0, 2, 60))
    config = tmp_path / "sweep.toml"
    config.write_text(
        'model = "net.py:make_model"\n'
        f'checkpoints = ["{files["zipped"].name}", "good.pt"]\n'
        'data = "probe.npz"\nlayers = ["1"]\nestimator = "binning"\nmax_retries = 0\n'
    )
    rc = main(["sweep", str(config), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1  # one checkpoint failed; it is listed with its cause
    assert "unsupported GLOBAL" in err or "Unsupported global" in err
    assert "weights_only=False" not in err and "\x1b[" not in err
    for which in ("objects", "zipped", "corrupt"):
        config.write_text(
            f'model = "net.py:make_model"\ncheckpoints = ["good.pt"]\n'
            f'data = "{files[which].name}"\nlayers = ["1"]\n'
        )
        rc = main(["sweep", str(config), "--no-progress"])
        err = capsys.readouterr().err
        assert rc == 2
        _one_line_no_advice(err)
        assert "data file" in err
    assert not (tmp_path / "PWNED").exists()


def test_load_error_cause_drops_ansi_codes_and_the_advice() -> None:
    text = (
        "\x1b[1mWeights only load failed.\x1b[0m This file can still be loaded, to do so you "
        "have two options, \x1b[1mdo those steps only if you trust the source of the "
        "checkpoint\x1b[0m. \n\t(1) In PyTorch 2.6, we changed the default value of the "
        "`weights_only` argument in `torch.load` from `False` to `True`. Re-running "
        "`torch.load` with `weights_only` set to `False` will likely succeed, but it can "
        "result in arbitrary code execution. Do it only if you got the file from a trusted "
        "source.\n\t(2) Alternatively, to load with `weights_only=True` please check the "
        "recommended steps in the following error message.\n\tWeightsUnpickler error: "
        "Unsupported global: GLOBAL __main__.Evil was not an allowed global by default. "
        "Please use `torch.serialization.add_safe_globals([Evil])` to allowlist this global "
        "if you trust this class/function.\n\nCheck the documentation of torch.load."
    )
    cause = load_error_cause(RuntimeError(text))
    assert cause == (
        "RuntimeError: Unsupported global: GLOBAL __main__.Evil was not an allowed global "
        "by default."
    )


def test_safe_loaders_raise_load_error(tmp_path) -> None:
    files = _bad_files(tmp_path)
    with pytest.raises(LoadError, match=r"could not be read with torch.load\(weights_only"):
        torch_load_safe(files["raw"], "checkpoint")
    with pytest.raises(LoadError, match="holds an array of Python objects"):
        npz_load_safe(files["objects"])
    with pytest.raises(LoadError, match="BadZipFile"):
        npz_load_safe(files["corrupt"])
    with pytest.raises(FileNotFoundError):
        torch_load_safe(tmp_path / "missing.pt")
    assert not (tmp_path / "PWNED").exists()


def test_npz_loader_names_what_a_non_npz_file_is(tmp_path) -> None:
    """A file that is not a zip archive was reported as holding pickled objects (np.load
    takes anything that is not a zip or .npy for a pickle); the message says what it is."""
    text = tmp_path / "notes.npz"
    text.write_bytes(b"garbage, not an archive")
    with pytest.raises(LoadError, match="not a .npz archive") as info:
        npz_load_safe(text, "data file")
    assert "Python objects" not in str(info.value) and "notes.npz" in str(info.value)
    single = tmp_path / "single.npz"
    with open(single, "wb") as f:
        np.save(f, np.arange(5))
    with pytest.raises(LoadError, match=r"single \.npy array"):
        npz_load_safe(single)
    with pytest.raises(FileNotFoundError):
        npz_load_safe(tmp_path / "missing.npz")


def test_report_cli_on_a_non_npz_file_says_so(tmp_path, capsys) -> None:
    model = tmp_path / "model.py"
    model.write_text(MODEL_SRC)
    data = tmp_path / "data.npz"
    data.write_bytes(b"not a zip")
    assert main(["report", f"{model}:make_model", str(data), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    _one_line_no_advice(err)
    assert "not a .npz archive" in err and "Python objects" not in err
