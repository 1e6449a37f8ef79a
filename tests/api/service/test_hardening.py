"""Security headers, rate limits on public routes, audit-log rotation with retention (issue 18)."""

from __future__ import annotations

import gzip
import json

import pytest
from click.testing import CliRunner
from api.cli import cli
from api.service.hardening import TokenBuckets
from api.service.servicedb import ServiceDB
from api.settings import Settings

from . import dataset as D
from .conftest import LiveServer

PORK = f"/01/{D.PORK_GTIN}/10/{D.PORK_LOT_NUMBER}"


@pytest.fixture
def serve(tmp_path):
    """Start ``foodtrace serve`` over the hand-made store with these settings (environment variables)."""
    started = []

    def start(**env: str) -> LiveServer:
        folder = tmp_path / f"s{len(started)}"
        folder.mkdir()
        D.build(str(folder / "store.db"))
        s = LiveServer(str(folder / "store.db"), str(folder / "service.db"), env=env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def test_security_headers_on_pages_answers_errors_and_docs(serve):
    server = serve()
    with server.client() as c:
        for path, headers in ((PORK, {"Accept": "text/html"}), (PORK, {"Accept": "application/json"}),
                              ("/01/06901234567892/10/NOPE", {"Accept": "application/json"}), ("/healthz", {})):
            r = c.get(path, headers=headers)
            assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "script-src" not in csp
            assert "strict-transport-security" not in r.headers  # plain HTTP: no HSTS
        icon = c.get("/favicon.ico")  # asked for by every browser page: ours, not a 404
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
        assert icon.content.startswith(b"<svg") and icon.headers["x-content-type-options"] == "nosniff"
        docs = c.get("/docs")
        assert docs.status_code == 200 and "script-src 'self' 'unsafe-inline'" in docs.headers["content-security-policy"]
        assert "http" not in docs.headers["content-security-policy"]  # nothing from elsewhere: no CDN
        assert "/docs/static/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text
        bundle = c.get("/docs/static/swagger-ui-bundle.js")
        assert bundle.status_code == 200 and len(bundle.content) > 100_000
        redoc = c.get("/redoc")
        assert "/docs/static/redoc.standalone.js" in redoc.text and "http" not in redoc.headers["content-security-policy"]
        # behind a TLS-terminating proxy on this host (trusted by uvicorn's forwarded-allow-ips): HSTS
        tls = c.get(PORK, headers={"Accept": "application/json", "X-Forwarded-Proto": "https"})
        assert tls.headers["strict-transport-security"].startswith("max-age=")


def test_public_routes_are_rate_limited_per_client(serve):
    with serve(FOODTRACE_PUBLIC_RATE="60", FOODTRACE_PUBLIC_BURST="5").client() as c:
        codes = [c.get(PORK, headers={"Accept": "application/json"}).status_code for _ in range(7)]
        assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
        r = c.get(PORK, headers={"Accept": "application/json"})
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["retry-after"]) >= 1 and "查询过于频繁" in r.json()["detail"]
        assert c.get("/healthz").status_code == 200  # not a lookup: not limited
        assert c.get("/grades").status_code == 401  # staff routes need a key, not a bucket
    with serve(FOODTRACE_PUBLIC_RATE="0").client() as c:
        assert {c.get(PORK, headers={"Accept": "application/json"}).status_code for _ in range(200)} == {200}


def test_buckets_forget_the_least_recent_clients():
    b = TokenBuckets(rate_per_minute=60, burst=1, max_clients=3)
    for i in range(10):
        assert b.take(f"10.0.0.{i}", now=0.0) == 0.0
    assert len(b) == 3
    assert b.take("10.0.0.9", now=0.5) == pytest.approx(0.5)  # remembered: waits
    assert b.take("10.0.0.0", now=0.5) == 0.0  # forgotten: a fresh bucket


def _entry(db: ServiceDB, time: str, path: str) -> None:
    db._x("INSERT INTO audit(time, key_id, role, name, method, path, query, status, entities, client) "
          "VALUES (?,?,?,?,?,?,?,?,?,?)", (time, "k1", "admin", "甲", "GET", path, None, 200, "[]", "127.0.0.1:1"))


def test_audit_rotation_keeps_six_months_and_archives_by_month(tmp_path):
    db = ServiceDB(str(tmp_path / "service.db"))
    for t, p in (("2025-01-15T10:00:00.000+08:00", "/old"), ("2026-05-20T10:00:00.000+08:00", "/may"),
                 ("2026-06-02T10:00:00.000+08:00", "/june"), ("2026-12-01T10:00:00.000+08:00", "/live")):
        _entry(db, t, p)
    archive = tmp_path / "audit-archive"
    with pytest.raises(Exception, match="longer than they are kept"):
        db.rotate_audit(str(archive), live_days=400, retention_days=183)
    done = db.rotate_audit(str(archive), live_days=31, retention_days=183, now="2026-11-20T12:00:00+08:00")
    assert done["archived"] == 3 and done["months"] == ["2025-01", "2026-05", "2026-06"]
    assert done["expired"] == ["audit-2025-01.jsonl.gz"]  # ended more than 183 days ago
    assert sorted(p.name for p in archive.iterdir()) == ["audit-2026-05.jsonl.gz", "audit-2026-06.jsonl.gz"]
    assert [e.path for e in db.audit_entries()] == ["/live"]
    assert [e.path for e in db.archived_entries(str(archive))] == ["/may", "/june"]
    with gzip.open(archive / "audit-2026-06.jsonl.gz", "rt", encoding="utf-8") as fh:
        assert json.loads(fh.readline())["path"] == "/june"
    # rotating again adds to a month's file without losing or repeating an entry
    _entry(db, "2026-06-03T10:00:00.000+08:00", "/june-2")
    db.rotate_audit(str(archive), live_days=31, retention_days=183, now="2026-11-20T12:00:00+08:00")
    assert [e.path for e in db.archived_entries(str(archive))] == ["/may", "/june", "/june-2"]
    db.close()
    r = CliRunner().invoke(cli, ["audit", "--archived", "--format", "json", "--service-db", str(tmp_path / "service.db")],
                           env={"FOODTRACE_AUDIT_ARCHIVE": str(archive)})
    assert r.exit_code == 0 and [e["path"] for e in json.loads(r.output)] == ["/may", "/june", "/june-2", "/live"]


def test_retention_shorter_than_six_months_is_refused():
    with pytest.raises(ValueError, match="183"):
        Settings(audit_retention_days=90)
