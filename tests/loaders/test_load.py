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
