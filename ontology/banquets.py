"""农村集体聚餐: the rules a banquet registration and a chef's entry must keep, and their ids (one place for the
command line, the service and the templates).

* A banquet is registered (报备) before it is held: dated before the day it is registered is refused.
* It has at least one guest; a chef named must be in the register, with a health certificate valid on the day.
* A chef is entered with the expiry day of the health certificate (健康证): without it, refused.
* A banquet of :data:`LARGE_GUESTS` guests or more is a large one: it gets on-site guidance (现场指导).

>>> check_chef(Chef(id=chef_id("王师傅", "320684"), name="王师傅", district_id="urn:foodtrace:region:320684",
...                 health_cert_expiry=None))
Traceback (most recent call last):
...
ontology.errors.InvalidRecord: chef 王师傅: the expiry day of the health certificate (健康证有效期至) is required
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from .errors import InvalidRecord
from .records import Banquet, Chef
from .times import parse_day

__all__ = ["LARGE_GUESTS", "STATION_KIND", "check_banquet", "check_chef", "banquet_id", "station_id", "chef_id", "guidance_id",
           "census_id", "is_large"]

#: guests from which a rural banquet is a large one, to be guided on site (现场指导)
LARGE_GUESTS = 200
#: the operator kind of a banquet's station: a place of the trace graph, not a business (not counted as one)
STATION_KIND = "RuralBanquet"


def banquet_id(number: str) -> str:
    return f"urn:foodtrace:banquet:{number.strip()}"


def station_id(number: str) -> str:
    """The id of the banquet's station (an operator of kind RuralBanquet) in the trace graph."""
    return f"urn:foodtrace:operator:banquet:{number.strip()}"


def chef_id(key: str, district: str) -> str:
    """A chef's id from the register's key (a certificate or register number, else the name) and the district."""
    digest = hashlib.sha256(f"{district}\x1f{key.strip()}".encode()).hexdigest()[:16]
    return f"urn:foodtrace:chef:{digest}"


def guidance_id(banquet: str, day: str, by: str) -> str:
    digest = hashlib.sha256(f"{banquet}\x1f{day}\x1f{by.strip()}".encode()).hexdigest()[:16]
    return f"urn:foodtrace:banquet_guidance:{digest}"


def census_id(district: str, month: str) -> str:
    return f"urn:foodtrace:banquet_census:{district.rsplit(':', 1)[-1]}:{month}"


def is_large(b: Any) -> bool:
    return (b.guests or 0) >= LARGE_GUESTS


def check_chef(c: Chef) -> None:
    """Refuse a chef without the expiry day of the health certificate (or with one that is no date)."""
    if not c.health_cert_expiry:
        raise InvalidRecord(f"chef {c.name}: the expiry day of the health certificate (健康证有效期至) is required")
    parse_day(c.health_cert_expiry, "health_cert_expiry")


def check_banquet(b: Banquet, *, registered_day: dt.date, chef: Chef | None) -> None:
    """Refuse a registration dated before the day it is made, without guests, or naming a chef who is not in the
    register or whose health certificate has expired by the banquet's day."""
    day = parse_day(b.date, "date")
    if day.year >= 2200:
        raise InvalidRecord(f"banquet {b.number} is dated {day}: not a day a banquet is registered for")
    if day < registered_day:
        raise InvalidRecord(f"banquet {b.number} is dated {day}, before it is registered ({registered_day}): a "
                            "banquet is registered (报备) before it is held")
    if b.guests is None or b.guests < 1:
        raise InvalidRecord(f"banquet {b.number}: the number of guests (就餐人数) must be at least 1, not {b.guests}")
    if b.chef_id and chef is None:
        raise InvalidRecord(f"banquet {b.number}: the chef {b.chef_id} is not in the register")
    if chef is not None and chef.health_cert_expiry and parse_day(chef.health_cert_expiry, "health_cert_expiry") < day:
        raise InvalidRecord(f"banquet {b.number}: the chef {chef.name}'s health certificate expires on "
                            f"{chef.health_cert_expiry}, before the banquet ({day})")
