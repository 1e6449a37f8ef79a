"""The same records in the embedded store and in Neo4j give identical traces (``Trace.to_dict()`` equal).

The ``store`` fixture runs each test on both backends; the reference is always a fresh embedded store
holding the same records (on the sqlite leg the test compares two embedded stores, on the neo4j leg the
two backends). Run the Neo4j leg with ``NEO4J_URI=bolt://127.0.0.1:<port>``.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from graph.store import open_store
from graph.view import ReadView
from ontology.records import (
    RECORD_TYPES, Alias, Delivery, Event, Lot, Operator, Product, Retraction, Sample, TestResult, TraceCode,
    Transformation, TransformationItem,
)
from reasoning.trace import TraceOptions, Tracer, trace
from ontology.times import epoch

from .oracle import at_hour, random_network

D = 24.0


def _dlv(i, lot, frm, to, hour, **kw) -> Delivery:
    return Delivery(id=i, lot_id=lot, sender_id=frm, receiver_id=to, time=at_hour(hour), **kw)


def hand_made() -> list:
    """A pig farm, an abattoir, a wholesale market stall without lot links, a kitchen that cooks, shops, a
    retracted delivery, aliases, a trace code and a failed sample."""
    return [
        Operator(id="farm", kind="Farm", name="通州生猪养殖场", region_id="320612"),
        Operator(id="abattoir", kind="Slaughterhouse", name="南通肉联厂", region_id="320602"),
        Operator(id="stall", kind="Stall", name="张三摊位"), Operator(id="kitchen", kind="Canteen", name="实验小学食堂"),
        Operator(id="shop", kind="Supermarket", name="文峰超市"), Operator(id="veg", kind="Farm", name="蔬菜基地"),
        Product(id="p:pig", name="生猪", category="live_pig"), Product(id="p:pork", name="猪肉", category="pork"),
        Product(id="p:leafy", name="青菜", category="leafy_vegetable"),
        Product(id="p:meal", name="盒饭", category="prepared_food"),
        Lot(id="pig", product_id="p:pig", producer_id="farm", production_date="2026-02-20", lot_number="YZ001"),
        Lot(id="carcass", product_id="p:pork", producer_id="abattoir"), Lot(id="meal", product_id="p:meal"),
        Lot(id="greens", product_id="p:leafy", producer_id="veg", production_date="2026-03-02"),
        Lot(id="own", product_id="p:pork"),
        _dlv("d1", "pig", "farm", "abattoir", 0, quantity=10.0, unit="H87", ticket_id="tk1", certificate_id="c1"),
        Transformation(id="t1", station_id="abattoir", time=at_hour(6), kind="slaughter"),
        TransformationItem(id="t1i", transformation_id="t1", lot_id="pig", role="input", quantity=10.0, unit="H87"),
        TransformationItem(id="t1o", transformation_id="t1", lot_id="carcass", role="output", quantity=800.0,
                           unit="KGM"),
        _dlv("d2", "carcass", "abattoir", "stall", 1 * D, received_time=at_hour(1 * D + 2), quantity=200.0, unit="KGM",
             trace_code="NT-0002"),
        _dlv("d3", "greens", "veg", "stall", 1.5 * D, quantity=50.0, unit="KGM"),
        _dlv("d4", "own", "stall", "shop", 2 * D, quantity=30.0, unit="KGM"),          # no lot link: inferred
        _dlv("d5", "carcass", "abattoir", "kitchen", 1 * D, quantity=100.0, unit="KGM"),
        Transformation(id="t2", station_id="kitchen", time=at_hour(1 * D + 5), kind="heating"),
        TransformationItem(id="t2i", transformation_id="t2", lot_id="carcass", role="input"),
        TransformationItem(id="t2o", transformation_id="t2", lot_id="meal", role="output"),
        _dlv("d6", "meal", "kitchen", "shop", 1 * D + 8),
        _dlv("d7", "carcass", "stall", "shop", 3 * D, event_id="e7"),                 # retracted
        Event(id="e7", hash="h7", type="ObjectEvent", time=at_hour(3 * D)),
        Retraction(id="r7", event_id="e7", declared=at_hour(4 * D), reason="incorrect_data"),
        Alias(id="urn:epc:class:lgtin:6901234.000001.YZ001", canonical_id="pig", entity="lot", scheme="epc_urn"),
        Alias(id="NT-0002", canonical_id="d2", entity="delivery", scheme="trace_code"),
        TraceCode(id="tc2", code="NT-0002", lot_id="carcass"),
        Sample(id="s1", plan="supervisory", sampled_id="shop", product_name="猪肉", lot_id="carcass",
               sampled_at="2026-03-04", conclusion="nonconforming"),
        TestResult(id="s1r", sample_id="s1", item="沙门氏菌", hazard_class="microbial", conclusion="nonconforming"),
    ]


OPTIONS = [TraceOptions(), TraceOptions(infer=False), TraceOptions(windows={"pork": 1, "leafy_vegetable": 10}),
           TraceOptions(hazard="microbial", kill=frozenset({"stall"})), TraceOptions(hazard="pesticide"),
           TraceOptions(since=epoch(at_hour(20)), until=epoch(at_hour(2.5 * D))),
           TraceOptions(may_contain={"pork": {"pork"}})]


def _copy(src, dst) -> None:
    """Every record of ``src`` into ``dst``, table by table."""
    dst.write([r for t in RECORD_TYPES for r in src.scan(t.table)])


def _assert_same(ref, store, starts, options=OPTIONS) -> int:
    a, b = Tracer(ReadView(ref)), Tracer(ReadView(store))
    n = 0
    for start in starts:
        for direction in ("down", "up"):
            for o in options:
                want = a.trace(start, direction, o).to_dict()
                assert b.trace(start, direction, o).to_dict() == want, (start, direction, o)
                n += bool(want["deliveries"])
    return n


@pytest.fixture
def reference(tmp_path):
    s = open_store(str(tmp_path / "reference.db"))
    yield s
    s.close()


def test_hand_made_network(store, reference):
    records = hand_made()
    reference.write(records)
    store.write(records)
    starts = ["pig", "carcass", "greens", "own", "d1", "d2", "d4", "d6", "stall", "shop", "kitchen",
              "urn:epc:class:lgtin:6901234.000001.YZ001", "NT-0002", "s1"]
    n = _assert_same(reference, store, starts, OPTIONS[:1])
    n += _assert_same(reference, store, ["pig", "d2", "d4", "stall"], OPTIONS[1:])
    assert n > 25
    # the plain function too, and the backend really was the other one
    assert trace(ReadView(store), "pig", "down").to_dict() == trace(ReadView(reference), "pig", "down").to_dict()


def test_random_networks(store, reference):
    for seed in range(3):
        records = random_network(random.Random(seed))
        reference.clear()
        store.clear()
        reference.write(records)
        store.write(records)
        ids = sorted({r.lot_id for r in records if r.table == "delivery"})[:4] + \
            [r.id for r in records if r.table == "delivery"][:6]
        _assert_same(reference, store, ids, [OPTIONS[0], OPTIONS[3]])


@pytest.fixture(scope="module")
def synthetic_reference(tmp_path_factory):
    """A small synthetic Nantong network loaded from its files into an embedded store, and its ground truth."""
    import orjson

    from loaders.load import load_files
    from generator import generate

    out = tmp_path_factory.mktemp("trace-backends") / "syn"
    generate(out, scale=400, seed=11)
    ref = open_store(str(out.parent / "ref.db"))
    load_files(ref, [p for p in sorted(Path(out).rglob("*")) if p.is_file() and p.parent.name != "truth"
                     and p.name != "manifest.json"])
    planted = orjson.loads((out / "truth" / "planted.json").read_bytes())["planted"]
    yield ref, planted
    ref.close()


def test_small_synthetic_network(store, synthetic_reference):
    ref, planted = synthetic_reference
    _copy(ref, store)
    assert store.counts() == ref.counts()
    rng = random.Random(3)
    deliveries = sorted(d.id for d in ref.scan("delivery"))
    samples = sorted(s.id for s in ref.scan("sample") if s.conclusion == "nonconforming")
    stations = sorted({d.sender_id for d in ref.scan("delivery")})
    starts = [p["lot"] for p in planted] + rng.sample(deliveries, 6) + samples[:3] + rng.sample(stations, 2)
    n = _assert_same(ref, store, starts, [TraceOptions()])
    kill = frozenset(rng.sample(stations, 5))
    n += _assert_same(ref, store, starts[::3], [TraceOptions(infer=False), TraceOptions(hazard="microbial", kill=kill)])
    assert n > 10


# -- issue 16: a lot cannot hold what reached its station after it existed ------------------------------

_GLN = {"farm1": "6930000000011", "farm2": "6930000000028", "dist": "6930000000035", "canteen": "6930000000042",
        "restaurant": "6930000000059"}
_LGTIN = {"A": "urn:epc:class:lgtin:6930000.012345.QC0509", "B": "urn:epc:class:lgtin:6930000.012346.QC0512",
          "M": "urn:epc:class:lgtin:6930000.054321.MIX0510"}


def _event(time: str, step: str, lot: str, *, frm: str | None = None, to: str | None = None,
           at: str | None = None, action: str = "OBSERVE") -> dict:
    ev = {"type": "ObjectEvent", "eventTime": time, "eventTimeZoneOffset": "+08:00", "action": action,
          "bizStep": step, "quantityList": [{"epcClass": _LGTIN[lot], "quantity": 100, "uom": "KGM"}]}
    if at:
        ev["bizLocation"] = {"id": f"https://id.gs1.org/414/{_GLN[at]}"}
    if frm:
        ev["sourceList"] = [{"type": "location", "source": f"https://id.gs1.org/414/{_GLN[frm]}"}]
        ev["destinationList"] = [{"type": "location", "destination": f"https://id.gs1.org/414/{_GLN[to]}"}]
    return ev


def commissioned_mix_document() -> dict:
    """A vegetable distributor commissions a mixed lot M at 05:00 on 10 May (no production date, no record of
    what went in) and ships it to a school canteen at 07:00; it had received lot A from one farm the evening
    before and receives lot B from another farm on 12 May, after which it ships M again, to a restaurant."""
    events = [
        _event("2026-05-09T18:00:00+08:00", "shipping", "A", frm="farm1", to="dist"),
        _event("2026-05-10T05:00:00+08:00", "commissioning", "M", at="dist", action="ADD"),
        _event("2026-05-10T07:00:00+08:00", "shipping", "M", frm="dist", to="canteen"),
        _event("2026-05-12T06:00:00+08:00", "shipping", "B", frm="farm2", to="dist"),
        _event("2026-05-13T08:00:00+08:00", "shipping", "M", frm="dist", to="restaurant"),
    ]
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-05-14T00:00:00+08:00",
            "epcisBody": {"eventList": events}}


def test_a_lot_cannot_hold_what_reached_its_station_after_it_existed(store):
    """The distributor's mixed lot M existed from its commissioning: tracing M (or its later shipment) up lists
    lot A and its farm, never lot B (received two days after M left) nor B's farm; tracing B down does not
    reach M. Loaded from an EPCIS 2.0 document into each backend."""
    from loaders.load import load_document

    out = load_document(store, commissioned_mix_document(), "mix.json")
    assert out.error is None and not out.rejects, (out.error, out.rejects)
    view = ReadView(store)
    lot = {k: store.resolve(v) for k, v in _LGTIN.items()}
    station = {k: f"https://id.gs1.org/414/{v}" for k, v in _GLN.items()}
    (to_restaurant,) = [d.id for d in store.deliveries(lot_ids=[lot["M"]]) if d.receiver_id == station["restaurant"]]
    (from_farm1,) = [d.id for d in store.deliveries(lot_ids=[lot["A"]])]
    for start in (_LGTIN["M"], to_restaurant):
        up = trace(view, start, "up")
        assert {x.id: x.tier for x in up.lots} == {lot["A"]: "possible"}, start
        assert [d.id for d in up.deliveries] == [from_farm1]
        assert station["farm1"] in {x.id for x in up.stations}
        assert not {station["farm2"], lot["B"]} & {x.id for x in (*up.stations, *up.lots)}
    down_b = trace(view, _LGTIN["B"], "down")
    assert [x.id for x in down_b.stations] == [station["dist"]] and down_b.lots == ()
    down_a = trace(view, _LGTIN["A"], "down")
    assert {x.id: x.tier for x in down_a.stations} == {station["dist"]: "certain", station["canteen"]: "possible",
                                                        station["restaurant"]: "possible"}
