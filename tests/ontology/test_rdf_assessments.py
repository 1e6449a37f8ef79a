"""Stored risk assessments and grade overrides export as RDF and are checked by the SHACL shapes."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from rdflib import Literal, URIRef

from ontology import rdf
from ontology.records import GradeOverride, Operator, RiskAssessment
from ontology.vocab import FT

OP = "urn:foodtrace:operator:op1"
RA = "urn:foodtrace:risk_assessment:r1:op1"
GO = "urn:foodtrace:grade_override:g1"


def records():
    return [
        Operator(id=OP, kind="Producer", name="南通某某食品有限公司"),
        RiskAssessment(id=RA, operator_id=OP, run="r1", grade="D", computed_grade="B", score=40.0, static_points=30.0,
                       dynamic_points=6.0, credit_points=4.0, as_of="2026-03-01", created="2026-03-02T09:00:00+08:00",
                       config_version="2026.1", model_version="none", probability=0.25, method="SAMR-2022 producer",
                       explanation='{"factors": []}', override_id=GO, differs=True),
        GradeOverride(id=GO, operator_id=OP, grade="D", reason="约谈后仍未整改", by="王科长",
                      created="2026-03-01T10:00:00+08:00", computed_grade="B", assessment_id=RA),
    ]


def test_export_conforms_and_links():
    g = rdf.to_graph(records())
    conforms, text = rdf.validate(g)
    assert conforms, text
    ra, go = URIRef(RA), URIRef(GO)
    assert g.value(ra, FT.riskGrade) == Literal("D") and g.value(ra, FT.computedGrade) == Literal("B")
    assert g.value(ra, FT.gradeOverride) == go and g.value(go, FT.overriddenAssessment) == ra
    assert g.value(ra, FT.operator) == URIRef(OP)
    assert g.value(ra, FT.riskScore) == Literal(Decimal("40.0"))
    assert g.value(ra, FT.differsFromOverride) == Literal(True)
    assert g.value(go, FT.reason) == Literal("约谈后仍未整改")


def test_broken_records_are_reported():
    recs = [dataclasses.replace(r, grade="E") if r.id == RA else r for r in records()]
    recs = [dataclasses.replace(r, reason="", by=None) if r.id == GO else r for r in recs]
    found = {(v.focus, v.path.rsplit("#", 1)[1]) for v in rdf.violations(rdf.to_graph(recs))}
    assert found == {(RA, "riskGrade"), (GO, "reason"), (GO, "decidedBy")}
