"""Routes for the credit team and risk analysts (风险分级与信用): grades, explanations, overrides.

Each endpoint gives what the matching command gives, over the service's store:

* ``GET /grades``: the grade in effect of every graded operator (the latest
  :class:`ontology.records.RiskAssessment`, an override in force wins; :mod:`reasoning.assessments`),
  filtered and paged — the rows of ``foodtrace risk export`` as JSON;
* ``GET /grades/{operator}``: ``foodtrace risk history --format json`` (effective grade and every
  assessment, override, lift and publication) plus ``foodtrace risk explain --format json`` (factors,
  points, maxima, evidence ids, Chinese notes, the model's top features);
* ``POST /grades/{operator}/override`` and ``.../override/lift``: ``foodtrace risk override`` (a reason is
  required; who decided it is the API key's name, else its id). Both go through :mod:`api.grades`, the
  same code as the command.

Analysts may read grades; only the credit team (and admin) may set them.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from graph.store import Store
from ontology.errors import FoodtraceError, NotFound

from .deps import StoreDep, ViewDep
from .problems import PROBLEM_JSON, PROBLEM_SCHEMA
from .security import audit_entities, audited_require, require
from .servicedb import ApiKey

__all__ = ["router"]

router = APIRouter(prefix="/grades", tags=["credit"])



def _problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "No or invalid API key", 403: "The key's role may not do this", 404: "Unknown operator",
            409: "An override is already in force (set) or none is (lift)", 422: "Invalid parameters or body"}
    return {c: {"description": text[c], "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}} for c in codes}


def _invalid(location: tuple[Any, ...], message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": location, "msg": message, "type": "value_error"}])


def _operator(request: Request, store: Store, ident: str) -> str:
    return audited_require(request, store, ident)


# -- the list -------------------------------------------------------------------------------------------


class GradeItem(BaseModel):
    """An operator's grade in effect with its latest assessment (the columns of `foodtrace risk export`)."""

    operator_id: str
    name: str | None = None
    kind: str | None = None
    district: str | None = None
    grade: str | None = Field(None, description="grade in effect: the override in force, else the computed grade")
    grade_source: str | None = Field(None, description="override or computed")
    computed_grade: str | None = None
    override_grade: str | None = None
    override_reason: str | None = None
    override_by: str | None = None
    override_id: str | None = None
    differs: bool = Field(False, description="the override in force differs from the computed grade")
    score: float | None = None
    static_points: float | None = None
    dynamic_points: float | None = None
    credit_points: float | None = None
    credit_class: str | None = None
    probability: float | None = None
    method: str | None = None
    as_of: str | None = None
    assessed_at: str | None = None
    config_version: str | None = None
    model_version: str | None = None
    published: bool = False
    assessment_id: str | None = None


class GradePage(BaseModel):
    total: int = Field(..., description="operators matching the filters")
    limit: int
    offset: int
    items: list[GradeItem]


@router.get("", summary="风险等级列表 / grades in effect (filtered, paged)",
            description="The grade in effect of every graded operator (latest assessment; an override in force "
                        "wins), sorted by operator id, with the latest assessment's points and versions: the rows "
                        "of `foodtrace risk export` as JSON. Unpublished grades included: staff only.",
            responses=_problem_responses(401, 403, 422), openapi_extra={"x-permission": "grades.read"})
def grades(*, request: Request,
           district: str | None = Query(None, max_length=200, description="District: region id or name (如东县, "
                                        "Rudong County)"),
           kind: str | None = Query(None, max_length=200, description="Operator kind: Restaurant, 餐饮服务 ..."),
           grade: Literal["A", "B", "C", "D"] | None = Query(None, description="Only this grade in effect"),
           source: Literal["computed", "override"] | None = Query(None, description="Only grades set this way"),
           published: bool | None = Query(None, description="Only operators whose latest assessment is "
                                          "published (true) or not (false)"),
           limit: int = Query(100, ge=1, le=1000, description="Page size"),
           offset: int = Query(0, ge=0, le=1_000_000_000, description="Items to skip"),
           view: ViewDep, key: ApiKey = Depends(require("grades.read"))) -> GradePage:
    from ..grades import graded_operators

    chosen, ops = graded_operators(view, district=district, kind=kind, grade=grade, source=source,
                                   published=published, table=request.app.state.grade_table)
    page = chosen[offset:offset + limit]
    ras = view.get_many("risk_assessment", [e.assessment_id for e in page if e.assessment_id])
    gos = view.get_many("grade_override", [e.override_id for e in page if e.override_id])
    items = []
    for e in page:
        op, a, ov = ops.get(e.operator_id), ras.get(e.assessment_id or ""), gos.get(e.override_id or "")
        items.append(GradeItem(
            operator_id=e.operator_id, name=op.name if op else None, kind=op.kind if op else None,
            district=op.region_id if op else None, grade=e.grade, grade_source=e.source,
            computed_grade=e.computed_grade, override_grade=ov.grade if ov else None,
            override_reason=ov.reason if ov else None, override_by=ov.by if ov else None,
            override_id=e.override_id, differs=e.differs,
            score=a.score if a else None, static_points=a.static_points if a else None,
            dynamic_points=a.dynamic_points if a else None, credit_points=a.credit_points if a else None,
            credit_class=a.credit_class if a else None, probability=a.probability if a else None,
            method=a.method if a else None, as_of=a.as_of if a else None, assessed_at=a.created if a else None,
            config_version=a.config_version if a else None, model_version=a.model_version if a else None,
            published=bool(a.published) if a else False, assessment_id=e.assessment_id))
    audit_entities(request, *(i.operator_id for i in items))
    return GradePage(total=len(chosen), limit=limit, offset=offset, items=items)


# -- one operator -----------------------------------------------------------------------------------------


@router.get("/{operator_id:path}", summary="主体风险等级与说明 / an operator's grade, explanation and history",
            description="`effective` and `history` as `foodtrace risk history ID --format json` (every assessment, "
                        "override, lift and publication in time order); `explanation` as `foodtrace risk explain "
                        "ID --format json` (every factor with its points, maximum, Chinese note and evidence ids; the "
                        "model's top features under `stored.model`; computed now where no assessment is stored).",
            responses=_problem_responses(401, 403, 404), openapi_extra={"x-permission": "grades.read"})
def grade_detail(request: Request, *, operator_id: str, store: StoreDep,
                 key: ApiKey = Depends(require("grades.read"))) -> dict[str, Any]:
    from ..grades import explanation, grade_history

    oid = _operator(request, store, operator_id)
    out = grade_history(store, oid)
    a, stamp = explanation(store, oid)
    out["explanation"] = {**a.to_dict(), "stored": stamp}
    return out


# -- overrides ------------------------------------------------------------------------------------------


class OverrideIn(BaseModel):
    """A grade set by hand: the grade and why (required)."""

    model_config = ConfigDict(extra="forbid")

    grade: str = Field(..., max_length=10, description="A, B, C or D", examples=["D"])
    reason: str = Field(..., max_length=2000, description="Why (required, not empty): kept for the audit trail",
                        examples=["约谈后仍未整改"])


class LiftIn(BaseModel):
    """Lifting the override in force: why (required)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., max_length=2000, description="Why (required, not empty)", examples=["复查合格"])


def _by(key: ApiKey) -> str:
    return (key.name or "").strip() or key.id


def _done(store: Store, outcome: Any) -> dict[str, Any]:
    from ..grades import grade_history

    out = outcome.to_dict()
    out["effective"] = grade_history(store, outcome.operator_id)["effective"]
    return out


def _reason(text: str) -> str:
    if not text.strip():
        raise _invalid(("body", "reason"), "the reason must not be empty")
    return text.strip()


@router.post("/{operator_id:path}/override", status_code=201,
             summary="人工调整等级 / set an operator's grade by hand",
             description="As `foodtrace risk override ID GRADE --reason ... --by KEY-NAME`: a GradeOverride record "
                         "(append-only) that holds until lifted; later grading runs keep their computed grade beside "
                         "it and flag a difference. 409 while another override is in force.",
             responses=_problem_responses(401, 403, 404, 409, 422), openapi_extra={"x-permission": "grades.write"})
def override(request: Request, *, operator_id: str, body: OverrideIn, store: StoreDep,
             key: ApiKey = Depends(require("grades.write"))) -> dict[str, Any]:
    from ontology.errors import OverrideConflict
    from reasoning.assessments import GRADES

    from ..grades import set_override

    oid = _operator(request, store, operator_id)
    if body.grade.strip().upper() not in GRADES:
        raise _invalid(("body", "grade"), f"grade {body.grade!r} is not one of A, B, C, D")
    reason = _reason(body.reason)
    try:
        done = set_override(store, oid, body.grade, reason=reason, by=_by(key))
    except OverrideConflict as e:
        raise HTTPException(409, str(e).replace("; lift it first with --lift", "; lift it first")) from None
    except NotFound:
        raise
    except FoodtraceError as e:
        raise _invalid(("body",), str(e)) from None
    audit_entities(request, done.record.id)
    return _done(store, done)


@router.post("/{operator_id:path}/override/lift", summary="撤销人工调整 / lift the override in force",
             description="As `foodtrace risk override ID --lift --reason ... --by KEY-NAME`: the override is "
                         "stamped lifted (never deleted) and the computed grade holds again. 409 when none is in "
                         "force.", responses=_problem_responses(401, 403, 404, 409, 422),
             openapi_extra={"x-permission": "grades.write"})
def lift(request: Request, *, operator_id: str, body: LiftIn, store: StoreDep,
         key: ApiKey = Depends(require("grades.write"))) -> dict[str, Any]:
    from ontology.errors import OverrideConflict

    from ..grades import lift_override

    oid = _operator(request, store, operator_id)
    reason = _reason(body.reason)
    try:
        done = lift_override(store, oid, reason=reason, by=_by(key))
    except OverrideConflict as e:
        raise HTTPException(409, str(e)) from None
    except NotFound:
        raise
    except FoodtraceError as e:
        raise _invalid(("body",), str(e)) from None
    audit_entities(request, done.record.id)
    return _done(store, done)
