"""Reading user files without running code from them, and saying why one was refused.

``torch.load(..., weights_only=True)`` refuses pickles that would run code, but its
message advises re-running with ``weights_only=False`` (sometimes with ANSI colour
codes). We never give that advice: :func:`load_error_cause` keeps only the cause.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

import numpy as np

__all__ = ["LoadError", "load_error_cause", "torch_load_safe", "npz_load_safe"]


class LoadError(ValueError):
    """A file the safe loaders could not read; ``cause`` is the one-line reason."""

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# sentences of torch's message that advise weakening the loader, or point at its docs
_ADVICE = (
    "weights_only",
    "weights only load failed",
    "please file an issue",
    "check the documentation",
    "arbitrary code",
    "trusted source",
    "add_safe_globals",
    "safe_globals",
    "if you trust",
)


def load_error_cause(exc: BaseException) -> str:
    """One line: the exception's type and the cause of a refused or failed load.

    ANSI escape codes are removed, and so is every sentence that advises loading with
    ``weights_only=False`` or allow-listing globals; what remains is the cause
    (``"Unsupported operand 149"``, ``"Trying to load unsupported GLOBAL posix.system"``).
    """
    text = _ANSI.sub("", str(exc)).replace("WeightsUnpickler error:", "\n")
    causes = []
    for line in text.splitlines():
        # split each line into sentences and drop the advice
        for sentence in re.split(r"(?<=[.!?])\s+", line.strip()):
            s = sentence.strip().lstrip("()0123456789 ").strip()
            if s and not any(a in s.lower() for a in _ADVICE):
                causes.append(s)
    cause = causes[0] if causes else "the file is not a plain tensor/array file"
    return f"{type(exc).__name__}: {cause}"


def torch_load_safe(path: str | os.PathLike[str], what: str = "file") -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)`` with a clean error.

    Raises
    ------
    FileNotFoundError
        No such file.
    LoadError
        (a ``ValueError``) The file could not be read by the safe loader (a pickle that would run code,
        a corrupt or truncated file): the message names the file and the cause, and
        never advises disabling the safe loader.
    """
    import torch

    try:
        with warnings.catch_warnings():
            # torch warns about the pickle protocol of files it then refuses anyway
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch's own text advises weights_only=False; we never do
        cause = load_error_cause(exc)
        raise LoadError(
            f"{what} {os.fspath(path)!r} could not be read with torch.load(weights_only=True), "
            f"which runs no code from the file: {cause}",
            cause,
        ) from None


def npz_load_safe(path: str | os.PathLike[str], what: str = "file") -> dict[str, np.ndarray]:
    """Every array of a ``.npz`` file, read with ``allow_pickle=False``, with a clean error.

    Raises
    ------
    FileNotFoundError
        No such file.
    LoadError
        (a ``ValueError``) Not a ``.npz`` archive (another file, a single ``.npy``), not
        readable (corrupt or truncated zip), or an array of Python objects (which would
        need unpickling): the message names the file and the cause.
    """
    with open(path, "rb") as fh:  # FileNotFoundError as it is
        head = fh.read(6)
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        # np.load takes anything else for a pickle and says only that pickles are refused
        cause = (
            "it is a single .npy array, not a .npz archive (save with np.savez)"
            if head.startswith(b"\x93NUMPY")
            else "it is not a .npz archive (a .npz is a zip file written by np.savez)"
        )
        raise LoadError(f"{what} {os.fspath(path)!r} could not be read as .npz: {cause}", cause)
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except Exception as exc:
        cause = load_error_cause(exc)
        if "allow_pickle" in str(exc):
            cause = "it holds an array of Python objects (dtype=object), which is not read"
        raise LoadError(
            f"{what} {os.fspath(path)!r} could not be read as .npz: {cause}", cause
        ) from None
