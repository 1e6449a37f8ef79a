"""A large CSV template read on several processes gives exactly the records, rejects and notes of one process."""

from __future__ import annotations

import csv
import multiprocessing
from pathlib import Path

import pytest

from generator import generate
from graph.sqlite import SQLiteStore
from loaders import forked, templates
from loaders.load import load_files
from ontology.records import RECORD_TYPES

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="no fork start method: templates are always read by one process")


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("tpar") / "net"
    generate(out, scale=4000, seed=5)
    files = [p for p in sorted(out.rglob("*")) if p.is_file() and p.parent.name != "truth" and p.name != "manifest.json"]
    return out, files


def _spoiled(src: Path, dst: Path) -> int:
    """A copy of a deliveries CSV with bad rows, rows that are no records and repeated rows spread over it."""
    with open(src, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    ship = header.index("发货时间")
    qty = header.index("数量")
    for i in range(7, len(body), 97):
        body[i][ship] = "not a time"
    for i in range(13, len(body), 211):
        body[i][qty] = "-5"
    out = []
    for i, row in enumerate(body):
        out.append(row)
        if i % 150 == 0:
            out.append(["合计", *[""] * (len(header) - 1)])  # a total row: a note
        if i % 40 == 0:
            out.append(list(body[max(0, i - 500)]))  # a row repeated far from its first: its ticket, certificate again
    with open(dst, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *out])
    return len(out)


def _read(path: Path, store, monkeypatch, processes: int):
    pieces = []
    real = forked.split

    def counting(*a):
        cut, ps = real(*a)
        pieces.extend(ps)
        return cut, ps

    with monkeypatch.context() as m:
        m.setattr(templates, "PARALLEL_MIN_ROWS", 100 if processes > 1 else 10**9)
        m.setattr(forked, "processes", lambda n, least, most=None: processes if n > least else 1)
        m.setattr(forked, "split", counting)
        rejects, notes = [], []
        records = list(templates.read(path, rejects, store=store, notes=notes))
    return records, rejects, notes, pieces


@pytest.mark.parametrize("processes", [2, 3])
def test_a_large_csv_read_on_several_processes_equals_one_process(network, tmp_path, monkeypatch, processes):
    out, files = network
    store = SQLiteStore(tmp_path / "s.db")
    try:
        # the operators, products and EPCIS documents first: the deliveries' references resolve against them
        load_files(store, [p for p in files if p.parent.name == "epcis" or p.stem in ("operators", "products")])
        src = sorted(out.rglob("deliveries*.csv"))[0]
        path = tmp_path / "deliveries.csv"
        assert _spoiled(src, path) > 2000
        one = _read(path, store, monkeypatch, 1)
        many = _read(path, store, monkeypatch, processes)
        assert not one[3] and many[3]  # the workers did read pieces of it
        assert len(one[1]) > 20 and len(one[2]) > 10  # rejects and notes in every piece
        assert many[1] == one[1]
        assert many[2] == one[2]
        assert len(many[0]) == len(one[0])
        assert many[0] == one[0]
    finally:
        store.close()


def test_a_load_reading_templates_on_several_processes_stores_the_same(network, tmp_path, monkeypatch):
    _, files = network
    dumps = []
    real = forked.split
    for name, least in (("one.db", 10**9), ("many.db", 200)):
        monkeypatch.setattr(templates, "PARALLEL_MIN_ROWS", least)
        monkeypatch.setattr(forked, "processes", lambda n, least, most=None: 2 if n > least else 1)
        split: list = []
        monkeypatch.setattr(forked, "split", lambda *a: split.append(a) or real(*a))
        store = SQLiteStore(tmp_path / name)
        try:
            outcomes = load_files(store, files)
            assert all(o.error is None for o in outcomes)
            if least == 200:  # the deliveries, certificates and trace codes were read on two processes
                assert len(split) >= 3
            assert sum(o.stats.total_received for o in outcomes) > 20_000
            dumps.append(([(o.path.name, o.stats.received, o.stats.changed, o.rejects, o.notes, o.warnings)
                           for o in outcomes],
                          {t.table: list(store.dump(t.table)) for t in RECORD_TYPES},
                          [(v.table, v.id, v.op, v.batch, v.values) for v in store.dump_versions()]))
        finally:
            store.close()
    assert dumps[0] == dumps[1]
