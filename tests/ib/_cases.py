"""Joint pmfs with known IB / rate-distortion answers, shared by the IB tests."""

from __future__ import annotations

import numpy as np

LN2 = float(np.log(2.0))


def h2(p: np.ndarray | float) -> np.ndarray:
    """Binary entropy in nats (0 log 0 = 0)."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    out = np.zeros_like(p)
    inside = (p > 0) & (p < 1)
    q = p[inside]
    out[inside] = -q * np.log(q) - (1 - q) * np.log(1 - q)
    return out


def bsc_pxy(eps: float) -> np.ndarray:
    """X uniform on {0, 1}, Y = X flipped with probability eps."""
    return 0.5 * np.array([[1 - eps, eps], [eps, 1 - eps]])


def random_pxy(seed: int, n_x: int = 5, n_y: int = 3, min_kl: float = 0.05) -> np.ndarray:
    """A Dirichlet joint pmf whose rows p(y|x) differ pairwise by KL >= min_kl."""
    g = np.random.default_rng(seed)
    while True:
        pxy = g.dirichlet(np.ones(n_x * n_y)).reshape(n_x, n_y)
        cond = pxy / pxy.sum(axis=1, keepdims=True)
        logc = np.log(cond)
        kl = (cond[:, None, :] * (logc[:, None, :] - logc[None, :, :])).sum(-1)
        off = kl[~np.eye(n_x, dtype=bool)]
        if off.min() >= min_kl and pxy.sum(axis=1).min() > 0.02:
            return pxy
