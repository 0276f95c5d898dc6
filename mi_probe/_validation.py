"""Input checks shared by every estimator. Each error names the argument."""

from __future__ import annotations

import functools
import inspect
import numbers
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "as_2d",
    "check_array",
    "check_xy",
    "check_labels",
    "check_int",
    "check_bool",
    "check_kwargs",
    "named_kwargs",
    "standardize_columns",
    "check_positive",
    "check_choice",
    "check_out_dir",
    "check_random_state",
    "check_min_samples",
    "check_same_samples",
    "is_tensor",
    "tie_fraction",
    "subsample_index",
]


def is_tensor(obj: Any) -> bool:
    """True for a ``torch.Tensor`` (without importing torch when it is not loaded)."""
    mod = type(obj).__module__
    return mod.startswith("torch") and hasattr(obj, "detach")


def _to_numpy(x: Any, name: str) -> np.ndarray:
    if is_tensor(x):
        x = x.detach()
        if x.is_complex():
            raise ValueError(f"{name} has a complex dtype ({x.dtype}); expected real numbers")
        if x.dtype.is_floating_point and x.dtype not in (_torch().float32, _torch().float64):
            x = x.float()
        arr: np.ndarray = x.cpu().numpy()
        return arr
    if isinstance(x, (str, bytes)):
        raise ValueError(f"{name} must be an array of numbers, got a string")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as an array: {exc}") from None
    return arr


def _torch() -> ModuleType:
    import torch

    return torch


def as_2d(arr: np.ndarray, name: str) -> np.ndarray:
    """1-D becomes (n, 1); 2-D is kept; anything else is an error."""
    if arr.ndim == 1:
        return arr.reshape(-1, 1)
    if arr.ndim == 2:
        return arr
    raise ValueError(
        f"{name} must be 1-D (n_samples,) or 2-D (n_samples, n_features), "
        f"got {arr.ndim}-D with shape {tuple(arr.shape)}"
    )


def _check_numeric_dtype(arr: np.ndarray, name: str) -> None:
    kind = arr.dtype.kind
    if kind == "c":
        raise ValueError(f"{name} has a complex dtype ({arr.dtype}); expected real numbers")
    if kind not in "biuf":
        raise ValueError(
            f"{name} has dtype {arr.dtype}; expected a numeric array (int, bool or float)"
        )


def check_array(
    x: Any,
    name: str = "x",
    *,
    min_samples: int = 2,
    dtype: Any = np.float64,
    native: bool = False,
) -> Any:
    """Validate one sample matrix and return it as ``(n_samples, n_features)``.

    Parameters
    ----------
    x : array-like or torch.Tensor
        The samples; 1-D input is one feature.
    name : str
        Argument name used in error messages.
    min_samples : int
        Fewest rows accepted.
    dtype : numpy dtype
        Output dtype for numpy output.
    native : bool
        If True and ``x`` is a torch tensor, return a floating torch tensor on its own
        device (for GPU backends) instead of a numpy array.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        2-D array, finite, at least ``min_samples`` rows.

    Raises
    ------
    ValueError
        Empty input, more than 2 dimensions, a non-numeric or complex dtype, NaN or inf,
        or fewer than ``min_samples`` rows.
    """
    if native and is_tensor(x):
        torch = _torch()
        t = x.detach()
        if t.is_complex():
            raise ValueError(f"{name} has a complex dtype ({t.dtype}); expected real numbers")
        if t.dim() == 1:
            t = t.reshape(-1, 1)
        elif t.dim() != 2:
            raise ValueError(
                f"{name} must be 1-D (n_samples,) or 2-D (n_samples, n_features), "
                f"got {t.dim()}-D with shape {tuple(t.shape)}"
            )
        if t.numel() == 0:
            raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
        if not t.dtype.is_floating_point:
            t = t.to(torch.float32)
        if torch.isnan(t).any():
            raise ValueError(f"{name} contains NaN")
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} contains inf")
        check_min_samples(t.shape[0], min_samples, name)
        return t
    arr = _to_numpy(x, name)
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {tuple(arr.shape)})")
    _check_numeric_dtype(arr, name)
    arr = as_2d(arr, name)
    arr = np.asarray(arr, dtype=dtype)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains inf")
    check_min_samples(arr.shape[0], min_samples, name)
    return arr


def check_min_samples(n: int, min_samples: int, name: str = "x", why: str = "") -> None:
    """Raise when there are fewer than ``min_samples`` rows."""
    if n < min_samples:
        reason = why or f"at least {min_samples} samples are needed"
        raise ValueError(f"{name} has {n} samples; {reason}")


def check_same_samples(n_a: int, n_b: int, name_a: str, name_b: str) -> None:
    """Raise unless two inputs have the same number of samples (rows)."""
    if n_a != n_b:
        raise ValueError(
            f"{name_a} and {name_b} must have the same number of samples, got {n_a} and {n_b}"
        )


def check_xy(
    x: Any,
    y: Any,
    *,
    names: Sequence[str] = ("x", "y"),
    min_samples: int = 2,
    native: bool = False,
) -> tuple[Any, Any]:
    """Validate a pair of sample matrices with the same number of rows."""
    xa = check_array(x, names[0], min_samples=1, native=native)
    ya = check_array(y, names[1], min_samples=1, native=native)
    check_same_samples(xa.shape[0], ya.shape[0], names[0], names[1])
    check_min_samples(xa.shape[0], min_samples, names[0])
    return xa, ya


def check_labels(y: Any, name: str = "y", *, min_samples: int = 1) -> np.ndarray:
    """Validate discrete codes and return them as a 2-D int64 array of row codes.

    Accepts integer, bool, or float arrays whose values are all integers (1-D or 2-D).
    Each column is kept; use :func:`encode_rows` to turn rows into single symbols. A
    column with codes of magnitude 2**63 or more (which int64 cannot hold) is replaced
    by the ranks of its distinct values, so distinct codes stay distinct.

    Raises
    ------
    ValueError
        Non-integral floats, NaN, non-numeric dtype, more than 2 dimensions, empty.
    """
    arr = _to_numpy(y, name)
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {tuple(arr.shape)})")
    _check_numeric_dtype(arr, name)
    arr = as_2d(arr, name)
    if arr.dtype.kind == "f":
        if np.isnan(arr).any():
            raise ValueError(f"{name} contains NaN")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains inf")
        if not np.all(arr == np.round(arr)):
            raise ValueError(
                f"{name} must hold integer-coded discrete values; got non-integer floats "
                "(bin continuous data first, or use a continuous estimator)"
            )
    check_min_samples(arr.shape[0], min_samples, name)
    if arr.dtype.kind in "fu" and arr.size and np.abs(arr).max() >= 2.0**63:
        # codes beyond int64 would wrap on the cast (distinct codes becoming one):
        # replace each column by the rank of its values, which keeps every distinction
        ranks = np.empty(arr.shape, dtype=np.int64)
        for j in range(arr.shape[1]):
            ranks[:, j] = np.unique(arr[:, j], return_inverse=True)[1].reshape(-1)
        return ranks
    return arr.astype(np.int64)


def encode_rows(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Map each row of an integer matrix to one symbol ``0..k-1`` (hashing rows, no k**d table).

    Returns the symbols (n,) and the number of distinct rows k.
    """
    codes = np.ascontiguousarray(codes)
    if codes.ndim == 1 or codes.shape[1] == 1:
        _, inv = np.unique(codes.reshape(-1), return_inverse=True)
    else:
        view = codes.view(np.dtype((np.void, codes.dtype.itemsize * codes.shape[1])))
        _, inv = np.unique(view.reshape(-1), return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64)
    return inv, int(inv.max()) + 1 if inv.size else 0


def tie_fraction(a: np.ndarray) -> float:
    """Fraction of the rows of a 2-D array that repeat an earlier row (0 = no ties)."""
    view = np.ascontiguousarray(a).view(np.dtype((np.void, a.dtype.itemsize * a.shape[1])))
    return 1.0 - float(np.unique(view.reshape(-1)).size / a.shape[0])


def subsample_index(n_all: int, max_samples: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a seeded subsample of ``max_samples`` rows (all rows if fewer)."""
    if max_samples is not None and max_samples < n_all:
        return np.sort(rng.choice(n_all, size=max_samples, replace=False))
    return np.arange(n_all)


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    number = int(value)
    if low is not None and number < low:
        raise ValueError(f"{name} must be >= {low}, got {number}")
    if high is not None and number > high:
        raise ValueError(f"{name} must be <= {high}, got {number}")
    return number


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """A finite real number > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    if number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {number}")
    return number


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """One of a fixed set of options. Booleans match only booleans: ``1`` and ``0`` equal
    ``True`` and ``False`` in Python, but are not the option ``True`` (nor ``True`` an
    option ``1``)."""

    def is_bool(v: Any) -> bool:
        return isinstance(v, (bool, np.bool_))

    for c in choices:
        try:
            same = bool(value == c)
        except (TypeError, ValueError):  # an array compared elementwise: not an option
            same = False
        if same and is_bool(value) == is_bool(c):
            return bool(value) if is_bool(value) else value
    opts = ", ".join(repr(c) for c in choices)
    raise ValueError(f"{name} must be one of {opts}; got {value!r}")


def check_random_state(random_state: Any, name: str = "random_state") -> np.random.Generator:
    """None, an int seed, or a ``numpy.random.Generator``."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {random_state}")
        return np.random.default_rng(int(random_state))
    raise ValueError(f"{name} must be None, an int or a numpy Generator, got {random_state!r}")


def check_bool(value: Any, name: str) -> bool:
    """``True`` or ``False`` (numpy booleans too); anything else, such as ``'no'``, raises."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r}")


def check_kwargs(func: str, kwargs: dict[str, Any], valid: Sequence[str]) -> None:
    """Raise a ``ValueError`` naming the keyword arguments of ``func`` that are not ``valid``."""
    unknown = [k for k in kwargs if k not in valid]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise ValueError(
            f"{func}() got unknown keyword argument(s) {names}; valid: {', '.join(valid)}"
        )


def scale_columns_by_power_of_two(a: Any) -> tuple[Any, Any]:
    """A tensor's columns divided by a power of two at their largest magnitude.

    The torch twin of the first step of :func:`standardize_columns`: the division is exact,
    every value lands in [-1, 1], so sums of squares afterwards neither overflow nor
    underflow at any finite scale. Returns the scaled tensor and the exponents (float
    tensor, one per column; ``log(scale) = exponent * log 2``).
    """
    torch = _torch()
    peak = a.abs().amax(dim=0)
    _, exp = torch.frexp(torch.where(peak > 0, peak, torch.ones_like(peak)))
    exp = exp.to(a.dtype)
    return torch.ldexp(a, -exp), exp


def standardize_columns(
    a: np.ndarray, *, ddof: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre each column and divide it by its standard deviation, at any scale.

    Safe for finite input of any magnitude (1e-300 to 1.7e308): the work happens on
    the columns divided by a power of two at their largest absolute value (an exact
    division, so nothing is rounded), so nothing over- or underflows. A constant column (all
    values equal) becomes zeros.

    Returns
    -------
    z : numpy.ndarray, shape (n_samples, n_features)
        The standardised columns (float64, finite).
    mean : numpy.ndarray, shape (n_features,)
        Column means (may be ``inf`` only if a column's mean itself exceeds float64).
    log_std : numpy.ndarray, shape (n_features,)
        Natural log of each column's standard deviation (``-inf`` for a constant
        column); the log, because the deviation itself may not be representable.
    """
    a = np.asarray(a, dtype=np.float64)
    peak = np.max(np.abs(a), axis=0) if a.shape[0] else np.zeros(a.shape[1])
    _, exp = np.frexp(np.where(peak > 0, peak, 1.0))
    b = np.ldexp(a, -exp)  # exact: a / 2**exp, in [-1, 1]
    mean_b = b.mean(axis=0)
    centred = b - mean_b
    std_b = np.sqrt(np.mean(centred**2, axis=0) * a.shape[0] / max(a.shape[0] - ddof, 1))
    if a.shape[0]:
        # all values equal: exactly constant (the rounded mean may differ from them by 1 ulp)
        std_b = np.where(np.ptp(b, axis=0) == 0, 0.0, std_b)
        centred = np.where(std_b > 0, centred, 0.0)
    safe = np.where(std_b > 0, std_b, 1.0)
    z = centred / safe
    with np.errstate(divide="ignore", over="ignore"):
        log_std = np.where(std_b > 0, np.log(safe) + exp * np.log(2.0), -np.inf)
        mean = np.ldexp(mean_b, exp)
    return z, mean, log_std


_F = TypeVar("_F", bound=Callable[..., Any])


def named_kwargs(fn: _F) -> _F:
    """Decorate a public function so that an unknown keyword argument is a ``ValueError``.

    Python raises a bare ``TypeError`` ("got an unexpected keyword argument"); this
    names the function, the unknown arguments and the valid ones, as ``estimate_mi``
    does. The signature and docstring are kept (``functools.wraps``).
    """
    params = inspect.signature(fn).parameters.values()
    valid = tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for key in kwargs:
            if key not in valid:
                check_kwargs(name, kwargs, valid)
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def check_out_dir(out: str | os.PathLike[str], name: str = "out") -> Path:
    """``out`` as an output folder that exists or can be made, checked before any work;
    makes nothing.

    Raises
    ------
    ValueError
        ``out``, or the nearest of its parents that exists, is a file or not writable
        (the message names ``name``).
    """
    p = Path(out)
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                where = "" if q == p else f" ({os.fspath(q)!r} is a file)"
                raise ValueError(f"{name} {os.fspath(out)!r} is not a folder{where}")
            if not os.access(q, os.W_OK | os.X_OK):
                raise ValueError(f"{name} {os.fspath(out)!r}: {os.fspath(q)!r} is not writable")
            break
    return p
