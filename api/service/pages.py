"""HTML pages for shoppers: the consumer page of a lot and friendly error pages.

Small mobile pages (Jinja2 templates in ``templates/``, inline CSS, no external assets), Chinese
first, English when the browser prefers it (``Accept-Language``) or ``?lang=en`` asks for it.
Every value is escaped (autoescape on). Content negotiation for the public routes lives here too:
:func:`negotiate` picks html, json, jsonld or linkset from ``?format=``, ``?linkType=all`` and
``Accept``; :func:`wants_page` tells :mod:`.problems` that an error should be a page.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from ontology import times

__all__ = ["wants_page", "error_page", "negotiate", "language", "render", "PAGE_PREFIXES", "TEXT", "TIME_FILTERS"]

#: the template filters of every page that shows a time: on the Beijing clock, whatever offset it was written with
TIME_FILTERS = {"minute": times.display, "second": lambda v: times.display(v, seconds=True)}

#: path prefixes of the public pages (the Digital Link resolver, trace codes, QR images)
PAGE_PREFIXES = ("/01/", "/t/", "/qr/")

_MEDIA = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/json": "json",
    "application/ld+json": "jsonld",
    "application/linkset+json": "linkset",
}
_FORMATS = {"html", "json", "jsonld", "linkset"}


def _accept(header: str) -> list[tuple[float, int, str]]:
    out = []
    for i, part in enumerate(header.split(",")):
        bits = [b.strip() for b in part.split(";")]
        media = bits[0].lower()
        q = 1.0
        for b in bits[1:]:
            if b[:2].lower() == "q=":
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        if media:
            out.append((q, i, media))
    return out


def negotiate(request: Request) -> str:
    """``html``, ``json``, ``jsonld`` or ``linkset`` for a public request.

    ``?format=`` wins, then ``?linkType=all`` (a linkset, as the GS1 Digital Link resolver standard
    says), then the best ``Accept`` media type; JSON when nothing matches (``*/*``, no header).
    """
    fmt = (request.query_params.get("format") or "").lower()
    if fmt in _FORMATS:
        return fmt
    if (request.query_params.get("linkType") or "").lower() == "all":
        return "linkset"
    best, best_key = "json", (-1.0, 0)
    for q, i, media in _accept(request.headers.get("accept", "")):
        kind = _MEDIA.get(media)
        if kind is None or q <= 0:
            continue
        key = (q, -i)
        if key > best_key:
            best, best_key = kind, key
    return best


def language(request: Request) -> str:
    """``zh`` or ``en``: ``?lang=`` first, then the preferred language of ``Accept-Language``."""
    lang = (request.query_params.get("lang") or "").lower()
    if lang in ("zh", "en"):
        return lang
    best, best_q = "zh", -1.0
    for q, _i, tag in _accept(request.headers.get("accept-language", "")):
        if tag.startswith("en") and q > best_q:
            best, best_q = "en", q
        elif tag.startswith("zh") and q > best_q:
            best, best_q = "zh", q
    return best


def wants_page(request: Request) -> bool:
    """Whether this request is a browser asking a public page (errors become friendly pages)."""
    return request.url.path.startswith(PAGE_PREFIXES) and negotiate(request) == "html"


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=PackageLoader("api.service", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(TIME_FILTERS)
    return env


#: the words of the pages, Chinese and English
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "食品追溯查询", "site": "南通市食品安全追溯", "product": "产品", "lot": "批次",
        "lot_number": "批号", "gtin": "商品条码", "category": "食品类别", "brand": "商标", "spec": "规格",
        "production_date": "生产日期", "expiry_date": "保质期至", "origin": "产地", "producer": "生产者",
        "sources": "来源", "certificates": "合格证明", "chain": "流通过程", "samples": "抽检结果",
        "notices": "通报", "number": "编号", "issuer": "出具", "issued": "日期", "upstream": "原料",
        "no_certificates": "未登记合格证明", "no_chain": "暂无流通记录", "no_samples": "暂无公开的抽检结果",
        "cert_yes": "附合格证明", "ticket_yes": "附票据", "cert_no": "无合格证明记录",
        "omitted": "更早的 {n} 个环节未显示", "disputed": "生产者对结果提出异议，核查中",
        "announcement": "公告", "items": "检验项目", "limit": "标准", "sampled_from": "抽样地点",
        "trace_code": "追溯码", "serial": "序列号", "lang_switch": "English", "lang_other": "en",
        "footer": "信息来自南通市食品安全追溯系统，个人信息已隐去。", "back": "返回",
        "error_title": "查询出错", "not_found": "未找到该批次或追溯码",
        "not_found_hint": "请核对二维码或追溯码，或向经营者索取合格证明。",
        "bad_request": "二维码内容有误", "bad_request_hint": "商品条码或批号格式不正确（例如校验位错误）。",
        "server_error": "服务暂时不可用", "server_error_hint": "请稍后再试。",
        "at": "于", "to": "至", "inputs": "原料", "outputs": "产品",
        "sold_on": "此后售往 {what}（经营者名称不公开）", "sold_on_sep": "、", "sold_on_item": "{n} 家{kind}",
    },
    "en": {
        "title": "Food trace lookup", "site": "Nantong food safety traceability", "product": "Product",
        "lot": "Lot", "lot_number": "Lot number", "gtin": "GTIN", "category": "Category", "brand": "Brand",
        "spec": "Specification", "production_date": "Production date", "expiry_date": "Expiry date",
        "origin": "Origin", "producer": "Producer", "sources": "Sourced from", "certificates": "Certificates",
        "chain": "Chain of custody", "samples": "Sampling results", "notices": "Notices", "number": "No.",
        "issuer": "Issued by", "issued": "Date", "upstream": "Ingredient",
        "no_certificates": "No certificate recorded", "no_chain": "No movements recorded",
        "no_samples": "No public sampling results", "cert_yes": "Certificate", "ticket_yes": "Invoice",
        "cert_no": "No certificate recorded", "omitted": "{n} earlier steps not shown",
        "disputed": "The producer disputes this result; under review", "announcement": "Announcement",
        "items": "Tested items", "limit": "limit", "sampled_from": "Sampled at", "trace_code": "Trace code",
        "serial": "Serial", "lang_switch": "中文", "lang_other": "zh",
        "footer": "From the Nantong food safety traceability system; personal data withheld.", "back": "Back",
        "error_title": "Lookup failed", "not_found": "No such lot or trace code",
        "not_found_hint": "Please check the QR code or trace code, or ask the seller for the certificate.",
        "bad_request": "The code is malformed", "bad_request_hint": "The GTIN or lot number is invalid (e.g. a wrong check digit).",
        "server_error": "Service unavailable", "server_error_hint": "Please try again later.",
        "at": "at", "to": "to", "inputs": "from", "outputs": "made",
        "sold_on": "Then sold to {what} (names not published)", "sold_on_sep": ", ", "sold_on_item": "{n} × {kind}",
    },
}


def render(template: str, lang: str, **context: Any) -> str:
    """Render a page template in ``lang`` (``zh`` or ``en``)."""
    return _env().get_template(template).render(lang=lang, t=TEXT[lang], **context)


def error_page(request: Request, status: int, detail: str | None) -> Response:
    """A friendly error page (Chinese, or English by ``Accept-Language``); the detail is escaped."""
    lang = language(request)
    t = TEXT[lang]
    if status == 404:
        heading, hint = t["not_found"], t["not_found_hint"]
    elif status < 500:
        heading, hint = t["bad_request"], t["bad_request_hint"]
    else:
        heading, hint = t["server_error"], t["server_error_hint"]
    body = render("error.html", lang, status=status, heading=heading, hint=hint,
                  detail=detail if status < 500 else None)
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store", "Vary": "Accept, Accept-Language"})
