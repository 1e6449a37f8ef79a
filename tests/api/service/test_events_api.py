"""The major-event endpoints on a real server: a period ending before it starts is 422 and writes nothing; the
report (JSON, page, workbook) lists a designated supplier's failed sample; the sampling list and the after report
are those of the CLI's functions; a meal lot traces up to its origins in one call."""

from __future__ import annotations

import io

import openpyxl
import pytest

from graph.store import open_store
from tests.reasoning.schools_net import (DIST, FARM, PIG, PORK, PORK2, SCHOOL1, SCHOOL2, SLAUGHTER, VEG, VFARM,
                                        failing, network, standing)
from tests.reasoning.test_events import history

from .conftest import LiveServer


@pytest.fixture
def event_server(tmp_path):
    path = str(tmp_path / "store.db")
    with open_store(path) as s:
        s.write(network() + standing() + failing("s-farm", PIG, FARM, "2026-01-10", item="克伦特罗") + history()
                + failing("s-games", PORK, SCHOOL1, "2026-03-03", plan="supervisory", item="克伦特罗"))
    srv = LiveServer(path, str(tmp_path / "service.db"), env={"FOODTRACE_SCHOOL_ALERTS": "false"})
    try:
        yield srv
    finally:
        srv.stop()


def test_create_and_report(event_server):
    srv = event_server
    body = {"name": "2026南通国际会议", "level": "municipal", "start": "2026-03-02", "end": "2026-03-04",
            "kitchens": [SCHOOL1], "suppliers": [FARM, DIST], "venues": ["南通国际会议中心"]}
    with srv.client("investigator") as inv:
        bad = inv.post("/major-events", json={**body, "end": "2026-03-01"})
        assert bad.status_code == 422 and "before it starts" in bad.text
        assert inv.get("/major-events").json() == []
        ev = inv.post("/major-events", json=body)
        assert ev.status_code == 201, ev.text
        eid = ev.json()["id"]
        data = inv.get(f"/major-events/{eid}/report", params={"as_of": "2026-02-20"}).json()
        farm = next(v for v in data["vetting"] if v["supplier_id"] == FARM)
        assert [s["id"] for s in farm["failed_samples"]] == ["s-farm"] and farm["verdict"] == "reject"
        page = inv.get(f"/major-events/{eid}/report", params={"as_of": "2026-02-20", "format": "html"})
        assert page.headers["content-type"].startswith("text/html") and "克伦特罗" in page.text
        xlsx = inv.get(f"/major-events/{eid}/report", params={"format": "xlsx"})
        assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "供应商审查"
    with srv.client("public") as public:
        assert public.get("/major-events").status_code == 403


def test_sampling_list_after_report_and_the_trace_of_a_meal_lot(event_server):
    srv = event_server
    body = {"name": "2026南通运动会", "level": "municipal", "start": "2026-03-02", "end": "2026-03-04",
            "kitchens": [SCHOOL1, SCHOOL2], "suppliers": [DIST, VFARM, SLAUGHTER]}
    with srv.client("investigator") as inv:
        eid = inv.post("/major-events", json=body).json()["id"]
        data = inv.get(f"/major-events/{eid}/sampling-list", params={"as_of": "2026-03-05"}).json()
        assert {r["lot_id"] for r in data["rows"]} == {PORK, VEG, PORK2} and data["rows"][-1]["lot_id"] == VEG
        assert [r["rank"] for r in data["rows"]] == sorted(r["rank"] for r in data["rows"])
        csv = inv.get(f"/major-events/{eid}/sampling-list", params={"as_of": "2026-03-05", "format": "csv"})
        assert csv.text.lstrip("\ufeff").startswith("风险排名,批次,批号,产品,供应商")
        en = inv.get(f"/major-events/{eid}/sampling-list", params={"as_of": "2026-03-05", "format": "xlsx",
                                                                   "lang": "en"})
        assert [c.value for c in openpyxl.load_workbook(io.BytesIO(en.content)).active[1]][:2] == ["rank", "lot"]
        report = inv.get(f"/major-events/{eid}/report", params={"as_of": "2026-03-05", "format": "xlsx"})
        assert openpyxl.load_workbook(io.BytesIO(report.content)).sheetnames[-1] == "风险抽检清单"
        after = inv.get(f"/major-events/{eid}/after-report", params={"as_of": "2026-03-20"}).json()
        assert after["verdict"] == "incidents" and after["findings"] == ["抽检不合格1批次：猪肉（克伦特罗）"]
        page = inv.get(f"/major-events/{eid}/after-report", params={"as_of": "2026-03-20", "format": "html"})
        assert "食品安全保障总结报告" in page.text and "发生食品安全问题" in page.text and "<script" not in page.text
        assert inv.get("/major-events/nope/after-report").status_code == 404
        up = inv.get("/trace/up", params={"id": PORK}).json()
        assert {FARM, SLAUGHTER} <= {s["id"] for s in up["stations"]}


def test_a_district_officer_sees_the_events_of_their_district_only(event_server):
    """As in the console: the event's own district or one of its kitchens' decides; another district's event is
    neither listed nor readable (403), its report included."""
    srv = event_server
    base = {"level": "district", "start": "2026-03-02", "end": "2026-03-04", "suppliers": [DIST]}
    with srv.client("investigator") as inv:
        ours = inv.post("/major-events", json={**base, "name": "崇川区运动会", "kitchens": [SCHOOL1]}).json()["id"]
        theirs = inv.post("/major-events", json={**base, "name": "通州区运动会", "kitchens": [SCHOOL2]}).json()["id"]
        assert {e["id"] for e in inv.get("/major-events").json()} == {ours, theirs}
    with srv.client("district") as officer:
        assert [e["id"] for e in officer.get("/major-events").json()] == [ours]
        assert officer.get(f"/major-events/{ours}/report").status_code == 200
        for path in ("report", "after-report", "sampling-list"):
            r = officer.get(f"/major-events/{theirs}/{path}")
            assert r.status_code == 403 and "own district" in r.text, path
