"""Chain completeness on a small hand-made network with known gaps."""

import json
from dataclasses import asdict
import random

import pytest

from graph.store import open_store
from graph.view import ReadView
from ontology.records import Certificate, Delivery, Event, Lot, Operator, Product, Retraction, TraceCode
from reasoning.chain import chain_completeness, chain_report

OPS = [
    dict(id="farm", kind="CropFarm", name="如东某某蔬菜基地", region_id="R_RD", parent_id=None),
    dict(id="pig", kind="Farm", name="如皋某某养殖场", region_id="R_RG", parent_id=None),
    dict(id="wm", kind="WholesaleMarket", name="南通某某批发市场", region_id="R_CC", parent_id=None),
    dict(id="fm", kind="FarmersMarket", name="某某农贸市场", region_id="R_TZ", parent_id=None),
    dict(id="st1", kind="Stall", name="1号摊位", region_id=None, parent_id="fm"),
    dict(id="sup", kind="Supermarket", name="某某超市", region_id="R_CC", parent_id=None),
    dict(id="rest", kind="Restaurant", name="某某饭店", region_id="R_CC", parent_id=None),
]
PRODUCTS = [dict(id="veg", category="leafy_vegetable"), dict(id="pork", category="pork")]
LOTS = [dict(id="L1", product_id="veg"), dict(id="L2", product_id="pork"), dict(id="L3", product_id="veg")]
DELIVERIES = [
    # farm -> wholesale market: certificate on the delivery, ticket
    dict(id="d1", lot_id="L1", sender_id="farm", receiver_id="wm", ticket_id="t1", certificate_id="c1"),
    # wholesale -> stall of a farmers' market: no certificate on the delivery, but the lot has one (L1)
    dict(id="d2", lot_id="L1", sender_id="wm", receiver_id="st1", ticket_id=None, certificate_id=None),
    # pig farm -> wholesale market: no certificate at all, ticket present
    dict(id="d3", lot_id="L2", sender_id="pig", receiver_id="wm", ticket_id="t3", certificate_id=None),
    # wholesale -> supermarket (retail, not a market entry)
    dict(id="d4", lot_id="L2", sender_id="wm", receiver_id="sup", ticket_id="t4", certificate_id=None),
    # supermarket -> restaurant (neither market nor retail)
    dict(id="d5", lot_id="L3", sender_id="sup", receiver_id="rest", ticket_id=None, certificate_id=None),
]


def report():
    return chain_completeness(operators=OPS, lots=LOTS, products=PRODUCTS, deliveries=DELIVERIES,
                              certified_lots=["L1"], coded_lots=["L1"])


def row(rep, dim, key):
    (r,) = [r for r in rep.rows if r.dimension == dim and r.key == key]
    return r


def test_market_rows_roll_stalls_up_to_their_market():
    rep = report()
    wm, fm = row(rep, "market", "wm"), row(rep, "market", "fm")
    assert (wm.market_entries, wm.with_certificate, wm.certificate_share) == (2, 1, 0.5)
    assert (fm.market_entries, fm.with_certificate, fm.deliveries, fm.with_ticket) == (1, 1, 1, 0)
    assert (fm.retail_lots, fm.with_trace_code) == (1, 1)
    assert fm.name == "某某农贸市场"


def test_district_and_category_rows():
    rep = report()
    cc = row(rep, "district", "R_CC")  # wm, sup and rest are in R_CC
    assert (cc.deliveries, cc.with_ticket, cc.market_entries, cc.retail_lots, cc.with_trace_code) == (4, 3, 2, 1, 0)
    tz = row(rep, "district", "R_TZ")  # the stall inherits its market's district
    assert (tz.deliveries, tz.retail_lots) == (1, 1)
    veg = row(rep, "category", "leafy_vegetable")
    assert (veg.deliveries, veg.with_ticket, veg.market_entries, veg.with_certificate) == (3, 1, 2, 2)


def test_totals_and_gaps_by_id():
    rep = report()
    t = rep.totals
    assert (t.deliveries, t.with_ticket, t.market_entries, t.with_certificate, t.retail_lots, t.with_trace_code) == (
        5, 3, 3, 2, 2, 1)
    assert sorted((g.kind, g.id) for g in rep.gaps) == [
        ("certificate", "d3"), ("ticket", "d2"), ("ticket", "d5"), ("trace_code", "L2")]


def test_empty_network():
    rep = chain_completeness(operators=[], lots=[], products=[], deliveries=[], certified_lots=[], coded_lots=[])
    assert rep.rows == [] and rep.gaps == [] and rep.totals.ticket_share is None


# -- the store's report, page by page, against a brute-force count -------------------------------------

def _oracle(ops, lots, prods, dels, certified, coded):
    """Chain completeness counted one delivery at a time, straight from the definitions."""
    by_id = {o["id"]: o for o in ops}
    cat = {p["id"]: p["category"] for p in prods}
    lot_cat = {x["id"]: cat.get(x["product_id"]) for x in lots}

    def market(op):
        o = by_id.get(op)
        if o is None:
            return None
        if o["kind"] in ("WholesaleMarket", "FarmersMarket"):
            return op
        p = by_id.get(o["parent_id"])
        return o["parent_id"] if p is not None and p["kind"] in ("WholesaleMarket", "FarmersMarket") else None

    def district(op):
        o = by_id.get(op)
        if o is None:
            return None
        if o["region_id"] is None and o["parent_id"] is not None:
            return (by_id.get(o["parent_id"]) or {}).get("region_id")
        return o["region_id"]

    counts, totals, gaps, seen = {}, [0, 0, 0, 0, 0, 0], [], set()
    cert_gaps, ticket_gaps, code_gaps, gapped = [], [], [], set()
    for d in dels:
        m, dist, c = market(d["receiver_id"]), district(d["receiver_id"]), lot_cat.get(d["lot_id"])
        has_cert = d["certificate_id"] is not None or d["lot_id"] in certified
        has_ticket = d["ticket_id"] is not None
        keys = [("market", m), ("district", dist), ("category", c)]
        for k in keys:
            if k[1] is not None:
                row = counts.setdefault(k, [0, 0, 0, 0, 0, 0])
                row[2] += 1
                row[3] += has_ticket
                if m is not None:
                    row[0] += 1
                    row[1] += has_cert
        totals[2] += 1
        totals[3] += has_ticket
        if m is not None:
            totals[0] += 1
            totals[1] += has_cert
            if not has_cert:
                cert_gaps.append(("certificate", d["id"], d["lot_id"], m, dist, c))
        if not has_ticket:
            ticket_gaps.append(("ticket", d["id"], d["lot_id"], m, dist, c))
        kind = (by_id.get(d["receiver_id"]) or {}).get("kind")
        if kind in ("Stall", "Supermarket", "FarmersMarket", "Vendor") and (d["lot_id"], d["receiver_id"]) not in seen:
            seen.add((d["lot_id"], d["receiver_id"]))
            has_code = d["lot_id"] in coded
            totals[4] += 1
            totals[5] += has_code
            for k in keys:
                if k[1] is not None:
                    row = counts.setdefault(k, [0, 0, 0, 0, 0, 0])
                    row[4] += 1
                    row[5] += has_code
            if not has_code and d["lot_id"] not in gapped:
                gapped.add(d["lot_id"])
                code_gaps.append(("trace_code", d["lot_id"], d["lot_id"], m, dist, c))
    return counts, totals, cert_gaps + ticket_gaps + code_gaps


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_the_stores_report_page_by_page_is_the_brute_force_count(tmp_path, seed):
    """Random networks (stalls under markets, retractions, codes on deliveries and as records, lots with
    certificates, unknown receivers): chain_report in pages of 1, 7 or all is the one-by-one count."""
    rng = random.Random(seed)
    kinds = ["Farm", "WholesaleMarket", "FarmersMarket", "Stall", "Supermarket", "Restaurant", "Vendor"]
    ops = []
    for i in range(14):
        k = rng.choice(kinds)
        parent = rng.choice([o.id for o in ops if o.kind in ("WholesaleMarket", "FarmersMarket")] or [None]) \
            if k == "Stall" else None
        ops.append(Operator(id=f"op{i}", kind=k, name=f"主体{i}", parent_id=parent,
                            region_id=rng.choice([None, "urn:foodtrace:region:320602", "urn:foodtrace:region:320623"])))
    prods = [Product(id=f"p{i}", name=f"产品{i}", category=c) for i, c in enumerate(["pork", "egg", None])]
    lots = [Lot(id=f"lot{i}", product_id=f"p{rng.randrange(3)}") for i in range(25)]
    dels = [Delivery(id=f"d{i:03d}", lot_id=f"lot{rng.randrange(27)}", sender_id=f"op{rng.randrange(14)}",
                     receiver_id=f"op{rng.randrange(16)}", time="2026-03-01T08:00:00+08:00",
                     ticket_id=f"t{i}" if rng.random() < .6 else None,
                     certificate_id=f"c{i}" if rng.random() < .3 else None,
                     trace_code=f"TC{i}" if rng.random() < .1 else None,
                     event_id=f"e{i % 9}" if rng.random() < .5 else None)
            for i in range(240)]
    certs = [Certificate(id=f"cert{i}", lot_id=f"lot{i}", kind="合格证") for i in range(0, 25, 4)]
    codes = [TraceCode(id=f"tc{i}", lot_id=f"lot{i}", code=f"C{i}") for i in range(1, 25, 5)]
    events = [Event(id=f"e{i}", hash=f"h{i}", type="ObjectEvent", time="2026-03-01T08:00:00+08:00") for i in range(9)]
    retractions = [Retraction(id="r2", event_id="e2", declared="2026-03-02T08:00:00+08:00", reason="incorrect_data")]
    store = open_store(str(tmp_path / "s.db"))
    store.write([*ops, *prods, *lots, *dels, *certs, *codes, *events, *retractions])
    live = [asdict(d) for d in dels if d.event_id != "e2"]
    coded = {d["lot_id"] for d in live if d["trace_code"]} | {c.lot_id for c in codes}
    counts, totals, gaps = _oracle([asdict(o) for o in ops], [asdict(x) for x in lots], [asdict(p) for p in prods],
                                   live, {c.lot_id for c in certs}, coded)
    for page in (1, 7, 10_000):
        rep = chain_report(ReadView(store), page=page)
        got = {(r.dimension, r.key): [r.market_entries, r.with_certificate, r.deliveries, r.with_ticket,
                                      r.retail_lots, r.with_trace_code] for r in rep.rows}
        assert got == counts, page
        t = rep.totals
        assert [t.market_entries, t.with_certificate, t.deliveries, t.with_ticket, t.retail_lots,
                t.with_trace_code] == totals
        assert [(g.kind, g.id, g.lot_id, g.market, g.district, g.category) for g in rep.gaps] == gaps
    store.close()


def test_a_gap_outside_any_market_names_no_market_in_strict_json():
    """A ticket gap of a delivery to a restaurant has market None (it was NaN, which strict JSON refuses)."""
    gap = next(g for g in report().gaps if g.id == "d5")
    assert gap.market is None and gap.district == "R_CC"
    json.dumps([g.__dict__ for g in report().gaps], allow_nan=False)
