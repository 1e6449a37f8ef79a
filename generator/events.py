"""What happens around the flow: tickets, certificates, trace codes, planted lots, samples and enforcement.

:func:`build` decides, for a generated :class:`generator.flow.Flow`,
which channel reports each delivery (EPCIS or a spreadsheet), its ticket (票)
and certificate (证) with the imperfections at the configured rates, the trace
codes (码) of retail lots, the planted nonconforming lots and their true
spread along the physical flow (including links no station recorded), the
samples (监督抽检, 风险监测, 快检) whose failures follow the latent risk of
where the goods came from and where they are held, and the inspections,
cases, complaints and credit records that follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from ontology.identifiers import lot_id, product_id

from .flow import LOT_ORIGINS, TRANSFORM_KINDS, Flow
from .network import KINDS, Network, load_data

__all__ = ["Events", "build", "EPCIS_SENDERS", "RETAIL_KINDS"]

K = {k: i for i, k in enumerate(KINDS)}
O = {k: i for i, k in enumerate(LOT_ORIGINS)}
T = {k: i for i, k in enumerate(TRANSFORM_KINDS)}
#: sender kinds whose shipments of GS1-identified lots are captured as EPCIS events
EPCIS_SENDERS = ("Farm", "CropFarm", "AquaFarm", "Slaughterhouse", "Producer", "ColdStore", "WholesaleMarket",
                 "Distributor")
#: receivers whose lots count as retail lots (they should carry a trace code)
RETAIL_KINDS = ("Stall", "Supermarket", "Restaurant", "SchoolCanteen")
_LABS = ("南通市食品药品监督检验中心", "江苏省产品质量监督检验研究院", "南通市产品质量监督检验所",
         "谱尼测试集团江苏有限公司", "江苏省食品药品监督检验研究院")


@dataclass
class Events:
    """Everything decided around the flow; rows are plain dicts or numpy arrays."""

    lot_number: list[str]
    lot_gtin: np.ndarray              # bool per lot
    lot_canon: dict[int, str]         # canonical ids computed so far (lazily)
    d_epcis: np.ndarray               # bool per delivery
    d_ticket: list[str]               # ticket number or ""
    d_cert: np.ndarray                # bool: carries the lot's certificates
    d_should_cert: np.ndarray         # bool: primary produce that must carry a certificate
    tr_epcis: np.ndarray              # bool per transformation (recorded in EPCIS; else lot_links unless nolink)
    certs: list[dict]                 # kind, number, lot, holder, issuer, issued, valid_until
    lot_certs: dict[int, list[int]]   # lot -> certificate indexes
    trace_code: dict[int, str]        # lot -> trace code
    retail_lots: np.ndarray           # lot indexes
    planted: list[dict]
    samples: list[dict]
    inspections: list[dict]
    cases: list[dict]
    complaints: list[dict]
    credit: list[dict]
    violations: list[dict]
    op_samples: np.ndarray
    op_fails: np.ndarray
    op_exposure: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    def canon_lot(self, net: Network, flow: Flow, lot: int) -> str:
        """The canonical id of a lot, exactly as the loaders compute it."""
        c = self.lot_canon.get(lot)
        if c is None:
            p = int(flow.lot_product[lot])
            g = net.prod_gtin[p]
            if g:
                c = lot_id(lot_number=self.lot_number[lot], gtin=g)
            else:
                prod = product_id(local=net.prod_local[p])
                c = lot_id(lot_number=self.lot_number[lot], product_id=prod,
                           producer_id=net.canon[int(flow.lot_producer[lot])])
            self.lot_canon[lot] = c
        return c


def day_str(start: date, t: float) -> str:
    return (start + timedelta(days=int(t))).isoformat()


def _lot_numbers(net: Network, flow: Flow, start: date) -> list[str]:
    origin = flow.lot_origin
    kind = net.kind[flow.lot_producer]
    base = np.datetime64(start.isoformat()) + np.floor(flow.lot_t).astype("timedelta64[D]")
    ymd = np.datetime_as_string(base, unit="D")
    pre = np.select(
        [origin == O["slaughter"], origin == O["cutting"], origin == O["processing"], origin == O["repacking"],
         origin == O["mixing"], origin == O["nolink"], kind == K["Farm"], kind == K["CropFarm"],
         kind == K["AquaFarm"], kind == K["Workshop"]],
        ["TZ", "FG", "SC", "FZ", "HH", "ZY", "YZ", "ZZ", "SY", "XZ"], "P")
    return [f"{p}{d[2:4]}{d[5:7]}{d[8:10]}{i:07d}" for i, (p, d) in enumerate(zip(pre.tolist(), ymd.tolist()))]


def build(net: Network, flow: Flow, rng: np.random.Generator, scale: int, start: date,
          rates: dict[str, float]) -> Events:
    """Decide channels, tickets, certificates, codes, planted lots, samples and enforcement for ``flow``."""
    n_d = flow.n_deliveries
    n_lot = len(flow.lot_product)
    lot_numbers = _lot_numbers(net, flow, start)
    gtin = np.array([bool(g) for g in net.prod_gtin])
    lot_gtin = gtin[flow.lot_product]
    has_gln = np.array([bool(g) for g in net.gln])
    sk, rk = net.kind[flow.d_sender], net.kind[flow.d_receiver]
    d_epcis = lot_gtin[flow.d_lot] & has_gln[flow.d_sender] & has_gln[flow.d_receiver] & \
        np.isin(sk, [K[k] for k in EPCIS_SENDERS]) & \
        ~((sk == K["WholesaleMarket"]) & np.isin(rk, [K["Stall"], K["Restaurant"]]))

    # tickets (票)
    u = rng.random((3, n_d))
    no_ticket = u[0] < rates["missing_ticket"]
    ship_day = np.datetime_as_string(np.datetime64(start.isoformat()) + np.floor(flow.d_ship).astype("timedelta64[D]"),
                                     unit="D")
    firm = ~np.array(net.individual)[flow.d_sender]
    d_ticket = [("" if nt else f"{'FP' if f else 'XS'}{d[:4]}{d[5:7]}{d[8:10]}{i:07d}")
                for i, (nt, f, d) in enumerate(zip(no_ticket.tolist(), firm.tolist(), ship_day.tolist()))]

    # certificates (证): per lot of primary produce
    lot_kind = net.kind[flow.lot_producer]
    primary = ((flow.lot_origin == O["origin"]) & np.isin(lot_kind, [K["Farm"], K["CropFarm"], K["AquaFarm"]])) | \
        np.isin(flow.lot_origin, [O["slaughter"], O["cutting"]])
    report = (flow.lot_origin == O["origin"]) & (lot_kind == K["Producer"]) & (rng.random(n_lot) < 0.5)
    certs: list[dict] = []
    lot_certs: dict[int, list[int]] = {}
    cat = net.catalogue
    seq = 0
    for lot in np.flatnonzero(primary | report).tolist():
        p = int(flow.lot_product[lot])
        key = cat[int(net.prod_key[p])]
        op = int(flow.lot_producer[lot])
        d = net.districts[int(net.district[op])]
        issued = day_str(start, float(flow.lot_t[lot]))
        yy = issued[2:4]
        kinds: list[tuple[str, str, str, int]] = []
        if report[lot]:
            kinds.append(("test_report", f"JC{yy}{seq:08d}", net.name[op], 365))
        elif key["storage"] == "live":
            kinds.append(("animal_quarantine", f"32{yy}{seq:08d}", f"{d['name']}动物卫生监督所", 2))
        elif flow.lot_origin[lot] in (O["slaughter"], O["cutting"]):
            kinds.append(("meat_quality", f"RP{d['code']}{yy}{seq:07d}", net.name[op], 7))
            kinds.append(("animal_quarantine", f"32{yy}{seq + 1:08d}", f"{d['name']}动物卫生监督所", 7))
        else:
            kinds.append(("compliance_commitment", f"HGZ{d['code']}{yy}{seq:07d}", net.name[op], int(key["shelf"])))
        idx = []
        for kind, number, issuer, valid in kinds:
            seq += 1
            idx.append(len(certs))
            certs.append({"kind": kind, "number": number, "lot": lot, "holder": op, "issuer": issuer,
                          "issued": issued,
                          "valid_until": (date.fromisoformat(issued) + timedelta(days=valid)).isoformat()})
        seq += 1
        lot_certs[lot] = idx
    should = primary[flow.d_lot]
    has_cert_lot = np.zeros(n_lot, dtype=bool)
    has_cert_lot[list(lot_certs)] = True
    d_cert = has_cert_lot[flow.d_lot] & ~(should & (u[1] < rates["missing_certificate"]))

    # transformations: EPCIS when every lot has a GTIN and the station a GLN
    n_tr = len(flow.tr_kind)
    ti_gtin = lot_gtin[flow.node_lot[flow.ti_node]]
    all_gtin = np.ones(n_tr, dtype=bool)
    np.logical_and.at(all_gtin, flow.ti_tr, ti_gtin)
    tr_epcis = all_gtin & np.isin(flow.tr_kind, [T["slaughter"], T["cutting"], T["processing"]]) & \
        has_gln[flow.tr_station]

    # trace codes (码) for retail lots
    retail = np.zeros(n_lot, dtype=bool)
    retail[flow.d_lot[np.isin(rk, [K[k] for k in RETAIL_KINDS])]] = True
    retail_lots = np.flatnonzero(retail)
    coded = retail_lots[rng.random(len(retail_lots)) >= rates["missing_trace_code"]]
    trace_code: dict[int, str] = {}
    for lot in coded.tolist():
        p = int(flow.lot_product[lot])
        if net.prod_gtin[p]:
            trace_code[lot] = f"https://id.gs1.org/01/{net.prod_gtin[p]}/10/{lot_numbers[lot]}"
        else:
            op = int(flow.lot_producer[lot])
            trace_code[lot] = f"{net.districts[int(net.district[op])]['code']}{op:06d}{lot:09d}"

    ev = Events(lot_number=lot_numbers, lot_gtin=lot_gtin, lot_canon={}, d_epcis=d_epcis, d_ticket=d_ticket,
                d_cert=d_cert, d_should_cert=should, tr_epcis=tr_epcis, certs=certs, lot_certs=lot_certs,
                trace_code=trace_code, retail_lots=retail_lots, planted=[], samples=[], inspections=[], cases=[],
                complaints=[], credit=[], violations=[], op_samples=np.zeros(net.n, dtype=np.int64),
                op_fails=np.zeros(net.n, dtype=np.int64), op_exposure=np.zeros(net.n))
    _violations(net, flow, ev)
    children = _children(flow)
    _plant(net, flow, ev, rng, scale, rates, children)
    _samples(net, flow, ev, rng, scale, start)
    _enforcement(net, flow, ev, rng, start)
    received = flow.node_delivery >= 0
    tot = np.bincount(flow.node_station[received], flow.node_risk[received], minlength=net.n)
    cnt = np.bincount(flow.node_station[received], minlength=net.n)
    ev.op_exposure = np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.0)
    return ev


def _children(flow: Flow) -> tuple[np.ndarray, np.ndarray]:
    """CSR of the physical flow between nodes: deliveries and every transformation input -> output."""
    ins = flow.ti_role == 0
    outs = ~ins
    o_tr, o_node = flow.ti_tr[outs], flow.ti_node[outs]
    order = np.argsort(o_tr, kind="stable")
    o_tr, o_node = o_tr[order], o_node[order]
    n_tr = len(flow.tr_kind)
    o_cnt = np.bincount(o_tr, minlength=n_tr)
    o_off = np.concatenate([[0], np.cumsum(o_cnt)[:-1]])
    i_tr, i_node = flow.ti_tr[ins], flow.ti_node[ins]
    rep = np.repeat(np.arange(len(i_tr)), o_cnt[i_tr])
    j = np.arange(len(rep)) - np.repeat(np.cumsum(o_cnt[i_tr]) - o_cnt[i_tr], o_cnt[i_tr])
    src = np.concatenate([flow.d_from, i_node[rep]])
    dst = np.concatenate([flow.d_to, o_node[o_off[i_tr[rep]] + j]])
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    n = len(flow.node_t)
    cnt = np.bincount(src, minlength=n)
    off = np.concatenate([[0], np.cumsum(cnt)])
    return off, dst


def spread_nodes(children: tuple[np.ndarray, np.ndarray], start_node: int) -> np.ndarray:
    """Every node physically reached from ``start_node`` (itself included), sorted."""
    off, dst = children
    seen = {start_node}
    frontier = [start_node]
    while frontier:
        nxt = []
        for n in frontier:
            for m in dst[off[n]:off[n + 1]].tolist():
                if m not in seen:
                    seen.add(m)
                    nxt.append(m)
        frontier = nxt
    return np.array(sorted(seen), dtype=np.int64)


def _violations(net: Network, flow: Flow, ev: Events) -> None:
    """Stations that shipped more of a lot than they received, and slaughter with unrecorded animals."""
    shipped = np.bincount(flow.d_from, flow.d_qty, minlength=len(flow.node_t))
    recv_nodes = np.flatnonzero((flow.node_delivery >= 0) & (shipped > flow.node_qty + 1e-6))
    for n in recv_nodes.tolist():
        st = int(flow.node_station[n])
        ev.violations.append({"type": "shipped_more_than_received", "station": st, "lot": int(flow.node_lot[n]),
                              "received": round(float(flow.node_qty[n]), 1), "shipped": round(float(shipped[n]), 1),
                              "delivery_in": int(flow.node_delivery[n])})
    sl = np.flatnonzero(flow.tr_kind == T["slaughter"])
    sl = sl[net.illegal[flow.tr_station[sl]]]
    if len(sl):
        ins = flow.ti_role == 0
        heads = np.bincount(flow.ti_tr[ins], flow.ti_qty[ins], minlength=len(flow.tr_kind))
        kg = np.bincount(flow.ti_tr[~ins], flow.ti_qty[~ins], minlength=len(flow.tr_kind))
        for t in sl.tolist():
            if kg[t] > heads[t] * 95 + 1e-6:
                ev.violations.append({"type": "illegal_slaughter", "station": int(flow.tr_station[t]),
                                      "transformation": t, "heads_in": float(heads[t]),
                                      "carcass_kg": round(float(kg[t]), 1),
                                      "max_plausible_kg": round(float(heads[t] * 95), 1)})


def _hazards() -> tuple[list[dict], dict[str, list[str]]]:
    h = load_data("hazards")
    return h["items"], h["planted"]


def items_for(items: list[dict], category: str, key: str, *, rapid: bool) -> list[dict]:
    """Test items that apply to a product (by key) or its category."""
    out = []
    for it in items:
        applies = key in it.get("products", ()) or category in it.get("categories", ())
        if not applies:
            continue
        if rapid and not it["rapid"]:
            continue
        if not rapid and it.get("rapid_only"):
            continue
        out.append(it)
    return out


def _plant(net: Network, flow: Flow, ev: Events, rng: np.random.Generator, scale: int, rates: dict[str, float],
           children: tuple[np.ndarray, np.ndarray]) -> None:
    items, planted_items = _hazards()
    by_item = {}
    for it in items:
        by_item.setdefault(it["item"], it)
    n_plant = max(5, int(round(rates["planted_per_10000"] * scale / 10000)))
    cat = net.catalogue
    lot_cat = np.array([cat[int(net.prod_key[p])]["category"] for p in flow.lot_product.tolist()])
    ok_cat = np.isin(lot_cat, list(planted_items))
    eligible = np.flatnonzero(ok_cat & np.isin(flow.lot_origin, [O["origin"], O["processing"]]) &
                              (flow.lot_node >= 0))
    out_deg = np.bincount(flow.d_lot, minlength=len(flow.lot_product))
    eligible = eligible[out_deg[eligible] >= 1]
    order = rng.permutation(eligible)
    in_spread = np.zeros(len(flow.node_t), dtype=np.int32) - 1
    for lot in order.tolist():
        if len(ev.planted) >= n_plant:
            break
        nodes = spread_nodes(children, int(flow.lot_node[lot]))
        dels = flow.node_delivery[nodes]
        dels = dels[dels >= 0]
        if len(dels) < 2 or (in_spread[nodes] >= 0).any():
            continue
        c = str(lot_cat[lot])
        item = planted_items[c][int(rng.integers(len(planted_items[c])))]
        in_spread[nodes] = len(ev.planted)
        ev.planted.append({"lot": lot, "category": c, "item": item, "hazard_class": by_item[item]["class"],
                           "nodes": nodes, "deliveries": np.sort(dels),
                           "lots": np.unique(flow.node_lot[nodes]), "stations": np.unique(flow.node_station[nodes]),
                           "samples": []})
    ev.extra["in_spread"] = in_spread


_PLAN_KINDS = {
    "supervisory": {"Stall": .28, "Supermarket": .25, "Producer": .12, "Workshop": .05, "Restaurant": .1,
                    "SchoolCanteen": .1, "WholesaleMarket": .1},
    "monitoring": {"Farm": .08, "CropFarm": .12, "AquaFarm": .1, "WholesaleMarket": .2, "Stall": .2,
                   "Supermarket": .15, "Slaughterhouse": .1, "Distributor": .05},
    "rapid": {"WholesaleMarket": .35, "Stall": .35, "SchoolCanteen": .15, "Supermarket": .15},
}
_RATE = {"supervisory": 0.004, "monitoring": 0.004, "rapid": 0.012}
_MIN = {"supervisory": 40, "monitoring": 40, "rapid": 80}


def _value(it: dict, fail: bool, rng: np.random.Generator) -> dict:
    """A result of one item: value (float or None), value text, limit and limit text, conclusion."""
    unit = it["unit"]
    if it.get("rapid_only"):
        v = round(float(rng.uniform(55, 90) if fail else rng.uniform(3, 40)), 1)
        return {"value": v, "value_text": f"{v:g}", "limit": float(it["limit"]), "limit_text": f"<{it['limit']:g}",
                "unit": unit, "fail": fail}
    if "plan" in it:
        n, c, m, big = it["plan"]
        if big == 0:
            counts = [0] * n
            if fail:
                counts[0] = int(rng.integers(1, 30))
        else:
            counts = [int(v) for v in np.exp(rng.uniform(np.log(10), np.log(max(m, 20)), n))]
            if fail:
                counts[int(rng.integers(n))] = int(big * rng.uniform(1.2, 8))
                if c < n:
                    for j in range(c + 1):
                        counts[j] = max(counts[j], int(m * rng.uniform(1.1, 3)))
        text = ",".join(str(v) for v in counts)
        return {"value": float(max(counts)), "value_text": text, "limit": float(big),
                "limit_text": f"n={n},c={c},m={m},M={big}", "unit": unit, "fail": fail, "plan": True}
    limit = it["limit"]
    lod = it["lod"]
    if limit is None:
        if fail:
            v = float(f"{lod * rng.uniform(3, 300):.3g}")
            return {"value": v, "value_text": f"{v:g}", "limit": 0.0, "limit_text": "不得检出", "unit": unit, "fail": True}
        return {"value": None, "value_text": "未检出", "limit": 0.0, "limit_text": "不得检出", "unit": unit,
                "fail": False}
    if fail:
        v = float(f"{limit * rng.uniform(1.3, 12):.3g}")
    elif rng.random() < 0.65:
        return {"value": None, "value_text": "未检出", "limit": float(limit), "limit_text": f"≤{limit:g}",
                "unit": unit, "fail": False}
    else:
        v = float(f"{max(lod, limit * rng.uniform(0.02, 0.7)):.3g}")
    return {"value": v, "value_text": f"{v:g}", "limit": float(limit), "limit_text": f"≤{limit:g}", "unit": unit,
            "fail": fail}


def _samples(net: Network, flow: Flow, ev: Events, rng: np.random.Generator, scale: int, start: date) -> None:
    items, _ = _hazards()
    cat = net.catalogue
    kind = net.kind[flow.node_station]
    ok_time = flow.node_t < flow.days - 0.5
    lot_key = net.prod_key[flow.lot_product]
    node_key = lot_key[flow.node_lot]
    rapid_ok_key = np.array([bool(items_for(items, p["category"], p["key"], rapid=True)) for p in cat])
    lab_ok_key = np.array([bool(items_for(items, p["category"], p["key"], rapid=False)) for p in cat])
    in_spread = ev.extra["in_spread"]
    seq = {"supervisory": 0, "monitoring": 0, "rapid": 0}
    prefix = {"supervisory": "DC", "monitoring": "JC", "rapid": "KJ"}

    def take(plan: str, node: int, planted: int | None) -> None:
        p = int(flow.node_lot[node])
        prod = int(flow.lot_product[p])
        key = cat[int(net.prod_key[prod])]
        st = int(flow.node_station[node])
        rapid = plan == "rapid"
        cands = items_for(items, key["category"], key["key"], rapid=rapid)
        t = float(flow.node_t[node]) + float(rng.uniform(0.01, 0.6))
        t = min(t, flow.days - 0.01)
        fail_item = None
        if planted is not None:
            pl = ev.planted[planted]
            names = [c["item"] for c in cands]
            if pl["item"] in names:
                fail_item = pl["item"]
            elif not rapid:
                extra = [it for it in items if it["item"] == pl["item"]]
                cands = cands + extra[:1]
                fail_item = pl["item"]
        elif rng.random() < flow.node_risk[node]:
            fail_item = cands[int(rng.integers(len(cands)))]["item"]
        k = min(len(cands), int(rng.integers(2, 6)) if not rapid else 1)
        chosen_idx = rng.choice(len(cands), size=k, replace=False).tolist()
        chosen = [cands[i] for i in sorted(chosen_idx)]
        if fail_item is not None and fail_item not in [c["item"] for c in chosen]:
            chosen = [c for c in cands if c["item"] == fail_item][:1] + chosen[:max(0, k - 1)]
        results = []
        for it in chosen:
            r = _value(it, it["item"] == fail_item, rng)
            r.update(item=it["item"], hazard_class=it["class"], standard=it["standard"])
            results.append(r)
        seq[plan] += 1
        d = net.districts[int(net.district[st])]
        day = day_str(start, t)
        sid = f"{prefix[plan]}{day[2:4]}{d['code']}{seq[plan]:06d}"
        fail = any(r["fail"] for r in results)
        ev.samples.append({"id": sid, "plan": plan, "node": node, "station": st, "lot": p, "product": prod,
                           "key": key, "t": t, "date": day, "results": results, "fail": fail,
                           "planted": planted, "lab": _LABS[int(rng.integers(len(_LABS)))]})
        ev.op_samples[st] += 1
        ev.op_fails[st] += int(fail)
        if planted is not None:
            ev.planted[planted]["samples"].append(len(ev.samples) - 1)

    # samples on planted spreads (so that a trace can start from a failed sample)
    for i, pl in enumerate(ev.planted):
        if rng.random() < 0.85:
            nodes = pl["nodes"]
            nodes = nodes[np.isin(kind[nodes], [K[k] for k in _PLAN_KINDS["supervisory"]]) & ok_time[nodes] &
                          lab_ok_key[node_key[nodes]]]
            if len(nodes):
                plan = ("supervisory", "monitoring", "rapid")[int(rng.choice(3, p=[.5, .3, .2]))]
                node = int(nodes[int(rng.integers(len(nodes)))])
                if plan == "rapid" and not rapid_ok_key[node_key[node]]:
                    plan = "monitoring"
                take(plan, node, i)
    for plan, kinds in _PLAN_KINDS.items():
        n = max(_MIN[plan], int(round(_RATE[plan] * scale)))
        w = np.zeros(len(KINDS))
        for k, x in kinds.items():
            w[K[k]] = x
        okk = (rapid_ok_key if plan == "rapid" else lab_ok_key)[node_key]
        elig = np.flatnonzero(ok_time & okk & (w[kind] > 0))
        if not len(elig):
            continue
        counts = np.bincount(kind[elig], minlength=len(KINDS))
        pw = w[kind[elig]] / counts[kind[elig]]
        pick = elig[rng.choice(len(elig), size=min(n, len(elig)), replace=False, p=pw / pw.sum())]
        for node in np.sort(pick).tolist():
            s = int(in_spread[node])
            take(plan, node, s if s >= 0 and rng.random() < 0.7 else None)
    ev.samples.sort(key=lambda s: (s["t"], s["id"]))
    for pl in ev.planted:
        pl["samples"] = []
    for i, s in enumerate(ev.samples):
        if s["planted"] is not None:
            ev.planted[s["planted"]]["samples"].append(i)


_FINDINGS = {"pass_with_remarks": ("进货查验记录不全", "从业人员健康证明过期", "食品贮存温度记录缺失", "未按规定公示食品安全信息",
                                   "索证索票不规范"),
             "fail": ("未落实进货查验制度", "经营超过保质期的食品", "生产经营场所卫生条件不符合要求", "未建立食品安全追溯台账",
                      "无法提供合格证明文件")}
_INSPECT_RATE = {"Producer": 4, "Slaughterhouse": 4, "WholesaleMarket": 4, "Supermarket": 2, "SchoolCanteen": 3,
                 "Restaurant": 1.5, "Stall": 1, "Distributor": 2, "ColdStore": 2, "Workshop": 2, "Farm": 1,
                 "CropFarm": .5, "AquaFarm": .5, "FarmersMarket": 2}
_COMPLAINT_RATE = {"Restaurant": .6, "Supermarket": .5, "Stall": .15, "SchoolCanteen": .2, "Workshop": .3,
                   "Producer": .2, "FarmersMarket": .3, "Distributor": .1}
_TOPICS = ("食品变质", "异物", "过期食品", "卫生条件差", "食用后身体不适", "缺斤短两", "无证经营", "标签不规范")
_BANNED_POLICE = ("克伦特罗", "莱克多巴胺", "沙丁胺醇", "孔雀石绿", "呋喃唑酮代谢物", "氯霉素", "地西泮", "氧氟沙星", "三聚氰胺")


def _enforcement(net: Network, flow: Flow, ev: Events, rng: np.random.Generator, start: date) -> None:
    days = int(flow.days)
    n = net.n
    # inspections
    seq = 0
    for op in range(n):
        k = KINDS[net.kind[op]]
        lam = _INSPECT_RATE.get(k, 1) * 2
        m = int(rng.poisson(lam))
        pf = min(0.6, 3 * float(net.latent[op]))
        dist = net.districts[int(net.district[op])]
        for t in np.sort(rng.uniform(0, days, m)).tolist():
            r = rng.random()
            res = "fail" if r < pf else ("pass_with_remarks" if r < pf + 0.25 else "pass")
            seq += 1
            day = day_str(start, t)
            ev.inspections.append({
                "id": f"JC-{day[:4]}-{seq:07d}", "operator": op, "date": day,
                "kind": ("日常检查", "飞行检查", "专项检查")[int(rng.choice(3, p=[.8, .08, .12]))],
                "result": res,
                "findings": "" if res == "pass" else _FINDINGS[res][int(rng.integers(5))],
                "inspector": f"{dist['name']}市场监督管理局"})
    # cases: failed supervisory and monitoring samples, failed inspections, mass-balance violations
    case_rows: list[dict] = []

    def case(op: int, t: float, violation: str, sample: int | None, police: bool) -> None:
        dist = net.districts[int(net.district[op])]
        opened = day_str(start, t)
        closed_t = t + float(rng.uniform(20, 150))
        closed = day_str(start, closed_t) if closed_t < days else ""
        minor = rng.random() < 0.3 and not police
        fine = 0.0 if police else float(round(rng.choice([2000, 5000, 10000, 20000, 50000, 100000]) *
                                              (0.5 if minor else 1.0), 0))
        case_rows.append({"operator": op, "opened": opened, "closed": closed, "t": t, "closed_t": closed_t,
                          "violation": violation, "penalty": "移送公安机关" if police else ("警告" if minor else "罚款"),
                          "fine": fine, "police": police, "sample": sample, "district": dist, "minor": minor})

    for i, s in enumerate(ev.samples):
        if s["fail"] and s["plan"] != "rapid" and rng.random() < 0.7:
            bad = [r["item"] for r in s["results"] if r["fail"]]
            police = any(b in _BANNED_POLICE for b in bad) and rng.random() < 0.5
            case(s["station"], s["t"] + float(rng.uniform(10, 40)),
                 f"经营{bad[0]}不符合食品安全标准的食品", i, police)
    for insp in ev.inspections:
        if insp["result"] == "fail" and rng.random() < 0.15:
            t = (date.fromisoformat(insp["date"]) - start).days + 3
            case(insp["operator"], t, insp["findings"], None, False)
    for v in ev.violations:
        if rng.random() < 0.5:
            if v["type"] == "illegal_slaughter":
                t = float(flow.tr_time[v["transformation"]]) + float(rng.uniform(5, 60))
                case(v["station"], t, "私屠滥宰，屠宰未经检疫生猪", None, rng.random() < 0.7)
            else:
                t = float(flow.d_ship[v["delivery_in"]]) + float(rng.uniform(5, 60))
                case(v["station"], t, "经营来源不明的食用农产品", None, False)
    case_rows = [c for c in case_rows if c["t"] < days]
    case_rows.sort(key=lambda c: (c["t"], c["operator"]))
    counters: dict[tuple[str, str], int] = {}
    for c in case_rows:
        y = c["opened"][:4]
        short = c["district"]["short"]
        counters[(short, y)] = counters.get((short, y), 0) + 1
        c["id"] = f"通{short}市监案〔{y}〕{counters[(short, y)]}号"
    ev.cases = case_rows
    # complaints
    seq = 0
    for op in range(n):
        k = KINDS[net.kind[op]]
        lam = _COMPLAINT_RATE.get(k, 0.0) * 2 * (1 + 20 * float(net.latent[op]))
        for t in np.sort(rng.uniform(0, days, int(rng.poisson(lam)))).tolist():
            seq += 1
            day = day_str(start, t)
            ev.complaints.append({"id": f"TS-{day[:4]}-{seq:07d}", "operator": op, "date": day,
                                  "channel": ("12315", "12345热线", "吹哨人", "网络")[int(rng.choice(4, p=[.6, .25, .03, .12]))],
                                  "topic": _TOPICS[int(rng.integers(len(_TOPICS)))],
                                  "substantiated": bool(rng.random() < min(0.9, 0.25 + 5 * float(net.latent[op])))})
    # credit records: penalties, serious dishonesty, abnormal operation, commendations, credit classes
    seq = 0

    def credit(op: int, kind: str, s: str, e: str, repaired: str, cls: str, authority: str, reason: str) -> None:
        nonlocal seq
        seq += 1
        ev.credit.append({"id": f"XY-{s[:4]}-{seq:07d}", "operator": op, "kind": kind, "start": s, "end": e,
                          "repaired": repaired, "credit_class": cls, "authority": authority, "reason": reason})

    def plus_years(d: str, y: int) -> str:
        x = date.fromisoformat(d)
        return x.replace(year=x.year + y, day=min(x.day, 28)).isoformat()

    for c in case_rows:
        if not c["closed"] or c["police"] and rng.random() < 0.5:
            continue
        auth = f"{c['district']['name']}市场监督管理局"
        repaired = ""
        if rng.random() < (0.4 if c["minor"] else 0.15):
            rt = c["closed_t"] + (float(rng.uniform(90, 200)) if c["minor"] else float(rng.uniform(365, 500)))
            repaired = day_str(start, rt) if rt < days else ""
        credit(c["operator"], "penalty", c["closed"], plus_years(c["closed"], 3), repaired, "", auth, c["violation"])
        if c["police"] or "私屠滥宰" in c["violation"]:
            rep = ""
            if rng.random() < 0.2:
                rt = c["closed_t"] + float(rng.uniform(365, 600))
                rep = day_str(start, rt) if rt < days else ""
            credit(c["operator"], "serious_dishonest", c["closed"], plus_years(c["closed"], 3), rep, "",
                   "南通市市场监督管理局", "严重违法失信：" + c["violation"])
    for c in case_rows:
        if c["police"] and c["closed"] and not any(r["operator"] == c["operator"] and r["kind"] == "serious_dishonest"
                                                   for r in ev.credit):
            credit(c["operator"], "serious_dishonest", c["closed"], plus_years(c["closed"], 3), "", "",
                   "南通市市场监督管理局", "严重违法失信：" + c["violation"])
    u = rng.random((3, n))
    for op in range(n):
        dist = net.districts[int(net.district[op])]
        auth = f"{dist['name']}市场监督管理局"
        if u[0, op] < 0.01:
            s = day_str(start, float(rng.uniform(0, days)))
            credit(op, "abnormal", s, "", "", "", auth, "通过登记的住所或者经营场所无法联系")
        if u[1, op] < 0.02:
            s = day_str(start, float(rng.uniform(0, days)))
            credit(op, "commendation", s, "", "", "", "南通市食品安全委员会办公室", "食品安全示范单位")
        if not net.individual[op] and u[2, op] < 0.3:
            lr = float(net.latent[op])
            cls = "A" if lr < 0.006 else "B" if lr < 0.02 else "C" if lr < 0.06 else "D"
            s = day_str(start, float(rng.uniform(days - 365, days)))
            credit(op, "credit_class", s, (date.fromisoformat(s) + timedelta(days=365)).isoformat(), "", cls,
                   auth, "年度信用风险分类")
