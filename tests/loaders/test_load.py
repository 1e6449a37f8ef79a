"""Choosing the loader for a file (`--kind auto`)."""

from pathlib import Path

import pytest

from loaders.load import sniff_kind
from tests.conftest import shared_path

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name, kind", [
    ("operators.csv", "template"),
    ("deliveries_gbk.csv", "template"),
    ("samr_combined.csv", "samr"),
    ("samr_qualified.csv", "samr"),
    ("samr_unqualified.xls", "samr"),
])
def test_fixture_kinds(name, kind):
    assert sniff_kind(DATA / name) == kind


def test_real_announcement_is_samr():
    assert sniff_kind(shared_path("samples", "samr_unqualified_2019_sample.csv")) == "samr"


@pytest.mark.parametrize("header, kind", [
    ("序号,标称生产企业名称,被抽检单位名称,样品名称,不合格项目║检验结果║标准值", "samr"),
    ("样品编号,抽检类型,被抽样单位,食品名称,抽样日期,结论", "template"),
    ("发货方,收货方,发货时间,数量,单位,批次标识", "template"),
])
def test_header_variants(tmp_path, header, kind):
    p = tmp_path / "t.csv"
    p.write_text(header + "\n", encoding="utf-8")
    assert sniff_kind(p) == kind


@pytest.mark.parametrize("name, head, kind", [("a.json", "{}", "epcis"), ("a.xml", "<x/>", "epcis"),
                                              ("a.dat", "<?xml version='1.0'?>", "epcis"), ("a.dat", "a,b", "template")])
def test_by_suffix_and_content(tmp_path, name, head, kind):
    p = tmp_path / name
    p.write_text(head, encoding="utf-8")
    assert sniff_kind(p) == kind
