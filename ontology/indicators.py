"""The demonstration city's indicators as data: definitions, targets, statuses, populations, 食用农产品.

One table (``indicators.toml``, versioned and cited) read here; :mod:`reasoning.indicators` computes the
figures, the synthetic generator its truth, and both read the same definitions from this module.

>>> t = table(); t.indicators["disposal_completion"].zh, t.population["urn:foodtrace:region:320685"]
('抽检不合格食品核查处置完成率', 874334)
>>> t.indicators["disposal_completion"].status(0.97), t.indicators["red_lines"].status(1)
('amber', 'red')
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import InvalidRecord

__all__ = ["TABLE_PATH", "Indicator", "IndicatorTable", "table", "ORDER"]

TABLE_PATH = Path(__file__).with_name("indicators.toml")

#: the indicators in the order reports show them
ORDER = ("chain_certificate", "chain_ticket", "chain_trace_code", "disposal_completion", "disposal_on_time",
         "red_lines", "complaints_on_time", "complaints_on_time_rural", "sampling_per_1000", "problem_rate",
         "agricultural_share", "graded_share", "credit_archive_share", "kitchen_connection", "kitchen_online",
         "kitchen_upload", "kitchen_rectification")


@dataclass(frozen=True)
class Indicator:
    key: str
    zh: str
    en: str
    definition_zh: str
    definition_en: str
    unit: str
    better: str
    target: float
    amber: float
    designed: bool
    source: str | None

    def status(self, value: float | None) -> str | None:
        """``green``, ``amber`` or ``red`` for a value (None without one)."""
        if value is None:
            return None
        if self.better == "zero":
            return "green" if value <= self.target else "red"
        if value >= self.target - 1e-12:
            return "green"
        return "amber" if value >= self.amber - 1e-12 else "red"


@dataclass(frozen=True)
class IndicatorTable:
    version: str
    indicators: dict[str, Indicator]
    population: dict[str, int]
    population_source: str
    agricultural: frozenset[str]


@lru_cache(maxsize=4)
def table(path: str | None = None) -> IndicatorTable:
    """The indicator table (``indicators.toml`` beside this module unless ``path`` names another)."""
    p = Path(path) if path else TABLE_PATH
    try:
        data: dict[str, Any] = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidRecord(f"cannot read the indicator table {p}: {e}") from None
    found = {}
    for key in ORDER:
        d = data.get("indicators", {}).get(key)
        if d is None:
            raise InvalidRecord(f"[indicators.{key}] is missing from {p}")
        try:
            found[key] = Indicator(key, d["zh"], d["en"], d["definition_zh"], d["definition_en"], d["unit"],
                                   d["better"], float(d["target"]), float(d["amber"]), bool(d.get("designed")),
                                   d.get("source"))
        except KeyError as e:
            raise InvalidRecord(f"[indicators.{key}] needs {e.args[0]!r}") from None
    pop = {k: int(v) for k, v in data["population"].items() if k.startswith("urn:")}
    return IndicatorTable(str(data["version"]), found, pop, str(data["population"].get("source", "")),
                          frozenset(data["agricultural"]["categories"]))
