"""School alerts export as RDF and are checked by the shapes."""

from __future__ import annotations

import dataclasses

from rdflib import URIRef

from ontology import rdf
from ontology.records import Operator, Sample, SchoolAlert
from ontology.vocab import FT

SCHOOL = "urn:foodtrace:operator:school1"
ALERT = "urn:foodtrace:school_alert:a1"


def records():
    return [
        Operator(id=SCHOOL, kind="SchoolCanteen", name="南通市某某小学食堂", region_id="urn:foodtrace:region:320602"),
        Sample(id="urn:foodtrace:sample:s1", plan="rapid", sampled_id=SCHOOL, product_name="芹菜",
               conclusion="nonconforming", sampled_at="2026-02-01"),
        SchoolAlert(id=ALERT, kind="failed_sample", school_id=SCHOOL, district_id="urn:foodtrace:region:320602",
                    raised="2026-02-01T10:00:00+08:00", sample_id="urn:foodtrace:sample:s1", relation="same_lot",
                    tier="certain", message="到校批次检验不合格"),
    ]


def test_export_conforms_and_links():
    g = rdf.to_graph(records())
    conforms, text = rdf.validate(g)
    assert conforms, text
    assert g.value(URIRef(ALERT), FT.alertSchool) == URIRef(SCHOOL)
    assert g.value(URIRef(ALERT), FT.alertSample) == URIRef("urn:foodtrace:sample:s1")


def test_broken_alerts_are_reported():
    recs = records()
    recs[2] = dataclasses.replace(recs[2], sample_id=None, relation="sideways", kind="magic", message="")
    found = {(v.focus, v.path.rsplit("#", 1)[1] if v.path else None) for v in rdf.violations(rdf.to_graph(recs))}
    assert (ALERT, "alertRelation") in found and (ALERT, "alertKind") in found and (ALERT, "alertMessage") in found
    recs[2] = dataclasses.replace(records()[2], sample_id=None)
    assert {v.focus for v in rdf.violations(rdf.to_graph(recs))} == {ALERT}
