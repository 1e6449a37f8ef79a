"""Routes of 校园食品安全 (school supervisors): the alert list, a school supply list, webhook subscriptions.

* ``GET /schools/alerts`` (warnings): ``foodtrace schools alerts`` (a district officer: their district's);
* ``GET /schools/supply`` (profile): ``foodtrace schools supply --format json`` (a district officer: their
  district's schools); ``GET /schools/kitchens`` (indicators): ``foodtrace schools kitchens --format json``, the
  four 明厨亮灶 rates (records loaded by the kitchen templates, through ``foodtrace load`` or ``POST /uploads``);
* ``GET/POST /schools/subscriptions``, ``DELETE /schools/subscriptions/{id}``,
  ``GET /schools/subscriptions/{id}/deliveries`` (admin): webhook subscriptions (the secret is in the answer of
  the POST only) and their delivery log. A URL that is not http(s) is 422 and nothing is stored.

Each worker also runs the alert worker (:class:`api.school_alerts.AlertWorker`, setting ``school_alerts``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from ontology.errors import InvalidRecord
from ontology.handling import district_id
from ontology.records import to_dict
from ontology.times import parse_day

from ..webhooks import Webhooks
from .deps import ViewDep
from .security import district_scope, require
from .servicedb import ApiKey

__all__ = ["router"]

router = APIRouter(tags=["schools"])


def day_param(text: str, name: str) -> dt.date:
    """A day given as a query parameter of the school, banquet and event routes: a date of the years 1900-2199
    (a period around year 1 or 9999 would overflow the date arithmetic), else 422."""
    day = parse_day(text, name)
    if not 1900 <= day.year < 2200:
        raise InvalidRecord(f"{name} {day} is outside the years 1900-2199")
    return day


def _hooks(request: Request) -> Webhooks:
    return request.app.state.webhooks


def _district(key: ApiKey, text: str | None) -> str | None:
    return district_scope(key, district_id(text) if text else None)


@router.get("/schools/alerts", summary="校园预警 / school alerts, newest first")
def alerts(view: ViewDep, district: str | None = None, school: str | None = None,
           kind: Literal["failed_sample", "supplier_grade", "supplier_listed"] | None = None,
           since: str | None = None, key: ApiKey = Depends(require("warnings"))) -> list[dict[str, Any]]:
    from reasoning.schools import alerts_of

    found = alerts_of(view, district=_district(key, district), school=view.require(school, "operator")
                      if school else None, kind=kind, since=since)
    if key.role == "district":
        found = [a for a in found if a.district_id == key.district]
    return [to_dict(a) for a in found]


@router.get("/schools/supply", summary="学校食材进货 / lots the schools received, with their gaps")
def supply(view: ViewDep, from_: str = Query(..., alias="from"), to: str = Query(...),
           school: list[str] | None = Query(None), district: str | None = None, distributor: str | None = None,
           key: ApiKey = Depends(require("profile"))) -> list[dict[str, Any]]:
    from reasoning.schools import school_supply

    since, until = day_param(from_, "from"), day_param(to, "to")
    d = _district(key, district)
    rows = school_supply(view, school_ids=view.require_many(school, "operator") if school else None, district=d,
                         distributor=view.require(distributor, "operator") if distributor else None,
                         since=since, until=until)
    if key.role == "district":
        rows = [r for r in rows if r.district_id == key.district]
    return [r.to_dict() for r in rows]


@router.get("/schools/kitchens", summary="明厨亮灶四率 / the four canteen-monitoring rates")
def kitchens(view: ViewDep, from_: str = Query(..., alias="from"), to: str = Query(...), district: str | None = None,
             key: ApiKey = Depends(require("indicators"))) -> list[dict[str, Any]]:
    from reasoning.kitchens import kitchen_rates

    d = _district(key, district)
    return [r.to_dict() for r in kitchen_rates(view, since=day_param(from_, "from"), until=day_param(to, "to"),
                                               district=d)]


class SubscriptionIn(BaseModel):
    url: str = Field(..., description="http:// or https:// URL the alerts are POSTed to")
    kinds: list[Literal["failed_sample", "supplier_grade", "supplier_listed"]] = Field(default_factory=list)
    district: str | None = Field(None, description="Only alerts of this district's schools")
    name: str | None = Field(None, description="Who receives it")


@router.post("/schools/subscriptions", status_code=201, summary="订阅预警 / subscribe a webhook")
def subscribe(request: Request, body: SubscriptionIn, key: ApiKey = Depends(require("admin"))) -> dict[str, Any]:
    sub, secret = _hooks(request).subscribe(body.url, kinds=body.kinds, name=body.name, by=key.name or key.id,
                                            district=district_id(body.district) if body.district else None)
    return {**sub.to_dict(), "secret": secret}


@router.get("/schools/subscriptions", summary="预警订阅 / webhook subscriptions")
def subscriptions(request: Request, key: ApiKey = Depends(require("admin"))) -> list[dict[str, Any]]:
    return [s.to_dict() for s in _hooks(request).subscriptions()]


@router.delete("/schools/subscriptions/{sub_id}", status_code=204, summary="取消订阅 / end a subscription")
def unsubscribe(request: Request, sub_id: str, key: ApiKey = Depends(require("admin"))) -> None:
    _hooks(request).disable(sub_id)


@router.get("/schools/subscriptions/{sub_id}/deliveries", summary="推送记录 / delivery log of a subscription")
def deliveries(request: Request, sub_id: str, key: ApiKey = Depends(require("admin"))) -> list[dict[str, Any]]:
    hooks = _hooks(request)
    hooks.subscription(sub_id)
    return [d.to_dict() for d in hooks.deliveries(subscription_id=sub_id)]
