"""Keys, roles, the audit log and problem+json errors, through real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from api.service.security import PERMISSIONS, roles_with
from api.service.servicedb import ROLES, ServiceDB, hash_token


def _protected_routes(server) -> list[tuple[str, str, str]]:
    """(method, path, permission) of every non-public operation in the OpenAPI document."""
    spec = server.client().get("/openapi.json").json()
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if op.get("security"):
                out.append((method.upper(), path, op.get("x-permission", "")))
    return out


def test_health_and_openapi(server):
    with server.client() as c:
        assert c.get("/healthz").json()["status"] == "ok"
        spec = c.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_no_key_is_401_problem(server):
    with server.client() as c:
        r = c.get("/admin/audit")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Bearer")
    body = r.json()
    assert body["status"] == 401 and body["title"] == "Unauthorized" and "Bearer" in body["detail"]
    assert body["instance"] == "/admin/audit"


def test_bad_key_is_401(server):
    with server.client(headers={"Authorization": "Bearer ft_not-a-key"}) as c:
        r = c.get("/admin/audit")
    assert r.status_code == 401 and "unknown or revoked" in r.json()["detail"]


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_wrong_role_is_403(server, role):
    with server.client(role) as c:
        r = c.get("/admin/audit")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    assert f"role {role!r}" in r.json()["detail"] and "admin" in r.json()["detail"]


def test_every_protected_route_refuses_public_callers(server):
    """No key: 401; a public key: 403 — on every operation that declares a security requirement."""
    routes = _protected_routes(server)
    assert any(p == "/admin/audit" for _, p, _ in routes)
    with server.client() as anon, server.client("public") as pub:
        for method, path, _ in routes:
            url = path.replace("{", "").replace("}", "")  # any value: access is checked before the path is
            assert anon.request(method, url).status_code == 401, (method, path)
            assert pub.request(method, url).status_code == 403, (method, path)


def test_permission_table_is_consistent():
    assert set(ROLES) >= {r for roles in PERMISSIONS.values() for r in roles}
    assert "public" not in {r for roles in PERMISSIONS.values() for r in roles}
    for perm in PERMISSIONS:
        assert roles_with(perm)[-1] == "admin"


def test_audit_log_records_who_what_when(server):
    with server.client("investigator") as c:
        c.get("/admin/audit", params={"limit": 5})  # 403, still audited
    with server.client("admin") as c:
        r = c.get("/admin/audit")
    assert r.status_code == 200
    entries = r.json()
    mine = [e for e in entries if e["key_id"] == server.key_ids["investigator"] and e["path"] == "/admin/audit"]
    assert mine and mine[-1]["status"] == 403 and mine[-1]["role"] == "investigator"
    assert mine[-1]["query"] == "limit=5" and mine[-1]["name"] == "测试-investigator"
    assert mine[-1]["time"].endswith("+08:00")
    anon = [e for e in entries if e["key_id"] is None and e["path"] == "/admin/audit"]
    assert all(e["status"] == 401 for e in anon)
    # public requests are not audited
    with server.client() as c:
        c.get("/healthz")
    with server.client("admin") as c:
        assert not [e for e in c.get("/admin/audit").json() if e["path"] == "/healthz"]


def test_keys_are_stored_hashed(server):
    db = ServiceDB(server.service_db)
    try:
        rows = db._x("SELECT hash FROM api_key")
    finally:
        db.close()
    hashes = {r[0] for r in rows}
    for token in server.keys.values():
        assert token not in hashes and hash_token(token) in hashes
    raw = open(server.service_db, "rb").read()
    assert not any(t.encode() in raw for t in server.keys.values())


def test_keys_cli_create_list_revoke(tmp_path):
    db_path = str(tmp_path / "s.db")
    run = lambda *a: subprocess.run([sys.executable, "-m", "api.cli", *a, "--service-db", db_path],  # noqa: E731
                                    capture_output=True, text=True)
    r = run("keys", "create", "--role", "credit", "--name", "信用科")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    assert token.startswith("ft_") and "role credit" in r.stderr
    key_id = hash_token(token)[:12]
    listed = run("keys", "list")
    assert key_id in listed.stdout and "信用科" in listed.stdout and token not in listed.stdout
    assert run("keys", "revoke", key_id).returncode == 0
    assert key_id not in run("keys", "list").stdout
    bad = run("keys", "create", "--role", "boss")
    assert bad.returncode == 2 and "boss" in bad.stderr
    missing = run("keys", "revoke", "nope")
    assert missing.returncode == 2 and "no API key" in missing.stderr


def test_audit_cli(server):
    with server.client("analyst") as c:
        c.get("/admin/keys")
    r = subprocess.run([sys.executable, "-m", "api.cli", "audit", "--format", "json", "--service-db",
                        server.service_db, "--key", server.key_ids["analyst"]], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)
    assert entries and entries[-1]["path"] == "/admin/keys" and entries[-1]["status"] == 403


def test_unknown_route_is_problem_json(server):
    with server.client() as c:
        r = c.get("/no/such/thing")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_serve_marks_interrupted_capture_jobs_failed(tmp_path, service_store):
    from .conftest import LiveServer

    db_path = str(tmp_path / "service.db")
    db = ServiceDB(db_path)
    job = db.new_job(kind="epcis", source="left-running.json", key_id=None)
    db.update_job(job.id, status="running")
    db.close()
    server = LiveServer(service_store, db_path)
    try:
        with server.client("admin") as c:
            r = c.get(f"/capture/{job.id}")
    finally:
        server.stop()
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["running"] is False and body["success"] is False
    assert "nothing was stored" in body["errors"][0]["detail"]
