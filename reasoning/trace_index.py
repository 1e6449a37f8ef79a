"""An in-memory station / time index of the trace graph, for long-running processes.

A trace reads the store one frontier at a time (:mod:`reasoning.trace`): on the embedded store that costs
little, but a trace reaching a busy distributor reads months of its shipments and receipts, each record
built and its time parsed. A process that answers many traces - the API service, the outbreak ranking,
the benchmarks - builds a :class:`TraceIndex` once instead: every live delivery as arrays (lot, sender,
receiver, ship and arrival times, quantity, unit) ordered per lot, per sender by ship time and per
receiver by arrival time; every transformation and its lots; each lot's record, category and existence
time; each station's kind; the recorded pass-throughs and the holding windows learned from them. A
:class:`reasoning.trace.Tracer` built with an index reads nothing from the store during a trace but the
start and the records of the items it returns (tests compare its answers with the store's).

The index is a snapshot: rebuild it when the store changes (:meth:`TraceIndex.build` takes the store's
change sequence number; the service rebuilds when that moves). Building it reads each table once (the
deliveries a few columns at a time): about 15 s and 0.9 GB of process memory (besides the store's mapped
file) for the 1,000,000-delivery network.

Examples
--------
>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Delivery
>>> from reasoning.trace import Tracer
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "i.db"))
>>> _ = s.write([
...     Delivery(id="d1", lot_id="A", sender_id="farm", receiver_id="stall", time="2026-03-01T06:00:00+08:00"),
...     Delivery(id="d2", lot_id="A", sender_id="stall", receiver_id="shop", time="2026-03-01T09:00:00+08:00")])
>>> index = TraceIndex.build(ReadView(s))
>>> index.deliveries
2
>>> [d.id for d in Tracer(ReadView(s), index).trace("A", "down").deliveries]
['d1', 'd2']
>>> s.close()
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from ontology.errors import StoreError
from ontology.records import Delivery, Lot, Transformation, TransformationItem, record_fields

from .holding import HoldingWindows, PassThroughs, learn_windows, pass_throughs_of

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["TraceIndex"]

#: learned windows kept per index, one per as-of time (each about the size of the pass-throughs' times)
_LEARNED_KEPT = 16


def _own(x: Any) -> Any:
    """A string of its own (a copy), so a page of the read it came from can be freed."""
    return x.encode().decode() if isinstance(x, str) else x


def _csr(keys: np.ndarray, n: int, order: np.ndarray) -> np.ndarray:
    """Offsets of each key's run in ``order`` (keys sorted by ``order``)."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr


class TraceIndex:
    """Everything a trace asks of the store, held in memory (see the module docstring)."""

    def __init__(self) -> None:
        self.change_seq: int | None = None
        self.retracted: set[str] = set()
        self._lock = threading.Lock()
        self._learned: dict[float | None, HoldingWindows] = {}
        self._left: dict[tuple[str, str], float] = {}

    @property
    def deliveries(self) -> int:
        return len(self.d_id)

    @classmethod
    def build(cls, view: "ReadView", change_seq: int | None = None) -> "TraceIndex":
        """Read the store once (a few whole-table reads) and index it."""
        import pandas as pd

        from ontology.times import epochs

        ix = cls()
        ix.change_seq = change_seq
        ix.retracted = set(view.retracted_events())
        # the deliveries are read a few columns at a time (the same order each time) and kept as codes, numbers
        # and one packed array of ids, so a million rows of text are never held at once
        live = np.array([e is None or e not in ix.retracted for (e,) in view.columns("delivery", ["event_id"])],
                        dtype=bool)

        def column(*names: str) -> list[np.ndarray]:
            rows = view.columns("delivery", list(names))
            if len(rows) != len(live):
                raise StoreError("the deliveries changed while the trace index was read; build it again")
            out = [np.array(c, dtype=object)[live] for c in zip(*rows)]
            return out or [np.array([], dtype=object) for _ in names]

        (ids,) = column("id")
        ix.d_id = np.array([x.encode() for x in ids], dtype=bytes) if len(ids) else np.array([], dtype=bytes)
        n = len(ids)
        del ids
        t, rt = column("time", "received_time")
        ship = epochs(t)
        arr = epochs([r if r is not None else s for r, s in zip(rt.tolist(), t.tolist())])
        del t, rt
        q, u = column("quantity", "unit")
        ix.d_qty = np.array([np.nan if x is None else float(x) for x in q.tolist()], dtype=float)
        unit_codes, units = pd.factorize(pd.Series(u, dtype=object), use_na_sentinel=True)
        ix.d_unit, ix.units = unit_codes.astype(np.int16), [_own(x) for x in units]
        del q, u
        # lots and stations as codes (delivery lots first, then any other lot the records name)
        (lots,) = column("lot_id")
        lot_codes, lot_names = pd.factorize(pd.concat([pd.Series(lots, dtype=object),
                                                       pd.Series([r[0] for r in view.columns("lot", ["id"])],
                                                                 dtype=object)], ignore_index=True))
        ix.lot_names = [_own(x) for x in lot_names]
        del lots, lot_names
        snd, rcv = column("sender_id", "receiver_id")
        st_codes, st_names = pd.factorize(pd.concat([pd.Series(snd, dtype=object), pd.Series(rcv, dtype=object)],
                                                    ignore_index=True))
        ix.st_names = [_own(x) for x in st_names]
        del snd, rcv, st_names
        ix.lot_code = {x: i for i, x in enumerate(ix.lot_names)}
        ix.st_code = {x: i for i, x in enumerate(ix.st_names)}
        lot_rows = view.columns("lot", [f.name for f in record_fields(Lot)])
        products = dict(view.columns("product", ["id", "category"]))
        ix.d_lot = lot_codes[:n].astype(np.int64)
        ix.d_snd = st_codes[:n].astype(np.int64)
        ix.d_rcv = st_codes[n:].astype(np.int64)
        ix.d_ship, ix.d_arr = ship, arr
        ids = np.arange(n)
        # per lot in ship order, per sender in ship order, per receiver in arrival order (ids break ties)
        ix.by_lot = np.lexsort((ids, ship, ix.d_lot))
        ix.lot_ptr = _csr(ix.d_lot, len(ix.lot_names), ix.by_lot)
        ix.by_snd = np.lexsort((ids, ship, ix.d_snd))
        ix.snd_ptr = _csr(ix.d_snd, len(ix.st_names), ix.by_snd)
        ix.snd_ship = ship[ix.by_snd]
        ix.by_rcv = np.lexsort((ids, arr, ix.d_rcv))
        ix.rcv_ptr = _csr(ix.d_rcv, len(ix.st_names), ix.by_rcv)
        ix.rcv_arr = arr[ix.by_rcv]
        # lot records and categories
        ix.lots = {r[0]: Lot(*r) for r in lot_rows}
        ix.category = {lot: products.get(r.product_id) for lot, r in ix.lots.items()}
        ix.kind = dict(view.columns("operator", ["id", "kind"]))
        # transformations and their lots (retracted ones kept as None, as the store net does)
        ix.trans = {}
        ix.items_of_lot: dict[str, list[TransformationItem]] = defaultdict(list)
        trows = view.columns("transformation", [f.name for f in record_fields(Transformation)])
        items = [TransformationItem(*r) for r in view.columns("transformation_item",
                                                              [f.name for f in record_fields(TransformationItem)])]
        io: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for it in items:
            ix.items_of_lot[it.lot_id].append(it)
            if it.role == "input":
                io[it.transformation_id][0].append(it.lot_id)
            elif it.role == "output":
                io[it.transformation_id][1].append(it.lot_id)
        tr_times = {}
        for r in trows:
            t = Transformation(*r)
            if t.event_id is not None and t.event_id in ix.retracted:
                ix.trans[t.id] = None
            else:
                ins, outs = io.get(t.id, ([], []))
                ix.trans[t.id] = (t, sorted(set(ins)), sorted(set(outs)))
                tr_times[t.id] = t.time
        ix.items_of_lot = dict(ix.items_of_lot)
        ix.tr_time = dict(zip(tr_times, epochs(list(tr_times.values())).tolist()))
        # when each lot existed: its earliest record (the rule of reasoning.trace._Net._existence)
        ix.exist = ix._existence(view, epochs)
        ix._makers(pd)
        # recorded pass-throughs, for the holding windows
        made = [({ix.category.get(x) for x in ins}, {ix.category.get(x) for x in outs}, ix.tr_time[tid])
                for tid, v in ix.trans.items() if v is not None for _t, ins, outs in [v]]
        lots_arr = np.array(ix.lot_names, dtype=object)
        sts_arr = np.array(ix.st_names, dtype=object)
        ix.passes: PassThroughs = pass_throughs_of(
            lots_arr[ix.d_lot], sts_arr[ix.d_snd], sts_arr[ix.d_rcv], ship, arr, ix.category, ix.kind, made,
            frozenset(products.values()) | {None})
        return ix

    def _makers(self, pd: Any) -> None:
        """Per station, the lots it first shipped without a record of how it got them (no arrival there and
        no transformation there making them by that first shipment), ordered by that time."""
        first = (pd.DataFrame({"st": self.d_snd, "lot": self.d_lot, "fs": self.d_ship})
                 .groupby(["st", "lot"], sort=False)["fs"].min().reset_index())
        arrived = (pd.DataFrame({"st": self.d_rcv, "lot": self.d_lot, "fa": self.d_arr})
                   .groupby(["st", "lot"], sort=False)["fa"].min().reset_index())
        m = first.merge(arrived, on=["st", "lot"], how="left")
        made: dict[tuple[int, int], float] = {}
        for v in self.trans.values():
            if v is None:
                continue
            t, _ins, outs = v
            st = self.st_code.get(t.station_id)
            tt = self.tr_time.get(t.id)
            for lot in outs:
                c = self.lot_code.get(lot)
                if st is not None and c is not None and tt is not None and tt < made.get((st, c), math.inf):
                    made[(st, c)] = tt
        made_at = np.array([made.get(k, math.inf) for k in zip(m["st"].tolist(), m["lot"].tolist())]) \
            if made else np.full(len(m), math.inf)
        fa = m["fa"].to_numpy(dtype=float, na_value=math.inf)
        fs = m["fs"].to_numpy(dtype=float)
        keep = (fa > fs) & (made_at > fs)
        st, lot, fs = m["st"].to_numpy()[keep], m["lot"].to_numpy()[keep], fs[keep]
        rank = np.empty(len(self.lot_names), dtype=np.int64)   # lot names' order breaks ties, as the store net's
        rank[np.argsort(np.array(self.lot_names, dtype=object))] = np.arange(len(self.lot_names))
        order = np.lexsort((rank[lot], fs, st))
        self.mk_st, self.mk_lot, self.mk_fs = st[order], lot[order], fs[order]
        self.mk_ptr = _csr(self.mk_st, len(self.st_names), order)

    def makers(self, station: str, lo: float, hi: float) -> list[tuple[float, str]]:
        """The lots ``station`` first shipped between ``lo`` and ``hi`` without a record of how it got them,
        with that time, in time order (over every live delivery)."""
        c = self.st_code.get(station)
        if c is None:
            return []
        a, b = self.mk_ptr[c], self.mk_ptr[c + 1]
        times = self.mk_fs[a:b]
        i, j = a + np.searchsorted(times, lo, "left"), a + np.searchsorted(times, hi, "right")
        names = self.lot_names
        return [(t, names[k]) for t, k in zip(self.mk_fs[i:j].tolist(), self.mk_lot[i:j].tolist())]

    def _existence(self, view: "ReadView", epochs: Any) -> dict[str, float]:
        exist: dict[str, float] = {}
        first_ship = self.d_ship[self.by_lot[self.lot_ptr[:-1][self.lot_ptr[1:] > self.lot_ptr[:-1]]]]
        has = np.flatnonzero(self.lot_ptr[1:] > self.lot_ptr[:-1])
        for code, t in zip(has.tolist(), first_ship.tolist()):
            exist[self.lot_names[code]] = t
        for lot, its in self.items_of_lot.items():
            for it in its:
                t = self.tr_time.get(it.transformation_id)
                if t is not None and t < exist.get(lot, math.inf):
                    exist[lot] = t
        dated = [(lot, r.production_date) for lot, r in self.lots.items() if r.production_date]
        for (lot, _), t in zip(dated, epochs([d for _, d in dated], end_of_day=True).tolist()):
            if t < exist.get(lot, math.inf):
                exist[lot] = t
        with_event = {r.event_id: lot for lot, r in self.lots.items() if r.event_id}
        if with_event:
            ev = [(i, t) for i, t in view.columns("event", ["id", "time"]) if i in with_event and t
                  and i not in self.retracted]
            for (i, _), t in zip(ev, epochs([t for _, t in ev]).tolist()):
                lot = with_event[i]
                if t < exist.get(lot, math.inf):
                    exist[lot] = t
        sampled = [(lot, d) for lot, d in view.columns("sample", ["lot_id", "sampled_at"]) if lot and d]
        for (lot, _), t in zip(sampled, epochs([d for _, d in sampled], end_of_day=True).tolist()):
            if t < exist.get(lot, math.inf):
                exist[lot] = t
        return exist

    # what a trace asks ------------------------------------------------------------------------

    def holding(self, as_of: float | None) -> HoldingWindows:
        """Holding windows learned from the indexed pass-throughs as of ``as_of`` (cached)."""
        with self._lock:
            h = self._learned.pop(as_of, None)
            if h is None:
                h = learn_windows(self.passes, as_of=as_of)
                while len(self._learned) >= _LEARNED_KEPT:   # the least recently used as-of time goes
                    self._learned.pop(next(iter(self._learned)))
            self._learned[as_of] = h
            return h

    def delivery(self, i: int) -> Delivery:
        """Delivery ``i`` as a record holding what a trace needs (no times as text, tickets or codes: a
        trace reads the records of the deliveries it returns)."""
        q = self.d_qty[i]
        u = self.d_unit[i]
        return Delivery(id=self.d_id[i].decode(), lot_id=self.lot_names[self.d_lot[i]],
                        sender_id=self.st_names[self.d_snd[i]], receiver_id=self.st_names[self.d_rcv[i]],
                        quantity=None if q != q else float(q), unit=None if u < 0 else self.units[u])

    def unit(self, i: int) -> str | None:
        u = self.d_unit[i]
        return None if u < 0 else self.units[u]

    def of_lot(self, lot: str) -> np.ndarray:
        """Indices of the lot's deliveries in ship order."""
        c = self.lot_code.get(lot)
        if c is None:
            return self.by_lot[:0]
        return self.by_lot[self.lot_ptr[c]:self.lot_ptr[c + 1]]

    def shipped(self, station: str, lo: float, hi: float) -> np.ndarray:
        """Indices of the deliveries ``station`` shipped between ``lo`` and ``hi``, in ship order."""
        c = self.st_code.get(station)
        if c is None:
            return self.by_snd[:0]
        a, b = self.snd_ptr[c], self.snd_ptr[c + 1]
        times = self.snd_ship[a:b]
        return self.by_snd[a + np.searchsorted(times, lo, "left"):a + np.searchsorted(times, hi, "right")]

    def received(self, station: str, lo: float, hi: float) -> np.ndarray:
        """Indices of the deliveries that arrived at ``station`` between ``lo`` and ``hi``, in arrival order."""
        c = self.st_code.get(station)
        if c is None:
            return self.by_rcv[:0]
        a, b = self.rcv_ptr[c], self.rcv_ptr[c + 1]
        times = self.rcv_arr[a:b]
        return self.by_rcv[a + np.searchsorted(times, lo, "left"):a + np.searchsorted(times, hi, "right")]

    def left(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float]:
        """For (station, lot) pairs, the part of the lot received there that the records do not show leaving
        (the rule of reasoning.trace._Net.need_balance), cached."""
        out = {}
        for pair in pairs:
            v = self._left.get(pair)
            if v is None:
                v = self._left[pair] = self._left_now(*pair)
            out[pair] = v
        return out

    def _left_now(self, station: str, lot: str) -> float:
        flows: list[tuple[float | None, Any, int]] = []
        for i in self.of_lot(lot).tolist():
            q = self.d_qty[i]
            q = None if q != q else float(q)
            if self.st_names[self.d_rcv[i]] == station:
                flows.append((q, self.unit(i), 1))
            if self.st_names[self.d_snd[i]] == station:
                flows.append((q, self.unit(i), -1))
        for it in self.items_of_lot.get(lot, ()):
            t = self.trans.get(it.transformation_id)
            if it.role == "input" and t is not None and t[0].station_id == station:
                flows.append((it.quantity, it.unit, -1))
        return balance(flows)


def balance(flows: list[tuple[float | None, Any, int]]) -> float:
    """The part of what was received (+1 flows) that the records do not show leaving (-1 flows): by quantity
    where every flow carries a positive one in one unit, else 1 (nothing known to have left).

    >>> balance([(10.0, "KGM", 1), (4.0, "KGM", -1)]), balance([(10.0, "KGM", 1), (4.0, "H87", -1)])
    (0.6, 1.0)
    """
    received = [q for q, _u, sign in flows if sign > 0]
    if not received or not any(sign < 0 for _q, _u, sign in flows):
        return 1.0
    if any(q is None or q <= 0 for q, _u, _s in flows) or len({u for _q, u, _s in flows}) != 1:
        return 1.0
    total = math.fsum(received)  # type: ignore[arg-type]
    out = math.fsum(q for q, _u, sign in flows if sign < 0)  # type: ignore[misc]
    return max(0.0, total - out) / total
