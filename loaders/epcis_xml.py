"""The EPCIS 2.0 XML binding, read into the shape of the JSON binding.

:func:`parse_xml` turns an ``EPCISDocument``, an ``EPCISQueryDocument`` or a
bare event element into the dict the JSON binding would give (``epcisBody.
eventList`` ...), so one pipeline validates and derives records from both.
CBV terms keep their URN spelling (``urn:epcglobal:cbv:bizstep:shipping``);
extension elements and attributes become keys that are full IRIs (namespace
then local name). When the EPCIS XSD is available the document is validated
with lxml and each schema error is attributed to the event whose element
contains it (:func:`xsd_errors`).

>>> doc, _ = parse_xml(b'''<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"
...   creationDate="2026-01-01T00:00:00Z"><EPCISBody><EventList><ObjectEvent>
...   <eventTime>2026-01-01T08:00:00+08:00</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset>
...   <epcList><epc>urn:epc:id:sgtin:0614141.107346.2018</epc></epcList><action>OBSERVE</action>
...   </ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>''', "a.xml")
>>> doc["epcisBody"]["eventList"][0]["epcList"]
['urn:epc:id:sgtin:0614141.107346.2018']
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from ontology.errors import UnreadableFile

__all__ = ["EVENT_TYPES", "parse_xml", "xsd_path", "xsd_errors", "ext_key"]

EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")

_EPC_LISTS = {"epcList", "childEPCs", "inputEPCList", "outputEPCList"}
_EPCIS_NS = ("urn:epcglobal:epcis:xsd:", "urn:epcglobal:epcis-query:xsd:", "urn:epcglobal:epcis-masterdata:xsd:")
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_QTY_LISTS = {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)


def _split(tag: str) -> tuple[str, str]:
    if tag[0] == "{":
        ns, _, name = tag[1:].partition("}")
        if ns.startswith(_EPCIS_NS):  # standard elements written with the epcis: prefix
            return "", name
        return ns, name
    return "", tag


def ext_key(ns: str, name: str) -> str:
    """The IRI of a namespaced XML element or attribute.

    >>> ext_key("http://example.com/ext1/", "float"), ext_key("urn:epcglobal:cbv:mda", "lotNumber")
    ('http://example.com/ext1/float', 'urn:epcglobal:cbv:mda:lotNumber')
    """
    if not ns:
        return name
    if ns.endswith(("/", "#", ":")):
        return ns + name
    return ns + (":" if ns.startswith("urn:") else "#") + name


def _text(el: Any) -> str:
    return (el.text or "").strip()


def _key(el: Any) -> str:
    ns, name = _split(el.tag)
    return ext_key(ns, name)


def _ext(el: Any) -> Any:
    """An extension element as a value: its text, or a dict of its children."""
    children = [c for c in el if isinstance(c.tag, str)]
    if not children:
        return _text(el)
    out: dict[str, Any] = {}
    for c in children:
        _put(out, _key(c), _ext(c))
    return out


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if key in out:
        old = out[key]
        out[key] = old + [value] if isinstance(old, list) else [old, value]
    else:
        out[key] = value


def _attrs(el: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in el.attrib.items():
        ns, name = _split(k)
        out[ext_key(ns, name)] = v
    return out


def _qty(el: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in el:
        if not isinstance(c.tag, str):
            continue
        ns, name = _split(c.tag)
        if ns:
            _put(out, ext_key(ns, name), _ext(c))
        elif name == "quantity":
            if c.get(_XSI_NIL) in ("true", "1"):
                continue
            t = _text(c)
            try:
                out["quantity"] = float(t)
            except ValueError:
                out["quantity"] = t
        else:
            out[name] = _text(c)
    return out


def _event(ev: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": _split(ev.tag)[1]}
    _fill(out, ev)
    return out


def _fill(out: dict[str, Any], ev: Any) -> None:
    for c in ev:
        if not isinstance(c.tag, str):
            continue
        ns, name = _split(c.tag)
        if ns:
            _put(out, ext_key(ns, name), _ext(c))
        elif name in ("extension", "baseExtension"):
            _fill(out, c)  # EPCIS 1.x style extension wrappers
        elif name in _EPC_LISTS:
            out[name] = [_text(e) for e in c if isinstance(e.tag, str)]
        elif name in _QTY_LISTS:
            out[name] = [_qty(q) for q in c if isinstance(q.tag, str)]
        elif name == "bizTransactionList":
            out[name] = [dict({"type": e.get("type")} if e.get("type") else {}, bizTransaction=_text(e))
                         for e in c if isinstance(e.tag, str)]
        elif name in ("sourceList", "destinationList"):
            k = name[:-4]
            out[name] = [{"type": e.get("type"), k: _text(e)} for e in c if isinstance(e.tag, str)]
        elif name in ("readPoint", "bizLocation"):
            d: dict[str, Any] = {}
            for e in c:
                if isinstance(e.tag, str):
                    _put(d, _key(e) if _split(e.tag)[0] else _split(e.tag)[1],
                         _text(e) if _split(e.tag)[1] == "id" else _ext(e))
            out[name] = d
        elif name == "certificationInfo":
            out.setdefault(name, []).append(_text(c))
        elif name == "persistentDisposition":
            pd: dict[str, list[str]] = {}
            for e in c:
                if isinstance(e.tag, str):
                    pd.setdefault(_split(e.tag)[1], []).append(_text(e))
            out[name] = pd
        elif name == "errorDeclaration":
            ed: dict[str, Any] = {}
            for e in c:
                if not isinstance(e.tag, str):
                    continue
                ens, en = _split(e.tag)
                if ens:
                    _put(ed, ext_key(ens, en), _ext(e))
                elif en == "correctiveEventIDs":
                    ed[en] = [_text(x) for x in e if isinstance(x.tag, str)]
                elif en == "extension":
                    for x in e:
                        if isinstance(x.tag, str):
                            _put(ed, _key(x), _ext(x))
                else:
                    ed[en] = _text(e)
            out[name] = ed
        elif name == "ilmd":
            il: dict[str, Any] = {}
            for e in c:
                if isinstance(e.tag, str):
                    if _split(e.tag)[1] == "extension" and not _split(e.tag)[0]:
                        for x in e:
                            if isinstance(x.tag, str):
                                _put(il, _key(x), _ext(x))
                    else:
                        _put(il, _key(e), _ext(e))
            out[name] = il
        elif name == "sensorElementList":
            els = []
            for se in c:
                if not isinstance(se.tag, str):
                    continue
                d = {}
                for e in se:
                    if not isinstance(e.tag, str):
                        continue
                    ens, en = _split(e.tag)
                    if en == "sensorMetadata" and not ens:
                        d[en] = _attrs(e)
                    elif en == "sensorReport" and not ens:
                        d.setdefault(en, []).append(_attrs(e))
                    else:
                        _put(d, ext_key(ens, en), _ext(e))
                els.append(d)
            out[name] = els
        else:
            out[name] = _text(c)


def _header(root: Any) -> dict[str, Any]:
    """Master data of an XML header in the JSON shape (``epcisMasterData.vocabularyList``)."""
    vocabs = []
    for header in root:
        if not isinstance(header.tag, str) or _split(header.tag)[1] != "EPCISHeader":
            continue
        for v in header.iter():
            if not isinstance(v.tag, str) or _split(v.tag)[1] != "Vocabulary":
                continue
            elements = []
            for ve in v.iter():
                if not isinstance(ve.tag, str) or _split(ve.tag)[1] != "VocabularyElement":
                    continue
                attrs = []
                children = []
                for a in ve:
                    if not isinstance(a.tag, str):
                        continue
                    an = _split(a.tag)[1]
                    if an == "attribute":
                        attrs.append({"id": a.get("id"), "attribute": _ext(a)})
                    elif an == "children":
                        children = [_text(x) for x in a if isinstance(x.tag, str)]
                elements.append({"id": ve.get("id"), "attributes": attrs, "children": children})
            vocabs.append({"type": v.get("type"), "vocabularyElementList": elements})
    return {"epcisMasterData": {"vocabularyList": vocabs}} if vocabs else {}


def _event_elements(container: Any) -> list[Any]:
    out = []
    for c in container:
        if not isinstance(c.tag, str):
            continue
        name = _split(c.tag)[1]
        if name in EVENT_TYPES:
            out.append(c)
        elif name == "extension":
            out.extend(_event_elements(c))
    return out


def _find(el: Any, *names: str) -> Any:
    for name in names:
        if el is None:
            return None
        el = next((c for c in el if isinstance(c.tag, str) and _split(c.tag)[1] == name), None)
    return el


def parse_xml(data: bytes, source: str) -> tuple[dict[str, Any], list[Any]]:
    """Parse XML bytes into the JSON-shaped document and the event elements (in order).

    Raises
    ------
    UnreadableFile
        Not well-formed XML.
    """
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        raise UnreadableFile(source, f"not well-formed XML: {e}") from None
    name = _split(root.tag)[1]
    if name in EVENT_TYPES:
        elements = [root]
        doc: dict[str, Any] = _event(root)
        doc["@xml"] = _nsmap(root)
        return doc, elements
    if name == "EPCISDocument":
        elements = _event_elements(_find(root, "EPCISBody", "EventList") if _find(root, "EPCISBody") is not None
                                   else root)
        body = {"eventList": [_event(e) for e in elements]}
    elif name == "EPCISQueryDocument":
        el = _find(root, "EPCISBody", "QueryResults", "resultsBody", "EventList")
        elements = _event_elements(el) if el is not None else []
        body = {"queryResults": {"resultsBody": {"eventList": [_event(e) for e in elements]}}}
    else:
        return {"type": name, "@xml": _nsmap(root)}, []
    doc = {"type": name, "@xml": _nsmap(root), "epcisBody": body, "schemaVersion": root.get("schemaVersion"),
           "creationDate": root.get("creationDate")}
    header = _header(root)
    if header:
        doc["epcisHeader"] = header
    return doc, elements


def _nsmap(root: Any) -> dict[str, str]:
    """Every namespace prefix declared in the document (for CURIEs in text such as bizStep)."""
    out: dict[str, str] = {}
    for el in root.iter():
        for k, v in el.nsmap.items():
            if k and k not in out:
                out[k] = v
    return out


def xsd_path(options: Any = None) -> Path | None:
    """The EPCIS 2.0 XSD: ``options.epcis_xsd`` (a :class:`loaders.base.ReadOptions`) or
    ``<repo>/../shared/conformance/epcis/gs1/xsd``; None where that is not a file."""
    given = getattr(options, "epcis_xsd", None)
    p = Path(given) if given else (Path(__file__).resolve().parents[1] / ".." / "shared" / "conformance" / "epcis"
                                   / "gs1" / "xsd" / "EPCglobal-epcis-2_0.xsd")
    return p if p.is_file() else None


@lru_cache(maxsize=4)
def _schema(path: str) -> Any:
    try:
        return etree.XMLSchema(etree.parse(path))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError):
        return None


_WRAP = (b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" '
         b'creationDate="2000-01-01T00:00:00Z"><EPCISBody><EventList>%s</EventList></EPCISBody></epcis:EPCISDocument>')


def xsd_errors(data: bytes, elements: list[Any], bare: bool,
               path: Path | None = None) -> tuple[list[str], dict[int, list[tuple[str, str]]]] | None:
    """Validate against the EPCIS XSD at ``path``; None if there is none.

    Returns the document-level messages and, per event index, (element, message) pairs.
    """
    if path is None:
        return None
    schema = _schema(str(path))
    if schema is None:
        return None
    if bare:
        tree = _unqualify(etree.fromstring(_WRAP % etree.tostring(elements[0]), _PARSER))
        ok = schema.validate(tree)
        if ok:
            return [], {}
        return [], {0: [(_elname(e.path), e.message) for e in schema.error_log]}
    tree = _unqualify(etree.fromstring(data, _PARSER))
    if schema.validate(tree):
        return [], {}
    starts = [e.sourceline or 0 for e in elements]
    ends = []
    for e in elements:
        last = e
        for x in e.iter():
            last = x
        ends.append(max(last.sourceline or 0, e.sourceline or 0))
    doc_msgs: list[str] = []
    per: dict[int, list[tuple[str, str]]] = {}
    for err in schema.error_log:
        idx = None
        for i, (a, b) in enumerate(zip(starts, ends)):
            if a <= err.line <= b + 1:
                idx = i
                break
        if idx is None:
            doc_msgs.append(err.message)
        else:
            per.setdefault(idx, []).append((_elname(err.path), err.message))
    return doc_msgs, per


def _unqualify(root: Any) -> Any:
    """Standard elements written with the ``epcis:`` prefix (the XSD wants them unqualified) made plain."""
    for el in root.iter():
        if el is not root and isinstance(el.tag, str) and el.tag.startswith("{urn:epcglobal:epcis:xsd:"):
            el.tag = el.tag.split("}", 1)[1]
    return root


def _elname(path: str | None) -> str:
    if not path:
        return ""
    last = path.rsplit("/", 1)[-1]
    last = last.split("[", 1)[0]
    return last.split(":")[-1]
