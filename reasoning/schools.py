"""校园食品安全: what reached a school canteen, its supply chain, and the alerts a school must get at once.

Pure functions over a read-only view (and a :class:`reasoning.trace.Tracer`, over a
:class:`reasoning.trace_index.TraceIndex` where the caller has one); nothing here writes or sends.

* :func:`failed_sample_alerts`: a nonconforming sample raises an alert for every school canteen that received
  the same lot (``same_lot``; also the school where it was taken), a lot made from it or that it passed into
  (``upstream``: the failing lot lies upstream of the school's; found by a downstream trace from the failing
  lot), a lot it was made from (``downstream``: the failing lot was made from the school's) or another lot made
  from the same lot (``common_origin``: a pig lot's other cuts); the last two by an upstream trace from the
  failing lot and downstream traces from what it was made from. A sample naming no lot (an announcement whose
  batch names none) stands for each lot of its product (else category) its station received within the holding
  window before it was taken: the same, from each, ``possible``. The tier
  of the link into the school is kept (``certain`` / ``possible``: an inferred link or a guessed lot on the way).
* :func:`supplier_alerts`: a supplier that delivered to a school in the look-back period is graded C or D (the
  grade in effect) or is on the 严重违法失信名单 (a serious-dishonesty credit record in force).
* :func:`school_supply`: every lot a school (or a district's schools, or the schools a central distributor
  serves, 学校食材统一配送) received in a period, with its supplier, origin, certificate, ticket, the supplier's
  grade, failed samples of the last 12 months, open alerts, and the gaps named.

An alert's id is derived from the school and its cause, so raising it again changes nothing.

Examples
--------
>>> alert_id("failed_sample", "school", "sample")[:26]
'urn:foodtrace:school_alert'
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Iterable

from ontology.errors import InvalidRecord
from ontology.records import SchoolAlert
from ontology.times import day_of, epoch, format_instant, parse_day
from ontology.vocab import kind_ancestors

from .assessments import effective_grades
from .scope import operator_districts
from .trace import CERTAIN, POSSIBLE, TraceOptions

if TYPE_CHECKING:
    from graph.view import ReadView

    from .trace import Tracer

__all__ = ["SCHOOL_KIND", "RELATIONS", "alert_id", "alerts_of", "is_school", "schools", "failed_sample_alerts",
           "supplier_alerts", "school_supply", "SupplyRow", "GAPS", "made_from"]

SCHOOL_KIND = "SchoolCanteen"
#: how the failing lot relates to the lot the school received, with its Chinese wording
RELATIONS = {"same_lot": "同一批次", "upstream": "上游批次", "downstream": "以其为原料的批次",
             "common_origin": "同一原料批次所制的批次"}
#: grades that raise a supplier alert
ALERT_GRADES = ("C", "D")
#: the gaps a supply row can have: (key, Chinese, English)
GAPS = {"no_ticket": ("无票据", "no ticket"), "no_certificate": ("无合格证明", "no certificate"),
        "supplier_grade": ("供应商风险等级C/D", "supplier graded C/D"),
        "supplier_listed": ("供应商列入严重违法失信名单", "supplier on the serious-dishonesty list")}


def alert_id(kind: str, school: str, cause: str) -> str:
    """The id of the alert of ``kind`` for ``school`` raised by ``cause`` (a sample, a supplier's grade or listing)."""
    digest = hashlib.sha256(f"{kind}\x1f{school}\x1f{cause}".encode()).hexdigest()[:24]
    return f"urn:foodtrace:school_alert:{digest}"


def is_school(kind: str | None) -> bool:
    """Whether an operator kind is a school canteen (or a kind under it)."""
    return bool(kind) and SCHOOL_KIND in kind_ancestors(kind)  # type: ignore[arg-type]


def schools(view: "ReadView", *, district: str | None = None) -> dict[str, Any]:
    """Every school canteen (id -> Operator), of one district where given."""
    found = {o.id: o for o in view.scan("operator", {"kind": SCHOOL_KIND})}
    if district is None:
        return found
    dist = operator_districts(view, list(found))
    return {k: v for k, v in found.items() if dist.get(k) == district}


def _kinds(view: "ReadView", ids: Iterable[str]) -> dict[str, Any]:
    return view.get_many("operator", set(ids))


def _items(view: "ReadView", sample_id: str) -> list[str]:
    return sorted({r.item for r in view.scan("test_result", {"sample_id": sample_id})
                   if r.conclusion == "nonconforming" and r.item})


@dataclass
class _Hit:
    school: str
    lot: str | None
    sample_lot: str | None
    delivery: str | None
    supplier: str | None
    relation: str
    tier: str
    time: str | None

    def key(self) -> tuple:
        return (self.tier != CERTAIN, list(RELATIONS).index(self.relation), self.time or "")


def _school_deliveries(view: "ReadView", dels: Iterable[Any]) -> list[Any]:
    """The deliveries (traced or stored) whose receiver is a school canteen."""
    dels = list(dels)
    ops = _kinds(view, {d.receiver_id for d in dels})
    return [d for d in dels if d.receiver_id in ops and is_school(ops[d.receiver_id].kind)]


def _span(st: Any, sample: Any, options: TraceOptions | None, kind: str | None) -> tuple[float, float] | None:
    """When the sampled goods may have arrived at the station: the holding window before the sampling day; a
    sample without one (an announcement that leaves it out), between its batch's day (else 90 days) and the
    day it was announced."""
    if st.time is not None:
        return st.time - (options or TraceOptions()).window(sample.category, kind) - 86400.0, st.time
    hi = epoch(sample.announced, end_of_day=True) if sample.announced else None
    if hi is None:
        return None
    try:
        lo = epoch(str(parse_day(sample.batch, "batch")))
    except InvalidRecord:
        lo = None
    return (lo if lo is not None and lo <= hi else hi - 90 * 86400.0), hi


def _held_lots(view: "ReadView", st: Any, sample: Any, options: TraceOptions | None) -> list[str]:
    """The lots a sample naming none may have been of: received by the sampled station within the holding window
    before it was taken (:func:`_span`), of the sample's product (the same product, or one of the same name: an
    announcement names a product by name), else of its category."""
    if not st.station_id:
        return []
    station = view.get_many("operator", [st.station_id]).get(st.station_id)
    span = _span(st, sample, options, station.kind if station else None)
    if span is None:
        return []
    lo, hi = span
    got = [d for d in view.deliveries(receiver_ids=[st.station_id], time_range=(
        format_instant(lo - 86400.0) or "", format_instant(hi + 86400.0) or "")) if lo <= (epoch(d.time) or 0) <= hi]
    lots = view.get_many("lot", {d.lot_id for d in got})
    products = view.get_many("product", {v.product_id for v in lots.values() if v.product_id})

    def named(lot: Any) -> bool:
        prod = products.get(lot.product_id)
        return lot.product_id == st.product_id or (prod is not None and prod.name == sample.product_name)

    same = sorted(k for k, v in lots.items() if named(v))
    if same or sample.category in (None, "", "other"):
        return same
    return sorted(k for k, v in lots.items() if v.product_id in products
                  and products[v.product_id].category == sample.category)


def _hits(view: "ReadView", tracer: "Tracer", sample: Any, options: TraceOptions | None) -> list[_Hit]:
    st = tracer.resolve(sample.id)
    own = st.lot_id
    hits: list[_Hit] = []
    # the failing lot's whole spread (from its start, not only after the sample was taken); a sample naming no
    # lot: the whole spread of each lot of its product the station held (possible), else what the station
    # shipped of what it held
    known = own or st.product_id or sample.category
    starts: list[Any] = [own] if own else _held_lots(view, st, sample, options) if known else [st]
    for start in starts:
        for d in _school_deliveries(view, tracer.trace(start, "down", options).deliveries):
            same = d.lot_id == start or start is st
            hits.append(_Hit(d.receiver_id, d.lot_id, own, d.id, d.sender_id, "same_lot" if same else "upstream",
                             d.tier if own else POSSIBLE, d.ship_time))
    # a sample taken at a school: that school, with the delivery that brought the lot (else each lot it may be)
    station = view.get_many("operator", [st.station_id]).get(st.station_id) if st.station_id else None
    if station is not None and is_school(station.kind):
        here = [own] if own else [x for x in starts if isinstance(x, str)]
        got = [d for d in view.deliveries(lot_ids=here, receiver_ids=[station.id])] if here else []
        got = [d for d in got if st.time is None or (epoch(d.time) or 0) <= st.time]
        for d in got or [None]:
            hits.append(_Hit(station.id, d.lot_id if d else own, own, d.id if d else None, d.sender_id if d else None,
                             "same_lot", CERTAIN if own else POSSIBLE, d.time if d else None))
    # the lots it was made from, where a school received them, and the other lots made from them (for a sample
    # naming no lot: from each lot it may be, possible)
    for lot in [own] if own else [x for x in starts if isinstance(x, str)]:
        up = tracer.trace(lot, "up", options).lots
        origins = {x.id: x.tier for x in up if x.id != lot}
        for origin, origin_tier in origins.items():
            for d in _school_deliveries(view, tracer.trace(origin, "down", options).deliveries):
                if d.lot_id != lot:
                    sure = own and origin_tier == CERTAIN and d.tier == CERTAIN
                    hits.append(_Hit(d.receiver_id, d.lot_id, own, d.id, d.sender_id,
                                     "downstream" if d.lot_id in origins else "common_origin",
                                     CERTAIN if sure else POSSIBLE, d.ship_time))
    return hits


def made_from(view: "ReadView", lot_ids: Iterable[str], *, max_steps: int = 20) -> dict[str, frozenset[str]]:
    """Every lot made from ``lot_ids`` through recorded transformations and lot links (explicit links only, step
    by step, at most ``max_steps`` deep), with the lots of ``lot_ids`` it was made from.

    A delivery of such a lot reaching a school after the failing lot's sample was checked is what the school
    alerts must look at again (the change log names the derived lot, not the failing one).
    """
    origins: dict[str, set[str]] = {x: {x} for x in lot_ids}
    start = set(origins)
    frontier = set(origins)
    for _ in range(max_steps):
        if not frontier:
            break
        src: dict[str, set[str]] = {}
        for i in view.transformation_items(lot_ids=frontier):
            if i.role == "input" and i.lot_id in frontier:
                src.setdefault(i.transformation_id, set()).update(origins[i.lot_id])
        if not src:
            break
        grown = set()
        for i in view.transformation_items(transformation_ids=src):
            if i.role != "output" or i.lot_id in start:
                continue
            have = origins.setdefault(i.lot_id, set())
            if not src[i.transformation_id] <= have:
                have.update(src[i.transformation_id])
                grown.add(i.lot_id)
        frontier = grown
    return {k: frozenset(v) for k, v in origins.items() if k not in start}


def failed_sample_alerts(view: "ReadView", tracer: "Tracer", sample_ids: Iterable[str], *,
                         raised: str, options: TraceOptions | None = None) -> list[SchoolAlert]:
    """One alert per school canteen and nonconforming sample among ``sample_ids`` (see the module docstring).

    ``raised`` is the time written on the alerts; ``options`` those of the downstream traces (e.g. holding
    windows learned once by a long-running caller). Samples that are not nonconforming, or unknown, raise none.
    """
    samples = view.get_many("sample", list(dict.fromkeys(sample_ids)))
    best: dict[tuple[str, str], tuple[Any, _Hit]] = {}
    for sid, s in samples.items():
        if s.conclusion != "nonconforming":
            continue
        for h in _hits(view, tracer, s, options):
            k = (h.school, sid)
            if k not in best or h.key() < best[k][1].key():
                best[k] = (s, h)
    if not best:
        return []
    names = _kinds(view, {h.school for _, h in best.values()} | {s.sampled_id for s, _ in best.values()
                                                                 if s.sampled_id})
    lots = view.get_many("lot", {x for _, h in best.values() for x in (h.lot, h.sample_lot) if x})
    dist = operator_districts(view, {h.school for _, h in best.values()})

    def number(lot: str | None) -> str:
        return (lots[lot].lot_number or lot) if lot in lots else (lot or "（批次未注明）")

    out = []
    for (school, sid), (s, h) in sorted(best.items()):
        items = "、".join(_items(view, sid)) or "检验项目"
        where = names[s.sampled_id].name if s.sampled_id in names else "未注明抽样单位"
        school_name = names[school].name if school in names else school
        received = f"{school_name}收到的批次{number(h.lot)}"
        lead = {"same_lot": f"{received}（{s.product_name}）抽检不合格",
                "upstream": f"{received}的上游批次{number(h.sample_lot)}（{s.product_name}）抽检不合格",
                "downstream": f"以{received}为原料的批次{number(h.sample_lot)}（{s.product_name}）抽检不合格",
                "common_origin": f"与{received}出自同一原料批次的批次{number(h.sample_lot)}（{s.product_name}）抽检不合格",
                }[h.relation]
        msg = (f"{lead}：{items}不合格，抽样单位{where}，抽样日期{s.sampled_at or '未注明'}"
               f"{'（推断链路，可能到校）' if h.tier == POSSIBLE else ''}。")
        out.append(SchoolAlert(id=alert_id("failed_sample", school, sid), kind="failed_sample", school_id=school,
                               district_id=dist.get(school), raised=raised, sample_id=sid, lot_id=h.lot,
                               sample_lot_id=h.sample_lot, delivery_id=h.delivery, relation=h.relation, tier=h.tier,
                               supplier_id=h.supplier, message=msg))
    return out


def _suppliers(view: "ReadView", school_ids: Iterable[str], since: dt.date, until: dt.date) -> dict[str, set[str]]:
    """supplier -> the schools it delivered to with a ship day in [since, until)."""
    out: dict[str, set[str]] = {}
    for d in view.deliveries(receiver_ids=list(school_ids)):
        day = day_of(d.time)
        if day is not None and since.isoformat() <= day < until.isoformat():
            out.setdefault(d.sender_id, set()).add(d.receiver_id)
    return out


def _listed(view: "ReadView", operator_ids: Iterable[str], as_of: dt.date) -> dict[str, Any]:
    """operator -> its serious-dishonesty credit record in force on ``as_of`` (the latest)."""
    out: dict[str, Any] = {}
    wanted = set(operator_ids)
    for c in view.scan("credit_record", {"kind": "serious_dishonest"}):
        if c.operator_id not in wanted:
            continue
        start = parse_day(c.start, "start")
        ended = any(x and parse_day(x, "end") <= as_of for x in (c.end, c.repaired))
        if start <= as_of and not ended and (c.operator_id not in out or c.start > out[c.operator_id].start):
            out[c.operator_id] = c
    return out


def supplier_alerts(view: "ReadView", *, as_of: dt.date, raised: str, lookback_days: int = 90,
                    school_ids: Iterable[str] | None = None) -> list[SchoolAlert]:
    """Alerts for schools whose suppliers (senders of a delivery in the ``lookback_days`` before ``as_of``) are
    graded C or D or are on the serious-dishonesty list on ``as_of``."""
    sch = schools(view) if school_ids is None else view.get_many("operator", list(school_ids))
    sup = _suppliers(view, sch, as_of - dt.timedelta(days=lookback_days), as_of + dt.timedelta(days=1))
    if not sup:
        return []
    names = _kinds(view, set(sup) | set(sch))
    dist = operator_districts(view, list(sch))
    grades = effective_grades(view, operator_ids=list(sup))
    listed = _listed(view, sup, as_of)
    out = []
    for supplier, served in sorted(sup.items()):
        sname = names[supplier].name if supplier in names else supplier
        g = grades.get(supplier)
        for school in sorted(served):
            school_name = names[school].name if school in names else school
            if g is not None and g.grade in ALERT_GRADES:
                cause = f"{supplier}\x1f{g.grade}\x1f{g.override_id or g.assessment_id}"
                out.append(SchoolAlert(
                    id=alert_id("supplier_grade", school, cause), kind="supplier_grade", school_id=school,
                    district_id=dist.get(school), raised=raised, supplier_id=supplier, grade=g.grade,
                    message=f"{school_name}的供应商{sname}风险等级为{g.grade}级。"))
            if supplier in listed:
                c = listed[supplier]
                out.append(SchoolAlert(
                    id=alert_id("supplier_listed", school, c.id), kind="supplier_listed", school_id=school,
                    district_id=dist.get(school), raised=raised, supplier_id=supplier, credit_record_id=c.id,
                    grade=g.grade if g is not None else None,
                    message=f"{school_name}的供应商{sname}列入严重违法失信名单（{c.start}起）。"))
    return out


@dataclass(frozen=True)
class SupplyRow:
    """One lot a school received: the delivery, the lot's chain, the supplier's standing and the gaps."""

    school_id: str
    school: str | None
    district_id: str | None
    delivery_id: str
    time: str | None
    lot_id: str
    lot_number: str | None
    product: str | None
    supplier_id: str
    supplier: str | None
    producer_id: str | None
    origin_id: str | None
    certificate_id: str | None
    ticket_id: str | None
    supplier_grade: str | None
    supplier_listed: bool
    supplier_failed_samples: tuple[str, ...]
    open_alerts: tuple[str, ...]
    gaps: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def school_supply(view: "ReadView", *, school_ids: Iterable[str] | None = None, district: str | None = None,
                  distributor: str | None = None, since: dt.date, until: dt.date) -> list[SupplyRow]:
    """Every delivery into the chosen schools with a ship day in [since, until], in time order.

    Schools: ``school_ids``, else the school canteens of ``district``, else those ``distributor`` delivered to in
    the period (学校食材统一配送), else every school canteen. A supplier's failed samples are its nonconforming
    samples (taken there or naming it as producer) of the 12 months before ``until``.
    """
    lo, hi = since.isoformat(), until.isoformat()
    # ship times as written sort within these bounds whatever their UTC offset (the day check below is exact)
    coarse = ((since - dt.timedelta(days=2)).isoformat(), (until + dt.timedelta(days=2)).isoformat())
    if school_ids is not None:
        chosen = view.get_many("operator", list(school_ids))
    elif distributor is not None:
        served = {d.receiver_id for d in view.deliveries(sender_ids=[distributor], time_range=coarse)
                  if (day := day_of(d.time)) is not None and lo <= day <= hi}
        chosen = {k: v for k, v in view.get_many("operator", served).items() if is_school(v.kind)}
    else:
        chosen = schools(view, district=district)
    dels = [d for d in view.deliveries(receiver_ids=list(chosen), time_range=coarse)
            if (day := day_of(d.time)) is not None and lo <= day <= hi]
    dels.sort(key=lambda d: (d.time or "", d.id))
    suppliers = {d.sender_id for d in dels}
    ops = _kinds(view, suppliers | set(chosen))
    lots = view.get_many("lot", {d.lot_id for d in dels})
    products = view.get_many("product", {lot.product_id for lot in lots.values() if lot.product_id})
    grades = effective_grades(view, operator_ids=list(suppliers))
    listed = _listed(view, suppliers, until)
    dist = operator_districts(view, list(chosen))
    year_ago = until - dt.timedelta(days=365)
    failed: dict[str, list[str]] = {}
    for s in view.scan("sample", {"conclusion": "nonconforming"}):
        day = parse_day(s.sampled_at, "sampled_at") if s.sampled_at else None
        if day is None or not (year_ago <= day <= until):
            continue
        for who in {s.sampled_id, s.producer_id} & suppliers:
            failed.setdefault(who, []).append(s.id)
    alerts: dict[str, list[str]] = {}
    for school in chosen:
        alerts[school] = sorted(a.id for a in view.scan("school_alert", {"school_id": school}))
    rows = []
    for d in dels:
        lot = lots.get(d.lot_id)
        g = grades.get(d.sender_id)
        grade = g.grade if g is not None else None
        gaps = [k for k, bad in (("no_ticket", not d.ticket_id), ("no_certificate", not d.certificate_id),
                                 ("supplier_grade", grade in ALERT_GRADES),
                                 ("supplier_listed", d.sender_id in listed)) if bad]
        prod = products.get(lot.product_id) if lot is not None and lot.product_id else None
        rows.append(SupplyRow(
            school_id=d.receiver_id, school=ops[d.receiver_id].name if d.receiver_id in ops else None,
            district_id=dist.get(d.receiver_id), delivery_id=d.id, time=d.time, lot_id=d.lot_id,
            lot_number=lot.lot_number if lot else None, product=prod.name if prod else None,
            supplier_id=d.sender_id, supplier=ops[d.sender_id].name if d.sender_id in ops else None,
            producer_id=lot.producer_id if lot else None, origin_id=lot.origin_id if lot else None,
            certificate_id=d.certificate_id, ticket_id=d.ticket_id, supplier_grade=grade,
            supplier_listed=d.sender_id in listed, supplier_failed_samples=tuple(sorted(failed.get(d.sender_id, ()))),
            open_alerts=tuple(alerts.get(d.receiver_id, ())), gaps=tuple(gaps)))
    return rows



def alerts_of(view: "ReadView", *, district: str | None = None, school: str | None = None,
              kind: str | None = None, since: str | None = None) -> list[SchoolAlert]:
    """The school alerts (the in-app list), newest first: of one district, school or kind, raised since a time."""
    where = {"school_id": school} if school else {"district_id": district} if district else None
    out = [a for a in view.scan("school_alert", where)
           if (district is None or a.district_id == district) and (kind is None or a.kind == kind)
           and (since is None or (a.raised or "") >= since)]
    return sorted(out, key=lambda a: (a.raised or "", a.id), reverse=True)
