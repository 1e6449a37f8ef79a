"""Spreadsheets as clerks make them, built for the tests: a market's 进货台账 and its operators list, an official
不合格 announcement, each with what office files carry besides their records (issue 19).

The workbooks are written with openpyxl (merged title rows, a group heading, a blank row, 合计 / 注 / 填表人 rows
at the end, a hidden column, a 说明 sheet); the same 台账 is written as a GBK CSV; ``data/ledger_office.xls`` is
its legacy .xls (``python -m tests.loaders.data.make_xls`` writes it from :data:`LEDGER_ROWS`).
"""

from __future__ import annotations

import datetime
from pathlib import Path

from ontology import identifiers as ids

__all__ = ["USCC_MARKET", "USCC_STALL", "OPERATORS_TITLE", "OPERATORS_HEADER", "LEDGER_TITLE", "LEDGER_HEADER",
           "LEDGER_ROWS", "LEDGER_TAIL", "INSTRUCTIONS", "write_operators_xlsx", "write_ledger_xlsx",
           "write_ledger_gbk_csv", "write_announcement_xlsx", "write_announcement_gbk_csv", "ANNOUNCEMENT_PRODUCER",
           "ANNOUNCEMENT_TITLE", "ANNOUNCEMENT_HEADER", "ANNOUNCEMENT_ROWS", "EXPECTED_DELIVERIES"]


def _uscc(body: str) -> str:
    return body + ids.uscc_check_char(body)


USCC_MARKET = _uscc("91320602MA1MXXXX0")
USCC_STALL = _uscc("92320602MA1NYYYY0")

OPERATORS_TITLE = "崇川区城东农贸市场经营户名录"
OPERATORS_HEADER = ["序号", "本地编号", "名称", "主体类型", "统一社会信用代码", "地址"]
INSTRUCTIONS = ["填表说明", "1. 主体类型填写：农贸市场、摊位、屠宰场等。", "2. 数量可带单位，如 25.5kg。"]


def _full_width(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def write_operators_xlsx(path: Path) -> Path:
    """Title merged across the top; the USCC column hidden, one code in full-width digits and one with blanks
    inside; a blank row; a 合计 row, a 注 row merged across, a 填表人 / 审核人 footer; a 说明 sheet."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "经营户名录"
    ws.append([OPERATORS_TITLE])
    ws.merge_cells("A1:F1")
    ws.append(OPERATORS_HEADER)
    ws.append([1, "OP-1", "城东农贸市场", "农贸市场", _full_width(USCC_MARKET), "南通市崇川区城东路1号"])
    ws.append([2, "OP-2", "王五猪肉摊", "摊位", " ".join([USCC_STALL[:4], USCC_STALL[4:8], USCC_STALL[8:]]),
               "城东农贸市场A12"])
    ws.append([])
    ws.append([3, "OP-3", "通州区某某肉联厂", "屠宰场", "", "南通市通州区"])
    ws.append(["合计", "", "3户"])                                          # row 7
    ws.append(["注：本名录由市场开办者每月更新。"])                           # row 8
    ws.merge_cells("A8:F8")
    ws.append(["填表人：张三", "", "审核人：李四", "", "日期：2026年3月6日"])  # row 9
    ws.column_dimensions["E"].hidden = True
    notes = wb.create_sheet("说明")
    for line in INSTRUCTIONS:
        notes.append([line])
    wb.save(path)
    return path


LEDGER_TITLE = "城东农贸市场进货台账（2026年3月）"
LEDGER_HEADER = ["序号", "发货方", "收货方", "发货时间", "收货时间", "产品", "批号", "数量", "单位"]
#: the 台账's records, with its ship times in six forms (an Excel date-time cell, a date serial, 2026.3.5,
#: 2026年3月5日, 2026/3/5 8:00, 20260305) and quantities with their unit in the cell
LEDGER_ROWS: list[list[object]] = [
    [1, "OP-3", "OP-1", datetime.datetime(2026, 3, 1, 6, 0), "", "猪肉", "L0301", "25.5kg", "千克"],
    [2, "OP-3", "OP-2", 46086, "", "猪肉", "L0305", "86.5 公斤", ""],
    [3, "OP-3", "OP-1", "2026.3.5", "2026.3.5 10:00", "白菜", "B0305", "1.2吨", ""],
    [4, "OP-3", "OP-1", "2026年3月5日", "", "生猪", "P0305", "3头", "头"],
    [5, "OP-3", "OP-2", "2026/3/5 8:00", "", "猪肉", "L0305B", "120", "千克"],
    [6, "OP-3", "OP-2", "20260305", "", "猪肉", "L0305C", "50", "斤"],
]
#: what follows the records: a total, a note, a footer
LEDGER_TAIL: list[list[object]] = [
    ["合计", "", "", "", "", "", "", "286.2", ""],
    ["注：数量以千克计，生猪以头计。"],
    ["填表人：张三", "", "审核人：李四", "", "", "", "日期：2026年3月6日"],
]
#: (ship time, receive time, quantity, unit code) of each delivery, in the rows' order
EXPECTED_DELIVERIES = [
    ("2026-03-01T06:00:00+08:00", None, 25.5, "KGM"),
    ("2026-03-05T00:00:00+08:00", None, 86.5, "KGM"),
    ("2026-03-05T00:00:00+08:00", "2026-03-05T10:00:00+08:00", 1.2, "TNE"),
    ("2026-03-05T00:00:00+08:00", None, 3.0, "H87"),
    ("2026-03-05T08:00:00+08:00", None, 120.0, "KGM"),
    ("2026-03-05T00:00:00+08:00", None, 25.0, "KGM"),
]


def write_ledger_xlsx(path: Path) -> Path:
    """Rows: 1 title (merged), 2 header, 3 a group heading (merged), 4-6 records, 7 blank, 8-10 records,
    11 合计, 12 注 (merged), 13 footer; the 批号 column hidden; a 填表说明 sheet."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "进货台账"
    ws.append([LEDGER_TITLE])
    ws.merge_cells("A1:I1")
    ws.append(LEDGER_HEADER)
    ws.append(["一、肉类及蔬菜"])
    ws.merge_cells("A3:I3")
    for row in LEDGER_ROWS[:3]:
        ws.append(row)
    ws.append([])
    for row in LEDGER_ROWS[3:]:
        ws.append(row)
    for row in LEDGER_TAIL:
        ws.append(row)
    ws.merge_cells("A12:I12")
    ws.column_dimensions["G"].hidden = True
    notes = wb.create_sheet("填表说明")
    for line in INSTRUCTIONS:
        notes.append([line])
    wb.save(path)
    return path


def _text(v: object) -> str:
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def write_ledger_gbk_csv(path: Path) -> Path:
    """The same 台账 as a GBK CSV: rows 1 title, 2 header, 3 group heading, 4-6 records, 7 blank, 8-10 records,
    11 合计, 12 注, 13 footer."""
    lines = [[LEDGER_TITLE], LEDGER_HEADER, ["一、肉类及蔬菜"], *LEDGER_ROWS[:3], [], *LEDGER_ROWS[3:], *LEDGER_TAIL]
    text = "\r\n".join(",".join(_text(c) for c in row) for row in lines) + "\r\n"
    path.write_bytes(text.encode("gbk"))
    return path


ANNOUNCEMENT_PRODUCER = "南通某某食品有限公司"
ANNOUNCEMENT_TITLE = ["食品安全监督抽检不合格产品信息", "（2026年第5期）"]
ANNOUNCEMENT_HEADER = ["序号", "标称生产企业名称", "标称生产企业地址", "被抽样单位名称", "被抽样单位所在省份", "食品名称",
                       "规格型号", "生产日期/批号", "不合格项目", "检验结果", "标准值", "备注"]
#: sample 1 failed two items (rows 4 and 5: the second holds only its item, result and limit); sample 2 carries a
#: remark that its named producer did not make it; then a 注 row
ANNOUNCEMENT_ROWS: list[list[object]] = [
    [1, "如皋市某某蔬菜合作社", "江苏省如皋市", "城东农贸市场", "江苏", "豇豆", "散装", "2026-02-20",
     "灭蝇胺", "1.8mg/kg", "≤0.5mg/kg", "/"],
    [None, None, None, None, None, None, None, None, "噻虫胺", "0.09mg/kg", "≤0.01mg/kg", None],
    [2, ANNOUNCEMENT_PRODUCER, "江苏省南通市", "王五猪肉摊", "江苏", "香肠", "500克/袋", "2026-01-10",
     "亚硝酸盐(以亚硝酸钠计)", "52mg/kg", "≤30mg/kg", f"经核实，该产品非{ANNOUNCEMENT_PRODUCER}生产"],
    ["注：以上不合格产品信息由检验机构提供。"],
]


def write_announcement_xlsx(path: Path) -> Path:
    """An official 不合格 table: two title rows merged across; sample 1 failed two items, written as rows 4 and 5
    whose other cells are merged vertically (how bureaus publish it); sample 2 (row 6) carries a remark that its
    named producer did not make it; row 7 a 注 merged across; a 说明 sheet."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "不合格产品信息"
    for n, line in enumerate(ANNOUNCEMENT_TITLE, start=1):
        ws.append([line])
        ws.merge_cells(f"A{n}:L{n}")
    ws.append(ANNOUNCEMENT_HEADER)
    for row in ANNOUNCEMENT_ROWS:
        ws.append(row)
    for col in "ABCDEFGHL":
        ws.merge_cells(f"{col}4:{col}5")
    ws.merge_cells("A7:L7")
    notes = wb.create_sheet("说明")
    for line in ("说明", "本表公布监督抽检不合格产品信息。"):
        notes.append([line])
    wb.save(path)
    return path


def write_announcement_gbk_csv(path: Path) -> Path:
    """The same announcement saved as a GBK CSV: the merges are lost, row 5 holds only the second failed item."""
    lines = [[t] for t in ANNOUNCEMENT_TITLE] + [ANNOUNCEMENT_HEADER] + ANNOUNCEMENT_ROWS
    text = "\r\n".join(",".join("" if c is None else str(c) for c in row) for row in lines) + "\r\n"
    path.write_bytes(text.encode("gbk"))
    return path
