"""Data capture: the EPCIS 2.0 capture interface (REST binding) and template uploads.

EPCIS capture follows the GS1 EPCIS 2.0 REST binding (``openapi.yaml`` of the
standard, paths ``/capture``, ``/capture/{captureID}`` and ``/events``):

* ``POST /capture`` takes an ``EPCISDocument`` or ``EPCISQueryDocument`` as
  JSON / JSON-LD (``application/json``, ``application/ld+json``) or XML
  (``application/xml``). A payload that is syntactically correct, within the
  limits and from a caller holding the ``capture`` permission gets ``202
  Accepted`` with ``Location: /capture/{captureID}``; the document is then read
  by the same loader as ``foodtrace load`` (:func:`loaders.load.load_document`)
  on a background thread.
* ``GS1-Capture-Error-Behaviour: rollback`` (the default) stores the job whole
  or not at all: every event is checked first and one rejected event fails the
  job with nothing written. ``proceed`` writes the good events and lists the
  bad ones (``success`` false). ``GS1-EPCIS-Version`` / ``GS1-CBV-Version``
  other than 2.0 are refused with 406 (``NotAcceptableException``).
* ``GET /capture/{captureID}`` is the job as the binding's ``CaptureJob``
  schema names it (``captureID``, ``createdAt``, ``finishedAt``, ``running``,
  ``success``, ``captureErrorBehaviour``, ``errors``): each error a problem
  object saying where (``event``, ``field``, ``value``) and why (``detail``).
  ``GET /capture`` lists jobs, newest first, paged with ``perPage`` and
  ``nextPageToken`` (``Link: <...>; rel="next"``).
* ``OPTIONS /capture`` advertises ``GS1-EPCIS-Capture-Limit`` (events per
  request) and ``GS1-EPCIS-Capture-File-Size-Limit`` (bytes); a larger request
  is 413 (``CaptureLimitExceededException``).
* ``POST /events`` captures one event synchronously: 201 with
  ``Location: /events/{eventID}``, 400 with the reasons, 409 when the event is
  already stored. ``GET /events/{eventID}`` returns a stored event.

Re-sending a document changes nothing: records merge by id and events by their
content hash, and the records' source is named by the document's digest.

``POST /uploads`` takes CSV / Excel templates, sampling announcements or EPCIS
files as multipart uploads and loads them exactly as ``foodtrace load`` does
(good rows load, bad rows are listed with file, row, field, value and reason);
``?format=csv`` returns the rejects CSV with the command line's Chinese headers.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
import logging
import re
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import anyio
import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from graph.store import WriteContext
from loaders.base import REJECT_HEADERS, Reject
from loaders.epcis_xml import EVENT_TYPES, parse_xml
from ontology.errors import FoodtraceError, UnreadableFile
from ontology.identifiers import local_id

from .problems import PROBLEM_JSON, PROBLEM_SCHEMA, problem
from .security import actor_of, audit_entities, require
from .servicedb import ApiKey, CaptureJob, ServiceDB

__all__ = ["router", "EPCIS_VERSION", "CBV_VERSION", "load_uploads", "safe_name"]

log = logging.getLogger("foodtrace.service")

router = APIRouter(tags=["capture"])

#: the EPCIS and CBV versions this capture interface reads
EPCIS_VERSION = "2.0.0"
CBV_VERSION = "2.0.0"
_VERSION_HEADERS = {"GS1-EPCIS-Version": EPCIS_VERSION, "GS1-CBV-Version": CBV_VERSION}

_JSON_TYPES = ("application/json", "application/ld+json")
_XML_TYPES = ("application/xml", "text/xml")

_VALIDATION = "epcisException:ValidationException"
_VERSION_RE = re.compile(r"\d+(\.\d+)*")


def _problem_response(schema_type: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {
        "allOf": [PROBLEM_SCHEMA, {"properties": {"type": {"type": "string", "example": schema_type}}}]}}}}


_R400 = _problem_response(_VALIDATION, "The request is not a readable EPCIS document, or a header is invalid")
_R404 = _problem_response("epcisException:NoSuchNameException", "No such capture job or event")
_R406 = _problem_response("epcisException:NotAcceptableException",
                          "GS1-EPCIS-Version or GS1-CBV-Version names a version this server does not read (2.0 only)")
_R413 = _problem_response("epcisException:CaptureLimitExceededException",
                          "More events than GS1-EPCIS-Capture-Limit or a body larger than "
                          "GS1-EPCIS-Capture-File-Size-Limit")
_R415 = _problem_response("epcisException:UnsupportedMediaTypeException", "A content type this endpoint does not read")

_CONTEXT_SCHEMA = {"description": "JSON-LD @context: the EPCIS 2.0 context URL (recognised, never fetched) and any "
                                  "extra namespace prefixes", "anyOf": [
                       {"type": "string"}, {"type": "object"},
                       {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}}]}
_DOCUMENT_SCHEMA = {
    "type": "object", "required": ["@context", "type", "epcisBody"],
    "description": "An EPCIS 2.0 EPCISDocument (events in epcisBody.eventList) or EPCISQueryDocument "
                   "(epcisBody.queryResults.resultsBody.eventList), JSON / JSON-LD binding",
    "properties": {"@context": _CONTEXT_SCHEMA, "type": {"type": "string", "enum": ["EPCISDocument", "EPCISQueryDocument"]},
                   "schemaVersion": {"type": "string"}, "creationDate": {"type": "string"},
                   "epcisHeader": {"type": "object"},
                   "epcisBody": {"type": "object", "properties": {
                       "eventList": {"type": "array", "items": {"type": "object"}},
                       "queryResults": {"type": "object"}}}}}
_EVENT_SCHEMA = {
    "type": "object", "required": ["@context", "type", "eventTime", "eventTimeZoneOffset"],
    "description": "One EPCIS 2.0 event with its @context",
    "properties": {"@context": _CONTEXT_SCHEMA, "type": {"type": "string", "enum": list(EVENT_TYPES)},
                   "eventID": {"type": "string"}, "eventTime": {"type": "string", "format": "date-time"},
                   "eventTimeZoneOffset": {"type": "string"}, "action": {"type": "string"},
                   "bizStep": {"type": "string"}, "disposition": {"type": "string"}}}
_EXAMPLE_EVENT = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    "type": "ObjectEvent", "eventID": "urn:uuid:6a1f7c2e-3b7d-4f0e-9a51-2c8d0e4b7a10",
    "eventTime": "2026-11-01T06:30:00+08:00", "eventTimeZoneOffset": "+08:00", "action": "OBSERVE",
    "bizStep": "shipping", "disposition": "in_transit",
    "quantityList": [{"epcClass": "https://id.gs1.org/01/06901234567892/10/P20261101", "quantity": 120, "uom": "KGM"}],
    "sourceList": [{"type": "location", "source": "https://id.gs1.org/414/6901234000016"}],
    "destinationList": [{"type": "location", "destination": "https://id.gs1.org/414/6901234000023"}]}
_EXAMPLE_DOCUMENT = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
    "schemaVersion": "2.0", "creationDate": "2026-11-01T07:00:00+08:00",
    "epcisBody": {"eventList": [{k: v for k, v in _EXAMPLE_EVENT.items() if k != "@context"}]}}
_EPCIS_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": _DOCUMENT_SCHEMA, "example": _EXAMPLE_DOCUMENT},
    "application/ld+json": {"schema": _DOCUMENT_SCHEMA, "example": _EXAMPLE_DOCUMENT},
    "application/xml": {"schema": {"type": "string", "description": "An EPCIS 2.0 XML document"}},
}}}
_EVENT_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": _EVENT_SCHEMA, "example": _EXAMPLE_EVENT},
    "application/ld+json": {"schema": _EVENT_SCHEMA, "example": _EXAMPLE_EVENT},
    "application/xml": {"schema": {"type": "string", "description": "One EPCIS 2.0 XML event"}},
}}}
_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"},
                             "description": "One or more files: CSV / Excel templates (.csv .xlsx .xls), sampling "
                                            "announcements, EPCIS documents (.json .jsonld .xml); the original "
                                            "file names are kept (the loader recognises files by name and content)"}},
}}}}}


# -- response models ------------------------------------------------------------------------------

class CaptureError(BaseModel):
    """One reason a capture job (or part of it) was refused: an RFC 9457 problem saying where and why."""

    type: str = Field(description="epcisException:ValidationException for a refused event or document")
    title: str
    status: int
    detail: str = Field(description="why")
    event: str | None = Field(None, description="where: `event N` (1-based, in document order) or `document`")
    field: str | None = Field(None, description="where in the event: a JSON path such as `eventList[2].bizStep`")
    value: str | None = Field(None, description="the value refused")


class CaptureJobModel(BaseModel):
    """A capture job, as the EPCIS 2.0 REST binding's ``CaptureJob`` schema names it (with extensions)."""

    captureID: str = Field(description="A unique value identifying a capture job generated by the server")
    createdAt: str = Field(description="When the capture job started")
    finishedAt: str | None = Field(None, description="When the capture job finished executing")
    running: bool = Field(description="true while the job is still active")
    success: bool = Field(description="false when at least one error occurred; with `rollback` nothing was stored")
    captureErrorBehaviour: Literal["rollback", "proceed"]
    errors: list[CaptureError] = Field(description="Every error; empty when the job succeeded (or is running)")
    eventCount: int | None = Field(None, description="Events in the document")
    eventsCaptured: int | None = Field(None, description="Events stored (0 when a rollback job failed)")
    recordsReceived: int | None = Field(None, description="Records the events gave")
    recordsChanged: int | None = Field(None, description="Records new or changed in the store (0 when re-sent)")


class UploadReject(BaseModel):
    file: str
    row: str = Field(description="the spreadsheet row (the header is row 1), `header`, or `event N` of EPCIS")
    field: str = Field(description="the column as headed in the file (or the EPCIS field)")
    value: str
    reason: str


class UploadNote(BaseModel):
    sheet: str = Field(description="the sheet of a workbook (empty for a CSV)")
    row: str = Field(description="the spreadsheet row skipped, or `sheet` for a whole sheet")
    kind: str = Field(description="total, note, footer, repeated_header, blank, group, instructions or no_header")
    label: str = Field(description="what kind of row it is, Chinese/English")
    value: str = Field(description="what the row holds (its filled cells joined by ` | `)")


class UploadFileResult(BaseModel):
    file: str = Field(description="the file name as uploaded")
    kind: str = Field(description="loader: epcis, template or samr")
    template: str | None = Field(None, description="the template recognised (operators, deliveries, ...)")
    status: Literal["ok", "rejects", "unreadable"] = Field(
        description="ok: everything loaded; rejects: some rows refused (the others loaded); unreadable: nothing loaded")
    received: int = Field(description="records read from the good rows")
    changed: int = Field(description="records new or changed in the store (0 when the same file comes again)")
    rejected: int = Field(description="rows / records refused")
    error: str | None = Field(None, description="why the file could not be read at all")
    rejects: list[UploadReject]
    notes: list[UploadNote] = Field(default_factory=list, description=(
        "rows and sheets skipped as no records (合计 and 注 rows, footers, 说明 sheets): neither stored nor rejected"))


class UploadResult(BaseModel):
    files: list[UploadFileResult]
    received: int
    changed: int
    rejected: int


# -- helpers --------------------------------------------------------------------------------------

class _TooLarge(Exception):
    pass


def _settings(request: Request) -> Any:
    return request.app.state.settings


def _limit_headers(request: Request) -> dict[str, str]:
    s = _settings(request)
    return {"GS1-EPCIS-Capture-Limit": str(s.capture_limit),
            "GS1-EPCIS-Capture-File-Size-Limit": str(s.capture_file_size_limit)}


def _epcis_problem(request: Request, status: int, type_: str, title: str, detail: str,
                   headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return problem(status, detail, title=title, type_=type_, instance=request.url.path,
                   headers={**_VERSION_HEADERS, **(headers or {})}, **extra)


def _too_large(request: Request, detail: str) -> JSONResponse:
    return _epcis_problem(request, 413, "epcisException:CaptureLimitExceededException", "Capture Payload too large",
                          detail, headers=_limit_headers(request))


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, or _TooLarge as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge(f"the body has {int(declared):,} bytes; GS1-EPCIS-Capture-File-Size-Limit is {limit:,}")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise _TooLarge(f"the body exceeds GS1-EPCIS-Capture-File-Size-Limit ({limit:,} bytes)")
    return bytes(buf)


def _unsupported_media(request: Request, media: str | None) -> JSONResponse:
    return _epcis_problem(request, 415, "epcisException:UnsupportedMediaTypeException", "Unsupported Media Type",
                          f"content type {media or '(none)'!r} is not read here; send application/json, "
                          "application/ld+json or application/xml")


def _check_versions(request: Request, epcis_version: str | None, cbv_version: str | None) -> JSONResponse | None:
    """406 for a version other than 2.0.x, 400 for one that is not a version; None when acceptable."""
    for name, value in (("GS1-EPCIS-Version", epcis_version), ("GS1-CBV-Version", cbv_version)):
        if value is None:
            continue
        v = value.strip()
        if not _VERSION_RE.fullmatch(v):
            return _epcis_problem(request, 400, _VALIDATION, "Invalid header",
                                  f"{name} must be a version such as 2.0.0, got {value[:50]!r}")
        parts = [int(p) for p in v.split(".")[:2]] + [0]
        if parts[0] != 2 or parts[1] != 0:
            return _epcis_problem(request, 406, "epcisException:NotAcceptableException", "Unsupported version",
                                  f"{name} {v} is not supported; this server reads EPCIS 2.0 and CBV 2.0 "
                                  f"(GS1-EPCIS-Min = GS1-EPCIS-Max = {EPCIS_VERSION})")
    return None


def _behaviour(request: Request, value: str | None) -> str | JSONResponse:
    if value is None or not value.strip():
        return "rollback"
    v = value.strip().lower()
    if v in ("rollback", "proceed"):
        return v
    why = ("`all` is what a server announces (it supports both); a client asks for rollback or proceed"
           if v == "all" else f"unknown value {value[:50]!r}; use rollback (all or nothing) or proceed")
    return _epcis_problem(request, 400, _VALIDATION, "Invalid header", f"GS1-Capture-Error-Behaviour: {why}")


def _parse(data: bytes, media: str) -> tuple[dict[str, Any] | bytes, dict[str, Any]]:
    """(what the loader reads, the document as a dict) — or UnreadableFile.

    JSON is handed to the loader parsed; XML as bytes (the loader validates it
    against the XSD from the bytes).
    """
    if media in _XML_TYPES:
        doc, _ = parse_xml(data, "request body")
        return data, doc
    try:
        doc = orjson.loads(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)  # a BOM some editors write
    except orjson.JSONDecodeError as e:
        raise UnreadableFile("request body", f"not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise UnreadableFile("request body", "not an EPCIS document: a JSON object is expected")
    return doc, doc


def _event_list(doc: dict[str, Any]) -> list[Any] | None:
    """The events of an EPCISDocument / EPCISQueryDocument (None when it is neither)."""
    body = doc.get("epcisBody")
    body = body if isinstance(body, dict) else {}
    if doc.get("type") == "EPCISDocument":
        lst = body.get("eventList")
    elif doc.get("type") == "EPCISQueryDocument":
        qr = body.get("queryResults")
        rb = qr.get("resultsBody") if isinstance(qr, dict) else None
        lst = rb.get("eventList") if isinstance(rb, dict) else None
    else:
        return None
    return lst if isinstance(lst, list) else []


def _error(r: Reject) -> dict[str, Any]:
    value = "" if r.value is None else str(r.value)[:500]
    return {"type": _VALIDATION, "title": "事件被拒收 / event rejected", "status": 400, "detail": r.reason,
            "event": str(r.row), "field": r.field or None, "value": value or None}


def _job_model(job: CaptureJob) -> dict[str, Any]:
    running = job.running
    counts = job.counts or {}
    out: dict[str, Any] = {
        "captureID": job.id, "createdAt": job.created, "running": running,
        "success": not job.errors and job.status != "failed",
        "captureErrorBehaviour": job.behaviour if job.behaviour in ("rollback", "proceed") else "rollback",
        "errors": job.errors,
    }
    if job.finished:
        out["finishedAt"] = job.finished
    for key in ("eventCount", "eventsCaptured", "recordsReceived", "recordsChanged"):
        if key in counts:
            out[key] = counts[key]
    return out


# -- the background capture ---------------------------------------------------------------------

_executor_lock = threading.Lock()


def _executor(app: Any) -> ThreadPoolExecutor:
    """One capture thread per process: jobs run one after another, in the order accepted."""
    ex = getattr(app.state, "capture_executor", None)
    if ex is None:
        with _executor_lock:
            ex = getattr(app.state, "capture_executor", None)
            if ex is None:
                ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="foodtrace-capture")
                app.state.capture_executor = ex
    return ex


def _run_job(app: Any, job_id: str, payload: dict[str, Any] | bytes, source: str, rollback: bool,
             event_count: int, actor: str | None = None) -> None:
    """Read, check and (all or nothing, or the good events with ``proceed``) write one captured document."""
    from loaders.load import load_document

    db: ServiceDB = app.state.service_db
    try:
        db.update_job(job_id, status="running")
        outcome = load_document(app.state.store, payload, source, rollback=rollback,
                                options=app.state.settings.read_options(),
                                context=WriteContext(kind="capture", actor=actor, source=f"POST /capture job {job_id}"))
        if outcome.error:
            errors = [{"type": _VALIDATION, "title": "文档无法读取 / unreadable document", "status": 400,
                       "detail": outcome.error, "event": "document"}]
        else:
            errors = [_error(r) for r in outcome.rejects]
        written = not outcome.error and (not errors or not rollback)
        counts = {"eventCount": event_count, "eventsCaptured": len(outcome.events) if written else 0,
                  "recordsReceived": outcome.stats.total_received, "recordsChanged": outcome.stats.total_changed}
        db.update_job(job_id, status="failed" if errors else "succeeded", errors=errors, counts=counts)
    except Exception as e:  # the job must end, whatever happened
        log.exception("capture job %s failed", job_id)
        try:
            db.update_job(job_id, status="failed", errors=[{
                "type": "epcisException:ImplementationException", "title": "服务器错误 / server error",
                "status": 500, "detail": f"the job could not be completed ({type(e).__name__}); nothing was stored",
                "event": "document"}], counts={"eventCount": event_count, "eventsCaptured": 0})
        except Exception:
            log.exception("could not record the failure of capture job %s", job_id)


# -- routes: EPCIS capture ----------------------------------------------------------------------

_VERSION_HEADER_DOC = "EPCIS version of the document (2.0 only; another version is 406)"


@router.post("/capture", status_code=202, openapi_extra=_EPCIS_BODY,
             summary="EPCIS 采集 / capture an EPCIS 2.0 document (asynchronous, all or nothing by default)",
             response_model=CaptureJobModel, response_model_exclude_none=True,
             responses={202: {"description": "Accepted: the job is at `Location: /capture/{captureID}`",
                              "headers": {"Location": {"description": "the capture job",
                                                       "schema": {"type": "string"}}},
                              "links": {"captureJob": {"operationId": "getCaptureJob", "parameters": {
                                  "captureID": "$response.body#/captureID"}}}},
                        400: _R400, 406: _R406, 413: _R413, 415: _R415})
async def capture(request: Request,
                  epcis_version: str | None = Header(None, alias="GS1-EPCIS-Version", description=_VERSION_HEADER_DOC),
                  cbv_version: str | None = Header(None, alias="GS1-CBV-Version",
                                                   description="CBV version (2.0 only; another version is 406)"),
                  error_behaviour: str | None = Header(
                      None, alias="GS1-Capture-Error-Behaviour",
                      description="rollback (default): all events or none; proceed: the good events are stored "
                                  "and the bad ones listed"),
                  key: ApiKey = Depends(require("capture"))) -> Any:
    """Capture an ``EPCISDocument`` or ``EPCISQueryDocument``; poll ``Location`` for the outcome."""
    bad = _check_versions(request, epcis_version, cbv_version)
    if bad is not None:
        return bad
    behaviour = _behaviour(request, error_behaviour)
    if isinstance(behaviour, JSONResponse):
        return behaviour
    media = _media_type(request)
    if media not in _JSON_TYPES + _XML_TYPES:
        return _unsupported_media(request, media)
    settings = _settings(request)
    try:
        data = await _read_body(request, settings.capture_file_size_limit)
    except _TooLarge as e:
        return _too_large(request, str(e))
    try:
        payload, doc = await anyio.to_thread.run_sync(_parse, data, media)
    except UnreadableFile as e:
        return _epcis_problem(request, 400, _VALIDATION, "Invalid document", str(e))
    events = _event_list(doc)
    if events is None:
        return _epcis_problem(request, 400, _VALIDATION, "Invalid document",
                              f"POST /capture takes an EPCISDocument or EPCISQueryDocument, got type "
                              f"{str(doc.get('type'))[:50]!r} (a single event goes to POST /events)")
    if len(events) > settings.capture_limit:
        return _too_large(request, f"the document has {len(events):,} events; GS1-EPCIS-Capture-Limit is "
                                   f"{settings.capture_limit:,}")
    digest = hashlib.sha256(data).hexdigest()
    source = f"capture:{digest[:16]}"
    db: ServiceDB = request.app.state.service_db
    job = await anyio.to_thread.run_sync(lambda: db.new_job(kind="epcis", source=source, key_id=key.id,
                                                            behaviour=behaviour))
    audit_entities(request, job.id)
    _executor(request.app).submit(_run_job, request.app, job.id, payload, source, behaviour == "rollback",
                                  len(events), actor_of(key))
    body = _job_model(job)
    body["eventCount"] = len(events)
    return JSONResponse(body, status_code=202,
                        headers={"Location": f"/capture/{job.id}", **_VERSION_HEADERS})


@router.options("/capture", status_code=204, response_class=Response,
                summary="采集接口能力 / discover the capture interface's versions, limits and error behaviours",
                responses={204: {"description": "No content; the capabilities are in the headers", "headers": {
                    h: {"schema": {"type": "string"}} for h in (
                        "Allow", "GS1-EPCIS-Version", "GS1-EPCIS-Min", "GS1-EPCIS-Max", "GS1-CBV-Version",
                        "GS1-CBV-Min", "GS1-CBV-Max", "GS1-EPC-Format", "GS1-EPCIS-Capture-Limit",
                        "GS1-EPCIS-Capture-File-Size-Limit", "GS1-Capture-Error-Behaviour")}}})
def capture_options(request: Request, _key: ApiKey = Depends(require("capture"))) -> Response:
    return Response(status_code=204, headers={
        "Allow": "OPTIONS, POST, GET", **_VERSION_HEADERS,
        "GS1-EPCIS-Min": EPCIS_VERSION, "GS1-EPCIS-Max": EPCIS_VERSION,
        "GS1-CBV-Min": CBV_VERSION, "GS1-CBV-Max": CBV_VERSION,
        "GS1-EPC-Format": "No_Preference", "GS1-Capture-Error-Behaviour": "all", **_limit_headers(request)})


def _page_token(job: CaptureJob) -> str:
    return base64.urlsafe_b64encode(f"{job.created}|{job.id}".encode()).decode().rstrip("=")


def _read_token(token: str) -> tuple[str, str] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    created, sep, job_id = raw.partition("|")
    return (created, job_id) if sep and created and job_id else None


@router.get("/capture", summary="采集任务列表 / capture jobs, newest first (paged)",
            response_model=list[CaptureJobModel], response_model_exclude_none=True,
            responses={200: {"headers": {"Link": {"description": "`<...>; rel=\"next\"` while more pages follow",
                                                  "schema": {"type": "string"}}}}, 400: _R400})
def capture_jobs(request: Request,
                 per_page: int = Query(30, alias="perPage", ge=1, le=1000, description="jobs per page"),
                 next_page_token: str | None = Query(None, alias="nextPageToken", max_length=500,
                                                     description="the token of the next page (from the Link header)"),
                 _key: ApiKey = Depends(require("capture"))) -> Any:
    after = None
    if next_page_token:
        after = _read_token(next_page_token)
        if after is None:
            return _epcis_problem(request, 400, _VALIDATION, "Invalid nextPageToken",
                                  "nextPageToken is not one this server gave out")
    db: ServiceDB = request.app.state.service_db
    jobs = db.jobs(limit=per_page + 1, after=after)
    page, more = jobs[:per_page], len(jobs) > per_page
    audit_entities(request, *(j.id for j in page))
    headers = dict(_VERSION_HEADERS)
    if more:
        headers["Link"] = f'</capture?perPage={per_page}&nextPageToken={_page_token(page[-1])}>; rel="next"'
    body = [CaptureJobModel(**_job_model(j)).model_dump(exclude_none=True) for j in page]
    return JSONResponse(body, headers=headers)


@router.get("/capture/{captureID}", operation_id="getCaptureJob", summary="采集任务状态 / a capture job: running, success, every error",
            response_model=CaptureJobModel, response_model_exclude_none=True, responses={404: _R404})
def capture_job(request: Request, captureID: str, _key: ApiKey = Depends(require("capture"))) -> Any:  # noqa: N803
    audit_entities(request, captureID)
    db: ServiceDB = request.app.state.service_db
    job = db.job(captureID)
    if job is None:
        return _epcis_problem(request, 404, "epcisException:NoSuchNameException", "Resource not found",
                              f"no capture job has the id {captureID[:100]!r}")
    body = CaptureJobModel(**_job_model(job)).model_dump(exclude_none=True)
    return JSONResponse(body, headers=_VERSION_HEADERS)


# -- routes: one event ------------------------------------------------------------------------------

@router.post("/events", status_code=201, openapi_extra=_EVENT_BODY,
             summary="单个事件采集 / capture one EPCIS event (synchronous)",
             responses={201: {"description": "Captured: the event (with its eventID) at `Location`",
                              "content": {"application/json": {"schema": {"type": "object"}}},
                              "headers": {"Location": {"schema": {"type": "string"}}},
                              "links": {"event": {"operationId": "getEvent", "parameters": {
                                  "eventID": "$response.body#/eventID"}}}},
                        400: _R400, 406: _R406,
                        409: _problem_response("epcisException:ResourceAlreadyExistsException",
                                               "The event is already stored (same eventID or same content)"),
                        413: _R413, 415: _R415})
async def capture_event(request: Request,
                        epcis_version: str | None = Header(None, alias="GS1-EPCIS-Version",
                                                           description=_VERSION_HEADER_DOC),
                        cbv_version: str | None = Header(None, alias="GS1-CBV-Version",
                                                         description="CBV version (2.0 only; another version is 406)"),
                        _key: ApiKey = Depends(require("capture"))) -> Any:
    """Capture one event: stored at once when valid, refused whole (400, with every reason) when not."""
    from loaders.load import load_document

    bad = _check_versions(request, epcis_version, cbv_version)
    if bad is not None:
        return bad
    media = _media_type(request)
    if media not in _JSON_TYPES + _XML_TYPES:
        return _unsupported_media(request, media)
    try:
        data = await _read_body(request, _settings(request).capture_file_size_limit)
    except _TooLarge as e:
        return _too_large(request, str(e))
    try:
        payload, doc = await anyio.to_thread.run_sync(_parse, data, media)
    except UnreadableFile as e:
        return _epcis_problem(request, 400, _VALIDATION, "Invalid event", str(e))
    if doc.get("type") not in EVENT_TYPES:
        return _epcis_problem(request, 400, _VALIDATION, "Invalid event",
                              f"POST /events takes one event ({', '.join(EVENT_TYPES)}), got type "
                              f"{str(doc.get('type'))[:50]!r} (documents go to POST /capture)")
    store = request.app.state.store
    source = f"capture:{hashlib.sha256(data).hexdigest()[:16]}"
    options = _settings(request).read_options()

    def work() -> JSONResponse:
        checked = load_document(store, payload, source, dry_run=True, options=options)
        if checked.error or checked.rejects or not checked.events:
            errors = [_error(r) for r in checked.rejects]
            detail = checked.error or "; ".join(f"{e['field'] or e['event']}: {e['detail']}" for e in errors) \
                or "the event gave nothing to store"
            return _epcis_problem(request, 400, _VALIDATION, "Invalid event", detail, errors=errors)
        (event,) = checked.events[:1]
        audit_entities(request, event.id)
        if isinstance(doc.get("errorDeclaration"), dict):  # the declaration of an event stored before: new if
            rid = local_id("retraction", event.id)         # the retraction is
            known = store.get_many("retraction", [rid])
            same: list[Any] = [event] if known else []
        else:
            known = store.get_many("event", [event.id])
            same = list(known.values()) or list(store.scan("event", {"hash": event.hash}))
        if same:
            stored = same[0]
            return _epcis_problem(request, 409, "epcisException:ResourceAlreadyExistsException",
                                  "A resource with the provided identifier already exists.",
                                  f"the event is already stored as {stored.id}",
                                  headers={"Location": f"/events/{quote(stored.id, safe='')}"})
        load_document(store, payload, source, options=options,
                      context=WriteContext(kind="capture", actor=actor_of(_key), source=f"POST /events {event.id}"))
        body = orjson.loads(event.body) if event.body else {}
        if isinstance(body, dict):
            body.setdefault("eventID", event.id)
        return JSONResponse(body, status_code=201,
                            headers={"Location": f"/events/{quote(event.id, safe='')}", **_VERSION_HEADERS})

    return await anyio.to_thread.run_sync(work)


@router.get("/events/{eventID:path}", operation_id="getEvent", summary="EPCIS 事件 / one stored EPCIS event as captured",
            responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}, 404: _R404})
def get_event(request: Request, eventID: str, _key: ApiKey = Depends(require("capture"))) -> Any:  # noqa: N803
    audit_entities(request, eventID)
    ev = request.app.state.store.get_many("event", [eventID]).get(eventID)
    if ev is None:
        return _epcis_problem(request, 404, "epcisException:NoSuchResourceException", "Resource not found",
                              f"no event has the id {eventID[:200]!r}")
    try:
        body = orjson.loads(ev.body) if ev.body else {}
    except orjson.JSONDecodeError:
        body = {}
    if isinstance(body, dict):
        body.setdefault("eventID", ev.id)
    return JSONResponse(body, headers=_VERSION_HEADERS)


# -- routes: template uploads ---------------------------------------------------------------------

_UNSAFE = re.compile(r"[\x00-\x1f/\\:*?\"<>|]")


def safe_name(name: str | None, n: int) -> str:
    """A file name to save an upload under: the original's last part, without path or control characters.

    >>> safe_name("../../etc/经营主体.csv", 1), safe_name("C:\\\\tmp\\\\a.xlsx", 2), safe_name("..", 3)
    ('经营主体.csv', 'a.xlsx', 'upload-3')
    """
    base = re.split(r"[/\\]", name or "")[-1]
    base = _UNSAFE.sub("_", base).strip().lstrip(".")
    while len(base.encode("utf-8", "surrogatepass")) > 200:
        base = base[1:]
    try:
        base.encode("utf-8")
    except UnicodeEncodeError:
        base = ""
    return base or f"upload-{n}"


def _rejects_csv(rejects: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    buf.write("\ufeff" + ",".join(REJECT_HEADERS.values()) + "\r\n")
    w = csv.DictWriter(buf, fieldnames=list(REJECT_HEADERS), extrasaction="ignore")
    for r in rejects:
        w.writerow(r)
    return buf.getvalue().encode("utf-8")


def load_uploads(store: Any, saved: list[tuple[Path, str]], kind: str,
                 options: Any = None, actor: str | None = None) -> list[dict[str, Any]]:
    """Load the saved files as ``foodtrace load`` does (its order, one atomic batch per file): per file its outcome,
    every rejected row, every warning (rows stored with something missing) and every note (rows and sheets skipped as
    no records), each naming the file as sent; ``actor`` is who loads them (written with each batch)."""
    from loaders.load import load_files, plan_order

    original = {p: name for p, name in saved}
    out = []
    for path, k, _t in plan_order([p for p, _ in saved], kind):
        name = original[path]
        try:
            (o,) = load_files(store, [path], k, options=options,
                              context=WriteContext(kind="upload", actor=actor, source=f"POST /uploads {name}"))
        except (FoodtraceError, KeyError, ValueError) as e:  # a file the loader could not take at all
            log.warning("upload %s could not be loaded: %s", name, e)
            out.append({"file": name, "kind": k, "template": None, "status": "unreadable", "received": 0,
                        "changed": 0, "rejected": 0, "error": f"{name}: {e}", "rejects": [], "warnings": [],
                        "notes": []})
            continue
        rejects = []
        for r in o.rejects:
            row = r.as_row()
            row["file"] = name
            rejects.append(row)
        warnings = []
        for w in o.warnings:
            row = w.as_row()
            row["file"] = name
            warnings.append(row)
        notes = [{**n.as_row(), "file": name} for n in o.notes]
        error = o.error.replace(str(path), name) if o.error else None
        out.append({"file": name, "kind": o.kind, "template": o.template,
                    "status": "unreadable" if o.error else ("rejects" if o.rejects else "ok"),
                    "received": o.stats.total_received, "changed": o.stats.total_changed,
                    "rejected": len(o.rejects), "error": error, "rejects": rejects, "warnings": warnings,
                    "notes": notes})
    return out


@router.post("/uploads", openapi_extra=_UPLOAD_BODY, response_model=UploadResult,
             summary="模板上传 / upload templates, sampling announcements or EPCIS files (loaded as `foodtrace load`)",
             responses={200: {"description": "What each file gave: records, changes and every rejected row",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                        400: _problem_response("about:blank", "No file, or a malformed multipart body"),
                        413: _R413, 415: _problem_response("about:blank", "Not multipart/form-data")})
async def upload(request: Request,
                 kind: Literal["auto", "epcis", "template", "samr"] = Query(
                     "auto", description="loader, as `foodtrace load --kind`: auto picks by file type and headers"),
                 fmt: Literal["json", "csv"] = Query("json", alias="format", description=(
                     "json: the outcome per file; csv: the rejects CSV (UTF-8 with BOM, Chinese headers, "
                     "as `foodtrace load` writes rejects.csv)")),
                 _key: ApiKey = Depends(require("capture"))) -> Any:
    """Upload files; good rows load, bad rows come back with file, row, field, value and reason."""
    if _media_type(request) != "multipart/form-data":
        return problem(415, "send the files as multipart/form-data (field `files`)", instance=request.url.path)
    limit = _settings(request).capture_file_size_limit
    try:
        data = await _read_body(request, limit)
    except _TooLarge as e:
        return _too_large(request, str(e).replace("GS1-EPCIS-Capture-File-Size-Limit",
                                                  "the upload limit (FOODTRACE_CAPTURE_FILE_SIZE_LIMIT)"))
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=100, max_fields=100)
    except (MultiPartException, ValueError, UnicodeDecodeError) as e:
        return problem(400, f"the multipart body cannot be read: {e}", instance=request.url.path)
    try:
        uploads = [v for k, v in form.multi_items() if isinstance(v, UploadFile) and k in ("files", "file")]
        if not uploads:
            return problem(400, "no file: send one or more files in the multipart field `files`",
                           instance=request.url.path)
        store = request.app.state.store
        with tempfile.TemporaryDirectory(prefix="foodtrace-upload-") as tmp:
            saved: list[tuple[Path, str]] = []
            for n, up in enumerate(uploads, 1):
                name = safe_name(up.filename, n)
                folder = Path(tmp) / str(n)  # one folder per file: two uploads may share a name
                folder.mkdir()
                path = folder / name
                path.write_bytes(await up.read())
                saved.append((path, name))
            audit_entities(request, *(f"upload:{name}" for _, name in saved))
            results = await anyio.to_thread.run_sync(load_uploads, store, saved, kind,
                                                     _settings(request).read_options(), actor_of(_key))
    finally:
        await form.close()
    if fmt == "csv":
        rows = [r for f in results for r in f["rejects"]]
        return Response(_rejects_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename=rejects.csv"})
    return {"files": results, "received": sum(f["received"] for f in results),
            "changed": sum(f["changed"] for f in results), "rejected": sum(f["rejected"] for f in results)}
