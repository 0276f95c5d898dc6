"""Information in the weights: the Fisher diagonal and K-FAC factors, the information in
the weights of a Gaussian posterior (Achille et al. 2019), a fitted variational
posterior, PAC-Bayes bounds, and a recorder for training loops.

Representation information (what a layer's activations carry) lives in
:mod:`mi_probe.analysis`; nothing here imports plotting.
"""

# Submodules not imported above (``mi_probe.weights.<name>``) are imported on first access.
from .._lazy import lazy_getattr  # noqa: E402

__getattr__, __dir__ = lazy_getattr(__name__, globals())
