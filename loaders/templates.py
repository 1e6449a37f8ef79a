"""The CSV / Excel template loader: spreadsheets of every kind in :mod:`loaders.template_spec`.

parse -> normalise -> emit: :mod:`loaders.tables` reads the sheet; each row is
normalised by pure functions (dates, quantities, units, controlled terms,
identifiers with their check digits); the row's records are yielded. A bad row
becomes one :class:`loaders.base.Reject` naming the row, the column as headed in
the file, the value and the reason; the other rows still load.

Headers
    A column is recognised by its Chinese header (what the blank template
    shows, e.g. ``发货方``) or its English key (``from``), in any mix and order,
    case and spacing ignored; ``发货方/from`` or ``发货方(from)`` work too, and a
    trailing ``*`` is ignored. The template kind is the one whose required
    columns are all present and that matches most columns; unknown extra
    columns are ignored. A table matching no template is one reject for the
    file (row ``header``) naming the closest templates and what they lack.
Cells
    Empty, ``/``, ``-`` and ``—`` mean "not given". Dates: ``2026-03-01``,
    ``2026/3/1``, ``2026.3.1``, ``20260301``, ``2026年3月1日``, Excel date cells and
    date serials. Date-times: the same with ``8:00`` or ``08:00:00`` after a space
    or ``T``, an optional offset (``+08:00``, ``Z``); without an offset it is
    Beijing time (+08:00). Quantities must be numbers > 0 (``1,200`` is 1200).
    Units: :func:`ontology.units.normalise_quantity` (斤 and 两 become kilograms).
    Yes/no: 是 否 Y N yes no true false 1 0 有 无. Controlled terms:
    :func:`ontology.vocab.lookup`; an unknown term is rejected listing the
    accepted values.
Identifiers
    Operators: canonical id by GLN, else 统一社会信用代码, else the local number
    (``id`` column), else the name; every other form is an ``Alias`` (bare GLN,
    bare USCC, the local number bare and as ``urn:foodtrace:operator:{number}``,
    and the name-keyed ``urn:foodtrace:operator:{name}`` of a non-individual
    operator, so that sampling announcements naming it resolve to it).
    Products: GTIN, else the local number, else the name, with aliases alike.
    GTIN/GLN check digits and the USCC check character are verified; a bad one
    rejects the row naming the column and the expected character.
References
    A reference to an operator, product or lot is resolved, in order: a GS1 key
    or USCC by its canonical form; an EPC URN or Digital Link by
    :func:`ontology.identifiers.canonical`; a local number defined earlier in
    the same file or already in ``store``; an identifier the store knows under
    any form. Otherwise a *stub* is minted: ``operator_id(local=value)`` with
    ``kind="Operator"`` and ``name=value`` (or a product named by the value), so
    the row still loads and the gap is visible. A stub is emitted only when
    the entity is not already known, so it never overwrites real data. An
    empty required reference rejects the row.
Lots
    A lot is given in the ``lot`` column in any form (Digital Link, EPC URN, a
    trace code or lot id the store knows), or as ``product`` + ``lot_number`` (+
    ``producer``, which scopes a bare lot number: give the same producer
    everywhere the lot appears). A stub ``Lot`` with its product and number is
    emitted for every lot referenced, so deliveries of lots never declared
    still trace.

Numbers that are not unique across senders (ticket, certificate and delivery
numbers) are not aliased; a certificate given in a delivery row without its
kind is found by its number when the certificates template was loaded before,
else it is of kind ``other``.

Large files
    A CSV of 2 MB or more of a template whose rows depend only on themselves, the
    store and what earlier rows emitted (deliveries, certificates, trace codes,
    lots: :data:`PARALLEL_TEMPLATES`) is read on several processes as an EPCIS
    document is (:class:`_Parallel`, :mod:`loaders.forked`), into a Neo4j store
    or where :data:`LOCAL_MIN_PROCESSES` may run: the records, rejects and notes
    are exactly those of one process.

>>> detect_kind(["发货方", "收货方", "发货时间", "数量", "单位", "批次标识"])
'deliveries'
>>> detect_kind(["sample", "item", "结论"])
'test_results'
>>> parse_date("2026年3月1日"), parse_date("20260301"), parse_date("46082")
('2026-03-01', '2026-03-01', '2026-03-01')
>>> parse_datetime("2026/3/1 8:00")
'2026-03-01T08:00:00+08:00'
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import gc
import hashlib
import itertools
import math
import re
import unicodedata
import weakref
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from ontology import identifiers as ids
from ontology import times, vocab
from ontology.errors import FoodtraceError, InvalidIdentifier, InvalidRecord
from ontology.records import (Alias, Banquet, BanquetCensus, BanquetGuidance, Case, Certificate, Chef, Complaint,
                              CreditRecord, Delivery, DisposalCase, HandlingStep, Inspection, KitchenCamera, KitchenDay,
                              KitchenProblem, Lot, MajorEvent, Operator, Product, Record, Sample, TestResult, Ticket,
                              TraceCode, Transformation, TransformationItem, with_placeholders)
from ontology.times import BEIJING, day_of
from ontology.units import concentration_factor, normalise_quantity, split_quantity

from . import forked
from .base import LoadNote, ReadOptions, Reject
from .measures import hazard_class_of, parse_measure
from ontology.names import operator_id_for
from .rows import plan_sheets, row_text, sheets_to_read, skip_reason
from .tables import Table, read_tables, write_table
from .template_spec import LOAD_ORDER, TEMPLATES, Template

if TYPE_CHECKING:
    from graph.store import Store

__all__ = [
    "read",
    "detect_kind",
    "header_map",
    "write_blank_templates",
    "columns_markdown",
    "parse_date",
    "parse_datetime",
    "parse_number",
    "parse_quantity",
    "parse_bool",
]

EMPTY = frozenset({"", "/", "-", "—", "--", "－", "／"})
#: no date in a template is earlier (the templates record trade, samples and cases of the present system)
EARLIEST_DAY = "1990-01-01"
#: date columns that may lie ahead (expiries, validity, deadlines, the end of a publication period); the others
#: record what happened and may be at most a day in the future
FUTURE_COLUMNS = frozenset({"expiry_date", "valid_until", "disposal_due", "due", "end", "health_cert_expiry"})
#: columns of one template that may name a day to come: a banquet is registered before it is held, an event is
#: entered before it starts
FUTURE_COLUMNS_OF: dict[str, frozenset[str]] = {"banquets": frozenset({"date"}),
                                                 "major_events": frozenset({"start"})}


class _Bad(Exception):
    """A row problem: the column key, the value and the reason."""

    def __init__(self, key: str, value: object, reason: str):
        super().__init__(reason)
        self.key, self.value, self.reason = key, "" if value is None else str(value), reason


# -- headers ----------------------------------------------------------------------------------

def _norm_header(h: str) -> str:
    return "".join(unicodedata.normalize("NFKC", str(h)).casefold().split()).rstrip("*").replace("_", "")


_INDEX: dict[str, dict[str, str]] = {
    t.kind: {**{_norm_header(c.key): c.key for c in t.columns}, **{_norm_header(c.zh): c.key for c in t.columns}}
    for t in TEMPLATES.values()
}


def _header_key(index: dict[str, str], header: str) -> str | None:
    n = _norm_header(header)
    if n in index:
        return index[n]
    for part in re.split(r"[/（）()|]", n):
        if part and part in index:
            return index[part]
    return None


def header_map(kind: str, headers: list[str]) -> dict[str, int]:
    """Column key -> position of the headers that template ``kind`` knows (the first of duplicates).

    >>> header_map("deliveries", ["备注", "发货方/from", "TO", "数量*"])
    {'from': 1, 'to': 2, 'quantity': 3}
    """
    out: dict[str, int] = {}
    for i, h in enumerate(headers):
        k = _header_key(_INDEX[kind], h)
        if k is not None and k not in out:
            out[k] = i
    return out


def _score(kind: str, headers: list[str]) -> tuple[int, list[str]]:
    cols = header_map(kind, headers)
    missing = [c.key for c in TEMPLATES[kind].columns if c.required and c.key not in cols]
    return len(cols), missing


def detect_kind(headers: list[str]) -> str | None:
    """The template a header row belongs to, or None.

    The candidates are the templates whose required columns are all present;
    the one matching most columns wins (ties: the one with fewer columns, i.e.
    the more specific).

    >>> detect_kind(["名称", "主体类型", "统一社会信用代码"])
    'operators'
    >>> detect_kind(["foo", "bar"]) is None
    True
    """
    best = None
    for kind, t in TEMPLATES.items():
        n, missing = _score(kind, headers)
        if n and not missing:
            key = (n, -len(t.columns))
            if best is None or key > best[0]:
                best = (key, kind)
    return best[1] if best else None


def _closest(headers: list[str]) -> str:
    scored = sorted(((_score(k, headers), k) for k in TEMPLATES), key=lambda x: (-x[0][0], len(x[0][1])))
    parts = []
    for (n, missing), kind in scored[:3]:
        if n == 0:
            break
        t = TEMPLATES[kind]
        lack = ", ".join(f"{t.column(m).zh}/{m}" for m in missing)
        parts.append(f"{kind} (lacks {lack})" if lack else kind)
    if not parts:
        return "headers match no template; expected e.g. " + ", ".join(
            f"{k}: {'/'.join(c.zh for c in t.columns if c.required)}" for k, t in TEMPLATES.items())
    return "headers match no template completely; closest: " + "; ".join(parts)


# -- cell parsers (pure) ----------------------------------------------------------------------

def _clean(v: object) -> str:
    if v is None:
        return ""
    s = str(v)
    if s.isascii():
        s = s.strip()
        return "" if s in EMPTY else s
    return _clean_text(s)


@functools.lru_cache(maxsize=1 << 16)
def _clean_text(s: str) -> str:
    """:func:`_clean` of a non-ASCII cell (NFKC), cached: units, kinds and names recur on every row."""
    s = unicodedata.normalize("NFKC", s).strip()
    return "" if s in EMPTY else s


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = _dt.date(1899, 12, 30)


@functools.lru_cache(maxsize=65536)
def parse_date(text: object) -> str:
    """An ISO date from the forms spreadsheets hold.

    Raises
    ------
    InvalidRecord
        Not a date, or no such day.

    >>> parse_date("2026/3/1"), parse_date("2026.03.01"), parse_date("2026-03-01T00:00:00")
    ('2026-03-01', '2026-03-01', '2026-03-01')
    >>> parse_date("2026-02-30")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidRecord: no such date '2026-02-30'
    """
    s = _clean(text)
    if not s:
        raise InvalidRecord("date is empty")
    s = s.replace(" ", "") if "年" in s else s
    core = re.split(r"[ T]", s, maxsplit=1)[0] if not s.isdigit() else s
    for pat in _DATE_PATTERNS:
        m = pat.match(core)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                return _dt.date(y, mo, d).isoformat()
            except ValueError:
                raise InvalidRecord(f"no such date {s!r}") from None
    if re.fullmatch(r"\d{4,5}(\.\d+)?", s):
        serial = float(s)
        if 20000 <= serial <= 80000:  # Excel date serial: 1954 .. 2119
            return (_EXCEL_EPOCH + _dt.timedelta(days=int(serial))).isoformat()
    raise InvalidRecord(f"not a date: {s!r}; write 2026-03-01, 2026/3/1, 20260301 or 2026年3月1日")


_TIME = re.compile(r"^(\d{1,2}):(\d{1,2})(?::(\d{1,2})(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")
#: the form most date-times come in (2026-03-01 08:00[:00], Beijing time): parsed without the general rules
_PLAIN_DATETIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?")


@functools.lru_cache(maxsize=65536)
def parse_datetime(text: object) -> str:
    """An ISO date-time with offset; no offset means Beijing time, no time means midnight.

    Raises
    ------
    InvalidRecord
        Not a date-time.

    >>> parse_datetime("2026-03-01 08:00:30"), parse_datetime("2026-03-01T00:00:00Z")
    ('2026-03-01T08:00:30+08:00', '2026-03-01T00:00:00+00:00')
    >>> parse_datetime("2026年3月1日 8时30分"), parse_datetime("20260301")
    ('2026-03-01T08:30:00+08:00', '2026-03-01T00:00:00+08:00')
    >>> parse_datetime("46082.5")
    '2026-03-01T12:00:00+08:00'
    """
    s = _clean(text)
    if not s:
        raise InvalidRecord("date-time is empty")
    plain = _PLAIN_DATETIME.fullmatch(s)
    if plain:
        y, mo, d, hh, mm, ss = plain.groups()
        if hh <= "23" and mm <= "59" and (ss is None or ss <= "59"):
            try:
                _dt.date(int(y), int(mo), int(d))
            except ValueError:
                pass  # the general rules below say what is wrong
            else:
                return f"{y}-{mo}-{d}T{hh}:{mm}:{ss or '00'}+08:00"
    if re.fullmatch(r"\d{5}\.\d+", s) and 20000 <= float(s) <= 80000:
        d = _dt.datetime.combine(_EXCEL_EPOCH, _dt.time()) + _dt.timedelta(days=float(s))
        return d.replace(microsecond=0, tzinfo=BEIJING).isoformat()
    m = re.match(r"^(\S+?日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{8})(?:[ T]+(.*))?$", s)
    if not m:
        return parse_date(s) + "T00:00:00+08:00"
    date = parse_date(m.group(1))
    rest = (m.group(2) or "").strip()
    if not rest:
        return date + "T00:00:00+08:00"
    t = _TIME.match(re.sub(r"[时点分]", ":", rest.replace(" ", "").replace("秒", "")).rstrip(":"))
    if not t:
        raise InvalidRecord(f"not a date-time: {s!r}; write 2026-03-01 08:00 (Beijing time) or ISO 8601")
    hh, mm, ss = int(t.group(1)), int(t.group(2)), int(t.group(3) or 0)
    if hh > 23 or mm > 59 or ss > 59:
        raise InvalidRecord(f"no such time {rest!r} in {s!r}")
    tz = t.group(5)
    if tz is None:
        off = "+08:00"
    elif tz == "Z":
        off = "+00:00"
    else:
        tz = tz.replace(":", "")
        off = f"{tz[:3]}:{tz[3:]}"
        if int(tz[1:3]) > 14 or int(tz[3:]) > 59:
            raise InvalidRecord(f"no such offset {t.group(5)!r} in {s!r}")
    return f"{date}T{hh:02d}:{mm:02d}:{ss:02d}{off}"


_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_number(text: object) -> float:
    """A finite number (``1,200`` is 1200).

    >>> parse_number("1,200.5")
    1200.5
    """
    s = _clean(text).replace(" ", "")
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    if not _NUM.match(s):
        raise InvalidRecord(f"not a number: {s!r}")
    v = float(s)
    if not math.isfinite(v):
        raise InvalidRecord(f"not a finite number: {s!r}")
    return v


def parse_quantity(text: object) -> float:
    """A quantity > 0.

    >>> parse_quantity("120")
    120.0
    >>> parse_quantity("0")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidRecord: quantity must be greater than 0, got '0'
    """
    v = parse_number(text)
    if v <= 0:
        raise InvalidRecord(f"quantity must be greater than 0, got {_clean(text)!r}")
    return v


_TRUE = {"是", "y", "yes", "true", "1", "有", "对", "t"}
_FALSE = {"否", "n", "no", "false", "0", "无", "不是", "f"}


def parse_bool(text: object) -> bool:
    """是/否, Y/N, yes/no, true/false, 1/0, 有/无.

    >>> parse_bool("是"), parse_bool("N"), parse_bool("TRUE")
    (True, False, True)
    """
    s = _clean(text).casefold()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise InvalidRecord(f"not yes/no: {s!r}; write 是/否, Y/N, true/false or 1/0")


@functools.lru_cache(maxsize=4096)
def _term(scheme: str, text: str) -> str:
    v = vocab.lookup(scheme, text)
    if v is None:
        accepted = " ".join(f"{zh}/{local}" for local, (zh, _en) in vocab.labels(scheme).items())
        raise InvalidRecord(f"unknown {scheme.replace('_', ' ')} {text!r}; accepted: {accepted}")
    return v


# -- identifier helpers -----------------------------------------------------------------------

_USCC_SHAPE = re.compile(r"^[0-9A-Za-z]{18}$")
_INSPECTION_KINDS = {"日常检查": "routine", "日常监督检查": "routine", "routine": "routine",
                     "飞行检查": "unannounced", "unannounced": "unannounced",
                     "专项检查": "special", "special": "special", "双随机检查": "random", "random": "random"}


class _Context:
    """Per-file state: what this file defined, and cached store look-ups."""

    def __init__(self, path: Path, rejects: list[Reject], store: "Store | None"):
        self.path, self.rejects, self.store = str(path), rejects, store
        self.local: dict[tuple[str, str], str] = {}   # (entity, local number) -> canonical id
        self.emitted: set[tuple[str, str]] = set()     # (table, id) emitted in this file
        self._resolved: dict[str, str | None] = {}
        self.refs: dict[tuple[str, str], str] = {}      # (entity, value as written) -> canonical id
        # what the row being read added to `emitted` and `refs`: taken back if the row is rejected (its records,
        # stubs among them, are dropped: a later row naming the same lot or operator emits them)
        self.row_marks: list[tuple[str, str]] = []
        self.row_refs: list[tuple[str, str]] = []
        self._known: dict[tuple[str, str], bool] = {}
        self._records: dict[tuple[str, str], Record | None] = {}  # (table, id) -> stored record: record()
        self.item_qty: dict[str, tuple[int, float, str | None]] = {}  # transformation item -> (row, quantity, unit)
        self.pending_items: dict[str, Record] = {}  # lot links, written after the last row
        self.name_keys: dict[str, str] = {}  # operator name-key form -> the registered operator it names
        self.exact_keys: set[str] = set()  # key forms some operator is registered under exactly
        self.histories: dict[str, list[Record]] = {}  # handling steps of a case or complaint: stored and read so far
        self.case_samples: set[str] = set()  # announced samples a disposal case of this file has taken
        today = times.today()
        self.today = today.isoformat()
        self.latest_day = (today + _dt.timedelta(days=1)).isoformat()  # a day's tolerance: clocks, time zones

    def resolve(self, identifier: str) -> str | None:
        if self.store is None:
            return None
        if identifier not in self._resolved:
            try:
                self._resolved[identifier] = self.store.resolve(identifier)
            except FoodtraceError:
                self._resolved[identifier] = None
        return self._resolved[identifier]

    def prefetch(self, identifiers: Iterable[str], keys: Iterable[tuple[str, str]], *, records: bool = True) -> None:
        """Fill the look-up caches of :meth:`resolve` and :meth:`known` (and, with ``records``, of :meth:`record`)
        with a few batched reads (the answers per-call look-ups would give): a file naming thousands of operators
        and products then costs a few round trips to a server instead of one per name. What is not prefetched is
        still looked up."""
        if self.store is None:
            return
        todo = [i for i in dict.fromkeys(identifiers) if i not in self._resolved]
        try:
            found = self.store.resolve_many(todo) if todo else {}
        except FoodtraceError:
            return
        for i in todo:
            self._resolved[i] = found.get(i)
        by_table: dict[str, list[str]] = {}
        for table, id_ in dict.fromkeys(keys):
            if (table, id_) not in self._known:
                by_table.setdefault(table, []).append(id_)
        for table, wanted in by_table.items():
            try:
                stored = self.store.get_many(table, wanted) if records else self.store.stored_ids(table, wanted)
            except FoodtraceError:
                continue
            for id_ in wanted:
                self._known[(table, id_)] = id_ in stored
                if records:
                    self._records.setdefault((table, id_), stored.get(id_))  # type: ignore[union-attr]

    def record(self, table: str, id_: str) -> "Record | None":
        """The stored record (None: not stored), read once per file (the file's own records are not stored yet)."""
        k = (table, id_)
        if k not in self._records:
            self._records[k] = self.store.get(table, id_) if self.store is not None else None
        return self._records[k]

    def prefetch_records(self, table: str, ids_: Iterable[str]) -> dict[str, "Record"]:
        """:meth:`record` for many ids in one batched read; the records found."""
        wanted = [i for i in dict.fromkeys(ids_) if (table, i) not in self._records]
        if self.store is None or not wanted:
            return {}
        found = self.store.get_many(table, wanted)
        for i in wanted:
            self._records[(table, i)] = found.get(i)
        return found

    def known(self, table: str, id_: str) -> bool:
        if (table, id_) in self.emitted:
            return True
        if self.store is None:
            return False
        k = (table, id_)
        if k not in self._known:
            try:
                self._known[k] = bool(self.store.stored_ids(table, (id_,)))
            except FoodtraceError:
                self._known[k] = False
        return self._known[k]

    def once(self, rec: Record) -> bool:
        """True the first time a record id of a table is seen in this file."""
        k = (rec.table, rec.id)
        if k in self.emitted:
            return False
        self.emitted.add(k)
        self.row_marks.append(k)
        return True

    def take_back_row(self) -> None:
        """Forget what a rejected row emitted once and resolved (:attr:`row_marks`, :attr:`row_refs`)."""
        for k in self.row_marks:
            self.emitted.discard(k)
        for r in self.row_refs:
            self.refs.pop(r, None)


def _check_id(key: str, value: str, fn: Callable[[str], str]) -> str:
    try:
        return fn(value)
    except InvalidIdentifier as e:
        raise _Bad(key, value, str(e)) from None


@functools.lru_cache(maxsize=1 << 17)  # each row asks for its operators and product: the same few thousand again
def _id_shape(entity: str, s: str) -> tuple[str, str | None]:
    """What an operator or product reference cell is by its shape alone: ``("code", id)`` for a GLN or USCC
    (operators) or a GTIN (products), checked (:class:`InvalidIdentifier` if its check digit is wrong);
    ``("link", None)`` for an EPC URN or a Digital Link (parsed by the row); ``("own", s)`` for our own id;
    ``("name", local id)`` for anything else (a name, or an id the store may resolve). One rule for the row
    (:meth:`_Row._operator`, :meth:`_Row._product`) and the look-ups made ahead of it (:func:`_prefetch_references`)."""
    if entity == "operator":
        code = ids.compact(s)  # a code with blanks inside is the code
        if code.isdigit() and len(code) == 13:
            return "code", ids.operator_id(gln=ids.valid_gln(code))
        if len(code) == 18 and _USCC_SHAPE.match(code) and not code.isdigit():
            return "code", ids.operator_id(uscc=ids.valid_uscc(code))
    elif s.isdigit() and len(s) in (8, 12, 13, 14):
        return "code", ids.product_id(gtin=ids.gtin14(s))
    if s.lower().startswith(("urn:epc:", "http://", "https://")):
        return "link", None
    if s.startswith(f"urn:foodtrace:{entity}:"):
        return "own", s
    return "name", (ids.operator_id(local=s) if entity == "operator" else ids.product_id(local=s))


def _alias(form: str, canonical: str, entity: str, scheme: str) -> Alias | None:
    if not form or form == canonical:
        return None
    return Alias(id=form, canonical_id=canonical, entity=entity, scheme=scheme)


class _Row:
    """One row's cells by column key, and the records it yields."""

    def __init__(self, ctx: _Context, template: Template, cols: dict[str, int], headers: list[str],
                 cells: list[str]):
        self.ctx, self.t, self.cols, self.headers, self.cells = ctx, template, cols, headers, cells
        self.out: list[Record] = []

    def get(self, key: str) -> str:
        i = self.cols.get(key)
        if i is None or i >= len(self.cells):
            return ""
        v = self.cells[i]
        if type(v) is str and v.isascii():  # _clean's common case inline: ~16 cells a row, millions of rows
            v = v.strip()
            return "" if v in EMPTY else v
        return _clean(v)

    def req(self, key: str) -> str:
        s = self.get(key)
        if not s:
            raise _Bad(key, "", f"required column {self.t.column(key).zh}/{key} is empty")
        return s

    def conv(self, key: str, fn: Callable[[str], object], *, required: bool = False):
        s = self.req(key) if required else self.get(key)
        if not s:
            return None
        try:
            v = fn(s)
        except InvalidRecord as e:
            raise _Bad(key, s, str(e)) from None
        if fn is parse_date or fn is parse_datetime:
            self._plausible(key, s, v)  # type: ignore[arg-type]
        return v

    def _plausible(self, key: str, written: str, value: str) -> None:
        """A date before :data:`EARLIEST_DAY`, or in the future beyond a day (when the column records what
        happened, not a deadline or an expiry: :data:`FUTURE_COLUMNS`), rejects the row naming the column."""
        day = value[:10] if len(value) == 10 or value.endswith("+08:00") else day_of(value)
        if day is None:
            return
        if day < EARLIEST_DAY:
            raise _Bad(key, written, f"{day} is before {EARLIEST_DAY}: not a plausible date for "
                                     f"{self.t.column(key).zh}/{key}")
        if day > self.ctx.latest_day and key not in FUTURE_COLUMNS and key not in FUTURE_COLUMNS_OF.get(self.t.kind, ()):
            raise _Bad(key, written, f"{day} is in the future (today is {self.ctx.today} in Beijing): "
                                     f"{self.t.column(key).zh}/{key} records what happened")

    def term(self, key: str, scheme: str, *, required: bool = False) -> str | None:
        return self.conv(key, lambda s: _term(scheme, s), required=required)

    def emit(self, rec: Record | None) -> None:
        if rec is not None:
            self.out.append(rec)

    def emit_once(self, rec: Record) -> None:
        if self.ctx.once(rec):
            self.out.append(rec)

    # references ---------------------------------------------------------------------------

    def _ref(self, entity: str, key: str, required: bool, resolve: Callable[[str, str], str]) -> str | None:
        """The canonical id a reference cell names, resolved once per file and value."""
        s = self.req(key) if required else self.get(key)
        if not s:
            return None
        ref = self.ctx.refs.get((entity, s))
        if ref is None:
            ref = self.ctx.refs[(entity, s)] = resolve(key, s)
            self.ctx.row_refs.append((entity, s))
        return ref

    def operator(self, key: str, *, required: bool = False) -> str | None:
        return self._ref("operator", key, required, self._operator)

    def _operator(self, key: str, s: str) -> str:
        ctx = self.ctx
        shape, oid = _check_id(key, s, lambda v: _id_shape("operator", v))  # type: ignore[assignment]
        if shape == "link":
            try:
                p = ids.canonical(s)
            except InvalidIdentifier as e:
                raise _Bad(key, s, str(e)) from None
            oid = p.operator_id or p.id
            self.emit(_alias(s, oid, "operator", p.scheme))
        elif shape == "name":
            oid = ctx.local.get(("operator", s)) or ctx.resolve(oid) or ctx.resolve(s)  # type: ignore[arg-type]
            if oid is not None and not oid.startswith(("urn:foodtrace:operator:", ids.DL_BASE + "/414/",
                                                      ids.DL_BASE + "/417/")):
                oid = None
            if oid is None:
                oid = ids.operator_id(local=s)
        if not ctx.known("operator", oid) and (resolved := ctx.resolve(oid)):
            return resolved
        if not ctx.known("operator", oid):  # a stub: its kind and name only stand in for unknown ones
            self.emit_once(with_placeholders(Operator(id=oid, kind="Operator", name=s), "kind", "name"))
        return oid

    def product(self, key: str, *, required: bool = False) -> str | None:
        return self._ref("product", key, required, self._product)

    def _product(self, key: str, s: str) -> str:
        ctx = self.ctx
        shape, pid = _check_id(key, s, lambda v: _id_shape("product", v))  # type: ignore[assignment]
        if shape == "link":
            try:
                p = ids.canonical(s)
            except InvalidIdentifier as e:
                raise _Bad(key, s, str(e)) from None
            pid = p.product_id or p.id
            self.emit(_alias(s, pid, "product", p.scheme))
        elif shape == "name":
            pid = ctx.local.get(("product", s)) or ctx.resolve(pid)  # type: ignore[arg-type]
            if pid is None:
                r = ctx.resolve(s)
                pid = r if r and r.startswith(("urn:foodtrace:product:", ids.DL_BASE + "/01/")) and "/10/" not in r \
                    else None
            if pid is None:
                pid = ids.product_id(local=s)
        if not ctx.known("product", pid) and (resolved := ctx.resolve(pid)):
            return resolved
        if not ctx.known("product", pid):
            self.emit_once(with_placeholders(Product(id=pid, name=s), "name"))
        return pid

    def lot(self, *, lot_key: str = "lot", product_key: str = "product", number_key: str = "lot_number",
            producer: str | None = None, required: bool = True) -> tuple[str | None, str | None]:
        """(lot id, product id if known) of the row: any lot form, or product + lot number scoped by producer.

        Emits a stub ``Lot`` carrying what the id itself says (product, number).
        """
        given = self.get(lot_key)
        number = self.get(number_key) if number_key else ""
        if given:
            found = self._lot_form(lot_key, given)
            if found[0] is not None:
                return found
            number = number or given
        if not number:
            if required:
                raise _Bad(lot_key, "", f"no lot: give {self.t.column(lot_key).zh}/{lot_key} "
                           f"or {self.t.column(product_key).zh}/{product_key} with a lot number")
            return None, None
        pid = self.product(product_key)
        if pid is None:
            key = number_key if number_key and self.get(number_key) else lot_key
            raise _Bad(product_key, number, f"lot number {number!r} ({self.t.column(key).zh}/{key}) is not a "
                       f"known lot id: give its product ({self.t.column(product_key).zh}/{product_key})")
        try:
            lid = ids.lot_id(lot_number=number, product_id=pid, producer_id=producer)
        except InvalidIdentifier as e:
            raise _Bad(number_key or lot_key, number, str(e)) from None
        scoped = producer if not lid.startswith(ids.DL_BASE) else None
        self.emit_once(Lot(id=lid, product_id=pid, lot_number=number, producer_id=scoped))
        return lid, pid

    def _lot_form(self, key: str, s: str) -> tuple[str | None, str | None]:
        if s.lower().startswith(("urn:epc:", "http://", "https://")):
            try:
                p = ids.canonical(s)
            except InvalidIdentifier as e:
                raise _Bad(key, s, str(e)) from None
            lid = p.lot_id
            if lid is None:
                raise _Bad(key, s, f"{s!r} does not identify a lot (it names a {p.entity or 'non-GS1 thing'})")
            a = _alias(s, lid, "lot", p.scheme)
            if a is not None:
                self.emit_once(a)
            self.emit_once(Lot(id=lid, product_id=p.product_id, lot_number=p.lot))
            return lid, p.product_id
        if s.startswith("urn:foodtrace:lot:"):
            return s, None
        r = self.ctx.resolve(s)
        if r is not None and (r.startswith("urn:foodtrace:lot:") or "/10/" in r or "/21/" in r):
            return r, None
        return None, None


# -- per-template row handlers ----------------------------------------------------------------

def _operators(r: _Row) -> None:
    ctx = r.ctx
    name = r.req("name")
    kind = r.term("kind", "operator_kind", required=True)
    local = r.get("id")
    gln = r.conv("gln", lambda s: _check_id("gln", s, ids.valid_gln))
    uscc = r.conv("uscc", lambda s: _check_id("uscc", s, ids.valid_uscc))
    individual = r.conv("individual", parse_bool)
    if gln:
        oid = ids.operator_id(gln=gln)
    elif uscc:
        oid = ids.operator_id(uscc=uscc)
    else:
        oid = ids.operator_id(local=local or name)
    lat = r.conv("lat", parse_number)
    lon = r.conv("lon", parse_number)
    if lat is not None and not -90 <= lat <= 90:
        raise _Bad("lat", r.get("lat"), "latitude must be between -90 and 90")
    if lon is not None and not -180 <= lon <= 180:
        raise _Bad("lon", r.get("lon"), "longitude must be between -180 and 180")
    rec = Operator(
        id=oid, kind=kind, name=name, uscc=uscc, gln=gln, licence_no=r.get("licence_no") or None,
        licence_date=r.conv("licence_date", parse_date), region_id=r.term("district", "region"),
        address=r.get("address") or None, parent_id=r.operator("parent"), scale=r.term("scale", "scale"),
        category=r.term("category", "category"), haccp=r.conv("haccp", parse_bool), individual=individual,
        contact=r.get("contact") or None, phone=r.get("phone") or None, lat=lat, lon=lon)
    r.emit(rec)
    ctx.emitted.add(("operator", oid))
    if local:
        ctx.local[("operator", local)] = ctx.refs[("operator", local)] = oid
    # a bare GLN or GTIN is no alias: the same 13 digits may be a location and a product, and
    # ontology.identifiers.lookup_forms already turns a bare code into its canonical forms
    forms = [(uscc, "uscc"), (uscc and ids.operator_id(uscc=uscc), "uscc"),
             (local, "local"), (local and ids.operator_id(local=local), "local"),
             (not individual and ids.operator_id(local=name), "name")]
    for form, scheme in forms:
        if form:
            r.emit(_alias(form, oid, "operator", scheme))
    if not individual:
        _alias_name_key(r, name, oid)


def _alias_name_key(r: _Row, name: str, oid: str) -> None:
    """Alias the key form of a registered name (:func:`ontology.names.operator_id_for`) so that announcements
    writing the name another way (full-width, spaces, 有限责任公司) find the operator.

    Two registered operators whose names share a key (two 统一社会信用代码 or other ids) are never merged: where
    one of them is registered under exactly the key's text, the key keeps naming that one; otherwise the key
    form is marked as naming itself (an alias to itself), and announcements writing such a name get an operator
    of their own. Only a name written exactly as registered then finds a registered operator.
    """
    ctx = r.ctx
    key_form = operator_id_for(name)
    if key_form == oid:
        return
    exact = key_form == ids.operator_id(local=name)  # the name is written in its key form: the raw alias says it
    holder = ctx.name_keys.get(key_form)
    if holder is None:
        holder = ctx.resolve(key_form)
        if holder is not None:
            stored = ctx.store.get("alias", key_form) if ctx.store is not None else None
            if stored is not None and stored.canonical_id == key_form \
                    and stored.scheme == "name_key":  # type: ignore[attr-defined]
                return  # already marked ambiguous
            if stored is not None and stored.scheme == "name":  # type: ignore[attr-defined]
                ctx.exact_keys.add(key_form)
    if holder in (None, key_form, oid):  # unknown, or known only from announcements: the registered one takes it
        ctx.name_keys[key_form] = oid
        if exact:
            ctx.exact_keys.add(key_form)
        elif holder != oid:
            r.emit(Alias(id=key_form, canonical_id=oid, entity="operator", scheme="name_key"))
        return
    if key_form in ctx.exact_keys:
        return  # another operator is registered under exactly this name: it keeps it
    if exact:  # this one is registered under exactly the key's text: it takes the key
        ctx.name_keys[key_form] = oid
        ctx.exact_keys.add(key_form)
        return  # the raw-name alias written above already points the key form here
    ctx.name_keys[key_form] = key_form
    r.emit(Alias(id=key_form, canonical_id=key_form, entity="operator", scheme="name_key"))


def _products(r: _Row) -> None:
    ctx = r.ctx
    name = r.req("name")
    local = r.get("id")
    gtin = r.conv("gtin", lambda s: _check_id("gtin", s, ids.gtin14))
    pid = ids.product_id(gtin=gtin) if gtin else ids.product_id(local=local or name)
    unit = r.conv("unit", lambda s: normalise_quantity(1, s)[1])
    r.emit(Product(id=pid, name=name, name_en=r.get("name_en") or None, gtin=gtin,
                   category=r.term("category", "category", required=True), brand=r.get("brand") or None,
                   spec=r.get("spec") or None, unit=unit, producer_id=r.operator("producer")))
    ctx.emitted.add(("product", pid))
    if local:
        ctx.local[("product", local)] = ctx.refs[("product", local)] = pid
    for form, scheme in ((local, "local"), (local and ids.product_id(local=local), "local")):
        if form:
            r.emit(_alias(form, pid, "product", scheme))


_PROBE = 0.1234567891234  # changed by the rounding of a conversion


@functools.lru_cache(maxsize=1024)
def _plain_unit(unit: str) -> str | None:
    """The code of a unit whose quantities :func:`normalise_quantity` keeps as they are, else None (斤, 两 convert).

    Raises InvalidRecord for an unknown unit (not cached).
    """
    code = normalise_quantity(1.0, unit)[1]
    return code if normalise_quantity(_PROBE, unit) == (_PROBE, code) else None


def _normalised(q: float, unit: str) -> tuple[float, str]:
    """``normalise_quantity(q, unit)``, with the unit's rule looked up once."""
    code = _plain_unit(unit)
    return (float(q), code) if code is not None else normalise_quantity(q, unit)


def _qty(r: _Row, qkey: str, ukey: str, *, required: bool) -> tuple[float | None, str | None]:
    """A quantity and its unit code. The quantity cell may carry its unit ("25.5kg", "86.5 公斤", "3头"): it
    stands in for an empty unit column, and must mean the same as a filled one (a conflict rejects the row
    naming both)."""
    written = r.req(qkey) if required else r.get(qkey)
    number, in_cell = split_quantity(written) if written and not written[-1].isdigit() else (written, "")
    if in_cell:
        q = r.conv(qkey, lambda _: parse_quantity(number))
        here = r.conv(qkey, lambda _: _normalised(q, in_cell))
        u = r.get(ukey)
        if not u:
            return here
        there = r.conv(ukey, lambda s: _normalised(q, s))
        if (here[1], round(here[0], 9)) != (there[1], round(there[0], 9)):
            raise _Bad(qkey, written, f"the quantity {written!r} is in {in_cell} but the unit column "
                                      f"{r.t.column(ukey).zh}/{ukey} says {u!r}")
        return there
    q = r.conv(qkey, parse_quantity, required=required)
    u = r.req(ukey) if required else r.get(ukey)
    if q is None:
        if u:
            r.conv(ukey, lambda s: normalise_quantity(1, s))
        return None, (normalise_quantity(1, u)[1] if u else None)
    if not u:
        raise _Bad(ukey, "", f"a quantity needs its unit ({r.t.column(ukey).zh}/{ukey})")
    return r.conv(ukey, lambda s: _normalised(q, s))


def _lots(r: _Row) -> None:
    producer = r.operator("producer")
    lid, pid = r.lot(producer=producer)
    q, u = _qty(r, "quantity", "unit", required=False)
    if pid is None and r.get("product"):
        pid = r.product("product")
    if pid is None and r.ctx.store is not None:
        stored = r.ctx.store.get("lot", lid)
        pid = stored.product_id if stored is not None else None
    if pid is None:
        raise _Bad("product", "", "the lot's product is unknown: give the product column")
    r.emit(Lot(id=lid, product_id=pid, lot_number=r.get("lot_number") or ids.canonical(lid).lot or None,
               producer_id=producer, production_date=r.conv("production_date", parse_date),
               expiry_date=r.conv("expiry_date", parse_date), quantity=q, unit=u,
               origin_id=r.term("origin", "region")))


def _certificate_id(r: _Row, kind: str | None, number: str) -> str:
    if kind:
        return ids.local_id("certificate", kind, number)
    found = r.ctx.resolve(ids.local_id("certificate", number))
    return found or ids.local_id("certificate", "other", number)


def _before(a: str, b: str) -> bool:
    """Whether date-time ``a`` is earlier than ``b`` (as :func:`parse_datetime` writes them). Two written with
    the same offset compare as text (fixed width: 2026-03-01T08:00:00+08:00); others as instants.

    >>> _before("2026-03-01T08:00:00+08:00", "2026-03-01T09:00:00+08:00")
    True
    >>> _before("2026-03-01T08:30:00+08:00", "2026-03-01T01:00:00+00:00")  # 08:30 is before 09:00 in Beijing
    True
    >>> _before("2026-03-01T10:00:00+08:00", "2026-03-01T01:00:00+00:00")
    False
    """
    if len(a) == len(b) == 25 and a[19:] == b[19:]:
        return a < b
    return times.epoch(a) < times.epoch(b)  # type: ignore[operator]


def _deliveries(r: _Row) -> None:
    sender = r.operator("from", required=True)
    receiver = r.operator("to", required=True)
    producer = r.operator("producer")
    time = r.conv("ship_time", parse_datetime, required=True)
    received = r.conv("receive_time", parse_datetime)
    if received is not None and _before(received, time):  # type: ignore[arg-type]
        raise _Bad("receive_time", r.get("receive_time"),
                   f"received {received} before it was shipped ({r.t.column('ship_time').zh}/ship_time {time})")
    q, u = _qty(r, "quantity", "unit", required=True)
    lid, _ = r.lot(producer=producer)
    ticket_no = r.get("ticket_number")
    ticket_id = None
    if ticket_no:
        ticket_id = ids.local_id("ticket", sender, ticket_no)
        r.emit_once(Ticket(id=ticket_id, number=ticket_no, kind="inv", issuer_id=sender,
                           date=r.conv("ticket_date", parse_date)))
    cert_no = r.get("certificate_number")
    cert_kind = r.term("certificate_kind", "certificate_kind")
    cert_id = None
    if cert_no:
        cert_id = _certificate_id(r, cert_kind, cert_no)
        r.emit_once(Certificate(id=cert_id, kind=cert_kind or cert_id.split(":")[3], number=cert_no, lot_id=lid))
    code = r.get("trace_code")
    if code:
        _trace_code(r, code, lid, None, None)
    r.emit(Delivery(id=ids.delivery_id(lid, sender, receiver, ticket=ticket_no or None, time=time),
                    lot_id=lid, sender_id=sender, receiver_id=receiver, time=time, received_time=received,
                    quantity=q, unit=u, ticket_id=ticket_id, certificate_id=cert_id, trace_code=code or None))


def _trace_code(r: _Row, code: str, lid: str, operator: str | None, issued: str | None) -> None:
    try:
        canon = ids.canonical(code).id
    except InvalidIdentifier as e:
        raise _Bad("trace_code" if "trace_code" in r.cols else "code", code, str(e)) from None
    r.emit_once(TraceCode(id=canon, code=code, lot_id=lid, operator_id=operator, issued=issued))
    if canon != lid:
        a = _alias(code, lid, "lot", "trace_code")
        if a is not None and r.ctx.once(a):
            r.emit(a)


def _certificates(r: _Row) -> None:
    number = r.req("number")
    kind = r.term("kind", "certificate_kind", required=True)
    producer = r.operator("producer")
    lid, _ = r.lot(producer=producer, required=False)
    cid = ids.local_id("certificate", kind, number)
    r.emit(Certificate(id=cid, kind=kind, number=number, issuer=r.get("issuer") or None,
                       holder_id=r.operator("holder"), lot_id=lid, issued=r.conv("issued", parse_date),
                       valid_until=r.conv("valid_until", parse_date), uri=r.get("uri") or None))
    r.emit(_alias(ids.local_id("certificate", number), cid, "certificate", "local"))


def _trace_codes(r: _Row) -> None:
    code = r.req("code")
    producer = r.operator("producer")
    lid, _ = r.lot(producer=producer)
    _trace_code(r, code, lid, r.operator("operator"), r.conv("issued", parse_date))


def _lot_links(r: _Row, groups: dict[str, tuple[int, str, str, str]], row_no: int) -> None:
    number = r.req("transformation")
    station = r.operator("station", required=True)
    time = r.conv("time", parse_datetime, required=True)
    kind = r.term("kind", "transformation_kind", required=True)
    tid = ids.local_id("transformation", station, number)
    first = groups.get(tid)
    if first is not None:
        for key, mine, theirs in (("station", station, first[1]), ("time", time, first[2]), ("kind", kind, first[3])):
            if mine != theirs:
                raise _Bad(key, r.get(key), f"transformation {number} has {key} {theirs} on row {first[0]}, "
                           f"this row says {mine}: rows of one transformation must agree")
    pending = r.ctx.pending_items
    staged = []
    for role in ("input", "output"):
        lid, _ = r.lot(lot_key=f"{role}_lot", product_key=f"{role}_product", number_key="", producer=station)
        q, u = _qty(r, f"{role}_quantity", f"{role}_unit", required=False)
        item_id = ids.local_id("transformation_item", tid, role, lid)
        seen = r.ctx.item_qty.get(item_id)
        if q is not None:
            # rows naming the same lot of one transformation add their quantities up
            if seen is not None:
                if seen[2] != u:
                    raise _Bad(f"{role}_unit", r.get(f"{role}_unit"), f"{role} lot {lid} of transformation {number} "
                               f"is in {seen[2]} on row {seen[0]}: rows of one lot must use one unit")
                q = round(seen[1] + q, 9)
            staged.append((item_id, (row_no, q, u), q, u, lid, role))
        elif item_id not in pending:
            staged.append((item_id, None, None, None, lid, role))
    # the row is good: the transformation and its lot links are written once, after the last row, so a
    # reload writes each item once with its total
    if first is None:
        groups[tid] = (row_no, station, time, kind)
        pending[tid] = Transformation(id=tid, station_id=station, time=time, kind=kind)
    for item_id, qty, q, u, lid, role in staged:
        if qty is not None:
            r.ctx.item_qty[item_id] = qty
        pending[item_id] = TransformationItem(id=item_id, transformation_id=tid, lot_id=lid, role=role,
                                              quantity=q, unit=u)


def _sample_ref(number: str) -> str:
    return ids.local_id("sample", number)


def _samples(r: _Row) -> None:
    number = r.req("id")
    sid = _sample_ref(number)
    sampled = r.operator("sampled", required=True)
    producer = r.operator("producer")
    lot = r.lot(producer=producer, number_key="", required=False)[0] if r.get("lot") else None
    r.emit(Sample(
        id=sid, plan=r.term("plan", "sample_plan", required=True), sampled_id=sampled, producer_id=producer,
        brand_owner_id=r.operator("brand_owner"), product_id=r.product("product"),
        product_name=r.req("product_name"), category=r.term("category", "category"), lot_id=lot,
        batch=r.get("batch") or None, sampled_at=r.conv("sampled_at", parse_date, required=True),
        conclusion=r.term("conclusion", "conclusion", required=True), announcement=r.get("announcement") or None,
        announced=r.conv("announced", parse_date), lab=r.get("lab") or None,
        disputed=r.conv("disputed", parse_bool), remark=r.get("remark") or None,
        disposal_due=r.conv("disposal_due", parse_date), disposal_done=r.conv("disposal_done", parse_date)))
    r.emit(_alias(number, sid, "sample", "local"))


def _test_results(r: _Row) -> None:
    number = r.req("sample")
    item = r.req("item")
    sid = _sample_ref(number)
    hazard = r.term("hazard_class", "hazard_class") or hazard_class_of(item)
    unit = r.get("unit")
    value = r.conv("value", lambda s: parse_measure(s, unit))
    limit = r.conv("limit", lambda s: parse_measure(s, unit, limit=True))
    conclusion = r.term("conclusion", "conclusion", required=True)
    v_unit = (value.unit if value else None) or (limit.unit if limit else None)
    lim = limit.value if limit else None
    if value and limit and value.unit and limit.unit and value.unit != limit.unit and lim is not None:
        f = concentration_factor(limit.unit, value.unit)
        lim = None if f is None else round(lim * f, 12)
    r.emit(TestResult(id=ids.local_id("test_result", number, item), sample_id=sid, item=item, hazard_class=hazard,
                      value=value.value if value else None, value_text=r.get("value") or None, unit=v_unit,
                      limit=lim, limit_text=r.get("limit") or None, conclusion=conclusion))


def _natural(kind: str, *parts: object) -> str:
    h = hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:20]
    return ids.local_id(kind, h)


def _inspections(r: _Row) -> None:
    op = r.operator("operator", required=True)
    date = r.conv("date", parse_date, required=True)
    kind_text = r.get("kind")
    kind = _INSPECTION_KINDS.get(kind_text.casefold(), kind_text) if kind_text else None
    number = r.get("id")
    iid = ids.local_id("inspection", number) if number else _natural("inspection", op, date, kind)
    r.emit(Inspection(id=iid, operator_id=op, date=date, kind=kind,
                      result=r.term("result", "inspection_result", required=True),
                      findings=r.get("findings") or None, inspector=r.get("inspector") or None))


def _cases(r: _Row) -> None:
    number = r.req("id")
    fine = r.conv("fine", parse_number)
    if fine is not None and fine < 0:
        raise _Bad("fine", r.get("fine"), "fine must not be negative")
    sample = r.get("sample")
    r.emit(Case(id=ids.local_id("case", number), operator_id=r.operator("operator", required=True),
                opened=r.conv("opened", parse_date, required=True), closed=r.conv("closed", parse_date),
                violation=r.get("violation") or None, penalty=r.get("penalty") or None, fine=fine,
                transferred_to_police=r.conv("transferred_to_police", parse_bool),
                sample_id=(r.ctx.resolve(sample) or _sample_ref(sample)) if sample else None))


def _complaints(r: _Row) -> None:
    number = r.req("id")
    sample = r.get("sample")
    r.emit(Complaint(id=ids.local_id("complaint", number), operator_id=r.operator("operator", required=True),
                     date=r.conv("date", parse_date, required=True), channel=r.get("channel") or None,
                     topic=r.get("topic") or None, substantiated=r.conv("substantiated", parse_bool),
                     description=r.get("description") or None, kind=r.term("kind", "complaint_kind"),
                     rural=r.conv("rural", parse_bool), real_name=r.conv("real_name", parse_bool),
                     lot_id=r.lot(number_key="", required=False)[0] if r.get("lot") else None,
                     sample_id=(r.ctx.resolve(sample) or _sample_ref(sample)) if sample else None))


# -- 核查处置 and handling steps (loaded after the announcements: they name announced samples) ---------------


def _known_operator(r: _Row, key: str, *, required: bool = False) -> str | None:
    """An operator the store holds (cases and steps come after the operators: an unknown one is a mistake)."""
    oid = r.operator(key, required=required)
    if oid is not None and r.ctx.store is not None and r.ctx.record("operator", oid) is None:
        raise _Bad(key, r.get(key), f"no operator has the identifier {r.get(key)!r}")
    return oid


def _announced_sample(r: _Row, case: str) -> str:
    """The sample an announcement row names: by announcement, sampled unit, product name and batch.

    One announcement may hold several samples of that description (a wholesale market's two lots of celery
    of one day, one naming its producer, one not); then a nonconforming sample comes first (a case follows a
    failed result), then one whose nominal producer is the one the row names (none where it names none),
    then the first by id; a sample another case already has is not taken again."""
    announcement, name, batch = r.req("announcement"), r.req("product_name"), r.get("batch")
    sampled = _known_operator(r, "sampled", required=True)
    producer = _known_operator(r, "producer")
    store = r.ctx.store
    if store is None:
        raise _Bad("announcement", announcement, "an announced sample is found in the store: load the "
                   "announcements first")
    # an announcement names the sampled unit by name; an individual's name is no alias of the registered
    # operator (names of natural persons collide), so its samples name the operator keyed by that name
    units = {sampled}
    registered = r.ctx.record("operator", sampled)
    if registered is not None and registered.name:
        units.add(ids.operator_id(local=registered.name))
    where = {"announcement": announcement, "batch": batch} if batch else {"announcement": announcement}

    def rank(s: Any) -> tuple:
        named = s.producer_id if s.producer_id != s.sampled_id else None
        return s.conclusion != "nonconforming", named != producer, s.id

    found = [s.id for s in sorted((s for s in store.scan("sample", where)
                                   if s.sampled_id in units and s.product_name == name), key=rank)]
    if not found:
        raise _Bad("announcement", announcement, f"no sample of announcement {announcement} matches sampled unit "
                   f"{r.get('sampled')}, product {name} and batch {batch or '(none)'}")
    # samples of one description (two batches of loose produce in one announcement): the first without a case
    taken = r.ctx.case_samples
    free = [sid for sid in found if sid not in taken
            and all(c.id == case for c in store.scan("disposal_case", {"sample_id": sid}))]
    if not free:
        raise _Bad("announcement", announcement, f"every sample of announcement {announcement} matching sampled "
                   f"unit {r.get('sampled')}, product {name} and batch {batch or '(none)'} has a disposal case")
    taken.add(free[0])
    return free[0]


def _disposal_cases(r: _Row) -> None:
    from ontology.handling import case_id, district_of, due, rules

    number = r.req("number")
    trigger = r.term("trigger", "disposal_trigger") or "supervisory_sample"
    store = r.ctx.store
    sample_id = None
    if r.get("sample"):
        s = r.get("sample")
        sample_id = r.ctx.resolve(s) or _sample_ref(s)
    elif r.get("announcement"):
        sample_id = _announced_sample(r, case_id(number))
    sample = store.get("sample", sample_id) if store is not None and sample_id else None
    if sample_id and store is not None and sample is None:
        raise _Bad("sample", r.get("sample"), f"no sample has the identifier {r.get('sample')!r}")
    complaint = r.get("complaint")
    complaint_id = ids.local_id("complaint", complaint) if complaint else None
    operator = _known_operator(r, "operator") or (sample.sampled_id if sample is not None else None)
    if operator is None:
        raise _Bad("operator", "", "name the business concerned (当事单位) or its sample")
    producer = _known_operator(r, "producer")
    if producer is None and sample is not None and sample.producer_id != sample.sampled_id:
        producer = sample.producer_id  # the sample's named producer, unless it names the sampled unit itself
    opened = r.conv("opened", parse_date, required=True)
    taken = sample.sampled_at if sample is not None else None
    if taken and opened < taken:
        raise _Bad("opened", opened, f"the case opens ({opened}) before the sample was taken ({taken})")
    if r.get("district"):
        district = r.term("district", "region")
    else:
        ops = {operator: store.get("operator", operator)} if store is not None else {}
        op = ops.get(operator)
        if op is not None and op.parent_id:
            ops[op.parent_id] = store.get("operator", op.parent_id)
        district = district_of({k: v for k, v in ops.items() if v is not None}, operator)
    table = rules()
    r.emit(DisposalCase(id=case_id(number), number=number, trigger=trigger, operator_id=operator,
                        producer_id=producer, district_id=district, sample_id=sample_id, complaint_id=complaint_id,
                        lot_id=r.lot(number_key="", required=False)[0] if r.get("lot") else
                        (sample.lot_id if sample is not None else None),
                        opened=opened, due=r.conv("due", parse_date) or due(opened, "disposal_complete", table)[0],
                        rules_version=table.version, opened_by=r.get("opened_by") or None,
                        note=r.get("note") or None))


_SUBJECT_KINDS = {"核查处置": "disposal_case", "disposal": "disposal_case", "disposal_case": "disposal_case",
                  "投诉举报": "complaint", "投诉": "complaint", "举报": "complaint", "complaint": "complaint"}
_OUTCOMES = {"通过": "pass", "合格": "pass", "pass": "pass", "不通过": "fail", "不合格": "fail", "fail": "fail"}


def _handling_steps(r: _Row) -> None:
    import json

    from ontology.handling import case_id, check_step, outside_city, rules, step_id

    number = r.req("subject")
    kind_text = r.req("subject_kind")
    table_name = _SUBJECT_KINDS.get(kind_text.strip().casefold()) or _SUBJECT_KINDS.get(kind_text.strip())
    if table_name is None:
        raise _Bad("subject_kind", kind_text, "事项类型 is 核查处置 or 投诉举报")
    sid = case_id(number) if table_name == "disposal_case" else ids.local_id("complaint", number)
    ctx = r.ctx
    subject = ctx.record(table_name, sid)
    if subject is None and ctx.store is not None:
        what = "disposal case" if table_name == "disposal_case" else "complaint"
        raise _Bad("subject", number, f"no {what} has the number {number!r} (load its file first)")
    history = ctx.histories.get(sid)
    if history is None:
        history = ctx.histories[sid] = list(ctx.store.scan("handling_step", {"subject_id": sid})) \
            if ctx.store is not None else []
    try:
        seq = int(r.req("seq"))
    except ValueError:
        raise _Bad("seq", r.get("seq"), "序号 must be a whole number") from None
    kind = r.term("kind", "handling_step", required=True)
    day = r.conv("date", parse_date, required=True)
    table = rules()
    outcome = r.get("outcome") or None
    if outcome is not None:
        levels = {lv.zh: lv.level for lv in table.escalation}
        outcome = _OUTCOMES.get(outcome.casefold(), levels.get(outcome, outcome))
    receivers = [x.strip() for x in re.split(r"[；;]", r.get("receivers")) if x.strip()]
    recall = None
    if receivers:
        ids_ = []
        for form in receivers:
            oid = r._operator("receivers", form)
            if ctx.store is not None and ctx.record("operator", oid) is None:
                raise _Bad("receivers", form, f"no operator has the identifier {form!r}")
            ids_.append(oid)
        start = subject.sample_id or subject.lot_id if subject is not None and table_name == "disposal_case" else None
        recall = json.dumps({"start": start, "receivers": [{"id": x} for x in ids_]}, ensure_ascii=False,
                            sort_keys=True)
    corrects = r.get("corrects")
    corrects_id = None
    if corrects:
        by_seq = {str(s.seq): s.id for s in history}
        if corrects not in by_seq:
            raise _Bad("corrects", corrects, f"{number} has no step {corrects} to correct")
        corrects_id = by_seq[corrects]
    case = r.get("case")
    recorded = r.conv("recorded", parse_datetime) or f"{day}T00:00:00+08:00"
    step = HandlingStep(id=step_id(sid, seq, kind, day), subject_id=sid, seq=seq, kind=kind, date=day,
                        by=r.req("by"), recorded=recorded, party_id=_known_operator(r, "party"), outcome=outcome,
                        reason=r.get("reason") or None, note=r.get("note") or None,
                        case_id=(ctx.resolve(case) or ids.local_id("case", case)) if case else None,
                        due=r.conv("due", parse_date), corrects_id=corrects_id, recall_list=recall)
    if any(s.id == step.id for s in history):
        return  # the same step read again: nothing new
    if subject is None:  # read without a store: the history cannot be checked here
        history.append(step)
        r.emit(step)
        return
    sample_day = producer_out = None
    if table_name == "disposal_case":
        if subject.sample_id:
            smp = ctx.record("sample", subject.sample_id)
            sample_day = smp.sampled_at if smp is not None else None
        if subject.producer_id:
            producer_out = outside_city(ctx.record("operator", subject.producer_id))
    from ontology.times import today

    try:
        check_step(subject, history, step, today=today(), sample_day=sample_day, producer_outside=bool(producer_out),
                   table=table)
    except InvalidRecord as e:
        raise _Bad("kind", r.get("kind"), str(e)) from None
    history.append(step)
    r.emit(step)


def _credit_class(s: str) -> str:
    c = s.strip().upper().rstrip("级类")
    if c not in ("A", "B", "C", "D"):
        raise InvalidRecord(f"credit class must be A, B, C or D, got {s!r}")
    return c


def _credit_records(r: _Row) -> None:
    number = r.req("id")
    r.emit(CreditRecord(id=ids.local_id("credit_record", number), operator_id=r.operator("operator", required=True),
                        kind=r.term("kind", "credit_kind", required=True),
                        start=r.conv("start", parse_date, required=True), end=r.conv("end", parse_date),
                        repaired=r.conv("repaired", parse_date), credit_class=r.conv("credit_class", _credit_class),
                        authority=r.get("authority") or None, reason=r.get("reason") or None))


# -- 农村集体聚餐: chefs, registrations, guidance visits, census counts -------------------------------------------


def _chef_key(r: _Row, key: str, district: str) -> str:
    from ontology.banquets import chef_id

    return chef_id(r.get(key), district)


def _chefs(r: _Row) -> None:
    from ontology.banquets import check_chef, chef_id

    district = r.term("district", "region", required=True)
    name = r.req("name")
    chef = Chef(id=chef_id(r.get("health_cert_no") or name, district), name=name, district_id=district,
                township=r.get("township") or None, phone=r.get("phone") or None,
                health_cert_no=r.get("health_cert_no") or None,
                health_cert_expiry=r.conv("health_cert_expiry", parse_date, required=True),
                trained=r.conv("trained", parse_date), training=r.get("training") or None,
                registered=r.conv("registered", parse_date))
    try:
        check_chef(chef)
    except InvalidRecord as e:
        raise _Bad("health_cert_expiry", r.get("health_cert_expiry"), str(e)) from None
    r.emit(chef)


def _int_at_least(low: int) -> Callable[[str], int]:
    def conv(s: str) -> int:
        n = parse_number(s)
        if n != int(n) or not low <= n <= 10**9:
            raise InvalidRecord(f"a whole number of at least {low} (and at most 10⁹), not {s!r}")
        return int(n)
    return conv


def _banquets(r: _Row) -> None:
    from ontology.banquets import STATION_KIND, banquet_id, check_banquet, station_id

    number = r.req("number")
    district = r.term("district", "region", required=True)
    chef_id_ = _chef_key(r, "chef", district) if r.get("chef") else None
    chef = r.ctx.store.get("chef", chef_id_) if chef_id_ and r.ctx.store is not None else None
    registered = r.conv("registered", parse_datetime, required=True)
    b = Banquet(id=banquet_id(number), number=number, station_id=station_id(number), host=r.req("host"),
                host_phone=r.get("host_phone") or None, kind=r.get("kind") or None,
                date=r.conv("date", parse_date, required=True), place=r.req("place"), district_id=district,
                township=r.get("township") or None, guests=r.conv("guests", _int_at_least(1), required=True),
                tables=r.conv("tables", _int_at_least(0)), chef_id=chef_id_, menu=r.get("menu") or None,
                sources=r.get("sources") or None, registered=registered, registered_by=r.get("registered_by") or None)
    try:   # without a store the register is unknown: the chef is checked when the file is loaded into one
        check_banquet(b if r.ctx.store is not None else replace(b, chef_id=None),
                      registered_day=_dt.date.fromisoformat(registered[:10]), chef=chef)
    except InvalidRecord as e:
        key = "chef" if "chef" in str(e) else "date"
        raise _Bad(key, r.get(key), str(e)) from None
    r.emit(Operator(id=b.station_id, kind=STATION_KIND, name=f"{b.place}{b.kind or '集体聚餐'}（{number}）",
                    region_id=district, address=b.place))
    r.emit(b)


def _banquet_guidance(r: _Row) -> None:
    from ontology.banquets import banquet_id, guidance_id

    number = r.req("banquet")
    bid = banquet_id(number)
    banquet = r.ctx.store.get("banquet", bid) if r.ctx.store is not None else None
    if banquet is None and r.ctx.store is not None and not r.ctx.known("banquet", bid):
        raise _Bad("banquet", number, f"no banquet is registered under {number!r}")
    day = r.conv("date", parse_date, required=True)
    if banquet is not None and _dt.date.fromisoformat(day) > _dt.date.fromisoformat(banquet.date) + _dt.timedelta(days=1):
        raise _Bad("date", day, f"guidance dated {day} comes after banquet {number} ({banquet.date})")
    by = r.req("by")
    r.emit(BanquetGuidance(id=guidance_id(bid, day, by), banquet_id=bid, date=day, by=by,
                           checked=r.get("checked") or None, problems=r.get("problems") or None,
                           rectified=r.conv("rectified", parse_bool), note=r.get("note") or None))


def _month(s: str) -> str:
    s = s.strip().replace("/", "-").replace("年", "-").rstrip("月")
    try:
        y, m = (int(x) for x in s.split("-")[:2])
        return f"{y:04d}-{m:02d}" if 1 <= m <= 12 and 1900 < y < 2200 else ""
    except ValueError:
        return ""


def _banquet_census(r: _Row) -> None:
    from ontology.banquets import census_id

    district = r.term("district", "region", required=True)
    month = _month(r.req("month"))
    if not month:
        raise _Bad("month", r.get("month"), "a month is written YYYY-MM (2026-10)")
    r.emit(BanquetCensus(id=census_id(district, month), district_id=district, month=month,
                         expected=r.conv("expected", _int_at_least(0), required=True),
                         source=r.get("source") or None))


# -- 互联网+明厨亮灶: camera connections, monitoring days, problems found ---------------------------------------------


def _hours(s: str) -> float:
    h = parse_number(s)
    if not 0 <= h <= 24:
        raise InvalidRecord(f"hours of a day are between 0 and 24, not {s!r}")
    return h


def _kitchen_cameras(r: _Row) -> None:
    canteen = _known_operator(r, "canteen", required=True)
    connected = r.conv("connected", parse_date, required=True)
    r.emit(KitchenCamera(id=ids.local_id("kitchen_camera", canteen, connected), canteen_id=canteen,
                         connected=connected, cameras=r.conv("cameras", _int_at_least(0)),
                         platform=r.get("platform") or None, disconnected=r.conv("disconnected", parse_date)))


def _kitchen_days(r: _Row) -> None:
    canteen = _known_operator(r, "canteen", required=True)
    day = r.conv("date", parse_date, required=True)
    online, expected = r.conv("online_hours", _hours), r.conv("expected_hours", _hours)
    if online is not None and expected is not None and online > expected:
        raise _Bad("online_hours", r.get("online_hours"), f"online {online} h is more than the {expected} working hours")
    r.emit(KitchenDay(id=ids.local_id("kitchen_day", canteen, day), canteen_id=canteen, date=day,
                      online_hours=online, expected_hours=expected,
                      tickets_uploaded=r.conv("tickets_uploaded", parse_bool),
                      menu_uploaded=r.conv("menu_uploaded", parse_bool)))


def _kitchen_problems(r: _Row) -> None:
    canteen = _known_operator(r, "canteen", required=True)
    found, text = r.conv("found", parse_date, required=True), r.req("description")
    rectified = r.conv("rectified", parse_date)
    if rectified and rectified < found:
        raise _Bad("rectified", rectified, f"put right ({rectified}) before it was found ({found})")
    key = hashlib.sha256(f"{canteen}\x1f{found}\x1f{text}".encode()).hexdigest()[:16]
    r.emit(KitchenProblem(id=ids.local_id("kitchen_problem", key), canteen_id=canteen, found=found, description=text,
                          rectified=rectified, by=r.get("by") or None))


# -- 重大活动: major events ---------------------------------------------------------------------------------------


def _known_operators(r: _Row, key: str) -> list[str]:
    """The operators a cell names, separated by ；/;/、/,/blanks: each must be one the store holds."""
    out = []
    for part in re.split(r"[；;、,，\s]+", r.get(key) or ""):
        if not part:
            continue
        oid = r.ctx.refs.get(("operator", part))
        if oid is None:
            oid = r.ctx.refs[("operator", part)] = r._operator(key, part)
            r.ctx.row_refs.append(("operator", part))
        if r.ctx.store is not None and r.ctx.record("operator", oid) is None:
            raise _Bad(key, part, f"no operator has the identifier {part!r}")
        out.append(oid)
    return list(dict.fromkeys(out))


def _major_events(r: _Row) -> None:
    from ontology.events import check_event, event_id

    start, end = r.conv("start", parse_date, required=True), r.conv("end", parse_date, required=True)
    try:
        name, level, first, last = check_event(r.req("name"), r.req("level"), start, end)
    except InvalidRecord as e:
        key = "level" if "level" in str(e) else "end"
        raise _Bad(key, r.get(key), str(e)) from None
    kitchens, suppliers = _known_operators(r, "kitchens"), _known_operators(r, "suppliers")
    venues = [v.strip() for v in re.split(r"[；;]", r.get("venues") or "") if v.strip()]
    r.emit(MajorEvent(id=event_id(name, str(first)), name=name, level=level, start=str(first), end=str(last),
                      venues="；".join(venues) or None, kitchen_ids=" ".join(kitchens) or None,
                      supplier_ids=" ".join(suppliers) or None, district_id=r.term("district", "region"),
                      organiser=r.get("organiser") or None))


_HANDLERS: dict[str, Callable[[_Row], None]] = {
    "operators": _operators, "products": _products, "lots": _lots, "deliveries": _deliveries,
    "certificates": _certificates, "trace_codes": _trace_codes, "samples": _samples,
    "test_results": _test_results, "inspections": _inspections, "cases": _cases, "complaints": _complaints,
    "credit_records": _credit_records, "disposal_cases": _disposal_cases, "handling_steps": _handling_steps,
    "chefs": _chefs, "banquets": _banquets, "banquet_guidance": _banquet_guidance, "banquet_census": _banquet_census,
    "kitchen_cameras": _kitchen_cameras, "kitchen_days": _kitchen_days, "kitchen_problems": _kitchen_problems,
    "major_events": _major_events,
}


# -- the reader -------------------------------------------------------------------------------

def _prescan_operators(rows: list[tuple[int, list[str]]], cols: dict[str, int], ctx: _Context) -> None:
    """Map each operator's local number, USCC and GLN to its canonical id before the rows are read.

    Rows that the real pass will reject are skipped here without a word.
    """
    def cell(cells: list[str], key: str) -> str:
        i = cols.get(key)
        return cells[i].strip() if i is not None and i < len(cells) and cells[i] else ""

    for _, cells in rows:
        gln, uscc, local = ids.compact(cell(cells, "gln")), ids.compact(cell(cells, "uscc")).upper(), cell(cells, "id")
        try:
            oid = (ids.operator_id(gln=ids.valid_gln(gln)) if gln else
                   ids.operator_id(uscc=ids.valid_uscc(uscc)) if uscc else None)
        except InvalidIdentifier:
            continue
        if oid is None:
            continue
        for form in (gln, uscc, local):
            if form:
                ctx.refs[("operator", form)] = oid
        if local:
            ctx.local[("operator", local)] = oid


def _is_template_header(cells: list[str]) -> bool:
    return detect_kind(cells) is not None


#: the columns rows resolve as operator and as product references (:meth:`_Row.operator`, :meth:`_Row.product`)
_OPERATOR_COLUMNS = ("from", "to", "producer", "operator", "parent", "holder", "brand_owner", "sampled", "station")
_PRODUCT_COLUMNS = ("product",)


def _prefetch_references(rows: Sequence[tuple[int, list[str]]], cols: dict[str, int], ctx: _Context, *,
                         batched: bool = False) -> None:
    """Look up, in a few batched reads, what :meth:`_Row._operator` and :meth:`_Row._product` will ask the store
    about the operator and product references of a table's rows (each distinct value once), and what
    :meth:`_Row._lot_form` asks about a lot written as something else than an EPC URN, a Digital Link or our own
    id. Only where each read is a round trip to a server (Neo4j: a 1M load's delivery files 481 -> 182 s) or
    where ``batched`` (rows a forked worker reads without the store: :class:`_Parallel`): on a store read in this
    process (SQLite) the batches cost more than the look-ups they replace (the 1M load 142 -> 150 s, idle
    machine)."""
    if ctx.store is None or (ctx.store.local_reads and not batched):
        return
    identifiers: list[str] = []
    keys: list[tuple[str, str]] = []
    local: list[tuple[str, str, str]] = []  # (entity, value, its local id): a name may resolve to another id
    for entity, columns in (("operator", _OPERATOR_COLUMNS), ("product", _PRODUCT_COLUMNS)):
        at = [cols[c] for c in columns if c in cols]
        values = {_clean(cells[i]) for _, cells in rows for i in at if i < len(cells)}
        for v in values:
            if not v:
                continue
            try:
                shape, found = _id_shape(entity, v)
                if found is None:  # a URN or Digital Link: the id it names
                    p = ids.canonical(v)
                    found = (p.operator_id if entity == "operator" else p.product_id) or p.id
            except InvalidIdentifier:
                continue  # the row rejects it
            if shape == "name":
                identifiers += [found, v]
                local.append((entity, v, found))
            keys.append((entity, found))
    if "lot" in cols:  # a lot written in a form the store resolves (_Row._lot_form)
        i = cols["lot"]
        identifiers += [v for v in {_clean(cells[i]) for _, cells in rows if i < len(cells)}
                        if v and not v.lower().startswith(("urn:epc:", "http://", "https://", "urn:foodtrace:lot:"))]
    if not keys and not identifiers:
        return
    records = not batched  # a server's records are kept for the rows that read them; a worker's rows read none
    ctx.prefetch([], keys, records=records)  # whether each id is stored: a stored one is not resolved further
    ctx.prefetch(identifiers + [found for entity, found in keys if not ctx.known(entity, found)], [], records=records)
    resolved = [(entity, r) for entity, v, found in local if (r := ctx.resolve(found) or ctx.resolve(v))]
    ctx.prefetch([r for _, r in resolved], resolved, records=records)


def _prefetch_subjects(rows: Sequence[tuple[int, list[str]]], cols: dict[str, int], ctx: _Context) -> None:
    """For a handling-steps table: the subjects its rows name, their histories, samples and producers, in a few
    batched reads instead of several look-ups per row (what :func:`_handling_steps` reads through the context)."""
    from ontology.handling import case_id

    if ctx.store is None or "subject" not in cols or "subject_kind" not in cols:
        return
    wanted: dict[str, list[str]] = {"disposal_case": [], "complaint": []}
    for _, cells in rows:
        number = _clean(cells[cols["subject"]]) if cols["subject"] < len(cells) else ""
        kind_text = _clean(cells[cols["subject_kind"]]) if cols["subject_kind"] < len(cells) else ""
        table_name = _SUBJECT_KINDS.get(kind_text.strip().casefold()) or _SUBJECT_KINDS.get(kind_text.strip())
        if not number or table_name is None:
            continue
        try:
            wanted[table_name].append(case_id(number) if table_name == "disposal_case"
                                      else ids.local_id("complaint", number))
        except (FoodtraceError, ValueError):
            continue  # the row rejects it
    subjects = [sid for sids in wanted.values() for sid in dict.fromkeys(sids) if sid not in ctx.histories]
    if not subjects:
        return
    cases = ctx.prefetch_records("disposal_case", wanted["disposal_case"])
    ctx.prefetch_records("complaint", wanted["complaint"])
    ctx.prefetch_records("sample", [c.sample_id for c in cases.values() if c.sample_id])  # type: ignore[attr-defined]
    ctx.prefetch_records("operator", [c.producer_id for c in cases.values() if c.producer_id])  # type: ignore[attr-defined]
    histories: dict[str, list[Record]] = {sid: [] for sid in subjects}
    for step in ctx.store.scan("handling_step", {"subject_id": subjects}):  # insertion order, as per subject
        histories[step.subject_id].append(step)  # type: ignore[attr-defined]
    ctx.histories.update(histories)


#: rows whose store look-ups are made together (:func:`_prefetched`)
_PREFETCH_ROWS = 20_000


def _prefetched(rows: Iterable[tuple[int, list[str]]], cols: dict[str, int], ctx: _Context,
                kind: str) -> Iterator[tuple[int, list[str]]]:
    """The rows, read in windows of :data:`_PREFETCH_ROWS` (a large CSV is streamed), each window's references
    (and a handling-steps table's subjects) looked up in a few batched reads before its rows are handled."""
    it = iter(rows)
    while True:
        window = list(itertools.islice(it, _PREFETCH_ROWS))
        if not window:
            return
        _prefetch_references(window, cols, ctx)
        if kind == "handling_steps":
            _prefetch_subjects(window, cols, ctx)
        yield from window


def _read_table(table: Table, ctx: _Context, kind: str | None, notes: list[LoadNote]) -> Iterator[Record]:
    headers = table.header
    kind = kind or detect_kind(headers)
    if kind is None:
        ctx.rejects.append(Reject(ctx.path, "header", "", " | ".join(headers)[:500], _closest(headers)))
        return
    if kind == "corrections":  # not records: loaders.load applies it through loaders.corrections
        ctx.rejects.append(Reject(ctx.path, "header", "", " | ".join(headers)[:500],
                                  "a corrections template is applied by `foodtrace load` (as corrections), "
                                  "not read as records"))
        return
    template = TEMPLATES[kind]
    cols = header_map(kind, headers)
    missing = [c for c in template.columns if c.required and c.key not in cols]
    if missing:
        ctx.rejects.append(Reject(ctx.path, "header", ",".join(c.key for c in missing), " | ".join(headers)[:500],
                                  f"the {kind} template needs column(s) "
                                  + ", ".join(f"{c.zh}/{c.key}" for c in missing)))
        return
    groups: dict[str, tuple[int, str, str, str]] = {}
    handler = _HANDLERS.get(kind)
    rows = table.rows
    if kind == "operators":
        rows = list(rows)  # operator files are small: a first pass lets a stall name a market on a later row
        _prescan_operators(rows, cols, ctx)
    spans, sheet = table.spans, table.sheet or ""
    for row_no, cells in _prefetched(rows, cols, ctx, kind):
        yield from _handle_row(ctx, template, cols, headers, handler, groups, spans, sheet, notes, row_no, cells)
    if ctx.pending_items:
        yield from ctx.pending_items.values()
        ctx.pending_items.clear()


def _handle_row(ctx: _Context, template: Template, cols: dict[str, int], headers: list[str],
                handler: Callable[[_Row], None] | None, groups: dict[str, tuple[int, str, str, str]],
                spans: dict[int, int], sheet: str, notes: list[LoadNote], row_no: int,
                cells: list[str]) -> list[Record]:
    """The records of one data row (none for a row that is no record, noted, or a bad row, rejected)."""
    why = skip_reason(cells, headers, span=spans.get(row_no, 0), is_header=_is_template_header)
    if why is not None:
        notes.append(LoadNote(ctx.path, sheet, row_no, why, row_text(cells)))
        return []
    row = _Row(ctx, template, cols, headers, cells)
    ctx.row_marks.clear()
    ctx.row_refs.clear()
    try:
        if handler is None:
            _lot_links(row, groups, row_no)
        else:
            handler(row)
    except _Bad as e:
        ctx.take_back_row()
        field = headers[cols[e.key]] if e.key in cols else e.key
        ctx.rejects.append(Reject(ctx.path, row_no, field, e.value, e.reason))
        return []
    except (FoodtraceError, ValueError, TypeError, KeyError) as e:  # a safety net: never a traceback
        ctx.take_back_row()
        ctx.rejects.append(Reject(ctx.path, row_no, "", "", f"row cannot be read: {e}"))
        return []
    return row.out


def read(path: str | Path, rejects: list[Reject], *, store: "Store | None" = None,
         options: ReadOptions | None = None, kind: str | None = None,
         notes: list[LoadNote] | None = None, prepared: tuple[Table, str] | None = None) -> Iterator[Record]:
    """Read a template file (every sheet of a workbook), yielding the records of its good rows.

    Rows that are no records (totals, 注 rows, footers, the header repeated, rows of dashes, group
    headings: :func:`loaders.rows.skip_reason`) and sheets of instructions (说明, or a sheet matching no
    template beside one that does: :func:`loaders.rows.plan_sheets`) are skipped, each with a note.

    Parameters
    ----------
    path : path
        ``.csv``/``.tsv``/``.xlsx``/``.xls``.
    rejects : list
        Receives one :class:`Reject` per bad row (or per unrecognised sheet, row ``header``).
    store : Store, optional
        Read only, to resolve local numbers and identifiers loaded before.
    kind : str, optional
        A template kind; detected from each sheet's headers if None.
    notes : list, optional
        Receives one :class:`LoadNote` per row or sheet skipped as no record.
    prepared : optional
        What :func:`prepare` read of the file ahead of time.

    Raises
    ------
    UnreadableFile
        When the file is not a table at all.
    KeyError
        For an unknown ``kind``.
    """
    if kind is not None and kind not in TEMPLATES:
        raise KeyError(f"unknown template {kind!r}; known: {', '.join(TEMPLATES)}")
    path = Path(path)
    notes = notes if notes is not None else []
    wanted = store is not None and _parallel_wanted(store.local_reads, options)
    if prepared is not None and (options is None or not options.sheets) and kind in (None, prepared[1]):
        table, found = prepared
    elif wanted and _parallel_size(path):
        table, found = _parallel_table(path, options, kind) or (None, None)
    else:
        table = found = None
    if table is None:
        return _read(path, rejects, store, options, kind, notes)
    ctx = _Context(path, rejects, store)
    if wanted:
        records = _Parallel.start(ctx, table, found, options, notes)  # type: ignore[arg-type]
        if records is not None:
            return records
    return _read_table(table, ctx, found, notes)


def prepare(path: Path) -> tuple[Table, str] | None:
    """The store-independent first step of :func:`read` for a large CSV of a template of
    :data:`PARALLEL_TEMPLATES`: (the table with its rows read and split, its template); None for any other file. The
    loader runs it for the next file while the store commits the one before (:func:`loaders.load.load_files`),
    whether the rows are then read on several processes (:class:`_Parallel`) or on one: reading and splitting a
    100,000-row delivery file takes 0.6 s of the ~5 s its rows take, which the loading thread, waiting for the
    commit, would otherwise spend after it."""
    path = Path(path)
    return _parallel_table(path, None, None) if _parallel_size(path) else None


def bulky(prepared: tuple[Table, str]) -> list[list[Any]]:
    """The large list only the reading of one file holds (the rows :func:`prepare` read): what a loader frees a slice
    at a time once the file is written (:class:`loaders.load._Release`)."""
    return [prepared[0].rows]


def _read(path: Path, rejects: list[Reject], store: "Store | None", options: ReadOptions | None, kind: str | None,
          notes: list[LoadNote]) -> Iterator[Record]:
    tables = read_tables(path, is_header=_is_template_header, lazy=True)
    ctx = _Context(path, rejects, store)
    for table in sheets_to_read(ctx.path, tables, lambda t: kind is not None or detect_kind(t.header) is not None,
                                options.sheets if options is not None else (), notes, rejects, "a template"):
        yield from _read_table(table, ctx, kind, notes)


# -- large CSV templates on two processes ------------------------------------------------------------

#: templates whose rows are read on several processes when their CSV is large: each row's records depend only on
#: the row, the store (looked up ahead for the workers' rows) and which records earlier rows of the file emitted
#: (the reading process drops a worker's record emitted before it, as one process would not have emitted it)
PARALLEL_TEMPLATES = frozenset({"deliveries", "certificates", "trace_codes", "lots"})
#: CSV files of at least this many bytes are read on several processes (about 15,000 delivery rows) ...
PARALLEL_MIN_BYTES = 2 << 20
#: ... and of at most this many (their rows are all in memory at once: a 23 MB delivery file's take about 0.1 GB;
#: a larger file is streamed by one process)
PARALLEL_MAX_BYTES = 256 << 20
#: ... with more rows than this
PARALLEL_MIN_ROWS = 20_000
#: on a store read in this process (SQLite, whose writer thread takes a core of its own during the write), templates
#: are read on several processes only where this many may run. 2 since worker results travel through a spool file
#: (loaders.forked.send): through the pipe a worker waited about a second a piece for the reading process to take
#: it, and the two-process read gained nothing on 2 cores (then 3: README, "Eleventh stop")
LOCAL_MIN_PROCESSES = 2
#: the share of the rows the reading process handles itself with 2 processes (it also rebuilds the worker's
#: records and, into a server, waits for its look-ups) ...
PARENT_SHARE = 0.2
#: ... into the embedded store, whose writer thread shares the cores (3 delivery files of 100,000 rows, 1M-delivery
#: store: one process 19.1-19.2 s; two with the reading process's share 0.2: 17.8-18.2 s; 0.35: 15.2-16.6 s;
#: 0.45: 17.0-18.1 s; 0.55: 17.2-19.5 s)
LOCAL_PARENT_SHARE = 0.35
#: each worker's rows are sent back in this many pieces, so that merging overlaps with reading
PIECES_PER_WORKER = 4

_FORKED: dict[int, "_Parallel"] = {}
_TOKENS = itertools.count()


def _parallel_wanted(local_reads: bool, options: ReadOptions | None) -> bool:
    """Whether enough processes may run to read a large template on several (:data:`LOCAL_MIN_PROCESSES` for a
    store read in this process, 2 for a server's): else its rows are streamed by one process, never all read first."""
    if options is not None and options.processes is not None and options.processes < 2:
        return False
    procs = forked.processes(1 << 40, PARALLEL_MIN_ROWS, options.processes if options else None)
    return procs >= (LOCAL_MIN_PROCESSES if local_reads else 2)


def _parallel_size(path: Path) -> bool:
    """Whether a file is a CSV of the size read on several processes."""
    if path.suffix.lower() not in (".csv", ".tsv", ".txt"):
        return False
    try:
        return PARALLEL_MIN_BYTES <= path.stat().st_size <= PARALLEL_MAX_BYTES
    except OSError:
        return False


def _parallel_table(path: Path, options: ReadOptions | None, kind: str | None) -> tuple[Table, str] | None:
    """(the table with its rows read, its template) of a CSV holding one table of a template of
    :data:`PARALLEL_TEMPLATES` (read as one process would read it); None for another file (nothing read but its
    header)."""
    if options is not None and options.sheets:
        return None
    tables = read_tables(path, is_header=_is_template_header, lazy=True)
    if len(tables) != 1:
        return None
    table = tables[0]
    found = kind or detect_kind(table.header)
    if found not in PARALLEL_TEMPLATES or plan_sheets(tables, lambda t: True) != [(table, None)]:
        return None
    return dataclasses.replace(table, rows=list(table.rows)), found


class _NeedsStore(Exception):
    """Raised in a worker by a look-up that was not made ahead: the reading process handles that row and the rest
    of the piece itself."""


class _NoStore:
    """A worker's store: every look-up was made ahead by the reading process (:meth:`_Parallel.start`); one that
    was not stops the worker's piece (:class:`_NeedsStore`). A worker never uses the store (a connection does not
    survive a fork)."""

    local_reads = True

    def __getattr__(self, name: str) -> Any:
        raise _NeedsStore(name)


class _OnceSeen(_Context):
    """A worker's context, which remembers the records it emitted once (:meth:`_Context.once`): the reading process
    checks those against the records emitted before them."""

    once_ids: set[int]  # the ids of this row's records emitted once ...
    once_kept: list[Record]  # ... kept alive until the row's records are packed (an id is not reused meanwhile)

    def once(self, rec: Record) -> bool:
        if super().once(rec):
            self.once_ids.add(id(rec))
            self.once_kept.append(rec)
            return True
        return False


class _Parallel:
    """A large CSV template read on two processes, as the EPCIS documents are (:mod:`loaders.forked`).

    The reading process reads every row, looks up in a few batched reads what the worker's rows will ask the
    store (:func:`_prefetch_references`), and forks the worker before the store's writer thread starts. It then
    handles the first share of the rows itself while the worker handles the rest in pieces, and merges the
    pieces in row order: a record the worker emitted once (a stub, a lot, a ticket ...) is dropped where an earlier
    row had emitted it, rejects and notes are taken over in row order, and a piece stopped by a look-up that was
    not made ahead is finished here. The records, rejects and notes are those of one process reading the file
    from start to end."""

    @classmethod
    def start(cls, ctx: _Context, table: Table, kind: str, options: ReadOptions | None,
              notes: list[LoadNote]) -> Iterator[Record] | None:
        """The records of ``table`` (its rows read: :func:`_parallel_table`) with its worker forked; None where
        no worker is forked (too few rows, a header the template rejects, no fork)."""
        self = cls()
        self.ctx, self.kind, self.table, self.notes = ctx, kind, table, notes
        self.template = TEMPLATES[kind]
        self.cols = header_map(kind, table.header)
        if any(c.required and c.key not in self.cols for c in self.template.columns):
            return None  # the header is rejected as one process rejects it
        self.rows = table.rows
        procs = forked.processes(len(self.rows), PARALLEL_MIN_ROWS, options.processes if options else None)
        if ctx.store.local_reads and procs < LOCAL_MIN_PROCESSES:  # type: ignore[union-attr]
            return None
        pool = forked.start_pool(procs) if procs > 1 else None
        if pool is None:
            return None
        share = LOCAL_PARENT_SHARE if ctx.store.local_reads else PARENT_SHARE  # type: ignore[union-attr]
        self.cut, self.pieces = forked.split(len(self.rows), procs, share, PIECES_PER_WORKER)
        _prefetch_references(self.rows[:self.cut], self.cols, self.ctx)  # where reads are round trips (Neo4j)
        _prefetch_references(self.rows[self.cut:], self.cols, self.ctx, batched=True)  # the worker's, always
        self.pool, self.token = pool, next(_TOKENS)
        _FORKED[self.token] = self
        try:
            self.futures = [pool.submit(_work, self.token, lo, hi) for lo, hi in self.pieces]  # forks at the first
        except Exception:  # out of processes: one process reads it all
            _FORKED.pop(self.token, None)
            pool.shutdown(wait=False, cancel_futures=True)
            return None
        records = self.run()
        weakref.finalize(records, forked.release, pool, self.token, _FORKED)  # never read: the worker is stopped
        return records

    def _rows(self, lo: int, hi: int, ctx: _Context, notes: list[LoadNote]) -> Iterator[Record]:
        """The records of rows ``lo`` to ``hi - 1``, read by this process."""
        handler, groups = _HANDLERS.get(self.kind), {}
        table, headers = self.table, self.table.header
        spans, sheet = table.spans, table.sheet or ""
        for i in range(lo, hi):
            row_no, cells = self.rows[i]
            yield from _handle_row(ctx, self.template, self.cols, headers, handler, groups, spans, sheet, notes,
                                   row_no, cells)

    def run(self) -> Iterator[Record]:
        done = False
        try:
            yield from self._rows(0, self.cut, self.ctx, self.notes)
            for (lo, hi), fut in zip(self.pieces, self.futures):
                try:
                    kinds, flags, values, rejects, notes, stopped = forked.received(fut.result())
                except Exception:  # the worker failed: this process reads its piece
                    kinds, flags, values, rejects, notes, stopped = b"", b"", [], [], [], lo
                yield from self._merge(kinds, flags, values)
                self.ctx.rejects.extend(Reject(*r) for r in rejects)
                self.notes.extend(LoadNote(*n) for n in notes)
                if stopped is not None:
                    yield from self._rows(stopped, hi, self.ctx, self.notes)
            done = True
        finally:
            _FORKED.pop(self.token, None)
            self.rows = self.table.rows = []  # the rows are not kept after the file
            self.pool.shutdown(wait=done, cancel_futures=True)

    def _merge(self, kinds: bytes, flags: bytes, values: list[tuple[Any, ...]]) -> Iterator[Record]:
        unpack, once = forked.unpack, self.ctx.once
        for k, flag, v in zip(kinds, flags, values):
            rec = unpack(k, v)
            if not flag or once(rec):
                yield rec


def _work(token: int, lo: int, hi: int) -> Any:
    """In a forked worker: the records of rows lo..hi-1 (type numbers, once-flags, field tuples), their rejects and
    notes, and the row where a look-up not made ahead stopped it (None: it handled them all)."""
    gc.disable()  # the inherited heap is large and holds no garbage: collecting would only copy its pages
    job = _FORKED[token]
    ctx = _OnceSeen.__new__(_OnceSeen)
    ctx.__dict__.update(job.ctx.__dict__)
    ctx.store, ctx.rejects, ctx.once_ids, ctx.once_kept = _NoStore(), [], set(), []
    notes: list[LoadNote] = []
    kinds, flags, values = bytearray(), bytearray(), []
    pack = forked.PACKERS
    stopped = None
    handler, groups = _HANDLERS.get(job.kind), {}
    table, headers = job.table, job.table.header
    spans, sheet = table.spans, table.sheet or ""
    once_ids = ctx.once_ids
    for i in range(lo, hi):
        row_no, cells = job.rows[i]
        try:
            records = _handle_row(ctx, job.template, job.cols, headers, handler, groups, spans, sheet, notes,
                                  row_no, cells)
        except _NeedsStore:  # the rows before it are complete; the reading process does this one and the rest
            stopped = i
            break
        for rec in records:
            k, get = pack[type(rec)]
            kinds.append(k)
            flags.append(id(rec) in once_ids)
            values.append(get(rec))
        once_ids.clear()
        ctx.once_kept.clear()
    return forked.send((bytes(kinds), bytes(flags), values,
                        [(r.file, r.row, r.field, r.value, r.reason) for r in ctx.rejects],
                        [dataclasses.astuple(n) for n in notes], stopped))


# -- blank templates and documentation ---------------------------------------------------------

def write_blank_templates(out_dir: str | Path) -> list[Path]:
    """Write every template as ``{kind}.xlsx`` and ``{kind}.csv`` with its Chinese headers and one example row.

    Returns the paths written, in :data:`loaders.template_spec.LOAD_ORDER`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in LOAD_ORDER:
        t = TEMPLATES[kind]
        for suffix in (".xlsx", ".csv"):
            p = out / f"{kind}{suffix}"
            write_table(p, t.headers_zh, [[c.example for c in t.columns]], sheet=t.zh)
            paths.append(p)
    return paths


def columns_markdown() -> str:
    """The README's column reference: every template and column (Chinese header, key, required, meaning, example).

    >>> md = columns_markdown()
    >>> "| 发货方 | `from` | yes |" in md
    True
    """
    lines = ["Each template's first row holds the Chinese headers below; the English keys are accepted as",
             "headers too (any mix, any order; unknown columns are ignored). Required columns are marked *yes*.", ""]
    for kind in LOAD_ORDER:
        t = TEMPLATES[kind]
        lines += [f"### {t.zh} `{kind}`", "", t.doc[0].upper() + t.doc[1:] + ".", "",
                  "| 表头 | key | required | meaning | example |", "|---|---|---|---|---|"]
        for c in t.columns:
            doc = c.doc.replace("|", "\\|")
            ex = c.example.replace("|", "\\|")
            lines.append(f"| {c.zh} | `{c.key}` | {'yes' if c.required else ''} | {doc} | {ex} |")
        lines.append("")
    return "\n".join(lines)
