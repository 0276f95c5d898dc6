"""mutual_info_features and pairwise_mi: scikit-learn parity, ground truth, contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

import mi_probe
from mi_probe.estimators.features import mutual_info_features, pairwise_mi
from mi_probe.estimators.ksg import ksg_mi
from mi_probe.estimators.mixed import mixed_mi

N = 2000


def _layer(seed: int, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    y = g.integers(0, 4, n)
    X = np.column_stack(
        [y + s * g.standard_normal(n) for s in (0.5, 1.0, 2.0, 4.0)] + [g.standard_normal(n)]
    )
    return X, y


def test_public_names() -> None:
    assert mi_probe.mutual_info_features is mutual_info_features
    assert mi_probe.pairwise_mi is pairwise_mi


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn_classif_and_regression_1d(seed: int) -> None:
    # The same estimators (Ross; KSG 1 in the max-norm) on continuous untied data:
    # only the ~1e-10 tie-breaking noise differs, which moves no count here.
    X, y = _layer(seed)
    ours = mutual_info_features(X, y, random_state=0)
    ref = mutual_info_classif(X, y, discrete_features=False, n_neighbors=3, random_state=seed)
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    yc = 2 * X[:, 0] + np.random.default_rng(seed).standard_normal(N)
    ours = mutual_info_features(X, yc, random_state=0)
    ref = mutual_info_regression(X, yc, n_neighbors=3, random_state=seed)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_matches_sklearn_discrete_features() -> None:
    g = np.random.default_rng(3)
    y = g.integers(0, 4, N)
    Xd = np.column_stack([y, (y + g.integers(0, 2, N)) % 4, g.integers(0, 3, N)])
    np.testing.assert_allclose(
        mutual_info_features(Xd, y), mutual_info_classif(Xd, y, discrete_features=True), atol=1e-9
    )
    yc = y + g.standard_normal(N)
    np.testing.assert_allclose(
        mutual_info_features(Xd, yc, jitter=0.0),
        mutual_info_regression(Xd, yc, discrete_features=True, random_state=0),
        atol=1e-6,
    )


def test_equals_our_estimators_column_by_column() -> None:
    X, y = _layer(4, n=800)
    feats = mutual_info_features(X, y, jitter=0.0)
    single = [float(mixed_mi(X[:, j], y, jitter=0.0)) for j in range(X.shape[1])]
    np.testing.assert_allclose(feats, single, atol=1e-12)
    yc = X[:, 1] + X[:, 0]
    feats = mutual_info_features(X, yc, jitter=0.0)
    single = [float(ksg_mi(X[:, j], yc, jitter=0.0)) for j in range(X.shape[1])]
    np.testing.assert_allclose(feats, single, atol=1e-12)


def test_ground_truth_gaussian_units() -> None:
    # unit j: y_c = rho_j t_j + noise, Gaussian: I = -log(1 - rho^2) / 2 per unit
    g = np.random.default_rng(5)
    rhos = np.array([0.0, 0.3, 0.6, 0.9])
    t = g.standard_normal((4000, 4))
    target = t @ rhos / np.sqrt((rhos**2).sum())  # correlation with t_j: rho_j / |rho|
    r = rhos / np.sqrt((rhos**2).sum())
    truth = -0.5 * np.log(1 - r**2)
    est = mutual_info_features(t, target, random_state=0)
    assert np.all(np.abs(est - truth) < 0.04), (est, truth)


def test_dataframe_series_tensor_and_auto_kinds() -> None:
    X, y = _layer(6, n=600)
    df = pd.DataFrame(X, columns=[f"unit{j}" for j in range(5)])
    df["label_copy"] = y
    s = mutual_info_features(df, y, random_state=0)
    assert isinstance(s, pd.Series) and list(s.index) == list(df.columns)
    # the integer column is discrete under "auto": plug-in I(y; y) = H(y)
    counts = np.bincount(y) / y.size
    assert s["label_copy"] == pytest.approx(-np.sum(counts * np.log(counts)), abs=1e-9)
    t = mutual_info_features(torch.from_numpy(X), torch.from_numpy(y), random_state=0)
    np.testing.assert_allclose(t, mutual_info_features(X, y, random_state=0))
    masked = mutual_info_features(df, y, discrete_features=[5], random_state=0)
    np.testing.assert_allclose(masked, s.to_numpy())


def test_constant_columns_and_target() -> None:
    X, y = _layer(7, n=500)
    X[:, 2] = 1.5
    with pytest.warns(RuntimeWarning, match="X has 1 constant column"):
        v = mutual_info_features(X, y, random_state=0)
    assert v[2] == 0.0 and v[0] > 0.3
    with pytest.warns(RuntimeWarning, match="y takes only a single value"):
        assert np.all(mutual_info_features(X, np.zeros(500)) == 0.0)


def test_pairwise_symmetric_and_consistent() -> None:
    g = np.random.default_rng(8)
    a = g.standard_normal(1500)
    lab = (a > 0).astype(int)
    X = pd.DataFrame(
        {"a": a, "b": a + 0.5 * g.standard_normal(1500), "c": g.standard_normal(1500), "lab": lab}
    )
    m = pairwise_mi(X, random_state=0)
    assert list(m.index) == list(m.columns) == ["a", "b", "c", "lab"]
    assert np.isnan(np.diag(m.to_numpy())).all()
    off = m.to_numpy()[~np.eye(4, dtype=bool)]
    assert np.all(off >= 0)
    np.testing.assert_allclose(m.to_numpy(), m.to_numpy().T)
    # I(a; b) for rho = 1/sqrt(1.25): -log(1 - 0.8)/2 = 0.805
    assert abs(m.loc["a", "b"] - 0.805) < 0.06
    assert m.loc["a", "c"] < 0.03
    # I(a; 1[a > 0]) = H(lab) = log 2 (Ross, continuous-discrete)
    assert abs(m.loc["a", "lab"] - np.log(2)) < 0.05
    # the same numbers as the per-feature function with column "a" as target
    col = mutual_info_features(X[["b", "c", "lab"]], X["a"].to_numpy(), random_state=0)
    assert abs(col["b"] - m.loc["a", "b"]) < 0.02


def test_bad_input() -> None:
    X, y = _layer(9, n=100)
    with pytest.raises(ValueError, match="X and y must have the same number of samples"):
        mutual_info_features(X, y[:-1])
    with pytest.raises(ValueError, match="discrete_features must be"):
        mutual_info_features(X, y, discrete_features="yes")
    with pytest.raises(ValueError, match="discrete_features must be"):
        mutual_info_features(X, y, discrete_features=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="discrete_features must be"):
        mutual_info_features(X, y, discrete_features=[0.5])
    with pytest.raises(ValueError, match="column index out of range"):
        mutual_info_features(X, y, discrete_features=[7])
    with pytest.raises(ValueError, match="marks column 0 discrete but it holds non-integer"):
        mutual_info_features(X, y, discrete_features=[0])
    with pytest.raises(ValueError, match="discrete_target must be"):
        mutual_info_features(X, y, discrete_target="maybe")
    with pytest.raises(ValueError, match="discrete_target must be"):
        mutual_info_features(X, y, discrete_target=1)
    with pytest.raises(ValueError, match="y is marked discrete"):
        mutual_info_features(X, y + 0.5, discrete_target=True)
    with pytest.raises(ValueError, match="n_neighbors=100 needs more than 100 samples"):
        mutual_info_features(X, y, n_neighbors=100)
    with pytest.raises(ValueError, match="X contains NaN"):
        mutual_info_features(np.full((100, 2), np.nan), y)
    with pytest.raises(ValueError, match=r"mutual_info_features\(\) got unknown keyword"):
        mutual_info_features(X, y, k=3)
    with pytest.raises(ValueError, match=r"pairwise_mi\(\) got unknown keyword"):
        pairwise_mi(X, discrete_target=True)
    with pytest.raises(ValueError, match="X must have at least 2 columns"):
        pairwise_mi(X[:, :1])
    with pytest.raises(ValueError, match="n_neighbors=100 needs more than 100 samples"):
        pairwise_mi(X, n_neighbors=100)
