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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Protocol

from ontology.records import Record

if TYPE_CHECKING:
    from graph.store import Store

__all__ = ["Reject", "ReadOptions", "Reader", "REJECT_HEADERS", "write_rejects"]


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


class Reader(Protocol):
    def __call__(self, path: Path, rejects: list[Reject], *, store: "Store | None" = None,
                 options: ReadOptions | None = None) -> Iterator[Record]: ...


#: rejects CSV headers: Chinese first, English after the slash
REJECT_HEADERS = {"file": "文件/file", "row": "行/row", "field": "字段/field", "value": "值/value",
                  "reason": "原因/reason"}


def write_rejects(rejects: Iterable[Reject], path: Path) -> int:
    """Write rejects as a UTF-8 (with BOM, so Excel opens it) CSV; return how many.

    The file is written under a temporary name and renamed when complete: a crash or an error while
    writing leaves the previous file (or none), never part of a new one.
    """
    n = 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(part, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.DictWriter(fh, fieldnames=list(REJECT_HEADERS))
            fh.write(",".join(REJECT_HEADERS.values()) + "\r\n")
            for r in rejects:
                w.writerow(r.as_row())
                n += 1
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return n
