"""Business names read one way: one business, one key; branches, stalls and provinces."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ontology.names import business_of, merge_reasons, name_key, normalise_name, operator_id_for, province_of


@pytest.mark.parametrize("a, b", [
    ("安琪酵母股份有限公司 ", "安琪酵母股份有限公司"),
    ("南通甲食品有限责任公司", "南通甲食品有限公司"),
    ("乐斯福（明光）有限公司", "乐斯福(明光)有限公司"),
    ("乐斯福（明光）有限公司", "乐斯福明光有限公司"),
    ("湖南味香源生物科技有限公\n司", "湖南味香源生物科技有限公司"),
    ("ＡＢＣ食品有限公司", "abc食品有限公司"),
    ("长沙汇凯华 明生物科技 有限公司", "长沙汇凯华明生物科技有限公司"),
    ("河北金沙河面业集团有限责任公司.", "河北金沙河面业集团有限公司"),
])
def test_one_business_one_key(a, b):
    assert name_key(a) == name_key(b)
    assert operator_id_for(a) == operator_id_for(b)


@pytest.mark.parametrize("a, b", [
    ("南通甲食品有限公司", "南通乙食品有限公司"),
    ("南通甲食品有限公司", "南通甲食品股份有限公司"),       # another company form: not assumed the same
    ("青岛润泰事业有限公司", "青岛润泰事业有限公司佳木斯分公司"),  # a branch is its own operator
    ("城北农贸市场12号摊位", "城北农贸市场13号摊位"),
    ("城北农贸市场12号摊位", "城南农贸市场12号摊位"),
])
def test_different_businesses_stay_apart(a, b):
    assert operator_id_for(a) != operator_id_for(b)


def test_branches_link_to_their_parent():
    b = business_of("江苏苏果超市有限公司南通分公司")
    assert (b.branch, b.parent, b.kind) == (True, "江苏苏果超市有限公司", None)
    assert business_of("华联超市城东分店").parent == "华联超市"
    assert business_of("南通甲食品有限公司").parent is None


def test_stalls_by_market_and_number():
    a, b, c = (business_of(n) for n in ("如皋市城北农贸市场12号摊位", "如皋市城北农贸市场 012 号", "如皋市城北农贸市场张三（12号摊位）"))
    assert a.key == b.key == c.key and (a.kind, a.market, a.stall) == ("Stall", "如皋市城北农贸市场", "12")
    d = business_of("南通农副产品物流中心批发市场A-03号铺位")
    assert (d.market, d.stall) == ("南通农副产品物流中心批发市场", "A-3")
    e = business_of("城东农贸市场李四蔬菜摊")
    assert (e.kind, e.market, e.stall) == ("Stall", "城东农贸市场", None)
    assert business_of("城东农贸市场").kind is None  # the market itself


def test_merge_reasons_name_the_rules():
    assert merge_reasons("湖南省长康 实业有限责任公司", "湖南省长康实业有限公司") == [
        ("去除名称中的空格", "white space inside the name removed"),
        ("有限责任公司视同有限公司", "有限责任公司 read as 有限公司")]
    assert merge_reasons("城北农贸市场12号摊位", "城北农贸市场012号")[-1] == ("同一市场同一摊位号", "same market, same stall number")


@pytest.mark.parametrize("text, province", [
    ("江苏", "江苏"), ("江苏省南通市崇川区", "江苏"), ("新疆维吾尔自治区市场监督管理局", "新疆"), ("广西壮族自治区", "广西"),
    ("重庆市市场监督管理局", "重庆"), ("山东市场监管局", "山东"), ("吉林市食药监局", None), ("吉林省市场监督管理厅", "吉林"),
    ("内蒙古市场监管局", "内蒙古"), ("南通市", None), ("", None), (None, None),
])
def test_province_of(text, province):
    assert province_of(text) == province


_CJK = st.sampled_from(list("南通甲乙食品有限公司责任股份市场超市农贸摊位号分店(（)） 　"))
_NAMES = st.text(_CJK | st.sampled_from(list("ABCabc0123")), min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(_NAMES)
def test_key_is_stable_under_normalisation(name):
    """The key of a key is itself; spaces and full-width forms never change it."""
    key = name_key(name)
    assert name_key(key) == key
    assert name_key(" ".join(name)) == key
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    assert name_key(wide) == key
    assert unicodedata.normalize("NFKC", normalise_name(name)) == normalise_name(name)
