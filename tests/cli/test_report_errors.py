"""Issue 22: ``mi-probe report`` on bad inputs gives one line on stderr naming the option
(``--x``, ``--weights``) and exit status 2, never a traceback; the final line counts only
the probed layers."""

from __future__ import annotations

import fractions
from pathlib import Path

import numpy as np
import pytest
import torch

from mi_probe.cli import main
from mi_probe.cli._common import clip

MODEL_SRC = """
import torch

def conv():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 3)
    )

def other():
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 5), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(32, 3), torch.nn.Linear(3, 2),
    )

def emb():
    torch.manual_seed(2)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Embedding(5, 2), torch.nn.Flatten())

def small_emb():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Embedding(3, 2), torch.nn.Flatten())

class Wordy(torch.nn.Module):
    def forward(self, x):
        raise RuntimeError("w" * 5000 + "\\nsecond line")

def wordy():
    return Wordy()

def broken():
    return undefined_name + 1

def not_a_module():
    return 3
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "model.py").write_text(MODEL_SRC)
    rng = np.random.default_rng(0)
    n = 40
    np.savez(
        tmp_path / "data.npz",
        x=rng.standard_normal((n, 1, 8, 8)).astype(np.float32),
        y=rng.integers(0, 2, n),
        xi=rng.integers(0, 5, (n, 1, 8, 8)),
        session=rng.integers(0, 3, n),
    )
    ns: dict = {}
    exec(MODEL_SRC, ns)
    torch.save(ns["conv"]().state_dict(), tmp_path / "w.pt")
    torch.save(ns["other"]().state_dict(), tmp_path / "other.pt")
    torch.save({"state_dict": ns["conv"]().state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    (tmp_path / "text.pt").write_text("not a torch file\n" * 100)
    torch.save({"w": torch.zeros(3), "f": fractions.Fraction(1, 2)}, tmp_path / "code.pt")
    return {
        "dir": tmp_path,
        "model": tmp_path / "model.py",
        "data": tmp_path / "data.npz",
    }


def _run(files: dict[str, Path], factory: str, *extra: str) -> int:
    return main(
        ["report", f"{files['model']}:{factory}", str(files["data"]), *extra]
        + ["--no-figures", "--quiet", "--permutations", "2", "--estimator", "gaussian"]
        + ["--out", str(files["dir"] / "rep")]
    )


def _one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_int_input_into_a_conv_model_names_x_dtype_and_shape(files, capsys) -> None:
    assert _run(files, "conv", "--x", "xi") == 2
    line = _one_line(capsys.readouterr().err)
    assert "the model failed on --x 'xi' (int64, shape (40, 1, 8, 8))" in line
    assert "RuntimeError: " in line and "should be the same" in line


def test_int_input_is_not_refused_for_an_embedding_model(files, capsys) -> None:
    assert _run(files, "emb", "--x", "xi") == 0
    assert "wrote" in capsys.readouterr().out
    # an index out of the embedding's range is the model failing, in one line
    assert _run(files, "small_emb", "--x", "xi") == 2
    line = _one_line(capsys.readouterr().err)
    assert "the model failed on --x 'xi'" in line and "IndexError: index out of range" in line


def test_a_long_model_error_is_cut_to_its_first_line_and_200_characters(files, capsys) -> None:
    assert _run(files, "wordy") == 2
    line = _one_line(capsys.readouterr().err)
    assert "the model failed on --x 'x' (float32, shape (40, 1, 8, 8)): RuntimeError: www" in line
    assert line.endswith("...") and "second line" not in line
    assert len(line) < 400


def test_weights_of_another_model_are_summarised(files, capsys) -> None:
    d = files["dir"]
    assert _run(files, "conv", "--weights", str(d / "other.pt")) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"--weights {d / 'other.pt'} does not fit the model of" in line
    assert "2 unexpected key(s) (4.weight, 4.bias)" in line
    assert "3 shape mismatch(es) (0.weight: file (2, 1, 5, 5), model (4, 1, 3, 3)" in line
    assert "Error(s) in loading state_dict" not in line
    # the other way round: keys the file lacks
    assert _run(files, "other", "--weights", str(d / "w.pt")) == 2
    line = _one_line(capsys.readouterr().err)
    assert "2 missing key(s) (4.weight, 4.bias)" in line and "unexpected" not in line


def test_a_checkpoint_dict_is_recognised(files, capsys) -> None:
    assert _run(files, "conv", "--weights", str(files["dir"] / "ckpt.pt")) == 2
    line = _one_line(capsys.readouterr().err)
    assert "4 missing key(s) (0.weight, 0.bias, 3.weight, ... (1 more))" in line
    assert "weights under state_dict" in line and "save model.state_dict()" in line


def test_missing_and_unreadable_weights_name_the_option_and_path(files, capsys) -> None:
    d = files["dir"]
    assert _run(files, "conv", "--weights", str(d / "missing.pt")) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"--weights {d / 'missing.pt'}: no such file" in line and "Errno" not in line
    assert _run(files, "conv", "--weights", str(d)) == 2
    assert f"--weights {d}: not a file" in _one_line(capsys.readouterr().err)
    assert _run(files, "conv", "--weights", str(d / "text.pt")) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"--weights {d / 'text.pt'}: not a file written by torch.save" in line
    assert "KeyError" not in line


def test_weights_that_need_code_are_refused_in_one_line(files, capsys) -> None:
    assert _run(files, "conv", "--weights", str(files["dir"] / "code.pt")) == 2
    line = _one_line(capsys.readouterr().err)
    assert "--weights" in line and "code.pt" in line and "fractions.Fraction" in line
    assert "weights_only=False" not in line


def test_errors_in_the_model_file_are_one_line_with_the_line_number(files, capsys) -> None:
    assert _run(files, "broken") == 2
    line = _one_line(capsys.readouterr().err)
    assert "broken() failed: NameError:" in line and "(model.py line " in line
    assert _run(files, "not_a_module") == 2
    assert "returned a int, not a torch.nn.Module" in _one_line(capsys.readouterr().err)
    bad = files["dir"] / "bad.py"
    bad.write_text("def f(:\n    pass\n")
    rc = main(["report", f"{bad}:f", str(files["data"])])
    assert rc == 2
    line = _one_line(capsys.readouterr().err)
    assert f"importing {bad} failed: SyntaxError" in line and "(bad.py line 1)" in line


def test_weights_with_a_whole_pickled_model_is_refused(files, capsys) -> None:
    whole = files["dir"] / "whole.pt"
    torch.save(torch.nn.Linear(64, 2), whole)
    rc = main(
        ["report", str(whole), str(files["data"]), "--trust-pickle"]
        + ["--weights", str(files["dir"] / "w.pt")]
    )
    assert rc == 2
    assert "--weights is for PATH.py:FUNCTION models" in _one_line(capsys.readouterr().err)


def test_a_pickled_model_whose_class_is_gone_is_one_line(files, capsys, monkeypatch) -> None:
    import importlib
    import sys

    (files["dir"] / "gone_mod.py").write_text(
        "import torch\nclass Net(torch.nn.Linear):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(files["dir"]))
    mod = importlib.import_module("gone_mod")
    whole = files["dir"] / "gone.pt"
    torch.save(mod.Net(64, 2), whole)
    # the class's module disappears, as when a model file is shared without its code
    (files["dir"] / "gone_mod.py").unlink()
    monkeypatch.delitem(sys.modules, "gone_mod")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(files["dir"])])
    rc = main(["report", str(whole), str(files["data"]), "--trust-pickle", "--quiet"])
    assert rc == 2
    line = _one_line(capsys.readouterr().err)
    assert "could not be loaded as a pickled model: ModuleNotFoundError" in line
    assert "gone_mod" in line


def test_the_final_line_counts_only_probed_layers(files, capsys) -> None:
    assert _run(files, "conv", "--weights", str(files["dir"] / "w.pt")) == 0
    out = capsys.readouterr().out
    assert "(input + 4 layers)" in out  # Conv2d, ReLU, Flatten, Linear
    assert _run(files, "conv", "--layers", "0,3") == 0
    assert "(input + 2 layers)" in capsys.readouterr().out


def test_the_model_forward_is_restored_after_a_failure(files) -> None:
    from mi_probe.cli.report import _forward_errors_marked, _ModelFailed

    model = torch.nn.Linear(2, 1)
    with pytest.raises(_ModelFailed), _forward_errors_marked(model):
        model(torch.zeros(3, 5))
    assert "forward" not in vars(model)
    assert model(torch.zeros(3, 2)).shape == (3, 1)


def test_clip() -> None:
    assert clip("abc", 5) == "abc"
    assert clip("a" * 10, 5) == "aa..."
