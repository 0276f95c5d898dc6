"""Wall time and peak memory of our KSG against peer implementations, on the same samples.

Peers: scikit-learn ``mutual_info_regression`` (1-D only), NPEET ``mi`` and
benchmark-mi's ``KSGEnsembleFirstEstimator`` (both multi-D). All use k=3 and the
max-norm (KSG algorithm 1), so the estimates should agree up to the tie-breaking noise.

Method
------
* Samples: correlated Gaussians, ``y = rho x + sqrt(1-rho^2) e`` per coordinate,
  rho=0.6, d+d dims (truth ``-d/2 log(1-rho^2)``), standardised once here and written
  to one ``.npz`` file that every implementation reads, so all see the same numbers.
* Every measurement runs in a fresh subprocess (``--worker``): after imports, data
  loading and a warm-up call on 300 rows (lazy imports, first-call costs) it records ``ru_maxrss``, times the estimate with ``perf_counter`` and reports
  the growth of ``ru_maxrss`` (peak resident memory added by the estimate; this covers
  C/C++ allocations, which ``tracemalloc`` would miss). Process start and imports are
  not timed.
* Repeats are interleaved (ours, peer, ours, peer, ...) so that load from other
  processes hits both alike; the table reports medians and the ratio of medians
  ``peer / ours`` (how many times faster we are).
* A peer that takes longer than ``--timeout`` seconds (default 60) on a cell is stopped
  and marked "> timeout"; cells where its time at n=10k already predicts more than the
  timeout at n=100k (benchmark-mi's KSG is O(n^2)) are skipped and say so.
* Peers run in their own virtual environment (``--peer-python``; benchmark-mi needs
  ``jax==0.4.33``, ``numpy<2`` and ``pydantic>=2``); ours and scikit-learn run in this
  interpreter's environment.

Usage::

    python benchmarks/speed.py --peer-python /work/peers/speed-venv/bin/python \
        --repeats 3 --markdown benchmarks/speed_table.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RHO = 0.6
K = 3
OURS = ("ours", "ours-1thread", "ours-scipytree")
PEERS = ("sklearn", "npeet", "bmi")
HERE = Path(__file__).resolve()


# ----------------------------------------------------------------------------- worker


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _estimate(name: str, x: np.ndarray, y: np.ndarray):
    """Return a zero-argument callable computing I(x; y) in nats with implementation ``name``."""
    if name in OURS:
        from mi_probe.backends import pick
        from mi_probe.backends._kdtree import KDTreeBackend
        from mi_probe.estimators.ksg import ksg_mi

        backend: Any = "auto"
        if name == "ours-scipytree":
            # the CPU path without the compiled kd-tree: scipy cKDTree k-NN and
            # scikit-learn KDTree counts on all cores (what "auto" falls back to)
            backend = KDTreeBackend()
        if name == "ours-1thread":
            from mi_probe.backends._native import NativeBackend

            joint_dim = x.shape[1] + y.shape[1]
            auto = pick("auto", np.empty((1, joint_dim)))
            if auto.name == "native":
                backend = NativeBackend(workers=1)
            elif auto.name == "kdtree":
                backend = KDTreeBackend(workers=1)
            if auto.name == "torch":
                import torch

                torch.set_num_threads(1)
        return lambda: float(ksg_mi(x, y, n_neighbors=K, random_state=0, backend=backend))
    if name == "sklearn":
        from sklearn.feature_selection import mutual_info_regression

        return lambda: float(mutual_info_regression(x, y[:, 0], n_neighbors=K, random_state=0)[0])
    if name == "npeet":
        from npeet import entropy_estimators as ee

        # NPEET draws its tie-breaking noise from numpy's global generator: seed that one
        np.random.seed(0)  # noqa: NPY002
        return lambda: float(ee.mi(x, y, k=K, base=np.e))
    if name == "bmi":
        from bmi.estimators import KSGEnsembleFirstEstimator

        est = KSGEnsembleFirstEstimator(neighborhoods=(K,), metric_x="chebyshev")
        return lambda: float(est.estimate(x, y))
    raise ValueError(f"unknown implementation {name!r}")


def worker(name: str, data: str) -> None:
    """Run one measurement and print one JSON line."""
    z = np.load(data)
    x, y = z["x"], z["y"]
    # warm-up on 300 rows: lazy imports and first-call costs are paid before timing,
    # for every implementation alike
    _estimate(name, x[:300], y[:300])()
    fn = _estimate(name, x, y)
    base = _maxrss_mb()
    c0 = _cpu_s()
    t0 = time.perf_counter()
    value = fn()
    wall = time.perf_counter() - t0
    cpu = _cpu_s() - c0
    print(json.dumps({"value": value, "wall_s": wall, "cpu_s": cpu, "mem_mb": _maxrss_mb() - base}))


# ----------------------------------------------------------------------------- driver


def _run(python: str, name: str, data: str, timeout: float) -> dict[str, Any] | None:
    env = dict(os.environ)
    try:
        out = subprocess.run(
            [python, str(HERE), "--worker", name, "--data", data],
            capture_output=True,
            text=True,
            timeout=timeout + 30,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["wall_s"] > timeout:
        return None
    return res


def _samples(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, d))
    y = RHO * x + np.sqrt(1 - RHO**2) * g.standard_normal((n, d))
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean(0)) / y.std(0)
    return x, y, -0.5 * d * np.log(1 - RHO**2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--ns", default="10000,100000")
    ap.add_argument("--ds", default="1,5,20")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument(
        "--peer-python",
        default=os.environ.get("MI_PROBE_PEER_PYTHON", "/work/peers/speed-venv/bin/python"),
    )
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument(
        "--single-thread", action="store_true", help="also time ours restricted to one thread"
    )
    ap.add_argument(
        "--scipy-tree",
        action="store_true",
        help="also time ours on the scipy/scikit-learn kd-tree (no native code)",
    )
    ap.add_argument("--markdown", help="also write the table to this file")
    ap.add_argument("--json", help="write all raw measurements to this file")
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.data)
        return 0

    peer_py = args.peer_python if Path(args.peer_python).exists() else None
    peers = [p for p in args.peers.split(",") if p]
    if peer_py is None:
        print(f"# no peer interpreter at {args.peer_python}: NPEET and benchmark-mi skipped")
        peers = [p for p in peers if p == "sklearn"]
    ns = [int(v) for v in args.ns.split(",")]
    ds = [int(v) for v in args.ds.split(",")]

    rows: list[dict[str, Any]] = []
    raw: list[dict[str, Any]] = []
    too_slow: dict[tuple[str, int], str] = {}  # (impl, d) -> why it is skipped
    with tempfile.TemporaryDirectory() as tmp:
        for n in ns:
            for d in ds:
                x, y, truth = _samples(n, d, seed=n + d)
                data = os.path.join(tmp, f"s_{n}_{d}.npz")
                np.savez(data, x=x, y=y)
                impls = (
                    ["ours"]
                    + (["ours-1thread"] if args.single_thread else [])
                    + (["ours-scipytree"] if args.scipy_tree else [])
                )
                notes: dict[str, str] = {}
                for p in peers:
                    if p == "sklearn" and d != 1:
                        continue
                    prev = too_slow.get((p, d))
                    if prev is not None:
                        notes[p] = prev
                        continue
                    impls.append(p)
                times: dict[str, list[float]] = {i: [] for i in impls}
                mems: dict[str, list[float]] = {i: [] for i in impls}
                cpus: dict[str, list[float]] = {i: [] for i in impls}
                vals: dict[str, float] = {}
                for rep in range(args.repeats):
                    for impl in impls:
                        if impl in notes:
                            continue
                        py = sys.executable if impl in OURS or impl == "sklearn" else peer_py
                        res = _run(py, impl, data, args.timeout)
                        if res is None:
                            notes[impl] = f"> {args.timeout:.0f} s"
                            too_slow[(impl, d)] = f"skipped (> {args.timeout:.0f} s at n={n})"
                            continue
                        times[impl].append(res["wall_s"])
                        mems[impl].append(res["mem_mb"])
                        cpus[impl].append(res["cpu_s"])
                        vals[impl] = res["value"]
                        raw.append(dict(n=n, d=d, impl=impl, rep=rep, **res))
                        print(
                            f"n={n} d={d} {impl:12s} {res['wall_s']:8.3f} s "
                            f"{res['mem_mb']:8.1f} MB  I={res['value']:.4f}",
                            flush=True,
                        )
                ours_t = statistics.median(times["ours"]) if times["ours"] else None
                for impl in impls:
                    t = times[impl]
                    rows.append(
                        dict(
                            n=n,
                            d=d,
                            impl=impl,
                            truth=truth,
                            wall_s=statistics.median(t) if t else None,
                            mem_mb=statistics.median(mems[impl]) if mems[impl] else None,
                            value=vals.get(impl),
                            ratio=(statistics.median(t) / ours_t) if t and ours_t else None,
                            cpu_s=statistics.median(cpus[impl]) if cpus[impl] else None,
                            note=notes.get(impl, ""),
                        )
                    )
                for impl, note in notes.items():
                    if impl not in impls:
                        rows.append(
                            dict(
                                n=n,
                                d=d,
                                impl=impl,
                                truth=truth,
                                wall_s=None,
                                mem_mb=None,
                                cpu_s=None,
                                value=None,
                                ratio=None,
                                note=note,
                            )
                        )
                if "bmi" in times and times["bmi"] and n < max(ns):
                    # benchmark-mi's KSG is all-pairs: time grows as n^2
                    scale = (max(ns) / n) ** 2
                    pred = statistics.median(times["bmi"]) * scale
                    if pred > args.timeout:
                        too_slow[("bmi", d)] = (
                            f"skipped (O(n^2): {statistics.median(times['bmi']):.1f} s at "
                            f"n={n} predicts ~{pred:.0f} s)"
                        )
    table = _markdown(rows, args.repeats)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1))
    return 0


def _markdown(rows: list[dict[str, Any]], repeats: int) -> str:
    lines = [
        "| n | d+d | implementation | median wall (s) | x ours | CPU (s) | peak extra RSS (MB) "
        "| estimate (nats) | truth | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:

        def f(v: Any, fmt: str) -> str:
            return "" if v is None else format(v, fmt)

        lines.append(
            f"| {r['n']} | {r['d']}+{r['d']} | {r['impl']} | {f(r['wall_s'], '.3f')} "
            f"| {f(r['ratio'], '.1f')} | {f(r['cpu_s'], '.2f')} | {f(r['mem_mb'], '.0f')} | {f(r['value'], '.4f')} "
            f"| {r['truth']:.4f} | {r['note']} |"
        )
    lines.append("")
    lines.append(
        f"Medians of {repeats} interleaved repeats; 'x ours' = time / our time "
        "(above 1: we are faster)."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
