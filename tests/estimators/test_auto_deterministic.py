"""auto on a deterministic relation of a *discrete* column: I(x_j; f(x_j)) = H(x_j).

Before this fix x = y = integers with 100 values at n = 500 read 6.56 nats (above
ln n = 6.21 and H(x) = ln 100 = 4.61: the Gaussian-copula ridge), and integers with
1000 values at n = 2000 were called "infinite". Truths: for x uniform on k integers,
I(x; x) = H(x) = ln k. Tolerance where n >> k: 0.05 nats (Miller-Madow on 20 seeds
read a mean within 0.003 of ln k and an sd of 0.012 at k = 100, n = 500).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mi_probe import estimate_mi
from mi_probe.estimators import auto as auto_mod
from mi_probe.estimators.auto import deterministic_pair
from mi_probe.estimators.discrete import entropy_from_counts


def _auto(x, y):
    """auto with a light configuration; returns (result, warning messages)."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = estimate_mi(x, y, "auto", n_resamples=4, n_permutations=5, random_state=0)
    return r, [str(w.message) for w in rec]


def _mm(x):
    return entropy_from_counts(np.unique(x, return_counts=True)[1], "miller-madow")


@pytest.mark.parametrize("n", [500, 2000])
@pytest.mark.parametrize("k", [5, 100, 1000])
def test_copy_of_uniform_integers_is_their_entropy(k, n):
    x = np.random.default_rng(k + n).integers(0, k, n)
    r, msgs = _auto(x, x)
    d = r.diagnostics
    det = d["deterministic_discrete"]
    assert det is not None and det["exact"] is True
    assert d.get("deterministic") is None  # not the continuous (infinite) statement
    assert r.value <= np.log(n) + 1e-12
    assert not any("infinite" in m for m in msgs)
    assert any("= H(x_0)" in m for m in msgs)
    if k * 5 <= n:  # n >> k: an estimate of ln k
        assert d["flags"]["undersampled"] is False
        assert r.value == pytest.approx(np.log(k), abs=0.05)
        assert r.value == pytest.approx(_mm(x), abs=1e-12)
        assert d["flags"].get("at_ceiling", False) is False
    else:  # 1000 values: undersampled, the estimate below ln k, and said so
        assert d["flags"]["undersampled"] is True
        assert r.value < np.log(k)
        assert any("Undersampled" in m for m in msgs)
        assert d["bias"]["direction"] == "truth likely above"
        if n == 500:  # Miller-Madow read 6.30 > ln 500: capped, at the ceiling
            assert det["capped"] is True and d["flags"]["at_ceiling"] is True
            assert r.value == pytest.approx(np.log(n), abs=1e-12)
            assert det["entropy_uncapped"] > np.log(n)


def test_the_reported_examples():
    """x = y = 0..99 at n = 500 (100 values: auto's continuous path before) and
    0..999 at n = 2000 (called infinite before)."""
    x = np.arange(500) % 100
    r, msgs = _auto(x, x)
    assert r.diagnostics["choice"] == "deterministic-discrete"
    # every value seen 5 times: plug-in ln 100, plus Miller-Madow's 99 / (2 * 500)
    assert r.value == pytest.approx(np.log(100) + 99 / 1000, abs=1e-12)
    assert r.diagnostics["flags"]["candidates_disagree"] is False
    x = np.arange(2000) % 1000
    r, msgs = _auto(x, x)
    assert r.value < np.log(2000)
    assert r.diagnostics["flags"]["undersampled"] is True
    assert not any("infinite" in m for m in msgs)


@pytest.mark.parametrize(("a", "relation"), [(3, "increasing"), (-3, "decreasing")])
def test_affine_map_of_integers(a, relation):
    x = np.random.default_rng(5).integers(0, 100, 2000)
    r, _ = _auto(x, a * x + 1)
    det = r.diagnostics["deterministic_discrete"]
    assert det["relation"] == relation
    assert r.value == pytest.approx(_mm(x), abs=1e-12)
    assert r.value == pytest.approx(np.log(100), abs=0.05)


def test_non_integer_image_of_integers_and_float_labels():
    """A bijection keeps discreteness: x / 7 of integers, or integers of x / 7; a
    copied column of three float values (repeated values: no continuous component)."""
    g = np.random.default_rng(6)
    x = g.integers(0, 50, 1000)
    for a, b in ((x, x / 7.0), (x / 7.0, x)):
        r, msgs = _auto(a, b)
        assert r.value == pytest.approx(_mm(x), abs=1e-12)
        assert not any("infinite" in m for m in msgs)
    f = g.choice([0.5, 1.5, 2.25], 600)
    r, _ = _auto(f, f)
    assert r.diagnostics["deterministic_discrete"]["n_levels"] == 3
    assert r.value == pytest.approx(np.log(3), abs=0.02)


def test_label_column_of_x_copied_to_y_is_h_of_the_label():
    """x = (label, noise), y = label: I(x; y) = H(y) exactly (ln 3 here)."""
    g = np.random.default_rng(7)
    lab = g.integers(0, 3, 1000)
    x = np.column_stack([lab, g.standard_normal(1000)])
    r, _ = _auto(x, lab)
    assert r.diagnostics["choice"] == "deterministic-discrete"
    assert r.value == pytest.approx(np.log(3), abs=0.02)


@pytest.mark.parametrize(
    "fn", [lambda x: x, np.exp, lambda x: x + 1e-9], ids=["copy", "exp", "shift"]
)
def test_continuous_copies_still_say_infinite(fn):
    x = np.random.default_rng(8).standard_normal(500)
    r, msgs = _auto(x, fn(x))
    assert r.diagnostics["deterministic"] is not None
    assert r.diagnostics["deterministic_discrete"] is None
    assert r.diagnostics["flags"]["at_ceiling"] is True
    assert any("infinite" in m for m in msgs)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_gaussian_pair_not_flagged(seed):
    g = np.random.default_rng(seed)
    x = g.standard_normal(500)
    y = 0.9 * x + np.sqrt(1 - 0.81) * g.standard_normal(500)
    r, msgs = _auto(x, y)
    assert r.diagnostics["deterministic_discrete"] is None
    assert r.diagnostics["deterministic"] is None
    assert not any("function of x column" in m for m in msgs)


def test_independent_integer_columns_not_flagged():
    g = np.random.default_rng(9)
    x, y = g.integers(0, 100, 500), g.integers(0, 100, 500)
    r, msgs = _auto(x, y)
    assert r.diagnostics["deterministic_discrete"] is None
    assert r.diagnostics["deterministic"] is None
    assert not any("function of x column" in m for m in msgs)
    assert r.value < 0.5


def test_multi_column_keeps_the_estimate_above_h():
    g = np.random.default_rng(10)
    c = g.integers(0, 100, 500)
    x = np.column_stack([c, g.standard_normal(500)])
    y = np.column_stack([g.standard_normal(500), c])
    r, msgs = _auto(x, y)
    det = r.diagnostics["deterministic_discrete"]
    assert (det["x_column"], det["y_column"], det["exact"]) == (0, 1, False)
    assert r.value >= det["entropy"]
    assert any("a lower bound" in m for m in msgs)


def test_multi_column_floor_applies_when_the_kept_estimate_is_below(monkeypatch):
    """I(x; y) >= H(x_j): a kept estimate below it is raised to it, and said so."""

    def low(a, b, seed, **kw):
        extra = {
            "gaussian_uncorrected": 0.5,
            "negentropy": {"x": 0.0, "y": 0.0},
            "correction": 0.0,
            "corrected": False,
            "skipped": {},
            "check": None,
        }
        return {"ksg_copula": 0.5}, extra

    monkeypatch.setattr(auto_mod, "_continuous_candidates", low)
    g = np.random.default_rng(11)
    c = g.integers(0, 100, 500)
    x = np.column_stack([c, g.standard_normal(500)])
    y = np.column_stack([c, g.standard_normal(500)])
    r, msgs = _auto(x, y)
    det = r.diagnostics["deterministic_discrete"]
    assert det["floor_applied"] is True
    assert r.diagnostics["raw_value"] == pytest.approx(0.5)
    assert r.value == pytest.approx(_mm(c), abs=1e-12)
    assert r.interval[1] >= r.value
    assert any("raised to it" in m for m in msgs)


def test_deterministic_pair_kinds():
    g = np.random.default_rng(12)
    ints = g.integers(0, 1000, 2000)[:, None].astype(float)
    gauss = g.standard_normal((2000, 1))
    const = np.zeros((2000, 1))
    # integers with 13% singletons: discrete, never the continuous (infinite) kind
    assert deterministic_pair(ints, ints) is None
    assert deterministic_pair(ints, 2 * ints, discrete=True) == {
        "x_column": 0,
        "y_column": 0,
        "relation": "increasing",
        "n_levels": np.unique(ints).size,
    }
    assert deterministic_pair(gauss, -gauss)["relation"] == "decreasing"
    assert deterministic_pair(gauss, gauss, discrete=True) is None
    assert deterministic_pair(const, const, discrete=True) is None
    assert deterministic_pair(const, const) is None
