"""Working days (工作日) in mainland China: the one place that knows holidays and adjusted working days.

Deadlines of 核查处置 and 投诉举报 are counted in working days. China moves working days onto weekends
around its public holidays (调休: a Saturday or Sunday worked to bridge a holiday), and the State
Council publishes each year's arrangement only in the November before. A hand-made list drifts, so the
calendar comes from the maintained package ``chinesecalendar`` (import name ``chinese_calendar``,
https://github.com/LKI/chinese-calendar, MIT; every year's State Council notice typed in, a release
each November), wrapped here so that nothing else imports it.

Outside the years the installed package covers (:func:`coverage`), Monday to Friday are counted as
working days and :func:`is_estimated` says so: a deadline that crosses into such a year is marked
estimated by the callers (:mod:`ontology.handling`), never silently wrong. Upgrading the package when a
new year's notice is out extends the coverage.

Counting follows the Chinese administrative rule for 期间 (期间开始的当日不计算在内): the day an event
happens is not counted, so "within 7 working days of 2026-02-13" is the 7th working day after it.

Examples
--------
>>> from datetime import date
>>> is_workday(date(2026, 2, 14)), is_workday(date(2026, 2, 16))   # an adjusted Saturday; Spring Festival
(True, False)
>>> add_workdays(date(2026, 2, 12), 3)   # Fri 13, Sat 14 (worked), then the holiday until Mon 23
datetime.date(2026, 2, 24)
>>> workdays_between(date(2026, 2, 12), date(2026, 2, 24))
3
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from .errors import InvalidRecord

__all__ = ["CALENDAR", "coverage", "is_workday", "is_estimated", "add_workdays", "workdays_between",
           "holiday_name"]

#: the calendar package this module wraps (reported with every deadline table)
CALENDAR = "chinesecalendar"


@lru_cache(maxsize=1)
def coverage() -> tuple[int, int]:
    """The first and last year whose official arrangement the installed calendar holds.

    >>> lo, hi = coverage(); lo <= 2025 <= hi
    True
    """
    from chinese_calendar import constants

    years = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
    return min(years), max(years)


def is_estimated(day: date) -> bool:
    """Whether ``day`` falls in a year the calendar does not cover (Monday to Friday assumed there)."""
    lo, hi = coverage()
    return not lo <= day.year <= hi


@lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    """Whether ``day`` is a working day: a weekday that is no public holiday, or an adjusted working day
    (调休上班). Outside :func:`coverage`: Monday to Friday."""
    if is_estimated(day):
        return day.weekday() < 5
    from chinese_calendar import is_workday as _is_workday

    return bool(_is_workday(day))


def holiday_name(day: date) -> str | None:
    """The English name of the public holiday ``day`` belongs to (e.g. ``Spring Festival``), else None.

    >>> holiday_name(date(2026, 2, 17)), holiday_name(date(2026, 2, 14))
    ('Spring Festival', None)
    """
    if is_estimated(day) or is_workday(day):
        return None
    from chinese_calendar import get_holiday_detail

    return get_holiday_detail(day)[1]


def add_workdays(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself not counted); ``n = 0`` gives ``start``.

    >>> add_workdays(date(2026, 9, 30), 1)   # National Day and Mid-Autumn: 1-7 October 2026
    datetime.date(2026, 10, 8)
    """
    if n < 0:
        raise InvalidRecord(f"a number of working days must be >= 0, not {n}")
    day = start
    left = n
    while left:
        day += timedelta(days=1)
        if is_workday(day):
            left -= 1
    return day


def workdays_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``).

    >>> workdays_between(date(2026, 2, 13), date(2026, 2, 14))
    1
    """
    n = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        n += is_workday(day)
    return n
