"""Records -> RDF -> SHACL: a hand-made farm -> slaughterhouse -> market chain conforms; broken ones do not."""

import dataclasses
import json
from decimal import Decimal

import pytest
from rdflib import Graph, Literal, Namespace, URIRef

from ontology import rdf, vocab
from ontology.errors import FoodtraceError
from ontology.records import (
    Alias, Certificate, Complaint, Delivery, Event, Lot, Operator, Product, Retraction, Sample, TestResult, Ticket,
    TraceCode, Transformation, TransformationItem,
)

FT = Namespace(vocab.FT_NS)
PROV = Namespace("http://www.w3.org/ns/prov#")
RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
OWL_SAMEAS = URIRef("http://www.w3.org/2002/07/owl#sameAs")
XSD_ = "http://www.w3.org/2001/XMLSchema#"

FARM = "urn:foodtrace:operator:uscc:91320600MA1XXXXX1X"
SLAUGHTER = "https://id.gs1.org/414/6901234000008"
MARKET = "urn:foodtrace:operator:market"
STALL = "urn:foodtrace:operator:stall%2012"
PIGS = "urn:foodtrace:lot:aaaaaaaaaaaa:P1"
PORK = "https://id.gs1.org/01/06901234567892/10/260301"
D1, D2 = "urn:foodtrace:delivery:d1", "urn:foodtrace:delivery:d2"


def chain():
    """A farm ships live pigs to a slaughterhouse, which slaughters them and ships pork to a market stall."""
    return [
        Operator(id=FARM, kind="Farm", name="海安生猪养殖场", region_id="urn:foodtrace:region:320685",
                 uscc="91320600MA1XXXXX1X", phone="13900000000", lat=32.53, lon=120.46),
        Operator(id=SLAUGHTER, kind="Slaughterhouse", name="南通定点屠宰厂", gln="6901234000008",
                 region_id="urn:foodtrace:region:320612", scale="large", haccp=True),
        Operator(id=MARKET, kind="FarmersMarket", name="崇川农贸市场", region_id="urn:foodtrace:region:320602"),
        Operator(id=STALL, kind="Stall", name="12号摊位", parent_id=MARKET, individual=True),
        Product(id="urn:foodtrace:product:live-pig", name="生猪", category="live_pig"),
        Product(id="https://id.gs1.org/01/06901234567892", name="冷鲜猪肉", category="pork", gtin="06901234567892",
                unit="KGM", producer_id=SLAUGHTER),
        Lot(id=PIGS, product_id="urn:foodtrace:product:live-pig", lot_number="P1", producer_id=FARM,
            quantity=20.0, unit="H87", origin_id="urn:foodtrace:region:320685"),
        Lot(id=PORK, product_id="https://id.gs1.org/01/06901234567892", lot_number="260301",
            producer_id=SLAUGHTER, production_date="2026-03-01", expiry_date="2026-03-04"),
        Delivery(id=D1, lot_id=PIGS, sender_id=FARM, receiver_id=SLAUGHTER, time="2026-02-28T06:00:00+08:00",
                 quantity=20.0, unit="H87", certificate_id="urn:foodtrace:certificate:q1",
                 ticket_id="urn:foodtrace:ticket:t1"),
        Transformation(id="urn:foodtrace:transformation:s1", station_id=SLAUGHTER,
                       time="2026-03-01T02:00:00+08:00", kind="slaughter"),
        TransformationItem(id="urn:foodtrace:transformation_item:s1:in", transformation_id="urn:foodtrace:transformation:s1",
                           lot_id=PIGS, role="input", quantity=20.0, unit="H87"),
        TransformationItem(id="urn:foodtrace:transformation_item:s1:out", transformation_id="urn:foodtrace:transformation:s1",
                           lot_id=PORK, role="output", quantity=1500.0, unit="KGM"),
        Delivery(id=D2, lot_id=PORK, sender_id=SLAUGHTER, receiver_id=STALL, time="2026-03-01T05:30:00+08:00",
                 received_time="2026-03-01T06:10:00+08:00", quantity=85.5, unit="KGM",
                 ticket_id="urn:foodtrace:ticket:t2", certificate_id="urn:foodtrace:certificate:m1",
                 trace_code="TC-0001", event_id="urn:uuid:6f0c2c1e-0000-4000-8000-000000000001"),
        Certificate(id="urn:foodtrace:certificate:q1", kind="animal_quarantine", number="3200123",
                    lot_id=PIGS, holder_id=FARM, issued="2026-02-27"),
        Certificate(id="urn:foodtrace:certificate:m1", kind="meat_quality", number="M-88", lot_id=PORK,
                    holder_id=SLAUGHTER, issued="2026-03-01", uri="https://example.org/cert/M-88"),
        Ticket(id="urn:foodtrace:ticket:t1", number="INV-1", kind="inv", issuer_id=FARM, date="2026-02-28"),
        Ticket(id="urn:foodtrace:ticket:t2", number="INV-2", kind="urn:epcglobal:cbv:btt:inv", issuer_id=SLAUGHTER),
        TraceCode(id="urn:foodtrace:trace_code:TC-0001", code="TC-0001", lot_id=PORK, operator_id=SLAUGHTER),
        Sample(id="urn:foodtrace:sample:s1", plan="supervisory", sampled_id=STALL, producer_id=SLAUGHTER,
               product_id="https://id.gs1.org/01/06901234567892", product_name="猪肉", category="pork", lot_id=PORK,
               sampled_at="2026-03-02", conclusion="nonconforming", disputed=False),
        TestResult(id="urn:foodtrace:test_result:s1:1", sample_id="urn:foodtrace:sample:s1", item="恩诺沙星",
                   hazard_class="vet_drug", value=152.0, unit="μg/kg", limit=100.0, conclusion="nonconforming"),
        Event(id="urn:uuid:6f0c2c1e-0000-4000-8000-000000000001", type="ObjectEvent", action="OBSERVE",
              biz_step="shipping", disposition="urn:epcglobal:cbv:disp:in_transit",
              time="2026-03-01T05:30:00+08:00", hash="ni:///sha-256;abc", read_point=SLAUGHTER,
              body='{"type": "ObjectEvent"}'),
        Retraction(id="urn:foodtrace:retraction:1", event_id="urn:uuid:dead", declared="2026-03-02T09:00:00+08:00",
                   reason="did_not_occur", corrective_ids="urn:uuid:c1 urn:uuid:c2"),
        Alias(id="urn:epc:class:lgtin:6901234.056789.260301", canonical_id=PORK, entity="lot", scheme="epc_urn"),
        Alias(id="260301", canonical_id=PORK, entity="lot", scheme="lot_number"),
    ]


@pytest.fixture(scope="module")
def graph():
    return rdf.to_graph(chain())


def test_chain_conforms(graph):
    conforms, text = rdf.validate(graph)
    assert conforms, text
    assert rdf.violations(graph) == []


def test_types_and_kinds(graph):
    assert set(graph.objects(URIRef(SLAUGHTER), RDF_TYPE)) == {FT.Operator, FT.Slaughterhouse}
    assert (URIRef(SLAUGHTER), FT.operatorKind, FT.Slaughterhouse) in graph
    event = URIRef("urn:uuid:6f0c2c1e-0000-4000-8000-000000000001")
    assert (event, RDF_TYPE, URIRef("https://ref.gs1.org/epcis/ObjectEvent")) in graph
    assert (event, FT.bizStep, URIRef("https://ref.gs1.org/cbv/BizStep-shipping")) in graph
    assert (event, FT.disposition, URIRef("https://ref.gs1.org/cbv/Disp-in_transit")) in graph
    assert not list(graph.objects(event, FT.eventBody))


def test_typed_literals_and_concepts(graph):
    d2 = URIRef(D2)
    assert graph.value(d2, FT.quantity) == Literal(Decimal("85.5"))
    assert graph.value(d2, FT.quantity).datatype == URIRef(XSD_ + "decimal")
    assert graph.value(d2, FT.shipTime).datatype == URIRef(XSD_ + "dateTime")
    assert graph.value(URIRef(PORK), FT.productionDate).datatype == URIRef(XSD_ + "date")
    assert graph.value(URIRef(SLAUGHTER), FT.haccp) == Literal(True)
    sample = URIRef("urn:foodtrace:sample:s1")
    assert graph.value(sample, FT.conclusion) == URIRef("https://w3id.org/foodtrace/vocab/conclusion/nonconforming")
    assert graph.value(sample, FT.samplePlan) == URIRef("https://w3id.org/foodtrace/vocab/sample_plan/supervisory")
    assert graph.value(URIRef("urn:foodtrace:ticket:t2"), FT.ticketKind) == URIRef("https://ref.gs1.org/cbv/BTT-inv")
    assert graph.value(URIRef(STALL), FT.parentOperator) == URIRef(MARKET)


def test_lot_links_are_prov(graph):
    t, pigs, pork = URIRef("urn:foodtrace:transformation:s1"), URIRef(PIGS), URIRef(PORK)
    assert (t, PROV.used, pigs) in graph
    assert (pork, PROV.wasGeneratedBy, t) in graph
    assert (pork, PROV.wasDerivedFrom, pigs) in graph


def test_aliases_and_private_data(graph):
    pork = URIRef(PORK)
    assert set(graph.objects(pork, FT.alias)) == {Literal("urn:epc:class:lgtin:6901234.056789.260301"),
                                                   Literal("260301")}
    assert list(graph.objects(pork, OWL_SAMEAS)) == [URIRef("urn:epc:class:lgtin:6901234.056789.260301")]
    assert not list(graph.objects(None, FT.phone))
    assert list(rdf.to_graph(chain(), private=True).objects(URIRef(FARM), FT.phone)) == [Literal("13900000000")]


def test_retraction_corrective_events_are_split(graph):
    r = URIRef("urn:foodtrace:retraction:1")
    assert set(graph.objects(r, FT.correctiveEvent)) == {URIRef("urn:uuid:c1"), URIRef("urn:uuid:c2")}
    assert graph.value(r, FT.errorReason) == URIRef("https://ref.gs1.org/cbv/ER-did_not_occur")


def test_iris_are_encoded():
    assert rdf.iri("urn:foodtrace:lot:x:A B<1>") == URIRef("urn:foodtrace:lot:x:A%20B%3C1%3E")
    assert rdf.iri("批号 7", "lot") == URIRef("urn:foodtrace:lot:%E6%89%B9%E5%8F%B7%207")


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize("fmt", ["turtle", "json-ld"])
def test_serialisations_round_trip(fmt):
    records = chain() + [Complaint(id="urn:foodtrace:complaint:1", operator_id=STALL, date="2026-03-03",
                                   description='他说："肉有异味"\n\t第二行 \\ end', substantiated=True)]
    graph = rdf.to_graph(records)
    text = rdf.serialise(graph, fmt)
    back = Graph().parse(data=text, format=fmt)
    assert set(back) == set(graph)
    if fmt == "json-ld":
        doc = json.loads(text)
        assert doc["@context"]["ft"] == vocab.FT_NS and "@graph" in doc


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize("fmt", ["turtle", "json-ld"])
@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_streamed_export_writes_the_graphs_triples(fmt, chunk):
    """write_rdf, chunk by chunk (a transformation's items and a lot's aliases in different chunks), writes
    exactly the triples of to_graph, as one document that parses."""
    import io

    records = chain()
    buf = io.StringIO()
    n = rdf.write_rdf(iter(records), buf, fmt, chunk=chunk)
    back = Graph().parse(data=buf.getvalue(), format=fmt)
    graph = rdf.to_graph(records)
    assert set(back) == set(graph)
    assert (URIRef(PORK), PROV.wasDerivedFrom, URIRef(PIGS)) in back
    assert n >= len(graph)
    if fmt == "json-ld":
        assert json.loads(buf.getvalue())["@context"]["ft"] == vocab.FT_NS


def test_streamed_export_refuses_an_unknown_format():
    import io

    with pytest.raises(FoodtraceError, match="known: turtle, json-ld"):
        rdf.write_rdf([], io.StringIO(), "n3")


def test_unknown_format():
    with pytest.raises(FoodtraceError, match="known: turtle, json-ld"):
        rdf.serialise(Graph(), "n3")


def _replace(records, rid, **changes):
    return [dataclasses.replace(r, **changes) if r.id == rid else r for r in records]


def test_broken_deliveries_are_reported_on_their_focus_nodes():
    records = _replace(chain(), D1, quantity=-5.0)
    records = _replace(records, D2, sender_id=None)
    records.append(Delivery(id="urn:foodtrace:delivery:d3", lot_id=PORK, sender_id=STALL, receiver_id=STALL,
                            time="2026-03-01T09:00:00+08:00", quantity=1.0, unit="KGM"))
    g = rdf.to_graph(records)
    conforms, text = rdf.validate(g)
    assert not conforms
    found = {(v.focus, v.path.rsplit("#", 1)[1], v.message) for v in rdf.violations(g)}
    assert found == {
        (D1, "quantity", "a delivery has exactly one quantity, a decimal greater than zero"),
        (D2, "sender", "a delivery has exactly one sender, an operator other than the receiver"),
        ("urn:foodtrace:delivery:d3", "sender", "a delivery has exactly one sender, an operator other than the receiver"),
    }
    assert D1 in text and D2 in text and "urn:foodtrace:delivery:d3" in text


def test_other_broken_records():
    records = _replace(chain(), "urn:foodtrace:sample:s1", conclusion="maybe", plan=None)
    records = _replace(records, SLAUGHTER, kind="Spaceport")
    records = _replace(records, D2, time="yesterday", unit=None)
    records = _replace(records, D1, time="2026-02-28T06:00:00")  # no UTC offset
    records = [r for r in records if r.id != "urn:foodtrace:transformation_item:s1:out"]
    found = {(v.focus, v.path.rsplit("#", 1)[1] if v.path else None) for v in rdf.violations(rdf.to_graph(records))}
    assert found == {
        ("urn:foodtrace:sample:s1", "conclusion"), ("urn:foodtrace:sample:s1", "samplePlan"),
        (SLAUGHTER, "operatorKind"), (D2, "shipTime"), (D2, "unit"), (D1, "shipTime"),
        ("urn:foodtrace:transformation:s1", None),
    }


def test_dangling_reference_is_reported():
    records = _replace(chain(), D2, lot_id="urn:foodtrace:lot:nowhere")
    found = {(v.focus, v.path, v.value) for v in rdf.violations(rdf.to_graph(records))}
    assert found == {(D2, str(FT.deliveredLot), "urn:foodtrace:lot:nowhere")}
