"""Figures (matplotlib/seaborn only here): information planes, per-layer small multiples,
MI over epochs. Every function takes a tidy DataFrame and returns Axes.

Importing this package imports matplotlib; nothing in :mod:`mi_probe.analysis` does.
"""

from .critical_periods import plot_critical_periods
from .disentanglement import plot_disentanglement_scores, plot_mi_heatmap, plot_tradeoff
from .information_plane import (
    MARKERS,
    plot_depth_profile,
    plot_information_plane,
    plot_layer_grid,
    plot_mi_over_epochs,
    plot_noise_profile,
    save_figure,
)
from .invariance import plot_invariance, plot_layer_information
from .weight_information import plot_weight_information

__all__ = [
    "plot_information_plane",
    "plot_layer_grid",
    "plot_mi_over_epochs",
    "plot_depth_profile",
    "plot_noise_profile",
    "save_figure",
    "plot_weight_information",
    "plot_critical_periods",
    "plot_invariance",
    "plot_layer_information",
    "plot_disentanglement_scores",
    "plot_mi_heatmap",
    "plot_tradeoff",
    "MARKERS",
]

# Submodules not imported above (``mi_probe.plotting.<name>``) are imported on first access.
from .._lazy import lazy_getattr  # noqa: E402

__getattr__, __dir__ = lazy_getattr(__name__, globals())
