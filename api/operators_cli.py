"""``foodtrace operators merges``: which written names became one operator, and why (issue 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from . import render
from .cli_common import emit, format_option, lang_option, open_cli_store, out_option, store_option

__all__ = ["COMMANDS", "operators"]

_COLUMNS = (("主体标识", "operator_id"), ("主体名称", "name"), ("统一社会信用代码", "uscc"), ("写法", "written form"),
            ("合并理由", "why"))


@click.group("operators")
def operators() -> None:
    """Operators as the store knows them: names merged into one business."""


def _rows(found: dict[str, Any], lang: str) -> list[list[Any]]:
    pick = 0 if lang == "zh" else 1
    rows = []
    for m in found["merged"]:
        for f in m["forms"][1:]:
            rows.append([m["operator_id"], m["name"], m["uscc"] or "", f["form"],
                         "；".join(r[pick] for r in f["reasons"]) if pick == 0 else "; ".join(r[1] for r in f["reasons"])])
    for a in found["ambiguous"]:
        rows.append(["", a["form"] or a["name_id"], "", a["form"] or "",
                     ("未合并：该名称对应多个已登记主体 " if pick == 0 else "not merged: the name is shared by registered "
                      "operators ") + ", ".join(a["operators"])])
    return rows


@operators.command("merges")
@format_option("table", "json", "csv")
@out_option()
@lang_option("Language of the reasons (headers are Chinese/English)")
@store_option
def merges_cmd(fmt: str, out: Path | None, lang: str, store_url: str | None) -> None:
    """Every operator known under several written names, each name and why it was read as the same business
    (全角/空格/括号/有限责任公司 ...); and names left unmerged because two registered operators share them.

    Branches (分公司, 分店) and stalls are not merged: they are operators of their own linked to their parent or
    market. Two different 统一社会信用代码 are never merged.
    """
    from graph.view import ReadView
    from reasoning.merges import operator_merges

    with open_cli_store(store_url) as store:
        found = operator_merges(ReadView(store))
    headers = [f"{zh}/{en}" for zh, en in _COLUMNS]
    if fmt == "json":
        emit(render.json_text(found), out, fmt)
        return
    rows = _rows(found, lang)
    if fmt == "csv":
        emit(render.csv_text(rows, headers), out, fmt)
        return
    n_forms = sum(len(m["forms"]) for m in found["merged"])
    text = render.text_table([r[1:] for r in rows], headers[1:]) + (
        f"\n{len(found['merged'])} 个主体由 {n_forms} 种写法合并而来 / operators merged from {n_forms} written names; "
        f"{len(found['ambiguous'])} 个名称未合并 / names left unmerged")
    emit(text, out, fmt)


#: the commands of this module, added to the root group by :mod:`api.cli`
COMMANDS = (operators,)
