"""Units of quantity: everything written in a sheet or an event becomes a UN/CEFACT code.

Quantities of deliveries, lots and lot links carry a unit code from UN/ECE
Recommendation 20 (the codes EPCIS ``uom`` uses): ``KGM`` kilogram, ``GRM``
gram, ``TNE`` tonne, ``LTR`` litre, ``MLT`` millilitre, ``H87`` piece. Counted
goods map as follows (documented choice):

======================  ======  ======================================
written                 code    meaning
======================  ======  ======================================
头 只 个 件 羽 尾 条 枚  H87     piece (animals, birds, fish, items)
箱                      XBX     box (Rec 21 package code, Rec 20 "X" form)
盒 包                   XPK     package
袋                      XBG     bag
瓶                      XBO     bottle
桶                      XBA     barrel / pail
筐 篮                   XBK     basket
打                      DZN     dozen
======================  ======  ======================================

A string that already has the shape of a Rec 20 code (2-3 upper-case letters
or digits, e.g. ``KGM``, ``EA``, ``H87``, ``XBX``) passes through unchanged.
The market units 斤 and 两 have no code: :func:`normalise_quantity` converts them
to kilograms (1 斤 = 0.5 kg, 1 两 = 0.05 kg); :func:`normalise_unit` rejects
them with that advice.

Concentration units of test results (μg/kg, mg/kg, CFU/g ...) have no Rec 20
codes that analysts recognise; :func:`normalise_concentration_unit` gives them
one canonical spelling instead, and :func:`concentration_factor` converts
between mass fractions.

Examples
--------
>>> normalise_unit("公斤"), normalise_unit("kg"), normalise_unit("KGM")
('KGM', 'KGM', 'KGM')
>>> normalise_unit("头"), normalise_unit("箱")
('H87', 'XBX')
>>> normalise_quantity(10, "斤")
(5.0, 'KGM')
>>> to_kg(2, "吨")
2000.0
>>> to_kg(3, "只") is None
True
>>> normalise_concentration_unit("ug/kg")
'μg/kg'
>>> concentration_factor("mg/kg", "μg/kg")
1000.0
"""

from __future__ import annotations

import re
import unicodedata

from .errors import InvalidRecord

__all__ = [
    "UNIT_CODES",
    "normalise_unit",
    "normalise_quantity",
    "split_quantity",
    "to_kg",
    "unit_label",
    "normalise_concentration_unit",
    "concentration_factor",
]

#: written form (lower-cased, NFKC) -> UN/CEFACT Rec 20 code
UNIT_CODES: dict[str, str] = {
    # mass
    "千克": "KGM", "公斤": "KGM", "kg": "KGM", "kgs": "KGM", "kilogram": "KGM", "kilograms": "KGM", "kgm": "KGM",
    "克": "GRM", "g": "GRM", "gram": "GRM", "grams": "GRM", "grm": "GRM",
    "毫克": "MGM", "mg": "MGM", "mgm": "MGM",
    "吨": "TNE", "t": "TNE", "tonne": "TNE", "tonnes": "TNE", "ton": "TNE", "tne": "TNE",
    # volume
    "升": "LTR", "l": "LTR", "litre": "LTR", "liter": "LTR", "ltr": "LTR", "公升": "LTR",
    "毫升": "MLT", "ml": "MLT", "mlt": "MLT",
    # count
    "头": "H87", "只": "H87", "个": "H87", "件": "H87", "羽": "H87", "尾": "H87", "条": "H87", "枚": "H87",
    "piece": "H87", "pieces": "H87", "pcs": "H87", "pc": "H87", "h87": "H87", "head": "H87",
    "each": "EA", "ea": "EA",
    "箱": "XBX", "box": "XBX", "盒": "XPK", "包": "XPK", "package": "XPK",
    "袋": "XBG", "bag": "XBG", "瓶": "XBO", "bottle": "XBO", "桶": "XBA", "barrel": "XBA",
    "筐": "XBK", "篮": "XBK", "basket": "XBK", "打": "DZN", "dozen": "DZN",
}

#: kilograms per unit, for mass units (codes and the market units without a code)
_KG: dict[str, float] = {"KGM": 1.0, "GRM": 0.001, "MGM": 1e-6, "TNE": 1000.0, "LBR": 0.45359237,
                         "斤": 0.5, "市斤": 0.5, "两": 0.05}
_MARKET = {"斤": "斤", "市斤": "斤", "jin": "斤", "两": "两", "liang": "两"}
_CODE = re.compile(r"^[A-Z0-9]{2,3}$")

_LABELS = {"KGM": ("千克", "kg"), "GRM": ("克", "g"), "MGM": ("毫克", "mg"), "TNE": ("吨", "t"),
           "LTR": ("升", "L"), "MLT": ("毫升", "mL"), "H87": ("个", "piece"), "EA": ("个", "each"),
           "XBX": ("箱", "box"), "XPK": ("盒", "package"), "XBG": ("袋", "bag"), "XBO": ("瓶", "bottle"),
           "XBA": ("桶", "barrel"), "XBK": ("筐", "basket"), "DZN": ("打", "dozen")}


def _clean(text: object) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip()


def normalise_unit(text: object) -> str:
    """The UN/CEFACT Rec 20 code of a written unit.

    Parameters
    ----------
    text : str
        A unit as written: Chinese (千克, 头), English/SI (kg, L) or a code (KGM).

    Returns
    -------
    str
        The code, e.g. ``KGM``.

    Raises
    ------
    InvalidRecord
        For an empty or unknown unit, naming it; for 斤/两, advising conversion.

    Examples
    --------
    >>> normalise_unit(" KG ")
    'KGM'
    >>> normalise_unit("瓶")
    'XBO'
    >>> normalise_unit("furlong")
    Traceback (most recent call last):
    ...
    ontology.errors.InvalidRecord: unknown unit 'furlong'; use 千克/kg/KGM, 克/g, 吨/t, 升/L, 毫升/mL, 头/只/个/件 (H87), 箱, 袋, 盒, 瓶, 桶 or a UN/CEFACT code
    """
    t = _clean(text)
    if not t:
        raise InvalidRecord("unit is empty")
    code = UNIT_CODES.get(t.lower())
    if code:
        return code
    if t in _MARKET or t.lower() in _MARKET:
        raise InvalidRecord(f"unit {t!r} has no UN/CEFACT code; convert it to kilograms "
                            "(1 斤 = 0.5 kg, 1 两 = 0.05 kg)")
    if _CODE.match(t):
        return t
    raise InvalidRecord(f"unknown unit {t!r}; use 千克/kg/KGM, 克/g, 吨/t, 升/L, 毫升/mL, 头/只/个/件 (H87), "
                        "箱, 袋, 盒, 瓶, 桶 or a UN/CEFACT code")


#: a number, then a unit word (no digits) after optional blanks: "25.5kg", "86.5 公斤", "1,200 斤", "3头"
_WITH_UNIT = re.compile(r"^([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+-]?\.\d+)\s*([^\d\s.,+-][^\d]*?)$")


def split_quantity(text: object) -> tuple[str, str]:
    """A quantity cell written with its unit, split: ``(number as written, unit as written)``.

    The unit part is what follows the number (it is not checked here: :func:`normalise_quantity` does);
    a cell without one gives ``(cell, "")``.

    >>> split_quantity("25.5kg"), split_quantity("86.5 公斤"), split_quantity("3头")
    (('25.5', 'kg'), ('86.5', '公斤'), ('3', '头'))
    >>> split_quantity("1,200斤"), split_quantity("120")
    (('1,200', '斤'), ('120', ''))
    """
    t = _clean(text)
    m = _WITH_UNIT.match(t)
    if m is None:
        return t, ""
    return m.group(1), m.group(2).strip()


def normalise_quantity(quantity: float, unit: object) -> tuple[float, str]:
    """A quantity and its unit code; market units (斤, 两) become kilograms.

    >>> normalise_quantity(3, "两")
    (0.15, 'KGM')
    >>> normalise_quantity(3, "千克")
    (3.0, 'KGM')
    """
    t = _clean(unit)
    market = _MARKET.get(t) or _MARKET.get(t.lower())
    if market:
        return round(float(quantity) * _KG[market], 9), "KGM"
    return float(quantity), normalise_unit(t)


def to_kg(quantity: float, unit: object) -> float | None:
    """``quantity`` in kilograms if ``unit`` is a mass unit (incl. 斤, 两), else None.

    >>> to_kg(10, "斤")
    5.0
    >>> to_kg(500, "GRM")
    0.5
    >>> to_kg(1, "LTR") is None
    True
    """
    t = _clean(unit)
    market = _MARKET.get(t) or _MARKET.get(t.lower())
    if market:
        return float(quantity) * _KG[market]
    try:
        code = normalise_unit(t)
    except InvalidRecord:
        return None
    factor = _KG.get(code)
    return None if factor is None else float(quantity) * factor


def unit_label(code: str) -> tuple[str, str]:
    """(Chinese, English) label of a unit code; the code itself when unknown.

    >>> unit_label("KGM")
    ('千克', 'kg')
    """
    return _LABELS.get(code, (code, code))


# -- concentrations of test results ------------------------------------------------------

_CONC_ALIASES = {
    "ug/kg": "μg/kg", "µg/kg": "μg/kg", "μg/kg": "μg/kg", "ppb": "μg/kg", "ng/g": "μg/kg",
    "mg/kg": "mg/kg", "ppm": "mg/kg", "μg/g": "mg/kg", "ug/g": "mg/kg", "µg/g": "mg/kg",
    "g/kg": "g/kg", "mg/g": "mg/g", "g/100g": "g/100g", "mg/100g": "mg/100g", "μg/100g": "μg/100g",
    "ug/100g": "μg/100g", "µg/100g": "μg/100g",
    "ug/l": "μg/L", "µg/l": "μg/L", "μg/l": "μg/L", "mg/l": "mg/L", "g/l": "g/L",
    "g/100ml": "g/100mL", "mg/100ml": "mg/100mL", "mg/100kj": "mg/100kJ", "μg/100kj": "μg/100kJ",
    "ug/100kj": "μg/100kJ", "µg/100kj": "μg/100kJ", "g/100kj": "g/100kJ",
    "cfu/g": "CFU/g", "cfu/ml": "CFU/mL", "cfu/25g": "CFU/25g", "mpn/g": "MPN/g", "mpn/100g": "MPN/100g",
    "mpn/ml": "MPN/mL", "mpn/100ml": "MPN/100mL", "/25g": "/25g", "%": "%", "g/100g(%)": "g/100g",
    "mmol/kg": "mmol/kg", "meq/kg": "meq/kg", "mg/dm2": "mg/dm2", "bq/kg": "Bq/kg",
}
#: kilograms of substance per kilogram of food, for mass fractions
_FRACTION = {"μg/kg": 1e-9, "mg/kg": 1e-6, "g/kg": 1e-3, "mg/g": 1e-3, "g/100g": 1e-2, "mg/100g": 1e-5,
             "μg/100g": 1e-8, "%": 1e-2}


def normalise_concentration_unit(text: object) -> str | None:
    """One spelling for a concentration unit (μg/kg, mg/kg, CFU/g ...), or None if unknown.

    >>> normalise_concentration_unit("mg/KG"), normalise_concentration_unit("cfu/g")
    ('mg/kg', 'CFU/g')
    >>> normalise_concentration_unit("apples") is None
    True
    """
    t = _clean(text).replace(" ", "")
    if not t:
        return None
    return _CONC_ALIASES.get(t.lower().replace("µ", "μ"))


def concentration_factor(from_unit: str, to_unit: str) -> float | None:
    """Multiply a value in ``from_unit`` by this to get ``to_unit`` (mass fractions only), else None.

    >>> concentration_factor("g/kg", "mg/kg")
    1000.0
    >>> concentration_factor("CFU/g", "mg/kg") is None
    True
    """
    if from_unit == to_unit:
        return 1.0
    a, b = _FRACTION.get(from_unit), _FRACTION.get(to_unit)
    if a is None or b is None:
        return None
    return round(a / b, 12)
