"""Exact information bottleneck solvers for discrete joint distributions.

- :func:`ib_curve`: the IB curve (Tishby, Pereira & Bialek 1999), the deterministic IB
  (Strouse & Schwab 2017, ``alpha=0``) and the generalised alpha-IB, with annealing in
  beta in both directions; returns a DataFrame with ``beta, I_XT, I_TY, H_T,
  n_clusters_used`` (nats) and, on request, the encoders q(t|x).
- :func:`rate_distortion`: the Blahut-Arimoto rate-distortion curve.
- :func:`joint_from_samples`: the joint pmf of paired discrete samples.
- :func:`upper_envelope`: the concave upper envelope of a traced curve.
"""

from __future__ import annotations

from ._pmf import entropy_pmf, joint_from_samples, mutual_information_pmf
from .curve import COLUMNS, default_betas, ib_curve, upper_envelope
from .rate_distortion import rate_distortion

__all__ = [
    "ib_curve",
    "rate_distortion",
    "joint_from_samples",
    "upper_envelope",
    "default_betas",
    "entropy_pmf",
    "mutual_information_pmf",
    "COLUMNS",
]

# Submodules not imported above (``mi_probe.ib.<name>``) are imported on first access.
from .._lazy import lazy_getattr  # noqa: E402

__getattr__, __dir__ = lazy_getattr(__name__, globals())
