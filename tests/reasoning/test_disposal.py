"""核查处置 on hand-made cases: deadlines over the Spring Festival, a passing re-test, a cross-city 协查, a recall
whose receivers all confirm, and bad steps refused with a message naming what is wrong (both backends)."""

from __future__ import annotations

import json

import pytest

from graph.view import ReadView
from ontology.errors import InvalidRecord, NotFound
from ontology.handling import due, history
from ontology.records import Delivery, DisposalCase, Lot, Operator, Sample
from reasoning.disposal import (case_rows, cases_to_open, cleared_samples, completion, evidence_file, new_step,
                                open_case, subject_of)

SHOP = "urn:foodtrace:operator:shop"
MAKER = "urn:foodtrace:operator:maker"
AWAY = "urn:foodtrace:operator:away"
R1, R2 = "urn:foodtrace:operator:r1", "urn:foodtrace:operator:r2"
LOT = "urn:foodtrace:lot:pork:L1"
CHONGCHUAN = "urn:foodtrace:region:320602"
TODAY = "2026-06-30"


def world(extra=()):
    return [
        Operator(id=SHOP, kind="Supermarket", name="崇川某某超市", region_id=CHONGCHUAN),
        Operator(id=MAKER, kind="Producer", name="南通某某肉制品厂", region_id="urn:foodtrace:region:320612"),
        Operator(id=AWAY, kind="Producer", name="泰州某某食品厂", address="江苏省泰州市海陵区某路1号"),
        Operator(id=R1, kind="Restaurant", name="某某饭店", region_id=CHONGCHUAN),
        Operator(id=R2, kind="SchoolCanteen", name="某某小学食堂", region_id=CHONGCHUAN),
        Lot(id=LOT, product_id="urn:foodtrace:product:pork", producer_id=MAKER),
        Delivery(id="d-shop", lot_id=LOT, sender_id=MAKER, receiver_id=SHOP, time="2026-02-01T08:00:00+08:00",
                 quantity=100.0, unit="KGM"),
        Delivery(id="d-r1", lot_id=LOT, sender_id=SHOP, receiver_id=R1, time="2026-02-02T08:00:00+08:00",
                 quantity=10.0, unit="KGM"),
        Delivery(id="d-r2", lot_id=LOT, sender_id=SHOP, receiver_id=R2, time="2026-02-02T09:00:00+08:00",
                 quantity=20.0, unit="KGM"),
        Sample(id="urn:foodtrace:sample:s1", plan="supervisory", sampled_id=SHOP, producer_id=MAKER, lot_id=LOT,
               product_name="冷鲜猪肉", sampled_at="2026-02-03", conclusion="nonconforming"),
        Sample(id="urn:foodtrace:sample:s2", plan="supervisory", sampled_id=SHOP, producer_id=AWAY,
               product_name="酱牛肉", sampled_at="2026-01-20", conclusion="nonconforming"),
        Sample(id="urn:foodtrace:sample:s3", plan="supervisory", sampled_id=SHOP, producer_id=MAKER,
               product_name="香肠", sampled_at="2026-01-20", conclusion="nonconforming", disputed=True),
        Sample(id="urn:foodtrace:sample:k1", plan="rapid", sampled_id=SHOP, product_name="青菜",
               sampled_at="2026-03-02", conclusion="nonconforming"),
        *extra,
    ]


@pytest.fixture
def view(store):
    store.write(world())
    return ReadView(store)


def step(store, subject, kind, day, **kw):
    recs = new_step(ReadView(store), subject, kind=kind, date=day, by=kw.pop("by", "张三"), today=TODAY, **kw)
    store.write(recs)
    return recs[-1]


def open_sample_case(store, sample="urn:foodtrace:sample:s1", opened="2026-02-12", number="HC-1"):
    case = open_case(ReadView(store), trigger="supervisory_sample", ref=sample, opened=opened, by="李四",
                     today=TODAY, number=number)
    store.write([case])
    return case


# -- deadlines --------------------------------------------------------------------------------------------

def test_deadlines_across_the_spring_festival_and_an_adjusted_saturday():
    # received Thursday 12 February 2026: 7 working days are Fri 13, Sat 14 (worked), then the holiday to
    # Mon 23, Tue 24 .. Fri 27, Sat 28 (worked): the 28th, a Saturday
    assert due("2026-02-12", "complaint_accept") == ("2026-02-28", False)
    # 15 working days for a report: 13, 14, 24, 25, 26, 27, 28, 2, 3, 4, 5, 6, 9, 10, 11 March
    assert due("2026-02-12", "report_decide") == ("2026-03-11", False)
    # served Friday 13: the objection window closes Monday 2 March
    assert due("2026-02-13", "disposal_objection") == ("2026-03-02", False)
    # 90 calendar days from 4 February end on Tuesday 5 May, a Labour Day holiday (1-5 May 2026): the next
    # working day, Wednesday 6 May
    assert due("2026-02-04", "disposal_complete") == ("2026-05-06", False)


def test_a_deadline_beyond_the_calendar_is_marked_estimated():
    day, estimated = due("2026-12-20", "complaint_mediate")
    assert estimated and day.startswith("2027-")


# -- opening ------------------------------------------------------------------------------------------------

def test_cases_open_automatically_for_nonconforming_undisputed_supervisory_samples(view):
    cases = cases_to_open(view, as_of="2026-04-01")
    by_sample = {c.sample_id: c for c in cases}
    assert set(by_sample) == {"urn:foodtrace:sample:s1", "urn:foodtrace:sample:s2"}  # s3 disputed, k1 rapid
    c = by_sample["urn:foodtrace:sample:s1"]
    # the lab reports within 20 working days of 3 February: 4-6, 9-13, 14 (worked), 24-27, 28 (worked), 2-6,
    # 9 March; 90 days later is Sunday 7 June: the case is due Monday 8 June
    assert (c.opened, c.district_id, c.operator_id, c.producer_id, c.opened_by) == (
        "2026-03-09", CHONGCHUAN, SHOP, MAKER, "foodtrace")
    assert c.due == "2026-06-08" and c.rules_version == "2026.1"
    assert cases_to_open(view, as_of="2026-03-09") == [by_sample["urn:foodtrace:sample:s2"]]  # not yet for s1


def test_on_demand_cases_and_their_refusals(store, view):
    k = open_case(view, trigger="rapid_test", ref="urn:foodtrace:sample:k1", opened="2026-03-03", by="李四",
                  today=TODAY)
    assert (k.trigger, k.district_id, k.sample_id) == ("rapid_test", CHONGCHUAN, "urn:foodtrace:sample:k1")
    store.write([k])
    with pytest.raises(InvalidRecord, match="already has disposal case"):
        open_case(view, trigger="rapid_test", ref="urn:foodtrace:sample:k1", opened="2026-03-03", by="李四",
                  today=TODAY)
    with pytest.raises(InvalidRecord, match="is a supervisory sample, not rapid"):
        open_case(view, trigger="rapid_test", ref="urn:foodtrace:sample:s1", opened="2026-03-03", by="x", today=TODAY)
    with pytest.raises(InvalidRecord, match="before the sample was taken"):
        open_case(view, trigger="supervisory_sample", ref="urn:foodtrace:sample:s1", opened="2026-02-01", by="x",
                  today=TODAY)
    with pytest.raises(InvalidRecord, match="in the future"):
        open_case(view, trigger="supervisory_sample", ref="urn:foodtrace:sample:s1", opened="2026-07-01", by="x",
                  today=TODAY)
    with pytest.raises(NotFound, match="no sample has the identifier 'nope'"):
        open_case(view, trigger="rapid_test", ref="nope", opened="2026-03-03", by="x", today=TODAY)
    t = open_case(view, trigger="trace", ref=LOT, operator=R1, opened="2026-03-03", by="x", today=TODAY)
    assert (t.lot_id, t.operator_id) == (LOT, R1)


# -- the Must-show cases ------------------------------------------------------------------------------------

def test_a_passing_retest_closes_the_case_and_clears_the_sample(store, view):
    case = open_sample_case(store)
    step(store, case, "served", "2026-02-13", party=SHOP)
    step(store, case, "objection", "2026-03-02", party=SHOP)       # the last day of the window
    step(store, case, "retest", "2026-03-20", outcome="pass")
    h = history(case, store.scan("handling_step", {"subject_id": case.id}))
    assert h.cleared and h.done == "2026-03-20" and h.status() == "cleared"
    assert cleared_samples(view) == {"urn:foodtrace:sample:s1"}
    assert cleared_samples(view, as_of="2026-03-20") == set()      # not known before the re-test
    (row,) = case_rows(view, as_of="2026-04-01")
    assert (row.status, row.done, row.on_time) == ("cleared", "2026-03-20", True)
    with pytest.raises(InvalidRecord, match="cleared by a passing re-test on 2026-03-20; only a correction"):
        step(store, case, "cause", "2026-03-21")


def test_an_objection_after_its_window_is_refused(store, view):
    case = open_sample_case(store)
    step(store, case, "served", "2026-02-13", party=SHOP)
    with pytest.raises(InvalidRecord, match=r"objection window of .*shop closed on 2026-03-02"):
        step(store, case, "objection", "2026-03-03", party=SHOP)


def test_a_cross_city_producer_gets_an_assistance_request_instead_of_being_served(store, view):
    case = open_sample_case(store, sample="urn:foodtrace:sample:s2", opened="2026-02-10", number="HC-2")
    step(store, case, "served", "2026-02-11", party=SHOP)
    for kind in ("withdraw", "cause", "rectified"):
        step(store, case, kind, "2026-02-12")
    step(store, case, "not_filed", "2026-02-13", reason="货值较小，首次违法，已及时下架")
    with pytest.raises(InvalidRecord, match=r"serving the nominal producer .*away or an assistance request"):
        step(store, case, "closed", "2026-03-01")
    with pytest.raises(InvalidRecord, match="name the bureau asked"):
        step(store, case, "assist_request", "2026-02-13", party=AWAY)
    step(store, case, "assist_request", "2026-02-13", party=AWAY, outcome="泰州市市场监督管理局")
    step(store, case, "closed", "2026-03-01")
    (row,) = case_rows(view, as_of="2026-03-02")
    assert (row.status, row.on_time) == ("closed", True)


def test_an_assistance_request_for_a_local_producer_is_refused(store, view):
    case = open_sample_case(store)
    step(store, case, "served", "2026-02-13", party=SHOP)
    with pytest.raises(InvalidRecord, match="producer is in Nantong or unknown: serve it instead"):
        step(store, case, "assist_request", "2026-02-14", party=MAKER, outcome="泰州市市场监督管理局")


def test_a_recall_whose_receivers_all_confirm(store, view):
    case = open_sample_case(store)
    step(store, case, "served", "2026-02-13", party=SHOP)
    step(store, case, "served", "2026-02-13", party=MAKER)
    recall = step(store, case, "recall", "2026-02-14")
    receivers = json.loads(recall.recall_list)["receivers"]
    # the trace reaches every receiver of the lot: the shop itself and its two buyers
    assert [(r["id"], r["deliveries"]) for r in receivers] == [(R1, ["d-r1"]), (R2, ["d-r2"]), (SHOP, ["d-shop"])]
    for kind in ("cause", "rectified"):
        step(store, case, kind, "2026-02-24")
    step(store, case, "filed", "2026-02-25")
    step(store, case, "recall_confirmed", "2026-02-24", party=R1)
    step(store, case, "recall_confirmed", "2026-02-24", party=SHOP)
    with pytest.raises(InvalidRecord, match=r"cannot close before the recall confirmations of .*r2"):
        step(store, case, "closed", "2026-02-26")
    with pytest.raises(InvalidRecord, match="is not on the recall list"):
        step(store, case, "recall_confirmed", "2026-02-25", party=MAKER)
    step(store, case, "recall_confirmed", "2026-02-25", party=R2)
    step(store, case, "closed", "2026-02-26")
    h = history(case, store.scan("handling_step", {"subject_id": case.id}))
    assert h.unconfirmed() == [] and h.closed == "2026-02-26" and set(h.confirmed) == {R1, R2, SHOP}


# -- bad steps ---------------------------------------------------------------------------------------------

def test_bad_steps_are_refused_naming_what_is_wrong_and_change_nothing(store, view):
    case = open_sample_case(store)
    before = store.counts()["handling_step"]
    cases = [
        (dict(kind="rectified", day="2026-02-13"), "needs serving the result first"),
        (dict(kind="served", day="2026-02-13", party=R1), "neither the business"),
        (dict(kind="served", day="2026-02-11", party=SHOP), "before the case opened"),
        (dict(kind="served", day="2026-07-01", party=SHOP), "in the future"),
        (dict(kind="accepted", day="2026-02-13"), "not a step of a disposal case"),
        (dict(kind="served", day="2026-02-30", party=SHOP), "is not a date"),
        (dict(kind="closed", day="2026-02-13"), "cannot close before serving the business"),
    ]
    for kw, message in cases:
        with pytest.raises(InvalidRecord, match=message):
            step(store, case, kw.pop("kind"), kw.pop("day"), **kw)
    with pytest.raises(InvalidRecord, match="who did it is required"):
        step(store, case, "served", "2026-02-13", party=SHOP, by=" ")
    with pytest.raises(NotFound, match="no operator has the identifier 'ghost'"):
        step(store, case, "served", "2026-02-13", party="ghost")
    with pytest.raises(NotFound, match="no disposal case or complaint has the identifier 'HC-404'"):
        subject_of(view, "HC-404")
    assert store.counts()["handling_step"] == before == 0


def test_a_wrong_step_is_corrected_by_a_later_one(store, view):
    case = open_sample_case(store)
    wrong = step(store, case, "served", "2026-02-14", party=SHOP)
    with pytest.raises(InvalidRecord, match="a correction needs a reason"):
        step(store, case, "served", "2026-02-13", party=SHOP, corrects=str(wrong.seq))
    step(store, case, "served", "2026-02-13", party=SHOP, corrects="1", reason="送达日期录入错误")
    steps = list(store.scan("handling_step", {"subject_id": case.id}))
    assert len(steps) == 2                                           # nothing rewritten
    assert history(case, steps).served == {SHOP: "2026-02-13"}
    with pytest.raises(InvalidRecord, match="already corrected or cancelled"):
        step(store, case, "void", "2026-02-15", corrects="1", reason="x")


def test_evidence_files_are_checked_and_stored_by_hash():
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 100
    e = evidence_file("送达回证.pdf", pdf, by="张三")
    assert e.media_type == "application/pdf" and e.id.endswith(e.sha256) and e.size == len(pdf)
    assert evidence_file("again.pdf", pdf, by="李四").id == e.id
    with pytest.raises(InvalidRecord, match="not of an accepted type"):
        evidence_file("run.exe", b"MZ\x90\x00" + b"\x00" * 50, by="x")
    with pytest.raises(InvalidRecord, match="not of an accepted type"):
        evidence_file("fake.pdf", b"<html><script>", by="x")
    with pytest.raises(InvalidRecord, match="the largest accepted is 10,000,000"):
        evidence_file("big.pdf", b"%PDF-" + b"0" * 10_000_000, by="x")
    with pytest.raises(InvalidRecord, match="is empty"):
        evidence_file("empty.pdf", b"", by="x")


def test_completion_and_on_time_rates(store, view):
    done = open_sample_case(store, number="HC-A")                        # closed late
    late = open_sample_case(store, sample="urn:foodtrace:sample:s2", opened="2026-02-10", number="HC-B")
    step(store, done, "served", "2026-02-13", party=SHOP)
    step(store, done, "served", "2026-02-13", party=MAKER)
    for kind in ("cause", "rectified"):
        step(store, done, kind, "2026-02-24")
    step(store, done, "filed", "2026-02-25")
    step(store, done, "closed", "2026-05-20")                           # due 2026-05-13
    rows = case_rows(view, as_of="2026-06-01")
    c = completion(rows, as_of="2026-06-01", start="2026-05-01", end="2026-05-31")
    assert (c.due, c.completed, c.on_time, c.overdue, c.rate, c.on_time_rate) == (2, 1, 0, 1, 0.5, 0.0)
    assert c.ids["overdue"] == [late.id]
    early = completion(case_rows(view, as_of="2026-05-15"), as_of="2026-05-15")
    assert (early.due, early.completed) == (2, 0)                       # the closing on 20 May is not known yet
