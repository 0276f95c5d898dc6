"""A dependency-free progress bar for long loops (stderr, throttled)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

__all__ = ["progress"]


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "",
    enabled: bool = True,
    min_interval: float = 0.2,
) -> Iterator[T]:
    """Yield from ``iterable`` while drawing a one-line bar on stderr.

    Nothing is drawn when ``enabled`` is False or stderr is not a terminal and the
    loop is short; the bar never changes what is yielded.
    """
    if not enabled:
        yield from iterable
        return
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    start = last = time.monotonic()
    count = 0
    drawn = False
    for item in iterable:
        yield item
        count += 1
        now = time.monotonic()
        if now - last >= min_interval or (total is not None and count == total and drawn):
            last = now
            drawn = True
            elapsed = now - start
            if total:
                frac = count / total
                bar = "#" * int(20 * frac)
                eta = elapsed / frac - elapsed if frac > 0 else 0.0
                line = f"\r{desc} [{bar:<20}] {count}/{total} {elapsed:.1f}s<{eta:.1f}s"
            else:
                line = f"\r{desc} {count} it {elapsed:.1f}s"
            sys.stderr.write(line)
            sys.stderr.flush()
    if drawn:
        sys.stderr.write("\n")
        sys.stderr.flush()
