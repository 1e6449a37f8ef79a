"""A sampling plan (抽检计划): one row per planned sample, in the 合格 table's layout, without results.

parse -> normalise. :func:`read_plan` reads a CSV or Excel file (headers mapped by meaning exactly as
the announcement loader maps them, :data:`loaders.samr.HEADERS`), and :func:`normalise_row` turns each
row's cells into the plain fields the risk model reads, with the announcement loader's own rules: the
producer cell's parties (委托方 / 受委托方: the manufacturer is the producer), business names to operator
ids, the 分类 cell and the food name to the SAMR category, the task to its kind, the province. Nothing
is written to a store: a plan is scored, not loaded.

Every row comes back, in the file's order, with its cells as written (so that the plan can be written
back with its own columns, 序号 kept) and ``problems`` (what could not be read: no food name, a row
naming neither producer nor sampled unit ...); such a row is still scored from what is known.

>>> f = normalise_row({"标称生产企业名称": "委托方：甲公司；受委托方：乙食品有限公司", "被抽样单位名称": "某某超市",
...                    "食品名称": "酱油", "分类": "调味品/酱油", "任务来源/项目名称": "国内监督抽查(江苏市场监管局)",
...                    "被抽样单位所在省份": "江苏"})
>>> f["producer_name"], f["sampled_name"], f["province"], f["problems"]
('乙食品有限公司', '某某超市', '江苏', [])
>>> normalise_row({"食品名称": "黄豆芽", "标称生产企业名称": "/", "被抽样单位名称": "/"})["problems"]
['names neither a producer nor a sampled unit']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ontology.errors import UnreadableFile
from ontology.names import operator_id_for, province_of

from .categories import samr_category
from .measures import norm_text
from .samr import map_headers, parse_parties, task_kind_of
from .tables import read_tables

__all__ = ["Plan", "read_plan", "normalise_row", "PLAN_FIELDS"]

#: the fields a plan row may carry (announcement header names, mapped by meaning)
PLAN_FIELDS = ("seq", "producer", "producer_address", "sampled", "sampled_address", "province", "product", "spec",
               "brand", "batch", "category", "announcement", "announced", "task", "remark", "sampled_at")
_UNKNOWN = {"", "/", "-", "—", "无", "未知", "不详"}


@dataclass
class Plan:
    """A plan read from one file: its header (as written), and per row its number, cells and fields."""

    path: str
    header: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _is_plan_header(cells: list[str]) -> bool:
    cols, _ = map_headers(cells)
    return "product" in cols and ("sampled" in cols or "producer" in cols)


def read_plan(path: str | Path) -> Plan:
    """Every row of the first table of a plan file (CSV, GBK or UTF-8, or Excel) with its fields.

    Raises
    ------
    UnreadableFile
        The file cannot be read, or it has no header naming a food (食品名称) and a producer or sampled unit.
    """
    tables = read_tables(path, is_header=_is_plan_header)
    table = next((t for t in tables if _is_plan_header(t.header)), None)
    if table is None:
        raise UnreadableFile(str(path), "no plan header found: a plan needs 食品名称 and 标称生产企业名称 or "
                                        "被抽样单位名称 (the 合格 table's layout)")
    header = [h if h is not None else "" for h in table.header]
    plan = Plan(path=str(path), header=header)
    for number, cells in table.rows:
        cells = list(cells) + [""] * (len(header) - len(cells))
        row = normalise_row(dict(zip(header, cells)))
        row["row"] = number
        row["cells"] = cells[:len(header)]
        plan.rows.append(row)
    return plan


def _value(text: Any) -> str | None:
    if text is None:
        return None
    s = norm_text(text)
    return None if s in _UNKNOWN else s


def _name(text: str | None) -> str | None:
    """A business name as written, white space removed (NFKC already)."""
    return "".join(text.split()) or None if text is not None else None


def _operator(name: str | None) -> str | None:
    """The operator id the announcement loader gives a business named so (resolve it through the store)."""
    if name is None:
        return None
    return operator_id_for(name)


def _category(cell: str | None, food: str | None) -> dict[str, Any]:
    c = samr_category(cell, food)
    if c is None:
        return {"samr_path": None, "category_text": cell, "food_related": False}
    return {"samr_path": c.path, "category": c.category, "category_text": cell, "food_related": bool(c.food_related)}


def _task_kind(task: str | None) -> str | None:
    if task is None:
        return None
    return task_kind_of(task)


def _province(text: str | None) -> str | None:
    if text is None:
        return None
    return province_of(text)


def normalise_row(cells: dict[str, Any]) -> dict[str, Any]:
    """The fields of one plan row (a mapping header -> cell): a pure step, no store.

    Keys: ``seq``, ``producer_name``, ``producer_id``, ``brand_owner_name``, ``sampled_name``,
    ``sampled_id``, ``product_name``, ``batch``, ``samr_path``, ``category``, ``category_text``,
    ``food_related``, ``province``, ``task``, ``task_kind``, ``problems`` (list of English reasons).
    """
    cols, _ = map_headers(list(cells))
    keys = list(cells)
    f = {k: _value(cells[keys[i]]) for k, i in cols.items() if k in PLAN_FIELDS}
    parties = parse_parties(f["producer"]) if f.get("producer") else {}
    producer = _name(_value(parties.get("maker")))
    sampled = _name(f.get("sampled"))
    food = f.get("product")
    out: dict[str, Any] = {
        "seq": f.get("seq"), "producer_name": producer, "producer_id": _operator(producer),
        "brand_owner_name": _name(_value(parties.get("owner"))), "sampled_name": sampled,
        "sampled_id": _operator(sampled), "product_name": food, "batch": f.get("batch"),
        "samr_path": None, "category": None, "category_text": f.get("category"), "food_related": False,
        "province": _province(f.get("province")) or _province(f.get("sampled_address")), "task": f.get("task"),
        "task_kind": _task_kind(f.get("task")), "problems": []}
    out.update(_category(f.get("category"), food))
    if food is None:
        out["problems"].append("no food name (食品名称)")
    if producer is None and sampled is None:
        out["problems"].append("names neither a producer nor a sampled unit")
    return out

