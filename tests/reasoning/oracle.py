"""A brute-force trace oracle, written from the specification in :mod:`reasoning.trace` (its module
docstring), not from its code.

It reads EVERY record of a small store (deliveries, lots, products, transformations and their items,
retractions), builds the explicit, fully timed state graph the specification describes and enumerates
everything reachable from the start: a state is ``(kind, ..., time)`` with its exact time, so no state
ever stands in for another one (no "earliest label wins" pruning); the closure over timed states is
exactly the set of end points of all time-respecting paths, with two flags per state (reached through
explicit links only, or through at least one inferred link). Exponential in nothing, but quadratic in
everything: small networks only.

States (down: the time is "from", up: "at")

* ``("W", lot, t)``: the whole lot carries the hazard;
* ``("P", lot, station, t)``: part of the lot is held at the station (``lot`` None: a station start);
* ``("D", delivery)``: the delivery, at its ship time.

Edges, downstream (``explicit`` unless said otherwise):

* W(L,t) -> D(d) for every delivery of L shipped at or after t, not from a kill station;
  W(L,t) -> W(O,tt) for every transformation using L at tt >= t (not a killing kind, not at a kill
  station), O an output; W(L,t) -> P(L, producer, max(t, production date));
* P(L,S,t) -> D(d) for the deliveries of L leaving S at or after t; -> W(O,tt) for the transformations at
  S using L at tt >= t (not a killing kind); INFERRED P(L,S,t) -> D(d') for a delivery of another lot L'
  from S shipped in [t, t + window(category of L)] that S neither received (arrival <= ship) nor made by
  a recorded transformation at S by then, where the ``may_contain`` policy allows;
* D(d) -> P(lot of d, receiver, arrival).

Upstream:

* W(L,t) -> P(L, X, tt) for each transformation at X that made L at tt <= t; -> P(L, producer,
  min(t, production date)); -> P(L, S, ts) for each station S (not the producer) whose first shipment
  of L at ts <= t has no recorded source (no arrival of L at S, no transformation at S making L, by ts);
* P(L,S,t) -> W(L,t) where nothing records how L came to S by t (the lot's own origins);
  P(L,S,t) -> D(d) for the deliveries of L arriving at S by t; -> P(I, S, tt) for each input I of a
  transformation at S that made L at tt <= t (not a killing kind); INFERRED, only where neither explains
  the presence: P(L,S,t) -> D(d) for every delivery of another lot into S arriving in
  [t - window(category of d's lot), t], where the policy allows;
* D(d) -> P(lot of d, sender, ship time).

Kill steps: a ``heating`` transformation kills a ``microbial`` hazard, ``destruction`` every hazard;
stations and lots named in ``kill`` cut a ``microbial`` or ``unknown`` trace: no state at a kill
station or of a kill lot leads anywhere, and (downstream) a whole lot does not reach the deliveries or
transformations of a kill station. ``since``/``until`` keep only deliveries shipped in the range; a
downstream lot trace starts at ``since``, an upstream one at ``until``.

An upstream presence at an unknown time (``+inf``: a station start without ``until``, a producer without
a production date) may hold anything the station ever received.

What a trace lists: every delivery reached (not the start delivery), every lot with a reached state or
a reached delivery (not the start's lot), and as stations, downstream, the receivers of the reached
deliveries (at their arrival), upstream, the station of every reached presence (senders of reached
deliveries, producers, transformation stations, first shippers) - never the station a start presence
sits at nor a start station; ``certain`` where an explicit-only path exists; the time is the earliest
(down) / latest (up) over all paths, tiers mixed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from ontology.times import BEIJING

__all__ = ["Network", "OracleOptions", "OracleResult", "oracle_trace", "WINDOWS_DAYS", "shrink", "random_network",
           "random_options", "CATEGORIES"]

#: the holding windows the docstring names (days by category); an unknown category gets 30 days.
#: Copied by hand from the specification's table, deliberately not imported.
WINDOWS_DAYS = {
    "live_pig": 7, "live_poultry": 7, "pork": 7, "beef_mutton": 7, "poultry": 7, "aquatic": 5,
    "leafy_vegetable": 3, "vegetable": 14, "fruit": 14, "egg": 30, "processed_meat": 30,
    "prepared_food": 3, "bakery": 15, "dairy": 30, "frozen_food": 180, "grain": 365, "edible_oil": 365,
    "condiment": 365, "beverage": 365, "infant_food": 365, "special_food": 365, "other": 30,
}
UNKNOWN_WINDOW_DAYS = 30.0


def seconds(value: str | None) -> float | None:
    """ISO 8601 date-time or date as epoch seconds (no offset = Beijing time)."""
    if value is None or value == "":
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    d = datetime.fromisoformat(text)
    if d.tzinfo is None:
        d = d.replace(tzinfo=BEIJING)
    return d.timestamp()


@dataclass(frozen=True)
class Dlv:
    id: str
    lot: str
    sender: str
    receiver: str
    ship: float
    arr: float


@dataclass(frozen=True)
class Tr:
    id: str
    station: str
    time: float
    kind: str | None
    inputs: frozenset[str]
    outputs: frozenset[str]


@dataclass
class Network:
    """Every live delivery and transformation of a store, and each lot's category and producer."""

    deliveries: dict[str, Dlv] = field(default_factory=dict)
    transformations: dict[str, Tr] = field(default_factory=dict)
    category: dict[str, str | None] = field(default_factory=dict)
    producer: dict[str, tuple[str, float | None]] = field(default_factory=dict)

    @classmethod
    def read(cls, store: Any) -> "Network":
        """Scan whole tables (no targeted look-ups: the oracle must not share the trace's read path)."""
        net = cls()
        retracted = {r.event_id for r in store.scan("retraction")}
        for d in store.scan("delivery"):
            if d.event_id is not None and d.event_id in retracted:
                continue
            ship = seconds(d.time)
            arr = seconds(d.received_time) if d.received_time else ship
            net.deliveries[d.id] = Dlv(d.id, d.lot_id, d.sender_id, d.receiver_id, ship, arr)
        items: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"input": set(), "output": set()})
        for it in store.scan("transformation_item"):
            if it.role in ("input", "output"):
                items[it.transformation_id][it.role].add(it.lot_id)
        for t in store.scan("transformation"):
            if t.event_id is not None and t.event_id in retracted:
                continue
            io = items.get(t.id, {"input": set(), "output": set()})
            net.transformations[t.id] = Tr(t.id, t.station_id, seconds(t.time), t.kind,
                                           frozenset(io["input"]), frozenset(io["output"]))
        products = {p.id: p for p in store.scan("product")}
        for lot in store.scan("lot"):
            p = products.get(lot.product_id)
            net.category[lot.id] = p.category if p is not None else None
            if lot.producer_id:
                net.producer[lot.id] = (lot.producer_id, seconds(lot.production_date))
        return net

    # plain, unindexed questions over all records ------------------------------------------------

    def explained(self, lot: str, station: str, at: float) -> bool:
        """The records say how ``lot`` came to be at ``station`` by ``at``."""
        if any(d.lot == lot and d.receiver == station and d.arr <= at for d in self.deliveries.values()):
            return True
        return any(t.station == station and lot in t.outputs and t.time <= at
                   for t in self.transformations.values())


@dataclass(frozen=True)
class OracleOptions:
    since: float | None = None
    until: float | None = None
    windows: Mapping[str, float] = field(default_factory=dict)
    hazard: str = "unknown"
    kill: frozenset[str] = frozenset()
    may_contain: Mapping[str, Iterable[str]] | None = None
    infer: bool = True
    #: spec readings where the docstring can be read two ways (see the test module):
    #: a downstream presence at the station of a transformation (inputs and outputs held there)
    transformation_presence: bool = True
    #: a kill lot cuts an upstream trace at every state of it (True) or only at the transformations
    #: that made it (False)
    up_kill_lot_everywhere: bool = True

    def window(self, category: str | None) -> float:
        if category is not None and category in self.windows:
            days = self.windows[category]
        elif category is not None and category in WINDOWS_DAYS:
            days = WINDOWS_DAYS[category]
        else:
            days = UNKNOWN_WINDOW_DAYS
        return float(days) * 86400.0

    def named_kills(self) -> bool:
        return self.hazard in ("microbial", "unknown")

    def kind_kills(self, kind: str | None) -> bool:
        return kind == "destruction" or (kind == "heating" and self.hazard == "microbial")

    def allows(self, held: str | None, shipped: str | None) -> bool:
        if self.may_contain is None or held is None or held not in self.may_contain:
            return True
        return shipped in set(self.may_contain[held])

    def in_range(self, t: float) -> bool:
        return (self.since is None or t >= self.since) and (self.until is None or t <= self.until)


@dataclass
class OracleResult:
    """id -> (tier, time) per kind; time None where it is infinite."""

    deliveries: dict[str, tuple[str, float | None]]
    lots: dict[str, tuple[str, float | None]]
    stations: dict[str, tuple[str, float | None]]
    n_states: int = 0


def _fin(t: float) -> float | None:
    return None if math.isinf(t) else t


def oracle_trace(net: Network, start: tuple[str, str], direction: str, opts: OracleOptions) -> OracleResult:
    """Trace from ``("lot", id)``, ``("delivery", id)`` or ``("station", id)``."""
    down = direction == "down"
    o = opts
    dels = net.deliveries
    killing = o.named_kills()

    def station_killed(s: str) -> bool:
        return killing and s in o.kill

    def lot_killed(lot: str | None) -> bool:
        return killing and lot is not None and lot in o.kill

    def cat(lot: str | None) -> str | None:
        return net.category.get(lot) if lot is not None else None

    def succ_down(state):
        kind = state[0]
        if kind == "D":
            d = dels[state[1]]
            yield ("P", d.lot, d.receiver, d.arr), True
            return
        if kind == "W":
            _, lot, t = state
            if lot_killed(lot):
                return
            for d in dels.values():
                if d.lot == lot and d.ship >= t and not station_killed(d.sender) and o.in_range(d.ship):
                    yield ("D", d.id), True
            for tr in net.transformations.values():
                if lot in tr.inputs and tr.time >= t and not o.kind_kills(tr.kind) and not station_killed(tr.station):
                    for out in tr.outputs:
                        yield ("W", out, tr.time), True
                        if o.transformation_presence:
                            yield ("P", out, tr.station, tr.time), True
                    if o.transformation_presence:
                        yield ("P", lot, tr.station, tr.time), True
            if lot in net.producer:
                prod, made = net.producer[lot]
                yield ("P", lot, prod, t if made is None else max(t, made)), True
            if o.transformation_presence:  # a lot is at the station that made it from then on
                for tr in net.transformations.values():
                    if lot in tr.outputs:
                        yield ("P", lot, tr.station, max(t, tr.time)), True
            return
        _, lot, st, t = state
        if lot_killed(lot) or station_killed(st):
            return
        for d in dels.values():
            if d.lot == lot and d.sender == st and d.ship >= t and o.in_range(d.ship):
                yield ("D", d.id), True
        for tr in net.transformations.values():
            if tr.station == st and lot in tr.inputs and tr.time >= t and not o.kind_kills(tr.kind):
                for out in tr.outputs:
                    yield ("W", out, tr.time), True
                    if o.transformation_presence:
                        yield ("P", out, st, tr.time), True
        if not o.infer:
            return
        end = t + o.window(cat(lot))
        for d in dels.values():
            if (d.sender == st and d.lot != lot and t <= d.ship <= end and o.in_range(d.ship)
                    and o.allows(cat(lot), cat(d.lot)) and not net.explained(d.lot, st, d.ship)):
                yield ("D", d.id), False

    def succ_up(state):
        kind = state[0]
        if kind == "D":
            d = dels[state[1]]
            yield ("P", d.lot, d.sender, d.ship), True
            return
        if kind == "W":
            _, lot, t = state
            if o.up_kill_lot_everywhere and lot_killed(lot):
                return
            for tr in net.transformations.values():
                if lot in tr.outputs and tr.time <= t:
                    yield ("P", lot, tr.station, tr.time), True
            prod = None
            if lot in net.producer:
                prod, made = net.producer[lot]
                yield ("P", lot, prod, t if made is None else min(t, made)), True
            first: dict[str, float] = {}
            for d in dels.values():
                if d.lot == lot and d.ship <= t and d.sender != prod:
                    first[d.sender] = min(first.get(d.sender, d.ship), d.ship)
            for st, ts in first.items():
                if not net.explained(lot, st, ts):
                    yield ("P", lot, st, ts), True
            return
        _, lot, st, t = state
        if station_killed(st):
            return
        if o.up_kill_lot_everywhere and lot_killed(lot):
            return
        if lot is not None:
            for d in dels.values():
                if d.lot == lot and d.receiver == st and d.arr <= t and o.in_range(d.ship):
                    yield ("D", d.id), True
            for tr in net.transformations.values():
                if (tr.station == st and lot in tr.outputs and tr.time <= t and not o.kind_kills(tr.kind)
                        and not lot_killed(lot)):
                    for src in tr.inputs:
                        yield ("P", src, st, tr.time), True
        if lot is not None and not net.explained(lot, st, t):
            yield ("W", lot, t), True   # held without a record of how: the lot's own origins
        if not o.infer or (lot is not None and net.explained(lot, st, t)):
            return
        for d in dels.values():
            in_window = t == math.inf or t - o.window(cat(d.lot)) <= d.arr
            if (d.receiver == st and d.lot != lot and in_window and d.arr <= t
                    and o.in_range(d.ship) and o.allows(cat(d.lot), cat(lot))):
                yield ("D", d.id), False

    # seeds
    kind, ident = start
    start_lot = start_delivery = start_station = None
    if kind == "lot":
        start_lot = ident
        t0 = (o.since if down else o.until)
        t0 = (-math.inf if down else math.inf) if t0 is None else t0
        seeds = [("W", ident, t0)]
    elif kind == "delivery":
        d = dels[ident]
        start_lot, start_delivery = d.lot, d.id
        seeds = [("P", d.lot, d.receiver, d.arr)] if down else [("P", d.lot, d.sender, d.ship)]
    elif kind == "station":
        start_station = ident
        if down:
            seeds = [("D", d.id) for d in dels.values() if d.sender == ident and o.in_range(d.ship)]
        else:
            seeds = [("P", None, ident, math.inf if o.until is None else o.until)]
    else:
        raise ValueError(kind)

    # exhaustive closure over timed states, with the explicit-only flag
    succ = succ_down if down else succ_up
    seen: set[tuple[Any, bool]] = set()
    stack = [(s, True) for s in seeds]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        state, explicit = node
        for nxt, ex in succ(state):
            key = (nxt, explicit and ex)
            if key not in seen:
                stack.append(key)

    def time_of(state) -> float:
        return dels[state[1]].ship if state[0] == "D" else state[-1]

    pick = min if down else max
    acc: dict[str, dict[str, list]] = {"deliveries": {}, "lots": {}, "stations": {}}

    def add(kind_: str, key: str, explicit: bool, t: float) -> None:
        cur = acc[kind_].get(key)
        if cur is None:
            acc[kind_][key] = [explicit, t]
        else:
            cur[0] = cur[0] or explicit
            cur[1] = pick(cur[1], t)

    seed_stations = {s[2] for s in seeds if s[0] == "P"}
    for state, explicit in seen:
        t = time_of(state)
        if state[0] == "D":
            d = dels[state[1]]
            if d.id != start_delivery:
                add("deliveries", d.id, explicit, t)
                add("lots", d.lot, explicit, t)
                if down:
                    add("stations", d.receiver, explicit, d.arr)
        elif state[0] == "W":
            add("lots", state[1], explicit, t)
        else:
            if state[1] is not None:
                add("lots", state[1], explicit, t)
            if not down:
                add("stations", state[2], explicit, t)
    acc["lots"].pop(start_lot, None)
    for s in seed_stations:
        acc["stations"].pop(s, None)
    acc["stations"].pop(start_station, None)

    def fin(m: dict[str, list]) -> dict[str, tuple[str, float | None]]:
        return {k: ("certain" if v[0] else "possible", _fin(v[1])) for k, v in m.items()}

    return OracleResult(fin(acc["deliveries"]), fin(acc["lots"]), fin(acc["stations"]), len(seen))


# -- shrinking a disagreement ------------------------------------------------------------------


def shrink(records: list, fails) -> list:
    """Delta-debug ``records`` to a smaller list on which ``fails(records)`` still holds.

    Removes one record at a time (a transformation takes its items with it) until no single removal
    keeps the failure; the result is 1-minimal.
    """
    cur = list(records)
    changed = True
    while changed:
        changed = False
        for i in range(len(cur)):
            r = cur[i]
            drop = {id(r)}
            if getattr(r, "table", "") == "transformation":
                drop |= {id(x) for x in cur if getattr(x, "transformation_id", None) == r.id}
            cand = [x for x in cur if id(x) not in drop]
            if len(cand) < len(cur) and fails(cand):
                cur = cand
                changed = True
                break
    return cur


# -- random networks -----------------------------------------------------------------------------

#: categories of the random networks: windows from 3 days (leafy vegetables) to half a year
CATEGORIES = ("leafy_vegetable", "aquatic", "pork", "vegetable", "egg", "frozen_food", "prepared_food", "live_pig")
_KINDS = ("Farm", "Slaughterhouse", "Stall", "Distributor", "Supermarket", "Canteen", "Restaurant", "Producer")
_TKINDS = ("slaughter", "cutting", "processing", "mixing", "repacking", "heating", "destruction")
_T0 = datetime(2026, 3, 1, tzinfo=BEIJING)


def at_hour(h: float) -> str:
    """ISO time ``h`` hours after 2026-03-01 00:00 Beijing time."""
    return (_T0 + timedelta(hours=h)).isoformat()


def random_network(rng, *, flow: bool = False) -> list:
    """A small random network as records: 5-12 stations of mixed kinds, 4-12 lots (most with a lot record,
    a product of a category of :data:`CATEGORIES`, some with a producer and a production date), 10-40
    events over 20 days on a 6-hour grid (equal times are common): deliveries (60 % ship a lot the sender
    holds, the rest a lot it never received - an own lot without a lot link), up to 4 transformations of
    any kind incl. heating and destruction (1-2 inputs, 1-2 outputs, most of them new lots), occasional
    receive times, quantities and retracted deliveries.

    ``flow=True`` ships goods one way only (from a station to one of a higher number: no cycles) and keeps
    every lot to at most one arrival (delivery, production, transformation output) and at most one
    departure (delivery, transformation input) per station.
    """
    from ontology.records import (Delivery, Event, Lot, Operator, Product, Retraction, Transformation,
                                  TransformationItem)
    recs: list = [Product(id=f"p:{c}", name=c, category=c) for c in CATEGORIES]
    stations = [f"s{i}" for i in range(rng.randint(5, 12))]
    for s in stations:
        if rng.random() < 0.7:
            recs.append(Operator(id=s, kind=rng.choice(_KINDS), name=f"站{s}"))
    lots = [f"L{i}" for i in range(rng.randint(4, 12))]
    hold: dict[str, set[str]] = {s: set() for s in stations}
    arrived: set[tuple[str, str]] = set()
    left: set[tuple[str, str]] = set()
    for lot in lots:
        if rng.random() < 0.85:
            prod = rng.choice(stations) if rng.random() < 0.6 else None
            day = rng.randint(0, 8) if rng.random() < 0.5 else None
            recs.append(Lot(id=lot, product_id=f"p:{rng.choice(CATEGORIES)}", producer_id=prod,
                            production_date=None if day is None else (_T0 + timedelta(days=day)).date().isoformat()))
            if prod:
                hold[prod].add(lot)
                arrived.add((lot, prod))
    n_tr = n_d = 0
    for h in sorted(rng.randint(0, 80) * 6 for _ in range(rng.randint(10, 40))):
        if rng.random() < 0.15 and n_tr < 4:
            st = rng.choice([x for x in stations if hold[x]] or stations)
            cand = sorted(hold[st]) or lots
            ins = set(rng.sample(cand, min(len(cand), rng.randint(1, 2))))
            if flow and any((i, st) in left for i in ins):
                continue
            left |= {(i, st) for i in ins}
            outs = set()
            for _ in range(rng.randint(1, 2)):
                if flow or rng.random() < 0.7:
                    out = f"L{len(lots)}"
                    lots.append(out)
                    if rng.random() < 0.7:
                        recs.append(Lot(id=out, product_id=f"p:{rng.choice(CATEGORIES)}",
                                        producer_id=st if rng.random() < 0.5 else None))
                else:
                    out = rng.choice(lots)
                if out not in ins:
                    outs.add(out)
                    arrived.add((out, st))
            tid = f"t{n_tr}"
            n_tr += 1
            recs.append(Transformation(id=tid, station_id=st, time=at_hour(h), kind=rng.choice(_TKINDS)))
            recs += [TransformationItem(id=f"{tid}i{i}", transformation_id=tid, lot_id=i, role="input")
                     for i in sorted(ins)]
            recs += [TransformationItem(id=f"{tid}o{o}", transformation_id=tid, lot_id=o, role="output")
                     for o in sorted(outs)]
            hold[st] |= outs
            continue
        held = [(s, lot) for s in stations for lot in sorted(hold[s])]
        for _ in range(20):   # a few draws until one fits the flow rules
            snd, lot = rng.choice(held) if held and rng.random() < 0.6 else (rng.choice(stations), rng.choice(lots))
            later = stations[stations.index(snd) + 1:] if flow else [x for x in stations if x != snd]
            if not later:
                continue
            rcv = rng.choice(later)
            if not flow or ((lot, rcv) not in arrived and (lot, snd) not in left):
                break
        else:
            continue
        arrived.add((lot, rcv))
        left.add((lot, snd))
        kw: dict[str, Any] = {}
        if rng.random() < 0.2:
            kw["received_time"] = at_hour(h + rng.randint(1, 12))
        if rng.random() < 0.5:
            kw["quantity"], kw["unit"] = float(rng.randint(1, 50)), "KGM"
        did = f"d{n_d}"
        n_d += 1
        if rng.random() < 0.05:
            kw["event_id"] = f"e{did}"
            recs += [Event(id=f"e{did}", hash=f"h{did}", type="ObjectEvent", time=at_hour(h)),
                     Retraction(id=f"r{did}", event_id=f"e{did}", declared=at_hour(h + 1), reason="incorrect_data")]
        recs.append(Delivery(id=did, lot_id=lot, sender_id=snd, receiver_id=rcv, time=at_hour(h), **kw))
        hold[rcv].add(lot)
    return recs


def random_options(rng, records: list, **fixed) -> dict:
    """Random trace options as keyword arguments (for both ``TraceOptions`` and :class:`OracleOptions`):
    since/until on the network's grid, explicit-only, a hazard, one or two kill stations or lots, a
    window override, a ``may_contain`` policy. ``fixed`` overrides."""
    kw: dict[str, Any] = {}
    if rng.random() < 0.2:
        kw["since"] = seconds(at_hour(rng.randint(0, 80) * 6))
    if rng.random() < 0.2:
        kw["until"] = seconds(at_hour(rng.randint(0, 80) * 6))
    if rng.random() < 0.15:
        kw["infer"] = False
    kw["hazard"] = rng.choice(["unknown", "microbial", "pesticide"])
    if rng.random() < 0.3:
        names = sorted({r.sender_id for r in records if r.table == "delivery"}
                       | {r.lot_id for r in records if r.table == "delivery"})
        kw["kill"] = frozenset(rng.sample(names, rng.randint(1, 2)))
    if rng.random() < 0.3:
        kw["windows"] = {rng.choice(CATEGORIES): rng.randint(1, 10)}
    if rng.random() < 0.15:
        kw["may_contain"] = {c: set(rng.sample(CATEGORIES, 3)) for c in rng.sample(CATEGORIES, 3)}
    kw.update(fixed)
    return kw
