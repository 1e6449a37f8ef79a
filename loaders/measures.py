"""Test items and measures as announcements and templates write them, read one way for both.

:func:`hazard_class_of` names the hazard class of a test item (:data:`HAZARD_ITEMS`, longest match);
:func:`parse_measure` reads a result or a limit (2.55μg/kg, ≤0.1mg/kg, 不得检出, 未检出, a microbiological
sampling plan n=5,c=2,m=..,M=..). Used by the announcement loader (:mod:`loaders.samr`) and the
sampling-results template (:mod:`loaders.templates`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ontology.errors import InvalidRecord
from ontology.units import normalise_concentration_unit

from .base import read_data_table

__all__ = ["HAZARD_ITEMS", "HAZARD_TABLE_VERSION", "SEVERITY", "hazard_class_of", "Measure", "parse_measure", "norm_text", "NONE_DETECTED", "FORBIDDEN"]

# -- hazard items ---------------------------------------------------------------------------------

_HAZARD_TABLE = Path(__file__).with_name("data") / "hazard_items.csv"


def _item_core(item: str) -> str:
    s = unicodedata.normalize("NFKC", item).strip()
    return re.sub(r"[(（\[〔【][^()（）\[\]〔〕【】]*[)）\]〕】]", "", s).strip() or s


def _read_table(path: Path) -> tuple[str, dict[str, str]]:
    """(version, item -> hazard class) of the hazard items table."""
    version, rows = read_data_table(path)
    return version, {_item_core(r["item"]): r["hazard_class"] for r in rows}


#: version of loaders/data/hazard_items.csv
HAZARD_TABLE_VERSION: str
#: test item (or a distinctive part of its name) -> hazard class (loaders/data/hazard_items.csv); longest match wins
HAZARD_ITEMS: dict[str, str]
HAZARD_TABLE_VERSION, HAZARD_ITEMS = _read_table(_HAZARD_TABLE)
#: the most serious first: an item cell naming several items (氨基酸态氮、苯甲酸) takes the most serious class
SEVERITY: tuple[str, ...] = ("illegal_additive", "vet_drug", "pesticide", "biotoxin", "heavy_metal",
                             "organic_contaminant", "microbial", "additive", "quality", "label", "food_contact",
                             "other")
# the element names match inside longer names (铅 in 铅（以Pb计）) but "钠" must not swallow 苯甲酸钠:
_SORTED_ITEMS = sorted(HAZARD_ITEMS, key=len, reverse=True)


def _one_class(core: str) -> str | None:
    if core in HAZARD_ITEMS:
        return HAZARD_ITEMS[core]
    for k in _SORTED_ITEMS:
        if len(k) >= 2 and k in core:
            return HAZARD_ITEMS[k]
    for k in _SORTED_ITEMS:
        if len(k) == 1 and core.startswith(k):
            return HAZARD_ITEMS[k]
    return None


def hazard_class_of(item: str | None) -> str | None:
    """The hazard class of a test item from :data:`HAZARD_ITEMS`, or None when unknown.

    Several items in one cell (``氨基酸态氮、苯甲酸``) give the most serious class (:data:`SEVERITY`).

    >>> hazard_class_of("铅（以Pb计）"), hazard_class_of("苯甲酸及其钠盐（以苯甲酸计）"), hazard_class_of("xyz")
    ('heavy_metal', 'additive', None)
    >>> hazard_class_of("乙酰磺胺酸钾（安赛蜜）"), hazard_class_of("氨基酸态氮、苯甲酸"), hazard_class_of("标签")
    ('additive', 'additive', 'label')
    """
    if not item:
        return None
    core = _item_core(item)
    found = {c for c in (_one_class(p.strip()) for p in re.split(r"[、，,]", core) if p.strip()) if c}
    if not found:
        return _one_class(core)
    return min(found, key=lambda c: SEVERITY.index(c) if c in SEVERITY else len(SEVERITY))


# -- measures -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    """A result or limit: ``value`` (the largest of several counts; 0 for 不得检出/未检出), its unit and form."""

    value: float | None
    unit: str | None
    text: str
    op: str | None = None            # ≤ < ≥ > for limits
    below_detection: bool = False    # 未检出 / ND
    plan: str | None = None          # n=5,c=2,m=..,M=.. as written


_NUM_TOKEN = re.compile(r"(\d+(?:\.\d+)?)(?:\s*[×xX*]\s*10\s*(\^?\s*[-−]?\d+))?")
_UNIT_TAIL = re.compile(r"([a-zA-Zμµ%][a-zA-Zμµ/0-9().%]*)\s*$")
#: how a result below the detection limit is written
NONE_DETECTED = ("未检出", "nd", "n.d.", "<lod", "低于检出限")
#: how a limit of zero (a forbidden substance) is written
FORBIDDEN = ("不得检出", "不得使用", "不得添加", "不应检出", "阴性", "不得检出/25g")


def norm_text(text: object) -> str:
    """NFKC-normalised, stripped text (full-width forms folded)."""
    return unicodedata.normalize("NFKC", str(text)).strip()


def _number(tok: str) -> float | None:
    m = _NUM_TOKEN.search(tok)
    if not m:
        return None
    v = float(m.group(1))
    if m.group(2):
        exp = m.group(2).replace("^", "").replace("−", "-").strip()
        v = v * 10 ** int(exp)
    return v


def _unit_of(text: str) -> str | None:
    m = _UNIT_TAIL.search(text.replace(" ", ""))
    if not m:
        return None
    raw = m.group(1)
    return normalise_concentration_unit(raw) or (raw if re.search(r"[a-zA-Zμ]", raw) else None)


def parse_measure(text: object, unit: str | None = None, *, limit: bool = False) -> Measure:
    """A result or limit as written: 2.55μg/kg, ≤0.1mg/kg, 不得检出, 未检出, n=5,c=2,m=10000,M=100000.

    ``unit`` is a unit given in a separate column (used when the text has
    none). A list of counts (microbiology) gives the largest; a sampling plan
    gives ``m`` as the limit.

    Raises
    ------
    InvalidRecord
        No number and no known wording.

    >>> parse_measure("不得检出", "μg/kg", limit=True).value
    0.0
    >>> m = parse_measure("未检出")
    >>> m.value, m.below_detection
    (0.0, True)
    >>> parse_measure("n=5, c=2, m=2.5×104, M=105CFU/g", limit=True).value
    25000.0
    >>> parse_measure("n=5，c=2，m=104CFU/g，M=105CFU/g", limit=True).value
    10000.0
    >>> parse_measure("270000CFU/g；＜10CFU/g；25CFU/g").value
    270000.0
    """
    raw = norm_text(text)
    s = raw.replace("，", ",").replace("；", ";")
    given_unit = normalise_concentration_unit(unit) if unit else None
    if unit and given_unit is None and norm_text(unit):
        given_unit = norm_text(unit)
    low = s.casefold().replace(" ", "")
    if not low:
        raise InvalidRecord("measure is empty")
    if any(low.startswith(w) for w in NONE_DETECTED):
        return Measure(0.0, given_unit or _unit_of(s), raw, None, True)
    if any(low.startswith(w) for w in FORBIDDEN):
        return Measure(0.0, given_unit or _unit_of(s), raw, "≤" if limit else None, False)
    plan = re.search(r"m\s*=\s*([^,;]+)", s)
    if plan and re.search(r"n\s*=", s, re.I):
        m_txt = plan.group(1)
        big = re.search(r"M\s*=\s*([^,;]+)", s)
        unit_txt = _unit_of(big.group(1) if big else m_txt)
        mval = _number(m_txt)
        bare_pow = re.fullmatch(r"\s*10(\d)\s*([a-zA-Z/]*)\s*", m_txt)
        if bare_pow and big and re.fullmatch(r"\s*10(\d)\s*([a-zA-Z/]*)\s*", big.group(1)):
            mval = float(10 ** int(bare_pow.group(1)))  # superscript lost in scraping: 104 means 10^4
        if mval is None:
            raise InvalidRecord(f"sampling plan {raw!r} has no m value")
        return Measure(mval, unit_txt or given_unit, raw, "≤", False, raw)
    op = None
    m = re.match(r"^\s*(≤|<=|≦|<|＜|≥|>=|≧|>|＞|不超过|不大于|不高于|不低于|不小于)", s)
    if m:
        op = {"<=": "≤", "≦": "≤", "＜": "<", ">=": "≥", "≧": "≥", "＞": ">", "不超过": "≤", "不大于": "≤",
              "不高于": "≤", "不低于": "≥", "不小于": "≥"}.get(m.group(1), m.group(1))
    parts = [p for p in re.split(r"[;,、\n]", s) if p.strip()]
    values = [v for v in (_number(p) for p in parts) if v is not None]
    if not values:
        raise InvalidRecord(f"no number in {raw!r}")
    u = None
    for p in reversed(parts):
        u = _unit_of(p)
        if u:
            break
    return Measure(max(values), u or given_unit, raw, op if limit or op else None, False)
