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
from typing import TYPE_CHECKING, Any, Iterable

from graph.store import Memo, WriteContext
from ontology.records import GradeOverride
from ontology.times import now_iso

if TYPE_CHECKING:
    from reasoning.grading import Assessment

__all__ = ["explanation", "records_of", "operator_name", "OverrideOutcome", "set_override",
           "lift_override", "stored_explanation", "grade_history", "publish", "graded_operators",
           "grade_table"]

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


def _grouped(store: Any, table: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in store.scan(table):
        out.setdefault(r.operator_id, []).append(r)
    return out


def publish(store: Any, entities: Iterable[str], grades: Iterable[str], *, by: str,
            context: WriteContext | None = None) -> tuple[int, int]:
    """Publish the latest assessment of the operators named (any identifier form) and of every operator whose latest
    assessment has one of ``grades`` (``foodtrace risk publish``): each is stamped published (who, when), nothing
    else in it changes. The number stamped and the number published already.

    Raises :class:`NotFound` (an operator without a stored assessment) and :class:`FoodtraceError` (an operator whose
    grade an override set or lifted after its latest assessment: grade again first, so that what is published is a
    stored, explained assessment); nothing is written then.
    """
    import dataclasses

    from ontology.errors import FoodtraceError, NotFound
    from reasoning.assessments import effective_grade, latest_assessment

    if not (by or "").strip():
        raise FoodtraceError("who publishes must be named")
    wanted = {g.strip().upper() for g in grades}
    ras = _grouped(store, "risk_assessment")
    gos = _grouped(store, "grade_override")
    targets: dict[str, None] = {}
    for e in entities:
        oid = store.require(e, "operator")
        if oid not in ras:
            raise NotFound(f"{e!r} ({oid}) has no stored assessment; run `foodtrace risk grade` first")
        targets[oid] = None
    if wanted:
        for oid in sorted(ras):
            latest = latest_assessment(ras[oid])
            if latest is not None and latest.grade in wanted:
                targets[oid] = None
    stale, stamps, already = [], [], 0
    stamp_time = now_iso()
    for oid in targets:
        latest = latest_assessment(ras[oid])
        eff = effective_grade(ras[oid], gos.get(oid, ()), operator_id=oid)
        if eff.grade != latest.grade:
            stale.append(f"{oid} (assessed {latest.grade}, now {eff.grade})")
            continue
        if latest.published:
            already += 1
            continue
        stamps.append(dataclasses.replace(latest, published=True, published_at=stamp_time, published_by=by))
    if stale:
        raise FoodtraceError(f"{len(stale)} operator(s) had their grade changed by an override after the latest "
                             f"assessment: {', '.join(stale[:5])}{' ...' if len(stale) > 5 else ''}; "
                             "run `foodtrace risk grade` first")
    store.write(stamps, context=context or WriteContext(kind="publish", actor=by))
    return len(stamps), already


def _matches(value: str | None, wanted: str, labels: dict[str, tuple[str, str]]) -> bool:
    if value is None:
        return False
    w = wanted.strip().lower()
    if value.lower() == w:
        return True
    zh, en = labels.get(value, (value, value))
    return w in (str(zh).lower(), str(en).lower())


def grade_table() -> Memo:
    """What a service worker keeps for the grade lists: the grades in effect and their operators, until any write
    reaches the store and for at most a minute (an override's period may end meanwhile)."""
    return Memo(size=1, ttl=60.0)


def _grade_table(view: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from reasoning.assessments import effective_grades

    eff = effective_grades(view)
    return eff, view.get_many("operator", list(eff))


def graded_operators(view: Any, *, district: str | None = None, kind: str | None = None, grade: str | None = None,
                     source: str | None = None, published: bool | None = None,
                     table: Memo | None = None) -> tuple[list[Any], dict[str, Any]]:
    """The grades in effect (:class:`reasoning.assessments.EffectiveGrade`) of every graded operator matching the
    filters, sorted by operator id, and those operators' records: what ``GET /grades`` pages and the console's grade
    list shows. ``district`` and ``kind`` match a code or its Chinese or English label. ``table``: a process's
    :class:`graph.store.Memo` keeping the grades in effect and their operators until a write (see
    :func:`grade_table`; else everything is read now)."""
    from ontology.vocab import labels

    eff, ops = table.get(view, ("grades",), lambda: _grade_table(view)) if table is not None else _grade_table(view)
    regions, kinds = labels("region"), labels("operator_kind")
    chosen = []
    for oid in sorted(eff):
        e = eff[oid]
        op = ops.get(oid)
        if grade is not None and e.grade != grade:
            continue
        if source is not None and e.source != source:
            continue
        if published is not None and bool(e.published) != published:
            continue
        if district and not _matches(op.region_id if op else None, district, regions):
            continue
        if kind and not _matches(op.kind if op else None, kind, kinds):
            continue
        chosen.append(e)
    return chosen, ops
