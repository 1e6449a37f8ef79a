"""A brute-force trace oracle, written from the specification in :mod:`reasoning.trace` (its module
docstring), not from its code.

It reads EVERY record of a small store (deliveries, lots, products, operators, transformations and their
items, events, samples, retractions), builds the fully timed state graph the specification describes and
enumerates everything reachable from the start: a state is ``(kind, ..., time)`` with its exact time, so no
state ever stands in for another one (no "earliest label wins" pruning). Each timed state keeps every
(likelihood, inferred links) pair no other pair reaching it beats on both, so the closure holds the most
likely path of every item under the cuts (``min_likelihood``, ``max_inferred``). Quadratic in everything:
small networks only.

States (down: the time is "from", up: "at")

* ``("W", lot, t)``: the whole lot carries the hazard;
* ``("P", lot, station, t)``: part of the lot is held at the station (``lot`` None: a station start);
* ``("D", delivery)``: the delivery, at its ship time.

When a lot exists: ``exists(L)`` is the earliest of its production date (the day's last second), the time
of the event that created it, the times of live transformations using or making it, the ship times of its
live deliveries and its sample dates (the day's last second).

A lot's *makers*: ``S`` is a maker of ``K`` from ``f`` when ``f`` is the first (in-range) shipment of ``K``
from ``S`` and neither an arrival of ``K`` at ``S`` nor a transformation at ``S`` making ``K`` is recorded
by ``f``. What ``S`` may have made ``K`` of: the deliveries ``r`` into ``S`` of another lot, shipped in the
range, arrived within ``[f - link window, min(f, exists(K))]`` (the lower bound dropped where ``f`` is
infinite; the link window is the longer of the windows of r's lot's category and K's category at S's kind of
station), allowed by the policy. The share of lot ``L`` is its part of those deliveries, each counting as the part of
its lot received at S that the records do not show leaving S (shipped on as itself, or used as a recorded
transformation's input: by quantity where all those records carry one in one unit, else 1) times the learned
survival of its category
at S's kind of station at ``min(f, exists(K))`` minus its arrival (the chance it was still there; 1 without
learned windows). A delivery whose share is 0 is no link.

Edges, downstream (explicit unless said otherwise):

* W(L,t) -> D(d) for every delivery of L shipped at or after t, not from a kill station;
  W(L,t) -> W(O,tt) for every transformation using L at tt >= t in the range (not a killing kind, not at a
  kill station), O an output;
* P(L,S,t) -> D(d) for the deliveries of L leaving S at or after t; -> W(O,tt) for the transformations at
  S using L at tt >= t in the range (not a killing kind);
* D(d) -> P(lot of d, receiver, arrival); INFERRED D(d) -> W(K, arrival) for every lot K != lot of d whose
  maker the receiver is from f with arrival <= f <= arrival + link window (d's lot's category, K's
  category) and arrival <= exists(K), the policy allowing (category of d's lot -> category of K); factor:
  the share of d's lot in what the receiver may have made K of (no link where it is 0);
* the start presence P(L,S,t) has the same inferred edges as an arrival of L at S at t (L counting as one
  more delivery where no delivery of it is among what S may have made K of).

Upstream:

* W(K,t) -> P(K, X, tt) for each transformation at X that made K at tt <= t in the range; -> P(K, producer,
  min(t, exists(K))); -> P(K, S, min(f, t)) for every maker S of K from f (not the producer; a lot is made
  once, so a maker that first ships it after t still made it); INFERRED W(K,t) -> D(r) for every
  maker S from f and every delivery r of what S may have made K of, and likewise for a producer that
  never ships K (in the range), with f = min(t, exists(K)) where K is not explained there then; factor: the
  share of r's lot;
* P(K,S,t) -> D(d) for the deliveries of K arriving at S by t; -> P(I, S, tt) for each input I of a
  transformation at S that made K at tt <= t in the range (not a killing kind); P(K,S,t) -> W(K,t) (a
  portion of a lot holds what the whole lot holds);
* P(None,S,t) (a station start) -> D(r) for every delivery into S arriving in [t - window(category of r's
  lot, kind of S), t] (any arrival by t where t is infinite): recorded links, explicit-only traces too;
* D(d) -> P(lot of d, sender, ship time).

Kill steps: a ``heating`` transformation kills a ``microbial`` hazard, ``destruction`` every hazard;
stations and lots named in ``kill`` cut a ``microbial`` or ``unknown`` trace: no state at a kill station or
of a kill lot leads anywhere (a delivery of a kill lot neither), a kill station makes nothing it may have
made of its receipts, and (downstream) a whole lot does not reach the deliveries or transformations of a
kill station. ``since``/``until`` keep only deliveries shipped and transformations done in the range; a
downstream lot trace starts at ``since``, an upstream one at ``until``.

Likelihood: 1 at the start; a path multiplies its inferred factors. A pair (likelihood, inferred links) is
kept only where the likelihood is at least ``min_likelihood`` and the links at most ``max_inferred``.

What a trace lists: every delivery reached (not the start delivery), every lot with a reached state or
a reached delivery (not the start's lot), and as stations, downstream, the receivers of the reached
deliveries (at their arrival), upstream, the station of every reached presence (senders of reached
deliveries, producers, transformation stations, makers) - never the station a start presence sits at nor
a start station; ``certain`` where a path without inferred links exists; the likelihood is the largest over
all paths; the time is the earliest (down) / latest (up) over all paths.
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


def seconds(value: str | None, end_of_day: bool = False) -> float | None:
    """ISO 8601 date-time or date as epoch seconds (no offset = Beijing time; a date is its midnight, or its
    last second with ``end_of_day``)."""
    if value is None or value == "":
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    d = datetime.fromisoformat(text)
    if len(text) == 10 and end_of_day:
        d += timedelta(days=1, seconds=-1)
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
    quantity: float | None = None
    unit: str | None = None


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
    """Every live delivery and transformation of a store, and each lot's category, producer and existence."""

    deliveries: dict[str, Dlv] = field(default_factory=dict)
    transformations: dict[str, Tr] = field(default_factory=dict)
    category: dict[str, str | None] = field(default_factory=dict)
    producer: dict[str, tuple[str, float | None]] = field(default_factory=dict)
    kind: dict[str, str | None] = field(default_factory=dict)
    created: dict[str, float] = field(default_factory=dict)    # lot -> time of the event that created it
    sampled: dict[str, float] = field(default_factory=dict)    # lot -> end of its first sampling day
    made_on: dict[str, float] = field(default_factory=dict)    # lot -> end of its production date
    input_qty: dict[tuple[str, str], tuple[float, str | None]] = field(default_factory=dict)  # (transformation, lot)

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
            net.deliveries[d.id] = Dlv(d.id, d.lot_id, d.sender_id, d.receiver_id, ship, arr, d.quantity, d.unit)
        items: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"input": set(), "output": set()})
        for it in store.scan("transformation_item"):
            if it.role in ("input", "output"):
                items[it.transformation_id][it.role].add(it.lot_id)
            if it.role == "input" and it.quantity is not None:
                net.input_qty[(it.transformation_id, it.lot_id)] = (it.quantity, it.unit)
        for t in store.scan("transformation"):
            if t.event_id is not None and t.event_id in retracted:
                continue
            io = items.get(t.id, {"input": set(), "output": set()})
            net.transformations[t.id] = Tr(t.id, t.station_id, seconds(t.time), t.kind,
                                           frozenset(io["input"]), frozenset(io["output"]))
        products = {p.id: p for p in store.scan("product")}
        events = {e.id: e for e in store.scan("event")}
        for op in store.scan("operator"):
            net.kind[op.id] = op.kind
        for lot in store.scan("lot"):
            p = products.get(lot.product_id)
            net.category[lot.id] = p.category if p is not None else None
            if lot.producer_id:
                net.producer[lot.id] = (lot.producer_id, seconds(lot.production_date))
            if lot.production_date:
                net.made_on[lot.id] = seconds(lot.production_date, end_of_day=True)
            ev = events.get(lot.event_id) if lot.event_id else None
            if ev is not None and ev.time and ev.id not in retracted:
                net.created[lot.id] = seconds(ev.time)
        for s in store.scan("sample"):
            if s.lot_id and s.sampled_at:
                t = seconds(s.sampled_at, end_of_day=True)
                net.sampled[s.lot_id] = min(t, net.sampled.get(s.lot_id, t))
        return net

    # plain, unindexed questions over all records ------------------------------------------------

    def explained(self, lot: str, station: str, at: float) -> bool:
        """The records say how ``lot`` came to be at ``station`` by ``at``."""
        if any(d.lot == lot and d.receiver == station and d.arr <= at for d in self.deliveries.values()):
            return True
        return any(t.station == station and lot in t.outputs and t.time <= at
                   for t in self.transformations.values())

    def exists(self, lot: str) -> float:
        times = [self.made_on.get(lot, math.inf), self.created.get(lot, math.inf), self.sampled.get(lot, math.inf)]
        times += [d.ship for d in self.deliveries.values() if d.lot == lot]
        times += [t.time for t in self.transformations.values() if lot in t.inputs or lot in t.outputs]
        return min(times)


@dataclass(frozen=True)
class OracleOptions:
    since: float | None = None
    until: float | None = None
    windows: Mapping[str, float] = field(default_factory=dict)
    hazard: str = "unknown"
    kill: frozenset[str] = frozenset()
    may_contain: Mapping[str, Iterable[str]] | None = None
    infer: bool = True
    #: the specification's defaults, copied by hand
    min_likelihood: float = 0.05
    max_inferred: int | None = 2
    #: learned windows (a :class:`reasoning.holding.HoldingWindows`: its ``lookup``, ``survival`` and ``allows``),
    #: consulted after ``windows`` and before the hand-set table, and for the category policy where
    #: ``may_contain`` is None; None: the hand-set table only, any category into any
    holding: Any = None

    def window(self, category: str | None, kind: str | None = None) -> float:
        learned = self.holding.lookup(category, kind) if self.holding is not None else None
        if category is not None and category in self.windows:
            days = self.windows[category]
        elif learned is not None:
            days = learned.days
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
        if self.may_contain is None:
            return self.holding is None or self.holding.allows(held, shipped)
        if held is None or held not in self.may_contain:
            return True
        return shipped in set(self.may_contain[held])

    def in_range(self, t: float) -> bool:
        return (self.since is None or t >= self.since) and (self.until is None or t <= self.until)

    def keeps(self, likelihood: float, hops: int) -> bool:
        return likelihood >= self.min_likelihood and (self.max_inferred is None or hops <= self.max_inferred)


@dataclass
class OracleResult:
    """id -> (tier, time) per kind; time None where it is infinite; ``likelihood``: id -> likelihood."""

    deliveries: dict[str, tuple[str, float | None]]
    lots: dict[str, tuple[str, float | None]]
    stations: dict[str, tuple[str, float | None]]
    n_states: int = 0
    likelihood: dict[str, dict[str, float]] = field(default_factory=dict)


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

    def first_ship(lot: str, station: str) -> float | None:
        ts = [d.ship for d in dels.values() if d.lot == lot and d.sender == station and o.in_range(d.ship)]
        return min(ts) if ts else None

    def maker_from(lot: str, station: str) -> float | None:
        """When ``station`` is a maker of ``lot`` (None if it is not)."""
        f = first_ship(lot, station)
        if f is None or net.explained(lot, station, f):
            return None
        return f

    def link_window(held: str | None, made: str | None, station: str) -> float:
        kind = net.kind.get(station)
        return max(o.window(held, kind), o.window(made, kind))

    def made_of(lot: str, station: str, f: float) -> list[Dlv]:
        """The deliveries ``station`` may have made ``lot`` of, from ``f``."""
        if station_killed(station):
            return []
        upper = min(f, net.exists(lot))
        return [r for r in dels.values()
                if r.receiver == station and r.lot != lot and o.in_range(r.ship) and r.arr <= upper
                and (math.isinf(f) or r.arr >= f - link_window(cat(r.lot), cat(lot), station))
                and o.allows(cat(r.lot), cat(lot))]

    def left(lot: str, station: str) -> float:
        """The part of ``lot`` received at ``station`` the records do not show leaving it."""
        flows = [(d.quantity, d.unit, 1) for d in dels.values() if d.lot == lot and d.receiver == station]
        received = [q for q, _u, _s in flows]
        flows += [(d.quantity, d.unit, -1) for d in dels.values() if d.lot == lot and d.sender == station]
        flows += [(None, None, -1) for t in net.transformations.values() if t.station == station and lot in t.inputs
                  for _ in [0] if net.input_qty.get((t.id, lot)) is None]
        flows += [(*net.input_qty[(t.id, lot)], -1) for t in net.transformations.values()
                  if t.station == station and lot in t.inputs and net.input_qty.get((t.id, lot)) is not None]
        if not received or not any(sgn < 0 for _q, _u, sgn in flows):
            return 1.0
        if any(q is None or q <= 0 for q, _u, _s in flows) or len({u for _q, u, _s in flows}) != 1:
            return 1.0
        total = sum(received)
        return max(0.0, total - sum(q for q, _u, sgn in flows if sgn < 0)) / total

    def shares(got: list[Dlv], station: str, upper: float, extra: str | None = None) -> dict[str, float]:
        w: dict[str, float] = defaultdict(float)
        for r in got:
            part = left(r.lot, station)
            still = 1.0 if o.holding is None or part == 0 else o.holding.survival(
                cat(r.lot), net.kind.get(station), upper - r.arr)
            w[r.lot] += part * still
        if extra is not None and extra not in w:
            w[extra] += 1.0
        total = sum(w.values())
        return {k: v / total for k, v in w.items()} if total else {}

    def arrival_links(lot: str, station: str, a: float):
        """INFERRED links of ``lot`` arriving at ``station`` at ``a`` (downstream)."""
        if not o.infer or lot_killed(lot) or station_killed(station) or math.isinf(a):
            return
        for k in sorted({d.lot for d in dels.values() if d.sender == station and d.lot != lot}):
            f = maker_from(k, station)
            if (f is None or not a <= f <= a + link_window(cat(lot), cat(k), station) or a > net.exists(k)
                    or not o.allows(cat(lot), cat(k))):
                continue
            share = shares(made_of(k, station, f), station, min(f, net.exists(k)), extra=lot).get(lot, 0.0)
            if share > 0:
                yield ("W", k, a), share

    def succ_down(state, seed: bool):
        kind = state[0]
        if kind == "D":
            d = dels[state[1]]
            if lot_killed(d.lot):
                return
            yield ("P", d.lot, d.receiver, d.arr), None
            for nxt, f in arrival_links(d.lot, d.receiver, d.arr):
                yield nxt, f
            return
        if kind == "W":
            _, lot, t = state
            if lot_killed(lot):
                return
            for d in dels.values():
                if d.lot == lot and d.ship >= t and not station_killed(d.sender) and o.in_range(d.ship):
                    yield ("D", d.id), None
            for tr in net.transformations.values():
                if (lot in tr.inputs and tr.time >= t and o.in_range(tr.time) and not o.kind_kills(tr.kind)
                        and not station_killed(tr.station)):
                    for out in tr.outputs:
                        yield ("W", out, tr.time), None
            return
        _, lot, st, t = state
        if lot_killed(lot) or station_killed(st):
            return
        for d in dels.values():
            if d.lot == lot and d.sender == st and d.ship >= t and o.in_range(d.ship):
                yield ("D", d.id), None
        for tr in net.transformations.values():
            if tr.station == st and lot in tr.inputs and tr.time >= t and o.in_range(tr.time) and not o.kind_kills(tr.kind):
                for out in tr.outputs:
                    yield ("W", out, tr.time), None
        if seed:
            for nxt, f in arrival_links(lot, st, t):
                yield nxt, f

    def succ_up(state, seed: bool):
        kind = state[0]
        if kind == "D":
            d = dels[state[1]]
            if lot_killed(d.lot):
                return
            yield ("P", d.lot, d.sender, d.ship), None
            return
        if kind == "W":
            _, lot, t = state
            if lot_killed(lot):
                return
            for tr in net.transformations.values():
                if lot in tr.outputs and tr.time <= t and o.in_range(tr.time):
                    yield ("P", lot, tr.station, tr.time), None
            e = net.exists(lot)
            makers = []
            prod = net.producer.get(lot, (None, None))[0]
            senders = {d.sender for d in dels.values() if d.lot == lot}
            if prod is not None:
                at = min(t, e)
                yield ("P", lot, prod, at), None
                if first_ship(lot, prod) is None and not net.explained(lot, prod, at):
                    makers.append((prod, at))
            for s in sorted(senders):
                f = maker_from(lot, s)
                if f is not None:
                    if s != prod:   # the producer is where it made the lot, by its existence
                        yield ("P", lot, s, min(f, t)), None
                    makers.append((s, f))
            if o.infer:
                for s, f in makers:
                    got = made_of(lot, s, f)
                    sh = shares(got, s, min(f, net.exists(lot)))
                    for r in got:
                        if sh.get(r.lot, 0.0) > 0:
                            yield ("D", r.id), sh[r.lot]
            return
        _, lot, st, t = state
        if station_killed(st) or lot_killed(lot):
            return
        if lot is None:
            kind_ = net.kind.get(st)
            for r in dels.values():
                if r.receiver == st and r.arr <= t and o.in_range(r.ship) and (
                        math.isinf(t) or r.arr >= t - o.window(cat(r.lot), kind_)):
                    yield ("D", r.id), None
            return
        for d in dels.values():
            if d.lot == lot and d.receiver == st and d.arr <= t and o.in_range(d.ship):
                yield ("D", d.id), None
        for tr in net.transformations.values():
            if (tr.station == st and lot in tr.outputs and tr.time <= t and o.in_range(tr.time)
                    and not o.kind_kills(tr.kind)):
                for src in tr.inputs:
                    yield ("P", src, st, tr.time), None
        yield ("W", lot, t), None   # a portion holds what the whole lot holds: the lot's own origins

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

    # exhaustive closure over timed states; each keeps its Pareto set of (likelihood, inferred links)
    succ = succ_down if down else succ_up
    best: dict[Any, list[tuple[float, int]]] = {}

    def add(state, lik: float, hops: int) -> bool:
        if not o.keeps(lik, hops):
            return False
        have = best.setdefault(state, [])
        if any(l2 >= lik and h2 <= hops for l2, h2 in have):
            return False
        have[:] = [(l2, h2) for l2, h2 in have if not (lik >= l2 and hops <= h2)] + [(lik, hops)]
        return True

    stack = []
    for s in seeds:
        if add(s, 1.0, 0):
            stack.append((s, 1.0, 0, True))
    while stack:
        state, lik, hops, seed = stack.pop()
        if (lik, hops) not in best.get(state, ()):
            continue   # beaten since it was queued
        for nxt, factor in succ(state, seed):
            nl, nh = (lik, hops) if factor is None else (lik * factor, hops + 1)
            if add(nxt, nl, nh):
                stack.append((nxt, nl, nh, False))

    def time_of(state) -> float:
        return dels[state[1]].ship if state[0] == "D" else state[-1]

    pick = min if down else max
    acc: dict[str, dict[str, list]] = {"deliveries": {}, "lots": {}, "stations": {}}

    def put(kind_: str, key: str, certain: bool, lik: float, t: float) -> None:
        cur = acc[kind_].get(key)
        if cur is None:
            acc[kind_][key] = [certain, lik, t]
        else:
            cur[0] = cur[0] or certain
            cur[1] = max(cur[1], lik)
            cur[2] = pick(cur[2], t)

    seed_stations = {s[2] for s in seeds if s[0] == "P"}
    for state, pairs in best.items():
        t = time_of(state)
        certain = any(h == 0 for _, h in pairs)
        lik = max(x for x, _ in pairs)
        if state[0] == "D":
            d = dels[state[1]]
            if d.id != start_delivery:
                put("deliveries", d.id, certain, lik, t)
                put("lots", d.lot, certain, lik, t)
                if down:
                    put("stations", d.receiver, certain, lik, d.arr)
                else:
                    put("stations", d.sender, certain, lik, t)
        elif state[0] == "W":
            put("lots", state[1], certain, lik, t)
        else:
            if state[1] is not None:
                put("lots", state[1], certain, lik, t)
            if not down:
                put("stations", state[2], certain, lik, t)
    acc["lots"].pop(start_lot, None)
    for s in seed_stations:
        acc["stations"].pop(s, None)
    acc["stations"].pop(start_station, None)

    def fin(m: dict[str, list]) -> dict[str, tuple[str, float | None]]:
        return {k: ("certain" if v[0] else "possible", _fin(v[2])) for k, v in m.items()}

    liks = {name: {k: v[1] for k, v in m.items()} for name, m in acc.items()}
    return OracleResult(fin(acc["deliveries"]), fin(acc["lots"]), fin(acc["stations"]), len(best), liks)


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
    window override, a ``may_contain`` policy, likelihood and inferred-link cuts, windows learned from the
    network (``holding="learn"``: the caller learns them). ``fixed`` overrides."""
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
    if rng.random() < 0.2:
        kw["min_likelihood"] = rng.choice([0.05, 0.2, 0.5])
    if rng.random() < 0.2:
        kw["max_inferred"] = rng.choice([0, 1, 2])
    if rng.random() < 0.3:
        kw["holding"] = "learn"   # the test learns windows from the network it loaded
    kw.update(fixed)
    return kw
