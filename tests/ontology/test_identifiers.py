"""GS1 keys, USCC, EPC URN / Digital Link canonical forms and foodtrace ids."""

import pytest

from ontology.errors import InvalidIdentifier
from ontology.identifiers import (canonical, delivery_id, gtin14, local_id, lookup_forms, lot_id, operator_id,
                                  operator_key, product_id, valid_gln, valid_sscc, valid_uscc)


@pytest.mark.parametrize("code, expected", [
    ("4006381333931", "04006381333931"),      # GTIN-13 (GS1 example)
    ("9780201379624", "09780201379624"),      # ISBN as GTIN-13
    ("96385074", "00000096385074"),           # GTIN-8 (GS1 example)
    ("614141123452", "00614141123452"),       # GTIN-12 / UPC-A
    ("80614141123458", "80614141123458"),     # GTIN-14 of TDS SGTIN example
])
def test_gtin14(code, expected):
    assert gtin14(code) == expected


@pytest.mark.parametrize("code, message", [
    ("4006381333932", "GTIN check digit is 2, expected 1 in '4006381333932'"),
    ("400638133393", "GTIN check digit is 3, expected 0"),
    ("40063813339X1", "must contain digits only"),
    ("1234567", "has 7 digits, expected 8 or 12 or 13 or 14"),
    ("", "GTIN is empty"),
])
def test_gtin14_rejects(code, message):
    with pytest.raises(InvalidIdentifier, match=message.replace("(", r"\(")):
        gtin14(code)


def test_gln_and_sscc():
    assert valid_gln("0614141123452") == "0614141123452"
    with pytest.raises(InvalidIdentifier, match="GLN check digit is 3, expected 2"):
        valid_gln("0614141123453")
    assert valid_sscc("106141412345678908") == "106141412345678908"
    with pytest.raises(InvalidIdentifier, match="SSCC check digit is 9, expected 8"):
        valid_sscc("106141412345678909")


@pytest.mark.parametrize("code", [
    "91350100M000100Y43",
    "91440300708461136T",   # 华为技术有限公司
    "91330100799655058B",   # 阿里巴巴（中国）有限公司
    "91110108551385082Q",   # 小米科技有限责任公司
])
def test_uscc_real_codes(code):
    assert valid_uscc(code.lower()) == code


@pytest.mark.parametrize("code, message", [
    ("91350100M000100Y44", "USCC check character is 4, expected 3"),
    ("91350100M000100Y4", "has 17 characters, expected 18"),
    ("91350100M000100I43", "character 'I' outside"),
])
def test_uscc_rejects(code, message):
    with pytest.raises(InvalidIdentifier, match=message):
        valid_uscc(code)


@pytest.mark.parametrize("form, cid, entity", [
    ("urn:epc:id:sgtin:0614141.812345.6789", "https://id.gs1.org/01/80614141123458/21/6789", "lot"),
    ("urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877", "lot"),
    ("urn:epc:idpat:sgtin:4012345.044444.*", "https://id.gs1.org/01/04012345444445", "product"),
    ("urn:epc:id:sgln:0614141.12345.0", "https://id.gs1.org/414/0614141123452", "operator"),
    ("urn:epc:id:sgln:0614141.12345.400", "https://id.gs1.org/414/0614141123452/254/400", "operator"),
    ("urn:epc:id:pgln:0614141.12345", "https://id.gs1.org/417/0614141123452", "operator"),
    ("urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908", "container"),
    ("urn:epc:id:grai:0614141.12345.400", "https://id.gs1.org/8003/00614141123452400", "asset"),
    ("urn:epc:id:giai:0614141.12345400", "https://id.gs1.org/8004/061414112345400", "asset"),
    ("urn:epc:id:gsrn:0614141.1234567890", "https://id.gs1.org/8018/061414112345678902", "service"),
    ("urn:epc:id:gdti:0614141.12345.400", "https://id.gs1.org/253/0614141123452400", "document"),
    ("https://example.com/01/4012345123456/10/998877", "https://id.gs1.org/01/04012345123456/10/998877", "lot"),
    ("https://id.gs1.de/01/04012345999990/21/XYZ-1234", "https://id.gs1.org/01/04012345999990/21/XYZ-1234", "lot"),
    ("https://id.gs1.org/01/09520123456788/21/7/10/A1", "https://id.gs1.org/01/09520123456788/10/A1/21/7", "item"),
    ("https://example.com/x/gtin/9520123456788/lot/A%2F1?17=260101",
     "https://id.gs1.org/01/09520123456788/10/A%2F1", "lot"),
    ("https://id.gs1.de/414/4012345000115", "https://id.gs1.org/414/4012345000115", "operator"),
])
def test_canonical(form, cid, entity):
    p = canonical(form)
    assert (p.id, p.entity) == (cid, entity)


def test_urn_and_dl_of_one_lot_agree():
    urn = canonical("urn:epc:class:lgtin:4012345.012345.998877")
    dl = canonical("https://shop.example.cn/01/04012345123456/10/998877")
    assert urn.id == dl.id == lot_id(lot_number="998877", gtin="4012345123456")
    assert urn.product_id == product_id(gtin="04012345123456")


def test_sgtin_with_lot_belongs_to_lot():
    assert canonical("https://id.gs1.org/01/09520123456788/10/A1/21/7").lot_id == \
        "https://id.gs1.org/01/09520123456788/10/A1"


@pytest.mark.parametrize("form, message", [
    ("https://id.gs1.org/01/09520123456781/10/A", "GTIN check digit is 1, expected 8"),
    ("https://example.com/414/0614141123453", "GLN check digit is 3, expected 2"),
    ("https://id.gs1.org/00/106141412345678909", "SSCC check digit is 9, expected 8"),
    ("urn:epc:id:sgtin:0614141.812345", "must have 3 dot-separated parts"),
    ("urn:epc:id:sgln:06141.12345678.0", "company prefix '06141' has 5 digits"),
    ("urn:epc:class:lgtin:4012345.0123456.1", "have 14 digits, expected 13"),
])
def test_canonical_rejects(form, message):
    with pytest.raises(InvalidIdentifier, match=message):
        canonical(form)


@pytest.mark.parametrize("form", ["not an id", "http://transaction.acme.com/po/12345678",
                                  "https://example.com/2024/00/file", "urn:uuid:1234", "6901234567892"])
def test_unrecognised_is_local(form):
    p = canonical(form)
    assert (p.id, p.scheme) == (form, "local")


def test_operator_ids():
    assert operator_id(gln="0614141123452") == "https://id.gs1.org/414/0614141123452"
    assert operator_id(gln="", uscc="91350100m000100y43") == "urn:foodtrace:operator:uscc:91350100M000100Y43"
    assert operator_id(local="王记:1") == "urn:foodtrace:operator:%E7%8E%8B%E8%AE%B0%3A1"
    assert operator_key("urn:epc:id:pgln:0614141.12345") == "https://id.gs1.org/414/0614141123452"
    with pytest.raises(InvalidIdentifier):
        operator_id()


def test_lot_ids_scoped():
    a = lot_id(lot_number="20260301", product_id="urn:foodtrace:product:青菜", producer_id="urn:foodtrace:operator:a")
    b = lot_id(lot_number="20260301", product_id="urn:foodtrace:product:青菜", producer_id="urn:foodtrace:operator:b")
    assert a != b and a.startswith("urn:foodtrace:lot:") and a.endswith(":20260301")
    assert lot_id(lot_number=" X 1 ", gtin="96385074") == "https://id.gs1.org/01/00000096385074/10/X%201"


def test_local_id():
    assert local_id("ticket", "FP 1") == "urn:foodtrace:ticket:FP%201"
    with pytest.raises(InvalidIdentifier):
        local_id("ticket", "")


def test_delivery_id_natural_key():
    t = delivery_id("L", "S", "R", ticket="INV1")
    assert t == delivery_id("L", "S", "R", ticket=" INV1 ", time="2026-01-01T00:00:00Z")
    assert t != delivery_id("L", "S", "R2", ticket="INV1")
    assert delivery_id("L", "S", "R", time="2026-03-01T08:00:00+08:00") == \
        delivery_id("L", "S", "R", time="2026-03-01T00:00:00Z")
    with pytest.raises(InvalidIdentifier):
        delivery_id("L", "S", "R")


def test_lookup_forms():
    assert lookup_forms("0614141123452") == ["0614141123452", "https://id.gs1.org/414/0614141123452",
                                             "https://id.gs1.org/01/00614141123452"]
    assert lookup_forms("urn:epc:class:lgtin:4012345.012345.998877") == [
        "urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877"]
    assert lookup_forms("https://id.gs1.org/417/0614141123452")[-1] == "https://id.gs1.org/414/0614141123452"
    assert lookup_forms("urn:epc:id:sgtin:0614141.8123") == ["urn:epc:id:sgtin:0614141.8123"]  # malformed, no raise
    assert lookup_forms("91350100M000100Y43")[-1] == "urn:foodtrace:operator:uscc:91350100M000100Y43"


def test_percent_encode_is_quote_without_safe_characters():
    import random
    from urllib.parse import quote

    from ontology.identifiers import percent_encode

    rng = random.Random(7)
    alphabet = [chr(i) for i in range(0x250)] + list("甲乙南通🙂\u3000") + list("aZ09-_.~") * 30
    for _ in range(20000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert percent_encode(s) == quote(s, safe="")
        assert percent_encode(s) == quote(s, safe="")  # cached


def test_local_id_parts_are_stripped_and_quoted():
    assert local_id("ticket", " https://id.gs1.org/414/0614141008889 ", 7) == \
        "urn:foodtrace:ticket:https%3A%2F%2Fid.gs1.org%2F414%2F0614141008889:7"
    with pytest.raises(InvalidIdentifier, match="empty part"):
        local_id("ticket", "a", "  ")
    with pytest.raises(InvalidIdentifier, match="empty part"):
        local_id("ticket", None, "a")
