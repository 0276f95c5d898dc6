"""mi_probe: measure information in deep networks.

Estimators (KSG, binning, KDE, Gaussian, neural bounds), probes on any PyTorch model,
information-plane recording, invariance and disentanglement, weight information, and
exact information-bottleneck solvers. All values are in nats.
"""

from __future__ import annotations

import importlib
from typing import Any

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
    "conditional_mi": "mi_probe.estimators.ksg",
    "get_task": "mi_probe.tasks",
    "InformationDropout": "mi_probe.layers",
    "ib_curve": "mi_probe.ib",
    "rate_distortion": "mi_probe.ib",
    "joint_from_samples": "mi_probe.ib",
    "list_tasks": "mi_probe.tasks",
}
_RENAMES = {"conditional_mi": "ksg_cmi"}

__all__ = ["MIResult", "MIEstimator", "estimate_mi", "entropy", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = getattr(module, _RENAMES.get(name, name))
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mi_probe' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
