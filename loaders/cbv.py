"""GS1 Core Business Vocabulary (CBV 2.0) term lists and their spellings.

A CBV term may arrive bare (``shipping``), as a CURIE (``cbv:BizStep-shipping``),
as a Web URI (``https://ref.gs1.org/cbv/BizStep-shipping``) or as the URN of the
XML binding and EPCIS 1.x (``urn:epcglobal:cbv:bizstep:shipping``). :func:`term`
maps each to the bare term, and passes a namespaced extension (an absolute URI,
or a CURIE whose prefix the document declares) through unchanged.

>>> term("bizstep", "urn:epcglobal:cbv:bizstep:shipping")
'shipping'
>>> term("disp", "cbv:Disp-in_transit")
'in_transit'
>>> term("bizstep", "https://ns.example.com/steps/slaughter")
'https://ns.example.com/steps/slaughter'
>>> term("bizstep", "transforming") is None
True
"""

from __future__ import annotations

__all__ = ["TERMS", "PREFIXES", "STANDARD_PREFIXES", "term", "is_extension", "expand"]

#: the CBV 2.0 standard vocabularies (facts of the public standard)
TERMS: dict[str, frozenset[str]] = {
    "bizstep": frozenset("""
        accepting arriving assembling collecting commissioning consigning creating_class_instance
        cycle_counting decommissioning departing destroying disassembling dispensing encoding
        entering_exiting holding inspecting installing killing loading other packing picking receiving
        removing repackaging repairing replacing reserving retail_selling sampling sensor_reporting
        shipping staging_outbound stock_taking stocking storing transporting unloading unpacking
        void_shipping""".split()),
    "disp": frozenset("""
        active available completeness_inferred completeness_verified conformant container_closed
        container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit
        inactive mismatch_class mismatch_instance mismatch_quantity needs_replacement no_pedigree_match
        non_conformant non_sellable_other partially_dispensed recalled reserved retail_sold returned
        sellable_accessible sellable_not_accessible stolen unavailable unknown""".split()),
    "btt": frozenset("bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt".split()),
    "sdt": frozenset("location owning_party possessing_party".split()),
    "er": frozenset("did_not_occur incorrect_data".split()),
}

#: the class name of each vocabulary in CBV Web URIs and CURIEs (``cbv:BizStep-shipping``)
PREFIXES = {"bizstep": "BizStep", "disp": "Disp", "btt": "BTT", "sdt": "SDT", "er": "ER"}

#: prefixes the standard EPCIS 2.0 JSON-LD context declares
STANDARD_PREFIXES = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": "https://ref.gs1.org/cbv/",
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": "https://gs1.org/voc/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}

_SPELLINGS: dict[str, dict[str, str]] = {}
for _vocab, _terms in TERMS.items():
    _cls = PREFIXES[_vocab]
    _m: dict[str, str] = {}
    for _t in _terms:
        _m[_t] = _t
        _m[f"cbv:{_cls}-{_t}"] = _t
        _m[f"https://ref.gs1.org/cbv/{_cls}-{_t}"] = _t
        _m[f"urn:epcglobal:cbv:{_vocab}:{_t}"] = _t
    _SPELLINGS[_vocab] = _m

_SCHEMES = ("http://", "https://", "urn:", "tag:", "ni:")


def is_extension(value: str, prefixes: dict[str, str] | None = None) -> bool:
    """True if ``value`` is an absolute URI or a CURIE whose prefix is declared.

    >>> is_extension("example:step", {"example": "http://ns.example.com/"})
    True
    >>> is_extension("madeup:step", {})
    False
    """
    if value.startswith(_SCHEMES):
        return True
    prefix, sep, rest = value.partition(":")
    if not sep or not prefix or not rest:
        return False
    if prefixes is not None and prefix in prefixes:
        return True
    return prefix in STANDARD_PREFIXES


def expand(value: str, prefixes: dict[str, str] | None = None) -> str:
    """Expand a CURIE with the declared (or standard) prefixes; other strings unchanged.

    >>> expand("cbvmda:lotNumber")
    'urn:epcglobal:cbv:mda:lotNumber'
    """
    prefix, sep, rest = value.partition(":")
    if sep and not rest.startswith("//"):
        if prefixes and prefix in prefixes:
            return prefixes[prefix] + rest
        if prefix in STANDARD_PREFIXES:
            return STANDARD_PREFIXES[prefix] + rest
    return value


def term(vocab: str, value: object, prefixes: dict[str, str] | None = None) -> str | None:
    """The bare CBV term of ``value`` in ``vocab``, the extension URI as given, or None if neither.

    ``vocab`` is one of ``bizstep``, ``disp``, ``btt``, ``sdt``, ``er``. A value
    that is neither (a bare word such as ``transforming``) gives None.

    >>> term("btt", "urn:epcglobal:cbv:btt:inv")
    'inv'
    >>> term("sdt", "place") is None
    True
    """
    if not isinstance(value, str):
        return None
    found = _SPELLINGS[vocab].get(value)
    if found is not None:
        return found
    if is_extension(value, prefixes):
        return value
    return None
