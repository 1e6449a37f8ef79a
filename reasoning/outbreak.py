"""Outbreak source ranking (FoodChain-Lab style): which station or lot explains the cases.

Input: cases, each a station or a lot (any identifier form the store knows), a
weight (1 by default; negative for a confirmed non-case, e.g. a shop that sold
the suspected food and had no ill customers) and an optional date (when the
case was observed: onset, sampling).

Candidates and score
    FoodChain-Lab's score: the sum of the weights of the cases a candidate
    station or lot reaches downstream, negatives included, divided by the sum
    of all positive weights. 1.0 means the candidate reaches every positive
    case and no negative one (a common link); a reached non-case lowers it.
    Downstream and upstream traces mirror each other (:mod:`reasoning.trace`):
    a candidate reaches a case exactly when it lies upstream of it. So the
    ranking runs **one upstream trace per case** (negative cases included)
    and counts, for each station and lot, the cases whose upstream trace
    lists it; the candidates are everything upstream of a positive case, plus
    the case stations and lots themselves (a kitchen can be the source).

    * a station case with a date: what the station received by the end of that
      date (Beijing time), within the holding window of each received lot
      before it (a leafy vegetable delivered two weeks before the onset cannot
      explain it; a supplier whose goods came only after the date does not);
    * a station case without a date: what it ever received;
    * a lot case: the lot's origins (by the end of its date, where given).

    The tests check on hand-made networks that this gives the ranking that a
    forward trace from every candidate gives.

Tiers and times
    Each reached case carries the tier of the candidate in the case's upstream
    trace (``certain``: explicit lot links all the way; ``possible``: an
    inferred link on the way) and when the goods reached the case along that
    way (the arrival of the delivery nearest the case; none where the
    candidate is the case itself); a candidate's ``tier`` is the weakest over
    the cases it reaches (None if it reaches none).

Kill steps and hazards
    ``kill`` names stations or lots whose processing kills the hazard (a
    canteen boiling everything): the traces are cut there
    (:class:`reasoning.trace.TraceOptions` ``kill``). A kill station can still
    be a source itself (contamination after cooking). Heat removes pathogens
    (hazard ``microbial``, or ``unknown``), not drug residues, pesticides,
    additives or metals: for those hazards kill steps are ignored and the
    result's notes say so.

Ranks and priors
    Stations and lots are ranked separately, highest score first. Equal scores
    share a rank (competition ranking: 1, 1, 3). With ``priors=True`` the
    product-risk prior of each candidate (``data/product_priors.json``, a
    versioned table per food category: ready-to-eat foods highest, salt and oil
    lowest) orders candidates **within** a tie: the score is unchanged, ranks
    inside the tie group become distinct where the priors differ, and the notes
    and each reordered candidate's ``tie_broken_by_prior`` say so. A station's
    prior is the highest prior of the categories it shipped; a lot's, its
    product category's.

All traces run on one :class:`reasoning.trace.Tracer` (give one built on a
:class:`reasoning.trace_index.TraceIndex` to trace from memory), so reads are shared.

Example: a farm supplies two restaurants; only the farm reaches both cases.

>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Delivery
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "o.db"))
>>> _ = s.write([
...     Delivery(id="d1", lot_id="A", sender_id="farm", receiver_id="r1", time="2026-03-01T06:00:00+08:00"),
...     Delivery(id="d2", lot_id="A", sender_id="farm", receiver_id="r2", time="2026-03-01T07:00:00+08:00"),
...     Delivery(id="d3", lot_id="B", sender_id="mill", receiver_id="r2", time="2026-03-01T08:00:00+08:00")])
>>> r = rank_sources(ReadView(s), [Case("r1", date="2026-03-02"), Case("r2", date="2026-03-02")])
>>> [(c.id, c.score, c.rank) for c in r.stations]
[('farm', 1.0, 1), ('mill', 0.5, 2), ('r1', 0.5, 2), ('r2', 0.5, 2)]
>>> [(c.id, c.score, c.rank) for c in r.lots]
[('A', 1.0, 1), ('B', 0.5, 2)]
>>> s.close()
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ontology.errors import InvalidRecord, NotFound

from ontology.times import epoch

from .trace import CERTAIN, HAZARDS, POSSIBLE, Start, TraceOptions, Tracer, resolve_start

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["Case", "ResolvedCase", "CaseHit", "RankedStation", "RankedLot", "OutbreakRanking",
           "rank_sources", "resolve_cases", "resolve_case_ids", "product_priors"]


# -- input -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One case as given: a station or lot identifier (any form), a weight, an optional date."""

    id: str
    weight: float = 1.0
    date: str | None = None  # YYYY-MM-DD or an ISO date-time


@dataclass(frozen=True)
class ResolvedCase:
    """A case with its canonical id and kind (``station`` or ``lot``)."""

    input: str
    kind: str
    id: str
    weight: float = 1.0
    date: str | None = None

    @property
    def time(self) -> float | None:
        """End of the case date (or the date-time itself) as epoch seconds, None without a date."""
        return epoch(self.date, end_of_day=True) if self.date else None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "input": self.input, "kind": self.kind, "weight": self.weight, "date": self.date}


def resolve_case_ids(view: "ReadView", identifiers: Iterable[str]) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Resolve case identifiers: ``({input: (kind, canonical id)}, {input: reason it cannot be a case})``.

    ``kind`` is ``station`` or ``lot``; a trace code stands for its lot. Batched: one
    ``resolve_many`` and one ``get_many`` per table; only identifiers these miss are looked up
    one by one (trace codes, ids known only from deliveries).
    """
    idents = sorted({str(i).strip() for i in identifiers})
    found: dict[str, tuple[str, str]] = {}
    problems: dict[str, str] = {}
    if "" in idents:
        problems[""] = "empty identifier"
        idents.remove("")
    canon = view.resolve_many(idents)
    cids = sorted({canon.get(i, i) for i in idents})
    ops = view.get_many("operator", cids)
    lots = view.get_many("lot", cids)
    for ident in idents:
        c = canon.get(ident, ident)
        if c in lots:
            found[ident] = ("lot", c)
        elif c in ops:
            found[ident] = ("station", c)
        else:
            try:
                st = resolve_start(view, ident)
            except NotFound:
                problems[ident] = "no station or lot has this identifier"
                continue
            if st.kind == "station":
                found[ident] = ("station", st.station_id)  # type: ignore[assignment]
            elif st.kind in ("lot", "trace_code") and st.lot_id:
                found[ident] = ("lot", st.lot_id)
            else:
                problems[ident] = f"names a {st.kind.replace('_', ' ')}, not a station or lot"
    return found, problems


def resolve_cases(view: "ReadView", cases: Sequence[Case | ResolvedCase]) -> list[ResolvedCase]:
    """Cases with canonical ids; raises :class:`NotFound` naming the first identifier that is no station or lot."""
    todo = [c for c in cases if not isinstance(c, ResolvedCase)]
    found, problems = resolve_case_ids(view, [c.id for c in todo])
    out = []
    for c in cases:
        if isinstance(c, ResolvedCase):
            out.append(c)
            continue
        ident = str(c.id).strip()
        if ident in problems:
            raise NotFound(f"case {ident!r}: {problems[ident]}")
        kind, cid = found[ident]
        out.append(ResolvedCase(ident, kind, cid, float(c.weight), c.date or None))
    return out


# -- priors ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _priors_table() -> dict[str, Any]:
    text = resources.files("reasoning").joinpath("data/product_priors.json").read_text(encoding="utf-8")
    return json.loads(text)


def product_priors() -> tuple[str, float, dict[str, float]]:
    """The packaged product-risk priors: ``(version, default, {category: prior})``.

    >>> version, default, table = product_priors()
    >>> table["prepared_food"] > table["pork"] > table["condiment"]
    True
    """
    t = _priors_table()
    return t["version"], float(t["default"]), {k: float(v["prior"]) for k, v in t["categories"].items()}


# -- output ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseHit:
    """A case a candidate's forward trace reaches: the tier of that link and when it was reached."""

    id: str
    kind: str
    weight: float
    tier: str
    time: str | None  # earliest time the trace reaches it (None: the candidate is the case itself)
    input: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "weight": self.weight, "tier": self.tier, "time": self.time}


@dataclass(frozen=True)
class _Ranked:
    id: str
    score: float
    rank: int
    cases: tuple[CaseHit, ...]
    tier: str | None               # weakest link over the cases reached (None: reaches none)
    prior: float | None = None     # set when priors were applied
    tie_broken_by_prior: bool = False

    def _common(self) -> dict[str, Any]:
        d: dict[str, Any] = {"score": self.score, "rank": self.rank, "tier": self.tier,
                             "cases": [h.to_dict() for h in self.cases]}
        if self.prior is not None:
            d["prior"] = self.prior
            d["tie_broken_by_prior"] = self.tie_broken_by_prior
        return d


@dataclass(frozen=True)
class RankedStation(_Ranked):
    name: str | None = None
    kind: str | None = None
    region_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "district": self.region_id, **self._common()}


@dataclass(frozen=True)
class RankedLot(_Ranked):
    product_id: str | None = None
    product_name: str | None = None
    category: str | None = None
    lot_number: str | None = None
    producer_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "product": self.product_id, "product_name": self.product_name,
                "category": self.category, "lot_number": self.lot_number, "producer": self.producer_id,
                **self._common()}


@dataclass(frozen=True)
class OutbreakRanking:
    """Ranked candidate stations and lots, with the settings and notes that produced them."""

    stations: tuple[RankedStation, ...]
    lots: tuple[RankedLot, ...]
    total_positive_weight: float
    cases: tuple[ResolvedCase, ...]
    hazard: str
    kill: tuple[str, ...]
    kill_applied: bool
    priors_version: str | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "stations": [x.to_dict() for x in self.stations],
            "lots": [x.to_dict() for x in self.lots],
            "total_positive_weight": self.total_positive_weight,
            "cases": [c.to_dict() for c in self.cases],
            "hazard": self.hazard,
            "kill": list(self.kill),
            "kill_applied": self.kill_applied,
            "priors": self.priors_version,
            "notes": list(self.notes),
        }


# -- the ranking -------------------------------------------------------------------------------


def rank_sources(view: "ReadView", cases: Sequence[Case | ResolvedCase], *, kill: Iterable[str] = (),
                 hazard: str = "unknown", priors: bool | Mapping[str, float] = False,
                 options: TraceOptions | None = None, tracer: Tracer | None = None) -> OutbreakRanking:
    """Rank the stations and lots upstream of the positive cases by the case weight they explain.

    ``kill``: station or lot identifiers (any form) whose processing kills the hazard.
    ``hazard``: one of :data:`reasoning.trace.HAZARDS`. ``priors``: True for the packaged
    product-risk priors, or a mapping category -> prior (unknown categories get 0.3).
    ``options``: trace settings (holding windows, category policy, ``infer``, the likelihood and
    inferred-link cuts); its hazard, kill, since and until are set here. ``tracer``: the tracer of
    the traces (reuse one, and its cache or index, across calls).

    Raises :class:`InvalidRecord` (no positive case, unknown hazard) and :class:`NotFound`
    (a case or kill id that is no station or lot).
    """
    if hazard not in HAZARDS:
        raise InvalidRecord(f"unknown hazard {hazard!r}; known: {', '.join(HAZARDS)}")
    rcases = resolve_cases(view, cases)
    if not rcases:
        raise InvalidRecord("no cases given")
    for c in rcases:
        if not math.isfinite(c.weight):
            raise InvalidRecord(f"case {c.input!r}: weight must be a finite number, not {c.weight!r}")
        if c.date:
            epoch(c.date)  # raises InvalidRecord on a bad date
    total = math.fsum(c.weight for c in rcases if c.weight > 0)
    if total <= 0:
        raise InvalidRecord("no positive case: at least one case needs a weight above 0")

    kill_ids: list[str] = []
    if kill:
        found, problems = resolve_case_ids(view, list(kill))
        for k in kill:
            k = str(k).strip()
            if k in problems:
                raise NotFound(f"kill step {k!r}: {problems[k]}")
            kill_ids.append(found[k][1])
    kill_set = frozenset(kill_ids)
    opts = replace(options or TraceOptions(), hazard=hazard, kill=kill_set, since=None, until=None)
    notes: list[str] = []
    kill_applied = bool(kill_set) and opts.killable()
    if kill_set and not kill_applied:
        notes.append(f"kill steps ignored: heat does not remove a {hazard} hazard (only pathogens); "
                     f"traces pass through {', '.join(sorted(kill_set))}")
    elif kill_applied:
        notes.append(f"traces cut at the kill steps {', '.join(sorted(kill_set))} ({hazard} hazard)")

    tr = tracer or Tracer(view)
    station_hits, lot_hits = _hits_upstream(tr, rcases, opts)
    cand_stations = {k for k, v in station_hits.items() if any(h.weight > 0 for h in v)}
    cand_lots = {k for k, v in lot_hits.items() if any(h.weight > 0 for h in v)}
    station_hits = {k: tuple(v) for k, v in station_hits.items() if k in cand_stations}
    lot_hits = {k: tuple(v) for k, v in lot_hits.items() if k in cand_lots}

    prior_table: Mapping[str, float] | None = None
    version: str | None = None
    default_prior = 0.3
    if priors is True:
        version, default_prior, prior_table = product_priors()
    elif priors:
        version, prior_table = "custom", priors  # type: ignore[assignment]

    ops = view.get_many("operator", sorted(cand_stations))
    lot_recs = view.get_many("lot", sorted(cand_lots))
    products = view.get_many("product", sorted({r.product_id for r in lot_recs.values() if r.product_id}))
    lot_cat = {lot: getattr(products.get(r.product_id), "category", None) if r.product_id else None
               for lot, r in lot_recs.items()}

    st_prior: dict[str, float] = {}
    lot_prior: dict[str, float] = {}
    if prior_table is not None:
        def pr(cat: str | None) -> float:
            return float(prior_table.get(cat or "", default_prior))  # type: ignore[union-attr]

        lot_prior = {lot: pr(lot_cat.get(lot)) for lot in cand_lots}
        shipped = _shipped_categories(view, sorted(cand_stations))
        st_prior = {s: max((pr(c) for c in shipped.get(s, ())), default=default_prior) for s in cand_stations}

    st_ranked, st_notes = _rank({s: _score(h, total) for s, h in station_hits.items()}, st_prior, "stations")
    lot_ranked, lot_notes = _rank({x: _score(h, total) for x, h in lot_hits.items()}, lot_prior, "lots")
    notes += st_notes + lot_notes
    if prior_table is not None:
        notes.append(f"product-risk priors {version} order candidates within ties only; scores are unchanged")

    stations = []
    for sid, score, rank, broken in st_ranked:
        o = ops.get(sid)
        hits = station_hits[sid]
        stations.append(RankedStation(sid, score, rank, hits, _weakest(hits), st_prior.get(sid), broken,
                                      name=getattr(o, "name", None), kind=getattr(o, "kind", None),
                                      region_id=getattr(o, "region_id", None)))
    lots = []
    for lid, score, rank, broken in lot_ranked:
        r = lot_recs.get(lid)
        p = products.get(r.product_id) if r is not None and r.product_id else None
        hits = lot_hits[lid]
        lots.append(RankedLot(lid, score, rank, hits, _weakest(hits), lot_prior.get(lid), broken,
                              product_id=getattr(r, "product_id", None), product_name=getattr(p, "name", None),
                              category=lot_cat.get(lid), lot_number=getattr(r, "lot_number", None),
                              producer_id=getattr(r, "producer_id", None)))
    return OutbreakRanking(tuple(stations), tuple(lots), total, tuple(rcases), hazard, tuple(sorted(kill_set)),
                           kill_applied, version, tuple(notes))


def _hits_upstream(tr: Tracer, cases: Sequence[ResolvedCase],
                   opts: TraceOptions) -> tuple[dict[str, list[CaseHit]], dict[str, list[CaseHit]]]:
    """Station -> the cases it reaches, lot -> the cases it reaches: one upstream trace per case (by the end of
    its date), each case reaching itself too."""
    stations: dict[str, list[CaseHit]] = {}
    lots: dict[str, list[CaseHit]] = {}
    for c in cases:
        start = (Start("lot", c.id, c.input, lot_id=c.id) if c.kind == "lot"
                 else Start("station", c.id, c.input, station_id=c.id))
        t = tr.trace(start, "up", replace(opts, until=c.time))
        arrival = {d.id: d.received_time or d.ship_time for d in t.deliveries}
        own = stations if c.kind == "station" else lots
        own.setdefault(c.id, []).append(CaseHit(c.id, c.kind, c.weight, CERTAIN, None, c.input))
        for items, into in ((t.stations, stations), (t.lots, lots)):
            for x in items:
                if x.id == c.id and into is own:
                    continue
                when = arrival.get(x.evidence[0]) if x.evidence else x.time
                into.setdefault(x.id, []).append(CaseHit(c.id, c.kind, c.weight, x.tier, when, c.input))
    return stations, lots


def _score(hits: Sequence[CaseHit], total: float) -> float:
    return math.fsum(h.weight for h in hits) / total


def _weakest(hits: Sequence[CaseHit]) -> str | None:
    if not hits:
        return None
    return POSSIBLE if any(h.tier == POSSIBLE for h in hits) else CERTAIN


def _shipped_categories(view: "ReadView", stations: Sequence[str]) -> dict[str, set[str | None]]:
    if not stations:
        return {}
    dels = view.deliveries(sender_ids=stations)
    lot_recs = view.get_many("lot", sorted({d.lot_id for d in dels}))
    products = view.get_many("product", sorted({r.product_id for r in lot_recs.values() if r.product_id}))
    out: dict[str, set[str | None]] = {}
    for d in dels:
        r = lot_recs.get(d.lot_id)
        p = products.get(r.product_id) if r is not None and r.product_id else None
        out.setdefault(d.sender_id, set()).add(getattr(p, "category", None))
    return out


def _rank(scores: Mapping[str, float], prior: Mapping[str, float],
          what: str) -> tuple[list[tuple[str, float, int, bool]], list[str]]:
    """Competition ranking by score (then by prior where priors are given); notes on reordered ties.

    >>> _rank({"a": 0.5, "b": 1.0, "c": 1.0, "d": 0.2}, {}, "stations")
    ([('b', 1.0, 1, False), ('c', 1.0, 1, False), ('a', 0.5, 3, False), ('d', 0.2, 4, False)], [])
    >>> r, notes = _rank({"a": 1.0, "b": 1.0, "c": 0.5}, {"a": 0.1, "b": 0.9, "c": 0.5}, "lots")
    >>> r
    [('b', 1.0, 1, True), ('a', 1.0, 2, True), ('c', 0.5, 3, False)]
    >>> notes
    ['lots tied at score 1 (rank 1, 2 candidates) ordered by product-risk prior: ranks 1-2']
    """
    use_prior = bool(prior)
    order = sorted(scores, key=lambda k: (-scores[k], -prior.get(k, 0.0) if use_prior else 0.0, k))
    out: list[tuple[str, float, int, bool]] = []
    notes: list[str] = []
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and scores[order[j]] == scores[order[i]]:
            j += 1
        group = order[i:j]
        reordered = use_prior and len(group) > 1 and len({prior.get(k, 0.0) for k in group}) > 1
        for pos, k in enumerate(group):
            if reordered:
                # competition ranking on the prior inside the tie
                first = next(p for p, x in enumerate(group) if prior.get(x, 0.0) == prior.get(k, 0.0))
                rank = i + 1 + first
            else:
                rank = i + 1
            out.append((k, scores[k], rank, reordered))
        if reordered:
            notes.append(f"{what} tied at score {scores[group[0]]:.4g} (rank {i + 1}, {len(group)} candidates) "
                         f"ordered by product-risk prior: ranks {i + 1}-{out[-1][2]}")
        i = j
    return out, notes
