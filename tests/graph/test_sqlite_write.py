"""Bulk-write details of the embedded store: GC state restored, indexes that look-ups need."""

from __future__ import annotations

import gc
import sqlite3

import pytest

from graph.sqlite import SQLiteStore
from ontology.errors import StoreError
from ontology.records import Delivery, Lot


def _failing(lot_id: str):
    """Records of a write that breaks after its first record (nothing of it may be stored)."""
    yield Lot(id=lot_id, product_id="p")
    raise StoreError("boom")


def test_write_restores_the_garbage_collector(tmp_path):
    s = SQLiteStore(tmp_path / "s.db")
    try:
        assert gc.isenabled()
        s.write([Lot(id="urn:foodtrace:lot:a:1", product_id="p")])
        assert gc.isenabled()

        with pytest.raises(StoreError):
            s.write(_failing("urn:foodtrace:lot:a:2"))
        assert gc.isenabled()
        assert s.get("lot", "urn:foodtrace:lot:a:2") is None  # rolled back
        gc.disable()
        try:
            s.write([Lot(id="urn:foodtrace:lot:a:3", product_id="p")])
            assert not gc.isenabled()  # left as the caller had it
        finally:
            gc.enable()
    finally:
        s.close()


def test_delivery_indexes(tmp_path):
    SQLiteStore(tmp_path / "s.db").close()
    db = sqlite3.connect(tmp_path / "s.db")
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='delivery'")}
    db.close()
    assert {"ix_delivery_lot_id", "ix_delivery_sender_id_time", "ix_delivery_receiver_id_time", "ix_delivery_event_id",
            "ix_delivery_time"} <= names
    # a sender's or receiver's deliveries are found through the (column, time) index: no index of their own
    assert not names & {"ix_delivery_ticket_id", "ix_delivery_certificate_id", "ix_delivery_sender_id",
                        "ix_delivery_receiver_id"}


def test_retired_indexes_are_dropped_on_open(tmp_path):
    """A store made when a delivery's sender had an index of its own loses it when opened, keeps its data, and a
    sender's deliveries are still read through an index."""
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.write([Delivery(id="d1", lot_id="l1", sender_id="a", receiver_id="b", time="2026-03-01T08:00:00+08:00")])
    store.close()
    db = sqlite3.connect(path)
    db.execute("CREATE INDEX ix_delivery_sender_id ON delivery (sender_id)")
    db.execute("CREATE INDEX ix_delivery_receiver_id ON delivery (receiver_id)")
    db.commit()
    db.close()
    store = SQLiteStore(path)
    try:
        names = {r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert not names & {"ix_delivery_sender_id", "ix_delivery_receiver_id"}
        assert [d.id for d in store.deliveries(sender_ids=["a"])] == ["d1"]
        assert [d.id for d in store.deliveries(receiver_ids=["b"])] == ["d1"]
        plan = " ".join(r[3] for r in store._db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM delivery WHERE sender_id IN (?)", ("a",)))
        assert "ix_delivery_sender_id_time" in plan
    finally:
        store.close()


def test_an_older_file_gains_the_new_columns(tmp_path):
    """A store made before a record field existed opens, gains its column (empty in old rows) and keeps its data."""
    from ontology.records import Sample

    path = tmp_path / "old.db"
    old = Sample(id="s1", plan="supervisory", sampled_id="o", product_name="酱油", conclusion="conforming")
    store = SQLiteStore(path)
    store.write([old])
    store.close()
    db = sqlite3.connect(path)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'sample'").fetchall():
        db.execute(f'DROP TRIGGER "{name}"')  # made before the triggers naming every column existed
    db.execute("ALTER TABLE sample DROP COLUMN missing")
    db.execute("ALTER TABLE sample DROP COLUMN task")
    db.commit()
    db.close()
    store = SQLiteStore(path)
    try:
        assert store.get("sample", "s1") == old
        store.write([Sample(id="s1", missing="producer", task="市抽")])
        got = store.get("sample", "s1")
        assert (got.missing, got.task, got.product_name) == ("producer", "市抽", "酱油")
        store.write([Sample(id="s1", task="省抽")])  # the triggers made again name the new columns too
        (_, v) = store.versions(["s1"])
        assert v.values["task"] == "市抽" and v.values["missing"] == "producer"
    finally:
        store.close()


def _raw(path) -> dict[str, list[tuple]]:
    """Every row of every table of a store file, with their types (the batch times left out)."""
    db = sqlite3.connect(path)
    out = {}
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
        cols = [r[1] for r in db.execute(f'PRAGMA table_info("{name}")') if not (name == "_batch" and r[1] == "time")]
        sel = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
        out[name] = db.execute(f'SELECT {sel} FROM "{name}" ORDER BY rowid').fetchall()
    db.close()
    return out


def _batches_of_writes(s: SQLiteStore) -> None:
    """Writes that insert, merge (placeholders), change (versions), tag sources and log changes, in small and
    bulk batches, with values the statements must carry exactly (floats, booleans, text with quotes and newlines)."""
    from graph.versions import WriteContext
    from ontology.records import Delivery, Operator, with_placeholders

    ops = [Operator(id=f"urn:foodtrace:operator:o{i}", kind="Retailer", name=f'店"{i}"\n\\南通', lat=0.1 + 0.2 * i,
                    lon=1 / (i + 3), haccp=i % 2 == 0, individual=None) for i in range(30)]
    stubs = [with_placeholders(Operator(id=f"urn:foodtrace:operator:o{i}", kind="Operator", name=f"o{i}"),
                               "kind", "name") for i in range(20, 40)]
    lots = [Lot(id=f"urn:foodtrace:lot:a:{i}", product_id="p", quantity=i / 7 if i % 3 else None, unit="KGM")
            for i in range(12_000)]
    moved = [Lot(id=f"urn:foodtrace:lot:a:{i}", product_id="p2", quantity=1e-300 * i) for i in range(0, 12_000, 5)]
    dels = [Delivery(id=f"urn:foodtrace:delivery:{i}", lot_id=f"urn:foodtrace:lot:a:{i}", sender_id="urn:foodtrace:operator:o1",
                     receiver_id="urn:foodtrace:operator:o2", time="2026-03-01T08:00:00+08:00", quantity=2.5,
                     unit="KGM") for i in range(9_000)]
    s.write(ops, context=WriteContext(kind="load", source="ops.csv", digest="d1"))
    s.write(stubs + lots, context=WriteContext(kind="load", source="lots.csv", digest="d2"))
    again = [Lot(id="urn:foodtrace:lot:a:5", product_id="p3", quantity=4.0)]  # an id twice in one statement
    s.write(moved[:2] + again + moved[2:] + dels + [Lot(id="urn:foodtrace:lot:a:1", product_id="p", quantity=float("inf"))],
            context=WriteContext(kind="load", source="more.csv", digest="d3"))
    s.write(stubs + lots, context=WriteContext(kind="load", source="lots.csv", digest="d2"))  # again: nothing changes
    s.write(ops[:3], context=WriteContext(kind="load", source="ops-again.csv", digest="d4"))  # a second source


def test_batches_written_as_values_lists_store_what_one_row_per_statement_stores(tmp_path, monkeypatch):
    """The batch path (multi-row VALUES statements of up to 2,000 rows) leaves the same rows, types, versions,
    source tags and change log as writing the rows in statements of 3 (one id repeated within a statement, the
    last statement of a batch shorter)."""
    from graph import sqlite as backend

    a = SQLiteStore(tmp_path / "many.db")
    _batches_of_writes(a)
    a.close()
    with monkeypatch.context() as m:
        for t in backend._TABLES.values():
            m.setattr(t, "values_rows", 3)
        b = SQLiteStore(tmp_path / "rows.db")
        _batches_of_writes(b)
        b.close()
    got, want = _raw(tmp_path / "many.db"), _raw(tmp_path / "rows.db")
    assert got.keys() == want.keys()
    for name in want:
        assert got[name] == want[name], name
    assert len(want["lot"]) == 12_000 and len(want["_version"]) > 2_000 and want["_change_log"]


def test_values_statements_stay_within_the_host_parameter_limit():
    from graph.sqlite import _MAX_PARAMS, _TABLES

    for t in _TABLES.values():
        assert t.values_rows >= 1 and t.values_rows * (len(t.columns) + 1) <= _MAX_PARAMS < 32766


def test_an_infinite_value_is_stored_as_it_is(tmp_path):
    s = SQLiteStore(tmp_path / "s.db")
    try:
        s.write([Lot(id="urn:foodtrace:lot:a:inf", product_id="p", quantity=float("-inf")),
                 Lot(id="urn:foodtrace:lot:a:2", product_id="p", quantity=2.5)])
        assert s.get("lot", "urn:foodtrace:lot:a:inf").quantity == float("-inf")
        assert s.get("lot", "urn:foodtrace:lot:a:2").quantity == 2.5
    finally:
        s.close()


def test_the_records_being_written_read_the_store_as_committed_without_waiting(tmp_path):
    """The thread iterating a write's records reads through its own connection: it sees the store as it was
    committed before the write (never half a write), while other readers are unchanged."""
    s = SQLiteStore(tmp_path / "s.db")
    try:
        s.write([Lot(id="urn:foodtrace:lot:a:0", product_id="p")])
        seen = []

        def records():
            for i in range(1, 30_000):
                yield Lot(id=f"urn:foodtrace:lot:a:{i}", product_id="p")
                if i % 6_000 == 0:  # batches of this write have gone to the writer thread by now
                    seen.append((s.get("lot", "urn:foodtrace:lot:a:0") is not None,
                                 s.get("lot", f"urn:foodtrace:lot:a:{i - 5_500}")))

        s.write(records())
        assert seen == [(True, None)] * 4
        assert s.get("lot", "urn:foodtrace:lot:a:29999") is not None and s.counts()["lot"] == 30_000
    finally:
        s.close()


def test_an_in_memory_store_reads_its_own_connection_during_a_write():
    s = SQLiteStore(":memory:")
    try:
        s.write([Lot(id="urn:foodtrace:lot:a:0", product_id="p")])
        seen = []

        def records():
            seen.append(s.get("lot", "urn:foodtrace:lot:a:0") is not None)
            yield Lot(id="urn:foodtrace:lot:a:1", product_id="p")

        s.write(records())
        assert seen == [True] and s.counts()["lot"] == 2
    finally:
        s.close()


def _backfilled(path) -> tuple[int, int]:
    """(frames in the write-ahead log, frames of it copied into the database), asked of a fresh connection."""
    db = sqlite3.connect(path)
    try:
        _, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return frames, copied
    finally:
        db.close()


def test_a_write_leaves_its_checkpoint_to_the_background(tmp_path, monkeypatch):
    """The commit of a write does not copy the log into the database (SQLite's automatic checkpoint is off
    for it); the background connection does, after it, and readers see the same records throughout."""
    import graph.sqlite as sq

    path = tmp_path / "s.db"
    monkeypatch.setattr(sq, "_PAGE_BYTES", 4096)  # the figures below count pages of 4 KiB
    s = SQLiteStore(path)
    try:
        started = []
        monkeypatch.setattr(sq._Checkpointer, "request", lambda self: started.append(self))  # asked, not run
        # more than SQLite's automatic checkpoint threshold (1,000 pages of the log)
        s.write([Lot(id=f"urn:foodtrace:lot:a:{i}", product_id="p" * 300) for i in range(20_000)])
        assert len(started) == 1
        (autocheckpoint,) = s._db.execute("PRAGMA wal_autocheckpoint").fetchone()
        assert autocheckpoint == 1000  # back on for the other writes
        # the log holds the write, not yet copied into the database file: the commit did not checkpoint
        assert (tmp_path / "s.db-wal").stat().st_size > 1000 * 4096
        assert path.stat().st_size < 1 << 20
        db = sqlite3.connect(path)
        assert db.execute("SELECT count(*) FROM lot").fetchone()[0] == 20_000  # readers see it all the same
        db.close()
        monkeypatch.undo()
        s._checkpointer.request()
        assert s._checkpointer.wait(30)
        frames, copied = _backfilled(path)
        assert frames > 1000 and copied == frames
        assert path.stat().st_size > 5 << 20  # copied by the background connection
        assert s.get("lot", "urn:foodtrace:lot:a:19999") is not None
    finally:
        s.close()
    assert not (tmp_path / "s.db-wal").exists()  # the last connection closed copies and removes the log


def test_the_log_starts_again_instead_of_growing_through_a_bulk_load(tmp_path, monkeypatch):
    """Write after write, the log is copied in the background and, once larger than the limit, the next write
    waits for that copy so the log starts again from its beginning: it stays bounded by the limit plus one write."""
    import graph.sqlite as sq

    monkeypatch.setattr(sq, "_WAL_WAIT_BYTES", 256 << 10)
    path = tmp_path / "s.db"
    s = SQLiteStore(path)
    sizes = []
    try:
        for k in range(40):
            s.write([Lot(id=f"urn:foodtrace:lot:b{k}:{i}", product_id="p" * 50) for i in range(1000)])
            sizes.append((tmp_path / "s.db-wal").stat().st_size)
        one_write = sizes[0]
        assert max(sizes) <= (256 << 10) + 3 * one_write, sizes
        assert s.counts()["lot"] == 40_000
    finally:
        s.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM lot").fetchone()[0] == 40_000
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_a_failed_write_turns_the_automatic_checkpoint_back_on(tmp_path):
    s = SQLiteStore(tmp_path / "s.db")
    try:
        def failing():
            yield Lot(id="urn:foodtrace:lot:c:1", product_id="p")
            raise StoreError("boom")

        with pytest.raises(StoreError):
            s.write(failing())
        assert s._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        assert s.get("lot", "urn:foodtrace:lot:c:1") is None
    finally:
        s.close()


def _index_names(path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        db.close()


def test_a_bulk_load_builds_the_indexes_of_the_largest_tables_after_its_writes(tmp_path):
    from graph.sqlite import _DEFERRABLE_INDEXES, _INDEX_NAMES

    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    try:
        with store.bulk_load(10):  # a small load keeps its indexes
            assert _index_names(path) >= _INDEX_NAMES
        with store.bulk_load(1_000_000):
            assert not _index_names(path) & _DEFERRABLE_INDEXES.keys()
            assert _index_names(path) >= _INDEX_NAMES - _DEFERRABLE_INDEXES.keys()  # samples, cases ... keep theirs
            store.write([Delivery(id="d1", lot_id="l1", sender_id="a", receiver_id="b",
                                  time="2026-03-01T08:00:00+08:00")])
            assert [d.id for d in store.deliveries(lot_ids=["l1"])] == ["d1"]  # answered, without the index
            # a store opened meanwhile (a reader, `foodtrace stats`) neither waits nor builds them
            other = SQLiteStore(path)
            other.close()
            assert not _index_names(path) & _DEFERRABLE_INDEXES.keys()
        assert _index_names(path) >= _INDEX_NAMES
        assert store._db.execute("SELECT count(*) FROM _deferred_index").fetchone()[0] == 0
        plan = " ".join(r[3] for r in store._db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM delivery WHERE lot_id IN (?)", ("l1",)))
        assert "ix_delivery_lot_id" in plan
        assert [d.id for d in store.deliveries(lot_ids=["l1"])] == ["d1"]
        # a load no larger than what the store holds keeps them too
        store.write([Lot(id=f"urn:foodtrace:lot:a:{i}", product_id="p") for i in range(300)])
        with store.bulk_load(200):
            assert _index_names(path) >= _INDEX_NAMES
    finally:
        store.close()


def test_a_bulk_load_that_died_leaves_its_indexes_to_the_next_open(tmp_path):
    import subprocess
    import sys

    from graph.sqlite import _DEFERRABLE_INDEXES, _INDEX_NAMES

    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.write([Delivery(id="d1", lot_id="l1", sender_id="a", receiver_id="b", time="2026-03-01T08:00:00+08:00")])
    store.close()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    db = sqlite3.connect(path)
    for name in _DEFERRABLE_INDEXES:  # what a bulk load's process does first, then it is killed
        db.execute(f'DROP INDEX "{name}"')
    db.executemany("INSERT INTO _deferred_index(name, pid) VALUES (?, ?)",
                   [(n, int(dead.stdout)) for n in _DEFERRABLE_INDEXES])
    db.commit()
    db.close()
    store = SQLiteStore(path)
    try:
        assert _index_names(path) >= _INDEX_NAMES
        assert store._db.execute("SELECT count(*) FROM _deferred_index").fetchone()[0] == 0
        assert [d.id for d in store.deliveries(lot_ids=["l1"])] == ["d1"]
    finally:
        store.close()


def test_a_failed_bulk_load_still_builds_the_indexes(tmp_path):
    from graph.sqlite import _INDEX_NAMES

    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    try:
        with pytest.raises(RuntimeError):
            with store.bulk_load(1_000_000):
                raise RuntimeError("the load broke")
        assert _index_names(path) >= _INDEX_NAMES
    finally:
        store.close()


def test_the_tail_of_a_bulk_load_builds_one_deferred_index_per_write(tmp_path):
    """Once the loader says only a small tail is left, each write builds one deferred index first (in its own
    transaction: a write that fails leaves that index for later); the rest are built at the end."""
    from graph.sqlite import _DEFERRABLE_INDEXES, _INDEX_NAMES

    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    deferred = set(_DEFERRABLE_INDEXES)
    try:
        with store.bulk_load(1_000_000) as bulk:
            store.write([Lot(id="urn:foodtrace:lot:a:1", product_id="p")])
            assert not _index_names(path) & deferred  # before the tail: none built
            bulk.tail()
            store.write([Lot(id="urn:foodtrace:lot:a:2", product_id="p")])
            assert len(_index_names(path) & deferred) == 1
            with pytest.raises(StoreError):
                store.write(_failing("urn:foodtrace:lot:a:3"))
            assert len(_index_names(path) & deferred) == 1  # rolled back with the write
            store.write([Lot(id="urn:foodtrace:lot:a:4", product_id="p")])
            assert len(_index_names(path) & deferred) == 2
            assert store.get("lot", "urn:foodtrace:lot:a:3") is None
        assert _index_names(path) >= _INDEX_NAMES
        assert store._db.execute("PRAGMA mmap_size").fetchone()[0] > 0  # reads map the file again
    finally:
        store.close()


def test_the_tail_shares_the_deferred_indexes_out_by_what_each_write_reads(tmp_path, monkeypatch):
    """Told what each write still to come reads, the store shares the deferred indexes out among them, the largest
    index to the write with the most room left (room: the rows that can be indexed while its input is read), so
    that a small file of the tail does not wait for a large index; a write that fails leaves its indexes to the
    next; none is left for after the load."""
    import graph.sqlite
    from graph.sqlite import _DEFERRABLE_INDEXES, _INDEX_NAMES

    monkeypatch.setattr(graph.sqlite, "_INDEX_ROWS_PER_WRITE", 0)
    monkeypatch.setattr(graph.sqlite, "_INDEX_ROWS_PER_BYTE", 1)
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    deferred = set(_DEFERRABLE_INDEXES)
    of_lots = {n for n in deferred if n.startswith("ix_lot_")}
    try:
        with store.bulk_load(1_000_000) as bulk:
            store.write([Lot(id=f"urn:foodtrace:lot:a:{i}", product_id="p") for i in range(5)])
            # room for two of the lot table's five indexes (5 rows each) in the first write, none in the others:
            # the first takes a third (it still has the most room), the others one each; empty tables' cost nothing
            bulk.tail([12, 0, 0])
            store.write([Lot(id="urn:foodtrace:lot:a:0", product_id="p")])
            built = _index_names(path) & deferred
            assert len(built & of_lots) == 3 and built - of_lots == deferred - of_lots
            store.write([Lot(id="urn:foodtrace:lot:a:1", product_id="p")])
            assert len(_index_names(path) & of_lots) == 4
            with pytest.raises(StoreError):
                store.write(_failing("urn:foodtrace:lot:a:9"))
            assert len(_index_names(path) & of_lots) == 4  # rolled back with the write ...
            store.write([Lot(id="urn:foodtrace:lot:a:2", product_id="p")])
            assert _index_names(path) & deferred == deferred  # ... and built by the next
        assert _index_names(path) >= _INDEX_NAMES
    finally:
        store.close()


def _content(path) -> dict[str, list[tuple]]:
    """Every table's rows as a sorted list, without the row numbers (rowid, seq) the order of inserts decides."""
    db = sqlite3.connect(path)
    out = {}
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
        cols = [r[1] for r in db.execute(f'PRAGMA table_info("{name}")')
                if r[1] != "seq" and not (name == "_batch" and r[1] == "time")]
        out[name] = sorted(db.execute(f'SELECT {", ".join(f"quote({c!r})" for c in cols)} FROM "{name}"').fetchall())
    db.close()
    return out


def test_a_batch_written_in_the_order_of_its_ids_stores_what_the_order_of_the_file_stores(tmp_path, monkeypatch):
    """The writer thread writes each batch in the order of its ids (a random-key B-tree filled leaf after leaf):
    rows of one id keep their order, so the later value wins and a placeholder never replaces a value; in the
    event table, whose unique hash drops the later of two events sharing one, the file's order stays."""
    import random

    from graph import sqlite as backend
    from graph.versions import WriteContext
    from ontology.records import Event, Operator, with_placeholders

    rnd = random.Random(5)
    ids = [f"urn:foodtrace:lot:{rnd.getrandbits(40):010x}" for _ in range(3000)]
    first = [Lot(id=i, product_id="p1", quantity=1.0) for i in ids]
    later = [Lot(id=i, product_id=f"p{k % 3}", quantity=float(k)) for k, i in enumerate(reversed(ids))]
    ops = [Operator(id="urn:foodtrace:operator:z", kind="Retailer", name="真名"),
           with_placeholders(Operator(id="urn:foodtrace:operator:z", kind="Operator", name="z"), "kind", "name"),
           with_placeholders(Operator(id="urn:foodtrace:operator:a", kind="Operator", name="a"), "kind", "name"),
           Operator(id="urn:foodtrace:operator:a", kind="Farm", name="农场")]
    events = [Event(id=f"urn:uuid:{9 - k}", type="ObjectEvent", time="2026-03-01T08:00:00+08:00", hash=f"h{k % 2}")
              for k in range(4)]  # ids 9, 8, 7, 6: hashes h0, h1, h0, h1 -> events 9 and 8 stay

    def writes(store: SQLiteStore) -> None:
        store.write(first[::2] + ops[:2] + events, context=WriteContext(kind="load", source="a.csv", digest="a"))
        store.write(first[1::2] + later + ops[2:] + first[:5],
                    context=WriteContext(kind="load", source="b.csv", digest="b"))

    monkeypatch.setattr(backend, "_BATCH", 1000)  # several batches per write
    a = SQLiteStore(tmp_path / "sorted.db")
    writes(a)
    got = {i: (r.product_id, r.quantity) for i, r in a.get_many("lot", ids).items()}
    assert [r.id for r in a.scan("event")] == ["urn:uuid:9", "urn:uuid:8"]
    z, o = a.get("operator", "urn:foodtrace:operator:z"), a.get("operator", "urn:foodtrace:operator:a")
    assert (z.kind, z.name, o.kind, o.name) == ("Retailer", "真名", "Farm", "农场")
    a.close()
    n = len(ids)
    assert got == {i: ("p1", 1.0) if i in ids[:5] else (f"p{(n - 1 - k) % 3}", float(n - 1 - k))
                   for k, i in enumerate(ids)}
    with monkeypatch.context() as m:
        for t in backend._TABLES.values():
            m.setattr(t, "sort", False)
        b = SQLiteStore(tmp_path / "file-order.db")
        writes(b)
        b.close()
    assert _content(tmp_path / "sorted.db") == _content(tmp_path / "file-order.db")
    db = sqlite3.connect(tmp_path / "sorted.db")  # and the batches were written sorted
    stored = [r[0] for r in db.execute("SELECT id FROM lot ORDER BY rowid LIMIT 1000")]
    db.close()
    assert stored == sorted(stored) and stored != ids[:2000:2]


def test_a_new_store_has_large_pages_and_an_older_file_keeps_its_own(tmp_path, monkeypatch):
    from graph import sqlite as backend

    SQLiteStore(tmp_path / "new.db").close()
    db = sqlite3.connect(tmp_path / "new.db")
    assert db.execute("PRAGMA page_size").fetchone()[0] == backend._PAGE_BYTES == 32768
    db.close()
    with monkeypatch.context() as m:
        m.setattr(backend, "_PAGE_BYTES", 4096)  # a file made before the pages grew
        s = SQLiteStore(tmp_path / "old.db")
        s.write([Lot(id="urn:foodtrace:lot:a:1", product_id="p")])
        s.close()
    s = SQLiteStore(tmp_path / "old.db")
    s.write([Lot(id=f"urn:foodtrace:lot:a:{i}", product_id="q") for i in range(2, 30_000)])
    assert s.get("lot", "urn:foodtrace:lot:a:1").product_id == "p" and s.counts()["lot"] == 29_999
    s.close()
    db = sqlite3.connect(tmp_path / "old.db")
    assert db.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_a_writes_first_batches_grow_to_full_size_and_store_what_full_batches_store(tmp_path, monkeypatch):
    """Within a bulk load the writer thread gets a write's first batch early (_FIRST_BATCH rows, each next batch twice
    as long up to _BATCH) instead of waiting for a full one; the rows stored are the same. Other writes hand full
    batches from the start."""
    from graph import sqlite as backend

    sizes: list[tuple[str, int]] = []
    flush = SQLiteStore._flush

    def counted(self, table, rows, **kw):
        if table is not None:
            sizes.append((table.name, len(rows)))
        return flush(self, table, rows, **kw)

    lots = [Lot(id=f"l{k:04d}", product_id=f"p{k % 3}", quantity=float(k)) for k in range(1000)]
    records = lots[:600] + [Delivery(id=f"d{k}", lot_id=f"l{k:04d}", sender_id="a", receiver_id="b",
                                     time="2026-03-01T08:00:00+08:00") for k in range(30)] + lots[600:] + lots[:7]
    monkeypatch.setattr(backend, "_BATCH", 100)
    monkeypatch.setattr(backend, "_FIRST_BATCH", 10)
    monkeypatch.setattr(backend, "_BULK_INDEX_MIN", 10)
    monkeypatch.setattr(SQLiteStore, "_flush", counted)
    with SQLiteStore(tmp_path / "ramp.db") as s:
        with s.bulk_load(10_000):
            s.write(records)
    assert sizes == [("lot", 10), ("lot", 20), ("lot", 40), ("lot", 80)] + [("lot", 100)] * 8 + [("lot", 57),
                                                                                                   ("delivery", 30)]
    sizes.clear()
    with SQLiteStore(tmp_path / "plain.db") as s:
        s.write(records)
    assert sizes == [("lot", 100)] * 10 + [("lot", 7), ("delivery", 30)]
    ramp, plain = _content(tmp_path / "ramp.db"), _content(tmp_path / "plain.db")
    assert ramp["lot"] == plain["lot"] and ramp["delivery"] == plain["delivery"] and len(ramp["lot"]) == 1000
    assert {t for t in ramp if ramp[t] != plain[t]} == {"_change_log"}  # one row for the bulk load's write


def test_event_batches_go_in_hash_order_where_that_stores_what_the_file_order_stores(tmp_path, monkeypatch):
    """A batch of a table with a unique column (events: their hash) is tried in the order of that column and kept
    where that inserted every row; where a row met a stored one or another of the batch (an id again, a hash again,
    an event whose hash changes), the file's order decides. A brute-force oracle: random writes with ids and hashes
    drawn from small pools store what writing every batch in the file's order stores."""
    import random

    from graph import sqlite as backend
    from graph.store import WriteContext
    from ontology.records import Event

    def event(i: int, h: int | None, t: int = 0) -> Event:
        return Event(id=f"urn:uuid:{i}", type="ObjectEvent", time=f"2026-03-01T08:{t:02d}:00+08:00",
                     hash=None if h is None else f"h{h:03d}")

    monkeypatch.setattr(backend, "_BATCH", 50)
    monkeypatch.setattr(backend, "_FIRST_BATCH", 50)
    fresh = [event(i, (i * 37) % 100) for i in range(100)]  # hashes out of the ids' order, none twice
    with SQLiteStore(tmp_path / "new.db") as s:
        s.write(fresh)
    db = sqlite3.connect(tmp_path / "new.db")
    stored = [r[0] for r in db.execute("SELECT hash FROM event ORDER BY rowid")]
    db.close()
    assert stored[:50] == sorted(h.hash for h in fresh[:50]) and stored[50:] == sorted(h.hash for h in fresh[50:])

    with SQLiteStore(tmp_path / "swap.db") as s:  # in hash order x would take h002 before y gives it up: an error
        s.write([event(1, 1), event(2, 2)])
        s.write([event(2, 9), event(1, 2)])
        assert {e.id: e.hash for e in s.scan("event")} == {"urn:uuid:1": "h002", "urn:uuid:2": "h009"}

    kept: list[bool] = []  # whether each batch tried in hash order was kept
    all_new = backend.SQLiteStore._all_new

    def noting(self, *args):
        kept.append(all_new(self, *args))
        return kept[-1]

    rng = random.Random(11)
    for trial in range(12):
        writes = [[event(rng.randrange(40), None if rng.random() < 0.02 else rng.randrange(30), rng.randrange(60))
                   for _ in range(rng.randrange(1, 120))] for _ in range(3)]
        writes.insert(rng.randrange(4), [event(100 + j, 100 + (j * 7) % 60) for j in range(rng.randrange(2, 60))])
        changed: dict[str, list[int]] = {}
        for name, by_unique in (("a.db", True), ("b.db", False)):
            with monkeypatch.context() as m:
                if by_unique:
                    m.setattr(backend.SQLiteStore, "_all_new", noting)
                else:
                    m.setattr(backend._TABLES["event"], "by_unique", None)
                with SQLiteStore(tmp_path / f"{trial}{name}") as s:
                    for k, records in enumerate(writes):  # none fails: an event taking a held hash is skipped
                        st = s.write(records, context=WriteContext(kind="load", source=f"{k}.json", digest=str(k)))
                        changed.setdefault(name, []).append(st.changed.get("event", 0))
        assert changed["a.db"] == changed["b.db"], trial
        assert _content(tmp_path / f"{trial}a.db") == _content(tmp_path / f"{trial}b.db"), trial
    assert True in kept and False in kept  # batches kept in hash order and batches written again in file order
