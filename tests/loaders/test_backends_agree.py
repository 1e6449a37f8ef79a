"""The same files loaded into the embedded store and into Neo4j give the same records and counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.store import open_store
from loaders.load import load_files
from ontology.records import RECORD_TYPES
from tests.conftest import _neo4j_uri_or_skip, shared_path


def conformance_files() -> list[Path]:
    root = shared_path("conformance", "epcis")
    files = sorted((root / "gs1" / "examples").rglob("*.jsonld"))
    for binding in ("json", "xml"):
        for folder in ("Documents", "Events"):
            files += sorted((root / "openepcis" / binding / "Capture" / folder).glob("*.*"))
    return files


def snapshot(store) -> dict[str, set]:
    return {t.table: set(store.scan(t.table)) for t in RECORD_TYPES}


def load_both(tmp_path, files):
    sqlite = open_store(str(tmp_path / "s.db"))
    neo = open_store(_neo4j_uri_or_skip())
    neo.clear()
    try:
        a = load_files(sqlite, files)
        b = load_files(neo, files)
        yield sqlite, neo, a, b
    finally:
        sqlite.close()
        neo.close()


@pytest.fixture
def conformance_loaded(tmp_path):
    yield from load_both(tmp_path, conformance_files())


def test_conformance_documents_same_counts_and_records(conformance_loaded):
    sqlite, neo, a, b = conformance_loaded
    assert [(o.path.name, o.exit_code, len(o.rejects)) for o in a] == [
        (o.path.name, o.exit_code, len(o.rejects)) for o in b]
    assert sqlite.counts() == neo.counts()
    assert sqlite.counts()["event"] > 100
    assert snapshot(sqlite) == snapshot(neo)
    probe = "urn:epc:class:lgtin:4012345.012345.998877"
    assert sqlite.resolve(probe) == neo.resolve(probe)


@pytest.fixture
def synthetic_loaded(tmp_path):
    from generator import generate

    out = tmp_path / "syn"
    generate(out, scale=1000, seed=5)
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.parent.name != "truth"
                   and p.name != "manifest.json")
    yield from load_both(tmp_path, files)


def test_synthetic_network_same_on_both_backends(synthetic_loaded):
    sqlite, neo, a, b = synthetic_loaded
    assert all(o.exit_code == 0 for o in a + b)
    assert sqlite.counts() == neo.counts()
    assert snapshot(sqlite) == snapshot(neo)
    lots = [d.lot_id for d in sqlite.deliveries()][:50]
    assert sqlite.deliveries(lot_ids=lots) == neo.deliveries(lot_ids=lots)


@pytest.fixture
def realdata_loaded(tmp_path):
    files = [shared_path("realdata", "cn_sampling_2015_2021_qualified.csv"),
             shared_path("realdata", "cn_sampling_2015_2021_unqualified.csv")]
    yield from load_both(tmp_path, files)


def test_real_announcements_same_on_both_backends(realdata_loaded):
    """Real announcements (issue 17): samples without a sampled unit, sources and their coverage, name aliases."""
    sqlite, neo, a, b = realdata_loaded
    assert [(o.exit_code, len(o.rejects), len(o.warnings)) for o in a] == [
        (o.exit_code, len(o.rejects), len(o.warnings)) for o in b]
    assert sqlite.counts() == neo.counts()
    assert snapshot(sqlite) == snapshot(neo)
