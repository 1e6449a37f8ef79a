"""Public routes over real HTTP: the Digital Link resolver, trace codes, QR codes; no key; nothing private."""

from __future__ import annotations

import io
import json

import pytest
import segno
from rdflib import Graph, Literal, Namespace, URIRef

from graph.store import open_store
from ontology.records import Lot, Product

from ...conftest import missing_tool
from ...reasoning.test_lookup import PORK
from . import dataset as D
from .conftest import LiveServer

GS1 = Namespace("https://gs1.org/voc/")
PORK_PATH = f"/01/{D.PORK_GTIN}/10/{D.PORK_LOT_NUMBER}"
GREENS_PATH = f"/01/{D.GREENS_GTIN}/10/CX-1105"
BAD_CHECK = f"/01/06901234567893/10/{D.PORK_LOT_NUMBER}"
UNKNOWN = f"/01/{D.PORK_GTIN}/10/NOPE"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}
EN = {**HTML, "Accept-Language": "en-US,en;q=0.9,zh;q=0.5"}
#: what a public response must never contain
NEVER = D.PRIVATE_STRINGS + (D.FARMER_NAME, D.STALL_KEEPER, "张三", "13700001111", "赵经理", "南通市如东县马塘镇",
                             "恩诺沙星", "风险监测", "A1320600001")


@pytest.fixture(scope="module")
def client(server):
    with server.client(None) as c:  # no key: every public route answers without one
        yield c


def _core(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("digital_link", "attributes", "links")}


def test_lot_json(client, server):
    r = client.get(PORK_PATH, headers=JSON)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert _core(body) == PORK
    anchor = server.url + PORK_PATH
    assert body["digital_link"] == anchor and body["attributes"] == {}
    assert body["links"]["anchor"] == anchor
    assert r.headers["cache-control"] == "public, max-age=300"
    assert f'<{anchor}?linkType=all>; rel="linkset"; type="application/linkset+json"' in r.headers["link"]
    assert 'rel="https://gs1.org/voc/pip"' in r.headers["link"]
    again = client.get(PORK_PATH, headers={**JSON, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_no_accept_header_gets_json(client):
    r = client.get(PORK_PATH, headers={"Accept": "*/*"})
    assert r.headers["content-type"] == "application/json" and r.json()["id"] == D.PORK_LOT


def test_serial_attributes_and_short_gtin(client, server):
    r = client.get(f"/01/6901234567892/10/{D.PORK_LOT_NUMBER}/21/SN%20001?17=261108&11=261101&utm=x", headers=JSON)
    body = r.json()
    assert r.status_code == 200 and body["serial"] == "SN 001" and body["id"] == D.PORK_LOT
    assert body["attributes"] == {"17": "261108", "11": "261101"}
    assert body["digital_link"] == server.url + PORK_PATH


def test_lot_page_chinese(client):
    r = client.get(PORK_PATH, headers=HTML)
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    page = r.text
    for shown in ("冷鲜猪肉", "P20261101", "如东县", "南通肉联厂有限公司", "王**", "个体养殖户",
                  "出栏", "屠宰", "出厂", "2026-10-31 20:00", "肉品品质检验合格证", "MQ-20261101-01",
                  "动物检疫合格证明", "快检", "瘦肉精（克伦特罗）", "此后售往 1 家餐饮、1 家摊位", 'lang="zh-CN"'):
        assert shown in page, shown
    for buyer in ("李**", "何记饭店", "零售"):  # looked up without a trace code: the retail buyers are only counted
        assert buyer not in page, buyer
    scanned = client.get(f"/t/{D.PORK_TRACE_CODE}", headers=HTML).text  # scanned at the stall: the way to it
    assert "李**" in scanned and "城东农贸市场" in scanned and "何记饭店" not in scanned
    assert "<link" not in page and "<script" not in page and "src=" not in page  # no external assets
    assert len(r.content) < 20_000


def test_lot_page_english(client):
    for headers, url in ((EN, PORK_PATH), (HTML, PORK_PATH + "?lang=en")):
        page = client.get(url, headers=headers).text
        for shown in ("chilled pork", "Leaves the farm", "Slaughter", "Wholesale", "Meat quality certificate",
                      "Individual livestock farmer", "Rudong County", 'lang="en"'):
            assert shown in page, shown


def test_greens_page_has_notice(client):
    page = client.get(GREENS_PATH, headers=HTML).text
    for shown in ("不合格通报", "毒死蜱", "已完成核查处置（2026-11-24）", "南通市市场监管局2026年第45期", "张**"):
        assert shown in page, shown


def test_jsonld(client, server):
    anchor = URIRef(server.url + PORK_PATH)
    for kw in ({"headers": {"Accept": "application/ld+json"}}, {"params": {"format": "jsonld"}, "headers": HTML}):
        r = client.get(PORK_PATH, **kw)
        assert r.status_code == 200 and r.headers["content-type"] == "application/ld+json"
        g = Graph().parse(data=r.text, format="json-ld")
        assert (anchor, GS1.gtin, Literal(D.PORK_GTIN)) in g
        assert (anchor, GS1.hasBatchLotNumber, Literal(D.PORK_LOT_NUMBER)) in g
        assert (anchor, GS1.productName, Literal("冷鲜猪肉", lang="zh")) in g
        certs = list(g.objects(anchor, GS1.certification))
        assert sorted(str(g.value(c, GS1.certificationIdentification)) for c in certs) == [
            "3206001101", "MQ-20261101-01"]
        assert "王**" in r.text and D.FARMER_NAME not in r.text


def test_linkset(client, server):
    anchor = server.url + PORK_PATH
    for kw in ({"params": {"linkType": "all"}}, {"headers": {"Accept": "application/linkset+json"}}):
        r = client.get(PORK_PATH, **kw)
        assert r.status_code == 200 and r.headers["content-type"] == "application/linkset+json"
        (entry,) = r.json()["linkset"]
        assert entry["anchor"] == anchor
        assert [x["href"] for x in entry["https://gs1.org/voc/pip"]] == [
            anchor + "?format=html", anchor + "?format=html&lang=en"]
        assert entry["https://gs1.org/voc/traceability"][0]["href"] == anchor + "?format=json"
        assert entry["https://gs1.org/voc/certificationInfo"][0]["href"] == anchor + "?format=html#certificates"
        assert entry["describedby"][0]["type"] == "application/ld+json"
    r = client.get(PORK_PATH, params={"linkType": "gs1:traceability"})
    assert r.status_code == 307 and r.headers["location"] == anchor + "?format=json"


def test_bad_gtin_is_400(client):
    for path in (BAD_CHECK, f"/01/123/10/{D.PORK_LOT_NUMBER}", f"/01/690123456789X/10/L1"):
        r = client.get(path, headers=JSON)
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", path
        assert r.json()["status"] == 400 and r.json()["instance"] == path
    assert "check digit is 3, expected 2" in client.get(BAD_CHECK).json()["detail"]
    page = client.get(BAD_CHECK, headers=HTML)
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "二维码内容有误" in page.text


def test_unknown_lot_is_404(client):
    r = client.get(UNKNOWN, headers=JSON)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == f"no lot has the identifier 'https://id.gs1.org/01/{D.PORK_GTIN}/10/NOPE'"
    page = client.get(UNKNOWN, headers=HTML)
    assert page.status_code == 404 and "未找到该批次或追溯码" in page.text and 'lang="zh-CN"' in page.text
    assert "No such lot or trace code" in client.get(UNKNOWN, headers=EN).text
    assert client.get(f"/01/{D.PORK_GTIN}/10/L/21/S/extra", headers=JSON).status_code == 404


def test_trace_code(client, server):
    r = client.get(f"/t/{D.PORK_TRACE_CODE}", headers=JSON)
    body = r.json()
    assert r.status_code == 200 and body["code"] == D.PORK_TRACE_CODE
    assert [s["label_zh"] for s in body["chain"]] == ["出栏", "屠宰", "出厂", "批发"]
    assert body["digital_link"] == server.url + PORK_PATH
    assert body["links"]["anchor"] == server.url + f"/t/{D.PORK_TRACE_CODE}"
    page = client.get(f"/t/{D.GREENS_TRACE_CODE}", headers=HTML).text
    assert "青菜" in page and "不合格通报" in page and D.GREENS_TRACE_CODE in page
    missing = client.get("/t/NOPE", headers=JSON)
    assert missing.status_code == 404 and missing.json()["detail"] == "no trace code 'NOPE' is known"
    assert client.get("/t/NOPE", headers=HTML).status_code == 404
    assert client.get("/t/%E2%80%AE%00", headers=JSON).status_code == 400


def _decode_png(data: bytes) -> str:
    try:
        import zxingcpp
    except ImportError:
        missing_tool("zxing-cpp (test extra) decodes the PNG: pip install -e '.[test]'")
    from PIL import Image

    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    return found.text


def test_qr_codes(client, server):
    url = server.url + PORK_PATH
    svg = client.get(f"/qr{PORK_PATH}.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.startswith("<svg") and svg.headers["cache-control"].startswith("public")
    png = client.get(f"/qr{PORK_PATH}.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert _decode_png(png.content) == url
    # the SVG holds the same matrix as a fresh encoding of the URL
    assert svg.text == _svg_of(url)
    code_png = client.get(f"/qr/t/{D.PORK_TRACE_CODE}.png")
    assert _decode_png(code_png.content) == server.url + f"/t/{D.PORK_TRACE_CODE}"
    assert client.get(f"/qr/t/{D.PORK_TRACE_CODE}.svg").headers["content-type"] == "image/svg+xml"
    for path, status in ((f"/qr{UNKNOWN}.svg", 404), (f"/qr{UNKNOWN}.png", 404), (f"/qr{BAD_CHECK}.png", 400),
                         ("/qr/t/NOPE.svg", 404), ("/qr/t/NOPE.png", 404)):
        r = client.get(path)
        assert r.status_code == status and r.headers["content-type"] == "application/problem+json", path


def _svg_of(url: str) -> str:
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", scale=4, border=4, xmldecl=False, title=url)
    return buf.getvalue().decode()


def test_nothing_private_in_any_public_response(client):
    paths = [PORK_PATH, GREENS_PATH, f"/01/{D.PIG_GTIN}/10/PIG-1101", f"/t/{D.PORK_TRACE_CODE}",
             f"/t/{D.GREENS_TRACE_CODE}", UNKNOWN, BAD_CHECK, "/t/NOPE"]
    variants = [JSON, HTML, EN, {"Accept": "application/ld+json"}, {"Accept": "application/linkset+json"}]
    seen = 0
    for path in paths:
        for headers in variants:
            r = client.get(path, headers=headers)
            text = r.text + json.dumps(dict(r.headers), ensure_ascii=False)
            for private in NEVER:
                assert private not in text, (path, headers, private)
            seen += 1
    for path in (f"/qr{PORK_PATH}.svg", f"/qr/t/{D.GREENS_TRACE_CODE}.svg"):
        assert not any(p in client.get(path).text for p in NEVER)
    assert seen == len(paths) * len(variants)


def test_escaping_and_encoded_slash(writable_server):
    with open_store(writable_server.store) as s:
        s.write([Product(id="urn:foodtrace:product:x", name="<script>alert(1)</script>", gtin=D.PORK_GTIN),
                 Lot(id=f"https://id.gs1.org/01/{D.PORK_GTIN}/10/A%2F1", product_id="urn:foodtrace:product:x",
                     lot_number="A/1")])
    with writable_server.client(None) as c:
        page = c.get(f"/01/{D.PORK_GTIN}/10/A%2F1", headers=HTML)
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        body = c.get(f"/01/{D.PORK_GTIN}/10/A%2F1", headers=JSON).json()
        assert body["lot"]["lot_number"] == "A/1"
        assert body["digital_link"] == writable_server.url + f"/01/{D.PORK_GTIN}/10/A%2F1"
        png = c.get(f"/qr/01/{D.PORK_GTIN}/10/A%2F1.png")
        assert png.status_code == 200 and _decode_png(png.content) == body["digital_link"]


def test_public_base_url(service_store, tmp_path):
    s = LiveServer(service_store, str(tmp_path / "service.db"),
                   env={"FOODTRACE_PUBLIC_BASE_URL": "https://trace.example.cn/"})
    try:
        with s.client(None) as c:
            assert c.get(PORK_PATH, headers=JSON).json()["digital_link"] == "https://trace.example.cn" + PORK_PATH
            assert _decode_png(c.get(f"/qr{PORK_PATH}.png").content) == "https://trace.example.cn" + PORK_PATH
    finally:
        s.stop()
