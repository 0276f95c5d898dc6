"""Ground-truth tasks: samplers of ``(x, y)`` with an exactly known mutual information.

Ids and distributions follow benchmark-mi (Czyz et al., "Beyond normality: learning and
evaluating mutual information estimators", NeurIPS 2023) where the task is the same;
values agree with its ``mutual_information()`` to 1e-6 (tested against a recorded
fixture). All values are in nats.

>>> from mi_probe.tasks import get_task, list_tasks
>>> task = get_task("multinormal-dense-5-5-0.5")
>>> x, y = task.sample(2000, seed=0)        # shapes (2000, 5), (2000, 5)
>>> truth = task.mutual_information()       # nats
"""

from __future__ import annotations

from ._base import Task
from ._registry import FAMILIES, get_task, list_tasks
from .discrete import discrete_bsc, mixed_gaussian, mixed_uniform
from .gaussian import bivariate_normal, gaussian_mi, multinormal_dense, multinormal_sparse
from .noise import additive_noise
from .student import student_dense, student_identity, student_sparse
from .transforms import TRANSFORMS, bimodal_gaussians, transform_task

__all__ = [
    "Task",
    "get_task",
    "list_tasks",
    "FAMILIES",
    "TRANSFORMS",
    "transform_task",
    "gaussian_mi",
    "bivariate_normal",
    "multinormal_dense",
    "multinormal_sparse",
    "additive_noise",
    "bimodal_gaussians",
    "student_identity",
    "student_dense",
    "student_sparse",
    "mixed_uniform",
    "mixed_gaussian",
    "discrete_bsc",
]

# Submodules not imported above (``mi_probe.tasks.<name>``) are imported on first access.
from .._lazy import lazy_getattr  # noqa: E402

__getattr__, __dir__ = lazy_getattr(__name__, globals())
