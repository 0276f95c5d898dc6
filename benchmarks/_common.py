"""Helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import platform
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence

README = pathlib.Path(__file__).with_name("README.md")


def command_line() -> str:
    """The command that is running, as a user would type it from the repository root."""
    script = pathlib.Path(sys.argv[0])
    with contextlib.suppress(ValueError):
        script = script.resolve().relative_to(pathlib.Path.cwd())
    return "python " + " ".join(shlex.quote(a) for a in [str(script), *sys.argv[1:]])


def machine() -> str:
    """One line about where the numbers come from."""
    rev = "unknown"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=README.parent,
            check=True,
        ).stdout.strip()
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
        f"Python {platform.python_version()}, commit {rev}"
    )


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


NOTES_START, NOTES_END = "<!-- notes -->", "<!-- /notes -->"


def replace_section(
    heading: str, body: str, path: pathlib.Path = README, *, keep_notes: bool = False
) -> None:
    """Replace (or append) the ``## {heading}`` section of a markdown file.

    Only the text between that heading and the next ``## `` heading changes, so
    several scripts can each own a section of the same file. With ``keep_notes`` the
    hand-written ``<!-- notes -->...<!-- /notes -->`` block of the current section is
    carried over, after the new body.
    """
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.M | re.S)
    if keep_notes:
        old = pattern.search(text)
        old_text = old.group(0) if old else ""
        start, end = old_text.find(NOTES_START), old_text.find(NOTES_END)
        if 0 <= start < end:
            body = f"{body.strip()}\n\n{old_text[start : end + len(NOTES_END)]}"
    block = f"## {heading}\n\n{body.strip()}\n\n"
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text.rstrip("\n") + "\n")
