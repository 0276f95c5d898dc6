"""Recording a real-sized network with the recorder's defaults: time and memory.

The case of issue 17: a pitch network on ``(n, 1, 1024)`` audio frames with CREPE-tiny's
architecture (six conv + BatchNorm blocks and a classifier; random initialisation, as
the cost does not depend on the weights), seven probed layers, the widest (conv1) 128
channels x 256 positions = 32768 features flattened, a 48-class target (the frame's
pitch bin). Recorded with ``InformationPlaneRecorder``'s defaults: layers
wider than 256 randomly projected to 256 dims batch by batch while collecting, then per
layer I(T;Y) by usable information (5-fold logistic probe) and I(X;T) by the
relative-noise estimate (sigma = 0.3 x the layer's RMS distance).

Each measurement runs in its own process (``--part``), so that peak RSS
(``ru_maxrss``) belongs to it alone:

* ``forward``: build the model and data, run the forward passes (``no_grad``, batch
  256), nothing probed. Its peak RSS is the model's own cost (weights, data, the
  forward pass's activations).
* ``record``: the same, then ``record()`` once (collection forward passes included).

Reported: forward time, recording time (and its part beyond the forward passes it
contains), their ratio, peak RSS of each process and the difference (what recording
adds beyond the model). Run with one thread:

    OMP_NUM_THREADS=1 python benchmarks/pretrained_recording.py --n 3000 [--n 6000 ...]
        [--write-readme]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

LENGTH = 1024
N_CLASSES = 48
LAYERS = ["conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "classifier"]


def make_model():
    """CREPE-tiny's architecture in 1-D (Kim et al. 2018), random initialisation.

    conv1: 128 filters of 512 taps, stride 4 (128 x 256 = 32768 features); conv2..conv6:
    64 taps, 16, 16, 16, 32, 64 filters; each conv is followed by ReLU, BatchNorm and a
    max-pool of 2; the classifier maps the 64 x 4 = 256 features to 360 pitch bins.
    """
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            chans = [1, 128, 16, 16, 16, 32, 64]
            for i in range(6):
                k, stride = (512, 4) if i == 0 else (64, 1)
                setattr(self, f"conv{i + 1}", nn.Conv1d(chans[i], chans[i + 1], k, stride))
                setattr(self, f"bn{i + 1}", nn.BatchNorm1d(chans[i + 1], eps=1e-3))
            self.classifier = nn.Linear(256, 360)

        def forward(self, x):
            h = x
            for i in range(1, 7):
                pad = (254, 254) if i == 1 else (31, 32)
                h = getattr(self, f"conv{i}")(nn.functional.pad(h, pad))
                h = nn.functional.max_pool1d(getattr(self, f"bn{i}")(torch.relu(h)), 2)
            return torch.sigmoid(self.classifier(h.flatten(1)))

    torch.manual_seed(0)
    net = Net()
    net.eval()
    return net


def make_data(n: int, seed: int = 0):
    """Noisy sine frames; the label is the frequency bin (48 log-spaced bins)."""
    import numpy as np
    import torch

    g = np.random.default_rng(seed)
    y = g.integers(0, N_CLASSES, n)
    f = np.geomspace(2.0, 200.0, N_CLASSES + 1)
    freq = f[y] * (f[y + 1] / f[y]) ** g.random(n)  # cycles per frame, inside the bin
    phase = 2 * np.pi * g.random(n)
    t = np.arange(LENGTH) / LENGTH
    x = np.sin(2 * np.pi * freq[:, None] * t[None, :] + phase[:, None])
    x = x + 0.3 * g.standard_normal((n, LENGTH))
    return torch.from_numpy(x.astype(np.float32)).reshape(n, 1, LENGTH), torch.from_numpy(y)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


#: a cheaper setting: 64-dim projections, 3 folds, at most 30 L-BFGS iterations per fit
FAST = {
    "probe_options": {"project": 64},
    "params": {"usable+noise": {"max_dim": 64, "n_folds": 3, "max_iter": 30}},
}


def part(kind: str, n: int, batch: int, fast: bool = False) -> dict:
    import torch

    torch.set_num_threads(1)
    net = make_model()
    x, y = make_data(n)
    out: dict = {"n": n, "part": kind}
    t0 = time.perf_counter()
    with torch.no_grad():
        for s in range(0, n, batch):
            net(x[s : s + batch])
    out["forward_s"] = time.perf_counter() - t0
    if kind == "record":
        from mi_probe import InformationPlaneRecorder

        rec = InformationPlaneRecorder(
            net, x, y, layers=LAYERS, batch_size=batch, **(FAST if fast else {})
        )
        out["rss_before_record_mb"] = peak_rss_mb()
        t0 = time.perf_counter()
        df = rec.record(0)
        out["record_s"] = time.perf_counter() - t0
        out["estimate_s"] = float(df["seconds"].sum())
        out["rows"] = df[
            [
                "layer",
                "dim",
                "reduction",
                "I_XT",
                "I_TY",
                "I_TY_low",
                "I_TY_high",
                "seconds",
                "error",
            ]
        ].to_dict("records")
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def run_part(kind: str, n: int, batch: int, fast: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--part", kind, "--n", str(n), "--batch", str(batch)]
    cmd += ["--fast"] if fast else []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} n={n} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, action="append", help="inputs (repeatable)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--part", choices=("forward", "record"), help=argparse.SUPPRESS)
    ap.add_argument("--fast", action="store_true", help="the cheaper setting FAST")
    ap.add_argument("--write-readme", action="store_true")
    args = ap.parse_args()
    ns = args.n or [3000]
    if args.part:
        print(json.dumps(part(args.part, ns[0], args.batch, args.fast), default=float))
        return
    from _common import command_line, machine, markdown_table, replace_section

    results = []
    for n in ns:
        fwd = run_part("forward", n, args.batch)
        rec = run_part("record", n, args.batch, args.fast)
        extra = rec["peak_rss_mb"] - fwd["peak_rss_mb"]
        beyond = rec["record_s"] - rec["forward_s"]  # record() runs the forwards once more
        r = {
            "n": n,
            "forward_s": fwd["forward_s"],
            "record_s": rec["record_s"],
            "estimate_s": rec["estimate_s"],
            "beyond_forward_s": beyond,
            "ratio_record": rec["record_s"] / rec["forward_s"],
            "ratio_beyond": beyond / rec["forward_s"],
            "rss_forward_mb": fwd["peak_rss_mb"],
            "rss_record_mb": rec["peak_rss_mb"],
            "rss_extra_mb": extra,
            "rows": rec["rows"],
        }
        results.append(r)
        print(
            f"n={n}: forward {rec['forward_s']:.1f} s (alone {fwd['forward_s']:.1f} s), "
            f"record {rec['record_s']:.1f} s (estimates {rec['estimate_s']:.1f} s), "
            f"record/forward {r['ratio_record']:.2f}, beyond/forward {r['ratio_beyond']:.2f}; "
            f"peak RSS {fwd['peak_rss_mb']:.0f} MB forward-only, {rec['peak_rss_mb']:.0f} MB "
            f"recording (+{extra:.0f} MB)",
            flush=True,
        )
        for row in rec["rows"]:
            print(
                f"    {row['layer']:<11} dim {row['dim']:>4} I_XT {row['I_XT']:.3f} "
                f"I_TY {row['I_TY']:.3f} [{row['I_TY_low']:.3f}, {row['I_TY_high']:.3f}] "
                f"{row['seconds']:.1f} s {row['error']}",
                flush=True,
            )
    if args.write_readme:
        header = [
            "n",
            "forward passes [s]",
            "record() [s]",
            "of which estimation [s]",
            "record / forward",
            "(record - forward) / forward",
            "peak RSS forward only [MB]",
            "peak RSS recording [MB]",
            "added by recording [MB]",
        ]
        table = markdown_table(
            header,
            [
                [
                    r["n"],
                    f"{r['forward_s']:.1f}",
                    f"{r['record_s']:.1f}",
                    f"{r['estimate_s']:.1f}",
                    f"{r['ratio_record']:.2f}",
                    f"{r['ratio_beyond']:.2f}",
                    f"{r['rss_forward_mb']:.0f}",
                    f"{r['rss_record_mb']:.0f}",
                    f"{r['rss_extra_mb']:.0f}",
                ]
                for r in results
            ],
        )
        first = results[0]
        layers = markdown_table(
            ["layer", "recorded dims", "reduction", "I(X;T) [nats]", "I(T;Y) [nats]", "seconds"],
            [
                [
                    row["layer"],
                    row["dim"],
                    row["reduction"] or "-",
                    f"{row['I_XT']:.3f}",
                    f"{row['I_TY']:.3f} [{row['I_TY_low']:.3f}, {row['I_TY_high']:.3f}]",
                    f"{row['seconds']:.1f}",
                ]
                for row in first["rows"]
            ],
        )
        body = (
            f"`{command_line()}` ({machine()}; one thread; a shared, loaded machine: read "
            "the ratios, not the seconds).\n\n"
            "A 1-D conv net on (n, 1, 1024) frames, 7 probed layers (widest 32768 features), "
            "48 classes, recorded once with `InformationPlaneRecorder`'s defaults. "
            "`record / forward`: one `record()` call (its own collection forward passes "
            "included) against the plain forward passes it contains; `(record - forward) / "
            "forward`: what recording adds. Peak RSS of a process that only runs the "
            "forward passes against one that also records (each in its own process).\n\n"
            f"{table}\n\nPer layer at n = {first['n']}:\n\n{layers}\n"
        )
        replace_section("Recording a pretrained-size network", body, keep_notes=True)


if __name__ == "__main__":
    main()
