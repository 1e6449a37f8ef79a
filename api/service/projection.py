"""The public read model: stored answers of public lookups, kept current from the store's change log.

A shopper's lookup (:func:`reasoning.lookup.public_lot`) reads the store a dozen times; the answer
changes only when a record it rests on changes. This module keeps each computed answer in the
service database (zlib-compressed JSON, keyed by lot and scanned trace code, and the rendered
pages made from it) together with the
store's change sequence number read *before* computing it, and serves it again while it is current.

Currency: the store logs every change that bears on a lot's public view (:meth:`graph.store.Store.
change_seq`, :meth:`~graph.store.Store.changes_since`), so writes from any process — ``foodtrace
load``, a capture on another worker — count.
Before answering, a worker reads the log past the point it has processed and marks the lots the new
changes concern, with the lots made from them (:func:`reasoning.lookup.dependent_lots`), as changed
at that sequence number; a change not tied to a lot (an operator renamed, a retraction) or a burst
of more than :data:`BULK` lots marks everything. A stored answer is served only when it was computed
at or after the latest change marked for its lot and for everything; otherwise it is computed again.
Reading the sequence number before computing makes a concurrent write safe: an answer that may have
missed it carries an older number and is recomputed.

Both backends keep the log (SQLite by triggers, Neo4j in each write's transaction); a backend without one
(``change_seq()`` None) would compute every lookup live.

>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Lot, Product
>>> d = tempfile.mkdtemp()
>>> s = open_store(os.path.join(d, "s.db"))
>>> _ = s.write([Product(id="p", name="青菜"), Lot(id="l", product_id="p", lot_number="L1")])
>>> pv = PublicViews(os.path.join(d, "service.db"), s)
>>> calls = []
>>> def compute():
...     calls.append(1)
...     return {"id": "l", "lot": {"lot_number": s.get("lot", "l").lot_number}}
>>> pv.get("l", None, compute)["lot"], pv.get("l", None, compute)["lot"], len(calls)
({'lot_number': 'L1'}, {'lot_number': 'L1'}, 1)
>>> _ = s.write([Lot(id="l", product_id="p", lot_number="L2")])
>>> pv.get("l", None, compute)["lot"], len(calls)
({'lot_number': 'L2'}, 2)
>>> pv.close(); s.close()
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from typing import Any, Callable, Iterable

import orjson

from graph.store import Store
from graph.view import ReadView
from reasoning.lookup import dependent_lots

from .servicedb import READERS_SCHEMA, connect, note_reader, oldest_reader

__all__ = ["PublicViews", "BULK", "ANSWER_FORMAT", "CHANGE_KEEP", "PRUNE_EVERY"]

log = logging.getLogger("foodtrace.service")

#: more changed lots than this in one read of the change log marks everything changed
BULK = 20_000
#: change-log rows kept behind the point this read model has followed, and how often it prunes (seconds)
CHANGE_KEEP = 100_000
#: this read model's name among the change-log readers of the service database
READER = "public_lookups"
PRUNE_EVERY = 60.0
#: the shape of the stored answers; stored answers of another shape are dropped when the service starts
#: (2: a lot's buyers beyond the scanned shop or the retail level counted, not named; issue 18)
ANSWER_FORMAT = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS public_answer (
    lot_id TEXT NOT NULL, code TEXT NOT NULL, variant TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (lot_id, code, variant)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS public_changed (lot_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS public_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"""

_GET = ("SELECT a.seq, a.body, coalesce(c.seq, 0), coalesce((SELECT value FROM public_meta WHERE key = 'all'), 0) "
        "FROM public_answer a LEFT JOIN public_changed c ON c.lot_id = a.lot_id "
        "WHERE a.lot_id = ? AND a.code = ? AND a.variant = ?")
_PUT = ("INSERT INTO public_answer(lot_id, code, variant, seq, body) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(lot_id, code, variant) DO UPDATE SET seq = excluded.seq, body = excluded.body "
        "WHERE excluded.seq >= public_answer.seq")


class PublicViews:
    """Stored public lookups in the SQLite file ``path`` (the service database), over ``store``."""

    def __init__(self, path: str, store: Store):
        self.store = store
        self.enabled = store.change_seq() is not None
        self._lock = threading.Lock()
        self._db = connect(path)
        self._db.executescript(_SCHEMA + READERS_SCHEMA)
        if self._meta("format") != ANSWER_FORMAT:  # answers of an earlier shape: made again on demand
            with self._lock:
                self._db.execute("DELETE FROM public_answer")
                self._db.execute("INSERT INTO public_meta(key, value) VALUES ('format', ?) ON CONFLICT(key) "
                                 "DO UPDATE SET value = excluded.value", (ANSWER_FORMAT,))
        self._seen = self._meta("processed")
        self._pruned = time.monotonic()
        self.hits = self.misses = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM public_meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _set_meta_max(self, key: str, value: int) -> None:
        self._db.execute("INSERT INTO public_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                         "value = max(value, excluded.value)", (key, value))

    # -- following the change log -----------------------------------------------------------------

    def poll(self) -> None:
        """Mark the lots concerned by changes logged since the last poll (by any worker)."""
        if not self.enabled:
            return
        now = self.store.change_seq() or 0
        if now <= self._seen:
            return
        with self._lock:
            start = max(self._seen, self._meta("processed"))
            if now <= start:
                self._seen = now
                return
            changes = self.store.changes_since(start, limit=BULK + 1)
            top = changes[-1][0] if changes else now
            lots = {lot for _, lot in changes if lot is not None}
            # a gap: rows pruned before this reader followed them (or a restore): anything may have changed
            gap = not changes or changes[0][0] != start + 1
            everything = gap or len(changes) > BULK or any(lot is None for _, lot in changes)
            if not everything:
                found = dependent_lots(ReadView(self.store), lots, limit=BULK)
                everything = found is None
                lots = found or set()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if everything:
                    self._set_meta_max("all", top)
                else:
                    self._db.executemany(
                        "INSERT INTO public_changed(lot_id, seq) VALUES (?, ?) ON CONFLICT(lot_id) DO UPDATE "
                        "SET seq = max(seq, excluded.seq)", [(lot, top) for lot in lots])
                self._set_meta_max("processed", top)
                note_reader(self._db, READER, top)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._seen = top
            self._prune(top)
        if top < now:  # more than one read's worth: the rest next time round (or now)
            self.poll()

    def _prune(self, processed: int) -> None:
        """Now and then, drop the change-log rows every reader of the service database has followed (this read
        model and the school-alert checker: :func:`servicedb.oldest_reader`), keeping the latest
        :data:`CHANGE_KEEP` (a reader silent for a week, or of another service database, sees a gap and
        starts afresh)."""
        now = time.monotonic()
        if now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        try:
            oldest = oldest_reader(self._db)  # another reader (the school alerts) may lag behind this one
            self.store.prune_changes(keep=CHANGE_KEEP, upto=processed if oldest is None else min(processed, oldest))
        except Exception:  # pruning is housekeeping: a busy store is pruned next time
            log.warning("could not prune the change log", exc_info=True)

    # -- reading and storing answers --------------------------------------------------------------

    def _current(self, lot_id: str, code: str, variant: str) -> tuple[int, bytes] | None:
        with self._lock:
            row = self._db.execute(_GET, (lot_id, code, variant)).fetchone()
        if row is not None and row[0] >= row[2] and row[0] >= row[3]:
            return row[0], zlib.decompress(row[1])
        return None

    def _put(self, lot_id: str, code: str, variant: str, seq: int, body: bytes) -> None:
        with self._lock:
            self._db.execute(_PUT, (lot_id, code, variant, seq, zlib.compress(body, 1)))

    def _data(self, lot_id: str, code: str | None,
              compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], int | None]:
        """The data of a view (the caller has polled the change log)."""
        found = self._current(lot_id, code or "", "data")
        if found is not None:
            self.hits += 1
            return orjson.loads(found[1]), found[0]
        self.misses += 1
        seq = self.store.change_seq() or 0  # before computing: a write racing with it makes the answer stale
        data = compute()
        if data.get("id") != lot_id:
            return data, None  # reached through an alias: not stored
        self._put(lot_id, code or "", "data", seq, orjson.dumps(data))
        return data, seq

    def get(self, lot_id: str, code: str | None, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The public view of ``lot_id`` (scanned through ``code``, if any): stored if current, else
        ``compute()``d and stored. Only answers whose id is ``lot_id`` itself are stored (an alias is
        looked up live)."""
        if not self.enabled:
            return compute()
        self.poll()
        return self._data(lot_id, code, compute)[0]

    def page(self, lot_id: str, code: str | None, lang: str, compute: Callable[[], dict[str, Any]],
             render: Callable[[dict[str, Any]], bytes]) -> bytes:
        """The rendered page (``render(data)``) of the view, in ``lang``: stored like the data it is made from."""
        if not self.enabled:
            return render(compute())
        self.poll()
        variant = "html:" + lang
        found = self._current(lot_id, code or "", variant)
        if found is not None:
            self.hits += 1
            return found[1]
        data, seq = self._data(lot_id, code, compute)
        body = render(data)
        if seq is not None:
            self._put(lot_id, code or "", variant, seq, body)
        return body

    def warm(self, keys: Iterable[tuple[str, str | None]], compute: Callable[[str, str | None], dict[str, Any]],
             render: Callable[[dict[str, Any]], bytes] | None = None, lang: str = "zh",
             progress: Callable[[int], None] | None = None) -> int:
        """Compute and store the views of ``keys`` ((lot id, code or None)) that are not current, and their
        pages in ``lang`` when ``render`` is given; the number of views computed."""
        done = 0
        before = self.misses
        for lot_id, code in keys:
            try:
                if render is None:
                    self.get(lot_id, code, lambda: compute(lot_id, code))
                else:
                    self.page(lot_id, code, lang, lambda: compute(lot_id, code), render)
            except LookupError:
                pass  # a code or lot that no longer resolves
            done += 1
            if progress is not None and done % 1000 == 0:
                progress(done)
        return self.misses - before

    def stats(self) -> dict[str, int]:
        with self._lock:
            views, size = self._db.execute("SELECT count(*), coalesce(sum(length(body)), 0) FROM public_answer "
                                           "WHERE variant = 'data'").fetchone()
            pages = self._db.execute("SELECT count(*), coalesce(sum(length(body)), 0) FROM public_answer "
                                     "WHERE variant != 'data'").fetchone()
            changed = self._db.execute("SELECT count(*) FROM public_changed").fetchone()[0]
            return {"views": views, "bytes": size, "pages": pages[0], "page_bytes": pages[1], "changed_lots": changed, "processed_seq": self._meta("processed"),
                    "all_changed_seq": self._meta("all"), "store_seq": self.store.change_seq() or 0,
                    "hits": self.hits, "misses": self.misses}

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM public_answer")
