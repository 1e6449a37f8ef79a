"""Holding windows learned from the records: how long goods stay at a station before they leave.

A *pass-through* is a delivery of a lot out of a station that received the same lot before it: from
the lot's first arrival there to that shipment. Grouped by the food category of the lot and the kind
of station, and taking only those shipped by the as-of time (nothing looks ahead):

* the **window** of a group is a high quantile (:data:`QUANTILE`) of its pass-throughs, where it has at
  least :data:`MIN_SAMPLES` of them; else the quantile over every kind of station for the category;
  else none, and a trace falls back to its hand-set table (:data:`reasoning.trace.DEFAULT_WINDOWS`);
* the **survival** of a group at ``x`` seconds is the share of its pass-throughs longer than ``x``
  (smoothed: one more long one is counted, so it is never zero): the chance that goods which arrived
  ``x`` seconds ago are still at the station. A trace weighs what a station received by it when it
  shares out what a lot without a recorded source may be made of.

The same records say which categories of goods go into which: a held category may go into a lot of its
own category, or of a category some recorded transformation (by the as-of time) made out of it; a
category that no recorded transformation ever made may be made of anything (:meth:`HoldingWindows.allows`).

The windows follow the data: the generator's holding times are not read anywhere.

Examples
--------
>>> import numpy as np
>>> day = 86400.0
>>> p = PassThroughs(category=np.array(["pork"] * 40 + ["leafy_vegetable"] * 3, dtype=object),
...                  kind=np.array(["Stall"] * 40 + ["Stall"] * 3, dtype=object),
...                  seconds=np.array([day * (i % 4) / 2 for i in range(40)] + [day, day, day]),
...                  shipped=np.arange(43, dtype=float))
>>> h = learn_windows(p, min_samples=30)
>>> h.lookup("pork", "Stall").days, h.lookup("pork", "Stall").source, h.lookup("pork", "Stall").samples
(1.5, 'learned', 40)
>>> h.lookup("leafy_vegetable", "Stall") is None   # three pass-throughs are too few
True
>>> round(h.survival("pork", "Stall", 0.75 * day), 3)    # 20 of 40 were longer, plus the smoothing one
0.512
>>> learn_windows(p, as_of=9.0, min_samples=5).lookup("pork", "Stall").samples   # shipped by the as-of time
10
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from graph.store import COLUMN_PAGE

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["QUANTILE", "MIN_SAMPLES", "WindowUsed", "PassThroughs", "HoldingWindows", "pass_throughs",
           "pass_throughs_of", "learn_windows"]

#: the quantile of the recorded pass-through times a window takes
QUANTILE = 0.99
#: the fewest pass-throughs a window is learned from
MIN_SAMPLES = 30


@dataclass(frozen=True)
class WindowUsed:
    """A holding window a trace used: category of the held goods, kind of station, days, and where it came
    from (``option``: ``--window``; ``learned``: the records of that kind of station, with the number of
    pass-throughs behind it; ``learned_category``: the records of every kind of station; ``default``: the
    hand-set table)."""

    category: str | None
    kind: str | None
    days: float
    source: str
    samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "kind": self.kind, "days": self.days, "source": self.source,
                "samples": self.samples}


@dataclass(frozen=True)
class PassThroughs:
    """Recorded pass-throughs as plain arrays: category of the lot, kind of station, seconds from receipt to
    shipment, and when it was shipped (epoch seconds)."""

    category: np.ndarray
    kind: np.ndarray
    seconds: np.ndarray
    shipped: np.ndarray

    #: recorded transformations as (input category, output category, time) arrays (plain data too)
    made_in: np.ndarray | None = None
    made_out: np.ndarray | None = None
    made_at: np.ndarray | None = None
    #: every food category the store's products name (None included: a lot of unknown category)
    present: frozenset | None = None

    def __len__(self) -> int:
        return len(self.seconds)


def pass_throughs(view: "ReadView", page: int = COLUMN_PAGE) -> PassThroughs:
    """Every pass-through the store records (retracted deliveries left out), in a few whole-table reads.

    The deliveries are read page by page and each page is turned into numbers at once (lots and stations
    as integer codes, times as epoch seconds), so the memory it takes grows with the number of lots and
    stations, not with the deliveries' strings (ten million deliveries: about 0.3 GB of arrays)."""
    import pandas as pd

    from ontology.times import epochs

    retracted = view.retracted_events()
    lot_code: dict[Any, int] = {}
    station_code: dict[Any, int] = {}
    parts: list[tuple[np.ndarray, ...]] = []
    cols = ["lot_id", "sender_id", "receiver_id", "time", "received_time"]
    for rows in view.live_column_pages("delivery", cols, page):
        df = pd.DataFrame(rows, columns=cols)
        del rows
        ship = epochs(df["time"])
        arr = epochs(df["received_time"].where(df["received_time"].notna(), df["time"]))
        parts.append((_codes(df["lot_id"], lot_code), _codes(df["sender_id"], station_code),
                      _codes(df["receiver_id"], station_code), ship, arr))
    lot, sender, receiver, ship, arr = (np.concatenate([p[i] for p in parts]) if parts else np.array([])
                                        for i in range(5))
    category = dict(view.columns("product", ["id", "category"]))
    product = dict(view.columns("lot", ["id", "product_id"]))
    lot_category = {c: category.get(product.get(x)) for x, c in lot_code.items()}
    when = {tid: t for tid, t, ev in view.columns("transformation", ["id", "time", "event_id"])
            if ev is None or ev not in retracted}
    io: dict[str, tuple[set, set]] = {}
    for tid, x, role in view.columns("transformation_item", ["transformation_id", "lot_id", "role"]):
        if tid in when and role in ("input", "output"):
            io.setdefault(tid, (set(), set()))[role == "output"].add(category.get(product.get(x)))
    tids = list(io)
    made = [(*io[tid], t) for tid, t in zip(tids, epochs([when[tid] for tid in tids]).tolist())]
    kind = dict(view.columns("operator", ["id", "kind"]))
    station_kind = {c: kind.get(x) for x, c in station_code.items()}
    return pass_throughs_of(lot, sender, receiver, ship, arr, lot_category, station_kind, made,
                            frozenset(category.values()) | {None})


def _codes(values: Any, known: dict[Any, int]) -> np.ndarray:
    """Integer codes of ``values`` (a pandas Series), new values numbered on from ``known`` (which grows)."""
    import pandas as pd

    local, uniques = pd.factorize(values, use_na_sentinel=False)
    glob = np.fromiter((known.setdefault(u, len(known)) for u in uniques.tolist()), dtype=np.int64,
                       count=len(uniques))
    return glob[local].astype(np.int32) if len(glob) else np.zeros(len(local), dtype=np.int32)


def pass_throughs_of(lot: np.ndarray, sender: np.ndarray, receiver: np.ndarray, ship: np.ndarray, arr: np.ndarray,
                     lot_category: Any, station_kind: Any, made: list[tuple[set, set, float]],
                     present: frozenset | None = None) -> PassThroughs:
    """Pass-throughs of live deliveries given as arrays (lot, sender, receiver as any hashable keys; ship and
    arrival as epoch seconds), with each lot's category and each station's kind (mappings), and the
    recorded transformations as (input categories, output categories, time)."""
    import pandas as pd

    if not len(lot):
        empty = np.array([], dtype=object)
        return PassThroughs(empty, empty, np.array([]), np.array([]), present=present)
    inn = (pd.DataFrame({"station": receiver, "lot": lot, "arr": arr})
           .groupby(["station", "lot"], sort=False)["arr"].min().reset_index())
    out = pd.DataFrame({"station": sender, "lot": lot, "ship": ship})
    m = out.merge(inn, on=["station", "lot"], how="inner")
    m = m[m["ship"] >= m["arr"]]
    cats = np.array([lot_category.get(x) for x in m["lot"].tolist()], dtype=object)
    kinds = np.array([station_kind.get(x) for x in m["station"].tolist()], dtype=object)
    pairs = [(i, o, t) for ins, outs, t in made for i in ins for o in outs if i is not None and o is not None]
    return PassThroughs(cats, kinds, (m["ship"] - m["arr"]).to_numpy(dtype=float), m["ship"].to_numpy(dtype=float),
                        np.array([i for i, _o, _t in pairs], dtype=object),
                        np.array([o for _i, o, _t in pairs], dtype=object),
                        np.array([t for _i, _o, t in pairs], dtype=float), present)


class HoldingWindows:
    """Windows and survival learned per (category, kind of station), with the category over every kind as
    the fallback (see the module docstring). Build it with :func:`learn_windows`."""

    def __init__(self, groups: dict[tuple[Any, Any], np.ndarray], categories: dict[Any, np.ndarray], *,
                 quantile: float, min_samples: int, as_of: float | None,
                 made: dict[str, set[str]] | None = None, present: frozenset | None = None) -> None:
        self.quantile, self.min_samples, self.as_of = quantile, min_samples, as_of
        #: the categories the store names (None: not known), so a trace reads back no further than their windows
        self.present = present
        self._groups = groups          # sorted pass-through seconds, only groups with enough samples
        self._categories = categories
        self._made = made or {}        # output category -> the input categories recorded making it
        self._days: dict[tuple[Any, Any], float] = {}
        self._widest: dict[Any, float] = {}

    def _sorted(self, category: str | None, kind: str | None) -> tuple[np.ndarray | None, str]:
        a = self._groups.get((category, kind))
        if a is not None:
            return a, "learned"
        a = self._categories.get(category)
        if a is not None:
            return a, "learned_category"
        return None, "default"

    def lookup(self, category: str | None, kind: str | None) -> WindowUsed | None:
        """The learned window of goods of ``category`` at a station of ``kind`` (None: too few records)."""
        a, source = self._sorted(category, kind)
        if a is None:
            return None
        key = (category, kind if source == "learned" else None)
        days = self._days.get(key)
        if days is None:
            days = self._days[key] = float(np.quantile(a, self.quantile)) / 86400.0
        return WindowUsed(category, key[1], days, source, len(a))

    def survival(self, category: str | None, kind: str | None, seconds: float) -> float:
        """The chance goods of ``category`` that arrived ``seconds`` ago are still at a station of ``kind``
        (1 where nothing is learned)."""
        a, _ = self._sorted(category, kind)
        if a is None:
            return 1.0
        longer = len(a) - int(np.searchsorted(a, seconds, side="right"))
        return (longer + 1) / (len(a) + 1)

    def allows(self, held: str | None, made: str | None) -> bool:
        """Whether goods of category ``held`` may go into a lot of category ``made``: the same category, a
        category recorded transformations made out of it, or one they never made (unknown: anything)."""
        if held is None or made is None or held == made or made not in self._made:
            return True
        return held in self._made[made]

    def widest(self, kind: str | None) -> float:
        """The widest learned window (days) at a station of ``kind``, any category (0 where none)."""
        w = self._widest.get(kind)
        if w is None:
            days = [self.lookup(c, k).days for (c, k) in self._groups if k == kind]  # type: ignore[union-attr]
            days += [self.lookup(c, None).days for c in self._categories]  # type: ignore[union-attr]
            w = self._widest[kind] = max(days, default=0.0)
        return w

    def table(self) -> list[WindowUsed]:
        """Every learned window: per category and kind of station, then per category."""
        out = [self.lookup(c, k) for (c, k) in sorted(self._groups, key=lambda x: (str(x[0]), str(x[1])))]
        out += [self.lookup(c, None) for c in sorted(self._categories, key=str)]
        return [w for w in out if w is not None]


def learn_windows(p: PassThroughs, *, as_of: float | None = None, quantile: float = QUANTILE,
                  min_samples: int = MIN_SAMPLES) -> HoldingWindows:
    """Holding windows from recorded pass-throughs shipped by ``as_of`` (epoch seconds; None: all)."""
    if not 0 < quantile <= 1:
        raise ValueError(f"quantile must be in (0, 1], not {quantile}")
    keep = np.ones(len(p), dtype=bool) if as_of is None or math.isinf(as_of) else p.shipped <= as_of
    groups: dict[tuple[Any, Any], list[float]] = {}
    cats: dict[Any, list[np.ndarray]] = {}
    if keep.any():
        import pandas as pd

        df = pd.DataFrame({"c": p.category[keep], "k": p.kind[keep], "s": p.seconds[keep]})
        for (c, k), s in df.groupby(["c", "k"], dropna=False, sort=True)["s"]:
            c, k = (None if _missing(c) else c), (None if _missing(k) else k)
            v = s.to_numpy()
            cats.setdefault(c, []).append(v)
            if len(v) >= min_samples:
                groups[(c, k)] = np.sort(v)
    categories = {c: np.sort(np.concatenate(vs)) for c, vs in cats.items() if sum(len(v) for v in vs) >= min_samples}
    made: dict[str, set[str]] = {}
    if p.made_out is not None and len(p.made_out):
        ok = np.ones(len(p.made_out), dtype=bool) if as_of is None or math.isinf(as_of) else p.made_at <= as_of
        for i, o in zip(p.made_in[ok].tolist(), p.made_out[ok].tolist()):  # type: ignore[index]
            made.setdefault(o, set()).add(i)
    return HoldingWindows(groups, categories, quantile=quantile, min_samples=min_samples, as_of=as_of, made=made,
                          present=p.present)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))
