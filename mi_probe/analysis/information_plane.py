"""Information-plane trajectories: I(X;T) and I(T;Y) for each probed layer T over training.

A deterministic layer of continuous inputs has infinite ``I(X;T)``; every number here
is therefore the information of a stated *regime*, written in the ``regime`` column:

``binning``
    ``I(X; bin(T))`` and ``I(bin(T); Y)`` of the quantised layer on the finite probe
    set (Shwartz-Ziv & Tishby 2017). With distinct inputs ``I(X; bin(T)) = H(bin(T))``,
    at most ``log n``.
``kde``
    ``I(X; T + Z)`` and ``I(T + Z; Y)`` with ``Z ~ N(0, s2 I)`` added to the layer, the
    pairwise-distance (Kolchinsky-Tracey) estimate of Saxe et al. (2018).
other estimator names / instances
    whatever that estimator measures on the finite sample (for example KSG on ``X`` and
    ``T``; with ``"mixed"``, the estimator of Ross (2014) for ``T`` against the class
    labels and KSG for ``I(X;T)``).

All values are in nats. For binning and KDE the recorder computes both coordinates of
a layer from one pass (one binning, one kernel matrix, shared by ``I(X;T)`` and
``I(T;Y)``); the numbers equal those of
:func:`mi_probe.estimators.binning.binning_mi` and
:func:`mi_probe.estimators.kde.noisy_layer_mi` (tested).

References
----------
R. Shwartz-Ziv, N. Tishby, "Opening the black box of deep neural networks via
information", arXiv:1703.00810 (2017).
A. M. Saxe et al., "On the information bottleneck theory of deep learning", ICLR 2018.
A. Kolchinsky, B. D. Tracey, "Estimating mixture entropy with pairwise distances",
Entropy 19, 361 (2017).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._threads import small_torch_work
from .._validation import (
    check_array,
    check_choice,
    check_int,
    check_labels,
    check_positive,
    check_same_samples,
    encode_rows,
    is_tensor,
)

__all__ = [
    "InformationPlaneRecorder",
    "information_plane",
    "load_plane",
    "log_spaced_epochs",
    "binned_plane",
    "kde_plane",
    "COLUMNS",
]

COLUMNS = ("epoch", "layer", "estimator", "I_XT", "I_TY", "train_loss", "test_loss", "regime")
_FAST = ("binning", "kde")
_BINNING_KEYS = ("n_bins", "strategy", "bin_size")
_KDE_KEYS = ("noise_variance", "bound", "device", "chunk_size")
_KSG_SHARED = ("n_neighbors", "standardize", "jitter", "backend", "random_state")


# --------------------------------------------------------------------------------------
# the two fused estimators
# --------------------------------------------------------------------------------------
def _symbols_of(a: Any, name: str) -> tuple[np.ndarray, int]:
    """Symbols of the distinct rows of ``a`` (labels or exact float rows)."""
    if is_tensor(a):
        a = a.detach().cpu().numpy()
    arr = np.asarray(a)
    if arr.dtype.kind in "biu":
        codes = check_labels(arr, name)
    elif arr.ndim >= 2 and arr.shape[0] > 0 and int(np.prod(arr.shape[1:])) > 64:
        return _hashed_row_symbols(arr.reshape(arr.shape[0], -1), name)
    else:
        codes = (
            check_array(arr.reshape(arr.shape[0], -1) if arr.ndim > 2 else arr, name, min_samples=1)
            + 0.0
        )
    return encode_rows(codes)


def _hashed_row_symbols(arr: np.ndarray, name: str, chunk: int = 1024) -> tuple[np.ndarray, int]:
    """Symbols of the distinct rows of a wide float matrix, in O(n) extra memory.

    Each row (``-0.0`` made ``0.0``, in its own float dtype: float32 rows are distinct
    exactly when their float64 copies are) is hashed to 128 bits (BLAKE2b), and the
    digests are numbered; a collision among ``n`` rows has probability below
    ``n^2 / 2^129``. The input is never copied whole (a float64 copy of a 20000 x 1024
    input alone would be 164 MB).
    """
    import hashlib

    if arr.dtype.kind == "c":
        raise ValueError(f"{name} has a complex dtype ({arr.dtype}); expected real numbers")
    if arr.dtype.kind != "f":
        _check_numeric(arr, name)
    n = arr.shape[0]
    digests = np.empty((n, 16), dtype=np.uint8)
    for s in range(0, n, chunk):
        block = np.asarray(arr[s : s + chunk])
        if block.dtype not in (np.float32, np.float64):
            block = block.astype(np.float64)
        if np.isnan(block).any():
            raise ValueError(f"{name} contains NaN")
        if not np.isfinite(block).all():
            raise ValueError(f"{name} contains inf")
        block = np.ascontiguousarray(block + block.dtype.type(0.0))
        for i, row in enumerate(block):
            digests[s + i] = np.frombuffer(
                hashlib.blake2b(row.tobytes(), digest_size=16).digest(), dtype=np.uint8
            )
    return encode_rows(digests)


def _check_numeric(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {arr.dtype}")


def _entropy_of_symbols(sym: np.ndarray) -> float:
    from ..estimators.discrete import entropy_from_counts

    return entropy_from_counts(np.bincount(sym))


def _entropy_of_run_lengths(counts: np.ndarray) -> float:
    """Plug-in entropy (nats) of positive integer cell counts (no validation: internal)."""
    c = counts.astype(np.float64)
    n = c.sum()
    return float(np.log(n) - np.dot(c, np.log(c)) / n)


def _plugin_mi(a: np.ndarray, ka: int, b: np.ndarray, kb: int) -> float:
    """Plug-in I(A;B) in nats of two symbol sequences."""
    joint, _ = encode_rows(np.stack([a, b], axis=1))
    return _entropy_of_symbols(a) + _entropy_of_symbols(b) - _entropy_of_symbols(joint)


def binned_plane(
    t: Any,
    x_symbols: np.ndarray,
    y_symbols: np.ndarray,
    *,
    n_bins: int = 30,
    strategy: str = "uniform",
    bin_size: float | None = None,
) -> tuple[float, float, dict[str, Any]]:
    """``I(X; bin(T))`` and ``I(bin(T); Y)`` in nats from one binning of ``t``.

    Parameters
    ----------
    t : array-like or tensor, shape (n_samples, d)
        The layer's activations.
    x_symbols, y_symbols : numpy.ndarray of int, shape (n_samples,)
        Symbols of the distinct inputs and of the labels (see :func:`encode_rows`).
    n_bins, strategy, bin_size
        As in :func:`mi_probe.estimators.binning.discretize`.

    Returns
    -------
    i_xt, i_ty : float
        Plug-in estimates in nats (``i_xt = H(bin(T))`` when every input is distinct).
    diagnostics : dict
        ``h_t`` (nats) and ``n_cells`` (occupied cells of ``bin(T)``).

    Raises
    ------
    ValueError
        Bad ``t`` or binning parameters.
    """
    from ..estimators.binning import _KEY_LIMIT, _densify, discretize, row_key, sorted_run_lengths

    codes = discretize(t, n_bins=n_bins, strategy=strategy, bin_size=bin_size)
    # One pass over the joint key key(T) * |Y| + y gives H(T), H(T, Y) and the cell
    # count: a bincount when the key range is small, else one sort, whose runs are the
    # (T, Y) cells and, key(T) being the major digit, whose runs of key // |Y| are the
    # T cells.
    key, size = row_key(codes)
    ky = int(y_symbols.max()) + 1
    if size * ky >= _KEY_LIMIT:
        key, size = _densify(key)
    n = key.size
    if size * ky <= max(4 * n, 1 << 16):  # few possible cells: count them directly
        table = np.bincount(key * ky + y_symbols, minlength=size * ky).reshape(size, ky)
        t_counts = table.sum(axis=1)
        t_counts = t_counts[t_counts > 0]
        joint_counts = table[table > 0]
    else:
        joint = np.sort(key * ky + y_symbols)
        t_counts = sorted_run_lengths(joint // ky)
        joint_counts = sorted_run_lengths(joint)
    h_t = _entropy_of_run_lengths(t_counts)
    kt = int(t_counts.size)
    y_counts = np.bincount(y_symbols)
    h_y = _entropy_of_run_lengths(y_counts[y_counts > 0])
    i_ty = h_t + h_y - _entropy_of_run_lengths(joint_counts)
    if int(x_symbols.max()) + 1 == x_symbols.size:  # every input distinct: H(T|X) = 0
        i_xt = h_t
    else:
        ts, kt = _densify(key)
        i_xt = _plugin_mi(ts, kt, x_symbols, int(x_symbols.max()) + 1)
    return max(i_xt, 0.0), max(i_ty, 0.0), {"h_t": h_t, "n_cells": kt}


@small_torch_work  # one torch thread by default: see mi_probe._threads
def kde_plane(
    t: Any,
    x_symbols: np.ndarray,
    y_symbols: np.ndarray,
    *,
    noise_variance: float = 0.1,
    bound: str = "upper",
    device: Any = None,
    chunk_size: int | None = None,
) -> tuple[float, float, dict[str, Any]]:
    """Noisy-layer ``I(X; T+Z)`` and ``I(T+Z; Y)`` in nats from one kernel matrix.

    The pairwise-distance estimates of Kolchinsky & Tracey as used by Saxe et al.
    (the same numbers as :func:`mi_probe.estimators.kde.noisy_layer_mi` applied to
    ``(x, t)`` and to ``(y, t)``), computed with a single pass over all pairs: each
    block of rows of ``K_ij = exp(-|t_i - t_j|^2 / (2 s2))`` (``8 s2`` for the lower
    bound) is reduced against ``[1, onehot(y)]`` in one matrix product, giving the
    all-pairs sums for ``H(T+Z)`` and the within-class sums for ``H(T+Z | Y)``
    together. The self term ``K_ii = 1`` keeps every sum >= 1, so no log-sum-exp
    shift is needed.

    Parameters
    ----------
    t : array-like or tensor, shape (n_samples, d)
        The layer's activations.
    x_symbols, y_symbols : numpy.ndarray of int, shape (n_samples,)
        Symbols of the distinct inputs and of the labels.
    noise_variance : float
        Variance ``s2`` of the added Gaussian noise.
    bound : {"upper", "lower"}
        KL-based (upper) or Bhattacharyya-based (lower) pairwise estimate.
    device : str or torch.device, optional
        Where to compute (default: CPU, or the device of a tensor ``t``).
    chunk_size : int, optional
        Rows per block (memory ``chunk_size**2`` floats per block). Default 512 on the
        CPU (blocks that stay in cache: 1.7x faster than 2048 at n = 4096) and 4096 on
        CUDA (fewer kernel launches).

    Returns
    -------
    i_xt, i_ty : float
        Estimates in nats, clipped at 0.
    diagnostics : dict
        ``h_upper``/``h_lower`` style entry ``h_t`` (the noisy-layer entropy estimate,
        nats), ``noise_variance`` and ``bound``.

    Raises
    ------
    ValueError
        Bad ``t``, ``noise_variance <= 0``, unknown ``bound``, ``chunk_size < 1``.
    """
    import torch

    s2 = check_positive(noise_variance, "noise_variance")
    check_choice(bound, "bound", ("upper", "lower"))
    if is_tensor(t):
        tt = t.detach()
        dev = torch.device(device) if device is not None else tt.device
        tt = tt.to(device=dev, dtype=torch.float32)
    else:
        dev = torch.device(device) if device is not None else torch.device("cpu")
        tt = torch.as_tensor(np.asarray(t, dtype=np.float32), device=dev)
    if chunk_size is None:
        chunk_size = 512 if tt.device.type == "cpu" else 4096
    chunk_size = check_int(chunk_size, "chunk_size", low=1)
    if tt.dim() == 1:
        tt = tt.reshape(-1, 1)
    tt = tt.reshape(tt.shape[0], -1)
    if not torch.isfinite(tt).all():
        raise ValueError("t contains NaN or inf")
    n, d = tt.shape
    scale = 1.0 / (2.0 * s2) if bound == "upper" else 1.0 / (8.0 * s2)
    tt = tt - tt.mean(dim=0, keepdim=True)
    sq = (tt * tt).sum(dim=1)
    n_classes = int(y_symbols.max()) + 1
    ys = torch.as_tensor(y_symbols, device=dev)
    reduce = torch.zeros((n, 1 + n_classes), dtype=torch.float32, device=dev)
    reduce[:, 0] = 1.0
    reduce[torch.arange(n, device=dev), 1 + ys] = 1.0
    x_distinct = int(x_symbols.max()) + 1 == x_symbols.size
    if not x_distinct:
        n_xg = int(x_symbols.max()) + 1
        xs = torch.as_tensor(x_symbols, device=dev)
        xred = torch.zeros((n, n_xg), dtype=torch.float32, device=dev)
        xred[torch.arange(n, device=dev), xs] = 1.0
    tt_t = tt.T.contiguous()
    # K is symmetric: compute each block pair (I, J), I <= J, once and use it for the
    # rows of I (K_IJ @ R_J) and, transposed, for the rows of J (K_IJ^T @ R_I).
    red = reduce if x_distinct else torch.cat([reduce, xred], dim=1)
    sums = torch.zeros((n, red.shape[1]), dtype=torch.float64, device=dev)
    starts = list(range(0, n, chunk_size))
    for bi, s in enumerate(starts):
        e = min(s + chunk_size, n)
        for t0 in starts[bi:]:
            t1 = min(t0 + chunk_size, n)
            # -(|a|^2 + |b|^2 - 2 a.b) * scale, clamped at 0 (rounding), then exp in place
            k = torch.addmm(sq[t0:t1].unsqueeze(0), tt[s:e], tt_t[:, t0:t1], beta=-1.0, alpha=2.0)
            k.sub_(sq[s:e, None]).clamp_(max=0.0).mul_(scale).exp_()
            if t0 == s:  # the self-distance is exactly 0 (float32 expansion can miss it)
                k.fill_diagonal_(1.0)
            sums[s:e] += (k @ red[t0:t1]).to(torch.float64)
            if t0 != s:
                sums[t0:t1] += (k.T @ red[s:e]).to(torch.float64)
    rows = torch.arange(n, device=dev)
    log_all = sums[:, 0].log()
    log_cls = sums[rows, 1 + ys].log()
    if not x_distinct:
        log_x = sums[rows, 1 + n_classes + xs].log()
    counts_y = torch.bincount(ys, minlength=n_classes).to(torch.float64)
    log_ny = counts_y.log()[ys]
    a_all = float(log_all.mean()) - math.log(n)  # mean_i log mean_j K_ij
    c_y = float((log_cls - log_ny).mean())  # sum_c p_c mean_{i in c} log mean_{j in c} K_ij
    if x_distinct:
        c_x = 0.0
    else:
        counts_x = torch.bincount(xs).to(torch.float64)
        c_x = float((log_x - counts_x.log()[xs]).mean())
    i_xt = -a_all + c_x
    i_ty = -a_all + c_y
    h_noise = 0.5 * d * math.log(2.0 * math.pi * math.e * s2)
    diag = {"h_t": h_noise - a_all, "noise_variance": s2, "bound": bound}
    return max(i_xt, 0.0), max(i_ty, 0.0), diag


# --------------------------------------------------------------------------------------
# one-shot computation
# --------------------------------------------------------------------------------------
# the columns of a row; a metric of record() with one of these names would overwrite it
_RESERVED = frozenset(
    {
        "epoch", "train_loss", "test_loss", "layer", "estimator", "I_XT", "I_TY", "regime",
        "n_samples", "dim", "seconds", "at_ceiling", "TY_at_ceiling", "out_of_bounds",
        "bounds", "ceiling_XT", "ceiling_TY", "reduction", "warning", "error", "I_XT_low",
        "I_XT_high", "I_TY_low", "I_TY_high", "sigma", "sigma_relative", "I_TY_null",
        "regularization",
    }
)  # fmt: skip


def _check_model(model: Any) -> None:
    """``model`` must be a torch Module (a mapping of activations is handled before)."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise ValueError(
            "model must be a torch.nn.Module or a mapping {layer: activations}, "
            f"got {type(model).__name__}"
        )


def _check_estimators(estimators: Any) -> list[tuple[str, Any]]:
    from ..estimators import MIEstimator
    from ..estimators._registry import MI_ESTIMATORS

    if isinstance(estimators, (str, MIEstimator)):
        estimators = [estimators]
    try:
        items = list(estimators)
    except TypeError:
        raise ValueError(
            f"estimators must be a name, an MIEstimator or a list of them, got {estimators!r}"
        ) from None
    if not items:
        raise ValueError("estimators is empty; give at least one estimator")
    out: list[tuple[str, Any]] = []
    for e in items:
        if isinstance(e, MIEstimator):
            out.append((getattr(e, "name", "") or type(e).__name__, e))
        elif isinstance(e, str):
            check_choice(e, "estimators", sorted([*MI_ESTIMATORS, _COMPOSITE]))
            out.append((e, e))
        else:
            raise ValueError(
                f"estimators entries must be names or MIEstimator instances, got {type(e).__name__}"
            )
    return out


def _check_params(params: Any, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise ValueError(
            f"params must be a mapping from estimator name to parameters, got {params!r}"
        )
    out = {}
    for key, value in params.items():
        if key not in names:
            raise ValueError(
                f"params has an entry for {key!r}, which is not among the estimators {list(names)}"
            )
        if not isinstance(value, Mapping):
            raise ValueError(f"params[{key!r}] must be a mapping of parameters, got {value!r}")
        allowed = {
            "binning": _BINNING_KEYS,
            "kde": _KDE_KEYS,
            _COMPOSITE: _COMPOSITE_USABLE_KEYS + _COMPOSITE_NOISE_KEYS,
        }.get(key)
        if allowed is not None:
            bad = sorted(set(value) - set(allowed))
            if bad:
                raise ValueError(
                    f"params[{key!r}] has unknown parameter {', '.join(bad)}; "
                    f"valid: {', '.join(allowed)}"
                )
        else:  # a registry estimator: its own parameters plus the layer reduction
            from ..estimators._registry import MI_ESTIMATORS, get_estimator

            own = {k: v for k, v in value.items() if k not in _REDUCE_KEYS}
            if "dims" in value:
                check_int(value["dims"], f"params[{key!r}]['dims']", low=1)
            if "reduction" in value:
                check_choice(value["reduction"], f"params[{key!r}]['reduction']", ("pca", "random"))
            if key in MI_ESTIMATORS:
                get_estimator(key, **own)  # unknown parameters raise here, not mid-recording
        out[key] = dict(value)
    return out


_COMPOSITE = "usable+noise"
#: the recorder's default: I(T;Y) by usable information, I(X;T) by the relative-noise estimate
DEFAULT_ESTIMATORS = (_COMPOSITE,)
_COMPOSITE_USABLE_KEYS = (
    "family",
    "n_folds",
    "n_permutations",
    "max_dim",
    "max_iter",
    "hidden_units",
    "confidence",
    "interval",
    "random_state",
)
_COMPOSITE_NOISE_KEYS = ("sigma", "n_draws", "max_queries")
_COMPOSITE_DEFAULTS: dict[str, Any] = {
    "n_folds": 5,
    "n_permutations": 0,
    "random_state": 0,
}
#: recorder-level keys for the k-NN (and other registry) estimators: reduce the layer first
_REDUCE_KEYS = ("dims", "reduction")
_GAUSSIAN_RIDGE = 1e-6
#: free-text columns: empty string when there is nothing to say
_TEXT_COLUMNS = ("warning", "bounds", "reduction", "error", "regularization")
#: collection for the default estimators: layers wider than this are randomly projected
DEFAULT_PROJECT = 256


def _regime(name: str, params: Mapping[str, Any]) -> str:
    if name == "binning":
        strat = params.get("strategy", "uniform")
        if strat == "fixed":
            bins = f"bins of width {params.get('bin_size')}"
        else:
            bins = f"{params.get('n_bins', 30)} {strat} bins per unit"
        return f"binned layer on the finite probe set ({bins})"
    if name == "kde":
        return (
            f"noisy layer T+N(0, {params.get('noise_variance', 0.1):g} I), "
            f"pairwise-distance {params.get('bound', 'upper')} estimate"
        )
    if name == _COMPOSITE:
        return (
            f"I(X;T): noisy layer T + sigma Z, sigma = {_default_sigma(params):g} x the "
            "layer's own scale (Gaussian-mixture entropy); I(T;Y): usable information "
            f"({params.get('family', 'logistic')} probe, {params.get('n_folds', 5)}-fold "
            "cross-fitted held-out cross-entropy; a lower bound)"
        )
    reduced = params.get("dims") is not None
    tail = " (on a reduced layer: a lower bound)" if reduced else ""
    if name == "mixed":
        return (
            "k-NN on the finite probe set: I(X;T) by KSG, I(T;Y) by the mixed (Ross) estimator"
            + tail
        )
    return f"{name} estimate on the finite probe set{tail}"


def _default_sigma(params: Mapping[str, Any]) -> float:
    if "sigma" in params:
        return float(params["sigma"])
    from ..estimators.noise_profile import DEFAULT_SIGMA

    return float(DEFAULT_SIGMA)


def _interval(r: Any) -> tuple[float, float]:
    iv = getattr(r, "interval", None)
    if iv is None:
        return (float("nan"), float("nan"))
    return (float(iv[0]), float(iv[1]))


def _reduce_matrix(a: Any, dims: int, how: str, seed: int) -> tuple[np.ndarray, str]:
    """(n, d) -> (n, dims) by PCA or a seeded random projection, with its description."""
    from ..preprocessing import reduce_dim

    arr = a.detach().cpu().numpy() if is_tensor(a) else np.asarray(a)
    arr = arr.reshape(arr.shape[0], -1)
    d = arr.shape[1]
    if d <= dims:
        return arr, ""
    if how == "pca":
        return reduce_dim(arr, dims, random_state=seed), f"PCA {d} -> {dims}"
    g = np.random.default_rng(seed)
    r = g.standard_normal((d, dims)).astype(arr.dtype) / math.sqrt(dims)
    return arr @ r, f"random projection {d} -> {dims} (seed {seed})"


def _composite(t: Any, y: Any, p: Mapping[str, Any]) -> tuple[float, float, dict[str, Any]]:
    """I(X;T) by the relative-noise estimate, I(T;Y) by usable information."""
    from ..estimators.noise_profile import noisy_information
    from ..estimators.usable import usable_information

    sigma = _default_sigma(p)
    seed = p.get("random_state", _COMPOSITE_DEFAULTS["random_state"])
    nkw = {k: v for k, v in p.items() if k in ("n_draws", "max_queries")}
    r_xt = noisy_information(t, sigma, relative=True, random_state=seed, **nkw)
    kw = {k: v for k, v in p.items() if k in _COMPOSITE_USABLE_KEYS}
    for k in ("n_folds", "n_permutations", "random_state"):
        kw.setdefault(k, _COMPOSITE_DEFAULTS[k])
    r_ty = usable_information(t, y, **kw)
    dx = r_xt.diagnostics
    lo_xt, hi_xt = _interval(r_xt)
    lo_ty, hi_ty = _interval(r_ty)
    extra = {
        "sigma_relative": float(sigma),
        "sigma": float(dx.get("sigma", float("nan"))),
        "I_XT_low": lo_xt,
        "I_XT_high": hi_xt,
        "I_TY_low": lo_ty,
        "I_TY_high": hi_ty,
        "I_TY_null": float("nan") if r_ty.null is None else float(r_ty.null),
    }
    return float(r_xt), float(r_ty), extra


def _generic(
    est: Any, x: Any, t: Any, y: Any, p: dict[str, Any], cache: dict[Any, Any]
) -> tuple[float, float, dict[str, Any], list[str]]:
    """Both coordinates through ``estimate_mi`` (layer and input reduced if asked)."""
    from ..estimators import estimate_mi
    from ..estimators.reliability import flags_for

    dims = p.pop("dims", None)
    how = p.pop("reduction", "pca")
    xr = x.reshape(x.shape[0], -1) if hasattr(x, "reshape") else x
    extra: dict[str, Any] = {}
    if dims is not None:
        dims = check_int(dims, "dims", low=1)
        check_choice(how, "reduction", ("pca", "random"))
        key = ("x", dims, how)
        if key not in cache:
            cache[key] = _reduce_matrix(xr, dims, how, 0)
        xr, x_note = cache[key]
        t, t_note = _reduce_matrix(t, dims, how, 0)
        reduced = [f"layer {t_note}" if t_note else "", f"input {x_note}" if x_note else ""]
        extra["reduction_knn"] = "; ".join(n for n in reduced if n)
    notes: list[str] = []

    def run(a: Any, b: Any, name: Any, kw: dict[str, Any]) -> Any:
        try:
            return estimate_mi(a, b, estimator=name, **kw)
        except ValueError as exc:
            if name != "gaussian" or "singular" not in str(exc) or kw.get("regularization"):
                raise
            notes.append(f"singular covariance: ridge {_GAUSSIAN_RIDGE:g} added")
            return estimate_mi(a, b, estimator=name, **{**kw, "regularization": _GAUSSIAN_RIDGE})

    if est == "mixed":
        # Ross's estimator needs a discrete second variable: I(T;Y) only;
        # I(X;T) (both continuous) by KSG with the shared k-NN settings
        shared = {k: v for k, v in p.items() if k in _KSG_SHARED}
        r_xt = run(xr, t, "ksg", shared)
    else:
        r_xt = run(xr, t, est, p)
    r_ty = run(t, y, est, p)
    lo_xt, hi_xt = _interval(r_xt)
    lo_ty, hi_ty = _interval(r_ty)
    extra.update(I_XT_low=lo_xt, I_XT_high=hi_xt, I_TY_low=lo_ty, I_TY_high=hi_ty)
    if notes:
        extra["regularization"] = "; ".join(dict.fromkeys(notes))
    exceeded = [
        f"{what} {float(r.diagnostics['unclamped_value']):.4g} > "
        f"{r.diagnostics.get('ceiling_name', 'ceiling')} = {float(r.diagnostics['ceiling']):.4g}, "
        "clamped by the estimator"
        for what, r in (("I_XT", r_xt), ("I_TY", r_ty))
        if r.diagnostics.get("exceeded_ceiling")
    ]
    if exceeded:
        extra["_exceeded"] = "; ".join(exceeded)
    serious = [flags_for(r_xt, xr, t)["warning"], flags_for(r_ty, t, y)["warning"]]
    if dims is not None:
        p["dims"], p["reduction"] = dims, how
    return float(r_xt), float(r_ty), extra, serious


def _check_bounds(i_xt: float, i_ty: float, log_n: float, h_y: float) -> tuple[float, float, str]:
    """Clamp values above their hard ceilings; the text says what was clamped."""
    notes = []
    tol = 1e-9
    if math.isfinite(i_xt) and i_xt > log_n + tol:
        notes.append(f"I_XT {i_xt:.4g} > ln n = {log_n:.4g}, clamped")
        i_xt = log_n
    if math.isfinite(i_ty) and i_ty > h_y + tol:
        notes.append(f"I_TY {i_ty:.4g} > H(Y) = {h_y:.4g}, clamped")
        i_ty = h_y
    return i_xt, i_ty, "; ".join(notes)


def _nonfinite(t: Any) -> str:
    """ "NaN", "inf" or "" for an array or tensor of activations."""
    if is_tensor(t):
        if not t.is_floating_point():
            return ""
        return "NaN" if bool(t.isnan().any()) else "" if bool(t.isfinite().all()) else "inf"
    a = np.asarray(t)
    if a.dtype.kind not in "fc":
        return ""
    return "NaN" if bool(np.isnan(a).any()) else "" if bool(np.isfinite(a).all()) else "inf"


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _layer_rows(
    acts: Mapping[str, Any],
    x: Any,
    y: Any,
    x_symbols: np.ndarray,
    y_symbols: np.ndarray,
    estimators: list[tuple[str, Any]],
    params: Mapping[str, Mapping[str, Any]],
    device: Any,
    *,
    catch: bool = False,
    reductions: Mapping[str, str] | None = None,
    progress_bar: bool = False,
    cache: dict[Any, Any] | None = None,
) -> list[dict[str, Any]]:
    """One row per (layer, estimator). With ``catch``, an estimator that raises gives a
    row with NaN values and its ``error`` (the other rows are kept)."""
    from .._progress import progress

    # I(X;T) cannot exceed H(X) = log(#distinct inputs): a row at that level says the
    # (binned or noisy) layer still separates every input, so no compression is visible.
    ceiling = math.log(int(x_symbols.max()) + 1) if x_symbols.size else 0.0
    y_counts = np.bincount(y_symbols) if y_symbols.size else np.zeros(1)
    h_y = _entropy_of_run_lengths(y_counts[y_counts > 0]) if y_symbols.size else 0.0
    cache = {} if cache is None else cache
    rows = []
    pairs = [(layer, t, name, est) for layer, t in acts.items() for name, est in estimators]
    # the estimators would name the layer "x" or "y" (their own arguments): say it here
    bad_values = {layer: _nonfinite(t) for layer, t in acts.items()}
    for layer, t, name, est in progress(
        pairs, total=len(pairs), desc="information plane", enabled=progress_bar
    ):
        p = dict(params.get(name, {}))
        t0 = time.perf_counter()
        extra: dict[str, Any] = {}
        serious: list[str] = []
        error = ""
        try:
            if bad_values[layer]:
                raise ValueError(f"activations of layer {layer!r} contain {bad_values[layer]}")
            if est == "binning":
                i_xt, i_ty, _ = binned_plane(t, x_symbols, y_symbols, **p)
            elif est == "kde":
                p.setdefault("device", device)
                i_xt, i_ty, _ = kde_plane(t, x_symbols, y_symbols, **p)
                p.pop("device")
            elif est == _COMPOSITE:
                i_xt, i_ty, extra = _composite(t, y, p)
            else:
                i_xt, i_ty, extra, serious = _generic(est, x, t, y, p, cache)
        except Exception as exc:
            if not catch:
                raise
            i_xt = i_ty = float("nan")
            error = _error_text(exc)
        i_xt, i_ty, clamped = _check_bounds(float(i_xt), float(i_ty), ceiling, h_y)
        clamped = "; ".join(c for c in (extra.pop("_exceeded", ""), clamped) if c)
        if clamped:
            serious.append("out_of_bounds")
        at_ceiling = bool(ceiling > 0 and float(i_xt) >= 0.99 * ceiling)
        warning = ", ".join(dict.fromkeys(f for w in serious for f in w.split(", ") if f))
        red = (reductions or {}).get(layer, "")
        knn_red = extra.pop("reduction_knn", "")
        row = {
            "layer": layer,
            "estimator": name,
            "I_XT": float(i_xt),
            "I_TY": float(i_ty),
            "regime": _regime(name, p),
            "n_samples": int(t.shape[0]),
            "dim": int(np.prod(t.shape[1:])) if len(t.shape) > 1 else 1,
            "seconds": time.perf_counter() - t0,
            "at_ceiling": at_ceiling,
            "TY_at_ceiling": bool(h_y > 0 and float(i_ty) >= 0.99 * h_y),
            "out_of_bounds": bool(clamped),
            "bounds": clamped,
            "ceiling_XT": ceiling,
            "ceiling_TY": h_y,
            "reduction": "; ".join(r for r in (red, knn_red) if r),
            "warning": warning,
        }
        row.update(extra)
        if catch:
            row["error"] = error
        rows.append(row)
    return rows


def information_plane(
    model: Any,
    x: Any,
    y: Any,
    *,
    layers: Any = "all",
    estimators: Any = DEFAULT_ESTIMATORS,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    batch_size: int = 4096,
    probe_options: Mapping[str, Any] | str | None = "auto",
    progress_bar: bool = False,
) -> Any:
    """I(X;T) and I(T;Y) of each layer of a model (or of given activations), now.

    Parameters
    ----------
    model : torch.nn.Module or mapping of str to array
        The network (probed with :func:`mi_probe.attach`), or already collected
        activations ``{layer: (n_samples, features)}``.
    x : array-like or tensor, shape (n_samples, ...)
        The inputs (every distinct row is one value of X).
    y : array-like or tensor of int, shape (n_samples,)
        Class labels.
    layers : see :func:`mi_probe.attach`
        Which layers (ignored when activations are given).
    estimators : str, MIEstimator or sequence of them
        Default ``"usable+noise"``: I(T;Y) by usable information
        (:func:`mi_probe.estimators.usable.usable_information`, a cross-fitted lower
        bound) and I(X;T) by the relative-noise estimate
        (:func:`mi_probe.estimators.noise_profile.noisy_information` at ``sigma`` times
        the layer's own scale). ``"binning"`` and ``"kde"`` (the classic estimates of
        Shwartz-Ziv & Tishby and Saxe et al.) use the fused one-pass paths; any other
        registry name or instance goes through :func:`mi_probe.estimate_mi` for both
        coordinates (``"mixed"``: KSG for I(X;T), Ross's estimator for I(T;Y)).
    params : mapping, optional
        Per-estimator parameters, e.g. ``{"binning": {"strategy": "fixed",
        "bin_size": 0.1}, "kde": {"noise_variance": 0.1}, "usable+noise": {"sigma":
        0.5, "n_folds": 5, "n_permutations": 0}}``. Registry estimators also take
        ``dims`` and ``reduction`` (``"pca"`` or ``"random"``): the layer and the input
        are reduced to ``dims`` columns first (recorded in ``reduction``; the k-NN
        values are then lower bounds on the unreduced ones).
    batch_size : int
        Rows per forward pass.
    probe_options : mapping, "auto" or None
        Options of the probe that collects the layers (:class:`mi_probe.probes.Probe`:
        ``pool``, ``project``, ``pca``, ...). ``"auto"``: a seeded random projection to
        256 dims of every wider layer, unless ``"binning"`` or ``"kde"`` is among the
        estimators (their classic definitions are per unit), in which case nothing is
        reduced. Ignored when activations are given.
    progress_bar : bool
        Show progress while collecting and over layers and estimators.

    Returns
    -------
    pandas.DataFrame
        One row per (layer, estimator): ``layer, estimator, I_XT, I_TY, regime,
        n_samples, dim, seconds, at_ceiling, TY_at_ceiling, out_of_bounds, bounds,
        ceiling_XT, ceiling_TY, reduction, warning`` and, where the estimator gives
        them, ``I_XT_low, I_XT_high, I_TY_low, I_TY_high`` (intervals), ``sigma``,
        ``sigma_relative``, ``I_TY_null``, ``regularization``; ``error`` (``""`` when
        the estimate ran). Values in nats.

    Raises
    ------
    ValueError
        Bad inputs, unknown estimators or parameters, mismatched lengths.

    Notes
    -----
    A deterministic network on a finite sample of distinct inputs gives every input
    its own code, so the binned ``I(X; bin T)`` and the plug-in ``I(bin T; Y)`` sit at
    ``ln n`` and ``H(Y)`` on every layer once the bins are fine enough: they say
    nothing about the layer. The defaults measure what still differs: how much of
    ``Y`` a linear probe can read from the layer (usable information, in nats, a
    lower bound on ``I(T;Y)``), and how many inputs the layer keeps apart at a noise
    scale set by the layer's own spread (``I(X; T + sigma Z)``, between 0 and
    ``ln n``). Every value is checked against its hard ceiling (``I(X;T) <= ln n``
    for ``n`` distinct inputs, ``I(T;Y) <= H(Y)``): one above is clamped and flagged in
    ``out_of_bounds``/``bounds``. One layer's failing estimate gives a row with its
    ``error`` and NaN values; the other rows are kept. A singular covariance in
    ``"gaussian"`` gets a ridge of 1e-6 (stated in ``regularization``).
    """
    import pandas as pd

    est = _check_estimators(estimators)
    prm = _check_params(params, [n for n, _ in est])
    x_symbols, _ = _symbols_of(x, "x")
    ylab = check_labels(y, "y")
    if ylab.shape[1] != 1:
        raise ValueError(f"y must be one column of class labels, got shape {tuple(ylab.shape)}")
    y_symbols, _ = encode_rows(ylab)
    check_same_samples(x_symbols.size, y_symbols.size, "x", "y")
    opts = _probe_options(probe_options, est)
    device = None
    reductions: dict[str, str] = {}
    missing: list[str] = []
    if isinstance(model, Mapping):
        acts = dict(model)
        if not acts:
            raise ValueError("model is an empty mapping; give at least one layer's activations")
        for k, v in acts.items():
            if not hasattr(v, "shape"):
                v = np.asarray(v)
                if v.dtype.kind not in "biuf":
                    raise ValueError(
                        f"activations of layer {k!r} must be an array or tensor of numbers, "
                        f"got {type(acts[k]).__name__}"
                    )
                acts[k] = v
            if len(v.shape) == 0 or v.shape[0] != x_symbols.size:
                rows = v.shape[0] if len(v.shape) else 0
                raise ValueError(
                    f"activations of layer {k!r} have {rows} rows; x has {x_symbols.size}"
                )
    else:
        _check_model(model)
        from ..probes import Probe, describe_reduction, model_device

        device = model_device(model)
        probe = Probe(model, layers, **opts)
        acts = _quiet_collect(probe, x, batch_size, progress_bar)
        reductions = {k: describe_reduction(v) for k, v in probe.reductions.items()}
        missing = list(probe.missing)
    rows = _layer_rows(
        acts,
        x,
        ylab[:, 0],
        x_symbols,
        y_symbols,
        est,
        prm,
        device,
        catch=True,
        reductions=reductions,
        progress_bar=progress_bar,
    )
    rows.extend(_missing_rows(missing, est, x_symbols.size))
    return pd.DataFrame(rows)


def _probe_options(options: Any, estimators: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    if options is None:
        return {}
    if isinstance(options, str):
        check_choice(options, "probe_options", ("auto",))
        classic = any(e in _FAST for _, e in estimators)
        return {} if classic else {"project": DEFAULT_PROJECT}
    if not isinstance(options, Mapping):
        raise ValueError(f"probe_options must be a mapping, 'auto' or None, got {options!r}")
    from ..probes import ProbeOptions

    ProbeOptions().updated(options)  # unknown or bad options raise now
    return dict(options)


def _quiet_collect(probe: Any, x: Any, batch_size: int, progress_bar: bool) -> Any:
    """Collect; a layer that never ran becomes an error row instead of a warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*produced no output", category=RuntimeWarning)
        return probe.collect(x, batch_size=batch_size, progress_bar=progress_bar)


def _missing_rows(
    missing: Sequence[str], estimators: Sequence[tuple[str, Any]], n: int
) -> list[dict[str, Any]]:
    nan = float("nan")
    text = (
        "ValueError: layer {!r} produced no output: the module was never called in the "
        "forward pass (e.g. MultiheadAttention uses out_proj's weights without calling it)"
    )
    return [
        {
            "layer": layer,
            "estimator": name,
            "I_XT": nan,
            "I_TY": nan,
            "regime": _regime(name, {}),
            "n_samples": n,
            "seconds": 0.0,
            "error": text.format(layer),
        }
        for layer in missing
        for name, _ in estimators
    ]


def log_spaced_epochs(n_epochs: int, n_points: int = 30, *, start: int = 1) -> list[int]:
    """Distinct, roughly log-spaced epochs in ``[start, n_epochs]`` (always both ends).

    Training changes fastest early on; a log-spaced schedule records the early
    fitting phase and the long, slow late phase (where compression shows) at a
    similar cost.

    Raises
    ------
    ValueError
        ``n_epochs < start``, ``n_points < 2``, or ``start < 0``.

    Examples
    --------
    >>> log_spaced_epochs(1000, 8)
    [1, 3, 7, 19, 52, 139, 373, 1000]
    """
    start = check_int(start, "start", low=0)
    n_epochs = check_int(n_epochs, "n_epochs", low=max(start, 1))
    n_points = check_int(n_points, "n_points", low=2)
    lo = max(start, 1)
    pts = np.unique(np.round(np.geomspace(lo, n_epochs, n_points)).astype(int)).tolist()
    if start == 0:
        pts = [0] + pts
    return pts


# --------------------------------------------------------------------------------------
# the recorder
# --------------------------------------------------------------------------------------
class InformationPlaneRecorder:
    """Record the information plane of a model during training, from any loop.

    Parameters
    ----------
    model : torch.nn.Module
        The network being trained (probed through :func:`mi_probe.attach`; never changed).
    x : array-like or tensor, shape (n_samples, ...)
        A fixed probe set of inputs (the whole training set for small tasks).
    y : array-like or tensor of int, shape (n_samples,)
        Class labels of ``x``.
    layers : see :func:`mi_probe.attach`
        Which layers to record; default all leaf modules.
    estimators : str, MIEstimator or sequence of them
        Default ``"usable+noise"`` (usable information for I(T;Y), the relative-noise
        estimate for I(X;T)); the classic ``"binning"`` and ``"kde"`` by name; see
        :func:`information_plane`.
    params : mapping, optional
        Per-estimator parameters, e.g. ``{"binning": {"n_bins": 30}, "kde":
        {"noise_variance": 0.1}, "usable+noise": {"sigma": 0.5}}``.
    probe_options : mapping, "auto" or None
        How layers are collected (pooling, random projection, PCA); see
        :func:`information_plane`.
    max_samples : int, optional
        Use a seeded subsample of at most this many rows of ``x`` (fixed for all epochs).
    random_state : int
        Seed of that subsample.
    batch_size : int
        Rows per forward pass.
    progress_bar : bool
        Show progress while collecting and over layers and estimators.

    Attributes
    ----------
    rows : list of dict
        The recorded rows.
    dataframe : pandas.DataFrame
        Tidy table: ``epoch, layer, estimator, I_XT, I_TY, train_loss, test_loss,
        regime`` and then ``n_samples, dim, seconds`` (per layer and estimator), the
        bound and interval columns of :func:`information_plane`, ``error`` and any
        extra metrics passed to :meth:`record`. Values in nats.

    Examples
    --------
    >>> import torch, mi_probe
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <...>
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    >>> x = torch.randn(256, 4); y = (x[:, 0] > 0).long()
    >>> rec = mi_probe.InformationPlaneRecorder(
    ...     net, x, y, layers=["1", "2"], estimators=("binning", "kde")
    ... )
    >>> for epoch in range(3):
    ...     # ... one epoch of training ...
    ...     _ = rec.record(epoch, train_loss=0.5)
    >>> rec.dataframe.shape[0]  # 3 epochs x 2 layers x 2 estimators
    12
    """

    def __init__(
        self,
        model: Any,
        x: Any,
        y: Any,
        *,
        layers: Any = "all",
        estimators: Any = DEFAULT_ESTIMATORS,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        probe_options: Mapping[str, Any] | str | None = "auto",
        max_samples: int | None = None,
        random_state: int = 0,
        batch_size: int = 4096,
        progress_bar: bool = False,
    ) -> None:
        import torch

        from ..probes import Probe

        _check_model(model)
        self.model = model
        self._estimators = _check_estimators(estimators)
        self.params = _check_params(params, [n for n, _ in self._estimators])
        self.probe_options = _probe_options(probe_options, self._estimators)
        self.probe = Probe(model, layers, **self.probe_options)
        self.layers = self.probe.layers
        self._cache: dict[Any, Any] = {}
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.progress_bar = bool(progress_bar)
        if is_tensor(x):
            xt = x
        else:
            xa = np.asarray(x)
            if xa.dtype.kind not in "biuf":
                raise ValueError(f"x must be an array or tensor of numbers, got dtype {xa.dtype}")
            xt = torch.as_tensor(xa)
        if xt.dim() == 0:
            raise ValueError("x must have a first axis of samples, got a scalar")
        ylab = check_labels(y, "y")
        if ylab.shape[1] != 1:
            raise ValueError(f"y must be one column of class labels, got shape {tuple(ylab.shape)}")
        ylab = ylab[:, 0]
        check_same_samples(xt.shape[0], ylab.shape[0], "x", "y")
        if max_samples is not None:
            max_samples = check_int(max_samples, "max_samples", low=2)
            if max_samples < xt.shape[0]:
                g = np.random.default_rng(check_int(random_state, "random_state", low=0))
                idx = np.sort(g.choice(xt.shape[0], size=max_samples, replace=False))
                xt = xt[torch.as_tensor(idx)]
                ylab = ylab[idx]
        self.x = xt
        self.y = ylab
        self.x_symbols, self.n_distinct_inputs = _symbols_of(xt, "x")
        self.y_symbols, _ = encode_rows(ylab.reshape(-1, 1))
        self.rows: list[dict[str, Any]] = []

    @property
    def estimators(self) -> list[str]:
        """Names of the estimators, in order."""
        return [n for n, _ in self._estimators]

    def record(
        self,
        epoch: int | float,
        train_loss: float | None = None,
        test_loss: float | None = None,
        **metrics: Any,
    ) -> Any:
        """Collect the probed activations now and add one row per (layer, estimator).

        Parameters
        ----------
        epoch : int or float
            The x-axis value for this point (epoch, step, ...).
        train_loss, test_loss : float, optional
            Stored in their columns (NaN if not given).
        **metrics
            Any further scalar columns (accuracy, learning rate, ...).

        Returns
        -------
        pandas.DataFrame
            The rows added by this call.

        Raises
        ------
        ValueError
            ``epoch`` is not a number.
        """
        import pandas as pd

        from ..probes import model_device

        if isinstance(epoch, bool) or not isinstance(epoch, (int, float, np.integer, np.floating)):
            raise ValueError(f"epoch must be a number, got {epoch!r}")
        if not math.isfinite(float(epoch)):
            raise ValueError(f"epoch must be finite, got {epoch}")
        nan = float("nan")
        losses = {}
        for key, val in (("train_loss", train_loss), ("test_loss", test_loss)):
            if val is not None and (
                isinstance(val, bool)
                or not isinstance(val, (numbers.Real, np.ndarray))
                and not is_tensor(val)
            ):
                raise ValueError(f"{key} must be a number or None, got {val!r}")
            if val is not None and np.ndim(val) != 0:
                raise ValueError(f"{key} must be a scalar, got shape {np.shape(val)}")
            losses[key] = nan if val is None else float(val)
        taken = sorted(set(metrics) & _RESERVED)
        if taken:
            raise ValueError(
                f"metrics {', '.join(map(repr, taken))} would overwrite the columns of the "
                "same name; rename them"
            )
        for key, val in metrics.items():
            if np.ndim(val) != 0:
                raise ValueError(f"metric {key!r} must be a scalar, got shape {np.shape(val)}")
        from ..probes import describe_reduction

        acts = _quiet_collect(self.probe, self.x, self.batch_size, self.progress_bar)
        reductions = {k: describe_reduction(v) for k, v in self.probe.reductions.items()}
        new = _layer_rows(
            acts,
            self.x,
            self.y,
            self.x_symbols,
            self.y_symbols,
            self._estimators,
            self.params,
            model_device(self.model),
            catch=True,
            reductions=reductions,
            progress_bar=self.progress_bar,
            cache=self._cache,
        )
        del acts
        new.extend(_missing_rows(self.probe.missing, self._estimators, int(self.y.shape[0])))
        for r in new:
            r.update(epoch=epoch, **losses, **metrics)
        self.rows.extend(new)
        return _tidy(pd.DataFrame(new))

    @property
    def dataframe(self) -> Any:
        """All recorded rows as a tidy pandas DataFrame (values in nats)."""
        import pandas as pd

        return _tidy(pd.DataFrame(self.rows))

    def save(self, path: Any) -> None:
        """Write :attr:`dataframe` to ``path``: CSV, or Parquet if it ends in ``.parquet``.

        Raises
        ------
        ModuleNotFoundError
            Parquet requested and pyarrow is not installed.
        """
        save_plane(self.dataframe, path)

    @staticmethod
    def load(path: Any) -> Any:
        """Read a table written by :meth:`save` (same as :func:`load_plane`)."""
        return load_plane(path)

    def to_tensorboard(
        self, writer: Any, *, epochs: Any = None, figure: bool = True, unit: str = "bits"
    ) -> None:
        """Write the recorded rows to a TensorBoard ``SummaryWriter``.

        Scalars ``info/I_XT/<layer>`` and ``info/I_TY/<layer>`` (nats, at step
        ``epoch``; ``/<estimator>`` appended with several estimators) and the
        information-plane figure as an image. See
        :func:`mi_probe.integrations.tensorboard.plane_to_tensorboard` for the
        parameters (``epochs``: which epochs' scalars; default all).

        Raises
        ------
        ValueError
            An epoch that is not a whole number, or ``epochs`` with no rows.
        ModuleNotFoundError
            ``tensorboard`` (or matplotlib, for the figure) is not installed.
        """
        from ..integrations.tensorboard import plane_to_tensorboard

        plane_to_tensorboard(self.dataframe, writer, epochs=epochs, figure=figure, unit=unit)


def _tidy(df: Any) -> Any:
    import pandas as pd

    if df.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = float("nan")
    rest = [c for c in df.columns if c not in COLUMNS]
    return df[list(COLUMNS) + rest].reset_index(drop=True)


def save_plane(df: Any, path: Any) -> None:
    """Write an information-plane table to CSV, or Parquet for a ``.parquet`` path.

    Raises
    ------
    ModuleNotFoundError
        Parquet requested and pyarrow is not installed.
    """
    from pathlib import Path

    from .._deps import require

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix == ".parquet":
        require("pyarrow", "saving Parquet files")
        df.to_parquet(p, index=False)
    else:
        from .._csv import write_csv

        write_csv(df, p)  # text a spreadsheet would run as a formula gets a leading '


def load_plane(path: Any) -> Any:
    """Read an information-plane table written by :meth:`InformationPlaneRecorder.save`.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` or ``.parquet`` file.

    Returns
    -------
    pandas.DataFrame
        With the columns of :attr:`InformationPlaneRecorder.dataframe`; ``layer`` as str.

    Raises
    ------
    ValueError
        The file does not exist or lacks the information-plane columns.
    ModuleNotFoundError
        A Parquet file and pyarrow is not installed.
    """
    from pathlib import Path

    import pandas as pd

    from .._deps import require

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"path {str(p)!r} does not exist")
    if p.suffix == ".parquet":
        require("pyarrow", "reading Parquet files")
        df = pd.read_parquet(p)
    else:
        from .._csv import unescape_csv

        df = pd.read_csv(p, dtype={"layer": str}, keep_default_na=False, na_values=[""])
        df = unescape_csv(df)  # undo save_plane's neutralised formulas
        for col in _TEXT_COLUMNS:  # "" (no warning, no error) is not a missing value
            if col in df.columns:
                df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    missing = [c for c in ("epoch", "layer", "estimator", "I_XT", "I_TY") if c not in df.columns]
    if missing:
        raise ValueError(f"path {str(p)!r} is not an information-plane table; missing {missing}")
    df["layer"] = df["layer"].astype(str)
    return _tidy(df)
