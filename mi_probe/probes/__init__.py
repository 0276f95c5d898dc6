"""Probes: forward hooks on any ``torch.nn.Module`` that record layer activations.

Each probe can reduce its layer batch by batch (pooling over positions, a seeded
random projection, PCA), so that collecting ``n`` rows holds ``n x k`` numbers per
layer, and can record a module's input instead of its output (``"name:input"``).

>>> import torch, mi_probe
>>> net = torch.nn.Sequential(torch.nn.Linear(12, 10), torch.nn.Tanh(), torch.nn.Linear(10, 2))
>>> probe = mi_probe.attach(net, layers=["1", "2"])
>>> acts = probe.collect(torch.randn(64, 12), progress_bar=False)
>>> probe.remove()
>>> {k: tuple(v.shape) for k, v in acts.items()}
{'1': (64, 10), '2': (64, 2)}
"""

from ._probe import INPUT_SUFFIX, Probe, attach, model_device, resolve_layers
from ._reduce import ProbeOptions, describe_reduction, randomized_svd

__all__ = [
    "Probe",
    "ProbeOptions",
    "attach",
    "resolve_layers",
    "model_device",
    "describe_reduction",
    "randomized_svd",
    "INPUT_SUFFIX",
]

# Submodules not imported above (``mi_probe.probes.<name>``) are imported on first access.
from .._lazy import lazy_getattr  # noqa: E402

__getattr__, __dir__ = lazy_getattr(__name__, globals())
