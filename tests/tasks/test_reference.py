"""mi_probe.tasks against benchmark-mi's own values, recorded in bmi_reference.json.

The fixture was made by ``tests/tasks/make_bmi_reference.py`` in a separate venv with
benchmark-mi 0.1.3 and JAX in float64; these tests need only the JSON.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from mi_probe.tasks import get_task, list_tasks
from mi_probe.tasks import transforms as T

REF = json.loads(pathlib.Path(__file__).with_name("bmi_reference.json").read_text())
MI = REF["mutual_information"]


@pytest.mark.parametrize("task_id", sorted(MI))
def test_mutual_information_agrees_with_benchmark_mi(task_id: str) -> None:
    # tolerance 1e-6 nats (observed: ~1e-14)
    assert get_task(task_id).mutual_information() == pytest.approx(MI[task_id], abs=1e-6)


def test_every_benchmark_mi_list_task_is_in_our_list_and_checked() -> None:
    ours = set(list_tasks())
    shared = {t for t in ours if not t.startswith(("mixed-gaussian", "discrete-bsc"))}
    assert shared <= set(MI)
    assert len([t for t in ours if t in MI]) == 41  # bmi's 40 benchmark tasks + mixed-uniform-5


_PER_COORD = {
    "half_cube": (T.half_cube, T.half_cube),
    "asinh": (np.arcsinh, np.arcsinh),
    "normal_cdf": (T.normal_cdf, T.normal_cdf),
    "wiggly": (T.wiggly_x, T.wiggly_y),
    "swissroll_x": (T.swissroll, lambda y: y),
}


@pytest.mark.parametrize("prefix", sorted(set(REF["transforms"]) - {"bimodal"}))
def test_transforms_are_benchmark_mis_maps(prefix: str) -> None:
    for case in REF["transforms"][prefix]:
        x, y = np.asarray(case["x"]), np.asarray(case["y"])
        if prefix == "spiral":
            tx = T.spiral(x, 0, 1, 1.0 / x.shape[1])
            ty = T.spiral(y, 1, 2, 1.0 / y.shape[1])
        else:
            fx, fy = _PER_COORD[prefix]
            tx, ty = fx(x), fy(y)
        np.testing.assert_allclose(tx, case["tx"], atol=1e-9)
        np.testing.assert_allclose(ty, case["ty"], atol=1e-9)


def test_bimodal_inverse_cdfs_match_benchmark_mi() -> None:
    case = REF["transforms"]["bimodal"][0]
    u = np.asarray(case["u"])
    # bmi bisects to 1e-12 on [-10, 10]; we bisect 60 times on [-20, 20]
    np.testing.assert_allclose(T.mixture_icdf(u, (0.3, 0.7), (0.0, 5.0)), case["tx"], atol=1e-9)
    np.testing.assert_allclose(T.mixture_icdf(u, (0.5, 0.5), (-1.0, 3.0)), case["ty"], atol=1e-9)
