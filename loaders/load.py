"""Loading files into a store: one atomic batch per file, rejects collected, exit codes decided.

Files of one call are loaded in an order that lets references resolve:
operator and product templates first, then EPCIS documents, then the other
templates in :data:`loaders.template_spec.LOAD_ORDER`, then sampling
announcements, then the templates that name announced samples (disposal cases and handling steps,
:data:`loaders.template_spec.LATE_TEMPLATES`). Each file is read by its reader and written as one batch: a
file that cannot be parsed, or a crash, leaves the store as it was.

Exit codes: 0 when everything loaded; 1 when some records were rejected; 2 when
a file could not be read or parsed at all. With several files, the highest. Warnings (rows stored with
something missing) and notes (rows and sheets that are no records, skipped: totals, 注 rows, 说明 sheets,
:mod:`loaders.rows`) do not change it.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import importlib
import itertools
import logging
import queue
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from graph.store import Store, WriteContext, WriteStats
from ontology.errors import FoodtraceError, UnreadableFile
from ontology.records import Delivery, Record, iter_missing_required, required_values

from .base import LoadNote, LoadWarning, ReadOptions, Reject
from .template_spec import LATE_TEMPLATES, LOAD_ORDER

#: the template applied as corrections rather than merged records (loaders.corrections)
CORRECTIONS = "corrections"
#: what a file that broke the reader itself is told (the fuzz tests make sure no input gets here)
INTERNAL = "the file could not be read: an internal error, please report it with the file"

log = logging.getLogger("foodtrace.load")

#: input bytes per record, about (EPCIS JSON-LD ~180, a template's CSV row ~85 for its records): a load's size in
#: records, estimated from its files' sizes for :meth:`graph.store.Store.bulk_load`
BYTES_PER_RECORD = 200
#: the last files of a load, less than this share of its bytes, are its tail (:meth:`graph.store.BulkLoad.tail`)
TAIL_SHARE = 0.05
#: the interpreter's switch interval while files load (seconds; Python's default is 0.005): the SQLite writer thread
#: takes the GIL back after each statement, waiting up to this long each time for the thread parsing (or reading
#: the next file ahead) to hand it over (3 EPCIS documents into a 1M store: 15.3 / 16.9 s at 0.005, 14.2 / 15.4 s
#: at 0.001)
SWITCH_INTERVAL = 0.001
#: the cyclic garbage collector is off while files load into a store whose writes make no cycles (:func:`load_files`,
#: ``Store.acyclic_writes``: SQLite; Neo4j's driver makes them, and a 1M load held 3.7 GiB instead of 1.2 with the
#: collector off). The SQLite store's write pauses it already (its records are acyclic); between two files it came
#: back on, and its first collection then scanned every object the
#: write had made that was still alive (the next file, parsed ahead, with its records: millions) to find next to no
#: garbage: 0.2-0.7 s in the gap between two large files, in which nothing else runs (four EPCIS documents and two
#: templates of the 1M load: 2.4 s of collections that found 20 objects). Acyclic garbage
#: goes by reference counting as always; the few cycles a load makes (workbooks read) wait for the first collection
#: after it.

__all__ = ["KINDS", "FileOutcome", "load_files", "load_document", "plan_order", "reader_for", "sniff_kind",
           "file_digest"]

KINDS = ("auto", "epcis", "template", "samr")
_READERS = {"epcis": "loaders.epcis", "template": "loaders.templates", "samr": "loaders.samr"}


@dataclass
class FileOutcome:
    """What loading one file did."""

    path: Path
    kind: str
    template: str | None = None
    stats: WriteStats = field(default_factory=WriteStats)
    rejects: list[Reject] = field(default_factory=list)
    #: rows stored with something missing or unusual (announcements: no sampled unit, text results ...)
    warnings: list[LoadWarning] = field(default_factory=list)
    #: rows and sheets skipped as no records (totals, notes, instructions sheets ...): neither stored nor rejected
    notes: list[LoadNote] = field(default_factory=list)
    error: str | None = None
    #: the Event records read (set by :func:`load_document`)
    events: list[Record] = field(default_factory=list)

    def failed(self, error: str) -> None:
        """The file could not be loaded (``error`` says why): nothing of it was stored, so no row is listed."""
        self.error = error
        self.rejects.clear()
        self.warnings.clear()
        self.notes.clear()

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return 2
        return 1 if self.rejects else 0


def reader_for(kind: str) -> Callable[..., Iterator[Record]]:
    """The ``read`` function of a loader kind (imported on first use)."""
    return importlib.import_module(_READERS[kind]).read


def _reader_step(kind: str, name: str) -> Callable[..., Any] | None:
    """A reader module's optional step ``name`` (``prepare``, ``derive_ahead``, ``bulky``), None where it has none."""
    return getattr(importlib.import_module(_READERS[kind]), name, None) if kind in _READERS else None


def sniff_kind(path: Path) -> str:
    """Guess the loader for a file: ``epcis``, ``template`` or ``samr``.

    JSON, JSON-LD and XML are EPCIS; a table whose headers map onto an official
    sampling announcement (a sampled business and a product name, in any of the
    header variants :func:`loaders.samr.map_headers` knows, and no template's
    样品编号) is ``samr``; other tables are templates.
    """
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonld", ".xml"):
        return "epcis"
    if suffix in (".csv", ".xlsx", ".xls", ".tsv", ".txt"):
        from .tables import read_header

        try:
            header = read_header(path)
        except Exception:
            return "template"
        from .samr import map_headers

        columns, _ = map_headers(header)
        if {"sampled", "product"} <= columns.keys() and "样品编号" not in "".join(header):
            return "samr"
        return "template"
    try:
        head = path.read_bytes()[:256].lstrip()
    except OSError:
        return "template"
    if head.startswith((b"{", b"[")):
        return "epcis"
    if head.startswith(b"<"):
        return "epcis"
    return "template"


def _template_kind(path: Path) -> str | None:
    from .tables import read_header
    from .templates import detect_kind

    try:
        return detect_kind(read_header(path))
    except FoodtraceError:
        return None


def plan_order(paths: Iterable[Path], kind: str = "auto") -> list[tuple[Path, str, str | None]]:
    """(path, loader kind, template kind) for each file, in loading order."""
    planned = []
    for p in paths:
        k = sniff_kind(p) if kind == "auto" else kind
        t = _template_kind(p) if k == "template" and p.exists() else None
        if k == "template":
            first = 0 if t in ("operators", "products") else 4 if t in LATE_TEMPLATES else 2
            rank = (first, LOAD_ORDER.index(t) if t in LOAD_ORDER else 99)
        else:
            rank = (1 if k == "epcis" else 3, 0)
        planned.append((rank, str(p), p, k, t))
    planned.sort(key=lambda x: (x[0], x[1]))
    return [(p, k, t) for _, _, p, k, t in planned]


def _checked(records: Iterable[Record], outcome: FileOutcome, store: Store | None = None) -> Iterator[Record]:
    """Pass records on; a record missing a required field is rejected here (a safety net behind the readers).

    A delivery read from a receiving event that names an invoice carries no ship time: the shipping
    event, matched by the invoice, gives it. Such receipts are held to the end of the file; where
    neither this file nor the store has the shipping side, the receipt time stands in for the ship
    time (the goods left no later than they arrived; a shipping event loaded later replaces it)
    rather than losing the delivery.
    """
    held: dict[str, Record] = {}
    shipped: set[str] = set()
    required: dict[type, Callable[[Record], Any]] = {}  # per record type: its required fields' values
    for rec in records:
        rtype = type(rec)
        if rtype is Delivery:
            if rec.time:  # type: ignore[attr-defined]
                shipped.add(rec.id)
            elif rec.received_time and rec.id not in held:  # type: ignore[attr-defined]
                held[rec.id] = rec
                continue
        values = required.get(rtype) or required.setdefault(rtype, required_values(rtype))
        got = values(rec)
        if (None in got or "" in got) and not _complete(rec, outcome):  # the usual case without a step per field
            continue
        yield rec
    if not held:
        return
    unknown = [i for i in held if i not in shipped]
    stored = store.get_many("delivery", unknown) if store is not None and unknown else {}
    for did, rec in held.items():
        if did in shipped or getattr(stored.get(did), "time", None):
            yield rec  # the ship time is known: the receipt adds its receipt time (merged by id)
            continue
        rec = dataclasses.replace(rec, time=rec.received_time)  # type: ignore[type-var]
        if _complete(rec, outcome):
            yield rec


def _complete(rec: Record, outcome: FileOutcome) -> bool:
    missing = list(iter_missing_required(rec))
    if missing:
        outcome.rejects.append(Reject(str(outcome.path), rec.id, ",".join(missing), "",
                                      f"{type(rec).__name__} {rec.id} lacks required field(s) {', '.join(missing)}"))
    return not missing


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's content (hex): the same content loaded again is the same source."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_files(store: Store, paths: Iterable[Path], kind: str = "auto", *,
               on_file_start: Callable[[Path, str], None] | None = None,
               on_records: Callable[[int], None] | None = None,
               on_file_done: Callable[[FileOutcome], None] | None = None,
               options: ReadOptions | None = None, coverage: str | None = None,
               source: str | None = None, context: WriteContext | None = None) -> list[FileOutcome]:
    """Load ``paths`` into ``store``, one atomic batch per file.

    The callbacks let the caller show progress: ``on_records`` receives the number
    of records written so far in the current file. ``options`` go to every reader.
    ``coverage`` (``both`` or ``failures_only``) and ``source`` declare what the
    sampling announcements among the files cover and who published them
    (:func:`loaders.samr.read`); by default both are read from the files.
    ``context`` says who loads and why (kind ``load`` by default); each file's batch
    names the file and its SHA-256, so that ``foodtrace unload FILE`` finds what it loaded.
    """
    from ontology.vocab import region_records

    base = context or WriteContext(kind="load")
    store.write(region_records(), context=WriteContext(kind="vocabulary", actor=base.actor))
    planned = plan_order(paths, kind)
    sizes = [_size(p) for p, _, _ in planned]
    total = sum(sizes)
    # the tail: the files after the first one that leaves less than TAIL_SHARE of the bytes to load
    tail_at = next((n for n, loaded in enumerate(itertools.accumulate(sizes), 1)
                    if total - loaded < TAIL_SHARE * total), len(planned))
    switch, collecting = sys.getswitchinterval(), gc.isenabled()
    sys.setswitchinterval(min(switch, SWITCH_INTERVAL))
    if store.acyclic_writes:
        gc.disable()
    try:
        with store.bulk_load(total // BYTES_PER_RECORD) as bulk:
            finished = itertools.count(1)

            def file_done(outcome: FileOutcome) -> None:
                if next(finished) == tail_at:
                    bulk.tail(sizes[tail_at:])
                if on_file_done:
                    on_file_done(outcome)

            return _load_planned(store, planned, base, on_file_start, on_records, file_done, options, coverage,
                                 source)
    finally:
        sys.setswitchinterval(switch)
        if collecting:
            gc.enable()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


class _Release:
    """Frees the large lists a loaded file's reading leaves (an EPCIS document's events, a large template's rows:
    millions of objects, which reading ahead keeps until the file is written) on a thread of its own, a slice at a
    time, instead of on the loading thread between two files, where nothing else runs meanwhile: 0.1-0.2 s a large
    file. A slice is short (:data:`SLICE` items, about a millisecond), so the other threads get the GIL between two.
    A reader module names those lists with ``bulky(prepared)``; only its own reading of that file may hold them.
    :meth:`close` waits until all are freed."""

    #: items freed at a time
    SLICE = 1000

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[list[list[Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def put(self, kind: str, prepared: Any) -> None:
        """Free what ``bulky`` of the reader of ``kind`` names of ``prepared`` (a file's reading prepared ahead)."""
        bulky = _reader_step(kind, "bulky")
        try:
            lists = [lst for lst in (bulky(prepared) if bulky is not None and prepared is not None else ())
                     if len(lst) > self.SLICE]
        except Exception:  # noqa: BLE001 - a reading of an unforeseen shape: the loading thread frees it, as before
            log.exception("freeing the reading of a %s file", kind)
            return
        if not lists:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="foodtrace-release", daemon=True)
            self._thread.start()
        self._queue.put(lists)

    def _run(self) -> None:
        while (lists := self._queue.get()) is not None:
            for lst in lists:
                while lst:
                    del lst[-self.SLICE:]
            del lists

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


class _ReadAhead:
    """The first steps of loading a file that do not depend on the store (its SHA-256; for an EPCIS document, the
    file read and parsed, :func:`loaders.epcis.prepare`, then its first events derived until the loading thread
    asks for them, :func:`loaders.epcis.derive_ahead`; for a large CSV template, its rows read and split:
    :func:`loaders.templates.prepare`), run on a helper thread while the store writes and commits the file before
    it: the loading thread waits for SQLite's writer thread and COMMIT (which release the GIL) meanwhile.

    What the helper could not do (an unreadable file, a document that is not JSON) is done again, and fails, where
    it would have without it: the loading thread then reads the file itself."""

    def __init__(self, path: Path, kind: str, options: ReadOptions | None = None) -> None:
        self.path, self.kind, self.options = path, kind, options
        self.digest: str | None = None
        self.prepared: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="foodtrace-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.digest = file_digest(self.path)
            prepare = _reader_step(self.kind, "prepare")
            if prepare is not None:
                self.prepared = prepare(self.path)
            derive = _reader_step(self.kind, "derive_ahead")
            if derive is not None and self.prepared is not None and not self._stop.is_set():
                self.prepared = derive(self.prepared, self.path.name, self.options, self._stop)
        except Exception:  # noqa: BLE001 - the loading thread does it again and reports it
            self.prepared = None

    def result(self, path: Path) -> tuple[str | None, Any]:
        """(digest, prepared reading) of ``path`` (None where the helper did not get them); the helper stops
        deriving records ahead first."""
        self._stop.set()
        self._thread.join()
        return (self.digest, self.prepared) if path == self.path else (None, None)


def _then(records: Iterable[Record], after: Callable[[], None]) -> Iterator[Record]:
    """``records``, then ``after()`` once the last one was taken (the store is writing what it was given)."""
    yield from records
    after()


def _load_planned(store: Store, planned: list[tuple[Path, str, str | None]], base: WriteContext,
                  on_file_start: Callable[[Path, str], None] | None, on_records: Callable[[int], None] | None,
                  on_file_done: Callable[[FileOutcome], None] | None, options: ReadOptions | None,
                  coverage: str | None, source: str | None) -> list[FileOutcome]:
    release = _Release()
    try:
        return _load_each(store, planned, base, on_file_start, on_records, on_file_done, options, coverage, source,
                          release)
    finally:
        release.close()


def _load_each(store: Store, planned: list[tuple[Path, str, str | None]], base: WriteContext,
               on_file_start: Callable[[Path, str], None] | None, on_records: Callable[[int], None] | None,
               on_file_done: Callable[[FileOutcome], None] | None, options: ReadOptions | None,
               coverage: str | None, source: str | None, release: _Release) -> list[FileOutcome]:
    outcomes = []
    ahead: list[_ReadAhead] = []  # the next file's, started when this file's records are all read

    def read_next(n: int) -> Callable[[], None]:
        def start() -> None:
            if n + 1 < len(planned) and planned[n + 1][0].is_file():
                ahead.append(_ReadAhead(planned[n + 1][0], planned[n + 1][1], options))
        return start

    for n, (path, k, template) in enumerate(planned):
        outcome = FileOutcome(path=path, kind=k, template=template)
        digest, prepared = ahead.pop().result(path) if ahead else (None, None)
        if on_file_start:
            on_file_start(path, k)
        if not path.exists() or not path.is_file():
            outcome.error = f"{path}: no such file"
        else:
            try:
                ctx = dataclasses.replace(base, source=base.source or str(path.resolve()),
                                          digest=digest or file_digest(path))
                if template == CORRECTIONS:
                    outcome.stats = _correct(store, path, outcome, ctx)
                else:
                    read = reader_for(k)
                    if k == "samr":
                        read = functools.partial(read, warnings=outcome.warnings, coverage=coverage, source=source,
                                                 notes=outcome.notes)
                    elif k == "template":
                        read = functools.partial(read, notes=outcome.notes, prepared=prepared)
                    elif prepared is not None:
                        read = functools.partial(read, prepared=prepared)
                    records = read(path, outcome.rejects, store=store, options=options)
                    outcome.stats = store.write(_then(_checked(records, outcome, store), read_next(n)),
                                                progress=on_records, context=ctx)
            except OSError as e:
                outcome.failed(f"{path}: {e.strerror or e}")
            except UnreadableFile as e:
                outcome.failed(str(e))
            except FoodtraceError as e:
                outcome.failed(f"{path}: {e}")
            except Exception as e:  # a safety net: never a traceback; the file's batch was not written
                log.exception("loading %s failed", path)
                outcome.failed(f"{path}: {INTERNAL} ({type(e).__name__}: {e})")
        release.put(k, prepared)  # the large lists of the file's reading, freed on a thread of their own ...
        prepared = read = records = None  # ... and the rest of it now
        outcomes.append(outcome)
        if on_file_done:
            on_file_done(outcome)
    return outcomes


def _correct(store: Store, path: Path, outcome: FileOutcome, context: WriteContext) -> WriteStats:
    """Apply a corrections template (:mod:`loaders.corrections`): its good rows in one transaction."""
    from .corrections import read as read_corrections

    corrections = read_corrections(path, outcome.rejects, store=store, notes=outcome.notes)
    stats = WriteStats(received={"correction": len(corrections)})
    if corrections:
        done = store.correct(corrections, dataclasses.replace(context, kind="correction"))
        for c, _ in done:
            stats.changed[c.table] = stats.changed.get(c.table, 0) + 1
    return stats


def load_document(store: Store, doc: dict | bytes | str, source: str, *, rollback: bool = True,
                  dry_run: bool = False, options: ReadOptions | None = None,
                  context: WriteContext | None = None) -> FileOutcome:
    """Load one EPCIS document received in memory (the HTTP capture interface).

    The whole document is read and checked first. With ``rollback`` (the EPCIS
    capture default) a single rejected event means nothing is written; without
    it the good events are written and the bad ones only listed (the binding's
    ``proceed``). Either way what is written is one all-or-nothing batch, so a
    re-sent document changes nothing. ``dry_run`` reads and checks only.
    ``source`` names the document in the records and rejects; keep it stable
    for the same content (e.g. a digest) so that re-sending changes nothing.
    ``context`` says who sent it (kind ``capture`` by default); the batch's digest is
    the document's, so that the same document sent again is the same source.
    """
    from .epcis import read_document

    outcome = FileOutcome(path=Path(source), kind="epcis")
    try:
        records = list(_checked(read_document(doc, source, outcome.rejects, store=store, options=options),
                                outcome, store))
    except UnreadableFile as e:
        outcome.failed(str(e))
        return outcome
    except FoodtraceError as e:
        outcome.failed(f"{source}: {e}")
        return outcome
    except Exception as e:  # a safety net: never a traceback; nothing was written
        log.exception("reading %s failed", source)
        outcome.failed(f"{source}: {INTERNAL} ({type(e).__name__}: {e})")
        return outcome
    outcome.events = [r for r in records if r.table == "event"]
    if dry_run or (rollback and outcome.rejects) or not records:
        return outcome
    if isinstance(doc, (bytes, str)):
        digest = hashlib.sha256(doc.encode("utf-8") if isinstance(doc, str) else doc).hexdigest()
    else:
        import orjson

        digest = hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()
    ctx = dataclasses.replace(context or WriteContext(kind="capture"), digest=digest)
    ctx = dataclasses.replace(ctx, source=ctx.source or source)
    outcome.stats = store.write(records, context=ctx)
    return outcome
