"""Gaussian-mixture tasks for the benchmarks, with Monte Carlo ground truth.

Two families, built as :class:`mi_probe.tasks.Task` objects (the same interface as the
package's tasks):

* benchmark-mi's fine-distribution mixtures (Czyz et al., *Beyond Normal*, and the
  ``bmi.benchmark.tasks.mixtures`` module of benchmark-mi), written here from their
  definitions with numpy: ``1v1-X-0.9``, ``1v1-AI``, ``2v1-galaxy-0.5-3.0``,
  ``2v1-waves-12-5.0-3.0``, ``{3,5}v1-concentric_gaussians-5`` and
  ``mult-sparse-w-inliers-5-5-2-2.0-0.2``;
* the mixtures of issue 18, on which ``auto`` was once confidently wrong: the sign
  mixture ``signmix-{rho}-{sigma}`` (``X = (rho Z, s rho Z) + sqrt(1 - rho^2) eta``
  with a random sign ``s``, ``Y = X + sigma E``: each coordinate of X is N(0, 1),
  X is not jointly Gaussian) and ``lowrank-mixture-{d}-{k}-{rank}-{eps}-{sigma}``
  (X an equal mixture of ``k`` zero-mean Gaussians in ``d`` dimensions, each of rank
  ``rank`` plus ``eps`` I and scaled to unit variances, ``Y = X + sigma E``).

Truth: ``I = E[log p(x, y) - log p(x) - log p(y)]`` by Monte Carlo with the exact
mixture densities (the marginals of a Gaussian mixture are the mixtures of the
components' marginals) on 100 000 draws of a fixed seed; the standard error is kept
in ``task.params["mi_se"]`` (0.001-0.006 nats). The invertible maps of x that some
tasks apply (a spiral, a wave) leave the MI unchanged and enter the sampling only.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import logsumexp

from mi_probe.tasks._base import Task
from mi_probe.tasks.gaussian import sparse_covariance

__all__ = ["MIXTURE_TASKS", "get_mixture_task"]

_MC = 100_000
_MC_SEED = 20231


class _Mixture:
    """Weights, means (k, d) and covariances (k, d, d) of a Gaussian mixture of (x, y)."""

    def __init__(self, weights, means, covs, dim_x: int, sigma: float | None = None) -> None:  # noqa: ANN001
        self.w = np.asarray(weights, dtype=float) / np.sum(weights)
        self.mu = np.asarray(means, dtype=float)
        self.cov = np.asarray(covs, dtype=float)
        self.dim_x = dim_x
        # y = x + sigma e: then I = h(y) - (d/2) log(2 pi e sigma^2), which holds even
        # where x has no density (rank-deficient components)
        self.sigma = sigma

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        k = rng.choice(self.w.size, size=n, p=self.w)
        d = self.mu.shape[1]
        chol = np.stack([np.linalg.cholesky(c + 1e-12 * np.trace(c) * np.eye(d)) for c in self.cov])
        xy = self.mu[k] + np.einsum("nij,nj->ni", chol[k], rng.standard_normal((n, d)))
        return xy[:, : self.dim_x], xy[:, self.dim_x :]

    @staticmethod
    def _logpdf(z: np.ndarray, w, mu, cov) -> np.ndarray:  # noqa: ANN001
        d = z.shape[1]
        out = []
        for wk, m, c in zip(w, mu, cov, strict=True):
            chol = np.linalg.cholesky(c)
            sol = np.linalg.solve(chol, (z - m).T)
            out.append(
                np.log(wk)
                - 0.5 * (sol**2).sum(0)
                - np.log(np.diag(chol)).sum()
                - 0.5 * d * np.log(2 * np.pi)
            )
        return logsumexp(np.stack(out), axis=0)

    def mutual_information(self) -> tuple[float, float]:
        x, y = self.sample(_MC, np.random.default_rng(_MC_SEED))
        dx = self.dim_x
        if self.sigma is not None:
            lp = self._logpdf(y, self.w, self.mu[:, dx:], self.cov[:, dx:, dx:])
            h_noise = 0.5 * y.shape[1] * np.log(2 * np.pi * np.e * self.sigma**2)
            return float(-lp.mean() - h_noise), float(lp.std() / np.sqrt(lp.size))
        joint = self._logpdf(np.hstack([x, y]), self.w, self.mu, self.cov)
        px = self._logpdf(x, self.w, self.mu[:, :dx], self.cov[:, :dx, :dx])
        py = self._logpdf(y, self.w, self.mu[:, dx:], self.cov[:, dx:, dx:])
        terms = joint - px - py
        return float(terms.mean()), float(terms.std() / np.sqrt(terms.size))


def _corr2(r: float) -> np.ndarray:
    return np.array([[1.0, r], [r, 1.0]])


def _x_task(corr: float = 0.9) -> tuple[_Mixture, object]:
    return _Mixture([0.5, 0.5], np.zeros((2, 2)), [_corr2(-corr), _corr2(corr)], 1), None


def _ai_task() -> tuple[_Mixture, object]:
    var_x, corr = 0.04, 0.95
    c = np.sqrt(var_x * 0.2) * corr
    means = [[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [-0.8, -0.2], [-1.2, 0.0], [-0.4, 0.0]]
    covs = [
        np.diag([0.01, 0.2]),
        np.diag([0.05, 0.001]),
        np.diag([0.05, 0.001]),
        np.diag([0.03, 0.001]),
        np.array([[var_x, c], [c, 0.2]]),
        np.array([[var_x, -c], [-c, 0.2]]),
    ]
    return _Mixture(np.full(6, 1 / 6), means, covs, 1), None


def _galaxy_task(speed: float = 0.5, distance: float = 3.0) -> tuple[_Mixture, object]:
    # two unit balls in (x1, x2, y) at +-distance/2 (1, 1, 1); x is then spun by a
    # rotation through speed * |x|^2 (invertible: |x| is kept)
    means = [np.full(3, -distance / 2), np.full(3, distance / 2)]
    mix = _Mixture([0.5, 0.5], means, [np.eye(3), np.eye(3)], 2)

    def spiral(x: np.ndarray) -> np.ndarray:
        t = speed * np.sum(x**2, axis=1)
        c, s = np.cos(t), np.sin(t)
        return np.stack([c * x[:, 0] - s * x[:, 1], s * x[:, 0] + c * x[:, 1]], axis=1)

    return mix, spiral


def _waves_task(k: int = 12, amplitude: float = 5.0, freq: float = 3.0):  # noqa: ANN202
    means = [np.array([i, 0.0, i % 4]) * 1.5 for i in range(k)]
    mix = _Mixture(np.ones(k) / k, means, [np.diag([0.1, 1.0, 0.1])] * k, 2)

    def wave(x: np.ndarray) -> np.ndarray:  # a shear of x0 by x1, then an affine map
        x0 = x[:, 0] + amplitude * np.sin(freq * x[:, 1])
        return np.stack([0.1 * x0 - 0.8, 0.5 * x[:, 1]], axis=1)

    return mix, wave


def _concentric_task(dim_x: int, k: int = 5) -> tuple[_Mixture, object]:
    means = [np.r_[np.zeros(dim_x), float(i)] for i in range(1, k + 1)]
    covs = [np.diag([i**2] * dim_x + [1e-4]) for i in range(1, k + 1)]
    return _Mixture(np.ones(k) / k, means, covs, dim_x), None


def _inliers_task(dx: int, dy: int, inter: int, strength: float, frac: float):  # noqa: ANN202
    sig = sparse_covariance(dx, dy, inter, strength)
    prod = sig.copy()
    prod[:dx, dx:] = 0.0
    prod[dx:, :dx] = 0.0
    return _Mixture([1 - frac, frac], np.zeros((2, dx + dy)), [sig, prod], dx), None


def _sign_task(rho: float, sigma: float) -> tuple[_Mixture, object]:
    r2 = rho**2
    covs = []
    for c in (_corr2(r2), _corr2(-r2)):
        joint = np.block([[c, c], [c, c + sigma**2 * np.eye(2)]])  # (X, X + sigma E)
        covs.append(joint)
    return _Mixture([0.5, 0.5], np.zeros((2, 4)), covs, 2, sigma=sigma), None


def _low_rank_task(d: int, k: int, rank: int, eps: float, sigma: float):  # noqa: ANN202
    g = np.random.default_rng(1)
    covs = []
    for _ in range(k):
        a = g.standard_normal((d, rank))
        c = a @ a.T + eps * np.eye(d)
        s = np.sqrt(np.diag(c))
        c = c / np.outer(s, s)
        covs.append(np.block([[c, c], [c, c + sigma**2 * np.eye(d)]]))
    return _Mixture(np.ones(k) / k, np.zeros((k, 2 * d)), covs, d, sigma=sigma), None


_BUILDERS = {
    "1v1-X-0.9": lambda: _x_task(0.9),
    "1v1-AI": _ai_task,
    "2v1-galaxy-0.5-3.0": lambda: _galaxy_task(0.5, 3.0),
    "2v1-waves-12-5.0-3.0": lambda: _waves_task(12, 5.0, 3.0),
    "3v1-concentric_gaussians-5": lambda: _concentric_task(3, 5),
    "5v1-concentric_gaussians-5": lambda: _concentric_task(5, 5),
    "mult-sparse-w-inliers-5-5-2-2.0-0.2": lambda: _inliers_task(5, 5, 2, 2.0, 0.2),
    "signmix-0.99-0.1": lambda: _sign_task(0.99, 0.1),
    "signmix-1.0-0.01": lambda: _sign_task(1.0, 0.01),
    "lowrank-mixture-10-3-2-0.05-0.4": lambda: _low_rank_task(10, 3, 2, 0.05, 0.4),
    "lowrank-mixture-10-4-2-0.1-0.5": lambda: _low_rank_task(10, 4, 2, 0.1, 0.5),
}
MIXTURE_TASKS = tuple(_BUILDERS)
"""The ids of the mixture tasks, benchmark-mi's first."""


@functools.cache
def get_mixture_task(task_id: str) -> Task:
    """The task with this id (its Monte Carlo truth computed on first use, ~1 s)."""
    if task_id not in _BUILDERS:
        raise ValueError(f"unknown mixture task {task_id!r}; known: {', '.join(MIXTURE_TASKS)}")
    mix, fx = _BUILDERS[task_id]()
    mi, se = mix.mutual_information()

    def sampler(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x, y = mix.sample(n, rng)
        return (x if fx is None else fx(x)), y

    return Task(
        id=task_id,
        dim_x=mix.dim_x,
        dim_y=mix.mu.shape[1] - mix.dim_x,
        name=task_id,
        mi=mi,
        sampler=sampler,
        params={"mi_se": se, "source": "benchmarks/_mixtures.py"},
    )
