"""The major-event endpoints on a real server: a period ending before it starts is 422 and writes nothing; the
report (JSON, page, workbook) lists a designated supplier's failed sample."""

from __future__ import annotations

import io

import openpyxl
import pytest

from graph.store import open_store
from tests.reasoning.schools_net import DIST, FARM, PIG, SCHOOL1, failing, network, standing

from .conftest import LiveServer


@pytest.fixture
def event_server(tmp_path):
    path = str(tmp_path / "store.db")
    with open_store(path) as s:
        s.write(network() + standing() + failing("s-farm", PIG, FARM, "2026-01-10", item="克伦特罗"))
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
