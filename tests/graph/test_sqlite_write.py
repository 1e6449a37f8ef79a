"""Bulk-write details of the embedded store: GC state restored, indexes that look-ups need."""

from __future__ import annotations

import gc
import sqlite3

import pytest

from graph.sqlite import SQLiteStore
from ontology.errors import StoreError
from ontology.records import Lot


def test_write_restores_the_garbage_collector(tmp_path):
    s = SQLiteStore(tmp_path / "s.db")
    try:
        assert gc.isenabled()
        s.write([Lot(id="urn:foodtrace:lot:a:1", product_id="p")])
        assert gc.isenabled()

        def failing():
            yield Lot(id="urn:foodtrace:lot:a:2", product_id="p")
            raise StoreError("boom")

        with pytest.raises(StoreError):
            s.write(failing())
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
    assert {"ix_delivery_lot_id", "ix_delivery_sender_id", "ix_delivery_receiver_id", "ix_delivery_event_id",
            "ix_delivery_time"} <= names
    assert not names & {"ix_delivery_ticket_id", "ix_delivery_certificate_id"}


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
