"""The credit team's endpoints through real HTTP: grades, explanations, history, overrides.

The service and ``foodtrace risk ...`` share their code (:mod:`api.grades`); these tests check that they
give the same answers on the same store, both ways (an override set over HTTP shows in the CLI and one
set on the command line shows over HTTP).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from . import dataset as D

PROBLEM = "application/problem+json"


def cli(store: str, *args: str) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "api.cli", *args, "--store", store], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r


def cli_json(store: str, *args: str) -> dict:
    return json.loads(cli(store, *args).stdout)


def tail(x: str) -> str:
    return x.rsplit(":", 1)[-1]


# -- the list ----------------------------------------------------------------------------------------------


def test_grades_list(server):
    with server.client("analyst") as c:
        r = c.get("/grades")
    assert r.status_code == 200, r.text
    page = r.json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 100, 0)
    assert [(tail(i["operator_id"]), i["grade"], i["grade_source"]) for i in page["items"]] == \
           [("base-zhang", "D", "computed"), ("nt-slaughter", "C", "computed"), ("stall-li", "B", "computed")]
    stall = page["items"][2]
    assert stall["assessment_id"] == D.STALL_ASSESSMENTS[1] and stall["score"] == 33.0
    assert (stall["static_points"], stall["dynamic_points"], stall["credit_points"]) == (19.0, 8.0, 6.0)
    assert stall["name"] == f"{D.STALL_KEEPER}鲜肉摊" and stall["kind"] == "Stall" and stall["published"] is False


@pytest.mark.parametrize("params, expected, total", [
    ({"grade": "B"}, ["stall-li"], 1),
    ({"kind": "Stall"}, ["stall-li"], 1),
    ({"kind": "摊位"}, ["stall-li"], 1),
    ({"kind": "slaughterhouse"}, ["nt-slaughter"], 1),
    ({"district": "如东县"}, [], 0),
    ({"published": "true"}, [], 0),
    ({"published": "false"}, ["base-zhang", "nt-slaughter", "stall-li"], 3),
    ({"source": "override"}, [], 0),
    ({"limit": 1, "offset": 1}, ["nt-slaughter"], 3),
    ({"offset": 10}, [], 3),
])
def test_grades_filters_and_paging(server, params, expected, total):
    with server.client("credit") as c:
        page = c.get("/grades", params=params).json()
    assert [tail(i["operator_id"]) for i in page["items"]] == expected and page["total"] == total


@pytest.mark.parametrize("params", [
    {"grade": "E"}, {"grade": ""}, {"limit": 0}, {"limit": 1001}, {"limit": 10**30}, {"offset": -1},
    {"published": "maybe"}, {"source": "magic"}, {"kind": "x" * 300},
])
def test_grades_bad_params_are_422(server, params):
    with server.client("analyst") as c:
        r = c.get("/grades", params=params)
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)


def test_grades_list_matches_the_cli_export(server, service_store, tmp_path):
    out = tmp_path / "grades.csv"
    cli(service_store, "risk", "export", "--out", str(out), "--lang", "en")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    with server.client("analyst") as c:
        items = c.get("/grades").json()["items"]
    assert [(i["operator_id"], i["grade"], i["computed_grade"], i["assessment_id"]) for i in items] == \
           [(r["operator_id"], r["grade"], r["computed_grade"], r["assessment_id"]) for r in rows]


# -- one operator ------------------------------------------------------------------------------------------


def test_grade_detail_equals_cli_history_and_explain(server, service_store):
    with server.client("analyst") as c:
        r = c.get(f"/grades/{D.STALL}")
    assert r.status_code == 200, r.text
    body = r.json()
    hist = cli_json(service_store, "risk", "history", D.STALL, "--format", "json")
    assert {k: body[k] for k in ("operator_id", "name", "effective", "history")} == hist
    assert [(h["event"], h["grade"]) for h in body["history"]] == [("assessment", "A"), ("assessment", "B")]
    assert body["effective"]["grade"] == "B" and body["effective"]["assessment_id"] == D.STALL_ASSESSMENTS[1]
    # no explanation stored with these assessments: computed now, as `risk explain` does
    assert body["explanation"] == cli_json(service_store, "risk", "explain", D.STALL, "--format", "json")
    factors = body["explanation"]["factors"]
    assert factors and {"code", "points", "max_points", "evidence", "note"} <= set(factors[0])
    assert body["explanation"]["stored"] is None


@pytest.mark.parametrize("path, status", [
    ("/grades/nobody", 404), (f"/grades/{D.PORK_LOT}", 404), ("/grades/%20", 404), ("/grades/", 404),
    ("/grades/" + "x" * 3000, 404),
])
def test_grade_detail_unknown_is_404(server, path, status):
    with server.client("credit") as c:
        r = c.get(path)
    assert r.status_code == status and r.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/grades", None), ("GET", f"/grades/{D.STALL}", None),
    ("POST", f"/grades/{D.STALL}/override", {"grade": "D", "reason": "x"}),
    ("POST", f"/grades/{D.STALL}/override/lift", {"reason": "x"}),
])
def test_credit_roles(server, method, path, body):
    with server.client() as anon, server.client("public") as pub, server.client("investigator") as inv:
        assert anon.request(method, path, json=body).status_code == 401
        assert pub.request(method, path, json=body).status_code == 403
        assert inv.request(method, path, json=body).status_code == 403
    if method == "POST":  # analysts read grades, only the credit team sets them
        with server.client("analyst") as c:
            r = c.request(method, path, json=body)
        assert r.status_code == 403 and "credit" in r.json()["detail"]


# -- overrides ---------------------------------------------------------------------------------------------


def test_override_and_lift(writable_server):
    s = writable_server
    url = f"/grades/{D.STALL}/override"
    with s.client("credit") as c:
        r = c.post(url, json={"grade": "d", "reason": " 约谈后仍未整改 "})
        assert r.status_code == 201, r.text
        done = r.json()
        ov = done["override"]
        assert (ov["grade"], ov["reason"], ov["by"], ov["computed_grade"], ov["assessment_id"]) == \
               ("D", "约谈后仍未整改", "测试-credit", "B", D.STALL_ASSESSMENTS[1])
        assert ov["created"].endswith("+08:00") and ov["lifted"] is None
        assert (done["effective"]["grade"], done["effective"]["source"], done["effective"]["differs"]) == \
               ("D", "override", True)
        # visible in the list
        page = c.get("/grades", params={"source": "override"}).json()
        assert [(i["operator_id"], i["grade"], i["computed_grade"], i["override_by"], i["override_reason"],
                 i["differs"]) for i in page["items"]] == [(D.STALL, "D", "B", "测试-credit", "约谈后仍未整改", True)]
        # and equal to what the CLI shows
        detail = c.get(f"/grades/{D.STALL}").json()
        hist = cli_json(s.store, "risk", "history", D.STALL, "--format", "json")
        assert {k: detail[k] for k in ("operator_id", "name", "effective", "history")} == hist
        assert hist["history"][-1]["event"] == "override" and hist["history"][-1]["by"] == "测试-credit"
        # one override at a time
        again = c.post(url, json={"grade": "C", "reason": "再议"})
        assert again.status_code == 409 and "already has an override to D in force" in again.json()["detail"]
        # lifting needs a reason
        for bad in ({"reason": "   "}, {}, {"reason": None}):
            r = c.post(url + "/lift", json=bad)
            assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM), bad
        r = c.post(url + "/lift", json={"reason": "复查合格"})
        assert r.status_code == 200, r.text
        lifted = r.json()
        assert (lifted["override"]["id"], lifted["override"]["lifted_by"], lifted["override"]["lift_reason"]) == \
               (ov["id"], "测试-credit", "复查合格")
        assert (lifted["effective"]["grade"], lifted["effective"]["source"]) == ("B", "computed")
        assert c.post(url + "/lift", json={"reason": "再撤"}).status_code == 409
        assert c.get("/grades", params={"source": "override"}).json()["total"] == 0
        events = [h["event"] for h in c.get(f"/grades/{D.STALL}").json()["history"]]
    assert events == ["assessment", "assessment", "override", "lift"]
    with s.client("admin") as c:
        entries = [e for e in c.get("/admin/audit").json() if e["key_id"] == s.key_ids["credit"]]
    posts = [e for e in entries if e["method"] == "POST" and e["status"] in (200, 201)]
    assert [e["path"] for e in posts] == [url, url + "/lift"]
    assert all(D.STALL in e["entities"] and ov["id"] in e["entities"] for e in posts)


@pytest.mark.parametrize("body, where", [
    ({"grade": "D"}, "body.reason"),
    ({"grade": "D", "reason": ""}, "body.reason"),
    ({"grade": "D", "reason": "  \n "}, "body.reason"),
    ({"grade": "E", "reason": "x"}, "body.grade"),
    ({"grade": "", "reason": "x"}, "body.grade"),
    ({"reason": "x"}, "body.grade"),
    ({"grade": "D", "reason": "x", "by": "someone else"}, "body.by"),
    ({"grade": 4, "reason": "x"}, "body.grade"),
])
def test_override_bad_body_is_422(server, body, where):
    """Refused before anything is written (so the read-only server will do)."""
    with server.client("credit") as c:
        r = c.post(f"/grades/{D.STALL}/override", json=body)
        assert r.status_code == 422, r.text
        assert any(e["location"] == where for e in r.json()["errors"]), r.json()
        assert c.get("/grades", params={"source": "override"}).json()["total"] == 0  # nothing written


def test_override_of_an_unknown_operator_is_404(server):
    with server.client("credit") as c:
        assert c.post("/grades/nobody/override", json={"grade": "D", "reason": "x"}).status_code == 404
        assert c.post(f"/grades/{D.PORK_LOT}/override/lift", json={"reason": "x"}).status_code == 404


def test_cli_override_shows_over_http_and_the_explanation_follows_a_grading_run(writable_server):
    s = writable_server
    cli(s.store, "risk", "override", D.BASE, "B", "--reason", "整改到位", "--by", "王科长")
    cli(s.store, "risk", "grade", "--no-model")
    with s.client("credit") as c:
        item = c.get("/grades", params={"source": "override"}).json()["items"]
        detail = c.get(f"/grades/{D.BASE}").json()
    assert [(i["operator_id"], i["grade"], i["override_by"]) for i in item] == [(D.BASE, "B", "王科长")]
    assert detail["explanation"] == cli_json(s.store, "risk", "explain", D.BASE, "--format", "json")
    stored = detail["explanation"]["stored"]
    assert stored["grade"] == "B" and stored["override"]["by"] == "王科长"
    assert detail["effective"]["source"] == "override"
    assert {k: detail[k] for k in ("operator_id", "name", "effective", "history")} == \
           cli_json(s.store, "risk", "history", D.BASE, "--format", "json")


# -- one resolver for the command line and the service ---------------------------------------------------


def test_explain_and_grade_detail_accept_the_same_identifier_forms(writable_server):
    """`foodtrace risk explain` and `GET /grades/{id}` resolve an operator with one function (Store.require): every
    identifier form one accepts, the other accepts and resolves alike; an unknown one is refused by both in the
    same words. (They once used two resolvers: store.require and api.grades.resolve_operator.)"""
    from urllib.parse import quote

    from graph.store import open_store
    from ontology import identifiers as I
    from ontology.records import Alias, Operator

    uscc, gln = "91320602MA1MXXXX9U", "0614141008889"
    oid = I.operator_id(uscc=uscc)
    with open_store(writable_server.store) as s:
        s.write([Operator(id=oid, kind="Producer", name="南通示例食品有限公司", uscc=uscc, gln=gln),
                 Alias(id=I.operator_id(gln=gln), canonical_id=oid, entity="operator")])
    forms = [oid, uscc, f"  {uscc} ", I.operator_id(gln=gln), "urn:epc:id:pgln:0614141.00888",
             f"https://id.gs1.org/417/{gln}"]
    with writable_server.client("analyst") as c:
        for form in forms:
            explained = cli_json(writable_server.store, "risk", "explain", form, "--format", "json")
            r = c.get("/grades/" + quote(form, safe=""))
            assert r.status_code == 200, (form, r.text)
            assert explained["operator_id"] == r.json()["operator_id"] == r.json()["explanation"]["operator_id"] \
                == oid, form
        r = c.get("/grades/" + quote("91320602MA1MXXXX8X", safe=""))
    refused = subprocess.run([sys.executable, "-m", "api.cli", "risk", "explain", "91320602MA1MXXXX8X",
                              "--store", writable_server.store], capture_output=True, text=True)
    assert r.status_code == 404 and refused.returncode == 2
    assert r.json()["detail"] == "no operator has the identifier '91320602MA1MXXXX8X'"
    assert refused.stderr.strip() == "foodtrace: no operator has the identifier '91320602MA1MXXXX8X'"
