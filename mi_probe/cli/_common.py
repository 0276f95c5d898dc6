"""What the subcommands share: the user-error type and small formatting helpers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["CLIError", "clip", "first_line", "jsonable"]


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
    """``v`` as a JSON value: numbers stay numbers (non-finite ones become strings)."""
    if isinstance(v, (str, int, bool)) or v is None:
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    return str(v)
