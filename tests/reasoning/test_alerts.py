"""Early warnings on hand-made records: repeat failures (batches, not rows; disputed left out), overdue
核查处置 and its completion rate, suppliers whose buyers' failures cluster."""

from __future__ import annotations

import pytest

from graph.view import ReadView
from ontology.errors import FoodtraceError
from ontology.records import Delivery, Lot, Operator, Product, Sample, TestResult
from ontology.times import default_as_of
from reasoning.alerts import Alert, AlertRules, DisposalSummary, alerts, alerts_by_operator, \
    disposal_summary

AS_OF = "2026-03-01"
MAKER = "urn:foodtrace:operator:maker"
SHOP1, SHOP2, SHOP3 = (f"urn:foodtrace:operator:shop{i}" for i in (1, 2, 3))
MILK = "urn:foodtrace:product:milk"


def ops():
    return [Operator(id=MAKER, kind="Producer", name="南通某乳业有限公司"),
            Operator(id=SHOP1, kind="Supermarket", name="甲超市"),
            Operator(id=SHOP2, kind="Supermarket", name="乙超市"),
            Operator(id=SHOP3, kind="Restaurant", name="丙饭店"),
            Product(id=MILK, name="纯牛奶", category="dairy", producer_id=MAKER)]


def sample(sid: str, day: str, *, batch: str | None = None, conclusion: str = "nonconforming", **kw) -> Sample:
    fields = dict(id=sid, plan="supervisory", sampled_id=SHOP1, producer_id=MAKER, product_id=MILK,
                  product_name="纯牛奶", category="dairy", batch=batch, sampled_at=day, conclusion=conclusion)
    fields.update(kw)
    return Sample(**fields)


def run(store, records, **kw):
    store.write(records)
    return alerts(ReadView(store), as_of=kw.pop("as_of", AS_OF), **kw)


def repeat(found):
    return [a for a in found if a.kind == "repeat_failure"]


# -- repeat failures -----------------------------------------------------------------------------------


def test_two_batches_warn(store):
    found = run(store, ops() + [sample("s1", "2025-06-01", batch="20250520"),
                                sample("s2", "2025-09-01", batch="20250815", sampled_id=SHOP2),
                                sample("ok", "2025-10-01", batch="20250901", conclusion="conforming")])
    assert found == [Alert(
        kind="repeat_failure", level="warning", operator_ids=(MAKER,), product=MILK, sample_ids=("s1", "s2"),
        message="预警：南通某乳业有限公司生产的纯牛奶近12个月（2025-03-01至2026-02-28）有2个批次抽检不合格（样品 s1、s2），"
                "再有1个批次不合格即触及“同一企业同一产品3批次不合格”红线。",
        message_en="Warning: 2 batches of 纯牛奶 made by 南通某乳业有限公司 failed in the 12 months from 2025-03-01 to "
                   "2026-02-28 (samples s1, s2); 1 more and the red line of 3 batches is reached.",
        count=2, first="2025-06-01", last="2025-09-01", category="dairy", product_name="纯牛奶")]


def test_three_batches_reach_the_red_line(sqlite_store):
    found = run(sqlite_store, ops() + [sample("s1", "2025-06-01", batch="B1"), sample("s2", "2025-09-01", batch="B2"),
                                       sample("s3", "2026-02-28", batch="B3")])
    assert [(a.level, a.count, a.sample_ids) for a in found] == [("red_line", 3, ("s1", "s2", "s3"))]
    assert found[0].message.startswith("红线：南通某乳业有限公司生产的纯牛奶近12个月（2025-03-01至2026-02-28）有3个批次抽检不合格")
    assert "已触及“同一企业同一产品3批次不合格”红线" in found[0].message


def test_a_result_counts_from_its_announcement_and_food_related_products_not_at_all(sqlite_store):
    """As of 2026-03-01 a batch sampled in February but announced on 10 March is not known yet (no look-ahead,
    ontology.times.known_day); failed batches of a food-related product (a detergent) never reach the red line."""
    soap = dict(product_id=None, product_name="手洗餐具用洗涤剂", category=None, food_related=True)
    found = run(sqlite_store, ops() + [
        sample("s1", "2025-06-01", batch="B1"), sample("s2", "2025-09-01", batch="B2"),
        sample("s3", "2026-02-20", batch="B3", announced="2026-03-10"),
        sample("d1", "2025-06-01", batch="D1", **soap), sample("d2", "2025-07-01", batch="D2", **soap),
        sample("d3", "2025-08-01", batch="D3", **soap)])
    assert [(a.level, a.count, a.sample_ids) for a in repeat(found)] == [("warning", 2, ("s1", "s2"))]
    later = alerts(ReadView(sqlite_store), as_of="2026-03-11")
    assert [(a.level, a.count) for a in repeat(later)] == [("red_line", 3)]


def test_samples_are_counted_not_result_rows(sqlite_store):
    """One sample failing three items is one failure: two samples make a warning, not a red line."""
    rows = [TestResult(id=f"s1-{i}", sample_id="s1", item=item, conclusion="nonconforming")
            for i, item in enumerate(["菌落总数", "大肠菌群", "蛋白质"])]
    found = run(sqlite_store, ops() + rows + [sample("s1", "2025-06-01", batch="B1"),
                                              sample("s2", "2025-07-01", batch="B2")])
    assert [(a.level, a.count, a.sample_ids) for a in found] == [("warning", 2, ("s1", "s2"))]


def test_batches_are_counted_not_samples(sqlite_store):
    """Two samples of one batch (normalised) are one batch; a lot stands in for a missing batch; a sample
    with neither counts once."""
    recs = ops() + [sample("s1", "2025-06-01", batch="2025-05-20"), sample("s2", "2025-06-03", batch=" 2025-05-20",
                                                                          sampled_id=SHOP2),
                    sample("s3", "2025-07-01", lot_id="urn:foodtrace:lot:x"),
                    sample("s4", "2025-07-02", lot_id="urn:foodtrace:lot:x", sampled_id=SHOP2)]
    found = run(sqlite_store, recs)
    assert [(a.level, a.count, a.sample_ids) for a in repeat(found)] == [("warning", 2, ("s1", "s2", "s3", "s4"))]
    sqlite_store.write([sample("s5", "2025-08-01"), sample("s6", "2025-08-01")])
    again = alerts(ReadView(sqlite_store), as_of=AS_OF)
    assert [(a.level, a.count) for a in repeat(again)] == [("red_line", 4)]


def test_disputed_samples_are_left_out(sqlite_store):
    found = run(sqlite_store, ops() + [sample("s1", "2025-06-01", batch="B1"), sample("s2", "2025-09-01", batch="B2"),
                                       sample("s3", "2025-10-01", batch="B3", disputed=True,
                                              remark="经核查，标称生产企业否认生产该批次产品")])
    assert [(a.level, a.count, a.sample_ids) for a in found] == [("warning", 2, ("s1", "s2"))]


def test_period_producer_and_product_bound_the_count(sqlite_store):
    recs = ops() + [
        sample("old", "2025-02-28", batch="B0"),                    # before the 12 months
        sample("s1", "2025-03-01", batch="B1"),                     # first day of the period
        sample("late", "2026-03-01", batch="B9"),                   # on as_of: not known yet
        sample("other", "2025-05-01", batch="B2", product_id="urn:foodtrace:product:yoghurt", product_name="酸奶"),
        sample("nomaker", "2025-05-01", batch="B3", producer_id=None),
        sample("undated", None, batch="B4", announced=None),
        sample("announced", None, batch="B5", announced="2025-12-01"),  # dated by its announcement
    ]
    found = run(sqlite_store, recs)
    assert [(a.count, a.sample_ids) for a in repeat(found)] == [(2, ("s1", "announced"))]
    six = alerts(ReadView(sqlite_store), as_of=AS_OF, rules=AlertRules(period_months=6))
    assert repeat(six) == []


def test_product_without_id_is_matched_by_its_name(sqlite_store):
    found = run(sqlite_store, ops() + [sample("s1", "2025-06-01", batch="B1", product_id=None, product_name="纯 牛奶"),
                                       sample("s2", "2025-07-01", batch="B2", product_id=None, product_name="纯牛奶")])
    assert [(a.product, a.product_name, a.sample_ids) for a in found] == [("name:纯牛奶", "纯 牛奶", ("s1", "s2"))]


# -- overdue disposal ------------------------------------------------------------------------------------


def test_overdue_disposal(sqlite_store):
    recs = ops() + [
        sample("due-open", "2025-12-01", disposal_due="2026-01-01"),                             # overdue 59 days
        sample("due-done", "2025-12-01", disposal_due="2026-01-01", disposal_done="2026-01-10"),  # done (late)
        sample("done-after", "2025-12-02", disposal_due="2026-01-01", disposal_done="2026-03-05",
               sampled_id=SHOP2, producer_id=None),                                              # not done by as_of
        sample("due-today", "2026-01-30", disposal_due="2026-03-01"),                            # not yet overdue
        sample("no-due", "2026-01-30"),
        sample("fine", "2025-12-01", conclusion="conforming", disposal_due="2026-01-01"),
    ]
    found = [a for a in run(sqlite_store, recs) if a.kind == "overdue_disposal"]
    assert [(a.sample_ids, a.operator_ids, a.count, a.first, a.last, a.level) for a in found] == [
        (("due-open",), (SHOP1, MAKER), 59, "2025-12-01", "2026-01-01", "overdue"),
        (("done-after",), (SHOP2,), 59, "2025-12-02", "2026-01-01", "overdue"),
    ]
    assert found[0].message == ("逾期：甲超市的纯牛奶（样品 due-open，抽样日期 2025-12-01）抽检不合格，"
                                "核查处置期限 2026-01-01 已过 59 天仍未完成。")
    summary = disposal_summary(ReadView(sqlite_store), as_of=AS_OF)
    assert summary == DisposalSummary(as_of=AS_OF, start="2025-03-01", nonconforming=5, due=3, completed=1,
                                      completed_late=1, overdue=2, pending=1, no_deadline=1, rate=0.3333)
    # a default deadline (days after the sample date) for samples without one
    rules = AlertRules(default_disposal_days=20)
    later = [a.sample_ids for a in alerts(ReadView(sqlite_store), as_of="2026-03-02", rules=rules)
             if a.kind == "overdue_disposal"]
    assert later == [("due-open",), ("due-today",), ("no-due",), ("done-after",)]  # by operator, then sample


# -- supplier clusters -----------------------------------------------------------------------------------

WHOLESALER = "urn:foodtrace:operator:wholesaler"
PORK = "urn:foodtrace:product:pork"
CABBAGE = "urn:foodtrace:product:cabbage"


def network():
    return ops() + [
        Operator(id=WHOLESALER, kind="Distributor", name="丁配送中心"),
        Product(id=PORK, name="猪肉", category="pork"), Product(id=CABBAGE, name="青菜", category="leafy_vegetable"),
        Lot(id="pork-1", product_id=PORK), Lot(id="pork-2", product_id=PORK), Lot(id="cab-1", product_id=CABBAGE),
        Delivery(id="d1", lot_id="pork-1", sender_id=WHOLESALER, receiver_id=SHOP1, time="2026-01-02T06:00:00+08:00",
                 quantity=10, unit="KGM"),
        Delivery(id="d2", lot_id="pork-2", sender_id=WHOLESALER, receiver_id=SHOP2, time="2026-01-05T06:00:00+08:00",
                 quantity=10, unit="KGM"),
        Delivery(id="d3", lot_id="cab-1", sender_id=WHOLESALER, receiver_id=SHOP3, time="2026-01-05T06:00:00+08:00",
                 quantity=10, unit="KGM"),
    ]


def pork_sample(sid: str, shop: str, day: str, **kw) -> Sample:
    fields = dict(id=sid, plan="monitoring", sampled_id=shop, producer_id=None, product_id=PORK, product_name="猪肉",
                  category="pork", sampled_at=day, conclusion="nonconforming")
    fields.update(kw)
    return Sample(**fields)


def clusters(found):
    return [a for a in found if a.kind == "supplier_cluster"]


def test_buyers_failures_cluster_at_their_supplier(store):
    recs = network() + [pork_sample("p1", SHOP1, "2026-01-10"), pork_sample("p2", SHOP2, "2026-01-20"),
                        pork_sample("v3", SHOP3, "2026-01-12", product_id=CABBAGE, product_name="青菜",
                                    category="leafy_vegetable")]
    found = run(store, recs)
    assert found == [Alert(
        kind="supplier_cluster", level="cluster", operator_ids=(WHOLESALER, SHOP1, SHOP2), product=None,
        sample_ids=("p1", "p2"),
        message="聚集：丁配送中心的2家下游单位（甲超市、乙超市）在2026-01-10至2026-01-20期间猪肉抽检不合格（样品 p1、p2），"
                "请排查共同来源。",
        message_en="Cluster: 2 buyers of 丁配送中心 had nonconforming Pork samples between 2026-01-10 and 2026-01-20 "
                   "(samples p1, p2); check the common source.",
        count=2, first="2026-01-10", last="2026-01-20", category="pork", product_name=None)]
    assert alerts_by_operator(found)[SHOP2] == found


def test_no_cluster_when_too_far_apart_too_early_or_disputed(sqlite_store):
    base = network()
    far = run(sqlite_store, base + [pork_sample("p1", SHOP1, "2026-01-10"), pork_sample("p2", SHOP2, "2026-02-25")])
    assert clusters(far) == []          # 46 days apart (the supplier's delivery to shop2 is also > 30 days old)
    wide = alerts(ReadView(sqlite_store), as_of=AS_OF, rules=AlertRules(cluster_days=60, supply_days=60))
    assert [a.sample_ids for a in clusters(wide)] == [("p1", "p2")]
    sqlite_store.clear()
    before = run(sqlite_store, base + [pork_sample("p1", SHOP1, "2026-01-01"), pork_sample("p2", SHOP2, "2026-01-06")])
    assert clusters(before) == []       # shop1 was sampled before the supplier's delivery arrived
    sqlite_store.clear()
    disputed = run(sqlite_store, base + [pork_sample("p1", SHOP1, "2026-01-10"),
                                         pork_sample("p2", SHOP2, "2026-01-12", disputed=True)])
    assert clusters(disputed) == []


def test_a_sample_with_a_lot_is_attributed_to_that_lot_only(sqlite_store):
    recs = network() + [
        Delivery(id="d4", lot_id="pork-3", sender_id="urn:foodtrace:operator:other", receiver_id=SHOP2,
                 time="2026-01-06T06:00:00+08:00", quantity=5, unit="KGM"),
        Lot(id="pork-3", product_id=PORK),
        pork_sample("p1", SHOP1, "2026-01-10"), pork_sample("p2", SHOP2, "2026-01-12", lot_id="pork-3")]
    assert clusters(run(sqlite_store, recs)) == []
    sqlite_store.write([pork_sample("p2", SHOP2, "2026-01-12", lot_id="pork-2")])
    assert [a.operator_ids for a in clusters(alerts(ReadView(sqlite_store), as_of=AS_OF))] == [(WHOLESALER, SHOP1, SHOP2)]


def test_the_named_producer_is_a_supplier(sqlite_store):
    """Two shops fail on one batch of one maker: one batch (no repeat warning), but a cluster at the maker."""
    found = run(sqlite_store, ops() + [sample("s1", "2026-01-10", batch="B1"),
                                       sample("s2", "2026-01-15", batch="B1", sampled_id=SHOP2)])
    assert [(a.kind, a.operator_ids, a.sample_ids, a.category) for a in found] == [
        ("supplier_cluster", (MAKER, SHOP1, SHOP2), ("s1", "s2"), "dairy")]


# -- ordering, defaults, bad input ----------------------------------------------------------------------


def test_order_and_default_as_of(sqlite_store):
    recs = network() + [sample("s1", "2025-06-01", batch="B1"), sample("s2", "2025-09-01", batch="B2"),
                        sample("s3", "2025-10-01", batch="B3"),
                        sample("open", "2025-12-01", disposal_due="2026-01-01", product_id=None, product_name="奶粉",
                               producer_id=None),
                        pork_sample("p1", SHOP1, "2026-01-10"), pork_sample("p2", SHOP2, "2026-01-20")]
    sqlite_store.write(recs)
    view = ReadView(sqlite_store)
    assert str(default_as_of(view)) == "2026-01-21"
    found = alerts(view)
    assert [a.level for a in found] == ["red_line", "overdue", "cluster"]
    assert [a.to_dict()["sample_ids"] for a in found] == [["s1", "s2", "s3"], ["open"], ["p1", "p2"]]


def test_bad_input_is_rejected(sqlite_store):
    with pytest.raises(FoodtraceError, match="is not a date"):
        alerts(ReadView(sqlite_store), as_of="yesterday")
    with pytest.raises(FoodtraceError, match="warning batches"):
        AlertRules(warning_batches=3, red_line_batches=2)
    with pytest.raises(FoodtraceError, match="at least 1 month"):
        AlertRules(period_months=0)
    assert alerts(ReadView(sqlite_store), as_of=AS_OF) == []
