"""The store interface and the registry of backends chosen by URL.

A store keeps :mod:`ontology.records` records. Its small required core is
:meth:`Store.write` (one atomic, idempotent batch), :meth:`Store.get_many`,
:meth:`Store.scan`, :meth:`Store.counts`, :meth:`Store.resolve_many`,
:meth:`Store.aliases_of` and the two traversal reads :meth:`Store.deliveries`
and :meth:`Store.transformation_items`, which take a whole frontier of ids at a
time so that a server backend answers each traversal step with one query.
Everything else has a slow-but-correct default built on that core.

Backends register a URL scheme with :func:`register`; the module is imported
only when a URL of that scheme is opened (the Neo4j driver is never imported
for a file store).

>>> import tempfile, os
>>> from ontology.records import Operator
>>> path = os.path.join(tempfile.mkdtemp(), "t.db")
>>> with open_store(path) as s:
...     _ = s.write([Operator(id="urn:foodtrace:op:a", kind="Farm", name="甲农场")])
...     s.counts()["operator"]
1
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from ontology.errors import NotFound, StoreError, UnknownStoreScheme
from ontology.records import Delivery, Record, TransformationItem, record_fields, record_type
from ontology.times import day_of, parse_day

from . import versions as _versions
from .versions import Batch, Correction, Editor, UnloadStats, Version, WriteContext

T = TypeVar("T")

__all__ = [
    "BulkLoad",
    "CHANGE_LOT_FIELD",
    "CHANGE_VIA_SAMPLE",
    "CHANGE_VIA_ITEMS",
    "CHANGE_ANY_LOT",
    "Store",
    "WriteStats",
    "WriteContext",
    "Batch",
    "Version",
    "Correction",
    "UnloadStats",
    "register",
    "known_schemes",
    "open_store",
    "first_known",
    "write_mark",
    "Memo",
    "require_fields",
    "plan_filters",
    "chunks",
]


# -- what a change concerns (the change log both backends keep; see Store.change_seq) ----------------------

#: tables whose records name the lot a change to them concerns, and the field naming it (no lot: any lot)
CHANGE_LOT_FIELD: dict[str, str] = {"lot": "id", "delivery": "lot_id", "trace_code": "lot_id",
                                    "transformation_item": "lot_id", "certificate": "lot_id", "sample": "lot_id"}
#: a test result concerns its sample's lot (any lot when the sample names none)
CHANGE_VIA_SAMPLE = "test_result"
#: a transformation concerns the lots of its items
CHANGE_VIA_ITEMS = "transformation"
#: tables whose changes may concern any lot (names, kinds and places shown with every lot; retractions)
CHANGE_ANY_LOT: frozenset[str] = frozenset({"operator", "product", "region", "retraction"})


class BulkLoad:
    """What :meth:`Store.bulk_load` yields: the loader tells it how the load goes on."""

    def tail(self, works: Sequence[float] = ()) -> None:
        """What is left of the load is small (the last few files): a store that put work off until the end may
        start it now, beside the writes still to come; ``works`` is what each of them reads (bytes of input, in
        order), to share the work out by. Default: nothing."""


@dataclass
class WriteStats:
    """What one write did: records received and records new or changed, per table."""

    received: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    #: the number of the batch the write was recorded as (see :mod:`graph.versions`)
    batch: int | None = None

    @property
    def total_received(self) -> int:
        return sum(self.received.values())

    @property
    def total_changed(self) -> int:
        return sum(self.changed.values())


#: records per page of :meth:`Store.column_pages` (each reader reduces a page to numbers before the next: ten
#: million deliveries are never held at once)
COLUMN_PAGE = 200_000


class Store(ABC):
    """A record store. Use as a context manager or call :meth:`close`."""

    #: backend name, e.g. ``sqlite``
    name: str = ""
    url: str = ""
    #: reads are answered inside this process (no network wait): a caller may make them on an event loop
    local_reads: bool = False
    #: a write makes no reference cycles that outlive it, so the cyclic garbage collector may stay off across a
    #: load's writes (:func:`loaders.load.load_files`); a client of a server (Neo4j's driver) makes them
    acyclic_writes: bool = False

    # -- required core -----------------------------------------------------------------

    @abstractmethod
    def write(self, records: Iterable[Record], *, progress: Any = None,
              context: WriteContext | None = None) -> WriteStats:
        """Write all ``records`` as one all-or-nothing batch.

        Records are merged by ``id``: a non-empty field replaces the stored value,
        an empty one keeps it, and a placeholder (:func:`ontology.records.with_placeholders`)
        only fills an empty field. Writing the same records again changes nothing.
        If iterating ``records`` raises, nothing is written and the error propagates.
        ``progress``, if given, is called with the number of records written so far.
        ``context`` says who writes, from what and why: the write is recorded as a batch
        (:class:`graph.versions.Batch`), every record it changes keeps its previous version,
        and records written by a source (a file, a captured document) remember it.
        """

    @abstractmethod
    def get_many(self, table: str, ids: Iterable[str]) -> dict[str, Record]:
        """The records of ``table`` with these ids (missing ids are left out)."""

    def stored_ids(self, table: str, ids: Iterable[str]) -> set[str]:
        """Which of these ids ``table`` holds (what :meth:`get_many` would find, without reading the records)."""
        return set(self.get_many(table, ids))

    @abstractmethod
    def scan(self, table: str, where: Mapping[str, Any] | None = None) -> Iterator[Record]:
        """Every record of ``table`` whose fields equal ``where`` (all of them if None).

        A list, tuple, set or frozenset value matches a field equal to any of its members (one
        batched read for many values, e.g. the samples of a frontier of lots)."""

    def columns(self, table: str, fields: Sequence[str]) -> list[tuple[Any, ...]]:
        """The named fields of every record of ``table``, one tuple per record in insertion order, without
        building records: for statistics over a whole table (e.g. the holding times a trace learns).
        Backends answer it in one read; this default goes through :meth:`scan`."""
        require_fields(table, [f.name for f in record_fields(record_type(table))], fields)
        return [tuple(getattr(r, f) for f in fields) for r in self.scan(table)]

    def column_pages(self, table: str, fields: Sequence[str],
                     page: int = COLUMN_PAGE) -> Iterator[list[tuple[Any, ...]]]:
        """:meth:`columns` in pages of at most ``page`` tuples, in insertion order, so a reader of a whole
        large table (ten million deliveries) can reduce each page before it reads the next. Each page is its
        own read: a write between two pages may or may not be seen by the later ones (read
        :func:`write_mark` before and after where that matters). This default slices :meth:`columns`."""
        rows = self.columns(table, fields)
        for i in range(0, len(rows), page):
            yield rows[i:i + page]

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of records per table (every table, zero included)."""

    @abstractmethod
    def resolve_many(self, identifiers: Iterable[str]) -> dict[str, str]:
        """Canonical ids of the identifiers that are known (any received form)."""

    @abstractmethod
    def aliases_of(self, ids: Iterable[str]) -> dict[str, list[str]]:
        """The other forms received for each canonical id (sorted)."""

    @abstractmethod
    def deliveries(self, *, lot_ids: Iterable[str] | None = None, sender_ids: Iterable[str] | None = None,
                   receiver_ids: Iterable[str] | None = None, include_retracted: bool = False,
                   time_range: tuple[str, str] | None = None) -> list[Delivery]:
        """Deliveries of any of these lots, from any of these senders or to any of these receivers.

        Filters combine with AND; None means no filter. Deliveries read from a
        retracted EPCIS event are left out unless ``include_retracted``.
        ``time_range=(lo, hi)`` keeps deliveries whose ship time *as written*
        sorts between the two strings (inclusive): a coarse, index-friendly cut
        for callers that widen it by the largest UTC offset and filter exactly.
        """

    @abstractmethod
    def transformation_items(self, *, lot_ids: Iterable[str] | None = None,
                             transformation_ids: Iterable[str] | None = None,
                             include_retracted: bool = False) -> list[TransformationItem]:
        """Inputs and outputs of transformations touching these lots or with these ids."""

    @abstractmethod
    def retracted_events(self) -> set[str]:
        """Ids of events declared erroneous."""

    def bulk_load(self, expected_records: int) -> AbstractContextManager[BulkLoad]:
        """Around a load of about ``expected_records`` records written as many batches (``foodtrace load`` of
        many files): the store may prepare for it and finish after it. Every batch stays atomic and what the
        store holds afterwards is the same; only the speed differs. The embedded store builds the secondary
        indexes of its largest tables once after a load that brings more than it holds, rather than row by
        row during it (:meth:`graph.sqlite.SQLiteStore.bulk_load`); the loader calls the :class:`BulkLoad` it
        yields when only a small tail of the load is left. Default: nothing."""
        return nullcontext(BulkLoad())

    @abstractmethod
    def close(self) -> None:
        """Release the store."""

    def change_seq(self) -> int | None:
        """The sequence number of the latest logged change, or None when this backend keeps no change log.

        The change log lets a reader that keeps views derived from the records (the service's public
        lookups) learn which lots the writes since it last looked concern.
        """
        return None

    def last_batch(self) -> int | None:
        """The number of the latest write (batch), or None when this backend does not number its writes: a
        process keeping anything derived from the records compares it (with :meth:`change_seq`) to learn that
        something, anything, was written since."""
        return None

    def changes_since(self, seq: int, limit: int = 100_000) -> list[tuple[int, str | None]]:
        """Logged changes after ``seq``, oldest first, at most ``limit``: (seq, lot id), where a lot id of
        None means a change not tied to one lot (an operator, product, region, retraction ...)."""
        raise NotImplementedError(f"{type(self).__name__} keeps no change log")

    def clear(self) -> None:
        """Delete every record (used by tests and by re-initialising a demo store)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be cleared")

    # -- versions, batches and edits (graph.versions) -----------------------------------------------

    @abstractmethod
    def batches(self, ids: Iterable[int] | None = None, *, digest: str | None = None) -> dict[int, Batch]:
        """The recorded batches (writes) with these numbers, or with this content digest, or all of them."""

    @abstractmethod
    def versions(self, ids: Iterable[str]) -> list[Version]:
        """The previous versions kept of the records with these ids (any table), oldest first."""

    @abstractmethod
    def sources(self, table: str, ids: Iterable[str]) -> dict[str, list[int]]:
        """The source tags (see :class:`graph.versions.Batch`) each record carries, where it carries any."""

    def dump(self, table: str) -> Iterator[tuple[Record, list[int]]]:
        """Every record of ``table`` in insertion order with its source tags (empty where it has none): what
        an export of the whole store (:mod:`graph.neo4j_import`) reads. Streams: memory stays flat."""
        part: list[Record] = []
        for rec in self.scan(table):
            part.append(rec)
            if len(part) >= 5000:
                yield from self._with_sources(table, part)
                part = []
        yield from self._with_sources(table, part)

    def _with_sources(self, table: str, records: list[Record]) -> Iterator[tuple[Record, list[int]]]:
        tags = self.sources(table, [r.id for r in records]) if records else {}
        for rec in records:
            yield rec, tags.get(rec.id, [])

    def dump_versions(self) -> Iterator[Version]:
        """Every previous version kept, in the order they were kept (an export's read)."""
        raise NotImplementedError(f"{type(self).__name__} cannot list its versions")

    @abstractmethod
    def edit(self, context: WriteContext, *, bulk: bool = False) -> AbstractContextManager[Editor]:
        """One write transaction, recorded as a batch, offering the :class:`graph.versions.Editor` primitives;
        committed when the ``with`` block ends, rolled back if it raises. ``bulk``: log one "anything may
        have changed" row in the change log instead of one per record."""

    @abstractmethod
    def prune_changes(self, keep: int, upto: int | None = None) -> int:
        """Drop the rows of the change log older than its latest ``keep`` rows (and, with ``upto``, only
        rows numbered ``upto`` or lower); return how many were dropped. The latest row always stays, so
        the numbers never go back.

        A reader that had not followed the log past the dropped rows sees a gap (the first row it reads
        is not the next number) and must treat everything as changed.
        """

    def backup_to(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Write a consistent copy of everything the store holds (records, batches, versions) to ``path``
        while loads and the service go on; return what it holds (``counts``, ``change_seq``, ``format``).

        The embedded store copies its file with SQLite's online backup API (one read transaction: writers
        go on in the write-ahead log); Neo4j writes every foodtrace node as gzipped JSON lines from one
        transaction that holds the batch counter's lock, so no write commits in between (writes wait).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot be backed up")

    def restore_from(self, path: str | os.PathLike[str], context: WriteContext) -> dict[str, Any]:
        """Replace everything the store holds by the copy at ``path`` (made by :meth:`backup_to` of the same
        backend); record the restore as a batch; the change log goes on from its highest number with an
        "anything may have changed" row, so readers that follow it (the public read model) never serve an
        answer from before the restore."""
        raise NotImplementedError(f"{type(self).__name__} cannot be restored")

    def history(self, identifier: str) -> dict[str, Any]:
        """A record's story: its sources, every change (who, when, from what, why; before and after), and
        its current values (see :func:`graph.versions.history`)."""
        return _versions.history(self, identifier)

    def record_as_of(self, table: str, id: str, when: Any) -> Record | None:
        """The record as it was at a past instant (see :func:`graph.versions.record_as_of`)."""
        return _versions.record_as_of(self, table, id, when)

    def correct(self, corrections: Sequence[Correction], context: WriteContext) -> list[tuple[Correction, Any]]:
        """Apply corrections, each keeping the previous version with its reason; all or none."""
        with self.edit(context) as ed:
            return _versions.correct(ed, corrections)

    def delete(self, table: str, ids: Sequence[str], context: WriteContext) -> int:
        """Delete records (and their aliases), keeping their last versions; refused while others refer to them."""
        with self.edit(context) as ed:
            return _versions.delete(ed, table, list(ids), context.reason)

    def unload(self, tags: Iterable[int], context: WriteContext) -> UnloadStats:
        """Take back everything the sources ``tags`` loaded (see :func:`graph.versions.unload`)."""
        with self.edit(context, bulk=True) as ed:
            return _versions.unload(ed, set(tags), context.reason)

    def erase(self, operator_id: str, context: WriteContext) -> str:
        """Erase a natural person's personal data (see :func:`graph.versions.erase`); the operator's id after."""
        with self.edit(context) as ed:
            return _versions.erase(ed, operator_id, actor=context.actor)

    # -- defaults built on the core -------------------------------------------------------

    def resolve(self, identifier: str) -> str | None:
        """The canonical id of ``identifier`` in any received form, or None."""
        return self.resolve_many([identifier]).get(identifier)

    def require(self, identifier: str, table: str | None = None, *, what: str | None = None) -> str:
        """Like :meth:`resolve`, but raise :class:`NotFound` with a helpful message (see :meth:`require_many`)."""
        return self.require_many([identifier], table, what=what)[0]

    def require_many(self, identifiers: Iterable[str], table: str | None = None, *,
                     what: str | None = None) -> list[str]:
        """The canonical ids of identifiers given in any received form, in order: the one resolver of
        foodtrace (the command line, the service and the console all call it).

        White space around an identifier is ignored. ``table`` demands that each names a record of that
        table; ``what`` is the noun of the messages (default: the table's name). An unknown identifier
        raises :class:`NotFound` ("no operator has the identifier 'x'"), one naming a record of another
        table too ("'x' is not an operator (it names ...)").
        """
        raw = list(identifiers)
        idents = [str(i).strip() for i in raw]
        noun = what or (table.replace("_", " ") if table else "entity")
        found = self.resolve_many([i for i in idents if i])
        out: list[str] = []
        for given, ident in zip(raw, idents):
            cid = found.get(ident) if ident else None
            if cid is None:
                raise NotFound(f"no {noun} has the identifier {given!r}")
            out.append(cid)
        if table is not None:
            known = self.get_many(table, out)
            article = "an" if noun[:1] in "aeiou" else "a"
            for given, cid in zip(raw, out):
                if cid not in known:
                    raise NotFound(f"{given!r} is not {article} {noun} (it names {cid})")
        return out

    def live(self, records: Iterable[Record], *, as_of: Any = None) -> Iterator[Record]:
        """The records not read from a retracted EPCIS event: the one place scans apply that rule
        (:meth:`deliveries` and :meth:`transformation_items` apply it in their queries).

        With ``as_of`` (a day), only retractions declared before that day count: a retraction is known
        from the day it was declared (:mod:`ontology.times`).
        """
        if as_of is None:
            retracted = self.retracted_events()
        else:
            day = parse_day(as_of).isoformat()
            retracted = {e for e, d in self.retraction_days().items() if d < day}
        for r in records:
            event = getattr(r, "event_id", None)
            if event is None or event not in retracted:
                yield r

    def live_column_pages(self, table: str, fields: Sequence[str],
                          page: int = COLUMN_PAGE) -> Iterator[list[tuple[Any, ...]]]:
        """:meth:`column_pages` without the records read from a retracted EPCIS event (the rule of
        :meth:`live`); pages may be shorter than ``page``, none is empty."""
        has_event = "event_id" in {f.name for f in record_fields(record_type(table))}
        retracted = self.retracted_events() if has_event else set()
        if not retracted:
            yield from self.column_pages(table, fields, page)
            return
        extra = "event_id" not in fields
        cols = [*fields, "event_id"] if extra else list(fields)
        i = cols.index("event_id")
        for rows in self.column_pages(table, cols, page):
            kept = [(r[:-1] if extra else r) for r in rows if r[i] is None or r[i] not in retracted]
            if kept:
                yield kept

    def retraction_days(self) -> dict[str, str]:
        """Retracted event id -> the Beijing day (ISO) its earliest errorDeclaration was declared, ``""``
        where no declaration time is stored. The rule of :meth:`live`: the retraction counts as of a day
        ``d`` when its day sorts before ``d`` (so ``""`` always counts)."""
        out: dict[str, str] = {}
        for r in self.scan("retraction"):
            if r.event_id:
                d = day_of(r.declared) or ""
                if r.event_id not in out or d < out[r.event_id]:
                    out[r.event_id] = d
        return out

    def scan_live(self, table: str, where: Mapping[str, Any] | None = None, *, as_of: Any = None) -> Iterator[Record]:
        """:meth:`scan` without the records read from retracted events (see :meth:`live`)."""
        return self.live(self.scan(table, where), as_of=as_of)

    def latest_values(self, fields: Mapping[str, Iterable[str]]) -> dict[str, Any]:
        """The largest value written in each field, as ``{"table.field": value}`` (None where none is).

        Values compare as written (ISO dates and times sort by their text); what a value means is
        :mod:`ontology.times`' business (e.g. :func:`ontology.times.default_as_of`).
        """
        out: dict[str, Any] = {}
        for table, names in fields.items():
            known = {f.name for f in record_fields(record_type(table))}
            for n in names:
                if n not in known:
                    raise StoreError(f"{table} has no field {n!r}")
                out[f"{table}.{n}"] = self._largest(record_type(table).table, n)
        return out

    def _largest(self, table: str, field: str) -> Any:
        """The largest value written in one field (backends answer it from an index)."""
        best = None
        for r in self.scan(table):
            v = getattr(r, field)
            if v is not None and (best is None or str(v) > str(best)):
                best = v
        return best

    def get(self, table: str, id: str) -> Record | None:
        """One record by canonical id, or None."""
        return self.get_many(table, [id]).get(id)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- registry ------------------------------------------------------------------------------

_REGISTRY: dict[str, tuple[str, str]] = {}


def register(scheme: str, module: str, cls: str) -> None:
    """Register a backend class ``module.cls`` for URLs ``scheme://...`` (imported on first use)."""
    _REGISTRY[scheme] = (module, cls)


def known_schemes() -> list[str]:
    """The URL schemes with a registered backend."""
    return sorted(_REGISTRY)


def open_store(url: str | os.PathLike[str], options: Mapping[str, Any] | None = None) -> Store:
    """Open the store named by ``url``.

    ``sqlite:///relative.db``, ``sqlite:////absolute/path.db`` or a plain file
    path open the embedded store; other schemes are looked up in the registry.
    An unknown scheme raises :class:`UnknownStoreScheme` listing the known ones.
    ``options`` are the backend's own settings where the URL does not give them
    (Neo4j: ``user``, ``password``, ``database``); a backend ignores what it does not use.
    """
    text = os.fspath(url)
    scheme = text.split("://", 1)[0].lower() if "://" in text else "sqlite"
    if scheme not in _REGISTRY:
        raise UnknownStoreScheme(text, known_schemes())
    module, cls = _REGISTRY[scheme]
    backend = getattr(importlib.import_module(module), cls)
    return backend(text, options or {})


register("sqlite", "graph.sqlite", "SQLiteStore")
for _scheme in ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"):
    register(_scheme, "graph.neo4j", "Neo4jStore")


def write_mark(store: Any) -> tuple[int, int] | None:
    """What a process keeping answers derived from the records compares to learn that anything was written
    since (by any process): the change sequence and the latest batch. None where the backend keeps neither
    (then nothing may be kept)."""
    seq, batch = store.change_seq(), store.last_batch()
    return None if seq is None or batch is None else (seq, batch)


class Memo:
    """Answers derived from the records, kept by a long-running process (a service worker) until anything is
    written to the store (:func:`write_mark`, from any process) and for at most ``ttl`` seconds when given (an
    answer that also depends on the clock, such as a grade override's period); at most ``size`` answers, the
    least recently used dropped. Thread-safe."""

    def __init__(self, size: int = 64, ttl: float | None = None):
        self.size, self.ttl = size, ttl
        self._items: OrderedDict[tuple[Any, ...], tuple[Any, float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: Any, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        mark, now = write_mark(store), time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if (hit is not None and mark is not None and hit[0] == mark
                    and (self.ttl is None or now - hit[1] < self.ttl)):
                self._items.move_to_end(key)
                return hit[2]
        value = compute()
        with self._lock:
            self._items[key] = (mark, now, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def first_known(forms: Mapping[str, list[str]], known: Mapping[str, str]) -> dict[str, str]:
    """For each identifier, the canonical id of the first of its forms that is known.

    >>> first_known({"a": ["x", "y"], "b": ["z"]}, {"y": "Y"})
    {'a': 'Y'}
    """
    out: dict[str, str] = {}
    for ident, fs in forms.items():
        for f in fs:
            if f in known:
                out[ident] = known[f]
                break
    return out


def plan_filters(filters: Mapping[str, Iterable[str] | None]) -> tuple[dict[str, list[str]], list[str]] | None:
    """The active id filters of a traversal read, largest first; None when one of them is empty (no match).

    A backend chunks the first (largest) filter and binds the others whole.

    >>> plan_filters({"lot_id": ["a", "b", "a"], "sender_id": ["s"], "receiver_id": None})
    ({'lot_id': ['a', 'b'], 'sender_id': ['s']}, ['lot_id', 'sender_id'])
    >>> plan_filters({"lot_id": []}) is None
    True
    """
    active = {k: list(dict.fromkeys(v)) for k, v in filters.items() if v is not None}
    if any(not v for v in active.values()):
        return None
    return active, sorted(active, key=lambda k: -len(active[k]))


def require_fields(table: str, known: Iterable[str], fields: Iterable[str]) -> None:
    """Raise :class:`StoreError` naming the first of ``fields`` that ``table`` does not have."""
    have = set(known)
    for f in fields:
        if f not in have:
            raise StoreError(f"{table} has no field {f!r}")


def chunks(items: Sequence[Any] | Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Successive lists of at most ``size`` items."""
    buf: list[Any] = []
    for item in items:
        buf.append(item)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf
