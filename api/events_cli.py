"""Major-event commands (重大活动食品安全保障): ``foodtrace events create|list|vet``.

``events vet`` writes the report of :mod:`api.report_event` (the vetting of the designated suppliers before, the
deliveries into the kitchens during): one self-contained Chinese page and/or a workbook, or JSON.
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
from .cli_common import as_of_option, open_cli_store, store_option

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
        ev = store.get("major_event", view.require(event, "major_event", what="major event"))
        if ev is None:
            raise NotFound(f"no major event has the identifier {event!r}")
        report: Any = event_report(view, ev, as_of=as_of or today())
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_html(report), encoding="utf-8")
        click.echo(f"written to {out}", err=True)
    if xlsx:
        write_workbook(report, xlsx)
        click.echo(f"written to {xlsx}", err=True)
    if not out and not xlsx:
        click.echo(render.json_text(report))


COMMANDS = (events,)
