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
