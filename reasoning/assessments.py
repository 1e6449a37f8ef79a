"""Stored grades: the effective grade of an operator, its history, and assessment records from a grading run.

The credit team's rules (the ``foodtrace risk`` workflow and the API use these functions):

* an assessment (:class:`ontology.records.RiskAssessment`) is never changed once stored; each
  grading run adds one per operator (only its publication stamp is written later, once);
* an override (:class:`ontology.records.GradeOverride`) is **in force** from its ``created`` time
  until it is lifted (``lifted``); at most one is in force per operator (the workflow refuses a
  second one until the first is lifted; should records hold two, the latest wins);
* the **effective grade** is the grade of the override in force, else the computed grade of the
  latest assessment; an assessment made while an override is in force keeps its computed grade
  and is flagged (``differs``) where that differs from the override.

Pure: functions over records or a read view; times are ISO 8601 strings with an offset.

Examples
--------
>>> from ontology.records import GradeOverride, RiskAssessment
>>> ra = [RiskAssessment(id="a1", operator_id="op", grade="B", computed_grade="B", as_of="2026-03-01",
...                      created="2026-03-01T09:00:00+08:00", config_version="2026.1", model_version="none")]
>>> go = [GradeOverride(id="o1", operator_id="op", grade="D", reason="约谈后仍未整改", by="王科长",
...                     created="2026-03-05T09:00:00+08:00")]
>>> effective_grade(ra, go).grade, effective_grade(ra, go).source
('D', 'override')
>>> effective_grade(ra, go, at="2026-03-02T00:00:00+08:00").grade
'B'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ontology.errors import FoodtraceError, OverrideConflict
from ontology.records import GradeOverride, RiskAssessment
from ontology.times import parse_instant

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["GRADES", "EffectiveGrade", "HistoryEntry", "override_in_force", "latest_assessment",
           "effective_grade", "effective_grades", "history", "assessment_records", "assessment_id",
           "check_grade", "new_override", "lifted_override"]

GRADES = ("A", "B", "C", "D")
#: before every recorded time (records without one sort first)
_NEVER = datetime.min.replace(tzinfo=timezone.utc)


def check_grade(grade: str | None) -> str:
    """A grade A-D (case and spaces ignored), else an error.

    >>> check_grade(" d ")
    'D'
    """
    g = (grade or "").strip().upper()
    if g not in GRADES:
        raise FoodtraceError(f"grade {grade!r} is not one of A, B, C, D")
    return g


def _ordered(records: Iterable[Any]) -> list[Any]:
    """Records in time order (``created``), ties kept in the given (stored) order."""
    indexed = list(enumerate(records))
    indexed.sort(key=lambda t: (parse_instant(t[1].created) or _NEVER, t[0]))
    return [r for _, r in indexed]


def override_in_force(overrides: Iterable[GradeOverride], at: str | datetime | None = None) -> GradeOverride | None:
    """The override in force at ``at`` (default: now, i.e. after every stored event): created at
    or before it and not lifted by then; the latest where several are."""
    when = at if isinstance(at, datetime) else parse_instant(at)
    found = None
    for o in _ordered(overrides):
        created = parse_instant(o.created)
        if when is not None and created is not None and created > when:
            continue
        lifted = parse_instant(o.lifted)
        if lifted is not None and (when is None or lifted <= when):
            continue
        found = o
    return found


def latest_assessment(assessments: Iterable[RiskAssessment], at: str | datetime | None = None) -> RiskAssessment | None:
    """The latest assessment made at or before ``at`` (default: the latest of all)."""
    when = at if isinstance(at, datetime) else parse_instant(at)
    found = None
    for a in _ordered(assessments):
        created = parse_instant(a.created)
        if when is not None and created is not None and created > when:
            continue
        found = a
    return found


@dataclass(frozen=True)
class EffectiveGrade:
    """The grade that holds for an operator: ``source`` is ``override``, ``computed`` or None (no grade yet).

    ``computed_grade`` is that of the latest assessment; ``differs`` says the override in force
    gives another grade than it.
    """

    operator_id: str
    grade: str | None
    source: str | None
    computed_grade: str | None
    assessment_id: str | None
    override_id: str | None
    differs: bool
    as_of: str | None = None
    assessed: str | None = None
    published: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def effective_grade(assessments: Iterable[RiskAssessment], overrides: Iterable[GradeOverride], *,
                    at: str | datetime | None = None, operator_id: str | None = None) -> EffectiveGrade:
    """The effective grade of one operator from its assessments and overrides, at ``at`` (default: now)."""
    assessments, overrides = list(assessments), list(overrides)
    latest = latest_assessment(assessments, at)
    ov = override_in_force(overrides, at)
    oid = operator_id or (latest.operator_id if latest else ov.operator_id if ov else "")
    computed = latest.computed_grade if latest else None
    if ov is not None:
        grade, source = ov.grade, "override"
    elif latest is not None:
        grade, source = computed, "computed"
    else:
        grade, source = None, None
    return EffectiveGrade(oid, grade, source, computed, latest.id if latest else None, ov.id if ov else None,
                          bool(ov is not None and computed is not None and computed != ov.grade),
                          latest.as_of if latest else None, latest.created if latest else None,
                          bool(latest.published) if latest else False)


def _by_operator(view: "ReadView", table: str, operator_ids: Sequence[str] | None) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    if operator_ids is not None and len(operator_ids) <= 50:
        for oid in operator_ids:
            out[oid] = list(view.scan(table, {"operator_id": oid}))
        return out
    wanted = set(operator_ids) if operator_ids is not None else None
    for r in view.scan(table):
        if wanted is None or r.operator_id in wanted:
            out.setdefault(r.operator_id, []).append(r)
    return out


def effective_grades(view: "ReadView", *, operator_ids: Iterable[str] | None = None,
                     at: str | datetime | None = None) -> dict[str, EffectiveGrade]:
    """The effective grade of every operator with an assessment or an override (or of those given)."""
    ids = list(dict.fromkeys(operator_ids)) if operator_ids is not None else None
    ras = _by_operator(view, "risk_assessment", ids)
    gos = _by_operator(view, "grade_override", ids)
    targets = ids if ids is not None else sorted(set(ras) | set(gos))
    return {oid: effective_grade(ras.get(oid, ()), gos.get(oid, ()), at=at, operator_id=oid) for oid in targets}


@dataclass(frozen=True)
class HistoryEntry:
    """One event of an operator's grade history.

    ``event``: ``assessment``, ``override``, ``lift`` or ``publish``; ``grade``: the grade in
    effect after the event (for an assessment: the grade it recorded); ``note``: Chinese text.
    """

    time: str
    event: str
    record_id: str
    grade: str | None
    computed_grade: str | None
    by: str | None
    reason: str | None
    differs: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_EVENT_ORDER = {"override": 0, "lift": 0, "assessment": 1, "publish": 2}


def history(assessments: Iterable[RiskAssessment], overrides: Iterable[GradeOverride]) -> list[HistoryEntry]:
    """Every assessment, override, lift and publication of one operator, in time order.

    >>> from ontology.records import GradeOverride, RiskAssessment
    >>> ra = RiskAssessment(id="a1", operator_id="op", grade="B", computed_grade="B", as_of="2026-03-01",
    ...                     created="2026-03-01T09:00:00+08:00", config_version="2026.1", model_version="none")
    >>> go = GradeOverride(id="o1", operator_id="op", grade="D", reason="约谈", by="王", created="2026-03-05T09:00:00+08:00",
    ...                    lifted="2026-04-01T09:00:00+08:00", lifted_by="李", lift_reason="复查合格")
    >>> [(h.event, h.grade) for h in history([ra], [go])]
    [('assessment', 'B'), ('override', 'D'), ('lift', 'B')]
    """
    assessments, overrides = list(assessments), list(overrides)
    entries: list[tuple[datetime, int, int, HistoryEntry]] = []
    seq = 0

    def add(time: str, event: str, entry: HistoryEntry) -> None:
        nonlocal seq
        t = parse_instant(time) or _NEVER
        entries.append((t, _EVENT_ORDER[event], seq, entry))
        seq += 1

    for a in _ordered(assessments):
        note = f"计算等级 {a.computed_grade}，分值 {a.score if a.score is not None else '-'}，基准日 {a.as_of}，" \
               f"评分规则 {a.config_version}，模型 {a.model_version}"
        if a.override_id:
            note += f"；人工调整 {a.grade} 生效中" + ("，计算等级与调整不一致" if a.differs else "")
        add(a.created, "assessment", HistoryEntry(a.created, "assessment", a.id, a.grade, a.computed_grade, None, None,
                                                  bool(a.differs), note))
        if a.published and a.published_at:
            add(a.published_at, "publish", HistoryEntry(a.published_at, "publish", a.id, a.grade, a.computed_grade,
                                                        a.published_by, None, bool(a.differs), f"发布等级 {a.grade}"))
    for o in _ordered(overrides):
        add(o.created, "override", HistoryEntry(o.created, "override", o.id, o.grade, o.computed_grade, o.by, o.reason,
                                                bool(o.computed_grade and o.computed_grade != o.grade),
                                                f"人工调整为 {o.grade}（计算等级 {o.computed_grade or '-'}）"))
        if o.lifted:
            after = latest_assessment(assessments, o.lifted)
            grade = after.computed_grade if after else None
            add(o.lifted, "lift", HistoryEntry(o.lifted, "lift", o.id, grade, grade, o.lifted_by, o.lift_reason,
                                               False, f"撤销人工调整 {o.grade}，恢复计算等级 {grade or '-'}"))
    entries.sort(key=lambda t: t[:3])
    return [e for *_, e in entries]


def assessment_id(run: str, operator_id: str) -> str:
    """The id of an operator's assessment in a run.

    >>> assessment_id("20260301T090000-ab12cd", "urn:foodtrace:operator:x")
    'urn:foodtrace:risk_assessment:20260301T090000-ab12cd:93869a84a40de6ac'
    """
    digest = hashlib.sha256(operator_id.encode("utf-8")).hexdigest()[:16]
    return f"urn:foodtrace:risk_assessment:{run}:{digest}"


def assessment_records(assessments: Iterable[Any], *, run: str, created: str, model_version: str,
                       overrides: Mapping[str, GradeOverride] | None = None,
                       probabilities: Mapping[str, float] | None = None,
                       model_explanations: Mapping[str, Any] | None = None) -> list[RiskAssessment]:
    """One :class:`RiskAssessment` per graded operator of a run.

    ``assessments`` are :class:`reasoning.grading.Assessment` objects (anything with their fields and
    ``to_dict()``); ``overrides`` the override in force per operator; ``probabilities`` the model's
    probability per operator and ``model_explanations`` its top features (JSON-ready), both optional.
    """
    overrides = overrides or {}
    probabilities = probabilities or {}
    model_explanations = model_explanations or {}
    out = []
    for a in assessments:
        oid = a.operator_id
        computed = check_grade(a.grade)
        ov = overrides.get(oid)
        explanation = a.to_dict()
        if oid in model_explanations:
            explanation["model"] = model_explanations[oid]
        p = probabilities.get(oid)
        out.append(RiskAssessment(
            id=assessment_id(run, oid), operator_id=oid, run=run, grade=ov.grade if ov else computed,
            computed_grade=computed, score=_num(a.score), static_points=_num(a.static),
            dynamic_points=_num(a.dynamic), credit_points=_num(a.credit), credit_class=a.credit_class or None,
            as_of=str(a.as_of)[:10], created=created, config_version=str(a.config_version),
            model_version=model_version, probability=None if p is None else round(float(p), 6),
            method=a.method or None, explanation=json.dumps(explanation, ensure_ascii=False, default=str),
            override_id=ov.id if ov else None, differs=bool(ov is not None and ov.grade != computed),
            published=False))
    return out


def _num(x: Any) -> float | None:
    return None if x is None else round(float(x), 6)




def _text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise FoodtraceError(f"{what} must not be empty")
    return text


def new_override(operator_id: str, grade: str | None, *, reason: str | None, by: str | None, created: str,
                 record_id: str, assessments: Iterable[RiskAssessment], overrides: Iterable[GradeOverride],
                 name: str | None = None) -> GradeOverride:
    """The :class:`GradeOverride` setting ``operator_id``'s grade by hand, per the credit team's rules.

    The grade must be A-D, the reason and who decides it must not be empty, and no override may be
    in force (:class:`OverrideConflict`: lift it first). The record keeps the computed grade and id of
    the latest assessment. ``name`` is the operator's name for messages.

    >>> o = new_override("op", "d", reason=" 约谈后仍未整改 ", by="王科长", created="2026-03-05T09:00:00+08:00",
    ...                  record_id="o1", assessments=[], overrides=[])
    >>> o.grade, o.reason, o.computed_grade
    ('D', '约谈后仍未整改', None)
    >>> new_override("op", "C", reason="x", by="李", created="2026-03-06T09:00:00+08:00", record_id="o2",
    ...              assessments=[], overrides=[o])
    Traceback (most recent call last):
    ...
    ontology.errors.OverrideConflict: op (op) already has an override to D in force (set by 王科长 at 2026-03-05T09:00:00); lift it first with --lift
    """
    g = check_grade(grade)
    reason, by = _text(reason, "the reason"), _text(by, "who decides it (by)")
    current = override_in_force(overrides)
    label = f"{name or operator_id} ({operator_id})"
    if current is not None:
        raise OverrideConflict(f"{label} already has an override to {current.grade} in force (set by "
                               f"{current.by} at {(current.created or '')[:19]}); lift it first with --lift")
    latest = latest_assessment(assessments)
    return GradeOverride(id=record_id, operator_id=operator_id, grade=g, reason=reason, by=by, created=created,
                         computed_grade=latest.computed_grade if latest else None,
                         assessment_id=latest.id if latest else None)


def lifted_override(operator_id: str, overrides: Iterable[GradeOverride], *, reason: str | None, by: str | None,
                    at: str, name: str | None = None) -> GradeOverride:
    """The override in force, stamped lifted at ``at`` by ``by`` for ``reason`` (:class:`OverrideConflict`
    where none is in force).

    >>> o = GradeOverride(id="o1", operator_id="op", grade="D", reason="约谈", by="王", created="2026-03-05T09:00:00+08:00")
    >>> lifted_override("op", [o], reason="复查合格", by="李", at="2026-04-01T09:00:00+08:00").lifted_by
    '李'
    """
    reason, by = _text(reason, "the reason"), _text(by, "who decides it (by)")
    current = override_in_force(overrides)
    if current is None:
        raise OverrideConflict(f"{name or operator_id} ({operator_id}) has no grade override in force to lift")
    return replace(current, lifted=at, lifted_by=by, lift_reason=reason)
