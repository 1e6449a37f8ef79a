"""The synthetic city's rural banquets (农村集体聚餐) and their truth.

Per district: a chef register (health certificates expiring across the window, a few already expired by its
end), banquets held every month (the census, 摸底, counts them all), most of them registered (报备) one to
fourteen days ahead with a chef whose certificate is valid on the day, guidance visits at most large banquets
(200 guests or more) and some small ones. Every row loads (the city's files load without rejects; bad input is
the tests' business). The truth (``truth/banquets.json``) gives, per district and month, what was held, what
registered, the large ones and the guided ones, and each chef's certificate expiry.

Written from a random stream of its own, so the city's other files stay as they were.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import orjson

from .network import Network

__all__ = ["plan"]

_KINDS = ("婚宴", "寿宴", "丧宴", "满月宴", "升学宴", "其他")
_DISHES = ("红烧肉", "清蒸鲈鱼", "白切鸡", "炒青菜", "狮子头", "蒸蛋", "凉拌海蜇", "老鹅")
#: guests from which a banquet is large (ontology.banquets.LARGE_GUESTS)
_LARGE = 200


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out, d = [], start.replace(day=1)
    while d <= end:
        out.append(d)
        d = (d + dt.timedelta(days=32)).replace(day=1)
    return out


def plan(net: Network, rng: np.random.Generator, start: dt.date, end: dt.date, scale: int
         ) -> tuple[dict[str, list[dict[str, Any]]], bytes]:
    """Rows of the chefs, banquets, banquet_guidance and banquet_census templates, and the truth (JSON bytes)."""
    rows: dict[str, list[dict[str, Any]]] = {"chefs": [], "banquets": [], "banquet_guidance": [], "banquet_census": []}
    truth: dict[str, Any] = {"large_guests": _LARGE, "months": [], "chefs": []}
    rate = 2.0 + scale / 250_000          # banquets per district and month
    n_chefs = 4 + scale // 200_000
    for dist in net.districts:
        code = dist["code"]
        chefs = []
        for k in range(n_chefs):
            no = f"JK{code}{k + 1:03d}"
            expiry = start + dt.timedelta(days=int(rng.integers(200, 900)))
            chefs.append((no, expiry))
            town = dist["towns"][int(rng.integers(len(dist["towns"])))]
            rows["chefs"].append({"name": f"{dist['short']}厨师{k + 1:02d}", "district": code, "township": town,
                                  "health_cert_no": no, "health_cert_expiry": expiry.isoformat(),
                                  "trained": (start + dt.timedelta(days=int(rng.integers(0, 300)))).isoformat(),
                                  "training": "乡村厨师食品安全培训", "registered": start.isoformat()})
            truth["chefs"].append({"health_cert_no": no, "district": code, "expiry": expiry.isoformat()})
        seq = 0
        for month in _months(start, end):
            last = min(end, (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1))
            held = int(rng.poisson(rate))
            rows["banquet_census"].append({"district": code, "month": month.strftime("%Y-%m"), "expected": held,
                                           "source": "村级网格员摸底"})
            entry = {"district": code, "month": month.strftime("%Y-%m"), "held": held, "registered": 0, "large": 0,
                     "large_guided": 0, "guided": 0, "guests": 0}
            for _ in range(held):
                seq += 1
                day = month + dt.timedelta(days=int(rng.integers(0, (last - month).days + 1)))
                guests = int(rng.integers(40, 420))
                number = f"{code}-JC-{seq:05d}"
                if rng.random() >= 0.85:     # held without registration: only the census counts it
                    continue
                registered = day - dt.timedelta(days=int(rng.integers(1, 15)))
                valid = [no for no, exp in chefs if exp >= day]
                chef = valid[int(rng.integers(len(valid)))] if valid and rng.random() < 0.9 else ""
                town = dist["towns"][int(rng.integers(len(dist["towns"])))]
                rows["banquets"].append({
                    "number": number, "host": f"{_surname(rng)}某", "kind": _KINDS[int(rng.integers(len(_KINDS)))],
                    "date": day.isoformat(), "place": f"{dist['name']}{town}某村", "district": code, "township": town,
                    "guests": guests, "tables": (guests + 9) // 10, "chef": chef,
                    "menu": "；".join(_DISHES[int(i)] for i in rng.choice(len(_DISHES), 4, replace=False)),
                    "sources": "本地农贸市场", "registered": f"{registered.isoformat()} 09:00",
                    "registered_by": f"{dist['short']}市场监管分局"})
                large = guests >= _LARGE
                guided = rng.random() < (0.8 if large else 0.2)
                entry["registered"] += 1
                entry["guests"] += guests
                entry["large"] += large
                if guided:
                    entry["guided"] += 1
                    entry["large_guided"] += large
                    rows["banquet_guidance"].append({"banquet": number, "date": day.isoformat(),
                                                     "by": f"{dist['short']}所指导员", "checked": "健康证、食材票据、留样",
                                                     "rectified": "是"})
            truth["months"].append(entry)
    return rows, orjson.dumps(truth, option=orjson.OPT_INDENT_2)


def _surname(rng: np.random.Generator) -> str:
    return "张王李赵陈刘杨黄周吴"[int(rng.integers(10))]
