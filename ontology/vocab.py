"""The Python vocabulary, derived from the Turtle ontology ``ontology/foodtrace.ttl``.

The Turtle file is the one source of truth. :func:`derive` reads it with
rdflib and returns everything Python needs (terms, concept schemes with their
labels, the operator-kind hierarchy, the regions and the record-field to
property map). Parsing Turtle at every import would cost more than the import
budget, so the result is cached in ``ontology/vocab.json`` together with the
SHA-256 of the Turtle file: at import the cache is used when the hash matches
and the Turtle file is parsed otherwise (so a stale cache can never be used).
``python -m ontology.vocab`` rewrites the cache; a test fails when it differs
from what the Turtle file yields.

IRIs
----
* classes and properties: ``https://w3id.org/foodtrace/ontology#<Name>`` (:class:`FT`);
* concept schemes: ``https://w3id.org/foodtrace/vocab/<scheme>``, concepts
  ``https://w3id.org/foodtrace/vocab/<scheme>/<local_name>``;
* the operator kinds are the subclasses of ``ft:Operator`` (``ft:Farm`` ...),
  whose IRIs are also the concepts of the ``operator_kind`` scheme;
* regions: ``urn:foodtrace:region:<GB/T 2260 code>``; for the ``region`` scheme
  the "local name" returned by :func:`lookup` is that id.

Examples
--------
>>> lookup("operator_kind", "生猪屠宰场")
'Slaughterhouse'
>>> lookup("sample_plan", " 抽检 ")
'supervisory'
>>> lookup("conclusion", "Non Conforming")
'nonconforming'
>>> lookup("region", "崇川区"), lookup("region", "320682")
('urn:foodtrace:region:320602', 'urn:foodtrace:region:320682')
>>> lookup("category", "no such thing") is None
True
>>> labels("conclusion")["nonconforming"]
('不合格', 'Nonconforming')
>>> str(FT.Delivery)
'https://w3id.org/foodtrace/ontology#Delivery'
>>> concept_iri("category", "pork")
'https://w3id.org/foodtrace/vocab/category/pork'
>>> kind_ancestors("SchoolCanteen")
('SchoolCanteen', 'Restaurant', 'Operator')
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from rdflib import URIRef
from rdflib import namespace as _rdflib_namespace
from rdflib.namespace import Namespace

from ontology.records import Region

__all__ = [
    "FT",
    "FT_NS",
    "VOCAB_BASE",
    "TTL_PATH",
    "CACHE_PATH",
    "SCHEMES",
    "FieldProperty",
    "lookup",
    "labels",
    "scheme_iri",
    "concept_iri",
    "concept_local",
    "region_records",
    "operator_kinds",
    "kind_ancestors",
    "field_properties",
    "class_for_table",
    "table_for_class",
    "derive",
    "write_cache",
]

#: namespace of the ontology's classes and properties
FT_NS = "https://w3id.org/foodtrace/ontology#"
#: base of the concept schemes
VOCAB_BASE = "https://w3id.org/foodtrace/vocab/"
#: the ontology (the source of truth)
TTL_PATH = Path(__file__).with_name("foodtrace.ttl")
#: what :func:`derive` yields for it, keyed by its hash
CACHE_PATH = Path(__file__).with_name("vocab.json")

_REGION_PREFIX = "urn:foodtrace:region:"


class FT(_rdflib_namespace.DefinedNamespace):
    """The classes and properties of the foodtrace ontology (``ft:``).

    A misspelt term raises ``AttributeError`` instead of minting a bad IRI;
    a test checks these terms equal the Turtle file's classes and properties.

    >>> FT.shipTime
    rdflib.term.URIRef('https://w3id.org/foodtrace/ontology#shipTime')
    >>> FT.shiptime
    Traceback (most recent call last):
    ...
    AttributeError: term 'shiptime' not in namespace 'https://w3id.org/foodtrace/ontology#'
    """

    _NS = Namespace(FT_NS)
    _fail = True

    # classes
    Alias: URIRef
    AquaFarm: URIRef
    Case: URIRef
    Certificate: URIRef
    ColdStore: URIRef
    Complaint: URIRef
    CreditRecord: URIRef
    CropFarm: URIRef
    Delivery: URIRef
    Distributor: URIRef
    Event: URIRef
    Farm: URIRef
    FarmersMarket: URIRef
    GradeOverride: URIRef
    Inspection: URIRef
    Lot: URIRef
    Operator: URIRef
    Producer: URIRef
    Product: URIRef
    Region: URIRef
    Restaurant: URIRef
    Retraction: URIRef
    RiskAssessment: URIRef
    Sample: URIRef
    SamplingSource: URIRef
    SchoolCanteen: URIRef
    Slaughterhouse: URIRef
    Stall: URIRef
    Supermarket: URIRef
    TestResult: URIRef
    Ticket: URIRef
    TraceCode: URIRef
    Transformation: URIRef
    TransformationItem: URIRef
    Vendor: URIRef
    WholesaleMarket: URIRef
    Workshop: URIRef

    # properties
    action: URIRef
    address: URIRef
    alias: URIRef
    alsoPublishedBy: URIRef
    aliasEntity: URIRef
    aliasOf: URIRef
    announcement: URIRef
    announcementDate: URIRef
    asOf: URIRef
    assessedAt: URIRef
    assessmentRun: URIRef
    authority: URIRef
    batch: URIRef
    bizLocation: URIRef
    bizStep: URIRef
    brand: URIRef
    brandOwner: URIRef
    category: URIRef
    categoryText: URIRef
    certificate: URIRef
    certificateKind: URIRef
    channel: URIRef
    closedDate: URIRef
    code: URIRef
    computedGrade: URIRef
    conclusion: URIRef
    configVersion: URIRef
    contact: URIRef
    contentHash: URIRef
    correctiveEvent: URIRef
    coverage: URIRef
    coverageBasis: URIRef
    creditClass: URIRef
    creditKind: URIRef
    creditPoints: URIRef
    date: URIRef
    decidedBy: URIRef
    declarationTime: URIRef
    deliveredLot: URIRef
    description: URIRef
    differsFromOverride: URIRef
    disposalDone: URIRef
    disposalDue: URIRef
    disposition: URIRef
    disputed: URIRef
    divisionCode: URIRef
    dynamicPoints: URIRef
    endDate: URIRef
    erased: URIRef
    erasedBy: URIRef
    errorReason: URIRef
    eventBody: URIRef
    eventTime: URIRef
    eventType: URIRef
    evidence: URIRef
    expiryDate: URIRef
    failureProbability: URIRef
    findings: URIRef
    fine: URIRef
    foodRelated: URIRef
    gln: URIRef
    gradeOverride: URIRef
    gradingMethod: URIRef
    gtin: URIRef
    haccp: URIRef
    hazardClass: URIRef
    holder: URIRef
    identifierScheme: URIRef
    individual: URIRef
    inspectionKind: URIRef
    inspectionResult: URIRef
    inspector: URIRef
    issueDate: URIRef
    issuer: URIRef
    issuerName: URIRef
    laboratory: URIRef
    latitude: URIRef
    licenceDate: URIRef
    licenceNumber: URIRef
    liftReason: URIRef
    liftedAt: URIRef
    liftedBy: URIRef
    limit: URIRef
    limitText: URIRef
    longitude: URIRef
    missingFields: URIRef
    lot: URIRef
    lotNumber: URIRef
    modelVersion: URIRef
    name: URIRef
    nameEn: URIRef
    number: URIRef
    openedDate: URIRef
    operator: URIRef
    operatorKind: URIRef
    origin: URIRef
    overriddenAssessment: URIRef
    overriddenAt: URIRef
    parentOperator: URIRef
    parentRegion: URIRef
    penalty: URIRef
    phone: URIRef
    placeholders: URIRef
    private: URIRef
    producer: URIRef
    product: URIRef
    productName: URIRef
    productionDate: URIRef
    published: URIRef
    publishedAt: URIRef
    publishedBy: URIRef
    quantity: URIRef
    readPoint: URIRef
    reason: URIRef
    receiveTime: URIRef
    receiver: URIRef
    recordField: URIRef
    recordTable: URIRef
    recordTime: URIRef
    region: URIRef
    regionLevel: URIRef
    remark: URIRef
    repairedDate: URIRef
    resultUnit: URIRef
    retractedEvent: URIRef
    riskGrade: URIRef
    riskScore: URIRef
    role: URIRef
    sample: URIRef
    samplePlan: URIRef
    sampledOperator: URIRef
    sampledProvince: URIRef
    samplingDate: URIRef
    samplingTask: URIRef
    samplingTaskKind: URIRef
    samrCategory: URIRef
    samrCategoryPath: URIRef
    scale: URIRef
    sender: URIRef
    shipTime: URIRef
    source: URIRef
    sourceEvent: URIRef
    sourceFile: URIRef
    specification: URIRef
    startDate: URIRef
    staticPoints: URIRef
    station: URIRef
    substantiated: URIRef
    testItem: URIRef
    ticket: URIRef
    ticketKind: URIRef
    topic: URIRef
    transferredToPolice: URIRef
    transformation: URIRef
    transformationKind: URIRef
    transformationTime: URIRef
    unit: URIRef
    uri: URIRef
    uscc: URIRef
    validUntil: URIRef
    value: URIRef
    valueScheme: URIRef
    valueText: URIRef
    violation: URIRef

    # 核查处置 and 投诉举报: classes and properties
    DisposalCase: URIRef
    HandlingStep: URIRef
    EvidenceFile: URIRef
    byteSize: URIRef
    caseNumber: URIRef
    complaintKind: URIRef
    concernedOperator: URIRef
    concernsLot: URIRef
    concernsSample: URIRef
    corrects: URIRef
    disposalOpened: URIRef
    disposalTrigger: URIRef
    dueDate: URIRef
    evidenceFile: URIRef
    fileContent: URIRef
    fileName: URIRef
    inChargeDistrict: URIRef
    mediaType: URIRef
    nominalProducer: URIRef
    note: URIRef
    openedBy: URIRef
    openedCase: URIRef
    realName: URIRef
    recallList: URIRef
    recordedAt: URIRef
    rulesVersion: URIRef
    rural: URIRef
    sha256: URIRef
    stepBy: URIRef
    stepDate: URIRef
    stepKind: URIRef
    stepOf: URIRef
    stepOutcome: URIRef
    stepParty: URIRef
    stepReason: URIRef
    stepSeq: URIRef
    triggeringComplaint: URIRef
    uploadedAt: URIRef
    uploadedBy: URIRef

    # 校园食品安全 (school alerts): classes and properties
    SchoolAlert: URIRef
    alertCreditRecord: URIRef
    alertDelivery: URIRef
    alertDistrict: URIRef
    alertGrade: URIRef
    alertKind: URIRef
    alertLot: URIRef
    alertMessage: URIRef
    alertRaised: URIRef
    alertRelation: URIRef
    alertSample: URIRef
    alertSampleLot: URIRef
    alertSchool: URIRef
    alertSupplier: URIRef
    alertTier: URIRef

    # 农村集体聚餐 (rural banquets): classes and properties
    Chef: URIRef
    Banquet: URIRef
    BanquetGuidance: URIRef
    BanquetCensus: URIRef
    RuralBanquet: URIRef
    chefName: URIRef
    chefDistrict: URIRef
    chefTownship: URIRef
    chefPhone: URIRef
    healthCertNumber: URIRef
    healthCertExpiry: URIRef
    chefTrained: URIRef
    chefTraining: URIRef
    chefRegistered: URIRef
    banquetNumber: URIRef
    banquetStation: URIRef
    banquetHost: URIRef
    banquetHostPhone: URIRef
    banquetKind: URIRef
    banquetDate: URIRef
    banquetPlace: URIRef
    banquetDistrict: URIRef
    banquetTownship: URIRef
    banquetGuests: URIRef
    banquetTables: URIRef
    banquetChef: URIRef
    banquetMenu: URIRef
    banquetSources: URIRef
    banquetRegistered: URIRef
    banquetRegisteredBy: URIRef
    guidanceOf: URIRef
    guidanceDate: URIRef
    guidanceBy: URIRef
    guidanceChecked: URIRef
    guidanceProblems: URIRef
    guidanceRectified: URIRef
    guidanceNote: URIRef
    censusDistrict: URIRef
    censusMonth: URIRef
    censusExpected: URIRef
    censusSource: URIRef

    # 重大活动 (major events): class and properties
    MajorEvent: URIRef
    eventName: URIRef
    eventLevel: URIRef
    eventStart: URIRef
    eventEnd: URIRef
    eventVenues: URIRef
    eventKitchen: URIRef
    designatedSupplier: URIRef
    eventDistrict: URIRef
    eventOrganiser: URIRef
    eventCreated: URIRef

    # 互联网+明厨亮灶 (canteen monitoring): classes and properties
    KitchenCamera: URIRef
    KitchenDay: URIRef
    KitchenProblem: URIRef
    cameraCanteen: URIRef
    cameraConnected: URIRef
    cameraCount: URIRef
    cameraPlatform: URIRef
    cameraDisconnected: URIRef
    dayCanteen: URIRef
    dayDate: URIRef
    onlineHours: URIRef
    expectedHours: URIRef
    ticketsUploaded: URIRef
    menuUploaded: URIRef
    problemCanteen: URIRef
    problemFound: URIRef
    problemDescription: URIRef
    problemRectified: URIRef
    problemBy: URIRef


class FieldProperty(NamedTuple):
    """The ontology property that carries one record field.

    ``kind`` is ``object`` (the value is an id, written as an IRI),
    ``concept`` (a local name of the concept scheme ``scheme``) or
    ``datatype`` (a literal of XSD type ``datatype``); ``range`` is the
    class IRI an object property points to, where the ontology says.
    """

    property: str
    kind: str
    datatype: str | None
    scheme: str | None
    range: str | None = None


# --------------------------------------------------------------------------- derivation


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _norm(text: object) -> str:
    """The lookup key of a label: NFKC, case-folded, without white space.

    >>> _norm(" Non Conforming ")
    'nonconforming'
    """
    return "".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


def derive(ttl_path: Path | str = TTL_PATH) -> dict[str, Any]:
    """Everything the Python vocabulary needs, read from the Turtle ontology.

    Parameters
    ----------
    ttl_path : path
        The ontology in Turtle.

    Returns
    -------
    dict
        JSON-serialisable: ``sha256``, ``classes``, ``properties``, ``tables``,
        ``schemes``, ``operator_kinds``, ``regions`` and ``fields``.

    Raises
    ------
    ValueError
        When a label or alternative label names two concepts of one scheme.
    """
    from rdflib import RDF, RDFS, Graph, Literal
    from rdflib.namespace import OWL, SKOS

    ttl_path = Path(ttl_path)
    g = Graph().parse(ttl_path, format="turtle")
    ft = Namespace(FT_NS)

    def ft_local(node: Any) -> str | None:
        s = str(node)
        return s[len(FT_NS):] if s.startswith(FT_NS) else None

    def lang_label(node: Any, prop: Any, lang: str) -> str | None:
        for o in g.objects(node, prop):
            if isinstance(o, Literal) and o.language == lang:
                return str(o)
        return None

    classes = sorted(c for c in (ft_local(s) for s in g.subjects(RDF.type, OWL.Class)) if c)
    properties = sorted(
        p for t in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
        for p in (ft_local(s) for s in g.subjects(RDF.type, t)) if p
    )
    tables = {str(t): ft_local(c) for c, t in g.subject_objects(ft.recordTable)}

    schemes: dict[str, Any] = {}
    for s in sorted(g.subjects(RDF.type, SKOS.ConceptScheme), key=str):
        name = str(s)[len(VOCAB_BASE):]
        concepts: dict[str, Any] = {}
        keys: dict[str, str] = {}
        for c in sorted(g.subjects(SKOS.inScheme, s), key=str):
            iri = str(c)
            if name == "region":
                local = iri
            elif iri.startswith(FT_NS):
                local = iri[len(FT_NS):]
            else:
                local = iri.rsplit("/", 1)[1]
            alt = sorted(str(a) for a in g.objects(c, SKOS.altLabel))
            entry = {"iri": iri, "zh": lang_label(c, SKOS.prefLabel, "zh"),
                     "en": lang_label(c, SKOS.prefLabel, "en"), "alt": alt}
            concepts[local] = entry
            forms = [local, entry["zh"], entry["en"], *alt]
            if name == "region":
                forms.append(iri[len(_REGION_PREFIX):])
            for form in forms:
                key = _norm(form)
                if keys.setdefault(key, local) != local:
                    raise ValueError(f"{ttl_path}: {form!r} names both {keys[key]!r} and {local!r} in scheme {name!r}")
        schemes[name] = {"iri": str(s), "zh": lang_label(s, SKOS.prefLabel, "zh"),
                         "en": lang_label(s, SKOS.prefLabel, "en"), "concepts": concepts}

    kinds = {}
    for local in schemes.get("operator_kind", {}).get("concepts", {}):
        if local == "Operator":  # the unknown kind: the root itself, no subclass
            continue
        parents = [ft_local(p) for p in g.objects(ft[local], RDFS.subClassOf) if ft_local(p)]
        kinds[local] = parents[0] if parents else "Operator"

    regions = []
    for iri, c in schemes.get("region", {}).get("concepts", {}).items():
        node = URIRef(iri)
        parent = g.value(node, ft.parentRegion)
        regions.append({"id": iri, "name": str(g.value(node, ft.name)), "name_en": str(g.value(node, ft.nameEn)),
                        "code": str(g.value(node, ft.divisionCode)), "level": str(g.value(node, ft.regionLevel)),
                        "parent_id": str(parent) if parent else None})
    regions.sort(key=lambda r: r["code"])

    fields: dict[str, Any] = {}
    for p, f in sorted(g.subject_objects(ft.recordField)):
        local = ft_local(p)
        scheme = g.value(p, ft.valueScheme)
        rng = g.value(p, RDFS.range)
        target = None
        if scheme is not None:
            kind, datatype, scheme_name = "concept", None, str(scheme)[len(VOCAB_BASE):]
        elif (p, RDF.type, OWL.ObjectProperty) in g:
            kind, datatype, scheme_name = "object", None, None
            target = str(rng) if rng is not None else None
        else:
            kind, datatype, scheme_name = "datatype", str(rng) if rng is not None else None, None
        if str(f) in fields:
            raise ValueError(f"{ttl_path}: record field {f} is carried by two properties")
        fields[str(f)] = {"property": local, "kind": kind, "datatype": datatype, "scheme": scheme_name,
                          "range": target}

    return {"sha256": _sha256(ttl_path), "classes": classes, "properties": properties,
            "tables": dict(sorted(tables.items())), "schemes": schemes, "operator_kinds": kinds,
            "regions": regions, "fields": dict(sorted(fields.items()))}


def write_cache(ttl_path: Path | str = TTL_PATH, cache_path: Path | str = CACHE_PATH) -> dict[str, Any]:
    """Derive the vocabulary from the Turtle file and write it to the JSON cache."""
    data = derive(ttl_path)
    Path(cache_path).write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                encoding="utf-8")
    return data


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    sha = _sha256(TTL_PATH)
    try:
        data = json.loads(CACHE_PATH.read_text(encoding="utf-8"))
        if data.get("sha256") == sha:
            return data
    except (OSError, ValueError):
        pass
    return derive(TTL_PATH)


@lru_cache(maxsize=1)
def _index() -> dict[str, dict[str, str]]:
    index: dict[str, dict[str, str]] = {}
    for name, scheme in _data()["schemes"].items():
        keys: dict[str, str] = {}
        for local, c in scheme["concepts"].items():
            for form in (local, c["zh"], c["en"], *c["alt"]):
                if form:
                    keys[_norm(form)] = local
            if name == "region":
                keys[_norm(local[len(_REGION_PREFIX):])] = local
        index[name] = keys
    return index


# --------------------------------------------------------------------------- public API

#: names of the concept schemes
SCHEMES: tuple[str, ...] = tuple(sorted(_data()["schemes"]))


def _scheme(scheme: str) -> dict[str, Any]:
    try:
        return _data()["schemes"][scheme]
    except KeyError:
        raise KeyError(f"unknown concept scheme {scheme!r}; known: {', '.join(SCHEMES)}") from None


def lookup(scheme: str, text: object) -> str | None:
    """The local name of the concept of ``scheme`` that ``text`` names, or None.

    Chinese and English preferred labels, alternative labels and the local name
    itself are accepted, case-insensitively and ignoring white space. For the
    ``region`` scheme the result is the region id and the GB/T 2260 code is
    accepted too.

    Parameters
    ----------
    scheme : str
        One of :data:`SCHEMES`.
    text : str
        The value as written.

    Raises
    ------
    KeyError
        For an unknown scheme.

    Examples
    --------
    >>> lookup("operator_kind", "蔬菜基地"), lookup("category", "Pork"), lookup("boolean", "是")
    ('CropFarm', 'pork', 'true')
    >>> lookup("hazard_class", "")
    """
    _scheme(scheme)
    if text is None:
        return None
    key = _norm(text)
    if not key:
        return None
    return _index()[scheme].get(key)


def labels(scheme: str) -> dict[str, tuple[str, str]]:
    """``{local_name: (Chinese label, English label)}`` of a scheme's concepts.

    >>> labels("scale")["micro"]
    ('微型', 'Micro')
    """
    return {local: (c["zh"], c["en"]) for local, c in _scheme(scheme)["concepts"].items()}


def scheme_iri(scheme: str) -> str:
    """The IRI of a concept scheme.

    >>> scheme_iri("conclusion")
    'https://w3id.org/foodtrace/vocab/conclusion'
    """
    return _scheme(scheme)["iri"]


def concept_iri(scheme: str, local: str) -> str:
    """The IRI of a concept, from its scheme and local name.

    Raises
    ------
    KeyError
        When the scheme has no such concept.

    >>> concept_iri("operator_kind", "Farm")
    'https://w3id.org/foodtrace/ontology#Farm'
    """
    try:
        return _scheme(scheme)["concepts"][local]["iri"]
    except KeyError:
        raise KeyError(f"scheme {scheme!r} has no concept {local!r}") from None


def concept_local(scheme: str, iri: str) -> str | None:
    """The local name of a concept IRI of ``scheme`` (the inverse of :func:`concept_iri`).

    >>> concept_local("category", "https://w3id.org/foodtrace/vocab/category/egg")
    'egg'
    """
    for local, c in _scheme(scheme)["concepts"].items():
        if c["iri"] == iri:
            return local
    return None


def region_records() -> list[Region]:
    """Region records of Nantong (南通市, 320600) and its seven districts, city first.

    >>> [r.name for r in region_records()][:2]
    ['南通市', '崇川区']
    """
    return [Region(**r) for r in _data()["regions"]]


def operator_kinds() -> dict[str, str]:
    """``{kind: parent}`` of the operator kinds (subclasses of ``ft:Operator``).

    >>> operator_kinds()["Workshop"], operator_kinds()["Farm"]
    ('Producer', 'Operator')
    """
    return dict(_data()["operator_kinds"])


def kind_ancestors(kind: str) -> tuple[str, ...]:
    """A kind and its superclasses up to ``Operator``.

    Raises
    ------
    KeyError
        For an unknown kind.
    """
    kinds = _data()["operator_kinds"]
    if kind == "Operator":
        return ("Operator",)
    if kind not in kinds:
        raise KeyError(f"unknown operator kind {kind!r}; known: {', '.join(sorted(kinds))}")
    chain = [kind]
    while chain[-1] != "Operator":
        chain.append(kinds.get(chain[-1], "Operator"))
    return tuple(chain)


def field_properties() -> dict[tuple[str, str], FieldProperty]:
    """``{(record table, field name): FieldProperty}`` for every record field but ``id``.

    >>> field_properties()[("delivery", "sender_id")]
    FieldProperty(property='https://w3id.org/foodtrace/ontology#sender', kind='object', datatype=None, scheme=None, range='https://w3id.org/foodtrace/ontology#Operator')
    >>> field_properties()[("sample", "plan")].scheme
    'sample_plan'
    """
    out = {}
    for key, f in _data()["fields"].items():
        table, name = key.split(".", 1)
        out[(table, name)] = FieldProperty(FT_NS + f["property"], f["kind"], f["datatype"], f["scheme"], f["range"])
    return out


def table_for_class(class_iri: str) -> str | None:
    """The record table whose records are instances of a class, or None.

    >>> table_for_class("https://w3id.org/foodtrace/ontology#Lot")
    'lot'
    """
    for table, local in _data()["tables"].items():
        if FT_NS + local == class_iri:
            return table
    return None


def class_for_table(table: str) -> str:
    """The class IRI of a record table.

    >>> class_for_table("transformation_item")
    'https://w3id.org/foodtrace/ontology#TransformationItem'
    """
    try:
        return FT_NS + _data()["tables"][table]
    except KeyError:
        raise KeyError(f"no ontology class for record table {table!r}") from None


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    write_cache()
    print(f"wrote {CACHE_PATH}")
