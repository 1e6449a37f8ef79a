"""The demonstration city's indicators (长效动态管理) per district and month, with the records behind them.

Definitions, targets and thresholds are :mod:`ontology.indicators`' table; each figure here is computed by
the one function of its capability: the 一证一票一码 shares by :func:`reasoning.chain.chain_completeness`
(on each month's deliveries), the disposal and complaint rates by :func:`reasoning.disposal.completion`, the
red lines by :func:`reasoning.alerts.repeat_failures` (samples cleared by a passing re-test left out). A
district is a business's district (a stall's market's where it names none); records of a business whose
district is unknown count in the city's row only where they are the city bureau's work (cases, complaints,
deliveries); the samples, red lines and businesses of the city's row are those of its districts. Samples count
where they are food, from a source that publishes both tables (:class:`ontology.records.SamplingSource`), by
the day taken and once known (:func:`ontology.times.sample_day`, :func:`ontology.times.known_day`). A figure
"as of" a day uses the records dated before it:
the rates of a month count what was done before the report's as-of day (default: the day after the period);
the red lines, grades and credit archives of a month are those in force at its end. The four 互联网+明厨亮灶 rates
(:mod:`reasoning.kitchens`) count the school canteens of the districts: connections at the month's end, the logged
school days and the problems found in the month.

>>> from ontology.indicators import table
>>> v = IndicatorValue("disposal_completion", "urn:foodtrace:region:320602", "2026-03", 19, 20, ())
>>> v.value, v.status(table())
(0.95, 'amber')
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from ontology.banquets import STATION_KIND
from ontology.errors import InvalidPeriod
from ontology.handling import CITY, district_of, districts
from ontology.indicators import ORDER, IndicatorTable, table as indicator_table
from ontology.records import is_food
from ontology.times import day_of, known_day, parse_day, sample_day

from .alerts import repeat_failures
from .chain import chain_completeness
from .complaints import complaint_rows
from .disposal import case_rows, cleared_on, completion
from .kitchens import canteen_rows, sum_rows
from .schools import schools

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["IndicatorValue", "IndicatorReport", "indicators", "months_between"]


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator of one district (or the city) in one month: numerator / denominator, and the ids of the
    records that fall short (the gaps, the overdue cases, the nonconforming samples, the red-line samples)."""

    indicator: str
    district: str
    month: str
    numerator: float
    denominator: float | None
    evidence: tuple[str, ...] = ()
    population: int | None = None

    @property
    def value(self) -> float | None:
        if self.indicator == "red_lines":
            return float(self.numerator)
        if self.indicator == "sampling_per_1000":
            return round(self.numerator * 1000 / self.population, 4) if self.population else None
        return round(self.numerator / self.denominator, 4) if self.denominator else None

    def status(self, t: IndicatorTable) -> str | None:
        return t.indicators[self.indicator].status(self.value)

    def to_dict(self, t: IndicatorTable) -> dict[str, Any]:
        ind = t.indicators[self.indicator]
        return {"indicator": self.indicator, "district": self.district, "month": self.month,
                "numerator": self.numerator, "denominator": self.denominator, "value": self.value,
                "target": ind.target, "status": self.status(t), "evidence": list(self.evidence)}


@dataclass(frozen=True)
class IndicatorReport:
    """Every indicator of every district (and the city, ``urn:foodtrace:region:320600``) and month."""

    start: str
    end: str
    as_of: str
    months: tuple[str, ...]
    districts: tuple[str, ...]
    values: tuple[IndicatorValue, ...]
    table: IndicatorTable = field(repr=False)
    notes: tuple[str, ...] = ()

    def get(self, indicator: str, district: str, month: str) -> IndicatorValue | None:
        for v in self.values:
            if (v.indicator, v.district, v.month) == (indicator, district, month):
                return v
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "as_of": self.as_of, "version": self.table.version,
                "months": list(self.months), "districts": list(self.districts),
                "indicators": {k: {"zh": i.zh, "en": i.en, "definition_zh": i.definition_zh,
                                   "definition_en": i.definition_en, "unit": i.unit, "target": i.target,
                                   "amber": i.amber, "better": i.better, "designed": i.designed,
                                   "source": i.source} for k, i in self.table.indicators.items()},
                "values": [v.to_dict(self.table) for v in self.values], "notes": list(self.notes)}


def months_between(start: date, end: date) -> list[str]:
    """The calendar months ``YYYY-MM`` from ``start`` to ``end``.

    >>> months_between(date(2025, 12, 5), date(2026, 2, 1))
    ['2025-12', '2026-01', '2026-02']
    """
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month_end(month: str) -> date:
    y, m = int(month[:4]), int(month[5:])
    return date(y, m, calendar.monthrange(y, m)[1])


def indicators(view: "ReadView", start: Any, end: Any, *, district: str | None = None, as_of: Any = None,
               path: str | None = None) -> IndicatorReport:
    """The indicators from ``start`` to ``end`` (days, both included), per district and month, as of
    ``as_of`` (default: the day after ``end``); ``district`` (a region id) keeps one district and the city."""
    lo, hi = parse_day(start, "from"), parse_day(end, "to")
    if lo > hi:
        raise InvalidPeriod(f"the period starts ({lo}) after it ends ({hi})")
    cut = parse_day(as_of, "as_of") if as_of is not None else hi + timedelta(days=1)
    t = indicator_table(path)
    months = months_between(lo, hi)
    known = tuple(districts())
    if district is not None and district not in known:
        raise InvalidPeriod(f"{district} is not one of Nantong's districts: {', '.join(known)}")
    shown = (district,) if district else known
    scope = (*shown, CITY)
    lo_s, hi_s, cut_s = lo.isoformat(), hi.isoformat(), cut.isoformat()

    ops = {o.id: o for o in view.scan("operator")}
    where = {oid: district_of(ops, oid) for oid in ops}
    bounds = {m: (max(lo_s, f"{m}-01"), min(hi_s, _month_end(m).isoformat())) for m in months}
    # the day a month's standing figures are read at: its last day's end, or the report's as-of day if earlier
    month_cut = {m: min(cut, _month_end(m) + timedelta(days=1)).isoformat() for m in months}
    values: list[IndicatorValue] = []

    def add(ind: str, d: str, m: str, num: int, den: int | None, evidence: Iterable[str] = (),
            population: int | None = None) -> None:
        if d in scope:
            values.append(IndicatorValue(ind, d, m, num, den, tuple(sorted(evidence)), population))

    # -- 一证一票一码 (chain-check on each month's deliveries) ----------------------------------------------
    by_month: dict[str, list[dict[str, Any]]] = defaultdict(list)
    coded: set[str] = set()
    for dv in view.scan_live("delivery"):
        if dv.trace_code:
            coded.add(dv.lot_id)
        day = day_of(dv.time)
        if day is None or not (lo_s <= day <= hi_s):
            continue
        by_month[day[:7]].append({"id": dv.id, "lot_id": dv.lot_id, "sender_id": dv.sender_id,
                                  "receiver_id": dv.receiver_id, "ticket_id": dv.ticket_id,
                                  "certificate_id": dv.certificate_id})
    coded.update(tc.lot_id for tc in view.scan("trace_code"))
    certified = {c.lot_id for c in view.scan("certificate") if c.lot_id}
    lot_product = {lot.id: lot.product_id for lot in view.scan("lot")}
    products = [{"id": p.id, "category": p.category} for p in view.scan("product")]
    # districts as resolved here (a stall's market's where it names none); chain-check rolls stalls up to markets
    op_rows = [{"id": o.id, "kind": o.kind, "name": o.name, "region_id": where[o.id] if where[o.id] != CITY
                else None, "parent_id": o.parent_id} for o in ops.values()]
    for m in months:
        dels = by_month.get(m, [])
        lots = {d["lot_id"] for d in dels}
        rep = chain_completeness(operators=op_rows, lots=[{"id": x, "product_id": lot_product.get(x)} for x in lots],
                                 products=products, deliveries=dels, certified_lots=certified & lots,
                                 coded_lots=coded & lots)
        gaps: dict[tuple[str, str], list[str]] = defaultdict(list)
        for g in rep.gaps:
            gaps[(g.kind, g.district or CITY)].append(g.id)
        for r in [*rep.rows, rep.totals]:
            if r is None or (r.dimension != "district" and r.dimension != "city"):
                continue
            d = CITY if r.dimension == "city" else r.key
            add("chain_certificate", d, m, r.with_certificate, r.market_entries,
                gaps[("certificate", d)] if d != CITY else ())
            add("chain_ticket", d, m, r.with_ticket, r.deliveries, gaps[("ticket", d)] if d != CITY else ())
            add("chain_trace_code", d, m, r.with_trace_code, r.retail_lots,
                gaps[("trace_code", d)] if d != CITY else ())
        seen = {r.key for r in rep.rows if r.dimension == "district"}
        for d in shown:
            if d not in seen:
                for ind in ("chain_certificate", "chain_ticket", "chain_trace_code"):
                    add(ind, d, m, 0, 0)

    # -- 核查处置 and 投诉举报 -----------------------------------------------------------------------------------
    crow = case_rows(view, as_of=cut_s)
    qrow = complaint_rows(view, as_of=cut_s)
    for m in months:
        a, b = bounds[m]
        for d in scope:
            mine = [r for r in crow if d == CITY or r.district_id == d]
            c = completion(mine, as_of=cut_s, start=a, end=b)
            short = c.ids["overdue"] + [i for i in c.ids["completed"] if i not in set(c.ids["on_time"])]
            add("disposal_completion", d, m, c.completed, c.due, c.ids["overdue"])
            add("disposal_on_time", d, m, c.on_time, c.due, short)
            q = [r for r in qrow if d == CITY or r.district_id == d]
            c = completion(q, as_of=cut_s, start=a, end=b)
            add("complaints_on_time", d, m, c.on_time, c.due, sorted(set(c.ids["due"]) - set(c.ids["on_time"])))
            c = completion([r for r in q if r.rural], as_of=cut_s, start=a, end=b)
            add("complaints_on_time_rural", d, m, c.on_time, c.due, sorted(set(c.ids["due"]) - set(c.ids["on_time"])))

    # -- sampling: food samples taken in a district, from sources that publish both tables (a failures-only
    # source has no denominator), by the month taken, known before the as-of day --------------------------------
    samples = list(view.scan("sample"))
    failures_only = {x.id for x in view.scan("sampling_source") if x.coverage == "failures_only"}
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    failed: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s in samples:
        if s.plan not in ("supervisory", "monitoring") or not is_food(s) or s.source_id in failures_only:
            continue
        day, known = sample_day(s), known_day(s)
        if day is None or not (lo_s <= day <= hi_s) or (known or day) >= cut_s:
            continue
        district = where.get(s.sampled_id or "", CITY)
        if district == CITY:
            continue
        m = day[:7]
        bad = (s.conclusion or "") == "nonconforming"
        agri = (s.category or "") in t.agricultural
        for d in (district, CITY):
            x = tally[(d, m)]
            x[0] += 1
            x[1] += bad
            x[2] += agri
            if bad:
                failed[(d, m)].append(s.id)
    for m in months:
        for d in scope:
            n, bad, agri = tally.get((d, m), (0, 0, 0))
            add("sampling_per_1000", d, m, n, None, (), t.population.get(d))
            add("problem_rate", d, m, bad, n, failed.get((d, m), ()))
            add("agricultural_share", d, m, agri, n)

    # -- red lines (in force at each month's end) ----------------------------------------------------------
    cleared_days = cleared_on(view)
    for m in months:
        mc = month_cut[m]
        cleared = {sid for sid, day in cleared_days.items() if day < mc}
        groups = repeat_failures((s for s in samples if s.id not in cleared), as_of=mc)
        lines: dict[str, int] = defaultdict(int)
        ids: dict[str, list[str]] = defaultdict(list)
        for g in groups:
            district = where.get(g["producer"], CITY)
            if g["level"] != "red_line" or district == CITY:  # the city's row: its districts' producers
                continue
            for d in (district, CITY):
                lines[d] += 1
                ids[d].extend(s.id for s in g["samples"])
        for d in scope:
            add("red_lines", d, m, lines.get(d, 0), None, ids.get(d, ()))

    # -- grading and credit archives (in force at each month's end) ------------------------------------------
    first_grade: dict[str, str] = {}
    for a in view.scan("risk_assessment"):
        day = day_of(a.created)
        if day and (a.operator_id not in first_grade or day < first_grade[a.operator_id]):
            first_grade[a.operator_id] = day
    first_credit: dict[str, str] = {}
    for c in view.scan("credit_record"):
        day = day_of(c.start)
        if day and (c.operator_id not in first_credit or day < first_credit[c.operator_id]):
            first_credit[c.operator_id] = day
    per_district: dict[str, list[str]] = defaultdict(list)  # the city's businesses: those of its districts
    for oid, d in where.items():   # a banquet's station is no business
        if d != CITY and ops[oid].kind != STATION_KIND:
            per_district[d].append(oid)
            per_district[CITY].append(oid)
    for m in months:
        mc = month_cut[m]
        for d in scope:
            members = per_district.get(d, [])
            graded = [o for o in members if first_grade.get(o, "9") < mc]
            archived = [o for o in members if first_credit.get(o, "9") < mc]
            add("graded_share", d, m, len(graded), len(members))
            add("credit_archive_share", d, m, len(archived), len(members))

    # -- 互联网+明厨亮灶 (reasoning.kitchens): a month's logged days and problems found, connections at its end;
    # the city's row: the canteens of its districts --------------------------------------------------------------
    canteens = {k: o for k, o in schools(view).items() if where.get(k, CITY) != CITY}
    periods = [(date.fromisoformat(bounds[m][0]),
                min(date.fromisoformat(bounds[m][1]), date.fromisoformat(month_cut[m]) - timedelta(days=1)))
               for m in months]
    for m, rows in zip(months, canteen_rows(view, canteens, periods)):
        by_d: dict[str, list[Any]] = defaultdict(list)
        for r in rows.values():
            by_d[where[r.id]].append(r)
            by_d[CITY].append(r)
        for d in scope:
            mine = by_d.get(d, [])
            tot = sum_rows(mine, "district", d, None)
            add("kitchen_connection", d, m, tot.connected, tot.schools, [r.id for r in mine if not r.connected])
            add("kitchen_online", d, m, tot.online_hours, tot.expected_hours,
                [r.id for r in mine if r.online_hours < r.expected_hours])
            add("kitchen_upload", d, m, tot.days_uploaded, tot.days, [r.id for r in mine if r.days_uploaded < r.days])
            add("kitchen_rectification", d, m, tot.rectified, tot.problems,
                [r.id for r in mine if r.rectified < r.problems])

    order = {k: i for i, k in enumerate(ORDER)}
    dorder = {d: i for i, d in enumerate(scope)}
    values.sort(key=lambda v: (dorder[v.district], v.month, order[v.indicator]))
    return IndicatorReport(lo_s, hi_s, cut_s, tuple(months), scope, tuple(values), t)
