"""A small hand-made trace chain for the service tests (every value known, so answers are exact).

Pork: 王大伯's farm (an individual farmer) -> 南通肉联厂 (slaughter: pig lot PIG-1101 -> pork lot
P20261101) -> 南通农副产品物流中心 (wholesale) -> 李四's stall in 城东农贸市场 (an individual stall keeper).
Greens: 张三's vegetable base (individual) -> the same stall; its lot CX-1105 failed a supervisory
sample (毒死蜱 over the limit), disposal done. A restaurant buys pork from the stall.
The slaughterhouse has an unpublished risk assessment (grade C) that must never show publicly.
"""

from __future__ import annotations

from ontology import identifiers as I
from ontology.records import (
    Case, Certificate, Complaint, CreditRecord, Delivery, Inspection, Lot, Operator, Product, RiskAssessment, Sample,
    TestResult, Ticket, TraceCode, Transformation, TransformationItem,
)

PORK_GTIN = "06901234567892"
PIG_GTIN = "06901234567809"
GREENS_GTIN = "06901234567816"
PORK_LOT_NUMBER = "P20261101"
PORK_LOT = I.lot_id(lot_number=PORK_LOT_NUMBER, gtin=PORK_GTIN)
PIG_LOT = I.lot_id(lot_number="PIG-1101", gtin=PIG_GTIN)
GREENS_LOT = I.lot_id(lot_number="CX-1105", gtin=GREENS_GTIN)
PORK_TRACE_CODE = "NT320601202611010001"
GREENS_TRACE_CODE = "NT320601202611050007"

FARM = I.operator_id(local="farm-wang")
BASE = I.operator_id(local="base-zhang")
SLAUGHTER = I.operator_id(local="nt-slaughter")
WHOLESALE = I.operator_id(local="nt-wholesale")
MARKET = I.operator_id(local="chengdong-market")
STALL = I.operator_id(local="stall-li")
RESTAURANT = I.operator_id(local="restaurant-he")

#: personal data that must never appear in a public response
FARMER_PHONE = "13812345678"
STALL_PHONE = "13987654321"
FARMER_NAME = "王大伯"
STALL_KEEPER = "李四"
PRIVATE_STRINGS = (FARMER_PHONE, STALL_PHONE, "320623196501011234", "0513-85550000", "risk_assessment", "风险分值")


def records() -> list:
    ops = [
        Operator(id=FARM, kind="Farm", name=f"{FARMER_NAME}生猪养殖场", individual=True, contact=FARMER_NAME,
                 phone=FARMER_PHONE, address="南通市如东县马塘镇", region_id="如东县"),
        Operator(id=BASE, kind="Farm", name="张三蔬菜种植基地", individual=True, contact="张三",
                 phone="13700001111", address="南通市海门区"),
        Operator(id=SLAUGHTER, kind="Slaughterhouse", name="南通肉联厂有限公司", contact="赵经理",
                 phone="0513-85550000", licence_no="A1320600001", address="南通市崇川区"),
        Operator(id=WHOLESALE, kind="WholesaleMarket", name="南通农副产品物流中心", address="南通市港闸区"),
        Operator(id=MARKET, kind="FarmersMarket", name="城东农贸市场", address="南通市崇川区城东街道"),
        Operator(id=STALL, kind="Stall", name=f"{STALL_KEEPER}鲜肉摊", individual=True, contact=STALL_KEEPER,
                 phone=STALL_PHONE, parent_id=MARKET),
        Operator(id=RESTAURANT, kind="Restaurant", name="何记饭店", address="南通市崇川区"),
    ]
    products = [
        Product(id=I.product_id(gtin=PORK_GTIN), name="冷鲜猪肉", name_en="chilled pork", gtin=PORK_GTIN,
                category="pork", unit="KGM", producer_id=SLAUGHTER),
        Product(id=I.product_id(gtin=PIG_GTIN), name="生猪", name_en="live pig", gtin=PIG_GTIN,
                category="live_pig", unit="H87", producer_id=FARM),
        Product(id=I.product_id(gtin=GREENS_GTIN), name="青菜", name_en="bok choy", gtin=GREENS_GTIN,
                category="leafy_vegetable", unit="KGM", producer_id=BASE),
    ]
    lots = [
        Lot(id=PIG_LOT, product_id=I.product_id(gtin=PIG_GTIN), lot_number="PIG-1101", producer_id=FARM,
            production_date="2026-10-31", quantity=20, unit="H87", origin_id="如东县"),
        Lot(id=PORK_LOT, product_id=I.product_id(gtin=PORK_GTIN), lot_number=PORK_LOT_NUMBER,
            producer_id=SLAUGHTER, production_date="2026-11-01", expiry_date="2026-11-08", quantity=1500,
            unit="KGM"),
        Lot(id=GREENS_LOT, product_id=I.product_id(gtin=GREENS_GTIN), lot_number="CX-1105", producer_id=BASE,
            production_date="2026-11-05", quantity=300, unit="KGM", origin_id="海门区"),
    ]
    tr = "urn:foodtrace:transformation:slaughter-1101"
    flows = [
        Transformation(id=tr, station_id=SLAUGHTER, time="2026-11-01T05:00:00+08:00", kind="slaughter"),
        TransformationItem(id=tr + ":in", transformation_id=tr, lot_id=PIG_LOT, role="input", quantity=20, unit="H87"),
        TransformationItem(id=tr + ":out", transformation_id=tr, lot_id=PORK_LOT, role="output", quantity=1500,
                           unit="KGM"),
        Certificate(id="urn:foodtrace:certificate:aq-1", kind="animal_quarantine", number="3206001101",
                    issuer="如东县动物卫生监督所", holder_id=FARM, lot_id=PIG_LOT, issued="2026-10-31"),
        Certificate(id="urn:foodtrace:certificate:mq-1", kind="meat_quality", number="MQ-20261101-01",
                    issuer="南通肉联厂有限公司", holder_id=SLAUGHTER, lot_id=PORK_LOT, issued="2026-11-01"),
        Certificate(id="urn:foodtrace:certificate:cc-1", kind="compliance_commitment", number="HG-1105",
                    issuer="张三蔬菜种植基地", holder_id=BASE, lot_id=GREENS_LOT, issued="2026-11-05"),
        Ticket(id="urn:foodtrace:ticket:inv-1", number="INV-1101", kind="inv", issuer_id=SLAUGHTER, date="2026-11-01"),
        Delivery(id="urn:foodtrace:delivery:d1", lot_id=PIG_LOT, sender_id=FARM, receiver_id=SLAUGHTER,
                 time="2026-10-31T20:00:00+08:00", quantity=20, unit="H87",
                 certificate_id="urn:foodtrace:certificate:aq-1"),
        Delivery(id="urn:foodtrace:delivery:d2", lot_id=PORK_LOT, sender_id=SLAUGHTER, receiver_id=WHOLESALE,
                 time="2026-11-01T08:00:00+08:00", quantity=800, unit="KGM", ticket_id="urn:foodtrace:ticket:inv-1",
                 certificate_id="urn:foodtrace:certificate:mq-1"),
        Delivery(id="urn:foodtrace:delivery:d3", lot_id=PORK_LOT, sender_id=WHOLESALE, receiver_id=STALL,
                 time="2026-11-02T04:30:00+08:00", quantity=60, unit="KGM", trace_code=PORK_TRACE_CODE),
        Delivery(id="urn:foodtrace:delivery:d4", lot_id=PORK_LOT, sender_id=STALL, receiver_id=RESTAURANT,
                 time="2026-11-02T09:00:00+08:00", quantity=10, unit="KGM"),
        Delivery(id="urn:foodtrace:delivery:d5", lot_id=GREENS_LOT, sender_id=BASE, receiver_id=STALL,
                 time="2026-11-05T05:00:00+08:00", quantity=40, unit="KGM",
                 certificate_id="urn:foodtrace:certificate:cc-1", trace_code=GREENS_TRACE_CODE),
        TraceCode(id="urn:foodtrace:trace_code:" + PORK_TRACE_CODE, code=PORK_TRACE_CODE, lot_id=PORK_LOT,
                  operator_id=WHOLESALE, issued="2026-11-02"),
        TraceCode(id="urn:foodtrace:trace_code:" + GREENS_TRACE_CODE, code=GREENS_TRACE_CODE, lot_id=GREENS_LOT,
                  operator_id=BASE, issued="2026-11-05"),
    ]
    checks = [
        Sample(id="urn:foodtrace:sample:rapid-1", plan="rapid", sampled_id=STALL, product_name="猪肉",
               lot_id=PORK_LOT, sampled_at="2026-11-02", conclusion="conforming", category="pork"),
        TestResult(id="urn:foodtrace:test_result:rapid-1:1", sample_id="urn:foodtrace:sample:rapid-1",
                   item="瘦肉精（克伦特罗）", hazard_class="illegal_additive", conclusion="conforming"),
        Sample(id="urn:foodtrace:sample:sup-1", plan="supervisory", sampled_id=STALL, producer_id=BASE,
               product_name="青菜", lot_id=GREENS_LOT, batch="2026-11-05", sampled_at="2026-11-06",
               conclusion="nonconforming", announcement="南通市市场监管局2026年第45期", announced="2026-11-20",
               lab="南通市食品药品监督检验中心", disposal_due="2026-11-30", disposal_done="2026-11-24",
               category="leafy_vegetable"),
        TestResult(id="urn:foodtrace:test_result:sup-1:1", sample_id="urn:foodtrace:sample:sup-1", item="毒死蜱",
                   hazard_class="pesticide", value=0.12, unit="mg/kg", limit=0.1, conclusion="nonconforming"),
        Sample(id="urn:foodtrace:sample:mon-1", plan="monitoring", sampled_id=WHOLESALE, product_name="猪肉",
               lot_id=PORK_LOT, sampled_at="2026-11-01", conclusion="nonconforming", category="pork"),
        TestResult(id="urn:foodtrace:test_result:mon-1:1", sample_id="urn:foodtrace:sample:mon-1", item="恩诺沙星",
                   hazard_class="vet_drug", value=150, unit="μg/kg", limit=100, conclusion="nonconforming"),
        Inspection(id="urn:foodtrace:inspection:i1", operator_id=SLAUGHTER, date="2026-06-01", kind="routine",
                   result="pass_with_remarks", findings="冷库温度记录不全", inspector="崇川区市场监管局"),
        Case(id="urn:foodtrace:case:c1", operator_id=BASE, opened="2026-11-21", violation="销售农药残留超标食用农产品",
             sample_id="urn:foodtrace:sample:sup-1"),
        Complaint(id="urn:foodtrace:complaint:q1", operator_id=STALL, date="2026-09-01", channel="12315",
                  topic="短斤缺两", substantiated=False, description="顾客来电（身份证号320623196501011234）反映缺斤少两"),
        CreditRecord(id="urn:foodtrace:credit_record:cr1", operator_id=BASE, kind="penalty", start="2026-11-25",
                     end="2027-11-25", reason="农药残留超标"),
        RiskAssessment(id="urn:foodtrace:risk_assessment:ra1", operator_id=SLAUGHTER, run="run-1", grade="C",
                       computed_grade="C", score=52, static_points=31, dynamic_points=9, credit_points=12,
                       as_of="2026-11-01", created="2026-11-01T10:00:00+08:00", config_version="2026.1",
                       model_version="none", published=False),
    ]
    return ops + products + lots + flows + checks + staff_records()


#: grades for the credit endpoints (helper H2): the stall's history (A then B) and the vegetable base's D,
#: all unpublished (never shown publicly)
STALL_ASSESSMENTS = ("urn:foodtrace:risk_assessment:ra-stall-1", "urn:foodtrace:risk_assessment:ra-stall-2")
BASE_ASSESSMENT = "urn:foodtrace:risk_assessment:ra-base-1"


def staff_records() -> list:
    """Records added for the staff endpoints' tests (appended; the records above are unchanged)."""
    common = dict(config_version="2026.1", model_version="none", published=False)
    return [
        RiskAssessment(id=STALL_ASSESSMENTS[0], operator_id=STALL, run="run-0", grade="A", computed_grade="A",
                       score=18, static_points=10, dynamic_points=4, credit_points=4, as_of="2026-10-01",
                       created="2026-10-01T10:00:00+08:00", **common),
        RiskAssessment(id=STALL_ASSESSMENTS[1], operator_id=STALL, run="run-1", grade="B", computed_grade="B",
                       score=33, static_points=19, dynamic_points=8, credit_points=6, as_of="2026-11-01",
                       created="2026-11-01T10:00:00+08:00", **common),
        RiskAssessment(id=BASE_ASSESSMENT, operator_id=BASE, run="run-1", grade="D", computed_grade="D", score=71,
                       static_points=24, dynamic_points=35, credit_points=12, as_of="2026-11-01",
                       created="2026-11-01T10:00:00+08:00", **common),
    ]


def build(path: str) -> None:
    """Write the dataset into a new SQLite store at ``path``."""
    from graph.store import open_store

    with open_store(path) as s:
        s.write(records())
