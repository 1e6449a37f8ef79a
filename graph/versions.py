"""Record versions: every change of a stored record keeps the previous version, with who, when, from what and why.

Every :meth:`graph.store.Store.write` is one *batch*: a numbered entry saying what kind of write it was
(``load`` of a file, ``capture`` of an EPCIS document, ``upload``, ``correction``, ``grade`` ...), who made
it, from which file or request (with the file's SHA-256), why, when, and how many records it received and
changed (:class:`Batch`). A record that a write changes, corrects, deletes or erases leaves its previous
values behind as a :class:`Version` naming that batch; nothing is overwritten without a trace. Records
written by a source (a loaded file, a captured document, an upload) remember the source's *tag* (the
number of the first batch that loaded that content), so that :func:`unload` can take back everything a
file loaded while keeping what another source also says.

The rules here are written once over a small set of primitives each backend provides in one
transaction (:class:`Editor`): corrections (:func:`correct`), deletion of records with their aliases
(:func:`delete`, refused while other records refer to them), unloading a source (:func:`unload`), erasure
of a natural person's personal data (:func:`erase`: a tombstone; the station stays on every trace; the
personal values are scrubbed from the previous versions too), a record as it was at a past time
(:func:`record_as_of`) and a record's whole story (:func:`history`).

Placeholders (:data:`ontology.records.PLACEHOLDERS`) are merged by :func:`merge_changes`: a placeholder
fills an empty field and never replaces a value; a value that is no placeholder replaces one. The
embedded store says the same in SQL (``graph/sqlite.py``); the contract suite holds both to it.

>>> merge_changes(["id", "kind", "name", "placeholders"], {"id": "x", "kind": "Stall", "name": "甲摊"},
...               ["x", "Operator", "6901234000016", "kind name"], placeholders=True) is None
True
>>> merge_changes(["id", "kind", "name", "placeholders"], {"id": "x", "kind": "Operator", "name": "x",
...               "placeholders": "kind name"}, ["x", "Stall", None, None], placeholders=True)
{'kind': 'Stall', 'placeholders': 'name'}
"""

from __future__ import annotations

import dataclasses
import hashlib
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Protocol, Sequence

from ontology.errors import InvalidRecord, NotFound
from ontology.records import (ERASED_NAME, PERSONAL_FIELDS, PLACEHOLDERS, RECORD_TYPES, Record, record_fields, record_type, to_dict)
from ontology.times import epoch, now_iso

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "SOURCE_KINDS",
    "APPEND_ONLY",
    "WriteContext",
    "Batch",
    "Version",
    "Correction",
    "UnloadStats",
    "Editor",
    "merge_changes",
    "check_correction",
    "merged_placeholders",
    "reference_fields",
    "record_values",
    "correct",
    "delete",
    "unload",
    "erase",
    "record_as_of",
    "history",
    "erased_id",
]

#: kinds of write whose records remember their source (so that ``foodtrace unload`` can take them back)
SOURCE_KINDS = frozenset({"load", "upload", "capture"})
#: record types that are never corrected or deleted one by one (their own rules keep them append-only)
APPEND_ONLY = frozenset({"event", "retraction", "risk_assessment", "grade_override"})


@dataclass(frozen=True)
class WriteContext:
    """Who writes, what kind of write it is, from which file or request, and why.

    ``kind``: ``load`` (a file), ``upload``, ``capture`` (an EPCIS document received), ``correction``,
    ``delete``, ``unload``, ``erase``, ``restore``, ``grade``, ``override``, ``publish`` or ``write`` (anything
    else). ``source``: the file path or the request; ``digest``: the SHA-256 of the content, so that the same
    file loaded again is the same source; ``reason``: why, where given.
    """

    kind: str = "write"
    actor: str | None = None
    source: str | None = None
    digest: str | None = None
    reason: str | None = None

    @property
    def tags_records(self) -> bool:
        """Whether the records this write carries remember its source."""
        return self.kind in SOURCE_KINDS


@dataclass(frozen=True)
class Batch:
    """One write, as the store recorded it."""

    id: int
    time: str
    kind: str
    actor: str | None = None
    source: str | None = None
    digest: str | None = None
    reason: str | None = None
    #: the source tag its records carry (the first batch that loaded the same content), or None
    tag: int | None = None
    received: int = 0
    changed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Version:
    """The values a record had before a batch changed (``op="update"``) or removed (``op="delete"``) it."""

    seq: int
    table: str
    id: str
    op: str
    batch: int | None
    reason: str | None
    values: dict[str, Any]

    def record(self) -> Record:
        return record_from_values(self.table, self.values)


@dataclass(frozen=True)
class Correction:
    """Set one field of one record to a new value (None clears it), with the reason."""

    table: str
    id: str
    field: str
    value: Any
    reason: str


@dataclass
class UnloadStats:
    """What an unload did, per table: records deleted, records kept because another source has them,
    records whose values were put back as they were before the source changed them."""

    deleted: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    reverted: dict[str, int] = field(default_factory=dict)
    batch: int | None = None


class Editor(Protocol):
    """The primitives a backend offers inside one write transaction (see :meth:`graph.store.Store.edit`).

    Every change made through them keeps the previous version under the editor's batch.
    """

    batch: int

    def get_many(self, table: str, ids: Iterable[str]) -> dict[str, Record]: ...
    def find(self, table: str, field: str, value: str) -> list[str]: ...
    def tagged(self, table: str, tag: int) -> list[str]: ...
    def sources(self, table: str, ids: Iterable[str]) -> dict[str, list[int]]: ...
    def set_sources(self, table: str, id: str, tags: list[int]) -> None: ...
    def update(self, table: str, id: str, values: Mapping[str, Any], reason: str | None = None) -> None: ...
    def insert(self, records: Sequence[Record]) -> None: ...
    def delete(self, table: str, ids: Sequence[str], reason: str | None = None) -> None: ...
    def versions(self, ids: Iterable[str]) -> list[Version]: ...
    def batches(self, ids: Iterable[int]) -> dict[int, Batch]: ...
    def rewrite_versions(self, ids: Iterable[str], fn: Callable[[Version], dict[str, Any] | None],
                         new_id: str | None = None) -> None: ...


# -- merging values (the rule both backends keep) -----------------------------------------------------

def merged_placeholders(columns: Sequence[str], old: Mapping[str, Any], new: Sequence[Any]
                        ) -> tuple[dict[str, Any], str | None]:
    """The values and placeholder marks after writing the row ``new`` over the stored values ``old``.

    A field empty in ``new`` keeps its stored value and mark; a placeholder in ``new`` fills an empty
    field and never replaces a value; any other value replaces the stored one, placeholder or not.
    """
    i_ph = columns.index(PLACEHOLDERS)
    new_marks = set((new[i_ph] or "").split())
    old_marks = set((old.get(PLACEHOLDERS) or "").split())
    values: dict[str, Any] = {}
    marks: list[str] = []
    for c, v in zip(columns, new):
        if c in ("id", PLACEHOLDERS):
            continue
        keep = v is None or (c in new_marks and old.get(c) is not None)
        values[c] = old.get(c) if keep else v
        if (c in old_marks) if keep else (c in new_marks):
            marks.append(c)
    return values, (" ".join(marks) or None)


def merge_changes(columns: Sequence[str], old: Mapping[str, Any], new: Sequence[Any], *,
                  placeholders: bool = False) -> dict[str, Any] | None:
    """The fields to set when the row ``new`` (values in ``columns`` order) is written over a stored
    record whose values are ``old``; None when nothing changes.

    Non-empty values replace, empty ones keep; with ``placeholders`` (a record type carrying
    :data:`ontology.records.PLACEHOLDERS`) a placeholder never replaces a stored value.
    """
    if not placeholders:
        out = {c: v for c, v in zip(columns, new) if v is not None and c != "id" and old.get(c) != v}
        return out or None
    values, marks = merged_placeholders(columns, old, new)
    out = {c: v for c, v in values.items() if old.get(c) != v}
    if marks != (old.get(PLACEHOLDERS) or None):
        out[PLACEHOLDERS] = marks
    return out or None


# -- references between records ------------------------------------------------------------------------

#: reference fields whose name does not say the table they point to
_REF_TARGET = {"sender_id": "operator", "receiver_id": "operator", "station_id": "operator",
               "holder_id": "operator", "issuer_id": "operator", "sampled_id": "operator",
               "producer_id": "operator", "brand_owner_id": "operator", "operator_id": "operator",
               "origin_id": "region", "region_id": "region", "override_id": "grade_override",
               "assessment_id": "risk_assessment"}


def reference_fields(target: str) -> list[tuple[str, str]]:
    """(table, field) of every record field that refers to a record of ``target``.

    A field ``x_id`` refers to table ``x`` (``lot_id`` to lots); ``parent_id`` to its own table; the
    operator and region references are named by role (``sender_id``, ``origin_id`` ...); an alias's
    ``canonical_id`` may refer to anything.

    >>> ("delivery", "sender_id") in reference_fields("operator"), ("operator", "parent_id") in reference_fields("operator")
    (True, True)
    """
    tables = {t.table for t in RECORD_TYPES}
    out: list[tuple[str, str]] = []
    for rtype in RECORD_TYPES:
        for f in record_fields(rtype):
            n = f.name
            if not n.endswith("_id") or n == "id":
                continue
            to = rtype.table if n == "parent_id" else _REF_TARGET.get(n) or (n[:-3] if n[:-3] in tables else None)
            if to == target or n == "canonical_id":
                out.append((rtype.table, n))
    return out


def record_values(rec: Record) -> dict[str, Any]:
    """A record's fields as stored (for versions): every field, None included."""
    return to_dict(rec)


def record_from_values(table: str, values: Mapping[str, Any]) -> Record:
    """A record of ``table`` from stored values (unknown keys ignored, booleans restored)."""
    rtype = record_type(table)
    kw = {}
    for f in record_fields(rtype):
        v = values.get(f.name)
        if v is not None and f.metadata["type"] == "bool":
            v = bool(v)
        elif v is not None and f.metadata["type"] == "float" and isinstance(v, int):
            v = float(v)
        kw[f.name] = v
    return rtype(**kw)


# -- corrections ----------------------------------------------------------------------------------------

def check_correction(c: Correction) -> None:
    """Refuse a correction the rules forbid (append-only records, the id, a required field emptied)."""
    try:
        rtype = record_type(c.table)
    except KeyError as e:
        raise InvalidRecord(str(e.args[0])) from None
    if c.table in APPEND_ONLY:
        raise InvalidRecord(f"{rtype.__name__} records are append-only and cannot be corrected "
                            f"(EPCIS errors: an errorDeclaration; grades: an override)")
    if not (c.reason or "").strip():
        raise InvalidRecord(f"a correction of {c.id} needs a reason")
    fields = {f.name: f for f in record_fields(rtype)}
    if c.field not in fields or c.field in ("id", PLACEHOLDERS):
        known = ", ".join(n for n in fields if n not in ("id", PLACEHOLDERS))
        raise InvalidRecord(f"{rtype.__name__} has no field {c.field!r} to correct (fields: {known})")
    if c.value is None and fields[c.field].metadata.get("required"):
        raise InvalidRecord(f"{rtype.__name__}.{c.field} is required: it can be corrected, not emptied")


def correct(ed: Editor, corrections: Sequence[Correction]) -> list[tuple[Correction, Any]]:
    """Apply corrections in order; return (correction, previous value) of those that changed something.

    A corrected value is a known value: it stops being a placeholder. Unknown records raise NotFound.
    """
    for c in corrections:
        check_correction(c)
    done = []
    for c in corrections:
        rec = ed.get_many(c.table, [c.id]).get(c.id)
        if rec is None:
            raise NotFound(f"no {c.table.replace('_', ' ')} has the id {c.id!r}")
        old = getattr(rec, c.field)
        marks = set((getattr(rec, PLACEHOLDERS, None) or "").split())
        if old == c.value and c.field not in marks:
            continue
        values: dict[str, Any] = {c.field: c.value}
        if c.field in marks:
            values[PLACEHOLDERS] = " ".join(m for m in (getattr(rec, PLACEHOLDERS) or "").split() if m != c.field) or None
        ed.update(c.table, c.id, values, c.reason)
        done.append((c, old))
    return done


# -- deletion --------------------------------------------------------------------------------------------

def references_to(ed: Editor, table: str, ids: Iterable[str], *, limit: int = 5) -> list[tuple[str, str, str]]:
    """(table, id, field) of records referring to one of ``ids`` (aliases left out), at most ``limit``."""
    out: list[tuple[str, str, str]] = []
    wanted = list(ids)
    for rtable, f in reference_fields(table):
        if rtable == "alias":
            continue
        for i in wanted:
            for rid in ed.find(rtable, f, i):
                if rtable == table and rid in wanted:
                    continue
                out.append((rtable, rid, f))
                if len(out) >= limit:
                    return out
    return out


def delete(ed: Editor, table: str, ids: Sequence[str], reason: str | None) -> int:
    """Delete records of ``table`` and the aliases that resolve to them; refuse while others refer to them."""
    if table in ("event", "retraction"):
        raise InvalidRecord("EPCIS events are retracted by an errorDeclaration, or taken back with their file "
                            "(foodtrace unload)")
    found = ed.get_many(table, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"no {table.replace('_', ' ')} has the id {missing[0]!r}")
    refs = references_to(ed, table, ids)
    if refs:
        shown = "; ".join(f"{t} {i} ({f})" for t, i, f in refs)
        raise InvalidRecord(f"{len(refs)}{'+' if len(refs) >= 5 else ''} record(s) refer to {ids[0]}"
                            f"{' ...' if len(ids) > 1 else ''}: {shown}; delete those first, or unload the file "
                            "that loaded them all")
    aliases = [a for i in ids for a in ed.find("alias", "canonical_id", i) if a not in ids]
    if aliases:
        ed.delete("alias", aliases, reason)
    ed.delete(table, list(ids), reason)
    return len(ids)


def unload(ed: Editor, tags: set[int], reason: str | None) -> UnloadStats:
    """Take back everything the sources ``tags`` loaded.

    A record only these sources loaded is deleted (its last values kept as a version); a record another
    source also loaded stays and forgets these sources; where these sources made the record's latest
    change, its values go back to what they were before it.
    """
    stats = UnloadStats(batch=ed.batch)
    own_batches: set[int] | None = None
    for rtype in RECORD_TYPES:
        table = rtype.table
        ids: list[str] = []
        for tag in sorted(tags):
            ids.extend(ed.tagged(table, tag))
        ids = list(dict.fromkeys(ids))
        if not ids:
            continue
        srcs = ed.sources(table, ids)
        gone = [i for i in ids if set(srcs.get(i, ())) <= tags]
        kept = [i for i in ids if not set(srcs.get(i, ())) <= tags]
        for i in kept:
            ed.set_sources(table, i, [t for t in srcs[i] if t not in tags])
        if kept:
            if own_batches is None:
                own_batches = {b.id for b in _batches_of_tags(ed, tags)}
            latest: dict[str, Version] = {}
            for v in ed.versions(kept):
                if v.table == table:
                    latest[v.id] = v
            for i, v in latest.items():
                if v.op == "update" and v.batch in own_batches:
                    current = ed.get_many(table, [i]).get(i)
                    if current is None:
                        continue
                    back = {k: v.values.get(k) for k in record_values(current) if k != "id"
                            and v.values.get(k) != getattr(current, k)}
                    if back:
                        ed.update(table, i, back, reason)
                        stats.reverted[table] = stats.reverted.get(table, 0) + 1
            stats.kept[table] = len(kept)
        if gone:
            ed.delete(table, gone, reason)
            stats.deleted[table] = len(gone)
    return stats


def _batches_of_tags(ed: Editor, tags: set[int]) -> list[Batch]:
    """The batches that wrote with one of these source tags (the tag is the first such batch's number)."""
    return [b for b in ed.batches(None).values() if b.tag in tags]  # type: ignore[arg-type]


# -- erasure of a natural person's personal data ----------------------------------------------------------

def erased_id(operator_id: str) -> str:
    """The id an erased operator takes when its id itself holds personal data (a name, an ID number).

    >>> erased_id("urn:foodtrace:operator:张三").startswith("urn:foodtrace:operator:erased:"), len(erased_id("x"))
    (True, 50)
    """
    return "urn:foodtrace:operator:erased:" + hashlib.sha256(operator_id.encode("utf-8")).hexdigest()[:20]


def _personal_texts(rec: Record) -> list[str]:
    texts = [getattr(rec, f) for f in PERSONAL_FIELDS["operator"]]
    return [t for t in texts if isinstance(t, str) and len(t.strip()) >= 2]


def erase(ed: Editor, operator_id: str, *, actor: str | None, when: str | None = None) -> str:
    """Erase a natural person's personal data from an operator; return the operator's id afterwards.

    The operator stays as a tombstone (name :data:`ontology.records.ERASED_NAME`, ``erased`` and
    ``erased_by`` set; its kind, district, category and links kept) so that traces still pass through
    the station. Name, English name, USCC, licence, address, contact, phone and coordinates are removed
    from the record and from every previous version of it; aliases spelling them are deleted with their
    versions. Where the id itself spells them (``urn:foodtrace:operator:张三``), the operator takes the id
    :func:`erased_id` (the record keeps its sources) and every record referring to it follows.
    """
    rec = ed.get_many("operator", [operator_id]).get(operator_id)
    if rec is None:
        raise NotFound(f"no operator has the id {operator_id!r}")
    if getattr(rec, "individual") is False:
        raise InvalidRecord(f"{operator_id} is recorded as a business, not a natural person (个体): its registered "
                            "data is not personal data; correct 个体/individual first if it is a person")
    when = when or now_iso()
    texts = _personal_texts(rec)
    personal = PERSONAL_FIELDS["operator"]
    tomb: dict[str, Any] = {f: None for f in personal}
    tomb.update(name=ERASED_NAME, erased=when, erased_by=actor or "unknown", individual=True)
    marks = [m for m in (getattr(rec, PLACEHOLDERS) or "").split() if m not in personal]
    tomb[PLACEHOLDERS] = " ".join(marks) or None

    def spells(text: str) -> bool:
        return any(t in text for t in texts)

    new_id = erased_id(operator_id) if spells(operator_id) else operator_id
    moved: list[str] = []  # records that referred to the old id: their versions are rewritten below
    for alias in ed.find("alias", "canonical_id", operator_id):
        if spells(alias):
            ed.delete("alias", [alias], "erasure")
            ed.rewrite_versions([alias], lambda v: None)
        elif new_id != operator_id:
            ed.update("alias", alias, {"canonical_id": new_id}, "erasure")
            moved.append(alias)
    scrub = {f: tomb[f] for f in personal}

    def scrubbed(v: Version) -> dict[str, Any] | None:
        values = dict(v.values)
        if v.table == "operator" and v.id in (operator_id, new_id):
            values.update(scrub)
            values["id"] = new_id
        return {k: (new_id if val == operator_id else val) for k, val in values.items()}

    if new_id != operator_id:
        tomb["id"] = new_id  # the record keeps its sources and place; only its id changes
    ed.update("operator", operator_id, tomb, "erasure")
    ed.rewrite_versions([operator_id], scrubbed, new_id=new_id)
    if new_id != operator_id:
        for rtable, f in reference_fields("operator"):
            if rtable == "alias":
                continue
            for rid in ed.find(rtable, f, operator_id):
                ed.update(rtable, rid, {f: new_id}, "erasure")
                moved.append(rid)
    if moved:  # the versions of the records that referred to the old id
        ed.rewrite_versions(moved, scrubbed)
    return new_id


# -- reading the story of a record ----------------------------------------------------------------------

def record_as_of(store: "Store", table: str, id: str, when: Any) -> Record | None:
    """The record as it was at the instant ``when`` (an ISO time, or a day: its end), from the versions
    kept; None where it did not exist yet (as far as its sources tell) or was deleted by then."""
    from ontology.times import parse_day, parse_instant

    try:
        t = parse_instant(when)
    except Exception:
        d = parse_day(when)
        t = parse_instant(f"{d.isoformat()}T23:59:59.999999+08:00")
    at = t.timestamp()
    versions = [v for v in store.versions([id]) if v.table == table]
    batch_ids = {v.batch for v in versions if v.batch is not None}
    tags = store.sources(table, [id]).get(id, [])
    batches = store.batches(batch_ids | set(tags))
    first = min((epoch(batches[t].time) for t in tags if t in batches), default=None)
    if first is not None and first > at:
        return None  # its first source came later
    for v in versions:
        b = batches.get(v.batch) if v.batch is not None else None
        if b is not None and epoch(b.time) > at:
            return record_from_values(table, v.values)
    return store.get(table, id)


def history(store: "Store", identifier: str) -> dict[str, Any]:
    """The story of one record: where it came from, every change with who, when, from what and why (the
    values before and after), and its current values (None once deleted)."""
    ident = identifier.strip()
    table = None
    rid = store.resolve(ident)
    if rid is not None:
        for t in RECORD_TYPES:
            if store.get(t.table, rid) is not None:
                table = t.table
                break
    rid = rid or ident
    versions = store.versions([rid])
    if table is None:
        tables = {v.table for v in versions}
        if not tables:
            raise NotFound(f"no record has the identifier {identifier!r} (nor had: no version is kept)")
        table = sorted(tables)[0]
        versions = [v for v in versions if v.table == table]
    current = store.get(table, rid)
    tags = store.sources(table, [rid]).get(rid, [])
    batches = store.batches({v.batch for v in versions if v.batch is not None} | set(tags))
    changes = []
    for i, v in enumerate(versions):
        after = versions[i + 1].values if i + 1 < len(versions) else (record_values(current) if current else None)
        if v.op == "delete":
            diff = {k: [val, None] for k, val in v.values.items() if val is not None and k != "id"}
        else:
            after = after or {}
            diff = {k: [v.values.get(k), after.get(k)] for k in sorted(set(v.values) | set(after))
                    if k != "id" and v.values.get(k) != after.get(k)}
        b = batches.get(v.batch) if v.batch is not None else None
        changes.append({"seq": v.seq, "op": v.op, "reason": v.reason, "changes": diff,
                        "batch": b.as_dict() if b else None, "before": v.values})
    return {"table": table, "id": rid, "current": record_values(current) if current else None,
            "sources": [batches[t].as_dict() for t in tags if t in batches], "versions": changes}


#: the context manager a store's :meth:`~graph.store.Store.edit` returns
EditSession = AbstractContextManager
