"""Times and days: one meaning for every module.

The rule
--------
* A **time without an offset** is Beijing time (UTC+8): the records come from
  Chinese businesses and bureaus, whose clocks and forms are in Beijing time.
  A time with an offset (``+08:00``, ``Z``, ``+00:00`` ...) means what it says.
* A **date** (``YYYY-MM-DD``) read as an instant is its midnight in Beijing
  (or its last second, ``end_of_day=True``, for an inclusive upper bound).
* The **day of** a record is its Beijing calendar day: ``2026-03-01T20:00:00Z``
  happened on 2026-03-02 in Nantong.
* A **sample** happened on its sampling day (``sampled_at``, else its announcement day), and its result
  is **known** from its announcement day (``announced``, else its sampling day where nothing is
  announced, as for a rapid test): a figure as of a day counts a sample known before it
  (:func:`known_day`), and places it in time by :func:`sample_day`.
* **"As of" a day** means before that day begins: a figure as of 2026-03-01
  uses records of 2026-02-28 and earlier. Without one, :func:`default_as_of`
  takes the day after the latest day any dated record of the store names
  (:data:`AS_OF_FIELDS`), or today in Beijing for a store without dates.

Every parse of a time or a day in foodtrace goes through this module; nothing
else defines UTC+8.

Examples
--------
>>> parse_instant("2026-03-01T08:00:00") == parse_instant("2026-03-01T00:00:00Z")
True
>>> day_of("2026-03-01T20:00:00Z"), day_of("2026-03-01"), day_of(None)
('2026-03-02', '2026-03-01', None)
>>> format_instant(epoch("2026-03-01T00:00:00Z"))
'2026-03-01T08:00:00+08:00'
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .errors import InvalidRecord

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BEIJING",
    "AS_OF_FIELDS",
    "parse_instant",
    "epoch",
    "format_instant",
    "utc_key",
    "local_naive",
    "display",
    "day_of",
    "days_of",
    "epochs",
    "parse_day",
    "now",
    "now_iso",
    "today",
    "default_as_of",
    "latest_day",
    "sample_day",
    "known_day",
]

#: China Standard Time, UTC+8 (no daylight saving since 1991)
BEIJING = timezone(timedelta(hours=8))

#: the dated fields that say how far a store's records reach: table -> fields (see :func:`default_as_of`)
AS_OF_FIELDS: Mapping[str, tuple[str, ...]] = {
    "sample": ("sampled_at", "announced", "disposal_done"),
    "inspection": ("date",),
    "case": ("opened",),
    "complaint": ("date",),
    "credit_record": ("start",),
    "delivery": ("time",),
}


def parse_instant(value: str | date | datetime | None, *, end_of_day: bool = False,
                  what: str = "time") -> datetime | None:
    """An ISO 8601 date or date-time as an aware datetime (no offset: Beijing time); None when empty.

    A date is its midnight in Beijing, or its last second with ``end_of_day``.

    >>> parse_instant("2026-03-01T08:00:00").isoformat()
    '2026-03-01T08:00:00+08:00'
    >>> parse_instant("2026-03-01", end_of_day=True).isoformat()
    '2026-03-01T23:59:59+08:00'
    >>> parse_instant("March", what="created")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidRecord: created: 'March' is not an ISO 8601 date or date-time
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        d = value
    elif isinstance(value, date):
        d = datetime(value.year, value.month, value.day)
        if end_of_day:
            d += timedelta(days=1, seconds=-1)
    else:
        text = str(value).strip()
        if not text:
            return None
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            d = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidRecord(f"{what}: {value!r} is not an ISO 8601 date or date-time") from None
        if len(text) == 10 and end_of_day:
            d += timedelta(days=1, seconds=-1)
    return d if d.tzinfo is not None else d.replace(tzinfo=BEIJING)


def epoch(value: str | date | datetime | None, *, end_of_day: bool = False) -> float | None:
    """An ISO 8601 date or date-time as epoch seconds (see :func:`parse_instant`); None when empty.

    >>> epoch("2026-03-01", end_of_day=True) - epoch("2026-03-01")
    86399.0
    """
    d = parse_instant(value, end_of_day=end_of_day)
    return None if d is None else d.timestamp()


def format_instant(t: float | datetime | None) -> str | None:
    """Epoch seconds or a datetime as ISO 8601 in Beijing time (None for None or an infinite time).

    >>> format_instant(0.0)
    '1970-01-01T08:00:00+08:00'
    """
    if t is None:
        return None
    if isinstance(t, datetime):
        return (t if t.tzinfo is not None else t.replace(tzinfo=BEIJING)).astimezone(BEIJING).isoformat()
    if math.isinf(t):
        return None
    return datetime.fromtimestamp(t, BEIJING).isoformat()


def utc_key(value: str) -> str:
    """A date-time as a fixed-width UTC instant string, for natural keys; as given if unparseable.

    >>> utc_key("2026-03-01 08:00:00") == utc_key("2026-03-01T00:00:00.000Z")
    True
    """
    try:
        d = parse_instant(value)
    except InvalidRecord:
        return str(value).strip()
    if d is None:
        return ""
    return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_naive(value: str | datetime | None) -> datetime | None:
    """A time as a naive datetime on the Beijing clock (what a spreadsheet shows); None when empty.

    >>> local_naive("2026-03-01T00:00:00Z")
    datetime.datetime(2026, 3, 1, 8, 0)
    """
    d = parse_instant(value)
    return None if d is None else d.astimezone(BEIJING).replace(tzinfo=None)


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def display(value: Any, *, seconds: bool = False) -> str:
    """A time as people read it on a page or a sheet: the Beijing clock, ``YYYY-MM-DD HH:MM`` (with seconds
    if asked); a date stays a date; '' for nothing; text that is no time, as written.

    >>> display("2026-02-28T17:00:00Z"), display("2026-03-01T09:30:15+08:00", seconds=True)
    ('2026-03-01 01:00', '2026-03-01 09:30:15')
    >>> display("2026-03-01"), display(None), display("不详")
    ('2026-03-01', '', '不详')
    """
    if value is None or value == "":
        return ""
    text = str(value).strip()
    if _DATE_ONLY.match(text):
        return text
    try:
        local = local_naive(text)
    except InvalidRecord:
        return text
    return "" if local is None else local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


@lru_cache(maxsize=1 << 16)
def _day_of_text(text: str) -> str | None:
    if len(text) == 10 or (len(text) > 10 and text[10] in "T " and text.endswith("+08:00")):
        head = text[:10]
        try:
            date.fromisoformat(head)
        except ValueError:
            return None
        return head
    try:
        d = parse_instant(text)
    except InvalidRecord:
        return None
    return None if d is None else d.astimezone(BEIJING).date().isoformat()


def day_of(value: str | date | datetime | None) -> str | None:
    """The Beijing calendar day (``YYYY-MM-DD``) of a date or date-time; None when empty or not a date.

    >>> day_of("2026-03-01T23:30:00+08:00"), day_of("2026-03-01T16:30:00+00:00"), day_of("no date")
    ('2026-03-01', '2026-03-02', None)
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=BEIJING)).astimezone(BEIJING) \
            .date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return _day_of_text(text) if text else None


def days_of(values: Iterable[Any]) -> "np.ndarray":
    """:func:`day_of` of many values at once, as ``datetime64[D]`` (NaT where empty or not a date).

    Dates and Beijing-time date-times (the loaders' own form) are sliced; other forms go through
    :func:`day_of` one by one.

    >>> days_of(["2026-03-01", "2026-03-01T20:00:00Z", "2026-03-01T23:00:00+08:00", None, "?"]).tolist()
    [datetime.date(2026, 3, 1), datetime.date(2026, 3, 2), datetime.date(2026, 3, 1), None, None]
    """
    import numpy as np
    import pandas as pd

    s = pd.Series(list(values), dtype=object)
    if not len(s):
        return np.array([], dtype="datetime64[D]")
    text = s.where(s.map(lambda v: isinstance(v, str)), None).str.strip()
    plain = text.str.len().eq(10) | (text.str.len().gt(10) & text.str.endswith("+08:00")
                                     & text.str.slice(10, 11).isin(["T", " "]))
    head = text.str.slice(0, 10).where(plain, None)
    other = s[~plain & s.notna()]
    if len(other):
        head = head.copy()
        head[other.index] = [day_of(v) for v in other]
    return pd.to_datetime(head, format="%Y-%m-%d", errors="coerce").to_numpy(dtype="datetime64[D]")


def epochs(values: Iterable[Any], *, end_of_day: bool = False) -> "np.ndarray":
    """:func:`epoch` of many values at once, as a float array (NaN where empty): Beijing-time date-times
    (the loaders' own form) and dates are parsed in bulk, other forms one by one. ``end_of_day``: a date
    is its last second.

    >>> e = epochs(["2026-03-01T08:00:00+08:00", "2026-03-01T00:00:00Z", "2026-03-01", None])
    >>> e[:3].tolist() == [epoch("2026-03-01T08:00:00+08:00"), epoch("2026-03-01T00:00:00Z"), epoch("2026-03-01")]
    True
    >>> math.isnan(e[3])
    True
    >>> float(epochs(["2026-03-01"], end_of_day=True)[0]) == epoch("2026-03-01", end_of_day=True)
    True
    """
    import numpy as np

    vals = values.tolist() if hasattr(values, "tolist") else list(values)
    out = np.full(len(vals), np.nan)
    fast_i = [i for i, v in enumerate(vals) if v.__class__ is str and (
        (len(v) == 25 and v[10] == "T" and v.endswith("+08:00")) or len(v) == 10)]
    if fast_i:
        local = np.array([vals[i][:19] for i in fast_i], dtype="datetime64[s]").astype(np.int64)
        out[np.array(fast_i)] = local - 8 * 3600   # a Beijing wall-clock time, as UTC epoch seconds
        if end_of_day:
            dates = np.array([len(vals[i]) == 10 for i in fast_i])
            out[np.array(fast_i)[dates]] += 86399
    done = set(fast_i)
    other_i = [i for i, v in enumerate(vals) if v is not None and v != "" and i not in done] \
        if len(fast_i) < len(vals) else []
    for i in other_i:
        t = epoch(vals[i], end_of_day=end_of_day)
        out[i] = np.nan if t is None else t
    return out


def parse_day(value: Any, what: str = "as_of") -> date:
    """A day from a date, a datetime (its Beijing day) or an ISO string, else :class:`InvalidRecord`.

    >>> parse_day("2026-03-01"), parse_day("2026-02-28T20:00:00Z")
    (datetime.date(2026, 3, 1), datetime.date(2026, 3, 1))
    >>> parse_day("2026-02-30", "--from")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidRecord: --from: '2026-02-30' is not a date (YYYY-MM-DD)
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if hasattr(value, "astype") and not isinstance(value, str):      # numpy datetime64
        value = str(value.astype("datetime64[D]"))
    day = day_of(value)
    if day is None:
        raise InvalidRecord(f"{what}: {value!r} is not a date (YYYY-MM-DD)")
    return date.fromisoformat(day)


def now() -> datetime:
    """The current time in Beijing, aware."""
    return datetime.now(BEIJING)


def now_iso(timespec: str = "microseconds") -> str:
    """The current time in Beijing as ISO 8601 with its offset."""
    return now().isoformat(timespec=timespec)


def today() -> date:
    """Today's date in Beijing (the machine's own zone does not matter)."""
    return now().date()


def latest_day(latest_values: Mapping[str, Any]) -> str | None:
    """The latest Beijing day among written dates or date-times (None and unreadable ones skipped).

    >>> latest_day({"sample.announced": "2026-03-05", "delivery.time": "2026-03-05T17:00:00Z", "case.opened": None})
    '2026-03-06'
    """
    days = [d for d in (day_of(v) for v in latest_values.values()) if d is not None]
    return max(days) if days else None


def default_as_of(view: Any) -> date:
    """The day after the latest day any dated record of the store names, today (Beijing) when none does.

    The dated records are those of :data:`AS_OF_FIELDS`: samples (taken, announced, disposal
    completed), inspections, cases opened, complaints, credit records and deliveries. ``view`` is a
    store or read view (its ``latest_values`` gives the largest value written in each field).
    """
    day = latest_day(view.latest_values(AS_OF_FIELDS))
    return today() if day is None else date.fromisoformat(day) + timedelta(days=1)


def sample_day(sample: Any) -> str | None:
    """The day a sample was taken (``sampled_at``, else ``announced``), where it sits in a period.

    >>> from types import SimpleNamespace as S
    >>> sample_day(S(sampled_at="2026-03-01", announced="2026-04-10")), known_day(S(sampled_at="2026-03-01",
    ...                                                                           announced="2026-04-10"))
    ('2026-03-01', '2026-04-10')
    """
    return day_of(getattr(sample, "sampled_at", None)) or day_of(getattr(sample, "announced", None))


def known_day(sample: Any) -> str | None:
    """The day a sample's result became known (``announced``, else ``sampled_at``): it counts as of a later day."""
    return day_of(getattr(sample, "announced", None)) or day_of(getattr(sample, "sampled_at", None))
