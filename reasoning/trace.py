"""Lot-level, time-respecting traces downstream and upstream.

What a trace follows
--------------------
A trace follows **lots**, not operators. Its states are

* a *whole lot* (``lot L from time t``): the lot as a whole carries the
  hazard - the start lot, and every lot made from a carrying input by a
  recorded transformation;
* a *presence* (``L at station S from time t``): part of lot ``L`` is held at
  ``S`` - after a delivery of ``L`` arrived there, at its producer, at the
  station of a transformation;
* a *delivery* (reached at its ship time).

Downstream, a whole lot reaches every delivery of it that left at or after
the time it became a carrier, and every transformation that used it at or
after that time (the outputs become whole carrier lots). A presence ``L at S
from t`` reaches the deliveries of ``L`` leaving ``S`` at or after ``t`` and
the transformations at ``S`` using ``L`` at or after ``t``: these are
**explicit** links, and a state reached through explicit links only is
``certain``.

Where a station records no lot link for what it ships - a delivery of a lot
``L'`` from ``S`` that ``S`` neither received before shipping nor made by a
recorded transformation (a stall or distributor selling under its own lot, a
kitchen, a producer without production records) - that shipment may contain
whatever ``S`` held before it left: an **inferred** link from a presence
``L at S from t`` to the delivery, when it left between ``t`` and ``t`` plus
the holding window of ``L``'s category (:data:`DEFAULT_WINDOWS`, days,
configurable) and the optional category policy allows it. Anything reached
through an inferred link is ``possible``.

Upstream mirrors this with the latest times: the portion of ``L`` at ``S`` at
time ``t`` came in by deliveries of ``L`` that arrived by ``t`` or from the
inputs of a transformation at ``S`` that made ``L`` by ``t`` (explicit); where
neither explains it, from anything ``S`` received within the holding window
of the received lot's category before ``t`` (inferred). A whole lot's origin
is its producer at its production date, each station that first shipped it
without a recorded source, and the transformations that made it. An upstream
presence at an unknown time (a station start without ``until``, a producer
without a production date) may hold anything the station ever received. A
lot held at a station with no record of how it got there also came from the
lot's own origins (explicit: the lot id says so).

A delivery's arrival is its receive time where recorded, else its ship time.
Times are compared as instants; equal times count as "before".

Kill steps: a transformation of kind ``heating`` kills pathogens (hazard
``microbial``), ``destruction`` removes every hazard; stations or lots named
as kill steps cut the trace for a pathogen hazard (or an unknown one). Heat
does nothing to drug residues, pesticides or metals, so for those hazards
``kill`` is ignored and the trace says so in its notes.

The stations of a downstream trace are those the reached deliveries went to
(a lot's producer is where the hazard started, not where it was carried);
those of an upstream trace are the senders of the reached deliveries and the
origins of the reached lots (producers, transformation stations).

Each reached lot, delivery and station carries its tier, its time (down: the
earliest it could have been reached; up: the latest it could have
contributed) and its evidence: the delivery ids of one path from the start
(the explicit path where the item is certain). A reached delivery also carries
``max_quantity``, an upper bound of how much of the traced goods it can hold:
all of it on an explicit link; on an inferred link no more than the station
received of the held lot before it left, where the units agree.

Everything here is pure: it reads through a :class:`graph.view.ReadView` (one
query per frontier and kind of lookup), never writes, never prints.

Examples
--------
A farm ships a lot to a market stall; the stall ships it on to a shop before
and after a second lot arrives:

>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Delivery
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "t.db"))
>>> _ = s.write([
...     Delivery(id="d1", lot_id="A", sender_id="farm", receiver_id="stall", time="2026-03-01T06:00:00+08:00"),
...     Delivery(id="d2", lot_id="A", sender_id="stall", receiver_id="shop", time="2026-03-01T09:00:00+08:00")])
>>> t = trace(ReadView(s), "A", "down")
>>> [(d.id, d.tier, d.evidence) for d in t.deliveries]
[('d1', 'certain', ('d1',)), ('d2', 'certain', ('d1', 'd2'))]
>>> [st.id for st in t.stations]
['stall', 'shop']
>>> [st.id for st in trace(ReadView(s), "d2", "up").stations]  # the stall shipped d2: it is the start
['farm']
>>> s.close()
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Collection, Iterable, Mapping

from ontology import vocab
from ontology.errors import InvalidRecord, NotFound
from ontology.records import Delivery, Lot, Transformation, TransformationItem
from ontology.times import epoch, format_instant

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = [
    "CERTAIN", "POSSIBLE", "DEFAULT_WINDOWS", "DEFAULT_WINDOW", "HAZARDS", "KILL_KINDS",
    "TraceOptions", "Start", "TracedLot", "TracedDelivery", "TracedStation", "Trace",
    "resolve_start", "trace", "Tracer", "hazard_of_sample",
]

CERTAIN = "certain"
POSSIBLE = "possible"

#: holding windows in days by category of the held lot: how long after a lot arrived a station's
#: unrecorded output may still contain it (chilled meat a week, leafy vegetables three days, frozen
#: goods half a year, shelf-stable goods a year)
DEFAULT_WINDOWS: dict[str, float] = {
    "live_pig": 7, "live_poultry": 7, "pork": 7, "beef_mutton": 7, "poultry": 7, "aquatic": 5,
    "leafy_vegetable": 3, "vegetable": 14, "fruit": 14, "egg": 30, "processed_meat": 30,
    "prepared_food": 3, "bakery": 15, "dairy": 30, "frozen_food": 180, "grain": 365, "edible_oil": 365,
    "condiment": 365, "beverage": 365, "infant_food": 365, "special_food": 365, "other": 30,
}
#: window for a lot whose category is unknown
DEFAULT_WINDOW = 30.0

#: hazard kinds a trace can follow: ``unknown`` and the test-result hazard classes of the ontology's SKOS scheme
HAZARDS: tuple[str, ...] = ("unknown", *vocab.labels("hazard_class"))
#: transformation kinds that remove a hazard (``*`` = every hazard)
#: (a recorded heating step cuts only a known pathogen trace: with an unknown hazard the trace stays
#: conservative; stations or lots named as kill steps cut a pathogen trace or one of unknown hazard)
KILL_KINDS: dict[str, frozenset[str]] = {"heating": frozenset({"microbial"}), "destruction": frozenset({"*"})}

#: the longest a delivery is taken to travel: receipts are read back to the widest window plus this
_TRANSIT = 7 * 86400.0


@dataclass(frozen=True)
class TraceOptions:
    """How a trace reasons; every field has a sensible default.

    ``windows`` override :data:`DEFAULT_WINDOWS` per category (days);
    ``may_contain`` narrows inferred links: held category -> categories of
    shipped goods that may contain it (a category absent from the mapping is
    not narrowed); ``kill`` holds canonical station or lot ids whose
    processing kills the hazard; ``infer=False`` follows explicit links only.
    """

    since: float | None = None
    until: float | None = None
    windows: Mapping[str, float] = field(default_factory=dict)
    default_window: float = DEFAULT_WINDOW
    hazard: str = "unknown"
    kill: frozenset[str] = frozenset()
    may_contain: Mapping[str, Collection[str]] | None = None
    infer: bool = True

    def window(self, category: str | None) -> float:
        """The holding window of a category, in seconds."""
        days = self.windows.get(category or "", DEFAULT_WINDOWS.get(category or "", self.default_window))
        return float(days) * 86400.0

    def killable(self) -> bool:
        """Whether the named kill steps apply: a pathogen, or a hazard not known to be a residue."""
        return self.hazard in ("microbial", "unknown")

    def kills(self, kind: str | None) -> bool:
        hz = KILL_KINDS.get(kind or "")
        return bool(hz) and ("*" in hz or self.hazard in hz)

    def allows(self, held: str | None, shipped: str | None) -> bool:
        if self.may_contain is None or held is None or held not in self.may_contain:
            return True
        return shipped in self.may_contain[held]


@dataclass(frozen=True)
class Start:
    """Where a trace starts: the record the identifier named and what it pins down."""

    kind: str                      # lot, delivery, sample, trace_code, station
    id: str                        # canonical id of that record
    input: str                     # the identifier as given
    lot_id: str | None = None      # the lot it names, where one is known
    station_id: str | None = None  # where it was (sample: sampled station; delivery: see direction)
    time: float | None = None      # when (sample: sampling date; delivery: ship time)
    product_id: str | None = None  # a lotless sample's product
    hazard: str | None = None      # a sample's hazard class where its failed results agree
    category: str | None = None    # a sample's food category

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "input": self.input, "lot": self.lot_id,
                "station": self.station_id, "time": format_instant(self.time), "product": self.product_id,
                "hazard": self.hazard}


@dataclass(frozen=True)
class _Item:
    id: str
    tier: str
    time: str | None
    evidence: tuple[str, ...]
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class TracedLot(_Item):
    product_id: str | None = None
    product_name: str | None = None
    category: str | None = None
    lot_number: str | None = None
    producer_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "aliases": list(self.aliases), "tier": self.tier, "time": self.time,
                "evidence": list(self.evidence), "product": self.product_id, "product_name": self.product_name,
                "category": self.category, "lot_number": self.lot_number, "producer": self.producer_id}


@dataclass(frozen=True)
class TracedDelivery(_Item):
    lot_id: str = ""
    sender_id: str = ""
    receiver_id: str = ""
    ship_time: str | None = None
    received_time: str | None = None
    quantity: float | None = None
    unit: str | None = None
    max_quantity: float | None = None
    ticket_id: str | None = None
    certificate_id: str | None = None
    trace_code: str | None = None
    inferred: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "aliases": list(self.aliases), "tier": self.tier, "time": self.time,
                "evidence": list(self.evidence), "lot": self.lot_id, "from": self.sender_id, "to": self.receiver_id,
                "ship_time": self.ship_time, "received_time": self.received_time, "quantity": self.quantity,
                "unit": self.unit, "max_quantity": self.max_quantity, "ticket": self.ticket_id,
                "certificate": self.certificate_id, "trace_code": self.trace_code, "inferred": self.inferred}


@dataclass(frozen=True)
class TracedStation(_Item):
    name: str | None = None
    kind: str | None = None
    region_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "aliases": list(self.aliases), "tier": self.tier, "time": self.time,
                "evidence": list(self.evidence), "name": self.name, "kind": self.kind, "district": self.region_id}


@dataclass(frozen=True)
class Trace:
    """A finished trace: what it reached, how, and with which settings."""

    direction: str
    start: Start
    lots: tuple[TracedLot, ...]
    deliveries: tuple[TracedDelivery, ...]
    stations: tuple[TracedStation, ...]
    options: TraceOptions
    notes: tuple[str, ...] = ()

    def counts(self) -> dict[str, dict[str, int]]:
        out = {}
        for name in ("lots", "deliveries", "stations"):
            c = {CERTAIN: 0, POSSIBLE: 0}
            for it in getattr(self, name):
                c[it.tier] += 1
            out[name] = c
        return out

    def to_dict(self) -> dict[str, Any]:
        o = self.options
        return {
            "direction": self.direction, "start": self.start.to_dict(),
            "options": {"since": format_instant(o.since), "until": format_instant(o.until), "hazard": o.hazard,
                        "kill": sorted(o.kill), "infer": o.infer,
                        "windows": {**DEFAULT_WINDOWS, **{k: float(v) for k, v in o.windows.items()}},
                        "default_window": o.default_window},
            "counts": self.counts(),
            "lots": [x.to_dict() for x in self.lots],
            "deliveries": [x.to_dict() for x in self.deliveries],
            "stations": [x.to_dict() for x in self.stations],
            "notes": list(self.notes),
        }


# -- the network, read lazily in frontier batches ----------------------------------------------


def _arrival(d: Delivery) -> float:
    return epoch(d.received_time) if d.received_time else epoch(d.time)  # type: ignore[return-value]


class _Net:
    """Cached, batched reads of the parts of the network a trace touches."""

    def __init__(self, view: "ReadView") -> None:
        self.view = view
        self.retracted = view.retracted_events()
        self.lot_dels: dict[str, list[Delivery]] = {}
        self.out: dict[str, list[Delivery]] = {}
        self.inn: dict[str, list[Delivery]] = {}
        self.items_of_lot: dict[str, list[TransformationItem]] = {}
        self.trans: dict[str, tuple[Transformation, list[str], list[str]] | None] = {}
        self.lots: dict[str, Lot | None] = {}
        self.category: dict[str, str | None] = {}
        self.ship: dict[str, float] = {}
        self.arr: dict[str, float] = {}
        self.ranges: dict[tuple[str, str], tuple[float, float]] = {}   # (out|in, station) -> window read
        self.first_arrival: dict[tuple[str, str], float] = {}          # (station, lot) -> earliest arrival
        self.checked: set[tuple[str, str]] = set()                       # (station, lot) arrivals read

    def _times(self, ds: Iterable[Delivery]) -> None:
        for d in ds:
            if d.id not in self.ship:
                self.ship[d.id] = epoch(d.time)  # type: ignore[assignment]
                self.arr[d.id] = _arrival(d)

    def need_lots(self, lots: Iterable[str]) -> None:
        todo = sorted({x for x in lots if x is not None and x not in self.lot_dels})
        if not todo:
            return
        by: dict[str, list[Delivery]] = defaultdict(list)
        for d in self.view.deliveries(lot_ids=todo):
            by[d.lot_id].append(d)
        self._times(x for v in by.values() for x in v)
        for lot in todo:
            self.lot_dels[lot] = sorted(by.get(lot, ()), key=lambda d: (self.ship[d.id], d.id))
            for d in self.lot_dels[lot]:
                self._arrived(d)
        self.need_items(todo)
        self.need_lot_records(todo)

    def need_items(self, lots: Iterable[str]) -> None:
        todo = sorted({x for x in lots if x not in self.items_of_lot})
        if not todo:
            return
        by: dict[str, list[TransformationItem]] = defaultdict(list)
        for it in self.view.transformation_items(lot_ids=todo):
            by[it.lot_id].append(it)
        for lot in todo:
            self.items_of_lot[lot] = by.get(lot, [])
        self.need_transformations(it.transformation_id for v in by.values() for it in v)

    def need_transformations(self, tids: Iterable[str]) -> None:
        todo = sorted({t for t in tids if t not in self.trans})
        if not todo:
            return
        recs = self.view.get_many("transformation", todo)
        io: dict[str, tuple[list[str], list[str]]] = {t: ([], []) for t in todo}
        for it in self.view.transformation_items(transformation_ids=todo):
            if it.role == "input":
                io[it.transformation_id][0].append(it.lot_id)
            elif it.role == "output":
                io[it.transformation_id][1].append(it.lot_id)
        for t in todo:
            rec = recs.get(t)
            if rec is None or (rec.event_id is not None and rec.event_id in self.retracted):
                self.trans[t] = None
            else:
                self.trans[t] = (rec, sorted(set(io[t][0])), sorted(set(io[t][1])))  # type: ignore[arg-type]

    def need_lot_records(self, lots: Iterable[str]) -> None:
        todo = sorted({x for x in lots if x not in self.lots})
        if not todo:
            return
        recs = self.view.get_many("lot", todo)
        products = self.view.get_many("product", sorted({r.product_id for r in recs.values() if r.product_id}))
        for lot in todo:
            r = recs.get(lot)
            self.lots[lot] = r  # type: ignore[assignment]
            p = products.get(r.product_id) if r is not None and r.product_id else None
            self.category[lot] = getattr(p, "category", None)

    # a station's own deliveries, read per time window (inferred links look at a window only) -------

    def _range(self, lo: float, hi: float) -> tuple[str, str] | None:
        """A coarse string range of ship times as written, widened by two days for any UTC offset."""
        if math.isinf(lo) and math.isinf(hi):
            return None
        a = "0000" if math.isinf(lo) else datetime.fromtimestamp(lo - 2 * 86400, timezone.utc).strftime("%Y-%m-%d")
        b = "9999" if math.isinf(hi) else datetime.fromtimestamp(hi + 2 * 86400, timezone.utc).strftime("%Y-%m-%d")
        return a, b

    def _need_side(self, side: str, station: str, lo: float, hi: float) -> None:
        have = self.ranges.get((side, station))
        if have is not None and have[0] <= lo and hi <= have[1]:
            return
        if have is not None:
            lo, hi = min(lo, have[0]), max(hi, have[1])
        key = "sender_ids" if side == "out" else "receiver_ids"
        rows = self.view.deliveries(**{key: [station]}, time_range=self._range(lo, hi))  # type: ignore[arg-type]
        self._times(rows)
        if side == "out":
            self.out[station] = sorted(rows, key=lambda d: (self.ship[d.id], d.id))
        else:
            self.inn[station] = sorted(rows, key=lambda d: (self.arr[d.id], d.id))
            for d in rows:
                self.checked.add((station, d.lot_id))
                self._arrived(d)
        self.ranges[(side, station)] = (lo, hi)

    def need_out(self, station: str, lo: float, hi: float) -> None:
        """What ``station`` shipped between ``lo`` and ``hi`` (epoch seconds) is in ``out``."""
        self._need_side("out", station, lo, hi)

    def need_out_many(self, spans: Mapping[str, tuple[float, float]]) -> None:
        """:meth:`need_out` for several stations in one read (over the union of their windows)."""
        todo = {}
        for st, (lo, hi) in spans.items():
            have = self.ranges.get(("out", st))
            if have is not None and have[0] <= lo and hi <= have[1]:
                continue
            if have is not None:
                lo, hi = min(lo, have[0]), max(hi, have[1])
            todo[st] = (lo, hi)
        # stations whose windows nearly coincide share a read; a wide window is not imposed on the others
        groups: list[tuple[float, float, list[str]]] = []
        for st, (lo, hi) in sorted(todo.items(), key=lambda kv: kv[1]):
            if groups:
                glo, ghi, members = groups[-1]
                if max(ghi, hi) - glo <= max(ghi - glo, hi - lo) + 86400.0:
                    groups[-1] = (glo, max(ghi, hi), [*members, st])
                    continue
            groups.append((lo, hi, [st]))
        for lo, hi, members in groups:
            rows = self.view.deliveries(sender_ids=members, time_range=self._range(lo, hi))
            self._times(rows)
            by: dict[str, list[Delivery]] = defaultdict(list)
            for d in rows:
                by[d.sender_id].append(d)
            for st in members:
                self.out[st] = sorted(by.get(st, ()), key=lambda d: (self.ship[d.id], d.id))
                self.ranges[("out", st)] = (lo, hi)

    def need_in(self, station: str, lo: float, hi: float) -> None:
        """What ``station`` received that left its sender between ``lo`` and ``hi`` is in ``inn``."""
        self._need_side("in", station, lo, hi)

    def need_arrivals(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Whether and when these lots arrived at these stations (``(station, lot)`` pairs, for
        :meth:`explained`), in one read."""
        todo = {(st, x) for st, x in pairs if x not in self.lot_dels and (st, x) not in self.checked}
        if not todo:
            return
        rows = self.view.deliveries(lot_ids=sorted({x for _, x in todo}), receiver_ids=sorted({st for st, _ in todo}))
        self._times(rows)
        for d in rows:
            self._arrived(d)
        self.checked.update(todo)

    def _arrived(self, d: Delivery) -> None:
        k = (d.receiver_id, d.lot_id)
        a = self.arr[d.id]
        if a < self.first_arrival.get(k, math.inf):
            self.first_arrival[k] = a

    # derived facts ---------------------------------------------------------------------------

    def transformations_of(self, lot: str, role: str) -> list[tuple[Transformation, list[str], list[str]]]:
        out = []
        for it in self.items_of_lot.get(lot, ()):
            if it.role == role:
                t = self.trans.get(it.transformation_id)
                if t is not None:
                    out.append(t)
        return out

    def made_at(self, lot: str, station: str) -> float | None:
        """Earliest time a recorded transformation at ``station`` made ``lot`` (None if none did)."""
        best = None
        for t, _, _ in self.transformations_of(lot, "output"):
            if t.station_id == station:
                tt = epoch(t.time)
                best = tt if best is None or tt < best else best  # type: ignore[operator]
        return best

    def explained(self, lot: str, station: str, at: float) -> bool:
        """Whether the records say how ``lot`` came to be at ``station`` by time ``at``.

        Needs the lot's deliveries (:meth:`need_lots`) or its arrivals at the station
        (:meth:`need_arrivals`), and its transformations (:meth:`need_items`).
        """
        if lot not in self.lot_dels and (station, lot) not in self.checked:
            raise RuntimeError(f"trace: arrivals of {lot} at {station} were not read")  # a bug, not bad input
        first = self.first_arrival.get((station, lot))
        if first is not None and first <= at:
            return True
        made = self.made_at(lot, station)
        return made is not None and made <= at

    def produced(self, lot: str) -> tuple[str | None, float | None]:
        r = self.lots.get(lot)
        if r is None or not r.producer_id:
            return None, None
        return r.producer_id, epoch(r.production_date) if r.production_date else None


# -- the search --------------------------------------------------------------------------------

# state keys: ("L", lot) whole lot; ("P", lot, station) presence; ("D", delivery id)
_State = tuple


class _Search:
    """Label-correcting search with two labels per state: certain (explicit links only) and any.

    Explicit links are followed from each state's best time. Inferred links depend on the exact time a
    lot came to (down) or left (up) a station, so they hang off those events - a reached delivery, a
    lot's origin, a transformation, the start - and are queued and answered once per batch.
    """

    def __init__(self, net: _Net, opts: TraceOptions, down: bool) -> None:
        self.net, self.o, self.down = net, opts, down
        self.best: dict[tuple[_State, bool], float] = {}   # (state, certain) -> time
        self.parent: dict[tuple[_State, bool], tuple[_State, bool] | None] = {}
        self.held: dict[tuple[_State, bool], tuple[str | None, str]] = {}  # inferred link: (held lot, station)
        self.frontier: list[tuple[_State, bool]] = []
        self.pending: list[tuple[str | None, str, float, tuple[_State, bool]]] = []
        self.dels: dict[str, Delivery] = {}

    def better(self, a: float, b: float) -> bool:
        return a < b if self.down else a > b

    def in_range(self, t: float) -> bool:
        o = self.o
        return (o.since is None or t >= o.since) and (o.until is None or t <= o.until)

    def offer(self, state: _State, t: float, certain: bool, parent: tuple[_State, bool] | None,
              held: tuple[str | None, str] | None = None) -> None:
        if not self.in_range(t) and state[0] == "D":
            return
        keys = [(state, True), (state, False)] if certain else [(state, False)]
        for key in keys:
            old = self.best.get(key)
            if old is None or self.better(t, old):
                self.best[key] = t
                self.parent[key] = parent
                if held is None:
                    self.held.pop(key, None)
                else:
                    self.held[key] = held
                self.frontier.append(key)
            elif t == old and parent is not None and held is None and parent[0][0] in "PD":
                # as early, but through the station that held it: a longer, more telling chain of evidence
                prev = self.parent.get(key)
                if prev is not None and prev[0][0] == "L":
                    self.parent[key] = parent

    def reach_delivery(self, d: Delivery, certain: bool, parent, held=None) -> None:
        self.dels[d.id] = d
        self.offer(("D", d.id), self.net.ship[d.id], certain, parent, held)

    def infer(self, lot: str | None, station: str | None, t: float | None, key) -> None:
        """Queue the inferred links of ``lot`` held at ``station`` at time ``t``."""
        if station is None or t is None:
            return
        self.pending.append((lot, station, t, key))

    def run(self) -> None:
        net = self.net
        while self.frontier:
            batch, self.frontier = self.frontier, []
            lots = {s[1] for (s, _) in batch if s[0] in "LP" and s[1] is not None}
            lots |= {self.dels[s[1]].lot_id for (s, _) in batch if s[0] == "D"}
            net.need_lots(lots)
            # a batch in time order keeps re-expansion low
            batch.sort(key=lambda k: self.best[k] if self.down else -self.best[k])
            for key in batch:
                state, certain = key
                t = self.best[key]
                kind = state[0]
                if kind == "L":
                    self.expand_lot(key, state[1], t, certain)
                elif kind == "P":
                    self.expand_presence(key, state[1], state[2], t, certain)
                else:
                    self.expand_delivery(key, state[1], certain)
            if self.pending:
                pending, self.pending = self.pending, []
                net.need_lots({p[0] for p in pending if p[0] is not None})
                self.prefetch(pending)
                for lot, station, t, key in pending:
                    self.infer_now(lot, station, t, key)

    # shared pieces

    def killed_station(self, station: str) -> bool:
        return self.o.killable() and station in self.o.kill

    def killed_lot(self, lot: str | None) -> bool:
        return lot is not None and self.o.killable() and lot in self.o.kill

    def key_of(self, state: _State):
        return (state, True) if (state, True) in self.best else (state, False)


class _Down(_Search):
    def __init__(self, net: _Net, opts: TraceOptions) -> None:
        super().__init__(net, opts, True)

    def expand_lot(self, key, lot: str, t: float, certain: bool) -> None:
        if self.killed_lot(lot):
            return
        net = self.net
        for d in net.lot_dels.get(lot, ()):
            if net.ship[d.id] >= t and not self.killed_station(d.sender_id):
                self.reach_delivery(d, certain, key)
        for tr, _ins, outs in net.transformations_of(lot, "input"):
            tt: float = epoch(tr.time)  # type: ignore[assignment]
            if tt >= t and not self.killed_station(tr.station_id) and not self.o.kills(tr.kind):  # type: ignore[arg-type]
                self.infer(lot, tr.station_id, tt, key)     # the lot was at the transformation's station
                for out in outs:
                    self.offer(("L", out), tt, certain, key)
        # where the whole lot is from its origin on: its producer, the transformations that made it
        producer, made = net.produced(lot)
        origins = [(producer, made)] if producer is not None else []
        origins += [(tr.station_id, epoch(tr.time)) for tr, _i, _o in net.transformations_of(lot, "output")]
        for station, since in origins:
            at = max(t, since) if since is not None else t
            self.offer(("P", lot, station), at, certain, key)
            self.infer(lot, station, at, key)

    def expand_presence(self, key, lot: str, station: str, t: float, certain: bool) -> None:
        if self.killed_lot(lot) or self.killed_station(station):
            return
        net = self.net
        for d in net.lot_dels.get(lot, ()):
            if d.sender_id == station and net.ship[d.id] >= t:
                self.reach_delivery(d, certain, key)
        for tr, _ins, outs in net.transformations_of(lot, "input"):
            tt: float = epoch(tr.time)  # type: ignore[assignment]
            if tr.station_id == station and tt >= t and not self.o.kills(tr.kind):
                for out in outs:
                    self.offer(("L", out), tt, certain, key)
        if self.parent.get(key) is None:   # the start itself
            self.infer(lot, station, t, key)

    def expand_delivery(self, key, did: str, certain: bool) -> None:
        d = self.dels[did]
        if self.killed_lot(d.lot_id):
            return
        arr = self.net.arr[did]
        self.offer(("P", d.lot_id, d.receiver_id), arr, certain, key)
        self.infer(d.lot_id, d.receiver_id, arr, key)

    def prefetch(self, pending: list) -> None:
        """Read what the queued inferences look at: each station's shipments in their windows, then
        whether the shipped lots have a recorded source there."""
        if not self.o.infer:
            return
        net, spans = self.net, {}
        for lot, station, t, _key in pending:
            if math.isinf(t):
                continue
            end = t + self.o.window(net.category.get(lot) if lot is not None else None)
            lo, hi = spans.get(station, (t, end))
            spans[station] = (min(lo, t), max(hi, end))
        net.need_out_many(spans)
        pairs = {(station, d.lot_id) for station, (lo, hi) in spans.items()
                 for d in net.out[station] if lo <= net.ship[d.id] <= hi}
        lots = {x for _, x in pairs}
        net.need_arrivals(pairs)
        net.need_items(lots)
        net.need_lot_records(lots)

    def infer_now(self, lot: str | None, station: str, t: float, key) -> None:
        if not self.o.infer or self.killed_lot(lot) or self.killed_station(station) or math.isinf(t):
            return
        net = self.net
        cat = net.category.get(lot) if lot is not None else None
        end = t + self.o.window(cat)
        pending = [d for d in net.out.get(station, ()) if t <= net.ship[d.id] <= end and d.lot_id != lot]
        for d in pending:
            if self.o.allows(cat, net.category.get(d.lot_id)) and not net.explained(d.lot_id, station, net.ship[d.id]):
                self.reach_delivery(d, False, key, (lot, station))


class _Up(_Search):
    def __init__(self, net: _Net, opts: TraceOptions) -> None:
        super().__init__(net, opts, False)
        #: the widest holding window in force (seconds): how far back a station's receipts are read
        self.widest = max([opts.default_window, *DEFAULT_WINDOWS.values(), *opts.windows.values()]) * 86400.0

    def prefetch(self, pending: list) -> None:
        """Upstream inferences read their station's receipts themselves (only where a lot is unexplained)."""

    def expand_lot(self, key, lot: str, t: float, certain: bool) -> None:
        if self.killed_lot(lot):
            return
        net = self.net
        for tr, ins, _outs in net.transformations_of(lot, "output"):
            tt: float = epoch(tr.time)  # type: ignore[assignment]
            if tt <= t:
                self.offer(("P", lot, tr.station_id), tt, certain, key)
        # where the lot first appears: its producer, stations that shipped it without a recorded source
        producer, made = net.produced(lot)
        origins: dict[str, float] = {}
        if producer is not None:
            origins[producer] = min(t, made) if made is not None else t
        for d in net.lot_dels.get(lot, ()):
            ts = net.ship[d.id]
            if ts <= t and d.sender_id != producer and not net.explained(lot, d.sender_id, ts):
                origins[d.sender_id] = min(ts, origins.get(d.sender_id, ts))
        for station, at in origins.items():
            self.offer(("P", lot, station), at, certain, key)
            self.infer(lot, station, at, (("P", lot, station), certain))

    def expand_presence(self, key, lot: str | None, station: str, t: float, certain: bool) -> None:
        if self.killed_station(station) or self.killed_lot(lot):
            return
        net = self.net
        if lot is not None:
            for d in net.lot_dels.get(lot, ()):
                if d.receiver_id == station and net.arr[d.id] <= t:
                    self.reach_delivery(d, certain, key)
            for tr, ins, _outs in net.transformations_of(lot, "output"):
                tt: float = epoch(tr.time)  # type: ignore[assignment]
                if tr.station_id == station and tt <= t and not self.o.kills(tr.kind):
                    for src in ins:
                        self.offer(("P", src, station), tt, certain, key)
                        self.infer(src, station, tt, (("P", src, station), certain))
        if self.parent.get(key) is None:  # the start
            self.infer(lot, station, t, key)

    def expand_delivery(self, key, did: str, certain: bool) -> None:
        d = self.dels[did]
        if self.killed_lot(d.lot_id):
            return
        net = self.net
        ts = net.ship[did]
        self.offer(("P", d.lot_id, d.sender_id), ts, certain, key)
        self.infer(d.lot_id, d.sender_id, ts, key)

    def infer_now(self, lot: str | None, station: str, t: float, key) -> None:
        """``lot`` at ``station`` at exactly ``t``: where nothing records how it came there, its own
        origins (explicit: the lot id says so) and what the station received before (inferred)."""
        if self.killed_station(station) or self.killed_lot(lot):
            return
        net = self.net
        if lot is not None and net.explained(lot, station, t):
            return
        certain = key[1]
        if lot is not None:
            self.offer(("L", lot), t, certain, key)
            producer, made = net.produced(lot)
            if producer is not None and producer != station:   # its producer at exactly this time
                at = min(t, made) if made is not None else t
                self.offer(("P", lot, producer), at, certain, key)
                self.infer(lot, producer, at, (("P", lot, producer), certain))
        if not self.o.infer:
            return
        net.need_in(station, t - self.widest - _TRANSIT, t)
        cat = net.category.get(lot) if lot is not None else None
        pending = [d for d in net.inn.get(station, ()) if net.arr[d.id] <= t and d.lot_id != lot]
        net.need_lot_records({d.lot_id for d in pending})
        for d in pending:
            held = net.category.get(d.lot_id)
            if (math.isinf(t) or net.arr[d.id] >= t - self.o.window(held)) and self.o.allows(held, cat):
                self.reach_delivery(d, False, key, (lot, station))


# -- starting points ---------------------------------------------------------------------------

_START_TABLES = ("lot", "delivery", "sample", "trace_code", "operator")


def resolve_start(view: "ReadView", identifier: str) -> Start:
    """The record an identifier names (lot, delivery, sample, trace code or station) as a :class:`Start`.

    Any identifier form the store knows works: canonical ids, EPC URNs, GS1 Digital Links, lot numbers,
    trace codes, USCC/GLN. Raises :class:`NotFound` naming the identifier when nothing matches.
    """
    ident = str(identifier).strip()
    if not ident:
        raise NotFound("empty identifier: give a lot, delivery, sample, trace code or Digital Link")
    canon = view.resolve_many([ident]).get(ident, ident)
    for table in _START_TABLES:
        rec = view.get_many(table, [canon]).get(canon)
        if rec is None and table == "trace_code":
            rec = next(iter(view.scan("trace_code", {"code": ident})), None)
        if rec is None:
            continue
        if table == "lot":
            return Start("lot", rec.id, ident, lot_id=rec.id)
        if table == "delivery":
            return Start("delivery", rec.id, ident, lot_id=rec.lot_id, station_id=rec.sender_id,
                         time=epoch(rec.time))
        if table == "trace_code":
            return Start("trace_code", rec.id, ident, lot_id=rec.lot_id)
        if table == "operator":
            return Start("station", rec.id, ident, station_id=rec.id)
        return _sample_start(view, rec, ident)
    # ids known only from the deliveries that mention them
    if view.deliveries(lot_ids=[canon]) or view.transformation_items(lot_ids=[canon]):
        return Start("lot", canon, ident, lot_id=canon)
    if view.deliveries(sender_ids=[canon]) or view.deliveries(receiver_ids=[canon]):
        return Start("station", canon, ident, station_id=canon)
    raise NotFound(f"{ident}: no lot, delivery, sample, trace code or station has this identifier")


def hazard_of_sample(view: "ReadView", sample_id: str) -> str | None:
    """The hazard class of a sample's nonconforming results where they agree (None if none or mixed)."""
    classes = {r.hazard_class for r in view.scan("test_result", {"sample_id": sample_id})
               if r.conclusion == "nonconforming" and r.hazard_class}
    return classes.pop() if len(classes) == 1 else ("other" if classes else None)


def _lot_of_batch(view: "ReadView", s: Any) -> str | None:
    """The lot an announced sample's batch (lot number or production date) names at its producer.

    An announcement names a producer, a product by name and a batch, not a lot id: the lot is the one
    with that lot number (else production date) made by the named producer (or brand owner); where
    several match, the one of the sample's product, else the one whose product name matches, else none
    (ambiguous: the trace starts from the sampled station instead).
    """
    makers = {x for x in (s.producer_id, s.brand_owner_id) if x}
    found: dict[str, Any] = {}
    for field_ in ("lot_number", "production_date"):
        for cand in view.scan("lot", {field_: s.batch}):
            if not makers or cand.producer_id in makers or cand.producer_id is None:
                found[cand.id] = cand
        if found:
            break
    if len(found) <= 1:
        return next(iter(found), None)
    same = [c.id for c in found.values() if c.product_id == s.product_id]
    if len(same) == 1:
        return same[0]
    products = view.get_many("product", sorted({c.product_id for c in found.values() if c.product_id}))
    named = [c.id for c in found.values()
             if c.product_id in products and products[c.product_id].name == s.product_name]
    return named[0] if len(named) == 1 else None


def _sample_start(view: "ReadView", s: Any, ident: str) -> Start:
    lot = s.lot_id
    if lot is None and s.batch:
        lot = _lot_of_batch(view, s)
    return Start("sample", s.id, ident, lot_id=lot, station_id=s.sampled_id,
                 time=epoch(s.sampled_at, end_of_day=True) if s.sampled_at else None,
                 product_id=s.product_id, hazard=hazard_of_sample(view, s.id), category=s.category)


# -- the entry point ---------------------------------------------------------------------------


class Tracer:
    """Runs many traces over one view, sharing what they read (for outbreak ranking, benchmarks).

    The cache assumes the store does not change while the tracer is in use.
    """

    def __init__(self, view: "ReadView") -> None:
        self.view = view
        self._net = _Net(view)

    def resolve(self, identifier: str) -> Start:
        return resolve_start(self.view, identifier)

    def trace(self, start: str | Start, direction: str = "down", options: TraceOptions | None = None) -> Trace:
        return _trace(self.view, self._net, start, direction, options)


def trace(view: "ReadView", start: str | Start, direction: str = "down",
          options: TraceOptions | None = None) -> Trace:
    """Trace downstream (``"down"``) or upstream (``"up"``) from an identifier or a resolved start."""
    return _trace(view, _Net(view), start, direction, options)


def _trace(view: "ReadView", net: _Net, start: str | Start, direction: str,
           options: TraceOptions | None) -> Trace:
    if direction not in ("down", "up"):
        raise InvalidRecord(f"direction must be 'down' or 'up', not {direction!r}")
    st = start if isinstance(start, Start) else resolve_start(view, start)
    opts = options or TraceOptions()
    notes: list[str] = []
    if opts.hazard == "unknown" and st.hazard:
        opts = replace(opts, hazard=st.hazard)
        notes.append(f"hazard {st.hazard} taken from the sample's nonconforming results")
    if opts.kill and not opts.killable():
        notes.append(f"kill steps ignored: heat does not remove a {opts.hazard} hazard")
    down = direction == "down"
    search: _Search = _Down(net, opts) if down else _Up(net, opts)
    inf = -math.inf if down else math.inf
    t0 = (opts.since if down else opts.until)
    t0 = inf if t0 is None else t0
    seeds = _seeds(net, st, down, t0, notes, opts)
    if down and st.kind == "station":  # seeded with the deliveries it shipped: the search must know them
        search.dels.update((d.id, d) for d in net.out.get(st.station_id, ()))  # type: ignore[attr-defined, arg-type]
    for state, t in seeds:
        search.offer(state, t, True, None)
    search.run()
    return _result(view, net, search, st, direction, opts, notes, seeds)


def _seeds(net: _Net, st: Start, down: bool, t0: float, notes: list[str],
           opts: TraceOptions) -> list[tuple[_State, float]]:
    if st.kind in ("lot", "trace_code") or (st.kind == "sample" and st.lot_id and down):
        return [(("L", st.lot_id), t0)]
    if st.kind == "delivery":
        net.need_lots([st.lot_id])
        d = next(x for x in net.lot_dels[st.lot_id] if x.id == st.id)  # type: ignore[index]
        if down:
            return [(("P", d.lot_id, d.receiver_id), net.arr[d.id])]
        return [(("P", d.lot_id, d.sender_id), net.ship[d.id])]
    if st.kind == "sample":
        t = st.time if st.time is not None else t0
        if st.lot_id:
            return [(("P", st.lot_id, st.station_id), t)]
        notes.append("the sample names no lot: traced from what the sampled station held (possible links only)")
        if down:
            # any lot of the sampled product the station received within the window of its category
            window = opts.window(st.category)
            net.need_in(st.station_id, t - window - _TRANSIT, t)  # type: ignore[arg-type]
            received = [d for d in net.inn.get(st.station_id, ()) if t - window <= net.arr[d.id] <= t]  # type: ignore[arg-type]
            net.need_lot_records({d.lot_id for d in received})
            seeds = []
            for d in received:
                r = net.lots.get(d.lot_id)
                if st.product_id and (r is None or r.product_id != st.product_id):
                    continue
                seeds.append((("P", d.lot_id, st.station_id), net.arr[d.id]))
            return seeds
        return [(("P", None, st.station_id), t)]
    # a station: everything it shipped (down) or received (up) within the range
    if down:
        lo = -math.inf if opts.since is None else opts.since
        hi = math.inf if opts.until is None else opts.until
        net.need_out(st.station_id, lo, hi)  # type: ignore[arg-type]
        return [(("D", d.id), net.ship[d.id]) for d in net.out.get(st.station_id, ())  # type: ignore[arg-type]
                if lo <= net.ship[d.id] <= hi]
    return [(("P", None, st.station_id), t0)]


def _chain(search: _Search, key) -> tuple[str, ...]:
    out = []
    seen = set()
    while key is not None and key not in seen:
        seen.add(key)
        if key[0][0] == "D":
            out.append(key[0][1])
        key = search.parent.get(key)
    return tuple(reversed(out))


def _result(view: "ReadView", net: _Net, search: _Search, st: Start, direction: str, opts: TraceOptions,
            notes: list[str], seeds) -> Trace:
    down = direction == "down"
    pick = min if down else max
    # a fixed order (not a set's): where several states give an item its evidence, the first wins, and the
    # answer must not depend on string hashing
    states = sorted({s for (s, _c) in search.best}, key=lambda s: tuple(x or "" for x in s))

    def label(state) -> tuple[str, float, tuple[str, ...]]:
        certain = (state, True) in search.best
        key = (state, certain)
        return (CERTAIN if certain else POSSIBLE), search.best[(state, False)], _chain(search, key)

    # deliveries
    dl: dict[str, tuple[str, float, tuple[str, ...]]] = {}
    for s in states:
        if s[0] == "D":
            dl[s[1]] = label(s)
    start_delivery = st.id if st.kind == "delivery" else None
    dl.pop(start_delivery, None)  # type: ignore[arg-type]

    # lots: whole lots and lots of reached deliveries and presences
    lots: dict[str, list] = {}

    def add(target: dict, k: str, lab) -> None:
        cur = target.get(k)
        if cur is None:
            target[k] = list(lab)
            return
        tier = CERTAIN if CERTAIN in (cur[0], lab[0]) else POSSIBLE
        t = pick(cur[1], lab[1])
        ev = cur[2] if (cur[0] == CERTAIN or lab[0] != CERTAIN) else lab[2]
        target[k] = [tier, t, ev]

    for s in states:
        if s[0] in "LP" and s[1] is not None:
            add(lots, s[1], label(s))
    for did, lab in dl.items():
        add(lots, search.dels[did].lot_id, lab)
    if st.lot_id:
        lots.pop(st.lot_id, None)

    # stations
    stations: dict[str, list] = {}
    for did, lab in dl.items():
        d = search.dels[did]
        if down:
            add(stations, d.receiver_id, (lab[0], net.arr[did], lab[2]))
        else:
            add(stations, d.sender_id, lab)
    if not down:  # the producers and the stations that made or first shipped a lot are its origins
        for s in states:
            if s[0] == "P" and s[2] is not None:
                add(stations, s[2], label(s))
    if st.kind == "station":
        stations.pop(st.station_id, None)  # type: ignore[arg-type]
    for x, _ in seeds:  # where a delivery or sample start sits is neither down- nor upstream of it
        if x[0] == "P":
            stations.pop(x[2], None)

    # enrich
    ids_l = sorted(lots)
    ids_d = sorted(dl)
    ids_s = sorted(stations)
    aliases = view.aliases_of([*ids_l, *ids_d, *ids_s])
    lot_recs = view.get_many("lot", ids_l)
    prods = view.get_many("product", sorted({r.product_id for r in lot_recs.values() if r.product_id}))
    ops = view.get_many("operator", ids_s)

    def al(i: str) -> tuple[str, ...]:
        return tuple(a for a in aliases.get(i, ()) if a != i)

    out_l = []
    for i in ids_l:
        tier, t, ev = lots[i]
        r = lot_recs.get(i)
        p = prods.get(r.product_id) if r is not None and r.product_id else None
        out_l.append(TracedLot(i, tier, format_instant(t), ev, al(i), product_id=getattr(r, "product_id", None),
                               product_name=getattr(p, "name", None), category=getattr(p, "category", None),
                               lot_number=getattr(r, "lot_number", None), producer_id=getattr(r, "producer_id", None)))
    out_d = []
    for i in ids_d:
        tier, t, ev = dl[i]
        d = search.dels[i]
        inferred = tier == POSSIBLE and _inferred_last(search, ("D", i))
        out_d.append(TracedDelivery(
            i, tier, format_instant(t), ev, al(i), lot_id=d.lot_id, sender_id=d.sender_id, receiver_id=d.receiver_id,
            ship_time=d.time, received_time=d.received_time, quantity=d.quantity, unit=d.unit,
            max_quantity=_bound(net, search, d, down), ticket_id=d.ticket_id, certificate_id=d.certificate_id,
            trace_code=d.trace_code, inferred=inferred))
    out_s = []
    for i in ids_s:
        tier, t, ev = stations[i]
        o = ops.get(i)
        out_s.append(TracedStation(i, tier, format_instant(t), ev, al(i), name=getattr(o, "name", None),
                                   kind=getattr(o, "kind", None), region_id=getattr(o, "region_id", None)))

    def order(x: _Item) -> tuple:
        tt = epoch(x.time) if x.time else 0.0
        return ((tt if down else -tt), x.id)

    return Trace(direction, st, tuple(sorted(out_l, key=order)), tuple(sorted(out_d, key=order)),
                 tuple(sorted(out_s, key=order)), opts, tuple(notes))


def _inferred_last(search: _Search, state) -> bool:
    """Whether the best any-tier path reaches this delivery through an inferred link."""
    return (state, False) in search.held


def _bound(net: _Net, search: _Search, d: Delivery, down: bool) -> float | None:
    """How much of the traced goods a reached delivery can hold (see the module docstring)."""
    if d.quantity is None:
        return None
    if not down or (("D", d.id), True) in search.best or not _inferred_last(search, ("D", d.id)):
        return d.quantity
    held_lot = search.held[(("D", d.id), False)][0]
    ship = search.net.ship[d.id]
    held = [x for x in net.lot_dels.get(held_lot, ()) if x.receiver_id == d.sender_id and net.arr[x.id] <= ship]
    if not held or any(x.quantity is None or x.unit != d.unit for x in held):
        return d.quantity
    return min(d.quantity, sum(x.quantity for x in held))  # type: ignore[misc]

