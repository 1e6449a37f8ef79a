"""A large EPCIS document derived on several processes gives exactly the records of the sequential loop."""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
from pathlib import Path

import orjson
import pytest

from graph.sqlite import SQLiteStore
from loaders import epcis
from generator import generate
from ontology.records import Lot, Operator

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="no fork start method: documents are always read by one process")

# bad events spread over the document, so the parent's share and the workers' pieces all reject some
_BAD = {
    5: lambda ev: ev.update(eventTime="2026-03-01 08:00"),
    4001: lambda ev: ev.update(unknownField=1),
    7002: lambda ev: ev.update(bizStep="not a step"),
    11003: lambda ev: ev.update(eventTimeZoneOffset="+25:00"),
}


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("par")
    generate(out / "gen", scale=30000, seed=11)
    (src,) = sorted((out / "gen").rglob("*.jsonld"))
    doc = orjson.loads(src.read_bytes())
    events = doc["epcisBody"]["eventList"]
    assert len(events) > 11003
    for i, spoil in _BAD.items():
        spoil(events[i])
    path = out / "events.jsonld"
    path.write_bytes(orjson.dumps(doc))
    return path


@contextlib.contextmanager
def _reading(monkeypatch, processes: int):
    """Documents of over 1,000 events read with ``processes`` processes (1: sequential); yields the list of the
    sizes of the pieces merged from workers."""
    merged = []
    original = epcis._Reader._merge

    def counting(self, packed):
        merged.append(len(packed[0]))
        return original(self, packed)

    with monkeypatch.context() as m:
        m.setattr(epcis, "PARALLEL_MIN_EVENTS", 1000)
        m.setattr(epcis, "_processes", lambda n, most=None: processes)
        m.setattr(epcis._Reader, "_merge", counting)
        yield merged


def _read(path: Path, monkeypatch, *, processes: int, store=None):
    """(records, rejects, pieces merged from workers) with ``processes`` processes (1: sequential)."""
    with _reading(monkeypatch, processes) as merged:
        rejects: list = []
        records = list(epcis.read(path, rejects, store=store))
    return records, rejects, merged


@pytest.fixture(scope="module")
def sequential(document):
    mp = pytest.MonkeyPatch()
    try:
        return _read(document, mp, processes=1)
    finally:
        mp.undo()


@pytest.mark.parametrize("processes", [2, 3])
def test_parallel_equals_sequential(document, sequential, monkeypatch, processes):
    records, rejects, merged = _read(document, monkeypatch, processes=processes)
    assert merged and sum(merged) > 0  # workers did derive part of the document
    assert len(sequential[1]) >= len(_BAD)
    assert {r.row for r in sequential[1]} == {f"event {i + 1}" for i in _BAD}
    assert rejects == sequential[1]
    assert len(records) == len(sequential[0])
    assert records == sequential[0]


def test_parallel_with_store_keeps_stored_entities(document, sequential, monkeypatch, tmp_path):
    ops = [r for r in sequential[0] if isinstance(r, Operator)]
    lots = list({r.id: r for r in sequential[0] if isinstance(r, Lot)}.values())
    known = ops[:3] + ops[-3:] + lots[::50]
    store = SQLiteStore(tmp_path / "s.db")
    store.write([dataclasses.replace(r, name="已登记 " + r.name, kind="Stall") for r in ops[:3] + ops[-3:]]
                + lots[::50])
    seq_records, seq_rejects, _ = _read(document, monkeypatch, processes=1, store=store)
    par_records, par_rejects, merged = _read(document, monkeypatch, processes=2, store=store)
    assert merged and len(known) > 10
    assert par_rejects == seq_rejects == sequential[1]
    assert par_records == seq_records == sequential[0]  # every stub is sent: the store keeps what it knows
    store.write(par_records)
    for r in ops[:3] + ops[-3:]:  # a placeholder leaves the stored value; what master data says replaces it
        got = store.get("operator", r.id)
        marks = (r.placeholders or "").split()
        assert got.name == ("已登记 " + r.name if "name" in marks else r.name)
        assert got.kind == ("Stall" if "kind" in marks else r.kind)


def test_failed_worker_piece_is_derived_by_the_reader(document, sequential, monkeypatch):
    def broken(token, lo, hi):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(epcis, "_work", broken)
    records, rejects, merged = _read(document, monkeypatch, processes=2)
    assert not merged
    assert rejects == sequential[1]
    assert records == sequential[0]


class _StopAfter:
    """A stop signal set after ``n`` looks (None: never)."""

    def __init__(self, n):
        self.n, self.looks = n, 0

    def is_set(self):
        self.looks += 1
        return self.n is not None and self.looks > self.n


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("stop_after", [0, 3, None])
def test_events_derived_ahead_then_read_give_the_sequential_records(document, sequential, monkeypatch, processes,
                                                                    stop_after):
    """What the loader's read-ahead derives while the file before commits (loaders.load._ReadAhead), taken over by
    the reading wherever it stopped, gives the records and rejects of one process reading from the start."""
    with _reading(monkeypatch, processes) as merged:
        stop = _StopAfter(stop_after)
        reader = ahead = epcis.derive_ahead(epcis.prepare(document), document.name, None, stop)
        share = reader.own_share()
        expected = share if stop_after is None else min(share, stop_after * epcis._AHEAD_STEP)
        assert reader.derived == expected and (expected == 0) == (not reader.ahead)
        assert processes == 1 or share < len(reader._plan[0])  # the workers' events are not derived ahead
        assert stop_after != 3 or {r.row for r in reader.rejects} == {"event 6"}  # a bad event among the first
        rejects: list = []
        records = list(epcis.read(document, rejects, prepared=ahead))
    assert rejects == sequential[1]
    assert records == sequential[0]
    assert (processes == 2) == bool(merged)  # the events after the own share still went to the worker
