"""Routes for a record's history and the changes staff make by hand: corrections, deletion, erasure.

Each endpoint does what the matching command does, through the same store methods (:mod:`graph.versions`):

* ``GET /records/{id}/history`` — ``foodtrace history ID --format json`` (``?as_of=`` adds the record as
  it was then);
* ``POST /records/{id}/corrections`` — ``foodtrace correct ID FIELD VALUE --reason``: the value is read
  as the templates read it (:func:`loaders.corrections.correction_of`), the previous value kept with the
  key's holder, the request and the reason;
* ``DELETE /records/{id}?reason=`` — ``foodtrace delete``: the record and its aliases, refused (409)
  while other records refer to it;
* ``POST /operators/{id}/erasure`` — ``foodtrace erase``: a natural person's personal data, leaving a
  tombstone.

Every call is in the audit log with the ids it touched, like every staff request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from graph.store import WriteContext
from ontology.errors import InvalidRecord

from .deps import StoreDep
from .problems import PROBLEM_JSON, PROBLEM_SCHEMA
from .security import actor_of, audit_entities, require
from .servicedb import ApiKey

__all__ = ["router"]

router = APIRouter(tags=["records"])


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "No or invalid API key", 403: "The key's role may not do this", 404: "Unknown record",
            409: "Other records refer to it", 422: "Invalid field, value or reason"}
    return {c: {"description": text[c], "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}} for c in codes}



def _context(request: Request, key: ApiKey, kind: str, reason: str | None) -> WriteContext:
    return WriteContext(kind=kind, actor=actor_of(key), reason=reason,
                        source=f"{request.method} {request.url.path}")


def _reason(text: str) -> str:
    if not text.strip():
        raise InvalidRecord("the reason must not be empty")
    return text.strip()


@router.get("/records/{record_id:path}/history", summary="记录变更历史 / a record's sources and every change",
            description="As `foodtrace history ID --format json`: where the record came from (each load, capture or "
                        "upload with who and when) and every change (who, when, from which file or request, why; "
                        "each field before and after). `as_of` adds the record as it was at that time.",
            responses=_responses(401, 403, 404), openapi_extra={"x-permission": "records.read"})
def history(request: Request, *, record_id: str, store: StoreDep,
            as_of: str | None = Query(None, max_length=40, description="ISO time or day"),
            _key: ApiKey = Depends(require("records.read"))) -> dict[str, Any]:
    from graph.versions import record_values

    h = store.history(record_id)
    audit_entities(request, h["id"])
    if as_of:
        then = store.record_as_of(h["table"], h["id"], as_of)
        h["as_of"] = {"time": as_of, "values": None if then is None else record_values(then)}
    return h


class CorrectionIn(BaseModel):
    """One field of one record set to a new value, and why."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(..., max_length=100, description="field: template header, Chinese label or English key",
                       examples=["主体类型"])
    value: str | float | bool | None = Field(..., description="the new value as a template cell holds it; null or "
                                                              "\"\" clears the field", examples=["摊位"])
    reason: str = Field(..., max_length=2000, description="why (required)", examples=["现场核查为摊位"])
    table: str | None = Field(None, max_length=40, description="record type where the id names several")


@router.post("/records/{record_id:path}/corrections", status_code=201,
             summary="更正记录 / correct one field of a record",
             description="As `foodtrace correct ID FIELD VALUE --reason`: the previous value is kept with the key's "
                         "holder, this request and the reason (`GET /records/{id}/history`).",
             responses=_responses(401, 403, 404, 422), openapi_extra={"x-permission": "records.write"})
def correct(request: Request, *, record_id: str, body: CorrectionIn, store: StoreDep,
            key: ApiKey = Depends(require("records.write"))) -> dict[str, Any]:
    from loaders.corrections import correction_of

    value = body.value
    text = "" if value is None else ("是" if value is True else "否" if value is False else str(value))
    c = correction_of(store, {"id": record_id, "table": body.table or "", "field": body.field, "value": text,
                              "reason": _reason(body.reason)})
    audit_entities(request, c.id)
    done = store.correct([c], _context(request, key, "correction", c.reason))
    before = done[0][1] if done else c.value
    return {"table": c.table, "id": c.id, "field": c.field, "before": before, "after": c.value,
            "changed": bool(done)}


@router.delete("/records/{record_id:path}", summary="删除记录 / delete a record and its aliases",
               description="As `foodtrace delete ID --reason`: its last values stay in its history; refused (409) "
                           "while other records refer to it.",
               responses=_responses(401, 403, 404, 409, 422), openapi_extra={"x-permission": "records.write"})
def delete(request: Request, *, record_id: str, store: StoreDep,
           reason: str = Query(..., max_length=2000, description="why (required)"),
           table: str | None = Query(None, max_length=40, description="record type where the id names several"),
           key: ApiKey = Depends(require("records.write"))) -> dict[str, Any]:
    from loaders.corrections import record_of

    rid, t = record_of(store, record_id, table)
    audit_entities(request, rid)
    try:
        store.delete(t, [rid], _context(request, key, "delete", _reason(reason)))
    except InvalidRecord as e:
        if "refer to" in str(e):
            raise HTTPException(409, str(e)) from None
        raise
    return {"table": t, "id": rid, "deleted": True}


class ErasureIn(BaseModel):
    """The request to erase a natural person's personal data."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., max_length=2000, description="the request (e.g. its registration number)",
                        examples=["本人申请删除个人信息（登记号2026-001）"])


@router.post("/operators/{operator_id:path}/erasure", summary="删除个人信息 / erase a natural person's personal data",
             description="As `foodtrace erase ID --reason --by`: name, phone, ID and address are removed from the "
                         "operator and its history; it stays as a tombstone saying when and by whom, so traces still "
                         "pass through the station. 422 for a business (not a natural person).",
             responses=_responses(401, 403, 404, 422), openapi_extra={"x-permission": "records.erase"})
def erase(request: Request, *, operator_id: str, body: ErasureIn, store: StoreDep,
          key: ApiKey = Depends(require("records.erase"))) -> dict[str, Any]:
    oid = store.require(operator_id, "operator")
    audit_entities(request, oid)
    new_id = store.erase(oid, _context(request, key, "erase", _reason(body.reason)))
    audit_entities(request, new_id)
    return {"id": new_id, "was": oid if new_id != oid else None, "erased": True}
