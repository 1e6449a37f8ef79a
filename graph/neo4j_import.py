"""A store's contents as the input of ``neo4j-admin database import full``: a first load or a rebuild of a
Neo4j store at the speed of the offline importer instead of one transaction per file through the driver.

:func:`write_import` writes, into a folder, one header file and one data file (CSV, UTF-8) per node label of
the Neo4j model (:mod:`graph.neo4j`): every record as its node (the record's fields typed as the driver path
stores them, ``_seq`` numbering the records in the source's insertion order, ``_src`` its source tags), the
batches (``FtBatch``), the previous versions (``FtVersion``), the counters (``FtMeta``) and the change log
(``FtChange``: one row "anything may have changed", numbered after the source's latest, as a restore does).
``import.args`` lists the importer's arguments, one a line; ``scripts/neo4j/import.sh`` runs the import into
the local server's home, starts it and creates the same constraints and indexes as the driver path
(:meth:`graph.neo4j.Neo4jStore.ensure_schema`).

Values that do not have their field's type (text in a number field, as SQLite keeps it) go to a file of their
own with a header typing them as they are, so the imported store holds exactly what a write through the driver
stores. Strings are always quoted (``""`` is an empty string, an empty field no property).

>>> import tempfile, os
>>> from pathlib import Path
>>> from graph.store import open_store
>>> from ontology.records import Lot
>>> d = Path(tempfile.mkdtemp())
>>> with open_store(str(d / "s.db")) as s:
...     _ = s.write([Lot(id="urn:foodtrace:lot:a", product_id="p", lot_number="L,1")])
...     summary = write_import(s, d / "imp")
>>> summary.nodes["Lot"], (d / "imp" / "Lot.csv").read_text(encoding="utf-8").strip()
(1, '"urn:foodtrace:lot:a","p","L,1",,,,,,,,1,')
"""

from __future__ import annotations

import gzip
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from ontology.errors import StoreError
from ontology.records import RECORD_TYPES

from .neo4j import _BATCH_FIELDS, _LABELS, _Label
from .store import Store

__all__ = ["ImportSummary", "write_import", "import_arguments", "ARGS_FILE"]

#: the file listing the importer's arguments (one a line), read by scripts/neo4j/import.sh
ARGS_FILE = "import.args"
#: separator of array values (``_src``)
_ARRAY = ";"
#: the importer's type of each record field type
_TYPES = {"str": "string", "date": "string", "datetime": "string", "json": "string",
          "int": "long", "bool": "boolean", "float": "double"}
#: the Python type a field of each importer type holds
_PY = {"string": str, "long": int, "boolean": bool, "double": float, "long[]": list}


@dataclass
class ImportSummary:
    """What :func:`write_import` wrote: nodes per label, the files, whether strings span lines, whether the data
    files are gzipped."""

    folder: Path
    nodes: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    multiline: bool = False
    change_seq: int = 0
    compressed: bool = False

    @property
    def total(self) -> int:
        return sum(self.nodes.values())


def _text(v: str) -> str:
    return '"' + v.replace('"', '""') + '"'


def _cell(v: Any) -> str:
    """One CSV field: strings quoted, numbers and booleans as the importer reads them, None empty."""
    if v is None:
        return ""
    if isinstance(v, str):
        return _text(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isfinite(v):
            return repr(v)
        return "Infinity" if v > 0 else "-Infinity"
    if isinstance(v, (list, tuple)):
        return _ARRAY.join(str(x) for x in v)
    return str(v)


def _type_of(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "long"
    if isinstance(v, float):
        return "double"
    return "string"


class _Writer:
    """The data files of one label: the regular one, and one per header of values of other types."""

    def __init__(self, folder: Path, label: str, columns: list[tuple[str, str]], summary: ImportSummary,
                 id_column: bool = True):
        self.folder, self.label, self.columns, self.summary = folder, label, columns, summary
        self.id_column = id_column
        self.types = tuple(t for _, t in columns)
        self.files: dict[tuple[str, ...], TextIO] = {}
        self.count = 0

    def _header(self, types: tuple[str, ...]) -> str:
        cells = []
        for (name, _), t in zip(self.columns, types):
            if name == "id" and self.id_column:
                cells.append(f"id:ID({self.label})")
            else:
                cells.append(f"{name}:{t}")
        return ",".join(cells)

    def _file(self, types: tuple[str, ...]) -> TextIO:
        fh = self.files.get(types)
        if fh is None:
            n = len(self.files)
            stem = self.label if n == 0 else f"{self.label}.{n}"
            (self.folder / f"{stem}.header.csv").write_text(self._header(types) + "\n", encoding="utf-8")
            gz = self.summary.compressed
            data = self.folder / (f"{stem}.csv.gz" if gz else f"{stem}.csv")
            # gzip level 1: a tenth of the disk for little CPU (the importer reads .gz itself)
            fh = self.files[types] = (gzip.open(data, "wt", compresslevel=1, encoding="utf-8", newline="")
                                      if gz else open(data, "w", encoding="utf-8", newline=""))
            self.summary.files.append(f"--nodes={self.label}={self.folder / f'{stem}.header.csv'},{data}")
        return fh

    def row(self, values: list[Any]) -> None:
        types = self.types
        for v, t in zip(values, types):
            if v is not None and type(v) is not _PY[t]:
                # a value of another type than its field's (text in a REAL column): a header of its own
                types = tuple(t if v is None or type(v) is _PY[t] else _type_of(v) for v, t in zip(values, types))
                break
        line = ",".join(_cell(v) for v in values)
        if not self.summary.multiline and ("\n" in line or "\r" in line):
            self.summary.multiline = True
        self._file(types).write(line + "\n")
        self.count += 1

    def close(self) -> None:
        if not self.files:
            self._file(self.types)  # an empty label still gets its (empty) file
        for fh in self.files.values():
            fh.close()
        self.summary.nodes[self.label] = self.count


def write_import(store: Store, folder: str | os.PathLike[str], *,
                 progress: Callable[[str, int], None] | None = None, compress: bool = False) -> ImportSummary:
    """Write the whole of ``store`` into ``folder`` as ``neo4j-admin database import full`` input.

    ``progress(label, nodes)`` is called after each label. ``compress``: the data files gzipped
    (``.csv.gz``, which the importer reads as they are; about a tenth of the disk: a 10M-delivery store is
    about 15 GB of CSV). The folder is created; the files of an earlier
    export in it are replaced; a folder holding anything else is refused (its CSV files are not ours to delete).
    """
    out = Path(folder)
    if out.exists() and any(out.iterdir()) and not (out / ARGS_FILE).exists():
        raise StoreError(f"{out} is not empty and holds no earlier export ({ARGS_FILE}): name a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.csv"), *out.glob("*.csv.gz")]:
        old.unlink()
    summary = ImportSummary(folder=out, compressed=compress)
    seq = 0
    for rtype in RECORD_TYPES:
        lab: _Label = _LABELS[rtype.table]
        columns = [(c, _TYPES[lab.kinds[c]]) for c in lab.columns] + [("_seq", "long"), ("_src", "long[]")]
        w = _Writer(out, lab.label, columns, summary)
        for rec, tags in store.dump(rtype.table):
            seq += 1
            w.row(lab.values(rec) + [seq, tags or None])
        w.close()
        if progress is not None:
            progress(lab.label, w.count)
    _write_history(store, out, summary, seq)
    (out / ARGS_FILE).write_text(
        "\n".join(summary.files + ["--id-type=string", f"--array-delimiter={_ARRAY}",
                                   f"--multiline-fields={'true' if summary.multiline else 'false'}"]) + "\n",
        encoding="utf-8")
    return summary


def _write_history(store: Store, out: Path, summary: ImportSummary, last_seq: int) -> None:
    """The batches, versions, counters and change log (the nodes graph.neo4j keeps beside the records)."""
    batch_types = {"id": "long", "tag": "long", "received": "long", "changed": "long"}
    w = _Writer(out, "FtBatch", [(f, batch_types.get(f, "string")) for f in _BATCH_FIELDS], summary, id_column=False)
    last_batch = 0
    for b in store.batches().values():
        w.row([getattr(b, f) for f in _BATCH_FIELDS])
        last_batch = max(last_batch, int(b.id))
    w.close()
    w = _Writer(out, "FtVersion", [("seq", "long"), ("table", "string"), ("rid", "string"), ("op", "string"),
                                   ("batch", "long"), ("reason", "string"), ("body", "string")], summary,
                id_column=False)
    last_version = 0
    for v in store.dump_versions():
        lab = _LABELS[v.table]
        values = lab.values(lab.rtype(**{c: v.values.get(c) for c in lab.columns}))
        body = json.dumps(dict(zip(lab.columns, values)), ensure_ascii=False)
        w.row([v.seq, v.table, v.id, v.op, v.batch, v.reason, body])
        last_version = max(last_version, v.seq)
    w.close()
    # the change log goes on after the source's latest number with "anything may have changed"
    summary.change_seq = (store.change_seq() or 0) + 1
    w = _Writer(out, "FtChange", [("seq", "long"), ("lot_id", "string")], summary, id_column=False)
    w.row([summary.change_seq, None])
    w.close()
    w = _Writer(out, "FtMeta", [("id", "string"), ("next", "long")], summary, id_column=False)
    for name, value in (("seq", last_seq + 1), ("batches", last_batch), ("versions", last_version),
                        ("changes", summary.change_seq)):
        w.row([name, value])
    w.close()


def import_arguments(folder: str | os.PathLike[str]) -> list[str]:
    """The importer's arguments an export in ``folder`` lists."""
    return [line for line in (Path(folder) / ARGS_FILE).read_text(encoding="utf-8").splitlines() if line]

