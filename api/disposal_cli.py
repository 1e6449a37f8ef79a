"""District officers' commands: ``foodtrace disposal ...``, ``foodtrace complaints ...``, ``foodtrace indicators``.

* ``disposal open`` opens the automatic cases (one per nonconforming, undisputed supervisory sample);
  ``disposal new`` opens one on demand (rapid test, monitoring sample, complaint, trace); ``disposal step``
  records a step (送达, 异议, 复检, 下架, 召回 ...) with its evidence files; ``disposal list`` / ``show``
  print the cases with their deadlines and history; ``disposal warnings`` the overdue and due-soon cases
  and complaints with the level of the escalation ladder each reached; ``disposal letters`` writes the
  letters of 三书一函 (and, with ``--record``, records the escalation on each case with its letter).
* ``complaints new`` takes in a complaint or report; ``complaints step`` records a handling step;
  ``complaints list`` prints them with their closing deadlines.
* ``indicators`` prints the demonstration-city indicators per district and month (table, JSON, Excel) and,
  with ``--pack DIR``, writes each district's 述职 pack (a workbook and a page with charts).

Each calls the function of :mod:`reasoning.disposal`, :mod:`reasoning.complaints` or
:mod:`reasoning.indicators` the service calls. Bad input (a step out of order, a date before the sample or
in the future, an unknown case, district or operator, an evidence file too large or of a refused type) is
one line naming what is wrong, exit code 2, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from ontology.errors import InvalidRecord
from ontology.handling import district_id

from . import render
from .cli_common import (as_of_option, cli_context, date_option, emit, format_option, open_cli_store, out_option,
                         store_option)

__all__ = ["COMMANDS", "disposal", "complaints", "indicators_cmd"]

_STATUS = {"overdue": "逾期", "due_soon": "临期", "open": "办理中", "closed": "已结案", "cleared": "复检合格"}


def _today() -> dt.date:
    from ontology.times import today

    return today()


def _names(store: Any, ids: set[str]) -> dict[str, str]:
    return {k: v.name for k, v in store.get_many("operator", ids).items() if v.name}


def _evidence(paths: tuple[Path, ...], by: str) -> list[Any]:
    from reasoning.disposal import evidence_file

    out = []
    for p in paths:
        try:
            data = p.read_bytes()
        except OSError as e:
            raise InvalidRecord(f"cannot read the evidence file {p}: {e.strerror}") from None
        out.append(evidence_file(p.name, data, by=by))
    return out


def _step_options(f: Any) -> Any:
    for opt in reversed([
        click.option("--date", "day", required=True, callback=date_option, metavar="DATE", help="Day it happened"),
        click.option("--by", required=True, help="Who did it"),
        click.option("--party", default=None, help="Operator concerned (served, recall receiver, producer asked)"),
        click.option("--outcome", default=None, help="pass/fail (复检), prompt/supervise/interview/notify (督办), "
                                                     "the bureau asked (协查)"),
        click.option("--reason", default=None, help="Reason (不予立案, 不予受理, 延期, corrections)"),
        click.option("--note", default=None, help="What was done"),
        click.option("--case", "case_ref", default=None, help="Enforcement case opened (立案)"),
        click.option("--due", "due_day", default=None, callback=date_option, metavar="DATE",
                     help="New deadline (延期)"),
        click.option("--corrects", default=None, help="Number (序号) of the earlier step this one corrects"),
        click.option("--evidence", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
                     help="Evidence file (PDF, JPEG, PNG, .docx, .xlsx); repeatable"),
        store_option,
    ]):
        f = opt(f)
    return f


def _add_step(store_url: str | None, ident: str, kind: str, day: dt.date, by: str, party: str | None,
              outcome: str | None, reason: str | None, note: str | None, case_ref: str | None, due_day: Any,
              corrects: str | None, evidence: tuple[Path, ...], table: str) -> None:
    from graph.view import ReadView
    from ontology import vocab
    from reasoning.disposal import new_step, subject_of

    files = _evidence(evidence, by)
    with open_cli_store(store_url) as store:
        view = ReadView(store)
        subject = subject_of(view, ident)
        command = f"foodtrace {'disposal' if subject.table == 'disposal_case' else 'complaints'} step"
        if subject.table != table:
            raise InvalidRecord(f"{ident} is a {subject.table.replace('_', ' ')}: use {command}")
        local = vocab.lookup("handling_step", kind) or kind
        recs = new_step(view, subject, kind=local, date=day, by=by, today=_today(), party=party, outcome=outcome,
                        reason=reason, note=note, case=case_ref, due_day=due_day, corrects=corrects, evidence=files)
        store.write(recs, context=cli_context("write", by=by, source=command))
    step = recs[-1]
    click.echo(f"{getattr(subject, 'number', None) or ident}: step {step.seq} {vocab.labels('handling_step')[step.kind][0]} "
               f"({step.kind}) on {step.date} recorded" + (f" with {len(files)} evidence file(s)" if files else ""))


# -- foodtrace disposal ---------------------------------------------------------------------------------------


@click.group("disposal")
def disposal() -> None:
    """核查处置: disposal cases of nonconforming results, their steps, deadlines, warnings and letters."""


@disposal.command("open")
@as_of_option("Open the cases whose result reached the bureau before this day (default: the day after the "
              "latest dated record)")
@click.option("--dry-run", is_flag=True, help="List what would open, write nothing")
@store_option
def open_cmd(as_of: dt.date | None, dry_run: bool, store_url: str | None) -> None:
    """Open a case for every nonconforming, undisputed supervisory sample that has none."""
    from graph.view import ReadView
    from ontology.times import default_as_of
    from reasoning.disposal import cases_to_open

    with open_cli_store(store_url) as store:
        view = ReadView(store)
        found = cases_to_open(view, as_of=as_of or default_as_of(view))
        if not dry_run and found:
            store.write(found, context=cli_context("write", source="foodtrace disposal open"))
    for c in found:
        click.echo(f"{c.number}\t{c.opened}\t{c.due}\t{c.sample_id}")
    click.echo(f"{len(found)} case(s) {'to open' if dry_run else 'opened'}", err=True)


@disposal.command("new")
@click.argument("ref")
@click.option("--trigger", type=click.Choice(["rapid_test", "monitoring_sample", "supervisory_sample", "complaint",
                                              "trace"]), required=True, help="What opens it (REF names it)")
@click.option("--opened", required=True, callback=date_option, metavar="DATE", help="Day it reached the bureau")
@click.option("--by", required=True, help="Who opens it")
@click.option("--operator", default=None, help="The business concerned (required for a trace)")
@click.option("--number", default=None, help="Case number (default: one made from the district and the day)")
@click.option("--note", default=None)
@store_option
def new_cmd(ref: str, trigger: str, opened: dt.date, by: str, operator: str | None, number: str | None,
            note: str | None, store_url: str | None) -> None:
    """Open a case on demand for a sample, a complaint or a lot a trace reached (REF, any identifier form)."""
    from graph.view import ReadView
    from reasoning.disposal import open_case

    with open_cli_store(store_url) as store:
        case = open_case(ReadView(store), trigger=trigger, ref=ref, opened=opened, by=by, today=_today(),
                         number=number, operator=operator, note=note)
        store.write([case], context=cli_context("write", by=by, source="foodtrace disposal new"))
    click.echo(f"{case.number} opened on {case.opened}, due {case.due} ({case.district_id})")


@disposal.command("step")
@click.argument("case")
@click.argument("kind")
@_step_options
def step_cmd(case: str, kind: str, **kw: Any) -> None:
    """Record a step of CASE (number or id): KIND is 送达 served, 异议 objection, 复检 retest, 下架 withdraw,
    封存 seal, 召回 recall, 召回确认 recall_confirmed, 销毁 destroy, 原因排查 cause, 整改 rectified, 立案 filed,
    不予立案 not_filed, 公开 published, 结案 closed, 协查 assist_request, 协查回复 assist_reply, 延期 extension,
    督办 escalation or 作废 void."""
    _add_step(kw.pop("store_url"), case, kind, table="disposal_case", **kw)


def _case_table(rows: list[Any], names: dict[str, str]) -> str:
    from ontology.handling import districts

    dz = {k: v[0] for k, v in districts().items()}
    return render.text_table(
        [[r.number, dz.get(r.district_id, "全市"), names.get(r.operator_id, r.operator_id)[:24], r.opened, r.due,
          f"{_STATUS[r.status]} {r.status}", r.done or "", r.overdue_workdays or "", r.level or "",
          ",".join(r.next_steps)] for r in rows],
        ["编号/number", "区县/district", "当事单位/business", "启动/opened", "期限/due", "状态/status",
         "完成/done", "逾期工作日/overdue", "级别/level", "待办/next"])


@disposal.command("list")
@as_of_option()
@click.option("--district", default=None, help="One district (崇川区, 320602 ...)")
@click.option("--status", type=click.Choice(list(_STATUS)), default=None)
@format_option("table", "json", "csv")
@out_option()
@store_option
def list_cmd(as_of: dt.date | None, district: str | None, status: str | None, fmt: str, out: Path | None,
             store_url: str | None) -> None:
    """Every disposal case as of a day: deadline in force, status, overdue working days, next steps."""
    from graph.view import ReadView
    from ontology.times import default_as_of
    from reasoning.disposal import case_rows

    with open_cli_store(store_url) as store:
        view = ReadView(store)
        day = as_of or default_as_of(view)
        rows = [r for r in case_rows(view, as_of=day, district=district_id(district))
                if status is None or r.status == status]
        names = _names(store, {r.operator_id for r in rows})
    if fmt == "json":
        emit(render.json_text({"as_of": day.isoformat(), "cases": [r.to_dict() for r in rows]}), out, fmt)
    elif fmt == "csv":
        keys = list(rows[0].to_dict()) if rows else ["number"]
        emit(render.csv_text([[r.to_dict()[k] for k in keys] for r in rows], keys), out, fmt)
    else:
        emit(f"基准日/as of {day.isoformat()}: {len(rows)} case(s)\n" + _case_table(rows, names), out, fmt)


@disposal.command("show")
@click.argument("case")
@format_option("text", "json")
@store_option
def show_cmd(case: str, fmt: str, store_url: str | None) -> None:
    """A case (or complaint) with every step in order, corrected ones marked."""
    from graph.view import ReadView
    from ontology import vocab
    from ontology.handling import effective_steps
    from ontology.records import to_dict
    from reasoning.disposal import subject_of

    with open_cli_store(store_url) as store:
        subject = subject_of(ReadView(store), case)
        steps = sorted(store.scan("handling_step", {"subject_id": subject.id}), key=lambda s: (s.seq, s.id))
        names = _names(store, {s.party_id for s in steps if s.party_id} | {subject.operator_id})
    live = {s.id for s in effective_steps(steps)}
    if fmt == "json":
        click.echo(render.json_text({"subject": to_dict(subject),
                                     "steps": [{**to_dict(s), "effective": s.id in live} for s in steps]}))
        return
    labels = vocab.labels("handling_step")
    click.echo(f"{getattr(subject, 'number', None) or subject.id}  {names.get(subject.operator_id, subject.operator_id)}")
    for s in steps:
        mark = "" if s.id in live else "  [已更正/corrected]"
        who = f" → {names.get(s.party_id, s.party_id)}" if s.party_id else ""
        extra = "; ".join(x for x in (s.outcome, s.reason, s.note, s.due and f"新期限 {s.due}") if x)
        click.echo(f"  {s.seq:>3}  {s.date}  {labels[s.kind][0]} {s.kind}{who}  ({s.by}){'  ' + extra if extra else ''}"
                   f"{mark}")


@disposal.command("warnings")
@as_of_option()
@click.option("--district", default=None)
@format_option("table", "json")
@store_option
def warnings_cmd(as_of: dt.date | None, district: str | None, fmt: str, store_url: str | None) -> None:
    """Overdue and due-soon cases and complaints, with the level of the escalation ladder each reached."""
    from graph.view import ReadView
    from ontology.times import default_as_of
    from reasoning.complaints import complaint_rows
    from reasoning.disposal import case_rows

    with open_cli_store(store_url) as store:
        view = ReadView(store)
        day = as_of or default_as_of(view)
        d = district_id(district)
        rows = [r for r in [*case_rows(view, as_of=day, district=d), *complaint_rows(view, as_of=day, district=d)]
                if r.status in ("overdue", "due_soon")]
        names = _names(store, {r.operator_id for r in rows})
    rows.sort(key=lambda r: (r.status != "overdue", -r.overdue_workdays, r.due, r.number))
    if fmt == "json":
        click.echo(render.json_text({"as_of": day.isoformat(), "warnings": [r.to_dict() for r in rows]}))
        return
    click.echo(f"基准日/as of {day.isoformat()}: {sum(r.status == 'overdue' for r in rows)} overdue, "
               f"{sum(r.status == 'due_soon' for r in rows)} due soon")
    if rows:
        click.echo(render.text_table(
            [[r.number, "核查处置" if hasattr(r, "trigger") else "投诉举报", names.get(r.operator_id, r.operator_id)[:24],
              r.due, f"{_STATUS[r.status]} {r.status}", r.overdue_workdays or r.left_workdays, r.level or ""]
             for r in rows],
            ["编号/number", "事项/kind", "当事单位/business", "期限/due", "状态/status", "工作日/workdays",
             "级别/level"]))


@disposal.command("letters")
@as_of_option()
@click.option("--district", default=None)
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder to write the .docx letters into")
@click.option("--record", is_flag=True, help="Also record the escalation on each case and complaint listed, the "
                                             "letter attached as evidence")
@click.option("--by", default=None, help="Who issues them (required with --record)")
@store_option
def letters_cmd(as_of: dt.date | None, district: str | None, out_dir: Path, record: bool, by: str | None,
                store_url: str | None) -> None:
    """The letters of 三书一函 for the overdue work of each district, one per level reached."""
    from graph.view import ReadView
    from ontology.times import default_as_of
    from reasoning.complaints import complaint_rows
    from reasoning.disposal import case_rows, escalations, evidence_file, new_step, subject_of

    from .letters import letter_name, render_letter

    if record and not (by or "").strip():
        raise click.UsageError("--record needs --by NAME")
    with open_cli_store(store_url) as store:
        view = ReadView(store)
        day = as_of or default_as_of(view)
        d = district_id(district)
        rows = [*case_rows(view, as_of=day, district=d), *complaint_rows(view, as_of=day, district=d)]
        found = escalations(rows)
        names = _names(store, {r.operator_id for e in found for r in e.items})
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for seq, esc in enumerate(found, 1):
            data = render_letter(esc, as_of=day, seq=seq, names=names)
            path = out_dir / letter_name(esc.district_id, esc.level, day)
            path.write_bytes(data)
            written.append(path)
            if record:
                ev = evidence_file(path.name, data, by=by or "")
                recs: list[Any] = []
                for r in esc.items:
                    subject = subject_of(view, r.id)
                    try:
                        recs.extend(new_step(view, subject, kind="escalation", date=day - dt.timedelta(days=1),
                                             by=by or "", today=_today(), outcome=esc.level, evidence=[ev],
                                             note=path.stem))
                    except InvalidRecord as e:
                        click.echo(f"not recorded on {r.number}: {e}", err=True)
                if recs:
                    store.write(recs, context=cli_context("write", by=by or None,
                                                          source="foodtrace disposal escalate"))
    for p in written:
        click.echo(str(p))
    click.echo(f"{len(written)} letter(s) as of {day.isoformat()}", err=True)


# -- foodtrace complaints -------------------------------------------------------------------------------------


@click.group("complaints")
def complaints() -> None:
    """投诉举报: complaints and reports, their handling and deadlines."""


@complaints.command("new")
@click.argument("number")
@click.option("--operator", required=True, help="The business complained about (any identifier form)")
@click.option("--received", required=True, callback=date_option, metavar="DATE")
@click.option("--kind", type=click.Choice(["complaint", "report"]), default="complaint",
              help="complaint (投诉) or report (举报)")
@click.option("--channel", default=None, help="12315, 12345热线, 吹哨人, 网络 ...")
@click.option("--topic", default=None)
@click.option("--description", default=None)
@click.option("--rural", is_flag=True, help="A business in a rural area")
@click.option("--real-name", is_flag=True, help="The complainant gave a name")
@click.option("--lot", default=None, help="The lot it concerns")
@click.option("--sample", default=None, help="The sample it concerns")
@store_option
def complaint_new_cmd(number: str, operator: str, received: dt.date, kind: str, channel: str | None,
                      topic: str | None, description: str | None, rural: bool, real_name: bool, lot: str | None,
                      sample: str | None, store_url: str | None) -> None:
    """Take in a complaint or report (NUMBER: its registration number)."""
    from graph.view import ReadView
    from reasoning.complaints import new_complaint

    with open_cli_store(store_url) as store:
        c = new_complaint(ReadView(store), number=number, operator=operator, received=received, today=_today(),
                          kind=kind, channel=channel, topic=topic, description=description, rural=rural,
                          real_name=real_name, lot=lot, sample=sample)
        store.write([c], context=cli_context("write", source="foodtrace complaints new"))
    click.echo(f"{number} registered ({kind}), received {c.date}")


@complaints.command("step")
@click.argument("number")
@click.argument("kind")
@_step_options
def complaint_step_cmd(number: str, kind: str, **kw: Any) -> None:
    """Record a handling step of a complaint: KIND is 受理 accepted, 不予受理 rejected, 移送 transferred, 调解成功
    mediated, 终止调解 mediation_ended, 核查 verified, 立案 filed, 不予立案 not_filed, 告知 replied, 延期
    extension, 督办 escalation, 结案 closed or 作废 void."""
    _add_step(kw.pop("store_url"), number, kind, table="complaint", **kw)


@complaints.command("list")
@as_of_option()
@click.option("--district", default=None)
@click.option("--rural", is_flag=True, help="Rural ones only")
@format_option("table", "json")
@store_option
def complaint_list_cmd(as_of: dt.date | None, district: str | None, rural: bool, fmt: str,
                       store_url: str | None) -> None:
    """Complaints and reports as of a day: closing deadline, status, next step."""
    from graph.view import ReadView
    from ontology.times import default_as_of
    from reasoning.complaints import complaint_rows

    with open_cli_store(store_url) as store:
        view = ReadView(store)
        day = as_of or default_as_of(view)
        rows = [r for r in complaint_rows(view, as_of=day, district=district_id(district)) if r.rural or not rural]
        names = _names(store, {r.operator_id for r in rows})
    if fmt == "json":
        click.echo(render.json_text({"as_of": day.isoformat(), "complaints": [r.to_dict() for r in rows]}))
        return
    click.echo(render.text_table(
        [[r.number, "举报" if r.kind == "report" else "投诉", "农村" if r.rural else "", names.get(r.operator_id,
          r.operator_id)[:24], r.received, r.due, f"{_STATUS[r.status]} {r.status}", r.done or "",
          ",".join(r.next_steps)] for r in rows],
        ["编号/number", "类型/kind", "农村/rural", "被投诉单位/business", "受理/received", "期限/due", "状态/status",
         "办结/closed", "待办/next"]))


# -- foodtrace indicators -------------------------------------------------------------------------------------


@click.command("indicators")
@click.option("--from", "start", required=True, callback=date_option, metavar="DATE", help="First day")
@click.option("--to", "end", required=True, callback=date_option, metavar="DATE", help="Last day")
@click.option("--district", default=None, help="One district (and the city)")
@as_of_option("Count what was done before this day (default: the day after --to)")
@format_option("table", "json", "xlsx")
@out_option("Write to this file (required for xlsx)")
@click.option("--pack", "pack_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Also write each district's 述职 pack (workbook and page with charts) into this folder")
@store_option
def indicators_cmd(start: dt.date, end: dt.date, district: str | None, as_of: dt.date | None, fmt: str,
                   out: Path | None, pack_dir: Path | None, store_url: str | None) -> None:
    """The demonstration city's indicators (长效动态管理) per district and month: value, target, status."""
    from graph.view import ReadView
    from reasoning.indicators import indicators

    from . import report_indicators as ri

    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE.xlsx")
    with open_cli_store(store_url) as store:
        rep = indicators(ReadView(store), start, end, district=district_id(district), as_of=as_of)
    if fmt == "json":
        emit(render.json_text(rep.to_dict()), out, fmt)
    elif fmt == "xlsx":
        ri.write_workbook(rep, out, district=district_id(district))  # type: ignore[arg-type]
        click.echo(f"written to {out}", err=True)
    else:
        emit(ri.text_report(rep), out, fmt)
    if pack_dir is not None:
        for path in ri.write_packs(rep, pack_dir):
            click.echo(f"written to {path}", err=True)


COMMANDS = (disposal, complaints, indicators_cmd)
