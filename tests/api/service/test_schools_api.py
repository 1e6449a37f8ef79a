"""The school endpoints on a real server: a failing result written by another process raises the alert in the
service's worker, which calls the subscribed webhook with a valid signature; the alert list and the supply list
follow the district rule; a webhook URL that is not http(s) is 422."""

from __future__ import annotations

import time

import pytest

from api.webhooks import verify
from graph.store import open_store
from tests.api.test_school_alerts import Receiver
from tests.reasoning.schools_net import FARM, PIG, SCHOOL1, failing, network, standing

from .conftest import LiveServer


@pytest.fixture
def school_server(tmp_path):
    path = str(tmp_path / "store.db")
    with open_store(path) as s:
        s.write(network() + standing())
    srv = LiveServer(path, str(tmp_path / "service.db"), env={"FOODTRACE_SCHOOL_ALERT_POLL": "0.1",
                                                               "FOODTRACE_WEBHOOK_BACKOFF": "0"})
    try:
        yield srv
    finally:
        srv.stop()


def test_a_failing_result_loaded_elsewhere_raises_the_alert_and_calls_the_webhook(school_server):
    srv = school_server
    with Receiver() as rx, srv.client("admin") as admin:
        bad = admin.post("/schools/subscriptions", json={"url": "ftp://example.org/x"})
        assert bad.status_code == 422 and "http:// or https://" in bad.text
        assert admin.get("/schools/subscriptions").json() == []
        r = admin.post("/schools/subscriptions", json={"url": rx.url, "kinds": ["failed_sample"], "name": "教育局"})
        assert r.status_code == 201
        sub, secret = r.json(), r.json()["secret"]
        assert "secret" not in admin.get("/schools/subscriptions").json()[0]
        with open_store(srv.store) as s:                      # another process loads the failing result
            s.write(failing("s-farm", PIG, FARM, "2026-03-01"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not rx.calls:
            time.sleep(0.1)
        assert rx.calls, "the webhook was not called"
        headers, body = rx.calls[0]
        assert verify(secret, headers["X-Foodtrace-Signature"], body)
        log = admin.get(f"/schools/subscriptions/{sub['id']}/deliveries").json()
        assert [(d["attempt"], d["status"]) for d in log] == [(1, 200)]
    with srv.client("investigator") as inv:
        alerts = inv.get("/schools/alerts", params={"kind": "failed_sample"}).json()
        assert [(a["school_id"], a["sample_id"]) for a in alerts] == [(SCHOOL1, "s-farm")]
        assert inv.get("/schools/subscriptions").status_code == 403
    with srv.client("district") as district:                 # 崇川区: school 1 only
        kinds = {(a["school_id"], a["kind"]) for a in district.get("/schools/alerts").json()}
        assert kinds == {(SCHOOL1, "failed_sample"), (SCHOOL1, "supplier_grade")}
        assert district.get("/schools/alerts", params={"district": "通州区"}).status_code == 403
        rows = district.get("/schools/supply", params={"from": "2026-03-01", "to": "2026-03-31"}).json()
        assert [r["delivery_id"] for r in rows] == ["d3"] and rows[0]["gaps"] == ["supplier_grade"]
        rates = district.get("/schools/kitchens", params={"from": "2026-03-01", "to": "2026-03-31"}).json()
        assert [(r["scope"], r["id"]) for r in rates][0] == ("school", SCHOOL1)
        assert {r["scope"] for r in rates} == {"school", "district", "city"} and len(rates) == 3
    with srv.client() as anonymous:
        assert anonymous.get("/schools/alerts").status_code == 401
