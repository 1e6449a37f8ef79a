"""Official sampling announcements (监督抽检信息): the 不合格 and 合格 tables bureaus publish.

parse -> normalise -> emit. Headers are mapped by meaning (:data:`HEADERS`
lists every variant known); a table with a failure column (combined
``不合格项目║检验结果║标准值``, split ``不合格项目``/``检验结果``/``标准值``, or
``主要不合格项目``/``不符合项目``) is a 不合格 table, one without is a 合格 table
(or a ``结论`` column decides per row).

What becomes what
-----------------
* One **Sample** per producer + sampled unit + product + 生产日期/批号 +
  announcement, however many rows or failed items it has; its id is a hash of
  that natural key (``urn:foodtrace:sample:samr:{20 hex}``), so reloading a file
  changes nothing. One **TestResult** per failed item (合格 tables give none:
  their items are not published).
* **Operators** are keyed by name (documented choice: announcements give no
  codes, and counting the red line "3 nonconforming batches of one product of
  one producer" needs one producer across announcements): the id is
  ``operator_id(local=name)``, or the operator the store resolves that form to
  (the template loader aliases every registered operator's name so). The kind
  is inferred from the name (超市 -> Supermarket, 摊 -> Stall, 屠宰 ->
  Slaughterhouse ...), else ``Producer`` for producers and ``Operator`` for
  sampled units; an operator already in the store is never overwritten.
* "委托方：A；受委托方：B" (and 出品商/监制商 vs 生产商/制造商): B is the
  producer (manufacturer), A the brand owner. A distributor, importer or
  supplier (经销商, 进口商, 供货商) is the named producer only when no
  manufacturer is named.
* A **Product** per producer + product name.
* ``disputed=True`` when 备注 says the named producer denies making it
  (否认, 并非, 非其生产, 无任何关系, 假冒 ...) or the cause lay elsewhere
  (储存不当, 经营者原因, 冷柜/冰柜 故障 ...); the remark is kept.
* The plan is ``monitoring`` when the title, 公告 or 任务来源 says 风险监测, else
  ``supervisory``. The hazard class of an item comes from :data:`HAZARD_ITEMS`.

Shifted rows (a scraper that mapped cells by count) are interpreted when the
cells after the product name hold exactly one item, one result and one limit,
recognised by their content; otherwise the row is rejected with the reason.
"/" and empty cells mean unknown.

>>> m = parse_measure("≤0.1mg/kg", limit=True)
>>> (m.value, m.unit, m.op)
(0.1, 'mg/kg', '≤')
>>> parse_measure("3.7×104, 4.6×104 CFU/g").value
46000.0
>>> hazard_class_of("恩诺沙星（以恩诺沙星与环丙沙星之和计）"), hazard_class_of("菌落总数")
('vet_drug', 'microbial')
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ontology import identifiers as ids
from ontology import vocab
from ontology.errors import FoodtraceError, InvalidIdentifier, InvalidRecord
from ontology.records import Operator, Product, Record, Sample, TestResult, with_placeholders
from ontology.units import concentration_factor

from .base import ReadOptions, Reject
from .measures import FORBIDDEN, NONE_DETECTED, hazard_class_of, norm_text, parse_measure
from .tables import Table, read_tables

if TYPE_CHECKING:
    from graph.store import Store

__all__ = ["read", "HEADERS", "parse_parties", "is_disputed", "map_headers"]

def _districts() -> dict[str, tuple[str, str]]:
    from ontology.vocab import labels

    return {(k if k.startswith("urn:") else f"urn:foodtrace:region:{k}"): v for k, v in labels("region").items()
            if not v[0].endswith("南通市")}


_DISTRICTS = _districts()


# -- parties and remarks ----------------------------------------------------------------------------

_MAKER = ("受委托方", "被委托方", "受托方", "受委托生产企业", "受委托企业", "生产商", "生产企业", "制造商", "生产者",
          "生产厂家", "生产厂商", "加工商", "生产单位")
_OWNER = ("委托方", "委托企业", "委托单位", "委托生产企业", "出品商", "监制商", "品牌商", "品牌方", "商标所有人",
          "出品方", "监制方")
_TRADER = ("经销商", "进口商", "供货商", "代理商", "总经销", "分销商", "销售商", "供应商", "进口代理商")


def _role(label: str) -> str | None:
    label = label.strip().replace("地址", "")
    for r in _MAKER:
        if label.endswith(r) or label == r:
            return "maker"
    for r in _OWNER:
        if label.endswith(r) or label == r:
            return "owner"
    for r in _TRADER:
        if r in label:
            return "trader"
    return None


def _strip_name(name: str) -> str:
    name = re.sub(r"[(（][^()（）]*(经销商|供货商|进口商|代理商|原产国|原产地|生产商|委托)[^()（）]*[)）]", "", name)
    name = re.split(r"原产国|原产地", name)[0]
    return name.strip(" ：:;；,，")


def parse_parties(text: str) -> dict[str, str]:
    """Named parties of a producer cell: ``{"maker": ..., "owner": ..., "trader": ...}`` (those present).

    >>> parse_parties("委托方：乌鲁木齐西域之尚电子商务有限公司；受委托方：潍坊万利来食品有限公司")
    {'owner': '乌鲁木齐西域之尚电子商务有限公司', 'maker': '潍坊万利来食品有限公司'}
    >>> parse_parties("艾斯普瑞（广州）食品有限公司（中国经销商）原产国：葡萄牙")
    {'maker': '艾斯普瑞（广州）食品有限公司'}
    """
    s = norm_text(text).replace("\u3000", " ")
    s = s.replace("(", "（").replace(")", "）")
    out: dict[str, str] = {}
    parts = [p.strip() for p in re.split(r"[;；\n]", s) if p.strip()]
    plain = []
    for p in parts:
        m = re.match(r"^([^：:]{1,12})[：:](.+)$", p)
        role = _role(m.group(1)) if m else None
        if m and role:
            name = _strip_name(m.group(2))
            if name and role not in out:
                out[role] = name
        elif m and m.group(1).strip() in ("原产国", "原产地"):
            continue
        else:
            plain.append(_strip_name(p))
    if plain and "maker" not in out:
        first = next((x for x in plain if x), "")
        if first:
            out["maker"] = first
    if "maker" not in out and "trader" in out:
        out["maker"] = out.pop("trader")
    return out


_DENIAL = re.compile(r"否认|并非|非其生产|不是其生产|非该企业生产|非该公司生产|无任何关系|无关|假冒|冒用|仿冒|伪造|"
                     r"不是该(企业|公司)|未生产|没有生产|从未生产")
_ELSEWHERE = re.compile(r"储存不当|贮存不当|存储不当|储藏不当|保存不当|运输不当|经营者原因|经营环节|销售环节|"
                        r"(冷柜|冰柜|冷藏柜|冷冻柜|制冷).{0,12}(故障|异常|损坏)|故障导致")


def is_disputed(remark: str | None) -> bool:
    """Whether a remark says the named producer denies it or the cause lay elsewhere.

    >>> is_disputed("经核查，标称生产企业否认生产该批次产品")
    True
    >>> is_disputed("该批次产品不合格是冷饮站存储该产品的冰柜制冷系统发生故障导致。")
    True
    >>> is_disputed("执行标准：GB1534"), is_disputed(None)
    (False, False)
    """
    if not remark:
        return False
    s = norm_text(remark)
    return bool(_DENIAL.search(s) or _ELSEWHERE.search(s))


# -- headers --------------------------------------------------------------------------------------

#: field -> header variants (normalised: NFKC, no white space)
HEADERS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "编号"),
    "producer": ("标称生产企业名称", "生产企业名称", "标称生产厂家", "标识生产企业名称", "标称生产企业或供货单位名称",
                 "标称生产企业", "标称生产者名称", "生产企业", "生产厂家", "标称生产厂家名称", "标示生产企业名称",
                 "标称生产企业/进口商名称", "标称生产企业（供货商）名称"),
    "producer_address": ("标称生产企业地址", "生产企业地址", "标称生产厂家地址", "标识生产企业地址",
                         "标称生产企业或供货单位地址", "标称生产者地址", "标示生产企业地址"),
    "sampled": ("被抽样单位名称", "被抽样单位", "被抽检单位名称", "被抽检单位", "被抽样单位名"),
    "sampled_address": ("被抽样单位地址", "被抽样单位所在省份", "被抽样单位所在地", "被抽检单位地址",
                        "被抽样单位所在省", "被抽样单位所在省份/地址"),
    "product": ("食品名称", "样品名称", "产品名称", "抽检食品名称"),
    "spec": ("规格型号", "规格", "规格型号/包装"),
    "brand": ("商标", "品牌"),
    "batch": ("生产日期/批号", "生产日期", "批号", "生产日期或批号", "生产(购进)日期/批号", "生产日期/批次",
              "生产（购进）日期/批号", "购进日期/批号"),
    "category": ("分类", "食品大类", "食品类别", "食品细类", "类别", "食品分类"),
    "announcement": ("公告号", "公告标题", "通告号", "期号", "公告", "通告标题", "通告"),
    "announced": ("公告日期", "发布时间", "发布日期", "通告日期", "公布日期"),
    "task": ("任务来源/项目名称", "任务来源", "项目名称", "抽检类型", "任务类别"),
    "lab": ("检验机构", "检验机构名称", "承检机构", "检测机构"),
    "remark": ("备注", "说明"),
    "item": ("不合格项目", "不合格项目名称"),
    "value": ("检验结果", "实测值", "检测结果", "检验值"),
    "limit": ("标准值", "标准要求", "标准限值", "限量值", "判定依据值"),
    "conclusion": ("结论", "检验结论", "判定结论", "检验结果判定"),
    "sampled_at": ("抽样日期", "抽检日期", "采样日期"),
}
_HEADER_INDEX = {v: k for k, vs in HEADERS.items() for v in vs}
_SEP = re.compile(r"║|\|\||‖|｜|\|")


def _hnorm(h: str) -> str:
    return "".join(norm_text(h).split())


def map_headers(headers: list[str]) -> tuple[dict[str, int], tuple[int, tuple[str, ...]] | None]:
    """Field -> column of an announcement header row, and the combined failure column with its field order.

    >>> cols, combined = map_headers(["序号", "标称生产企业名称", "被抽样单位名称", "食品名称", "不合格项目║检验结果║标准值"])
    >>> sorted(cols), combined
    (['producer', 'product', 'sampled', 'seq'], (4, ('item', 'value', 'limit')))
    >>> map_headers(["食品名称", "被抽样单位", "不合格项目（标准值/实测值）"])[1]
    (2, ('item', 'limit', 'value'))
    """
    cols: dict[str, int] = {}
    combined = None
    for i, h in enumerate(headers):
        n = _hnorm(h)
        if not n:
            continue
        if n in _HEADER_INDEX:
            cols.setdefault(_HEADER_INDEX[n], i)
            continue
        if combined is None and re.search(r"不合格项目|不符合项目|主要不合格|不合格原因", n):
            inner = re.sub(r"^[^（(]*[（(](.*)[)）]$", r"\1", n) if re.search(r"[（(].*[)）]$", n) else n
            order = []
            for part in re.split(r"║|\|\||‖|｜|\||/|、", inner):
                if re.search(r"项目", part):
                    order.append("item")
                elif re.search(r"标准|限量|要求", part):
                    order.append("limit")
                elif re.search(r"结果|实测|检测值|检验值", part):
                    order.append("value")
            if n != inner:
                order = ["item"] + [o for o in order if o != "item"]
            if "item" not in order:
                order.insert(0, "item")
            combined = (i, tuple(dict.fromkeys(order)))
            continue
        for variant, f in _HEADER_INDEX.items():  # 标称生产企业名称\n(委托方) and other decorated headers
            if len(variant) >= 4 and n.startswith(variant) and f not in cols:
                cols[f] = i
                break
    return cols, combined


def _is_header(cells: list[str]) -> bool:
    cols, _ = map_headers(cells)
    return "product" in cols and ("sampled" in cols or "producer" in cols)


# -- cell classification (for shifted rows) ---------------------------------------------------------

_VALUE = re.compile(r"^[<＜>＞]?\s*\d+(\.\d+)?(\s*[×xX*]\s*10\^?[-−]?\d+)?\s*([a-zA-Zμµ%][a-zA-Zμµ/0-9().%]*)?"
                    r"(\s*[,，;；、]\s*[<＜>＞]?\s*\d+(\.\d+)?(\s*[×xX*]\s*10\^?[-−]?\d+)?\s*"
                    r"([a-zA-Zμµ%][a-zA-Zμµ/0-9().%]*)?)*$")
_DATE = re.compile(r"^\d{4}([-/.]\d{1,2}[-/.]\d{1,2}|年\d{1,2}月\d{1,2}日?|\d{4})$")
_LAB = re.compile(r"检验|检测|研究院|质检|技术中心|检验所|监测中心")
_REMARK = re.compile(r"^经|核实|核查|执行标准|质量等级|加工工艺|备注|标注|标签")
_SPEC = re.compile(r"散装|称重|计量|^\d+(\.\d+)?\s*(克|千克|g|kg|ml|mL|毫升|L|升|斤|盎司)|/(袋|盒|瓶|包|罐|桶|箱|支|个|听)$")
_ITEM = re.compile(r"以.+计|残留量|总数|计数|菌群|菌$|毒素|酸价|过氧化值|代谢物")


def _classify(s: str, column: str) -> str:
    t = s.replace("\xa0", " ").strip()
    low = t.casefold().replace(" ", "")
    if column == "source" or t.lower().startswith("http"):
        return "url"
    if any(low.startswith(w) for w in FORBIDDEN) or re.match(r"^(≤|<=|≦|≥|>=|≧|不超过|不大于)", t) \
            or (re.search(r"n\s*=", t) and re.search(r"c\s*=", t)):
        return "limit"
    if any(low.startswith(w) for w in NONE_DETECTED) or _VALUE.match(t):
        return "value"
    if _DATE.match(t):
        return "date"
    if _REMARK.search(t):
        return "remark"
    if _LAB.search(t) and re.search(r"院|所|中心|局|机构|站|公司", t):
        return "lab"
    if _SPEC.search(t):
        return "spec"
    if column == "brand" and not hazard_class_of(t):
        return "brand"
    if hazard_class_of(t) or _ITEM.search(t):
        return "item"
    return "other"


# -- reading ---------------------------------------------------------------------------------------

class _RowBad(Exception):
    def __init__(self, field: str, value: str, reason: str):
        super().__init__(reason)
        self.field, self.value, self.reason = field, value, reason


@dataclass
class _Failure:
    item: str
    value: str
    limit: str


@dataclass
class _Group:
    row: int
    fields: dict[str, str]
    failures: list[_Failure] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    labs: list[str] = field(default_factory=list)
    conclusion: str | None = None


def _v(s: str | None) -> str:
    t = (s or "").replace("\xa0", " ").replace("\u3000", " ").strip()
    return "" if t in ("/", "-", "—", "--", "／", "无", "null", "None") else t


def _split_items(item: str, value: str, limit: str) -> list[_Failure]:
    items = [x.strip() for x in re.split(r"[\n;；]", item) if x.strip()]
    if len(items) <= 1:
        return [_Failure(item.strip(), value, limit)]
    for sep in (r"\n", r"[\n;；]"):
        vals = [x.strip() for x in re.split(sep, value) if x.strip()] if value else []
        lims = [x.strip() for x in re.split(sep, limit) if x.strip()] if limit else []
        if (not vals or len(vals) == len(items)) and (not lims or len(lims) == len(items)):
            return [_Failure(it, vals[k] if vals else "", lims[k] if lims else "") for k, it in enumerate(items)]
    raise _RowBad("不合格项目", item, f"{len(items)} items but the results/limits do not pair up with them")


def _split_combined(cell: str, order: tuple[str, ...]) -> list[_Failure]:
    s = _SEP.sub("║", cell.strip())
    if "║" not in s:
        return [_Failure(x.strip(), "", "") for x in re.split(r"[\n;；、]", s) if x.strip()]
    tokens = s.split("║")
    width = len(order)
    fields_: list[list[str]] = [[tokens[0].strip()]]
    for tok in tokens[1:]:
        cur = fields_[-1]
        if len(cur) < width:
            if len(cur) == width - 1:
                m = re.match(r"^(.*)[\n;；]\s*([^\n;；]+)$", tok, re.S)
                if m and tok is not tokens[-1]:
                    cur.append(m.group(1).strip())
                    fields_.append([m.group(2).strip()])
                    continue
            cur.append(tok.strip())
        else:
            raise _RowBad("不合格项目║检验结果║标准值", cell, "combined cell has more fields than the header names")
    out = []
    for f in fields_:
        if len(f) != width:
            raise _RowBad("不合格项目║检验结果║标准值", cell,
                          f"combined cell entry {'║'.join(f)!r} has {len(f)} fields, expected {width}")
        d = dict(zip(order, f))
        out.append(_Failure(d.get("item", ""), d.get("value", ""), d.get("limit", "")))
    return out


def _regular(f: _Failure) -> bool:
    """The item, result and limit cells hold what their headers say (each line of a multi-item cell)."""
    def all_lines(text: str, ok: tuple[str, ...], column: str) -> bool:
        return all(_classify(x, column) in ok for x in text.split("\n") if x.strip())
    return (all_lines(f.item, ("item", "other", "brand"), "item")
            and (not f.value or all_lines(f.value, ("value",), "value"))
            and (not f.limit or all_lines(f.limit, ("limit", "value"), "limit")))


_SHIFT_COLUMNS = ("spec", "brand", "batch", "licence", "approval", "item", "value", "limit", "remark", "lab")


def _interpret_shifted(order: list[tuple[str, str]]) -> dict[str, object]:
    """Content-based reading of a shifted row: exactly one item, one result, one limit or a reject."""
    found: dict[str, list[str]] = {}
    for column, s in order:
        if s:
            found.setdefault(_classify(s, column), []).append(s)
    items, values, limits = found.get("item", []), found.get("value", []), found.get("limit", [])
    cellsum = "; ".join(f"{c}={s}" for c, s in order if s)
    if len(items) != 1 or len(values) != 1 or len(limits) != 1:
        raise _RowBad("row", cellsum[:300],
                      f"columns are shifted and the cells after the product name hold {len(items)} item(s), "
                      f"{len(values)} result(s) and {len(limits)} limit(s): cannot tell which result belongs "
                      "to which item")
    return {"failure": _Failure(items[0], values[0], limits[0]),
            "batch": (found.get("date") or [""])[0],
            "spec": (found.get("spec") or [""])[0],
            "brand": (found.get("brand") or [""])[0],
            "remark": "；".join(found.get("remark", []) + found.get("other", [])),
            "lab": (found.get("lab") or [""])[0]}


def _natural_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


_SAMPLED_KINDS = (
    (r"学校|幼儿园|中学|小学|大学.*食堂|食堂", "SchoolCanteen"),
    (r"屠宰", "Slaughterhouse"),
    (r"(农贸|集贸|菜)市场.*(摊|铺|号)|摊位|摊$|(批发市场|交易市场).*(摊|铺位|号铺)", "Stall"),
    (r"批发市场|交易市场|批发部|批发商行", "WholesaleMarket"),
    (r"农贸市场|集贸市场|菜市场", "FarmersMarket"),
    (r"超市|购物|商场|大润发|沃尔玛|家乐福|华润万家|永辉|物美|联华|苏果|欧尚|麦德龙|山姆|百货", "Supermarket"),
    (r"餐饮|饭店|酒店|餐厅|酒楼|饭庄|小吃|快餐|火锅", "Restaurant"),
    (r"配送", "Distributor"),
    (r"冷库|冷链", "ColdStore"),
    (r"养殖|合作社|农场|牧场", "Farm"),
)


def _kind_of(name: str, default: str) -> str:
    for pat, kind in _SAMPLED_KINDS:
        if re.search(pat, name):
            if default == "Producer" and kind in ("Stall", "Supermarket", "Restaurant", "FarmersMarket"):
                continue
            return kind
    return default


class _Emitter:
    def __init__(self, store: "Store | None"):
        self.store = store
        self.seen: set[tuple[str, str]] = set()

    def operator(self, name: str, address: str, default_kind: str) -> tuple[str, Operator | None]:
        oid = ids.operator_id(local=name)
        if self.store is not None:
            try:
                resolved = self.store.resolve(oid)
            except FoodtraceError:
                resolved = None
            if resolved is not None and resolved != oid:
                return resolved, None
            try:
                if self.store.get("operator", oid) is not None:
                    return oid, None
            except FoodtraceError:
                pass
        if ("operator", oid) in self.seen:
            return oid, None
        self.seen.add(("operator", oid))
        # the kind and district are guessed from the name and address: placeholders, which never replace
        # what an operators template or EPCIS master data says
        return oid, with_placeholders(Operator(id=oid, kind=_kind_of(name, default_kind), name=name,
                                               address=address or None,
                                               region_id=_district_in(address) or _district_in(name)),
                                      "kind", "region_id")


def _district_in(text: str | None) -> str | None:
    """The Nantong district named in an address or a name, as a region id (None if none or several).

    >>> _district_in("江苏省南通市崇川区工农路1号")
    'urn:foodtrace:region:320602'
    >>> _district_in("南京市玄武区") is None
    True
    """
    if not text:
        return None
    found = {rid for rid, (zh, _en) in _DISTRICTS.items() if zh in text}
    return found.pop() if len(found) == 1 else None


def _address_for(role: str, text: str) -> str:
    if not text:
        return ""
    parts = [p.strip() for p in re.split(r"[;；\n]", norm_text(text).replace("\xa0", " ")) if p.strip()]
    plain = []
    for p in parts:
        m = re.match(r"^([^：:]{1,14})[：:](.+)$", p)
        if m and _role(m.group(1)):
            if _role(m.group(1)) == role:
                return m.group(2).strip()
        else:
            plain.append(p)
    return plain[0] if plain and role == "maker" else ""


def _read_table(table: Table, path: str, rejects: list[Reject], store: "Store | None") -> Iterator[Record]:
    cols, combined = map_headers(table.header)
    if "product" not in cols or "sampled" not in cols:
        lack = [h for h, f in (("食品名称", "product"), ("被抽样单位名称", "sampled")) if f not in cols]
        rejects.append(Reject(path, "header", "/".join(lack), " | ".join(table.header)[:500],
                              "not a sampling announcement table: no " + " or ".join(lack) + " column"))
        return
    split = "item" in cols
    failing_table = combined is not None or split
    title = table.title
    groups: dict[str, _Group] = {}
    order: list[str] = []
    extra_cols = {"licence": None, "approval": None, "source": None}
    for i, h in enumerate(table.header):
        n = _hnorm(h)
        if "许可证" in n:
            extra_cols["licence"] = i
        elif "批准文号" in n:
            extra_cols["approval"] = i
        elif n in ("来源", "链接", "网址", "url"):
            extra_cols["source"] = i

    for row_no, cells in table.rows:
        def cell(f: str) -> str:
            i = cols.get(f) if f in cols else extra_cols.get(f)
            return _v(cells[i]) if i is not None and i < len(cells) else ""

        try:
            f = {k: cell(k) for k in ("producer", "producer_address", "sampled", "sampled_address", "product",
                                      "spec", "brand", "batch", "category", "announcement", "announced", "task",
                                      "lab", "remark", "conclusion", "sampled_at")}
            data_cells = [cell(k) for k in ("producer", "sampled", "product", "spec", "brand", "batch", "item",
                                            "value", "limit", "lab", "remark")]
            if combined:
                data_cells.append(_v(cells[combined[0]]) if combined[0] < len(cells) else "")
            if not any(data_cells):
                raise _RowBad("row", "", "row has no sample data (only announcement columns are filled)")
            failures: list[_Failure] = []
            if combined:
                raw = _v(cells[combined[0]]) if combined[0] < len(cells) else ""
                failures = _split_combined(raw, combined[1]) if raw else []
            elif split:
                item, value, limit = cell("item"), cell("value"), cell("limit")
                first = _Failure(item, value, limit)
                if item and _regular(first):
                    failures = _split_items(item, value, limit)
                else:
                    shifted = _interpret_shifted([(c, cell(c)) for c in _SHIFT_COLUMNS])
                    failures = [shifted["failure"]]  # type: ignore[list-item]
                    f.update(batch=shifted["batch"], spec=shifted["spec"] or (f["spec"] if _classify(
                        f["spec"], "spec") == "spec" else ""), brand=shifted["brand"],
                        remark=shifted["remark"], lab=shifted["lab"])
            if not f["sampled"]:
                raise _RowBad("被抽样单位名称", "", "the sampled unit (被抽样单位) is empty")
            if not f["product"]:
                raise _RowBad("食品名称", "", "the product name (食品名称) is empty")
            conclusion = None
            if not f["conclusion"] and not split and cell("value") in ("合格", "不合格"):
                f["conclusion"] = cell("value")  # a 合格 table's 检验结果 column holds the verdict
            if f["conclusion"]:
                conclusion = vocab.lookup("conclusion", f["conclusion"])
                if conclusion is None:
                    raise _RowBad("结论", f["conclusion"], "conclusion must be 合格 or 不合格")
            elif failing_table:
                conclusion = "nonconforming"
            else:
                conclusion = "conforming"
            if conclusion == "nonconforming" and failing_table and not failures:
                raise _RowBad("不合格项目", "", "a row of a 不合格 table names no failed item")
            measures = []
            for fl in failures:
                try:
                    value = parse_measure(fl.value) if fl.value else None
                except InvalidRecord as e:
                    raise _RowBad("检验结果", fl.value, f"result of {fl.item}: {e}") from None
                try:
                    limit = parse_measure(fl.limit, value.unit if value else None, limit=True) if fl.limit else None
                except InvalidRecord as e:
                    raise _RowBad("标准值", fl.limit, f"limit of {fl.item}: {e}") from None
                measures.append((fl, value, limit))
        except _RowBad as e:
            rejects.append(Reject(path, row_no, e.field, e.value, e.reason))
            continue
        except (FoodtraceError, ValueError, TypeError, IndexError, KeyError) as e:
            rejects.append(Reject(path, row_no, "", "", f"row cannot be read: {e}"))
            continue
        announcement = f["announcement"] or title
        key = _natural_hash(announcement, f["producer"], f["sampled"], f["product"], f["batch"])
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(row_no, f)
            order.append(key)
        g.failures.extend(m for m in measures)  # type: ignore[arg-type]
        if f["remark"] and f["remark"] not in g.remarks:
            g.remarks.append(f["remark"])
        if f["lab"] and f["lab"] not in g.labs:
            g.labs.append(f["lab"])
        if conclusion == "nonconforming" or g.conclusion is None:
            g.conclusion = conclusion

    em = _Emitter(store)
    for key in order:
        g = groups[key]
        f = g.fields
        announcement = f["announcement"] or title or None
        plan = "monitoring" if "风险监测" in " ".join([title, f["task"], f["announcement"]]) else "supervisory"
        parties = parse_parties(f["producer"]) if f["producer"] else {}
        producer_id = owner_id = None
        if parties.get("maker"):
            producer_id, rec = em.operator(parties["maker"], _address_for("maker", f["producer_address"]), "Producer")
            if rec:
                yield rec
        if parties.get("owner"):
            owner_id, rec = em.operator(parties["owner"], _address_for("owner", f["producer_address"]), "Producer")
            if rec:
                yield rec
        sampled_addr = f["sampled_address"] if not f["sampled_address"].lower().startswith("http") else ""
        sampled_id, rec = em.operator(f["sampled"], sampled_addr, "Operator")
        if rec:
            yield rec
        try:
            pid = (ids.local_id("product", parties["maker"], f["product"]) if parties.get("maker")
                   else ids.product_id(local=f["product"]))
        except InvalidIdentifier:
            pid = None
        category = vocab.lookup("category", f["category"]) if f["category"] else None
        guessed = category is None  # from the food's name: a placeholder
        category = category or vocab.lookup("category", f["product"])
        if pid and ("product", pid) not in em.seen:
            em.seen.add(("product", pid))
            yield with_placeholders(Product(id=pid, name=f["product"], brand=f["brand"] or None,
                                            spec=f["spec"] or None, category=category, producer_id=producer_id),
                                    *(("category",) if guessed else ()))
        remark = "；".join(g.remarks) or None
        sid = ids.local_id("sample", "samr", key)
        announced = None
        if f["announced"]:
            m = re.match(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", f["announced"])
            if m:
                announced = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
        sampled_at = None
        if f["sampled_at"]:
            m = re.match(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", f["sampled_at"])
            if m:
                sampled_at = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
        yield Sample(id=sid, plan=plan, sampled_id=sampled_id, producer_id=producer_id, brand_owner_id=owner_id,
                     product_id=pid, product_name=f["product"], category=category, batch=f["batch"] or None,
                     sampled_at=sampled_at, conclusion=g.conclusion, announcement=announcement, announced=announced,
                     lab="；".join(g.labs) or None, disputed=is_disputed(remark), remark=remark)
        done: set[str] = set()
        for fl, value, limit in g.failures:  # type: ignore[misc]
            if fl.item in done:
                continue
            done.add(fl.item)
            unit = (value.unit if value else None) or (limit.unit if limit else None)
            lim = limit.value if limit else None
            if value and limit and value.unit and limit.unit and value.unit != limit.unit and lim is not None:
                factor = concentration_factor(limit.unit, value.unit)
                lim = None if factor is None else round(lim * factor, 12)
            yield TestResult(id=ids.local_id("test_result", "samr", key, fl.item), sample_id=sid, item=fl.item,
                             hazard_class=hazard_class_of(fl.item) or "other",
                             value=value.value if value else None, value_text=fl.value or None, unit=unit,
                             limit=lim, limit_text=fl.limit or None, conclusion="nonconforming")


def read(path: str | Path, rejects: list[Reject], *, store: "Store | None" = None,
         options: ReadOptions | None = None) -> Iterator[Record]:
    """Read an announcement table (CSV/TSV, .xlsx, .xls; every sheet), yielding its records.

    Parameters
    ----------
    path : path
        The table.
    rejects : list
        Receives one :class:`Reject` per row that cannot be taken (or per sheet that is no announcement).
    store : Store, optional
        Read only: operators named in the table resolve to those already known under their name form.

    Raises
    ------
    UnreadableFile
        When the file is not a table at all.
    """
    path = Path(path)
    for table in read_tables(path, is_header=_is_header):
        yield from _read_table(table, str(path), rejects, store)
