"""Consultation figures on a small hand-made sampling history: exact counts and rates per month by category,
hazard class and district, the previous-period comparison, totals by plan, 核查处置 status, grade
distribution and the top-risk order."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import pandas as pd
import pytest

from graph.view import ReadView
from ontology.errors import FoodtraceError
from ontology.records import Operator, Product, Sample, TestResult
from ontology.errors import InvalidPeriod
from reasoning.consult import (Period, compare, disposal, grade_distribution, monthly, sample_facts,
                               to_date, top_risk, totals)

CHONGCHUAN, TONGZHOU, HAIMEN = ("urn:foodtrace:region:320602", "urn:foodtrace:region:320612",
                                "urn:foodtrace:region:320614")
PERIOD = Period.of("2026-03-01", "2026-04-30")   # 61 days; the previous period is 2025-12-30 .. 2026-02-28


def S(id: str, day: str | None, at: str, conclusion: str = "conforming", *, category: str | None = "pork",
      plan: str = "supervisory", product: str | None = None, announced: str | None = None, disputed: bool | None = None,
      due: str | None = None, done: str | None = None) -> Sample:
    return Sample(id=id, plan=plan, sampled_id=at, product_name="样品", category=category, product_id=product,
                  sampled_at=day, announced=announced, conclusion=conclusion, disputed=disputed, disposal_due=due,
                  disposal_done=done)


def R(id: str, sample: str, hazard: str | None, conclusion: str = "nonconforming") -> TestResult:
    return TestResult(id=id, sample_id=sample, item="项目", hazard_class=hazard, conclusion=conclusion)


@pytest.fixture
def view(sqlite_store):
    sqlite_store.write([
        Operator(id="shopA", kind="Stall", name="崇川某摊位", region_id=CHONGCHUAN),
        Operator(id="shopB", kind="Supermarket", name="通州某超市", region_id=TONGZHOU),
        Operator(id="shopC", kind="Restaurant", name="海门某餐馆", region_id="海门区"),   # a Chinese name
        Operator(id="shopD", kind="Stall", name="无区县摊位"),
        Product(id="P2", name="青菜", category="vegetable"),
        # the period
        S("s1", "2026-03-05", "shopA", "nonconforming", plan="supervisory", due="2026-03-20", done="2026-03-18"),
        R("s1r1", "s1", "vet_drug"), R("s1r2", "s1", "vet_drug"), R("s1r3", "s1", "pesticide", "conforming"),
        S("s2", "2026-03-20", "shopA", plan="rapid"),
        S("s3", "2026-04-02", "shopB", "nonconforming", category=None, product="P2", due="2026-04-20",
          done="2026-05-03"),
        R("s3r1", "s3", "pesticide"), R("s3r2", "s3", "heavy_metal"),
        S("s4", None, "shopC", category="vegetable", announced="2026-04-15"),
        S("s5", "2026-04-30", "shopD", "nonconforming", category=None, plan="monitoring", disputed=True,
          due="2026-05-15"),
        S("s6", None, "shopA", "nonconforming"),                        # no date: left out
        S("s7", "2026-05-01", "shopA", "nonconforming"),                # after the period
        # the previous period
        S("p1", "2026-01-10", "shopA", "nonconforming"), R("p1r", "p1", "vet_drug"),
        S("p2", "2026-02-28", "shopB", "nonconforming", category="vegetable"), R("p2r", "p2", "pesticide"),
        S("p3", "2025-12-30", "shopA"),
        S("p4", "2025-12-29", "shopA", "nonconforming"),                # before the previous period
    ])
    return ReadView(sqlite_store)


@pytest.fixture
def facts(view):
    return sample_facts(view, start=PERIOD.previous().start, end=PERIOD.end)


def rows(df: pd.DataFrame, cols: list[str]) -> list[list]:
    return [[None if isinstance(v, float) and math.isnan(v) else v for v in r] for r in df[cols].values.tolist()]


# -- periods and dates -------------------------------------------------------------------------------

def test_period_previous_and_months():
    assert PERIOD.days == 61
    assert PERIOD.previous() == Period(dt.date(2025, 12, 30), dt.date(2026, 2, 28))
    assert PERIOD.months() == ["2026-03", "2026-04"]
    assert Period.of("2025-11-15", "2026-01-02").months() == ["2025-11", "2025-12", "2026-01"]
    assert Period.of("2026-03-01", "2026-03-01").previous() == Period(dt.date(2026, 2, 28), dt.date(2026, 2, 28))


def test_bad_periods_are_rejected_with_the_reason():
    with pytest.raises(InvalidPeriod, match=r"starts \(2026-05-01\) after it ends \(2026-04-01\)"):
        Period.of("2026-05-01", "2026-04-01")
    with pytest.raises(FoodtraceError, match="'2026-13-01' is not a date"):
        to_date("2026-13-01")
    with pytest.raises(ValueError, match="unknown breakdown 'product'"):
        monthly(pd.DataFrame({"date": []}), "product", PERIOD)


# -- facts -------------------------------------------------------------------------------------------

def test_sample_facts(facts):
    assert list(facts["sample_id"]) == ["p3", "p1", "p2", "s1", "s2", "s3", "s4", "s5"]   # by date; s6 s7 p4 out
    f = facts.set_index("sample_id")
    assert f.loc["s4", "date"] == "2026-04-15" and f.loc["s4", "month"] == "2026-04"    # announced date
    assert f.loc["s3", "category"] == "vegetable"                                       # from its product
    assert f.loc["s5", "category"] == "unknown"
    assert f.loc["s4", "district"] == HAIMEN and f.loc["s5", "district"] == "unknown"
    assert f.loc["s1", "hazards"] == ("vet_drug",)                  # two failed rows of one class: once
    assert f.loc["s3", "hazards"] == ("heavy_metal", "pesticide")
    assert f.loc["s5", "hazards"] == ("unknown",)                   # failed, no result recorded
    assert f.loc["s2", "hazards"] == ()
    assert bool(f.loc["s5", "disputed"]) and not bool(f.loc["s1", "disputed"])


def test_sample_facts_of_an_empty_store(sqlite_store):
    f = sample_facts(ReadView(sqlite_store))
    assert f.empty and "hazards" in f.columns
    assert monthly(f, "category", PERIOD).empty
    assert compare(f, "hazard", PERIOD).empty
    assert rows(totals(f, PERIOD), ["samples", "nonconforming", "rate"]) == [[0, 0, None]]
    assert disposal(f, PERIOD).completion_rate is None


# -- monthly trends ----------------------------------------------------------------------------------

def test_monthly_by_category(facts):
    assert rows(monthly(facts, "category", PERIOD), ["group", "month", "samples", "nonconforming", "rate"]) == [
        ["pork", "2026-03", 2, 1, 0.5], ["pork", "2026-04", 0, 0, None],
        ["vegetable", "2026-03", 0, 0, None], ["vegetable", "2026-04", 2, 1, 0.5],
        ["unknown", "2026-03", 0, 0, None], ["unknown", "2026-04", 1, 1, 1.0],
    ]


def test_monthly_by_hazard_counts_a_sample_once_per_class_over_all_samples(facts):
    assert rows(monthly(facts, "hazard", PERIOD), ["group", "month", "samples", "nonconforming", "rate"]) == [
        ["heavy_metal", "2026-03", 2, 0, 0.0], ["heavy_metal", "2026-04", 3, 1, 1 / 3],
        ["pesticide", "2026-03", 2, 0, 0.0], ["pesticide", "2026-04", 3, 1, 1 / 3],
        ["vet_drug", "2026-03", 2, 1, 0.5], ["vet_drug", "2026-04", 3, 0, 0.0],
        ["unknown", "2026-03", 2, 0, 0.0], ["unknown", "2026-04", 3, 1, 1 / 3],
    ]


def test_monthly_by_district(facts):
    assert rows(monthly(facts, "district", PERIOD), ["group", "month", "samples", "nonconforming"]) == [
        [CHONGCHUAN, "2026-03", 2, 1], [CHONGCHUAN, "2026-04", 0, 0],
        [TONGZHOU, "2026-03", 0, 0], [TONGZHOU, "2026-04", 1, 1],
        [HAIMEN, "2026-03", 0, 0], [HAIMEN, "2026-04", 1, 0],
        ["unknown", "2026-03", 0, 0], ["unknown", "2026-04", 1, 1],
    ]


def test_a_period_cut_inside_a_month(facts):
    p = Period.of("2026-03-10", "2026-04-05")
    assert rows(monthly(facts, "category", p), ["group", "month", "samples", "nonconforming"]) == [
        ["pork", "2026-03", 1, 0], ["pork", "2026-04", 0, 0],
        ["vegetable", "2026-03", 0, 0], ["vegetable", "2026-04", 1, 1],
    ]


# -- against the previous period ---------------------------------------------------------------------

COMPARE_COLS = ["samples", "nonconforming", "rate", "prev_samples", "prev_nonconforming", "prev_rate", "change",
                "rate_change"]


def test_compare_by_category(facts):
    c = compare(facts, "category", PERIOD)
    assert list(c.index) == ["pork", "vegetable", "unknown"]
    assert rows(c, COMPARE_COLS) == [
        [2, 1, 0.5, 2, 1, 0.5, 0, 0.0],
        [2, 1, 0.5, 1, 1, 1.0, 0, -0.5],
        [1, 1, 1.0, 0, 0, None, 1, None],
    ]


def test_compare_by_hazard(facts):
    c = compare(facts, "hazard", PERIOD)
    assert list(c.index) == ["pesticide", "vet_drug", "heavy_metal", "unknown"]
    assert rows(c, COMPARE_COLS) == [
        [5, 1, 0.2, 3, 1, 1 / 3, 0, 0.2 - 1 / 3],
        [5, 1, 0.2, 3, 1, 1 / 3, 0, 0.2 - 1 / 3],
        [5, 1, 0.2, 3, 0, 0.0, 1, 0.2],
        [5, 1, 0.2, 3, 0, 0.0, 1, 0.2],
    ]


def test_compare_by_district(facts):
    c = compare(facts, "district", PERIOD)
    assert list(c.index) == [CHONGCHUAN, TONGZHOU, "unknown", HAIMEN]
    assert rows(c, ["samples", "nonconforming", "prev_samples", "prev_nonconforming", "change"]) == [
        [2, 1, 2, 1, 0], [1, 1, 1, 1, 0], [1, 1, 0, 0, 1], [1, 0, 0, 0, 0]]


def test_totals_by_plan(facts):
    t = totals(facts, PERIOD)
    assert list(t.index) == ["monitoring", "rapid", "supervisory", "total"]
    assert rows(t, ["samples", "nonconforming", "prev_samples", "prev_nonconforming", "change", "disputed"]) == [
        [1, 1, 0, 0, 1, 1], [1, 0, 0, 0, 0, 0], [3, 2, 3, 2, 0, 0], [5, 3, 3, 2, 1, 1]]
    assert t.loc["total", "rate"] == 0.6 and t.loc["total", "prev_rate"] == pytest.approx(2 / 3)


# -- 核查处置 ------------------------------------------------------------------------------------------

def test_disposal_as_of_the_end_of_the_period(facts):
    d = disposal(facts, PERIOD)
    assert d.as_of == dt.date(2026, 5, 1) and d.nonconforming == 3
    # s3 was done on 2026-05-03: not known on 2026-05-01, so overdue (due 2026-04-20); s5 is due 2026-05-15
    assert d.counts == {"done_on_time": 1, "done_late": 0, "overdue": 1, "open": 1, "no_deadline": 0}
    assert (d.due, d.completed, d.completion_rate, d.on_time_rate) == (2, 1, 0.5, 0.5)
    assert rows(d.rows, ["sample_id", "status", "due_passed", "days_overdue", "disposal_done"]) == [
        ["s3", "overdue", True, 11, None], ["s5", "open", False, 0, None], ["s1", "done_on_time", True, 0, "2026-03-18"]]


def test_disposal_later(facts):
    d = disposal(facts, PERIOD, as_of="2026-05-20")
    assert d.counts == {"done_on_time": 1, "done_late": 1, "overdue": 1, "open": 0, "no_deadline": 0}
    assert (d.due, d.completed) == (3, 2)
    assert d.completion_rate == pytest.approx(2 / 3) and d.on_time_rate == pytest.approx(1 / 3)
    assert rows(d.rows, ["sample_id", "status", "days_overdue"])[0] == ["s5", "overdue", 5]


# -- grades ------------------------------------------------------------------------------------------

def A(op: str, grade: str, score: float, factors=()) -> SimpleNamespace:
    return SimpleNamespace(operator_id=op, grade=grade, score=score, factors=tuple(factors))


def test_grade_distribution():
    t = grade_distribution([A("a", "A", 10), A("b", "D", 70), A("c", "D", 65), A("d", "B", 40), A("e", "C", 50)],
                           {"a": "Stall", "b": "Stall", "c": "Producer", "d": None})
    assert list(t.index) == ["Producer", "Stall", "unknown", "total"]
    assert list(t.columns) == ["A", "B", "C", "D", "total"]
    assert t.values.tolist() == [[0, 0, 0, 1, 1], [1, 0, 0, 1, 2], [0, 1, 1, 0, 2], [1, 1, 1, 2, 5]]
    empty = grade_distribution([], {})
    assert empty.values.tolist() == [[0, 0, 0, 0, 0]]


def test_top_risk_orders_by_grade_then_points_then_probability():
    f = SimpleNamespace
    assessments = [A("a", "A", 10), A("b", "D", 61), A("c", "D", 75), A("d", "C", 58), A("e", "D", 61),
                   A("x", "D", 61, [f(code="s", points=5), f(code="z", points=0), f(code="t", points=9)])]
    top = top_risk(assessments, {"b": 0.2, "e": 0.6, "a": 0.99}, n=5, features={"c": [("fail_rate", 0.4)]})
    assert [(t.rank, t.operator_id, t.probability) for t in top] == [
        (1, "c", None), (2, "e", 0.6), (3, "b", 0.2), (4, "x", None), (5, "d", None)]
    assert top[0].top_features == (("fail_rate", 0.4),)
    assert [x.code for x in top[3].factors] == ["t", "s"]            # points first, zero-point factors left out
    assert top_risk(assessments, n=0) == []


def test_completion_rate_agrees_with_the_alerts_summary(view, facts):
    from reasoning.alerts import disposal_summary

    for as_of in ("2026-05-01", "2026-05-20"):
        theirs = disposal_summary(view, as_of=as_of)           # the 12 months before as_of
        start = dt.date.fromisoformat(theirs.start)
        mine = disposal(sample_facts(view), Period(start, to_date(as_of) - dt.timedelta(days=1)), as_of=as_of)
        assert (mine.nonconforming, mine.due, mine.completed) == (theirs.nonconforming, theirs.due,
                                                                  theirs.completed)
        assert mine.completion_rate == pytest.approx(theirs.rate, abs=1e-4)


def test_consultation_puts_it_together(view):
    from reasoning.consult import consultation

    c = consultation(view, "2026-03-01", "2026-04-30", top=2, model=False)
    assert c.as_of == dt.date(2026, 5, 1) and c.previous == PERIOD.previous()
    assert int(c.totals.loc["total", "samples"]) == 5 and int(c.totals.loc["total", "nonconforming"]) == 3
    assert set(c.trends) == set(c.comparisons) == {"category", "hazard", "district"}
    assert c.disposal.counts["overdue"] == 1
    assert {a.operator_id for a in c.assessments} >= {"shopA", "shopB", "shopC", "shopD"}
    assert [t.rank for t in c.top] == [1, 2] and all(t.probability is None for t in c.top)
    assert int(c.grades_by_kind.loc["total", "total"]) == len(c.assessments)
    assert list(c.grades_by_district.index)[-1] == "total"
    assert any(a.kind == "overdue_disposal" and a.sample_ids == ("s3",) for a in c.alerts)
    assert {"shopA", "shopB"} <= set(c.operators)
