"""Routes of 核查处置, 投诉举报 and the demonstration-city indicators (district officers, investigators, analysts).

Each endpoint gives what the matching command gives, over the service's store, through the same functions
(:mod:`reasoning.disposal`, :mod:`reasoning.complaints`, :mod:`reasoning.indicators`):

* ``GET /disposal/cases``, ``GET /disposal/cases/{number}``: ``foodtrace disposal list`` / ``show``;
* ``POST /disposal/cases/{number}/steps``: ``foodtrace disposal step`` (evidence files as base64; who did
  it is the API key's holder, else its id);
* ``GET /complaints``, ``POST /complaints``, ``POST /complaints/{number}/steps``: ``foodtrace complaints``;
* ``GET /indicators``: ``foodtrace indicators --format json``.

A district officer's key (role ``district``) is bound to one district: it lists that district's cases and
complaints only, and asking for another district's, or acting on one, is 403
(:func:`api.service.security.district_scope`). A bad step (out of order, dated before the sample or in the
future, an unknown operator, a refused evidence file) is 422 naming what is wrong, and nothing is written.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from graph.store import WriteContext
from graph.view import ReadView
from ontology.errors import InvalidRecord
from ontology.handling import district_id
from ontology.times import today

from .deps import StoreDep
from .problems import PROBLEM_JSON, PROBLEM_SCHEMA
from .security import actor_of, audit_entities, district_scope, require
from .servicedb import ApiKey

__all__ = ["router", "StepIn", "scoped_subject", "add_step"]

router = APIRouter(tags=["disposal"])


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "No or invalid API key", 403: "The key's role or district may not do this",
            404: "Unknown case, complaint or operator", 422: "Invalid parameters, body or step"}
    return {c: {"description": text[c], "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}} for c in codes}


def _district(text: str | None) -> str | None:
    return district_id(text) if text else None


def _as_of(view: ReadView, as_of: str | None) -> Any:
    from ontology.times import default_as_of, parse_day

    return parse_day(as_of, "as_of") if as_of else default_as_of(view)


def _subject_district(view: ReadView, subject: Any) -> str:
    from reasoning.scope import operator_districts

    if subject.table == "disposal_case":
        return subject.district_id
    return operator_districts(view, [subject.operator_id])[subject.operator_id]


def scoped_subject(request: Request, store: Any, key: ApiKey, ident: str, table: str) -> Any:
    from reasoning.disposal import subject_of

    audit_entities(request, ident)
    subject = subject_of(ReadView(store), ident)
    if subject.table != table:
        from ontology.errors import NotFound

        raise NotFound(f"no {'disposal case' if table == 'disposal_case' else 'complaint'} has the identifier "
                       f"{ident!r}")
    audit_entities(request, subject.id)
    district_scope(key, _subject_district(ReadView(store), subject))
    return subject


class Evidence(BaseModel):
    """An evidence file: its name and its content, base64."""

    name: str = Field(..., min_length=1, max_length=200)
    content: str = Field(..., description="the file, base64 (PDF, JPEG, PNG, .docx, .xlsx)")


class StepIn(BaseModel):
    """A step of a disposal case or complaint (``foodtrace disposal step`` / ``complaints step``)."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(..., description="step kind, English or Chinese (served / 送达, recall / 召回 ...)")
    date: str = Field(..., description="day it happened, YYYY-MM-DD")
    party: str | None = Field(None, description="operator concerned (any identifier form)")
    outcome: str | None = None
    reason: str | None = None
    note: str | None = None
    case: str | None = Field(None, description="enforcement case opened (立案)")
    due: str | None = Field(None, description="new deadline (延期)")
    corrects: str | None = Field(None, description="number (序号) of the earlier step corrected")
    evidence: list[Evidence] = Field(default_factory=list)


class ComplaintIn(BaseModel):
    """A complaint or report taken in (``foodtrace complaints new``)."""

    model_config = ConfigDict(extra="forbid")
    number: str = Field(..., min_length=1, max_length=100, description="registration number")
    operator: str = Field(..., description="the business complained about (any identifier form)")
    received: str = Field(..., description="day received, YYYY-MM-DD")
    kind: Literal["complaint", "report"] = "complaint"
    channel: str | None = None
    topic: str | None = None
    description: str | None = None
    rural: bool | None = None
    real_name: bool | None = None
    lot: str | None = None
    sample: str | None = None


def add_step(request: Request, store: Any, key: ApiKey, ident: str, body: StepIn, table: str) -> dict[str, Any]:
    from ontology import vocab
    from ontology.records import to_dict
    from reasoning.disposal import evidence_file, new_step

    subject = scoped_subject(request, store, key, ident, table)
    by = key.name or f"key {key.id}"
    files = []
    for e in body.evidence:
        try:
            data = base64.b64decode(e.content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRecord(f"evidence file {e.name} is not base64") from None
        files.append(evidence_file(e.name, data, by=by))
    kind = vocab.lookup("handling_step", body.kind) or body.kind
    recs = new_step(ReadView(store), subject, kind=kind, date=body.date, by=by, today=today(), party=body.party,
                    outcome=body.outcome, reason=body.reason, note=body.note, case=body.case, due_day=body.due,
                    corrects=body.corrects, evidence=files)
    store.write(recs, context=WriteContext(kind="write", actor=actor_of(key), source=f"POST {request.url.path}"))
    step = recs[-1]
    audit_entities(request, step.id)
    return {"subject": subject.id, "step": to_dict(step), "evidence": [e.id for e in files]}


@router.get("/disposal/cases", summary="核查处置案件: the disposal cases with deadlines and status",
            responses=_responses(401, 403, 422))
def list_cases(store: StoreDep, key: ApiKey = Depends(require("disposal.read")),
               district: str | None = Query(None, description="a district (崇川区, 320602 ...)"),
               status: Literal["overdue", "due_soon", "open", "closed", "cleared"] | None = None,
               as_of: str | None = Query(None, description="YYYY-MM-DD; default: the day after the latest record")
               ) -> dict[str, Any]:
    from reasoning.disposal import case_rows

    scope = district_scope(key, _district(district))
    view = ReadView(store)
    day = _as_of(view, as_of)
    rows = [r.to_dict() for r in case_rows(view, as_of=day, district=scope) if status is None or r.status == status]
    return {"as_of": day.isoformat(), "district": scope, "cases": rows}


@router.get("/disposal/cases/{number}", summary="A disposal case with every step",
            responses=_responses(401, 403, 404))
def get_case(request: Request, number: str, store: StoreDep,
             key: ApiKey = Depends(require("disposal.read"))) -> dict[str, Any]:
    from ontology.handling import effective_steps
    from ontology.records import to_dict

    subject = scoped_subject(request, store, key, number, "disposal_case")
    steps = sorted(store.scan("handling_step", {"subject_id": subject.id}), key=lambda s: (s.seq, s.id))
    live = {s.id for s in effective_steps(steps)}
    return {"case": to_dict(subject), "steps": [{**to_dict(s), "effective": s.id in live} for s in steps]}


@router.post("/disposal/cases/{number}/steps", status_code=201, summary="Record a step of a disposal case",
             responses=_responses(401, 403, 404, 422))
def add_case_step(request: Request, number: str, body: StepIn, store: StoreDep,
                  key: ApiKey = Depends(require("disposal.write"))) -> dict[str, Any]:
    return add_step(request, store, key, number, body, "disposal_case")


@router.get("/complaints", summary="投诉举报: complaints and reports with their closing deadlines",
            responses=_responses(401, 403, 422))
def list_complaints(store: StoreDep, key: ApiKey = Depends(require("disposal.read")),
                    district: str | None = None, as_of: str | None = None,
                    rural: bool | None = Query(None, description="rural ones only (true) or urban only (false)")
                    ) -> dict[str, Any]:
    from reasoning.complaints import complaint_rows

    scope = district_scope(key, _district(district))
    view = ReadView(store)
    day = _as_of(view, as_of)
    rows = [r.to_dict() for r in complaint_rows(view, as_of=day, district=scope) if rural is None or r.rural == rural]
    return {"as_of": day.isoformat(), "district": scope, "complaints": rows}


@router.post("/complaints", status_code=201, summary="Take in a complaint or report",
             responses=_responses(401, 403, 404, 422))
def new_complaint(request: Request, body: ComplaintIn, store: StoreDep,
                  key: ApiKey = Depends(require("disposal.write"))) -> dict[str, Any]:
    from ontology.records import to_dict
    from reasoning.complaints import new_complaint as intake

    view = ReadView(store)
    c = intake(view, number=body.number, operator=body.operator, received=body.received, today=today(),
               kind=body.kind, channel=body.channel, topic=body.topic, description=body.description,
               rural=body.rural, real_name=body.real_name, lot=body.lot, sample=body.sample)
    district_scope(key, _subject_district(view, c))
    store.write([c], context=WriteContext(kind="write", actor=actor_of(key), source=f"POST {request.url.path}"))
    audit_entities(request, c.id, c.operator_id)
    return {"complaint": to_dict(c)}


@router.post("/complaints/{number}/steps", status_code=201, summary="Record a handling step of a complaint",
             responses=_responses(401, 403, 404, 422))
def add_complaint_step(request: Request, number: str, body: StepIn, store: StoreDep,
                       key: ApiKey = Depends(require("disposal.write"))) -> dict[str, Any]:
    return add_step(request, store, key, number, body, "complaint")


@router.get("/indicators", summary="长效动态管理指标: the demonstration-city indicators per district and month",
            responses=_responses(401, 403, 422))
def get_indicators(store: StoreDep, key: ApiKey = Depends(require("indicators")),
                   start: str = Query(..., alias="from", description="first day, YYYY-MM-DD"),
                   end: str = Query(..., alias="to", description="last day, YYYY-MM-DD"),
                   district: str | None = None, as_of: str | None = None) -> dict[str, Any]:
    from reasoning.indicators import indicators

    scope = district_scope(key, _district(district))
    return indicators(ReadView(store), start, end, district=scope, as_of=as_of).to_dict()
