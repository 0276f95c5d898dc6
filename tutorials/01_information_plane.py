"""Tutorial 1: the information plane of a network you train yourself.

Run it:

    python tutorials/01_information_plane.py            # about a minute on a laptop CPU
    python tutorials/01_information_plane.py --tiny     # 25-45 s (what CI runs; see below)

``--tiny`` measured 2026-12-04 on a shared 2-core box (load 2-4.5), with
OMP_NUM_THREADS=1 and unset alike; about 10 s of it is importing torch and mi_probe.

Results go to stdout. Progress (the training epochs, each recording, the figures) goes
to stderr: a bar on a terminal, a line at most every 5 s in a log file or a pipe
(``--progress-every 0``: a line for every step of the tutorial's own loops); ``--quiet``
turns it off.

It walks through the three things mi_probe does for a PyTorch model:

1. ``mi_probe.attach`` puts forward hooks on the layers you name and ``collect`` runs
   data through the model to get each layer's activations (the model is not changed).
2. ``mi_probe.InformationPlaneRecorder`` turns the activations into the two
   information-plane coordinates of every layer T, I(X;T) and I(T;Y), at the epochs
   you choose, inside your own training loop.
3. ``mi_probe.plotting`` draws the trajectories.

All numbers are in nats (the figures convert to bits).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, open no window

import torch  # noqa: E402
from torch import nn  # noqa: E402

import mi_probe  # noqa: E402
from mi_probe._progress import progress  # noqa: E402
from mi_probe.analysis.information_plane import log_spaced_epochs  # noqa: E402
from mi_probe.experiments.demo import twelve_bit_task  # noqa: E402
from mi_probe.plotting import plot_information_plane, plot_mi_over_epochs, save_figure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiny",
        action="store_true",
        default=bool(os.environ.get("MI_PROBE_TINY")),
        help="a few epochs only (smoke test); also set by MI_PROBE_TINY=1",
    )
    parser.add_argument(
        "--out", default="tutorial_01_output", help="folder for the figures and CSV"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--progress-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds between progress updates (default: 0.2 on a terminal, 5 in a log)",
    )
    args = parser.parse_args()
    show = not args.quiet  # progress on stderr; the results below go to stdout
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    epochs = 5 if args.tiny else 300
    torch.manual_seed(0)

    # --- the data: all 4096 patterns of 12 bits, labels from a symmetric rule ---------
    x, y = twelve_bit_task()
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    perm = torch.randperm(len(x))
    train = perm[: int(0.8 * len(x))]

    # --- any PyTorch model works; here a small tanh network ---------------------------
    model = nn.Sequential(
        nn.Linear(12, 10),
        nn.Tanh(),
        nn.Linear(10, 7),
        nn.Tanh(),
        nn.Linear(7, 5),
        nn.Tanh(),
        nn.Linear(5, 4),
        nn.Tanh(),
        nn.Linear(4, 3),
        nn.Tanh(),
        nn.Linear(3, 2),
    )

    # --- 1. probes: hooks on layers given by name, module, or type --------------------
    # Layers may be dotted names ("3"), module objects (model[3]), module types (nn.Tanh)
    # or "all" leaf modules. An unknown name raises a ValueError listing the valid ones.
    with mi_probe.attach(model, layers=nn.Tanh) as probe:
        acts = probe.collect(x, progress_bar=False)  # eval mode, no_grad, float32 on CPU
    print("activations before training:", {k: tuple(v.shape) for k, v in acts.items()})

    # --- 2. record the information plane from your own training loop ------------------
    # binning: 30 bins over tanh's range [-1, 1] (width 1/15), as Shwartz-Ziv & Tishby;
    # kde: Gaussian noise of variance 0.1 added to each layer, as Saxe et al.
    layers = [name for name, m in model.named_modules() if isinstance(m, nn.Tanh)] + ["10"]
    recorder = mi_probe.InformationPlaneRecorder(
        model,
        x,
        y,
        layers=layers,
        estimators=("binning", "kde"),
        max_samples=512 if args.tiny else None,  # a fixed random probe subset, if you like
        params={
            "binning": {"strategy": "fixed", "bin_size": 2 / 30},
            "kde": {"noise_variance": 0.1},
        },
        progress_bar=show,  # progress of each recording (collection, layers x estimators)
    )
    record_at = log_spaced_epochs(epochs, 12 if not args.tiny else 3, start=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    trained = 0  # epoch 0 records the untrained network
    for epoch in record_at:
        # train up to the next recording epoch (the bar ends before anything is printed)
        for _ in progress(
            range(trained + 1, epoch + 1),
            desc=f"training to epoch {epoch}",
            enabled=show,
            min_interval=args.progress_every,
        ):
            model.train()
            for batch in train[torch.randperm(len(train))].split(256):
                loss = loss_fn(model(x[batch]), y[batch])
                opt.zero_grad()
                loss.backward()
                opt.step()
        trained = epoch
        with torch.no_grad():
            train_loss = loss_fn(model(x[train]), y[train]).item()
        recorder.record(epoch, train_loss=train_loss)
        print(f"epoch {epoch:4d}  train loss {train_loss:.4f}")

    df = recorder.dataframe  # tidy: epoch, layer, estimator, I_XT, I_TY, train_loss, ...
    recorder.save(out / "information_plane.csv")  # .parquet works too (with pyarrow)
    print(df[["epoch", "layer", "estimator", "I_XT", "I_TY"]].tail(12).to_string(index=False))

    # --- 3. plot ------------------------------------------------------------------------
    for est in progress(
        ("binning", "kde"), desc="figures", enabled=show, min_interval=args.progress_every
    ):
        ax = plot_information_plane(df, estimator=est)
        save_figure(ax, out / f"information_plane_{est}.png")
        axes = plot_mi_over_epochs(df, estimator=est)
        save_figure(axes, out / f"mi_over_epochs_{est}.png")
    print(f"figures and CSV written to {out}/")


if __name__ == "__main__":
    main()
