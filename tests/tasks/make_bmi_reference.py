"""Record benchmark-mi's ground truth into ``bmi_reference.json`` (not a test).

Run with a Python that has benchmark-mi (import ``bmi``) installed, e.g.::

    python3 -m venv /work/peers/tasks-venv
    /work/peers/tasks-venv/bin/pip install "numpy<2" "jax==0.4.33" "jaxlib==0.4.33" \
        benchmark-mi scipy scikit-learn
    /work/peers/tasks-venv/bin/pip install "pydantic>=2"
    JAX_ENABLE_X64=1 /work/peers/tasks-venv/bin/python tests/tasks/make_bmi_reference.py

It writes, for every task id both packages share, bmi's ``mutual_information()``, and
for each MI-preserving transform bmi's output on fixed inputs (so the test can check
that mi_probe applies the same maps, not only that the MI values agree).
"""

from __future__ import annotations

import json
import pathlib
import platform
import sys

import numpy as np


def main() -> None:
    import bmi
    import bmi.benchmark.tasks.additive_noise as additive_noise
    import bmi.benchmark.tasks.bimodal_gaussians as bimodal
    import bmi.benchmark.tasks.bivariate_normal as binormal
    import bmi.benchmark.tasks.multinormal as multinormal
    import bmi.benchmark.tasks.student as student
    from bmi.benchmark.task_list import BENCHMARK_TASKS_LIST
    from bmi.benchmark.tasks.asinh import transform_asinh_task
    from bmi.benchmark.tasks.half_cube import transform_half_cube_task
    from bmi.benchmark.tasks.normal_cdf import transform_normal_cdf_task
    from bmi.benchmark.tasks.spiral import transform_spiral_task
    from bmi.benchmark.tasks.wiggly import transform_wiggly_task
    from bmi.samplers import DiscreteUniformMixtureSampler

    tasks = {t.id: t for t in BENCHMARK_TASKS_LIST}
    extra = [
        binormal.task_bivariate_normal(gaussian_correlation=0.5),
        binormal.task_bivariate_normal(gaussian_correlation=-0.9),
        additive_noise.task_additive_noise(epsilon=0.5),
        additive_noise.task_additive_noise(epsilon=2.0),
        multinormal.task_multinormal_dense(4, 7, off_diag=0.3),
        multinormal.task_multinormal_sparse(6, 4, n_interacting=3, strength=0.7),
        student.task_student_identity(dim_x=4, dim_y=1, df=5),
        student.task_student_dense(dim_x=3, dim_y=2, df=3, off_diag=0.4),
        student.task_student_sparse(dim_x=4, dim_y=4, df=2, n_interacting=2, strength=1.5),
    ]
    for t in extra:
        tasks[t.id] = t
    mi = {tid: float(t.mutual_information) for tid, t in tasks.items()}
    mi["mixed-uniform-5"] = float(DiscreteUniformMixtureSampler(n_discrete=5).mutual_information())
    mi["mixed-uniform-2"] = float(DiscreteUniformMixtureSampler(n_discrete=2).mutual_information())

    rng = np.random.default_rng(0)
    transforms = {}
    base3 = multinormal.task_multinormal_sparse(3, 3)
    base1 = binormal.task_bivariate_normal(0.75)
    cases = [
        ("half_cube", transform_half_cube_task(base3), 3, 3),
        ("asinh", transform_asinh_task(base3), 3, 3),
        ("normal_cdf", transform_normal_cdf_task(base3), 3, 3),
        ("spiral", transform_spiral_task(base3), 3, 3),
        ("spiral", transform_spiral_task(multinormal.task_multinormal_sparse(25, 25)), 25, 25),
        ("wiggly", transform_wiggly_task(base1), 1, 1),
    ]
    for prefix, task, dx, dy in cases:
        x = rng.standard_normal((6, dx)) * 1.5
        y = rng.standard_normal((6, dy)) * 1.5
        tx, ty = task.sampler.transform(x, y)
        transforms.setdefault(prefix, []).append(
            {
                "x": x.tolist(),
                "y": y.tolist(),
                "tx": np.asarray(tx).tolist(),
                "ty": np.asarray(ty).tolist(),
            }
        )
    from bmi.benchmark.tasks.embeddings import transform_swissroll_task

    roll = transform_swissroll_task(transform_normal_cdf_task(base1), task_name="roll")
    u = rng.uniform(0.0, 1.0, size=(6, 1))
    v = rng.uniform(0.0, 1.0, size=(6, 1))
    tx, ty = roll.sampler.transform(u, v)
    transforms["swissroll_x"] = [
        {
            "x": u.tolist(),
            "y": v.tolist(),
            "tx": np.asarray(tx).tolist(),
            "ty": np.asarray(ty).tolist(),
        }
    ]
    bim = bimodal.task_bimodal_gaussians(0.75)
    u = np.linspace(0.01, 0.99, 9).reshape(-1, 1)
    bx, by = bim.sampler.transform(u, u)
    transforms["bimodal"] = [
        {
            "u": u.ravel().tolist(),
            "tx": np.asarray(bx).ravel().tolist(),
            "ty": np.asarray(by).ravel().tolist(),
        }
    ]

    out = {
        "generated_by": (
            "JAX_ENABLE_X64=1 python tests/tasks/make_bmi_reference.py "
            "(benchmark-mi venv, see its docstring)"
        ),
        "benchmark_mi_version": getattr(bmi, "__version__", "0.1.3"),
        "python": platform.python_version(),
        "jax_x64": bool(__import__("jax").config.jax_enable_x64),
        "mutual_information": dict(sorted(mi.items())),
        "transforms": transforms,
    }
    path = pathlib.Path(__file__).with_name("bmi_reference.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {len(mi)} MI values and {len(transforms)} transforms to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
