"""The "Beyond Normal" protocol (Czyz et al. 2023) on the 40 benchmark-mi tasks.

Every estimator sees the same samples (``task.sample(n, seed)``). A task is *solved*
by benchmark-mi's rule: the mean over seeds of ``log(estimate / truth)`` lies within
``log 1.5`` of 0 (as in ``benchmarks/accuracy.py``), i.e. the geometric mean of the
estimates is within a factor 1.5 of the truth; a non-positive estimate never solves.
Outputs: a solved table, per-task wall and CPU time of ``auto`` with its interval,
null and stability check, the coverage of auto's 95% interval on the Gaussian tasks,
and a heatmap (tasks x estimators, colour = estimate / truth) in
``docs/beyond_normal.png``.

The work is split into parts that cache their numbers in ``--cache`` (JSON, one file
per part) so that they can run side by side and be resumed:

* ``ours``: point estimates of ``auto`` (interval, null and stability off: the value
  depends only on ``random_state``, checked against the ``full`` part), ``ksg`` and
  ``gaussian`` for every task and seed;
* ``full``: ``auto`` with interval + permutation null + stability on the first seed,
  timed (wall and process CPU seconds);
* ``peers``: benchmark-mi 0.1.3 (KSG k=3, CCA) and NPEET's KSG (from a source copy,
  ``--npeet-src``) in a subprocess of ``--peers-python`` on the same samples;
* ``coverage``: auto's interval on the Gaussian tasks (and their monotone
  distortions) for every seed;
* ``report``: tables, README section and heatmap from the caches.

Examples
--------
python benchmarks/beyond_normal.py --part ours full coverage report --seeds 100 101
python benchmarks/beyond_normal.py --part peers --peers-python /work/peers/tasks-venv/bin/python
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import pathlib
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Any

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _common import command_line, machine, markdown_table, replace_section  # noqa: E402

from mi_probe.estimators.auto import auto_mi  # noqa: E402
from mi_probe.estimators.gaussian import gaussian_mi  # noqa: E402
from mi_probe.estimators.ksg import ksg_mi  # noqa: E402
from mi_probe.tasks import get_task, list_tasks  # noqa: E402

SOLVED = math.log(1.5)
ROOT = pathlib.Path(__file__).resolve().parents[1]
OURS = {
    "auto": lambda x, y, s: float(
        auto_mi(x, y, interval=False, null=False, check_stability=False, random_state=s)
    ),
    "ksg": lambda x, y, s: float(ksg_mi(x, y, random_state=s).diagnostics["raw_value"]),
    "gaussian": lambda x, y, s: float(gaussian_mi(x, y).diagnostics["raw_value"]),
}
PEERS = ("bmi-ksg", "bmi-cca", "npeet-ksg")
# Peers skipped above this many columns of x and y together (their cost per call at
# n = 5000 on this machine: bmi's CCA 47 s CPU at 50 + 50 dimensions).
PEER_MAX_DIM = {"bmi-cca": 10}

PEER_SCRIPT = r"""
import json, sys, time
import numpy as np
out_path, npeet_src, max_dim = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
ests = {}
from bmi.estimators import KSGEnsembleFirstEstimator, CCAMutualInformationEstimator
ksg = KSGEnsembleFirstEstimator(neighborhoods=(3,), standardize=True)
ests["bmi-ksg"] = lambda x, y: float(ksg.estimate(x, y))
ests["bmi-cca"] = lambda x, y: float(CCAMutualInformationEstimator().estimate(x, y))
if npeet_src:
    sys.path.insert(0, npeet_src)
    from npeet import entropy_estimators as ee
    ests["npeet-ksg"] = lambda x, y: float(ee.mi(x, y, k=3, base=np.e))
out = {}
for path in sys.argv[4:]:
    d = np.load(path)
    dim = d["x"].shape[1] + d["y"].shape[1]
    for name, fn in ests.items():
        if dim > max_dim.get(name, 10**9):
            continue
        np.random.seed(int(d["seed"]))  # NPEET's jitter uses the global generator
        t, c = time.perf_counter(), time.process_time()
        try:
            v = fn(d["x"], d["y"])
        except Exception as exc:
            v = "error: " + str(exc)[:80]
        out[path + "|" + name] = [v, time.perf_counter() - t, time.process_time() - c]
    json.dump(out, open(out_path, "w"))
"""


def benchmark_tasks(patterns: list[str] | None) -> list[str]:
    """The 40 benchmark-mi tasks (those with no discrete variable), or a selection."""
    ids = [t for t in list_tasks() if not (get_task(t).discrete_x or get_task(t).discrete_y)]
    if not patterns:
        return ids
    return [t for t in ids if any(fnmatch.fnmatch(t, p) for p in patterns)]


def gaussian_tasks(ids: list[str]) -> tuple[list[str], list[str]]:
    """Jointly Gaussian tasks, and those plus per-coordinate monotone distortions of
    them (Gaussian copula: the copula transform makes them Gaussian again)."""
    strict = [t for t in ids if t.startswith("multinormal-") or t == "1v1-normal-0.75"]
    copula = strict + [
        t for t in ids if t.split("-", 1)[0] in ("normal_cdf", "half_cube") and "student" not in t
    ]
    return strict, copula


class Cache:
    """A JSON dict on disk, written after every new entry."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.path.write_text(json.dumps(self.data, indent=0))

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def run_ours(ids: list[str], n: int, seeds: list[int], cache: Cache) -> None:
    for tid in ids:
        task = get_task(tid)
        for seed in seeds:
            x, y = task.sample(n, seed)
            for name, fn in OURS.items():
                key = f"{tid}|{name}|{n}|{seed}"
                if key in cache:
                    continue
                t, c = time.perf_counter(), time.process_time()
                value = fn(x, y, seed)
                cache[key] = [value, time.perf_counter() - t, time.process_time() - c]
        print(f"ours: {tid}", file=sys.stderr, flush=True)


def run_full(ids: list[str], n: int, seed: int, cache: Cache) -> None:
    for tid in ids:
        key = f"{tid}|{n}|{seed}"
        if key in cache:
            continue
        x, y = get_task(tid).sample(n, seed)
        t, c = time.perf_counter(), time.process_time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = auto_mi(x, y, random_state=seed)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        flags = r.diagnostics["flags"]
        cache[key] = {
            "value": float(r),
            "interval": r.interval,
            "null": r.null,
            "p_value": r.diagnostics["p_value"],
            "chosen": r.diagnostics.get("chosen"),
            "candidates": r.diagnostics.get("candidates"),
            "wall": wall,
            "cpu": cpu,
            "flags": [f for f, v in flags.items() if v is True],
            "warned": bool(caught),
        }
        print(f"full: {tid} {wall:.1f}s wall {cpu:.1f}s cpu", file=sys.stderr, flush=True)


def run_coverage(ids: list[str], n: int, seeds: list[int], cache: Cache) -> None:
    for tid in ids:
        for seed in seeds:
            key = f"{tid}|{n}|{seed}"
            if key in cache:
                continue
            x, y = get_task(tid).sample(n, seed)
            t = time.process_time()
            r = auto_mi(x, y, null=False, check_stability=False, random_state=seed)
            cache[key] = {"value": float(r), "interval": r.interval, "cpu": time.process_time() - t}
        print(f"coverage: {tid}", file=sys.stderr, flush=True)


def run_peers(
    ids: list[str], n: int, seeds: list[int], cache: Cache, python: str, npeet_src: str
) -> None:
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mi_probe_bn_"))
    files = {}
    for tid in ids:
        for seed in seeds:
            if all(f"{tid}|{p}|{n}|{seed}" in cache for p in PEERS):
                continue
            x, y = get_task(tid).sample(n, seed)
            path = tmp / f"{len(files)}.npz"
            np.savez(path, x=x, y=y, seed=seed)
            files[str(path)] = (tid, seed)
    if not files:
        return
    out = tmp / "peers.json"
    proc = subprocess.Popen(
        [python, "-c", PEER_SCRIPT, str(out), npeet_src, json.dumps(PEER_MAX_DIM), *files]
    )
    # harvest as the subprocess goes (it rewrites out after every sample)
    while True:
        done = proc.poll() is not None
        if out.exists():
            try:
                got = json.loads(out.read_text())
            except json.JSONDecodeError:
                got = {}
            for k, v in got.items():
                path, name = k.rsplit("|", 1)
                tid, seed = files[path]
                key = f"{tid}|{name}|{n}|{seed}"
                if key not in cache:
                    cache[key] = v
        if done:
            break
        time.sleep(10)
    if proc.returncode:
        print(f"peer subprocess exited with {proc.returncode}", file=sys.stderr)


def solved(values: list[float], truth: float) -> bool:
    """benchmark-mi's rule on the mean over seeds of log(estimate / truth)."""
    if not values or min(values) <= 0:
        return False
    return abs(float(np.mean(np.log(np.asarray(values) / truth)))) < SOLVED


def _center(vals: list[float]) -> float:
    """Geometric mean when every estimate is positive (what the solved rule uses),
    else the arithmetic mean."""
    arr = np.asarray(vals)
    return float(np.exp(np.log(arr).mean())) if arr.min() > 0 else float(arr.mean())


def report(
    ids: list[str],
    n: int,
    seeds: list[int],
    caches: dict[str, Cache],
    heatmap: pathlib.Path | None,
    write: bool,
) -> str:
    names = list(OURS) + list(PEERS)
    est: dict[tuple[str, str], list[float]] = {}
    cpu: dict[str, float] = {}
    for tid in ids:
        for name in names:
            vals = []
            for seed in seeds:
                v = caches["ours" if name in OURS else "peers"].get(f"{tid}|{name}|{n}|{seed}")
                if v is not None and isinstance(v[0], (int, float)):
                    vals.append(float(v[0]))
                    cpu[name] = cpu.get(name, 0.0) + v[2]
            if vals:  # peers may have run on fewer seeds (see the summary)
                est[(tid, name)] = vals
    full = caches["full"]
    rows = []
    for tid in ids:
        truth = get_task(tid).mutual_information()
        row = [f"`{tid}`", f"{truth:.3f}"]
        for name in names:
            vals = est.get((tid, name))
            row.append(
                ""
                if vals is None
                else f"{_center(vals):.3f}" + (" ✓" if solved(vals, truth) else "")
            )
        f = full.get(f"{tid}|{n}|{seeds[0]}")
        if f:
            lo, hi = f["interval"]
            row += [
                f"[{lo:.3f}, {hi:.3f}]",
                f"{f['null']:.3f}",
                f["chosen"] or "",
                ", ".join(f["flags"]) or "-",
                f"{f['wall']:.0f}",
                f"{f['cpu']:.0f}",
            ]
        else:
            row += [""] * 6
        rows.append(row)
    header = (
        ["task", "truth"]
        + names
        + [
            f"auto 95% interval (seed {seeds[0]})",
            "null",
            "kept",
            "flags",
            "auto full wall s",
            "CPU s",
        ]
    )
    summary = []
    first: dict[tuple[str, str], list[float]] = {}  # seeds[0] only, for every estimator
    for tid, name in est:
        v = caches["ours" if name in OURS else "peers"].get(f"{tid}|{name}|{n}|{seeds[0]}")
        if v is not None and isinstance(v[0], (int, float)):
            first[(tid, name)] = [float(v[0])]
    for name in names:
        done = [t for t in ids if (t, name) in est]
        n_est = sum(len(est[(t, name)]) for t in done)
        n_seeds = sorted({len(est[(t, name)]) for t in done})
        ok = sum(solved(est[(t, name)], get_task(t).mutual_information()) for t in done)
        done1 = [t for t in ids if (t, name) in first]
        ok1 = sum(solved(first[(t, name)], get_task(t).mutual_information()) for t in done1)
        summary.append(
            [
                name,
                (f"{ok}/{len(done)} ({'/'.join(map(str, n_seeds))} seeds)" if done else "-"),
                f"{ok1}/{len(done1)}" if done1 else "-",
                f"{cpu.get(name, 0.0) / max(1, n_est):.2f}",
            ]
        )
    pairs = [(t, full.get(f"{t}|{n}|{seeds[0]}")) for t in ids]
    pairs = [(t, f) for t, f in pairs if f and (t, "auto") in first]
    fulls = [f for _, f in pairs]
    # consistency: the full run's value equals the point estimate with the same seed
    same = sum(abs(f["value"] - max(first[(t, "auto")][0], 0.0)) < 1e-9 for t, f in pairs)

    # coverage
    strict, copula = gaussian_tasks(ids)
    cov = caches["coverage"]
    cov_rows = []
    for label, group in (
        ("jointly Gaussian", strict),
        ("Gaussian copula (incl. distorted)", copula),
    ):
        hit = tot = 0
        widths = []
        for tid in group:
            truth = get_task(tid).mutual_information()
            for seed in seeds:
                c = cov.get(f"{tid}|{n}|{seed}")
                if c:
                    lo, hi = c["interval"]
                    hit += lo <= truth <= hi
                    tot += 1
                    widths.append(hi - lo)
        if tot:
            cov_rows.append(
                [
                    label,
                    f"{len(group)} tasks x {len(seeds)} seeds",
                    f"{hit}/{tot} = {hit / tot:.0%}",
                    f"{np.median(widths):.3f}",
                ]
            )
    text = "\n\n".join(
        [
            markdown_table(
                [
                    "estimator",
                    f"solved, n={n}, all seeds run",
                    f"solved on seed {seeds[0]} alone",
                    "mean CPU s per estimate",
                ],
                summary,
            ),
            (
                f"auto with interval + null + stability on seed {seeds[0]}: "
                + (
                    f"median {np.median([f['wall'] for f in fulls]):.0f} s wall, "
                    f"max {max(f['wall'] for f in fulls):.0f} s wall; median "
                    f"{np.median([f['cpu'] for f in fulls]):.0f} s CPU, max "
                    f"{max(f['cpu'] for f in fulls):.0f} s CPU per task; value identical to the "
                    f"point estimate on {same}/{len(fulls)} tasks."
                    if fulls
                    else "not run."
                )
            ),
            markdown_table(
                ["tasks", "runs", "95% interval covers truth", "median width (nats)"], cov_rows
            )
            if cov_rows
            else "coverage: not run.",
            markdown_table(header, rows),
        ]
    )
    if heatmap is not None and est:
        _heatmap(ids, names, est, heatmap, n)
    if write:
        body = (
            "benchmark-mi's 40 tasks (Czyz et al., *Beyond Normal*, NeurIPS 2023) at "
            f"n = {n}, seeds {', '.join(map(str, seeds))} (never used while designing "
            "`auto`, which was looked at on seeds 1, 3, 7, 11), every estimator on the same "
            "samples. Cells: geometric mean of the estimates over seeds in nats (arithmetic "
            "mean where one is <= 0); ✓ = solved (mean over seeds "
            "of `log(estimate/truth)` within `log 1.5`). `auto` here is the point estimate "
            "(`interval=False, null=False, check_stability=False`; the value depends only on "
            "`random_state`); the interval, null, kept candidate, flags and times come from "
            "one full run per task (interval + null + stability). `bmi-ksg`: benchmark-mi "
            "0.1.3 `KSGEnsembleFirstEstimator(neighborhoods=(3,))`; `bmi-cca`: its "
            f"`CCAMutualInformationEstimator` (skipped above {PEER_MAX_DIM['bmi-cca']} "
            "columns: 47 s CPU per call at 50 + 50); `npeet-ksg`: NPEET's `mi(k=3)` run from "
            "a source copy (not vendored). CPU seconds are the process's, all threads "
            "together (the native k-d tree runs one per CPU). The machine is shared with "
            "other jobs, so wall times depend on its load: compare CPU seconds. The interval "
            "is the estimator's sampling spread (plus its drift between n/2 and n); where "
            "`auto` is a lower bound that has not converged (spirals) it need not cover the "
            "truth, and the `flags` column shows where `auto` itself warns. Heatmap: "
            "`docs/beyond_normal.png`.\n\n"
            + (
                ""
                if all(len(v) == len(seeds) for v in est.values())
                else "Some peers ran on fewer seeds (see the summary; bmi's KSG costs ~2 s CPU "
                "but up to a minute of wall time per call on a loaded machine). "
            )
            + "Parts and report (the parts cache into the same directory):\n\n"
            "```\npython benchmarks/beyond_normal.py --part ours\n"
            "python benchmarks/beyond_normal.py --part full\n"
            "python benchmarks/beyond_normal.py --part coverage\n"
            "python benchmarks/beyond_normal.py --part peers\n```\n\n"
            f"Report ({machine()}):\n\n```\n{command_line()}\n```\n\n" + text
        )
        replace_section("Beyond Normal", body, keep_notes=True)
    return text


def _heatmap(ids: list[str], names: list[str], est: dict, path: pathlib.Path, n: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns
    from matplotlib.colors import LogNorm

    ratio = pd.DataFrame(
        [
            [
                _center(est[(t, e)]) / get_task(t).mutual_information() if (t, e) in est else np.nan
                for e in names
            ]
            for t in ids
        ],
        index=ids,
        columns=names,
    )
    shown = ratio.clip(lower=1 / 3, upper=3.0)
    fig, ax = plt.subplots(figsize=(4.5 + 0.8 * len(names), 0.3 * len(ids) + 2.0))
    ticks = [1 / 3, 1 / 1.5, 1.0, 1.5, 3.0]
    sns.heatmap(
        shown,
        ax=ax,
        cmap="RdBu_r",
        norm=LogNorm(vmin=1 / 3, vmax=3),
        annot=ratio.round(2),
        fmt="",
        linewidths=0.3,
        annot_kws={"fontsize": 7},
        cbar_kws={
            "label": "estimate / truth (solved: 0.67 .. 1.5)",
            "ticks": ticks,
            "format": "%.2g",
        },
    )
    from matplotlib.ticker import NullLocator

    ax.collections[0].colorbar.ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels(ax.get_xticklabels(), rotation=35, ha="right")
    ax.set_ylabel("")
    ax.set_title(
        f"Beyond Normal, n = {n}: geometric mean of estimate / true MI\n"
        "over seeds (colours clipped to 1/3 .. 3)",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--part",
        nargs="+",
        default=["ours", "full", "coverage", "report"],
        choices=["ours", "full", "coverage", "peers", "report"],
    )
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102, 103, 104])
    parser.add_argument("--tasks", nargs="+", default=None, help="glob patterns")
    parser.add_argument(
        "--cache", default=str(pathlib.Path(tempfile.gettempdir()) / "mi_probe_beyond_normal")
    )
    parser.add_argument("--peers-python", default="/work/peers/tasks-venv/bin/python")
    parser.add_argument(
        "--npeet-src",
        default="/work/peers/npeet-src",
        help="a directory holding NPEET's source ('' to skip)",
    )
    parser.add_argument("--heatmap", default=str(ROOT / "docs" / "beyond_normal.png"))
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    ids = benchmark_tasks(args.tasks)
    cdir = pathlib.Path(args.cache)
    cdir.mkdir(parents=True, exist_ok=True)
    caches = {p: Cache(cdir / f"{p}.json") for p in ("ours", "full", "coverage", "peers")}
    if "ours" in args.part:
        run_ours(ids, args.n, args.seeds, caches["ours"])
    if "full" in args.part:
        run_full(ids, args.n, args.seeds[0], caches["full"])
    if "coverage" in args.part:
        run_coverage(gaussian_tasks(ids)[1], args.n, args.seeds, caches["coverage"])
    if "peers" in args.part:
        run_peers(ids, args.n, args.seeds, caches["peers"], args.peers_python, args.npeet_src)
    if "report" in args.part:
        print(
            report(
                ids,
                args.n,
                args.seeds,
                caches,
                pathlib.Path(args.heatmap) if args.heatmap else None,
                args.write_readme,
            )
        )


if __name__ == "__main__":
    main()
