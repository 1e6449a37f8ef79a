"""The console's investigation pages: trace (form, results by tier, the interactive chain, the recall workbook) and
outbreak source ranking (upload the cases, see the ranking, open a candidate's trace).

The trace is the service's: :func:`api.service.investigate.trace_query` reads the same parameters,
:func:`~api.service.investigate.run_trace` runs :func:`reasoning.trace.trace` with the audit of the API, and the
recall list is :func:`~api.service.investigate.recall_response` (the workbook ``foodtrace trace --format xlsx``
writes). The ranking is :func:`~api.service.investigate.rank` over the cases file read by
:func:`api.outbreak.read_case_rows`, as ``POST /outbreak/upload``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response

from ontology.errors import CaseRowsError, InvalidRecord, NotFound

from ..service.deps import ViewDep
from ..service.hardening import inline_scripts_csp
from ..service.investigate import Hazard, rank, recall_response, run_trace, trace_query
from ..service.security import MAX_ID
from .web import PREFIX, Staff, language, render, staff

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

#: rows of a trace shown on the page (the workbook has them all)
_SHOWN = 300

_MAX_UPLOAD = 20 * 1024 * 1024


def _query(id: str, since: str | None, until: str | None, window: list[str], hazard: str | None, kill: list[str],
           explicit_only: bool) -> Any:
    return trace_query(id=id, since=since or None, until=until or None, window=[w for w in window if w.strip()],
                       hazard=hazard or None, kill=[k for k in kill if k.strip()], explicit_only=explicit_only,
                       min_likelihood=None, max_inferred=None, fixed_windows=False)


def _trace_params(id: str = Query("", max_length=MAX_ID), direction: Literal["down", "up"] = "down",
                  since: str = Query("", max_length=64), until: str = Query("", max_length=64),
                  window: list[str] = Query([], max_length=50), hazard: Hazard | Literal[""] = "",
                  kill: list[str] = Query([], max_length=50), explicit_only: bool = False) -> dict[str, Any]:
    return {"id": id.strip(), "direction": direction, "since": since, "until": until, "window": window,
            "hazard": hazard, "kill": kill, "explicit_only": explicit_only}


def _run(request: Request, view: Any, params: dict[str, Any]) -> Any:
    q = _query(params["id"], params["since"], params["until"], params["window"], params["hazard"] or None,
               params["kill"], params["explicit_only"])
    return run_trace(request, view, q, params["direction"]), q


@router.get("/trace")
def trace_page(request: Request, view: ViewDep, params: dict[str, Any] = Depends(_trace_params),
               who: Staff = Depends(staff("trace"))) -> Response:
    from .. import trace_render

    result = error = None
    rows: dict[str, Any] = {}
    if params["id"]:
        try:
            trace, _q = _run(request, view, params)
        except (NotFound, InvalidRecord) as e:
            error = str(e)
        except RequestValidationError as e:
            error = "; ".join(str(x.get("msg", "")) for x in e.errors())
        else:
            ctx = trace_render.gather_context(view, trace)
            result = trace.to_dict()
            rows = {"stations": _stations(result, ctx), "lots": result.get("lots", [])[:_SHOWN],
                    "deliveries": result.get("deliveries", [])[:_SHOWN], "start": _start(result, ctx)}
    query = str(request.url.query)
    return render(request, "trace.html", who, params=params, result=result, rows=rows, error=error, shown=_SHOWN,
                  query=query, can_recall=who.can("recall"), title=None, status=422 if error else 200)


def _start(result: dict[str, Any], ctx: Any) -> dict[str, Any]:
    st = result["start"]
    return {**st, "station_name": ctx.name(st.get("station")) if st.get("station") else None,
            "lot_label": ctx.lot_label(st.get("lot")) if st.get("lot") else None}


def _stations(result: dict[str, Any], ctx: Any) -> list[dict[str, Any]]:
    order = {"start": 0, "certain": 1, "possible": 2}
    items = sorted(result.get("stations", []), key=lambda s: (order.get(s.get("tier"), 3), s.get("time") or "",
                                                              s.get("id")))
    return [{**s, "name": s.get("name") or ctx.name(s["id"])} for s in items[:_SHOWN]]


@router.get("/trace/graph")
def trace_graph_page(request: Request, view: ViewDep, params: dict[str, Any] = Depends(_trace_params),
                     who: Staff = Depends(staff("trace"))) -> Response:
    from .. import trace_render
    from ..trace_graph import html_page

    trace, _q = _run(request, view, params)
    page = html_page(trace, trace_render.gather_context(view, trace), language(request))
    return HTMLResponse(page, headers={"Cache-Control": "no-store", "Content-Security-Policy": inline_scripts_csp(page)})


@router.get("/trace/recall.xlsx")
def trace_recall(request: Request, view: ViewDep, params: dict[str, Any] = Depends(_trace_params),
                 who: Staff = Depends(staff("recall"))) -> Response:
    q = _query(params["id"], params["since"], params["until"], params["window"], params["hazard"] or None,
               params["kill"], params["explicit_only"])
    return recall_response(request, view, q, params["direction"], language(request), "xlsx")


# -- outbreak ---------------------------------------------------------------------------------------------


@router.get("/outbreak")
def outbreak_form(request: Request, who: Staff = Depends(staff("outbreak"))) -> Response:
    return render(request, "outbreak.html", who, ranking=None, error=None)


@router.post("/outbreak")
def outbreak_rank(request: Request, view: ViewDep, file: UploadFile = File(...),
                  hazard: Hazard = Form("unknown"), kill: str = Form("", max_length=MAX_ID),
                  who: Staff = Depends(staff("outbreak"))) -> Response:
    from ..outbreak import read_case_rows, resolve_rows

    data = file.file.read(_MAX_UPLOAD + 1)
    shown = Path(file.filename or "cases.csv").name[:100] or "cases.csv"
    error = ranking = None
    if len(data) > _MAX_UPLOAD:
        error = f"{shown}: larger than {_MAX_UPLOAD // (1024 * 1024)} MB"
    else:
        suffix = Path(shown).suffix.lower()
        suffix = suffix if suffix in (".csv", ".txt", ".xlsx", ".xlsm", ".xls") else ".csv"
        with tempfile.TemporaryDirectory(prefix="foodtrace-cases-") as tmp:
            path = Path(tmp) / ("cases" + suffix)
            path.write_bytes(data)
            try:
                rows = read_case_rows(path, name=shown)
                cases = resolve_rows(rows, view, shown)
                kills = [k.strip() for k in kill.replace("；", ";").split(";") if k.strip()]
                ranking = rank(request, view, cases, hazard=hazard, kill=kills, priors=False, top=30, where="body")
            except CaseRowsError as e:
                error = "; ".join(f"{r['row']} {r['field']} {r['value']!r}: {r['reason']}" for r in e.rows[:20])
            except (InvalidRecord, NotFound) as e:
                error = str(e).replace(str(path), shown)
            except RequestValidationError as e:
                error = "; ".join(str(x.get("msg", "")) for x in e.errors())
    return render(request, "outbreak.html", who, ranking=ranking, error=error, filename=shown, hazard=hazard,
                  status=422 if error else 200)
