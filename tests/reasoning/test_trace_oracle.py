"""reasoning.trace against a brute-force oracle (tests/reasoning/oracle.py) on random seeded networks.

The oracle is written from the specification in the module docstring of reasoning.trace: it scans every
record and enumerates the fully timed state graph, so it never lets one time of a state stand for
another. Both directions are compared for every start (each lot, each delivery, two stations): the sets
of deliveries, lots and stations reached, each one's tier and time; plus evidence and quantity-bound
sanity. Every disagreement the oracle found is kept as a test on the smallest network that showed it
(``MINIMAL``, with what was wrong in ``WHY``); all are fixed. The random comparisons run on flow networks
(``flow=True``: a lot arrives at and leaves each station at most once) and on unrestricted ones
(repeated arrivals, cycles).
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from graph.store import open_store
from graph.view import ReadView
from ontology.records import Delivery, Event, Lot, Product, Transformation, TransformationItem
from reasoning.holding import learn_windows, pass_throughs
from reasoning.trace import TraceOptions, Tracer, trace

from .oracle import Network, OracleOptions, at_hour, oracle_trace, random_network, random_options, seconds

SEEDS = 200


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """One embedded store for the whole module, cleared per network (creating a store costs more than a trace)."""
    s = open_store(str(tmp_path_factory.mktemp("oracle") / "o.db"))
    yield s
    s.close()


def _load(db, records) -> None:
    db.clear()
    db.write(records)


def _starts(net: Network) -> list[tuple[str, str]]:
    lots = sorted({d.lot for d in net.deliveries.values()})
    senders = sorted({d.sender for d in net.deliveries.values()})
    return [("lot", x) for x in lots] + [("delivery", x) for x in sorted(net.deliveries)] + \
        [("station", x) for x in senders[:2]]


def _maps(t) -> tuple[dict, dict, dict]:
    def m(items):
        return {x.id: (x.tier, seconds(x.time)) for x in items}
    return m(t.deliveries), m(t.lots), m(t.stations)


def _sanity(t, net: Network, down: bool, certain_bound: bool = False) -> list[str]:
    """Evidence: a time-ordered chain of reached deliveries ending at the delivery itself, all certain for a
    certain item; max_quantity: never more than the quantity, and (``certain_bound``) all of it on a certain
    delivery."""
    out = []
    tiers = {d.id: d.tier for d in t.deliveries}
    for kind in ("deliveries", "lots", "stations"):
        for x in getattr(t, kind):
            ev = x.evidence
            if any(e not in tiers for e in ev):
                out.append(f"{kind} {x.id}: evidence {ev} names a delivery not reached")
                continue
            if x.tier == "certain" and any(tiers[e] != "certain" for e in ev):
                out.append(f"{kind} {x.id}: certain, but its evidence {ev} has a possible delivery")
            ts = [net.deliveries[e].ship for e in ev]
            if ts != sorted(ts, reverse=not down):
                out.append(f"{kind} {x.id}: evidence {ev} is not in time order")
    for d in t.deliveries:
        if not d.evidence or d.evidence[-1] != d.id:
            out.append(f"delivery {d.id}: evidence {d.evidence} does not end with it")
        if d.quantity is None:
            if d.max_quantity is not None:
                out.append(f"delivery {d.id}: a bound {d.max_quantity} without a quantity")
        elif d.tier == "certain" and d.max_quantity != d.quantity and certain_bound:
            out.append(f"delivery {d.id}: certain, bound {d.max_quantity} != quantity {d.quantity}")
        elif d.max_quantity is None or d.max_quantity > d.quantity:
            out.append(f"delivery {d.id}: bound {d.max_quantity} above quantity {d.quantity}")
    return out


def _likelihoods(t) -> dict[str, dict[str, float]]:
    return {name: {x.id: x.likelihood for x in getattr(t, name)} for name in ("deliveries", "lots", "stations")}


def compare(db, options: dict, starts=None, *, stop_at_first: bool = False, certain_bound: bool = False,
            shared: bool = False) -> list[str]:
    """Every disagreement between trace() (``shared``: a Tracer's traces, which share their reads) and the
    oracle on the store's network, as readable lines: items, tiers, times and likelihoods."""
    net = Network.read(db)
    view = ReadView(db)
    run = Tracer(view).trace if shared else (lambda s, d, o: trace(view, s, d, o))
    if options.get("holding") == "learn":   # windows learned from this network (few pass-throughs suffice)
        options = {**options, "holding": learn_windows(pass_throughs(view), quantile=0.9, min_samples=2)}
    topts = TraceOptions(**options, learn_windows=False)   # no learning behind the oracle's back
    oopts = OracleOptions(**options)
    problems = []
    for start in starts or _starts(net):
        for direction in ("down", "up"):
            t = run(start[1], direction, topts)
            got = _maps(t)
            o = oracle_trace(net, start, direction, oopts)
            want = (o.deliveries, o.lots, o.stations)
            for name, g, w in zip(("deliveries", "lots", "stations"), got, want):
                if g != w:
                    diff = {k: (g.get(k), w.get(k)) for k in sorted(set(g) | set(w)) if g.get(k) != w.get(k)}
                    problems.append(f"{start} {direction} {name}: (trace, oracle) {diff}")
            for name, g in _likelihoods(t).items():
                w = o.likelihood[name]
                off = {k: (v, w.get(k)) for k, v in g.items() if k in w and abs(v - w[k]) > 1e-9}
                if off:
                    problems.append(f"{start} {direction} {name} likelihood: (trace, oracle) {off}")
            problems += [f"{start} {direction} {p}" for p in _sanity(t, net, direction == "down", certain_bound)]
            if problems and stop_at_first:
                return problems
    return problems


def _run(db, seeds, *, flow: bool, fixed: dict | None = None, stop_at_first: bool = False,
         **kw) -> list[str]:
    bad = []
    for seed in seeds:
        rng = random.Random(seed)
        records = random_network(rng, flow=flow)
        _load(db, records)
        options = random_options(rng, records, **(fixed or {}))
        shared = kw.get("shared", seed % 4 != 0)   # plain trace() on every fourth network by default
        for p in compare(db, options, stop_at_first=stop_at_first, **{**kw, "shared": shared})[:3]:
            bad.append(f"seed {seed} {options}: {p}")
        if bad and stop_at_first:
            break
    return bad


# -- the random comparisons ----------------------------------------------------------------------


def test_the_oracle_sees_the_same_as_trace_on_flow_networks(db):
    """200 random networks, random options (since/until, explicit-only, hazards, kill steps, windows,
    policies): every start, both directions, identical."""
    bad = _run(db, range(SEEDS), flow=True)
    assert not bad, "\n".join(bad[:10])


def test_explicit_only_agrees_on_any_network(db):
    """Explicit links only: times are monotone, so every network, cycles and repeated arrivals included."""
    bad = _run(db, range(1000, 1000 + SEEDS // 2), flow=False, fixed={"infer": False}, shared=True)
    assert not bad, "\n".join(bad[:10])


@pytest.mark.parametrize("hazard", ["microbial", "pesticide", "unknown"])
def test_kill_steps_agree(db, hazard):
    """Kill stations and lots: a pathogen (or unknown) trace stops there, a pesticide trace ignores them."""
    bad = []
    for seed in range(2000, 2000 + SEEDS // 5):
        rng = random.Random(seed)
        records = random_network(rng, flow=True)
        _load(db, records)
        net = Network.read(db)
        names = sorted({d.sender for d in net.deliveries.values()} | {d.lot for d in net.deliveries.values()})
        options = {"hazard": hazard, "kill": frozenset(rng.sample(names, 2))}
        bad += [f"seed {seed} {options}: {p}" for p in compare(db, options, shared=True)[:3]]
        if hazard == "pesticide":   # kill steps change nothing but the notes
            view = ReadView(db)
            for start in _starts(net)[:6]:
                for direction in ("down", "up"):
                    a = trace(view, start[1], direction, TraceOptions(**options)).to_dict()
                    b = trace(view, start[1], direction, TraceOptions(hazard=hazard)).to_dict()
                    if (a["lots"], a["deliveries"], a["stations"]) != (b["lots"], b["deliveries"], b["stations"]):
                        bad.append(f"seed {seed} {start} {direction}: a pesticide trace changed by kill steps")
    assert not bad, "\n".join(bad[:10])


def test_since_and_until_agree(db):
    bad = []
    for seed in range(3000, 3000 + SEEDS // 5):
        rng = random.Random(seed)
        records = random_network(rng, flow=True)
        _load(db, records)
        a, b = sorted(rng.randint(0, 80) * 6 for _ in range(2))
        for options in ({"since": seconds(at_hour(a))}, {"until": seconds(at_hour(b))},
                        {"since": seconds(at_hour(a)), "until": seconds(at_hour(b))}):
            bad += [f"seed {seed} {options}: {p}" for p in compare(db, options, shared=True)[:3]]
    assert not bad, "\n".join(bad[:10])


def test_a_certain_delivery_can_hold_all_of_its_quantity(db):
    bad = _run(db, range(SEEDS), flow=True, certain_bound=True, stop_at_first=True, shared=True)
    assert not bad, "\n".join(bad[:10])


def test_the_oracle_sees_the_same_as_trace_on_any_network(db):
    """Repeated arrivals of a lot at a station and cycles: fails at the first disagreement."""
    bad = _run(db, range(SEEDS), flow=False, stop_at_first=True, shared=True)
    assert not bad, "\n".join(bad[:10])


# -- the smallest networks of each disagreement ----------------------------------------------------

D = 24.0  # hours


def _dlv(i, lot, frm, to, hour, **kw) -> Delivery:
    return Delivery(id=i, lot_id=lot, sender_id=frm, receiver_id=to, time=at_hour(hour), **kw)


def _leafy_restock():
    """A stall gets lot A (leafy vegetables, window 3 days) on day 0 and again on day 5, and sells its own lot
    K on day 6: K may contain the A of day 5."""
    return [Product(id="p:leafy", name="青菜", category="leafy_vegetable"), Lot(id="A", product_id="p:leafy"),
            Lot(id="K", product_id="p:leafy"),
            _dlv("d1", "A", "farm", "stall", 0), _dlv("d2", "A", "farm", "stall", 5 * D),
            _dlv("dK", "K", "stall", "shop", 6 * D)]


def _return_trip():
    """A wholesaler S sends its own lot L (no record of where it came from) to a cold store on day 13 and takes it
    back six hours later, then sells it on day 14. Its portion at S on day 13 (before the return) is not
    explained: it may be what S received on day 5 (lot G, unknown category: 30 days)."""
    return [Product(id="p:pork", name="猪肉", category="pork"), Lot(id="L", product_id="p:pork"),
            _dlv("dG", "G", "farm", "S", 5 * D), _dlv("d12", "L", "S", "cold", 13 * D),
            _dlv("d13", "L", "cold", "S", 13 * D + 6), _dlv("dX", "L", "S", "shop", 14 * D)]


def _kitchen():
    """A kitchen records that it processed lot A into B on day 1 (A's delivery to it is not on record), ships B
    on day 3 and its own lot K on day 2."""
    return [Transformation(id="t", station_id="kitchen", time=at_hour(1 * D), kind="processing"),
            TransformationItem(id="ti", transformation_id="t", lot_id="A", role="input"),
            TransformationItem(id="to", transformation_id="t", lot_id="B", role="output"),
            _dlv("dK", "K", "kitchen", "school", 2 * D), _dlv("dB", "B", "kitchen", "shop", 3 * D)]


def _killed_lot():
    """Lot L (named as a kill step) goes farm -> market -> shop."""
    return [_dlv("d0", "L", "farm", "market", 0), _dlv("d1", "L", "market", "shop", 1 * D)]


def _commissioned_mix():
    """A distributor commissions a mixed lot M (an EPCIS event, no production date) on day 10 at 05:00 and
    ships it to a canteen two hours later and to a restaurant on day 13. It received lot A from one farm on
    day 9 and lot B from another on day 12: M can hold A, not B."""
    return [Event(id="eM", hash="hM", type="ObjectEvent", time=at_hour(10 * D + 5)),
            Lot(id="M", producer_id="dist", event_id="eM"),
            _dlv("dA", "A", "farm1", "dist", 9 * D), _dlv("dM1", "M", "dist", "canteen", 10 * D + 7),
            _dlv("dB", "B", "farm2", "dist", 12 * D), _dlv("dM2", "M", "dist", "restaurant", 13 * D)]


def _h(hour: float) -> float:
    return seconds(at_hour(hour))


C, P = "certain", "possible"

#: (network, start, direction, options, what the specification gives: deliveries, lots, stations)
MINIMAL = {
    "a later arrival opens its own window (down)": (
        _leafy_restock, ("lot", "A"), "down", {},
        ({"d1": (C, _h(0)), "d2": (C, _h(5 * D)), "dK": (P, _h(6 * D))},
         {"K": (P, _h(5 * D))},
         {"stall": (C, _h(0)), "shop": (P, _h(6 * D))})),
    "an earlier unexplained presence is inferred (up)": (
        _return_trip, ("delivery", "dX"), "up", {},
        ({"d13": (C, _h(13 * D + 6)), "d12": (C, _h(13 * D)), "dG": (P, _h(5 * D))},
         {"G": (P, _h(5 * D))},
         {"cold": (C, _h(13 * D + 6)), "farm": (P, _h(5 * D))})),
    "a lot used at a station is not inferred into what it ships (down)": (
        _kitchen, ("lot", "A"), "down", {},
        ({"dB": (C, _h(3 * D))}, {"B": (C, _h(1 * D))}, {"shop": (C, _h(3 * D))})),
    "a kill lot cuts an upstream trace as it cuts a downstream one": (
        _killed_lot, ("delivery", "d1"), "up", {"hazard": "microbial", "kill": frozenset({"L"})},
        ({}, {}, {})),
    "a lot cannot hold what came after it existed (up, from the lot)": (
        _commissioned_mix, ("lot", "M"), "up", {},
        ({"dA": (P, _h(9 * D))}, {"A": (P, _h(9 * D))},
         {"dist": (C, _h(10 * D + 5)), "farm1": (P, _h(9 * D))})),
    "a lot cannot hold what came after it existed (up, from a later shipment)": (
        _commissioned_mix, ("delivery", "dM2"), "up", {},
        ({"dA": (P, _h(9 * D))}, {"A": (P, _h(9 * D))}, {"farm1": (P, _h(9 * D))})),
    "what came after a lot existed is not in it (down)": (
        _commissioned_mix, ("lot", "B"), "down", {},
        ({"dB": (C, _h(12 * D))}, {}, {"dist": (C, _h(12 * D))})),
    "a transformation before since is not followed (up)": (
        _kitchen, ("delivery", "dB"), "up", {"since": _h(2 * D)},
        ({}, {}, {})),
}

#: what the implementation (or the specification) once did wrong on each network
WHY = {
    "a later arrival opens its own window (down)":
        "trace kept one (earliest) time per presence (lot, station); a later arrival's window [t, t + w] "
        "reaches shipments the earliest one's does not: dK was missed",
    "an earlier unexplained presence is inferred (up)":
        "trace kept one (latest) time per presence; the earlier presence of L at S is unexplained "
        "(L arrives back later) and infers from what S received: dG was missed",
    "a lot used at a station is not inferred into what it ships (down)":
        "the first specification inferred from every presence, so A, used at the kitchen, reached the kitchen's "
        "own lot K; upstream K can only be made of what the kitchen received (A has no delivery there): the two "
        "directions now agree, inferring from receipts only",
    "a kill lot cuts an upstream trace as it cuts a downstream one":
        "downstream a kill lot carried nothing (down from d0 reached nothing); upstream it only cut at the "
        "transformations that made it, so up from d1 reached d0 and the farm",
    "a lot cannot hold what came after it existed (up, from the lot)":
        "issue 16: the producer of a lot without production date stood at an unknown time and could hold "
        "everything the distributor ever received, B (two days after M was shipped) and its farm included",
    "a lot cannot hold what came after it existed (up, from a later shipment)":
        "issue 16: M's second shipment on day 13 was unexplained and inferred from what the distributor "
        "received in the window before day 13, B included",
    "what came after a lot existed is not in it (down)":
        "the mirror of the two above: B's arrival on day 12 reached M's shipment of day 13",
    "a transformation before since is not followed (up)":
        "since/until bounded deliveries only: the kitchen's transformation of day 1 still led to A",
}


@pytest.mark.parametrize("name", sorted(MINIMAL))
def test_the_oracle_on_the_smallest_networks(db, name):
    """The specification's answer, worked out by hand, is the oracle's."""
    make, start, direction, options, want = MINIMAL[name]
    _load(db, make())
    o = oracle_trace(Network.read(db), start, direction, OracleOptions(**options))
    assert (o.deliveries, o.lots, o.stations) == want


@pytest.mark.parametrize("name", sorted(MINIMAL))
def test_trace_on_the_smallest_networks(db, name):
    make, start, direction, options, want = MINIMAL[name]
    _load(db, make())
    t = trace(ReadView(db), start[1], direction, TraceOptions(**options))
    assert _maps(t) == want


def _producers_ship(records: list) -> list:
    """Drop the producer of a lot its producer never ships (a live delivery): the one corner where the two
    directions differ by design (upstream the producer may have made the lot of what it received; downstream
    an arrival only looks for lots the station shipped)."""
    retracted = {r.event_id for r in records if r.table == "retraction"}
    shipped = {(r.lot_id, r.sender_id) for r in records if r.table == "delivery" and r.event_id not in retracted}
    return [replace(r, producer_id=None) if r.table == "lot" and r.producer_id and (r.id, r.producer_id) not in shipped
            else r for r in records]


def test_down_and_up_mirror_each_other_on_flow_networks(db):
    """Delivery y is downstream of delivery x exactly when x is upstream of y: inferred links hang off a
    station's receipts both ways, and a reached lot is reached whole. Checked on flow networks with
    transformations (killing ones included) and lots shipped without a recorded source; outside the one corner
    of :func:`_producers_ship`."""
    bad = []
    for seed in range(4000, 4000 + SEEDS // 5):
        rng = random.Random(seed)
        records = _producers_ship(random_network(rng, flow=True))
        _load(db, records)
        tracer = Tracer(ReadView(db))
        ids = sorted(r.id for r in records if r.table == "delivery" and r.event_id is None)
        down = {x: {d.id for d in tracer.trace(x, "down").deliveries} for x in ids}
        up = {y: {d.id for d in tracer.trace(y, "up").deliveries} for y in ids}
        bad += [f"seed {seed}: {y} in down({x}) is {y in down[x]}, {x} in up({y}) is {x in up[y]}"
                for x in ids for y in ids if (y in down[x]) != (x in up[y])]
    assert not bad, "\n".join(bad[:10])


def _bound_network():
    """Lot A is processed into K at X on day 1; K goes to s2 on day 10 (22 kg); s2 ships A (29 kg), which it never
    received, on day 13: a delivery of the whole lot A (certain), and one s2's K may have gone into (inferred)."""
    return [Transformation(id="t", station_id="X", time=at_hour(1 * D), kind="cutting"),
            TransformationItem(id="ti", transformation_id="t", lot_id="A", role="input"),
            TransformationItem(id="to", transformation_id="t", lot_id="K", role="output"),
            _dlv("d5", "K", "X", "s2", 10 * D, quantity=22.0, unit="KGM"),
            _dlv("d8", "A", "s2", "s1", 13 * D, quantity=29.0, unit="KGM")]


def test_a_certain_delivery_keeps_its_whole_quantity(db):
    _load(db, _bound_network())
    d8 = {d.id: d for d in trace(ReadView(db), "A", "down").deliveries}["d8"]
    assert (d8.tier, d8.inferred, d8.max_quantity) == ("certain", False, 29.0)


def test_an_index_answers_as_the_store_does(db):
    """reasoning.trace_index: a Tracer built on a TraceIndex gives the same traces (whole to_dict, evidence and
    likelihood included) as one reading the store, on flow and unrestricted random networks, random options."""
    from reasoning.trace_index import TraceIndex

    bad = []
    for seed in range(5000, 5000 + SEEDS // 4):
        rng = random.Random(seed)
        records = random_network(rng, flow=seed % 2 == 0)
        _load(db, records)
        options = random_options(rng, records)
        view = ReadView(db)
        index = TraceIndex.build(view)
        if options.get("holding") == "learn":
            options["holding"] = learn_windows(pass_throughs(view), quantile=0.9, min_samples=2)
        opts = TraceOptions(**options)
        store, memory = Tracer(view), Tracer(view, index)
        for start in _starts(Network.read(db)):
            for direction in ("down", "up"):
                a = store.trace(start[1], direction, opts).to_dict()
                b = memory.trace(start[1], direction, opts).to_dict()
                if a != b:
                    bad.append(f"seed {seed} {options} {start} {direction}")
    assert not bad, "\n".join(bad[:10])
