"""`foodtrace risk plan` and `foodtrace risk explain` on a small hand-made store: formats, languages,
identifier forms, stored assessments with an override, bad input; the README's adaptation table."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from api.grading_cli import adaptations_markdown, explain_text
from graph.store import open_store
from graph.view import ReadView
from ontology.records import Alias, CreditRecord, GradeOverride, Inspection, Operator, Sample
from reasoning.grading import grade_operators, load_points

GLN = "6901234567892"
P = f"https://id.gs1.org/414/{GLN}"
D1, D2 = "urn:foodtrace:region:320602", "urn:foodtrace:region:320612"   # 崇川区, 通州区


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "g.db")
    with open_store(path) as s:
        s.write([
            Operator(id=P, kind="Producer", name="南通甲乳业有限公司", category="dairy", scale="medium", region_id=D1),
            Alias(id="甲乳业", canonical_id=P, entity="operator", scheme="local"),
            Inspection(id="i1", operator_id=P, date="2026-01-10", result="fail"),
            Sample(id="s1", plan="supervisory", sampled_id="stall", producer_id=P, product_name="纯牛奶",
                   sampled_at="2026-02-01", conclusion="nonconforming"),
            CreditRecord(id="k1", operator_id=P, kind="penalty", start="2026-03-01", end="2029-03-01"),
            Operator(id="stall", kind="Stall", name="某某蔬菜摊", category="vegetable", scale="micro", region_id=D1),
            Operator(id="canteen", kind="SchoolCanteen", name="某某小学食堂", scale="small", region_id=D2),
            Operator(id="rest", kind="Restaurant", name="某某饭店", scale="large", region_id=D2, haccp=True),
            CreditRecord(id="k2", operator_id="rest", kind="credit_class", start="2026-01-01", end="2027-01-01",
                         credit_class="C"),
        ])
    return path


def run(*args: str):
    return CliRunner().invoke(cli, ["risk", *args])


# -- plan -----------------------------------------------------------------------------------------


def test_plan_table(db):
    res = run("plan", "--as-of", "2026-06-01", "--store", db)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "基准日/as of 2026-06-01" in out and "A 级 0.5，B 级 1，C 级 2，D 级 3" in out
    assert "区县/district" in out and "年检查次数/inspections per year" in out
    # P: 31 + 6 + 8 + 8 + 6 (computed B) = 59 -> C; stall 17 + 8 = 25 -> A; canteen 31 + 3 = 34 -> B;
    # restaurant 24 + 9 + 12 (official C) = 45 -> B, HACCP -> A
    last = out.strip().splitlines()[-1].split()
    assert last[:2] == ["合计", "合计"] and last[2:] == ["2", "1", "1", "0", "4", "4"]   # 0.5*2 + 1 + 2


def test_plan_json_and_csv(db, tmp_path):
    res = run("plan", "--as-of", "2026-06-01", "--format", "json", "--store", db)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["as_of"] == "2026-06-01" and data["config_version"] == load_points().version
    assert data["frequency"] == {"A": 0.5, "B": 1.0, "C": 2.0, "D": 3.0}
    rows = {(r["level"], r["district"], r["kind"]): r for r in data["rows"]}
    assert rows[("district_kind", D1, "Producer")]["C"] == 1 and rows[("district_kind", D1, "Producer")]["inspections"] == 2
    assert rows[("district", D2, None)]["operators"] == 2 and rows[("district", D2, None)]["inspections"] == 1.5
    assert rows[("total", None, None)]["operators"] == 4

    out = tmp_path / "plan.csv"
    res = run("plan", "--as-of", "2026-06-01", "--format", "csv", "--out", str(out), "--store", db)
    assert res.exit_code == 0, res.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == ["区县", "主体类型", "A级", "B级", "C级", "D级", "主体数", "年检查次数"]
    assert ["崇川区", "食品生产企业", "0", "0", "1", "0", "1", "2.0"] in table
    assert table[-1] == ["合计", "合计", "2", "1", "1", "0", "4", "4.0"]

    res = run("plan", "--as-of", "2026-06-01", "--format", "csv", "--lang", "en", "--store", db)
    table = list(csv.reader(io.StringIO(res.output.lstrip("\ufeff"))))
    assert table[0][:2] == ["district", "kind"] and ["Chongchuan District", "Food producer", "0", "0", "1", "0", "1",
                                                     "2.0"] in table


def test_plan_bad_input(db, tmp_path):
    res = run("plan", "--as-of", "June", "--store", db)
    assert res.exit_code == 2 and "'June' is not a date" in res.output
    bad = tmp_path / "bad.toml"
    text = (Path(__file__).resolve().parents[2] / "reasoning" / "data" / "grading_points.toml").read_text("utf-8")
    bad.write_text(text.replace("[bands]\nA = 30", "[bands]\nA = 50"), encoding="utf-8")
    res = run("plan", "--points", str(bad), "--store", db)
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1].startswith("foodtrace: points table ")
    assert "[bands] must increase" in res.output and "Traceback" not in res.output


def test_plan_with_an_edited_table(db, tmp_path):
    p = tmp_path / "p.toml"
    text = (Path(__file__).resolve().parents[2] / "reasoning" / "data" / "grading_points.toml").read_text("utf-8")
    p.write_text(text.replace("[frequency]\nA = 0.5", "[frequency]\nA = 1"), encoding="utf-8")
    res = run("plan", "--as-of", "2026-06-01", "--format", "json", "--points", str(p), "--store", db)
    assert json.loads(res.output)["rows"][-1]["inspections"] == 5   # 1*2 + 1 + 2


# -- explain --------------------------------------------------------------------------------------


def test_explain_text_in_chinese_by_any_identifier(db):
    for ident in (P, GLN, "甲乳业"):
        res = run("explain", ident, "--as-of", "2026-06-01", "--store", db)
        assert res.exit_code == 0, res.output
        out = res.output
        assert out.startswith(f"主体：南通甲乳业有限公司（食品生产企业，崇川区）{P}")
        assert "风险等级：C 级（分值 59 = 静态 37 + 动态 16 + 信用 6）" in out
        assert "评定方法：总局2022年食品生产企业方法（SAMR-2022 producer）" in out
        assert "信用等级：B 类（据信用记录推算）" in out
        assert "  监督检查：8 / 16 分" in out and "    证据：i1" in out and "    证据：s1" in out
        assert "    证据：k1" in out and "== 静态风险因素：37 分" in out


def test_explain_english_and_json(db):
    res = run("explain", "rest", "--as-of", "2026-06-01", "--lang", "en", "--store", db)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "Risk grade: A (score 45 = static 33 + dynamic 0 + credit 12)" in out
    assert "Method: adapted: restaurant" in out and "HACCP certified: one grade toward A, B -> A" in out
    assert "Credit class: C (official)" in out
    res = run("explain", "rest", "--as-of", "2026-06-01", "--format", "json", "--store", db)
    d = json.loads(res.output)
    assert (d["grade"], d["base_grade"], d["haccp_applied"], d["credit_class_source"]) == ("A", "B", True, "official")
    assert d["stored"] is None and d["factors"][-1]["evidence"] == ["k2"]


def test_explain_without_as_of_computes_when_nothing_is_stored(db):
    res = run("explain", "canteen", "--store", db)
    assert res.exit_code == 0, res.output
    assert "评估基准日：2026-03-02" in res.output        # the day after k1's start, the latest date
    assert "评定方法：适配：学校食堂（adapted: school canteen）" in res.output and "已存储的评估" not in res.output


def test_explain_shows_the_latest_stored_assessment_and_the_override(db):
    from reasoning.assessments import assessment_records

    with open_store(db) as s:
        a = grade_operators(ReadView(s), as_of="2026-06-01", operator_ids=[P])
        s.write(assessment_records(a, run="r1", created="2026-06-01T09:00:00+08:00", model_version="none"))
        res = run("explain", "甲乳业", "--store", db)
        assert res.exit_code == 0, res.output
        assert "已存储的评估 urn:foodtrace:risk_assessment:r1:" in res.output
        assert "风险等级：C 级" in res.output and "现行等级" not in res.output
        s.write([GradeOverride(id="o1", operator_id=P, grade="A", reason="已整改并通过复查", by="王科长",
                               created="2026-06-02T09:00:00+08:00")])
    res = run("explain", "甲乳业", "--store", db)
    assert "计算风险等级：C 级" in res.output
    assert "现行等级：A 级，为人工调整（王科长：已整改并通过复查）；计算等级 C 级一并记录" in res.output
    d = json.loads(run("explain", "甲乳业", "--format", "json", "--store", db).output)
    assert d["grade"] == "C" and d["stored"]["grade"] == "A" and d["stored"]["override"]["by"] == "王科长"
    # --as-of computes afresh
    res = run("explain", "甲乳业", "--as-of", "2026-01-01", "--store", db)
    assert "已存储的评估" not in res.output and "评估基准日：2026-01-01" in res.output


def test_explain_unknown_entity(db):
    res = run("explain", "no-such-operator", "--store", db)
    assert res.exit_code == 2
    assert res.output.strip() == "foodtrace: no operator has the identifier 'no-such-operator'"


def test_every_kind_names_its_adaptation_in_the_explanation(tmp_path):
    from ontology.vocab import operator_kinds

    pts = load_points()
    with open_store(str(tmp_path / "k.db")) as s:
        s.write([Operator(id=f"k-{k}", kind=k, name=k) for k in operator_kinds()])
        for a in grade_operators(ReadView(s), as_of="2026-01-01"):
            rule = pts.kind_rule(a.kind)
            zh, en = explain_text(a, "zh"), explain_text(a, "en")
            assert f"评定方法：{rule.method_zh}（{rule.method_en}）" in zh and rule.note_zh in zh
            assert f"Method: {rule.method_en}" in en and rule.note_en in en


def test_readme_adaptation_table_is_current():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- grading-kinds:begin -->\n", "\n<!-- grading-kinds:end -->"
    documented = readme[readme.index(begin) + len(begin):readme.index(end)]
    assert documented == adaptations_markdown(), "regenerate the README table from api.grading_cli.adaptations_markdown()"
