"""How many threads mi_probe's own work uses, and the setting that changes it.

Two kinds of work, two defaults (measured in ``benchmarks/threads.py``; results in
``benchmarks/README.md``, *Threads*):

* **Small-tensor torch work** (training a neural estimator's critic, the variational
  weight posterior, the demo's 12-bit network): torch's per-operation thread pool costs
  more than it gains on tensors this small, and on a machine that other jobs also use
  its threads wait for each other at every operation. The package runs this work with
  **one** torch thread, inside a scope that puts the caller's ``torch.get_num_threads()``
  back afterwards (so the user's own training is not affected).
* **The compiled kd-tree and scipy's trees** (k-NN estimators at large ``n``): independent
  queries with no barriers between them, so they use every CPU this process may run on.

``MI_PROBE_NUM_THREADS=N`` (or :func:`set_num_threads`, or the CLI's ``--threads N``)
sets both to ``N``; ``0`` (or ``all``) leaves torch's own setting in place and lets the
trees use every CPU. A backend's explicit ``workers=`` argument still wins.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = [
    "ENV_VAR",
    "TORCH_DEFAULT",
    "get_num_threads",
    "set_num_threads",
    "num_threads",
    "torch_threads",
    "native_workers",
    "small_torch_work",
]

ENV_VAR = "MI_PROBE_NUM_THREADS"
#: torch threads for the package's small-tensor work when nothing is set
TORCH_DEFAULT = 1

_override: int | None = None
_warned: set[str] = set()

F = TypeVar("F", bound=Callable[..., Any])


def _check(n: Any, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{name} must be a non-negative integer (0: no limit), got {n!r}")
    return int(n)


def _from_env() -> int | None:
    raw = os.environ.get(ENV_VAR, "").strip().lower()
    if not raw:
        return None
    if raw in ("all", "auto"):
        return 0
    try:
        n = int(raw)
        if n < 0:
            raise ValueError
    except ValueError:
        if raw not in _warned:
            _warned.add(raw)
            warnings.warn(
                f"{ENV_VAR}={raw!r} is not a non-negative integer; using the defaults",
                RuntimeWarning,
                stacklevel=3,
            )
        return None
    return n


def get_num_threads() -> int | None:
    """The thread setting in force: :func:`set_num_threads`, else ``MI_PROBE_NUM_THREADS``.

    Returns
    -------
    int or None
        ``None``: nothing set (one torch thread for small-tensor work, every CPU for the
        trees); ``0``: no limit; ``N >= 1``: ``N`` threads for both.
    """
    return _override if _override is not None else _from_env()


def set_num_threads(n: int | None) -> None:
    """Set the thread count of mi_probe's own work for this process.

    Parameters
    ----------
    n : int or None
        ``N >= 1``: torch work and the trees use ``N`` threads; ``0``: no limit (torch's
        own setting, every CPU for the trees); ``None``: back to ``MI_PROBE_NUM_THREADS``
        or the defaults.

    Raises
    ------
    ValueError
        ``n`` is not a non-negative integer or None.
    """
    global _override
    _override = None if n is None else _check(n, "n")


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """:func:`set_num_threads` for the body of a ``with`` block only (process-wide).

    Raises
    ------
    ValueError
        ``n`` is not a non-negative integer or None.
    """
    global _override
    before = _override
    set_num_threads(n)
    try:
        yield
    finally:
        _override = before


def _torch_count() -> int:
    """Torch threads for small-tensor work: the setting, else :data:`TORCH_DEFAULT`."""
    n = get_num_threads()
    return TORCH_DEFAULT if n is None else n


@contextlib.contextmanager
def torch_threads(n: int | None = None) -> Iterator[None]:
    """Run the body with ``n`` torch intra-op threads (default: the package setting),
    then restore the caller's ``torch.get_num_threads()``.

    ``n = 0`` (no limit) leaves torch's setting alone.
    """
    count = _torch_count() if n is None else _check(n, "n")
    if count == 0:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before == count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def small_torch_work(fn: F) -> F:
    """Decorator: run ``fn`` inside :func:`torch_threads` (the package setting)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with torch_threads():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def native_workers(workers: int | None = None) -> int:
    """Threads for a tree query: ``workers`` when >= 1, else the setting, else every CPU
    this process may run on."""
    if workers is not None and workers >= 1:
        return int(workers)
    n = get_num_threads()
    if n:
        return n
    return _available_cpus()
