"""Read-only views of a store for algorithms.

Algorithms never receive a store handle they could write with. They get one of:

* :class:`ReadView` - the store's read core behind a read-only façade. Traversals
  ask it one frontier at a time (:meth:`ReadView.deliveries` with a list of lot
  or station ids), so a server backend answers each step with one query.
* :class:`LotGraph` - an in-memory snapshot of the trace graph (deliveries and
  lot links, retracted events left out) with adjacency indexes, for algorithms
  that walk the whole network many times; :meth:`LotGraph.to_networkx` gives a
  networkx ``MultiDiGraph`` for everything networkx can do.

Examples
--------
>>> import tempfile, os
>>> from graph.store import open_store
>>> from ontology.records import Delivery, Transformation, TransformationItem
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "v.db"))
>>> _ = s.write([
...     Delivery(id="d1", lot_id="pig", sender_id="farm", receiver_id="abattoir",
...              time="2026-03-01T08:00:00+08:00", quantity=10, unit="H87"),
...     Transformation(id="t", station_id="abattoir", time="2026-03-01T12:00:00+08:00", kind="slaughter"),
...     TransformationItem(id="ti", transformation_id="t", lot_id="pig", role="input"),
...     TransformationItem(id="to", transformation_id="t", lot_id="carcass", role="output"),
...     Delivery(id="d2", lot_id="carcass", sender_id="abattoir", receiver_id="market",
...              time="2026-03-02T06:00:00+08:00", quantity=800, unit="KGM")])
>>> g = LotGraph.from_store(s)
>>> [d.id for d in g.deliveries_of("carcass")], g.outputs_of("pig")
(['d2'], ['carcass'])
>>> sorted(g.to_networkx().successors("farm"))
['abattoir']
>>> ReadView(s).deliveries(sender_ids=["abattoir"])[0].id
'd2'
>>> s.close()
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from ontology.records import Delivery, Record, TransformationItem

from .store import COLUMN_PAGE

if TYPE_CHECKING:
    import networkx as nx

    from .store import Store

__all__ = ["ReadView", "LotGraph"]


class ReadView:
    """The read methods of a store, and nothing that writes."""

    __slots__ = ("_store",)

    def __init__(self, store: "Store"):
        self._store = store

    def deliveries(self, *, lot_ids: Iterable[str] | None = None, sender_ids: Iterable[str] | None = None,
                   receiver_ids: Iterable[str] | None = None,
                   time_range: tuple[str, str] | None = None) -> list[Delivery]:
        """Deliveries of these lots / from these senders / to these receivers (retracted ones left out),
        optionally only those whose ship time as written sorts within ``time_range``."""
        return self._store.deliveries(lot_ids=lot_ids, sender_ids=sender_ids, receiver_ids=receiver_ids,
                                      time_range=time_range)

    def transformation_items(self, *, lot_ids: Iterable[str] | None = None,
                             transformation_ids: Iterable[str] | None = None) -> list[TransformationItem]:
        """Lot links touching these lots or belonging to these transformations."""
        return self._store.transformation_items(lot_ids=lot_ids, transformation_ids=transformation_ids)

    def get_many(self, table: str, ids: Iterable[str]) -> dict[str, Record]:
        return self._store.get_many(table, ids)

    def scan(self, table: str, where=None) -> Iterator[Record]:
        return self._store.scan(table, where)

    def counts(self) -> dict[str, int]:
        """Number of records per table."""
        return self._store.counts()

    def change_seq(self) -> int | None:
        """The store's change sequence (see :meth:`graph.store.Store.change_seq`)."""
        return self._store.change_seq()

    def last_batch(self) -> int | None:
        """The number of the store's latest write (see :meth:`graph.store.Store.last_batch`)."""
        return self._store.last_batch()

    def columns(self, table: str, fields: Sequence[str]) -> list[tuple[Any, ...]]:
        """The named fields of every record of ``table`` as tuples (see :meth:`graph.store.Store.columns`)."""
        return self._store.columns(table, fields)

    def column_pages(self, table: str, fields: Sequence[str],
                     page: int = COLUMN_PAGE) -> Iterator[list[tuple[Any, ...]]]:
        """:meth:`columns` page by page (see :meth:`graph.store.Store.column_pages`)."""
        return self._store.column_pages(table, fields, page)

    def live_column_pages(self, table: str, fields: Sequence[str],
                          page: int = COLUMN_PAGE) -> Iterator[list[tuple[Any, ...]]]:
        """:meth:`column_pages` without records read from retracted events (:meth:`graph.store.Store.live_column_pages`)."""
        return self._store.live_column_pages(table, fields, page)

    def resolve_many(self, identifiers: Iterable[str]) -> dict[str, str]:
        return self._store.resolve_many(identifiers)

    def aliases_of(self, ids: Iterable[str]) -> dict[str, list[str]]:
        return self._store.aliases_of(ids)

    def require(self, identifier: str, table: str | None = None, *, what: str | None = None) -> str:
        """The canonical id of an identifier in any form, else NotFound (:meth:`graph.store.Store.require_many`)."""
        return self._store.require(identifier, table, what=what)

    def require_many(self, identifiers: Iterable[str], table: str | None = None, *,
                     what: str | None = None) -> list[str]:
        """Canonical ids of identifiers in any form, in order (:meth:`graph.store.Store.require_many`)."""
        return self._store.require_many(identifiers, table, what=what)

    def retracted_events(self) -> set[str]:
        """Ids of events retracted by an error declaration."""
        return self._store.retracted_events()

    def retraction_days(self) -> dict[str, str]:
        """Retracted event id -> the day it was declared (see :meth:`graph.store.Store.retraction_days`)."""
        return self._store.retraction_days()

    def live(self, records: Iterable[Record], *, as_of: Any = None) -> Iterator[Record]:
        """The records not read from a retracted event (:meth:`graph.store.Store.live`)."""
        return self._store.live(records, as_of=as_of)

    def scan_live(self, table: str, where: Mapping[str, Any] | None = None, *, as_of: Any = None) -> Iterator[Record]:
        """:meth:`scan` without records read from retracted events (:meth:`graph.store.Store.live`)."""
        return self._store.scan_live(table, where, as_of=as_of)

    def latest_values(self, fields: Mapping[str, Iterable[str]]) -> dict[str, Any]:
        """The largest value written in each ``table.field`` (see :meth:`graph.store.Store.latest_values`)."""
        return self._store.latest_values(fields)


@dataclass
class LotGraph:
    """An in-memory snapshot of deliveries and lot links with adjacency indexes.

    Lot links go from each input lot of a transformation to each of its
    outputs; ``transformation_station`` and ``transformation_time`` say where
    and when.
    """

    deliveries: dict[str, Delivery] = field(default_factory=dict)
    by_lot: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_sender: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_receiver: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lot_outputs: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    lot_inputs: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    transformation_station: dict[str, str] = field(default_factory=dict)
    transformation_time: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_store(cls, store: "Store") -> "LotGraph":
        """Snapshot a store (one scan per table; retracted events left out)."""
        g = cls()
        for d in store.scan_live("delivery"):
            g._add_delivery(d)
        live = {t.id: t for t in store.scan_live("transformation")}
        items: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"input": [], "output": []})
        for it in store.scan("transformation_item"):
            if it.transformation_id in live and it.role in ("input", "output"):
                items[it.transformation_id][it.role].append(it.lot_id)
        for tid, io in items.items():
            g.transformation_station[tid] = live[tid].station_id
            g.transformation_time[tid] = live[tid].time
            for src in io["input"]:
                for dst in io["output"]:
                    g.lot_outputs[src].append((dst, tid))
                    g.lot_inputs[dst].append((src, tid))
        return g

    def _add_delivery(self, d: Delivery) -> None:
        self.deliveries[d.id] = d
        self.by_lot[d.lot_id].append(d.id)
        self.by_sender[d.sender_id].append(d.id)
        self.by_receiver[d.receiver_id].append(d.id)

    def deliveries_of(self, lot_id: str) -> list[Delivery]:
        """Deliveries carrying ``lot_id``, in time order."""
        return sorted((self.deliveries[i] for i in self.by_lot.get(lot_id, ())), key=lambda d: (d.time or "", d.id))

    def outputs_of(self, lot_id: str) -> list[str]:
        """Lots made from ``lot_id`` by a recorded transformation."""
        return sorted({dst for dst, _ in self.lot_outputs.get(lot_id, ())})

    def inputs_of(self, lot_id: str) -> list[str]:
        """Lots ``lot_id`` was made from."""
        return sorted({src for src, _ in self.lot_inputs.get(lot_id, ())})

    def to_networkx(self) -> "nx.MultiDiGraph":
        """Stations as nodes, one edge per delivery (key = delivery id, with lot, time and quantity)."""
        import networkx as nx

        g = nx.MultiDiGraph()
        for d in self.deliveries.values():
            g.add_edge(d.sender_id, d.receiver_id, key=d.id, lot=d.lot_id, time=d.time, quantity=d.quantity,
                       unit=d.unit)
        return g
