"""Writing the synthetic network: EPCIS 2.0 JSON-LD, CSV templates, announcements and the truth.

Files, all deterministic for a seed:

* ``epcis/events_NNNN.jsonld``: EPCIS documents of at most :data:`EVENTS_PER_DOCUMENT`
  events in time order (commissioning ObjectEvents with ILMD, shipping
  ObjectEvents with ticket, certificates and source/destination, slaughter,
  cutting and processing TransformationEvents), each with the master data of
  the locations and products it names. Lots appear as LGTIN EPC URNs and as
  Digital Links, locations as SGLN URNs and Digital Links.
* ``templates/*.csv``: the spreadsheets of :mod:`loaders.template_spec` (UTF-8
  with BOM, Chinese headers) for what arrives as spreadsheets.
* ``announcements/``: 监督抽检 results as the official 不合格 and 合格 tables per
  quarter (.xlsx, some .csv in GBK), names as clerks type them (spaces, full-width
  forms, 有限责任公司); and a provincial re-publisher's failures-only table a year
  (``{year}_republished_nonconforming.csv``): producers elsewhere with sparse
  histories, no sampled unit, loose produce, results as text, food-related products.
* ``truth/``: ``planted.json``, ``latent_risk.csv``, ``imperfections.json``, ``banquets.json`` (rural banquets:
  held, registered, large, guided per district and month; chefs' certificate expiries), ``kitchens.json``
  (互联网+明厨亮灶: the figures and four rates per district over the logged months), ``events.json`` (major
  events: their kitchens, designated suppliers and period, and the deliveries into their kitchens).
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

import numpy as np
import orjson

from ontology import vocab
from ontology.identifiers import delivery_id

from . import banquets, handling, indicators, kitchens, major_events
from .events import Events
from .flow import LOT_ORIGINS, TRANSFORM_KINDS, Flow
from .network import KINDS, Network
from loaders.tables import write_table
from loaders.template_spec import TEMPLATES

__all__ = ["write_all", "EVENTS_PER_DOCUMENT", "CONTEXT", "FT"]

EVENTS_PER_DOCUMENT = 50_000
FT = "https://w3id.org/foodtrace/epcis#"
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
           {"ft": FT, "cbvmda": "urn:epcglobal:cbv:mda:"}]
K = {k: i for i, k in enumerate(KINDS)}
O = {k: i for i, k in enumerate(LOT_ORIGINS)}
T = {k: i for i, k in enumerate(TRANSFORM_KINDS)}
_STEP = {T["slaughter"]: FT + "slaughtering", T["cutting"]: FT + "cutting", T["processing"]: "commissioning"}
_ANN_CLASS = {"processed_meat": "肉制品", "dairy": "乳制品", "condiment": "调味品", "grain": "粮食加工品",
              "edible_oil": "食用油、油脂及其制品", "bakery": "糕点", "beverage": "饮料", "frozen_food": "速冻食品",
              "prepared_food": "餐饮食品", "other": "豆制品"}
_DISPUTES = ("标称生产企业否认为其生产", "经核查，不合格原因系经营环节贮存不当所致，与标称生产企业无关")


def _times(start: date, t: np.ndarray) -> np.ndarray:
    """Local (+08:00) date-times ``YYYY-MM-DDTHH:MM:SS`` of times in days, to the minute."""
    minutes = np.round(np.asarray(t, dtype=np.float64) * 1440).astype(np.int64)
    dt = np.datetime64(start.isoformat() + "T00:00") + minutes.astype("timedelta64[m]")
    return np.datetime_as_string(dt, unit="s")


def _dates(start: date, t: np.ndarray) -> np.ndarray:
    dt = np.datetime64(start.isoformat()) + np.floor(np.asarray(t, dtype=np.float64)).astype("timedelta64[D]")
    return np.datetime_as_string(dt, unit="D")


def _uuid_base(seed: int) -> str:
    """A per-seed prefix of deterministic version-4 UUIDs (``{base}{kind}{index:011x}``)."""
    h = hashlib.blake2b(str(seed).encode(), digest_size=8).hexdigest()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-4{h[12:15]}-8{h[15]}"


def _uuid(base: str, kind: int, i: int) -> str:
    return f"{base}{kind:02x}-{i:012x}"


class _Ids:
    """Identifier forms of operators, products and lots as they are written."""

    def __init__(self, net: Network, flow: Flow, ev: Events) -> None:
        self.net, self.flow, self.ev = net, flow, ev
        n = net.n
        self.sgln = [f"urn:epc:id:sgln:{net.prefix[i]}.{net.loc_ref[i]}.0" if net.gln[i] else "" for i in range(n)]
        self.loc_dl = [f"https://id.gs1.org/414/{net.gln[i]}" if net.gln[i] else "" for i in range(n)]
        self.pgln = [f"urn:epc:id:pgln:{net.prefix[i]}.{net.loc_ref[i]}" if net.gln[i] else "" for i in range(n)]
        self.party_dl = [f"https://id.gs1.org/417/{net.gln[i]}" if net.gln[i] else "" for i in range(n)]
        cat = net.catalogue
        self.lot_unit = [cat[k]["unit"] for k in net.prod_key[flow.lot_product].tolist()]
        self._dl: list[str] | None = None
        self._urn: list[str] | None = None

    def lot_dls(self) -> list[str]:
        if self._dl is None:
            g = self.net.prod_gtin
            self._dl = [f"https://id.gs1.org/01/{g[p]}/10/{n}" if g[p] else ""
                        for p, n in zip(self.flow.lot_product.tolist(), self.ev.lot_number)]
        return self._dl

    def lgtins(self) -> list[str]:
        if self._urn is None:
            net = self.net
            out = []
            for p, n in zip(self.flow.lot_product.tolist(), self.ev.lot_number):
                g = net.prod_gtin[p]
                if g:
                    pre = net.prefix[int(net.prod_maker[p])]
                    out.append(f"urn:epc:class:lgtin:{pre}.{g[0]}{g[1 + len(pre):13]}.{n}")
                else:
                    out.append("")
            self._urn = out
        return self._urn

    def lgtin(self, lot: int) -> str:
        return self.lgtins()[lot]

    def lot_dl(self, lot: int) -> str:
        return self.lot_dls()[lot]


def _unit_code(net: Network, flow: Flow, lot: int) -> str:
    return net.catalogue[int(net.prod_key[int(flow.lot_product[lot])])]["unit"]


def _qty(v: float, unit: str) -> float | int:
    """A quantity as written: whole pieces, or kilograms to 0.1; never 0 (a delivery moves something)."""
    return max(1, int(v)) if unit == "H87" else max(0.1, round(float(v), 1))


# -- EPCIS -----------------------------------------------------------------------------------------

def _write_epcis(out: Path, net: Network, flow: Flow, ev: Events, ids: _Ids, rng: np.random.Generator, start: date,
                 end: date, seed: int, progress: Callable[[float], None]) -> tuple[list[str], int]:
    d = out / "epcis"
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("events_*.jsonld"):
        old.unlink()
    com = np.flatnonzero((flow.lot_origin == O["origin"]) & ev.lot_gtin & (flow.lot_node >= 0))
    trs = np.flatnonzero(ev.tr_epcis)
    dls = np.flatnonzero(ev.d_epcis)
    t = np.concatenate([flow.lot_t[com], flow.tr_time[trs], flow.d_ship[dls]])
    minutes = np.round(t * 1440).astype(np.int64)
    typ = np.concatenate([np.zeros(len(com), np.int8), np.ones(len(trs), np.int8), np.full(len(dls), 2, np.int8)])
    idx = np.concatenate([com, trs, dls])
    order = np.lexsort((idx, typ, minutes))
    typ, idx, minutes = typ[order], idx[order], minutes[order]
    tstr = _times(start, minutes / 1440.0)
    form = rng.random((2, len(idx))) < np.array([[0.5], [0.4]])  # lot as Digital Link, operator as Digital Link
    # transformation items grouped
    ti_order = np.lexsort((flow.ti_role, flow.ti_tr))
    ti_tr = flow.ti_tr[ti_order]
    ti_off = np.searchsorted(ti_tr, np.arange(len(flow.tr_kind) + 1))
    lot_exp = _dates(start, flow.lot_t + np.array([net.catalogue[int(k)]["shelf"]
                                                   for k in net.prod_key[flow.lot_product]]))
    lot_day = _dates(start, flow.lot_t)
    files = []
    creation = f"{(end + timedelta(days=1)).isoformat()}T06:00:00+08:00"
    lot_unit, lot_dl, lgtin = ids.lot_unit, ids.lot_dls(), ids.lgtins()
    loc_dl, sgln, party_dl, pgln = ids.loc_dl, ids.sgln, ids.party_dl, ids.pgln
    form0, form1 = form[0].tolist(), form[1].tolist()
    base = _uuid_base(seed)
    typ_l, idx_l = typ.tolist(), idx.tolist()
    lot_producer, lot_qty = flow.lot_producer.tolist(), flow.lot_qty.tolist()
    d_lot, d_snd, d_rcv, d_qty = flow.d_lot.tolist(), flow.d_sender.tolist(), flow.d_receiver.tolist(), \
        flow.d_qty.tolist()
    d_cert, tickets, glns = ev.d_cert.tolist(), ev.d_ticket, net.gln
    ti_lot = flow.node_lot[flow.ti_node].tolist()
    ti_qty, ti_role = flow.ti_qty.tolist(), flow.ti_role.tolist()
    tr_station, tr_kind = flow.tr_station.tolist(), flow.tr_kind.tolist()
    tstr = tstr.tolist()
    lot_exp, lot_day = lot_exp.tolist(), lot_day.tolist()
    n_ev = len(idx)
    for part, lo in enumerate(range(0, max(n_ev, 1), EVENTS_PER_DOCUMENT)):
        hi = min(n_ev, lo + EVENTS_PER_DOCUMENT)
        events = []
        sl = slice(lo, hi)
        c_ops = [flow.lot_producer[idx[sl][typ[sl] == 0]], flow.tr_station[idx[sl][typ[sl] == 1]],
                 flow.d_sender[idx[sl][typ[sl] == 2]], flow.d_receiver[idx[sl][typ[sl] == 2]]]
        ops = np.unique(np.concatenate(c_ops)).tolist()
        t_items = np.concatenate([ti_order[ti_off[i]:ti_off[i + 1]] for i in idx[sl][typ[sl] == 1].tolist()] or
                                 [np.zeros(0, dtype=np.int64)])
        c_lots = np.concatenate([idx[sl][typ[sl] == 0], flow.node_lot[flow.ti_node[t_items]],
                                 flow.d_lot[idx[sl][typ[sl] == 2]]])
        prods = np.unique(flow.lot_product[c_lots]).tolist()

        def qe(lot: int, q: float, j: int) -> dict:
            unit = lot_unit[lot]
            return {"epcClass": lot_dl[lot] if form0[j] else lgtin[lot],
                    "quantity": int(q) if unit == "H87" else round(q, 1), "uom": unit}

        def loc(op: int, j: int) -> str:
            return loc_dl[op] if form1[j] else sgln[op]

        def party(op: int, j: int) -> str:
            return party_dl[op] if form1[j] else pgln[op]

        for j in range(lo, hi):
            ty, i, ts = typ_l[j], idx_l[j], tstr[j] + "+08:00"
            if ty == 0:
                op = lot_producer[i]
                where = loc(op, j)
                e = {"type": "ObjectEvent", "eventTime": ts, "eventTimeZoneOffset": "+08:00",
                     "eventID": _uuid(base, 0, i), "epcList": [], "action": "ADD",
                     "bizStep": "commissioning",
                     "disposition": "active", "readPoint": {"id": where}, "bizLocation": {"id": where},
                     "quantityList": [qe(i, lot_qty[i], j)],
                     "ilmd": {"cbvmda:lotNumber": ev.lot_number[i], "cbvmda:itemExpirationDate": lot_exp[i],
                              "ft:productionDate": lot_day[i]}}
                certs = ev.lot_certs.get(i)
                if certs:
                    e["certificationInfo"] = _cert_uris(ev, certs)
            elif ty == 1:
                op = tr_station[i]
                where = loc(op, j)
                items = ti_order[ti_off[i]:ti_off[i + 1]].tolist()
                ins = [qe(ti_lot[k], ti_qty[k], j) for k in items if ti_role[k] == 0]
                outs_l = [ti_lot[k] for k in items if ti_role[k] == 1]
                outs = [qe(ti_lot[k], ti_qty[k], j) for k in items if ti_role[k] == 1]
                e = {"type": "TransformationEvent", "eventTime": ts, "eventTimeZoneOffset": "+08:00",
                     "eventID": _uuid(base, 1, i), "inputQuantityList": ins, "outputQuantityList": outs,
                     "bizStep": _STEP[tr_kind[i]], "disposition": "active",
                     "readPoint": {"id": where}, "bizLocation": {"id": where},
                     "ft:transformationKind": TRANSFORM_KINDS[tr_kind[i]],
                     "ilmd": {"ft:productionDate": lot_day[outs_l[0]]}}
                exps = {lot_exp[x] for x in outs_l}
                if len(exps) == 1:
                    e["ilmd"]["cbvmda:itemExpirationDate"] = exps.pop()
                certs = [c for x in outs_l for c in ev.lot_certs.get(x, ())]
                if certs:
                    e["certificationInfo"] = _cert_uris(ev, certs)
            else:
                lot, s, r = d_lot[i], d_snd[i], d_rcv[i]
                e = {"type": "ObjectEvent", "eventTime": ts, "eventTimeZoneOffset": "+08:00",
                     "eventID": _uuid(base, 2, i), "epcList": [], "action": "OBSERVE",
                     "bizStep": "shipping", "disposition": "in_transit",
                     "readPoint": {"id": loc(s, j)}, "quantityList": [qe(lot, d_qty[i], j)],
                     "sourceList": [{"type": "owning_party", "source": party(s, j)},
                                    {"type": "location", "source": loc(s, j)}],
                     "destinationList": [{"type": "owning_party", "destination": party(r, j)},
                                         {"type": "location", "destination": loc(r, j)}]}
                tk = tickets[i]
                if tk:
                    e["bizTransactionList"] = [{"type": "inv", "bizTransaction": f"urn:epcglobal:cbv:bt:{glns[s]}:{tk}"}]
                if d_cert[i]:
                    e["certificationInfo"] = _cert_uris(ev, ev.lot_certs[lot])
            events.append(e)
        doc = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": creation,
               "epcisHeader": {"epcisMasterData": {"vocabularyList": _master(net, ids, ops, prods)}},
               "epcisBody": {"eventList": events}}
        name = f"events_{part + 1:04d}.jsonld"
        (d / name).write_bytes(orjson.dumps(doc))
        files.append(f"epcis/{name}")
        progress(hi / max(n_ev, 1))
    return files, n_ev


def _cert_uris(ev: Events, certs: list[int]) -> str | list[str]:
    all_uris = ev.extra.get("cert_uri")
    if all_uris is None:
        all_uris = ev.extra["cert_uri"] = [f"urn:foodtrace:certificate:{c['kind']}:{c['number']}" for c in ev.certs]
    uris = [all_uris[c] for c in certs]
    return uris[0] if len(uris) == 1 else uris


def _master(net: Network, ids: _Ids, ops: list[int], prods: list[int]) -> list[dict]:
    cat_zh = vocab.labels("category")
    locs = []
    for op in ops:
        d = net.districts[int(net.district[op])]
        locs.append({"id": ids.sgln[op], "attributes": [
            {"id": "cbvmda:name", "attribute": net.name[op]},
            {"id": "cbvmda:streetAddressOne", "attribute": net.address[op]},
            {"id": "cbvmda:city", "attribute": "南通市"},
            {"id": "cbvmda:countryCode", "attribute": "CN"},
            {"id": "ft:operatorKind", "attribute": KINDS[int(net.kind[op])]},
            {"id": "ft:district", "attribute": f"urn:foodtrace:region:{d['code']}"},
            {"id": "ft:districtName", "attribute": d["name"]},
            {"id": "ft:uscc", "attribute": net.uscc[op]}]})
    classes = []
    for p in prods:
        c = net.catalogue[int(net.prod_key[p])]
        classes.append({"id": f"https://id.gs1.org/01/{net.prod_gtin[p]}", "attributes": [
            {"id": "cbvmda:descriptionShort", "attribute": c["name"]},
            {"id": "cbvmda:netContent", "attribute": c["spec"]},
            {"id": "ft:category", "attribute": c["category"]},
            {"id": "ft:categoryLabel", "attribute": cat_zh[c["category"]][0]}]})
    return [{"type": "urn:epcglobal:epcis:vtype:BusinessLocation", "vocabularyElementList": locs},
            {"type": "urn:epcglobal:epcis:vtype:EPCClass", "vocabularyElementList": classes}]


# -- templates -------------------------------------------------------------------------------------

def _table(out: Path, kind: str, rows: list[dict] | Any) -> str:
    t = TEMPLATES[kind]
    keys = [c.key for c in t.columns]
    path = out / "templates" / f"{kind}.csv"
    write_table(path, t.headers_zh, ([r.get(k, "") for k in keys] for r in rows))
    return f"templates/{kind}.csv"


#: rows per deliveries sheet: a city's ledger arrives in parts, and each part loads as one batch
DELIVERY_PART_ROWS = 100_000


def _columns(out: Path, kind: str, cols: dict[str, list[str]], n: int) -> list[str]:
    """Write a template from whole columns (absent columns empty), UTF-8 with BOM like :func:`write_table`.

    More than :data:`DELIVERY_PART_ROWS` rows are split into numbered parts (``{kind}_0001.csv`` ...).
    """
    t = TEMPLATES[kind]
    empty = [""] * n
    columns = [cols.get(c.key, empty) for c in t.columns]
    (out / "templates").mkdir(parents=True, exist_ok=True)
    parts = range(0, n, DELIVERY_PART_ROWS) if n > DELIVERY_PART_ROWS else [0]
    written = []
    for i, start in enumerate(parts, 1):
        name = f"{kind}.csv" if len(parts) == 1 else f"{kind}_{i:04d}.csv"
        stop = n if len(parts) == 1 else min(start + DELIVERY_PART_ROWS, n)
        with open(out / "templates" / name, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow(t.headers_zh)
            w.writerows(zip(*(col[start:stop] for col in columns)))
        written.append(f"templates/{name}")
    return written


def _unit_zh(net: Network, key: int, j: int) -> str:
    c = net.catalogue[key]
    if c["unit"] == "KGM":
        return ("千克", "公斤", "kg")[j % 3]
    return {"live_pig": "头", "live_poultry": "只"}.get(c["category"], "件")


def _write_templates(out: Path, net: Network, flow: Flow, ev: Events, ids: _Ids, rng: np.random.Generator,
                     start: date) -> tuple[list[str], dict[str, int]]:
    cat_zh = {k: v[0] for k, v in vocab.labels("category").items()}
    kind_zh = {k: v[0] for k, v in vocab.labels("operator_kind").items()}
    scale_zh = {k: v[0] for k, v in vocab.labels("scale").items()}
    cert_zh = {k: v[0] for k, v in vocab.labels("certificate_kind").items()}
    tr_zh = {k: v[0] for k, v in vocab.labels("transformation_kind").items()}
    hz_zh = {k: v[0] for k, v in vocab.labels("hazard_class").items()}
    ir_zh = {k: v[0] for k, v in vocab.labels("inspection_result").items()}
    ck_zh = {k: v[0] for k, v in vocab.labels("credit_kind").items()}
    files: list[str] = []
    counts: dict[str, int] = {}
    n = net.n
    yn = lambda b: "" if b is None else ("是" if b else "否")  # noqa: E731
    ref_form = rng.random((2, max(flow.n_deliveries, n)))

    def op_ref(op: int, j: int) -> str:
        u = ref_form[0, j % ref_form.shape[1]]
        if net.gln[op] and u < 0.2:
            return net.gln[op]
        if u > 0.95:
            return net.local[op]
        return net.uscc[op]

    rows = [{"id": net.local[i], "name": net.name[i], "kind": kind_zh[KINDS[int(net.kind[i])]], "uscc": net.uscc[i],
             "gln": net.gln[i], "licence_no": net.licence_no[i], "licence_date": net.licence_date[i],
             "district": net.districts[int(net.district[i])]["name"], "address": net.address[i],
             "parent": net.local[int(net.parent[i])] if net.parent[i] >= 0 else "",
             "scale": scale_zh[net.scale[i]], "category": cat_zh.get(net.category[i], ""),
             "haccp": yn(net.haccp[i]), "individual": yn(net.individual[i]), "contact": net.contact[i],
             "phone": net.phone[i], "lat": f"{net.lat[i]:.5f}", "lon": f"{net.lon[i]:.5f}"} for i in range(n)]
    files.append(_table(out, "operators", rows))
    counts["operator"] = n

    prows = []
    for p in range(len(net.prod_key)):
        c = net.catalogue[int(net.prod_key[p])]
        mk = int(net.prod_maker[p])
        g = net.prod_gtin[p]
        prows.append({"id": net.prod_local[p], "name": c["name"], "name_en": c["en"],
                      "gtin": (g[1:] if p % 3 else g) if g else "", "category": cat_zh[c["category"]],
                      "brand": net.names["firm_roots"][mk % len(net.names["firm_roots"])] if mk >= 0 and g else "",
                      "spec": c["spec"], "unit": _unit_zh(net, int(net.prod_key[p]), p),
                      "producer": net.uscc[mk] if mk >= 0 else ""})
    files.append(_table(out, "products", prows))
    counts["product"] = len(prows)

    lot_day = _dates(start, flow.lot_t)
    lot_exp = _dates(start, flow.lot_t + np.array([net.catalogue[int(k)]["shelf"]
                                                   for k in net.prod_key[flow.lot_product]]))
    lot_unit_zh = [_unit_zh(net, int(k), j) for j, k in enumerate(net.prod_key[flow.lot_product].tolist())]
    epcis_lots = np.zeros(len(flow.lot_product), dtype=bool)
    epcis_lots[(flow.lot_origin == O["origin"]) & ev.lot_gtin] = True
    tr_out = flow.ti_node[(flow.ti_role == 1) & ev.tr_epcis[flow.ti_tr]]
    epcis_lots[flow.node_lot[tr_out]] = True
    lot_rows = []

    def lot_cols(lot: int, j: int, with_producer: bool = True) -> dict:
        p = int(flow.lot_product[lot])
        if net.prod_gtin[p]:
            return {"lot": ids.lot_dl(lot) if ref_form[1, j % ref_form.shape[1]] < 0.75 else ids.lgtin(lot)}
        return {"product": net.prod_local[p], "lot_number": ev.lot_number[lot],
                "producer": net.uscc[int(flow.lot_producer[lot])]}

    for lot in np.flatnonzero(~epcis_lots).tolist():
        p = int(flow.lot_product[lot])
        row = lot_cols(lot, lot)
        row.update(production_date=str(lot_day[lot]), expiry_date=str(lot_exp[lot]),
                   quantity=f"{_qty(float(flow.lot_qty[lot]), _unit_code(net, flow, lot))}",
                   unit=_unit_zh(net, int(net.prod_key[p]), lot),
                   origin=net.districts[int(net.district[int(flow.lot_producer[lot])])]["name"])
        if net.prod_gtin[p]:
            row.update(product=net.prod_gtin[p], lot_number=ev.lot_number[lot])
        lot_rows.append(row)
    files.append(_table(out, "lots", lot_rows))
    counts["lot"] = len(flow.lot_product)

    cert_rows = []
    for c in ev.certs:
        row = {"number": c["number"], "kind": cert_zh[c["kind"]], "holder": net.uscc[c["holder"]],
               "issuer": c["issuer"], "issued": c["issued"], "valid_until": c["valid_until"],
               "uri": f"urn:foodtrace:certificate:{c['kind']}:{c['number']}"}
        row.update(lot_cols(c["lot"], c["lot"]))
        cert_rows.append(row)
    files.append(_table(out, "certificates", cert_rows))
    counts["certificate"] = len(cert_rows)

    tc_rows = []
    for lot, code in sorted(ev.trace_code.items()):
        row = {"code": code, "operator": net.uscc[int(flow.lot_producer[lot])], "issued": str(lot_day[lot])}
        row.update(lot_cols(lot, lot))
        tc_rows.append(row)
    files.append(_table(out, "trace_codes", tc_rows))
    counts["trace_code"] = len(tc_rows)

    # lot links: transformations not captured in EPCIS (no-link stations record nothing)
    ll_rows = []
    tstr = _times(start, flow.tr_time)
    order = np.lexsort((flow.ti_role, flow.ti_tr))
    off = np.searchsorted(flow.ti_tr[order], np.arange(len(flow.tr_kind) + 1))
    for t in np.flatnonzero(~ev.tr_epcis & (flow.tr_kind != T["nolink"])).tolist():
        items = order[off[t]:off[t + 1]]
        ins = [k for k in items.tolist() if flow.ti_role[k] == 0]
        outs = [k for k in items.tolist() if flow.ti_role[k] == 1]
        st = int(flow.tr_station[t])
        base = {"transformation": f"T{t:08d}", "station": op_ref(st, t), "time": str(tstr[t])[:16].replace("T", " "),
                "kind": tr_zh[TRANSFORM_KINDS[int(flow.tr_kind[t])]]}
        pairs = [(i, outs[0]) for i in ins] + [(ins[0], o) for o in outs[1:]]
        seen_in: set[int] = set()
        seen_out: set[int] = set()
        for i, o in pairs:
            il, ol = int(flow.node_lot[flow.ti_node[i]]), int(flow.node_lot[flow.ti_node[o]])
            row = dict(base)
            row["input_lot"] = ev.canon_lot(net, flow, il)
            op_ = int(flow.lot_product[ol])
            if net.prod_gtin[op_]:
                row["output_lot"] = ids.lot_dl(ol)
            else:
                row["output_lot"] = ev.lot_number[ol]
                row["output_product"] = net.prod_local[op_]
            if i not in seen_in:
                seen_in.add(i)
                row["input_quantity"] = f"{_qty(float(flow.ti_qty[i]), _unit_code(net, flow, il))}"
                row["input_unit"] = _unit_zh(net, int(net.prod_key[int(flow.lot_product[il])]), i)
            if o not in seen_out:
                seen_out.add(o)
                row["output_quantity"] = f"{_qty(float(flow.ti_qty[o]), _unit_code(net, flow, ol))}"
                row["output_unit"] = _unit_zh(net, int(net.prod_key[op_]), o)
            ll_rows.append(row)
    files.append(_table(out, "lot_links", ll_rows))
    counts["transformation"] = int((flow.tr_kind != T["nolink"]).sum())

    # deliveries of the retail end (column-wise: the biggest table)
    di = np.flatnonzero(~ev.d_epcis)
    ship = [x[:16].replace("T", " ") for x in _times(start, flow.d_ship[di]).tolist()]
    recv = [x[:16].replace("T", " ") for x in _times(start, flow.d_recv[di]).tolist()]
    day = _dates(start, flow.d_ship[di]).tolist()
    di_l = di.tolist()
    lots = flow.d_lot[di].tolist()
    snd, rcv = flow.d_sender[di].tolist(), flow.d_receiver[di].tolist()
    unit = [ids.lot_unit[x] for x in lots]
    unit_zh = [lot_unit_zh[x] for x in lots]
    tk = [ev.d_ticket[i] for i in di_l]
    certd = ev.d_cert[di].tolist()
    first_cert = [ev.certs[ev.lot_certs[x][0]] if c else None for x, c in zip(lots, certd)]
    lot_ref = [lot_cols(x, i) for x, i in zip(lots, di_l)]
    cols = {
        "id": [f"D{i:09d}" for i in di_l],
        "lot": [r.get("lot", "") for r in lot_ref], "product": [r.get("product", "") for r in lot_ref],
        "lot_number": [r.get("lot_number", "") for r in lot_ref], "producer": [r.get("producer", "") for r in lot_ref],
        "from": [op_ref(x, i) for x, i in zip(snd, di_l)], "to": [op_ref(x, i + 1) for x, i in zip(rcv, di_l)],
        "ship_time": ship, "receive_time": recv,
        "quantity": [f"{int(q)}" if u == "H87" else f"{q:.1f}" for q, u in zip(flow.d_qty[di].tolist(), unit)],
        "unit": unit_zh, "ticket_number": tk, "ticket_date": [d if t else "" for d, t in zip(day, tk)],
        "certificate_number": [c["number"] if c else "" for c in first_cert],
        "certificate_kind": [cert_zh[c["kind"]] if c else "" for c in first_cert],
        "trace_code": [ev.trace_code.get(x, "") for x in lots],
    }
    files.extend(_columns(out, "deliveries", cols, len(di_l)))
    counts["delivery"] = flow.n_deliveries
    counts["delivery_template"] = len(di_l)

    # samples and results: risk monitoring and rapid tests (supervisory ones are in the announcements)
    s_rows, r_rows = [], []
    plan_zh = {"monitoring": "风险监测", "rapid": "快检"}
    for s in ev.samples:
        if s["plan"] == "supervisory":
            continue
        lot, p = s["lot"], s["product"]
        mk = int(flow.lot_producer[lot])
        s_rows.append({"id": s["id"], "plan": plan_zh[s["plan"]], "sampled": net.uscc[s["station"]],
                       "producer": net.uscc[mk], "product": net.prod_gtin[p] or net.prod_local[p],
                       "product_name": s["key"]["name"], "category": cat_zh[s["key"]["category"]],
                       "lot": ev.canon_lot(net, flow, lot), "batch": ev.lot_number[lot], "sampled_at": s["date"],
                       "conclusion": "不合格" if s["fail"] else "合格", "lab": s["lab"] if s["plan"] != "rapid" else "",
                       "disposal_due": (date.fromisoformat(s["date"]) + timedelta(days=30)).isoformat()
                       if s["fail"] else ""})
        for res in s["results"]:
            r_rows.append({"sample": s["id"], "item": res["item"], "hazard_class": hz_zh[res["hazard_class"]],
                           "value": res["value_text"], "unit": res["unit"], "limit": res["limit_text"],
                           "conclusion": "不合格" if res["fail"] else "合格"})
    files.append(_table(out, "samples", s_rows))
    files.append(_table(out, "test_results", r_rows))
    counts["sample"] = len(ev.samples)
    counts["sample_template"] = len(s_rows)
    counts["test_result"] = sum(len(s["results"]) for s in ev.samples)

    files.append(_table(out, "inspections", ({**x, "operator": net.uscc[x["operator"]],
                                              "result": ir_zh[x["result"]]} for x in ev.inspections)))
    counts["inspection"] = len(ev.inspections)
    sample_ids = {i: s["id"] for i, s in enumerate(ev.samples) if s["plan"] != "supervisory"}
    files.append(_table(out, "cases", ({"id": c["id"], "operator": net.uscc[c["operator"]], "opened": c["opened"],
                                        "closed": c["closed"], "violation": c["violation"], "penalty": c["penalty"],
                                        "fine": f"{c['fine']:.0f}" if c["fine"] else "",
                                        "transferred_to_police": yn(c["police"]),
                                        "sample": sample_ids.get(c["sample"], "") if c["sample"] is not None else ""}
                                       for c in ev.cases)))
    counts["case"] = len(ev.cases)
    kind_zh = {k: v[0] for k, v in vocab.labels("complaint_kind").items()}
    files.append(_table(out, "complaints", ({**x, "operator": net.uscc[x["operator"]],
                                             "substantiated": yn(x["substantiated"]),
                                             "kind": kind_zh.get(x.get("kind", ""), ""), "rural": yn(x.get("rural")),
                                             "real_name": yn(x.get("real_name"))} for x in ev.complaints)))
    counts["complaint"] = len(ev.complaints)
    files.append(_table(out, "credit_records", ({**x, "operator": net.uscc[x["operator"]],
                                                 "kind": ck_zh[x["kind"]]} for x in ev.credit)))
    counts["credit_record"] = len(ev.credit)
    return files, counts


# -- announcements ---------------------------------------------------------------------------------

_ANN_HEAD = ["序号", "标称生产企业名称", "标称生产企业地址", "被抽样单位名称", "被抽样单位地址", "食品名称", "规格型号",
             "商标", "生产日期/批号"]
_ANN_TAIL = ["分类", "公告号", "公告日期", "任务来源/项目名称"]


def _write_announcements(out: Path, net: Network, flow: Flow, ev: Events, rng: np.random.Generator, start: date,
                         end: date, r_real: np.random.Generator) -> tuple[list[str], list[dict], int]:
    import openpyxl

    d = out / "announcements"
    d.mkdir(parents=True, exist_ok=True)
    for old in list(d.glob("*.xlsx")) + list(d.glob("*.csv")):
        old.unlink()
    sup = [(i, s) for i, s in enumerate(ev.samples) if s["plan"] == "supervisory"]
    by_q: dict[tuple[int, int], list[tuple[int, dict]]] = {}
    for i, s in sup:
        y, m = int(s["date"][:4]), int(s["date"][5:7])
        by_q.setdefault((y, (m - 1) // 3 + 1), []).append((i, s))
    files: list[str] = []
    where: list[dict] = []
    today = end + timedelta(days=7)
    for qi, ((y, q), rows) in enumerate(sorted(by_q.items())):
        q_end = date(y, 3 * q, 28) + timedelta(days=4)
        q_end = q_end.replace(day=1) - timedelta(days=1)
        announced = min(q_end + timedelta(days=20), today).isoformat()
        number = f"{y}年第{q}期"
        task = f"南通市市场监督管理局{y}年食品安全监督抽检"
        as_csv = qi % 4 == 3
        for fail in (True, False):
            head = _ANN_HEAD + (["不合格项目║检验结果║标准值"] if fail else []) + _ANN_TAIL + \
                (["检验机构"] if fail else []) + ["备注"]
            table = []
            for i, s in rows:
                if s["fail"] != fail:
                    continue
                lot, p = s["lot"], s["product"]
                key = s["key"]
                mk = int(flow.lot_producer[lot])
                named = key["group"] in ("packaged", "pork", "poultry") or (rng.random() < 0.3)
                if flow.lot_origin[lot] == O["nolink"]:
                    named = False
                st = s["station"]
                batch = ev.lot_number[lot] if net.prod_gtin[p] or key["group"] == "packaged" \
                    else str(_dates(start, np.array([flow.lot_t[lot]]))[0])
                cells = [len(table) + 1, _as_written(net.name[mk], number, len(table), net.individual[mk]) if named
                         else "/",
                         net.address[mk] if named else "/",
                         _as_written(net.name[st], number, len(table), net.individual[st]), net.address[st],
                         key["name"], key["spec"],
                         net.names["firm_roots"][mk % len(net.names["firm_roots"])] if net.prod_gtin[p] else "/",
                         batch]
                remark = ""
                if fail:
                    bad = [r for r in s["results"] if r["fail"]]
                    cells.append("；".join(f"{r['item']}║{r['value_text']}{r['unit']}║{r['limit_text']}"
                                          f"{r['unit'] if r['limit_text'] != '不得检出' else ''}" for r in bad))
                    if named and rng.random() < 0.04:
                        remark = _DISPUTES[int(rng.integers(len(_DISPUTES)))]
                cells += [_ANN_CLASS.get(key["category"], "食用农产品"), number, announced, task]
                if fail:
                    cells.append(s["lab"])
                cells.append(remark)
                table.append(cells)
                where.append({"sample": i, "announcement": number, "row": len(table), "remark": remark,
                              "disputed": bool(remark), "batch": batch, "named": named, "announced": announced,
                              "fail": fail})
            title = f"食品安全监督抽检{'不合格' if fail else '合格'}产品信息（{number}）"
            stem = f"{y}Q{q}_{'nonconforming' if fail else 'conforming'}"
            if as_csv:
                path = d / f"{stem}.csv"
                buf = io.StringIO()
                w = csv.writer(buf, lineterminator="\r\n")
                w.writerow(head)
                w.writerows(table)
                path.write_bytes(buf.getvalue().replace("║", "||").encode("gbk", errors="replace"))
            else:
                path = d / f"{stem}.xlsx"
                wb = openpyxl.Workbook(write_only=True)
                ws = wb.create_sheet("Sheet1")
                ws.append([title])
                ws.append(head)
                for r in table:
                    ws.append(r)
                wb.save(path)
                _fix_zip_times(path)
            files.append(f"announcements/{path.name}")
    by_year: dict[int, int] = {}
    for (y, _q), rows in by_q.items():
        by_year[y] = by_year.get(y, 0) + sum(1 for _i, s in rows if s["fail"])
    extra, n_extra = _write_failures_only(d, by_year, r_real, net.names, today)
    return files + extra, where, n_extra


def _as_written(name: str, number: str, row: int, individual: bool = False) -> str:
    """A business name as a clerk types it into an announcement (about one row in seven): a trailing space, a
    space inside, 有限责任公司 for 有限公司, full-width letters and digits. The same business, for the loader to
    merge (ontology.names); people's names (stall keepers, farmers) are left as they are. Decided by a hash of
    the row, not the generator's random draws, so the rest of the data stays as it was."""
    if individual:
        return name
    h = int(hashlib.sha256(f"{name}|{number}|{row}".encode()).hexdigest()[:8], 16) % 21
    if h == 0:
        return name + " "
    if h == 1 and len(name) > 4:
        return name[:2] + " " + name[2:]
    if h == 2 and name.endswith("有限公司") and "股份" not in name:
        return name[:-4] + "有限责任公司"
    if h == 3:
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name) + "\u3000"
    return name


#: a provincial re-publisher's failures-only tables: who, what and how (issue 17; ../shared/realdata/README.md)
_REPUBLISHER = "国内监督抽查(江苏省市场监督管理局)"
_ELSEWHERE = ("徐州", "盐城", "扬州", "泰州", "苏州", "无锡", "常州", "淮安", "宿迁", "连云港", "镇江", "南京",
              "临沂", "潍坊", "阜阳", "周口")
_FORMS = ("食品有限公司", "调味品有限公司", "粮油有限公司", "食品厂", "酿造有限公司", "豆制品厂", "食品有限责任公司")
#: (分类 cell, food name, failed item, result, limit, producer named): real kinds of failure, results as written
_FAILURES = (
    ("调味品/酱油", "黄豆酱油", "氨基酸态氮", "0.31g/100mL", "≥0.40g/100mL", True),
    ("调味品/食醋", "老陈醋", "总酸", "3.12g/100mL", "≥3.50g/100mL", True),
    ("食用油、油脂及其制品/食用植物油", "花生油", "黄曲霉毒素B1", "32.5μg/kg", "≤20μg/kg", True),
    ("食用油、油脂及其制品/食用植物油", "小磨香油", "苯并[a]芘", "/", "≤10μg/kg", True),
    ("粮食加工品/小麦粉", "小麦粉", "脱氧雪腐镰刀菌烯醇", "1510μg/kg", "≤1000μg/kg", True),
    ("淀粉及淀粉制品/淀粉制品", "粉条", "铝的残留量", "356mg/kg", "≤200mg/kg", True),
    ("糕点/糕点", "蛋糕", "菌落总数", "/", "/", True),
    ("豆制品/非发酵性豆制品", "豆腐干", "苯甲酸及其钠盐（以苯甲酸计）", "0.52g/kg", "不得使用", True),
    ("酒类/白酒", "白酒", "标签", "不合格", "/", True),
    ("食用农产品/蔬菜/芽菜类蔬菜", "黄豆芽", "6-苄基腺嘌呤", "13.2μg/kg", "不得使用", False),
    ("食用农产品/蔬菜/芽菜类蔬菜", "绿豆芽", "4-氯苯氧乙酸钠（以4-氯苯氧乙酸计）", "/", "不得检出", False),
    ("", "韭菜", "腐霉利", "0.35mg/kg", "≤0.2mg/kg", False),
    ("食品相关产品/洗涤剂/消毒剂", "手洗餐具用洗涤剂", "总活性物含量", "/", "/", True),
    ("食品相关产品/食品机械设备", "和面机", "接地措施", "/", "/", True),
)


def _write_failures_only(d: Path, by_year: dict[int, int], rng: np.random.Generator, names: dict,
                         today: date) -> tuple[list[str], int]:
    """One failures-only table a year from a provincial re-publisher, as real data has them: failures of
    producers elsewhere (most named once, a few again in later years), the sampled unit never given, loose
    produce without a producer, results and limits as text, a few food-related products (not food); no 合格
    table. Returns the files and the rows written."""
    head = ["序号", "标称生产企业名称", "标称生产企业地址", "被抽样单位名称", "被抽样单位所在省份", "食品名称", "规格型号", "商标",
            "生产日期/批号", "不合格项目║检验结果║标准值", "分类", "公告号", "公告日期", "任务来源/项目名称", "检验机构", "备注"]
    roots = names["firm_roots"]
    firms: list[str] = []
    files, total = [], 0
    for y, n_city in sorted(by_year.items()):
        n = max(4, n_city // 2)
        rows = []
        for i in range(n):
            f = _FAILURES[int(rng.integers(len(_FAILURES)))]
            if firms and rng.random() < 0.2:      # a producer seen before: a sparse history
                producer = firms[int(rng.integers(len(firms)))]
            else:
                producer = (_ELSEWHERE[int(rng.integers(len(_ELSEWHERE)))] + roots[int(rng.integers(len(roots)))]
                            + _FORMS[int(rng.integers(len(_FORMS)))])
                firms.append(producer)
            day = date(y, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
            announced = min(day + timedelta(days=int(rng.integers(20, 60))), today)
            # loose produce names no producer: the re-publisher then names the market stall it was taken at
            sampled = "" if f[5] else (f"{_ELSEWHERE[int(rng.integers(len(_ELSEWHERE)))]}市"
                                       f"{roots[int(rng.integers(len(roots)))]}农贸市场{int(rng.integers(1, 80))}号摊位")
            rows.append([i + 1, (producer + " ") if f[5] else "/", "/", sampled, "江苏" if rng.random() < .8 else "",
                         f[1], "/", "/", day.isoformat() if f[5] else "/", f"{f[2]}║{f[3]}║{f[4]}", f[0], "",
                         announced.isoformat(), _REPUBLISHER, "", ""])
        path = d / f"{y}_republished_nonconforming.csv"
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(head)
        w.writerows(rows)
        path.write_bytes(buf.getvalue().encode("utf-8-sig"))
        files.append(f"announcements/{path.name}")
        total += len(rows)
    return files, total


def _fix_zip_times(path: Path) -> None:
    """Rewrite an .xlsx with fixed member times and document properties, so the bytes depend on content only."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            if name == "docProps/core.xml":
                data = re.sub(rb"<dcterms:(created|modified)([^>]*)>[^<]*</dcterms:\1>",
                              rb"<dcterms:\1\2>2026-01-01T00:00:00Z</dcterms:\1>", data)
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


# -- truth -----------------------------------------------------------------------------------------

def _delivery_canon(net: Network, flow: Flow, ev: Events, i: int, ship: np.ndarray) -> dict:
    lot = int(flow.d_lot[i])
    s, r = int(flow.d_sender[i]), int(flow.d_receiver[i])
    lid = ev.canon_lot(net, flow, lot)
    tk = ev.d_ticket[i] or None
    t = str(ship[i]) + "+08:00"
    return {"id": delivery_id(lid, net.canon[s], net.canon[r], ticket=tk, time=None if tk else t),
            "lot": lid, "sender": net.canon[s], "receiver": net.canon[r], "ticket": tk, "time": t,
            "channel": "epcis" if ev.d_epcis[i] else "template", "index": i}


def _events_truth(net: Network, flow: Flow, ev: Events, start: date, majors: list[major_events.MajorEvent]) -> bytes:
    """``truth/events.json``: each major event with its kitchens, suppliers, period and the deliveries into its
    kitchens in its days (canonical ids, as the loaders compute them)."""
    body = []
    for m in majors:
        idx = np.asarray(m.deliveries, dtype=np.int64)
        ship = dict(zip(m.deliveries, _times(start, flow.d_ship[idx]).tolist()))
        dels = [_delivery_canon(net, flow, ev, i, ship) for i in m.deliveries]  # type: ignore[arg-type]
        body.append({"id": m.id, "name": m.name, "level": m.level, "start": m.start.isoformat(),
                     "end": m.end.isoformat(), "kitchens": [net.canon[x] for x in m.kitchens],
                     "suppliers": [net.canon[x] for x in m.suppliers],
                     "deliveries": sorted(d["id"] for d in dels), "lots": sorted({d["lot"] for d in dels})})
    return orjson.dumps({"events": body}, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def _write_truth(out: Path, net: Network, flow: Flow, ev: Events, start: date, rates: dict[str, float],
                 ann: list[dict]) -> tuple[list[str], dict[str, Any]]:
    d = out / "truth"
    d.mkdir(parents=True, exist_ok=True)
    ship = _times(start, flow.d_ship)
    ann_of = {a["sample"]: a for a in ann}
    planted = []
    school_ids = {net.canon[i] for i in range(net.n) if KINDS[int(net.kind[i])] == "SchoolCanteen"}
    for pl in ev.planted:
        lot = pl["lot"]
        samples = []
        for si in pl["samples"]:
            s = ev.samples[si]
            entry = {"plan": s["plan"], "sampled": net.canon[s["station"]], "date": s["date"],
                     "detected": bool(s["fail"]), "lot": ev.canon_lot(net, flow, s["lot"])}
            if s["plan"] == "supervisory":
                a = ann_of.get(si, {})
                entry.update(announcement=a.get("announcement"), announcement_row=a.get("row"))
            else:
                entry["sample_id"] = s["id"]
            samples.append(entry)
        dels = [_delivery_canon(net, flow, ev, int(i), ship) for i in pl["deliveries"].tolist()]
        planted.append({
            "lot": ev.canon_lot(net, flow, lot), "lot_number": ev.lot_number[lot],
            "product": net.catalogue[int(net.prod_key[int(flow.lot_product[lot])])]["name"],
            "category": pl["category"], "producer": net.canon[int(flow.lot_producer[lot])],
            "hazard": {"item": pl["item"], "class": pl["hazard_class"]},
            "time": str(_times(start, np.array([flow.lot_t[lot]]))[0]) + "+08:00",
            "spread": {"lots": sorted(ev.canon_lot(net, flow, int(x)) for x in pl["lots"].tolist()),
                       "deliveries": dels,
                       "operators": sorted(net.canon[int(x)] for x in pl["stations"].tolist())},
            # the school canteens its true spread delivered to: each must get a school alert once a sample fails
            "schools": sorted({d["receiver"] for d in dels} & school_ids),
            "samples": samples})
    (d / "planted.json").write_bytes(orjson.dumps({"planted": planted}, option=orjson.OPT_INDENT_2))

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["operator_id", "kind", "district", "latent_risk", "exposure", "samples", "nonconforming"])
    for i in range(net.n):
        w.writerow([net.canon[i], KINDS[int(net.kind[i])], net.districts[int(net.district[i])]["code"],
                    f"{net.latent[i]:.6f}", f"{ev.op_exposure[i]:.6f}", int(ev.op_samples[i]), int(ev.op_fails[i])])
    (d / "latent_risk.csv").write_text(buf.getvalue(), encoding="utf-8")

    # imperfections
    miss_cert = np.flatnonzero(ev.d_should_cert & ~ev.d_cert)
    miss_ticket = np.flatnonzero(np.array([not t for t in ev.d_ticket]))
    nolink_ops = np.flatnonzero(net.nolink)
    nolink_tr = np.flatnonzero(flow.tr_kind == T["nolink"])
    ins = flow.ti_role == 0
    first_in = {}
    for k in np.flatnonzero(ins).tolist():
        first_in.setdefault(int(flow.ti_tr[k]), []).append(int(flow.node_lot[flow.ti_node[k]]))
    first_out = {int(flow.ti_tr[k]): int(flow.node_lot[flow.ti_node[k]]) for k in np.flatnonzero(~ins).tolist()}
    unrecorded = [{"station": net.canon[int(flow.tr_station[t])], "own_lot": ev.canon_lot(net, flow, first_out[t]),
                   "contained": [ev.canon_lot(net, flow, x) for x in first_in[t]]}
                  for t in nolink_tr.tolist() if t in first_out]
    violations = []
    for v in ev.violations:
        x = {"type": v["type"], "station": net.canon[v["station"]]}
        if v["type"] == "illegal_slaughter":
            t = v["transformation"]
            x.update(time=str(_times(start, np.array([flow.tr_time[t]]))[0]) + "+08:00",
                     input_lots=[ev.canon_lot(net, flow, y) for y in first_in.get(t, [])],
                     output_lot=ev.canon_lot(net, flow, first_out[t]) if t in first_out else None,
                     heads_in=v["heads_in"], carcass_kg=v["carcass_kg"], max_plausible_kg=v["max_plausible_kg"])
        else:
            x.update(lot=ev.canon_lot(net, flow, v["lot"]), received=v["received"], shipped=v["shipped"])
        violations.append(x)
    n_should = int(ev.d_should_cert.sum())
    n_retail = len(ev.retail_lots)
    realised = {
        "missing_certificate": round(len(miss_cert) / max(n_should, 1), 6),
        "missing_ticket": round(len(miss_ticket) / max(flow.n_deliveries, 1), 6),
        "missing_trace_code": round(1 - len(ev.trace_code) / max(n_retail, 1), 6),
        "nolink_station": round(len(nolink_ops) / max(int(np.isin(net.kind, [K["Stall"], K["Distributor"]]).sum()), 1),
                                6),
        "planted": len(ev.planted),
    }
    imp = {
        "rates": {"configured": rates, "realised": realised},
        "denominators": {"deliveries": flow.n_deliveries, "deliveries_needing_certificate": n_should,
                         "retail_lots": n_retail},
        "missing_certificates": [_delivery_canon(net, flow, ev, int(i), ship) for i in miss_cert.tolist()],
        "missing_tickets": [_delivery_canon(net, flow, ev, int(i), ship) for i in miss_ticket.tolist()],
        "retail_lots_without_trace_code": sorted(ev.canon_lot(net, flow, int(x)) for x in ev.retail_lots.tolist()
                                                 if int(x) not in ev.trace_code),
        "stations_without_lot_links": [net.canon[int(i)] for i in nolink_ops.tolist()],
        "unrecorded_links": unrecorded,
        "mass_balance_violations": violations,
        "mass_balance_stations": sorted({net.canon[int(i)] for i in np.flatnonzero(net.violator | net.illegal)}),
    }
    (d / "imperfections.json").write_bytes(orjson.dumps(imp, option=orjson.OPT_INDENT_2))
    return ["truth/planted.json", "truth/latent_risk.csv", "truth/imperfections.json"], realised


def write_all(out: Path, net: Network, flow: Flow, ev: Events, rng: np.random.Generator, *, start: date, end: date,
              rates: dict[str, float], seed: int, scale: int,
              progress: Callable[[float], None]) -> tuple[dict[str, list[str]], dict[str, int], dict[str, Any]]:
    """Write every file; returns (files by group, counts per entity, realised rates)."""
    # a fourth child stream for the announcements' real-world untidiness: the first three stay as they were
    r_epcis, r_tpl, r_ann, r_real = (np.random.default_rng(s) for s in rng.bit_generator.seed_seq.spawn(4))
    # streams of their own for the handling of cases and complaints: the files above stay as they were
    r_complaints, r_cases = (np.random.default_rng(s) for s in rng.bit_generator.seed_seq.spawn(2))
    plan = handling.Plan()
    handling.plan_complaints(net, ev, r_complaints, start, end, plan)
    ids = _Ids(net, flow, ev)
    e_files, n_events = _write_epcis(out, net, flow, ev, ids, r_epcis, start, end, seed,
                                     lambda f: progress(0.6 * f))
    t_files, counts = _write_templates(out, net, flow, ev, ids, r_tpl, start)
    progress(0.85)
    a_files, ann, n_republished = _write_announcements(out, net, flow, ev, r_ann, start, end, r_real)
    handling.plan_cases(net, flow, ev, ann, r_cases, start, end, plan)
    t_files.append(_table(out, "disposal_cases", handling.case_rows(plan)))
    t_files.append(_table(out, "handling_steps", handling.step_rows(plan)))
    counts["disposal_case"] = len(plan.cases)
    counts["handling_step"] = len(plan.steps)
    progress(0.9)
    tr_files, realised = _write_truth(out, net, flow, ev, start, rates, ann)
    (out / "truth" / "handling.json").write_bytes(handling.truth(plan))
    tr_files += ["truth/handling.json"]
    # rural banquets from a stream of their own: every file above stays as it was
    b_rows, b_truth = banquets.plan(net, np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0]), start, end,
                                    scale)
    for kind in ("chefs", "banquets", "banquet_guidance", "banquet_census"):
        t_files.append(_table(out, kind, b_rows[kind]))
    counts["banquet"] = len(b_rows["banquets"])
    counts["chef"] = len(b_rows["chefs"])
    (out / "truth" / "banquets.json").write_bytes(b_truth)
    tr_files.append("truth/banquets.json")
    # 互联网+明厨亮灶 from a stream of its own, after the banquets' (every file above stays as it was)
    k_rows, canteens = kitchens.plan(net, np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0]), start, end)
    for kind in ("kitchen_cameras", "kitchen_days", "kitchen_problems"):
        t_files.append(_table(out, kind, k_rows[kind]))
    counts["kitchen_camera"] = len(k_rows["kitchen_cameras"])
    counts["kitchen_day"] = len(k_rows["kitchen_days"])
    counts["kitchen_problem"] = len(k_rows["kitchen_problems"])
    (out / "truth" / "kitchens.json").write_bytes(kitchens.truth(canteens, end))
    (out / "truth" / "indicators.json").write_bytes(indicators.truth(net, flow, ev, ann, plan, start, end, canteens))
    tr_files += ["truth/kitchens.json", "truth/indicators.json"]
    # major events from a stream of their own, after the kitchens'
    e_rows, majors = major_events.plan(net, flow, np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0]),
                                       start, end)
    t_files.append(_table(out, "major_events", e_rows))
    counts["major_event"] = len(e_rows)
    (out / "truth" / "events.json").write_bytes(_events_truth(net, flow, ev, start, majors))
    tr_files.append("truth/events.json")
    counts["epcis_event"] = n_events
    counts["delivery_epcis"] = int(ev.d_epcis.sum())
    counts["sample_announced"] = len(ann)
    counts["sample_republished"] = n_republished
    counts["planted"] = len(ev.planted)
    counts["region"] = len(net.districts)
    counts = dict(sorted(counts.items()))
    files = {"epcis": e_files, "templates": t_files, "announcements": a_files, "truth": tr_files}
    return files, counts, realised
