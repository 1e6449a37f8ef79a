"""核查处置: disposal cases, their steps, deadlines, warnings and the completion rate (computed here, once).

Pure: functions read a :class:`graph.view.ReadView` (or plain records) and return records to write or plain
data; the command line and the service write and print. What a step means and which may follow which is
:mod:`ontology.handling`; this module applies it to a store.

Opening
-------
A case opens **automatically** for each nonconforming, undisputed supervisory sample (:func:`cases_to_open`):
on the day the laboratory's report was due (20 working days after sampling, S15 第二十四条: the bureau
learns of the result then) or on the announcement day if that came first; it is assigned to the district of
the business where the sample was taken (the city's bureau where that district is unknown). A case opens
**on demand** (:func:`open_case`) for a rapid test, a risk-monitoring sample, a complaint or a lot a trace
reached. A case keeps the deadline computed when it opened (90 days, S15 第四十五条).

Completion (核查处置完成率)
-------------------------
:func:`completion` is the one computation of the rate that the early warnings, the consultation report and
the indicators show: of the cases whose deadline in force fell within a period and before ``as_of``, the
share done (closed, or cleared by a passing re-test) before ``as_of`` (完成率) and the share done by their
deadline (按时完成率).

>>> from ontology.records import DisposalCase
>>> c = DisposalCase(id="c", number="HC-1", trigger="supervisory_sample", operator_id="shop",
...                  district_id="urn:foodtrace:region:320602", opened="2026-01-05", due="2026-04-03",
...                  rules_version="2026.1")
>>> r = case_row(c, [], as_of="2026-04-09")   # Qingming: 4-6 April 2026
>>> r.status, r.overdue_workdays, r.level
('overdue', 2, 'prompt')
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ontology.errors import InvalidRecord, NotFound
from ontology.handling import (History, Rules, case_id, check_step, district_of, due, evidence_id, history,
                               outside_city, rules, step_id)
from ontology.records import DisposalCase, EvidenceFile, HandlingStep, Record
from ontology.times import day_of, now_iso, parse_day
from ontology.workdays import add_workdays, workdays_between

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["AUTO_BY", "LAB_WORKDAYS", "auto_opening_day",
           "cases_to_open", "open_case", "new_step", "recall_list", "evidence_file", "media_type_of",
           "CaseRow", "case_row", "case_rows", "histories", "steps_by_subject", "Completion", "completion",
           "cleared_samples", "cleared_on",
           "subject_of", "disposal_of_samples", "Escalation", "escalations"]

#: who opened an automatic case
AUTO_BY = "foodtrace"
#: working days a laboratory has to report a result (S15 第二十四条第二款: 20 working days of receiving the sample)
LAB_WORKDAYS = 20


# -- opening ---------------------------------------------------------------------------------------------


def auto_opening_day(sample: Any) -> str | None:
    """The day an automatic case opens for a sample: its laboratory report's due day (20 working days after
    sampling), or the announcement day if earlier; None when the sample has neither date."""
    taken = day_of(sample.sampled_at)
    announced = day_of(sample.announced)
    lab = add_workdays(date.fromisoformat(taken), LAB_WORKDAYS).isoformat() if taken else None
    days = [d for d in (lab, announced) if d]
    return min(days) if days else None


def _nonconforming(s: Any) -> bool:
    return (s.conclusion or "").strip().lower() in ("nonconforming", "不合格")


def _auto_number(sample_id: str, district: str, opened: str) -> str:
    code = district.rsplit(":", 1)[-1]
    return f"HC-{code}-{opened.replace('-', '')}-{hashlib.sha256(sample_id.encode()).hexdigest()[:8].upper()}"


def cases_to_open(view: "ReadView", *, as_of: Any, table: Rules | None = None) -> list[DisposalCase]:
    """The automatic cases not yet opened: one per nonconforming, undisputed supervisory sample without a case
    whose opening day (:func:`auto_opening_day`) is before ``as_of``."""
    table = table or rules()
    cut = parse_day(as_of).isoformat()
    have = {c.sample_id for c in view.scan("disposal_case") if c.sample_id}
    todo = [s for s in view.scan("sample") if s.plan == "supervisory" and _nonconforming(s) and not s.disputed
            and s.id not in have]
    ops = view.get_many("operator", {s.sampled_id for s in todo if s.sampled_id})
    parents = view.get_many("operator", {o.parent_id for o in ops.values() if o.parent_id} - ops.keys())
    ops = {**parents, **ops}
    out = []
    for s in sorted(todo, key=lambda s: s.id):
        opened = auto_opening_day(s)
        if opened is None or opened >= cut or not s.sampled_id:
            continue
        district = district_of(ops, s.sampled_id)
        number = _auto_number(s.id, district, opened)
        out.append(DisposalCase(id=case_id(number), number=number, trigger="supervisory_sample",
                                operator_id=s.sampled_id, producer_id=s.producer_id, district_id=district,
                                sample_id=s.id, lot_id=s.lot_id, opened=opened,
                                due=due(opened, "disposal_complete", table)[0], rules_version=table.version,
                                opened_by=AUTO_BY))
    return out


#: the sampling plan of each sample trigger
_SAMPLE_PLAN = {"rapid_test": "rapid", "monitoring_sample": "monitoring", "supervisory_sample": "supervisory"}
_TRIGGER_TABLE = {"rapid_test": "sample", "monitoring_sample": "sample", "supervisory_sample": "sample",
                  "complaint": "complaint", "trace": "lot"}


def open_case(view: "ReadView", *, trigger: str, ref: str, opened: Any, by: str, today: Any,
              number: str | None = None, operator: str | None = None, note: str | None = None,
              table: Rules | None = None) -> DisposalCase:
    """A case opened on demand for a sample (``rapid_test``, ``monitoring_sample``, ``supervisory_sample``), a
    complaint (``complaint``) or a lot a trace reached (``trace``; ``operator`` names the business holding it).

    Raises :class:`ontology.errors.NotFound` for an unknown reference and
    :class:`ontology.errors.InvalidRecord` for a bad date, a sample that has a case or did not fail.
    """
    table = table or rules()
    if trigger not in _TRIGGER_TABLE:
        raise InvalidRecord(f"a case opens for {', '.join(_TRIGGER_TABLE)}, not {trigger!r}")
    if not (by or "").strip():
        raise InvalidRecord("who opens the case is required (by)")
    kind = _TRIGGER_TABLE[trigger]
    rid = view.require(ref, kind)
    rec = view.get_many(kind, [rid])[rid]
    day = parse_day(opened, "opened").isoformat()
    now = parse_day(today, "today").isoformat()
    if day > now:
        raise InvalidRecord(f"the opening day {day} is in the future (today is {now})")
    sample_id = complaint_id = lot_id = producer = None
    if kind == "sample":
        if not _nonconforming(rec):
            raise InvalidRecord(f"sample {ref} is not nonconforming: no case to open")
        plan = _SAMPLE_PLAN[trigger]
        if rec.plan != plan:
            as_ = next((t for t, p in _SAMPLE_PLAN.items() if p == rec.plan), None)
            raise InvalidRecord(f"sample {ref} is a {rec.plan} sample, not {plan}: open it as {as_}")
        taken = day_of(rec.sampled_at)
        if taken and day < taken:
            raise InvalidRecord(f"the opening day {day} is before the sample was taken ({taken})")
        existing = [c.number for c in view.scan("disposal_case", {"sample_id": rid})]
        if existing:
            raise InvalidRecord(f"sample {ref} already has disposal case {existing[0]}")
        sample_id, lot_id, producer, business = rid, rec.lot_id, rec.producer_id, rec.sampled_id
    elif kind == "complaint":
        if rec.date and day < rec.date:
            raise InvalidRecord(f"the opening day {day} is before the complaint was received ({rec.date})")
        complaint_id, lot_id, business = rid, rec.lot_id, rec.operator_id
        sample_id = rec.sample_id
    else:
        if not operator:
            raise InvalidRecord("a case opened from a trace names the business holding the lot (operator)")
        lot_id, business = rid, None
    if operator:
        business = view.require(operator, "operator")
    ops = view.get_many("operator", [business])
    op = ops.get(business)
    if op is not None and op.parent_id:
        ops.update(view.get_many("operator", [op.parent_id]))
    district = district_of(ops, business)
    if number is None:
        number = _auto_number(f"{trigger}:{rid}:{business}", district, day)
    cid = case_id(number)
    if view.get_many("disposal_case", [cid]):
        raise InvalidRecord(f"a disposal case numbered {number} exists")
    return DisposalCase(id=cid, number=number, trigger=trigger, operator_id=business, producer_id=producer,
                        district_id=district, sample_id=sample_id, complaint_id=complaint_id, lot_id=lot_id,
                        opened=day, due=due(day, "disposal_complete", table)[0], rules_version=table.version,
                        opened_by=by.strip(), note=note)


# -- steps ------------------------------------------------------------------------------------------------


def subject_of(view: "ReadView", ident: str) -> Record:
    """The disposal case (by id or number) or complaint (by id or registration number) ``ident`` names."""
    for cand in (ident, case_id(ident) if ident and not ident.startswith("urn:") else None):
        if cand:
            found = view.get_many("disposal_case", [cand])
            if found:
                return found[cand]
    cid = view.resolve_many([ident]).get(ident)
    if cid is None and ident and not ident.startswith("urn:"):
        from ontology.identifiers import local_id

        cid = local_id("complaint", ident)
    if cid:
        for table in ("disposal_case", "complaint"):
            found = view.get_many(table, [cid])
            if found:
                return found[cid]
    raise NotFound(f"no disposal case or complaint has the identifier {ident!r}")


def recall_list(view: "ReadView", case: Any) -> str:
    """A recall list for a case from the downstream trace of its sample (or lot), explicit links only:
    each receiver with the deliveries and lots it received (JSON text, receivers sorted)."""
    from reasoning.trace import TraceOptions, trace

    start = case.sample_id or case.lot_id
    if not start:
        raise InvalidRecord(f"{case.number} names no sample or lot to trace a recall from")
    t = trace(view, start, "down", TraceOptions(infer=False))
    by: dict[str, dict[str, Any]] = {}
    for d in t.deliveries:
        r = by.setdefault(d.receiver_id, {"id": d.receiver_id, "deliveries": [], "lots": []})
        r["deliveries"].append(d.id)
        if d.lot_id not in r["lots"]:
            r["lots"].append(d.lot_id)
    receivers = [by[k] for k in sorted(by)]
    names = view.get_many("operator", list(by))
    for r in receivers:
        r["name"] = getattr(names.get(r["id"]), "name", None)
    if not receivers:
        raise InvalidRecord(f"the trace from {start} reaches no receiver: nothing to recall (record withdraw or "
                            f"seal instead)")
    return json.dumps({"start": start, "receivers": receivers}, ensure_ascii=False, sort_keys=True)


_MAGIC = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
_OOXML = {"word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def media_type_of(data: bytes) -> str | None:
    """The media type of a file recognised from its first bytes (PDF, JPEG, PNG, .docx, .xlsx), else None.

    >>> media_type_of(b"%PDF-1.7 ..."), media_type_of(b"MZ\\x90\\x00")
    ('application/pdf', None)
    """
    for magic, mt in _MAGIC:
        if data.startswith(magic):
            return mt
    if data.startswith(b"PK\x03\x04"):
        import io
        import zipfile

        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return None
        for prefix, mt in _OOXML.items():
            if any(n.startswith(prefix) for n in names):
                return mt
    return None


def evidence_file(name: str, data: bytes, *, by: str, table: Rules | None = None,
                  uploaded: str | None = None) -> EvidenceFile:
    """An evidence file record for ``data`` (stored by its SHA-256), or :class:`InvalidRecord` naming why
    it is refused: empty, larger than the rules allow, or of a type not accepted."""
    table = table or rules()
    label = name or "(no name)"
    if not data:
        raise InvalidRecord(f"evidence file {label} is empty")
    if len(data) > table.evidence_max_bytes:
        raise InvalidRecord(f"evidence file {label} is {len(data):,} bytes; the largest accepted is "
                            f"{table.evidence_max_bytes:,}")
    mt = media_type_of(data)
    if mt is None or mt not in table.evidence_types:
        raise InvalidRecord(f"evidence file {label} is not of an accepted type (PDF, JPEG, PNG, Word .docx, "
                            f"Excel .xlsx: recognised from the content, not the name)")
    sha = hashlib.sha256(data).hexdigest()
    return EvidenceFile(id=evidence_id(sha), sha256=sha, name=name or f"{sha[:12]}", media_type=mt, size=len(data),
                        content=base64.b64encode(data).decode("ascii"), uploaded=uploaded or now_iso("seconds"),
                        by=by)


def new_step(view: "ReadView", subject: Any, *, kind: str, date: Any, by: str, today: Any,
             party: str | None = None, outcome: str | None = None, reason: str | None = None,
             note: str | None = None, case: str | None = None, due_day: Any = None, corrects: str | None = None,
             evidence: Sequence[EvidenceFile] = (), recorded: str | None = None,
             table: Rules | None = None) -> list[Record]:
    """The records of a new step of a disposal case or complaint (the step, and its evidence files), checked
    against the history (:func:`ontology.handling.check_step`); nothing is written.

    ``party`` and ``case`` are resolved in any identifier form; a ``recall`` step gets the recall list of the
    trace (:func:`recall_list`); ``corrects`` names an earlier step by id or by number in the history.
    """
    table = table or rules()
    steps = list(view.scan("handling_step", {"subject_id": subject.id}))
    seq = max((s.seq or 0 for s in steps), default=0) + 1
    try:
        day = parse_day(date, "date").isoformat()
    except InvalidRecord:
        raise InvalidRecord(f"the date {date!r} is not a date (YYYY-MM-DD)") from None
    party_id = view.require(party, "operator") if party else None
    case_ref = view.require(case, "case") if case else None
    corrects_id = None
    if corrects:
        by_seq = {str(s.seq): s.id for s in steps}
        corrects_id = by_seq.get(str(corrects).strip(), str(corrects).strip())
    sample_day = None
    producer_out = False
    if subject.table == "disposal_case":
        if subject.sample_id:
            s = view.get_many("sample", [subject.sample_id]).get(subject.sample_id)
            sample_day = day_of(s.sampled_at) if s is not None else None
        if subject.producer_id:
            producer_out = outside_city(view.get_many("operator", [subject.producer_id]).get(subject.producer_id))
    recall = recall_list(view, subject) if kind == "recall" and subject.table == "disposal_case" else None
    step = HandlingStep(id=step_id(subject.id, seq, kind, day), subject_id=subject.id, seq=seq, kind=kind, date=day,
                        by=(by or "").strip(), recorded=recorded or now_iso("seconds"), party_id=party_id,
                        outcome=outcome, reason=reason, note=note, case_id=case_ref,
                        due=parse_day(due_day, "due").isoformat() if due_day else None, corrects_id=corrects_id,
                        evidence_ids=" ".join(e.id for e in evidence) or None, recall_list=recall)
    check_step(subject, steps, step, today=today, sample_day=sample_day, producer_outside=producer_out, table=table)
    return [*evidence, step]


# -- state and figures -------------------------------------------------------------------------------------


def steps_by_subject(view: "ReadView", subjects: Iterable[Any], *, as_of: Any = None) -> dict[str, list[Any]]:
    """The steps of each subject (those dated before ``as_of`` where given), reading the steps once."""
    wanted = {s.id for s in subjects}
    cut = parse_day(as_of).isoformat() if as_of is not None else None
    by: dict[str, list[Any]] = {i: [] for i in wanted}
    for st in view.scan("handling_step"):
        if st.subject_id in wanted and (cut is None or (st.date or "") < cut):
            by[st.subject_id].append(st)
    return by


def histories(view: "ReadView", subjects: Iterable[Any], *, as_of: Any = None,
              table: Rules | None = None) -> dict[str, History]:
    """The :class:`ontology.handling.History` of each subject as known before ``as_of`` (all steps if None)."""
    subjects = list(subjects)
    by = steps_by_subject(view, subjects, as_of=as_of)
    return {s.id: history(s, by[s.id], table) for s in subjects}


@dataclass(frozen=True)
class CaseRow:
    """One disposal case as of a day: its deadline in force, what is done, what is late, the level reached."""

    id: str
    number: str
    trigger: str
    operator_id: str
    producer_id: str | None
    district_id: str
    sample_id: str | None
    opened: str
    due: str
    done: str | None
    status: str            # cleared, closed, overdue, due_soon, open
    on_time: bool | None
    overdue_workdays: int
    left_workdays: int | None
    level: str | None
    served: tuple[str, ...]
    measures: tuple[str, ...]
    next_steps: tuple[str, ...]
    escalations: int
    rules_version: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _next_steps(h: History) -> tuple[str, ...]:
    if h.done:
        return ()
    out = []
    if h.operator_id not in h.served:
        out.append("served")
    else:
        if not h.cause:
            out.append("cause")
        if not h.rectified:
            out.append("rectified")
        if not h.decision:
            out.append("filed/not_filed")
        if h.unconfirmed():
            out.append("recall_confirmed")
    if h.producer_id and h.producer_id != h.operator_id and h.producer_id not in h.served \
            and h.producer_id not in h.assist:
        out.append("served/assist_request")
    return tuple(out) or ("closed",)


def case_row(case: Any, steps: Iterable[Any], *, as_of: Any, table: Rules | None = None) -> CaseRow:
    """A case's row as known before ``as_of`` (steps dated on or after it are not known yet)."""
    table = table or rules()
    cut = parse_day(as_of).isoformat()
    h = history(case, [s for s in steps if (s.date or "") < cut], table)
    dl = h.due or case.due
    done = h.done
    today = date.fromisoformat(cut) - timedelta(days=1)  # the last day known
    overdue = left = 0
    level = None
    if done:
        status = "cleared" if h.cleared and not h.closed else "closed"
        on_time = done <= dl
        left = None
    else:
        on_time = None
        d = date.fromisoformat(dl)
        if dl < cut:
            status = "overdue"
            overdue = max(1, workdays_between(d, today))
            lv = table.level_for(overdue)
            level = lv.level if lv else None
        else:
            left = workdays_between(today, d)
            status = "due_soon" if left <= table.due_soon_workdays else "open"
    return CaseRow(case.id, case.number, case.trigger, case.operator_id, case.producer_id, case.district_id,
                   case.sample_id, case.opened, dl, done, status, on_time, overdue, left, level,
                   tuple(sorted(h.served)), tuple(sorted(h.measures)), _next_steps(h), len(h.escalations),
                   case.rules_version)


def case_rows(view: "ReadView", *, as_of: Any, district: str | None = None,
              table: Rules | None = None) -> list[CaseRow]:
    """Every disposal case opened before ``as_of`` (of one district where given), overdue first."""
    cut = parse_day(as_of).isoformat()
    cases = [c for c in view.scan("disposal_case")
             if c.opened < cut and (district is None or c.district_id == district)]
    by = steps_by_subject(view, cases, as_of=cut)
    rows = [case_row(c, by[c.id], as_of=cut, table=table) for c in cases]
    order = {"overdue": 0, "due_soon": 1, "open": 2, "closed": 3, "cleared": 4}
    rows.sort(key=lambda r: (order[r.status], -r.overdue_workdays, r.due, r.number))
    return rows


@dataclass(frozen=True)
class Completion:
    """核查处置 completion over the cases due in a period, as of a day.

    ``due``: cases whose deadline in force fell in the period and before ``as_of``; ``completed``: those
    done before ``as_of``; ``on_time``: those done by their deadline. ``rate`` = completed / due (完成率),
    ``on_time_rate`` = on_time / due (按时完成率), None when nothing was due. ``pending``: cases of the
    period not yet due; ``ids`` of each group for the records behind the figures.
    """

    as_of: str
    start: str | None
    end: str | None
    due: int
    completed: int
    on_time: int
    overdue: int
    pending: int
    rate: float | None
    on_time_rate: float | None
    ids: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def completion(rows: Iterable[CaseRow], *, as_of: Any, start: Any = None, end: Any = None) -> Completion:
    """The completion figures of the case rows (as of ``as_of``) whose deadline falls from ``start`` to ``end``
    (inclusive; open-ended where None).

    >>> rows = [CaseRow("a", "A", "t", "o", None, "d", None, "2026-01-01", "2026-03-01", "2026-02-20", "closed",
    ...                 True, 0, None, None, (), (), (), 0, "v"),
    ...         CaseRow("b", "B", "t", "o", None, "d", None, "2026-01-01", "2026-03-01", None, "overdue",
    ...                 None, 3, None, "prompt", (), (), (), 0, "v")]
    >>> c = completion(rows, as_of="2026-03-05"); c.due, c.completed, c.rate, c.on_time_rate
    (2, 1, 0.5, 0.5)
    """
    cut = parse_day(as_of).isoformat()
    lo = parse_day(start).isoformat() if start is not None else None
    hi = parse_day(end).isoformat() if end is not None else None
    ids: dict[str, list[str]] = {"due": [], "completed": [], "on_time": [], "overdue": [], "pending": []}
    for r in rows:
        if (lo and r.due < lo) or (hi and r.due > hi):
            continue
        if r.due >= cut:
            ids["pending"].append(r.id)
            continue
        ids["due"].append(r.id)
        if r.done and r.done < cut:
            ids["completed"].append(r.id)
            if r.done <= r.due:
                ids["on_time"].append(r.id)
        else:
            ids["overdue"].append(r.id)
    n = len(ids["due"])
    return Completion(cut, lo, hi, n, len(ids["completed"]), len(ids["on_time"]), len(ids["overdue"]),
                      len(ids["pending"]), round(len(ids["completed"]) / n, 4) if n else None,
                      round(len(ids["on_time"]) / n, 4) if n else None, ids)


def cleared_on(view: "ReadView") -> dict[str, str]:
    """The day each sample's case was cleared by a passing re-test (samples whose case was not: absent)."""
    cases = [c for c in view.scan("disposal_case") if c.sample_id]
    if not cases:
        return {}
    hs = histories(view, cases)
    return {c.sample_id: hs[c.id].retest[0] for c in cases if hs[c.id].cleared}  # type: ignore[index]


def cleared_samples(view: "ReadView", *, as_of: Any = None) -> set[str]:
    """Samples whose case was cleared by a passing re-test (known before ``as_of``): they count against no one."""
    cut = parse_day(as_of).isoformat() if as_of is not None else None
    return {s for s, day in cleared_on(view).items() if cut is None or day < cut}


def disposal_of_samples(view: "ReadView", samples: Iterable[Any], *, as_of: Any = None,
                        table: Rules | None = None) -> dict[str, tuple[str | None, str | None, str | None]]:
    """The 核查处置 of each nonconforming sample: (deadline in force, day done, case number).

    From the sample's disposal case where it has one (its steps dated before ``as_of`` known; done is the day
    it closed or was cleared by a re-test); else as the sample itself records them (``Sample.disposal_due``
    and ``disposal_done``, the columns of the samples template before cases existed). The one source of the
    early warnings', the consultation report's and the public notices' disposal figures.
    """
    bad = [s for s in samples if _nonconforming(s)]
    if not bad:
        return {}
    wanted = {s.id for s in bad}
    if len(wanted) > 50:
        cases = [c for c in view.scan("disposal_case") if c.sample_id in wanted]
    else:
        cases = [c for sid in sorted(wanted) for c in view.scan("disposal_case", {"sample_id": sid})]
    by_sample = {c.sample_id: c for c in sorted(cases, key=lambda c: c.opened)}
    steps = steps_by_subject(view, by_sample.values(), as_of=as_of)
    out: dict[str, tuple[str | None, str | None, str | None]] = {}
    for s in bad:
        c = by_sample.get(s.id)
        if c is None:
            out[s.id] = (day_of(s.disposal_due), day_of(s.disposal_done), None)
        else:
            h = history(c, steps[c.id], table)
            out[s.id] = (h.due or c.due, h.done, c.number)
    return out


@dataclass(frozen=True)
class Escalation:
    """The overdue work of one district at one level of the ladder: what a letter of 三书一函 lists."""

    district_id: str
    level: str
    items: tuple[Any, ...]   # CaseRow or ComplaintRow, most overdue first

    def to_dict(self) -> dict[str, Any]:
        return {"district_id": self.district_id, "level": self.level, "items": [i.to_dict() for i in self.items]}


def escalations(rows: Iterable[Any], table: Rules | None = None) -> list[Escalation]:
    """Overdue cases and complaints (rows of :func:`case_rows` and
    :func:`reasoning.complaints.complaint_rows`) grouped by district and the level of the ladder they reached,
    districts in order, levels from the highest."""
    table = table or rules()
    order = {lv.level: i for i, lv in enumerate(table.escalation)}
    groups: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        if r.status == "overdue" and r.level:
            groups.setdefault((r.district_id, r.level), []).append(r)
    return [Escalation(d, lv, tuple(sorted(items, key=lambda r: (-r.overdue_workdays, r.number))))
            for (d, lv), items in sorted(groups.items(), key=lambda kv: (kv[0][0], -order[kv[0][1]]))]
