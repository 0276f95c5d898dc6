"""Thread counts for mi_probe's own work: one thread vs the default pool, idle and loaded.

Each workload runs in a fresh interpreter with ``MI_PROBE_NUM_THREADS`` set to ``1`` (one
torch thread for the package's small-tensor work, one thread for the kd-tree queries) or
``0`` (no limit: torch's default pool, one thread per core, and every CPU for the trees),
and reports its wall time (imports and data generation excluded). The two settings
alternate, so a change in the machine's load hits both alike. With ``--load N`` the
script first starts ``N`` busy-loop processes (the "loaded machine": other jobs on the
same cores) and stops them at the end.

Workloads (short, so the benchmark fits on a shared box):

``demo``         the 12-bit network of ``mi-probe demo``, 15 epochs, binning recorded twice
``infonce``      InfoNCE, separable critic, 40 steps on a 5+5-dim Gaussian (n = 2000)
``variational``  variational weight information, 40 steps, a 64-32-10 MLP (n = 1000)
``fisher``       diagonal Fisher of the same MLP (n = 1000)
``kde_plane``    the information plane's fused KDE pass, n = 4096, 10 units, 5 times
``ksg``          KSG, n = 20,000, 5+5 dims (compiled kd-tree; threads = query workers)

Usage::

    OMP_NUM_THREADS= python benchmarks/threads.py                # idle machine
    OMP_NUM_THREADS= python benchmarks/threads.py --load 2       # two busy processes

(``OMP_NUM_THREADS`` must be unset, or torch's default pool is not what is measured.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = ("demo", "infonce", "variational", "fisher", "kde_plane", "ksg")
SETTINGS = ("1", "0")


def _workload(name: str) -> float:
    """Run one workload here; return its wall time in seconds."""
    import numpy as np
    import torch

    import mi_probe

    rng = np.random.default_rng(0)
    if name == "demo":
        from mi_probe.experiments.demo import train_and_record

        t0 = time.perf_counter()
        train_and_record("tanh", epochs=15, estimators=("binning",), n_records=2)
        return time.perf_counter() - t0
    if name == "infonce":
        x = rng.standard_normal((2000, 5))
        y = 0.7 * x + rng.standard_normal((2000, 5))
        t0 = time.perf_counter()
        mi_probe.estimate_mi(
            x, y, "infonce", max_steps=40, patience=None, random_state=0, progress=False
        )
        return time.perf_counter() - t0
    if name in ("variational", "fisher"):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
        x = torch.randn(1000, 64)
        y = torch.randint(0, 10, (1000,))
        t0 = time.perf_counter()
        if name == "fisher":
            mi_probe.fisher_diagonal(net, (x, y))
        else:
            mi_probe.weight_information(net, (x, y), method="variational", n_steps=40)
        return time.perf_counter() - t0
    if name == "kde_plane":
        from mi_probe._threads import torch_threads
        from mi_probe.analysis.information_plane import kde_plane

        t = torch.tanh(torch.randn(4096, 10))
        xs = np.arange(4096)
        ys = rng.integers(0, 2, 4096)
        t0 = time.perf_counter()
        with torch_threads():  # the recorder's pass, under the package setting
            for _ in range(5):
                kde_plane(t, xs, ys, noise_variance=0.1)
        return time.perf_counter() - t0
    if name == "ksg":
        x = rng.standard_normal((20_000, 5))
        y = 0.7 * x + rng.standard_normal((20_000, 5))
        t0 = time.perf_counter()
        mi_probe.estimate_mi(x, y, "ksg", random_state=0)
        return time.perf_counter() - t0
    raise ValueError(f"unknown workload {name!r}")


def _measure(names: list[str], setting: str) -> dict[str, float]:
    """Every workload of ``names`` in one fresh interpreter under ``setting``."""
    env = dict(os.environ, MI_PROBE_NUM_THREADS=setting)
    env.pop("OMP_NUM_THREADS", None)
    env.pop("MKL_NUM_THREADS", None)
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", ",".join(names)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _busy() -> None:  # pragma: no cover - a background load
    while True:
        pass


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--load", type=int, default=0, help="busy-loop processes to start")
    ap.add_argument("--repeats", type=int, default=2, help="runs per (workload, setting)")
    ap.add_argument("--only", nargs="*", default=list(WORKLOADS), choices=WORKLOADS)
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps({name: _workload(name) for name in args.worker.split(",")}))
        return

    import multiprocessing as mp

    loaders = [mp.Process(target=_busy, daemon=True) for _ in range(args.load)]
    for p in loaders:
        p.start()
    try:
        load_before = os.getloadavg()[0]
        results = {name: {s: [] for s in SETTINGS} for name in args.only}
        for _ in range(args.repeats):
            for s in SETTINGS:  # alternate, so load drift hits both
                for name, sec in _measure(args.only, s).items():
                    results[name][s].append(sec)
        for name, times in results.items():
            one, pool = statistics.median(times["1"]), statistics.median(times["0"])
            runs = {s: [round(t, 2) for t in v] for s, v in times.items()}
            print(
                f"{name:<12} 1 thread {one:7.2f} s   default pool {pool:7.2f} s   "
                f"pool/1 = {pool / one:5.2f}   (runs: {runs})",
                flush=True,
            )
        load_after = os.getloadavg()[0]
    finally:
        for p in loaders:
            p.terminate()
            p.join()
    print(
        f"cpus {os.cpu_count()}, background busy processes {args.load}, "
        f"1-min load average {load_before:.1f} before, {load_after:.1f} after"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"load": args.load, "loadavg": [load_before, load_after], "results": results},
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
