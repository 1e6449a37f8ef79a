"""Investigators' endpoints through real HTTP: traces, recall lists, outbreak ranking, operator profiles.

Every answer is compared with the pure functions called directly on the same store (the command line
calls the same functions), on the hand-made chain of :mod:`tests.api.service.dataset`.
"""

from __future__ import annotations

import io
import json
from urllib.parse import unquote

import openpyxl
import pytest

from api.trace_render import RECALL_COLUMNS
from graph.store import open_store
from graph.view import ReadView
from reasoning.outbreak import Case, rank_sources
from reasoning.trace import TraceOptions, trace
from ontology.times import epoch

from . import dataset as D

D1, D2, D3, D4, D5 = (f"urn:foodtrace:delivery:d{i}" for i in range(1, 6))
SUP = "urn:foodtrace:sample:sup-1"
PROBLEM = "application/problem+json"


def direct(service_store: str, ident: str, direction: str, opts: TraceOptions | None = None) -> dict:
    """The trace computed without the service, as the JSON the service sends."""
    with open_store(service_store) as s:
        return json.loads(json.dumps(trace(ReadView(s), ident, direction, opts).to_dict()))


def tail(ids) -> list[str]:
    return [i.rsplit(":", 1)[-1] for i in ids]


# -- traces ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ident, direction", [
    (D.PIG_LOT, "down"), (D.PORK_TRACE_CODE, "up"), (D.PORK_TRACE_CODE, "down"), (SUP, "up"), (D.STALL, "down"),
    (D2, "down"), (D.GREENS_LOT, "down"), (D.SLAUGHTER, "up"),
])
def test_trace_equals_the_pure_trace(server, service_store, ident, direction):
    with server.client("investigator") as c:
        r = c.get(f"/trace/{direction}", params={"id": ident})
    assert r.status_code == 200, r.text
    got, want = r.json(), direct(service_store, ident, direction)
    assert json.dumps(got, indent=1, sort_keys=True) == json.dumps(want, indent=1, sort_keys=True)


def test_trace_down_of_the_pig_lot_reaches_the_whole_chain(server):
    with server.client("analyst") as c:
        body = c.get("/trace/down", params={"id": D.PIG_LOT}).json()
    assert body["start"]["kind"] == "lot" and body["start"]["lot"] == D.PIG_LOT
    assert [(d["id"], d["tier"]) for d in body["deliveries"]] == [(d, "certain") for d in (D1, D2, D3, D4)]
    assert tail(s["id"] for s in body["stations"]) == ["nt-slaughter", "nt-wholesale", "stall-li", "restaurant-he"]
    assert body["counts"]["deliveries"] == {"certain": 4, "possible": 0}
    assert [x["id"] for x in body["lots"]] == [D.PORK_LOT]  # the start lot is not listed
    assert body["lots"][0]["evidence"] == [D1] and body["lots"][0]["lot_number"] == D.PORK_LOT_NUMBER


def test_trace_up_from_a_failed_sample_takes_its_hazard(server):
    with server.client("investigator") as c:
        body = c.get("/trace/up", params={"id": SUP}).json()
    assert body["start"]["kind"] == "sample" and body["options"]["hazard"] == "pesticide"
    assert [d["id"] for d in body["deliveries"]] == [D5]
    assert tail(s["id"] for s in body["stations"]) == ["base-zhang"]


@pytest.mark.parametrize("form", [
    f"https://example.cn/01/{D.PORK_GTIN}/10/{D.PORK_LOT_NUMBER}",
    f"https://id.gs1.org/01/{D.PORK_GTIN}/10/{D.PORK_LOT_NUMBER}?linkType=all",
    "urn:epc:class:lgtin:6901234.056789.P20261101",
])
def test_trace_accepts_any_identifier_form(server, form):
    with server.client("investigator") as c:
        canonical = c.get("/trace/down", params={"id": D.PORK_LOT}).json()
        other = c.get("/trace/down", params={"id": form})
    assert other.status_code == 200, other.text
    assert other.json()["start"]["lot"] == D.PORK_LOT and other.json()["start"]["input"] == form
    assert other.json()["deliveries"] == canonical["deliveries"] and [d["id"] for d in canonical["deliveries"]] == \
        [D2, D3, D4]


def test_trace_options_are_those_of_the_cli(server, service_store):
    params = {"id": D.PIG_LOT, "since": "2026-11-01T06:00:00", "until": "2026-11-02", "window": ["pork=2", "叶菜类=1"],
              "hazard": "microbial", "kill": [D.WHOLESALE], "explicit_only": "true"}
    with server.client("investigator") as c:
        r = c.get("/trace/down", params=params)
    assert r.status_code == 200, r.text
    opts = TraceOptions(since=epoch("2026-11-01T06:00:00"), until=epoch("2026-11-02", end_of_day=True),
                        windows={"pork": 2.0, "leafy_vegetable": 1.0}, hazard="microbial",
                        kill=frozenset({D.WHOLESALE}), infer=False)
    body = r.json()
    assert body == direct(service_store, D.PIG_LOT, "down", opts)
    assert body["options"]["kill"] == [D.WHOLESALE] and body["options"]["infer"] is False
    assert body["options"]["windows"]["pork"] == 2.0 and body["options"]["since"] == "2026-11-01T06:00:00+08:00"
    # the kill step at the wholesaler cuts the pathogen trace there
    assert D3 not in [d["id"] for d in body["deliveries"]] and D4 not in [d["id"] for d in body["deliveries"]]


def test_trace_cuts_and_windows_are_those_of_the_cli(server, service_store):
    params = {"id": D.PIG_LOT, "min_likelihood": "0.5", "max_inferred": "0", "fixed_windows": "true"}
    with server.client("investigator") as c:
        r = c.get("/trace/down", params=params)
        unlimited = c.get("/trace/down", params={"id": D.PIG_LOT, "max_inferred": "none"})
    assert r.status_code == 200 and unlimited.status_code == 200, r.text
    opts = TraceOptions(min_likelihood=0.5, max_inferred=0, learn_windows=False)
    body = r.json()
    assert body == direct(service_store, D.PIG_LOT, "down", opts)
    assert body["options"]["max_inferred"] == 0 and body["options"]["learned_windows"] is False
    assert all(d["tier"] == "certain" for d in body["deliveries"])   # no inferred link at all
    assert unlimited.json()["options"]["max_inferred"] is None


def test_trace_matches_the_command_line(server, service_store):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "api.cli", "trace", "down", D.PORK_TRACE_CODE, "--format", "json",
                          "--window", "pork=3", "--store", service_store], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    with server.client("investigator") as c:
        r = c.get("/trace/down", params={"id": D.PORK_TRACE_CODE, "window": "pork=3"})
    assert r.json() == json.loads(out.stdout)


@pytest.mark.parametrize("params, status, where", [
    ({"id": "no-such-thing"}, 404, "no lot, delivery, sample, trace code or station"),
    ({"id": ""}, 422, "id"),
    ({"id": "   "}, 422, "query.id"),
    ({}, 422, "id"),
    ({"id": D.PORK_LOT, "since": "yesterday"}, 422, "query.since"),
    ({"id": D.PORK_LOT, "until": "2026-02-30"}, 422, "query.until"),
    ({"id": D.PORK_LOT, "until": "0001-01-01T00:00:00+14:00"}, 422, "query.until"),
    ({"id": D.PORK_LOT, "window": "pork"}, 422, "CATEGORY=DAYS"),
    ({"id": D.PORK_LOT, "window": "durian=3"}, 422, "unknown category"),
    ({"id": D.PORK_LOT, "window": "pork=-1"}, 422, ">= 0"),
    ({"id": D.PORK_LOT, "window": "pork=1e308"}, 422, "36500"),
    ({"id": D.PORK_LOT, "window": "pork=nan"}, 422, ">= 0"),
    ({"id": D.PORK_LOT, "hazard": "radiation"}, 422, "hazard"),
    ({"id": D.PORK_LOT, "kill": "nowhere"}, 422, "nowhere: no station or lot"),
    ({"id": D.PORK_LOT, "explicit_only": "perhaps"}, 422, "explicit_only"),
    ({"id": D.PORK_LOT, "min_likelihood": "1.5"}, 422, "min_likelihood"),
    ({"id": D.PORK_LOT, "max_inferred": "-1"}, 422, "max_inferred"),
    ({"id": D.PORK_LOT, "max_inferred": "many"}, 422, "max_inferred"),
    ({"id": "x" * 5000}, 422, "id"),
    ({"id": "🐷\u0000猪"}, 404, "no lot"),
])
def test_trace_rejects_bad_input(server, params, status, where):
    with server.client("investigator") as c:
        r = c.get("/trace/up", params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert where in r.json()["detail"]


@pytest.mark.parametrize("path", ["/trace/down", "/trace/up", "/recall.xlsx", "/recall.csv"])
def test_trace_and_recall_need_a_key_of_the_right_role(server, path):
    params = {"id": D.PORK_LOT}
    with server.client() as anon, server.client("public") as pub, server.client("credit") as credit:
        assert anon.get(path, params=params).status_code == 401
        assert pub.get(path, params=params).status_code == 403
        assert credit.get(path, params=params).status_code == 403
    if path.startswith("/recall"):  # the recall list carries contacts: investigators only
        with server.client("analyst") as c:
            r = c.get(path, params=params)
        assert r.status_code == 403 and "investigator" in r.json()["detail"]


# -- recall lists ------------------------------------------------------------------------------------------


def test_recall_xlsx_is_the_cli_workbook(server, service_store):
    with server.client("investigator") as c:
        r = c.get("/recall.xlsx", params={"id": D.PORK_TRACE_CODE})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    cd = r.headers["content-disposition"]
    assert cd.startswith("attachment; filename=\"recall-list_downstream_P20261101_")
    encoded = cd.split("filename*=UTF-8''", 1)[1]
    name = unquote(encoded)
    assert name.startswith("召回清单_下游_P20261101_") and name.endswith(".xlsx")
    assert all(ord(ch) < 128 for ch in encoded)  # RFC 6266 / 8187: percent-encoded UTF-8
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["召回清单", "主体", "说明"]
    rows = list(wb["召回清单"].iter_rows(values_only=True))
    assert list(rows[0]) == [zh for zh, _ in RECALL_COLUMNS]
    expected = direct(service_store, D.PORK_TRACE_CODE, "down")["deliveries"]
    assert [row[-1] for row in rows[1:]] == [d["id"] for d in expected] == [D2, D3, D4]
    stall_row = next(row for row in rows[1:] if row[-1] == D3)
    assert stall_row[5] == f"{D.STALL_KEEPER}鲜肉摊" and stall_row[10] == D.STALL_PHONE  # staff see contacts
    assert "不得公开" in "".join(str(c) for row in wb["说明"].iter_rows(values_only=True) for c in row if c)


def test_recall_xlsx_in_english_and_upstream(server):
    with server.client("investigator") as c:
        r = c.get("/recall.xlsx", params={"id": SUP, "direction": "up", "lang": "en"})
    assert r.status_code == 200
    assert "recall-list_upstream_" in unquote(r.headers["content-disposition"].split("filename*=UTF-8''")[1])
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["Recall list", "Stations", "Notes"]
    rows = list(wb["Recall list"].iter_rows(values_only=True))
    assert list(rows[0]) == [en for _, en in RECALL_COLUMNS] and [row[-1] for row in rows[1:]] == [D5]


def test_recall_csv(server):
    with server.client("investigator") as c:
        r = c.get("/recall.csv", params={"id": D.PORK_LOT})
        bad = c.get("/recall.csv", params={"id": D.PORK_LOT, "lang": "fr"})
        unknown = c.get("/recall.xlsx", params={"id": "nope"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff批次,产品,数量,单位,发货方,收货方")
    assert text.count("\n") == 4 and D3 in text
    assert bad.status_code == 422 and unknown.status_code == 404
    assert unknown.headers["content-type"].startswith(PROBLEM)


# -- outbreak ranking --------------------------------------------------------------------------------------


def ranked(service_store: str, cases: list[Case], **kw) -> dict:
    with open_store(service_store) as s:
        return json.loads(json.dumps(rank_sources(ReadView(s), cases, **kw).to_dict()))


def test_outbreak_json_equals_the_pure_ranking(server, service_store):
    body = {"cases": [{"id": D.RESTAURANT, "date": "2026-11-03"}, {"id": D.STALL, "positive": False}]}
    with server.client("investigator") as c:
        r = c.post("/outbreak", json=body)
    assert r.status_code == 200, r.text
    want = ranked(service_store, [Case(D.RESTAURANT, 1.0, "2026-11-03"), Case(D.STALL, -1.0)])
    assert r.json() == want
    assert [c["weight"] for c in r.json()["cases"]] == [1.0, -1.0]
    top = r.json()["stations"][0]
    assert (top["id"], top["score"], top["rank"]) == (D.RESTAURANT, 1.0, 1)


def test_outbreak_windows_and_explicit_only(server, service_store):
    body = {"cases": [{"id": D.RESTAURANT}, {"id": D.PORK_TRACE_CODE}], "window": ["pork=1"], "explicit_only": True}
    with server.client("analyst") as c:
        r = c.post("/outbreak", json=body)
        bad = c.post("/outbreak", json={**body, "window": ["pork"]})
    assert r.status_code == 200, r.text
    want = ranked(service_store, [Case(D.RESTAURANT), Case(D.PORK_TRACE_CODE)],
                  options=TraceOptions(windows={"pork": 1.0}, infer=False))
    assert r.json() == want
    assert bad.status_code == 422 and "CATEGORY=DAYS" in bad.text


def test_outbreak_options_and_top(server, service_store):
    body = {"cases": [{"id": D.RESTAURANT, "weight": 2}, {"id": D.PORK_TRACE_CODE, "date": "2026/11/2"}],
            "hazard": "microbial", "kill": [D.WHOLESALE], "priors": True, "top": 1}
    with server.client("analyst") as c:
        r = c.post("/outbreak", json=body)
    assert r.status_code == 200, r.text
    want = ranked(service_store, [Case(D.RESTAURANT, 2.0), Case(D.PORK_TRACE_CODE, 1.0, "2026-11-02")],
                  hazard="microbial", kill=[D.WHOLESALE], priors=True)
    got = r.json()
    assert len(got["stations"]) == 1 and len(got["lots"]) == 1
    assert got["stations"] == want["stations"][:1] and got["lots"] == want["lots"][:1]
    assert got["kill"] == [D.WHOLESALE] and got["priors"] == want["priors"] and got["priors"]


def test_outbreak_upload_equals_json(server, service_store):
    csv = f"编号,权重,日期\n{D.RESTAURANT},,2026/11/3\n{D.STALL},-1,\n".encode("utf-8-sig")
    with server.client("investigator") as c:
        up = c.post("/outbreak/upload", files={"file": ("病例.csv", csv, "text/csv")})
        js = c.post("/outbreak", json={"cases": [{"id": D.RESTAURANT, "date": "2026-11-03"},
                                                 {"id": D.STALL, "weight": -1}]})
    assert up.status_code == 200, up.text
    assert up.json() == js.json()


@pytest.mark.parametrize("body, where, text", [
    ({"cases": [{"id": D.RESTAURANT}, {"id": "nobody"}]}, "body.cases.1.id", "no station or lot has this identifier"),
    ({"cases": [{"id": D.RESTAURANT, "date": "2026-13-01"}]}, "body.cases.0.date", "no such date"),
    ({"cases": [{"id": D.RESTAURANT, "date": "3026-01-01"}]}, "body.cases.0.date", "year"),
    ({"cases": [{"id": " "}]}, "body.cases.0.id", "empty"),
    ({"cases": [{"id": D.RESTAURANT, "weight": 1, "positive": False}]}, "body.cases.0.weight", "contradicts"),
    ({"cases": [{"id": D.RESTAURANT, "weight": "lots"}]}, "body.cases.0.weight", ""),
    ({"cases": [{"id": D.RESTAURANT, "weight": 1e300}]}, "body.cases.0.weight", ""),
    ({"cases": []}, "body.cases", ""),
    ({"cases": [{"id": D.STALL, "weight": -1}]}, "body.cases", "positive"),
    ({"cases": [{"id": D.RESTAURANT}], "hazard": "radiation"}, "body.hazard", ""),
    ({"cases": [{"id": D.RESTAURANT}], "kill": ["nowhere"]}, "body.kill", "nowhere"),
    ({"cases": [{"id": D.RESTAURANT}], "top": -1}, "body.top", ""),
    ({"cases": [{"id": D.RESTAURANT, "colour": "red"}]}, "body.cases.0.colour", ""),
    ({"case": []}, "body.cases", ""),
])
def test_outbreak_bad_cases_are_422_naming_row_and_field(server, body, where, text):
    with server.client("investigator") as c:
        r = c.post("/outbreak", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    p = r.json()
    assert any(e["location"] == where for e in p["errors"]), p
    assert text in p["detail"]


def test_outbreak_not_json_is_422(server):
    with server.client("investigator") as c:
        r = c.post("/outbreak", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize("content, where, text", [
    (f"编号,权重\n{D.RESTAURANT},1\nnobody,1\n{D.STALL},x\n", "file.row 4.权重", "'x': not a number"),
    (f"编号,权重\n{D.RESTAURANT},1\nnobody,1\n", "file.row 3.编号", "'nobody': no station or lot"),
    (f"id,date\n{D.RESTAURANT},2026-02-30\n", "file.row 2.date", "no such date"),
    ("名称,权重\nx,1\n", "body.file", "cases.csv: no id column"),
    ("编号\n", "body.file", "no cases"),
    ("\x00\x01\x02\xff" * 100, "body.file", "cases.csv"),
])
def test_outbreak_upload_bad_rows(server, content, where, text):
    data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
    with server.client("investigator") as c:
        r = c.post("/outbreak/upload", files={"file": ("cases.csv", data, "text/csv")})
    assert r.status_code == 422, r.text
    p = r.json()
    assert any(e["location"] == where for e in p["errors"]), p
    assert text in p["detail"] and "/tmp" not in p["detail"]


def test_outbreak_roles(server):
    body = {"cases": [{"id": D.RESTAURANT}]}
    with server.client() as anon, server.client("public") as pub, server.client("credit") as credit:
        assert anon.post("/outbreak", json=body).status_code == 401
        assert pub.post("/outbreak", json=body).status_code == 403
        assert credit.post("/outbreak", json=body).status_code == 403
        assert credit.post("/outbreak/upload", files={"file": ("c.csv", b"id\nx\n")}).status_code == 403


# -- operator profiles -------------------------------------------------------------------------------------


def test_profile_of_the_stall(server):
    with server.client("investigator") as c:
        r = c.get(f"/operators/{D.STALL}/profile")
        by_query = c.get("/operators/profile", params={"id": D.STALL})
    assert r.status_code == 200, r.text
    assert by_query.json() == r.json()
    p = r.json()
    assert p["operator"]["name"] == f"{D.STALL_KEEPER}鲜肉摊" and p["operator"]["parent_name"] == "城东农贸市场"
    assert p["licence"]["kind"] == "Stall"
    assert p["counts"] == {"inspections": 0, "inspections_failed": 0, "samples": 2, "samples_nonconforming": 1,
                           "cases": 0, "complaints": 1, "complaints_substantiated": 0, "credit_records": 0,
                           "deliveries_shipped": 1, "deliveries_received": 2}
    assert [s["id"] for s in p["samples"]] == [SUP, "urn:foodtrace:sample:rapid-1"]  # newest first
    sup = p["samples"][0]
    assert sup["roles"] == ["sampled"] and sup["results"][0]["item"] == "毒死蜱" and sup["results"][0]["value"] == 0.12
    assert p["complaints"][0]["topic"] == "短斤缺两"
    assert (p["grade"]["grade"], p["grade"]["source"], p["grade"]["assessment_id"]) == \
           ("B", "computed", D.STALL_ASSESSMENTS[1])
    assert p["grade"]["points"] == {"static": 19.0, "dynamic": 8.0, "credit": 6.0}
    assert p["deliveries"] == {"shipped": 1, "received": 2, "first": "2026-11-02T04:30:00+08:00",
                               "last": "2026-11-05T05:00:00+08:00"}


def test_profile_of_the_slaughterhouse_and_the_base(server):
    with server.client("credit") as c:
        slaughter = c.get(f"/operators/{D.SLAUGHTER}/profile").json()
        base = c.get(f"/operators/{D.BASE}/profile", params={"limit": 0}).json()
    assert slaughter["licence"]["licence_no"] == "A1320600001"
    assert slaughter["inspections"][0]["findings"] == "冷库温度记录不全"
    assert slaughter["counts"]["inspections"] == 1 and slaughter["grade"]["grade"] == "C"
    assert base["counts"]["cases"] == 1 and base["counts"]["credit_records"] == 1 and base["counts"]["samples"] == 1
    assert base["cases"] == [] and base["samples"] == [] and base["limit"] == 0  # counts count, lists are cut
    with server.client("credit") as c:
        base = c.get(f"/operators/{D.BASE}/profile").json()
    assert base["samples"][0]["roles"] == ["producer"] and base["grade"]["grade"] == "D"
    assert base["credit_records"][0]["reason"] == "农药残留超标"


@pytest.mark.parametrize("path, params, status", [
    ("/operators/nobody/profile", {}, 404),
    (f"/operators/{D.PORK_LOT}/profile", {}, 404),          # a lot is no operator
    ("/operators/%20/profile", {}, 404),
    ("/operators/profile", {"id": "nobody"}, 404),
    ("/operators/profile", {}, 422),
    ("/operators/profile", {"id": ""}, 422),
    (f"/operators/{D.STALL}/profile", {"limit": -1}, 422),
    (f"/operators/{D.STALL}/profile", {"limit": 10**30}, 422),
    (f"/operators/{D.STALL}/profile", {"limit": "many"}, 422),
])
def test_profile_errors(server, path, params, status):
    with server.client("investigator") as c:
        r = c.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)


def test_profile_roles(server):
    with server.client() as anon, server.client("public") as pub:
        assert anon.get(f"/operators/{D.STALL}/profile").status_code == 401
        assert pub.get(f"/operators/{D.STALL}/profile").status_code == 403
    for role in ("investigator", "analyst", "credit", "admin"):
        with server.client(role) as c:
            assert c.get(f"/operators/{D.STALL}/profile").status_code == 200


# -- audit ---------------------------------------------------------------------------------------------------


def test_requests_are_audited_with_their_entities(server):
    with server.client("investigator") as c:
        c.get("/trace/down", params={"id": D.PORK_TRACE_CODE})
        c.get("/recall.xlsx", params={"id": D.PIG_LOT})
        c.post("/outbreak", json={"cases": [{"id": D.RESTAURANT}]})
        c.get(f"/operators/{D.STALL}/profile")
        c.get("/trace/up", params={"id": "nobody-at-all"})
    with server.client("admin") as c:
        entries = [e for e in c.get("/admin/audit").json() if e["key_id"] == server.key_ids["investigator"]]

    def last(path: str) -> dict:
        return [e for e in entries if e["path"] == path][-1]

    t = last("/trace/down")
    assert t["status"] == 200 and D.PORK_TRACE_CODE in t["entities"] and D.PORK_LOT in t["entities"]
    assert "urn:foodtrace:trace_code:" + D.PORK_TRACE_CODE in t["entities"]
    assert D.PIG_LOT in last("/recall.xlsx")["entities"]
    assert D.RESTAURANT in last("/outbreak")["entities"]
    assert last(f"/operators/{D.STALL}/profile")["entities"] == [D.STALL]
    miss = last("/trace/up")
    assert miss["status"] == 404 and miss["entities"] == ["nobody-at-all"]
