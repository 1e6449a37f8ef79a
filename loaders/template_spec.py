"""The CSV / Excel templates: one per kind of record a city receives as spreadsheets.

Each template is a list of columns with an English key (also accepted as a
header), a Chinese header (what the blank template shows), whether it is
required, what it holds and an example value. The loader (:mod:`loaders.templates`)
maps headers by either name; the synthetic generator writes the same columns;
the README's column reference is generated from this table.

Identifier columns (``from``, ``to``, ``operator``, ``lot`` ...) accept any form
a city meets: 统一社会信用代码, GLN, EPC URN, GS1 Digital Link, trace code or the
local number given in the ``id`` column of the operators/products template.
A bare lot number is scoped by its product and producer.

>>> [c.key for c in TEMPLATES["deliveries"].columns][:4]
['id', 'lot', 'product', 'lot_number']
>>> TEMPLATES["deliveries"].column("from").zh
'发货方'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Column", "Template", "TEMPLATES", "LOAD_ORDER", "LATE_TEMPLATES"]


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    required: bool
    doc: str
    example: str = ""


@dataclass(frozen=True)
class Template:
    kind: str
    zh: str
    doc: str
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(f"template {self.kind} has no column {key!r}")

    @property
    def headers_zh(self) -> list[str]:
        return [c.zh for c in self.columns]


def _t(kind: str, zh: str, doc: str, *cols: tuple) -> Template:
    return Template(kind, zh, doc, tuple(Column(*c) for c in cols))


_LOT_REF = (
    ("lot", "批次标识", False, "lot id in any form (Digital Link, EPC URN, trace code); or give product + lot_number (+ producer)", "https://id.gs1.org/01/06901234567892/10/L20260301"),
    ("product", "产品", False, "product: GTIN or local product number", "06901234567892"),
    ("lot_number", "批号", False, "lot / batch number as printed", "L20260301"),
    ("producer", "生产者", False, "producer of the lot (scopes a bare lot number)", "91320602MA1MXXXX00"),
)

TEMPLATES: dict[str, Template] = {t.kind: t for t in (
    _t("operators", "经营主体", "farms, slaughterhouses, markets, stalls, shops, canteens, restaurants, producers",
       ("id", "本地编号", False, "your own number for the operator (kept as an alias)", "OP-0001"),
       ("name", "名称", True, "registered name", "南通市崇川区某某生鲜超市"),
       ("kind", "主体类型", True, "养殖场 种植基地 屠宰场 食品生产企业 小作坊 批发市场 农贸市场 摊位 超市 餐饮 学校食堂 配送单位 冷库 (or the English class name)", "超市"),
       ("uscc", "统一社会信用代码", False, "18 characters; the check character is verified", "91320602MA1MXXXX00"),
       ("gln", "全球位置码", False, "GS1 GLN, 13 digits; the check digit is verified", "6901234000016"),
       ("licence_no", "许可证编号", False, "food business or production licence", "JY13206020012345"),
       ("licence_date", "发证日期", False, "licence issue date", "2024-05-01"),
       ("district", "所属区县", False, "崇川区 通州区 海门区 如皋市 如东县 启东市 海安市 (or the division code)", "崇川区"),
       ("address", "地址", False, "address", "南通市崇川区工农路1号"),
       ("parent", "所属主体", False, "for a stall: its market", "OP-0100"),
       ("scale", "规模", False, "大型 中型 小型 微型 (large medium small micro)", "中型"),
       ("category", "主营类别", False, "main food category", "猪肉"),
       ("haccp", "HACCP认证", False, "是/否", "否"),
       ("individual", "个体", False, "是 for a natural person (farmer, stall keeper): masked in public views", "否"),
       ("contact", "联系人", False, "contact person (never shown publicly)", "张三"),
       ("phone", "联系电话", False, "contact phone (never shown publicly)", "0513-12345678"),
       ("lat", "纬度", False, "latitude", "32.01"),
       ("lon", "经度", False, "longitude", "120.86"),
       ),
    _t("products", "产品", "products with their food category",
       ("id", "本地编号", False, "your own product number (kept as an alias)", "P-001"),
       ("name", "产品名称", True, "product name", "冷鲜猪肉"),
       ("name_en", "英文名称", False, "English name", "chilled pork"),
       ("gtin", "商品条码", False, "GTIN-8/12/13/14; the check digit is verified", "06901234567892"),
       ("category", "食品类别", True, "food category (猪肉 禽肉 牛羊肉 水产品 叶菜类蔬菜 蔬菜 水果 蛋类 乳制品 粮食 调味品 肉制品 婴幼儿食品 特殊食品 冷冻食品 ...)", "猪肉"),
       ("brand", "商标", False, "brand", "某某"),
       ("spec", "规格型号", False, "package size", "500g/袋"),
       ("unit", "计量单位", False, "default unit: 千克 KGM, 克 GRM, 吨 TNE, 头 HEAD, 只, 箱, 件 ...", "千克"),
       ("producer", "生产者", False, "brand owner or producer", "91320602MA1MXXXX00"),
       ),
    _t("lots", "批次", "lots (batches) produced, harvested or slaughtered",
       *_LOT_REF,
       ("production_date", "生产日期", False, "production / harvest / slaughter date", "2026-03-01"),
       ("expiry_date", "保质期至", False, "expiry date", "2026-03-08"),
       ("quantity", "数量", False, "quantity produced", "1200"),
       ("unit", "单位", False, "unit", "千克"),
       ("origin", "产地", False, "district or region of origin", "如皋市"),
       ),
    _t("deliveries", "交付记录", "one row per shipment of one lot (进货/销售台账), with its ticket",
       ("id", "本地编号", False, "your own delivery number", "D-2026-0001"),
       *_LOT_REF,
       ("from", "发货方", True, "sending operator", "91320602MA1MXXXX00"),
       ("to", "收货方", True, "receiving operator", "6901234000016"),
       ("ship_time", "发货时间", True, "date-time (2026-03-01 08:00, 2026/3/1 8:00 or ISO 8601; +08:00 if no offset)", "2026-03-01 08:00"),
       ("receive_time", "收货时间", False, "date-time received", "2026-03-01 10:30"),
       ("quantity", "数量", True, "quantity, > 0", "120"),
       ("unit", "单位", True, "unit", "千克"),
       ("ticket_number", "票据号", False, "invoice / sales voucher number (票)", "INV-88001"),
       ("ticket_date", "开票日期", False, "ticket date", "2026-03-01"),
       ("certificate_number", "合格证明编号", False, "certificate travelling with the lot (证)", "HGZ-3206-000123"),
       ("certificate_kind", "合格证明类型", False, "承诺达标合格证 动物检疫合格证明 肉品品质检验合格证 检验报告", "承诺达标合格证"),
       ("trace_code", "追溯码", False, "trace code on the goods (码)", "320602-0001-0002"),
       ),
    _t("certificates", "合格证明", "certificates (证) for lots",
       ("number", "证明编号", True, "certificate number", "HGZ-3206-000123"),
       ("kind", "证明类型", True, "承诺达标合格证 动物检疫合格证明 肉品品质检验合格证 检验报告 其他", "动物检疫合格证明"),
       *_LOT_REF,
       ("holder", "持证主体", False, "operator it was issued to", "91320602MA1MXXXX00"),
       ("issuer", "出具机构", False, "issuing body", "如皋市动物卫生监督所"),
       ("issued", "出具日期", False, "date", "2026-03-01"),
       ("valid_until", "有效期至", False, "date", "2026-03-03"),
       ("uri", "证明链接", False, "link to the certificate", ""),
       ),
    _t("trace_codes", "追溯码", "trace codes (码) printed on lots",
       ("code", "追溯码", True, "the code as printed (GS1 Digital Link or local code)", "320602-0001-0002"),
       *_LOT_REF,
       ("operator", "赋码主体", False, "operator that issued the code", "91320602MA1MXXXX00"),
       ("issued", "赋码日期", False, "date", "2026-03-01"),
       ),
    _t("lot_links", "批次关联", "transformations: one row per input lot and output lot (slaughter, cutting, processing, repacking, mixing)",
       ("transformation", "加工单号", True, "id of the transformation (rows with the same id form one transformation)", "T-0001"),
       ("station", "加工主体", True, "operator where it happened", "91320602MA1MXXXX00"),
       ("time", "时间", True, "date-time", "2026-03-01 06:00"),
       ("kind", "类型", True, "屠宰 分割 加工 分装 混合 加热 销毁 (slaughter cutting processing repacking mixing heating destruction)", "分割"),
       ("input_lot", "投入批次", True, "input lot (any form; a bare lot number is scoped by input_product and the station)", "L20260228"),
       ("input_product", "投入产品", False, "product of a bare input lot number", "P-001"),
       ("input_quantity", "投入数量", False, "quantity used (rows naming the same input lot add up)", "500"),
       ("input_unit", "投入单位", False, "unit", "千克"),
       ("output_lot", "产出批次", True, "output lot (a bare lot number is scoped by output_product and the station)", "L20260301"),
       ("output_product", "产出产品", False, "product of a bare output lot number", "P-002"),
       ("output_quantity", "产出数量", False, "quantity produced (rows naming the same output lot add up)", "450"),
       ("output_unit", "产出单位", False, "unit", "千克"),
       ),
    _t("samples", "抽检样品", "samples (抽检/风险监测/快检); results in the test_results template",
       ("id", "样品编号", True, "sample number", "SC26320600001"),
       ("plan", "抽检类型", True, "监督抽检 风险监测 快检", "监督抽检"),
       ("sampled", "被抽样单位", True, "operator where it was taken", "91320602MA1MXXXX00"),
       ("producer", "标称生产企业", False, "named producer", "91320600MA1YYYYY00"),
       ("brand_owner", "委托方", False, "brand owner where a contract manufacturer made it", ""),
       ("product", "产品", False, "product (GTIN or local number)", "06901234567892"),
       ("product_name", "食品名称", True, "product name as written", "冷鲜猪肉"),
       ("category", "食品类别", False, "food category", "猪肉"),
       ("lot", "批次标识", False, "lot id in any form", ""),
       ("batch", "生产日期/批号", False, "production date or batch number", "2026-03-01"),
       ("sampled_at", "抽样日期", True, "date", "2026-03-05"),
       ("conclusion", "结论", True, "合格 / 不合格", "不合格"),
       ("announcement", "公告号", False, "announcement", "2026年第5期"),
       ("announced", "公告日期", False, "date", "2026-03-20"),
       ("lab", "检验机构", False, "laboratory", "南通市食品药品监督检验中心"),
       ("disputed", "存在异议", False, "是 when the producer denies it or the cause lies elsewhere", "否"),
       ("remark", "备注", False, "remark", ""),
       ("disposal_due", "核查处置期限", False, "deadline of 核查处置", "2026-04-05"),
       ("disposal_done", "核查处置完成", False, "date completed", ""),
       ),
    _t("test_results", "检验结果", "one row per tested item of a sample",
       ("sample", "样品编号", True, "sample number", "SC26320600001"),
       ("item", "检验项目", True, "test item", "恩诺沙星"),
       ("hazard_class", "危害类别", False, "兽药残留 农药残留 食品添加剂 非法添加 微生物 重金属 其他", "兽药残留"),
       ("value", "检验结果", False, "result with or without unit (2.55μg/kg, 未检出)", "152"),
       ("unit", "单位", False, "unit of result and limit", "μg/kg"),
       ("limit", "标准值", False, "limit (≤100μg/kg, 不得检出)", "≤100"),
       ("conclusion", "结论", True, "合格 / 不合格", "不合格"),
       ),
    _t("inspections", "监督检查", "routine and unannounced inspections",
       ("id", "检查编号", False, "inspection number", "JC-2026-0001"),
       ("operator", "被检查单位", True, "operator", "91320602MA1MXXXX00"),
       ("date", "检查日期", True, "date", "2026-03-10"),
       ("kind", "检查类型", False, "日常检查 飞行检查 专项检查", "日常检查"),
       ("result", "检查结果", True, "符合 基本符合 不符合", "基本符合"),
       ("findings", "问题描述", False, "findings", "进货查验记录不全"),
       ("inspector", "检查机构", False, "authority", "崇川区市场监督管理局"),
       ),
    _t("cases", "稽查案件", "enforcement cases",
       ("id", "案件编号", True, "case number", "通崇市监案〔2026〕12号"),
       ("operator", "当事人", True, "operator", "91320602MA1MXXXX00"),
       ("opened", "立案日期", True, "date", "2026-03-12"),
       ("closed", "结案日期", False, "date", ""),
       ("violation", "违法行为", False, "violation", "经营兽药残留超标的食品"),
       ("penalty", "处罚决定", False, "penalty", "罚款"),
       ("fine", "罚没金额", False, "yuan", "50000"),
       ("transferred_to_police", "移送公安", False, "是/否", "否"),
       ("sample", "关联样品", False, "sample number", "SC26320600001"),
       ),
    _t("complaints", "投诉举报", "complaints and reports",
       ("id", "登记编号", True, "registration number", "TS-2026-0001"),
       ("operator", "被投诉单位", True, "operator", "91320602MA1MXXXX00"),
       ("date", "受理日期", True, "date", "2026-03-02"),
       ("channel", "渠道", False, "12315 热线 吹哨人 网络", "12315"),
       ("topic", "问题类别", False, "topic", "食品变质"),
       ("substantiated", "查证属实", False, "是/否", "是"),
       ("description", "内容", False, "content", ""),
       ("kind", "类型", False, "投诉 (a consumer's dispute) or 举报 (a lead on a violation); empty: 投诉", "投诉"),
       ("rural", "农村", False, "是 for a business in a rural area (counted apart)", "否"),
       ("real_name", "实名", False, "是 when the complainant gave a name", "是"),
       ("lot", "批次标识", False, "the lot it concerns, in any form", ""),
       ("sample", "关联样品", False, "the sample it concerns (sample number)", ""),
       ),
    _t("disposal_cases", "核查处置", "verification and disposal cases (核查处置) of nonconforming results; the sample by "
       "its number, or an announced sample by its announcement, sampled unit, product name and batch",
       ("number", "处置编号", True, "case number", "HC3206022026000012"),
       ("trigger", "来源", False, "监督抽检不合格 风险监测问题样品 快检不合格 投诉举报 追溯排查; empty: 监督抽检不合格",
        "监督抽检不合格"),
       ("sample", "样品编号", False, "sample number (or any form of the sample's id)", "SC26320600001"),
       ("announcement", "公告号", False, "announcement of an announced sample (instead of its number)", ""),
       ("sampled", "被抽样单位", False, "the sampled unit of an announced sample", ""),
       ("product_name", "食品名称", False, "product name of an announced sample, as announced", ""),
       ("batch", "生产日期/批号", False, "batch of an announced sample, as announced", ""),
       ("complaint", "投诉举报编号", False, "registration number of the complaint that opened it", ""),
       ("lot", "批次标识", False, "the lot concerned (a trace's case)", ""),
       ("operator", "当事单位", False, "the business concerned; empty: the sampled unit", "91320602MA1MXXXX00"),
       ("producer", "标称生产者", False, "the nominal producer; empty: the sample's", ""),
       ("district", "承办区县", False, "district bureau in charge; empty: the business's district", "崇川区"),
       ("opened", "启动日期", True, "day the result reached the bureau", "2026-03-25"),
       ("due", "办结期限", False, "deadline; empty: computed by the rules (90 days)", ""),
       ("opened_by", "启动人", False, "who opened it", "张明"),
       ("note", "说明", False, "note", ""),
       ),
    _t("handling_steps", "办理记录", "steps of disposal cases and of the handling of complaints, in order per case",
       ("subject", "办理事项编号", True, "disposal case number or complaint registration number", "HC3206022026000012"),
       ("subject_kind", "事项类型", True, "核查处置 or 投诉举报", "核查处置"),
       ("seq", "序号", True, "1, 2 ... within the case", "1"),
       ("kind", "环节", True, "送达 异议 复检 下架 封存 召回 召回确认 销毁 原因排查 整改 立案 不予立案 公开 结案 协查 协查回复 "
        "延期 督办 作废 受理 不予受理 移送 调解成功 终止调解 核查 告知", "送达"),
       ("date", "日期", True, "day it happened", "2026-03-26"),
       ("by", "经办人", True, "who did it", "张明"),
       ("party", "对象", False, "operator served, receiver confirming a recall, producer asked about",
        "91320602MA1MXXXX00"),
       ("outcome", "结果", False, "复检: 通过/不通过 (pass/fail); 督办: 提示/督办/约谈/通报; 协查: the bureau asked", ""),
       ("reason", "理由", False, "reason (不予立案, 不予受理, 延期, corrections)", ""),
       ("note", "内容", False, "what was done", "送达检验报告"),
       ("case", "立案案件编号", False, "enforcement case number (立案)", ""),
       ("due", "新期限", False, "new deadline (延期)", ""),
       ("corrects", "更正序号", False, "number of the earlier step this row corrects or cancels", ""),
       ("receivers", "召回对象", False, "召回: the receivers of the recall list, separated by ；", ""),
       ("recorded", "记录时间", False, "time recorded; empty: the day", ""),
       ),
    _t("credit_records", "信用记录", "penalties, 严重违法失信名单, 经营异常, commendations, official credit classes",
       ("id", "记录编号", True, "record number", "XY-2026-0001"),
       ("operator", "主体", True, "operator", "91320602MA1MXXXX00"),
       ("kind", "记录类型", True, "行政处罚 严重违法失信名单 经营异常 表彰 信用等级", "行政处罚"),
       ("start", "起始日期", True, "decision / publication date", "2026-03-15"),
       ("end", "公示截止日期", False, "end of publicity", "2029-03-15"),
       ("repaired", "信用修复日期", False, "date of credit repair", ""),
       ("credit_class", "信用等级", False, "A B C D (for 信用等级 records)", ""),
       ("authority", "决定机关", False, "authority", "南通市市场监督管理局"),
       ("reason", "事由", False, "reason", "经营兽药残留超标的食品"),
       ),
    _t("chefs", "乡村厨师", "the register of rural banquet chefs (乡村厨师): health certificate and training",
       ("name", "姓名", True, "the chef's name", "王建国"),
       ("district", "所属区县", True, "district of the register", "海门区"),
       ("township", "乡镇", False, "township", "三厂街道"),
       ("phone", "联系电话", False, "phone (personal data)", ""),
       ("health_cert_no", "健康证编号", False, "health certificate number (the chef's key in the register where given)",
        "JK2026-0001"),
       ("health_cert_expiry", "健康证有效期至", True, "last day the health certificate is valid", "2027-03-31"),
       ("trained", "最近培训日期", False, "day of the latest food-safety training", "2026-04-10"),
       ("training", "培训内容", False, "what the training covered", "乡村厨师食品安全培训"),
       ("registered", "登记日期", False, "day entered in the register", "2026-01-05"),
       ),
    _t("banquets", "农村集体聚餐报备", "registrations (报备) of rural collective banquets; each becomes a station traces "
       "reach (deliveries to 聚餐站点 carry its ingredients)",
       ("number", "报备编号", True, "registration number", "HM-JC-2026-0001"),
       ("host", "举办者", True, "the household holding it (personal data)", "张某"),
       ("host_phone", "举办者电话", False, "phone (personal data)", ""),
       ("kind", "聚餐类型", False, "婚宴 寿宴 丧宴 满月宴 升学宴 其他", "婚宴"),
       ("date", "聚餐日期", True, "day of the banquet (not before the registration)", "2026-10-01"),
       ("place", "聚餐地点", True, "where it is held", "海门区三厂街道某某村"),
       ("district", "所属区县", True, "district", "海门区"),
       ("township", "乡镇", False, "township", "三厂街道"),
       ("guests", "就餐人数", True, "number of guests (at least 1)", "240"),
       ("tables", "桌数", False, "number of tables", "24"),
       ("chef", "厨师", False, "the chef: health certificate number, else name, as in the chefs register", "JK2026-0001"),
       ("menu", "菜单", False, "menu", "红烧肉；清蒸鲈鱼"),
       ("sources", "食材来源", False, "where the ingredients come from", "三厂农贸市场"),
       ("registered", "报备时间", True, "when it was registered (day or time)", "2026-09-20 09:00"),
       ("registered_by", "报备受理人", False, "who took the registration", "三厂市场监管所"),
       ),
    _t("banquet_guidance", "聚餐现场指导", "on-site guidance visits (现场指导) at registered banquets",
       ("banquet", "报备编号", True, "registration number of the banquet", "HM-JC-2026-0001"),
       ("date", "指导日期", True, "day of the visit (no later than the day after the banquet)", "2026-10-01"),
       ("by", "指导人员", True, "who gave the guidance", "李四"),
       ("checked", "检查内容", False, "what was checked", "健康证、食材票据、留样"),
       ("problems", "发现问题", False, "problems found", ""),
       ("rectified", "当场整改", False, "是/否", "是"),
       ("note", "备注", False, "note", ""),
       ),
    _t("banquet_census", "农村集体聚餐摸底", "how many banquets the census (摸底) expects per district and month",
       ("district", "所属区县", True, "district", "海门区"),
       ("month", "月份", True, "month, YYYY-MM", "2026-10"),
       ("expected", "摸底数", True, "banquets expected (0 or more)", "35"),
       ("source", "摸底来源", False, "where the count comes from", "村级网格员摸底"),
       ),
    _t("kitchen_cameras", "明厨亮灶接入", "canteens connected to the 互联网+明厨亮灶 platform",
       ("canteen", "食堂", True, "the canteen (any identifier form)", "91320602MA1MXXXX00"),
       ("connected", "接入日期", True, "day connected", "2026-02-20"),
       ("cameras", "摄像头数", False, "cameras connected", "4"),
       ("platform", "接入平台", False, "platform", "南通市阳光食安平台"),
       ("disconnected", "断开日期", False, "day the connection ended", ""),
       ),
    _t("kitchen_days", "明厨亮灶日志", "one school day of a canteen on the platform: hours online, uploads",
       ("canteen", "食堂", True, "the canteen (any identifier form)", "91320602MA1MXXXX00"),
       ("date", "日期", True, "the school day", "2026-03-02"),
       ("online_hours", "在线时长", False, "hours online in working hours", "7.5"),
       ("expected_hours", "应在线时长", False, "working hours of the day", "8"),
       ("tickets_uploaded", "票据已上传", False, "是/否", "是"),
       ("menu_uploaded", "菜谱已上传", False, "是/否", "是"),
       ),
    _t("kitchen_problems", "明厨亮灶发现问题", "problems found at canteens (on camera or on site) and when they were put right",
       ("canteen", "食堂", True, "the canteen (any identifier form)", "91320602MA1MXXXX00"),
       ("found", "发现日期", True, "day found", "2026-03-03"),
       ("description", "问题描述", True, "what was found", "操作人员未戴口罩"),
       ("rectified", "整改完成日期", False, "day put right", "2026-03-04"),
       ("by", "发现人", False, "who found it", "平台巡查员"),
       ),
    _t("major_events", "重大活动", "major events under food-safety assurance (重大活动食品安全保障), their kitchens and "
       "designated suppliers; entering one twice (same name and first day) changes nothing",
       ("name", "活动名称", True, "name of the event", "2026南通国际马拉松"),
       ("level", "保障级别", True, "国家级 省级 市级 区级 (or national, provincial, municipal, district)", "市级"),
       ("start", "开始日期", True, "first day", "2026-10-18"),
       ("end", "结束日期", True, "last day (not before the first)", "2026-10-20"),
       ("venues", "活动场馆", False, "venues, separated by ；", "南通体育会展中心"),
       ("kitchens", "保障厨房", False, "the kitchens serving it (any identifier form), separated by ；", "91320602MA1MXXXX00"),
       ("suppliers", "定点供应商", False, "designated suppliers (any identifier form), separated by ；", "6901234000016"),
       ("district", "所属区县", False, "district", "崇川区"),
       ("organiser", "主办单位", False, "who organises it", "南通市人民政府"),
       ),
    _t("corrections", "更正", "corrections of records already loaded, one field per row; each keeps the previous "
       "value with who, when and why (`foodtrace history ID`); loaded by `foodtrace load` like any template",
       ("id", "标识", True, "the record, in any identifier form the store knows (operator, lot, delivery, sample ...)",
        "91320602MA1MXXXX00"),
       ("table", "记录类型", False, "record type where the id names records of several types (经营主体/operator, "
        "批次/lot ...)", ""),
       ("field", "字段", True, "the field: its template header or English key (名称/name, 主体类型/kind, 数量/quantity ...)",
        "主体类型"),
       ("value", "新值", True, "the new value, written as in the templates; an empty cell clears the field", "摊位"),
       ("reason", "原因", True, "why the value is corrected", "现场核查为农贸市场摊位"),
       ),
)}

#: the order in which a batch of template files is loaded, so references resolve
LOAD_ORDER: tuple[str, ...] = ("operators", "products", "lots", "certificates", "trace_codes", "lot_links",
                               "deliveries", "samples", "test_results", "inspections", "cases", "complaints",
                               "credit_records", "chefs", "banquets", "banquet_guidance", "banquet_census",
                               "kitchen_cameras", "kitchen_days", "kitchen_problems", "major_events", "disposal_cases",
                               "handling_steps", "corrections")
#: templates that name announced samples or earlier rows: loaded after the sampling announcements (corrections last)
LATE_TEMPLATES: tuple[str, ...] = ("disposal_cases", "handling_steps", "corrections")
