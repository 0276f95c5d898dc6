"""I(X; T + sigma Z) of a deterministic layer, and its profile over the noise scale.

A deterministic layer ``T = f(X)`` on ``n`` distinct inputs has ``I(X; T) = H(T) = ln n``
whenever every input gets its own code, which says nothing about the layer. Adding
isotropic Gaussian noise of scale ``sigma`` (the noisy-network view of Goldfeld et al.
2019; Saxe et al. 2018 fixed the variance) makes the question one of resolution: how
many inputs can still be told apart at that scale. With ``X`` uniform over the ``n``
samples, ``T + sigma Z`` is a mixture of ``n`` Gaussians centred at the samples and

``I(X; T + sigma Z) = H(mixture) - H(sigma Z)``,

which falls from ``ln n`` (``sigma`` far below the distances between codes) to 0
(``sigma`` far above them). Where it falls says how the layer clusters its inputs.

The estimate here is the exact-noise Monte Carlo form, unbiased for the mixture:
``I = mean_i [log N(u_i; t_i, s2) - log (1/n) sum_j N(u_i; t_j, s2)]`` with
``u_i = t_i + sigma z_i``. Each term is ``ln n - log sum_j exp(-(D_ij + 2 sigma A_ij) /
(2 s2))`` with ``D_ij = |t_i - t_j|^2`` and ``A_ij = z_i . (t_i - t_j)``; the ``j = i``
term is exactly 1, so every term is ``<= ln n`` by construction (no rounding can push the
estimate over its ceiling). The pairwise-distance bounds of Kolchinsky & Tracey (2017)
(the machinery of :func:`mi_probe.estimators.kde.noisy_layer_mi`) come from the same
distances and are reported beside it; they bracket the mixture's value but are loose by
up to ``d/2`` nats in the overlapping regime (for Gaussian ``T``: the KL form exceeds
``0.5 log det(I + S/s2)`` by ``0.5 tr(S (S + s2 I)^-1)``), which is why they are not the
headline number.

References
----------
.. [1] Z. Goldfeld, E. van den Berg, K. Greenewald, I. Melnyk, N. Nguyen, B. Kingsbury,
   Y. Polyanskiy, "Estimating Information Flow in Deep Neural Networks", ICML 2019.
.. [2] A. M. Saxe et al., "On the information bottleneck theory of deep learning",
   ICLR 2018.
.. [3] A. Kolchinsky, B. D. Tracey, "Estimating mixture entropy with pairwise
   distances", Entropy 19, 361 (2017).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import norm

from .._progress import progress as _progress
from .._validation import (
    check_array,
    check_bool,
    check_int,
    check_positive,
    check_random_state,
    encode_rows,
    is_tensor,
)
from ..result import MIResult
from ._bounds import CEILING_FRACTION, apply_ceiling, plugin_entropy

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "noisy_information",
    "noise_profile",
    "layer_scale",
    "DEFAULT_SIGMA",
    "DEFAULT_SIGMAS",
]

DEFAULT_SIGMA = 0.3
"""Default relative noise scale of the scalar summary (a fraction of the RMS distance)."""

DEFAULT_SIGMAS = tuple(float(v) for v in np.logspace(-3, 1, 17))
"""Default relative grid of :func:`noise_profile`: 1e-3 to 10, four points a decade."""

# Gram-matrix route (exact reduction to the span of the samples) when d > n and n <= this
_GRAM_MAX_N = 8192
# kernel block: rows x n entries held at once (float64)
_BLOCK_ENTRIES = 1 << 21


def _as_matrix(t: Any) -> np.ndarray:
    if is_tensor(t):
        a: np.ndarray = check_array(t, "t", min_samples=2, native=True).detach().cpu().numpy()
        return a if a.dtype == np.float32 else a.astype(np.float64)
    dtype = np.float32 if getattr(t, "dtype", None) == np.float32 else np.float64
    out: np.ndarray = check_array(t, "t", min_samples=2, dtype=dtype)
    return out


def _coordinates(t: np.ndarray) -> np.ndarray:
    """Centred float64 coordinates with the same pairwise distances as ``t``.

    For ``d > n`` the samples span at most ``n - 1`` dimensions: their coordinates in
    an orthonormal basis of that span come from the Gram matrix (accumulated in float64
    over column slabs, so a float32 layer is never copied whole to float64). Noise
    orthogonal to the span cancels from every term (it moves ``u_i`` equally far from all
    centres), so the result is exactly that of the full-width layer.
    """
    n, d = t.shape
    mu = t.mean(axis=0, dtype=np.float64)
    if d <= n or n > _GRAM_MAX_N:
        centred: np.ndarray = np.asarray(t, dtype=np.float64) - mu
        return centred
    gram = np.zeros((n, n))
    step = max(1, (1 << 24) // n)
    for s in range(0, d, step):
        slab = np.asarray(t[:, s : s + step], dtype=np.float64) - mu[s : s + step]
        gram += slab @ slab.T
    w, v = np.linalg.eigh(gram)
    keep = w > 1e-12 * max(float(w[-1]), 1e-300)
    coords: np.ndarray = v[:, keep] * np.sqrt(w[keep])
    return coords


def layer_scale(t: Any) -> float:
    """The layer's own length scale: the RMS distance between two of its samples.

    Parameters
    ----------
    t : array-like or tensor, shape (n_samples, d)

    Returns
    -------
    float
        ``sqrt(mean_{i != j} |t_i - t_j|^2) = sqrt(2 tr Cov(t))`` (unbiased covariance),
        in the units of ``t``. Relative noise scales are fractions of it.

    Raises
    ------
    ValueError
        Bad ``t`` (NaN, inf, shape) or fewer than 2 samples.
    """
    a = _as_matrix(t)
    return _scale(a)


def _scale(a: np.ndarray) -> float:
    n = a.shape[0]
    var = a.var(axis=0, dtype=np.float64)  # biased: sum over columns / n
    return float(math.sqrt(2.0 * n / (n - 1) * float(np.sum(var))))


def _distinct_entropy(a: np.ndarray) -> float:
    """Plug-in entropy of the distinct rows of ``a`` (``ln n`` when all differ)."""
    sym, _ = encode_rows(np.ascontiguousarray(a + 0.0))  # -0.0 -> 0.0
    return plugin_entropy(sym)


def _mc_terms(
    coords: np.ndarray,
    sigmas: np.ndarray,
    queries: np.ndarray,
    n_draws: int,
    rng: np.random.Generator,
    bar_enabled: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-query Monte Carlo terms (len(sigmas), m) and the pairwise KL / BD terms."""
    n, r = coords.shape
    m = queries.size
    sq = np.einsum("ij,ij->i", coords, coords)
    mc = np.zeros((sigmas.size, m))
    kl = np.zeros((sigmas.size, m))
    bd = np.zeros((sigmas.size, m))
    step = max(1, min(m, _BLOCK_ENTRIES // n))
    log_n = math.log(n)
    blocks = range(0, m, step)
    for s in _progress(blocks, desc="noise profile", enabled=bar_enabled):
        e = min(m, s + step)
        q = queries[s:e]
        rows = np.arange(e - s)
        cq = coords[q]
        dist = sq[q, None] + sq[None, :] - 2.0 * (cq @ coords.T)
        np.maximum(dist, 0.0, out=dist)
        dist[rows, q] = 0.0  # exactly: a sample's distance to itself
        for i, sig in enumerate(sigmas):
            s2 = sig * sig
            kl[i, s:e] = _lse_rows(-dist / (2.0 * s2)) - log_n
            bd[i, s:e] = _lse_rows(-dist / (8.0 * s2)) - log_n
        for _ in range(n_draws):
            z = rng.standard_normal((e - s, r))
            a = np.einsum("ij,ij->i", z, cq)[:, None] - z @ coords.T  # z_i . (t_i - t_j)
            a[rows, q] = 0.0
            for i, sig in enumerate(sigmas):
                expo = -(dist + 2.0 * sig * a) / (2.0 * sig * sig)
                mc[i, s:e] += (log_n - _lse_rows(expo)) / n_draws
    return mc, -kl, -bd


def _lse_rows(a: np.ndarray) -> np.ndarray:
    top = a.max(axis=1)
    lse: np.ndarray = top + np.log(np.sum(np.exp(a - top[:, None]), axis=1))
    return lse


def _profile(
    t: Any,
    sigmas: Sequence[float],
    relative: bool,
    n_draws: int,
    max_queries: int | None,
    confidence: float,
    random_state: Any,
    progress: bool,
) -> dict[str, Any]:
    n_draws = check_int(n_draws, "n_draws", low=1)
    relative = check_bool(relative, "relative")
    if max_queries is not None:
        max_queries = check_int(max_queries, "max_queries", low=2)
    confidence = check_positive(confidence, "confidence")
    if confidence >= 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    # a stream derived from the seed, not the seed's own: data drawn with
    # default_rng(0) and random_state=0 would otherwise get noise equal to the data
    rng = np.random.default_rng(int(check_random_state(random_state).integers(2**63 - 1)))
    a = _as_matrix(t)
    n = a.shape[0]
    sig = np.asarray([check_positive(s, "sigma") for s in sigmas], dtype=np.float64)
    # one power of two for the whole layer (exact, and the same for every column, so the
    # geometry is kept): squared distances neither over- nor underflow near 1e300 or
    # 1e-300 (they gave NaN and 0 nats); sigma and the scale are reported in t's units
    peak = float(np.max(np.abs(a)))
    shift = math.frexp(peak)[1] if peak > 0 else 0
    a = np.ldexp(a, -shift).astype(a.dtype, copy=False)
    scale = _scale(a)
    ceiling = _distinct_entropy(a)
    sig_abs = sig * scale if relative else np.ldexp(sig, -shift)
    sig_rel = sig if relative else (sig_abs / scale if scale > 0 else np.full(sig.size, np.inf))
    if max_queries is not None and max_queries < n:
        queries = np.sort(rng.choice(n, size=max_queries, replace=False))
    else:
        queries = np.arange(n)
    m = queries.size
    if scale == 0.0:  # every sample has the same code: nothing to tell apart
        zeros = np.zeros((sig.size, m))
        mc, upper, lower = zeros, zeros, zeros
    else:
        coords = _coordinates(a)
        mc, upper, lower = _mc_terms(coords, sig_abs, queries, n_draws, rng, progress)
    zq = float(norm.ppf(0.5 + confidence / 2.0))
    est = mc.mean(axis=1)
    se = mc.std(axis=1, ddof=1) / math.sqrt(m) if m > 1 else np.zeros(sig.size)
    return {
        "n": n,
        "dim": a.shape[1],
        "scale": float(np.ldexp(scale, shift)),
        "ceiling": ceiling,
        "sigma_relative": sig_rel,
        "sigma": np.ldexp(sig_abs, shift),
        "raw": est,
        "se": se,
        "low": est - zq * se,
        "high": est + zq * se,
        "pairwise_upper": upper.mean(axis=1),
        "pairwise_lower": lower.mean(axis=1),
        "n_queries": m,
        "n_draws": n_draws,
    }


def noisy_information(
    t: Any,
    sigma: float = DEFAULT_SIGMA,
    *,
    relative: bool = True,
    n_draws: int = 1,
    max_queries: int | None = 2000,
    confidence: float = 0.95,
    random_state: Any = None,
    progress: bool = False,
) -> MIResult:
    """``I(X; T + sigma Z)`` in nats for a deterministic layer ``T`` on ``n`` samples.

    Parameters
    ----------
    t : array-like or tensor, shape (n_samples,) or (n_samples, d)
        The layer's activations, one row per input (the inputs are taken as the ``n``
        equally likely values of ``X``). float32 is not copied whole to float64.
    sigma : float, default 0.3
        Noise standard deviation per coordinate (``Z`` is standard normal in every
        dimension of ``t``). With ``relative=True`` a fraction of :func:`layer_scale`,
        the RMS distance between two samples of ``t``. The default 0.3 is where an
        unstructured code (a cloud of points at similar distances from one another, as
        a random high-dimensional layer gives) reads at most about
        ``1 / (2 * 0.3^2) = 5.6`` nats whatever ``n``, while a code that collapses the
        inputs into ``K`` well-separated clusters reads about ``ln K``: the two are
        apart and neither is at ``ln n`` for n in the thousands.
    relative : bool, default True
        Whether ``sigma`` is relative to the layer's scale (so layers of any width and
        units compare) or absolute (in the units of ``t``).
    n_draws : int, default 1
        Noise draws per sample in the Monte Carlo average.
    max_queries : int or None, default 2000
        Average the Monte Carlo terms over at most this many samples (a seeded subsample
        when ``n`` is larger; the mixture always has all ``n`` components, so the
        estimate stays unbiased): cost ``max_queries * n`` per sigma instead of ``n^2``;
        the interval accounts for it. ``None``: every sample.
    confidence : float, default 0.95
        Level of ``result.interval``.
    random_state : None, int or numpy Generator
        Seeds the noise draws and the query subsample.
    progress : bool, default False
        Draw a progress bar on stderr.

    Returns
    -------
    MIResult
        ``value`` in nats, within ``[0, ceiling]`` with ``ceiling`` the plug-in entropy
        of the distinct rows of ``t`` (``ln n`` when all differ); ``interval``: the
        Monte Carlo interval. ``diagnostics``: ``raw_value``, ``sigma`` (absolute),
        ``sigma_relative``, ``scale`` (the RMS distance), ``se``, ``pairwise_upper`` /
        ``pairwise_lower`` (Kolchinsky-Tracey KL / Bhattacharyya estimates from the
        same distances), ``ceiling``, ``ceiling_name``, ``at_ceiling`` (value at 99% of
        the ceiling or more: the noise is too small to merge any inputs),
        ``n_queries``, ``n_draws``.

    Raises
    ------
    ValueError
        Bad ``t`` (NaN, inf, shape, fewer than 2 samples), ``sigma <= 0``, or a bad
        ``n_draws``, ``max_queries`` or ``confidence``.

    Notes
    -----
    The terms ``ln n - log sum_j exp(-(D_ij + 2 sigma A_ij) / (2 sigma^2))`` (see the
    module docstring) average to the exact mixture value: the estimate is unbiased for
    ``I(X; T + sigma Z)`` of the empirical input distribution and every term is at most
    ``ln n``; the interval is ``mean +- z sd / sqrt(m)`` over the ``m`` query samples.
    Distances are exact on the diagonal (zero) and computed in float64. For ``d > n``
    the samples are first expressed in the ``n``-dimensional span they occupy (the
    Gram matrix), which changes nothing in the result. Cost: ``O(n^2 d)`` once plus
    ``O(m n)`` per sigma, ``m = min(n, max_queries)``. Memory: blocks of about 2 million
    float64 entries, plus the ``n x n`` Gram matrix when ``d > n`` (for ``n > 8192`` with
    ``d > n``, a float64 copy of ``t`` instead: project such layers first).

    For Gaussian ``T ~ N(0, S)`` the value approaches ``0.5 log det(I + S / sigma^2)``
    as ``n`` grows (more slowly for small ``sigma``, where the ``n`` points resolve the
    Gaussian only up to ``ln n``).

    References
    ----------
    Goldfeld et al., ICML 2019; Saxe et al., ICLR 2018; Kolchinsky & Tracey, Entropy 2017.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.repeat(np.eye(4) * 10.0, 25, axis=0)  # 4 codes far apart, 100 inputs
    >>> r = noisy_information(t, 0.05, random_state=0)  # sigma = 0.05 x RMS distance
    >>> round(float(r), 3), round(float(np.log(4)), 3)
    (1.386, 1.386)
    """
    sigma = check_positive(sigma, "sigma")
    p = _profile(t, [sigma], relative, n_draws, max_queries, confidence, random_state, progress)
    raw = float(p["raw"][0])
    result = MIResult(
        value=max(raw, 0.0),
        estimator="noisy",
        n_samples=p["n"],
        params=dict(
            sigma=sigma,
            relative=relative,
            n_draws=n_draws,
            max_queries=max_queries,
            confidence=confidence,
            random_state=random_state,
        ),
        diagnostics={
            "raw_value": raw,
            "sigma": float(p["sigma"][0]),
            "sigma_relative": float(p["sigma_relative"][0]),
            "scale": p["scale"],
            "scale_definition": "RMS distance between two samples of t",
            "se": float(p["se"][0]),
            "pairwise_upper": float(p["pairwise_upper"][0]),
            "pairwise_lower": float(p["pairwise_lower"][0]),
            "n_queries": p["n_queries"],
            "n_draws": p["n_draws"],
            "dim": p["dim"],
        },
        interval=(max(float(p["low"][0]), 0.0), max(float(p["high"][0]), 0.0)),
    )
    name = "ln n" if p["ceiling"] >= math.log(p["n"]) - 1e-12 else "H(distinct rows of t)"
    return apply_ceiling(result, p["ceiling"], name, tol=1e-6)


def noise_profile(
    t: Any,
    sigmas: Sequence[float] | None = None,
    *,
    relative: bool = True,
    n_draws: int = 1,
    max_queries: int | None = 2000,
    confidence: float = 0.95,
    random_state: Any = None,
    progress: bool = False,
) -> pd.DataFrame:
    """``I(X; T + sigma Z)`` in nats over a grid of noise scales: the noise profile.

    Parameters
    ----------
    t : array-like or tensor, shape (n_samples,) or (n_samples, d)
        The layer's activations, one row per input.
    sigmas : sequence of float, optional
        Noise standard deviations; relative to :func:`layer_scale` when ``relative``.
        Default :data:`DEFAULT_SIGMAS` (relative; 1e-3 to 10, four a decade), whatever
        ``relative`` says.
    relative : bool, default True
        Whether ``sigmas`` are fractions of the layer's RMS inter-sample distance.
    n_draws, max_queries, confidence, random_state, progress
        As in :func:`noisy_information`. The same noise draws serve every sigma
        (common random numbers), so the curve is smooth in sigma.

    Returns
    -------
    pandas.DataFrame
        One row per sigma, in the given order, with columns ``sigma_relative``,
        ``sigma`` (absolute), ``I_XT`` (nats), ``lower`` / ``upper`` (the Monte Carlo
        interval), ``pairwise_lower`` / ``pairwise_upper`` (Kolchinsky-Tracey
        estimates), ``se``, ``ceiling`` (``ln n`` for distinct codes), ``at_ceiling``
        and ``n_samples``. ``df.attrs`` holds ``scale`` and ``scale_definition``.

    Raises
    ------
    ValueError
        Bad ``t``, an empty ``sigmas`` or a ``sigma <= 0``, or a bad ``n_draws``,
        ``max_queries`` or ``confidence``.

    Notes
    -----
    The profile falls from ``ln n`` (every input resolved) to 0 (noise far above all
    distances). A layer that maps inputs to ``K`` tight, well-separated clusters shows a
    plateau at ``ln K`` between its within-cluster and between-cluster scales; an
    unstructured code falls in one step near ``sigma_relative ~ 1 / sqrt(2 ln n)``.
    Computing the whole grid costs one distance pass plus ``O(m n)`` per sigma.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.random.default_rng(0).standard_normal((200, 5))
    >>> df = noise_profile(t, random_state=0)
    >>> bool(df["I_XT"].iloc[0] > 0.99 * np.log(200) and df["I_XT"].iloc[-1] < 0.01)
    True
    """
    import pandas as pd

    grid = DEFAULT_SIGMAS if sigmas is None else tuple(np.asarray(sigmas, dtype=float).ravel())
    if len(grid) == 0:
        raise ValueError("sigmas is empty; give at least one noise scale")
    relative = check_bool(relative, "relative")
    rel = True if sigmas is None else relative
    p = _profile(t, grid, rel, n_draws, max_queries, confidence, random_state, progress)
    ceiling = p["ceiling"]
    value = np.clip(p["raw"], 0.0, ceiling)
    df: pd.DataFrame = pd.DataFrame(
        {
            "sigma_relative": p["sigma_relative"],
            "sigma": p["sigma"],
            "I_XT": value,
            "lower": np.clip(p["low"], 0.0, ceiling),
            "upper": np.clip(p["high"], 0.0, ceiling),
            "pairwise_lower": np.clip(p["pairwise_lower"], 0.0, None),
            "pairwise_upper": p["pairwise_upper"],
            "se": p["se"],
            "ceiling": ceiling,
            "at_ceiling": (ceiling > 0) & (value >= CEILING_FRACTION * ceiling),
            "n_samples": p["n"],
        }
    )
    df.attrs["scale"] = p["scale"]
    df.attrs["scale_definition"] = "RMS distance between two samples of t"
    return df
