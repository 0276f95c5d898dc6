"""Neural MI estimators: accuracy and wall time vs torch-mist and bmi, and degradation.

Part 1 runs every task with the same samples, step budget, batch size and step size
for mi_probe's estimators and the peers' (torch-mist for all seven bounds, bmi's JAX
estimators for InfoNCE, NWJ and MINE; each when a Python with it is given), over
several seeds, and reports per (task, bound) the mean estimate, the mean absolute
error with its standard error, a paired win / tie / loss against the best peer (a
difference within 2 standard errors is a tie) and the median wall time of one fit.
Part 2 tabulates how each bound degrades as the true MI grows (1, 2, 4, 8 nats) at
fixed n, with the log(B) and ln(n) ceilings, and saves a seaborn figure.

Usage::

    python benchmarks/neural.py                      # ours only
    python benchmarks/neural.py --quick              # small budget, a smoke test
    python benchmarks/neural.py --peers-python /work/peers/neural-venv/bin/python \\
        --bmi-python /work/peers/speed-venv/bin/python

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
from typing import Any

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


def run_ours(
    name: str,
    x,
    y,
    *,
    steps: int,
    batch: int,
    hidden: list[int] | None,
    seed: int,
    h_y: float | None,
    val_frac: float,
) -> tuple[float, float]:
    import mi_probe

    kw: dict[str, Any] = dict(
        max_steps=steps,
        batch_size=batch,
        hidden_dims=None if hidden is None else tuple(hidden),
        patience=None,
        validation_fraction=val_frac,
        random_state=seed,
        progress=False,
    )
    if name == "ba" and h_y is not None:
        kw["y_entropy"] = h_y
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = mi_probe.estimate_mi(x, y, estimator=name, **kw)
    return r.diagnostics["raw_value"], time.perf_counter() - t


# --------------------------------------------------------------------- peer runners
#
# Each peer runs in its own Python (its own venv), one process per (task, bound) for
# all seeds; only the estimate call is timed (imports and process start are not), the
# same as for mi_probe.

TORCH_MIST_SCRIPT = r"""
import json, sys, time, warnings, io, contextlib
import numpy as np, torch
warnings.simplefilter("ignore")
torch.set_num_threads(int(sys.argv[3]))
from torch_mist import estimate_mi
spec = json.load(open(sys.argv[1]))
d = np.load(sys.argv[2])
out = []
for s in spec["seeds"]:
    x, y = torch.tensor(d[f"x{s}"]), torch.tensor(d[f"y{s}"])
    tr, te = torch.tensor(d[f"tr{s}"]), torch.tensor(d[f"te{s}"])
    torch.manual_seed(s)
    kw = dict(hidden_dims=spec["hidden"], max_iterations=spec["steps"],
              batch_size=spec["batch"], optimizer_params={"lr": spec["lr"]},
              early_stopping=False, verbose=False, logger=False, valid_percentage=0.0)
    if spec["name"] == "ba":
        kw["entropy_y"] = float(spec["h_y"])
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        v = estimate_mi(data=(x[tr], y[tr]), test_data=(x[te], y[te]),
                        estimator=spec["name"], **kw)
    elapsed = time.perf_counter() - t
    if isinstance(v, (tuple, list)):
        v = v[0]
    out.append({"value": float(v), "time": elapsed})
print(json.dumps(out))
"""

BMI_SCRIPT = r"""
import json, sys, time, warnings, io, contextlib
warnings.simplefilter("ignore")
import numpy as np
import bmi
spec = json.load(open(sys.argv[1]))
d = np.load(sys.argv[2])
cls = {"infonce": bmi.estimators.InfoNCEEstimator, "nwj": bmi.estimators.NWJEstimator,
       "mine": bmi.estimators.MINEEstimator}[spec["name"]]
out = []
for s in spec["seeds"]:
    x, y = d[f"x{s}"], d[f"y{s}"]
    # bmi splits by itself (train_test_split = share used for training); one test
    # evaluation after the last step, so early stopping cannot cut the budget
    est = cls(batch_size=spec["batch"], max_n_steps=spec["steps"],
              train_test_split=1.0 - spec["val_frac"], test_every_n_steps=spec["steps"],
              learning_rate=spec["lr"], hidden_layers=tuple(spec["hidden"]),
              verbose=False, seed=s)
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        v = est.estimate(x, y)
    out.append({"value": float(v), "time": time.perf_counter() - t})
print(json.dumps(out))
"""

PEERS = {
    # name: (script, bounds it has)
    "torch-mist": (TORCH_MIST_SCRIPT, ESTIMATORS),
    "bmi": (BMI_SCRIPT, ("infonce", "nwj", "mine")),
}


def run_peer(
    peer: str,
    python: str,
    name: str,
    data: dict[int, tuple],
    *,
    steps: int,
    batch: int,
    hidden: list[int],
    lr: float,
    h_y: float | None,
    val_frac: float,
    threads: int,
) -> list[tuple[float, float]]:
    """Run one peer on every seed of one (task, bound); [(estimate, seconds)] per seed."""
    script = PEERS[peer][0]
    with tempfile.TemporaryDirectory() as tmp:
        seeds = sorted(data)
        spec = dict(
            name=name,
            steps=steps,
            batch=batch,
            hidden=hidden,
            lr=lr,
            seeds=seeds,
            h_y=h_y,
            val_frac=val_frac,
        )
        Path(tmp, "spec.json").write_text(json.dumps(spec))
        arrays = {}
        for s, (x, y, tr, te) in data.items():
            arrays.update({f"x{s}": x, f"y{s}": y, f"tr{s}": tr, f"te{s}": te})
        np.savez(Path(tmp, "data.npz"), **arrays)
        Path(tmp, "run.py").write_text(script)
        env = dict(
            os.environ,
            OMP_NUM_THREADS=str(threads),
            MKL_NUM_THREADS=str(threads),
            XLA_FLAGS=f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}",
        )
        proc = subprocess.run(
            [
                python,
                str(Path(tmp, "run.py")),
                str(Path(tmp, "spec.json")),
                str(Path(tmp, "data.npz")),
                str(threads),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=3600,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        return [(r["value"], r["time"]) for r in res]


# ------------------------------------------------------------------------- parts


def _mean(v: list[float]) -> float:
    return float(np.mean(v)) if v else float("nan")


def _se(v: list[float]) -> float:
    return float(np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")


def split(n: int, val_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The train / held-out split torch-mist gets (mi_probe and bmi draw their own)."""
    n_val = int(round(val_frac * n))
    perm = np.random.default_rng(seed).permutation(n)
    return perm[n_val:], perm[:n_val]


def verdict(ours: list[float], peer: list[float]) -> tuple[float, float, str]:
    """Paired difference of |error| (ours - peer) over seeds: mean, SE, win/tie/loss.

    A difference within 2 standard errors is a tie.
    """
    diff = np.asarray(ours) - np.asarray(peer)
    m, se = float(diff.mean()), _se(list(diff))
    if not np.isfinite(se):
        return m, se, "n/a"
    if m < -2 * se:
        return m, se, "win"
    if m > 2 * se:
        return m, se, "loss"
    return m, se, "tie"


def part1(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    peers = {p: py for p, py in (("torch-mist", args.peers_python), ("bmi", args.bmi_python)) if py}
    seeds = list(range(args.seed0, args.seed0 + args.seeds))
    for task in args.tasks:
        spec = TASKS[task]
        transform = spec.get("transform", "none")
        data = {}
        for seed in seeds:
            x, y, truth, h_y = gaussian_task(args.n, spec["d"], spec["mi"], seed, transform)
            data[seed] = (x, y, *split(args.n, args.val_frac, seed))
        h_known = h_y if transform == "none" else None
        for name in args.estimators:
            rec: dict[str, Any] = dict(task=task, estimator=name, truth=truth, seeds=seeds)
            runs: dict[str, list[tuple[float, float]]] = {}
            vals = []
            for seed in seeds:
                x, y = data[seed][:2]
                vals.append(
                    run_ours(
                        name,
                        x,
                        y,
                        steps=args.steps,
                        batch=args.batch,
                        hidden=args.ours_hidden,
                        seed=seed,
                        h_y=h_known,
                        val_frac=args.val_frac,
                    )
                )
            runs["mi_probe"] = vals
            for peer, python in peers.items():
                if name not in PEERS[peer][1] or (name == "ba" and h_known is None):
                    continue
                try:
                    runs[peer] = run_peer(
                        peer,
                        python,
                        name,
                        data,
                        steps=args.steps,
                        batch=args.batch,
                        hidden=args.hidden,
                        lr=args.peer_lr,
                        h_y=h_known,
                        val_frac=args.val_frac,
                        threads=args.threads,
                    )
                except Exception as exc:  # a peer that cannot run this case
                    print(f"  {peer} {name} {task}: {str(exc).strip()[-300:]}", file=sys.stderr)
            for who, res in runs.items():
                est = [v for v, _ in res]
                err = [abs(v - truth) for v in est]
                rec[who] = dict(
                    estimates=est,
                    times=[t for _, t in res],
                    estimate=_mean(est),
                    mae=_mean(err),
                    mae_se=_se(err),
                    time=float(np.median([t for _, t in res])),
                )
            peer_names = [p for p in runs if p != "mi_probe"]
            if peer_names:
                best = min(peer_names, key=lambda p: rec[p]["mae"])
                ours_err = [abs(v - truth) for v in rec["mi_probe"]["estimates"]]
                peer_err = [abs(v - truth) for v in rec[best]["estimates"]]
                m, se, word = verdict(ours_err, peer_err)
                rec.update(
                    best_peer=best,
                    diff=m,
                    diff_se=se,
                    verdict=word,
                    time_ratio=rec["mi_probe"]["time"] / rec[best]["time"],
                )
            rows.append(rec)
            print(json.dumps({k: v for k, v in rec.items()}), flush=True)
    return rows


def comparison_table(rows: list[dict[str, Any]], peers: list[str]) -> str:
    def cell(r: dict[str, Any], who: str) -> str:
        if who not in r:
            return "-"
        s = r[who]
        return f"{s['estimate']:.3f} ({s['mae']:.3f} ± {s['mae_se']:.3f})"

    cols = (
        ["task", "bound", "truth", "mi_probe"]
        + peers
        + [
            "best peer",
            "Δ MAE ours - peer ± SE",
            "verdict",
            "time ours s",
            "time best peer s",
            "time ratio",
        ]
    )
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [r["task"], r["estimator"], f"{r['truth']:.2f}", cell(r, "mi_probe")]
        cells += [cell(r, p) for p in peers]
        if "best_peer" in r:
            cells += [
                r["best_peer"],
                f"{r['diff']:+.3f} ± {r['diff_se']:.3f}",
                f"**{r['verdict']}**",
                f"{r['mi_probe']['time']:.2f}",
                f"{r[r['best_peer']]['time']:.2f}",
                f"{r['time_ratio']:.2f}",
            ]
        else:
            cells += ["-"] * 4 + [f"{r['mi_probe']['time']:.2f}", "-", "-"]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def part2(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    n_val = int(round(args.val_frac * args.n))
    for mi in args.mi_grid:
        for name in args.estimators:
            if name == "club":
                continue
            vals = []
            for seed in range(args.seed0, args.seed0 + args.degradation_seeds):
                x, y, truth, h_y = gaussian_task(args.n, args.degradation_dim, mi, seed)
                v, _ = run_ours(
                    name,
                    x,
                    y,
                    steps=args.steps,
                    batch=args.batch,
                    hidden=args.ours_hidden,
                    seed=seed,
                    h_y=h_y,
                    val_frac=args.val_frac,
                )
                vals.append(v)
            rec = dict(
                true_mi=mi,
                estimator=name,
                estimate=_mean(vals),
                sd=float(np.std(vals)),
                log_B=math.log(args.batch),
                ln_n=math.log(n_val),
            )
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
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=[64, 64],
        help="the peers' hidden widths (torch-mist's hidden_dims, bmi's "
        "hidden_layers); mi_probe uses its defaults unless --ours-hidden",
    )
    p.add_argument("--ours-hidden", type=int, nargs="+", default=None)
    p.add_argument(
        "--peer-lr",
        type=float,
        default=1e-3,
        help="the peers' Adam step size (mi_probe's default is 1e-3)",
    )
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--seed0", type=int, default=0, help="first seed")
    p.add_argument("--val-frac", type=float, default=0.3)
    p.add_argument("--estimators", nargs="+", default=list(ESTIMATORS))
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--mi-grid", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0])
    p.add_argument("--degradation-dim", type=int, default=5)
    p.add_argument("--degradation-seeds", type=int, default=2)
    p.add_argument(
        "--peers-python",
        default=None,
        help="a Python with torch-mist (e.g. /work/peers/neural-venv/bin/python)",
    )
    p.add_argument(
        "--bmi-python",
        default=None,
        help="a Python with benchmark-mi (e.g. /work/peers/speed-venv/bin/python)",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--parts", nargs="+", default=["1", "2"])
    p.add_argument("--quick", action="store_true", help="n=2000, 200 steps, 2 seeds")
    p.add_argument("--json", default=None)
    p.add_argument(
        "--write-readme",
        action="store_true",
        help="rewrite the '## Neural estimators' section of benchmarks/README.md",
    )
    p.add_argument("--figure", default=str(HERE / "neural_degradation.png"))
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.steps, args.seeds = 2000, 200, 2
    import torch

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    tables: list[str] = []
    result: dict[str, Any] = {"settings": {k: v for k, v in vars(args).items()}}
    if "1" in args.parts:
        rows = part1(args)
        result["comparison"] = rows
        peers = [p for p, py in (("torch-mist", args.peers_python), ("bmi", args.bmi_python)) if py]
        table = comparison_table(rows, peers)
        print(table)
        tables.append(table)
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
        write_readme(args, tables, time.perf_counter() - start, result.get("comparison"))


def club_exact(d: int, mi: float) -> float:
    """CLUB with the exact decoder p(y|x) on the Gaussian task: d rho^2 / (1 - rho^2)."""
    rho2 = 1.0 - math.exp(-2.0 * mi / d)
    return d * rho2 / (1.0 - rho2)


def summary(rows: list[dict[str, Any]]) -> str:
    """Per task: bounds won / tied / lost against the best peer, and the time ratios."""
    out = [
        "| task | win | tie | loss | lost on | time ratio ours/best peer (range) |",
        "|---|---|---|---|---|---|",
    ]
    for task in dict.fromkeys(r["task"] for r in rows):
        rs = [r for r in rows if r["task"] == task and "verdict" in r]
        if not rs:
            continue
        count = {w: sum(r["verdict"] == w for r in rs) for w in ("win", "tie", "loss")}
        lost = ", ".join(r["estimator"] for r in rs if r["verdict"] == "loss") or "-"
        ratios = [r["time_ratio"] for r in rs]
        out.append(
            f"| {task} | {count['win']} | {count['tie']} | {count['loss']} | {lost} | "
            f"{min(ratios):.2f}-{max(ratios):.2f} |"
        )
    return "\n".join(out)


def write_readme(
    args: argparse.Namespace,
    tables: list[str],
    elapsed: float,
    rows: list[dict[str, Any]] | None = None,
) -> None:
    sys.path.insert(0, str(HERE))
    from _common import command_line, machine, replace_section

    seeds = list(range(args.seed0, args.seed0 + args.seeds))
    intro = (
        "Every estimator of `mi_probe.estimators.neural` on Gaussian tasks with a "
        "closed-form MI (x, y in R^d, per-coordinate correlation set for the stated total "
        "MI), side by side with torch-mist 0.2.17 (`/work/peers/neural-venv`) and the JAX "
        "neural estimators of benchmark-mi (`bmi`, `/work/peers/speed-venv`, jax 0.4.33: "
        "InfoNCE, NWJ and MINE; it has no SMILE, JS, BA or CLUB). "
        f"Same samples per seed (n={args.n}, {args.val_frac:.0%} held out for the "
        f"estimate), same step budget ({args.steps} Adam steps, no early stopping), same "
        f"batch size ({args.batch}), same Adam step size ({args.peer_lr:g}; torch-mist's "
        "default is 5e-4 and bmi's 0.1, which diverged for NWJ here), one CPU thread each, "
        f"seeds {seeds[0]}-{seeds[-1]}.\n\n"
        "Critics. torch-mist: hidden_dims="
        f"{args.hidden}, its defaults per bound: a joint MLP [x, y] -> 64 -> 64 -> 1 with "
        "one shuffled negative per positive for MINE, NWJ, SMILE and JS, a separable "
        "critic (x -> 64 -> 64 and y -> 64 -> 64, dot product) with the batch as negatives "
        "for InfoNCE, and q(y|x) with mean and log-scale from x -> 64 -> 64 for BA and "
        f"CLUB. bmi: a joint MLP with hidden_layers={args.hidden}, all B^2 pairs in "
        "training, its own 70/30 split of the same samples (its API takes no split), and "
        "its test value over all pairs of the held-out set after the last step. "
        'mi_probe: its defaults (critic="auto"): for NWJ, MINE and JS (all '
        "tasks here have d_x + d_y <= 40) a joint MLP [x, y] -> 256 -> 1 scored on the B "
        "positives and K sampled negatives per row (K cyclic shifts of the batch's y, "
        "drawn afresh each step; K = 16 for NWJ and MINE, 4 for JS), the "
        "held-out bound pooled over all held-out rows with 32 fixed negatives per row "
        "from its block of B, trained and scored by the compiled kernel of the native "
        "library (the same numbers as autograd to float32 rounding); for InfoNCE and "
        "SMILE a separable critic with embeddings x -> h -> 64 + 1 and y -> h -> 64 + 1 "
        "(f = g(x).h(y) + a(x) + b(y); h = 256 for InfoNCE, 128 for SMILE), all B(B-1) "
        "negatives in training, the held-out bound over blocks of B rows (InfoNCE: each "
        "held-out row scored against all held-out rows), trained with autograd; the "
        "estimate is the best of the held-out evaluations every 25 steps; q(y|x) from "
        "x -> 64 -> 64 -> 2 d_y. "
        "BA gets the true H(y) in both.\n\n"
        "Statistics. Each cell is the mean estimate over the seeds and, in brackets, the "
        "mean absolute error |estimate - truth| ± its standard error. The best peer is the "
        "one with the smaller mean absolute error; the verdict compares per seed "
        "(same data): the mean of |error ours| - |error peer| and its standard error; "
        "within 2 standard errors is a **tie**. Times: median wall time of one fit, the "
        "estimate call only (imports and process start-up not counted), on a shared "
        "2-core machine (other jobs running), so ratios are rough."
    )
    body = [
        intro,
        "",
        f"Command (took {elapsed / 60:.1f} min on {machine()}, shared with other jobs):",
        "",
        "```",
        command_line(),
        "```",
        "",
    ]
    if rows:
        body += ["Per task, against the best peer of each bound:", "", summary(rows), ""]
    if tables:
        body += ["All cells:", "", tables[0], ""]
    if rows and any(r["estimator"] == "club" for r in rows):
        ref = "; ".join(
            f"{t}: {club_exact(TASKS[t]['d'], TASKS[t]['mi']):.2f}"
            for t in dict.fromkeys(r["task"] for r in rows)
        )
        body += [
            "CLUB is an upper bound whose value with the exact decoder p(y|x) is "
            "d rho^2 / (1 - rho^2), not the MI (" + ref + " nats). Both packages fit "
            "the same Gaussian q(y|x) by likelihood and estimate the same quantity; a "
            "decoder that has not converged has too large a variance or too flat a mean "
            "and gives a smaller number (it starts near 0), so a CLUB value closer to the "
            "truth here means a less converged decoder, not a better estimator.",
            "",
        ]
    if len(tables) > 1:
        body += [
            f"How each bound degrades as the true MI grows (d={args.degradation_dim}, "
            f"n={args.n}, mean and sd over {args.degradation_seeds} seeds); the ceilings "
            "are log B (InfoNCE with a joint critic; with the default separable "
            "critic InfoNCE's held-out ceiling is ln n) and ln n of the held-out set "
            "(the sample-size limit of any lower bound, McAllester & Stratos 2020). "
            "Figure: `benchmarks/neural_degradation.png`.",
            "",
            tables[1],
            "",
        ]
    replace_section("Neural estimators", "\n".join(body), keep_notes=True)


if __name__ == "__main__":
    main()
