"""Disentanglement metrics, tested from their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mi_probe
from mi_probe.analysis.disentanglement import (
    SCORE_KEYS,
    disentanglement_details,
    disentanglement_scores,
    mutual_info_matrix,
)

SEEDS = [0, 1, 2]
N = 800


def _factors(seed: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    v = rng.integers(0, 5, size=(N, 3))
    z = v + 0.1 * rng.standard_normal(v.shape)  # aligned, nearly noiseless codes
    return rng, v, z


_ALIGNED: dict[int, dict] = {}


def _aligned(seed: int) -> dict:
    if seed not in _ALIGNED:
        _, v, z = _factors(seed)
        _ALIGNED[seed] = _fast(z, v, seed)["scores"]
    return _ALIGNED[seed]


def _fast(codes, factors, seed, **kw):
    return disentanglement_details(codes, factors, factorvae_votes=300, random_state=seed, **kw)


@pytest.mark.parametrize("seed", SEEDS)
def test_identity_representation(seed: int) -> None:
    _, v, z = _factors(seed)
    s = _aligned(seed)
    assert set(SCORE_KEYS) <= set(s)
    assert 0.9 <= s["mig"] <= 1.0
    # SAP: the own code is ~100% accurate, the best other one is at chance (~0.2 + noise)
    assert s["sap"] > 0.65
    for key in (
        "dci_disentanglement",
        "dci_completeness",
        "dci_informativeness",
        "modularity",
        "factorvae",
    ):
        assert s[key] > 0.95, key
    assert s["tc"] < 0.05  # independent factors


@pytest.mark.parametrize("seed", SEEDS)
def test_constant_codes_score_zero(seed: int) -> None:
    _, v, _ = _factors(seed)
    s = _fast(np.ones((N, 3)), v, seed)["scores"]
    for key in (
        "mig",
        "sap",
        "dci_disentanglement",
        "dci_completeness",
        "modularity",
        "factorvae",
        "tc",
    ):
        assert s[key] == pytest.approx(0.0, abs=1e-9), key
    # informativeness: a predictor that sees nothing is at chance (5 classes)
    assert s["dci_informativeness"] < 0.3


@pytest.mark.parametrize("seed", SEEDS)
def test_duplicated_latent_has_low_mig(seed: int) -> None:
    _, v, z = _factors(seed)
    dup = np.column_stack([z[:, 0], z[:, 0], z[:, 1], z[:, 2]])
    d = _fast(dup, v, seed)
    # factor 0 is held by two identical codes: its gap is 0 by definition
    assert d["mig_per_factor"][0] == pytest.approx(0.0, abs=1e-9)
    assert d["scores"]["mig"] < 0.7  # (K - 1) / K at most
    assert d["scores"]["mig"] < _aligned(seed)["mig"] - 0.25


@pytest.mark.parametrize("seed", SEEDS)
def test_rotated_code_scores_lower_than_aligned(seed: int) -> None:
    rng, v, z = _factors(seed)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    aligned = _aligned(seed)
    rotated = _fast(z @ q, v, seed)["scores"]
    for key in ("mig", "sap", "dci_disentanglement", "dci_completeness", "modularity"):
        assert rotated[key] < aligned[key] - 0.2, key
    # the information is all still there
    assert rotated["dci_informativeness"] > 0.85


def test_mi_matrix_values_and_entry_point() -> None:
    rng = np.random.default_rng(0)
    v = rng.integers(0, 4, size=(2000, 2))
    z = np.column_stack([v[:, 0], rng.standard_normal(2000)]).astype(float)
    mi = mutual_info_matrix(z, v)
    assert mi.shape == (2, 2)
    assert mi[0, 0] == pytest.approx(np.log(4), abs=0.01)  # H(v_0), uniform on 4
    assert mi[0, 1] < 0.02 and mi[1, 0] < 0.05  # plug-in bias ~ 19*3/(2*2000) = 0.014
    s = mi_probe.disentanglement_scores(torch.tensor(z), torch.tensor(v), factorvae_votes=100)
    assert isinstance(s, dict) and all(isinstance(x, float) for x in s.values())


def test_continuous_factors_are_binned() -> None:
    rng = np.random.default_rng(0)
    f = rng.uniform(size=(600, 2))
    d = _fast(f + 0.001 * rng.standard_normal(f.shape), f, 0, n_bins=5)
    assert d["factors_binned"] and d["scores"]["mig"] > 0.8


@pytest.mark.parametrize(
    "model",
    [pytest.param("gbt", marks=pytest.mark.slow), "lasso"],  # gbt: ~20 s on 1 core
)
def test_other_dci_models(model: str) -> None:
    _, v, z = _factors(0)
    s = _fast(z[:400], v[:400], 0, dci_model=model)["scores"]
    assert s["dci_disentanglement"] > 0.8 and s["dci_informativeness"] > 0.9


def test_errors() -> None:
    _, v, z = _factors(0)
    with pytest.raises(ValueError, match="codes and factors must have the same number"):
        disentanglement_scores(z, v[:-1])
    with pytest.raises(ValueError, match="codes has 5 samples"):
        disentanglement_scores(z[:5], v[:5])
    with pytest.raises(ValueError, match="factors contains NaN"):
        disentanglement_scores(z, np.full(v.shape, np.nan))
    with pytest.raises(ValueError, match="n_bins must be >= 2"):
        disentanglement_scores(z, v, n_bins=1)
    with pytest.raises(ValueError, match="discretizer must be one of"):
        disentanglement_scores(z, v, discretizer="kmeans")
    with pytest.raises(ValueError, match="dci_model must be one of"):
        disentanglement_scores(z, v, dci_model="svm")
    with pytest.raises(ValueError, match=r"test_size must be in \(0, 1\)"):
        disentanglement_scores(z, v, test_size=1.5)
    with pytest.raises(ValueError, match="factorvae_batch_size must be >= 2"):
        disentanglement_scores(z, v, factorvae_batch_size=1)
    with pytest.raises(ValueError, match="n_bins must be >= 2"):
        mutual_info_matrix(z, v, n_bins=0)
