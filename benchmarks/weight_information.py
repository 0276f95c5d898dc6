"""Time one diagonal-Fisher evaluation of a ~1M-parameter CNN on 1,000 samples.

mi_probe's ``fisher_diagonal`` against BackPACK, run in the same process on the same
model and data (BackPACK gets its own deep copy, since ``extend`` adds hooks), with the
repeats interleaved (ours, BackPACK, ours, BackPACK, ...) and the ratio taken within
each repeat, so load from other processes hits both sides alike:

* empirical Fisher: ours ``kind="empirical"`` vs BackPACK ``SumGradSquared`` (the same
  quantity, so the diagonals are compared entry by entry);
* true Fisher, one sampled label per input: ours ``kind="true"`` vs BackPACK
  ``DiagGGNMC`` (the same Monte Carlo estimator for cross-entropy with different random
  draws). For an entry-by-entry check, BackPACK's ``SumGradSquared`` is also run once on
  the labels ours drew (same generator, same chunks): the same diagonal;
* ``DiagGGNExact`` (the exact true-Fisher diagonal, ``E_{y ~ p}`` over all classes) is
  the reference the two Monte Carlo estimates are compared against;
* ``--reference``: also time ours with ``fast=False`` (every per-sample gradient from
  ``vmap(grad)``), the path used before the Linear/Conv2d fast path.

Usage (peers in a folder on PYTHONPATH, e.g. ``pip install --target /work/peers/wi-venv
backpack-for-pytorch unfoldNd einops``)::

    PYTHONPATH=/work/peers/wi-venv python benchmarks/weight_information.py [--device cuda]
        [--repeats 5] [--reference] [--write-readme] [--section-out FILE]
"""

from __future__ import annotations

import argparse
import copy
import pathlib
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from _common import command_line, machine, markdown_table, replace_section  # noqa: E402

from mi_probe import fisher_diagonal  # noqa: E402


def make_cnn() -> nn.Sequential:
    """3x32x32 -> 10 classes, 1,005,082 parameters."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 8 * 8, 240),
        nn.ReLU(),
        nn.Linear(240, 10),
    )


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def backpack_diag(model, x, y, extension_name: str, batch_size: int):
    from backpack import backpack, extensions

    lossf = _bp_loss()
    ext = getattr(extensions, extension_name)()
    attr = {
        "SumGradSquared": "sum_grad_squared",
        "DiagGGNMC": "diag_ggn_mc",
        "DiagGGNExact": "diag_ggn_exact",
    }[extension_name]
    acc = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    for i in range(0, x.shape[0], batch_size):
        model.zero_grad()
        loss = lossf(model(x[i : i + batch_size]), y[i : i + batch_size])
        with backpack(ext):
            loss.backward()
        for n, p in model.named_parameters():
            acc[n] += getattr(p, attr)
    for p in model.parameters():
        p.grad = None
    return {n: a / x.shape[0] for n, a in acc.items()}


def _bp_loss():
    from backpack import extend

    return extend(nn.CrossEntropyLoss(reduction="sum"))


def our_labels(model, x, batch_size: int, seed: int = 0) -> torch.Tensor:
    """The labels fisher_diagonal(kind="true", random_state=seed) draws: one categorical
    draw per input from softmax(logits) in float64, a local generator, chunk by chunk."""
    g = torch.Generator(device=x.device)
    g.manual_seed(seed)
    ys = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            p = torch.softmax(model(x[i : i + batch_size]).double(), dim=-1)
            ys.append(torch.multinomial(p, 1, replacement=True, generator=g).reshape(-1))
    return torch.cat(ys)


def rel_err(a: dict, b: dict) -> float:
    """max over parameters of ||a - b|| / ||b|| (float64)."""
    return max(float((a[n].double() - b[n].double()).norm() / b[n].double().norm()) for n in b)


def interleaved(pairs: dict, device: torch.device, repeats: int) -> dict:
    """Time each callable ``repeats`` times, one round of all callables after another
    (after one warm-up round); returns name -> list of seconds."""
    times: dict = {k: [] for k in pairs}
    for fn in pairs.values():
        fn()  # warm-up (tracing, allocator, cuDNN autotune)
        sync(device)
    for _ in range(repeats):
        for k, fn in pairs.items():
            sync(device)
            t0 = time.perf_counter()
            fn()
            sync(device)
            times[k].append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=250)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--reference",
        action="store_true",
        help="also time fast=False (vmap(grad) for every parameter)",
    )
    ap.add_argument("--write-readme", action="store_true")
    ap.add_argument("--section-out", default=None)
    ap.add_argument("--no-tf32", action="store_true", help="full float32 matmul/conv on CUDA")
    args = ap.parse_args()
    if args.no_tf32:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = make_cnn().to(device).eval()
    n_params = sum(p.numel() for p in model.parameters())
    x = torch.randn(args.n, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (args.n,), device=device)
    bs = args.batch_size
    try:
        from backpack import extend
    except ImportError:
        sys.exit("BackPACK is not importable: put it on PYTHONPATH (see the docstring)")
    bp_model = extend(copy.deepcopy(model))

    def ours_emp(fast: bool = True):
        return fisher_diagonal(model, (x, y), kind="empirical", batch_size=bs, fast=fast)

    def ours_true(fast: bool = True):
        return fisher_diagonal(model, x, kind="true", batch_size=bs, random_state=0, fast=fast)

    pairs = {
        "ours_emp": ours_emp,
        "bp_sgs": lambda: backpack_diag(bp_model, x, y, "SumGradSquared", bs),
        "ours_true": ours_true,
        "bp_mc": lambda: backpack_diag(bp_model, x, y, "DiagGGNMC", bs),
    }
    if args.reference:
        pairs["ref_emp"] = lambda: ours_emp(False)
        pairs["ref_true"] = lambda: ours_true(False)
    times = interleaved(pairs, device, args.repeats)
    med = {k: statistics.median(v) for k, v in times.items()}

    def ratio(a: str, b: str) -> float:
        return statistics.median(p / q for p, q in zip(times[a], times[b], strict=True))

    # accuracy, outside the timing
    f_emp, f_true = ours_emp(), ours_true()
    bp_emp = backpack_diag(bp_model, x, y, "SumGradSquared", bs)
    bp_same_draws = backpack_diag(bp_model, x, our_labels(model, x, bs), "SumGradSquared", bs)
    torch.manual_seed(1)
    bp_mc = backpack_diag(bp_model, x, y, "DiagGGNMC", bs)
    bp_exact = backpack_diag(bp_model, x, y, "DiagGGNExact", bs)
    rows = [
        [
            "empirical",
            f"{med['ours_emp']:.2f}",
            "SumGradSquared",
            f"{med['bp_sgs']:.2f}",
            f"{ratio('ours_emp', 'bp_sgs'):.2f}",
            f"{rel_err(f_emp, bp_emp):.1e}",
        ],
        [
            "true (1 label draw)",
            f"{med['ours_true']:.2f}",
            "DiagGGNMC",
            f"{med['bp_mc']:.2f}",
            f"{ratio('ours_true', 'bp_mc'):.2f}",
            f"{rel_err(f_true, bp_same_draws):.1e} vs SumGradSquared on our draws; "
            f"vs DiagGGNExact: ours {rel_err(f_true, bp_exact):.2f}, DiagGGNMC "
            f"{rel_err(bp_mc, bp_exact):.2f}",
        ],
    ]
    if args.reference:
        f_ref_emp, f_ref_true = ours_emp(False), ours_true(False)
        rows += [
            [
                "empirical, `fast=False`",
                f"{med['ref_emp']:.2f}",
                "SumGradSquared",
                f"{med['bp_sgs']:.2f}",
                f"{ratio('ref_emp', 'bp_sgs'):.2f}",
                f"{rel_err(f_ref_emp, bp_emp):.1e}",
            ],
            [
                "true, `fast=False`",
                f"{med['ref_true']:.2f}",
                "DiagGGNMC",
                f"{med['bp_mc']:.2f}",
                f"{ratio('ref_true', 'bp_mc'):.2f}",
                f"{rel_err(f_ref_true, f_true):.1e} vs ours fast (same draws)",
            ],
        ]
    dev = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    if device.type == "cuda":
        tf32 = torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32
        dev += " (TF32 " + ("on: torch's default for cuDNN convolutions" if tf32 else "off") + ")"
    else:
        dev += f", {torch.get_num_threads()} torch threads"
    body = "\n".join(
        [
            f"One diagonal Fisher of a {n_params:,}-parameter CNN (2 conv + 2 linear, "
            f"3x32x32 inputs, 10 classes) on {args.n} samples, batches of {bs}; "
            f"{args.repeats} interleaved repeats after a warm-up: median seconds, and the "
            f"median over repeats of the per-repeat ratio. Device: {dev}; {machine()}; "
            f"torch {torch.__version__}.",
            "",
            markdown_table(
                [
                    "Fisher",
                    "mi_probe (s)",
                    "BackPACK extension",
                    "BackPACK (s)",
                    "ratio ours/BackPACK",
                    "relative difference (max over tensors of ||a-b||/||b||)",
                ],
                rows,
            ),
            "",
            f"Command: `{command_line()}`",
        ]
    )
    print(body)
    if args.section_out:
        pathlib.Path(args.section_out).write_text(body + "\n")
    if args.write_readme:
        replace_section("Weight information", body)


if __name__ == "__main__":
    main()
