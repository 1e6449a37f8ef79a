"""Grades as the credit team handles them, shared by ``foodtrace risk ...`` and the service's credit endpoints.

The rules are pure (:mod:`reasoning.assessments`); this module reads the store, stamps the time, makes
record ids and writes: :func:`set_override` and :func:`lift_override` are what ``foodtrace risk override``
and ``POST /grades/{operator}/override`` both do, :func:`stored_explanation` what ``foodtrace risk explain``
and ``GET /grades/{operator}`` show, :func:`grade_history` what ``foodtrace risk history --format json``
prints.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graph.store import WriteContext
from ontology.records import GradeOverride
from ontology.times import now_iso

if TYPE_CHECKING:
    from reasoning.grading import Assessment

__all__ = ["explanation", "records_of", "operator_name", "OverrideOutcome", "set_override",
           "lift_override", "stored_explanation", "grade_history"]

def records_of(store: Any, oid: str) -> tuple[list[Any], list[Any]]:
    """An operator's stored assessments and overrides."""
    return (list(store.scan("risk_assessment", {"operator_id": oid})),
            list(store.scan("grade_override", {"operator_id": oid})))


def operator_name(store: Any, oid: str) -> str | None:
    op = store.get_many("operator", [oid]).get(oid)
    return op.name if op is not None else None


@dataclass(frozen=True)
class OverrideOutcome:
    """What an override or a lift did: the operator, the record written, the computed grade it set aside or restored."""

    operator_id: str
    name: str | None
    record: GradeOverride
    computed_grade: str | None

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        return {"operator_id": self.operator_id, "name": self.name, "override": {
            "id": r.id, "grade": r.grade, "reason": r.reason, "by": r.by, "created": r.created,
            "computed_grade": r.computed_grade, "assessment_id": r.assessment_id, "lifted": r.lifted,
            "lifted_by": r.lifted_by, "lift_reason": r.lift_reason}, "computed_grade": self.computed_grade}


def set_override(store: Any, identifier: str, grade: str | None, *, reason: str | None, by: str | None) -> OverrideOutcome:
    """Set an operator's grade by hand (``foodtrace risk override ENTITY GRADE``): one new GradeOverride record.

    Raises :class:`NotFound` (no such operator), :class:`ontology.errors.FoodtraceError` (bad grade,
    empty reason or by) and :class:`ontology.errors.OverrideConflict` (one is in force).
    """
    from reasoning.assessments import new_override

    oid = store.require(identifier, "operator")
    ras, gos = records_of(store, oid)
    name = operator_name(store, oid)
    created = now_iso()
    rec_id = "urn:foodtrace:grade_override:" + dt.datetime.fromisoformat(created).strftime("%Y%m%dT%H%M%S%f") \
        + "-" + secrets.token_hex(3)
    rec = new_override(oid, grade, reason=reason, by=by, created=created, record_id=rec_id, assessments=ras,
                       overrides=gos, name=name or oid)
    store.write([rec], context=WriteContext(kind="override", actor=by, reason=reason))
    return OverrideOutcome(oid, name, rec, rec.computed_grade)


def lift_override(store: Any, identifier: str, *, reason: str | None, by: str | None) -> OverrideOutcome:
    """Lift the override in force (``foodtrace risk override ENTITY --lift``): the record is stamped, never deleted."""
    from reasoning.assessments import latest_assessment, lifted_override

    oid = store.require(identifier, "operator")
    ras, gos = records_of(store, oid)
    name = operator_name(store, oid)
    rec = lifted_override(oid, gos, reason=reason, by=by, at=now_iso(), name=name or oid)
    store.write([rec], context=WriteContext(kind="override", actor=by, reason=reason))
    latest = latest_assessment(ras)
    return OverrideOutcome(oid, name, rec, latest.computed_grade if latest else None)


def grade_history(store: Any, oid: str) -> dict[str, Any]:
    """``foodtrace risk history --format json``: the operator, its effective grade and every grade event."""
    from reasoning.assessments import effective_grade, history

    ras, gos = records_of(store, oid)
    return {"operator_id": oid, "name": operator_name(store, oid),
            "effective": effective_grade(ras, gos, operator_id=oid).to_dict(),
            "history": [e.to_dict() for e in history(ras, gos)]}


def explanation(store: Any, oid: str, *, as_of: Any = None,
                points: Any = None) -> tuple["Assessment", dict[str, Any] | None]:
    """Why ``oid`` has its grade, as ``foodtrace risk explain`` and ``GET /grades/{id}`` both show it.

    Without ``as_of`` and ``points`` the latest stored assessment (:func:`stored_explanation`) with its stamp,
    where one is stored; otherwise the grade computed now (stamp None).
    """
    from graph.view import ReadView
    from reasoning.grading import grade_operators

    if as_of is None and points is None:
        found = stored_explanation(store, oid)
        if found is not None:
            return found
    return grade_operators(ReadView(store), as_of=as_of, points=points, operator_ids=[oid])[0], None


def stored_explanation(store: Any, oid: str) -> tuple["Assessment", dict[str, Any]] | None:
    """The latest stored assessment of ``oid`` (as an Assessment) with its stamp and the grade in effect, or None
    where none is stored or it carries no explanation."""
    from reasoning.assessments import effective_grade, latest_assessment
    from reasoning.grading import Assessment

    records = list(store.scan("risk_assessment", {"operator_id": oid}))
    latest = latest_assessment(records) if records else None
    if latest is None or not latest.explanation:
        return None
    body = latest.explanation
    if isinstance(body, str):
        body = json.loads(body)
    a = Assessment.from_dict(body)
    stamp: dict[str, Any] = {"id": latest.id, "created": latest.created, "run": latest.run,
                             "grade": latest.grade, "computed_grade": latest.computed_grade}
    overrides = list(store.scan("grade_override", {"operator_id": oid}))
    eff = effective_grade(records, overrides, operator_id=oid)
    if eff.grade:
        stamp["grade"] = eff.grade
    ov = next((o for o in overrides if o.id == eff.override_id), None) if eff.source == "override" else None
    if ov is not None:
        stamp["override"] = {"id": ov.id, "by": ov.by, "reason": ov.reason, "created": ov.created}
    if "model" in body:
        stamp["model"] = body["model"]
    return a, stamp
