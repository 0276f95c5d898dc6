"""``mi-probe report`` end to end on a tiny model, and its one-line errors."""

import numpy as np
import torch

from mi_probe.cli import main

MODEL_SRC = """
import torch

def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
"""


def _files(tmp_path):
    (tmp_path / "net.py").write_text(MODEL_SRC)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    session = rng.integers(0, 3, 120)
    np.savez(tmp_path / "data.npz", x=x, y=y, session=session)
    return tmp_path / "net.py", tmp_path / "data.npz"


def test_report_writes_the_folder(tmp_path, capsys):
    net, data = _files(tmp_path)
    out = tmp_path / "rep"
    rc = main(
        [
            "report",
            f"{net}:make_model",
            str(data),
            "--y",
            "y",
            "--layers",
            "1,2",
            "--nuisance",
            "session=session",
            "--out",
            str(out),
            "--no-figures",
            "--permutations",
            "3",
            "--max-samples",
            "120",
        ]
    )
    assert rc == 0
    assert (out / "index.html").is_file() and (out / "results.csv").is_file()
    assert "wrote" in capsys.readouterr().out


def test_report_errors_are_one_line_exit_2(tmp_path, capsys):
    net, data = _files(tmp_path)
    rc = main(["report", f"{net}:make_model", str(data), "--y", "labels"])
    err = capsys.readouterr().err
    assert rc == 2 and "has no array 'labels'" in err and "Traceback" not in err
    pickled = tmp_path / "whole.pt"
    torch.save(torch.nn.Linear(4, 2), pickled)
    rc = main(["report", str(pickled), str(data)])
    err = capsys.readouterr().err
    assert rc == 2 and "--trust-pickle" in err
    rc = main(["report", f"{net}:nope", str(data)])
    assert rc == 2 and "has no function 'nope'" in capsys.readouterr().err
    rc = main(["report", f"{net}:make_model", str(data), "--nuisance", "wobble"])
    assert rc == 2 and "use one of" in capsys.readouterr().err


def test_report_input_file_errors(tmp_path, capsys):
    net, data = _files(tmp_path)
    assert main(["report", f"{net}:make_model", str(data), "--max-samples", "5"]) == 2
    assert "--max-samples must be >= 10, got 5" in capsys.readouterr().err
    bad = tmp_path / "data.txt"
    bad.write_text("1,2")
    assert main(["report", f"{net}:make_model", str(bad)]) == 2
    assert "data must be a .npz or .pt file" in capsys.readouterr().err
    assert main(["report", f"{net}:make_model", str(tmp_path / "nope.npz")]) == 2
    assert "no such file" in capsys.readouterr().err
    notdict = tmp_path / "t.pt"
    torch.save(torch.zeros(3), notdict)
    assert main(["report", f"{net}:make_model", str(notdict)]) == 2
    assert "must hold a dict of tensors" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.py") + ":f", str(data)]) == 2
    assert "no such file" in capsys.readouterr().err
    notmodel = tmp_path / "obj.pt"
    torch.save({"a": 1}, notmodel)
    assert main(["report", str(notmodel), str(data), "--trust-pickle"]) == 2
    assert "does not hold a torch.nn.Module" in capsys.readouterr().err
