"""GS1 EPCIS 2.0 documents (JSON / JSON-LD and XML) -> canonical records.

:func:`read` reads a file; :func:`read_document` takes an already-received
document (a dict, or JSON / XML bytes) and a source name, so the HTTP capture
endpoint reuses it. Both yield records and append one
:class:`loaders.base.Reject` per problem of a bad event (``row`` is
``event N``, 1-based; ``field`` a JSON path such as ``eventList[2].bizStep``).
A bad event is rejected whole; good events of the document still load.

What each event gives
---------------------
* an ``Event`` (id = eventID, else the event hash ``ni:///sha-256;...?ver=CBV2.0``
  over the event content without recordTime, eventID and errorDeclaration);
* with a sourceList and a destinationList: one ``Delivery`` per lot (sender and
  receiver: the ``location`` entries, else the possessing, else the owning party);
  the delivery id comes from content (lot, sender, receiver, invoice number or
  eventTime), so a re-sent event with a new eventID gives the same delivery;
* a TransformationEvent: a ``Transformation`` at the bizLocation's operator and
  a ``TransformationItem`` per input and output lot;
* ILMD (lot number, production and expiry dates) on ADD events: ``Lot`` fields,
  with the bizLocation's operator as producer;
* ``bizTransactionList``: a ``Ticket`` per transaction (``inv`` also becomes
  the delivery's ticket); ``certificationInfo``: a ``Certificate`` per lot;
* ``errorDeclaration``: a ``Retraction`` of the declared event (and nothing
  else from the erroneous copy);
* stub ``Operator``, ``Product`` and ``Lot`` records for every referenced
  entity not already in the store, and an ``Alias`` for every identifier form
  received that differs from the canonical id.

Containers: an AggregationEvent ADD records parent -> children within the
document (all events of the document are scanned first), so a delivery of an
SSCC (or of any parent) is a delivery of its children (recursively).
Quantities of a bare product class (a GTIN without lot, ``idpat`` patterns)
are kept in the Event body only: they name no lot to trace.

Large documents: a document of more than :data:`PARALLEL_MIN_EVENTS` events is
derived on the CPUs available (where the ``fork`` start method exists): the
reading process derives the first share of the events, forked workers the rest
(they inherit the parsed document and its prefixes, master data and containment),
and their records are merged in event order, so the records, rejects and stubs
are exactly those of one process. The store is only consulted by the reading
process; deriving an event needs none, so a loader may derive a document's first
events ahead, while the file before it commits (:func:`derive_ahead`). The
workers are forked when the document is read (:func:`read`), before a
store's writer thread starts, and each dies with the reading process
(:func:`ontology.processes.die_with_parent`): a killed load leaves none behind. On
Python 3.12+ no worker is forked while other threads run (the service); the reading
process then derives every event.

Examples
--------
>>> doc = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
...        "type": "ObjectEvent", "eventTime": "2026-03-01T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
...        "action": "OBSERVE", "bizStep": "shipping",
...        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 50, "uom": "KGM"}],
...        "sourceList": [{"type": "location", "source": "urn:epc:id:sgln:4012345.00225.0"}],
...        "destinationList": [{"type": "location", "destination": "https://id.gs1.org/414/0614141123452"}]}
>>> rejects = []
>>> recs = list(read_document(doc, "a.json", rejects))
>>> rejects
[]
>>> [d for d in recs if d.table == "delivery"][0].lot_id
'https://id.gs1.org/01/04012345123456/10/998877'
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import re
import weakref
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import orjson

from ontology.errors import InvalidIdentifier, UnreadableFile
from ontology.identifiers import DL_BASE, Parsed, canonical, delivery_id, local_id, operator_key, percent_encode
from ontology.records import (Alias, Certificate, Delivery, Event, Lot, Operator, Product, Record, Retraction,
                              Ticket, Transformation, TransformationItem, with_placeholders)
from ontology.times import day_of

from . import cbv, forked
from .base import ReadOptions, Reject
from .epcis_xml import EVENT_TYPES, parse_xml, xsd_errors, xsd_path

if TYPE_CHECKING:
    from graph.store import Store

__all__ = ["read", "read_document", "event_hash", "schema_path", "STANDARD_CONTEXTS"]

#: the standard EPCIS 2.0 JSON-LD contexts, recognised by URL and never fetched
STANDARD_CONTEXTS = frozenset({
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    "https://ref.gs1.org/standards/epcis/2.0.1/epcis-context.jsonld",
    "https://gs1.github.io/EPCIS/epcis-context.jsonld",
    "https://ref.gs1.org/epcis/epcis-context.jsonld",
})

_COMMON = {"type", "eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "errorDeclaration",
           "certificationInfo", "@context", "readPoint", "bizLocation", "bizStep", "disposition",
           "persistentDisposition", "bizTransactionList", "sourceList", "destinationList", "sensorElementList",
           "action"}
_FIELDS = {
    "ObjectEvent": _COMMON | {"epcList", "quantityList", "ilmd"},
    "AggregationEvent": _COMMON | {"parentID", "childEPCs", "childQuantityList"},
    "TransactionEvent": _COMMON | {"parentID", "epcList", "quantityList"},
    "TransformationEvent": (_COMMON - {"action"}) | {"inputEPCList", "inputQuantityList", "outputEPCList",
                                                   "outputQuantityList", "transformationID", "ilmd"},
    "AssociationEvent": _COMMON | {"parentID", "childEPCs", "childQuantityList"},
}
_HASH_EXCLUDED = {"recordTime", "eventID", "errorDeclaration", "@context"}
_DT = re.compile(r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_TZ = re.compile(r"[+-](\d\d):([0-5]\d)")
_UOM = re.compile(r"[A-Z0-9]{2,3}")
_SHIP_STEPS = {"shipping", "departing", "staging_outbound", "loading", "transporting", "consigning", "dispensing",
               "retail_selling", "picking"}
_RECEIVE_STEPS = {"receiving", "arriving", "accepting", "unloading", "stocking", "storing"}
_TRANSFORM_STEPS = {
    "commissioning": "processing", "creating_class_instance": "processing", "assembling": "processing",
    "repackaging": "repacking", "packing": "repacking", "unpacking": "repacking", "disassembling": "cutting",
    "destroying": "destruction",
}
_KINDS = ("slaughter", "cutting", "processing", "repacking", "mixing", "heating", "destruction")
_KIND_WORDS = {"slaughter": "slaughter", "butcher": "slaughter", "cutting": "cutting", "deboning": "cutting",
               "mixing": "mixing", "blending": "mixing", "heating": "heating", "cooking": "heating",
               "pasteuri": "heating", "repack": "repacking", "destruction": "destruction", "processing": "processing"}
_EXPIRY = ("itemExpirationDate", "bestBeforeDate", "useByDate", "sellByDate", "expiryDate", "expirationDate")
_PRODUCED = ("productionDate", "packDate", "packagingDate", "slaughterDate", "harvestDate", "harvestEndDate",
             "harvestStartDate", "manufactureDate", "birthDate")


def schema_path(options: ReadOptions | None = None) -> Path | None:
    """The GS1 EPCIS JSON Schema: ``options.epcis_schema`` or ``<repo>/../shared/.../EPCIS-JSON-Schema.json``;
    None where that is not a file."""
    given = options.epcis_schema if options is not None else None
    p = Path(given) if given else (Path(__file__).resolve().parents[1] / ".." / "shared" / "conformance" / "epcis"
                                   / "gs1" / "EPCIS-JSON-Schema.json")
    return p if p.is_file() else None


@lru_cache(maxsize=2)
def _event_validator(path: str | None) -> Any:
    """A per-event validator compiled from the GS1 JSON Schema, or None.

    Two gaps of the published schema are patched in memory, so that valid
    documents load: AggregationEvent does not list ``persistentDisposition``
    among its properties (EPCIS 2.0 allows it on every event type), and the
    ``sensorReport.type`` enumeration predates measurement types of the GS1 Web
    vocabulary (``EffectiveDoseRate``, ``Molar_concentration``), which makes the
    valid openepcis ``SensorData_with_combined_events.json`` fail; any type
    name is accepted instead. The same document has sensor reports that carry
    only an ``exception`` (an alarm) and no ``type``; EPCIS 2.0 makes the type
    optional there, so ``type`` is not required either.
    """
    if path is None:
        return None
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - optional dependency
        return None
    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
        defs = schema["definitions"]
        defs["measurementType"] = {"type": "string", "minLength": 1}
        report = defs.get("sensorReport", {})
        if "type" in report.get("required", []):
            report["required"] = [r for r in report["required"] if r != "type"]
        for name in EVENT_TYPES:
            for part in defs.get(name, {}).get("allOf", []):
                pn = part.get("propertyNames", {}).get("anyOf", [])
                for alt in pn:
                    if "enum" in alt and "persistentDisposition" not in alt["enum"]:
                        alt["enum"].append("persistentDisposition")
                if "properties" in part and "persistentDisposition" not in part["properties"]:
                    part["properties"]["persistentDisposition"] = {"$ref": "#/definitions/persistentDisposition"}
        return fastjsonschema.compile({"definitions": defs, "$ref": "#/definitions/EPCIS-Document-Event"})
    except Exception:  # a schema we cannot compile: fall back to our own checks
        return None


#: validate each event against the JSON Schema only in documents up to this size
SCHEMA_MAX_EVENTS = 5000


def event_hash(event: dict[str, Any]) -> str:
    """The content hash of an event (without recordTime, eventID, errorDeclaration and @context).

    >>> event_hash({"type": "ObjectEvent", "eventID": "x"}) == event_hash({"type": "ObjectEvent"})
    True
    """
    content = dict(event)
    for k in _HASH_EXCLUDED:
        content.pop(k, None)
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"


# -- reading ---------------------------------------------------------------------------------

def read(path: Path, rejects: list[Reject], *, store: "Store | None" = None,
         options: ReadOptions | None = None, prepared: "Prepared | _Reader | None" = None) -> Iterator[Record]:
    """Read one EPCIS 2.0 document (JSON, JSON-LD or XML) from a file (``prepared``: what :func:`prepare` made of
    it ahead of time, or :func:`derive_ahead`, with the same ``options``)."""
    path = Path(path)
    if prepared is None:
        prepared = prepare(path)
    return _read_parsed(prepared, path.name, rejects, store, options)


#: events derived ahead between two looks at the stop signal (:func:`derive_ahead`)
_AHEAD_STEP = 64


def derive_ahead(prepared: Prepared, source: str, options: ReadOptions | None, stop: Any) -> "_Reader | Prepared":
    """Go on reading a document :func:`prepare` read, as far as no store is needed: check it, then derive its first
    events, those this process would derive itself (:meth:`_Reader.own_share`), until ``stop`` (a
    ``threading.Event``) is set. The loader runs it for the next file while the store commits the one before
    (:func:`loaders.load.load_files`): no event needs the store, so the records are those the reading would give
    (the reader takes them over, and the workers it forks start after them; the stubs and aliases made so far go
    with the reader, as they do into its workers). The reader, its document checked and its first events derived
    (``derived`` of them, their records in ``ahead``, their rejects in ``rejects``); ``prepared`` itself where it is
    no JSON or XML document."""
    doc, data, elements, from_xml, facts = prepared
    if not isinstance(doc, dict):
        return prepared
    reader = _Reader(doc, source, [], None, data, elements, options or ReadOptions(), xml=from_xml)
    reader.facts = facts
    reader._make_plan()
    if reader._plan is not None:
        events, validator, xsd, _ = reader._plan
        share, done, out = reader.own_share(), 0, reader.ahead
        while done < share and not stop.is_set():
            step = min(share, done + _AHEAD_STEP)
            out.extend(reader._span(events, done, step, validator, xsd))
            reader.derived = done = step
    return reader


#: a document parsed: (the JSON-shaped document, its bytes, the XML event elements, whether it was XML, its
#: master data and containment where read ahead: :func:`_facts`)
Prepared = tuple[Any, "bytes | None", list[Any], bool, "Facts | None"]


def bulky(prepared: "Prepared | _Reader") -> list[list[Any]]:
    """The large lists only the reading of one document holds (its events; an XML document's event elements):
    what a loader frees a slice at a time once the document is written (:class:`loaders.load._Release`)."""
    if isinstance(prepared, _Reader):
        doc, elements = prepared.doc, prepared.elements
    else:
        doc, elements = prepared[0], prepared[2]
    found = _events(doc) if isinstance(doc, dict) else None
    return [lst for lst in ((found[0] if found else None), elements) if isinstance(lst, list) and lst]


def prepare(path: Path) -> Prepared:
    """The store-independent first steps of :func:`read`: the file read and parsed, its master data and containment
    read (the loader runs it for the next file while the store commits the one before:
    :func:`loaders.load.load_files`).

    Raises
    ------
    UnreadableFile
        The file cannot be read, or is neither JSON nor well-formed XML.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UnreadableFile(str(path), e.strerror or str(e)) from None
    doc, data, elements, xml, _ = _parse(data, path.name)
    return doc, data, elements, xml, _facts(doc) if isinstance(doc, dict) else None


def _parse(data: bytes, source: str) -> Prepared:
    """(document, bytes, event elements, from XML) of a document's bytes."""
    if data.lstrip()[:1] == b"<":
        doc, elements = parse_xml(data, source)
        return doc, data, elements, True, None
    was_enabled = gc.isenabled()
    gc.disable()  # millions of containers, none garbage: the collector would only scan them
    try:
        return orjson.loads(data), data, [], False, None
    except orjson.JSONDecodeError as e:
        raise UnreadableFile(source, f"not JSON: {e}") from None
    finally:
        if was_enabled:
            gc.enable()


def read_document(doc: dict[str, Any] | bytes | str, source: str, rejects: list[Reject], *,
                  store: "Store | None" = None, options: ReadOptions | None = None) -> Iterator[Record]:
    """Records of one EPCIS document given as a dict or as JSON / XML bytes.

    Raises
    ------
    UnreadableFile
        The bytes are neither JSON nor well-formed XML, or the document is truncated.
    """
    if isinstance(doc, str):
        doc = doc.encode("utf-8")
    if isinstance(doc, (bytes, bytearray)):
        return _read_parsed(_parse(bytes(doc), source), source, rejects, store, options)
    return _read_parsed((doc, None, [], False, None), source, rejects, store, options)


def _read_parsed(parsed: "Prepared | _Reader", source: str, rejects: list[Reject],
                 store: "Store | None", options: ReadOptions | None) -> Iterator[Record]:
    if isinstance(parsed, _Reader):  # read ahead (derive_ahead)
        reader = parsed
        rejects.extend(reader.rejects)  # those of the document and of the events derived ahead, in order
        reader.rejects, reader.store = rejects, store
    else:
        doc, data, elements, from_xml, facts = parsed
        if not isinstance(doc, dict):
            raise UnreadableFile(source, "not an EPCIS document (a JSON object or an XML document is expected)")
        reader = _Reader(doc, source, rejects, store, data, elements, options or ReadOptions(), xml=from_xml)
        reader.facts = facts
    reader.start()  # before the caller's store starts its writer thread: see _Reader.start
    records = reader.run()
    state = getattr(reader, "_forked", None)
    if state is not None and state[3] is not None:  # workers of records never read are not left waiting
        weakref.finalize(records, forked.release, state[3], state[4], _FORKED)
    return records


def _events(doc: dict[str, Any]) -> tuple[list[Any], str] | None:
    """(the events of a document, where they are in it), or None for a document of no EPCIS type."""
    kind = doc.get("type")
    if kind in EVENT_TYPES:
        return [doc], ""
    body = doc.get("epcisBody")
    if kind == "EPCISDocument" and isinstance(body, dict):
        lst = body.get("eventList")
        return (lst if isinstance(lst, list) else []), "eventList"
    if kind == "EPCISQueryDocument" and isinstance(body, dict):
        qr = body.get("queryResults") or {}
        lst = ((qr.get("resultsBody") or {}) if isinstance(qr, dict) else {}).get("eventList")
        return (lst if isinstance(lst, list) else []), "queryResults.resultsBody.eventList"
    return None


#: what a document says besides its events: (master data of operators by key, of products by GTIN, the children of
#: each parent its aggregation events add them to)
Facts = tuple[dict[str, dict[str, str]], dict[str, dict[str, str]], dict[str, list[Any]]]


def _facts(doc: dict[str, Any]) -> Facts:
    """The master data and containment of a document (read before its events are derived; from the document
    alone, so :func:`prepare` reads them ahead)."""
    found = _events(doc)
    return (*_master_data(doc), _containment(found[0] if found else []))


def _master_data(doc: dict[str, Any]) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    master_ops: dict[str, dict[str, str]] = {}
    master_products: dict[str, dict[str, str]] = {}
    header = doc.get("epcisHeader")
    if not isinstance(header, dict):
        return master_ops, master_products
    md = header.get("epcisMasterData") or {}
    vocabs = md.get("vocabularyList") if isinstance(md, dict) else None
    if not isinstance(vocabs, list):
        return master_ops, master_products
    for v in vocabs:
        if not isinstance(v, dict):
            continue
        vtype = _local(str(v.get("type") or ""))
        for el in v.get("vocabularyElementList") or []:
            if not isinstance(el, dict) or not el.get("id"):
                continue
            attrs: dict[str, str] = {}
            for a in el.get("attributes") or []:
                if isinstance(a, dict) and a.get("id"):
                    val = a.get("attribute")
                    attrs[_local(str(a["id"]))] = val if isinstance(val, str) else json.dumps(val, ensure_ascii=False)
            try:
                p = canonical(str(el["id"]))
            except InvalidIdentifier:
                continue
            if vtype == "EPCClass" and p.gtin:
                master_products[p.gtin] = attrs
            elif p.entity == "operator" or vtype in ("BusinessLocation", "ReadPoint", "Party"):
                key = operator_key(p.id) if p.entity == "operator" else p.id
                master_ops.setdefault(key, {}).update(attrs)
    return master_ops, master_products


def _containment(events: list[Any]) -> dict[str, list[Any]]:
    children: dict[str, list[Any]] = {}
    for ev in events:
        if not (isinstance(ev, dict) and ev.get("type") == "AggregationEvent" and ev.get("action") == "ADD"):
            continue
        parent = ev.get("parentID")
        if not isinstance(parent, str):
            continue
        kids: list[tuple[str, Any, Any]] = [(c, None, None) for c in ev.get("childEPCs") or [] if isinstance(c, str)]
        kids += [(q["epcClass"], q.get("quantity"), q.get("uom")) for q in ev.get("childQuantityList") or []
                 if isinstance(q, dict) and isinstance(q.get("epcClass"), str)]
        try:
            key = canonical(parent).id
        except InvalidIdentifier:
            continue
        children.setdefault(key, []).extend(kids)
    return children


class _Reader:
    """The state of reading one document."""

    def __init__(self, doc: dict[str, Any], source: str, rejects: list[Reject], store: Any,
                 data: bytes | None, elements: list[Any], options: ReadOptions, *, xml: bool = False):
        self.doc = doc
        self.options = options
        self.source = source
        self.rejects = rejects
        self.store = store
        self.data = data
        self.elements = elements
        self.xml = xml  # read by parse_xml (a JSON document's own "@xml" key means nothing)
        self.prefixes: dict[str, str] = dict(cbv.STANDARD_PREFIXES)
        if self.xml and isinstance(doc.get("@xml"), dict):
            self.prefixes.update(doc["@xml"])
        self.seen: set[str] = set()
        self.stubs: dict[str, Record] = {}
        self.children: dict[str, list[str]] = {}
        self.master_ops: dict[str, dict[str, str]] = {}
        self.master_products: dict[str, dict[str, str]] = {}
        self.op_keys: dict[str, str] = {}
        self.ext_ok: set[str] = set()  # names that are extensions under the document's own prefixes  # identifier -> operator id, once its stub and aliases are made
        self.facts: Facts | None = None  # the master data and containment, where read ahead (prepare)
        self.derived = 0  # the first events derived before the reading started (derive_ahead) ...
        self.ahead: list[Record] = []  # ... and their records

    # -- document level ------------------------------------------------------------------------

    def start(self) -> None:
        """Check the document, read its master data and containment, and start the workers of a large one.

        Called when the document is read, before the caller iterates the records: a store's writer thread
        (which :meth:`graph.store.Store.write` starts) is not running yet, so the workers are forked from a
        process whose only thread is this one. A reader read ahead (:func:`derive_ahead`) has its plan made and its
        first events derived: the workers take the events after its share.
        """
        if not hasattr(self, "_plan"):
            self._make_plan()
        if self._plan is not None and self._plan[3] > 1:
            self._fork(*self._plan)

    def _make_plan(self) -> None:
        """Check the document and read its master data and containment: ``_plan`` is (events, validator, XSD
        errors, processes), None where the whole document is rejected."""
        self._plan: tuple[list[Any], Any, Any, int] | None = None
        found = _events(self.doc)
        if found is None:
            self.rejects.append(Reject(self.source, "document", "type", str(self.doc.get("type")),
                                       "not an EPCIS document: type must be EPCISDocument, EPCISQueryDocument "
                                       "or an event type"))
            return
        events, base = found
        self.base = base
        doc_errors: list[tuple[str, str, str]] = []
        if not self.xml:
            ctx = self.doc.get("@context")
            if ctx is None:
                doc_errors.append(("@context", "", "document has no @context: EPCIS 2.0 JSON-LD requires the "
                                                   "EPCIS context"))
            else:
                self.prefixes.update(_context_prefixes(ctx))
        xsd: Any = None
        if self.xml and self.data is not None and self.elements:
            xsd = xsd_errors(self.data, self.elements, bare=not base, path=xsd_path(self.options))
            if xsd is not None:
                for msg in xsd[0]:
                    doc_errors.append(("document", "", f"XML schema: {msg}"))
        validator = None
        if not self.xml and len(events) <= SCHEMA_MAX_EVENTS:
            schema = schema_path(self.options)
            validator = _event_validator(str(schema) if schema else None)
        if doc_errors:
            for i in range(max(len(events), 1)):
                for field, value, reason in doc_errors:
                    self.rejects.append(Reject(self.source, f"event {i + 1}", field, value, reason))
            return
        self.master_ops, self.master_products, self.children = self.facts or _facts(self.doc)
        procs = _processes(len(events), self.options.processes)
        self._plan = (events, validator, xsd, procs)

    def own_share(self) -> int:
        """How many of the first events this process derives itself (the rest go to the workers where it has any)."""
        if self._plan is None:
            return 0
        events, _, _, procs = self._plan
        return forked.split(len(events), procs, PARENT_SHARE, PIECES_PER_WORKER)[0] if procs > 1 else len(events)

    def run(self) -> Iterator[Record]:
        if not hasattr(self, "_plan"):
            self.start()
        if self._plan is None:
            return
        events, validator, xsd, procs = self._plan
        ahead, self.ahead = self.ahead, []  # the records of the events derived ahead (derive_ahead): first, once
        yield from ahead
        del ahead
        if procs > 1:
            yield from self._parallel(events, validator, xsd)
        else:
            yield from self._span(events, self.derived, len(events), validator, xsd)
        yield from self._flush_stubs()

    def _span(self, events: list[Any], lo: int, hi: int, validator: Any, xsd: Any) -> Iterator[Record]:
        """Records of events ``lo`` to ``hi - 1`` (rejects appended, stubs collected)."""
        base = self.base
        for i in range(lo, hi):
            ev = events[i]
            path = f"{base}[{i}]." if base else ""
            try:
                problems = self._check(ev, path) if isinstance(ev, dict) else [
                    (path.rstrip("."), "", "event is not an object")]
            except (TypeError, ValueError, AttributeError, KeyError) as e:  # a value of a shape no rule foresaw
                problems = [(path.rstrip("."), "", f"event cannot be read: {type(e).__name__}: {e}")]
            if not problems and validator is not None:
                try:
                    validator(ev)
                except Exception as e:  # fastjsonschema.JsonSchemaException
                    where = str(getattr(e, "name", "") or "data")
                    where = where[4:].lstrip(".") if where.startswith("data") else where
                    problems.append(((path + where) if where else path.rstrip("."),
                                     _short(getattr(e, "value", "")), f"GS1 JSON Schema: {e}"))
            if xsd is not None and i in xsd[1] and not problems:
                for el, msg in xsd[1][i][:5]:
                    problems.append((path + el, "", f"XML schema: {msg}"))
            if problems:
                for field, value, reason in problems:
                    self.rejects.append(Reject(self.source, f"event {i + 1}", field, value, reason))
                continue
            stubs = len(self.stubs)
            try:  # an event gives all its records or none (a safety net: never a traceback)
                records = list(self._derive(ev))
            except (TypeError, ValueError, AttributeError, KeyError, InvalidIdentifier) as e:
                for key in list(self.stubs)[stubs:]:  # the stubs this event made go with it
                    del self.stubs[key]
                    if key.startswith("alias:"):
                        self.seen.discard(key[6:])
                self.rejects.append(Reject(self.source, f"event {i + 1}", path.rstrip("."), "",
                                           f"event cannot be read: {type(e).__name__}: {e}"))
                continue
            yield from records

    def _fork(self, events: list[Any], validator: Any, xsd: Any, procs: int) -> None:
        """Start ``procs - 1`` forked workers on the later events, in contiguous pieces (see :meth:`_parallel`;
        :mod:`loaders.forked`). Where no worker can be forked this process derives every event itself."""
        n = len(events)
        cut, pieces = forked.split(n, procs, PARENT_SHARE, PIECES_PER_WORKER)
        cut = max(cut, self.derived)  # (derive_ahead stops at the cut)
        token = next(_TOKENS)
        futures: list[Any] = []
        pool = forked.start_pool(procs)
        if pool is not None:
            _FORKED[token] = (self, events, validator, xsd)
            try:
                futures = [pool.submit(_work, token, lo, hi) for lo, hi in pieces]  # forks here, at the first
            except Exception:  # out of processes: one process reads it all
                pool.shutdown(wait=False, cancel_futures=True)
                pool, futures = None, []
        if not futures:
            cut = n
        self._forked = (cut, pieces, futures, pool, token)

    def _parallel(self, events: list[Any], validator: Any, xsd: Any) -> Iterator[Record]:
        """The records of :meth:`_span` over all events, the later events derived in forked processes.

        This process derives the first share of the events itself while the workers
        :meth:`_fork` started (which inherit the document, the prefixes, the master data and
        the containment built so far, nothing pickled) derive the rest in contiguous
        pieces. Workers send plain tuples back; pieces are merged in event order, the
        first stub of an id kept, so the records, rejects and stubs are exactly those
        of the sequential loop. The store is never used in a worker. A piece whose
        worker failed is derived here again, as the sequential loop would.
        """
        cut, pieces, futures, pool, token = self._forked
        done = False
        try:
            yield from self._span(events, self.derived, cut, validator, xsd)
            for (lo, hi), fut in zip(pieces, futures):
                try:
                    packed = forked.received(fut.result())
                except Exception:
                    yield from self._span(events, lo, hi, validator, xsd)
                    continue
                yield from self._merge(packed)
            done = True
        finally:
            _FORKED.pop(token, None)
            if pool is not None:  # workers are done when all pieces came back; not waited for otherwise
                pool.shutdown(wait=done, cancel_futures=True)

    def _merge(self, packed: tuple[bytes, list[tuple[Any, ...]], list[tuple[str, ...]], list[Any]]) -> Iterator[Record]:
        """The records of one piece derived by a worker; its rejects and new stubs taken over."""
        kinds, values, rejects, stubs = packed
        self.rejects.extend(Reject(*r) for r in rejects)
        own = self.stubs
        for key, k, v in stubs:
            if key not in own:  # the first stub of an id wins, as in the sequential loop
                own[key] = forked.unpack(k, v)
                if key.startswith("alias:"):
                    self.seen.add(key[6:])
        unpack = forked.unpack
        for k, v in zip(kinds, values):
            yield unpack(k, v)

    # -- validation ----------------------------------------------------------------------------

    def _is_extension(self, name: str, prefixes: dict[str, str]) -> bool:
        ok = cbv.is_extension(name, prefixes)
        if ok and prefixes is self.prefixes:
            self.ext_ok.add(name)
        return ok

    def _check(self, ev: dict[str, Any], path: str) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        prefixes = self.prefixes
        if "@context" in ev and not self.xml:
            prefixes = dict(prefixes)
            prefixes.update(_context_prefixes(ev["@context"]))
        etype = ev.get("type")
        if not isinstance(etype, str) or etype not in _FIELDS:
            return [(path + "type", _short(etype), f"unknown event type {etype!r}; expected one of "
                                                   + ", ".join(EVENT_TYPES))]
        allowed = _FIELDS[etype]
        for k in ev.keys() - allowed:
            if not k.startswith("@") and not cbv.is_extension(k, prefixes):
                out.append((path + k, _short(ev[k]), f"unknown field {k!r} in {etype} (extension fields must be "
                                                     "namespaced with a declared prefix)"))
        for k in ("eventTime", "eventTimeZoneOffset"):
            if k not in ev:
                out.append((path + k, "", f"{k} is required"))
        if "eventTime" in ev:
            _time(out, path, "eventTime", ev["eventTime"])
        if "recordTime" in ev:
            _time(out, path, "recordTime", ev["recordTime"])
        tz = ev.get("eventTimeZoneOffset")
        if tz is not None:
            m = _TZ.fullmatch(tz) if isinstance(tz, str) else None
            if not m or int(m.group(1)) > 14:
                out.append((path + "eventTimeZoneOffset", _short(tz), "eventTimeZoneOffset must be +hh:mm or -hh:mm"))
        if etype != "TransformationEvent":
            if "action" not in ev:
                out.append((path + "action", "", f"action is required in {etype} (ADD, OBSERVE or DELETE)"))
            elif ev["action"] not in ("ADD", "OBSERVE", "DELETE"):
                out.append((path + "action", _short(ev["action"]),
                            f"action {ev['action']!r} is not ADD, OBSERVE or DELETE"))
        for k, vocab in (("bizStep", "bizstep"), ("disposition", "disp")):
            if k in ev and cbv.term(vocab, ev[k], prefixes) is None:
                out.append((path + k, _short(ev[k]), f"{k} {ev[k]!r} is not a CBV 2.0 term nor a namespaced extension URI"))
        pd = ev.get("persistentDisposition")
        if pd is not None:
            if not isinstance(pd, dict):
                out.append((path + "persistentDisposition", _short(pd), "persistentDisposition must be an object"))
            else:
                for k in ("set", "unset"):
                    for j, d in enumerate(pd.get(k) or []):
                        if cbv.term("disp", d, prefixes) is None:
                            out.append((f"{path}persistentDisposition.{k}[{j}]", _short(d),
                                        f"disposition {d!r} is not a CBV 2.0 term nor a namespaced extension URI"))
        for k in ("readPoint", "bizLocation"):
            if k in ev:
                v = ev[k]
                if not isinstance(v, dict) or not isinstance(v.get("id"), str) or not v["id"]:
                    out.append((path + k, _short(v), f"{k} must be an object with an id"))
                elif (err := _ident_error(v["id"])) is not None:
                    out.append((f"{path}{k}.id", _short(v["id"]), err))
        for j, bt in enumerate(_list(ev, "bizTransactionList", out, path)):
            p = f"{path}bizTransactionList[{j}]"
            if not isinstance(bt, dict) or not isinstance(bt.get("bizTransaction"), str) or not bt["bizTransaction"]:
                out.append((p, _short(bt), "bizTransaction must have a bizTransaction URI"))
                continue
            if "type" in bt and cbv.term("btt", bt["type"], prefixes) is None:
                out.append((p + ".type", _short(bt["type"]),
                            f"bizTransaction type {bt['type']!r} is not a CBV 2.0 term nor a namespaced extension URI"))
        for lk, vk in (("sourceList", "source"), ("destinationList", "destination")):
            if lk not in ev:
                continue
            for j, sd in enumerate(_list(ev, lk, out, path)):
                p = f"{path}{lk}[{j}]"
                if not isinstance(sd, dict) or not isinstance(sd.get(vk), str) or not sd[vk]:
                    out.append((p, _short(sd), f"{vk} must have a type and a {vk} URI"))
                    continue
                if cbv.term("sdt", sd.get("type"), prefixes) is None:
                    out.append((p + ".type", _short(sd.get("type")), f"{vk} type {sd.get('type')!r} is not a CBV 2.0 "
                                                                  "term (location, owning_party, possessing_party) "
                                                                  "nor a namespaced extension URI"))
                elif (err := _ident_error(sd[vk])) is not None:
                    out.append((f"{p}.{vk}", _short(sd[vk]), err))
        for lk in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
            if lk not in ev:
                continue
            for j, epc in enumerate(_list(ev, lk, out, path)):
                if not isinstance(epc, str) or not epc:
                    out.append((f"{path}{lk}[{j}]", _short(epc), "EPC must be a URI string"))
                elif (err := _ident_error(epc)) is not None:
                    out.append((f"{path}{lk}[{j}]", _short(epc), err))
        for lk in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
            if lk not in ev:
                continue
            for j, q in enumerate(_list(ev, lk, out, path)):
                p = f"{path}{lk}[{j}]"
                if not isinstance(q, dict):
                    out.append((p, _short(q), "quantity element must be an object"))
                    continue
                if not isinstance(q.get("epcClass"), str) or not q["epcClass"]:
                    out.append((p + ".epcClass", _short(q.get("epcClass")), "quantity element needs an epcClass"))
                elif (err := _ident_error(q["epcClass"])) is not None:
                    out.append((p + ".epcClass", _short(q["epcClass"]), err))
                if "quantity" in q:
                    v = q["quantity"]
                    if isinstance(v, bool) or not isinstance(v, (int, float)):
                        out.append((p + ".quantity", _short(v), f"quantity {v!r} is not a number"))
                    elif v < 0:
                        out.append((p + ".quantity", _short(v), "quantity must not be negative"))
                if "uom" in q:
                    if "quantity" not in q:
                        out.append((p + ".uom", _short(q["uom"]), "uom given without a quantity"))
                    if not isinstance(q["uom"], str) or not _UOM.fullmatch(q["uom"]):
                        out.append((p + ".uom", _short(q["uom"]), "uom must be a UN/CEFACT code (2-3 letters/digits)"))
                for k in q:
                    if k not in ("epcClass", "quantity", "uom") and not cbv.is_extension(k, prefixes):
                        out.append((f"{p}.{k}", _short(q[k]), f"unknown field {k!r} in a quantity element"))
        if "certificationInfo" in ev:
            ci = ev["certificationInfo"]
            items = ci if isinstance(ci, list) else [ci]
            for j, c in enumerate(items):
                if not isinstance(c, str) or not c.strip():
                    out.append((f"{path}certificationInfo", _short(c), "certificationInfo must be a URI string or a "
                                                                       "list of URI strings"))
                    break
        if "ilmd" in ev:
            il = ev["ilmd"]
            if not isinstance(il, dict):
                out.append((path + "ilmd", _short(il), "ilmd must be an object"))
            else:
                for k in il:
                    if k not in self.ext_ok and not self._is_extension(k, prefixes):
                        out.append((f"{path}ilmd.{k}", _short(il[k]), f"ILMD field {k!r} has no namespace (use a "
                                                                    "declared prefix such as cbvmda:)"))
        ed = ev.get("errorDeclaration")
        if ed is not None:
            if not isinstance(ed, dict):
                out.append((path + "errorDeclaration", _short(ed), "errorDeclaration must be an object"))
            else:
                if "declarationTime" not in ed:
                    out.append((path + "errorDeclaration.declarationTime", "", "declarationTime is required"))
                else:
                    _time(out, path, "errorDeclaration.declarationTime", ed["declarationTime"])
                if "reason" in ed and cbv.term("er", ed["reason"], prefixes) is None:
                    out.append((path + "errorDeclaration.reason", _short(ed["reason"]),
                                f"error reason {ed['reason']!r} is not a CBV 2.0 term nor a namespaced extension URI"))
        # what each event type must carry
        if etype == "ObjectEvent" and not any(k in ev for k in ("epcList", "quantityList", "sensorElementList")):
            out.append((path + "epcList", "", "ObjectEvent has no epcList, quantityList or sensorElementList"))
        elif etype == "TransactionEvent" and not ev.get("bizTransactionList"):
            out.append((path + "bizTransactionList", "", "TransactionEvent needs a bizTransactionList"))
        elif etype == "AssociationEvent" and not ev.get("parentID"):
            out.append((path + "parentID", "", "AssociationEvent needs a parentID"))
        elif etype == "AggregationEvent" and ev.get("action") in ("ADD", "DELETE") and not ev.get("parentID"):
            out.append((path + "parentID", "", f"AggregationEvent with action {ev.get('action')} needs a parentID"))
        elif etype == "TransformationEvent" and not any(
                ev.get(k) for k in ("inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList")) \
                and not ev.get("transformationID"):
            out.append((path + "inputEPCList", "", "TransformationEvent has no inputs, outputs or transformationID"))
        for k in ("parentID", "eventID"):
            if k in ev and (not isinstance(ev[k], str) or not ev[k]):
                out.append((path + k, _short(ev[k]), f"{k} must be a URI string"))
        if isinstance(ev.get("parentID"), str) and (err := _ident_error(ev["parentID"])) is not None:
            out.append((path + "parentID", _short(ev["parentID"]), err))
        return out

    # -- derivation ----------------------------------------------------------------------------

    def _derive(self, ev: dict[str, Any]) -> Iterator[Record]:
        h = event_hash(ev)
        eid = ev.get("eventID") or h
        etype = ev["type"]
        step = cbv.term("bizstep", ev["bizStep"], self.prefixes) if "bizStep" in ev else None
        disp = cbv.term("disp", ev["disposition"], self.prefixes) if "disposition" in ev else None
        rp = self._op((ev.get("readPoint") or {}).get("id"))
        bl = self._op((ev.get("bizLocation") or {}).get("id"))
        time = ev["eventTime"]
        yield Event(id=eid, type=etype, action=ev.get("action"), biz_step=step, disposition=disp, time=time,
                    record_time=ev.get("recordTime"), read_point=rp, biz_location=bl, hash=h, source=self.source,
                    body=orjson.dumps({k: v for k, v in ev.items() if k != "@xml"} if "@xml" in ev else ev).decode())
        ed = ev.get("errorDeclaration")
        if ed:
            corr = [c for c in ed.get("correctiveEventIDs") or [] if isinstance(c, str)]
            reason = cbv.term("er", ed["reason"], self.prefixes) if ed.get("reason") else None
            yield Retraction(id=local_id("retraction", eid), event_id=eid, declared=ed["declarationTime"],
                             reason=reason, corrective_ids=" ".join(corr) or None)
            return  # the erroneous copy gives nothing more than the original did
        ilmd = ev.get("ilmd") if isinstance(ev.get("ilmd"), dict) else {}
        lot_info = _ilmd(ilmd)
        station = bl or rp
        # lots of the event (what the event is about)
        if etype == "TransformationEvent":
            inputs = self._lots(ev, ("inputEPCList",), ("inputQuantityList",))
            outputs = self._lots(ev, ("outputEPCList",), ("outputQuantityList",))
            lots = inputs + outputs
        elif etype in ("AggregationEvent", "AssociationEvent"):
            lots = self._lots(ev, ("childEPCs",), ("childQuantityList",))
            if isinstance(ev.get("parentID"), str):
                self._lot_ref(ev["parentID"])
            inputs = outputs = []
        else:
            lots = self._lots(ev, ("epcList",), ("quantityList",))
            if isinstance(ev.get("parentID"), str):
                self._lot_ref(ev["parentID"])
            inputs = outputs = []
        created = outputs if etype == "TransformationEvent" else (lots if ev.get("action") == "ADD" else [])
        for lot, _q, _u, product in created:
            if lot_info or (etype == "ObjectEvent" and step in ("commissioning", "creating_class_instance")) \
                    or etype == "TransformationEvent":
                yield Lot(id=lot, product_id=product, lot_number=lot_info.get("lot_number") or _lot_number(lot),
                          producer_id=station, production_date=lot_info.get("production_date"),
                          expiry_date=lot_info.get("expiry_date"), event_id=eid)
        # tickets and certificates; a ticket number is scoped by its sender, as in the templates
        sender = _party(ev.get("sourceList"), "source")
        receiver = _party(ev.get("destinationList"), "destination")
        s_scope = self._op(sender) if sender else None
        inv = None
        for bt in ev.get("bizTransactionList") or []:
            kind = cbv.term("btt", bt.get("type"), self.prefixes) if bt.get("type") else None
            uri = bt["bizTransaction"]
            number, issuer = _bt_number(uri)
            tid = local_id("ticket", s_scope, number) if s_scope else local_id("ticket", number)
            if kind == "inv" and inv is None:
                inv = (tid, number)
            yield Ticket(id=tid, number=number, kind=kind, issuer_id=issuer, date=day_of(time) if kind == "inv" else None,
                         uri=uri)
        certs = ev.get("certificationInfo")
        cert_uris = [c for c in (certs if isinstance(certs, list) else [certs] if certs else [])]
        cert_for: dict[str, str] = {}
        for uri in cert_uris:
            number = _last_segment(uri)
            ft_kind = _foodtrace_certificate_kind(uri)
            for lot, _q, _u, _p in (lots or [(None, None, None, None)]):
                if ft_kind and len(lots) <= 1:
                    # urn:foodtrace:certificate:{kind}:{number}: the id the templates mint for the same 证
                    cid = local_id("certificate", ft_kind, number)
                else:
                    cid = local_id("certificate", uri, lot) if lot else local_id("certificate", uri)
                if lot and lot not in cert_for:
                    cert_for[lot] = cid
                # the holder is not the station of every event the certificate travels with: left unknown
                yield Certificate(id=cid, kind=ft_kind or "other", number=number, lot_id=lot, uri=uri)
        # deliveries
        for lk, vk in (("sourceList", "source"), ("destinationList", "destination")):
            for sd in ev.get(lk) or []:
                self._op(sd[vk])
        if sender and receiver and lots and etype != "TransformationEvent":
            s_id, r_id = self._op(sender), self._op(receiver)
            receiving = step in _RECEIVE_STEPS
            for lot, qty, unit, _p in lots:
                did = delivery_id(lot, s_id, r_id, ticket=inv[1] if inv else None, time=None if inv else time)
                yield Delivery(id=did, lot_id=lot, sender_id=s_id, receiver_id=r_id,
                               time=time if not (receiving and inv) else None,
                               received_time=time if receiving else None, quantity=qty, unit=unit,
                               ticket_id=inv[0] if inv else None, certificate_id=cert_for.get(lot), event_id=eid)
        # transformations
        if etype == "TransformationEvent" and station:
            kind = _transformation_kind(ev, step)
            tid = local_id("transformation", h.split(";", 1)[1][:32])
            yield Transformation(id=tid, station_id=station, time=time, kind=kind, event_id=eid)
            for role, group in (("input", inputs), ("output", outputs)):
                for lot, qty, unit, _p in group:
                    yield TransformationItem(id=local_id("transformation_item", tid, role, lot), transformation_id=tid,
                                             lot_id=lot, role=role, quantity=qty, unit=unit)

    # -- identifiers -------------------------------------------------------------------------

    def _alias(self, form: str, canon: str, entity: str, scheme: str) -> None:
        if form != canon and form not in self.seen:
            self.seen.add(form)
            self.stubs["alias:" + form] = Alias(id=form, canonical_id=canon, entity=entity, scheme=scheme)

    def _op(self, ident: Any) -> str | None:
        """The operator id of a location or party identifier (stub, aliases)."""
        if not isinstance(ident, str) or not ident:
            return None
        key = self.op_keys.get(ident)
        if key is not None:
            return key
        p = _canonical(ident)
        if p.entity != "operator" or not p.gln:
            key = p.id  # e.g. urn:foodtrace:operator:uscc:{USCC} for an operator without a GLN
        else:
            key = f"{DL_BASE}/414/{p.gln}" + (f"/254/{_q(p.extension)}" if p.extension else "")
            if p.party or p.id != ident:
                self._alias(ident, key, "operator", p.scheme)
            if p.party:
                self._alias(p.id, key, "operator", "digital_link")
        if "op:" + key not in self.stubs:
            info = self.master_ops.get(key, {})
            kind = _op_kind(info)
            region = _region(info.get("district") or info.get("region"))
            parent = f"{DL_BASE}/414/{p.gln}" if p.extension else None
            # what the document does not say is a placeholder: the store never lets it replace a known value
            unknown = [f for f, missing in (("kind", kind == "Operator"), ("name", not info.get("name")),
                                            ("region_id", region is not None and not _is_region_id(region))) if missing]
            self.stubs["op:" + key] = with_placeholders(Operator(
                id=key, kind=kind, name=info.get("name") or p.gln or _uscc_of(key) or key,
                gln=p.gln if not p.extension else None,
                uscc=info.get("uscc") or info.get("unifiedSocialCreditCode") or _uscc_of(key),
                address=_address(info), region_id=region, parent_id=parent), *unknown)
            if parent:
                self._op(parent)
        self.op_keys[ident] = key
        return key

    def _product(self, gtin: str) -> str:
        pid = f"{DL_BASE}/01/{gtin}"
        if "pr:" + pid not in self.stubs:
            info = self.master_products.get(gtin, {})
            name = info.get("descriptionShort") or info.get("regulatedProductName") or info.get("name")
            given = info.get("category") or info.get("foodCategory")
            category = _category(given)
            unknown = [f for f, missing in (("name", not name), ("category", bool(given) and category == given))
                       if missing]
            self.stubs["pr:" + pid] = with_placeholders(Product(
                id=pid, name=name or gtin, gtin=gtin, category=category,
                brand=info.get("brandName") or info.get("brand")), *unknown)
        return pid

    def _lot_ref(self, ident: str) -> tuple[str, str] | None:
        """(lot id, product id) of an EPC naming a lot or an item of one, else None."""
        p = _canonical(ident)
        if p.entity in ("lot", "item") and p.gtin:
            lot = p.lot_id
            product = self._product(p.gtin)
            if p.entity == "lot" and p.id != ident:
                self._alias(ident, lot, "lot", p.scheme)
            if "lot:" + lot not in self.stubs:
                self.stubs["lot:" + lot] = Lot(id=lot, product_id=product, lot_number=p.lot or p.serial)
            return lot, product
        if p.entity == "product" and p.gtin:
            self._product(p.gtin)
        elif p.entity == "lot" and p.scheme == "local":
            return p.id, None  # type: ignore[return-value]
        return None

    def _lots(self, ev: dict[str, Any], epc_keys: tuple[str, ...], qty_keys: tuple[str, ...],
              ) -> list[tuple[str, float | None, str | None, str | None]]:
        """(lot, quantity, unit, product) per lot of the event, items counted 1 EA each."""
        acc: dict[tuple[str, str | None], list[Any]] = {}
        for k in epc_keys:
            for epc in ev.get(k) or []:
                for leaf, qty, uom in self._expand(epc):
                    ref = self._lot_ref(leaf)
                    if ref:
                        if isinstance(qty, (int, float)) and not isinstance(qty, bool):
                            a = acc.setdefault((ref[0], uom or "EA"), [0.0, ref[1]])
                            a[0] += float(qty)
                        else:
                            a = acc.setdefault((ref[0], "EA"), [0.0, ref[1]])
                            a[0] += 1
        for k in qty_keys:
            for q in ev.get(k) or []:
                ref = self._lot_ref(q["epcClass"])
                if ref:
                    unit = q.get("uom") or ("EA" if "quantity" in q else None)
                    a = acc.setdefault((ref[0], unit), [None, ref[1]])
                    if "quantity" in q:
                        a[0] = (a[0] or 0.0) + float(q["quantity"])
        return [(lot, v[0], unit, v[1]) for (lot, unit), v in acc.items()]

    def _expand(self, epc: str, qty: Any = None, uom: Any = None, depth: int = 0) -> list[tuple[str, Any, Any]]:
        """An EPC, or the children (with quantities) recorded for it by AggregationEvents of the document."""
        if not self.children:
            return [(epc, qty, uom)]
        try:
            key = _canonical(epc).id
        except InvalidIdentifier:
            return []
        kids = self.children.get(key)
        if not kids or depth > 8:
            return [(epc, qty, uom)]
        out: list[tuple[str, Any, Any]] = []
        for c, q, u in kids:
            out.extend(self._expand(c, q, u, depth + 1))
        return out

    def _flush_stubs(self) -> Iterator[Record]:
        """The operators, products, lots and aliases the events referred to (their placeholder values never
        replace what the store knows: :func:`ontology.records.with_placeholders`)."""
        yield from self.stubs.values()


# -- parallel derivation ---------------------------------------------------------------------------

#: documents with more events than this are derived on several processes (where ``fork`` exists)
PARALLEL_MIN_EVENTS = 5000
#: the share of the events the reading process derives itself when there are 2 processes (it also
#: rebuilds the workers' records and usually feeds a store writer)
PARENT_SHARE = 0.45
#: each worker's events are sent back in this many pieces, so that merging overlaps with deriving
PIECES_PER_WORKER = 4

_FORKED: dict[int, tuple[Any, ...]] = {}
_TOKENS = itertools.count()


def _processes(events: int, most: int | None = None) -> int:
    """How many processes derive a document of ``events`` events (1: this one alone), at most ``most``
    (None: the CPUs this process may use).

    >>> _processes(10)
    1
    """
    return forked.processes(events, PARALLEL_MIN_EVENTS, most)


def _work(token: int, lo: int, hi: int) -> Any:
    """In a forked worker: records (as class numbers and field tuples), rejects and new stubs of events lo..hi-1."""
    gc.disable()  # the inherited heap is large and holds no garbage: collecting would only copy its pages
    reader, events, validator, xsd = _FORKED[token]
    reader.rejects = rejects = []
    before = len(reader.stubs)
    kinds = bytearray()
    values = []
    pack = forked.PACKERS
    for rec in reader._span(events, lo, hi, validator, xsd):
        k, get = pack[type(rec)]
        kinds.append(k)
        values.append(get(rec))
    stubs = [(key, *forked.pack(rec)) for key, rec in itertools.islice(reader.stubs.items(), before, None)]
    return forked.send((bytes(kinds), values, [(r.file, r.row, r.field, r.value, r.reason) for r in rejects], stubs))


# -- helpers -------------------------------------------------------------------------------------

@lru_cache(maxsize=65536)
def _canonical(ident: str) -> Parsed:
    return canonical(ident)


_q = percent_encode


def _short(v: Any) -> str:
    if v is None:
        return ""
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    return s[:200]


def _time(out: list[tuple[str, str, str]], path: str, name: str, value: Any) -> None:
    if isinstance(value, str) and _DT.fullmatch(value):
        try:
            datetime.fromisoformat(value)
            return
        except ValueError:
            pass
    field = path + name
    if not isinstance(value, str) or not _DT.fullmatch(value):
        out.append((field, _short(value), f"{field.rsplit('.', 1)[-1]} {value!r} is not an xsd:dateTime with a "
                                          "time-zone offset (e.g. 2026-03-01T08:00:00+08:00)"))
        return
    try:
        datetime.fromisoformat(value)
    except ValueError:
        out.append((field, _short(value), f"{field.rsplit('.', 1)[-1]} {value!r} is not a valid date-time"))


def _ident_error(value: str) -> str | None:
    """Why an identifier is malformed, or None."""
    try:
        _canonical(value)
    except InvalidIdentifier as e:
        return str(e)
    return None


def _list(ev: dict[str, Any], key: str, out: list[tuple[str, str, str]], path: str) -> list[Any]:
    v = ev.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        out.append((path + key, _short(v), f"{key} must be a list"))
        return []
    return v


def _context_prefixes(ctx: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    items = ctx if isinstance(ctx, list) else [ctx]
    for c in items:
        if isinstance(c, dict):
            for k, v in c.items():
                if isinstance(v, str) and not k.startswith("@"):
                    out[k] = v
                elif isinstance(v, dict) and isinstance(v.get("@id"), str):
                    out[k] = v["@id"]
    return out


def _local(iri: str) -> str:
    """The local name of an IRI or CURIE (after the last ``#``, ``/`` or ``:``)."""
    for sep in ("#", "/", ":"):
        if sep in iri:
            iri = iri.rsplit(sep, 1)[-1]
    return iri


def _ilmd(ilmd: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in ilmd.items():
        name = _local(k)
        if not isinstance(v, (str, int, float)):
            continue
        v = str(v).strip()
        if name == "lotNumber":
            out["lot_number"] = v
        elif name in _EXPIRY and "expiry_date" not in out:
            out["expiry_date"] = v[:10]
        elif name in _PRODUCED and "production_date" not in out:
            out["production_date"] = v[:10]
    return out


def _lot_number(lot_id: str) -> str | None:
    if "/10/" in lot_id:
        from urllib.parse import unquote
        return unquote(lot_id.rsplit("/10/", 1)[1].split("/", 1)[0])
    return None


def _foodtrace_certificate_kind(uri: str) -> str | None:
    """The kind of a ``urn:foodtrace:certificate:{kind}:{number}`` URI, if it is one with a known kind."""
    prefix = "urn:foodtrace:certificate:"
    if not uri.startswith(prefix):
        return None
    kind = uri[len(prefix):].split(":", 1)[0]
    return kind if kind in _certificate_kinds() else None


@lru_cache(maxsize=1)
def _certificate_kinds() -> frozenset[str]:
    from ontology.vocab import labels

    return frozenset(labels("certificate_kind"))


def _last_segment(uri: str) -> str:
    s = uri.rstrip("/")
    for sep in ("/", ":", "#", "="):
        if sep in s:
            s = s.rsplit(sep, 1)[-1]
    return s or uri


def _bt_number(uri: str) -> tuple[str, str | None]:
    """(number, issuer operator id) of a bizTransaction URI.

    >>> _bt_number("urn:epcglobal:cbv:bt:0614141073467:1152")
    ('1152', 'https://id.gs1.org/414/0614141073467')
    >>> _bt_number("http://transaction.acme.com/po/12345678")
    ('12345678', None)
    """
    if uri.startswith("urn:epcglobal:cbv:bt:"):
        rest = uri[len("urn:epcglobal:cbv:bt:"):]
        gln, _, number = rest.partition(":")
        return (number or rest), _issuer(gln)
    if uri.startswith("urn:epc:id:gdti:"):
        try:
            return canonical(uri).id.rsplit("/253/", 1)[1], None
        except InvalidIdentifier:
            return uri, None
    if uri.startswith(("http://", "https://")):
        return _last_segment(uri), None
    return uri, None


@lru_cache(maxsize=65536)
def _issuer(gln: str) -> str | None:
    if len(gln) == 13 and gln.isdigit():
        try:
            return operator_key(f"{DL_BASE}/414/{gln}")
        except InvalidIdentifier:
            return None
    return None


def _party(lst: Any, key: str) -> str | None:
    if not isinstance(lst, list):
        return None
    by: dict[str, str] = {}
    for x in lst:
        t = cbv.term("sdt", x.get("type"))
        if t and t not in by:
            by[t] = x[key]
    return by.get("location") or by.get("possessing_party") or by.get("owning_party")


_OP_KINDS = {"Farm", "CropFarm", "AquaFarm", "Slaughterhouse", "Producer", "Workshop", "WholesaleMarket",
             "FarmersMarket", "Stall", "Supermarket", "Restaurant", "SchoolCanteen", "Distributor", "ColdStore",
             "Vendor"}


def _op_kind(info: dict[str, str]) -> str:
    for k in ("operatorKind", "kind", "siteType", "type"):
        v = info.get(k)
        if v:
            v = _local(v)
            if v in _OP_KINDS:
                return v
            try:
                from ontology import vocab  # written by the ontology helper
                found = vocab.lookup("operator_kind", v)
                if found:
                    return found
            except Exception:
                pass
    return "Operator"


def _uscc_of(operator_id: str) -> str | None:
    """The 统一社会信用代码 inside a ``urn:foodtrace:operator:uscc:...`` id."""
    prefix = "urn:foodtrace:operator:uscc:"
    return operator_id[len(prefix):] if operator_id.startswith(prefix) else None


def _region(value: str | None) -> str | None:
    """A district as a region id: names and codes are looked up, anything else is kept."""
    if not value:
        return None
    from ontology.vocab import lookup

    return lookup("region", value) or value


def _is_region_id(value: str) -> bool:
    """Whether a region id names a district the vocabulary knows (else it is a name kept as written)."""
    return value.startswith("urn:foodtrace:region:")


def _category(value: str | None) -> str | None:
    """A food category term for a master-data category (kept as written where the vocabulary has none)."""
    if not value:
        return None
    from ontology.vocab import lookup

    return lookup("category", value) or value


def _address(info: dict[str, str]) -> str | None:
    """A postal address from master-data attributes, written the way its country writes it.

    A Chinese address runs from the province down to the street, without commas, and
    leaves out what the street line already says (南通市 in 南通市崇川区...); others
    are joined with commas.

    >>> _address({"streetAddressOne": "南通市崇川区工农路1号", "city": "南通市", "countryCode": "CN"})
    '南通市崇川区工农路1号'
    >>> _address({"streetAddressOne": "工农路1号", "city": "南通市", "state": "江苏省", "countryCode": "CN"})
    '江苏省南通市工农路1号'
    >>> _address({"streetAddressOne": "Bahnhofstr. 1", "city": "Köln", "countryCode": "DE"})
    'Bahnhofstr. 1, Köln, DE'
    """
    street = " ".join(info[k] for k in ("streetAddressOne", "streetAddressTwo", "streetAddressThree") if info.get(k))
    if street and re.search(r"[\u4e00-\u9fff]", street):
        head = "".join(info[k] for k in ("state", "city") if info.get(k) and info[k] not in street)
        return head + street
    parts = [p for p in (street, info.get("city"), info.get("state"), info.get("postalCode"),
                         info.get("countryCode")) if p]
    return ", ".join(parts) if parts else info.get("address")


def _transformation_kind(ev: dict[str, Any], step: str | None) -> str:
    for k, v in ev.items():
        if "foodtrace" in k.lower() or k.endswith(("transformationKind", ":kind")):
            if isinstance(v, str) and _local(v) in _KINDS:
                return _local(v)
    if step in _TRANSFORM_STEPS:
        return _TRANSFORM_STEPS[step]
    if step and ":" in step:  # an extension bizStep URI the document declares
        low = _local(step).lower()
        for word, kind in _KIND_WORDS.items():
            if word in low:
                return kind
    return "processing"
