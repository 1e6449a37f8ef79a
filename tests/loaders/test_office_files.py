"""Spreadsheets as clerks make them (issue 19): merged cells, rows and sheets that are no records, quantities
written with their unit, implausible dates, codes with blanks, disputed attribution in other wordings.

The office files are built in :mod:`tests.loaders.office` (openpyxl, a GBK CSV) or committed
(``data/ledger_office.xls``); every outcome is exact: records per type, field values, the rows skipped with
their notes, the rejects with their field, the exit code.
"""

from __future__ import annotations

import csv
import datetime
import functools
from pathlib import Path

import pytest

from graph.store import Store
from loaders import rows as skip
from loaders import samr, templates
from loaders.base import LoadNote, ReadOptions, Reject, notes_path, read_data_table, write_notes
from loaders.load import load_files
from loaders.tables import read_tables, write_table
from ontology import identifiers as ids
from ontology.times import today
from ontology.units import split_quantity
from tests.loaders import office

DATA = Path(__file__).parent / "data"
MARKET = f"urn:foodtrace:operator:uscc:{office.USCC_MARKET}"
STALL = f"urn:foodtrace:operator:uscc:{office.USCC_STALL}"
SLAUGHTER = "urn:foodtrace:operator:OP-3"


def notes_of(notes: list[LoadNote]) -> list[tuple[str, object, str]]:
    return [(n.sheet, n.row, n.kind) for n in notes]


# -- a whole office workbook set, loaded as `foodtrace load` does ---------------------------------------

LEDGER_NOTES = [("进货台账", 3, "group"), ("进货台账", 11, "total"), ("进货台账", 12, "note"),
                ("进货台账", 13, "footer")]


def test_operators_and_ledger_xlsx_load_clean(store: Store, tmp_path: Path) -> None:
    operators = office.write_operators_xlsx(tmp_path / "经营户名录.xlsx")
    ledger = office.write_ledger_xlsx(tmp_path / "进货台账.xlsx")
    outcomes = load_files(store, [ledger, operators])
    assert [(o.path.name, o.template, o.exit_code, o.rejects) for o in outcomes] == [
        ("经营户名录.xlsx", "operators", 0, []), ("进货台账.xlsx", "deliveries", 0, [])]
    ops, led = outcomes
    assert notes_of(ops.notes) == [("说明", "sheet", "instructions"), ("经营户名录", 7, "total"),
                                   ("经营户名录", 8, "note"), ("经营户名录", 9, "footer")]
    assert notes_of(led.notes) == [("填表说明", "sheet", "instructions"), *LEDGER_NOTES]
    assert led.notes[2].value == "合计 | 286.2"
    # the USCC column is hidden; one code is in full-width digits, the other has blanks inside
    assert {o.id: (o.name, o.kind, o.uscc) for o in store.scan("operator")} == {
        MARKET: ("城东农贸市场", "FarmersMarket", office.USCC_MARKET),
        STALL: ("王五猪肉摊", "Stall", office.USCC_STALL),
        SLAUGHTER: ("通州区某某肉联厂", "Slaughterhouse", None)}
    deliveries = sorted(store.scan("delivery"), key=lambda d: (d.time, d.quantity))
    assert [(d.sender_id, d.time, d.received_time, d.quantity, d.unit) for d in deliveries] == sorted(
        [(SLAUGHTER, *e) for e in office.EXPECTED_DELIVERIES], key=lambda e: (e[1], e[3]))
    assert {d.receiver_id for d in deliveries} == {MARKET, STALL}
    # the hidden 批号 column is read: every lot carries its number
    assert sorted(lot.lot_number for lot in store.scan("lot")) == sorted(r[6] for r in office.LEDGER_ROWS)


@pytest.mark.parametrize("form", ["xlsx", "gbk_csv", "xls"])
def test_the_same_ledger_in_three_forms(sqlite_store: Store, tmp_path: Path, form: str) -> None:
    if form == "xlsx":
        path = office.write_ledger_xlsx(tmp_path / "台账.xlsx")
        sheet, instructions = "进货台账", [("填表说明", "sheet", "instructions")]
    elif form == "gbk_csv":
        path = office.write_ledger_gbk_csv(tmp_path / "台账.csv")
        sheet, instructions = "", []
    else:
        path = DATA / "ledger_office.xls"
        sheet, instructions = "进货台账", [("填表说明", "sheet", "instructions")]
    (o,) = load_files(sqlite_store, [path])
    assert (o.template, o.exit_code, o.rejects, o.error) == ("deliveries", 0, [], None)
    assert notes_of(o.notes) == instructions + [(sheet, row, kind) for _, row, kind in LEDGER_NOTES]
    key = functools.partial(sorted, key=lambda e: (e[0], e[1] or "", e[2]))
    assert key((d.time, d.received_time, d.quantity, d.unit) for d in sqlite_store.scan("delivery")) == key(
        office.EXPECTED_DELIVERIES)


@pytest.mark.parametrize("form", ["xlsx", "gbk_csv"])
def test_announcement_with_merged_rows_title_note_and_a_disputing_remark(store: Store, tmp_path: Path,
                                                                         form: str) -> None:
    """As published (.xlsx, the second failed item's row merged with the first's) and saved as a GBK CSV (the
    merges lost: that row holds only its item, result and limit): the same two samples, three results."""
    if form == "xlsx":
        path = office.write_announcement_xlsx(tmp_path / "不合格产品信息.xlsx")
        notes = [("说明", "sheet", "instructions"), ("不合格产品信息", 7, "note")]
    else:
        path = office.write_announcement_gbk_csv(tmp_path / "不合格产品信息.csv")
        notes = [("", 7, "note")]
    (o,) = load_files(store, [path])
    assert (o.kind, o.exit_code, o.rejects, o.warnings) == ("samr", 0, [], [])
    assert notes_of(o.notes) == notes
    samples = {s.product_name: s for s in store.scan("sample")}
    assert sorted(samples) == ["豇豆", "香肠"]
    beans, sausage = samples["豇豆"], samples["香肠"]
    # rows 4 and 5 are one sample: the merged producer, unit, food and batch cells are read in both rows
    results = {}
    for r in store.scan("test_result"):
        results.setdefault(r.sample_id, []).append((r.item, r.value, r.limit))
    assert sorted(results[beans.id]) == [("噻虫胺", 0.09, 0.01), ("灭蝇胺", 1.8, 0.5)]
    assert (beans.sampled_id, beans.batch, beans.disputed) == (MARKET_NAME_ID, "2026-02-20", False)
    assert beans.announcement == "食品安全监督抽检不合格产品信息 （2026年第5期）"
    assert results[sausage.id] == [("亚硝酸盐(以亚硝酸钠计)", 52.0, 30.0)]
    assert sausage.disputed is True
    assert sausage.remark == f"经核实，该产品非{office.ANNOUNCEMENT_PRODUCER}生产"


MARKET_NAME_ID = ids.operator_id(local="城东农贸市场")


# -- rejects: what is refused, naming the field -------------------------------------------------------

def _ledger_csv(tmp_path: Path, rows: list[list[str]]) -> Path:
    p = tmp_path / "bad.csv"
    write_table(p, office.LEDGER_HEADER, rows)
    return p


def test_implausible_dates_and_unit_conflicts_are_rejected_naming_the_field(tmp_path: Path) -> None:
    ahead = (today() + datetime.timedelta(days=2)).isoformat()
    tomorrow = (today() + datetime.timedelta(days=1)).isoformat()
    path = _ledger_csv(tmp_path, [
        ["1", "A", "B", "2099-03-01 08:00", "", "猪肉", "L1", "10", "千克"],
        ["2", "A", "B", f"{ahead} 08:00", "", "猪肉", "L2", "10", "千克"],
        ["3", "A", "B", "1989-12-31", "", "猪肉", "L3", "10", "千克"],
        ["4", "A", "B", "2026-03-05 10:00", "2026-03-05 09:59", "猪肉", "L4", "10", "千克"],
        ["5", "A", "B", "2026-03-05", "", "生猪", "L5", "25kg", "头"],
        ["6", "A", "B", "2026-03-05", "", "猪肉", "L6", "10斤", "千克"],
        ["7", "A", "B", "2026-03-05", "", "猪肉", "L7", "25.5 furlong", ""],
        ["8", "A", "B", f"{tomorrow} 23:00", "", "猪肉", "L8", "10斤", "斤"],   # a day's tolerance; 斤 = 斤
        ["9", "A", "B", "2026-03-05", "", "猪肉", "L9", "5 kg", "KGM"],
    ])
    rejects: list[Reject] = []
    records = list(templates.read(path, rejects))
    got = [(r.row, r.field, r.value) for r in rejects]
    assert got == [(2, "发货时间", "2099-03-01 08:00"), (3, "发货时间", f"{ahead} 08:00"),
                   (4, "发货时间", "1989-12-31"), (5, "收货时间", "2026-03-05 09:59"),
                   (6, "数量", "25kg"), (7, "数量", "10斤"), (8, "数量", "25.5 furlong")]
    reasons = [r.reason for r in rejects]
    assert reasons[0] == (f"2099-03-01 is in the future (today is {today().isoformat()} in Beijing): "
                          "发货时间/ship_time records what happened")
    assert reasons[2] == "1989-12-31 is before 1990-01-01: not a plausible date for 发货时间/ship_time"
    assert reasons[3] == ("received 2026-03-05T09:59:00+08:00 before it was shipped "
                          "(发货时间/ship_time 2026-03-05T10:00:00+08:00)")
    assert reasons[4] == "the quantity '25kg' is in kg but the unit column 单位/unit says '头'"
    assert reasons[5] == "the quantity '10斤' is in 斤 but the unit column 单位/unit says '千克'"
    assert reasons[6].startswith("unknown unit 'furlong'")
    delivered = sorted((d.lot_id.rsplit(":", 1)[1], d.quantity, d.unit) for d in records if d.table == "delivery")
    assert delivered == [("L8", 5.0, "KGM"), ("L9", 5.0, "KGM")]


def test_expiry_and_deadlines_may_lie_ahead_but_not_before_1990(tmp_path: Path) -> None:
    p = tmp_path / "lots.csv"
    write_table(p, ["产品", "批号", "生产日期", "保质期至"], [["猪肉", "L1", "2026-03-01", "2099-12-31"],
                                                             ["猪肉", "L2", "1900-01-01", ""]])
    rejects: list[Reject] = []
    lots = [r for r in templates.read(p, rejects) if r.table == "lot"]
    assert {lot.lot_number for lot in lots} == {"L1"} and "2099-12-31" in {lot.expiry_date for lot in lots}
    assert [(r.row, r.field) for r in rejects] == [(3, "生产日期")]


def test_codes_are_compared_without_blanks_and_a_bad_check_character_names_the_expected_one(tmp_path: Path) -> None:
    spaced = f"{office.USCC_MARKET[:6]} {office.USCC_MARKET[6:12]}\u3000{office.USCC_MARKET[12:]}"
    bad = office.USCC_MARKET[:17] + ("1" if office.USCC_MARKET[17] != "1" else "2")
    p = tmp_path / "ops.csv"
    write_table(p, ["名称", "主体类型", "统一社会信用代码"], [["城东农贸市场", "农贸市场", spaced],
                                                            ["坏码超市", "超市", bad]])
    rejects: list[Reject] = []
    ops = [r for r in templates.read(p, rejects) if r.table == "operator"]
    assert [(o.id, o.uscc) for o in ops] == [(MARKET, office.USCC_MARKET)]
    assert [(r.row, r.field, r.reason) for r in rejects] == [
        (3, "统一社会信用代码",
         f"USCC check character is {bad[17]}, expected {office.USCC_MARKET[17]} in '{bad}'")]
    d = tmp_path / "d.csv"  # a reference written with blanks resolves to the same operator
    write_table(d, ["发货方", "收货方", "发货时间", "数量", "单位", "产品", "批号"],
                [[spaced, office.USCC_MARKET, "2026-03-05", "3", "头", "生猪", "P1"]])
    (delivery,) = [r for r in templates.read(d, []) if r.table == "delivery"]
    assert delivery.sender_id == delivery.receiver_id == MARKET


# -- sheets -------------------------------------------------------------------------------------------

def test_a_named_instructions_sheet_is_read(tmp_path: Path) -> None:
    path = office.write_ledger_xlsx(tmp_path / "台账.xlsx")
    rejects: list[Reject] = []
    notes: list[LoadNote] = []
    records = list(templates.read(path, rejects, notes=notes, options=ReadOptions(sheets=("填表说明",))))
    assert sum(r.table == "delivery" for r in records) == 6
    assert [(r.row, r.reason.split(";")[0]) for r in rejects] == [("header", "headers match no template")]
    assert ("填表说明", "sheet", "instructions") not in notes_of(notes)


def test_a_sheet_matching_nothing_beside_a_template_is_a_note_and_alone_a_reject(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["发货方", "收货方", "发货时间", "数量", "单位", "产品", "批号"])
    ws.append(["A", "B", "2026-03-05", "3", "头", "生猪", "P1"])
    other = wb.create_sheet("Sheet2")
    other.append(["颜色", "尺寸"])
    other.append(["红", "大"])
    wb.save(tmp_path / "two.xlsx")
    notes: list[LoadNote] = []
    rejects: list[Reject] = []
    list(templates.read(tmp_path / "two.xlsx", rejects, notes=notes))
    assert (notes_of(notes), rejects) == ([("Sheet2", "sheet", "no_header")], [])
    only = openpyxl.Workbook()
    only.active.title = "说明"
    only.active.append(["填表说明"])
    only.save(tmp_path / "only.xlsx")
    notes, rejects = [], []
    assert list(templates.read(tmp_path / "only.xlsx", rejects, notes=notes)) == []
    assert notes_of(notes) == [("说明", "sheet", "instructions")]
    assert [(r.row, r.reason) for r in rejects] == [
        ("header", "no sheet of the file holds a template: every sheet is instructions or matches none")]


def test_notes_csv_beside_the_rejects(tmp_path: Path) -> None:
    path = notes_path(tmp_path / "rejects.csv")
    assert path.name == "rejects-notes.csv"
    n = write_notes([LoadNote("a.xlsx", "台账", 11, "total", "合计 | 286.2"),
                     LoadNote("a.xlsx", "说明", "sheet", "instructions", "填表说明")], path)
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert n == 2
    assert rows == [["文件/file", "工作表/sheet", "行/row", "类别/kind", "说明/label", "内容/value"],
                    ["a.xlsx", "台账", "11", "total", "合计行/a total row (合计, 小计, 总计)", "合计 | 286.2"],
                    ["a.xlsx", "说明", "sheet", "instructions", "说明工作表/an instructions sheet (说明, 填表说明)",
                     "填表说明"]]


# -- rows that are no records, one by one ---------------------------------------------------------------

HEADER = ["序号", "发货方", "收货方", "发货时间", "数量", "单位"]


@pytest.mark.parametrize("cells, span, kind", [
    (["合计", "", "", "", "112.5", "千克"], 0, "total"),
    (["", "合 计", "", "", "112"], 0, "total"),
    (["本页小计（千克）", "", "", "", "12"], 0, "total"),
    (["总计：", "", "", "", "12"], 0, "total"),
    (["共计5户"], 0, "total"),
    (["注：本台账由市场开办者每日填写。"], 6, "note"),
    (["备注", "以上数量为净重"], 0, "note"),
    (["说明：", "", ""], 0, "note"),
    (["（声明：以下信息仅指本次抽检标称的生产企业相关产品。）"], 6, "note"),
    (["填表人：张三", "", "审核人：李四"], 0, "footer"),
    (["填表人", "张三", "审核人", "李四"], 0, "footer"),
    (["日期：2026年3月6日"], 0, "footer"),
    (["单位（盖章）："], 0, "footer"),
    (["序号", "发货方", "收货方", "发货时间"], 0, "repeated_header"),
    (["12", "—", "/", "-"], 0, "blank"),
    (["13"], 0, "blank"),
    (["一、蔬菜类"], 0, "group"),
    (["（二）水产品"], 0, "group"),
    (["猪肉类"], 6, "group"),
])
def test_rows_that_are_no_records(cells: list[str], span: int, kind: str) -> None:
    assert skip.skip_reason(cells, HEADER, span=span) == kind


@pytest.mark.parametrize("cells", [
    ["1", "合计食品店", "城东农贸市场", "2026-03-01", "5", "千克"],
    ["2", "注册商标食品店", "城东农贸市场", "2026-03-01", "5", "千克"],
    ["3", "单位食堂", "城东农贸市场", "2026-03-01", "5", "千克"],
    ["4", "一品香食品店", "城东农贸市场", "2026-03-01", "5", "千克"],
    ["5", "日期食品店", "城东农贸市场", "2026-03-01", "5", "千克"],
    ["注", "某某", "城东", "2026-03-01", "5", "千克"],  # a note word in a full row is a record (to be judged)
    ["说明书印刷厂", "城东农贸市场", "2026-03-01", "5"],
])
def test_records_that_look_like_notes_are_records(cells: list[str]) -> None:
    assert skip.skip_reason(cells, HEADER) is None


@pytest.mark.parametrize("name, is_instructions", [
    ("说明", True), ("填表说明", True), ("使用说明 ", True), ("README", True), ("注意事项", True),
    ("进货台账", False), ("Sheet1", False), ("不合格产品信息", False), (None, False)])
def test_instructions_sheets(name: str | None, is_instructions: bool) -> None:
    assert skip.instructions_sheet(name) is is_instructions


# -- merged cells ------------------------------------------------------------------------------------

def test_merged_cells_spread_down_and_remember_their_width(tmp_path: Path) -> None:
    office.write_announcement_xlsx(tmp_path / "a.xlsx")
    (table, _) = read_tables(tmp_path / "a.xlsx", is_header=samr._is_header)
    rows = dict(table.rows)
    assert rows[5][:8] == rows[4][:8] and rows[5][8:11] == ["噻虫胺", "0.09mg/kg", "≤0.01mg/kg"]
    assert rows[5][11] == "/"
    assert table.spans == {1: 12, 2: 12, 7: 12}
    assert [cells[0] for _, cells in table.preamble] == ["食品安全监督抽检不合格产品信息", "（2026年第5期）"]


def test_html_rowspan_and_colspan(tmp_path: Path) -> None:
    p = tmp_path / "t.html"
    p.write_text("<table><tr><th>序号</th><th>食品名称</th><th>不合格项目</th></tr>"
                 "<tr><td rowspan=2>1</td><td rowspan=2>豇豆</td><td>灭蝇胺</td></tr><tr><td>噻虫胺</td></tr>"
                 "<tr><td colspan=3>注：以上信息由检验机构提供。</td></tr></table>", encoding="utf-8")
    (table,) = read_tables(p)
    assert table.rows == [(2, ["1", "豇豆", "灭蝇胺"]), (3, ["1", "豇豆", "噻虫胺"]),
                          (4, ["注：以上信息由检验机构提供。"])]
    assert table.spans == {4: 3}


# -- quantities with their unit -------------------------------------------------------------------------

@pytest.mark.parametrize("text, parts", [
    ("25.5kg", ("25.5", "kg")), ("25.5 公斤", ("25.5", "公斤")), ("3头", ("3", "头")), ("1.2吨", ("1.2", "吨")),
    ("1,200 斤", ("1,200", "斤")), ("８６．５公斤", ("86.5", "公斤")), ("120", ("120", "")), ("1e3", ("1e3", "")),
    ("kg", ("kg", "")), ("", ("", ""))])
def test_split_quantity(text: str, parts: tuple[str, str]) -> None:
    assert split_quantity(text) == parts


# -- disputed attribution: every pattern of the table, one by one ------------------------------------------

_, DISPUTE_ROWS = read_data_table(Path(samr.__file__).with_name("data") / "disputed_remarks.csv")


@pytest.mark.parametrize("row", DISPUTE_ROWS, ids=[r["id"] for r in DISPUTE_ROWS])
def test_each_dispute_pattern_matches_its_example_and_not_its_near_miss(row: dict[str, str]) -> None:
    ask = (functools.partial(samr.dispute_of, None) if row["field"] == "producer" else samr.dispute_of)
    found = ask(row["example"])
    assert found is not None and found.kind == row["kind"]
    assert any(p.id == row["id"] and p.pattern.search("".join(row["example"].split())) for p in samr.DISPUTE_PATTERNS)
    assert ask(row["near_miss"]) is None, row["near_miss"]


@pytest.mark.parametrize("remark", [
    "经核实，该产品非南通某某食品有限公司生产", "非该公司生产", "该批次产品与标称生产企业无关", "标称生产企业否认",
    "经查系假冒", "经核实，该批次产品并非由重庆豆奇食品有限公司生产。", "经山东省市场监管局核实，该产品并非来自聊城市奥祥禽业有限公司。",
    "经 核 实 ， 该 产 品 非 其 生 产"])
def test_disputing_wordings(remark: str) -> None:
    assert samr.is_disputed(remark)


@pytest.mark.parametrize("remark", [
    "执行标准：GB1534；质量等级：一级；加工工艺：压榨", "生产日期为购进日期", "企业对检验结果有异议，已申请复检",
    "涉嫌非法添加，已责令生产企业召回", "网抽平台名称：杭州阿里巴巴广告有限公司", "/", "工业和商用电动食品加工设备",
    "有效日期：2022年8月12日", "流通环节抽检"])
def test_plain_remarks_are_not_disputes(remark: str) -> None:
    assert not samr.is_disputed(remark)


def test_every_real_remark_that_disputes_is_found() -> None:
    """In the real files, the rows whose cells say 假冒, 并非, 无任何关系, 否认 or 故障 are exactly the disputed ones
    (the sample file's scraper shifted remarks into other columns: every cell is read there)."""
    from tests.conftest import shared_path

    found = []
    for folder, name in (("realdata", "cn_sampling_2015_2021_unqualified.csv"),
                         ("samples", "samr_unqualified_2019_sample.csv")):
        with shared_path(folder, name).open(encoding="utf-8-sig", newline="") as f:
            for r in csv.DictReader(f):
                disputed = (samr.is_disputed(r["备注"], r["标称生产企业名称"]) if folder == "realdata"
                            else any(samr.is_disputed(c) for c in r.values() if c))
                said = any(w in c for c in r.values() if c for w in ("假冒", "并非", "无任何关系", "否认", "故障"))
                assert disputed is said, r
                found += [name] if said else []
    assert len(found) == 7


def test_an_instructions_sheet_first_does_not_decide_the_kind(sqlite_store: Store, tmp_path: Path) -> None:
    """A workbook opening on its 说明 sheet is still an announcement (or a template) by its data sheet."""
    import openpyxl

    from loaders.load import sniff_kind

    path = office.write_announcement_xlsx(tmp_path / "a.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.move_sheet("说明", offset=-1)
    wb.save(path)
    assert openpyxl.load_workbook(path).sheetnames == ["说明", "不合格产品信息"]
    assert sniff_kind(path) == "samr"
    (o,) = load_files(sqlite_store, [path])
    assert (o.kind, o.exit_code, notes_of(o.notes)) == (
        "samr", 0, [("说明", "sheet", "instructions"), ("不合格产品信息", 7, "note")])
    ledger = office.write_ledger_xlsx(tmp_path / "l.xlsx")
    wb = openpyxl.load_workbook(ledger)
    wb.move_sheet("填表说明", offset=-1)
    wb.save(ledger)
    (o,) = load_files(sqlite_store, [ledger])
    assert (o.template, o.exit_code) == ("deliveries", 0)
