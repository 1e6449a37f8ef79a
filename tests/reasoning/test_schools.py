"""School alerts and school supply chains on a hand-made network (both backends)."""

from __future__ import annotations

import datetime as dt

from graph.view import ReadView
from reasoning.schools import alert_id, failed_sample_alerts, school_supply, supplier_alerts
from reasoning.trace import Tracer

from ontology.records import Sample

from .schools_net import (DIST, FARM, MIX, PIG, PORK, PORK2, REST, SCHOOL1, SCHOOL2, VEG, VFARM, DIST2,
                          failing, network, standing)

RAISED = "2026-03-05T10:00:00+08:00"


def _alerts(store, *sample_ids):
    view = ReadView(store)
    return failed_sample_alerts(view, Tracer(view), sample_ids, raised=RAISED)


def test_a_failing_upstream_sample_alerts_the_school_the_pork_reached(store):
    store.write(network() + failing("s-farm", PIG, FARM, "2026-03-01"))
    [a] = _alerts(store, "s-farm")
    assert (a.kind, a.school_id, a.lot_id, a.sample_lot_id, a.delivery_id, a.relation, a.tier, a.supplier_id) == (
        "failed_sample", SCHOOL1, PORK, PIG, "d3", "upstream", "certain", DIST)
    assert a.id == alert_id("failed_sample", SCHOOL1, "s-farm") and a.district_id == "urn:foodtrace:region:320602"
    assert "南通市第一小学食堂" in a.message and "恩诺沙星" in a.message and "PORK-1" in a.message


def test_the_same_lot_failing_at_a_restaurant_alerts_the_school(store):
    store.write(network() + failing("s-rest", PORK, REST, "2026-03-03", plan="rapid"))
    [a] = _alerts(store, "s-rest")
    assert (a.school_id, a.relation, a.lot_id, a.delivery_id) == (SCHOOL1, "same_lot", PORK, "d3")


def test_a_failing_product_made_from_the_schools_lot_alerts_it(store):
    store.write(network() + failing("s-mix", MIX, DIST2, "2026-03-04", item="毒死蜱"))
    [a] = _alerts(store, "s-mix")
    assert (a.school_id, a.relation, a.lot_id, a.sample_lot_id, a.delivery_id, a.supplier_id) == (
        SCHOOL2, "downstream", VEG, MIX, "d5", VFARM)


def test_another_cut_of_the_same_pig_failing_alerts_the_school(store):
    store.write(network() + failing("s-cut", PORK2, REST, "2026-03-03", plan="rapid"))
    [a] = _alerts(store, "s-cut")
    assert (a.school_id, a.relation, a.lot_id, a.sample_lot_id, a.delivery_id, a.supplier_id) == (
        SCHOOL1, "common_origin", PORK, PORK2, "d3", DIST)
    assert "与南通市第一小学食堂收到的批次PORK-1出自同一原料批次的批次PORK-2" in a.message


def test_a_sample_failing_at_a_school_alerts_that_school(store):
    store.write(network() + failing("s-at-school", VEG, SCHOOL2, "2026-03-03", plan="rapid")
                + [Sample(id="s-lotless", plan="supervisory", sampled_id=SCHOOL2, product_name="青菜",
                          sampled_at="2026-03-04", conclusion="nonconforming")])
    [a] = _alerts(store, "s-at-school")
    assert (a.school_id, a.relation, a.tier, a.delivery_id, a.supplier_id) == (SCHOOL2, "same_lot", "certain", "d5",
                                                                               VFARM)
    [b] = _alerts(store, "s-lotless")
    assert (b.school_id, b.relation, b.tier, b.lot_id, b.delivery_id) == (SCHOOL2, "same_lot", "possible", None, None)


def test_an_announced_sample_naming_no_lot_stands_for_the_lots_its_station_held(store):
    store.write(network() + [Sample(id="s-ann", plan="supervisory", sampled_id=DIST, product_name="猪肉", category="pork",
                                    sampled_at="2026-03-02", conclusion="nonconforming", announcement="2026年第1期")])
    [a] = _alerts(store, "s-ann")
    assert (a.school_id, a.relation, a.tier, a.lot_id, a.sample_lot_id, a.delivery_id) == (
        SCHOOL1, "same_lot", "possible", PORK, None, "d3")
    assert "（推断链路，可能到校）" in a.message
    # of another category, or before the pork arrived: nothing
    store.write([Sample(id="s-ann2", plan="supervisory", sampled_id=DIST, product_name="青菜", category="leafy_vegetable",
                        sampled_at="2026-03-02", conclusion="nonconforming"),
                 Sample(id="s-ann3", plan="supervisory", sampled_id=DIST, product_name="猪肉", category="pork",
                        sampled_at="2026-02-20", conclusion="nonconforming")])
    assert _alerts(store, "s-ann2", "s-ann3") == []


def test_an_announced_sample_without_its_sampling_day_at_a_school_names_the_lot_it_may_be(store):
    store.write(network() + [Sample(id="s-noday", plan="supervisory", sampled_id=SCHOOL2, product_name="青菜",
                                    batch="2026-03-03", announced="2026-03-20", conclusion="nonconforming",
                                    product_id="urn:foodtrace:product:%E9%9D%92%E8%8F%9C")])
    [a] = _alerts(store, "s-noday")
    assert (a.school_id, a.lot_id, a.delivery_id, a.tier, a.relation) == (SCHOOL2, VEG, "d5", "possible", "same_lot")


def test_conforming_samples_and_lots_that_reached_no_school_raise_nothing(store):
    store.write(network() + failing("s-ok", PIG, FARM, "2026-03-01", conclusion="conforming")
                + failing("s-veg-d2", MIX, DIST2, "2026-03-04", conclusion="conforming"))
    assert _alerts(store, "s-ok", "s-veg-d2", "no-such-sample") == []


def test_supplier_graded_d_and_a_listed_supplier_alert_their_schools(store):
    store.write(network() + standing())
    alerts = supplier_alerts(ReadView(store), as_of=dt.date(2026, 3, 10), raised=RAISED)
    got = sorted((a.kind, a.school_id, a.supplier_id, a.grade, a.credit_record_id) for a in alerts)
    assert got == [("supplier_grade", SCHOOL1, DIST, "D", None), ("supplier_listed", SCHOOL2, VFARM, None, "cr1")]
    # outside the look-back period, or after the listing ended: nothing
    assert supplier_alerts(ReadView(store), as_of=dt.date(2026, 9, 1), raised=RAISED) == []


def test_school_supply_names_the_gaps(store):
    store.write(network() + standing() + failing("s-farm2", PORK, DIST, "2026-02-20"))
    rows = school_supply(ReadView(store), since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 31))
    by = {r.delivery_id: r for r in rows}
    assert set(by) == {"d3", "d5"}
    assert by["d3"].gaps == ("supplier_grade",) and by["d3"].supplier_grade == "D"
    assert by["d3"].supplier_failed_samples == ("s-farm2",) and by["d3"].product == "猪肉"
    assert by["d5"].gaps == ("no_ticket", "no_certificate", "supplier_listed")
    district = school_supply(ReadView(store), district="urn:foodtrace:region:320612", since=dt.date(2026, 3, 1),
                             until=dt.date(2026, 3, 31))
    assert [r.delivery_id for r in district] == ["d5"]
    served = school_supply(ReadView(store), distributor=DIST, since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 31))
    assert [r.school_id for r in served] == [SCHOOL1]


def test_made_from_follows_recorded_transformations(store):
    from reasoning.schools import made_from

    store.write(network())
    view = ReadView(store)
    assert made_from(view, [PIG]) == {PORK: frozenset({PIG}), PORK2: frozenset({PIG})}
    assert made_from(view, [PIG, VEG]) == {PORK: frozenset({PIG}), PORK2: frozenset({PIG}), MIX: frozenset({VEG})}
    assert made_from(view, [PORK]) == {}


def test_school_supply_keeps_the_beijing_days_of_times_written_in_any_offset(store):
    """The store reads a coarse range of ship times as written; the period is still exact in Beijing days: a time
    written in UTC the evening before the first day is in it, one written in UTC on the evening of the last day is
    not (the next Beijing day), and so for a central distributor's schools."""
    from ontology.records import Delivery

    store.write(network() + [
        Delivery(id="d-early", lot_id=PORK, sender_id=DIST, receiver_id=SCHOOL1, time="2026-02-28T17:00:00Z"),
        Delivery(id="d-late", lot_id=PORK, sender_id=DIST, receiver_id=SCHOOL1, time="2026-03-31T16:30:00Z"),
        Delivery(id="d-before", lot_id=PORK, sender_id=DIST, receiver_id=SCHOOL1, time="2026-02-28T15:59:00Z")])
    rows = school_supply(ReadView(store), school_ids=[SCHOOL1], since=dt.date(2026, 3, 1),
                         until=dt.date(2026, 3, 31))
    assert [r.delivery_id for r in rows] == ["d-early", "d3"]
    served = school_supply(ReadView(store), distributor=DIST, since=dt.date(2026, 3, 31), until=dt.date(2026, 4, 1))
    assert [r.delivery_id for r in served] == ["d-late"]
