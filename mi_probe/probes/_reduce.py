"""Per-probe reductions applied batch by batch: pooling, random projection, PCA.

Each probed layer's output is reduced inside its hook, one batch at a time, so a
collection of ``n`` rows holds ``n x k`` numbers per layer, never ``n x width``. Any map
that is not invertible can only lower mutual information (data processing inequality);
every reduction is therefore recorded (:meth:`Reducer.describe`) so that a number
computed on the reduced layer can say what it is a lower bound of.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import torch

from .._validation import check_choice, check_int

__all__ = ["ProbeOptions", "Reducer", "randomized_svd"]

POOLS = ("flatten", "mean", "max")
WHERE = ("output", "input")
PCA_FITS = ("first", "incremental")


@dataclass(frozen=True)
class ProbeOptions:
    """What one probe records and how it reduces it.

    Parameters
    ----------
    where : {"output", "input"}
        The module's output (a forward hook) or its first positional input (a forward
        pre-hook: what a classifier head receives after a functional pooling/flatten).
    pool : {"flatten", "mean", "max"}
        For outputs with more than two axes ``(batch, channels, *positions)``: keep every
        feature (``"flatten"``), or average / take the maximum over the positions
        (spatial or temporal pooling), giving ``(batch, channels)``.
    channel_dim : int
        The channel axis of such outputs (1 for convolutions; -1 for ``(batch, tokens,
        features)`` sequence models).
    project : int or None
        Seeded Gaussian random projection (Johnson-Lindenstrauss) to this many dims after
        pooling; a layer no wider than ``project`` is kept as it is.
    pca : int or None
        Principal-component coordinates in this many dims after pooling.
    pca_fit : {"first", "incremental"}
        Fit the components on the first batch (one randomized SVD; the batch must hold
        at least ``pca`` rows), or update them with every batch (incremental PCA; earlier
        batches' coordinates are rotated into the new basis).
    random_state : int
        Seed of the projection matrix and of the randomized SVD (numpy / a private torch
        generator: the global RNG is never touched).
    """

    where: str = "output"
    pool: str = "flatten"
    channel_dim: int = 1
    project: int | None = None
    pca: int | None = None
    pca_fit: str = "first"
    random_state: int = 0

    def checked(self) -> ProbeOptions:
        """Validate every field; returns ``self``.

        Raises
        ------
        ValueError
            A field of the wrong kind or value, or both ``project`` and ``pca``.
        """
        check_choice(self.where, "where", WHERE)
        check_choice(self.pool, "pool", POOLS)
        check_int(self.channel_dim, "channel_dim")
        if self.project is not None:
            check_int(self.project, "project", low=1)
        if self.pca is not None:
            check_int(self.pca, "pca", low=1)
        if self.project is not None and self.pca is not None:
            raise ValueError("project and pca are exclusive: give one reduction per probe")
        check_choice(self.pca_fit, "pca_fit", PCA_FITS)
        check_int(self.random_state, "random_state", low=0)
        return self

    @property
    def reduces(self) -> bool:
        """Whether the recorded tensor differs from the flattened output."""
        return self.pool != "flatten" or self.project is not None or self.pca is not None

    def updated(self, changes: Mapping[str, Any]) -> ProbeOptions:
        """A copy with ``changes`` applied (unknown names raise ``ValueError``)."""
        names = {f.name for f in fields(self)}
        bad = sorted(set(changes) - names)
        if bad:
            raise ValueError(
                f"unknown probe option {', '.join(map(repr, bad))}; valid: {', '.join(sorted(names))}"
            )
        return replace(self, **dict(changes)).checked()


def randomized_svd(
    a: torch.Tensor, k: int, *, n_oversamples: int = 10, n_iter: int = 2, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Top-``k`` SVD of ``a`` (m, d) by a randomized range finder (Halko et al. 2011).

    Uses a private ``torch.Generator`` seeded with ``seed`` (the global RNG is not
    touched) and ``n_iter`` power iterations with QR re-orthonormalisation.

    Returns
    -------
    u : (m, k), s : (k,), v : (d, k)
    """
    m, d = a.shape
    q = min(k + n_oversamples, m, d)
    gen = torch.Generator(device=a.device).manual_seed(int(seed))
    omega = torch.randn(d, q, generator=gen, device=a.device, dtype=a.dtype)
    y = a @ omega
    basis, _ = torch.linalg.qr(y)
    for _ in range(n_iter):
        z, _ = torch.linalg.qr(a.T @ basis)
        basis, _ = torch.linalg.qr(a @ z)
    b = basis.T @ a  # (q, d)
    ub, s, vt = torch.linalg.svd(b, full_matrices=False)
    u = basis @ ub
    k = min(k, s.shape[0])
    return u[:, :k], s[:k], vt[:k].T


class Reducer:
    """Reduce one activation key's batches as :class:`ProbeOptions` say.

    Call it on each batch ``(batch, ...)``; it returns ``(batch, k)`` float32 on the
    batch's device. State (projection matrix, principal axes) is created on the first
    batch, when the width is known.
    """

    def __init__(self, options: ProbeOptions, key: str) -> None:
        self.options = options
        self.key = key
        self.width_in: int | None = None  # features after flattening, before pooling
        self.width_pooled: int | None = None
        self.width_out: int | None = None
        self._matrix: torch.Tensor | None = None
        self._components: torch.Tensor | None = None  # (width, k)
        self._singular: torch.Tensor | None = None
        self._mean: torch.Tensor | None = None
        self._n_seen = 0
        self._ref: torch.Tensor | None = None
        self._chunks: list[torch.Tensor] = []  # incremental PCA: outputs to rotate later

    # -- pooling ---------------------------------------------------------------------
    def _pool(self, t: torch.Tensor) -> torch.Tensor:
        if t.dim() == 0:
            return t.reshape(1, 1)
        pool = self.options.pool
        if t.dim() <= 2 or pool == "flatten":
            return t.reshape(t.shape[0], -1)
        cd = self.options.channel_dim % t.dim()
        if cd == 0:
            raise ValueError(
                f"channel_dim={self.options.channel_dim} points at the batch axis of "
                f"layer {self.key!r} (output shape {tuple(t.shape)})"
            )
        t = t.movedim(cd, 1).reshape(t.shape[0], t.shape[cd], -1)
        if pool == "mean":
            return t.mean(dim=2)
        return t.amax(dim=2)

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        """Reduce one batch; returns ``(batch, width_out)``."""
        if self.width_in is None:
            self.width_in = int(np.prod(t.shape[1:])) if t.dim() > 1 else 1
        if self.options.reduces and t.dtype != torch.float32:
            t = t.float()
        z = self._pool(t)
        if self.width_pooled is None:
            self.width_pooled = int(z.shape[1])
        o = self.options
        if o.project is not None:
            z = self._project(z)
        elif o.pca is not None:
            z = self._pca(z)
        if self.width_out is None:
            self.width_out = int(z.shape[1])
        return z

    # -- random projection -----------------------------------------------------------
    def _project(self, z: torch.Tensor) -> torch.Tensor:
        k = int(self.options.project)  # type: ignore[arg-type]
        w = z.shape[1]
        if w <= k:
            return z
        if self._matrix is None or self._matrix.device != z.device:
            if self._matrix is None:
                g = np.random.default_rng(self.options.random_state)
                r = g.standard_normal((w, k), dtype=np.float32) / np.float32(math.sqrt(k))
                self._matrix = torch.from_numpy(r)
            self._matrix = self._matrix.to(z.device)
        return z @ self._matrix

    # -- PCA -------------------------------------------------------------------------
    def _pca(self, z: torch.Tensor) -> torch.Tensor:
        k = int(self.options.pca)  # type: ignore[arg-type]
        w = z.shape[1]
        if w <= k:
            return z
        if self.options.pca_fit == "first":
            if self._components is None:
                if z.shape[0] < k:
                    raise ValueError(
                        f"pca={k} fitted on the first batch needs at least {k} rows in it; "
                        f"layer {self.key!r} got {z.shape[0]} (raise batch_size or use "
                        "pca_fit='incremental')"
                    )
                self._mean = z.mean(dim=0, keepdim=True)
                _, _, v = randomized_svd(z - self._mean, k, seed=self.options.random_state)
                self._components = v
            assert self._mean is not None
            return (z - self._mean.to(z.device)) @ self._components.to(z.device)
        return self._pca_incremental(z, k)

    def _pca_incremental(self, z: torch.Tensor, k: int) -> torch.Tensor:
        # Ross et al. (2008) / scikit-learn's IncrementalPCA update: an SVD of the old
        # components scaled by their singular values, the centred batch, and a row for
        # the shift of the mean.
        b = z.shape[0]
        mean_b = z.mean(dim=0, keepdim=True)
        if self._components is None:
            stacked = z - mean_b
            n_tot = b
            # coordinates are taken relative to this fixed point, which keeps every
            # stored row inside the span the axes are updated from
            self._ref = mean_b
        else:
            assert self._mean is not None and self._singular is not None
            n_old = self._n_seen
            n_tot = n_old + b
            shift = math.sqrt(n_old * b / n_tot) * (self._mean - mean_b)
            stacked = torch.cat([self._singular[:, None] * self._components.T, z - mean_b, shift])
        _, s, v = randomized_svd(
            stacked, k, seed=self.options.random_state + self._n_seen, n_iter=3
        )
        if v.shape[1] < k:  # a first batch smaller than k: pad with zero axes
            pad = k - v.shape[1]
            v = torch.cat([v, v.new_zeros(v.shape[0], pad)], dim=1)
            s = torch.cat([s, s.new_zeros(pad)])
        if self._components is not None:
            rot = self._components.T @ v  # old axes -> new axes
            for c in self._chunks:
                c.copy_(c @ rot.to(c.device))
            assert self._mean is not None
            self._mean = (self._n_seen * self._mean + b * mean_b) / n_tot
        else:
            self._mean = mean_b
        self._components, self._singular = v, s
        self._n_seen = n_tot
        assert self._ref is not None
        return (z - self._ref) @ v

    @property
    def tracks_chunks(self) -> bool:
        """Whether stored chunks must be handed to :meth:`keep` (incremental PCA)."""
        o = self.options
        return o.pca is not None and o.pca_fit == "incremental"

    def keep(self, stored: torch.Tensor) -> None:
        """Remember a stored chunk, rotated in place when the axes are updated."""
        if self.tracks_chunks and self._components is not None:
            self._chunks.append(stored)

    def release(self) -> None:
        """Forget the chunks kept for rotation (after collection ends)."""
        self._chunks = []

    def describe(self) -> dict[str, Any]:
        """What was done to this key: ``where, pool, width_in, width_pooled, width_out,
        method ("none", "random_projection", "pca", "pca_incremental"), k, seed``."""
        o = self.options
        method = "none"
        k = None
        if o.project is not None and (self.width_pooled or 0) > o.project:
            method, k = "random_projection", o.project
        elif o.pca is not None and (self.width_pooled or 0) > o.pca:
            method = "pca" if o.pca_fit == "first" else "pca_incremental"
            k = o.pca
        return {
            "where": o.where,
            "pool": o.pool,
            "width_in": self.width_in,
            "width_pooled": self.width_pooled,
            "width_out": self.width_out,
            "method": method,
            "k": k,
            "seed": o.random_state if method != "none" else None,
        }


def describe_reduction(info: Mapping[str, Any] | None) -> str:
    """One line for a table row: ``""`` when nothing was reduced."""
    if not info:
        return ""
    parts = []
    if info.get("where") == "input":
        parts.append("module input")
    if info.get("pool") not in (None, "flatten") and info.get("width_in") != info.get(
        "width_pooled"
    ):
        parts.append(f"{info['pool']}-pooled {info['width_in']} -> {info['width_pooled']}")
    m = info.get("method")
    if m == "random_projection":
        parts.append(
            f"random projection {info['width_pooled']} -> {info['k']} (seed {info['seed']})"
        )
    elif m in ("pca", "pca_incremental"):
        how = "first-batch" if m == "pca" else "incremental"
        parts.append(f"{how} PCA {info['width_pooled']} -> {info['k']}")
    return "; ".join(parts)
