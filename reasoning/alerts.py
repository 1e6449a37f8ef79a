"""Early warnings (预警) for the credit team and the risk analysts.

Three rules, each over what was known before ``as_of`` (records dated before it; a sample counts once
its result was known, :func:`ontology.times.known_day`, and sits in a period by the day it was taken,
:func:`ontology.times.sample_day`; food-related products are left out, :func:`ontology.records.is_food`):

**Repeat failures of one product of one producer** (同一企业同一产品不合格批次), kind ``repeat_failure``.
The city must never see one producer's product fail in 3 batches within a year (the red line of
the demonstration city); it warns at 2. Within the period (default the 12 months before
``as_of``), for each named producer (``Sample.producer_id``) and product (``Sample.product_id``,
else the product name as written, NFKC-normalised without spaces):

* samples are counted, not test-result rows: a sample failing three items is one failure;
* batches are counted, not samples: samples with the same ``Sample.batch`` (production date or
  batch number as written, normalised) are one batch; a sample without a batch but with a lot id
  takes the lot as its batch; a sample with neither counts as one batch of its own;
* disputed samples (``Sample.disputed``: the named producer denies making it, or the cause lies
  elsewhere) are left out; samples without a named producer or without a date cannot be counted;
* 2 batches give a ``warning``, 3 or more a ``red_line`` (both thresholds are rules' settings).

**Overdue verification and disposal** (核查处置逾期), kind ``overdue_disposal``, level ``overdue``: a
nonconforming sample (disputed or not: the verification is what settles a dispute) whose deadline
``Sample.disposal_due`` is before ``as_of`` and whose disposal was not completed before ``as_of``
(``Sample.disposal_done`` empty or not earlier). A sample without a deadline has none, unless the
rules give a default number of days after the sample date. :func:`disposal_summary` gives the
completion rate (核查处置完成率, which must be 100%) over the nonconforming samples of the period.

**Suppliers whose buyers' failures cluster** (供货方下游不合格聚集), kind ``supplier_cluster``, level
``cluster``. Each nonconforming, undisputed sample of the period taken at a buyer is attributed to
the buyer's possible suppliers of that food category:

* the sample's named producer (``Sample.producer_id``), when it is not the buyer itself;
* where the sample names its lot: the senders of the deliveries of that lot to the buyer received
  (shipped) on or before the sample date;
* otherwise: the senders of the deliveries to the buyer, shipped within ``supply_days`` (default
  30) before the sample date up to that day, of lots whose product has the sample's category.

A supplier is flagged for a category when failures at **at least 2 distinct buyers** (setting
``cluster_buyers``) fall within ``cluster_days`` (default 30) of each other: the common upstream
link is the place to look. One alert per supplier and category, for its window with the most
buyers (the latest such window on a tie); the evidence is the samples of that window.

Every alert carries the operators concerned, the product or category, the sample ids as
evidence and a Chinese message (English in ``message_en``). Pure: reads a view, returns data.

Examples
--------
>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Sample
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "a.db"))
>>> _ = s.write([Sample(id=f"s{i}", plan="supervisory", sampled_id="shop", producer_id="maker",
...                     product_id="milk", product_name="纯牛奶", batch=b, sampled_at=d,
...                     conclusion="nonconforming")
...              for i, (b, d) in enumerate([("B1", "2026-01-05"), ("B1", "2026-01-09"), ("B2", "2026-02-01")])])
>>> [(a.kind, a.level, a.count, a.sample_ids) for a in alerts(ReadView(s), as_of="2026-03-01")]
[('repeat_failure', 'warning', 2, ('s0', 's1', 's2'))]
>>> s.close()
"""

from __future__ import annotations

import calendar
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ontology.errors import FoodtraceError
from ontology.records import is_food
from ontology.times import day_of, default_as_of, known_day, parse_day, sample_day

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["Alert", "AlertRules", "DisposalSummary", "KINDS", "LEVELS", "LEVEL_ZH", "alerts", "disposal_summary",
           "alerts_by_operator"]

#: alert kinds
KINDS = ("repeat_failure", "overdue_disposal", "supplier_cluster")
#: alert levels, most urgent first
LEVELS = ("red_line", "warning", "overdue", "cluster")
LEVEL_ZH = {"red_line": "红线", "warning": "预警", "overdue": "逾期", "cluster": "聚集"}


@dataclass(frozen=True)
class AlertRules:
    """The settings of the three rules (defaults as the city's plan states them)."""

    #: the period the batch and cluster rules look at, in months before as_of
    period_months: int = 12
    #: distinct nonconforming batches of one producer's product that give a warning / the red line
    warning_batches: int = 2
    red_line_batches: int = 3
    #: a deadline for nonconforming samples without one: days after the sample date (None: no deadline)
    default_disposal_days: int | None = None
    #: the failures of a cluster fall within this many days
    cluster_days: int = 30
    #: distinct buyers that make a cluster
    cluster_buyers: int = 2
    #: deliveries shipped this many days before a sample (without a lot) may have brought the sampled food
    supply_days: int = 30

    def __post_init__(self) -> None:
        if self.period_months < 1:
            raise FoodtraceError(f"the alert period must be at least 1 month, not {self.period_months}")
        if not 1 <= self.warning_batches <= self.red_line_batches:
            raise FoodtraceError(f"need 1 <= warning batches ({self.warning_batches}) <= red-line batches "
                                 f"({self.red_line_batches})")
        if self.cluster_days < 0 or self.supply_days < 0 or self.cluster_buyers < 2:
            raise FoodtraceError("cluster and supply days must be >= 0 and a cluster needs >= 2 buyers")
        if self.default_disposal_days is not None and self.default_disposal_days < 0:
            raise FoodtraceError("the default disposal deadline must be >= 0 days")


@dataclass(frozen=True)
class Alert:
    """One early warning.

    ``operator_ids``: for ``repeat_failure`` the producer; for ``overdue_disposal`` the sampled
    operator, then the named producer where there is one; for ``supplier_cluster`` the supplier,
    then the buyers. ``count``: batches, days overdue, or buyers. ``first`` / ``last``: the dates
    the evidence spans (for an overdue disposal: the sample date and the deadline).
    """

    kind: str
    level: str
    operator_ids: tuple[str, ...]
    product: str | None
    sample_ids: tuple[str, ...]
    message: str
    message_en: str
    count: int
    first: str | None = None
    last: str | None = None
    category: str | None = None
    product_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["operator_ids"] = list(self.operator_ids)
        d["sample_ids"] = list(self.sample_ids)
        return d


@dataclass(frozen=True)
class DisposalSummary:
    """核查处置 over the nonconforming samples of a period, as known before ``as_of``.

    ``due``: samples whose deadline has passed; ``completed``: those of them completed before
    as_of; ``overdue``: the others; ``rate`` = completed / due (None when nothing was due);
    ``pending``: deadline not yet reached; ``no_deadline``: samples without a deadline.
    """

    as_of: str
    start: str
    nonconforming: int
    due: int
    completed: int
    completed_late: int
    overdue: int
    pending: int
    no_deadline: int
    rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- dates -------------------------------------------------------------------------------------------


def _months_before(d: date, months: int) -> date:
    """The same day ``months`` earlier (the month's last day where it is shorter).

    >>> _months_before(date(2026, 3, 31), 1), _months_before(date(2026, 3, 1), 12)
    (datetime.date(2026, 2, 28), datetime.date(2025, 3, 1))
    """
    y, m = divmod(d.month - 1 - months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _sample_day(s: Any) -> str | None:
    return sample_day(s)


def _in_period(s: Any, start: str, end: str) -> bool:
    """A food sample taken on or after ``start`` whose result was known before ``end`` (the as-of day)."""
    taken, known = sample_day(s), known_day(s)
    return is_food(s) and taken is not None and known is not None and start <= taken and known < end


# -- helpers ----------------------------------------------------------------------------------------


def _norm(text: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


def _nonconforming(s: Any) -> bool:
    c = (s.conclusion or "").strip().lower()
    return c in ("nonconforming", "不合格")


def _product_key(s: Any) -> str | None:
    if s.product_id:
        return s.product_id
    name = _norm(s.product_name)
    return f"name:{name}" if name else None


def _batch_key(s: Any) -> str:
    if s.batch and _norm(s.batch):
        return "batch:" + _norm(s.batch)
    if s.lot_id:
        return "lot:" + s.lot_id
    return "sample:" + s.id


class _Names:
    """Operator and product names and category labels, read once for the alerts' ids."""

    def __init__(self, view: "ReadView", operator_ids: Iterable[str], product_ids: Iterable[str]):
        from ontology.vocab import labels

        self.ops = {k: v.name for k, v in view.get_many("operator", set(operator_ids)).items() if v.name}
        self.products = {k: v.name for k, v in view.get_many("product", set(product_ids)).items() if v.name}
        self.categories = labels("category")

    def op(self, oid: str) -> str:
        return self.ops.get(oid, oid)

    def category(self, c: str | None, lang: int = 0) -> str:
        if not c:
            return "未知类别" if lang == 0 else "unknown category"
        return self.categories.get(c, (c, c))[lang]


def _join(items: list[str], limit: int = 5) -> str:
    shown = "、".join(items[:limit])
    return shown + (f"等{len(items)}家" if len(items) > limit else "")


# -- the rules ----------------------------------------------------------------------------------------


def _repeat_failures(samples: list[Any], rules: AlertRules, start: str, end: str) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for s in samples:
        if not (_nonconforming(s) and not s.disputed and s.producer_id and _in_period(s, start, end)):
            continue
        key = _product_key(s)
        if key is not None:
            groups[(s.producer_id, key)].append(s)
    found = []
    for (producer, product), group in groups.items():
        batches = {_batch_key(s) for s in group}
        n = len(batches)
        if n < rules.warning_batches:
            continue
        group.sort(key=lambda s: (_sample_day(s), s.id))
        found.append({"producer": producer, "product": product, "samples": group, "batches": n,
                      "level": "red_line" if n >= rules.red_line_batches else "warning"})
    return found


def _overdue(samples: list[Any], rules: AlertRules, end: str) -> list[tuple[Any, str, int]]:
    out = []
    for s in samples:
        day = _sample_day(s)
        if not _nonconforming(s) or (day is not None and day >= end):
            continue
        due = _deadline(s, rules)
        if due is None or due >= end:
            continue
        done = day_of(s.disposal_done)
        if done is not None and done < end:
            continue
        out.append((s, due, (date.fromisoformat(end) - date.fromisoformat(due)).days))
    out.sort(key=lambda t: (t[1], t[0].id))
    return out


def _deadline(s: Any, rules: AlertRules) -> str | None:
    due = day_of(s.disposal_due)
    if due is None and rules.default_disposal_days is not None:
        day = _sample_day(s)
        if day:
            due = (date.fromisoformat(day) + timedelta(days=rules.default_disposal_days)).isoformat()
    return due


def _clusters(view: "ReadView", samples: list[Any], rules: AlertRules, start: str, end: str,
              product_category: dict[str, str | None]) -> list[dict[str, Any]]:
    failed = [s for s in samples if _nonconforming(s) and not s.disputed and s.sampled_id and _in_period(s, start, end)]
    if not failed:
        return []
    buyers = sorted({s.sampled_id for s in failed})
    inbound: dict[str, list[Any]] = defaultdict(list)
    for d in view.deliveries(receiver_ids=buyers):
        inbound[d.receiver_id].append(d)
    lot_ids = {d.lot_id for ds in inbound.values() for d in ds}
    lot_product = {k: v.product_id for k, v in view.get_many("lot", lot_ids).items()}
    missing = {p for p in lot_product.values() if p and p not in product_category}
    product_category.update({k: v.category for k, v in view.get_many("product", missing).items()})

    # (supplier, category) -> [(day, buyer, sample id)]
    hits: dict[tuple[str, str | None], set[tuple[str, str, str]]] = defaultdict(set)
    for s in failed:
        day = _sample_day(s)
        cat = s.category or product_category.get(s.product_id or "")
        suppliers: set[str] = set()
        if s.producer_id and s.producer_id != s.sampled_id:
            suppliers.add(s.producer_id)
        lo = (date.fromisoformat(day) - timedelta(days=rules.supply_days)).isoformat()
        for d in inbound.get(s.sampled_id, ()):
            shipped = day_of(d.time)
            if shipped is None or shipped > day or d.sender_id == s.sampled_id:
                continue
            if s.lot_id:
                if d.lot_id == s.lot_id:
                    suppliers.add(d.sender_id)
            elif shipped >= lo and cat is not None and product_category.get(lot_product.get(d.lot_id) or "") == cat:
                suppliers.add(d.sender_id)
        for sup in suppliers:
            hits[(sup, cat)].add((day, s.sampled_id, s.id))

    found = []
    for (sup, cat), events in hits.items():
        if len({b for _, b, _ in events}) < rules.cluster_buyers:
            continue
        ev = sorted(events)
        best: tuple[int, str, int, int] | None = None  # (buyers, last day, i, j)
        j = 0
        for i in range(len(ev)):
            # the window ending at event i: events j..i within cluster_days
            limit = (date.fromisoformat(ev[i][0]) - timedelta(days=rules.cluster_days)).isoformat()
            while ev[j][0] < limit:
                j += 1
            n = len({b for _, b, _ in ev[j:i + 1]})
            if n >= rules.cluster_buyers and (best is None or (n, ev[i][0]) >= (best[0], best[1])):
                best = (n, ev[i][0], j, i)
        if best is None:
            continue
        window = ev[best[2]:best[3] + 1]
        buyers_in = sorted({b for _, b, _ in window})
        found.append({"supplier": sup, "category": cat, "buyers": buyers_in, "events": window})
    return found


# -- the public functions ----------------------------------------------------------------------------


def alerts(view: "ReadView", *, as_of: Any = None, rules: AlertRules | None = None) -> list[Alert]:
    """Every early warning as known before ``as_of`` (default: the day after the latest date in the store).

    Sorted red lines first, then warnings, overdue disposals and clusters; within a level by
    operator and product.
    """
    rules = rules or AlertRules()
    samples = list(view.scan("sample"))
    day = parse_day(as_of) if as_of is not None else default_as_of(view)
    end = day.isoformat()
    start = _months_before(day, rules.period_months).isoformat()

    product_ids = {s.product_id for s in samples if s.product_id}
    product_category = {k: v.category for k, v in view.get_many("product", product_ids).items()}
    repeats = _repeat_failures(samples, rules, start, end)
    overdue = _overdue(samples, rules, end)
    clusters = _clusters(view, samples, rules, start, end, product_category)

    op_ids = {r["producer"] for r in repeats} | {s.sampled_id for s, _, _ in overdue if s.sampled_id} \
        | {s.producer_id for s, _, _ in overdue if s.producer_id} \
        | {c["supplier"] for c in clusters} | {b for c in clusters for b in c["buyers"]}
    names = _Names(view, op_ids, product_ids)

    def product_name(s: Any) -> str:
        return names.products.get(s.product_id or "", None) or s.product_name or s.product_id or "未知产品"

    out: list[Alert] = []
    period_zh = f"近{rules.period_months}个月（{start}至{(day - timedelta(days=1)).isoformat()}）"
    period_en = f"the {rules.period_months} months from {start} to {(day - timedelta(days=1)).isoformat()}"
    for r in repeats:
        group = r["samples"]
        first = group[0]
        pname = product_name(first)
        ids = tuple(s.id for s in group)
        n = r["batches"]
        who = names.op(r["producer"])
        if r["level"] == "red_line":
            msg = (f"红线：{who}生产的{pname}{period_zh}有{n}个批次抽检不合格（样品 {'、'.join(ids)}），"
                   f"已触及“同一企业同一产品{rules.red_line_batches}批次不合格”红线，请立即核查处置。")
            en = (f"Red line: {n} batches of {pname} made by {who} failed in {period_en} (samples {', '.join(ids)}); "
                  f"the city's red line of {rules.red_line_batches} nonconforming batches is reached.")
        else:
            left = rules.red_line_batches - n
            msg = (f"预警：{who}生产的{pname}{period_zh}有{n}个批次抽检不合格（样品 {'、'.join(ids)}），"
                   f"再有{left}个批次不合格即触及“同一企业同一产品{rules.red_line_batches}批次不合格”红线。")
            en = (f"Warning: {n} batches of {pname} made by {who} failed in {period_en} (samples {', '.join(ids)}); "
                  f"{left} more and the red line of {rules.red_line_batches} batches is reached.")
        out.append(Alert("repeat_failure", r["level"], (r["producer"],), r["product"], ids, msg, en, n,
                         _sample_day(group[0]), _sample_day(group[-1]),
                         first.category or product_category.get(first.product_id or ""), pname))
    for s, due, days in overdue:
        pname = product_name(s)
        ops = tuple(dict.fromkeys(x for x in (s.sampled_id, s.producer_id) if x))
        where = names.op(s.sampled_id) if s.sampled_id else "未知单位"
        msg = (f"逾期：{where}的{pname}（样品 {s.id}，抽样日期 {_sample_day(s) or '不详'}）抽检不合格，"
               f"核查处置期限 {due} 已过 {days} 天仍未完成。")
        en = (f"Overdue: verification and disposal of the nonconforming sample {s.id} ({pname}, taken at {where}) "
              f"was due on {due}, {days} days ago, and is not completed.")
        out.append(Alert("overdue_disposal", "overdue", ops, _product_key(s), (s.id,), msg, en, days,
                         _sample_day(s), due, s.category or product_category.get(s.product_id or ""), pname))
    for c in clusters:
        ev = c["events"]
        buyers = c["buyers"]
        cat_zh, cat_en = names.category(c["category"]), names.category(c["category"], 1)
        ids = tuple(dict.fromkeys(sid for _, _, sid in ev))
        who = names.op(c["supplier"])
        when_zh = f"在{ev[0][0]}" if ev[0][0] == ev[-1][0] else f"在{ev[0][0]}至{ev[-1][0]}期间"
        when_en = f"on {ev[0][0]}" if ev[0][0] == ev[-1][0] else f"between {ev[0][0]} and {ev[-1][0]}"
        msg = (f"聚集：{who}的{len(buyers)}家下游单位（{_join([names.op(b) for b in buyers])}）"
               f"{when_zh}{cat_zh}抽检不合格（样品 {'、'.join(ids)}），请排查共同来源。")
        en = (f"Cluster: {len(buyers)} buyers of {who} had nonconforming {cat_en} samples {when_en} "
              f"(samples {', '.join(ids)}); check the common source.")
        out.append(Alert("supplier_cluster", "cluster", (c["supplier"], *buyers), None, ids, msg, en, len(buyers),
                         ev[0][0], ev[-1][0], c["category"], None))
    out.sort(key=lambda a: (LEVELS.index(a.level), a.operator_ids, a.product or "", a.category or "", a.sample_ids))
    return out


def disposal_summary(view: "ReadView", *, as_of: Any = None, rules: AlertRules | None = None,
                     samples: Iterable[Any] | None = None) -> DisposalSummary:
    """核查处置完成率 over the nonconforming samples dated in the period before ``as_of``."""
    rules = rules or AlertRules()
    rows = list(samples) if samples is not None else list(view.scan("sample"))
    day = parse_day(as_of) if as_of is not None else default_as_of(view)
    end = day.isoformat()
    start = _months_before(day, rules.period_months).isoformat()
    n = due_n = completed = late = overdue = pending = none = 0
    for s in rows:
        d = _sample_day(s)
        if not _nonconforming(s) or d is None or not (start <= d < end):
            continue
        n += 1
        due = _deadline(s, rules)
        if due is None:
            none += 1
            continue
        if due >= end:
            pending += 1
            continue
        due_n += 1
        done = day_of(s.disposal_done)
        if done is not None and done < end:
            completed += 1
            late += done > due
        else:
            overdue += 1
    return DisposalSummary(end, start, n, due_n, completed, late, overdue, pending, none,
                           round(completed / due_n, 4) if due_n else None)


def alerts_by_operator(items: Iterable[Alert]) -> Mapping[str, list[Alert]]:
    """The alerts naming each operator (an alert names several where it concerns several)."""
    out: dict[str, list[Alert]] = defaultdict(list)
    for a in items:
        for oid in a.operator_ids:
            out[oid].append(a)
    return dict(out)
