"""Information in representations, built on the estimators and probes: information-plane
recording (:mod:`mi_probe.analysis.information_plane`), invariance to nuisances, total
correlation, disentanglement, checkpoint sweeps, and the report that assembles them.
Information in the weights is :mod:`mi_probe.weights`. Submodules are imported on use;
only the report's figure step reaches :mod:`mi_probe.plotting`.
"""

# Submodules not imported above (``mi_probe.analysis.<name>``) are imported on first access.
from .._lazy import lazy_getattr  # noqa: E402

__getattr__, __dir__ = lazy_getattr(__name__, globals())
