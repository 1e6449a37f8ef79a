"""Exact traces on small hand-made networks (embedded store; the backends test compares with Neo4j)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ontology.times import BEIJING
from graph.view import ReadView
from ontology.errors import NotFound
from ontology.records import (
    Delivery, Event, Lot, Operator, Product, Retraction, Sample, TestResult, TraceCode, Transformation,
    TransformationItem,
)
from reasoning.trace import CERTAIN, POSSIBLE, TraceOptions, trace
from ontology.times import epoch

CN = BEIJING
T0 = datetime(2026, 3, 1, tzinfo=CN)


def at(day: float) -> str:
    """A time ``day`` days after 2026-03-01 00:00 Beijing time."""
    return (T0 + timedelta(days=day)).isoformat()


def dlv(i, lot, frm, to, day, **kw) -> Delivery:
    return Delivery(id=i, lot_id=lot, sender_id=frm, receiver_id=to, time=at(day), **kw)


def products() -> list:
    return [Product(id="p:pork", name="猪肉", category="pork"), Product(id="p:leafy", name="青菜", category="leafy_vegetable"),
            Product(id="p:pig", name="生猪", category="live_pig"), Product(id="p:meal", name="盒饭", category="prepared_food"),
            Product(id="p:salt", name="食盐", category="condiment")]


def lot(i, product, producer=None, day=None) -> Lot:
    return Lot(id=i, product_id=product, producer_id=producer, production_date=None if day is None else at(day)[:10])


def ids(items) -> list[str]:
    return sorted(x.id for x in items)


def tiers(items) -> dict[str, str]:
    return {x.id: x.tier for x in items}


@pytest.fixture
def view(sqlite_store):
    return sqlite_store, ReadView(sqlite_store)


# -- time order: what station-level BFS reaches and lot-level tracing excludes -------------------

def test_time_order_excludes_a_shop_station_bfs_reaches(view):
    s, v = view
    s.write([*products(), lot("A", "p:pork", "farm"), lot("B", "p:pork", "farm2"), lot("C", "p:pork"),
             dlv("d1", "A", "farm", "stall", 10.0),
             dlv("d0", "B", "farm2", "stall", 1.0),
             dlv("dB", "B", "stall", "shop1", 5.0),      # left before A arrived: B is not A
             dlv("dC", "C", "stall", "shop3", 5.0),      # an own lot (no source) shipped before A arrived
             dlv("dA", "A", "stall", "shop2", 12.0)])
    t = trace(v, "A", "down")
    assert ids(t.deliveries) == ["d1", "dA"]
    assert ids(t.stations) == ["shop2", "stall"]       # the farm is where A started, not where it went
    assert set(tiers(t.deliveries).values()) == {CERTAIN}
    # station-level BFS from the farm reaches every shop
    import networkx as nx
    g = nx.DiGraph([(d.sender_id, d.receiver_id) for d in s.scan("delivery")])
    assert {"shop1", "shop3"} <= nx.descendants(g, "farm")


def test_times_evidence_and_order(view):
    s, v = view
    s.write([*products(), lot("A", "p:pork", "farm", 9),
             dlv("d1", "A", "farm", "market", 10.0, received_time=at(10.5), ticket_id="tk1", certificate_id="c1"),
             dlv("d2", "A", "market", "shop", 11.0, quantity=20.0, unit="KGM")])
    t = trace(v, "A", "down")
    assert [(d.id, d.time, d.evidence) for d in t.deliveries] == [
        ("d1", at(10.0), ("d1",)), ("d2", at(11.0), ("d1", "d2"))]
    st = {x.id: (x.time, x.evidence) for x in t.stations}
    assert st["market"] == (at(10.5), ("d1",))      # arrival, by its receive time
    assert st["shop"] == (at(11.0), ("d1", "d2"))
    assert "farm" not in st
    assert [(x.id, x.time) for x in trace(v, "d2", "up").stations] == [("farm", at(10.0))]   # the market shipped d2: the start
    assert t.deliveries[0].ticket_id == "tk1" and t.deliveries[0].certificate_id == "c1"
    assert t.deliveries[1].max_quantity == 20.0
    assert "A" not in ids(t.lots)                     # the start item is not listed


# -- inferred links at a station without lot links ----------------------------------------------

def _stall_network(s):
    s.write([*products(), lot("A", "p:leafy", "farm"), lot("K1", "p:leafy"), lot("K2", "p:leafy"),
             lot("K3", "p:pork"), lot("B", "p:leafy", "farm2"),
             dlv("d1", "A", "farm", "stall", 10.0, quantity=50.0, unit="KGM"),
             dlv("dB", "B", "farm2", "stall", 9.0),
             dlv("dB2", "B", "stall", "canteen", 11.0),              # explained: B was received
             dlv("dk1", "K1", "stall", "restaurant", 11.0, quantity=80.0, unit="KGM"),   # own lot, in window
             dlv("dk2", "K2", "stall", "hotel", 14.0),               # leafy window is 3 days: out
             dlv("dk3", "K3", "stall", "school", 12.0, quantity=10.0, unit="KGM"),       # other category, in window
             dlv("dk1b", "K1", "restaurant", "branch", 12.0)])


def test_inferred_links_are_possible_and_windowed(view):
    s, v = view
    _stall_network(s)
    t = trace(v, "A", "down")
    assert ids(t.deliveries) == ["d1", "dk1", "dk1b", "dk3"]
    assert tiers(t.deliveries) == {"d1": CERTAIN, "dk1": POSSIBLE, "dk1b": POSSIBLE, "dk3": POSSIBLE}
    assert tiers(t.stations) == {"stall": CERTAIN, "restaurant": POSSIBLE, "branch": POSSIBLE, "school": POSSIBLE}
    by = {d.id: d for d in t.deliveries}
    assert by["dk1"].inferred and not by["dk1b"].inferred
    assert by["dk1"].max_quantity == 50.0           # no more than the stall received of A
    assert by["dk3"].max_quantity == 10.0
    assert by["dk1b"].evidence == ("d1", "dk1", "dk1b")
    assert tiers(t.lots) == {"K1": POSSIBLE, "K3": POSSIBLE}


def test_window_and_policy_options(view):
    s, v = view
    _stall_network(s)
    wide = trace(v, "A", "down", TraceOptions(windows={"leafy_vegetable": 5}))
    assert "dk2" in ids(wide.deliveries)
    narrow = trace(v, "A", "down", TraceOptions(may_contain={"leafy_vegetable": {"leafy_vegetable"}}))
    assert "dk3" not in ids(narrow.deliveries) and "dk1" in ids(narrow.deliveries)
    explicit = trace(v, "A", "down", TraceOptions(infer=False))
    assert ids(explicit.deliveries) == ["d1"]


def test_upstream_infers_the_sources_of_an_unexplained_lot(view):
    s, v = view
    _stall_network(s)
    t = trace(v, "dk1b", "up")
    # dk1b's K1 came to the restaurant by dk1; the stall has no record of K1: what it held within the window
    assert tiers(t.deliveries) == {"dk1": CERTAIN, "d1": POSSIBLE, "dB": POSSIBLE}
    assert ids(t.stations) == ["farm", "farm2", "stall"]   # the restaurant shipped dk1b: the start
    assert {x.id: x.tier for x in t.stations}["farm"] == POSSIBLE


# -- transformations and kill steps -----------------------------------------------------------

def _abattoir(s):
    s.write([*products(), lot("pig", "p:pig", "farm"), lot("carcass", "p:pork", "abattoir"),
             lot("cooked", "p:meal", "kitchen"), lot("cut", "p:pork", "abattoir"),
             dlv("d1", "pig", "farm", "abattoir", 1.0),
             Transformation(id="t1", station_id="abattoir", time=at(1.5), kind="slaughter"),
             TransformationItem(id="t1i", transformation_id="t1", lot_id="pig", role="input"),
             TransformationItem(id="t1o", transformation_id="t1", lot_id="carcass", role="output"),
             Transformation(id="t0", station_id="abattoir", time=at(0.5), kind="cutting"),   # before the pig came
             TransformationItem(id="t0i", transformation_id="t0", lot_id="pig", role="input"),
             TransformationItem(id="t0o", transformation_id="t0", lot_id="cut", role="output"),
             dlv("d2", "carcass", "abattoir", "kitchen", 2.0),
             Transformation(id="t2", station_id="kitchen", time=at(2.2), kind="heating"),
             TransformationItem(id="t2i", transformation_id="t2", lot_id="carcass", role="input"),
             TransformationItem(id="t2o", transformation_id="t2", lot_id="cooked", role="output"),
             dlv("d3", "cooked", "kitchen", "school", 2.4),
             dlv("d4", "carcass", "kitchen", "shop", 2.5)])


def test_transformations_carry_the_lot_in_time_order(view):
    s, v = view
    _abattoir(s)
    t = trace(v, "pig", "down")
    # the whole lot carries the hazard: a recorded transformation of it counts whenever it happened
    assert tiers(t.lots) == {"carcass": CERTAIN, "cooked": CERTAIN, "cut": CERTAIN}
    assert ids(t.deliveries) == ["d1", "d2", "d3", "d4"]
    assert {d.id: d.evidence for d in t.deliveries}["d3"] == ("d1", "d2", "d3")
    # what delivery d1 brought can only be in what was made after it arrived
    t = trace(v, "d1", "down")
    assert tiers(t.lots) == {"carcass": CERTAIN, "cooked": CERTAIN}


def test_kill_steps_cut_pathogens_not_residues(view):
    s, v = view
    _abattoir(s)
    micro = trace(v, "pig", "down", TraceOptions(hazard="microbial"))
    assert ids(micro.deliveries) == ["d1", "d2", "d4"]               # heating at the kitchen kills
    drug = trace(v, "pig", "down", TraceOptions(hazard="vet_drug"))
    assert ids(drug.deliveries) == ["d1", "d2", "d3", "d4"]
    killed = trace(v, "pig", "down", TraceOptions(hazard="microbial", kill=frozenset({"kitchen"})))
    assert ids(killed.deliveries) == ["d1", "d2"]
    ignored = trace(v, "pig", "down", TraceOptions(hazard="pesticide", kill=frozenset({"kitchen"})))
    assert ids(ignored.deliveries) == ["d1", "d2", "d3", "d4"]
    assert any("kill steps ignored" in n for n in ignored.notes)
    up = trace(v, "d3", "up", TraceOptions(hazard="microbial"))      # heat-treated food: not from the pig
    assert ids(up.deliveries) == []
    up_drug = trace(v, "d3", "up", TraceOptions(hazard="vet_drug"))
    assert ids(up_drug.deliveries) == ["d1", "d2"]
    assert tiers(up_drug.lots) == {"carcass": CERTAIN, "pig": CERTAIN}   # d3's own lot is the start's


def test_since_and_until(view):
    s, v = view
    _abattoir(s)
    t = trace(v, "pig", "down", TraceOptions(until=epoch(at(2.3))))
    assert ids(t.deliveries) == ["d1", "d2"]
    t = trace(v, "carcass", "down", TraceOptions(since=epoch(at(2.45))))
    assert ids(t.deliveries) == ["d4"]


# -- starts -------------------------------------------------------------------------------------

def test_starts_from_codes_samples_and_deliveries(view):
    s, v = view
    _stall_network(s)
    s.write([TraceCode(id="tc1", code="NT0001", lot_id="A"),
             Sample(id="s1", plan="supervisory", sampled_id="stall", product_name="青菜", lot_id="A",
                    sampled_at=at(10.6)[:10], conclusion="nonconforming"),
             TestResult(id="s1r", sample_id="s1", item="毒死蜱", hazard_class="pesticide", conclusion="nonconforming")])
    by_lot = trace(v, "A", "down").to_dict()
    assert trace(v, "NT0001", "down").to_dict()["deliveries"] == by_lot["deliveries"]
    assert trace(v, "tc1", "down").start.kind == "trace_code"
    sample = trace(v, "s1", "down")
    assert sample.start.kind == "sample" and sample.options.hazard == "pesticide"
    assert ids(sample.deliveries) == ids(trace(v, "A", "down").deliveries)
    up = trace(v, "s1", "up")
    assert ids(up.deliveries) == ["d1"] and ids(up.stations) == ["farm"]
    from_delivery = trace(v, "d1", "down")
    assert "d1" not in ids(from_delivery.deliveries) and "dk1" in ids(from_delivery.deliveries)
    with pytest.raises(NotFound, match="nowhere"):
        trace(v, "nowhere", "down")


def test_retracted_deliveries_are_not_followed(view):
    s, v = view
    s.write([*products(), lot("A", "p:pork", "farm"),
             dlv("d1", "A", "farm", "stall", 1.0, event_id="e1"),
             dlv("d2", "A", "stall", "shop", 2.0),
             Event(id="e1", hash="h1", type="ObjectEvent", time=at(1.0)),
             Retraction(id="r1", event_id="e1", declared=at(3.0), reason="incorrect_data")])
    t = trace(v, "A", "down")
    assert ids(t.deliveries) == ["d2"]


def test_json_shape(view):
    s, v = view
    s.write([*products(), Operator(id="stall", kind="Stall", name="张三摊位"), lot("A", "p:pork", "farm"),
             dlv("d1", "A", "farm", "stall", 1.0)])
    d = trace(v, "A", "down").to_dict()
    assert set(d) >= {"lots", "deliveries", "stations", "start", "options", "counts"}
    st = {x["id"]: x for x in d["stations"]}["stall"]
    assert {k: st[k] for k in ("id", "aliases", "tier", "time", "evidence", "name", "kind")} == {
        "id": "stall", "aliases": [], "tier": "certain", "time": at(1.0), "evidence": ["d1"], "name": "张三摊位",
        "kind": "Stall"}


# -- likelihood ---------------------------------------------------------------------------------

def _mixing_stall(s):
    """A stall receives 30 kg of lot A and 10 kg of lot C, then sells its own lot K (no record of what went in)
    to a restaurant, which passes it on."""
    s.write([*products(), lot("A", "p:pork", "farm"), lot("C", "p:pork", "farm2"), lot("K", "p:pork"),
             dlv("dA", "A", "farm", "stall", 10.0, quantity=30.0, unit="KGM"),
             dlv("dC", "C", "farm2", "stall", 10.2, quantity=10.0, unit="KGM"),
             dlv("dK", "K", "stall", "restaurant", 11.0, quantity=20.0, unit="KGM"),
             dlv("dK2", "K", "restaurant", "canteen", 11.5, quantity=5.0, unit="KGM")])


def test_a_possible_item_has_the_share_of_what_the_station_held(view):
    s, v = view
    _mixing_stall(s)
    s.write([dlv("dA0", "A", "farm", "stall", 10.1, quantity=5.0, unit="KGM")])   # a second delivery of A
    down = trace(v, "A", "down")
    assert [(d.id, d.tier, round(d.likelihood, 6)) for d in down.deliveries] == [
        ("dA", CERTAIN, 1.0), ("dA0", CERTAIN, 1.0), ("dK", POSSIBLE, 0.666667), ("dK2", POSSIBLE, 0.666667)]
    assert {x.id: round(x.likelihood, 6) for x in down.lots} == {"K": 0.666667}
    assert {x.id: round(x.likelihood, 6) for x in down.stations} == {
        "stall": 1.0, "restaurant": 0.666667, "canteen": 0.666667}
    assert down.deliveries[2].inferred and not down.deliveries[3].inferred
    assert down.deliveries[2].max_quantity == 20.0           # no more than the 35 kg of A the stall received
    up = trace(v, "dK2", "up")
    assert [(d.id, round(d.likelihood, 6)) for d in up.deliveries] == [
        ("dK", 1.0), ("dA0", 0.666667), ("dA", 0.666667), ("dC", 0.333333)]   # up: the latest first
    assert up.to_dict()["deliveries"][1]["likelihood"] == up.deliveries[1].likelihood


def test_likelihood_and_inferred_links_cut_possible_paths_only(view):
    s, v = view
    _mixing_stall(s)
    assert [d.id for d in trace(v, "C", "down", TraceOptions(min_likelihood=0.6)).deliveries] == ["dC"]
    assert [d.id for d in trace(v, "A", "down", TraceOptions(min_likelihood=0.5)).deliveries] == ["dA", "dK", "dK2"]
    assert [d.id for d in trace(v, "A", "down", TraceOptions(max_inferred=0)).deliveries] == ["dA"]
    assert [d.id for d in trace(v, "dK2", "up", TraceOptions(min_likelihood=0.6)).deliveries] == ["dK"]


def test_since_and_until_bound_transformations(view):
    s, v = view
    _abattoir(s)
    t = trace(v, "pig", "down", TraceOptions(until=epoch(at(1.2))))
    assert ids(t.lots) == ["cut"] and ids(t.deliveries) == ["d1"]   # the slaughter at day 1.5 is after until
    up = trace(v, "d4", "up", TraceOptions(since=epoch(at(1.8))))
    assert ids(up.deliveries) == ["d2"] and "pig" not in ids(up.lots)


def test_what_the_records_show_leaving_is_not_held(view):
    """A lot the stall shipped on as itself (or used in a recorded transformation) is held only for the part
    the records do not show leaving: all of A shipped on, none of it can be in K; half of it, half."""
    s, v = view
    _mixing_stall(s)
    s.write([dlv("dA2", "A", "stall", "shop", 10.5, quantity=30.0, unit="KGM")])
    assert "K" not in ids(trace(v, "A", "down").lots)
    assert {d.id: d.likelihood for d in trace(v, "dK", "up").deliveries} == {"dC": 1.0}
    s.write([dlv("dA2", "A", "stall", "shop", 10.5, quantity=15.0, unit="KGM")])
    assert {x.id: x.likelihood for x in trace(v, "A", "down").lots} == {"K": 0.5 / 1.5}   # half of A, all of C
