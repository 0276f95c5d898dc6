"""Ross (2014) k-NN estimator of I(x; y) for continuous ``x`` and discrete labels ``y``.

The common case in deep networks: ``I(T; Y)`` between a layer's activations and the
class labels of a classifier.

References
----------
.. [1] B. C. Ross, "Mutual information between discrete and continuous data sets",
   PLoS ONE 9(2), e87357 (2014).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import digamma

from .._validation import (
    check_array,
    check_int,
    check_labels,
    check_positive,
    check_random_state,
    check_same_samples,
    encode_rows,
    is_tensor,
)
from ..backends import pick
from ..result import MIResult
from ._atoms import warn_constant
from ._base import from_function
from .ksg import constant_argument, prepare_continuous, zero_result

__all__ = ["mixed_mi", "MixedEstimator"]

_METRIC = "max"


def _to_numpy64(a: Any) -> np.ndarray:
    if is_tensor(a):
        out: np.ndarray = a.detach().cpu().double().numpy()
        return out
    return np.asarray(a, dtype=np.float64)


def mixed_mi(
    x: Any,
    y: Any,
    *,
    n_neighbors: int = 3,
    standardize: bool = True,
    jitter: float = 1e-10,
    backend: str = "auto",
    random_state: Any = None,
) -> MIResult:
    """Ross's k-NN estimate of I(x; y) in nats, ``x`` continuous and ``y`` discrete.

    Parameters
    ----------
    x : array-like or tensor, shape (n_samples,) or (n_samples, d)
        Continuous data (e.g. a layer's activations). Distances use the max-norm.
    y : array-like or tensor of integers, shape (n_samples,) or (n_samples, d_y)
        Discrete labels; a multi-column ``y`` is one label per distinct row.
    n_neighbors : int, default 3
        k. For a label with ``N_c`` samples the estimator uses ``min(k, N_c - 1)``.
    standardize : bool, default True
        Scale each column of ``x`` to unit variance first (MI is unchanged).
    jitter : float, default 1e-10
        Standard deviation, relative to each column's, of seeded Gaussian noise
        against tied values (0 disables it).
    backend : {"auto", "numpy", "native", "kdtree", "torch", "keops"}
        Where the neighbour searches run.
    random_state : None, int or numpy Generator
        Seed of the jitter.

    Returns
    -------
    MIResult
        ``value`` clipped at 0; ``diagnostics`` with ``raw_value``, ``n_used`` (samples
        whose label occurs more than once) and ``n_dropped``. A constant ``x`` or a
        single label gives exactly 0 (``diagnostics["constant"]`` names it).

    Raises
    ------
    ValueError
        Bad ``x`` (NaN, inf, shape, dtype) or ``y`` (non-integer, NaN), mismatched
        lengths, ``n_neighbors < 1``, a negative ``jitter``, or fewer than 2 samples
        left after dropping labels that occur once.

    Warns
    -----
    RuntimeWarning
        When ``x`` or ``y`` takes a single value (the estimate is then exactly 0).

    Notes
    -----
    For each sample ``i`` with label ``c``: ``d_i`` is the distance to its k-th
    nearest neighbour among the ``N_c`` samples with label ``c``, and ``m_i`` the number
    of samples of any label within ``d_i`` (the k-th neighbour included, ``i`` itself
    not). Then ``I = psi(N) + <psi(k)> - <psi(N_c)> - <psi(m_i)>``. As in scikit-learn,
    samples whose label occurs only once carry no information about the distance
    scale and are dropped (``N`` counts the rest). With ``jitter=0`` and
    ``standardize=True`` this matches
    ``sklearn.feature_selection.mutual_info_classif(x, y, discrete_features=False)``
    on 1-D ``x`` to about 1e-6 nats (scikit-learn adds its own ``1e-10``-scale noise;
    its ``m_i`` counts ``i`` and excludes the k-th neighbour, the same number when
    there are no ties).

    References
    ----------
    Ross, PLoS ONE 9(2), e87357 (2014).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 4000); x = 4.0 * y + rng.standard_normal(4000)
    >>> bool(abs(float(mixed_mi(x, y, random_state=0)) - 0.63) < 0.03)  # well separated
    True
    """
    k = check_int(n_neighbors, "n_neighbors", low=1)
    jitter = check_positive(jitter, "jitter", allow_zero=True)
    rng = check_random_state(random_state)
    xa = check_array(x, "x", min_samples=1)
    ya = check_labels(y, "y")
    check_same_samples(xa.shape[0], ya.shape[0], "x", "y")
    n_total = xa.shape[0]
    params = dict(
        n_neighbors=k,
        standardize=standardize,
        jitter=jitter,
        backend=backend,
        random_state=random_state,
    )
    const = constant_argument(("x", xa), ("y", ya))
    if const is not None:
        warn_constant(const)
        return zero_result("mixed", n_total, params, const)
    labels, n_labels = encode_rows(ya)
    counts = np.bincount(labels, minlength=n_labels)
    keep = counts[labels] > 1
    n = int(keep.sum())
    if n < 2:
        raise ValueError(
            "y has no label that occurs more than once; mixed_mi needs at least 2 "
            "samples sharing a label"
        )
    xs, _ = prepare_continuous(xa, standardize=standardize, jitter=jitter, rng=rng)
    xs = xs[keep]
    labels = labels[keep]
    label_counts = counts[labels].astype(np.float64)
    be = pick(backend, xs)

    radius = np.empty(n)
    k_all = np.empty(n)
    for c in np.flatnonzero(counts > 1):
        mask = labels == c
        kc = min(k, int(counts[c]) - 1)
        dist, _ = be.knn(xs[mask], kc, _METRIC)
        radius[mask] = _to_numpy64(dist)[:, -1]
        k_all[mask] = kc
    m_all = _to_numpy64(be.count_within(xs, radius, _METRIC, inclusive=True))
    raw = float(
        digamma(n)
        + np.mean(digamma(k_all))
        - np.mean(digamma(label_counts))
        - np.mean(digamma(m_all))
    )
    return MIResult(
        value=max(raw, 0.0),
        estimator="mixed",
        n_samples=n_total,
        params=params,
        backend=be.name,
        diagnostics={"raw_value": raw, "n_used": n, "n_dropped": n_total - n},
    )


MixedEstimator = from_function(
    mixed_mi,
    "mixed",
    doc="Ross (2014) continuous-discrete MI estimator; the class twin of :func:`mixed_mi`.",
    cls_name="MixedEstimator",
)
