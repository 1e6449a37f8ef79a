"""Mass balance on small hand-made networks with exact figures, and against the synthetic network's truth."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from graph.view import ReadView
from ontology.records import Delivery, Lot, Product, Retraction, Transformation, TransformationItem
from reasoning.mass_balance import MAX_KG_PER_HEAD, BalanceFinding, Tolerance, mass_balance

T0 = "2026-03-01T08:00:00+08:00"


def at(day: int, hour: int = 8) -> str:
    return f"2026-03-{day:02d}T{hour:02d}:00:00+08:00"


def D(id: str, lot: str, frm: str, to: str, qty: float | None, unit: str | None = "KGM", time: str = T0,
      event: str | None = None) -> Delivery:
    return Delivery(id=id, lot_id=lot, sender_id=frm, receiver_id=to, time=time, quantity=qty, unit=unit,
                    event_id=event)


def run(store, records, **kw):
    store.write(records)
    return mass_balance(ReadView(store), **kw)


def only(findings) -> BalanceFinding:
    assert len(findings) == 1, findings
    return findings[0]


# -- balance ---------------------------------------------------------------------------------

def test_clean_pass_through_is_not_flagged(sqlite_store):
    rep = run(sqlite_store, [
        Lot(id="L", product_id="p", producer_id="farm", quantity=100, unit="KGM"),
        D("d1", "L", "farm", "market", 100, time=at(1)),
        D("d2", "L", "market", "shop", 60, time=at(2)),
        D("d3", "L", "market", "shop2", 40, time=at(3)),
    ])
    assert rep.findings == () and rep.incomplete == () and rep.unit_mismatch == () and rep.no_source == ()
    assert rep.pairs_checked == 2  # (farm, L) and (market, L); the shops ship nothing


def test_station_shipping_more_than_it_received(sqlite_store):
    rep = run(sqlite_store, [
        Lot(id="L", product_id="p", producer_id="farm", quantity=100, unit="KGM"),
        D("d1", "L", "farm", "market", 100, time=at(1)),
        D("d2", "L", "market", "shop", 80, time=at(2)),
        D("d3", "L", "market", "shop2", 50, time=at(3)),
    ])
    f = only(rep.violations)
    assert (f.kind, f.station_id, f.lot_id, f.product_id, f.unit) == ("shipped_more_than_received", "market", "L",
                                                                       "p", "KGM")
    assert (f.received, f.produced, f.shipped, f.used, f.excess, f.excess_ratio) == (100, 0, 130, 0, 30, 0.3)
    assert (f.deliveries_in, f.deliveries_out, f.transformations) == (("d1",), ("d2", "d3"), ())
    assert (f.peak_excess, f.peak_ratio, f.peak_time) == (30, 0.3, at(3))
    assert rep.findings == (f,)


def test_producer_ships_within_its_lot_quantity(sqlite_store):
    recs = [Lot(id="L", product_id="p", producer_id="farm", quantity=500, unit="KGM"),
            D("d1", "L", "farm", "a", 200), D("d2", "L", "farm", "b", 300)]
    assert run(sqlite_store, recs).findings == ()
    f = only(run(sqlite_store, [D("d3", "L", "farm", "c", 10)]).violations)
    assert (f.station_id, f.received, f.produced, f.shipped, f.excess, f.excess_ratio) == ("farm", 0, 500, 510, 10,
                                                                                           0.02)


def test_transformation_consumes_its_input(sqlite_store):
    rep = run(sqlite_store, [
        Lot(id="flour", product_id="p_flour", producer_id="mill", quantity=100, unit="KGM"),
        D("d1", "flour", "mill", "bakery", 100, time=at(1)),
        Transformation(id="t", station_id="bakery", time=at(2), kind="processing"),
        TransformationItem(id="ti", transformation_id="t", lot_id="flour", role="input", quantity=80, unit="KGM"),
        TransformationItem(id="to", transformation_id="t", lot_id="bread", role="output", quantity=120, unit="H87"),
        # the lot record and the transformation output describe one production: the larger counts, not the sum
        Lot(id="bread", product_id="p_bread", producer_id="bakery", quantity=100, unit="H87"),
        D("d2", "bread", "bakery", "shop", 120, unit="H87", time=at(3)),
        D("d3", "flour", "bakery", "shop", 30, time=at(3)),
    ])
    f = only(rep.violations)
    assert (f.station_id, f.lot_id, f.received, f.shipped, f.used, f.excess) == ("bakery", "flour", 100, 30, 80, 10)
    assert f.transformations == ("t",) and f.deliveries_out == ("d3",)
    assert rep.pairs_checked == 3  # (mill, flour), (bakery, flour), (bakery, bread): bread balances at 120


@pytest.mark.parametrize("received, shipped, flagged", [
    (100, 101, False),    # exactly 1 % over: tolerated
    (100, 101.1, True),
    (10, 10.5, False),    # the absolute 0.5 units are larger than 1 % of 10
    (10, 10.6, True),
])
def test_tolerance_edge(sqlite_store, received, shipped, flagged):
    rep = run(sqlite_store, [Lot(id="L", product_id="p", producer_id="farm", quantity=1000, unit="KGM"),
                             D("d1", "L", "farm", "m", received, time=at(1)), D("d2", "L", "m", "s", shipped,
                                                                                 time=at(2))])
    assert bool(rep.violations) is flagged


def test_tolerance_is_configurable(sqlite_store):
    recs = [D("d1", "L", "farm", "m", 100, time=at(1)), D("d2", "L", "m", "s", 100.2, time=at(2))]
    assert run(sqlite_store, recs).violations == ()
    f = only(mass_balance(ReadView(sqlite_store), tolerance=Tolerance(relative=0, absolute=0.1)).violations)
    assert f.excess == 0.2 and f.excess_ratio == 0.002
    with pytest.raises(ValueError, match="tolerances must be >= 0"):
        Tolerance(absolute=-1)


def test_mass_units_are_converted_to_kilograms(sqlite_store):
    rep = run(sqlite_store, [D("d1", "L", "farm", "m", 1, unit="TNE", time=at(1)),
                             D("d2", "L", "m", "s", 600, time=at(2)), D("d3", "L", "m", "s2", 300000, unit="GRM",
                                                                        time=at(2))])
    assert rep.findings == () and rep.unit_mismatch == ()
    f = only(run(sqlite_store, [D("d4", "L", "m", "s3", 200, time=at(3))]).violations)
    assert (f.unit, f.received, f.shipped, f.excess, f.excess_ratio) == ("KGM", 1000, 1100, 100, 0.1)
    assert f.note.startswith("converted to kg from GRM, KGM, TNE")


def test_units_that_cannot_be_converted_are_a_mismatch_not_a_violation(sqlite_store):
    rep = run(sqlite_store, [D("d1", "L", "farm", "m", 10, unit="H87"), D("d2", "L", "m", "s", 500)])
    assert rep.violations == ()
    f = only(rep.unit_mismatch)
    assert (f.kind, f.station_id, f.received, f.shipped) == ("unit_mismatch", "m", None, None)
    assert f.note == "units H87, KGM cannot be converted to one another"


def test_missing_quantity_makes_the_pair_incomplete(sqlite_store):
    rep = run(sqlite_store, [
        D("d1", "L", "farm", "m", None, unit=None), D("d2", "L", "m", "s", 500),
        Lot(id="L2", product_id="p", producer_id="farm2"),   # produced, but how much is unknown
        D("d3", "L2", "farm2", "s", 40),
    ])
    assert rep.violations == ()
    a, b = rep.incomplete
    assert (a.kind, a.station_id, a.lot_id, a.shipped) == ("incomplete", "farm2", "L2", 40)
    assert a.note == "no quantity: production quantity (lot and transformation output)"
    assert (b.station_id, b.lot_id, b.received, b.shipped) == ("m", "L", 0, 500)
    assert b.note == "no quantity: delivery d1"


def test_a_lot_record_without_quantity_defers_to_the_transformation_output(sqlite_store):
    rep = run(sqlite_store, [
        Lot(id="C", product_id="p", producer_id="abattoir"),
        Transformation(id="t", station_id="abattoir", time=at(1), kind="cutting"),
        TransformationItem(id="to", transformation_id="t", lot_id="C", role="output", quantity=50, unit="KGM"),
        D("d1", "C", "abattoir", "m", 60, time=at(2)),
    ])
    f = only(rep.violations)
    assert (f.produced, f.shipped, f.excess, f.transformations) == (50, 60, 10, ("t",))


def test_retracted_delivery_and_transformation_are_ignored(sqlite_store):
    base = [D("d1", "L", "farm", "m", 100, time=at(1)), D("d2", "L", "m", "s", 80, time=at(2)),
            D("d3", "L", "m", "s2", 50, time=at(3), event="ev3"),
            Transformation(id="t", station_id="m", time=at(4), kind="repacking", event_id="ev4"),
            TransformationItem(id="ti", transformation_id="t", lot_id="L", role="input", quantity=40, unit="KGM")]
    f = only(run(sqlite_store, base).violations)
    assert (f.shipped, f.used) == (130, 40)
    rep = run(sqlite_store, [Retraction(id="r3", event_id="ev3", declared=at(5)),
                             Retraction(id="r4", event_id="ev4", declared=at(5))])
    assert rep.findings == ()
    assert rep.pairs_checked == 2


def test_time_order_catches_shipping_ahead_of_receipts(sqlite_store):
    recs = [D("d1", "L", "farm", "m", 100, time=at(1)), D("d2", "L", "m", "s", 150, time=at(2)),
            D("d3", "L", "farm", "m", 100, time=at(3)), D("d4", "L", "m", "s", 50, time=at(4))]
    f = only(run(sqlite_store, recs).violations)
    assert (f.received, f.shipped, f.excess, f.excess_ratio) == (200, 200, 0, 0)
    assert (f.peak_excess, f.peak_ratio, f.peak_time) == (50, 0.5, at(2))
    assert f.note == f"by {at(2)} out 150 KGM against 100 in"
    assert mass_balance(ReadView(sqlite_store), time_ordered=False).violations == ()


def test_inflow_first_at_one_instant(sqlite_store):
    recs = [D("d1", "L", "farm", "m", 100, time=at(1)), D("d2", "L", "m", "s", 100, time=at(1))]
    assert run(sqlite_store, recs).findings == ()


def test_no_source_is_reported_only_on_request(sqlite_store):
    recs = [Lot(id="L", product_id="p"), D("d1", "L", "ghost", "m", 10)]
    assert run(sqlite_store, recs).no_source == ()
    rep = mass_balance(ReadView(sqlite_store), include_unsourced=True)
    f = only(rep.no_source)
    assert (f.kind, f.station_id, f.shipped, f.excess, f.excess_ratio) == ("no_source", "ghost", 10, 10, None)
    assert rep.violations == ()


def test_filters_and_sort_order(sqlite_store):
    recs = [D("a1", "A", "farm", "m", 100), D("a2", "A", "m", "s", 120),     # +20 %
            D("b1", "B", "farm", "m", 100), D("b2", "B", "m", "s", 150),     # +50 %
            D("c1", "C", "farm", "n", 100), D("c2", "C", "n", "s", 130)]     # +30 %
    rep = run(sqlite_store, recs)
    assert [(f.station_id, f.lot_id, f.excess_ratio) for f in rep.findings] == [
        ("m", "B", 0.5), ("n", "C", 0.3), ("m", "A", 0.2)]
    assert [f.lot_id for f in mass_balance(ReadView(sqlite_store), lot_ids=["A", "C"]).findings] == ["C", "A"]
    assert [f.lot_id for f in mass_balance(ReadView(sqlite_store), station_ids=["m"]).findings] == ["B", "A"]
    assert mass_balance(ReadView(sqlite_store), station_ids=["n"], lot_ids=["A"]).findings == ()


# -- slaughter yield ---------------------------------------------------------------------------

def slaughter(tid: str, station: str, heads: float, kg: float, category: str = "live_pig") -> list:
    return [Product(id=f"p_{category}", name=category, category=category),
            Lot(id=f"{tid}_in", product_id=f"p_{category}"),
            Transformation(id=tid, station_id=station, time=T0, kind="slaughter"),
            TransformationItem(id=f"{tid}_i", transformation_id=tid, lot_id=f"{tid}_in", role="input",
                               quantity=heads, unit="H87"),
            TransformationItem(id=f"{tid}_o", transformation_id=tid, lot_id=f"{tid}_out", role="output",
                               quantity=kg, unit="KGM")]


def test_illegal_slaughter_yield(sqlite_store):
    rep = run(sqlite_store, slaughter("t1", "abattoir", 10, 950) + slaughter("t2", "abattoir", 10, 1000)
              + slaughter("t3", "poultry_plant", 100, 400, "live_poultry"))
    assert rep.slaughters_checked == 3
    a, b = rep.slaughter
    assert (a.kind, a.station_id, a.transformation_id, a.heads_in, a.kg_out, a.max_plausible_kg, a.excess) == (
        "illegal_slaughter", "poultry_plant", "t3", 100, 400, 350, 50)
    assert a.excess_ratio == round(50 / 350, 6) and a.categories == ("live_poultry",)
    assert (b.transformation_id, b.input_lot_ids, b.output_lot_ids, b.max_plausible_kg, b.excess) == (
        "t2", ("t2_in",), ("t2_out",), 950, 50)
    assert b.lot_id == "t2_out" and b.note == "10 head(s) x at most 95 kg (live_pig)"
    assert rep.findings == (a, b)
    # the limits are configurable
    assert mass_balance(ReadView(sqlite_store), max_kg_per_head={**MAX_KG_PER_HEAD, "live_pig": 110,
                                                                 "live_poultry": 4}).slaughter == ()


def test_slaughter_without_heads_or_known_category_is_not_judged(sqlite_store):
    recs = slaughter("t1", "abattoir", 10, 5000, "cattle")
    recs += [Product(id="p_pig", name="生猪", category="live_pig"), Lot(id="kgpigs", product_id="p_pig"),
             Transformation(id="t2", station_id="abattoir", time=T0, kind="slaughter"),
             TransformationItem(id="t2_i", transformation_id="t2", lot_id="kgpigs", role="input", quantity=1000,
                                unit="KGM"),
             TransformationItem(id="t2_o", transformation_id="t2", lot_id="x", role="output", quantity=900,
                                unit="KGM")]
    rep = run(sqlite_store, recs)
    assert rep.slaughter == () and rep.slaughters_checked == 0


# -- the synthetic network -------------------------------------------------------------------

@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from graph.store import open_store
    from loaders.load import load_files
    from generator import generate

    out = tmp_path_factory.mktemp("mb") / "syn"
    generate(out, scale=3000, seed=7)
    store = open_store(str(out.parent / "s.db"))
    load_files(store, [p for p in sorted(out.rglob("*")) if p.is_file() and p.parent.name != "truth"
                       and p.name != "manifest.json"])
    truth = orjson.loads((out / "truth" / "imperfections.json").read_bytes())
    try:
        yield store, truth
    finally:
        store.close()


def _peak_by_brute_force(store, station: str, lot: str) -> tuple[float, float]:
    """(largest deficit, inflow by then) of one pair, walking its records one by one in time order."""
    live = store.deliveries(lot_ids=[lot])
    events = [(d.time, 0, d.quantity) for d in live if d.receiver_id == station]
    events += [(d.time, 1, d.quantity) for d in live if d.sender_id == station]
    made = 0.0
    for it in store.transformation_items(lot_ids=[lot]):
        t = store.get("transformation", it.transformation_id)
        if t.station_id == station:
            events.append((t.time, 0 if it.role == "output" else 1, it.quantity))
            made += it.quantity if it.role == "output" else 0
    own = store.get("lot", lot)
    if own is not None and own.producer_id == station and own.quantity:
        events.append(("", 0, max(own.quantity - made, 0.0)))
    events.sort(key=lambda e: (datetime.fromisoformat(e[0]).timestamp() if e[0] else float("-inf"), e[1]))
    stock = inflow = 0.0
    worst = (0.0, 0.0)
    for _, out, q in events:
        stock += -q if out else q
        inflow += 0 if out else q
        if -stock > worst[0]:
            worst = (-stock, inflow)
    return worst


def test_synthetic_violations_are_found(synthetic):
    store, truth = synthetic
    planted = truth["mass_balance_violations"]
    pairs = {(v["station"], v["lot"]) for v in planted if v["type"] == "shipped_more_than_received"}
    slaughters = {(v["station"], v["output_lot"], v["time"]) for v in planted if v["type"] == "illegal_slaughter"}
    assert pairs and slaughters

    exact = mass_balance(ReadView(store), tolerance=Tolerance(relative=0, absolute=1e-6))
    default = mass_balance(ReadView(store))
    found_exact = {(f.station_id, f.lot_id) for f in exact.violations}
    found = {(f.station_id, f.lot_id) for f in default.violations}

    # a planted violation is visible in the records unless other receipts of the same lot cover it at every moment
    peaks = {p: _peak_by_brute_force(store, *p) for p in sorted(pairs)}
    visible = {p for p, (deficit, _) in peaks.items() if deficit > 1e-6}
    beyond_default = {p for p, (deficit, inflow) in peaks.items() if deficit > max(0.01 * inflow, 0.5) + 1e-9}
    assert len(visible) >= 0.9 * len(pairs)
    assert visible <= found_exact
    assert beyond_default <= found
    # every slaughter planted above 95 kg/head is found
    assert {(f.station_id, f.lot_id, f.time) for f in default.slaughter} == slaughters

    # precision: everything flagged is at a station the generator made a violator
    bad_stations = set(truth["mass_balance_stations"])
    assert {f.station_id for f in exact.findings} <= bad_stations
    assert found_exact <= pairs


def test_synthetic_filters_agree_with_the_full_run(synthetic):
    store, _ = synthetic
    full = mass_balance(ReadView(store))
    station = full.violations[0].station_id
    lots = sorted({f.lot_id for f in full.violations})[:3]
    by_station = mass_balance(ReadView(store), station_ids=[station])
    assert by_station.violations == tuple(f for f in full.violations if f.station_id == station)
    by_lot = mass_balance(ReadView(store), lot_ids=lots)
    assert by_lot.violations == tuple(f for f in full.violations if f.lot_id in lots)
    some = full.slaughter[0]
    assert mass_balance(ReadView(store), lot_ids=[some.output_lot_ids[0]]).slaughter == (some,)


def test_times_compare_in_utc_whatever_their_offset(sqlite_store):
    # received at 08:00 Beijing time (written as 09:00+09:00), shipped at 08:30 Beijing time
    recs = [D("d1", "L", "farm", "m", 100, time="2026-03-01T09:00:00+09:00"),
            D("d2", "L", "m", "s", 100, time="2026-03-01T08:30:00+08:00")]
    assert run(sqlite_store, recs).findings == ()


def test_empty_store(sqlite_store):
    rep = mass_balance(ReadView(sqlite_store), include_unsourced=True)
    assert rep.findings == () and rep.pairs_checked == 0 and rep.slaughters_checked == 0
