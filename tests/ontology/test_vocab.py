"""The Python vocabulary is derived from the Turtle ontology and answers lookups."""

import json

import pytest

from ontology import vocab
from ontology.records import Region
from ontology.vocab import FT, lookup

#: the schemes and local names every helper codes against (the brief's contract)
CONTRACT = {
    "operator_kind": {"Farm", "CropFarm", "AquaFarm", "Slaughterhouse", "Producer", "Workshop", "WholesaleMarket",
                      "FarmersMarket", "Stall", "Supermarket", "Restaurant", "SchoolCanteen", "Distributor",
                      "ColdStore", "Vendor", "RuralBanquet",
                      "Operator"},  # the root class doubles as the kind of an operator known only by a reference
    "category": {"pork", "poultry", "beef_mutton", "live_pig", "live_poultry", "aquatic", "leafy_vegetable",
                 "vegetable", "fruit", "egg", "dairy", "grain", "edible_oil", "condiment", "processed_meat",
                 "frozen_food", "prepared_food", "bakery", "beverage", "infant_food", "special_food", "other"},
    "certificate_kind": {"compliance_commitment", "animal_quarantine", "meat_quality", "test_report", "other"},
    "transformation_kind": {"slaughter", "cutting", "processing", "repacking", "mixing", "heating", "destruction"},
    "hazard_class": {"vet_drug", "pesticide", "additive", "illegal_additive", "microbial", "heavy_metal", "other",
                     # issue 17: the classes real announcements report (SAMR's 抽检情况通告)
                     "biotoxin", "organic_contaminant", "quality", "label", "food_contact"},
    "sampling_task": {"national", "provincial", "municipal", "county", "special", "evaluation"},
    "source_coverage": {"both", "failures_only"},
    "sample_plan": {"supervisory", "monitoring", "rapid"},
    "conclusion": {"conforming", "nonconforming"},
    "inspection_result": {"pass", "pass_with_remarks", "fail"},
    "credit_kind": {"penalty", "serious_dishonest", "abnormal", "commendation", "credit_class"},
    "scale": {"large", "medium", "small", "micro"},
    "region": {f"urn:foodtrace:region:{c}" for c in
               ("320600", "320602", "320612", "320614", "320623", "320681", "320682", "320685")},
}

#: the preferred Chinese labels the brief fixes
CONTRACT_ZH = {
    ("operator_kind", "Farm"): "养殖场", ("operator_kind", "CropFarm"): "种植基地",
    ("operator_kind", "Restaurant"): "餐饮", ("operator_kind", "Vendor"): "食品摊贩",
    ("category", "prepared_food"): "预制菜/熟食", ("category", "special_food"): "特殊医学用途食品/保健食品",
    ("certificate_kind", "meat_quality"): "肉品品质检验合格证", ("hazard_class", "additive"): "食品添加剂超范围超限量",
    ("sample_plan", "monitoring"): "风险监测", ("inspection_result", "pass_with_remarks"): "基本符合",
    ("credit_kind", "serious_dishonest"): "严重违法失信名单", ("scale", "micro"): "微型",
    ("region", "urn:foodtrace:region:320685"): "海安市",
}


@pytest.mark.parametrize("scheme", sorted(CONTRACT))
def test_schemes_hold_exactly_the_contracted_local_names(scheme):
    assert set(vocab.labels(scheme)) == CONTRACT[scheme]


def test_contracted_chinese_labels():
    for (scheme, local), zh in CONTRACT_ZH.items():
        assert vocab.labels(scheme)[local][0] == zh


@pytest.mark.parametrize("scheme, text, expected", [
    ("operator_kind", "养殖场", "Farm"),
    ("operator_kind", "Slaughterhouse", "Slaughterhouse"),
    ("operator_kind", "slaughterhouse", "Slaughterhouse"),
    ("operator_kind", "生猪屠宰场", "Slaughterhouse"),
    ("operator_kind", "种植基地", "CropFarm"),
    ("operator_kind", "蔬菜基地", "CropFarm"),
    ("operator_kind", "School canteen", "SchoolCanteen"),
    ("operator_kind", "学校（幼儿园）食堂", "SchoolCanteen"),
    ("category", "叶菜类蔬菜", "leafy_vegetable"),
    ("category", "Leafy vegetables", "leafy_vegetable"),
    ("category", "预制菜", "prepared_food"),
    ("category", "保健食品", "special_food"),
    ("certificate_kind", "合格证", "compliance_commitment"),
    ("certificate_kind", "动物检疫合格证明", "animal_quarantine"),
    ("transformation_kind", "屠宰", "slaughter"),
    ("transformation_kind", "cooking", "heating"),
    ("hazard_class", "农药残留", "pesticide"),
    ("hazard_class", "VET_DRUG", "vet_drug"),
    ("sample_plan", "监督抽检", "supervisory"),
    ("sample_plan", "抽检", "supervisory"),
    ("sample_plan", "快检", "rapid"),
    ("conclusion", "合格", "conforming"),
    ("conclusion", "不合格", "nonconforming"),
    ("conclusion", " non conforming ", "nonconforming"),
    ("inspection_result", "基本符合", "pass_with_remarks"),
    ("credit_kind", "经营异常名录", "abnormal"),
    ("scale", "小型", "small"),
    ("boolean", "是", "true"),
    ("boolean", "否", "false"),
    ("boolean", "Yes", "true"),
    ("region", "崇川区", "urn:foodtrace:region:320602"),
    ("region", "崇川", "urn:foodtrace:region:320602"),
    ("region", "Rugao City", "urn:foodtrace:region:320682"),
    ("region", "320614", "urn:foodtrace:region:320614"),
    ("region", "海门市", "urn:foodtrace:region:320614"),
    ("region", "urn:foodtrace:region:320623", "urn:foodtrace:region:320623"),
    ("region", "南通市", "urn:foodtrace:region:320600"),
])
def test_lookup(scheme, text, expected):
    assert lookup(scheme, text) == expected


@pytest.mark.parametrize("scheme, text", [
    ("operator_kind", "宇宙飞船"), ("category", "pork chop"), ("conclusion", ""), ("conclusion", None),
    ("region", "苏州市"), ("region", "320500"), ("sample_plan", "   "),
])
def test_lookup_unknown_is_none(scheme, text):
    assert lookup(scheme, text) is None


def test_unknown_scheme_is_an_error_naming_the_known_ones():
    with pytest.raises(KeyError, match="known: .*category"):
        lookup("colour", "red")


def test_ft_terms_equal_the_ontology_terms():
    derived = vocab.derive()
    assert set(FT.__annotations__) == set(derived["classes"]) | set(derived["properties"])


def test_ft_fails_on_misspelt_terms():
    assert str(FT.Lot) == "https://w3id.org/foodtrace/ontology#Lot"
    with pytest.raises(AttributeError):
        FT.Lots


def test_cache_equals_what_the_turtle_file_yields():
    cached = json.loads(vocab.CACHE_PATH.read_text(encoding="utf-8"))
    assert cached == json.loads(json.dumps(vocab.derive())), "run: python -m ontology.vocab"


def test_stale_cache_is_never_used(tmp_path, monkeypatch):
    ttl = tmp_path / "foodtrace.ttl"
    ttl.write_text(vocab.TTL_PATH.read_text(encoding="utf-8").replace('skos:altLabel "崇川"@zh', 'skos:altLabel "崇川区新"@zh , "崇川"@zh', 1),
                   encoding="utf-8")
    monkeypatch.setattr(vocab, "TTL_PATH", ttl)
    vocab._data.cache_clear()
    vocab._index.cache_clear()
    try:
        assert lookup("region", "崇川区新") == "urn:foodtrace:region:320602"
    finally:
        monkeypatch.undo()
        vocab._data.cache_clear()
        vocab._index.cache_clear()
    assert lookup("region", "崇川区新") is None


def test_region_records():
    regions = vocab.region_records()
    assert all(isinstance(r, Region) for r in regions)
    assert [(r.id, r.name, r.code, r.parent_id, r.level) for r in regions[:2]] == [
        ("urn:foodtrace:region:320600", "南通市", "320600", None, "city"),
        ("urn:foodtrace:region:320602", "崇川区", "320602", "urn:foodtrace:region:320600", "district"),
    ]
    assert len(regions) == 8
    assert {r.parent_id for r in regions[1:]} == {"urn:foodtrace:region:320600"}


def test_operator_kind_hierarchy():
    kinds = vocab.operator_kinds()
    assert set(kinds) == CONTRACT["operator_kind"] - {"Operator"}
    assert vocab.kind_ancestors("Operator") == ("Operator",)
    assert kinds["Workshop"] == "Producer" and kinds["SchoolCanteen"] == "Restaurant" == kinds["RuralBanquet"]
    assert vocab.kind_ancestors("Stall") == ("Stall", "Operator")
    with pytest.raises(KeyError):
        vocab.kind_ancestors("Spaceport")


def test_concept_iris():
    assert vocab.concept_iri("hazard_class", "vet_drug") == "https://w3id.org/foodtrace/vocab/hazard_class/vet_drug"
    assert vocab.concept_iri("operator_kind", "Stall") == str(FT.Stall)
    assert vocab.concept_local("conclusion", vocab.concept_iri("conclusion", "conforming")) == "conforming"
    with pytest.raises(KeyError):
        vocab.concept_iri("category", "spam")
