"""GPU benchmark: KeOps vs chunked torch for the pairwise primitives, KSG and KDE sums.

Cases (fp32, one GPU): k-NN radius (k=4, max-norm and L2), neighbour counts within a
radius (max-norm), the Gaussian log-sum-exp of the KDE (pairwise-distance) estimators,
at n = 1e5 and 1e6, d = 10 and 64; and KSG MI (algorithm 1, k=3) at d_x = d_y = 5,
computed on the GPU from the primitives (no host round trip), against its closed-form
truth. Every KeOps figure is set against chunked torch in the same run (ratio), with
the peak GPU memory of each and the largest disagreement between the two.

Each case has a time limit: a case whose time, predicted from the same case at the
smaller n (all-pairs work grows as n^2), would pass ``--case-timeout`` or the remaining
``--budget`` (counted after the warm-up, which compiles the KeOps kernels) is skipped and
its prediction is printed instead.

Usage (from the repository root)::

    python benchmarks/gpu.py                          # the GPU run (~2.5 minutes)
    python benchmarks/gpu.py --cpu --small            # a quick dry run on the CPU

Writes ``gpu.json`` and ``gpu_table.md`` to ``--out`` (default ``$OUT`` or ``out/``).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mi_probe.backends._health import configure_compiler, keops_health  # noqa: E402
from mi_probe.backends._torch import TorchBackend  # noqa: E402
from mi_probe.estimators.kde import kde_entropy  # noqa: E402
from mi_probe.estimators.ksg import ksg_mi  # noqa: E402

K_NN = 4
K_KSG = 3
RHO = 0.5
KSG_D = 5  # d_x = d_y
KSG_TRUTH = -0.5 * KSG_D * math.log(1 - RHO**2)  # 0.7192 nats
OPS = ("knn_max", "knn_l2", "count_max", "lse", "ksg", "ksg_e2e", "kde_entropy")
KSG_OPS = ("ksg", "ksg_e2e")  # composed from the primitives; the package's ksg_mi


def dims(op: str, ds: tuple[int, ...]) -> tuple[int, ...]:
    """The feature dimensions an op is measured at (KSG: the joint 5 + 5)."""
    return (2 * KSG_D,) if op in KSG_OPS else ds


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def data(op: str, n: int, d: int, device: str, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator(device="cpu").manual_seed(seed)
    if op in KSG_OPS:
        x = torch.randn(n, KSG_D, generator=g)
        y = RHO * x + math.sqrt(1 - RHO**2) * torch.randn(n, KSG_D, generator=g)
        return x.to(device), y.to(device)
    return (torch.randn(n, d, generator=g).to(device),)


def ksg_on_device(be: Any, x: torch.Tensor, y: torch.Tensor, k: int = K_KSG) -> torch.Tensor:
    """KSG algorithm 1 from the primitives, everything on x's device."""
    n = x.shape[0]
    dist, _ = be.knn(torch.cat([x, y], dim=1), k, "max")
    eps = dist[:, -1]
    nx = be.count_within(x, eps, "max", inclusive=False).to(torch.float64)
    ny = be.count_within(y, eps, "max", inclusive=False).to(torch.float64)
    psi = torch.special.digamma
    kn = torch.tensor([float(k), float(n)], dtype=torch.float64, device=x.device)
    return psi(kn).sum() - (psi(nx + 1) + psi(ny + 1)).mean()


def run_op(be: Any, op: str, arrays: tuple[torch.Tensor, ...]) -> Any:
    if op == "knn_max":
        return be.knn(arrays[0], K_NN, "max")[0]
    if op == "knn_l2":
        return be.knn(arrays[0], K_NN, "l2")[0]
    if op == "count_max":
        x = arrays[0]
        r = torch.full((x.shape[0],), 0.6, dtype=x.dtype, device=x.device)
        return be.count_within(x, r, "max", inclusive=True)
    if op == "lse":
        x = arrays[0]
        return be.gaussian_logsumexp(x, x, 0.5 * x.shape[1])
    if op == "ksg":
        return ksg_on_device(be, *arrays)
    if op == "ksg_e2e":  # the package end to end: validation, standardising, jitter, passes
        return torch.tensor(ksg_mi(*arrays, backend=be.name, random_state=0).value)
    if op == "kde_entropy":  # leave-one-out KDE entropy: whitening + one kernel-sum pass
        return torch.tensor(kde_entropy(arrays[0], backend=be.name).value)
    raise ValueError(op)


def truth(op: str, d: int) -> float | None:
    """Closed-form value of the estimated quantity, where the op estimates one."""
    if op in KSG_OPS:
        return KSG_TRUTH
    if op == "kde_entropy":
        return 0.5 * d * math.log(2 * math.pi * math.e)  # N(0, I_d)
    return None


def disagreement(op: str, a: torch.Tensor, b: torch.Tensor) -> str:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    if op == "count_max":
        return f"{int((a != b).sum())} rows differ"
    if a.dim() == 0:
        return f"{abs(float(a) - float(b)):.1e} nats"
    return f"max abs {float((a - b).abs().max()):.1e}"


def timed(fn: Callable[[], Any], device: str) -> tuple[float, Any, float]:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    dt = time.perf_counter() - t0
    peak = 0.0
    if device.startswith("cuda"):
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    return dt, out, peak


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu", action="store_true", help="run on the CPU (dry run)")
    ap.add_argument("--small", action="store_true", help="n = 2e3, 2e4 and d = 3, 10")
    ap.add_argument("--budget", type=float, default=150.0, help="seconds for all cases")
    ap.add_argument("--case-timeout", type=float, default=30.0, help="seconds per case")
    ap.add_argument("--ops", default=",".join(OPS), help=f"subset of {','.join(OPS)}")
    ap.add_argument("--out", default=os.environ.get("OUT") or "out", help="output folder")
    args = ap.parse_args(argv)

    device = "cpu" if args.cpu else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device; use --cpu for a dry run", file=sys.stderr)
        return 2
    ops = [o for o in args.ops.split(",") if o]
    unknown = set(ops) - set(OPS)
    if unknown:
        ap.error(f"unknown ops {sorted(unknown)}")
    ns = (2_000, 20_000) if args.small else (100_000, 1_000_000)
    ds = (3, 10) if args.small else (10, 64)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    dev_name = torch.cuda.get_device_name() if device == "cuda" else platform.processor() or "cpu"
    choice = configure_compiler()
    t0 = time.perf_counter()
    verdict = keops_health(warn=False)
    print(f"device: {dev_name}; torch {torch.__version__}; python {platform.python_version()}")
    print(f"compiler: {choice.reason}; CXX={os.environ.get('CXX', '')}")
    print(f"keops health ({time.perf_counter() - t0:.1f} s): ok={verdict.ok} {verdict.detail}")

    backends: dict[str, Any] = {"torch": TorchBackend(device=device)}
    if verdict.ok:
        from mi_probe.backends._keops import KeOpsBackend

        backends["keops"] = KeOpsBackend(device=device)

    # warm-up (KeOps compiles one kernel per formula and dimension; torch/cuBLAS init)
    compile_s: dict[str, float] = {}
    for name, be in backends.items():
        t0 = time.perf_counter()
        for op in ops:
            for d in dims(op, ds):
                run_op(be, op, data(op, 512, d, device))
        sync(device)
        compile_s[name] = time.perf_counter() - t0
        print(f"warm-up {name}: {compile_s[name]:.1f} s", flush=True)

    t_start = time.perf_counter()  # the budget covers the measured cases, not compiles
    # order: the small n for both, then the large n, KeOps first (it is the cheap one)
    plan = []
    for i, n in enumerate(ns):
        for name in ("keops", "torch"):
            for op in ops:
                for d in dims(op, ds):
                    plan.append((name, op, n, d, i))
    results: dict[tuple[str, str, int], dict[str, Any]] = {}
    outputs: dict[tuple[str, int, int], Any] = {}
    for name, op, n, d, i in plan:
        key = (op, n, d)
        rec: dict[str, Any] = {"backend": name, "op": op, "n": n, "d": d}
        results[(name,) + key] = rec
        if name not in backends:
            rec["status"] = "keops unhealthy"
            continue
        prev = results.get((name, op, ns[i - 1], d)) if i > 0 else None
        predicted = None
        if prev is not None:
            base = prev.get("seconds") or prev.get("predicted")
            if base is not None:
                predicted = base * (n / ns[i - 1]) ** 2
        left = args.budget - (time.perf_counter() - t_start)
        if predicted is not None and (predicted > args.case_timeout or predicted > left):
            rec["status"] = "skipped"
            rec["predicted"] = predicted
            why = "case timeout" if predicted > args.case_timeout else "budget"
            print(
                f"{name:5s} {op:11s} n={n:>8d} d={d:3d}: skipped ({why}), predicted {predicted:.1f} s",
                flush=True,
            )
            continue
        arrays = data(op, n, d, device)
        try:
            dt, res, peak = timed(functools.partial(run_op, backends[name], op, arrays), device)
        except Exception as exc:  # report and go on: one failed case is a result too
            rec["status"] = f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            print(f"{name:5s} {op:11s} n={n:>8d} d={d:3d}: {rec['status']}", flush=True)
            continue
        finally:
            del arrays
        rec.update(status="ok", seconds=dt, peak_mib=peak)
        if truth(op, d) is not None:
            rec["estimate"] = float(res)
            rec["truth"] = truth(op, d)
        other = outputs.get(key)
        if other is not None:
            rec["vs_other"] = disagreement(op, res, other)
        else:
            outputs[key] = res.detach().cpu() if isinstance(res, torch.Tensor) else res
        extra = f" est={rec['estimate']:.4f} (truth {rec['truth']:.4f})" if "truth" in rec else ""
        print(
            f"{name:5s} {op:11s} n={n:>8d} d={d:3d}: {dt:8.3f} s  peak {peak:8.1f} MiB"
            f"{'  ' + rec['vs_other'] if 'vs_other' in rec else ''}{extra}",
            flush=True,
        )
        del res
        if device == "cuda":
            torch.cuda.empty_cache()

    # table
    header = [
        "op",
        "n",
        "d",
        "torch s",
        "keops s",
        "torch/keops",
        "torch MiB",
        "keops MiB",
        "agreement",
        "estimate (truth)",
    ]
    rows = []
    for op in ops:
        for n in ns:
            for d in dims(op, ds):
                t = results.get(("torch", op, n, d), {})
                k = results.get(("keops", op, n, d), {})

                def fmt(r: dict) -> str:
                    if r.get("status") == "ok":
                        return f"{r['seconds']:.3f}"
                    if "predicted" in r:
                        return f"(~{r['predicted']:.0f}, skipped)"
                    return r.get("status", "-")

                ts, ks = t.get("seconds"), k.get("seconds")
                tp = ts if ts is not None else t.get("predicted")
                ratio = f"{tp / ks:.1f}x" if tp and ks else "-"
                if ts is None and tp and ks:
                    ratio = "~" + ratio
                est = k.get("estimate", t.get("estimate"))
                rows.append(
                    [
                        op,
                        f"{n:.0e}",
                        str(d if op not in KSG_OPS else f"{KSG_D}+{KSG_D}"),
                        fmt(t),
                        fmt(k),
                        ratio,
                        f"{t.get('peak_mib', 0):.0f}" if ts else "-",
                        f"{k.get('peak_mib', 0):.0f}" if ks else "-",
                        k.get("vs_other", t.get("vs_other", "-")),
                        f"{est:.4f} ({truth(op, d):.4f})" if est is not None else "",
                    ]
                )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    table = "\n".join(lines)
    total = time.perf_counter() - t_start
    summary = (
        f"Device: {dev_name}; torch {torch.__version__}; fp32; KeOps warm-up (compiles) "
        f"{compile_s.get('keops', float('nan')):.1f} s; measured cases {total:.0f} s.\n"
        f"Command: python benchmarks/gpu.py {' '.join(argv if argv is not None else sys.argv[1:])}\n"
        f"KeOps health: ok={verdict.ok} ({verdict.detail}); compiler: {choice.reason}\n"
    )
    print()
    print(summary)
    print(table)
    (out_dir / "gpu_table.md").write_text(summary + "\n" + table + "\n")
    (out_dir / "gpu.json").write_text(
        json.dumps(
            {
                "device": dev_name,
                "torch": torch.__version__,
                "compile_s": compile_s,
                "keops_ok": verdict.ok,
                "keops_detail": verdict.detail,
                "compiler": choice.reason,
                "total_s": total,
                "results": list(results.values()),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
