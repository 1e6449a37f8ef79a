"""`foodtrace report consult` on a small hand-made store: a self-contained page with the Chinese section titles,
the charts and the figures; English on request; bad dates and a reversed period are usage errors."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from api.cli import cli
from ..conftest import missing_tool
from api.fonts import WEB_FAMILY, cjk_font_path
from graph.store import open_store
from ontology.records import CreditRecord, GradeOverride, Inspection, Operator, Product, Sample, TestResult

CHONGCHUAN, TONGZHOU = "urn:foodtrace:region:320602", "urn:foodtrace:region:320612"
SECTIONS = ["风险会商报告", "一、总体情况", "二、不合格趋势", "按食品类别", "按危害类别", "按区县", "三、风险预警",
            "四、高风险主体及分级说明", "五、风险等级分布", "六、核查处置完成情况"]


def _sample(id: str, day: str, at: str, producer: str, product: str, conclusion: str = "conforming",
            batch: str | None = None, **kw) -> Sample:
    return Sample(id=f"urn:foodtrace:sample:{id}", plan="supervisory", sampled_id=at, producer_id=producer,
                  product_id=product, product_name={"milk": "纯牛奶", "veg": "青菜"}[product], batch=batch or id,
                  sampled_at=day, conclusion=conclusion, **kw)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("consult") / "consult.db")
    failed = [("F1", "2026-03-03", "B1"), ("F2", "2026-03-20", "B2"), ("F3", "2026-04-08", "B3")]
    with open_store(path) as s:
        s.write([
            Operator(id="dairy", kind="Producer", name="南通某某乳业有限公司", region_id=CHONGCHUAN, scale="medium",
                     category="dairy"),
            Operator(id="farm", kind="CropFarm", name="通州某某蔬菜基地", region_id=TONGZHOU, scale="small",
                     category="vegetable"),
            Operator(id="shop", kind="Supermarket", name="崇川某某超市", region_id=CHONGCHUAN, scale="medium"),
            Operator(id="stall", kind="Stall", name="通州某某摊位", region_id=TONGZHOU, individual=True),
            Product(id="milk", name="纯牛奶", category="dairy", producer_id="dairy"),
            Product(id="veg", name="青菜", category="vegetable", producer_id="farm"),
            *[_sample(i, d, "shop", "dairy", "milk", "nonconforming", b, disposal_due="2026-04-25",
                      disposal_done="2026-04-20" if i == "F1" else None) for i, d, b in failed],
            *[TestResult(id=f"r{i}", sample_id=f"urn:foodtrace:sample:{i}", item="菌落总数", hazard_class="microbial",
                         conclusion="nonconforming") for i, _, _ in failed],
            _sample("V1", "2026-04-10", "stall", "farm", "veg", "nonconforming"),
            TestResult(id="rV1", sample_id="urn:foodtrace:sample:V1", item="毒死蜱", hazard_class="pesticide",
                       conclusion="nonconforming"),
            _sample("OK1", "2026-03-10", "stall", "farm", "veg"),
            _sample("OK2", "2026-04-12", "shop", "dairy", "milk"),
            _sample("P1", "2026-02-10", "stall", "farm", "veg", "nonconforming"),       # previous period
            TestResult(id="rP1", sample_id="urn:foodtrace:sample:P1", item="毒死蜱", hazard_class="pesticide",
                       conclusion="nonconforming"),
            _sample("P2", "2026-02-12", "shop", "dairy", "milk"),
            Inspection(id="i1", operator_id="dairy", date="2026-03-15", kind="routine", result="fail"),
            CreditRecord(id="c1", operator_id="dairy", kind="penalty", start="2026-03-25", end="2027-03-25",
                         reason="生产不符合食品安全标准的食品"),
            GradeOverride(id="o1", operator_id="stall", grade="C", reason="多次快检不合格，约谈后仍未整改", by="王科长",
                          created="2026-04-15T09:00:00+08:00"),
            GradeOverride(id="o2", operator_id="farm", grade="D", reason="误录", by="李科员",
                          created="2026-04-02T09:00:00+08:00", lifted="2026-04-03T09:00:00+08:00"),
            GradeOverride(id="o3", operator_id="shop", grade="D", reason="会商后调整", by="李科员",
                          created="2026-05-10T09:00:00+08:00"),                  # after the period
        ])
    return path


def _run(*args: str):
    return CliRunner().invoke(cli, ["report", "consult", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def page(store_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "会商.html"
    res = _run("--from", "2026-03-01", "--to", "2026-04-30", "--out", str(out), "--store", store_path)
    assert res.exit_code == 0, res.output
    assert "4 个不合格" in res.output
    return out, out.read_text(encoding="utf-8")


def test_the_page_is_self_contained(page):
    _, text = page
    assert text.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.I), "external resource"
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", text, re.I)
    assert "<script" not in text
    if cjk_font_path() is not None:
        assert "@font-face" in text and f'font-family: "{WEB_FAMILY}"' in text and "data:font/woff;base64," in text


def test_the_page_has_the_chinese_sections_and_the_charts(page):
    _, text = page
    for title in SECTIONS:
        assert title in text, title
    charts = re.findall(r'<img class="chart" alt="[^"]*" src="data:image/png;base64,([^"]+)"', text)
    assert len(charts) == 5                      # 3 trends, grades by kind and by district
    for c in charts:
        assert base64.b64decode(c)[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_figures_on_the_page(page):
    _, text = page
    plain = re.sub(r"<[^>]+>", " ", text)
    plain = re.sub(r"\s+", " ", plain)
    # 6 samples in the period, 4 nonconforming; previous period (2025-12-30 .. 2026-02-28): 2 samples, 1 failed
    assert "6 抽检样品（上期 2）" in plain and "4 不合格（上期 1）" in plain and "66.7% 不合格率" in plain
    assert "乳制品 4 3 75.0% 1 0 0.0% +3 +75.0 个百分点" in plain      # category row: this period vs the previous
    assert "微生物 6 3 50.0% 2 0 0.0% +3" in plain                   # hazard row: the share of all samples
    # 核查处置 as of 2026-05-01: F1 done, F2 and F3 overdue (due 2026-04-25), V1 without a deadline
    assert "33.3% 核查处置完成率（1/3，目标 100%）" in plain
    assert "逾期未完成 2026-03-20 崇川某某超市 2026-04-25 – 6 F2" in plain
    assert "未完成（无期限记录） 2026-04-10 通州某某摊位 – – V1" in plain
    # the red line: 3 failed batches of one product of one producer
    assert "红线" in plain and "南通某某乳业有限公司" in plain
    # top-risk operators come with their grade explanation
    assert "计分因素" in plain and "得分/满分" in plain and "依据" in plain
    # the credit team's override in force at the end of the period is shown beside the computed grade
    assert "人工调整为 C 级（王科长，2026-04-15：多次快检不合格，约谈后仍未整改）" in plain
    assert plain.count("人工调整为") == 1 and "另有 1 家主体的等级由信用监管人员人工调整" in plain


def test_english_report(store_path, tmp_path):
    out = tmp_path / "consult-en.html"
    res = _run("--from", "2026-03-01", "--to", "2026-04-30", "--out", str(out), "--store", store_path,
               "--lang", "en", "--no-model", "--top", "2")
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert '<html lang="en">' in text
    for title in ("Risk consultation report", "1. Overview", "2. Nonconformity trends", "By hazard class",
                  "3. Early warnings", "4. Top-risk operators", "5. Grade distribution"):
        assert title in text, title
    assert "Microbial contamination" in text and text.count('class="operator"') == 2


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-02-30", "--to", "2026-04-30"], "'2026-02-30' is not a date"),
    (["--from", "2026-03-01", "--to", "April"], "'April' is not a date"),
    (["--from", "2026-05-01", "--to", "2026-04-30"], "--from 2026-05-01 is after --to 2026-04-30"),
])
def test_bad_periods_are_usage_errors(store_path, tmp_path, args, message):
    out = tmp_path / "x.html"
    res = _run(*args, "--out", str(out), "--store", store_path)
    assert res.exit_code == 2 and message in res.output and not out.exists()


def test_out_is_required(store_path):
    res = _run("--from", "2026-03-01", "--to", "2026-04-30", "--store", store_path)
    assert res.exit_code == 2 and "--out" in res.output


def test_chromium_renders_the_page(page, tmp_path):
    from PIL import Image

    if shutil.which("chromium") is None:
        missing_tool("no headless Chromium (Debian package chromium)")
    path, _ = page
    shot = tmp_path / "report.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1600", f"--screenshot={shot}",
                    path.as_uri()], check=True, capture_output=True, timeout=120)
    im = Image.open(shot).convert("RGB")
    colours = im.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50, "the page looks blank"
    # the red title rule and section bars are drawn
    assert any(c[1] == (0xB7, 0x1C, 0x1C) for c in colours)
