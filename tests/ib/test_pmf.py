"""joint_from_samples and the pmf helpers."""

from __future__ import annotations

import numpy as np
import pytest

from mi_probe.ib import entropy_pmf, ib_curve, joint_from_samples, mutual_information_pmf


def test_joint_from_samples_counts() -> None:
    pxy = joint_from_samples([0, 0, 1, 1], [0, 1, 1, 1])
    np.testing.assert_allclose(pxy, [[0.25, 0.25], [0.0, 0.5]])


def test_joint_from_samples_rows_and_labels() -> None:
    x = np.array([[0, 1], [0, 1], [1, 0], [1, 1]])
    y = np.array([5, 5, 7, 5])
    pxy, xv, yv = joint_from_samples(x, y, return_labels=True)
    assert pxy.shape == (3, 2) and xv.shape == (3, 2) and yv.shape == (2, 1)
    for xi, yi in zip(x, y, strict=True):
        r = np.flatnonzero((xv == xi).all(axis=1))[0]
        c = np.flatnonzero(yv[:, 0] == yi)[0]
        assert pxy[r, c] > 0
    assert pxy.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pmf_mi_matches_discrete_estimator_and_feeds_ib_curve(seed: int) -> None:
    discrete = pytest.importorskip(
        "mi_probe.estimators.discrete", reason="mi_probe.estimators.discrete not written yet"
    )
    g = np.random.default_rng(seed)
    x = g.integers(0, 6, size=2000)
    y = (x + g.integers(0, 3, size=2000)) % 4
    pxy = joint_from_samples(x, y)
    assert mutual_information_pmf(pxy) == pytest.approx(discrete.discrete_mi(x, y).value, abs=1e-12)
    curve = ib_curve(pxy, [1e5], random_state=seed)
    assert curve.I_TY.iloc[0] == pytest.approx(mutual_information_pmf(pxy), abs=1e-6)


def test_entropy_and_mi_closed_forms() -> None:
    assert entropy_pmf(np.full(8, 1 / 8)) == pytest.approx(np.log(8))
    assert mutual_information_pmf(np.outer([0.2, 0.8], [0.5, 0.5])) == pytest.approx(0.0, abs=1e-15)
    assert mutual_information_pmf(np.diag([0.25] * 4)) == pytest.approx(np.log(4))


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        ([0, 1, 2], [0, 1], "x and y must have the same number of samples"),
        ([0.5, 1.0], [0, 1], "x must hold integer-coded discrete values"),
        ([0, 1], [np.nan, 1.0], "y contains NaN"),
        ([], [], "x is empty"),
    ],
)
def test_joint_from_samples_bad_input(x: list, y: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        joint_from_samples(x, y)
