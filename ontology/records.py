"""Canonical records: the Python shape of the ontology's classes.

Every loader turns its source into these records; every store backend keeps
them; every algorithm reads them. A record type is a frozen dataclass whose
fields carry their Chinese and English labels, so that templates, exports and
reports derive their headers from one place.

Conventions
-----------
* ``id`` is the canonical identifier (a GS1 Digital Link URI for GS1 keys,
  ``urn:foodtrace:...`` otherwise). Records with the same ``id`` are the same
  entity: writing one again merges it (non-empty fields win, empty fields keep
  what was stored), so loads are idempotent.
* Times are ISO 8601 strings with a UTC offset (``2026-03-01T08:00:00+08:00``);
  dates are ISO 8601 dates (``2026-03-01``).
* Enumerated values (``kind``, ``category``, ``conclusion`` ...) are the local
  names of ontology terms (see :mod:`ontology.vocab`).

Examples
--------
>>> d = Delivery(id="urn:foodtrace:delivery:1", lot_id="urn:foodtrace:lot:a",
...              sender_id="urn:foodtrace:op:farm", receiver_id="urn:foodtrace:op:market",
...              time="2026-03-01T08:00:00+08:00", quantity=120.0, unit="KGM")
>>> d.table
'delivery'
>>> [f.name for f in record_fields(Delivery)][:4]
['id', 'lot_id', 'sender_id', 'receiver_id']
>>> label(Delivery, "quantity")
('数量', 'quantity')
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator

__all__ = [
    "Record",
    "Region",
    "Operator",
    "Product",
    "Lot",
    "Delivery",
    "Transformation",
    "TransformationItem",
    "Certificate",
    "Ticket",
    "TraceCode",
    "Sample",
    "SamplingSource",
    "TestResult",
    "Inspection",
    "Case",
    "Complaint",
    "CreditRecord",
    "RiskAssessment",
    "GradeOverride",
    "DisposalCase",
    "HandlingStep",
    "EvidenceFile",
    "SchoolAlert",
    "Chef",
    "Banquet",
    "BanquetGuidance",
    "BanquetCensus",
    "MajorEvent",
    "KitchenCamera",
    "KitchenDay",
    "KitchenProblem",
    "Alias",
    "Event",
    "Retraction",
    "RECORD_TYPES",
    "record_fields",
    "label",
    "record_type",
    "to_dict",
    "iter_missing_required",
    "required_values",
    "PLACEHOLDERS",
    "has_placeholders",
    "placeholder_fields",
    "with_placeholders",
    "PERSONAL_FIELDS",
    "ERASED_NAME",
    "is_food",
]


def col(zh: str, en: str, doc: str = "", *, required: bool = False, type: str = "str",
        private: bool = False, default: Any = None) -> Any:
    """A record field with its labels.

    ``type`` is one of ``str``, ``int``, ``float``, ``bool``, ``date``,
    ``datetime`` or ``json`` (a JSON-serialisable dict/list); ``private``
    marks personal data (phone numbers, ID numbers) never shown publicly.
    """
    return field(default=default, metadata={
        "zh": zh, "en": en, "doc": doc, "required": required, "type": type, "private": private,
    })


PLACEHOLDERS_DOC = ("fields whose values only stand in for unknown ones (space separated), e.g. the kind Operator "
                    "and a name equal to the GLN of a stub made from a reference: a known value replaces them, "
                    "they never replace a known value")


@dataclass(frozen=True, slots=True)
class Record:
    """Base of all records; ``table`` names the store table and ontology class."""

    table: ClassVar[str] = ""
    cls: ClassVar[str] = ""
    zh: ClassVar[str] = ""
    unique: ClassVar[tuple[str, ...]] = ()

    id: str = col("标识", "id", "canonical identifier", required=True)


@dataclass(frozen=True, slots=True)
class Region(Record):
    """A district, county-level city or township (区县/乡镇)."""

    table: ClassVar[str] = "region"
    cls: ClassVar[str] = "Region"
    zh: ClassVar[str] = "行政区划"

    name: str | None = col("名称", "name", "Chinese name", required=True)
    name_en: str | None = col("英文名称", "name_en", "English name")
    code: str | None = col("区划代码", "code", "administrative division code (GB/T 2260)")
    parent_id: str | None = col("上级区划", "parent", "enclosing region id")
    level: str | None = col("级别", "level", "city, district or township")


@dataclass(frozen=True, slots=True)
class Operator(Record):
    """A food business or farm (经营主体): any station of the trace chain."""

    table: ClassVar[str] = "operator"
    cls: ClassVar[str] = "Operator"
    zh: ClassVar[str] = "经营主体"

    kind: str | None = col("主体类型", "kind", "ontology subclass local name, e.g. Farm, Slaughterhouse, Stall", required=True)
    name: str | None = col("名称", "name", "registered (Chinese) name", required=True)
    name_en: str | None = col("英文名称", "name_en", "English name")
    uscc: str | None = col("统一社会信用代码", "uscc", "unified social credit code (18 characters, check character verified)")
    gln: str | None = col("全球位置码", "gln", "GS1 Global Location Number (13 digits, check digit verified)")
    licence_no: str | None = col("许可证编号", "licence_no", "food business / production licence number")
    licence_date: str | None = col("发证日期", "licence_date", "licence issue date", type="date")
    region_id: str | None = col("所属区县", "district", "district (Region id or Chinese name)")
    address: str | None = col("地址", "address", "address")
    parent_id: str | None = col("所属主体", "parent", "enclosing operator, e.g. the market of a stall")
    scale: str | None = col("规模", "scale", "large, medium, small or micro")
    category: str | None = col("主营类别", "category", "main product category")
    haccp: bool | None = col("HACCP认证", "haccp", "holds a HACCP certification", type="bool")
    individual: bool | None = col("个体", "individual", "a natural person (farmer, stall keeper): personal data masked publicly", type="bool")
    contact: str | None = col("联系人", "contact", "contact person", private=True)
    phone: str | None = col("联系电话", "phone", "contact phone", private=True)
    lat: float | None = col("纬度", "lat", "latitude", type="float")
    lon: float | None = col("经度", "lon", "longitude", type="float")
    placeholders: str | None = col("占位字段", "placeholders", PLACEHOLDERS_DOC)
    erased: str | None = col("个人信息删除时间", "erased", "time this natural person's personal data was erased on "
                             "request (个人信息保护法); name, phone, ID and address are gone", type="datetime")
    erased_by: str | None = col("删除人", "erased_by", "who erased the personal data")


@dataclass(frozen=True, slots=True)
class Product(Record):
    """A product (trade item); GS1 GTIN where it has one."""

    table: ClassVar[str] = "product"
    cls: ClassVar[str] = "Product"
    zh: ClassVar[str] = "产品"

    name: str | None = col("产品名称", "name", "product name", required=True)
    name_en: str | None = col("英文名称", "name_en", "English name")
    gtin: str | None = col("商品条码", "gtin", "GTIN-8/12/13/14 (check digit verified)")
    category: str | None = col("食品类别", "category", "food category (ontology term, e.g. pork, leafy_vegetable)")
    brand: str | None = col("商标", "brand", "brand")
    spec: str | None = col("规格型号", "spec", "specification / package size")
    unit: str | None = col("计量单位", "unit", "default unit (UN/CEFACT code, e.g. KGM)")
    producer_id: str | None = col("生产者", "producer", "brand owner or producer operator id")
    placeholders: str | None = col("占位字段", "placeholders", PLACEHOLDERS_DOC)


@dataclass(frozen=True, slots=True)
class Lot(Record):
    """A lot / batch (批次): the unit of tracing."""

    table: ClassVar[str] = "lot"
    cls: ClassVar[str] = "Lot"
    zh: ClassVar[str] = "批次"

    product_id: str | None = col("产品", "product", "product id", required=True)
    lot_number: str | None = col("批号", "lot_number", "lot number as printed")
    producer_id: str | None = col("生产者", "producer", "operator that produced, harvested or slaughtered the lot")
    production_date: str | None = col("生产日期", "production_date", "production / harvest / slaughter date", type="date")
    expiry_date: str | None = col("保质期至", "expiry_date", "best-before or expiry date", type="date")
    quantity: float | None = col("数量", "quantity", "quantity produced", type="float")
    unit: str | None = col("单位", "unit", "unit of quantity (UN/CEFACT code)")
    origin_id: str | None = col("产地", "origin", "region of origin")
    event_id: str | None = col("来源事件", "event", "EPCIS event that created it")


@dataclass(frozen=True, slots=True)
class Delivery(Record):
    """One shipment of one lot from one operator to another at a time."""

    table: ClassVar[str] = "delivery"
    cls: ClassVar[str] = "Delivery"
    zh: ClassVar[str] = "交付"

    lot_id: str | None = col("批次", "lot", "lot id", required=True)
    sender_id: str | None = col("发货方", "from", "sending operator id", required=True)
    receiver_id: str | None = col("收货方", "to", "receiving operator id", required=True)
    time: str | None = col("发货时间", "ship_time", "time the delivery left the sender", required=True, type="datetime")
    received_time: str | None = col("收货时间", "receive_time", "time it arrived", type="datetime")
    quantity: float | None = col("数量", "quantity", "quantity shipped (> 0); unknown only where the source gives none, "
                                 "e.g. an EPCIS quantityElement without quantity (the SHACL shapes flag such a delivery as incomplete)", type="float")
    unit: str | None = col("单位", "unit", "unit of quantity (UN/CEFACT code); required with a quantity")
    ticket_id: str | None = col("票据", "ticket", "ticket (invoice / sales voucher) id")
    certificate_id: str | None = col("合格证明", "certificate", "certificate travelling with the lot")
    trace_code: str | None = col("追溯码", "trace_code", "trace code printed on the delivery")
    event_id: str | None = col("来源事件", "event", "EPCIS event it was read from")


@dataclass(frozen=True, slots=True)
class Transformation(Record):
    """Inputs become outputs at a station: slaughter, cutting, processing, repacking, mixing, heating, destruction."""

    table: ClassVar[str] = "transformation"
    cls: ClassVar[str] = "Transformation"
    zh: ClassVar[str] = "加工转化"

    station_id: str | None = col("加工主体", "station", "operator where it happened", required=True)
    time: str | None = col("时间", "time", "time", required=True, type="datetime")
    kind: str | None = col("类型", "kind", "slaughter, cutting, processing, repacking, mixing, heating, destruction", required=True)
    event_id: str | None = col("来源事件", "event", "EPCIS event it was read from")


@dataclass(frozen=True, slots=True)
class TransformationItem(Record):
    """One input or output lot of a transformation (a lot link)."""

    table: ClassVar[str] = "transformation_item"
    cls: ClassVar[str] = "TransformationItem"
    zh: ClassVar[str] = "转化投入产出"

    transformation_id: str | None = col("加工转化", "transformation", "transformation id", required=True)
    lot_id: str | None = col("批次", "lot", "lot id", required=True)
    role: str | None = col("角色", "role", "input or output", required=True)
    quantity: float | None = col("数量", "quantity", "quantity", type="float")
    unit: str | None = col("单位", "unit", "unit of quantity")


@dataclass(frozen=True, slots=True)
class Certificate(Record):
    """证: a compliance-commitment certificate, quarantine certificate, meat quality certificate or test report."""

    table: ClassVar[str] = "certificate"
    cls: ClassVar[str] = "Certificate"
    zh: ClassVar[str] = "合格证明"

    kind: str | None = col("证明类型", "kind", "compliance_commitment, animal_quarantine, meat_quality, test_report, other", required=True)
    number: str | None = col("证明编号", "number", "certificate number")
    issuer: str | None = col("出具机构", "issuer", "issuing body or operator")
    holder_id: str | None = col("持证主体", "holder", "operator the certificate was issued to")
    lot_id: str | None = col("批次", "lot", "lot it certifies")
    issued: str | None = col("出具日期", "issued", "issue date", type="date")
    valid_until: str | None = col("有效期至", "valid_until", "valid until", type="date")
    uri: str | None = col("证明链接", "uri", "certificate URI (EPCIS certificationInfo)")


@dataclass(frozen=True, slots=True)
class Ticket(Record):
    """票: the invoice / sales voucher of a delivery (EPCIS bizTransaction of type inv)."""

    table: ClassVar[str] = "ticket"
    cls: ClassVar[str] = "Ticket"
    zh: ClassVar[str] = "票据"

    number: str | None = col("票据号", "number", "invoice / voucher number", required=True)
    kind: str | None = col("票据类型", "kind", "CBV bizTransaction type (inv, po, desadv, recadv ...)")
    issuer_id: str | None = col("开票方", "issuer", "issuing operator")
    date: str | None = col("开票日期", "date", "date", type="date")
    uri: str | None = col("票据链接", "uri", "bizTransaction URI as received")


@dataclass(frozen=True, slots=True)
class TraceCode(Record):
    """码: a trace code printed on a lot (QR); a GS1 Digital Link where a GTIN exists."""

    table: ClassVar[str] = "trace_code"
    cls: ClassVar[str] = "TraceCode"
    zh: ClassVar[str] = "追溯码"

    code: str | None = col("追溯码", "code", "the code as printed", required=True)
    lot_id: str | None = col("批次", "lot", "lot the code identifies", required=True)
    operator_id: str | None = col("赋码主体", "operator", "operator that issued the code")
    issued: str | None = col("赋码日期", "issued", "date", type="date")


@dataclass(frozen=True, slots=True)
class Sample(Record):
    """抽检: a sample taken for supervisory sampling, risk monitoring or a rapid test."""

    table: ClassVar[str] = "sample"
    cls: ClassVar[str] = "Sample"
    zh: ClassVar[str] = "抽检样品"

    plan: str | None = col("抽检类型", "plan", "supervisory, monitoring or rapid", required=True)
    sampled_id: str | None = col("被抽样单位", "sampled", "operator where it was taken; empty where the source "
                                 "does not name it (see ``missing``)")
    producer_id: str | None = col("标称生产企业", "producer", "named producer (manufacturer)")
    brand_owner_id: str | None = col("委托方", "brand_owner", "brand owner where a contract manufacturer made it")
    product_id: str | None = col("产品", "product", "product id")
    product_name: str | None = col("食品名称", "product_name", "product name as written", required=True)
    category: str | None = col("食品类别", "category", "food category")
    lot_id: str | None = col("批次", "lot", "lot id where known")
    batch: str | None = col("生产日期/批号", "batch", "production date or batch number as written")
    sampled_at: str | None = col("抽样日期", "sampled_at", "sampling date", type="date")
    conclusion: str | None = col("结论", "conclusion", "conforming or nonconforming", required=True)
    announcement: str | None = col("公告号", "announcement", "announcement number or title")
    announced: str | None = col("公告日期", "announced", "announcement date", type="date")
    lab: str | None = col("检验机构", "lab", "testing laboratory")
    disputed: bool | None = col("存在异议", "disputed", "the named producer denies it or the cause lies elsewhere", type="bool")
    remark: str | None = col("备注", "remark", "remark as written")
    disposal_due: str | None = col("核查处置期限", "disposal_due", "deadline of verification and disposal (核查处置)", type="date")
    disposal_done: str | None = col("核查处置完成", "disposal_done", "date verification and disposal was completed", type="date")
    task: str | None = col("任务来源", "task", "任务来源/项目名称 as written")
    task_kind: str | None = col("抽检任务类别", "task_kind", "national (国抽), provincial (省抽), municipal (市抽), "
                                "county (县抽), special (专项) or evaluation (评价性), read from the task")
    source_id: str | None = col("信息来源", "source", "the SamplingSource (publisher) the result came from")
    also_sources: str | None = col("其他信息来源", "also_sources", "the other SamplingSources that published the same "
                                   "result (one sample published twice), space separated")
    province: str | None = col("被抽样单位所在省份", "province", "province of the sampled unit, short name (江苏)")
    samr_category: str | None = col("抽检分类代码", "samr_category", "code of the SAMR sampling category "
                                    "(loaders/data/samr_categories.csv), most specific level known")
    samr_path: str | None = col("抽检分类", "samr_path", "SAMR sampling category path 大类/亚类/次亚类/品种")
    category_text: str | None = col("分类原文", "category_text", "the 分类 cell as written")
    food_related: bool | None = col("食品相关产品", "food_related", "a food-related product (detergent, packaging, "
                                    "machinery), not food: left out of food risk", type="bool")
    missing: str | None = col("缺失项", "missing", "what the source left out or wrote as text, space separated, in "
                              "this order: sampled producer batch items result limit province category announced")


@dataclass(frozen=True, slots=True)
class SamplingSource(Record):
    """抽检信息来源: a publisher of sampling results and what it publishes (both tables or failures only).

    A failures-only source gives no denominator: no failure rate may be computed over its samples
    (their failures still count). ``coverage`` is declared on load or detected: ``both`` once a 合格
    row of the source is known, else ``failures_only``.
    """

    table: ClassVar[str] = "sampling_source"
    cls: ClassVar[str] = "SamplingSource"
    zh: ClassVar[str] = "抽检信息来源"

    name: str | None = col("来源名称", "name", "publisher as written (normalised), e.g. 山东市场监管局", required=True)
    coverage: str | None = col("覆盖范围", "coverage", "both (合格 and 不合格 tables) or failures_only", required=True)
    coverage_basis: str | None = col("覆盖依据", "coverage_basis", "declared (said on load) or detected (from the "
                                     "tables loaded)")


@dataclass(frozen=True, slots=True)
class TestResult(Record):
    """One tested item of a sample: value, limit and conclusion."""

    __test__ = False
    table: ClassVar[str] = "test_result"
    cls: ClassVar[str] = "TestResult"
    zh: ClassVar[str] = "检验结果"

    sample_id: str | None = col("样品", "sample", "sample id", required=True)
    item: str | None = col("检验项目", "item", "test item, e.g. 恩诺沙星", required=True)
    hazard_class: str | None = col("危害类别", "hazard_class", "a concept of the hazard_class scheme: vet_drug, pesticide, "
                                   "additive, illegal_additive, microbial, heavy_metal, biotoxin, organic_contaminant, "
                                   "quality, label, food_contact, other")
    value: float | None = col("检验结果", "value", "measured value", type="float")
    value_text: str | None = col("结果原文", "value_text", "result as written")
    unit: str | None = col("单位", "unit", "unit of value and limit")
    limit: float | None = col("标准值", "limit", "limit (maximum); 0 for 不得检出", type="float")
    limit_text: str | None = col("标准原文", "limit_text", "limit as written")
    conclusion: str | None = col("结论", "conclusion", "conforming or nonconforming", required=True)


@dataclass(frozen=True, slots=True)
class Inspection(Record):
    """监督检查: a routine or unannounced inspection of an operator."""

    table: ClassVar[str] = "inspection"
    cls: ClassVar[str] = "Inspection"
    zh: ClassVar[str] = "监督检查"

    operator_id: str | None = col("被检查单位", "operator", "operator inspected", required=True)
    date: str | None = col("检查日期", "date", "date", required=True, type="date")
    kind: str | None = col("检查类型", "kind", "routine, unannounced (飞行检查), special")
    result: str | None = col("检查结果", "result", "pass, pass_with_remarks (基本符合), fail", required=True)
    findings: str | None = col("问题描述", "findings", "findings")
    inspector: str | None = col("检查机构", "inspector", "inspecting authority")


@dataclass(frozen=True, slots=True)
class Case(Record):
    """稽查案件: an enforcement case, possibly transferred to the police (行刑衔接)."""

    table: ClassVar[str] = "case"
    cls: ClassVar[str] = "Case"
    zh: ClassVar[str] = "稽查案件"

    operator_id: str | None = col("当事人", "operator", "operator concerned", required=True)
    opened: str | None = col("立案日期", "opened", "date opened", required=True, type="date")
    closed: str | None = col("结案日期", "closed", "date closed", type="date")
    violation: str | None = col("违法行为", "violation", "violation")
    penalty: str | None = col("处罚决定", "penalty", "penalty decided")
    fine: float | None = col("罚没金额", "fine", "fine and confiscation in yuan", type="float")
    transferred_to_police: bool | None = col("移送公安", "transferred_to_police", "transferred to the police (行刑衔接)", type="bool")
    sample_id: str | None = col("关联样品", "sample", "sample that triggered it")


@dataclass(frozen=True, slots=True)
class Complaint(Record):
    """投诉举报: a complaint or report about an operator."""

    table: ClassVar[str] = "complaint"
    cls: ClassVar[str] = "Complaint"
    zh: ClassVar[str] = "投诉举报"

    operator_id: str | None = col("被投诉单位", "operator", "operator complained about", required=True)
    date: str | None = col("受理日期", "date", "date received", required=True, type="date")
    channel: str | None = col("渠道", "channel", "12315, hotline, whistleblower, online")
    topic: str | None = col("问题类别", "topic", "topic")
    substantiated: bool | None = col("查证属实", "substantiated", "found to be true", type="bool")
    description: str | None = col("内容", "description", "content")
    kind: str | None = col("类型", "kind", "complaint (投诉: a consumer's dispute) or report (举报: a lead on a violation); "
                           "unknown counts as a complaint")
    rural: bool | None = col("农村", "rural", "concerns a business in a rural area (counted apart: the plan's 农村 target)",
                             type="bool")
    real_name: bool | None = col("实名", "real_name", "the complainant or reporter gave a name (a real-name report is "
                                 "told whether a case was opened)", type="bool")
    lot_id: str | None = col("批次", "lot", "the lot it concerns")
    sample_id: str | None = col("关联样品", "sample", "the sample it concerns")


@dataclass(frozen=True, slots=True)
class CreditRecord(Record):
    """A credit record: penalty, serious-dishonesty list, abnormal operation, commendation or official credit class."""

    table: ClassVar[str] = "credit_record"
    cls: ClassVar[str] = "CreditRecord"
    zh: ClassVar[str] = "信用记录"

    operator_id: str | None = col("主体", "operator", "operator", required=True)
    kind: str | None = col("记录类型", "kind", "penalty, serious_dishonest, abnormal, commendation, credit_class", required=True)
    start: str | None = col("起始日期", "start", "decision / publication date", required=True, type="date")
    end: str | None = col("公示截止日期", "end", "end of the publicity period", type="date")
    repaired: str | None = col("信用修复日期", "repaired", "date of credit repair (信用修复)", type="date")
    credit_class: str | None = col("信用等级", "credit_class", "official general credit class A-D where given")
    authority: str | None = col("决定机关", "authority", "deciding authority")
    reason: str | None = col("事由", "reason", "reason")


@dataclass(frozen=True, slots=True)
class RiskAssessment(Record):
    """风险评估: one stored risk grade of an operator, with its points, evidence and versions.

    Append-only: ``foodtrace risk grade`` adds one record per operator and run and never
    changes an earlier one; the only fields written later are the publication stamp
    (``published``, ``published_at``, ``published_by``), written once. ``grade`` is the grade
    in effect after the run (an override in force wins), ``computed_grade`` what the points
    gave; ``differs`` flags a computed grade that differs from the override in force.
    """

    table: ClassVar[str] = "risk_assessment"
    cls: ClassVar[str] = "RiskAssessment"
    zh: ClassVar[str] = "风险评估"

    operator_id: str | None = col("主体", "operator", "operator assessed", required=True)
    run: str | None = col("评估批次", "run", "the grading run that produced it (one per `foodtrace risk grade`)")
    grade: str | None = col("风险等级", "grade", "grade A-D in effect after this run (an override in force wins)",
                            required=True)
    computed_grade: str | None = col("计算等级", "computed_grade", "grade A-D the points table gave", required=True)
    score: float | None = col("风险分值", "score", "total points (static + dynamic + credit)", type="float")
    static_points: float | None = col("静态风险分", "static_points", "static factor points (category and scale, <= 40)",
                                      type="float")
    dynamic_points: float | None = col("动态风险分", "dynamic_points", "dynamic factor points (inspections, sampling, "
                                       "cases, interviews, <= 40)", type="float")
    credit_points: float | None = col("信用风险分", "credit_points", "general credit risk points (<= 20)", type="float")
    credit_class: str | None = col("信用等级", "credit_class", "credit class A-D used (official or computed)")
    as_of: str | None = col("评估基准日", "as_of", "records dated before this day were known", required=True,
                            type="date")
    created: str | None = col("评估时间", "created", "time the assessment was stored", required=True, type="datetime")
    config_version: str | None = col("评分规则版本", "config_version", "version of the points table", required=True)
    model_version: str | None = col("模型版本", "model_version", "version of the failure-risk model, or none",
                                    required=True)
    probability: float | None = col("不合格概率", "probability", "model probability that the next sample fails",
                                    type="float")
    method: str | None = col("评定方法", "method", "grading method, e.g. SAMR-2022 producer or a named adaptation")
    explanation: str | None = col("评定说明", "explanation", "factors with their points and evidence ids, and the "
                                  "model's top features (JSON)", type="json")
    override_id: str | None = col("人工调整", "override", "the grade override in force at the run")
    differs: bool | None = col("与调整不一致", "differs", "the computed grade differs from the override in force",
                               type="bool")
    published: bool | None = col("已发布", "published", "the credit team published this assessment", type="bool")
    published_at: str | None = col("发布时间", "published_at", "time it was published", type="datetime")
    published_by: str | None = col("发布人", "published_by", "who published it")


@dataclass(frozen=True, slots=True)
class GradeOverride(Record):
    """人工调整: the credit team sets an operator's grade by hand, with a reason; it holds until lifted.

    Never deleted: lifting fills ``lifted``, ``lifted_by`` and ``lift_reason``.
    """

    table: ClassVar[str] = "grade_override"
    cls: ClassVar[str] = "GradeOverride"
    zh: ClassVar[str] = "等级人工调整"

    operator_id: str | None = col("主体", "operator", "operator whose grade is set", required=True)
    grade: str | None = col("调整等级", "grade", "grade A-D set by hand", required=True)
    reason: str | None = col("调整理由", "reason", "why the grade was set by hand", required=True)
    by: str | None = col("调整人", "by", "who decided it", required=True)
    created: str | None = col("调整时间", "created", "time it was decided", required=True, type="datetime")
    computed_grade: str | None = col("计算等级", "computed_grade", "computed grade of the latest assessment then")
    assessment_id: str | None = col("所调整评估", "assessment", "the latest assessment when it was decided")
    lifted: str | None = col("撤销时间", "lifted", "time the override was lifted", type="datetime")
    lifted_by: str | None = col("撤销人", "lifted_by", "who lifted it")
    lift_reason: str | None = col("撤销理由", "lift_reason", "why it was lifted")


@dataclass(frozen=True, slots=True)
class DisposalCase(Record):
    """核查处置: the verification and disposal of a nonconforming result, assigned to a district bureau.

    Opened automatically for each nonconforming, undisputed supervisory sample (on demand for a rapid test,
    a complaint or a trace); its history is its :class:`HandlingStep` records (append-only). ``due`` is the
    deadline computed when it was opened, under the rules table version ``rules_version``
    (:mod:`ontology.handling`); an approved extension is a later step, never a change to the case.
    """

    table: ClassVar[str] = "disposal_case"
    cls: ClassVar[str] = "DisposalCase"
    zh: ClassVar[str] = "核查处置"

    number: str | None = col("处置编号", "number", "case number as the bureau writes it", required=True)
    trigger: str | None = col("来源", "trigger", "what opened it: supervisory_sample, monitoring_sample, rapid_test, "
                              "complaint or trace (disposal_trigger scheme)", required=True)
    operator_id: str | None = col("当事单位", "operator", "the business concerned (where the sample was taken)",
                                  required=True)
    producer_id: str | None = col("标称生产者", "producer", "the nominal producer, where named")
    district_id: str | None = col("承办区县", "district", "the district bureau in charge (a Region; the city for a "
                                  "business whose district is unknown)", required=True)
    sample_id: str | None = col("样品", "sample", "the nonconforming sample")
    complaint_id: str | None = col("投诉举报", "complaint", "the complaint or report that opened it")
    lot_id: str | None = col("批次", "lot", "the lot concerned (the start of a trace)")
    opened: str | None = col("启动日期", "opened", "day the nonconforming result (or complaint, trace) reached the "
                             "bureau", required=True, type="date")
    due: str | None = col("办结期限", "due", "deadline of the whole case as opened", required=True, type="date")
    rules_version: str | None = col("规则版本", "rules_version", "version of the deadline rules table it was opened "
                                    "under", required=True)
    opened_by: str | None = col("启动人", "opened_by", "who opened it (foodtrace when automatic)")
    note: str | None = col("说明", "note", "note")


@dataclass(frozen=True, slots=True)
class HandlingStep(Record):
    """办理环节: one step of a disposal case or of a complaint's handling: who, when, what, with evidence.

    Append-only: a wrong step is never changed; a later step names it in ``corrects_id`` and replaces it
    (or, of kind ``void``, cancels it). Which steps may follow which, and their deadlines, are the rules of
    :mod:`ontology.handling`.
    """

    table: ClassVar[str] = "handling_step"
    cls: ClassVar[str] = "HandlingStep"
    zh: ClassVar[str] = "办理环节"

    subject_id: str | None = col("办理事项", "subject", "the disposal case or complaint it belongs to", required=True)
    seq: int | None = col("序号", "seq", "position in its subject's history (1, 2 ...)", required=True, type="int")
    kind: str | None = col("环节", "kind", "kind of step (handling_step scheme)", required=True)
    date: str | None = col("日期", "date", "day it happened", required=True, type="date")
    by: str | None = col("经办人", "by", "who did it", required=True)
    recorded: str | None = col("记录时间", "recorded", "time it was recorded", required=True, type="datetime")
    party_id: str | None = col("对象", "party", "the operator it concerns (served on, recall receiver, producer "
                               "asked about)")
    outcome: str | None = col("结果", "outcome", "outcome: pass or fail of a re-test, the level of an escalation, the "
                              "other city's bureau of an assistance request ...")
    reason: str | None = col("理由", "reason", "reason (required to decline a case or a complaint, to extend, to "
                             "correct)")
    note: str | None = col("内容", "note", "what was done")
    case_id: str | None = col("立案案件", "case", "the enforcement case opened (立案)")
    due: str | None = col("新期限", "due", "the new deadline an approved extension sets", type="date")
    corrects_id: str | None = col("更正环节", "corrects", "the earlier step this one corrects or cancels")
    evidence_ids: str | None = col("证据", "evidence", "evidence file ids, space separated")
    recall_list: str | None = col("召回清单", "recall_list", "a recall's list from the trace: receivers with their "
                                  "deliveries and lots (JSON)", type="json")


@dataclass(frozen=True, slots=True)
class EvidenceFile(Record):
    """证据文件: a file attached to a step (a served report, a photo, a letter), stored by its content hash.

    ``id`` is ``urn:foodtrace:evidence:sha256:<hex>``: the same file attached twice is stored once.
    """

    table: ClassVar[str] = "evidence_file"
    cls: ClassVar[str] = "EvidenceFile"
    zh: ClassVar[str] = "证据文件"

    sha256: str | None = col("SHA-256", "sha256", "SHA-256 of the content (hex)", required=True)
    name: str | None = col("文件名", "name", "file name as uploaded", required=True)
    media_type: str | None = col("文件类型", "media_type", "media type recognised from the content", required=True)
    size: int | None = col("大小", "size", "bytes", required=True, type="int")
    content: str | None = col("内容", "content", "the file, base64", required=True)
    uploaded: str | None = col("上传时间", "uploaded", "time it was stored", type="datetime")
    by: str | None = col("上传人", "by", "who stored it")


@dataclass(frozen=True, slots=True)
class SchoolAlert(Record):
    """校园食品安全预警: a school canteen's real-time alert, raised once per school and cause.

    ``kind`` is ``failed_sample`` (a nonconforming sample of a lot that reached the school, of a lot it was
    made from, of one made from it or of another made from the same lot: ``relation`` same_lot, upstream,
    downstream or common_origin), ``supplier_grade`` (a
    supplier of the school graded C or D) or ``supplier_listed`` (a supplier on the 严重违法失信名单). The id
    is derived from the school and the cause, so raising it again changes nothing.
    """

    table: ClassVar[str] = "school_alert"
    cls: ClassVar[str] = "SchoolAlert"
    zh: ClassVar[str] = "校园食品安全预警"

    kind: str | None = col("预警类型", "kind", "failed_sample, supplier_grade or supplier_listed (school_alert_kind "
                           "scheme)", required=True)
    school_id: str | None = col("学校食堂", "school", "the school canteen", required=True)
    district_id: str | None = col("所属区县", "district", "the school's district")
    raised: str | None = col("预警时间", "raised", "time the alert was raised", required=True, type="datetime")
    sample_id: str | None = col("不合格样品", "sample", "the nonconforming sample (failed_sample)")
    lot_id: str | None = col("到校批次", "lot", "the lot the school received (failed_sample)")
    sample_lot_id: str | None = col("样品批次", "sample_lot", "the failing sample's lot")
    delivery_id: str | None = col("到校交付", "delivery", "the delivery that brought the lot into the school")
    relation: str | None = col("批次关系", "relation", "same_lot, upstream, downstream or common_origin: where the failing "
                               "lot lies from the school's lot")
    tier: str | None = col("可信度", "tier", "certain or possible")
    supplier_id: str | None = col("供应商", "supplier", "the school's supplier concerned")
    grade: str | None = col("供应商风险等级", "grade", "the supplier's risk grade in effect")
    credit_record_id: str | None = col("失信记录", "credit_record", "the serious-dishonesty list entry")
    message: str | None = col("预警内容", "message", "the alert in one Chinese sentence", required=True)


@dataclass(frozen=True, slots=True)
class Chef(Record):
    """乡村厨师: a chef of rural banquets in the district's register (health certificate, training)."""

    table: ClassVar[str] = "chef"
    cls: ClassVar[str] = "Chef"
    zh: ClassVar[str] = "乡村厨师"

    name: str | None = col("姓名", "name", "the chef's name", required=True, private=True)
    district_id: str | None = col("所属区县", "district", "district of the register", required=True)
    township: str | None = col("乡镇", "township", "township")
    phone: str | None = col("联系电话", "phone", "phone", private=True)
    health_cert_no: str | None = col("健康证编号", "health_cert_no", "health certificate number", private=True)
    health_cert_expiry: str | None = col("健康证有效期至", "health_cert_expiry", "last day the health certificate is "
                                         "valid", required=True, type="date")
    trained: str | None = col("最近培训日期", "trained", "day of the latest food-safety training", type="date")
    training: str | None = col("培训内容", "training", "what the latest training covered")
    registered: str | None = col("登记日期", "registered", "day entered in the register", type="date")


@dataclass(frozen=True, slots=True)
class Banquet(Record):
    """农村集体聚餐: the registration (报备) of a rural collective banquet.

    ``station_id`` is the banquet's station in the trace graph (an Operator of kind ``RuralBanquet``, written
    with it): the ingredients are deliveries to it, so traces reach it and an outbreak can start from its guests.
    """

    table: ClassVar[str] = "banquet"
    cls: ClassVar[str] = "Banquet"
    zh: ClassVar[str] = "农村集体聚餐"

    number: str | None = col("报备编号", "number", "registration number", required=True)
    station_id: str | None = col("聚餐站点", "station", "the banquet's station (Operator of kind RuralBanquet)",
                                 required=True)
    host: str | None = col("举办者", "host", "the household holding it", required=True, private=True)
    host_phone: str | None = col("举办者电话", "host_phone", "the host's phone", private=True)
    kind: str | None = col("聚餐类型", "kind", "occasion: 婚宴 寿宴 丧宴 满月宴 升学宴 其他")
    date: str | None = col("聚餐日期", "date", "day of the banquet", required=True, type="date")
    place: str | None = col("聚餐地点", "place", "where it is held", required=True)
    district_id: str | None = col("所属区县", "district", "district", required=True)
    township: str | None = col("乡镇", "township", "township")
    guests: int | None = col("就餐人数", "guests", "number of guests", required=True, type="int")
    tables: int | None = col("桌数", "tables", "number of tables", type="int")
    chef_id: str | None = col("厨师", "chef", "the rural chef cooking (Chef id)")
    menu: str | None = col("菜单", "menu", "menu as registered")
    sources: str | None = col("食材来源", "sources", "where the ingredients come from, as declared")
    registered: str | None = col("报备时间", "registered", "time registered", required=True, type="datetime")
    registered_by: str | None = col("报备受理人", "registered_by", "who took the registration")


@dataclass(frozen=True, slots=True)
class BanquetGuidance(Record):
    """现场指导: an on-site guidance visit at a rural banquet."""

    table: ClassVar[str] = "banquet_guidance"
    cls: ClassVar[str] = "BanquetGuidance"
    zh: ClassVar[str] = "聚餐现场指导"

    banquet_id: str | None = col("聚餐", "banquet", "the banquet (Banquet id)", required=True)
    date: str | None = col("指导日期", "date", "day of the visit", required=True, type="date")
    by: str | None = col("指导人员", "by", "who gave the guidance", required=True)
    checked: str | None = col("检查内容", "checked", "what was checked")
    problems: str | None = col("发现问题", "problems", "problems found")
    rectified: bool | None = col("当场整改", "rectified", "the problems were put right on the spot", type="bool")
    note: str | None = col("备注", "note", "note")


@dataclass(frozen=True, slots=True)
class BanquetCensus(Record):
    """农村集体聚餐摸底: how many banquets the census expects in a district and month."""

    table: ClassVar[str] = "banquet_census"
    cls: ClassVar[str] = "BanquetCensus"
    zh: ClassVar[str] = "农村集体聚餐摸底"

    district_id: str | None = col("所属区县", "district", "district", required=True)
    month: str | None = col("月份", "month", "month, YYYY-MM", required=True)
    expected: int | None = col("摸底数", "expected", "banquets the census expects", required=True, type="int")
    source: str | None = col("摸底来源", "source", "where the count comes from")


@dataclass(frozen=True, slots=True)
class MajorEvent(Record):
    """重大活动: a major event under food-safety assurance, its kitchens and designated suppliers."""

    table: ClassVar[str] = "major_event"
    cls: ClassVar[str] = "MajorEvent"
    zh: ClassVar[str] = "重大活动"

    name: str | None = col("活动名称", "name", "name of the event", required=True)
    level: str | None = col("保障级别", "level", "national, provincial, municipal or district", required=True)
    start: str | None = col("开始日期", "start", "first day", required=True, type="date")
    end: str | None = col("结束日期", "end", "last day (not before the first)", required=True, type="date")
    venues: str | None = col("活动场馆", "venues", "venues as named, separated by ；")
    kitchen_ids: str | None = col("保障厨房", "kitchens", "the kitchens serving it (operator ids), space separated")
    supplier_ids: str | None = col("定点供应商", "suppliers", "designated suppliers (operator ids), space separated")
    district_id: str | None = col("所属区县", "district", "district")
    organiser: str | None = col("主办单位", "organiser", "who organises it")
    created: str | None = col("登记时间", "created", "time it was entered", type="datetime")


@dataclass(frozen=True, slots=True)
class KitchenCamera(Record):
    """明厨亮灶接入: a canteen's cameras connected to the 互联网+明厨亮灶 platform."""

    table: ClassVar[str] = "kitchen_camera"
    cls: ClassVar[str] = "KitchenCamera"
    zh: ClassVar[str] = "明厨亮灶接入"

    canteen_id: str | None = col("食堂", "canteen", "the canteen (operator id)", required=True)
    connected: str | None = col("接入日期", "connected", "day connected", required=True, type="date")
    cameras: int | None = col("摄像头数", "cameras", "cameras connected", type="int")
    platform: str | None = col("接入平台", "platform", "platform")
    disconnected: str | None = col("断开日期", "disconnected", "day the connection ended", type="date")


@dataclass(frozen=True, slots=True)
class KitchenDay(Record):
    """明厨亮灶日志: one school day of a canteen: hours online against working hours, tickets and menu uploaded."""

    table: ClassVar[str] = "kitchen_day"
    cls: ClassVar[str] = "KitchenDay"
    zh: ClassVar[str] = "明厨亮灶日志"

    canteen_id: str | None = col("食堂", "canteen", "the canteen (operator id)", required=True)
    date: str | None = col("日期", "date", "the school day", required=True, type="date")
    online_hours: float | None = col("在线时长", "online_hours", "hours online in working hours", type="float")
    expected_hours: float | None = col("应在线时长", "expected_hours", "working hours of the day", type="float")
    tickets_uploaded: bool | None = col("票据已上传", "tickets_uploaded", "the day's tickets were uploaded", type="bool")
    menu_uploaded: bool | None = col("菜谱已上传", "menu_uploaded", "the day's menu was uploaded", type="bool")


@dataclass(frozen=True, slots=True)
class KitchenProblem(Record):
    """明厨亮灶发现问题: a problem found at a canteen and the day it was put right."""

    table: ClassVar[str] = "kitchen_problem"
    cls: ClassVar[str] = "KitchenProblem"
    zh: ClassVar[str] = "明厨亮灶发现问题"

    canteen_id: str | None = col("食堂", "canteen", "the canteen (operator id)", required=True)
    found: str | None = col("发现日期", "found", "day found", required=True, type="date")
    description: str | None = col("问题描述", "description", "what was found", required=True)
    rectified: str | None = col("整改完成日期", "rectified", "day put right", type="date")
    by: str | None = col("发现人", "by", "who found it")


@dataclass(frozen=True, slots=True)
class Alias(Record):
    """Another form of an entity's identifier (EPC URN, bare code, local trace code ...).

    ``id`` is the alias itself; it resolves to ``canonical_id``.
    """

    table: ClassVar[str] = "alias"
    cls: ClassVar[str] = "Alias"
    zh: ClassVar[str] = "标识别名"

    canonical_id: str | None = col("规范标识", "canonical", "canonical id", required=True)
    entity: str | None = col("实体类型", "entity", "record table of the entity", required=True)
    scheme: str | None = col("标识体系", "scheme", "epc_urn, digital_link, gtin, gln, uscc, lot_number, trace_code, local")


@dataclass(frozen=True, slots=True)
class Event(Record):
    """An EPCIS event as captured (all five types), kept for provenance and de-duplication.

    ``id`` is the eventID or, where absent, the event hash; ``hash`` is the
    content hash, unique, so a re-sent event is not stored twice.
    """

    table: ClassVar[str] = "event"
    cls: ClassVar[str] = "Event"
    zh: ClassVar[str] = "追溯事件"
    unique: ClassVar[tuple[str, ...]] = ("hash",)

    type: str | None = col("事件类型", "type", "ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent", required=True)
    action: str | None = col("动作", "action", "ADD, OBSERVE, DELETE")
    biz_step: str | None = col("业务步骤", "biz_step", "CBV bizStep")
    disposition: str | None = col("状态", "disposition", "CBV disposition")
    time: str | None = col("事件时间", "time", "eventTime with offset", required=True, type="datetime")
    record_time: str | None = col("记录时间", "record_time", "recordTime", type="datetime")
    read_point: str | None = col("读取点", "read_point", "readPoint id")
    biz_location: str | None = col("业务地点", "biz_location", "bizLocation id")
    hash: str | None = col("事件哈希", "hash", "content hash", required=True)
    source: str | None = col("来源文件", "source", "file it was loaded from")
    body: str | None = col("事件内容", "body", "the event as received (JSON)", type="json")


@dataclass(frozen=True, slots=True)
class Retraction(Record):
    """An EPCIS errorDeclaration: the declared event and everything read from it no longer count."""

    table: ClassVar[str] = "retraction"
    cls: ClassVar[str] = "Retraction"
    zh: ClassVar[str] = "事件撤销"

    event_id: str | None = col("被撤销事件", "event", "the declared event's id", required=True)
    declared: str | None = col("声明时间", "declared", "declarationTime", required=True, type="datetime")
    reason: str | None = col("原因", "reason", "CBV error reason")
    corrective_ids: str | None = col("更正事件", "corrective", "corrective event ids, space separated")


RECORD_TYPES: tuple[type[Record], ...] = (
    Region, Operator, Product, Lot, Delivery, Transformation, TransformationItem, Certificate,
    Ticket, TraceCode, Sample, TestResult, Inspection, Case, Complaint, CreditRecord,
    Alias, Event, Retraction, RiskAssessment, GradeOverride, SamplingSource, DisposalCase, HandlingStep,
    EvidenceFile, SchoolAlert, Chef, Banquet, BanquetGuidance, BanquetCensus,
    MajorEvent, KitchenCamera, KitchenDay, KitchenProblem,
)
_BY_TABLE = {t.table: t for t in RECORD_TYPES}


def _slot_init(rtype: type) -> None:
    """Give a frozen slotted record type an ``__init__`` that sets each slot through its descriptor: the one
    dataclasses generates goes through ``object.__setattr__`` per field (frozen), twice as slow, and a load makes
    millions of records (a delivery: 1.9 -> 1.1 us). Same signature, defaults and result; a type with anything
    else to do at init (``__post_init__``, fields outside ``__init__``, keyword-only fields, default factories)
    keeps the generated one.

    >>> Lot("l1", product_id="p1") == Lot(id="l1", product_id="p1") and Lot("l1").quantity is None
    True
    """
    fields = dataclasses.fields(rtype)
    if hasattr(rtype, "__post_init__") or any(not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING
                                              for f in fields):
        return
    ns: dict[str, Any] = {}
    params, body = [], []
    for f in fields:
        ns[f"_set_{f.name}"] = getattr(rtype, f.name).__set__
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            ns[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _set_{f.name}(self, {f.name})")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"]), ns)
    init = ns["__init__"]
    init.__qualname__ = f"{rtype.__qualname__}.__init__"
    init.__doc__ = rtype.__init__.__doc__
    rtype.__init__ = init


for _rtype in RECORD_TYPES:
    _slot_init(_rtype)


def record_fields(rtype: type[Record]) -> tuple[dataclasses.Field, ...]:
    """The fields of a record type, ``id`` first."""
    return dataclasses.fields(rtype)


def label(rtype: type[Record], name: str) -> tuple[str, str]:
    """The (Chinese, English) label of a field."""
    for f in dataclasses.fields(rtype):
        if f.name == name:
            return f.metadata["zh"], f.metadata["en"]
    raise KeyError(f"{rtype.__name__} has no field {name!r}")


def record_type(table: str) -> type[Record]:
    """The record type stored in ``table``.

    >>> record_type("lot").__name__
    'Lot'
    """
    try:
        return _BY_TABLE[table]
    except KeyError:
        raise KeyError(f"unknown record table {table!r}; known: {', '.join(sorted(_BY_TABLE))}") from None


def to_dict(rec: Record) -> dict[str, Any]:
    """A record as a plain dict of its fields."""
    return {f.name: getattr(rec, f.name) for f in dataclasses.fields(rec)}


def iter_missing_required(rec: Record) -> Iterator[str]:
    """Names of required fields that are empty in ``rec``.

    >>> list(iter_missing_required(Ticket(id="t1")))
    ['number']
    """
    names, values = _required(type(rec))
    if not names:
        return
    got = values(rec) if len(names) > 1 else (values(rec),)
    if None not in got and "" not in got:  # the usual case, without a step per field
        return
    for name, value in zip(names, got):
        if value in (None, ""):
            yield name


def required_values(rtype: type) -> Callable[[Any], tuple[Any, ...]]:
    """A getter of the values of a record type's required fields, as a tuple (empty where it has none): a check
    of millions of records looks for None or "" in it (:func:`iter_missing_required` names the fields).

    >>> required_values(Ticket)(Ticket(id="t1"))  # its id and number
    ('t1', None)
    """
    names, values = _required(rtype)
    if values is None:
        return lambda rec: ()
    return values if len(names) > 1 else (lambda rec: (values(rec),))


@functools.lru_cache(maxsize=None)
def _required(rtype: type) -> tuple[tuple[str, ...], Callable[[Any], Any] | None]:
    """The required fields of a record type and a getter of their values (built once: a load checks millions
    of records)."""
    names = tuple(f.name for f in dataclasses.fields(rtype) if f.metadata.get("required"))
    return names, (operator.attrgetter(*names) if names else None)


# -- placeholders and personal data ------------------------------------------------------------------

#: the field of a record type listing which of its values are placeholders (see :data:`PLACEHOLDERS_DOC`)
PLACEHOLDERS = "placeholders"


def has_placeholders(rtype: type[Record]) -> bool:
    """Whether records of this type may carry placeholder values (stubs made from a reference)."""
    return any(f.name == PLACEHOLDERS for f in dataclasses.fields(rtype))


def placeholder_fields(rec: Record) -> frozenset[str]:
    """The fields of ``rec`` whose values are placeholders.

    >>> sorted(placeholder_fields(with_placeholders(Operator(id="x", kind="Operator", name="x"), "name", "kind")))
    ['kind', 'name']
    """
    text = getattr(rec, PLACEHOLDERS, None)
    return frozenset(text.split()) if text else frozenset()


def with_placeholders(rec: Record, *names: str) -> Record:
    """``rec`` with the values of the fields ``names`` marked as placeholders (empty fields are not marked):
    the one way a loader says "this value only stands in for an unknown one".

    The store keeps the rule: a placeholder fills an empty field, never replaces a value, and is replaced by
    any value that is not a placeholder (whatever the order the sources arrive in).

    >>> with_placeholders(Operator(id="x", kind="Operator", name="x"), "kind", "address").placeholders
    'kind'
    """
    order = [f.name for f in dataclasses.fields(rec)]
    marked = (set(names) | placeholder_fields(rec)) & {n for n in order if getattr(rec, n) is not None}
    text = " ".join(n for n in order if n in marked) or None
    return dataclasses.replace(rec, **{PLACEHOLDERS: text})


#: per record type, the fields holding a natural person's personal data: what an erasure removes
PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "operator": ("name", "name_en", "uscc", "licence_no", "licence_date", "address", "contact", "phone", "lat",
                 "lon"),
}
#: the name an erased operator keeps (a tombstone: the station stays on every trace)
ERASED_NAME = "（个人信息已删除）"


def is_food(sample: Any) -> bool:
    """A sample of food, not of a food-related product (食品相关产品: detergents, packaging, machinery are sampled
    too, but kept out of food risk: grades, warnings, features, the consultation's food figures).

    >>> is_food(Sample(id="s", plan="supervisory", product_name="手洗餐具用洗涤剂", conclusion="nonconforming",
    ...                food_related=True)), is_food(Sample(id="t", plan="rapid", product_name="芹菜", conclusion="conforming"))
    (False, True)
    """
    return not getattr(sample, "food_related", None)
