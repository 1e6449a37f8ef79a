"""Reading tables in every encoding and format a city receives, and refusing what is not a table."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from loaders.tables import detect_format, read_header, read_table, read_tables, write_table
from ontology.errors import UnreadableFile

DATA = Path(__file__).parent / "data"


def test_utf8_bom_csv_with_extra_column() -> None:
    t = read_table(DATA / "operators.csv")
    assert t.header[:3] == ["本地编号", "名称", "主体类型"]
    assert t.header_row == 1
    assert t.rows[0][0] == 2
    assert t.rows[0][1][:2] == ["OP-1", "南通市崇川区鲜丰超市"]


def test_gbk_csv() -> None:
    t = read_table(DATA / "deliveries_gbk.csv")
    assert t.header[0] == "本地编号"
    assert t.rows[0][1][8] == "公斤"
    assert [n for n, _ in t.rows][:2] == [2, 3]


def test_title_row_above_header_csv() -> None:
    t = read_table(DATA / "samr_qualified.csv")
    assert t.header_row == 2
    assert t.header[0] == "序号"
    assert t.title == "南通市市场监督管理局食品安全监督抽检合格产品信息"
    assert t.rows[0][0] == 3


def test_xlsx_with_title_row_dates_and_numbers(tmp_path: Path) -> None:
    import datetime

    p = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["食品安全监督抽检不合格产品信息"])
    ws.merge_cells("A1:D1")
    ws.append([])
    ws.append(["名称", "日期", "时间", "数量"])
    ws.append(["猪肉", datetime.datetime(2026, 3, 1), datetime.datetime(2026, 3, 1, 8, 30), 120.0])
    ws.append([None, None, None, None])
    ws.append(["鸡蛋", datetime.date(2026, 3, 2), None, 2.5])
    ws.append(["公式", None, None, "=1+1"])
    wb.save(p)
    t = read_table(p)
    assert t.header == ["名称", "日期", "时间", "数量"]
    assert t.header_row == 3
    assert t.sheet == "Sheet"
    assert t.rows == [(4, ["猪肉", "2026-03-01", "2026-03-01T08:30:00", "120"]),
                      (6, ["鸡蛋", "2026-03-02", "", "2.5"]),
                      (7, ["公式"])]  # a formula without a cached value reads as empty; trailing empties dropped
    assert read_header(p) == ["名称", "日期", "时间", "数量"]


def test_xls_legacy_with_dates() -> None:
    t = read_table(DATA / "samr_unqualified.xls")
    assert t.header_row == 2
    assert t.title == "食品安全监督抽检不合格产品信息"
    assert t.rows[0][1][7] == "2026-02-03"
    assert t.rows[0][1][0] == "1"
    assert detect_format(DATA / "samr_unqualified.xls") == "xls"


def test_tsv_and_semicolon(tmp_path: Path) -> None:
    p = tmp_path / "a.tsv"
    p.write_text("名称\t数量\n猪肉\t1\n", encoding="utf-8")
    assert read_table(p).rows == [(2, ["猪肉", "1"])]
    q = tmp_path / "b.csv"
    q.write_text("名称;数量\n猪肉;1\n", encoding="utf-8")
    assert read_table(q).rows == [(2, ["猪肉", "1"])]


def test_quoted_multiline_cells_keep_row_numbers(tmp_path: Path) -> None:
    p = tmp_path / "q.csv"
    p.write_text('a,b\n"x\ny",1\n\n z ,2\n', encoding="utf-8")
    t = read_table(p)
    assert t.rows == [(2, ["x\ny", "1"]), (4, ["z", "2"])]


def test_misnamed_files_are_read_by_content(tmp_path: Path) -> None:
    p = tmp_path / "really_csv.xls"
    p.write_text("名称,数量\n猪肉,1\n", encoding="utf-8")
    assert read_table(p).rows == [(2, ["猪肉", "1"])]
    h = tmp_path / "really_html.xls"
    h.write_text("<html><body><table><tr><td>名称</td><td>数量</td></tr><tr><td>猪肉</td><td>1</td></tr>"
                 "</table></body></html>", encoding="utf-8")
    assert read_table(h).rows == [(2, ["猪肉", "1"])]


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"   \r\n  ", "empty file"),
    (bytes(range(256)) * 20, "binary data"),
    (b"PK\x03\x04" + b"\x00" * 100, "not a readable .xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "not a readable .xls"),
])
def test_unreadable(tmp_path: Path, content: bytes, reason: str) -> None:
    p = tmp_path / "bad.xlsx"
    p.write_bytes(content)
    with pytest.raises(UnreadableFile) as e:
        read_tables(p)
    assert reason in e.value.reason


def test_truncated_xlsx(tmp_path: Path) -> None:
    p = tmp_path / "t.xlsx"
    write_table(p, ["a", "b"], [["1", "2"]] * 50)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableFile, match="not a readable .xlsx"):
        read_table(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile):
        read_table(tmp_path / "nope.csv")


def test_write_csv_has_bom_and_round_trips(tmp_path: Path) -> None:
    p = tmp_path / "w.csv"
    write_table(p, ["名称", "备注"], [["猪肉", 'a,"b"'], ["鸡蛋", None]])
    assert p.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_table(p).rows == [(2, ["猪肉", 'a,"b"']), (3, ["鸡蛋"])]


def test_write_xlsx_round_trips(tmp_path: Path) -> None:
    p = tmp_path / "w.xlsx"
    write_table(p, [["标题"], ["名称", "数量"]], [["猪肉", 3]])
    t = read_table(p)
    assert (t.header, t.header_row, t.rows) == (["名称", "数量"], 2, [(3, ["猪肉", "3"])])


def test_write_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="use .csv"):
        write_table(tmp_path / "x.pdf", ["a"], [])


def test_read_header_of_big_csv_reads_only_the_top(tmp_path: Path) -> None:
    p = tmp_path / "big.csv"
    with open(p, "w", encoding="gb18030") as fh:
        fh.write("名称,数量\n")
        for i in range(60000):
            fh.write(f"猪肉{i},{i}\n")
    assert read_header(p) == ["名称", "数量"]


def test_lazy_csv_rows_equal_eager_rows(tmp_path: Path) -> None:
    p = tmp_path / "l.csv"
    write_table(p, [["标题"], ["名称", "数量"]], [["猪肉", "1"], [], ["鸡蛋", " 2 "], ["", ""]])
    (eager,) = read_tables(p)
    (lazy,) = read_tables(p, lazy=True)
    assert (lazy.header, lazy.header_row, lazy.title) == (eager.header, eager.header_row, eager.title)
    assert list(lazy.rows) == eager.rows == [(3, ["猪肉", "1"]), (5, ["鸡蛋", "2"])]
