"""Choosing the loader for a file (`--kind auto`)."""

from pathlib import Path

import pytest

from loaders.load import sniff_kind
from tests.conftest import shared_path

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name, kind", [
    ("operators.csv", "template"),
    ("deliveries_gbk.csv", "template"),
    ("samr_combined.csv", "samr"),
    ("samr_qualified.csv", "samr"),
    ("samr_unqualified.xls", "samr"),
])
def test_fixture_kinds(name, kind):
    assert sniff_kind(DATA / name) == kind


def test_real_announcement_is_samr():
    assert sniff_kind(shared_path("samples", "samr_unqualified_2019_sample.csv")) == "samr"


@pytest.mark.parametrize("header, kind", [
    ("序号,标称生产企业名称,被抽检单位名称,样品名称,不合格项目║检验结果║标准值", "samr"),
    ("样品编号,抽检类型,被抽样单位,食品名称,抽样日期,结论", "template"),
    ("发货方,收货方,发货时间,数量,单位,批次标识", "template"),
])
def test_header_variants(tmp_path, header, kind):
    p = tmp_path / "t.csv"
    p.write_text(header + "\n", encoding="utf-8")
    assert sniff_kind(p) == kind


@pytest.mark.parametrize("name, head, kind", [("a.json", "{}", "epcis"), ("a.xml", "<x/>", "epcis"),
                                              ("a.dat", "<?xml version='1.0'?>", "epcis"), ("a.dat", "a,b", "template")])
def test_by_suffix_and_content(tmp_path, name, head, kind):
    p = tmp_path / name
    p.write_text(head, encoding="utf-8")
    assert sniff_kind(p) == kind


def test_a_bulk_load_stores_what_a_load_keeping_its_indexes_stores(tmp_path, monkeypatch):
    """The embedded store's bulk-load mode (indexes of the largest tables built after the load) changes the speed
    only: every table, source tag and version is the same as when the indexes are kept up row by row."""
    import graph.sqlite
    from generator import generate
    from graph.sqlite import SQLiteStore
    from loaders.load import load_files
    from ontology.records import RECORD_TYPES

    out = tmp_path / "net"
    generate(out, scale=1500, seed=3)
    files = [p for p in sorted(out.rglob("*")) if p.is_file() and p.parent.name != "truth" and p.name != "manifest.json"]
    dumps = []
    for name, least in (("kept.db", 10**12), ("bulk.db", 0)):
        monkeypatch.setattr(graph.sqlite, "_BULK_INDEX_MIN", least)
        store = SQLiteStore(tmp_path / name)
        try:
            built = []
            real = store._ddl_batch
            monkeypatch.setattr(store, "_ddl_batch", lambda stmts, deferred: (built.append(len(stmts)),
                                                                              real(stmts, deferred)))
            outcomes = load_files(store, files)
            assert all(o.error is None for o in outcomes)
            assert bool(built) == (least == 0)
            dumps.append(({t.table: list(store.dump(t.table)) for t in RECORD_TYPES},
                          [(v.table, v.id, v.op, v.batch, v.values) for v in store.dump_versions()]))
        finally:
            store.close()
    assert dumps[0] == dumps[1]
    assert sum(len(v) for v in dumps[0][0].values()) > 10_000


def _network_files(out: Path) -> list[Path]:
    return [p for p in sorted(out.rglob("*")) if p.is_file() and p.parent.name != "truth" and p.name != "manifest.json"]


def test_reading_the_next_file_ahead_stores_what_reading_it_in_turn_stores(tmp_path, monkeypatch):
    """While the store commits a file, the next file's digest is taken and an EPCIS document read and parsed on a
    helper thread (loaders.load._ReadAhead): the store ends up exactly as when each file is read in its turn, and
    the documents after the first are in fact parsed ahead."""
    import threading

    import generator.write
    import loaders.epcis
    import loaders.load
    from generator import generate
    from graph.sqlite import SQLiteStore
    from loaders.load import load_files
    from ontology.records import RECORD_TYPES

    out = tmp_path / "net"
    monkeypatch.setattr(generator.write, "EVENTS_PER_DOCUMENT", 400)  # several documents
    generate(out, scale=1500, seed=5)
    files = _network_files(out)
    real_prepare = loaders.epcis.prepare
    prepared_on: dict[str, str] = {}

    def prepare(path):
        prepared_on[Path(path).name] = threading.current_thread().name
        return real_prepare(path)

    monkeypatch.setattr(loaders.epcis, "prepare", prepare)
    released: list[list] = []  # the events of each document read ahead, freed a slice at a time once it is written

    def bulky(prepared):
        lists = real_bulky(prepared)
        released.extend(lists)
        assert lists and all(lists), "the document's events are still there when it is written"
        return lists

    real_bulky = loaders.epcis.bulky
    monkeypatch.setattr(loaders.epcis, "bulky", bulky)
    monkeypatch.setattr(loaders.load._Release, "SLICE", 50)
    dumps = []
    real_then = loaders.load._then
    for name, ahead in (("in-turn.db", False), ("ahead.db", True)):
        prepared_on.clear()
        monkeypatch.setattr(loaders.load, "_then", real_then if ahead else lambda records, after: records)
        store = SQLiteStore(tmp_path / name)
        try:
            outcomes = load_files(store, files)
            assert all(o.error is None for o in outcomes)
            dumps.append(({t.table: list(store.dump(t.table)) for t in RECORD_TYPES},
                          [(v.table, v.id, v.op, v.batch, v.values) for v in store.dump_versions()],
                          [(b.id, b.kind, b.source, b.digest, b.received, b.changed)
                           for b in store.batches().values()]))
        finally:
            store.close()
        epcis = [o.path.name for o in outcomes if o.kind == "epcis"]
        assert len(epcis) >= 2 and set(prepared_on) == set(epcis)
        helpers = {n for n, thread in prepared_on.items() if thread == "foodtrace-read-ahead"}
        assert helpers == (set(epcis) if ahead else set()), prepared_on  # each follows another file
        assert len(released) == (len(epcis) if ahead else 0) and not any(released)  # all freed by the end
    assert dumps[0] == dumps[1]


def test_a_file_the_helper_cannot_read_ahead_fails_as_it_does_alone(tmp_path):
    """A document after another file that is not JSON, or is gone when its turn comes, is reported as when it is
    loaded by itself; the files around it load."""
    from graph.sqlite import SQLiteStore
    from loaders.load import load_files

    good = tmp_path / "a_good.json"
    good.write_text('{"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"], '
                    '"type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2025-01-01T00:00:00Z", '
                    '"epcisBody": {"eventList": []}}', encoding="utf-8")
    bad = tmp_path / "b_bad.json"
    bad.write_text('{"type": "EPCISDocument", ', encoding="utf-8")
    after = tmp_path / "c_after.json"
    after.write_text(good.read_text(encoding="utf-8"), encoding="utf-8")
    with SQLiteStore(tmp_path / "alone.db") as store:
        alone = load_files(store, [bad])[0].error
    assert alone and "not JSON" in alone
    with SQLiteStore(tmp_path / "s.db") as store:
        outcomes = load_files(store, [good, bad, after])
    assert [o.error for o in outcomes] == [None, alone, None]


def test_files_load_at_a_short_switch_interval_and_the_interpreters_comes_back(tmp_path):
    """While files load the GIL changes hands every SWITCH_INTERVAL (the SQLite writer thread waits for it after each
    statement); the interpreter's own interval is back afterwards, also when a file fails."""
    import sys

    from graph.sqlite import SQLiteStore
    from loaders import load

    seen = []
    before = sys.getswitchinterval()
    with SQLiteStore(tmp_path / "s.db") as store:
        outcomes = load.load_files(store, [DATA / "operators.csv", tmp_path / "missing.csv"],
                                   on_file_start=lambda path, kind: seen.append(sys.getswitchinterval()))
    assert seen == [load.SWITCH_INTERVAL] * 2 and load.SWITCH_INTERVAL < before
    assert outcomes[0].error is None and outcomes[0].stats.total_received > 0 and outcomes[1].exit_code == 2
    assert sys.getswitchinterval() == before


@pytest.mark.parametrize("collecting", [True, False])
@pytest.mark.parametrize("acyclic", [True, False])
def test_files_load_with_the_cyclic_collector_off_and_its_state_comes_back(tmp_path, collecting, acyclic):
    """No collection between two files of a load (it would scan the next file, read ahead, to find no garbage): the
    collector is off from the first file to the last, and as it was before afterwards, also when a file fails. Not
    where the store's writes make cycles (``Store.acyclic_writes``: a client of a server): the collector stays as
    it was, or the cycles would pile up for the whole load."""
    import gc

    from graph.sqlite import SQLiteStore
    from loaders import load

    class Cyclic(SQLiteStore):
        acyclic_writes = False

    seen = []
    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        with (SQLiteStore if acyclic else Cyclic)(tmp_path / "s.db") as store:
            outcomes = load.load_files(store, [DATA / "operators.csv", tmp_path / "missing.csv", DATA / "samr_combined.csv"],
                                       on_file_start=lambda path, kind: seen.append(gc.isenabled()),
                                       on_file_done=lambda outcome: seen.append(gc.isenabled()))
        assert gc.isenabled() is collecting
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [collecting and not acyclic] * 6
    assert outcomes[1].exit_code == 2 and all(o.error is None and o.stats.total_received for o in outcomes[::2])


def test_the_large_lists_of_a_files_reading_are_freed_on_a_thread_of_their_own():
    """loaders.load._Release: a reader's ``bulky`` lists, emptied a slice at a time off the loading thread; short
    lists are left to the loading thread; close() waits for the last one."""
    import threading

    from loaders import load
    from loaders.tables import Table

    emptied_on = []

    class Watched(list):
        def __delitem__(self, key):
            emptied_on.append(threading.current_thread().name)
            super().__delitem__(key)

    rows = Watched((k, ["a", "b"]) for k in range(2500))
    short = [(1, ["a"])] * 10
    release = load._Release()
    release.put("template", (Table(path="a.csv", header=["a", "b"], header_row=1, rows=rows), "deliveries"))
    release.put("template", (Table(path="b.csv", header=["a"], header_row=1, rows=short), "deliveries"))
    release.put("samr", object())  # a reader without bulky lists
    release.close()
    assert rows == [] and len(short) == 10
    assert emptied_on == ["foodtrace-release"] * 3  # 2500 rows: 1000, 1000, 500
