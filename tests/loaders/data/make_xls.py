"""Writes ``samr_unqualified.xls`` (legacy BIFF8) once, with xlwt (``pip install xlwt``; not a test dependency).

Run from this folder: ``python make_xls.py``. The committed file is the fixture; this script documents it.
"""

__all__: list[str] = []


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
    wb.save("samr_unqualified.xls")


if __name__ == "__main__":
    main()
