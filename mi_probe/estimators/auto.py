"""``estimator="auto"``: choose estimator and preprocessing from the data, and say why.

The choice (recorded in ``diagnostics["choice"]`` with ``diagnostics["reason"]``):

* both variables discrete (integer-valued with few distinct rows): plug-in MI with the
  Miller-Madow correction;
* a column ``y_i`` that is a strictly monotone function of a discrete column ``x_j``
  (integer-valued, whatever its number of values) while ``x`` or ``y`` has one column
  (``"deterministic-discrete"``): then ``I(x; y) = H(x_j)`` exactly, estimated by the
  Miller-Madow plug-in entropy capped at ``ln n`` (see :func:`deterministic_pair`; with
  several columns on both sides ``H(x_j)`` is a floor under the value chosen below);
* one discrete label column, the other continuous: Ross's mixed k-NN estimator on the
  copula-normalised continuous side and, when :mod:`mi_probe.estimators.usable` is
  installed, the usable information of a held-out probe; the larger is kept;
* both continuous: both are copula-normalised (which undoes any per-coordinate monotone
  distortion and heavy marginal tails exactly, leaving MI unchanged), then three
  candidates are computed and the largest is kept:

  - ``gaussian_copula``: the Gaussian MI of the normal scores minus the estimated
    negentropies of the two sides, ``I_G - J(x) - J(y)``;
  - ``ksg_copula``: KSG on the normal scores, and ``ksg_raw``: KSG on the standardised
    data itself (up to 10 columns in all; the copula transform can cost KSG accuracy
    on multimodal data);
  - ``ksg_radial``: KSG between the radii ``|x|`` and ``|y|``.

Why each candidate may be used as a lower bound
-----------------------------------------------
Write ``J(A) = h(N_A) - h(A) >= 0`` for the negentropy of ``A``: the gap between its
entropy and that of the Gaussian ``N_A`` with the same covariance. For any ``(X, Y)``
``I(X; Y) = I_G(X; Y) - J(X) - J(Y) + J(X, Y)``, where ``I_G`` is the MI of the Gaussian
with the covariance of ``(X, Y)`` (expand ``I = h(X) + h(Y) - h(X, Y)`` and replace each
entropy by ``h(N) - J``). Since ``J(X, Y) >= 0``,

    ``I(X; Y) >= I_G(X; Y) - J(X) - J(Y)``                                   (1)

with equality for jointly Gaussian data. Per-coordinate normal scores make every
*coordinate* Gaussian, not every *side*: a side that is a mixture (of signs, of
low-rank Gaussians, of the linear regimes of a ReLU layer) has ``J > 0`` and ``I_G``
alone can exceed ``I`` by a wide margin. ``auto`` therefore estimates ``J`` of each side
with the Kozachenko-Leonenko entropy (:func:`~mi_probe.estimators.ksg.kl_entropy`) as
``J(A) ~ H_KL(G) - H_KL(A)`` with ``G`` a Gaussian sample of the same size and
covariance as ``A`` -- the same k-NN bias enters both terms and cancels to first order
(measured on Gaussian sides of 2-50 dimensions at n = 2000 and 5000: mean within 0.03
nats of 0, sd 0.01-0.06; both entropies are estimated on whitened data, ``J`` being
invariant under invertible linear maps)
-- soft-thresholded at the estimate's noise level (``max(J - t, 0)`` per side with
``t = 0.05 max(1, sqrt(d / 10))`` nats for a ``d``-column side, so Gaussian sides cost
nothing) and exactly 0 for a one-column side (its normal scores are Gaussian). The
candidate is (1) with these estimates, a lower bound up to the error of the two ``J``
estimates (and ``t`` per side). When a correction was needed (above the larger ``t``),
that error is not covered by a proof, so this candidate alone is not trusted: if it exceeds every other candidate by more than their noise the result is
flagged ``candidates_disagree`` (with a warning) and its interval reaches down to the
next candidate.

A cross-check that is *not* a bound, and never the kept value: all three terms of the
identity estimated, ``I_G - J(x) - J(y) + J(x, y)`` (``diagnostics["negentropy_check"]``;
the joint ``J`` as above, on the joint normal scores). It is the three-entropy k-NN
estimate with each entropy's bias calibrated on a Gaussian surrogate; measured within
about 15% of the truth (either side) on sign and low-rank mixtures, Gaussians in 25 + 25
dimensions and Student-t data. When it exceeds the kept value by more than 15% (and
its noise), the lower bounds are probably loose: the result is flagged
``candidates_disagree``. Whenever it lies above the kept value, the interval reaches up
to it (with or without the flag).

KSG (on the normal scores or on the data) is not a bound, but a consistent estimator
whose error in the regimes where it errs -- strong dependence, many dimensions -- is
downward: its k-NN
counts saturate and it cannot exceed about ``log n`` (Gao, Ver Steeg & Galstyan 2015).
KSG between the radii estimates ``I(|x|; |y|) <= I(x; y)`` (data processing: the radii
are functions of each side), in one dimension each, where KSG is accurate; it captures
dependence through a shared scale (elliptical, Student-t-like data) that the others miss
in many dimensions. Above ``_KSG_MAX_DIM`` columns in all, KSG on the normal scores is
skipped (its k-NN distances carry almost no information there, and its cost grows as
``n^2 d``); ``diagnostics["skipped"]`` says so.

For label targets, Ross's estimator is consistent and, like KSG, errs low in many
dimensions; the usable information ``H(y) - CE(probe)`` of a held-out probe is a
variational lower bound (``E log q(y|z) <= E log p(y|z)`` for any classifier ``q``).

Every auto result carries a subsampling interval (sampling spread widened by the drift
in n, see :func:`mi_probe.estimators.reliability.subsample_interval`), a permutation
null, reliability flags, and ``diagnostics["bias"]``: an honest statement of what the
interval does not cover.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import numpy as np

from .._validation import check_int, check_random_state, check_xy
from ..preprocessing import copula_normalize
from ..result import MIResult
from . import reliability
from ._base import from_function

__all__ = [
    "auto_mi",
    "AutoEstimator",
    "is_discrete",
    "gaussian_copula_mi",
    "side_negentropy",
    "deterministic_pair",
]

# A column is treated as discrete when it holds integers with at most this many values
# (and fewer than a tenth of the samples).
_MAX_DISCRETE_VALUES = 64


def is_discrete(a: np.ndarray) -> bool:
    """Integer-valued with few distinct values per column."""
    if not np.all(a == np.round(a)):
        return False
    limit = min(_MAX_DISCRETE_VALUES, max(2, a.shape[0] // 10))
    return all(np.unique(col).size <= limit for col in a.T)


# In the permutation null, KSG on the normal scores runs on a quarter of the rows once
# x and y together have more than this many columns (where its k-NN search is costly).
_NULL_FULL_KSG_MAX_DIM = 4
_NULL_KSG_FRACTION = 4
# KSG on the normal scores is skipped above this many columns of x and y together.
_KSG_MAX_DIM = 128
# Noise level of a side's negentropy estimate (nats): each side's correction is
# max(J - tol, 0), and the candidate counts as corrected when the corrections together
# exceed it. Gaussian sides (4 seeds each, normal scores, whitened): mean within 0.03
# nats of 0 at 2-50 dimensions and n = 2000 or 5000; sd 0.01-0.03 up to 10 dimensions,
# 0.03-0.06 at 25-50.
_NEGENTROPY_TOL = 0.05


def _negentropy_tol(d: int) -> float:
    """Noise level (nats) of a d-column side's negentropy estimate:
    ``0.05 max(1, sqrt(d / 10))`` -- 0.05 up to 10 columns, 0.11 at 50, 0.25 at 256
    (Gaussian sides of 256 columns at n = 2000 read up to 0.35, once in six)."""
    return _NEGENTROPY_TOL * max(1.0, float(np.sqrt(d / 10.0)))


# Candidates that hold without an estimated correction (see the module docstring).
_SELF_SUPPORTING = frozenset({"ksg_copula", "ksg_raw", "ksg_radial", "mixed", "usable"})
# KSG also runs on the standardised data before the copula transform up to this many
# columns in all (where k-NN is cheap and informative): the transform can cost KSG
# accuracy on multimodal data (benchmark-mi's waves: 0.87 on normal scores, 0.98 on the
# data, truth 1.31).
_RAW_KSG_MAX_DIM = 10


def _plan(xa: np.ndarray, ya: np.ndarray) -> tuple[str, np.ndarray, np.ndarray, str]:
    """(choice, x', y', reason): which estimator, on which preprocessed data, and why."""
    dx, dy = is_discrete(xa), is_discrete(ya)
    if dx and dy:
        return "discrete", xa, ya, "both variables are integer-valued with few values"
    if dx != dy:
        cont, lab = (ya, xa) if dx else (xa, ya)
        if lab.shape[1] == 1:
            return (
                "mixed+copula",
                copula_normalize(cont),
                lab,
                "one side is a discrete label column, the other continuous",
            )
    return (
        "max(gaussian,ksg,ksg_radial)+copula",
        copula_normalize(xa),
        copula_normalize(ya),
        "continuous data: three lower bounds on normal scores, the largest kept",
    )


def _discrete_fn(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    from .discrete import discrete_mi

    r = discrete_mi(a, b, correction="miller-madow")
    return float(r.diagnostics.get("raw_value", r.value))


def _mixed_fn(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    from .mixed import mixed_mi

    r = mixed_mi(a, b, random_state=seed)
    return float(r.diagnostics.get("raw_value", r.value))


def _usable_available() -> bool:
    """Whether the usable-information estimator (``estimators/usable.py``) exists."""
    return importlib.util.find_spec(f"{__package__}.usable") is not None


def _label_candidates(
    cont: np.ndarray, raw_cont: np.ndarray, lab: np.ndarray, seed: int, usable: bool
) -> dict[str, float]:
    """Candidates for a continuous side against a label column (nats, raw).

    ``mixed``: Ross's estimator on the normal scores ``cont``. ``usable`` (only when
    ``usable``): ``H(y) - CE`` of a held-out probe on the untransformed ``raw_cont``
    (a linear probe is the Bayes classifier for Gaussian classes with a shared
    covariance, which a per-coordinate transform would bend).
    """
    out = {"mixed": _mixed_fn(cont, lab, seed)}
    if usable:
        # HOOK (issue 18, item 4): the usable-information estimator of the
        # pretrained-model issue; a variational lower bound (module docstring).
        from .usable import usable_information

        try:
            r = usable_information(
                raw_cont, lab, interval=False, n_permutations=0, random_state=seed
            )
        except ValueError:  # e.g. a subsample holding a single class: no probe
            return out
        if r.diagnostics.get("lower_bound", True):
            out["usable"] = float(r.diagnostics.get("raw_value", r.value))
    return out


def gaussian_copula_mi(a: np.ndarray, b: np.ndarray) -> float:
    """Gaussian MI of ``(a, b)`` with the exact small-sample bias removed (nats, raw).

    For Gaussian data ``E log det((n-1) S) = log det Sigma + d log 2 +
    sum_{i=1..d} psi((n-i)/2)`` (the Wishart log-determinant), so subtracting
    ``0.5 [P(d_x) + P(d_y) - P(d_x + d_y)]`` with ``P(d) = sum_{i<=d} psi((n-i)/2)``
    from the plug-in estimate makes it unbiased; the plug-in is biased upward by
    about ``d_x d_y / (2 n)`` nats (0.25 nats for 50 + 50 dimensions at n = 5000).

    This is ``I_G``, the MI of the Gaussian with the data's covariance: a lower bound
    on I(a; b) only when each side is jointly Gaussian (see the module docstring and
    :func:`side_negentropy` for the correction ``auto`` applies otherwise).

    Parameters
    ----------
    a : numpy.ndarray, shape (n_samples, d_x)
    b : numpy.ndarray, shape (n_samples, d_y)

    Returns
    -------
    float
        Estimate in nats; may be slightly negative under independence.

    References
    ----------
    N. A. Ahmed & D. V. Gokhale, "Entropy expressions and their estimators for
    multivariate distributions", IEEE Trans. Inf. Theory 35 (1989).
    """
    from scipy.special import digamma

    from .gaussian import gaussian_mi

    n, d_x, d_y = a.shape[0], a.shape[1], b.shape[1]
    try:
        r = gaussian_mi(a, b)
    except ValueError:  # singular covariance (n <= d, or collinear columns)
        r = gaussian_mi(a, b, regularization=1e-6)
    plug_in = float(r.diagnostics.get("raw_value", r.value))
    psi = digamma((n - np.arange(1, d_x + d_y + 1)) / 2.0) if n > d_x + d_y else None
    if psi is None:
        return plug_in
    bias = 0.5 * (psi[:d_x].sum() + psi[:d_y].sum() - psi.sum())
    return plug_in - float(bias)


def side_negentropy(
    a: np.ndarray, seed: int, *, n_neighbors: int = 3, normal_scores: bool = False
) -> float:
    """Estimated negentropy ``J(a) = h(N_a) - h(a)`` of one side, in nats (raw).

    ``N_a`` is the Gaussian with the covariance of ``a``. Both entropies are
    Kozachenko-Leonenko estimates at the same sample size: ``h(a)`` on the data and
    ``h(N_a)`` on a seeded Gaussian sample with the data's sample covariance, so the
    k-NN estimator's bias (which depends on n, the dimension and the covariance) enters
    both and cancels to first order. With ``normal_scores=True`` (``a`` holds normal
    scores, as in ``auto``) the Gaussian sample is replaced by its own normal scores,
    so that both share the evenly spaced marginals that ranks give (without this, the
    difference between spaced and sampled marginals alone reads as +0.04 nats at 3
    dimensions and n = 2000). For Gaussian ``a`` the result is centred near 0 (see
    the module docstring for measurements). A one-column side gives 0 without
    estimation when ``normal_scores`` is set (its normal scores are Gaussian).

    Parameters
    ----------
    a : numpy.ndarray, shape (n_samples, d)
    seed : int
        Seeds the Gaussian sample and the entropy estimates' jitter.
    n_neighbors : int, default 3
    normal_scores : bool, default False
        Whether ``a`` holds normal scores (then so will the Gaussian sample).

    Returns
    -------
    float
        ``J`` in nats, not clipped (may be slightly negative from noise). Tied rows
        (point masses) make it very large: ``h(a)`` is then ``-inf`` in truth.
    """
    from .ksg import kl_entropy

    n, d = a.shape
    if d == 1 and normal_scores:
        return 0.0
    cov = np.atleast_2d(np.cov(a, rowvar=False))
    # a generator of its own (not ``seed`` itself, which may have drawn the data)
    g = np.random.default_rng([seed, 0x6A])
    gauss = g.multivariate_normal(np.zeros(d), cov, size=n, method="eigh")
    if normal_scores:
        gauss = copula_normalize(gauss)
    # J is invariant under invertible linear maps: estimate both entropies on whitened
    # data, where k-NN balls are not stretched along a few dominant directions
    with warnings.catch_warnings():  # tied rows are expected here (see Returns)
        warnings.filterwarnings("ignore", "x has repeated values", RuntimeWarning)
        h_gauss = kl_entropy(_whiten(gauss), n_neighbors=n_neighbors, random_state=seed).value
        h_data = kl_entropy(_whiten(a), n_neighbors=n_neighbors, random_state=seed).value
    return float(h_gauss - h_data)


def _whiten(a: np.ndarray) -> np.ndarray:
    """``a`` centred and mapped to identity sample covariance (eigenvalues floored at
    1e-12 of the largest, so collinear columns stay finite)."""
    c = a - a.mean(axis=0)
    w, v = np.linalg.eigh(np.atleast_2d(np.cov(c, rowvar=False)))
    w = np.maximum(w, 1e-12 * max(float(w.max()), 1e-300))
    white: np.ndarray = (c @ v) / np.sqrt(w)
    return white


def _continuous_candidates(
    a: np.ndarray,
    b: np.ndarray,
    seed: int,
    *,
    ksg_rows: int | None = None,
    negentropy: tuple[float, float] | None = None,
    check: bool = True,
    raw: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """The candidates that ``auto`` compares for continuous data (nats, raw).

    See the module docstring for the inequality each satisfies. ``ksg_rows``: run KSG
    on the normal scores on that many random rows only (used by the permutation null,
    see :func:`auto_mi`). ``negentropy``: the sides' ``(J(a), J(b))`` when already
    known (a permutation of the rows of ``b`` leaves both unchanged). ``check``: also
    compute the cross-check ``I_G - J(a) - J(b) + J(a, b)`` (not a candidate).
    ``raw``: the same rows before the copula transform; then KSG also runs on them
    (``ksg_raw``).

    Returns
    -------
    candidates : dict
        name -> estimate.
    extra : dict
        ``gaussian_uncorrected`` (``I_G``), ``negentropy`` (raw ``J`` of each side),
        ``correction`` (nats subtracted from ``I_G``), ``corrected`` (whether it
        exceeds the larger side's noise level, :func:`_negentropy_tol`),
        ``skipped`` (name -> reason), ``check`` (the cross-check, nats, or ``None``).
    """
    from .ksg import ksg_mi

    if negentropy is None:
        negentropy = (
            side_negentropy(a, seed, normal_scores=True),
            side_negentropy(b, seed + 1, normal_scores=True),
        )
    i_g = gaussian_copula_mi(a, b)
    # soft threshold: estimates within noise of 0 (Gaussian sides) correct nothing
    tols = (_negentropy_tol(a.shape[1]), _negentropy_tol(b.shape[1]))
    correction = sum(max(j - t, 0.0) for j, t in zip(negentropy, tols, strict=True))
    out = {"gaussian_copula": i_g - correction}
    extra: dict[str, Any] = {
        "gaussian_uncorrected": i_g,
        "negentropy": {"x": negentropy[0], "y": negentropy[1]},
        "correction": correction,
        "corrected": bool(correction > max(tols)),
        "skipped": {},
    }
    d = a.shape[1] + b.shape[1]
    extra["check"] = None
    if d > _KSG_MAX_DIM:
        why = (
            f"d_x + d_y = {d} > {_KSG_MAX_DIM}: k-NN distances carry almost no "
            "information there and cost O(n^2 d)"
        )
        extra["skipped"]["ksg_copula"] = why
        extra["skipped"]["negentropy_check"] = why
    else:
        if check:
            j_ab = side_negentropy(np.hstack([a, b]), seed + 2, normal_scores=True)
            extra["check"] = i_g - negentropy[0] - negentropy[1] + j_ab
        idx: slice | np.ndarray = slice(None)
        if ksg_rows is not None and ksg_rows < a.shape[0]:
            idx = np.random.default_rng(seed).choice(a.shape[0], size=ksg_rows, replace=False)
        k = ksg_mi(a[idx], b[idx], random_state=seed)
        out["ksg_copula"] = float(k.diagnostics["raw_value"])
        if raw is not None:
            k = ksg_mi(raw[0][idx], raw[1][idx], random_state=seed)
            out["ksg_raw"] = float(k.diagnostics["raw_value"])
    if a.shape[1] > 1 or b.shape[1] > 1:
        r = ksg_mi(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1), random_state=seed)
        out["ksg_radial"] = float(r.diagnostics["raw_value"])
    return out, extra


def _supported(name: str, extra: dict[str, Any] | None) -> bool:
    """Whether candidate ``name`` holds without an estimated correction."""
    if name == "gaussian_copula":
        return not (extra or {}).get("corrected", False)
    return name in _SELF_SUPPORTING


def _disagreement(
    candidates: dict[str, float],
    extra: dict[str, Any] | None,
    records: list[dict[str, float]],
) -> dict[str, Any]:
    """Do the candidates, and the cross-check, disagree beyond their noise?

    Downward: the kept candidate rests on an estimated correction (a corrected
    Gaussian-copula value) and exceeds every other candidate by more than
    ``max(0.05, 1.96 sd)`` nats, ``sd`` that of ``kept - runner_up`` over the
    half-size subsamples ``records`` (the sd of a half-sample difference is about
    that of the full-sample one, as in
    :func:`~mi_probe.estimators.reliability.subsample_interval`); without records
    (``interval=False``) ``max(0.1, 0.1 * kept)``. Upward: the cross-check
    ``I_G - J(x) - J(y) + J(x, y)`` (all three negentropies estimated; not a bound,
    measured within about 15% of the truth on mixtures, Gaussians and Student-t data)
    exceeds the kept value by more than ``max(0.05, 0.15 * kept, 1.96 sd)``, without
    records ``max(0.1, 0.25 * kept)``: the lower bounds may be loose.
    """
    kept = max(candidates, key=candidates.__getitem__)
    value = candidates[kept]
    others = {k: v for k, v in candidates.items() if k != kept}
    out: dict[str, Any] = {"candidates_disagree": False}
    info: dict[str, Any] = {}

    def sd_of(key: str) -> float | None:
        diffs = [r[key] - r[kept] for r in records if r.get(key) is not None and kept in r]
        return float(np.std(diffs, ddof=1)) if len(diffs) > 1 else None

    if others and not _supported(kept, extra):
        runner = max(others, key=others.__getitem__)
        sd = sd_of(runner)
        tol = max(0.05, 1.96 * sd) if sd is not None else max(0.1, 0.1 * abs(value))
        gap = value - candidates[runner]
        info["below"] = {"kept": kept, "runner_up": runner, "gap": gap, "tolerance": tol}
        if gap > tol:
            out["candidates_disagree"] = True
            out["interval_floor"] = candidates[runner]
    check = (extra or {}).get("check")
    if check is not None:
        sd = sd_of("negentropy_check")
        if sd is not None:
            tol = max(0.05, 0.15 * abs(value), 1.96 * sd)
        else:  # no noise estimate (interval=False): wider, against false alarms
            tol = max(0.1, 0.25 * abs(value))
        info["above"] = {"check": check, "gap": check - value, "tolerance": tol}
        if check - value > tol:
            out["candidates_disagree"] = True
            out["interval_ceiling"] = check
    if info:
        out["disagreement"] = info
    return out


# A column counts as continuous for the deterministic-relation check when it is not
# integer-valued and at least this fraction of the rows hold a value seen once (a
# continuous component of that mass).
_DETERMINISTIC_MIN_SINGLETONS = 0.1


def _integer_valued(col: np.ndarray) -> bool:
    return bool(np.all(col == np.round(col)))


def _monotone_matches(x: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
    """Every ``(x_column, y_column)`` where a column of ``y`` has the same (or the
    reversed) dense ranks as a column of ``x`` that takes at least two values.

    Each match also says whether it is ``"continuous"`` (neither column is
    integer-valued and at least :data:`_DETERMINISTIC_MIN_SINGLETONS` of the rows of
    ``x_j`` hold a value seen once: a continuous component, so ``I(x_j; y_i)`` is
    infinite) or ``"discrete"`` (otherwise: an integer-valued column on either side --
    a bijection keeps discreteness -- or one whose values repeat; then
    ``I(x_j; y_i) = H(x_j)``, finite), with ``n_levels``, the number of values of ``x_j``.
    Dense ranks are hashed, so the cost is ``O((d_x + d_y) n log n)``.
    """
    n = x.shape[0]
    keys: dict[bytes, list[tuple[int, str]]] = {}
    kind_x: list[tuple[bool, bool, int]] = []  # (integer-valued, many singletons, levels)
    for j in range(x.shape[1]):
        vals, inv, counts = np.unique(x[:, j], return_inverse=True, return_counts=True)
        many = bool(np.sum(counts == 1) >= _DETERMINISTIC_MIN_SINGLETONS * n)
        kind_x.append((_integer_valued(vals), many, int(vals.size)))
        if vals.size < 2:  # a constant carries no information: nothing to flag
            continue
        inv = inv.reshape(-1).astype(np.int64)
        keys.setdefault(inv.tobytes(), []).append((j, "increasing"))
        keys.setdefault((vals.size - 1 - inv).tobytes(), []).append((j, "decreasing"))
    out: list[dict[str, Any]] = []
    if not keys:
        return out
    for i in range(y.shape[1]):
        vals, inv = np.unique(y[:, i], return_inverse=True)
        hits = keys.get(inv.reshape(-1).astype(np.int64).tobytes(), [])
        for j, relation in hits:
            integer, many, levels = kind_x[j]
            continuous = many and not integer and not _integer_valued(vals)
            out.append(
                {
                    "x_column": j,
                    "y_column": i,
                    "relation": relation,
                    "kind": "continuous" if continuous else "discrete",
                    "n_levels": levels,
                }
            )
    return out


def deterministic_pair(
    x: np.ndarray, y: np.ndarray, *, discrete: bool = False
) -> dict[str, Any] | None:
    """A column of ``y`` that is a strictly monotone function of a column of ``x`` in
    the sample (the same ranks, or reversed ranks), or ``None``.

    Equal ranks are what an exact copy, an invertible per-coordinate map (``exp``,
    an affine map, a sign flip) and a dependence too strong for ``n`` samples to
    resolve (``x + 1e-6`` noise at n = 2000) all look like. What that implies depends
    on ``x_j``:

    * ``discrete=False`` (the default): only columns with a continuous component
      (not integer-valued, on either side, and at least 10% of the values of ``x_j``
      seen once). ``I(x; y) >= I(x_j; y_i)`` is then infinite, or beyond what ``n``
      samples can show: every k-NN neighbourhood in the joint is the one in the
      marginal, so k-NN estimates sit at their ``n``-limited ceiling and the Gaussian
      copula on equal normal scores is set by its ridge.
    * ``discrete=True``: only the other matches -- ``x_j`` or ``y_i`` integer-valued
      (a discrete variable, whatever its number of levels), or ``x_j`` with fewer than
      10% singletons. For a discrete ``x_j``, ``I(x_j; y_i) = H(x_j)``: finite, and a
      lower bound on ``I(x; y)`` (equal to it when ``x`` or ``y`` has one column).

    Columns that take a single value are never matched. Dense ranks are hashed, so
    the cost is ``O((d_x + d_y) n log n)``.

    Parameters
    ----------
    x : numpy.ndarray, shape (n_samples, d_x)
    y : numpy.ndarray, shape (n_samples, d_y)
    discrete : bool, default False
        Which kind of match to report (see above).

    Returns
    -------
    dict or None
        ``x_column``, ``y_column`` and ``relation`` (``"increasing"`` or
        ``"decreasing"``; an exact copy is ``"increasing"``) of the first match of
        that kind; with ``discrete=True`` also ``n_levels`` (the values of ``x_j``).
    """
    kind = "discrete" if discrete else "continuous"
    for m in _monotone_matches(x, y):
        if m["kind"] == kind:
            keep = ("x_column", "y_column", "relation") + (("n_levels",) if discrete else ())
            return {k: m[k] for k in keep}
    return None


def _codes(col: np.ndarray) -> np.ndarray:
    """Dense codes ``0..k-1`` of one column, shape (n, 1)."""
    _, inv = np.unique(col, return_inverse=True)
    out: np.ndarray = inv.reshape(-1, 1).astype(np.int64)
    return out


def _capped_entropy(counts: np.ndarray, n: int) -> tuple[float, float]:
    """(Miller-Madow plug-in entropy capped at ``ln n``, uncapped), nats."""
    from .discrete import entropy_from_counts

    h = entropy_from_counts(counts, "miller-madow")
    return min(h, float(np.log(n))), h


def _deterministic_discrete_fn(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    """Miller-Madow plug-in MI of two code columns, capped at ``ln n``: ``H(a)`` when
    ``b`` is a bijection of ``a`` (the estimate), the plug-in MI otherwise (the
    permutation null). See :func:`_discrete_match` for the cap."""
    from .discrete import discrete_mi

    r = discrete_mi(a, b, correction="miller-madow")
    return min(float(r.diagnostics["raw_value"]), float(np.log(a.shape[0])))


def _discrete_match(x: np.ndarray, matches: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The discrete match (see :func:`_monotone_matches`) whose ``x_j`` has the largest
    estimated entropy, with that estimate, or ``None``.

    For a discrete ``x_j`` and ``y_i`` a bijection of it, ``I(x_j; y_i) = H(x_j)``;
    ``I(x; y) >= H(x_j)`` (data processing), with equality when ``y`` is the single
    column ``y_i`` (``I(x; y) <= H(y_i) = H(x_j)``) or ``x`` the single column ``x_j``
    (``I <= H(x_j)``). ``entropy`` is the Miller-Madow plug-in estimate of ``H(x_j)``
    (:func:`~mi_probe.estimators.discrete.entropy_from_counts`) capped at ``ln n``:
    its correction ``(m - 1) / (2n)`` is a first-order term that overshoots when the
    ``m`` occupied values approach ``n`` (all values seen once: ``ln n + 1/2``), and
    ``n`` samples cannot show an entropy above ``ln n``. ``undersampled`` uses the
    discrete estimators' rule (occupied cells above 20% of n): the estimate is then
    likely below ``H(x_j)``. ``capped`` says that the cap was applied.
    """
    from .discrete import _UNDERSAMPLED

    n = x.shape[0]
    best: dict[str, Any] | None = None
    for m in matches:
        if m["kind"] != "discrete":
            continue
        _, counts = np.unique(x[:, m["x_column"]], return_counts=True)
        h, h_raw = _capped_entropy(counts, n)
        if best is None or h > best["entropy"]:
            best = {
                "x_column": m["x_column"],
                "y_column": m["y_column"],
                "relation": m["relation"],
                "n_levels": m["n_levels"],
                "entropy": h,
                "entropy_uncapped": h_raw,
                "capped": bool(h_raw > h),
                "undersampled": bool(m["n_levels"] > _UNDERSAMPLED * n),
            }
    return best


def _discrete_match_note(det: dict[str, Any], n: int) -> str:
    """A sentence for a user about a discrete deterministic match (:func:`auto_mi`)."""
    j = det["x_column"]
    parts = [
        f"y column {det['y_column']} is a strictly {det['relation']} function of x column "
        f"{j} in the sample, and x column {j} is discrete ({det['n_levels']} values): "
        f"I(x_{j}; y_{det['y_column']}) = H(x_{j}), finite (Miller-Madow estimate "
        f"{det['entropy']:.4g} nats)."
    ]
    if det["exact"]:
        parts.append(f"As x or y has one column, I(x; y) = H(x_{j}): the value is that estimate.")
    else:
        parts.append(
            f"I(x; y) >= H(x_{j}) (a lower bound, x and y having several columns): the "
            + (
                "value is raised to it (the kept estimate was below)."
                if det["floor_applied"]
                else "kept estimate is not below it."
            )
        )
    if det["undersampled"]:
        parts.append(
            f"Undersampled ({det['n_levels']} values > 20% of n = {n}): H(x_{j}) is "
            "likely above its estimate"
            + (f", which is capped at ln n = {np.log(n):.4g} nats." if det["capped"] else ".")
        )
    return " ".join(parts)


def auto_mi(
    x: Any,
    y: Any,
    *,
    interval: bool = True,
    null: bool = True,
    check_stability: bool = True,
    n_resamples: int = 10,
    n_permutations: int = 20,
    random_state: Any = None,
) -> MIResult:
    """Estimate I(x; y) in nats with an estimator chosen from the data.

    Parameters
    ----------
    x, y : array-like or tensor, shape (n_samples,) or (n_samples, d)
    interval : bool, default True
        Compute ``result.interval``: a 95% *sampling* interval from half-size
        subsamples, widened by the estimate's drift between n/2 and n and by that drift
        extrapolated to infinite n as ``n^(-1/2)`` on the side it moves (see
        :func:`~mi_probe.estimators.reliability.subsample_interval`), and, when the
        candidates disagree (``candidates_disagree``), down to the next candidate; and
        up to the negentropy cross-check whenever that lies above the value (module
        docstring). It does not cover a bias that
        converges more slowly than ``n^(-1/2)`` (k-NN estimators in many dimensions):
        ``diagnostics["bias"]`` says what is known about that.
    null : bool, default True
        Compute ``result.null`` (95% quantile of a permutation test) and a p-value.
    check_stability : bool, default True
        Re-estimate at n/4 and n/2 and flag ``unstable_in_n`` when they disagree by
        more than sampling noise (the interval's sd when ``interval=True``).
    n_resamples, n_permutations : int
        Subsamples for the interval (2 to 100 000) and shuffles for the null (1 to
        100 000).
    random_state : None, int or numpy Generator
        The estimate itself depends only on this seed, not on ``interval``, ``null``
        or ``check_stability``.

    Returns
    -------
    MIResult
        ``diagnostics`` has ``choice``, ``reason``, ``flags`` (dict of booleans and
        supporting numbers, including ``candidates_disagree``), ``bias`` (a statement
        of the bias the interval does not cover) and, for continuous data or label
        targets, every candidate estimate (``candidates``) and the one kept
        (``chosen``); for continuous data also ``gaussian_uncorrected`` (``I_G``),
        ``negentropy`` (the raw estimated ``J`` of each side),
        ``negentropy_correction`` (nats subtracted from ``I_G``),
        ``negentropy_check`` (the cross-check, or ``None``), ``skipped`` and
        ``deterministic``: ``None``, or the columns where ``y`` is a strictly monotone
        function of a column of ``x`` with a continuous component in the sample
        (:func:`deterministic_pair`: an exact copy, an
        invertible map, or a dependence too strong for n to resolve); then the true MI
        is infinite (or beyond what n samples show), the estimate is a lower bound set
        by n, and ``flags["at_ceiling"]`` is True (False otherwise, for continuous data).
        For every choice, ``deterministic_discrete``: ``None``, or a column ``y_i`` that
        is a strictly monotone function of a *discrete* column ``x_j`` (integer-valued
        on either side, or with repeated values; :func:`deterministic_pair` with
        ``discrete=True``), with ``n_levels``, ``entropy`` (the Miller-Madow estimate
        of ``H(x_j)`` capped at ``ln n``), ``entropy_uncapped``, ``capped``,
        ``undersampled`` (values of ``x_j`` above 20% of n, the discrete estimators'
        rule), ``exact`` (``x`` or ``y`` has one column: ``I(x; y) = H(x_j)`` and the
        value is that estimate) and ``floor_applied`` (otherwise the value is kept but
        not below ``H(x_j)``, since ``I(x; y) >= I(x_j; y_i) = H(x_j)``). Then
        ``flags["undersampled"]`` is set as above and ``flags["at_ceiling"]`` when the
        cap at ``ln n`` applied; ``x = y`` integers with 100 values at n = 500 read
        6.56 nats before (the Gaussian-copula ridge, above ``ln n = 6.21``), now
        ``H(x) = 4.6``.

    Raises
    ------
    ValueError
        Bad input (see :func:`mi_probe._validation.check_xy`), fewer than 20 samples,
        ``n_resamples`` or ``n_permutations`` out of range.

    Warns
    -----
    RuntimeWarning
        When a serious reliability flag is set (unstable in n, too few samples for the
        dimension, candidates that disagree); for a deterministic relation
        of a discrete column, a warning of its own says that the value is ``H(x_j)``
        (exact with one column on a side, a lower bound otherwise) and whether it is
        undersampled; for a deterministic relation of continuous columns
        (``at_ceiling``) a warning of its own says that the estimate is a lower bound
        limited by n (``estimate_mi(x, x, "auto")`` read 6.56 nats at n = 300 and 2000
        with no flag: the Gaussian-copula candidate at its 1e-6 ridge).

    Notes
    -----
    Cost. For continuous data with ``d_x + d_y > 4`` the permutation null runs the
    KSG candidate on a random quarter of the permuted rows (for a label target with
    more than 3 continuous columns, both label candidates run on a quarter of the rows) (the Gaussian and radial
    candidates, which are cheap, use all rows; the sides' negentropies are those of
    the data, which a permutation does not change). Under independence KSG is centred
    near 0 with a spread that shrinks with n, so its null at n/4 lies above the one
    at n: the reported null level and p-value are conservative (an estimate is
    called distinguishable from independence less often, never more). Above
    ``d_x + d_y = 128`` KSG on the normal scores is skipped, so wide layers (hundreds
    of columns) cost a few k-NN searches per side, not an ``n^2 d`` joint search per
    candidate.
    """
    # bounded like reliability's own check, but before any estimate runs
    n_resamples = check_int(n_resamples, "n_resamples", low=2, high=reliability.MAX_RESAMPLES)
    n_permutations = check_int(
        n_permutations, "n_permutations", low=1, high=reliability.MAX_RESAMPLES
    )
    xa, ya = check_xy(x, y, min_samples=20)
    rng = check_random_state(random_state)
    choice, xp, yp, reason = _plan(xa, ya)
    # columns of y that are strictly monotone functions of columns of x in the sample
    matches = _monotone_matches(xa, ya)
    det_c = next((m for m in matches if m["kind"] == "continuous"), None)
    det_d = None if det_c is not None else _discrete_match(xa, matches)
    exact_d = det_d is not None and min(xa.shape[1], ya.shape[1]) == 1
    if exact_d and choice != "discrete":
        assert det_d is not None
        # I(x; y) = H(x_j) exactly (see _discrete_match): estimate that, not a
        # continuous MI of tied data (the Gaussian copula's ridge read 6.56 nats)
        choice = "deterministic-discrete"
        xp = _codes(xa[:, det_d["x_column"]])
        yp = _codes(ya[:, det_d["y_column"]])
        reason = (
            "y is a strictly monotone function of a discrete (integer-valued) column of "
            "x: I(x; y) = H(x_j), the Miller-Madow plug-in entropy, capped at ln n"
        )
    discrete_like = choice in ("discrete", "deterministic-discrete")
    seed = int(rng.integers(0, 2**31 - 1))
    diag: dict[str, Any] = {"choice": choice, "reason": reason}
    null_fn: reliability.EstimateFn
    records: list[dict[str, float]] = []
    extra: dict[str, Any] | None = None
    candidates: dict[str, float] | None = None
    if discrete_like:
        fn: reliability.EstimateFn = (
            _discrete_fn if choice == "discrete" else _deterministic_discrete_fn
        )
        null_fn = fn
        raw = fn(xp, yp, seed)
    elif choice.startswith("mixed"):
        usable = _usable_available()
        raw_cont = ya if is_discrete(xa) else xa
        # each column divided by a power of two at its largest |value| (exact, linear):
        # the probe's own standardisation under- or overflows near 1e-300 and 1e300
        peak = np.max(np.abs(raw_cont), axis=0)
        raw_cont = np.ldexp(raw_cont, -np.frexp(np.where(peak > 0, peak, 1.0))[1])
        if usable:
            choice = "max(mixed+copula,usable)"
            diag["choice"] = choice
            diag["reason"] = reason + "; Ross's estimator and a held-out probe, the larger kept"
        diag["usable_hook"] = (
            "usable information included"
            if usable
            else "mi_probe.estimators.usable not found: Ross's estimator alone"
        )

        def _raw_rows(a: np.ndarray) -> np.ndarray:
            # the probe reads the untransformed rows: find them through the normal
            # scores (equal normal-score rows are equal raw rows, ranks being monotone)
            return raw_cont[_row_index(xp, a)] if usable else a

        def fn(a: np.ndarray, b: np.ndarray, s: int) -> float:
            c = _label_candidates(a, _raw_rows(a), b, s, usable)
            records.append(c)
            return max(c.values())

        candidates = _label_candidates(xp, raw_cont, yp, seed, usable)
        raw = max(candidates.values())
        diag["candidates"] = candidates
        diag["chosen"] = max(candidates, key=candidates.__getitem__)
        n = xp.shape[0]
        rows = None
        if xp.shape[1] + 1 > _NULL_FULL_KSG_MAX_DIM:
            rows = max(n // _NULL_KSG_FRACTION, min(n, 100))

        def null_fn(a: np.ndarray, b: np.ndarray, s: int) -> float:
            if rows is not None and rows < a.shape[0]:
                idx = np.random.default_rng(s).choice(a.shape[0], size=rows, replace=False)
                a, b = a[idx], b[idx]
            return max(_label_candidates(a, _raw_rows(a), b, s, usable).values())

        diag["null_rows"] = rows or n
    else:
        dxp, dyp = xp.shape[1], yp.shape[1]
        use_raw = dxp + dyp <= _RAW_KSG_MAX_DIM
        if use_raw:  # carry the untransformed columns along (same rows in every resample)
            xp, yp = np.hstack([xp, xa]), np.hstack([yp, ya])

        def split(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
            return a[:, :dxp], b[:, :dyp], ((a[:, dxp:], b[:, dyp:]) if use_raw else None)

        a0, b0, r0 = split(xp, yp)
        candidates, extra = _continuous_candidates(a0, b0, seed, raw=r0)
        raw = max(candidates.values())
        diag["candidates"] = candidates
        diag["chosen"] = max(candidates, key=candidates.__getitem__)
        diag["gaussian_uncorrected"] = extra["gaussian_uncorrected"]
        diag["negentropy"] = extra["negentropy"]
        diag["negentropy_correction"] = extra["correction"]
        diag["skipped"] = extra["skipped"]
        diag["negentropy_check"] = extra["check"]
        n, d = xp.shape[0], dxp + dyp
        rows = None
        if d > _NULL_FULL_KSG_MAX_DIM:
            rows = max(n // _NULL_KSG_FRACTION, min(n, 100))
        fixed_j = (extra["negentropy"]["x"], extra["negentropy"]["y"])

        def fn(a: np.ndarray, b: np.ndarray, s: int) -> float:
            a, b, r = split(a, b)
            c, e = _continuous_candidates(a, b, s, raw=r)
            records.append({**c, "negentropy_check": e["check"]})
            return max(c.values())

        def null_fn(a: np.ndarray, b: np.ndarray, s: int) -> float:
            a, b, r = split(a, b)
            c, _ = _continuous_candidates(
                a, b, s, ksg_rows=rows, negentropy=fixed_j, check=False, raw=r
            )
            return max(c.values())

        diag["null_ksg_rows"] = rows or n
    diag["raw_value"] = raw
    flags: dict[str, Any] = reliability.sample_flags(xa, ya, continuous=not discrete_like)
    det = None
    if choice.startswith("max(gaussian"):
        # a copy or a strictly monotone map of a column with a continuous component:
        # the true MI is infinite (or beyond what n samples resolve) and every
        # candidate sits at an n-limited ceiling
        if det_c is not None:
            det = {k: det_c[k] for k in ("x_column", "y_column", "relation")}
        diag["deterministic"] = det
        flags["at_ceiling"] = det is not None
    lo_hi = None
    null_level = None
    info: dict[str, Any] = {}
    if interval:
        lo_hi, info = reliability.subsample_interval(
            fn, xp, yp, raw, n_resamples=n_resamples, rng=rng
        )
        diag.update(info)
    sub_records = list(records)
    if candidates is not None:
        dis = _disagreement(candidates, extra, sub_records)
        floor, ceiling = dis.pop("interval_floor", None), dis.pop("interval_ceiling", None)
        flags.update(dis)
        check = extra.get("check") if extra else None
        if check is not None and ceiling is None and check > raw:
            ceiling = check  # the cross-check above the kept value: reach it, no flag
        if lo_hi is not None:
            lo_hi = (
                lo_hi[0] if floor is None else min(lo_hi[0], floor),
                lo_hi[1] if ceiling is None else max(lo_hi[1], ceiling),
            )
    else:
        flags["candidates_disagree"] = False
    if lo_hi is not None:
        lo_hi = (max(lo_hi[0], 0.0), max(lo_hi[1], 0.0))
    if null:
        null_level, ninfo = reliability.permutation_null(
            null_fn, xp, yp, raw, n_permutations=n_permutations, rng=rng
        )
        diag.update(ninfo)
    if check_stability:
        flags.update(reliability.stability_flags(fn, xp, yp, raw, rng=rng, noise_sd=diag.get("sd")))
    value = max(raw, 0.0)
    diag["deterministic_discrete"] = det_d
    if det_d is not None:
        # I(x; y) >= I(x_j; y_i) = H(x_j), with equality when x or y has one column
        h = det_d["entropy"]
        det_d["exact"] = exact_d
        det_d["floor_applied"] = bool(not exact_d and h > value)
        value = h if exact_d else max(value, h)
        flags["undersampled"] = det_d["undersampled"]
        flags["at_ceiling"] = bool(flags.get("at_ceiling", False) or det_d["capped"])
        if lo_hi is not None:
            lo_hi = (min(lo_hi[0], value), max(lo_hi[1], value))
    diag["flags"] = flags
    diag["bias"] = reliability.bias_statement(info, flags, lower_bounds=not discrete_like)
    if det is not None:
        what = (
            f"y column {det['y_column']} is a strictly {det['relation']} function of "
            f"x column {det['x_column']} in the sample (the same ranks: an exact copy, an "
            f"invertible map, or a dependence too strong for n = {xa.shape[0]} samples to "
            "resolve)"
        )
        diag["bias"]["direction"] = "truth likely above"
        diag["bias"]["note"] += (
            f" {what[0].upper()}{what[1:]}: the mutual information of continuous "
            "variables is then infinite, and the estimate is a lower bound limited by n "
            "(at_ceiling)."
        )
        warnings.warn(
            f"auto: {what}; the true mutual information of continuous variables is then "
            f"infinite, and the estimate ({max(raw, 0.0):.3g} nats) is a lower bound "
            "limited by n, not an estimate of it (diagnostics['flags']['at_ceiling'])",
            RuntimeWarning,
            stacklevel=2,
        )
        # the warning above says it; the generic one lists the other serious flags
        reliability.warn_flags({**flags, "at_ceiling": False}, "auto")
    elif det_d is not None:
        note = _discrete_match_note(det_d, xa.shape[0])
        if det_d["undersampled"] or not exact_d:
            diag["bias"]["direction"] = "truth likely above"
        diag["bias"]["note"] += " " + note
        warnings.warn(f"auto: {note}", RuntimeWarning, stacklevel=2)
        reliability.warn_flags({**flags, "at_ceiling": False}, "auto")
    else:
        reliability.warn_flags(flags, "auto")
    return MIResult(
        value=value,
        estimator="auto",
        n_samples=xa.shape[0],
        params=dict(
            interval=interval,
            null=null,
            check_stability=check_stability,
            n_resamples=n_resamples,
            n_permutations=n_permutations,
            random_state=random_state,
        ),
        diagnostics=diag,
        interval=lo_hi,
        null=null_level,
    )


def _row_index(full: np.ndarray, sub: np.ndarray) -> np.ndarray:
    """Indices into ``full`` of the rows of ``sub`` (each row of ``sub`` is a row of
    ``full``; normal scores of continuous data have no repeated rows in practice)."""
    keys = {row.tobytes(): i for i, row in enumerate(full)}
    return np.fromiter((keys[row.tobytes()] for row in sub), dtype=np.intp, count=sub.shape[0])


AutoEstimator = from_function(
    auto_mi,
    "auto",
    doc="Automatic estimator choice; the class twin of :func:`auto_mi`.",
    cls_name="AutoEstimator",
)
