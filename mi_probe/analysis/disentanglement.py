"""Disentanglement metrics of codes ``z`` against ground-truth factors ``v``.

:func:`disentanglement_scores` returns MIG, SAP, DCI (disentanglement, completeness,
informativeness), modularity and the FactorVAE score, plus ``tc``, the Gaussian total
correlation of the codes. Each follows its published definition; the choices that
differ between code bases (the discretiser of MIG and modularity, the predictors of SAP
and DCI) are parameters, stated in the docstrings and returned by
:func:`disentanglement_details`.

References
----------
.. [1] R. T. Q. Chen, X. Li, R. Grosse, D. Duvenaud, "Isolating sources of
   disentanglement in VAEs", NeurIPS 2018 (MIG).
.. [2] A. Kumar, P. Sattigeri, A. Balakrishnan, "Variational inference of disentangled
   latent concepts from unlabeled observations", ICLR 2018 (SAP).
.. [3] C. Eastwood, C. K. I. Williams, "A framework for the quantitative evaluation of
   disentangled representations", ICLR 2018 (DCI).
.. [4] K. Ridgeway, M. C. Mozer, "Learning deep disentangled embeddings with the
   F-statistic loss", NeurIPS 2018 (modularity).
.. [5] H. Kim, A. Mnih, "Disentangling by factorising", ICML 2018 (FactorVAE score).
.. [6] F. Locatello et al., "Challenging common assumptions in the unsupervised learning
   of disentangled representations", ICML 2019 (the 20-bin uniform discretiser of MIG).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import (
    check_array,
    check_choice,
    check_int,
    check_labels,
    check_positive,
    check_random_state,
    check_same_samples,
    named_kwargs,
)
from ..estimators.binning import _discretize, row_symbols
from ..estimators.discrete import _mi_from_symbols, entropy_from_counts

__all__ = [
    "disentanglement_scores",
    "disentanglement_details",
    "mutual_info_matrix",
    "SCORE_KEYS",
]

SCORE_KEYS = (
    "mig",
    "sap",
    "dci_disentanglement",
    "dci_completeness",
    "dci_informativeness",
    "modularity",
    "factorvae",
)
DCI_MODELS = ("forest", "gbt", "lasso")


def _check_inputs(codes: Any, factors: Any, n_bins: int) -> tuple[np.ndarray, np.ndarray, bool]:
    z = check_array(codes, "codes", min_samples=10)
    # one power of two for all codes (exact, and every metric is invariant to it), so
    # the standard deviations below neither overflow near 1e154 nor underflow near 1e-160
    peak = float(np.max(np.abs(z)))
    if peak > 0:
        z = np.ldexp(z, -int(np.frexp(peak)[1]))
    fv = check_array(factors, "factors", min_samples=1)
    check_same_samples(z.shape[0], fv.shape[0], "codes", "factors")
    binned = not np.all(fv == np.round(fv))
    if binned:  # continuous factors: uniform bins, as the codes
        v = _discretize(fv, n_bins, "uniform", None)
    else:
        v = check_labels(factors, "factors")
    # dense 0..k-1 codes per factor
    v = np.column_stack(
        [np.unique(v[:, j], return_inverse=True)[1].reshape(-1) for j in range(v.shape[1])]
    )
    return z, v.astype(np.int64), binned


def mutual_info_matrix(
    codes: Any, factors: Any, *, n_bins: int = 20, discretizer: str = "uniform"
) -> np.ndarray:
    """Plug-in ``I(bin(z_i); v_j)`` in nats for every code i and factor j.

    Parameters
    ----------
    codes : array-like or tensor, shape (n_samples, n_codes)
    factors : array-like or tensor, shape (n_samples, n_factors)
        Integer-coded factors (floats that are not integers are binned like the codes).
    n_bins : int, default 20
        Bins per code (20 equal-width bins over each code's range, as in
        disentanglement_lib, is the default).
    discretizer : {"uniform", "quantile"}

    Returns
    -------
    numpy.ndarray, shape (n_codes, n_factors)

    Raises
    ------
    ValueError
        Bad input, mismatched lengths, fewer than 10 samples, bad ``n_bins``.
    """
    n_bins = check_int(n_bins, "n_bins", low=2)
    check_choice(discretizer, "discretizer", ("uniform", "quantile"))
    z, v, _ = _check_inputs(codes, factors, n_bins)
    return _mi_matrix(_discretize(z, n_bins, discretizer, None), v)


def _mi_matrix(zb: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.zeros((zb.shape[1], v.shape[1]))
    vs = [row_symbols(v[:, [j]]) for j in range(v.shape[1])]
    for i in range(zb.shape[1]):
        ci, ki = row_symbols(zb[:, [i]])
        if ki <= 1:
            continue
        for j, (cj, kj) in enumerate(vs):
            out[i, j] = max(_mi_from_symbols(ci, ki, cj, kj, None)[0], 0.0)
    return out


def _factor_entropies(v: np.ndarray) -> np.ndarray:
    return np.array([entropy_from_counts(np.bincount(v[:, j])) for j in range(v.shape[1])])


def _mig(mi: np.ndarray, h: np.ndarray) -> tuple[float, np.ndarray]:
    if mi.shape[0] < 2:
        top2 = np.vstack([mi, np.zeros_like(mi)])
    else:
        top2 = np.sort(mi, axis=0)[::-1][:2]
    per = np.where(h > 0, (top2[0] - top2[1]) / np.where(h > 0, h, 1.0), 0.0)
    return float(per.mean()), per


def _modularity(mi: np.ndarray) -> float:
    k = mi.shape[1]
    theta = mi.max(axis=1)
    scores = np.zeros(mi.shape[0])
    if k == 1:
        return float(np.mean(theta > 0))
    for i in range(mi.shape[0]):
        if theta[i] <= 0:
            continue  # a code with no information about any factor scores 0
        template = np.zeros(k)
        template[np.argmax(mi[i])] = theta[i]
        delta = np.sum((mi[i] - template) ** 2) / (theta[i] ** 2 * (k - 1))
        scores[i] = 1.0 - delta
    return float(scores.mean())


def _split(n: int, rng: np.random.Generator, test_size: float) -> tuple[np.ndarray, np.ndarray]:
    perm = rng.permutation(n)
    n_test = max(1, int(round(test_size * n)))
    return perm[n_test:], perm[:n_test]


def _sap(
    z: np.ndarray, v: np.ndarray, rng: np.random.Generator, test_size: float
) -> tuple[float, np.ndarray]:
    """Per (code, factor): test accuracy of a 1-D threshold classifier (a shallow tree)."""
    from sklearn.tree import DecisionTreeClassifier

    tr, te = _split(z.shape[0], rng, test_size)
    s = np.zeros((z.shape[1], v.shape[1]))
    for j in range(v.shape[1]):
        n_classes = int(v[:, j].max()) + 1
        majority = np.bincount(v[te, j], minlength=n_classes).max() / te.size
        for i in range(z.shape[1]):
            if np.ptp(z[tr, i]) == 0:
                s[i, j] = majority
                continue
            clf = DecisionTreeClassifier(max_leaf_nodes=max(2, n_classes), random_state=0)
            clf.fit(z[tr, i : i + 1], v[tr, j])
            s[i, j] = clf.score(z[te, i : i + 1], v[te, j])
    top2 = np.sort(s, axis=0)[::-1][:2] if s.shape[0] > 1 else np.vstack([s, s])
    return float(np.mean(top2[0] - top2[1])), s


def _dci(
    z: np.ndarray,
    v: np.ndarray,
    model: str,
    rng: np.random.Generator,
    test_size: float,
    random_state: int,
) -> tuple[float, float, float, np.ndarray]:
    tr, te = _split(z.shape[0], rng, test_size)
    d, k = z.shape[1], v.shape[1]
    r = np.zeros((d, k))
    acc = np.zeros(k)
    std = z[tr].std(axis=0)
    zs = (z - z[tr].mean(axis=0)) / np.where(std > 0, std, 1.0)
    for j in range(k):
        y_tr, y_te = v[tr, j], v[te, j]
        if np.unique(y_tr).size < 2:
            acc[j] = float(np.mean(y_te == y_tr[0]))
            continue
        if model == "forest":
            from sklearn.ensemble import RandomForestClassifier

            clf = RandomForestClassifier(
                n_estimators=50,
                max_depth=8,
                max_features=None,
                random_state=random_state,
                n_jobs=1,
            )
            clf.fit(zs[tr], y_tr)
            imp = clf.feature_importances_
        elif model == "gbt":
            from sklearn.ensemble import HistGradientBoostingClassifier
            from sklearn.inspection import permutation_importance

            clf = HistGradientBoostingClassifier(max_iter=50, random_state=random_state)
            clf.fit(zs[tr], y_tr)
            imp = permutation_importance(
                clf, zs[te], y_te, n_repeats=3, random_state=random_state
            ).importances_mean
        else:
            import sklearn
            from sklearn.linear_model import LogisticRegression

            major_minor = tuple(int(p) for p in sklearn.__version__.split(".")[:2])
            # scikit-learn 1.8 deprecated ``penalty`` in favour of ``l1_ratio``
            l1 = {"l1_ratio": 1.0} if major_minor >= (1, 8) else {"penalty": "l1"}
            clf = LogisticRegression(solver="saga", C=0.1, max_iter=300, **l1)
            clf.fit(zs[tr], y_tr)
            imp = np.abs(np.atleast_2d(clf.coef_)).mean(axis=0)
        r[:, j] = np.clip(imp, 0.0, None)
        acc[j] = float(clf.score(zs[te], y_te))
    total = r.sum()
    if total <= 0:
        return 0.0, 0.0, float(acc.mean()), r

    def one_minus_entropy(p: np.ndarray, base: int) -> np.ndarray:
        s = p.sum(axis=1, keepdims=True)
        q = np.where(s > 0, p / np.where(s > 0, s, 1.0), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.where(q > 0, q * np.log(q), 0.0).sum(axis=1) / np.log(base)
        return np.where(s[:, 0] > 0, 1.0 - h, 0.0)

    dis = one_minus_entropy(r, k) if k > 1 else (r.sum(axis=1) > 0).astype(float)
    rho = r.sum(axis=1) / total
    com = one_minus_entropy(r.T, d) if d > 1 else np.ones(k)
    return float(np.sum(rho * dis)), float(com.mean()), float(acc.mean()), r


def _factorvae(
    z: np.ndarray,
    v: np.ndarray,
    rng: np.random.Generator,
    batch_size: int,
    n_train: int,
    n_eval: int,
    prune: float,
) -> float:
    std = z.std(axis=0)
    active = std > prune * max(float(std.max()), 1e-300)
    if not active.any() or std.max() == 0:
        return 0.0
    zs = z[:, active] / std[active]
    k = v.shape[1]
    groups = [
        [np.flatnonzero(v[:, j] == val) for val in range(int(v[:, j].max()) + 1)] for j in range(k)
    ]

    def votes(m: int) -> np.ndarray:
        out = np.zeros((zs.shape[1], k), dtype=np.int64)
        for _ in range(m):
            j = int(rng.integers(k))
            pool = [g for g in groups[j] if g.size > 0]
            members = pool[int(rng.integers(len(pool)))]
            idx = rng.choice(members, size=batch_size, replace=members.size < batch_size)
            out[int(np.argmin(zs[idx].var(axis=0))), j] += 1
        return out

    train = votes(n_train)
    evalv = votes(n_eval)
    pred = np.argmax(train, axis=1)  # majority vote per code dimension
    correct = evalv[np.arange(zs.shape[1]), pred].sum()
    return float(correct / max(evalv.sum(), 1))


def disentanglement_details(
    codes: Any,
    factors: Any,
    *,
    n_bins: int = 20,
    discretizer: str = "uniform",
    dci_model: str = "forest",
    test_size: float = 0.3,
    factorvae_batch_size: int = 64,
    factorvae_votes: int = 800,
    prune_threshold: float = 0.05,
    random_state: Any = 0,
) -> dict[str, Any]:
    """All the scores of :func:`disentanglement_scores` plus their matrices and settings.

    Returns
    -------
    dict
        ``scores`` (the dict of :func:`disentanglement_scores`), ``mi_matrix``
        (n_codes, n_factors) in nats, ``factor_entropy`` (n_factors,), ``mig_per_factor``,
        ``sap_matrix`` (test accuracies), ``dci_importance`` (n_codes, n_factors),
        ``settings`` (the discretiser and predictors used), ``factors_binned``,
        ``constant_factors`` (indices of factors with a single value; warned about).
    """
    n_bins = check_int(n_bins, "n_bins", low=2)
    check_choice(discretizer, "discretizer", ("uniform", "quantile"))
    check_choice(dci_model, "dci_model", DCI_MODELS)
    test_size = check_positive(test_size, "test_size")
    if test_size >= 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    factorvae_batch_size = check_int(factorvae_batch_size, "factorvae_batch_size", low=2)
    factorvae_votes = check_int(factorvae_votes, "factorvae_votes", low=2)
    prune_threshold = check_positive(prune_threshold, "prune_threshold", allow_zero=True)
    if prune_threshold >= 1:
        # every code's std is <= the largest: all would be pruned and FactorVAE read 0
        raise ValueError(
            f"prune_threshold must be in [0, 1) (a fraction of the largest code std), "
            f"got {prune_threshold}"
        )
    rng = check_random_state(random_state)
    seed = int(rng.integers(0, 2**31 - 1))
    z, v, binned = _check_inputs(codes, factors, n_bins)
    n = z.shape[0]
    n_test = max(1, int(round(test_size * n)))
    if n - n_test < 2:
        raise ValueError(
            f"test_size={test_size} leaves {n - n_test} of {n} samples for training SAP "
            "and DCI; at least 2 are needed (use a smaller test_size)"
        )
    constant = [int(j) for j in range(v.shape[1]) if v[:, j].max() == 0]
    if constant:
        warnings.warn(
            f"factors {constant} take a single value: they have nothing to disentangle, "
            "yet count as 0 in the averages of MIG, SAP, DCI completeness and modularity "
            "and as a class of the FactorVAE score; drop them for scores about the "
            "varying factors (details: 'constant_factors')",
            RuntimeWarning,
            stacklevel=2,
        )

    mi = _mi_matrix(_discretize(z, n_bins, discretizer, None), v)
    h = _factor_entropies(v)
    mig, mig_per = _mig(mi, h)
    sap, sap_mat = _sap(z, v, np.random.default_rng(seed), test_size)
    dis, com, info, imp = _dci(z, v, dci_model, np.random.default_rng(seed + 1), test_size, seed)
    fvae = _factorvae(
        z,
        v,
        np.random.default_rng(seed + 2),
        factorvae_batch_size,
        factorvae_votes,
        factorvae_votes // 2,
        prune_threshold,
    )
    from .total_correlation import gaussian_tc

    try:
        tc = gaussian_tc(z, regularization=1e-6).value if z.shape[1] > 1 else 0.0
    except ValueError:
        tc = float("nan")
    scores = {
        "mig": mig,
        "sap": sap,
        "dci_disentanglement": dis,
        "dci_completeness": com,
        "dci_informativeness": info,
        "modularity": _modularity(mi),
        "factorvae": fvae,
        "tc": float(tc),
    }
    settings = {
        "discretizer": f"{n_bins} {discretizer} bins per code over its own range "
        "(plug-in MI, nats)",
        "sap_predictor": "1-D decision tree (threshold) classifier per code and factor, "
        "test accuracy",
        "dci_model": {
            "forest": "random forest (50 trees, depth 8, all features per split), "
            "impurity importances",
            "gbt": "histogram gradient boosting, permutation importances",
            "lasso": "L1 logistic regression, |coefficients|",
        }[dci_model],
        "dci_informativeness": "mean test accuracy over factors",
        "factorvae": f"batch {factorvae_batch_size}, {factorvae_votes} train / "
        f"{factorvae_votes // 2} eval votes, prune std < "
        f"{prune_threshold} x max",
        "tc": "Gaussian total correlation of the codes (nats)",
        "test_size": test_size,
        "random_state": random_state,
    }
    return {
        "scores": scores,
        "mi_matrix": mi,
        "factor_entropy": h,
        "mig_per_factor": mig_per,
        "sap_matrix": sap_mat,
        "dci_importance": imp,
        "settings": settings,
        "factors_binned": binned,
        "constant_factors": constant,
    }


@named_kwargs
def disentanglement_scores(
    codes: Any,
    factors: Any,
    *,
    n_bins: int = 20,
    discretizer: str = "uniform",
    dci_model: str = "forest",
    test_size: float = 0.3,
    factorvae_batch_size: int = 64,
    factorvae_votes: int = 800,
    prune_threshold: float = 0.05,
    random_state: Any = 0,
) -> dict[str, float]:
    """MIG, SAP, DCI, modularity and FactorVAE score of ``codes`` against ``factors``.

    Parameters
    ----------
    codes : array-like or tensor, shape (n_samples, n_codes)
        The representation (e.g. a VAE's means or a layer's activations).
    factors : array-like or tensor, shape (n_samples, n_factors)
        Ground-truth generative factors, integer-coded (0..k-1 or any integers). Float
        factors that are not integers are put in ``n_bins`` uniform bins first.
    n_bins : int, default 20
        Discretiser of the codes for the MI-based metrics (MIG, modularity): 20
        equal-width bins over each code's own range, as in disentanglement_lib
        (Locatello et al. 2019). MIG depends on this choice.
    discretizer : {"uniform", "quantile"}
    dci_model : {"forest", "gbt", "lasso"}
        The scikit-learn predictor of each factor from all codes whose importances make
        the DCI matrix: a random forest (default; Eastwood & Williams use random forests
        and lasso), histogram gradient boosting (permutation importances), or L1
        logistic regression.
    test_size : float, default 0.3
        Held-out fraction for SAP and DCI informativeness.
    factorvae_batch_size : int, default 64
        Samples per vote of the FactorVAE score.
    factorvae_votes : int, default 800
        Training votes (and half as many evaluation votes).
    prune_threshold : float, default 0.05
        FactorVAE: codes whose standard deviation is below this fraction of the largest
        are treated as collapsed and ignored.
    random_state : None, int or numpy Generator, default 0

    Returns
    -------
    dict of str to float
        ``mig``, ``sap``, ``dci_disentanglement``, ``dci_completeness``,
        ``dci_informativeness``, ``modularity``, ``factorvae`` (all in [0, 1]) and
        ``tc`` (Gaussian total correlation of the codes, nats).

    Raises
    ------
    ValueError
        Bad input, mismatched lengths, fewer than 10 samples, or a bad option
        (``test_size`` leaving fewer than 2 training samples, ``prune_threshold``
        outside [0, 1)).

    Warns
    -----
    RuntimeWarning
        A factor takes a single value (it lowers the averaged scores).

    Notes
    -----
    * MIG: ``mean_k (I(z_a; v_k) - I(z_b; v_k)) / H(v_k)`` with ``a``, ``b`` the codes
      with the largest and second largest MI about factor k (plug-in, binned codes).
    * SAP: per factor, the gap between the two best single-code predictors' test
      accuracies (discrete factors; a 1-D threshold classifier), averaged.
    * DCI: importance matrix R (codes x factors); disentanglement
      ``sum_i rho_i (1 - H_K(P_i.))``, completeness ``mean_j (1 - H_D(P_.j))``,
      informativeness the mean test accuracy.
    * Modularity: ``1 - sum_k (m_ik - t_ik)^2 / (theta_i^2 (K - 1))`` averaged over
      codes; a code with no information about any factor scores 0 (so constant codes
      give 0).
    * FactorVAE: majority-vote accuracy of "which factor was fixed" from the
      arg-min normalised variance over a batch with one factor fixed.

    Examples
    --------
    >>> import numpy as np, mi_probe
    >>> rng = np.random.default_rng(0)
    >>> v = rng.integers(0, 5, size=(1000, 3))
    >>> s = mi_probe.disentanglement_scores(v + 0.1 * rng.standard_normal(v.shape), v)
    >>> s["mig"] > 0.9
    True
    """
    return disentanglement_details(
        codes,
        factors,
        n_bins=n_bins,
        discretizer=discretizer,
        dci_model=dci_model,
        test_size=test_size,
        factorvae_batch_size=factorvae_batch_size,
        factorvae_votes=factorvae_votes,
        prune_threshold=prune_threshold,
        random_state=random_state,
    )["scores"]
