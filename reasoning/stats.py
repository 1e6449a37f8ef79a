"""What a store holds: counts per entity type, and operators and deliveries per district.

>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Delivery, Operator
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "s.db"))
>>> _ = s.write([Operator(id="f", kind="Farm", name="农场", region_id="urn:foodtrace:region:320612"),
...              Operator(id="m", kind="Stall", name="摊位", parent_id="f"),
...              Delivery(id="d", lot_id="l", sender_id="f", receiver_id="m", time="2026-03-01T08:00:00+08:00")])
>>> st = store_stats(ReadView(s))
>>> st["counts"]["operator"], st["districts"]["通州区"]
(2, {'operators': 2, 'deliveries_received': 1, 'by_kind': {'Farm': 1, 'Stall': 1}})
>>> s.close()
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ontology.vocab import labels

__all__ = ["store_stats", "UNKNOWN_DISTRICT"]

#: the district of an operator whose region (and whose parent's region) is not recorded
UNKNOWN_DISTRICT = "未知/unknown"


def store_stats(view: Any) -> dict[str, Any]:
    """Counts per entity type, the number of retracted events, and per district (Chinese name) the operators
    by kind and the deliveries received; a stall without a region counts in its market's district."""
    counts = view.counts()
    region_names = {f"urn:foodtrace:region:{k}" if not k.startswith("urn:") else k: v[0]
                    for k, v in labels("region").items()}
    op_region: dict[str, str | None] = {}
    parents: dict[str, str | None] = {}
    kinds: dict[str, str] = {}
    for op in view.scan("operator"):
        op_region[op.id] = op.region_id
        parents[op.id] = op.parent_id
        kinds[op.id] = op.kind
    for oid, reg in list(op_region.items()):
        if reg is None and parents.get(oid):
            op_region[oid] = op_region.get(parents[oid])  # type: ignore[arg-type]

    def district(reg: str | None) -> str:
        return region_names.get(reg or "", reg or UNKNOWN_DISTRICT)

    by_kind: Counter[tuple[str, str]] = Counter((district(op_region[o]), k) for o, k in kinds.items())
    deliveries: Counter[str] = Counter(district(op_region.get(d.receiver_id)) for d in view.scan("delivery"))
    districts: dict[str, dict[str, Any]] = {}
    for (name, kind), n in sorted(by_kind.items()):
        entry = districts.setdefault(name, {"operators": 0, "deliveries_received": 0, "by_kind": {}})
        entry["operators"] += n
        entry["by_kind"][kind] = n
    for name, n in deliveries.items():
        districts.setdefault(name, {"operators": 0, "deliveries_received": 0, "by_kind": {}})
        districts[name]["deliveries_received"] = n
    return {"counts": counts, "retracted_events": len(view.retracted_events()), "districts": districts}
