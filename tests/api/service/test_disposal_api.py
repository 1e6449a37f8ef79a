"""核查处置 and 投诉举报 over HTTP: a district officer acts on their own district only (403 elsewhere); steps
are checked as on the command line (422 naming what is wrong, nothing written); the indicators."""

from __future__ import annotations

import base64

import pytest

from graph.store import open_store
from ontology.records import Complaint, DisposalCase, Operator, Sample

from .conftest import DISTRICT, LiveServer

SHOP = "urn:foodtrace:operator:shop"       # 崇川区
FAR = "urn:foodtrace:operator:far"         # 海安市
HAIAN = "urn:foodtrace:region:320685"


def _store(path: str) -> None:
    with open_store(path) as s:
        s.write([
            Operator(id=SHOP, kind="Supermarket", name="崇川某某超市", region_id=DISTRICT),
            Operator(id=FAR, kind="Supermarket", name="海安某某超市", region_id=HAIAN),
            Sample(id="urn:foodtrace:sample:a", plan="supervisory", sampled_id=SHOP, product_name="猪肉",
                   sampled_at="2026-02-03", conclusion="nonconforming"),
            Sample(id="urn:foodtrace:sample:b", plan="supervisory", sampled_id=FAR, product_name="鸡蛋",
                   sampled_at="2026-02-03", conclusion="nonconforming"),
            DisposalCase(id="urn:foodtrace:disposal_case:HC-A", number="HC-A", trigger="supervisory_sample",
                         operator_id=SHOP, district_id=DISTRICT, sample_id="urn:foodtrace:sample:a",
                         opened="2026-02-12", due="2026-05-13", rules_version="2026.1"),
            DisposalCase(id="urn:foodtrace:disposal_case:HC-B", number="HC-B", trigger="supervisory_sample",
                         operator_id=FAR, district_id=HAIAN, sample_id="urn:foodtrace:sample:b",
                         opened="2026-02-12", due="2026-05-13", rules_version="2026.1"),
            Complaint(id="urn:foodtrace:complaint:TS-B", operator_id=FAR, date="2026-03-02", kind="complaint"),
        ])


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("disposal-api")
    _store(str(d / "store.db"))
    s = LiveServer(str(d / "store.db"), str(d / "service.db"))
    try:
        yield s
    finally:
        s.stop()


def test_a_district_officer_sees_their_own_district_only(srv):
    with srv.client("district") as c:
        r = c.get("/disposal/cases", params={"as_of": "2026-03-01"})
        assert r.status_code == 200
        assert [x["number"] for x in r.json()["cases"]] == ["HC-A"] and r.json()["district"] == DISTRICT
        r = c.get("/disposal/cases", params={"district": "海安市"})
        assert r.status_code == 403 and "own district" in r.json()["detail"]
        assert c.get("/disposal/cases/HC-A").status_code == 200
        assert c.get("/complaints").json()["complaints"] == []
    with srv.client("investigator") as c:
        numbers = [x["number"] for x in c.get("/disposal/cases", params={"as_of": "2026-03-01"}).json()["cases"]]
        assert sorted(numbers) == ["HC-A", "HC-B"]


def test_a_district_officer_is_refused_on_another_districts_case(srv):
    step = {"kind": "送达", "date": "2026-02-13", "party": FAR}
    with srv.client("district") as c:
        r = c.get("/disposal/cases/HC-B")
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        r = c.post("/disposal/cases/HC-B/steps", json=step)
        assert r.status_code == 403 and "not on urn:foodtrace:region:320685" in r.json()["detail"]
        r = c.post("/complaints/TS-B/steps", json={"kind": "受理", "date": "2026-03-03"})
        assert r.status_code == 403
        r = c.get("/indicators", params={"from": "2026-02-01", "to": "2026-02-28", "district": "海安市"})
        assert r.status_code == 403
    with srv.client("investigator") as c:
        assert c.get("/disposal/cases/HC-B").json()["steps"] == []     # nothing was written


def test_steps_over_http_are_checked_and_recorded(srv):
    pdf = base64.b64encode(b"%PDF-1.4\n" + b"0" * 64).decode()
    with srv.client("district") as c:
        r = c.post("/disposal/cases/HC-A/steps", json={"kind": "整改", "date": "2026-02-14"})
        assert r.status_code == 422 and "needs serving the result first" in r.json()["detail"]
        r = c.post("/disposal/cases/HC-A/steps", json={"kind": "送达", "date": "2099-01-01", "party": SHOP})
        assert r.status_code == 422 and "in the future" in r.json()["detail"]
        r = c.post("/disposal/cases/HC-A/steps", json={"kind": "送达", "date": "2026-02-13", "party": SHOP,
                                                       "evidence": [{"name": "x.exe", "content": base64.b64encode(
                                                           b"MZ\x90\x00").decode()}]})
        assert r.status_code == 422 and "not of an accepted type" in r.json()["detail"]
        r = c.post("/disposal/cases/HC-A/steps", json={"kind": "送达", "date": "2026-02-13", "party": SHOP,
                                                       "evidence": [{"name": "送达回证.pdf", "content": pdf}]})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["step"]["kind"] == "served" and body["step"]["by"] == "测试-district" and len(body["evidence"]) == 1
        assert c.post("/disposal/cases/HC-404/steps", json={"kind": "送达", "date": "2026-02-13"}).status_code == 404
        steps = c.get("/disposal/cases/HC-A").json()["steps"]
        assert [(s["seq"], s["kind"], s["effective"]) for s in steps] == [(1, "served", True)]


def test_complaint_intake_and_indicators(srv):
    with srv.client("district") as c:
        r = c.post("/complaints", json={"number": "TS-A", "operator": SHOP, "received": "2026-03-02",
                                        "kind": "report", "rural": True})
        assert r.status_code == 201 and r.json()["complaint"]["kind"] == "report"
        r = c.post("/complaints", json={"number": "TS-C", "operator": FAR, "received": "2026-03-02"})
        assert r.status_code == 403                                    # another district's business
        r = c.post("/complaints", json={"number": "TS-D", "operator": "ghost", "received": "2026-03-02"})
        assert r.status_code == 404 and "ghost" in r.json()["detail"]
        r = c.get("/indicators", params={"from": "2026-02-01", "to": "2026-05-31"})
        assert r.status_code == 200
        data = r.json()
        assert data["districts"] == [DISTRICT, "urn:foodtrace:region:320600"]
        due = [v for v in data["values"] if v["indicator"] == "disposal_completion" and v["month"] == "2026-05"
               and v["district"] == DISTRICT]
        assert due[0]["denominator"] == 1 and due[0]["numerator"] == 0 and due[0]["status"] == "red"
    with srv.client("credit") as c:
        assert c.get("/indicators", params={"from": "2026-02-01", "to": "2026-02-28"}).status_code == 403
