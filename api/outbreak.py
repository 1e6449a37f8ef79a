"""``foodtrace outbreak``: the cases file and the ranking's table.

The cases file (CSV or Excel; CSV in UTF-8 with or without a byte-order mark, or GBK/GB18030) has the
columns ``id`` (编号: a station or lot in any identifier form the store knows), ``weight`` (权重: default
1, negative for a confirmed non-case) and ``date`` (日期, optional: 2026-03-01, 2026/3/1, 20260301 or
2026年3月1日). Headers may be Chinese, English or both (``编号/id``); other columns are ignored.

A bad row (unknown id, a weight that is not a number, a bad date) makes the whole file an error that
names the file, row, column and reason, even when the other rows are good: a ranking computed on part
of the cases would point at the wrong source without saying so.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "cases.csv"
>>> _ = p.write_text("编号,权重,日期\\nshopA,,2026/3/1\\nshopB,-1,\\n", encoding="utf-8-sig")
>>> [(r.row, r.id, r.weight, r.date) for r in read_case_rows(p)]
[(2, 'shopA', 1.0, '2026-03-01'), (3, 'shopB', -1.0, None)]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ontology.errors import CaseRowsError, InvalidRecord

from . import render

if TYPE_CHECKING:
    from graph.view import ReadView
    from reasoning.outbreak import OutbreakRanking, ResolvedCase

__all__ = ["CaseRow", "read_case_rows", "load_cases", "resolve_rows", "ranking_table"]

#: accepted headers per column (compared case-insensitively, each part of ``编号/id`` on its own)
COLUMNS = {"id": ("id", "编号", "标识"), "weight": ("weight", "权重"), "date": ("date", "日期")}
_MAX_LISTED = 10


@dataclass(frozen=True)
class CaseRow:
    """One row of the cases file, parsed but not yet resolved against the store."""

    row: int
    id: str
    weight: float
    date: str | None
    id_column: str = "id"  # the id column's header as written in the file


def _column_of(header: str) -> str | None:
    parts = [p.strip().lower().rstrip("*").strip() for p in re.split(r"[/()（）]", header) if p.strip()]
    for key, names in COLUMNS.items():
        if any(p in names for p in parts):
            return key
    return None




@dataclass(frozen=True)
class _Bad:
    path: str
    row: int
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: row {self.row}, {self.field} {self.value!r}: {self.reason}"


def _problem(path: Path | str, row: int, field: str, value: str, reason: str) -> _Bad:
    return _Bad(str(path), row, field, value, reason)


def _raise(path: Path | str, problems: list[_Bad]) -> None:
    rows = [{"row": p.row, "field": p.field, "value": p.value, "reason": p.reason} for p in problems]
    if len(problems) == 1:
        raise CaseRowsError(str(problems[0]), rows)
    more = problems[1:_MAX_LISTED]
    text = f"{len(problems)} bad rows, no ranking computed: " + "; ".join([str(problems[0])] + [
        str(p).split(": ", 1)[1] for p in more])
    if len(problems) > _MAX_LISTED:
        text += f"; ... {len(problems) - _MAX_LISTED} more"
    raise CaseRowsError(text, rows)


def read_case_rows(path: str | Path, *, name: str | None = None) -> list[CaseRow]:
    """Parse the cases file (no store needed); ``name``: how messages call the file (default: its path).

    Raises
    ------
    UnreadableFile
        Not a table at all.
    InvalidRecord
        No ``id`` column, no rows, or bad rows (every bad row is named: file, row, column, reason).
    """
    from loaders.tables import read_table
    from loaders.templates import parse_date

    path = Path(path)
    shown = name or str(path)
    table = read_table(path, is_header=lambda cells: any(_column_of(c) == "id" for c in cells if c))
    cols: dict[str, int] = {}
    for i, h in enumerate(table.header):
        key = _column_of(h) if h else None
        if key is not None and key not in cols:
            cols[key] = i
    if "id" not in cols:
        raise InvalidRecord(f"{shown}: no id column (编号/id); columns found: "
                            f"{', '.join(h for h in table.header if h) or 'none'}")
    rows: list[CaseRow] = []
    problems: list[_Bad] = []

    def cell(cells: list[str], key: str) -> str:
        i = cols.get(key)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    for n, cells in table.rows:
        ident, w, d = cell(cells, "id"), cell(cells, "weight"), cell(cells, "date")
        bad = False
        if not ident:
            problems.append(_problem(shown, n, table.header[cols["id"]], ident, "empty: give a station or lot"))
            bad = True
        weight = 1.0
        if w:
            try:
                weight = float(w)
            except ValueError:
                weight = math.nan
            if not math.isfinite(weight):
                problems.append(_problem(shown, n, table.header[cols["weight"]], w, "not a number"))
                bad = True
        date = None
        if d:
            try:
                date = parse_date(d)
            except InvalidRecord as e:
                problems.append(_problem(shown, n, table.header[cols["date"]], d, str(e)))
                bad = True
        if not bad:
            rows.append(CaseRow(n, ident, weight, date, table.header[cols["id"]]))
    if problems:
        _raise(shown, problems)
    if not rows:
        raise InvalidRecord(f"{shown}: no cases (the file has a header but no rows)")
    return rows


def load_cases(path: str | Path, view: "ReadView", *, name: str | None = None) -> list["ResolvedCase"]:
    """Read the cases file and resolve every id against the store; any bad row is an error."""
    path = Path(path)
    return resolve_rows(read_case_rows(path, name=name), view, name or str(path))


def resolve_rows(rows: list[CaseRow], view: "ReadView", name: str = "cases") -> list["ResolvedCase"]:
    """Resolve parsed case rows against the store; any unknown id is an error naming its row
    (:class:`CaseRowsError`, ``name`` in the messages)."""
    from reasoning.outbreak import ResolvedCase, resolve_case_ids

    found, unknown = resolve_case_ids(view, [r.id for r in rows])
    problems = [_problem(name, r.row, r.id_column, r.id, unknown[r.id]) for r in rows if r.id in unknown]
    if problems:
        _raise(name, problems)
    return [ResolvedCase(r.id, found[r.id][0], found[r.id][1], r.weight, r.date) for r in rows]


# -- the table ---------------------------------------------------------------------------------

_TIER = {"certain": "确定/certain", "possible": "可能/possible", None: "-"}


def _cases_cell(hits: Any, n_pos: int) -> str:
    pos = sum(1 for h in hits if h.weight > 0)
    neg = sum(1 for h in hits if h.weight < 0)
    return f"{pos}/{n_pos}" + (f" 阴性/neg {neg}" if neg else "")


def ranking_table(result: "OutbreakRanking", top: int | None = 20) -> str:
    """The ranking as two aligned tables (stations, lots) with Chinese-first headers and the notes."""
    from ontology.vocab import labels

    kinds = {k: v[0] for k, v in labels("operator_kind").items()}
    cats = {k: v[0] for k, v in labels("category").items()}
    hazards = {k: v[0] for k, v in labels("hazard_class").items()}
    priors = result.priors_version is not None
    n_pos = sum(1 for c in result.cases if c.weight > 0)
    n_neg = sum(1 for c in result.cases if c.weight < 0)
    lines = [f"病例/cases: {len(result.cases)} (阳性/positive {n_pos}, 阴性/negative {n_neg}); "
             f"阳性权重合计/total positive weight {result.total_positive_weight:g}",
             f"危害/hazard: {hazards.get(result.hazard, '未知')}/{result.hazard}"
             + (f"; 灭活步骤/kill steps: {', '.join(result.kill)}"
                + ("" if result.kill_applied else " (不适用/not applied)") if result.kill else ""),
             "得分 = 前向追溯可达病例权重之和 / 阳性权重合计 (1 = 共同环节) / score = weight of the cases the "
             "forward trace reaches / total positive weight (1 = common link)", ""]

    def cut(items: tuple) -> tuple:
        return items if not top else items[:top]

    head = ["排名/rank", "得分/score"]
    tail = ["可达阳性病例/positive cases reached", "关联/link"] + (["先验/prior"] if priors else []) + ["标识/id"]
    srows = []
    for s in cut(result.stations):
        srows.append([_rank_cell(s), round(s.score, 4), s.name or "-", kinds.get(s.kind or "", s.kind or "-"),
                      _cases_cell(s.cases, n_pos), _TIER[s.tier]] + ([s.prior] if priors else []) + [s.id])
    lines.append(f"== 可疑站点/candidate stations ({len(result.stations)})")
    lines.append(render.text_table(srows, head + ["名称/name", "类型/kind"] + tail))
    lrows = []
    for x in cut(result.lots):
        lrows.append([_rank_cell(x), round(x.score, 4), x.product_name or x.product_id or "-",
                      cats.get(x.category or "", x.category or "-"), x.lot_number or "-",
                      _cases_cell(x.cases, n_pos), _TIER[x.tier]] + ([x.prior] if priors else []) + [x.id])
    lines.append("")
    lines.append(f"== 可疑批次/candidate lots ({len(result.lots)})")
    lines.append(render.text_table(lrows, head + ["产品/product", "类别/category", "批号/lot number"] + tail))
    if top and (len(result.stations) > top or len(result.lots) > top):
        lines.append(f"(前/top {top}; --top 0 或/or --format json 显示全部/shows all)")
    if priors:
        lines.append("* 并列按产品风险先验排序/tie ordered by product-risk prior (得分不变/score unchanged)")
    if result.notes:
        lines.append("")
        lines.extend(f"注/note: {n}" for n in result.notes)
    return "\n".join(lines)


def _rank_cell(item: Any) -> str:
    return f"{item.rank}*" if item.tie_broken_by_prior else str(item.rank)
