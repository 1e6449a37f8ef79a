"""Routes of 重大活动食品安全保障, the same functions as ``foodtrace events`` (:mod:`reasoning.events`,
:mod:`api.report_event`):

* ``POST /major-events`` (disposal.write): enter an event (a period ending before it starts is 422, nothing
  written); ``GET /major-events`` (profile): the events;
* ``GET /major-events/{id}/report`` (profile): the report as JSON, ``?format=html`` the Chinese page,
  ``?format=xlsx`` the workbook;
* ``GET /major-events/{id}/sampling-list`` (profile): the lots ranked by the planned-sample risk model (JSON,
  ``?format=csv`` or ``xlsx``; ``?lang=en`` for English headers);
* ``GET /major-events/{id}/after-report`` (profile): the after report (JSON, ``?format=html`` or ``xlsx``).

A meal lot is traced to its origins by ``GET /trace/up?id=LOT`` (the trace permission).

(``/events`` is the EPCIS capture interface's.)
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from ontology.errors import NotFound
from ontology.handling import district_id
from ontology.times import now_iso, today
from reasoning.events import event_districts

from .deps import StoreDep, ViewDep
from .schools import day_param
from .security import audit_entities, require
from .servicedb import ApiKey

__all__ = ["router"]

router = APIRouter(tags=["events"])


class EventIn(BaseModel):
    name: str
    level: Literal["national", "provincial", "municipal", "district"]
    start: str
    end: str
    venues: list[str] = Field(default_factory=list)
    kitchens: list[str] = Field(default_factory=list, description="kitchens serving it, any identifier form")
    suppliers: list[str] = Field(default_factory=list, description="designated suppliers, any identifier form")
    district: str | None = None
    organiser: str | None = None


@router.post("/major-events", status_code=201, summary="重大活动登记 / enter a major event")
def create(store: StoreDep, view: ViewDep, body: EventIn, key: ApiKey = Depends(require("disposal.write"))
           ) -> dict[str, Any]:
    from ontology.records import to_dict
    from reasoning.events import new_event

    ev = new_event(view, name=body.name, level=body.level, start=body.start, end=body.end,
                   kitchens=view.require_many(body.kitchens, "operator", what="kitchen") if body.kitchens else (),
                   suppliers=view.require_many(body.suppliers, "operator", what="supplier") if body.suppliers else (),
                   venues=body.venues, district=district_id(body.district) if body.district else None,
                   organiser=body.organiser, created=now_iso("seconds"))
    store.write([ev])
    return to_dict(ev)


@router.get("/major-events", summary="重大活动 / major events")
def list_events(view: ViewDep, key: ApiKey = Depends(require("profile"))) -> list[dict[str, Any]]:
    """Every event; a district officer's key: the events of their district (the event's or one of its kitchens')."""
    from ontology.records import to_dict

    events = sorted(view.scan("major_event"), key=lambda e: (e.start or "", e.id))
    if key.role == "district":
        events = [e for e in events if key.district in event_districts(view, e)]
    return [to_dict(e) for e in events]


def _event(request: Request, view: Any, event_id: str, key: ApiKey) -> Any:
    ev = view.get_many("major_event", [event_id]).get(event_id)
    if ev is None:
        raise NotFound(f"no major event has the identifier {event_id!r}")
    audit_entities(request, ev.id)
    if key.role == "district" and key.district not in event_districts(view, ev):
        raise HTTPException(403, f"a district officer's key sees their own district's events only ({key.district}); "
                        f"event {ev.id} is not in it")
    return ev


def _as_of(as_of: str | None) -> Any:
    return day_param(as_of, "as_of") if as_of else today()


def _xlsx(write: Any, name: str) -> Response:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "report.xlsx"
        write(path)
        content = path.read_bytes()
    return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _answer(data: Any, format: str, page: Any, workbook: Any, name: str) -> Any:
    """A report as JSON, its Chinese page or its workbook."""
    if format == "html":
        return HTMLResponse(page(data))
    if format == "xlsx":
        return _xlsx(lambda p: workbook(data, p), name)
    return data


@router.get("/major-events/{event_id:path}/sampling-list", summary="风险抽检清单 / lots ranked by the risk model",
            response_model=None)
def sampling(request: Request, view: ViewDep, event_id: str, as_of: str | None = None,
             format: Literal["json", "csv", "xlsx"] = "json", lang: Literal["zh", "en"] = "zh", top: int = 3,
             key: ApiKey = Depends(require("profile"))) -> Any:
    from reasoning.events import sampling_list

    from .. import render
    from ..report_event import sampling_table, write_sampling_workbook

    ev = _event(request, view, event_id, key)
    day = _as_of(as_of)
    rows = [r.to_dict() for r in sampling_list(view, ev, as_of=day, top=max(1, min(top, 10)))]
    if format == "xlsx":
        return _xlsx(lambda p: write_sampling_workbook(rows, p, lang), "sampling-list.xlsx")
    if format == "csv":
        headers, table = sampling_table(rows, lang)
        return Response(("\ufeff" + render.csv_text(table, headers)).encode("utf-8"),
                        media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="sampling-list.csv"'})
    return {"event": ev.id, "as_of": str(day), "rows": rows}


@router.get("/major-events/{event_id:path}/after-report", summary="保障总结报告 / the after report",
            response_model=None)
def after(request: Request, view: ViewDep, event_id: str, as_of: str | None = None,
          format: Literal["json", "html", "xlsx"] = "json", key: ApiKey = Depends(require("profile"))) -> Any:
    from reasoning.events import after_report

    from ..report_event import render_after_html, write_after_workbook

    data = after_report(view, _event(request, view, event_id, key), as_of=_as_of(as_of))
    return _answer(data, format, render_after_html, write_after_workbook, "major-event-after-report.xlsx")


@router.get("/major-events/{event_id:path}/report", summary="保障报告 / vetting and deliveries report",
            response_model=None)
def report(request: Request, view: ViewDep, event_id: str, as_of: str | None = None,
           format: Literal["json", "html", "xlsx"] = "json",
           key: ApiKey = Depends(require("profile"))) -> Any:
    from ..report_event import event_report, render_html, write_workbook

    data = event_report(view, _event(request, view, event_id, key), as_of=_as_of(as_of))
    return _answer(data, format, render_html, write_workbook, "major-event-report.xlsx")
