"""The staff console in headless Chromium (Debian's package, driven by Playwright as the consumer page is): the
main journeys, a screenshot of each main page at desktop and phone width (test-artifacts/console/), no page wider
than a phone, and axe-core (vendored in the axe-playwright-python package) finding no serious or critical
accessibility violation.

Journeys: an investigator signs in, searches a lot number, opens the lot, runs a trace, downloads the recall
workbook and opens it; the credit team overrides a grade with a reason and sees it in the history; a district
officer is refused another district's operator; signing out; a session that timed out sends back to sign in.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from api.console.accounts import Accounts

from ...conftest import chromium_or_skip, missing_tool
from ..service import dataset as D
from ..service.test_browser import ARGS, _font_env
from .conftest import EVENT_CC, FAR, PASSWORD, SHOP

REPO = Path(__file__).resolve().parents[3]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _artifacts() -> Path:
    out = Path(os.environ.get("FOODTRACE_TEST_ARTIFACTS") or REPO / "test-artifacts") / "console"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_tool("playwright is not installed (test extra)")
    env = _font_env(tmp_path_factory.mktemp("fonts"))
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS, env=env)
        try:
            yield b
        finally:
            b.close()


def _page(browser, server, user: str | None, phone: bool = False):
    kw = dict(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True) if phone else \
        dict(viewport=DESKTOP)
    ctx = browser.new_context(locale="zh-CN", accept_downloads=True, base_url=server.url, **kw)
    page = ctx.new_page()
    # what the page's security policy refused (a script or request of our own refused is a broken page)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: refused.append(f"page error: {e}"))
    REFUSED[id(page)] = refused
    if user:
        page.goto("/console/login")
        page.fill("#username", user)
        page.fill("#password", PASSWORD)
        page.click("#signin")
        page.wait_for_url("**/console/")
    return page


#: per page (by id): the messages of what its policy refused, and its script errors
REFUSED: dict[int, list[str]] = {}


def _axe(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]


def test_investigator_journey(browser, console):
    page = _page(browser, console, "inv")
    try:
        page.fill("#q", D.PORK_LOT_NUMBER)
        page.click("#search-go")
        page.wait_for_url("**/console/lots/**")
        assert page.inner_text("#lot-number") == D.PORK_LOT_NUMBER
        assert "南通肉联厂有限公司" in page.inner_text("#chain")
        page.click("#trace-down")
        page.wait_for_selector("#counts")
        stations = page.inner_text("#stations")
        assert "李四鲜肉摊" in stations and "何记饭店" in stations
        with page.expect_download() as dl:
            page.click("#recall-download")
        download = dl.value
        assert download.suggested_filename.startswith("召回清单_下游_P20261101")
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
        assert "召回清单" in wb.sheetnames
        cells = " ".join(str(c.value) for row in wb["召回清单"].iter_rows() for c in row if c.value is not None)
        assert "何记饭店" in cells and "李四鲜肉摊" in cells
        # sign out: back to the sign-in page, and the console is closed again
        page.click("#signout")
        page.wait_for_url("**/console/login")
        page.goto("/console/trace")
        assert "/console/login" in page.url
    finally:
        page.context.close()


def test_trace_graph_page_draws_under_its_policy(browser, console):
    """The trace graph is a self-contained page with its scripts inside it: its policy allows exactly those
    (by their hashes), the network is drawn and nothing is refused."""
    page = _page(browser, console, "inv")
    try:
        response = page.goto(f"/console/trace/graph?id={D.PORK_LOT}&direction=down")
        assert response.status == 200
        csp = response.headers["content-security-policy"]
        assert "'sha256-" in csp and "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
        page.wait_for_selector("canvas", timeout=15_000)
        assert REFUSED[id(page)] == []
    finally:
        page.context.close()


def test_credit_officer_overrides_a_grade_with_a_reason(browser, writable_console):
    page = _page(browser, writable_console, "cre")
    try:
        page.goto(f"/console/grades/{D.STALL}")
        assert page.inner_text("#grade-letter") == "B"
        page.select_option("#ov-grade", "D")
        page.fill("#ov-reason", "约谈后仍未整改（测试）")
        page.click("#override-go")
        page.wait_for_selector("#history-table")
        assert page.inner_text("#grade-letter") == "D"
        history = page.inner_text("#history-table")
        assert "人工调整" in history and "约谈后仍未整改（测试）" in history and "测试credit" in history
        # an empty reason is refused by the form and by the server
        page.fill("#lift-reason", " ")
        page.click("#lift-go")
        assert "reason" in page.inner_text("#grade-error")
        page.screenshot(path=str(_artifacts() / "grade-override-desktop.png"), full_page=True)
    finally:
        page.context.close()


def test_district_officer_is_refused_another_districts_operator(browser, console):
    page = _page(browser, console, "dis")
    try:
        response = page.goto(f"/console/operators/{FAR}")
        assert response.status == 403 and "无权访问" in page.inner_text("h1")
        assert page.goto(f"/console/operators/{SHOP}").status == 200
        assert page.inner_text("#operator-name") == "崇川某某超市"
    finally:
        page.context.close()


def test_an_expired_session_goes_back_to_sign_in(browser, console):
    page = _page(browser, console, "ana")
    try:
        token = next(c["value"] for c in page.context.cookies() if c["name"] == "ft_session")
        acc = Accounts(console.service_db)
        acc.age_session(token, 31 * 60)
        acc.close()
        page.goto("/console/grades")
        assert "/console/login" in page.url and "会话已超时" in page.inner_text("main")
        page.fill("#username", "ana")
        page.fill("#password", PASSWORD)
        page.click("#signin")
        page.wait_for_url("**/console/grades")
    finally:
        page.context.close()


#: the main pages, each shot at desktop and phone width and checked by axe
MAIN_PAGES = {
    "login": (None, "/console/login"),
    "search": ("adm", "/console/?q=某某超市"),
    "operator": ("adm", f"/console/operators/{D.SLAUGHTER}"),
    "lot": ("adm", f"/console/lots/{D.PORK_LOT}"),
    "sample": ("adm", "/console/samples/urn:foodtrace:sample:sup-1"),
    "trace": ("adm", f"/console/trace?id={D.PORK_LOT}&direction=down"),
    "outbreak": ("adm", "/console/outbreak"),
    "grades": ("adm", "/console/grades"),
    "grade": ("adm", f"/console/grades/{D.STALL}"),
    "warnings": ("adm", "/console/warnings"),
    "disposal": ("dis", "/console/disposal"),
    "case": ("dis", "/console/disposal/HC-CC"),
    "complaints": ("adm", "/console/complaints"),
    "indicators": ("dis", "/console/indicators?from=2026-10-01&to=2026-10-31"),
    "report": ("adm", "/console/report"),
    "loads": ("adm", "/console/loads"),
}


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_main_pages_screenshots_fit_and_accessibility(browser, console, phone):
    assert _shoot(browser, console, MAIN_PAGES, phone) == []


#: the special programmes' pages (over their hand-made records), shot and checked like the main pages
PROGRAMME_PAGES = {
    "schools": ("adm", "/console/schools"),
    "school-supply": ("adm", "/console/schools/supply?from=2026-03-01&to=2026-03-31"),
    "kitchens": ("ana", "/console/kitchens?from=2026-03-01&to=2026-03-31"),
    "banquets": ("dis", "/console/banquets"),
    "banquet-stats": ("adm", "/console/banquets/stats"),
    "events": ("inv", "/console/events"),
    "event": ("inv", f"/console/events/{EVENT_CC}?as_of=2026-03-02"),
    "event-report": ("inv", f"/console/events/{EVENT_CC}/report?as_of=2026-03-02"),
}


#: pages that are self-contained documents (no console scripts)
SELF_CONTAINED = {"event-report"}


def _shoot(browser, server, shots: dict[str, tuple[str | None, str]], phone: bool) -> list[str]:
    """Open each page, check it fits the width, take its screenshot, run axe; the problems found."""
    from urllib.parse import quote

    problems, pages = [], {}
    for name, (user, url) in shots.items():
        if user not in pages:
            pages[user] = _page(browser, server, user, phone=phone)
        page = pages[user]
        path, _, query = url.partition("?")
        response = page.goto(quote(path, safe="/") + ("?" + "&".join(
            k + "=" + quote(v, safe="") for k, v in (p.split("=", 1) for p in query.split("&"))) if query else ""))
        assert response is not None and response.status == 200, (name, response and response.status)
        page.wait_for_load_state("networkidle")
        width = PHONE["width"] if phone else DESKTOP["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} overflows at {width}px"
        page.screenshot(path=str(_artifacts() / f"{name}-{'phone' if phone else 'desktop'}.png"), full_page=True)
        problems += [f"{name}: {v}" for v in _axe(page)]
        if user is not None and name not in SELF_CONTAINED:   # the console's own scripts ran under its policy
            assert page.evaluate("typeof window.htmx") == "object", f"{name}: htmx did not load"
        problems += [f"{name}: {m}" for m in REFUSED.pop(id(page), [])]
        REFUSED[id(page)] = []
    for page in pages.values():
        page.context.close()
    return problems


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_programme_pages_screenshots_fit_and_accessibility(browser, programmes_console, phone):
    assert _shoot(browser, programmes_console, PROGRAMME_PAGES, phone) == []


def test_school_alert_filter_swaps_the_list_in_place(browser, programmes_console):
    """Choosing a kind re-draws the alert list through htmx (no page load) and the address follows."""
    from playwright.sync_api import expect
    page = _page(browser, programmes_console, "adm")
    try:
        page.goto("/console/schools")
        page.evaluate("window.__kept = 1")
        page.select_option("#s-kind", "supplier_listed")
        # a locator wait, not wait_for_function: a string predicate is polled through eval() in the page, which
        # the console's policy (script-src 'self', no unsafe-eval) refuses whenever the first check is too early
        expect(page.locator("#alerts")).to_contain_text("共 1 条")
        assert page.evaluate("window.__kept") == 1 and "kind=supplier_listed" in page.url
        assert "通州区实验中学食堂" in page.inner_text("#alerts")
        assert REFUSED[id(page)] == []
    finally:
        page.context.close()
