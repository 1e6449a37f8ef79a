"""重大活动食品安全保障: the rules a major event's entry must keep, and its id (one place for the command line, the
service, the templates and the generator).

* An event has a name, one of the four assurance :data:`LEVELS` (written as its key or its Chinese name), and a
  period whose last day is not before its first.

>>> level_of("省级"), level_of("municipal")
('provincial', 'municipal')
>>> check_event(" 2026南通马拉松 ", "municipal", "2026-10-20", "2026-10-19")
Traceback (most recent call last):
...
ontology.errors.InvalidRecord: the event ends (2026-10-19) before it starts (2026-10-20)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from .errors import InvalidRecord
from .times import parse_day

__all__ = ["LEVELS", "event_id", "level_of", "check_event"]

#: assurance levels with their Chinese names
LEVELS = {"national": "国家级", "provincial": "省级", "municipal": "市级", "district": "区级"}


def event_id(name: str, start: str) -> str:
    """The id of an event from its name and first day (entering it twice changes nothing)."""
    return "urn:foodtrace:major_event:" + hashlib.sha256(f"{name.strip()}\x1f{start}".encode()).hexdigest()[:16]


def level_of(text: str | None) -> str:
    """The level's key from its key or its Chinese name; anything else is refused."""
    t = (text or "").strip()
    for key, zh in LEVELS.items():
        if t in (key, zh):
            return key
    raise InvalidRecord(f"level {text!r} is not one of {', '.join(LEVELS)} ({'、'.join(LEVELS.values())})")


def check_event(name: str | None, level: str | None, start: Any, end: Any) -> tuple[str, str, dt.date, dt.date]:
    """(name stripped, level key, first day, last day), or :class:`InvalidRecord` naming what is wrong."""
    if not name or not name.strip():
        raise InvalidRecord("a major event needs a name (活动名称)")
    key = level_of(level)
    first, last = parse_day(start, "start"), parse_day(end, "end")
    if last < first:
        raise InvalidRecord(f"the event ends ({last}) before it starts ({first})")
    return name.strip(), key, first, last
