"""A shopper's phone opens the consumer page of the pork lot in headless Chromium (Debian's package).

Playwright drives the system Chromium (``executable_path``; no browser download). Where Playwright is
not installed, ``chromium --headless --dump-dom`` / ``--screenshot`` do the same checks. The screenshot
is kept in ``test-artifacts/consumer-page.png`` (``FOODTRACE_TEST_ARTIFACTS`` overrides the folder).
Chinese glyphs come from the CJK font the project ships (mplfonts), made visible to Chromium through
a fontconfig file, so the screenshot is readable on a machine without system CJK fonts.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from api.fonts import cjk_font_path

from ...conftest import chromium_or_skip, missing_tool
from . import dataset as D

REPO = Path(__file__).resolve().parents[3]
PORK_PATH = f"/01/{D.PORK_GTIN}/10/{D.PORK_LOT_NUMBER}"
PHONE = {"width": 390, "height": 844}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def _chromium() -> str:
    return chromium_or_skip()


def _artifacts() -> Path:
    out = Path(os.environ.get("FOODTRACE_TEST_ARTIFACTS") or REPO / "test-artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _font_env(tmp_path: Path) -> dict[str, str]:
    """Environment whose fontconfig also reads the folder of the packaged CJK font."""
    env = dict(os.environ)
    font = cjk_font_path()
    if font is None:
        return env
    conf = tmp_path / "fonts.conf"
    system = "/etc/fonts/fonts.conf"
    include = f"<include ignore_missing=\"yes\">{system}</include>" if os.path.exists(system) else ""
    conf.write_text(f"<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n<fontconfig>{include}"
                    f"<dir>{Path(font).parent}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>\n")
    env["FONTCONFIG_FILE"] = str(conf)
    return env


#: what a shopper scanning the pork's trace code at the stall must see: the way from the farm to the stall,
#: and the stall's own customer (a restaurant) only counted
EXPECTED = ("冷鲜猪肉", "P20261101", "如东县", "南通肉联厂有限公司", "王**", "出栏", "屠宰", "出厂", "批发", "李**",
            "肉品品质检验合格证", "动物检疫合格证明", "快检", "此后售往 1 家餐饮")


def test_consumer_page_on_a_phone(server, tmp_path):
    chromium = _chromium()
    shot = _artifacts() / "consumer-page.png"
    url = server.url + f"/t/{D.PORK_TRACE_CODE}"
    env = _font_env(tmp_path)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None:
        _with_cli(chromium, url, shot, env, tmp_path)
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, env=env)
        try:
            page = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                    locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
            response = page.goto(url)
            assert response is not None and response.status == 200
            assert page.title() == "冷鲜猪肉 · 食品追溯查询"
            assert page.inner_text("#product-name") == "冷鲜猪肉"
            assert page.inner_text("#origin-region") == "如东县"
            steps = page.locator("li.chain-step .step").all_inner_texts()
            assert steps == ["出栏", "屠宰", "出厂", "批发"]
            certs = page.locator("li.certificate").all_inner_texts()
            assert any("肉品品质检验合格证" in c and "MQ-20261101-01" in c for c in certs)
            text = page.inner_text("body")
            for shown in EXPECTED:
                assert shown in text, shown
            for private in D.PRIVATE_STRINGS + (D.FARMER_NAME, D.STALL_KEEPER, "何记饭店"):
                assert private not in text
            # fits the phone: no horizontal scrolling
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000


def _with_cli(chromium: str, url: str, shot: Path, env: dict[str, str], tmp_path: Path) -> None:
    """Fallback without Playwright: the DOM and a screenshot from the command line."""
    base = [chromium, "--headless", *ARGS, f"--user-data-dir={tmp_path / 'profile'}", "--lang=zh-CN"]
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120, env=env).stdout
    for shown in EXPECTED:
        assert shown in dom, shown
    subprocess.run([*base, f"--screenshot={shot}", f"--window-size={PHONE['width']},{PHONE['height'] * 2}", url],
                   capture_output=True, timeout=120, env=env, check=True)
    assert shot.stat().st_size > 10_000


def test_api_docs_run_offline_under_their_policy(server, tmp_path):
    """The interactive API docs (Swagger UI, ReDoc) render from the bundle this service serves: no request leaves for
    another host (the browser is cut off from everything but the service), nothing refused by the page's
    security policy, the operations listed."""
    chromium = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_tool("playwright is not installed (test extra; the CLI fallback cannot run the docs' scripts)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, env=_font_env(tmp_path))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            elsewhere, refused = [], []
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server.url)
                       else (elsewhere.append(route.request.url), route.abort()))
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            page.on("pageerror", lambda e: refused.append(str(e)))
            assert page.goto(server.url + "/docs").status == 200
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            assert "foodtrace" in page.inner_text(".info .title")
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            assert "/healthz" in paths and "/grades" in paths
            page.screenshot(path=str(_artifacts() / "api-docs.png"))
            assert refused == []
            assert page.goto(server.url + "/redoc").status == 200
            page.wait_for_selector("h1", timeout=30_000)
            assert "foodtrace" in page.inner_text("h1") and "/healthz" in page.inner_text("body")
        finally:
            browser.close()
    assert elsewhere == []
    # ReDoc's bundle asks for its maker's logo from its CDN: the policy refuses it (as it should), nothing else
    assert all(m.startswith("Loading the image 'https://cdn.redoc.ly/") for m in refused), refused
