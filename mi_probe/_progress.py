"""A dependency-free progress display for long loops (stderr, throttled).

On a terminal it is one bar redrawn in place (``\\r``). When stderr is not a terminal (a
log file, a pipe, CI) it writes whole lines instead, at most one every few seconds, so a
log gets readable progress lines rather than one huge line of carriage returns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

__all__ = ["progress"]

#: seconds between redraws of the bar on a terminal
TERMINAL_INTERVAL = 0.2
#: seconds between progress lines when stderr is a file or a pipe
LINE_INTERVAL = 5.0

_clock = time.monotonic  # a module attribute, so tests can run a fake clock


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _fmt_time(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


def _bar(desc: str, count: int, total: int | None, elapsed: float) -> str:
    if total:
        frac = min(count / total, 1.0)
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        return (
            f"{desc} [{'#' * int(20 * frac):<20}] {count}/{total} "
            f"{_fmt_time(elapsed)}<{_fmt_time(eta)}"
        )
    return f"{desc} {count} it {_fmt_time(elapsed)}"


def _line(desc: str, count: int, total: int | None, elapsed: float) -> str:
    if total:
        frac = min(count / total, 1.0)
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        left = "done" if count >= total else f"about {_fmt_time(eta)} left"
        return f"{desc}: {count}/{total} ({100 * frac:.0f}%), {_fmt_time(elapsed)} elapsed, {left}"
    return f"{desc}: {count} done, {_fmt_time(elapsed)} elapsed"


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "",
    enabled: bool = True,
    min_interval: float | None = None,
) -> Iterator[T]:
    """Yield from ``iterable`` while showing progress on stderr.

    Parameters
    ----------
    iterable : iterable
        What to loop over; every item is yielded unchanged.
    total : int, optional
        Number of items (default: ``len(iterable)`` when it has one).
    desc : str
        A label for the loop.
    enabled : bool
        False shows nothing.
    min_interval : float, optional
        Seconds between updates. Default: 0.2 on a terminal (one bar redrawn in place);
        5 when stderr is a file or a pipe, where each update is a line of its own (so a
        loop shorter than that writes nothing to a log).

    Yields
    ------
    The items of ``iterable``.
    """
    if not enabled:
        yield from iterable
        return
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    stream = sys.stderr
    terminal = _is_terminal(stream)
    if min_interval is None:
        min_interval = TERMINAL_INTERVAL if terminal else LINE_INTERVAL
    start = last = _clock()
    count = 0
    shown = -1  # the count last shown
    try:
        for item in iterable:
            yield item
            count += 1
            now = _clock()
            if now - last >= min_interval:
                last = now
                shown = count
                if terminal:
                    stream.write("\r" + _bar(desc, count, total, now - start))
                else:
                    stream.write(_line(desc, count, total, now - start) + "\n")
                stream.flush()
    finally:
        # also when the loop stops early (a break, early stopping, an error): a bar left
        # open would take the next line printed, and a log would lack the final count
        if shown >= 0:  # else a short loop: nothing was shown, nothing to finish
            elapsed = _clock() - start
            if terminal:
                if shown != count:
                    stream.write("\r" + _bar(desc, count, total, elapsed))
                stream.write("\n")
            elif shown != count:
                stream.write(_line(desc, count, total, elapsed) + "\n")
            stream.flush()
