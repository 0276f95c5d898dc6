"""Blahut-Arimoto rate-distortion against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from mi_probe.ib import rate_distortion

from ._cases import h2


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_binary_source_hamming_matches_h_p_minus_h_d(p: float) -> None:
    # R(D) = h(p) - h(D) for D < min(p, 1-p); the slope -dR/dD = log((1-D)/D) = beta,
    # so D(beta) = 1 / (1 + e^beta). Above D_max = min(p, 1-p) the rate is 0.
    d_max = min(p, 1 - p)
    beta_c = np.log((1 - d_max) / d_max)
    betas = np.concatenate(
        [
            np.linspace(0.5 * beta_c, 0.8 * beta_c, 4) if beta_c > 0 else [],
            np.linspace(1.2 * beta_c + 0.1, 12.0, 8),
        ]
    )
    rd = rate_distortion([1 - p, p], 1 - np.eye(2), betas)
    assert rd.converged.all()
    above = rd.beta > beta_c
    d_true = 1 / (1 + np.exp(rd.beta[above]))
    np.testing.assert_allclose(rd.distortion[above], d_true, atol=1e-8)
    np.testing.assert_allclose(rd.rate[above], h2(p) - h2(d_true), atol=1e-8)
    below = ~above
    np.testing.assert_allclose(rd.rate[below], 0.0, atol=1e-8)
    np.testing.assert_allclose(rd.distortion[below], d_max, atol=1e-8)


@pytest.mark.parametrize("m", [3, 5])
def test_uniform_source_hamming_closed_form(m: int) -> None:
    # Uniform source on m symbols, Hamming distortion:
    # R(D) = log m - h(D) - D log(m - 1), with D(beta) = (m-1) / (m - 1 + e^beta).
    betas = np.linspace(1.0, 10.0, 7)
    rd, enc = rate_distortion(np.full(m, 1 / m), 1 - np.eye(m), betas, return_encoders=True)
    d_true = (m - 1) / (m - 1 + np.exp(betas))
    keep = d_true < (m - 1) / m - 1e-3
    np.testing.assert_allclose(rd.distortion[keep], d_true[keep], atol=1e-8)
    r_true = np.log(m) - h2(d_true) - d_true * np.log(m - 1)
    np.testing.assert_allclose(rd.rate[keep], r_true[keep], atol=1e-8)
    assert enc.shape == (len(betas), m, m)
    np.testing.assert_allclose(enc.sum(axis=2), 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curve_is_decreasing_convex_and_zero_mass_symbols_are_fine(seed: int) -> None:
    g = np.random.default_rng(seed)
    px = g.dirichlet(np.ones(6))
    px[2] = 0.0
    px /= px.sum()
    dist = g.uniform(0, 1, size=(6, 4))
    rd = rate_distortion(px, dist, np.geomspace(0.1, 100, 25))
    assert not rd.isna().any().any()
    r, d = rd.rate.to_numpy(), rd.distortion.to_numpy()
    # 1e-8: the solver stops when q(xhat) moves by < 1e-12, leaving rates of ~1e-10 near 0
    assert np.all(np.diff(d) <= 1e-8)  # larger beta: less distortion
    assert np.all(np.diff(r) >= -1e-8)  # and more rate
    slopes = np.diff(r) / np.minimum(np.diff(d), -1e-12)
    # chords between converged solutions only (BA slows down near R = 0)
    conv = rd.converged.to_numpy()
    moving = (np.diff(d) < -1e-6) & conv[:-1] & conv[1:]
    assert moving.sum() >= 8
    # chord slopes lie between -beta_{i+1} and -beta_i (convexity of R(D))
    b = rd.beta.to_numpy()
    assert np.all(slopes[moving] <= -b[:-1][moving] + 1e-4)
    assert np.all(slopes[moving] >= -b[1:][moving] - 1e-4)


def test_default_betas() -> None:
    rd = rate_distortion([0.5, 0.5], 2 * (1 - np.eye(2)))
    assert len(rd) == 50 and list(rd.columns)[:3] == ["beta", "rate", "distortion"]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([0.5, 0.6], 1 - np.eye(2)), "px must sum to 1"),
        (([[0.5, 0.5]], 1 - np.eye(2)), "px must be a 1-D vector"),
        (([1.5, -0.5], 1 - np.eye(2)), "px has negative entries"),
        (([0.5, 0.5], 1 - np.eye(3)), "distortion must have one row per source symbol"),
        (([0.5, 0.5], np.ones(2)), "distortion must be a \\(n_x, n_xhat\\) matrix"),
        (([0.5, 0.5], np.array([[0.0, np.nan], [1.0, 0.0]])), "distortion contains NaN or inf"),
        (([0.5, 0.5], np.zeros((2, 0))), "distortion is empty"),
        (([0.5, 0.5], np.array([["a", "b"], ["c", "d"]])), "distortion has dtype"),
        (([0.5, 0.5], 1 - np.eye(2), [0.0]), "betas must be > 0"),
    ],
)
def test_bad_input_raises(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rate_distortion(*args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"max_iter": 0}, "max_iter must be >= 1"), ({"tol": -1.0}, "tol must be > 0")],
)
def test_bad_parameters_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rate_distortion([0.5, 0.5], 1 - np.eye(2), **kwargs)
