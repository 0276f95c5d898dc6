"""Tutorial 2: how invariant is each layer of a CNN to rotations and occlusions?

Train a small CNN on scikit-learn's 8x8 digits (with random rotations and occluding
patches as augmentation, as one trains for robustness), then measure, per layer z,

* ``I(z; n)`` for the rotation angle and for the occluding patch (row, column, size), with
  the level a permutation test gives to shuffled nuisances (``I_zn_null``),
* the invariance score ``1 - I(z; n) / I(x; n)`` with a half-sample interval,
* ``I(z; y)`` for the digit labels,

with ``mi_probe.invariance``, and write an HTML + Markdown report with
``mi_probe.analysis.report.report``. Deeper layers come out more invariant than the input.

Run::

    python tutorials/02_invariance.py                 # ~2-4 minutes on a laptop CPU
    python tutorials/02_invariance.py --tiny          # ~20 s (smoke test; shared 2-core box)
    python tutorials/02_invariance.py --out report/   # default: tutorial_02_output/

"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

import mi_probe
from mi_probe.analysis.invariance import Occlusion, Rotation
from mi_probe.analysis.report import report


def make_model() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),  # 0, 1
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),  # 2, 3
        nn.MaxPool2d(2),
        nn.Flatten(),  # 4, 5
        nn.Linear(16 * 4 * 4, 32),
        nn.ReLU(),  # 6, 7
        nn.Linear(32, 10),  # 8 (logits)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description="per-layer nuisance invariance of a CNN")
    ap.add_argument("--tiny", action="store_true", help="300 samples, 1 epoch, few permutations")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--samples", type=int, default=1000, help="samples used for the estimates")
    ap.add_argument("--out", default="tutorial_02_output", help="report folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    args = ap.parse_args()

    # these models are tiny: one thread is as fast and avoids oversubscribing shared CPUs
    torch.set_num_threads(args.threads)
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)  # (n, 1, 8, 8)
    y = torch.tensor(digits.target)
    epochs = 1 if args.tiny else args.epochs
    n_est = 200 if args.tiny else args.samples
    n_perm, n_res = (2, 0) if args.tiny else (20, 10)
    if args.tiny:
        x, y = x[:300], y[:300]

    rotation, occlusion = Rotation(max_degrees=30), Occlusion(sizes=(2, 3, 4), fill=1.0)
    torch.manual_seed(args.seed)
    aug_rng = np.random.default_rng(args.seed)
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for epoch in range(epochs):
        perm = torch.randperm(x.shape[0])
        for s in range(0, x.shape[0], 64):
            b = perm[s : s + 64]
            xb, _ = rotation(x[b], aug_rng)  # the same transform families as the measurement
            xb, _ = occlusion(xb, aug_rng)
            loss = nn.functional.cross_entropy(model(xb), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (model(x).argmax(1) == y).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, clean accuracy {acc:.3f}")

    layers = ["1", "3", "7", "8"]  # conv1, conv2 (after ReLU), fc, logits
    cols = ["layer", "I_zn", "I_zn_null", "invariance", "invariance_low", "invariance_high", "I_zy"]
    for name, nuisance in (("rotation", rotation), ("occlusion", occlusion)):
        df = mi_probe.invariance(
            model,
            (x, y),
            layers=layers,
            nuisance=nuisance,
            max_samples=n_est,
            n_permutations=n_perm,
            n_resamples=n_res,
            random_state=args.seed,
        )
        print(f"\n{name} (estimator: {df['estimator'].iloc[0]}, nats):")
        print(df[cols].round(3).to_string(index=False))
        first, last = df["invariance"].iloc[1], df["invariance"].iloc[-1]
        print(f"invariance: input 0, first probed layer {first:.2f}, logits {last:.2f}")

    df = report(
        model,
        (x, y),
        layers=layers,
        nuisances={"rotation": rotation, "occlusion": occlusion},
        out=args.out,
        max_samples=n_est,
        n_permutations=n_perm,
        n_resamples=n_res,
        title="Digits CNN: information and invariance per layer",
        random_state=args.seed,
    )
    print(f"\nreport written to {df.attrs['files']['html']}")


if __name__ == "__main__":
    main()
