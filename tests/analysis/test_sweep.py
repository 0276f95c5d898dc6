"""Checkpoint x layer sweeps, local executor: rows equal the recorder's, closed forms on
a hand-built layer, resume after a failure or a killed process, error rows, the CLI."""

from __future__ import annotations

import functools
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import mi_probe
from mi_probe.analysis.information_plane import COLUMNS, InformationPlaneRecorder
from mi_probe.analysis.sweep import SWEEP_COLUMNS, sweep
from tests._helpers import HANG_TIMEOUT

LAYERS = ["1", "3", "4"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a loaded shared runner, two spinning threads make these
    tiny matrix products ~40x slower; values do not depend on it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Net(nn.Module):
    """4 -> 6 -> tanh -> 3 -> tanh; ``unused`` is never called in forward."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3), nn.Tanh(), nn.Linear(3, 2)
        )
        self.unused = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def make_net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3), nn.Tanh(), nn.Linear(3, 2))


def probe_set(seed: int = 0, n: int = 240) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    return x, y


def save_checkpoints(folder: Path, n: int, seed: int = 0) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        torch.manual_seed(1000 * seed + i)
        p = folder / f"epoch{i:02d}.pt"
        torch.save(make_net().state_dict(), p)
        paths.append(str(p))
    return paths


def flaky_net(flag: str, fail_on: int, counter: str | None = None) -> nn.Module:
    """``make_net`` that raises once, the ``fail_on``-th time it is called (across processes)."""
    calls = Path(flag + ".calls")
    k = int(calls.read_text()) + 1 if calls.exists() else 1
    calls.write_text(str(k))
    if k == fail_on and not Path(flag).exists():
        Path(flag).write_text("failed once")
        raise RuntimeError("failing on purpose the first time")
    return make_net()


def _values(df: pd.DataFrame) -> pd.DataFrame:
    keep = ["checkpoint", "layer", "estimator", "I_XT", "I_TY", "n_samples", "dim"]
    return df[keep].sort_values(["checkpoint", "layer", "estimator"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rows_equal_the_recorders(tmp_path: Path, seed: int) -> None:
    paths = save_checkpoints(tmp_path, 3, seed)
    x, y = probe_set(seed)
    df = sweep(
        make_net,
        paths,
        (x, y),
        LAYERS,
        estimator=["binning", "kde"],
        kde={"noise_variance": 0.05},
        progress_bar=False,
    )
    assert list(df.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert list(df.columns[len(COLUMNS) : len(COLUMNS) + len(SWEEP_COLUMNS)]) == list(SWEEP_COLUMNS)
    assert len(df) == 3 * 3 * 2 and df["error"].isna().all()
    for epoch, path in enumerate(paths):
        net = make_net()
        net.load_state_dict(torch.load(path, weights_only=True))
        rec = InformationPlaneRecorder(
            net,
            x,
            y,
            layers=LAYERS,
            estimators=["binning", "kde"],
            params={"kde": {"noise_variance": 0.05}},
        )
        want = rec.record(epoch)
        got = df[df["checkpoint"] == os.path.abspath(path)].reset_index(drop=True)
        assert (got["epoch"] == epoch).all()
        pd.testing.assert_frame_equal(
            got[["layer", "estimator", "regime", "n_samples", "dim"]],
            want[["layer", "estimator", "regime", "n_samples", "dim"]],
            check_dtype=False,
        )
        # the same code on the same weights: equal up to float32 summation order (1e-6 nats)
        np.testing.assert_allclose(got[["I_XT", "I_TY"]], want[["I_XT", "I_TY"]], rtol=0, atol=1e-6)


def test_closed_form_on_a_hand_built_layer(tmp_path: Path) -> None:
    # x in {0..15} (one column), y = x mod 2; checkpoint "zero" maps everything to 0,
    # checkpoint "identity" copies x. Binning with width-0.5 bins: I(X;T) = 0 and log 16,
    # I(T;Y) = 0 and H(Y) = log 2 (exact plug-in values on the 16 x 4 probe set).
    def lin() -> nn.Module:
        return nn.Sequential(nn.Linear(1, 1))

    zero, ident = tmp_path / "zero.pt", tmp_path / "identity.pt"
    torch.save({"0.weight": torch.zeros(1, 1), "0.bias": torch.zeros(1)}, zero)
    torch.save({"0.weight": torch.ones(1, 1), "0.bias": torch.zeros(1)}, ident)
    x = torch.arange(16.0).repeat(4).reshape(-1, 1)
    y = (torch.arange(16).repeat(4) % 2).long()
    df = sweep(
        lin,
        {10: zero, 20: ident},
        (x, y),
        ["0"],
        estimator="binning",
        strategy="fixed",
        bin_size=0.5,
        progress_bar=False,
    )
    assert df["epoch"].tolist() == [10, 20]
    assert df["I_XT"].tolist() == pytest.approx([0.0, math.log(16)], abs=1e-12)
    assert df["I_TY"].tolist() == pytest.approx([0.0, math.log(2)], abs=1e-12)


def test_data_factory_and_dataloader_equal_tensors(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path, 2)
    x, y = probe_set(3)
    ref = sweep(make_net, paths, (x, y), LAYERS, progress_bar=False)
    ds = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(ds, batch_size=50, shuffle=False)
    for data in (functools.partial(probe_set, 3), loader, lambda: loader, (x.numpy(), y.numpy())):
        got = sweep(make_net, paths, data, LAYERS, progress_bar=False)
        pd.testing.assert_frame_equal(_values(got), _values(ref))


def test_other_estimator_through_estimate_mi(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path, 1)
    x, y = probe_set(0, n=200)
    df = sweep(make_net, paths, (x, y), ["3"], estimator="ksg", n_neighbors=4, progress_bar=False)
    assert df["error"].isna().all() and np.isfinite(df[["I_XT", "I_TY"]].to_numpy()).all()
    assert df["regime"].iloc[0] == "ksg estimate on the finite probe set"


# --------------------------------------------------------------------------------------
# resume
# --------------------------------------------------------------------------------------
def test_failure_then_resume_gives_every_row_once(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 4)
    x, y = probe_set(1)
    out = tmp_path / "out"
    flag = str(tmp_path / "flag")
    # call 1 is sweep()'s own layer check; call 3 is the 2nd checkpoint's task
    model_fn = functools.partial(flaky_net, flag, 3)
    first = sweep(model_fn, paths, (x, y), LAYERS, out=out, max_retries=0, progress_bar=False)
    failed = first[first["error"].notna()]
    assert set(failed["checkpoint"]) == {os.path.abspath(paths[1])}
    assert failed["error"].str.contains("failing on purpose").all() and failed["I_XT"].isna().all()
    assert len(first) == 4 * 3 and len(list((out / "rows").glob("*.json"))) == 3 * 3
    calls_before = int(Path(flag + ".calls").read_text())
    second = sweep(model_fn, paths, (x, y), LAYERS, out=out, max_retries=0, progress_bar=False)
    # only the failed checkpoint ran again (plus the layer check): done rows were skipped
    assert int(Path(flag + ".calls").read_text()) == calls_before + 2
    assert second["error"].isna().all() and len(second) == 4 * 3
    assert not second.duplicated(["checkpoint", "layer", "estimator"]).any()
    clean = sweep(make_net, paths, (x, y), LAYERS, progress_bar=False)
    pd.testing.assert_frame_equal(_values(second), _values(clean))
    saved = pd.read_csv(out / "sweep.csv", dtype={"layer": str})
    assert len(saved) == 12 and saved["error"].isna().all()


def test_a_retry_recovers_in_the_same_run(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 3)
    flag = str(tmp_path / "flag")
    df = sweep(
        functools.partial(flaky_net, flag, 2),
        paths,
        probe_set(0),
        LAYERS,
        max_retries=1,
        progress_bar=False,
    )
    assert Path(flag).exists() and df["error"].isna().all() and len(df) == 9


_KILLED = """
import os, sys, torch
sys.path.insert(0, {root!r})
import mi_probe
from tests.analysis.test_sweep import make_net, probe_set

calls = [0]
def dies_on_third_checkpoint():
    calls[0] += 1
    if calls[0] == 4:  # call 1 checks the layers; calls 2, 3, 4 are checkpoints 1, 2, 3
        os._exit(3)    # no cleanup, no exception: as if the machine went down
    return make_net()

mi_probe.sweep(dies_on_third_checkpoint, {paths!r}, probe_set(1), {layers!r}, out={out!r},
               progress_bar=False)
"""


def test_killed_process_resumes(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 4)
    out = tmp_path / "out"
    root = str(Path(__file__).resolve().parents[2])
    script = _KILLED.format(root=root, paths=paths, layers=LAYERS, out=str(out))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,  # a hang guard, not a speed check
        env=env,
    )
    assert proc.returncode == 3, proc.stderr
    assert len(list((out / "rows").glob("*.json"))) == 2 * 3  # two checkpoints finished
    assert not list((out / "rows").glob("*.tmp"))
    df = sweep(make_net, paths, probe_set(1), LAYERS, out=out, progress_bar=False)
    assert len(df) == 12 and df["error"].isna().all()
    assert not df.duplicated(["checkpoint", "layer", "estimator"]).any()
    clean = sweep(make_net, paths, probe_set(1), LAYERS, progress_bar=False)
    pd.testing.assert_frame_equal(_values(df), _values(clean))


def test_other_settings_do_not_reuse_rows(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 2)
    out = tmp_path / "out"
    a = sweep(make_net, paths, probe_set(0), ["3"], out=out, noise_variance=0.1, progress_bar=False)
    b = sweep(make_net, paths, probe_set(0), ["3"], out=out, noise_variance=0.5, progress_bar=False)
    c = sweep(make_net, paths, probe_set(1), ["3"], out=out, noise_variance=0.1, progress_bar=False)
    assert len(list((out / "rows").glob("*.json"))) == 3 * 2
    assert (b["I_TY"].to_numpy() < a["I_TY"].to_numpy()).all()  # more noise, less information
    assert not np.allclose(a["I_XT"], c["I_XT"])
    again = sweep(
        make_net, paths, probe_set(0), ["3"], out=out, noise_variance=0.1, progress_bar=False
    )
    pd.testing.assert_frame_equal(_values(again), _values(a))


# --------------------------------------------------------------------------------------
# errors reported in rows
# --------------------------------------------------------------------------------------
def test_corrupt_missing_and_wrong_checkpoints_give_error_rows(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 3)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x02 this is not a checkpoint")
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    shape = tmp_path / "shape.pt"
    torch.save({"0.weight": torch.zeros(2, 2)}, shape)
    missing = tmp_path / "missing.pt"
    allp = [paths[0], str(corrupt), paths[1], str(tensor), str(missing), str(shape), paths[2]]
    out = tmp_path / "out"
    df = sweep(make_net, allp, probe_set(0), LAYERS, out=out, max_retries=1, progress_bar=False)
    assert len(df) == 7 * 3
    err = df.set_index("checkpoint")["error"]
    assert err[str(corrupt)].str.contains("could not be read with torch.load").all()
    assert err[str(tensor)].str.contains("holds a Tensor, not a state_dict").all()
    assert err[str(missing)].str.startswith("FileNotFoundError").all()
    assert err[str(shape)].str.startswith("RuntimeError").all()
    good = df[df["checkpoint"].isin([os.path.abspath(p) for p in paths])]
    assert good["error"].isna().all() and np.isfinite(good[["I_XT", "I_TY"]].to_numpy()).all()
    assert len(list((out / "rows").glob("*.json"))) == 3 * 3  # failures are not saved as done


def test_layer_failures_spare_the_other_layers(tmp_path: Path) -> None:
    # NaN in the last Linear's weights: layer "4" is NaN (kde raises), "1" and "3" are fine;
    # "unused" never runs in forward
    torch.manual_seed(0)
    net = Net()
    state = net.state_dict()
    state["body.4.weight"][0, 0] = float("nan")
    path = tmp_path / "nan.pt"
    torch.save(state, path)
    df = sweep(
        Net, [path], probe_set(0), ["body.1", "body.3", "body.4", "unused"], progress_bar=False
    )
    err = df.set_index("layer")["error"]
    assert err[["body.1", "body.3"]].isna().all()
    assert "activations of layer 'body.4' contain NaN" in err["body.4"]
    assert "'unused' produced no output" in err["unused"]


def test_model_fn_that_stops_returning_a_module(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path, 1)
    calls = []

    def sometimes() -> nn.Module | None:
        calls.append(1)
        return make_net() if len(calls) == 1 else None

    df = sweep(sometimes, paths, probe_set(0), ["1"], progress_bar=False, max_retries=0)
    assert df["error"].str.contains("model_fn\\(\\) must return a torch.nn.Module").all()


# --------------------------------------------------------------------------------------
# bad arguments
# --------------------------------------------------------------------------------------
def _net_and_paths(tmp_path: Path) -> list[str]:
    return save_checkpoints(tmp_path, 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"model_fn": 3}, "model_fn must be a function"),
        ({"model_fn": lambda: 3}, r"model_fn\(\) must return a torch.nn.Module"),
        ({"executor": "dask"}, "executor must be one of"),
        ({"checkpoints": []}, "checkpoints is empty"),
        ({"checkpoints": 7}, "checkpoints must be a list"),
        ({"checkpoints": [3]}, "checkpoints entries must be file paths"),
        ({"checkpoints": {"a": "x.pt"}}, "must map epochs"),
        ({"layers": ["nope"]}, "unknown layer 'nope'"),
        ({"estimator": "magic"}, "estimators must be one of"),
        ({"bandwidth": 1.0}, r"params\['kde'\] has unknown parameter bandwidth"),
        ({"estimator": "ksg", "n_bins": 3}, "estimator 'ksg' takes no parameter n_bins"),
        ({"estimator": ["kde", "binning"], "n_bins": 3}, "give parameters per estimator"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"max_retries": -1}, "max_retries must be >= 0"),
        ({"num_cpus": -1}, "num_cpus must be a number >= 0"),
        ({"num_gpus": "one"}, "num_gpus must be a number >= 0"),
        ({"device": "abacus"}, "device must be a torch device"),
        ({"data": "x.npy"}, "data must be an \\(x, y\\) pair"),
        ({"data": (torch.zeros(3, 4),) * 3}, "must be \\(x, y\\), got 3 elements"),
        ({"data": (torch.zeros(3, 4), torch.zeros(4))}, "same number of samples, got 3 and 4"),
        ({"data": (torch.zeros(0, 4), torch.zeros(0))}, "data has no rows"),
        ({"data": (torch.zeros(3, 4), torch.zeros(3, 2))}, "one column of class labels"),
        ({"data": (torch.zeros(3, 4), torch.tensor([0.5, 1, 2]))}, "integer-coded"),
        ({"data": lambda: probe_set}, "must return \\(x, y\\) or a DataLoader"),
        (
            {"data": torch.utils.data.DataLoader(torch.zeros(8, 4), batch_size=4)},
            "yield \\(x, y, ...\\) batches",
        ),
        (
            {
                "data": torch.utils.data.DataLoader(
                    torch.utils.data.TensorDataset(torch.zeros(0, 4), torch.zeros(0))
                )
            },
            "yielded no batches",
        ),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, match: str) -> None:
    args = {
        "model_fn": make_net,
        "checkpoints": _net_and_paths(tmp_path),
        "data": probe_set(0),
        "layers": ["1"],
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sweep(progress_bar=False, **args)


def test_duplicate_checkpoints(tmp_path: Path) -> None:
    p = _net_and_paths(tmp_path)[0]
    with pytest.raises(ValueError, match="lists .* twice"):
        sweep(make_net, [p, os.path.relpath(p)], probe_set(0), ["1"])


def test_ray_executor_without_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'mi-probe\[distributed\]'"):
        sweep(
            make_net,
            _net_and_paths(tmp_path),
            probe_set(0),
            ["1"],
            executor="ray",
            progress_bar=False,
        )


def test_public_name_and_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert mi_probe.sweep is sweep
    df = sweep(make_net, save_checkpoints(tmp_path, 2), probe_set(0), ["1"], progress_bar=True)
    assert len(df) == 2  # the bar writes to stderr only when a step takes long; values unchanged


# --------------------------------------------------------------------------------------
# the CLI
# --------------------------------------------------------------------------------------
def _config(tmp_path: Path, body: str) -> Path:
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(textwrap.dedent(body))
    return cfg


def _run_cli(argv: list[str]) -> int:
    import argparse

    from mi_probe.cli.sweep import add_parser, run

    parser = argparse.ArgumentParser(prog="mi-probe")
    add_parser(parser.add_subparsers(dest="command"))
    return run(parser.parse_args(["sweep", *argv]))


def test_cli_sweep_from_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_checkpoints(tmp_path / "ck", 3)
    x, y = probe_set(0)
    torch.save({"x": x, "y": y}, tmp_path / "probe.pt")
    (tmp_path / "models.py").write_text(
        "import torch\n"
        "def make(hidden=6):\n"
        "    return torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.Tanh(),\n"
        "                               torch.nn.Linear(hidden, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))\n"
    )
    cfg = _config(
        tmp_path,
        """
        [model]
        factory = "models.py:make"
        kwargs = { hidden = 6 }

        [data]
        path = "probe.pt"

        [sweep]
        checkpoints = ["ck/epoch*.pt"]
        layers = ["1", "3"]
        estimator = "kde"
        out = "results"

        [params]
        noise_variance = 0.05
    """,
    )
    assert _run_cli([str(cfg), "--no-progress"]) == 0
    table = pd.read_csv(tmp_path / "results" / "sweep.csv", dtype={"layer": str})
    ref = sweep(
        make_net,
        sorted(str(p) for p in (tmp_path / "ck").glob("*.pt")),
        (x, y),
        ["1", "3"],
        noise_variance=0.05,
        progress_bar=False,
    )
    np.testing.assert_allclose(table[["I_XT", "I_TY"]], ref[["I_XT", "I_TY"]], atol=1e-9)
    assert "6 rows" in capsys.readouterr().out


def test_cli_reports_failed_checkpoints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_checkpoints(tmp_path / "ck", 1)
    (tmp_path / "ck" / "epoch99.pt").write_bytes(b"junk")
    np.savez(tmp_path / "probe.npz", x=probe_set(0)[0].numpy(), y=probe_set(0)[1].numpy())
    (tmp_path / "models.py").write_text(
        "import torch\n"
        "def make():\n"
        "    return torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(),\n"
        "                               torch.nn.Linear(6, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))\n"
    )
    cfg = _config(
        tmp_path,
        """
        model = "models.py:make"
        data = "probe.npz"
        checkpoints = ["ck/*.pt"]
        layers = ["1"]
        out = "res"
        max_retries = 0
    """,
    )
    assert _run_cli([str(cfg), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "1 of 2 checkpoints failed" in err and "epoch99.pt" in err


@pytest.mark.parametrize(
    "body, match",
    [
        ("model = 'models.py:make'\ncheckpoints = ['*.pt']\n", "no data"),
        ("data = 'probe.npz'\ncheckpoints = ['*.pt']\n", "no model"),
        ("model = 'models.py:make'\ndata = 'probe.npz'\n", "no checkpoints"),
        (
            "model = 'models.py:make'\ndata = 'probe.npz'\ncheckpoints = ['none*.pt']\n",
            "matches no file",
        ),
        (
            "model = 'nomodule_xyz:make'\ndata = 'probe.npz'\ncheckpoints = ['*.pt']\n",
            "cannot import",
        ),
        (
            "model = 'models.py:nope'\ndata = 'probe.npz'\ncheckpoints = ['*.pt']\n",
            "has no function 'nope'",
        ),
        ("model = 'models.py'\ndata = 'probe.npz'\ncheckpoints = ['*.pt']\n", "MODULE:FUNCTION"),
        (
            "model = 'models.py:make'\ndata = 'other.npz'\ncheckpoints = ['*.pt']\n",
            "does not exist",
        ),
        (
            "model = 'models.py:make'\ndata = 'probe.npz'\ncheckpoints = ['*.pt']\nlayers = ['zz']\n",
            "unknown layer 'zz'",
        ),
        (
            "model = 'models.py:make'\ndata = 'probe.npz'\ncheckpoints = ['*.pt']\nbogus = 1\n",
            "unknown key 'bogus'",
        ),
        ("model = [", "not valid TOML"),
    ],
)
def test_cli_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, match: str
) -> None:
    save_checkpoints(tmp_path, 1)
    np.savez(tmp_path / "probe.npz", x=probe_set(0)[0].numpy(), y=probe_set(0)[1].numpy())
    (tmp_path / "models.py").write_text(
        "import torch\ndef make():\n    return torch.nn.Sequential(torch.nn.Linear(4, 2))\n"
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text(body)
    assert _run_cli([str(cfg), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("mi-probe sweep: error:")
        and match in err
        and len(err.strip().splitlines()) == 1
    )


def test_cli_missing_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli([str(tmp_path / "absent.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
