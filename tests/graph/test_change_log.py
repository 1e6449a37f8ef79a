"""The embedded store's change log (followed by the service's public read model)."""

from __future__ import annotations

import pytest

from graph import sqlite as sq
from graph.store import open_store
from ontology.errors import StoreError
from ontology.records import Certificate, Delivery, Lot, Operator, Sample, TestResult, Transformation, \
    TransformationItem


def _d(i: int, lot: str) -> Delivery:
    return Delivery(id=f"d{i}", lot_id=lot, sender_id="a", receiver_id="b", time="2026-03-01T06:00:00+08:00")


def test_small_writes_log_each_lot_and_rewrites_log_nothing(store):
    """Both backends: the lots a write concerns, "*" (None) for anything, nothing for a write that changes nothing."""
    s = store
    start = s.change_seq()
    s.write([_d(1, "l1"), _d(2, "l2"), Certificate(id="c", kind="other", lot_id="l3"),
             Sample(id="s", plan="rapid", sampled_id="b", product_name="x", conclusion="conforming", lot_id="l4"),
             TestResult(id="t", sample_id="s", item="x", conclusion="conforming")])
    assert {lot for _, lot in s.changes_since(start)} == {"l1", "l2", "l3", "l4"}
    seq = s.change_seq()
    s.write([TestResult(id="t", sample_id="s", item="x", conclusion="nonconforming")])  # through its sample
    assert {lot for _, lot in s.changes_since(seq)} == {"l4"}
    seq = s.change_seq()
    s.write([Operator(id="a", kind="Farm", name="甲")])
    assert None in {lot for _, lot in s.changes_since(seq)}
    seq = s.change_seq()
    s.write([_d(1, "l1"), Operator(id="a", kind="Farm", name="甲")])  # nothing differs
    assert s.change_seq() == seq and s.changes_since(seq) == []
    s.write([Transformation(id="tr", station_id="a", time="2026-03-01T06:00:00+08:00", kind="cutting"),
             TransformationItem(id="o", transformation_id="tr", lot_id="l9", role="output")])
    s.write([Transformation(id="tr", station_id="a", time="2026-03-02T06:00:00+08:00", kind="cutting")])
    logged = s.changes_since(seq)
    assert [lot for _, lot in logged][-1] == "l9" and {lot for _, lot in logged} == {"l9"}  # the item; the moved transformation
    assert [q for q, _ in logged] == sorted(q for q, _ in logged) and logged[-1][0] == s.change_seq()
    assert s.changes_since(seq, limit=1) == logged[:1]
    s.clear()  # everything may have changed; the numbers go on
    assert s.change_seq() > logged[-1][0] and None in {lot for _, lot in s.changes_since(logged[-1][0])}


def test_bulk_write_logs_one_row(tmp_path, monkeypatch):
    monkeypatch.setattr(sq, "_BATCH", 100)
    monkeypatch.setattr(sq, "_BULK_RECORDS", 250)
    with open_store(tmp_path / "s.db") as s:
        s.write(_d(i, f"l{i}") for i in range(1000))
        rows = s.changes_since(0)
        assert rows[-1][1] is None and len(rows) < 300  # rows logged before the switch, then one for everything
        assert s._db.execute("SELECT bulk FROM _change_control").fetchone() == (0,)
        seq = s.change_seq()
        s.write([_d(5000, "lx")])
        assert s.changes_since(seq) == [(seq + 1, "lx")]


def test_a_bulk_write_whose_tables_each_stay_below_one_batch_logs_one_row_too(tmp_path, monkeypatch):
    """Logging goes off once a write passes _BULK_RECORDS records, also where none of its tables filled a batch
    before the records ended (their last batches are handed over at the end)."""
    monkeypatch.setattr(sq, "_BATCH", 1000)
    monkeypatch.setattr(sq, "_BULK_RECORDS", 250)
    with open_store(tmp_path / "s.db") as s:
        s.write([_d(i, f"l{i}") for i in range(200)] + [Lot(id=f"l{i}", product_id="p") for i in range(200)]
                + [Lot(id=f"m{i}", product_id="p") for i in range(300)])
        rows = s.changes_since(0)
        assert [lot for _, lot in rows] == [None]  # one row for everything, none before it
        seq = s.change_seq()
        s.write([_d(i, f"n{i}") for i in range(1000, 1100)] + [Lot(id=f"n{i}", product_id="p") for i in range(150)])
        assert len(s.changes_since(seq)) == 250 and None not in {lot for _, lot in s.changes_since(seq)}  # 250: logged
        assert s.counts()["delivery"] == 300 and s.counts()["lot"] == 650


def test_failed_bulk_write_leaves_logging_on(tmp_path, monkeypatch):
    monkeypatch.setattr(sq, "_BATCH", 100)
    monkeypatch.setattr(sq, "_BULK_RECORDS", 250)

    def records():
        for i in range(600):
            yield _d(i, f"l{i}")
        raise ValueError("the reader failed")

    with open_store(tmp_path / "s.db") as s:
        with pytest.raises((ValueError, StoreError)):
            s.write(records())
        assert s.change_seq() == 0 and s.counts()["delivery"] == 0
        s.write([Lot(id="l1", product_id="p")])
        assert s.changes_since(0) == [(1, "l1")]


def test_writes_inside_a_bulk_load_log_one_row_each_from_their_first_batch(tmp_path, monkeypatch):
    """A write's first batches are short (_FIRST_BATCH); within a bulk load (a first load, a rebuild) logging is off
    from the first one, small writes too: each write logs one row for everything. Outside, the rule of
    _BULK_RECORDS."""
    monkeypatch.setattr(sq, "_BATCH", 100)
    monkeypatch.setattr(sq, "_FIRST_BATCH", 10)
    monkeypatch.setattr(sq, "_BULK_RECORDS", 250)
    monkeypatch.setattr(sq, "_BULK_INDEX_MIN", 10)
    with open_store(tmp_path / "s.db") as s:
        with s.bulk_load(10_000):
            seq = s.change_seq()
            s.write(_d(i, f"l{i}") for i in range(1000))
            assert s.changes_since(seq) == [(seq + 1, None)]
            s.write([_d(5000, "lx")])
            assert s.changes_since(seq) == [(seq + 1, None), (seq + 2, None)]
        seq = s.change_seq()
        s.write([_d(5001, "ly"), _d(5002, "lz")])  # after it, each lot again
        assert s.changes_since(seq) == [(seq + 1, "ly"), (seq + 2, "lz")]
        seq = s.change_seq()
        s.write(_d(i, f"m{i}") for i in range(1000, 2000))
        rows = s.changes_since(seq)
        assert rows[-1][1] is None and 0 < len(rows) - 1 < 300 and None not in {lot for _, lot in rows[:-1]}
