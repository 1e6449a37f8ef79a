"""Chain completeness on a small hand-made network with known gaps."""

from reasoning.chain import chain_completeness

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
