"""The classic information-plane demo: the 12-bit task of Shwartz-Ziv & Tishby.

``mi-probe demo`` trains a 12-10-7-5-4-3-2 network with tanh and with ReLU units on
the 4096 binary patterns of 12 bits, records the information plane of every layer with
binning and with the noisy-layer KDE estimate, and writes figures and a CSV.

What the literature reports, and what this demo reproduces (checked over seeds in
``tests/experiments/test_demo.py``): with binning, the I(X;T) of tanh layers first rises while the
network fits the labels and then falls late in training ("compression", Shwartz-Ziv &
Tishby 2017), because the tanh units saturate and whole groups of inputs land in the
same bin; ReLU layers, which do not saturate, show no such late decrease (Saxe et al.
2018).

One training run is not enough to read this from: in a minority of seeds (1 in 10 at the
default settings on torch 2.13 CPU, seed 0 there) the units of the narrow deep ReLU layers
switch off for about half of the inputs late in training while their activations stay
small, so the binned I(X;T) of those layers falls too (and there the tanh network
compresses less). Which seeds do so depends on the platform's floating point. So the demo trains
``n_seeds`` seeds (3 by default: ``seed, seed + 1, seed + 2``) and judges the pattern on
the *median* over seeds of each activation's mean fall (:func:`pattern_verdict`), as
Shwartz-Ziv & Tishby averaged their information planes over many runs. The figures show
one real network, the median seed (:func:`median_seed`).

The labels
----------
Write the bits as spins ``s_i = 2 x_i - 1`` (i = 0..11) and let

    f(s) = sum_i s_i + 3 * sum_{j=0,1,2} s_j s_{j+4} s_{j+8},    y = [f(s) > 0].

``f`` is invariant under the rotation of the 12 positions by 4 (i -> i + 4 mod 12:
the three "blades" {j, j+4, j+8} map onto themselves) and is odd under the complement
(``f(-s) = -f(s)``). It is a sum of 15 odd-weighted +-1 terms, hence an odd integer and
never 0; so each pattern and its complement get opposite labels and the classes are
*exactly* balanced, 2048 / 2048. The cubic "blade" terms make the rule non-linear (a
linear read-out of the bits does not solve it), like the spherical rule of the paper.

References
----------
R. Shwartz-Ziv, N. Tishby, "Opening the black box of deep neural networks via
information", arXiv:1703.00810 (2017).
A. M. Saxe et al., "On the information bottleneck theory of deep learning", ICLR 2018.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_choice, check_int, check_positive

__all__ = [
    "twelve_bit_task",
    "make_network",
    "train_and_record",
    "record_snapshots",
    "compression",
    "falls_by_seed",
    "pattern_shows",
    "pattern_verdict",
    "median_seed",
    "run_demo",
    "DIMS",
    "PROBED_LAYERS",
    "DEFAULTS",
]

DIMS = (12, 10, 7, 5, 4, 3, 2)
#: the recorded layers: the five hidden activations and the output (logits)
PROBED_LAYERS = ("act1", "act2", "act3", "act4", "act5", "out")
HIDDEN_LAYERS = PROBED_LAYERS[:5]
ACTIVATIONS = ("tanh", "relu")

#: Settings of the default demo. ``epochs``, ``n_records`` and ``n_seeds`` were chosen on
#: seeds 0-4 and confirmed on seeds 5-9 (numbers in the README and in
#: ``tests/experiments/test_demo.py``); the rest follow the literature's setup.
DEFAULTS: dict[str, Any] = {
    "epochs": 400,
    "lr": 0.05,
    "momentum": 0.9,
    "batch_size": 256,
    "train_fraction": 0.8,
    "n_records": 20,
    # seeds seed, seed + 1, ... trained by the demo; the verdict takes the median over them
    "n_seeds": 3,
    # 30 bins over tanh's range [-1, 1]; the same width for every layer and activation
    "bin_size": 2.0 / 30.0,
    "noise_variance": 0.1,
}


def twelve_bit_task() -> tuple[np.ndarray, np.ndarray]:
    """All 4096 binary patterns of 12 bits and their labels (exactly 2048 of each class).

    Returns
    -------
    x : numpy.ndarray of float32, shape (4096, 12)
        Pattern ``k`` holds the bits of ``k``, most significant first, as 0.0 / 1.0.
    y : numpy.ndarray of int64, shape (4096,)
        ``[f(s) > 0]`` with ``s = 2x - 1`` and ``f`` the symmetric rule of the module
        docstring.

    Examples
    --------
    >>> x, y = twelve_bit_task()
    >>> x.shape, int(y.sum())
    ((4096, 12), 2048)
    """
    k = np.arange(4096)
    x = ((k[:, None] >> np.arange(11, -1, -1)) & 1).astype(np.float32)
    s = 2.0 * x - 1.0
    f = s.sum(axis=1) + 3.0 * sum(s[:, j] * s[:, j + 4] * s[:, j + 8] for j in range(3))
    return x, (f > 0).astype(np.int64)


def make_network(activation: str = "tanh", *, seed: int = 0) -> Any:
    """The 12-10-7-5-4-3-2 network with named layers ``fc1, act1, ..., act5, out``.

    Parameters
    ----------
    activation : {"tanh", "relu"}
        Hidden-unit non-linearity.
    seed : int
        Seed of the (PyTorch default) initialisation.

    Returns
    -------
    torch.nn.Sequential
        Outputs two logits.

    Raises
    ------
    ValueError
        Unknown ``activation`` or a negative ``seed``.
    """
    import torch
    from torch import nn

    check_choice(activation, "activation", ACTIVATIONS)
    seed = check_int(seed, "seed", low=0)
    gen_state = torch.get_rng_state()
    torch.manual_seed(seed)
    try:
        mods: OrderedDict[str, nn.Module] = OrderedDict()
        for i in range(5):
            mods[f"fc{i + 1}"] = nn.Linear(DIMS[i], DIMS[i + 1])
            mods[f"act{i + 1}"] = nn.Tanh() if activation == "tanh" else nn.ReLU()
        mods["out"] = nn.Linear(DIMS[5], DIMS[6])
        net = nn.Sequential(mods)
    finally:
        torch.set_rng_state(gen_state)
    return net


def train_and_record(
    activation: str = "tanh",
    *,
    epochs: int = DEFAULTS["epochs"],
    estimators: Sequence[str] = ("binning", "kde"),
    seed: int = 0,
    lr: float = DEFAULTS["lr"],
    momentum: float = DEFAULTS["momentum"],
    batch_size: int = DEFAULTS["batch_size"],
    n_records: int = DEFAULTS["n_records"],
    bin_size: float = DEFAULTS["bin_size"],
    noise_variance: float = DEFAULTS["noise_variance"],
    device: str = "cpu",
    callback: Callable[[int, float], None] | None = None,
    progress_bar: bool = False,
    snapshots: dict[int, dict[str, Any]] | None = None,
) -> Any:
    """Train the 12-bit network once and record its information plane.

    Training: SGD with momentum on a seeded 80 % split, cross-entropy, mini-batches.
    Recording: at ``n_records`` log-spaced epochs (and epoch 0, before training), on
    all 4096 inputs, with ``binning`` (fixed bins of width ``bin_size``) and/or ``kde``
    (noise variance ``noise_variance``).

    Parameters
    ----------
    activation : {"tanh", "relu"}
    epochs : int
    estimators : sequence of {"binning", "kde"}
    seed : int
        Seeds the initialisation, the split and the mini-batch order.
    lr, momentum, batch_size
        SGD settings.
    n_records : int
        Number of log-spaced recording epochs.
    bin_size, noise_variance : float
        Estimator settings.
    device : str
        Torch device to train and estimate on.
    callback : callable, optional
        Called as ``callback(epoch, train_loss)`` after every recorded epoch.
    progress_bar : bool
        Show progress over the epochs on stderr (a bar on a terminal, a line every few
        seconds in a log).
    snapshots : dict, optional
        If given, filled with ``epoch -> {"state_dict", "train_loss", "test_loss",
        "accuracy"}`` at every recorded epoch (CPU copies of the weights), for
        :func:`record_snapshots` to record other estimators later without training again.

    Returns
    -------
    pandas.DataFrame
        The recorder's table plus ``activation``, ``seed`` and ``accuracy`` columns.

    Raises
    ------
    ValueError
        Bad parameters.
    """
    import torch
    from torch import nn

    from .._progress import progress
    from .._threads import torch_threads
    from ..analysis.information_plane import InformationPlaneRecorder, log_spaced_epochs

    check_choice(activation, "activation", ACTIVATIONS)
    epochs = check_int(epochs, "epochs", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    n_records = check_int(n_records, "n_records", low=2)
    lr = check_positive(lr, "lr")
    momentum = check_positive(momentum, "momentum", allow_zero=True)
    seed = check_int(seed, "seed", low=0)
    for e in estimators:
        check_choice(e, "estimator", ("binning", "kde"))
    dev = torch.device(device)

    x, y = twelve_bit_task()
    g = np.random.default_rng(seed)
    perm = g.permutation(x.shape[0])
    n_train = int(round(DEFAULTS["train_fraction"] * x.shape[0]))
    tr, te = perm[:n_train], perm[n_train:]
    X = torch.as_tensor(x, device=dev)
    Y = torch.as_tensor(y, device=dev)
    net = make_network(activation, seed=seed).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    params: dict[str, dict[str, Any]] = {}
    if "binning" in estimators:
        params["binning"] = {"strategy": "fixed", "bin_size": bin_size}
    if "kde" in estimators:
        params["kde"] = {"noise_variance": noise_variance}
    rec = InformationPlaneRecorder(
        net, X, Y, layers=list(PROBED_LAYERS), estimators=list(estimators), params=params
    )
    schedule = set(log_spaced_epochs(epochs, n_records, start=0))
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    tr_t = torch.as_tensor(tr, device=dev)
    te_t = torch.as_tensor(te, device=dev)

    def evaluate() -> tuple[float, float, float]:
        net.eval()
        with torch.no_grad():
            logits = net(X)
            train_loss = float(loss_fn(logits[tr_t], Y[tr_t]))
            test_loss = float(loss_fn(logits[te_t], Y[te_t]))
            acc = float((logits[te_t].argmax(1) == Y[te_t]).float().mean())
        net.train()
        return train_loss, test_loss, acc

    # Tiny layers and a 4096-row kernel pass: the package's thread setting for its own
    # work (one torch thread by default, see mi_probe._threads; the caller's count is
    # restored afterwards).
    with torch_threads():
        epoch_range = range(0, epochs + 1)
        for epoch in progress(epoch_range, desc=f"{activation} epochs", enabled=progress_bar):
            if epoch > 0:
                net.train()
                order = tr_t[torch.randperm(n_train, generator=gen).to(dev)]
                for s in range(0, n_train, batch_size):
                    b = order[s : s + batch_size]
                    loss = loss_fn(net(X[b]), Y[b])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
            if epoch in schedule:
                train_loss, test_loss, acc = evaluate()
                rec.record(epoch, train_loss=train_loss, test_loss=test_loss, accuracy=acc)
                if snapshots is not None:
                    snapshots[epoch] = {
                        "state_dict": {
                            k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()
                        },
                        "train_loss": train_loss,
                        "test_loss": test_loss,
                        "accuracy": acc,
                    }
                if callback is not None:
                    callback(epoch, train_loss)
    df = rec.dataframe
    df["activation"] = activation
    df["seed"] = seed
    return df


def record_snapshots(
    activation: str,
    snapshots: dict[int, dict[str, Any]],
    *,
    estimators: Sequence[str] = ("kde",),
    seed: int = 0,
    bin_size: float = DEFAULTS["bin_size"],
    noise_variance: float = DEFAULTS["noise_variance"],
    device: str = "cpu",
) -> Any:
    """Record the information plane of weights saved by :func:`train_and_record`.

    The same recording as during training (all 4096 inputs, the same layers and
    estimator settings), on the network rebuilt at each saved epoch; so a run can be
    recorded with binning while it trains and with KDE afterwards, for one seed only.

    Parameters
    ----------
    activation : {"tanh", "relu"}
        The non-linearity the snapshots were trained with.
    snapshots : dict
        ``epoch -> {"state_dict", "train_loss", "test_loss", "accuracy"}``, as filled by
        ``train_and_record(..., snapshots=...)``.
    estimators : sequence of {"binning", "kde"}
    seed : int
        Stored in the ``seed`` column (the weights come from ``snapshots``).
    bin_size, noise_variance : float
        Estimator settings.
    device : str
        Torch device to estimate on.

    Returns
    -------
    pandas.DataFrame
        Rows as :func:`train_and_record` returns (values in nats), in epoch order.

    Raises
    ------
    ValueError
        Unknown ``activation`` or estimator, or empty ``snapshots``.
    """
    import torch

    from .._threads import torch_threads
    from ..analysis.information_plane import InformationPlaneRecorder

    check_choice(activation, "activation", ACTIVATIONS)
    for e in estimators:
        check_choice(e, "estimator", ("binning", "kde"))
    if not snapshots:
        raise ValueError("snapshots must hold at least one epoch, got none")
    dev = torch.device(device)
    x, y = twelve_bit_task()
    net = make_network(activation, seed=0).to(dev)
    params: dict[str, dict[str, Any]] = {}
    if "binning" in estimators:
        params["binning"] = {"strategy": "fixed", "bin_size": bin_size}
    if "kde" in estimators:
        params["kde"] = {"noise_variance": noise_variance}
    rec = InformationPlaneRecorder(
        net,
        torch.as_tensor(x, device=dev),
        torch.as_tensor(y, device=dev),
        layers=list(PROBED_LAYERS),
        estimators=list(estimators),
        params=params,
    )
    with torch_threads():
        for epoch in sorted(snapshots):
            snap = snapshots[epoch]
            net.load_state_dict(snap["state_dict"])
            rec.record(
                epoch,
                train_loss=snap["train_loss"],
                test_loss=snap["test_loss"],
                accuracy=snap["accuracy"],
            )
    df = rec.dataframe
    df["activation"] = activation
    df["seed"] = check_int(seed, "seed", low=0)
    return df


def compression(
    df: Any, *, estimator: str = "binning", layers: Sequence[str] = HIDDEN_LAYERS
) -> Any:
    """How much each layer's I(X;T) fell after its peak: ``max_epoch I(X;T) - final``.

    Parameters
    ----------
    df : pandas.DataFrame
        A table from :func:`train_and_record` (one activation), or several with
        ``activation`` and/or ``seed`` columns (one summary row per seed, activation and
        layer).
    estimator : str
        Which estimator's I(X;T).
    layers : sequence of str
        Which layers (default: the five hidden layers).

    Returns
    -------
    pandas.DataFrame
        Columns ``seed`` and ``activation`` (where ``df`` has them), ``layer``,
        ``peak_epoch``, ``peak``, ``final``, ``compression`` (all MI values in bits).

    Raises
    ------
    ValueError
        ``estimator`` not in ``df``.
    """
    import pandas as pd

    if estimator not in set(df["estimator"]):
        raise ValueError(
            f"estimator {estimator!r} is not in df; it holds {sorted(set(df['estimator']))}"
        )
    sub = df[(df["estimator"] == estimator) & df["layer"].astype(str).isin(list(layers))]
    keys = [k for k in ("seed", "activation") if k in sub.columns] + ["layer"]
    rows = []
    for key, d in sub.groupby(keys, sort=False):
        d = d.sort_values("epoch")
        bits = d["I_XT"].to_numpy() / math.log(2.0)
        i = int(np.argmax(bits))
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row.update(
            peak_epoch=d["epoch"].iloc[i],
            peak=bits[i],
            final=bits[-1],
            compression=bits[i] - bits[-1],
        )
        rows.append(row)
    return pd.DataFrame(rows)


def falls_by_seed(summary: Any) -> Any:
    """Each seed's mean fall of I(X;T) over the layers of a :func:`compression` summary.

    Parameters
    ----------
    summary : pandas.DataFrame
        A :func:`compression` table with ``activation`` and ``compression`` columns and,
        for several seeds, a ``seed`` column.

    Returns
    -------
    pandas.DataFrame
        One row per seed (index ``seed``; 0 when the summary has no ``seed`` column), one
        column per activation, in order of appearance: the mean over the layers of
        ``peak - final`` I(X;T), in bits.

    Raises
    ------
    ValueError
        ``summary`` lacks the ``activation`` or ``compression`` column.
    """
    for col in ("activation", "compression"):
        if col not in summary.columns:
            raise ValueError(f"summary must have a {col!r} column (from compression())")
    d = summary if "seed" in summary.columns else summary.assign(seed=0)
    acts = list(dict.fromkeys(d["activation"]))
    falls = d.pivot_table(index="seed", columns="activation", values="compression", aggfunc="mean")
    falls.columns.name = None
    return falls[acts]


def pattern_shows(tanh_fall: float, relu_fall: float) -> bool:
    """Whether falls of I(X;T) show the literature's pattern: tanh compresses, ReLU not.

    Parameters
    ----------
    tanh_fall, relu_fall : float
        Mean fall of the hidden layers' binned I(X;T) after its peak, in bits, for the
        tanh and the ReLU network (from :func:`compression`).

    Returns
    -------
    bool
        True when the tanh layers lose more than 1 bit and the ReLU layers less than
        half as much as the tanh layers.
    """
    return bool(tanh_fall > 1.0 and relu_fall < 0.5 * tanh_fall)


def pattern_verdict(summary: Any) -> tuple[Any, Any, bool | None]:
    """Judge the tanh-compresses / ReLU-does-not pattern on the median over seeds.

    Parameters
    ----------
    summary : pandas.DataFrame
        A binning :func:`compression` table over one or more seeds (``seed`` column).

    Returns
    -------
    falls : pandas.DataFrame
        :func:`falls_by_seed` of ``summary`` (bits), plus a boolean ``shows`` column
        (:func:`pattern_shows` per seed) where both activations are present.
    median : pandas.Series
        The median over seeds of each activation's mean fall (bits).
    shows : bool or None
        :func:`pattern_shows` applied to the medians; None unless both ``tanh`` and
        ``relu`` are in ``summary``.

    Raises
    ------
    ValueError
        ``summary`` lacks the ``activation`` or ``compression`` column.
    """
    falls = falls_by_seed(summary)
    median = falls.median(axis=0)
    if not {"tanh", "relu"} <= set(falls.columns):
        return falls, median, None
    falls = falls.assign(
        shows=[pattern_shows(t, r) for t, r in zip(falls["tanh"], falls["relu"], strict=True)]
    )
    return falls, median, pattern_shows(median["tanh"], median["relu"])


def median_seed(falls: Any) -> int:
    """The seed whose run is the median one, to draw as the representative network.

    Parameters
    ----------
    falls : pandas.DataFrame
        :func:`falls_by_seed` (or the ``falls`` of :func:`pattern_verdict`): bits, one row
        per seed.

    Returns
    -------
    int
        With both activations, the seed whose contrast ``tanh - relu`` (in bits) is the
        median over seeds; with one, the seed whose fall is. For an even number of seeds,
        the lower of the two middle ones; tied seeds stay in seed order.

    Raises
    ------
    ValueError
        ``falls`` is empty.
    """
    if len(falls) == 0:
        raise ValueError("falls must hold at least one seed, got an empty table")
    if {"tanh", "relu"} <= set(falls.columns):
        score = (falls["tanh"] - falls["relu"]).to_numpy()
    else:
        score = falls[[c for c in falls.columns if c in ACTIVATIONS][0]].to_numpy()
    order = np.argsort(score, kind="stable")
    return int(falls.index[order[(len(order) - 1) // 2]])


def run_demo(
    out: str | Path = "mi_probe_demo",
    *,
    epochs: int = DEFAULTS["epochs"],
    activation: str = "both",
    estimators: Sequence[str] = ("binning", "kde"),
    seed: int = 0,
    n_seeds: int = DEFAULTS["n_seeds"],
    device: str = "cpu",
    n_records: int = DEFAULTS["n_records"],
    verbose: bool = True,
    figures: bool = True,
) -> tuple[Any, Any]:
    """Run the demo: train, record, write ``information_plane.csv`` and figures to ``out``.

    Trains seeds ``seed, seed + 1, ..., seed + n_seeds - 1`` for each activation. With
    binning among ``estimators`` and several seeds, every seed is recorded with binning
    while it trains (what the verdict needs) and its weights are kept at every recorded
    epoch; the median seed (:func:`median_seed`) is then recorded with the other
    estimators from its saved weights (:func:`record_snapshots`), and it is the one the
    figures draw. ``n_seeds=1`` is a single run of ``seed`` recorded with every
    estimator while it trains.

    Parameters
    ----------
    out : str or Path
        Output folder (created).
    epochs : int
    activation : {"tanh", "relu", "both"}
    estimators : sequence of {"binning", "kde"}
    seed : int
        The first seed.
    n_seeds : int
        How many consecutive seeds to train.
    device : str
    n_records : int
    verbose : bool
        Print progress and the summary.
    figures : bool
        Write PNG figures (needs matplotlib) of the drawn (median) seed.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The full table (values in nats, a ``seed`` column; binning rows for every seed,
        the other estimators' rows for the drawn seed) and the binning compression summary
        (bits, one row per seed, activation and hidden layer).

    Raises
    ------
    ValueError
        Bad options.
    """
    import pandas as pd

    check_choice(activation, "activation", ACTIVATIONS + ("both",))
    seed = check_int(seed, "seed", low=0)
    n_seeds = check_int(n_seeds, "n_seeds", low=1)
    for e in estimators:
        check_choice(e, "estimator", ("binning", "kde"))
    estimators = list(dict.fromkeys(estimators))
    acts = list(ACTIVATIONS) if activation == "both" else [activation]
    seeds = list(range(seed, seed + n_seeds))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # the seeds other than the drawn one need only what the verdict reads: binning
    two_pass = n_seeds > 1 and "binning" in estimators and len(estimators) > 1
    first = ["binning"] if two_pass else estimators

    kept: dict[tuple[int, str], dict[int, dict[str, Any]]] = {}

    def train(act: str, s: int, ests: list[str]) -> Any:
        t0 = time.perf_counter()
        kept[(s, act)] = {}
        if verbose:
            print(
                f"training the 12-10-7-5-4-3-2 {act} network, seed {s}, for {epochs} epochs "
                f"({', '.join(ests)}) ...",
                flush=True,
            )
        df = train_and_record(
            act,
            epochs=epochs,
            estimators=ests,
            seed=s,
            device=device,
            n_records=n_records,
            progress_bar=verbose,
            snapshots=kept[(s, act)] if two_pass else None,
        )
        if verbose:
            last = df[df["epoch"] == df["epoch"].max()].iloc[0]
            print(
                f"  done in {time.perf_counter() - t0:.1f} s; test accuracy "
                f"{last['accuracy']:.3f}, train loss {last['train_loss']:.4f}",
                flush=True,
            )
        return df

    runs = {(s, act): train(act, s, first) for s in seeds for act in acts}
    table = pd.concat(runs.values(), ignore_index=True)
    if "binning" in estimators:
        summary = compression(table, estimator="binning")
        drawn = median_seed(falls_by_seed(summary))
    else:
        summary, drawn = pd.DataFrame(), seeds[0]
    if two_pass:
        others = [e for e in estimators if e != "binning"]
        for act in acts:
            t0 = time.perf_counter()
            if verbose:
                print(
                    f"recording the median seed {drawn}'s {act} network with "
                    f"{', '.join(others)} from its saved weights ...",
                    flush=True,
                )
            extra = record_snapshots(
                act, kept[(drawn, act)], estimators=others, seed=drawn, device=device
            )
            runs[(drawn, act)] = pd.concat([runs[(drawn, act)], extra], ignore_index=True)
            if verbose:
                print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
        table = pd.concat(runs.values(), ignore_index=True)
    kept.clear()
    from .._csv import write_csv

    write_csv(table, out / "information_plane.csv")
    if figures:
        _figures(table[table["seed"] == drawn], out, acts, estimators, drawn)
    if verbose:
        _print_summary(summary, out, seeds, drawn, figures)
    return table, summary


def _figures(table: Any, out: Path, acts: list[str], estimators: list[str], seed: int) -> None:
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
        with contextlib.suppress(Exception):  # pragma: no cover - a GUI backend in use
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import plot_information_plane, plot_mi_over_epochs, save_figure

    fig, axes = plt.subplots(
        len(acts), len(estimators), figsize=(5.6 * len(estimators), 4.3 * len(acts)), squeeze=False
    )
    for i, act in enumerate(acts):
        for j, est in enumerate(estimators):
            d = table[(table["activation"] == act) & (table["estimator"] == est)]
            label = (
                "binning (bins of width 1/15)" if est == "binning" else "KDE (noise variance 0.1)"
            )
            plot_information_plane(
                d, estimator=est, ax=axes[i, j], title=f"{act}: {label}", legend=(j == 0)
            )
    fig.suptitle(f"Information plane of the 12-bit task (12-10-7-5-4-3-2 network, seed {seed})")
    fig.tight_layout()
    save_figure(fig, out / "information_plane.png")
    plt.close(fig)
    for act in acts:
        for est in estimators:
            d = table[(table["activation"] == act) & (table["estimator"] == est)]
            axs = plot_mi_over_epochs(d, estimator=est)
            axs[0].figure.suptitle(f"{act}, {est}, seed {seed}")
            save_figure(axs[0], out / f"mi_over_epochs_{act}_{est}.png")
            plt.close(axs[0].figure)


def _print_summary(
    summary: Any, out: Path, seeds: list[int], drawn: int, figures: bool = True
) -> None:
    print()
    print("I(X;T) of the hidden layers with binning, in bits (peak over training -> final):")
    if summary.empty:
        print("  (binning not recorded)")
    else:
        d = summary[summary["seed"] == drawn]
        for act, g in d.groupby("activation", sort=False):
            cells = "  ".join(f"{r.layer} {r.peak:5.2f}->{r.final:5.2f}" for r in g.itertuples())
            print(f"  {act:4s} seed {drawn}: {cells}")
        falls, median, shows = pattern_verdict(summary)
        acts = [c for c in falls.columns if c in ACTIVATIONS]
        print("mean fall of the hidden layers' I(X;T) after its peak, in bits:")
        for s, r in falls.iterrows():
            cells = "  ".join(f"{a} {r[a]:4.2f}" for a in acts)
            mark = "" if shows is None else ("   pattern" if r["shows"] else "   no pattern")
            note = "   (drawn)" if s == drawn and len(seeds) > 1 else ""
            print(f"  seed {s}: {cells}{mark}{note}")
        if len(seeds) > 1:
            cells = "  ".join(f"{a} {median[a]:4.2f}" for a in acts)
            print(f"  median: {cells}")
        if shows is not None:
            where = (
                "this run" if len(seeds) == 1 else f"the median over seeds {seeds[0]}-{seeds[-1]}"
            )
            verdict = (
                f"in {where}, tanh layers compress (I(X;T) falls late in training), "
                "ReLU layers do not"
                if shows
                else f"the expected tanh-compresses / ReLU-does-not pattern did NOT show in {where}"
            )
            print(f"  -> {verdict}")
    figs = f" and the figures of seed {drawn} to {out}/" if figures else " (no figures drawn)"
    print(f"\nwrote {out / 'information_plane.csv'} (values in nats, a seed column){figs}")
