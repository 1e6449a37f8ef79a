"""The synthetic city's 互联网+明厨亮灶 records (school canteens) and their truth.

Each school canteen is connected to the platform on a day of the window (most of them; a few never, a few
disconnected later), logs every weekday of the last :data:`LOG_MONTHS` months of the window while connected (hours
online against eight working hours, mostly full; the day's tickets and menu uploaded, mostly), and has problems
found over the window, most of them put right within ten days. Written through the ``kitchen_cameras``,
``kitchen_days`` and ``kitchen_problems`` templates, from a random stream of its own (the city's other files stay
as they were).

The truth is counted from these decisions, not from the files: :func:`counts` gives, for a period, the
figures of the four rates per district (``truth/kitchens.json`` for the logged months; the indicator truth per
month), by the plan's definitions: 接入率 (connected on the period's last day, not disconnected by then, over the
canteens), 在线率 (hours online over working hours of the logged days of the canteens connected on its last day),
上传率 (days with both uploads over logged days) and 整改闭环率 (problems found in the period put right by its last
day over those found).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from .network import KINDS, Network

__all__ = ["LOG_MONTHS", "Canteen", "plan", "counts", "truth", "FIELDS"]

#: months of daily logs at the end of the window (the platform's export)
LOG_MONTHS = 3
#: the figures counted per district, in this order
FIELDS = ("schools", "connected", "online_hours", "expected_hours", "days", "days_uploaded", "problems", "rectified")
_PROBLEMS = ("操作人员未戴口罩", "操作人员未戴帽子", "生熟食品混放", "垃圾桶未加盖", "留样不规范", "后厨地面积水",
             "消毒记录缺失", "冰箱食品未标识")
_HOURS = 8.0


@dataclass
class Canteen:
    """What was decided for one canteen (days as dates)."""

    operator: int
    district: str
    connected: dt.date | None = None
    disconnected: dt.date | None = None
    days: list[tuple[dt.date, float, bool]] = field(default_factory=list)   # (day, hours online, both uploaded)
    problems: list[tuple[dt.date, dt.date | None]] = field(default_factory=list)

    def connected_on(self, day: dt.date) -> bool:
        return (self.connected is not None and self.connected <= day
                and not (self.disconnected is not None and self.disconnected <= day))


def log_start(end: dt.date) -> dt.date:
    """The first day of the logged months: the first of the month :data:`LOG_MONTHS` - 1 months before ``end``'s."""
    y, m = end.year, end.month - (LOG_MONTHS - 1)
    while m < 1:
        y, m = y - 1, m + 12
    return dt.date(y, m, 1)


def plan(net: Network, rng: np.random.Generator, start: dt.date, end: dt.date
         ) -> tuple[dict[str, list[dict[str, Any]]], list[Canteen]]:
    """Rows of the kitchen_cameras, kitchen_days and kitchen_problems templates, and each canteen's decisions."""
    rows: dict[str, list[dict[str, Any]]] = {"kitchen_cameras": [], "kitchen_days": [], "kitchen_problems": []}
    school = KINDS.index("SchoolCanteen")
    first_log = log_start(end)
    weekdays = [first_log + dt.timedelta(days=k) for k in range((end - first_log).days + 1)]
    weekdays = [d for d in weekdays if d.weekday() < 5]
    span = (end - start).days
    out = []
    for op in np.flatnonzero(net.kind == school).tolist():
        c = Canteen(op, f"urn:foodtrace:region:{net.districts[int(net.district[op])]['code']}")
        ident = net.uscc[op] or net.canon[op]
        if rng.random() < 0.93:
            c.connected = start + dt.timedelta(days=int(rng.integers(0, span - 60)))
            if rng.random() < 0.05:
                off = c.connected + dt.timedelta(days=int(rng.integers(30, 400)))
                c.disconnected = off if off <= end else None
            rows["kitchen_cameras"].append({
                "canteen": ident, "connected": c.connected.isoformat(), "cameras": int(rng.integers(2, 9)),
                "platform": "南通市阳光食安平台", "disconnected": c.disconnected.isoformat() if c.disconnected else ""})
        logged = [d for d in weekdays if c.connected_on(d)]
        n = len(logged)
        full = rng.random(n) < 0.9
        part = rng.integers(0, 16, n) / 2.0
        tickets, menu = rng.random(n) < 0.97, rng.random(n) < 0.98
        for k, day in enumerate(logged):
            hours = _HOURS if full[k] else float(part[k])
            c.days.append((day, hours, bool(tickets[k] and menu[k])))
            rows["kitchen_days"].append({"canteen": ident, "date": day.isoformat(), "online_hours": hours,
                                         "expected_hours": _HOURS, "tickets_uploaded": "是" if tickets[k] else "否",
                                         "menu_uploaded": "是" if menu[k] else "否"})
        seen = set()
        for _ in range(int(rng.poisson(span / 120))):
            found = start + dt.timedelta(days=int(rng.integers(0, span + 1)))
            text = _PROBLEMS[int(rng.integers(len(_PROBLEMS)))]
            fixed = found + dt.timedelta(days=int(rng.integers(0, 11))) if rng.random() < 0.92 else None
            if (found, text) in seen:
                continue
            seen.add((found, text))
            fixed = fixed if fixed is not None and fixed <= end else None
            c.problems.append((found, fixed))
            rows["kitchen_problems"].append({"canteen": ident, "found": found.isoformat(), "description": text,
                                             "rectified": fixed.isoformat() if fixed else "",
                                             "by": "平台巡查员" if rng.random() < 0.7 else "属地市场监管所"})
        out.append(c)
    return rows, out


def counts(canteens: list[Canteen], since: dt.date, until: dt.date) -> dict[str, list[float]]:
    """Per district, the figures of :data:`FIELDS` for the period [since, until] (days, both included)."""
    out: dict[str, list[float]] = {}
    for c in canteens:
        x = out.setdefault(c.district, [0, 0, 0.0, 0.0, 0, 0, 0, 0])
        on = c.connected_on(until)
        x[0] += 1
        x[1] += int(on)
        for day, hours, both in c.days:
            if since <= day <= until:
                x[4] += 1
                x[5] += int(both)
                if on:
                    x[2] += hours
                    x[3] += _HOURS
        for found, fixed in c.problems:
            if since <= found <= until:
                x[6] += 1
                x[7] += int(fixed is not None and fixed <= until)
    return dict(sorted(out.items()))


def truth(canteens: list[Canteen], end: dt.date) -> bytes:
    """``truth/kitchens.json``: the logged months' figures and four rates per district."""
    since = log_start(end)
    per = counts(canteens, since, end)

    def rates(x: list[float]) -> dict[str, float | None]:
        def share(a: float, b: float) -> float | None:
            return round(a / b, 4) if b else None
        return {"connection": share(x[1], x[0]), "online": share(x[2], x[3]), "upload": share(x[5], x[4]),
                "rectification": share(x[7], x[6])}

    body = {"since": since.isoformat(), "until": end.isoformat(), "fields": list(FIELDS),
            "districts": {d: {"figures": x, "rates": rates(x)} for d, x in per.items()}}
    return orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
