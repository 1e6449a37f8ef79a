"""The credit team's workflow (信用监管): ``foodtrace risk grade | override | history | alerts | publish | export``.

* ``risk grade`` grades every operator (:func:`reasoning.grading.grade_operators`), adds the failure-risk
  model's probability where the model can be trained (:func:`reasoning.risk_model.score_operators`;
  model version ``none`` otherwise) and stores one :class:`ontology.records.RiskAssessment` per operator:
  append-only, with the points table's and the model's versions. Where an override is in force the
  record keeps the computed grade beside the override's and is flagged where they differ.
* ``risk override ENTITY GRADE --reason --by`` sets a grade by hand; it holds until
  ``risk override ENTITY --lift --reason --by``. Nothing is ever deleted: lifting stamps the override.
* ``risk history ENTITY``: every assessment, override, lift and publication in time order.
* ``risk alerts``: the early warnings of :mod:`reasoning.alerts` and the 核查处置 completion rate.
* ``risk publish``: the team marks the assessments it decides to publish (the latest assessment of each
  chosen operator, stamped with who and when); a grade changed by an override since that assessment
  must be graded again first, so what is published is always a stored, explained assessment.
* ``risk export --out grades.csv``: the latest grades with their points and versions (internal), or with
  ``--published-only`` the published grades only, without scores or reasons (for publication);
  CSV with Chinese headers (``--lang en`` for English) and a UTF-8 BOM.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from pathlib import Path
from typing import Any, Iterable

import click

from ontology.errors import FoodtraceError
from ontology.times import display, now_iso

from . import render
from .cli_common import (as_of_option, cli_context, emit, format_option, lang_option, open_cli_store, out_option,
                         store_option)
from .grades import records_of
from .risk_cli import risk

__all__ = ["grade_cmd", "override_cmd", "history_cmd", "alerts_cmd", "publish_cmd", "export_cmd",
           "EXPORT_COLUMNS", "PUBLISHED_COLUMNS", "ALERT_COLUMNS"]

GRADES = ("A", "B", "C", "D")

EXPORT_COLUMNS = [("主体标识", "operator_id"), ("主体名称", "name"), ("主体类型", "kind"), ("所属区县", "district"),
                  ("现行等级", "grade"), ("等级来源", "grade_source"), ("计算等级", "computed_grade"),
                  ("人工调整等级", "override_grade"), ("调整理由", "override_reason"), ("调整人", "override_by"),
                  ("计算等级与调整不一致", "differs"), ("风险分值", "score"), ("静态风险分", "static_points"),
                  ("动态风险分", "dynamic_points"), ("信用风险分", "credit_points"), ("信用等级", "credit_class"),
                  ("不合格概率", "probability"), ("评定方法", "method"), ("评估基准日", "as_of"),
                  ("评估时间", "assessed_at"), ("评分规则版本", "config_version"), ("模型版本", "model_version"),
                  ("已发布", "published"), ("评估记录", "assessment_id")]
PUBLISHED_COLUMNS = [("主体标识", "operator_id"), ("统一社会信用代码", "uscc"), ("主体名称", "name"),
                     ("主体类型", "kind"), ("所属区县", "district"), ("风险等级", "grade"), ("评定基准日", "as_of"),
                     ("发布日期", "published")]
ALERT_COLUMNS = [("级别", "level"), ("类型", "kind"), ("主体", "operators"), ("主体名称", "operator_names"),
                 ("产品", "product"), ("食品类别", "category"), ("数量", "count"), ("起始日期", "first"),
                 ("截止日期", "last"), ("样品", "samples"), ("说明", "message")]
_KIND = {"repeat_failure": ("同一产品多批次不合格", "repeat failures"),
         "overdue_disposal": ("核查处置逾期", "overdue disposal"),
         "supplier_cluster": ("下游不合格聚集", "supplier cluster")}
_LEVEL = {"red_line": ("红线", "red line"), "warning": ("预警", "warning"), "overdue": ("逾期", "overdue"),
          "cluster": ("聚集", "cluster")}
_EVENT = {"assessment": ("评估", "assessment"), "override": ("人工调整", "override"),
          "lift": ("撤销调整", "lift"), "publish": ("发布", "publish")}
_SOURCE = {"computed": ("计算", "computed"), "override": ("人工调整", "override")}


# -- helpers --------------------------------------------------------------------------------------------



def _text_option(what: str):
    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip()
        if not text:
            raise click.BadParameter(f"{what} must not be empty", ctx, param)
        return text
    return check


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def _both(pair: tuple[str, str]) -> str:
    return f"{pair[0]}/{pair[1]}"


def _yes(value: Any, lang: str) -> str:
    return ("yes" if value else "no") if lang == "en" else ("是" if value else "否")


def _records_of(store: Any, oid: str) -> tuple[list[Any], list[Any]]:
    return records_of(store, oid)


def _grouped(store: Any, table: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in store.scan(table):
        out.setdefault(r.operator_id, []).append(r)
    return out


class _Ops:
    """Operator names, kinds, districts and USCCs for display."""

    def __init__(self, store: Any, ids: Iterable[str]):
        from ontology.vocab import labels

        self.ops = store.get_many("operator", set(ids))
        self.regions = labels("region")
        self.kinds = labels("operator_kind")

    def name(self, oid: str) -> str | None:
        op = self.ops.get(oid)
        return op.name if op is not None else None

    def kind(self, oid: str, lang: str) -> str | None:
        op = self.ops.get(oid)
        if op is None or not op.kind:
            return None
        return self.kinds.get(op.kind, (op.kind, op.kind))[1 if lang == "en" else 0]

    def district(self, oid: str, lang: str) -> str | None:
        op = self.ops.get(oid)
        rid = op.region_id if op is not None else None
        if not rid:
            return None
        return self.regions.get(rid, (rid, rid))[1 if lang == "en" else 0]

    def uscc(self, oid: str) -> str | None:
        op = self.ops.get(oid)
        return op.uscc if op is not None else None

    def public_name(self, oid: str) -> str | None:
        """The name as it may be published: a natural person's (个体: a farmer or stall keeper) is masked."""
        op = self.ops.get(oid)
        if op is None or not op.name:
            return None
        return mask_name(op.name, self.districts) if op.individual else op.name

    @property
    def districts(self) -> tuple[str, ...]:
        return tuple(sorted({v[0] for v in self.regions.values() if v[0]}, key=len, reverse=True))


def mask_name(name: str, prefixes: Iterable[str] = ()) -> str:
    """A natural person's business name for publication: a leading district name and the first character
    of the rest (the surname) are kept, the rest is masked (张** style).

    >>> mask_name("海门区缪燕水产摊", ["海门区"]), mask_name("王五", [])
    ('海门区缪**', '王**')
    """
    prefix = next((p for p in prefixes if name.startswith(p) and len(name) > len(p)), "")
    rest = name[len(prefix):]
    return prefix + rest[:1] + "**"


def _write_csv(rows: list[list[Any]], columns: list[tuple[str, str]], out: Path | None, lang: str) -> None:
    emit(render.csv_text(rows, [_pick(c, lang) for c in columns]), out, "csv")


# -- risk grade -------------------------------------------------------------------------------------------


def _model_scores(view: Any, as_of: str) -> tuple[dict[str, float], dict[str, Any], str]:
    """The model's probabilities and top features per operator, and its version ("none" without a model)."""
    try:
        from reasoning import risk_model
    except ImportError:
        return {}, {}, "none"
    try:
        scores = risk_model.score_operators(view, as_of=as_of)
    except (FoodtraceError, ValueError) as e:  # too little history to train on (InsufficientData), one class only
        click.echo(f"foodtrace: the failure-risk model was not used ({e}); model version recorded as none", err=True)
        return {}, {}, "none"
    version = str(getattr(risk_model, "MODEL_VERSION", "unknown"))
    probs = {str(k): float(v) for k, v in scores["probability"].items()}
    tops = scores["top_features"] if "top_features" in scores else {}
    expl = {str(k): {"version": version, "probability": round(float(scores.at[k, "probability"]), 6),
                     "top_features": list(tops[k]) if k in tops else []} for k in scores.index}
    return probs, expl, version


@risk.command("grade")
@as_of_option("Grade on what was known before this day (default: the day after the latest date in the store)")
@click.option("--model/--no-model", default=True, show_default=True,
              help="Add the failure-risk model's probability (trained on the store's history)")
@store_option
def grade_cmd(as_of: dt.date | None, model: bool, store_url: str | None) -> None:
    """Grade every operator A-D and store the assessments (append-only, with the points table's and model's versions).

    Each run adds one assessment per operator and never changes an earlier one. Where an override is in
    force, the assessment records the override's grade as the grade in effect, keeps the computed grade
    beside it and is flagged where the two differ.
    """
    from graph.view import ReadView
    from reasoning.assessments import assessment_records, override_in_force
    from reasoning.grading import grade_operators

    with open_cli_store(store_url) as store:
        view = ReadView(store)
        assessed = grade_operators(view, as_of=as_of)
        if not assessed:
            click.echo("no operators to grade: the store holds no operator records", err=True)
            return
        day = str(assessed[0].as_of)[:10]
        probs, expl, version = _model_scores(view, day) if model else ({}, {}, "none")
        in_force = {oid: o for oid, os_ in _grouped(store, "grade_override").items()
                    if (o := override_in_force(os_)) is not None}
        created = now_iso()
        run = dt.datetime.fromisoformat(created).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        records = assessment_records(assessed, run=run, created=created, model_version=version, overrides=in_force,
                                     probabilities=probs, model_explanations=expl)
        store.write(records, context=cli_context("grade", source=f"foodtrace risk grade (run {run})"))
        names = _Ops(store, [r.operator_id for r in records if r.differs])
    computed = {g: sum(r.computed_grade == g for r in records) for g in GRADES}
    effective = {g: sum(r.grade == g for r in records) for g in GRADES}
    click.echo(f"评估批次/run {run}: {len(records)} 家主体/operators, 基准日/as of {day}, "
               f"评分规则/points table {records[0].config_version}, 模型/model {version}")
    click.echo(render.text_table([[g, computed[g], effective[g]] for g in GRADES],
                                 ["等级/grade", "计算/computed", "现行/in effect"]))
    overridden = [r for r in records if r.override_id]
    flagged = [r for r in overridden if r.differs]
    click.echo(f"人工调整生效/overrides in force: {len(overridden)}, "
               f"计算等级与调整不一致/computed grade differs: {len(flagged)}")
    for r in flagged[:20]:
        click.echo(f"  {names.name(r.operator_id) or r.operator_id}: 调整/override {r.grade}, 计算/computed "
                   f"{r.computed_grade}  ({r.operator_id})")
    if len(flagged) > 20:
        click.echo(f"  ... {len(flagged) - 20} more (foodtrace risk export lists them all)")


# -- risk override ----------------------------------------------------------------------------------------


@risk.command("override")
@click.argument("entity")
@click.argument("grade", required=False, metavar="[GRADE]")
@click.option("--reason", required=True, callback=_text_option("--reason"),
              help="Why (required, not empty): kept with the override for the audit trail")
@click.option("--by", "by", required=True, callback=_text_option("--by"), metavar="NAME",
              help="Who decides it (required)")
@click.option("--lift", is_flag=True, help="Lift the override in force instead of setting one")
@store_option
def override_cmd(entity: str, grade: str | None, reason: str, by: str, lift: bool, store_url: str | None) -> None:
    """Set an operator's grade by hand (GRADE A-D), or lift the override in force (--lift).

    ENTITY is any identifier form of the operator. An override holds until it is lifted; later grading
    runs record their computed grades beside it and flag those that differ. Only one override is in
    force at a time (lift it to set another); nothing is deleted.
    """
    from .grades import lift_override, set_override

    if lift and grade is not None:
        raise click.UsageError("--lift takes no GRADE: it lifts the override in force")
    if not lift and grade is None:
        raise click.UsageError("GRADE (A, B, C or D) is required unless --lift is given")
    with open_cli_store(store_url) as store:
        if lift:
            done = lift_override(store, entity, reason=reason, by=by)
            click.echo(f"人工调整已撤销/override lifted: {done.name or done.operator_id} ({done.operator_id}): "
                       f"{done.record.grade} -> 计算等级/computed {done.computed_grade or '-'}  [{done.record.id}]")
            return
        done = set_override(store, entity, grade, reason=reason, by=by)
    click.echo(f"人工调整已记录/override recorded: {done.name or done.operator_id} ({done.operator_id}): 计算等级/computed "
               f"{done.computed_grade or '-'} -> {done.record.grade}  [{done.record.id}]")


# -- risk history -----------------------------------------------------------------------------------------


@risk.command("history")
@click.argument("entity")
@format_option("table", "json")
@store_option
def history_cmd(entity: str, fmt: str, store_url: str | None) -> None:
    """Every assessment, override, lift and publication of an operator, in time order (nothing is ever dropped)."""
    from reasoning.assessments import effective_grade, history

    with open_cli_store(store_url) as store:
        oid = store.require(entity, "operator")
        ras, gos = _records_of(store, oid)
        name = _Ops(store, [oid]).name(oid)
    entries = history(ras, gos)
    eff = effective_grade(ras, gos, operator_id=oid)
    if fmt == "json":
        from .grades import grade_history

        with open_cli_store(store_url) as store:
            click.echo(render.json_text(grade_history(store, oid)))
        return
    src = _both(_SOURCE[eff.source]) if eff.source else "-"
    click.echo(f"{name or oid} ({oid})")
    click.echo(f"现行等级/grade in effect: {eff.grade or '-'} ({src})"
               + (f"; 计算等级/computed {eff.computed_grade}" if eff.source == "override" else ""))
    click.echo(render.text_table(
        [[display(e.time, seconds=True), _both(_EVENT[e.event]), e.grade, e.computed_grade,
          ("!" if e.differs else ""), e.by, e.reason, e.note, e.record_id] for e in entries],
        ["时间/time", "事件/event", "等级/grade", "计算/computed", "不一致/differs", "人/by", "理由/reason",
         "说明/note", "记录/record"]))


# -- risk alerts ------------------------------------------------------------------------------------------


def _alert_rows(found: list[Any], names: _Ops, lang: str) -> list[list[Any]]:
    from ontology.vocab import labels

    cats = labels("category")
    rows = []
    for a in found:
        cat = cats.get(a.category, (a.category, a.category))[1 if lang == "en" else 0] if a.category else None
        rows.append([_pick(_LEVEL[a.level], lang), _pick(_KIND[a.kind], lang), ";".join(a.operator_ids),
                     ";".join(names.name(o) or o for o in a.operator_ids), a.product_name or a.product, cat, a.count,
                     a.first, a.last, ";".join(a.sample_ids), a.message_en if lang == "en" else a.message])
    return rows


@risk.command("alerts")
@as_of_option("What was known before this day (default: the day after the latest date in the store)")
@click.option("--period-months", default=12, show_default=True, type=click.IntRange(1, 120),
              help="Months before --as-of the batch and cluster rules look at")
@click.option("--cluster-days", default=30, show_default=True, type=click.IntRange(0, 3650),
              help="Buyers' failures within this many days of each other form a cluster")
@click.option("--disposal-days", default=None, type=click.IntRange(0, 3650),
              help="Deadline of 核查处置 in days after the sample date, for samples recorded without one")
@format_option("table", "json", "csv")
@out_option()
@lang_option("Language of the CSV headers and messages")
@store_option
def alerts_cmd(as_of: dt.date | None, period_months: int, cluster_days: int, disposal_days: int | None, fmt: str,
               out: Path | None, lang: str, store_url: str | None) -> None:
    """Early warnings: 2 (warning) or 3 (red line) nonconforming batches of one producer's product, overdue
    核查处置 (with the completion rate), suppliers whose buyers' failures cluster."""
    from graph.view import ReadView
    from ontology.times import default_as_of
    from reasoning.alerts import AlertRules, alerts, disposal_summary

    rules = AlertRules(period_months=period_months, cluster_days=cluster_days, default_disposal_days=disposal_days)
    with open_cli_store(store_url) as store:
        view = ReadView(store)
        samples = list(store.scan("sample"))
        day = as_of or default_as_of(view)
        found = alerts(view, as_of=day, rules=rules)
        summary = disposal_summary(view, as_of=day, rules=rules, samples=samples)
        names = _Ops(store, {o for a in found for o in a.operator_ids})
    if fmt == "csv":
        _write_csv(_alert_rows(found, names, lang), ALERT_COLUMNS, out, lang)
        return
    if fmt == "json":
        text = render.json_text({"as_of": day.isoformat(), "rules": dataclasses.asdict(rules),
                                 "alerts": [a.to_dict() for a in found], "disposal": summary.to_dict()})
    else:
        counts = {lvl: sum(a.level == lvl for a in found) for lvl in _LEVEL}
        lines = [f"基准日/as of {day.isoformat()}: " + ", ".join(f"{_both(_LEVEL[k])} {n}" for k, n in counts.items())]
        rate = render.fmt_share(summary.rate)
        lines.append(f"核查处置完成率/disposal completion rate {rate} ({summary.completed}/{summary.due} 已到期/due; "
                     f"逾期/overdue {summary.overdue}, 未到期/pending {summary.pending}, "
                     f"无期限/no deadline {summary.no_deadline}; {summary.start} – {day.isoformat()})")
        if found:
            lines.append("")
            lines.append(render.text_table(
                [[_both(_LEVEL[a.level]), ";".join(names.name(o) or o for o in a.operator_ids)[:60], a.count,
                  a.last, a.message] for a in found],
                ["级别/level", "主体/operators", "数量/count", "日期/date", "说明/message"]))
        text = "\n".join(lines)
    emit(text, out, fmt)


# -- risk publish -----------------------------------------------------------------------------------------


@risk.command("publish")
@click.argument("entities", nargs=-1, metavar="[ENTITY]...")
@click.option("--grade", "grades", multiple=True, type=click.Choice(GRADES, case_sensitive=False),
              help="Also every operator whose latest assessment has this grade (repeatable)")
@click.option("--all-grade-A", "all_a", is_flag=True, help="Same as --grade A")
@click.option("--by", "by", required=True, callback=_text_option("--by"), metavar="NAME",
              help="Who decides the publication (required)")
@store_option
def publish_cmd(entities: tuple[str, ...], grades: tuple[str, ...], all_a: bool, by: str,
                store_url: str | None) -> None:
    """Publish the latest assessment of the operators named (any identifier form) or of a grade.

    The assessment is stamped published (who, when); nothing else in it changes. An operator whose
    grade changed by an override set or lifted after its latest assessment is refused: run
    `foodtrace risk grade` first, so that what is published is a stored, explained assessment.
    """
    from .grades import publish

    wanted = {g.upper() for g in grades} | ({"A"} if all_a else set())
    if not entities and not wanted:
        raise click.UsageError("name the operators to publish, or select them with --grade G / --all-grade-A")
    with open_cli_store(store_url) as store:
        stamps, already = publish(store, entities, wanted, by=by,
                                  context=cli_context("publish", by=by, source="foodtrace risk publish"))
    click.echo(f"已发布/published: {stamps} 项评估/assessments"
               + (f"; {already} 项此前已发布/already published" if already else ""))


# -- risk export ------------------------------------------------------------------------------------------


def export_rows(store: Any, *, published_only: bool, lang: str = "zh") -> list[list[Any]]:
    """The rows of ``risk export`` (EXPORT_COLUMNS, or PUBLISHED_COLUMNS with ``published_only``), by operator id."""
    from reasoning.assessments import effective_grade, latest_assessment

    ras = _grouped(store, "risk_assessment")
    gos = _grouped(store, "grade_override")
    ops = _Ops(store, set(ras) | set(gos))
    rows = []
    for oid in sorted(set(ras) | set(gos)):
        mine = ras.get(oid, [])
        if published_only:
            latest = latest_assessment([a for a in mine if a.published])
            if latest is None:
                continue
            rows.append([oid, ops.uscc(oid), ops.public_name(oid), ops.kind(oid, lang), ops.district(oid, lang),
                         latest.grade, latest.as_of, (latest.published_at or "")[:10]])
            continue
        latest = latest_assessment(mine)
        eff = effective_grade(mine, gos.get(oid, ()), operator_id=oid)
        ov = next((o for o in gos.get(oid, ()) if o.id == eff.override_id), None)
        a = latest
        rows.append([oid, ops.name(oid), ops.kind(oid, lang), ops.district(oid, lang), eff.grade,
                     _pick(_SOURCE[eff.source], lang) if eff.source else None, eff.computed_grade,
                     ov.grade if ov else None, ov.reason if ov else None, ov.by if ov else None,
                     _yes(eff.differs, lang), a.score if a else None, a.static_points if a else None,
                     a.dynamic_points if a else None, a.credit_points if a else None, a.credit_class if a else None,
                     a.probability if a else None, a.method if a else None, a.as_of if a else None,
                     a.created[:19] if a and a.created else None, a.config_version if a else None,
                     a.model_version if a else None, _yes(a.published, lang) if a else None, a.id if a else None])
    return rows


@risk.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The CSV file to write")
@click.option("--published-only", is_flag=True,
              help="Only the published grades, without scores, reasons or probabilities (for publication)")
@lang_option("Language of the headers and labels")
@store_option
def export_cmd(out: Path, published_only: bool, lang: str, store_url: str | None) -> None:
    """The grades as CSV with Chinese headers (UTF-8 with BOM, opens in Excel).

    Default: every operator's grade in effect with its latest assessment (points, versions, overrides):
    the team's working list. --published-only: the latest published assessment of each operator, with
    what may be made public only (natural persons' names masked).
    """
    with open_cli_store(store_url) as store:
        rows = export_rows(store, published_only=published_only, lang=lang)
        outdated = outdated_publications(store) if published_only else []
    _write_csv(rows, PUBLISHED_COLUMNS if published_only else EXPORT_COLUMNS, out, lang)
    click.echo(f"{len(rows)} 家主体/operators", err=True)
    if outdated:
        click.echo(f"注意/note: {len(outdated)} published grade(s) are no longer the grade in effect (an override "
                   f"was set or lifted, or a newer assessment differs), e.g. {', '.join(outdated[:3])}; "
                   "grade and publish them again", err=True)


def outdated_publications(store: Any) -> list[str]:
    """Operators whose latest published grade is not the grade in effect now."""
    from reasoning.assessments import effective_grade, latest_assessment

    ras = _grouped(store, "risk_assessment")
    gos = _grouped(store, "grade_override")
    out = []
    for oid in sorted(ras):
        pub = latest_assessment([a for a in ras[oid] if a.published])
        if pub is not None and effective_grade(ras[oid], gos.get(oid, ()), operator_id=oid).grade != pub.grade:
            out.append(oid)
    return out
