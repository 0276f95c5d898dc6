"""Mutual information and entropy estimators, one module per family.

Use :func:`mi_probe.estimate_mi` / :func:`mi_probe.entropy` with a registry name, or
import a family's functional form (``ksg_mi``) or class (``KSGEstimator``) directly.
"""

from ._base import MIEstimator
from ._registry import ENTROPY_ESTIMATORS, MI_ESTIMATORS, get_estimator
from .api import entropy, estimate_mi

__all__ = [
    "MIEstimator",
    "MI_ESTIMATORS",
    "ENTROPY_ESTIMATORS",
    "get_estimator",
    "estimate_mi",
    "entropy",
]

# Submodules not imported above (``mi_probe.estimators.<name>``) are imported on first access.
from .._lazy import lazy_getattr  # noqa: E402

__getattr__, __dir__ = lazy_getattr(__name__, globals())
