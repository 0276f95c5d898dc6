"""Tutorial 6: the information plane of a small CNN on real images.

scikit-learn ships the UCI handwritten digits (1797 images of 8x8 pixels, 10 classes)
with the package, so this runs offline:

    python tutorials/06_digits_cnn.py           # a minute or two on a CPU
    python tutorials/06_digits_cnn.py --tiny    # 18-50 s (what CI runs; see below)

``--tiny`` measured 2026-12-04 on a shared 2-core box (load 2-4.5): 18-40 s with
OMP_NUM_THREADS=1, 33-49 s unset; about 10 s of it is importing torch and mi_probe.

Results go to stdout. Progress (the training epochs, each recording, the figures) goes
to stderr: a bar on a terminal, a line at most every 5 s in a log file or a pipe
(``--progress-every 0``: a line for every step of the tutorial's own loops); ``--quiet``
turns it off.

Compared with tutorial 1 it shows: probing convolutional layers by *type*
(``nn.Conv2d``) and by dotted name inside a nested model (``"head.1"``); inputs that
are images (``X`` is each distinct image); ten classes; and a held-out test loss in the
recorded table. The binning estimate uses 30 equal-width bins per unit spanning that
unit's range at each epoch (``strategy="uniform"``, scale-free, so it suits ReLU layers
of any scale); the KDE estimate adds Gaussian noise of variance 0.1 to each layer.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from torch import nn  # noqa: E402

import mi_probe  # noqa: E402
from mi_probe._progress import progress  # noqa: E402
from mi_probe.analysis.information_plane import log_spaced_epochs  # noqa: E402
from mi_probe.plotting import plot_information_plane, plot_layer_grid, save_figure  # noqa: E402


class SmallCNN(nn.Module):
    """conv(1->8) - ReLU - pool - conv(8->16) - ReLU - pool - flatten - fc(64->32) - ReLU - fc(32->10)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 8 x 4 x 4
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 16 x 2 x 2
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiny",
        action="store_true",
        default=bool(os.environ.get("MI_PROBE_TINY")),
        help="a few epochs on a subset (smoke test); also set by MI_PROBE_TINY=1",
    )
    parser.add_argument(
        "--out", default="tutorial_06_output", help="folder for the figures and CSV"
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
    torch.manual_seed(0)
    epochs = 3 if args.tiny else 60

    # --- data: 8x8 grey images scaled to [0, 1], a seeded 75/25 split ----------------
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)  # (1797, 1, 8, 8)
    y = torch.tensor(digits.target, dtype=torch.long)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    n_train = int(0.75 * len(x))
    tr, te = perm[:n_train], perm[n_train:]
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x[tr], y[tr]), batch_size=64, shuffle=True
    )

    model = SmallCNN()

    # --- probes on a nested model: by type and by dotted name --------------------------
    with mi_probe.attach(model, layers=[nn.Conv2d, "head.2"]) as probe:
        acts = probe.collect(loader, max_samples=256, progress_bar=False)  # a DataLoader works too
    print("probed:", {k: tuple(v.shape) for k, v in acts.items()})  # conv maps are flattened

    # --- record on a fixed probe set (the training images; a subset when tiny) ---------
    layers = ["features.1", "features.4", "head.2", "head.3"]  # both conv ReLUs, fc ReLU, logits
    recorder = mi_probe.InformationPlaneRecorder(
        model,
        x[tr],
        y[tr],
        layers=layers,
        estimators=("binning", "kde"),
        params={"binning": {"n_bins": 30, "strategy": "uniform"}, "kde": {"noise_variance": 0.1}},
        max_samples=300 if args.tiny else None,
        progress_bar=show,  # progress of each recording (collection, layers x estimators)
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    record_at = log_spaced_epochs(epochs, 3 if args.tiny else 12, start=0)
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
            for xb, yb in loader:
                loss = loss_fn(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
        trained = epoch
        model.eval()
        with torch.no_grad():
            train_loss = loss_fn(model(x[tr]), y[tr]).item()
            logits = model(x[te])
            test_loss = loss_fn(logits, y[te]).item()
            acc = (logits.argmax(1) == y[te]).float().mean().item()
        recorder.record(epoch, train_loss=train_loss, test_loss=test_loss, test_accuracy=acc)
        print(f"epoch {epoch:3d}  train {train_loss:.3f}  test {test_loss:.3f}  acc {acc:.3f}")

    # Note: with 30 bins per unit, a layer of hundreds of units gives every image its own
    # cell, so binning reports I(X;T) = log n and I(T;Y) = H(Y) for the wide layers: the
    # finite-sample ceiling, not a property of the network. The KDE estimate, whose
    # noise sets the resolution, stays informative there; compare the two figures.
    df = recorder.dataframe
    recorder.save(out / "information_plane.csv")
    # H(Y) = log 10 = 2.30 nats bounds I(T;Y); the logits should approach it as the CNN learns
    last = df[(df.epoch == df.epoch.max()) & (df.estimator == "binning")]
    print(last[["layer", "I_XT", "I_TY"]].to_string(index=False), f"\nH(Y) = {np.log(10):.3f} nats")

    figures = [
        ("information_plane_binning.png", plot_information_plane, {"estimator": "binning"}),
        ("information_plane_kde.png", plot_information_plane, {"estimator": "kde"}),
        ("layers_binning.png", plot_layer_grid, {"estimator": "binning", "ncols": 2}),
    ]
    for name, plot, kwargs in progress(
        figures, desc="figures", enabled=show, min_interval=args.progress_every
    ):
        save_figure(plot(df, **kwargs), out / name)
    print(f"figures and CSV written to {out}/")


if __name__ == "__main__":
    main()
