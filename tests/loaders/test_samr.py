"""Official sampling announcements: the real scraped file, 合格/不合格 fixtures, header variants, disputes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from graph.store import open_store
from loaders import measures, samr, templates
from loaders.base import Reject
from loaders.tables import write_table
from ontology import identifiers as ids

from ..conftest import SHARED, shared_path

DATA = Path(__file__).parent / "data"
REAL = SHARED / "samples" / "samr_unqualified_2019_sample.csv"


def load(path: Path, store=None):
    rejects: list[Reject] = []
    return list(samr.read(path, rejects, store=store)), rejects


def by(records, table):
    return [r for r in records if r.table == table]


def op(name: str) -> str:
    return ids.operator_id(local=name)


@pytest.fixture(scope="module")
def real():
    if not REAL.exists():
        shared_path("samples", REAL.name)
    return load(REAL)


# -- the real scraped file ---------------------------------------------------------------------

def test_real_file_every_row_taken_or_rejected(real) -> None:
    records, rejects = real
    counts = Counter(r.table for r in records)
    assert counts["sample"] == 49          # 58 rows - 4 empty = 54 rows; 5 rows continue a sample
    assert counts["test_result"] == 54
    assert sum(1 for s in by(records, "sample") if s.disputed) == 4
    assert [(r.row, r.field) for r in rejects] == [(9, "row"), (12, "row"), (13, "row"), (22, "row")]
    assert {r.reason for r in rejects} == {"row has no sample data (only announcement columns are filled)"}
    assert all(s.conclusion == "nonconforming" and s.plan == "supervisory" for s in by(records, "sample"))
    assert all(t.conclusion == "nonconforming" and t.hazard_class for t in by(records, "test_result"))


def test_real_file_ambiguous_rows_kept_as_written() -> None:
    """A shifted row whose results cannot be paired with its items is stored failed, its cells as written, with
    a warning; no result is given to an item it may not belong to."""
    if not REAL.exists():
        shared_path("samples", REAL.name)
    rejects: list[Reject] = []
    warnings: list = []
    records = list(samr.read(REAL, rejects, warnings=warnings))
    unreadable = [w for w in warnings if w.kind == "items_unreadable"]
    assert [w.row for w in unreadable] == [23, 28]
    assert unreadable[0].note.startswith("columns are shifted and the cells after the product name hold 1 item(s), "
                                         "2 result(s) and 1 limit(s)")
    kept = [t for t in by(records, "test_result") if t.item in ("钠", "总钠")]
    assert [(t.item, t.value, t.limit, t.value_text, t.limit_text) for t in kept] == [
        ("钠", None, None, "0.271mg/100kJ；0.6mg/100kJ", "≤24.0mg/100kJ"),
        ("总钠", None, None, "1.31mg/100g；12mg/100g", "≤200mg/100g")]
    samples = {s.id: s for s in by(records, "sample")}
    assert all(samples[t.sample_id].conclusion == "nonconforming" and "items" in samples[t.sample_id].missing
               for t in kept)


def test_real_file_no_failure_misattributed(real) -> None:
    records, _ = real
    names = {o.name for o in by(records, "operator")}
    assert not any(("检验" in n or "核实" in n or "μg" in n or n.startswith("http")) for n in names)
    items = {t.item for t in by(records, "test_result")}
    assert not any(("检验" in i or "/" in i or "袋" in i) for i in items)
    for t in by(records, "test_result"):
        if t.item not in ("钠", "总钠"):   # the two rows kept as written
            assert t.value is not None and t.limit is not None, t.item


def test_real_file_shifted_row_with_freezer_remark(real) -> None:
    records, _ = real
    (s,) = [s for s in by(records, "sample") if s.product_name == "大白雪牛奶雪糕"]
    assert s.producer_id == op("上海益民食品一厂有限公司")
    assert (s.batch, s.lab, s.disputed, s.announced) == ("2019/1/13", "上海市食品药品检验所", True, "2019-07-15")
    assert "冰柜制冷系统发生故障" in s.remark
    (t,) = [t for t in by(records, "test_result") if t.sample_id == s.id]
    assert (t.item, t.value, t.unit, t.limit, t.hazard_class) == ("菌落总数", 1_200_000.0, "CFU/g", 25000.0,
                                                                   "microbial")


def test_real_file_contract_manufacturer_and_denial(real) -> None:
    records, _ = real
    (s,) = [s for s in by(records, "sample") if s.product_name == "圣女果干"]
    assert s.producer_id == op("潍坊万利来食品有限公司")
    assert s.brand_owner_id == op("乌鲁木齐西域之尚电子商务有限公司")
    assert s.disputed is True and s.batch == "2018/9/30"
    (t,) = [t for t in by(records, "test_result") if t.sample_id == s.id]
    assert (t.item, t.value, t.unit, t.limit, t.hazard_class) == ("二氧化硫残留量", 5.64, "g/kg", 0.35, "additive")


def test_real_file_one_sample_over_several_rows(real) -> None:
    records, _ = real
    (chicken,) = [s for s in by(records, "sample") if s.product_name == "三黄鸡"]
    items = sorted(t.item for t in by(records, "test_result") if t.sample_id == chicken.id)
    assert items == ["土霉素", "替米考星"]
    assert chicken.disputed and chicken.remark == "经山东省市场监管局核实，该产品并非来自聊城市奥祥禽业有限公司。"
    (honey,) = [s for s in by(records, "sample") if s.product_name == "土蜂蜜"]
    assert sorted(t.item for t in by(records, "test_result") if t.sample_id == honey.id) == [
        "嗜渗酵母计数", "菌落总数", "诺氟沙星"]
    (starch,) = [s for s in by(records, "sample") if s.product_name == "红薯淀粉"]
    plans = {t.item: (t.value, t.limit) for t in by(records, "test_result") if t.sample_id == starch.id}
    assert plans == {"菌落总数": (46000.0, 10000.0), "大肠菌群": (370.0, 100.0)}


def test_real_file_loads_twice_without_change(real, tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        records, _ = load(REAL, store=store)
        store.write(records)
        first = store.counts()
        records, _ = load(REAL, store=store)
        assert store.write(records).total_changed == 0
        assert store.counts() == first
        assert first["sample"] == 49 and first["test_result"] == 54


# -- fixtures ------------------------------------------------------------------------------------

def test_qualified_table_with_title_row() -> None:
    records, rejects = load(DATA / "samr_qualified.csv")
    samples = by(records, "sample")
    assert [(s.product_name, s.conclusion, s.plan, s.announced, s.announcement, s.batch) for s in samples] == [
        ("酱油", "conforming", "supervisory", "2026-02-10", "2026年第3期", "2026-01-05"),
        ("猪肉", "conforming", "supervisory", "2026-02-10", "2026年第3期", "2026年2月1日"),
        ("青菜", "conforming", "monitoring", "2026-02-10", "2026年第3期", "20260201"),
    ]
    assert [s.category for s in samples] == ["condiment", "pork", "leafy_vegetable"]
    assert samples[0].producer_id == op("南通甲食品有限公司") and samples[1].producer_id is None
    assert by(records, "test_result") == []
    kinds = {o.name: o.kind for o in by(records, "operator")}
    assert kinds == {"南通甲食品有限公司": "Producer", "南通市崇川区鲜丰超市": "Supermarket",
                     "城东农贸市场张三猪肉摊": "Stall", "城东农贸市场李四蔬菜摊": "Stall", "城东农贸市场": "FarmersMarket"}
    market = op("城东农贸市场")
    assert {o.name for o in by(records, "operator") if o.parent_id == market} == {"城东农贸市场张三猪肉摊",
                                                                                 "城东农贸市场李四蔬菜摊"}
    assert [(r.row, r.reason) for r in rejects] == [(6, "row has no sample data (only announcement columns are filled)")]


def test_combined_cells_contract_manufacturer_and_disputes() -> None:
    records, rejects = load(DATA / "samr_combined.csv")
    samples = {s.product_name: s for s in by(records, "sample")}
    assert sorted(samples) == ["果脯", "糕点", "酱牛肉", "面包", "韭菜", "鲫鱼"]
    fruit = samples["果脯"]
    assert (fruit.producer_id, fruit.brand_owner_id, fruit.disputed) == (op("如皋乙食品厂"), op("南通甲食品有限公司"),
                                                                          False)
    results = {(t.sample_id, t.item): t for t in by(records, "test_result")}
    fruit_items = sorted(i for s, i in results if s == fruit.id)
    assert fruit_items == ["山梨酸及其钾盐（以山梨酸计）", "糖精钠（以糖精计）", "苯甲酸及其钠盐（以苯甲酸计）"]
    sac = results[(fruit.id, "糖精钠（以糖精计）")]
    assert (sac.value, sac.unit, sac.limit, sac.limit_text, sac.hazard_class) == (0.3, "g/kg", 0.0, "不得使用",
                                                                                   "additive")
    fish = samples["鲫鱼"]
    assert fish.disputed and fish.remark == "经核查，标称生产企业否认生产该批次产品"
    assert sorted(i for s, i in results if s == fish.id) == ["恩诺沙星（以恩诺沙星与环丙沙星之和计）", "氧氟沙星"]
    leek = samples["韭菜"]
    assert (leek.disputed, leek.producer_id, leek.batch) == (True, None, None)
    assert results[(leek.id, "毒死蜱")].value == 0.35
    beef = samples["酱牛肉"]
    t = results[(beef.id, "菌落总数")]
    assert (t.value, t.limit, t.unit) == (620000.0, 10000.0, "CFU/g")
    owners = {o.name: o.address for o in by(records, "operator")}
    assert owners["如皋乙食品厂"] == "如皋市如城镇2号" and owners["南通甲食品有限公司"] == "南通市崇川区工农路1号"
    assert rejects == []
    # a result written as text and a row without its sampled unit are stored, failed, with what is missing
    cake = samples["糕点"]
    (t,) = [t for (sid, _), t in results.items() if sid == cake.id]
    assert (cake.conclusion, cake.missing, t.value, t.value_text, t.limit) == (
        "nonconforming", "result", None, "abc", 1000.0)
    bread = samples["面包"]
    assert (bread.conclusion, bread.sampled_id, bread.producer_id, bread.missing) == (
        "nonconforming", None, op("启东丁食品厂"), "sampled")


def test_combined_cells_warnings() -> None:
    rejects: list[Reject] = []
    warnings: list = []
    list(samr.read(DATA / "samr_combined.csv", rejects, warnings=warnings))
    assert sorted((w.row, w.kind) for w in warnings) == [(4, "no_producer"), (5, "result_not_numeric"),
                                                        (6, "no_sampled_unit")]
    (text,) = [w for w in warnings if w.kind == "result_not_numeric"]
    assert (text.field, text.value, text.note) == ("检验结果", "abc", "菌落总数: abc")


def test_gbk_copy_reads_the_same(tmp_path: Path) -> None:
    p = tmp_path / "gbk.csv"
    p.write_bytes((DATA / "samr_combined.csv").read_text(encoding="utf-8").encode("gb18030"))
    a, ra = load(DATA / "samr_combined.csv")
    b, rb = load(p)
    assert a == b and [r.reason for r in ra] == [r.reason for r in rb]


def test_legacy_xls_split_columns_with_line_breaks() -> None:
    records, rejects = load(DATA / "samr_unqualified.xls")
    assert rejects == []
    samples = {s.product_name: s for s in by(records, "sample")}
    assert samples["猪肉"].batch == "2026-02-03" and samples["猪肉"].announced == "2026-03-01"
    assert samples["猪肉"].announcement == "食品安全监督抽检不合格产品信息"
    assert samples["猪肉"].sampled_id == op("通州区某某农贸市场王五猪肉摊")
    got = sorted((t.item, t.value, t.limit, t.unit) for t in by(records, "test_result"))
    assert got == [("克伦特罗", 1.2, 0.0, "μg/kg"), ("噻虫胺", 0.09, 0.01, "mg/kg"), ("灭蝇胺", 1.8, 0.5, "mg/kg")]


def test_header_variants_and_unit_conversion(tmp_path: Path) -> None:
    p = tmp_path / "v.xlsx"
    write_table(p, [["2026年风险监测不合格样品"],
                    ["标称生产企业或供货单位名称", "被抽检单位名称", "样品名称", "生产日期或批号", "不合格项目（标准值/实测值）",
                     "检验结论", "类别"]],
                [["郑州绿原春蔬菜有限公司（供货商）", "永辉超市某店", "鸡蛋", "2026-01-01",
                  "氟苯尼考║≤0.1mg/kg║150μg/kg", "不合格", "蛋类"],
                 ["/", "某某超市", "白菜", "/", "", "合格", "蔬菜"]])
    records, rejects = load(p)
    assert rejects == []
    (egg, cabbage) = by(records, "sample")
    assert (egg.plan, egg.conclusion, egg.producer_id, egg.category) == (
        "monitoring", "nonconforming", op("郑州绿原春蔬菜有限公司"), "egg")
    assert (cabbage.conclusion, cabbage.category, cabbage.samr_path) == (
        "conforming", "leafy_vegetable", "食用农产品/蔬菜/叶菜类蔬菜")
    (t,) = by(records, "test_result")
    assert (t.item, t.value, t.unit, t.limit, t.limit_text) == ("氟苯尼考", 150.0, "μg/kg", 100.0, "≤0.1mg/kg")


def test_not_an_announcement(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    write_table(p, ["名称", "数量"], [["a", "1"]])
    records, rejects = load(p)
    assert records == []
    assert [(r.row, r.reason) for r in rejects] == [
        ("header", "not a sampling announcement table: no 食品名称 or 被抽样单位名称或标称生产企业名称 column")]


def test_operators_resolve_to_registered_ones_by_name(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        rej: list[Reject] = []
        store.write(templates.read(DATA / "operators.csv", rej, store=store))
        records, _ = load(DATA / "samr_qualified.csv", store=store)
        (soy,) = [s for s in by(records, "sample") if s.product_name == "酱油"]
        assert soy.sampled_id == "urn:foodtrace:operator:uscc:91320602MA1MXXXX00"
        assert "南通市崇川区鲜丰超市" not in {o.name for o in by(records, "operator")}  # never overwritten
        store.write(records)
        assert store.get("operator", soy.sampled_id).kind == "Supermarket"


@pytest.mark.parametrize("text, expected", [
    ("2.55μg/kg", (2.55, "μg/kg", None)),
    ("≤0.1mg/kg", (0.1, "mg/kg", "≤")),
    ("1.48 mg/kg", (1.48, "mg/kg", None)),
    ("3.0×102μg/kg", (300.0, "μg/kg", None)),
    ("≥9.62g/100ml", (9.62, "g/100mL", "≥")),
    ("5.2×103CFU/g", (5200.0, "CFU/g", None)),
])
def test_parse_measure(text: str, expected: tuple) -> None:
    m = measures.parse_measure(text)
    assert (m.value, m.unit, m.op) == expected


@pytest.mark.parametrize("remark, disputed", [
    ("经核查，标称生产企业否认为其生产", True),
    ("标称生产企业表示该产品非其生产", True),
    ("经查系假冒产品", True),
    ("经核实，系经营者原因导致", True),
    ("冷柜故障导致产品变质", True),
    ("经核实，该批次产品不合格", False),
    ("", False),
])
def test_disputed(remark: str, disputed: bool) -> None:
    assert samr.is_disputed(remark) is disputed


_HEAD = ["序号", "标称生产企业名称", "标称生产企业地址", "被抽样单位名称", "被抽样单位地址", "食品名称", "规格型号", "商标",
         "生产日期/批号", "不合格项目", "检验结果", "标准值", "备注", "检验机构"]


def test_garbage_cells_never_raise(tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    cells = st.one_of(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=10),
                      st.sampled_from(["", "/", "不得检出", "≤0.1mg/kg", "2.5μg/kg", "n=5,c=2,m=1,M=10", "菌落总数",
                                       "恩诺沙星║1║2", "委托方：甲；受委托方：乙", "经核实，否认生产", "2019/1/1",
                                       "a║b║c║d", "║", "；", "\n"]))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(rows=st.lists(st.lists(cells, max_size=16), min_size=1, max_size=4),
           combined=st.booleans())
    def check(rows: list[list[str]], combined: bool) -> None:
        head = _HEAD[:9] + ["不合格项目║检验结果║标准值"] + _HEAD[12:] if combined else _HEAD
        p = tmp_path / "fuzz.csv"
        write_table(p, head, rows)
        rejects: list[Reject] = []
        records = list(samr.read(p, rejects))
        assert all(r.reason for r in rejects)
        assert all(r.id for r in records)

    check()
