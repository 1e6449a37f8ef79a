"""Rows and sheets that are no records: what office-made spreadsheets hold besides their data.

Clerks' tables carry, around and between the records, rows that a loader must
neither store nor reject: totals (合计, 小计, 总计), notes (注, 说明, 备注, 声明),
footers (填表人 / 审核人 / 日期), the header repeated (a printed page's header, a
pasted block), rows of only blanks or dashes (or a pre-numbered 序号 and
nothing else), and group headings merged across the table (一、蔬菜类); and,
beside the data, sheets of instructions (说明, 填表说明). :func:`skip_reason` and
:func:`instructions_sheet` recognise them (pure functions); the template and
announcement readers skip them with a :class:`loaders.base.LoadNote`.

What a row is told by: its *first filled cell* (after a row number in a 序号
column), read without blanks and in half-width forms, and for notes and group
headings how much of the row it fills.

* ``total``: the first filled cell starts with 合计, 小计, 总计, 共计 or 累计
  (also 本页合计, 本月小计 ...), followed by nothing, a colon, a bracket, a blank
  or a number: ``合计``, ``合 计``, ``合计：``, ``本页小计（千克）``, ``共计5户``;
  never ``合计食品店``.
* ``note``: it starts with 注, 备注, 说明, 附注, 填表说明 or 声明 followed by a colon,
  a number or nothing (``注：``, ``注1.``, ``（声明：以下信息仅指…）``), and the row
  has at most two filled cells or the cell is merged across the table.
* ``footer``: it is a signature label with a colon (``填表人：张三``,
  ``审核人:``, ``日期：2026年3月6日``, ``单位（盖章）：``), or the label alone when
  another cell of the row is one too (``填表人 | 张三 | 审核人 | 李四``).
* ``repeated_header``: at least two filled cells, at least half of them equal
  to the header at their column (or the reader's own header test says so).
* ``blank``: every filled cell is a dash or slash (``/ - — －``), apart from a
  whole number in a 序号 column.
* ``group``: the only filled cell is merged across at least half the table
  (:attr:`loaders.tables.Table.spans`), or is an ordinal heading (``一、蔬菜类``,
  ``（二）水产品``) in a table of three or more columns.

>>> header = ["序号", "发货方", "收货方", "发货时间", "数量", "单位"]
>>> skip = functools.partial(skip_reason, header=header)
>>> skip(["合 计", "", "", "", "112.5", "千克"]), skip(["", "合计：", "", "", "112"])
('total', 'total')
>>> skip(["注：本台账由市场开办者每日填写。"]), skip(["填表人：张三", "", "审核人：李四"])
('note', 'footer')
>>> skip(["12", "—", "/", "-"]), skip(["序号", "发货方", "收货方"]), skip(["一、蔬菜类"])
('blank', 'repeated_header', 'group')
>>> skip(["1", "合计食品店", "城东农贸市场", "2026-03-01", "5", "千克"]) is None
True
>>> instructions_sheet("填表说明"), instructions_sheet("进货台账")
(True, False)
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING, Callable, Collection, Sequence

if TYPE_CHECKING:
    from .base import LoadNote, Reject
    from .tables import Table

__all__ = ["skip_reason", "instructions_sheet", "sheet_skip_reason", "plan_sheets", "sheets_to_read", "row_text", "DASHES"]

#: cells that mean "nothing here"
DASHES = frozenset({"/", "-", "—", "--", "——", "－", "／", "---", "~", "～", "\\", "、"})
#: headers of a row-number column (a pre-numbered row holding only its number is blank)
_COUNTERS = frozenset({"序号", "编号", "行号", "no", "no.", "#", "序"})
_TOTAL = re.compile(r"^(本页|本月|本日|本周|本年|全年|全部|总)?(合计|小计|总计|共计|累计)(?=$|[:：(（\[【\d\s])")
_NOTE = re.compile(r"^(注|备注|说明|附注|注释|填表说明|填报说明|声明|特别说明|温馨提示)(?=$|[:：\d、.．(（])")
_FOOTER = re.compile(r"^(填表人|填报人|制表人|审核人|审核|复核人|复核|审批人|负责人|单位负责人|主管|经办人|记录人|"
                     r"统计人|监督人|检查人|填表日期|填报日期|制表日期|审核日期|报送日期|日期|填报单位|填表单位|"
                     r"制表单位|报送单位|单位|单位盖章|盖章|签字|签名|签章|联系电话|联系人|电话)"
                     r"(\((盖章|签字|签名|签章)\))?(?P<colon>[:：]|$)")
_ORDINAL = re.compile(r"^\(?[一二三四五六七八九十]{1,3}[)、.]")
#: first characters a skipped row's first cell may start with (the fast path: records rarely do)
_TRIGGERS = frozenset("合小总共累本全注备说附声填制审复负主经记统监检日单盖签联电特温一二三四五六七八九十(")


@functools.lru_cache(maxsize=1 << 14)
def _norm(cell: str) -> str:
    """A cell without blanks, in half-width forms (NFKC), brackets of the ``(``/``)`` kind."""
    s = "".join(unicodedata.normalize("NFKC", cell).split())
    return s.lstrip("*※【[").replace("【", "(").replace("】", ")")


def _filled(cell: str) -> bool:
    return bool(cell) and cell.strip() not in DASHES and bool(cell.strip())


def skip_reason(cells: Sequence[str], header: Sequence[str], *, span: int = 0,
                is_header: Callable[[list[str]], bool] | None = None) -> str | None:
    """Why a data row is no record (a key of :data:`loaders.base.NOTE_KINDS`), or None for a record.

    Parameters
    ----------
    cells : sequence of str
        The row as :mod:`loaders.tables` reads it (text, ``""`` for an empty cell).
    header : sequence of str
        The table's header row.
    span : int
        How many columns the merged cell holding the row's first value spans (0: not merged).
    is_header : callable, optional
        The reader's own test of a header row (a second header in the English keys, say).
    """
    first = -1
    for i, c in enumerate(cells):
        if c:
            first = i
            break
    if first < 0:
        return "blank"
    cell = cells[first]
    if cell.isdigit() and first < len(header) and _norm(header[first]).lower() in _COUNTERS:
        rest = next((j for j in range(first + 1, len(cells)) if _filled(cells[j])), -1)
        if rest < 0:
            return "blank"
        lead = cells[rest]
    else:
        rest, lead = first, cell
    stripped = lead.strip()
    if stripped in DASHES:
        if not any(_filled(c) for c in cells[rest + 1:]):
            return "blank"
    if (span < 2 and stripped[:1] not in _TRIGGERS and not (rest < len(header) and lead == header[rest])
            and not (stripped[:1] in "（【[*※" and len(stripped) > 1)):
        return None  # the fast path: how nearly every record starts
    text = _norm(lead)
    if _TOTAL.match(text):
        return "total"
    filled = [c for c in cells if _filled(c)]
    if _NOTE.match(text.lstrip("(")) and (len(filled) <= 2 or span >= 2):
        return "note"
    footer = _FOOTER.match(text)
    if footer and (footer.group("colon") or sum(1 for c in filled[1:] if _FOOTER.match(_norm(c))) >= 1):
        return "footer"
    same = sum(1 for j, c in enumerate(cells) if c and j < len(header) and _norm(c) == _norm(header[j]))
    if (same >= 2 and 2 * same >= len(filled)) or (is_header is not None and len(filled) >= 2
                                                   and is_header(list(cells))):
        return "repeated_header"
    if len(filled) == 1 and ((span >= 2 and 2 * span >= len(header)) or (len(header) >= 3 and _ORDINAL.match(text))):
        return "group"
    return None


def instructions_sheet(name: str | None) -> bool:
    """Whether a sheet's name says it holds instructions (说明, 填表说明, 使用说明, 注意事项, readme ...).

    >>> instructions_sheet("说明"), instructions_sheet("Sheet1 说明"), instructions_sheet("README")
    (True, True, True)
    """
    if not name:
        return False
    n = _norm(name).lower()
    return bool(re.search(r"说明|须知|注意事项|填表指南|帮助|readme|instruction|help|guide", n))


def sheet_skip_reason(name: str | None, *, matched: bool, named: bool, others_matched: bool) -> str | None:
    """Why a whole sheet is skipped with a note (``instructions`` or ``no_header``), or None to read it.

    A sheet the user named is always read (its rows are records, or rejects). A sheet whose name says it
    holds instructions is skipped even where its headers match (a 填表说明 sheet often shows an example
    table). A sheet whose headers match nothing is skipped when another sheet of the file matched;
    otherwise it stays the reader's reject (a file that is no table at all is refused, not noted).

    Parameters
    ----------
    name : str or None
        The sheet's name (None for a CSV).
    matched : bool
        Whether the sheet's headers match a table the reader reads.
    named : bool
        Whether the user named this sheet.
    others_matched : bool
        Whether another sheet of the file, not one of instructions, matched.

    >>> sheet_skip_reason("说明", matched=False, named=False, others_matched=True)
    'instructions'
    >>> sheet_skip_reason("Sheet2", matched=False, named=False, others_matched=True)
    'no_header'
    >>> sheet_skip_reason("Sheet2", matched=False, named=False, others_matched=False) is None
    True
    >>> sheet_skip_reason("说明", matched=True, named=True, others_matched=True) is None
    True
    """
    if named:
        return None
    if instructions_sheet(name):
        return "instructions"
    if not matched and others_matched:
        return "no_header"
    return None


def plan_sheets(tables: Sequence["Table"], matches: Callable[["Table"], bool],
                named: Collection[str] = ()) -> list[tuple["Table", str | None]]:
    """Each table of a file with why it is skipped (:func:`sheet_skip_reason`), or None to read it.

    ``matches`` says whether a table's headers match what the reader reads; ``named`` are the sheets the
    user named.
    """
    named = set(named)
    instr = [instructions_sheet(t.sheet) and t.sheet not in named for t in tables]
    matched = [matches(t) for t in tables]
    out = []
    for i, t in enumerate(tables):
        others = any(m and not s for j, (m, s) in enumerate(zip(matched, instr)) if j != i)
        out.append((t, sheet_skip_reason(t.sheet, matched=matched[i], named=t.sheet in named,
                                         others_matched=others)))
    return out


def sheets_to_read(path: str, tables: Sequence["Table"], matches: Callable[["Table"], bool],
                   named: Collection[str], notes: list["LoadNote"], rejects: list["Reject"],
                   what: str) -> list["Table"]:
    """The tables of a file a reader reads (:func:`plan_sheets`); the others become notes.

    When no sheet is left (a workbook of instructions only) the file gets one reject (row ``header``)
    saying that none holds ``what``: loading it stored nothing, which a user must not take for success.
    """
    from .base import LoadNote, Reject

    keep = []
    for table, why in plan_sheets(tables, matches, named):
        if why is None:
            keep.append(table)
        else:
            notes.append(LoadNote(path, table.sheet or "", "sheet", why, row_text(table.header)))
    if not keep:
        rejects.append(Reject(path, "header", "", " | ".join(t.sheet or "" for t in tables)[:500],
                              f"no sheet of the file holds {what}: every sheet is instructions or matches none"))
    return keep


def row_text(cells: Sequence[str]) -> str:
    """A row's filled cells joined by `` | `` (what a note shows of it).

    >>> row_text(["合计", "", "112.5", "千克"])
    '合计 | 112.5 | 千克'
    """
    return " | ".join(c for c in cells if c)[:500]
