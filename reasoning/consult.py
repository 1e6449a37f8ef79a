"""Figures of the risk consultation meeting (风险会商): pure aggregations over sampling results.

The analysts meet weekly or monthly and look at the nonconforming samples of a period against the previous
period of equal length, by food category, hazard class and district, month by month; at the early
warnings; at the operators of highest risk and why they are graded so; at the grade distribution; and at
whether every nonconforming result was verified and disposed of (核查处置, the completion rate must be 100%).

Definitions
-----------
* A **sample** counts once (samples, not test results). Its date is ``sampled_at``, else ``announced``
  (:func:`ontology.times.sample_day`); samples without either, and samples of food-related products
  (:func:`ontology.records.is_food`), are left out. Disputed samples are counted: the result stands, a dispute is about
  who is responsible (the early warnings leave them out, see :mod:`reasoning.alerts`); ``disputed`` says
  how many there are.
* **Category**: the sample's food category, else its product's; **district**: the district of the sampled
  operator (where the sample was taken); **hazard classes**: those of the sample's nonconforming test
  results. Anything not recorded is ``unknown``.
* **Rate** = nonconforming samples / samples. By category and district both counts are the group's. A
  sample is tested for many hazards and announcements list only the failed items, so by hazard class the
  rate is the share of *all* samples that failed for that hazard (a sample failing for two hazards counts
  in both rows, once in the total).
* **Months** are calendar months ``YYYY-MM`` cut to the period (the first and last may be partial).
* **核查处置**: every nonconforming sample of the period must be verified and disposed of. As of a day
  (records dated before it are known): ``done_on_time`` (done by the deadline, or done with no deadline),
  ``done_late``, ``overdue`` (not done, deadline passed), ``open`` (not done, deadline not passed),
  ``no_deadline`` (not done, no deadline recorded). Completion rate (核查处置完成率) = samples done among
  those whose deadline has passed / those whose deadline has passed, as :mod:`reasoning.alerts` counts it.

>>> facts = pd.DataFrame({"sample_id": ["s1", "s2", "s3"], "date": ["2026-01-05", "2026-01-20", "2026-02-03"],
...     "category": ["pork", "pork", "vegetable"], "district": ["d1", "d1", "d2"],
...     "nonconforming": [True, False, True], "hazards": [("vet_drug",), (), ("pesticide", "heavy_metal")]})
>>> p = Period.of("2026-01-01", "2026-02-28")
>>> monthly(facts, "category", p)[["group", "month", "samples", "nonconforming", "rate"]].values.tolist()
[['pork', '2026-01', 2, 1, 0.5], ['pork', '2026-02', 0, 0, nan], ['vegetable', '2026-01', 0, 0, nan], ['vegetable', '2026-02', 1, 1, 1.0]]
>>> monthly(facts, "hazard", p).query("month == '2026-02'")[["group", "samples", "nonconforming"]].values.tolist()
[['heavy_metal', 1, 1], ['pesticide', 1, 1], ['vet_drug', 1, 0]]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ontology import vocab
from ontology.errors import FoodtraceError, InvalidPeriod, InvalidRecord
from ontology.records import is_food
from ontology.times import day_of, parse_day, sample_day

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["UNKNOWN", "DIMENSIONS", "GRADES", "DISPOSAL_STATUSES", "Period", "to_date",
           "sample_facts", "monthly", "compare", "totals", "DisposalSummary", "disposal", "grade_distribution",
           "TopRisk", "top_risk", "Consultation", "consultation", "overrides_in_force"]

#: value of a category, hazard class or district that is not recorded
UNKNOWN = "unknown"
#: the breakdowns of the trends: column of the facts -> (Chinese, English)
DIMENSIONS: dict[str, tuple[str, str]] = {"category": ("食品类别", "food category"),
                                          "hazard": ("危害类别", "hazard class"),
                                          "district": ("区县", "district")}
#: regulatory grades, lowest risk first
GRADES = ("A", "B", "C", "D")
#: 核查处置 status of a nonconforming sample -> (Chinese, English)
DISPOSAL_STATUSES: dict[str, tuple[str, str]] = {
    "done_on_time": ("按期完成", "done on time"),
    "done_late": ("逾期完成", "done late"),
    "overdue": ("逾期未完成", "overdue"),
    "open": ("处置中（未到期）", "open, not yet due"),
    "no_deadline": ("未完成（无期限记录）", "not done, no deadline recorded"),
}
_FACT_COLUMNS = ["sample_id", "date", "month", "plan", "category", "district", "sampled_id", "producer_id",
                 "product_id", "nonconforming", "disputed", "hazards", "disposal_due", "disposal_done"]




def to_date(value: dt.date | str, what: str = "date") -> dt.date:
    """A ``datetime.date`` from a date or an ISO string (a date-time gives its Beijing day, :func:`ontology.times.parse_day`).

    >>> to_date("2026-03-01"), to_date("2026-03-01T08:00:00+08:00")
    (datetime.date(2026, 3, 1), datetime.date(2026, 3, 1))
    >>> to_date("2026-02-30", "--from")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidPeriod: --from: '2026-02-30' is not a date (YYYY-MM-DD)
    """
    try:
        return parse_day(value, what)
    except InvalidRecord as e:
        raise InvalidPeriod(str(e)) from None


@dataclass(frozen=True)
class Period:
    """Days ``start`` to ``end``, both included.

    >>> p = Period.of("2026-03-01", "2026-03-31")
    >>> p.days, p.previous(), p.months()
    (31, Period(start=datetime.date(2026, 1, 29), end=datetime.date(2026, 2, 28)), ['2026-03'])
    >>> Period.of("2026-03-02", "2026-03-01")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidPeriod: the period starts (2026-03-02) after it ends (2026-03-01)
    """

    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, start: dt.date | str, end: dt.date | str) -> "Period":
        s, e = to_date(start, "start"), to_date(end, "end")
        if s > e:
            raise InvalidPeriod(f"the period starts ({s}) after it ends ({e})")
        return cls(s, e)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period of equal length just before this one."""
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))

    def months(self) -> list[str]:
        """Calendar months (``YYYY-MM``) the period touches."""
        out, y, m = [], self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def contains(self, dates: pd.Series) -> pd.Series:
        """Which ISO date strings fall in the period."""
        return (dates >= self.start.isoformat()) & (dates <= self.end.isoformat())

    def __str__(self) -> str:
        return f"{self.start} – {self.end}"


# -- facts -------------------------------------------------------------------------------------------

def _district_of(value: str | None) -> str:
    if not value:
        return UNKNOWN
    if value in _region_ids():
        return value
    return vocab.lookup("region", value) or value


def _region_ids() -> frozenset[str]:
    return frozenset(vocab.labels("region"))


def sample_facts(view: "ReadView", *, start: dt.date | str | None = None,
                 end: dt.date | str | None = None) -> pd.DataFrame:
    """One row per sample dated within ``start`` .. ``end`` (both included; None: no bound).

    Columns: ``sample_id, date (YYYY-MM-DD), month (YYYY-MM), plan, category, district, sampled_id,
    producer_id, product_id, nonconforming (bool), disputed (bool), hazards (sorted tuple of hazard
    classes of the nonconforming results; (unknown,) for a nonconforming sample without any),
    disposal_due, disposal_done``. Rows are sorted by date and id.
    """
    lo = to_date(start, "start").isoformat() if start is not None else None
    hi = to_date(end, "end").isoformat() if end is not None else None
    rows = []
    for s in view.scan("sample"):
        day = sample_day(s)
        if not is_food(s) or not day or (lo and day < lo) or (hi and day > hi):
            continue
        rows.append((s.id, day, s.plan, s.category, s.sampled_id, s.producer_id, s.product_id,
                     s.conclusion == "nonconforming", bool(s.disputed), s.disposal_due, s.disposal_done))
    cols = [c for c in _FACT_COLUMNS if c not in ("month", "district", "hazards")]
    df = pd.DataFrame(rows, columns=cols)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=bool if c in ("nonconforming", "disputed") else object)
                             for c in _FACT_COLUMNS})
    df["month"] = df["date"].str[:7]
    # category: the sample's, else its product's
    missing = df["category"].isna() & df["product_id"].notna()
    if missing.any():
        products = view.get_many("product", sorted(set(df.loc[missing, "product_id"])))
        df.loc[missing, "category"] = df.loc[missing, "product_id"].map(
            lambda p: getattr(products.get(p), "category", None))
    df["category"] = df["category"].fillna(UNKNOWN)
    ops = view.get_many("operator", sorted(set(df["sampled_id"].dropna())))
    df["district"] = df["sampled_id"].map(lambda o: _district_of(getattr(ops.get(o), "region_id", None)))
    failed = set(df.loc[df["nonconforming"], "sample_id"])
    hazards: dict[str, set[str]] = {}
    if failed:
        for r in view.scan("test_result", {"conclusion": "nonconforming"}):
            if r.sample_id in failed:
                hazards.setdefault(r.sample_id, set()).add(r.hazard_class or UNKNOWN)
    df["hazards"] = [tuple(sorted(hazards.get(i) or {UNKNOWN})) if nc else ()
                     for i, nc in zip(df["sample_id"], df["nonconforming"])]
    return df[_FACT_COLUMNS].sort_values(["date", "sample_id"], ignore_index=True)


# -- trends ------------------------------------------------------------------------------------------

def _check_dimension(by: str) -> None:
    if by not in DIMENSIONS:
        raise ValueError(f"unknown breakdown {by!r}; known: {', '.join(DIMENSIONS)}")


def _counts(facts: pd.DataFrame, by: str, keys: Sequence[str]) -> pd.DataFrame:
    """samples and nonconforming per (group, *keys) of the given facts."""
    if by == "hazard":
        base = facts.groupby(list(keys), sort=False).size().rename("samples") if keys else None
        nc = facts.loc[facts["nonconforming"], [*keys, "hazards"]].explode("hazards")
        nc = nc.rename(columns={"hazards": "group"}).groupby(["group", *keys]).size().rename("nonconforming")
        out = nc.reset_index()
        if keys:
            out = out.merge(base.reset_index(), on=list(keys), how="left")
        else:
            out["samples"] = len(facts)
        return out
    g = facts.groupby([by, *keys])
    out = pd.DataFrame({"samples": g.size(), "nonconforming": g["nonconforming"].sum()}).reset_index()
    return out.rename(columns={by: "group"})


def _rate(nc: pd.Series, n: pd.Series) -> pd.Series:
    n = n.astype(float)
    return (nc.astype(float) / n.where(n > 0)).astype(float)


def monthly(facts: pd.DataFrame, by: str, period: Period) -> pd.DataFrame:
    """Samples, nonconforming samples and the rate per group and month of the period.

    Every group seen in the period gets a row for every month (zeros where it had none; ``rate`` NaN
    where there were no samples). Columns ``group, month, samples, nonconforming, rate``; sorted by group
    (``unknown`` last) and month. ``by`` is ``category``, ``hazard`` or ``district``.
    """
    _check_dimension(by)
    cur = facts.loc[period.contains(facts["date"])] if len(facts) else facts
    if "month" not in cur.columns or cur["month"].isna().any():
        cur = cur.assign(month=cur["date"].str[:7])
    months = period.months()
    counts = _counts(cur, by, ["month"]) if len(cur) else pd.DataFrame(columns=["group", "month", "samples",
                                                                               "nonconforming"])
    groups = sorted(set(counts["group"]), key=lambda g: (g == UNKNOWN, g))
    grid = pd.MultiIndex.from_product([groups, months], names=["group", "month"]).to_frame(index=False)
    out = grid.merge(counts[["group", "month", "nonconforming"]], on=["group", "month"], how="left")
    if by == "hazard":
        per_month = cur.groupby("month").size() if len(cur) else pd.Series(dtype=int)
        out["samples"] = out["month"].map(per_month).fillna(0).astype(int)
    else:
        out = out.merge(counts[["group", "month", "samples"]], on=["group", "month"], how="left")
        out["samples"] = out["samples"].fillna(0).astype(int)
    out["nonconforming"] = out["nonconforming"].fillna(0).astype(int)
    out["rate"] = _rate(out["nonconforming"], out["samples"])
    return out[["group", "month", "samples", "nonconforming", "rate"]].reset_index(drop=True)


def compare(facts: pd.DataFrame, by: str, period: Period) -> pd.DataFrame:
    """The period against the previous period of equal length, per group.

    Columns ``samples, nonconforming, rate, prev_samples, prev_nonconforming, prev_rate, change`` (in
    nonconforming samples) and ``rate_change`` (difference of the rates; NaN where either is), indexed by
    ``group`` (every group seen in either period), sorted by nonconforming samples in the period, then in
    the previous period (both descending), then by group.
    """
    _check_dimension(by)
    prev = period.previous()
    parts = {}
    for name, p in (("", period), ("prev_", prev)):
        sub = facts.loc[p.contains(facts["date"])] if len(facts) else facts
        c = _counts(sub, by, []) if len(sub) else pd.DataFrame(columns=["group", "samples", "nonconforming"])
        if by == "hazard":
            c["samples"] = len(sub)
        parts[name] = c.set_index("group")[["samples", "nonconforming"]].add_prefix(name)
    out = parts[""].join(parts["prev_"], how="outer")
    for name, p in (("", period), ("prev_", prev)):
        if by == "hazard":
            out[name + "samples"] = int(p.contains(facts["date"]).sum()) if len(facts) else 0
    out = out.fillna(0).astype(int)
    out["rate"] = _rate(out["nonconforming"], out["samples"])
    out["prev_rate"] = _rate(out["prev_nonconforming"], out["prev_samples"])
    out["change"] = out["nonconforming"] - out["prev_nonconforming"]
    out["rate_change"] = out["rate"] - out["prev_rate"]
    out.index.name = "group"
    out = out.reset_index().sort_values(["nonconforming", "prev_nonconforming", "group"],
                                        ascending=[False, False, True])
    return out.set_index("group")[["samples", "nonconforming", "rate", "prev_samples", "prev_nonconforming",
                                   "prev_rate", "change", "rate_change"]]


def totals(facts: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Samples, nonconforming and disputed samples and the rate, by sampling plan and in total, for the
    period and the previous one. Index: plan (``total`` last); columns as in :func:`compare` plus
    ``disputed``."""
    prev = period.previous()
    out = {}
    for name, p in (("", period), ("prev_", prev)):
        sub = facts.loc[p.contains(facts["date"])] if len(facts) else facts
        plans = sub["plan"].fillna(UNKNOWN)
        g = sub.groupby(plans)
        t = pd.DataFrame({"samples": g.size(), "nonconforming": g["nonconforming"].sum(),
                          "disputed": g["disputed"].sum()})
        t.loc["total"] = [len(sub), int(sub["nonconforming"].sum()), int(sub["disputed"].sum())]
        out[name] = t.add_prefix(name)
    res = out[""].join(out["prev_"], how="outer").fillna(0).astype(int)
    res["rate"] = _rate(res["nonconforming"], res["samples"])
    res["prev_rate"] = _rate(res["prev_nonconforming"], res["prev_samples"])
    res["change"] = res["nonconforming"] - res["prev_nonconforming"]
    res["rate_change"] = res["rate"] - res["prev_rate"]
    order = sorted(i for i in res.index if i != "total") + ["total"]
    res.index.name = "plan"
    return res.loc[order, ["samples", "nonconforming", "rate", "prev_samples", "prev_nonconforming", "prev_rate",
                           "change", "rate_change", "disputed", "prev_disputed"]]


# -- 核查处置 -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DisposalSummary:
    """核查处置 of the nonconforming samples of a period, as of a day.

    ``nonconforming``: the period's nonconforming samples; ``counts``: how many have each status
    (:data:`DISPOSAL_STATUSES`); ``due``: those whose deadline passed before ``as_of``; ``completed``: those
    of them done before ``as_of``. The completion rate (核查处置完成率) is completed / due, as
    :func:`reasoning.alerts.disposal_summary` counts it: a sample not yet due is not counted against the
    city, and a sample without a deadline cannot be (it is listed, as ``no_deadline``, for follow-up).
    ``rows``: one row per nonconforming sample (``sample_id, date, sampled_id, disposal_due, disposal_done,
    status, due_passed, days_overdue``), overdue ones first.
    """

    as_of: dt.date
    nonconforming: int
    due: int
    completed: int
    counts: dict[str, int]
    rows: pd.DataFrame = field(repr=False, compare=False)

    @property
    def completion_rate(self) -> float | None:
        """Completed / due (None when nothing was due)."""
        return self.completed / self.due if self.due else None

    @property
    def on_time_rate(self) -> float | None:
        """Completed by the deadline / due (None when nothing was due)."""
        if not self.due:
            return None
        r = self.rows
        return int((r["due_passed"] & (r["status"] == "done_on_time")).sum()) / self.due


def disposal(facts: pd.DataFrame, period: Period, *, as_of: dt.date | str | None = None) -> DisposalSummary:
    """The 核查处置 status of every nonconforming sample of the period, as of ``as_of`` (default: the day
    after the period). A disposal dated on or after ``as_of`` is not known yet.

    >>> facts = pd.DataFrame({"sample_id": ["a", "b", "c", "d", "e", "f"], "date": ["2026-01-02"] * 6,
    ...     "sampled_id": ["o"] * 6, "nonconforming": [True] * 6,
    ...     "disposal_due": ["2026-01-20", "2026-01-20", "2026-01-20", "2026-02-10", "2026-02-10", None],
    ...     "disposal_done": ["2026-01-15", "2026-01-25", None, "2026-01-30", None, None]})
    >>> d = disposal(facts, Period.of("2026-01-01", "2026-01-31"))
    >>> d.nonconforming, d.counts
    (6, {'done_on_time': 2, 'done_late': 1, 'overdue': 1, 'open': 1, 'no_deadline': 1})
    >>> d.due, d.completed, d.completion_rate, d.on_time_rate
    (3, 2, 0.6666666666666666, 0.3333333333333333)
    >>> d.rows[["sample_id", "status", "days_overdue"]].values.tolist()[0]
    ['c', 'overdue', 12]
    """
    day = to_date(as_of, "as_of") if as_of is not None else period.end + dt.timedelta(days=1)
    cut = day.isoformat()
    sub = facts.loc[period.contains(facts["date"]) & facts["nonconforming"].astype(bool)] if len(facts) else facts
    cols = ["sample_id", "date", "sampled_id", "disposal_due", "disposal_done"]
    rows = sub[cols].copy() if len(sub) else pd.DataFrame(columns=cols)

    due = [day_of(x) if isinstance(x, (str, dt.date)) else None for x in rows["disposal_due"]]
    done = [f if f and f < cut else None
            for f in (day_of(x) if isinstance(x, (str, dt.date)) else None for x in rows["disposal_done"])]
    status = []
    for d, f in zip(due, done):
        if f:
            status.append("done_on_time" if not d or f <= d else "done_late")
        elif not d:
            status.append("no_deadline")
        else:
            status.append("overdue" if d < cut else "open")
    rows["disposal_due"] = pd.Series(due, index=rows.index, dtype=object)
    rows["disposal_done"] = pd.Series(done, index=rows.index, dtype=object)
    rows["status"] = pd.Series(status, index=rows.index, dtype=object)
    rows["due_passed"] = pd.Series([bool(d and d < cut) for d in due], index=rows.index, dtype=bool)
    rows["days_overdue"] = [(day - dt.date.fromisoformat(d)).days if s == "overdue" else 0
                            for d, s in zip(due, status)]
    order = {s: i for i, s in enumerate(["overdue", "no_deadline", "open", "done_late", "done_on_time"])}
    rows = rows.assign(_o=rows["status"].map(order)).sort_values(["_o", "days_overdue", "date", "sample_id"],
                                                                  ascending=[True, False, True, True])
    counts = {s: int((rows["status"] == s).sum()) for s in DISPOSAL_STATUSES}
    n_due = int(rows["due_passed"].sum())
    completed = int((rows["due_passed"] & rows["disposal_done"].notna()).sum())
    return DisposalSummary(day, len(rows), n_due, completed, counts, rows.drop(columns="_o").reset_index(drop=True))


# -- grades ------------------------------------------------------------------------------------------

def _grade_of(a: Any) -> str | None:
    return a.get("grade") if isinstance(a, Mapping) else getattr(a, "grade", None)


def _operator_of(a: Any) -> str | None:
    return a.get("operator_id") if isinstance(a, Mapping) else getattr(a, "operator_id", None)


def grade_distribution(assessments: Iterable[Any], groups: Mapping[str, str | None]) -> pd.DataFrame:
    """Operators per grade and group: a table indexed by group with columns ``A B C D total``.

    ``assessments`` are objects (or mappings) with ``operator_id`` and ``grade``; ``groups`` maps an
    operator id to its group (kind, district ...; missing or None: ``unknown``). The last row, ``total``,
    sums the columns.

    >>> grade_distribution([{"operator_id": "x", "grade": "A"}, {"operator_id": "y", "grade": "D"},
    ...                     {"operator_id": "z", "grade": "D"}], {"x": "Stall", "y": "Stall"}).values.tolist()
    [[1, 0, 0, 1, 2], [0, 0, 0, 1, 1], [1, 0, 0, 2, 3]]
    """
    rows = [(groups.get(_operator_of(a)) or UNKNOWN, _grade_of(a)) for a in assessments]
    df = pd.DataFrame(rows, columns=["group", "grade"])
    out = pd.crosstab(df["group"], df["grade"]) if len(df) else pd.DataFrame()
    out = out.reindex(columns=list(GRADES), fill_value=0).astype(int)
    out.columns.name = None
    out["total"] = out.sum(axis=1)
    out.loc["total"] = out.sum(axis=0)
    out.index.name = "group"
    return out


@dataclass(frozen=True)
class TopRisk:
    """One of the operators of highest risk: its assessment and, where the model ran, its probability."""

    rank: int
    operator_id: str
    grade: str
    score: float
    assessment: Any                     # reasoning.grading.Assessment
    probability: float | None = None    # model: the next sample fails
    top_features: tuple[Any, ...] = ()  # model: top contributing features, as the model gives them

    @property
    def factors(self) -> tuple[Any, ...]:
        """The assessment's factors that add points, most points first."""
        fs = [f for f in getattr(self.assessment, "factors", ()) if (getattr(f, "points", 0) or 0) > 0]
        return tuple(sorted(fs, key=lambda f: -f.points))


def top_risk(assessments: Iterable[Any], probabilities: Mapping[str, float] | None = None, *, n: int = 10,
             features: Mapping[str, Sequence[Any]] | None = None) -> list[TopRisk]:
    """The ``n`` operators of highest risk: by regulatory grade (D first), then points, then the model's
    probability (where given), then id.

    The regulatory grade orders them because it is the grade the credit team defends; the model's
    probability is shown beside it and breaks ties.
    """
    probabilities = probabilities or {}
    features = features or {}
    rank = {g: i for i, g in enumerate(GRADES)}

    def key(a: Any) -> tuple:
        p = probabilities.get(a.operator_id)
        return (-rank.get(a.grade, -1), -(a.score or 0), -(p if p is not None and not np.isnan(p) else -1),
                a.operator_id)

    chosen = sorted(assessments, key=key)[:max(n, 0)]
    return [TopRisk(i + 1, a.operator_id, a.grade, a.score, a, probabilities.get(a.operator_id),
                    tuple(features.get(a.operator_id, ()))) for i, a in enumerate(chosen)]


# -- everything for the report -----------------------------------------------------------------------

@dataclass(frozen=True)
class Consultation:
    """Everything the consultation report shows (see :func:`consultation`)."""

    period: Period
    previous: Period
    as_of: dt.date
    facts: pd.DataFrame = field(repr=False)
    totals: pd.DataFrame = field(repr=False)
    trends: dict[str, pd.DataFrame] = field(repr=False)        # by dimension: :func:`monthly`
    comparisons: dict[str, pd.DataFrame] = field(repr=False)   # by dimension: :func:`compare`
    disposal: DisposalSummary = field(repr=False)
    assessments: list[Any] = field(repr=False)
    top: list[TopRisk] = field(repr=False)
    alerts: list[Any] = field(repr=False)
    grades_by_kind: pd.DataFrame = field(repr=False)
    grades_by_district: pd.DataFrame = field(repr=False)
    operators: dict[str, Any] = field(repr=False)              # operator records of every id shown
    overrides: dict[str, Any] = field(default_factory=dict, repr=False)  # GradeOverride in force at as_of
    notes: tuple[str, ...] = ()


def _model_scores(view: "ReadView", as_of: dt.date) -> tuple[dict[str, float], dict[str, tuple], str | None]:
    """Probabilities and top features from the failure-risk model, or why there are none."""
    try:
        from reasoning.risk_model import score_operators
    except ImportError:
        return {}, {}, "risk model not available"
    try:
        scores = score_operators(view, as_of=as_of)
    except (ValueError, FoodtraceError) as e:  # too little history to train on, one class only ...
        return {}, {}, f"risk model not applied: {e}"
    if scores is None or len(scores) == 0:
        return {}, {}, "risk model not applied: nothing to score"
    df = scores.reset_index() if "operator_id" not in scores.columns else scores
    prob_col = next((c for c in ("probability", "proba", "p_fail") if c in df.columns), None)
    if prob_col is None:
        return {}, {}, "risk model gave no probability column"
    probs = {o: float(p) for o, p in zip(df["operator_id"], df[prob_col]) if p is not None and not pd.isna(p)}
    feat_col = next((c for c in ("top_features", "contributions", "top") if c in df.columns), None)
    feats = {o: tuple(v) if isinstance(v, (list, tuple)) else (v,)
             for o, v in zip(df["operator_id"], df[feat_col])} if feat_col else {}
    return probs, feats, None


def consultation(view: "ReadView", start: dt.date | str, end: dt.date | str, *, top: int = 10,
                 as_of: dt.date | str | None = None, model: bool = True) -> Consultation:
    """The figures of a consultation on the period ``start`` .. ``end`` (both included).

    Grades, model scores, warnings and 核查处置 are taken as of ``as_of`` (default: the day after the
    period, i.e. everything dated within or before it). ``model=False`` leaves the failure-risk model out.
    """
    from reasoning.alerts import alerts as find_alerts
    from reasoning.grading import grade_operators

    period = Period.of(start, end)
    day = to_date(as_of, "as_of") if as_of is not None else period.end + dt.timedelta(days=1)
    prev = period.previous()
    facts = sample_facts(view, start=prev.start, end=period.end)
    trends = {by: monthly(facts, by, period) for by in DIMENSIONS}
    comps = {by: compare(facts, by, period) for by in DIMENSIONS}
    notes: list[str] = []
    assessments = list(grade_operators(view, as_of=day))
    probs, feats, why = _model_scores(view, day) if model else ({}, {}, None)
    if why:
        notes.append(why)
    chosen = top_risk(assessments, probs, n=top, features=feats)
    warnings = list(find_alerts(view, as_of=day))
    ops = view.get_many("operator", sorted({a.operator_id for a in assessments}))
    by_kind = grade_distribution(assessments, {o: getattr(r, "kind", None) for o, r in ops.items()})
    by_district = grade_distribution(assessments, {o: _district_of(getattr(r, "region_id", None))
                                                   for o, r in ops.items()})
    wanted = set(facts["sampled_id"].dropna()) | {t.operator_id for t in chosen}
    for a in warnings:
        for name in ("operator_id", "producer_id", "supplier_id", "sampled_id"):
            v = getattr(a, name, None)
            if isinstance(v, str):
                wanted.add(v)
    missing = wanted - ops.keys()
    if missing:
        ops.update(view.get_many("operator", sorted(missing)))
    return Consultation(period, prev, day, facts, totals(facts, period), trends, comps,
                        disposal(facts, period, as_of=day), assessments, chosen, warnings, by_kind, by_district,
                        ops, overrides_in_force(view, day), tuple(notes))


def overrides_in_force(view: "ReadView", as_of: dt.date | str) -> dict[str, Any]:
    """The credit team's grade overrides in force at the start of ``as_of`` (China time), by operator."""
    from reasoning.assessments import override_in_force

    at = f"{to_date(as_of, 'as_of').isoformat()}T00:00:00+08:00"
    by_op: dict[str, list[Any]] = {}
    for o in view.scan("grade_override"):
        by_op.setdefault(o.operator_id, []).append(o)
    found = {oid: override_in_force(os_, at) for oid, os_ in by_op.items()}
    return {oid: o for oid, o in found.items() if o is not None}
