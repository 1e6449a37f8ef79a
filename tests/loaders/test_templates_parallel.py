"""A large CSV template read on two processes gives exactly the records, rejects and notes of one process."""

from __future__ import annotations

import csv
import multiprocessing
from pathlib import Path

import pytest

from generator import generate
from graph.sqlite import SQLiteStore
from loaders import forked, templates
from loaders.base import ReadOptions
from loaders.load import load_files, plan_order

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="no fork start method: templates are always read by one process")

HEADER_KEYS = {"发货时间": "ship_time", "数量": "quantity", "发货方": "from", "合格证明编号": "certificate_number",
               "合格证明类型": "certificate_kind", "本地编号": "id"}


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> tuple[Path, list[Path]]:
    """A generated city, and a store holding every file loaded before its deliveries."""
    out = tmp_path_factory.mktemp("tpar")
    generate(out / "gen", scale=6000, seed=13)
    files = [p for p in sorted((out / "gen").rglob("*")) if p.is_file() and p.parent.name != "truth"
             and p.name != "manifest.json"]
    before = []
    for path, _, template in plan_order(files):
        if template == "deliveries":
            break
        before.append(path)
    with SQLiteStore(out / "before.db") as store:
        assert all(o.error is None for o in load_files(store, before))
    return out, files


@pytest.fixture(scope="module")
def deliveries(network) -> Path:
    """The city's delivery rows, spoiled in both halves: bad rows, a row repeated across the halves, a stall no
    store knows named in both halves, a total row, and a certificate without its kind in the worker's half (its
    look-up is not made ahead: the reading process finishes that piece)."""
    out, files = network
    (src,) = [p for p in files if p.name.startswith("deliveries")]
    with open(src, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    col = {HEADER_KEYS[h]: i for i, h in enumerate(header) if h in HEADER_KEYS}
    n = len(body)
    assert n > 2000
    body[10][col["ship_time"]] = "2025-13-45 08:00"
    body[n // 2 + 7][col["quantity"]] = "很多"
    body[n - 3][col["ship_time"]] = ""
    body[n - 20] = list(body[20])  # the same delivery again, in the worker's half
    for at in (30, n // 2 + 40, n - 40):
        body[at][col["from"]] = "城东菜场张三摊"  # a stall named only here: one stub, from the first row naming it
    body[n // 2 + 60][col["certificate_number"]] = "HGZ-NO-KIND-1"
    body[n // 2 + 60][col["certificate_kind"]] = ""
    total = [""] * len(header)
    total[col["id"]], total[col["quantity"]] = "合计", "12345"
    body.insert(n - 100, total)
    path = out / "deliveries_spoiled.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([header, *body])
    return path


def _read(path: Path, store_path: Path, monkeypatch, *, processes: int) -> tuple[list, list, list, dict]:
    """(records, rejects, notes, what the two-process reader did) with ``processes`` processes (1: one)."""
    seen = {"merged": 0, "finished_here": []}
    merge, rows = templates._Parallel._merge, templates._Parallel._rows

    def counting_merge(self, kinds, flags, values):
        seen["merged"] += len(kinds)
        return merge(self, kinds, flags, values)

    def counting_rows(self, lo, hi, ctx, notes):
        if lo:
            seen["finished_here"].append(lo)
        return rows(self, lo, hi, ctx, notes)

    with monkeypatch.context() as m:
        m.setattr(templates, "PARALLEL_MIN_BYTES", 0)
        m.setattr(templates, "PARALLEL_MIN_ROWS", 100)
        m.setattr(templates, "LOCAL_MIN_PROCESSES", 2)
        m.setattr(forked, "processes", lambda items, least, most=None: processes)
        m.setattr(templates._Parallel, "_merge", counting_merge)
        m.setattr(templates._Parallel, "_rows", counting_rows)
        rejects: list = []
        notes: list = []
        with SQLiteStore(store_path) as store:
            records = list(templates.read(path, rejects, store=store, notes=notes,
                                          options=ReadOptions(processes=processes)))
    return records, rejects, notes, seen


def test_two_processes_read_exactly_what_one_reads(network, deliveries, monkeypatch):
    out, _ = network
    one, one_rejects, one_notes, _ = _read(deliveries, out / "before.db", monkeypatch, processes=1)
    two, two_rejects, two_notes, seen = _read(deliveries, out / "before.db", monkeypatch, processes=2)
    assert seen["merged"] > len(one) // 3  # the worker read its share ...
    assert len(seen["finished_here"]) == 1  # ... but for the piece the certificate without its kind stopped
    assert two == one
    assert [(r.row, r.field, r.reason) for r in two_rejects] == [(r.row, r.field, r.reason) for r in one_rejects]
    assert len(one_rejects) == 3 and two_notes == one_notes and len(one_notes) == 1
    stubs = [r for r in one if r.table == "operator" and r.name == "城东菜场张三摊"]
    assert len(stubs) == 1
    deliveries_ = [r for r in one if r.table == "delivery"]
    assert len(deliveries_) - len({r.id for r in deliveries_}) == 1  # the repeated row is read twice


def test_a_load_with_two_processes_stores_what_one_stores(network, monkeypatch, tmp_path):
    """Every table, version and batch of a whole city loaded with the large templates read on two processes is
    the same as with one."""
    from ontology.records import RECORD_TYPES

    _, files = network
    dumps = []
    for name, processes in (("one.db", 1), ("two.db", 2)):
        with monkeypatch.context() as m:
            m.setattr(templates, "PARALLEL_MIN_BYTES", 0)
            m.setattr(templates, "PARALLEL_MIN_ROWS", 100)
            m.setattr(templates, "LOCAL_MIN_PROCESSES", 2)
            m.setattr(forked, "processes", lambda items, least, most=None: processes)
            with SQLiteStore(tmp_path / name) as store:
                outcomes = load_files(store, files, options=ReadOptions(processes=processes))
                assert all(o.error is None for o in outcomes)
                dumps.append(({t.table: list(store.dump(t.table)) for t in RECORD_TYPES},
                              [(v.table, v.id, v.op, v.batch, v.values) for v in store.dump_versions()],
                              [(b.id, b.kind, b.digest, b.received, b.changed) for b in store.batches().values()],
                              [(o.path.name, len(o.rejects), len(o.notes)) for o in outcomes]))
    assert dumps[0] == dumps[1]
    assert sum(len(v) for v in dumps[0][0].values()) > 20_000


def test_a_worker_that_fails_leaves_its_rows_to_the_reading_process(network, deliveries, monkeypatch):
    out, _ = network
    one, one_rejects, _, _ = _read(deliveries, out / "before.db", monkeypatch, processes=1)
    monkeypatch.setattr(templates, "_work", lambda token, lo, hi: 1 / 0)
    two, two_rejects, _, seen = _read(deliveries, out / "before.db", monkeypatch, processes=2)
    assert seen["merged"] == 0 and len(seen["finished_here"]) == templates.PIECES_PER_WORKER
    assert two == one and len(two_rejects) == len(one_rejects)


def test_into_the_embedded_store_fewer_processes_than_its_least_read_with_one(network, deliveries, monkeypatch):
    """Where fewer processes than LOCAL_MIN_PROCESSES may run, a template is read into the embedded store by one."""
    out, _ = network
    monkeypatch.setattr(templates, "LOCAL_MIN_PROCESSES", 3)
    monkeypatch.setattr(templates, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(templates, "PARALLEL_MIN_ROWS", 100)
    monkeypatch.setattr(forked, "processes", lambda items, least, most=None: 2)
    monkeypatch.setattr(forked, "start_pool", lambda procs: pytest.fail("no worker is forked"))
    with SQLiteStore(out / "before.db") as store:
        records = list(templates.read(deliveries, [], store=store))
    assert sum(r.table == "delivery" for r in records) > 2000
