"""Routes of 农村集体聚餐 (district officers, investigators, analysts), the same functions as ``foodtrace banquets``
(:mod:`reasoning.banquets`):

* ``GET /banquets`` (disposal.read): registered banquets (no host names or phones);
* ``POST /banquets`` (disposal.write): register one (报备) with its station; ``POST /banquets/chefs``: enter a chef;
  ``POST /banquets/{number}/guidance``: an on-site guidance visit. Bad input (a banquet dated in the past, a chef
  without a certificate date or with one expiring first ...) is 422 naming why, and nothing is written;
* ``GET /banquets/reminders`` (disposal.read), ``GET /banquets/stats`` (indicators).

A district officer's key acts on its own district only (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ontology.banquets import banquet_id, is_large
from ontology.errors import NotFound
from ontology.handling import district_id
from ontology.times import now_iso, today

from .deps import StoreDep, ViewDep
from .schools import day_param
from .security import district_scope, require
from .servicedb import ApiKey

__all__ = ["router"]

router = APIRouter(tags=["banquets"])


def _district(key: ApiKey, text: str | None) -> str | None:
    return district_scope(key, district_id(text) if text else None)


def _public(b: Any) -> dict[str, Any]:
    return {"id": b.id, "number": b.number, "date": b.date, "place": b.place, "district": b.district_id,
            "township": b.township, "kind": b.kind, "guests": b.guests, "tables": b.tables, "large": is_large(b),
            "chef": b.chef_id, "station": b.station_id, "menu": b.menu, "sources": b.sources,
            "registered": b.registered}


@router.get("/banquets", summary="农村集体聚餐报备 / registered banquets")
def list_banquets(view: ViewDep, district: str | None = None, from_: str | None = Query(None, alias="from"),
                  to: str | None = None, key: ApiKey = Depends(require("disposal.read"))) -> list[dict[str, Any]]:
    from reasoning.banquets import banquets_of

    rows = banquets_of(view, district=_district(key, district), since=day_param(from_, "from") if from_ else None,
                       until=day_param(to, "to") if to else None)
    return [_public(b) for b in rows]


class BanquetIn(BaseModel):
    number: str
    host: str
    date: str = Field(..., description="YYYY-MM-DD, today or later")
    place: str
    district: str
    guests: int = Field(..., ge=1, le=100_000)
    chef: str | None = None
    host_phone: str | None = None
    kind: str | None = None
    township: str | None = None
    tables: int | None = Field(None, ge=0, le=10_000)
    menu: str | None = None
    sources: str | None = None


@router.post("/banquets", status_code=201, summary="报备 / register a banquet")
def register(store: StoreDep, view: ViewDep, body: BanquetIn,
             key: ApiKey = Depends(require("disposal.write"))) -> dict[str, Any]:
    from reasoning.banquets import new_banquet

    district = _district(key, body.district)
    recs = new_banquet(view, number=body.number, host=body.host, date=body.date, place=body.place,
                       district=district or district_id(body.district), guests=body.guests,
                       registered=now_iso("seconds"), chef=body.chef, host_phone=body.host_phone, kind=body.kind,
                       township=body.township, tables=body.tables, menu=body.menu, sources=body.sources,
                       registered_by=key.name or key.id)
    store.write(recs)
    return _public(recs[-1])


class ChefIn(BaseModel):
    name: str
    district: str
    health_cert_expiry: str | None = Field(None, description="last day the health certificate is valid (required)")
    health_cert_no: str | None = None
    township: str | None = None
    phone: str | None = None
    trained: str | None = None
    training: str | None = None


@router.post("/banquets/chefs", status_code=201, summary="乡村厨师登记 / enter a chef in the register")
def chef(store: StoreDep, view: ViewDep, body: ChefIn, key: ApiKey = Depends(require("disposal.write"))
         ) -> dict[str, Any]:
    from reasoning.banquets import new_chef

    district = _district(key, body.district) or district_id(body.district)
    c = new_chef(view, name=body.name, district=district, health_cert_expiry=body.health_cert_expiry,
                 health_cert_no=body.health_cert_no, township=body.township, phone=body.phone, trained=body.trained,
                 training=body.training, registered=str(today()))
    store.write([c])
    return {"id": c.id, "district": c.district_id, "health_cert_expiry": c.health_cert_expiry}


class GuidanceIn(BaseModel):
    date: str
    checked: str | None = None
    problems: str | None = None
    rectified: bool | None = None
    note: str | None = None


@router.post("/banquets/{number}/guidance", status_code=201, summary="现场指导 / record a guidance visit")
def guidance(store: StoreDep, view: ViewDep, number: str, body: GuidanceIn,
             key: ApiKey = Depends(require("disposal.write"))) -> dict[str, Any]:
    from reasoning.banquets import new_guidance

    b = view.get_many("banquet", [banquet_id(number)]).get(banquet_id(number))
    if b is None:
        raise NotFound(f"no banquet is registered under {number!r}")
    district_scope(key, b.district_id)
    g = new_guidance(view, banquet=b.id, date=body.date, by=key.name or key.id, checked=body.checked,
                     problems=body.problems, rectified=body.rectified, note=body.note)
    store.write([g])
    return {"id": g.id, "banquet": b.id, "date": g.date, "by": g.by}


@router.get("/banquets/reminders", summary="提醒 / expiring certificates, unguided large banquets")
def reminders(view: ViewDep, as_of: str | None = None, days: int = Query(30, ge=0, le=3660),
              district: str | None = None,
              key: ApiKey = Depends(require("disposal.read"))) -> list[dict[str, Any]]:
    from reasoning.banquets import reminders as compute

    return [r.to_dict() for r in compute(view, as_of=day_param(as_of, "as_of") if as_of else today(), days=days,
                                         district=_district(key, district))]


@router.get("/banquets/stats", summary="报备统计 / registrations against the census, per district")
def stats(view: ViewDep, from_: str = Query(..., alias="from"), to: str = Query(...),
          key: ApiKey = Depends(require("indicators"))) -> list[dict[str, Any]]:
    from reasoning.banquets import district_stats

    rows = district_stats(view, since=day_param(from_, "from"), until=day_param(to, "to"))
    if key.role == "district":
        rows = [r for r in rows if r.district_id == key.district]
    return [r.to_dict() for r in rows]

