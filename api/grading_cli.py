"""``foodtrace risk plan`` and ``foodtrace risk explain``: the supervision plan and a grade's explanation.

:func:`explain_text` renders an :class:`reasoning.grading.Assessment` for the credit team, Chinese first
(``lang="zh"``) or in English (``lang="en"``): the grade and how the score reached it, the method (and
adaptation) used, every factor with its points, its maximum, its note and the ids of the records it
counted.

>>> from reasoning.grading import Assessment, Factor
>>> a = Assessment("op1", "B", 33.0, 27.0, 0.0, 6.0,
...                (Factor("static.tier", "食品类别风险档次", "Food category tier", 24.0, 31.0, (), "固定为Ⅲ档", "tier III"),
...                 Factor("credit.class", "通用信用风险", "General credit risk", 6.0, 20.0, ("c1",), "B 类", "class B")),
...                "adapted: restaurant", False, False, "B", "official", "2026.1", "2026-03-01", base_grade="B",
...                method_zh="适配：餐饮服务", kind="Restaurant", name="甲餐馆")
>>> print(explain_text(a).splitlines()[1])
风险等级：B 级（分值 33 = 静态 27 + 动态 0 + 信用 6）
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import render
from .cli_common import as_of_option, emit, format_option, lang_option, open_cli_store, out_option, store_option
from .risk_cli import risk

if TYPE_CHECKING:
    import pandas as pd

    from reasoning.grading import Assessment, Points

__all__ = ["explain_text", "plan_rows", "plan_headers", "plan_command", "explain_command"]

_GROUPS = (("static", "静态风险因素", "Static risk factors"), ("dynamic", "动态风险因素", "Dynamic risk factors"),
           ("credit", "通用信用风险", "General credit risk"))
_MAX_EVIDENCE = 12


def _f(x: float) -> str:
    return f"{x:g}"


def _labels(scheme: str, lang: str) -> dict[str, str]:
    from ontology.vocab import labels

    return {k: v[1 if lang == "en" else 0] for k, v in labels(scheme).items()}


def _kind_label(kind: str | None, lang: str) -> str:
    if not kind:
        return "unknown kind" if lang == "en" else "类型未知"
    return _labels("operator_kind", lang).get(kind, kind)


def _district_label(district: str | None, lang: str) -> str:
    if not district:
        return "unknown district" if lang == "en" else "区县未知"
    return _labels("region", lang).get(district, district)


def _readable(record_id: str) -> str:
    """A ``urn:foodtrace:`` id percent-decoded (case numbers read as written); other ids as they are.

    >>> _readable("urn:foodtrace:case:%E9%80%9A%E6%A1%88%E3%80%942025%E3%80%951%E5%8F%B7")
    'urn:foodtrace:case:通案〔2025〕1号'
    """
    if record_id.startswith("urn:foodtrace:"):
        from urllib.parse import unquote

        return unquote(record_id)
    return record_id


def explain_text(a: "Assessment", lang: str = "zh", *, stored: dict[str, Any] | None = None) -> str:
    """The assessment as text for the credit team: Chinese (``zh``) or English (``en``).

    Evidence ids are shown percent-decoded (``--format json`` keeps the canonical ids). ``stored``
    (optional) describes a stored assessment: ``id``, ``created``, ``grade`` in effect
    (an override in force wins) and ``override`` (the override's reason and author).
    """
    en = lang == "en"
    lines: list[str] = []
    who = a.name or a.operator_id
    kind = _kind_label(a.kind, lang)
    lines.append(f"Operator: {who} ({kind}, {_district_label(a.district, lang)}) {a.operator_id}" if en else
                 f"主体：{who}（{kind}，{_district_label(a.district, lang)}）{a.operator_id}")
    parts = (f"score {_f(a.score)} = static {_f(a.static)} + dynamic {_f(a.dynamic)} + credit {_f(a.credit)}" if en
             else f"分值 {_f(a.score)} = 静态 {_f(a.static)} + 动态 {_f(a.dynamic)} + 信用 {_f(a.credit)}")
    eff = stored.get("grade") if stored else None
    overridden = bool(eff and eff != a.grade)
    if overridden:
        lines.append(f"Computed risk grade: {a.grade} ({parts})" if en else f"计算风险等级：{a.grade} 级（{parts}）")
    else:
        lines.append(f"Risk grade: {a.grade} ({parts})" if en else f"风险等级：{a.grade} 级（{parts}）")
    if stored:
        head = (f"Stored assessment {stored.get('id')} of {stored.get('created')}" if en else
                f"已存储的评估 {stored.get('id')}（{stored.get('created')}）")
        lines.append(head)
        if overridden:
            ov = stored.get("override") or {}
            lines.append(
                f"Grade in effect: {eff}, set by hand (override by {ov.get('by', '?')}: {ov.get('reason', '')}); "
                f"the computed grade {a.grade} is recorded beside it" if en else
                f"现行等级：{eff} 级，为人工调整（{ov.get('by', '?')}：{ov.get('reason', '')}）；计算等级 {a.grade} 级一并记录")
    lines.append(f"As of: {a.as_of} (records dated before it); points table {a.config_version}" if en else
                 f"评估基准日：{a.as_of}（此前的记录计入）；评分表版本 {a.config_version}")
    lines.append(f"Method: {a.method}" if en else f"评定方法：{a.method_zh or a.method}（{a.method}）")
    note = a.method_note_en if en else a.method_note
    if note:
        lines.append(f"  {note}")
    # how the grade came about
    steps = []
    steps.append(f"the score falls in band {a.base_grade or a.grade}" if en else
                 f"分值落在 {a.base_grade or a.grade} 级区间")
    if a.haccp:
        if a.haccp_applied:
            before = a.base_grade or a.grade
            after = "ABCD"[max(0, "ABCD".index(before) - 1)] if before in "ABCD" else before
            steps.append(f"HACCP certified: one grade toward A, {before} -> {after}" if en else
                         f"持有HACCP认证，向A级调整一级：{before} → {after}")
        else:
            steps.append("HACCP certified: already A" if en else "持有HACCP认证：已为A级，无需调整")
    if a.serious_dishonest:
        ev = ", ".join(a.serious_dishonest_evidence)
        steps.append(f"on the serious dishonesty list (严重违法失信名单, {ev}): D whatever else holds" if en else
                     f"列入严重违法失信名单（{ev}）：直接定为 D 级")
    lines.append(("Grade: " if en else "定级：") + ("; ".join(steps) if en else "；".join(steps)) + ("." if en else "。"))
    src = {"official": ("官方分类", "official"), "computed": ("据信用记录推算", "computed from the credit records")}
    s = src.get(a.credit_class_source, (a.credit_class_source, a.credit_class_source))
    lines.append(f"Credit class: {a.credit_class} ({s[1]})" if en else f"信用等级：{a.credit_class} 类（{s[0]}）")
    if a.dynamic_raw > a.dynamic:
        lines.append(f"Dynamic factors add up to {_f(a.dynamic_raw)}, capped at {_f(a.dynamic)}." if en else
                     f"动态风险因素合计 {_f(a.dynamic_raw)} 分，按上限 {_f(a.dynamic)} 分计。")
    lines.append("")
    for prefix, zh, eng in _GROUPS:
        total = getattr(a, prefix)
        lines.append(f"== {eng}: {_f(total)}" if en else f"== {zh}：{_f(total)} 分")
        for f in a.factors:
            if not f.code.startswith(prefix + "."):
                continue
            name = f.name_en if en else f.name_zh
            lines.append(f"  {name}: {_f(f.points)} / {_f(f.max_points)}" if en else
                         f"  {name}：{_f(f.points)} / {_f(f.max_points)} 分")
            fnote = (f.note_en or f.note) if en else f.note
            if fnote:
                lines.append(f"    {fnote}")
            if f.evidence:
                shown = [_readable(e) for e in f.evidence[:_MAX_EVIDENCE]]
                more = len(f.evidence) - len(shown)
                lines.append(("    evidence: " if en else "    证据：") + ", ".join(shown)
                             + ((f" ... and {more} more" if en else f" …… 另 {more} 条") if more > 0 else ""))
    return "\n".join(lines)


# -- the plan -----------------------------------------------------------------------------------

_PLAN_HEADERS = [("区县", "district"), ("主体类型", "kind"), ("A级", "A"), ("B级", "B"), ("C级", "C"), ("D级", "D"),
                 ("主体数", "operators"), ("年检查次数", "inspections per year")]


def plan_headers(lang: str = "zh") -> list[str]:
    """Column headers of the plan: Chinese (``zh``), English (``en``) or ``中文/english`` (``both``)."""
    if lang == "both":
        return [f"{zh}/{eng}" for zh, eng in _PLAN_HEADERS]
    return [eng if lang == "en" else zh for zh, eng in _PLAN_HEADERS]


def plan_rows(plan: "pd.DataFrame", lang: str = "zh") -> list[list[Any]]:
    """The plan's rows with district and kind names (``合计/total`` for the subtotals)."""
    total = "total" if lang == "en" else "合计"
    rows = []
    for r in plan.itertuples(index=False):
        district = total if r.level in ("kind", "total") else _district_label(r.district, lang)
        kind = total if r.level in ("district", "total") else _kind_label(r.kind, lang)
        rows.append([district, kind, int(r.A), int(r.B), int(r.C), int(r.D), int(r.operators),
                     round(float(r.inspections), 1)])
    return rows



_as_of = as_of_option("Grade as of this day: records dated before it count (default: the day after the latest "
                      "dated record in the store)")
_points = click.option("--points", "points_path", type=click.Path(path_type=Path), default=None, metavar="FILE",
                       help="Points table (TOML) to use instead of the packaged one")


def _load(points_path: Path | None) -> "Points":
    from reasoning.grading import load_points

    return load_points(points_path)


@risk.command("plan")
@_as_of
@format_option("table", "json", "csv")
@out_option()
@lang_option("Language of names and CSV headers (the table shows both)")
@_points
@store_option
def plan_command(as_of: date | None, fmt: str, out: Path | None, lang: str, points_path: Path | None,
                 store_url: str | None) -> None:
    """差异化监管: routine inspections per year by grade (A once every two years, B 1, C 2, D 3), per district
    and operator kind, with subtotals and the city total.

    Grades every operator of the store as of --as-of (see `foodtrace risk explain` for one operator's grade).
    """
    from graph.view import ReadView
    from reasoning.grading import grade_operators, supervision_plan

    pts = _load(points_path)
    with open_cli_store(store_url) as store:
        assessments = grade_operators(ReadView(store), as_of=as_of, points=pts)
    plan = supervision_plan(assessments, points=pts)
    day = assessments[0].as_of if assessments else (as_of.isoformat() if as_of else None)
    if fmt == "json":
        text = render.json_text({
            "as_of": day, "config_version": pts.version, "frequency": dict(pts.frequency),
            "rows": [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                     for r in plan.to_dict(orient="records")]})
    elif fmt == "csv":
        text = render.csv_text(plan_rows(plan, lang), plan_headers(lang))
    else:
        freq = "，".join(f"{g} 级 {_f(pts.frequency[g])}" for g in "ABCD")
        text = (f"监督检查计划/supervision plan（基准日/as of {day}；评分表/points table {pts.version}；"
                f"每年检查次数/inspections a year: {freq}）\n"
                + render.text_table(plan_rows(plan, lang), plan_headers("both")))
    emit(text, out, fmt)


# -- explain --------------------------------------------------------------------------------------


@risk.command("explain")
@click.argument("entity", metavar="ENTITY")
@_as_of
@format_option("text", "json")
@lang_option()
@_points
@store_option
def explain_command(entity: str, as_of: date | None, fmt: str, lang: str, points_path: Path | None,
                    store_url: str | None) -> None:
    """Why an operator has its grade: every factor, its points, its maximum and the ids of its records.

    ENTITY is an operator in any identifier form (canonical id, USCC, GLN, name form ...). Without
    --as-of, the latest stored assessment (`foodtrace risk grade`) is shown where there is one, with
    the grade in effect (an override wins); otherwise the grade is computed now.
    """
    from .grades import explanation

    with open_cli_store(store_url) as store:
        oid = store.require(entity, "operator")
        a, stamp = explanation(store, oid, as_of=as_of, points=_load(points_path) if points_path else None)
    if fmt == "json":
        click.echo(render.json_text({**a.to_dict(), "stored": stamp}))
    else:
        click.echo(explain_text(a, lang, stored=stamp))


# -- documentation ----------------------------------------------------------------------------------


def adaptations_markdown(points: "Points | None" = None) -> str:
    """The README's table of per-kind adaptations, generated from the points table.

    >>> adaptations_markdown().splitlines()[0]
    '| 主体类型 / kind | method | 静态档次 / static tier | why |'
    """
    from ontology.vocab import labels
    from reasoning.grading import load_points

    pts = points or load_points()
    kinds = labels("operator_kind")
    lines = ["| 主体类型 / kind | method | 静态档次 / static tier | why |", "|---|---|---|---|"]
    for k, rule in pts.kinds.items():
        zh = kinds.get(k, (k, k))[0]
        if rule.tier is not None:
            tier = f"{rule.tier} (fixed)"
        else:
            extra = ", ".join(f"{c} {t}" for c, t in rule.category_tiers.items())
            tier = f"by category{'; ' + extra if extra else ''}; default {rule.default_tier}"
        lines.append(f"| {zh} / `{k}` | {rule.method_en} | {tier} | {rule.note_en} |")
    return "\n".join(lines)
