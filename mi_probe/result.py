"""The result object every estimator returns."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

__all__ = ["MIResult"]

_LN2 = math.log(2.0)


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class MIResult:
    """An information estimate, in nats.

    Parameters
    ----------
    value : float
        The estimate in nats. Estimators of non-negative quantities may clip it at 0;
        the unclipped number is then kept in ``diagnostics["raw_value"]``.
    estimator : str
        Registry name of the estimator that produced it (``"ksg"``, ``"binning"``, ...).
    n_samples : int
        Number of samples the estimate used.
    params : Mapping[str, Any]
        The estimator's parameters as used (after defaults were filled in).
    backend : str or None
        Compute backend (``"native"``, ``"kdtree"``, ``"numpy"``, ``"torch"``, ``"keops"``), if any.
    diagnostics : Mapping[str, Any]
        Anything else worth seeing: raw value, bounds, ceilings, flags, training curves.
    interval : tuple of float or None
        A confidence interval (low, high) in nats, when one was computed.
    null : float or None
        The level that independent data would give (permutation test), when computed.

    Examples
    --------
    >>> r = MIResult(0.6931471805599453, "discrete", 100)
    >>> float(r), r.to_bits()
    (0.6931471805599453, 1.0)
    """

    value: float
    estimator: str
    n_samples: int
    params: Mapping[str, Any] = field(default_factory=dict)
    backend: str | None = None
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    interval: tuple[float, float] | None = None
    null: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "n_samples", int(self.n_samples))
        object.__setattr__(self, "params", _freeze(self.params))
        object.__setattr__(self, "diagnostics", _freeze(self.diagnostics))
        if self.interval is not None:
            lo, hi = self.interval
            object.__setattr__(self, "interval", (float(lo), float(hi)))

    def __float__(self) -> float:
        return self.value

    @property
    def unit(self) -> str:
        """Always ``"nats"``; use :meth:`to_bits` for bits."""
        return "nats"

    def to_bits(self) -> float:
        """The value in bits (nats / ln 2)."""
        return self.value / _LN2

    def with_updates(self, **changes: Any) -> MIResult:
        """A copy with some fields replaced; ``diagnostics`` entries are merged."""
        if "diagnostics" in changes:
            merged = dict(self.diagnostics)
            merged.update(changes["diagnostics"])
            changes["diagnostics"] = merged
        return replace(self, **changes)

    def __repr__(self) -> str:
        extra = f", backend={self.backend!r}" if self.backend else ""
        if self.interval is not None:
            extra += f", interval=({self.interval[0]:.4g}, {self.interval[1]:.4g})"
        return (
            f"MIResult({self.value:.6g} nats, estimator={self.estimator!r}, "
            f"n_samples={self.n_samples}{extra})"
        )
