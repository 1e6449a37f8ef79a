"""The truth of the demonstration-city indicators per district and month, from what the generator planted.

``truth/indicators.json`` holds, for every district (and the city, ``urn:foodtrace:region:320600``) and
every month of the two years, the numerator and denominator of each indicator of
:mod:`ontology.indicators`, counted here from the generator's own arrays (deliveries, certificates, tickets,
trace codes, samples as announced, cases and complaints as planned, credit records) under the definitions
of that table, as of the day after the last day. ``foodtrace indicators`` computes the same figures from the
loaded files; ``bench/indicators.py`` compares the two.
"""

from __future__ import annotations

import calendar
import json
import unicodedata
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import numpy as np

from loaders.categories import samr_category
from ontology import vocab
from ontology.indicators import ORDER, table

from . import kitchens
from .events import Events
from .flow import Flow
from .handling import Plan
from .kitchens import Canteen
from .network import KINDS, Network

__all__ = ["truth", "counts"]

CITY = "urn:foodtrace:region:320600"
_MARKETS = {"WholesaleMarket", "FarmersMarket"}
_RETAIL = {"Stall", "Supermarket", "FarmersMarket", "Vendor"}
_ANN_CLASS = {"processed_meat": "肉制品", "dairy": "乳制品", "condiment": "调味品", "grain": "粮食加工品",
              "edible_oil": "食用油、油脂及其制品", "bakery": "糕点", "beverage": "饮料", "frozen_food": "速冻食品",
              "prepared_food": "餐饮食品", "other": "豆制品"}


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


def _months(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month_cut(month: str, cut: date) -> str:
    y, m = int(month[:4]), int(month[5:])
    return min(cut, date(y, m, calendar.monthrange(y, m)[1]) + timedelta(days=1)).isoformat()


def _months_before(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 - months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def counts(net: Network, flow: Flow, ev: Events, ann: list[dict], plan: Plan, start: date,
           end: date, canteens: "list[Canteen] | None" = None) -> dict[str, dict[str, dict[str, list[int]]]]:
    """``{district: {month: {indicator: [numerator, denominator]}}}`` (denominator None for counts)."""
    cut = end + timedelta(days=1)
    cut_s = cut.isoformat()
    months = _months(start, end)
    region = [f"urn:foodtrace:region:{d['code']}" for d in net.districts]
    dist_of = [region[int(x)] for x in net.district.tolist()]
    kinds = [KINDS[int(k)] for k in net.kind.tolist()]
    out: dict[str, dict[str, dict[str, list[Any]]]] = defaultdict(lambda: defaultdict(dict))

    def bump(d: str, m: str, ind: str, num: int, den: int | None) -> None:
        for where in {d, CITY}:
            cur = out[where][m].setdefault(ind, [0, 0 if den is not None else None])
            cur[0] += num
            if den is not None:
                cur[1] += den

    # 一证一票一码: every delivery by the Beijing day it was shipped, at its receiver's district
    # the day of the ship time as written: to the minute (a delivery at 23:59:40 is written 00:00 the next day)
    minutes = np.round(np.asarray(flow.d_ship, dtype=np.float64) * 1440).astype(np.int64)
    ship_day = (np.datetime64(start.isoformat()) + (minutes // 1440).astype("timedelta64[D]")).astype(str)
    certified = {c["lot"] for c in ev.certs}
    coded = set(ev.trace_code)
    parent = net.parent.tolist()
    retail_seen: set[tuple[int, int, str]] = set()
    for i, (lot, r, day) in enumerate(zip(flow.d_lot.tolist(), flow.d_receiver.tolist(), ship_day.tolist())):
        m = day[:7]
        d = dist_of[r]
        market = kinds[r] in _MARKETS or (parent[r] >= 0 and kinds[parent[r]] in _MARKETS)
        if market:
            bump(d, m, "chain_certificate", int(lot in certified), 1)
        bump(d, m, "chain_ticket", int(bool(ev.d_ticket[i])), 1)
        if kinds[r] in _RETAIL and (lot, r, m) not in retail_seen:
            retail_seen.add((lot, r, m))
            bump(d, m, "chain_trace_code", int(lot in coded), 1)

    # 核查处置 and 投诉举报 by the month their deadline in force falls in
    def rates(items: list[dict], ind_done: str | None, ind_on_time: str, only_rural: bool = False) -> None:
        for x in items:
            if only_rural and not x["rural"]:
                continue
            if not (start.isoformat() <= x["due"] <= end.isoformat()) or x["due"] >= cut_s:
                continue
            done = x["done"] is not None and x["done"] < cut_s
            if ind_done:
                bump(x["district"], x["due"][:7], ind_done, int(done), 1)
            bump(x["district"], x["due"][:7], ind_on_time, int(done and x["done"] <= x["due"]), 1)

    rates(plan.truth_cases, "disposal_completion", "disposal_on_time")
    rates(plan.truth_complaints, None, "complaints_on_time")
    rates(plan.truth_complaints, None, "complaints_on_time_rural", only_rural=True)

    # sampling: announced supervisory samples (one per announcement row's natural key, dated by the
    # announcement: the tables give no sampling day) and risk-monitoring samples of the templates
    agri = table().agricultural
    # one sample per announcement row, as the loader reads them: rows of one table with the same description are
    # one sample unless they name a failed item it has already (then another sample of that description), and a
    # 合格 row is always a sample of its own; the same description in the two tables of a quarter is one sample
    groups: dict[tuple, dict[str, Any]] = {}
    seen: dict[tuple, dict[tuple, set[str]]] = defaultdict(dict)
    for a in ann:
        s = ev.samples[a["sample"]]
        mk = int(flow.lot_producer[s["lot"]])
        base = (a["announcement"], mk if a["named"] else None, s["station"], s["key"]["name"], a["batch"])
        items = {r["item"] for r in s["results"] if r["fail"]} if a["fail"] else set()
        table_groups = seen[(a["announcement"], a["fail"])]
        n, key = 0, base
        while key in table_groups and (not a["fail"] or not items or items & table_groups[key]):
            n += 1
            key = (*base, n)
        table_groups.setdefault(key, set()).update(items)
        key = key if len(key) > len(base) else (*base, 0)
        g = groups.setdefault(key, {"samples": [], "fail": False, "disputed": False, "a": a})
        g["samples"].append(a["sample"])
        g["fail"] |= bool(a["fail"])
        g["disputed"] |= bool(a["disputed"])
    facts: list[dict[str, Any]] = []   # day, district, nonconforming, agri, and what the red lines need
    for key, g in groups.items():
        a = g["a"]
        s = ev.samples[a["sample"]]
        cell = _ANN_CLASS.get(s["key"]["category"], "食用农产品")
        samr = samr_category(cell, s["key"]["name"])  # the announcement loader's reading of 分类 and the food name
        category = samr.category if samr else (vocab.lookup("category", cell)
                                               or vocab.lookup("category", s["key"]["name"]))
        # an announcement names businesses by name; an individual's name is no alias of the registered operator,
        # so the store keeps such a producer apart (its own operator, keyed by the name)
        producer = None if key[1] is None else (("name", key[1]) if net.individual[key[1]] else key[1])
        facts.append({"day": a["announced"], "district": dist_of[s["station"]], "bad": g["fail"],
                      "agri": category in agri, "count": True,
                      "producer": producer, "product": ("samr", key[1], s["key"]["name"]),
                      "batch": _norm(a["batch"]), "disputed": g["disputed"], "samples": g["samples"],
                      "official": True})
    for i, s in enumerate(ev.samples):
        if s["plan"] == "supervisory":
            continue
        lot = s["lot"]
        facts.append({"day": s["date"], "district": dist_of[s["station"]], "bad": bool(s["fail"]),
                      "agri": s["key"]["category"] in agri, "count": s["plan"] == "monitoring",
                      "producer": int(flow.lot_producer[lot]), "product": ("tpl", int(s["product"])),
                      "batch": _norm(ev.lot_number[lot]), "disputed": False, "samples": [i], "official": False})
    for f in facts:
        if f["count"] and start.isoformat() <= f["day"] <= end.isoformat() and f["day"] < cut_s:
            m = f["day"][:7]
            bump(f["district"], m, "sampling_per_1000", 1, None)
            bump(f["district"], m, "problem_rate", int(f["bad"]), 1)
            bump(f["district"], m, "agricultural_share", int(f["agri"]), 1)

    # red lines in force at each month's end: 3 distinct nonconforming batches of one producer's product in
    # the 12 months before, in supervisory sampling only (disputed samples and samples cleared by a re-test
    # before then left out; rapid tests and risk monitoring are no official results)
    for m in months:
        mc = _month_cut(m, cut)
        lo = _months_before(date.fromisoformat(mc), 12).isoformat()
        batches: dict[tuple, set[str]] = defaultdict(set)
        for f in facts:
            if not f["bad"] or not f["official"] or f["disputed"] or f["producer"] is None \
                    or not (lo <= f["day"] < mc):
                continue
            if any(plan.cleared.get(i, "9") < mc for i in f["samples"]):
                continue
            batches[(f["producer"], f["product"])].add(f["batch"] or f"sample:{f['samples'][0]}")
        for (producer, _), b in batches.items():
            if len(b) >= 3:
                bump(dist_of[producer[1] if isinstance(producer, tuple) else producer], m, "red_lines", 1, None)

    # grades (none are stored by the generator) and credit archives in force at each month's end
    first_credit: dict[int, str] = {}
    for c in ev.credit:
        if c["operator"] not in first_credit or c["start"] < first_credit[c["operator"]]:
            first_credit[c["operator"]] = c["start"]
    # the businesses: every operator, and the individuals an announcement names (kept apart, see above)
    named_apart = set()
    for a in ann:
        s = ev.samples[a["sample"]]
        mk = int(flow.lot_producer[s["lot"]])
        named_apart |= {x for x in (s["station"], mk if a["named"] else None) if x is not None and net.individual[x]}
    members = defaultdict(int)
    for op in named_apart:
        members[dist_of[op]] += 1
    for m in months:
        mc = _month_cut(m, cut)
        for op in range(net.n):
            bump(dist_of[op], m, "graded_share", 0, 1)
            bump(dist_of[op], m, "credit_archive_share", int(first_credit.get(op, "9") < mc), 1)
        for d, k in members.items():
            bump(d, m, "graded_share", 0, k)
            bump(d, m, "credit_archive_share", 0, k)

    # 互联网+明厨亮灶: each month's figures (connections at its last day, logged days and problems found in it)
    for m in months:
        first = date.fromisoformat(f"{m}-01")
        last = min(end, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))
        for d, x in kitchens.counts(canteens or [], max(start, first), last).items():
            bump(d, m, "kitchen_connection", x[1], x[0])
            bump(d, m, "kitchen_online", x[2], x[3])
            bump(d, m, "kitchen_upload", x[5], x[4])
            bump(d, m, "kitchen_rectification", x[7], x[6])

    # every indicator present in every month and district (zeros where nothing happened)
    for d in (*region, CITY):
        for m in months:
            for ind in ORDER:
                out[d][m].setdefault(ind, [0, None] if ind in ("sampling_per_1000", "red_lines") else [0, 0])
    return {d: {m: dict(sorted(v.items())) for m, v in sorted(ms.items())} for d, ms in sorted(out.items())}


def truth(net: Network, flow: Flow, ev: Events, ann: list[dict], plan: Plan, start: date, end: date,
          canteens: "list[Canteen] | None" = None) -> bytes:
    """``truth/indicators.json``: as of the day after ``end``, for the months from ``start`` to ``end``."""
    body = {"start": start.isoformat(), "end": end.isoformat(), "as_of": (end + timedelta(days=1)).isoformat(),
            "version": table().version, "values": counts(net, flow, ev, ann, plan, start, end, canteens)}
    return json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
