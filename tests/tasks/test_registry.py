"""Task registry: ids, round trips, sampling contract and every error message."""

from __future__ import annotations

import numpy as np
import pytest

import mi_probe
from mi_probe.tasks import (
    Task,
    additive_noise,
    bivariate_normal,
    discrete_bsc,
    gaussian_mi,
    get_task,
    list_tasks,
    mixed_gaussian,
    mixed_uniform,
    multinormal_dense,
    multinormal_sparse,
    student_identity,
    transform_task,
)


def test_lazy_exports_from_the_package() -> None:
    assert mi_probe.get_task is get_task
    assert mi_probe.list_tasks is list_tasks


def test_list_is_unique_and_every_id_round_trips() -> None:
    ids = list_tasks()
    assert len(ids) == len(set(ids)) == 43  # 40 from benchmark-mi + 3 with a discrete variable
    for task_id in ids:
        task = get_task(task_id)
        assert isinstance(task, Task)
        assert task.id == task_id
        assert task.mutual_information() > 0


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("multinormal-dense-2-2-.5", "multinormal-dense-2-2-0.5"),
        ("multinormal-sparse-3-3-2-2", "multinormal-sparse-3-3-2-2.0"),
        ("1v1-normal--0.5", "1v1-normal--0.5"),
        ("  1v1-additive-0.10 ", "1v1-additive-0.1"),
        ("asinh-half_cube-student-dense-2-3-4-0.25", "asinh-half_cube-student-dense-2-3-4-0.25"),
    ],
)
def test_ids_are_canonicalised(spelling: str, canonical: str) -> None:
    assert get_task(spelling).id == canonical
    assert get_task(canonical).id == canonical


def test_sampling_contract_for_every_listed_task() -> None:
    for task_id in list_tasks():
        task = get_task(task_id)
        x, y = task.sample(40, seed=3)
        assert x.shape == (40, task.dim_x) and y.shape == (40, task.dim_y)
        assert x.dtype == np.float64 and y.dtype == np.float64
        assert np.isfinite(x).all() and np.isfinite(y).all()
        x2, y2 = task.sample(40, seed=3)
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
        x3, _ = task.sample(40, seed=4)
        assert not np.array_equal(x, x3)
        if task.discrete_x:
            np.testing.assert_array_equal(x, np.round(x))


def test_sample_accepts_a_generator() -> None:
    task = get_task("1v1-normal-0.75")
    a = task.sample(10, np.random.default_rng(7))
    b = task.sample(10, np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])


def test_transformed_samples_are_the_map_of_the_base_samples() -> None:
    base = get_task("multinormal-sparse-3-3-2-2.0")
    bx, by = base.sample(100, seed=1)
    tx, ty = get_task("half_cube-multinormal-sparse-3-3-2-2.0").sample(100, seed=1)
    np.testing.assert_allclose(tx, bx * np.sqrt(np.abs(bx)))
    np.testing.assert_allclose(ty, by * np.sqrt(np.abs(by)))


# ---- errors -------------------------------------------------------------------------


def test_unknown_id_lists_close_matches() -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown task id 'multinormal-dens-5-5-0.5'.*"
        r"close matches: .*multinormal-dense-5-5-0.5",
    ):
        get_task("multinormal-dens-5-5-0.5")
    with pytest.raises(ValueError, match="unknown task id 'nonsense'"):
        get_task("nonsense")


def test_known_family_with_wrong_parameters() -> None:
    with pytest.raises(ValueError, match=r"expected the form multinormal-dense-\{dim_x\}"):
        get_task("multinormal-dense-5-5")
    with pytest.raises(ValueError, match="expected the form student-identity"):
        get_task("student-identity-2-2-1.5")


def test_task_id_must_be_a_string() -> None:
    with pytest.raises(ValueError, match="task_id must be a string, got int"):
        get_task(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: bivariate_normal(1.0), r"correlation must be in \(-1, 1\), got 1.0"),
        (lambda: get_task("1v1-normal-1.5"), r"correlation must be in \(-1, 1\)"),
        (lambda: multinormal_dense(2, 2, 0.99 + 0.02), r"off_diag must be in \(-1/3, 1\)"),
        (lambda: multinormal_dense(2, 2, -0.5), r"off_diag must be in \(-1/3, 1\)"),
        (lambda: multinormal_dense(0, 2), "dim_x must be >= 1, got 0"),
        (lambda: multinormal_sparse(3, 2, 3), "n_interacting must be <= 2, got 3"),
        (lambda: multinormal_sparse(3, 3, 2, -1.0), "strength must be >= 0"),
        (lambda: get_task("student-dense-2-2-3-1.5"), r"off_diag must be in"),
        (lambda: get_task("student-sparse-2-2-3-4-1.0"), "n_interacting must be <= 2"),
        (lambda: student_identity(2, 2, 0), "dof must be >= 1, got 0"),
        (lambda: additive_noise(0.0), "epsilon must be > 0"),
        (lambda: get_task("discrete-bsc-1.5"), r"p must be a probability in \[0, 1\]"),
        (lambda: mixed_gaussian(3, 0.0), "sigma must be > 0"),
        (lambda: mixed_uniform(0), "m must be >= 1"),
        (
            lambda: get_task("spiral-multinormal-dense-2-2-0.5"),
            "spiral needs dim_x >= 2 and dim_y >= 3",
        ),
        (lambda: get_task("wiggly-multinormal-dense-2-2-0.5"), "wiggly needs a 1 x 1 base task"),
        (
            lambda: get_task("swissroll_x-multinormal-dense-2-2-0.5"),
            "swissroll_x needs a continuous 1-D x",
        ),
        (lambda: transform_task("cube", get_task("1v1-normal-0.5")), "transform must be one of"),
        (lambda: get_task("1v1-normal-0.5").sample(0), "n must be >= 1, got 0"),
        (lambda: get_task("1v1-normal-0.5").sample(2.5), "n must be an integer"),
        (lambda: get_task("1v1-normal-0.5").sample(5, seed=-1), "seed must be a non-negative"),
        (lambda: get_task("1v1-normal-0.5").sample(5, seed="a"), "seed must be None, an int"),
        (lambda: gaussian_mi(np.ones((2, 3)), 1), r"covariance must be a square matrix"),
        (
            lambda: gaussian_mi(np.array([[1.0, 0.5], [0.0, 1.0]]), 1),
            "covariance must be symmetric",
        ),
        (
            lambda: gaussian_mi(np.array([[1.0, 2.0], [2.0, 1.0]]), 1),
            "covariance must be positive definite",
        ),
        (lambda: gaussian_mi(np.eye(3), 3), "dim_x must be <= 2, got 3"),
    ],
)
def test_bad_parameters_raise(call, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        call()


def test_discrete_flags() -> None:
    assert get_task("mixed-uniform-5").discrete_x and not get_task("mixed-uniform-5").discrete_y
    assert get_task("mixed-gaussian-4-0.25").discrete_y
    bsc = discrete_bsc(0.2)
    assert bsc.discrete_x and bsc.discrete_y
    assert get_task("asinh-mixed-gaussian-4-0.25").discrete_y
