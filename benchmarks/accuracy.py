"""Accuracy of every mi_probe estimator on the ground-truth tasks of ``mi_probe.tasks``.

For each task, sample size and seed, every registered estimator (skipping those whose
module does not exist yet, and the neural ones unless ``--neural``) estimates I(x; y)
from the same samples; the table gives mean +- sd over seeds next to the truth, and
marks a task solved by benchmark-mi's rule (Czyz et al. 2023): the mean over seeds of
``log(estimate / truth)`` lies within ``log 1.5`` of zero.

With ``--peers-python PATH`` (a Python with benchmark-mi installed) the same samples are
saved to ``.npz`` and benchmark-mi's KSG (``KSGEnsembleFirstEstimator`` with one
neighbourhood k=3, standardised) runs on them in a subprocess, side by side.

Examples
--------
python benchmarks/accuracy.py --quick
python benchmarks/accuracy.py --n 1000 5000 --seeds 3 --write-readme \\
    --peers-python /work/peers/tasks-venv/bin/python --peers-max-n 1000
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import inspect
import json
import math
import pathlib
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _common import command_line, machine, markdown_table, replace_section  # noqa: E402

from mi_probe.estimators._registry import MI_ESTIMATORS  # noqa: E402
from mi_probe.tasks import get_task, list_tasks  # noqa: E402

NEURAL = {"mine", "nwj", "infonce", "smile", "js", "ba", "club"}
QUICK_TASKS = [
    "1v1-normal-0.75", "1v1-additive-0.1", "half_cube-1v1-normal-0.75",
    "student-identity-2-2-1", "multinormal-dense-5-5-0.5", "multinormal-sparse-5-5-2-2.0",
    "spiral-multinormal-sparse-3-3-2-2.0", "mixed-gaussian-4-0.25", "discrete-bsc-0.1",
]
SOLVED = math.log(1.5)

PEER_SCRIPT = r'''
import json, sys, time
import numpy as np
from bmi.estimators import KSGEnsembleFirstEstimator
est = KSGEnsembleFirstEstimator(neighborhoods=(3,), standardize=True)
out = {}
for path in sys.argv[2:]:
    d = np.load(path)
    t = time.perf_counter()
    out[path] = [float(est.estimate(d["x"], d["y"])), time.perf_counter() - t]
json.dump(out, open(sys.argv[1], "w"))
'''


def available_estimators(names: list[str] | None, neural: bool) -> tuple[dict, list[str]]:
    """name -> class for estimators whose module imports; and notes on the skipped ones."""
    found, notes = {}, []
    for name, path in MI_ESTIMATORS.items():
        if names and name not in names:
            continue
        if name in NEURAL and not neural and not names:
            continue
        module, attr = path.split(":")
        try:
            found[name] = getattr(importlib.import_module(module), attr)
        except (ModuleNotFoundError, AttributeError) as exc:
            notes.append(f"{name}: skipped ({exc})")
    return found, notes


def applies(name: str, task) -> tuple[bool, bool]:  # noqa: ANN001
    """Whether estimator ``name`` applies to ``task``, and whether to swap x and y."""
    if name == "discrete":
        return task.discrete_x and task.discrete_y, False
    if name == "mixed":
        if task.discrete_y and not task.discrete_x:
            return True, False
        if task.discrete_x and not task.discrete_y:
            return True, True
        return False, False
    return True, False


def run_estimator(cls, seed: int, x: np.ndarray, y: np.ndarray) -> float:  # noqa: ANN001
    params = inspect.signature(cls.__init__).parameters
    kwargs = {"random_state": seed} if "random_state" in params else {}
    return float(cls(**kwargs).estimate(x, y))


def solved(values: list[float], truth: float) -> bool:
    """benchmark-mi's rule: the mean over seeds of log(estimate / truth) is within
    log 1.5 of 0 (an estimate <= 0 gives -inf, never solved)."""
    if truth <= 0 or min(values) <= 0:
        return False
    return abs(float(np.mean(np.log(np.asarray(values) / truth)))) < SOLVED


def _keep_notes(body: str) -> str:
    """Carry the hand-written ``<!-- notes -->...<!-- /notes -->`` block of the current
    Accuracy section over to the regenerated one (placed before the tables)."""
    from _common import README

    old = README.read_text() if README.exists() else ""
    start, end = old.find("<!-- notes -->"), old.find("<!-- /notes -->")
    if start < 0 or end < start:
        return body
    notes = old[start : end + len("<!-- /notes -->")]
    head, sep, rest = body.partition("\n\n| estimator |")
    return f"{head}\n\n{notes}{sep}{rest}" if sep else f"{body}\n\n{notes}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0..seeds-1)")
    parser.add_argument("--tasks", nargs="+", default=None, help="task ids or glob patterns")
    parser.add_argument("--estimators", nargs="+", default=None)
    parser.add_argument("--neural", action="store_true", help="include the neural estimators")
    parser.add_argument("--max-n", nargs="+", default=[], metavar="EST=N",
                        help="skip estimator EST above sample size N (e.g. kde=1000)")
    parser.add_argument("--quick", action="store_true",
                        help=f"n=1000, 2 seeds, {len(QUICK_TASKS)} tasks")
    parser.add_argument("--peers-python", default=None,
                        help="a Python with benchmark-mi: run its KSG on the same samples")
    parser.add_argument("--peers-max-n", type=int, default=5000)
    parser.add_argument("--write-readme", action="store_true",
                        help="write the tables into benchmarks/README.md, section Accuracy")
    parser.add_argument("--json", default=None, help="also save every estimate to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.seeds = [1000], 2
        args.tasks = args.tasks or QUICK_TASKS
    all_ids = list_tasks()
    task_ids = all_ids
    if args.tasks:
        task_ids = []
        for pat in args.tasks:
            hits = [t for t in all_ids if fnmatch.fnmatch(t, pat)] or [get_task(pat).id]
            task_ids += [t for t in hits if t not in task_ids]
    max_n = {k: int(v) for k, v in (s.split("=") for s in args.max_n)}
    estimators, notes = available_estimators(args.estimators, args.neural)
    print(f"estimators: {', '.join(estimators)}", file=sys.stderr)
    for note in notes:
        print(note, file=sys.stderr)

    # (task, estimator, n) -> list of estimates; seconds per estimator
    est: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    secs: dict[str, float] = defaultdict(float)
    errors: dict[tuple[str, str], str] = {}
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mi_probe_acc_"))
    peer_files: dict[str, tuple[str, int]] = {}
    start = time.perf_counter()
    for tid in task_ids:
        task = get_task(tid)
        for n in args.n:
            for seed in range(args.seeds):
                x, y = task.sample(n, seed)
                if args.peers_python and n <= args.peers_max_n:
                    path = tmp / f"{len(peer_files)}.npz"
                    np.savez(path, x=x, y=y)
                    peer_files[str(path)] = (tid, n)
                for name, cls in estimators.items():
                    ok, swap = applies(name, task)
                    if not ok or n > max_n.get(name, n):
                        continue
                    t0 = time.perf_counter()
                    try:
                        value = run_estimator(cls, seed, *((y, x) if swap else (x, y)))
                    except Exception as exc:  # record, keep going
                        errors[(tid, name)] = f"{type(exc).__name__}: {exc}"[:120]
                        continue
                    secs[name] += time.perf_counter() - t0
                    est[(tid, name, n)].append(value)
        print(f"[{time.perf_counter() - start:7.1f}s] {tid}", file=sys.stderr)

    names = list(estimators)
    if peer_files:
        out = tmp / "peers.json"
        t0 = time.perf_counter()
        proc = subprocess.run([args.peers_python, "-c", PEER_SCRIPT, str(out), *peer_files],
                              capture_output=True, text=True)
        if proc.returncode == 0:
            for path, (value, dt) in json.loads(out.read_text()).items():
                tid, n = peer_files[path]
                est[(tid, "bmi-ksg", n)].append(value)
                secs["bmi-ksg"] += dt
            names.append("bmi-ksg")
        else:
            notes.append(f"bmi-ksg: peer run failed: {proc.stderr.strip()[-300:]}")
        print(f"peers: {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    total = time.perf_counter() - start

    sections = []
    for n in args.n:
        header = ["task", "truth"] + names
        rows = []
        for tid in task_ids:
            truth = get_task(tid).mutual_information()
            row = [f"`{tid}`", f"{truth:.3f}"]
            for name in names:
                vals = est.get((tid, name, n))
                if not vals:
                    row.append("err" if (tid, name) in errors else "")
                    continue
                m, s = float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
                row.append(f"{m:.3f} ± {s:.3f}" + (" ✓" if solved(vals, truth) else ""))
            rows.append(row)
        sections.append(f"n = {n}, {args.seeds} seeds (mean ± sd; ✓ = solved)\n\n"
                        + markdown_table(header, rows))
    summary_rows = []
    for name in names:
        cells = [name]
        for n in args.n:
            done = [t for t in task_ids if est.get((t, name, n))]
            ok = sum(solved(est[(t, name, n)], get_task(t).mutual_information()) for t in done)
            cells.append(f"{ok}/{len(done)}" if done else "-")
        cells.append(f"{secs.get(name, 0.0):.1f}")
        summary_rows.append(cells)
    summary = markdown_table(["estimator"] + [f"solved, n={n}" for n in args.n]
                             + ["total seconds"], summary_rows)
    err_lines = [f"- {name} on `{tid}`: {msg}" for (tid, name), msg in sorted(errors.items())]
    text = "\n\n".join([summary, *sections])
    print(text)
    for line in notes + err_lines:
        print(line)
    print(f"total {total:.0f}s", file=sys.stderr)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            {f"{t}|{e}|{n}": v for (t, e, n), v in est.items()}, indent=0))
    if args.write_readme:
        body = (
            "Estimates vs the exact MI of every task in `mi_probe.tasks.list_tasks()` "
            "(benchmark-mi's 40 tasks plus three with a discrete variable), in nats. "
            "A task counts as *solved* by benchmark-mi's rule: the mean over seeds of "
            "`log(estimate / truth)` is within `log 1.5` of 0 (within a factor 1.5 in "
            "geometric mean; a non-positive estimate never solves). Each estimator "
            "runs with its defaults (KSG: k=3, standardised); `mixed` runs only where one "
            "variable is a label and `discrete` only where both are discrete. `bmi-ksg` is "
            "benchmark-mi 0.1.3's `KSGEnsembleFirstEstimator(neighborhoods=(3,))` on the same "
            "samples.\n\n"
            f"Command (took {total / 60:.1f} min on {machine()}, shared with other jobs):\n\n"
            f"```\n{command_line()}\n```\n\n"
            + text
            + ("\n\nNot run:\n\n" + "\n".join(f"- {x}" for x in notes) if notes else "")
            + ("\n\nErrors:\n\n" + "\n".join(err_lines) if err_lines else "")
        )
        replace_section("Accuracy", _keep_notes(body))


if __name__ == "__main__":
    main()
