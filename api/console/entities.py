"""The console's look-up pages: the search box and the entity pages (operator 精准画像, lot, sample).

Each page reads through the functions the API and the commands use (:mod:`reasoning.search`,
:mod:`reasoning.profile`, :mod:`api.grades`), with the service's identifier resolver and audit
(:func:`api.service.security.audited_require`) and the district rule (:func:`api.service.security.check_district`):
a district officer finds and opens only records of their own district (403 for another's).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from ..service.deps import StoreDep, ViewDep
from ..service.security import MAX_ID, audit_entities, audited_require, check_district
from .web import PREFIX, Memo, Staff, render, staff

__all__ = ["router", "entity_url"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

_names = Memo(size=4)

_HOW = {"identifier": ("标识", "identifier"), "lot_number": ("批号", "lot number"), "trace_code": ("追溯码", "trace code"),
        "certificate": ("合格证明编号", "certificate number"), "ticket": ("票据号", "ticket number"),
        "ticket_issuer": ("开票单位", "ticket issuer"), "uscc": ("统一社会信用代码", "USCC"),
        "case_number": ("核查处置编号", "case number"), "name": ("名称", "name")}
_TABLE = {"operator": ("经营主体", "operator"), "lot": ("批次", "lot"), "sample": ("样品", "sample"),
          "delivery": ("交付", "delivery"), "disposal_case": ("核查处置", "disposal case"),
          "complaint": ("投诉举报", "complaint"), "product": ("产品", "product")}


def entity_url(table: str, record_id: str, *, lot_id: str | None = None, number: str | None = None) -> str | None:
    """The console page of a record (None: it has none)."""
    from urllib.parse import quote

    if table == "operator":
        return f"{PREFIX}/operators/{quote(record_id, safe='')}"
    if table == "lot" or (table == "delivery" and lot_id):
        return f"{PREFIX}/lots/{quote(lot_id or record_id, safe='')}"
    if table == "sample":
        return f"{PREFIX}/samples/{quote(record_id, safe='')}"
    if table == "disposal_case":
        return f"{PREFIX}/disposal/{quote(number or record_id.rsplit(':', 1)[-1], safe='')}"
    return None


def _search(request: Request, store: Any, view: Any, who: Staff, q: str) -> list[dict[str, Any]]:
    from reasoning.search import operator_names, search

    names = _names.get(store, ("names",), lambda: operator_names(view))
    hits = search(view, q, names=names, district=who.district)
    audit_entities(request, *(h.id for h in hits))
    return [{**h.to_dict(), "url": entity_url(h.table, h.id, lot_id=h.lot_id,
                                              number=h.label if h.table == "disposal_case" else None),
             "how_label": _HOW.get(h.how, (h.how, h.how)), "table_label": _TABLE.get(h.table, (h.table, h.table))}
            for h in hits]


@router.get("/")
def home(request: Request, store: StoreDep, view: ViewDep, q: str = Query("", max_length=MAX_ID),
         who: Staff = Depends(staff())) -> Response:
    hits = _search(request, store, view, who, q) if q.strip() else None
    if hits is not None and len(hits) == 1 and hits[0]["url"] and not request.headers.get("hx-request"):
        return RedirectResponse(hits[0]["url"], status_code=303)
    template = "search_results.html" if request.headers.get("hx-request") else "home.html"
    return render(request, template, who, q=q, hits=hits, title=None)


@router.get("/search")
def search_page(request: Request, store: StoreDep, view: ViewDep, q: str = Query("", max_length=MAX_ID),
                who: Staff = Depends(staff())) -> Response:
    hits = _search(request, store, view, who, q) if q.strip() else []
    template = "search_results.html" if request.headers.get("hx-request") else "home.html"
    return render(request, template, who, q=q, hits=hits)


@router.get("/operators/{operator_id:path}")
def operator_page(request: Request, operator_id: str, store: StoreDep, view: ViewDep,
                  who: Staff = Depends(staff("profile"))) -> Response:
    from reasoning.profile import operator_profile

    from ..grades import explanation, grade_history

    oid = audited_require(request, view, operator_id)
    check_district(who.key, view, "operator", oid)
    profile = operator_profile(view, oid, limit=50)
    grades = None
    if who.can("grades.read"):
        history = grade_history(store, oid)
        assessment, stamp = explanation(store, oid)
        grades = {"history": history, "explanation": assessment.to_dict(), "stamp": stamp}
    return render(request, "operator.html", who, p=profile, grades=grades, title=profile["operator"]["name"],
                  can_trace=who.can("trace"), can_override=who.can("grades.write"))


@router.get("/lots/{lot_id:path}")
def lot_page(request: Request, lot_id: str, view: ViewDep, who: Staff = Depends(staff("profile"))) -> Response:
    from reasoning.profile import lot_profile

    lid = audited_require(request, view, lot_id, "lot")
    check_district(who.key, view, "lot", lid)
    p = lot_profile(view, lid)
    product = p["product"] or {}
    return render(request, "lot.html", who, p=p, title=f"{product.get('name') or ''} {p['lot']['lot_number'] or ''}",
                  can_trace=who.can("trace"), can_recall=who.can("recall"))


@router.get("/samples/{sample_id:path}")
def sample_page(request: Request, sample_id: str, view: ViewDep, who: Staff = Depends(staff("profile"))) -> Response:
    from reasoning.profile import sample_profile

    sid = audited_require(request, view, sample_id, "sample")
    check_district(who.key, view, "sample", sid)
    p = sample_profile(view, sid)
    return render(request, "sample.html", who, p=p, title=p["sample"]["product_name"] or sid,
                  can_trace=who.can("trace"))
