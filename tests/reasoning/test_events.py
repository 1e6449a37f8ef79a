"""Major events: the record's rules, the vetting of designated suppliers (a failed sample listed), the deliveries
into the kitchens, the sampling list ranked by the planned-sample model, the after report (both backends)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from graph.view import ReadView
from ontology import rdf
from ontology.errors import InvalidRecord
from ontology.records import Case, Certificate, Complaint, DisposalCase, Sample, SchoolAlert
from reasoning.events import after_report, event_deliveries, new_event, sampling_list, sampling_plan, vet_suppliers
from reasoning.sample_risk import score_plan

from .schools_net import (DIST, FARM, MIX, PIG, PORK, PORK2, REST, SCHOOL1, SCHOOL2, SLAUGHTER, VEG, VFARM, failing,
                          network, standing)

KITCHEN = "urn:foodtrace:operator:kitchen"


def _event(view, **kw):
    args = dict(name="2026南通国际会议", level="municipal", start="2026-03-02", end="2026-03-04",
                kitchens=[SCHOOL1], suppliers=[DIST, SLAUGHTER, FARM], venues=["南通国际会议中心"])
    return new_event(view, **{**args, **kw})


@pytest.mark.parametrize("change, message", [
    ({"end": "2026-03-01"}, "ends \\(2026-03-01\\) before it starts \\(2026-03-02\\)"),
    ({"level": "galactic"}, "level 'galactic'"),
    ({"name": " "}, "needs a name"),
    ({"suppliers": ["urn:foodtrace:operator:nobody"]}, "no operator has the identifier"),
])
def test_bad_events_are_refused(store, change, message):
    store.write(network())
    with pytest.raises(InvalidRecord, match=message):
        _event(ReadView(store), **change)


def test_the_vetting_report_lists_a_suppliers_failed_sample(store):
    store.write(network() + standing() + failing("s-farm", PIG, FARM, "2026-01-10", item="克伦特罗")
                + failing("s-ok", PIG, SLAUGHTER, "2026-01-12", conclusion="conforming")
                + [Case(id="case-1", operator_id=SLAUGHTER, opened="2025-12-01", violation="未按规定查验"),
                   Certificate(id="cert-1", kind="animal_quarantine", holder_id=SLAUGHTER, issued="2026-01-01",
                               valid_until="2026-12-31")])
    view = ReadView(store)
    ev = _event(view)
    store.write([ev])
    conforms, text = rdf.validate(rdf.to_graph(list(store.scan("operator")) + [ev]))
    assert conforms, text
    vet = {v.supplier_id: v for v in vet_suppliers(view, ev, as_of=dt.date(2026, 2, 20))}
    farm, sh, dist = vet[FARM], vet[SLAUGHTER], vet[DIST]
    assert [(s["id"], s["failed_items"]) for s in farm.failed_samples] == [("s-farm", ["克伦特罗"])]
    assert farm.verdict == "reject" and "近12个月抽检不合格1批次" in farm.reasons
    assert dist.verdict == "reject" and dist.grade == "D" and dist.reasons == ("风险等级D级",)
    assert (sh.verdict, len(sh.samples), sh.failed_samples, sh.certificates) == ("watch", 1, (), ("cert-1",))
    assert sh.reasons == ("近12个月稽查案件1件",)
    # the listing of the veg farm is not a designated supplier's: it does not appear
    assert VFARM not in vet


def test_deliveries_into_the_kitchens_during_the_event(store):
    store.write(network())
    view = ReadView(store)
    ev = _event(view, suppliers=[SLAUGHTER])
    [d] = event_deliveries(view, ev)
    assert (d.delivery_id, d.kitchen_id, d.supplier_id, d.designated, d.product) == ("d3", SCHOOL1, DIST, False, "猪肉")
    assert event_deliveries(view, dataclasses.replace(ev, start="2026-03-05", end="2026-03-06")) == []


def history() -> list:
    """A year of samples at the restaurant: the slaughterhouse's pork fails one in four, the veg farm's greens never."""
    out = []
    for i in range(40):
        day = (dt.date(2025, 2, 1) + dt.timedelta(days=7 * i)).isoformat()
        out.append(Sample(id=f"h-pork-{i}", plan="supervisory", sampled_id=REST, producer_id=SLAUGHTER,
                          product_name="猪肉", category="pork", sampled_at=day,
                          conclusion="nonconforming" if i % 4 == 0 else "conforming"))
        out.append(Sample(id=f"h-veg-{i}", plan="supervisory", sampled_id=REST, producer_id=VFARM, product_name="青菜",
                          category="leafy_vegetable", sampled_at=day, conclusion="conforming"))
    return out


def _games(view):
    return _event(view, name="2026南通运动会", kitchens=[SCHOOL1, SCHOOL2], suppliers=[DIST, VFARM, SLAUGHTER])


def test_the_sampling_list_ranks_the_events_lots_by_the_planned_sample_model(store):
    store.write(network() + standing() + history())
    view = ReadView(store)
    ev = _games(view)
    day = dt.date(2026, 3, 5)
    plan = sampling_plan(view, ev, as_of=day)
    # the lots that reached a kitchen (sampled there), then the designated suppliers' other lots (at the supplier)
    assert [(r["lot_id"], r["supplier_id"], r["sampled_id"], r["at_kitchen"]) for r in plan] == [
        (PORK, DIST, SCHOOL1, True), (VEG, VFARM, SCHOOL2, True), (PORK2, SLAUGHTER, SLAUGHTER, False)]
    rows = sampling_list(view, ev, as_of=day)
    # the same model and score as risk rank-plan: no second score
    expected = score_plan(view, plan, day)
    by_lot = {r.lot_id: r for r in rows}
    for r, (_, s) in zip(plan, expected.iterrows()):
        assert by_lot[r["lot_id"]].probability == pytest.approx(float(s["probability"]), abs=1e-6)
        assert by_lot[r["lot_id"]].rank == int(s["rank"])
    assert [r.rank for r in rows] == sorted(r.rank for r in rows)
    assert rows[-1].lot_id == VEG and rows[-1].probability < min(r.probability for r in rows[:-1])
    pork = by_lot[PORK]
    assert (pork.product, pork.supplier_name, pork.supplier_grade, pork.designated, pork.sample_at_name) == (
        "猪肉", "某某配送中心", "D", True, "南通市第一小学食堂")
    assert pork.reasons and all(x["contribution"] > 0 for x in pork.reasons)
    # as of the first day only the lots delivered by then
    assert {r.lot_id for r in sampling_list(view, ev, as_of=dt.date(2026, 3, 2))} == {PORK, PORK2}
    # nothing after the event
    assert sampling_list(view, dataclasses.replace(ev, start="2026-03-05", end="2026-03-06"), as_of=day) == []


def test_a_meal_lot_traces_to_its_origins(store):
    from reasoning.trace import TraceOptions, trace

    store.write(network())
    result = trace(ReadView(store), MIX, "up", TraceOptions())
    assert {VFARM} <= {s.id for s in result.stations} and VEG in {x.id for x in result.lots}


def _after_store(store, *, failed: bool):
    store.write(network() + standing())
    view = ReadView(store)
    ev = _games(view)
    store.write([ev])
    store.write(failing("s-during", PORK, SCHOOL1, "2026-03-03", plan="supervisory", item="克伦特罗",
                        conclusion="nonconforming" if failed else "conforming")
                + failing("s-dist", PORK, DIST, "2026-03-02", conclusion="conforming")
                + failing("s-later", PORK, SCHOOL1, "2026-03-10")
                + failing("s-rest", PORK, REST, "2026-03-03")
                + [Complaint(id="q-rest", operator_id=REST, date="2026-03-03", topic="食用后身体不适"),
                   Complaint(id="q-weight", operator_id=SCHOOL2, date="2026-03-03", topic="缺斤短两")])
    return view, ev


def test_the_after_report_says_zero_incidents_when_nothing_happened(store):
    view, ev = _after_store(store, failed=False)
    rep = after_report(view, ev, as_of=dt.date(2026, 3, 20))
    assert rep["verdict"] == "zero" and rep["findings"] == []
    assert [(s["id"], s["conclusion"], s["at_kitchen"]) for s in rep["samples"]] == [
        ("s-dist", "conforming", False), ("s-during", "conforming", True)]
    assert [c["id"] for c in rep["complaints"]] == ["q-weight"] and not rep["complaints"][0]["illness"]
    assert [d["delivery_id"] for d in rep["deliveries"]] == ["d3", "d5"]


def test_the_after_report_names_the_failure_its_case_the_illness_and_the_alert(store):
    view, ev = _after_store(store, failed=True)
    store.write([DisposalCase(id="urn:foodtrace:disposal_case:HC-1", number="HC-1", trigger="supervisory_sample",
                              operator_id=SCHOOL1, district_id="urn:foodtrace:region:320602", sample_id="s-during",
                              lot_id=PORK, opened="2026-03-04", due="2026-06-04", rules_version="2026.1"),
                 Complaint(id="q-ill", operator_id=SCHOOL2, date="2026-03-06", topic="食用后身体不适",
                           description="午餐后腹泻"),
                 Complaint(id="q-late", operator_id=SCHOOL2, date="2026-03-09", topic="食用后身体不适"),
                 SchoolAlert(id="a1", kind="failed_sample", school_id=SCHOOL1, raised="2026-03-03T15:00:00+08:00",
                             sample_id="s-during", lot_id=PORK, message="到校批次抽检不合格")])
    # a result is known from the day after it was taken: as of that day nothing had failed yet
    early = after_report(view, ev, as_of=dt.date(2026, 3, 3))
    assert [s["id"] for s in early["samples"]] == ["s-dist"] and early["until"] == "2026-03-03"
    rep = after_report(view, ev, as_of=dt.date(2026, 3, 20))
    assert rep["verdict"] == "incidents"
    assert rep["findings"] == ["抽检不合格1批次：猪肉（克伦特罗）", "核查处置案件1件：HC-1", "食用后身体不适投诉1件"]
    failed = [s for s in rep["samples"] if s["conclusion"] == "nonconforming"]
    assert [(s["id"], s["failed_items"], s["cases"]) for s in failed] == [("s-during", ["克伦特罗"], ["HC-1"])]
    assert [(c["id"], c["illness"]) for c in rep["complaints"]] == [("q-weight", False), ("q-ill", True)]
    assert [a["id"] for a in rep["alerts"]] == ["a1"] and rep["until"] == "2026-03-07"


def test_the_template_loads_events_and_rejects_bad_rows(store, tmp_path):
    from loaders.load import load_files

    store.write(network())
    (tmp_path / "major_events.csv").write_text(
        "活动名称,保障级别,开始日期,结束日期,活动场馆,保障厨房,定点供应商,所属区县\n"
        f"2026南通运动会,市级,2026-03-02,2026-03-04,南通体育会展中心,{SCHOOL1}；{SCHOOL2},{DIST}、{VFARM},崇川区\n"
        f"倒序活动,市级,2026-03-04,2026-03-02,,{SCHOOL1},,\n"
        f"未知厨房,市级,2026-03-02,2026-03-04,,urn:foodtrace:operator:nobody,,\n"
        f"级别不明,宇宙级,2026-03-02,2026-03-04,,,,\n", encoding="utf-8")
    for _ in range(2):      # loading twice changes nothing
        [outcome] = load_files(store, [tmp_path / "major_events.csv"])
        reasons = {r.field: r.reason for r in outcome.rejects}
        assert set(reasons) == {"结束日期", "保障厨房", "保障级别"}     # the column as its header names it
        assert "before it starts" in reasons["结束日期"] and "no operator" in reasons["保障厨房"]
        [ev] = store.scan("major_event")
        assert ev.id == _games(ReadView(store)).id == new_event(
            ReadView(store), name="2026南通运动会", level="municipal", start="2026-03-02", end="2026-03-04").id
        assert (ev.kitchen_ids, ev.supplier_ids, ev.venues, ev.district_id) == (
            f"{SCHOOL1} {SCHOOL2}", f"{DIST} {VFARM}", "南通体育会展中心", "urn:foodtrace:region:320602")
