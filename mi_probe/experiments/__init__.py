"""Reproducible experiments built on the analysis tools (no plotting imported here).

``critical_periods``  blur deficit removed at different epochs on scikit-learn's digits:
                      final test accuracy vs removal epoch, Fisher trace per epoch
"""

from .critical_periods import CriticalPeriodsResult, critical_periods

__all__ = ["critical_periods", "CriticalPeriodsResult"]

# Submodules not imported above (``mi_probe.experiments.<name>``) are imported on first access.
from .._lazy import lazy_getattr  # noqa: E402

__getattr__, __dir__ = lazy_getattr(__name__, globals())
