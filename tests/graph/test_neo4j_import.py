"""A Neo4j store built by the bulk importer (``foodtrace export neo4j-import`` then ``scripts/neo4j/import.sh``)
answers like the embedded store it was exported from and like the same files loaded through the driver.

The import runs into a second local server of its own (own home, port, pid file), so the test server the other
Neo4j tests use is left alone. It needs the Neo4j jars that ``scripts/neo4j/start.sh`` fetched into
``.cache/neo4j/lib`` (``make test`` starts that server first) and skips, saying so, where they are absent.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from graph.neo4j_import import import_arguments, write_import
from graph.store import Correction, WriteContext, open_store
from graph.view import ReadView
from loaders.load import load_files
from ontology.records import RECORD_TYPES, Delivery, Lot, Operator
from reasoning.stats import store_stats
from reasoning.trace import TraceOptions
from tests.conftest import REPO, _neo4j_uri_or_skip, missing_tool
from tests.reasoning.test_trace_backends import _assert_same

SCRIPTS = REPO / "scripts" / "neo4j"
#: records whose values test the CSV: quotes, commas, lines, an empty string, text in a number field
ODD = [
    Operator(id="urn:foodtrace:operator:odd", kind="Stall", name='王记"好肉",第3号摊位', name_en="",
             address="崇川区\r\n南大街 1 号",
             haccp=True, lat=32.0),
    Lot(id="urn:foodtrace:lot:odd:1", product_id="urn:foodtrace:product:odd", lot_number="L;1,2"),
    Delivery(id="urn:foodtrace:delivery:odd", lot_id="urn:foodtrace:lot:odd:1", sender_id="urn:foodtrace:operator:odd",
             receiver_id="urn:foodtrace:operator:odd", time="2026-03-01T08:00:00+08:00", quantity="约5"),  # type: ignore[arg-type]
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and p.parent.name != "truth"
            and p.name != "manifest.json"]


def _load(store, files: list[Path]) -> None:
    load_files(store, files)
    store.write(ODD, context=WriteContext(kind="load", source="odd.csv", digest="odd"))
    store.correct([Correction("operator", "urn:foodtrace:operator:odd", "name", "王记肉铺", "名称写错")],
                  WriteContext(kind="correction", actor="tester"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the embedded source store, the imported Neo4j store, the generated files)."""
    lib = REPO / ".cache" / "neo4j" / "lib"
    if shutil.which("java") is None or not (lib / ".complete").exists():
        missing_tool("no Java or no Neo4j jars in .cache/neo4j/lib (scripts/neo4j/start.sh fetches them)")
    from generator import generate

    tmp = tmp_path_factory.mktemp("neo4j-import")
    generate(tmp / "data", scale=400, seed=11)
    files = _files(tmp / "data")
    source = open_store(str(tmp / "source.db"))
    _load(source, files)
    summary = write_import(source, tmp / "export", compress=True)  # the importer reads the gzipped files
    assert summary.multiline and summary.total >= sum(source.counts().values())
    port = _free_port()
    env = {**os.environ, "NEO4J_URI": f"bolt://127.0.0.1:{port}", "NEO4J_HOME_DIR": str(tmp / "home"),
           "NEO4J_RUN_DIR": str(tmp / "run"), "NEO4J_HEAP": "512m", "NEO4J_PAGECACHE": "64m",
           "NEO4J_IMPORT_HEAP": "512m"}
    done = subprocess.run(["bash", str(SCRIPTS / "import.sh"), str(tmp / "export")], env=env, capture_output=True,
                          text=True, timeout=600)
    try:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        imported = open_store(env["NEO4J_URI"])
        try:
            yield source, imported, files
        finally:
            imported.close()
            source.close()
    finally:
        subprocess.run(["bash", str(SCRIPTS / "stop.sh")], env=env, capture_output=True, timeout=120)


def test_the_arguments_name_every_label(built):
    source, imported, _ = built
    args = import_arguments(Path(source.path).parent / "export")
    labels = {a.split("=", 2)[1] for a in args if a.startswith("--nodes=")}
    assert labels == {t.cls for t in RECORD_TYPES} | {"FtBatch", "FtVersion", "FtChange", "FtMeta"}
    assert "--multiline-fields=true" in args and "--id-type=string" in args


def test_same_records_sources_batches_and_versions(built):
    source, imported, _ = built
    assert imported.counts() == source.counts()
    for rtype in RECORD_TYPES:  # every record, field by field, in insertion order, with its source tags
        assert list(imported.dump(rtype.table)) == list(source.dump(rtype.table)), rtype.table
    assert imported.batches() == source.batches()
    assert list(imported.dump_versions()) == list(source.dump_versions())
    assert any(v.reason == "名称写错" for v in imported.dump_versions())
    odd = imported.get("operator", "urn:foodtrace:operator:odd")
    assert (odd.name, odd.name_en, odd.address, odd.haccp, odd.lat) == ("王记肉铺", "", "崇川区\r\n南大街 1 号", True, 32.0)
    assert imported.get("delivery", "urn:foodtrace:delivery:odd").quantity == "约5"
    assert imported.history("urn:foodtrace:operator:odd")["versions"] == source.history(
        "urn:foodtrace:operator:odd")["versions"]


def test_same_answers(built):
    source, imported, _ = built
    assert store_stats(ReadView(imported)) == store_stats(ReadView(source))
    deliveries = [d.id for d in source.scan("delivery")]
    lots = sorted({d.lot_id for d in source.scan("delivery")})
    n = _assert_same(source, imported, lots[::15] + deliveries[::100], [TraceOptions()])
    assert n > 10
    # readers following the change log are told that anything may have changed
    assert imported.change_seq() > source.change_seq()
    assert imported.changes_since(source.change_seq()) == [(imported.change_seq(), None)]


def test_same_constraints_and_indexes_as_the_driver_path(built):
    _, imported, _ = built
    driver = open_store(_neo4j_uri_or_skip())
    try:
        driver.clear()
        driver.write([Lot(id="urn:foodtrace:lot:x:1", product_id="p")])

        def schema(store) -> set[tuple]:
            with store._driver.session(database=store.database) as s:
                rows = [(r["name"], tuple(r["labelsOrTypes"] or ()), tuple(r["properties"] or ()), r["type"]) for r in
                        s.run("SHOW INDEXES YIELD name, labelsOrTypes, properties, type, state WHERE state = 'ONLINE'")]
                rows += [(r["name"], r["type"]) for r in s.run("SHOW CONSTRAINTS YIELD name, type")]
            return set(rows)

        assert schema(imported) == schema(driver)
    finally:
        driver.clear()
        driver.close()


def test_the_driver_built_store_holds_the_same(built):
    source, imported, files = built
    driver = open_store(_neo4j_uri_or_skip())
    try:
        driver.clear()
        _load(driver, files)
        assert driver.counts() == imported.counts()
        by_id = lambda dump: sorted(dump, key=lambda rec_tags: rec_tags[0].id)  # noqa: E731
        for rtype in RECORD_TYPES:  # the same records and tags; the order is each store's own insertion order (the
            # embedded store, whose export was imported, writes each batch in the order of its ids)
            assert by_id(driver.dump(rtype.table)) == by_id(imported.dump(rtype.table)), rtype.table
        strip = lambda bs: {k: (b.kind, b.actor, b.source, b.digest, b.reason, b.tag, b.received, b.changed)  # noqa: E731
                            for k, b in bs.items()}
        assert strip(driver.batches()) == strip(imported.batches())
    finally:
        driver.clear()
        driver.close()


def test_incremental_loads_go_on_through_the_driver(built):
    """A file loaded again changes nothing; a new record comes after the imported ones."""
    source, imported, files = built
    before = imported.counts()
    outcomes = load_files(imported, files[:3])
    assert all(o.stats.total_changed == 0 for o in outcomes)
    assert imported.counts() == before
    new = Lot(id="urn:foodtrace:lot:new:1", product_id="p")
    assert imported.write([new]).total_changed == 1
    assert list(imported.scan("lot"))[-1] == new
    assert imported.batches()[max(imported.batches())].changed == 1



def test_gzipped_files_hold_what_the_plain_ones_do(tmp_path):
    import gzip

    from generator import generate

    generate(tmp_path / "data", scale=200, seed=5)
    with open_store(str(tmp_path / "s.db")) as s:
        _load(s, _files(tmp_path / "data"))
        plain = write_import(s, tmp_path / "plain")
        packed = write_import(s, tmp_path / "packed", compress=True)
    assert plain.nodes == packed.nodes and plain.multiline == packed.multiline
    names = sorted(p.name for p in (tmp_path / "plain").glob("*.csv") if not p.name.endswith(".header.csv"))
    assert sorted(p.name[:-3] for p in (tmp_path / "packed").glob("*.csv.gz")) == names
    for name in names:
        assert gzip.decompress((tmp_path / "packed" / f"{name}.gz").read_bytes()) == \
            (tmp_path / "plain" / name).read_bytes(), name
    args = (tmp_path / "packed" / "import.args").read_text(encoding="utf-8")
    assert ".csv.gz" in args and args.replace(".csv.gz", ".csv").replace("packed", "plain") == \
        (tmp_path / "plain" / "import.args").read_text(encoding="utf-8")


def test_a_folder_of_other_files_is_refused(tmp_path):
    from ontology.errors import StoreError

    (tmp_path / "deliveries.csv").write_text("mine\n", encoding="utf-8")
    with open_store(str(tmp_path / "s.db")) as s, pytest.raises(StoreError, match="not empty"):
        write_import(s, tmp_path)
    assert (tmp_path / "deliveries.csv").read_text(encoding="utf-8") == "mine\n"
