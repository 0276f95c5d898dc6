"""Estimator names -> where they live. Modules load on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .._validation import check_choice
from ..result import MIResult
from ._base import MIEstimator

__all__ = ["MI_ESTIMATORS", "ENTROPY_ESTIMATORS", "get_estimator", "get_entropy_function"]

# name -> "module:attribute" of an MIEstimator subclass
MI_ESTIMATORS: dict[str, str] = {
    "auto": "mi_probe.estimators.auto:AutoEstimator",
    "ksg": "mi_probe.estimators.ksg:KSGEstimator",
    "mixed": "mi_probe.estimators.mixed:MixedEstimator",
    "binning": "mi_probe.estimators.binning:BinningEstimator",
    "discrete": "mi_probe.estimators.discrete:DiscreteEstimator",
    "kde": "mi_probe.estimators.kde:KDEEstimator",
    "gaussian": "mi_probe.estimators.gaussian:GaussianEstimator",
    "usable": "mi_probe.estimators.usable:UsableEstimator",
    # neural and variational bounds
    "mine": "mi_probe.estimators.neural:MINEEstimator",
    "nwj": "mi_probe.estimators.neural:NWJEstimator",
    "infonce": "mi_probe.estimators.neural:InfoNCEEstimator",
    "smile": "mi_probe.estimators.neural:SMILEEstimator",
    "js": "mi_probe.estimators.neural:JSEstimator",
    "ba": "mi_probe.estimators.neural:BarberAgakovEstimator",
    "club": "mi_probe.estimators.neural:CLUBEstimator",
}

# name -> "module:function" taking (x, **params) and returning an MIResult (entropy, nats)
ENTROPY_ESTIMATORS: dict[str, str] = {
    "kl": "mi_probe.estimators.ksg:kl_entropy",
    "ksg": "mi_probe.estimators.ksg:kl_entropy",
    "binning": "mi_probe.estimators.binning:binning_entropy",
    "discrete": "mi_probe.estimators.discrete:discrete_entropy",
    "kde": "mi_probe.estimators.kde:kde_entropy",
    "gaussian": "mi_probe.estimators.gaussian:gaussian_entropy",
}


def _load(path: str) -> Any:
    module, attr = path.split(":")
    return getattr(importlib.import_module(module), attr)


def get_estimator(estimator: str | MIEstimator, **params: Any) -> MIEstimator:
    """An estimator instance from a registry name (with parameters) or an instance.

    Raises
    ------
    ValueError
        Unknown name, parameters given with an instance, or a parameter the
        estimator does not take.
    """
    if isinstance(estimator, MIEstimator):
        if params:
            raise ValueError(
                "estimator parameters were given with an estimator instance; "
                f"set them on the instance instead: {sorted(params)}"
            )
        return estimator
    if not isinstance(estimator, str):
        raise ValueError(
            f"estimator must be a name or an MIEstimator instance, got {type(estimator).__name__}"
        )
    check_choice(estimator, "estimator", sorted(MI_ESTIMATORS))
    cls: type[MIEstimator] = _load(MI_ESTIMATORS[estimator])
    _check_params(cls, estimator, params)
    return cls(**params)


def _check_params(cls: Any, name: str, params: dict[str, Any]) -> None:
    import inspect

    valid = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is p.KEYWORD_ONLY
    ]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"estimator {name!r} takes no parameter {', '.join(unknown)}; "
            f"valid parameters: {', '.join(valid)}"
        )


def get_entropy_function(estimator: str) -> Callable[..., MIResult]:
    """The entropy function registered under ``estimator``."""
    check_choice(estimator, "estimator", sorted(ENTROPY_ESTIMATORS))
    fn: Callable[..., MIResult] = _load(ENTROPY_ESTIMATORS[estimator])
    return fn
