"""The rules of handling: 核查处置 (disposal cases) and 投诉举报 (complaints and reports).

One place for what a handling step means: the deadlines (a versioned, cited table,
``handling_rules.toml``, counted in working days by :mod:`ontology.workdays`), which step may follow
which (:func:`check_step`, used by the command line, the service and the template loader alike), and
what a history of steps amounts to (:func:`history`: served, re-tested, recalled, closed, on time ...).
Pure: plain records in, plain data out.

History is append-only. A step that names an earlier one in ``corrects_id`` replaces it (a ``void``
step cancels it); :func:`effective_steps` is the history with corrections applied, which every figure
reads.

The disposal workflow
---------------------
``served`` (the report served on the business, and on the nominal producer) comes first; an
``objection`` within 7 working days of being served may ask for a ``retest``, whose ``pass`` closes the
case as *cleared* (the sample stops counting against anyone); control measures (``withdraw``, ``seal``,
``recall`` with the trace's recall list and one ``recall_confirmed`` per receiver, ``destroy``), the
``cause``, ``rectified``, the case decision (``filed`` or ``not_filed`` with a reason) and ``published``
follow; ``closed`` needs the business served, the nominal producer served (or, for a producer in another
city, an ``assist_request`` to that city's bureau), the cause, the rectification, the case decision and
every recall receiver's confirmation. ``extension`` sets a later deadline (with a reason);
``escalation`` records a level of the ladder with its letter.

The complaint workflow
----------------------
A complaint (投诉) is ``accepted`` or ``rejected`` within 7 working days of being received; an accepted
one is ``mediated`` or its mediation ends (``mediation_ended``) within 45 working days; it closes after
either, after a rejection or after being ``transferred``. A report (举报) is ``verified`` and a case
decided (``filed`` / ``not_filed``) within 15 working days (an ``extension`` adds 15); a real-name
reporter is told (``replied``). ``closed`` ends both. A complaint or report is *handled on time* when it
closed by its closing deadline (:attr:`History.close_due`).

Examples
--------
>>> from ontology.records import DisposalCase, HandlingStep
>>> case = DisposalCase(id="c", number="HC-1", trigger="supervisory_sample", operator_id="shop",
...                     district_id="urn:foodtrace:region:320602", opened="2026-02-12", due="2026-05-13",
...                     rules_version="2026.1")
>>> served = HandlingStep(id="c/1", subject_id="c", seq=1, kind="served", date="2026-02-13", by="张三",
...                       recorded="2026-02-13T09:00:00+08:00", party_id="shop")
>>> h = history(case, [served])
>>> h.served, h.objection_due("shop")   # 7 working days: Saturdays 14 and 28 worked, the Spring Festival not
({'shop': '2026-02-13'}, '2026-03-02')
>>> late = HandlingStep(id="c/2", subject_id="c", seq=2, kind="objection", date="2026-03-03", by="张三",
...                     recorded="2026-03-03T09:00:00+08:00", party_id="shop")
>>> check_step(case, [served], late, today="2026-03-10")
Traceback (most recent call last):
...
ontology.errors.InvalidRecord: step 2 (异议 objection) of HC-1: the objection window of shop closed on 2026-03-02 (7 working days after it was served on 2026-02-13)
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .errors import InvalidRecord
from .times import day_of, parse_day
from .workdays import add_workdays, is_estimated, is_workday

__all__ = ["RULES_PATH", "CITY", "districts", "district_id", "district_of", "outside_city", "case_id", "step_id", "evidence_id", "Rules", "Deadline", "Level", "rules", "due", "DISPOSAL_STEPS", "COMPLAINT_STEPS",
           "MEASURES", "TERMINAL", "History", "history", "effective_steps", "check_step", "step_label",
           "RulesError"]

RULES_PATH = Path(__file__).with_name("handling_rules.toml")

#: the steps of a disposal case, in the order they usually come
DISPOSAL_STEPS = ("served", "objection", "retest", "withdraw", "seal", "recall", "recall_confirmed", "destroy",
                  "cause", "rectified", "filed", "not_filed", "assist_request", "assist_reply", "published",
                  "extension", "escalation", "closed", "void")
#: the steps of a complaint's or report's handling
COMPLAINT_STEPS = ("accepted", "rejected", "transferred", "mediated", "mediation_ended", "verified", "filed",
                   "not_filed", "replied", "extension", "escalation", "closed", "void")
#: control measures (控制措施) of a disposal case
MEASURES = ("withdraw", "seal", "recall", "destroy")
#: steps after which only corrections (and publishing a disposal) may come
TERMINAL = ("closed",)


def case_id(number: str) -> str:
    """The canonical id of the disposal case with this number.

    >>> case_id("HC-320602-2026-0001")
    'urn:foodtrace:disposal_case:HC-320602-2026-0001'
    """
    from .identifiers import local_id

    return local_id("disposal_case", number)


def step_id(subject_id: str, seq: int, kind: str, day: str) -> str:
    """The id of a handling step: a hash of its subject, number, kind and day (the same step read twice is
    one record; two officers recording step 5 at once keep both)."""
    h = hashlib.sha256("\x1f".join((subject_id, str(seq), kind, day)).encode()).hexdigest()[:24]
    return f"urn:foodtrace:handling_step:{h}"


def evidence_id(sha256: str) -> str:
    """The id of an evidence file: its content hash."""
    return f"urn:foodtrace:evidence:sha256:{sha256}"


#: the city's own bureau: in charge where a business's district is unknown
CITY = "urn:foodtrace:region:320600"


# -- districts: who is in charge ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def districts() -> dict[str, tuple[str, str]]:
    """Nantong's districts and county-level cities: region id -> (Chinese, English) name."""
    from .vocab import labels, region_records

    names = labels("region")
    return {r.id: names[r.id] for r in region_records() if r.parent_id == CITY}


def district_id(text: str | None) -> str | None:
    """A district named any way (崇川区, 320602, its region id) as its region id; InvalidRecord naming the known
    ones for anything else (None stays None).

    >>> district_id("崇川区"), district_id("320685")
    ('urn:foodtrace:region:320602', 'urn:foodtrace:region:320685')
    """
    if text is None:
        return None
    from .vocab import lookup

    found = lookup("region", str(text).strip())
    if found not in districts():
        names = "、".join(zh for zh, _ in districts().values())
        raise InvalidRecord(f"unknown district {text!r}: one of {names}")
    return found


def district_of(operators: Mapping[str, Any], oid: str | None) -> str:
    """The district of an operator (a stall's market's where it names none); the city where unknown."""
    op = operators.get(oid or "")
    if op is None:
        return CITY
    region = op.region_id
    if region is None and op.parent_id and op.parent_id in operators:
        region = operators[op.parent_id].region_id
    return region if region in districts() else CITY


def outside_city(op: Any) -> bool:
    """A producer in another city: no Nantong district and an address naming none of Nantong's places.

    >>> from ontology.records import Operator
    >>> outside_city(Operator(id="p", kind="Producer", name="某某食品厂", address="江苏省泰州市海陵区某路1号"))
    True
    >>> outside_city(Operator(id="p", kind="Producer", name="某某食品厂", address="南通市崇川区某路1号"))
    False
    """
    if op is None or op.region_id or not op.address:
        return False
    places = ["南通"] + [zh for zh, _ in districts().values()] + [zh[:-1] for zh, _ in districts().values()]
    return not any(p in op.address for p in places)



class RulesError(InvalidRecord):
    """The handling rules table is malformed (the message names the key)."""


@dataclass(frozen=True)
class Deadline:
    """One deadline of the table: ``amount`` working days (``workdays``) or calendar days (``days``) after
    the event ``start``; ``source`` cites the rule, ``verified`` says whether its text was read."""

    key: str
    zh: str
    en: str
    amount: int
    unit: str
    start: str
    source: str
    verified: bool

    def after(self, day: date) -> tuple[date, bool]:
        """The deadline for an event on ``day``, and whether a year the calendar does not cover was crossed."""
        if self.unit == "days":
            end = day + timedelta(days=self.amount)
            while not is_workday(end):  # a period ending on a rest day or holiday ends on the next working day
                end += timedelta(days=1)
            return end, is_estimated(end)
        end = add_workdays(day, self.amount)
        return end, is_estimated(end) or is_estimated(day)


@dataclass(frozen=True)
class Level:
    """A level of the escalation ladder and its letter (三书一函)."""

    level: str
    zh: str
    en: str
    after_workdays: int
    letter_zh: str
    letter_en: str


@dataclass(frozen=True)
class Rules:
    """The rules table: its version, deadlines, warning margin, escalation ladder and evidence limits."""

    version: str
    deadlines: dict[str, Deadline]
    due_soon_workdays: int
    escalation: tuple[Level, ...]
    evidence_max_bytes: int
    evidence_types: tuple[str, ...]
    path: str = ""

    def level_for(self, overdue_workdays: int) -> Level | None:
        """The highest level reached ``overdue_workdays`` working days after a deadline (None before the first).

        >>> [getattr(rules().level_for(n), "level", None) for n in (0, 1, 10, 25, 40)]
        [None, 'prompt', 'supervise', 'interview', 'notify']
        """
        found = None
        for lv in self.escalation:
            if overdue_workdays >= lv.after_workdays:
                found = lv
        return found


def _need(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise RulesError(f"[{where}] needs {key!r}")
    value = table[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise RulesError(f"[{where}.{key}] must be a whole number")
    if kind is not int and not isinstance(value, kind):
        raise RulesError(f"[{where}.{key}] must be a {kind.__name__}")
    return value


def _read(path: Path) -> Rules:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RulesError(f"cannot read the handling rules {path}: {e}") from None
    version = _need(data, "version", str, "rules")
    deadlines = {}
    for key, d in _need(data, "deadlines", dict, "rules").items():
        where = f"deadlines.{key}"
        unit = _need(d, "unit", str, where)
        if unit not in ("workdays", "days"):
            raise RulesError(f"[{where}.unit] must be workdays or days, not {unit!r}")
        amount = _need(d, "amount", int, where)
        if amount < 0:
            raise RulesError(f"[{where}.amount] must be >= 0")
        deadlines[key] = Deadline(key, _need(d, "zh", str, where), _need(d, "en", str, where), amount, unit,
                                  _need(d, "from", str, where), _need(d, "source", str, where),
                                  bool(d.get("verified", False)))
    levels = []
    for i, lv in enumerate(_need(data, "escalation", list, "rules")):
        where = f"escalation.{i}"
        levels.append(Level(_need(lv, "level", str, where), _need(lv, "zh", str, where), _need(lv, "en", str, where),
                            _need(lv, "after_workdays", int, where), _need(lv, "letter_zh", str, where),
                            _need(lv, "letter_en", str, where)))
    if [lv.after_workdays for lv in levels] != sorted(lv.after_workdays for lv in levels):
        raise RulesError("[escalation] levels must come in increasing after_workdays")
    warn = _need(data, "warnings", dict, "rules")
    ev = _need(data, "evidence", dict, "rules")
    missing = {"disposal_serve", "disposal_objection", "disposal_complete", "complaint_accept", "complaint_mediate",
               "report_decide", "report_extend", "report_reply"} - deadlines.keys()
    if missing:
        raise RulesError(f"[deadlines] misses {', '.join(sorted(missing))}")
    return Rules(version, deadlines, _need(warn, "due_soon_workdays", int, "warnings"), tuple(levels),
                 _need(ev, "max_bytes", int, "evidence"), tuple(_need(ev, "types", list, "evidence")), str(path))


@lru_cache(maxsize=8)
def rules(path: str | None = None) -> Rules:
    """The rules table (``handling_rules.toml`` beside this module unless ``path`` names another).

    >>> r = rules(); r.deadlines["disposal_complete"].amount, r.deadlines["complaint_accept"].unit
    (90, 'workdays')
    """
    return _read(Path(path) if path else RULES_PATH)


def due(start: date | str, key: str, table: Rules | None = None) -> tuple[str, bool]:
    """The deadline ``key`` for an event on ``start`` (ISO day) and whether it is estimated (a year the
    calendar does not cover).

    >>> due("2026-02-12", "disposal_complete"), due("2026-02-12", "complaint_accept")
    (('2026-05-13', False), ('2026-02-28', False))
    """
    table = table or rules()
    try:
        d = table.deadlines[key]
    except KeyError:
        raise RulesError(f"the handling rules have no deadline {key!r}") from None
    end, estimated = d.after(parse_day(start, key))
    return end.isoformat(), estimated


def step_label(kind: str | None) -> str:
    """``受理 accepted``: a step kind with its Chinese label, for messages.

    >>> step_label("served")
    '送达 served'
    """
    from .vocab import labels

    zh = labels("handling_step").get(kind or "", (None, None))[0]
    return f"{zh} {kind}" if zh else str(kind)


# -- a history --------------------------------------------------------------------------------------------


def effective_steps(steps: Iterable[Any]) -> list[Any]:
    """The steps in their order, with corrections applied: a step naming an earlier one in ``corrects_id``
    takes its place; a ``void`` step removes it and itself.

    >>> from ontology.records import HandlingStep as S
    >>> a = S(id="a", subject_id="c", seq=1, kind="served", date="2026-01-02", by="x", recorded="t")
    >>> b = S(id="b", subject_id="c", seq=2, kind="served", date="2026-01-03", by="x", recorded="t", corrects_id="a")
    >>> v = S(id="v", subject_id="c", seq=3, kind="void", date="2026-01-04", by="x", recorded="t", corrects_id="b")
    >>> [s.id for s in effective_steps([a, b])], [s.id for s in effective_steps([a, b, v])]
    (['b'], [])
    """
    ordered = sorted(steps, key=lambda s: (s.seq or 0, s.id))
    gone: set[str] = set()
    for s in ordered:
        if s.corrects_id:
            gone.add(s.corrects_id)
        if s.kind == "void":
            gone.add(s.id)
    return [s for s in ordered if s.id not in gone]


def _recall_receivers(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        return []
    return [r["id"] for r in data.get("receivers", []) if isinstance(r, Mapping) and r.get("id")]


@dataclass
class History:
    """What a disposal case's or complaint's effective steps amount to (dates are ISO days).

    ``done`` is the day it was completed (closed, or cleared by a passing re-test) and ``due`` the deadline
    in force (an approved extension's, else the subject's own); ``on_time`` says whether it was done by it.
    """

    workflow: str
    subject_id: str
    number: str
    start: str
    kind: str = "disposal"
    operator_id: str | None = None
    producer_id: str | None = None
    steps: list[Any] = field(default_factory=list)
    served: dict[str, str] = field(default_factory=dict)
    objection: str | None = None
    retest: tuple[str, str] | None = None
    measures: dict[str, str] = field(default_factory=dict)
    recall_receivers: list[str] = field(default_factory=list)
    confirmed: dict[str, str] = field(default_factory=dict)
    cause: str | None = None
    rectified: str | None = None
    decision: tuple[str, str] | None = None
    published: str | None = None
    closed: str | None = None
    assist: dict[str, str] = field(default_factory=dict)
    assist_reply: str | None = None
    extension_due: str | None = None
    escalations: list[tuple[str, str]] = field(default_factory=list)
    accepted: str | None = None
    rejected: str | None = None
    transferred: str | None = None
    mediation: tuple[str, str] | None = None
    verified: str | None = None
    replied: str | None = None
    base_due: str | None = None
    table: Rules | None = field(default=None, repr=False)

    @property
    def cleared(self) -> bool:
        """A passing re-test: the case ends and the sample counts against no one."""
        return self.retest is not None and self.retest[1] == "pass"

    @property
    def done(self) -> str | None:
        if self.closed:
            return self.closed
        if self.workflow == "disposal" and self.cleared:
            return self.retest[0]  # type: ignore[index]
        return None

    @property
    def due(self) -> str | None:
        """The deadline in force: the latest approved extension's, else the subject's own."""
        return self.extension_due or self.close_due

    @property
    def close_due(self) -> str | None:
        """The closing deadline before extensions: a disposal case's own; a complaint's 45 working days after
        its acceptance (its acceptance deadline while not accepted); a report's 15 working days after it came."""
        if self.workflow == "disposal":
            return self.base_due
        t = self.table or rules()
        if self.kind == "report":
            return due(self.start, "report_decide", t)[0]
        if self.accepted:
            return due(self.accepted, "complaint_mediate", t)[0]
        return due(self.start, "complaint_accept", t)[0]

    def on_time(self) -> bool | None:
        """Done by the deadline in force (None while not done)."""
        if self.done is None:
            return None
        return self.due is None or self.done <= self.due

    def objection_due(self, party: str) -> str | None:
        """The last day ``party`` may object (7 working days after it was served), None if not served."""
        day = self.served.get(party)
        return due(day, "disposal_objection", self.table or rules())[0] if day else None

    def serve_due(self) -> str:
        """The day the result must be served by (5 working days after the case opened)."""
        return due(self.start, "disposal_serve", self.table or rules())[0]

    def accept_due(self) -> str:
        """The day a complaint must be accepted or declined by."""
        return due(self.start, "complaint_accept", self.table or rules())[0]

    def unconfirmed(self) -> list[str]:
        """Recall receivers that have not confirmed."""
        return [r for r in self.recall_receivers if r not in self.confirmed]

    def status(self) -> str:
        """``cleared``, ``closed``, or ``open``."""
        if self.workflow == "disposal" and self.cleared:
            return "cleared"
        return "closed" if self.closed else "open"


#: steps whose first day is all a history keeps of them: step kind -> History field
_FIRST_DAY = {k: k for k in ("objection", "cause", "rectified", "published", "closed", "accepted", "rejected",
                             "transferred", "verified", "replied")} | {"assist_reply": "assist_reply"}


def history(subject: Any, steps: Iterable[Any], table: Rules | None = None) -> History:
    """The :class:`History` of a disposal case or a complaint from its steps (any order; corrections applied)."""
    disposal = subject.table == "disposal_case"
    h = History("disposal" if disposal else "complaint", subject.id,
                getattr(subject, "number", None) or subject.id,
                (subject.opened if disposal else subject.date) or "",
                "disposal" if disposal else (subject.kind or "complaint"),
                subject.operator_id, getattr(subject, "producer_id", None), table=table)
    h.base_due = subject.due if disposal else None
    h.steps = effective_steps(s for s in steps if s.subject_id == subject.id)
    for s in h.steps:
        k, d = s.kind, s.date
        if k in _FIRST_DAY:
            if getattr(h, _FIRST_DAY[k]) is None:
                setattr(h, _FIRST_DAY[k], d)
        elif k == "served" and s.party_id:
            h.served.setdefault(s.party_id, d)
        elif k == "retest":
            h.retest = (d, (s.outcome or "").lower())
        elif k in MEASURES:
            h.measures.setdefault(k, d)
            if k == "recall":
                h.recall_receivers = list(dict.fromkeys(h.recall_receivers + _recall_receivers(s.recall_list)))
        elif k == "recall_confirmed" and s.party_id:
            h.confirmed.setdefault(s.party_id, d)
        elif k in ("filed", "not_filed"):
            h.decision = (k, d)
        elif k == "assist_request" and s.party_id:
            h.assist.setdefault(s.party_id, d)
        elif k == "extension" and s.due:
            h.extension_due = max(h.extension_due or "", s.due)
        elif k == "escalation":
            h.escalations.append((d, s.outcome or ""))
        elif k in ("mediated", "mediation_ended"):
            h.mediation = (k, d)
    return h


# -- checking a new step ---------------------------------------------------------------------------------


def check_step(subject: Any, steps: Sequence[Any], step: Any, *, today: date | str,
               sample_day: str | None = None, producer_outside: bool = False, table: Rules | None = None) -> None:
    """Raise :class:`ontology.errors.InvalidRecord` naming what is wrong if ``step`` may not follow ``steps``
    (the subject's recorded history) of ``subject`` (a DisposalCase or a Complaint).

    ``today``: a step may not be dated after it. ``sample_day``: the day the case's sample was taken, when
    known (no step before it). ``producer_outside``: the case's nominal producer is in another city (an
    assistance request stands for serving it).
    """
    disposal = subject.table == "disposal_case"
    h = history(subject, steps, table)
    where = f"step {step.seq} ({step_label(step.kind)}) of {h.number}"

    def bad(reason: str) -> InvalidRecord:
        return InvalidRecord(f"{where}: {reason}")

    allowed = DISPOSAL_STEPS if disposal else COMPLAINT_STEPS
    if step.kind not in allowed:
        what = "a disposal case" if disposal else "a complaint or report"
        raise bad(f"not a step of {what}; the steps are: {', '.join(allowed)}")
    if step.subject_id != subject.id:
        raise bad(f"belongs to {step.subject_id}, not to {subject.id}")
    if not (step.by or "").strip():
        raise bad("who did it is required (by)")
    try:
        day = parse_day(step.date, "date").isoformat()
    except InvalidRecord:
        raise bad(f"the date {step.date!r} is not a date (YYYY-MM-DD)") from None
    now = parse_day(today, "today").isoformat()
    if day > now:
        raise bad(f"the date {day} is in the future (today is {now})")
    start = day_of(h.start)
    if start and day < start:
        noun = "the case opened" if disposal else "it was received"
        raise bad(f"the date {day} is before {noun} ({start})")
    if sample_day and day < sample_day:
        raise bad(f"the date {day} is before the sample was taken ({sample_day})")
    nxt = max((s.seq or 0 for s in steps), default=0) + 1
    if step.seq != nxt:
        raise bad(f"its number must be {nxt} (the next in the history), not {step.seq}")

    ids = {s.id for s in steps}
    if step.corrects_id:
        if step.corrects_id not in ids:
            raise bad(f"it corrects {step.corrects_id}, which is no step of {h.number}")
        if step.corrects_id not in {s.id for s in h.steps}:
            raise bad(f"{step.corrects_id} was already corrected or cancelled")
        if not (step.reason or "").strip():
            raise bad("a correction needs a reason")
        old = next(s for s in steps if s.id == step.corrects_id)
        if step.kind != "void" and step.kind != old.kind:
            raise bad(f"a correction of a {step_label(old.kind)} step must be of the same kind (or void)")
        rest = [s for s in steps if s.id != step.corrects_id]
        h = history(subject, rest, table)  # the step replaces the one it corrects: check it in its place
    elif step.kind == "void":
        raise bad("a void step must name the step it cancels (corrects)")
    if step.kind == "void":
        return

    if h.done and not (disposal and step.kind == "published"):
        state = "cleared by a passing re-test" if disposal and h.cleared and not h.closed else "closed"
        raise bad(f"{h.number} was {state} on {h.done}; only a correction may follow")

    def after(prev: str | None, what: str) -> None:
        if prev is None:
            raise bad(f"needs {what} first")
        if day < prev:
            raise bad(f"the date {day} is before {what} ({prev})")

    def not_before_the_latest() -> None:
        last = max((s.date for s in h.steps), default=None)
        if last and day < last:
            raise bad(f"the date {day} is before the latest step ({last})")

    k = step.kind
    if disposal:
        parties = {p for p in (subject.operator_id, subject.producer_id) if p}
        first_served = min(h.served.values()) if h.served else None
        if k == "served":
            if not step.party_id:
                raise bad("the party served is required (party): the business or the nominal producer")
            if step.party_id not in parties:
                raise bad(f"{step.party_id} is neither the business ({subject.operator_id}) nor the nominal "
                          f"producer ({subject.producer_id or 'none'}) of {h.number}")
            if step.party_id in h.served:
                raise bad(f"{step.party_id} was already served on {h.served[step.party_id]}")
        elif k == "objection":
            party = step.party_id or subject.operator_id
            after(h.served.get(party), f"serving {party}")
            window = h.objection_due(party)
            if window and day > window:
                raise bad(f"the objection window of {party} closed on {window} (7 working days after it was "
                          f"served on {h.served[party]})")
            if h.objection:
                raise bad(f"an objection was already recorded on {h.objection}")
        elif k == "retest":
            after(h.objection, "an objection (复检申请)")
            if (step.outcome or "").lower() not in ("pass", "fail"):
                raise bad(f"a re-test's outcome must be pass or fail, not {step.outcome!r}")
            if h.retest:
                raise bad(f"a re-test was already recorded on {h.retest[0]}")
        elif k == "recall":
            after(first_served, "serving the result")
            if not _recall_receivers(step.recall_list):
                raise bad("a recall needs its recall list (recall_list: JSON with the receivers from the trace)")
        elif k == "recall_confirmed":
            after(h.measures.get("recall"), "a recall")
            if not step.party_id:
                raise bad("the receiver that confirmed is required (party)")
            if step.party_id not in h.recall_receivers:
                raise bad(f"{step.party_id} is not on the recall list of {h.number}")
            if step.party_id in h.confirmed:
                raise bad(f"{step.party_id} already confirmed on {h.confirmed[step.party_id]}")
        elif k in ("withdraw", "seal", "destroy", "cause", "rectified", "filed", "not_filed"):
            after(first_served, "serving the result")
            if k == "not_filed" and not (step.reason or "").strip():
                raise bad("declining to open a case needs the reason")
            if k in ("filed", "not_filed") and h.decision and not step.corrects_id:
                raise bad(f"the case decision ({step_label(h.decision[0])}) was recorded on {h.decision[1]}; "
                          f"correct it instead")
        elif k == "assist_request":
            if not producer_outside:
                raise bad("an assistance request (协查) is for a nominal producer in another city; this case's "
                          "producer is in Nantong or unknown: serve it instead")
            if step.party_id != subject.producer_id:
                raise bad(f"the party of an assistance request is the nominal producer ({subject.producer_id})")
            if not (step.outcome or "").strip():
                raise bad("name the bureau asked (outcome), e.g. 泰州市市场监督管理局")
        elif k == "assist_reply":
            after(min(h.assist.values()) if h.assist else None, "an assistance request")
        elif k == "published":
            after(h.decision[1] if h.decision else (h.retest[0] if h.cleared else None),
                  "the case decision (立案 or 不予立案)")
        elif k == "closed":
            missing = []
            if subject.operator_id not in h.served:
                missing.append(f"serving the business {subject.operator_id}")
            p = subject.producer_id
            if p and p != subject.operator_id and p not in h.served and p not in h.assist:
                missing.append(f"serving the nominal producer {p}" + (" or an assistance request (协查)"
                                                                      if producer_outside else ""))
            for have, what in ((h.cause, "the cause (原因排查)"), (h.rectified, "the rectification (整改)"),
                               (h.decision, "the case decision (立案 or 不予立案)")):
                if not have:
                    missing.append(what)
            if h.unconfirmed():
                missing.append(f"the recall confirmations of {', '.join(h.unconfirmed())}")
            if missing:
                raise bad("cannot close before " + "; ".join(missing))
            not_before_the_latest()
    else:
        report = h.kind == "report"
        if k in ("accepted", "rejected"):
            if report:
                raise bad("a report (举报) is verified, not accepted: record verified, then filed or not_filed")
            if h.accepted or h.rejected:
                raise bad(f"the complaint was already {'accepted' if h.accepted else 'rejected'} on "
                          f"{h.accepted or h.rejected}")
            if k == "rejected" and not (step.reason or "").strip():
                raise bad("declining a complaint needs the reason")
        elif k in ("mediated", "mediation_ended"):
            if report:
                raise bad("a report (举报) is not mediated")
            after(h.accepted, "accepting the complaint")
            if h.mediation:
                raise bad(f"the mediation already ended ({step_label(h.mediation[0])}) on {h.mediation[1]}")
        elif k == "verified":
            if h.verified:
                raise bad(f"already verified on {h.verified}")
        elif k in ("filed", "not_filed"):
            if not report:
                after(h.accepted, "accepting the complaint")
            else:
                after(h.verified, "verifying the report")
            if k == "not_filed" and not (step.reason or "").strip():
                raise bad("declining to open a case needs the reason")
            if h.decision:
                raise bad(f"the case decision was recorded on {h.decision[1]}; correct it instead")
        elif k == "replied":
            decided = [d for d in (h.accepted, h.rejected, h.transferred, h.mediation and h.mediation[1],
                                   h.decision and h.decision[1]) if d]
            after(max(decided) if decided else None, "a decision to tell")
        elif k == "closed":
            if report:
                ok = h.decision or h.transferred
                need = "the case decision (立案 or 不予立案) or a transfer"
            else:
                ok = h.rejected or h.transferred or h.mediation
                need = "a rejection, a transfer, or the end of the mediation"
            if not ok:
                raise bad(f"cannot close before {need}")
            not_before_the_latest()
    if k == "extension":
        if not step.due:
            raise bad("an extension needs the new deadline (due)")
        if not (step.reason or "").strip():
            raise bad("an extension needs the reason (the approval)")
        current = h.due
        if current and step.due <= current:
            raise bad(f"the new deadline {step.due} is not after the one in force ({current})")
    elif k == "escalation":
        levels = [lv.level for lv in (table or rules()).escalation]
        if step.outcome not in levels:
            raise bad(f"an escalation's level (outcome) is one of {', '.join(levels)}, not {step.outcome!r}")
