"""投诉举报: closing deadlines of complaints and reports, the on-time rate, rural ones apart, and the alerts'
disposal figures read from the disposal cases."""

from __future__ import annotations

import pytest

from graph.view import ReadView
from ontology.errors import InvalidRecord
from ontology.records import Complaint, DisposalCase, HandlingStep, Operator, Sample
from reasoning.alerts import disposal_summary
from reasoning.complaints import complaint_rows, new_complaint
from reasoning.disposal import completion, new_step

SHOP = "urn:foodtrace:operator:shop"
CC = "urn:foodtrace:region:320602"


def c(n: str, day: str, kind: str = "complaint", rural: bool = False) -> Complaint:
    return Complaint(id=f"urn:foodtrace:complaint:{n}", operator_id=SHOP, date=day, kind=kind, rural=rural)


def add(store, subject, kind, day, **kw):
    recs = new_step(ReadView(store), subject, kind=kind, date=day, by="李四", today="2026-12-31", **kw)
    store.write(recs)


def test_closing_deadlines_and_the_on_time_rate(store):
    store.write([Operator(id=SHOP, kind="Supermarket", name="某超市", region_id=CC),
                 c("A", "2026-03-02"), c("B", "2026-03-02", "report"), c("C", "2026-03-02", "report", rural=True),
                 c("D", "2026-03-02", rural=True)])
    a, b, cc, d = (store.get("complaint", f"urn:foodtrace:complaint:{x}") for x in "ABCD")
    add(store, a, "rejected", "2026-03-05", reason="不属于本部门职责")
    add(store, a, "closed", "2026-03-05")
    add(store, b, "verified", "2026-03-04")
    add(store, b, "extension", "2026-03-10", due_day="2026-04-14", reason="案情复杂，经负责人批准")
    with pytest.raises(InvalidRecord, match="not after the one in force"):
        add(store, b, "extension", "2026-03-11", due_day="2026-03-20", reason="x")
    add(store, b, "not_filed", "2026-04-10", reason="经核查未发现违法行为")
    add(store, b, "closed", "2026-04-10")
    add(store, cc, "verified", "2026-03-04")
    add(store, cc, "filed", "2026-03-30")                     # after its 15 working days (23 March)
    add(store, cc, "closed", "2026-03-30")
    rows = {r.number: r for r in complaint_rows(ReadView(store), as_of="2026-06-01")}
    assert (rows["A"].due, rows["A"].done, rows["A"].on_time) == ("2026-03-11", "2026-03-05", True)
    assert (rows["B"].due, rows["B"].on_time) == ("2026-04-14", True)           # the extension's deadline
    assert (rows["C"].due, rows["C"].on_time) == ("2026-03-23", False)
    assert (rows["D"].status, rows["D"].due, rows["D"].level) == ("overdue", "2026-03-11", "notify")
    c_all = completion(rows.values(), as_of="2026-06-01")
    c_rural = completion([r for r in rows.values() if r.rural], as_of="2026-06-01")
    assert (c_all.due, c_all.on_time, c_rural.due, c_rural.on_time) == (4, 2, 2, 0)


def test_intake_refuses_bad_input(store):
    store.write([Operator(id=SHOP, kind="Supermarket", name="某超市", region_id=CC), c("A", "2026-03-02")])
    v = ReadView(store)
    with pytest.raises(InvalidRecord, match="already registered"):
        new_complaint(v, number="A", operator=SHOP, received="2026-03-02", today="2026-03-03")
    with pytest.raises(InvalidRecord, match="in the future"):
        new_complaint(v, number="B", operator=SHOP, received="2026-03-05", today="2026-03-03")
    with pytest.raises(InvalidRecord, match="complaint .投诉. or report .举报."):
        new_complaint(v, number="B", operator=SHOP, received="2026-03-02", today="2026-03-03", kind="x")


def test_the_alerts_read_disposal_from_the_case(store):
    s = Sample(id="urn:foodtrace:sample:s", plan="supervisory", sampled_id=SHOP, product_name="猪肉",
               sampled_at="2026-01-05", conclusion="nonconforming")
    case = DisposalCase(id="urn:foodtrace:disposal_case:HC", number="HC", trigger="supervisory_sample",
                        operator_id=SHOP, district_id=CC, sample_id=s.id, opened="2026-01-20", due="2026-04-20",
                        rules_version="2026.1")
    store.write([Operator(id=SHOP, kind="Supermarket", name="某超市", region_id=CC), s, case])
    before = disposal_summary(ReadView(store), as_of="2026-05-01")
    assert (before.due, before.completed, before.overdue, before.rate) == (1, 0, 1, 0.0)
    store.write([HandlingStep(id="x", subject_id=case.id, seq=1, kind="retest", date="2026-03-01", by="x",
                              recorded="2026-03-01T00:00:00+08:00", outcome="pass")])
    after = disposal_summary(ReadView(store), as_of="2026-05-01")
    assert (after.due, after.completed, after.completed_late, after.rate) == (1, 1, 0, 1.0)
