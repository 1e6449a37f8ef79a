"""The credit team's workflow on a small hand-made store: `foodtrace risk grade | override | history | publish |
export | alerts` (append-only assessments, overrides that hold until lifted and are flagged, complete history,
publication, CSV headers, bad input)."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from api.cli import cli
from api.workflow_cli import ALERT_COLUMNS, EXPORT_COLUMNS, PUBLISHED_COLUMNS
from graph.store import open_store
from graph.view import ReadView
from ontology.errors import FoodtraceError
from ontology.records import Alias, Inspection, Operator, Product, Sample
from ontology.vocab import labels
from reasoning.assessments import effective_grades
from reasoning.grading import grade_operators, load_points

DAIRY = "urn:foodtrace:operator:dairy"
SHOP = "urn:foodtrace:operator:shop"
STALL = "urn:foodtrace:operator:stall"
USCC = "91320602MA1MXXXX0Y"
AS_OF = "2026-03-01"


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "wf.db")
    with open_store(path) as s:
        s.write([
            Operator(id=DAIRY, kind="Producer", name="南通某乳业有限公司", category="dairy", scale="medium",
                     region_id="urn:foodtrace:region:320602"),
            Alias(id=USCC, canonical_id=DAIRY, entity="operator", scheme="uscc"),
            Operator(id=SHOP, kind="Supermarket", name="甲超市", scale="large", region_id="urn:foodtrace:region:320612"),
            Operator(id=STALL, kind="Stall", name="海门区张三水产摊", individual=True,
                     region_id="urn:foodtrace:region:320614"),
            Product(id="milk", name="纯牛奶", category="dairy", producer_id=DAIRY),
            Sample(id="s1", plan="supervisory", sampled_id=SHOP, producer_id=DAIRY, product_id="milk",
                   product_name="纯牛奶", category="dairy", batch="B1", sampled_at="2025-10-01",
                   conclusion="nonconforming", disposal_due="2025-11-01", disposal_done="2025-10-20"),
            Sample(id="s2", plan="supervisory", sampled_id=SHOP, producer_id=DAIRY, product_id="milk",
                   product_name="纯牛奶", category="dairy", batch="B2", sampled_at="2026-01-05",
                   conclusion="nonconforming", disposal_due="2026-02-05"),
            Sample(id="s3", plan="rapid", sampled_id=STALL, product_name="文蛤", category="shellfish",
                   sampled_at="2026-02-01", conclusion="conforming"),
            Inspection(id="i1", operator_id=SHOP, date="2026-02-10", result="pass"),
        ])
    return path


def invoke(db: str, *args: str):
    return CliRunner().invoke(cli, [*args, "--store", db])


def ok(res):
    assert res.exit_code == 0, res.output + (res.stderr if res.stderr_bytes else "")
    return res


def scan(db: str, table: str) -> list:
    with open_store(db) as s:
        return list(s.scan(table))


def computed(db: str) -> dict[str, str]:
    with open_store(db) as s:
        return {a.operator_id: a.grade for a in grade_operators(ReadView(s), as_of=AS_OF)}


def other_grade(g: str) -> str:
    return "D" if g != "D" else "A"


def test_grade_stores_append_only_assessments(db):
    first = ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    assert "评估批次/run" in first.output and "3 家主体/operators" in first.output
    one = scan(db, "risk_assessment")
    want = computed(db)
    assert {r.operator_id: r.computed_grade for r in one} == want
    assert {r.operator_id: r.grade for r in one} == want
    version = load_points().version
    for r in one:
        assert (r.as_of, r.config_version, r.model_version, r.override_id, r.differs, r.published) == \
               (AS_OF, version, "none", None, False, False)
        assert r.created.endswith("+08:00") and r.run and r.probability is None
        explanation = json.loads(r.explanation)
        assert explanation["operator_id"] == r.operator_id and explanation["factors"]
        assert r.score == pytest.approx(r.static_points + r.dynamic_points + r.credit_points)
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    two = scan(db, "risk_assessment")
    assert len(two) == 6
    assert two[:3] == one                                   # the first run's records are unchanged
    assert len({r.run for r in two}) == 2 and not {r.id for r in two[3:]} & {r.id for r in one}


def test_grade_records_the_models_probability_and_version(db, monkeypatch):
    from reasoning import risk_model

    def fake(view, *, as_of=None, **kw):
        assert str(as_of) == AS_OF
        return pd.DataFrame({"probability": [0.75, 0.1], "top_features": [[{"feature": "fail_rate"}], []]},
                            index=pd.Index([DAIRY, SHOP], name="operator_id"))

    monkeypatch.setattr(risk_model, "score_operators", fake)
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF))
    recs = {r.operator_id: r for r in scan(db, "risk_assessment")}
    assert {k: r.model_version for k, r in recs.items()} == dict.fromkeys(recs, risk_model.MODEL_VERSION)
    assert (recs[DAIRY].probability, recs[SHOP].probability, recs[STALL].probability) == (0.75, 0.1, None)
    assert json.loads(recs[DAIRY].explanation)["model"]["top_features"] == [{"feature": "fail_rate"}]


def test_a_model_that_cannot_be_trained_is_recorded_as_none(db, monkeypatch):
    from reasoning import risk_model

    def fails(view, **kw):
        raise FoodtraceError("too few labelled samples")

    monkeypatch.setattr(risk_model, "score_operators", fails)
    res = ok(invoke(db, "risk", "grade", "--as-of", AS_OF))
    assert "too few labelled samples" in res.stderr
    assert {r.model_version for r in scan(db, "risk_assessment")} == {"none"}


def test_grade_with_the_real_model_on_a_tiny_store(db):
    """Three operators are too few to train on: grading goes ahead, the model's version is recorded as none."""
    from reasoning import risk_model

    res = ok(invoke(db, "risk", "grade", "--as-of", AS_OF))
    versions = {r.model_version for r in scan(db, "risk_assessment")}
    assert versions in ({"none"}, {risk_model.MODEL_VERSION})
    if versions == {"none"}:
        assert "the failure-risk model was not used" in res.stderr


def test_override_requires_a_reason_a_name_and_a_grade(db):
    cases = [
        (["risk", "override", DAIRY, "D", "--by", "王科长"], "Missing option '--reason'"),
        (["risk", "override", DAIRY, "D", "--reason", "  ", "--by", "王科长"], "--reason must not be empty"),
        (["risk", "override", DAIRY, "D", "--reason", "约谈"], "Missing option '--by'"),
        (["risk", "override", DAIRY, "--reason", "约谈", "--by", "王科长"], "GRADE (A, B, C or D) is required"),
        (["risk", "override", DAIRY, "E", "--reason", "约谈", "--by", "王科长"], "grade 'E' is not one of A, B, C, D"),
        (["risk", "override", DAIRY, "D", "--lift", "--reason", "约谈", "--by", "王科长"], "--lift takes no GRADE"),
        (["risk", "override", "nobody", "D", "--reason", "约谈", "--by", "王科长"],
         "no operator has the identifier 'nobody'"),
        (["risk", "override", "milk", "D", "--reason", "约谈", "--by", "王科长"], "'milk' is not an operator"),
        (["risk", "override", DAIRY, "--lift", "--reason", "复查", "--by", "王科长"], "has no grade override in force"),
    ]
    for args, message in cases:
        res = invoke(db, *args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output, (args, res.output)
    assert scan(db, "grade_override") == []


def test_override_holds_across_a_later_grade_run_and_is_flagged(db):
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    first = {r.operator_id: r for r in scan(db, "risk_assessment")}
    base = first[DAIRY].computed_grade
    forced = other_grade(base)
    res = ok(invoke(db, "risk", "override", USCC, forced, "--reason", "约谈后仍未整改", "--by", "王科长"))
    assert f"{base} -> {forced}" in res.output
    [ov] = scan(db, "grade_override")
    assert (ov.operator_id, ov.grade, ov.reason, ov.by, ov.computed_grade, ov.assessment_id, ov.lifted) == \
           (DAIRY, forced, "约谈后仍未整改", "王科长", base, first[DAIRY].id, None)
    with open_store(db) as s:
        eff = effective_grades(ReadView(s))
    assert (eff[DAIRY].grade, eff[DAIRY].source, eff[DAIRY].differs) == (forced, "override", True)
    assert (eff[SHOP].grade, eff[SHOP].source) == (first[SHOP].computed_grade, "computed")
    # a second override while one is in force is refused
    again = invoke(db, "risk", "override", DAIRY, "B", "--reason", "再议", "--by", "李处长")
    assert again.exit_code == 2 and "already has an override to" in again.output and "lift it first" in again.output
    # the next run records the computed grade beside the override and flags the difference
    res = ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    assert "人工调整生效/overrides in force: 1" in res.output and "计算等级与调整不一致/computed grade differs: 1" in res.output
    recs = scan(db, "risk_assessment")
    assert [r for r in recs if r.id in {x.id for x in first.values()}] == list(first.values())  # old ones unchanged
    second = {r.operator_id: r for r in recs if r.id not in {x.id for x in first.values()}}
    assert (second[DAIRY].grade, second[DAIRY].computed_grade, second[DAIRY].override_id, second[DAIRY].differs) == \
           (forced, base, ov.id, True)
    assert (second[SHOP].override_id, second[SHOP].differs) == (None, False)


def test_an_override_equal_to_the_computed_grade_is_not_flagged(db):
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    base = computed(db)[SHOP]
    ok(invoke(db, "risk", "override", SHOP, base.lower(), "--reason", "维持", "--by", "王科长"))
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    latest = [r for r in scan(db, "risk_assessment") if r.operator_id == SHOP][-1]
    assert (latest.grade, latest.override_id is not None, latest.differs) == (base, True, False)


def test_lift_restores_the_computed_grade_and_keeps_the_override(db):
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    base = computed(db)[DAIRY]
    ok(invoke(db, "risk", "override", DAIRY, other_grade(base), "--reason", "约谈后仍未整改", "--by", "王科长"))
    res = ok(invoke(db, "risk", "override", DAIRY, "--lift", "--reason", "复查合格", "--by", "李处长"))
    assert "override lifted" in res.output
    [ov] = scan(db, "grade_override")
    assert (ov.grade, ov.reason, ov.by, ov.lifted_by, ov.lift_reason) == \
           (other_grade(base), "约谈后仍未整改", "王科长", "李处长", "复查合格")
    assert ov.lifted > ov.created
    with open_store(db) as s:
        assert effective_grades(ReadView(s))[DAIRY].grade == base
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    latest = [r for r in scan(db, "risk_assessment") if r.operator_id == DAIRY][-1]
    assert (latest.grade, latest.override_id, latest.differs) == (base, None, False)
    # a new override may be set once the old one is lifted
    ok(invoke(db, "risk", "override", DAIRY, "D", "--reason", "新问题", "--by", "王科长"))
    assert len(scan(db, "grade_override")) == 2


def test_history_is_complete_and_in_time_order(db):
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    base = computed(db)[DAIRY]
    forced = other_grade(base)
    ok(invoke(db, "risk", "override", DAIRY, forced, "--reason", "约谈后仍未整改", "--by", "王科长"))
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    ok(invoke(db, "risk", "publish", DAIRY, "--by", "李处长"))
    ok(invoke(db, "risk", "override", DAIRY, "--lift", "--reason", "复查合格", "--by", "李处长"))
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    data = json.loads(ok(invoke(db, "risk", "history", USCC, "--format", "json")).output)
    assert data["operator_id"] == DAIRY and data["name"] == "南通某乳业有限公司"
    assert [(h["event"], h["grade"], h["computed_grade"], h["differs"], h["by"]) for h in data["history"]] == [
        ("assessment", base, base, False, None),
        ("override", forced, base, True, "王科长"),
        ("assessment", forced, base, True, None),
        ("publish", forced, base, True, "李处长"),
        ("lift", base, base, False, "李处长"),
        ("assessment", base, base, False, None),
    ]
    assert [h["reason"] for h in data["history"] if h["reason"]] == ["约谈后仍未整改", "复查合格"]
    assert (data["effective"]["grade"], data["effective"]["source"]) == (base, "computed")
    table = ok(invoke(db, "risk", "history", DAIRY)).output
    assert "时间/time" in table and "人工调整/override" in table and "撤销调整/lift" in table and "发布/publish" in table
    assert f"现行等级/grade in effect: {base} (计算/computed)" in table


def test_publish_and_export(db):
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    grades = computed(db)
    res = invoke(db, "risk", "publish", "--by", "李处长")
    assert res.exit_code == 2 and "name the operators to publish" in res.output
    res = ok(invoke(db, "risk", "publish", STALL, "--by", "李处长"))
    assert "已发布/published: 1" in res.output
    res = ok(invoke(db, "risk", "publish", STALL, "--grade", grades[SHOP], "--by", "李处长"))
    assert "1 项此前已发布/already published" in res.output
    published = {STALL} | {oid for oid, g in grades.items() if g == grades[SHOP]}
    assert {r.operator_id for r in scan(db, "risk_assessment") if r.published} == published
    assert all(r.published_by == "李处长" and r.published_at for r in scan(db, "risk_assessment") if r.published)
    # a grade changed by an override since the latest assessment is refused until graded again
    ok(invoke(db, "risk", "override", DAIRY, other_grade(grades[DAIRY]), "--reason", "约谈", "--by", "王科长"))
    res = invoke(db, "risk", "publish", DAIRY, "--by", "李处长")
    assert res.exit_code == 2 and "run `foodtrace risk grade` first" in res.output

    ok(invoke(db, "risk", "export", "--out", str(db) + ".csv"))
    raw = open(str(db) + ".csv", "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [zh for zh, _ in EXPORT_COLUMNS]
    assert rows[0][:7] == ["主体标识", "主体名称", "主体类型", "所属区县", "现行等级", "等级来源", "计算等级"]
    body = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert set(body) == {DAIRY, SHOP, STALL}
    dairy = body[DAIRY]
    assert (dairy["现行等级"], dairy["等级来源"], dairy["计算等级"], dairy["人工调整等级"], dairy["调整理由"],
            dairy["调整人"], dairy["计算等级与调整不一致"], dairy["主体类型"], dairy["所属区县"], dairy["已发布"]) == \
           (other_grade(grades[DAIRY]), "人工调整", grades[DAIRY], other_grade(grades[DAIRY]), "约谈", "王科长", "是",
            labels("operator_kind")["Producer"][0], "崇川区", "是" if DAIRY in published else "否")
    assert body[STALL]["已发布"] == "是" and body[SHOP]["已发布"] == "是" and body[SHOP]["模型版本"] == "none"
    assert (body[SHOP]["现行等级"], body[SHOP]["等级来源"], body[SHOP]["人工调整等级"]) == (grades[SHOP], "计算", "")

    ok(invoke(db, "risk", "export", "--out", str(db) + ".en.csv", "--lang", "en"))
    en = list(csv.reader(open(str(db) + ".en.csv", encoding="utf-8-sig")))
    assert en[0] == [e for _, e in EXPORT_COLUMNS]

    res = ok(invoke(db, "risk", "export", "--out", str(db) + ".pub.csv", "--published-only"))
    pub = list(csv.reader(open(str(db) + ".pub.csv", encoding="utf-8-sig")))
    assert pub[0] == [zh for zh, _ in PUBLISHED_COLUMNS] == ["主体标识", "统一社会信用代码", "主体名称", "主体类型",
                                                              "所属区县", "风险等级", "评定基准日", "发布日期"]
    assert [r[0] for r in pub[1:]] == sorted(published)
    stall = next(r for r in pub if r[0] == STALL)
    assert stall[2] == "海门区张**"                   # a natural person's name is masked
    assert (stall[3], stall[4], stall[5], stall[6]) == ("摊位", "海门区", grades[STALL], AS_OF)
    assert "风险分值" not in pub[0] and "调整理由" not in pub[0]


def test_export_notes_published_grades_no_longer_in_effect(db):
    ok(invoke(db, "risk", "grade", "--as-of", AS_OF, "--no-model"))
    ok(invoke(db, "risk", "publish", SHOP, "--by", "李处长"))
    ok(invoke(db, "risk", "override", SHOP, other_grade(computed(db)[SHOP]), "--reason", "投诉属实", "--by", "王科长"))
    res = ok(invoke(db, "risk", "export", "--out", str(db) + ".pub.csv", "--published-only"))
    assert "1 published grade(s) are no longer the grade in effect" in res.stderr and SHOP in res.stderr


def test_alerts_command(db):
    res = ok(invoke(db, "risk", "alerts", "--as-of", AS_OF))
    assert "预警/warning 1" in res.output and "逾期/overdue 1" in res.output
    assert "核查处置完成率/disposal completion rate 50.0% (1/2" in res.output
    assert "南通某乳业有限公司生产的纯牛奶" in res.output
    data = json.loads(ok(invoke(db, "risk", "alerts", "--as-of", AS_OF, "--format", "json")).output)
    assert [(a["kind"], a["level"], a["sample_ids"]) for a in data["alerts"]] == [
        ("repeat_failure", "warning", ["s1", "s2"]), ("overdue_disposal", "overdue", ["s2"])]
    assert data["disposal"]["rate"] == 0.5 and data["as_of"] == AS_OF
    res = ok(invoke(db, "risk", "alerts", "--as-of", AS_OF, "--format", "csv"))
    assert res.output.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(res.output.lstrip("\ufeff"))))
    assert rows[0] == [zh for zh, _ in ALERT_COLUMNS]
    assert [r[0] for r in rows[1:]] == ["预警", "逾期"]
    en = ok(invoke(db, "risk", "alerts", "--as-of", AS_OF, "--format", "csv", "--lang", "en")).output
    assert en.lstrip("\ufeff").startswith(",".join(e for _, e in ALERT_COLUMNS))
    bad = invoke(db, "risk", "alerts", "--as-of", "soon")
    assert bad.exit_code == 2 and "'soon' is not a date" in bad.output
