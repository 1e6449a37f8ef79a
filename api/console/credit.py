"""The console's pages for the credit team and risk analysts: grades (filters, explanation, history, override with a
reason, lift, publish), the early warnings and the consultation report (generated for a period, viewed, downloaded).

Grades go through :mod:`api.grades` (what ``foodtrace risk ...`` and ``/grades`` use); warnings are
:func:`reasoning.alerts.alerts` (a district officer: those naming a business of their district); the report is
:func:`reasoning.consult.consultation` rendered by :func:`api.report_consult.render_html`, generated in the
background and kept in the service database (:class:`Reports`).
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ontology.errors import FoodtraceError, NotFound, OverrideConflict

from ..service.deps import StoreDep, ViewDep
from ..service.investigate import content_disposition
from ..service.security import audit_entities, audited_require
from ..service.servicedb import connect
from .web import PREFIX, Memo, Staff, render, staff

__all__ = ["router", "Reports"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

_PAGE = 100
_heavy = Memo(size=16)


def _by(who: Staff) -> str:
    return who.user.display


# -- grades -----------------------------------------------------------------------------------------------


@router.get("/grades")
def grades_page(request: Request, view: ViewDep, district: str = Query("", max_length=200),
                kind: str = Query("", max_length=200), grade: Literal["", "A", "B", "C", "D"] = "",
                source: Literal["", "computed", "override"] = "", published: Literal["", "yes", "no"] = "",
                offset: int = Query(0, ge=0, le=10**9), who: Staff = Depends(staff("grades.read"))) -> Response:
    from ..grades import graded_operators

    chosen, ops = graded_operators(view, district=district or None, kind=kind or None, grade=grade or None,
                                   source=source or None, published=None if not published else published == "yes",
                                   table=request.app.state.grade_table)
    page = chosen[offset:offset + _PAGE]
    audit_entities(request, *(e.operator_id for e in page))
    rows = [{"e": e, "op": ops.get(e.operator_id)} for e in page]
    counts = {g: sum(1 for e in chosen if e.grade == g) for g in "ABCD"}
    return render(request, "grades.html", who, rows=rows, total=len(chosen), offset=offset, size=_PAGE,
                  counts=counts, f={"district": district, "kind": kind, "grade": grade, "source": source,
                                    "published": published}, can_publish=who.can("grades.write"))


@router.get("/grades/{operator_id:path}")
def grade_page(request: Request, operator_id: str, store: StoreDep, who: Staff = Depends(staff("grades.read")),
               message: str | None = None, status: int = 200) -> Response:
    from ..grades import grade_history, stored_explanation

    oid = audited_require(request, store, operator_id)
    history = grade_history(store, oid)
    found = stored_explanation(store, oid)
    explanation = found[0].to_dict() if found else None
    return render(request, "grade.html", who, oid=oid, history=history, grades={"history": history},
                  explanation=explanation, stamp=found[1] if found else None, message=message, status=status,
                  can_override=who.can("grades.write"), title=history["name"] or oid)


@router.post("/grades/{operator_id:path}/override")
def grade_override(request: Request, operator_id: str, store: StoreDep, grade: str = Form("", max_length=10),
                   reason: str = Form("", max_length=2000), who: Staff = Depends(staff("grades.write"))) -> Response:
    from ..grades import set_override

    oid = audited_require(request, store, operator_id)
    try:
        done = set_override(store, oid, grade.strip().upper() or None, reason=reason.strip() or None, by=_by(who))
    except (OverrideConflict, FoodtraceError) as e:
        if isinstance(e, NotFound):
            raise
        return grade_page(request, operator_id, store, who, message=str(e).replace("; lift it first with --lift",
                                                                                 "; lift it first"), status=422)
    audit_entities(request, done.record.id)
    return RedirectResponse(f"{PREFIX}/grades/{_q(oid)}#history", status_code=303)


@router.post("/grades/{operator_id:path}/lift")
def grade_lift(request: Request, operator_id: str, store: StoreDep, reason: str = Form("", max_length=2000),
               who: Staff = Depends(staff("grades.write"))) -> Response:
    from ..grades import lift_override

    oid = audited_require(request, store, operator_id)
    try:
        done = lift_override(store, oid, reason=reason.strip() or None, by=_by(who))
    except FoodtraceError as e:
        if isinstance(e, NotFound):
            raise
        return grade_page(request, operator_id, store, who, message=str(e), status=422)
    audit_entities(request, done.record.id)
    return RedirectResponse(f"{PREFIX}/grades/{_q(oid)}#history", status_code=303)


@router.post("/grades-publish")
def grades_publish(request: Request, store: StoreDep, grade: Literal["A", "B", "C", "D"] = Form(...),
                   who: Staff = Depends(staff("grades.write"))) -> Response:
    from ..grades import publish

    try:
        stamped, already = publish(store, (), {grade}, by=_by(who))
    except FoodtraceError as e:
        raise StarletteHTTPException(422, str(e)) from None
    audit_entities(request, f"publish:{grade}:{stamped}")
    return RedirectResponse(f"{PREFIX}/grades?grade={grade}&published=yes", status_code=303)


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


# -- warnings ---------------------------------------------------------------------------------------------


@router.get("/warnings")
def warnings_page(request: Request, store: StoreDep, view: ViewDep, as_of: str = Query("", max_length=20),
                  who: Staff = Depends(staff("warnings"))) -> Response:
    from ontology.times import default_as_of, parse_day
    from reasoning.alerts import alerts
    from reasoning.scope import operator_districts

    day = parse_day(as_of, "as_of") if as_of else default_as_of(view)
    found = _heavy.get(store, ("alerts", day.isoformat()), lambda: alerts(view, as_of=day))
    if who.district:
        ids = {oid for a in found for oid in a.operator_ids}
        district = operator_districts(view, ids)
        found = [a for a in found if any(district.get(oid) == who.district for oid in a.operator_ids)]
    names = {oid: op.name for oid, op in view.get_many("operator", {o for a in found for o in a.operator_ids}).items()}
    return render(request, "warnings.html", who, alerts=found, names=names, as_of=day.isoformat())


# -- the consultation report ------------------------------------------------------------------------------


class Reports:
    """Consultation reports generated from the console, kept in the service database (table ``console_report``)."""

    _SCHEMA = """CREATE TABLE IF NOT EXISTS console_report (
        id TEXT PRIMARY KEY, created REAL NOT NULL, by TEXT, start TEXT NOT NULL, end TEXT NOT NULL, lang TEXT,
        status TEXT NOT NULL, error TEXT, html TEXT, finished REAL)"""

    def __init__(self, path: str):
        self._db = connect(path)
        self._db.execute(self._SCHEMA)
        self._lock = threading.Lock()

    def _x(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def new(self, start: str, end: str, lang: str, by: str) -> str:
        rid = secrets.token_hex(8)
        self._x("INSERT INTO console_report(id, created, by, start, end, lang, status) VALUES (?,?,?,?,?,?,?)",
                (rid, time.time(), by, start, end, lang, "running"))
        return rid

    def finish(self, rid: str, *, html: str | None = None, error: str | None = None) -> None:
        self._x("UPDATE console_report SET status = ?, html = ?, error = ?, finished = ? WHERE id = ?",
                ("failed" if error else "done", html, error, time.time(), rid))

    def list(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._x("SELECT id, created, by, start, end, lang, status, error, finished FROM console_report "
                       "ORDER BY created DESC LIMIT ?", (limit,))
        keys = ("id", "created", "by", "start", "end", "lang", "status", "error", "finished")
        return [dict(zip(keys, r)) for r in rows]

    def html(self, rid: str) -> tuple[str, str, str, str] | None:
        rows = self._x("SELECT html, start, end, lang FROM console_report WHERE id = ? AND status = 'done'", (rid,))
        return rows[0] if rows else None


def _reports(request: Request) -> Reports:
    found = getattr(request.app.state, "console_reports", None)
    if found is None:
        found = request.app.state.console_reports = Reports(request.app.state.settings.service_db)
    return found


def _generate(app: Any, rid: str, start: str, end: str, lang: str) -> None:
    from graph.view import ReadView
    from reasoning.consult import consultation

    from ..report_consult import render_html

    reports: Reports = app.state.console_reports
    try:
        c = consultation(ReadView(app.state.store), start, end, top=10, model=True)
        reports.finish(rid, html=render_html(c, lang=lang, store_name=app.state.store.name))
    except (FoodtraceError, ValueError, sqlite3.Error) as e:
        reports.finish(rid, error=str(e))
    except Exception as e:  # noqa: BLE001 - a report that fails says so on its row instead of vanishing
        reports.finish(rid, error=f"{type(e).__name__}: {e}")


@router.get("/report")
def report_page(request: Request, who: Staff = Depends(staff("report"))) -> Response:
    items = _reports(request).list()
    template = "report_list.html" if request.headers.get("hx-request") else "report.html"
    return render(request, template, who, reports=items, running=any(r["status"] == "running" for r in items))


@router.post("/report")
def report_generate(request: Request, start: str = Form(..., alias="from", max_length=20),
                    end: str = Form(..., alias="to", max_length=20), lang: Literal["zh", "en"] = Form("zh"),
                    who: Staff = Depends(staff("report"))) -> Response:
    from reasoning.consult import Period

    try:
        period = Period.of(start, end)
    except FoodtraceError as e:
        raise StarletteHTTPException(422, str(e)) from None
    if period.start > period.end:
        raise StarletteHTTPException(422, f"the period starts ({start}) after it ends ({end})")
    reports = _reports(request)
    rid = reports.new(period.start.isoformat(), period.end.isoformat(), lang, _by(who))
    audit_entities(request, f"report:{rid}")
    threading.Thread(target=_generate, args=(request.app, rid, period.start.isoformat(), period.end.isoformat(), lang),
                     name=f"report-{rid}", daemon=True).start()
    return RedirectResponse(f"{PREFIX}/report", status_code=303)


@router.get("/report/{rid}")
def report_view(request: Request, rid: str, download: bool = False,
                who: Staff = Depends(staff("report"))) -> Response:
    found = _reports(request).html(rid)
    if found is None:
        raise StarletteHTTPException(404, f"no finished report has the id {rid!r}")
    html, start, end, lang = found
    audit_entities(request, f"report:{rid}")
    headers = {"Cache-Control": "no-store"}
    if download:
        name = (f"consultation_{start}_{end}.html" if lang == "en" else f"风险会商报告_{start}_{end}.html")
        headers["Content-Disposition"] = content_disposition(name, f"consultation_{start}_{end}.html")
    return HTMLResponse(html, headers=headers)

