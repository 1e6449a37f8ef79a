"""投诉举报: complaints and reports, their handling deadlines and the on-time closing rate.

Intake (:func:`new_complaint`) checks a complaint the way the template loader does (an operator that
exists, a date not in the future, a kind, the lot and sample it concerns); its steps are added with
:func:`reasoning.disposal.new_step`, checked by :func:`ontology.handling.check_step`. A complaint's closing
deadline is :attr:`ontology.handling.History.close_due` (a complaint: 45 working days after acceptance, or
its acceptance deadline; a report: 15 working days after it came in, or an approved extension's); the
rate (投诉举报按时办结率) is :func:`reasoning.disposal.completion` over the complaint rows, the one
computation of a share done on time. Rural complaints (``Complaint.rural``) are counted apart.

>>> from ontology.records import Complaint
>>> c = Complaint(id="t", operator_id="shop", date="2026-02-12", kind="complaint")
>>> r = complaint_row(c, [], as_of="2026-03-03", district="urn:foodtrace:region:320602")
>>> r.due, r.status, r.overdue_workdays       # accept within 7 working days: Saturday 28 February is worked
('2026-02-28', 'overdue', 1)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from ontology.errors import InvalidRecord
from ontology.handling import Rules, district_of, history, rules
from ontology.identifiers import local_id
from ontology.records import Complaint
from ontology.times import parse_day
from ontology.workdays import workdays_between

from .disposal import steps_by_subject

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["ComplaintRow", "complaint_row", "complaint_rows", "new_complaint", "KINDS"]

#: complaint kinds
KINDS = ("complaint", "report")


@dataclass(frozen=True)
class ComplaintRow:
    """One complaint or report as of a day: its closing deadline in force, when it closed, what is late."""

    id: str
    number: str
    kind: str
    operator_id: str
    district_id: str
    rural: bool
    received: str
    accept_due: str | None
    due: str
    done: str | None
    status: str            # closed, overdue, due_soon, open
    on_time: bool | None
    overdue_workdays: int
    left_workdays: int | None
    level: str | None
    substantiated: bool | None
    next_steps: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(cid: str) -> str:
    prefix = "urn:foodtrace:complaint:"
    if cid.startswith(prefix):
        from urllib.parse import unquote

        return unquote(cid[len(prefix):])
    return cid


def _next(h: Any) -> tuple[str, ...]:
    if h.done:
        return ()
    if h.kind == "report":
        if not h.verified:
            return ("verified",)
        return ("filed/not_filed",) if not h.decision else ("closed",)
    if not (h.accepted or h.rejected or h.transferred):
        return ("accepted/rejected",)
    if h.accepted and not h.mediation:
        return ("mediated/mediation_ended",)
    return ("closed",)


def complaint_row(c: Any, steps: Iterable[Any], *, as_of: Any, district: str,
                  table: Rules | None = None) -> ComplaintRow:
    """A complaint's row as known before ``as_of``."""
    table = table or rules()
    cut = parse_day(as_of).isoformat()
    h = history(c, [s for s in steps if (s.date or "") < cut], table)
    dl = h.due or ""
    done = h.done
    last = date.fromisoformat(cut) - timedelta(days=1)
    overdue, left, level, on_time = 0, None, None, None
    if done:
        status, on_time = "closed", done <= dl
    elif dl < cut:
        status = "overdue"
        overdue = max(1, workdays_between(date.fromisoformat(dl), last))
        lv = table.level_for(overdue)
        level = lv.level if lv else None
    else:
        left = workdays_between(last, date.fromisoformat(dl))
        status = "due_soon" if left <= table.due_soon_workdays else "open"
    kind = c.kind or "complaint"
    return ComplaintRow(c.id, _number(c.id), kind, c.operator_id, district, bool(c.rural), c.date,
                        h.accept_due() if kind == "complaint" else None, dl, done, status, on_time, overdue, left,
                        level, c.substantiated, _next(h))


def complaint_rows(view: "ReadView", *, as_of: Any, district: str | None = None,
                   table: Rules | None = None) -> list[ComplaintRow]:
    """Every complaint and report received before ``as_of`` (of one district where given), overdue first."""
    cut = parse_day(as_of).isoformat()
    items = [c for c in view.scan("complaint") if c.date and c.date < cut]
    ops = view.get_many("operator", {c.operator_id for c in items})
    parents = view.get_many("operator", {o.parent_id for o in ops.values() if o.parent_id} - ops.keys())
    ops = {**parents, **ops}
    where = {c.id: district_of(ops, c.operator_id) for c in items}
    if district is not None:
        items = [c for c in items if where[c.id] == district]
    by = steps_by_subject(view, items, as_of=cut)
    rows = [complaint_row(c, by[c.id], as_of=cut, district=where[c.id], table=table) for c in items]
    order = {"overdue": 0, "due_soon": 1, "open": 2, "closed": 3}
    rows.sort(key=lambda r: (order[r.status], -r.overdue_workdays, r.due, r.number))
    return rows


def new_complaint(view: "ReadView", *, number: str, operator: str, received: Any, today: Any,
                  kind: str = "complaint", channel: str | None = None, topic: str | None = None,
                  description: str | None = None, rural: bool | None = None, real_name: bool | None = None,
                  lot: str | None = None, sample: str | None = None) -> Complaint:
    """A complaint or report taken in through the API or the command line, checked; nothing is written.

    Raises :class:`ontology.errors.InvalidRecord` (a bad date, kind or number, one already registered) or
    :class:`ontology.errors.NotFound` (an unknown operator, lot or sample), each naming what is wrong.
    """
    number = (number or "").strip()
    if not number:
        raise InvalidRecord("a complaint needs its registration number (number)")
    if kind not in KINDS:
        raise InvalidRecord(f"a complaint's kind is complaint (投诉) or report (举报), not {kind!r}")
    try:
        day = parse_day(received, "received").isoformat()
    except InvalidRecord:
        raise InvalidRecord(f"the date received {received!r} is not a date (YYYY-MM-DD)") from None
    now = parse_day(today, "today").isoformat()
    if day > now:
        raise InvalidRecord(f"the date received {day} is in the future (today is {now})")
    cid = local_id("complaint", number)
    if view.get_many("complaint", [cid]):
        raise InvalidRecord(f"complaint {number} is already registered")
    return Complaint(id=cid, operator_id=view.require(operator, "operator"), date=day, channel=channel, topic=topic,
                     description=description, kind=kind, rural=rural, real_name=real_name,
                     lot_id=view.require(lot, "lot") if lot else None,
                     sample_id=view.require(sample, "sample") if sample else None)
