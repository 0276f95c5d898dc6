"""What the training-loop callbacks share: leaving the training state as it was, scalar
names for the loggers, and where the tables go."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_int

__all__ = ["training_state_kept", "plane_scalars", "weight_scalars", "check_every", "due"]


@contextlib.contextmanager
def training_state_kept(model: Any) -> Iterator[None]:
    """Run the body and put back what a measurement could change in a training run.

    Restored afterwards, also when the body raises: the ``training`` flag of every
    submodule, whether autograd is enabled, the torch CPU and CUDA random number
    generators, numpy's global generator and Python's ``random``. Weights, gradients and
    optimiser state are never written by the recorders (their own tests check it), so
    they are not copied here.
    """
    import torch

    modes = [(m, m.training) for m in model.modules()]
    grad_enabled = torch.is_grad_enabled()
    cpu_rng = torch.get_rng_state()
    cuda_rng = (
        torch.cuda.get_rng_state_all()
        if torch.cuda.is_available() and torch.cuda.is_initialized()
        else None
    )
    np_rng = np.random.get_state()  # noqa: NPY002 (the user's global generator)
    py_rng = random.getstate()
    try:
        yield
    finally:
        for m, flag in modes:
            m.training = flag
        torch.set_grad_enabled(grad_enabled)
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
        np.random.set_state(np_rng)  # noqa: NPY002
        random.setstate(py_rng)


def plane_scalars(rows: Any, suffix: bool | None = None) -> dict[str, float]:
    """Scalar names and values (nats) for the rows of one information-plane recording.

    ``info/I_XT/<layer>`` and ``info/I_TY/<layer>``; with more than one estimator the
    estimator's name is appended (``info/I_XT/<layer>/<estimator>``). ``suffix``
    forces the estimator suffix on or off (default: when ``rows`` hold several).
    """
    several = rows["estimator"].nunique() > 1 if suffix is None else suffix
    out: dict[str, float] = {}
    for r in rows.itertuples(index=False):
        tail = f"/{r.estimator}" if several else ""
        out[f"info/I_XT/{r.layer}{tail}"] = float(r.I_XT)
        out[f"info/I_TY/{r.layer}{tail}"] = float(r.I_TY)
    return out


def weight_scalars(rows: Any) -> dict[str, float]:
    """``weights/information/<layer>`` (nats) and ``weights/fisher_trace/<layer>``."""
    out: dict[str, float] = {}
    for r in rows.itertuples(index=False):
        out[f"weights/information/{r.layer}"] = float(r.information)
        out[f"weights/fisher_trace/{r.layer}"] = float(r.fisher_trace)
    return out


def check_every(every_n_epochs: Any) -> int:
    """``every_n_epochs`` as a positive int, or ``ValueError`` naming it."""
    return check_int(every_n_epochs, "every_n_epochs", low=1)


def due(epoch: int, every_n_epochs: int) -> bool:
    """Whether the 0-based ``epoch`` that just finished is one to record."""
    return (epoch + 1) % every_n_epochs == 0


def metric_value(metrics: Mapping[str, Any], key: str | None) -> float | None:
    """A logged scalar as a float, or None when it was not logged."""
    if key is None or key not in metrics:
        return None
    value = metrics[key]
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        return None


def write_table(df: Any, directory: str | Path, filename: str) -> Path:
    """Write ``df`` as CSV (or Parquet for a ``.parquet`` name) into ``directory``."""
    from ..analysis.information_plane import save_plane

    path = Path(directory) / filename
    save_plane(df, path)
    return path
