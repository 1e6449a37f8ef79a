"""Major-event commands (重大活动食品安全保障): ``foodtrace events create|list|vet|sampling-list|after``.

``events vet`` writes the report of :mod:`api.report_event` (the vetting of the designated suppliers before, the
deliveries into the kitchens and the sampling list during): one self-contained Chinese page and/or a workbook, or
JSON. ``events sampling-list`` gives the sampling list alone (:func:`reasoning.events.sampling_list`: the lots
ranked by the planned-sample risk model of ``risk rank-plan``); ``events after`` the after report
(:func:`reasoning.events.after_report`). A meal lot is traced to its origins with ``foodtrace trace up LOT``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from graph.view import ReadView
from ontology.errors import NotFound
from ontology.handling import district_id
from ontology.times import now_iso, today

from . import render
from .cli_common import as_of_option, emit, open_cli_store, store_option

__all__ = ["COMMANDS", "events"]


@click.group("events")
def events() -> None:
    """重大活动食品安全保障: events, their designated suppliers' vetting, what reached their kitchens."""


@events.command("create")
@click.argument("name")
@click.option("--level", type=click.Choice(["national", "provincial", "municipal", "district"]), required=True)
@click.option("--start", required=True, metavar="DATE", help="First day")
@click.option("--end", required=True, metavar="DATE", help="Last day (not before the first)")
@click.option("--venue", "venues", multiple=True, help="A venue; repeatable")
@click.option("--kitchen", "kitchens", multiple=True, help="A kitchen serving it (any identifier form); repeatable")
@click.option("--supplier", "suppliers", multiple=True, help="A designated supplier; repeatable")
@click.option("--district", default=None)
@click.option("--organiser", default=None)
@store_option
def create_cmd(name: str, level: str, start: str, end: str, venues: tuple[str, ...], kitchens: tuple[str, ...],
               suppliers: tuple[str, ...], district: str | None, organiser: str | None, store_url: str | None) -> None:
    """Enter a major event (prints its id); a period ending before it starts is refused."""
    from reasoning.events import new_event

    with open_cli_store(store_url) as store:
        view = ReadView(store)
        ev = new_event(view, name=name, level=level, start=start, end=end,
                       kitchens=view.require_many(kitchens, "operator", what="kitchen") if kitchens else (),
                       suppliers=view.require_many(suppliers, "operator", what="supplier") if suppliers else (),
                       venues=venues, district=district_id(district) if district else None, organiser=organiser,
                       created=now_iso("seconds"))
        store.write([ev])
    click.echo(ev.id)


@events.command("list")
@store_option
def list_cmd(store_url: str | None) -> None:
    """The major events, by first day."""
    with open_cli_store(store_url) as store:
        rows = sorted(store.scan("major_event"), key=lambda e: (e.start or "", e.id))
    click.echo(render.text_table([[e.id, e.name, e.level, e.start, e.end, len((e.supplier_ids or "").split())]
                                  for e in rows], ["标识", "活动名称", "保障级别", "开始日期", "结束日期", "定点供应商"]))


@events.command("vet")
@click.argument("event")
@as_of_option("Vet as of this day (default: today)")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help="The report page (.html)")
@click.option("--xlsx", type=click.Path(path_type=Path, dir_okay=False), default=None, help="The workbook (.xlsx)")
@store_option
def vet_cmd(event: str, as_of: dt.date | None, out: Path | None, xlsx: Path | None, store_url: str | None) -> None:
    """The event's report: designated suppliers vetted (grades, samples and cases of the last 12 months,
    certificates, chain gaps) and the deliveries into its kitchens; JSON on stdout unless --out/--xlsx."""
    from .report_event import event_report, render_html, write_workbook

    with open_cli_store(store_url) as store:
        view = ReadView(store)
        report: Any = event_report(view, _event(store, view, event), as_of=as_of or today())
    _write(report, out, xlsx, render_html, write_workbook)


def _write(report: Any, out: Path | None, xlsx: Path | None, page: Any, workbook: Any) -> None:
    """The report as its page (``out``) and/or workbook (``xlsx``), else JSON on standard output."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page(report), encoding="utf-8")
        click.echo(f"written to {out}", err=True)
    if xlsx:
        workbook(report, xlsx)
        click.echo(f"written to {xlsx}", err=True)
    if not out and not xlsx:
        click.echo(render.json_text(report))


def _event(store: Any, view: ReadView, event: str) -> Any:
    ev = store.get("major_event", view.require(event, "major_event", what="major event"))
    if ev is None:
        raise NotFound(f"no major event has the identifier {event!r}")
    return ev


@events.command("sampling-list")
@click.argument("event")
@as_of_option("Rank as of this day: the lots delivered up to it, the model trained on what was known before it "
              "(default: today)")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "xlsx", "json"]), default="table",
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write to this file instead of standard output (required for xlsx)")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--top-reasons", "top", type=click.IntRange(min=1, max=10), default=3, show_default=True)
@store_option
def sampling_list_cmd(event: str, as_of: dt.date | None, fmt: str, out: Path | None, lang: str, top: int,
                      store_url: str | None) -> None:
    """The event's sampling list (风险抽检清单): the lots delivered to its kitchens and the lots its designated
    suppliers shipped in its period, riskiest first, by the planned-sample risk model (the model of ``risk
    rank-plan``), each with its supplier, the supplier's grade, the probability of failing and the main
    reasons. Internal to the regulator: never publish these probabilities."""
    from reasoning.events import sampling_list

    from .report_event import sampling_table, write_sampling_workbook

    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE")
    day = as_of or today()
    with open_cli_store(store_url) as store:
        view = ReadView(store)
        rows = [r.to_dict() for r in sampling_list(view, _event(store, view, event), as_of=day, top=top)]
    headers, table = sampling_table(rows, lang)
    if fmt == "json":
        emit(render.json_text({"event": event, "as_of": str(day), "rows": rows}), out, fmt)
    elif fmt == "xlsx":
        assert out is not None
        write_sampling_workbook(rows, out, lang)
        click.echo(f"written to {out}", err=True)
    elif fmt == "csv":
        emit(render.csv_text(table, headers), out, fmt)
    else:
        emit(render.text_table(table, headers), out, fmt)


@events.command("after")
@click.argument("event")
@as_of_option("Report as known at the start of this day (default: today)")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help="The report page (.html)")
@click.option("--xlsx", type=click.Path(path_type=Path, dir_okay=False), default=None, help="The workbook (.xlsx)")
@store_option
def after_cmd(event: str, as_of: dt.date | None, out: Path | None, xlsx: Path | None, store_url: str | None) -> None:
    """The after report (保障总结报告): deliveries to its kitchens, samples at its kitchens and designated suppliers
    with their results and disposal cases, complaints and school alerts, and the verdict (零事故 when no sample
    failed, no case was opened and no complaint of illness came in); JSON on stdout unless --out/--xlsx."""
    from reasoning.events import after_report

    from .report_event import render_after_html, write_after_workbook

    with open_cli_store(store_url) as store:
        view = ReadView(store)
        report = after_report(view, _event(store, view, event), as_of=as_of or today())
    _write(report, out, xlsx, render_after_html, write_after_workbook)


COMMANDS = (events,)
