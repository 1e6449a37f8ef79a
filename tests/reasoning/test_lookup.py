"""The public lot lookup on the hand-made chain of tests/api/service/dataset.py (both store backends)."""

from __future__ import annotations

import pytest

from graph.view import ReadView
from ontology import identifiers as I
from ontology.errors import LotNotFound, NotFound
from ontology.records import Alias, Certificate, Delivery, Lot, Operator, Product, Sample, TestResult, TraceCode
from reasoning import lookup
from reasoning.lookup import code_lot, is_individual, masked_name, public_code, public_lot
from tests.api.service import dataset as D

SLAUGHTER = {"id": D.SLAUGHTER, "name": "南通肉联厂有限公司", "name_en": None, "kind": "Slaughterhouse",
             "kind_zh": "屠宰场", "kind_en": "Slaughterhouse", "individual": False, "region": None, "within": None}
WHOLESALE = {"id": D.WHOLESALE, "name": "南通农副产品物流中心", "name_en": None, "kind": "WholesaleMarket",
             "kind_zh": "批发市场", "kind_en": "Wholesale market", "individual": False, "region": None, "within": None}
RESTAURANT = {"id": D.RESTAURANT, "name": "何记饭店", "name_en": None, "kind": "Restaurant", "kind_zh": "餐饮",
              "kind_en": "Catering", "individual": False, "region": None, "within": None}
RUDONG = {"zh": "如东县", "en": "Rudong County"}
FARMER = {"name": "王**", "name_en": "王**", "kind": "Farm", "kind_zh": "个体养殖户",
          "kind_en": "Individual livestock farmer", "individual": True, "region": RUDONG, "within": None}
STALL = {"name": "李**", "name_en": "李**", "kind": "Stall", "kind_zh": "个体摊主", "kind_en": "Individual stall keeper",
         "individual": True, "region": None, "within": {"name": "城东农贸市场", "name_en": None}}
GROWER = {"name": "张**", "name_en": "张**", "kind": "Farm", "kind_zh": "个体种植户", "kind_en": "Individual grower",
          "individual": True, "region": None, "within": None}


ANOTHER_STALL = {"name": None, "name_en": None, "kind": "Stall", "kind_zh": "其他摊位", "kind_en": "another stall",
                 "individual": None, "region": None, "within": None}


def _delivery(step, zh, en, time, lot, product, sender, receiver, cert, ticket):
    return {"type": "delivery", "step": step, "label_zh": zh, "label_en": en, "time": time, "date": time[:10],
            "lot_id": lot, "product": product, "upstream": lot != D.PORK_LOT and lot != D.GREENS_LOT,
            "from": sender, "to": receiver, "certificate": cert, "ticket": ticket}


FARM_OUT = _delivery("farm_dispatch", "出栏", "Leaves the farm", "2026-10-31T20:00:00+08:00", D.PIG_LOT, "生猪",
                     FARMER, SLAUGHTER, True, False)
SLAUGHTER_STEP = {"type": "transformation", "step": "slaughter", "label_zh": "屠宰", "label_en": "Slaughter",
                  "time": "2026-11-01T05:00:00+08:00", "date": "2026-11-01", "at": SLAUGHTER, "inputs": ["生猪"],
                  "outputs": ["冷鲜猪肉"]}
PLANT_OUT = _delivery("dispatch", "出厂", "Dispatched from the plant", "2026-11-01T08:00:00+08:00", D.PORK_LOT,
                      "冷鲜猪肉", SLAUGHTER, WHOLESALE, True, True)
WHOLESALE_OUT = _delivery("wholesale", "批发", "Wholesale", "2026-11-02T04:30:00+08:00", D.PORK_LOT, "冷鲜猪肉",
                          WHOLESALE, STALL, False, False)
STALL_OUT = _delivery("retail", "零售", "Retail", "2026-11-02T09:00:00+08:00", D.PORK_LOT, "冷鲜猪肉", STALL,
                      RESTAURANT, False, False)

PORK = {
    "id": D.PORK_LOT, "code": None, "serial": None,
    "product": {"id": I.product_id(gtin=D.PORK_GTIN), "name": "冷鲜猪肉", "name_en": "chilled pork",
                "gtin": D.PORK_GTIN, "category": {"code": "pork", "zh": "猪肉", "en": "Pork"}, "brand": None,
                "spec": None},
    "lot": {"id": D.PORK_LOT, "lot_number": "P20261101", "production_date": "2026-11-01",
            "expiry_date": "2026-11-08"},
    "origin": {"region": RUDONG, "producer": SLAUGHTER, "sources": [FARMER]},
    "certificates": [
        {"kind": "meat_quality", "kind_zh": "肉品品质检验合格证", "kind_en": "Meat quality certificate",
         "number": "MQ-20261101-01", "issuer": "南通肉联厂有限公司", "issued": "2026-11-01", "valid_until": None,
         "lot_id": D.PORK_LOT, "product": "冷鲜猪肉", "upstream": False},
        {"kind": "animal_quarantine", "kind_zh": "动物检疫合格证明", "kind_en": "Animal quarantine certificate",
         "number": "3206001101", "issuer": "如东县动物卫生监督所", "issued": "2026-10-31", "valid_until": None,
         "lot_id": D.PIG_LOT, "product": "生猪", "upstream": True},
    ],
    # looked up without a trace code: the way up to the retail level; the stall and its customer only counted
    "chain": [FARM_OUT, SLAUGHTER_STEP, PLANT_OUT],
    "chain_omitted": 0,
    "sold_on": {"deliveries": 2, "buyers": 2, "by_kind": [
        {"kind": "Restaurant", "kind_zh": "餐饮", "kind_en": "Catering", "count": 1},
        {"kind": "Stall", "kind_zh": "摊位", "kind_en": "Stall", "count": 1}]},
    "samples": [
        {"plan": "rapid", "plan_zh": "快检", "plan_en": "Rapid test", "product": "猪肉", "lot_id": D.PORK_LOT,
         "upstream": False, "sampled_at": "2026-11-02", "sampled_from": ANOTHER_STALL, "conclusion": "conforming",
         "conclusion_zh": "合格", "conclusion_en": "Conforming", "announcement": None, "announced": None, "lab": None,
         "disputed": False,
         "items": [{"item": "瘦肉精（克伦特罗）", "hazard_class": "illegal_additive", "hazard_zh": "非法添加",
                    "hazard_en": "Illegal adulterant", "value": None, "value_text": None, "unit": None, "limit": None,
                    "limit_text": None, "conclusion": "conforming", "conclusion_zh": "合格",
                    "conclusion_en": "Conforming"}]},
    ],
    "notices": [],
}

GREENS_NOTICE = {
    "kind": "nonconformity", "title_zh": "不合格通报", "title_en": "Nonconformity notice", "plan": "supervisory",
    "plan_zh": "监督抽检", "plan_en": "Supervisory sampling", "lot_id": D.GREENS_LOT, "product": "青菜",
    "upstream": False, "sampled_at": "2026-11-06", "announcement": "南通市市场监管局2026年第45期",
    "announced": "2026-11-20", "items": ["毒死蜱"],
    "disposal": {"status": "done", "due": "2026-11-30", "done": "2026-11-24", "zh": "已完成核查处置（2026-11-24）",
                 "en": "Verified and dealt with (2026-11-24)"},
}


@pytest.fixture
def view(store):
    store.write(D.records())
    return ReadView(store)


def test_pork_lot_exact(view):
    assert public_lot(view, D.PORK_LOT) == PORK


def test_trace_code_shows_the_way_to_the_stall(view):
    out = public_code(view, D.PORK_TRACE_CODE)
    # scanned at the stall: the way to it, the stall named (masked: a person), its customer only counted
    sample = {**PORK["samples"][0], "sampled_from": STALL}
    assert out == {**PORK, "code": D.PORK_TRACE_CODE, "chain": [FARM_OUT, SLAUGHTER_STEP, PLANT_OUT, WHOLESALE_OUT],
                   "sold_on": {"deliveries": 1, "buyers": 1, "by_kind": [PORK["sold_on"]["by_kind"][0]]},
                   "samples": [sample]}
    assert STALL_OUT not in out["chain"]
    assert code_lot(view, f"  {D.PORK_TRACE_CODE} ") == D.PORK_LOT


def test_greens_notice_and_masked_issuer(view):
    out = public_code(view, D.GREENS_TRACE_CODE)
    assert out["notices"] == [GREENS_NOTICE]
    assert out["origin"] == {"region": {"zh": "海门区", "en": "Haimen District"}, "producer": GROWER, "sources": []}
    assert [(c["kind_zh"], c["number"], c["issuer"]) for c in out["certificates"]] == [
        ("承诺达标合格证", "HG-1105", "张**")]
    assert [(s["label_zh"], s["from"], s["to"]) for s in out["chain"]] == [("采收", GROWER, STALL)]
    sample = out["samples"][0]
    assert (sample["plan"], sample["conclusion"], sample["announcement"], sample["items"][0]["value"],
            sample["items"][0]["limit"]) == ("supervisory", "nonconforming", "南通市市场监管局2026年第45期", 0.12, 0.1)


def test_nothing_private(view):
    for lot_id in (D.PORK_LOT, D.PIG_LOT, D.GREENS_LOT):
        text = repr(public_lot(view, lot_id))
        for private in D.PRIVATE_STRINGS + (D.FARMER_NAME, D.STALL_KEEPER, "张三", "赵经理", "13700001111",
                                            "南通市如东县马塘镇", "A1320600001", "恩诺沙星", "monitoring",
                                            D.FARM, D.STALL, D.BASE):
            assert private not in text, (lot_id, private)


def test_unknown_lot_and_code(view):
    with pytest.raises(LotNotFound, match="no lot has the identifier"):
        public_lot(view, I.lot_id(lot_number="NOPE", gtin=D.PORK_GTIN))
    with pytest.raises(NotFound, match="no trace code 'NOPE' is known"):
        public_code(view, "NOPE")
    with pytest.raises(NotFound):
        public_code(view, "   ")
    with pytest.raises(NotFound):
        public_code(view, "x" * 500)


def test_alias_resolves(view, store):
    store.write([Alias(id="urn:epc:class:lgtin:6901234.056789.P20261101", canonical_id=D.PORK_LOT, entity="lot",
                       scheme="epc_urn")])
    assert public_lot(view, "urn:epc:class:lgtin:6901234.056789.P20261101")["id"] == D.PORK_LOT
    assert public_code(view, "urn:epc:class:lgtin:6901234.056789.P20261101")["chain"] == PORK["chain"]


def test_which_samples_are_public(view, store):
    """Unannounced supervisory samples and risk monitoring stay internal; a disputed failure is listed, no notice;
    a lot-less announcement matches by batch = lot number and the named producer."""
    base = dict(sampled_id=D.STALL, product_name="猪肉", category="pork")
    store.write([
        Sample(id="s-unannounced", plan="supervisory", lot_id=D.PORK_LOT, sampled_at="2026-11-03",
               conclusion="nonconforming", **base),
        Sample(id="s-disputed", plan="supervisory", lot_id=D.PORK_LOT, sampled_at="2026-11-04", announced="2026-11-28",
               announcement="第46期", conclusion="nonconforming", disputed=True, **base),
        TestResult(id="s-disputed:1", sample_id="s-disputed", item="恩诺沙星", conclusion="nonconforming"),
        Sample(id="s-batch", plan="supervisory", producer_id=D.SLAUGHTER, batch="P20261101", sampled_at="2026-11-05",
               announced="2026-11-29", announcement="第47期", conclusion="nonconforming", disposal_due="2026-12-10",
               **{**base, "sampled_id": D.RESTAURANT}),
        TestResult(id="s-batch:1", sample_id="s-batch", item="挥发性盐基氮", conclusion="nonconforming"),
        Sample(id="s-other", plan="supervisory", producer_id=D.BASE, batch="P20261101", sampled_at="2026-11-06",
               announced="2026-11-29", conclusion="nonconforming", **{**base, "sampled_id": "elsewhere"}),
    ])
    out = public_lot(view, D.PORK_LOT)
    assert [(s["plan"], s["sampled_at"], s["disputed"], s["conclusion"]) for s in out["samples"]] == [
        ("supervisory", "2026-11-05", False, "nonconforming"), ("supervisory", "2026-11-04", True, "nonconforming"),
        ("rapid", "2026-11-02", False, "conforming")]
    assert [(n["announcement"], n["items"], n["disposal"]["status"], n["disposal"]["zh"]) for n in out["notices"]] == [
        ("第47期", ["挥发性盐基氮"], "in_progress", "核查处置中（期限 2026-12-10）")]


def test_upstream_notice(view, store):
    store.write([Sample(id="s-pig", plan="rapid", sampled_id=D.SLAUGHTER, product_name="生猪", lot_id=D.PIG_LOT,
                        sampled_at="2026-10-31", conclusion="nonconforming"),
                 TestResult(id="s-pig:1", sample_id="s-pig", item="莱克多巴胺", conclusion="nonconforming")])
    notices = public_lot(view, D.PORK_LOT)["notices"]
    assert [(n["lot_id"], n["product"], n["upstream"], n["plan_zh"], n["items"], n["disposal"]["zh"])
            for n in notices] == [(D.PIG_LOT, "生猪", True, "快检", ["莱克多巴胺"], "核查处置中")]


def test_long_chain_is_bounded(store):
    ops = [Operator(id="w", kind="WholesaleMarket", name="批发市场")] + [
        Operator(id=f"s{i}", kind="Distributor", name=f"超市{i}") for i in range(45)]
    recs = ops + [Product(id="p", name="大米", category="grain"), Lot(id="l", product_id="p", lot_number="R1")] + [
        Delivery(id=f"d{i:02d}", lot_id="l", sender_id="w", receiver_id=f"s{i}",
                 time=f"2026-03-01T{i // 4:02d}:{i % 4 * 10:02d}:00+08:00", quantity=1, unit="KGM") for i in range(45)]
    store.write(recs)
    out = public_lot(ReadView(store), "l")
    assert out["chain_omitted"] == 5 and len(out["chain"]) == lookup.MAX_STEPS == 40
    # the first 40 in time order are shown (the way from the origin), the 5 latest counted
    assert out["chain"][0]["to"]["name"] == "超市0" and out["chain"][-1]["to"]["name"] == "超市39"
    assert out["origin"] == {"region": None, "producer": None, "sources": []}


def test_masking_rules():
    assert is_individual(Operator(id="a", kind="Vendor", name="老王烧饼"))
    assert not is_individual(Operator(id="a", kind="Supermarket", name="文峰超市"))
    assert masked_name(Operator(id="a", kind="Stall", name="李四鲜肉摊", contact="李四")) == "李**"
    assert masked_name(Operator(id="a", kind="Stall", name="如东县某摊", contact="Li Si")) == "***"
    assert masked_name(Operator(id="a", kind="Farm", name="司马光养殖场")) == "司马**"


def test_issuer_naming_an_individual_is_masked(store):
    store.write([Operator(id="f", kind="Farm", name="王大伯生猪养殖场", individual=True, contact="王大伯"),
                 Product(id="p", name="生猪", category="live_pig"),
                 Lot(id="l", product_id="p", lot_number="X", producer_id="f"),
                 Certificate(id="c", kind="compliance_commitment", number="N1", issuer="王大伯", holder_id="f",
                             lot_id="l")])
    out = public_lot(ReadView(store), "l")
    assert [c["issuer"] for c in out["certificates"]] == ["王**"]
    assert "王大伯" not in repr(out)


def test_retail_buyers_are_counted_not_named(store):
    """A wholesale market's 45 supermarket customers: none named, all counted; scanned at one, only that one."""
    ops = [Operator(id="w", kind="WholesaleMarket", name="批发市场")] + [
        Operator(id=f"s{i}", kind="Supermarket", name=f"超市{i}") for i in range(45)]
    recs = ops + [Product(id="p", name="大米", category="grain"), Lot(id="l", product_id="p", lot_number="R1")] + [
        Delivery(id=f"d{i:02d}", lot_id="l", sender_id="w", receiver_id=f"s{i}", trace_code=f"code-{i}",
                 time=f"2026-03-01T{i // 4:02d}:{i % 4 * 10:02d}:00+08:00", quantity=1, unit="KGM") for i in range(45)]
    store.write(recs)
    out = public_lot(ReadView(store), "l")
    assert out["chain"] == [] and not any(f"超市{i}" in repr(out) for i in range(45))
    assert out["sold_on"] == {"deliveries": 45, "buyers": 45, "by_kind": [
        {"kind": "Supermarket", "kind_zh": "超市", "kind_en": "Supermarket", "count": 45}]}
    store.write([TraceCode(id="tc7", code="code-7", lot_id="l")])
    out = public_code(ReadView(store), "code-7")
    assert [c["to"]["name"] for c in out["chain"]] == ["超市7"] and out["sold_on"]["buyers"] == 44
    assert "超市1" not in repr(out).replace("超市7", "")


def _buyers_named(view, out: dict, lot_id: str, shop: str | None) -> list[str]:
    """Names and ids of the lot's buyers at the retail level (and their buyers) that the answer shows, other
    than the scanned shop."""
    from reasoning.lookup import is_retail_level

    deliveries = view.deliveries(lot_ids=[lot_id])
    ops = view.get_many("operator", {x for d in deliveries for x in (d.sender_id, d.receiver_id)})
    text = repr(out)
    found = []
    for d in deliveries:
        r = d.receiver_id
        if r == shop:
            continue
        retail = is_retail_level(getattr(ops.get(r), "kind", None)) or is_retail_level(
            getattr(ops.get(d.sender_id), "kind", None))
        if not retail:
            continue
        op = ops.get(r)
        for form in (r, getattr(op, "name", None)):
            if form and form in text:
                found.append(form)
    return found


def test_no_public_answer_names_a_buyer_other_than_the_scanned_shop(view, store):
    for lot_id in (D.PORK_LOT, D.PIG_LOT, D.GREENS_LOT):
        assert _buyers_named(view, public_lot(view, lot_id), lot_id, None) == []
    for code in (D.PORK_TRACE_CODE, D.GREENS_TRACE_CODE):
        out = public_code(view, code)
        shop = next(d.receiver_id for d in view.deliveries(lot_ids=[out["id"]]) if d.trace_code == code)
        assert _buyers_named(view, out, out["id"], shop) == []
