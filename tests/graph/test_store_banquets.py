"""The store contract for rural banquets: chefs, registrations, guidance visits and census counts (per backend)."""

from __future__ import annotations

from ontology.records import Banquet, BanquetCensus, BanquetGuidance, Chef, Operator

D = "urn:foodtrace:region:320614"


def records():
    return [
        Chef(id="urn:foodtrace:chef:c1", name="王师傅", district_id=D, township="三厂街道", phone="13800000000",
             health_cert_no="JK-1", health_cert_expiry="2027-01-31", trained="2026-05-01", training="乡村厨师培训",
             registered="2026-01-05"),
        Operator(id="urn:foodtrace:operator:banquet:JC-1", kind="RuralBanquet", name="张某家婚宴", region_id=D),
        Banquet(id="urn:foodtrace:banquet:JC-1", number="JC-1", station_id="urn:foodtrace:operator:banquet:JC-1",
                host="张某", host_phone="13900000000", kind="婚宴", date="2026-10-01", place="海门区三厂街道某村",
                district_id=D, township="三厂街道", guests=240, tables=24, chef_id="urn:foodtrace:chef:c1",
                menu="红烧肉；清蒸鱼", sources="海门农贸市场", registered="2026-09-20T09:00:00+08:00",
                registered_by="三厂所"),
        BanquetGuidance(id="urn:foodtrace:banquet_guidance:JC-1/1", banquet_id="urn:foodtrace:banquet:JC-1",
                        date="2026-10-01", by="李四", checked="健康证、食材票据、留样", problems="无留样柜",
                        rectified=True, note=""),
        BanquetCensus(id="urn:foodtrace:banquet_census:320614:2026-10", district_id=D, month="2026-10", expected=35,
                      source="村级摸底"),
    ]


def test_round_trip_every_field(store):
    recs = records()
    store.write(recs)
    for rec in recs:
        got = store.get(rec.table, rec.id)
        assert got == rec or (rec.table == "banquet_guidance" and got.note in (None, ""))
    assert store.write(recs).total_changed == 0


def test_scans_by_district_and_banquet(store):
    store.write(records())
    assert [b.number for b in store.scan("banquet", {"district_id": D})] == ["JC-1"]
    assert [g.by for g in store.scan("banquet_guidance", {"banquet_id": "urn:foodtrace:banquet:JC-1"})] == ["李四"]
    assert store.resolve("urn:foodtrace:banquet:JC-1") == "urn:foodtrace:banquet:JC-1"
