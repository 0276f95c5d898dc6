"""More extreme inputs: cases an adversarial audit found silently wrong.

- usable information at any column scale (it read 0 nats for a perfectly readable layer
  at scales <= 1e-20 and >= 1e160);
- the Gaussian estimator on near-deterministic data (it raised "singular" for
  ``y = x + 1e-6 * noise``, whose MI is large but finite);
- ``auto`` on an exact copy (``I(x; x)`` is infinite; the k-NN number is a ceiling set
  by n, and it came back unflagged).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mi_probe import estimate_mi
from mi_probe.estimators.auto import deterministic_pair
from mi_probe.estimators.gaussian import gaussian_entropy, gaussian_mi
from mi_probe.estimators.reliability import flags_for
from mi_probe.estimators.usable import usable_information

SCALES = (1e-300, 1e-20, 1.0, 1e20, 1e160, 1e300)


def _linear_rule(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian z, labels from a linear rule: usable information about 0.6-0.7 nats."""
    g = np.random.default_rng(seed)
    z = g.standard_normal((n, 3))
    y = (z @ np.array([1.0, -1.0, 0.5]) > 0).astype(int)
    return z, y


# ------------------------------------------------------------------ usable information


@pytest.fixture(scope="module")
def usable_reference() -> dict[str, object]:
    z, y = _linear_rule()
    g = np.random.default_rng(1)
    wide = np.hstack([z, 0.3 * g.standard_normal((z.shape[0], 40))])
    return {
        "z": z,
        "y": y,
        "wide": wide,
        "narrow": usable_information(z, y, n_permutations=0, random_state=0),
        "reduced": usable_information(wide, y, n_permutations=0, max_dim=8, random_state=0),
    }


@pytest.mark.parametrize("scale", SCALES)
def test_usable_information_is_scale_free(usable_reference, scale):
    ref = usable_reference["narrow"]
    z, y = usable_reference["z"], usable_reference["y"]
    assert ref.value > 0.5  # clearly informative, so a 0 at some scale would show
    got = usable_information(z * scale, y, n_permutations=0, random_state=0)
    assert got.value == pytest.approx(ref.value, rel=1e-6)
    assert got.interval == pytest.approx(ref.interval, rel=1e-6)
    assert got.diagnostics["n_constant_columns"] == 0


@pytest.mark.parametrize("scale", SCALES)
def test_usable_information_reduced_path_is_scale_free(usable_reference, scale):
    """Wider than max_dim: the principal-component path, one power of two for all columns."""
    ref = usable_reference["reduced"]
    wide, y = usable_reference["wide"], usable_reference["y"]
    assert ref.value > 0.3
    got = usable_information(wide * scale, y, n_permutations=0, max_dim=8, random_state=0)
    assert got.value == pytest.approx(ref.value, rel=1e-6)
    assert got.interval == pytest.approx(ref.interval, rel=1e-6)
    assert got.diagnostics["explained_variance"] == pytest.approx(
        ref.diagnostics["explained_variance"], rel=1e-6
    )


@pytest.mark.parametrize("scale", SCALES)
def test_usable_information_one_tiny_column_among_ordinary_ones(scale):
    """Each column is standardised on its own: a readable column at 1e-300 next to
    ordinary ones is read, not dropped as constant."""
    z, y = _linear_rule()
    ref = usable_information(z, y, n_permutations=0, random_state=0)
    zs = z.copy()
    zs[:, 0] *= scale
    got = usable_information(zs, y, n_permutations=0, random_state=0)
    assert got.value == pytest.approx(ref.value, rel=1e-6)


@pytest.mark.parametrize("scale", SCALES)
def test_usable_information_constant_columns_still_constant(scale):
    z, y = _linear_rule()
    n = z.shape[0]
    g = np.random.default_rng(2)
    exact = np.full((n, 1), 3.0)
    # a constant plus rounding noise (std / magnitude ~ 1e-17): constant to working precision
    rounded = 1.0 + np.where(g.random((n, 1)) < 0.5, 0.0, np.spacing(1.0))
    padded = np.hstack([z, exact, rounded]) * scale
    got = usable_information(padded, y, n_permutations=0, random_state=0)
    assert got.diagnostics["n_constant_columns"] == 2
    ref = usable_information(z, y, n_permutations=0, random_state=0)
    assert got.value == pytest.approx(ref.value, rel=1e-6)
    only = usable_information(padded[:, 3:], y, n_permutations=0, random_state=0)
    assert only.value == 0.0 and only.diagnostics["reduced_dim"] == 0


def test_usable_information_float32_layer_at_extreme_float32_scales():
    z, y = _linear_rule()
    ref = usable_information(z.astype(np.float32), y, n_permutations=0, random_state=0)
    for scale in (2.0**-100, 2.0**100):  # powers of two: the float32 values scale exactly
        got = usable_information(
            (z * scale).astype(np.float32), y, n_permutations=0, random_state=0
        )
        assert got.value == pytest.approx(ref.value, rel=1e-6)


# ------------------------------------------------------------------ Gaussian estimator


def _one_minus_rho2(x: np.ndarray, y: np.ndarray) -> float:
    """``1 - rho^2`` of the sample correlation, as the residual variance ratio of y on x
    (no cancellation near rho = 1, unlike ``1 - corrcoef**2``)."""
    xc, yc = x - x.mean(), y - y.mean()
    res = yc - (xc @ yc) / (xc @ xc) * xc
    return float((res @ res) / (yc @ yc))


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("noise", [1e-2, 1e-4, 1e-6, 1e-8])
def test_gaussian_near_deterministic_is_large_and_finite(seed, noise):
    g = np.random.default_rng(seed)
    x = g.standard_normal(1000)
    y = x + noise * g.standard_normal(1000)
    r = gaussian_mi(x, y)
    closed = -0.5 * np.log(_one_minus_rho2(x, y))
    assert np.isfinite(r.value) and r.value > 4.0
    assert r.value == pytest.approx(closed, rel=1e-8)
    if noise >= 1e-6:  # where 1 - corrcoef^2 itself still has a few digits
        rho = np.corrcoef(x, y)[0, 1]
        assert r.value == pytest.approx(-0.5 * np.log1p(-(rho**2)), rel=1e-3)
    assert r.diagnostics["correlation"][0] == pytest.approx(1.0, abs=1e-3)


def test_gaussian_near_deterministic_multivariate_and_scaled():
    """A 2-D pair at 1e-7 noise, with columns at wild scales: the closed form of the sample
    covariance, computed from the residual covariance of y on x."""
    g = np.random.default_rng(5)
    x = g.standard_normal((2000, 2))
    y = x @ np.array([[1.0, 0.5], [0.0, 1.0]]) + 1e-7 * g.standard_normal((2000, 2))
    xc, yc = x - x.mean(0), y - y.mean(0)
    beta = np.linalg.lstsq(xc, yc, rcond=None)[0]
    res = yc - xc @ beta
    closed = 0.5 * (np.linalg.slogdet(yc.T @ yc)[1] - np.linalg.slogdet(res.T @ res)[1])
    assert closed > 25
    got = gaussian_mi(x * np.array([1e-200, 1e150]), y * np.array([1e250, 1e-3]))
    assert got.value == pytest.approx(closed, rel=1e-7)
    assert gaussian_mi(y, x).value == pytest.approx(closed, rel=1e-7)  # symmetric


def test_gaussian_exactly_linear_relation_raises_saying_deterministic():
    x = np.random.default_rng(6).standard_normal(500)
    with pytest.raises(ValueError, match=r"joint \(x, y\) is singular.*deterministic linear"):
        gaussian_mi(x, x)
    with pytest.raises(ValueError, match=r"joint \(x, y\) is singular.*deterministic linear"):
        gaussian_mi(x, -2.5 * x + 7.0)
    # a ridge still gives a finite number, as the message suggests
    assert np.isfinite(gaussian_mi(x, x, regularization=1e-6).value)


def test_gaussian_too_few_samples_is_not_called_deterministic():
    g = np.random.default_rng(7)
    with pytest.raises(ValueError, match=r"singular.*fewer samples than dimensions") as info:
        gaussian_mi(g.standard_normal((3, 2)), g.standard_normal((3, 1)))
    assert "deterministic" not in str(info.value)


def test_gaussian_entropy_of_near_collinear_columns():
    """Two columns with 1 - rho^2 ~ 1e-14: finite entropy, equal to the closed form."""
    g = np.random.default_rng(8)
    a = g.standard_normal(1000)
    z = np.column_stack([a, a + 1e-7 * g.standard_normal(1000)])
    zc = z - z.mean(0)
    cov = zc.T @ zc / 999
    # log det via the residual of column 1 on column 0 (no cancellation)
    res = zc[:, 1] - (zc[:, 0] @ zc[:, 1]) / (zc[:, 0] @ zc[:, 0]) * zc[:, 0]
    logdet = np.log(cov[0, 0]) + np.log(res @ res / 999)
    closed = 0.5 * (2 * np.log(2 * np.pi * np.e) + logdet)
    assert gaussian_entropy(z).value == pytest.approx(closed, rel=1e-8)


# ------------------------------------------------------------------------------- auto


def _auto(x, y):
    """auto with a light configuration (the flag does not depend on the interval/null)."""
    return estimate_mi(x, y, "auto", n_resamples=4, n_permutations=5, random_state=0)


@pytest.mark.parametrize(
    ("name", "fn", "relation"),
    [
        ("copy", lambda x, g: x, "increasing"),
        ("affine", lambda x, g: -3.0 * x + 2.0, "decreasing"),
        ("exp", lambda x, g: np.exp(x), "increasing"),
        ("x + 1e-9 noise", lambda x, g: x + 1e-9 * g.standard_normal(x.shape), "increasing"),
    ],
)
def test_auto_flags_a_deterministic_relation(name, fn, relation):
    g = np.random.default_rng(0)
    x = g.standard_normal(500)
    y = fn(x, g)
    with pytest.warns(RuntimeWarning, match=r"lower bound\s+limited by n") as rec:
        r = _auto(x, y)
    assert r.diagnostics["flags"]["at_ceiling"] is True
    assert r.diagnostics["deterministic"] == {
        "x_column": 0,
        "y_column": 0,
        "relation": relation,
    }
    assert np.isfinite(r.value) and r.value > 3.0  # finite: a ceiling set by n, not the truth
    assert "infinite" in str(rec[0].message)
    assert r.diagnostics["bias"]["direction"] == "truth likely above"
    assert "at_ceiling" in r.diagnostics["bias"]["note"]
    assert flags_for(r)["warning"] == "at_ceiling"


def test_auto_flags_one_copied_column_among_several():
    """I(x; y) >= I(x_2; y_0) = infinity: one copied column is enough."""
    g = np.random.default_rng(1)
    x = g.standard_normal((500, 3))
    y = np.column_stack([x[:, 2], g.standard_normal(500)])
    with pytest.warns(RuntimeWarning, match="limited by n"):
        r = _auto(x, y)
    assert r.diagnostics["deterministic"]["x_column"] == 2
    assert r.diagnostics["deterministic"]["y_column"] == 0


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_auto_does_not_flag_an_ordinary_gaussian_pair(seed):
    g = np.random.default_rng(seed)
    x = g.standard_normal(500)
    y = 0.9 * x + np.sqrt(1 - 0.81) * g.standard_normal(500)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "auto: ", RuntimeWarning)  # not the ceiling warning
        r = _auto(x, y)
    assert r.diagnostics["flags"]["at_ceiling"] is False
    assert r.diagnostics["deterministic"] is None
    truth = -0.5 * np.log(1 - 0.81)
    assert abs(r.value - truth) < 0.15


def test_auto_copy_of_a_column_with_few_values_is_not_called_continuous():
    """A copied column of a handful of float values: its MI is H(x), finite; no flag."""
    g = np.random.default_rng(2)
    x = np.column_stack([g.choice([0.5, 1.5, 2.25], 300), g.standard_normal(300)])
    y = np.column_stack([x[:, 0], g.standard_normal(300)])
    assert deterministic_pair(x, y) is None
    x2 = x.copy()
    x2[:, 1] = np.arange(300.0)  # and a column with only ties in y: no match either
    assert deterministic_pair(x2, np.zeros((300, 1))) is None
