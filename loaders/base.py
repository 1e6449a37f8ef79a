"""What every loader shares: rejects, the reader contract and the read options.

A reader is a function ``read(path, rejects, *, store=None, options=None) -> Iterator[Record]``
(parse -> normalise -> emit). It yields the canonical records of the good rows
or events, appends one :class:`Reject` per bad row/event/field problem to
``rejects``, and raises :class:`ontology.errors.UnreadableFile` when the file
cannot be read or parsed at all. It never writes: :mod:`loaders.load` writes
what it yields as one atomic batch per file. ``store``, when given, is read
only, to resolve references to entities loaded earlier. ``options``
(:class:`ReadOptions`) carries what the edges (command line, service) read
from the settings.

>>> r = Reject("a.csv", 3, "数量", "-5", "quantity must be positive")
>>> r.as_row()["reason"]
'quantity must be positive'
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Protocol

from ontology.records import Record

if TYPE_CHECKING:
    from graph.store import Store

__all__ = ["Reject", "LoadWarning", "WARNING_KINDS", "LoadNote", "NOTE_KINDS", "ReadOptions", "Reader",
           "REJECT_HEADERS", "WARNING_HEADERS", "NOTE_HEADERS", "write_rejects", "write_warnings", "write_notes",
           "warnings_path", "notes_path", "read_data_table", "DATA_SUFFIXES"]


@dataclass(frozen=True)
class Reject:
    """One record that could not be taken, and why.

    ``row`` is the 1-based data row of a table (the header is row 1, so the
    first data row is row 2, as a spreadsheet shows it), or the event index
    (``event 3``) of an EPCIS document, or ``document`` for a document-level rule.
    """

    file: str
    row: int | str
    field: str
    value: str
    reason: str

    def as_row(self) -> dict[str, str]:
        d = asdict(self)
        d["row"] = str(d["row"])
        d["value"] = "" if d["value"] is None else str(d["value"])[:500]
        return d


#: kinds of load warning: a row stored as it is, with something missing or unusual (Chinese, English)
WARNING_KINDS: dict[str, tuple[str, str]] = {
    "no_sampled_unit": ("未注明被抽样单位", "no sampled unit named"),
    "no_producer": ("无标称生产企业", "no nominal producer (loose produce, /)"),
    "result_not_numeric": ("检验结果为文字或未给出", "result given as text or not at all"),
    "limit_not_numeric": ("标准值为文字或未给出", "limit given as text or not at all"),
    "items_unreadable": ("不合格项目无法逐项对应", "failed items cannot be paired with their results"),
    "no_failed_item": ("不合格样品未列不合格项目", "a nonconforming row names no failed item"),
    "food_related": ("食品相关产品（非食品）", "a food-related product, not food"),
    "category_unknown": ("未能归入抽检分类", "no SAMR sampling category found"),
}


@dataclass(frozen=True)
class LoadWarning:
    """A row that was stored, with something missing or unusual the user should know of.

    ``kind`` is a key of :data:`WARNING_KINDS`; a row has at most one warning of each kind.

    >>> LoadWarning("a.csv", 5, "no_producer", "标称生产企业名称", "/", "").as_row()["kind"]
    'no_producer'
    """

    file: str
    row: int | str
    kind: str
    field: str
    value: str
    note: str

    def as_row(self) -> dict[str, str]:
        d = asdict(self)
        d["row"] = str(d["row"])
        d["value"] = "" if d["value"] is None else str(d["value"])[:500]
        d["label"] = "/".join(WARNING_KINDS.get(self.kind, (self.kind, self.kind)))
        return d


#: kinds of row or sheet that is no record and was skipped, with a note (Chinese, English)
NOTE_KINDS: dict[str, tuple[str, str]] = {
    "total": ("合计行", "a total row (合计, 小计, 总计)"),
    "note": ("注释行", "a note row (注, 说明, 备注)"),
    "footer": ("落款行", "a footer (填表人, 审核人, 日期)"),
    "repeated_header": ("重复表头", "the header row repeated"),
    "blank": ("空行", "only blanks, dashes or a row number"),
    "group": ("分组标题行", "a group heading spanning the table"),
    "instructions": ("说明工作表", "an instructions sheet (说明, 填表说明)"),
    "no_header": ("无表头工作表", "a sheet whose headers match no table the loader reads"),
}


@dataclass(frozen=True)
class LoadNote:
    """A row or a sheet that is no record and was skipped: neither stored nor rejected, listed for the user.

    ``kind`` is a key of :data:`NOTE_KINDS`; ``row`` is the spreadsheet row, or ``sheet`` for a whole sheet;
    ``value`` what the row holds (its filled cells joined by `` | ``).

    >>> LoadNote("a.xlsx", "台账", 30, "total", "合计 | 112").as_row()["label"]
    '合计行/a total row (合计, 小计, 总计)'
    """

    file: str
    sheet: str
    row: int | str
    kind: str
    value: str

    def as_row(self) -> dict[str, str]:
        d = asdict(self)
        d["row"] = str(d["row"])
        d["value"] = "" if d["value"] is None else str(d["value"])[:500]
        d["label"] = "/".join(NOTE_KINDS.get(self.kind, (self.kind, self.kind)))
        return d


@dataclass(frozen=True)
class ReadOptions:
    """How files are read, as the settings say (``api.settings.Settings.read_options``).

    ``epcis_schema`` / ``epcis_xsd``: the GS1 EPCIS 2.0 JSON Schema and XML Schema that events are
    validated against; None means the GS1 conformance copy beside the repository
    (``../shared/conformance``) when it is there; a path that is not a file switches that validation
    off (the loader's own structural checks remain). ``processes``: at most this many processes derive
    one large EPCIS document (None: the CPUs this process may use).
    """

    epcis_schema: str | None = None
    epcis_xsd: str | None = None
    processes: int | None = None
    #: sheets the user named (``foodtrace load --sheet``): read as data even where their name says they hold
    #: instructions (说明), and a named sheet whose headers match nothing is a reject, not a note
    sheets: tuple[str, ...] = ()


class Reader(Protocol):
    def __call__(self, path: Path, rejects: list[Reject], *, store: "Store | None" = None,
                 options: ReadOptions | None = None) -> Iterator[Record]: ...


#: rejects CSV headers: Chinese first, English after the slash
REJECT_HEADERS = {"file": "文件/file", "row": "行/row", "field": "字段/field", "value": "值/value",
                  "reason": "原因/reason"}


def _write_csv(rows: Iterable[Reject] | Iterable["LoadWarning"] | Iterable["LoadNote"], headers: dict[str, str],
               path: Path) -> int:
    """Write rows (their ``as_row()``) as a UTF-8 CSV with a BOM (so that Excel opens it) under Chinese/English
    headers; return how many.

    The file is written under a temporary name and renamed when complete: a crash or an error while
    writing leaves the previous file (or none), never part of a new one.
    """
    n = 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(part, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.DictWriter(fh, fieldnames=list(headers))
            fh.write(",".join(headers.values()) + "\r\n")
            for r in rows:
                w.writerow(r.as_row())
                n += 1
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return n


def write_rejects(rejects: Iterable[Reject], path: Path) -> int:
    """Write rejects as a UTF-8 (with BOM, so Excel opens it) CSV; return how many."""
    return _write_csv(rejects, REJECT_HEADERS, path)


#: warnings CSV headers: Chinese first, English after the slash
WARNING_HEADERS = {"file": "文件/file", "row": "行/row", "kind": "类别/kind", "label": "说明/label",
                   "field": "字段/field", "value": "值/value", "note": "备注/note"}


def warnings_path(rejects_path: Path) -> Path:
    """The warnings CSV beside a rejects CSV: ``rejects.csv`` -> ``rejects-warnings.csv``.

    >>> warnings_path(Path("out/rejects.csv")).as_posix()
    'out/rejects-warnings.csv'
    """
    return rejects_path.with_name(f"{rejects_path.stem}-warnings{rejects_path.suffix or '.csv'}")


def write_warnings(warnings: Iterable[LoadWarning], path: Path) -> int:
    """Write load warnings as a UTF-8 (with BOM) CSV; return how many."""
    return _write_csv(warnings, WARNING_HEADERS, path)


#: notes CSV headers (rows and sheets skipped as no record): Chinese first, English after the slash
NOTE_HEADERS = {"file": "文件/file", "sheet": "工作表/sheet", "row": "行/row", "kind": "类别/kind",
                "label": "说明/label", "value": "内容/value"}


def notes_path(rejects_path: Path) -> Path:
    """The notes CSV beside a rejects CSV: ``rejects.csv`` -> ``rejects-notes.csv``.

    >>> notes_path(Path("out/rejects.csv")).as_posix()
    'out/rejects-notes.csv'
    """
    return rejects_path.with_name(f"{rejects_path.stem}-notes{rejects_path.suffix or '.csv'}")


def write_notes(notes: Iterable[LoadNote], path: Path) -> int:
    """Write the notes of skipped rows and sheets as a UTF-8 (with BOM) CSV; return how many."""
    return _write_csv(notes, NOTE_HEADERS, path)


def read_data_table(path: Path) -> tuple[str, list[dict[str, str]]]:
    """A versioned data table of ``loaders/data`` (CSV; ``#`` lines are notes, ``# version: X`` its version):
    (version, rows)."""
    version = ""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            m = re.match(r"#\s*version:\s*(\S+)", line)
            version = m.group(1) if m else version
        elif line.strip():
            lines.append(line)
    return version, list(csv.DictReader(lines))


#: file suffixes a folder given to ``foodtrace load`` is read for (a README or a picture beside the data is not)
DATA_SUFFIXES = (".json", ".jsonld", ".xml", ".csv", ".tsv", ".txt", ".xlsx", ".xls")
