"""Lazy attributes for packages: names and submodules imported on first access.

``import mi_probe`` stays cheap (numpy only, no torch, pandas or matplotlib), yet every
dotted name the documentation uses resolves after it: ``mi_probe.KSGEstimator`` (a name
that lives in a submodule) and ``mi_probe.estimators.reliability.flags_for`` (a
submodule that is not imported yet) are both found by a module-level ``__getattr__``
(PEP 562), which imports what is needed once and caches it in the package's namespace.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(
    package: str,
    namespace: dict[str, Any],
    lazy: Mapping[str, str] | None = None,
    renames: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package with lazily imported names.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    namespace : dict
        The package's ``globals()``; resolved values are stored there, so each name is
        looked up once.
    lazy : mapping of str to str, optional
        Public name -> module that defines it (read at each access, so entries added to
        the mapping later are honoured).
    renames : mapping of str to str, optional
        Public name -> the name it has in its module, where they differ.

    Returns
    -------
    (__getattr__, __dir__)
        To assign at module level. ``__getattr__`` resolves a name of ``lazy`` first,
        then a submodule of the package (``package.name``); anything else raises
        ``AttributeError`` as Python would.
    """
    lazy_map: Mapping[str, str] = lazy if lazy is not None else {}
    rename_map: Mapping[str, str] = renames if renames is not None else {}

    def __getattr__(name: str) -> Any:
        if name in lazy_map:
            module = importlib.import_module(lazy_map[name])
            value = getattr(module, rename_map.get(name, name))
            namespace[name] = value
            return value
        if not name.startswith("__"):
            full = f"{package}.{name}"
            try:
                spec = importlib.util.find_spec(full)
            except (ImportError, ValueError):
                spec = None
            if spec is not None:
                module = importlib.import_module(full)
                namespace[name] = module
                return module
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        path = namespace.get("__path__") or []
        subs = {m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_")}
        return sorted(set(namespace) | set(lazy_map) | subs)

    return __getattr__, __dir__
