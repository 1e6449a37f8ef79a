"""The district officer's commands: disposal cases, complaints, letters of 三书一函 and the indicators."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from docx import Document

from api.cli import cli
from graph.store import open_store
from ontology.records import Complaint, Delivery, Lot, Operator, Sample

SHOP = "urn:foodtrace:operator:shop"
MAKER = "urn:foodtrace:operator:maker"
R1 = "urn:foodtrace:operator:r1"
LOT = "urn:foodtrace:lot:pork:L1"
CC = "urn:foodtrace:region:320602"


@pytest.fixture
def db(tmp_path) -> str:
    path = str(tmp_path / "s.db")
    with open_store(path) as s:
        s.write([
            Operator(id=SHOP, kind="Supermarket", name="崇川某某超市", region_id=CC),
            Operator(id=MAKER, kind="Producer", name="南通某某肉制品厂", region_id="urn:foodtrace:region:320612"),
            Operator(id=R1, kind="Restaurant", name="某某饭店", region_id=CC),
            Lot(id=LOT, product_id="urn:foodtrace:product:pork", producer_id=MAKER),
            Delivery(id="d1", lot_id=LOT, sender_id=MAKER, receiver_id=SHOP, time="2026-02-01T08:00:00+08:00",
                     quantity=100.0, unit="KGM", ticket_id="t1"),
            Delivery(id="d2", lot_id=LOT, sender_id=SHOP, receiver_id=R1, time="2026-02-02T08:00:00+08:00",
                     quantity=10.0, unit="KGM"),
            Sample(id="urn:foodtrace:sample:s1", plan="supervisory", sampled_id=SHOP, producer_id=MAKER, lot_id=LOT,
                   product_name="冷鲜猪肉", sampled_at="2026-01-05", conclusion="nonconforming", category="pork"),
            Complaint(id="urn:foodtrace:complaint:TS-1", operator_id=SHOP, date="2026-02-12", kind="complaint",
                      rural=True),
        ])
    return path


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_case_from_opening_to_closing(db, tmp_path):
    res = run("disposal", "open", "--as-of", "2026-03-01", "--store", db)
    assert res.exit_code == 0 and "1 case(s) opened" in res.output
    number = res.output.split("\t")[0]
    assert run("disposal", "open", "--as-of", "2026-03-01", "--store", db).output.count("0 case(s)") == 1
    pdf = tmp_path / "送达回证.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + b"1" * 64)
    res = run("disposal", "step", number, "送达", "--date", "2026-02-04", "--by", "张三", "--party", SHOP,
              "--evidence", str(pdf), "--store", db)
    assert res.exit_code == 0 and "step 1 送达 (served)" in res.output and "1 evidence file" in res.output
    res = run("disposal", "step", number, "整改", "--date", "2026-01-01", "--by", "张三", "--store", db)
    assert res.exit_code == 2 and "before the case opened" in res.output
    exe = tmp_path / "x.pdf"
    exe.write_bytes(b"MZ\x90\x00" + b"\x00" * 40)
    res = run("disposal", "step", number, "下架", "--date", "2026-02-05", "--by", "张三", "--evidence", str(exe),
              "--store", db)
    assert res.exit_code == 2 and "x.pdf is not of an accepted type" in res.output
    assert run("disposal", "step", "HC-404", "送达", "--date", "2026-02-05", "--by", "x", "--store", db).exit_code == 2
    for kind, extra in (("served", ["--party", MAKER]), ("recall", []), ("recall_confirmed", ["--party", R1]),
                        ("recall_confirmed", ["--party", SHOP]), ("cause", []), ("rectified", []),
                        ("not_filed", ["--reason", "已履行进货查验义务"]), ("closed", [])):
        res = run("disposal", "step", number, kind, "--date", "2026-02-10", "--by", "张三", *extra, "--store", db)
        assert res.exit_code == 0, res.output
    data = json.loads(run("disposal", "list", "--as-of", "2026-03-01", "--format", "json", "--store", db).output)
    (case,) = data["cases"]
    assert (case["status"], case["done"], case["on_time"]) == ("closed", "2026-02-10", True)
    shown = run("disposal", "show", number, "--store", db).output
    assert "召回 recall" in shown and "结案 closed" in shown and "某某饭店" in shown


def test_complaints_and_warnings_and_letters(db, tmp_path):
    res = run("complaints", "new", "TS-2", "--operator", SHOP, "--received", "2026-02-12", "--kind", "report",
              "--real-name", "--store", db)
    assert res.exit_code == 0
    assert run("complaints", "new", "TS-2", "--operator", SHOP, "--received", "2026-02-12",
               "--store", db).exit_code == 2  # registered already
    assert "no operator has the identifier 'ghost'" in run("complaints", "new", "TS-3", "--operator", "ghost",
                                                            "--received", "2026-02-12", "--store", db).output
    res = run("complaints", "step", "TS-1", "受理", "--date", "2026-02-13", "--by", "李四", "--store", db)
    assert res.exit_code == 0
    res = run("complaints", "step", "TS-2", "受理", "--date", "2026-02-13", "--by", "李四", "--store", db)
    assert res.exit_code == 2 and "a report (举报) is verified, not accepted" in res.output
    data = json.loads(run("complaints", "list", "--as-of", "2026-05-01", "--format", "json", "--store", db).output)
    by = {c["number"]: c for c in data["complaints"]}
    # TS-1: accepted Friday 13 February, its mediation due 45 working days later (Saturdays 14 and 28 February
    # worked, the Spring Festival and Qingming, 4-6 April, not): Friday 24 April; TS-2: a report, due 15
    # working days after 12 February
    assert by["TS-1"]["due"] == "2026-04-24" and by["TS-2"]["due"] == "2026-03-11"
    assert by["TS-2"]["status"] == "overdue" and by["TS-2"]["overdue_workdays"] == 35 and by["TS-2"]["level"] == "notify"
    assert (by["TS-1"]["overdue_workdays"], by["TS-1"]["level"]) == (4, "prompt")
    warn = run("disposal", "warnings", "--as-of", "2026-05-01", "--store", db).output
    assert "TS-2" in warn and "逾期 overdue" in warn
    out = tmp_path / "letters"
    res = run("disposal", "letters", "--as-of", "2026-05-01", "--out", str(out), "--record", "--by", "市食安办",
              "--store", db)
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["崇川区-提示-食品安全工作提示书-2026-05-01.docx", "崇川区-通报-食品安全工作通报函-2026-05-01.docx"]
    doc = Document(str(out / files[1]))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "崇川区市场监督管理局：" in text and "南通市食品安全委员会办公室" in text and "2026年5月1日" in text
    assert "TS-2" in cells and "崇川某某超市" in cells and "{{" not in text + "".join(cells)
    with open_store(db) as s:
        esc = [st for st in s.scan("handling_step") if st.kind == "escalation"]
    assert esc and all(st.evidence_ids and st.by == "市食安办" for st in esc)


def test_indicators_table_json_workbook_and_pack(db, tmp_path):
    res = run("indicators", "--from", "2026-01-01", "--to", "2026-02-28", "--district", "崇川区", "--store", db)
    assert res.exit_code == 0 and "崇川区 / Chongchuan District" in res.output and "进货票据齐全率" in res.output
    data = json.loads(run("indicators", "--from", "2026-01-01", "--to", "2026-02-28", "--format", "json",
                          "--store", db).output)
    v = {(x["district"], x["month"], x["indicator"]): x for x in data["values"]}
    ticket = v[(CC, "2026-02", "chain_ticket")]
    # d1 (with its ticket) to the shop and d2 (without) to the restaurant, both in 崇川区
    assert (ticket["numerator"], ticket["denominator"], ticket["value"], ticket["status"], ticket["evidence"]) == (
        1, 2, 0.5, "red", ["d2"])
    r1 = v[(CC, "2026-02", "chain_trace_code")]                        # the shop's lot has no trace code
    assert (r1["numerator"], r1["denominator"], r1["status"], r1["evidence"]) == (0, 1, "red", [LOT])
    assert v[(CC, "2026-01", "problem_rate")]["numerator"] == 1
    xlsx = tmp_path / "ind.xlsx"
    pack = tmp_path / "pack"
    res = run("indicators", "--from", "2026-01-01", "--to", "2026-02-28", "--format", "xlsx", "--out", str(xlsx),
              "--pack", str(pack), "--store", db)
    assert res.exit_code == 0
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["指标总览", "明细", "说明"]
    assert len(list(pack.glob("*.html"))) == 7 and len(list(pack.glob("*.xlsx"))) == 7
    page = (pack / "崇川区-述职-2026-01-01-2026-02-28.html").read_text(encoding="utf-8")
    assert "崇川区食品安全长效动态管理照单述职" in page and "data:image/png;base64," in page and "@font-face" in page
    bad = run("indicators", "--from", "2026-01-01", "--to", "2026-02-28", "--district", "上海", "--store", db)
    assert bad.exit_code == 2 and "unknown district '上海'" in bad.output
