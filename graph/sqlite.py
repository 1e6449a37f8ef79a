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
import operator
import queue
import os
import sqlite3
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ontology.errors import StoreError, StoreUnavailable
from ontology.identifiers import lookup_forms
from ontology.records import RECORD_TYPES, Delivery, Record, TransformationItem, record_fields, record_type

from .store import (CHANGE_ANY_LOT, CHANGE_LOT_FIELD, CHANGE_VIA_ITEMS, CHANGE_VIA_SAMPLE, Store, WriteStats, chunks,
                    first_known, plan_filters, require_fields)

__all__ = ["SQLiteStore", "sqlite_path"]

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
_BATCH = 5000
#: SQLite's limit on host parameters is 32766; stay well below
_IN_CHUNK = 900


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
        q = _quote(self.name)
        cols = ", ".join(_quote(c) for c in self.columns)
        marks = ", ".join("?" for _ in self.columns)
        rest = [c for c in self.columns if c != "id"]
        sets = ", ".join(f"{_quote(c)} = coalesce(excluded.{_quote(c)}, {_quote(c)})" for c in rest)
        differs = " OR ".join(f"(excluded.{_quote(c)} IS NOT NULL AND excluded.{_quote(c)} IS NOT {_quote(c)})"
                              for c in rest) or "0"
        tail = " ON CONFLICT DO NOTHING" if rtype.unique else ""
        self.upsert = (f"INSERT INTO {q} ({cols}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {sets} "
                       f"WHERE {differs}{tail}")
        self.select = f"SELECT {cols} FROM {q}"
        coldefs = ", ".join(
            f"{_quote(c)} {_SQL_TYPES[t]}" + (" PRIMARY KEY NOT NULL" if c == "id" else "")
            for c, t in zip(self.columns, self.types))
        self.ddl = [f"CREATE TABLE IF NOT EXISTS {q} ({coldefs})"]
        for c in self.columns:
            if c == "id":
                continue
            if c in rtype.unique:
                self.ddl.append(f"CREATE UNIQUE INDEX IF NOT EXISTS {_quote(f'ux_{self.name}_{c}')} ON {q} ({_quote(c)})")
            elif (c.endswith("_id") or c in _INDEXED) and (self.name, c) not in _UNINDEXED:
                self.ddl.append(f"CREATE INDEX IF NOT EXISTS {_quote(f'ix_{self.name}_{c}')} ON {q} ({_quote(c)})")
        for c in _BY_TIME.get(self.name, ()):  # a station's deliveries within a time window (trace inference)
            self.ddl.append(f"CREATE INDEX IF NOT EXISTS {_quote(f'ix_{self.name}_{c}_time')} ON {q} "
                            f"({_quote(c)}, \"time\")")

    def row(self, rec: Record) -> tuple[Any, ...]:
        values = self.getter(rec)
        return values if isinstance(values, tuple) else (values,)

    def record(self, row: tuple[Any, ...]) -> Record:
        if self.bool_idx:
            row = list(row)
            for i in self.bool_idx:
                if row[i] is not None:
                    row[i] = bool(row[i])
        return self.rtype(*row)


_TABLES = {t.table: _Table(t) for t in RECORD_TYPES}
_INDEX_NAMES = {stmt.split('"')[1] for t in _TABLES.values() for stmt in t.ddl if stmt.startswith("CREATE") and " INDEX " in stmt}

# -- the change log ----------------------------------------------------------------------------
# Triggers append one row per inserted or changed record that bears on what can be published about a
# lot: the lot it concerns, or NULL ("anything may have changed") for records that are not tied to one
# lot (operators, products, regions, retractions, certificates or samples without a lot). A write that
# changes nothing fires nothing (the upsert's UPDATE only runs when a value differs). Readers that keep
# derived views (the service's public lookups) follow it with change_seq() / changes_since().
# seq is the rowid (no AUTOINCREMENT: that costs a sqlite_sequence update per row); rows are never
# deleted, so it only grows. A write of more than _BULK_RECORDS records (a bulk load) switches the
# per-record rows off inside its transaction and logs one NULL row instead: per-record logging made
# writing 200,000 deliveries ~40 % slower.
_CHANGE_LOG = "_change_log"
#: the SQL naming the lot a changed row concerns, per table (graph.store's CHANGE_* tables); None: its items' lots
_CHANGE_LOT_OF: dict[str, str | None] = {
    **{t: f"NEW.{_quote(f)}" for t, f in CHANGE_LOT_FIELD.items()},
    CHANGE_VIA_SAMPLE: "(SELECT s.lot_id FROM sample s WHERE s.id = NEW.sample_id)",
    CHANGE_VIA_ITEMS: None,
    **{t: "NULL" for t in sorted(CHANGE_ANY_LOT)},
}


#: a write of more records than this logs one "anything may have changed" row instead of one per record
#: (a bulk load; the service's public read model treats more than 20,000 changed lots as everything anyway)
_BULK_RECORDS = 20_000
_CHANGE_CONTROL = "_change_control"


def _change_ddl() -> list[str]:
    out = [f'CREATE TABLE IF NOT EXISTS {_CHANGE_LOG} (seq INTEGER PRIMARY KEY, lot_id TEXT)',
           # bulk = 1 only inside a bulk write's transaction (never visible committed)
           f"CREATE TABLE IF NOT EXISTS {_CHANGE_CONTROL} (id INTEGER PRIMARY KEY CHECK (id = 1), bulk INTEGER NOT NULL)",
           f"INSERT OR IGNORE INTO {_CHANGE_CONTROL}(id, bulk) VALUES (1, 0)"]
    for table, expr in _CHANGE_LOT_OF.items():
        if expr is None:
            body = (f"INSERT INTO {_CHANGE_LOG}(lot_id) SELECT lot_id FROM transformation_item "
                    f"WHERE transformation_id = NEW.id;")
        else:
            body = f"INSERT INTO {_CHANGE_LOG}(lot_id) VALUES ({expr});"
        for op in ("INSERT", "UPDATE"):
            out.append(f'DROP TRIGGER IF EXISTS "tr_{table}_{op.lower()}"')  # the first version, unconditional
            out.append(f'CREATE TRIGGER IF NOT EXISTS "trc_{table}_{op.lower()}" AFTER {op} ON {_quote(table)} '
                       f"WHEN (SELECT bulk FROM {_CHANGE_CONTROL} WHERE id = 1) = 0 BEGIN {body} END")
    return out


_CHANGE_DDL = _change_ddl()
_TRIGGER_NAMES = {stmt.split('"')[1] for stmt in _CHANGE_DDL if " TRIGGER " in stmt}


class SQLiteStore(Store):
    """The embedded store in one SQLite file (created if missing)."""

    name = "sqlite"
    local_reads = True

    def __init__(self, url: str | os.PathLike[str], options: Mapping[str, Any] | None = None):
        self.url = os.fspath(url)
        self.path = sqlite_path(self.url)
        # _write_lock: one write at a time; _db_lock: one statement at a time on the connection (the
        # writer thread and the thread iterating the records, which may read the store, share it)
        self._write_lock = threading.Lock()
        self._db_lock = threading.Lock()
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=60000")
            self._db.execute("PRAGMA cache_size=-262144")
            # reads map the file instead of copying pages (a large store served to many readers)
            self._db.execute("PRAGMA mmap_size=4294967296")
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
            if have >= _TABLES.keys() and have >= _INDEX_NAMES and have >= _TRIGGER_NAMES \
                    and not self._missing_columns():
                return  # an index added since the file was made is created below (CREATE ... IF NOT EXISTS)
        if version not in (0, SCHEMA_VERSION):
            raise StoreUnavailable(f"{self.path} has schema version {version}; this foodtrace reads {SCHEMA_VERSION}")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for t in _TABLES.values():
                for stmt in t.ddl:
                    if stmt.startswith("CREATE TABLE"):
                        self._db.execute(stmt)
            # a field added to a record type since the file was made gets its column (empty in old rows)
            for table, column, sql_type in self._missing_columns():
                self._db.execute(f"ALTER TABLE {_quote(table)} ADD COLUMN {_quote(column)} {sql_type}")
            for t in _TABLES.values():
                for stmt in t.ddl:
                    if not stmt.startswith("CREATE TABLE"):
                        self._db.execute(stmt)
            for stmt in _CHANGE_DDL:
                self._db.execute(stmt)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _missing_columns(self) -> list[tuple[str, str, str]]:
        """(table, column, SQL type) of record fields that an existing table lacks."""
        out = []
        for name, t in _TABLES.items():
            have = {r[1] for r in self._db.execute(f"PRAGMA table_info({_quote(name)})")}
            if have:
                out.extend((name, c, _SQL_TYPES[ty]) for c, ty in zip(t.columns, t.types) if c not in have)
        return out

    # -- writing ---------------------------------------------------------------------------

    def write(self, records: Iterable[Record], *, progress: Any = None) -> WriteStats:
        # the cyclic garbage collector is paused while a batch is built and written: a load makes millions
        # of acyclic rows (and, through the records iterator, parsed documents) that it would scan again and again
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._write(records, progress)
        finally:
            if was_enabled:
                gc.enable()

    def _write(self, records: Iterable[Record], progress: Any) -> WriteStats:
        """Build row batches on this thread while a writer thread executes them, in one transaction.

        SQLite does its B-tree and index work without holding the GIL, so writing one
        batch overlaps with parsing and building the next (the records iterator is
        usually a loader parsing a file). Batches are executed in the order they were
        built, so the result is the same as writing them one after the other.
        """
        stats = WriteStats()
        buffers: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        done = 0
        batches: queue.Queue = queue.Queue(maxsize=4)
        failure: list[BaseException] = []

        def writer() -> None:
            while True:
                item = batches.get()
                if item is None:
                    return
                if failure:
                    continue  # drain: the transaction will be rolled back
                try:
                    self._flush(item[0], item[1], stats)
                except BaseException as e:  # handed to the building thread, which raises it
                    failure.append(e)

        with self._write_lock:
            with self._db_lock:
                self._db.execute("BEGIN IMMEDIATE")
            thread = threading.Thread(target=writer, name="foodtrace-sqlite-writer", daemon=True)
            thread.start()
            stopped = False
            try:
                bulk = False
                for rec in records:
                    table = _TABLES[rec.table]
                    buf = buffers[rec.table]
                    buf.append(table.row(rec))
                    if len(buf) >= _BATCH:
                        if failure:
                            raise failure[0]
                        if not bulk and done + len(buf) > _BULK_RECORDS:
                            bulk = True
                            batches.put((None, f"UPDATE {_CHANGE_CONTROL} SET bulk = 1 WHERE id = 1"))
                        batches.put((table, buf))
                        buffers[rec.table] = []
                        done += len(buf)
                        if progress is not None:
                            progress(done)
                for name, buf in buffers.items():
                    if buf:
                        batches.put((_TABLES[name], buf))
                        done += len(buf)
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
                    self._db.execute("COMMIT")
            except BaseException:
                if not stopped:
                    batches.put(None)
                thread.join()
                with self._db_lock:
                    self._db.execute("ROLLBACK")
                raise
        return stats

    def _flush(self, table: _Table | None, rows: Any, stats: WriteStats) -> None:
        if table is None:  # a change-log control statement, in the write's transaction
            with self._db_lock:
                self._db.execute(rows)
            return
        with self._db_lock:
            try:
                # rowcount counts the rows the statement itself changed (total_changes would add the
                # change-log rows the triggers write)
                changed = self._db.executemany(table.upsert, rows).rowcount
            except sqlite3.Error as e:
                raise StoreError(f"writing {table.name} records failed: {e}") from None
        stats.received[table.name] = stats.received.get(table.name, 0) + len(rows)
        stats.changed[table.name] = stats.changed.get(table.name, 0) + max(changed, 0)

    # -- reading ---------------------------------------------------------------------------

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._db_lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def get_many(self, table: str, ids: Iterable[str]) -> dict[str, Record]:
        t = _TABLES[record_type(table).table]
        out: dict[str, Record] = {}
        for part in chunks(dict.fromkeys(ids), _IN_CHUNK):
            sql = f"{t.select} WHERE id IN ({', '.join('?' * len(part))})"
            for row in self._query(sql, part):
                out[row[0]] = t.record(row)
        return out

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
        t = _TABLES[record_type(table).table]
        require_fields(table, t.columns, fields)
        bools = [i for i, f in enumerate(fields) if t.types[t.columns.index(f)] == "bool"]
        rows = self._query(f"SELECT {', '.join(_quote(f) for f in fields)} FROM {_quote(t.name)} ORDER BY rowid")
        if bools:
            rows = [tuple(bool(v) if i in bools and v is not None else v for i, v in enumerate(r)) for r in rows]
        return rows

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
        missing = every - known.keys()
        if missing:
            for name in _ENTITY_TABLES:
                for part in chunks(missing, _IN_CHUNK):
                    marks = ", ".join("?" * len(part))
                    for (found,) in self._query(f"SELECT id FROM {_quote(name)} WHERE id IN ({marks})", part):
                        known[found] = found
                missing = every - known.keys()
                if not missing:
                    break
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

    def changes_since(self, seq: int, limit: int = 100_000) -> list[tuple[int, str | None]]:
        return [(r[0], r[1]) for r in self._query(
            f"SELECT seq, lot_id FROM {_CHANGE_LOG} WHERE seq > ? ORDER BY seq LIMIT ?", [seq, limit])]

    def clear(self) -> None:
        with self._write_lock, self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for name in _TABLES:
                    self._db.execute(f"DELETE FROM {_quote(name)}")
                self._db.execute(f"INSERT INTO {_CHANGE_LOG}(lot_id) VALUES (NULL)")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

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
            try:
                self._db.close()
            except sqlite3.Error:
                pass


#: tables whose ids are entities a user may look up
_ENTITY_TABLES = ("lot", "operator", "product", "delivery", "sample", "trace_code", "certificate", "ticket",
                  "transformation", "event", "region", "case", "inspection", "complaint", "credit_record",
                  "disposal_case", "handling_step", "evidence_file", "school_alert", "chef", "banquet",
                  "banquet_guidance", "major_event", "kitchen_camera",
                  "kitchen_day", "kitchen_problem")
