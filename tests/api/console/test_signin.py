"""Signing in: lock-out and throttling, session timeouts, the password policy, sign-out, the audit trail, the
`foodtrace users` commands and the single sign-on configuration path (a fake provider in-process, no real one)."""

from __future__ import annotations

import subprocess
import sys

import httpx

from api.console.accounts import Accounts, password_problems
from api.service.servicedb import ServiceDB

from .conftest import PASSWORD, login_token, sign_in


def _events(server) -> list[tuple[str | None, int | None, list[str]]]:
    import time

    time.sleep(0.5)  # the audit entry is written once the answer has been sent
    db = ServiceDB(server.service_db)
    try:
        return [(e.event, e.status, e.entities) for e in db.audit_entries()]
    finally:
        db.close()


def _try(c: httpx.Client, username: str, password: str) -> httpx.Response:
    return c.post("/console/login", data={"username": username, "password": password, "csrf": login_token(c)})


def test_lock_out_after_repeated_failures(writable_console):
    s = writable_console
    with httpx.Client(base_url=s.url) as c:
        for _ in range(4):
            r = _try(c, "inv", "wrong-password")
            assert r.status_code == 401 and "用户名或口令错误" in r.text
        r = _try(c, "inv", "wrong-password")
        assert r.status_code == 429 and "锁定" in r.text and int(r.headers["retry-after"]) > 800
        # locked: even the right password is refused, and an unknown name looks like a wrong password
        assert _try(c, "inv", PASSWORD).status_code == 429
        assert _try(c, "nobody", "x").status_code == 401
    events = _events(s)
    assert [e for e, _, _ in events].count("signin.failed") == 5
    assert ("signin.locked", 429, ["user:inv"]) in events
    # the administrator's reset lifts the lock (the new password is then to be changed)
    acc = Accounts(s.service_db)
    acc.set_password("inv", "Reset-Pass-2026", by_admin=True)
    acc.close()
    with httpx.Client(base_url=s.url) as c:
        r = _try(c, "inv", "Reset-Pass-2026")
        assert r.status_code == 303 and r.headers["location"] == "/console/password"
        # nothing else opens until the password is changed
        assert c.get("/console/", follow_redirects=False).headers["location"] == "/console/password"
        csrf = c.get("/console/password").text.split('name="csrf" value="')[1].split('"')[0]
        bad = c.post("/console/password", data={"csrf": csrf, "current": "Reset-Pass-2026", "new": "short",
                                                "again": "short"})
        assert bad.status_code == 422 and "至少 10 个字符" in bad.text
        ok = c.post("/console/password", data={"csrf": csrf, "current": "Reset-Pass-2026", "new": "Better-Pass-2027",
                                               "again": "Better-Pass-2027"}, follow_redirects=False)
        assert ok.status_code == 303 and c.get("/console/").status_code == 200


def test_an_address_with_many_failures_is_throttled(tmp_path):
    acc = Accounts(str(tmp_path / "s.db"), client_failures=3)
    acc.create_user("qian", role="analyst", password="Nantong-2026!")
    for name in ("x", "y", "z"):
        assert acc.sign_in(name, "bad", client="10.0.0.9").outcome == "failed"
    assert acc.sign_in("qian", "Nantong-2026!", client="10.0.0.9").outcome == "throttled"
    assert acc.sign_in("qian", "Nantong-2026!", client="10.0.0.8").outcome == "ok"


def test_idle_and_absolute_session_timeouts(writable_console):
    s = writable_console
    for seconds in (31 * 60, 9 * 3600 - 25 * 60):  # idle past 30 min; then busy but 8 h after sign-in
        with sign_in(s, "ana") as c:
            token = c.cookies.get("ft_session")
            acc = Accounts(s.service_db)
            if seconds > 3600:  # keep it busy: only the start moves back
                acc._x("UPDATE staff_session SET created = created - ? WHERE token_hash = ?",
                       (9 * 3600, __import__("hashlib").sha256(token.encode()).hexdigest()))
            else:
                acc.age_session(token, seconds)
            acc.close()
            r = c.get("/console/grades", follow_redirects=False)
            assert r.status_code == 303 and "expired=1" in r.headers["location"]
            page = c.get(r.headers["location"])
            assert "会话已超时" in page.text
            assert c.get("/console/grades", follow_redirects=False).status_code == 303  # ended for good
    assert [e for e, _, _ in _events(s)].count("session.expired") == 2


def test_sign_out_ends_the_session_and_is_audited(console):
    with sign_in(console, "cre") as c:
        csrf = c.get("/console/").text.split('name="csrf" value="')[1].split('"')[0]
        token = c.cookies.get("ft_session")
        r = c.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/console/login"
    with httpx.Client(base_url=console.url, cookies={"ft_session": token}) as again:
        assert again.get("/console/", follow_redirects=False).status_code == 303
    events = _events(console)
    assert any(e == "signout" for e, _, _ in events) and any(e == "signin" for e, _, _ in events)


def test_sign_in_goes_back_to_the_page_asked_for_only_inside_the_console(console):
    with httpx.Client(base_url=console.url) as c:
        r = c.post("/console/login", data={"username": "inv", "password": PASSWORD, "csrf": login_token(c),
                                           "next": "https://evil.example/"}, follow_redirects=False)
        assert r.headers["location"] == "/console/"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie


def test_password_policy():
    assert password_problems("Nantong-2026!", "zhang") == []
    assert len(password_problems("abcdefghij", "zhang")) == 1
    assert "用户名" in password_problems("Zhang-2026-x", "zhang")[0]


def test_passwords_are_stored_as_argon2id(tmp_path):
    acc = Accounts(str(tmp_path / "s.db"))
    acc.create_user("w", role="investigator", password="Nantong-2026!")
    (digest,) = acc._x("SELECT hash FROM staff_user")[0]
    acc.close()
    assert digest.startswith("$argon2id$") and "Nantong" not in digest


def test_users_commands(tmp_path):
    db = str(tmp_path / "s.db")

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "api.cli", "users", *args, "--service-db", db], input=input,
                              capture_output=True, text=True)

    r = run("create", "wang", "--role", "district", "--district", "崇川区", "--name", "王科长",
            input="Nantong-2026!\nNantong-2026!\n")
    assert r.returncode == 0, r.stderr
    assert "district urn:foodtrace:region:320602" in r.stdout
    weak = run("create", "li", "--role", "analyst", input="weak\nweak\n")
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    assert run("create", "zhao", "--role", "district", input="Nantong-2026!\nNantong-2026!\n").returncode == 2
    listed = run("list")
    assert "wang" in listed.stdout and "王科长" in listed.stdout and "Nantong" not in listed.stdout
    assert run("reset-password", "wang", input="Another-2026!\nAnother-2026!\n").returncode == 0
    assert run("disable", "wang").returncode == 0
    assert "disabled" in run("list").stdout
    acc = Accounts(db)
    assert acc.sign_in("wang", "Another-2026!", client=None).outcome == "failed"
    acc.close()
    assert run("disable", "nobody").returncode == 2
