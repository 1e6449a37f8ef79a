"""Food categories from what announcements carry: the 分类 cell and the food name -> SAMR sampling category.

The table is ``loaders/data/samr_categories.csv`` (versioned, with its sources): the 大类/亚类/次亚类/品种 of
supervisory sampling with the names 分类 cells have used over the years and the words of food names that place a
food. :func:`samr_category` reads a 分类 cell (``淀粉及淀粉制品/淀粉制品``, ``大类-->小类``, ``食品相关产品/洗涤剂/
消毒剂``) and a food name (``黄豆酱油（酿造酱油）``) and answers the most specific category both support: the
cell's, refined by the name within it; the name's alone where the cell is empty or unknown. Each category
carries the ontology's coarse food category (``Sample.category``) and whether it is a food-related product
(食品相关产品: detergents, machinery, packaging), which food risk leaves out.

Pure: the announcement loader and a sampling plan's reader call the same function.

>>> c = samr_category("淀粉及淀粉制品/淀粉制品", "粉条（淀粉制品）")
>>> (c.code, c.path, c.category, c.food_related)
('23.02', '淀粉及淀粉制品/淀粉制品', 'other', False)
>>> samr_category("", "黄豆酱油（酿造酱油）").path
'调味品/酱油'
>>> samr_category("", "猪肉大豆蛋白肠").path
'肉制品/熟肉制品'
>>> samr_category("食品相关产品/洗涤剂/消毒剂", "手洗餐具用洗涤剂").food_related
True
>>> samr_category("水产及其制品/生鲜（冻）水产品", "花甲（贝类）").path
'食用农产品/水产品/贝类'
>>> samr_category("", "") is None
True
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .base import read_data_table

__all__ = ["SamrCategory", "samr_category", "samr_table", "TABLE_VERSION", "split_category_cell"]

_TABLE = Path(__file__).with_name("data") / "samr_categories.csv"
LEVELS = {1: "大类", 2: "亚类", 3: "次亚类", 4: "品种"}


@dataclass(frozen=True)
class SamrCategory:
    """One SAMR sampling category (a row of the table) and how it was found."""

    code: str              # e.g. "03.01"
    level: int             # 1 大类 ... 4 品种
    name: str              # e.g. "酱油"
    path: str              # e.g. "调味品/酱油"
    category: str          # the ontology's coarse food category
    food_related: bool     # a 食品相关产品, not food
    basis: str = ""        # "分类", "食品名称" or "分类+食品名称": what placed the sample here

    @property
    def major(self) -> str:
        """The 大类's code."""
        return self.code.split(".")[0]


def _norm(text: object) -> str:
    s = unicodedata.normalize("NFKC", str(text or ""))
    return re.sub(r"\s+", "", s)


@dataclass(frozen=True)
class _Table:
    version: str
    rows: dict[str, SamrCategory]
    names: dict[str, list[str]]       # normalised name or alias -> codes
    keywords: dict[str, list[str]]    # normalised keyword -> codes
    longest: int                      # the longest keyword's length


@lru_cache(maxsize=1)
def _table() -> _Table:
    version, raw = read_data_table(_TABLE)
    rows: dict[str, SamrCategory] = {}
    names: dict[str, list[str]] = {}
    keywords: dict[str, list[str]] = {}
    for r in raw:
        code = r["code"]
        parent = rows.get(code.rsplit(".", 1)[0]) if "." in code else None
        category = r["category"] or (parent.category if parent else "other")
        food_related = r["food_related"] == "1" or bool(parent and parent.food_related)
        path = f"{parent.path}/{r['name']}" if parent else r["name"]
        rows[code] = SamrCategory(code, int(r["level"]), r["name"], path, category, food_related)
        for n in [r["name"], *r["aliases"].split("|")]:
            if _norm(n):
                names.setdefault(_norm(n), []).append(code)
        for k in r["keywords"].split("|"):
            if _norm(k):
                keywords.setdefault(_norm(k), []).append(code)
    return _Table(version, rows, names, keywords, max(map(len, keywords)))


def samr_table() -> list[SamrCategory]:
    """Every category of the table, in table order."""
    return list(_table().rows.values())


def __getattr__(name: str) -> str:
    if name == "TABLE_VERSION":
        return _table().version
    raise AttributeError(name)


def split_category_cell(cell: object) -> list[str]:
    """The parts of a 分类 cell, general first: ``大类-->小类``, ``a/b/c``, ``a>b``, ``a－b``.

    >>> split_category_cell("食品相关产品/洗涤剂/消毒剂"), split_category_cell("调味品-->酱油")
    (['食品相关产品', '洗涤剂', '消毒剂'], ['调味品', '酱油'])
    """
    s = _norm(cell)
    return [p for p in re.split(r"-*>+|→|/|\\|｜|\||－{1,}|—+", s) if p]


def _pick(codes: list[str], within: str | None) -> str | None:
    """One code of several a name matches: under ``within`` if any, else any; the most specific (a 大类 and its
    亚类 of the same name, 饼干/饼干, give the 亚类)."""
    if not codes:
        return None
    if within:
        under = [c for c in codes if c == within or c.startswith(within + ".")]
        codes = under or codes
    return max(codes, key=len)


def _from_cell(cell: object) -> str | None:
    t = _table()
    parts = split_category_cell(cell)
    if not parts:
        return None
    whole = _norm(cell)
    if whole in t.names:
        return t.names[whole][0]
    major = None
    for p in parts:  # the first part that names a category sets where later parts are looked up first
        if p in t.names:
            major = t.names[p][0]
            break
    best = major
    for p in reversed(parts):  # the most specific part that names a category
        if p in t.names:
            code = _pick(t.names[p], major)
            if code and (best is None or len(code) >= len(best)):
                best = code
            break
    return best


def _head_match(text: str, within: str | None) -> str | None:
    """The category of the keyword ending last in ``text`` (the head noun of a Chinese name), longest on ties.

    Keywords of categories under ``within`` are preferred when there are any.
    """
    t = _table()
    found = [(j, j - i, text[i:j]) for i in range(len(text)) for j in range(i + 1, min(len(text), i + t.longest) + 1)
             if text[i:j] in t.keywords]
    if within:
        inside = [f for f in found if any(c == within or c.startswith(within + ".") for c in t.keywords[f[2]])]
        found = inside or found
    if not found:
        return None
    return _pick(t.keywords[max(found)[2]], within)


def _from_name(name: object, within: str | None) -> str | None:
    s = _norm(name)
    if not s:
        return None
    main = re.sub(r"[(（\[【][^()（）\[\]【】]*[)）\]】]", "", s)
    inner = " ".join(re.findall(r"[(（\[【]([^()（）\[\]【】]*)[)）\]】]", s))
    return _head_match(main, within) or (_head_match(inner, within) if inner else None)


def samr_category(cell: object, food_name: object = None) -> SamrCategory | None:
    """The SAMR sampling category of a sample from its 分类 cell and food name, or None when neither places it.

    The cell decides the branch; the name refines it when its category lies within the cell's (a cell naming
    only 调味品 and the name 黄豆酱油 give 调味品/酱油); where they disagree the cell wins. With no usable cell the
    name alone decides.
    """
    t = _table()
    by_cell = _from_cell(cell)
    by_name = _from_name(food_name, by_cell)
    if by_cell and by_name and by_name != by_cell and by_name.startswith(by_cell + "."):
        code, basis = by_name, "分类+食品名称"
    elif by_cell:
        code, basis = by_cell, "分类"
    elif by_name:
        code, basis = by_name, "食品名称"
    else:
        return None
    row = t.rows[code]
    return SamrCategory(row.code, row.level, row.name, row.path, row.category, row.food_related, basis)
