"""The corrections template: one field of one stored record per row, with the new value and the reason.

``foodtrace load corrections.xlsx`` recognises the template by its headers (标识/id, 字段/field, 新值/value,
原因/reason, optionally 记录类型/table) and, instead of merging records, applies each good row as a
:class:`graph.versions.Correction`: the store keeps the previous value with who, when, which file and
why (``foodtrace history ID``). A row is read the way the templates read their cells: the id in any
identifier form the store knows, the field by its template header, Chinese label or English key, the
value written as in the templates (dates, 是/否, vocabulary terms in Chinese or English, references in
any identifier form); an empty value clears the field. A bad row is rejected with its reason and the
good rows are applied, all in one transaction.

>>> parse_value("operator", "kind", "摊位", None)
'Stall'
>>> parse_value("lot", "quantity", "1,200", None)
1200.0
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from graph.versions import APPEND_ONLY, Correction, check_correction
from ontology import identifiers as ids
from ontology import vocab
from ontology.errors import FoodtraceError, InvalidRecord
from ontology.records import PLACEHOLDERS, RECORD_TYPES, record_fields, record_type

from .base import LoadNote, Reject
from .rows import row_text, sheets_to_read, skip_reason
from .tables import read_tables
from .templates import _clean, detect_kind, header_map, parse_bool, parse_date, parse_datetime, parse_number

if TYPE_CHECKING:
    from graph.store import Store

__all__ = ["KIND", "read", "parse_value", "field_name", "table_of", "record_of", "correction_of", "BadCorrection"]

#: the template kind (loaders.template_spec.TEMPLATES)
KIND = "corrections"

_CHECKED_IDS = {"uscc": ids.valid_uscc, "gln": ids.valid_gln, "gtin": ids.gtin14}


class BadCorrection(InvalidRecord):
    """A correction row that cannot be applied: the field (template key), the value and the reason."""

    def __init__(self, field: str, value: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.value, self.reason = field, value, reason


def table_of(text: str) -> str | None:
    """A record table named by its table name, class name or Chinese name (经营主体, Operator, operator)."""
    t = _clean(text)
    for rtype in RECORD_TYPES:
        if t in (rtype.table, rtype.cls, rtype.zh) or t.lower() in (rtype.table, rtype.cls.lower()):
            return rtype.table
    return None


def record_of(store: "Store", identifier: str, table: str | None, *, option: str = "table") -> tuple[str, str]:
    """The canonical id and table of the one record ``identifier`` names (any identifier form), for a correction,
    a deletion or a history: ``table`` (a name :func:`table_of` reads) picks one where the id names records of
    several types (``option`` is how the caller spells that choice in its message). NotFound for an unknown
    identifier or a table it names no record of; InvalidRecord where several types fit and none is given."""
    from ontology.errors import NotFound

    rid = store.require(identifier)
    tables = [t.table for t in RECORD_TYPES if store.get(t.table, rid) is not None]
    if table:
        named = table_of(table)
        if named not in tables:
            raise NotFound(f"{identifier!r} names no {table} record")
        return rid, named  # type: ignore[return-value]
    if len(tables) != 1:
        raise InvalidRecord(f"{identifier!r} names records of several types ({', '.join(tables)}): give {option}")
    return rid, tables[0]


def field_name(table: str, text: str) -> str | None:
    """The field of ``table`` a header names: its key, template header (English key) or Chinese label."""
    t = _clean(text)
    for f in record_fields(record_type(table)):
        if t in (f.name, f.metadata["en"], f.metadata["zh"]) or t.lower() in (f.name, f.metadata["en"].lower()):
            return f.name
    return None


def parse_value(table: str, field: str, text: str, store: "Store | None") -> Any:
    """A cell's text as the value of ``table.field`` (None for an empty cell); InvalidRecord with the reason."""
    text = _clean(text)
    if not text:
        return None
    meta = next(f for f in record_fields(record_type(table)) if f.name == field).metadata
    kind = meta["type"]
    try:
        if kind == "date":
            return parse_date(text)
        if kind == "datetime":
            return parse_datetime(text)
        if kind == "float":
            return parse_number(text)
        if kind == "int":
            return int(parse_number(text))
        if kind == "bool":
            return parse_bool(text)
    except (ValueError, FoodtraceError) as e:
        raise InvalidRecord(str(e)) from None
    if field in _CHECKED_IDS:
        try:
            return _CHECKED_IDS[field](text)
        except (ValueError, FoodtraceError) as e:
            raise InvalidRecord(str(e)) from None
    prop = vocab.field_properties().get((table, field))
    if prop is not None and prop.scheme:
        term = vocab.lookup(prop.scheme, text)
        if term is None:
            known = ", ".join(zh for zh, _ in list(vocab.labels(prop.scheme).values())[:12])
            raise InvalidRecord(f"{text!r} is not a term of {prop.scheme} (e.g. {known})")
        return term
    if prop is not None and prop.kind == "object" and (prop.range or "").endswith("#Region"):
        term = vocab.lookup("region", text)
        if term is None:
            raise InvalidRecord(f"{text!r} is not a district or county of Nantong (崇川区 通州区 海门区 如皋市 如东县 "
                                "启东市 海安市, or the division code)")
        return term
    if prop is not None and prop.kind == "object" and field.endswith("_id"):
        found = store.resolve(text) if store is not None else None
        if found is None:
            raise InvalidRecord(f"no record has the identifier {text!r}")
        return found
    return text


def correction_of(store: "Store", cells: dict[str, str]) -> Correction:
    """The correction a row asks for (cells by template key: id, table, field, value, reason); _Bad otherwise."""
    given = _clean(cells.get("id", ""))
    if not given:
        raise BadCorrection("id", "", "no id: say which record to correct")
    rid = store.resolve(given)
    if rid is None:
        raise BadCorrection("id", given, f"no record has the identifier {given!r}")
    tables = [t.table for t in RECORD_TYPES if store.get(t.table, rid) is not None]
    named = _clean(cells.get("table", ""))
    if named:
        table = table_of(named)
        if table is None:
            raise BadCorrection("table", named, f"{named!r} is not a record type (e.g. 经营主体/operator, 批次/lot)")
        if table not in tables:
            raise BadCorrection("table", named, f"{given!r} names no {table} record")
    elif len(tables) == 1:
        table = tables[0]
    else:
        raise BadCorrection("table", "", f"{given!r} names records of several types ({', '.join(tables)}): "
                   "give 记录类型/table" if tables else f"{given!r} names no record")
    if table in APPEND_ONLY:
        raise BadCorrection("id", given, f"{table} records are append-only and cannot be corrected")
    text = _clean(cells.get("field", ""))
    field = field_name(table, text) if text else None
    if field is None or field in ("id", PLACEHOLDERS):
        known = ", ".join(f"{f.metadata['zh']}/{f.name}" for f in record_fields(record_type(table))
                          if f.name not in ("id", PLACEHOLDERS))
        raise BadCorrection("field", text, f"{record_type(table).zh} has no field {text!r} to correct (fields: {known})")
    reason = _clean(cells.get("reason", ""))
    if not reason:
        raise BadCorrection("reason", "", "a correction needs a reason")
    try:
        value = parse_value(table, field, cells.get("value", ""), store)
    except InvalidRecord as e:
        raise BadCorrection("value", _clean(cells.get("value", "")), str(e)) from None
    c = Correction(table, rid, field, value, reason)
    try:
        check_correction(c)
    except InvalidRecord as e:
        raise BadCorrection("value", _clean(cells.get("value", "")), str(e)) from None
    return c


def read(path: str | Path, rejects: list[Reject], *, store: "Store",
         notes: list[LoadNote] | None = None) -> list[Correction]:
    """The corrections of a template file's good rows; one :class:`Reject` per bad row, one :class:`LoadNote` per
    row or sheet that is no record (a 合计 or 注 row, a 说明 sheet: :mod:`loaders.rows`)."""
    path = Path(path)
    notes = notes if notes is not None else []
    out: list[Correction] = []
    def is_header(cells: list[str]) -> bool:
        return detect_kind(cells) == KIND

    for table in sheets_to_read(str(path), read_tables(path, is_header=is_header),
                                lambda t: is_header(t.header), (), notes, rejects, "corrections"):
        cols = header_map(KIND, table.header)
        for row_no, cells in table.rows:
            why = skip_reason(cells, table.header, span=table.spans.get(row_no, 0), is_header=is_header)
            if why is not None:
                notes.append(LoadNote(str(path), table.sheet or "", row_no, why, row_text(cells)))
                continue
            named = {k: (cells[i] if i < len(cells) else "") for k, i in cols.items()}
            try:
                out.append(correction_of(store, named))
            except BadCorrection as e:
                header = table.header[cols[e.field]] if e.field in cols else e.field
                rejects.append(Reject(str(path), row_no, header, e.value, e.reason))
    return out


def rows_of(corrections: Iterable[Correction]) -> list[dict[str, Any]]:
    """Corrections as plain dicts (for reports)."""
    return [{"table": c.table, "id": c.id, "field": c.field, "value": c.value, "reason": c.reason}
            for c in corrections]
