"""Disposal cases, handling steps, evidence files and complaints export as RDF and are checked by the shapes."""

from __future__ import annotations

import dataclasses

from rdflib import URIRef

from ontology import rdf
from ontology.records import Complaint, DisposalCase, EvidenceFile, HandlingStep, Operator, Sample
from ontology.vocab import FT

OP = "urn:foodtrace:operator:op1"
CASE = "urn:foodtrace:disposal_case:HC-1"
EV = "urn:foodtrace:evidence:sha256:" + "ab" * 32


def records():
    return [
        Operator(id=OP, kind="Supermarket", name="南通某某超市", region_id="urn:foodtrace:region:320602"),
        Sample(id="urn:foodtrace:sample:s1", plan="supervisory", sampled_id=OP, product_name="猪肉",
               conclusion="nonconforming", sampled_at="2026-02-01"),
        DisposalCase(id=CASE, number="HC-1", trigger="supervisory_sample", operator_id=OP,
                     district_id="urn:foodtrace:region:320602", sample_id="urn:foodtrace:sample:s1",
                     opened="2026-02-12", due="2026-05-13", rules_version="2026.1"),
        HandlingStep(id="urn:foodtrace:handling_step:1", subject_id=CASE, seq=1, kind="served", date="2026-02-13",
                     by="张三", recorded="2026-02-13T09:00:00+08:00", party_id=OP, evidence_ids=EV),
        EvidenceFile(id=EV, sha256="ab" * 32, name="送达回证.pdf", media_type="application/pdf", size=9,
                     content="JVBERi0xLjQK"),
        Complaint(id="urn:foodtrace:complaint:TS-1", operator_id=OP, date="2026-02-10", kind="report", rural=True),
    ]


def test_export_conforms_and_links():
    g = rdf.to_graph(records())
    conforms, text = rdf.validate(g)
    assert conforms, text
    step = URIRef("urn:foodtrace:handling_step:1")
    assert g.value(step, FT.stepOf) == URIRef(CASE) and g.value(step, FT.evidenceFile) == URIRef(EV)
    assert g.value(URIRef(CASE), FT.inChargeDistrict) == URIRef("urn:foodtrace:region:320602")


def test_broken_records_are_reported():
    recs = records()
    recs[2] = dataclasses.replace(recs[2], due=None, trigger="magic")
    recs[3] = dataclasses.replace(recs[3], by="", seq=0)
    found = {(v.focus, v.path.rsplit("#", 1)[1]) for v in rdf.violations(rdf.to_graph(recs))}
    assert found == {(CASE, "dueDate"), (CASE, "disposalTrigger"), ("urn:foodtrace:handling_step:1", "stepBy"),
                     ("urn:foodtrace:handling_step:1", "stepSeq")}
