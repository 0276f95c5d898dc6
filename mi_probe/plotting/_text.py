"""User text on figures: names shown literally, never parsed as mathtext.

Matplotlib reads text between two ``$`` as mathtext, so a layer or nuisance named ``$$``
or ``$\\frac{1}{$`` fails when the figure is drawn. Every name that comes from the
user's data (layers, nuisances, factors, codes, estimators) goes through
:func:`tex_safe` before it reaches a title, label, legend or tick label.
"""

from __future__ import annotations

from typing import Any

__all__ = ["tex_safe", "tex_safe_column"]


def tex_safe(text: Any) -> str:
    """``str(text)`` with every ``$`` escaped (``\\$``), so matplotlib shows it as typed."""
    return str(text).replace("$", r"\$")


def tex_safe_column(df: Any, column: str) -> Any:
    """A copy of ``df`` whose ``column`` holds :func:`tex_safe` strings (if present)."""
    if column not in df.columns:
        return df
    df = df.copy()
    df[column] = df[column].astype(str).map(tex_safe)
    return df
