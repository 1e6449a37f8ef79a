"""互联网+明厨亮灶: the plan's four rates per school canteen and per district, against their targets.

For a period [since, until]:

* 接入率 (connection rate): school canteens whose cameras are connected on ``until`` (connected by then, not
  disconnected by then) over all school canteens (target 100 %);
* 在线率 (online rate): hours online over working hours of the connected canteens' logged days (target 100 %);
* 上传率 (upload rate): logged days with both the tickets and the menu uploaded over logged days (target >= 95 %);
* 整改闭环率 (rectification rate): problems found in the period and put right by ``until`` over problems found in
  the period (target 100 %).

A rate with nothing to count is None. Each row names the rates that miss their target.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .schools import schools
from .scope import operator_districts

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["TARGETS", "RateRow", "kitchen_rates"]

#: the plan's targets: (Chinese name, target)
TARGETS = {"connection": ("接入率", 1.0), "online": ("在线率", 1.0), "upload": ("上传率", 0.95),
           "rectification": ("整改闭环率", 1.0)}


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


def _add(rows: list[RateRow], scope: str, key: str, name: str | None) -> RateRow:
    fields = ("schools", "connected", "online_hours", "expected_hours", "days", "days_uploaded", "problems",
              "rectified")
    total = {f: sum(getattr(r, f) for r in rows) for f in fields}
    return RateRow(scope, key, name, **total)


def kitchen_rates(view: "ReadView", *, since: dt.date, until: dt.date, district: str | None = None) -> list[RateRow]:
    """One row per school canteen, then one per district and one for the city (of ``district`` only, if given)."""
    lo, hi = since.isoformat(), until.isoformat()
    canteens = schools(view, district=district)
    dist = operator_districts(view, list(canteens))
    connected = set()
    for c in view.scan("kitchen_camera"):
        if c.canteen_id in canteens and (c.connected or "") <= hi and not (c.disconnected and c.disconnected <= hi):
            connected.add(c.canteen_id)
    per: dict[str, dict[str, float]] = {k: {"online_hours": 0.0, "expected_hours": 0.0, "days": 0, "days_uploaded": 0,
                                            "problems": 0, "rectified": 0} for k in canteens}
    for d in view.scan("kitchen_day"):
        if d.canteen_id in per and lo <= (d.date or "") <= hi:
            p = per[d.canteen_id]
            p["days"] += 1
            p["days_uploaded"] += bool(d.tickets_uploaded and d.menu_uploaded)
            if d.canteen_id in connected and d.expected_hours:
                p["expected_hours"] += float(d.expected_hours)
                p["online_hours"] += min(float(d.online_hours or 0.0), float(d.expected_hours))
    for x in view.scan("kitchen_problem"):
        if x.canteen_id in per and lo <= (x.found or "") <= hi:
            per[x.canteen_id]["problems"] += 1
            per[x.canteen_id]["rectified"] += bool(x.rectified and x.rectified <= hi)
    rows = [RateRow("school", k, canteens[k].name, 1, int(k in connected), round(v["online_hours"], 2),
                    round(v["expected_hours"], 2), int(v["days"]), int(v["days_uploaded"]), int(v["problems"]),
                    int(v["rectified"])) for k, v in sorted(per.items())]
    by_district: dict[str, list[RateRow]] = {}
    for r in rows:
        by_district.setdefault(dist.get(r.id) or "", []).append(r)
    out = list(rows)
    out += [_add(rs, "district", d, None) for d, rs in sorted(by_district.items())]
    out.append(_add(rows, "city", "urn:foodtrace:region:320600", "南通市"))
    return out
