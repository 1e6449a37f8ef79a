"""A placeholder never replaces a known value, in any order of files, on every backend (issue 18).

The operators and products templates say what the stall, the canteen and the product are; an EPCIS
document's master data names the same locations without a kind or a name and with a district and a
category the vocabulary does not know. Loaded in one call or two, either first, the kinds, names,
districts and categories are the templates'.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loaders.load import load_files
from ontology.identifiers import gs1_check_digit

_STALL = "690123400010"
_CANTEEN = "690123400020"
STALL = _STALL + str(gs1_check_digit(_STALL))
CANTEEN = _CANTEEN + str(gs1_check_digit(_CANTEEN))
GTIN = "06901234567892"
DL = "https://id.gs1.org"

EXPECTED = {
    f"{DL}/414/{STALL}": ("Stall", "崇川区张记猪肉摊", "urn:foodtrace:region:320602"),
    f"{DL}/414/{CANTEEN}": ("SchoolCanteen", "南通市某某小学食堂", "urn:foodtrace:region:320612"),
}


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    ops = tmp_path / "operators.csv"
    ops.write_text("名称,主体类型,全球位置码,所属区县,主营类别\n"
                   f"崇川区张记猪肉摊,摊位,{STALL},崇川区,猪肉\n"
                   f"南通市某某小学食堂,学校食堂,{CANTEEN},通州区,\n", encoding="utf-8")
    products = tmp_path / "products.csv"
    products.write_text(f"产品名称,商品条码,食品类别\n冷鲜猪肉,{GTIN},猪肉\n", encoding="utf-8")
    location = lambda gln: {"id": f"{DL}/414/{gln}", "attributes": [  # noqa: E731 - no kind, no name
        {"id": "urn:epcglobal:cbv:mda#streetAddressOne", "attribute": "某路1号"},
        {"id": "district", "attribute": "南京市玄武区"}]}
    doc = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
           "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-01T09:00:00+08:00",
           "epcisHeader": {"epcisMasterData": {"vocabularyList": [
               {"type": "urn:epcglobal:epcis:vtype:BusinessLocation",
                "vocabularyElementList": [location(STALL), location(CANTEEN)]},
               {"type": "urn:epcglobal:epcis:vtype:EPCClass", "vocabularyElementList": [
                   {"id": f"urn:epc:idpat:sgtin:6901234.056789.*",
                    "attributes": [{"id": "urn:epcglobal:cbv:mda#category", "attribute": "未分类货品"}]}]}]}},
           "epcisBody": {"eventList": [{
               "type": "ObjectEvent", "eventTime": "2026-03-01T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
               "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
               "quantityList": [{"epcClass": "urn:epc:class:lgtin:6901234.056789.L1", "quantity": 5, "uom": "KGM"}],
               "bizLocation": {"id": f"{DL}/414/{STALL}"},
               "sourceList": [{"type": "location", "source": f"{DL}/414/{STALL}"}],
               "destinationList": [{"type": "location", "destination": f"{DL}/414/{CANTEEN}"}]}]}}
    epcis = tmp_path / "shipping.jsonld"
    epcis.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return ops, products, epcis


@pytest.mark.parametrize("order", ["one call", "one call, EPCIS named first", "templates first", "EPCIS first"])
def test_template_values_survive_epcis_placeholders_in_any_order(store, tmp_path, order):
    ops, products, epcis = _files(tmp_path)
    if order == "one call":
        calls = [[ops, products, epcis]]
    elif order == "one call, EPCIS named first":
        calls = [[epcis, ops, products]]
    elif order == "templates first":
        calls = [[ops, products], [epcis]]
    else:
        calls = [[epcis], [ops, products]]
    for files in calls:
        outcomes = load_files(store, files)
        assert all(o.error is None and not o.rejects for o in outcomes), [(o.path, o.error, o.rejects) for o in outcomes]
    for oid, (kind, name, region) in EXPECTED.items():
        op = store.get("operator", oid)
        assert (op.kind, op.name, op.region_id) == (kind, name, region)
        assert op.placeholders is None
    assert store.get("operator", f"{DL}/414/{STALL}").category == "pork"
    product = store.get("product", f"{DL}/01/{GTIN}")
    assert (product.name, product.category, product.placeholders) == ("冷鲜猪肉", "pork", None)
    assert store.counts()["delivery"] == 1


def test_epcis_alone_keeps_its_placeholders_marked(store, tmp_path):
    _, _, epcis = _files(tmp_path)
    load_files(store, [epcis])
    op = store.get("operator", f"{DL}/414/{STALL}")
    assert (op.kind, op.name, op.region_id) == ("Operator", STALL, "南京市玄武区")
    assert op.placeholders == "kind name region_id"
    product = store.get("product", f"{DL}/01/{GTIN}")
    assert (product.name, product.category, product.placeholders) == (GTIN, "未分类货品", "name category")


@pytest.mark.parametrize("deliveries_first", [True, False])
def test_a_template_stub_never_replaces_the_operators_template(store, tmp_path, deliveries_first):
    """A deliveries row naming an operator nobody described yet makes a stub (kind Operator, its GLN as
    name); loaded before or after, the operators template's kind and name stay."""
    ops, products, _ = _files(tmp_path)
    deliveries = tmp_path / "deliveries.csv"
    deliveries.write_text("产品,批号,发货方,收货方,发货时间,数量,单位\n"
                          f"{GTIN},L9,{STALL},{CANTEEN},2026-03-02 08:00,3,千克\n", encoding="utf-8")
    calls = [[deliveries], [ops, products]] if deliveries_first else [[ops, products], [deliveries]]
    for files in calls:
        load_files(store, files)
    for oid, (kind, name, region) in EXPECTED.items():
        op = store.get("operator", oid)
        assert (op.kind, op.name, op.region_id, op.placeholders) == (kind, name, region, None)
