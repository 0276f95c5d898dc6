"""Task ids -> tasks. Ids follow benchmark-mi's where the distribution is the same."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable

from ._base import Task
from .discrete import discrete_bsc, mixed_gaussian, mixed_uniform
from .gaussian import bivariate_normal, multinormal_dense, multinormal_sparse
from .noise import additive_noise
from .student import student_dense, student_identity, student_sparse
from .transforms import TRANSFORMS, bimodal_gaussians

__all__ = ["get_task", "list_tasks", "FAMILIES"]

_INT = r"(\d+)"
_FLOAT = r"(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"

# family prefix -> (id pattern after the prefix, human form, constructor taking strings)
_Family = tuple[str, str, Callable[..., Task]]
FAMILIES: dict[str, _Family] = {
    "1v1-normal": (_FLOAT, "1v1-normal-{correlation}", lambda r: bivariate_normal(float(r))),
    "1v1-additive": (_FLOAT, "1v1-additive-{epsilon}", lambda e: additive_noise(float(e))),
    "1v1-bimodal": (_FLOAT, "1v1-bimodal-{correlation}", lambda r: bimodal_gaussians(float(r))),
    "multinormal-dense": (
        f"{_INT}-{_INT}-{_FLOAT}",
        "multinormal-dense-{dim_x}-{dim_y}-{off_diag}",
        lambda dx, dy, c: multinormal_dense(int(dx), int(dy), float(c)),
    ),
    "multinormal-sparse": (
        f"{_INT}-{_INT}-{_INT}-{_FLOAT}",
        "multinormal-sparse-{dim_x}-{dim_y}-{n_interacting}-{strength}",
        lambda dx, dy, k, s: multinormal_sparse(int(dx), int(dy), int(k), float(s)),
    ),
    "student-identity": (
        f"{_INT}-{_INT}-{_INT}",
        "student-identity-{dim_x}-{dim_y}-{dof}",
        lambda dx, dy, df: student_identity(int(dx), int(dy), int(df)),
    ),
    "student-dense": (
        f"{_INT}-{_INT}-{_INT}-{_FLOAT}",
        "student-dense-{dim_x}-{dim_y}-{dof}-{off_diag}",
        lambda dx, dy, df, c: student_dense(int(dx), int(dy), int(df), float(c)),
    ),
    "student-sparse": (
        f"{_INT}-{_INT}-{_INT}-{_INT}-{_FLOAT}",
        "student-sparse-{dim_x}-{dim_y}-{dof}-{n_interacting}-{strength}",
        lambda dx, dy, df, k, s: student_sparse(int(dx), int(dy), int(df), int(k), float(s)),
    ),
    "mixed-uniform": (_INT, "mixed-uniform-{m}", lambda m: mixed_uniform(int(m))),
    "mixed-gaussian": (
        f"{_INT}-{_FLOAT}",
        "mixed-gaussian-{k}-{sigma}",
        lambda k, s: mixed_gaussian(int(k), float(s)),
    ),
    "discrete-bsc": (_FLOAT, "discrete-bsc-{p}", lambda p: discrete_bsc(float(p))),
}
"""Base families: id prefix -> (parameter regex, id template, constructor)."""

# benchmark-mi's benchmark list (Czyz et al. 2023, ``bmi.benchmark.BENCHMARK_TASKS_LIST``),
# then mi_probe's tasks with a discrete variable.
_SPARSE = "multinormal-sparse-{d}-{d}-2-2.0"
_DEFAULT_IDS: tuple[str, ...] = (
    # one-dimensional
    "1v1-normal-0.75",
    "normal_cdf-1v1-normal-0.75",
    "1v1-additive-0.1",
    "1v1-additive-0.75",
    "1v1-bimodal-0.75",
    "wiggly-1v1-normal-0.75",
    "half_cube-1v1-normal-0.75",
    "student-identity-1-1-1",
    "asinh-student-identity-1-1-1",
    "swissroll_x-normal_cdf-1v1-normal-0.75",
    # multinormal
    *(f"multinormal-dense-{d}-{d}-0.5" for d in (2, 3, 5, 25, 50)),
    *(_SPARSE.format(d=d) for d in (2, 3, 5, 25)),
    # Student-t
    "student-identity-2-2-1",
    "student-identity-2-2-2",
    "student-identity-3-3-2",
    "student-identity-3-3-3",
    "student-identity-5-5-2",
    "student-identity-5-5-3",
    # transformed
    *(f"normal_cdf-{_SPARSE.format(d=d)}" for d in (3, 5, 25)),
    *(f"half_cube-{_SPARSE.format(d=d)}" for d in (3, 5, 25)),
    *(f"spiral-{_SPARSE.format(d=d)}" for d in (3, 5, 25)),
    *(f"spiral-normal_cdf-{_SPARSE.format(d=d)}" for d in (3, 5, 25)),
    "asinh-student-identity-2-2-1",
    "asinh-student-identity-3-3-2",
    "asinh-student-identity-5-5-2",
    # discrete variables (mi_probe)
    "mixed-uniform-5",
    "mixed-gaussian-4-0.25",
    "discrete-bsc-0.1",
)


def list_tasks() -> list[str]:
    """Ids of the built-in task list.

    Returns
    -------
    list of str
        benchmark-mi's 40 benchmark tasks (Czyz et al. 2023), followed by three tasks
        with a discrete variable. ``get_task`` also
        accepts any other id of a known family, e.g. ``"multinormal-dense-10-4-0.3"`` or
        ``"asinh-half_cube-1v1-normal-0.5"``.
    """
    return list(_DEFAULT_IDS)


def _unknown(task_id: str, hint: str = "") -> ValueError:
    candidates = list(_DEFAULT_IDS) + [tmpl for _, tmpl, _ in FAMILIES.values()]
    close = difflib.get_close_matches(task_id, candidates, n=5, cutoff=0.5)
    msg = f"unknown task id {task_id!r}"
    if hint:
        msg += f"; {hint}"
    if close:
        msg += "; close matches: " + ", ".join(close)
    msg += (
        "; transforms prefix a base id with "
        + ", ".join(f"'{p}-'" for p in sorted(TRANSFORMS))
        + " (see mi_probe.tasks.list_tasks())"
    )
    return ValueError(msg)


@functools.lru_cache(maxsize=512)
def _build(task_id: str) -> Task:
    for prefix, make in TRANSFORMS.items():
        if task_id.startswith(prefix + "-"):
            base = _build(task_id[len(prefix) + 1 :])
            return make(base)
    for prefix, (pattern, template, make) in FAMILIES.items():
        if task_id.startswith(prefix + "-"):
            match = re.fullmatch(pattern, task_id[len(prefix) + 1 :])
            if match is None:
                raise _unknown(task_id, f"expected the form {template}")
            return make(*match.groups())
    raise _unknown(task_id)


def get_task(task_id: str) -> Task:
    """The task with id ``task_id``.

    Parameters
    ----------
    task_id : str
        A base id (``"1v1-normal-0.75"``, ``"1v1-additive-0.1"``, ``"1v1-bimodal-0.75"``,
        ``"multinormal-dense-{dim_x}-{dim_y}-{off_diag}"``,
        ``"multinormal-sparse-{dim_x}-{dim_y}-{n_interacting}-{strength}"``,
        ``"student-identity-{dim_x}-{dim_y}-{dof}"``, ``"student-dense-..."``,
        ``"student-sparse-..."``, ``"mixed-uniform-{m}"``, ``"mixed-gaussian-{k}-{sigma}"``,
        ``"discrete-bsc-{p}"``), optionally prefixed by any chain of the MI-preserving
        transforms ``half_cube-``, ``asinh-``, ``normal_cdf-``, ``wiggly-``, ``spiral-``
        (and ``swissroll_x-`` for a 1-D x in [0, 1]).

    Returns
    -------
    Task
        With ``task.id`` the canonical spelling of ``task_id`` (floats as Python
        writes them, e.g. ``2.0``).

    Raises
    ------
    ValueError
        Unknown id (the message lists close matches), a known family with the wrong
        number of parameters, or parameters out of range (e.g. a correlation of 1).

    Examples
    --------
    >>> from mi_probe.tasks import get_task
    >>> task = get_task("multinormal-sparse-5-5-2-2.0")
    >>> round(task.mutual_information(), 4)
    1.0217
    >>> x, y = task.sample(1000, seed=0)
    >>> x.shape, y.shape
    ((1000, 5), (1000, 5))
    """
    if not isinstance(task_id, str):
        raise ValueError(f"task_id must be a string, got {type(task_id).__name__}")
    return _build(task_id.strip())
