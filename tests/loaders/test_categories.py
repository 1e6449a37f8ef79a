"""SAMR sampling categories from 分类 cells and food names; the category and hazard tables hang together."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from loaders import categories, measures, samr
from loaders.categories import samr_category, samr_table
from ontology import vocab

DATA = Path(categories.__file__).with_name("data")


def _rows(name: str) -> list[dict[str, str]]:
    lines = [x for x in (DATA / name).read_text(encoding="utf-8").splitlines() if x.strip() and not x.startswith("#")]
    return list(csv.DictReader(lines))


def test_tables_are_versioned_and_cite_sources():
    for name in ("samr_categories.csv", "hazard_items.csv", "disputed_remarks.csv"):
        text = (DATA / name).read_text(encoding="utf-8")
        assert re.search(r"^# version: \d{4}\.\d+$", text, re.M), name
        assert "# Sources:" in text and re.search(r"^# \[[A-Z]\d\] ", text, re.M), name
    assert categories.TABLE_VERSION and measures.HAZARD_TABLE_VERSION and samr.DISPUTE_TABLE_VERSION


def test_category_table_is_a_tree_with_known_terms():
    rows = _rows("samr_categories.csv")
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    coarse = set(vocab.labels("category"))
    for r in rows:
        parts = r["code"].split(".")
        assert all(re.fullmatch(r"\d\d", p) for p in parts), r["code"]
        assert int(r["level"]) == len(parts), r["code"]
        if len(parts) > 1:
            assert ".".join(parts[:-1]) in codes, r["code"]
        assert not r["category"] or r["category"] in coarse, r["code"]
        assert r["food_related"] in ("", "1")
        assert "(" not in r["keywords"], r["code"]
    keywords = [k for r in rows for k in r["keywords"].split("|") if k]
    assert len(keywords) == len(set(keywords)), sorted({k for k in keywords if keywords.count(k) > 1})
    assert all(c.category in coarse for c in samr_table())
    assert {c.code for c in samr_table() if c.food_related} == {"90", "90.01", "90.02", "90.03", "90.04"}


def test_hazard_table_uses_the_ontology_scheme():
    classes = set(vocab.labels("hazard_class"))
    rows = _rows("hazard_items.csv")
    assert {r["hazard_class"] for r in rows} <= classes
    assert set(measures.SEVERITY) == classes


@pytest.mark.parametrize("cell, name, path, basis", [
    # the 分类 cells of the real 2015-2021 announcements
    ("食品添加剂/食品添加剂", "猪肉香精（浆（膏）状香精）", "食品添加剂/食品添加剂", "分类"),
    ("粮食及其制品/小麦粉", "小麦粉", "粮食加工品/小麦粉", "分类"),
    ("食用油脂及其制品/食用植物油", "一级大豆油", "食用油、油脂及其制品/食用植物油", "分类"),
    ("淀粉及淀粉制品/淀粉制品", "粉条（淀粉制品）", "淀粉及淀粉制品/淀粉制品", "分类"),
    ("食糖/白糖", "白砂糖", "食糖/白砂糖", "分类"),
    ("水产及其制品/生鲜（冻）水产品", "花甲（贝类）", "食用农产品/水产品/贝类", "分类+食品名称"),
    ("蔬菜及其制品/鲜菜", "大蒜", "食用农产品/蔬菜/鳞茎类蔬菜", "分类+食品名称"),
    ("餐饮环节产品/水产品", "生鱼片", "餐饮食品/水产品(自制)", "分类"),
    ("餐饮环节产品/餐饮用油", "煎炸过程用油（大豆油）", "餐饮食品/餐饮用油", "分类"),
    ("酒类/其他类", "食用酒精", "酒类/其他酒", "分类"),
    ("调味品-->酱油", "", "调味品/酱油", "分类"),
    ("调味品", "黄豆酱油", "调味品/酱油", "分类+食品名称"),
    # food names alone: the head noun (the keyword ending last) decides
    ("", "黄豆酱油（酿造酱油）", "调味品/酱油", "食品名称"),
    ("", "黄豆芽", "食用农产品/蔬菜/芽菜类蔬菜", "食品名称"),
    ("", "猪肉大豆蛋白肠", "肉制品/熟肉制品", "食品名称"),
    ("", "小麦粉馒头", "粮食加工品/其他粮食加工品/发酵面制品", "食品名称"),
    ("", "梅菜扣肉味（大豆制品）", "豆制品/其他豆制品", "食品名称"),
    ("", "油浸烟熏牡蛎（蚝）罐头", "罐头/畜禽水产罐头", "食品名称"),
    ("", "百合康牌大豆卵磷脂软胶囊", "保健食品/保健食品", "食品名称"),
    ("", "青菜", "食用农产品/蔬菜/叶菜类蔬菜", "食品名称"),
])
def test_samr_category(cell, name, path, basis):
    c = samr_category(cell, name)
    assert (c.path, c.basis) == (path, basis)


def test_food_related_products_are_recognised():
    for cell, name in (("食品相关产品/洗涤剂/消毒剂", "手洗餐具用洗涤剂"), ("食品相关产品/食品机械设备", "切片机"),
                       ("", "一次性塑料餐盒"), ("", "双动和面机"), ("", "洗洁精")):
        c = samr_category(cell, name)
        assert c.food_related and c.major == "90", (cell, name)
    assert not samr_category("", "黄豆酱油").food_related


def test_unknown_is_none():
    assert samr_category("", "") is None and samr_category("xyz", "abc") is None


@pytest.mark.parametrize("item, hazard", [
    ("4-氯苯氧乙酸钠(以4-氯苯氧乙酸计)（不得检出）", "pesticide"), ("6-苄基腺嘌呤(6-BA)", "pesticide"),
    ("氯霉素", "vet_drug"), ("乙酰磺胺酸钾（安赛蜜）", "additive"), ("桔青霉素", "biotoxin"),
    ("脱氧雪腐镰刀菌烯醇", "biotoxin"), ("苯并〔α〕芘", "organic_contaminant"), ("铅（以Pb计）", "heavy_metal"),
    ("酸价、过氧化值", "quality"), ("氨基酸态氮", "quality"), ("标签", "label"), ("未标示等级", "label"),
    ("接地措施", "food_contact"), ("邻苯二甲酸二正丁酯（DBP）", "illegal_additive"), ("大肠菌群", "microbial"),
    ("氨基酸态氮、苯甲酸", "additive"),  # several items: the most serious class
])
def test_hazard_classes(item, hazard):
    assert measures.hazard_class_of(item) == hazard
