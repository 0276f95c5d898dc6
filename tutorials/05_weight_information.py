"""Tutorial 5: how much do a network's weights know about its training set?

Train a small MLP on scikit-learn's 8x8 digits and, after every epoch, measure per layer

* the trace of the (true) Fisher information of the weights, and
* the information in the weights in nats, ``KL(q(w|D) || p(w))`` for the Gaussian
  posterior of Achille et al. (2019) around the current weights (``method="fisher"``),

with ``mi_probe.WeightInformationRecorder``. Achille, Rovere and Soatto (ICLR 2019) report
that the Fisher trace rises in the first epochs (the network extracts information) and
then falls (it consolidates); this script prints what it measured, so you can see whether
that happens on this small task. At the end it fits the variational posterior
(``method="variational"``) at three values of beta and shows the KL shrinking as beta grows.

Run::

    python tutorials/05_weight_information.py            # ~1 minute on a laptop CPU
    python tutorials/05_weight_information.py --tiny     # 20-45 s (smoke test; see below)
    python tutorials/05_weight_information.py --out results/   # default: tutorial_05_output/

``--tiny`` measured 2026-12-04 on a shared 2-core box (load 2-4.5), OMP_NUM_THREADS=1
or unset (no consistent difference); about 10 s of it is importing torch and mi_probe.

Results go to stdout. Progress (the epochs of training and Fisher, the variational fits)
goes to stderr: a bar on a terminal, a line at most every 5 s in a log file or a pipe
(``--progress-every 0``: a line for every step of the tutorial's own loops); ``--quiet``
turns it off.

Writes ``weight_information.csv`` (the recorder's table) and ``fisher_trace.png`` under
``--out`` (``--plot PATH`` puts the figure elsewhere).

"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

from mi_probe import WeightInformationRecorder, weight_information
from mi_probe._progress import progress


def main() -> None:
    ap = argparse.ArgumentParser(description="information in the weights during training")
    ap.add_argument("--tiny", action="store_true", help="3 epochs on 200 samples")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--out", default="tutorial_05_output", help="folder for the CSV and the plot")
    ap.add_argument(
        "--plot", default=None, help="the Fisher-trace plot (default: OUT/fisher_trace.png)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    ap.add_argument(
        "--progress-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds between progress updates (default: 0.2 on a terminal, 5 in a log)",
    )
    args = ap.parse_args()
    show = not args.quiet  # progress on stderr; the results go to stdout

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    n = 200 if args.tiny else x.shape[0]
    epochs = 3 if args.tiny else args.epochs
    g = torch.Generator().manual_seed(args.seed)
    perm = torch.randperm(x.shape[0], generator=g)[:n]
    x, y = x[perm], y[perm]

    torch.manual_seed(args.seed)
    model = nn.Sequential(
        nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True, generator=g
    )
    # the Fisher on a fixed subset of 300 training samples keeps each record cheap;
    # n_train tells the closed form how many samples the training loss sums over
    probe = (x[:300], y[:300])
    rec = WeightInformationRecorder(model, probe, n_train=n, prior_std=0.1, random_state=1)
    rec.record(0)
    for epoch in progress(
        range(1, epochs + 1),
        desc="epochs (training, Fisher)",
        enabled=show,
        min_interval=args.progress_every,
    ):
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
        rec.record(epoch)
    df = rec.to_frame()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "weight_information.csv", index=False)
    with torch.no_grad():
        acc = float((model(x).argmax(1) == y).float().mean())
    print(f"train accuracy after {epochs} epochs: {acc:.3f}")
    table = df.pivot(index="epoch", columns="layer", values="fisher_trace")
    print("\nFisher trace per layer (nats per sample):")
    print(table.round(3).to_string())
    total = table.sum(axis=1)
    peak = int(total.idxmax())
    print(
        f"\ntotal Fisher trace: {total.iloc[0]:.3f} at epoch 0, peak {total.max():.3f} at "
        f"epoch {peak}, {total.iloc[-1]:.3f} at the end"
    )
    info = df.pivot(index="epoch", columns="layer", values="information").sum(axis=1)
    logdet = df.pivot(index="epoch", columns="layer", values="logdet_term").sum(axis=1)
    print(f"information in the weights (nats, all layers): {np.round(info.values, 1).tolist()}")
    print(
        "its data-dependent log-det term (nats; the rest is ||w||^2 / (2 lambda^2) and the "
        f"trace term): {np.round(logdet.values, 1).tolist()}"
    )

    fits = {}
    for beta in progress(
        (0.1, 1.0, 10.0),
        desc="variational posterior fits",
        enabled=show,
        min_interval=args.progress_every,
    ):
        fits[beta] = weight_information(
            model,
            (x, y),
            method="variational",
            beta=beta,
            prior_std=0.1,
            n_steps=50 if args.tiny else 300,
            random_state=2,
        )
    print("\nvariational posterior, KL(q||p) in nats vs beta:")
    for beta, v in fits.items():
        print(
            f"  beta={beta:<5} KL={v['kl_total'].iloc[0]:9.1f}  "
            f"E_q[NLL]={v['expected_nll'].iloc[0]:.3f}  NLL(w*)={v['nll_at_mean'].iloc[0]:.3f}"
        )

    plot = Path(args.plot) if args.plot else out / "fisher_trace.png"
    import matplotlib

    matplotlib.use("Agg")
    from mi_probe.plotting.weight_information import plot_weight_information

    ax = plot_weight_information(df, y="fisher_trace")
    ax.figure.savefig(plot, dpi=120, bbox_inches="tight")
    print(f"\nwrote {out / 'weight_information.csv'} and {plot}")


if __name__ == "__main__":
    main()
