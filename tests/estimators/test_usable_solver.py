"""The logistic probe's solver: the principal-axis rotation, the preconditioned L-BFGS
and the softmax fit, each against an independent reference (a closed form, or scipy's
L-BFGS-B run to a tight tolerance on the unrotated objective)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import log_softmax

from mi_probe.estimators.usable import _fit_softmax, _lbfgs, _principal_axes


def test_lbfgs_finds_the_minimiser_of_an_ill_conditioned_quadratic() -> None:
    """f = 0.5 (t - c)^T A (t - c), condition number 1e3: the minimiser is c."""
    g = np.random.default_rng(0)
    q, _ = np.linalg.qr(g.standard_normal((40, 40)))
    a = q @ np.diag(np.geomspace(1.0, 1e3, 40)) @ q.T
    c = g.standard_normal(40)

    def fg(t: np.ndarray) -> tuple[float, np.ndarray]:
        r = a @ (t - c)
        return 0.5 * float((t - c) @ r), r

    t, evals = _lbfgs(fg, np.zeros(40), max_iter=500, ftol=1e-14)
    assert np.max(np.abs(t - c)) < 1e-4
    assert evals < 500


@pytest.mark.parametrize(("n", "d"), [(200, 30), (40, 90)])
def test_principal_axes_are_a_rotation_in_the_span_of_the_data(n: int, d: int) -> None:
    g = np.random.default_rng(1)
    x = g.standard_normal((n, d)) @ g.standard_normal((d, d))
    x -= x.mean(axis=0)
    xr, var = _principal_axes(x)
    assert xr.shape == (n, min(d, n - 1))  # centred: rank n - 1 when d >= n
    np.testing.assert_allclose(xr @ xr.T, x @ x.T, rtol=1e-8, atol=1e-8 * np.abs(x).max() ** 2)
    np.testing.assert_allclose(xr.T @ xr / n, np.diag(var), atol=1e-8 * var.max())
    assert np.all(np.diff(var) <= 0)


def _objective(x: np.ndarray, y: np.ndarray, k: int, lam: float, w: np.ndarray) -> float:
    lp = log_softmax(x @ w[:-1] + w[-1], axis=1)
    return float(-np.mean(lp[np.arange(y.size), y]) + 0.5 * lam * np.sum(w[:-1] ** 2))


@pytest.mark.parametrize("lam", [1e-1, 1e-3])
@pytest.mark.parametrize(("n", "d"), [(600, 20), (60, 90)])
def test_fit_softmax_reaches_the_reference_optimum(lam: float, n: int, d: int) -> None:
    """Correlated features, 6 classes, also wider than long (then fitted in the span of
    the data only): the fit on the rotated float32 design reaches the objective's
    minimum (scipy's L-BFGS-B, float64, unrotated, tight tolerances) to 1e-5 or 0.5%
    (a nearly separable wide case converges slowly: 0.00711 for 0.00709), and its
    predicted probabilities agree to 0.01."""
    g = np.random.default_rng(2)
    k = 6
    y = g.integers(0, k, n)
    x = (g.standard_normal((n, d)) + 0.8 * g.standard_normal((k, d))[y]) @ g.standard_normal((d, d))
    x = (x - x.mean(axis=0)) / x.std(axis=0)

    def fg(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta.reshape(d + 1, k)
        z = x @ w[:-1] + w[-1]
        p = np.exp(log_softmax(z, axis=1))
        p[np.arange(n), y] -= 1.0
        grad = np.vstack([x.T @ p, p.sum(axis=0)]) / n
        grad[:-1] += lam * w[:-1]
        return _objective(x, y, k, lam, w), grad.ravel()

    ref = minimize(
        fg,
        np.zeros((d + 1) * k),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10},
    ).x.reshape(d + 1, k)
    xr, var = _principal_axes(x)
    w, _ = _fit_softmax(np.ascontiguousarray(xr.T, dtype=np.float32), y, k, lam, var, None, 500)
    f_ref = _objective(x, y, k, lam, ref)
    # back to the original axes: logits xr w = x (V w), V = x^+ xr
    v = np.linalg.lstsq(x, xr, rcond=None)[0]
    w_orig = np.vstack([v @ w[:-1], w[-1]])
    assert _objective(x, y, k, lam, w_orig) == pytest.approx(f_ref, rel=5e-3, abs=1e-5)
    p_ref = np.exp(log_softmax(x @ ref[:-1] + ref[-1], axis=1))
    p_new = np.exp(log_softmax(xr @ w[:-1] + w[-1], axis=1))
    assert np.max(np.abs(p_new - p_ref)) < 0.01
