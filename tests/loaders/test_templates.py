"""The CSV/Excel template loader: every template, header variants, exact reject reasons, idempotent loads."""

from __future__ import annotations

import datetime
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.store import open_store
from loaders import templates
from loaders.base import Reject
from loaders.tables import write_table
from loaders.template_spec import LOAD_ORDER, TEMPLATES
from ontology import identifiers as ids
from ontology.errors import InvalidRecord

DATA = Path(__file__).parent / "data"
USCC = "91320602MA1MXXXX00"
GLN = "6901234000016"
FARM = f"https://id.gs1.org/414/{GLN}"
SHOP = f"urn:foodtrace:operator:uscc:{USCC}"


def load(path: Path, store=None, kind=None) -> tuple[list, list[Reject]]:
    rejects: list[Reject] = []
    return list(templates.read(path, rejects, store=store, kind=kind)), rejects


def by(records, table):
    return [r for r in records if r.table == table]


def reasons(rejects):
    return [(r.row, r.field, r.value, r.reason) for r in rejects]


# -- headers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_detect_kind_by_chinese_english_and_mixed_headers(kind: str) -> None:
    t = TEMPLATES[kind]
    assert templates.detect_kind([c.zh for c in t.columns]) == kind
    assert templates.detect_kind([c.key.upper() for c in t.columns]) == kind
    mixed = [c.zh if i % 2 else c.key for i, c in enumerate(t.columns)] + ["无关列"]
    assert templates.detect_kind(mixed) == kind


def test_header_variants() -> None:
    assert templates.header_map("deliveries", ["发货方/from", "收货方（to）", "发货时间*", " Quantity "]) == {
        "from": 0, "to": 1, "ship_time": 2, "quantity": 3}


def test_unrecognised_table_is_one_reject(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    write_table(p, ["发货方", "收货方", "颜色"], [["a", "b", "红"]])
    records, rejects = load(p)
    assert records == []
    assert len(rejects) == 1
    r = rejects[0]
    assert (r.row, r.field) == ("header", "")
    assert r.reason.startswith("headers match no template completely; closest: deliveries (lacks 发货时间/ship_time")


def test_missing_required_column_with_forced_kind(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    write_table(p, ["名称"], [["甲"]])
    records, rejects = load(p, kind="operators")
    assert records == []
    assert reasons(rejects) == [("header", "kind", "名称", "the operators template needs column(s) 主体类型/kind")]


def test_blank_templates_load_cleanly(tmp_path: Path) -> None:
    paths = templates.write_blank_templates(tmp_path)
    assert [p.name for p in paths[:2]] == ["operators.xlsx", "operators.csv"]
    assert len(paths) == 2 * len(LOAD_ORDER)
    for p in paths:
        if p.stem == "corrections":  # applied as corrections (tests/loaders/test_corrections.py), not records
            continue
        records, rejects = load(p)
        assert rejects == [], p.name
        assert records, p.name
    wb = openpyxl.load_workbook(tmp_path / "deliveries.xlsx")
    assert [c.value for c in next(wb.active.iter_rows())][:3] == ["本地编号", "批次标识", "产品"]


def test_columns_markdown_documents_every_column() -> None:
    md = templates.columns_markdown()
    for t in TEMPLATES.values():
        assert f"### {t.zh} `{t.kind}`" in md
        for c in t.columns:
            assert f"| {c.zh} | `{c.key}` | {'yes' if c.required else ''} |" in md


# -- cell parsers -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, iso", [
    ("2026-03-01", "2026-03-01"), ("2026/3/1", "2026-03-01"), ("20260301", "2026-03-01"),
    ("2026年3月1日", "2026-03-01"), ("2026.3.1", "2026-03-01"), ("46082", "2026-03-01"),
    ("2026-03-01T00:00:00", "2026-03-01"),
])
def test_parse_date(text: str, iso: str) -> None:
    assert templates.parse_date(text) == iso


@pytest.mark.parametrize("text, iso", [
    ("2026-03-01 08:00", "2026-03-01T08:00:00+08:00"),
    ("2026/3/1 8:00:05", "2026-03-01T08:00:05+08:00"),
    ("2026-03-01T08:00:00+09:00", "2026-03-01T08:00:00+09:00"),
    ("2026-03-01T00:00:00Z", "2026-03-01T00:00:00+00:00"),
    ("2026-03-01", "2026-03-01T00:00:00+08:00"),
    ("2024-02-29T23:59:59", "2024-02-29T23:59:59+08:00"),
    (" 2026-03-01  08:00 ", "2026-03-01T08:00:00+08:00"),
    ("２０２６-03-01 08:00", "2026-03-01T08:00:00+08:00"),
])
def test_parse_datetime(text: str, iso: str) -> None:
    assert templates.parse_datetime(text) == iso


@pytest.mark.parametrize("text, message", [
    ("2026-03-01 25:00", "no such time '25:00' in '2026-03-01 25:00'"),
    ("2026-03-01 23:60", "no such time '23:60' in '2026-03-01 23:60'"),
    ("2025-02-29 08:00", "no such date '2025-02-29'"),
    ("yesterday", "not a date: 'yesterday'; write 2026-03-01, 2026/3/1, 20260301 or 2026年3月1日"),
])
def test_parse_datetime_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidRecord) as e:
        templates.parse_datetime(text)
    assert str(e.value) == message


def test_parse_bool_and_quantity() -> None:
    assert [templates.parse_bool(x) for x in ("是", "否", "Y", "n", "true", "0")] == [True, False, True, False,
                                                                                     True, False]
    assert templates.parse_quantity("1,200") == 1200.0
    for bad, msg in (("0", "quantity must be greater than 0, got '0'"), ("nan", "not a number: 'nan'"),
                     ("1e999", "not a finite number: '1e999'")):
        with pytest.raises(InvalidRecord) as e:
            templates.parse_quantity(bad)
        assert str(e.value) == msg


# -- operators ----------------------------------------------------------------------------------

def test_operators_fixture() -> None:
    records, rejects = load(DATA / "operators.csv")
    ops = {r.name: r for r in by(records, "operator")}
    assert sorted(ops) == ["南通市崇川区鲜丰超市", "城东农贸市场", "如皋市王记养殖场", "张三猪肉摊"]
    shop = ops["南通市崇川区鲜丰超市"]
    assert (shop.id, shop.kind, shop.uscc, shop.region_id, shop.scale, shop.haccp) == (
        SHOP, "Supermarket", USCC, "urn:foodtrace:region:320602", "medium", True)
    assert ops["如皋市王记养殖场"].id == FARM
    stall = ops["张三猪肉摊"]
    assert (stall.id, stall.parent_id, stall.individual, stall.region_id) == (
        ids.operator_id(local="OP-4"), ids.operator_id(local="OP-3"), True, "urn:foodtrace:region:320602")
    aliases = {(a.id, a.canonical_id) for a in by(records, "alias")}
    assert (USCC, SHOP) in aliases and ("OP-1", SHOP) in aliases
    assert (ids.operator_id(local="OP-1"), SHOP) in aliases
    assert (ids.operator_id(local="南通市崇川区鲜丰超市"), SHOP) in aliases  # announcements find it by name
    assert (GLN, FARM) not in aliases  # a bare GLN resolves through lookup_forms, never as an alias
    assert not any(a.canonical_id == stall.id and a.scheme == "name" for a in by(records, "alias"))  # individual
    got = reasons(rejects)
    assert got[:4] == [
        (6, "统一社会信用代码", "91320602MA1MXXXX01", "USCC check character is 1, expected 0 in '91320602MA1MXXXX01'"),
        (7, "全球位置码", "6901234000018", "GLN check digit is 8, expected 6 in '6901234000018'"),
        (8, "主体类型", "宇宙飞船", got[2][3]),
        (9, "名称", "", "required column 名称/name is empty"),
    ]
    assert got[2][3].startswith("unknown operator kind '宇宙飞船'; accepted: ") and "超市/Supermarket" in got[2][3]
    assert got[4][:3] == (10, "所属区县", "火星区") and got[4][3].startswith("unknown region '火星区'; accepted:")
    assert got[5] == (11, "个体", "也许", "not yes/no: '也许'; write 是/否, Y/N, true/false or 1/0")
    assert len(got) == 6


# -- deliveries ---------------------------------------------------------------------------------

def test_deliveries_gbk_fixture() -> None:
    records, rejects = load(DATA / "deliveries_gbk.csv")
    product = "https://id.gs1.org/01/06901234567892"
    l1, l2 = product + "/10/L1", product + "/10/L2"
    market = ids.operator_id(local="城东农贸市场")
    ds = by(records, "delivery")
    assert [(d.lot_id, d.sender_id, d.receiver_id, d.time, d.quantity, d.unit) for d in ds] == [
        (l1, FARM, SHOP, "2026-03-01T08:00:00+08:00", 120.0, "KGM"),
        (l2, FARM, SHOP, "2026-03-02T08:00:00+08:00", 5.0, "KGM"),       # 10 斤
        (l2, SHOP, market, "2026-03-03T00:00:00+08:00", 2.0, "XBX"),     # EPC URN form of the same lot
    ]
    d1 = ds[0]
    assert d1.id == ids.delivery_id(l1, FARM, SHOP, ticket="INV-1")
    assert d1.ticket_id == ids.local_id("ticket", FARM, "INV-1")
    assert d1.certificate_id == ids.local_id("certificate", "compliance_commitment", "HGZ-1")
    assert d1.trace_code == "320602-0001"
    assert ds[2].id == ids.delivery_id(l2, SHOP, market, time="2026-03-03T00:00:00+08:00")
    (ticket,) = [t for t in by(records, "ticket") if t.number == "INV-1"]
    assert (ticket.issuer_id, ticket.date, ticket.kind) == (FARM, "2026-03-01", "inv")
    (cert,) = by(records, "certificate")
    assert (cert.kind, cert.number, cert.lot_id) == ("compliance_commitment", "HGZ-1", l1)
    (code,) = by(records, "trace_code")
    assert (code.id, code.lot_id) == ("320602-0001", l1)
    aliases = {(a.id, a.canonical_id, a.entity) for a in by(records, "alias")}
    assert aliases == {("320602-0001", l1, "lot"), ("urn:epc:class:lgtin:6901234.056789.L2", l2, "lot")}
    assert sorted({lot.id for lot in by(records, "lot")}) == [l1, l2]
    stub = [o for o in by(records, "operator") if o.id == market]
    assert [(o.kind, o.name) for o in stub] == [("Operator", "城东农贸市场")]
    assert reasons(rejects) == [
        (5, "数量", "0", "quantity must be greater than 0, got '0'"),
        (6, "数量", "-5", "quantity must be greater than 0, got '-5'"),
        (7, "数量", "很多", "not a number: '很多'"),
        (8, "单位", "furlong", "unknown unit 'furlong'; use 千克/kg/KGM, 克/g, 吨/t, 升/L, 毫升/mL, 头/只/个/件 (H87), "
                               "箱, 袋, 盒, 瓶, 桶 or a UN/CEFACT code"),
        (9, "发货时间", "2026-13-01 08:00", "no such date '2026-13-01'"),
        (10, "发货方", "", "required column 发货方/from is empty"),
        (11, "产品", "06901234567893", "GTIN check digit is 3, expected 2 in '06901234567893'"),
        (12, "批次标识", "", "no lot: give 批次标识/lot or 产品/product with a lot number"),
        (13, "合格证明类型", "出生证明", rejects[8].reason),
    ]
    assert rejects[8].reason.startswith("unknown certificate kind '出生证明'; accepted: ")


def test_a_rejected_row_takes_back_its_stubs_so_a_later_row_emits_them(tmp_path: Path) -> None:
    """A row rejected after it named a new operator, product or lot (a bad ticket date here) drops its records,
    the stubs among them: the next good row naming them emits them, else its delivery would name a lot and
    operators no record of the file holds."""
    p = tmp_path / "d.csv"
    write_table(p, ["发货方", "收货方", "发货时间", "数量", "单位", "产品", "批号", "票据号", "开票日期"], [
        ["甲农场", "乙超市", "2026-03-01 08:00", "10", "kg", "白菜", "L1", "T1", "不是日期"],
        ["甲农场", "乙超市", "2026-03-02 08:00", "10", "kg", "白菜", "L1", "T2", "2026-03-02"],
        ["甲农场", "乙超市", "2026-03-03 08:00", "10", "kg", "白菜", "L1", "T3", "2026-03-03"],
    ])
    records, rejects = load(p)
    assert [(r.row, r.field) for r in rejects] == [(2, "开票日期")]
    farm, shop = ids.operator_id(local="甲农场"), ids.operator_id(local="乙超市")
    product = ids.product_id(local="白菜")
    (delivery, _) = by(records, "delivery")
    assert [r.id for r in by(records, "operator")] == [farm, shop]
    assert [r.id for r in by(records, "product")] == [product]
    assert [(r.id, r.product_id, r.lot_number) for r in by(records, "lot")] == [(delivery.lot_id, product, "L1")]
    assert (delivery.sender_id, delivery.receiver_id) == (farm, shop)
    assert [t.number for t in by(records, "ticket")] == ["T2", "T3"]


def test_local_numbers_resolve_through_the_store_and_loading_twice_changes_nothing(tmp_path: Path) -> None:
    products = tmp_path / "products.csv"
    write_table(products, ["本地编号", "产品名称", "食品类别", "计量单位"], [["P-1", "冷鲜猪肉", "猪肉", "千克"]])
    deliveries = tmp_path / "deliveries.xlsx"
    write_table(deliveries, ["from", "to", "ship_time", "quantity", "unit", "product", "lot_number", "producer"],
                [["OP-2", "OP-1", "2026-03-01 08:00", "50", "kg", "P-1", "B1", "OP-2"],
                 ["OP-1", "OP-4", datetime.datetime(2026, 3, 1, 12, 0), "5", "千克", "P-1", "B1", "OP-2"]])
    with open_store(tmp_path / "s.db") as store:
        for p in (DATA / "operators.csv", products, deliveries):
            records, rejects = load(p, store=store)
            store.write(records)
        counts = store.counts()
        pid = ids.product_id(local="P-1")
        lot = ids.lot_id(lot_number="B1", product_id=pid, producer_id=FARM)
        ds = sorted(store.deliveries(lot_ids=[lot]), key=lambda d: d.time)
        assert [(d.sender_id, d.receiver_id, d.time) for d in ds] == [
            (FARM, SHOP, "2026-03-01T08:00:00+08:00"),
            (SHOP, ids.operator_id(local="OP-4"), "2026-03-01T12:00:00+08:00")]
        assert store.get("lot", lot).producer_id == FARM
        assert store.get("operator", FARM).name == "如皋市王记养殖场"  # no stub overwrote it
        for p in (DATA / "operators.csv", products, deliveries, DATA / "deliveries_gbk.csv"):
            records, _ = load(p, store=store)
            store.write(records)
        after_first = store.counts()
        for p in (DATA / "operators.csv", products, deliveries, DATA / "deliveries_gbk.csv"):
            records, _ = load(p, store=store)
            stats = store.write(records)
            assert stats.total_changed == 0, p.name
        assert store.counts() == after_first
        assert after_first["delivery"] == counts["delivery"] + 3


# -- lot links ----------------------------------------------------------------------------------

def test_lot_links_group_and_disagreements(tmp_path: Path) -> None:
    p = tmp_path / "links.csv"
    head = ["加工单号", "加工主体", "时间", "类型", "投入批次", "投入产品", "投入数量", "投入单位", "产出批次", "产出产品",
            "产出数量", "产出单位"]
    write_table(p, head, [
        ["T-1", USCC, "2026-03-01 06:00", "分割", "https://id.gs1.org/01/06901234567892/10/PIG1", "", "500", "千克",
         "C1", "P-2", "200", "千克"],
        ["T-1", USCC, "2026-03-01 06:00", "分割", "https://id.gs1.org/01/06901234567892/10/PIG1", "", "", "",
         "C2", "P-3", "250", "千克"],
        ["T-1", USCC, "2026-03-01 07:00", "分割", "PIG2", "P-1", "", "", "C3", "P-3", "", ""],
        ["T-2", USCC, "2026-03-01 06:00", "烧烤", "X", "P-1", "", "", "Y", "P-1", "", ""],
        ["T-3", USCC, "2026-03-01 06:00", "分装", "X", "", "", "", "Y", "P-1", "", ""],
    ])
    records, rejects = load(p)
    (t,) = by(records, "transformation")
    assert (t.id, t.station_id, t.kind, t.time) == (ids.local_id("transformation", SHOP, "T-1"), SHOP, "cutting",
                                                    "2026-03-01T06:00:00+08:00")
    items = by(records, "transformation_item")
    assert [(i.role, i.lot_id.rsplit(":", 1)[-1].rsplit("/", 1)[-1], i.quantity) for i in items] == [
        ("input", "PIG1", 500.0), ("output", "C1", 200.0), ("output", "C2", 250.0)]  # each lot link once
    out = [lot for lot in by(records, "lot") if lot.lot_number == "C1"][0]
    assert out.id == ids.lot_id(lot_number="C1", product_id=ids.product_id(local="P-2"), producer_id=SHOP)
    assert out.producer_id == SHOP
    assert reasons(rejects)[0] == (4, "时间", "2026-03-01 07:00",
                                   "transformation T-1 has time 2026-03-01T06:00:00+08:00 on row 2, this row says "
                                   "2026-03-01T07:00:00+08:00: rows of one transformation must agree")
    assert rejects[1].row == 5 and rejects[1].reason.startswith("unknown transformation kind '烧烤'")
    assert reasons(rejects)[2] == (6, "投入产品", "X", "lot number 'X' (投入批次/input_lot) is not a known lot id: "
                                                  "give its product (投入产品/input_product)")


# -- samples and results ------------------------------------------------------------------------

def test_samples_and_results_from_xlsx_with_title_row(tmp_path: Path) -> None:
    p = tmp_path / "samples.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "抽检样品"
    ws.append(["2026年第一季度抽检样品"])
    ws.append(["样品编号", "抽检类型", "被抽样单位", "标称生产企业", "食品名称", "食品类别", "抽样日期", "结论", "存在异议"])
    ws.append(["SC1", "监督抽检", USCC, "如皋甲肉联厂", "冷鲜猪肉", "猪肉", datetime.date(2026, 3, 5), "不合格", "否"])
    ws.append(["SC2", "风险监测", USCC, "", "青菜", "叶菜类蔬菜", "2026年3月6日", "合格", ""])
    ws.append(["SC3", "抽查", USCC, "", "青菜", "", "2026-03-06", "合格", ""])
    ws2 = wb.create_sheet("检验结果")
    ws2.append(["sample", "item", "value", "unit", "limit", "conclusion"])
    ws2.append(["SC1", "恩诺沙星", "152", "μg/kg", "≤100", "不合格"])
    ws2.append(["SC1", "克伦特罗", "未检出", "μg/kg", "不得检出", "合格"])
    ws2.append(["SC1", "菌落总数", "3.1×10⁵", "CFU/g", "n=5,c=2,m=10000,M=100000", "不合格"])
    ws2.append(["SC1", "铅（以Pb计）", "0.25mg/kg", "", "≤0.2", "不合格"])
    ws2.append(["SC1", "镉", "高", "", "", "不合格"])
    wb.save(p)
    records, rejects = load(p)
    samples = {s.id: s for s in by(records, "sample")}
    s1 = samples[ids.local_id("sample", "SC1")]
    assert (s1.plan, s1.sampled_id, s1.producer_id, s1.category, s1.sampled_at, s1.conclusion, s1.disputed) == (
        "supervisory", SHOP, ids.operator_id(local="如皋甲肉联厂"), "pork", "2026-03-05", "nonconforming", False)
    assert samples[ids.local_id("sample", "SC2")].plan == "monitoring"
    results = {r.item: r for r in by(records, "test_result")}
    enro = results["恩诺沙星"]
    assert (enro.id, enro.sample_id, enro.hazard_class, enro.value, enro.unit, enro.limit, enro.conclusion) == (
        ids.local_id("test_result", "SC1", "恩诺沙星"), s1.id, "vet_drug", 152.0, "μg/kg", 100.0, "nonconforming")
    assert (results["克伦特罗"].value, results["克伦特罗"].limit) == (0.0, 0.0)
    assert (results["菌落总数"].value, results["菌落总数"].limit, results["菌落总数"].limit_text) == (
        310000.0, 10000.0, "n=5,c=2,m=10000,M=100000")
    assert (results["铅(以Pb计)"].value, results["铅(以Pb计)"].unit, results["铅(以Pb计)"].hazard_class) == (
        0.25, "mg/kg", "heavy_metal")
    assert [(r.file.endswith("samples.xlsx"), r.row, r.field, r.value) for r in rejects] == [
        (True, 5, "抽检类型", "抽查"), (True, 6, "value", "高")]
    assert rejects[0].reason.startswith("unknown sample plan '抽查'; accepted: ")
    assert rejects[1].reason == "no number in '高'"


# -- inspections, cases, complaints, credit records ----------------------------------------------

def test_regulatory_templates(tmp_path: Path) -> None:
    files = {
        "inspections": (["被检查单位", "检查日期", "检查类型", "检查结果"],
                        [[USCC, "2026-03-10", "飞行检查", "基本符合"], [USCC, "2026-03-11", "", "很好"]]),
        "cases": (["案件编号", "当事人", "立案日期", "罚没金额", "移送公安", "关联样品"],
                  [["案1", USCC, "2026-03-12", "50000", "否", "SC1"], ["案2", USCC, "2026-03-12", "-1", "", ""]]),
        "complaints": (["登记编号", "被投诉单位", "受理日期", "查证属实"],
                       [["TS-1", USCC, "2026/3/2", "是"], ["TS-2", "", "2026/3/2", ""]]),
        "credit_records": (["记录编号", "主体", "记录类型", "起始日期", "信用等级"],
                           [["XY-1", USCC, "信用等级", "2026-03-15", "b级"], ["XY-2", USCC, "信用等级", "2026-03-15", "E"]]),
    }
    got = {}
    for kind, (head, rows) in files.items():
        p = tmp_path / f"{kind}.csv"
        write_table(p, head, rows)
        records, rejects = load(p)
        got[kind] = (records, reasons(rejects))
    (insp,) = by(got["inspections"][0], "inspection")
    assert (insp.kind, insp.result, insp.operator_id) == ("unannounced", "pass_with_remarks", SHOP)
    assert got["inspections"][1][0][:3] == (3, "检查结果", "很好")
    (case,) = by(got["cases"][0], "case")
    assert (case.fine, case.transferred_to_police, case.sample_id) == (50000.0, False, ids.local_id("sample", "SC1"))
    assert got["cases"][1] == [(3, "罚没金额", "-1", "fine must not be negative")]
    (c,) = by(got["complaints"][0], "complaint")
    assert (c.date, c.substantiated) == ("2026-03-02", True)
    assert got["complaints"][1] == [(3, "被投诉单位", "", "required column 被投诉单位/operator is empty")]
    (cr,) = by(got["credit_records"][0], "credit_record")
    assert (cr.kind, cr.credit_class) == ("credit_class", "B")
    assert got["credit_records"][1] == [(3, "信用等级", "E", "credit class must be A, B, C or D, got 'E'")]


# -- never a traceback --------------------------------------------------------------------------

# control characters make the whole file unreadable (tested in test_tables); here every file is a table
_cells = st.one_of(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12), st.sampled_from(["", "/", "0", "-1", "1e309", "2026-02-30", "是", USCC,
                                                          GLN, "urn:epc:id:sgln:0614141.00888.0",
                                                          "https://id.gs1.org/01/9520123456781/10/x", "千克",
                                                          "斤", "=1+1", "2026/3/1 8:00"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(list(TEMPLATES)), rows=st.lists(st.lists(_cells, max_size=20), min_size=1, max_size=4))
def test_garbage_cells_never_raise(tmp_path: Path, kind: str, rows: list[list[str]]) -> None:
    p = tmp_path / f"fuzz_{kind}.csv"
    write_table(p, [c.key for c in TEMPLATES[kind].columns], rows)
    rejects: list[Reject] = []
    records = list(templates.read(p, rejects))
    assert all(r.reason for r in rejects)
    taken = {n for n in range(2, 2 + len(rows))} - {r.row for r in rejects}
    assert len(taken) <= len(rows)
    assert all(r.id for r in records)


def test_row_counts_add_up() -> None:
    records, rejects = load(DATA / "deliveries_gbk.csv")
    assert len(by(records, "delivery")) + len(rejects) == 12
    assert Counter(r.table for r in records)["delivery"] == 3


def test_stall_names_its_market_on_a_later_row_by_uscc_or_number(tmp_path):
    from loaders.templates import read

    uscc = "91320602MA1MXXXX00"
    p = tmp_path / "ops.csv"
    p.write_text("本地编号,名称,主体类型,统一社会信用代码,全球位置码,所属主体\n"
                 f"S1,1号摊位,摊位,,,{uscc}\n"
                 "S2,2号摊位,摊位,,,M1\n"
                 f"M1,城东农贸市场,农贸市场,{uscc},6901234000016,\n", encoding="utf-8")
    rejects = []
    ops = {r.name: r for r in read(p, rejects) if r.table == "operator"}
    market = "https://id.gs1.org/414/6901234000016"
    assert rejects == []
    assert sorted(ops) == ["1号摊位", "2号摊位", "城东农贸市场"]
    assert ops["1号摊位"].parent_id == market and ops["2号摊位"].parent_id == market


def test_rows_naming_one_lot_of_a_transformation_add_up(tmp_path):
    from loaders.templates import read

    p = tmp_path / "links.csv"
    p.write_text("加工单号,加工主体,时间,类型,投入批次,投入产品,投入数量,投入单位,产出批次,产出产品,产出数量,产出单位\n"
                 "T1,OP-9,2026-03-01 06:00,混合,A1,P1,5.4,千克,M1,P2,10,千克\n"
                 "T1,OP-9,2026-03-01 06:00,混合,A1,P1,0.2,千克,M1,P2,,\n"
                 "T1,OP-9,2026-03-01 06:00,混合,B1,P3,4.4,千克,M1,P2,,\n", encoding="utf-8")
    from graph.sqlite import SQLiteStore

    rejects = []
    with SQLiteStore(tmp_path / "s.db") as store:
        store.write(read(p, rejects, store=store))
        items = list(store.scan("transformation_item"))
    assert rejects == []
    got = sorted((i.role, i.quantity) for i in items)
    assert got == [("input", 4.4), ("input", 5.6), ("output", 10.0)]


@pytest.mark.parametrize("unit, quantity, expected", [
    ("千克", 2.5, (2.5, "KGM")), ("kg", 0.1234567891234, (0.1234567891234, "KGM")),
    ("斤", 3, (1.5, "KGM")), ("两", 0.1234567891234, (0.006172839, "KGM")), ("件", 4, (4.0, "H87")),
])
def test_normalised_quantity_is_normalise_quantity(unit: str, quantity: float, expected: tuple) -> None:
    from ontology.units import normalise_quantity

    assert templates._normalised(quantity, unit) == normalise_quantity(quantity, unit) == expected
    assert templates._normalised(quantity, unit) == expected  # cached rule
    with pytest.raises(InvalidRecord, match="unknown unit"):
        templates._normalised(1.0, "furlong")


def test_an_id_shape_is_remembered_and_a_bad_check_digit_is_rejected_every_time():
    """templates._id_shape is cached (each row asks for its operators and product again); a code with a wrong check
    character raises each time it is asked, not only the first."""
    from loaders import templates
    from ontology.errors import InvalidIdentifier

    good, bad = "91350100M000100Y43", "91350100M000100Y44"
    assert templates._id_shape("operator", good) == templates._id_shape("operator", good)
    assert templates._id_shape("operator", good)[0] == "code"
    for _ in range(2):
        with pytest.raises(InvalidIdentifier, match="check character"):
            templates._id_shape("operator", bad)
    assert templates._id_shape("operator", "张三农场")[0] == "name"
    assert templates._id_shape.cache_info().hits >= 2
