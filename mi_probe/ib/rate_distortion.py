"""The Blahut-Arimoto algorithm for the rate-distortion function of a discrete source.

References
----------
.. [1] R. Blahut, "Computation of channel capacity and rate-distortion functions",
   IEEE Trans. Inf. Theory 18, 460-473 (1972).
.. [2] S. Arimoto, "An algorithm for computing the capacity of arbitrary discrete
   memoryless channels", IEEE Trans. Inf. Theory 18, 14-20 (1972).
.. [3] T. M. Cover, J. A. Thomas, Elements of Information Theory, 2nd ed., section 10.8.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._validation import _to_numpy, check_bool, check_int, check_positive
from ._pmf import check_pmf
from .curve import _check_betas

__all__ = ["rate_distortion"]


def _check_distortion(distortion: Any, n_x: int) -> np.ndarray:
    d = _to_numpy(distortion, "distortion")
    if d.dtype.kind not in "biuf":
        raise ValueError(f"distortion has dtype {d.dtype}; expected a numeric matrix")
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(
            f"distortion must be a (n_x, n_xhat) matrix, got {d.ndim}-D with shape {d.shape}"
        )
    if d.size == 0:
        raise ValueError(f"distortion is empty (shape {d.shape})")
    if not np.isfinite(d).all():
        raise ValueError("distortion contains NaN or inf")
    if d.shape[0] != n_x:
        raise ValueError(
            f"distortion must have one row per source symbol: px has {n_x} entries, "
            f"distortion has {d.shape[0]} rows"
        )
    return d


def rate_distortion(
    px: Any,
    distortion: Any,
    betas: Any = None,
    *,
    max_iter: int = 10_000,
    tol: float = 1e-12,
    return_encoders: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """Rate-distortion curve R(D) of a discrete source by Blahut-Arimoto.

    For each ``beta`` (minus the slope dR/dD) the test channel q(xhat|x) minimising
    ``I(X; Xhat) + beta E[d(X, Xhat)]`` is found by alternating
    ``q(xhat|x) ~ q(xhat) exp(-beta d(x, xhat))`` and ``q(xhat) = sum_x p(x) q(xhat|x)``
    (normalised in log space).

    Parameters
    ----------
    px : array-like, shape (n_x,)
        Source pmf: non-negative, summing to 1 (within 1e-6).
    distortion : array-like, shape (n_x, n_xhat)
        Distortion d(x, xhat), finite.
    betas : array-like of float > 0, optional
        Lagrange multipliers (1 / distortion units), sorted ascending in the output.
        Default: 50 log-spaced values from 0.01 to 100 divided by the mean
        distortion.
    max_iter : int, default 10000
        Most iterations per beta.
    tol : float, default 1e-12
        Stop when no entry of q(xhat) changes by more than ``tol``.
    return_encoders : bool, default False
        Also return the test channels.

    Returns
    -------
    curve : pandas.DataFrame
        Columns ``beta``, ``rate`` = I(X; Xhat) in nats, ``distortion`` = E d(X, Xhat),
        ``n_iter``, ``converged``; one row per beta.
    encoders : numpy.ndarray, shape (n_betas, n_x, n_xhat)
        Only with ``return_encoders=True``: q(xhat|x) per row.

    Raises
    ------
    ValueError
        ``px`` not a 1-D pmf, ``distortion`` not a finite matrix with one row per
        source symbol, or bad ``betas``.

    Examples
    --------
    >>> import numpy as np
    >>> rd = rate_distortion([0.5, 0.5], 1 - np.eye(2), betas=[np.log(9)])
    >>> round(float(rd.distortion[0]), 6), round(float(rd.rate[0]), 4)
    (0.1, 0.3681)
    """
    p = check_pmf(px, "px", ndim=1)
    d = _check_distortion(distortion, p.size)
    if betas is None:
        scale = float(np.abs(d).mean()) or 1.0
        beta_arr = np.geomspace(1e-2, 1e2, 50) / scale
    else:
        beta_arr = _check_betas(betas)
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = check_positive(tol, "tol")
    return_encoders = check_bool(return_encoders, "return_encoders")

    keep = p > 0
    pk, dk = p[keep], d[keep]
    n_hat = d.shape[1]
    rows = []
    encoders = np.empty((beta_arr.size, p.size, n_hat)) if return_encoders else None
    for i, b in enumerate(beta_arr):
        q = np.full(n_hat, 1.0 / n_hat)
        base = -b * dk
        converged = False
        it = 0
        for it in range(1, max_iter + 1):  # noqa: B007 - the count is read after the loop
            with np.errstate(divide="ignore"):
                logits = np.log(q)[None, :] + base
            logits -= logits.max(axis=1, keepdims=True)
            enc = np.exp(logits)
            enc /= enc.sum(axis=1, keepdims=True)
            q_new = pk @ enc
            change = float(np.max(np.abs(q_new - q)))
            q = q_new
            if change < tol:
                converged = True
                break
        log_enc = np.log(np.maximum(enc, 1e-300))
        with np.errstate(divide="ignore"):
            log_q = np.log(np.maximum(q, 1e-300))
        terms = np.where(enc > 0, enc * (log_enc - log_q[None, :]), 0.0)
        rate = max(float(pk @ terms.sum(axis=1)), 0.0)
        dist = float(pk @ (enc * dk).sum(axis=1))
        rows.append((float(b), rate, dist, it, converged))
        if encoders is not None:
            encoders[i][keep] = enc
            encoders[i][~keep] = q
    curve = pd.DataFrame(rows, columns=["beta", "rate", "distortion", "n_iter", "converged"])
    if encoders is None:
        return curve
    return curve, encoders
