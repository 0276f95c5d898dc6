"""Probes: forward hooks on any ``torch.nn.Module`` that record layer activations.

>>> import torch, mi_probe
>>> net = torch.nn.Sequential(torch.nn.Linear(12, 10), torch.nn.Tanh(), torch.nn.Linear(10, 2))
>>> probe = mi_probe.attach(net, layers=["1", "2"])
>>> acts = probe.collect(torch.randn(64, 12), progress_bar=False)
>>> probe.remove()
>>> {k: tuple(v.shape) for k, v in acts.items()}
{'1': (64, 10), '2': (64, 2)}
"""

from ._probe import Probe, attach, model_device, resolve_layers

__all__ = ["Probe", "attach", "resolve_layers", "model_device"]
