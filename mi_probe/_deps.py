"""Optional dependencies: availability flags and a helpful ``require``."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

__all__ = ["has", "require"]

# import name -> pip extra (or package) that brings it
_EXTRAS = {
    "pykeops": "mi-probe[keops]",
    "ray": "mi-probe[distributed]",
    "pyarrow": "pyarrow",
    "matplotlib": "matplotlib",
    "seaborn": "seaborn",
    "pandas": "pandas",
    "lightning": "mi-probe[lightning]",
    "transformers": "mi-probe[transformers]",
    "tensorboard": "mi-probe[tensorboard]",
}


def has(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, purpose: str = "") -> ModuleType:
    """Import an optional module or raise ``ModuleNotFoundError`` naming the extra.

    Raises
    ------
    ModuleNotFoundError
        If the module is not installed; the message says what to ``pip install``.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get(module, module)
        why = f" for {purpose}" if purpose else ""
        raise ModuleNotFoundError(
            f"{module} is needed{why}; install it with: pip install '{extra}'",
            name=exc.name or module,  # what is missing, as Python's own error says
        ) from exc
