"""Routes of 重大活动食品安全保障, the same functions as ``foodtrace events`` (:mod:`reasoning.events`,
:mod:`api.report_event`):

* ``POST /major-events`` (disposal.write): enter an event (a period ending before it starts is 422, nothing
  written); ``GET /major-events`` (profile): the events;
* ``GET /major-events/{id}/report`` (profile): the report as JSON, ``?format=html`` the Chinese page,
  ``?format=xlsx`` the workbook.

(``/events`` is the EPCIS capture interface's.)
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from ontology.errors import NotFound
from ontology.handling import district_id
from ontology.times import now_iso, today

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
    from ontology.records import to_dict

    return [to_dict(e) for e in sorted(view.scan("major_event"), key=lambda e: (e.start or "", e.id))]


@router.get("/major-events/{event_id:path}/report", summary="保障报告 / vetting and deliveries report",
            response_model=None)
def report(request: Request, view: ViewDep, event_id: str, as_of: str | None = None,
           format: Literal["json", "html", "xlsx"] = "json",
           key: ApiKey = Depends(require("profile"))) -> Any:
    from ..report_event import event_report, render_html, write_workbook

    ev = view.get_many("major_event", [event_id]).get(event_id)
    if ev is None:
        raise NotFound(f"no major event has the identifier {event_id!r}")
    audit_entities(request, ev.id)
    data = event_report(view, ev, as_of=day_param(as_of, "as_of") if as_of else today())
    if format == "html":
        return HTMLResponse(render_html(data))
    if format == "xlsx":
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "report.xlsx"
            write_workbook(data, path)
            content = path.read_bytes()
        return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="major-event-report.xlsx"'})
    return data
