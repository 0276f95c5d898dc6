"""Tutorial 3: disentanglement and total correlation of a beta-VAE against beta.

A synthetic "sprites" data set is generated in code: 16x16 binary images of a shape
(square, circle, triangle) at one of 3 scales and 8 x 8 positions, so every image has
four known generative factors (shape, scale, x, y). A small fully connected beta-VAE is
trained for several values of beta; for each we measure on the encoder means

* MIG, SAP, DCI, modularity and the FactorVAE score (``mi_probe.disentanglement_scores``),
* the total correlation of the aggregate posterior, ``TC(q(z))``, from the Gaussian
  encoder's (mu, logvar) (``mss_tc``, Chen et al. 2018),
* the reconstruction error,

showing the trade-off the beta-VAE paper (Higgins et al., ICLR 2017) reports: a larger
beta pushes TC down and (up to a point) disentanglement up, at the cost of
reconstruction. The script prints what it measured; small VAEs are noisy, so the full
run averages two seeds per beta.

Run::

    python tutorials/03_disentanglement.py              # a few minutes on a laptop CPU
    python tutorials/03_disentanglement.py --tiny       # ~22 s (smoke test; shared 2-core box)
    python tutorials/03_disentanglement.py --out results/   # default: tutorial_03_output/

"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import torch
from torch import nn

import mi_probe
from mi_probe.analysis.total_correlation import mss_tc

SIZE = 16


def sprites() -> tuple[np.ndarray, np.ndarray]:
    """All 3 shapes x 3 scales x 8 x 8 positions: images (576, 16, 16), factors (576, 4)."""
    ii, jj = np.mgrid[0:SIZE, 0:SIZE]
    images, factors = [], []
    for shape, scale, px, py in itertools.product(range(3), range(3), range(8), range(8)):
        r = 2 + scale  # half-size 2, 3, 4 pixels
        cx, cy = 4 + px, 4 + py  # centres 4..11 keep every sprite inside the canvas
        if shape == 0:  # square
            img = (np.abs(ii - cy) <= r - 0.5) & (np.abs(jj - cx) <= r - 0.5)
        elif shape == 1:  # circle
            img = (ii - cy) ** 2 + (jj - cx) ** 2 <= r * r
        else:  # triangle, apex up
            top = cy - r
            img = (ii >= top) & (ii <= cy + r) & (np.abs(jj - cx) <= (ii - top) / 2.0 + 0.5)
        images.append(img.astype(np.float32))
        factors.append((shape, scale, px, py))
    return np.stack(images), np.array(factors)


class VAE(nn.Module):
    def __init__(self, latent: int = 6, hidden: int = 256) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Flatten(),
            nn.Linear(SIZE * SIZE, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 2 * latent),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, SIZE * SIZE),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decoder(z), mu, logvar


def train(x: torch.Tensor, beta: float, epochs: int, seed: int) -> VAE:
    torch.manual_seed(seed)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    flat = x.reshape(x.shape[0], -1)
    for _ in range(epochs):
        for b in torch.randperm(x.shape[0]).split(64):
            logits, mu, logvar = model(x[b])
            rec = nn.functional.binary_cross_entropy_with_logits(logits, flat[b], reduction="sum")
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum()
            loss = (rec + beta * kl) / b.numel()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description="MIG and TC of a beta-VAE against beta")
    ap.add_argument("--tiny", action="store_true", help="2 betas, 3 epochs, 1 seed")
    ap.add_argument("--betas", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0, 16.0])
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument(
        "--out",
        default="tutorial_03_output",
        help="folder for disentanglement_vs_beta.csv and tradeoff.png",
    )
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    args = ap.parse_args()

    # these models are tiny: one thread is as fast and avoids oversubscribing shared CPUs
    torch.set_num_threads(args.threads)
    images, factors = sprites()
    x = torch.from_numpy(images)
    betas = [1.0, 4.0] if args.tiny else args.betas
    epochs = 3 if args.tiny else args.epochs
    seeds = 1 if args.tiny else args.seeds
    votes = 100 if args.tiny else 800
    print(f"{len(x)} sprites, factors (shape, scale, x, y); latent size 6; {epochs} epochs")

    rows = []
    for beta in betas:
        for seed in range(seeds):
            model = train(x, beta, epochs, seed)
            model.eval()
            with torch.no_grad():
                logits, mu, logvar = model(x)
                rec = nn.functional.binary_cross_entropy_with_logits(
                    logits, x.reshape(len(x), -1), reduction="sum"
                ).item() / len(x)
            scores = mi_probe.disentanglement_scores(
                mu, factors, factorvae_votes=votes, random_state=seed
            )
            tc = mss_tc(mu, logvar, random_state=seed).value
            active = int((logvar.exp().mean(0) < 0.8).sum())  # latents the encoder uses
            rows.append(
                {
                    "beta": beta,
                    "seed": seed,
                    "mig": scores["mig"],
                    "dci_disentanglement": scores["dci_disentanglement"],
                    "factorvae": scores["factorvae"],
                    "tc": tc,
                    "recon_nats": rec,
                    "active_latents": active,
                }
            )
            r = rows[-1]
            print(
                f"beta={beta:5.1f} seed={seed}: MIG {r['mig']:.3f}  DCI-D "
                f"{r['dci_disentanglement']:.3f}  FactorVAE {r['factorvae']:.3f}  "
                f"TC(q(z)) {tc:.3f} nats  recon {rec:.1f} nats  active {active}"
            )

    import pandas as pd

    df = pd.DataFrame(rows)
    print("\nmean over seeds:")
    print(df.groupby("beta").mean(numeric_only=True).drop(columns="seed").round(3).to_string())
    from pathlib import Path

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "disentanglement_vs_beta.csv", index=False)
    import matplotlib

    matplotlib.use("Agg")
    from mi_probe.plotting.disentanglement import plot_tradeoff

    ax = plot_tradeoff(df, x="beta", y=("mig", "tc"))
    ax.set_title("beta-VAE on sprites: MIG and TC(q(z)) against beta")
    ax.figure.savefig(out / "tradeoff.png", dpi=120, bbox_inches="tight")
    print(f"saved {out / 'disentanglement_vs_beta.csv'} and {out / 'tradeoff.png'}")


if __name__ == "__main__":
    main()
