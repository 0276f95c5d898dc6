"""Information-plane recording of a wide 1-D CNN on CUDA, end to end: time and memory.

The shape of the pretrained-model case (issue "Informative measurements on real
pretrained models"): frames of 1024 samples, a 1-D CNN whose first three conv layers
are each 32768 features wide when flattened, seven probed modules, a 48-class target.
The weights are random (no model hub here); what is measured is the cost of recording
with the recorder's current defaults against the cost of the forward passes that feed
it, with the peak GPU memory and the peak host RSS of each phase.

Usage (from the repository root)::

    python benchmarks/gpu_recording.py --n 20000            # on a CUDA machine
    python benchmarks/gpu_recording.py --cpu --n 500        # a dry run on the CPU

Writes ``gpu_recording.json`` and prints a Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mi_probe.analysis.information_plane import InformationPlaneRecorder  # noqa: E402

LAYERS = ["1", "4", "7", "10", "13", "15", "16"]  # three 32768-wide convs ... logits


def make_model(n_classes: int = 48) -> nn.Sequential:
    """Conv blocks 1x1024 -> 32x1024 -> 64x512 -> 128x256 -> 128x128, pooled, classified."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(1, 32, 9, padding=4),  # 0
        nn.ReLU(),  # 1: 32 x 1024 = 32768
        nn.MaxPool1d(2),  # 2
        nn.Conv1d(32, 64, 9, padding=4),  # 3
        nn.ReLU(),  # 4: 64 x 512 = 32768
        nn.MaxPool1d(2),  # 5
        nn.Conv1d(64, 128, 9, padding=4),  # 6
        nn.ReLU(),  # 7: 128 x 256 = 32768
        nn.MaxPool1d(2),  # 8
        nn.Conv1d(128, 128, 9, padding=4),  # 9
        nn.ReLU(),  # 10: 128 x 128 = 16384
        nn.AdaptiveAvgPool1d(8),  # 11
        nn.Flatten(),  # 12
        nn.Linear(1024, 256),  # 13
        nn.ReLU(),  # 14
        nn.Linear(256, 128),  # 15
        nn.Linear(128, n_classes),  # 16: logits
    )


def tones(n: int, n_classes: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy sine frames whose pitch class is the target (48 log-spaced frequencies)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, n_classes, (n,), generator=g)
    freq = 100.0 * 2.0 ** (y.double() / 12.0)  # four octaves above 100 Hz
    t = torch.arange(1024, dtype=torch.float64) / 16000.0
    phase = 2 * torch.pi * torch.rand(n, 1, generator=g, dtype=torch.float64)
    amp = 0.2 + torch.rand(n, 1, generator=g, dtype=torch.float64)
    x = amp * torch.sin(2 * torch.pi * freq[:, None] * t + phase)
    x = x + 0.05 * torch.randn(n, 1024, generator=g, dtype=torch.float64)
    return x.float().unsqueeze(1), y


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="probe inputs (default 20000)")
    ap.add_argument("--cpu", action="store_true", help="run on the CPU (dry run)")
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--out", default=os.environ.get("OUT") or "out", help="output folder")
    args = ap.parse_args(argv)
    device = "cpu" if args.cpu else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device; use --cpu for a dry run", file=sys.stderr)
        return 2

    model = make_model().to(device).eval()
    x, y = tones(args.n, 48)
    x = x.to(device)
    report: dict[str, Any] = {"n": args.n, "device": device, "layers": LAYERS}
    if device == "cuda":
        report["device_name"] = torch.cuda.get_device_name()

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    # the forward passes alone, batch by batch, as the recorder makes them
    rss0 = peak_rss_mib()
    sync()
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, args.n, args.batch_size):
            model(x[i : i + args.batch_size])
    sync()
    report["forward_s"] = time.perf_counter() - t0
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    try:
        rec = InformationPlaneRecorder(
            model, x, y, layers=LAYERS, random_state=0, progress_bar=True
        )
        sync()
        t0 = time.perf_counter()
        rec.record(0)
        sync()
        report["record_s"] = time.perf_counter() - t0
        df = rec.dataframe
        keep = [c for c in ("layer", "estimator", "I_XT", "I_TY", "error", "seconds") if c in df]
        report["rows"] = df[keep].astype(str).to_dict(orient="records")
        print(df[keep].to_string())
    except Exception as exc:  # a failed recording is a result too: say what failed
        report["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    report["peak_rss_mib"] = peak_rss_mib()
    report["rss_before_mib"] = rss0
    if device == "cuda":
        report["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    ratio = report.get("record_s", float("nan")) / report["forward_s"]
    print(
        f"\n| n | forward s | record s | record/forward | peak GPU MiB | peak RSS MiB |\n"
        f"|---|---|---|---|---|---|\n| {args.n} | {report['forward_s']:.2f} | "
        f"{report.get('record_s', float('nan')):.2f} | {ratio:.2f} | "
        f"{report.get('peak_gpu_mib', 0):.0f} | {report['peak_rss_mib']:.0f} |"
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_recording.json").write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
