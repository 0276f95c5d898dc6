"""An information-plane table to TensorBoard, with ``torch.utils.tensorboard`` only.

:meth:`mi_probe.InformationPlaneRecorder.to_tensorboard` calls
:func:`plane_to_tensorboard`; it works in any training loop, without Lightning.
Needs the ``tensorboard`` package (``pip install 'mi-probe[tensorboard]'``), which
``torch.utils.tensorboard`` writes its event files with; the figure needs matplotlib.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from .._deps import require
from ._common import plane_scalars

__all__ = ["plane_to_tensorboard"]

_REQUIRED = ("epoch", "layer", "estimator", "I_XT", "I_TY")


def _step(epoch: Any) -> int:
    value = float(epoch)
    if not math.isfinite(value) or value != int(value):
        raise ValueError(
            f"epoch must be a whole number to be a TensorBoard step, got {epoch!r}; "
            "record with integer epochs (or steps)"
        )
    return int(value)


def plane_to_tensorboard(
    df: Any,
    writer: Any,
    *,
    epochs: float | Iterable[float] | None = None,
    figure: bool = True,
    unit: str = "bits",
) -> None:
    """Write information-plane rows to a TensorBoard ``SummaryWriter``.

    Parameters
    ----------
    df : pandas.DataFrame
        A recorder's table (``epoch, layer, estimator, I_XT, I_TY``, nats).
    writer : torch.utils.tensorboard.SummaryWriter
        Where to write (any object with ``add_scalar`` and ``add_figure``).
    epochs : number or iterable of numbers, optional
        Which epochs' scalars to write (default: every epoch in ``df``); pass the epoch
        just recorded when calling this once per epoch, so no point is written twice.
    figure : bool, default True
        Also add the information plane of all rows up to the last written epoch as an
        image (one per estimator), at that epoch's step.
    unit : {"bits", "nats"}, default "bits"
        Unit of the figure's axes; the scalars are always in nats.

    Notes
    -----
    Scalars: ``info/I_XT/<layer>`` and ``info/I_TY/<layer>`` in nats at step ``epoch``,
    with ``/<estimator>`` appended when ``df`` holds more than one estimator (the same
    names as the Lightning callback). Images: ``info/plane`` (``info/plane/<estimator>``
    with several estimators).

    Raises
    ------
    ValueError
        ``df`` lacks the information-plane columns, an epoch is not a whole number,
        or ``epochs`` names an epoch with no rows.
    ModuleNotFoundError
        ``tensorboard`` (or, for the figure, matplotlib) is not installed.
    """
    missing = [c for c in _REQUIRED if c not in getattr(df, "columns", ())]
    if missing:
        raise ValueError(f"df is not an information-plane table; missing columns {missing}")
    require("tensorboard", "writing TensorBoard event files")
    if df.empty:
        return
    several = df["estimator"].nunique() > 1
    if epochs is None:
        chosen = sorted(df["epoch"].unique())
    else:
        chosen = [epochs] if isinstance(epochs, numbers.Real) else sorted(epochs)  # type: ignore[arg-type]
        absent = [e for e in chosen if not (df["epoch"] == e).any()]
        if absent:
            raise ValueError(f"epochs {absent} have no rows in df")
    for epoch in chosen:
        rows = df[df["epoch"] == epoch]
        step = _step(epoch)
        # one estimator in these rows but several in df: keep the suffix consistent
        for tag, value in plane_scalars(rows, suffix=several).items():
            writer.add_scalar(tag, value, global_step=step)
    if not figure:
        return
    from ..plotting import plot_information_plane

    last = max(chosen)
    upto = df[df["epoch"] <= last]
    step = _step(last)
    for est in upto["estimator"].unique():
        ax = plot_information_plane(upto, estimator=est, unit=unit)
        tag = f"info/plane/{est}" if several else "info/plane"
        writer.add_figure(tag, ax.figure, global_step=step, close=True)
    writer.flush()
