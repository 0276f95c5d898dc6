"""Checkpoint x layer sweeps on a real local Ray cluster (``ray.init(num_cpus=2)``, no mocks):
Ray equals local, retries, resume after a failed task, error rows, a data factory per worker.

Skipped when Ray is not installed (``pip install 'mi-probe[distributed]'``). One Ray
session is shared by the module (starting Ray takes seconds) and shut down at the end.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'mi-probe[distributed]'")

from mi_probe.analysis.sweep import sweep  # noqa: E402

from . import test_sweep as helpers  # noqa: E402
from .test_sweep import LAYERS, _values, make_net, one_torch_thread, probe_set, save_checkpoints  # noqa: E402,F401


class FlakyNet(nn.Sequential):
    """``make_net``'s architecture whose forward raises once per ``flag`` file, in
    whichever process runs it first (the flag is created atomically)."""

    def __init__(self, flag: str) -> None:
        super().__init__(*make_net())
        self.flag = flag

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        try:
            fd = os.open(self.flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return super().forward(x)
        os.close(fd)
        raise RuntimeError("failing on purpose the first time")


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray cluster with 2 CPUs for the whole module."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # the workers import mi_probe; the test helpers travel by value
    ray.cloudpickle.register_pickle_by_value(helpers)
    import sys

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield ray
    if started:
        ray.shutdown()


def test_ray_equals_local(ray_session, tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path, 4, seed=5)
    x, y = probe_set(5)
    kw = dict(estimator=["binning", "kde"], kde={"noise_variance": 0.05}, progress_bar=False)
    local = sweep(make_net, paths, (x, y), LAYERS, **kw)
    remote = sweep(make_net, paths, (x, y), LAYERS, executor="ray", **kw)
    assert len(remote) == 4 * 3 * 2 and remote["error"].isna().all()
    # same order of rows, same metadata; values equal up to float32 summation order
    cols = ["epoch", "layer", "estimator", "regime", "checkpoint", "n_samples", "dim"]
    pd.testing.assert_frame_equal(remote[cols], local[cols])
    np.testing.assert_allclose(remote[["I_XT", "I_TY"]], local[["I_XT", "I_TY"]], rtol=0, atol=1e-6)


def test_ray_data_factory_per_worker(ray_session, tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path, 2, seed=6)
    local = sweep(make_net, paths, probe_set(6), LAYERS, progress_bar=False)
    remote = sweep(
        make_net, paths, functools.partial(probe_set, 6), LAYERS, executor="ray", progress_bar=False
    )
    pd.testing.assert_frame_equal(_values(remote), _values(local), atol=1e-6)


def test_ray_retries_a_failing_task(ray_session, tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 4)
    flag = str(tmp_path / "flag")
    df = sweep(
        functools.partial(FlakyNet, flag),
        paths,
        probe_set(0),
        LAYERS,
        executor="ray",
        max_retries=1,
        progress_bar=False,
    )
    assert Path(flag).exists()  # one task did fail, and Ray's retry finished it
    assert df["error"].isna().all() and len(df) == 4 * 3


def test_ray_interrupted_sweep_resumes(ray_session, tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 4, seed=1)
    out = tmp_path / "out"
    flag = str(tmp_path / "flag")
    model_fn = functools.partial(FlakyNet, flag)
    first = sweep(
        model_fn,
        paths,
        probe_set(1),
        LAYERS,
        executor="ray",
        out=out,
        max_retries=0,
        progress_bar=False,
    )
    failed = first[first["error"].notna()]
    assert failed["checkpoint"].nunique() == 1 and len(failed) == 3
    assert failed["error"].str.contains("failing on purpose").all()
    assert len(list((out / "rows").glob("*.json"))) == 3 * 3
    second = sweep(
        model_fn,
        paths,
        probe_set(1),
        LAYERS,
        executor="ray",
        out=out,
        max_retries=0,
        progress_bar=False,
    )
    assert second["error"].isna().all() and len(second) == 4 * 3
    assert not second.duplicated(["checkpoint", "layer", "estimator"]).any()
    clean = sweep(make_net, paths, probe_set(1), LAYERS, progress_bar=False)
    pd.testing.assert_frame_equal(_values(second), _values(clean), atol=1e-6)


def test_ray_corrupt_checkpoint_gives_error_rows(ray_session, tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 3, seed=2)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint at all")
    allp = [paths[0], str(corrupt), *paths[1:]]
    df = sweep(
        make_net,
        allp,
        probe_set(2),
        LAYERS,
        executor="ray",
        max_retries=1,
        out=tmp_path / "out",
        progress_bar=False,
    )
    bad = df[df["checkpoint"] == str(corrupt)]
    assert len(bad) == 3 and bad["I_XT"].isna().all()
    assert bad["error"].str.contains("could not be read with torch.load").all()
    good = df[df["checkpoint"] != str(corrupt)]
    assert len(good) == 3 * 3 and good["error"].isna().all()
    assert np.isfinite(good[["I_XT", "I_TY"]].to_numpy()).all()
