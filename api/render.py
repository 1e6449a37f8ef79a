"""Plain-text tables that line up with Chinese text, and CSV/JSON writers for command output.

>>> print(text_table([["崇川区", 3], ["total", 12]], ["区县/district", "数量/count"]))
区县/district  数量/count
-------------  ----------
崇川区                  3
total                  12
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from typing import Any, Iterable, Sequence

__all__ = ["display_width", "text_table", "csv_text", "json_text", "fmt_share"]


def display_width(text: str) -> int:
    """Terminal columns taken by ``text`` (wide East Asian characters count twice)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def text_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """Rows as an aligned table; numbers are right-aligned."""
    body = [[_cell(v) for v in r] for r in rows]
    raw = [list(r) for r in rows] if not isinstance(rows, list) else rows
    widths = [display_width(h) for h in headers]
    for r in body:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], display_width(c))

    def pad(text: str, width: int, right: bool) -> str:
        gap = " " * (width - display_width(text))
        return gap + text if right else text + gap

    numeric = [all(isinstance(r[i], (int, float)) or r[i] is None for r in raw) if raw else False
               for i in range(len(headers))]
    lines = ["  ".join(pad(h, widths[i], numeric[i]) for i, h in enumerate(headers)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for r in body:
        lines.append("  ".join(pad(c, widths[i], numeric[i]) for i, c in enumerate(r)).rstrip())
    return "\n".join(lines)


def csv_text(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """Rows as CSV text (the caller writes it with a UTF-8 BOM for Excel)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()


def json_text(data: Any) -> str:
    """Indented JSON that keeps Chinese characters readable."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)


def fmt_share(value: float | None) -> str:
    """A share as a percentage, ``-`` when undefined.

    >>> fmt_share(0.91234), fmt_share(None)
    ('91.2%', '-')
    """
    return "-" if value is None else f"{value * 100:.1f}%"
