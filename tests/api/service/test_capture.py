"""Data capture through real HTTP: the EPCIS 2.0 capture interface (REST binding) and template uploads."""

from __future__ import annotations

import time
from urllib.parse import unquote

import orjson
import pytest

from graph.store import open_store
from loaders.epcis import event_hash
from ontology import identifiers as I
from tests.conftest import shared_path

from . import dataset
from .conftest import LiveServer

JSON_LD = {"Content-Type": "application/ld+json"}
EPCIS = ("epcis", "gs1", "examples")
OPENEPCIS = ("epcis", "openepcis")


def conformance(*parts: str) -> bytes:
    return shared_path("conformance", *parts).read_bytes()


def counts(server) -> dict[str, int]:
    with open_store(server.store) as store:
        return store.counts()


def event_ids(doc: bytes) -> list[str]:
    d = orjson.loads(doc)
    body = d["epcisBody"]
    events = body["eventList"] if "eventList" in body else body["queryResults"]["resultsBody"]["eventList"]
    return [e.get("eventID") or event_hash(e) for e in events]


def wait(client, location: str) -> dict:
    """Poll a capture job until it is no longer running."""
    deadline = time.monotonic() + 60
    while True:
        r = client.get(location)
        assert r.status_code == 200, r.text
        job = r.json()
        if not job["running"]:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def capture(client, body: bytes, headers: dict | None = None) -> dict:
    r = client.post("/capture", content=body, headers=headers or JSON_LD)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/capture/{r.json()['captureID']}"
    assert r.headers["gs1-epcis-version"] == "2.0.0"
    return wait(client, r.headers["location"])


# -- EPCIS capture ------------------------------------------------------------------------------------

VALID = [
    EPCIS + ("Example_9.6.2-ObjectEvent.jsonld",),
    EPCIS + ("Example_9.6.4-TransformationEvent.jsonld",),
    EPCIS + ("EPCISQueryDocument.jsonld",),
    EPCIS + ("WithDigitalLinkID", "Example_9.6.1-ObjectEventWithDigitalLink.jsonld"),
    OPENEPCIS + ("json", "Capture", "Documents", "Combination_of_different_event.json"),
]


def test_capture_valid_documents_stores_them_and_recapture_changes_nothing(writable_server):
    with writable_server.client("admin") as c:
        for parts in VALID:
            doc = conformance(*parts)
            ids = event_ids(doc)
            before = counts(writable_server)
            job = capture(c, doc)
            assert job["success"] is True and job["errors"] == [], (parts, job["errors"])
            assert job["captureErrorBehaviour"] == "rollback"
            assert job["eventCount"] == len(ids) == job["eventsCaptured"]
            assert job["recordsChanged"] > 0 and job["finishedAt"] >= job["createdAt"]
            after = counts(writable_server)
            assert after["event"] == before["event"] + len(set(ids)), parts
            with open_store(writable_server.store) as store:
                assert set(store.get_many("event", ids)) == set(ids)
            again = capture(c, doc)  # idempotent: a re-sent document changes nothing
            assert again["success"] is True and again["recordsChanged"] == 0
            assert again["captureID"] != job["captureID"]
            assert counts(writable_server) == after
        # XML binding (its events are the same as JSON ones above: only recapture is counted)
        doc = conformance(*OPENEPCIS, "xml", "Capture", "Documents", "AggregationEvent_all_possible_fields.xml")
        before = counts(writable_server)
        job = capture(c, doc, {"Content-Type": "application/xml"})
        assert job["success"] is True, job["errors"]
        assert job["eventsCaptured"] == job["eventCount"] >= 1 and job["recordsReceived"] > 0
        after = counts(writable_server)
        assert after["event"] == before["event"] + job["eventCount"]
        assert capture(c, doc, {"Content-Type": "application/xml"})["recordsChanged"] == 0
        assert counts(writable_server) == after


INVALID = ["Combination_of_multiple_invalid_fields.json", "EPCISDocument_without_context.json",
           "ObjectEvent_with_invalid_eventTime_format.json"]


def test_invalid_documents_fail_whole_and_write_nothing_unless_proceed(writable_server):
    """openepcis' second event has a non-CBV bizStep: with rollback the good first event is not stored either."""
    doc = conformance(*OPENEPCIS, "json", "Capture", "Invalid", "ObjectEvent_with_non_standard_bizStep_in_second_event.json")
    before = counts(writable_server)
    with writable_server.client("admin") as c:
        job = capture(c, doc, {"Content-Type": "application/json", "GS1-Capture-Error-Behaviour": "rollback"})
        assert job["running"] is False and job["success"] is False
        assert job["eventsCaptured"] == 0 and job.get("recordsChanged", 0) == 0
        (err,) = job["errors"]
        assert err["event"] == "event 2" and err["field"] == "eventList[1].bizStep" and err["value"] == "transforming"
        assert "'transforming' is not a CBV 2.0 term" in err["detail"]
        assert err["type"] == "epcisException:ValidationException" and err["status"] == 400
        assert counts(writable_server) == before
        for name in INVALID:
            job = capture(c, conformance(*OPENEPCIS, "json", "Capture", "Invalid", name),
                          {"Content-Type": "application/json"})
            assert job["success"] is False and job["errors"], name
            assert all(e["detail"] and e["event"] for e in job["errors"])
            if name.startswith("Combination"):
                details = " | ".join(e["detail"] for e in job["errors"])
                for reason in ("bizStep 'transforming'", "disposition 'in_transport'", "eventTime '22-07-2026'",
                               "action 'CREATE'"):
                    assert reason in details
            assert counts(writable_server) == before
        # proceed: the good event is stored, the bad one listed
        first = orjson.loads(doc)["epcisBody"]["eventList"][0]
        first_id = first.get("eventID") or event_hash(first)
        job = capture(c, doc, {"Content-Type": "application/json", "GS1-Capture-Error-Behaviour": "proceed"})
        assert job["captureErrorBehaviour"] == "proceed"
        assert job["success"] is False and job["running"] is False
        assert job["eventsCaptured"] == 1 and [e["event"] for e in job["errors"]] == ["event 2"]
        with open_store(writable_server.store) as store:
            assert first_id in store.get_many("event", [first_id])
        assert counts(writable_server)["event"] == before["event"] + 1


def test_capture_refusals(writable_server):
    doc = conformance(*EPCIS, "Example_9.6.2-ObjectEvent.jsonld")
    before = counts(writable_server)
    with writable_server.client("admin") as c:
        r = c.post("/capture", content=doc, headers={"Content-Type": "text/plain"})
        assert r.status_code == 415 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "epcisException:UnsupportedMediaTypeException"
        r = c.post("/capture", content=b'{"type": "EPCISDocument", ', headers=JSON_LD)
        assert r.status_code == 400 and r.json()["type"] == "epcisException:ValidationException"
        assert "not JSON" in r.json()["detail"]
        r = c.post("/capture", content=b"<EPCISDocument><unclosed></EPCISDocument>",
                   headers={"Content-Type": "application/xml"})
        assert r.status_code == 400 and "not well-formed XML" in r.json()["detail"]
        r = c.post("/capture", content=b"[1, 2]", headers=JSON_LD)
        assert r.status_code == 400
        r = c.post("/capture", content=conformance(*OPENEPCIS, "json", "Capture", "Events", "ObjectEvent.json"),
                   headers=JSON_LD)
        assert r.status_code == 400 and "POST /events" in r.json()["detail"]
        r = c.post("/capture", content=doc, headers={**JSON_LD, "GS1-EPCIS-Version": "1.2.0"})
        assert r.status_code == 406 and r.json()["type"] == "epcisException:NotAcceptableException"
        r = c.post("/capture", content=doc, headers={**JSON_LD, "GS1-CBV-Version": "3.0"})
        assert r.status_code == 406 and "GS1-CBV-Version" in r.json()["detail"]
        r = c.post("/capture", content=doc, headers={**JSON_LD, "GS1-EPCIS-Version": "two"})
        assert r.status_code == 400
        r = c.post("/capture", content=doc, headers={**JSON_LD, "GS1-Capture-Error-Behaviour": "all"})
        assert r.status_code == 400 and "announces" in r.json()["detail"]
        r = c.post("/capture", content=doc, headers={**JSON_LD, "GS1-Capture-Error-Behaviour": "sometimes"})
        assert r.status_code == 400
        ok = c.post("/capture", content=doc, headers={**JSON_LD, "GS1-EPCIS-Version": "2.0.0",
                                                      "GS1-CBV-Version": "2.0"})
        assert ok.status_code == 202
        assert wait(c, ok.headers["location"])["success"] is True
        entries = c.get("/admin/audit").json()
        posted = [e for e in entries if e["path"] == "/capture" and e["method"] == "POST"]
        assert posted[-1]["status"] == 202 and ok.json()["captureID"] in posted[-1]["entities"]
        assert posted[-1]["key_id"] == writable_server.key_ids["admin"]
        r = c.get("/capture/nope")
        assert r.status_code == 404 and r.json()["type"] == "epcisException:NoSuchNameException"
    assert counts(writable_server)["event"] == before["event"] + 1


def test_capture_roles(server):
    doc = b'{"type": "EPCISDocument"}'
    for role, status in ((None, 401), ("public", 403), ("investigator", 403), ("analyst", 403), ("credit", 403)):
        with server.client(role) as c:
            assert c.post("/capture", content=doc, headers=JSON_LD).status_code == status, role
            assert c.get("/capture").status_code == status
            assert c.request("OPTIONS", "/capture").status_code == status
            assert c.post("/uploads", files={"files": ("a.csv", b"x")}).status_code == status
            assert c.post("/events", content=doc, headers=JSON_LD).status_code == status


def test_options_and_limits(tmp_path):
    path = str(tmp_path / "store.db")
    dataset.build(path)
    s = LiveServer(path, str(tmp_path / "service.db"),
                   env={"FOODTRACE_CAPTURE_LIMIT": "2", "FOODTRACE_CAPTURE_FILE_SIZE_LIMIT": "20000"})
    try:
        with s.client("admin") as c:
            r = c.request("OPTIONS", "/capture")
            assert r.status_code == 204
            h = r.headers
            assert (h["gs1-epcis-capture-limit"], h["gs1-epcis-capture-file-size-limit"]) == ("2", "20000")
            assert h["gs1-capture-error-behaviour"] == "all" and h["gs1-epcis-version"] == "2.0.0"
            assert set(h["allow"].replace(" ", "").split(",")) == {"OPTIONS", "POST", "GET"}
            three = orjson.loads(conformance(*OPENEPCIS, "json", "Capture", "Documents",
                                             "Combination_of_different_event.json"))
            events = three["epcisBody"]["eventList"]
            assert len(events) > 2
            r = c.post("/capture", content=orjson.dumps(three), headers=JSON_LD)
            assert r.status_code == 413 and r.json()["type"] == "epcisException:CaptureLimitExceededException"
            assert "GS1-EPCIS-Capture-Limit is 2" in r.json()["detail"] and r.headers["gs1-epcis-capture-limit"] == "2"
            three["epcisBody"]["eventList"] = events[:1]
            three["padding"] = "x" * 20000
            r = c.post("/capture", content=orjson.dumps(three), headers=JSON_LD)
            assert r.status_code == 413 and "File-Size-Limit" in r.json()["detail"]
            r = c.post("/uploads", files={"files": ("big.csv", b"x" * 30000)})
            assert r.status_code == 413
            three.pop("padding")
            assert c.post("/capture", content=orjson.dumps(three), headers=JSON_LD).status_code == 202
    finally:
        s.stop()


def test_capture_jobs_list_paged(writable_server):
    doc = conformance(*EPCIS, "Example_9.6.2-ObjectEvent.jsonld")
    with writable_server.client("admin") as c:
        made = []
        for _ in range(3):
            r = c.post("/capture", content=doc, headers=JSON_LD)
            made.append(r.json()["captureID"])
            wait(c, r.headers["location"])
        r = c.get("/capture")
        assert r.status_code == 200 and [j["captureID"] for j in r.json()] == made[::-1]
        assert "link" not in r.headers
        seen, url = [], "/capture?perPage=2"
        while url:
            r = c.get(url)
            assert r.status_code == 200
            seen += [j["captureID"] for j in r.json()]
            link = r.headers.get("link")
            url = link[1:link.index(">")] if link else None
            assert not link or link.endswith('rel="next"')
        assert seen == made[::-1]
        job = r.json()[-1]
        assert set(job) >= {"captureID", "createdAt", "finishedAt", "running", "success", "captureErrorBehaviour",
                            "errors"}
        assert c.get("/capture", params={"nextPageToken": "garbage!"}).status_code == 400
        assert c.get("/capture", params={"perPage": 0}).status_code == 422


# -- one event ---------------------------------------------------------------------------------------

def test_post_one_event(writable_server):
    ev = conformance(*OPENEPCIS, "json", "Capture", "Events", "ObjectEvent.json")
    before = counts(writable_server)
    with writable_server.client("admin") as c:
        r = c.post("/events", content=ev, headers=JSON_LD)
        assert r.status_code == 201, r.text
        location = r.headers["location"]
        event_id = unquote(location.removeprefix("/events/"))
        assert r.json()["eventID"] == event_id == (orjson.loads(ev).get("eventID") or event_hash(orjson.loads(ev)))
        got = c.get(location)
        assert got.status_code == 200 and got.json()["type"] == "ObjectEvent" and got.json()["eventID"] == event_id
        again = c.post("/events", content=ev, headers=JSON_LD)
        assert again.status_code == 409 and again.json()["type"] == "epcisException:ResourceAlreadyExistsException"
        bad = orjson.loads(ev)
        bad["bizStep"] = "transforming"
        r = c.post("/events", content=orjson.dumps(bad), headers=JSON_LD)
        assert r.status_code == 400 and "transforming" in r.json()["detail"]
        assert r.json()["errors"][0]["field"] == "bizStep"
        doc = conformance(*EPCIS, "Example_9.6.2-ObjectEvent.jsonld")
        assert c.post("/events", content=doc, headers=JSON_LD).status_code == 400  # a document, not an event
        assert c.get("/events/urn:uuid:no-such-event").status_code == 404
    assert counts(writable_server)["event"] == before["event"] + 1


# -- template uploads ---------------------------------------------------------------------------------

OPERATORS = ("本地编号,名称,主体类型,统一社会信用代码,所属区县\n"
             "UP-1,崇川区测试超市,超市,,崇川区\n"
             "UP-2,坏码超市,超市,91320602MA1MXXXX01,\n"
             "UP-3,城东测试农贸市场,农贸市场,,崇川区\n").encode("utf-8")


def test_upload_template_good_rows_load_bad_row_listed(writable_server):
    before = counts(writable_server)
    with writable_server.client("admin") as c:
        r = c.post("/uploads", files={"files": ("经营主体.csv", OPERATORS, "text/csv")})
        assert r.status_code == 200, r.text
        (f,) = r.json()["files"]
        assert (f["file"], f["kind"], f["template"], f["status"]) == ("经营主体.csv", "template", "operators", "rejects")
        assert f["changed"] > 0 and f["rejected"] == 1
        (rej,) = f["rejects"]
        assert (rej["file"], rej["row"], rej["field"], rej["value"]) == (
            "经营主体.csv", "3", "统一社会信用代码", "91320602MA1MXXXX01")
        assert rej["reason"] == "USCC check character is 1, expected 0 in '91320602MA1MXXXX01'"
        with open_store(writable_server.store) as store:
            ops = store.get_many("operator", [I.operator_id(local="UP-1"), I.operator_id(local="UP-3"),
                                              I.operator_id(local="UP-2")])
        assert sorted(o.name for o in ops.values()) == ["城东测试农贸市场", "崇川区测试超市"]
        after = counts(writable_server)
        assert after["operator"] == before["operator"] + 2
        again = c.post("/uploads", files={"files": ("经营主体.csv", OPERATORS, "text/csv")})
        assert again.json()["changed"] == 0 and again.json()["rejected"] == 1
        assert counts(writable_server) == after
        csv_ = c.post("/uploads", params={"format": "csv"}, files={"files": ("经营主体.csv", OPERATORS, "text/csv")})
        assert csv_.status_code == 200 and csv_.headers["content-type"].startswith("text/csv")
        text = csv_.content.decode("utf-8")
        assert text.startswith("\ufeff文件/file,行/row,字段/field,值/value,原因/reason\r\n")
        assert '经营主体.csv,3,统一社会信用代码,91320602MA1MXXXX01,"USCC check character is 1, expected 0' in text


def test_upload_lists_the_rows_skipped_as_no_records(writable_server):
    body = OPERATORS.decode("utf-8").replace("UP-2,坏码超市,超市,91320602MA1MXXXX01,\n", "") + "合计,2户,,,\n注：本表每月更新。\n"
    with writable_server.client("admin") as c:
        r = c.post("/uploads", files={"files": ("经营主体.csv", body.encode("gbk"), "text/csv")})
        assert r.status_code == 200, r.text
        (f,) = r.json()["files"]
        assert (f["status"], f["rejected"]) == ("ok", 0)
        assert [(n["sheet"], n["row"], n["kind"], n["value"]) for n in f["notes"]] == [
            ("", "4", "total", "合计 | 2户"), ("", "5", "note", "注：本表每月更新。")]
        assert f["notes"][0]["label"] == "合计行/a total row (合计, 小计, 总计)"


def test_upload_several_files_and_refusals(writable_server):
    epcis = conformance(*EPCIS, "Example_9.6.2-ObjectEvent.jsonld")
    with writable_server.client("admin") as c:
        r = c.post("/uploads", files=[("files", ("../../evil/ops.csv", OPERATORS, "text/csv")),
                                      ("files", ("doc.jsonld", epcis, "application/ld+json")),
                                      ("files", ("garbage.xlsx", b"\x00\x01 not a workbook", "application/octet-stream"))])
        assert r.status_code == 200, r.text
        files = {f["file"]: f for f in r.json()["files"]}
        assert set(files) == {"ops.csv", "doc.jsonld", "garbage.xlsx"}
        assert files["doc.jsonld"]["kind"] == "epcis" and files["doc.jsonld"]["status"] == "ok"
        assert files["garbage.xlsx"]["status"] == "unreadable" and "garbage.xlsx" in files["garbage.xlsx"]["error"]
        assert "/tmp" not in r.text
        assert c.post("/uploads", data={"x": "1"}, files={"other": ("a.csv", b"a")}).status_code == 400
        assert c.post("/uploads", content=b"a,b\n", headers={"Content-Type": "text/csv"}).status_code == 415
        r = c.post("/uploads", content=b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert r.status_code == 400
        assert c.post("/uploads", params={"kind": "bogus"}, files={"files": ("a.csv", b"a")}).status_code == 422
        r = c.post("/uploads", params={"kind": "epcis"}, files={"files": ("ops.csv", OPERATORS)})
        assert r.json()["files"][0]["status"] == "unreadable"
