"""Critical learning periods on scikit-learn's 8x8 digits (Achille, Rovere & Soatto 2019).

A small CNN is trained on blurred digits (the *deficit*) for the first ``t`` epochs, then
on the clean digits for a fixed number of further epochs, for several removal epochs
``t``; the test accuracy on clean digits at the end is compared across ``t``. The trace of
the Fisher information of the weights is recorded after every epoch on a fixed probe
subset of the training set.

Nothing here imports matplotlib; :func:`mi_probe.plotting.critical_periods.plot_critical_periods`
draws the result.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._deps import require
from .._progress import progress as _progress
from .._validation import check_choice, check_int, check_positive

__all__ = ["critical_periods", "CriticalPeriodsResult", "TINY", "make_cnn", "blur"]

#: keyword arguments of a run that takes seconds (tests, ``--tiny``)
TINY: dict[str, Any] = {
    "removal_epochs": (0, 2, None),
    "post_epochs": 3,
    "n_train": 200,
    "batch_size": 16,
    "fisher_samples": 40,
    "width": 4,
    "n_repeats": 1,
}


@dataclasses.dataclass(frozen=True)
class CriticalPeriodsResult:
    """Outcome of :func:`critical_periods`.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per removal epoch (mean over repeats): ``removal`` (label: the epoch or
        ``"never"``), ``removal_epoch`` (float, NaN for never), ``total_epochs``,
        ``clean_epochs`` (epochs trained after the removal; 0 for never), ``final_lr``
        (learning rate of the last epoch),
        ``test_accuracy`` and ``test_accuracy_std`` (clean test digits, at the end),
        ``train_accuracy``, ``peak_fisher_epoch`` (epoch of the largest mean Fisher trace)
        and ``peak_fisher_trace``.
    history : pandas.DataFrame
        One row per (repeat, removal, epoch), epoch 0 being the initialisation:
        ``repeat``, ``removal``, ``removal_epoch``, ``epoch``, ``blurred`` (whether that
        epoch trained on blurred inputs), ``lr``, ``train_loss`` (nats, mean over the
        epoch's minibatches), ``test_accuracy`` and ``fisher_trace`` (sum of the Fisher
        diagonal over all weights, nats per sample per squared weight unit).
    params : dict
        The arguments of the run.
    """

    summary: Any
    history: Any
    params: dict[str, Any]

    def effect(self) -> dict[str, float]:
        """Headline numbers: accuracy at the earliest and latest finite removal epoch and
        with the deficit never removed, their drop, and the epoch of the Fisher peak.

        Returns
        -------
        dict of str to float
            ``acc_first_removal``, ``acc_last_removal``, ``acc_never`` (NaN if not run),
            ``drop`` (= first - last, accuracy points in [0, 1]), ``drop_sd`` (standard
            deviation over repeats of the per-repeat drop, which pairs runs with the same
            initialisation and minibatch order; NaN with one repeat) and
            ``fisher_peak_epoch`` (of the run with the earliest removal, mean over repeats).
        """
        s = self.summary
        finite = s[s["removal_epoch"].notna()].sort_values("removal_epoch")
        never = s[s["removal_epoch"].isna()]
        first = float(finite["test_accuracy"].iloc[0]) if len(finite) else math.nan
        last = float(finite["test_accuracy"].iloc[-1]) if len(finite) else math.nan
        peak = float(finite["peak_fisher_epoch"].iloc[0]) if len(finite) else math.nan
        drop_sd = math.nan
        if len(finite) and self.history["repeat"].nunique() > 1:
            h = self.history
            h = h[h["epoch"] == h.groupby(["repeat", "removal"])["epoch"].transform("max")]
            acc = h.pivot(index="repeat", columns="removal", values="test_accuracy")
            pair = acc[finite["removal"].iloc[0]] - acc[finite["removal"].iloc[-1]]
            drop_sd = float(pair.std(ddof=1))
        return {
            "acc_first_removal": first,
            "acc_last_removal": last,
            "acc_never": float(never["test_accuracy"].iloc[0]) if len(never) else math.nan,
            "drop": first - last,
            "drop_sd": drop_sd,
            "fisher_peak_epoch": peak,
        }


_SCHEDULES = ("global", "restart", "constant")


def _epoch_lr(schedule: str, lr: float, decay: float, epoch: int, switch: int) -> float:
    """Learning rate of 0-based ``epoch`` in a run whose schedule switches at ``switch``
    (the removal epoch; see ``lr_schedule`` in :func:`critical_periods`)."""
    if schedule == "constant":
        return lr
    if schedule == "restart":
        return lr if epoch < switch else lr * decay ** (epoch - switch)
    return lr * decay**epoch


def make_cnn(width: int = 16, n_classes: int = 10) -> nn.Sequential:
    """The small CNN of the experiment, for inputs ``(n, 1, 8, 8)``.

    conv3x3(1 -> width) - ReLU - conv3x3(width -> 2 width) - ReLU - maxpool 2 -
    linear(2 width * 16 -> n_classes). Uses the global torch RNG for its initialisation
    (the experiment calls it inside ``torch.random.fork_rng``).
    """
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * width * 16, n_classes),
    )


def blur(x: Tensor, size: int) -> Tensor:
    """The deficit: area-downsample ``(n, 1, 8, 8)`` images to ``size x size`` and upsample
    back bilinearly (the digits' analogue of the 32 -> 8 -> 32 blur of the paper)."""
    h, w = x.shape[-2:]
    small = F.interpolate(x, size=(size, size), mode="area")
    return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)


def _check_removals(removal_epochs: Any) -> list[int | None]:
    if isinstance(removal_epochs, (str, bytes)) or not hasattr(removal_epochs, "__iter__"):
        raise ValueError(
            "removal_epochs must be a sequence of epochs (int >= 0) or None/'never', "
            f"got {removal_epochs!r}"
        )
    out: list[int | None] = []
    for r in removal_epochs:
        if r is None or (isinstance(r, str) and r == "never"):
            out.append(None)
            continue
        if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 0:
            raise ValueError(
                f"removal_epochs entries must be integers >= 0 or None/'never', got {r!r}"
            )
        out.append(int(r))
    if not out:
        raise ValueError("removal_epochs is empty")
    if len(set(out)) != len(out):
        raise ValueError(f"removal_epochs has duplicates: {list(removal_epochs)}")
    return out


def _digits(seed: int, n_train: int | None, test_fraction: float) -> tuple[Tensor, ...]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)  # (1797, 1, 8, 8)
    y = torch.tensor(d.target, dtype=torch.long)
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(x.shape[0]))
    n_test = int(round(test_fraction * x.shape[0]))
    test, train = perm[:n_test], perm[n_test:]
    if n_train is not None:
        if n_train > train.numel():
            raise ValueError(
                f"n_train={n_train} exceeds the {train.numel()} training digits left by "
                f"test_fraction={test_fraction}"
            )
        train = train[:n_train]
    return x[train], y[train], x[test], y[test]


@torch.no_grad()
def _accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    return float((model(x).argmax(1) == y).float().mean())


def critical_periods(
    removal_epochs: Sequence[int | str | None] = (0, 5, 10, 20, None),
    *,
    post_epochs: int = 20,
    blur_size: int = 3,
    width: int = 16,
    lr: float = 0.05,
    lr_decay: float = 0.93,
    lr_schedule: str = "global",
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    batch_size: int = 64,
    n_train: int | None = None,
    test_fraction: float = 0.3,
    fisher_samples: int = 200,
    fisher_kind: str = "true",
    n_repeats: int = 1,
    random_state: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> CriticalPeriodsResult:
    """Blur-deficit critical-period experiment on scikit-learn's digits.

    For each removal epoch ``t`` a fresh CNN (:func:`make_cnn`) is trained with SGD for
    ``t`` epochs on blurred digits (:func:`blur`) and then ``post_epochs`` epochs on clean
    digits. By default (``lr_schedule="global"``) the learning rate
    ``lr * lr_decay**epoch`` decays over the whole run, so a later removal also leaves
    its clean epochs a smaller rate; ``lr_schedule="restart"`` and ``"constant"`` are the
    controls for that confound (see Notes). ``None`` (or ``"never"``) keeps the deficit
    for ``max(finite t) + post_epochs`` epochs. Every run with the same repeat index starts
    from the same initial weights and minibatch order, so the runs differ only in when
    the deficit ends.

    Parameters
    ----------
    removal_epochs : sequence of int or None
        Epochs at which the blur is removed; ``None``/``"never"`` for a deficit kept to
        the end.
    post_epochs : int, default 20
        Epochs of clean training after the removal.
    blur_size : int, default 3
        Side of the downsampled image (1 to 7); smaller is a stronger deficit.
    width : int, default 16
        Channels of the first convolution (the second has twice as many).
    lr, lr_decay, momentum, weight_decay : float
        SGD settings; ``lr`` is the initial rate, ``lr_decay`` its factor per epoch.
    lr_schedule : {"global", "restart", "constant"}, default "global"
        Learning rate at epoch ``e`` (0-based) of a run whose deficit ends at ``t``:

        * ``"global"``: ``lr * lr_decay**e``, one decay over the whole run;
        * ``"restart"``: ``lr`` during the deficit, then ``lr * lr_decay**(e - t)``: every
          removal epoch gets the same clean-phase schedule (same epochs, same rates), so
          a later removal is not also a run with less learning rate left; the
          never-removed run switches schedule at ``max(finite t)`` without unblurring;
        * ``"constant"``: ``lr`` at every epoch (``lr_decay`` unused).
    batch_size : int, default 64
    n_train : int, optional
        Use only the first ``n_train`` training digits (default all, about 1258).
    test_fraction : float, default 0.3
        Share of the 1797 digits held out for the test accuracy (seeded split).
    fisher_samples : int, default 200
        Size of the fixed probe subset of the training set on which the Fisher trace is
        computed after each epoch, on the inputs the network is trained on at that epoch
        (blurred during the deficit).
    fisher_kind : {"true", "empirical"}, default "true"
        Passed to :func:`mi_probe.fisher_diagonal` (labels sampled from the model, or the
        data labels).
    n_repeats : int, default 1
        Independent repeats (seeds ``random_state + r`` for the initialisation and the
        minibatch order; the train/test split is fixed by ``random_state``).
    random_state : int, default 0
    device : str or torch.device, default "cpu"
    progress : bool, default True
        Progress bar on stderr.

    Returns
    -------
    CriticalPeriodsResult
        ``summary`` (one row per removal epoch), ``history`` (per epoch) and ``params``.

    Raises
    ------
    ValueError
        Bad ``removal_epochs`` (empty, duplicates, negative or non-integer entries), a
        non-positive count or rate, ``blur_size`` outside 1..7, ``lr_decay`` or
        ``momentum`` outside their ranges, ``test_fraction`` outside (0, 1), too large
        ``n_train``, unknown ``fisher_kind``, or a CUDA ``device`` without CUDA.

    Notes
    -----
    With the default ``"global"`` schedule the clean phase of a late removal runs at a
    decayed rate, so part of a drop in accuracy can be under-training rather than a
    critical period. Achille et al. control for this by training a fixed number of
    epochs after the removal and by a constant learning rate; ``"restart"`` and
    ``"constant"`` are those controls here: the number of clean epochs (``post_epochs``)
    and, with ``"restart"``, their learning rates are the same for every ``t``.

    The global torch and numpy RNG states are left as they were: the model is
    initialised inside ``torch.random.fork_rng`` and the minibatch order comes from a
    local ``torch.Generator``.

    References
    ----------
    .. [1] A. Achille, M. Rovere, S. Soatto, "Critical learning periods in deep
       networks", ICLR 2019.

    Examples
    --------
    >>> from mi_probe.experiments import critical_periods, TINY  # doctest: +SKIP
    >>> res = critical_periods(progress=False, **TINY)  # doctest: +SKIP
    >>> res.summary[["removal", "test_accuracy"]]  # doctest: +SKIP
    """
    pd = require("pandas", "critical_periods")
    removals = _check_removals(removal_epochs)
    post_epochs = check_int(post_epochs, "post_epochs", low=1)
    blur_size = check_int(blur_size, "blur_size", low=1, high=7)
    width = check_int(width, "width", low=1)
    lr = check_positive(lr, "lr")
    lr_decay = check_positive(lr_decay, "lr_decay")
    if lr_decay > 1:
        raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay}")
    check_choice(lr_schedule, "lr_schedule", _SCHEDULES)
    momentum = check_positive(momentum, "momentum", allow_zero=True)
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
    batch_size = check_int(batch_size, "batch_size", low=1)
    if n_train is not None:
        n_train = check_int(n_train, "n_train", low=2)
    test_fraction = check_positive(test_fraction, "test_fraction")
    if test_fraction >= 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    fisher_samples = check_int(fisher_samples, "fisher_samples", low=1)
    check_choice(fisher_kind, "fisher_kind", ("true", "empirical"))
    n_repeats = check_int(n_repeats, "n_repeats", low=1)
    random_state = check_int(random_state, "random_state", low=0)
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r}: CUDA is not available on this machine")

    from ..weights.weight_information import fisher_diagonal

    x_tr, y_tr, x_te, y_te = _digits(random_state, n_train, test_fraction)
    x_tr, y_tr, x_te, y_te = (t.to(dev) for t in (x_tr, y_tr, x_te, y_te))
    x_tr_blur = blur(x_tr, blur_size)
    n_probe = min(fisher_samples, x_tr.shape[0])
    finite = [r for r in removals if r is not None]
    never_epochs = (max(finite) if finite else 0) + post_epochs

    rows: list[dict[str, Any]] = []
    jobs = [(rep, r) for rep in range(n_repeats) for r in removals]
    for rep, removal in _progress(jobs, desc="critical periods", enabled=progress):
        seed = random_state + rep
        total = never_epochs if removal is None else removal + post_epochs
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = make_cnn(width).to(dev)
        opt = torch.optim.SGD(
            model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
        )
        gen = torch.Generator().manual_seed(seed)
        label = "never" if removal is None else str(removal)
        switch = max(finite, default=0) if removal is None else removal

        def record(
            epoch: int,
            blurred: bool,
            cur_lr: float,
            loss: float,
            *,
            model: nn.Module = model,
            seed: int = seed,
            rep: int = rep,
            label: str = label,
            removal: int | None = removal,
        ) -> None:
            probe_x = (x_tr_blur if blurred else x_tr)[:n_probe]
            fd = fisher_diagonal(
                model, (probe_x, y_tr[:n_probe]), kind=fisher_kind, random_state=seed
            )
            model.eval()
            acc = _accuracy(model, x_te, y_te)
            rows.append(
                {
                    "repeat": rep,
                    "removal": label,
                    "removal_epoch": math.nan if removal is None else float(removal),
                    "epoch": epoch,
                    "blurred": blurred,
                    "lr": cur_lr,
                    "train_loss": loss,
                    "test_accuracy": acc,
                    "fisher_trace": float(sum(float(v.sum()) for v in fd.values())),
                }
            )

        record(0, removal is None or removal > 0, math.nan, math.nan)
        for epoch in range(total):
            blurred = removal is None or epoch < removal
            xs = x_tr_blur if blurred else x_tr
            cur_lr = _epoch_lr(lr_schedule, lr, lr_decay, epoch, switch)
            for g in opt.param_groups:
                g["lr"] = cur_lr
            model.train()
            order = torch.randperm(xs.shape[0], generator=gen).to(dev)
            losses = []
            for i in range(0, xs.shape[0], batch_size):
                idx = order[i : i + batch_size]
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(xs[idx]), y_tr[idx])
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
            next_blurred = removal is None or epoch + 1 < removal
            record(epoch + 1, next_blurred, cur_lr, float(np.mean(losses)))
        model.eval()
        rows[-1]["train_accuracy"] = _accuracy(model, x_tr, y_tr)

    history = pd.DataFrame(rows)
    summary_rows = []
    for removal in removals:
        label = "never" if removal is None else str(removal)
        h = history[history["removal"] == label]
        last = h[h["epoch"] == h["epoch"].max()]
        curve = h.groupby("epoch")["fisher_trace"].mean()
        summary_rows.append(
            {
                "removal": label,
                "removal_epoch": math.nan if removal is None else float(removal),
                "total_epochs": int(h["epoch"].max()),
                # history row e (>= 1) follows training epoch e - 1
                "clean_epochs": 0
                if removal is None
                else int((h[h["repeat"] == h["repeat"].iloc[0]]["epoch"] > removal).sum()),
                "final_lr": float(last["lr"].iloc[0]),
                "test_accuracy": float(last["test_accuracy"].mean()),
                "test_accuracy_std": float(last["test_accuracy"].std(ddof=1))
                if len(last) > 1
                else math.nan,
                "train_accuracy": float(last["train_accuracy"].mean()),
                "peak_fisher_epoch": int(curve.idxmax()),
                "peak_fisher_trace": float(curve.max()),
            }
        )
    history = history.drop(columns=["train_accuracy"])
    params = {
        "removal_epochs": [("never" if r is None else r) for r in removals],
        "post_epochs": post_epochs,
        "blur_size": blur_size,
        "width": width,
        "lr": lr,
        "lr_decay": lr_decay,
        "lr_schedule": lr_schedule,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "batch_size": batch_size,
        "n_train": int(x_tr.shape[0]),
        "n_test": int(x_te.shape[0]),
        "test_fraction": test_fraction,
        "fisher_samples": n_probe,
        "fisher_kind": fisher_kind,
        "n_repeats": n_repeats,
        "random_state": random_state,
        "device": str(dev),
    }
    return CriticalPeriodsResult(pd.DataFrame(summary_rows), history, params)
