"""The store's pass-throughs kept in the service database, so a trace learns its holding windows in a second.

A trace learns how long goods stay at each kind of station from every recorded pass-through
(:mod:`reasoning.holding`). Reading them means reading every delivery: about 5 s on the
1,000,000-delivery city, about a minute and most of the memory of a trace on ten million. They
change only when the records do, so the service database keeps them (numbers only: category and kind
codes, seconds, shipping times; about 20 bytes per pass-through) with the store's write mark
(:func:`graph.store.write_mark`, read *before* they are read) and the store they came from; a command
that finds them current reads them back instead of the deliveries. The first trace after a write reads
the store again and keeps what it found, unless something was written meanwhile.

This is derived data: a backup of the service database leaves it out, a restore empties it, and where the
service database cannot be written (or the backend keeps no write mark) the pass-throughs are read from the
store every time, as before.

>>> import tempfile, os
>>> from graph.store import open_store
>>> from ontology.records import Delivery, Lot, Operator, Product
>>> d = tempfile.mkdtemp()
>>> s = open_store(os.path.join(d, "s.db"))
>>> _ = s.write([Operator(id="a", kind="Farm", name="甲"), Operator(id="b", kind="Stall", name="乙"),
...              Operator(id="c", kind="Restaurant", name="丙"), Product(id="p", name="猪肉", category="pork"),
...              Lot(id="l", product_id="p", lot_number="L1"),
...              Delivery(id="d1", lot_id="l", sender_id="a", receiver_id="b", time="2026-03-01T08:00:00+08:00"),
...              Delivery(id="d2", lot_id="l", sender_id="b", receiver_id="c", time="2026-03-02T08:00:00+08:00")])
>>> kept = KeptPassThroughs(os.path.join(d, "service.db"))
>>> p = kept.get(s); (kept.reads, p.seconds.tolist(), p.category.tolist(), p.kind.tolist())
(1, [86400.0], ['pork'], ['Stall'])
>>> p = kept.get(s); kept.reads                                 # current: read back, not from the store
1
>>> _ = s.write([Delivery(id="d3", lot_id="l", sender_id="b", receiver_id="c", time="2026-03-03T08:00:00+08:00")])
>>> p = kept.get(s); (kept.reads, sorted(p.seconds.tolist()))   # written since: read from the store again
(2, [86400.0, 172800.0])
>>> s.close()
"""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
from typing import Any

import numpy as np

from graph.store import Store, write_mark
from graph.view import ReadView
from reasoning.holding import PassThroughs, pass_throughs

from .servicedb import open_tables

__all__ = ["KeptPassThroughs", "FORMAT", "TABLE"]

log = logging.getLogger(__name__)

#: the table (derived: left out of backups)
TABLE = "holding_kept"
#: the layout of a kept body; another number (an older foodtrace) is read from the store again
FORMAT = 1

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (store TEXT PRIMARY KEY, seq INTEGER NOT NULL, batch INTEGER NOT NULL,
                                    format INTEGER NOT NULL, body BLOB NOT NULL);
"""


def store_key(store: Store) -> str:
    """Which store kept pass-throughs came from: an embedded store's real file path, else its URL (and
    database)."""
    path = getattr(store, "path", None)
    if path and path != ":memory:":
        return "file:" + os.path.realpath(path)
    return f"{getattr(store, 'url', type(store).__name__)}#{getattr(store, 'database', '') or ''}"


class KeptPassThroughs:
    """Pass-throughs of stores kept in the SQLite file ``path`` (the service database)."""

    def __init__(self, path: str):
        self.path = str(path)
        #: how many times the pass-throughs were read from a store (not from what was kept)
        self.reads = 0

    def get(self, store: Store, view: ReadView | None = None) -> PassThroughs:
        """The pass-throughs of ``store``: kept ones where current, else read (and kept where nothing was
        written while they were read)."""
        view = view or ReadView(store)
        mark = write_mark(store)
        if mark is None:
            self.reads += 1
            return pass_throughs(view)
        key = store_key(store)
        try:
            db = open_tables(self.path, _SCHEMA)
        except Exception as e:  # derived data: the trace still works without it
            log.warning("pass-throughs not kept: %s", e)
            db = None
        try:
            if db is not None:
                row = db.execute(f"SELECT seq, batch, format, body FROM {TABLE} WHERE store = ?", (key,)).fetchone()
                if row is not None and (row[0], row[1]) == mark and row[2] == FORMAT:
                    return _decode(row[3])
            self.reads += 1
            p = pass_throughs(view)
            if db is not None and write_mark(store) == mark:
                try:
                    db.execute(f"INSERT INTO {TABLE}(store, seq, batch, format, body) VALUES (?, ?, ?, ?, ?) "
                               "ON CONFLICT(store) DO UPDATE SET seq = excluded.seq, batch = excluded.batch, "
                               "format = excluded.format, body = excluded.body",
                               (key, mark[0], mark[1], FORMAT, _encode(p)))
                except sqlite3.Error as e:
                    log.warning("pass-throughs not kept in %s: %s", self.path, e)
            return p
        finally:
            if db is not None:
                db.close()


def _encode(p: PassThroughs) -> bytes:
    """The pass-throughs as an uncompressed .npz (codes into JSON lists of names for the strings)."""
    names: dict[str, list[Any]] = {}
    arrays: dict[str, np.ndarray] = {}
    for field in ("category", "kind", "made_in", "made_out"):
        values = getattr(p, field)
        if values is None:
            continue
        uniq = list(dict.fromkeys(values.tolist()))
        code = {v: i for i, v in enumerate(uniq)}
        arrays[field] = np.fromiter((code[v] for v in values.tolist()), dtype=np.int32, count=len(values))
        names[field] = uniq
    arrays["seconds"], arrays["shipped"] = p.seconds, p.shipped
    if p.made_at is not None:
        arrays["made_at"] = p.made_at
    meta = {"names": names, "present": None if p.present is None else sorted(p.present, key=lambda v: (v is None, v))}
    arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _decode(body: bytes) -> PassThroughs:
    with np.load(io.BytesIO(body), allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes().decode("utf-8"))

        def strings(field: str) -> np.ndarray | None:
            if field not in meta["names"]:
                return None
            names = np.empty(len(meta["names"][field]), dtype=object)
            names[:] = meta["names"][field]
            return names[z[field]]

        present = meta["present"]
        return PassThroughs(strings("category"), strings("kind"), z["seconds"], z["shipped"],  # type: ignore[arg-type]
                            strings("made_in"), strings("made_out"), z["made_at"] if "made_at" in z else None,
                            None if present is None else frozenset(present))
