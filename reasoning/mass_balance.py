"""Mass balance: stations that shipped more of a lot than they received or produced.

For every (station, lot) pair with an outflow, four figures in one unit:

* **received**: the quantities of the deliveries of the lot *into* the station;
* **produced**: what the station made of the lot. Two records describe the same
  thing: the lot's own quantity (``Lot.quantity``, where ``Lot.producer_id`` is the
  station) and the outputs of that lot of transformations at the station
  (``TransformationItem`` with role ``output``). When both exist the larger is
  taken (the lot record and the transformation event are two reports of one
  production; adding them would count it twice, and the smaller one is the likelier
  to be partial). When one of the two lacks its quantity, the other is used;
* **shipped**: the quantities of the deliveries of the lot *out of* the station;
* **used**: the inputs of that lot to transformations at the station.

A pair is a violation (``shipped_more_than_received``: an unrecorded source,
私屠滥宰 upstream, ticket fraud) when ``excess = shipped + used - (received +
produced)`` is above the tolerance ``max(relative * (received + produced),
absolute)`` (default 1 % and 0.5 units: the more lenient of the two, so that
rounding of small lots and weighing differences of large ones are not flagged).
``excess_ratio`` is the excess divided by ``received + produced``.

Totals can hide a violation: a distributor that received a lot three times and
each time shipped half as much again before the next delivery came in may still
balance in the end. So the check also runs **in time order** (``time_ordered``,
on by default): the pair is a violation as well when, at some moment, what had
left (deliveries out at their ship time, inputs at the transformation's time) ran
ahead of what had come in by then (deliveries in at *their* ship time, the
earliest moment the goods can have been there; transformation outputs at the
transformation's time; a lot record without a transformation from the
beginning) by more than ``max(relative * inflow so far, absolute)``. At one
instant inflows count first. The finding then carries ``peak_excess``,
``peak_ratio`` and ``peak_time``. The final moment is one of the moments, so this
never flags less than the totals.

Pairs that cannot be judged are listed apart, never as violations:

* ``incomplete``: a delivery or lot link of the pair has no quantity (or a quantity
  without a unit), or the station produced the lot but neither record says how much;
* ``unit_mismatch``: the pair's quantities come in several units that
  :func:`ontology.units.to_kg` cannot bring to kilograms (e.g. heads and kg);
  mass units (kg, g, t, 斤 ...) are converted to kilograms;
* ``no_source``: the station shipped or used the lot but neither received it, nor
  is its producer, nor made it by a recorded transformation. Useful (a lot appearing
  from nowhere) but noisy (a farm whose lots name no producer), so only reported on
  request (``include_unsourced``).

Only pairs with an outflow (a delivery out or a transformation input) are checked;
a lot that merely sits at a station cannot break the balance. Deliveries and
transformations read from retracted EPCIS events are left out, as
:meth:`graph.view.LotGraph.from_store` does.

**Slaughter yield** (私屠滥宰): a transformation of kind ``slaughter`` whose output
in kilograms (every output lot with a mass unit) is above the heads put in times a
plausible maximum per head for the input's product category is flagged
``illegal_slaughter``: the slaughterhouse sold more meat than the animals it
recorded can give. Defaults (:data:`MAX_KG_PER_HEAD`, configurable):

* ``live_pig`` 95 kg/head. China's National Bureau of Statistics reports, for 2023,
  57.94 million tonnes of pork from 726.62 million pigs slaughtered: 79.7 kg of
  carcass per head on average. A finishing pig of 120-130 kg live weight at a
  dressing percentage (屠宰率) of 72-75 % gives 86-98 kg of carcass, so 95 kg/head is
  a generous ceiling for the average of a lot; a lot of very heavy pigs can exceed
  it, hence configurable.
* ``live_poultry`` 3.5 kg/head. The 2023 national average is 25.63 million tonnes of
  poultry meat from 16.82 billion birds, about 1.5 kg/head; a white-feather broiler
  gives about 2 kg of eviscerated carcass, a Cherry Valley duck about 2.5 kg, a
  local goose (海门鹅, 扬州鹅) at 3.5-4.5 kg live weight about 3 kg. 3.5 kg/head covers
  every common bird.

The same tolerance applies (the flag needs ``kg_out - max_plausible_kg`` above
``max(relative * max_plausible_kg, absolute)``). A slaughter is checked only when
every input has a count quantity (heads: ``H87`` or ``EA``) and a category with a
limit, and at least one output has a mass quantity; by-product lots recorded as
outputs count towards the output, which is why the ceiling is generous.

Findings are sorted by excess ratio, largest first (then by peak ratio, then by ids).
Speed: one scan of deliveries, lots and lot links, then vectorised numpy/pandas; on the
1,000,000-delivery synthetic network about 17 s of CPU, two thirds of it reading the store.

Examples
--------
>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Delivery, Lot
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "mb.db"))
>>> _ = s.write([
...     Lot(id="L", product_id="p", producer_id="farm", quantity=100, unit="KGM"),
...     Delivery(id="d1", lot_id="L", sender_id="farm", receiver_id="market",
...              time="2026-03-01T08:00:00+08:00", quantity=100, unit="KGM"),
...     Delivery(id="d2", lot_id="L", sender_id="market", receiver_id="shop",
...              time="2026-03-02T08:00:00+08:00", quantity=150, unit="KGM")])
>>> rep = mass_balance(ReadView(s))
>>> [(f.kind, f.station_id, f.received, f.shipped, f.excess, f.excess_ratio) for f in rep.findings]
[('shipped_more_than_received', 'market', 100.0, 150.0, 50.0, 0.5)]
>>> rep.pairs_checked
2
>>> s.close()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol, Sequence

import numpy as np
import pandas as pd

from ontology.units import to_kg

__all__ = [
    "MAX_KG_PER_HEAD",
    "COUNT_UNITS",
    "Tolerance",
    "BalanceFinding",
    "YieldFinding",
    "MassBalanceReport",
    "mass_balance",
]

#: plausible maximum carcass/meat output per head, by the input lot's product category (see module docs)
MAX_KG_PER_HEAD: Mapping[str, float] = {"live_pig": 95.0, "live_poultry": 3.5}
#: unit codes that count heads
COUNT_UNITS = frozenset({"H87", "EA"})

_EPS = 1e-9


class _View(Protocol):  # the read methods used (graph.view.ReadView or a store)
    def scan(self, table: str, where: Any = None) -> Iterable[Any]: ...

    def scan_live(self, table: str, where: Any = None) -> Iterable[Any]: ...

    def live(self, records: Iterable[Any]) -> Iterable[Any]: ...

    def get_many(self, table: str, ids: Iterable[str]) -> dict[str, Any]: ...

    def deliveries(self, *, lot_ids: Any = None, sender_ids: Any = None, receiver_ids: Any = None) -> list[Any]: ...

    def transformation_items(self, *, lot_ids: Any = None, transformation_ids: Any = None) -> list[Any]: ...


@dataclass(frozen=True)
class Tolerance:
    """How far outflow may exceed inflow before it is flagged: ``max(relative * inflow, absolute)``.

    >>> Tolerance().slack(10), Tolerance().slack(1000)
    (0.5, 10.0)
    >>> Tolerance(relative=-1)
    Traceback (most recent call last):
    ...
    ValueError: tolerances must be >= 0 (relative -1, absolute 0.5)
    """

    relative: float = 0.01
    absolute: float = 0.5

    def __post_init__(self) -> None:
        if self.relative < 0 or self.absolute < 0:
            raise ValueError(f"tolerances must be >= 0 (relative {self.relative}, absolute {self.absolute})")

    def slack(self, inflow: float) -> float:
        return max(self.relative * inflow, self.absolute)


@dataclass(frozen=True)
class BalanceFinding:
    """The figures of one (station, lot) pair.

    ``kind`` is ``shipped_more_than_received``, ``incomplete``, ``unit_mismatch`` or
    ``no_source``. Quantities are in ``unit`` (kilograms when mass units were
    converted); for ``incomplete`` they are the sums of the known quantities, for
    ``unit_mismatch`` None. ``excess`` is ``shipped + used - received - produced`` and
    ``excess_ratio`` the excess over ``received + produced`` (None where nothing came in).
    For a violation, ``peak_excess`` is the most that outflow ran ahead of inflow at one
    moment (``peak_time``) in time order, and ``peak_ratio`` that over the inflow by then
    (None when nothing had come in yet); it is at least ``excess``.
    """

    kind: str
    station_id: str
    lot_id: str
    product_id: str | None = None
    unit: str | None = None
    received: float | None = None
    produced: float | None = None
    shipped: float | None = None
    used: float | None = None
    excess: float | None = None
    excess_ratio: float | None = None
    peak_excess: float | None = None
    peak_ratio: float | None = None
    peak_time: str | None = None
    deliveries_in: tuple[str, ...] = ()
    deliveries_out: tuple[str, ...] = ()
    transformations: tuple[str, ...] = ()
    note: str = ""

    @property
    def sort_key(self) -> tuple:
        peak = float("inf") if self.peak_ratio is None and self.peak_excess is not None else (self.peak_ratio or 0.0)
        return (*_sort_key(self.excess_ratio), -peak, self.station_id, self.lot_id)


@dataclass(frozen=True)
class YieldFinding:
    """A slaughter whose meat output is above what the heads put in can plausibly give."""

    kind: str
    station_id: str
    transformation_id: str
    time: str | None
    input_lot_ids: tuple[str, ...]
    output_lot_ids: tuple[str, ...]
    product_id: str | None
    categories: tuple[str, ...]
    heads_in: float
    kg_out: float
    max_plausible_kg: float
    excess: float
    excess_ratio: float
    note: str = ""

    @property
    def lot_id(self) -> str:
        """The first output lot (the lot whose quantity is implausible)."""
        return self.output_lot_ids[0] if self.output_lot_ids else ""

    @property
    def sort_key(self) -> tuple:
        return (*_sort_key(self.excess_ratio), 0.0, self.station_id, self.lot_id, self.transformation_id)


def _sort_key(ratio: float | None) -> tuple:
    return (ratio is None, -(ratio or 0.0))


@dataclass(frozen=True)
class MassBalanceReport:
    """What :func:`mass_balance` found.

    ``violations`` and ``slaughter`` are the flagged pairs and slaughters;
    :attr:`findings` merges them in report order. ``pairs_checked`` counts the
    (station, lot) pairs with an outflow that were looked at, ``slaughters_checked``
    the slaughters whose yield could be bounded.
    """

    violations: tuple[BalanceFinding, ...] = ()
    slaughter: tuple[YieldFinding, ...] = ()
    incomplete: tuple[BalanceFinding, ...] = ()
    unit_mismatch: tuple[BalanceFinding, ...] = ()
    no_source: tuple[BalanceFinding, ...] = ()
    pairs_checked: int = 0
    slaughters_checked: int = 0
    tolerance: Tolerance = field(default_factory=Tolerance)

    @property
    def findings(self) -> tuple[BalanceFinding | YieldFinding, ...]:
        """Violations and implausible slaughters, largest excess ratio first."""
        return tuple(sorted(self.violations + self.slaughter, key=lambda f: f.sort_key))


# -- reading --------------------------------------------------------------------------------

@dataclass
class _Data:
    deliveries: pd.DataFrame   # id, lot_id, sender_id, receiver_id, quantity, unit, time
    items: pd.DataFrame        # transformation_id, lot_id, role, quantity, unit, station_id, kind, time
    lots: pd.DataFrame         # id, product_id, producer_id, quantity, unit


_D_COLS = ["id", "lot_id", "sender_id", "receiver_id", "quantity", "unit", "time"]
_I_COLS = ["transformation_id", "lot_id", "role", "quantity", "unit", "station_id", "kind", "time"]
_L_COLS = ["id", "product_id", "producer_id", "quantity", "unit"]


def _read(view: _View, lot_ids: list[str] | None, station_ids: list[str] | None) -> _Data:
    if lot_ids is None and station_ids is None:
        dels: Iterable[Any] = view.scan_live("delivery")
        transformations = {t.id: t for t in view.scan_live("transformation")}
        items: Iterable[Any] = view.scan("transformation_item")
        lots: Iterable[Any] = view.scan("lot")
    else:
        if lot_ids is not None:
            dels = view.deliveries(lot_ids=lot_ids)
            tids = {it.transformation_id for it in view.transformation_items(lot_ids=lot_ids)}
        else:
            found = {d.id: d for d in view.deliveries(sender_ids=station_ids)}
            found.update((d.id, d) for d in view.deliveries(receiver_ids=station_ids))
            dels = list(found.values())
            tids = {t.id for s in station_ids for t in view.scan("transformation", {"station_id": s})}
        transformations = {t.id: t for t in view.live(view.get_many("transformation", tids).values())}
        # every item of these transformations: a slaughter's yield needs its inputs and outputs
        items = view.transformation_items(transformation_ids=sorted(transformations)) if transformations else []
        dels = list(dels)
        items = list(items)
        wanted = {d.lot_id for d in dels} | {it.lot_id for it in items}
        lots = view.get_many("lot", wanted).values() if wanted else []

    d_rows = [(d.id, d.lot_id, d.sender_id, d.receiver_id, d.quantity, d.unit, d.time) for d in dels]
    i_rows = []
    for it in items:
        t = transformations.get(it.transformation_id)
        if t is not None and it.role in ("input", "output"):
            i_rows.append((it.transformation_id, it.lot_id, it.role, it.quantity, it.unit, t.station_id, t.kind,
                           t.time))
    l_rows = [(lot.id, lot.product_id, lot.producer_id, lot.quantity, lot.unit) for lot in lots]
    return _Data(deliveries=pd.DataFrame.from_records(d_rows, columns=_D_COLS),
                 items=pd.DataFrame.from_records(i_rows, columns=_I_COLS),
                 lots=pd.DataFrame.from_records(l_rows, columns=_L_COLS))


# -- balance --------------------------------------------------------------------------------

_NONE_FOUND: dict[str, list[BalanceFinding]] = {"incomplete": [], "unit_mismatch": [], "no_source": []}


RECEIVED, SHIPPED, USED, MADE, LOT = range(5)
_FLOW_NAMES = ("received", "shipped", "used", "made", "lot")
_NO_TIME = np.iinfo(np.int64).min


@dataclass
class _Flows:
    """One row per quantity touching a (station, lot) pair, as codes into the name arrays."""

    station: np.ndarray      # codes into station_names (-1: none)
    lot: np.ndarray          # codes into lot_names
    flow: np.ndarray         # RECEIVED ... LOT
    qty: np.ndarray          # float, NaN when unknown
    unit: np.ndarray         # codes into unit_names (-1: none)
    when: np.ndarray         # UTC nanoseconds, _NO_TIME when unknown
    time: np.ndarray         # the time as written
    ref: np.ndarray          # delivery, transformation or lot id
    station_names: np.ndarray
    lot_names: np.ndarray
    unit_names: list[Any]


def _factorize(*parts: pd.Series) -> tuple[list[np.ndarray], np.ndarray]:
    """Codes of the values of several columns in one numbering (None: -1), and the values."""
    values = np.concatenate([p.to_numpy(dtype=object) for p in parts])
    codes, names = pd.factorize(values)
    bounds = np.cumsum([0] + [len(p) for p in parts])
    return [codes[bounds[i]:bounds[i + 1]] for i in range(len(parts))], np.asarray(names, dtype=object)


def _flows(data: _Data) -> _Flows:
    """Received and shipped (deliveries), used and made (lot links), lot (a producer's own lot record)."""
    d, it, lots = data.deliveries, data.items, data.lots
    ins, outs = it[(it["role"] == "input").to_numpy()], it[(it["role"] == "output").to_numpy()]
    own = lots[lots["producer_id"].notna().to_numpy()]
    (l_d, l_in, l_out, l_own), lot_names = _factorize(d["lot_id"], ins["lot_id"], outs["lot_id"], own["id"])
    (s_r, s_s, s_in, s_out, s_own), station_names = _factorize(
        d["receiver_id"], d["sender_id"], ins["station_id"], outs["station_id"], own["producer_id"])
    (u_d, u_in, u_out, u_own), unit_names = _factorize(d["unit"], ins["unit"], outs["unit"], own["unit"])
    w_d, w_in, w_out = _instants(d["time"]), _instants(ins["time"]), _instants(outs["time"])
    n_d, n_in, n_out, n_own = len(d), len(ins), len(outs), len(own)

    def qty(frame: pd.DataFrame) -> np.ndarray:
        return pd.to_numeric(frame["quantity"], errors="coerce").to_numpy(dtype=float)

    q_d = qty(d)
    return _Flows(
        station=np.concatenate([s_r, s_s, s_in, s_out, s_own]).astype(np.int64),
        lot=np.concatenate([l_d, l_d, l_in, l_out, l_own]).astype(np.int64),
        flow=np.repeat(np.arange(5, dtype=np.int8), [n_d, n_d, n_in, n_out, n_own]),
        qty=np.concatenate([q_d, q_d, qty(ins), qty(outs), qty(own)]),
        unit=np.concatenate([u_d, u_d, u_in, u_out, u_own]).astype(np.int64),
        when=np.concatenate([w_d, w_d, w_in, w_out, np.full(n_own, _NO_TIME, dtype=np.int64)]),
        time=np.concatenate([d["time"].to_numpy(dtype=object)] * 2 + [ins["time"].to_numpy(dtype=object),
                                                                    outs["time"].to_numpy(dtype=object),
                                                                    np.full(n_own, None, dtype=object)]),
        ref=np.concatenate([d["id"].to_numpy(dtype=object)] * 2 + [
            ins["transformation_id"].to_numpy(dtype=object), outs["transformation_id"].to_numpy(dtype=object),
            own["id"].to_numpy(dtype=object)]),
        station_names=station_names, lot_names=lot_names, unit_names=list(unit_names))


def _kg_factors(units: Iterable[Any]) -> dict[Any, float]:
    """Kilograms per unit for the mass units among ``units`` (others absent)."""
    out = {}
    for u in units:
        if isinstance(u, str) and u:
            k = to_kg(1.0, u)
            if k is not None:
                out[u] = k
    return out


def _instants(times: pd.Series) -> np.ndarray:
    """ISO 8601 times as UTC nanoseconds; unknown or unreadable times as the minimum int64."""
    if not len(times):
        return np.zeros(0, dtype=np.int64)
    t = pd.to_datetime(times.to_numpy(dtype=object), utc=True, errors="coerce", format="ISO8601")
    return t.tz_convert(None).astype("datetime64[ns]").to_numpy().view("i8")


def _peaks(pair: np.ndarray, is_in: np.ndarray, value: np.ndarray, when: np.ndarray, tol: Tolerance,
           n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Time-ordered stock of each pair: where outflow ran furthest ahead of inflow, beyond the tolerance.

    Inflows at unknown times count from the beginning, outflows at unknown times at the end; at one
    instant inflows come first. Returns per pair the margin (deficit minus slack, -inf for none), and
    the deficit, the inflow by then and the row of that moment.
    """
    margin = np.full(n, -np.inf)
    deficit = np.zeros(n)
    cum_in_at = np.zeros(n)
    row_at = np.full(n, -1, dtype=np.int64)
    if not len(pair):
        return margin, deficit, cum_in_at, row_at
    t = when.copy()
    t[(~is_in) & (t == np.iinfo(np.int64).min)] = np.iinfo(np.int64).max
    order = np.lexsort((~is_in, t, pair))
    p, inn, v = pair[order], is_in[order], value[order]
    grp = pd.Series(p)
    cin = pd.Series(np.where(inn, v, 0.0)).groupby(grp).cumsum().to_numpy()
    cout = pd.Series(np.where(inn, 0.0, v)).groupby(grp).cumsum().to_numpy()
    d = np.round(cout - cin, 6)
    m = np.where(inn, -np.inf, d - np.maximum(tol.relative * cin, tol.absolute))
    best = pd.Series(m).groupby(grp).idxmax()  # first row of the largest margin, per pair
    rows = best.to_numpy()
    pairs = best.index.to_numpy()
    margin[pairs] = m[rows]
    deficit[pairs] = d[rows]
    cum_in_at[pairs] = cin[rows]
    row_at[pairs] = order[rows]
    return margin, deficit, cum_in_at, row_at


def _balance(data: _Data, *, lot_ids: set[str] | None, station_ids: set[str] | None, tol: Tolerance,
             include_unsourced: bool, time_ordered: bool) -> tuple[list[BalanceFinding], dict[str, list[BalanceFinding]], int]:
    fl = _flows(data)

    def chosen(names: np.ndarray, wanted: set[str]) -> np.ndarray:  # per code, and False for -1
        return np.append(np.isin(names, list(wanted)), False)

    rows = (fl.station >= 0) & (fl.lot >= 0)
    if lot_ids is not None:
        rows &= chosen(fl.lot_names, lot_ids)[fl.lot]
    if station_ids is not None:
        rows &= chosen(fl.station_names, station_ids)[fl.station]
    # one integer code per (station, lot) pair; only pairs with an outflow are kept
    n_lots = max(len(fl.lot_names), 1)
    key = fl.station * n_lots + fl.lot
    all_pair, all_keys = pd.factorize(key)
    has_out = np.zeros(len(all_keys), dtype=bool)
    has_out[all_pair[rows & ((fl.flow == SHIPPED) | (fl.flow == USED))]] = True
    rows &= has_out[all_pair]
    if not rows.any():
        return [], {k: [] for k in _NONE_FOUND}, 0
    rows = np.flatnonzero(rows)
    pair, pair_keys = pd.factorize(key[rows])
    pair = np.asarray(pair, dtype=np.int64)
    n = len(pair_keys)
    flow, qty, u_code, when = fl.flow[rows], fl.qty[rows], fl.unit[rows], fl.when[rows]
    u_names = fl.unit_names

    def per_pair(mask: np.ndarray) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        out[pair[mask]] = True
        return out

    def total(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.bincount(pair[mask], weights=values[mask], minlength=n)

    is_in = (flow == RECEIVED) | (flow == MADE) | (flow == LOT)
    has_src = per_pair(is_in)
    # missing quantities: deliveries and inputs always count; the two production records stand in for each other
    empty_unit = np.array([not (isinstance(u, str) and u) for u in u_names] + [True])  # index -1: no unit
    complete_row = ~np.isnan(qty) & ~empty_unit[u_code]
    missing_plain = per_pair((flow <= USED) & ~complete_row)
    is_made, is_lot = flow == MADE, flow == LOT
    made_ok = per_pair(is_made) & ~per_pair(is_made & ~complete_row)
    lot_ok = per_pair(is_lot) & ~per_pair(is_lot & ~complete_row)
    prod_missing = (per_pair(is_made) | per_pair(is_lot)) & ~made_ok & ~lot_ok
    incomplete = missing_plain | prod_missing
    # rows that count: complete rows, except a production record standing aside for the other, complete one
    use = complete_row & ~(is_made & ~made_ok[pair]) & ~(is_lot & ~lot_ok[pair])

    # units: one unit per pair, else kilograms where every unit is a mass unit
    combos = np.unique(pair[use] * (len(u_names) + 1) + u_code[use])
    combo_pair, combo_unit = combos // (len(u_names) + 1), combos % (len(u_names) + 1)
    n_units = np.bincount(combo_pair, minlength=n)
    first_unit = np.full(n, None, dtype=object)
    first_unit[combo_pair[::-1]] = np.array(u_names + [None], dtype=object)[combo_unit[::-1]]
    kg = _kg_factors(u_names)
    factor = np.array([kg.get(u, np.nan) for u in u_names] + [np.nan])[u_code]
    mixed = n_units > 1
    mismatch = mixed & per_pair(use & np.isnan(factor))
    value = np.where(use, np.where(mixed[pair], qty * factor, qty), 0.0)
    value = np.nan_to_num(value)
    pair_unit = np.where(mixed, "KGM", first_unit)

    received, shipped, used = (total(flow == k, value) for k in (RECEIVED, SHIPPED, USED))
    made_total, lot_total = total(is_made, value), total(is_lot, value)
    produced = np.maximum(made_total, lot_total)
    inflow = received + produced
    excess = np.round(shipped + used - inflow, 6)
    judged = has_src & ~incomplete & ~mismatch
    margin_total = excess - np.maximum(tol.relative * inflow, tol.absolute)
    margin = np.where(judged, margin_total, -np.inf)
    peak_deficit, peak_in = excess.copy(), inflow.copy()
    peak_row = np.full(n, -1, dtype=np.int64)
    if time_ordered and judged.any():
        # the lot record counts what the transformation outputs do not already say, from the beginning
        tl_value = np.where(is_lot, np.maximum(lot_total - made_total, 0.0)[pair], value)
        sub = np.flatnonzero(judged[pair])
        m, d, cin, r = _peaks(pair[sub], is_in[sub], tl_value[sub], when[sub], tol, n)
        better = judged & (m >= margin)
        margin = np.where(better, m, margin)
        peak_deficit = np.where(better, d, peak_deficit)
        peak_in = np.where(better, cin, peak_in)
        peak_row = np.where(better & (r >= 0), rows[sub[np.maximum(r, 0)]], -1)
    violation = judged & (margin > _EPS)

    kind = np.full(n, "", dtype=object)
    kind[violation] = "shipped_more_than_received"
    kind[has_src & ~incomplete & mismatch] = "unit_mismatch"
    kind[has_src & incomplete] = "incomplete"
    if include_unsourced:
        kind[~has_src] = "no_source"
    flagged = np.flatnonzero(kind != "")
    if not len(flagged):
        return [], {k: [] for k in _NONE_FOUND}, n

    # evidence of the flagged pairs only
    sel = np.zeros(n, dtype=bool)
    sel[flagged] = True
    sel = sel[pair]
    refs: dict[tuple[int, int], list[str]] = {}
    missing_refs: dict[int, list[str]] = {}
    units_seen: dict[int, set[str]] = {}
    for p, f, ref, ok, u in zip(pair[sel].tolist(), flow[sel].tolist(), fl.ref[rows[sel]].tolist(),
                                complete_row[sel].tolist(), u_code[sel].tolist()):
        refs.setdefault((p, f), []).append(ref)
        if not ok and f <= USED:
            missing_refs.setdefault(p, []).append(f"{'transformation' if f == USED else 'delivery'} {ref}")
        if ok:
            units_seen.setdefault(p, set()).add(u_names[u])
    product = dict(zip(data.lots["id"].tolist(), data.lots["product_id"].tolist()))
    times = fl.time

    found: list[BalanceFinding] = []
    other: dict[str, list[BalanceFinding]] = {k: [] for k in _NONE_FOUND}
    for p in flagged.tolist():
        st, lot = fl.station_names[pair_keys[p] // n_lots], fl.lot_names[pair_keys[p] % n_lots]
        k = kind[p]
        note = ""
        figures: dict[str, Any] = {}
        if not mismatch[p]:
            src = float(inflow[p])
            figures = dict(unit=pair_unit[p], received=_r(received[p]), produced=_r(produced[p]),
                           shipped=_r(shipped[p]), used=_r(used[p]), excess=float(excess[p]),
                           excess_ratio=round(float(excess[p]) / src, 6) if src > 0 else None)
        if k == "shipped_more_than_received":
            pin = float(peak_in[p])
            figures.update(peak_excess=float(peak_deficit[p]),
                           peak_ratio=round(float(peak_deficit[p]) / pin, 6) if pin > 0 else None)
            if peak_row[p] >= 0:
                figures["peak_time"] = times[peak_row[p]]
                note = (f"by {times[peak_row[p]]} out {_r(peak_deficit[p] + pin):g} {pair_unit[p]}"
                        f" against {_r(pin):g} in")
            if mixed[p]:
                conv = "converted to kg from " + ", ".join(sorted(units_seen.get(p, ())))
                note = f"{conv}; {note}" if note else conv
        elif k == "unit_mismatch":
            note = "units " + ", ".join(sorted(units_seen.get(p, ()))) + " cannot be converted to one another"
        elif k == "incomplete":
            gaps = missing_refs.get(p, []) + (["production quantity (lot and transformation output)"]
                                              if prod_missing[p] else [])
            note = "no quantity: " + ", ".join(gaps[:5]) + (f" and {len(gaps) - 5} more" if len(gaps) > 5 else "")
        else:
            note = "neither received, produced nor made by a recorded transformation here"
        bf = BalanceFinding(
            kind=k, station_id=st, lot_id=lot, product_id=product.get(lot),
            deliveries_in=tuple(sorted(refs.get((p, RECEIVED), ()))),
            deliveries_out=tuple(sorted(refs.get((p, SHIPPED), ()))),
            transformations=tuple(sorted(set(refs.get((p, USED), ())) | set(refs.get((p, MADE), ())))),
            note=note, **figures)
        (found if k == "shipped_more_than_received" else other[k]).append(bf)
    found.sort(key=lambda b: b.sort_key)
    for v in other.values():
        v.sort(key=lambda b: b.sort_key)
    return found, other, n


def _r(x: float) -> float:
    return round(float(x), 6)


# -- slaughter yield --------------------------------------------------------------------------

def _yields(view: _View, data: _Data, *, lot_ids: set[str] | None, station_ids: set[str] | None, tol: Tolerance,
            max_kg_per_head: Mapping[str, float]) -> tuple[list[YieldFinding], int]:
    it = data.items
    sl = it[(it["kind"] == "slaughter").to_numpy()]
    groups: dict[str, dict[str, Any]] = {}
    for tid, lot, role, q, u, st, t in zip(*(sl[c].tolist() for c in ("transformation_id", "lot_id", "role",
                                                                      "quantity", "unit", "station_id", "time"))):
        g = groups.setdefault(tid, {"station": st, "time": t, "input": [], "output": []})
        g[role].append((lot, q, u))
    if station_ids is not None:
        groups = {k: g for k, g in groups.items() if g["station"] in station_ids}
    if lot_ids is not None:
        groups = {k: g for k, g in groups.items() if any(x[0] in lot_ids for x in g["input"] + g["output"])}
    if not groups:
        return [], 0
    lot_product = dict(zip(data.lots["id"].tolist(), data.lots["product_id"].tolist()))
    pids = {lot_product.get(x[0]) for g in groups.values() for x in g["input"]} - {None}
    category = {p.id: p.category for p in view.get_many("product", pids).values()} if pids else {}
    found: list[YieldFinding] = []
    checked = 0
    for tid in sorted(groups):
        g = groups[tid]
        if not g["input"] or not g["output"]:
            continue
        heads = 0.0
        limit = 0.0
        cats: list[str] = []
        ok = True
        for lot, q, u in g["input"]:
            cat = category.get(lot_product.get(lot))
            per_head = max_kg_per_head.get(cat) if cat else None
            if per_head is None or u not in COUNT_UNITS or q is None or q != q:
                ok = False
                break
            heads += float(q)
            limit += float(q) * per_head
            cats.append(cat)
        if not ok:
            continue
        kg_out = 0.0
        mass_outs = 0
        for lot, q, u in g["output"]:
            kg = to_kg(q, u) if (q is not None and q == q and isinstance(u, str) and u) else None
            if kg is not None:
                kg_out += kg
                mass_outs += 1
        if not mass_outs:
            continue
        checked += 1
        excess = round(kg_out - limit, 6)
        if excess <= tol.slack(limit) + _EPS:
            continue
        out_lots = tuple(sorted({x[0] for x in g["output"]}))
        found.append(YieldFinding(
            kind="illegal_slaughter", station_id=g["station"], transformation_id=tid, time=g["time"],
            input_lot_ids=tuple(sorted({x[0] for x in g["input"]})), output_lot_ids=out_lots,
            product_id=lot_product.get(out_lots[0]), categories=tuple(sorted(set(cats))), heads_in=_r(heads),
            kg_out=_r(kg_out), max_plausible_kg=_r(limit), excess=excess,
            excess_ratio=round(excess / limit, 6) if limit > 0 else 0.0,
            note=f"{_r(heads):g} head(s) x at most " + ", ".join(
                f"{max_kg_per_head[c]:g} kg ({c})" for c in sorted(set(cats)))))
    found.sort(key=lambda y: y.sort_key)
    return found, checked


# -- entry point ------------------------------------------------------------------------------

def mass_balance(view: _View, *, lot_ids: Sequence[str] | None = None, station_ids: Sequence[str] | None = None,
                 tolerance: Tolerance | None = None, max_kg_per_head: Mapping[str, float] | None = None,
                 include_unsourced: bool = False, time_ordered: bool = True) -> MassBalanceReport:
    """Check the mass balance of every (station, lot) pair and the yield of every slaughter.

    Parameters
    ----------
    view : graph.view.ReadView (or a store: only its read methods are used)
    lot_ids, station_ids : canonical ids; when given, only pairs (and slaughters) of these
        lots / at these stations are checked, and only their records are read.
    tolerance : :class:`Tolerance` (default 1 % and 0.5 units)
    max_kg_per_head : plausible maximum output per head by input category (default :data:`MAX_KG_PER_HEAD`)
    include_unsourced : also list ``no_source`` pairs
    time_ordered : also flag a pair whose outflow ran ahead of its inflow at some moment
        (beyond the tolerance), even if the totals balance in the end

    Returns
    -------
    MassBalanceReport
    """
    tol = tolerance or Tolerance()
    limits = dict(MAX_KG_PER_HEAD if max_kg_per_head is None else max_kg_per_head)
    lots = list(dict.fromkeys(lot_ids)) if lot_ids is not None else None
    stations = list(dict.fromkeys(station_ids)) if station_ids is not None else None
    data = _read(view, lots, stations)
    lot_set = set(lots) if lots is not None else None
    st_set = set(stations) if stations is not None else None
    violations, other, n_pairs = _balance(data, lot_ids=lot_set, station_ids=st_set, tol=tol,
                                          include_unsourced=include_unsourced, time_ordered=time_ordered)
    slaughter, n_sl = _yields(view, data, lot_ids=lot_set, station_ids=st_set, tol=tol, max_kg_per_head=limits)
    return MassBalanceReport(violations=tuple(violations), slaughter=tuple(slaughter),
                             incomplete=tuple(other["incomplete"]), unit_mismatch=tuple(other["unit_mismatch"]),
                             no_source=tuple(other["no_source"]), pairs_checked=n_pairs, slaughters_checked=n_sl,
                             tolerance=tol)
