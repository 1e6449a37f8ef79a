"""Writes ``samr_unqualified.xls`` and ``ledger_office.xls`` (legacy BIFF8) once, with xlwt (``pip install xlwt``;
not a test dependency).

Run from the repository root: ``python -m tests.loaders.data.make_xls``. The committed files are the fixtures;
this script documents them.
"""

from pathlib import Path

__all__: list[str] = []

HERE = Path(__file__).parent


def main() -> None:
    import datetime

    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("不合格产品信息")
    date = xlwt.easyxf(num_format_str="YYYY/M/D")
    ws.write_merge(0, 0, 0, 9, "食品安全监督抽检不合格产品信息")
    header = ["序号", "标称生产企业名称", "标称生产企业地址", "被抽样单位名称", "被抽样单位所在省份", "食品名称",
              "规格型号", "生产日期/批号", "不合格项目", "检验结果", "标准值", "公告日期", "备注"]
    for c, h in enumerate(header):
        ws.write(1, c, h)
    rows = [
        [1, "通州区某某肉联厂", "南通市通州区", "通州区某某农贸市场王五猪肉摊", "江苏", "猪肉", "散装",
         datetime.date(2026, 2, 3), "克伦特罗", "1.2μg/kg", "不得检出", datetime.date(2026, 3, 1), ""],
        [2, "/", "/", "海门区某某超市", "江苏", "豇豆", "散装", "/", "灭蝇胺\n噻虫胺", "1.8mg/kg\n0.09mg/kg",
         "≤0.5mg/kg\n≤0.01mg/kg", datetime.date(2026, 3, 1), "/"],
    ]
    for r, row in enumerate(rows, start=2):
        for c, v in enumerate(row):
            if isinstance(v, datetime.date):
                ws.write(r, c, v, date)
            else:
                ws.write(r, c, v)
    wb.save(str(HERE / "samr_unqualified.xls"))
    ledger()


def ledger() -> None:
    """The 进货台账 of :mod:`tests.loaders.office` as an .xls: the title and a group heading merged across, a
    blank row, 合计 / 注 (merged) / footer rows, the 批号 column hidden, a 填表说明 sheet."""
    import datetime

    import xlwt

    from tests.loaders import office

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("进货台账")
    stamp = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM")
    width = len(office.LEDGER_HEADER) - 1
    ws.write_merge(0, 0, 0, width, office.LEDGER_TITLE)
    for c, h in enumerate(office.LEDGER_HEADER):
        ws.write(1, c, h)
    ws.write_merge(2, 2, 0, width, "一、肉类及蔬菜")
    rows = [*office.LEDGER_ROWS[:3], [], *office.LEDGER_ROWS[3:]]
    r = 3
    for row in rows:
        for c, v in enumerate(row):
            if isinstance(v, datetime.datetime):
                ws.write(r, c, v, stamp)
            elif v != "":
                ws.write(r, c, v)
        r += 1
    total, note, footer = office.LEDGER_TAIL
    for c, v in enumerate(total):
        if v:
            ws.write(r, c, v)
    ws.write_merge(r + 1, r + 1, 0, width, note[0])
    for c, v in enumerate(footer):
        if v:
            ws.write(r + 2, c, v)
    ws.col(6).hidden = True
    notes = wb.add_sheet("填表说明")
    for i, line in enumerate(office.INSTRUCTIONS):
        notes.write(i, 0, line)
    wb.save(str(HERE / "ledger_office.xls"))


if __name__ == "__main__":
    main()
