"""The information bottleneck curve of a discrete joint distribution (:func:`ib_curve`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from .._deps import has
from .._progress import progress as _progress
from .._validation import (
    _to_numpy,
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_random_state,
    named_kwargs,
)
from ._pmf import check_pmf, entropy_pmf, mutual_information_pmf
from ._solver import Fit, Problem, get_ops, make_problem, solve

__all__ = ["ib_curve", "default_betas", "COLUMNS"]

#: The columns of the DataFrame returned by :func:`ib_curve`, in order.
COLUMNS = (
    "beta",
    "I_XT",
    "I_TY",
    "H_T",
    "n_clusters_used",
    "lagrangian",
    "direction",
    "n_iter",
    "converged",
)

ANNEAL = ("both", "forward", "reverse")

# Largest encoder (n_x * n_clusters float64 entries, 4 GiB) ib_curve agrees to build.
_MAX_ENCODER_ENTRIES = 2**29


def default_betas(n: int = 50) -> np.ndarray:
    """``n`` log-spaced values of beta from 1 to 1000 (below 1 every IB solution is trivial)."""
    return np.geomspace(1.0, 1e3, n)


def _check_betas(betas: Any) -> np.ndarray:
    if betas is None:
        return default_betas()
    arr = _to_numpy(betas, "betas")
    if arr.dtype.kind == "b":  # True would be beta = 1
        raise ValueError("betas must be numbers, got booleans")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"betas must be numbers, got dtype {arr.dtype}")
    arr = np.atleast_1d(np.asarray(arr, dtype=np.float64))
    if arr.ndim != 1:
        raise ValueError(f"betas must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("betas is empty")
    if not np.isfinite(arr).all():
        raise ValueError("betas must be finite")
    if (arr <= 0).any():
        raise ValueError(f"betas must be > 0, got min {arr.min():g}")
    return np.sort(arr)


def _reduce_rows(pxy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop zero-probability rows and merge rows with the same p(y|x).

    The IB updates depend on x only through p(y|x), so x's sharing p(y|x) get the same
    encoder at every stationary point and merging them changes no information quantity.

    Returns the reduced pmf (n_groups, n_y), the group of every original row (-1 for
    rows with p(x) = 0) and the group representatives.
    """
    px = pxy.sum(axis=1)
    keep = np.flatnonzero(px > 0)
    cond = pxy[keep] / px[keep, None]
    key = np.round(cond, 12)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    reduced = np.zeros((first.size, pxy.shape[1]))
    np.add.at(reduced, inv, pxy[keep])
    group = np.full(pxy.shape[0], -1, dtype=np.int64)
    group[keep] = inv
    return reduced, group, keep[first]


def _reverse_init(
    prob_pxy: np.ndarray, n_t: int, alpha: float, rng: np.random.Generator
) -> np.ndarray:
    """Log-encoder for the largest beta: each x in its own cluster when n_t >= n_x,
    else a hard clustering of p(y|x) seeded like k-means++ (KL to the nearest seed)."""
    n_x = prob_pxy.shape[0]
    off = -np.inf if alpha == 0 else -30.0
    if n_t >= n_x:
        log_enc = np.full((n_x, n_x), off)
        log_enc[np.arange(n_x), np.arange(n_x)] = 0.0
        return log_enc
    log_enc = np.full((n_x, n_t), off)
    px = prob_pxy.sum(axis=1)
    cond = prob_pxy / px[:, None]
    logc = np.log(np.maximum(cond, 1e-300))
    negh = np.where(cond > 0, cond * logc, 0.0).sum(axis=1)

    def kl_to(j: int) -> np.ndarray:
        return np.maximum(negh - cond @ logc[j], 0.0)

    seeds = [int(np.argmax(px))]
    dist = kl_to(seeds[0])
    for _ in range(1, n_t):
        w = px * dist
        if w.sum() <= 0:
            break
        j = int(rng.choice(n_x, p=w / w.sum()))
        seeds.append(j)
        dist = np.minimum(dist, kl_to(j))
    kl = np.stack([kl_to(j) for j in seeds], axis=1)
    assign = np.argmin(kl, axis=1)
    log_enc[np.arange(n_x), assign] = 0.0
    return log_enc


def _anneal(
    prob: Problem,
    reduced: np.ndarray,
    beta_arr: np.ndarray,
    alpha: float,
    n_t: int,
    passes: list[str],
    forward: list[Fit | None],
    reverse: list[Fit | None],
    max_iter: int,
    tol: float,
    perturbation: float,
    rng: np.random.Generator,
    ops: Any,
    steps: Any,
) -> None:
    """Run the forward and/or reverse annealing passes, filling ``forward``/``reverse``."""
    n_b = beta_arr.size
    n_x = reduced.shape[0]
    if "forward" in passes:
        log_enc = rng.normal(scale=1.0, size=(n_x, n_t))
        for i, b in enumerate(beta_arr):
            fit = solve(prob, log_enc, beta=b, alpha=alpha, max_iter=max_iter, tol=tol, ops=ops)
            forward[i] = fit
            log_enc = _split_clusters(_log_columns(fit, ops), n_t, perturbation, rng, ops)
            next(steps)
    if "reverse" in passes:
        log_enc = _reverse_init(reduced, n_t, alpha, rng)
        for i in range(n_b - 1, -1, -1):
            fit = solve(
                prob, log_enc, beta=beta_arr[i], alpha=alpha, max_iter=max_iter, tol=tol, ops=ops
            )
            reverse[i] = fit
            log_enc = _log_columns(fit, ops)
            next(steps)


def _log_columns(fit: Fit, ops: Any) -> Any:
    """log q(t|x) of the fit's (merged, in-use) clusters, (n_x, k), floored at 1e-300."""
    return ops.log(ops.clamp_min(fit.encoder, 1e-300))


def _split_clusters(
    log_enc: Any, n_t: int, perturbation: float, rng: np.random.Generator, ops: Any
) -> Any:
    """Start of the next (larger) beta on the forward pass: every cluster, heaviest
    first while there is room for n_t, becomes two copies carrying half its mass, each
    perturbed by Gaussian noise of sd ``perturbation`` in log space (deterministic
    annealing). Copies that do not separate at the new beta are merged again."""
    k = log_enc.shape[1]
    n_split = min(k, n_t - k)
    if n_split > 0:
        mass = ops.to_numpy(ops.exp(log_enc).sum(axis=0))
        heavy = np.sort(np.argsort(-mass, kind="stable")[:n_split])
        shift = np.zeros(k)
        shift[heavy] = -np.log(2.0)
        log_enc = log_enc + ops.asarray(shift)[None, :]
        log_enc = ops.cat([log_enc.T, ops.take_rows(log_enc.T, heavy)]).T
    if perturbation > 0:
        log_enc = log_enc + ops.asarray(perturbation * rng.standard_normal(tuple(log_enc.shape)))
    return log_enc


@contextmanager
def _single_thread(ops: Any) -> Iterator[None]:
    """One CPU thread for the duration: the products here have inner dimension |Y| + 2
    or |X| with tiny outputs, where BLAS/OpenMP threads only add synchronisation
    overhead (and spin badly on a busy machine). GPU runs are left alone."""
    if ops.name == "numpy":
        if has("threadpoolctl"):
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1, user_api="blas"):
                yield
            return
    elif ops.device.type == "cpu":
        before = ops.torch.get_num_threads()
        ops.torch.set_num_threads(1)
        try:
            yield
        finally:
            ops.torch.set_num_threads(before)
        return
    yield


@named_kwargs
def ib_curve(
    pxy: Any,
    betas: Any = None,
    alpha: float = 1.0,
    n_clusters: int | None = None,
    *,
    anneal: str = "both",
    max_iter: int = 1000,
    tol: float = 1e-9,
    perturbation: float = 1e-2,
    merge_identical: bool = True,
    device: Any = None,
    random_state: Any = None,
    return_encoders: bool = False,
    progress: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """Trace the (generalised) information bottleneck curve of a discrete p(x, y).

    For each ``beta`` the encoder q(t|x) minimising
    ``H(T) - alpha H(T|X) - beta I(T;Y)`` is found with the self-consistent
    Blahut-Arimoto-style updates of Tishby, Pereira & Bialek [1]_; ``alpha=1`` is the
    IB Lagrangian ``I(X;T) - beta I(T;Y)``, ``alpha=0`` the deterministic IB of
    Strouse & Schwab [2]_ (hard encoders), values in between the generalised IB.

    The solver anneals in beta [3]_: forward (smallest beta first; each solution,
    with every cluster duplicated and perturbed, starts the next, so clusters can
    split) and reverse (largest beta first, from one cluster per x, clusters merging
    as beta falls). Only clusters in use are iterated. At every beta
    the solution with the lower Lagrangian is kept.

    Parameters
    ----------
    pxy : array-like, shape (n_x, n_y)
        Joint pmf p(x, y): non-negative, summing to 1 (within 1e-6). Rows with
        p(x) = 0 are allowed. Build it from paired samples with
        :func:`joint_from_samples`.
    betas : array-like of float > 0, optional
        Trade-off parameters; sorted ascending in the output. Default
        :func:`default_betas` (50 values from 1 to 1000).
    alpha : float in [0, 1], default 1.0
        Weight of H(T|X): 1 is the IB, 0 the deterministic IB.
    n_clusters : int, optional
        Size of the bottleneck alphabet ``|T|``. Default: the number of distinct rows
        of p(y|x) (enough to reach (H(X), I(X;Y)) when all rows differ). Memory and
        time grow as ``|X| n_clusters``: set it for large ``|X|``.
    anneal : {"both", "forward", "reverse"}
        Which annealing passes to run.
    max_iter : int, default 1000
        Most iterations per beta and pass.
    tol : float, default 1e-9
        Stop when no entry of q(t) or q(t, y) changes by more than ``tol``.
    perturbation : float, default 1e-2
        Standard deviation of the Gaussian noise added to log q(t|x) between betas
        on the forward pass, where every cluster is duplicated before the next beta
        (while there is room for ``n_clusters``) so that it can split.
    merge_identical : bool, default True
        Solve on the x's grouped by identical p(y|x) (exact: the IB depends on x only
        through p(y|x)); encoders are returned for every original x.
    device : None, str or torch.device
        ``None`` runs on numpy; otherwise the iterations run in float64 torch on this
        device (e.g. ``"cuda"``), worthwhile for large ``|X| x |T|``.
    random_state : None, int or numpy Generator
        Seed for the initial encoders and the perturbations.
    return_encoders : bool, default False
        Also return the encoders.
    progress : bool, default False
        Draw a progress bar on stderr.

    Returns
    -------
    curve : pandas.DataFrame
        One row per beta (ascending) with columns ``beta``, ``I_XT`` = I(X;T),
        ``I_TY`` = I(T;Y), ``H_T`` = H(T) (all in nats), ``n_clusters_used``
        (clusters with mass > 1e-9 once clusters with the same q(y|t) are merged),
        ``lagrangian`` = H(T) - alpha H(T|X) - beta I(T;Y),
        ``direction`` (the pass that won), ``n_iter`` and ``converged``.
        ``curve.attrs`` holds ``alpha``, ``H_X``, ``H_Y`` and ``I_XY`` (nats): the
        curve lies below ``I_TY = min(I_XT, I_XY)``.
    encoders : numpy.ndarray, shape (n_betas, n_x, n_clusters)
        Only with ``return_encoders=True``: q(t|x) for each row of ``curve``. Rows of
        x with p(x) = 0 get q(t), the bottleneck marginal.

    Raises
    ------
    ValueError
        ``pxy`` not a 2-D pmf (negative, NaN, not summing to 1, empty), bad ``betas``,
        ``alpha`` outside [0, 1], ``n_clusters`` < 1 or so large that the encoder
        would pass 4 GiB, or an unknown ``anneal``.
    ModuleNotFoundError
        ``device`` given but torch is missing.

    Notes
    -----
    The IB curve is concave and non-decreasing in the (I_XT, I_TY) plane; the
    iterations find local optima, and annealing in both directions keeps the better
    one per beta. ``converged=False`` marks betas where ``max_iter`` was reached
    (typically just past a phase transition, where convergence slows down).

    Units: everything is in nats, beta included. embo (Piasini et al.) updates
    q(t|x) ~ q(t) exp(-beta KL) with the KL in bits, so embo's ``beta`` equals this
    function's ``beta * ln 2``.

    Cost per iteration is ``O(|X| |T| (|Y| + 2))`` (one matrix product and one
    exponential); with ``merge_identical`` ``|X|`` is the number of distinct p(y|x).

    References
    ----------
    .. [1] N. Tishby, F. C. Pereira, W. Bialek, "The information bottleneck method",
       Proc. 37th Allerton Conference (1999); arXiv:physics/0004057.
    .. [2] D. J. Strouse, D. J. Schwab, "The deterministic information bottleneck",
       Neural Computation 29, 1611-1630 (2017).
    .. [3] K. Rose, "Deterministic annealing for clustering, compression, classification,
       regression, and related optimization problems", Proc. IEEE 86, 2210-2239 (1998).

    Examples
    --------
    >>> import numpy as np
    >>> eps = 0.1
    >>> pxy = 0.5 * np.array([[1 - eps, eps], [eps, 1 - eps]])
    >>> curve = ib_curve(pxy, betas=[0.5, 50.0], random_state=0)
    >>> curve[["beta", "I_XT", "I_TY"]].round(3).to_numpy().tolist()
    [[0.5, 0.0, 0.0], [50.0, 0.693, 0.368]]
    """
    p = check_pmf(pxy, "pxy", ndim=2)
    beta_arr = _check_betas(betas)
    merge_identical = check_bool(merge_identical, "merge_identical")
    return_encoders = check_bool(return_encoders, "return_encoders")
    progress = check_bool(progress, "progress")
    alpha = check_positive(alpha, "alpha", allow_zero=True)
    if alpha > 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    check_choice(anneal, "anneal", ANNEAL)
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = check_positive(tol, "tol")
    perturbation = check_positive(perturbation, "perturbation", allow_zero=True)
    rng = check_random_state(random_state)

    if merge_identical:
        reduced, group, _ = _reduce_rows(p)
    else:
        keep = np.flatnonzero(p.sum(axis=1) > 0)
        reduced = p[keep]
        group = np.full(p.shape[0], -1, dtype=np.int64)
        group[keep] = np.arange(keep.size)
    n_x = reduced.shape[0]
    n_t = n_x if n_clusters is None else check_int(n_clusters, "n_clusters", low=1)
    if n_x * min(n_t, max(n_x, 1)) > _MAX_ENCODER_ENTRIES:
        gib = 8 * n_x * min(n_t, n_x) / 2**30
        raise ValueError(
            f"n_clusters={n_t} with {n_x} distinct rows of p(y|x) needs a {gib:.0f} GiB "
            "encoder; pass a smaller n_clusters (the IB curve rarely needs more than a "
            "few hundred clusters)"
        )

    if device is not None:
        from .._deps import require

        require("torch", "ib_curve(device=...)")
    ops = get_ops(device)
    prob: Problem = make_problem(reduced, ops)

    n_b = beta_arr.size
    forward: list[Fit | None] = [None] * n_b
    reverse: list[Fit | None] = [None] * n_b
    passes = ["forward", "reverse"] if anneal == "both" else [anneal]
    total = n_b * len(passes)
    steps = iter(_progress(range(total), total=total, desc="ib_curve", enabled=progress))

    with _single_thread(ops):
        _anneal(
            prob,
            reduced,
            beta_arr,
            alpha,
            n_t,
            passes,
            forward,
            reverse,
            max_iter,
            tol,
            perturbation,
            rng,
            ops,
            steps,
        )

    rows = []
    best: list[Fit] = []
    for i, b in enumerate(beta_arr):
        cands = [
            (f, name)
            for f, name in ((forward[i], "forward"), (reverse[i], "reverse"))
            if f is not None
        ]
        fit, name = min(cands, key=lambda c: c[0].lagrangian)
        best.append(fit)
        rows.append(
            (
                float(b),
                fit.i_xt,
                fit.i_ty,
                fit.h_t,
                fit.n_used,
                fit.lagrangian,
                name,
                fit.n_iter,
                fit.converged,
            )
        )
    curve = pd.DataFrame(rows, columns=list(COLUMNS))
    curve.attrs.update(
        alpha=alpha,
        H_X=entropy_pmf(p.sum(axis=1)),
        H_Y=entropy_pmf(p.sum(axis=0)),
        I_XY=mutual_information_pmf(p),
    )
    if not return_encoders:
        return curve
    encoders = np.empty((n_b, p.shape[0], n_t))
    has = group >= 0
    px_red = reduced.sum(axis=1)
    for i, fit in enumerate(best):
        enc = ops.to_numpy(fit.encoder)
        k = enc.shape[1]
        encoders[i] = 0.0
        encoders[i, has, :k] = enc[group[has]]
        encoders[i, ~has, :k] = px_red @ enc
    return curve, encoders


def upper_envelope(curve: pd.DataFrame, x: str = "I_XT", y: str = "I_TY") -> pd.DataFrame:
    """The rows of ``curve`` on its concave, non-decreasing upper envelope.

    Local optima of the IB iterations can leave points below the true (concave) curve;
    this keeps the vertices of the upper convex hull of the ``(x, y)`` points up to
    the highest ``y``, sorted by ``x``.

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`ib_curve` (or any frame with columns ``x`` and ``y``).
    x, y : str
        Column names of the plane (use ``x="H_T"`` for the deterministic IB plane).

    Returns
    -------
    pandas.DataFrame
        A subset of the rows, ordered by ``x``; ``attrs`` are kept.

    Raises
    ------
    ValueError
        A named column is missing.
    """
    for name, col in (("x", x), ("y", y)):
        if col not in curve.columns:
            raise ValueError(f"{name}={col!r} is not a column of curve; has {list(curve.columns)}")
    if len(curve) == 0:
        return curve.copy()
    order = np.lexsort((-curve[y].to_numpy(), curve[x].to_numpy()))
    px_, py_ = curve[x].to_numpy()[order], curve[y].to_numpy()[order]
    hull: list[int] = []
    for k in range(order.size):
        if hull and px_[k] == px_[hull[-1]]:
            continue  # same x, lower y (sorted by -y within equal x)
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (px_[b] - px_[a]) * (py_[k] - py_[a]) - (py_[b] - py_[a]) * (px_[k] - px_[a])
            if cross >= 0:  # b is on or below the chord a-k
                hull.pop()
            else:
                break
        hull.append(k)
    top = int(np.argmax(py_[hull]))
    hull = hull[: top + 1]
    out = curve.iloc[order[hull]].reset_index(drop=True)
    out.attrs.update(curve.attrs)
    return out
