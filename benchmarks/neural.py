"""Neural MI estimators: accuracy and wall time vs torch-mist, and degradation with MI.

Part 1 runs every task with the same samples, step budget and batch size for
mi_probe's estimators and torch-mist's (when a Python with torch-mist is given),
and reports estimate, error against the closed-form truth and wall time.
Part 2 tabulates how each bound degrades as the true MI grows (1, 2, 4, 8 nats) at
fixed n, with the log(B) and ln(n) ceilings, and saves a seaborn figure.

Usage::

    python benchmarks/neural.py                      # ours only, full run
    python benchmarks/neural.py --quick              # small budget, a smoke test
    python benchmarks/neural.py --peers-python /work/peers/neural-venv/bin/python

Everything runs on one CPU thread (``--threads``) so that ratios measured in the same
run are comparable on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- tasks


def gaussian_task(n: int, d: int, mi: float, seed: int, transform: str = "none"):
    """x, y in R^d, y_k = rho x_k + sqrt(1 - rho^2) e_k with rho set so that I = mi nats."""
    rho = math.sqrt(1.0 - math.exp(-2.0 * mi / d))
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, d))
    y = rho * x + math.sqrt(1 - rho**2) * g.standard_normal((n, d))
    if transform == "cubic":
        y = y**3  # invertible per coordinate: MI unchanged
    h_y = 0.5 * d * math.log(2 * math.pi * math.e)  # of the untransformed y
    return x.astype(np.float32), y.astype(np.float32), mi, h_y


TASKS = {
    "gauss-1x1 (0.5 nats)": dict(d=1, mi=0.5),
    "gauss-5x5 (2 nats)": dict(d=5, mi=2.0),
    "gauss-20x20 (3 nats)": dict(d=20, mi=3.0),
    "cubic-5x5 (2 nats)": dict(d=5, mi=2.0, transform="cubic"),
}
ESTIMATORS = ("infonce", "nwj", "mine", "smile", "js", "ba", "club")

# ---------------------------------------------------------------------- our runner


def run_ours(name: str, x, y, *, steps: int, batch: int, hidden: list[int] | None,
             seed: int, h_y: float | None, val_frac: float) -> tuple[float, float]:
    import mi_probe

    kw: dict[str, Any] = dict(
        max_steps=steps, batch_size=batch, hidden_dims=None if hidden is None else tuple(hidden),
        patience=None,
        validation_fraction=val_frac, random_state=seed, progress=False,
    )
    if name == "ba" and h_y is not None:
        kw["y_entropy"] = h_y
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = mi_probe.estimate_mi(x, y, estimator=name, **kw)
    return r.diagnostics["raw_value"], time.perf_counter() - t


# --------------------------------------------------------------------- peer runner

PEER_SCRIPT = r"""
import json, sys, time, warnings, io, contextlib
import numpy as np, torch
warnings.simplefilter("ignore")
torch.set_num_threads(int(sys.argv[3]))
from torch_mist import estimate_mi
spec = json.load(open(sys.argv[1]))
d = np.load(sys.argv[2])
x, y = torch.tensor(d["x"]), torch.tensor(d["y"])
n_val = int(round(spec["val_frac"] * len(x)))
g = np.random.default_rng(spec["seed"])
perm = torch.tensor(g.permutation(len(x)))
tr, te = perm[n_val:], perm[:n_val]
torch.manual_seed(spec["seed"])
kw = dict(hidden_dims=spec["hidden"], max_iterations=spec["steps"], batch_size=spec["batch"],
          early_stopping=False, verbose=False, logger=False, valid_percentage=0.1)
if spec["name"] == "ba":
    # standardised-free: torch-mist needs H(y) of the data as given
    kw["entropy_y"] = float(spec["h_y"])
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    out = estimate_mi(data=(x[tr], y[tr]), test_data=(x[te], y[te]), estimator=spec["name"], **kw)
elapsed = time.perf_counter() - t
if isinstance(out, (tuple, list)):
    out = out[0]
print(json.dumps({"value": float(out), "time": elapsed}))
"""


def run_peer(python: str, name: str, x, y, *, steps: int, batch: int, hidden: list[int],
             seed: int, h_y: float | None, val_frac: float, threads: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        spec = dict(name=name, steps=steps, batch=batch, hidden=hidden, seed=seed,
                    h_y=h_y, val_frac=val_frac)
        Path(tmp, "spec.json").write_text(json.dumps(spec))
        np.savez(Path(tmp, "data.npz"), x=x, y=y)
        Path(tmp, "run.py").write_text(PEER_SCRIPT)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        proc = subprocess.run(
            [python, str(Path(tmp, "run.py")), str(Path(tmp, "spec.json")),
             str(Path(tmp, "data.npz")), str(threads)],
            capture_output=True, text=True, env=env, timeout=3600,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        return res["value"], res["time"]


# ------------------------------------------------------------------------- parts


def _mean(v: list[float]) -> float:
    return float(np.mean(v)) if v else float("nan")


def part1(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for task in args.tasks:
        spec = TASKS[task]
        for name in args.estimators:
            rec: dict[str, Any] = dict(task=task, estimator=name)
            for who in (["mi_probe"] + (["torch-mist"] if args.peers_python else [])):
                vals, times = [], []
                for seed in range(args.seeds):
                    x, y, truth, h_y = gaussian_task(args.n, spec["d"], spec["mi"], seed,
                                                     spec.get("transform", "none"))
                    h_known = h_y if spec.get("transform", "none") == "none" else None
                    common = dict(steps=args.steps, batch=args.batch, hidden=args.hidden,
                                  seed=seed, h_y=h_known, val_frac=args.val_frac)
                    try:
                        if who == "mi_probe":
                            v, t = run_ours(name, x, y, **{**common, "hidden": args.ours_hidden})
                        else:
                            if name == "ba" and h_known is None:
                                raise RuntimeError("torch-mist's BA needs H(y)")
                            v, t = run_peer(args.peers_python, name, x, y,
                                            threads=args.threads, **common)
                    except Exception as exc:  # a peer that cannot run this case
                        print(f"  {who} {name} {task}: {str(exc).strip()[-200:]}",
                              file=sys.stderr)
                        continue
                    vals.append(v)
                    times.append(t)
                    truth_ = truth
                rec[f"{who} estimate"] = _mean(vals)
                errs = [abs(v - truth_) for v in vals]
                rec[f"{who} |error|"] = _mean(errs)
                rec[f"{who} time s"] = _mean(times)
            rec["truth"] = spec["mi"]
            if args.peers_python:
                rec["time ratio (ours/peer)"] = rec["mi_probe time s"] / rec["torch-mist time s"]
            rows.append(rec)
            print(json.dumps(rec), flush=True)
    return rows


def part2(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    n_val = int(round(args.val_frac * args.n))
    for mi in args.mi_grid:
        for name in args.estimators:
            if name == "club":
                continue
            vals = []
            for seed in range(args.seeds):
                x, y, truth, h_y = gaussian_task(args.n, args.degradation_dim, mi, seed)
                v, _ = run_ours(name, x, y, steps=args.steps, batch=args.batch,
                                hidden=args.ours_hidden, seed=seed,
                                h_y=h_y, val_frac=args.val_frac)
                vals.append(v)
            rec = dict(true_mi=mi, estimator=name, estimate=_mean(vals),
                       sd=float(np.std(vals)), log_B=math.log(args.batch),
                       ln_n=math.log(n_val))
            rows.append(rec)
            print(json.dumps(rec), flush=True)
    return rows


def figure(rows: list[dict[str, Any]], path: Path, batch: int, n_val: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    df = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    sns.lineplot(data=df, x="true_mi", y="estimate", hue="estimator", marker="o", ax=ax)
    top = float(df["true_mi"].max())
    ax.plot([0, top], [0, top], "k--", lw=1, label="truth")
    ax.axhline(math.log(batch), color="grey", ls=":", label=f"log B = {math.log(batch):.2f}")
    ax.axhline(math.log(n_val), color="grey", ls="-.", label=f"ln n = {math.log(n_val):.2f}")
    ax.set_xlabel("true I(x; y) [nats]")
    ax.set_ylabel("estimate [nats]")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(rows: list[dict[str, Any]], cols: list[str]) -> str:
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            cells.append(f"{v:.3f}" if isinstance(v, float) else str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--hidden", type=int, nargs="+", default=[64, 64],
                   help="torch-mist's hidden_dims (its separable critic uses the last as "
                        "the embedding); mi_probe uses its defaults unless --ours-hidden")
    p.add_argument("--ours-hidden", type=int, nargs="+", default=None)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--val-frac", type=float, default=0.3)
    p.add_argument("--estimators", nargs="+", default=list(ESTIMATORS))
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--mi-grid", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0])
    p.add_argument("--degradation-dim", type=int, default=5)
    p.add_argument("--peers-python", default=None,
                   help="a Python with torch-mist (e.g. /work/peers/neural-venv/bin/python)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--parts", nargs="+", default=["1", "2"])
    p.add_argument("--quick", action="store_true", help="n=2000, 200 steps, 1 seed")
    p.add_argument("--json", default=None)
    p.add_argument("--write-readme", action="store_true",
                   help="rewrite the '## Neural estimators' section of benchmarks/README.md")
    p.add_argument("--figure", default=str(HERE / "neural_degradation.png"))
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.steps, args.seeds = 2000, 200, 1
    import torch

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    tables: list[str] = []
    result: dict[str, Any] = {"settings": {k: v for k, v in vars(args).items()}}
    if "1" in args.parts:
        rows = part1(args)
        result["comparison"] = rows
        cols = ["task", "estimator", "truth", "mi_probe estimate", "mi_probe |error|",
                "mi_probe time s"]
        if args.peers_python:
            cols += ["torch-mist estimate", "torch-mist |error|", "torch-mist time s",
                     "time ratio (ours/peer)"]
        print(markdown(rows, cols))
        tables.append(markdown(rows, cols))
    if "2" in args.parts:
        rows2 = part2(args)
        result["degradation"] = rows2
        print(markdown(rows2, ["true_mi", "estimator", "estimate", "sd", "log_B", "ln_n"]))
        tables.append(markdown(rows2, ["true_mi", "estimator", "estimate", "sd", "log_B", "ln_n"]))
        figure(rows2, Path(args.figure), args.batch, int(round(args.val_frac * args.n)))
        print(f"figure: {args.figure}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.write_readme:
        write_readme(args, tables, time.perf_counter() - start)


def write_readme(args: argparse.Namespace, tables: list[str], elapsed: float) -> None:
    sys.path.insert(0, str(HERE))
    from _common import command_line, machine, replace_section

    intro = (
        "Every estimator of `mi_probe.estimators.neural` on Gaussian tasks with a closed-form "
        "MI (x, y in R^d, per-coordinate correlation set for the stated total MI; "
        "`cubic` applies y -> y^3, which leaves MI unchanged). Both packages get the same "
        f"samples (n={args.n}, {args.val_frac:.0%} held out for the estimate), the same step "
        f"budget ({args.steps} Adam steps, no early stopping), the same batch size "
        f"({args.batch}), one CPU thread each. torch-mist 0.2.17 gets hidden_dims="
        f"{args.hidden} (its separable critic: one hidden layer of 64 and a 64-wide "
        "embedding; joint critic with one shuffled negative for MINE/NWJ/SMILE/JS, its "
        "defaults); mi_probe runs with its defaults (separable critic, one hidden layer "
        "of 64 and a 64-wide embedding here, all B(B-1) negatives; decoders with two "
        "hidden layers of 64). BA "
        "gets the true H(y) in both where it is known. |error| is the mean over "
        f"{args.seeds} seeds of |estimate - truth|; time is the mean wall time of one fit "
        "(torch-mist's includes its process start-up and import, about 3-5 s)."
    )
    body = [intro, "",
            f"Command (took {elapsed / 60:.1f} min on {machine()}, shared with other jobs):",
            "", "```", command_line(), "```", ""]
    if tables:
        body += ["Comparison:", "", tables[0], ""]
    if len(tables) > 1:
        body += [
            f"How each bound degrades as the true MI grows (d={args.degradation_dim}, "
            f"n={args.n}); the ceilings are log B (InfoNCE) and ln n of the held-out set "
            "(the sample-size limit of any lower bound, McAllester & Stratos 2020). "
            "Figure: `benchmarks/neural_degradation.png`.", "", tables[1], ""]
    replace_section("Neural estimators", "\n".join(body))


if __name__ == "__main__":
    main()
