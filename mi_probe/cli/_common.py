"""What the subcommands share: the user-error type and small formatting helpers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_out_dir as _check_out_dir

__all__ = ["CLIError", "check_out_dir", "check_seed", "clip", "first_line", "jsonable"]

#: the largest seed the subcommands accept: torch generators and int64 columns hold it
MAX_SEED = 2**63 - 1


class CLIError(Exception):
    """A user error: printed as one line by :func:`mi_probe.cli.main`, exit status 2."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to at most ``limit`` characters (ending in "..." when cut), so a long
    message from a user's file or model never floods the terminal."""
    return text if len(text) <= limit else text[: max(limit - 3, 0)] + "..."


def jsonable(v: Any) -> Any:
    """``v`` as a JSON value: numbers stay numbers (non-finite ones become strings, so
    the output is valid JSON, which has no NaN or Infinity)."""
    if isinstance(v, (str, int, bool)) or v is None:
        return v
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (int, bool)):
        return v
    return str(v)


def check_out_dir(path: str | Path, option: str = "--out") -> Path:
    """``path`` as an output folder that exists or can be made, checked before any work.

    Raises
    ------
    CLIError
        ``path`` or one of its parents is a file or not writable (naming ``option``).
    """
    try:
        return _check_out_dir(path, option)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def check_seed(seed: int, option: str = "--seed", count: int = 1) -> int:
    """``seed`` checked to lie in ``[0, MAX_SEED]`` with the ``count`` seeds from it."""
    if not 0 <= seed <= MAX_SEED - (count - 1):
        raise CLIError(
            f"{option} must be between 0 and {MAX_SEED - (count - 1)}, got {seed}"
            + (f" (for {count} seeds from it)" if count > 1 else "")
        )
    return seed
