"""Identifier forms and their canonical ids: GS1 keys, USCC, and foodtrace's own URNs.

Every entity has one canonical id. For GS1 keys it is the GS1 Digital Link URI
on ``https://id.gs1.org`` (GTINs padded to 14 digits, check digits verified);
otherwise a ``urn:foodtrace:...`` URN built here. Every other form received
(EPC URN, a Digital Link on another domain, a bare code ...) is stored as an
``Alias`` of the canonical id; :func:`lookup_forms` lists the forms under which
a user-typed identifier may be stored.

Examples
--------
>>> gtin14("9520123456788")
'09520123456788'
>>> canonical("urn:epc:class:lgtin:4012345.012345.998877").id
'https://id.gs1.org/01/04012345123456/10/998877'
>>> canonical("https://example.com/shop/01/9520123456788/10/L%2F1?17=260101").id
'https://id.gs1.org/01/09520123456788/10/L%2F1'
>>> canonical("urn:epc:id:sgln:0614141.00888.0").id
'https://id.gs1.org/414/0614141008889'
>>> operator_id(gln="0614141008889")
'https://id.gs1.org/414/0614141008889'
>>> operator_id(uscc="91350100m000100y43")
'urn:foodtrace:operator:uscc:91350100M000100Y43'
>>> lot_id(lot_number="20260301", gtin="6901234567892")
'https://id.gs1.org/01/06901234567892/10/20260301'
>>> canonical("not an identifier")
Parsed(id='not an identifier', scheme='local', entity=None)
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote

from ontology.errors import InvalidIdentifier
from ontology.times import utc_key

__all__ = [
    "DL_BASE",
    "Parsed",
    "gs1_check_digit",
    "gtin14",
    "valid_gln",
    "valid_sscc",
    "valid_uscc",
    "compact",
    "uscc_check_char",
    "org_code_check_char",
    "USCC_ALPHABET",
    "operator_id",
    "product_id",
    "lot_id",
    "local_id",
    "delivery_id",
    "canonical",
    "operator_key",
    "lookup_forms",
    "percent_encode",
]

#: the canonical Digital Link domain
DL_BASE = "https://id.gs1.org"



@dataclass(frozen=True, slots=True)
class Parsed:
    """An identifier parsed by :func:`canonical`.

    ``id`` is the canonical id; ``scheme`` the form the input had (``epc_urn``,
    ``digital_link``, ``local``); ``entity`` what it names: ``lot`` (an LGTIN,
    or an SGTIN without lot traced as its own unit), ``item`` (a serial within a
    lot; ``lot_id`` gives the lot), ``product``, ``operator`` (GLN/SGLN/PGLN),
    ``container`` (SSCC), ``asset`` (GRAI, GIAI), ``service`` (GSRN), ``document``
    (GDTI), ``coupon``, ``consignment``, ``shipment``, ``component``, or a
    record table for ``urn:foodtrace:`` ids, or None when unknown. The GS1
    parts (``gtin``, ``lot``, ``serial``, ``gln``, ``extension``) are filled
    where the identifier has them (``lot`` and ``serial`` decoded).
    """

    id: str
    scheme: str
    entity: str | None
    gtin: str | None = field(default=None, repr=False)
    lot: str | None = field(default=None, repr=False)
    serial: str | None = field(default=None, repr=False)
    gln: str | None = field(default=None, repr=False)
    extension: str | None = field(default=None, repr=False)
    party: bool = field(default=False, repr=False)

    @property
    def product_id(self) -> str | None:
        """The product (``/01/{gtin}``) of a GTIN-based id."""
        return f"{DL_BASE}/01/{self.gtin}" if self.gtin else None

    @property
    def lot_id(self) -> str | None:
        """The lot of a lot, an item of a lot, or a serialised item traced as its own unit.

        >>> canonical("https://id.gs1.org/01/09520123456788/10/A1/21/7").lot_id
        'https://id.gs1.org/01/09520123456788/10/A1'
        >>> canonical("urn:epc:id:sgtin:0614141.812345.6789").lot_id
        'https://id.gs1.org/01/80614141123458/21/6789'
        """
        if self.entity == "item":
            return f"{DL_BASE}/01/{self.gtin}/10/{_enc(self.lot or '')}"
        if self.entity == "lot":
            return self.id
        return None

    @property
    def operator_id(self) -> str | None:
        """The operator (station) id of a location or party: always the ``/414/`` form."""
        return operator_key(self.id) if self.entity == "operator" else None


# -- check digits ----------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")


@lru_cache(maxsize=1 << 16)
def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of ``body`` (the digits before the check digit), cached: the same GTINs and
    GLNs recur in every event of a document.

    >>> gs1_check_digit("950110153100")   # GTIN-13 9501101531000
    0
    >>> gs1_check_digit("061414112345")   # GLN 0614141123452
    2
    """
    total = 3 * sum(map(int, body[::-1][::2])) + sum(map(int, body[::-1][1::2]))
    return (10 - total % 10) % 10


_BLANK = re.compile(r"\s")


def compact(s: object) -> str:
    """A code as written, without blanks anywhere (a clerk's ``9132 0602 ...``, a non-breaking or
    ideographic space, a zero-width one) and in half-width forms (NFKC: ``９１３２`` is ``9132``).
    Codes are compared, validated and keyed in this form.

    >>> compact(" 9135 0100M000100Y43 "), compact("９１３５\u3000０１００"), compact("0614141\u200b008889")
    ('91350100M000100Y43', '91350100', '0614141008889')
    """
    t = str(s).strip()
    if t.isascii() and not _BLANK.search(t):
        return t
    return "".join(unicodedata.normalize("NFKC", t).replace("\u200b", "").replace("\ufeff", "").split())


def _check(kind: str, s: str, lengths: tuple[int, ...]) -> str:
    if s is None:
        raise InvalidIdentifier(f"{kind} is empty")
    code = compact(s)
    if not code:
        raise InvalidIdentifier(f"{kind} is empty")
    if not _DIGITS.fullmatch(code):
        raise InvalidIdentifier(f"{kind} {code!r} must contain digits only")
    if len(code) not in lengths:
        want = " or ".join(str(n) for n in lengths)
        raise InvalidIdentifier(f"{kind} {code!r} has {len(code)} digits, expected {want}")
    expected = gs1_check_digit(code[:-1])
    if int(code[-1]) != expected:
        raise InvalidIdentifier(f"{kind} check digit is {code[-1]}, expected {expected} in {code!r}")
    return code


def gtin14(s: str) -> str:
    """Validate a GTIN-8/12/13/14 and return it as 14 digits.

    >>> gtin14("96385074")
    '00000096385074'
    >>> gtin14("04012345123456")
    '04012345123456'
    >>> gtin14("9520123456781")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidIdentifier: GTIN check digit is 1, expected 8 in '9520123456781'
    """
    return _check("GTIN", s, (8, 12, 13, 14)).zfill(14)


def valid_gln(s: str) -> str:
    """Validate a 13-digit GLN (check digit) and return it.

    >>> valid_gln(" 0614141008889 ")
    '0614141008889'
    >>> valid_gln("0614141008880")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidIdentifier: GLN check digit is 0, expected 9 in '0614141008880'
    """
    return _check("GLN", s, (13,))


def valid_sscc(s: str) -> str:
    """Validate an 18-digit SSCC (check digit) and return it.

    >>> valid_sscc("106141412345678908")
    '106141412345678908'
    """
    return _check("SSCC", s, (18,))


# GB 32100-2015 统一社会信用代码: 31-character alphabet without I, O, S, V, Z
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: GB 11714-1997 weights of the 8-character organisation code body embedded in a USCC
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(body: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a USCC.

    >>> uscc_check_char("91350100M000100Y4")
    '3'
    """
    total = 0
    for ch, w in zip(body, _USCC_WEIGHTS):
        total += _USCC_VALUE[ch] * w
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body: str) -> str:
    """The GB 11714-1997 check character of an 8-character organisation code body.

    >>> org_code_check_char("MA1MXXXX")
    '9'
    """
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def valid_uscc(s: str) -> str:
    """Validate an 18-character unified social credit code and return it upper-cased, without blanks
    (:func:`compact`).

    >>> valid_uscc("91350100m000100y43"), valid_uscc("9135 0100 M000 100Y43")
    ('91350100M000100Y43', '91350100M000100Y43')
    >>> valid_uscc("91350100M000100Y44")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidIdentifier: USCC check character is 4, expected 3 in '91350100M000100Y44'
    """
    if s is None or not str(s).strip():
        raise InvalidIdentifier("USCC is empty")
    code = compact(s).upper()
    if len(code) != 18:
        raise InvalidIdentifier(f"USCC {code!r} has {len(code)} characters, expected 18")
    bad = [c for c in code if c not in _USCC_VALUE]
    if bad:
        raise InvalidIdentifier(
            f"USCC {code!r} has character {bad[0]!r} outside 0-9 and A-Y without I, O, S, V, Z")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidIdentifier(f"USCC check character is {code[17]}, expected {expected} in {code!r}")
    return code


# -- ids built here -----------------------------------------------------------------------

#: every byte but the unreserved characters of RFC 3986 -> its %XX escape (for str.translate)
_PCT = {b: f"%{b:02X}" for b in range(256)
        if not (chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_.-~"))}
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def percent_encode(value: str) -> str:
    """Percent-encode every character but the unreserved ones (UTF-8), as ``quote(value, safe="")``.

    Faster than :func:`urllib.parse.quote` on the short, recurring strings ids are
    made of: a string of unreserved characters only is returned as it is, and the
    encoding of the others is cached.

    >>> percent_encode("A 1/甲~"), percent_encode("L-1.a_b")
    ('A%201%2F%E7%94%B2~', 'L-1.a_b')
    """
    if value.isascii() and (value.isalnum() or _UNRESERVED.fullmatch(value)):
        return value
    return _percent_encode(value)


@lru_cache(maxsize=1 << 16)
def _percent_encode(value: str) -> str:
    if value.isascii():
        return value.translate(_PCT)
    return value.encode("utf-8").decode("latin-1").translate(_PCT)


def _q(part: object) -> str:
    """Percent-encode one part of a URN (everything but unreserved characters)."""
    return percent_encode(str(part).strip())


_enc = percent_encode  # a Digital Link path value (unreserved characters stay)


def local_id(kind: str, *parts: object) -> str:
    """A foodtrace URN ``urn:foodtrace:{kind}:{part}:{part}...`` with quoted parts.

    >>> local_id("sample", "NT2026", "甲")
    'urn:foodtrace:sample:NT2026:%E7%94%B2'
    """
    if not parts:
        raise InvalidIdentifier(f"local id of kind {kind!r} needs at least one part")
    texts = []
    for p in parts:
        t = p.strip() if type(p) is str else "" if p is None else str(p).strip()
        if not t:
            raise InvalidIdentifier(f"local id of kind {kind!r} has an empty part")
        texts.append(t)
    return "urn:foodtrace:" + kind + ":" + ":".join(map(percent_encode, texts))


def operator_id(*, gln: str | None = None, uscc: str | None = None, local: str | None = None) -> str:
    """The canonical id of an operator: by GLN, else USCC, else a local name/code.

    >>> operator_id(local="如皋 王记")
    'urn:foodtrace:operator:%E5%A6%82%E7%9A%8B%20%E7%8E%8B%E8%AE%B0'
    """
    if gln is not None and str(gln).strip():
        return f"{DL_BASE}/414/{valid_gln(gln)}"
    if uscc is not None and str(uscc).strip():
        return f"urn:foodtrace:operator:uscc:{valid_uscc(uscc)}"
    if local is not None and str(local).strip():
        return local_id("operator", local)
    raise InvalidIdentifier("operator id needs a GLN, a USCC or a local identifier")


def product_id(*, gtin: str | None = None, local: str | None = None) -> str:
    """The canonical id of a product: ``/01/{gtin14}`` or a local URN.

    >>> product_id(gtin="96385074")
    'https://id.gs1.org/01/00000096385074'
    >>> product_id(local="青菜")
    'urn:foodtrace:product:%E9%9D%92%E8%8F%9C'
    """
    if gtin is not None and str(gtin).strip():
        return f"{DL_BASE}/01/{gtin14(gtin)}"
    if local is not None and str(local).strip():
        return local_id("product", local)
    raise InvalidIdentifier("product id needs a GTIN or a local identifier")


def _scope_hash(*parts: str | None) -> str:
    return hashlib.sha256("|".join(p or "" for p in parts).encode()).hexdigest()[:12]


def lot_id(*, lot_number: str, gtin: str | None = None, product_id: str | None = None,
           producer_id: str | None = None) -> str:
    """The canonical id of a lot.

    With a GTIN (given, or from a ``/01/`` product id) it is the Digital Link
    ``/01/{gtin14}/10/{lot}``; otherwise the bare lot number is scoped by the
    producer and product: ``urn:foodtrace:lot:{12-hex hash}:{lot}``.

    >>> lot_id(lot_number="A 1", product_id="https://id.gs1.org/01/09520123456788")
    'https://id.gs1.org/01/09520123456788/10/A%201'
    >>> lot_id(lot_number="20260301", product_id="urn:foodtrace:product:x", producer_id="urn:foodtrace:operator:y")
    'urn:foodtrace:lot:f03d2b7369e0:20260301'
    """
    if lot_number is None or not str(lot_number).strip():
        raise InvalidIdentifier("lot number is empty")
    number = str(lot_number).strip()
    if gtin is not None and str(gtin).strip():
        return f"{DL_BASE}/01/{gtin14(gtin)}/10/{_enc(number)}"
    if product_id and product_id.startswith(DL_BASE + "/01/") and len(product_id) == len(DL_BASE) + 18:
        return f"{product_id}/10/{_enc(number)}"
    return f"urn:foodtrace:lot:{_scope_hash(producer_id, product_id)}:{_q(number)}"


def delivery_id(lot_id: str, sender_id: str, receiver_id: str, *, ticket: str | None = None,
                time: str | None = None) -> str:
    """The id of one delivery: a hash of its natural key.

    The key is (lot, sender, receiver, ticket number) when a ticket is known,
    else (lot, sender, receiver, time as a UTC instant), so the same shipment
    read from EPCIS and from a spreadsheet is one delivery. The ids given must
    be canonical.

    >>> a = delivery_id("L", "S", "R", time="2026-03-01T08:00:00+08:00")
    >>> a == delivery_id("L", "S", "R", time="2026-03-01T00:00:00.000Z")
    True
    >>> a == delivery_id("L", "S", "R", time="2026-03-01 08:00:00")
    True
    >>> len(a), a[:22]
    (43, 'urn:foodtrace:delivery')
    """
    if ticket is not None and str(ticket).strip():
        key = f"{lot_id}\x1f{sender_id}\x1f{receiver_id}\x1fticket\x1f{str(ticket).strip()}"
    elif time is not None and str(time).strip():
        key = f"{lot_id}\x1f{sender_id}\x1f{receiver_id}\x1ftime\x1f{utc_key(time)}"
    else:
        raise InvalidIdentifier("delivery id needs a ticket number or a time")
    return "urn:foodtrace:delivery:" + hashlib.sha256(key.encode()).hexdigest()[:20]


# -- parsing EPC URNs and Digital Links ---------------------------------------------------

def _company(kind: str, s: str, cp: str, ref: str, total: int) -> None:
    if not (cp.isdigit() and (ref.isdigit() or (ref == "" and total == len(cp)))):
        raise InvalidIdentifier(f"{kind} {s!r}: company prefix and reference must be digits")
    if not 6 <= len(cp) <= 12:
        raise InvalidIdentifier(f"{kind} {s!r}: company prefix {cp!r} has {len(cp)} digits, expected 6 to 12")
    if len(cp) + len(ref) != total:
        raise InvalidIdentifier(
            f"{kind} {s!r}: company prefix and reference have {len(cp) + len(ref)} digits, expected {total}")


def _parts(kind: str, s: str, body: str, n: int) -> list[str]:
    parts = body.split(".")
    if len(parts) != n or any(p == "" for p in parts[:n - 1]):
        raise InvalidIdentifier(f"{kind} {s!r} must have {n} dot-separated parts")
    return parts


def _gtin_of(kind: str, s: str, cp: str, iir: str) -> str:
    _company(kind, s, cp, iir, 13)
    body = iir[0] + cp + iir[1:]
    return body + str(gs1_check_digit(body))


def _gln_of(kind: str, s: str, cp: str, ref: str) -> str:
    _company(kind, s, cp, ref, 12)
    body = cp + ref
    return body + str(gs1_check_digit(body))


def _serial(kind: str, s: str, raw: str) -> str:
    if raw == "":
        raise InvalidIdentifier(f"{kind} {s!r} has an empty serial or lot")
    return unquote(raw)


def _gtin_dl(gtin: str, lot: str | None = None, serial: str | None = None, cpv: str | None = None) -> str:
    out = f"{DL_BASE}/01/{gtin}"
    if cpv is not None:
        out += f"/22/{_enc(cpv)}"
    if lot is not None:
        out += f"/10/{_enc(lot)}"
    if serial is not None:
        out += f"/21/{_enc(serial)}"
    return out


def _gtin_parsed(scheme: str, gtin: str, lot: str | None, serial: str | None, cpv: str | None = None) -> Parsed:
    if lot is not None and serial is not None:
        entity = "item"
    elif lot is not None or serial is not None:
        entity = "lot"
    else:
        entity = "product"
    return Parsed(_gtin_dl(gtin, lot, serial, cpv), scheme, entity, gtin=gtin, lot=lot, serial=serial)


def _gln_parsed(scheme: str, gln: str, ext: str | None, party: bool = False) -> Parsed:
    if party:
        return Parsed(f"{DL_BASE}/417/{gln}", scheme, "operator", gln=gln, party=True)
    if ext is None or ext == "0":
        return Parsed(f"{DL_BASE}/414/{gln}", scheme, "operator", gln=gln)
    return Parsed(f"{DL_BASE}/414/{gln}/254/{_enc(ext)}", scheme, "operator", gln=gln, extension=ext)


def _parse_urn(s: str) -> Parsed:
    """Parse an ``urn:epc:`` identifier (TDS 2.x pure identity / class / pattern URNs)."""
    low = s[:24].lower()
    head, _, body = s.rpartition(":")
    kind = head[len("urn:epc:"):].lower()  # e.g. id:sgtin
    name = kind.replace("id:", "").replace("class:", "").replace("idpat:", "").upper()
    if not low.startswith("urn:epc:"):
        return Parsed(s, "local", None)
    if kind == "id:sgtin":
        cp, iir, ser = _parts("SGTIN", s, body, 3)
        return _gtin_parsed("epc_urn", _gtin_of("SGTIN", s, cp, iir), None, _serial("SGTIN", s, ser))
    if kind == "class:lgtin":
        cp, iir, lot = _parts("LGTIN", s, body, 3)
        return _gtin_parsed("epc_urn", _gtin_of("LGTIN", s, cp, iir), _serial("LGTIN", s, lot), None)
    if kind == "idpat:sgtin":
        cp, iir, ser = _parts("SGTIN pattern", s, body, 3)
        if iir == "*" or ser != "*":
            if iir != "*" and ser != "*":
                return _gtin_parsed("epc_urn", _gtin_of("SGTIN pattern", s, cp, iir), None, unquote(ser))
            return Parsed(s, "epc_urn", "pattern")
        return Parsed(f"{DL_BASE}/01/{_gtin_of('SGTIN pattern', s, cp, iir)}", "epc_urn", "product",
                      gtin=_gtin_of("SGTIN pattern", s, cp, iir))
    if kind == "id:sgln":
        cp, ref, ext = _parts("SGLN", s, body, 3)
        return _gln_parsed("epc_urn", _gln_of("SGLN", s, cp, ref), _serial("SGLN", s, ext))
    if kind == "id:pgln":
        cp, ref = _parts("PGLN", s, body, 2)
        return _gln_parsed("epc_urn", _gln_of("PGLN", s, cp, ref), None, party=True)
    if kind == "id:sscc":
        cp, ref = _parts("SSCC", s, body, 2)
        _company("SSCC", s, cp, ref, 17)
        digits = ref[0] + cp + ref[1:]
        sscc = digits + str(gs1_check_digit(digits))
        return Parsed(f"{DL_BASE}/00/{sscc}", "epc_urn", "container")
    if kind == "id:grai":
        cp, at, ser = _parts("GRAI", s, body, 3)
        _company("GRAI", s, cp, at, 12)
        key = "0" + cp + at
        return Parsed(f"{DL_BASE}/8003/{key}{gs1_check_digit(key)}{_enc(unquote(ser))}", "epc_urn", "asset")
    if kind == "id:giai":
        cp, ref = _parts("GIAI", s, body, 2)
        _company("GIAI", s, cp, "", len(cp))
        return Parsed(f"{DL_BASE}/8004/{cp}{_enc(_serial('GIAI', s, ref))}", "epc_urn", "asset")
    if kind in ("id:gsrn", "id:gsrnp"):
        cp, ref = _parts(name, s, body, 2)
        _company(name, s, cp, ref, 17)
        ai = "8018" if kind == "id:gsrn" else "8017"
        return Parsed(f"{DL_BASE}/{ai}/{cp}{ref}{gs1_check_digit(cp + ref)}", "epc_urn", "service")
    if kind in ("id:gdti", "id:sgcn"):
        cp, dt, ser = _parts(name, s, body, 3)
        _company(name, s, cp, dt, 12)
        ai, entity = ("253", "document") if kind == "id:gdti" else ("255", "coupon")
        return Parsed(f"{DL_BASE}/{ai}/{cp}{dt}{gs1_check_digit(cp + dt)}{_enc(unquote(ser))}", "epc_urn", entity)
    if kind == "id:ginc":
        cp, ref = _parts("GINC", s, body, 2)
        _company("GINC", s, cp, "", len(cp))
        return Parsed(f"{DL_BASE}/401/{cp}{_enc(_serial('GINC', s, ref))}", "epc_urn", "consignment")
    if kind == "id:gsin":
        cp, ref = _parts("GSIN", s, body, 2)
        _company("GSIN", s, cp, ref, 16)
        return Parsed(f"{DL_BASE}/402/{cp}{ref}{gs1_check_digit(cp + ref)}", "epc_urn", "shipment")
    if kind == "id:cpi":
        cp, ref, ser = _parts("CPI", s, body, 3)
        _company("CPI", s, cp, "", len(cp))
        return Parsed(f"{DL_BASE}/8010/{cp}{_enc(unquote(ref))}/8011/{ser}", "epc_urn", "component")
    if kind == "id:itip":
        cp, iir, piece, total, ser = _parts("ITIP", s, body, 5)
        gtin = _gtin_of("ITIP", s, cp, iir)
        if not (len(piece) == 2 and len(total) == 2 and (piece + total).isdigit()):
            raise InvalidIdentifier(f"ITIP {s!r}: piece and total must be two digits each")
        return Parsed(f"{DL_BASE}/8006/{gtin}{piece}{total}/21/{_enc(_serial('ITIP', s, ser))}", "epc_urn", "lot",
                      gtin=gtin, serial=unquote(ser))
    if kind == "id:upui":
        cp, iir, tpx = _parts("UPUI", s, body, 3)
        gtin = _gtin_of("UPUI", s, cp, iir)
        return Parsed(f"{DL_BASE}/01/{gtin}/235/{_enc(_serial('UPUI', s, tpx))}", "epc_urn", "lot", gtin=gtin)
    # other EPC schemes (gid, usdod, adi, bic, imovn, patterns ...): valid but not GS1 keys we map
    return Parsed(s, "epc_urn", None)


# Digital Link: primary key AIs and the qualifiers each may have (in canonical order)
_DL_PRIMARY = {
    "01": ("22", "10", "21", "235"),
    "8006": ("22", "10", "21"),
    "414": ("254", "7040"),
    "417": ("7040",),
    "00": (), "8003": (), "8004": (), "8017": ("8019",), "8018": ("8019",), "253": (), "255": (),
    "401": (), "402": (), "8010": ("8011",), "8013": (),
}
_DL_SHORT = {
    "gtin": "01", "cpv": "22", "lot": "10", "ser": "21", "gln": "414", "party": "417", "glnx": "254",
    "sscc": "00", "grai": "8003", "giai": "8004", "gsrn": "8018", "gsrnp": "8017", "gdti": "253",
    "gcn": "255", "ginc": "401", "gsin": "402", "itip": "8006", "cpid": "8010", "cpsn": "8011", "gmn": "8013",
}
_DL_ENTITY = {"00": "container", "8003": "asset", "8004": "asset", "8017": "service", "8018": "service",
              "253": "document", "255": "coupon", "401": "consignment", "402": "shipment",
              "8010": "component", "8013": "product"}
_DL_RE = re.compile(r"^https?://([^/?#]+)(/[^?#]*)?(?:\?[^#]*)?(?:#.*)?$", re.I)


def _dl_structure(segs: list[str]) -> tuple[str, str, list[tuple[str, str]]] | None:
    """Find ``primary/value[/qualifier/value]*`` at the end of the path segments."""
    for i in range(len(segs)):
        ai = _DL_SHORT.get(segs[i], segs[i])
        if ai not in _DL_PRIMARY:
            continue
        rest = segs[i:]
        if len(rest) % 2:
            continue
        allowed = _DL_PRIMARY[ai]
        quals = [(_DL_SHORT.get(rest[j], rest[j]), rest[j + 1]) for j in range(2, len(rest), 2)]
        if all(q in allowed for q, _ in quals) and len({q for q, _ in quals}) == len(quals):
            return ai, rest[1], quals
    return None


_FAST_LOT = re.compile(r"https://id\.gs1\.org/01/(\d{14})/10/([A-Za-z0-9_.~-]+)")
_FAST_GLN = re.compile(r"https://id\.gs1\.org/414/(\d{13})")


def _parse_dl(s: str) -> Parsed | None:
    m = _FAST_LOT.fullmatch(s)  # the canonical forms most documents carry
    if m:
        gtin = m.group(1)
        if gs1_check_digit(gtin[:13]) == ord(gtin[13]) - 48:
            return Parsed(s, "digital_link", "lot", gtin=gtin, lot=m.group(2))
    m = _FAST_GLN.fullmatch(s)
    if m:
        gln = m.group(1)
        if gs1_check_digit(gln[:12]) == ord(gln[12]) - 48:
            return Parsed(s, "digital_link", "operator", gln=gln)
    m = _DL_RE.match(s)
    if not m or not m.group(2):
        return None
    host = m.group(1).lower()
    segs = [x for x in m.group(2).split("/") if x != ""]
    found = _dl_structure(segs)
    if found is None:
        return None
    ai, raw, quals = found
    value = unquote(raw)
    numeric = ai not in ("8004", "401", "8010", "8013", "253", "255", "8003")
    if host != "id.gs1.org" and numeric and not value.isdigit():
        return None  # some other URL whose path happens to contain e.g. /00/
    q = {k: unquote(v) for k, v in quals}
    for k, v in q.items():
        if v == "":
            raise InvalidIdentifier(f"Digital Link {s!r}: AI ({k}) has an empty value")
    where = f"Digital Link {s!r}: "
    try:
        if ai == "01":
            gtin = gtin14(value)
            if "235" in q:
                return Parsed(f"{DL_BASE}/01/{gtin}/235/{_enc(q['235'])}", "digital_link", "lot", gtin=gtin)
            return _gtin_parsed("digital_link", gtin, q.get("10"), q.get("21"), q.get("22"))
        if ai == "414":
            ext = q.get("254")
            return _gln_parsed("digital_link", valid_gln(value), ext)
        if ai == "417":
            return _gln_parsed("digital_link", valid_gln(value), None, party=True)
        if ai == "00":
            return Parsed(f"{DL_BASE}/00/{valid_sscc(value)}", "digital_link", "container")
        if ai == "8006":
            if len(value) != 18 or not value.isdigit():
                raise InvalidIdentifier(f"ITIP {value!r} must be 18 digits")
            gtin = gtin14(value[:14])
            out = f"{DL_BASE}/8006/{value}" + "".join(f"/{k}/{_enc(q[k])}" for k in ("22", "10", "21") if k in q)
            return Parsed(out, "digital_link", "lot", gtin=gtin, lot=q.get("10"), serial=q.get("21"))
    except InvalidIdentifier as e:
        raise InvalidIdentifier(where + str(e)) from None
    out = f"{DL_BASE}/{ai}/{_enc(value)}" + "".join(
        f"/{k}/{_enc(q[k])}" for k in _DL_PRIMARY[ai] if k in q)
    return Parsed(out, "digital_link", _DL_ENTITY.get(ai))


_TABLES = {"operator", "product", "lot", "delivery", "transformation", "certificate", "ticket",
           "sample", "region", "event", "case", "complaint", "inspection", "trace_code"}


def canonical(identifier: str) -> Parsed:
    """Parse an identifier into its canonical id.

    EPC URNs (SGTIN, LGTIN, SGTIN patterns, SGLN, PGLN, SSCC, GRAI, GIAI,
    GSRN, GDTI, SGCN, GINC, GSIN, CPI, ITIP, UPUI) and GS1 Digital Link URIs on
    any domain become the Digital Link on ``id.gs1.org``. Anything else is
    returned unchanged with scheme ``local``.

    Raises
    ------
    InvalidIdentifier
        A GS1 form is malformed (bad check digit, wrong length ...).

    Examples
    --------
    >>> canonical("urn:epc:id:sgtin:0614141.812345.6789").id
    'https://id.gs1.org/01/80614141123458/21/6789'
    >>> canonical("urn:epc:idpat:sgtin:0614141.812345.*").entity
    'product'
    >>> canonical("urn:epc:id:sgln:0614141.00888.1234").id
    'https://id.gs1.org/414/0614141008889/254/1234'
    >>> canonical("urn:epc:id:pgln:0614141.00888").id
    'https://id.gs1.org/417/0614141008889'
    >>> canonical("urn:epc:id:sscc:0614141.1234567890").id
    'https://id.gs1.org/00/106141412345678908'
    >>> p = canonical("http://example.org/gtin/9520123456788/lot/ABC")
    >>> p.id, p.scheme, p.entity, p.product_id
    ('https://id.gs1.org/01/09520123456788/10/ABC', 'digital_link', 'lot', 'https://id.gs1.org/01/09520123456788')
    >>> canonical("https://id.gs1.org/414/0614141008880")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidIdentifier: Digital Link 'https://id.gs1.org/414/0614141008880': GLN check digit is 0, expected 9 in '0614141008880'
    >>> canonical("http://transaction.example.com/po/12345").scheme
    'local'
    """
    return _canonical(identifier if type(identifier) is str else str(identifier))


@lru_cache(maxsize=1 << 17)
def _canonical(identifier: str) -> Parsed:
    """:func:`canonical`, cached: the same lots, operators and products recur in every file (Parsed is frozen)."""
    s = identifier.strip()
    if s[:8].lower() == "urn:epc:":
        return _parse_urn(s)
    if s[:4].lower() == "http":
        p = _parse_dl(s)
        if p is not None:
            return p
    elif s.startswith("urn:foodtrace:"):
        kind = s[14:].split(":", 1)[0]
        return Parsed(s, "local", kind if kind in _TABLES else None)
    return Parsed(s, "local", None)


def operator_key(identifier: str) -> str:
    """The operator (station) id of a location or party identifier.

    A party (PGLN, ``/417/``) and the location with the same GLN (``/414/``)
    are the same operator for tracing; the ``/414/`` form is canonical.

    >>> operator_key("urn:epc:id:pgln:0614141.00888")
    'https://id.gs1.org/414/0614141008889'
    """
    p = canonical(identifier)
    if p.entity == "operator" and p.party:
        return f"{DL_BASE}/414/{p.gln}"
    return p.id


def lookup_forms(identifier: str) -> list[str]:
    """Forms under which ``identifier`` may be stored (never raises).

    The identifier as given (stripped), its canonical Digital Link if different,
    the ``/414/`` operator of a party, and for bare codes the operator id of a
    13-digit GLN or an 18-character USCC and the product id of a GTIN.

    >>> lookup_forms(" urn:epc:id:pgln:0614141.00888 ")
    ['urn:epc:id:pgln:0614141.00888', 'https://id.gs1.org/417/0614141008889', 'https://id.gs1.org/414/0614141008889']
    >>> lookup_forms("6901234567892")
    ['6901234567892', 'https://id.gs1.org/414/6901234567892', 'https://id.gs1.org/01/06901234567892']
    >>> lookup_forms("91350100M000100Y43")
    ['91350100M000100Y43', 'urn:foodtrace:operator:uscc:91350100M000100Y43']
    >>> lookup_forms("https://id.gs1.org/414/0614141008880")
    ['https://id.gs1.org/414/0614141008880']
    """
    s = str(identifier).strip()
    out = [s]

    def add(x: str | None) -> None:
        if x and x not in out:
            out.append(x)

    try:
        p = canonical(s)
        add(p.id)
        if p.entity == "operator" and p.party:
            add(f"{DL_BASE}/414/{p.gln}")
    except InvalidIdentifier:
        pass
    if s.isdigit():
        if len(s) == 13:
            try:
                add(operator_id(gln=s))
            except InvalidIdentifier:
                pass
        if len(s) in (8, 12, 13, 14):
            try:
                add(product_id(gtin=s))
            except InvalidIdentifier:
                pass
        if len(s) == 18:
            try:
                add(f"{DL_BASE}/00/{valid_sscc(s)}")
            except InvalidIdentifier:
                pass
    if len(s) == 18:
        try:
            add(operator_id(uscc=s))
        except InvalidIdentifier:
            pass
    return out
