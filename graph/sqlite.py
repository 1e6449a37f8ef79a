"""The embedded default store: one SQLite file, no server.

One table per record type, columns derived from :mod:`ontology.records`, so
the schema never drifts from the data model. The database runs in WAL mode:
readers in other processes keep reading a consistent snapshot while a writer
writes. A :meth:`SQLiteStore.write` is one transaction: if the records cannot
all be written (a bad record, a crash, an exception from the iterator that
produces them) nothing is.

>>> import tempfile, os
>>> from ontology.records import Lot, Alias
>>> s = SQLiteStore(os.path.join(tempfile.mkdtemp(), "x.db"))
>>> st = s.write([Lot(id="https://id.gs1.org/01/06901234567892/10/L1", product_id="p"),
...               Alias(id="urn:epc:class:lgtin:6901234.056789.L1",
...                     canonical_id="https://id.gs1.org/01/06901234567892/10/L1", entity="lot")])
>>> st.changed["lot"], s.write([Lot(id="https://id.gs1.org/01/06901234567892/10/L1", product_id="p")]).total_changed
(1, 0)
>>> s.resolve("urn:epc:class:lgtin:6901234.056789.L1")
'https://id.gs1.org/01/06901234567892/10/L1'
>>> s.close()
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import operator
import queue
import os
import sqlite3
import threading
from collections import defaultdict
from itertools import chain
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import orjson

from ontology.errors import StoreError, StoreUnavailable
from ontology.processes import running
from ontology.identifiers import lookup_forms
from ontology.records import (PLACEHOLDERS, RECORD_TYPES, Delivery, Record, TransformationItem, record_fields,
                              record_type, to_dict)

from ontology.times import now_iso

from .store import (COLUMN_PAGE, BulkLoad, CHANGE_ANY_LOT, CHANGE_LOT_FIELD, CHANGE_VIA_ITEMS, CHANGE_VIA_SAMPLE, Store, WriteStats, chunks,
                    first_known, plan_filters, require_fields)
from .versions import Batch, Version, WriteContext, record_from_values

__all__ = ["SQLiteStore", "sqlite_path"]

log = logging.getLogger("foodtrace.store")

SCHEMA_VERSION = 1
_SQL_TYPES = {"str": "TEXT", "date": "TEXT", "datetime": "TEXT", "json": "TEXT",
              "int": "INTEGER", "bool": "INTEGER", "float": "REAL"}
#: reference columns also indexed together with the time (range reads per station)
_BY_TIME = {"delivery": ("sender_id", "receiver_id")}

#: fields indexed in every table that has them (look-ups by code, date and reference)
_INDEXED = {"time", "date", "code", "number", "gtin", "gln", "uscc", "lot_number", "canonical_id",
            "sampled_at", "announced", "opened", "start", "kind", "batch"}
#: reference columns never looked up by: not indexed, each index costs every insert of a bulk load
_UNINDEXED = {("delivery", "ticket_id"), ("delivery", "certificate_id")}
#: indexes of earlier versions, dropped when a store is opened: a delivery's sender and receiver have no index of
#: their own, the (column, time) index of _BY_TIME serves a look-up by the column alone (its first column). Each
#: index is one more B-tree every insert of a bulk load rewrites a leaf page of (keys at random: a load of 100,000
#: deliveries into a 1M store touches almost every leaf page of each, and the write-ahead log then copies them)
_RETIRED_INDEXES = ("ix_delivery_sender_id", "ix_delivery_receiver_id")
#: records per batch a write hands its writer thread, which writes each batch in the order of its ids
#: (:meth:`SQLiteStore._flush`). Ids are mostly digests, at random: a batch in key order fills the primary-key
#: B-tree leaf after leaf instead of one leaf here, one there, so the longer the batch the more of its keys land on
#: a leaf just visited (600,000 new deliveries into a table of 1M: 5.6-5.9 s CPU with 4 KiB pages in file order; with
#: 32 KiB pages (_PAGE_BYTES) sorted, 4.0 s in batches of 5,000, 2.7 s in batches of 20,000)
_BATCH = 20_000
#: ... except the first batches of a write within a bulk load: the first one handed to the writer thread has this many
#: rows, each next one twice as many, up to _BATCH. With 20,000 from the start the writer waited, idle, while the
#: reading thread built the first full batch of some table out of a file's first ~60,000 records (a 280,000-row
#: delivery file: ~1 s of its ~6). Not in other writes: there a table of fewer than _BATCH rows stays one batch, in
#: the order of its ids, whatever else the write holds (readers that sum over rows in the stored order, the risk
#: model's backtest, then give the same floats for stores of different sizes)
_FIRST_BATCH = 2_000
_ID = operator.itemgetter(0)
#: the batches a write's writer thread may be behind (about 80,000 records in memory) ...
_QUEUE_BATCHES = 4
#: ... and while it builds deferred indexes first (the records of a file of the load's tail wait in memory meanwhile)
_QUEUE_INDEXING = 10
#: the page size of a new store file (an existing file keeps its own; SQLite's default is 4 KiB). Larger pages make
#: shallower B-trees with more keys per leaf, so the random-key inserts of a load touch fewer pages: the 1M load's
#: writes took ~20 s less CPU with 32 KiB pages and sorted batches (README, "Tenth stop")
_PAGE_BYTES = 32 << 10
#: at a bulk load's tail, a write builds deferred indexes of about this many rows (the fixed cost of reading a small
#: file, ~0.1 s) ...
_INDEX_ROWS_PER_WRITE = 100_000
#: ... and this many per byte of its input: reading a template's CSV takes about 0.25 µs a byte, indexing about
#: 1 µs a row (on the same machine, so the ratio holds on others)
_INDEX_ROWS_PER_BYTE = 0.25
#: bytes of the file reads map instead of copying (a large store served to many readers)
_MMAP_BYTES = 4 << 30
#: rows per multi-row VALUES statement of a write (fewer where the columns would pass _MAX_PARAMS)
_VALUES_ROWS = 2000
#: host parameters per statement: SQLite's limit is 32766 (3.32 and later); stay below it
_MAX_PARAMS = 30_000
#: values per IN (...) list of a read (well below _MAX_PARAMS)
_IN_CHUNK = 900
#: a write finding the write-ahead log larger than this waits for the background checkpoint (_Checkpointer) to
#: finish first, so that the log starts again from its beginning rather than growing through a whole bulk load
_WAL_WAIT_BYTES = 512 << 20


def sqlite_path(url: str) -> Path:
    """The file path named by a ``sqlite:///`` URL or a plain path.

    >>> str(sqlite_path("sqlite:///data/x.db")), str(sqlite_path("sqlite:////tmp/x.db")), str(sqlite_path("y.db"))
    ('data/x.db', '/tmp/x.db', 'y.db')
    """
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://"):]
        if not rest.startswith("/"):
            raise StoreUnavailable(f"bad SQLite URL {url!r}: use sqlite:///relative.db or sqlite:////absolute/path.db")
        return Path(rest[1:])
    return Path(url)


def _quote(name: str) -> str:
    return f'"{name}"'


class _Table:
    """Pre-built SQL for one record type."""

    def __init__(self, rtype: type[Record]):
        self.rtype = rtype
        self.name = rtype.table
        fields = record_fields(rtype)
        self.columns = [f.name for f in fields]
        self.types = [f.metadata["type"] for f in fields]
        self.bool_idx = [i for i, t in enumerate(self.types) if t == "bool"]
        self.getter = operator.attrgetter(*self.columns)
        getter = self.getter
        #: a record's column values as a tuple (the getter itself where it returns one: called per record written)
        self.row: Callable[[Record], tuple[Any, ...]] = getter if len(self.columns) > 1 else (lambda rec: (getter(rec),))
        q = _quote(self.name)
        cols = ", ".join(_quote(c) for c in self.columns)
        marks = ", ".join("?" for _ in self.columns)
        rest = [c for c in self.columns if c != "id"]
        if PLACEHOLDERS in rest:
            sets, differs = _placeholder_merge(q, [c for c in rest if c != PLACEHOLDERS])
        else:
            sets = ", ".join(f"{_quote(c)} = coalesce(excluded.{_quote(c)}, {_quote(c)})" for c in rest)
            differs = " OR ".join(f"(excluded.{_quote(c)} IS NOT NULL AND excluded.{_quote(c)} IS NOT {_quote(c)})"
                                  for c in rest) or "0"
        for u in rtype.unique:
            # a stored record's update that would take a unique value another record holds is skipped, as a new
            # record's insert is (DO NOTHING below): the stored record stays as it was, the write goes on (an
            # event re-sent under its id with the content of another stored event: not a failed file)
            qu = _quote(u)
            differs = (f"({differs}) AND NOT EXISTS (SELECT 1 FROM {q} AS other "
                       f"WHERE other.{qu} = excluded.{qu} AND other.id <> excluded.id)")
        tail = " ON CONFLICT DO NOTHING" if rtype.unique else ""
        #: whether a write's batches are written in the order of their ids (_BATCH): not where a unique column
        #: drops the later of two records sharing a value (which one is later stays the file's order) ...
        self.sort = not rtype.unique
        #: ... there a batch is tried in the order of the unique column's values (its index takes random keys too,
        #: hashes for events), and kept where that inserted every row: no row met a stored one or another of the
        #: batch, so the order changed nothing (SQLiteStore._flush). 50,000 events into a store of 200,000: 8.8
        #: against 12.1 µs a row.
        self.by_unique = operator.itemgetter(self.columns.index(rtype.unique[0])) if rtype.unique else None
        conflict = f" ON CONFLICT(id) DO UPDATE SET {sets} WHERE {differs}{tail}"
        # a write's rows go as multi-row VALUES upserts (values_sql; with the hidden column _src, ",3,17,", where the
        # write's records remember their source): each runs in one step without the GIL,
        # where executemany takes the GIL back for every row and so waits on the thread building the next batch;
        # and at half the CPU of reading the rows out of one JSON array with json_each (SQLite 3.40: 300,000
        # deliveries 1.9 s against 3.8 s)
        self._head = f"INSERT INTO {q} ({cols}) VALUES "
        self._head_src = f"INSERT INTO {q} ({cols}, {_SRC}) VALUES "
        self._conflict = conflict
        self._marks, self._marks_src = f"({marks})", f"({marks}, ?)"
        #: rows per VALUES statement (within SQLite's limit on host parameters)
        self.values_rows = max(1, min(_VALUES_ROWS, _MAX_PARAMS // (len(self.columns) + 1)))
        self._values: dict[tuple[int, bool], str] = {}
        # one statement per batch (the ids as a JSON array): a third of what a statement per record costs
        self.tag = (f"UPDATE {q} SET {_SRC} = coalesce({_SRC}, ',') || ? WHERE id IN (SELECT value FROM json_each(?)) "
                    f"AND ({_SRC} IS NULL OR instr({_SRC}, ?) = 0)")
        #: the table's largest rowid (about how many rows it holds, without a count; the rows an insert added)
        self.last_rowid = f"SELECT max(rowid) FROM {q}"
        self.insert = f"INSERT INTO {q} ({cols}) VALUES ({marks})"
        self.select = f"SELECT {cols} FROM {q}"
        coldefs = ", ".join(
            f"{_quote(c)} {_SQL_TYPES[t]}" + (" PRIMARY KEY NOT NULL" if c == "id" else "")
            for c, t in zip(self.columns, self.types))
        self.ddl = [f"CREATE TABLE IF NOT EXISTS {q} ({coldefs}, {_SRC} TEXT)"]
        for c in self.columns:
            if c == "id":
                continue
            if c in rtype.unique:
                self.ddl.append(f"CREATE UNIQUE INDEX IF NOT EXISTS {_quote(f'ux_{self.name}_{c}')} ON {q} ({_quote(c)})")
            elif (c.endswith("_id") or c in _INDEXED) and (self.name, c) not in _UNINDEXED \
                    and c not in _BY_TIME.get(self.name, ()):
                self.ddl.append(f"CREATE INDEX IF NOT EXISTS {_quote(f'ix_{self.name}_{c}')} ON {q} ({_quote(c)})")
        for c in _BY_TIME.get(self.name, ()):  # a station's deliveries within a time window (trace inference)
            self.ddl.append(f"CREATE INDEX IF NOT EXISTS {_quote(f'ix_{self.name}_{c}_time')} ON {q} "
                            f"({_quote(c)}, \"time\")")

    def values_sql(self, rows: int, src: bool) -> str:
        """The upsert of ``rows`` rows in one VALUES list (with the hidden source column where ``src``)."""
        sql = self._values.get((rows, src))
        if sql is None:
            sql = self._values[(rows, src)] = ((self._head_src if src else self._head)
                                               + ", ".join([self._marks_src if src else self._marks] * rows)
                                               + self._conflict)
        return sql

    def record(self, row: tuple[Any, ...]) -> Record:
        if self.bool_idx:
            row = list(row)
            for i in self.bool_idx:
                if row[i] is not None:
                    row[i] = bool(row[i])
        return self.rtype(*row)


#: the hidden column of every record table listing the source tags of the record (graph.versions)
_SRC = '"_src"'


def _placeholder_merge(q: str, fields: list[str]) -> tuple[str, str]:
    """The SET list and the "something differs" test of an upsert that keeps the placeholder rule
    (:func:`graph.versions.merge_changes`): an empty field keeps the stored value and mark; a placeholder
    fills an empty field and never replaces a value; any other value replaces the stored one.

    In an upsert's SET every expression reads the row as it was, so the marks can be recomputed beside
    the values.
    """
    def marked(side: str, c: str) -> str:
        return f"(instr(' ' || coalesce({side}.\"{PLACEHOLDERS}\", '') || ' ', ' {c} ') > 0)"

    sets, tests, parts = [], [], []
    for c in fields:
        qc = _quote(c)
        keep = f"(excluded.{qc} IS NULL OR ({marked('excluded', c)} AND {q}.{qc} IS NOT NULL))"
        value = f"CASE WHEN {keep} THEN {q}.{qc} ELSE excluded.{qc} END"
        mark = f"CASE WHEN {keep} THEN {marked(q, c)} ELSE {marked('excluded', c)} END"
        sets.append(f"{qc} = {value}")
        tests.append(f"({value}) IS NOT {q}.{qc}")
        parts.append(f"CASE WHEN {mark} THEN '{c} ' ELSE '' END")
    marks = f"NULLIF(rtrim({' || '.join(parts)}), '')"
    qp = _quote(PLACEHOLDERS)
    sets.append(f"{qp} = {marks}")
    tests.append(f"({marks}) IS NOT {q}.{qp}")
    return ", ".join(sets), " OR ".join(tests)


_TABLES = {t.table: _Table(t) for t in RECORD_TYPES}
_INDEX_NAMES = {stmt.split('"')[1] for t in _TABLES.values() for stmt in t.ddl if stmt.startswith("CREATE") and " INDEX " in stmt}

#: tables whose secondary indexes a bulk load (:meth:`SQLiteStore.bulk_load`) builds once after its writes rather
#: than row by row during them: the largest tables, which no loader reads by a secondary column while it loads
#: (loaders read them by id; the sample, case and handling-step tables they search keep their indexes). Unique
#: indexes stay: a write's ON CONFLICT needs them. 1M deliveries into an empty store: the 29 indexes are built in
#: ~10 s at the end, where keeping them up to date row by row (keys at random) cost ~40 s of the load.
_DEFERRABLE = ("alias", "certificate", "delivery", "event", "lot", "ticket", "trace_code", "transformation",
               "transformation_item")
_DEFERRABLE_INDEXES = {stmt.split('"')[1]: stmt for t in _DEFERRABLE for stmt in _TABLES[t].ddl[1:]
                       if stmt.startswith("CREATE INDEX")}
#: a load expected to bring fewer records than this keeps the indexes up to date as it goes
_BULK_INDEX_MIN = 200_000
#: the indexes a bulk load dropped, and the process loading (a store opened meanwhile does not build them
#: again while that process lives; one opened after it died does)
_DEFERRED = "_deferred_index"

# -- the change log ----------------------------------------------------------------------------
# Triggers append one row per inserted or changed record that bears on what can be published about a
# lot: the lot it concerns, or NULL ("anything may have changed") for records that are not tied to one
# lot (operators, products, regions, retractions, certificates or samples without a lot). A write that
# changes nothing fires nothing (the upsert's UPDATE only runs when a value differs); a deleted record
# logs its lot too. Readers that keep derived views (the service's public lookups) follow it with
# change_seq() / changes_since(). seq is the rowid (no AUTOINCREMENT: that costs a sqlite_sequence update
# per row); prune_changes() drops old rows but always keeps the latest, so the numbers only grow. A write
# of more than _BULK_RECORDS records (a bulk load) switches the per-record rows off inside its
# transaction and logs one NULL row instead: per-record logging made writing 200,000 deliveries ~40 %
# slower.
_CHANGE_LOG = "_change_log"


#: the SQL naming the lot a changed row (R: NEW or OLD) concerns, per table (graph.store's CHANGE_* tables);
#: None: its items' lots
def _change_lot_of(table: str, row: str) -> str | None:
    if table in CHANGE_LOT_FIELD:
        return f"{row}.{_quote(CHANGE_LOT_FIELD[table])}"
    if table == CHANGE_VIA_SAMPLE:
        return f"(SELECT s.lot_id FROM sample s WHERE s.id = {row}.sample_id)"
    if table == CHANGE_VIA_ITEMS:
        return None
    return "NULL"


_CHANGE_TABLES = [*CHANGE_LOT_FIELD, CHANGE_VIA_SAMPLE, CHANGE_VIA_ITEMS, *sorted(CHANGE_ANY_LOT)]

#: a write of more records than this logs one "anything may have changed" row instead of one per record
#: (a bulk load; the service's public read model treats more than 20,000 changed lots as everything anyway)
_BULK_RECORDS = 20_000
_CHANGE_CONTROL = "_change_control"

# -- batches and versions (graph.versions) ---------------------------------------------------------------
# Every write inserts one _batch row first (who, what kind, which source, why) and puts its number, and
# the reason of the change at hand, in _history_control; triggers copy a record's values into _version
# (as JSON) when an UPDATE changes one of its fields or a DELETE removes it, naming that batch. Writing
# only the hidden _src column (a source tag) fires nothing.
_BATCH_TABLE = "_batch"
_VERSION = "_version"
_HISTORY_CONTROL = "_history_control"


def _columns_tag(table: str) -> str:
    """A short digest of a table's columns, in the names of its triggers: a field added to a record type makes
    new triggers (the old ones, which name the old columns, are dropped when the file is opened)."""
    return hashlib.sha1(",".join(_TABLES[table].columns).encode()).hexdigest()[:8]


def _change_ddl() -> list[str]:
    out = [f'CREATE TABLE IF NOT EXISTS {_CHANGE_LOG} (seq INTEGER PRIMARY KEY, lot_id TEXT)',
           # bulk = 1 only inside a bulk write's transaction (never visible committed)
           f"CREATE TABLE IF NOT EXISTS {_CHANGE_CONTROL} (id INTEGER PRIMARY KEY CHECK (id = 1), bulk INTEGER NOT NULL)",
           f"INSERT OR IGNORE INTO {_CHANGE_CONTROL}(id, bulk) VALUES (1, 0)",
           f"CREATE TABLE IF NOT EXISTS {_BATCH_TABLE} (id INTEGER PRIMARY KEY, time TEXT NOT NULL, kind TEXT NOT NULL, "
           "actor TEXT, source TEXT, digest TEXT, reason TEXT, tag INTEGER, received INTEGER NOT NULL DEFAULT 0, "
           "changed INTEGER NOT NULL DEFAULT 0)",
           f"CREATE INDEX IF NOT EXISTS ix__batch_digest ON {_BATCH_TABLE} (digest)",
           f"CREATE TABLE IF NOT EXISTS {_VERSION} (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, rid TEXT NOT NULL, "
           "op TEXT NOT NULL, batch INTEGER, reason TEXT, body TEXT NOT NULL)",
           f"CREATE INDEX IF NOT EXISTS ix__version_rid ON {_VERSION} (rid)",
           f"CREATE TABLE IF NOT EXISTS {_HISTORY_CONTROL} (id INTEGER PRIMARY KEY CHECK (id = 1), batch INTEGER, "
           "reason TEXT, skip INTEGER NOT NULL DEFAULT 0)",
           f"INSERT OR IGNORE INTO {_HISTORY_CONTROL}(id, batch, reason, skip) VALUES (1, NULL, NULL, 0)",
           f"CREATE TABLE IF NOT EXISTS {_DEFERRED} (name TEXT PRIMARY KEY, pid INTEGER NOT NULL)"]
    for table in _CHANGE_TABLES:
        cols = ", ".join(_quote(c) for c in _TABLES[table].columns if c != "id")
        tag = _columns_tag(table)
        for op, row in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")):
            expr = _change_lot_of(table, row)
            if expr is None:
                body = (f"INSERT INTO {_CHANGE_LOG}(lot_id) SELECT lot_id FROM transformation_item "
                        f"WHERE transformation_id = {row}.id;")
            else:
                body = f"INSERT INTO {_CHANGE_LOG}(lot_id) VALUES ({expr});"
            # the first versions, unconditional, then fired by any UPDATE (also one of the hidden _src only)
            out.append(f'DROP TRIGGER IF EXISTS "tr_{table}_{op}"')
            out.append(f'DROP TRIGGER IF EXISTS "trc_{table}_{op}"')
            event = f"UPDATE OF {cols}" if op == "update" else op.upper()
            out.append(f'CREATE TRIGGER IF NOT EXISTS "tcl_{table}_{op}_{tag}" AFTER {event} ON {_quote(table)} '
                       f"WHEN (SELECT bulk FROM {_CHANGE_CONTROL} WHERE id = 1) = 0 BEGIN {body} END")
    for name, t in _TABLES.items():
        fields = [c for c in t.columns if c != "id"]
        cols = ", ".join(_quote(c) for c in fields)
        differs = " OR ".join(f"OLD.{_quote(c)} IS NOT NEW.{_quote(c)}" for c in fields) or "0"
        for op, event, when in (("update", f"UPDATE OF {cols}", f"({differs})"), ("delete", "DELETE", "1")):
            body = ", ".join(f"'{c}', OLD.{_quote(c)}" for c in t.columns)
            out.append(f'CREATE TRIGGER IF NOT EXISTS "tv_{name}_{op}_{_columns_tag(name)}" AFTER {event} ON {_quote(name)} '
                       f"WHEN {when} AND (SELECT skip FROM {_HISTORY_CONTROL} WHERE id = 1) = 0 BEGIN "
                       f"INSERT INTO {_VERSION}(tbl, rid, op, batch, reason, body) SELECT '{name}', OLD.id, '{op}', "
                       f"c.batch, c.reason, json_object({body}) FROM {_HISTORY_CONTROL} c WHERE c.id = 1; END")
    return out


_CHANGE_DDL = _change_ddl()
_TRIGGER_NAMES = {stmt.split('"')[1] for stmt in _CHANGE_DDL if stmt.startswith("CREATE TRIGGER")}
#: tables of the store besides the record tables
_META_TABLES = {_CHANGE_LOG, _CHANGE_CONTROL, _BATCH_TABLE, _VERSION, _HISTORY_CONTROL, _DEFERRED}


class _Checkpointer:
    """Copies the write-ahead log into the database file (a passive checkpoint) on its own connection and thread.

    SQLite's automatic checkpoint runs inside the COMMIT of the write that fills the log, in the writer's
    connection. A :meth:`SQLiteStore.write` switches it off for its transaction and asks this thread instead,
    which copies while the next file is parsed; the copy runs in SQLite without Python's GIL. A passive
    checkpoint never blocks a writer or a reader and copies only committed pages, so what readers see does
    not change. Measured on a 1M-delivery load (idle machine): the same 160 s, but 1.1 GiB at peak instead of
    2.7 GiB. Other writes (corrections, deletions ...) keep SQLite's automatic checkpoint.
    """

    def __init__(self, path: Path):
        self.path = path
        #: held while a checkpoint runs (a write waiting for the log to be copied takes it)
        self.lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stop = False
        self._db: sqlite3.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="foodtrace-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def request(self) -> None:
        """Copy what the log holds (soon, on the background thread)."""
        self._idle.clear()
        self._wake.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Until the requested copies are done (tests, benchmarks); False on timeout."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop:
                return
            with self.lock:
                try:
                    if self._db is None:
                        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                                   timeout=60)
                        self._db.execute("PRAGMA cache_size=-2048")  # copies pages, keeps none
                    self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as e:  # the next write's checkpoint (or the last close) copies it instead
                    log.warning("background checkpoint of %s failed: %s", self.path, e)
            if not self._wake.is_set():
                self._idle.set()

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join()
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None
        self._idle.set()


class SQLiteStore(Store):
    """The embedded store in one SQLite file (created if missing)."""

    name = "sqlite"
    local_reads = True
    acyclic_writes = True

    def __init__(self, url: str | os.PathLike[str], options: Mapping[str, Any] | None = None):
        self.url = os.fspath(url)
        self.path = sqlite_path(self.url)
        # _write_lock: one write at a time; _db_lock: one statement at a time on the connection (the
        # writer thread and the thread iterating the records, which may read the store, share it)
        self._write_lock = threading.Lock()
        self._db_lock = threading.Lock()
        # the thread iterating the records of a write in progress reads through a second connection
        # (_reads): it sees the store as committed before the write, and never waits for the writer
        # thread's batch to finish (which held the connection for ~0.1 s per batch, so parsing stopped
        # at the first look-up while a batch was written)
        self._writing: int | None = None
        self._in_memory = str(self.path) == ":memory:"  # a second connection would open another, empty database
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        self._checkpointer: _Checkpointer | None = None
        #: CREATE INDEX statements the next writes run first (a bulk load's tail: bulk_load); None: none
        #: at a bulk load's tail: the deferred indexes each of the next writes builds first
        self._pending_indexes: list[list[str]] | None = None
        self._in_bulk_load = False  # inside this object's bulk_load (indexes dropped)
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
            self._db.execute(f"PRAGMA page_size={_PAGE_BYTES}")  # before WAL: only a new, empty file takes it
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=60000")
            self._db.execute("PRAGMA cache_size=-262144")
            # reads map the file instead of copying pages (a large store served to many readers)
            self._db.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
            self._db.execute("PRAGMA temp_store=MEMORY")
            self._init_schema()
        except sqlite3.DatabaseError as e:
            raise StoreUnavailable(f"cannot open the embedded store {str(self.path)!r}: {e}") from None
        except OSError as e:
            raise StoreUnavailable(f"cannot open the embedded store {str(self.path)!r}: {e.strerror}") from None

    def _init_schema(self) -> None:
        cur = self._db.execute("PRAGMA user_version")
        version = cur.fetchone()[0]
        if version == SCHEMA_VERSION:
            # a record type added since the file was made gets its table (CREATE ... IF NOT EXISTS below)
            have = {r[0] for r in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'index', 'trigger')")}
            if _DEFERRED in have and _INDEX_NAMES - have <= _DEFERRABLE_INDEXES.keys() and self._bulk_loading():
                have |= _DEFERRABLE_INDEXES.keys()  # a bulk load going on builds them at its end
            if have >= _TABLES.keys() and have >= _INDEX_NAMES and have >= _TRIGGER_NAMES \
                    and have >= _META_TABLES and not have & set(_RETIRED_INDEXES) and not self._missing_columns():
                return  # an index added since the file was made is created below (CREATE ... IF NOT EXISTS)
        if version not in (0, SCHEMA_VERSION):
            raise StoreUnavailable(f"{self.path} has schema version {version}; this foodtrace reads {SCHEMA_VERSION}")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for t in _TABLES.values():
                self._db.execute(t.ddl[0])
            # a field added since the file was made gets its column (empty in the rows already there)
            for table, column, sql_type in self._missing_columns():
                self._db.execute(f"ALTER TABLE {_quote(table)} ADD COLUMN {_quote(column)} {sql_type}")
            for t in _TABLES.values():
                for stmt in t.ddl[1:]:
                    self._db.execute(stmt)
            for name in _RETIRED_INDEXES:
                self._db.execute(f"DROP INDEX IF EXISTS {_quote(name)}")
            # triggers of an earlier column set (their names carry it) give way to the current ones
            for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                if name.startswith(("tv_", "tcl_")) and name not in _TRIGGER_NAMES:
                    self._db.execute(f"DROP TRIGGER IF EXISTS {_quote(name)}")
            for stmt in _CHANGE_DDL:
                self._db.execute(stmt)
            self._db.execute(f"DELETE FROM {_DEFERRED}")  # built above (a bulk load that died left them out)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _bulk_loading(self) -> bool:
        """Whether a process that dropped indexes for a bulk load (:meth:`bulk_load`) still lives."""
        return any(running(pid) for (pid,) in self._db.execute(f"SELECT DISTINCT pid FROM {_DEFERRED}").fetchall())

    def _missing_columns(self) -> list[tuple[str, str, str]]:
        """(table, column, SQL type) of the columns an existing table lacks (fields added since, _src)."""
        out = []
        for name, t in _TABLES.items():
            have = {r[1] for r in self._db.execute(f"PRAGMA table_info({_quote(name)})")}
            if have:
                out.extend((name, c, _SQL_TYPES[ty]) for c, ty in zip(t.columns, t.types) if c not in have)
                if "_src" not in have:
                    out.append((name, "_src", "TEXT"))
        return out

    # -- writing ---------------------------------------------------------------------------

    def write(self, records: Iterable[Record], *, progress: Any = None,
              context: WriteContext | None = None) -> WriteStats:
        # the cyclic garbage collector is paused while a batch is built and written: a load makes millions
        # of acyclic rows (and, through the records iterator, parsed documents) that it would scan again and again
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._write(records, progress, context or WriteContext())
        finally:
            if was_enabled:
                gc.enable()

    def _begin_batch(self, context: WriteContext, reason: str | None = None,
                     at_least: int = 0) -> tuple[int, int | None]:
        """Inside a write transaction: record its batch (numbered above ``at_least``), point the version
        triggers at it; (batch, source tag)."""
        top = self._db.execute(f"SELECT max(id) FROM {_BATCH_TABLE}").fetchone()[0] or 0
        cur = self._db.execute(
            f"INSERT INTO {_BATCH_TABLE}(id, time, kind, actor, source, digest, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (max(top, at_least) + 1, now_iso(), context.kind, context.actor, context.source, context.digest,
             context.reason))
        batch = int(cur.lastrowid)
        tag = None
        if context.tags_records:
            tag = batch
            if context.digest:  # the same content loaded before is the same source
                row = self._db.execute(f"SELECT min(tag) FROM {_BATCH_TABLE} WHERE digest = ? AND tag IS NOT NULL",
                                       (context.digest,)).fetchone()
                tag = row[0] if row and row[0] is not None else batch
            self._db.execute(f"UPDATE {_BATCH_TABLE} SET tag = ? WHERE id = ?", (tag, batch))
        self._db.execute(f"UPDATE {_HISTORY_CONTROL} SET batch = ?, reason = ?, skip = 0 WHERE id = 1",
                         (batch, reason if reason is not None else context.reason))
        return batch, tag

    def _write(self, records: Iterable[Record], progress: Any, context: WriteContext) -> WriteStats:
        """Build row batches on this thread while a writer thread executes them, in one transaction.

        SQLite does its B-tree and index work without holding the GIL, so writing one
        batch overlaps with parsing and building the next (the records iterator is
        usually a loader parsing a file). Batches are executed in the order they were
        built, so the result is the same as writing them one after the other.
        """
        stats = WriteStats()
        buffers: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        done = 0
        batches: queue.Queue = queue.Queue(maxsize=_QUEUE_BATCHES)
        failure: list[BaseException] = []

        with self._write_lock:
            with self._db_lock:
                background = self._checkpoint_behind()
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    stats.batch, tag = self._begin_batch(context)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    self._checkpoint_after(background)
                    raise
            extra: tuple[Any, ...] = () if tag is None else (f",{tag},",)

            def writer() -> None:
                while True:
                    item = batches.get()
                    if item is None:
                        return
                    if failure:
                        continue  # drain: the transaction will be rolled back
                    try:
                        self._flush(*item, stats=stats, tag=tag)
                    except BaseException as e:  # handed to the building thread, which raises it
                        failure.append(e)

            # the deferred indexes this write builds first (at a bulk load's tail: _index_during_writes)
            indexing = self._pending_indexes.pop(0) if self._pending_indexes else []
            if indexing:  # built by the writer thread while the records are parsed, in this write's transaction;
                # the records wait behind them in a longer queue, so that the parsing goes on meanwhile
                batches = queue.Queue(maxsize=_QUEUE_INDEXING + len(indexing))  # put before the thread starts
                for stmt in indexing:
                    batches.put((None, stmt))
            thread = threading.Thread(target=writer, name="foodtrace-sqlite-writer", daemon=True)
            thread.start()
            stopped = False
            self._writing = threading.get_ident()
            bulk = False
            limit = min(_FIRST_BATCH, _BATCH) if self._in_bulk_load else _BATCH  # a buffer this long is handed

            def hand(table: _Table, buf: list[tuple[Any, ...]]) -> None:
                """Queue a batch for the writer thread (still in ``buffers``); once the write has brought more than
                _BULK_RECORDS records, counting those waiting in the other tables' buffers, the per-record change log
                off first: the write's one NULL row says anything may have changed, so rows logged before it only
                cost (also where the records end before any table's batch was full). Within a bulk load (a first
                load, a rebuild) off from the first batch: each of its writes says everything may have changed."""
                nonlocal bulk, done, limit
                if not bulk and (self._in_bulk_load or done + sum(map(len, buffers.values())) > _BULK_RECORDS):
                    bulk = True
                    batches.put((None, f"UPDATE {_CHANGE_CONTROL} SET bulk = 1 WHERE id = 1"))
                batches.put((table, buf))
                done += len(buf)
                limit = min(2 * limit, _BATCH)

            try:
                tables: dict[type, _Table] = {}  # per record type: its table
                for rec in records:
                    table = tables.get(type(rec)) or tables.setdefault(type(rec), _TABLES[rec.table])
                    buf = buffers[table.name]
                    buf.append(table.row(rec) + extra)
                    if len(buf) >= limit:
                        if failure:
                            raise failure[0]
                        hand(table, buf)
                        buffers[table.name] = []
                        if progress is not None:
                            progress(done)
                for name, buf in buffers.items():  # the last batch of each table (each shorter than _BATCH)
                    if buf:
                        hand(_TABLES[name], buf)
                        buffers[name] = []  # counted in done now
                if bulk:  # one row for the whole write, and logging back on before the commit
                    batches.put((None, f"INSERT INTO {_CHANGE_LOG}(lot_id) VALUES (NULL)"))
                    batches.put((None, f"UPDATE {_CHANGE_CONTROL} SET bulk = 0 WHERE id = 1"))
                batches.put(None)
                stopped = True
                thread.join()
                if failure:
                    raise failure[0]
                if progress is not None:
                    progress(done)
                with self._db_lock:
                    self._db.execute(f"UPDATE {_BATCH_TABLE} SET received = ?, changed = ? WHERE id = ?",
                                     (stats.total_received, stats.total_changed, stats.batch))
                    self._db.execute("COMMIT")
            except BaseException:
                if not stopped:
                    batches.put(None)
                thread.join()
                with self._db_lock:
                    self._db.execute("ROLLBACK")
                if indexing and self._pending_indexes is not None:  # rolled back with the write: by the next one
                    self._pending_indexes.insert(0, indexing)
                raise
            finally:
                self._writing = None
                self._end_reads()
                with self._db_lock:
                    self._checkpoint_after(background)
        return stats

    @contextmanager
    def bulk_load(self, expected_records: int) -> Iterator[BulkLoad]:
        """Around a load expected to bring more records than the store holds (and at least
        :data:`_BULK_INDEX_MIN`; a first load, a rebuild): the secondary indexes of the largest tables
        (:data:`_DEFERRABLE`) are dropped first and built again later: one at the start of each write once the
        loader says only a small tail is left (:meth:`BulkLoad.tail`; the writer thread builds it while the
        file's records are parsed), the rest at the end. Every write in between stays one atomic batch (an index
        built inside a write that fails is built later); reads in between are answered, more slowly where they
        would have used one of those indexes. A load that dies on the way leaves them to the next open of the
        store (:meth:`_init_schema` builds missing indexes)."""
        if self._in_memory or expected_records < max(_BULK_INDEX_MIN, self._deferrable_rows()):
            yield BulkLoad()
            return
        self._ddl_batch([f"DROP INDEX IF EXISTS {_quote(n)}" for n in _DEFERRABLE_INDEXES],
                        [(n, os.getpid()) for n in _DEFERRABLE_INDEXES])
        log.info("bulk load of about %d records: %d indexes are built after it", expected_records,
                 len(_DEFERRABLE_INDEXES))
        self._in_bulk_load = True
        try:
            yield _Tail(self)
        finally:
            with self._write_lock:
                self._pending_indexes = None
                self._in_bulk_load = False
            self._ddl_batch(list(_DEFERRABLE_INDEXES.values()), None)

    def _index_during_writes(self, works: Sequence[float] = ()) -> None:
        """From the next write on, writes build the deferred indexes first (:meth:`bulk_load`). ``works``: the input
        of each write still to come (bytes, in order): the indexes are shared out among them so that each write's
        indexes take about as long as reading its input (about :data:`_INDEX_ROWS_PER_WRITE` rows plus
        :data:`_INDEX_ROWS_PER_BYTE` a byte), the largest index to the write with the most room left; without
        ``works``, one index per write, the largest first."""
        with self._write_lock, self._db_lock:
            if self._pending_indexes is not None:
                return
            # the writes read the tables through the page cache meanwhile (see _ddl_batch)
            self._db.execute("PRAGMA mmap_size=0")
            rows = {t: self._db.execute(_TABLES[t].last_rowid).fetchone()[0] or 0 for t in _DEFERRABLE}
            size = {stmt: rows[stmt.split(" ON ")[1].split('"')[1]] for stmt in _DEFERRABLE_INDEXES.values()}
            largest = sorted(size, key=lambda stmt: -size[stmt])
            if not works:
                self._pending_indexes = [[stmt] for stmt in largest]
                return
            room = [_INDEX_ROWS_PER_WRITE + _INDEX_ROWS_PER_BYTE * w for w in works]
            plan: list[list[str]] = [[] for _ in works]
            for stmt in largest:
                k = max(range(len(room)), key=room.__getitem__)
                plan[k].append(stmt)
                room[k] -= size[stmt]
            self._pending_indexes = plan

    def _deferrable_rows(self) -> int:
        """About how many records the tables of :data:`_DEFERRABLE` hold (their largest rowids: no count)."""
        return sum(self._query(_TABLES[t].last_rowid)[0][0] or 0 for t in _DEFERRABLE)

    def _ddl_batch(self, statements: list[str], deferred: list[tuple[str, int]] | None) -> None:
        """Run index statements in one transaction and note the indexes deferred (None: none any more)."""
        with self._write_lock, self._db_lock:
            background = self._checkpoint_behind()
            # the tables are read through the page cache, not mapped: a mapped read of every table would count
            # the whole file in this process's resident memory (1M deliveries: 3.1 GiB instead of 1.1)
            self._db.execute("PRAGMA mmap_size=0")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for stmt in statements:
                    self._db.execute(stmt)
                self._db.execute(f"DELETE FROM {_DEFERRED}")
                if deferred:
                    self._db.executemany(f"INSERT INTO {_DEFERRED}(name, pid) VALUES (?, ?)", deferred)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                self._db.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
                self._checkpoint_after(background)

    def _checkpoint_behind(self) -> bool:
        """Before a write's transaction (holding the locks): hand its checkpoint to the background
        (:class:`_Checkpointer`), first letting it finish where the log has grown beyond :data:`_WAL_WAIT_BYTES`
        (a log copied to its end starts again from its beginning at the next write). False for an in-memory
        store, which has no log."""
        if self._in_memory:
            return False
        if self._checkpointer is None:
            self._checkpointer = _Checkpointer(self.path)
        if self._wal_bytes() > _WAL_WAIT_BYTES:
            with self._checkpointer.lock:  # a copy in progress ends first; this one copies the rest
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        return True

    def _checkpoint_after(self, background: bool) -> None:
        """After a write's transaction: SQLite's automatic checkpoint back on, the background copy asked for."""
        if background and self._checkpointer is not None:
            self._db.execute("PRAGMA wal_autocheckpoint=1000")
            self._checkpointer.request()

    def _wal_bytes(self) -> int:
        try:
            return os.stat(f"{self.path}-wal").st_size
        except OSError:
            return 0

    def _flush(self, table: _Table | None, rows: Any, *, stats: WriteStats, tag: int | None = None) -> None:
        """Write one batch of ``rows`` (:meth:`_Table.values_sql`); ``table`` None: ``rows`` is a change-log
        control statement."""
        if table is None:  # a change-log control statement, in the write's transaction
            with self._db_lock:
                self._db.execute(rows)
            return
        if table.sort:  # in the order of the ids (see _BATCH); stable: rows of one id keep their order
            rows.sort(key=_ID)
        tried = None
        if table.by_unique is not None and len(rows) > 1:
            try:
                tried = sorted(rows, key=table.by_unique)
            except TypeError:  # an empty value among them (None does not sort with text): the file's order
                pass
        with self._db_lock:
            try:
                before = (self._db.execute(table.last_rowid).fetchone()[0] or 0) \
                    if tag is not None or tried is not None else 0
                all_new = False
                if tried is None:
                    changed = self._upsert(table, rows, tag)
                else:  # in the order of the unique column (_Table.by_unique), kept where it inserted every row
                    self._db.execute("SAVEPOINT by_unique")
                    try:
                        changed = self._upsert(table, tried, tag)
                        all_new = self._all_new(table, before, len(rows))
                    except sqlite3.IntegrityError:  # an event taking a hash another gives up later in the file
                        pass
                    if not all_new:  # a row met another: the file's order decides what stays
                        self._db.execute("ROLLBACK TO by_unique")
                        changed = self._upsert(table, rows, tag)
                    self._db.execute("RELEASE by_unique")
                if tag is not None and not (all_new or self._all_new(table, before, len(rows))):
                    # records stored before remember this source too (only the hidden column changes: no trigger
                    # fires; the batch's new rows carry the tag already and are left alone)
                    self._db.execute(table.tag, (f"{tag},", orjson.dumps([r[0] for r in rows]).decode(), f",{tag},"))
            except sqlite3.Error as e:
                raise StoreError(f"writing {table.name} records failed: {e}") from None
        stats.received[table.name] = stats.received.get(table.name, 0) + len(rows)
        stats.changed[table.name] = stats.changed.get(table.name, 0) + max(changed, 0)

    def _upsert(self, table: _Table, rows: list[tuple[Any, ...]], tag: int | None) -> int:
        """Run the VALUES upserts of ``rows`` in their order; the rows they changed (rowcount counts the rows the
        statement itself changed: total_changes would add the change-log and version rows the triggers write)."""
        values = list(chain.from_iterable(rows))
        width = len(rows[0]) if rows else 0
        step = table.values_rows
        changed = 0
        for i in range(0, len(rows), step):
            n = min(step, len(rows) - i)
            changed += self._db.execute(table.values_sql(n, tag is not None),
                                        values[i * width:(i + n) * width]).rowcount
        return changed

    def _all_new(self, table: _Table, before: int, rows: int) -> bool:
        """Whether the upsert of a batch of ``rows`` rows just run inserted every one of them (none was stored
        before, none repeated an earlier one): then no record of the batch needs the source tag added, which a
        first load, nearly all new records, never probes for (its UPDATE looks up every id: a fifth of the cost
        of writing them). ``before``: the table's largest rowid before the upsert. SQLite gives a new row the
        largest rowid plus one (below 2**63 - 1, the only case it picks another: guarded), so the rows the upsert
        inserted are exactly the rowids it added."""
        after = self._db.execute(table.last_rowid).fetchone()[0] or 0
        return after < 2 ** 62 and after - before == rows

    # -- reading ---------------------------------------------------------------------------

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        if self._writing is not None and self._writing == threading.get_ident() and not self._in_memory:
            with self._reader_lock:
                db = self._reads()
                if not db.in_transaction:  # one snapshot for the write's reads (ended by _end_reads)
                    db.execute("BEGIN")
                return db.execute(sql, tuple(params)).fetchall()
        with self._db_lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def _end_reads(self) -> None:
        """End the read transaction the thread iterating a write's records held (:meth:`_query`).

        The write holds SQLite's write lock from its first statement to its COMMIT, so nothing is committed while
        its records are read: one read transaction for all their look-ups sees what a transaction per look-up
        would, without starting one per statement (a look-up by id: 6 -> 2 µs)."""
        with self._reader_lock:
            if self._reader is not None and self._reader.in_transaction:
                self._reader.execute("COMMIT")

    def _reads(self) -> sqlite3.Connection:
        """The read-only connection of the thread iterating a write's records (opened on first use)."""
        if self._reader is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
            db.execute("PRAGMA query_only=1")
            db.execute("PRAGMA busy_timeout=60000")
            db.execute("PRAGMA cache_size=-65536")
            self._reader = db
        return self._reader

    def get_many(self, table: str, ids: Iterable[str]) -> dict[str, Record]:
        t = _TABLES[record_type(table).table]
        out: dict[str, Record] = {}
        for part in chunks(dict.fromkeys(ids), _IN_CHUNK):
            sql = f"{t.select} WHERE id IN ({', '.join('?' * len(part))})"
            for row in self._query(sql, part):
                out[row[0]] = t.record(row)
        return out

    def stored_ids(self, table: str, ids: Iterable[str]) -> set[str]:
        tables = (record_type(table).table,)
        return {found for part in chunks(dict.fromkeys(ids), _IN_CHUNK)
                for (found,) in self._query(_entity_ids_sql(tables, len(part)), part)}

    def scan(self, table: str, where: Mapping[str, Any] | None = None) -> Iterator[Record]:
        t = _TABLES[record_type(table).table]
        where = dict(where or {})
        for name in where:
            if name not in t.columns:
                raise StoreError(f"{table} has no field {name!r}")
        many = [n for n, v in where.items() if isinstance(v, (list, tuple, set, frozenset))]
        if many:  # "one of": chunks of at most _IN_CHUNK values, in insertion order within each
            name = many[0]
            rest = {k: v for k, v in where.items() if k != name}
            for part in chunks(sorted(dict.fromkeys(where[name]), key=str), _IN_CHUNK):
                yield from self._scan_rows(t, {**rest, name: part})
            return
        yield from self._scan_rows(t, where)

    def _scan_rows(self, t: _Table, where: dict[str, Any]) -> Iterator[Record]:
        sql, params = t.select, []
        clauses = []
        for n, v in where.items():
            if isinstance(v, list):
                clauses.append(f"{_quote(n)} IN ({', '.join('?' * len(v))})")
                params.extend(v)
            elif isinstance(v, (tuple, set, frozenset)):
                vals = sorted(v, key=str)
                clauses.append(f"{_quote(n)} IN ({', '.join('?' * len(vals))})")
                params.extend(vals)
            else:
                clauses.append(f"{_quote(n)} IS ?")
                params.append(v)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY rowid"
        # a separate cursor streams rows without holding the whole table in memory
        with self._db_lock:
            cur = self._db.cursor()
            cur.execute(sql, params)
        try:
            while True:
                with self._db_lock:
                    rows = cur.fetchmany(10000)
                if not rows:
                    break
                for row in rows:
                    yield t.record(row)
        finally:
            cur.close()

    def columns(self, table: str, fields: Sequence[str]) -> list[tuple[Any, ...]]:
        return [r for part in self.column_pages(table, fields, page=1 << 62) for r in part]  # one read

    def column_pages(self, table: str, fields: Sequence[str],
                     page: int = COLUMN_PAGE) -> Iterator[list[tuple[Any, ...]]]:
        t = _TABLES[record_type(table).table]
        require_fields(table, t.columns, fields)
        bools = [i + 1 for i, f in enumerate(fields) if t.types[t.columns.index(f)] == "bool"]
        sql = (f"SELECT rowid, {', '.join(_quote(f) for f in fields)} FROM {_quote(t.name)} WHERE rowid > ? "
               f"ORDER BY rowid LIMIT ?")
        after = -(1 << 62)
        while True:
            rows = self._query(sql, (after, page))
            if not rows:
                return
            after = rows[-1][0]
            if bools:
                yield [tuple(bool(v) if i in bools and v is not None else v for i, v in enumerate(r) if i)
                       for r in rows]
            else:
                yield [r[1:] for r in rows]
            if len(rows) < page:
                return

    def counts(self) -> dict[str, int]:
        return {name: self._query(f"SELECT count(*) FROM {_quote(name)}")[0][0] for name in _TABLES}

    def _largest(self, table: str, field: str) -> Any:
        # one MAX per query: SQLite answers a lone MAX of an indexed column from the index
        return self._query(f"SELECT MAX({_quote(field)}) FROM {_quote(table)}")[0][0]

    def resolve_many(self, identifiers: Iterable[str]) -> dict[str, str]:
        forms: dict[str, list[str]] = {i: lookup_forms(i) for i in identifiers}
        every = {f for fs in forms.values() for f in fs}
        known: dict[str, str] = {}
        for part in chunks(every, _IN_CHUNK):
            marks = ", ".join("?" * len(part))
            for alias, canonical in self._query(f"SELECT id, canonical_id FROM alias WHERE id IN ({marks})", part):
                known[alias] = canonical
        # the entity tables, the three most looked up first: a form found nowhere (a lot number as written, a name)
        # costs two statements, where one per table was 26 round trips
        for tables in _ENTITY_GROUPS:
            missing = every - known.keys()
            for part in chunks(missing, _IN_CHUNK):
                for (found,) in self._query(_entity_ids_sql(tables, len(part)), part):
                    known[found] = found
        return first_known(forms, known)

    def aliases_of(self, ids: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for part in chunks(dict.fromkeys(ids), _IN_CHUNK):
            marks = ", ".join("?" * len(part))
            for alias, canonical in self._query(
                    f"SELECT id, canonical_id FROM alias WHERE canonical_id IN ({marks}) ORDER BY id", part):
                if alias != canonical:
                    out[canonical].append(alias)
        return dict(out)

    def _filtered(self, table: str, filters: dict[str, Iterable[str] | None], live_sql: str,
                  extra: tuple[str, list[Any]] | None = None) -> list[Record]:
        t = _TABLES[table]
        plan = plan_filters(filters)
        if plan is None:
            return []
        active, keys = plan
        results: dict[str, Record] = {}
        first = keys[0] if keys else None
        parts = chunks(active[first], _IN_CHUNK) if first else [None]
        for part in parts:
            clauses, params = [], []
            for k in keys:
                vals = part if k == first else active[k]
                # a lot has few deliveries, a station many: with lots given, only the lot index is used (SQLite
                # would otherwise pick a station's index and read all of its deliveries); "+" turns an index off
                off = "+" if "lot_id" in active and k != "lot_id" else ""
                clauses.append(f"{off}{_quote(k)} IN ({', '.join('?' * len(vals))})")
                params.extend(vals)
            if live_sql:
                clauses.append(live_sql)
            if extra is not None:
                clauses.append(("+" if "lot_id" in active else "") + extra[0])
                params.extend(extra[1])
            sql = t.select + (" WHERE " + " AND ".join(clauses) if clauses else "")
            for row in self._query(sql, params):
                results[row[0]] = t.record(row)
        return sorted(results.values(), key=lambda r: r.id)

    def deliveries(self, *, lot_ids: Iterable[str] | None = None, sender_ids: Iterable[str] | None = None,
                   receiver_ids: Iterable[str] | None = None, include_retracted: bool = False,
                   time_range: tuple[str, str] | None = None) -> list[Delivery]:
        live = "" if include_retracted else (
            "(event_id IS NULL OR NOT EXISTS (SELECT 1 FROM retraction r WHERE r.event_id = delivery.event_id))")
        extra = None if time_range is None else ('"time" BETWEEN ? AND ?', [time_range[0], time_range[1]])
        return self._filtered("delivery", {"lot_id": lot_ids, "sender_id": sender_ids,
                                           "receiver_id": receiver_ids}, live, extra)  # type: ignore[return-value]

    def transformation_items(self, *, lot_ids: Iterable[str] | None = None,
                             transformation_ids: Iterable[str] | None = None,
                             include_retracted: bool = False) -> list[TransformationItem]:
        live = "" if include_retracted else (
            "NOT EXISTS (SELECT 1 FROM \"transformation\" t JOIN retraction r ON r.event_id = t.event_id "
            "WHERE t.id = transformation_item.transformation_id)")
        return self._filtered("transformation_item", {"lot_id": lot_ids, "transformation_id": transformation_ids},
                              live)  # type: ignore[return-value]

    def retracted_events(self) -> set[str]:
        return {r[0] for r in self._query("SELECT event_id FROM retraction")}

    def change_seq(self) -> int | None:
        rows = self._query(f"SELECT max(seq) FROM {_CHANGE_LOG}")
        return rows[0][0] or 0

    def last_batch(self) -> int | None:
        return self._query(f"SELECT max(id) FROM {_BATCH_TABLE}")[0][0] or 0

    def changes_since(self, seq: int, limit: int = 100_000) -> list[tuple[int, str | None]]:
        return [(r[0], r[1]) for r in self._query(
            f"SELECT seq, lot_id FROM {_CHANGE_LOG} WHERE seq > ? ORDER BY seq LIMIT ?", [seq, limit])]

    def clear(self) -> None:
        """Delete every record, with the batches and versions (tests, a demo store made again); the change
        log is told that anything may have changed (its numbers go on)."""
        with self._write_lock, self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(f"UPDATE {_CHANGE_CONTROL} SET bulk = 1 WHERE id = 1")
                self._db.execute(f"UPDATE {_HISTORY_CONTROL} SET skip = 1 WHERE id = 1")
                for name in _TABLES:
                    self._db.execute(f"DELETE FROM {_quote(name)}")
                self._db.execute(f"DELETE FROM {_VERSION}")
                self._db.execute(f"DELETE FROM {_BATCH_TABLE}")
                self._db.execute(f"UPDATE {_HISTORY_CONTROL} SET skip = 0 WHERE id = 1")
                self._db.execute(f"UPDATE {_CHANGE_CONTROL} SET bulk = 0 WHERE id = 1")
                self._db.execute(f"INSERT INTO {_CHANGE_LOG}(lot_id) VALUES (NULL)")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def prune_changes(self, keep: int, upto: int | None = None) -> int:
        with self._write_lock, self._db_lock:
            top = self._db.execute(f"SELECT max(seq) FROM {_CHANGE_LOG}").fetchone()[0] or 0
            cut = top - keep if upto is None else min(top - keep, upto)
            # the latest row always stays: seq is the rowid, which must never go back
            cur = self._db.execute(f"DELETE FROM {_CHANGE_LOG} WHERE seq <= ? AND seq < ?", (cut, top))
            return max(cur.rowcount, 0)

    # -- batches, versions, edits ---------------------------------------------------------------

    def batches(self, ids: Iterable[int] | None = None, *, digest: str | None = None) -> dict[int, Batch]:
        sql = (f"SELECT id, time, kind, actor, source, digest, reason, tag, received, changed FROM {_BATCH_TABLE}")
        if digest is not None:
            rows = self._query(sql + " WHERE digest = ? ORDER BY id", [digest])
        elif ids is None:
            rows = self._query(sql + " ORDER BY id")
        else:
            rows = []
            for part in chunks(sorted({int(i) for i in ids}), _IN_CHUNK):
                rows += self._query(sql + f" WHERE id IN ({', '.join('?' * len(part))}) ORDER BY id", part)
        return {r[0]: Batch(*r) for r in rows}

    def versions(self, ids: Iterable[str]) -> list[Version]:
        out = []
        for part in chunks(dict.fromkeys(ids), _IN_CHUNK):
            out += self._query(f"SELECT seq, tbl, rid, op, batch, reason, body FROM {_VERSION} "
                               f"WHERE rid IN ({', '.join('?' * len(part))})", part)
        return [Version(r[0], r[1], r[2], r[3], r[4], r[5], _values(r[1], r[6])) for r in sorted(out)]

    def sources(self, table: str, ids: Iterable[str]) -> dict[str, list[int]]:
        name = _TABLES[record_type(table).table].name
        out: dict[str, list[int]] = {}
        for part in chunks(dict.fromkeys(ids), _IN_CHUNK):
            for rid, src in self._query(f"SELECT id, {_SRC} FROM {_quote(name)} WHERE id IN "
                                        f"({', '.join('?' * len(part))}) AND {_SRC} IS NOT NULL", part):
                tags = [int(t) for t in src.split(",") if t]
                if tags:
                    out[rid] = tags
        return out

    def _stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        """The rows of ``sql`` read 10,000 at a time (the lock held per page, not for the whole read)."""
        with self._db_lock:
            cur = self._db.cursor()
            cur.execute(sql)
        try:
            while True:
                with self._db_lock:
                    rows = cur.fetchmany(10000)
                if not rows:
                    return
                yield from rows
        finally:
            cur.close()

    def dump(self, table: str) -> Iterator[tuple[Record, list[int]]]:
        t = _TABLES[record_type(table).table]
        for row in self._stream(f"SELECT {', '.join(_quote(c) for c in t.columns)}, {_SRC} FROM {_quote(t.name)} "
                                "ORDER BY rowid"):
            src = row[-1]
            yield t.record(row[:-1]), ([int(x) for x in src.split(",") if x] if src else [])

    def dump_versions(self) -> Iterator[Version]:
        for r in self._stream(f"SELECT seq, tbl, rid, op, batch, reason, body FROM {_VERSION} ORDER BY seq"):
            yield Version(r[0], r[1], r[2], r[3], r[4], r[5], _values(r[1], r[6]))

    @contextmanager
    def edit(self, context: WriteContext, *, bulk: bool = False) -> Iterator["_Editor"]:
        with self._write_lock:
            with self._db_lock:
                self._db.execute("BEGIN IMMEDIATE")
            try:
                with self._db_lock:
                    batch, _ = self._begin_batch(context)
                    if bulk:
                        self._db.execute(f"UPDATE {_CHANGE_CONTROL} SET bulk = 1 WHERE id = 1")
                ed = _Editor(self, batch, context)
                yield ed
                with self._db_lock:
                    if bulk:
                        self._db.execute(f"INSERT INTO {_CHANGE_LOG}(lot_id) VALUES (NULL)")
                        self._db.execute(f"UPDATE {_CHANGE_CONTROL} SET bulk = 0 WHERE id = 1")
                    self._db.execute(f"UPDATE {_BATCH_TABLE} SET changed = ? WHERE id = ?", (ed.changed, batch))
                    self._db.execute("COMMIT")
            except BaseException:
                with self._db_lock:
                    self._db.execute("ROLLBACK")
                raise

    def backup_to(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        target = Path(path)
        target.unlink(missing_ok=True)
        dst = sqlite3.connect(target)
        try:
            # one step (pages=-1): the whole copy is one read transaction of a consistent snapshot; writers
            # of other connections go on appending to the write-ahead log meanwhile
            src = sqlite3.connect(self.path, timeout=60)
            try:
                src.backup(dst, pages=-1)
            finally:
                src.close()
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file (no -wal beside it)
            counts = {name: dst.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0] for name in _TABLES}
            seq = dst.execute(f"SELECT max(seq) FROM {_CHANGE_LOG}").fetchone()[0] or 0
            batches = dst.execute(f"SELECT count(*), max(id) FROM {_BATCH_TABLE}").fetchone()
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
        if check != "ok":
            raise StoreError(f"the backup copy of {self.path} fails SQLite's check: {check}")
        return {"format": "sqlite", "counts": counts, "change_seq": seq, "batches": batches[0],
                "last_batch": batches[1]}

    def restore_from(self, path: str | os.PathLike[str], context: WriteContext) -> dict[str, Any]:
        source = Path(path)
        try:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            check = src.execute("PRAGMA quick_check").fetchone()[0]
            version = src.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{source} is not an embedded-store backup: {e}") from None
        if check != "ok" or version not in (SCHEMA_VERSION,):
            src.close()
            raise StoreError(f"{source} is not a usable backup (check: {check}, schema version {version})")
        try:
            with self._write_lock, self._db_lock:
                before = self._db.execute(f"SELECT max(seq) FROM {_CHANGE_LOG}").fetchone()[0] or 0
                last_batch = self._db.execute(f"SELECT max(id) FROM {_BATCH_TABLE}").fetchone()[0] or 0
                # the backup API replaces the whole file in one write transaction: other connections see
                # the old content or the new one
                src.backup(self._db, pages=-1)
        finally:
            src.close()
        self._init_schema()  # a backup made by an older foodtrace gets what is missing
        with self._write_lock, self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                after = self._db.execute(f"SELECT max(seq) FROM {_CHANGE_LOG}").fetchone()[0] or 0
                self._db.execute(f"INSERT INTO {_CHANGE_LOG}(seq, lot_id) VALUES (?, NULL)", (max(before, after) + 1,))
                batch, _ = self._begin_batch(context, at_least=last_batch)  # batch numbers never repeat
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return {"batch": batch, "counts": self.counts(), "change_seq": self.change_seq()}

    def size_bytes(self) -> int:
        """Bytes on disk (database plus write-ahead log)."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    def close(self) -> None:
        with self._write_lock, self._db_lock:
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
            try:
                self._db.close()
                if self._reader is not None:
                    self._reader.close()
            except sqlite3.Error:
                pass


class _Tail(BulkLoad):
    """A bulk load of the embedded store: at its tail, the deferred indexes are built beside the last writes."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def tail(self, works: Sequence[float] = ()) -> None:
        self.store._index_during_writes(works)


def _values(table: str, body: str) -> dict[str, Any]:
    """A version's values as record fields (booleans restored)."""
    return to_dict(record_from_values(table, json.loads(body)))


class _Editor:
    """The :class:`graph.versions.Editor` primitives inside one transaction of the embedded store.

    Each UPDATE or DELETE fires the version triggers (the previous values, under this batch and the
    reason set for it) and the change-log triggers.
    """

    def __init__(self, store: SQLiteStore, batch: int, context: WriteContext):
        self.store = store
        self.batch = batch
        self.context = context
        self.changed = 0
        self._reason: Any = object()

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self.store._db_lock:
            return self.store._db.execute(sql, tuple(params))

    def _set_reason(self, reason: str | None) -> None:
        if reason != self._reason:
            self._exec(f"UPDATE {_HISTORY_CONTROL} SET reason = ? WHERE id = 1", [reason])
            self._reason = reason

    def _table(self, table: str) -> _Table:
        return _TABLES[record_type(table).table]

    def get_many(self, table: str, ids: Iterable[str]) -> dict[str, Record]:
        return self.store.get_many(table, ids)

    def find(self, table: str, field: str, value: str) -> list[str]:
        t = self._table(table)
        if field not in t.columns:
            raise StoreError(f"{table} has no field {field!r}")
        return [r[0] for r in self.store._query(f"SELECT id FROM {_quote(t.name)} WHERE {_quote(field)} = ?",
                                                [value])]

    def tagged(self, table: str, tag: int) -> list[str]:
        t = self._table(table)
        return [r[0] for r in self.store._query(f"SELECT id FROM {_quote(t.name)} WHERE instr({_SRC}, ?) > 0",
                                                [f",{int(tag)},"])]

    def sources(self, table: str, ids: Iterable[str]) -> dict[str, list[int]]:
        return self.store.sources(table, ids)

    def set_sources(self, table: str, id: str, tags: list[int]) -> None:
        text = ("," + ",".join(str(t) for t in tags) + ",") if tags else None
        self._exec(f"UPDATE {_quote(self._table(table).name)} SET {_SRC} = ? WHERE id = ?", [text, id])

    def update(self, table: str, id: str, values: Mapping[str, Any], reason: str | None = None) -> None:
        t = self._table(table)
        bad = [k for k in values if k not in t.columns]
        if bad:
            raise StoreError(f"{table} has no field {bad[0]!r}")
        self._set_reason(reason)
        sets = ", ".join(f"{_quote(k)} = ?" for k in values)
        try:
            cur = self._exec(f"UPDATE {_quote(t.name)} SET {sets} WHERE id = ?", [*values.values(), id])
        except sqlite3.IntegrityError as e:
            raise StoreError(f"{table} {id} cannot be changed: {e}") from None
        self.changed += max(cur.rowcount, 0)

    def insert(self, records: Iterable[Record]) -> None:
        for rec in records:
            t = _TABLES[rec.table]
            try:
                self._exec(t.insert, t.row(rec))
            except sqlite3.IntegrityError as e:
                raise StoreError(f"{rec.table} {rec.id} cannot be inserted: {e}") from None
            self.changed += 1

    def delete(self, table: str, ids: Iterable[str], reason: str | None = None) -> None:
        t = self._table(table)
        self._set_reason(reason)
        for part in chunks(dict.fromkeys(ids), _IN_CHUNK):
            cur = self._exec(f"DELETE FROM {_quote(t.name)} WHERE id IN ({', '.join('?' * len(part))})", part)
            self.changed += max(cur.rowcount, 0)

    def versions(self, ids: Iterable[str]) -> list[Version]:
        return self.store.versions(ids)

    def batches(self, ids: Iterable[int] | None) -> dict[int, Batch]:
        return self.store.batches(ids)

    def rewrite_versions(self, ids: Iterable[str], fn: Any, new_id: str | None = None) -> None:
        for v in self.store.versions(ids):
            values = fn(v)
            if values is None:
                self._exec(f"DELETE FROM {_VERSION} WHERE seq = ?", [v.seq])
            else:
                self._exec(f"UPDATE {_VERSION} SET body = ?, rid = ? WHERE seq = ?",
                           [json.dumps(values, ensure_ascii=False), new_id or v.id, v.seq])


#: tables whose ids are entities a user may look up
_ENTITY_TABLES = ("lot", "operator", "product", "delivery", "sample", "trace_code", "certificate", "ticket",
                  "transformation", "event", "region", "case", "inspection", "complaint", "credit_record",
                  "disposal_case", "handling_step", "evidence_file", "school_alert", "chef", "banquet",
                  "banquet_guidance", "major_event", "kitchen_camera",
                  "kitchen_day", "kitchen_problem")
#: the entity tables probed together by resolve_many: the three most looked up, then the rest
_ENTITY_GROUPS = (_ENTITY_TABLES[:3], _ENTITY_TABLES[3:])


@lru_cache(maxsize=64)
def _entity_ids_sql(tables: tuple[str, ...], n: int) -> str:
    """The ids among ``n`` parameters (?1 .. ?n) that name a record of one of ``tables``, in one statement (each
    table's id index probed for the same parameters); for :meth:`SQLiteStore.resolve_many` and
    :meth:`SQLiteStore.stored_ids`."""
    marks = ", ".join(f"?{k}" for k in range(1, n + 1))
    return " UNION ALL ".join(f"SELECT id FROM {_quote(t)} WHERE id IN ({marks})" for t in tables)
