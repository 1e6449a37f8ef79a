"""Test items and measures as announcements and templates write them, read one way for both.

:func:`hazard_class_of` names the hazard class of a test item (:data:`HAZARD_ITEMS`, longest match);
:func:`parse_measure` reads a result or a limit (2.55μg/kg, ≤0.1mg/kg, 不得检出, 未检出, a microbiological
sampling plan n=5,c=2,m=..,M=..). Used by the announcement loader (:mod:`loaders.samr`) and the
sampling-results template (:mod:`loaders.templates`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ontology.errors import InvalidRecord
from ontology.units import normalise_concentration_unit

__all__ = ["HAZARD_ITEMS", "hazard_class_of", "Measure", "parse_measure", "norm_text", "NONE_DETECTED", "FORBIDDEN"]

# -- hazard items ---------------------------------------------------------------------------------

#: test item (or a distinctive part of its name) -> hazard class; longest match wins
HAZARD_ITEMS: dict[str, str] = {
    # veterinary drugs (兽药残留)
    **{k: "vet_drug" for k in (
        "恩诺沙星", "环丙沙星", "氧氟沙星", "诺氟沙星", "培氟沙星", "洛美沙星", "沙拉沙星", "达氟沙星", "氟苯尼考",
        "甲砜霉素", "土霉素", "四环素", "金霉素", "多西环素", "强力霉素", "磺胺", "甲氧苄啶", "替米考星", "泰乐菌素",
        "林可霉素", "红霉素", "阿莫西林", "氨苄西林", "青霉素", "头孢", "庆大霉素", "新霉素", "链霉素",
        "大观霉素", "安普霉素", "氟甲喹", "恶喹酸", "噁喹酸", "地西泮", "安定", "五氯酚酸钠", "五氯酚",
        "尼卡巴嗪", "地克珠利", "磺胺类", "阿苯达唑", "伊维菌素", "多拉菌素", "氯氰碘柳胺", "喹乙醇",
        "金刚烷胺", "利巴韦林", "呋喃西林", "甲硝唑", "地美硝唑", "二甲硝咪唑", "氯丙嗪", "赛拉嗪",
        "沙丁胺醇", "特布他林", "西马特罗", "孕酮", "雌二醇", "己烯雌酚")},
    # veterinary drugs banned in food animals (农业农村部公告第250号): announced as 兽药残留 too
    **{k: "vet_drug" for k in (
        "克伦特罗", "莱克多巴胺", "氯霉素", "呋喃唑酮代谢物", "呋喃它酮代谢物", "呋喃妥因代谢物",
        "呋喃西林代谢物", "呋喃唑酮", "呋喃它酮", "呋喃妥因", "孔雀石绿", "隐色孔雀石绿", "结晶紫",
        "隐色结晶紫", "硝基呋喃")},
    # non-food substances (非法添加)
    **{k: "illegal_additive" for k in (
        "苏丹红", "罗丹明B", "三聚氰胺", "吊白块", "甲醛次硫酸氢钠", "硼酸",
        "硼砂", "罂粟", "吗啡", "可待因", "那可丁", "罂粟碱", "西地那非", "他达拉非", "西布曲明", "酚酞",
        "格列本脲", "美术绿", "工业明胶", "碱性橙", "碱性嫩黄", "非食用物质")},
    # pesticides (农药残留)
    **{k: "pesticide" for k in (
        "毒死蜱", "腐霉利", "克百威", "甲拌磷", "灭蝇胺", "氧乐果", "乐果", "氟虫腈", "丙溴磷", "水胺硫磷",
        "三唑磷", "敌敌畏", "氯氰菊酯", "高效氯氰菊酯", "氯氟氰菊酯", "联苯菊酯", "溴氰菊酯", "甲胺磷",
        "乙酰甲胺磷", "辛硫磷", "啶虫脒", "吡虫啉", "噻虫嗪", "噻虫胺", "多菌灵", "甲基异柳磷", "涕灭威",
        "阿维菌素", "甲氨基阿维菌素", "烯酰吗啉", "嘧霉胺", "异丙威", "杀扑磷", "久效磷", "对硫磷",
        "甲基对硫磷", "六六六", "滴滴涕", "百菌清", "二甲戊灵", "噻唑膦", "咪鲜胺", "戊唑醇", "苯醚甲环唑",
        "有机磷", "氨基甲酸酯", "敌百虫", "哒螨灵", "炔螨特", "三氯杀螨醇", "氯唑磷", "灭多威", "硫丹", "倍硫磷", "氰戊菊酯")},
    # additives (食品添加剂超范围超限量)
    **{k: "additive" for k in (
        "苯甲酸", "山梨酸", "脱氢乙酸", "二氧化硫", "甜蜜素", "环己基氨基磺酸钠", "糖精钠", "安赛蜜",
        "阿斯巴甜", "纽甜", "三氯蔗糖", "亚硝酸盐", "亚硝酸钠", "硝酸盐", "胭脂红", "柠檬黄", "日落黄",
        "苋菜红", "亮蓝", "诱惑红", "赤藓红", "新红", "铝的残留量", "硫酸铝钾", "明矾", "丙酸", "对羟基苯甲酸",
        "纳他霉素", "乙二胺四乙酸", "过氧化苯甲酰", "溴酸钾", "滑石粉", "合成着色剂", "防腐剂", "甜味剂",
        "着色剂", "二丁基羟基甲苯", "BHT", "BHA", "TBHQ", "特丁基对苯二酚", "没食子酸丙酯", "双乙酸钠",
        "磷酸盐", "复合磷酸盐", "硫磺", "亚硫酸盐")},
    # microbes (微生物)
    **{k: "microbial" for k in (
        "菌落总数", "大肠菌群", "大肠埃希氏菌", "大肠杆菌", "沙门氏菌", "金黄色葡萄球菌", "单核细胞增生李斯特氏菌",
        "李斯特", "副溶血性弧菌", "志贺氏菌", "蜡样芽胞杆菌", "霉菌", "酵母", "嗜渗酵母", "商业无菌",
        "阪崎肠杆菌", "克罗诺杆菌", "铜绿假单胞菌", "致病菌", "诺如病毒", "溶血性链球菌")},
    # heavy metals and elements (重金属)
    **{k: "heavy_metal" for k in (
        "铅", "镉", "总汞", "汞", "甲基汞", "总砷", "无机砷", "砷", "铬", "镍", "锡", "铜", "铝")},
    # other contaminants and quality items (其他)
    **{k: "other" for k in (
        "黄曲霉毒素", "赭曲霉毒素", "脱氧雪腐镰刀菌烯醇", "玉米赤霉烯酮", "展青霉素", "苯并[a]芘", "苯并芘",
        "酸价", "过氧化值", "挥发性盐基氮", "总酸", "钠", "总钠", "蛋白质", "脂肪", "水分", "灰分",
        "酒精度", "甲醇", "氰化物", "多氯联苯", "N-二甲基亚硝胺", "组胺", "羰基价", "极性组分", "溶剂残留",
        "大豆油", "非蛋白氮", "维生素", "钙", "铁", "锌", "碘", "蛋白酶", "电导率", "铵盐", "氨基酸态氮",
        "全氮", "镁", "食品中可能添加的非法物质", "胆碱", "净含量", "标签", "氯化物", "亚油酸", "DHA",
        "过氧化氢", "溴酸盐", "嗜冷菌", "三甲胺", "丙二醛", "相对密度", "杂质", "谷氨酸钠", "蔗糖", "果糖", "葡萄糖")},
}
# the element names match inside longer names (铅 in 铅（以Pb计）) but "钠" must not swallow 苯甲酸钠:
_SORTED_ITEMS = sorted(HAZARD_ITEMS, key=len, reverse=True)


def _item_core(item: str) -> str:
    s = unicodedata.normalize("NFKC", item).strip()
    return re.sub(r"[(（][^()（）]*[)）]", "", s).strip() or s


def hazard_class_of(item: str | None) -> str | None:
    """The hazard class of a test item from :data:`HAZARD_ITEMS`, or None when unknown.

    >>> hazard_class_of("铅（以Pb计）"), hazard_class_of("苯甲酸及其钠盐（以苯甲酸计）"), hazard_class_of("xyz")
    ('heavy_metal', 'additive', None)
    """
    if not item:
        return None
    core = _item_core(item)
    if core in HAZARD_ITEMS:
        return HAZARD_ITEMS[core]
    for k in _SORTED_ITEMS:
        if len(k) >= 2 and k in core:
            return HAZARD_ITEMS[k]
    for k in _SORTED_ITEMS:
        if len(k) == 1 and core.startswith(k):
            return HAZARD_ITEMS[k]
    return None


# -- measures -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    """A result or limit: ``value`` (the largest of several counts; 0 for 不得检出/未检出), its unit and form."""

    value: float | None
    unit: str | None
    text: str
    op: str | None = None            # ≤ < ≥ > for limits
    below_detection: bool = False    # 未检出 / ND
    plan: str | None = None          # n=5,c=2,m=..,M=.. as written


_NUM_TOKEN = re.compile(r"(\d+(?:\.\d+)?)(?:\s*[×xX*]\s*10\s*(\^?\s*[-−]?\d+))?")
_UNIT_TAIL = re.compile(r"([a-zA-Zμµ%][a-zA-Zμµ/0-9().%]*)\s*$")
#: how a result below the detection limit is written
NONE_DETECTED = ("未检出", "nd", "n.d.", "<lod", "低于检出限")
#: how a limit of zero (a forbidden substance) is written
FORBIDDEN = ("不得检出", "不得使用", "不得添加", "不应检出", "阴性", "不得检出/25g")


def norm_text(text: object) -> str:
    """NFKC-normalised, stripped text (full-width forms folded)."""
    return unicodedata.normalize("NFKC", str(text)).strip()


def _number(tok: str) -> float | None:
    m = _NUM_TOKEN.search(tok)
    if not m:
        return None
    v = float(m.group(1))
    if m.group(2):
        exp = m.group(2).replace("^", "").replace("−", "-").strip()
        v = v * 10 ** int(exp)
    return v


def _unit_of(text: str) -> str | None:
    m = _UNIT_TAIL.search(text.replace(" ", ""))
    if not m:
        return None
    raw = m.group(1)
    return normalise_concentration_unit(raw) or (raw if re.search(r"[a-zA-Zμ]", raw) else None)


def parse_measure(text: object, unit: str | None = None, *, limit: bool = False) -> Measure:
    """A result or limit as written: 2.55μg/kg, ≤0.1mg/kg, 不得检出, 未检出, n=5,c=2,m=10000,M=100000.

    ``unit`` is a unit given in a separate column (used when the text has
    none). A list of counts (microbiology) gives the largest; a sampling plan
    gives ``m`` as the limit.

    Raises
    ------
    InvalidRecord
        No number and no known wording.

    >>> parse_measure("不得检出", "μg/kg", limit=True).value
    0.0
    >>> m = parse_measure("未检出")
    >>> m.value, m.below_detection
    (0.0, True)
    >>> parse_measure("n=5, c=2, m=2.5×104, M=105CFU/g", limit=True).value
    25000.0
    >>> parse_measure("n=5，c=2，m=104CFU/g，M=105CFU/g", limit=True).value
    10000.0
    >>> parse_measure("270000CFU/g；＜10CFU/g；25CFU/g").value
    270000.0
    """
    raw = norm_text(text)
    s = raw.replace("，", ",").replace("；", ";")
    given_unit = normalise_concentration_unit(unit) if unit else None
    if unit and given_unit is None and norm_text(unit):
        given_unit = norm_text(unit)
    low = s.casefold().replace(" ", "")
    if not low:
        raise InvalidRecord("measure is empty")
    if any(low.startswith(w) for w in NONE_DETECTED):
        return Measure(0.0, given_unit or _unit_of(s), raw, None, True)
    if any(low.startswith(w) for w in FORBIDDEN):
        return Measure(0.0, given_unit or _unit_of(s), raw, "≤" if limit else None, False)
    plan = re.search(r"m\s*=\s*([^,;]+)", s)
    if plan and re.search(r"n\s*=", s, re.I):
        m_txt = plan.group(1)
        big = re.search(r"M\s*=\s*([^,;]+)", s)
        unit_txt = _unit_of(big.group(1) if big else m_txt)
        mval = _number(m_txt)
        bare_pow = re.fullmatch(r"\s*10(\d)\s*([a-zA-Z/]*)\s*", m_txt)
        if bare_pow and big and re.fullmatch(r"\s*10(\d)\s*([a-zA-Z/]*)\s*", big.group(1)):
            mval = float(10 ** int(bare_pow.group(1)))  # superscript lost in scraping: 104 means 10^4
        if mval is None:
            raise InvalidRecord(f"sampling plan {raw!r} has no m value")
        return Measure(mval, unit_txt or given_unit, raw, "≤", False, raw)
    op = None
    m = re.match(r"^\s*(≤|<=|≦|<|＜|≥|>=|≧|>|＞|不超过|不大于|不高于|不低于|不小于)", s)
    if m:
        op = {"<=": "≤", "≦": "≤", "＜": "<", ">=": "≥", "≧": "≥", "＞": ">", "不超过": "≤", "不大于": "≤",
              "不高于": "≤", "不低于": "≥", "不小于": "≥"}.get(m.group(1), m.group(1))
    parts = [p for p in re.split(r"[;,、\n]", s) if p.strip()]
    values = [v for v in (_number(p) for p in parts) if v is not None]
    if not values:
        raise InvalidRecord(f"no number in {raw!r}")
    u = None
    for p in reversed(parts):
        u = _unit_of(p)
        if u:
            break
    return Measure(max(values), u or given_unit, raw, op if limit or op else None, False)
