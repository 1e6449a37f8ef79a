"""Records as RDF: build a graph, serialise it as Turtle or JSON-LD, validate it with SHACL.

:func:`to_graph` is pure (records in, graph out). How records become triples
is read from the ontology (:func:`ontology.vocab.field_properties`): every
field is carried by the property the Turtle file annotates with
``ft:recordField``.

* Nodes: a record's canonical id is its IRI when it is an absolute IRI or URN
  (characters not allowed in IRIs, such as spaces, are percent-encoded);
  any other id becomes ``urn:foodtrace:<table>:<percent-encoded id>``.
* Every record node is typed with its class (``ft:Delivery`` ...); an operator
  also with its kind (``ft:Slaughterhouse`` ...) and an event with its EPCIS
  class (``epcis:ObjectEvent`` ...).
* Literals are typed: ``xsd:decimal`` (quantities, values, coordinates),
  ``xsd:date``, ``xsd:dateTime``, ``xsd:boolean``, ``xsd:anyURI``; others are plain strings.
* Controlled terms become concept IRIs (``.../vocab/conclusion/nonconforming``;
  a value that is no concept of its scheme becomes an IRI under the scheme that
  the shapes then report); ``*_id`` fields become object properties; CBV
  values (ticket kind, bizStep, disposition, error reason) become CBV IRIs
  (``cbv:BTT-inv``, ``cbv:BizStep-shipping`` ...).
* Lot links: a transformation ``prov:used`` its input lots; each output lot
  ``prov:wasGeneratedBy`` it and ``prov:wasDerivedFrom`` every input lot.
* Aliases are not nodes of their own: each becomes an ``ft:alias`` literal on
  the canonical node, plus ``owl:sameAs`` when the alias is itself an absolute
  IRI (an EPC URN, another Digital Link), so RDF tools can merge the forms.
* ``Event.body`` (the raw event) is not written; personal data (fields marked
  private: contact person, phone) only when ``private=True``.

Examples
--------
>>> from ontology.records import Delivery
>>> g = to_graph([Delivery(id="urn:foodtrace:delivery:1", lot_id="urn:foodtrace:lot:a",
...                        sender_id="urn:foodtrace:operator:f", receiver_id="urn:foodtrace:operator:m",
...                        time="2026-03-01T08:00:00+08:00", quantity=120.5, unit="KGM")])
>>> print(serialise(g, "turtle").strip().split("\\n\\n")[-1])  # doctest: +NORMALIZE_WHITESPACE
<urn:foodtrace:delivery:1> a ft:Delivery ;
    ft:deliveredLot <urn:foodtrace:lot:a> ;
    ft:quantity 120.5 ;
    ft:receiver <urn:foodtrace:operator:m> ;
    ft:sender <urn:foodtrace:operator:f> ;
    ft:shipTime "2026-03-01T08:00:00+08:00"^^xsd:dateTime ;
    ft:unit "KGM" .
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple, TextIO
from urllib.parse import quote

from rdflib import Graph, Literal, Namespace, URIRef

from ontology import vocab
from ontology.errors import FoodtraceError
from ontology.records import Record
from ontology.vocab import FT

__all__ = [
    "SHAPES_PATH",
    "CONTEXT",
    "FORMATS",
    "Violation",
    "iri",
    "to_graph",
    "write_rdf",
    "serialise",
    "validate",
    "violations",
]

#: the SHACL shapes
SHAPES_PATH = Path(__file__).with_name("shapes.ttl")

# plain namespaces (rdflib's DefinedNamespace objects trip pytest's doctest collection)
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
PROV = Namespace("http://www.w3.org/ns/prov#")
EPCIS = Namespace("https://ref.gs1.org/epcis/")
CBV = Namespace("https://ref.gs1.org/cbv/")
SH = Namespace("http://www.w3.org/ns/shacl#")

#: the compact JSON-LD context of the export (prefixes only: no term is renamed)
CONTEXT: dict[str, str] = {
    "ft": vocab.FT_NS,
    "ftv": vocab.VOCAB_BASE,
    "prov": str(PROV),
    "epcis": str(EPCIS),
    "cbv": str(CBV),
    "gs1": "https://gs1.org/voc/",
    "owl": str(OWL),
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": str(XSD),
}

#: serialisation formats :func:`serialise` accepts, with the rdflib plugin of each
FORMATS = {"turtle": "turtle", "ttl": "turtle", "json-ld": "json-ld", "jsonld": "json-ld"}

_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]")
_NOT_IRI = re.compile(r'[\x00-\x20<>"{}|\\^`\x7f]')
_EPCIS_EVENTS = {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent"}
# CBV vocabularies: (record field) -> (CBV term prefix, EPC URN prefix)
_CBV = {
    ("ticket", "kind"): ("BTT-", "urn:epcglobal:cbv:btt:"),
    ("event", "biz_step"): ("BizStep-", "urn:epcglobal:cbv:bizstep:"),
    ("event", "disposition"): ("Disp-", "urn:epcglobal:cbv:disp:"),
    ("retraction", "reason"): ("ER-", "urn:epcglobal:cbv:er:"),
}
_SPLIT = {("retraction", "corrective_ids"), ("handling_step", "evidence_ids"), ("major_event", "kitchen_ids"),
          ("major_event", "supplier_ids")}
_SKIP = {("event", "body")}
_TYPE = RDF.type
_XSD_DECIMAL, _XSD_INTEGER, _XSD_BOOLEAN, _XSD_STRING = (str(XSD[t]) for t in ("decimal", "integer", "boolean",
                                                                                "string"))
_STORE = "SimpleMemory"  # rdflib's context-free in-memory store: about twice as fast to fill as "Memory"


def _pct(match: re.Match) -> str:
    return "".join(f"%{b:02X}" for b in match.group().encode("utf-8"))


def iri(identifier: str, table: str = "entity") -> URIRef:
    """The IRI of an identifier.

    An absolute IRI or URN is kept (characters not allowed in IRIs are
    percent-encoded); anything else is minted under ``urn:foodtrace:<table>:``.

    >>> iri("https://id.gs1.org/01/06901234567892/10/A B")
    rdflib.term.URIRef('https://id.gs1.org/01/06901234567892/10/A%20B')
    >>> iri("L 7", "lot")
    rdflib.term.URIRef('urn:foodtrace:lot:L%207')
    """
    return URIRef(_iri_str(identifier, table))


def _iri_str(identifier: str, table: str) -> str:
    s = str(identifier).strip()
    if _ABSOLUTE.match(s):
        return _NOT_IRI.sub(_pct, s)
    return f"urn:foodtrace:{table}:{quote(s, safe='')}"


class _Plan(NamedTuple):
    """How one field of one record type becomes triples."""

    name: str
    prop: URIRef
    kind: str  # object, concept, cbv, datatype
    datatype: str | None
    scheme: str | None
    target_table: str
    split: bool


@lru_cache(maxsize=None)
def _plans(table: str) -> tuple[_Plan, ...]:
    plans = []
    for (t, name), fp in vocab.field_properties().items():
        if t != table or (t, name) in _SKIP:
            continue
        kind = "cbv" if (t, name) in _CBV else fp.kind
        target = (vocab.table_for_class(fp.range) if fp.range else None) or "entity"
        plans.append(_Plan(name, URIRef(fp.property), kind, fp.datatype, fp.scheme, target, (t, name) in _SPLIT))
    return tuple(plans)


def _decimal(value: Any) -> Literal:
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return Literal(str(value), datatype=XSD.decimal)  # ill-typed: the shapes report it
    if not d.is_finite():
        return Literal(str(value), datatype=XSD.decimal)
    return Literal(d, datatype=XSD.decimal)


def _literal(value: Any, datatype: str | None) -> Literal:
    return _cached_literal(type(value), value, datatype)


@lru_cache(maxsize=65536)
def _cached_literal(_type: type, value: Any, datatype: str | None) -> Literal:
    # keyed by type too: 1, 1.0 and True are equal as dict keys but not as literals
    if datatype == str(XSD.decimal):
        return _decimal(value)
    if datatype == str(XSD.boolean):
        if isinstance(value, bool):
            return Literal(value)
        return Literal(str(value).strip().lower(), datatype=XSD.boolean)
    if datatype in (str(XSD.date), str(XSD.dateTime), str(XSD.anyURI)):
        return Literal(str(value).strip(), datatype=URIRef(datatype))
    if datatype == str(XSD.integer):
        return Literal(str(value).strip(), datatype=XSD.integer)  # ill-typed text: the shapes report it
    return Literal(str(value))


def _cbv(table: str, name: str, value: str) -> URIRef:
    prefix, urn = _CBV[(table, name)]
    v = value.strip()
    if v.lower().startswith(urn):
        return CBV[prefix + v[len(urn):]]
    if _ABSOLUTE.match(v):
        return iri(v)
    return CBV[prefix + v]


def to_graph(records: Iterable[Record], *, private: bool = False) -> Graph:
    """An RDF graph of records, following the ontology.

    Parameters
    ----------
    records : iterable of Record
        Any mix of record types (e.g. everything a store holds).
    private : bool
        Also write personal data (fields marked private). Off by default.

    Returns
    -------
    rdflib.Graph
        With the ontology's prefixes bound.

    Examples
    --------
    >>> from ontology.records import Operator
    >>> g = to_graph([Operator(id="urn:foodtrace:operator:x", kind="Stall", name="张三摊位", phone="13800000000")])
    >>> sorted(str(o).rsplit("#", 1)[1] for o in g.objects(iri("urn:foodtrace:operator:x"), RDF.type))
    ['Operator', 'Stall']
    >>> len(list(g.objects(None, FT.phone)))
    0
    """
    g = Graph(store=_STORE)
    for prefix, ns in CONTEXT.items():
        g.bind(prefix, ns)
    links = _LotLinks()
    put = g.add
    for rec in records:
        for t in _record_triples(rec, private, links):
            put(t)
    for t in links.derived():
        put(t)
    return g


class _LotLinks:
    """Inputs and outputs of each transformation, for ``prov:wasDerivedFrom`` once every item has been seen
    (items of one transformation may be anywhere in a stream of records)."""

    def __init__(self) -> None:
        self.inputs: dict[URIRef, list[URIRef]] = defaultdict(list)
        self.outputs: dict[URIRef, list[URIRef]] = defaultdict(list)

    def derived(self) -> Iterator[tuple]:
        for t, outs in self.outputs.items():
            for out in outs:
                for inp in self.inputs.get(t, ()):
                    yield (out, PROV.wasDerivedFrom, inp)


def _record_triples(rec: Record, private: bool, links: _LotLinks) -> list[tuple]:
    """The triples of one record (the derived lot links are left to ``links``)."""
    triples: list[tuple] = []
    add = triples.append
    table = rec.table
    if table == "alias":
        canonical = iri(rec.canonical_id, rec.entity or "entity")
        add((canonical, FT.alias, Literal(rec.id)))
        if _ABSOLUTE.match(rec.id.strip()):
            alias_iri = iri(rec.id)
            if alias_iri != canonical:
                add((canonical, OWL.sameAs, alias_iri))
        return triples
    private_fields = _private_fields()
    node = iri(rec.id, table)
    add((node, _TYPE, _class(table)))
    for plan in _plans(table):
        value = getattr(rec, plan.name)
        if value is None or value == "":
            continue
        if not private and (table, plan.name) in private_fields:
            continue
        if plan.kind == "object":
            values = str(value).split() if plan.split else [value]
            for v in values:
                add((node, plan.prop, iri(v, plan.target_table)))
        elif plan.kind == "concept":
            add((node, plan.prop, _concept(plan.scheme, str(value))))
        elif plan.kind == "cbv":
            add((node, plan.prop, _cbv(table, plan.name, str(value))))
        else:
            add((node, plan.prop, _literal(value, plan.datatype)))
    if table == "operator" and rec.kind:
        kind = vocab.lookup("operator_kind", rec.kind)
        if kind:
            add((node, _TYPE, FT[kind]))
    elif table == "event" and rec.type in _EPCIS_EVENTS:
        add((node, _TYPE, EPCIS[rec.type]))
    elif table == "transformation_item" and rec.transformation_id and rec.lot_id:
        t, lot = iri(rec.transformation_id, "transformation"), iri(rec.lot_id, "lot")
        role = (rec.role or "").strip().lower()
        if role == "input":
            links.inputs[t].append(lot)
            add((t, PROV.used, lot))
        elif role == "output":
            links.outputs[t].append(lot)
            add((lot, PROV.wasGeneratedBy, t))
    return triples


def _iri_text(u: str) -> str:
    """An IRI as Turtle: a prefixed name where a :data:`CONTEXT` namespace allows one, else ``<...>``."""
    if u.startswith("http"):  # every namespace of CONTEXT is http(s)
        for prefix, ns in _PREFIXES:
            if u.startswith(ns) and _PN_LOCAL.match(u[len(ns):]):
                return f"{prefix}:{u[len(ns):]}"
    return "<" + _NOT_IRI.sub(_pct, u) + ">"


_iri_text_cached = lru_cache(maxsize=65536)(_iri_text)
#: datatypes whose literals are written directly as '"lexical"^^type'
_TEXT_TYPES = {str(XSD.date), str(XSD.dateTime), str(XSD.anyURI)}


def _text_writer(table: str, plan: "_Plan") -> Callable[[Any], list[str]]:
    """A function from one field's value to its Turtle objects (the terms :func:`_record_triples` makes)."""
    if plan.kind == "object":
        target = plan.target_table
        if plan.split:
            return lambda value: ["<" + _iri_str(v, target) + ">" if not v.startswith("http")
                                  else _iri_text(_iri_str(v, target)) for v in str(value).split()]

        def obj(value: Any) -> list[str]:
            u = _iri_str(value, target)
            return ["<" + u + ">" if not u.startswith("http") else _iri_text(u)]
        return obj
    if plan.kind == "concept":
        return lambda value: [_iri_text_cached(str(_concept(plan.scheme, str(value))))]
    if plan.kind == "cbv":
        return lambda value: [_iri_text_cached(str(_cbv(table, plan.name, str(value))))]
    dt = plan.datatype
    if dt is None or dt == _XSD_STRING:
        return lambda value: ['"' + str(value).translate(_ESCAPES) + '"']
    if dt in _TEXT_TYPES:
        suffix = '"^^' + _iri_text(dt)
        return lambda value: ['"' + str(value).strip().translate(_ESCAPES) + suffix]
    return lambda value: [_literal_n3(_literal(value, dt), lambda node: _iri_text_cached(str(node)))]


@lru_cache(maxsize=None)
def _text_plans(table: str, private: bool) -> tuple[tuple[str, str, Callable[[Any], list[str]]], ...]:
    """Per field of ``table`` written: (field, predicate as Turtle, value -> objects)."""
    hidden = set() if private else _private_fields()
    return tuple((plan.name, _iri_text(str(plan.prop)), _text_writer(table, plan)) for plan in _plans(table)
                 if (table, plan.name) not in hidden)


def _turtle_record(rec: Record, private: bool, links: _LotLinks) -> tuple[str, int]:
    """The Turtle statement(s) of one record, written as text, and the number of triples (the same triples
    as :func:`_record_triples`: tested against it)."""
    table = rec.table
    if table == "alias" or table == "transformation_item":
        triples = _record_triples(rec, private, links)
        return (_turtle_statements(triples) + "\n" if triples else ""), len(triples)
    u = _iri_str(rec.id, table)
    node = "<" + u + ">" if not u.startswith("http") else _iri_text(u)
    types = [_iri_text_cached(str(_class(table)))]
    if table == "operator" and rec.kind:
        kind = vocab.lookup("operator_kind", rec.kind)
        if kind:
            types.append(_iri_text_cached(str(FT[kind])))
    elif table == "event" and rec.type in _EPCIS_EVENTS:
        types.append(_iri_text_cached(str(EPCIS[rec.type])))
    parts = ["a " + " , ".join(types)]
    n = len(types)
    for name, pred, write in _text_plans(table, private):
        value = getattr(rec, name)
        if value is None or value == "":
            continue
        objects = write(value)
        parts.append(pred + " " + " , ".join(objects))
        n += len(objects)
    return node + " " + " ;\n    ".join(parts) + " .\n\n", n


def write_rdf(records: Iterable[Record], out: TextIO, format: str = "turtle", *, private: bool = False,
              chunk: int = 20_000) -> int:
    """Write records as RDF to ``out`` while reading them, ``chunk`` records at a time: memory stays that of
    one chunk (and the transformations' lot lists) whatever the size of the store. Returns the triples written.

    The same triples as :func:`serialise` of :func:`to_graph` (tested); a subject whose triples come from
    several records (an alias, a transformation's items) may be written in more than one statement, and
    JSON-LD writes one ``@graph`` array of the chunks' node objects.

    Examples
    --------
    >>> import io
    >>> from ontology.records import Operator
    >>> buf = io.StringIO()
    >>> write_rdf([Operator(id="urn:foodtrace:operator:x", kind="Stall", name="摊位")], buf)
    4
    >>> len(to_graph([]).parse(data=buf.getvalue(), format="turtle"))
    4
    """
    plugin = FORMATS.get(str(format).lower())
    if plugin is None:
        raise FoodtraceError(f"unknown RDF format {format!r}; known: turtle, json-ld")
    links = _LotLinks()
    written = 0
    first = True
    if plugin == "turtle":
        out.write("\n".join(f"@prefix {prefix}: <{ns}> ." for prefix, ns in CONTEXT.items()) + "\n\n")
    else:
        out.write('{"@context": ' + json.dumps(CONTEXT, ensure_ascii=False) + ', "@graph": [')

    def flush(triples: list[tuple]) -> None:
        nonlocal written, first
        if not triples:
            return
        written += len(triples)
        if plugin == "turtle":
            out.write(_turtle_statements(triples))
            return
        g = Graph(store=_STORE)
        for t in triples:
            g.add(t)
        doc = json.loads(g.serialize(format="json-ld", context=CONTEXT, auto_compact=True))
        nodes = doc.get("@graph", [doc]) if isinstance(doc, dict) else doc
        for node in nodes:
            if isinstance(node, dict):
                node.pop("@context", None)
            out.write(("" if first else ",\n") + json.dumps(node, ensure_ascii=False))
            first = False

    if plugin == "turtle":  # statements written as text, record by record (no rdflib terms: 4x faster)
        texts: list[str] = []
        for rec in records:
            text, n = _turtle_record(rec, private, links)
            texts.append(text)
            written += n
            if len(texts) >= chunk:
                out.write("".join(texts))
                texts = []
        out.write("".join(texts))
        flush(list(links.derived()))
        return written
    batch: list[tuple] = []
    n = 0
    for rec in records:
        batch.extend(_record_triples(rec, private, links))
        n += 1
        if n >= chunk:
            flush(batch)
            batch, n = [], 0
    flush(batch)
    flush(list(links.derived()))
    if plugin != "turtle":
        out.write("]}\n")
    return written


@lru_cache(maxsize=None)
def _class(table: str) -> URIRef:
    return URIRef(vocab.class_for_table(table))


@lru_cache(maxsize=None)
def _concept(scheme: str, value: str) -> URIRef:
    local = value if value in vocab.labels(scheme) else vocab.lookup(scheme, value)
    if local is not None:
        return URIRef(vocab.concept_iri(scheme, local))
    return URIRef(vocab.scheme_iri(scheme) + "/" + quote(value.strip(), safe=""))


@lru_cache(maxsize=1)
def _private_fields() -> frozenset[tuple[str, str]]:
    from ontology.records import RECORD_TYPES

    return frozenset((t.table, f.name) for t in RECORD_TYPES for f in dataclasses.fields(t)
                     if f.metadata.get("private"))


def serialise(graph: Graph, format: str = "turtle") -> str:
    """The graph as Turtle or JSON-LD (compact, with :data:`CONTEXT` as its ``@context``).

    Raises
    ------
    FoodtraceError
        For a format other than those in :data:`FORMATS`.

    Examples
    --------
    >>> import json
    >>> g = to_graph([])
    >>> json.loads(serialise(g, "json-ld"))["@context"]["ft"]
    'https://w3id.org/foodtrace/ontology#'
    >>> serialise(g, "rdf/xml")
    Traceback (most recent call last):
    ...
    ontology.errors.FoodtraceError: unknown RDF format 'rdf/xml'; known: turtle, json-ld
    """
    plugin = FORMATS.get(str(format).lower())
    if plugin is None:
        raise FoodtraceError(f"unknown RDF format {format!r}; known: turtle, json-ld")
    if plugin == "json-ld":
        return graph.serialize(format="json-ld", context=CONTEXT, auto_compact=True)
    return _turtle(graph)


_PN_LOCAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
#: the prefixes, longest namespace first (a name uses the most specific one)
_PREFIXES = sorted(CONTEXT.items(), key=lambda kv: -len(kv[1]))
_DECIMAL = re.compile(r"^[+-]?[0-9]*\.[0-9]+$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _turtle(graph: Graph) -> str:
    """Turtle, grouped by subject, with the :data:`CONTEXT` prefixes.

    rdflib's pretty Turtle serialiser spends most of its time computing prefixed
    names again for every occurrence of a term (about 10 s for the triples of
    10,000 deliveries); this writer caches them and is an order of magnitude faster.
    """
    out = [f"@prefix {prefix}: <{ns}> ." for prefix, ns in CONTEXT.items()]
    out.append("")
    out.append(_turtle_statements(graph))
    return "\n".join(out)


def _turtle_statements(triples: Iterable[tuple]) -> str:
    """One Turtle statement per subject of ``triples`` (sorted), using the :data:`CONTEXT` prefixes."""
    prefixes = _PREFIXES
    names: dict[Any, str] = {}

    def name(node: Any) -> str:
        text = names.get(node)
        if text is not None:
            return text
        if isinstance(node, Literal):
            text = _literal_n3(node, name)
        elif isinstance(node, URIRef):
            u = str(node)
            text = None
            for prefix, ns in prefixes:
                if u.startswith(ns) and _PN_LOCAL.match(u[len(ns):]):
                    text = f"{prefix}:{u[len(ns):]}"
                    break
            if text is None:
                text = "<" + _NOT_IRI.sub(_pct, u) + ">"
        else:
            text = node.n3()
        names[node] = text
        return text

    by_subject: dict[Any, dict[Any, list]] = defaultdict(lambda: defaultdict(list))
    for s, p, o in triples:
        by_subject[s][p].append(o)
    out = []
    type_ = URIRef(str(_TYPE))
    for s in sorted(by_subject, key=str):
        preds = by_subject[s]
        lines = []
        for p in sorted(preds, key=lambda p: (p != type_, str(p))):
            objs = " , ".join(sorted({name(o) for o in preds[p]}))
            lines.append(("a" if p == type_ else name(p)) + " " + objs)
        out.append(name(s) + " " + " ;\n    ".join(lines) + " .\n")
    return "\n".join(out)


def _literal_n3(lit: Literal, name) -> str:
    lexical = str(lit)
    dt = lit.datatype
    if dt is not None:
        dts = str(dt)
        if (dts == _XSD_DECIMAL and _DECIMAL.match(lexical)) or (dts == _XSD_INTEGER and _INTEGER.match(lexical)) \
                or (dts == _XSD_BOOLEAN and lexical in ("true", "false")):
            return lexical
        return f'"{lexical.translate(_ESCAPES)}"^^{name(dt)}'
    if lit.language:
        return f'"{lexical.translate(_ESCAPES)}"@{lit.language}'
    return f'"{lexical.translate(_ESCAPES)}"'


@lru_cache(maxsize=1)
def _shapes() -> Graph:
    return Graph().parse(SHAPES_PATH, format="turtle")


@lru_cache(maxsize=1)
def _ontology() -> Graph:
    return Graph().parse(vocab.TTL_PATH, format="turtle")


def _run(graph: Graph) -> tuple[bool, Graph, str]:
    from pyshacl import validate as shacl_validate

    # pyshacl's ont_graph only copies OWL/RDFS axioms, not the SKOS concepts the
    # scheme-membership shapes read: mix the whole ontology into a copy ourselves.
    data = Graph()  # pyshacl needs a context-aware store
    for t in graph:
        data.add(t)
    for t in _ontology():
        data.add(t)
    conforms, results, text = shacl_validate(
        data, shacl_graph=_shapes(), inference="none", inplace=True,
        abort_on_first=False, allow_infos=True, allow_warnings=True, advanced=False, meta_shacl=False,
    )
    return bool(conforms), results, str(text)


def validate(graph: Graph) -> tuple[bool, str]:
    """Check a graph against ``ontology/shapes.ttl`` with pyshacl.

    The ontology is mixed into a copy of the data graph, so that concept
    schemes and subclasses are known; no inference is run (``sh:class`` follows
    the ``rdfs:subClassOf`` triples of the ontology by itself).

    Returns
    -------
    (bool, str)
        Whether the graph conforms, and pyshacl's report text.

    Examples
    --------
    >>> from ontology.records import Ticket
    >>> validate(to_graph([Ticket(id="urn:foodtrace:ticket:1", number="NO.1")]))[0]
    True
    >>> validate(to_graph([Ticket(id="urn:foodtrace:ticket:1")]))[0]
    False
    """
    conforms, _, text = _run(graph)
    return conforms, text


class Violation(NamedTuple):
    """One SHACL result: focus node, path, value, and the English message."""

    focus: str
    path: str | None
    value: str | None
    message: str


def violations(graph: Graph) -> list[Violation]:
    """The SHACL results of a graph, sorted by focus node (empty when it conforms).

    >>> from ontology.records import Ticket
    >>> violations(to_graph([Ticket(id="urn:foodtrace:ticket:1")]))
    [Violation(focus='urn:foodtrace:ticket:1', path='https://w3id.org/foodtrace/ontology#number', value=None, message='a ticket has exactly one number')]
    """
    _, results, _ = _run(graph)
    out = []
    report = results.value(predicate=RDF.type, object=SH.ValidationReport, any=False)
    for r in results.objects(report, SH.result):  # top-level results, not the sh:detail of sh:node
        messages = list(results.objects(r, SH.resultMessage))
        en = [m for m in messages if getattr(m, "language", None) == "en"] or messages
        path = results.value(r, SH.resultPath)
        value = results.value(r, SH.value)
        out.append(Violation(str(results.value(r, SH.focusNode)), str(path) if isinstance(path, URIRef) else None,
                             None if value is None else str(value), str(en[0]) if en else ""))
    return sorted(out, key=lambda v: tuple("" if x is None else x for x in v))
