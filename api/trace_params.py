"""Trace settings as people type them, shared by ``foodtrace trace`` and the service's trace endpoints.

Each parser raises :class:`ontology.errors.InvalidRecord` with a message naming the bad value (the
command line turns it into a usage error, the service into a 422 problem); :func:`kill_ids` raises
:class:`ontology.errors.NotFound` for an identifier that is no station or lot.

>>> parse_windows(["pork=5", "叶菜类=2"]) == {"pork": 5.0, "leafy_vegetable": 2.0}
True
>>> parse_windows(["pork"])
Traceback (most recent call last):
...
ontology.errors.InvalidRecord: 'pork': expected CATEGORY=DAYS, e.g. pork=5
>>> parse_bound("2026-03-01", end_of_day=True) - parse_bound("2026-03-01")
86399.0
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Iterable

from ontology.errors import InvalidRecord, NotFound
from reasoning.trace import HAZARDS

if TYPE_CHECKING:
    from graph.store import Store
    from graph.view import ReadView
    from reasoning.holding import PassThroughs
    from reasoning.trace import TraceOptions

__all__ = ["parse_windows", "parse_bound", "parse_cuts", "kill_ids", "trace_options", "HAZARD_CHOICES"]

#: the hazards a trace can be told to follow
HAZARD_CHOICES = HAZARDS

# times outside these years are typing mistakes (and overflow Python's datetime when shifted by an offset)
_MIN_YEAR, _MAX_YEAR = 1900, 2999


def parse_windows(values: Iterable[str]) -> dict[str, float]:
    """``CATEGORY=DAYS`` values as {category: days}; the category may be its key or its (Chinese or English) label."""
    from ontology.vocab import labels, lookup

    known = labels("category")
    out: dict[str, float] = {}
    for value in values:
        cat, sep, days = value.partition("=")
        cat = cat.strip()
        if not sep or not cat:
            raise InvalidRecord(f"{value!r}: expected CATEGORY=DAYS, e.g. pork=5")
        key = cat if cat in known else lookup("category", cat)
        if key not in known:
            raise InvalidRecord(f"{value!r}: unknown category {cat!r}; known: {', '.join(sorted(known))}")
        try:
            n = float(days)
        except ValueError:
            raise InvalidRecord(f"{value!r}: {days.strip()!r} is not a number of days") from None
        if not math.isfinite(n) or n < 0 or n > 36500:
            raise InvalidRecord(f"{value!r}: the days must be a number >= 0" + (" and <= 36500" if n > 36500 else ""))
        out[key] = n
    return out


def parse_bound(value: str | None, *, end_of_day: bool = False) -> float | None:
    """A date (2026-03-01) or ISO 8601 date-time as epoch seconds (Beijing time without an offset); None stays None.

    ``end_of_day``: a bare date means the last second of that day (an ``until`` bound).
    """
    from datetime import datetime

    from ontology.times import epoch

    if value is None:
        return None
    bad = InvalidRecord(f"{value!r} is not a date (2026-03-01) or an ISO 8601 date-time")
    try:
        t = epoch(value, end_of_day=end_of_day)
    except (InvalidRecord, ValueError, OverflowError):
        raise bad from None
    if t is None:
        raise bad
    try:
        year = datetime.fromtimestamp(t).year
    except (ValueError, OverflowError, OSError):
        raise bad from None
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise InvalidRecord(f"{value!r}: the year must be between {_MIN_YEAR} and {_MAX_YEAR}")
    return t


def kill_ids(view: "ReadView", idents: Iterable[str]) -> frozenset[str]:
    """Canonical ids of kill steps given in any identifier form (a station or a lot)."""
    idents = tuple(idents)
    found = view.resolve_many(idents)
    out = set()
    for ident in idents:
        cid = found.get(ident)
        if cid is None and ident and (view.get_many("operator", [ident]) or view.get_many("lot", [ident])
                                      or view.deliveries(lot_ids=[ident]) or view.deliveries(sender_ids=[ident])):
            cid = ident
        if cid is None:
            raise NotFound(f"--kill {ident}: no station or lot has this identifier")
        out.add(cid)
    return frozenset(out)


def parse_cuts(min_likelihood: float | None, max_inferred: int | str | None) -> tuple[float, int | None]:
    """``--min-likelihood`` (0 to 1; None: the default) and ``--max-inferred`` (a whole number >= 0, or
    ``none`` for no limit; None: the default) as a trace's cuts.

    >>> parse_cuts(None, None)
    (0.05, 2)
    >>> parse_cuts(0.2, "none"), parse_cuts(0, "1")
    ((0.2, None), (0.0, 1))
    >>> parse_cuts(1.5, None)
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidRecord: min_likelihood 1.5: a likelihood is between 0 and 1
    """
    from reasoning.trace import DEFAULT_MAX_INFERRED, DEFAULT_MIN_LIKELIHOOD

    m = DEFAULT_MIN_LIKELIHOOD if min_likelihood is None else float(min_likelihood)
    if not (math.isfinite(m) and 0 <= m <= 1):
        raise InvalidRecord(f"min_likelihood {min_likelihood}: a likelihood is between 0 and 1")
    if max_inferred is None:
        return m, DEFAULT_MAX_INFERRED
    if str(max_inferred).strip().lower() == "none":
        return m, None
    try:
        n = int(str(max_inferred).strip())
    except ValueError:
        raise InvalidRecord(f"max_inferred {max_inferred!r}: a whole number of inferred links (0 or more) or "
                            "'none'") from None
    if n < 0:
        raise InvalidRecord(f"max_inferred {n}: a whole number of inferred links (0 or more) or 'none'")
    return m, n


def trace_options(view: "ReadView", *, since: float | None = None, until: float | None = None,
                  windows: dict[str, float] | None = None, hazard: str | None = None, kills: Iterable[str] = (),
                  explicit_only: bool = False, min_likelihood: float | None = None,
                  max_inferred: int | str | None = None, fixed_windows: bool = False) -> "TraceOptions":
    """The :class:`reasoning.trace.TraceOptions` of ``foodtrace trace``'s options (already parsed times and windows).

    ``hazard`` None means unknown (a failed sample's hazard class is then taken by the trace itself).
    ``min_likelihood`` / ``max_inferred`` None: the defaults (:func:`parse_cuts`); ``fixed_windows``: the
    hand-set window table instead of windows learned from the records.
    """
    from reasoning.trace import TraceOptions

    if hazard is not None and hazard not in HAZARD_CHOICES:
        raise InvalidRecord(f"unknown hazard {hazard!r}; known: {', '.join(HAZARD_CHOICES)}")
    kills = tuple(kills)
    m, n = parse_cuts(min_likelihood, max_inferred)
    return TraceOptions(since=since, until=until, windows=windows or {}, hazard=hazard or "unknown",
                        kill=kill_ids(view, kills) if kills else frozenset(), infer=not explicit_only,
                        min_likelihood=m, max_inferred=n, learn_windows=not fixed_windows)


def kept_passes(store: "Store", view: "ReadView", options: "TraceOptions") -> "PassThroughs | None":
    """The store's pass-throughs as kept in the service database (:mod:`api.service.holding`: read from the
    store once per write), where a trace with ``options`` learns holding windows from them; else None."""
    if options.holding is not None or not options.learn_windows or not options.infer:
        return None
    from .service.holding import KeptPassThroughs
    from .settings import get_settings

    return KeptPassThroughs(get_settings().service_db).get(store, view)
