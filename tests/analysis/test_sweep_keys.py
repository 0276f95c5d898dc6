"""Issue 19: stored sweep rows are reused only for what produced them.

Before the fix, overwriting a checkpoint in place, or passing a ``model_fn`` that builds
another model under the same layer names, returned the stored rows of the old weights
(up to 5.6 nats off) with no warning.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from mi_probe.analysis.sweep import _callable_identity, _model_identity, sweep

from .test_sweep import LAYERS, _values, make_net, probe_set, save_checkpoints


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_relu_net() -> nn.Sequential:
    """``make_net`` with ReLU for tanh: the same layer names and parameter shapes."""
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))


def counting(fn, counter: list[int]):
    def build():
        counter[0] += 1
        return fn()

    return build


def test_overwritten_checkpoint_is_recomputed_with_the_new_weights(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 2)
    x, y = probe_set(0)
    out = tmp_path / "out"
    first = sweep(make_net, paths, (x, y), LAYERS, out=out, progress_bar=False)
    stat = os.stat(paths[1])
    # overwrite in place with other weights: same size, and the same mtime restored
    torch.manual_seed(12345)
    torch.save(make_net().state_dict(), paths[1])
    assert os.path.getsize(paths[1]) == stat.st_size
    os.utime(paths[1], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.warns(RuntimeWarning, match="the checkpoint's contents changed") as rec:
        again = sweep(make_net, paths, (x, y), LAYERS, out=out, progress_bar=False)
    assert os.path.abspath(paths[1]) in str(rec[0].message)
    assert os.path.abspath(paths[0]) not in str(rec[0].message)
    clean = sweep(make_net, paths, (x, y), LAYERS, progress_bar=False)
    # the rerun returns the new weights' values, not the stored ones
    pd.testing.assert_frame_equal(_values(again), _values(clean))
    changed = _values(first)["checkpoint"] == os.path.abspath(paths[1])
    assert not np.allclose(_values(first)[changed]["I_XT"], _values(again)[changed]["I_XT"])
    pd.testing.assert_frame_equal(_values(first)[~changed], _values(again)[~changed])
    # and the recomputed rows replaced the stale ones: a third run reuses them silently
    calls = [0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        third = sweep(counting(make_net, calls), paths, (x, y), LAYERS, out=out, progress_bar=False)
    assert calls[0] == 1  # only sweep()'s own layer check built a model
    pd.testing.assert_frame_equal(_values(third), _values(clean))
    assert len(list((out / "rows").glob("*.json"))) == 2 * len(LAYERS)


def test_another_model_under_the_same_layer_names_is_recomputed(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 2)  # tanh weights; shapes fit the ReLU net
    x, y = probe_set(1)
    out = tmp_path / "out"
    tanh = sweep(make_net, paths, (x, y), LAYERS, out=out, progress_bar=False)
    with pytest.warns(RuntimeWarning, match="model_fn builds a different model"):
        relu = sweep(make_relu_net, paths, (x, y), LAYERS, out=out, progress_bar=False)
    clean = sweep(make_relu_net, paths, (x, y), LAYERS, progress_bar=False)
    pd.testing.assert_frame_equal(_values(relu), _values(clean))
    assert not np.allclose(_values(tanh)["I_XT"], _values(relu)["I_XT"])


def test_the_same_sweep_reuses_every_row_without_a_warning(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 2)
    out = tmp_path / "out"
    first = sweep(make_net, paths, probe_set(0), LAYERS, out=out, progress_bar=False)
    calls = [0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        second = sweep(
            counting(make_net, calls), paths, probe_set(0), LAYERS, out=out, progress_bar=False
        )
    assert calls[0] == 1
    pd.testing.assert_frame_equal(_values(first), _values(second))


def test_a_data_factory_is_keyed_on_the_data_it_returns(tmp_path: Path) -> None:
    paths = save_checkpoints(tmp_path / "ck", 1)
    out = tmp_path / "out"
    data = {"seed": 0}

    def factory():
        return probe_set(data["seed"])

    a = sweep(make_net, paths, factory, ["3"], out=out, progress_bar=False)
    data["seed"] = 1  # the same function now returns other data
    b = sweep(make_net, paths, factory, ["3"], out=out, progress_bar=False)
    clean = sweep(make_net, paths, probe_set(1), ["3"], progress_bar=False)
    pd.testing.assert_frame_equal(_values(b), _values(clean))
    assert not np.allclose(a["I_XT"], b["I_XT"])


def test_identities() -> None:
    assert _model_identity(make_net()) == _model_identity(make_net())  # weights do not count
    assert _model_identity(make_net()) != _model_identity(make_relu_net())
    wider = nn.Sequential(nn.Linear(4, 7), nn.Tanh(), nn.Linear(7, 3), nn.Tanh(), nn.Linear(3, 2))
    assert _model_identity(make_net()) != _model_identity(wider)

    def load(seed: int = 0):
        return probe_set(seed)

    same = _callable_identity(functools.partial(load, 0))
    assert same == _callable_identity(functools.partial(load, 0))
    assert same != _callable_identity(functools.partial(load, 1))
    n = 10
    first = _callable_identity(lambda: probe_set(0, n))
    n = 20
    assert first != _callable_identity(lambda: probe_set(0, n))
