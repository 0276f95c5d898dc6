"""Decoder and encoder bounds on mutual information (nats).

* :func:`ba_mi` -- Barber-Agakov lower bound ``H(y) + E log q(y|x)`` with a Gaussian
  decoder q(y|x) = N(mu(x), diag sigma^2(x)).
* :func:`club_mi` -- CLUB upper bound
  ``E_p(x,y)[log q(y|x)] - E_p(x)p(y)[log q(y|x)]`` with the same decoder.
* :func:`gaussian_encoder_kl_bound` -- for a stochastic encoder with known Gaussian
  q(z|x) (VAE, VIB, Information Dropout): ``I(x; z) <= E_x KL(q(z|x) || r(z))`` for
  any r; a standard normal or a learned Gaussian mixture.
* :func:`gaussian_encoder_mi` -- the exact-noise Monte-Carlo estimate of I(x; z)
  for the same encoder on the empirical x, bracketed by the pairwise-distance bounds
  of Kolchinsky & Tracey (Bhattacharyya below, KL above).

References
----------
.. [1] D. Barber, F. Agakov, "The IM algorithm: a variational approach to information
   maximization", NeurIPS 2003.
.. [2] P. Cheng, W. Hao, S. Dai, J. Liu, Z. Gan, L. Carin, "CLUB: A contrastive
   log-ratio upper bound of mutual information", ICML 2020.
.. [3] A. Alemi, I. Fischer, J. Dillon, K. Murphy, "Deep variational information
   bottleneck", ICLR 2017.
.. [4] A. Achille, S. Soatto, "Information dropout: learning optimal representations
   through noisy computation", IEEE TPAMI 40 (2018).
.. [5] A. Kolchinsky, B. D. Tracey, "Estimating mixture entropy with pairwise
   distances", Entropy 19 (2017).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._progress import progress as show_progress
from ..._validation import (
    check_bool,
    check_choice,
    check_int,
    check_random_state,
    check_xy,
)
from ...result import MIResult
from .._base import from_function
from .critics import default_hidden_dims, mlp
from .training import check_training_params, finite_or_raise, fit, prepare, seeded_init

__all__ = [
    "GaussianDecoder",
    "ba_mi",
    "club_mi",
    "gaussian_encoder_kl_bound",
    "gaussian_encoder_mi",
    "BarberAgakovEstimator",
    "CLUBEstimator",
]

_LOG2PI = math.log(2.0 * math.pi)


class GaussianDecoder(nn.Module):
    """q(y|x) = N(mu(x), diag exp(logvar(x))): one MLP with ``2 d_y`` outputs.

    Parameters
    ----------
    d_x, d_y : int
        Dimensions of x and y.
    hidden_dims : sequence of int
        Hidden widths.
    """

    def __init__(self, d_x: int, d_y: int, hidden_dims: Sequence[int]) -> None:
        super().__init__()
        self.net = mlp(d_x, hidden_dims, 2 * d_y)
        self.d_y = d_y

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance, each ``(B, d_y)``."""
        out = self.net(x)
        mu, logvar = out[:, : self.d_y], out[:, self.d_y :]
        return mu, logvar.clamp(-12.0, 12.0)

    def log_prob(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``log q(y_i | x_i)`` for each row, shape ``(B,)``, in nats."""
        mu, logvar = self(x)
        lp: torch.Tensor = -0.5 * (((y - mu) ** 2) * torch.exp(-logvar) + logvar + _LOG2PI).sum(1)
        return lp


def _decoder_fit(kind: str, x: Any, y: Any, params: dict[str, Any]) -> tuple[Any, Any, Any]:
    bs, steps, lr, every, patience = check_training_params(
        params["batch_size"],
        params["max_steps"],
        params["learning_rate"],
        params["eval_every"],
        params["patience"],
    )
    data = prepare(
        x,
        y,
        validation_fraction=params["validation_fraction"],
        standardize=params["standardize"],
        device=params["device"],
        random_state=params["random_state"],
    )
    d_x, d_y = data.x_train.shape[1], data.y_train.shape[1]
    hd = params["hidden_dims"]
    if hd is None:
        hd = default_hidden_dims(d_x)
    try:
        dims = tuple(check_int(h, "hidden_dims", low=1) for h in hd)
    except TypeError:
        raise ValueError(
            f"hidden_dims must be a sequence of positive integers, got {hd!r}"
        ) from None
    dec = seeded_init(data.seed, lambda: GaussianDecoder(d_x, d_y, dims)).to(data.device)

    def objective(idx: torch.Tensor) -> torch.Tensor:
        return dec.log_prob(data.x_train[idx], data.y_train[idx]).mean()

    def held_out_loglik() -> float:
        return float(dec.log_prob(data.x_val, data.y_val).mean())

    res = fit(
        dec,
        objective=objective,
        evaluate=held_out_loglik,
        n_train=data.n_train,
        batch_size=bs,
        max_steps=steps,
        learning_rate=lr,
        eval_every=every,
        patience=patience,
        seed=data.seed,
        show_progress=bool(params["progress"]),
        desc=kind,
    )
    return data, dec, res


def _gaussian_entropy(y: torch.Tensor) -> float:
    """Entropy (nats) of the Gaussian with the sample covariance of ``y`` (n, d)."""
    a: np.ndarray = y.detach().cpu().double().numpy()
    d = a.shape[1]
    cov = np.atleast_2d(np.cov(a, rowvar=False))
    eig = np.linalg.eigvalsh(cov)
    if eig.min() <= 1e-10 * max(eig.max(), 1e-300):
        raise ValueError(
            "y has a singular covariance on the held-out split; "
            "y_entropy='gaussian' needs full-rank y"
        )
    return float(0.5 * (d * (1.0 + _LOG2PI) + float(np.sum(np.log(eig)))))


def _result(
    kind: str, raw: float, data: Any, res: Any, params: dict[str, Any], extra: dict[str, Any]
) -> MIResult:
    raw = finite_or_raise(raw, kind)
    diag = {
        "raw_value": raw,
        "ceiling": None,
        "at_ceiling": False,
        "n_train": data.n_train,
        "n_heldout": data.n_val,
        "best_step": res.best_step,
        "steps_run": res.steps_run,
        "stopped_early": res.stopped_early,
        "curve": res.curve,
        "device": str(data.device),
    }
    diag.update(extra)
    return MIResult(
        max(raw, 0.0),
        kind,
        data.n_train + data.n_val,
        params=params,
        backend="torch",
        diagnostics=diag,
    )


_TRAIN_DOC = """
    hidden_dims : sequence of int or None
        Hidden widths of the decoder MLP; None picks two layers of 64 to 256 units.
    batch_size : int, default 128
    max_steps : int, default 1000
    learning_rate : float, default 1e-3
    validation_fraction : float, default 0.3
        Share of samples held out; the bound is evaluated on them.
    eval_every : int, default 25
    patience : int or None, default 20
        Early stopping on the held-out log-likelihood (evaluations without improvement).
    standardize : bool, default True
    device : str or torch.device, default "cpu"
    random_state : None, int or numpy Generator
        A seed gives the same number on the CPU; global RNGs are left alone.
    progress : bool, default True"""


def ba_mi(
    x: Any,
    y: Any,
    *,
    y_entropy: float | str = "gaussian",
    hidden_dims: Sequence[int] | None = None,
    batch_size: int = 128,
    max_steps: int = 1000,
    learning_rate: float = 1e-3,
    validation_fraction: float = 0.3,
    eval_every: int = 25,
    patience: int | None = 20,
    standardize: bool = True,
    device: Any = "cpu",
    random_state: Any = None,
    progress: bool = True,
) -> MIResult:
    (
        """Barber-Agakov lower bound ``I(x; y) >= H(y) + E_p[log q(y|x)]`` in nats.

    A Gaussian decoder q(y|x) is fitted by maximum likelihood on the training split;
    the bound is evaluated on the held-out split.

    Parameters
    ----------
    x : array-like or tensor, shape (n_samples,) or (n_samples, d_x)
    y : array-like or tensor, shape (n_samples,) or (n_samples, d_y)
    y_entropy : float or "gaussian", default "gaussian"
        H(y) in nats (of y as given). A known value keeps the result a lower bound.
        ``"gaussian"`` uses the entropy of a Gaussian with y's held-out covariance,
        exact for Gaussian y and an over-estimate otherwise (then the result is an
        estimate, not a bound)."""
        + _TRAIN_DOC
        + """

    Returns
    -------
    MIResult
        Clipped at 0; ``diagnostics`` has ``raw_value``, ``h_y``, ``cross_entropy``
        (``-E log q(y|x)`` held out), ``curve``, ``best_step``, ``ceiling`` (None).

    Raises
    ------
    ValueError
        Bad input, a bad ``y_entropy``, a bad training setting, or a held-out bound
        that is not finite (the decoder overflowed in float32; never NaN).
    """
    )
    if isinstance(y_entropy, str):
        check_choice(y_entropy, "y_entropy", ("gaussian",))
    elif (
        isinstance(y_entropy, bool)
        or not isinstance(y_entropy, numbers.Real)
        or not math.isfinite(y_entropy)
    ):
        raise ValueError(
            f"y_entropy must be a finite number of nats or 'gaussian', got {y_entropy!r}"
        )
    params = dict(
        y_entropy=y_entropy,
        hidden_dims=hidden_dims,
        batch_size=batch_size,
        max_steps=max_steps,
        learning_rate=learning_rate,
        validation_fraction=validation_fraction,
        eval_every=eval_every,
        patience=patience,
        standardize=standardize,
        device=device,
        random_state=random_state,
        progress=progress,
    )
    data, dec, res = _decoder_fit("ba", x, y, params)
    with torch.no_grad():
        ce = -float(dec.log_prob(data.x_val, data.y_val).mean())
    if y_entropy == "gaussian":
        h_y = _gaussian_entropy(data.y_val)
    else:  # entropy of the standardised y the decoder sees
        h_y = float(y_entropy) - float(np.sum(data.y_log_scale))
    raw = h_y - ce
    return _result(
        "ba",
        raw,
        data,
        res,
        params,
        {
            "bound": "lower" if y_entropy != "gaussian" else "estimate",
            "h_y": h_y,
            "cross_entropy": ce,
        },
    )


def club_mi(
    x: Any,
    y: Any,
    *,
    hidden_dims: Sequence[int] | None = None,
    batch_size: int = 128,
    max_steps: int = 1000,
    learning_rate: float = 1e-3,
    validation_fraction: float = 0.3,
    eval_every: int = 25,
    patience: int | None = 20,
    standardize: bool = True,
    device: Any = "cpu",
    random_state: Any = None,
    progress: bool = True,
) -> MIResult:
    (
        """CLUB upper bound ``E_p(x,y)[log q(y|x)] - E_p(x)p(y)[log q(y|x)]`` in nats.

    A Gaussian decoder q(y|x) is fitted by maximum likelihood; the negative term
    averages over all ``n^2`` held-out pairs, in closed form from y's moments (O(n d)).

    Parameters
    ----------
    x : array-like or tensor, shape (n_samples,) or (n_samples, d_x)
    y : array-like or tensor, shape (n_samples,) or (n_samples, d_y)"""
        + _TRAIN_DOC
        + """

    Returns
    -------
    MIResult
        Clipped at 0; ``diagnostics`` has ``raw_value``, ``positive`` and ``negative``
        terms, ``curve``, ``best_step``, ``ceiling`` (None).

    Raises
    ------
    ValueError
        Bad input, a bad training setting, or a held-out bound that is not finite (the
        decoder overflowed in float32; never NaN).

    Notes
    -----
    CLUB is an upper bound when q(y|x) is close enough to p(y|x) (Cheng et al. 2020,
    Thm 3.2); it is loose when I is large: with the exact decoder of a Gaussian
    channel of correlation rho it equals ``d rho^2 / (1 - rho^2)`` per the ``d``
    coordinates, against the truth ``-d/2 log(1 - rho^2)``.
    """
    )
    params = dict(
        hidden_dims=hidden_dims,
        batch_size=batch_size,
        max_steps=max_steps,
        learning_rate=learning_rate,
        validation_fraction=validation_fraction,
        eval_every=eval_every,
        patience=patience,
        standardize=standardize,
        device=device,
        random_state=random_state,
        progress=progress,
    )
    data, dec, res = _decoder_fit("club", x, y, params)
    with torch.no_grad():
        yv = data.y_val.double()
        mu, logvar = (t.double() for t in dec(data.x_val))
        inv = torch.exp(-logvar)
        pos = -0.5 * (((yv - mu) ** 2) * inv).sum(1).mean()
        m1, m2 = yv.mean(0), (yv**2).mean(0)
        # mean over j of (y_j - mu_i)^2 = m2 - 2 mu_i m1 + mu_i^2
        neg = -0.5 * ((m2 - 2 * mu * m1 + mu**2) * inv).sum(1).mean()
    raw = float(pos - neg)
    return _result(
        "club",
        raw,
        data,
        res,
        params,
        {"bound": "upper", "positive": float(pos), "negative": float(neg)},
    )


# ----------------------------------------------------------------- Gaussian encoders


def _check_encoder(mean: Any, std: Any) -> tuple[torch.Tensor, torch.Tensor]:
    m, s = check_xy(mean, std, names=("mean", "std"), min_samples=2)
    m = torch.as_tensor(np.asarray(m, dtype=np.float64))
    s = torch.as_tensor(np.asarray(s, dtype=np.float64))
    if m.shape != s.shape:
        raise ValueError(
            f"mean and std must have the same shape, got {tuple(m.shape)} and {tuple(s.shape)}"
        )
    if (s <= 0).any():
        raise ValueError("std must be > 0 everywhere (the encoder's standard deviations)")
    return m, s


def _diag_gmm_fit(
    z: torch.Tensor, k: int, n_iter: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """EM for a diagonal Gaussian mixture; returns log-weights (k,), means, variances (k, d)."""
    n, d = z.shape
    k = min(k, n)
    means = z[torch.randperm(n, generator=gen)[:k]].clone()
    var = z.var(0, keepdim=True).clamp_min(1e-6).repeat(k, 1)
    logw = torch.full((k,), -math.log(k), dtype=z.dtype)
    for _ in range(n_iter):
        lp = _diag_gmm_logpdf_components(z, logw, means, var)  # (n, k)
        resp = torch.softmax(lp, dim=1)
        nk = resp.sum(0) + 1e-10
        logw = torch.log(nk / n)
        means = (resp.T @ z) / nk[:, None]
        var = ((resp.T @ (z * z)) / nk[:, None] - means**2).clamp_min(1e-6)
    return logw, means, var


def _diag_gmm_logpdf_components(
    z: torch.Tensor, logw: torch.Tensor, means: torch.Tensor, var: torch.Tensor
) -> torch.Tensor:
    diff2 = (z[:, None, :] - means[None]) ** 2 / var[None]
    return logw[None] - 0.5 * (diff2 + torch.log(var)[None] + _LOG2PI).sum(-1)


def gaussian_encoder_kl_bound(
    mean: Any,
    std: Any,
    *,
    prior: str = "standard_normal",
    n_components: int = 10,
    n_mc_samples: int = 4,
    n_iter: int = 100,
    random_state: Any = None,
) -> MIResult:
    """Upper bound ``I(x; z) <= E_x KL(q(z|x) || r(z))`` for a Gaussian encoder, in nats.

    Parameters
    ----------
    mean : array-like or tensor, shape (n_samples, d_z)
        Encoder means mu(x_i), one row per input.
    std : array-like or tensor, shape (n_samples, d_z)
        Encoder standard deviations sigma(x_i) (> 0), q(z|x_i) = N(mu_i, diag sigma_i^2).
    prior : {"standard_normal", "mixture"}, default "standard_normal"
        r(z): N(0, I) (the VAE / VIB term, closed form), or a diagonal Gaussian mixture
        fitted by EM to encoder samples and evaluated by Monte Carlo with two-fold
        cross-fitting (fit on one half of the rows, evaluate on the other, and swap),
        so the fit never sees the samples it is scored on. Tighter: the best r is the
        aggregate posterior.
    n_components : int, default 10
        Mixture components.
    n_mc_samples : int, default 4
        Samples z ~ q(z|x_i) per row for fitting and evaluating the mixture.
    n_iter : int, default 100
        EM iterations.
    random_state : None, int or numpy Generator

    Returns
    -------
    MIResult
        The bound in nats (``diagnostics["bound"] = "upper"``, ``"kl_per_sample"``
        mean and ``"prior"``).

    Raises
    ------
    ValueError
        Mismatched or non-positive ``std``, NaN, an unknown prior, bad counts.

    Notes
    -----
    ``E_x KL(q(z|x) || r) = I(x; z) + KL(q(z) || r)`` for the aggregate posterior
    q(z), so any r gives an upper bound, tight when r = q(z) (Alemi et al. 2017).
    """
    m, s = _check_encoder(mean, std)
    check_choice(prior, "prior", ("standard_normal", "mixture"))
    n, d = m.shape
    params = dict(
        prior=prior,
        n_components=n_components,
        n_mc_samples=n_mc_samples,
        n_iter=n_iter,
        random_state=random_state,
    )
    if prior == "standard_normal":
        kl = 0.5 * (s**2 + m**2 - 1.0 - 2.0 * torch.log(s)).sum(1)
        val = float(kl.mean())
        return MIResult(
            val,
            "gaussian_encoder_kl",
            n,
            params=params,
            backend="torch",
            diagnostics={"raw_value": val, "bound": "upper", "prior": prior},
        )
    k = check_int(n_components, "n_components", low=1)
    mc = check_int(n_mc_samples, "n_mc_samples", low=1)
    it = check_int(n_iter, "n_iter", low=1)
    if n < 4:
        raise ValueError(f"mean has {n} rows; the mixture prior needs at least 4 (two folds of 2)")
    rng = check_random_state(random_state)
    perm = torch.as_tensor(rng.permutation(n))
    folds = (perm[: n // 2], perm[n // 2 :])
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**31 - 1)))

    def draw(idx: torch.Tensor) -> torch.Tensor:
        eps = torch.randn((mc, idx.numel(), d), generator=gen, dtype=m.dtype)
        return (m[idx][None] + s[idx][None] * eps).reshape(-1, d)

    # two-fold cross-fitting: r is fitted on one half and evaluated on the other
    total = 0.0
    comps = 0
    for fit_idx, eval_idx in (folds, folds[::-1]):
        logw, mu_r, var_r = _diag_gmm_fit(draw(fit_idx), k, it, gen)
        comps = int(logw.numel())
        zv = draw(eval_idx)
        log_r = torch.logsumexp(_diag_gmm_logpdf_components(zv, logw, mu_r, var_r), dim=1)
        neg_entropy = -0.5 * (d * (1.0 + _LOG2PI) + 2.0 * torch.log(s[eval_idx]).sum(1))
        total += float(neg_entropy.sum()) - float(log_r.sum()) / mc
    val = total / n
    return MIResult(
        val,
        "gaussian_encoder_kl",
        n,
        params=params,
        backend="torch",
        diagnostics={"raw_value": val, "bound": "upper", "prior": prior, "n_components": comps},
    )


def gaussian_encoder_mi(
    mean: Any,
    std: Any,
    *,
    n_mc_samples: int = 1,
    chunk_size: int = 512,
    random_state: Any = None,
    progress: bool = True,
) -> MIResult:
    """Exact-noise Monte-Carlo estimate of I(x; z) for a Gaussian encoder, in nats.

    With x uniform over the n given inputs, q(z) is the mixture
    ``(1/n) sum_j N(mu_j, diag sigma_j^2)`` and
    ``I(x; z) = E_i E_{z ~ q_i} [log q_i(z) - log q(z)]``; this is estimated with
    ``n_mc_samples`` draws per input (unbiased for the empirical x, at most log n).
    The closed-form pairwise-distance bounds of Kolchinsky & Tracey bracket the same
    quantity: ``interval = (Bhattacharyya lower, KL upper)``.

    Parameters
    ----------
    mean : array-like or tensor, shape (n_samples, d_z)
        Encoder means.
    std : array-like or tensor, shape (n_samples, d_z)
        Encoder standard deviations (> 0).
    n_mc_samples : int, default 1
        Draws of z per input.
    chunk_size : int, default 512
        Rows per block of the ``n x n`` pairwise computations (memory ``chunk * n * d``).
    random_state : None, int or numpy Generator
    progress : bool, default True
        Progress on stderr over the blocks of rows (shown once the work takes longer
        than the update interval; a short call writes nothing).

    Returns
    -------
    MIResult
        ``value``: the Monte-Carlo estimate; ``interval``: (lower, upper) pairwise
        bounds; ``diagnostics``: ``lower``, ``upper``, ``ceiling`` = log n.

    Raises
    ------
    ValueError
        Mismatched or non-positive ``std``, NaN, bad counts.

    Notes
    -----
    This is what a KDE estimator with the true noise kernel computes for an additive
    Gaussian-noise layer (Saxe et al. 2018); together with
    :func:`gaussian_encoder_kl_bound` it bounds the information of a noisy layer from
    both sides for the population of inputs as well (the estimate converges from
    below as n grows, the KL bound holds at any n).
    """
    m, s = _check_encoder(mean, std)
    mc = check_int(n_mc_samples, "n_mc_samples", low=1)
    ch = check_int(chunk_size, "chunk_size", low=1)
    rng = check_random_state(random_state)
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**31 - 1)))
    n, d = m.shape
    var = s**2
    logvar = torch.log(var)
    log_n = math.log(n)
    est_terms = []
    kl_terms = []
    bd_terms = []
    progress = check_bool(progress, "progress")
    blocks = range(0, n, ch)
    for start in show_progress(blocks, desc="gaussian_encoder_mi: blocks", enabled=progress):
        sl = slice(start, min(start + ch, n))
        mi_, vi, lvi = m[sl], var[sl], logvar[sl]
        # pairwise KL(q_i || q_j) and Bhattacharyya distances, (c, n)
        dm2 = (mi_[:, None, :] - m[None]) ** 2
        kl = 0.5 * (logvar[None] - lvi[:, None] + (vi[:, None] + dm2) / var[None] - 1.0).sum(-1)
        vbar = 0.5 * (vi[:, None] + var[None])
        log_geo = 0.5 * (lvi[:, None] + logvar[None])  # log sqrt(var_i var_j)
        bd = (0.125 * dm2 / vbar + 0.5 * (torch.log(vbar) - log_geo)).sum(-1)
        kl_terms.append(-(torch.logsumexp(-kl, dim=1) - log_n))
        bd_terms.append(-(torch.logsumexp(-bd, dim=1) - log_n))
        for _ in range(mc):
            z = mi_ + s[sl] * torch.randn(mi_.shape, generator=gen, dtype=m.dtype)
            sq = ((z[:, None, :] - m[None]) ** 2) / var[None]
            lq = -0.5 * (sq + logvar[None] + _LOG2PI).sum(-1)
            own = lq[torch.arange(lq.shape[0]), torch.arange(sl.start, sl.stop)]
            est_terms.append(own - (torch.logsumexp(lq, dim=1) - log_n))
    est = float(torch.cat(est_terms).mean())
    upper = float(torch.cat(kl_terms).mean())
    lower = float(torch.cat(bd_terms).mean())
    params = dict(n_mc_samples=n_mc_samples, chunk_size=chunk_size, random_state=random_state)
    return MIResult(
        max(est, 0.0),
        "gaussian_encoder_mi",
        n,
        params=params,
        backend="torch",
        diagnostics={
            "raw_value": est,
            "lower": lower,
            "upper": upper,
            "ceiling": log_n,
            "bound": "estimate",
        },
        interval=(lower, upper),
    )


BarberAgakovEstimator = from_function(
    ba_mi,
    "ba",
    cls_name="BarberAgakovEstimator",
    doc="Barber-Agakov lower bound with a Gaussian decoder; class twin of :func:`ba_mi`.",
)
CLUBEstimator = from_function(
    club_mi,
    "club",
    cls_name="CLUBEstimator",
    doc="CLUB upper bound with a Gaussian decoder; class twin of :func:`club_mi`.",
)
