"""Risk features on small hand-made networks: exact values, as_of, the samples-only store."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from graph.view import ReadView
from ontology.errors import InvalidRecord
from ontology.records import (Case, Complaint, CreditRecord, Delivery, Inspection, Operator, Retraction, Sample,
                              TestResult)
from reasoning.features import FEATURES, HAZARD_CLASSES, operator_features, read_frames

T = "T08:00:00+08:00"


def _d(id, lot, s, r, day, cert=None, ticket=None, event=None):
    return Delivery(id=id, lot_id=lot, sender_id=s, receiver_id=r, time=day + T, quantity=1, unit="KGM",
                    certificate_id=cert, ticket_id=ticket, event_id=event)


@pytest.fixture
def view(sqlite_store):
    s = sqlite_store
    s.write([
        Operator(id="F", kind="Farm", name="农场", category="live_pig", scale="small", licence_date="2020-01-01",
                 haccp=True, region_id="urn:foodtrace:region:320602"),
        Operator(id="A", kind="Slaughterhouse", name="屠宰场", scale="large"),
        Operator(id="M", kind="FarmersMarket", name="农贸市场"),
        Operator(id="S", kind="Stall", name="摊位", individual=True),
        Operator(id="R", kind="Restaurant", name="饭店"),
        _d("d1", "pig1", "F", "A", "2026-01-10", cert="c1", ticket="t1"),
        _d("d2", "meat1", "A", "S", "2026-01-11", ticket="t2"),
        _d("d3", "meat1", "A", "S", "2026-01-12"),
        _d("d4", "meat1", "S", "R", "2026-01-13", cert="c2", ticket="t3"),
        _d("d5", "meat2", "A", "R", "2026-03-01", cert="c3", ticket="t4"),
        _d("d6", "meat3", "A", "M", "2026-01-20", event="ev-wrong"),   # retracted below
        Retraction(id="r1", event_id="ev-wrong", declared="2026-01-21T08:00:00+08:00"),
        Sample(id="s1", plan="supervisory", sampled_id="S", producer_id="A", product_name="猪肉", category="pork",
               lot_id="meat1", sampled_at="2026-01-15", conclusion="nonconforming"),
        TestResult(id="s1r1", sample_id="s1", item="恩诺沙星", hazard_class="vet_drug", conclusion="nonconforming"),
        TestResult(id="s1r2", sample_id="s1", item="铅", hazard_class="heavy_metal", conclusion="conforming"),
        Sample(id="s2", plan="monitoring", sampled_id="R", producer_id="A", product_name="鸡肉", category="poultry",
               sampled_at="2026-02-01", conclusion="conforming"),
        Sample(id="s3", plan="supervisory", sampled_id="S", producer_id="X", product_name="猪肉", category="pork",
               announced="2026-02-10", conclusion="nonconforming", disputed=True),
        Sample(id="s4", plan="rapid", sampled_id="F", product_name="生猪", category="live_pig",
               sampled_at="2026-03-05", conclusion="nonconforming"),
        Inspection(id="i1", operator_id="S", date="2026-01-05", result="fail"),
        Inspection(id="i2", operator_id="S", date="2026-02-01", result="pass_with_remarks"),
        Inspection(id="i3", operator_id="F", date="2026-03-10", result="fail"),
        Case(id="c1", operator_id="S", opened="2026-02-01", fine=5000.0),
        Case(id="c2", operator_id="A", opened="2026-02-15", fine=1000.0, transferred_to_police=True),
        Complaint(id="q1", operator_id="R", date="2026-01-20", substantiated=True),
        Complaint(id="q2", operator_id="R", date="2026-02-20", substantiated=False),
        CreditRecord(id="k1", operator_id="S", kind="penalty", start="2026-02-10", end="2029-02-10"),
        CreditRecord(id="k2", operator_id="A", kind="serious_dishonest", start="2025-01-01", end="2026-01-31"),
        CreditRecord(id="k3", operator_id="F", kind="credit_class", credit_class="B", start="2025-12-01",
                     end="2026-12-01"),
        CreditRecord(id="k4", operator_id="F", kind="penalty", start="2025-06-01", end="2028-06-01",
                     repaired="2026-01-01"),
    ])
    return ReadView(s)


def test_every_column_is_documented(view):
    f = operator_features(view)
    assert list(f.columns) == list(FEATURES)
    assert all(len(v) == 3 and all(v) for v in FEATURES.values())
    assert {f"hazard_{h}" for h in HAZARD_CLASSES} <= set(f.columns)
    # every Operator record, plus X seen only as a (disputed) producer
    assert sorted(f.index) == ["A", "F", "M", "R", "S", "X"]
    assert f.index.name == "operator_id"


def test_own_history_enforcement_and_credit(view):
    f = operator_features(view, as_of="2026-03-01")
    p0 = 2 / 3                                   # s1, s3 failed, s2 passed (s4 is later)
    assert f.loc["S", "samples"] == 2 and f.loc["S", "nonconforming"] == 2       # s1, s3 (disputed counts here)
    assert f.loc["A", "samples"] == 2 and f.loc["A", "nonconforming"] == 1       # s1, s2 as producer
    assert f.loc["X", "samples"] == 0                                             # disputed: not against X
    assert f.loc["F", "samples"] == 0
    assert f.loc["S", "fail_rate"] == pytest.approx((2 + 2 * p0) / 4)
    assert f.loc["A", "fail_rate"] == pytest.approx(7 / 12)
    assert f.loc["R", "fail_rate"] == pytest.approx(4 / 9)
    assert f.loc["M", "fail_rate"] == pytest.approx(p0)
    assert f.loc["S", "days_since_last_fail"] == 19 and f.loc["A", "days_since_last_fail"] == 45
    assert f.loc["R", "days_since_last_sample"] == 28 and math.isnan(f.loc["R", "days_since_last_fail"])
    assert f.loc["S", "hazard_vet_drug"] == 1 and f.loc["A", "hazard_vet_drug"] == 1
    assert f.loc["S", "hazard_heavy_metal"] == 0                                  # that result conformed
    assert f.loc["S", "samples_365"] == 2
    assert f.loc["S", "category"] == "pork" and f.loc["R", "category"] == "poultry"
    assert f.loc["A", "category"] == "pork"                                       # tie pork/poultry: first by name
    assert f.loc["F", "category"] == "live_pig"                                   # its own
    assert f.loc["S", "category_fail_rate"] == pytest.approx((2 + 2 * p0) / 4)
    assert f.loc["R", "category_fail_rate"] == pytest.approx(4 / 9)
    assert (f.loc["S", "inspections"], f.loc["S", "inspection_fail"], f.loc["S", "inspection_remarks"]) == (2, 1, 1)
    assert f.loc["F", "inspections"] == 0                                         # i3 is later
    assert (f.loc["S", "cases"], f.loc["S", "case_fines"], f.loc["S", "cases_police"]) == (1, 5000, 0)
    assert (f.loc["A", "cases"], f.loc["A", "case_fines"], f.loc["A", "cases_police"]) == (1, 1000, 1)
    assert (f.loc["R", "complaints"], f.loc["R", "complaints_substantiated"]) == (2, 1)
    assert f.loc["S", "credit_penalties_active"] == 1
    assert f.loc["F", "credit_penalties_active"] == 0                             # repaired 2026-01-01
    assert f.loc["A", "serious_dishonest_active"] == 0                            # publicity ended 2026-01-31
    assert f.loc["F", "credit_class_official"] == 2.0 and math.isnan(f.loc["S", "credit_class_official"])
    assert f.loc["F", "licence_age_days"] == (dt.date(2026, 3, 1) - dt.date(2020, 1, 1)).days
    assert math.isnan(f.loc["S", "licence_age_days"])
    assert (f.loc["F", "haccp"], f.loc["S", "haccp"], f.loc["S", "individual"]) == (1, 0, 1)
    assert (f.loc["F", "kind"], f.loc["F", "scale"], f.loc["F", "district"]) == (
        "Farm", "small", "urn:foodtrace:region:320602")
    assert f.loc["X", "kind"] is None


def test_network_features(view):
    f = operator_features(view, as_of="2026-03-01")
    # edges: F->A 1, A->S 2 deliveries + s1, S->R 1, A->R s2 (d5 is on as_of, d6 retracted, s3 disputed)
    assert f["inbound_deliveries"].to_dict() == {"F": 0, "A": 1, "M": 0, "S": 2, "R": 1, "X": 0}
    assert f.loc["S", "inbound_no_certificate_share"] == 1.0 and f.loc["S", "inbound_no_ticket_share"] == 0.5
    assert f.loc["A", "inbound_no_certificate_share"] == 0.0 and math.isnan(f.loc["F", "inbound_no_ticket_share"])
    fr = {o: f.loc[o, "fail_rate"] for o in f.index}
    assert f.loc["S", "supplier_fail_rate"] == pytest.approx(fr["A"])
    assert f.loc["R", "supplier_fail_rate"] == pytest.approx((fr["S"] + fr["A"]) / 2)
    assert f.loc["A", "buyer_fail_rate"] == pytest.approx((3 * fr["S"] + fr["R"]) / 4)
    assert math.isnan(f.loc["F", "supplier_fail_rate"]) and math.isnan(f.loc["R", "buyer_fail_rate"])
    assert f["degree_in"].to_dict() == {"F": 0, "A": 1, "M": 0, "S": 1, "R": 2, "X": 0}
    assert f["degree_out"].to_dict() == {"F": 1, "A": 2, "M": 0, "S": 1, "R": 0, "X": 0}
    # seeds: s1's lot was held by S, A, R (1/3 each); s3 by S alone (its producer disputes it)
    x_a = 0.15 / 3
    x_s = 0.15 * 4 / 3 + 0.85 * 0.75 * x_a
    x_r = 0.15 / 3 + 0.85 * (0.25 * x_a + x_s)
    assert f.loc["A", "propagated_risk"] == pytest.approx(x_a, abs=1e-9)
    assert f.loc["S", "propagated_risk"] == pytest.approx(x_s, abs=1e-9)
    assert f.loc["R", "propagated_risk"] == pytest.approx(x_r, abs=1e-9)
    assert f.loc["F", "propagated_risk"] == 0 and f.loc["M", "propagated_risk"] == 0
    assert f["pagerank"].sum() == pytest.approx(len(f))
    assert f["pagerank"].idxmax() == "R"


def test_as_of_excludes_later_records(view):
    early = operator_features(view, as_of="2026-01-13")
    assert early.loc["R", "inbound_deliveries"] == 0                 # d4 leaves on 2026-01-13
    assert operator_features(view, as_of="2026-01-14").loc["R", "inbound_deliveries"] == 1
    assert early["samples"].sum() == 0 and early["propagated_risk"].sum() == 0
    assert early.loc["S", "inspections"] == 1
    assert early["fail_rate"].eq(0).all()                             # nothing known: city rate 0
    late = operator_features(view, as_of=dt.date(2026, 3, 6))
    assert late.loc["F", "samples"] == 1 and late.loc["R", "inbound_deliveries"] == 2
    default = operator_features(view)                                 # the day after the latest date
    assert default.loc["F", "inspection_fail"] == 1 and default.loc["F", "samples"] == 1


def test_operator_ids_and_frames_reuse(view):
    fr = read_frames(view)
    sub = operator_features(fr, as_of="2026-03-01", operator_ids=["S", "R", "nobody"])
    assert list(sub.index) == ["S", "R"]
    full = operator_features(view, as_of="2026-03-01")
    assert np.allclose(sub.loc["R"].drop(["kind", "category", "scale", "district"]).astype(float),
                       full.loc["R"].drop(["kind", "category", "scale", "district"]).astype(float), equal_nan=True)


def test_bad_as_of_is_rejected(view):
    with pytest.raises(InvalidRecord, match="as_of: .last week. is not a date"):
        operator_features(view, as_of="last week")


def test_samples_only_store(sqlite_store):
    """Official announcements only: no deliveries; the producer -> seller network comes from the samples."""
    sqlite_store.write([
        Operator(id="P", kind="Producer", name="食品厂"),
        Operator(id="S1", kind="Stall", name="摊位一"), Operator(id="S2", kind="Supermarket", name="超市"),
        Sample(id="a1", plan="supervisory", sampled_id="S1", producer_id="P", product_name="鲫鱼",
               announced="2026-01-20", conclusion="nonconforming"),
        TestResult(id="a1r", sample_id="a1", item="孔雀石绿", hazard_class="vet_drug", conclusion="nonconforming"),
        Sample(id="a2", plan="supervisory", sampled_id="S2", producer_id="P", product_name="鲫鱼",
               announced="2026-01-20", conclusion="conforming"),
    ])
    f = operator_features(ReadView(sqlite_store), as_of="2026-02-01")
    assert f.loc["P", "samples"] == 2 and f.loc["P", "nonconforming"] == 1
    assert f.loc["P", "degree_out"] == 2 and f.loc["S2", "degree_in"] == 1
    assert f.loc["S2", "supplier_fail_rate"] == pytest.approx(f.loc["P", "fail_rate"])
    assert f.loc["P", "buyer_fail_rate"] == pytest.approx((f.loc["S1", "fail_rate"] + f.loc["S2", "fail_rate"]) / 2)
    assert f["inbound_deliveries"].eq(0).all() and f["inbound_no_certificate_share"].isna().all()
    assert f.loc["P", "propagated_risk"] == pytest.approx(0.075)
    assert f.loc["S1", "propagated_risk"] == pytest.approx(0.075 + 0.85 * 0.0375)
    assert f.loc["S2", "propagated_risk"] == pytest.approx(0.85 * 0.0375)
    assert f.loc["S1", "hazard_vet_drug"] == 1
    assert f.loc["S1", "category"] is None                               # only a product name: no category
    assert f.loc["S1", "category_fail_rate"] == pytest.approx(f.loc["S2", "category_fail_rate"])


def test_empty_store(sqlite_store):
    f = operator_features(ReadView(sqlite_store))
    assert f.empty and list(f.columns) == list(FEATURES)


def test_a_result_counts_from_its_announcement_day(sqlite_store):
    """A sample taken before as_of but announced after it is not yet known (no look-ahead)."""
    sqlite_store.write([
        Operator(id="S", kind="Stall", name="摊位"),
        Sample(id="a", plan="supervisory", sampled_id="S", product_name="芹菜", sampled_at="2026-01-10",
               announced="2026-02-20", conclusion="nonconforming"),
        Sample(id="b", plan="rapid", sampled_id="S", product_name="芹菜", sampled_at="2026-01-12",
               conclusion="conforming"),
    ])
    fr = read_frames(ReadView(sqlite_store))
    before = operator_features(fr, as_of="2026-02-20").loc["S"]
    assert (before["samples"], before["nonconforming"]) == (1.0, 0.0)        # only the rapid test is known
    after = operator_features(fr, as_of="2026-02-21").loc["S"]
    assert (after["samples"], after["nonconforming"]) == (2.0, 1.0)
    assert after["days_since_last_fail"] == 1.0                             # counted from the announcement


def test_a_retraction_counts_from_the_day_it_was_declared(view):
    """d6 (A -> M, 2026-01-20) is retracted on 2026-01-21: the day before, it still counts."""
    fr = read_frames(view)
    assert operator_features(fr, as_of="2026-01-21").loc["M", "inbound_deliveries"] == 1
    assert operator_features(fr, as_of="2026-01-22").loc["M", "inbound_deliveries"] == 0


def test_deliveries_read_page_by_page_give_the_same_frames_and_features(view):
    """Senders and receivers coded across pages, sampled lots coded, retractions dated: pages of one or two
    deliveries give the frames and features of one read."""
    whole = read_frames(view)
    for page in (1, 2):
        fr = read_frames(view, page=page)
        assert list(fr.ids) == list(whole.ids)
        pd.testing.assert_frame_equal(fr.deliveries, whole.deliveries)
        pd.testing.assert_frame_equal(fr.samples, whole.samples)
        for day in ("2026-01-21", "2026-03-06", None):
            pd.testing.assert_frame_equal(operator_features(fr, as_of=day), operator_features(whole, as_of=day))
    d = whole.deliveries
    assert (d["lot"] >= 0).any() and (d["lot"] < 0).any()   # some deliveries are of a sampled lot, others not
