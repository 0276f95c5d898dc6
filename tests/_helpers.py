"""Small data generators shared by tests."""

from __future__ import annotations

import numpy as np


def gaussian_pair(n: int, d: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """x, y with y_i = rho x_i + sqrt(1-rho^2) e_i per coordinate; truth -d/2 log(1-rho^2)."""
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, d))
    y = rho * x + np.sqrt(1 - rho**2) * g.standard_normal((n, d))
    return x, y, -0.5 * d * np.log(1 - rho**2)
