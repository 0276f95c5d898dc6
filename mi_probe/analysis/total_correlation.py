"""Total correlation (multi-information) of a code: ``TC(z) = KL(p(z) || prod_i p(z_i))``.

``TC(z) = sum_i H(z_i) - H(z)`` in nats; zero exactly when the components are
independent. Four estimators:

* ``"gaussian"``: ``-0.5 log det R`` for the sample correlation matrix ``R`` (exact for
  Gaussian codes; a linear baseline otherwise).
* ``"ksg"``: the k-NN multi-information of Kraskov et al. (2004): the sum of marginal
  Kozachenko-Leonenko entropies minus the joint one, with every marginal entropy taken at
  the *joint* k-NN radius, so the bias terms cancel (the idea behind NPEET's ``tc``).
* ``"binning"``: plug-in ``sum_i H(bin(z_i)) - H(bin(z))`` for discrete or low-dimensional
  codes (badly biased upward when the joint histogram is undersampled; flagged).
* :func:`mss_tc`: the minibatch-stratified-sampling estimator of beta-TCVAE for Gaussian
  encoders ``q(z|x) = N(mu(x), diag(exp(logvar(x))))``.

References
----------
.. [1] S. Watanabe, "Information theoretical analysis of multivariate correlation",
   IBM J. Res. Dev. 4 (1960).
.. [2] A. Kraskov, H. Stoegbauer, P. Grassberger, "Estimating mutual information",
   Phys. Rev. E 69, 066138 (2004), eq. (9) and its m-variable form.
.. [3] G. Ver Steeg, NPEET (non-parametric entropy estimation toolbox), ``tc``.
.. [4] R. T. Q. Chen, X. Li, R. Grosse, D. Duvenaud, "Isolating sources of disentanglement
   in variational autoencoders", NeurIPS 2018, appendix (minibatch stratified sampling).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import digamma

from .._validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_random_state,
    standardize_columns,
    tie_fraction,
)
from ..backends import METRICS, pick
from ..estimators.binning import _discretize, row_symbols
from ..estimators.discrete import entropy_from_counts
from ..estimators.ksg import _check_k, log_ball_ratio, prepare_continuous
from ..result import MIResult

__all__ = ["total_correlation", "gaussian_tc", "ksg_tc", "binning_tc", "mss_tc", "ESTIMATORS"]

ESTIMATORS = ("gaussian", "ksg", "binning")

# Occupied joint cells above this fraction of n: the plug-in joint entropy is saturated.
_UNDERSAMPLED = 0.2


def _to_numpy64(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        return a.detach().cpu().double().numpy()
    return np.asarray(a, dtype=np.float64)


def _normal_scores(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-column ranks mapped to standard-normal quantiles (ties broken at random)."""
    from scipy.stats import norm

    n = int(a.shape[0])
    out = np.empty_like(a, dtype=np.float64)
    for j in range(a.shape[1]):
        order = np.lexsort((rng.random(n), a[:, j]))
        ranks = np.empty(n)
        ranks[order] = np.arange(1, n + 1)
        out[:, j] = norm.ppf(ranks / (n + 1.0))
    return out


def _check_codes(z: Any, name: str = "z", min_samples: int = 3) -> np.ndarray:
    za = check_array(z, name, min_samples=min_samples)
    return za


def gaussian_tc(z: Any, *, regularization: float = 0.0, random_state: Any = None) -> MIResult:
    """Total correlation in nats of the Gaussian fitted to ``z``: ``-0.5 log det R``.

    Parameters
    ----------
    z : array-like or tensor, shape (n_samples, d)
    regularization : float, default 0.0
        Ridge added to the correlation matrix. A constant column carries no information
        and is always dropped before the log-det.
    random_state : None, int or numpy Generator
        Accepted for a uniform interface; the estimate is deterministic.

    Returns
    -------
    MIResult
        Clipped at 0; ``diagnostics`` holds ``raw_value`` and ``n_constant`` (dropped
        constant columns).

    Raises
    ------
    ValueError
        Bad input, fewer than 3 samples, negative ``regularization``, or a singular
        correlation matrix (linearly dependent columns) with ``regularization=0``.

    Notes
    -----
    For ``z ~ N(mu, S)``: ``TC = 0.5 (sum_i log S_ii - log det S) = -0.5 log det R``.
    Invariant under per-coordinate affine maps.
    """
    regularization = check_positive(regularization, "regularization", allow_zero=True)
    check_random_state(random_state)
    za = _check_codes(z)
    # scale-safe: np.std over/underflows for columns near 1e154 or 1e-160
    zall, _, log_std = standardize_columns(za, ddof=1)
    keep = np.isfinite(log_std)
    n_const = int((~keep).sum())
    raw = 0.0
    if keep.sum() >= 2:
        zs = zall[:, keep]
        r = (zs.T @ zs) / (za.shape[0] - 1)
        r = r + regularization * np.eye(r.shape[0])
        w = np.linalg.eigvalsh(r)
        if w[0] <= 1e-12 * max(w[-1], 1.0):
            raise ValueError(
                "z has linearly dependent columns (singular correlation matrix, smallest "
                f"eigenvalue {w[0]:.3g}); its Gaussian TC is infinite. Pass "
                "regularization > 0 (e.g. 1e-6) or drop the redundant columns"
            )
        raw = float(-0.5 * np.sum(np.log(w)) + 0.5 * r.shape[0] * np.log1p(regularization))
    return MIResult(
        value=max(raw, 0.0),
        estimator="gaussian",
        n_samples=za.shape[0],
        params=dict(regularization=regularization, random_state=random_state),
        diagnostics={"raw_value": raw, "n_constant": n_const},
    )


def ksg_tc(
    z: Any,
    *,
    n_neighbors: int = 3,
    metric: str = "max",
    standardize: bool = True,
    copula: bool = True,
    jitter: float = 1e-10,
    backend: str = "auto",
    random_state: Any = None,
) -> MIResult:
    """k-NN (Kraskov) estimate of the total correlation of ``z`` in nats.

    Parameters
    ----------
    z : array-like or tensor, shape (n_samples, d), d >= 1
        Each column is one component ``z_i``.
    n_neighbors : int, default 3
        k of the joint k-NN search.
    metric : {"max", "l2"}
        Norm of the joint space; the marginals are 1-D so both agree there.
    standardize : bool, default True
        Scale each column to unit variance first (TC is unchanged).
    copula : bool, default True
        First map each column to normal scores through its ranks,
        ``Phi^-1(rank / (n + 1))``. TC depends only on the copula, so this changes
        nothing in the limit, makes the estimate exactly invariant under increasing
        per-coordinate maps, and removes the heavy-tail bias of k-NN estimates. Tied
        values (the zeros of a ReLU unit) get random distinct ranks: that is an
        independent per-coordinate randomisation, so the estimate then targets a TC that
        is at most the TC of the tied code (data processing for multi-information).
    jitter : float, default 1e-10
        Relative seeded noise against ties.
    backend : {"auto", "native", "kdtree", "numpy", "torch", "keops"}
    random_state : None, int or numpy Generator
        Seed of the jitter.

    Returns
    -------
    MIResult
        Clipped at 0; ``diagnostics["raw_value"]`` is unclipped, ``["n_constant"]``
        counts the constant columns, which are dropped (they carry no information);
        ``["dependent_columns"]`` lists the column pairs that are (monotone, or with
        ``copula=False`` affine) functions of each other, whose TC is infinite.

    Raises
    ------
    ValueError
        Bad input, ``n_neighbors`` not below n, or an unknown option.

    Warns
    -----
    RuntimeWarning
        Columns that determine each other (``dependent_columns``): the true TC is
        infinite and the estimate, at most about ``(d - 1)(psi(n) - psi(k))``, only says
        that it is large.

    Notes
    -----
    With ``eps_n`` the distance from point n to its k-th neighbour in the joint space and
    ``c_i(n)`` the number of other points strictly within ``eps_n`` in coordinate i::

        TC = psi(k) + (d - 1) psi(N) - < sum_i psi(c_i + 1) >

    This is ``sum_i H_KL(z_i) - H_KL(z)`` where each marginal Kozachenko-Leonenko entropy
    uses the joint radius ``eps_n`` instead of its own k-th neighbour distance: the
    ``log eps`` terms and the density-curvature biases cancel between the joint and the
    marginals, which is why independent components give ~0 even in 10 or more
    dimensions (separately estimated entropies do not cancel: their biases add up to
    several nats at d=10). It is KSG's algorithm 1 for d variables; for d=2 it equals
    :func:`~mi_probe.estimators.ksg.ksg_mi`.

    References
    ----------
    Kraskov, Stoegbauer & Grassberger (2004); Ver Steeg, NPEET ``tc``.
    """
    check_choice(metric, "metric", METRICS)
    jitter = check_positive(jitter, "jitter", allow_zero=True)
    za = _check_codes(z, min_samples=2)
    n = za.shape[0]
    k = _check_k(check_int(n_neighbors, "n_neighbors", low=1), n, "z")
    rng = check_random_state(random_state)
    # a constant column carries no information (TC is unchanged without it); kept, the
    # copula's random tie-breaking would turn it into an independent noise column,
    # which the k-NN estimate does not ignore (2.18 -> 1.33 nats with one added)
    constant = np.ptp(za, axis=0) == 0
    za = za[:, ~constant]
    d = za.shape[1]
    copula = check_bool(copula, "copula")
    if not copula and d and max(tie_fraction(za[:, [j]]) for j in range(d)) > 0.5:
        warnings.warn(
            "z has many repeated values; the k-NN TC is meant for continuous codes "
            "(use estimator='binning' for discrete codes)",
            RuntimeWarning,
            stacklevel=2,
        )
    if copula:
        za = _normal_scores(za, rng)
    kept = np.flatnonzero(~constant)  # report the pairs in the caller's column numbers
    dependent = [(int(kept[i]), int(kept[j])) for i, j in _dependent_pairs(za)]
    if dependent:
        shown = ", ".join(f"({i}, {j})" for i, j in dependent[:5])
        more = f" and {len(dependent) - 5} more" if len(dependent) > 5 else ""
        warnings.warn(
            f"z has columns that are {'monotone' if copula else 'affine'} functions of "
            f"each other (column pairs {shown}{more}): "
            "their TC is infinite, and the k-NN estimate only says it is large (it "
            "cannot exceed about (d - 1) * (psi(n) - psi(k))); diagnostics"
            "['dependent_columns'] lists them",
            RuntimeWarning,
            stacklevel=2,
        )
    zs, _ = prepare_continuous(za, standardize=standardize, jitter=jitter, rng=rng)
    if d <= 1:
        raw = 0.0
        be_name = None
    else:
        be = pick(backend, zs)
        be_name = be.name
        dist, _ = be.knn(zs, k, metric)
        eps = _to_numpy64(dist)[:, -1]
        total = np.zeros(n)
        for j in range(d):
            c = _to_numpy64(be.count_within(zs[:, [j]], eps, metric, inclusive=False))
            total += digamma(c + 1.0)
        raw = float(digamma(k) + (d - 1) * digamma(n) - total.mean())
        raw += log_ball_ratio((1,) * d, (d,), metric)  # 0 for max; the l2 volume term
    return MIResult(
        value=max(raw, 0.0),
        estimator="ksg",
        n_samples=n,
        params=dict(
            n_neighbors=k,
            metric=metric,
            standardize=standardize,
            copula=copula,
            jitter=jitter,
            backend=backend,
            random_state=random_state,
        ),
        backend=be_name,
        diagnostics={
            "raw_value": raw,
            "n_constant": int(constant.sum()),
            "dependent_columns": dependent,
        },
    )


def _dependent_pairs(za: np.ndarray, limit: int = 100) -> list[tuple[int, int]]:
    """Column pairs (i < j) with correlation +-1: one column an affine map of the other.

    After the copula transform, continuous columns that are increasing functions of each
    other have identical normal scores, so this finds those too. At most ``limit`` pairs.
    """
    d = za.shape[1]
    if d < 2:
        return []
    zs, _, _ = standardize_columns(za, ddof=0)
    r = (zs.T @ zs) / za.shape[0]
    i, j = np.nonzero(np.triu(np.abs(r) >= 1.0 - 1e-9, k=1))
    return [(int(a), int(b)) for a, b in zip(i[:limit], j[:limit], strict=True)]


def binning_tc(
    z: Any,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
    bin_size: float | None = None,
    discrete: bool | str = "auto",
    correction: str | None = None,
    random_state: Any = None,
) -> MIResult:
    """Plug-in total correlation of binned (or integer) codes, in nats.

    Parameters
    ----------
    z : array-like or tensor, shape (n_samples, d)
    n_bins, strategy, bin_size
        Binning of each column (see :func:`mi_probe.estimators.binning.discretize`).
    discrete : {"auto", True, False}
        Use integer codes as they are (no binning). ``"auto"``: when ``z`` has an
        integer or bool dtype.
    correction : {None, "miller-madow"}
        Bias correction of each plug-in entropy.
    random_state : None, int or numpy Generator
        Accepted for a uniform interface; deterministic.

    Returns
    -------
    MIResult
        ``sum_i H(b_i) - H(b)`` clipped at 0; ``diagnostics`` holds ``raw_value``,
        ``n_states`` (occupied joint cells) and ``undersampled``.

    Raises
    ------
    ValueError
        Bad input or binning parameters.

    Notes
    -----
    The plug-in joint entropy is at most ``log n``; with many bins per column and d of
    more than a few, nearly every sample has its own joint cell and the estimate tends
    to ``sum_i H(b_i) - log n`` even for independent components (at d=10, 10 bins and
    n=2000 about 15 nats of pure bias). When the occupied joint cells exceed 20% of n
    the result is flagged ``undersampled`` and a ``RuntimeWarning`` is raised.
    """
    from ..estimators.binning import _check_binning
    from ..estimators.discrete import _check_correction

    n_bins, bin_size = _check_binning(n_bins, strategy, bin_size)
    _check_correction(correction)
    # check_choice alone lets 1 and 0 through (1 == True): they are not the bools asked for
    if not (isinstance(discrete, (bool, np.bool_)) or discrete == "auto"):
        raise ValueError(f"discrete must be one of 'auto', True, False; got {discrete!r}")
    discrete = discrete if isinstance(discrete, str) else bool(discrete)
    check_random_state(random_state)
    use_codes = discrete is True
    if discrete == "auto":
        kind = str(getattr(z, "dtype", np.asarray(z).dtype if not hasattr(z, "detach") else ""))
        use_codes = any(s in kind for s in ("int", "bool"))
    if use_codes:
        from .._validation import check_labels

        codes = check_labels(z, "z")
    else:
        codes = _discretize(_check_codes(z, min_samples=1), n_bins, strategy, bin_size)
    n, d = codes.shape
    h_marg = 0.0
    for j in range(d):
        cj, kj = row_symbols(codes[:, [j]])
        h_marg += entropy_from_counts(np.bincount(cj, minlength=kj), correction)
    cz, kz = row_symbols(codes)
    h_joint = entropy_from_counts(np.bincount(cz, minlength=kz), correction)
    raw = float(h_marg - h_joint)
    under = bool(d > 1 and kz > _UNDERSAMPLED * n)
    if under:
        warnings.warn(
            f"binning TC: {kz} occupied joint cells for {n} samples; the joint histogram "
            "is undersampled and the estimate is biased upward (use fewer bins, or "
            "estimator='ksg' / 'gaussian' for continuous codes)",
            RuntimeWarning,
            stacklevel=2,
        )
    return MIResult(
        value=max(raw, 0.0),
        estimator="binning",
        n_samples=n,
        params=dict(
            n_bins=n_bins,
            strategy=strategy,
            bin_size=bin_size,
            discrete=discrete,
            correction=correction,
            random_state=random_state,
        ),
        diagnostics={
            "raw_value": raw,
            "h_marginals": h_marg,
            "h_joint": h_joint,
            "n_states": kz,
            "undersampled": under,
        },
    )


def logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    """log sum exp along ``axis`` (max-shifted; faster than scipy's for large arrays)."""
    m = a.max(axis=axis, keepdims=True)
    out = np.log(np.exp(a - m).sum(axis=axis)) + np.squeeze(m, axis=axis)
    return out


def _log_normal(z: np.ndarray, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
    """log N(z_a | mu_b, exp(logvar_b)) per coordinate: (len(z), len(mu), d)."""
    # the standardised difference first: ``diff**2 * exp(-logvar)`` is inf * 0 = NaN once
    # the variance is beyond exp(+-700), while ``(diff * exp(-logvar/2))**2`` stays finite
    with np.errstate(over="ignore"):  # a far-off component: u * u = inf, log density -inf
        u = (z[:, None, :] - mu[None, :, :]) * np.exp(-0.5 * logvar)[None]
        return -0.5 * (np.log(2.0 * np.pi) + logvar[None] + u * u)


def _mss_log_weights(m: int, dataset_size: int) -> np.ndarray:
    """(m, m) log importance weights of minibatch stratified sampling.

    Row i (the sample z_i drawn from q(z|x_i)): the own item has weight 1/N; one other
    item, (i+1) mod m, stands for the stratum of the N - m + 1 items outside the batch
    and has weight (N - m + 1) / (N (m - 1)); the other m - 2 items have 1/(m - 1).
    Each row sums to 1, so ``sum_j w_ij q(z|x_j)`` is an unbiased estimate of
    ``q(z) = (1/N) sum_n q(z|x_n)`` over the draw of the batch.
    """
    big_n = float(dataset_size)
    mm = m - 1
    w = np.full((m, m), 1.0 / mm)
    idx = np.arange(m)
    w[idx, (idx + 1) % m] = (big_n - mm) / (big_n * mm)
    w[idx, idx] = 1.0 / big_n
    return np.log(w)


def mss_tc(
    mu: Any,
    logvar: Any,
    *,
    dataset_size: int | None = None,
    batch_size: int | None = None,
    n_batches: int = 20,
    random_state: Any = None,
) -> MIResult:
    """Total correlation of the aggregate posterior of a Gaussian encoder, in nats.

    ``q(z) = (1/N) sum_n q(z|x_n)`` with ``q(z|x_n) = N(mu_n, diag(exp(logvar_n)))``;
    ``TC = E_{q(z)} [log q(z) - sum_j log q(z_j)]``, estimated by drawing one ``z`` from
    each ``q(z|x_n)`` and estimating the log densities by minibatch stratified
    sampling (MSS, Chen et al. 2018).

    Parameters
    ----------
    mu : array-like or tensor, shape (n_samples, d)
        Encoder means.
    logvar : array-like or tensor, shape (n_samples, d)
        Encoder log-variances (natural log of the variance).
    dataset_size : int, optional
        N, the size of the data set the encoder's aggregate posterior is defined over;
        default ``n_samples`` (the rows given are the data set).
    batch_size : int, optional
        M. None (default) uses all rows in one "batch": the exact mixture
        ``log (1/n) sum_n q(z|x_n)`` (deterministic given the draws of z, O(n^2 d)
        memory chunked by rows). An int draws ``n_batches`` random minibatches of that
        size and applies the MSS weights (as in beta-TCVAE training).
    n_batches : int, default 20
        Minibatches averaged when ``batch_size`` is set.
    random_state : None, int or numpy Generator
        Seed of the draws of z and of the batches.

    Returns
    -------
    MIResult
        ``estimator="mss"``; value clipped at 0, ``diagnostics["raw_value"]`` unclipped.

    Raises
    ------
    ValueError
        Shapes differ, non-finite input, ``batch_size`` < 2 or larger than n,
        ``dataset_size`` smaller than ``batch_size``, or variances so extreme that the
        samples or the densities overflow.

    Notes
    -----
    Only the stratified (MSS) estimator is provided. The minibatch *weighted* sampling
    estimator (MWS) of the same paper, as found in several code bases, normalises the
    joint and each marginal log-sum-exp inconsistently; when the normaliser is left
    out altogether the estimate carries an additive bias of about ``(d - 1) log M``
    nats (8 nats for d=10, M=64) that does not shrink with more data. Beware when
    comparing with numbers from such code.

    References
    ----------
    Chen, Li, Grosse & Duvenaud, NeurIPS 2018, appendix C.
    """
    mu_a = check_array(mu, "mu", min_samples=2)
    lv_a = check_array(logvar, "logvar", min_samples=2)
    if mu_a.shape != lv_a.shape:
        raise ValueError(
            f"mu and logvar must have the same shape, got {mu_a.shape} and {lv_a.shape}"
        )
    n, d = mu_a.shape
    rng = check_random_state(random_state)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", low=2, high=n)
    big_n = n if dataset_size is None else check_int(dataset_size, "dataset_size", low=2)
    if batch_size is not None and big_n < batch_size:
        raise ValueError(f"dataset_size={big_n} must be >= batch_size={batch_size}")
    n_batches = check_int(n_batches, "n_batches", low=1)
    with np.errstate(over="ignore"):
        z = mu_a + np.exp(0.5 * lv_a) * rng.standard_normal(mu_a.shape)
    if not np.isfinite(z).all():
        raise ValueError(
            "mu and logvar give samples z = mu + exp(logvar / 2) * eps that overflow "
            f"(largest logvar {lv_a.max():.4g}, largest |mu| {np.abs(mu_a).max():.4g}); "
            "rescale the codes"
        )

    def _terms(
        zb: np.ndarray, mb: np.ndarray, lb: np.ndarray, logw: np.ndarray | float
    ) -> np.ndarray:
        lq = _log_normal(zb, mb, lb)  # (a, b, d)
        if np.ndim(logw):
            lq = lq + np.asarray(logw)[:, :, None]
            log_joint = logsumexp(lq.sum(axis=2) - (d - 1) * np.asarray(logw), axis=1)
        else:
            log_joint = logsumexp(lq.sum(axis=2), axis=1) + logw
            lq = lq + logw
        log_marg = logsumexp(lq, axis=1).sum(axis=1)
        return log_joint - log_marg

    if batch_size is None:
        vals = []
        step = max(1, int(2**21 // max(n * d, 1)))
        for s in range(0, n, step):
            vals.append(_terms(z[s : s + step], mu_a, lv_a, -np.log(n)))
        per = np.concatenate(vals)
        raw = float(per.mean())
        how = "exact mixture over all rows"
    else:
        logw = _mss_log_weights(batch_size, big_n)
        vals = []
        for _ in range(n_batches):
            idx = rng.choice(n, size=batch_size, replace=False)
            vals.append(_terms(z[idx], mu_a[idx], lv_a[idx], logw).mean())
        raw = float(np.mean(vals))
        how = "minibatch stratified sampling"
    if not np.isfinite(raw):
        raise ValueError(
            f"mss_tc is not finite ({raw}) for these mu and logvar (logvar from "
            f"{lv_a.min():.4g} to {lv_a.max():.4g}): the Gaussian densities under- or "
            "overflow; rescale the codes"
        )
    return MIResult(
        value=max(raw, 0.0),
        estimator="mss",
        n_samples=n,
        params=dict(
            dataset_size=big_n,
            batch_size=batch_size,
            n_batches=n_batches,
            random_state=random_state,
        ),
        diagnostics={"raw_value": raw, "method": how},
    )


def total_correlation(z: Any, estimator: str = "gaussian", **params: Any) -> MIResult:
    """Total correlation ``TC(z) = sum_i H(z_i) - H(z) = KL(p(z) || prod_i p(z_i))``.

    Parameters
    ----------
    z : array-like or tensor, shape (n_samples, d)
        Codes; each column is one component.
    estimator : {"gaussian", "ksg", "binning"}, default "gaussian"
        See :func:`gaussian_tc`, :func:`ksg_tc`, :func:`binning_tc`. For a Gaussian
        encoder's (mu, logvar) use :func:`mss_tc`.
    **params
        Parameters of that estimator (``n_neighbors=5``, ``n_bins=8``, ...).

    Returns
    -------
    MIResult
        In nats (``to_bits()`` for bits).

    Raises
    ------
    ValueError
        Unknown estimator or parameter, or bad input.

    Examples
    --------
    >>> import numpy as np, mi_probe
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((5000, 2)) @ np.array([[1.0, 0.6], [0.0, 0.8]])
    >>> round(float(mi_probe.total_correlation(z)), 2)  # -0.5 log(1 - 0.6**2) = 0.22
    0.22
    """
    import inspect

    check_choice(estimator, "estimator", ESTIMATORS)
    functions: dict[str, Callable[..., Any]] = {
        "gaussian": gaussian_tc,
        "ksg": ksg_tc,
        "binning": binning_tc,
    }
    fn = functions[estimator]
    valid = [p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"total_correlation estimator {estimator!r} takes no parameter "
            f"{', '.join(unknown)}; valid parameters: {', '.join(valid)}"
        )
    return fn(z, **params)
