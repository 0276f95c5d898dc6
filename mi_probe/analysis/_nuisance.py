"""Nuisance transform families: input transforms with a random parameter.

Each family draws one parameter per sample from a seeded numpy generator (the torch RNG
is never touched) and applies the transform to a batch of inputs. The drawn parameters
are the nuisance values ``n`` whose information the representation should not keep.

Three kinds of family, by the inputs they accept:

* images shaped ``(n, H, W)`` or ``(n, C, H, W)`` with ``H, W > 1``: :class:`Occlusion`,
  :class:`Rotation`, :class:`Translation`. Inputs with a single row or column, such as
  audio frames shaped ``(n, 1, L)``, are refused: they are 1-D signals, not images;
* 1-D signals shaped ``(n, L)`` or ``(n, C, L)``, time on the last axis:
  :class:`TimeShift`, :class:`Phase`;
* any tensor (first axis = samples): :class:`AdditiveNoise` (absolute std),
  :class:`NoiseSNR` (noise at a signal-to-noise ratio), :class:`Gain`,
  :class:`Polarity`, :class:`Brightness`, :class:`Masking`.
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
    "Gain",
    "NoiseSNR",
    "TimeShift",
    "Polarity",
    "Phase",
    "Masking",
    "CallableNuisance",
    "BUILTIN",
    "as_nuisance",
]


_SIGNAL_HINT = (
    "for 1-D signals use 'time_shift', 'phase', 'gain', 'snr' or 'polarity'; for any "
    "tensor 'noise', 'snr', 'gain' or 'masking'"
)


def _as_images(x: torch.Tensor, what: str) -> tuple[torch.Tensor, bool]:
    """(n, H, W) -> (n, 1, H, W); (n, C, H, W) kept. Returns the 4-D view and whether squeezed.

    Refuses inputs whose "image" has a single row or column (``(n, 1, L)`` audio frames,
    ``(n, C, 1, L)``): an image transform would act on a 1-D signal as if it were a
    one-pixel-high picture (a vertical shift zeroes the whole frame).
    """
    if x.dim() == 3:
        imgs, squeezed = x.unsqueeze(1), True
    elif x.dim() == 4:
        imgs, squeezed = x, False
    else:
        raise ValueError(
            f"nuisance {what!r} transforms images shaped (n, H, W) or (n, C, H, W), got data "
            f"with shape {tuple(x.shape)}; reshape flat inputs to images first (the model can "
            f"flatten them), or pass the nuisance as per-sample values ({_SIGNAL_HINT})"
        )
    h, w = imgs.shape[-2:]
    if h < 2 or w < 2:
        raise ValueError(
            f"nuisance {what!r} transforms images, but data shaped {tuple(x.shape)} has "
            f"{h}x{w} 'images' (a single row or column): that is a 1-D signal, not an image; "
            f"{_SIGNAL_HINT}"
        )
    return imgs, squeezed


def _as_signals(x: torch.Tensor, what: str) -> torch.Tensor:
    """Check a batch of 1-D signals: (n, L) or (n, C, L) (time = last axis, L >= 2)."""
    if x.dim() not in (2, 3) or x.shape[-1] < 2:
        raise ValueError(
            f"nuisance {what!r} transforms 1-D signals shaped (n, L) or (n, C, L) with time on "
            f"the last axis, got data with shape {tuple(x.shape)}"
        )
    return x


def _per_sample(values: np.ndarray, x: torch.Tensor) -> torch.Tensor:
    """(n,) parameters as a tensor broadcasting over the non-sample axes of ``x``."""
    t = torch.as_tensor(values, dtype=x.dtype if x.dtype.is_floating_point else torch.float32)
    return t.view(-1, *([1] * (x.dim() - 1))).to(x.device)


class Nuisance:
    """A family of input transforms ``x -> T(x; theta)`` with a random parameter theta.

    Subclasses set :attr:`name`, :attr:`columns` (names of the parameter columns) and
    implement :meth:`sample` and :meth:`apply`.
    """

    name: str = "nuisance"
    columns: tuple[str, ...] = ("theta",)
    #: inputs accepted: "image" ((n, H, W) or (n, C, H, W), H, W > 1), "signal"
    #: ((n, L) or (n, C, L)) or "any"; checked before parameters are drawn
    kind: str = "any"

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Draw ``(n, len(columns))`` parameters for inputs of ``shape``."""
        raise NotImplementedError

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """Transform ``x`` (first axis = samples) with one parameter row per sample."""
        raise NotImplementedError

    def __call__(
        self, x: torch.Tensor, rng: np.random.Generator
    ) -> tuple[torch.Tensor, np.ndarray]:
        if self.kind == "image":
            _as_images(x, self.name)
        elif self.kind == "signal":
            _as_signals(x, self.name)
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
    kind = "image"
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
    kind = "image"
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
    kind = "image"
    columns = ("dy", "dx")

    def __init__(self, max_shift: int = 2) -> None:
        self.max_shift = max_shift

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        m = check_int(self.max_shift, "max_shift", low=1)
        h, w = shape[-2], shape[-1]
        if len(shape) in (3, 4) and min(h, w) > 1 and 2 * m >= min(h, w):
            raise ValueError(
                f"max_shift={m} must be less than half the {h}x{w} image's smaller side "
                "(a shift that large leaves mostly zeros)"
            )
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


class Gain(Nuisance):
    """Multiply each input by a gain drawn uniformly in decibels from ``[-max_db, max_db]``.

    Works on inputs of any shape (the loudness of a recording, the contrast of an
    image). The nuisance value is the gain in dB (``x * 10**(dB / 20)``).

    Parameters
    ----------
    max_db : float, default 12.0
        Largest gain magnitude in dB (12 dB: a factor 0.25 to 3.98).
    """

    name = "gain"
    columns = ("gain_db",)

    def __init__(self, max_db: float = 12.0) -> None:
        self.max_db = max_db

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        m = check_positive(self.max_db, "max_db")
        return rng.uniform(-m, m, size=(n, 1))

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        return x * _per_sample(10.0 ** (params[:, 0] / 20.0), x)


class NoiseSNR(Nuisance):
    """White Gaussian noise at a signal-to-noise ratio drawn uniformly in dB.

    Each sample gets noise of standard deviation ``rms(x_i) / 10**(snr_i / 20)``, with
    ``rms`` over all of the sample's values, so the nuisance is the noise level relative
    to the signal whatever the signal's loudness. Works on inputs of any shape. A sample
    that is all zeros gets no noise (its SNR is undefined). The nuisance value is the SNR
    in dB.

    Parameters
    ----------
    min_db, max_db : float, default 0.0 and 30.0
        Range of the SNR in dB (0 dB: noise as loud as the signal).
    """

    name = "snr"
    columns = ("snr_db",)

    def __init__(self, min_db: float = 0.0, max_db: float = 30.0) -> None:
        self.min_db = min_db
        self.max_db = max_db

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        lo, hi = float(self.min_db), float(self.max_db)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(
                f"min_db and max_db must be finite with min_db < max_db, got {lo} and {hi}"
            )
        return rng.uniform(lo, hi, size=(n, 1))

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        xf = x if x.dtype.is_floating_point else x.float()
        rms = xf.reshape(xf.shape[0], -1).double().pow(2).mean(dim=1).sqrt().cpu().numpy()
        std = rms / 10.0 ** (params[:, 0] / 20.0)
        noise = torch.as_tensor(rng.standard_normal(tuple(xf.shape)), dtype=xf.dtype)
        return xf + _per_sample(std, xf) * noise.to(xf.device)


class TimeShift(Nuisance):
    """Shift 1-D signals along time by a whole number of samples in ``[-max_shift, max_shift]``.

    Inputs shaped ``(n, L)`` or ``(n, C, L)`` (time on the last axis). A positive shift
    delays the signal. Zeros are shifted in, or with ``circular=True`` the signal wraps
    around (a shift of a periodic frame). The nuisance value is the shift in samples.

    Parameters
    ----------
    max_shift : int, default 32
        Largest shift in samples; must be less than half the signal's length.
    circular : bool, default False
    """

    name = "time_shift"
    columns = ("shift",)
    kind = "signal"

    def __init__(self, max_shift: int = 32, circular: bool = False) -> None:
        self.max_shift = max_shift
        self.circular = circular

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        m = check_int(self.max_shift, "max_shift", low=1)
        if not isinstance(self.circular, bool):
            raise ValueError(f"circular must be True or False, got {self.circular!r}")
        length = shape[-1]
        if 2 * m >= length:
            raise ValueError(
                f"max_shift={m} must be less than half the signal length {length} "
                "(a shift that large leaves mostly zeros)"
            )
        return rng.integers(-m, m + 1, size=(n, 1)).astype(np.float64)

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        sig = _as_signals(x, self.name)
        length = sig.shape[-1]
        shifts = torch.as_tensor(params[:, 0], dtype=torch.long).to(sig.device)
        t = torch.arange(length, device=sig.device)
        src = t.view(1, length) - shifts.view(-1, 1)  # output sample t reads input t - shift
        view = (-1, *([1] * (sig.dim() - 2)), length)
        if self.circular:
            idx = torch.remainder(src, length).view(view).expand_as(sig)
            return torch.gather(sig, -1, idx)
        valid = ((src >= 0) & (src < length)).view(view)
        idx = src.clamp(0, length - 1).view(view).expand_as(sig)
        return torch.where(valid, torch.gather(sig, -1, idx), torch.zeros_like(sig))


class Polarity(Nuisance):
    """Multiply each input by -1 or +1 with probability 1/2 (a polarity inversion).

    Works on inputs of any shape; a discrete nuisance with values -1 and +1. A model
    that only hears magnitudes (a spectrogram front end) is exactly invariant to it.
    """

    name = "polarity"
    columns = ("sign",)

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return rng.choice(np.array([-1.0, 1.0]), size=(n, 1))

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        return x * _per_sample(params[:, 0], x)


class Phase(Nuisance):
    """Rotate the phase of every frequency component of 1-D signals by one angle.

    ``x -> irfft(exp(i theta) * rfft(x))`` along the last axis, with theta uniform in
    ``[-max_radians, max_radians]``; the zero-frequency and Nyquist terms are left as
    they are (they have no phase). A sine ``sin(w t)`` becomes ``sin(w t + theta)``:
    the same spectrum, a different waveform. Inputs shaped ``(n, L)`` or ``(n, C, L)``.
    The nuisance value is theta in radians.

    Parameters
    ----------
    max_radians : float, default pi
    """

    name = "phase"
    columns = ("radians",)
    kind = "signal"

    def __init__(self, max_radians: float = math.pi) -> None:
        self.max_radians = max_radians

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        m = check_positive(self.max_radians, "max_radians")
        return rng.uniform(-m, m, size=(n, 1))

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        sig = _as_signals(x, self.name)
        length = sig.shape[-1]
        spec = torch.fft.rfft(sig.double(), dim=-1)
        theta = torch.as_tensor(params[:, 0], dtype=torch.float64).to(sig.device)
        rot = torch.polar(torch.ones_like(theta), theta).view(-1, *([1] * (sig.dim() - 1)))
        keep = torch.ones(spec.shape[-1], dtype=torch.bool, device=sig.device)
        keep[0] = False
        if length % 2 == 0:
            keep[-1] = False
        spec = torch.where(keep, spec * rot, spec)
        return torch.fft.irfft(spec, n=length, dim=-1).to(sig.dtype)


class Masking(Nuisance):
    """Set a random fraction of each input's values to ``fill``.

    The fraction p is drawn uniformly from ``[0, max_fraction]`` per sample, and each
    value (every axis but the first) is masked independently with probability p
    (dropped pixels, lost audio samples, masked tokens' features). Works on inputs of any
    shape. The nuisance value is p.

    Parameters
    ----------
    max_fraction : float, default 0.5
        In (0, 1].
    fill : float, default 0.0
    """

    name = "masking"
    columns = ("fraction",)

    def __init__(self, max_fraction: float = 0.5, fill: float = 0.0) -> None:
        self.max_fraction = max_fraction
        self.fill = fill

    def sample(self, n: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        m = check_positive(self.max_fraction, "max_fraction")
        if m > 1:
            raise ValueError(f"max_fraction must be <= 1, got {m}")
        return rng.uniform(0.0, m, size=(n, 1))

    def apply(self, x: torch.Tensor, params: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        u = rng.uniform(size=tuple(x.shape)) < params[:, 0].reshape(-1, *([1] * (x.dim() - 1)))
        mask = torch.as_tensor(u).to(x.device)
        return x.masked_fill(mask, float(self.fill))


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
        self.name: str = name or str(getattr(fn, "__name__", "custom"))

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
    "gain": Gain,
    "snr": NoiseSNR,
    "time_shift": TimeShift,
    "polarity": Polarity,
    "phase": Phase,
    "masking": Masking,
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
