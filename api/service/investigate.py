"""Routes for investigators and analysts (稽查溯源): traces, recall lists, outbreak ranking, operator profiles.

Each endpoint does what the matching command does, over the service's store:

* ``GET /trace/down``, ``GET /trace/up``: ``foodtrace trace down|up ID --format json``
  (:meth:`reasoning.trace.Trace.to_dict`), same options (since, until, window, hazard, kill, explicit_only,
  min_likelihood, max_inferred, fixed_windows), traced over the worker's in-memory index where it is ready
  (:mod:`api.service.tracing`);
* ``GET /recall.xlsx``, ``GET /recall.csv``: ``foodtrace trace ... --format xlsx|csv``, the recall list
  (召回清单) as a download; it carries receivers' contacts, so only investigators get it;
* ``POST /outbreak`` (JSON cases) and ``POST /outbreak/upload`` (a CASES.csv or Excel file):
  ``foodtrace outbreak CASES.csv --format json``; any bad case is a 422 naming its row, field and reason;
* ``GET /operators/{id}/profile`` (or ``/operators/profile?id=``): an operator's profile (精准画像,
  :func:`reasoning.profile.operator_profile`).

Every request is audited with the entities it named (the identifiers given and what they resolved to).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from graph.view import ReadView
from ontology.errors import InvalidRecord, NotFound
from ontology.times import today

from .deps import ViewDep
from .problems import PROBLEM_JSON, PROBLEM_SCHEMA
from .security import MAX_ID, audit_entities, audited_require, check_district, require
from .servicedb import ApiKey

__all__ = ["router", "content_disposition", "trace_query", "run_trace", "recall_response", "rank"]

router = APIRouter(tags=["investigation"])


Hazard = Literal["unknown", "microbial", "vet_drug", "pesticide", "additive", "illegal_additive", "heavy_metal",
                 "other"]

_MAX_UPLOAD = 20 * 1024 * 1024


def _problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "Malformed identifier", 401: "No or invalid API key", 403: "The key's role may not do this",
            404: "Unknown identifier", 409: "Conflict with the stored state", 413: "Upload too large",
            422: "Invalid parameters or cases"}
    return {c: {"description": text[c], "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}} for c in codes}


def _invalid(location: str, message: str, **extra: Any) -> RequestValidationError:
    """A 422 problem naming the parameter (``location`` like ``query.window``)."""
    return RequestValidationError([{"loc": tuple(location.split(".")), "msg": message, "type": "value_error",
                                    **extra}])


# -- trace parameters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceQuery:
    id: str
    since: str | None
    until: str | None
    windows: tuple[str, ...]
    hazard: str | None
    kills: tuple[str, ...]
    explicit_only: bool
    min_likelihood: float | None = None
    max_inferred: str | None = None
    fixed_windows: bool = False


_ID_HELP = ("Where the trace starts, in any identifier form the store knows: lot id or EPC URN, GS1 Digital Link "
            "(https://…/01/{gtin}/10/{lot}), lot number, delivery, sample, trace code (追溯码), station "
            "(operator id, USCC, GLN)")


def trace_query(
    id: str = Query(..., min_length=1, max_length=MAX_ID, description=_ID_HELP),
    since: str | None = Query(None, max_length=64, description="Ignore deliveries before this date or ISO date-time "
                              "(Beijing time without an offset), e.g. 2026-11-01"),
    until: str | None = Query(None, max_length=64, description="Ignore deliveries after this date (a bare date "
                              "means the end of that day) or ISO date-time"),
    window: list[str] = Query([], max_length=50, description="Holding window of a food category in days, "
                              "CATEGORY=DAYS (repeatable), e.g. pork=5 or 叶菜类=2"),
    hazard: Hazard | None = Query(None, description="Kind of hazard traced (default: a failed sample's hazard "
                                  "class, else unknown); kill steps cut only pathogens"),
    kill: list[str] = Query([], max_length=50, description="A station or lot whose processing kills the hazard "
                            "(any identifier form; repeatable)"),
    explicit_only: bool = Query(False, description="Follow recorded links only (no inferred, possible links)"),
    min_likelihood: float | None = Query(None, ge=0, le=1, description="Do not follow possible paths less likely "
                                         "than this (default 0.05)"),
    max_inferred: str | None = Query(None, max_length=8, pattern=r"^(\d{1,4}|none)$",
                                     description="Most inferred links on a path, or none (default 2)"),
    fixed_windows: bool = Query(False, description="The hand-set holding windows instead of windows learned "
                                "from the records"),
) -> TraceQuery:
    """The options of ``foodtrace trace`` as query parameters."""
    ident = id.strip()
    if not ident:
        raise _invalid("query.id", "the identifier is empty")
    for w in window:
        if len(w) > 200:
            raise _invalid("query.window", "a window value is longer than 200 characters")
    for k in kill:
        if not k.strip() or len(k) > MAX_ID:
            raise _invalid("query.kill", "a kill step identifier is empty or too long")
    return TraceQuery(ident, since, until, tuple(window), hazard, tuple(k.strip() for k in kill), explicit_only,
                      min_likelihood, max_inferred, fixed_windows)


def _options(view: ReadView, q: TraceQuery) -> Any:
    from ..trace_params import parse_bound, parse_windows, trace_options

    try:
        since = parse_bound(q.since) if q.since not in (None, "") else None
    except InvalidRecord as e:
        raise _invalid("query.since", str(e)) from None
    try:
        until = parse_bound(q.until, end_of_day=True) if q.until not in (None, "") else None
    except InvalidRecord as e:
        raise _invalid("query.until", str(e)) from None
    try:
        windows = parse_windows(q.windows)
    except InvalidRecord as e:
        raise _invalid("query.window", str(e)) from None
    try:
        return trace_options(view, since=since, until=until, windows=windows, hazard=q.hazard, kills=q.kills,
                             explicit_only=q.explicit_only, min_likelihood=q.min_likelihood,
                             max_inferred=q.max_inferred, fixed_windows=q.fixed_windows)
    except NotFound as e:
        raise _invalid("query.kill", str(e).removeprefix("--kill ")) from None


def run_trace(request: Request, view: ReadView, q: TraceQuery, direction: str) -> Any:
    from .tracing import tracer_for

    audit_entities(request, q.id, *q.kills)
    opts = _options(view, q)
    result = tracer_for(request, view).trace(q.id, direction, opts)
    st = result.start
    audit_entities(request, *{x for x in (st.id, st.lot_id, st.station_id) if x and x != q.id})
    return result


_TRACE_DOC = ("The JSON of `foodtrace trace {d} ID --format json`: the start, the options, the holding windows used "
              "(learned from the records, or hand-set) with their source, counts by tier and every reached lot, "
              "delivery and station with its tier (certain: recorded links all the way; possible: an inferred link "
              "on the way), likelihood (1 when certain; most likely first), time and evidence (delivery ids of its "
              "most likely path).")


@router.get("/trace/down", summary="下游追溯 / trace downstream: where did it go",
            description=_TRACE_DOC.format(d="down"), responses=_problem_responses(400, 401, 403, 404, 422),
            openapi_extra={"x-permission": "trace"})
def trace_down(request: Request, *, q: TraceQuery = Depends(trace_query), view: ViewDep,
               key: ApiKey = Depends(require("trace"))) -> dict[str, Any]:
    return run_trace(request, view, q, "down").to_dict()


@router.get("/trace/up", summary="上游溯源 / trace upstream: where did it come from",
            description=_TRACE_DOC.format(d="up"), responses=_problem_responses(400, 401, 403, 404, 422),
            openapi_extra={"x-permission": "trace"})
def trace_up(request: Request, *, q: TraceQuery = Depends(trace_query), view: ViewDep,
             key: ApiKey = Depends(require("trace"))) -> dict[str, Any]:
    return run_trace(request, view, q, "up").to_dict()


# -- recall lists --------------------------------------------------------------------------------------


def content_disposition(filename: str, fallback: str | None = None) -> str:
    """An ``attachment`` Content-Disposition with an ASCII ``filename`` and the UTF-8 ``filename*`` (RFC 6266).

    >>> content_disposition("召回清单-P1.xlsx")
    'attachment; filename="_-P1.xlsx"; filename*=UTF-8\\'\\'%E5%8F%AC%E5%9B%9E%E6%B8%85%E5%8D%95-P1.xlsx'
    """
    ascii_name = fallback or re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9._-]", "_", filename))
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _recall_name(result: Any, ctx: Any, lang: str, ext: str) -> tuple[str, str]:
    st = result.start
    lot = ctx.lots.get(st.lot_id) if st.lot_id else None
    label = lot.lot_number if lot is not None and lot.lot_number else None
    if not label:
        label = re.split(r"[:/]", st.id.rstrip("/:"))[-1]
    label = re.sub(r"[\\/:*?\"<>|\s]+", "_", label)[:60] or "trace"
    day = today().strftime("%Y%m%d")
    direction = {"down": ("下游", "downstream"), "up": ("上游", "upstream")}[result.direction]
    zh = f"召回清单_{direction[0]}_{label}_{day}.{ext}"
    en = f"recall-list_{direction[1]}_{label}_{day}.{ext}"
    fallback = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9._-]", "_", en))
    return (en if lang == "en" else zh), fallback


def recall_response(request: Request, view: ReadView, q: TraceQuery, direction: str, lang: str, fmt: str) -> Response:
    from .. import trace_render

    result = run_trace(request, view, q, direction)
    ctx = trace_render.gather_context(view, result)
    name, fallback = _recall_name(result, ctx, lang, fmt)
    headers = {"Content-Disposition": content_disposition(name, fallback), "Cache-Control": "no-store"}
    if fmt == "xlsx":
        return Response(trace_render.recall_xlsx_bytes(result, ctx, lang), headers=headers,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    body = ("\ufeff" + trace_render.recall_csv(result, ctx, lang)).encode("utf-8")
    return Response(body, headers=headers, media_type="text/csv; charset=utf-8")


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/recall.xlsx", summary="召回清单 (Excel) / the recall list as a workbook",
            description="The workbook `foodtrace trace down ID --format xlsx` writes: sheets 召回清单 (one row per "
                        "reached delivery, with the receivers' contacts), 主体 (stations) and 说明 (start, options, "
                        "notes). For investigators only: not for publication.",
            response_class=Response,
            responses={200: {"content": {_XLSX: {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the workbook, as an attachment"},
                       **_problem_responses(400, 401, 403, 404, 422)},
            openapi_extra={"x-permission": "recall"})
def recall_xlsx(request: Request, *, q: TraceQuery = Depends(trace_query),
                direction: Literal["down", "up"] = Query("down", description="down: where it went (a recall); "
                                                         "up: where it came from"),
                lang: Literal["zh", "en"] = Query("zh", description="Language of headers and labels"),
                view: ViewDep, key: ApiKey = Depends(require("recall"))) -> Response:
    return recall_response(request, view, q, direction, lang, "xlsx")


@router.get("/recall.csv", summary="召回清单 (CSV) / the recall list as CSV",
            description="The CSV `foodtrace trace down ID --format csv` writes (UTF-8 with BOM, opens in Excel).",
            response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "the recall list, as an attachment"},
                       **_problem_responses(400, 401, 403, 404, 422)},
            openapi_extra={"x-permission": "recall"})
def recall_csv(request: Request, *, q: TraceQuery = Depends(trace_query),
               direction: Literal["down", "up"] = Query("down", description="down: where it went; up: where it "
                                                        "came from"),
               lang: Literal["zh", "en"] = Query("zh", description="Language of headers and labels"),
               view: ViewDep, key: ApiKey = Depends(require("recall"))) -> Response:
    return recall_response(request, view, q, direction, lang, "csv")


# -- outbreak ranking ------------------------------------------------------------------------------------


class CaseIn(BaseModel):
    """One case: a station or lot, its weight (negative: a confirmed non-case) and an optional date."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., max_length=MAX_ID, description="A station or lot in any identifier form "
                    "(operator id, USCC, GLN, lot id, Digital Link, trace code)", examples=["urn:foodtrace:operator:x"])
    weight: float | None = Field(None, ge=-1e6, le=1e6, allow_inf_nan=False,
                                 description="Case weight (default 1, or -1 with positive=false)")
    positive: bool | None = Field(None, description="false: a confirmed non-case (weight -1 unless given)")
    date: str | None = Field(None, max_length=64, description="When the case was observed (onset, sampling): "
                             "2026-03-01, 2026/3/1, 20260301 or 2026年3月1日")


class OutbreakIn(BaseModel):
    """The cases and settings of an outbreak ranking (`foodtrace outbreak`)."""

    model_config = ConfigDict(extra="forbid")

    cases: list[CaseIn] = Field(..., min_length=1, max_length=10000)
    hazard: Hazard = Field("unknown", description="Kind of hazard; kill steps cut only pathogens")
    kill: list[str] = Field([], max_length=50, description="Stations or lots whose processing kills the hazard")
    priors: bool = Field(False, description="Order tied candidates by product-risk priors (scores unchanged)")
    window: list[str] = Field([], max_length=50, description="Holding windows CATEGORY=DAYS, e.g. pork=5")
    explicit_only: bool = Field(False, description="Follow recorded links only (no inferred, possible links)")
    top: int | None = Field(None, ge=0, le=1_000_000, description="Only the N best stations and lots (0 or none: all)")


def _case_rows(body: OutbreakIn) -> list[Any]:
    from loaders.templates import parse_date

    from ..outbreak import CaseRow

    rows, errors = [], []
    for i, c in enumerate(body.cases):
        ident = c.id.strip()
        if not ident:
            errors.append({"loc": ("body", "cases", i, "id"), "msg": "empty: give a station or lot",
                           "type": "value_error"})
            continue
        if c.weight is not None and c.positive is not None and (c.weight > 0) != c.positive and c.weight != 0:
            errors.append({"loc": ("body", "cases", i, "weight"), "type": "value_error",
                           "msg": f"weight {c.weight:g} contradicts positive={str(c.positive).lower()}"})
            continue
        weight = c.weight if c.weight is not None else (-1.0 if c.positive is False else 1.0)
        date = None
        if c.date is not None and c.date.strip():
            try:
                date = _case_date(parse_date(c.date))
            except InvalidRecord as e:
                errors.append({"loc": ("body", "cases", i, "date"), "msg": str(e), "type": "value_error"})
                continue
        rows.append(CaseRow(i, ident, float(weight), date))
    if errors:
        raise RequestValidationError(errors)
    return rows


def _case_date(day: str) -> str:
    if not 1900 <= int(day[:4]) <= 2999:
        raise InvalidRecord(f"{day}: the year must be between 1900 and 2999")
    return day


def rank(request: Request, view: ReadView, cases: list[Any], *, hazard: str, kill: list[str], priors: bool,
         top: int | None, where: str, window: list[str] = (), explicit_only: bool = False) -> dict[str, Any]:
    from reasoning.outbreak import rank_sources
    from reasoning.trace import TraceOptions

    from ..trace_params import kill_ids, parse_windows
    from .tracing import tracer_for

    try:
        windows = parse_windows([w for w in window if w.strip()])
    except InvalidRecord as e:
        raise _invalid(f"{where}.window", str(e)) from None

    audit_entities(request, *kill)  # the cases' identifiers were named when they were read
    kill = [k.strip() for k in kill]
    if any(not k or len(k) > MAX_ID for k in kill):
        raise _invalid(f"{where}.kill", "a kill step identifier is empty or too long")
    try:
        kill_ids(view, kill)
    except NotFound as e:
        raise _invalid(f"{where}.kill", str(e).removeprefix("--kill ")) from None
    audit_entities(request, *(c.id for c in cases if c.id != c.input))
    try:
        result = rank_sources(view, cases, kill=kill, hazard=hazard, priors=priors, tracer=tracer_for(request, view),
                              options=TraceOptions(windows=windows, infer=not explicit_only))
    except InvalidRecord as e:
        raise _invalid(f"{where}.cases", str(e)) from None
    data = result.to_dict()
    if top:
        data["stations"], data["lots"] = data["stations"][:top], data["lots"][:top]
    return data


def _bad_rows(e: Any, location: Any) -> RequestValidationError:
    return RequestValidationError([{"loc": location(r), "msg": f"{r['value']!r}: {r['reason']}", "type": "value_error",
                                    "row": r["row"], "field": r["field"], "value": r["value"]} for r in e.rows])


_OUTBREAK_DOC = ("Ranks stations and lots by the share of case weight they explain (1 = a common link; one upstream "
                 "trace per case), as `foodtrace outbreak CASES.csv --format json`. Any bad case (unknown id, bad weight or "
                 "date) is a 422 problem whose `errors` name each bad row, field and reason: no ranking is computed "
                 "on part of the cases.")


@router.post("/outbreak", summary="疫情溯源排名 / outbreak source ranking (JSON cases)",
             description=_OUTBREAK_DOC, responses=_problem_responses(401, 403, 422),
             openapi_extra={"x-permission": "outbreak"})
def outbreak(request: Request, *, body: OutbreakIn, view: ViewDep,
             key: ApiKey = Depends(require("outbreak"))) -> dict[str, Any]:
    from ontology.errors import CaseRowsError

    from ..outbreak import resolve_rows

    rows = _case_rows(body)
    audit_entities(request, *(r.id for r in rows))
    try:
        cases = resolve_rows(rows, view, "cases")
    except CaseRowsError as e:
        raise _bad_rows(e, lambda r: ("body", "cases", r["row"], "id")) from None
    return rank(request, view, cases, hazard=body.hazard, kill=body.kill, priors=body.priors, top=body.top,
                where="body", window=body.window, explicit_only=body.explicit_only)


@router.post("/outbreak/upload", summary="疫情溯源排名 / outbreak source ranking (CASES.csv or Excel upload)",
             description=_OUTBREAK_DOC + " The file has the columns 编号/id (a station or lot), 权重/weight "
             "(default 1, negative for a confirmed non-case) and 日期/date (optional); CSV in UTF-8 or GBK, or "
             "an Excel workbook.", responses=_problem_responses(401, 403, 413, 422),
             openapi_extra={"x-permission": "outbreak"})
def outbreak_upload(*, request: Request,
                    file: UploadFile = File(..., description="CASES.csv (or .xlsx)"),
                    hazard: Hazard = Form("unknown", description="Kind of hazard"),
                    kill: list[str] = Form([], description="Kill steps (stations or lots; repeatable)"),
                    priors: bool = Form(False, description="Order ties by product-risk priors"),
                    window: list[str] = Form([], description="Holding windows CATEGORY=DAYS (repeatable)"),
                    explicit_only: bool = Form(False, description="Follow recorded links only"),
                    top: int | None = Form(None, ge=0, le=1_000_000, description="Only the N best (0: all)"),
                    view: ViewDep,
                    key: ApiKey = Depends(require("outbreak"))) -> dict[str, Any]:
    from ontology.errors import UnreadableFile

    from ontology.errors import CaseRowsError

    from ..outbreak import read_case_rows, resolve_rows

    data = file.file.read(_MAX_UPLOAD + 1)
    if len(data) > _MAX_UPLOAD:
        raise HTTPException(413, f"the cases file is larger than {_MAX_UPLOAD // (1024 * 1024)} MB")
    shown = Path(file.filename or "cases.csv").name[:100] or "cases.csv"
    suffix = Path(shown).suffix.lower()
    suffix = suffix if suffix in (".csv", ".txt", ".xlsx", ".xlsm", ".xls") else ".csv"
    with tempfile.TemporaryDirectory(prefix="foodtrace-cases-") as tmp:
        path = Path(tmp) / ("cases" + suffix)
        path.write_bytes(data)
        try:
            rows = read_case_rows(path, name=shown)
            for r in rows:
                if r.date:
                    _case_date(r.date)
        except CaseRowsError as e:
            raise _bad_rows(e, lambda r: ("file", f"row {r['row']}", r["field"])) from None
        except (InvalidRecord, UnreadableFile) as e:
            raise _invalid("body.file", str(e).replace(str(path), shown)) from None
        except Exception as e:  # a file the table readers choke on is the caller's problem, not a server error
            raise _invalid("body.file", f"{shown}: not a readable table ({type(e).__name__})") from None
    audit_entities(request, *(r.id for r in rows))
    try:
        cases = resolve_rows(rows, view, shown)
    except CaseRowsError as e:
        raise _bad_rows(e, lambda r: ("file", f"row {r['row']}", r["field"])) from None
    return rank(request, view, cases, hazard=hazard, kill=kill, priors=priors, top=top, where="body",
                window=window, explicit_only=explicit_only)


# -- operator profiles -----------------------------------------------------------------------------------


def _profile(request: Request, view: ReadView, ident: str, limit: int, key: ApiKey) -> dict[str, Any]:
    from reasoning.profile import operator_profile

    oid = audited_require(request, view, ident)
    check_district(key, view, "operator", oid)
    return operator_profile(view, oid, limit=limit)


_PROFILE_DOC = ("Everything the store holds about one operator: registration and licence (licence number and date, "
                "kind, scale, main category, HACCP), inspections, samples taken from it or naming it as producer "
                "(with test results), cases, complaints, credit records, the grade in effect (an override in force "
                "wins, unpublished grades included), delivery counts. Lists newest first, cut to `limit`; `counts` "
                "count everything. Staff only: carries contacts and unpublished grades. A district officer gets the "
                "operators of their own district only (403 for another's).")
_LIMIT = Query(20, ge=0, le=1000, description="Items per list (newest first)")


@router.get("/operators/profile", summary="主体精准画像 / an operator's profile (?id=)", description=_PROFILE_DOC,
            responses=_problem_responses(401, 403, 404, 422), openapi_extra={"x-permission": "profile"})
def operator_profile_by_query(*, request: Request,
                              id: str = Query(..., min_length=1, max_length=MAX_ID,
                                              description="The operator in any identifier form (id, USCC, GLN)"),
                              limit: int = _LIMIT, view: ViewDep,
                              key: ApiKey = Depends(require("profile"))) -> dict[str, Any]:
    return _profile(request, view, id, limit, key)


@router.get("/operators/{operator_id:path}/profile", summary="主体精准画像 / an operator's profile",
            description=_PROFILE_DOC, responses=_problem_responses(401, 403, 404, 422),
            openapi_extra={"x-permission": "profile"})
def operator_profile(request: Request, *, operator_id: str, limit: int = _LIMIT, view: ViewDep,
                     key: ApiKey = Depends(require("profile"))) -> dict[str, Any]:
    return _profile(request, view, operator_id, limit, key)

