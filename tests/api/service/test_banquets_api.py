"""The banquet endpoints on a real server: registration, chef register, guidance, reminders and statistics under
the existing roles; bad input is 422 and writes nothing; a district officer acts on their own district only."""

from __future__ import annotations

import datetime as dt

import pytest

from graph.store import open_store
from ontology.times import today

from .conftest import LiveServer


def _day(n: int) -> str:
    return str(today() + dt.timedelta(days=n))


@pytest.fixture
def banquet_server(tmp_path):
    path = str(tmp_path / "store.db")
    with open_store(path) as s:
        s.write([])
    srv = LiveServer(path, str(tmp_path / "service.db"), env={"FOODTRACE_SCHOOL_ALERTS": "false"})
    try:
        yield srv
    finally:
        srv.stop()


def test_register_guide_remind_and_count(banquet_server):
    srv = banquet_server
    with srv.client("district") as district:       # 崇川区
        bad = district.post("/banquets/chefs", json={"name": "王师傅", "district": "崇川区"})
        assert bad.status_code == 422 and "健康证有效期至" in bad.text
        chef = district.post("/banquets/chefs", json={"name": "王师傅", "district": "崇川区", "health_cert_no": "JK-1",
                                                      "health_cert_expiry": _day(20)})
        assert chef.status_code == 201, chef.text
        body = {"number": "CC-1", "host": "张某", "date": _day(3), "place": "崇川区某社区", "district": "崇川区",
                "guests": 300, "chef": chef.json()["id"]}
        past = district.post("/banquets", json={**body, "date": _day(-2)})
        assert past.status_code == 422 and "before it is registered" in past.text
        other = district.post("/banquets", json={**body, "district": "海门区"})
        assert other.status_code == 403
        ok = district.post("/banquets", json=body)
        assert ok.status_code == 201 and ok.json()["large"] is True and "host" not in ok.json()
        kinds = [r["kind"] for r in district.get("/banquets/reminders").json()]
        assert kinds == ["large_banquet_unguided", "chef_certificate_expiring"]
        assert district.post("/banquets/CC-1/guidance", json={"date": _day(3), "rectified": True}).status_code == 201
        assert [r["kind"] for r in district.get("/banquets/reminders").json()] == ["chef_certificate_expiring"]
        stats = district.get("/banquets/stats", params={"from": _day(0), "to": _day(30)}).json()
        assert [(s["registered"], s["large_guided"]) for s in stats] == [(1, 1)]
        assert district.get("/banquets", params={"district": "海门区"}).status_code == 403
    with srv.client("investigator") as inv:
        assert [b["number"] for b in inv.get("/banquets").json()] == ["CC-1"]
    with srv.client("public") as public:
        assert public.get("/banquets").status_code == 403
    with open_store(srv.store) as s:
        assert s.counts()["banquet"] == 1 and s.get("operator", "urn:foodtrace:operator:banquet:CC-1").kind == \
            "RuralBanquet"
