"""Lot-level, time-respecting traces downstream and upstream, with a likelihood for every possible item.

What a trace follows
--------------------
A trace follows **lots**, not operators. Its states are

* a *whole lot* (``lot L from time t``): the lot as a whole carries the
  hazard - the start lot, every lot made from a carrying input by a recorded
  transformation, and every lot that may have been made of a carrier;
* a *presence* (``L at station S from time t``): part of lot ``L`` is held at
  ``S`` - after a delivery of ``L`` arrived there, at its producer, at the
  station of a transformation;
* a *delivery* (reached at its ship time).

Explicit links (the records say so)
    Downstream, a whole lot reaches every delivery of it that left at or after
    the time it became a carrier, and every transformation that used it at or
    after that time (the outputs become whole carrier lots). A presence ``L at
    S from t`` reaches the deliveries of ``L`` leaving ``S`` at or after ``t``
    and the transformations at ``S`` using ``L`` at or after ``t``; a delivery
    reaches its lot at its receiver from its arrival. Upstream mirrors this
    with the latest times: ``L at S at t`` came by the deliveries of ``L`` that
    arrived at ``S`` by ``t`` and from the inputs of a transformation at ``S``
    that made ``L`` by ``t``, and, as any portion of a lot holds what the whole
    lot holds, from the lot's own origins (the lot id says so): its producer,
    the stations that first shipped it without a record of how they got it,
    and the transformations that made it. A state reached through explicit
    links only is ``certain``.

When a lot exists
    A lot exists from its **earliest recorded event**: its production date
    (the end of that day: it was made some time that day), the EPCIS event
    that created it (commissioning), a transformation that used or made it,
    its first shipment, or a sample of it (the end of the sampling day).
    Whatever else is unknown, nothing that reached a station after that time
    can be in the lot (:meth:`_Net.exists`). ``since`` / ``until`` keep only
    the deliveries shipped and the transformations done in the range.

Inferred links (possible)
    A station ``S`` that ships a lot ``K`` without a record of how it got ``K``
    (no arrival of ``K`` at ``S``, no recorded transformation at ``S`` making
    ``K``, by ``K``'s first shipment ``f`` from ``S``) - a stall or distributor
    selling under its own lot, a kitchen, a producer without production
    records - may have made ``K`` of what it received: every delivery ``r`` of
    another lot ``L`` (of a category that may go into ``K``'s: see below) that
    arrived at ``S`` no earlier than ``f`` minus the
    link window (the longer of the holding windows of ``L``'s and ``K``'s
    categories at ``S``'s kind of station: the goods waited there as the one
    or as the other) and no later than ``K`` existed, where the records do not
    show all of ``L`` leaving ``S`` otherwise (shipped on as itself, or used by
    a recorded transformation). Downstream, the arrival of ``L`` at ``S`` reaches the
    whole lot ``K`` (from that arrival on: all its deliveries); upstream, the
    whole lot ``K`` reaches those deliveries ``r``. A lot's producer that
    never ships it is such a station from the lot's existence on (upstream
    only: a downstream trace does not look for lots nobody shipped). Which
    categories may go into which: the ``may_contain`` policy where given, else
    the one learned with the holding windows (the same category, or one that
    recorded transformations made of it; a category no recorded transformation
    ever made may hold anything), else any. Anything reached through an
    inferred link is ``possible``.

Stations as starts
    A downstream trace from a station starts from everything it shipped; an
    upstream one (an outbreak case) from what it received within the holding
    window of each received lot before the time (anything it ever received
    without a time): recorded links, so ``certain`` where the rest of the way
    is, each with likelihood 1 - the case says the station held the hazard,
    not which of its goods did.

Holding windows
    How long goods stay at a station before they leave, per food category of
    the held goods and kind of station: learned from the records
    (``TraceOptions.holding``, see :mod:`reasoning.holding`: a high quantile of
    the recorded pass-through times), the hand-set :data:`DEFAULT_WINDOWS`
    where the records are too few or no learned windows are given, and
    ``TraceOptions.windows`` (days per category) over both. The trace reports
    every window it used and where it came from.

Likelihood
    Every reached item carries a likelihood that it holds the traced goods:
    1 for certain items; an inferred link from ``L`` at ``S`` to ``K`` has the
    share of ``L`` in what ``S`` held that ``K`` may be made of: each delivery
    ``r`` above counts as the part of its lot the records do not show leaving
    ``S`` (by quantity where the receipts and what left carry quantities in one
    unit, else all of it) times the chance it was still there when ``K`` came
    to exist (the learned survival of its category's pass-through times at
    that kind of station; 1 without learned windows). Deliveries count alike
    whatever their size: on the generator's planted truth, shares by quantity
    gave a true own lot made of a small delivery next to large ones a
    likelihood of 0.04, shares by count 0.3 (README). A path multiplies its
    links, and an item takes its most likely path. A path with a likelihood below ``min_likelihood`` or
    more than ``max_inferred`` inferred links is not followed, so neither
    limit ever drops a certain item. Results are ordered by likelihood, then
    by time.

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

Each reached lot, delivery and station carries its tier, its likelihood, its
time (down: the earliest it could have been reached; up: the latest it could
have contributed) and its evidence: the delivery ids of its most likely path
from the start (the explicit path where the item is certain). A reached
delivery also carries ``max_quantity``, an upper bound of how much of the
traced goods it can hold: all of it on an explicit link; where the delivery
left the station of an inferred link, no more than the station received of
the held lot before it left, where the units agree.

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
>>> [(d.id, d.tier, d.likelihood, d.evidence) for d in t.deliveries]
[('d1', 'certain', 1.0, ('d1',)), ('d2', 'certain', 1.0, ('d1', 'd2'))]
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

from .holding import HoldingWindows, PassThroughs, WindowUsed, learn_windows, pass_throughs
from .trace_index import TraceIndex, balance

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = [
    "CERTAIN", "POSSIBLE", "DEFAULT_WINDOWS", "DEFAULT_WINDOW", "DEFAULT_MIN_LIKELIHOOD", "DEFAULT_MAX_INFERRED",
    "HAZARDS", "KILL_KINDS", "TraceOptions", "WindowUsed", "Start", "TracedLot", "TracedDelivery", "TracedStation",
    "Trace", "resolve_start", "trace", "Tracer", "hazard_of_sample",
]

CERTAIN = "certain"
POSSIBLE = "possible"

#: hand-set holding windows in days by category of the held lot, used where the records are too few to
#: learn one (or learning is off): chilled meat a week, leafy vegetables three days, frozen goods half a
#: year, shelf-stable goods a year
DEFAULT_WINDOWS: dict[str, float] = {
    "live_pig": 7, "live_poultry": 7, "pork": 7, "beef_mutton": 7, "poultry": 7, "aquatic": 5,
    "leafy_vegetable": 3, "vegetable": 14, "fruit": 14, "egg": 30, "processed_meat": 30,
    "prepared_food": 3, "bakery": 15, "dairy": 30, "frozen_food": 180, "grain": 365, "edible_oil": 365,
    "condiment": 365, "beverage": 365, "infant_food": 365, "special_food": 365, "other": 30,
}
#: window for a lot whose category is unknown
DEFAULT_WINDOW = 30.0
#: the likelihood below which a possible path is not followed, and the most inferred links on a path,
#: chosen from the precision / recall curve on the generator's planted truth (bench/trace_truth.py,
#: README): 0.05 is the largest cut of the curve that keeps the whole true spread of every planted lot on
#: the five networks (at 0.1 one lot of 2,000 at 1M lost a delivery); no true spread needed more than one
#: inferred link, so two leave room and bound long chains
DEFAULT_MIN_LIKELIHOOD = 0.05
DEFAULT_MAX_INFERRED: int | None = 2

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

    ``windows`` override every other holding window per category (days);
    ``holding`` are windows learned from the records (:func:`reasoning.holding.learn_windows`); where it is
    None, a trace learns them from the store as of ``until`` (or from everything), unless
    ``learn_windows`` is False (the hand-set :data:`DEFAULT_WINDOWS` only, and no learned category
    policy); ``may_contain`` narrows inferred links: held category -> categories of shipped goods that may
    contain it (a category absent from the mapping is not narrowed; None: the policy learned with the
    windows, else none); ``kill`` holds canonical station or lot ids whose processing kills the hazard;
    ``infer=False`` follows explicit links only; ``min_likelihood`` and ``max_inferred`` cut possible
    paths (see the module docstring).
    """

    since: float | None = None
    until: float | None = None
    windows: Mapping[str, float] = field(default_factory=dict)
    default_window: float = DEFAULT_WINDOW
    hazard: str = "unknown"
    kill: frozenset[str] = frozenset()
    may_contain: Mapping[str, Collection[str]] | None = None
    infer: bool = True
    holding: HoldingWindows | None = None
    learn_windows: bool = True
    min_likelihood: float = DEFAULT_MIN_LIKELIHOOD
    max_inferred: int | None = DEFAULT_MAX_INFERRED

    def window_used(self, category: str | None, kind: str | None) -> WindowUsed:
        """The holding window of goods of ``category`` at a station of ``kind``, and where it comes from."""
        cat = category or ""
        if cat in self.windows:
            return WindowUsed(category, None, float(self.windows[cat]), "option")
        if self.holding is not None:
            learned = self.holding.lookup(category, kind)
            if learned is not None:
                return learned
        if cat in DEFAULT_WINDOWS:
            return WindowUsed(category, None, float(DEFAULT_WINDOWS[cat]), "default")
        return WindowUsed(category, None, float(self.default_window), "default")

    def window(self, category: str | None, kind: str | None = None) -> float:
        """The holding window of ``category`` at a station of ``kind``, in seconds."""
        return self.window_used(category, kind).days * 86400.0

    def killable(self) -> bool:
        """Whether the named kill steps apply: a pathogen, or a hazard not known to be a residue."""
        return self.hazard in ("microbial", "unknown")

    def kills(self, kind: str | None) -> bool:
        hz = KILL_KINDS.get(kind or "")
        return bool(hz) and ("*" in hz or self.hazard in hz)

    def allows(self, held: str | None, shipped: str | None) -> bool:
        """Whether goods of category ``held`` may be in a shipment of category ``shipped``: the
        ``may_contain`` policy where given, else what the learned windows learned from recorded
        transformations (:meth:`reasoning.holding.HoldingWindows.allows`), else anything."""
        if self.may_contain is None:
            return self.holding is None or self.holding.allows(held, shipped)
        if held is None or held not in self.may_contain:
            return True
        return shipped in self.may_contain[held]

    def in_range(self, t: float) -> bool:
        return (self.since is None or t >= self.since) and (self.until is None or t <= self.until)

    def keeps(self, likelihood: float, hops: int) -> bool:
        """Whether a path with this likelihood and number of inferred links is followed."""
        return likelihood >= self.min_likelihood and (self.max_inferred is None or hops <= self.max_inferred)


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
    likelihood: float = 1.0

    def _common(self) -> dict[str, Any]:
        return {"id": self.id, "aliases": list(self.aliases), "tier": self.tier, "likelihood": self.likelihood,
                "time": self.time, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class TracedLot(_Item):
    product_id: str | None = None
    product_name: str | None = None
    category: str | None = None
    lot_number: str | None = None
    producer_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self._common(), "product": self.product_id, "product_name": self.product_name,
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
        return {**self._common(), "lot": self.lot_id, "from": self.sender_id, "to": self.receiver_id,
                "ship_time": self.ship_time, "received_time": self.received_time, "quantity": self.quantity,
                "unit": self.unit, "max_quantity": self.max_quantity, "ticket": self.ticket_id,
                "certificate": self.certificate_id, "trace_code": self.trace_code, "inferred": self.inferred}


@dataclass(frozen=True)
class TracedStation(_Item):
    name: str | None = None
    kind: str | None = None
    region_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self._common(), "name": self.name, "kind": self.kind, "district": self.region_id}


@dataclass(frozen=True)
class Trace:
    """A finished trace: what it reached, how, and with which settings and holding windows."""

    direction: str
    start: Start
    lots: tuple[TracedLot, ...]
    deliveries: tuple[TracedDelivery, ...]
    stations: tuple[TracedStation, ...]
    options: TraceOptions
    notes: tuple[str, ...] = ()
    windows: tuple[WindowUsed, ...] = ()

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
                        "windows": {k: float(v) for k, v in o.windows.items()},
                        "default_window": o.default_window, "learned_windows": o.holding is not None,
                        "min_likelihood": o.min_likelihood, "max_inferred": o.max_inferred},
            "windows_used": [w.to_dict() for w in self.windows],
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
        self.kind: dict[str, str | None] = {}
        self.ship: dict[str, float] = {}
        self.arr: dict[str, float] = {}
        self.exist: dict[str, float] = {}
        self.left_part: dict[tuple[str, str], float] = {}               # (station, lot) -> part not shipped on
        self.passes: PassThroughs | None = None                          # recorded pass-throughs, read once
        self.learned: dict[float | None, HoldingWindows] = {}            # as-of time -> learned windows
        self.ranges: dict[tuple[str, str], tuple[float, float]] = {}   # (out|in, station) -> window read
        self.first_arrival: dict[tuple[str, str], float] = {}          # (station, lot) -> earliest arrival
        self.checked: set[tuple[str, str]] = set()                       # (station, lot) arrivals read

    def _times(self, ds: Iterable[Delivery]) -> None:
        for d in ds:
            if d.id not in self.ship:
                self.ship[d.id] = epoch(d.time)  # type: ignore[assignment]
                self.arr[d.id] = _arrival(d)

    def need_lots(self, lots: Iterable[str]) -> None:
        """Everything about these lots a trace asks: their deliveries, transformations, records, and when
        each came to exist."""
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
        self._existence(todo, {x: self.ship[v[0].id] for x in todo if (v := self.lot_dels[x])})

    def _existence(self, lots: list[str], first_ship: Mapping[str, float]) -> None:
        """When each lot existed at the latest: its earliest recorded event (see the module docstring), given
        each lot's first shipment; needs its transformations and record."""
        lots = [x for x in lots if x not in self.exist]
        if not lots:
            return
        recs = {x: self.lots.get(x) for x in lots}
        events = self.view.get_many("event", sorted({r.event_id for r in recs.values()
                                                      if r is not None and r.event_id}))
        sampled: dict[str, float] = {}
        for s in self.view.scan("sample", {"lot_id": lots}):
            t = epoch(s.sampled_at, end_of_day=True) if s.sampled_at else None
            if t is not None and t < sampled.get(s.lot_id, math.inf):
                sampled[s.lot_id] = t
        for lot in lots:
            times = [sampled.get(lot, math.inf), first_ship.get(lot, math.inf)]
            for it in self.items_of_lot.get(lot, ()):
                t = self.trans.get(it.transformation_id)
                if t is not None:
                    times.append(epoch(t[0].time))  # type: ignore[arg-type]
            r = recs[lot]
            if r is not None and r.production_date:
                times.append(epoch(r.production_date, end_of_day=True))  # type: ignore[arg-type]
            ev = events.get(r.event_id) if r is not None and r.event_id else None
            if ev is not None and ev.time and ev.id not in self.retracted:
                times.append(epoch(ev.time))  # type: ignore[arg-type]
            self.exist[lot] = min(times)

    def holding(self, as_of: float | None) -> HoldingWindows:
        """Holding windows learned from the store's pass-throughs as of ``as_of`` (read once per net)."""
        h = self.learned.get(as_of)
        if h is None:
            if self.passes is None:
                self.passes = pass_throughs(self.view)
            h = self.learned[as_of] = learn_windows(self.passes, as_of=as_of)
        return h

    def exists(self, lot: str) -> float:
        """The latest time ``lot`` can have come to exist (+inf where no record is dated)."""
        return self.exist.get(lot, math.inf)

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

    def need_balance(self, pairs: Iterable[tuple[str, str]]) -> None:
        """For these (station, lot) pairs, how much of the lot the records show leaving the station:
        shipped on as itself or used by a recorded transformation there (see :meth:`left`)."""
        todo = sorted({p for p in pairs if p not in self.left_part})
        if not todo:
            return
        stations = sorted({st for st, _ in todo})
        lots = sorted({x for _, x in todo})
        flows: dict[tuple[str, str], list[tuple[float | None, str | None, int]]] = defaultdict(list)
        for d in self.view.deliveries(lot_ids=lots, receiver_ids=stations):
            flows[(d.receiver_id, d.lot_id)].append((d.quantity, d.unit, 1))
        for d in self.view.deliveries(lot_ids=lots, sender_ids=stations):
            flows[(d.sender_id, d.lot_id)].append((d.quantity, d.unit, -1))
        self.need_items(lots)
        for lot in lots:
            for it in self.items_of_lot.get(lot, ()):
                t = self.trans.get(it.transformation_id)
                if it.role == "input" and t is not None:
                    flows[(t[0].station_id, lot)].append((it.quantity, it.unit, -1))  # type: ignore[arg-type]
        for pair in todo:
            self.left_part[pair] = balance(flows.get(pair, []))

    def left(self, lot: str, station: str) -> float:
        """The part of what ``station`` received of ``lot`` that the records do not show leaving it (1
        where the quantities cannot tell); needs :meth:`need_balance`."""
        return self.left_part.get((station, lot), 1.0)

    def need_kinds(self, stations: Iterable[str]) -> None:
        """The kind of each station (Farm, Stall, ...), for its holding windows."""
        todo = sorted({s for s in stations if s is not None and s not in self.kind})
        if not todo:
            return
        ops = self.view.get_many("operator", todo)
        for s in todo:
            self.kind[s] = getattr(ops.get(s), "kind", None)

    # a station's own deliveries, read per time window (inferred links look at a window only) -------

    def _range(self, lo: float, hi: float) -> tuple[str, str] | None:
        """A coarse string range of ship times as written, widened by two days for any UTC offset."""
        if math.isinf(lo) and math.isinf(hi):
            return None
        a = "0000" if math.isinf(lo) else datetime.fromtimestamp(lo - 2 * 86400, timezone.utc).strftime("%Y-%m-%d")
        b = "9999" if math.isinf(hi) else datetime.fromtimestamp(hi + 2 * 86400, timezone.utc).strftime("%Y-%m-%d")
        return a, b

    def _unread(self, side: str, spans: Mapping[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        """The windows still to read per station: each widened to cover what was read before."""
        todo = {}
        for st, (lo, hi) in spans.items():
            have = self.ranges.get((side, st))
            if have is not None and have[0] <= lo and hi <= have[1]:
                continue
            if have is not None:
                lo, hi = min(lo, have[0]), max(hi, have[1])
            todo[st] = (lo, hi)
        return todo

    def _need_many(self, side: str, spans: Mapping[str, tuple[float, float]]) -> None:
        """What these stations shipped (``out``) or received (``in``) in their windows of ship times."""
        todo = self._unread(side, spans)
        # stations whose windows nearly coincide share a read; a wide window is not imposed on the others
        groups: list[tuple[float, float, list[str]]] = []
        for st, (lo, hi) in sorted(todo.items(), key=lambda kv: (kv[1], kv[0])):
            if groups:
                glo, ghi, members = groups[-1]
                if max(ghi, hi) - glo <= max(ghi - glo, hi - lo) + 86400.0:
                    groups[-1] = (glo, max(ghi, hi), [*members, st])
                    continue
            groups.append((lo, hi, [st]))
        key = "sender_ids" if side == "out" else "receiver_ids"
        for lo, hi, members in groups:
            rows = self.view.deliveries(**{key: members}, time_range=self._range(lo, hi))  # type: ignore[arg-type]
            self._times(rows)
            by: dict[str, list[Delivery]] = defaultdict(list)
            for d in rows:
                by[d.sender_id if side == "out" else d.receiver_id].append(d)
            for st in members:
                if side == "out":
                    self.out[st] = sorted(by.get(st, ()), key=lambda d: (self.ship[d.id], d.id))
                else:
                    self.inn[st] = sorted(by.get(st, ()), key=lambda d: (self.arr[d.id], d.id))
                    for d in by.get(st, ()):
                        self.checked.add((st, d.lot_id))
                        self._arrived(d)
                self.ranges[(side, st)] = (lo, hi)

    def need_out(self, spans: Mapping[str, tuple[float, float]]) -> None:
        """What each station shipped between ``lo`` and ``hi`` (epoch seconds) is in ``out``."""
        self._need_many("out", spans)

    def need_in(self, spans: Mapping[str, tuple[float, float]]) -> None:
        """What each station received that left its sender between ``lo`` and ``hi`` is in ``inn``."""
        self._need_many("in", spans)

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

        Needs the lot's deliveries and transformations (:meth:`need_lots`).
        """
        if lot not in self.lot_dels and (station, lot) not in self.checked:
            raise RuntimeError(f"trace: arrivals of {lot} at {station} were not read")  # a bug, not bad input
        first = self.first_arrival.get((station, lot))
        if first is not None and first <= at:
            return True
        made = self.made_at(lot, station)
        return made is not None and made <= at

    def makers(self, spans: Mapping[str, tuple[float, float]], opts: TraceOptions) -> dict[str, list[tuple[float, str]]]:
        """Per station, the lots it first shipped (in the options' range) between ``lo`` and ``hi`` without a
        record of how it got them, with that first shipment's time, in time order; and when each of those
        lots existed (:meth:`exists`). Reads only the candidates' deliveries from and to these stations and
        their earliest ones, not every delivery of every candidate."""
        self.need_out(spans)
        ks = {st: {d.lot_id for d in self.out.get(st, ()) if lo <= self.ship[d.id] <= hi}
              for st, (lo, hi) in spans.items()}
        lots = sorted({k for v in ks.values() for k in v})
        if not lots:
            return {st: [] for st in spans}
        stations = sorted(spans)
        first: dict[tuple[str, str], float] = {}
        shipped = self.view.deliveries(lot_ids=lots, sender_ids=stations)
        self._times(shipped)
        for d in shipped:
            t = self.ship[d.id]
            if opts.in_range(t) and t < first.get((d.sender_id, d.lot_id), math.inf):
                first[(d.sender_id, d.lot_id)] = t
        arrivals = self.view.deliveries(lot_ids=lots, receiver_ids=stations)
        self._times(arrivals)
        for d in arrivals:
            self._arrived(d)
        self.checked.update((st, k) for st in stations for k in lots)
        self.need_items(lots)
        out: dict[str, list[tuple[float, str]]] = {}
        for st, cand in ks.items():
            lo, hi = spans[st]
            out[st] = sorted((fs, k) for k in cand if (fs := first.get((st, k))) is not None and lo <= fs <= hi
                             and not self.explained(k, st, fs))
        made = sorted({k for v in out.values() for _fs, k in v if k not in self.exist})
        if made:   # their existence: the earliest delivery of each lies before its first one from here
            hi = max(fs for v in out.values() for fs, _k in v)
            early = self.view.deliveries(lot_ids=made, time_range=self._range(-math.inf, hi))
            self._times(early)
            earliest: dict[str, float] = {}
            for d in early:
                earliest[d.lot_id] = min(self.ship[d.id], earliest.get(d.lot_id, math.inf))
            self.need_lot_records(made)
            self._existence(made, earliest)
        return out

    def first_shipments(self, lot: str, opts: TraceOptions) -> dict[str, float]:
        """Station -> the first time it shipped ``lot`` (deliveries in the options' range)."""
        out: dict[str, float] = {}
        for d in self.lot_dels.get(lot, ()):
            ts = self.ship[d.id]
            if opts.in_range(ts) and d.sender_id not in out:
                out[d.sender_id] = ts
        return out

    def full(self, ids: list[str], dels: Mapping[str, Delivery]) -> Mapping[str, Delivery]:
        """The complete records of these reached deliveries (the search holds them already)."""
        return dels

    def producer(self, lot: str) -> tuple[str | None, float | None]:
        """The lot's producer and its production date (as the first second of that day)."""
        r = self.lots.get(lot)
        if r is None or not r.producer_id:
            return None, None
        return r.producer_id, epoch(r.production_date) if r.production_date else None


class _IndexNet(_Net):
    """The same reads answered from a :class:`reasoning.trace_index.TraceIndex`: nothing is read from the
    store but the records of the deliveries a trace returns."""

    def __init__(self, view: "ReadView", index: TraceIndex) -> None:
        self.view, self.index = view, index
        self.retracted = index.retracted
        self.lot_dels = {}
        self.out = {}
        self.inn = {}
        self.items_of_lot = index.items_of_lot
        self.trans = index.trans
        self.lots = index.lots
        self.category = index.category
        self.kind = index.kind
        self.ship = {}
        self.arr = {}
        self.exist = index.exist
        self.left_part = {}
        self.passes = index.passes
        self.learned = {}
        self.ranges = {}
        self.first_arrival = {}
        self.checked = set()

    def holding(self, as_of: float | None) -> HoldingWindows:
        return self.index.holding(as_of)

    def _rows(self, idx: Any) -> list[Delivery]:
        ix, out = self.index, []
        for i in idx.tolist():
            d = ix.delivery(i)
            self.ship[d.id] = float(ix.d_ship[i])
            self.arr[d.id] = float(ix.d_arr[i])
            out.append(d)
        return out

    def need_lots(self, lots: Iterable[str]) -> None:
        for lot in {x for x in lots if x is not None and x not in self.lot_dels}:
            ds = self._rows(self.index.of_lot(lot))
            self.lot_dels[lot] = sorted(ds, key=lambda d: (self.ship[d.id], d.id))
            for d in ds:
                self._arrived(d)

    def need_items(self, lots: Iterable[str]) -> None:
        """Held in the index."""

    def need_lot_records(self, lots: Iterable[str]) -> None:
        """Held in the index."""

    def need_kinds(self, stations: Iterable[str]) -> None:
        """Held in the index."""

    def need_balance(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.left_part.update(self.index.left(p for p in pairs if p not in self.left_part))

    def _need_many(self, side: str, spans: Mapping[str, tuple[float, float]]) -> None:
        for st, (lo, hi) in self._unread(side, spans).items():
            if side == "out":
                self.out[st] = sorted(self._rows(self.index.shipped(st, lo, hi)), key=lambda d: (self.ship[d.id], d.id))
            else:   # by arrival: every delivery a consumer asks for arrived in the window
                rows = self._rows(self.index.received(st, lo, hi))
                self.inn[st] = sorted(rows, key=lambda d: (self.arr[d.id], d.id))
                for d in rows:
                    self.checked.add((st, d.lot_id))
                    self._arrived(d)
            self.ranges[(side, st)] = (lo, hi)

    def full(self, ids: list[str], dels: Mapping[str, Delivery]) -> dict[str, Delivery]:
        return self.view.get_many("delivery", ids)  # type: ignore[return-value]

    def makers(self, spans: Mapping[str, tuple[float, float]], opts: TraceOptions) -> dict[str, list[tuple[float, str]]]:
        if opts.since is not None or opts.until is not None:   # the index's makers are over every delivery
            return super().makers(spans, opts)
        return {st: self.index.makers(st, lo, hi) for st, (lo, hi) in spans.items()}


# -- the search --------------------------------------------------------------------------------

# state keys: ("W", lot) whole lot; ("P", lot, station) presence; ("D", delivery id)
_State = tuple


class _Label:
    """One way a state is reached: when, how likely, through how many inferred links, from where.

    ``via`` is set on the label an inferred link made: (held lot, station) downstream, (made lot, station)
    upstream. ``dead`` marks a label another one dominates (it is no longer expanded).
    """

    __slots__ = ("state", "t", "lik", "hops", "parent", "via", "dead")

    def __init__(self, state: _State, t: float, lik: float, hops: int, parent: "_Label | None",
                 via: tuple[str | None, str] | None) -> None:
        self.state, self.t, self.lik, self.hops, self.parent, self.via = state, t, lik, hops, parent, via
        self.dead = False


def _descends(label: _Label | None, ancestor: _Label) -> bool:
    """Whether ``ancestor`` is on ``label``'s chain of parents (or is ``label``)."""
    while label is not None:
        if label is ancestor:
            return True
        label = label.parent
    return False


class _Search:
    """Label-correcting search over states, keeping every label no other one beats on all of time,
    likelihood and inferred links (a Pareto set per state; almost always one label).

    Explicit links are followed from each label. Inferred links depend on the exact time a lot came to a
    station (down) or on the origins of a lot (up), so they are queued and answered once per batch,
    after the batch's reads.
    """

    def __init__(self, net: _Net, opts: TraceOptions, down: bool) -> None:
        self.net, self.o, self.down = net, opts, down
        self.labels: dict[_State, list[_Label]] = {}
        self.frontier: list[_Label] = []
        self.pending: list[tuple[str | None, str, float, _Label]] = []
        self.dels: dict[str, Delivery] = {}
        self.used: dict[tuple[str | None, str | None], WindowUsed] = {}
        self._widest: dict[str | None, float] = {}
        self._made_of: dict[tuple[str, str, float, float], tuple[list, dict]] = {}

    # labels

    def _beats(self, a: _Label, t: float, lik: float, hops: int) -> bool:
        """Whether label ``a`` is at least as good as (t, lik, hops) on every count."""
        at = a.t <= t if self.down else a.t >= t
        return at and a.lik >= lik and a.hops <= hops

    def offer(self, state: _State, t: float, lik: float, hops: int, parent: _Label | None,
              via: tuple[str | None, str] | None = None) -> None:
        if state[0] == "D" and not self.o.in_range(t):
            return
        if via is not None and not self.o.keeps(lik, hops):
            return
        have = self.labels.get(state)
        if have is None:
            have = self.labels[state] = []
        for a in have:
            if self._beats(a, t, lik, hops):
                if (a.t == t and a.lik == lik and a.hops == hops and via is None and a.via is None
                        and parent is not None and parent.state[0] in "PD"
                        and a.parent is not None and a.parent.state[0] == "W" and not _descends(parent, a)):
                    # as good, but through the station that held it: a longer, more telling chain of evidence
                    a.parent = parent
                return
        keep = []
        for a in have:
            if self._beats_label(t, lik, hops, a):
                a.dead = True
            else:
                keep.append(a)
        new = _Label(state, t, lik, hops, parent, via)
        keep.append(new)
        self.labels[state] = keep
        self.frontier.append(new)

    def _beats_label(self, t: float, lik: float, hops: int, a: _Label) -> bool:
        at = t <= a.t if self.down else t >= a.t
        return at and lik >= a.lik and hops <= a.hops

    def reach_delivery(self, d: Delivery, parent: _Label, lik: float | None = None, hops: int | None = None,
                       via: tuple[str | None, str] | None = None) -> None:
        self.dels[d.id] = d
        self.offer(("D", d.id), self.net.ship[d.id], parent.lik if lik is None else lik,
                   parent.hops if hops is None else hops, parent, via)

    def infer(self, lot: str | None, station: str | None, t: float | None, label: _Label) -> None:
        """Queue the inferred links of ``lot`` at ``station`` at time ``t`` (see the subclasses); a station
        start's receipts (``lot`` None) are recorded links, followed without inference too."""
        if station is None or t is None or (lot is not None and not self.o.infer):
            return
        self.pending.append((lot, station, t, label))

    def window(self, category: str | None, station: str) -> float:
        """The holding window (seconds) of ``category`` at ``station``; records which one was used."""
        kind = self.net.kind.get(station)
        key = (category, kind)
        w = self.used.get(key)
        if w is None:
            w = self.used[key] = self.o.window_used(category, kind)
        return w.days * 86400.0

    def widest(self, station: str) -> float:
        """The widest holding window (seconds) of any category at ``station``: of the categories the store
        names where the learned windows know them, else of every category."""
        kind = self.net.kind.get(station)
        w = self._widest.get(kind)
        if w is None:
            o = self.o
            present = o.holding.present if o.holding is not None else None
            if present is None:
                days = [o.default_window, *DEFAULT_WINDOWS.values(), *o.windows.values()]
            else:
                days = [o.window_used(c, kind).days for c in present]
            w = self._widest[kind] = max(days) * 86400.0
        return w

    def run(self) -> None:
        net = self.net
        while self.frontier:
            batch, self.frontier = [x for x in self.frontier if not x.dead], []
            lots = {x.state[1] for x in batch if x.state[0] in "WP" and x.state[1] is not None}
            lots |= {self.dels[x.state[1]].lot_id for x in batch if x.state[0] == "D"}
            net.need_lots(lots)
            # a batch in time order keeps re-expansion low
            batch.sort(key=lambda x: x.t if self.down else -x.t)
            for label in batch:
                if label.dead:
                    continue
                kind = label.state[0]
                if kind == "W":
                    self.expand_lot(label)
                elif kind == "P":
                    self.expand_presence(label)
                else:
                    self.expand_delivery(label)
            if self.pending:
                pending, self.pending = self.pending, []
                self.infer_batch([p for p in pending if not p[3].dead])

    # shared pieces

    def killed_station(self, station: str) -> bool:
        return self.o.killable() and station in self.o.kill

    def killed_lot(self, lot: str | None) -> bool:
        return lot is not None and self.o.killable() and lot in self.o.kill

    def link_window(self, held: str | None, made: str | None, station: str) -> float:
        """The holding window (seconds) of an inferred link at ``station`` from goods of category ``held`` to
        a lot of category ``made``: the goods waited there as the one or as the other, so the longer of
        the two windows."""
        return max(self.window(held, station), self.window(made, station))

    def made_of(self, lot: str | None, made: str, station: str, origin: float,
                upper: float) -> tuple[list[tuple[Delivery, float]], dict[str | None, float]]:
        """What lot ``made``, first shipped by ``station`` at ``origin``, may be made of: the deliveries of
        other lots that arrived between ``origin`` minus the link window and ``upper``, each with its
        weight (the part of its lot the records do not show leaving the station, times the chance it was
        still there at ``upper``), and each lot's share of the total. ``lot`` held without a recorded
        delivery counts as one more delivery of weight 1."""
        if lot is None:
            key = (made, station, origin, upper)
            hit = self._made_of.get(key)
            if hit is None:
                hit = self._made_of[key] = self._made_of_now(None, made, station, origin, upper)
            return hit
        return self._made_of_now(lot, made, station, origin, upper)

    def _made_of_now(self, lot: str | None, made: str, station: str, origin: float,
                     upper: float) -> tuple[list[tuple[Delivery, float]], dict[str | None, float]]:
        net, o = self.net, self.o
        cat = net.category.get(made)
        got: list[Delivery] = []
        for r in net.inn.get(station, ()):
            a = net.arr[r.id]
            if a > upper:
                break
            if r.lot_id == made or not o.in_range(net.ship[r.id]):
                continue
            held = net.category.get(r.lot_id)
            if (math.isinf(origin) or a >= origin - self.link_window(held, cat, station)) and o.allows(held, cat):
                got.append(r)
        kind = net.kind.get(station)
        holding = o.holding
        out: list[tuple[Delivery, float]] = []
        weights: dict[str | None, float] = defaultdict(float)
        for r in got:
            w = net.left(r.lot_id, station)
            if holding is not None and w > 0:   # the chance it was still there when the lot was made
                w *= holding.survival(net.category.get(r.lot_id), kind, upper - net.arr[r.id])
            out.append((r, w))
            weights[r.lot_id] += w
        if lot is not None and lot not in weights:
            weights[lot] += 1.0
        total = math.fsum(weights.values())
        return out, ({k: v / total for k, v in weights.items()} if total > 0 else {})

    def need_made_of(self, spans: Mapping[str, tuple[float, float]]) -> None:
        """Read what :meth:`made_of` looks at for these stations and windows of ship times."""
        net = self.net
        net.need_in(spans)
        got = {(st, r.lot_id) for st in spans for r in net.inn.get(st, ())}
        net.need_lot_records({x for _, x in got})
        net.need_balance(got)


class _Down(_Search):
    def __init__(self, net: _Net, opts: TraceOptions) -> None:
        super().__init__(net, opts, True)

    def expand_lot(self, label: _Label) -> None:
        lot, t = label.state[1], label.t
        if self.killed_lot(lot):
            return
        net = self.net
        for d in net.lot_dels.get(lot, ()):
            if net.ship[d.id] >= t and not self.killed_station(d.sender_id):
                self.reach_delivery(d, label)
        for tr, _ins, outs in net.transformations_of(lot, "input"):
            tt: float = epoch(tr.time)  # type: ignore[assignment]
            if (tt >= t and self.o.in_range(tt) and not self.killed_station(tr.station_id)  # type: ignore[arg-type]
                    and not self.o.kills(tr.kind)):
                for out in outs:
                    self.offer(("W", out), tt, label.lik, label.hops, label)

    def expand_presence(self, label: _Label) -> None:
        _, lot, station = label.state
        t = label.t
        if self.killed_lot(lot) or self.killed_station(station):
            return
        net = self.net
        for d in net.lot_dels.get(lot, ()):
            if d.sender_id == station and net.ship[d.id] >= t:
                self.reach_delivery(d, label)
        for tr, _ins, outs in net.transformations_of(lot, "input"):
            tt: float = epoch(tr.time)  # type: ignore[assignment]
            if tr.station_id == station and tt >= t and self.o.in_range(tt) and not self.o.kills(tr.kind):
                for out in outs:
                    self.offer(("W", out), tt, label.lik, label.hops, label)
        if label.parent is None:   # the start itself: the lot came to the station then
            self.infer(lot, station, t, label)

    def expand_delivery(self, label: _Label) -> None:
        d = self.dels[label.state[1]]
        if self.killed_lot(d.lot_id):
            return
        arr = self.net.arr[d.id]
        self.offer(("P", d.lot_id, d.receiver_id), arr, label.lik, label.hops, label)
        self.infer(d.lot_id, d.receiver_id, arr, label)

    def infer_batch(self, pending: list) -> None:
        """An arrival of ``L`` at ``S`` at ``a`` reaches every lot ``K`` that ``S`` first shipped without a
        record of how it got it, within the link window after ``a``, and that existed no earlier than
        ``a``, with the share of ``L`` in what ``S`` may have made ``K`` of."""
        net, o = self.net, self.o
        pending = [p for p in pending if not (self.killed_lot(p[0]) or self.killed_station(p[1])
                                              or math.isinf(p[2]))]
        if not pending:
            return
        net.need_kinds(p[1] for p in pending)
        spans: dict[str, tuple[float, float]] = {}
        for lot, station, a, _label in pending:
            end = a + self.widest(station)
            lo, hi = spans.get(station, (a, end))
            spans[station] = (min(lo, a), max(hi, end))
        makers = net.makers(spans, o)
        links: list[tuple[str, str, float, _Label, str, float]] = []
        reads: dict[str, tuple[float, float]] = {}
        for lot, station, a, label in pending:
            cat = net.category.get(lot)
            for fs, k in makers.get(station, ()):
                if fs < a:
                    continue
                if (k == lot or fs > a + self.link_window(cat, net.category.get(k), station)
                        or a > net.exists(k) or not o.allows(cat, net.category.get(k))):
                    continue
                links.append((lot, station, a, label, k, fs))
                lo, hi = fs - self.widest(station) - _TRANSIT, min(fs, net.exists(k))
                have = reads.get(station, (lo, hi))
                reads[station] = (min(lo, have[0]), max(hi, have[1]))
        if not links:
            return
        self.need_made_of(reads)
        shares: dict[tuple[str, str, str], float] = {}
        for lot, station, a, label, k, fs in links:
            key = (lot, k, station)
            s = shares.get(key)
            if s is None:
                upper = min(fs, net.exists(k))
                s = self.made_of(None, k, station, fs, upper)[1].get(lot, 0.0)
                if s == 0 and not any(r.lot_id == lot for r, _w in self.made_of(None, k, station, fs, upper)[0]):
                    s = self.made_of(lot, k, station, fs, upper)[1].get(lot, 0.0)   # held without a delivery
                shares[key] = s
            if s > 0:
                self.offer(("W", k), a, label.lik * s, label.hops + 1, label, (lot, station))


class _Up(_Search):
    def __init__(self, net: _Net, opts: TraceOptions) -> None:
        super().__init__(net, opts, False)

    def expand_lot(self, label: _Label) -> None:
        lot, t = label.state[1], label.t
        if self.killed_lot(lot):
            return
        net = self.net
        for tr, _ins, _outs in net.transformations_of(lot, "output"):
            tt: float = epoch(tr.time)  # type: ignore[assignment]
            if tt <= t and self.o.in_range(tt):
                self.offer(("P", lot, tr.station_id), tt, label.lik, label.hops, label)
        # where the lot first appears: its producer, stations that shipped it without a recorded source
        producer, _made = net.producer(lot)
        shipped = net.first_shipments(lot, self.o)
        if producer is not None:
            at = min(t, net.exists(lot))
            self.offer(("P", lot, producer), at, label.lik, label.hops, label)
            if producer not in shipped and not net.explained(lot, producer, at):
                self.infer(lot, producer, at, label)   # a producer that never ships it
        for station, ts in shipped.items():   # a lot is made once: a later maker made it before it existed
            if not net.explained(lot, station, ts):
                if station != producer:
                    self.offer(("P", lot, station), min(ts, t), label.lik, label.hops, label)
                self.infer(lot, station, ts, label)

    def presence(self, lot: str, station: str, t: float, label: _Label) -> None:
        """``lot`` at ``station`` at ``t``: a portion of a lot holds what the whole lot holds, so it came from
        the lot's origins as well (explicit: the lot id says so)."""
        self.offer(("P", lot, station), t, label.lik, label.hops, label)
        if not (self.killed_station(station) or self.killed_lot(lot)):
            self.offer(("W", lot), t, label.lik, label.hops, label)

    def expand_presence(self, label: _Label) -> None:
        _, lot, station = label.state
        t = label.t
        if self.killed_station(station) or self.killed_lot(lot):
            return
        net = self.net
        if lot is None:   # a station start: what it received
            self.infer(None, station, t, label)
            return
        for d in net.lot_dels.get(lot, ()):
            if d.receiver_id == station and net.arr[d.id] <= t:
                self.reach_delivery(d, label)
        for tr, ins, _outs in net.transformations_of(lot, "output"):
            tt: float = epoch(tr.time)  # type: ignore[assignment]
            if tr.station_id == station and tt <= t and self.o.in_range(tt) and not self.o.kills(tr.kind):
                for src in ins:
                    self.presence(src, station, tt, label)
        if label.parent is None:   # the start
            self.offer(("W", lot), t, label.lik, label.hops, label)

    def expand_delivery(self, label: _Label) -> None:
        d = self.dels[label.state[1]]
        if self.killed_lot(d.lot_id):
            return
        self.presence(d.lot_id, d.sender_id, self.net.ship[d.id], label)

    def infer_batch(self, pending: list) -> None:
        """A lot ``K`` first shipped by ``S`` at ``f`` without a record of how ``S`` got it reaches what
        ``S`` received that ``K`` may be made of; a station start reaches what the station received within
        each received lot's holding window before the start's time."""
        net = self.net
        pending = [p for p in pending if not self.killed_station(p[1])]
        if not pending:
            return
        net.need_kinds(p[1] for p in pending)
        reads: dict[str, tuple[float, float]] = {}
        for lot, station, t, _label in pending:
            upper = t if lot is None else min(t, net.exists(lot))
            lo = -math.inf if math.isinf(t) else t - self.widest(station) - _TRANSIT
            have = reads.get(station, (lo, upper))
            reads[station] = (min(lo, have[0]), max(upper, have[1]))
        self.need_made_of(reads)
        for lot, station, t, label in pending:
            if lot is None:   # what the station received within each lot's window: recorded links
                for r in net.inn.get(station, ()):
                    a = net.arr[r.id]
                    if a > t:
                        break
                    if math.isinf(t) or a >= t - self.window(net.category.get(r.lot_id), station):
                        self.reach_delivery(r, label)
                continue
            got, shares = self.made_of(None, lot, station, t, min(t, net.exists(lot)))
            for r, _w in got:
                s = shares.get(r.lot_id, 0.0)
                if s > 0:
                    self.reach_delivery(r, label, label.lik * s, label.hops + 1, (lot, station))


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
    """Runs many traces over one view, sharing what they read (for outbreak ranking, benchmarks); with a
    :class:`reasoning.trace_index.TraceIndex`, from memory.

    The cache assumes the store does not change while the tracer is in use.
    """

    def __init__(self, view: "ReadView", index: TraceIndex | None = None,
                 passes: PassThroughs | None = None) -> None:
        self.view = view
        self._net = _net(view, index, passes)

    def resolve(self, identifier: str) -> Start:
        return resolve_start(self.view, identifier)

    def trace(self, start: str | Start, direction: str = "down", options: TraceOptions | None = None) -> Trace:
        return _trace(self.view, self._net, start, direction, options)


def trace(view: "ReadView", start: str | Start, direction: str = "down",
          options: TraceOptions | None = None, index: TraceIndex | None = None,
          passes: PassThroughs | None = None) -> Trace:
    """Trace downstream (``"down"``) or upstream (``"up"``) from an identifier or a resolved start (through
    ``index`` where one is given: see :mod:`reasoning.trace_index`). ``passes``: the store's pass-throughs
    where the caller has them (:func:`reasoning.holding.pass_throughs`, e.g. kept between commands), so the
    holding windows are learned without reading every delivery."""
    return _trace(view, _net(view, index, passes), start, direction, options)


def _net(view: "ReadView", index: TraceIndex | None, passes: PassThroughs | None) -> _Net:
    if index is not None:
        return _IndexNet(view, index)
    net = _Net(view)
    net.passes = passes
    return net


def _trace(view: "ReadView", net: _Net, start: str | Start, direction: str,
           options: TraceOptions | None) -> Trace:
    if direction not in ("down", "up"):
        raise InvalidRecord(f"direction must be 'down' or 'up', not {direction!r}")
    st = start if isinstance(start, Start) else resolve_start(view, start)
    opts = options or TraceOptions()
    notes: list[str] = []
    if opts.holding is None and opts.learn_windows and opts.infer:
        opts = replace(opts, holding=net.holding(opts.until))
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
    seeds = _seeds(net, search, st, down, t0, notes, opts)
    if down and st.kind == "station":  # seeded with the deliveries it shipped: the search must know them
        search.dels.update((d.id, d) for d in net.out.get(st.station_id, ()))  # type: ignore[arg-type]
    for state, t in seeds:
        search.offer(state, t, 1.0, 0, None)
    search.run()
    return _result(view, net, search, st, direction, opts, notes, seeds)


def _seeds(net: _Net, search: _Search, st: Start, down: bool, t0: float, notes: list[str],
           opts: TraceOptions) -> list[tuple[_State, float]]:
    if st.kind in ("lot", "trace_code") or (st.kind == "sample" and st.lot_id and down):
        return [(("W", st.lot_id), t0)]
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
            net.need_kinds([st.station_id])
            window = search.window(st.category, st.station_id)  # type: ignore[arg-type]
            net.need_in({st.station_id: (t - window - _TRANSIT, t)})  # type: ignore[dict-item]
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
        net.need_out({st.station_id: (lo, hi)})  # type: ignore[dict-item]
        return [(("D", d.id), net.ship[d.id]) for d in net.out.get(st.station_id, ())  # type: ignore[arg-type]
                if lo <= net.ship[d.id] <= hi]
    return [(("P", None, st.station_id), t0)]


def _chain(label: _Label | None) -> tuple[str, ...]:
    out = []
    while label is not None:
        if label.state[0] == "D":
            out.append(label.state[1])
        label = label.parent
    return tuple(reversed(out))


class _Reach:
    """What the labels of one item say: tier, likelihood, time and the evidence of its best path."""

    __slots__ = ("certain", "lik", "t", "best", "best_key")

    def __init__(self) -> None:
        self.certain = False
        self.lik = 0.0
        self.t: float | None = None
        self.best: _Label | None = None
        self.best_key: tuple | None = None

    def add(self, label: _Label, t: float, down: bool) -> None:
        self.certain = self.certain or label.hops == 0
        self.lik = max(self.lik, label.lik)
        if self.t is None or (t < self.t if down else t > self.t):
            self.t = t
        key = (-label.lik, label.hops, t if down else -t)
        if self.best_key is None or key < self.best_key:
            self.best, self.best_key = label, key

    def values(self) -> tuple[str, float, float, tuple[str, ...]]:
        return (CERTAIN if self.certain else POSSIBLE), self.lik, self.t, _chain(self.best)  # type: ignore[return-value]


def _result(view: "ReadView", net: _Net, search: _Search, st: Start, direction: str, opts: TraceOptions,
            notes: list[str], seeds) -> Trace:
    down = direction == "down"
    # a fixed order (not a set's): where several labels give an item its evidence, the first wins, and the
    # answer must not depend on string hashing
    states = sorted(search.labels, key=lambda s: tuple(x or "" for x in s))
    dl: dict[str, _Reach] = {}
    lots: dict[str, _Reach] = defaultdict(_Reach)
    stations: dict[str, _Reach] = defaultdict(_Reach)
    start_delivery = st.id if st.kind == "delivery" else None
    for s in states:
        labels = [x for x in search.labels[s] if not x.dead]
        if not labels:
            continue
        if s[0] == "D":
            if s[1] == start_delivery:
                continue
            d = search.dels[s[1]]
            r = dl[s[1]] = _Reach()
            for x in labels:
                r.add(x, x.t, down)
                lots[d.lot_id].add(x, x.t, down)
                if down:
                    stations[d.receiver_id].add(x, net.arr[d.id], down)
                else:
                    stations[d.sender_id].add(x, x.t, down)
        else:
            for x in labels:
                if s[1] is not None:
                    lots[s[1]].add(x, x.t, down)
                if not down and s[0] == "P":   # the producers and the stations that made or first shipped it
                    stations[s[2]].add(x, x.t, down)
    if st.lot_id:
        lots.pop(st.lot_id, None)
    if st.kind == "station":
        stations.pop(st.station_id, None)  # type: ignore[arg-type]
    for x, _ in seeds:  # where a delivery or sample start sits is neither down- nor upstream of it
        if x[0] == "P":
            stations.pop(x[2], None)

    # enrich
    ids_l, ids_d, ids_s = sorted(lots), sorted(dl), sorted(stations)
    aliases = view.aliases_of([*ids_l, *ids_d, *ids_s])
    lot_recs = view.get_many("lot", ids_l)
    prods = view.get_many("product", sorted({r.product_id for r in lot_recs.values() if r.product_id}))
    ops = view.get_many("operator", ids_s)

    def al(i: str) -> tuple[str, ...]:
        return tuple(a for a in aliases.get(i, ()) if a != i)

    out_l = []
    for i in ids_l:
        tier, lik, t, ev = lots[i].values()
        r = lot_recs.get(i)
        p = prods.get(r.product_id) if r is not None and r.product_id else None
        out_l.append(TracedLot(i, tier, format_instant(t), ev, al(i), lik, product_id=getattr(r, "product_id", None),
                               product_name=getattr(p, "name", None), category=getattr(p, "category", None),
                               lot_number=getattr(r, "lot_number", None), producer_id=getattr(r, "producer_id", None)))
    out_d = []
    full = net.full(ids_d, search.dels)
    for i in ids_d:
        tier, lik, t, ev = dl[i].values()
        d = full.get(i) or search.dels[i]
        best = dl[i].best
        via = _inferred_via(best, down)
        out_d.append(TracedDelivery(
            i, tier, format_instant(t), ev, al(i), lik, lot_id=d.lot_id, sender_id=d.sender_id,
            receiver_id=d.receiver_id, ship_time=d.time, received_time=d.received_time, quantity=d.quantity,
            unit=d.unit, max_quantity=_bound(net, d, via if down else None), ticket_id=d.ticket_id,
            certificate_id=d.certificate_id, trace_code=d.trace_code, inferred=via is not None))
    out_s = []
    for i in ids_s:
        tier, lik, t, ev = stations[i].values()
        o = ops.get(i)
        out_s.append(TracedStation(i, tier, format_instant(t), ev, al(i), lik, name=getattr(o, "name", None),
                                   kind=getattr(o, "kind", None), region_id=getattr(o, "region_id", None)))

    def order(x: _Item) -> tuple:
        tt = epoch(x.time) if x.time else 0.0
        return (-x.likelihood, (tt if down else -tt), x.id)

    used = tuple(sorted(search.used.values(), key=lambda w: (w.category or "", w.kind or "")))
    return Trace(direction, st, tuple(sorted(out_l, key=order)), tuple(sorted(out_d, key=order)),
                 tuple(sorted(out_s, key=order)), opts, tuple(notes), used)


def _inferred_via(label: _Label | None, down: bool) -> tuple[str | None, str] | None:
    """Where the delivery of this (best) label was reached through an inferred link, that link's (held lot,
    station): downstream the delivery left the station as the lot the link reached, upstream the delivery is
    the link's own."""
    if label is None:
        return None
    if not down:
        return label.via
    p = label.parent
    if p is not None and p.via is not None and p.state[0] == "W":
        return p.via
    return None


def _bound(net: _Net, d: Delivery, via: tuple[str | None, str] | None) -> float | None:
    """How much of the traced goods a reached delivery can hold (see the module docstring)."""
    if d.quantity is None:
        return None
    if via is None or via[0] is None or d.sender_id != via[1]:
        return d.quantity
    ship = net.ship[d.id]
    held = [x for x in net.lot_dels.get(via[0], ()) if x.receiver_id == via[1] and net.arr[x.id] <= ship]
    if not held or any(x.quantity is None or x.unit != d.unit for x in held):
        return d.quantity
    return min(d.quantity, sum(x.quantity for x in held))  # type: ignore[misc]
