"""Regulatory risk grade A/B/C/D (风险分级) and general credit class (通用信用风险分类).

The method is the SAMR risk-grading method for food producers as Shanghai and Anhui adopted it in
2022 (score out of 100, the higher the riskier):

* **static factors** (静态风险因素, <= 40): the tier (Ⅰ-Ⅳ) of what the operator makes or sells, plus
  points for its scale. Special foods, infant foods, dairy and meat sit in the highest tier;
* **dynamic factors** (动态风险因素, <= 40): over the lookback window (730 days by default) before the
  as-of day, inspections rated 基本符合 or 不符合, nonconforming samples taken at the operator or naming
  it as producer or brand owner (disputed samples left out), enforcement cases (more when transferred
  to the police), responsibility interviews (责任约谈: cases whose violation or penalty, or inspections
  whose kind, mention 约谈) and substantiated complaints; each item has a cap and the items together
  are capped at 40;
* **general credit risk** (通用信用风险, <= 20): points by credit class A-D (:func:`credit_class`).

The score falls in a band (default A <= 30 < B <= 45 < C <= 60 < D). Then a HACCP certification
(``Operator.haccp``) moves the operator one grade toward A, and then an operator on the 严重违法失信名单
(an unrepaired ``serious_dishonest`` credit record whose publicity period has not ended) is D
whatever else holds.

The method is written for producers; every other kind of operator (farms, slaughterhouses, market
stalls, canteens, restaurants, distributors, cold stores, supermarkets ...) has a documented
adaptation of the static table, named in its assessment's ``method``. Every number lives in a
versioned TOML points table (``data/grading_points.toml``; :func:`load_points`), whose comments cite
the sources and say which parts are designed here because no official table was found.

Everything an assessment says can be checked: each :class:`Factor` carries its points, its maximum,
the ids of the records it counted and a Chinese note (and an English one).

Records count when dated before the as-of day: samples when their result was known before it
(:func:`ontology.times.known_day`: announced, else sampled) and taken within the look-back period
(food-related products, :func:`ontology.records.is_food`, left out),
inspections by ``date``, cases by ``opened``, complaints by ``date``, credit records by ``start``
(Beijing calendar days). The default as-of day is :func:`ontology.times.default_as_of`, the same for
every command.

>>> pts = load_points()
>>> pts.version, grade_for_score(30, pts.bands), grade_for_score(30.5, pts.bands), grade_for_score(61, pts.bands)
('2026.1', 'A', 'B', 'D')
>>> pts.kind_rule("Stall").method_en, pts.kind_rule("Workshop").method_en
('adapted: market stall', 'adapted: small workshop')
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple, Sequence

from ontology.errors import PointsTableError
from ontology.records import is_food
from ontology.times import day_of, default_as_of, known_day, parse_day, sample_day

if TYPE_CHECKING:
    import pandas as pd

    from graph.view import ReadView

__all__ = [
    "GRADES",
    "Points",
    "KindRule",
    "Factor",
    "Assessment",
    "CreditClass",
    "load_points",
    "parse_points",
    "grade_for_score",
    "credit_class",
    "grade_operators",
    "supervision_plan",
]

GRADES = ("A", "B", "C", "D")
_TIER_NUMERALS = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ"}
_SCALE_ZH = {"micro": "微型", "small": "小型", "medium": "中型", "large": "大型"}
_PLAN_ZH = {"supervisory": "监督抽检", "monitoring": "风险监测", "rapid": "快检"}
_SOURCE_ZH = {"official": "官方分类", "computed": "据信用记录推算"}




# -- the points table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KindRule:
    """How the static factors of one kind of operator are scored (its adaptation of the method)."""

    kind: str
    method_en: str
    method_zh: str
    note_zh: str
    note_en: str
    tier: str | None                       # a fixed tier, or None: tier from the category
    default_tier: str                      # tier of a category not in the tables
    category_tiers: Mapping[str, str]      # this kind's replacements of the category table


@dataclass(frozen=True)
class _Item:
    name_zh: str
    name_en: str
    points: Any        # a number, or {key: number}
    cap: float


@dataclass(frozen=True)
class Points:
    """A validated points table (see ``data/grading_points.toml``)."""

    version: str
    name_zh: str
    name_en: str
    lookback_days: int
    bands: Mapping[str, float]            # A, B, C upper bounds (inclusive)
    frequency: Mapping[str, float]        # inspections per year by grade
    static_max: float
    static_name: tuple[str, str]
    tiers: Mapping[str, tuple[str, str, float]]   # tier -> (name_zh, name_en, points)
    scale_name: tuple[str, str]
    scale_points: Mapping[str, float]
    scale_default: str
    category_tiers: Mapping[str, str]
    default_tier: str
    kinds: Mapping[str, KindRule]
    dynamic_max: float
    dynamic_name: tuple[str, str]
    interview_keywords: tuple[str, ...]
    items: Mapping[str, _Item]            # inspections, sampling, cases, interviews, complaints
    credit_max: float
    credit_name: tuple[str, str]
    credit_points: Mapping[str, float]
    computed: Mapping[str, Any]
    source: str = "packaged"

    def kind_rule(self, kind: str | None) -> KindRule:
        """The rule of ``kind``, else of its nearest superclass with one, else of ``Operator``."""
        from ontology.vocab import kind_ancestors

        if kind and kind in self.kinds:
            return self.kinds[kind]
        try:
            chain = kind_ancestors(kind) if kind else ("Operator",)
        except KeyError:
            chain = ("Operator",)
        for k in chain:
            if k in self.kinds:
                return self.kinds[k]
        return self.kinds["Operator"]

    def tier_of(self, rule: KindRule, category: str | None) -> tuple[str, str]:
        """``(tier, how)`` for an operator of this rule and category; how: fixed, category or default."""
        if rule.tier is not None:
            return rule.tier, "fixed"
        if category and category in rule.category_tiers:
            return rule.category_tiers[category], "category"
        if category and category in self.category_tiers:
            return self.category_tiers[category], "category"
        return rule.default_tier, "default"


def _fail(src: str, key: str, why: str) -> None:
    raise PointsTableError(f"points table {src}: [{key}] {why}")


def _table(d: Any, key: str, src: str) -> dict[str, Any]:
    if not isinstance(d, dict):
        _fail(src, key, f"must be a table, got {type(d).__name__}")
    return d


def _need(d: Mapping[str, Any], key: str, path: str, src: str) -> Any:
    if key not in d:
        _fail(src, f"{path}.{key}" if path else key, "is missing")
    return d[key]


def _num(value: Any, key: str, src: str, *, lo: float | None = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(src, key, f"must be a number, got {value!r}")
    if lo is not None and value < lo:
        _fail(src, key, f"must be >= {lo:g}, got {value!r}")
    return float(value)


def _text(value: Any, key: str, src: str) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(src, key, f"must be a non-empty text, got {value!r}")
    return value


def _names(d: Mapping[str, Any], path: str, src: str) -> tuple[str, str]:
    pre = f"{path}." if path else ""
    return (_text(_need(d, "name_zh", path, src), f"{pre}name_zh", src),
            _text(_need(d, "name_en", path, src), f"{pre}name_en", src))


def parse_points(data: Mapping[str, Any], source: str = "<table>") -> Points:
    """Validate a parsed points table; a bad table raises :class:`PointsTableError` naming the key.

    >>> import copy, tomllib
    >>> raw = tomllib.loads(resources.files("reasoning").joinpath("data/grading_points.toml").read_text("utf-8"))
    >>> bad = copy.deepcopy(raw); bad["static"]["tiers"]["IV"]["points"] = "high"
    >>> parse_points(bad, "x.toml")
    Traceback (most recent call last):
    ...
    ontology.errors.PointsTableError: points table x.toml: [static.tiers.IV.points] must be a number, got 'high'
    """
    src = source
    d = _table(data, "(top)", src)
    version = _text(_need(d, "version", "", src), "version", src)
    name_zh, name_en = _names(d, "", src)
    lookback = _num(_need(d, "lookback_days", "", src), "lookback_days", src, lo=1)
    if lookback != int(lookback):
        _fail(src, "lookback_days", f"must be a whole number of days, got {lookback!r}")

    bands_t = _table(_need(d, "bands", "", src), "bands", src)
    bands = {g: _num(_need(bands_t, g, "bands", src), f"bands.{g}", src) for g in ("A", "B", "C")}
    if not bands["A"] < bands["B"] < bands["C"]:
        _fail(src, "bands", f"must increase: A < B < C, got A={bands['A']:g} B={bands['B']:g} C={bands['C']:g}")
    freq_t = _table(_need(d, "frequency", "", src), "frequency", src)
    frequency = {g: _num(_need(freq_t, g, "frequency", src), f"frequency.{g}", src) for g in GRADES}

    st = _table(_need(d, "static", "", src), "static", src)
    static_name = _names(st, "static", src)
    static_max = _num(_need(st, "max", "static", src), "static.max", src)
    tiers_t = _table(_need(st, "tiers", "static", src), "static.tiers", src)
    if not tiers_t:
        _fail(src, "static.tiers", "names no tier")
    tiers = {}
    for t, v in tiers_t.items():
        v = _table(v, f"static.tiers.{t}", src)
        zh, en = _names(v, f"static.tiers.{t}", src)
        tiers[t] = (zh, en, _num(_need(v, "points", f"static.tiers.{t}", src), f"static.tiers.{t}.points", src))

    def tier_ref(value: Any, key: str) -> str:
        if value not in tiers:
            _fail(src, key, f"names the unknown tier {value!r}; tiers: {', '.join(tiers)}")
        return value

    default_tier = tier_ref(_need(st, "default_tier", "static", src), "static.default_tier")
    sc = _table(_need(st, "scale", "static", src), "static.scale", src)
    scale_name = _names(sc, "static.scale", src)
    sp = _table(_need(sc, "points", "static.scale", src), "static.scale.points", src)
    scale_points = {k: _num(v, f"static.scale.points.{k}", src) for k, v in sp.items()}
    scale_default = _need(sc, "default", "static.scale", src)
    if scale_default not in scale_points:
        _fail(src, "static.scale.default", f"names the unknown scale {scale_default!r}; scales: {', '.join(scale_points)}")
    top = max(p for _, _, p in tiers.values()) + max(scale_points.values(), default=0.0)
    if top > static_max + 1e-9:
        _fail(src, "static", f"the highest tier plus the largest scale give {top:g} points, above max {static_max:g}")
    ct = _table(_need(st, "category_tiers", "static", src), "static.category_tiers", src)
    category_tiers = {k: tier_ref(v, f"static.category_tiers.{k}") for k, v in ct.items()}

    kinds_t = _table(_need(d, "kinds", "", src), "kinds", src)
    if "Operator" not in kinds_t:
        _fail(src, "kinds.Operator", "is missing (the rule of operators of unknown kind)")
    kinds = {}
    for k, v in kinds_t.items():
        p = f"kinds.{k}"
        v = _table(v, p, src)
        fixed = v.get("tier")
        from_cat = v.get("tier_from")
        if (fixed is None) == (from_cat is None):
            _fail(src, p, "needs exactly one of tier = \"...\" (fixed) or tier_from = \"category\"")
        if from_cat is not None and from_cat != "category":
            _fail(src, f"{p}.tier_from", f"must be \"category\", got {from_cat!r}")
        kct = _table(v.get("category_tiers", {}), f"{p}.category_tiers", src)
        kinds[k] = KindRule(
            kind=k,
            method_en=_text(_need(v, "method_en", p, src), f"{p}.method_en", src),
            method_zh=_text(_need(v, "method_zh", p, src), f"{p}.method_zh", src),
            note_zh=_text(_need(v, "note_zh", p, src), f"{p}.note_zh", src),
            note_en=_text(_need(v, "note_en", p, src), f"{p}.note_en", src),
            tier=tier_ref(fixed, f"{p}.tier") if fixed is not None else None,
            default_tier=tier_ref(v.get("default_tier", default_tier), f"{p}.default_tier"),
            category_tiers={c: tier_ref(t, f"{p}.category_tiers.{c}") for c, t in kct.items()})

    dy = _table(_need(d, "dynamic", "", src), "dynamic", src)
    dynamic_name = _names(dy, "dynamic", src)
    dynamic_max = _num(_need(dy, "max", "dynamic", src), "dynamic.max", src)
    kw = _need(dy, "interview_keywords", "dynamic", src)
    if not isinstance(kw, list) or not all(isinstance(w, str) and w for w in kw):
        _fail(src, "dynamic.interview_keywords", f"must be a list of words, got {kw!r}")
    keyed = {"inspections": ("pass_with_remarks", "fail"), "sampling": ("supervisory", "monitoring", "rapid"),
             "cases": ("case", "police"), "interviews": None, "complaints": None}
    items = {}
    for name, keys in keyed.items():
        p = f"dynamic.{name}"
        v = _table(_need(dy, name, "dynamic", src), p, src)
        zh, en = _names(v, p, src)
        raw_pts = _need(v, "points", p, src)
        if keys is None:
            pts: Any = _num(raw_pts, f"{p}.points", src)
        else:
            raw_pts = _table(raw_pts, f"{p}.points", src)
            pts = {k: _num(_need(raw_pts, k, f"{p}.points", src), f"{p}.points.{k}", src) for k in keys}
        items[name] = _Item(zh, en, pts, _num(_need(v, "cap", p, src), f"{p}.cap", src))

    cr = _table(_need(d, "credit", "", src), "credit", src)
    credit_name = _names(cr, "credit", src)
    credit_max = _num(_need(cr, "max", "credit", src), "credit.max", src)
    cp = _table(_need(cr, "points", "credit", src), "credit.points", src)
    credit_points = {g: _num(_need(cp, g, "credit.points", src), f"credit.points.{g}", src) for g in GRADES}
    for g, v in credit_points.items():
        if v > credit_max + 1e-9:
            _fail(src, f"credit.points.{g}", f"{v:g} is above credit.max {credit_max:g}")
    cc = _table(_need(cr, "computed", "credit", src), "credit.computed", src)
    computed = {k: _num(_need(cc, k, "credit.computed", src), f"credit.computed.{k}", src, lo=1)
                for k in ("c_penalties", "b_penalties", "b_abnormal")}
    both = _need(cc, "c_penalty_and_abnormal", "credit.computed", src)
    if not isinstance(both, bool):
        _fail(src, "credit.computed.c_penalty_and_abnormal", f"must be true or false, got {both!r}")
    computed["c_penalty_and_abnormal"] = both

    return Points(version=version, name_zh=name_zh, name_en=name_en, lookback_days=int(lookback), bands=bands,
                  frequency=frequency, static_max=static_max, static_name=static_name, tiers=tiers,
                  scale_name=scale_name, scale_points=scale_points, scale_default=scale_default,
                  category_tiers=category_tiers, default_tier=default_tier, kinds=kinds, dynamic_max=dynamic_max,
                  dynamic_name=dynamic_name, interview_keywords=tuple(kw), items=items, credit_max=credit_max,
                  credit_name=credit_name, credit_points=credit_points, computed=computed, source=source)


def load_points(path: str | Path | None = None) -> Points:
    """The points table at ``path`` (TOML), or the packaged one; validated (:class:`PointsTableError`)."""
    if path is None:
        text = resources.files("reasoning").joinpath("data/grading_points.toml").read_text(encoding="utf-8")
        source = "data/grading_points.toml"
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise PointsTableError(f"points table {source}: cannot read: {e.strerror or e}") from None
        except UnicodeDecodeError:
            raise PointsTableError(f"points table {source}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PointsTableError(f"points table {source}: not valid TOML: {e}") from None
    return parse_points(data, source)


def grade_for_score(score: float, bands: Mapping[str, float]) -> str:
    """The grade whose band holds ``score`` (upper bounds inclusive).

    >>> b = {"A": 30, "B": 45, "C": 60}
    >>> [grade_for_score(s, b) for s in (0, 30, 30.5, 45, 45.01, 60, 60.5)]
    ['A', 'A', 'B', 'B', 'C', 'C', 'D']
    """
    s = round(float(score), 6)
    for g in ("A", "B", "C"):
        if s <= bands[g]:
            return g
    return "D"


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One scored factor: its points out of ``max_points``, the record ids it counted, a Chinese note."""

    code: str
    name_zh: str
    name_en: str
    points: float
    max_points: float
    evidence: tuple[str, ...] = ()
    note: str = ""
    note_en: str = ""


@dataclass(frozen=True)
class Assessment:
    """An operator's risk grade with everything needed to defend it.

    ``grade`` is the final grade; ``base_grade`` the band of ``score`` before the HACCP and
    严重违法失信名单 rules. ``dynamic`` is the capped sum of the dynamic factors (``dynamic_raw``
    before the cap).
    """

    operator_id: str
    grade: str
    score: float
    static: float
    dynamic: float
    credit: float
    factors: tuple[Factor, ...]
    method: str
    haccp_applied: bool
    serious_dishonest: bool
    credit_class: str
    credit_class_source: str
    config_version: str
    as_of: str
    base_grade: str = ""
    haccp: bool = False
    method_zh: str = ""
    method_note: str = ""
    method_note_en: str = ""
    dynamic_raw: float = 0.0
    kind: str | None = None
    name: str | None = None
    district: str | None = None
    serious_dishonest_evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (factors as a list of dicts, evidence as lists)."""
        d = asdict(self)
        d["factors"] = [{**asdict(f), "evidence": list(f.evidence)} for f in self.factors]
        d["serious_dishonest_evidence"] = list(self.serious_dishonest_evidence)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Assessment":
        """The inverse of :meth:`to_dict` (unknown keys ignored)."""
        names = set(cls.__dataclass_fields__)
        kw = {k: v for k, v in d.items() if k in names}
        kw["factors"] = tuple(Factor(**{**{k: v for k, v in f.items() if k in Factor.__dataclass_fields__},
                                        "evidence": tuple(f.get("evidence") or ())}) for f in d.get("factors") or ())
        kw["serious_dishonest_evidence"] = tuple(d.get("serious_dishonest_evidence") or ())
        return cls(**kw)

    def factor(self, code: str) -> Factor:
        """The factor with this code."""
        for f in self.factors:
            if f.code == code:
                return f
        raise KeyError(code)


@dataclass(frozen=True)
class CreditClass:
    """A credit class A-D, where it came from, the records behind it and notes."""

    cls: str
    source: str                     # official | computed
    evidence: tuple[str, ...]
    note: str
    note_en: str
    serious_dishonest: tuple[str, ...] = ()   # ids of the serious_dishonest records in force


# -- dates --------------------------------------------------------------------------------------


def _in_force(rec: Any, day: str) -> bool:
    """Started before ``day``, publicity period not ended before it, not repaired before it."""
    start, end, repaired = day_of(rec.start), day_of(rec.end), day_of(rec.repaired)
    return (start is not None and start < day and (end is None or end >= day)
            and (repaired is None or repaired >= day))


def credit_class(records: Iterable[Any], as_of: Any, points: Points | None = None) -> CreditClass:
    """The general credit class (通用信用风险分类) of one operator at ``as_of``.

    Official where the records supply it: the latest ``credit_class`` record started before ``as_of``
    whose publicity period (``end``) has not ended. Else computed from the records in force (started
    before ``as_of``, ``end`` not passed, not repaired before ``as_of``): an active serious_dishonest
    record gives D; two active penalties, or an active penalty with an active abnormal listing, give
    C; one active penalty or abnormal listing gives B; none gives A (thresholds in the points table).

    >>> from types import SimpleNamespace as R
    >>> recs = [R(id="p1", kind="penalty", start="2025-01-01", end="2028-01-01", repaired=None, credit_class=None),
    ...         R(id="p2", kind="penalty", start="2025-02-01", end="2028-02-01", repaired="2025-06-01",
    ...           credit_class=None)]
    >>> c = credit_class(recs, "2026-01-01"); (c.cls, c.source, c.evidence)
    ('B', 'computed', ('p1',))
    >>> recs.append(R(id="k", kind="credit_class", start="2025-12-01", end="2026-12-01", repaired=None,
    ...               credit_class="A"))
    >>> c = credit_class(recs, "2026-01-01"); (c.cls, c.source, c.evidence)
    ('A', 'official', ('k',))
    """
    pts = points or load_points()
    day = day_of(parse_day(as_of).isoformat())
    recs = list(records)
    serious = tuple(r.id for r in sorted(recs, key=lambda r: (day_of(r.start) or "", r.id))
                    if r.kind == "serious_dishonest" and _in_force(r, day))
    official = [r for r in recs if r.kind == "credit_class" and day_of(r.start) is not None and day_of(r.start) < day
                and (day_of(r.end) is None or day_of(r.end) >= day)
                and str(r.credit_class or "").strip().upper() in GRADES]
    if official:
        r = max(official, key=lambda r: (day_of(r.start), r.id))
        cls = str(r.credit_class).strip().upper()
        until = f"，公示至{day_of(r.end)}" if r.end else ""
        until_en = f", in force until {day_of(r.end)}" if r.end else ""
        return CreditClass(cls, "official", (r.id,), f"官方通用信用风险分类 {cls} 类（{day_of(r.start)} 公布{until}）",
                           f"official general credit class {cls} (published {day_of(r.start)}{until_en})", serious)
    active = [r for r in recs if r.kind in ("penalty", "abnormal", "serious_dishonest") and _in_force(r, day)]
    active.sort(key=lambda r: (day_of(r.start) or "", r.id))
    pen = [r for r in active if r.kind == "penalty"]
    abn = [r for r in active if r.kind == "abnormal"]
    c = pts.computed
    if serious:
        cls, why, why_en = "D", f"列入严重违法失信名单（{len(serious)} 条在公示期内）", \
            f"on the serious dishonesty list ({len(serious)} record(s) in force)"
    elif len(pen) >= c["c_penalties"] or (c["c_penalty_and_abnormal"] and pen and abn):
        cls, why, why_en = "C", f"公示期内行政处罚 {len(pen)} 条、经营异常 {len(abn)} 条", \
            f"{len(pen)} penalty and {len(abn)} abnormal-operation record(s) in force"
    elif len(pen) >= c["b_penalties"] or len(abn) >= c["b_abnormal"]:
        cls, why, why_en = "B", f"公示期内行政处罚 {len(pen)} 条、经营异常 {len(abn)} 条", \
            f"{len(pen)} penalty and {len(abn)} abnormal-operation record(s) in force"
    else:
        cls, why, why_en = "A", "无公示期内的失信记录（已过公示期或已信用修复的不计）", \
            "no adverse record in force (expired or repaired records do not count)"
    return CreditClass(cls, "computed", tuple(r.id for r in active),
                       f"无官方分类，据信用记录推算为 {cls} 类：{why}",
                       f"no official class; computed {cls} from the credit records: {why_en}", serious)


# -- reading the store ----------------------------------------------------------------------------

_SMALL = 50   # up to this many operators are read with filtered scans instead of whole tables


class _Insp(NamedTuple):
    id: str
    day: str
    result: str | None
    interview: bool


class _Case(NamedTuple):
    id: str
    day: str
    police: bool
    interview: bool


class _Comp(NamedTuple):
    id: str
    day: str
    substantiated: bool


class _Smp(NamedTuple):
    id: str
    day: str             # taken (ontology.times.sample_day): where it sits in the look-back period
    plan: str | None
    known: str           # its result known (ontology.times.known_day): it counts as of a later day


@dataclass
class _Data:
    operators: dict[str, Any] = field(default_factory=dict)
    districts: dict[str, str] = field(default_factory=dict)        # region id -> its district id
    samples: dict[str, list[_Smp]] = field(default_factory=dict)
    inspections: dict[str, list[_Insp]] = field(default_factory=dict)
    cases: dict[str, list[_Case]] = field(default_factory=dict)
    complaints: dict[str, list[_Comp]] = field(default_factory=dict)
    credit: dict[str, list[Any]] = field(default_factory=dict)


def _mentions(text: str | None, words: tuple[str, ...]) -> bool:
    if not text:
        return False
    low = text.lower()
    return any(w in low for w in words)


def _read(view: "ReadView", operator_ids: Sequence[str] | None, keywords: tuple[str, ...] = ()) -> _Data:
    """Read what grading needs, each table once (or with filtered scans for a few operators)."""
    data = _Data()
    kw = tuple(w.lower() for w in keywords)
    ids = list(dict.fromkeys(operator_ids)) if operator_ids is not None else None
    small = ids is not None and len(ids) <= _SMALL
    wanted = set(ids) if ids is not None else None

    def scan(table: str, columns: tuple[str, ...]) -> Iterable[Any]:
        if small:
            seen: set[str] = set()
            for col in columns:
                for oid in ids:  # type: ignore[union-attr]
                    for r in view.scan(table, {col: oid}):
                        if r.id not in seen:
                            seen.add(r.id)
                            yield r
        else:
            yield from view.scan(table)

    if small:
        data.operators = view.get_many("operator", ids)  # type: ignore[arg-type]
    else:
        for o in view.scan("operator"):
            if wanted is None or o.id in wanted:
                data.operators[o.id] = o
    for r in view.scan("region"):
        data.districts[r.id] = r.parent_id if (r.level or "") == "township" and r.parent_id else r.id

    # samples: one per (operator, sample), the operator being where it was taken, its producer or brand owner
    for s in scan("sample", ("sampled_id", "producer_id", "brand_owner_id")):
        day = sample_day(s)
        if day is None:
            continue
        if s.conclusion != "nonconforming" or s.disputed or not is_food(s):
            continue
        row = _Smp(s.id, day, s.plan, known_day(s) or day)
        for oid in {s.sampled_id, s.producer_id, s.brand_owner_id}:
            if oid is not None and (wanted is None or oid in wanted):
                data.samples.setdefault(oid, []).append(row)
    for r in scan("inspection", ("operator_id",)):
        day = day_of(r.date)
        if day is None:
            continue
        if wanted is None or r.operator_id in wanted:
            data.inspections.setdefault(r.operator_id, []).append(
                _Insp(r.id, day, r.result, _mentions(r.kind, kw)))
    for r in scan("case", ("operator_id",)):
        day = day_of(r.opened)
        if day is None:
            continue
        if wanted is None or r.operator_id in wanted:
            data.cases.setdefault(r.operator_id, []).append(
                _Case(r.id, day, bool(r.transferred_to_police), _mentions(r.violation, kw) or _mentions(r.penalty, kw)))
    for r in scan("complaint", ("operator_id",)):
        day = day_of(r.date)
        if day is None:
            continue
        if wanted is None or r.operator_id in wanted:
            data.complaints.setdefault(r.operator_id, []).append(_Comp(r.id, day, bool(r.substantiated)))
    for r in scan("credit_record", ("operator_id",)):
        day = day_of(r.start)
        if wanted is None or r.operator_id in wanted:
            data.credit.setdefault(r.operator_id, []).append(r)
    for table in (data.samples, data.inspections, data.cases, data.complaints):
        for rows in table.values():
            rows.sort(key=lambda x: (x.day, x.id))
    return data


# -- scoring --------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _fmt(x: float) -> str:
    return f"{x:g}"


@lru_cache(maxsize=1)
def _category_labels() -> dict[str, tuple[str, str]]:
    from ontology.vocab import labels

    return labels("category")


def _capped(total: float, cap: float) -> tuple[float, str, str]:
    if total > cap:
        return cap, f"计 {_fmt(total)} 分，按上限 {_fmt(cap)} 分计", f"{_fmt(total)} points, capped at {_fmt(cap)}"
    return total, f"计 {_fmt(total)} 分（上限 {_fmt(cap)} 分）", f"{_fmt(total)} points (cap {_fmt(cap)})"


def _window_text(lo: str, day: str) -> tuple[str, str]:
    return f"{lo} 至 {day} 前", f"from {lo} to before {day}"


def _static_factors(op: Any, rule: KindRule, pts: Points) -> tuple[list[Factor], float]:
    category = getattr(op, "category", None) if op is not None else None
    tier, how = pts.tier_of(rule, category)
    tzh, ten, tpoints = pts.tiers[tier]
    cat_zh = _category_labels().get(category or "", (category, category))[0] if category else None
    if how == "fixed":
        note = f"{rule.method_zh}：固定为{tzh}，{_fmt(tpoints)} 分。{rule.note_zh}"
        note_en = f"{rule.method_en}: fixed at {ten}, {_fmt(tpoints)} points. {rule.note_en}"
    elif how == "category":
        note = f"主营类别 {cat_zh}（{category}）属{tzh}，{_fmt(tpoints)} 分（{rule.method_zh}）。"
        note_en = f"main category {category} is {ten}, {_fmt(tpoints)} points ({rule.method_en})."
    else:
        what = f"类别 {cat_zh or category} 不在分档表中" if category else "无主营类别记录"
        what_en = f"category {category} is not in the tier table" if category else "no main category on record"
        note = f"{what}，取默认{tzh}，{_fmt(tpoints)} 分（{rule.method_zh}）。"
        note_en = f"{what_en}: default {ten}, {_fmt(tpoints)} points ({rule.method_en})."
    max_tier = max(p for _, _, p in pts.tiers.values())
    f_tier = Factor("static.tier", "食品类别风险档次", "Food category tier", tpoints, max_tier, (), note, note_en)

    scale = getattr(op, "scale", None) if op is not None else None
    how_scale = "recorded"
    if scale not in pts.scale_points:
        if op is not None and getattr(op, "individual", None) and "micro" in pts.scale_points:
            scale, how_scale = "micro", "individual"
        else:
            scale, how_scale = pts.scale_default, "default"
    spoints = pts.scale_points[scale]
    szh = _SCALE_ZH.get(scale, scale)
    if how_scale == "recorded":
        snote, snote_en = f"规模 {szh}，{_fmt(spoints)} 分。", f"scale {scale}, {_fmt(spoints)} points."
    elif how_scale == "individual":
        snote, snote_en = (f"无规模记录，个体经营按{szh}计，{_fmt(spoints)} 分。",
                           f"no scale on record; an individual counts as {scale}, {_fmt(spoints)} points.")
    else:
        snote, snote_en = (f"无规模记录，按默认{szh}计，{_fmt(spoints)} 分。",
                           f"no scale on record; default {scale}, {_fmt(spoints)} points.")
    f_scale = Factor("static.scale", pts.scale_name[0], pts.scale_name[1], spoints,
                     max(pts.scale_points.values()), (), snote, snote_en)
    return [f_tier, f_scale], min(pts.static_max, tpoints + spoints)


@lru_cache(maxsize=65536)
def _note_inspections(span: str, span_en: str, n: int, n_fail: int, n_rem: int, p_fail: float, p_rem: float,
                      cap: float) -> tuple[float, str, str]:
    got, tail, tail_en = _capped(n_fail * p_fail + n_rem * p_rem, cap)
    return (got, f"{span}监督检查 {n} 次：不符合 {n_fail} 次×{_fmt(p_fail)} 分，基本符合 {n_rem} 次×{_fmt(p_rem)} 分；{tail}。",
            f"{n} inspection(s) {span_en}: {n_fail} fail x {_fmt(p_fail)}, {n_rem} pass with remarks x "
            f"{_fmt(p_rem)}; {tail_en}.")


@lru_cache(maxsize=65536)
def _note_sampling(span: str, span_en: str, by_plan: tuple[tuple[str, int, float], ...],
                   cap: float) -> tuple[float, str, str]:
    n = sum(k for _, k, _ in by_plan)
    got, tail, tail_en = _capped(sum(k * p for _, k, p in by_plan), cap)
    parts = "，".join(f"{_PLAN_ZH.get(plan, plan)} {k} 批×{_fmt(p)} 分" for plan, k, p in by_plan)
    parts_en = ", ".join(f"{k} {plan} x {_fmt(p)}" for plan, k, p in by_plan)
    return (got, f"{span}不合格样品 {n} 批（在本单位抽取或标称本单位生产，有异议的不计）"
            + (f"：{parts}" if parts else "") + f"；{tail}。",
            f"{n} nonconforming sample(s) {span_en} (taken here or naming it as producer; disputed ones left out)"
            + (f": {parts_en}" if parts_en else "") + f"; {tail_en}.")


@lru_cache(maxsize=65536)
def _note_cases(span: str, span_en: str, n: int, n_pol: int, p_pol: float, p_case: float,
                cap: float) -> tuple[float, str, str]:
    got, tail, tail_en = _capped(n_pol * p_pol + (n - n_pol) * p_case, cap)
    return (got, f"{span}立案 {n} 件：移送公安 {n_pol} 件×{_fmt(p_pol)} 分，其他 {n - n_pol} 件×{_fmt(p_case)} 分；{tail}。",
            f"{n} case(s) opened {span_en}: {n_pol} transferred to the police x {_fmt(p_pol)}, {n - n_pol} other x "
            f"{_fmt(p_case)}; {tail_en}.")


@lru_cache(maxsize=65536)
def _note_interviews(span: str, span_en: str, n: int, p: float, cap: float) -> tuple[float, str, str]:
    got, tail, tail_en = _capped(n * p, cap)
    return (got, f"{span}责任约谈 {n} 次（记录中写明“约谈”的案件或检查）×{_fmt(p)} 分；{tail}。",
            f"{n} responsibility interview(s) {span_en} (cases or inspections whose record mentions an interview) "
            f"x {_fmt(p)}; {tail_en}.")


@lru_cache(maxsize=65536)
def _note_complaints(span: str, span_en: str, n: int, p: float, cap: float) -> tuple[float, str, str]:
    got, tail, tail_en = _capped(n * p, cap)
    return (got, f"{span}查证属实的投诉举报 {n} 件×{_fmt(p)} 分；{tail}。",
            f"{n} substantiated complaint(s) {span_en} x {_fmt(p)}; {tail_en}.")


def _dynamic_factors(oid: str, data: _Data, pts: Points, lo: str, day: str) -> list[Factor]:
    span, span_en = _window_text(lo, day)
    insp_all = [r for r in data.inspections.get(oid, ()) if lo <= r.day < day]
    case_all = [r for r in data.cases.get(oid, ()) if lo <= r.day < day]
    interviews = [r.id for r in insp_all if r.interview] + [r.id for r in case_all if r.interview]
    insp = [r for r in insp_all if not r.interview]
    cases = [r for r in case_all if not r.interview]
    items = pts.items
    out = []

    item = items["inspections"]
    scored = [r for r in insp if r.result in ("fail", "pass_with_remarks")]
    n_fail = sum(1 for r in scored if r.result == "fail")
    got, note, note_en = _note_inspections(span, span_en, len(insp), n_fail, len(scored) - n_fail,
                                           item.points["fail"], item.points["pass_with_remarks"], item.cap)
    out.append(Factor("dynamic.inspections", item.name_zh, item.name_en, got, item.cap,
                      tuple(r.id for r in scored), note, note_en))

    item = items["sampling"]
    samples = [s for s in data.samples.get(oid, ()) if lo <= s.day and s.known < day]
    by_plan: dict[str, int] = {}
    for s in samples:
        key = s.plan if s.plan in item.points else "supervisory"
        by_plan[key] = by_plan.get(key, 0) + 1
    got, note, note_en = _note_sampling(span, span_en, tuple((k, n, item.points[k]) for k, n in sorted(by_plan.items())),
                                        item.cap)
    out.append(Factor("dynamic.sampling", item.name_zh, item.name_en, got, item.cap,
                      tuple(s.id for s in samples), note, note_en))

    item = items["cases"]
    got, note, note_en = _note_cases(span, span_en, len(cases), sum(1 for r in cases if r.police),
                                     item.points["police"], item.points["case"], item.cap)
    out.append(Factor("dynamic.cases", item.name_zh, item.name_en, got, item.cap, tuple(r.id for r in cases),
                      note, note_en))

    item = items["interviews"]
    got, note, note_en = _note_interviews(span, span_en, len(interviews), item.points, item.cap)
    out.append(Factor("dynamic.interviews", item.name_zh, item.name_en, got, item.cap, tuple(interviews),
                      note, note_en))

    item = items["complaints"]
    comp = [r for r in data.complaints.get(oid, ()) if r.substantiated and lo <= r.day < day]
    got, note, note_en = _note_complaints(span, span_en, len(comp), item.points, item.cap)
    out.append(Factor("dynamic.complaints", item.name_zh, item.name_en, got, item.cap, tuple(r.id for r in comp),
                      note, note_en))
    return out


def _assess(oid: str, data: _Data, pts: Points, as_of: date, rules: dict[str | None, KindRule],
            statics: dict[tuple, tuple[list[Factor], float]]) -> Assessment:
    op = data.operators.get(oid)
    kind = getattr(op, "kind", None) if op is not None else None
    rule = rules.get(kind)
    if rule is None:
        rule = rules[kind] = pts.kind_rule(kind)
    day = as_of.isoformat()
    lo = (as_of - timedelta(days=pts.lookback_days)).isoformat()

    skey = (rule.kind, getattr(op, "category", None), getattr(op, "scale", None), bool(getattr(op, "individual", None)))
    cached = statics.get(skey)
    if cached is None:
        cached = statics[skey] = _static_factors(op, rule, pts)
    static_f, static = cached
    dyn_f = _dynamic_factors(oid, data, pts, lo, day)
    dynamic_raw = sum(f.points for f in dyn_f)
    dynamic = min(pts.dynamic_max, dynamic_raw)
    cc = credit_class(data.credit.get(oid, ()), as_of, pts)
    cpoints = pts.credit_points[cc.cls]
    credit_f = Factor("credit.class", pts.credit_name[0], pts.credit_name[1], cpoints, pts.credit_max, cc.evidence,
                      f"{cc.note}；{cc.cls} 类计 {_fmt(cpoints)} 分。",
                      f"{cc.note_en}; class {cc.cls} scores {_fmt(cpoints)} points.")
    score = round(static + dynamic + cpoints, 6)
    base = grade_for_score(score, pts.bands)
    grade = base
    haccp = bool(getattr(op, "haccp", False)) if op is not None else False
    haccp_applied = False
    if haccp and grade != "A":
        grade = GRADES[GRADES.index(grade) - 1]
        haccp_applied = True
    serious = bool(cc.serious_dishonest)
    if serious:
        grade = "D"
    region = getattr(op, "region_id", None) if op is not None else None
    return Assessment(
        operator_id=oid, grade=grade, score=score, static=static, dynamic=dynamic, credit=cpoints,
        factors=(*static_f, *dyn_f, credit_f), method=rule.method_en, haccp_applied=haccp_applied,
        serious_dishonest=serious, credit_class=cc.cls, credit_class_source=cc.source, config_version=pts.version,
        as_of=day, base_grade=base, haccp=haccp, method_zh=rule.method_zh, method_note=rule.note_zh,
        method_note_en=rule.note_en, dynamic_raw=dynamic_raw, kind=kind, name=getattr(op, "name", None),
        district=data.districts.get(region, region) if region else None,
        serious_dishonest_evidence=cc.serious_dishonest)


def grade_operators(view: "ReadView", *, as_of: Any = None, points: Points | None = None,
                    operator_ids: Iterable[str] | None = None) -> list[Assessment]:
    """Grade every operator of the store (or those of ``operator_ids``), sorted by operator id.

    Each table is read once (a handful of operators are read with filtered scans). ``as_of``
    (a date or ``YYYY-MM-DD``) defaults to the day after the latest date in the store; records dated
    on or after it are not known. An id in ``operator_ids`` without an Operator record is graded as
    an operator of unknown kind.
    """
    pts = points or load_points()
    ids = list(dict.fromkeys(operator_ids)) if operator_ids is not None else None
    data = _read(view, ids, pts.interview_keywords)
    if as_of is None:
        day = default_as_of(view)
    else:
        day = parse_day(as_of)
    targets = ids if ids is not None else sorted(data.operators)
    rules: dict[str | None, KindRule] = {}
    statics: dict[tuple, tuple[list[Factor], float]] = {}
    return [_assess(oid, data, pts, day, rules, statics) for oid in sorted(targets)]


# -- the supervision plan -----------------------------------------------------------------------------


def supervision_plan(assessments: Iterable[Assessment], *, points: Points | None = None) -> "pd.DataFrame":
    """Routine inspections per year (差异化监管) by district and kind, with subtotals and the total.

    One row per (district, kind), then one per district (``kind`` None), one per kind (``district``
    None) and the city total (both None); ``level`` says which. Columns: the number of operators
    graded A, B, C, D, ``operators`` and ``inspections`` (per year: A once every two years, B 1,
    C 2, D 3 by default; the points table's ``frequency``).

    >>> a = [Assessment("x", g, 0, 0, 0, 0, (), "m", False, False, "A", "computed", "v", "2026-01-01",
    ...                 kind="Stall", district="d1") for g in "AABD"]
    >>> p = supervision_plan(a)
    >>> p[p.level == "total"][["A", "B", "C", "D", "operators", "inspections"]].values.tolist()
    [[2.0, 1.0, 0.0, 1.0, 4.0, 5.0]]
    """
    import pandas as pd

    pts = points or load_points()
    cols = ["level", "district", "kind", *GRADES, "operators", "inspections"]
    rows = [(a.district, a.kind, a.grade) for a in assessments]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows, columns=["district", "kind", "grade"]).fillna({"district": "", "kind": ""})
    freq = pd.Series({g: pts.frequency[g] for g in GRADES})

    def block(keys: list[str], level: str) -> pd.DataFrame:
        if keys:
            t = df.groupby(keys + ["grade"]).size().unstack("grade")
        else:
            t = df.groupby("grade").size().to_frame().T
        t = t.reindex(columns=list(GRADES)).fillna(0).astype(float)
        t.columns.name = None
        t["operators"] = t[list(GRADES)].sum(axis=1)
        t["inspections"] = (t[list(GRADES)] * freq).sum(axis=1)
        t = t.reset_index(drop=not keys)
        for k in ("district", "kind"):
            if k not in keys:
                t[k] = None
            else:
                t[k] = t[k].replace("", None)
        t["level"] = level
        return t[cols]

    out = pd.concat([block(["district", "kind"], "district_kind"), block(["district"], "district"),
                     block(["kind"], "kind"), block([], "total")], ignore_index=True)
    return out
