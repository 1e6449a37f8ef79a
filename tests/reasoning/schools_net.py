"""A hand-made school supply network shared by the school tests.

    farm --d1 PIG--> slaughterhouse (PIG -> PORK, PORK2) --d2 PORK--> distributor --d3 PORK--> school 1
                                                                                 --d4 PORK--> restaurant
                                                         --d7 PORK2--> restaurant
    veg farm --d5 VEG--> school 2 (no ticket, no certificate)
             --d6 VEG--> distributor 2 (VEG -> MIX)
"""

from __future__ import annotations

from ontology.records import (CreditRecord, Delivery, Lot, Operator, Product, RiskAssessment, Sample, TestResult,
                              Transformation, TransformationItem)

D = "urn:foodtrace:region:320602"
FARM, SLAUGHTER, DIST, SCHOOL1, REST = (f"urn:foodtrace:operator:{x}" for x in ("farm", "sh", "dist", "school1", "rest"))
VFARM, SCHOOL2, DIST2 = (f"urn:foodtrace:operator:{x}" for x in ("vfarm", "school2", "dist2"))
PIG, PORK, VEG, MIX, PORK2 = (f"urn:foodtrace:lot:{x}" for x in ("pig", "pork", "veg", "mix", "pork2"))


def network() -> list:
    t = "2026-03-0{}T{:02d}:00:00+08:00".format
    return [
        Operator(id=FARM, kind="Farm", name="某某养殖场", region_id=D),
        Operator(id=SLAUGHTER, kind="Slaughterhouse", name="某某屠宰场", region_id=D),
        Operator(id=DIST, kind="Distributor", name="某某配送中心", region_id=D),
        Operator(id=SCHOOL1, kind="SchoolCanteen", name="南通市第一小学食堂", region_id=D),
        Operator(id=REST, kind="Restaurant", name="某某饭店", region_id=D),
        Operator(id=VFARM, kind="Farm", name="某某蔬菜基地", region_id="urn:foodtrace:region:320612"),
        Operator(id=SCHOOL2, kind="SchoolCanteen", name="通州区实验中学食堂", region_id="urn:foodtrace:region:320612"),
        Operator(id=DIST2, kind="Distributor", name="某某净菜加工配送", region_id="urn:foodtrace:region:320612"),
        Product(id="urn:foodtrace:product:pig", name="生猪", category="live_pig"),
        Product(id="urn:foodtrace:product:pork", name="猪肉", category="pork"),
        Product(id="urn:foodtrace:product:veg", name="青菜", category="leafy_vegetable"),
        Product(id="urn:foodtrace:product:mix", name="净菜", category="leafy_vegetable"),
        Lot(id=PIG, product_id="urn:foodtrace:product:pig", lot_number="PIG-1", producer_id=FARM),
        Lot(id=PORK, product_id="urn:foodtrace:product:pork", lot_number="PORK-1", producer_id=SLAUGHTER),
        Lot(id=VEG, product_id="urn:foodtrace:product:veg", lot_number="VEG-1", producer_id=VFARM),
        Lot(id=MIX, product_id="urn:foodtrace:product:mix", lot_number="MIX-1", producer_id=DIST2),
        Delivery(id="d1", lot_id=PIG, sender_id=FARM, receiver_id=SLAUGHTER, time=t(1, 6), quantity=1, unit="H87",
                 ticket_id="t1", certificate_id="c1"),
        Transformation(id="x1", station_id=SLAUGHTER, time=t(1, 10), kind="slaughter"),
        TransformationItem(id="x1/i", transformation_id="x1", lot_id=PIG, role="input"),
        TransformationItem(id="x1/o", transformation_id="x1", lot_id=PORK, role="output"),
        TransformationItem(id="x1/o2", transformation_id="x1", lot_id=PORK2, role="output"),
        Lot(id=PORK2, product_id="urn:foodtrace:product:pork", lot_number="PORK-2", producer_id=SLAUGHTER),
        Delivery(id="d7", lot_id=PORK2, sender_id=SLAUGHTER, receiver_id=REST, time=t(2, 7), quantity=30, unit="KGM",
                 ticket_id="t7", certificate_id="c3"),
        Delivery(id="d2", lot_id=PORK, sender_id=SLAUGHTER, receiver_id=DIST, time=t(2, 6), quantity=80, unit="KGM",
                 ticket_id="t2", certificate_id="c2"),
        Delivery(id="d3", lot_id=PORK, sender_id=DIST, receiver_id=SCHOOL1, time=t(2, 9), quantity=20, unit="KGM",
                 ticket_id="t3", certificate_id="c2"),
        Delivery(id="d4", lot_id=PORK, sender_id=DIST, receiver_id=REST, time=t(2, 9), quantity=20, unit="KGM",
                 ticket_id="t4", certificate_id="c2"),
        Delivery(id="d5", lot_id=VEG, sender_id=VFARM, receiver_id=SCHOOL2, time=t(3, 6), quantity=10, unit="KGM"),
        Delivery(id="d6", lot_id=VEG, sender_id=VFARM, receiver_id=DIST2, time=t(3, 6), quantity=50, unit="KGM",
                 ticket_id="t6"),
        Transformation(id="x2", station_id=DIST2, time=t(3, 10), kind="mixing"),
        TransformationItem(id="x2/i", transformation_id="x2", lot_id=VEG, role="input"),
        TransformationItem(id="x2/o", transformation_id="x2", lot_id=MIX, role="output"),
    ]


def failing(sid: str, lot: str, station: str, day: str, *, plan: str = "monitoring", item: str = "恩诺沙星",
            conclusion: str = "nonconforming") -> list:
    """A sample of ``lot`` taken at ``station`` with one result."""
    return [Sample(id=sid, plan=plan, sampled_id=station, product_name="猪肉" if "p" in lot[-4:] else "青菜",
                   lot_id=lot, sampled_at=day, conclusion=conclusion),
            TestResult(id=sid + "/1", sample_id=sid, item=item, conclusion=conclusion)]


def standing() -> list:
    """The distributor graded D; the veg farm on the serious-dishonesty list."""
    return [RiskAssessment(id="ra1", operator_id=DIST, run="r1", grade="D", computed_grade="D", as_of="2026-03-01",
                           created="2026-03-01T12:00:00+08:00", config_version="1", model_version="none"),
            CreditRecord(id="cr1", operator_id=VFARM, kind="serious_dishonest", start="2026-02-01",
                         reason="生产销售不符合食品安全标准的食品")]
