"""One search box: whatever a person types (any identifier form, a name, a 统一社会信用代码, a ticket or trace code, a
lot, certificate or case number) and the records it names.

:func:`search` tries, in order: an identifier the store resolves (ids, aliases, GS1 keys and Digital Links, EPC
URNs, registered name forms), a lot number, a trace code, a certificate number, a ticket number (its deliveries,
found among its issuer's shipments), a 统一社会信用代码, a disposal case number, then operator names containing the
text (exact names first, then names starting with it). With ``district`` only records falling under that
district are kept (:mod:`reasoning.scope`).

Operator names are matched in memory: :func:`operator_names` reads them once, and a caller may keep that list
while the store does not change (the console does, per worker).

>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Lot, Operator
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "q.db"))
>>> _ = s.write([Operator(id="op1", kind="Restaurant", name="何记饭店"),
...              Lot(id="lot1", lot_number="P20261101", producer_id="op1")])
>>> [(h.table, h.id, h.how) for h in search(ReadView(s), "P20261101")]
[('lot', 'lot1', 'lot_number')]
>>> [(h.table, h.id, h.how) for h in search(ReadView(s), "饭店")]
[('operator', 'op1', 'name')]
>>> s.close()
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["Hit", "search", "operator_names", "ENTITY_TABLES"]

#: the tables whose records have a page of their own, in the order an identifier is looked up
ENTITY_TABLES = ("operator", "lot", "sample", "delivery", "disposal_case", "complaint", "product")


@dataclass(frozen=True)
class Hit:
    """A record the text names: its table and canonical id, a label, and how it was found."""

    table: str
    id: str
    label: str
    how: str
    detail: str | None = None
    lot_id: str | None = None  # the lot a delivery, trace code or certificate leads to

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def operator_names(view: "ReadView") -> list[tuple[str, str, str | None]]:
    """Every operator's (id, name, kind), for :func:`search`'s name matching."""
    return [(o.id, o.name or "", o.kind) for o in view.scan("operator")]


def _label(table: str, rec: Any) -> str:
    if table == "operator":
        return rec.name or rec.id
    if table == "lot":
        return rec.lot_number or rec.id
    if table == "sample":
        return " ".join(x for x in (rec.product_name, rec.sampled_at) if x) or rec.id
    if table in ("disposal_case",):
        return rec.number
    if table == "product":
        return rec.name or rec.id
    return rec.id


def search(view: "ReadView", text: str, *, names: Sequence[tuple[str, str, str | None]] | None = None,
           limit: int = 20, district: str | None = None) -> list[Hit]:
    """The records ``text`` names, best first (at most ``limit``)."""
    q = (text or "").strip()
    if not q or len(q) > 2000:
        return []
    hits: dict[tuple[str, str], Hit] = {}

    def add(h: Hit) -> None:
        hits.setdefault((h.table, h.id), h)

    canonical = view.resolve_many([q]).get(q)
    if canonical:
        for table in ENTITY_TABLES:
            rec = view.get_many(table, [canonical]).get(canonical)
            if rec is not None:
                lot = rec.lot_id if table == "delivery" else None
                add(Hit(table, canonical, _label(table, rec), "identifier", lot_id=lot))
                break
    for lot in view.scan("lot", {"lot_number": q}):
        add(Hit("lot", lot.id, _label("lot", lot), "lot_number"))
    for code in view.scan("trace_code", {"code": q}):
        if code.lot_id:
            add(Hit("lot", code.lot_id, q, "trace_code", lot_id=code.lot_id))
    for cert in view.scan("certificate", {"number": q}):
        if cert.lot_id:
            add(Hit("lot", cert.lot_id, q, "certificate", detail=cert.kind, lot_id=cert.lot_id))
    for ticket in view.scan("ticket", {"number": q}):
        shipped = view.deliveries(sender_ids=[ticket.issuer_id]) if ticket.issuer_id else []
        for d in shipped:
            if d.ticket_id == ticket.id:
                add(Hit("lot", d.lot_id, q, "ticket", detail=d.id, lot_id=d.lot_id))
        if ticket.issuer_id:
            add(Hit("operator", ticket.issuer_id, q, "ticket_issuer"))
    for op in view.scan("operator", {"uscc": q.upper()}):
        add(Hit("operator", op.id, _label("operator", op), "uscc"))
    for case in view.scan("disposal_case", {"number": q}):
        add(Hit("disposal_case", case.id, case.number, "case_number"))
    if len(hits) < limit:
        folded = q.casefold()
        ranked = []
        for oid, name, kind in (names if names is not None else operator_names(view)):
            n = name.casefold()
            if folded in n:
                ranked.append((0 if n == folded else 1 if n.startswith(folded) else 2, len(name), name, oid, kind))
        ranked.sort()
        for _r, _n, name, oid, kind in ranked[: limit * 4]:
            add(Hit("operator", oid, name, "name", detail=kind))
    out = list(hits.values())
    if district is not None:
        from .scope import districts_of

        scoped = ("operator", "lot", "sample", "disposal_case", "complaint")
        out = [h for h in out if (h.table in scoped or h.table == "delivery") and district in districts_of(
            view, "lot" if h.table == "delivery" else h.table, h.lot_id if h.table == "delivery" else h.id)]
    return out[:limit]
