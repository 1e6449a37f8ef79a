"""No console page without a session, every route enumerated (as the API's access test does); the permission
table and the district rule on each page; CSRF on every form; the API's profile endpoint scoped the same way."""

from __future__ import annotations

import re

import httpx
import pytest

from api.service.security import PERMISSIONS

from ..service.conftest import DISTRICT
from .conftest import FAR, SHOP, USERS, csrf_of, sign_in

#: console paths reachable without a session: the sign-in page and form, single sign-on, the static assets
PUBLIC = {("GET", "/console/login"), ("POST", "/console/login"), ("GET", "/console/sso"),
          ("GET", "/console/sso/callback")}


def console_routes() -> list[tuple[str, str]]:
    """(method, path) of every console route of the application."""
    from api.console import routers

    out = []
    for router in routers():
        for r in router.routes:
            for m in sorted(r.methods):
                if m != "HEAD":
                    out.append((m, r.path))
    return out


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_the_route_list_is_what_the_console_serves():
    routes = set(console_routes())
    assert ("GET", "/console/operators/{operator_id:path}") in routes and ("POST", "/console/logout") in routes
    assert PUBLIC <= routes
    assert len(routes) >= 30


def test_no_page_without_a_session(console):
    """Without a session: a page sends the browser to sign in (303), a form post is refused (401), htmx gets 401
    with HX-Redirect — on every console route but the sign-in ones."""
    with httpx.Client(base_url=console.url, timeout=60) as anon:
        for method, path in console_routes():
            if (method, path) in PUBLIC:
                continue
            r = anon.request(method, _url(path), follow_redirects=False)
            if method == "GET":
                assert r.status_code == 303, (method, path, r.status_code)
                assert r.headers["location"].startswith("/console/login?next="), (method, path)
            else:
                assert r.status_code == 401, (method, path, r.status_code)
            h = anon.request(method, _url(path), headers={"HX-Request": "true"}, follow_redirects=False)
            assert h.status_code == 401 and h.headers["hx-redirect"].startswith("/console/login"), (method, path)
        # a forged cookie is no session either
        anon.cookies.set("ft_session", "forged", path="/console")
        assert anon.get("/console/", follow_redirects=False).status_code == 303
        # the static assets are public (no data in them)
        assert anon.get("/console/static/htmx.min.js").status_code == 200


#: page (GET) -> the permission it needs
PAGES = {"/console/": None, "/console/trace": "trace", "/console/outbreak": "outbreak", "/console/grades": "grades.read",
         "/console/warnings": "warnings", "/console/disposal": "disposal.read", "/console/complaints": "disposal.read",
         "/console/indicators": "indicators", "/console/report": "report", "/console/loads": "capture",
         f"/console/operators/{SHOP}": "profile", f"/console/samples/urn:foodtrace:sample:cc-1": "profile",
         f"/console/grades/{SHOP}": "grades.read", "/console/disposal/HC-CC": "disposal.read",
         # the special programmes' pages (their contents, event pages and downloads: test_console_programmes.py)
         "/console/schools": "warnings", "/console/schools/supply": "profile", "/console/kitchens": "indicators",
         "/console/banquets": "disposal.read", "/console/banquets/stats": "indicators", "/console/events": "profile"}


@pytest.mark.parametrize("user", sorted(USERS))
def test_each_role_reaches_the_pages_of_its_permissions(console, user):
    role = USERS[user][0]
    with sign_in(console, user) as c:
        for page, perm in PAGES.items():
            r = c.get(page, follow_redirects=False)
            allowed = perm is None or role == "admin" or role in PERMISSIONS[perm]
            assert r.status_code == (200 if allowed else 403), (user, page, r.status_code)
            if not allowed:
                assert "无权访问" in r.text and r.headers["content-type"].startswith("text/html")


def test_a_district_officer_sees_and_changes_their_own_district_only(console):
    with sign_in(console, "dis") as c:
        assert c.get(f"/console/operators/{SHOP}").status_code == 200
        r = c.get(f"/console/operators/{FAR}")
        assert r.status_code == 403 and "own district" in r.text
        assert c.get("/console/samples/urn:foodtrace:sample:ha-1").status_code == 403
        assert c.get("/console/samples/urn:foodtrace:sample:cc-1").status_code == 200
        assert c.get("/console/disposal/HC-HA").status_code == 403
        assert c.get("/console/disposal/HC-CC").status_code == 200
        listed = c.get("/console/disposal").text
        assert "HC-CC" in listed and "HC-HA" not in listed
        assert "海安某某超市" not in c.get("/console/complaints").text
        assert c.get("/console/disposal", params={"district": "海安市"}).status_code == 403
        # search finds the own district's business, not the other's
        found = c.get("/console/search", params={"q": "某某超市"}).text
        assert "崇川某某超市" in found and "海安某某超市" not in found
        # changing another district's case is refused, and nothing is written
        r = c.post("/console/disposal/HC-HA/steps", data={"csrf": csrf_of(c), "kind": "served", "date": "2026-10-13"})
        assert r.status_code == 403
        # exports alike: the indicators workbook is the officer's district only; asking for another is 403
        assert c.get("/console/indicators/indicators.xlsx", params={"district": "海安市"}).status_code == 403
        assert c.get("/console/indicators/indicators.xlsx").status_code == 200
    with sign_in(console, "inv") as c:
        assert c.get(f"/console/operators/{FAR}").status_code == 200


def test_the_profile_api_is_scoped_for_a_district_key(console):
    from api.service.servicedb import ServiceDB

    db = ServiceDB(console.service_db)
    _, token = db.create_key("district", name="区县测试", district=DISTRICT)
    db.close()
    with httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get(f"/operators/{SHOP}/profile").status_code == 200
        r = c.get(f"/operators/{FAR}/profile")
        assert r.status_code == 403 and "own district" in r.json()["detail"]


def test_every_form_needs_the_csrf_token(console):
    """Every state-changing console route refuses a request without the session's CSRF token (403, audited)."""
    posts = [p for m, p in console_routes() if m == "POST" and (m, p) not in PUBLIC]
    assert len(posts) >= 8
    with sign_in(console, "adm") as c:
        for path in posts:
            r = c.post(_url(path), data={"csrf": "wrong"}, follow_redirects=False)
            assert r.status_code == 403 and "CSRF" in r.text, (path, r.status_code)
            r = c.post(_url(path), data={}, follow_redirects=False)
            assert r.status_code == 403, path
        # the sign-in form has its own token (no session yet)
    with httpx.Client(base_url=console.url) as anon:
        r = anon.post("/console/login", data={"username": "inv", "password": "x", "csrf": "forged"})
        assert r.status_code == 403
    import time

    from api.service.servicedb import ServiceDB

    time.sleep(0.5)  # the audit entry is written once the answer has been sent
    db = ServiceDB(console.service_db)
    try:
        events = [e.event for e in db.audit_entries()]
    finally:
        db.close()
    assert events.count("csrf.refused") >= len(posts) * 2 + 1


def test_an_operator_whose_id_is_percent_encoded_opens_from_its_link(writable_console):
    """Operators first named in an announcement have ids spelt from their names, percent-encoded
    (``urn:foodtrace:operator:%E6%B5%B7...``): the search result's link to them, which encodes the id once more,
    opens their page over real HTTP (Starlette's in-process test client decodes such a path twice and cannot
    show this)."""
    from urllib.parse import quote

    from graph.store import open_store
    from ontology.records import Operator

    oid = "urn:foodtrace:operator:" + quote("海门区顾亮副食品摊", safe="")
    with open_store(writable_console.store) as s:
        s.write([Operator(id=oid, kind="Stall", name="海门区顾亮副食品摊", region_id=DISTRICT)])
    with sign_in(writable_console, "adm") as c:
        found = c.get("/console/search", params={"q": "顾亮副食品摊"})
        link = f"/console/operators/{quote(oid, safe='')}"
        assert found.status_code in (200, 303)
        assert link in found.text or found.headers.get("location") == link
        page = c.get(link)
        assert page.status_code == 200 and "海门区顾亮副食品摊" in page.text


def test_the_load_page_lists_the_rows_skipped_as_no_records(writable_console, tmp_path):
    """A 台账 as clerks make it, uploaded on the load page: loaded without rejects, its 合计 / 注 / footer rows and
    its 说明 sheet listed as skipped."""
    from tests.loaders import office

    ledger = office.write_ledger_xlsx(tmp_path / "进货台账.xlsx").read_bytes()
    with sign_in(writable_console, "adm") as c:
        r = c.post("/console/loads", data={"csrf": csrf_of(c), "kind": "auto"},
                   files={"files": ("进货台账.xlsx", ledger, "application/vnd.ms-excel")})
        assert r.status_code == 200, r.text
        page = r.text
    assert "拒收 0" in page and "跳过（非记录） 5" in page
    for shown in ("合计 | 286.2", "注：数量以千克计，生猪以头计。", "填表说明", "分组标题行/a group heading spanning the table"):
        assert shown in page, shown
