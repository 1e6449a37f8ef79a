"""The synthetic city's major events (重大活动食品安全保障) and their truth.

A few events of three days in the second year of the window, each served by up to two kitchens (school canteens
or restaurants that received goods in its days), with designated suppliers: every operator that shipped into
those kitchens in its days, and one distributor more that did not. Written through the ``major_events``
template from a random stream of its own (the city's other files stay as they were). The truth
(``truth/events.json``, assembled by :mod:`generator.write`) names each event's id, kitchens, suppliers and
period, and the deliveries into its kitchens in its days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from ontology.events import LEVELS, event_id

from .flow import Flow
from .network import KINDS, Network

__all__ = ["MajorEvent", "plan", "EVENTS", "DAYS"]

#: events written, and the days each lasts
EVENTS, DAYS = 3, 3
_NAMES = (("南通国际马拉松", "municipal", "南通体育会展中心"), ("江苏省运动会南通赛区", "provincial", "南通奥体中心"),
          ("中国·南通江海国际博览会", "national", "南通国际会展中心"), ("南通市人民代表大会", "municipal", "南通市人民大会堂"))


@dataclass
class MajorEvent:
    """What was decided for one event (operators and deliveries by index)."""

    id: str
    name: str
    level: str
    start: dt.date
    end: dt.date
    kitchens: list[int]
    suppliers: list[int]
    deliveries: list[int]


def _ident(net: Network, op: int) -> str:
    return net.uscc[op] or net.canon[op]


def plan(net: Network, flow: Flow, rng: np.random.Generator, start: dt.date, end: dt.date
         ) -> tuple[list[dict[str, Any]], list[MajorEvent]]:
    """Rows of the major_events template and each event's decisions."""
    kitchen_kinds = [KINDS.index("SchoolCanteen"), KINDS.index("Restaurant")]
    distributors = np.flatnonzero(net.kind == KINDS.index("Distributor"))
    # the Beijing day each delivery was shipped, as written (to the minute)
    day = np.round(np.asarray(flow.d_ship, dtype=np.float64) * 1440).astype(np.int64) // 1440
    into_kitchen = np.isin(net.kind[flow.d_receiver], kitchen_kinds)
    span = (end - start).days
    rows, out = [], []
    for k in range(EVENTS):
        for _ in range(50):
            first = int(rng.integers(span // 2, span - DAYS))
            sel = np.flatnonzero(into_kitchen & (day >= first) & (day < first + DAYS))
            if len(sel):
                break
        else:
            continue
        receivers = np.unique(flow.d_receiver[sel])
        kitchens = sorted(int(x) for x in rng.choice(receivers, size=min(2, len(receivers)), replace=False))
        mine = sel[np.isin(flow.d_receiver[sel], kitchens)]
        suppliers = sorted({int(x) for x in flow.d_sender[mine]})
        others = [int(x) for x in distributors if int(x) not in suppliers]
        if others:
            suppliers.append(others[int(rng.integers(len(others)))])
        name, level, venue = _NAMES[k % len(_NAMES)]
        a, b = start + dt.timedelta(days=first), start + dt.timedelta(days=first + DAYS - 1)
        name = f"{a.year}{name}"
        ev = MajorEvent(event_id(name, a.isoformat()), name, level, a, b, kitchens, suppliers,
                        sorted(int(x) for x in mine))
        out.append(ev)
        rows.append({"name": name, "level": LEVELS[level], "start": a.isoformat(), "end": b.isoformat(),
                     "venues": venue, "kitchens": "；".join(_ident(net, x) for x in kitchens),
                     "suppliers": "；".join(_ident(net, x) for x in suppliers),
                     "district": net.districts[int(net.district[kitchens[0]])]["code"],
                     "organiser": "南通市人民政府" if level != "national" else "商务部、江苏省人民政府"})
    return rows, out
