"""Nuisance transform families: input transforms with a random parameter.

Each family draws one parameter per sample from a seeded numpy generator (the torch RNG
is never touched) and applies the transform to a batch of images shaped
``(n, H, W)`` or ``(n, C, H, W)``. The drawn parameters are the nuisance values ``n``
whose information the representation should not keep.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import check_array, check_int, check_positive, check_same_samples

__all__ = [
    "per_sample_values",
    "Nuisance",
    "Occlusion",
    "Rotation",
    "Translation",
    "AdditiveNoise",
    "Brightness",
    "CallableNuisance",
    "BUILTIN",
    "as_nuisance",
]


def _as_images(x: torch.Tensor, what: str) -> tuple[torch.Tensor, bool]:
    """(n, H, W) -> (n, 1, H, W); (n, C, H, W) kept. Returns the 4-D view and whether squeezed."""
    if x.dim() == 3:
        return x.unsqueeze(1), True
    if x.dim() == 4:
        return x, False
    raise ValueError(
        f"nuisance {what!r} transforms images shaped (n, H, W) or (n, C, H, W), got data "
        f"with shape {tuple(x.shape)}; reshape flat inputs to images first (the model can "
        "flatten them), or pass the nuisance as per-sample values"
    )


class Nuisance:
    """A family of input transforms ``x -> T(x; theta)`` with a random parameter theta.

    Subclasses set :attr:`name`, :attr:`columns` (names of the parameter columns) and
    implement :meth:`sample` and :meth:`apply`.
    """

    name: str = "nuisance"
    columns: tuple[str, ...] = ("theta",)

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Draw ``(n, len(columns))`` parameters for inputs of ``shape``."""
        raise NotImplementedError

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """Transform ``x`` (first axis = samples) with one parameter row per sample."""
        raise NotImplementedError

    def __call__(
        self, x: torch.Tensor, rng: np.random.Generator
    ) -> tuple[torch.Tensor, np.ndarray]:
        params = np.asarray(self.sample(x.shape[0], tuple(x.shape), rng), dtype=np.float64)
        if params.ndim == 1:
            params = params[:, None]
        return self.apply(x, params, rng), params

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class Occlusion(Nuisance):
    """A square patch of side ``size`` (drawn from ``sizes``) at a random position.

    Parameters
    ----------
    sizes : tuple of int, default (2, 3, 4)
        Possible patch sides in pixels.
    fill : float, default 0.0
        Value written into the patch.

    The nuisance values are ``(row, col, size)`` of the patch's top-left corner.
    """

    name = "occlusion"
    columns = ("row", "col", "size")

    def __init__(self, sizes: tuple[int, ...] = (2, 3, 4), fill: float = 0.0) -> None:
        self.sizes = tuple(sizes)
        self.fill = fill

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        h, w = shape[-2], shape[-1]
        sizes = [check_int(s, "sizes", low=1) for s in self.sizes]
        if not sizes or max(sizes) > min(h, w):
            raise ValueError(
                f"sizes must be non-empty and fit in the {h}x{w} image, got {self.sizes}"
            )
        size = rng.choice(np.asarray(sizes), size=n)
        row = np.floor(rng.uniform(size=n) * (h - size + 1))
        col = np.floor(rng.uniform(size=n) * (w - size + 1))
        return np.column_stack([row, col, size]).astype(np.float64)

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        imgs, squeezed = _as_images(x, self.name)
        h, w = imgs.shape[-2:]
        rows = torch.arange(h).view(1, h, 1)
        cols = torch.arange(w).view(1, 1, w)
        p = torch.as_tensor(params, dtype=torch.long)
        r0, c0, s = p[:, 0].view(-1, 1, 1), p[:, 1].view(-1, 1, 1), p[:, 2].view(-1, 1, 1)
        mask = (rows >= r0) & (rows < r0 + s) & (cols >= c0) & (cols < c0 + s)
        out = imgs.masked_fill(mask.unsqueeze(1).to(imgs.device), float(self.fill))
        return out.squeeze(1) if squeezed else out


def _affine(imgs: torch.Tensor, theta: torch.Tensor, mode: str) -> torch.Tensor:
    grid = F.affine_grid(theta.to(imgs.dtype), list(imgs.shape), align_corners=False)
    return F.grid_sample(
        imgs, grid.to(imgs.device), mode=mode, padding_mode="zeros", align_corners=False
    )


class Rotation(Nuisance):
    """Rotation by an angle drawn uniformly from ``[-max_degrees, max_degrees]``.

    Bilinear interpolation, zeros outside the image. The nuisance value is the angle
    in degrees.
    """

    name = "rotation"
    columns = ("angle",)

    def __init__(self, max_degrees: float = 45.0) -> None:
        self.max_degrees = max_degrees

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        m = check_positive(self.max_degrees, "max_degrees")
        return rng.uniform(-m, m, size=(n, 1))

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        imgs, squeezed = _as_images(x, self.name)
        a = torch.as_tensor(params[:, 0] * math.pi / 180.0, dtype=torch.float64)
        c, s = torch.cos(a), torch.sin(a)
        zero = torch.zeros_like(a)
        theta = torch.stack([torch.stack([c, -s, zero], 1), torch.stack([s, c, zero], 1)], 1)
        out = _affine(imgs, theta, "bilinear")
        return out.squeeze(1) if squeezed else out


class Translation(Nuisance):
    """Shift by whole pixels ``(dy, dx)``, each uniform in ``[-max_shift, max_shift]``.

    Pixels shifted in are zeros. The nuisance values are ``(dy, dx)``.
    """

    name = "translation"
    columns = ("dy", "dx")

    def __init__(self, max_shift: int = 2) -> None:
        self.max_shift = max_shift

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        m = check_int(self.max_shift, "max_shift", low=1)
        return rng.integers(-m, m + 1, size=(n, 2)).astype(np.float64)

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        imgs, squeezed = _as_images(x, self.name)
        h, w = imgs.shape[-2:]
        dy = torch.as_tensor(params[:, 0], dtype=torch.float64)
        dx = torch.as_tensor(params[:, 1], dtype=torch.float64)
        one, zero = torch.ones_like(dy), torch.zeros_like(dy)
        # output pixel p samples input pixel p - shift (normalised coordinates: 2/size per pixel)
        theta = torch.stack(
            [
                torch.stack([one, zero, -2.0 * dx / w], 1),
                torch.stack([zero, one, -2.0 * dy / h], 1),
            ],
            1,
        )
        out = _affine(imgs, theta, "nearest")
        return out.squeeze(1) if squeezed else out


class AdditiveNoise(Nuisance):
    """Gaussian noise whose standard deviation is drawn uniformly from ``[0, max_std]``.

    Works on inputs of any shape. The nuisance value is the standard deviation.
    """

    name = "noise"
    columns = ("std",)

    def __init__(self, max_std: float = 0.5) -> None:
        self.max_std = max_std

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(0.0, check_positive(self.max_std, "max_std"), size=(n, 1))

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        noise = torch.as_tensor(rng.standard_normal(tuple(x.shape)), dtype=x.dtype)
        std = torch.as_tensor(params[:, 0], dtype=x.dtype).view(-1, *([1] * (x.dim() - 1)))
        return x + std * noise.to(x.device)


class Brightness(Nuisance):
    """Add a constant drawn uniformly from ``[-max_delta, max_delta]`` to every input value.

    Works on inputs of any shape. The nuisance value is the offset.
    """

    name = "brightness"
    columns = ("delta",)

    def __init__(self, max_delta: float = 0.5) -> None:
        self.max_delta = max_delta

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        m = check_positive(self.max_delta, "max_delta")
        return rng.uniform(-m, m, size=(n, 1))

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        d = torch.as_tensor(params[:, 0], dtype=x.dtype).view(-1, *([1] * (x.dim() - 1)))
        return x + d.to(x.device)


class CallableNuisance(Nuisance):
    """Wrap a user function ``fn(x, rng) -> (x_transformed, params)``.

    ``x`` is a torch tensor (first axis = samples), ``rng`` a numpy Generator to draw
    from (do not use the torch RNG: probing must leave it untouched); ``params`` is an
    array ``(n,)`` or ``(n, k)`` of the nuisance values used per sample.
    """

    def __init__(
        self, fn: Callable[[torch.Tensor, np.random.Generator], Any], name: str | None = None
    ) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "custom")

    def __call__(
        self, x: torch.Tensor, rng: np.random.Generator
    ) -> tuple[torch.Tensor, np.ndarray]:
        out = self.fn(x, rng)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ValueError(
                f"nuisance {self.name!r} must return (x_transformed, params), got "
                f"{type(out).__name__}"
            )
        xt, params = out
        xt = torch.as_tensor(xt)
        params = np.asarray(
            params.detach().cpu() if hasattr(params, "detach") else params, dtype=np.float64
        )
        if params.ndim == 1:
            params = params[:, None]
        if xt.shape[0] != x.shape[0] or params.shape[0] != x.shape[0] or params.ndim != 2:
            raise ValueError(
                f"nuisance {self.name!r} returned {xt.shape[0]} inputs and params of shape "
                f"{params.shape} for {x.shape[0]} samples"
            )
        return xt, params


BUILTIN: dict[str, type[Nuisance]] = {
    "occlusion": Occlusion,
    "rotation": Rotation,
    "translation": Translation,
    "noise": AdditiveNoise,
    "brightness": Brightness,
}


def as_nuisance(spec: Any) -> Nuisance | None:
    """A :class:`Nuisance` for a name, an instance or a callable; None for per-sample values."""
    if isinstance(spec, Nuisance):
        return spec
    if isinstance(spec, str):
        if spec not in BUILTIN:
            raise ValueError(
                f"nuisance must be one of {', '.join(repr(k) for k in BUILTIN)}, a Nuisance, "
                f"a callable or per-sample values; got {spec!r}"
            )
        return BUILTIN[spec]()
    if callable(spec) and not hasattr(spec, "shape"):
        return CallableNuisance(spec)
    return None


def per_sample_values(spec: Any, name: str, n_all: int) -> np.ndarray:
    """Per-sample nuisance values as (n, d), checked to have one row per data sample."""
    values = check_array(spec, name, min_samples=1)
    check_same_samples(n_all, values.shape[0], "data", name)
    return values
