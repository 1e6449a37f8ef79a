"""重大活动食品安全保障: a major event, the vetting of its designated suppliers, and what reached its kitchens.

Pure functions over a read-only view.

* :func:`new_event` builds the record (refused: no name, a level outside the four, a period ending before it
  starts, a kitchen or supplier the store does not hold);
* :func:`vet_suppliers` (before): for each designated supplier, as of a day, the grade in effect, its samples
  of the last 12 months (taken there or naming it as producer) with the failed items, its enforcement cases and
  failed inspections of the last 12 months, serious-dishonesty records in force, certificates valid on the
  event's first day, and its chain gaps (deliveries of the last 90 days without ticket or certificate), with a
  verdict: ``reject`` (grade C/D, listed, or a failed sample), ``watch`` (a case, a failed inspection or gaps)
  or ``pass``;
* :func:`event_deliveries` (during): every delivery into the event's kitchens in its period, with supplier, lot,
  ticket and certificate, and whether the supplier is designated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ontology.errors import InvalidRecord
from ontology.records import MajorEvent
from ontology.times import day_of, parse_day

from .assessments import effective_grades

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["LEVELS", "new_event", "event_id", "vet_suppliers", "SupplierVetting", "event_deliveries",
           "EventDelivery", "VERDICTS"]

#: assurance levels with their Chinese names
LEVELS = {"national": "国家级", "provincial": "省级", "municipal": "市级", "district": "区级"}
#: verdicts of the vetting with their Chinese wording
VERDICTS = {"reject": "不建议入选", "watch": "需重点关注", "pass": "通过"}


def event_id(name: str, start: str) -> str:
    return "urn:foodtrace:major_event:" + hashlib.sha256(f"{name.strip()}\x1f{start}".encode()).hexdigest()[:16]


def new_event(view: "ReadView", *, name: str, level: str, start: str, end: str, kitchens: Iterable[str] = (),
              suppliers: Iterable[str] = (), venues: Iterable[str] = (), district: str | None = None,
              organiser: str | None = None, created: str | None = None) -> MajorEvent:
    """A major event, checked (see the module docstring); kitchens and suppliers are canonical operator ids."""
    if not name or not name.strip():
        raise InvalidRecord("a major event needs a name (活动名称)")
    if level not in LEVELS:
        raise InvalidRecord(f"level {level!r} is not one of {', '.join(LEVELS)}")
    first, last = parse_day(start, "start"), parse_day(end, "end")
    if last < first:
        raise InvalidRecord(f"the event ends ({last}) before it starts ({first})")
    kitchens, suppliers = list(dict.fromkeys(kitchens)), list(dict.fromkeys(suppliers))
    known = view.get_many("operator", kitchens + suppliers)
    missing = [x for x in kitchens + suppliers if x not in known]
    if missing:
        raise InvalidRecord(f"no operator has the identifier {missing[0]!r}")
    return MajorEvent(id=event_id(name, str(first)), name=name.strip(), level=level, start=str(first), end=str(last),
                      venues="；".join(v.strip() for v in venues if v.strip()) or None,
                      kitchen_ids=" ".join(kitchens) or None, supplier_ids=" ".join(suppliers) or None,
                      district_id=district, organiser=organiser, created=created)


def _ids(text: str | None) -> list[str]:
    return (text or "").split()


@dataclass(frozen=True)
class SupplierVetting:
    """One designated supplier's record for the vetting report."""

    supplier_id: str
    name: str | None
    kind: str | None
    grade: str | None
    listed: tuple[str, ...]
    samples: tuple[dict[str, Any], ...]
    failed_samples: tuple[dict[str, Any], ...]
    cases: tuple[dict[str, Any], ...]
    failed_inspections: tuple[dict[str, Any], ...]
    certificates: tuple[str, ...]
    deliveries: int
    without_ticket: int
    without_certificate: int
    verdict: str
    reasons: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def vet_suppliers(view: "ReadView", event: MajorEvent, *, as_of: dt.date) -> list[SupplierVetting]:
    """The vetting of each designated supplier of ``event`` as of ``as_of`` (see the module docstring)."""
    suppliers = _ids(event.supplier_ids)
    ops = view.get_many("operator", suppliers)
    year_ago, lo90 = (as_of - dt.timedelta(days=365)).isoformat(), (as_of - dt.timedelta(days=90)).isoformat()
    today_ = as_of.isoformat()
    grades = effective_grades(view, operator_ids=suppliers)
    first = event.start or today_
    out = []
    for sid in suppliers:
        samples = {}
        for where in ("sampled_id", "producer_id"):
            for s in view.scan("sample", {where: sid}):
                day = s.sampled_at or (s.announced or "")
                if year_ago <= day < today_:
                    samples[s.id] = s
        rows = []
        for s in sorted(samples.values(), key=lambda s: (s.sampled_at or "", s.id)):
            items = sorted({r.item for r in view.scan("test_result", {"sample_id": s.id})
                            if r.conclusion == "nonconforming" and r.item})
            rows.append({"id": s.id, "date": s.sampled_at, "product": s.product_name, "plan": s.plan,
                         "conclusion": s.conclusion, "failed_items": items, "announcement": s.announcement})
        failed = tuple(r for r in rows if r["conclusion"] == "nonconforming")
        cases = tuple({"id": c.id, "opened": c.opened, "violation": c.violation, "penalty": c.penalty}
                      for c in view.scan("case", {"operator_id": sid}) if year_ago <= (c.opened or "") < today_)
        insp = tuple({"id": i.id, "date": i.date, "findings": i.findings}
                     for i in view.scan("inspection", {"operator_id": sid})
                     if i.result == "fail" and year_ago <= (i.date or "") < today_)
        listed = tuple(c.id for c in view.scan("credit_record", {"operator_id": sid})
                       if c.kind == "serious_dishonest" and (c.start or "") <= today_
                       and not any(x and x <= today_ for x in (c.end, c.repaired)))
        certs = tuple(sorted(c.id for c in view.scan("certificate", {"holder_id": sid})
                             if (c.issued or "") <= first and (not c.valid_until or c.valid_until >= first)))
        shipped = [d for d in view.deliveries(sender_ids=[sid]) if lo90 <= (day_of(d.time) or "") < today_]
        no_ticket = sum(not d.ticket_id for d in shipped)
        no_cert = sum(not d.certificate_id for d in shipped)
        g = grades.get(sid)
        grade = g.grade if g is not None else None
        reasons = []
        if grade in ("C", "D"):
            reasons.append(f"风险等级{grade}级")
        if listed:
            reasons.append("列入严重违法失信名单")
        if failed:
            reasons.append(f"近12个月抽检不合格{len(failed)}批次")
        verdict = "reject" if reasons else "pass"
        if verdict == "pass":
            if cases:
                reasons.append(f"近12个月稽查案件{len(cases)}件")
            if insp:
                reasons.append(f"近12个月监督检查不符合{len(insp)}次")
            if no_ticket or no_cert:
                reasons.append(f"近90天发货无票据{no_ticket}次、无合格证明{no_cert}次")
            verdict = "watch" if reasons else "pass"
        op = ops.get(sid)
        out.append(SupplierVetting(sid, op.name if op else None, op.kind if op else None, grade, listed, tuple(rows),
                                   failed, cases, insp, certs, len(shipped), no_ticket, no_cert, verdict,
                                   tuple(reasons)))
    return out


@dataclass(frozen=True)
class EventDelivery:
    delivery_id: str
    time: str | None
    kitchen_id: str
    supplier_id: str
    designated: bool
    lot_id: str
    product: str | None
    ticket_id: str | None
    certificate_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def event_deliveries(view: "ReadView", event: MajorEvent) -> list[EventDelivery]:
    """Every delivery into the event's kitchens with a ship day in its period, in time order."""
    kitchens, designated = _ids(event.kitchen_ids), set(_ids(event.supplier_ids))
    dels = [d for d in view.deliveries(receiver_ids=kitchens) if event.start <= (day_of(d.time) or "") <= event.end]
    dels.sort(key=lambda d: (d.time or "", d.id))
    lots = view.get_many("lot", {d.lot_id for d in dels})
    products = view.get_many("product", {x.product_id for x in lots.values() if x.product_id})
    out = []
    for d in dels:
        lot = lots.get(d.lot_id)
        prod = products.get(lot.product_id) if lot is not None and lot.product_id else None
        out.append(EventDelivery(d.id, d.time, d.receiver_id, d.sender_id, d.sender_id in designated, d.lot_id,
                                 prod.name if prod else None, d.ticket_id, d.certificate_id))
    return out
