"""Rural banquets: registration rules, reminders, district statistics, and a banquet as a station traces reach
(both backends)."""

from __future__ import annotations

import datetime as dt

import pytest

from graph.view import ReadView
from ontology import rdf
from ontology.errors import InvalidRecord
from ontology.records import BanquetCensus, Delivery, Lot, Operator, Product
from reasoning.banquets import district_stats, new_banquet, new_chef, new_guidance, reminders
from reasoning.outbreak import Case, rank_sources
from reasoning.trace import trace

HM = "urn:foodtrace:region:320614"      # 海门区
RG = "urn:foodtrace:region:320682"      # 如皋市
NOW = "2026-09-20T09:00:00+08:00"


def _chef(view, **kw):
    args = dict(name="王师傅", district=HM, health_cert_expiry="2026-10-15", health_cert_no="JK-1")
    return new_chef(view, **{**args, **kw})


def _banquet(view, number="JC-1", **kw):
    args = dict(number=number, host="张某", date="2026-10-01", place="海门区三厂街道某村", district=HM, guests=240,
                registered=NOW, kind="婚宴")
    return new_banquet(view, **{**args, **kw})


def test_a_registration_is_a_station_and_a_banquet(store):
    view = ReadView(store)
    chef = _chef(view)
    store.write([chef])
    station, banquet = _banquet(view, chef=chef.id, menu="红烧肉", sources="海门农贸市场")
    assert (station.kind, station.id, banquet.station_id, banquet.chef_id) == (
        "RuralBanquet", "urn:foodtrace:operator:banquet:JC-1", station.id, chef.id)
    store.write([station, banquet])
    assert store.get("banquet", banquet.id) == banquet
    conforms, text = rdf.validate(rdf.to_graph([chef, station, banquet]))
    assert conforms, text


@pytest.mark.parametrize("change, message", [
    ({"date": "2026-09-19"}, "before it is registered"),            # a banquet dated in the past
    ({"guests": 0}, "at least 1"),
    ({"chef": "urn:foodtrace:chef:nobody"}, "not in the register"),
])
def test_bad_registrations_are_refused(store, change, message):
    with pytest.raises(InvalidRecord, match=message):
        _banquet(ReadView(store), **change)


def test_a_chef_without_a_certificate_date_is_refused_and_one_expired_by_the_day_cannot_cook(store):
    view = ReadView(store)
    with pytest.raises(InvalidRecord, match="健康证有效期至"):
        _chef(view, health_cert_expiry=None)
    with pytest.raises(InvalidRecord, match="not a date|date"):
        _chef(view, health_cert_expiry="明年")
    chef = _chef(view, health_cert_expiry="2026-09-30")
    store.write([chef])
    with pytest.raises(InvalidRecord, match="health certificate expires on 2026-09-30, before the banquet"):
        _banquet(view, chef=chef.id)
    store.write(_banquet(view, number="JC-1"))
    with pytest.raises(InvalidRecord, match="already registered"):
        _banquet(view, number="JC-1")
    assert [b.number for b in store.scan("banquet")] == ["JC-1"]


def test_reminders_expiring_and_expired_certificates_and_unguided_large_banquets(store):
    view = ReadView(store)
    soon, gone = _chef(view), _chef(view, name="李师傅", health_cert_no="JK-2", health_cert_expiry="2026-09-01")
    store.write([soon, gone])
    store.write(_banquet(view, "JC-1") + _banquet(view, "JC-2", guests=80) + _banquet(view, "JC-3", date="2026-10-05")
                + _banquet(view, "JC-9", date="2026-12-25"))
    store.write([new_guidance(view, banquet="urn:foodtrace:banquet:JC-3", date="2026-10-05", by="李四",
                              checked="健康证、留样", rectified=True)])
    got = [(r.kind, r.due, r.chef_id or r.banquet_id) for r in reminders(view, as_of=dt.date(2026, 9, 25))]
    assert got == [("chef_certificate_expired", "2026-09-01", gone.id),
                   ("large_banquet_unguided", "2026-10-01", "urn:foodtrace:banquet:JC-1"),
                   ("chef_certificate_expiring", "2026-10-15", soon.id)]
    [expiring] = [r for r in reminders(view, as_of=dt.date(2026, 9, 25)) if r.kind == "chef_certificate_expiring"]
    assert "健康证将于2026-10-15到期（20天后）" in expiring.message
    held = reminders(view, as_of=dt.date(2026, 10, 3), days=0)
    assert [(r.kind, r.banquet_id) for r in held if r.banquet_id] == [("large_banquet_unguided",
                                                                        "urn:foodtrace:banquet:JC-1")]
    assert "已举办，未进行现场指导" in held[-1].message or any("已举办" in r.message for r in held)


def test_guidance_after_the_banquet_or_without_a_name_is_refused(store):
    view = ReadView(store)
    store.write(_banquet(view))
    with pytest.raises(InvalidRecord, match="comes after banquet JC-1"):
        new_guidance(view, banquet="urn:foodtrace:banquet:JC-1", date="2026-10-05", by="李四")
    with pytest.raises(InvalidRecord, match="指导人员"):
        new_guidance(view, banquet="urn:foodtrace:banquet:JC-1", date="2026-10-01", by=" ")


def test_district_statistics_against_the_census(store):
    view = ReadView(store)
    store.write(_banquet(view, "JC-1") + _banquet(view, "JC-2", guests=50) + _banquet(view, "JC-3", date="2026-11-02")
                + _banquet(view, "RG-1", district=RG, place="如皋某村", guests=300))
    store.write([new_guidance(view, banquet="urn:foodtrace:banquet:JC-1", date="2026-10-01", by="李四"),
                 BanquetCensus(id="c1", district_id=HM, month="2026-10", expected=4),
                 BanquetCensus(id="c2", district_id=HM, month="2026-11", expected=10),
                 BanquetCensus(id="c3", district_id=RG, month="2026-10", expected=2)])
    stats = {s.district_id: s for s in district_stats(view, since=dt.date(2026, 10, 1), until=dt.date(2026, 10, 31))}
    hm = stats[HM]
    assert (hm.registered, hm.expected, hm.rate, hm.guests, hm.large, hm.large_guided, hm.guided) == (
        2, 4, 0.5, 290, 1, 1, 1)
    assert (stats[RG].registered, stats[RG].expected, stats[RG].large, stats[RG].large_guided) == (1, 2, 1, 0)


def test_a_banquet_is_a_station_traces_reach_and_outbreaks_start_from(store):
    view = ReadView(store)
    station, banquet = _banquet(view)
    store.write([station, banquet,
                 Operator(id="m", kind="FarmersMarket", name="三厂农贸市场", region_id=HM),
                 Operator(id="f", kind="Farm", name="某禽场", region_id=HM),
                 Product(id="p", name="白条鸡", category="poultry"), Lot(id="L", product_id="p", producer_id="f"),
                 Delivery(id="d1", lot_id="L", sender_id="f", receiver_id="m", time="2026-09-29T06:00:00+08:00"),
                 Delivery(id="d2", lot_id="L", sender_id="m", receiver_id=station.id,
                          time="2026-09-30T08:00:00+08:00")])
    assert station.id in {s.id for s in trace(view, "L", "down").stations}
    assert {d.id for d in trace(view, station.id, "up").deliveries} == {"d1", "d2"}
    # the guests fell ill: an outbreak ranking starts from the banquet's station
    ranking = rank_sources(view, [Case(station.id, weight=12, date="2026-10-02")])
    assert [(x.id, x.rank) for x in ranking.lots] == [("L", 1)]
