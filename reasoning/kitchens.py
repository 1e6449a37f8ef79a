"""互联网+明厨亮灶: the plan's four rates per school canteen and per district, against their targets.

For a period [since, until]:

* 接入率 (connection rate): school canteens whose cameras are connected on ``until`` (connected by then, not
  disconnected by then) over all school canteens (target 100 %);
* 在线率 (online rate): hours online over working hours of the connected canteens' logged days (target 100 %);
* 上传率 (upload rate): logged days with both the tickets and the menu uploaded over logged days (target >= 95 %);
* 整改闭环率 (rectification rate): problems found in the period and put right by ``until`` over problems found in
  the period (target 100 %).

A rate with nothing to count is None. Each row names the rates that miss their target. The targets are the
indicator table's (:mod:`ontology.indicators`, ``kitchen_*``), where the indicator pack
(:mod:`reasoning.indicators`) reads the same rates per district and month from :func:`canteen_rows`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Iterable

from ontology.indicators import table

from .schools import schools
from .scope import operator_districts

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["TARGETS", "RateRow", "kitchen_rates", "canteen_rows", "sum_rows"]

#: the plan's targets (the indicator table's ``kitchen_<rate>``): rate -> (Chinese name, target)
TARGETS = {k: (zh, table().indicators[f"kitchen_{k}"].target)
           for k, zh in (("connection", "接入率"), ("online", "在线率"), ("upload", "上传率"), ("rectification", "整改闭环率"))}


@dataclass(frozen=True)
class RateRow:
    """The four rates of one school canteen (``scope`` = ``school``), one district or the city."""

    scope: str
    id: str
    name: str | None
    schools: int
    connected: int
    online_hours: float
    expected_hours: float
    days: int
    days_uploaded: int
    problems: int
    rectified: int

    @property
    def rates(self) -> dict[str, float | None]:
        def share(a: float, b: float) -> float | None:
            return round(a / b, 4) if b else None
        return {"connection": share(self.connected, self.schools),
                "online": share(self.online_hours, self.expected_hours),
                "upload": share(self.days_uploaded, self.days), "rectification": share(self.rectified, self.problems)}

    @property
    def missed(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.rates.items() if v is not None and v < TARGETS[k][1])

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rates": self.rates, "missed": list(self.missed)}


_FIELDS = ("schools", "connected", "online_hours", "expected_hours", "days", "days_uploaded", "problems",
           "rectified")


def sum_rows(rows: Iterable[RateRow], scope: str, key: str, name: str | None) -> RateRow:
    """One row adding up ``rows`` (a district's or the city's)."""
    rows = list(rows)
    total = {f: sum(getattr(r, f) for r in rows) for f in _FIELDS}
    total["online_hours"], total["expected_hours"] = round(total["online_hours"], 2), round(total["expected_hours"], 2)
    return RateRow(scope, key, name, **total)


def canteen_rows(view: "ReadView", canteens: dict[str, Any], periods: list[tuple[dt.date, dt.date]]
                 ) -> list[dict[str, RateRow]]:
    """For each period [since, until] (days, both included), one row per canteen of ``canteens`` (id -> Operator);
    each table is read once whatever the number of periods."""
    bounds = [(a.isoformat(), b.isoformat()) for a, b in periods]
    spans: dict[str, list[tuple[str, str | None]]] = {}
    for c in view.scan("kitchen_camera"):
        if c.canteen_id in canteens and c.connected:
            spans.setdefault(c.canteen_id, []).append((c.connected, c.disconnected))
    connected = [{k for k, sp in spans.items() if any(a <= hi and not (b and b <= hi) for a, b in sp)}
                 for _, hi in bounds]
    per = [{k: [0.0, 0.0, 0, 0, 0, 0] for k in canteens} for _ in bounds]
    for d in view.scan("kitchen_day"):
        if d.canteen_id not in canteens or not d.date:
            continue
        for i, (lo, hi) in enumerate(bounds):
            if lo <= d.date <= hi:
                p = per[i][d.canteen_id]
                p[2] += 1
                p[3] += bool(d.tickets_uploaded and d.menu_uploaded)
                if d.canteen_id in connected[i] and d.expected_hours:
                    p[1] += float(d.expected_hours)
                    p[0] += min(float(d.online_hours or 0.0), float(d.expected_hours))
    for x in view.scan("kitchen_problem"):
        if x.canteen_id not in canteens or not x.found:
            continue
        for i, (lo, hi) in enumerate(bounds):
            if lo <= x.found <= hi:
                per[i][x.canteen_id][4] += 1
                per[i][x.canteen_id][5] += bool(x.rectified and x.rectified <= hi)
    return [{k: RateRow("school", k, canteens[k].name, 1, int(k in connected[i]), round(v[0], 2), round(v[1], 2),
                        int(v[2]), int(v[3]), int(v[4]), int(v[5])) for k, v in sorted(per[i].items())}
            for i in range(len(bounds))]


def kitchen_rates(view: "ReadView", *, since: dt.date, until: dt.date, district: str | None = None) -> list[RateRow]:
    """One row per school canteen, then one per district and one for the city (of ``district`` only, if given)."""
    canteens = schools(view, district=district)
    dist = operator_districts(view, list(canteens))
    [by_canteen] = canteen_rows(view, canteens, [(since, until)])
    rows = list(by_canteen.values())
    by_district: dict[str, list[RateRow]] = {}
    for r in rows:
        by_district.setdefault(dist.get(r.id) or "", []).append(r)
    out = list(rows)
    out += [sum_rows(rs, "district", d, None) for d, rs in sorted(by_district.items())]
    out.append(sum_rows(rows, "city", "urn:foodtrace:region:320600", "南通市"))
    return out
