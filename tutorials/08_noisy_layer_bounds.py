"""Tutorial 8: bracket the information of a noisy layer from both sides.

A layer with known Gaussian noise (here ``mi_probe.layers.InformationDropout``, whose
log-activations are ``N(mu(x), diag alpha(x)^2)`` given the input) has an I(x; z) that
can be bounded from above and from below, and estimated in between:

* upper bounds: ``E_x KL(q(z|x) || r(z))`` for any r -- a standard normal, a mixture
  fitted to the encoder's outputs, or the layer's own learned prior (the KL term it
  adds to the loss);
* the exact-noise Monte-Carlo estimate for x uniform over the inputs, with the
  pairwise-distance bounds of Kolchinsky & Tracey around it;
* lower bounds from samples alone, as for a layer whose noise you do not know: the
  neural estimators (InfoNCE, NWJ) on (x, z) pairs drawn through the layer.

The UCI handwritten digits ship with scikit-learn (1797 images of 8x8 pixels), so this
runs offline:

    python tutorials/08_noisy_layer_bounds.py           # under a minute on a CPU
    python tutorials/08_noisy_layer_bounds.py --tiny    # 40-105 s (what CI runs; see below)

``--tiny`` measured 2026-12-04 on a shared 2-core box (load 2-4.5): 38-61 s with
OMP_NUM_THREADS=1, 65-104 s unset (most of the difference in the mixture bound).

Results go to stdout. Progress (the training epochs, the bounds, each neural estimator's
steps) goes to stderr: a bar on a terminal, a line at most every 5 s in a log file or a
pipe (``--progress-every 0``: a line for every step of the tutorial's own loops);
``--quiet`` turns it off.

It writes ``bounds.csv`` (one row per method: kind, value in nats) and ``bounds.png``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from torch import nn  # noqa: E402

import mi_probe  # noqa: E402
from mi_probe._progress import progress  # noqa: E402
from mi_probe.estimators.neural import gaussian_encoder_kl_bound, gaussian_encoder_mi  # noqa: E402
from mi_probe.layers import InformationDropout  # noqa: E402


class NoisyClassifier(nn.Module):
    """pixels (64) -> InformationDropout (16 noisy units) -> linear -> 10 classes."""

    def __init__(self, units: int = 16) -> None:
        super().__init__()
        self.noisy = InformationDropout(64, units)
        self.head = nn.Linear(units, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.noisy(x))


def train(
    model: NoisyClassifier,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    beta: float,
    seed: int,
    show: bool = False,
    progress_every: float | None = None,
) -> None:
    """Cross-entropy plus beta times the layer's KL: the Information Bottleneck Lagrangian.

    ``show``: progress over the epochs on stderr, an update at most every
    ``progress_every`` seconds (None: the default of ``mi_probe._progress.progress``).
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in progress(
        range(epochs), desc="training epochs", enabled=show, min_interval=progress_every
    ):
        for idx in torch.randperm(len(x), generator=gen).split(128):
            logits = model(x[idx])
            loss = nn.functional.cross_entropy(logits, y[idx]) + beta * model.noisy.last_kl.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiny",
        action="store_true",
        default=bool(os.environ.get("MI_PROBE_TINY")),
        help="fewer epochs and steps (smoke test); also set by MI_PROBE_TINY=1",
    )
    parser.add_argument("--out", default="tutorial_08_output", help="folder for the CSV and figure")
    parser.add_argument("--beta", type=float, default=0.3, help="weight of the KL term")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--progress-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds between progress updates (default: 0.2 on a terminal, 5 in a log)",
    )
    args = parser.parse_args()
    show = not args.quiet  # progress on stderr; the results go to stdout
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)

    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32)
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-6)
    y = torch.tensor(digits.target)
    model = NoisyClassifier()
    epochs = 5 if args.tiny else 60
    print(
        f"training 64 -> InformationDropout(16) -> 10 on {len(x)} digits, "
        f"beta={args.beta}, {epochs} epochs"
    )
    train(
        model,
        x,
        y,
        epochs=epochs,
        beta=args.beta,
        seed=args.seed,
        show=show,
        progress_every=args.progress_every,
    )
    with torch.no_grad():
        accuracy = float((model(x).argmax(1) == y).float().mean())
        # the encoder of log z: Gaussian with mean mu(x) and std alpha(x), per unit
        mu, alpha = model.noisy.encoder(x)
        own_kl = float(model.noisy.kl(x).mean())
    print(f"train accuracy {accuracy:.3f}")

    rows: list[dict] = []

    def add(method: str, kind: str, value: float, note: str = "") -> None:
        rows.append({"method": method, "kind": kind, "nats": value, "note": note})
        print(f"  {kind:>8}  {value:6.3f} nats  {method}  {note}")

    print(
        "I(x; z) of the noisy layer, x uniform over the 1797 images "
        f"(at most ln 1797 = {np.log(len(x)):.2f} nats):"
    )
    # three calls on the encoder's (mu, alpha); the exact-noise Monte Carlo over all
    # 1797 x 1797 pairs is the longest, so a bar over the calls shows where the run is
    calls = [
        ("standard normal", gaussian_encoder_kl_bound, {"prior": "standard_normal"}),
        ("mixture", gaussian_encoder_kl_bound, {"prior": "mixture", "n_components": 10}),
        # (its own progress off: the bar over the calls covers it, and bars do not nest)
        ("monte carlo", gaussian_encoder_mi, {"n_mc_samples": 4, "progress": False}),
    ]
    res = {}
    for name, fn, kwargs in progress(
        calls, desc="bounds and estimate", enabled=show, min_interval=args.progress_every
    ):
        res[name] = fn(mu, alpha, random_state=0, **kwargs)
    # upper bounds: E_x KL(q(z|x) || r) for three choices of r
    add("KL to the layer's learned prior", "upper", own_kl, "the term in the loss")
    add("KL to a standard normal", "upper", float(res["standard normal"]))
    add("KL to a fitted 10-component mixture", "upper", float(res["mixture"]))
    # the exact-noise Monte-Carlo estimate, and the pairwise bounds around it
    mc = res["monte carlo"]
    add("pairwise bound (Bhattacharyya)", "lower", mc.interval[0])
    add("exact-noise Monte Carlo", "estimate", float(mc))
    add("pairwise bound (KL)", "upper", mc.interval[1])

    # lower bounds from samples only: draw z through the layer, several per image
    draws = 2 if args.tiny else 4
    gen = torch.Generator().manual_seed(args.seed + 1)
    xs = x.repeat(draws, 1)
    log_z = mu.repeat(draws, 1) + alpha.repeat(draws, 1) * torch.randn(
        draws * len(x), mu.shape[1], generator=gen
    )
    # each neural estimator draws its own progress over its training steps
    budget = dict(max_steps=200 if args.tiny else 2000, random_state=0, progress=show)
    for name in ("infonce", "nwj"):
        r = mi_probe.estimate_mi(xs, log_z, estimator=name, **budget)
        add(
            f"{name} from {len(xs)} (x, z) samples",
            "lower",
            float(r),
            f"ceiling {r.diagnostics['ceiling']:.2f}",
        )

    df = pd.DataFrame(rows)
    df.to_csv(out / "bounds.csv", index=False)

    import matplotlib.pyplot as plt

    colour = {"upper": "tab:red", "estimate": "tab:green", "lower": "tab:blue"}
    order = df.sort_values("nats")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.barh(order["method"], order["nats"], color=[colour[k] for k in order["kind"]])
    ax.axvline(float(mc), color="tab:green", lw=1, ls="--")
    ax.set_xlabel("I(x; z), nats")
    ax.set_title("red: upper bounds, green: estimate, blue: lower bounds", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "bounds.png", dpi=120)
    print(f"wrote {out / 'bounds.csv'} and {out / 'bounds.png'}")


if __name__ == "__main__":
    main()
