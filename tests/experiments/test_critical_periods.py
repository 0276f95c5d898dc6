"""mi_probe.experiments.critical_periods at tiny size (seconds)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from mi_probe.experiments import critical_periods
from mi_probe.experiments.critical_periods import TINY, blur


@pytest.fixture(scope="module")
def tiny():
    return critical_periods(progress=False, **TINY)


def test_columns_and_shapes(tiny) -> None:
    s, h = tiny.summary, tiny.history
    assert list(s["removal"]) == ["0", "2", "never"]
    assert {
        "removal_epoch",
        "total_epochs",
        "test_accuracy",
        "train_accuracy",
        "peak_fisher_epoch",
        "peak_fisher_trace",
    } <= set(s.columns)
    assert {
        "repeat",
        "removal",
        "epoch",
        "blurred",
        "lr",
        "train_loss",
        "test_accuracy",
        "fisher_trace",
    } <= set(h.columns)
    # removal t trains t + post_epochs epochs; never trains max(t) + post_epochs
    assert list(s["total_epochs"]) == [3, 5, 5]
    assert math.isnan(s["removal_epoch"].iloc[2])
    for label, n in (("0", 3), ("2", 5), ("never", 5)):
        hh = h[h["removal"] == label]
        assert list(hh["epoch"]) == list(range(n + 1))  # epoch 0 = initialisation
    # the blur flag follows the schedule
    h2 = h[h["removal"] == "2"].set_index("epoch")["blurred"]
    assert list(h2) == [True, True, False, False, False, False]
    assert not h[h["removal"] == "0"]["blurred"].any()
    assert h[h["removal"] == "never"]["blurred"].all()
    assert (h["fisher_trace"] > 0).all() and h["test_accuracy"].between(0, 1).all()
    # runs share initialisation: identical epoch-0 accuracy
    assert h[h["epoch"] == 0]["test_accuracy"].nunique() == 1
    # the learning rate decays geometrically across the whole run
    lr = h[(h["removal"] == "2") & (h["epoch"] > 0)]["lr"].to_numpy()
    np.testing.assert_allclose(lr[1:] / lr[:-1], 0.93, rtol=1e-12)
    eff = tiny.effect()
    assert math.isnan(eff["drop_sd"])  # one repeat
    assert eff["drop"] == pytest.approx(eff["acc_first_removal"] - eff["acc_last_removal"])


def test_default_schedule_is_global(tiny) -> None:
    assert tiny.params["lr_schedule"] == "global"
    s = tiny.summary
    assert list(s["clean_epochs"]) == [3, 3, 0]
    # global decay: a later removal ends at a smaller rate
    assert list(s["final_lr"]) == pytest.approx([0.05 * 0.93**2, 0.05 * 0.93**4, 0.05 * 0.93**4])


@pytest.mark.parametrize("schedule", ["restart", "constant"])
def test_controlled_schedules(tiny, schedule) -> None:
    res = critical_periods(progress=False, **{**TINY, "lr_schedule": schedule})
    h, s = res.history, res.summary
    assert res.params["lr_schedule"] == schedule
    # every removal epoch gets post_epochs clean epochs, with the same learning rates
    assert list(s["clean_epochs"]) == [3, 3, 0]
    assert list(s["total_epochs"]) == [3, 5, 5]
    clean = {}
    for label, t in (("0", 0), ("2", 2)):
        hh = h[h["removal"] == label].set_index("epoch")
        assert not hh.loc[t + 1 :, "blurred"].any()
        clean[label] = hh.loc[t + 1 :, "lr"].to_numpy()
        deficit = hh.loc[1:t, "lr"].to_numpy()
        np.testing.assert_allclose(deficit, 0.05, rtol=1e-12)  # full rate during the deficit
    assert len(clean["0"]) == len(clean["2"]) == TINY["post_epochs"]
    np.testing.assert_array_equal(clean["0"], clean["2"])
    expected = [0.05] * 3 if schedule == "constant" else [0.05 * 0.93**k for k in range(3)]
    np.testing.assert_allclose(clean["0"], expected, rtol=1e-12)
    # "never" switches schedule at the last finite removal epoch, still blurred
    hn = h[h["removal"] == "never"].set_index("epoch")
    assert hn["blurred"].all()
    np.testing.assert_allclose(hn.loc[1:, "lr"].to_numpy(), [0.05, 0.05] + expected, rtol=1e-12)
    # the run without deficit is the same experiment under "restart" and "global"
    if schedule == "restart":
        pd.testing.assert_frame_equal(
            h[h["removal"] == "0"].reset_index(drop=True),
            tiny.history[tiny.history["removal"] == "0"].reset_index(drop=True),
        )
    else:
        assert not h[h["removal"] == "0"]["fisher_trace"].equals(
            tiny.history[tiny.history["removal"] == "0"]["fisher_trace"]
        )


def test_deterministic_with_seed(tiny) -> None:
    again = critical_periods(progress=False, **TINY)
    pd.testing.assert_frame_equal(tiny.history, again.history)
    other = critical_periods(progress=False, **{**TINY, "random_state": 1})
    assert not np.allclose(other.history["fisher_trace"], tiny.history["fisher_trace"])


def test_global_rng_untouched() -> None:
    torch.manual_seed(123)
    # numpy's legacy global generator is what a careless library would move: check it
    np.random.seed(7)  # noqa: NPY002
    t_state = torch.get_rng_state().clone()
    n_state = np.random.get_state()[1].copy()  # noqa: NPY002
    critical_periods(progress=False, **{**TINY, "removal_epochs": (1,), "post_epochs": 1})
    assert torch.equal(torch.get_rng_state(), t_state)
    assert np.array_equal(np.random.get_state()[1], n_state)  # noqa: NPY002


def test_repeats_give_std() -> None:
    res = critical_periods(progress=False, **{**TINY, "removal_epochs": (0,), "n_repeats": 2})
    assert set(res.history["repeat"]) == {0, 1}
    assert np.isfinite(res.summary["test_accuracy_std"]).all()
    assert res.effect()["drop_sd"] == 0.0  # one removal epoch: every paired drop is 0
    res = critical_periods(
        progress=False, **{**TINY, "removal_epochs": (0, 1), "post_epochs": 1, "n_repeats": 2}
    )
    h = res.history
    last = h[h["epoch"] == h.groupby(["repeat", "removal"])["epoch"].transform("max")]
    acc = last.pivot(index="repeat", columns="removal", values="test_accuracy")
    eff = res.effect()
    assert eff["drop_sd"] == pytest.approx(float((acc["0"] - acc["1"]).std(ddof=1)), abs=1e-12)
    assert eff["drop"] == pytest.approx(float((acc["0"] - acc["1"]).mean()), abs=1e-12)


def test_blur_removes_detail() -> None:
    x = torch.zeros(1, 1, 8, 8)
    x[..., ::2, :] = 1.0  # horizontal stripes: finest detail
    b = blur(x, 4)
    assert b.shape == x.shape
    assert float(b.std()) < 0.1 * float(x.std())
    assert float(b.mean()) == pytest.approx(float(x.mean()), abs=1e-6)
    const = torch.full((2, 1, 8, 8), 0.3)
    torch.testing.assert_close(blur(const, 3), const)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"removal_epochs": []}, "removal_epochs is empty"),
        ({"removal_epochs": "0"}, "removal_epochs must be a sequence"),
        ({"removal_epochs": (0, 0)}, "removal_epochs has duplicates"),
        ({"removal_epochs": (-1,)}, "removal_epochs entries"),
        ({"removal_epochs": (1.5,)}, "removal_epochs entries"),
        ({"post_epochs": 0}, "post_epochs must be >= 1"),
        ({"blur_size": 8}, "blur_size must be <= 7"),
        ({"width": 0}, "width must be >= 1"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"lr_decay": 1.5}, "lr_decay must be in"),
        ({"lr_schedule": "cosine"}, "lr_schedule must be one of"),
        ({"momentum": 1.0}, "momentum must be in"),
        ({"weight_decay": -1.0}, "weight_decay must be >= 0"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"n_train": 5000}, "n_train=5000 exceeds"),
        ({"test_fraction": 1.0}, "test_fraction must be in"),
        ({"fisher_samples": 0}, "fisher_samples must be >= 1"),
        ({"fisher_kind": "exact"}, "fisher_kind must be one of"),
        ({"n_repeats": 0}, "n_repeats must be >= 1"),
        ({"random_state": -1}, "random_state must be >= 0"),
        ({"device": "nonsense"}, "device must be a torch device"),
    ],
)
def test_bad_arguments(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        critical_periods(progress=False, **{**TINY, **kwargs})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cuda_without_cuda() -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        critical_periods(progress=False, device="cuda", **TINY)


def test_plot(tiny, tmp_path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from mi_probe.plotting.critical_periods import plot_critical_periods

    axes = plot_critical_periods(tiny)
    assert len(axes) == 2
    assert len(axes[1].get_lines()) >= 3
    axes[0].figure.savefig(tmp_path / "c.png")
    with pytest.raises(ValueError, match="result must be a CriticalPeriodsResult"):
        plot_critical_periods(tiny.summary)
    bad = type(tiny)(tiny.summary.drop(columns=["test_accuracy"]), tiny.history, {})
    with pytest.raises(ValueError, match="result.summary is missing columns"):
        plot_critical_periods(bad)
    with pytest.raises(ValueError, match="axes must be two Axes"):
        plot_critical_periods(tiny, axes=[axes[0]])
