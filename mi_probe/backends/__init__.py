"""Pairwise primitives (k-NN radii, counts within a radius, Gaussian log-sum-exp).

``pick(backend, points)`` chooses an implementation:

========  ===========================================================
numpy     dense all-pairs in numpy blocks; exact; small n
native    our kd-tree in C, compiled on first use; the CPU default when it builds
kdtree    scipy cKDTree / scikit-learn KDTree on all cores; the CPU default
          for <= 20 dims when the native one is not available
torch     chunked ``torch.cdist``; CPU or CUDA; memory ``chunk * n``
keops     pykeops lazy tensors; CUDA default when its health check passes
========  ===========================================================

Every backend gives the same numbers (tested for parity).
"""

from __future__ import annotations

import warnings
from typing import Any

from .._validation import check_choice, is_tensor
from ._base import METRICS, Backend, nudge
from ._kdtree import KDTreeBackend
from ._native import NativeBackend, native_available, native_status
from ._numpy import NumpyBackend

__all__ = [
    "BACKENDS",
    "METRICS",
    "Backend",
    "nudge",
    "pick",
    "keops_available",
    "native_available",
    "native_status",
]

BACKENDS = ("auto", "numpy", "native", "kdtree", "torch", "keops")

# Above this many dimensions a kd-tree is no faster than brute force.
_KDTREE_MAX_DIM = 20


def keops_available() -> bool:
    """Whether pykeops is installed and passed its (cached, subprocess) health check."""
    try:
        from ._keops import keops_healthy
    except ImportError:
        return False
    return keops_healthy()


def _is_cuda(points: Any) -> bool:
    return is_tensor(points) and points.is_cuda


def pick(backend: str | Backend, points: Any = None, *, device: Any = None) -> Backend:
    """Return a backend instance for ``points``.

    Parameters
    ----------
    backend : {"auto", "numpy", "native", "kdtree", "torch", "keops"} or Backend
        ``"auto"``: KeOps for CUDA tensors when healthy, else chunked torch for CUDA
        tensors; on the CPU the compiled kd-tree when :func:`native_available`, else
        chunked torch for more than 20 dimensions and the scipy kd-tree below.
    points : array or tensor, optional
        The data (used by ``"auto"`` for its type, device and dimension).
    device : str or torch.device, optional
        Device for the torch and KeOps backends.

    Raises
    ------
    ValueError
        Unknown backend name.
    """
    if not isinstance(backend, str):
        return backend
    check_choice(backend, "backend", BACKENDS)
    if backend == "auto":
        on_cuda = _is_cuda(points) or (device is not None and str(device).startswith("cuda"))
        if on_cuda:
            if keops_available():
                backend = "keops"
            else:
                backend = "torch"
        elif native_available():
            backend = "native"
        elif (
            points is not None
            and getattr(points, "ndim", 2) == 2
            and points.shape[1] > _KDTREE_MAX_DIM
        ):
            backend = "torch"
        else:
            backend = "kdtree"
    if backend == "numpy":
        return NumpyBackend()
    if backend == "kdtree":
        return KDTreeBackend()
    if backend == "native":
        if not native_available():
            raise ValueError(
                f"backend='native' is not available here: {native_status()}; "
                "use backend='kdtree' or 'auto'"
            )
        return NativeBackend()
    if backend == "torch":
        from ._torch import TorchBackend

        return TorchBackend(device=device)
    # keops: import _keops first, it fixes the compiler choice before pykeops loads
    from .._deps import require
    from ._keops import KeOpsBackend, keops_healthy

    require("pykeops", "backend='keops'")

    if not keops_healthy():
        warnings.warn(
            "pykeops failed its health check; using the torch backend instead "
            "(see mi_probe.backends.keops_available)",
            RuntimeWarning,
            stacklevel=2,
        )
        from ._torch import TorchBackend

        return TorchBackend(device=device)
    return KeOpsBackend(device=device)


# Submodules not imported above (``mi_probe.backends.<name>``) are imported on first access.
from .._lazy import lazy_getattr  # noqa: E402

__getattr__, __dir__ = lazy_getattr(__name__, globals())
