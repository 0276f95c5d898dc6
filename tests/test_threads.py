"""The thread setting: scoped torch threads (the caller's count restored), the env var,
the CLI option, and the kd-tree workers."""

from __future__ import annotations

import pytest
import torch

from mi_probe import _threads
from mi_probe._threads import (
    ENV_VAR,
    get_num_threads,
    native_workers,
    num_threads,
    set_num_threads,
    small_torch_work,
    torch_threads,
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    before = torch.get_num_threads()
    set_num_threads(None)
    yield
    set_num_threads(None)
    torch.set_num_threads(before)


def test_scoped_torch_threads_restore_the_callers_count() -> None:
    torch.set_num_threads(2)
    with torch_threads():
        assert torch.get_num_threads() == _threads.TORCH_DEFAULT == 1
    assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError), torch_threads():
        raise RuntimeError("boom")  # restored after an exception too
    assert torch.get_num_threads() == 2


def test_zero_leaves_torch_alone(monkeypatch) -> None:
    torch.set_num_threads(2)
    monkeypatch.setenv(ENV_VAR, "0")
    with torch_threads():
        assert torch.get_num_threads() == 2


def test_env_var_and_set_num_threads(monkeypatch) -> None:
    assert get_num_threads() is None
    monkeypatch.setenv(ENV_VAR, "3")
    assert get_num_threads() == 3 and native_workers() == 3
    monkeypatch.setenv(ENV_VAR, "all")
    assert get_num_threads() == 0
    set_num_threads(2)  # the function wins over the environment
    assert get_num_threads() == 2
    with num_threads(1):
        assert get_num_threads() == 1
    assert get_num_threads() == 2
    set_num_threads(None)
    monkeypatch.setenv(ENV_VAR, "many")
    with pytest.warns(RuntimeWarning, match="MI_PROBE_NUM_THREADS='many' is not"):
        assert get_num_threads() is None


def test_bad_setting_raises() -> None:
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        set_num_threads(-1)
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        set_num_threads(1.5)  # type: ignore[arg-type]


def test_native_workers(monkeypatch) -> None:
    assert native_workers(3) == 3  # an explicit workers= wins
    assert native_workers(-1) == _threads._available_cpus()
    set_num_threads(1)
    assert native_workers(-1) == 1 and native_workers(None) == 1


def test_package_work_runs_scoped(monkeypatch) -> None:
    seen = []

    @small_torch_work
    def work() -> None:
        seen.append(torch.get_num_threads())

    torch.set_num_threads(2)
    work()
    assert seen == [1] and torch.get_num_threads() == 2
    set_num_threads(2)
    work()
    assert seen[-1] == 2


def test_fisher_runs_with_one_thread_and_restores() -> None:
    import mi_probe

    seen = []

    class Spy(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(3, 2)

        def forward(self, x):
            seen.append(torch.get_num_threads())
            return self.lin(x)

    torch.set_num_threads(2)
    mi_probe.fisher_diagonal(Spy(), (torch.randn(16, 3), torch.randint(0, 2, (16,))))
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == 2


def test_cli_threads_option(capsys) -> None:
    from mi_probe.cli import main

    assert main(["--threads", "-1", "estimate", "nofile.npz", "--x", "a", "--y", "b"]) == 2
    assert "--threads: n must be a non-negative integer" in capsys.readouterr().err
    assert main(["--threads", "1", "estimate", "nofile.npz", "--x", "a", "--y", "b"]) == 2
    assert get_num_threads() == 1
    assert "no such file" in capsys.readouterr().err
