"""农村集体聚餐: registering a banquet and a chef, guidance visits, reminders and district statistics.

Pure functions over a read-only view: they build the records to write (the caller writes them) and read what
is stored. The rules (a banquet registered before it is held, a chef with a health-certificate date, what a
large banquet is) are those of :mod:`ontology.banquets`.

* :func:`new_banquet` gives the banquet's station (an operator of kind ``RuralBanquet``, so deliveries of its
  ingredients are traced to it and its guests can be an outbreak's cases) and its registration;
* :func:`reminders`: chefs whose health certificate has expired or expires within ``days``, large banquets
  (:data:`ontology.banquets.LARGE_GUESTS` guests or more) without a guidance visit, coming within ``days`` or
  already held;
* :func:`district_stats`: per district, banquets registered in a period against the census (摸底) counts of its
  months, guests, large banquets and how many were guided.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ontology.banquets import (STATION_KIND, banquet_id, check_banquet, check_chef, chef_id, guidance_id, is_large,
                               station_id)
from ontology.errors import InvalidRecord, NotFound
from ontology.records import Banquet, BanquetGuidance, Chef, Operator
from ontology.times import day_of, parse_day

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["new_banquet", "new_chef", "new_guidance", "reminders", "Reminder", "district_stats", "DistrictStats",
           "banquets_of"]


def new_chef(view: "ReadView", *, name: str, district: str, health_cert_expiry: str | None,
             health_cert_no: str | None = None, township: str | None = None, phone: str | None = None,
             trained: str | None = None, training: str | None = None, registered: str | None = None) -> Chef:
    """A chef for the register (refused without a health-certificate expiry day)."""
    if not name or not name.strip():
        raise InvalidRecord("a chef needs a name (姓名)")
    chef = Chef(id=chef_id(health_cert_no or name, district), name=name.strip(), district_id=district,
                township=township, phone=phone, health_cert_no=health_cert_no,
                health_cert_expiry=str(parse_day(health_cert_expiry, "health_cert_expiry")) if health_cert_expiry
                else None, trained=str(parse_day(trained, "trained")) if trained else None, training=training,
                registered=registered)
    check_chef(chef)
    return chef


def new_banquet(view: "ReadView", *, number: str, host: str, date: str, place: str, district: str, guests: int,
                registered: str, chef: str | None = None, host_phone: str | None = None, kind: str | None = None,
                township: str | None = None, tables: int | None = None, menu: str | None = None,
                sources: str | None = None, registered_by: str | None = None) -> list[Any]:
    """The station and the registration of a banquet, checked (:func:`ontology.banquets.check_banquet`) against
    the day it is registered; a number already registered is refused."""
    if not number or not number.strip():
        raise InvalidRecord("a banquet registration needs a number (报备编号)")
    bid = banquet_id(number)
    if view.get_many("banquet", [bid]):
        raise InvalidRecord(f"banquet {number} is already registered")
    chef_rec = None
    if chef:
        chef_rec = view.get_many("chef", [chef]).get(chef)
    b = Banquet(id=bid, number=number.strip(), station_id=station_id(number), host=host, host_phone=host_phone,
                kind=kind, date=date, place=place, district_id=district, township=township, guests=guests,
                tables=tables, chef_id=chef, menu=menu, sources=sources, registered=registered,
                registered_by=registered_by)
    check_banquet(b, registered_day=parse_day(day_of(registered), "registered"), chef=chef_rec)
    station = Operator(id=b.station_id, kind=STATION_KIND, name=f"{place}{kind or '集体聚餐'}（{number.strip()}）",
                       region_id=district, address=place)
    return [station, b]


def new_guidance(view: "ReadView", *, banquet: str, date: str, by: str, checked: str | None = None,
                 problems: str | None = None, rectified: bool | None = None, note: str | None = None
                 ) -> BanquetGuidance:
    """A guidance visit at a registered banquet (dated no later than the day after it)."""
    b = view.get_many("banquet", [banquet]).get(banquet)
    if b is None:
        raise NotFound(f"no banquet has the identifier {banquet!r}")
    if not by or not by.strip():
        raise InvalidRecord("a guidance visit names who gave it (指导人员)")
    day = parse_day(date, "date")
    if day > parse_day(b.date, "date") + dt.timedelta(days=1):
        raise InvalidRecord(f"guidance dated {day} comes after banquet {b.number} ({b.date})")
    return BanquetGuidance(id=guidance_id(banquet, str(day), by), banquet_id=banquet, date=str(day), by=by.strip(),
                           checked=checked, problems=problems, rectified=rectified, note=note)


def banquets_of(view: "ReadView", *, district: str | None = None, since: dt.date | None = None,
                until: dt.date | None = None) -> list[Banquet]:
    """Banquets of a district (all where None) held in [since, until], by day."""
    out = [b for b in view.scan("banquet", {"district_id": district} if district else None)
           if (since is None or b.date >= since.isoformat()) and (until is None or b.date <= until.isoformat())]
    return sorted(out, key=lambda b: (b.date or "", b.number or ""))


@dataclass(frozen=True)
class Reminder:
    """One thing to act on: ``kind`` is ``chef_certificate_expired``, ``chef_certificate_expiring`` or
    ``large_banquet_unguided``; ``due`` the day it concerns."""

    kind: str
    due: str
    district_id: str | None
    chef_id: str | None = None
    banquet_id: str | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def reminders(view: "ReadView", *, as_of: dt.date, days: int = 30, district: str | None = None) -> list[Reminder]:
    """Expired and expiring health certificates, and large banquets without guidance (coming within ``days`` of
    ``as_of``, or held already), soonest first."""
    if not 0 <= days <= 3660:
        raise InvalidRecord(f"days ahead must be between 0 and 3660, not {days}")
    horizon = as_of + dt.timedelta(days=days)
    out = []
    for c in view.scan("chef", {"district_id": district} if district else None):
        exp = parse_day(c.health_cert_expiry, "health_cert_expiry") if c.health_cert_expiry else None
        if exp is None:
            continue
        if exp < as_of:
            out.append(Reminder("chef_certificate_expired", str(exp), c.district_id, chef_id=c.id,
                                message=f"乡村厨师{c.name}的健康证已于{exp}过期，须重新办理后方可承办聚餐。"))
        elif exp <= horizon:
            out.append(Reminder("chef_certificate_expiring", str(exp), c.district_id, chef_id=c.id,
                                message=f"乡村厨师{c.name}的健康证将于{exp}到期（{(exp - as_of).days}天后）。"))
    banquets = [b for b in banquets_of(view, district=district, until=horizon) if is_large(b)]
    guided = {g.banquet_id for b in banquets for g in view.scan("banquet_guidance", {"banquet_id": b.id})}
    for b in banquets:
        if b.id in guided:
            continue
        held = b.date < as_of.isoformat()
        out.append(Reminder("large_banquet_unguided", b.date, b.district_id, banquet_id=b.id,
                            message=f"{b.date}{b.place}的集体聚餐（{b.guests}人，报备编号{b.number}）"
                                    f"{'已举办，未进行现场指导' if held else '尚未安排现场指导'}。"))
    return sorted(out, key=lambda r: (r.due, r.kind, r.chef_id or r.banquet_id or ""))


@dataclass(frozen=True)
class DistrictStats:
    district_id: str
    registered: int
    expected: int | None
    rate: float | None
    guests: int
    large: int
    large_guided: int
    guided: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def district_stats(view: "ReadView", *, since: dt.date, until: dt.date) -> list[DistrictStats]:
    """Per district: banquets held in [since, until] and registered, against the census counts of the months the
    period touches (give whole months), with guests, large banquets and guidance visits."""
    months = set()
    d = since.replace(day=1)
    while d <= until:
        months.add(d.strftime("%Y-%m"))
        d = (d + dt.timedelta(days=32)).replace(day=1)
    expected: dict[str, int] = {}
    for c in view.scan("banquet_census"):
        if c.month in months:
            expected[c.district_id] = expected.get(c.district_id, 0) + int(c.expected or 0)
    by: dict[str, list[Banquet]] = {}
    for b in banquets_of(view, since=since, until=until):
        by.setdefault(b.district_id, []).append(b)
    out = []
    for district in sorted(set(by) | set(expected)):
        bs = by.get(district, [])
        guided = {g.banquet_id for b in bs for g in view.scan("banquet_guidance", {"banquet_id": b.id})}
        exp = expected.get(district)
        out.append(DistrictStats(district, len(bs), exp, round(len(bs) / exp, 4) if exp else None,
                                 sum(b.guests or 0 for b in bs), sum(is_large(b) for b in bs),
                                 sum(is_large(b) and b.id in guided for b in bs), len(guided)))
    return out

