"""CSV for spreadsheets: a text cell that would start a formula is written as text (OWASP: a leading quote)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

# What makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP's list), and the full-width
# forms that some locales convert to it.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def cell(value):
    """The value to write: text that starts like a formula gets a leading single quote; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def write(rows: Iterable[Iterable], delimiter: str = ";") -> str:
    """Rows as CSV text, every cell through `cell` (semicolons by default, as French spreadsheets expect)."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows([cell(value) for value in row] for row in rows)
    return out.getvalue()
