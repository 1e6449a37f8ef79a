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
* One failed result that two sources published (a bureau's, and a failures-only re-publisher's copy of
  it) is one sample: the same product, announced at most 31 days apart, the same sampled unit or one
  naming none, the same batch (one written as its announcement's day says nothing), a shared failed item
  with the same result (:func:`_same_result`). The row naming where it was taken is kept; the other
  source goes to ``Sample.also_sources``, its extra failed items to the sample; in any file order.
* ``disputed=True`` when 备注 says the named producer denies making it
  (否认, 并非由…生产, 非该公司生产, 与标称…无任何关系, 未生产过 ...), that it is
  counterfeit (假冒, 冒用; also a producer cell noting （假冒厂名）), or that the
  cause lay elsewhere (储存不当, 经营者原因, 冷柜/冰柜 故障 ...): the patterns
  of ``loaders/data/disputed_remarks.csv`` (:func:`dispute_of`), each with an
  example and a near miss; the remark is kept.
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
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ontology import identifiers as ids
from ontology import vocab
from ontology.errors import FoodtraceError, InvalidIdentifier, InvalidRecord
from ontology.names import business_of, name_key, normalise_name, operator_id_for, province_of
from ontology.records import (Alias, Operator, Product, Record, Sample, SamplingSource, TestResult,
                              with_placeholders)
from ontology.times import parse_day
from ontology.units import concentration_factor

from .base import LoadNote, LoadWarning, ReadOptions, Reject, read_data_table
from .categories import samr_category
from .measures import FORBIDDEN, NONE_DETECTED, hazard_class_of, norm_text, parse_measure
from .rows import row_text, sheets_to_read, skip_reason
from .tables import Table, read_tables
from .templates import parse_date

if TYPE_CHECKING:
    from graph.store import Store

__all__ = ["read", "HEADERS", "parse_parties", "is_disputed", "dispute_of", "DisputePattern", "DISPUTE_PATTERNS",
           "DISPUTE_TABLE_VERSION", "map_headers", "publisher_of", "source_name",
           "source_id", "task_kind_of"]

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
    label = label.strip().replace("地址", "").replace("名称", "")
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
    name = re.sub(r"[(（][^()（）]*(经销商|供货商|进口商|代理商|原产国|原产地|生产商|委托|假冒|冒用|仿冒|冒名)[^()（）]*[)）]", "",
                  name)
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


@dataclass(frozen=True)
class DisputePattern:
    """One row of ``loaders/data/disputed_remarks.csv``: a wording that takes a failure off its named producer."""

    id: str
    field: str  # remark (备注) or producer (the 标称生产企业名称 cell)
    kind: str  # denial, counterfeit or elsewhere
    pattern: re.Pattern[str]
    example: str
    near_miss: str


def _dispute_table() -> tuple[str, tuple[DisputePattern, ...]]:
    version, rows = read_data_table(Path(__file__).with_name("data") / "disputed_remarks.csv")
    return version, tuple(DisputePattern(r["id"], r["field"], r["kind"], re.compile(r["pattern"]), r["example"],
                                         r["near_miss"]) for r in rows)


#: version of loaders/data/disputed_remarks.csv, and its patterns
DISPUTE_TABLE_VERSION, DISPUTE_PATTERNS = _dispute_table()


def dispute_of(remark: str | None, producer: str | None = None) -> DisputePattern | None:
    """The first pattern of :data:`DISPUTE_PATTERNS` the remark (or the producer cell) matches, else None.

    The text is read after NFKC (full-width forms folded) and with its blanks removed.

    >>> dispute_of("经核实，该产品非南通某某食品有限公司生产").id
    'not_made_by'
    >>> dispute_of("/", producer="广州奥桑味精食品有限公司（假冒厂名）").kind
    'counterfeit'
    """
    texts = {"remark": remark, "producer": producer}
    for p in DISPUTE_PATTERNS:
        text = texts.get(p.field)
        if text and p.pattern.search("".join(norm_text(text).split())):
            return p
    return None


def is_disputed(remark: str | None, producer: str | None = None) -> bool:
    """Whether a remark (or the producer cell's bracketed note) says the named producer denies the product, it
    is counterfeit, or the cause lay elsewhere: :func:`dispute_of`.

    >>> is_disputed("经核查，标称生产企业否认生产该批次产品")
    True
    >>> is_disputed("该批次产品不合格是冷饮站存储该产品的冰柜制冷系统发生故障导致。")
    True
    >>> is_disputed("执行标准：GB1534"), is_disputed(None), is_disputed("企业对检验结果有异议，已申请复检")
    (False, False, False)
    """
    return dispute_of(remark, producer) is not None


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
    "sampled_address": ("被抽样单位地址", "被抽样单位所在地", "被抽检单位地址", "被抽样单位所在省份/地址"),
    "province": ("被抽样单位所在省份", "被抽样单位所在省", "所在省份", "被抽检单位所在省份", "省份"),
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


# -- tasks, publishers and sources ------------------------------------------------------------------

_BUREAU = re.compile(r"^(.*?(?:市场监督管理总局|市场监督管理局|市场监督管理厅|市场监管总局|市场监管局|市场监管厅|"
                     r"市场监管委员会|市场监管委|市场和质量监督管理委员会|食品药品监督管理总局|食品药品监督管理局|"
                     r"食药监总局|食药总局|食药监局|药监局|质监局))")


def publisher_of(task: str | None) -> str | None:
    """The publisher a 任务来源/项目名称 names: the text in its closing brackets, else the bureau it starts with.

    >>> publisher_of("国内监督抽查(山东市场监管局)"), publisher_of("国内监督抽查()")
    ('山东市场监管局', None)
    >>> publisher_of("南通市市场监督管理局2026年食品安全监督抽检")
    '南通市市场监督管理局'
    """
    s = normalise_name(task)
    if not s:
        return None
    m = re.search(r"\(([^()]*)\)$", s)
    if m:
        return m.group(1).strip() or None
    m = _BUREAU.match(s)
    return m.group(1) if m else None


def source_name(task: str | None, declared: str | None = None) -> str:
    """The sampling source of a row: the name given on load, else the publisher, else the task as written.

    Rows naming nothing at all share the source ``未注明来源``.

    >>> source_name("国内监督抽查(山东市场监管局)"), source_name("国内监督抽查()"), source_name("")
    ('山东市场监管局', '国内监督抽查()', '未注明来源')
    """
    return normalise_name(declared) or publisher_of(task) or normalise_name(task) or "未注明来源"


def source_id(name: str) -> str:
    """The id of the SamplingSource of that name (its :func:`ontology.names.name_key`)."""
    return ids.local_id("sampling_source", name_key(name) or name)


def task_kind_of(task: str | None) -> str | None:
    """The sampling task's kind (sampling_task scheme) from what the 任务来源/项目名称 says or who published it.

    >>> [task_kind_of(t) for t in ("国内监督抽查(国家市场监管总局)", "国内监督抽查(山东市场监管局)",
    ...  "国内监督抽查(深圳市食药监局)", "海门区市场监督管理局2026年抽检", "2021年江苏省食品安全专项抽检",
    ...  "评价性抽检", "国内监督抽查()")]
    ['national', 'provincial', 'municipal', 'county', 'special', 'evaluation', None]
    """
    s = normalise_name(task)
    if not s:
        return None
    if "评价性" in s:
        return "evaluation"
    if "专项" in s:
        return "special"
    for pattern, kind in ((r"国抽|国家(级)?(监督)?抽检", "national"), (r"省抽|省级", "provincial"),
                          (r"市抽|市级", "municipal"), (r"县抽|区抽|县级|区级", "county")):
        if re.search(pattern, s):
            return kind
    pub = publisher_of(s)
    if not pub:
        return None
    if "总局" in pub or pub.startswith("国家"):
        return "national"
    if province_of(pub):
        return "provincial"
    if re.search(r"(县|区|旗)(市场|食品|食药|药监)", pub):
        return "county"
    if re.search(r"(市|州|盟)(市场|食品|食药|药监)", pub):
        return "municipal"
    return None


# -- reading ---------------------------------------------------------------------------------------

class _RowBad(Exception):
    def __init__(self, field: str, value: str, reason: str):
        super().__init__(reason)
        self.field, self.value, self.reason = field, value, reason


class _Unpaired(Exception):
    """Failed items that cannot be paired with their results: kept as written, in one test result."""

    def __init__(self, failure: "_Failure", reason: str):
        super().__init__(reason)
        self.failure, self.reason = failure, reason


@dataclass
class _Failure:
    item: str
    value: str
    limit: str


@dataclass
class _Group:
    row: int
    fields: dict[str, str]
    failures: list = field(default_factory=list)
    items: set[str] = field(default_factory=set)
    remarks: list[str] = field(default_factory=list)
    labs: list[str] = field(default_factory=list)
    conclusion: str | None = None
    missing: set[str] = field(default_factory=set)
    source: str = ""
    stored: Sample | None = None          # this sample as stored already (the same file loaded before)
    twin: str | None = None               # the group of this table that published the same result
    stored_twin: Sample | None = None     # the stored sample of another source that published it
    also: set[str] = field(default_factory=set)   # the other sources that published this group's result
    earliest: str | None = None                    # the earliest day one of them announced it
    twin_items: frozenset[str] = frozenset()       # the failed items the stored twin has already
    product: str | None = None                     # its product id (producer + food), where a producer is named
    emitted: Sample | None = None                  # the sample this group wrote

    def items_known(self) -> frozenset[str]:
        return frozenset(_item_key(fl.item) for fl, *_ in self.failures if fl.item)


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
    raise _Unpaired(_Failure(item.strip(), value, limit),
                    f"{len(items)} items but the results/limits do not pair up with them")


def _split_combined(cell: str, order: tuple[str, ...]) -> list[_Failure]:
    s = _SEP.sub("║", cell.strip())
    if "║" not in s:
        return [_Failure(x.strip(), "", "") for x in re.split(r"[\n;；、]", s) if x.strip()]
    tokens = s.split("║")
    width = len(order)
    whole = _Failure(cell.strip(), "", "")  # kept as written when its entries cannot be told apart
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
            raise _Unpaired(whole, "combined cell has more fields than the header names")
    out = []
    for f in fields_:
        if len(f) != width:
            raise _Unpaired(whole, f"combined cell entry {'║'.join(f)!r} has {len(f)} fields, expected {width}")
        d = dict(zip(order, f))
        one = _Failure(d.get("item", ""), d.get("value", ""), d.get("limit", ""))
        try:  # an entry listing several items with their results (a;b║1;2║/) is one failure per item
            out.extend(_split_items(one.item, _v(one.value), _v(one.limit)) if re.search(r"[;；]", one.item)
                       else [one])
        except _Unpaired:
            out.append(one)
    return out


def _regular(f: _Failure) -> bool:
    """The item, result and limit cells hold what their headers say (each line of a multi-item cell)."""
    def all_lines(text: str, ok: tuple[str, ...], column: str) -> bool:
        return all(_classify(x, column) in ok for x in text.split("\n") if x.strip())
    return (all_lines(f.item, ("item", "other", "brand"), "item")
            and (not f.value or all_lines(f.value, ("value",), "value"))
            and (not f.limit or all_lines(f.limit, ("limit", "value"), "limit")))


_SHIFT_COLUMNS = ("spec", "brand", "batch", "licence", "approval", "item", "value", "limit", "remark", "lab")


def _interpret_shifted(order: list[tuple[str, str]]) -> tuple[dict[str, str], _Failure | None, str | None]:
    """Content-based reading of a shifted row: (batch/spec/brand/remark/lab, the failure, why it is ambiguous).

    Exactly one item, one result and one limit make one failure; anything else is kept as written in one
    failure (items, results and limits joined) with the reason, so that no result is paired with the wrong item.
    """
    found: dict[str, list[str]] = {}
    for column, s in order:
        if s:
            found.setdefault(_classify(s, column), []).append(s)
    items, values, limits = found.get("item", []), found.get("value", []), found.get("limit", [])
    other = {"batch": (found.get("date") or [""])[0], "spec": (found.get("spec") or [""])[0],
             "brand": (found.get("brand") or [""])[0],
             "remark": "；".join(found.get("remark", []) + found.get("other", [])),
             "lab": (found.get("lab") or [""])[0]}
    if len(items) == 1 and len(values) == 1 and len(limits) == 1:
        return other, _Failure(items[0], values[0], limits[0]), None
    reason = (f"columns are shifted and the cells after the product name hold {len(items)} item(s), "
              f"{len(values)} result(s) and {len(limits)} limit(s): cannot tell which result belongs to which item")
    if not items:
        return other, None, reason
    return other, _Failure("；".join(items), "；".join(values), "；".join(limits)), reason


def _natural_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


# -- one result published by two sources ------------------------------------------------------------

#: two failed results of different sources announced at most this many days apart may be one published twice
DUPLICATE_DAYS = 31


def _item_key(item: str) -> str:
    """A failed item as two publishers may write it: brackets (limits, units, 以…计) and 不合格/项目 dropped.

    >>> _item_key("谷氨酸钠(%)（≥99.0）"), _item_key("标签不合格"), _item_key("不挥发酸（以乳酸计）（≥0.50g/100ml）")
    ('谷氨酸钠', '标签', '不挥发酸')
    """
    s = norm_text(item)
    while True:
        t = re.sub(r"[(（][^()（）]*[)）]", "", s)
        if t == s:
            break
        s = t
    return re.sub(r"不合格|项目|\s", "", s).lower()


@dataclass(frozen=True)
class _Published:
    """What tells one failed result from another across publishers (see :func:`_same_result`)."""

    source: str
    announced: str | None
    sampled: str | None
    batch: str | None
    results: dict[str, float | None]
    key: str | None = None                  # the group of this file
    sample: Sample | None = None            # or the sample already stored or emitted
    items: frozenset[str] = frozenset()     # item keys already recorded for it


def _same_result(a: _Published, b: _Published) -> bool:
    """Whether two failed results (same producer and food: the same product id) are one sample published twice.

    Of different sources, announced at most :data:`DUPLICATE_DAYS` apart, naming the same sampled unit or one
    naming none, with the same batch (a batch written as the announcement's own day, as one re-publisher
    writes every batch, says nothing), and sharing a failed item whose result both give equal (or neither
    gives): never two results whose shared items disagree.

    >>> a = _Published("s1", "2021-03-17", None, "2020-11-12", {"标签": None})
    >>> b = _Published("s2", "2021-03-17", "op", "2021-03-17", {"标签": None})
    >>> _same_result(a, b), _same_result(a, replace(b, results={"色值": 165.0}))
    (True, False)
    >>> _same_result(replace(a, results={"过氧化值": 8.9}), replace(b, results={"过氧化值": 7.5}))
    False
    """
    if a.source == b.source or not a.announced or not b.announced:
        return False
    if abs((parse_day(a.announced) - parse_day(b.announced)).days) > DUPLICATE_DAYS:
        return False
    if a.sampled and b.sampled and a.sampled != b.sampled:
        return False
    if a.batch and b.batch and a.batch != b.batch and a.batch != a.announced and b.batch != b.announced:
        return False
    agree = False
    for item in a.results.keys() & b.results.keys():
        x, y = a.results[item], b.results[item]
        if x is None and y is None:
            agree = True
        elif x is not None and y is not None:
            if not math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-12):
                return False
            agree = True
    return agree


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


class _Emitter:
    """Operators of a file by written name: one per business (:mod:`ontology.names`), resolved against the store.

    Every written form is kept as an Alias (scheme ``name``; the form the id is made of as an alias to itself):
    the merges the names made are listed from them (``foodtrace operators merges``).
    """

    def __init__(self, store: "Store | None"):
        self.store = store
        self.seen: set[tuple[str, str]] = set()
        self.known: dict[str, str | None] = {}
        self.stored: set[str] = set()    # operator ids known to be in the store
        self.checked: set[str] = set()   # operator ids whose presence in the store is known

    def prefetch(self, names: set[str]) -> None:
        """Resolve every form of these names against the store in one call."""
        forms = set()
        for n in names:
            forms.add(ids.operator_id(local=n))
            forms.add(operator_id_for(n))
            b = business_of(n)
            if b.parent:
                forms.add(operator_id_for(b.parent))
        forms -= self.known.keys()
        if not forms:
            return
        found: dict[str, str] = {}
        if self.store is not None:
            try:
                found = self.store.resolve_many(sorted(forms))
            except FoodtraceError:
                found = {}
        for f in forms:
            self.known[f] = found.get(f)
        selves = sorted(f for f in forms if found.get(f) == f)
        if selves and self.store is not None:
            try:
                self.stored.update(self.store.get_many("operator", selves))
            except FoodtraceError:
                pass
            self.checked.update(selves)

    def _resolve(self, form: str) -> str | None:
        if form not in self.known:
            found = None
            if self.store is not None:
                try:
                    found = self.store.resolve(form)
                except FoodtraceError:
                    found = None
            self.known[form] = found
        return self.known[form]

    def _stored(self, oid: str) -> bool:
        """An operator with this id is in the store (a form may resolve to itself only as an alias)."""
        if ("operator", oid) in self.seen or oid in self.stored:
            return True
        if self.store is None or oid in self.checked:
            return False
        self.checked.add(oid)
        try:
            found = self.store.get("operator", oid) is not None
        except FoodtraceError:
            found = False
        if found:
            self.stored.add(oid)
        return found

    def operator(self, name: str, address: str, default_kind: str) -> tuple[str, list[Record]]:
        """The operator id of a written name and the records it needs (operator, parent, alias), each once."""
        out: list[Record] = []
        written = ids.operator_id(local=name)
        b = business_of(name)
        key_id = ids.operator_id(local=b.key)
        # the name exactly as written first (a registered name, or a form seen before), then its key form: the
        # template loader aliases registered names under it, or marks it as naming itself where two registered
        # operators share it (never merged: only a name written exactly as registered finds one of them)
        exact = self._resolve(written)
        by_key = self._resolve(key_id)
        ambiguous = by_key == key_id and not self._stored(key_id)
        target = exact if exact is not None and exact != key_id else by_key
        if target is None or (target == key_id and not self._stored(key_id)):
            target = key_id
            self.known[key_id] = key_id
            if ("operator", key_id) not in self.seen:
                self.seen.add(("operator", key_id))
                parent_id = None
                if b.parent:
                    parent_kind = _kind_of(b.parent, "WholesaleMarket" if "批发" in b.parent else "FarmersMarket") \
                        if b.market else default_kind
                    parent_id, parent_records = self.operator(b.parent, "", parent_kind)
                    out.extend(parent_records)
                kind = b.kind or _kind_of(name, default_kind)
                # the kind and district are read from the name and address: placeholders, which never replace
                # what an operators template or EPCIS master data says
                out.append(with_placeholders(Operator(id=key_id, kind=kind, name=name, address=address or None,
                                                      parent_id=parent_id,
                                                      region_id=_district_in(address) or _district_in(name)),
                                             "kind", "region_id"))
        # every written form is kept (scheme "name"; the operator's own key form too, as an alias to itself):
        # `foodtrace operators merges` lists the forms of each operator; an ambiguity mark is never overwritten
        if ("alias", written) not in self.seen and not (ambiguous and written == key_id):
            self.seen.add(("alias", written))
            self.known[written] = target
            out.append(Alias(id=written, canonical_id=target, entity="operator", scheme="name"))
        return target, out


class _Sources:
    """The sampling sources of a file and their coverage (declared, or detected from the rows)."""

    def __init__(self, store: "Store | None", declared: str | None):
        self.store, self.declared = store, declared
        self.names: dict[str, str] = {}
        self.conforming: set[str] = set()

    def note(self, name: str, conforming: bool) -> str:
        sid = source_id(name)
        self.names.setdefault(sid, name)
        if conforming:
            self.conforming.add(sid)
        return sid

    def records(self) -> Iterator[Record]:
        stored: dict[str, Record] = {}
        if self.store is not None and self.names and self.declared is None:
            try:
                stored = self.store.get_many("sampling_source", sorted(self.names))
            except FoodtraceError:
                stored = {}
        for sid, name in self.names.items():
            if self.declared is not None:
                yield SamplingSource(id=sid, name=name, coverage=self.declared, coverage_basis="declared")
            elif sid in self.conforming:
                yield SamplingSource(id=sid, name=name, coverage="both", coverage_basis="detected")
            else:
                old = stored.get(sid)
                if old is not None and (old.coverage == "both" or old.coverage_basis == "declared"):  # type: ignore[attr-defined]
                    continue  # a 合格 table of this source is known, or its coverage was said
                yield SamplingSource(id=sid, name=name, coverage="failures_only", coverage_basis="detected")


_ROW_FIELDS = ("producer", "producer_address", "sampled", "sampled_address", "province", "product", "spec", "brand",
               "batch", "category", "announcement", "announced", "task", "lab", "remark", "conclusion", "sampled_at")


class _Reader:
    """One file's tables -> records, rejects and warnings."""

    def __init__(self, path: str, rejects: list[Reject], warnings: list[LoadWarning], store: "Store | None",
                 sources: _Sources, source: str | None, notes: list[LoadNote]):
        self.path, self.rejects, self.warnings, self.notes = path, rejects, warnings, notes
        self.store, self.sources, self.source = store, sources, source
        self.em = _Emitter(store)
        self._warned: set[tuple[int, str]] = set()
        self._has_province = False
        self._products_stored: set[str] = set()
        # failed results of this file (emitted already) and of the store, by product id, for de-duplication
        self._published: dict[str, list[_Published]] = {}

    def warn(self, row: int, kind: str, field_: str, value: str, note: str = "") -> None:
        if (row, kind) not in self._warned:
            self._warned.add((row, kind))
            self.warnings.append(LoadWarning(self.path, row, kind, field_, value, note))

    def table(self, table: Table) -> Iterator[Record]:
        cols, combined = map_headers(table.header)
        if "product" not in cols or not ({"sampled", "producer"} & cols.keys()):
            lack = [h for h, f in (("食品名称", "product"), ("被抽样单位名称或标称生产企业名称", "sampled"))
                    if f not in cols and not (f == "sampled" and "producer" in cols)]
            self.rejects.append(Reject(self.path, "header", "/".join(lack), " | ".join(table.header)[:500],
                                       "not a sampling announcement table: no " + " or ".join(lack) + " column"))
            return
        split = "item" in cols
        failing_table = combined is not None or split
        self._has_province = "province" in cols  # an address without its province is no missing province
        title = table.title
        groups: dict[str, _Group] = {}
        order: list[str] = []
        extra_cols: dict[str, int | None] = {"licence": None, "approval": None, "source": None}
        for i, h in enumerate(table.header):
            n = _hnorm(h)
            if "许可证" in n:
                extra_cols["licence"] = i
            elif "批准文号" in n:
                extra_cols["approval"] = i
            elif n in ("来源", "链接", "网址", "url"):
                extra_cols["source"] = i

        spans, sheet = table.spans, table.sheet or ""
        failure_cols = {cols[k] for k in ("item", "value", "limit") if k in cols} | (
            {combined[0]} if combined else set())
        previous: list[str] | None = None
        for row_no, cells in table.rows:
            why = skip_reason(cells, table.header, span=spans.get(row_no, 0), is_header=_is_header)
            if why is not None:
                self.notes.append(LoadNote(self.path, sheet, row_no, why, row_text(cells)))
                continue
            if failing_table and previous is not None:
                cells = _continued(cells, previous, cols, failure_cols)
            previous = cells

            def cell(f: str) -> str:
                i = cols.get(f) if f in cols else extra_cols.get(f)
                return _v(cells[i]) if i is not None and i < len(cells) else ""

            try:
                got = self._row(row_no, cells, cell, combined, split, failing_table)
            except _RowBad as e:
                self.rejects.append(Reject(self.path, row_no, e.field, e.value, e.reason))
                continue
            except (FoodtraceError, ValueError, TypeError, IndexError, KeyError) as e:
                self.rejects.append(Reject(self.path, row_no, "", "", f"row cannot be read: {e}"))
                continue
            f, failures, conclusion, missing = got
            announcement = f["announcement"] or f["announced"] or title
            base = _natural_hash(announcement, business_of(f["producer"]).key if f["producer"] else "",
                                 business_of(f["sampled"]).key if f["sampled"] else "", name_key(f["product"]),
                                 f["batch"])
            # a row naming a failed item the sample already has is another sample of the same description
            # (two batches of loose bean sprouts of one announcement); a 合格 row is always a sample of its own
            n = 0
            key = base
            items = {fl.item for fl, *_ in failures}
            while key in groups and (not failing_table or not items or items & groups[key].items):
                n += 1
                key = _natural_hash(base, str(n))
            g = groups.get(key)
            if g is None:
                g = groups[key] = _Group(row_no, f)
                order.append(key)
                g.source = self.sources.note(source_name(f["task"] or title, self.source),
                                             conforming=conclusion == "conforming")
            elif conclusion == "conforming":
                self.sources.note(self.sources.names[g.source], conforming=True)
            g.failures.extend(failures)
            g.items |= items
            g.missing |= missing
            if f["remark"] and f["remark"] not in g.remarks:
                g.remarks.append(f["remark"])
            if f["lab"] and f["lab"] not in g.labs:
                g.labs.append(f["lab"])
            if conclusion == "nonconforming" or g.conclusion is None:
                g.conclusion = conclusion

        names = set()
        for key in order:
            f = groups[key].fields
            parties = parse_parties(f["producer"]) if f["producer"] else {}
            names.update(v for k, v in parties.items() if k in ("maker", "owner"))
            if f["sampled"]:
                names.add(f["sampled"])
        self.em.prefetch(names)
        self._stored_samples(groups)
        self._duplicates(groups, order)
        for key in order:
            g = groups[key]
            try:
                if g.twin is not None:
                    records = list(self._results(key, g, ids.local_id("sample", "samr", g.twin),
                                                 skip=groups[g.twin].items_known()))
                elif g.stored_twin is not None:
                    records = list(self._emit_twin(key, g))
                else:
                    records = list(self._emit(key, g, title))
            except FoodtraceError as e:
                self.rejects.append(Reject(self.path, g.row, "", "", f"row cannot be read: {e}"))
                continue
            yield from records
        # what this table stored is a candidate for the next tables' duplicates
        for key in order:
            g = groups[key]
            for pub in self._published.get(g.product or "", []):
                if pub.key == key:
                    self._published[g.product] = [p for p in self._published[g.product] if p is not pub]
                    self._published[g.product].append(replace(pub, key=None, sample=g.emitted,
                                                              items=frozenset(g.items_known())))

    def _stored_samples(self, groups: dict[str, _Group]) -> None:
        """A sample stored as failed stays failed when a 合格 table lists it too (both tables name one batch);
        the products already stored are not written again (the same product named in two files stays as
        first written)."""
        self._products_stored = set()
        if self.store is None or not groups:
            return
        pids = {_product_id(g.fields, parse_parties(g.fields["producer"]) if g.fields["producer"] else {})
                for g in groups.values()}
        try:
            stored = self.store.get_many("sample", [ids.local_id("sample", "samr", k) for k in groups])
            self._products_stored = set(self.store.get_many("product", sorted(p for p in pids if p)))
        except FoodtraceError:
            return
        for key, g in groups.items():
            old = stored.get(ids.local_id("sample", "samr", key))
            g.stored = old  # type: ignore[assignment]
            if old is not None and old.conclusion == "nonconforming":  # type: ignore[attr-defined]
                g.conclusion = "nonconforming"
                g.missing |= set((old.missing or "").split())  # type: ignore[attr-defined]

    def _candidates(self, product: str) -> list[_Published]:
        """The failed results of this product already known: stored, or written by this file's earlier tables."""
        if product not in self._published:
            found = []
            if self.store is not None:
                try:
                    for s in self.store.scan("sample", {"product_id": product}):
                        if s.conclusion != "nonconforming" or not s.source_id:  # type: ignore[attr-defined]
                            continue
                        results = {_item_key(t.item): t.value  # type: ignore[attr-defined]
                                   for t in self.store.scan("test_result", {"sample_id": s.id})
                                   if t.item}  # type: ignore[attr-defined]
                        found.append(_Published(source=s.source_id, announced=s.announced,  # type: ignore[attr-defined]
                                                sampled=s.sampled_id,  # type: ignore[attr-defined]
                                                batch=_day(s.batch or "") or s.batch,  # type: ignore[attr-defined]
                                                results=results, sample=s,  # type: ignore[arg-type]
                                                items=frozenset(results)))
                except FoodtraceError:
                    found = []
            self._published[product] = found
        return self._published[product]

    def _duplicates(self, groups: dict[str, _Group], order: list[str]) -> None:
        """One failed result published by two sources is one sample (see :func:`_same_result`): the later one
        becomes a *twin* of the first (a group of this table, or a stored sample) and adds its source to the
        first's ``also_sources``; of two groups of this table the one naming the sampled unit is kept."""
        for key in order:
            g = groups[key]
            f = g.fields
            if g.conclusion != "nonconforming" or not g.failures:
                continue
            parties = parse_parties(f["producer"]) if f["producer"] else {}
            g.product = _product_id(f, parties) if parties.get("maker") else None
            if g.product is None:
                continue
            me = _Published(source=g.source, announced=_day(f["announced"]),
                            sampled=operator_id_for(f["sampled"]) if f["sampled"] else None,
                            batch=_day(f["batch"]) or f["batch"] or None,
                            results={_item_key(fl.item): (v.value if v else None) for fl, v, *_ in g.failures
                                     if fl.item}, key=key)
            own = ids.local_id("sample", "samr", key)
            known = self._candidates(g.product)
            match = next((c for c in known if (c.sample is None or c.sample.id != own) and _same_result(me, c)), None)
            if match is None:
                known.append(me)
            elif match.key is None:
                g.stored_twin, g.twin_items = match.sample, match.items
            elif not groups[match.key].fields["sampled"] and f["sampled"]:
                first = groups[match.key]
                g.also |= first.also | {first.source}
                g.earliest = min(d for d in (first.earliest, match.announced, me.announced) if d)
                first.also = set()
                for other in groups.values():
                    if other.twin == match.key:
                        other.twin = key
                first.twin = key
                known[known.index(match)] = me
            else:
                g.twin = match.key
                first = groups[match.key]
                first.also.add(g.source)
                first.earliest = min(d for d in (first.earliest, match.announced, me.announced) if d)

    def _emit_twin(self, key: str, g: _Group) -> Iterator[Record]:
        """The stored sample this group's result duplicates, with this source added (and where it was taken,
        if only this group says), then the failed items it did not have."""
        s = g.stored_twin
        assert s is not None
        f = g.fields
        also = set((s.also_sources or "").split()) | {g.source} | g.also
        also.discard(s.source_id or "")
        changes: dict[str, object] = {"also_sources": " ".join(sorted(also)) or None}
        day = _day(f["announced"])
        if day and (s.announced is None or day < s.announced):
            changes["announced"] = day
        if s.sampled_id is None and f["sampled"]:
            addr = f["sampled_address"] if not f["sampled_address"].lower().startswith("http") else ""
            sampled_id, recs = self.em.operator(f["sampled"], addr, "Operator")
            yield from recs
            province = s.province or province_of(f["province"]) or province_of(f["sampled_address"])
            missing = set((s.missing or "").split()) - {"sampled"} - ({"province"} if province else set())
            changes.update(sampled_id=sampled_id, province=province,
                           missing=" ".join(m for m in _MISSING_ORDER if m in missing) or None)
        new = replace(s, **changes)
        g.emitted = new
        known = self._published.get(g.product or "", [])
        for i, p in enumerate(known):
            if p.sample is not None and p.sample.id == s.id:
                known[i] = replace(p, sample=new, sampled=new.sampled_id, items=p.items | g.items_known())
        yield new
        yield from self._results(key, g, s.id, skip=g.twin_items)

    def _row(self, row_no: int, cells: list[str], cell, combined, split: bool, failing_table: bool):
        f = {k: cell(k) for k in _ROW_FIELDS}
        data_cells = [cell(k) for k in ("producer", "sampled", "product", "spec", "brand", "batch", "item",
                                        "value", "limit", "lab", "remark")]
        if combined:
            data_cells.append(_v(cells[combined[0]]) if combined[0] < len(cells) else "")
        if not any(data_cells):
            raise _RowBad("row", "", "row has no sample data (only announcement columns are filled)")
        if not f["product"]:
            raise _RowBad("食品名称", "", "the product name (食品名称) is empty")
        if not f["sampled"] and not f["producer"]:
            raise _RowBad("被抽样单位名称", "", "the row names neither a producer (标称生产企业) nor a sampled unit "
                                         "(被抽样单位): it concerns no one")
        missing: set[str] = set()
        failures_raw: list[_Failure] = []
        unpaired: str | None = None
        try:
            if combined:
                raw = _v(cells[combined[0]]) if combined[0] < len(cells) else ""
                failures_raw = _split_combined(raw, combined[1]) if raw else []
            elif split:
                item, value, limit = cell("item"), cell("value"), cell("limit")
                first = _Failure(item, value, limit)
                if item and _regular(first):
                    failures_raw = _split_items(item, value, limit)
                else:
                    other, failure, unpaired = _interpret_shifted([(c, cell(c)) for c in _SHIFT_COLUMNS])
                    failures_raw = [failure] if failure else []
                    f.update(batch=other["batch"], spec=other["spec"] or (f["spec"] if _classify(
                        f["spec"], "spec") == "spec" else ""), brand=other["brand"], remark=other["remark"],
                        lab=other["lab"])
        except _Unpaired as e:
            failures_raw, unpaired = [e.failure], e.reason
        if unpaired:
            missing.add("items")
            self.warn(row_no, "items_unreadable", "不合格项目", "；".join(x.item for x in failures_raw)[:300],
                      unpaired)
        if not f["sampled"]:
            missing.add("sampled")
            self.warn(row_no, "no_sampled_unit", "被抽样单位名称", "")
        if not f["producer"]:
            missing.add("producer")
            self.warn(row_no, "no_producer", "标称生产企业名称", "")
        if not f["batch"]:
            missing.add("batch")
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
        if conclusion == "nonconforming" and failing_table and not failures_raw:
            missing.add("items")
            self.warn(row_no, "no_failed_item", "不合格项目", "")
        failures = []
        for fl in failures_raw:
            value_text, limit_text = _v(fl.value), _v(fl.limit)
            value = limit = None
            if value_text and not unpaired:
                try:
                    value = parse_measure(value_text)
                except InvalidRecord:
                    value = None
            if limit_text and not unpaired:
                try:
                    limit = parse_measure(limit_text, value.unit if value else None, limit=True)
                except InvalidRecord:
                    limit = None
            if value is None:
                missing.add("result")
                if not unpaired:
                    self.warn(row_no, "result_not_numeric", "检验结果", value_text, f"{fl.item}: {value_text or '/'}")
            if limit is None:
                missing.add("limit")
                if not unpaired:
                    self.warn(row_no, "limit_not_numeric", "标准值", limit_text, f"{fl.item}: {limit_text or '/'}")
            failures.append((fl, value, limit, value_text, limit_text))
        return f, failures, conclusion, missing

    def _emit(self, key: str, g: _Group, title: str) -> Iterator[Record]:
        f = g.fields
        em = self.em
        announcement = f["announcement"] or title or None
        plan = "monitoring" if "风险监测" in " ".join([title, f["task"], f["announcement"]]) else "supervisory"
        parties = parse_parties(f["producer"]) if f["producer"] else {}
        producer_id = owner_id = sampled_id = None
        if parties.get("maker"):
            producer_id, recs = em.operator(parties["maker"], _address_for("maker", f["producer_address"]),
                                            "Producer")
            yield from recs
        if parties.get("owner"):
            owner_id, recs = em.operator(parties["owner"], _address_for("owner", f["producer_address"]), "Producer")
            yield from recs
        if f["sampled"]:
            sampled_addr = f["sampled_address"] if not f["sampled_address"].lower().startswith("http") else ""
            sampled_id, recs = em.operator(f["sampled"], sampled_addr, "Operator")
            yield from recs
        samr = samr_category(f["category"], f["product"])
        food_related = bool(samr and samr.food_related)
        if food_related:
            category = None
            self.warn(g.row, "food_related", "分类", f["category"] or f["product"], samr.path if samr else "")
        else:
            category = samr.category if samr else (
                (vocab.lookup("category", f["category"]) if f["category"] else None)
                or vocab.lookup("category", f["product"]))
        guessed = not f["category"]  # a category read from the food's name alone: a placeholder
        if samr is None:
            g.missing.add("category")
            self.warn(g.row, "category_unknown", "分类", f["category"], f["product"])
        province = province_of(f["province"]) or province_of(f["sampled_address"])
        if not province and self._has_province:
            g.missing.add("province")
        pid = _product_id(f, parties)
        if pid and ("product", pid) not in em.seen and pid not in self._products_stored:
            em.seen.add(("product", pid))
            yield with_placeholders(Product(id=pid, name=f["product"], brand=f["brand"] or None,
                                            spec=f["spec"] or None, category=category, producer_id=producer_id),
                                    *(("category",) if guessed else ()))
        remark = "；".join(g.remarks) or None
        dispute = dispute_of(remark, f["producer"])
        if dispute is not None and dispute.field == "producer" and not remark:
            remark = f"标称生产企业名称：{f['producer']}"  # why it is disputed stays visible
        sid = ids.local_id("sample", "samr", key)
        announced = _day(f["announced"])
        if f["announced"] and announced is None:
            g.missing.add("announced")
        also = set(g.also)
        if g.earliest and (announced is None or g.earliest < announced):
            announced = g.earliest
        old = g.stored
        if old is not None:  # what merging a twin of another source added is kept when this file loads again
            also |= set((old.also_sources or "").split())
            if sampled_id is None and old.sampled_id:
                sampled_id, province = old.sampled_id, province or old.province
                g.missing -= {"sampled"} | ({"province"} if province else set())
            if old.announced and (announced is None or old.announced < announced):
                announced = old.announced
        also.discard(g.source)
        g.emitted = Sample(id=sid, plan=plan, sampled_id=sampled_id, producer_id=producer_id, brand_owner_id=owner_id,
                           product_id=pid, product_name=f["product"], category=category, batch=f["batch"] or None,
                           sampled_at=_day(f["sampled_at"]), conclusion=g.conclusion, announcement=announcement,
                           announced=announced, lab="；".join(g.labs) or None, disputed=dispute is not None,
                           remark=remark,
                           task=f["task"] or None, task_kind=task_kind_of(f["task"] or title), source_id=g.source,
                           province=province, samr_category=samr.code if samr else None,
                           samr_path=samr.path if samr else None, category_text=f["category"] or None,
                           food_related=True if food_related else None,
                           missing=" ".join(m for m in _MISSING_ORDER if m in g.missing) or None,
                           also_sources=" ".join(sorted(also)) or None)
        yield g.emitted
        yield from self._results(key, g, sid)

    def _results(self, key: str, g: _Group, sid: str, skip: frozenset[str] = frozenset()) -> Iterator[Record]:
        """One TestResult per failed item of the group (items whose key is in ``skip`` left out) on sample ``sid``."""
        f = g.fields
        samr = samr_category(f["category"], f["product"])
        food_related = bool(samr and samr.food_related)
        done: set[str] = set()
        for fl, value, limit, value_text, limit_text in g.failures:
            if fl.item in done or not fl.item or _item_key(fl.item) in skip:
                continue
            done.add(fl.item)
            unit = (value.unit if value else None) or (limit.unit if limit else None)
            lim = limit.value if limit else None
            if value and limit and value.unit and limit.unit and value.unit != limit.unit and lim is not None:
                factor = concentration_factor(limit.unit, value.unit)
                lim = None if factor is None else round(lim * factor, 12)
            if food_related:
                hazard = "food_contact"
            elif "非法添加" in limit_text or "非法添加" in value_text:
                hazard = "illegal_additive"
            else:
                hazard = hazard_class_of(fl.item) or "other"
            yield TestResult(id=ids.local_id("test_result", "samr", key, fl.item), sample_id=sid, item=fl.item,
                             hazard_class=hazard, value=value.value if value else None,
                             value_text=value_text or None, unit=unit, limit=lim, limit_text=limit_text or None,
                             conclusion="nonconforming")


def _continued(cells: list[str], previous: list[str], cols: dict[str, int], failure_cols: set[int]) -> list[str]:
    """A row of a 不合格 table that holds only another failed item of the sample above (no 序号, no producer, no
    sampled unit, no food: the other cells were merged in the published sheet and lost on export to CSV, or the
    sheet left them blank) takes the sample's cells from the row above; any other row is returned as it is.

    >>> cols = {"seq": 0, "producer": 1, "sampled": 2, "product": 3, "item": 4, "value": 5}
    >>> _continued(["", "", "", "", "噻虫胺", "0.09mg/kg"], ["1", "甲厂", "乙店", "豇豆", "灭蝇胺", "1.8mg/kg"], cols,
    ...            {4, 5})
    ['1', '甲厂', '乙店', '豇豆', '噻虫胺', '0.09mg/kg']
    """
    def blank(field: str) -> bool:
        i = cols.get(field)
        return i is None or i >= len(cells) or not _v(cells[i])

    if not all(blank(f) for f in ("seq", "producer", "sampled", "product")):
        return cells
    if not any(i < len(cells) and _v(cells[i]) for i in failure_cols):
        return cells
    width = max(len(cells), len(previous))
    own = cells + [""] * (width - len(cells))
    above = previous + [""] * (width - len(previous))
    return [own[i] if i in failure_cols or own[i] else above[i] for i in range(width)]


def _product_id(f: dict[str, str], parties: dict[str, str]) -> str | None:
    """A product per producer (its name key) and food name; a food without a producer by its name alone."""
    try:
        return (ids.local_id("product", business_of(parties["maker"]).key, normalise_name(f["product"]))
                if parties.get("maker") else ids.product_id(local=normalise_name(f["product"])))
    except InvalidIdentifier:
        return None


#: the order of the tokens of Sample.missing
_MISSING_ORDER = ("sampled", "producer", "batch", "items", "result", "limit", "province", "category", "announced")


def _day(text: str) -> str | None:
    """An announcement's date cell as an ISO day (the date at its start: ``2019年7月15日``, ``2019/7/15``)."""
    if not text:
        return None
    m = re.match(r"\s*(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{8})", text)
    if not m:
        return None
    try:
        return parse_date(m.group(1))
    except InvalidRecord:
        return None


def read(path: str | Path, rejects: list[Reject], *, store: "Store | None" = None,
         options: ReadOptions | None = None, warnings: list[LoadWarning] | None = None,
         coverage: str | None = None, source: str | None = None,
         notes: list[LoadNote] | None = None) -> Iterator[Record]:
    """Read an announcement table (CSV/TSV, .xlsx, .xls; every sheet), yielding its records.

    Parameters
    ----------
    path : path
        The table.
    rejects : list
        Receives one :class:`Reject` per row that cannot be taken (a row naming neither a producer nor a
        sampled unit, or no food), or per sheet that is no announcement.
    store : Store, optional
        Read only: operators named in the table resolve to those already known under their name or its key;
        a source's stored coverage is kept where this file cannot tell.
    warnings : list, optional
        Receives one :class:`LoadWarning` per row and kind of thing missing (the row is stored).
    notes : list, optional
        Receives one :class:`LoadNote` per row or sheet skipped as no record (合计 and 注 rows, footers,
        the header repeated, 说明 sheets: :mod:`loaders.rows`).
    coverage : {"both", "failures_only"}, optional
        Declared coverage of the file's sources; detected when not given.
    source : str, optional
        The source (publisher) of every row, instead of the one read from 任务来源/项目名称.

    Raises
    ------
    UnreadableFile
        When the file is not a table at all.
    """
    path = Path(path)
    if coverage is not None and coverage not in ("both", "failures_only"):
        raise InvalidRecord(f"coverage must be both or failures_only, not {coverage!r}")
    sources = _Sources(store, coverage)
    notes = notes if notes is not None else []
    reader = _Reader(str(path), rejects, warnings if warnings is not None else [], store, sources, source, notes)
    for table in sheets_to_read(str(path), read_tables(path, is_header=_is_header), lambda t: _is_header(t.header),
                                options.sheets if options is not None else (), notes, rejects,
                                "an announcement table"):
        yield from reader.table(table)
    yield from sources.records()
