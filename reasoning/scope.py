"""Which districts a record falls under: what a district officer (区县局) may see and change.

A district officer sees and changes only the records of businesses in their district, in lists, entity pages,
exports and API answers alike; this module is the one reading of "in their district" that the console and the
service both apply:

* an operator: its district (a stall's market's where it names none: :func:`ontology.handling.district_of`);
* a sample: the district of the business sampled and of the producer it names;
* a lot: the districts of its producer and of every business that shipped or received it;
* a disposal case: the district in charge of it; a complaint: its business's district.

The city (:data:`ontology.handling.CITY`) stands for a business whose district is unknown.

Pure: reads through a :class:`graph.view.ReadView`.

>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Operator, Sample
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "d.db"))
>>> _ = s.write([Operator(id="a", kind="Supermarket", name="甲", region_id="urn:foodtrace:region:320602"),
...              Operator(id="b", kind="Producer", name="乙", region_id="urn:foodtrace:region:320685"),
...              Sample(id="s", plan="supervisory", sampled_id="a", producer_id="b", product_name="猪肉")])
>>> sorted(districts_of(ReadView(s), "sample", "s"))
['urn:foodtrace:region:320602', 'urn:foodtrace:region:320685']
>>> in_district(ReadView(s), "operator", "b", "urn:foodtrace:region:320602")
False
>>> s.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from ontology.errors import NotFound
from ontology.handling import district_of

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["operator_districts", "districts_of", "in_district"]


def operator_districts(view: "ReadView", operator_ids: Iterable[str]) -> dict[str, str]:
    """The district of each operator (its market's for a stall naming none; the city where unknown)."""
    ids = [i for i in dict.fromkeys(operator_ids) if i]
    ops = view.get_many("operator", ids)
    parents = {o.parent_id for o in ops.values() if o.parent_id and o.region_id is None} - set(ops)
    if parents:
        ops.update(view.get_many("operator", parents))
    return {i: district_of(ops, i) for i in ids}


def districts_of(view: "ReadView", table: str, record_id: str) -> frozenset[str]:
    """The districts record ``record_id`` of ``table`` falls under (:class:`NotFound` where there is none)."""
    if table == "operator":
        if not view.get_many("operator", [record_id]):
            raise NotFound(f"no operator has the identifier {record_id!r}")
        return frozenset(operator_districts(view, [record_id]).values())
    rec = view.get_many(table, [record_id]).get(record_id)
    if rec is None:
        raise NotFound(f"no {table.replace('_', ' ')} has the identifier {record_id!r}")
    if table == "disposal_case":
        return frozenset({rec.district_id})
    if table == "complaint":
        return frozenset(operator_districts(view, [rec.operator_id]).values())
    if table == "sample":
        return frozenset(operator_districts(view, [rec.sampled_id, rec.producer_id]).values())
    if table == "lot":
        holders = {rec.producer_id}
        for d in view.deliveries(lot_ids=[record_id]):
            holders.update((d.sender_id, d.receiver_id))
        return frozenset(operator_districts(view, holders).values())
    raise ValueError(f"no district rule for table {table!r}")


def in_district(view: "ReadView", table: str, record_id: str, district: str) -> bool:
    """Whether record ``record_id`` of ``table`` falls under ``district``."""
    return district in districts_of(view, table, record_id)
