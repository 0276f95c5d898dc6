"""Tasks with a discrete variable: discrete-continuous mixtures and a discrete channel.

- ``mixed-uniform-{m}`` (Gao et al. 2017 [1]_, benchmark-mi's
  ``DiscreteUniformMixtureSampler``): ``x`` uniform on ``{0, ..., m-1}``,
  ``y | x ~ Uniform(x, x + 2)``; ``I = log m - (m - 1)/m * log 2``.
- ``mixed-gaussian-{k}-{sigma}``: class label ``y`` uniform on ``{0, ..., k-1}``,
  ``x | y ~ N(y, sigma^2)`` (1-D); ``I = h(x) - log(sigma sqrt(2 pi e))`` with the
  mixture entropy ``h(x)`` by adaptive quadrature (absolute error ~1e-10). This is the
  ``I(T; Y)`` of a classifier layer whose class clusters have width ``sigma``.
- ``discrete-bsc-{p}``: ``x`` a fair bit, ``y = x XOR e`` with ``e ~ Bernoulli(p)``
  (binary symmetric channel); ``I = log 2 + p log p + (1-p) log(1-p)``.

Discrete values are integer codes returned as floats.

References
----------
.. [1] W. Gao, S. Kannan, S. Oh, P. Viswanath, "Estimating mutual information for
   discrete-continuous mixtures", NeurIPS 2017.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate
from scipy.special import logsumexp, xlogy

from .._validation import check_int, check_positive
from ._base import Task, fmt_float

__all__ = [
    "uniform_mixture_mi",
    "gaussian_classes_mi",
    "bsc_mi",
    "mixed_uniform",
    "mixed_gaussian",
    "discrete_bsc",
]


def uniform_mixture_mi(m: int) -> float:
    """``log m - (m-1)/m log 2`` in nats."""
    return float(np.log(m) - (m - 1) / m * np.log(2.0))


def gaussian_classes_mi(k: int, sigma: float) -> float:
    """MI between a uniform label on ``k`` classes and ``x ~ N(label, sigma^2)``, in nats.

    Computed as ``h(x) - h(x | y)`` with ``h(x)`` of the equal-weight mixture integrated
    numerically between consecutive means (and 12 sigma beyond the outer ones).
    """
    k = check_int(k, "k", low=1)
    sigma = check_positive(sigma, "sigma")
    means = np.arange(k, dtype=np.float64)
    log_norm = -0.5 * np.log(2.0 * np.pi * sigma**2) - np.log(k)

    def neg_p_log_p(t: float) -> float:
        logp = logsumexp(-0.5 * ((t - means) / sigma) ** 2) + log_norm
        return -np.exp(logp) * logp

    knots = np.concatenate([[-12.0 * sigma], means, [k - 1 + 12.0 * sigma]])
    h_x = 0.0
    for a, b in zip(knots[:-1], knots[1:], strict=True):
        if b > a:
            h_x += integrate.quad(neg_p_log_p, a, b, limit=200, epsabs=1e-12, epsrel=1e-12)[0]
    h_x_given_y = 0.5 * np.log(2.0 * np.pi * np.e * sigma**2)
    return float(max(0.0, h_x - h_x_given_y))


def bsc_mi(p: float) -> float:
    """Capacity-achieving MI of a binary symmetric channel with flip probability ``p``."""
    return float(np.log(2.0) + xlogy(p, p) + xlogy(1.0 - p, 1.0 - p))


def mixed_uniform(m: int = 5) -> Task:
    """``mixed-uniform-{m}``: discrete ``x`` on ``m`` values, ``y | x ~ U(x, x+2)``.

    Raises
    ------
    ValueError
        ``m`` below 1.
    """
    m = check_int(m, "m", low=1)

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.integers(0, m, size=(n, 1)).astype(np.float64)
        return x, x + rng.uniform(0.0, 2.0, size=(n, 1))

    return Task(
        id=f"mixed-uniform-{m}",
        dim_x=1,
        dim_y=1,
        name=f"Discrete-uniform mixture (m={m})",
        mi=uniform_mixture_mi(m),
        sampler=sampler,
        discrete_x=True,
        params={"m": m},
    )


def mixed_gaussian(k: int = 4, sigma: float = 0.25) -> Task:
    """``mixed-gaussian-{k}-{sigma}``: continuous ``x`` given a uniform class label ``y``.

    Raises
    ------
    ValueError
        ``k`` below 1 or ``sigma`` not > 0.
    """
    k = check_int(k, "k", low=1)
    sigma = check_positive(sigma, "sigma")

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, k, size=(n, 1)).astype(np.float64)
        return y + sigma * rng.standard_normal((n, 1)), y

    return Task(
        id=f"mixed-gaussian-{k}-{fmt_float(sigma)}",
        dim_x=1,
        dim_y=1,
        name=f"Gaussian classes (k={k}, sigma={sigma})",
        mi=gaussian_classes_mi(k, sigma),
        sampler=sampler,
        discrete_y=True,
        params={"k": k, "sigma": sigma},
    )


def discrete_bsc(p: float = 0.1) -> Task:
    """``discrete-bsc-{p}``: fair bit through a binary symmetric channel.

    Raises
    ------
    ValueError
        ``p`` outside [0, 1].
    """
    p = check_positive(p, "p", allow_zero=True)
    if p > 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x = rng.integers(0, 2, size=(n, 1))
        flip = (rng.random((n, 1)) < p).astype(np.int64)
        return x.astype(np.float64), (x ^ flip).astype(np.float64)

    return Task(
        id=f"discrete-bsc-{fmt_float(p)}",
        dim_x=1,
        dim_y=1,
        name=f"Binary symmetric channel (p={p})",
        mi=bsc_mi(p),
        sampler=sampler,
        discrete_x=True,
        discrete_y=True,
        params={"p": p},
    )
