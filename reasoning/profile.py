"""An operator's profile (精准画像) for investigators and the credit team.

Everything the store holds about one operator, read in a few queries: its registration and licence
(licence number and date, kind, scale, main category, HACCP), inspections, samples taken from it or
naming it as producer or brand owner (with their test results), cases, complaints, credit records, its
grade in effect (:func:`reasoning.assessments.effective_grades`: the latest assessment, an override in
force wins), how many deliveries it shipped and received, and its suppliers and buyers (``partners``: the
businesses it received from and shipped to, most deliveries first). Lists are newest first and cut to
``limit`` items; ``counts`` always count everything.

Staff-only: the profile carries contact persons and phone numbers and unpublished grades.

Pure: reads through a :class:`graph.view.ReadView`.

>>> import tempfile, os
>>> from graph.store import open_store
>>> from graph.view import ReadView
>>> from ontology.records import Inspection, Operator
>>> s = open_store(os.path.join(tempfile.mkdtemp(), "p.db"))
>>> _ = s.write([Operator(id="op", kind="Restaurant", name="甲餐馆", licence_no="JY1", scale="small"),
...              Inspection(id="i1", operator_id="op", date="2026-03-01", result="fail"),
...              Inspection(id="i2", operator_id="op", date="2026-05-01", result="pass")])
>>> p = operator_profile(ReadView(s), "op", limit=1)
>>> p["licence"]["licence_no"], p["counts"]["inspections"], p["counts"]["inspections_failed"]
('JY1', 2, 1)
>>> [i["id"] for i in p["inspections"]]
['i2']
>>> s.close()
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Iterable

from ontology.errors import NotFound

if TYPE_CHECKING:
    from graph.view import ReadView

__all__ = ["operator_profile", "lot_profile", "sample_profile", "PROFILE_SECTIONS"]

#: the listed sections of a profile, in order
PROFILE_SECTIONS = ("inspections", "samples", "cases", "complaints", "credit_records")

_LICENCE_FIELDS = ("licence_no", "licence_date", "kind", "scale", "category", "haccp")
_DATE_OF = {"inspection": "date", "sample": "sampled_at", "case": "opened", "complaint": "date",
            "credit_record": "start"}


def _plain(record: Any) -> dict[str, Any]:
    return asdict(record)


def _newest_first(records: Iterable[Any], table: str) -> list[Any]:
    field = _DATE_OF[table]
    return sorted(records, key=lambda r: (getattr(r, field) or "", r.id), reverse=True)


def _partners(view: "ReadView", deliveries: list[Any], field: str, limit: int) -> list[dict[str, Any]]:
    """The businesses on the other side of ``deliveries`` (suppliers or buyers), most deliveries first."""
    by: dict[str, list[Any]] = {}
    for d in deliveries:
        other = getattr(d, field)
        if other:
            by.setdefault(other, []).append(d)
    top = sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    ops = view.get_many("operator", [oid for oid, _ in top])
    return [{"id": oid, "name": ops[oid].name if oid in ops else None, "kind": ops[oid].kind if oid in ops else None,
             "deliveries": len(ds), "last": max((d.time or "" for d in ds), default="") or None} for oid, ds in top]


def operator_profile(view: "ReadView", operator_id: str, *, limit: int = 20) -> dict[str, Any]:
    """The profile of the operator with canonical id ``operator_id`` (:class:`NotFound` if the store has no record of it)."""
    from .assessments import effective_grades

    op = view.get_many("operator", [operator_id]).get(operator_id)
    if op is None:
        raise NotFound(f"no operator has the identifier {operator_id!r}")
    limit = max(0, int(limit))
    oid = op.id
    operator = _plain(op)
    operator["aliases"] = view.aliases_of([oid]).get(oid, [])
    parent = view.get_many("operator", [op.parent_id]).get(op.parent_id) if op.parent_id else None
    operator["parent_name"] = parent.name if parent is not None else None

    inspections = _newest_first(view.scan("inspection", {"operator_id": oid}), "inspection")
    samples: dict[str, tuple[Any, list[str]]] = {}
    for role, field in (("sampled", "sampled_id"), ("producer", "producer_id"), ("brand_owner", "brand_owner_id")):
        for s in view.scan("sample", {field: oid}):
            samples.setdefault(s.id, (s, []))[1].append(role)
    sample_list = _newest_first([s for s, _ in samples.values()], "sample")
    cases = _newest_first(view.scan("case", {"operator_id": oid}), "case")
    complaints = _newest_first(view.scan("complaint", {"operator_id": oid}), "complaint")
    credit = _newest_first(view.scan("credit_record", {"operator_id": oid}), "credit_record")
    shipped = view.deliveries(sender_ids=[oid])
    received = view.deliveries(receiver_ids=[oid])
    times = sorted(d.time for d in shipped + received if d.time)

    listed_samples = []
    for s in sample_list[:limit]:
        d = _plain(s)
        d["roles"] = samples[s.id][1]
        d["results"] = [_plain(r) for r in sorted(view.scan("test_result", {"sample_id": s.id}), key=lambda r: r.id)]
        listed_samples.append(d)

    grade = effective_grades(view, operator_ids=[oid])[oid]
    overrides = {o.id: o for o in view.scan("grade_override", {"operator_id": oid})}
    ov = overrides.get(grade.override_id) if grade.override_id else None
    latest = view.get_many("risk_assessment", [grade.assessment_id]).get(grade.assessment_id) \
        if grade.assessment_id else None
    grade_d = grade.to_dict()
    grade_d["override"] = ({"id": ov.id, "grade": ov.grade, "reason": ov.reason, "by": ov.by, "created": ov.created}
                           if ov is not None else None)
    grade_d["score"] = latest.score if latest is not None else None
    grade_d["points"] = ({"static": latest.static_points, "dynamic": latest.dynamic_points,
                          "credit": latest.credit_points} if latest is not None else None)
    grade_d["probability"] = latest.probability if latest is not None else None

    partners = {"suppliers": _partners(view, received, "sender_id", limit),
                "buyers": _partners(view, shipped, "receiver_id", limit)}

    counts = {
        "inspections": len(inspections),
        "inspections_failed": sum(1 for i in inspections if i.result == "fail"),
        "samples": len(sample_list),
        "samples_nonconforming": sum(1 for s in sample_list if s.conclusion == "nonconforming"),
        "cases": len(cases),
        "complaints": len(complaints),
        "complaints_substantiated": sum(1 for c in complaints if c.substantiated),
        "credit_records": len(credit),
        "deliveries_shipped": len(shipped),
        "deliveries_received": len(received),
    }
    return {
        "operator": operator,
        "licence": {f: getattr(op, f) for f in _LICENCE_FIELDS},
        "grade": grade_d,
        "counts": counts,
        "deliveries": {"shipped": len(shipped), "received": len(received),
                       "first": times[0] if times else None, "last": times[-1] if times else None},
        "inspections": [_plain(i) for i in inspections[:limit]],
        "samples": listed_samples,
        "cases": [_plain(c) for c in cases[:limit]],
        "complaints": [_plain(c) for c in complaints[:limit]],
        "credit_records": [_plain(c) for c in credit[:limit]],
        "partners": partners,
        "limit": limit,
    }


def lot_profile(view: "ReadView", lot_id: str, *, limit: int = 200) -> dict[str, Any]:
    """A lot for staff: product and producer, certificates, trace codes, samples with their results, the lots it
    was made from and went into (recorded transformations), and its deliveries in time order (the chain of custody,
    names in full: staff only). ``counts`` count everything; the deliveries are cut to ``limit``."""
    lot = view.get_many("lot", [lot_id]).get(lot_id)
    if lot is None:
        raise NotFound(f"no lot has the identifier {lot_id!r}")
    product = view.get_many("product", [lot.product_id]).get(lot.product_id) if lot.product_id else None
    deliveries = sorted(view.deliveries(lot_ids=[lot_id]), key=lambda d: (d.time or "", d.id))
    items = view.transformation_items(lot_ids=[lot_id])
    tids = {i.transformation_id for i in items}
    all_items = view.transformation_items(transformation_ids=tids) if tids else []
    made_from = sorted({i.lot_id for i in all_items if i.role == "input" and i.lot_id != lot_id and any(
        j.transformation_id == i.transformation_id and j.lot_id == lot_id and j.role == "output" for j in items)})
    went_into = sorted({i.lot_id for i in all_items if i.role == "output" and i.lot_id != lot_id and any(
        j.transformation_id == i.transformation_id and j.lot_id == lot_id and j.role == "input" for j in items)})
    samples = _newest_first(view.scan("sample", {"lot_id": lot_id}), "sample")
    party_ids = {lot.producer_id} | {d.sender_id for d in deliveries} | {d.receiver_id for d in deliveries} \
        | {s.sampled_id for s in samples}
    ops = view.get_many("operator", [p for p in party_ids if p])
    names = {oid: op.name for oid, op in ops.items()}
    lots = view.get_many("lot", made_from + went_into)
    shown = deliveries[:limit]
    return {
        "lot": _plain(lot),
        "aliases": view.aliases_of([lot_id]).get(lot_id, []),
        "product": _plain(product) if product is not None else None,
        "producer_name": names.get(lot.producer_id),
        "certificates": [_plain(c) for c in sorted(view.scan("certificate", {"lot_id": lot_id}),
                                                   key=lambda c: (c.issued or "", c.id))],
        "trace_codes": [_plain(t) for t in sorted(view.scan("trace_code", {"lot_id": lot_id}), key=lambda t: t.id)],
        "samples": [{**_plain(s), "sampled_name": names.get(s.sampled_id),
                     "results": [_plain(r) for r in sorted(view.scan("test_result", {"sample_id": s.id}),
                                                           key=lambda r: r.id)]} for s in samples],
        "made_from": [{"id": i, "lot_number": lots[i].lot_number if i in lots else None} for i in made_from],
        "went_into": [{"id": i, "lot_number": lots[i].lot_number if i in lots else None} for i in went_into],
        "deliveries": [{**_plain(d), "sender_name": names.get(d.sender_id), "receiver_name": names.get(d.receiver_id)}
                       for d in shown],
        "counts": {"deliveries": len(deliveries), "samples": len(samples)},
        "names": names,
    }


def sample_profile(view: "ReadView", sample_id: str) -> dict[str, Any]:
    """A sample with its test results, the businesses it names, its lot and its disposal case (if one is open)."""
    s = view.get_many("sample", [sample_id]).get(sample_id)
    if s is None:
        raise NotFound(f"no sample has the identifier {sample_id!r}")
    ops = view.get_many("operator", [x for x in (s.sampled_id, s.producer_id, s.brand_owner_id) if x])
    cases = list(view.scan("disposal_case", {"sample_id": sample_id}))
    lot = view.get_many("lot", [s.lot_id]).get(s.lot_id) if s.lot_id else None
    return {
        "sample": _plain(s),
        "results": [_plain(r) for r in sorted(view.scan("test_result", {"sample_id": sample_id}), key=lambda r: r.id)],
        "names": {oid: op.name for oid, op in ops.items()},
        "lot_number": lot.lot_number if lot is not None else None,
        "cases": [_plain(c) for c in cases],
    }
