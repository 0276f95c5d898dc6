"""More extreme inputs: cases an adversarial audit found silently wrong.

- usable information at any column scale (it read 0 nats for a perfectly readable layer
  at scales <= 1e-20 and >= 1e160);
- the Gaussian estimator on near-deterministic data (it raised "singular" for
  ``y = x + 1e-6 * noise``, whose MI is large but finite);
- ``auto`` on an exact copy (``I(x; x)`` is infinite; the k-NN number is a ceiling set
  by n, and it came back unflagged).
"""

from __future__ import annotations

import numpy as np
import pytest

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
