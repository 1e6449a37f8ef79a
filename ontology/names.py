"""Business names as announcements write them, read one way: one business, one key.

Real announcements name the same business in many ways: trailing and inner spaces, full-width letters and
brackets, ``有限责任公司`` for ``有限公司``, brackets around the place (``乐斯福（明光）有限公司``). Names with
the same :func:`name_key` are one business. A branch (``…有限公司佳木斯分公司``, ``…超市城东分店``) is a
business of its own, linked to its parent (:func:`business_of` gives the parent's name); a stall in a market
is known by the market and its stall number (``城北农贸市场12号摊位`` and ``城北农贸市场 012号`` are one
stall). :func:`merge_reasons` says, in Chinese and English, why a written name became a key.

Pure functions: the announcement loader (:mod:`loaders.samr`), the template loader (registered names are
aliased under their key) and a sampling plan's reader call the same ones.

>>> name_key("乐斯福（明光）有限责任公司 ") == name_key("乐斯福(明光)有限公司")
True
>>> business_of("青岛润泰事业有限公司佳木斯分公司").parent
'青岛润泰事业有限公司'
>>> b = business_of("如皋市城北农贸市场 012号摊位")
>>> (b.kind, b.market, b.stall)
('Stall', '如皋市城北农贸市场', '12')
>>> province_of("山东市场监管局"), province_of("新疆维吾尔自治区市场监督管理局"), province_of("吉林市食药监局")
('山东', '新疆', None)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ontology import identifiers as ids

__all__ = ["normalise_name", "name_key", "Business", "business_of", "operator_id_for", "merge_reasons",
           "province_of", "PROVINCES"]

_SPACE = re.compile(r"[\s\u3000\xa0\u200b\ufeff]+")
_BRACKETS = "()[]{}（）【】〔〕［］「」『』《》<>〈〉"
_PUNCT = "·•・.,，。、;；:：'\"“”‘’`_-－—–~～!！?？"
#: company forms written two ways for one meaning (the first is the key's)
_FORMS = (("有限责任公司", "有限公司"), ("股份有限公司", "股份有限公司"), ("(有限公司)", "有限公司"))


def normalise_name(text: object) -> str:
    """A name as shown: NFKC (full-width letters, digits and brackets folded), white space collapsed, stripped.

    >>> normalise_name(" 安琪酵母股份有限公司\\u3000")
    '安琪酵母股份有限公司'
    >>> normalise_name("ＡＢＣ  Foods （南通）")
    'ABC Foods (南通)'
    """
    s = unicodedata.normalize("NFKC", str(text or ""))
    return _SPACE.sub(" ", s).strip(" " + _PUNCT.replace("(", "").replace(")", ""))


def _fold_forms(s: str) -> str:
    for variant, key in _FORMS:
        s = s.replace(variant, key)
    return s


@lru_cache(maxsize=1 << 16)
def name_key(text: object) -> str:
    """The comparison key of a business name: two names with the same key are one business.

    NFKC, no white space, no brackets or punctuation (their content stays), letters case-folded,
    ``有限责任公司`` read as ``有限公司``.

    >>> name_key(" 南通 甲食品有限责任公司 ")
    '南通甲食品有限公司'
    >>> name_key("乐斯福（明光）有限公司") == name_key("乐斯福明光有限公司")
    True
    """
    s = _SPACE.sub("", unicodedata.normalize("NFKC", str(text or ""))).casefold()
    s = _fold_forms(s)
    return "".join(c for c in s if c not in _BRACKETS and c not in _PUNCT)


@dataclass(frozen=True)
class Business:
    """What a written name says about the business: its key, kind hint, parent (branches) or market (stalls)."""

    name: str                  # as shown (normalise_name)
    key: str                   # the identity: name_key, or market key + "#" + stall number
    kind: str | None = None    # Stall for a numbered stall in a market; None = read the kind elsewhere
    parent: str | None = None  # the parent business's name (branch) or the market's (stall)
    market: str | None = None  # the market of a stall
    stall: str | None = None   # the stall number, leading zeros dropped
    branch: bool = False       # a 分公司 / 分店 / 分厂


_MARKET = re.compile(r"^(?P<market>.+?(?:农贸市场|菜市场|集贸市场|农副产品市场|农副产品批发市场|批发市场|交易市场|"
                     r"综合市场|菜场|市场))(?P<rest>.+)$")
_STALL_NO = re.compile(r"(?P<no>[A-Za-z]{0,2}\s*[-－]?\s*\d{1,5}(?:\s*[-－]\s*\d{1,5})?)\s*号?\s*"
                       r"(?:摊位|摊|铺位|铺|门面|档口|档|号)")
_BRANCH = (re.compile(r"^(?P<parent>.+(?:有限责任公司|股份有限公司|有限公司|公司))(?P<place>.+?)(?:分公司|分店|分厂)$"),
           re.compile(r"^(?P<parent>.+?(?:超市|商场|商店|商行|药房|酒店|饭店|餐厅|购物广场|连锁店|食品店))(?P<place>.+?)"
                      r"(?:分公司|分店|分厂)$"))


def _stall_number(raw: str) -> str:
    s = unicodedata.normalize("NFKC", raw).upper().replace(" ", "").replace("－", "-")
    return "-".join(re.sub(r"^([A-Z]*)0+(\d)", r"\1\2", p) for p in s.split("-") if p)


@lru_cache(maxsize=1 << 16)
def business_of(name: object) -> Business:
    """Read a written name: key, and what it says of a branch's parent or a stall's market.

    >>> business_of("城东农贸市场张三猪肉摊").market, business_of("城东农贸市场张三猪肉摊").stall
    ('城东农贸市场', None)
    >>> business_of("华联超市城东分店").parent, business_of("武汉福达食用油调料有限公司黄金口分公司（分装）").parent
    ('华联超市', '武汉福达食用油调料有限公司')
    >>> business_of("如皋市城北农贸市场12号摊位").key == business_of("如皋市城北农贸市场 A-012号").key
    False
    """
    shown = normalise_name(name) or str(name or "").strip()
    m = _MARKET.match(shown)
    if m and m.group("rest").strip(" " + _PUNCT):
        market = m.group("market").strip()
        no = _STALL_NO.search(m.group("rest"))
        if no:
            stall = _stall_number(no.group("no"))
            return Business(shown, f"{name_key(market)}#{stall}", "Stall", market, market, stall)
        if re.search(r"摊|铺|档|门面", m.group("rest")):
            return Business(shown, name_key(shown), "Stall", market, market, None)
    bare = re.sub(r"\s*\([^()]*\)$", "", shown)  # 分公司（分装）: a remark after the branch
    b = _BRANCH[0].match(bare) or _BRANCH[1].match(bare)
    if b:
        return Business(shown, name_key(shown) or shown, None, b.group("parent").strip(), branch=True)
    return Business(shown, name_key(shown) or shown)


def operator_id_for(name: object) -> str:
    """The operator id a business named so gets in announcements (resolve it: it may be registered).

    >>> operator_id_for("南通 甲食品有限责任公司") == operator_id_for("南通甲食品有限公司")
    True
    """
    return ids.operator_id(local=business_of(name).key)


#: why a written name was read as its key: (test, Chinese, English)
_REASONS = (
    (lambda raw: unicodedata.normalize("NFKC", raw) != raw, "全角或兼容字符转为标准字符", "full-width forms folded (NFKC)"),
    (lambda raw: bool(_SPACE.search(raw.strip())), "去除名称中的空格", "white space inside the name removed"),
    (lambda raw: any(c in _BRACKETS for c in unicodedata.normalize("NFKC", raw)), "括号不影响名称",
     "brackets do not change the name"),
    (lambda raw: any(c in _PUNCT for c in unicodedata.normalize("NFKC", raw)), "标点不影响名称",
     "punctuation does not change the name"),
    (lambda raw: "有限责任公司" in raw, "有限责任公司视同有限公司", "有限责任公司 read as 有限公司"),
    (lambda raw: unicodedata.normalize("NFKC", raw).casefold() != unicodedata.normalize("NFKC", raw),
     "英文字母不分大小写", "letter case ignored"),
)


def merge_reasons(written: str, other: str) -> list[tuple[str, str]]:
    """Why ``written`` and ``other`` name one business: the rules that make their keys equal (zh, en).

    >>> [zh for zh, _ in merge_reasons("乐斯福（明光）有限责任公司", "乐斯福(明光)有限公司")]
    ['全角或兼容字符转为标准字符', '括号不影响名称', '有限责任公司视同有限公司']
    >>> merge_reasons("城北农贸市场12号摊位", "城北农贸市场012号")[-1][0]
    '同一市场同一摊位号'
    """
    out: list[tuple[str, str]] = []
    a, b = business_of(written), business_of(other)
    for test, zh, en in _REASONS:
        if (test(written.strip()) or test(other.strip())) and (zh, en) not in out:
            out.append((zh, en))
    if a.stall is not None and a.key == b.key and name_key(written) != name_key(other):
        out.append(("同一市场同一摊位号", "same market, same stall number"))
    if not out and written.strip() != other.strip():
        out.append(("名称规范化后相同", "the same name once normalised"))
    return out


#: provincial-level divisions: short name -> full names (GB/T 2260)
PROVINCES: dict[str, tuple[str, ...]] = {
    "北京": ("北京市",), "天津": ("天津市",), "河北": ("河北省",), "山西": ("山西省",),
    "内蒙古": ("内蒙古自治区",), "辽宁": ("辽宁省",), "吉林": ("吉林省",), "黑龙江": ("黑龙江省",),
    "上海": ("上海市",), "江苏": ("江苏省",), "浙江": ("浙江省",), "安徽": ("安徽省",), "福建": ("福建省",),
    "江西": ("江西省",), "山东": ("山东省",), "河南": ("河南省",), "湖北": ("湖北省",), "湖南": ("湖南省",),
    "广东": ("广东省",), "广西": ("广西壮族自治区", "广西自治区"), "海南": ("海南省",), "重庆": ("重庆市",),
    "四川": ("四川省",), "贵州": ("贵州省",), "云南": ("云南省",), "西藏": ("西藏自治区",), "陕西": ("陕西省",),
    "甘肃": ("甘肃省",), "青海": ("青海省",), "宁夏": ("宁夏回族自治区",), "新疆": ("新疆维吾尔自治区",),
    "台湾": ("台湾省",), "香港": ("香港特别行政区",), "澳门": ("澳门特别行政区",),
}
_MUNICIPALITIES = ("北京", "天津", "上海", "重庆")
_BY_LENGTH = sorted(((full, short) for short, fulls in PROVINCES.items() for full in (*fulls, short)),
                    key=lambda x: -len(x[0]))


def province_of(text: object) -> str | None:
    """The province (short name) a text starts with: a 所在省份 cell, an address or a bureau's name.

    A prefecture-level city named like its province (吉林市, not 吉林省) is no province.

    >>> province_of("江苏省南通市崇川区"), province_of("重庆"), province_of("天津市市场监管委员会"), province_of("")
    ('江苏', '重庆', '天津', None)
    """
    s = _SPACE.sub("", unicodedata.normalize("NFKC", str(text or "")))
    for full, short in _BY_LENGTH:
        if s.startswith(full):
            rest = s[len(full):]
            if full == short and short not in _MUNICIPALITIES and rest.startswith("市") \
                    and not rest.startswith("市场"):
                return None  # 吉林市: the city
            return short
    return None
