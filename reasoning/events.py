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
  ticket and certificate, and whether the supplier is designated;
* :func:`sampling_list` (during): the lots delivered to its kitchens and the lots its designated suppliers shipped
  in its period (up to the day asked about), each read as a planned sample (at the kitchen it reached, else at
  the supplier) and ranked by the planned-sample risk model of ``risk rank-plan``
  (:func:`reasoning.sample_risk.score_plan`), with its supplier's grade and the reasons;
* :func:`after_report` (after): what happened: the deliveries, the samples taken at its kitchens and designated
  suppliers in its period with their results (failed items, disposal case), the complaints and school alerts
  touching its kitchens, and a verdict: 零事故 when no sample failed, no disposal case was opened and no complaint
  of illness was received.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ontology.errors import InvalidRecord
from ontology.events import LEVELS, check_event, event_id
from ontology.records import MajorEvent
from ontology.times import day_of, parse_day, parse_instant

from .assessments import effective_grades

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["LEVELS", "new_event", "event_id", "vet_suppliers", "SupplierVetting", "event_deliveries",
           "EventDelivery", "VERDICTS", "SamplingRow", "sampling_list", "sampling_plan", "after_report",
           "ILLNESS_WORDS", "AFTER_DAYS", "event_districts"]

#: verdicts of the vetting with their Chinese wording
VERDICTS = {"reject": "不建议入选", "watch": "需重点关注", "pass": "通过"}


def new_event(view: "ReadView", *, name: str, level: str, start: str, end: str, kitchens: Iterable[str] = (),
              suppliers: Iterable[str] = (), venues: Iterable[str] = (), district: str | None = None,
              organiser: str | None = None, created: str | None = None) -> MajorEvent:
    """A major event, checked (see the module docstring and :func:`ontology.events.check_event`); kitchens and
    suppliers are canonical operator ids."""
    name, level, first, last = check_event(name, level, start, end)
    kitchens, suppliers = list(dict.fromkeys(kitchens)), list(dict.fromkeys(suppliers))
    known = view.get_many("operator", kitchens + suppliers)
    missing = [x for x in kitchens + suppliers if x not in known]
    if missing:
        raise InvalidRecord(f"no operator has the identifier {missing[0]!r}")
    return MajorEvent(id=event_id(name, str(first)), name=name, level=level, start=str(first), end=str(last),
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


@dataclass(frozen=True)
class SamplingRow:
    """One lot of the event's sampling list: where to sample it, whose it is, and its risk of failing."""

    rank: int
    lot_id: str
    lot_number: str | None
    product: str | None
    category: str | None
    producer_id: str | None
    supplier_id: str
    supplier_name: str | None
    supplier_grade: str | None
    designated: bool
    sample_at: str
    sample_at_name: str | None
    at_kitchen: bool
    delivered: str | None
    probability: float
    reasons: tuple[dict[str, Any], ...]
    food_related: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _candidates(view: "ReadView", event: MajorEvent, as_of: dt.date) -> list[dict[str, Any]]:
    """The lots to sample: each lot delivered to a kitchen (at the kitchen, first delivery), then each lot a
    designated supplier shipped elsewhere (at the supplier), in the event's period up to ``as_of``."""
    kitchens, designated = _ids(event.kitchen_ids), _ids(event.supplier_ids)
    hi = min(event.end, as_of.isoformat())

    def within(d: Any) -> bool:
        return event.start <= (day_of(d.time) or "") <= hi

    found: dict[str, dict[str, Any]] = {}
    into = sorted((d for d in view.deliveries(receiver_ids=kitchens) if within(d)) if kitchens else [],
                  key=lambda d: (d.time or "", d.id))
    for d in into:
        found.setdefault(d.lot_id, {"lot_id": d.lot_id, "supplier_id": d.sender_id, "sample_at": d.receiver_id,
                                    "at_kitchen": True, "delivered": d.time})
    out_of = sorted((d for d in view.deliveries(sender_ids=designated) if within(d)) if designated else [],
                    key=lambda d: (d.time or "", d.id))
    for d in out_of:
        found.setdefault(d.lot_id, {"lot_id": d.lot_id, "supplier_id": d.sender_id, "sample_at": d.sender_id,
                                    "at_kitchen": False, "delivered": d.time})
    return list(found.values())


def sampling_plan(view: "ReadView", event: MajorEvent, *, as_of: dt.date) -> list[dict[str, Any]]:
    """The event's candidate lots as the planned-sample rows :func:`reasoning.sample_risk.score_plan` reads
    (``producer_id``, ``sampled_id``, their names, ``product_name``, ``category``; no task kind: unknown), each
    with the lot's own fields (``lot_id``, ``supplier_id``, ``at_kitchen``, ``delivered``...)."""
    rows = _candidates(view, event, as_of)
    lots = view.get_many("lot", {r["lot_id"] for r in rows})
    products = view.get_many("product", {x.product_id for x in lots.values() if x.product_id})
    ops = view.get_many("operator", {x for r in rows for x in (r["supplier_id"], r["sample_at"])}
                        | {x.producer_id for x in lots.values() if x.producer_id})
    out = []
    for r in rows:
        lot = lots.get(r["lot_id"])
        prod = products.get(lot.product_id) if lot is not None and lot.product_id else None
        producer = lot.producer_id if lot is not None else None
        where = ops.get(r["sample_at"])
        out.append({**r, "lot_number": lot.lot_number if lot is not None else None,
                    "producer_id": producer, "producer_name": ops[producer].name if producer in ops else None,
                    "sampled_id": r["sample_at"], "sampled_name": where.name if where is not None else None,
                    "supplier_name": ops[r["supplier_id"]].name if r["supplier_id"] in ops else None,
                    "product_name": prod.name if prod is not None else None,
                    "category": prod.category if prod is not None else None})
    return out


def sampling_list(view: "ReadView", event: MajorEvent, *, as_of: dt.date, top: int = 3,
                  history: Any = None) -> list[SamplingRow]:
    """The event's lots ranked by their probability of failing if sampled (riskiest first), as of ``as_of``.

    The lots are those of :func:`sampling_plan`; the score is the planned-sample model's
    (:func:`reasoning.sample_risk.score_plan`, trained on what was known before ``as_of``, the same as ``risk
    rank-plan``), with its ``top`` reasons. The supplier's grade is the one in effect at the start of ``as_of``.
    Raises :class:`ontology.errors.InsufficientData` where the store's samples cannot train the model.
    """
    from .sample_risk import score_plan

    plan = sampling_plan(view, event, as_of=as_of)
    if not plan:
        return []
    scores = score_plan(view, plan, as_of, top=top, history=history)
    designated = set(_ids(event.supplier_ids))
    grades = effective_grades(view, operator_ids={r["supplier_id"] for r in plan}, at=parse_instant(str(as_of)))
    out = []
    for r, (_, s) in zip(plan, scores.iterrows()):
        g = grades.get(r["supplier_id"])
        out.append(SamplingRow(int(s["rank"]), r["lot_id"], r["lot_number"], r["product_name"], r["category"],
                               r["producer_id"], r["supplier_id"], r["supplier_name"], g.grade if g else None,
                               r["supplier_id"] in designated, r["sample_at"], r["sampled_name"], r["at_kitchen"],
                               r["delivered"], round(float(s["probability"]), 6), tuple(s["reasons"]),
                               bool(s["food_related"])))
    out.sort(key=lambda x: (x.rank, x.lot_id))
    return out


#: words of a complaint's topic or text that report illness after eating (食源性疾病)
ILLNESS_WORDS = ("身体不适", "食物中毒", "中毒", "腹泻", "呕吐", "腹痛", "发热", "食源性")
#: days after the event's last day in which complaints and alerts still count (symptoms of foodborne illness
#: appear up to about three days after the meal)
AFTER_DAYS = 3


def _illness(c: Any) -> bool:
    text = f"{c.topic or ''} {c.description or ''}"
    return any(w in text for w in ILLNESS_WORDS)


def after_report(view: "ReadView", event: MajorEvent, *, as_of: dt.date) -> dict[str, Any]:
    """What happened during the event, as known at the start of ``as_of`` (plain data, JSON-ready).

    ``deliveries`` (:func:`event_deliveries`); ``samples`` taken at its kitchens and designated suppliers from its
    first to its last day, known before ``as_of``, each with its failed items and the disposal case opened on it;
    ``cases``: the disposal cases on those samples or opened at its kitchens and suppliers from its first day to
    :data:`AFTER_DAYS` after its last, with their status as of ``as_of``; ``complaints`` about its kitchens and
    ``alerts`` (school alerts) at them in the same days; ``verdict``: ``zero`` (零事故: no failed sample, no
    disposal case, no complaint of illness) or ``incidents`` with ``findings`` (Chinese, one per kind).
    """
    from ontology.times import known_day, sample_day

    from .disposal import case_rows

    kitchens, suppliers = _ids(event.kitchen_ids), _ids(event.supplier_ids)
    places = list(dict.fromkeys(kitchens + suppliers))
    cut = as_of.isoformat()
    late = min((parse_day(event.end, "end") + dt.timedelta(days=AFTER_DAYS)).isoformat(), cut)
    ops = view.get_many("operator", places)
    samples = {}
    for oid in places:
        for s in view.scan("sample", {"sampled_id": oid}):
            day = sample_day(s)
            if day and event.start <= day <= event.end and (known_day(s) or day) < cut:
                samples[s.id] = s
    cases = {c.id: c for c in case_rows(view, as_of=cut)
             if c.sample_id in samples or (c.operator_id in ops and event.start <= c.opened <= late)}
    by_sample: dict[str, list[str]] = {}
    for c in cases.values():
        if c.sample_id:
            by_sample.setdefault(c.sample_id, []).append(c.number)
    sample_rows = []
    for s in sorted(samples.values(), key=lambda s: (sample_day(s) or "", s.id)):
        items = sorted({r.item for r in view.scan("test_result", {"sample_id": s.id})
                        if r.conclusion == "nonconforming" and r.item})
        sample_rows.append({"id": s.id, "date": sample_day(s), "sampled_id": s.sampled_id,
                            "sampled_name": ops[s.sampled_id].name if s.sampled_id in ops else None,
                            "at_kitchen": s.sampled_id in kitchens, "product": s.product_name, "lot_id": s.lot_id,
                            "plan": s.plan, "conclusion": s.conclusion, "failed_items": items,
                            "cases": sorted(by_sample.get(s.id, []))})
    complaints = []
    for oid in kitchens:
        for c in view.scan("complaint", {"operator_id": oid}):
            if event.start <= (c.date or "") <= late:
                complaints.append({"id": c.id, "date": c.date, "operator_id": oid, "operator_name": ops[oid].name
                                   if oid in ops else None, "topic": c.topic, "description": c.description,
                                   "substantiated": c.substantiated, "illness": _illness(c)})
    complaints.sort(key=lambda c: (c["date"], c["id"]))
    alerts = sorted(({"id": a.id, "raised": a.raised, "kind": a.kind, "school_id": a.school_id, "lot_id": a.lot_id,
                      "sample_id": a.sample_id, "message": a.message}
                     for a in view.scan("school_alert") if a.school_id in kitchens
                     and event.start <= (day_of(a.raised) or "") <= late), key=lambda a: (a["raised"], a["id"]))
    failed = [s for s in sample_rows if s["conclusion"] == "nonconforming"]
    ill = [c for c in complaints if c["illness"]]
    findings = []
    if failed:
        findings.append(f"抽检不合格{len(failed)}批次：" + "；".join(
            f"{s['product'] or s['id']}（{'、'.join(s['failed_items']) or '不合格'}）" for s in failed))
    if cases:
        findings.append(f"核查处置案件{len(cases)}件：" + "、".join(sorted(c.number for c in cases.values())))
    if ill:
        findings.append(f"食用后身体不适投诉{len(ill)}件")
    return {"event": {"id": event.id, "name": event.name, "level": event.level, "start": event.start,
                      "end": event.end, "venues": event.venues, "organiser": event.organiser,
                      "kitchens": {k: ops[k].name if k in ops else None for k in kitchens},
                      "suppliers": {k: ops[k].name if k in ops else None for k in suppliers}},
            "as_of": cut, "until": late,
            "deliveries": [d.to_dict() for d in event_deliveries(view, event)],
            "samples": sample_rows,
            "cases": [{"id": c.id, "number": c.number, "operator_id": c.operator_id, "sample_id": c.sample_id,
                       "opened": c.opened, "due": c.due, "status": c.status, "measures": list(c.measures)}
                      for c in sorted(cases.values(), key=lambda c: (c.opened, c.number))],
            "complaints": complaints, "alerts": alerts,
            "verdict": "incidents" if findings else "zero", "findings": findings}


def event_districts(view: "ReadView", event: MajorEvent) -> frozenset[str]:
    """The districts an event falls under: its own and those of its kitchens (a district officer sees the events
    of their district, in the API and the console alike, since an event's pages show its kitchens' deliveries and
    its suppliers' records)."""
    from .scope import operator_districts

    out = {event.district_id} if event.district_id else set()
    return frozenset(out | set(operator_districts(view, (event.kitchen_ids or "").split()).values()))
