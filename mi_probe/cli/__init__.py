"""The ``mi-probe`` command.

``mi-probe demo``      train the 12-bit network (tanh and ReLU) and draw its information plane
``mi-probe estimate``  mutual information between two arrays stored in a file
``mi-probe sweep``     a checkpoint x layer information-plane sweep from a TOML config
``mi-probe report``    HTML + Markdown report of a model's layers (information, invariance)
``mi-probe critical-periods``  the blur-deficit critical-period experiment on digits

Each subcommand is one module of this package with ``add_parser(subparsers)`` and
``run(args) -> int``; none imports another's. Errors in the input (a missing file or key,
a bad option) raise :class:`CLIError`, which :func:`main` prints as one line to stderr
with exit status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from ._common import CLIError

__all__ = ["main", "build_parser", "CLIError"]

# subcommand name -> module of this package (imported when the parser is built)
SUBCOMMANDS = {
    "demo": "demo",
    "estimate": "estimate",
    "sweep": "sweep",
    "report": "report",
    "critical-periods": "critical_periods",
}


def _module(command: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{SUBCOMMANDS[command]}")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2), like
    every other error of ``mi-probe``; ``--help`` still prints the full usage. The
    subcommands' parsers are of this class too (argparse makes them of the parent's)."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())  # argparse's messages may span lines
        self.exit(2, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mi-probe``, with every subcommand registered."""
    parser = _Parser(
        prog="mi-probe",
        description="Mutual information estimators and information-plane probes (values in nats).",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="threads for mi_probe's own work (as MI_PROBE_NUM_THREADS; 0: no limit; "
        "default: one torch thread for small-tensor work, every CPU for k-NN trees)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in SUBCOMMANDS:
        _module(command).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mi-probe`` console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its one-line error (or --help)
        return int(exc.code) if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    if args.threads is not None:
        from .._threads import set_num_threads

        try:
            set_num_threads(args.threads)
        except ValueError as exc:
            print(f"mi-probe: error: --threads: {exc}", file=sys.stderr)
            return 2
    try:
        return int(_module(args.command).run(args))
    except CLIError as exc:
        print(f"mi-probe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("mi-probe: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
