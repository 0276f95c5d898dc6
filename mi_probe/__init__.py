"""mi_probe: measure information in deep networks.

Estimators (KSG, binning, KDE, Gaussian, neural bounds), probes on any PyTorch model,
information-plane recording, invariance and disentanglement, weight information, and
exact information-bottleneck solvers. All values are in nats.
"""

from __future__ import annotations

from ._lazy import lazy_getattr
from .estimators import MIEstimator, entropy, estimate_mi
from .result import MIResult

__version__ = "0.1.0"

# Public names that live in heavier submodules, imported on first access.
_LAZY = {
    "attach": "mi_probe.probes",
    "Probe": "mi_probe.probes",
    "InformationPlaneRecorder": "mi_probe.analysis.information_plane",
    "information_plane": "mi_probe.analysis.information_plane",
    "load_plane": "mi_probe.analysis.information_plane",
    "total_correlation": "mi_probe.analysis.total_correlation",
    "disentanglement_scores": "mi_probe.analysis.disentanglement",
    "invariance": "mi_probe.analysis.invariance",
    "report": "mi_probe.analysis.report",
    "fisher_diagonal": "mi_probe.weights.weight_information",
    "weight_information": "mi_probe.weights.weight_information",
    "WeightInformationRecorder": "mi_probe.weights.weight_information",
    "pac_bayes_bound": "mi_probe.weights.pac_bayes",
    "sweep": "mi_probe.analysis.sweep",
    "conditional_mi": "mi_probe.estimators.conditional",
    "kl_divergence": "mi_probe.estimators.divergence",
    "mutual_info_features": "mi_probe.estimators.features",
    "pairwise_mi": "mi_probe.estimators.features",
    "usable_information": "mi_probe.estimators.usable",
    "noisy_information": "mi_probe.estimators.noise_profile",
    "noise_profile": "mi_probe.estimators.noise_profile",
    "get_task": "mi_probe.tasks",
    "InformationDropout": "mi_probe.layers",
    "ib_curve": "mi_probe.ib",
    "rate_distortion": "mi_probe.ib",
    "joint_from_samples": "mi_probe.ib",
    "list_tasks": "mi_probe.tasks",
}
_RENAMES: dict[str, str] = {}

# The thread count of the package's own work (see mi_probe._threads).
for _name in ("set_num_threads", "get_num_threads", "num_threads"):
    _LAZY.setdefault(_name, "mi_probe._threads")

# Each estimator family's functional form and class (``ksg_mi``, ``KSGEstimator``).
_FAMILIES = {
    "mi_probe.estimators.ksg": ("ksg_mi", "KSGEstimator"),
    "mi_probe.estimators.mixed": ("mixed_mi", "MixedEstimator"),
    "mi_probe.estimators.binning": ("binning_mi", "BinningEstimator"),
    "mi_probe.estimators.discrete": ("discrete_mi", "DiscreteEstimator"),
    "mi_probe.estimators.kde": ("kde_mi", "KDEEstimator"),
    "mi_probe.estimators.gaussian": ("gaussian_mi", "GaussianEstimator"),
    "mi_probe.estimators.auto": ("auto_mi", "AutoEstimator"),
}
for _module, _names in _FAMILIES.items():
    for _name in _names:
        _LAZY.setdefault(_name, _module)
del _module, _names, _name

__all__ = ["MIResult", "MIEstimator", "estimate_mi", "entropy", "__version__", *_LAZY]

# Names of _LAZY, and every submodule (``mi_probe.plotting``, ``mi_probe.layers``), are
# imported on first access, so ``import mi_probe`` stays cheap.
__getattr__, __dir__ = lazy_getattr(__name__, globals(), _LAZY, _RENAMES)
