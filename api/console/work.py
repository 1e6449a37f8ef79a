"""The console's pages for district officers and data stewards: 核查处置 cases (list, a case with its steps, a step
recorded from a form), 投诉举报, the demonstration-city indicators (table, workbook, 述职 page) and loads
(upload files, see the summary, rejects and warnings).

They call what the service's routers call: :func:`reasoning.disposal.case_rows`,
:func:`reasoning.complaints.complaint_rows`, :func:`api.service.disposal.scoped_subject` and
:func:`~api.service.disposal.add_step` (a district officer acts on their own district only, 403 elsewhere),
:func:`reasoning.indicators.indicators` with :mod:`api.report_indicators`, and the uploads' loader
(:func:`api.service.capture.load_uploads`, what ``POST /uploads`` and ``foodtrace load`` run).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ontology.errors import FoodtraceError

from ..service.deps import StoreDep, ViewDep
from ..service.investigate import content_disposition
from ..service.security import actor_of, audit_entities, district_scope
from .web import PREFIX, Memo, Staff, render, staff

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

_lists = Memo(size=32)


def _day(view: Any, as_of: str) -> Any:
    from ontology.times import default_as_of, parse_day

    return parse_day(as_of, "as_of") if as_of else default_as_of(view)


def _district(who: Staff, asked: str) -> str | None:
    from ontology.handling import district_id

    return district_scope(who.key, district_id(asked) if asked else None)


def _names(view: Any, ids: Any) -> dict[str, str]:
    return {oid: op.name for oid, op in view.get_many("operator", {i for i in ids if i}).items()}


# -- disposal cases ---------------------------------------------------------------------------------------


@router.get("/disposal")
def disposal_list(request: Request, store: StoreDep, view: ViewDep, district: str = Query("", max_length=100),
                  status: str = Query("", max_length=20), as_of: str = Query("", max_length=20),
                  who: Staff = Depends(staff("disposal.read"))) -> Response:
    from reasoning.disposal import case_rows

    scope = _district(who, district)
    day = _day(view, as_of)
    rows = _lists.get(store, ("cases", scope, day.isoformat()), lambda: case_rows(view, as_of=day, district=scope))
    if status:
        rows = [r for r in rows if r.status == status]
    shown = rows[:200]
    audit_entities(request, *(r.id for r in shown))
    return render(request, "disposal.html", who, rows=shown, total=len(rows), as_of=day.isoformat(), scope=scope,
                  names=_names(view, (r.operator_id for r in shown)), status_filter=status, district=district)


@router.get("/disposal/{number}")
def disposal_case(request: Request, number: str, store: StoreDep, view: ViewDep,
                  who: Staff = Depends(staff("disposal.read")), message: str | None = None,
                  status: int = 200) -> Response:
    from ontology.handling import effective_steps
    from ontology.records import to_dict
    from reasoning.disposal import case_row

    from ..service.disposal import scoped_subject

    subject = scoped_subject(request, store, who.key, number, "disposal_case")
    steps = sorted(store.scan("handling_step", {"subject_id": subject.id}), key=lambda s: (s.seq, s.id))
    live = {s.id for s in effective_steps(steps)}
    row = case_row(subject, steps, as_of=_day(view, ""))
    return render(request, "case.html", who, case=to_dict(subject), row=row, status=status, message=message,
                  steps=[{**to_dict(s), "effective": s.id in live} for s in steps], title=subject.number,
                  names=_names(view, [subject.operator_id, subject.producer_id]),
                  can_write=who.can("disposal.write"))


@router.post("/disposal/{number}/steps")
def disposal_step(request: Request, number: str, store: StoreDep, view: ViewDep, kind: str = Form(..., max_length=40),
                  date: str = Form(..., max_length=20), party: str = Form("", max_length=2000),
                  outcome: str = Form("", max_length=200), reason: str = Form("", max_length=2000),
                  note: str = Form("", max_length=2000), evidence: list[UploadFile] = File([]),
                  who: Staff = Depends(staff("disposal.write"))) -> Response:
    import base64

    from fastapi.responses import RedirectResponse

    from ..service.disposal import Evidence, StepIn, add_step

    files = [Evidence(name=Path(f.filename or "evidence").name[:200] or "evidence",
                      content=base64.b64encode(f.file.read(10 * 1024 * 1024 + 1)).decode("ascii"))
             for f in evidence if f.filename]
    body = StepIn(kind=kind, date=date, party=party or None, outcome=outcome or None, reason=reason or None,
                  note=note or None, evidence=files)
    try:
        add_step(request, store, who.key, number, body, "disposal_case")
    except FoodtraceError as e:
        from ontology.errors import NotFound

        if isinstance(e, NotFound) and "disposal case" in str(e):
            raise
        return disposal_case(request, number, store, view, who, message=str(e), status=422)
    return RedirectResponse(f"{PREFIX}/disposal/{number}#steps", status_code=303)


# -- complaints -------------------------------------------------------------------------------------------


@router.get("/complaints")
def complaints_list(request: Request, store: StoreDep, view: ViewDep, district: str = Query("", max_length=100),
                    as_of: str = Query("", max_length=20), who: Staff = Depends(staff("disposal.read"))) -> Response:
    from reasoning.complaints import complaint_rows

    scope = _district(who, district)
    day = _day(view, as_of)
    rows = _lists.get(store, ("complaints", scope, day.isoformat()),
                      lambda: complaint_rows(view, as_of=day, district=scope))
    shown = rows[:200]
    audit_entities(request, *(r.id for r in shown))
    return render(request, "complaints.html", who, rows=shown, total=len(rows), as_of=day.isoformat(), scope=scope,
                  names=_names(view, (r.operator_id for r in shown)), district=district)


# -- indicators -------------------------------------------------------------------------------------------


def _indicators(store: Any, view: Any, who: Staff, start: str, end: str, district: str) -> Any:
    from reasoning.indicators import indicators

    scope = _district(who, district)
    return _lists.get(store, ("indicators", start, end, scope),
                      lambda: indicators(view, start, end, district=scope)), scope


def _period(view: Any, start: str, end: str) -> tuple[str, str]:
    """The period asked for, else the month of the last day known."""
    import datetime as dt

    if start and end:
        return start, end
    last = _day(view, "") - dt.timedelta(days=1)
    return last.replace(day=1).isoformat(), last.isoformat()


@router.get("/indicators")
def indicators_page(request: Request, store: StoreDep, view: ViewDep, start: str = Query("", alias="from", max_length=20),
                    end: str = Query("", alias="to", max_length=20), district: str = Query("", max_length=100),
                    who: Staff = Depends(staff("indicators"))) -> Response:
    from ontology.handling import CITY

    from .. import report_indicators as ri

    start, end = _period(view, start, end)
    rep, scope = _indicators(store, view, who, start, end, district)
    shown = scope or CITY
    month = rep.months[-1] if rep.months else None
    rows = []
    for key, ind in rep.table.indicators.items():
        v = rep.get(key, shown, month) if month else None
        rows.append({"key": key, "zh": ind.zh, "en": ind.en, "value": ri.format_value(v) if v else "—",
                     "target": ri.target_text(rep, key), "status": v.status(rep.table) if v else None,
                     "numerator": v.numerator if v else None, "denominator": v.denominator if v else None})
    return render(request, "indicators.html", who, rows=rows, start=start, end=end, month=month,
                  district_label=ri.district_name(shown, "zh"), district_label_en=ri.district_name(shown, "en"),
                  district=district, query=str(request.url.query))


@router.get("/indicators/indicators.xlsx")
def indicators_xlsx(request: Request, store: StoreDep, view: ViewDep,
                    start: str = Query("", alias="from", max_length=20), end: str = Query("", alias="to", max_length=20),
                    district: str = Query("", max_length=100), who: Staff = Depends(staff("indicators"))) -> Response:
    from .. import report_indicators as ri

    start, end = _period(view, start, end)
    rep, scope = _indicators(store, view, who, start, end, district)
    with tempfile.TemporaryDirectory(prefix="foodtrace-indicators-") as tmp:
        path = ri.write_workbook(rep, Path(tmp) / "indicators.xlsx", district=scope)
        data = path.read_bytes()
    name = f"示范城市指标_{start}_{end}.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": content_disposition(name, f"indicators_{start}_{end}.xlsx"),
                             "Cache-Control": "no-store"})


@router.get("/indicators/pack")
def indicators_pack(request: Request, store: StoreDep, view: ViewDep,
                    start: str = Query("", alias="from", max_length=20), end: str = Query("", alias="to", max_length=20),
                    district: str = Query("", max_length=100), who: Staff = Depends(staff("indicators"))) -> Response:
    from ontology.handling import CITY

    from .. import report_indicators as ri

    start, end = _period(view, start, end)
    rep, scope = _indicators(store, view, who, start, end, district)
    return HTMLResponse(ri.render_pack_html(rep, scope or CITY), headers={"Cache-Control": "no-store"})


# -- loads ------------------------------------------------------------------------------------------------


@router.get("/loads")
def loads_form(request: Request, who: Staff = Depends(staff("capture"))) -> Response:
    return render(request, "loads.html", who, results=None)


@router.post("/loads")
async def loads_upload(request: Request, files: list[UploadFile] = File(...), kind: str = Form("auto"),
                       who: Staff = Depends(staff("capture"))) -> Response:
    from ..service.capture import load_uploads, safe_name

    if kind not in ("auto", "epcis", "template", "samr"):
        raise StarletteHTTPException(422, f"unknown kind {kind!r}")
    settings = request.app.state.settings
    total = 0
    with tempfile.TemporaryDirectory(prefix="foodtrace-upload-") as tmp:
        saved: list[tuple[Path, str]] = []
        for n, up in enumerate(files, 1):
            if not up.filename:
                continue
            name = safe_name(up.filename, n)
            folder = Path(tmp) / str(n)
            folder.mkdir()
            data = await up.read()
            total += len(data)
            if total > settings.capture_file_size_limit:
                raise StarletteHTTPException(413, "the upload is larger than FOODTRACE_CAPTURE_FILE_SIZE_LIMIT")
            (folder / name).write_bytes(data)
            saved.append((folder / name, name))
        if not saved:
            raise StarletteHTTPException(422, "no file: choose one or more files")
        audit_entities(request, *(f"upload:{name}" for _, name in saved))
        results = await anyio.to_thread.run_sync(load_uploads, request.app.state.store, saved, kind,
                                                 settings.read_options(), actor_of(who.key))
    return render(request, "loads.html", who, results=results)
