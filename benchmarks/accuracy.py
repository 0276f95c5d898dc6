"""Accuracy of every mi_probe estimator on the ground-truth tasks of ``mi_probe.tasks``
and the Gaussian-mixture tasks of ``benchmarks/_mixtures.py``.

For each task, sample size and seed, every registered estimator (skipping those whose
module does not exist yet, and the neural ones unless ``--neural``) estimates I(x; y)
from the same samples; the table gives mean +- sd over seeds next to the truth, and
marks a task solved by benchmark-mi's rule (Czyz et al. 2023): the mean over seeds of
``log(estimate / truth)`` lies within ``log 1.5`` of zero.

With ``--peers-python PATH`` (a Python with benchmark-mi and/or NPEET installed) the
same samples are saved to ``.npz`` and the peers run on them in one long-lived worker
subprocess, side by side and concurrently with ours:

- ``bmi-ksg``: benchmark-mi's ``KSGEnsembleFirstEstimator`` with one neighbourhood
  k=3 and ``standardize=True``;
- ``npeet``: NPEET's ``mi(x, y, k=3)`` (KSG algorithm 1, max-norm) on the samples
  standardised per column as benchmark-mi standardises them (NPEET itself adds uniform
  noise of size 1e-10; its generator is seeded with the task seed). Where one variable
  is discrete NPEET's ``micd`` (k=3: Kozachenko-Leonenko entropy of the continuous
  variable minus its class-conditional entropy) runs instead, and ``midd`` (plug-in)
  where both are.

A peer that does not import in that Python is left out with a note. NPEET's code is
also on PyPI as ``npeet-plus`` (module ``npeet_plus``), used when ``npeet`` is absent.

Estimators that return an interval (``auto``) also have it recorded; a table gives how
often it covered the truth, and how often a miss came with a serious reliability flag.

With ``--json FILE`` every estimate (per task, estimator, n and seed) is written to FILE
after each task and sample size, so an interrupted run loses little; ``--resume`` reads
FILE and skips the estimates already in it (the samples are regenerated from the seed, so
a resumed run uses the same samples).

Examples
--------
python benchmarks/accuracy.py --quick
python benchmarks/accuracy.py --seeds 5 --max-n kde=5000 --write-readme \\
    --peers-python /work/peers/speed-venv/bin/python --json /tmp/acc.json --resume
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import inspect
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _common import command_line, machine, markdown_table, replace_section  # noqa: E402
from _mixtures import MIXTURE_TASKS, get_mixture_task  # noqa: E402

from mi_probe.estimators._registry import MI_ESTIMATORS  # noqa: E402
from mi_probe.tasks import get_task as _package_task  # noqa: E402
from mi_probe.tasks import list_tasks  # noqa: E402


def get_task(task_id: str):  # noqa: ANN201
    """A task of ``mi_probe.tasks`` or of ``benchmarks/_mixtures.py``."""
    return get_mixture_task(task_id) if task_id in MIXTURE_TASKS else _package_task(task_id)


NEURAL = {"mine", "nwj", "infonce", "smile", "js", "ba", "club"}
QUICK_TASKS = [
    "1v1-normal-0.75",
    "1v1-additive-0.1",
    "half_cube-1v1-normal-0.75",
    "student-identity-2-2-1",
    "multinormal-dense-5-5-0.5",
    "multinormal-sparse-5-5-2-2.0",
    "spiral-multinormal-sparse-3-3-2-2.0",
    "mixed-gaussian-4-0.25",
    "discrete-bsc-0.1",
]
SOLVED = math.log(1.5)

PEERS = ("bmi-ksg", "npeet")

# Long-lived worker run by the peers' Python. First line out: which peers import. Then,
# for each input line "path<TAB>seed<TAB>kind<TAB>peer,peer" (kind: two letters, c or d,
# for continuous or discrete x and y), one JSON line {"path", peer: [value, seconds] or
# {"error": message}}; the .npz file is deleted once read.
PEER_SCRIPT = r"""
import json, os, sys, time
from importlib.metadata import version
import numpy as np
available = {}
try:
    from bmi.estimators import KSGEnsembleFirstEstimator
    bmi_ksg = KSGEnsembleFirstEstimator(neighborhoods=(3,), standardize=True)
    available["bmi-ksg"] = "benchmark-mi " + version("benchmark-mi")
except Exception:
    available["bmi-ksg"] = None
try:
    import npeet.entropy_estimators as ee
    available["npeet"] = "NPEET " + version("npeet")
except Exception:
    try:  # the PyPI distribution of NPEET's code (same functions)
        import npeet_plus.estimators as ee
        available["npeet"] = "npeet-plus " + version("npeet-plus")
    except Exception:
        available["npeet"] = None

def standardise(a):
    sd = a.std(axis=0)
    return (a - a.mean(axis=0)) / np.where(sd > 0, sd, 1.0)

def npeet(x, y, seed, kind):
    np.random.seed(seed)  # NPEET's add_noise draws from the global generator
    if kind == "cc":
        return ee.mi(standardise(x), standardise(y), k=3, base=np.e)
    if kind == "cd":
        return ee.micd(standardise(x), y, k=3, base=np.e, warning=False)
    if kind == "dc":
        return ee.micd(standardise(y), x, k=3, base=np.e, warning=False)
    return ee.midd(x, y, base=np.e)

print(json.dumps({"available": available}), flush=True)
for line in sys.stdin:
    path, seed, kind, peers = line.rstrip("\n").split("\t")
    d = np.load(path)
    x, y = d["x"], d["y"]
    os.remove(path)
    out = {"path": path}
    for peer in peers.split(","):
        t = time.perf_counter()
        try:
            if peer == "bmi-ksg":
                value = float(bmi_ksg.estimate(x, y))
            else:
                value = float(npeet(x, y, int(seed), kind))
            out[peer] = [value, time.perf_counter() - t]
        except Exception as exc:
            out[peer] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
    print(json.dumps(out), flush=True)
"""


class PeerWorker:
    """The peer subprocess, fed sample files while our estimators run; a reader thread
    collects its answers into ``results`` (key -> (value, seconds)) and ``errors``."""

    def __init__(self, python: str, tmp: pathlib.Path) -> None:
        self.tmp = tmp
        self.proc = subprocess.Popen(
            [python, "-c", PEER_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        first = self.proc.stdout.readline()
        try:
            self.available = {p: v for p, v in json.loads(first)["available"].items() if v}
        except (ValueError, KeyError):
            self.proc.kill()
            raise RuntimeError(f"peer worker did not start ({python}): {first[:200]!r}") from None
        self.pending: dict[str, tuple] = {}
        self.results: dict[tuple, tuple[float, float]] = {}
        self.errors: dict[tuple[str, str], str] = {}
        self.lock = threading.Lock()
        self.count = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def submit(
        self, tid: str, n: int, seed: int, kind: str, x: np.ndarray, y: np.ndarray, peers: list[str]
    ) -> None:
        path = self.tmp / f"{self.count}.npz"
        self.count += 1
        np.savez(path, x=x, y=y)
        with self.lock:
            self.pending[str(path)] = (tid, n, seed)
        self.proc.stdin.write(f"{path}\t{seed}\t{kind}\t{','.join(peers)}\n")
        self.proc.stdin.flush()

    def _read(self) -> None:
        for line in self.proc.stdout:
            out = json.loads(line)
            with self.lock:
                tid, n, seed = self.pending.pop(out.pop("path"))
                for peer, res in out.items():
                    if isinstance(res, dict):
                        self.errors[(tid, peer)] = res["error"]
                    else:
                        self.results[(tid, peer, n, seed)] = (res[0], res[1])

    def take(self) -> tuple[dict, dict]:
        """The answers that came in since the last call."""
        with self.lock:
            res, err = self.results, self.errors
            self.results, self.errors = {}, {}
        return res, err

    def close(self, wait_step: float, on_wait) -> None:  # noqa: ANN001
        """Send end-of-input and wait for the worker, calling ``on_wait`` every step."""
        self.proc.stdin.close()
        while self.thread.is_alive():
            self.thread.join(wait_step)
            on_wait()
        self.proc.wait()


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


def run_estimator(cls, seed: int, x: np.ndarray, y: np.ndarray):  # noqa: ANN001, ANN201
    """The estimator's result (an MIResult) with its defaults and ``random_state=seed``."""
    params = inspect.signature(cls.__init__).parameters
    kwargs = {"random_state": seed} if "random_state" in params else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # auto's flags: kept below
        return cls(**kwargs).estimate(x, y)


def interval_record(result) -> list | None:  # noqa: ANN001
    """[low, high, serious flags] of a result that has an interval (auto's)."""
    if getattr(result, "interval", None) is None:
        return None
    from mi_probe.estimators.reliability import SERIOUS_FLAGS

    flags = result.diagnostics.get("flags") or {}
    return [*result.interval, [f for f in SERIOUS_FLAGS if flags.get(f)]]


def solved(values: list[float], truth: float) -> bool:
    """benchmark-mi's rule: the mean over seeds of log(estimate / truth) is within
    log 1.5 of 0 (an estimate <= 0 gives -inf, never solved)."""
    if truth <= 0 or min(values) <= 0:
        return False
    return abs(float(np.mean(np.log(np.asarray(values) / truth)))) < SOLVED


def coverage_table(intervals: dict, task_ids: list[str], ns: list[int], seeds: int) -> str:
    """Markdown: how often each interval covered the truth, per estimator and n; a miss
    is *flagged* when a serious reliability flag (with its warning) was set."""
    rows = []
    names = sorted({k.split("|")[1] for k in intervals})
    for name in names:
        for n in ns:
            cover = flagged = clean = 0
            clean_tasks = set()
            for tid in task_ids:
                truth = get_task(tid).mutual_information()
                for seed in range(seeds):
                    rec = intervals.get(_key(tid, name, n, seed))
                    if rec is None:
                        continue
                    lo, hi, flags = rec
                    if lo <= truth <= hi:
                        cover += 1
                    elif flags:
                        flagged += 1
                    else:
                        clean += 1
                        clean_tasks.add(tid)
            total = cover + flagged + clean
            if total:
                rows.append(
                    [
                        name,
                        str(n),
                        f"{cover}/{total}",
                        str(flagged),
                        str(clean),
                        ", ".join(f"`{t}`" for t in sorted(clean_tasks)) or "-",
                    ]
                )
    if not rows:
        return ""
    return markdown_table(
        [
            "estimator",
            "n",
            "95% interval covers truth",
            "missed, flagged",
            "missed, no flag",
            "tasks missed with no flag",
        ],
        rows,
    )


def _keep_notes(body: str) -> str:
    """Carry the hand-written ``<!-- notes -->...<!-- /notes -->`` block of the current
    Accuracy section over to the regenerated one (placed before the tables)."""
    from _common import README

    old = README.read_text() if README.exists() else ""
    old = old[old.find("\n## Accuracy\n") + 1 :] if "\n## Accuracy\n" in old else ""
    old = old[: old.find("\n## ", 1)] if "\n## " in old[1:] else old
    start, end = old.find("<!-- notes -->"), old.find("<!-- /notes -->")
    if start < 0 or end < start:
        return body
    notes = old[start : end + len("<!-- /notes -->")]
    head, sep, rest = body.partition("\n\n| estimator |")
    return f"{head}\n\n{notes}{sep}{rest}" if sep else f"{body}\n\n{notes}"


def load_results(path: pathlib.Path) -> dict:
    """The --json file of an earlier run (format 2), or an empty record."""
    empty = {
        "format": 2,
        "estimates": {},
        "seconds": {},
        "errors": {},
        "wall_seconds": 0.0,
        "runs": 0,
    }
    if not path.exists():
        return empty
    data = json.loads(path.read_text())
    if data.get("format") != 2:
        raise SystemExit(
            f"{path}: not a results file of this script (format 2); move it away or drop --resume"
        )
    return data


def save_results(path: pathlib.Path, data: dict) -> None:
    """Write atomically, so an interruption never leaves half a file."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, indent=0))
    os.replace(tmp, path)


def _key(tid: str, name: str, n: int, seed: int) -> str:
    return f"{tid}|{name}|{n}|{seed}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0..seeds-1)")
    parser.add_argument("--tasks", nargs="+", default=None, help="task ids or glob patterns")
    parser.add_argument("--estimators", nargs="+", default=None)
    parser.add_argument("--neural", action="store_true", help="include the neural estimators")
    parser.add_argument(
        "--no-mixtures",
        action="store_true",
        help="leave out the Gaussian-mixture tasks of benchmarks/_mixtures.py",
    )
    parser.add_argument(
        "--max-n",
        nargs="+",
        default=[],
        metavar="EST=N",
        help="skip estimator EST (ours or a peer) above sample size N (e.g. kde=5000 bmi-ksg=5000)",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"n=1000, 2 seeds, {len(QUICK_TASKS)} tasks"
    )
    parser.add_argument(
        "--peers-python",
        default=None,
        help="a Python with benchmark-mi and/or NPEET: run them on the same samples",
    )
    parser.add_argument(
        "--peers",
        nargs="+",
        default=list(PEERS),
        choices=PEERS,
        help="which peers to run (default: all that import)",
    )
    parser.add_argument(
        "--peers-max-n", type=int, default=None, help="skip every peer above this sample size"
    )
    parser.add_argument(
        "--write-readme",
        action="store_true",
        help="write the tables into benchmarks/README.md, section Accuracy",
    )
    parser.add_argument(
        "--json", default=None, help="save every estimate to this file, as the run goes"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="with --json: keep the estimates already in the file and skip them",
    )
    args = parser.parse_args(argv)
    if args.resume and not args.json:
        parser.error("--resume needs --json")
    if args.quick:
        args.n, args.seeds = [1000], 2
        args.tasks = args.tasks or QUICK_TASKS
    all_ids = list_tasks() + [t for t in MIXTURE_TASKS if not args.no_mixtures]
    task_ids = all_ids
    if args.tasks:
        task_ids = []
        for pat in args.tasks:
            hits = [t for t in all_ids if fnmatch.fnmatch(t, pat)] or [get_task(pat).id]
            task_ids += [t for t in hits if t not in task_ids]
    max_n = {k: int(v) for k, v in (s.split("=") for s in args.max_n)}
    if args.peers_max_n is not None:
        for peer in PEERS:
            max_n[peer] = min(max_n.get(peer, args.peers_max_n), args.peers_max_n)
    estimators, notes = available_estimators(args.estimators, args.neural)
    print(f"estimators: {', '.join(estimators)}", file=sys.stderr)

    json_path = pathlib.Path(args.json) if args.json else None
    data = (
        load_results(json_path)
        if args.resume and json_path
        else {
            "format": 2,
            "estimates": {},
            "seconds": {},
            "errors": {},
            "wall_seconds": 0.0,
            "runs": 0,
        }
    )
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mi_probe_acc_"))
    worker, peers = None, []
    if args.peers_python:
        worker = PeerWorker(args.peers_python, tmp)
        peers = [p for p in args.peers if p in worker.available]
        notes += [
            f"{p}: not importable in {args.peers_python}"
            for p in args.peers
            if p not in worker.available
        ]
        print(f"peers: {', '.join(peers) or 'none'}", file=sys.stderr)
    for note in notes:
        print(note, file=sys.stderr)
    names = list(estimators) + peers

    def runs_at(name: str, task, n: int) -> bool:  # noqa: ANN001
        if n > max_n.get(name, n):
            return False
        return applies(name, task)[0] if name in estimators else True

    start = time.perf_counter()
    wall_before = data["wall_seconds"]

    def save() -> None:
        if worker is not None:
            res, err = worker.take()
            for (tid, peer, n, seed), (value, dt) in res.items():
                data["estimates"][_key(tid, peer, n, seed)] = value
                data["seconds"][_key(tid, peer, n, seed)] = dt
            for (tid, peer), msg in err.items():
                data["errors"][f"{tid}|{peer}"] = msg
        data["wall_seconds"] = wall_before + time.perf_counter() - start
        if json_path is not None:
            save_results(json_path, data)

    counted = False
    try:
        for tid in task_ids:
            task = get_task(tid)
            kind = ("d" if task.discrete_x else "c") + ("d" if task.discrete_y else "c")
            for n in args.n:
                for seed in range(args.seeds):
                    todo = [
                        e
                        for e in names
                        if runs_at(e, task, n) and _key(tid, e, n, seed) not in data["estimates"]
                    ]
                    if not todo:
                        continue
                    if not counted:  # invocations that computed something
                        data["runs"], counted = data["runs"] + 1, True
                    x, y = task.sample(n, seed)
                    want = [p for p in peers if p in todo]
                    if want:
                        worker.submit(tid, n, seed, kind, x, y, want)
                    for name in todo:
                        if name not in estimators:
                            continue
                        swap = applies(name, task)[1]
                        t0 = time.perf_counter()
                        try:
                            result = run_estimator(
                                estimators[name], seed, *((y, x) if swap else (x, y))
                            )
                        except Exception as exc:  # record, keep going
                            data["errors"][f"{tid}|{name}"] = f"{type(exc).__name__}: {exc}"[:120]
                            continue
                        data["seconds"][_key(tid, name, n, seed)] = time.perf_counter() - t0
                        data["estimates"][_key(tid, name, n, seed)] = float(result)
                        rec = interval_record(result)
                        if rec is not None:
                            data.setdefault("intervals", {})[_key(tid, name, n, seed)] = rec
                save()
            print(f"[{time.perf_counter() - start:7.1f}s] {tid}", file=sys.stderr)
        if worker is not None:
            t0 = time.perf_counter()
            worker.close(60.0, save)
            print(f"waited {time.perf_counter() - t0:.0f}s for the peers", file=sys.stderr)
    finally:
        if worker is not None and worker.proc.poll() is None:
            worker.proc.kill()
        save()
    total = data["wall_seconds"]

    # (task, estimator, n) -> estimates over seeds; only what this configuration runs
    est: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    secs: dict[str, float] = defaultdict(float)
    missing: dict[str, int] = defaultdict(int)
    for tid in task_ids:
        task = get_task(tid)
        for n in args.n:
            for name in names:
                if not runs_at(name, task, n):
                    continue
                for seed in range(args.seeds):
                    key = _key(tid, name, n, seed)
                    if key in data["estimates"]:
                        est[(tid, name, n)].append(data["estimates"][key])
                        secs[name] += data["seconds"].get(key, 0.0)
                    else:
                        missing[name] += 1
    errors = {tuple(k.split("|")): v for k, v in data["errors"].items()}
    notes += [
        f"{name}: {m} estimates missing (errors or an interrupted run)"
        for name, m in missing.items()
    ]
    notes += [
        f"{name}: not run above n={cap}"
        for name, cap in max_n.items()
        if name in names and cap < max(args.n)
    ]

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
                with np.errstate(invalid="ignore"):
                    m = float(np.mean(vals))
                    s = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
                row.append(f"{m:.3f} ± {s:.3f}" + (" ✓" if solved(vals, truth) else ""))
            rows.append(row)
        sections.append(
            f"n = {n}, {args.seeds} seeds (mean ± sd; ✓ = solved)\n\n"
            + markdown_table(header, rows)
        )
    summary_rows = []
    for name in names:
        cells = [name]
        for n in args.n:
            done = [t for t in task_ids if est.get((t, name, n))]
            ok = sum(solved(est[(t, name, n)], get_task(t).mutual_information()) for t in done)
            cells.append(f"{ok}/{len(done)}" if done else "-")
        cells.append(f"{secs.get(name, 0.0):.1f}")
        summary_rows.append(cells)
    summary = markdown_table(
        ["estimator"] + [f"solved, n={n}" for n in args.n] + ["total seconds"], summary_rows
    )
    err_lines = [f"- {name} on `{tid}`: {msg}" for (tid, name), msg in sorted(errors.items())]
    coverage = coverage_table(data.get("intervals", {}), task_ids, args.n, args.seeds)
    text = "\n\n".join([summary, *([coverage] if coverage else []), *sections])
    print(text)
    for line in notes + err_lines:
        print(line)
    print(f"total {total:.0f}s", file=sys.stderr)
    if args.write_readme:
        versions = worker.available if worker is not None else {}
        peer_text = ""
        if "bmi-ksg" in peers:
            peer_text += (
                f"`bmi-ksg` is {versions['bmi-ksg']}'s "
                "`KSGEnsembleFirstEstimator(neighborhoods=(3,), standardize=True)` "
                "on the same samples. "
            )
        if "npeet" in peers:
            peer_text += (
                f"`npeet` is {versions['npeet']}'s `mi(x, y, k=3)` on the same "
                "samples standardised per column (NPEET adds its own uniform noise "
                "of size 1e-10, seeded here); on the two tasks with one discrete "
                "variable it is `micd` (k=3; Kozachenko-Leonenko entropy of the "
                "continuous variable minus its entropy within each class) and on "
                "the discrete channel `midd` (plug-in). "
            )
        peer_text = peer_text.rstrip() + "\n\n"
        runs = (
            f" over {data['runs']} invocations, the later ones resuming from --json"
            if data["runs"] > 1
            else ""
        )
        body = (
            "Estimates vs the exact MI of every task in `mi_probe.tasks.list_tasks()` "
            "(benchmark-mi's 40 tasks plus three with a discrete variable) and of the "
            "Gaussian-mixture tasks of `benchmarks/_mixtures.py` (benchmark-mi's "
            "fine-distribution mixtures and the sign and low-rank mixtures of issue 18; "
            "Monte Carlo truths, standard error <= 0.008), in nats. "
            "A task counts as *solved* by benchmark-mi's rule: the mean over seeds of "
            "`log(estimate / truth)` is within `log 1.5` of 0 (within a factor 1.5 in "
            "geometric mean; a non-positive estimate never solves). Each estimator "
            "runs with its defaults (KSG: k=3, standardised); `mixed` runs only where one "
            "variable is a label and `discrete` only where both are discrete. "
            + peer_text
            + f"Command (took {total / 60:.1f} min of wall time{runs} on {machine()}, "
            "shared with other jobs; the peers ran in a second process at the same time, "
            "so the seconds below are inflated by contention):\n\n"
            f"```\n{command_line()}\n```\n\n"
            + text
            + ("\n\nNot run:\n\n" + "\n".join(f"- {x}" for x in notes) if notes else "")
            + ("\n\nErrors:\n\n" + "\n".join(err_lines) if err_lines else "")
        )
        replace_section("Accuracy", _keep_notes(body))


if __name__ == "__main__":
    main()
