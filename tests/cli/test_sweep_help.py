"""The sweep config format is in `mi-probe sweep --help`, and what it shows is valid."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch

from mi_probe.cli import main
from mi_probe.cli.sweep import _KEYS, CONFIG_HELP, ConfigError, load_config

tomllib = pytest.importorskip("tomllib", reason="reading TOML needs Python 3.11+ (or tomli)")


def _example() -> str:
    """The help's TOML with the one-estimator [params] table swapped for the commented
    per-estimator tables."""
    body = CONFIG_HELP.split("\n\n", 1)[1].split("\nAll keys")[0]
    out, skip, tables = [], False, False
    for line in textwrap.dedent(body).splitlines():
        if line.startswith("[params]"):
            skip = True  # drop the flat table and its one entry
            continue
        if skip:
            skip = False
            continue
        if line.startswith("# [params."):
            tables = True
        elif tables and not line.startswith("# "):
            tables = False
        out.append(line.removeprefix("# ") if tables else line)
    return "\n".join(out)


def test_help_shows_the_config_format(capsys) -> None:
    assert main(["sweep", "--help"]) == 0
    out = capsys.readouterr().out
    for text in ("[params]", "[params.kde]", "checkpoints =", "executor =", "[sweep]"):
        assert text in out


def test_help_example_is_valid_toml_with_known_keys() -> None:
    cfg = tomllib.loads(CONFIG_HELP.split("\n\n", 1)[1].split("\nAll keys")[0])
    assert set(cfg) <= set(_KEYS)
    assert cfg["params"] == {"noise_variance": 0.1}
    # the commented multi-estimator form parses to one table per estimator
    several = tomllib.loads(_example())
    assert several["params"] == {"kde": {"noise_variance": 0.1}, "binning": {"n_bins": 30}}


def _project(tmp_path, params: str, estimator: str) -> str:
    (tmp_path / "models.py").write_text(
        "import torch\n"
        "def make_net():\n"
        "    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())\n"
    )
    np.savez(tmp_path / "probe.npz", x=np.zeros((8, 3), np.float32), y=np.zeros(8, np.int64))
    (tmp_path / "ckpt").mkdir()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())
    torch.save(net.state_dict(), tmp_path / "ckpt" / "epoch1.pt")
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(
        'model = "models.py:make_net"\ndata = "probe.npz"\ncheckpoints = ["ckpt/epoch*.pt"]\n'
        f"estimator = {estimator}\n{params}"
    )
    return str(cfg)


def test_per_estimator_tables_load(tmp_path) -> None:
    cfg = _project(
        tmp_path,
        "[params.kde]\nnoise_variance = 0.1\n[params.binning]\nn_bins = 30\n",
        '["binning", "kde"]',
    )
    kwargs = load_config(cfg)
    assert kwargs["kde"] == {"noise_variance": 0.1} and kwargs["binning"] == {"n_bins": 30}


def test_flat_params_with_several_estimators_says_toml(tmp_path) -> None:
    cfg = _project(tmp_path, "[params]\nnoise_variance = 0.1\n", '["binning", "kde"]')
    with pytest.raises(ConfigError, match=r"one table per estimator, e.g. \[params.kde\]"):
        load_config(cfg)
