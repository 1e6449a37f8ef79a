"""The Neo4j store: the same records, kept on a Neo4j 5 server, a cluster or Aura.

Chosen by a ``neo4j://``, ``neo4j+s://``, ``neo4j+ssc://``, ``bolt://``,
``bolt+s://`` or ``bolt+ssc://`` URL. User and password come from the URL
(``bolt://user:secret@host:7687``) or from ``NEO4J_USER`` / ``NEO4J_PASSWORD``;
with neither, the driver connects without authentication (the local test server
of ``scripts/neo4j/start.sh`` runs with authentication off). The database is the
``?database=`` query parameter, else ``NEO4J_DATABASE``, else the server's
default. The official ``neo4j`` driver is imported only when such a store is
opened.

Model
-----
Each record is one node labelled with its record class (``:Delivery``,
``:Lot``, ``:TransformationItem`` ...) whose properties are the record's fields;
empty (None) fields are not stored. References between records (``lot_id``,
``sender_id`` ...) are properties, indexed, not relationships: a traversal reads
a whole frontier with one ``UNWIND``/``IN $ids`` query per step, like the
embedded store. The first write creates, ``IF NOT EXISTS``, a uniqueness
constraint on ``id`` per label, a uniqueness constraint on ``Event.hash``, an
index on ``_seq`` per label, and range indexes on the fields the reads look up
(``Delivery`` lot, sender and receiver; ``TransformationItem`` lot and
transformation; ``Alias.canonical_id``; ``Retraction.event_id``) and no more:
every index costs each write about what a stored property costs. It drops the
``ft_*`` indexes of earlier versions that no read uses. Each node also holds
``_seq``, its insertion number, so that :meth:`Neo4jStore.scan` returns records
in insertion order as SQLite does; ``(:FtMeta {id: "seq"})`` holds the counter.

Writes
------
:meth:`Neo4jStore.write` writes everything in ONE managed write transaction,
while it reads the iterator: it reads a block of 20,000 records, reads which of
them are stored (per record type, in chunks of 10,000 ids, returning the stored
properties only of the nodes that exist), diffs in Python, then sends ``UNWIND
$rows AS r CREATE (n:Label) SET n.f = r[0], ...`` for the new records (rows as
lists, only the columns some row of the chunk fills) and ``SET n += r`` for the
changed ones, without waiting: the server stores the block while this process
reads (parses) the next one. An exception from the iterator rolls the
transaction back, so nothing is written. The records read are kept, so that the
driver may replay the transaction: it retries on transient errors and on a lost
connection. Holding the records costs about what the records themselves cost.
Merging follows the embedded store exactly: non-empty fields replace, empty
ones keep; ``changed`` counts records that were new or really changed (the
n-th record with one id within a block is written after the (n-1)-th; a later
block reads what the earlier ones wrote); an Event (new, or stored and sent
again) whose ``hash`` another Event holds, stored or taken earlier in the batch,
is skipped, as SQLite's row-by-row upsert skips it (:class:`_UniqueValues`).

Speed: install ``neo4j-rust-ext`` (the driver's packing in Rust, same version
as ``neo4j``): it halves the client's share of a write.

Reads
-----
Each read is one auto-commit query (one network round trip) on a per-thread
session, retried for up to 30 s on errors the driver marks retryable; every
session shares one bookmark manager, so a read sees the writes made before it
also on a cluster. :meth:`Neo4jStore.resolve_many` is one query for all the
forms of all the identifiers; :meth:`Neo4jStore.deliveries` and
:meth:`Neo4jStore.transformation_items` one query per frontier (per 10,000 ids).

Values are stored with the types the embedded store gives back: ``float``
fields as floats, ``bool`` fields as booleans, text fields as strings.

>>> parse_url("bolt://neo:s%40cret@db.example:7688?database=trace").driver_uri
'bolt://db.example:7688'
>>> u = parse_url("neo4j+s://neo:s%40cret@db.example?database=trace")
>>> (u.user, u.password, u.database, u.shown)
('neo', 's@cret', 'trace', 'neo4j+s://neo:***@db.example?database=trace')
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from itertools import islice
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import parse_qs, unquote, urlsplit

from ontology.errors import StoreError, StoreUnavailable
from ontology.identifiers import lookup_forms
from ontology.records import (PLACEHOLDERS, RECORD_TYPES, Delivery, Record, TransformationItem, record_fields,
                              record_type, to_dict)
from ontology.times import now_iso

from .store import (COLUMN_PAGE, CHANGE_ANY_LOT, CHANGE_LOT_FIELD, CHANGE_VIA_ITEMS, CHANGE_VIA_SAMPLE, Store, WriteStats, chunks,
                    first_known, plan_filters, require_fields)
from .versions import Batch, Version, WriteContext, merge_changes, record_from_values

__all__ = ["Neo4jStore", "Neo4jURL", "parse_url", "SCHEMES"]

#: URL schemes this backend serves (the driver's own)
SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
#: indexed fields per table, besides ``id``, ``_seq`` and the unique fields: what the traversal reads
#: look up, and the identifiers, dates and codes an investigator's query starts from. Every index costs
#: each write about as much as a stored property, so nothing else is indexed.
_READ_INDEXES = {
    "delivery": ("lot_id", "sender_id", "receiver_id", "time"),  # deliveries(); time windows
    "transformation_item": ("lot_id", "transformation_id"),  # transformation_items()
    "alias": ("canonical_id",),  # aliases_of()
    "retraction": ("event_id",),  # the "not retracted" checks of deliveries() and transformation_items()
    "operator": ("uscc", "gln"),
    "product": ("gtin",),
    "lot": ("lot_number", "production_date"),
    "trace_code": ("code",),
    "certificate": ("number", "lot_id"),  # lot_id: the public lookup's certificates of a lot
    "ticket": ("number",),
    "sample": ("sampled_at", "lot_id", "batch"),  # lot_id, batch: the public lookup's samples of a lot
    "test_result": ("sample_id",),  # the public lookup's results of a sample
    "handling_step": ("subject_id",),  # the history of a disposal case or complaint
    "disposal_case": ("sample_id", "district_id"),  # a sample's case; a district's cases
    "school_alert": ("school_id", "sample_id", "district_id"),
    "banquet": ("district_id", "date", "chef_id"),  # a district's banquets; a chef's
    "banquet_guidance": ("banquet_id",),
    "kitchen_day": ("canteen_id", "date"),  # a canteen's days
    "kitchen_problem": ("canteen_id",),
    "kitchen_camera": ("canteen_id",),  # a school's, a sample's, a district's alerts
}
#: rows per UNWIND query
_CHUNK = 10000
#: records read from the iterator, then written, at a time (one write call is still one transaction)
_BLOCK = 20000
#: ids per read query
_ID_CHUNK = 10000
#: records per page of a scan
_PAGE = 5000
#: rows per page of a whole-table column read (columns())
_COLUMN_PAGE = 50_000
#: tables whose ids are entities a user may look up (same order as the embedded store)
_ENTITY_TABLES = ("lot", "operator", "product", "delivery", "sample", "trace_code", "certificate", "ticket",
                  "transformation", "event", "region", "case", "inspection", "complaint", "credit_record",
                  "disposal_case", "handling_step", "evidence_file", "school_alert", "chef", "banquet",
                  "banquet_guidance", "major_event", "kitchen_camera",
                  "kitchen_day", "kitchen_problem")


def _q(name: str) -> str:
    """A label or property name quoted for Cypher (names come from records.py only)."""
    return "`" + name.replace("`", "``") + "`"


# -- URL ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Neo4jURL:
    """A parsed store URL: what the driver needs, and the URL to show (password masked)."""

    driver_uri: str
    user: str | None
    password: str | None
    database: str | None
    shown: str


def parse_url(url: str, options: Mapping[str, Any] | None = None) -> Neo4jURL:
    """Split a Neo4j store URL into driver URI, credentials and database.

    Credentials missing from the URL come from ``options`` (``user``, ``password``),
    the database from ``?database=`` or ``options["database"]`` (the settings
    ``NEO4J_USER`` / ``NEO4J_PASSWORD`` / ``NEO4J_DATABASE``, read at the edges).

    >>> parse_url("bolt://127.0.0.1:7687").driver_uri
    'bolt://127.0.0.1:7687'
    >>> parse_url("http://x")
    Traceback (most recent call last):
    ...
    ontology.errors.StoreUnavailable: 'http://x' is not a Neo4j URL; use one of neo4j, neo4j+s, neo4j+ssc, bolt, bolt+s, bolt+ssc
    """
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise StoreUnavailable(f"bad Neo4j URL: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise StoreUnavailable(f"{url!r} is not a Neo4j URL; use one of {', '.join(SCHEMES)}")
    hostport = parts.netloc.rsplit("@", 1)[-1]
    if not hostport:
        raise StoreUnavailable(f"the Neo4j URL {url!r} names no host")
    given = options or {}
    user = unquote(parts.username) if parts.username else given.get("user") or None
    if parts.password is not None:
        password: str | None = unquote(parts.password)
    else:
        password = given.get("password") or None
    query = parse_qs(parts.query)
    database = (query.get("database") or [None])[-1] or given.get("database") or None
    shown_netloc = hostport
    if parts.username:
        shown_netloc = parts.username + (":***" if parts.password is not None else "") + "@" + hostport
    shown = f"{scheme}://{shown_netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")
    return Neo4jURL(f"{scheme}://{hostport}", user, password, database, shown)


# -- values -----------------------------------------------------------------------------------

def _looks_numeric(s: str) -> float | None:
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _coerce(kind: str, v: Any) -> Any:
    """A value as the embedded store gives it back (SQLite column affinity), None for "not stored".

    >>> _coerce("float", 3), _coerce("bool", 1), _coerce("str", 5), _coerce("str", True), _coerce("float", float("nan"))
    (3.0, True, '5', '1', None)
    """
    if v is None:
        return None
    if kind == "float":
        if isinstance(v, float):
            return None if math.isnan(v) else v
        if isinstance(v, (int, bool)):
            return float(v)
        if isinstance(v, str):
            n = _looks_numeric(v.strip())
            return n if n is not None else v
        return v
    if kind == "bool":
        if isinstance(v, str):
            n = _looks_numeric(v.strip())
            return bool(n) if n is not None else bool(v)
        return bool(v)
    if kind == "int":
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v
    # TEXT affinity: numbers become text
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return None if isinstance(v, float) and math.isnan(v) else str(v)
    return v


#: field types stored as given when the value is a string
_TEXT = frozenset(("str", "date", "datetime", "json"))


class _Label:
    """Pre-built Cypher for one record type."""

    def __init__(self, rtype: type[Record]):
        self.rtype = rtype
        self.table = rtype.table
        self.label = rtype.cls
        fields = record_fields(rtype)
        self.columns = [f.name for f in fields]
        self.kinds = {f.name: f.metadata["type"] for f in fields}
        L = _q(self.label)
        # a write reads the stored nodes of a chunk, compares in Python, then creates the new
        # nodes and updates the changed ones: no MERGE, no Eager, exact "changed" counts
        self._creates: dict[tuple[int, ...], str] = {}
        self.update = f"UNWIND $rows AS r MATCH (n:{L} {{id: r.id}}) SET n += r"
        #: for each unique field other than id, the queries telling which record holds each value, and the value
        #: each record holds
        self.holders = {u: f"UNWIND $vals AS v MATCH (n:{L} {{{_q(u)}: v}}) RETURN v, n.id AS id"
                        for u in rtype.unique}
        self.held = {u: f"UNWIND $ids AS x MATCH (n:{L} {{id: x}}) RETURN x, n.{_q(u)} AS v" for u in rtype.unique}
        self.by_ids = f"UNWIND $ids AS x MATCH (n:{L} {{id: x}}) RETURN properties(n) AS p"
        self.ids_only = f"MATCH (n:{L}) WHERE n.id IN $ids RETURN n.id AS id"
        #: records carrying placeholder marks merge by graph.versions.merge_changes
        self.placeholders = PLACEHOLDERS in self.columns
        #: a record already stored remembers one more source (only the hidden _src list changes)
        self.tag = f"UNWIND $ids AS x MATCH (n:{L} {{id: x}}) SET n._src = coalesce(n._src, []) + $tag"
        self.schema: list[tuple[str, str]] = [
            (f"ft_{self.table}_id", f"CREATE CONSTRAINT {_q(f'ft_{self.table}_id')} IF NOT EXISTS "
                                    f"FOR (n:{L}) REQUIRE n.id IS UNIQUE"),
            (f"ft_{self.table}__seq", f"CREATE INDEX {_q(f'ft_{self.table}__seq')} IF NOT EXISTS "
                                      f"FOR (n:{L}) ON (n._seq)"),
        ]
        for c in self.columns:
            if c == "id":
                continue
            name = f"ft_{self.table}_{c}"
            if c in rtype.unique:
                self.schema.append((name, f"CREATE CONSTRAINT {_q(name)} IF NOT EXISTS FOR (n:{L}) REQUIRE n.{_q(c)} IS UNIQUE"))
            elif c in _READ_INDEXES.get(self.table, ()):
                self.schema.append((name, f"CREATE INDEX {_q(name)} IF NOT EXISTS FOR (n:{L}) ON (n.{_q(c)})"))
        if self.table == "delivery":  # a station's deliveries within a time window (trace inference)
            for c in ("sender_id", "receiver_id"):
                name = f"ft_delivery_{c}_time"
                self.schema.append((name, f"CREATE INDEX {_q(name)} IF NOT EXISTS FOR (n:{L}) ON (n.{_q(c)}, n.time)"))

    def values(self, rec: Record) -> list[Any]:
        """The fields to store, in column order, typed as SQLite gives them back (None: not stored)."""
        out: list[Any] = []
        for c in self.columns:
            v = getattr(rec, c)
            if v is not None and not (isinstance(v, str) and self.kinds[c] in _TEXT):
                v = _coerce(self.kinds[c], v)
            out.append(v)
        return out

    def create(self, present: tuple[int, ...], src: bool = False) -> str:
        """The query creating nodes from rows ``[*values, _seq]`` (``[*values, _seq, _src]`` with ``src``)
        whose other columns are all None.

        Rows are lists, not maps (less to pack and to unpack); columns empty in every row of a
        chunk are left out of the query (a handful of query shapes per label, each planned once).
        """
        key = (*present, -1) if src else present
        q = self._creates.get(key)
        if q is None:
            sets = [f"n.{_q(self.columns[i])} = r[{i}]" for i in present]
            sets.append(f"n._seq = r[{len(self.columns)}]")
            if src:
                sets.append(f"n._src = r[{len(self.columns) + 1}]")
            q = self._creates[key] = f"UNWIND $rows AS r CREATE (n:{_q(self.label)}) SET {', '.join(sets)}"
        return q

    def record(self, props: Mapping[str, Any]) -> Record:
        return self.rtype(*[props.get(c) for c in self.columns])


_LABELS = {t.table: _Label(t) for t in RECORD_TYPES}
#: the aliases and entity ids among $ids, in one round trip
_RESOLVE = " UNION ALL ".join(
    ["UNWIND $ids AS x MATCH (a:Alias {id: x}) RETURN x AS id, a.canonical_id AS c, true AS alias"]
    + [f"UNWIND $ids AS x MATCH (:{_q(_LABELS[t].label)} {{id: x}}) RETURN x AS id, x AS c, false AS alias"
       for t in _ENTITY_TABLES])
_META_SCHEMA = ("ft_meta_id", "CREATE CONSTRAINT `ft_meta_id` IF NOT EXISTS FOR (m:FtMeta) REQUIRE m.id IS UNIQUE")
# batches and versions (graph.versions): (:FtBatch {id, time, kind, actor, source, digest, reason, tag, received,
# changed}) per write, (:FtVersion {seq, table, rid, op, batch, reason, body}) per previous version kept
_HISTORY_SCHEMA = [
    ("ft_batch_id", "CREATE CONSTRAINT `ft_batch_id` IF NOT EXISTS FOR (b:FtBatch) REQUIRE b.id IS UNIQUE"),
    ("ft_batch_digest", "CREATE INDEX `ft_batch_digest` IF NOT EXISTS FOR (b:FtBatch) ON (b.digest)"),
    ("ft_version_seq", "CREATE CONSTRAINT `ft_version_seq` IF NOT EXISTS FOR (v:FtVersion) REQUIRE v.seq IS UNIQUE"),
    ("ft_version_rid", "CREATE INDEX `ft_version_rid` IF NOT EXISTS FOR (v:FtVersion) ON (v.rid)"),
]
_BATCH_FIELDS = ("id", "time", "kind", "actor", "source", "digest", "reason", "tag", "received", "changed")
_CHANGE_SCHEMA = ("ft_change_seq", "CREATE CONSTRAINT `ft_change_seq` IF NOT EXISTS FOR (c:FtChange) REQUIRE c.seq IS UNIQUE")

# -- the change log (as the embedded store's: see graph/sqlite.py) ----------------------------------
# A write logs, in its transaction, one (:FtChange {seq, lot_id}) per record that was new or changed and
# bears on a lot's public view: the lot it concerns, or no lot_id ("anything may have changed"); more
# than _BULK_CHANGES of them log one row without a lot. seq comes from the FtMeta 'changes' counter,
# locked until the commit, so transactions log in commit order.
_BULK_CHANGES = 20_000
#: the queries finding the lots a change concerns where the record does not name it (graph.store's CHANGE_*)
_CHANGE_LOT_QUERY = {
    CHANGE_VIA_SAMPLE: "UNWIND $ids AS x MATCH (t:TestResult {id: x}) OPTIONAL MATCH (s:Sample {id: t.sample_id}) "
                       "RETURN s.lot_id AS lot",
    CHANGE_VIA_ITEMS: "UNWIND $ids AS x OPTIONAL MATCH (i:TransformationItem {transformation_id: x}) "
                      "RETURN i.lot_id AS lot",
}


@dataclass
class _WriteState:
    """What one write transaction carries along: its batch, the source tag, and the versions to store."""

    batch: int
    tag: int | None
    reason: str | None
    versions: list[dict[str, Any]] = field(default_factory=list)


class _UniqueValues:
    """Which record holds each value of a table's unique fields (other than id) as a write goes along, record by
    record, as SQLite's row-by-row upsert sees them (:mod:`graph.sqlite`): a record, new or stored and sent again,
    whose value another record holds is skipped (the stored one stays as it was); a record that changes its own
    value gives up the old one. What the store holds is read a block at a time (:meth:`load`), before the block's
    records are admitted in their order (:meth:`admit`); what the write decided since overrides it."""

    def __init__(self, lab: "_Label"):
        self.lab = lab
        self.holder: dict[tuple[str, Any], str | None] = {}  # (field, value) -> the id holding it, None: free
        self.value: dict[tuple[str, str], Any] = {}  # (field, id) -> the value it holds, None: none

    def load(self, tx: Any, records: list[Record]) -> None:
        """Read from the store the holders of the values and the values of the ids of ``records`` not known yet."""
        if not records:
            return
        for u in self.lab.rtype.unique:
            vals = list({v for rec in records if (v := getattr(rec, u)) is not None and (u, v) not in self.holder})
            ids = list({rec.id for rec in records if (u, rec.id) not in self.value})
            if vals:
                for r in tx.run(self.lab.holders[u], vals=vals):
                    self.holder.setdefault((u, r["v"]), r["id"])
                    self.value.setdefault((u, r["id"]), r["v"])
            if ids:
                for r in tx.run(self.lab.held[u], ids=ids):
                    self.value.setdefault((u, r["x"]), r["v"])
                    if r["v"] is not None:
                        self.holder.setdefault((u, r["v"]), r["x"])
            for v in vals:
                self.holder.setdefault((u, v), None)
            for x in ids:
                self.value.setdefault((u, x), None)

    def admit(self, rec: Record) -> bool:
        """Whether ``rec`` is written (no other record holds its values); if so it now holds them."""
        unique = self.lab.rtype.unique
        mine = [(u, v) for u in unique if (v := getattr(rec, u)) is not None]
        if any(self.holder.get(key) not in (None, rec.id) for key in mine):
            return False
        for u, v in mine:
            old = self.value.get((u, rec.id))
            if old is not None and old != v:
                self.holder[(u, old)] = None
            self.holder[(u, v)] = rec.id
            self.value[(u, rec.id)] = v
        return True


def _version_row(lab: "_Label", props: Mapping[str, Any], op: str, reason: str | None) -> dict[str, Any]:
    """An (:FtVersion) node's properties (seq and batch set when stored) for a record's stored values."""
    body = json.dumps({c: props.get(c) for c in lab.columns}, ensure_ascii=False)
    return {"table": lab.table, "rid": props["id"], "op": op, "reason": reason, "body": body}


def _batch(r: Mapping[str, Any]) -> Batch:
    return Batch(**{f: r.get(f) for f in _BATCH_FIELDS if r.get(f) is not None or f not in ("received", "changed")})


def _version(v: Mapping[str, Any]) -> Version:
    values = to_dict(record_from_values(v["table"], json.loads(v["body"])))
    return Version(int(v["seq"]), v["table"], v["rid"], v["op"], v.get("batch"), v.get("reason"), values)


class _Editor:
    """The :class:`graph.versions.Editor` primitives inside one explicit Neo4j write transaction.

    Each update or delete stores the previous version under this batch (and the reason given) and is
    logged in the change log when the edit ends.
    """

    def __init__(self, store: "Neo4jStore", tx: Any, batch: int, context: WriteContext):
        self.store = store
        self.tx = tx
        self.batch = batch
        self.context = context
        self.changed = 0
        self._touched: dict[str, list[str]] = defaultdict(list)
        self._records: list[Record] = []

    def _lab(self, table: str) -> _Label:
        return _LABELS[record_type(table).table]

    def _props(self, lab: _Label, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {r["p"]["id"]: r["p"] for r in self.tx.run(lab.by_ids, ids=list(dict.fromkeys(ids)))}

    def _versions(self, lab: _Label, props: Iterable[Mapping[str, Any]], op: str, reason: str | None) -> None:
        state = _WriteState(self.batch, None, reason, [_version_row(lab, p, op, reason) for p in props])
        self.store._add_versions(self.tx, state)

    def _touch(self, lab: _Label, ids: Iterable[str], records: Iterable[Record]) -> None:
        self._touched[lab.table].extend(ids)
        self._records.extend(records)

    def finish(self, bulk: bool) -> None:
        if bulk and self._touched:
            self.store._log_changes(self.tx, {"operator": ["*"]}, [])
        else:
            self.store._log_changes(self.tx, self._touched, self._records)
        self.tx.run("MATCH (b:FtBatch {id: $id}) SET b.changed = $c", id=self.batch, c=self.changed).consume()

    def get_many(self, table: str, ids: Iterable[str]) -> dict[str, Record]:
        lab = self._lab(table)
        return {i: lab.record(p) for i, p in self._props(lab, ids).items()}

    def find(self, table: str, field: str, value: str) -> list[str]:
        lab = self._lab(table)
        if field not in lab.columns:
            raise StoreError(f"{table} has no field {field!r}")
        return [r["id"] for r in self.tx.run(f"MATCH (n:{_q(lab.label)}) WHERE n.{_q(field)} = $v RETURN n.id AS id",
                                             v=value)]

    def tagged(self, table: str, tag: int) -> list[str]:
        lab = self._lab(table)
        return [r["id"] for r in self.tx.run(f"MATCH (n:{_q(lab.label)}) WHERE $t IN n._src RETURN n.id AS id",
                                             t=int(tag))]

    def sources(self, table: str, ids: Iterable[str]) -> dict[str, list[int]]:
        lab = self._lab(table)
        return {r["id"]: [int(t) for t in r["s"]] for r in self.tx.run(
            f"MATCH (n:{_q(lab.label)}) WHERE n.id IN $ids AND n._src IS NOT NULL RETURN n.id AS id, n._src AS s",
            ids=list(ids)) if r["s"]}

    def set_sources(self, table: str, id: str, tags: list[int]) -> None:
        lab = self._lab(table)
        self.tx.run(f"MATCH (n:{_q(lab.label)} {{id: $id}}) SET n._src = $s", id=id, s=tags or None).consume()

    def update(self, table: str, id: str, values: Mapping[str, Any], reason: str | None = None) -> None:
        lab = self._lab(table)
        bad = [k for k in values if k not in lab.columns]
        if bad:
            raise StoreError(f"{table} has no field {bad[0]!r}")
        old = self._props(lab, [id]).get(id)
        if old is None:
            return
        new = {k: _coerce(lab.kinds[k], v) for k, v in values.items()}
        if all(old.get(k) == v for k, v in new.items()):
            return
        self._versions(lab, [old], "update", reason)
        self.tx.run(f"MATCH (n:{_q(lab.label)} {{id: $id}}) SET n += $v", id=id, v=new).consume()
        merged = {**old, **new}
        self._touch(lab, [id], [lab.record(merged)])
        self.changed += 1

    def insert(self, records: Iterable[Record]) -> None:
        for rec in records:
            lab = self._lab(rec.table)
            row = lab.values(rec)
            if self._props(lab, [rec.id]):
                raise StoreError(f"{rec.table} {rec.id} cannot be inserted: it exists")
            seq = self.tx.run("MERGE (m:FtMeta {id: 'seq'}) ON CREATE SET m.next = 0 SET m.next = m.next + 1 "
                              "RETURN m.next - 1 AS base").single()["base"]
            present = tuple(i for i, v in enumerate(row) if v is not None)
            self.tx.run(lab.create(present), rows=[row + [seq]]).consume()
            self._touch(lab, [rec.id], [rec])
            self.changed += 1

    def delete(self, table: str, ids: Iterable[str], reason: str | None = None) -> None:
        lab = self._lab(table)
        for part in chunks(dict.fromkeys(ids), _ID_CHUNK):
            old = self._props(lab, part)
            if not old:
                continue
            self._versions(lab, old.values(), "delete", reason)
            self.tx.run(f"UNWIND $ids AS x MATCH (n:{_q(lab.label)} {{id: x}}) DETACH DELETE n",
                        ids=list(old)).consume()
            self._touch(lab, list(old), [lab.record(p) for p in old.values()])
            self.changed += len(old)

    def versions(self, ids: Iterable[str]) -> list[Version]:
        rows = self.tx.run("MATCH (v:FtVersion) WHERE v.rid IN $ids RETURN properties(v) AS v", ids=list(ids))
        return sorted((_version(r["v"]) for r in rows), key=lambda v: v.seq)

    def batches(self, ids: Iterable[int] | None) -> dict[int, Batch]:
        ret = "RETURN " + ", ".join(f"b.{f} AS {f}" for f in _BATCH_FIELDS)
        if ids is None:
            rows = self.tx.run(f"MATCH (b:FtBatch) {ret}")
        else:
            rows = self.tx.run(f"MATCH (b:FtBatch) WHERE b.id IN $ids {ret}", ids=sorted({int(i) for i in ids}))
        return {int(r["id"]): _batch(r) for r in rows}

    def rewrite_versions(self, ids: Iterable[str], fn: Any, new_id: str | None = None) -> None:
        for v in self.versions(ids):
            values = fn(v)
            if values is None:
                self.tx.run("MATCH (v:FtVersion {seq: $s}) DELETE v", s=v.seq).consume()
            else:
                self.tx.run("MATCH (v:FtVersion {seq: $s}) SET v.body = $b, v.rid = $r", s=v.seq,
                            b=json.dumps(values, ensure_ascii=False), r=new_id or v.id).consume()


# -- the store ------------------------------------------------------------------------------------

class Neo4jStore(Store):
    """Records on a Neo4j 5 server (5.26 LTS or a 2025+ calendar release), a cluster or Aura."""

    name = "neo4j"

    def __init__(self, url: str, options: Mapping[str, Any] | None = None):
        self._parsed = parse_url(url, options)
        self.url = self._parsed.shown
        self.database = self._parsed.database
        self._schema_ready = False
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open_sessions: list[Any] = []
        try:
            import neo4j  # the driver is imported only for this backend
            from neo4j import exceptions as nex
        except ImportError:
            raise StoreUnavailable(f"cannot open {self.url}: the Python package 'neo4j' is not installed "
                                   "(pip install 'neo4j>=5.26')") from None
        self._nex = nex
        self._bookmarks = neo4j.GraphDatabase.bookmark_manager()
        p = self._parsed
        auth = None
        if p.user is not None or p.password is not None:
            auth = neo4j.basic_auth(p.user or "neo4j", p.password or "")
        try:
            self._driver = neo4j.GraphDatabase.driver(
                p.driver_uri, auth=auth, connection_timeout=15.0, max_transaction_retry_time=30.0,
                user_agent="foodtrace",
                # no server notifications (e.g. "label not yet in the database" before the first write)
                notifications_min_severity="OFF")
        except (nex.ConfigurationError, ValueError) as e:
            raise StoreUnavailable(f"bad Neo4j URL {self.url}: {e}") from None
        try:
            self._driver.verify_connectivity()
            self._run_read(lambda tx: tx.run("RETURN 1").consume())
        except StoreError:
            self._driver.close()
            raise
        except Exception as e:
            self._driver.close()
            raise StoreUnavailable(f"cannot reach Neo4j at {self.url}: {self._reason(e)}") from None

    # -- plumbing --------------------------------------------------------------------------------

    def _reason(self, e: BaseException) -> str:
        nex = self._nex
        if isinstance(e, nex.AuthError):
            return "authentication failed (set the user and password in the URL or NEO4J_USER/NEO4J_PASSWORD)"
        msg = getattr(e, "message", None) or str(e) or type(e).__name__
        return msg.splitlines()[0] if msg else type(e).__name__

    def _session(self, write: bool) -> Any:
        import neo4j
        mode = neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS
        # one bookmark manager for every session: a read sees the writes before it, also on a cluster
        return self._driver.session(database=self.database, default_access_mode=mode,
                                    bookmark_manager=self._bookmarks)

    def _read_session(self) -> Any:
        """This thread's read session (sessions are not thread-safe; reusing one saves a round trip)."""
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = self._session(False)
            with self._lock:
                self._open_sessions.append(s)
        return s

    def _drop_read_session(self) -> None:
        s = getattr(self._local, "session", None)
        self._local.session = None
        if s is not None:
            with self._lock:
                if s in self._open_sessions:
                    self._open_sessions.remove(s)
            try:
                s.close()
            except Exception:
                pass

    def _call(self, write: bool, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(tx)`` in a managed transaction (retried by the driver on transient errors)."""
        nex = self._nex
        try:
            with self._session(write) as s:
                return s.execute_write(fn) if write else s.execute_read(fn)
        except (nex.Neo4jError, nex.DriverError) as e:
            raise self._translate(e) from None

    def _translate(self, e: BaseException) -> StoreError:
        """The foodtrace error for a driver error."""
        nex = self._nex
        if isinstance(e, (nex.ServiceUnavailable, nex.SessionExpired)):
            return StoreUnavailable(f"lost Neo4j at {self.url}: {self._reason(e)}")
        if isinstance(e, nex.AuthError):
            return StoreUnavailable(f"cannot use Neo4j at {self.url}: {self._reason(e)}")
        if isinstance(e, nex.Neo4jError):
            code = e.code or ""
            if code.endswith("DatabaseNotFound"):
                return StoreUnavailable(f"Neo4j at {self.url} has no database {self.database!r}")
            if code.endswith("MemoryPoolOutOfMemoryError"):
                return StoreError(f"the batch is too large for the transaction memory of Neo4j at {self.url} "
                                  "(dbms.memory.transaction.total.max): write smaller batches or give the server "
                                  f"more heap (NEO4J_HEAP for scripts/neo4j/start.sh); {self._reason(e)}")
            return StoreError(f"Neo4j at {self.url}: {self._reason(e)}")
        return StoreUnavailable(f"Neo4j at {self.url}: {self._reason(e)}")

    def _run_read(self, fn: Callable[[Any], Any]) -> Any:
        return self._call(False, fn)

    def _rows(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """All rows of a read query, as dicts.

        An auto-commit query (one round trip, where a managed transaction takes two or
        three), retried here on the errors the driver marks as retryable, for up to 30 s.
        """
        nex = self._nex
        deadline = time.monotonic() + 30.0
        delay = 0.2
        while True:
            try:
                return [r.data() for r in self._read_session().run(query, params)]
            except (nex.Neo4jError, nex.DriverError) as e:
                self._drop_read_session()
                retry = e.is_retryable() if hasattr(e, "is_retryable") else isinstance(
                    e, (nex.ServiceUnavailable, nex.SessionExpired, nex.TransientError))
                if not retry or time.monotonic() + delay > deadline:
                    raise self._translate(e) from None
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def ensure_schema(self) -> None:
        """Create the constraints and indexes that are missing (idempotent) and wait until they are online."""
        if self._schema_ready:
            return
        wanted = [_META_SCHEMA, _CHANGE_SCHEMA, *_HISTORY_SCHEMA] + [item for t in _LABELS.values() for item in t.schema]

        def existing(tx: Any) -> tuple[set[str], set[str]]:
            constraints = {r["name"] for r in tx.run("SHOW CONSTRAINTS YIELD name RETURN name")}
            indexes = {r["name"] for r in tx.run("SHOW INDEXES YIELD name RETURN name")}
            return constraints, indexes

        constraints, indexes = self._run_read(existing)
        have = constraints | indexes
        missing = [stmt for name, stmt in wanted if name not in have]
        # indexes of earlier versions that no read uses (each slows every write down)
        names = {name for name, _ in wanted}
        stale = [f"DROP CONSTRAINT {_q(n)} IF EXISTS" for n in sorted(constraints) if n.startswith("ft_") and n not in names]
        stale += [f"DROP INDEX {_q(n)} IF EXISTS" for n in sorted(indexes - constraints)
                  if n.startswith("ft_") and n not in names]
        if missing or stale:
            nex = self._nex
            try:
                with self._session(True) as s:
                    for stmt in stale + missing:  # schema commands run in auto-commit transactions
                        s.run(stmt).consume()
                    s.run("CALL db.awaitIndexes(300)").consume()
            except (nex.ServiceUnavailable, nex.SessionExpired) as e:
                raise StoreUnavailable(f"lost Neo4j at {self.url}: {self._reason(e)}") from None
            except nex.Neo4jError as e:
                raise StoreError(f"cannot create the foodtrace indexes on Neo4j at {self.url}: "
                                 f"{self._reason(e)}") from None
        self._schema_ready = True

    # -- writing -----------------------------------------------------------------------------------

    def write(self, records: Iterable[Record], *, progress: Any = None,
              context: WriteContext | None = None) -> WriteStats:
        # The records are written while they are read, block by block, in ONE transaction: the
        # server stores a block while this process reads (parses) the next. An exception from the
        # iterator rolls the transaction back (nothing written). The records read are kept, so
        # that the driver may replay the transaction after a transient error.
        context = context or WriteContext()
        source = iter(records)
        try:
            first = next(source)
        except StopIteration:
            if progress is not None:
                progress(0)
            self.ensure_schema()
            return WriteStats(batch=self._call(True, lambda tx: self._begin_batch(tx, context)[0]))
        kept: list[Record] = [first]

        def replay() -> Iterator[Record]:
            i = 0
            while i < len(kept):  # what an earlier attempt read, then the rest
                yield kept[i]
                i += 1
            for rec in source:
                kept.append(rec)
                yield rec

        self.ensure_schema()
        received: dict[str, int] = {}

        batch_id: list[int] = []

        def work(tx: Any) -> dict[str, int]:
            received.clear()
            batch_id[:] = []
            batch, tag = self._begin_batch(tx, context)
            batch_id.append(batch)
            state = _WriteState(batch, tag, context.reason)
            changed: dict[str, int] = {}
            touched: dict[str, list[str]] = defaultdict(list)  # table -> ids new or changed
            unique = {t: _UniqueValues(lab) for t, lab in _LABELS.items() if lab.rtype.unique}
            done = 0
            it = replay()
            carry: list[Record] = []  # the records a block left to the next (see below)
            while True:
                block = carry + list(islice(it, _BLOCK - len(carry)))
                carry = []
                if not block:
                    break
                rounds: dict[str, list[list[Record]]] = {}
                occurrences: dict[str, dict[str, int]] = defaultdict(dict)
                for table, values in unique.items():
                    values.load(tx, [rec for rec in block if rec.table == table])
                for i, rec in enumerate(block):
                    table = rec.table
                    if table not in _LABELS:
                        raise StoreError(f"not a foodtrace record: {rec!r}")
                    values = unique.get(table)  # unique fields other than id
                    if values is not None and rec.id in occurrences[table]:
                        # an id met again: its second record would be written in a later round, after the block's
                        # creates, though a record after it may take the value it gives up; the block ends here
                        # and the next one starts with this record
                        carry = block[i:]
                        break
                    received[table] = received.get(table, 0) + 1
                    if values is not None and not values.admit(rec):
                        continue  # another record holds its value: skipped
                    # the n-th record with the same id in this block goes into round n, so each
                    # chunk has distinct ids and repeated records merge in order, as in SQLite's
                    # row-by-row upsert (a later block sees what the earlier ones wrote)
                    inblock = occurrences[table]
                    n = inblock.get(rec.id, 0)
                    inblock[rec.id] = n + 1
                    per = rounds.setdefault(table, [])
                    if n == len(per):
                        per.append([])
                    per[n].append(rec)
                size = sum(len(part) for per in rounds.values() for part in per)
                if not size:
                    continue
                # insertion numbers for this block (the counter stays locked until the commit)
                base = tx.run("MERGE (m:FtMeta {id: 'seq'}) ON CREATE SET m.next = 0 "
                              "SET m.next = m.next + $n RETURN m.next - $n AS base", n=size).single()["base"]
                at = 0
                # first occurrences: every read first, then every CREATE/SET, sent without waiting,
                # so that the server stores them while this process reads the next block
                sends: list[tuple[str, Any]] = []
                later: list[tuple[_Label, list[Record]]] = []
                for table, per in rounds.items():
                    lab = _LABELS[table]
                    later += [(lab, part) for part in per[1:]]
                    for chunk in chunks(per[0], _CHUNK):
                        changed[table] = changed.get(table, 0) + self._write_chunk(
                            tx, lab, chunk, base + at, state=state, defer=sends, touched=touched[table])
                        at += len(chunk)
                for query, rows in sends:
                    tx.run(query, rows=rows)
                done += at
                if progress is not None:
                    progress(done)
                # an id repeated within the block: its n-th record after the (n-1)-th is written
                for lab, part in later:
                    for chunk in chunks(part, _CHUNK):
                        changed[lab.table] += self._write_chunk(tx, lab, chunk, base + at, state=state,
                                                                touched=touched[lab.table])
                        at += len(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done)
            self._add_versions(tx, state)
            self._log_changes(tx, touched, kept)
            tx.run("MATCH (b:FtBatch {id: $id}) SET b.received = $r, b.changed = $c", id=batch,
                   r=sum(received.values()), c=sum(changed.values())).consume()
            return changed

        got = self._call(True, work)
        return WriteStats(received=dict(received), changed={t: got.get(t, 0) for t in received},
                          batch=batch_id[0] if batch_id else None)

    @staticmethod
    def _begin_batch(tx: Any, context: WriteContext) -> tuple[int, int | None]:
        """Record a write's batch in its transaction; (batch number, the source tag its records carry)."""
        batch = tx.run("MERGE (m:FtMeta {id: 'batches'}) ON CREATE SET m.next = 0 SET m.next = m.next + 1 "
                       "RETURN m.next AS id").single()["id"]
        tag = None
        if context.tags_records:
            tag = batch
            if context.digest:  # the same content loaded before is the same source
                row = tx.run("MATCH (b:FtBatch {digest: $d}) WHERE b.tag IS NOT NULL RETURN min(b.tag) AS t",
                             d=context.digest).single()
                if row is not None and row["t"] is not None:
                    tag = int(row["t"])
        tx.run("CREATE (b:FtBatch {id: $id, time: $time, kind: $kind, actor: $actor, source: $source, "
               "digest: $digest, reason: $reason, tag: $tag, received: 0, changed: 0})",
               id=batch, time=now_iso(), kind=context.kind, actor=context.actor, source=context.source,
               digest=context.digest, reason=context.reason, tag=tag).consume()
        return int(batch), tag

    @staticmethod
    def _add_versions(tx: Any, state: "_WriteState") -> None:
        """Store the previous versions collected in ``state`` (and empty it)."""
        if not state.versions:
            return
        rows, state.versions = state.versions, []
        base = tx.run("MERGE (m:FtMeta {id: 'versions'}) ON CREATE SET m.next = 0 SET m.next = m.next + $n "
                      "RETURN m.next - $n AS base", n=len(rows)).single()["base"]
        for i, r in enumerate(rows):
            r["seq"] = base + i + 1
            r["batch"] = state.batch
        tx.run("UNWIND $rows AS r CREATE (v:FtVersion) SET v = r", rows=rows).consume()

    @staticmethod
    def _log_changes(tx: Any, touched: dict[str, list[str]], records: list[Record]) -> None:
        """Append the change-log rows of a write, in its transaction (see CHANGE_LOT_FIELD)."""
        total = sum(len(v) for t, v in touched.items() if t in CHANGE_LOT_FIELD or t in _CHANGE_LOT_QUERY
                    or t in CHANGE_ANY_LOT)
        if not total:
            return
        lots: list[str | None] = []
        if total > _BULK_CHANGES or any(touched.get(t) for t in CHANGE_ANY_LOT):
            lots = [None]
        else:
            wanted = {t: set(v) for t, v in touched.items() if t in CHANGE_LOT_FIELD and v}
            for rec in records:  # the lot each changed record names (the last record of an id wins, as stored)
                ids = wanted.get(rec.table)
                if ids is not None and rec.id in ids:
                    lots.append(getattr(rec, CHANGE_LOT_FIELD[rec.table]) or None)
            for table, query in _CHANGE_LOT_QUERY.items():
                if touched.get(table):
                    found = [r["lot"] for r in tx.run(query, ids=touched[table])]
                    lots.extend(found or [None])
            lots = list(dict.fromkeys(lots))
        base = tx.run("MERGE (m:FtMeta {id: 'changes'}) ON CREATE SET m.next = 0 "
                      "SET m.next = m.next + $n RETURN m.next - $n AS base", n=len(lots)).single()["base"]
        tx.run("UNWIND $rows AS r CREATE (:FtChange {seq: r.seq, lot_id: r.lot})",
               rows=[{"seq": base + i + 1, "lot": lot} for i, lot in enumerate(lots)])

    def change_seq(self) -> int | None:
        rows = self._rows("MATCH (m:FtMeta {id: 'changes'}) RETURN m.next AS n")
        return int(rows[0]["n"]) if rows else 0

    def last_batch(self) -> int | None:
        rows = self._rows("MATCH (m:FtMeta {id: 'batches'}) RETURN m.next AS n")
        return int(rows[0]["n"] or 0) if rows else 0

    def changes_since(self, seq: int, limit: int = 100_000) -> list[tuple[int, str | None]]:
        return [(int(r["s"]), r["l"]) for r in self._rows(
            "MATCH (c:FtChange) WHERE c.seq > $s RETURN c.seq AS s, c.lot_id AS l ORDER BY c.seq LIMIT $n",
            s=seq, n=limit)]

    @staticmethod
    def _write_chunk(tx: Any, lab: _Label, chunk: list[Record], seq: int, state: "_WriteState | None" = None,
                     defer: list[tuple[str, Any]] | None = None, touched: list[str] | None = None) -> int:
        """Write records with distinct ids; return how many were new or changed.

        The CREATE and SET queries are sent without waiting for their end (Bolt runs a
        transaction's queries in order: a later read still sees them; the commit waits for them);
        with ``defer`` they are appended to it, to be sent by the caller, instead. A changed record's
        previous values are collected in ``state`` (stored by :meth:`_add_versions`).
        """
        columns = lab.columns
        state = state or _WriteState(0, None, None)
        sends: list[tuple[str, Any]] = []
        rows = [lab.values(rec) for rec in chunk]
        stored = {r["p"]["id"]: r["p"] for r in tx.run(lab.by_ids, ids=[row[0] for row in rows])}
        new: list[list[Any]] = rows
        changed: list[dict[str, Any]] = []
        tag = state.tag
        retag: list[str] = []
        if stored:
            new = []
            for row in rows:
                old = stored.get(row[0])
                if old is None:
                    new.append(row)
                    continue
                diff = merge_changes(columns, old, row, placeholders=lab.placeholders)
                if diff is not None:
                    diff["id"] = row[0]
                    changed.append(diff)
                    state.versions.append(_version_row(lab, old, "update", state.reason))
                if tag is not None and tag not in (old.get("_src") or ()):
                    retag.append(row[0])
        if changed:  # first: an update may give up a unique value a new record of the chunk takes (_UniqueValues)
            sends.append((lab.update, changed))
        if new:
            present = tuple(i for i in range(len(columns)) if any(row[i] is not None for row in new))
            for i, row in enumerate(new):
                row.append(seq + i)
                if tag is not None:
                    row.append([tag])
            sends.append((lab.create(present, tag is not None), new))
        if defer is None:
            for query, rows in sends:
                tx.run(query, rows=rows)
        else:
            defer += sends
        if retag:
            tx.run(lab.tag, ids=retag, tag=[tag])
        if touched is not None:
            touched.extend(row[0] for row in new)
            touched.extend(row["id"] for row in changed)
        return len(new) + len(changed)

    def clear(self) -> None:
        """Delete every foodtrace record, the batches and versions (and the insertion counters); constraints
        and indexes stay.

        The change log is kept and told that anything may have changed (its numbers only grow).
        """
        labels = [t.label for t in _LABELS.values()] + ["FtBatch", "FtVersion"]
        nex = self._nex
        try:
            with self._session(True) as s:
                for label in labels:
                    query = f"MATCH (n:{_q(label)}) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS gone"
                    while s.run(query).single()["gone"]:
                        pass
                s.run("MATCH (m:FtMeta) WHERE m.id IN ['seq', 'batches', 'versions'] DELETE m").consume()
                s.execute_write(lambda tx: self._log_changes(tx, {"operator": ["*"]}, []))
        except nex.Neo4jError as e:
            raise StoreError(f"cannot clear Neo4j at {self.url}: {self._reason(e)}") from None
        except nex.DriverError as e:
            raise StoreUnavailable(f"lost Neo4j at {self.url}: {self._reason(e)}") from None

    def prune_changes(self, keep: int, upto: int | None = None) -> int:
        top = self.change_seq() or 0
        cut = top - keep if upto is None else min(top - keep, upto)
        gone = 0
        query = ("MATCH (c:FtChange) WHERE c.seq <= $cut AND c.seq < $top WITH c LIMIT 10000 DELETE c "
                 "RETURN count(*) AS gone")
        while True:
            n = self._call(True, lambda tx: tx.run(query, cut=cut, top=top).single()["gone"])
            gone += n
            if n < 10000:
                return gone

    # -- backup and restore ------------------------------------------------------------------------

    #: labels a backup holds besides the record labels (FtChange, the change log, is not kept: a restore
    #: tells it that anything may have changed)
    _HISTORY_LABELS = ("FtBatch", "FtVersion")

    def backup_to(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        import gzip

        self.ensure_schema()
        nex = self._nex
        counts: dict[str, int] = {}
        labels = [(t.table, t.label) for t in _LABELS.values()] + [(lab, lab) for lab in self._HISTORY_LABELS]
        try:
            with self._session(True) as session, gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
                tx = session.begin_transaction()
                try:
                    # every foodtrace write takes this lock first (Neo4jStore._begin_batch): none commits
                    # while the copy is read, so the copy is one consistent state (writes wait for it)
                    tx.run("MERGE (m:FtMeta {id: 'batches'}) ON CREATE SET m.next = 0 SET m._backup = true").consume()
                    for row in tx.run("MATCH (m:FtMeta) WHERE m.id IN ['seq', 'batches', 'versions'] "
                                      "RETURN m.id AS id, m.next AS next"):
                        out.write(json.dumps({"meta": row["id"], "next": row["next"]}) + "\n")
                    for name, label in labels:
                        n = 0
                        for row in tx.run(f"MATCH (n:{_q(label)}) RETURN properties(n) AS p"):
                            out.write(json.dumps({"label": label, "p": row["p"]}, ensure_ascii=False) + "\n")
                            n += 1
                        counts[name] = n
                    changes = tx.run("MATCH (m:FtMeta {id: 'changes'}) RETURN m.next AS n").single()
                finally:
                    tx.rollback()  # nothing to keep: the lock only
        except (nex.Neo4jError, nex.DriverError) as e:
            raise self._translate(e) from None
        return {"format": "neo4j-jsonl", "counts": {k: v for k, v in counts.items() if k in _LABELS},
                "change_seq": int(changes["n"]) if changes and changes["n"] is not None else 0,
                "batches": counts.get("FtBatch", 0), "versions": counts.get("FtVersion", 0)}

    def restore_from(self, path: str | os.PathLike[str], context: WriteContext) -> dict[str, Any]:
        """See :meth:`graph.store.Store.restore_from`. On Neo4j the nodes are written in transactions of
        10,000: an interrupted restore leaves a partial store; run it again (it starts by clearing)."""
        import gzip

        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                first = fh.readline()
                json.loads(first)
        except (OSError, ValueError, EOFError) as e:
            raise StoreError(f"{path} is not a Neo4j backup of foodtrace: {e}") from None
        self.ensure_schema()
        rows = self._rows("MATCH (m:FtMeta {id: 'batches'}) RETURN m.next AS n")
        last_batch = int(rows[0]["n"] or 0) if rows else 0
        self.clear()
        meta: dict[str, int] = {}
        nex = self._nex
        by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)

        def flush(label: str) -> None:
            rows = by_label.pop(label, [])
            if rows:
                self._call(True, lambda tx: tx.run(f"UNWIND $rows AS r CREATE (n:{_q(label)}) SET n = r",
                                                   rows=rows).consume())

        known = {t.label for t in _LABELS.values()} | set(self._HISTORY_LABELS)
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                for line in fh:
                    item = json.loads(line)
                    if "meta" in item:
                        meta[item["meta"]] = int(item["next"] or 0)
                        continue
                    label = item["label"]
                    if label not in known:
                        raise StoreError(f"{path}: unknown node label {label!r}")
                    by_label[label].append(item["p"])
                    if len(by_label[label]) >= _CHUNK:
                        flush(label)
            for label in list(by_label):
                flush(label)
        except (OSError, ValueError, EOFError) as e:
            raise StoreError(f"{path} cannot be read: {e}") from None

        def finish(tx: Any) -> int:
            meta["batches"] = max(meta.get("batches", 0), last_batch)  # batch numbers never repeat
            for name, value in meta.items():
                tx.run("MERGE (m:FtMeta {id: $id}) SET m.next = $n", id=name, n=value).consume()
            self._log_changes(tx, {"operator": ["*"]}, [])  # anything may have changed; numbers go on
            return self._begin_batch(tx, context)[0]

        try:
            batch = self._call(True, finish)
        except (nex.Neo4jError, nex.DriverError) as e:
            raise self._translate(e) from None
        return {"batch": batch, "counts": self.counts(), "change_seq": self.change_seq()}

    # -- batches, versions, edits -------------------------------------------------------------------

    def batches(self, ids: Iterable[int] | None = None, *, digest: str | None = None) -> dict[int, Batch]:
        ret = "RETURN " + ", ".join(f"b.{f} AS {f}" for f in _BATCH_FIELDS) + " ORDER BY b.id"
        if digest is not None:
            rows = self._rows(f"MATCH (b:FtBatch {{digest: $d}}) {ret}", d=digest)
        elif ids is None:
            rows = self._rows(f"MATCH (b:FtBatch) {ret}")
        else:
            rows = self._rows(f"MATCH (b:FtBatch) WHERE b.id IN $ids {ret}", ids=sorted({int(i) for i in ids}))
        return {int(r["id"]): _batch(r) for r in rows}

    def versions(self, ids: Iterable[str]) -> list[Version]:
        out: list[dict[str, Any]] = []
        for part in chunks(dict.fromkeys(ids), _ID_CHUNK):
            out += self._rows("MATCH (v:FtVersion) WHERE v.rid IN $ids RETURN properties(v) AS v", ids=part)
        return sorted((_version(r["v"]) for r in out), key=lambda v: v.seq)

    def dump_versions(self) -> Iterator[Version]:
        after = 0
        while True:
            rows = self._rows("MATCH (v:FtVersion) WHERE v.seq > $after RETURN properties(v) AS v ORDER BY v.seq "
                              "LIMIT $page", after=after, page=_PAGE)
            for r in rows:
                yield _version(r["v"])
            if len(rows) < _PAGE:
                return
            after = int(rows[-1]["v"]["seq"])

    def sources(self, table: str, ids: Iterable[str]) -> dict[str, list[int]]:
        lab = _LABELS[record_type(table).table]
        out: dict[str, list[int]] = {}
        for part in chunks(dict.fromkeys(ids), _ID_CHUNK):
            for r in self._rows(f"MATCH (n:{_q(lab.label)}) WHERE n.id IN $ids AND n._src IS NOT NULL "
                                "RETURN n.id AS id, n._src AS s", ids=part):
                if r["s"]:
                    out[r["id"]] = [int(t) for t in r["s"]]
        return out

    @contextmanager
    def edit(self, context: WriteContext, *, bulk: bool = False) -> Iterator["_Editor"]:
        self.ensure_schema()
        nex = self._nex
        session = self._session(True)
        tx = None
        try:
            tx = session.begin_transaction()
            batch, _ = self._begin_batch(tx, context)
            ed = _Editor(self, tx, batch, context)
            yield ed
            ed.finish(bulk)
            tx.commit()
        except (nex.Neo4jError, nex.DriverError) as e:
            if tx is not None and not tx.closed():
                tx.rollback()
            raise self._translate(e) from None
        except BaseException:
            if tx is not None and not tx.closed():
                tx.rollback()
            raise
        finally:
            session.close()

    # -- reading -----------------------------------------------------------------------------------

    def get_many(self, table: str, ids: Iterable[str]) -> dict[str, Record]:
        lab = _LABELS[record_type(table).table]
        out: dict[str, Record] = {}
        for part in chunks(dict.fromkeys(ids), _ID_CHUNK):
            for row in self._rows(lab.by_ids, ids=part):
                rec = lab.record(row["p"])
                out[rec.id] = rec
        return out

    def scan(self, table: str, where: Mapping[str, Any] | None = None) -> Iterator[Record]:
        """Records of ``table`` in insertion order, read page by page (each page its own transaction)."""
        lab = _LABELS[record_type(table).table]
        clauses, params = ["n._seq > $after"], {}
        for i, (name, value) in enumerate((where or {}).items()):
            if name not in lab.columns:
                raise StoreError(f"{table} has no field {name!r}")
            if isinstance(value, (list, tuple, set, frozenset)):
                clauses.append(f"n.{_q(name)} IN $w{i}")
                params[f"w{i}"] = [c for c in (_coerce(lab.kinds[name], x) for x in value) if c is not None]
                continue
            value = _coerce(lab.kinds[name], value)
            if value is None:
                clauses.append(f"n.{_q(name)} IS NULL")
            else:
                clauses.append(f"n.{_q(name)} = $w{i}")
                params[f"w{i}"] = value
        query = (f"MATCH (n:{_q(lab.label)}) WHERE {' AND '.join(clauses)} "
                 f"RETURN properties(n) AS p ORDER BY n._seq LIMIT $page")
        return self._scan_pages(lab, query, params)

    def _scan_pages(self, lab: _Label, query: str, params: dict[str, Any]) -> Iterator[Record]:
        after = -1
        while True:
            rows = self._rows(query, after=after, page=_PAGE, **params)
            for row in rows:
                yield lab.record(row["p"])
            if len(rows) < _PAGE:
                return
            after = rows[-1]["p"]["_seq"]

    def columns(self, table: str, fields: Sequence[str]) -> list[tuple[Any, ...]]:
        return [r for part in self.column_pages(table, fields, page=_COLUMN_PAGE) for r in part]

    def column_pages(self, table: str, fields: Sequence[str],
                     page: int = COLUMN_PAGE) -> Iterator[list[tuple[Any, ...]]]:
        lab = _LABELS[record_type(table).table]
        require_fields(table, lab.columns, fields)
        values = ", ".join(f"n.{_q(f)}" for f in fields)
        query = (f"MATCH (n:{_q(lab.label)}) WHERE n._seq > $after RETURN n._seq AS s, [{values}] AS v "
                 f"ORDER BY n._seq LIMIT $page")
        after = -1
        while True:
            rows = self._rows(query, after=after, page=page)
            if rows:
                yield [tuple(r["v"]) for r in rows]
            if len(rows) < page:
                return
            after = rows[-1]["s"]

    def counts(self) -> dict[str, int]:
        parts = ", ".join(f"COUNT {{ MATCH (:{_q(t.label)}) }} AS {_q(name)}" for name, t in _LABELS.items())
        row = self._rows(f"RETURN {parts}")[0]
        return {name: int(row[name]) for name in _LABELS}

    def _largest(self, table: str, field: str) -> Any:
        rows = self._rows(f"MATCH (n:{_q(_LABELS[table].label)}) RETURN max(n.{_q(field)}) AS v")
        return rows[0]["v"] if rows else None

    def resolve_many(self, identifiers: Iterable[str]) -> dict[str, str]:
        forms: dict[str, list[str]] = {i: lookup_forms(i) for i in identifiers}
        every = list({f: None for fs in forms.values() for f in fs})
        known: dict[str, str] = {}
        for part in chunks(every, _ID_CHUNK):
            # one query: the aliases and the entity ids among these forms (an alias wins, as in SQLite)
            entity: set[str] = set()
            for row in self._rows(_RESOLVE, ids=part):
                if row["alias"]:
                    known[row["id"]] = row["c"]
                else:
                    entity.add(row["id"])
            for f in entity:
                known.setdefault(f, f)
        return first_known(forms, known)

    def aliases_of(self, ids: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for part in chunks(dict.fromkeys(ids), _ID_CHUNK):
            for row in self._rows("MATCH (a:Alias) WHERE a.canonical_id IN $ids RETURN a.id AS id, a.canonical_id AS c",
                                  ids=part):
                if row["id"] != row["c"]:
                    out[row["c"]].append(row["id"])
        return {k: sorted(v) for k, v in out.items()}

    def _filtered(self, table: str, filters: dict[str, Iterable[str] | None], live: str,
                  extra: tuple[str, dict[str, Any]] | None = None) -> list[Record]:
        lab = _LABELS[table]
        plan = plan_filters(filters)
        if plan is None:
            return []
        # the largest filter is unwound in chunks (an index seek per id); the others are bound whole
        active, keys = plan
        first = keys[0] if keys else None
        clauses = [f"n.{_q(first)} = fid"] if first else []
        clauses += [f"n.{_q(k)} IN ${k}" for k in keys[1:]]
        if live:
            clauses.append(live)
        if extra is not None:
            clauses.append(extra[0])
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        unwind = "UNWIND $first AS fid " if first else ""
        query = f"{unwind}MATCH (n:{_q(lab.label)}){where} RETURN DISTINCT properties(n) AS p"
        results: dict[str, Record] = {}
        parts = chunks(active[first], _ID_CHUNK) if first else [None]
        for part in parts:
            params = {k: active[k] for k in keys[1:]}
            if extra is not None:
                params.update(extra[1])
            if first:
                params["first"] = part
            for row in self._rows(query, **params):
                rec = lab.record(row["p"])
                results[rec.id] = rec
        return sorted(results.values(), key=lambda r: r.id)

    def deliveries(self, *, lot_ids: Iterable[str] | None = None, sender_ids: Iterable[str] | None = None,
                   receiver_ids: Iterable[str] | None = None, include_retracted: bool = False,
                   time_range: tuple[str, str] | None = None) -> list[Delivery]:
        live = "" if include_retracted else (
            "(n.event_id IS NULL OR NOT EXISTS { MATCH (rt:Retraction) WHERE rt.event_id = n.event_id })")
        extra = None if time_range is None else (
            "n.time >= $time_lo AND n.time <= $time_hi", {"time_lo": time_range[0], "time_hi": time_range[1]})
        return self._filtered("delivery", {"lot_id": lot_ids, "sender_id": sender_ids,
                                           "receiver_id": receiver_ids}, live, extra)  # type: ignore[return-value]

    def transformation_items(self, *, lot_ids: Iterable[str] | None = None,
                             transformation_ids: Iterable[str] | None = None,
                             include_retracted: bool = False) -> list[TransformationItem]:
        live = "" if include_retracted else (
            "NOT EXISTS { MATCH (t:Transformation) WHERE t.id = n.transformation_id AND t.event_id IS NOT NULL "
            "AND EXISTS { MATCH (rt:Retraction) WHERE rt.event_id = t.event_id } }")
        return self._filtered("transformation_item", {"lot_id": lot_ids, "transformation_id": transformation_ids},
                              live)  # type: ignore[return-value]

    def retracted_events(self) -> set[str]:
        return {r["e"] for r in self._rows("MATCH (x:Retraction) WHERE x.event_id IS NOT NULL RETURN x.event_id AS e")}

    def close(self) -> None:
        with self._lock:
            sessions, self._open_sessions = self._open_sessions, []
        for s in sessions:
            try:
                s.close()
            except Exception:
                pass
        try:
            self._driver.close()
        except Exception:  # closing a broken driver must not raise
            pass
