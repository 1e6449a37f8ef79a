"""The console's pages of the plan's special programmes: 学校食品安全 (school alerts, school supply lists), 重大活动
(events, an event with its vetting report and deliveries), 农村集体聚餐 (registrations, reminders, statistics against
the 摸底 census) and 互联网+明厨亮灶 (the four rates per district and school against their targets).

They call what the service's routers of these programmes call (:mod:`api.service.schools`,
:mod:`api.service.banquets`, :mod:`api.service.events`), under the same permissions and district rule:

* school alerts ``warnings``, supply lists ``profile`` (a district officer: their district's schools and alerts);
* 明厨亮灶 rates and banquet statistics ``indicators`` (a district officer: their district);
* banquets and reminders ``disposal.read`` (a district officer: their district; no host names or phones);
* events ``profile`` (a district officer: the events of their district, the event's own or one of its kitchens',
  :func:`reasoning.events.event_districts`, as in the API).

The school alerts carry no acknowledged state (the record has none and no endpoint sets one), so the list shows
every alert, newest first.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ontology.errors import NotFound
from reasoning.events import event_districts

from ..service.deps import StoreDep, ViewDep
from ..service.investigate import content_disposition
from ..service.schools import day_param
from ..service.security import MAX_ID, audit_entities
from .web import PREFIX, Memo, Staff, render, staff
from .work import _district, _names, _period

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

_lists = Memo(size=32)
#: rows shown on a page (downloads have them all); the alert list shows the newest 100 (filters narrow it)
_SHOWN = 300
_ALERTS_SHOWN = 100
ALERT_KINDS = ("failed_sample", "supplier_grade", "supplier_listed")
TIERS = {"certain": ("确定", "certain"), "possible": ("可能", "possible")}
RELATIONS_EN = {"same_lot": "same lot", "upstream": "upstream lot", "downstream": "lot made from it",
                "common_origin": "made from the same lot"}


def _period_days(view: Any, start: str, end: str, *,
                 default: Literal["known", "month_to_today", "whole_month"] = "known") -> tuple[dt.date, dt.date]:
    """The period asked for as days (one ending before it starts is 422). Where none is given: the month of the
    last day the store knows (``known``), or the current month (Beijing) up to today (``month_to_today``: the
    明厨亮灶 logs arrive daily) or whole (``whole_month``: banquets are registered ahead and counted against the
    census of whole months); neither of the last two moves the store's last known day."""
    if not (start and end) and default != "known":
        from ontology.times import today

        day = today()
        last = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        start, end = day.replace(day=1).isoformat(), (day if default == "month_to_today" else last).isoformat()
    a, b = _period(view, start, end)
    since, until = day_param(a, "from"), day_param(b, "to")
    if until < since:
        raise StarletteHTTPException(422, f"the period ends ({until}) before it starts ({since})")
    return since, until


# -- 学校食品安全 ------------------------------------------------------------------------------------------


@router.get("/schools")
def school_alerts(request: Request, view: ViewDep, district: str = Query("", max_length=100),
                  kind: Literal["", "failed_sample", "supplier_grade", "supplier_listed"] = "",
                  school: str = Query("", max_length=MAX_ID), who: Staff = Depends(staff("warnings"))) -> Response:
    """The in-app alert list (``GET /schools/alerts``), newest first."""
    from reasoning.schools import RELATIONS, alerts_of

    scope = _district(who, district)
    school_id = view.require(school, "operator") if school else None
    found = alerts_of(view, district=scope, school=school_id, kind=kind or None)
    if who.district:
        found = [a for a in found if a.district_id == who.district]
    shown = found[:_ALERTS_SHOWN]
    audit_entities(request, *(a.id for a in shown))
    names = _names(view, [x for a in shown for x in (a.school_id, a.supplier_id)])
    return render(request, "schools.html", who, alerts=shown, total=len(found), names=names, scope=scope,
                  district=district, kind=kind, school=school, kinds=ALERT_KINDS, relations=RELATIONS,
                  relations_en=RELATIONS_EN, tiers=TIERS, can_trace=who.can("trace"),
                  counts={k: sum(a.kind == k for a in found) for k in ALERT_KINDS})


def _supply(request: Request, view: Any, who: Staff, start: str, end: str, school: str, district: str,
            distributor: str) -> tuple[list[Any], dt.date, dt.date, str | None]:
    """``GET /schools/supply``: the rows, the period and the district scope."""
    from reasoning.schools import school_supply

    since, until = _period_days(view, start, end)
    scope = _district(who, district)
    rows = school_supply(view, school_ids=[view.require(school, "operator")] if school else None, district=scope,
                         distributor=view.require(distributor, "operator") if distributor else None,
                         since=since, until=until)
    if who.district:
        rows = [r for r in rows if r.district_id == who.district]
    return rows, since, until, scope


@router.get("/schools/supply")
def school_supply_page(request: Request, view: ViewDep, start: str = Query("", alias="from", max_length=20),
                       end: str = Query("", alias="to", max_length=20), school: str = Query("", max_length=MAX_ID),
                       district: str = Query("", max_length=100), distributor: str = Query("", max_length=MAX_ID),
                       who: Staff = Depends(staff("profile"))) -> Response:
    """A school's, a district's schools' or a central distributor's supply list for a period, gaps named."""
    from reasoning.schools import GAPS

    rows, since, until, scope = _supply(request, view, who, start, end, school, district, distributor)
    shown = rows[:_SHOWN]
    audit_entities(request, *(r.delivery_id for r in shown))
    gap_counts = {g: sum(g in r.gaps for r in rows) for g in GAPS}
    grades: dict[str, str | None] = {}
    for r in rows:
        grades.setdefault(r.supplier_id, r.supplier_grade)
    return render(request, "school_supply.html", who, rows=shown, total=len(rows), start=since.isoformat(),
                  end=until.isoformat(), school=school, district=district, distributor=distributor, scope=scope,
                  gaps=GAPS, gap_counts=gap_counts, schools_n=len({r.school_id for r in rows}),
                  suppliers_n=len(grades), query=str(request.url.query))


@router.get("/schools/supply.csv")
def school_supply_csv(request: Request, view: ViewDep, start: str = Query("", alias="from", max_length=20),
                      end: str = Query("", alias="to", max_length=20), school: str = Query("", max_length=MAX_ID),
                      district: str = Query("", max_length=100), distributor: str = Query("", max_length=MAX_ID),
                      lang: Literal["zh", "en"] = "zh", who: Staff = Depends(staff("profile"))) -> Response:
    """The same list as ``foodtrace schools supply --format csv`` (UTF-8 with a BOM, for Excel)."""
    from ..schools_cli import supply_csv

    rows, since, until, _scope = _supply(request, view, who, start, end, school, district, distributor)
    audit_entities(request, *(r.delivery_id for r in rows))
    data = "\ufeff" + supply_csv(rows, lang)
    name = f"学校食材进货_{since}_{until}.csv"
    return Response(data.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": content_disposition(name, f"school_supply_{since}_{until}.csv"),
                             "Cache-Control": "no-store"})


# -- 互联网+明厨亮灶 -------------------------------------------------------------------------------------------


@router.get("/kitchens")
def kitchens_page(request: Request, store: StoreDep, view: ViewDep,
                  start: str = Query("", alias="from", max_length=20), end: str = Query("", alias="to", max_length=20),
                  district: str = Query("", max_length=100), who: Staff = Depends(staff("indicators"))) -> Response:
    """The four rates (``GET /schools/kitchens``) of each district and school canteen against their targets."""
    from reasoning.kitchens import TARGETS, kitchen_rates
    from reasoning.scope import operator_districts

    since, until = _period_days(view, start, end, default="month_to_today")
    scope = _district(who, district)
    rows = _lists.get(store, ("kitchens", since.isoformat(), until.isoformat(), scope),
                      lambda: kitchen_rates(view, since=since, until=until, district=scope))
    schools = [r for r in rows if r.scope == "school"]
    audit_entities(request, *(r.id for r in schools[:_SHOWN]))
    return render(request, "kitchens.html", who, targets=TARGETS, start=since.isoformat(), end=until.isoformat(),
                  district=district, scope=scope, schools=schools[:_SHOWN], total=len(schools),
                  areas=[r for r in rows if r.scope != "school" and not (scope and r.scope == "city")],
                  failing=sum(bool(r.missed) for r in schools),
                  district_of=operator_districts(view, [r.id for r in schools[:_SHOWN]]))


# -- 农村集体聚餐 ----------------------------------------------------------------------------------------------


@router.get("/banquets")
def banquets_page(request: Request, view: ViewDep, district: str = Query("", max_length=100),
                  start: str = Query("", alias="from", max_length=20), end: str = Query("", alias="to", max_length=20),
                  days: int = Query(30, ge=0, le=3660), who: Staff = Depends(staff("disposal.read"))) -> Response:
    """Registrations (``GET /banquets``: no host names or phones) and the reminders (``GET /banquets/reminders``)."""
    from ontology.banquets import is_large
    from ontology.times import today
    from reasoning.banquets import banquets_of, reminders

    scope = _district(who, district)
    since = day_param(start, "from") if start else None
    until = day_param(end, "to") if end else None
    found = banquets_of(view, district=scope, since=since, until=until)
    shown = found[:_SHOWN]
    guided = {g.banquet_id for b in shown for g in view.scan("banquet_guidance", {"banquet_id": b.id})}
    audit_entities(request, *(b.id for b in shown))
    chefs = view.get_many("chef", {b.chef_id for b in shown if b.chef_id})
    rows = [{"b": b, "large": is_large(b), "guided": b.id in guided,
             "chef_expiry": chefs[b.chef_id].health_cert_expiry if b.chef_id in chefs else None} for b in shown]
    day = today()
    due = reminders(view, as_of=day, days=days, district=scope)
    return render(request, "banquets.html", who, rows=rows, total=len(found), reminders=due, as_of=day.isoformat(),
                  days=days, district=district, scope=scope, start=start, end=end,
                  can_stats=who.can("indicators"))


@router.get("/banquets/stats")
def banquet_stats_page(request: Request, view: ViewDep, start: str = Query("", alias="from", max_length=20),
                       end: str = Query("", alias="to", max_length=20),
                       who: Staff = Depends(staff("indicators"))) -> Response:
    """Per district: registrations against the 摸底 census (``GET /banquets/stats``)."""
    from reasoning.banquets import district_stats

    since, until = _period_days(view, start, end, default="whole_month")
    rows = district_stats(view, since=since, until=until)
    if who.district:
        rows = [r for r in rows if r.district_id == who.district]
    return render(request, "banquet_stats.html", who, rows=rows, start=since.isoformat(), end=until.isoformat())


# -- 重大活动 ----------------------------------------------------------------------------------------------


def _event(request: Request, view: Any, who: Staff, event_id: str) -> Any:
    ev = view.get_many("major_event", [event_id]).get(event_id)
    if ev is None:
        raise NotFound(f"no major event has the identifier {event_id!r}")
    audit_entities(request, ev.id)
    if who.district and who.district not in event_districts(view, ev):
        raise StarletteHTTPException(403, f"a district officer sees their own district's events only "
                                          f"({who.district}); event {ev.id} is not in it")
    return ev


@router.get("/events")
def events_page(request: Request, view: ViewDep, who: Staff = Depends(staff("profile"))) -> Response:
    """The major events (``GET /major-events``), latest first."""
    from reasoning.events import LEVELS

    events = sorted(view.scan("major_event"), key=lambda e: (e.start or "", e.id), reverse=True)
    if who.district:
        events = [e for e in events if who.district in event_districts(view, e)]
    audit_entities(request, *(e.id for e in events[:_SHOWN]))
    return render(request, "events.html", who, events=events[:_SHOWN], total=len(events), levels=LEVELS)


def _report(view: Any, ev: Any, as_of: str) -> dict[str, Any]:
    from ontology.times import today

    from ..report_event import event_report

    return event_report(view, ev, as_of=day_param(as_of, "as_of") if as_of else today())


@router.get("/events/{event_id}")
def event_page(request: Request, event_id: str, view: ViewDep, as_of: str = Query("", max_length=20),
               who: Staff = Depends(staff("profile"))) -> Response:
    """An event: period, venues, kitchens, designated suppliers with their vetting, the deliveries into its kitchens."""
    from reasoning.events import LEVELS, VERDICTS

    ev = _event(request, view, who, event_id)
    data = _report(view, ev, as_of)
    suppliers = (ev.supplier_ids or "").split()
    names = _names(view, [*(ev.kitchen_ids or "").split(), *suppliers,
                          *(d["supplier_id"] for d in data["deliveries"])])
    lots = {k: v.lot_number for k, v in view.get_many(
        "lot", {d["lot_id"] for d in data["deliveries"][:_SHOWN]}).items()}
    return render(request, "event.html", who, ev=ev, data=data, names=names, lots=lots, levels=LEVELS,
                  verdicts=VERDICTS,
                  venues=[v for v in (ev.venues or "").split("；") if v], kitchens=(ev.kitchen_ids or "").split(),
                  as_of=as_of, title=ev.name, shown=_SHOWN)


@router.get("/events/{event_id}/report")
def event_report_page(request: Request, event_id: str, view: ViewDep, as_of: str = Query("", max_length=20),
                      who: Staff = Depends(staff("profile"))) -> Response:
    """The self-contained Chinese report page (``GET /major-events/{id}/report?format=html``)."""
    from ..report_event import render_html

    ev = _event(request, view, who, event_id)
    return HTMLResponse(render_html(_report(view, ev, as_of)), headers={"Cache-Control": "no-store"})


@router.get("/events/{event_id}/report.xlsx")
def event_report_xlsx(request: Request, event_id: str, view: ViewDep, as_of: str = Query("", max_length=20),
                      who: Staff = Depends(staff("profile"))) -> Response:
    """The report's workbook (``GET /major-events/{id}/report?format=xlsx``)."""
    from ..report_event import write_workbook

    ev = _event(request, view, who, event_id)
    data = _report(view, ev, as_of)
    with tempfile.TemporaryDirectory(prefix="foodtrace-event-") as tmp:
        path = Path(tmp) / "report.xlsx"
        write_workbook(data, path)
        content = path.read_bytes()
    return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": content_disposition(f"重大活动保障报告_{ev.name}.xlsx",
                                                                        "major-event-report.xlsx"),
                             "Cache-Control": "no-store"})
