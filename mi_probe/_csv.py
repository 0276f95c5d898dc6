"""CSV files a spreadsheet can open safely (OWASP's advice on CSV injection).

A text cell or header that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read by Excel, LibreOffice and Google Sheets as a formula. Every CSV this
package writes goes through :func:`write_csv`, which prefixes such text with a single
quote ``'`` (numbers are left alone: ``-0.5`` stays a number). Text that already begins
with ``'`` gets one more, so :func:`unescape_csv` restores every value exactly.

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["escape_cell", "unescape_cell", "neutralize_csv", "unescape_csv", "write_csv"]

#: a text cell starting with one of these is a formula to a spreadsheet
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula.

    Text starting with ``'`` also gets one (so that :func:`unescape_cell` is exact);
    anything that is not a ``str`` is returned unchanged.
    """
    if isinstance(value, str) and value.startswith((*FORMULA_START, "'")):
        return "'" + value
    return value


def unescape_cell(value: Any) -> Any:
    """Undo :func:`escape_cell`: drop one leading ``'`` from text."""
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value


def neutralize_csv(df: Any) -> Any:
    """A copy of a DataFrame with every text cell and column name passed through
    :func:`escape_cell`; numeric columns are not touched."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            out[col] = out[col].map(escape_cell)
    out.columns = [escape_cell(str(c)) for c in out.columns]
    return out


def unescape_csv(df: Any) -> Any:
    """Undo :func:`neutralize_csv` on a DataFrame read back with ``pandas.read_csv``."""
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object or str(df[col].dtype) in ("string", "str"):
            df[col] = df[col].map(unescape_cell)
    df.columns = [unescape_cell(str(c)) for c in df.columns]
    return df


def write_csv(df: Any, path: str | os.PathLike[str]) -> None:
    """``df.to_csv(path, index=False)`` with formula-like text neutralised."""
    neutralize_csv(df).to_csv(path, index=False)
