"""``foodtrace risk rank-plan``: a sampling plan ranked by each planned sample's probability of failing.

The bureau's 靶向 list: every row of the plan comes back in its own order with its own columns (序号 kept),
plus the probability that the sample fails (不合格概率), its rank (1 = riskiest) and the reasons that raise
it most (Chinese first). The model is trained on what the store knew before ``--as-of``
(:func:`reasoning.sample_risk.score_plan`).

>>> plan_headers(["序号", "食品名称"], "zh")
['序号', '食品名称', '不合格概率', '风险排名', '主要风险因素', '说明']
>>> reason_text([{"feature": "cat_rate", "zh": "品类不合格率", "en": "category failure rate",
...               "contribution": 0.52, "value": 0.061}], "zh")
'品类不合格率 0.061 (+0.52)'
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from . import render
from .cli_common import date_option, emit, open_cli_store, store_option
from .risk_cli import risk

__all__ = ["ADDED", "plan_headers", "reason_text", "plan_table"]

#: the columns rank-plan adds: key -> (Chinese, English)
ADDED: dict[str, tuple[str, str]] = {
    "probability": ("不合格概率", "probability"),
    "rank": ("风险排名", "rank"),
    "reasons": ("主要风险因素", "reasons"),
    "note": ("说明", "note"),
}
_NOTES = {
    "food_related": ("食品相关产品：按其品类历史评分，不计入食品风险", "food-related product: scored from its own "
                     "category's history, not part of food risk"),
}


def plan_headers(header: list[str], lang: str) -> list[str]:
    """The plan's own header followed by the added columns in ``lang`` (zh or en)."""
    i = 1 if lang == "en" else 0
    return list(header) + [v[i] for v in ADDED.values()]


def reason_text(reasons: list[dict[str, Any]], lang: str = "zh") -> str:
    """The reasons as one cell: name, the row's value where it has one, (+log-odds)."""
    sep = "; " if lang == "en" else "；"
    parts = []
    for r in reasons:
        v = r.get("value")
        shown = "" if v is None else f" {v:.4g}" if isinstance(v, float) else f" {v}"
        c = r.get("contribution")
        parts.append(f"{r['en' if lang == 'en' else 'zh']}{shown}" + ("" if c is None else f" (+{c:.2f})"))
    return sep.join(parts)


def _note(row: dict[str, Any], scored: Any, lang: str) -> str:
    i = 1 if lang == "en" else 0
    notes = []
    if bool(scored["food_related"]):
        notes.append(_NOTES["food_related"][i])
    notes += row["problems"]
    return ("; " if lang == "en" else "；").join(notes)


def plan_table(plan: Any, scores: Any, lang: str) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows) of the ranked plan: each plan row's cells as written, then the added columns."""
    rows = []
    for row, (_, s) in zip(plan.rows, scores.iterrows()):
        rows.append(list(row["cells"]) + [round(float(s["probability"]), 6), int(s["rank"]),
                                          reason_text(s["reasons"], lang), _note(row, s, lang)])
    return plan_headers(plan.header, lang), rows


def _write_xlsx(headers: list[str], rows: list[list[Any]], out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "靶向抽检"
    ws.append(headers)
    for c in ws[1]:
        c.font = Font(bold=True)
    for r in rows:
        ws.append(r)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)


@risk.command("rank-plan")
@click.argument("plan_file", metavar="PLAN", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", required=True, callback=date_option, metavar="DATE",
              help="Score as of this day: only what was published before it is used (train, base rates, histories)")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write to this file instead of standard output (required for xlsx)")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the added columns and the reasons")
@click.option("--top-reasons", "top", type=click.IntRange(min=1, max=10), default=3, show_default=True)
@store_option
def rank_plan_command(plan_file: Path, as_of: date, fmt: str, out: Path | None, lang: str, top: int,
                      store_url: str | None) -> None:
    """Rank a sampling plan (CSV or Excel, one row per planned sample, in the 合格 table's layout) by each
    sample's probability of failing, as of --as-of.

    Every row comes back in the plan's order with its own columns, plus 不合格概率 (probability), 风险排名
    (rank, 1 = riskiest) and 主要风险因素 (the reasons that raise it most). Operators and foods the store has
    never seen get a probability from what is known of their kind, food and place. Internal to the
    regulator: never publish these probabilities.
    """
    from graph.view import ReadView
    from loaders.plan import read_plan
    from reasoning.sample_risk import score_plan

    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE")
    plan = read_plan(plan_file)
    with open_cli_store(store_url) as store:
        scores = score_plan(ReadView(store), plan.rows, as_of, top=top)
    headers, rows = plan_table(plan, scores, lang)
    if fmt == "json":
        keys = list(ADDED)
        data = [{"row": r["row"], "cells": dict(zip(plan.header, r["cells"])),
                 **dict(zip(keys[:2], cells[-4:-2])), "reasons": s["reasons"], "food_related": bool(s["food_related"]),
                 "problems": r["problems"]}
                for r, cells, (_, s) in zip(plan.rows, rows, scores.iterrows())]
        emit(render.json_text({"as_of": str(as_of), "plan": str(plan_file), "rows": data}), out, fmt)
    elif fmt == "xlsx":
        assert out is not None
        _write_xlsx(headers, rows, out)
        click.echo(f"written to {out}", err=True)
    else:
        emit(render.csv_text(rows, headers), out, fmt)
