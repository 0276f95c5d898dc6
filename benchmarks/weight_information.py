"""Time one diagonal-Fisher evaluation of a ~1M-parameter CNN on 1,000 samples.

mi_probe's ``fisher_diagonal`` (torch.func vmap(grad)) against BackPACK, run in the same
process on the same model and data:

* empirical Fisher: ours ``kind="empirical"`` vs BackPACK ``SumGradSquared`` (the same
  quantity, so the diagonals are compared entry by entry);
* true Fisher, one sampled label per input: ours ``kind="true"`` vs BackPACK
  ``DiagGGNMC`` (the same Monte Carlo estimator for cross-entropy, different random
  draws, so only the time and the relative difference to the exact diagonal are shown);
* exact true Fisher diagonal (``E_{y ~ p}``, all classes): BackPACK ``DiagGGNExact``
  is the reference the two MC estimators are compared against.

Usage (peers in a folder on PYTHONPATH, e.g. ``pip install --target /work/peers/wi-venv
backpack-for-pytorch unfoldNd einops``)::

    PYTHONPATH=/work/peers/wi-venv python benchmarks/weight_information.py [--device cuda]
        [--repeats 5] [--write-readme] [--section-out FILE]
"""

from __future__ import annotations

import argparse
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


def timed(fn, device: torch.device, repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up (vmap tracing, cuDNN autotune, allocator)
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def backpack_diag(model, x, y, extension_name: str, batch_size: int):
    from backpack import backpack, extend, extensions

    m = extend(model)
    lossf = extend(nn.CrossEntropyLoss(reduction="sum"))
    ext = getattr(extensions, extension_name)()
    attr = {"SumGradSquared": "sum_grad_squared", "DiagGGNMC": "diag_ggn_mc",
            "DiagGGNExact": "diag_ggn_exact"}[extension_name]
    acc = {n: torch.zeros_like(p) for n, p in m.named_parameters()}
    for i in range(0, x.shape[0], batch_size):
        m.zero_grad()
        loss = lossf(m(x[i : i + batch_size]), y[i : i + batch_size])
        with backpack(ext):
            loss.backward()
        for n, p in m.named_parameters():
            acc[n] += getattr(p, attr)
    for p in m.parameters():
        p.grad = None
    return {n: a / x.shape[0] for n, a in acc.items()}


def rel_err(a: dict, b: dict) -> float:
    """max over parameters of ||a - b|| / ||b|| (float64)."""
    return max(
        float((a[n].double() - b[n].double()).norm() / b[n].double().norm()) for n in b
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=250)
    ap.add_argument("--repeats", type=int, default=5)
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
    rows = []
    t_emp, ours_emp = timed(
        lambda: fisher_diagonal(model, (x, y), kind="empirical", batch_size=bs), device,
        args.repeats,
    )
    t_true, ours_true = timed(
        lambda: fisher_diagonal(model, x, kind="true", batch_size=bs, random_state=0), device,
        args.repeats,
    )
    have_backpack = True
    try:
        import backpack  # noqa: F401
    except ImportError:
        have_backpack = False
    if have_backpack:
        t_bsq, bp_emp = timed(
            lambda: backpack_diag(model, x, y, "SumGradSquared", bs), device, args.repeats
        )
        torch.manual_seed(1)
        t_bmc, bp_mc = timed(
            lambda: backpack_diag(model, x, y, "DiagGGNMC", bs), device, args.repeats
        )
        t_bex, bp_exact = timed(
            lambda: backpack_diag(model, x, y, "DiagGGNExact", bs), device, args.repeats
        )
        rows.append(["empirical", f"{t_emp:.3f}", "SumGradSquared", f"{t_bsq:.3f}",
                     f"{t_emp / t_bsq:.2f}", f"{rel_err(ours_emp, bp_emp):.1e}"])
        rows.append(["true (1 label draw)", f"{t_true:.3f}", "DiagGGNMC", f"{t_bmc:.3f}",
                     f"{t_true / t_bmc:.2f}",
                     f"ours {rel_err(ours_true, bp_exact):.2f}, BackPACK "
                     f"{rel_err(bp_mc, bp_exact):.2f} (vs DiagGGNExact)"])
        rows.append(["exact true (reference)", "-", "DiagGGNExact", f"{t_bex:.3f}", "-", "-"])
    else:
        rows.append(["empirical", f"{t_emp:.3f}", "(BackPACK not installed)", "-", "-", "-"])
        rows.append(["true (1 label draw)", f"{t_true:.3f}", "-", "-", "-", "-"])
    dev = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    if device.type == "cuda":
        tf32 = torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32
        dev += " (TF32 " + ("on: torch's default for cuDNN convolutions" if tf32 else "off") + ")"
    body = "\n".join(
        [
            f"One diagonal Fisher of a {n_params:,}-parameter CNN (2 conv + 2 linear, "
            f"3x32x32 inputs, 10 classes) on {args.n} samples, batches of {bs}; median of "
            f"{args.repeats} runs after a warm-up, seconds. Device: {dev}; {machine()}; "
            f"torch {torch.__version__}.",
            "",
            markdown_table(
                ["Fisher", "mi_probe (s)", "BackPACK extension", "BackPACK (s)",
                 "ratio ours/BackPACK", "relative difference (max over tensors of ||a-b||/||b||)"],
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
