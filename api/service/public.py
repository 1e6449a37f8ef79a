"""Public routes (no key): the GS1 Digital Link resolver, local trace codes and QR codes.

* ``GET /01/{gtin}/10/{lot}`` (and ``/21/{serial}``; query attributes such as ``?17=261108`` are
  accepted and echoed) and ``GET /t/{code}``: what a shopper may see about a lot
  (:func:`reasoning.lookup.public_lot`). A browser (``Accept: text/html``) gets the Chinese mobile
  page (English by ``Accept-Language`` or ``?lang=en``), ``application/json`` JSON,
  ``application/ld+json`` or ``?format=jsonld`` JSON-LD (GS1 Web Vocabulary and schema.org),
  ``?linkType=all`` or ``application/linkset+json`` an RFC 9264 linkset, as the GS1 Digital Link
  resolver standard describes (anchor: the Digital Link URI; link types ``gs1:pip``,
  ``gs1:traceability``, ``gs1:certificationInfo`` ...); another known ``linkType`` redirects (307)
  to that link. Every answer carries a ``Link`` header to the linkset and the page.
* ``GET /qr/01/{gtin}/10/{lot}.svg|.png`` and ``/qr/t/{code}.svg|.png``: the QR code of the lot's
  Digital Link (or of the trace code's page) on ``public_base_url`` (else the request's base URL).

A malformed GTIN (length, check digit) is 400; an unknown lot or code 404: a friendly page for a
browser, problem+json otherwise (:mod:`.problems`). Lot numbers and codes are taken from the raw
request path and percent-decoded segment by segment, so a lot number holding ``/`` (``%2F``) works.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any, Callable, Literal
from urllib.parse import unquote

import orjson
import segno
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from graph.view import ReadView
from ontology import identifiers as ids
from ontology.errors import InvalidIdentifier, NotFound
from reasoning.lookup import code_lot, find_lot, public_code, public_lot

from ..settings import Settings
from . import pages
from .deps import SettingsDep, ViewDep, store_call
from .problems import PROBLEM_SCHEMA

__all__ = ["router", "GS1", "LINKSET", "JSONLD"]

router = APIRouter(tags=["public"])

GS1 = "https://gs1.org/voc/"
LINKSET = "application/linkset+json"
JSONLD = "application/ld+json"
#: how long browsers and caches may keep an answer (seconds)
MAX_AGE = 300
#: longest lot number / serial / code accepted (GS1 allows 20 characters; local codes are longer)
MAX_VALUE = 200

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed GTIN or lot (e.g. a wrong check digit)",
          "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}, "text/html": {}}},
    404: {"description": "no such lot or trace code",
          "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}, "text/html": {}}},
}
_OK = {
    "description": "the lot: an HTML page, JSON, JSON-LD or an RFC 9264 linkset, by content negotiation",
    "content": {"text/html": {}, "application/json": {}, JSONLD: {}, LINKSET: {}},
}
_QR_OK = {"description": "the QR code", "content": {"image/svg+xml": {}, "image/png": {}}}

_FormatQ = Query(None, description="html, json, jsonld or linkset: overrides the Accept header")
_LinkTypeQ = Query(None, description="`all` for the linkset; a link type such as `gs1:pip` redirects to that link")
_LangQ = Query(None, description="zh or en: overrides Accept-Language for the page")
_GtinP = Path(description="GTIN-8/12/13/14 (check digit verified; a bad one is 400)", examples=["06901234567892"])
_LotP = Path(description="lot number (AI 10), percent-encoded", examples=["P20261101"])
_SerialP = Path(description="serial number (AI 21), percent-encoded; echoed", examples=["0001"])
_CodeP = Path(description="local trace code (追溯码) as printed", examples=["NT320601202611010001"])

_DL_PATH = re.compile(r"/01/([^/]*)/10/([^/]+)(?:/21/([^/]+))?/?$")
_QR_DL_PATH = re.compile(r"/qr/01/([^/]*)/10/([^/]+)\.(svg|png)$")
_T_PATH = re.compile(r"/t/(.+)$")
_QR_T_PATH = re.compile(r"/qr/t/(.+)\.(svg|png)$")


# -- request parsing ------------------------------------------------------------------------

def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    if raw:
        return raw.decode("latin-1").split("?", 1)[0]
    return request.url.path


def _decode(value: str, what: str) -> str:
    try:
        text = unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise InvalidIdentifier(f"{what} is not valid percent-encoded UTF-8") from None
    if not text.strip():
        raise InvalidIdentifier(f"{what} is empty")
    if len(text) > MAX_VALUE or any(ord(c) < 32 for c in text):
        raise InvalidIdentifier(f"{what} is too long or holds control characters")
    return text


def _lot_of(gtin: str, lot: str) -> tuple[str, str, str]:
    """(GTIN-14, lot number, canonical lot id); InvalidIdentifier for a bad GTIN or lot."""
    g = ids.gtin14(unquote(gtin))
    number = _decode(lot, "lot number")
    return g, number, ids.lot_id(lot_number=number, gtin=g)


def _base(request: Request, settings: Settings) -> str:
    return (settings.public_base_url or str(request.base_url)).rstrip("/")


def _dl_path(lot_id: str) -> str | None:
    """The Digital Link path of a GTIN lot id (``/01/.../10/...``), None for other lots."""
    prefix = ids.DL_BASE + "/01/"
    return lot_id[len(ids.DL_BASE):] if lot_id.startswith(prefix) and "/10/" in lot_id else None


def _attributes(request: Request) -> dict[str, str]:
    """GS1 data attributes of the query (numeric AIs such as 17 or 3103), echoed in JSON."""
    return {k: v[:MAX_VALUE] for k, v in request.query_params.items() if k.isdigit() and len(k) <= 4}


# -- representations ----------------------------------------------------------------------

def _links(anchor: str, data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(link type, target) pairs of a lot, GS1 link types first."""
    name = (data.get("product") or {}).get("name") or (data.get("lot") or {}).get("lot_number") or ""
    out = [
        (GS1 + "defaultLink", {"href": f"{anchor}?format=html", "title": f"{name} 追溯信息", "type": "text/html",
                                "hreflang": ["zh"]}),
        (GS1 + "pip", {"href": f"{anchor}?format=html", "title": f"{name} 产品与追溯信息", "type": "text/html",
                       "hreflang": ["zh"]}),
        (GS1 + "pip", {"href": f"{anchor}?format=html&lang=en", "title": f"{name}: product and trace information",
                       "type": "text/html", "hreflang": ["en"]}),
        (GS1 + "traceability", {"href": f"{anchor}?format=json", "title": "流通过程 / chain of custody",
                                "type": "application/json"}),
    ]
    if data.get("certificates"):
        out.append((GS1 + "certificationInfo", {"href": f"{anchor}?format=html#certificates",
                                                "title": "合格证明 / certificates", "type": "text/html"}))
    out.append(("describedby", {"href": f"{anchor}?format=jsonld", "title": "JSON-LD", "type": JSONLD}))
    return out


def _linkset(anchor: str, data: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"anchor": anchor}
    for rel, target in _links(anchor, data):
        entry.setdefault(rel, []).append(target)
    return {"linkset": [entry]}


def _link_header(anchor: str, data: dict[str, Any]) -> str:
    parts = [f'<{anchor}?linkType=all>; rel="linkset"; type="{LINKSET}"']
    for rel, target in _links(anchor, data):
        if rel in (GS1 + "defaultLink", GS1 + "traceability", "describedby") or (
                rel == GS1 + "pip" and target["hreflang"] == ["zh"]):
            parts.append(f'<{target["href"]}>; rel="{rel}"; type="{target["type"]}"')
    return ", ".join(parts)


def _texts(zh: str | None, en: str | None) -> list[dict[str, str]] | None:
    out = [{"@value": zh, "@language": "zh"}] if zh else []
    if en and en != zh:
        out.append({"@value": en, "@language": "en"})
    return out or None


def _party_ld(p: dict[str, Any] | None) -> dict[str, Any] | None:
    if not p:
        return None
    node: dict[str, Any] = {"@type": ["gs1:Organization", "schema:Organization"]}
    if p.get("id") and not p.get("individual"):
        node["@id"] = p["id"]
    names = _texts(p.get("name"), p.get("name_en"))
    if names:
        node["gs1:organizationName"] = names
    node["schema:description"] = _texts(p.get("kind_zh"), p.get("kind_en"))
    return node


def _date(value: str | None) -> dict[str, str] | None:
    return {"@value": value, "@type": "xsd:date"} if value else None


def _jsonld(anchor: str, data: dict[str, Any]) -> dict[str, Any]:
    """The lot as JSON-LD: a gs1:Product (the lot's trade item instance class) with its lot, producer,
    certifications (gs1:CertificationDetails), chain of custody and public sampling results."""
    prod = data.get("product") or {}
    lot = data["lot"]
    cat = prod.get("category") or {}
    doc: dict[str, Any] = {
        "@context": {"gs1": GS1, "schema": "https://schema.org/", "xsd": "http://www.w3.org/2001/XMLSchema#",
                     "ft": "https://w3id.org/foodtrace/ontology#"},
        "@id": anchor,
        "@type": ["gs1:Product", "schema:Product"],
        "schema:identifier": data["id"],
        "gs1:gtin": prod.get("gtin"),
        "gs1:productName": _texts(prod.get("name"), prod.get("name_en")),
        "schema:category": _texts(cat.get("zh"), cat.get("en")),
        "gs1:hasBatchLotNumber": lot.get("lot_number"),
        "gs1:productionDate": _date(lot.get("production_date")),
        "gs1:expirationDate": _date(lot.get("expiry_date")),
        "gs1:brand": {"@type": "gs1:Brand", "gs1:brandName": prod["brand"]} if prod.get("brand") else None,
        "gs1:manufacturer": _party_ld((data.get("origin") or {}).get("producer")),
        "ft:origin": _texts(((data.get("origin") or {}).get("region") or {}).get("zh"),
                            ((data.get("origin") or {}).get("region") or {}).get("en")),
        "gs1:certification": [{
            "@type": "gs1:CertificationDetails",
            "gs1:certificationStandard": _texts(c["kind_zh"], c["kind_en"]),
            "gs1:certificationIdentification": c.get("number"),
            "gs1:certificationAgency": c.get("issuer"),
            "gs1:certificationStartDate": _date(c.get("issued")),
            "gs1:certificationEndDate": _date(c.get("valid_until")),
        } for c in data.get("certificates", ())],
        "ft:chainOfCustody": {"@list": [_step_ld(s) for s in data.get("chain", ())]},
        "ft:sample": [{
            "@type": "ft:Sample",
            "ft:samplePlan": _texts(s["plan_zh"], s["plan_en"]),
            "ft:samplingDate": _date(s.get("sampled_at")),
            "ft:conclusion": _texts(s["conclusion_zh"], s["conclusion_en"]),
            "ft:announcement": s.get("announcement"),
            "ft:testItem": [i["item"] for i in s.get("items", ())] or None,
        } for s in data.get("samples", ())],
    }
    if data.get("notices"):
        doc["ft:notice"] = [{"@type": "ft:Sample", "schema:name": _texts(n["title_zh"], n["title_en"]),
                             "ft:testItem": n["items"] or None,
                             "ft:disposalDone": _date(n["disposal"]["done"]),
                             "ft:disposalDue": _date(n["disposal"]["due"])} for n in data["notices"]]
    if data.get("serial"):
        doc["gs1:hasSerialNumber"] = data["serial"]
    return _prune(doc)


def _step_ld(s: dict[str, Any]) -> dict[str, Any]:
    if s["type"] == "transformation":
        return {"@type": "ft:Transformation", "schema:name": _texts(s["label_zh"], s["label_en"]),
                "ft:transformationTime": {"@value": s["time"], "@type": "xsd:dateTime"} if s.get("time") else None,
                "ft:station": _party_ld(s.get("at"))}
    return {"@type": "ft:Delivery", "schema:name": _texts(s["label_zh"], s["label_en"]),
            "ft:shipTime": {"@value": s["time"], "@type": "xsd:dateTime"} if s.get("time") else None,
            "ft:sender": _party_ld(s.get("from")), "ft:receiver": _party_ld(s.get("to"))}


def _prune(value: Any) -> Any:
    """Drop empty members (None, empty lists and dicts) so that the JSON-LD holds no null values."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [x for x in (_prune(v) for v in value) if x not in (None, [], {})]
    return value


def render_page(data: dict[str, Any], lang: str) -> bytes:
    """The consumer page of a lookup; it holds nothing that depends on the request (the language switch
    is a relative link), so the read model can store it."""
    other = "en" if lang == "zh" else "zh"
    return pages.render("lot.html", lang, data=data, switch_url=f"?format=html&lang={other}").encode()


def _respond(request: Request, data: dict[str, Any], anchor: str, *, extra: dict[str, Any],
             page: Callable[[str], bytes] | None = None) -> Response:
    link_type = request.query_params.get("linkType")
    if link_type and link_type.lower() != "all" and not request.query_params.get("format"):
        wanted = link_type if link_type.startswith("http") else GS1 + link_type.removeprefix("gs1:")
        for rel, target in _links(anchor, data):
            if rel == wanted:
                return RedirectResponse(target["href"], status_code=307,
                                        headers={"Link": _link_header(anchor, data), "Vary": "Accept"})
    kind = pages.negotiate(request)
    headers = {"Cache-Control": f"public, max-age={MAX_AGE}", "Vary": "Accept, Accept-Language",
               "Link": _link_header(anchor, data)}
    if kind == "html":
        lang = pages.language(request)
        body = page(lang) if page is not None else render_page(data, lang)
        media = "text/html; charset=utf-8"
    elif kind == "jsonld":
        body, media = orjson.dumps(_jsonld(anchor, data)), JSONLD
    elif kind == "linkset":
        body, media = orjson.dumps(_linkset(anchor, data)), LINKSET
    else:
        body, media = orjson.dumps({**data, **extra, "links": _linkset(anchor, data)["linkset"][0]}), "application/json"
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers["ETag"] = etag
    if etag in (request.headers.get("if-none-match") or ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media, headers=headers)


def _qr(url: str, fmt: str) -> Response:
    qr = segno.make(url, error="m")
    buf = io.BytesIO()
    if fmt == "svg":
        qr.save(buf, kind="svg", scale=4, border=4, xmldecl=False, title=url)
        media = "image/svg+xml"
    else:
        qr.save(buf, kind="png", scale=6, border=4)
        media = "image/png"
    return Response(buf.getvalue(), media_type=media,
                    headers={"Cache-Control": f"public, max-age={MAX_AGE}", "X-Encoded-URL": url})


# -- routes ---------------------------------------------------------------------------------

def _resolve(request: Request, view: ReadView, settings: Settings) -> Response:
    m = _DL_PATH.search(_raw_path(request))
    if m is None:
        raise NotFound("not a Digital Link of a lot: /01/{gtin}/10/{lot}[/21/{serial}]")
    gtin, number, lot_id = _lot_of(m.group(1), m.group(2))
    serial = _decode(m.group(3), "serial") if m.group(3) else None
    pv = request.app.state.public_views
    compute = lambda: public_lot(view, lot_id)  # noqa: E731
    data = pv.get(lot_id, None, compute)
    page = None
    if serial is not None:
        data = {**data, "serial": serial}  # the serial is echoed: pages with one are not stored
    else:
        page = lambda lang: pv.page(lot_id, None, lang, compute, lambda d: render_page(d, lang))  # noqa: E731
    path = _dl_path(data["id"]) or f"/01/{gtin}/10/{ids.percent_encode(number)}"
    anchor = _base(request, settings) + path
    return _respond(request, data, anchor, extra={"digital_link": anchor, "attributes": _attributes(request)},
                    page=page)


@router.get("/01/{gtin}/10/{lot}", summary="GS1 Digital Link 批次查询 / resolve a lot's Digital Link",
            responses={200: _OK, **_ERRORS}, response_class=Response)
async def resolve_lot(request: Request, *, gtin: str = _GtinP, lot: str = _LotP, format: Literal["html", "json", "jsonld", "linkset"] | None = _FormatQ,
                linkType: str | None = _LinkTypeQ, lang: Literal["zh", "en"] | None = _LangQ,
                view: ViewDep, settings: SettingsDep) -> Response:
    """Product, lot, origin, certificates, chain of custody, public sampling results and notices of the lot
    ``(01) gtin (10) lot``. GS1 query attributes (e.g. ``?17=261108``) are accepted and echoed in JSON."""
    return await store_call(request, _resolve, request, view, settings)


@router.get("/01/{gtin}/10/{lot}/21/{serial}", summary="GS1 Digital Link 单品查询 / resolve a serialised item's lot",
            responses={200: _OK, **_ERRORS}, response_class=Response)
async def resolve_item(request: Request, *, gtin: str = _GtinP, lot: str = _LotP, serial: str = _SerialP,
                 format: Literal["html", "json", "jsonld", "linkset"] | None = _FormatQ,
                 linkType: str | None = _LinkTypeQ, lang: Literal["zh", "en"] | None = _LangQ,
                 view: ViewDep, settings: SettingsDep) -> Response:
    """The lot of the item ``(01) gtin (10) lot (21) serial`` (the serial is echoed)."""
    return await store_call(request, _resolve, request, view, settings)


@router.get("/01/{gtin}/10/{rest:path}", include_in_schema=False, response_class=Response)
async def resolve_encoded(request: Request, *, gtin: str, rest: str, view: ViewDep,
                    settings: SettingsDep) -> Response:
    """Lot numbers holding an encoded ``/`` (``%2F``): read from the raw path."""
    return await store_call(request, _resolve, request, view, settings)


def _code_of(request: Request, pattern: re.Pattern[str]) -> re.Match[str]:
    m = pattern.search(_raw_path(request))
    if m is None:
        raise NotFound("no trace code in the path")
    return m


@router.get("/t/{code:path}", summary="追溯码查询 / look up a local trace code", responses={200: _OK, **_ERRORS},
            response_class=Response)
async def trace_code(request: Request, *, code: str = _CodeP, format: Literal["html", "json", "jsonld", "linkset"] | None = _FormatQ,
               linkType: str | None = _LinkTypeQ, lang: Literal["zh", "en"] | None = _LangQ,
               view: ViewDep, settings: SettingsDep) -> Response:
    """The lot a trace code (追溯码, as printed on a price tag or 合格证) names; the chain of custody shows the way
    the lot took to the shop whose delivery carried the code."""
    return await store_call(request, _resolve_code, request, view, settings)


def _resolve_code(request: Request, view: ReadView, settings: Settings) -> Response:
    text = _decode(_code_of(request, _T_PATH).group(1), "trace code")
    lot_id = code_lot(view, text)
    pv = request.app.state.public_views
    compute = lambda: public_code(view, text)  # noqa: E731
    data = pv.get(lot_id, text, compute)
    base = _base(request, settings)
    path = _dl_path(data["id"])
    anchor = base + "/t/" + ids.percent_encode(text)
    extra = {"digital_link": base + path if path else None, "attributes": _attributes(request)}
    return _respond(request, data, anchor, extra=extra,
                    page=lambda lang: pv.page(lot_id, text, lang, compute, lambda d: render_page(d, lang)))


def _qr_lot(request: Request, view: ReadView, settings: Settings) -> Response:
    m = _QR_DL_PATH.search(_raw_path(request))
    if m is None:
        raise NotFound("not a QR code path: /qr/01/{gtin}/10/{lot}.svg or .png")
    gtin, number, lot_id = _lot_of(m.group(1), m.group(2))
    find_lot(view, lot_id)  # 404 for an unknown lot
    return _qr(_base(request, settings) + f"/01/{gtin}/10/{ids.percent_encode(number)}", m.group(3))


@router.get("/qr/01/{gtin}/10/{lot}.svg", summary="批次二维码（SVG） / QR code of a lot's Digital Link (SVG)",
            responses={200: _QR_OK, **_ERRORS}, response_class=Response)
async def qr_lot_svg(request: Request, *, gtin: str = _GtinP, lot: str = _LotP, view: ViewDep,
               settings: SettingsDep) -> Response:
    return await store_call(request, _qr_lot, request, view, settings)


@router.get("/qr/01/{gtin}/10/{lot}.png", summary="批次二维码（PNG） / QR code of a lot's Digital Link (PNG)",
            responses={200: _QR_OK, **_ERRORS}, response_class=Response)
async def qr_lot_png(request: Request, *, gtin: str = _GtinP, lot: str = _LotP, view: ViewDep,
               settings: SettingsDep) -> Response:
    return await store_call(request, _qr_lot, request, view, settings)


def _qr_code(request: Request, view: ReadView, settings: Settings) -> Response:
    m = _code_of(request, _QR_T_PATH)
    text = _decode(m.group(1), "trace code")
    find_lot(view, code_lot(view, text))  # 404 for an unknown code
    return _qr(_base(request, settings) + "/t/" + ids.percent_encode(text), m.group(2))


@router.get("/qr/t/{code}.svg", summary="追溯码二维码（SVG） / QR code of a trace code (SVG)",
            responses={200: _QR_OK, **_ERRORS}, response_class=Response)
async def qr_code_svg(request: Request, *, code: str = _CodeP, view: ViewDep,
                settings: SettingsDep) -> Response:
    return await store_call(request, _qr_code, request, view, settings)


@router.get("/qr/t/{code}.png", summary="追溯码二维码（PNG） / QR code of a trace code (PNG)",
            responses={200: _QR_OK, **_ERRORS}, response_class=Response)
async def qr_code_png(request: Request, *, code: str = _CodeP, view: ViewDep,
                settings: SettingsDep) -> Response:
    return await store_call(request, _qr_code, request, view, settings)


@router.get("/qr/01/{gtin}/10/{rest:path}", include_in_schema=False, response_class=Response)
async def qr_lot_encoded(request: Request, *, gtin: str, rest: str, view: ViewDep,
                   settings: SettingsDep) -> Response:
    """QR codes of lot numbers holding an encoded ``/`` (``%2F``): read from the raw path."""
    return await store_call(request, _qr_lot, request, view, settings)


@router.get("/qr/t/{rest:path}", include_in_schema=False, response_class=Response)
async def qr_code_encoded(request: Request, *, rest: str, view: ViewDep,
                    settings: SettingsDep) -> Response:
    """QR codes of trace codes holding an encoded ``/``: read from the raw path."""
    return await store_call(request, _qr_code, request, view, settings)
