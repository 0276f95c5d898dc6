"""Reliability columns of the information-plane table (issue 9): at_ceiling, warning."""

import math

import numpy as np
import pytest

from mi_probe.analysis.information_plane import information_plane


def _data(n=256, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = (x[:, 0] > 0).astype(np.int64)
    return x, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_injective_layer_is_at_ceiling_and_constant_layer_is_not(seed):
    x, y = _data(seed=seed)
    acts = {"copy": x.copy(), "constant": np.zeros((x.shape[0], 2))}
    df = information_plane(
        acts,
        x,
        y,
        estimators=("binning", "kde"),
        params={"binning": {"n_bins": 1000}, "kde": {"noise_variance": 1e-6}},
    )
    copy = df[df.layer == "copy"]
    assert copy["at_ceiling"].all()
    assert np.allclose(copy["I_XT"], math.log(x.shape[0]), atol=0.01 * math.log(x.shape[0]))
    assert not df[df.layer == "constant"]["at_ceiling"].any()
    assert (df["warning"] == "").all()  # no serious flag for the fused estimators


def test_knn_rows_carry_the_estimators_warnings():
    x, y = _data(n=60, d=4)
    acts = {"t": x @ np.random.default_rng(1).standard_normal((4, 4))}
    df = information_plane(acts, x, y, estimators="ksg", params={"ksg": {"random_state": 0}})
    assert "few_samples_for_dim" in df["warning"].iloc[0]  # 60 samples for 4 + 4 dims
