"""A district's 述职 pack opens in headless Chromium with its Chinese glyphs (the screenshot is kept in
test-artifacts/shuzhi-pack.png; ``FOODTRACE_TEST_ARTIFACTS`` overrides the folder)."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from api.cli import cli
from generator import generate

from ..conftest import chromium_or_skip

REPO = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def test_the_pack_page_shows_chinese_in_chromium(tmp_path):
    chromium = chromium_or_skip()
    generate(tmp_path / "data", scale=3000, seed=5)
    db = str(tmp_path / "s.db")
    runner = CliRunner()
    files = [str(p) for p in sorted((tmp_path / "data").rglob("*")) if p.is_file() and p.parent.name != "truth"
             and p.name != "manifest.json"]
    assert runner.invoke(cli, ["load", *files, "--store", db, "--rejects", str(tmp_path / "r.csv")]).exit_code == 0
    res = runner.invoke(cli, ["indicators", "--from", "2025-11-01", "--to", "2026-10-31", "--district", "崇川区",
                              "--pack", str(tmp_path / "pack"), "--store", db])
    assert res.exit_code == 0, res.output
    page_file = tmp_path / "pack" / "崇川区-述职-2025-11-01-2026-10-31.html"
    out = Path(os.environ.get("FOODTRACE_TEST_ARTIFACTS") or REPO / "test-artifacts")
    out.mkdir(parents=True, exist_ok=True)
    shot = out / "shuzhi-pack.png"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            assert page.title() == "崇川区食品安全长效动态管理照单述职 2025-11-01 至 2026-10-31"
            text = page.inner_text("body")
            for shown in ("照单述职", "抽检不合格食品核查处置完成率", "投诉举报按时办结率", "一证一票一码衔接", "信用档案建档率"):
                assert shown in text, shown
            # the embedded CJK font is loaded and draws the Chinese (no tofu boxes)
            assert page.evaluate("document.fonts.check('16px FoodtraceCJK', '崇川区照单述职')")
            assert page.evaluate("""() => [...document.fonts].some(f => f.family.includes('FoodtraceCJK')
                                                                      && f.status === 'loaded')""")
            assert page.locator("img.chart").count() == 3
            assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 300)")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 50_000
