"""Figures (matplotlib/seaborn only here): information planes, per-layer small multiples,
MI over epochs. Every function takes a tidy DataFrame and returns Axes.

Importing this package imports matplotlib; nothing in :mod:`mi_probe.analysis` does.
"""

from .information_plane import (
    MARKERS,
    plot_information_plane,
    plot_layer_grid,
    plot_mi_over_epochs,
    save_figure,
)
from .weight_information import plot_weight_information

__all__ = [
    "plot_information_plane",
    "plot_layer_grid",
    "plot_mi_over_epochs",
    "save_figure",
    "plot_weight_information",
    "MARKERS",
]
