"""Reading and writing spreadsheet tables: CSV/TSV, .xlsx and legacy .xls.

Every cell comes back as a string (empty string for an empty cell), with the
spreadsheet row number a user sees (1-based), so that a reject can point at
the row. The file's real format is taken from its first bytes, not its name:
a ``.xls`` that is really an .xlsx, CSV or HTML table (as some bureaus publish)
is read as what it is.

* CSV: UTF-8 with or without a byte-order mark, else GB18030 (a superset of
  GBK and GB2312); comma, tab or semicolon separated (``.tsv`` is tab).
* .xlsx: read-only, cached values (not formulas); date cells become ISO strings
  (``2026-03-01`` at midnight, else ``2026-03-01T08:30:00``); whole numbers lose
  their ``.0``.
* .xls: xlrd >= 2; dates converted the same way.
* Merged cells (.xlsx, .xls, HTML ``rowspan``/``colspan``): a cell merged *down*
  over several rows of one column gives its value to each of those rows (a
  sample whose producer, unit and food cells span its two failed items is two
  rows of one sample); a cell merged *across* columns is one value, read at its
  first column, and the row remembers how wide it was (:attr:`Table.spans`: a
  note or a group heading merged across the table is told from a record by it);
  a block merged both ways (a title or a note two rows high) is read once, at
  its top-left. Hidden rows and columns are read like the others.
* The header row is found even below a title row ("食品安全监督抽检不合格产品信息")
  or a blank line: it is the first row with at least half as many filled
  cells as the fullest row near the top (and at least two), unless a
  ``is_header`` predicate picks it.

:class:`ontology.errors.UnreadableFile` is raised for what is not a table at
all: an empty file, binary junk, a truncated workbook.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> write_table(p, ["名称", "数量"], [["猪肉", "12"], ["鸡蛋", "3"]])
>>> t = read_table(p)
>>> t.header, t.header_row, [(n, cells) for n, cells in t.rows]
(['名称', '数量'], 1, [(2, ['猪肉', '12']), (3, ['鸡蛋', '3'])])
"""

from __future__ import annotations

import csv
import datetime as _dt
import gc
import io
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from ontology.errors import UnreadableFile

from .rows import instructions_sheet

__all__ = ["Table", "read_header", "read_table", "read_tables", "write_table", "detect_format"]

#: how many rows at the top of a sheet are searched for the header
_HEADER_SCAN = 30
_CSV_HEADER_BYTES = 256 * 1024


@dataclass
class Table:
    """One sheet: its header, and data rows as ``(row_number, cells)``.

    Row numbers are what a spreadsheet shows (the header row of a plain CSV is
    row 1, its first data row is row 2). Fully empty rows are left out.
    """

    path: str
    header: list[str]
    header_row: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    sheet: str | None = None
    #: rows above the header (title lines), as ``(row_number, cells)``
    preamble: list[tuple[int, list[str]]] = field(default_factory=list)
    #: row number -> how many columns the merged cell holding the row's first value spans (2 or more; rows
    #: whose first value is no merged cell are absent)
    spans: dict[int, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        return iter(self.rows)

    @property
    def title(self) -> str:
        """Text of the rows above the header (e.g. the announcement title), joined by spaces."""
        return " ".join(c for _, cells in self.preamble for c in cells if c)


def detect_format(path: Path, head: bytes | None = None) -> str:
    """``xlsx``, ``xls``, ``html`` or ``csv``, from the first bytes (the suffix breaks ties).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.xls"
    >>> _ = p.write_text("a,b\\n1,2\\n")
    >>> detect_format(p)
    'csv'
    """
    if head is None:
        with open(path, "rb") as fh:
            head = fh.read(2048)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<html", b"<!doctype html", b"<table", b"<?xml", b"<meta")) and b"<t" in head.lower():
        return "html"
    return "csv"


def _cell(v: object) -> str:
    """A spreadsheet value as text."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        if v.is_integer() and abs(v) < 1e16:
            return str(int(v))
        return repr(v)
    if isinstance(v, _dt.datetime):
        if v.hour == v.minute == v.second == v.microsecond == 0 and v.tzinfo is None:
            return v.date().isoformat()
        return v.isoformat()
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    return str(v).strip()


def _trim(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _find_header(rows: Sequence[tuple[int, list[str]]],
                 is_header: Callable[[list[str]], bool] | None) -> int:
    """Index in ``rows`` of the header row."""
    top = rows[:_HEADER_SCAN]
    if is_header is not None:
        for i, (_, cells) in enumerate(top):
            if is_header(cells):
                return i
    widest = max((sum(1 for c in cells if c) for _, cells in top), default=0)
    need = max(2, (widest + 1) // 2) if widest >= 2 else 1
    for i, (_, cells) in enumerate(top):
        if sum(1 for c in cells if c) >= need:
            return i
    return 0


def _make_table(path: Path, raw: Iterable[tuple[int, list[str]]], sheet: str | None,
                is_header: Callable[[list[str]], bool] | None, *, lazy: bool = False,
                spans: dict[int, int] | None = None) -> Table | None:
    """Split raw rows into preamble, header and data; None for an empty sheet.

    With ``lazy`` the data rows are a one-pass iterator (memory stays flat for big CSVs). ``spans`` (filled
    while ``raw`` is read) become :attr:`Table.spans`.
    """
    it = iter(raw)
    top: list[tuple[int, list[str]]] = []
    for n, cells in it:
        if any(cells):
            top.append((n, _trim(cells)))
            if len(top) >= _HEADER_SCAN:
                break
    if not top:
        return None
    h = _find_header(top, is_header)
    header_row, header = top[h]
    header = [c.replace("\r", "").strip() for c in header]
    if lazy:
        return Table(str(path), header, header_row, _lazy_rows(path, top[h + 1:], it), sheet, top[:h],  # type: ignore[arg-type]
                     spans if spans is not None else {})
    rows = top[h + 1:]
    append = rows.append
    for row in it:
        cells = row[1]
        if cells[-1] if cells else False:
            append(row)
        elif any(cells):
            append((row[0], _trim(cells)))
    return Table(str(path), header, header_row, rows, sheet, top[:h], spans if spans is not None else {})


def _lazy_rows(path: Path, first: list[tuple[int, list[str]]],
               it: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    yield from first
    try:
        for row in it:
            cells = row[1]
            if cells[-1] if cells else False:
                yield row
            elif any(cells):
                yield row[0], _trim(cells)
    except UnreadableFile as e:
        raise UnreadableFile(str(path), e.reason) from None


# -- merged cells ------------------------------------------------------------------------------

#: a merged range: first row, first column, last row, last column (1-based, inclusive)
_Range = tuple[int, int, int, int]


def _merged(raw: Iterable[tuple[int, list[str]]], ranges: Sequence[_Range],
            spans: dict[int, int]) -> Iterator[tuple[int, list[str]]]:
    """Rows with the values of merged ranges spread as the module says; ``spans`` receives the row widths."""
    down: dict[int, list[_Range]] = {}
    across: dict[int, dict[int, int]] = {}  # row -> first column -> width
    for rng in ranges:
        top, left, bottom, right = rng
        if right > left:
            across.setdefault(top, {})[left] = right - left + 1
        elif bottom > top:
            down.setdefault(top, []).append(rng)
    if not down and not across:
        yield from raw
        return
    active: list[tuple[int, int, str]] = []  # (last row, column, value)
    for n, cells in raw:
        if active:
            active = [a for a in active if a[0] >= n]
            for _, col, value in active:
                if col > len(cells):
                    cells = cells + [""] * (col - len(cells))
                if not cells[col - 1]:
                    cells[col - 1] = value
        for top, left, bottom, _ in down.get(n, ()):
            value = cells[left - 1] if left <= len(cells) else ""
            if value:
                active.append((bottom, left, value))
        if n in across:
            first = next((i for i, c in enumerate(cells) if c), None)
            if first is not None and first + 1 in across[n]:
                spans[n] = across[n][first + 1]
        yield n, cells


def _xlsx_merged_ranges(path: Path) -> dict[str, list[_Range]]:
    """Sheet name -> its merged ranges, read from the workbook's XML (openpyxl's read-only sheets do not say).

    The ``<mergeCell ref="A1:H1"/>`` elements follow the sheet's data; the sheets' parts are found through
    the workbook's relationships, as every spreadsheet program writes them.
    """
    import posixpath
    import re
    import zipfile

    from lxml import etree
    from openpyxl.utils.cell import range_boundaries

    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    out: dict[str, list[_Range]] = {}
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        root_rels = etree.fromstring(z.read("_rels/.rels"))
        book = next((r.get("Target") for r in root_rels if r.get("Type", "").endswith("/officeDocument")),
                    "xl/workbook.xml").lstrip("/")
        base = posixpath.dirname(book)
        rels_part = posixpath.join(base, "_rels", posixpath.basename(book) + ".rels")
        targets = {}
        if rels_part in names:
            for r in etree.fromstring(z.read(rels_part)):
                t = r.get("Target", "")
                targets[r.get("Id")] = t.lstrip("/") if t.startswith("/") else posixpath.normpath(
                    posixpath.join(base, t))
        for sheet in etree.fromstring(z.read(book)).iter("{*}sheet"):
            part = targets.get(sheet.get(f"{{{rel_ns}}}id"))
            if part is None or part not in names:
                continue
            data = z.read(part)
            end = data.rfind(b"sheetData>")
            found = re.findall(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Za-z]+[0-9]+:[A-Za-z]+[0-9]+)"',
                               data[end if end > 0 else 0:])
            if found:
                ranges = []
                for ref in found:
                    left, top, right, bottom = range_boundaries(ref.decode("ascii"))
                    ranges.append((top, left, bottom, right))
                out[sheet.get("name")] = ranges
    return out


# -- CSV -------------------------------------------------------------------------------------

def _decode(data: bytes, path: Path, *, partial: bool = False) -> str:
    if b"\x00" in data[:65536]:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                return data.decode("utf-16")
            except UnicodeDecodeError:
                pass
        raise UnreadableFile(str(path), "binary data, not a CSV or Excel table")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError as e:
            if partial and e.start >= len(data) - 4:
                return data[:e.start].decode(enc)
    raise UnreadableFile(str(path), "text is neither UTF-8 nor GBK/GB18030")


def _delimiter(text: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    first = text[:8192].split("\n", 3)
    sample = "\n".join(first[:3])
    counts = {d: sample.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _looks_textual(text: str, path: Path) -> None:
    """Reject decoded junk: a table is mostly printable text."""
    sample = text[:20000]
    if not sample.strip():
        raise UnreadableFile(str(path), "empty file")
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\r\n\t") or 0xE000 <= ord(ch) <= 0xF8FF
              or ch == "\ufffd")
    if bad > max(16, len(sample) // 20):
        raise UnreadableFile(str(path), "binary data, not a CSV or Excel table")


def _csv_rows(text: str, delim: str) -> Iterator[tuple[int, list[str]]]:
    if '"' not in text:
        # fast path (no quoting, so one line is one record): ~10x faster than the csv module
        lines = text.splitlines()
        if any(s in text for s in (" " + delim, delim + " ", "\t" + delim, delim + "\t", " \n", "\n ")):
            return ((n, [c.strip() for c in line.split(delim)]) for n, line in enumerate(lines, 1))
        return zip(range(1, len(lines) + 1), (line.split(delim) for line in lines))
    return _csv_module_rows(text, delim)


def _csv_module_rows(text: str, delim: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    n = 0
    try:
        for cells in reader:
            n += 1
            yield n, [c.strip() for c in cells]
    except csv.Error as e:
        raise UnreadableFile("", f"CSV syntax error near row {n + 1}: {e}") from None


def _read_csv(path: Path, data: bytes, is_header, lazy: bool = False) -> list[Table]:
    text = _decode(data, path)
    del data
    _looks_textual(text, path)
    try:
        t = _make_table(path, _csv_rows(text, _delimiter(text, path.suffix.lower())), None, is_header, lazy=lazy)
    except UnreadableFile as e:
        raise UnreadableFile(str(path), e.reason) from None
    return [t] if t is not None else []


# -- Excel -----------------------------------------------------------------------------------

def _read_xlsx(path: Path, is_header, *, header_only: bool = False) -> list[Table]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # zipfile.BadZipFile, KeyError, XML errors of a damaged workbook
        raise UnreadableFile(str(path), f"not a readable .xlsx workbook ({type(e).__name__}: {e})") from None
    tables = []
    try:
        merges = {} if header_only else _xlsx_merged_ranges(path)
        for ws in wb.worksheets:
            def raw(ws=ws):
                for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
                    yield n, [_cell(v) for v in values]
                    if header_only and n > _HEADER_SCAN:
                        return
            spans: dict[int, int] = {}
            rows = _merged(raw(), merges.get(ws.title, ()), spans)
            t = _make_table(path, rows, ws.title, is_header, spans=spans)
            if t is not None:
                tables.append(t)
                if header_only and not instructions_sheet(t.sheet):
                    break
    except UnreadableFile:
        raise
    except Exception as e:
        raise UnreadableFile(str(path), f"damaged .xlsx workbook ({type(e).__name__}: {e})") from None
    finally:
        wb.close()
    return tables


def _read_xls(path: Path, data: bytes, is_header) -> list[Table]:
    import xlrd

    try:  # formatting_info: the merged ranges; a workbook whose formatting xlrd cannot parse is read without
        book = xlrd.open_workbook(file_contents=data, on_demand=True, formatting_info=True)
    except Exception:
        try:
            book = xlrd.open_workbook(file_contents=data, on_demand=True)
        except Exception as e:
            raise UnreadableFile(str(path), f"not a readable .xls workbook ({type(e).__name__}: {e})") from None
    tables = []
    try:
        for i in range(book.nsheets):
            sh = book.sheet_by_index(i)

            def raw(sh=sh):
                for r in range(sh.nrows):
                    cells = []
                    for c in sh.row(r):
                        if c.ctype == xlrd.XL_CELL_DATE:
                            try:
                                cells.append(_cell(xlrd.xldate_as_datetime(c.value, book.datemode)))
                            except Exception:
                                cells.append(_cell(c.value))
                        elif c.ctype == xlrd.XL_CELL_BOOLEAN:
                            cells.append("TRUE" if c.value else "FALSE")
                        elif c.ctype == xlrd.XL_CELL_ERROR:
                            cells.append("")
                        else:
                            cells.append(_cell(c.value))
                    yield r + 1, cells
            spans: dict[int, int] = {}
            ranges = [(rlo + 1, clo + 1, rhi, chi) for rlo, rhi, clo, chi in getattr(sh, "merged_cells", ())]
            t = _make_table(path, _merged(raw(), ranges, spans), sh.name, is_header, spans=spans)
            if t is not None:
                tables.append(t)
    except Exception as e:
        raise UnreadableFile(str(path), f"damaged .xls workbook ({type(e).__name__}: {e})") from None
    finally:
        book.release_resources()
    return tables


def _read_html(path: Path, data: bytes, is_header) -> list[Table]:
    from lxml import html as lhtml

    try:
        doc = lhtml.fromstring(_decode(data, path))
    except Exception as e:
        raise UnreadableFile(str(path), f"not a readable HTML table ({type(e).__name__})") from None
    tables = []
    for k, tab in enumerate(doc.iter("table")):
        spans: dict[int, int] = {}

        def raw(tab=tab, spans=spans):
            below: dict[int, tuple[int, str]] = {}  # column -> (rows still covered, value) of a rowspan
            for n, tr in enumerate(tab.iter("tr"), start=1):
                cells: list[str] = []
                for td in (td for td in tr if td.tag in ("td", "th")):
                    while len(cells) in below:
                        cells.append(_html_below(below, len(cells)))
                    text = " ".join(td.text_content().split())
                    across, down = _span(td.get("colspan")), _span(td.get("rowspan"))
                    if across > 1 and not any(cells):
                        spans[n] = across
                    if down > 1:  # the rows below: the value where one column wide, else placeholders
                        for j in range(across):
                            below[len(cells) + j] = (down - 1, text if across == 1 else "")
                    cells.append(text)
                    cells.extend([""] * (across - 1))
                while below and len(cells) <= max(below):
                    cells.append(_html_below(below, len(cells)) if len(cells) in below else "")
                yield n, cells
        t = _make_table(path, raw(), f"table{k + 1}", is_header, spans=spans)
        if t is not None:
            tables.append(t)
    return tables


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def _html_below(below: dict[int, tuple[int, str]], col: int) -> str:
    """The value a rowspan above gives to this row at ``col`` (and one row less of it)."""
    left, value = below[col]
    if left <= 1:
        del below[col]
    else:
        below[col] = (left - 1, value)
    return value


# -- public ----------------------------------------------------------------------------------

@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of (acyclic) cells are built: 2x faster."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read_tables(path: str | os.PathLike[str], *,
                is_header: Callable[[list[str]], bool] | None = None, lazy: bool = False) -> list[Table]:
    """Every non-empty sheet of a workbook (one table for CSV).

    With ``lazy=True`` the rows of a CSV are a one-pass iterator, parsed while
    they are consumed: a 400,000-row file then needs tens of megabytes, not a
    gigabyte (workbooks are read whole either way).

    Raises
    ------
    UnreadableFile
        The file is missing, empty, binary junk, or a damaged workbook.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UnreadableFile(str(path), e.strerror or str(e)) from None
    if not data.strip():
        raise UnreadableFile(str(path), "empty file")
    if lazy and detect_format(path, data[:2048]) == "csv":
        return _read_any(path, data, is_header, lazy=True)
    with _no_gc():
        return _read_any(path, data, is_header)


def _read_any(path: Path, data: bytes, is_header, lazy: bool = False) -> list[Table]:
    fmt = detect_format(path, data[:2048])
    if fmt == "xlsx":
        tables = _read_xlsx(path, is_header)
    elif fmt == "xls":
        tables = _read_xls(path, data, is_header)
    elif fmt == "html":
        tables = _read_html(path, data, is_header)
    else:
        if path.suffix.lower() in (".xlsx", ".xlsm") and data[:2] != b"PK":
            _looks_textual(data[:2000].decode("latin-1"), path)
        tables = _read_csv(path, data, is_header, lazy)
    if not tables:
        raise UnreadableFile(str(path), "no table: every sheet is empty")
    return tables


def read_table(path: str | os.PathLike[str], *,
               is_header: Callable[[list[str]], bool] | None = None) -> Table:
    """The first non-empty sheet of ``path`` (see :func:`read_tables`)."""
    return read_tables(path, is_header=is_header)[0]


def _first_data(tables: list[Table]) -> Table:
    return next((t for t in tables if not instructions_sheet(t.sheet)), tables[0])


def read_header(path: str | os.PathLike[str], *,
                is_header: Callable[[list[str]], bool] | None = None) -> list[str]:
    """The header of the first table that is not a sheet of instructions (说明, 填表说明 ...: else the first),
    reading only the top of a large CSV.

    Raises
    ------
    UnreadableFile
        As :func:`read_tables`.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(_CSV_HEADER_BYTES)
            more = bool(fh.read(1))
    except OSError as e:
        raise UnreadableFile(str(path), e.strerror or str(e)) from None
    if not data.strip():
        raise UnreadableFile(str(path), "empty file")
    fmt = detect_format(path, data[:2048])
    if fmt == "xlsx":
        tables = _read_xlsx(path, is_header, header_only=True)
        if not tables:
            raise UnreadableFile(str(path), "no table: every sheet is empty")
        return _first_data(tables).header
    if fmt != "csv" or not more:
        return _first_data(read_tables(path, is_header=is_header)).header
    cut = data.rfind(b"\n")
    data = data[:cut + 1] if cut > 0 else data
    text = _decode(data, path, partial=True)
    _looks_textual(text, path)
    t = _make_table(path, _csv_rows(text, _delimiter(text, path.suffix.lower())), None, is_header)
    if t is None:
        raise UnreadableFile(str(path), "empty file")
    return t.header


def write_table(path: str | os.PathLike[str], headers: Sequence[str] | Sequence[Sequence[str]],
                rows: Iterable[Sequence[object]], *, sheet: str = "Sheet1") -> None:
    """Write a table as ``.csv`` (UTF-8 with BOM, so Excel shows Chinese), ``.tsv`` or ``.xlsx``.

    ``headers`` is one header row, or a list of rows written above the data
    (e.g. a title line then the header). ``None`` cells are written empty.

    Raises
    ------
    ValueError
        For another suffix.
    """
    path = Path(path)
    head_rows = [list(headers)] if headers and isinstance(headers[0], str) else [list(h) for h in headers]
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".csv", ".tsv", ".txt"):
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh, delimiter="\t" if suffix == ".tsv" else ",")
            w.writerows(head_rows)
            w.writerows(["" if c is None else c for c in r] for r in rows)
        return
    if suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet(sheet[:31])
        for r in head_rows:
            ws.append(r)
        for r in rows:
            ws.append(["" if c is None else c for c in r])
        wb.save(path)
        return
    raise ValueError(f"cannot write {path.name}: use .csv, .tsv or .xlsx")
