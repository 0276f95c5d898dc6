"""The estimator protocol: keyword-only ``__init__`` that stores, ``estimate`` that checks."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from ..result import MIResult

__all__ = ["MIEstimator", "from_function"]


class MIEstimator:
    """Base class: ``estimate(x, y) -> MIResult`` in nats.

    Subclasses take keyword-only parameters in ``__init__``, store them unchanged
    under the same names, and check them only when :meth:`estimate` runs (the
    scikit-learn convention), by passing them to the family's functional twin.
    """

    name: ClassVar[str] = ""
    _function: ClassVar[Callable[..., MIResult] | None] = None

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters and their current values."""
        sig = inspect.signature(type(self).__init__)
        return {
            p.name: getattr(self, p.name)
            for p in sig.parameters.values()
            if p.kind is p.KEYWORD_ONLY
        }

    def estimate(self, x: Any, y: Any) -> MIResult:
        """Estimate I(x; y) in nats."""
        fn = type(self)._function
        if fn is None:  # pragma: no cover - subclasses set it or override
            raise NotImplementedError
        return fn(x, y, **self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def from_function(
    fn: Callable[..., MIResult], name: str, doc: str | None = None, cls_name: str | None = None
) -> type:
    """Build an estimator class whose parameters are ``fn``'s keyword-only arguments.

    The class's ``__init__`` has exactly the keyword-only signature of ``fn`` (so
    ``get_params`` and ``repr`` work) and stores the values unchecked.
    """
    sig = inspect.signature(fn)
    kw = [p for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def __init__(self: MIEstimator, **kwargs: Any) -> None:
        bound = init_sig.bind(self, **kwargs)
        bound.apply_defaults()
        for key, value in list(bound.arguments.items())[1:]:
            setattr(self, key, value)

    init_sig = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)] + kw
    )
    __init__.__signature__ = init_sig  # type: ignore[attr-defined]
    cls_name = cls_name or "".join(p.capitalize() for p in name.split("_")) + "Estimator"
    cls = type(
        cls_name,
        (MIEstimator,),
        {
            "__init__": __init__,
            "name": name,
            "__module__": fn.__module__,
            "__qualname__": cls_name,
            "_function": staticmethod(fn),
            "__doc__": doc or f"Estimator class for :func:`{fn.__name__}` (same parameters).",
        },
    )
    return cls
