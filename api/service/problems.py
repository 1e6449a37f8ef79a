"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the service returns is a problem object: ``type``, ``title``,
``status``, ``detail``, ``instance`` and, where useful, extension members
(``errors`` for invalid requests). A browser asking a public page for an
unknown or malformed lot gets a friendly page instead (:mod:`api.service.pages`).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ontology.errors import FoodtraceError, InvalidIdentifier, InvalidRecord, NotFound, StoreUnavailable, UnreadableFile

from . import pages

__all__ = ["PROBLEM_JSON", "problem", "install", "PROBLEM_SCHEMA", "status_of"]

log = logging.getLogger("foodtrace.service")

PROBLEM_JSON = "application/problem+json"

#: JSON Schema of a problem object, for the OpenAPI document's error responses
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["type", "title", "status"],
}


def problem(status: int, detail: str | None = None, *, title: str | None = None, type_: str = "about:blank",
            instance: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A problem+json response.

    >>> r = problem(404, "no lot has the identifier 'x'", instance="/01/x")
    >>> import json
    >>> r.status_code, r.media_type, json.loads(r.body)
    (404, 'application/problem+json', {'type': 'about:blank', 'title': 'Not Found', 'status': 404, 'detail': "no lot has the identifier 'x'", 'instance': '/01/x'})
    """
    body: dict[str, Any] = {"type": type_, "title": title or HTTPStatus(status).phrase, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _respond(request: Request, status: int, detail: str | None, headers: dict[str, str] | None = None,
             **extra: Any) -> Response:
    if pages.wants_page(request):
        return pages.error_page(request, status, detail)
    return problem(status, detail, instance=request.url.path, headers=headers, **extra)


def status_of(exc: FoodtraceError) -> int:
    """The HTTP status of a domain error (404 not found, 400/422 bad input, 503 store unavailable)."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, (InvalidIdentifier, InvalidRecord, UnreadableFile)):
        return 400 if isinstance(exc, InvalidIdentifier) else 422
    if isinstance(exc, StoreUnavailable):
        return 503
    return 400


def install(app: FastAPI) -> None:
    """Register the problem+json exception handlers on ``app``."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else None
        return _respond(request, exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", ""),
                   "type": e.get("type", "")} for e in exc.errors()]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "the request is invalid"
        return _respond(request, 422, detail, errors=errors)

    @app.exception_handler(FoodtraceError)
    async def domain_error(request: Request, exc: FoodtraceError) -> Response:
        return _respond(request, status_of(exc), str(exc))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _respond(request, 500, "an internal error occurred; it has been logged")
