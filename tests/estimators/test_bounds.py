"""Hard bounds: apply_ceiling, the Gaussian estimate against H(y), the KDE against ln n."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from mi_probe import estimate_mi
from mi_probe.estimators._bounds import (
    apply_ceiling,
    apply_discrete_ceiling,
    discrete_entropy,
    plugin_entropy,
)
from mi_probe.estimators.gaussian import gaussian_mi
from mi_probe.estimators.kde import noisy_layer_mi
from mi_probe.result import MIResult

# --- apply_ceiling ------------------------------------------------------------------------


def test_apply_ceiling_clamps_flags_and_warns() -> None:
    r = MIResult(5.0, "x", 10, interval=(4.0, 6.0))
    with pytest.warns(RuntimeWarning, match="exceeds its hard ceiling H\\(y\\)"):
        c = apply_ceiling(r, 3.0, "H(y)")
    assert c.value == 3.0
    assert c.interval == (3.0, 3.0)
    assert c.diagnostics["unclamped_value"] == 5.0
    assert c.diagnostics["exceeded_ceiling"] is True
    assert c.diagnostics["at_ceiling"] is True
    assert c.diagnostics["ceiling_name"] == "H(y)"


def test_apply_ceiling_below_leaves_the_value() -> None:
    r = MIResult(1.0, "x", 10, diagnostics={"raw_value": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = apply_ceiling(r, 3.0, "ln n")
    assert c.value == 1.0
    assert c.diagnostics["at_ceiling"] is False
    assert c.diagnostics["exceeded_ceiling"] is False
    near = apply_ceiling(MIResult(2.98, "x", 10), 3.0, "ln n")
    assert near.diagnostics["at_ceiling"] is True  # 99% of the ceiling
    assert (
        apply_ceiling(MIResult(3.0 + 1e-12, "x", 10), 3.0, "ln n").diagnostics["exceeded_ceiling"]
        is False
    )  # rounding, not an impossible value


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ceiling": -1.0}, "ceiling must be"),
        ({"ceiling": float("nan")}, "ceiling must be"),
        ({"ceiling": 1.0, "fraction": 0.0}, "fraction must be"),
        ({"ceiling": 1.0, "fraction": 1.5}, "fraction must be"),
    ],
)
def test_apply_ceiling_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        apply_ceiling(MIResult(1.0, "x", 10), name="c", **kwargs)


def test_discrete_entropy_detects_labels() -> None:
    y = np.array([0, 1, 1, 2, 2, 2])
    h = plugin_entropy(y)
    assert discrete_entropy(y) == pytest.approx(h)
    assert discrete_entropy(np.eye(3)[y]) == pytest.approx(h)  # one-hot
    assert discrete_entropy(torch.tensor(y)) == pytest.approx(h)
    assert discrete_entropy(y.astype(float)) == pytest.approx(h)
    assert discrete_entropy(np.random.default_rng(0).standard_normal(50)) is None
    assert discrete_entropy(np.arange(50.0)) is None  # integer floats, all distinct
    # huge floats are all integers: not labels (an int64 cast would collapse them)
    assert discrete_entropy(np.repeat([1e155, 2e155], 25)) is None
    big = np.array([2**62, 2**62 + 1, 5] * 10, dtype=np.int64)  # no float rounding
    assert discrete_entropy(big) == pytest.approx(np.log(3))


# --- Gaussian estimator against H(y) ---------------------------------------------------------


def test_gaussian_mi_of_one_hot_classes_is_clamped_at_h_y() -> None:
    """The issue's case: z that nearly determines a one-hot class, many units."""
    g = np.random.default_rng(0)
    n, k, d = 600, 8, 40
    y = g.integers(0, k, n)
    z = g.standard_normal((k, d))[y] * 5.0 + 0.05 * g.standard_normal((n, d))
    h = plugin_entropy(y)
    with pytest.warns(RuntimeWarning, match="hard ceiling H\\(y\\)"):
        r = gaussian_mi(z, np.eye(k)[y], regularization=1e-6)
    assert r.diagnostics["unclamped_value"] > h  # the Gaussian formula overshoots
    assert r.value == pytest.approx(h)
    assert r.diagnostics["at_ceiling"] is True
    with pytest.warns(RuntimeWarning, match="hard ceiling"):
        r2 = estimate_mi(z, y, "gaussian")
    assert r2.value <= h


def test_gaussian_mi_continuous_is_untouched() -> None:
    g = np.random.default_rng(1)
    x = g.standard_normal(3000)
    y = 0.99 * x + 0.14 * g.standard_normal(3000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = gaussian_mi(x, y)
    assert "ceiling" not in r.diagnostics
    assert r.value > 1.5


def test_apply_discrete_ceiling_takes_the_smaller_entropy() -> None:
    x = np.repeat([0, 1], 50)  # H = ln 2
    y = np.arange(100) % 4  # H = ln 4
    with pytest.warns(RuntimeWarning):
        r = apply_discrete_ceiling(MIResult(2.0, "x", 100), x, y)
    assert r.value == pytest.approx(np.log(2))
    assert r.diagnostics["ceiling_name"] == "H(x)"


# --- KDE noisy layer against ln n -----------------------------------------------------------


def _far_apart_float32(n: int = 500, d: int = 8000) -> torch.Tensor:
    """Positive, offset, wide activations (as after a ReLU): the float32 expansion
    |a|^2 + |b|^2 - 2 a.b left each sample a self-distance of order 1e-2 here."""
    g = np.random.default_rng(0)
    return torch.from_numpy(np.abs(g.standard_normal((n, d)) * 3 + 5).astype(np.float32))


@pytest.mark.parametrize("s2", [0.1, 1.0])
def test_noisy_layer_never_exceeds_log_n_on_wide_float32(s2: float) -> None:
    t = _far_apart_float32()
    n = t.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing was clamped: the sums are right
        r = noisy_layer_mi(np.arange(n), t, noise_variance=s2)
    # before the fix: upper 6.2169 > ln 500 = 6.2146 at s2 = 0.1
    assert r.diagnostics["upper"] <= np.log(n) + 1e-12
    assert r.diagnostics["lower"] <= np.log(n) + 1e-12
    assert r.value <= np.log(n)
    assert r.diagnostics["at_ceiling"] is True
    assert r.diagnostics["ceiling"] == pytest.approx(np.log(n))


def test_noisy_layer_explicit_backend_is_floored_and_clamped() -> None:
    t = _far_apart_float32(300, 6000)
    r = noisy_layer_mi(np.arange(300), t, noise_variance=0.1, backend="torch")
    assert r.value <= np.log(300)
    assert r.diagnostics["upper"] <= np.log(300) + 1e-6


def test_noisy_layer_labels_never_exceed_h_y() -> None:
    t = _far_apart_float32(400, 4000)
    y = np.arange(400) % 7
    r = noisy_layer_mi(y, t, noise_variance=0.1)
    assert r.value <= plugin_entropy(y)
    assert r.diagnostics["ceiling_name"] == "H(x)"
    assert r.diagnostics["ceiling"] == pytest.approx(plugin_entropy(y))


def test_noisy_layer_exact_route_matches_float64_reference() -> None:
    """The exact-diagonal sums are the same numbers as the numpy backend in float64."""
    g = np.random.default_rng(3)
    t = np.tanh(g.standard_normal((700, 6)))  # more than one 512-row block
    y = g.integers(0, 3, 700)
    ref = noisy_layer_mi(y, t, noise_variance=0.02, backend="numpy")
    r = noisy_layer_mi(y, t, noise_variance=0.02)
    for key in ("upper", "lower", "h_upper", "h_lower"):
        assert r.diagnostics[key] == pytest.approx(ref.diagnostics[key], abs=1e-10)


def test_kde_mi_of_affinely_dependent_pair_raises() -> None:
    x = np.random.default_rng(4).standard_normal((100, 2))
    with pytest.raises(ValueError, match="the joint \\(x, y\\) has a singular covariance"):
        estimate_mi(x, x @ np.ones((2, 1)), "kde")
