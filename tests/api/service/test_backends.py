"""The service answers the same over the embedded store and over Neo4j (store reads through the thread
pool there), and the public read model follows Neo4j's change log as it follows the embedded store's."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from graph.store import open_store

from ...conftest import _neo4j_uri_or_skip
from . import dataset as D
from .conftest import LiveServer


@pytest.fixture
def neo4j_server(tmp_path):
    uri = _neo4j_uri_or_skip()
    with open_store(uri) as s:
        s.clear()
        s.write(D.records())
    server = LiveServer(uri, str(tmp_path / "service.db"))
    try:
        yield server
    finally:
        server.stop()
        with open_store(uri) as s:
            s.clear()


PATHS = [f"/01/{D.PORK_GTIN}/10/{D.PORK_LOT_NUMBER}", f"/01/{D.GREENS_GTIN}/10/CX-1105",
         "/t/" + quote(D.PORK_TRACE_CODE), "/t/" + quote(D.GREENS_TRACE_CODE)]


def test_public_and_trace_answers_equal_on_both_backends(server, neo4j_server):
    def answers(srv):
        out = {}
        with srv.client() as c:
            for p in PATHS:
                r = c.get(p, headers={"Accept": "application/json"})
                assert r.status_code == 200, (p, r.text)
                body = r.json()
                for k in ("digital_link", "links"):  # they name the server's own address
                    body.pop(k, None)
                out[p] = body
            out["404"] = c.get("/01/06901234567892/10/NOPE", headers={"Accept": "application/json"}).status_code
        with srv.client("investigator") as c:
            for d in ("down", "up"):
                r = c.get(f"/trace/{d}", params={"id": D.PORK_LOT})
                assert r.status_code == 200, r.text
                out[d] = r.json()
        return out

    assert answers(server) == answers(neo4j_server)


def test_neo4j_read_model_follows_writes_from_another_process(neo4j_server):
    from ontology.records import Sample, TestResult

    pork = f"/01/{D.PORK_GTIN}/10/{D.PORK_LOT_NUMBER}"
    with neo4j_server.client(headers={"Accept": "application/json"}) as c:
        assert c.get(pork).json()["notices"] == []
        assert c.get(pork).json()["notices"] == []  # served from the read model
        with open_store(neo4j_server.store) as s:
            s.write([Sample(id="urn:foodtrace:sample:rapid-pig", plan="rapid", sampled_id=D.SLAUGHTER,
                            product_name="生猪", lot_id=D.PIG_LOT, sampled_at="2026-11-01", conclusion="nonconforming"),
                     TestResult(id="urn:foodtrace:test_result:rapid-pig:1", sample_id="urn:foodtrace:sample:rapid-pig",
                                item="莱克多巴胺", hazard_class="illegal_additive", conclusion="nonconforming")])
        notices = c.get(pork).json()["notices"]
    assert [(n["lot_id"], n["items"]) for n in notices] == [(D.PIG_LOT, ["莱克多巴胺"])]
    from graph.store import open_store as _open
    from api.service.projection import PublicViews

    with _open(neo4j_server.store) as s:
        pv = PublicViews(neo4j_server.service_db, s)
        try:
            assert pv.enabled and pv.stats()["views"] >= 1
        finally:
            pv.close()
