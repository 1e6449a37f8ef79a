"""The Turtle ontology covers the data model, is labelled in Chinese and English, and hangs together."""

from functools import lru_cache

from rdflib import OWL, RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import SKOS

from ontology import vocab
from ontology.records import RECORD_TYPES, record_fields

FT = Namespace(vocab.FT_NS)
PROV = Namespace("http://www.w3.org/ns/prov#")
EPCIS = Namespace("https://ref.gs1.org/epcis/")
CBV = Namespace("https://ref.gs1.org/cbv/")
GS1 = Namespace("https://gs1.org/voc/")
from ..conftest import shared_path


@lru_cache(maxsize=1)
def ontology() -> Graph:
    return Graph().parse(vocab.TTL_PATH, format="turtle")


def ft_terms(g: Graph) -> set[URIRef]:
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
    return {s for k in kinds for s in g.subjects(RDF.type, k) if str(s).startswith(vocab.FT_NS)}


def concepts(g: Graph) -> set:
    return set(g.subjects(RDF.type, SKOS.Concept)) | set(g.subjects(RDF.type, SKOS.ConceptScheme))


def langs(g: Graph, node, props) -> set[str]:
    return {o.language for p in props for o in g.objects(node, p) if isinstance(o, Literal)}


def test_every_record_field_has_a_property():
    """Fails when someone adds a record field without its ontology property."""
    fields = vocab.derive()["fields"]
    missing = [f"{t.table}.{f.name}" for t in RECORD_TYPES for f in record_fields(t)
               if f.name != "id" and f"{t.table}.{f.name}" not in fields]
    assert missing == []


def test_every_annotated_field_exists():
    names = {f"{t.table}.{f.name}" for t in RECORD_TYPES for f in record_fields(t)}
    assert set(vocab.derive()["fields"]) - names == set()


def test_every_record_type_has_a_class():
    g = ontology()
    for t in RECORD_TYPES:
        cls = URIRef(vocab.class_for_table(t.table))
        assert (cls, RDF.type, OWL.Class) in g, t.table
        assert cls == FT[t.cls]


def test_design_entities_are_classes():
    g = ontology()
    for name in ("Operator", "Product", "Lot", "Delivery", "Transformation", "TransformationItem", "Certificate",
                 "Ticket", "TraceCode", "Sample", "TestResult", "Inspection", "Case", "Complaint", "CreditRecord",
                 "RiskAssessment", "Region", "Event", "Retraction"):
        assert (FT[name], RDF.type, OWL.Class) in g, name


def test_field_types_match_record_types():
    xsd = {"float": "decimal", "date": "date", "datetime": "dateTime", "bool": "boolean"}
    props = vocab.field_properties()
    for t in RECORD_TYPES:
        for f in record_fields(t):
            if f.name == "id":
                continue
            p = props[(t.table, f.name)]
            want = xsd.get(f.metadata["type"])
            if want:
                assert p.kind == "datatype" and p.datatype.endswith("#" + want), (t.table, f.name, p)
            if f.name.endswith("_id") or f.name.endswith("_ids"):
                assert p.kind in ("object", "concept"), (t.table, f.name, p)


def test_every_term_has_zh_and_en_labels_and_a_comment():
    g = ontology()
    label_props = (RDFS.label, SKOS.prefLabel)
    nodes = ft_terms(g) | concepts(g)
    assert len(nodes) > 150
    bad = [str(n) for n in nodes if not {"zh", "en"} <= langs(g, n, label_props)
           or not any(True for _ in g.objects(n, RDFS.comment))]
    assert bad == []


def test_concepts_have_one_preferred_label_per_language():
    g = ontology()
    for c in g.subjects(RDF.type, SKOS.Concept):
        zh = [o for o in g.objects(c, SKOS.prefLabel) if o.language == "zh"]
        en = [o for o in g.objects(c, SKOS.prefLabel) if o.language == "en"]
        assert len(zh) == 1 and len(en) == 1, c


def test_operator_kinds_are_declared_subclasses_of_operator():
    g = ontology()
    for kind, parent in vocab.operator_kinds().items():
        assert (FT[kind], RDF.type, OWL.Class) in g
        assert (FT[kind], RDFS.subClassOf, FT[parent]) in g
        assert (FT[parent], RDF.type, OWL.Class) in g
        assert FT.Operator in set(g.transitive_objects(FT[kind], RDFS.subClassOf))


def test_prov_alignment():
    g = ontology()
    sub = lambda c: set(g.transitive_objects(c, RDFS.subClassOf))  # noqa: E731
    assert {PROV.Agent, PROV.Organization} <= sub(FT.Operator)
    assert PROV.Activity in sub(FT.Transformation) and PROV.Activity in sub(FT.Delivery)
    assert PROV.Entity in sub(FT.Lot)
    assert (FT.deliveredLot, RDFS.subPropertyOf, PROV.used) in g
    assert (FT.sender, RDFS.subPropertyOf, PROV.wasAssociatedWith) in g


def test_gs1_epcis_alignment():
    g = ontology()
    assert (FT.Lot, RDFS.subClassOf, GS1.ProductBatch) in g
    assert (FT.Ticket, RDFS.subClassOf, EPCIS.BizTransaction) in g
    assert (FT.Certificate, RDFS.subClassOf, GS1.CertificationDetails) in g
    assert (FT.Event, RDFS.subClassOf, EPCIS.EPCISEvent) in g
    assert (FT.bizStep, RDFS.subPropertyOf, EPCIS.bizStep) in g
    assert (FT.bizStep, RDFS.range, CBV.BizStep) in g


def test_reused_epcis_terms_exist_in_the_standard():
    """Every epcis:/cbv: IRI the ontology names is defined by GS1's own Turtle files."""
    epcis_ttl = shared_path("conformance", "epcis", "gs1", "EPCIS.ttl")
    std = Graph().parse(epcis_ttl).parse(epcis_ttl.with_name("CBV.ttl"))
    defined = set(std.subjects())
    g = ontology()
    used = {n for t in g for n in t if isinstance(n, URIRef) and str(n).startswith(("https://ref.gs1.org/epcis/",
                                                                                   "https://ref.gs1.org/cbv/"))}
    used -= {URIRef("https://ref.gs1.org/epcis/"), URIRef("https://ref.gs1.org/cbv/")}
    assert used and used - defined == set()


def test_properties_are_typed_with_declared_domains_and_ranges():
    g = ontology()
    classes = set(g.subjects(RDF.type, OWL.Class)) | set(g.subjects(RDF.type, RDFS.Datatype))
    for p in ft_terms(g) - set(g.subjects(RDF.type, OWL.Class)):
        for d in g.objects(p, RDFS.domain):
            members = list(g.items(g.value(d, OWL.unionOf))) if g.value(d, OWL.unionOf) else [d]
            assert all(m in classes for m in members), (p, d)
        for r in g.objects(p, RDFS.range):
            assert r in classes or str(r).startswith("http://www.w3.org/2001/XMLSchema#"), (p, r)


def test_regions():
    g = ontology()
    city = URIRef("urn:foodtrace:region:320600")
    districts = set(g.subjects(FT.parentRegion, city))
    assert len(districts) == 7
    assert all((d, RDF.type, FT.Region) in g for d in districts | {city})
