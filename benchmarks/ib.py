"""Benchmark: IB curve of a 12-bit task, mi_probe.ib.ib_curve vs embo (Piasini et al.).

Times tracing 100 beta values for |X| = 4096 binary patterns, |Y| = 2, |T| = 64, for
our solver and for embo in the same run (embo runs in its own venv, by subprocess),
and checks that the curves agree.

    python benchmarks/ib.py [--embo-python /work/peers/ib-venv/bin/python] [--quick]

The task: 12 bits s_i = +-1 sit on the vertices of an icosahedron; the label rule
g(s) = sum over the 20 faces of s_i s_j s_k + 0.5 sum_i s_i is invariant under the
icosahedron's rotations and odd under flipping every bit, and
p(y=1|x) = sigmoid(gamma g(x)) with p(x) uniform, so p(y=1) = 1/2 exactly
(a balanced, symmetric rule in the spirit of Shwartz-Ziv & Tishby's 12-bit task).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import tempfile
import time

import numpy as np

EMBO_PYTHON = "/work/peers/ib-venv/bin/python"


def twelve_bit_like_pxy(gamma: float = 1.0) -> np.ndarray:
    """Joint pmf (4096, 2) of the benchmark's 12-bit task (see module docstring)."""
    phi = (1 + 5**0.5) / 2
    verts = []
    for a, b in itertools.product([-1, 1], [-1, 1]):
        verts += [(0, a, b * phi), (a, b * phi, 0), (b * phi, 0, a)]
    v = np.array(verts, dtype=float)
    dist = np.linalg.norm(v[:, None] - v[None], axis=-1)
    edge = dist[dist > 0].min()
    faces = [
        f
        for f in itertools.combinations(range(12), 3)
        if all(abs(dist[i, j] - edge) < 1e-9 for i, j in itertools.combinations(f, 2))
    ]
    assert len(faces) == 20
    bits = (np.arange(4096)[:, None] >> np.arange(12)) & 1
    s = 2 * bits - 1
    g = sum(s[:, i] * s[:, j] * s[:, k] for i, j, k in faces) + 0.5 * s.sum(axis=1)
    p1 = 1.0 / (1.0 + np.exp(-gamma * g))
    return np.stack([1 - p1, p1], axis=1) / 4096.0


EMBO_SCRIPT = r"""
import sys, time, json
import numpy as np
from embo.core import InformationBottleneck
pxy = np.load(sys.argv[1]); betas = np.load(sys.argv[2])
n_t, restarts, iterations, rtol, seed = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
np.random.seed(seed)
px = pxy.sum(axis=1); py = pxy.sum(axis=0); pyx_c = pxy.T / px
t0 = time.perf_counter()
res = [InformationBottleneck.beta_iter(1.0, b, px, py, pyx_c, n_t, restarts, iterations, rtol) for b in betas]
dt = time.perf_counter() - t0
ln2 = np.log(2)
print(json.dumps({"seconds": dt, "I_XT": [r[0] * ln2 for r in res], "I_TY": [r[1] * ln2 for r in res],
                  "H_T": [r[2] * ln2 for r in res], "beta": [float(r[3]) / ln2 for r in res]}))
"""


def run_embo(pxy, betas, n_t, restarts, iterations, rtol, python, seed=0, blas_threads=None):
    """embo's curve at our betas. embo updates q(t|x) ~ q(t) exp(-beta KL_bits), so its
    beta is ours times ln 2; it is called with betas * ln 2."""
    with tempfile.TemporaryDirectory() as tmp:
        fp, fb, fs = (os.path.join(tmp, n) for n in ("pxy.npy", "betas.npy", "embo_run.py"))
        np.save(fp, pxy)
        np.save(fb, np.asarray(betas) * np.log(2))
        with open(fs, "w") as fh:
            fh.write(EMBO_SCRIPT)
        env = dict(os.environ)
        if blas_threads is not None:
            env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(blas_threads)
        out = subprocess.run(
            [python, fs, fp, fb, str(n_t), str(restarts), str(iterations), str(rtol), str(seed)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def lagrangian(ixt, ity, beta):
    return np.asarray(ixt) - np.asarray(beta) * np.asarray(ity)


def envelope_gap(x1, y1, x2, y2):
    """Largest vertical distance between the upper envelopes of two point sets, over the
    I_XT range both cover (nats)."""
    import pandas as pd

    from mi_probe.ib import upper_envelope

    e1 = upper_envelope(pd.DataFrame({"I_XT": x1, "I_TY": y1}))
    e2 = upper_envelope(pd.DataFrame({"I_XT": x2, "I_TY": y2}))
    lo = max(e1.I_XT.min(), e2.I_XT.min())
    hi = min(e1.I_XT.max(), e2.I_XT.max())
    grid = np.linspace(lo, hi, 400)
    f1 = np.interp(grid, e1.I_XT, e1.I_TY)
    f2 = np.interp(grid, e2.I_XT, e2.I_TY)
    return float(np.max(np.abs(f1 - f2))), float(np.max(f1 - f2))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embo-python", default=EMBO_PYTHON)
    ap.add_argument("--n-betas", type=int, default=100)
    ap.add_argument("--n-clusters", type=int, default=64)
    ap.add_argument("--gamma", type=float, default=1.0)
    ap.add_argument("--beta-max", type=float, default=50.0)
    ap.add_argument("--embo-restarts", type=int, default=3)
    ap.add_argument("--embo-iterations", type=int, default=100)
    ap.add_argument("--embo-rtol", type=float, default=1e-3)
    ap.add_argument("--device", default=None)
    ap.add_argument(
        "--embo-single-thread",
        action="store_true",
        help="also time embo with OPENBLAS_NUM_THREADS=1",
    )
    ap.add_argument("--quick", action="store_true", help="10 betas, embo with 1 restart")
    args = ap.parse_args()
    if args.quick:
        args.n_betas, args.embo_restarts = 10, 1

    from mi_probe.ib import ib_curve
    from mi_probe.ib._pmf import entropy_pmf, mutual_information_pmf

    pxy = twelve_bit_like_pxy(args.gamma)
    betas = np.geomspace(1.0, args.beta_max, args.n_betas)
    print(
        f"task: |X|={pxy.shape[0]} |Y|={pxy.shape[1]} H(X)={entropy_pmf(pxy.sum(1)):.4f} "
        f"I(X;Y)={mutual_information_pmf(pxy):.4f} nats "
        f"({np.unique(np.round(pxy[:, 1] / pxy.sum(1), 12)).size} distinct p(y|x)); "
        f"{args.n_betas} betas in [1, {args.beta_max}], |T|={args.n_clusters}"
    )

    results = {}
    configs = [
        ("ours (merge_identical=True)", True, 1e-9),
        ("ours (merge_identical=False)", False, 1e-9),
        ("ours (merge_identical=False, tol=1e-6)", False, 1e-6),
    ]
    for label, merge, tol in configs:
        t0 = time.perf_counter()
        c = ib_curve(
            pxy,
            betas,
            n_clusters=args.n_clusters,
            merge_identical=merge,
            tol=tol,
            random_state=0,
            device=args.device,
        )
        results[label] = (time.perf_counter() - t0, c)
        print(f"{label:40s} {results[label][0]:8.2f} s   not converged: {(~c.converged).sum()}")
    ref = results[configs[0][0]][1]
    for label, (_, c) in results.items():
        print(
            f"{label}: max |dI_TY| vs merged {np.max(np.abs(c.I_TY - ref.I_TY)):.1e}, "
            f"|dI_XT| {np.max(np.abs(c.I_XT - ref.I_XT)):.1e}"
        )

    if not os.path.exists(args.embo_python):
        print(f"embo not run: {args.embo_python} missing (pip install embo into a separate venv)")
        return
    embo_runs = {}
    for threads in (None, 1) if args.embo_single_thread else (None,):
        e = run_embo(
            pxy,
            betas,
            args.n_clusters,
            args.embo_restarts,
            args.embo_iterations,
            args.embo_rtol,
            args.embo_python,
            blas_threads=threads,
        )
        tag = (
            f"embo (restarts={args.embo_restarts}, iterations={args.embo_iterations}, "
            f"rtol={args.embo_rtol}, BLAS threads={threads or 'default'})"
        )
        embo_runs[tag] = e
        print(f"{tag}: {e['seconds']:8.2f} s")
    e_fast = min(embo_runs.values(), key=lambda r: r["seconds"])
    for tag, e in embo_runs.items():
        le = lagrangian(e["I_XT"], e["I_TY"], betas)
        for label, (sec, c) in results.items():
            lo = lagrangian(c.I_XT, c.I_TY, betas)
            gap_abs, gap_signed = envelope_gap(c.I_XT, c.I_TY, e["I_XT"], e["I_TY"])
            print(
                f"{label} vs {tag}: speed-up {e['seconds'] / sec:6.1f}x; "
                f"max |dI_TY| at equal beta {np.max(np.abs(c.I_TY - e['I_TY'])):.2e}, "
                f"|dI_XT| {np.max(np.abs(c.I_XT - e['I_XT'])):.2e}; "
                f"upper-envelope gap {gap_abs:.2e} (ours above by up to {gap_signed:.2e}); "
                f"L_ours <= L_embo + 1e-9 at {(lo <= le + 1e-9).mean():.0%} of betas, "
                f"max (L_embo - L_ours) {np.max(le - lo):.2e}"
            )
    del e_fast


if __name__ == "__main__":
    main()
