"""Rural banquet commands (农村集体聚餐): ``foodtrace banquets ...``.

* ``banquets register`` registers a banquet (报备) with its station; ``banquets chef`` enters a chef in the register;
  ``banquets guide`` records an on-site guidance visit (:mod:`reasoning.banquets`, the rules of
  :mod:`ontology.banquets`: a banquet dated before today, a chef without a certificate date, an expired certificate
  are refused, one line and nothing written);
* ``banquets list``, ``banquets reminders`` (expired or expiring health certificates, unguided large banquets) and
  ``banquets stats`` (per district against the 摸底 counts).

Ledgers are loaded with ``foodtrace load`` (templates chefs, banquets, banquet_guidance, banquet_census).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from graph.view import ReadView
from ontology.handling import district_id
from ontology.times import now_iso, today

from . import render
from .cli_common import as_of_option, date_option, emit, format_option, open_cli_store, out_option, store_option

__all__ = ["COMMANDS", "banquets"]

_REMINDER = {"chef_certificate_expired": "健康证已过期", "chef_certificate_expiring": "健康证即将到期",
             "large_banquet_unguided": "大型聚餐未指导"}


@click.group("banquets")
def banquets() -> None:
    """农村集体聚餐: registrations, the chef register, on-site guidance, reminders, district statistics."""


@banquets.command("chef")
@click.argument("name")
@click.option("--district", required=True, help="District of the register (name or code)")
@click.option("--health-cert-expiry", default=None, metavar="DATE", help="Last day the health certificate is valid "
                                                                          "(required)")
@click.option("--health-cert-no", default=None, help="Health certificate number")
@click.option("--township", default=None)
@click.option("--phone", default=None)
@click.option("--trained", default=None, metavar="DATE", help="Day of the latest training")
@click.option("--training", default=None, help="What the training covered")
@store_option
def chef_cmd(name: str, district: str, health_cert_expiry: str | None, health_cert_no: str | None,
             township: str | None, phone: str | None, trained: str | None, training: str | None,
             store_url: str | None) -> None:
    """Enter a chef in the register (prints the chef's id)."""
    from reasoning.banquets import new_chef

    with open_cli_store(store_url) as store:
        chef = new_chef(ReadView(store), name=name, district=district_id(district),
                        health_cert_expiry=health_cert_expiry, health_cert_no=health_cert_no, township=township,
                        phone=phone, trained=trained, training=training, registered=str(today()))
        store.write([chef])
    click.echo(chef.id)


@banquets.command("register")
@click.argument("number")
@click.option("--host", required=True, help="The household holding it")
@click.option("--date", "day", required=True, metavar="DATE", help="Day of the banquet (today or later)")
@click.option("--place", required=True)
@click.option("--district", required=True, help="District (name or code)")
@click.option("--guests", type=click.IntRange(1, 100_000), required=True)
@click.option("--chef", default=None, help="The chef's id in the register")
@click.option("--kind", default=None, help="婚宴 寿宴 丧宴 满月宴 升学宴 其他")
@click.option("--township", default=None)
@click.option("--tables", type=click.IntRange(0, 10_000), default=None)
@click.option("--menu", default=None)
@click.option("--sources", default=None, help="Where the ingredients come from")
@click.option("--host-phone", default=None)
@click.option("--by", "registered_by", default=None, help="Who takes the registration")
@store_option
def register_cmd(number: str, host: str, day: str, place: str, district: str, guests: int, chef: str | None,
                 kind: str | None, township: str | None, tables: int | None, menu: str | None, sources: str | None,
                 host_phone: str | None, registered_by: str | None, store_url: str | None) -> None:
    """Register a banquet (报备) and its station; prints the banquet's id."""
    from reasoning.banquets import new_banquet

    with open_cli_store(store_url) as store:
        recs = new_banquet(ReadView(store), number=number, host=host, date=day, place=place,
                           district=district_id(district), guests=guests, registered=now_iso("seconds"), chef=chef,
                           host_phone=host_phone, kind=kind, township=township, tables=tables, menu=menu,
                           sources=sources, registered_by=registered_by)
        store.write(recs)
    click.echo(recs[-1].id)


@banquets.command("guide")
@click.argument("number")
@click.option("--date", "day", required=True, metavar="DATE")
@click.option("--by", required=True, help="Who gave the guidance")
@click.option("--checked", default=None, help="What was checked")
@click.option("--problems", default=None, help="Problems found")
@click.option("--rectified/--not-rectified", default=None, help="Put right on the spot")
@store_option
def guide_cmd(number: str, day: str, by: str, checked: str | None, problems: str | None, rectified: bool | None,
              store_url: str | None) -> None:
    """Record an on-site guidance visit at banquet NUMBER."""
    from ontology.banquets import banquet_id
    from reasoning.banquets import new_guidance

    with open_cli_store(store_url) as store:
        store.write([new_guidance(ReadView(store), banquet=banquet_id(number), date=day, by=by, checked=checked,
                                  problems=problems, rectified=rectified)])


@banquets.command("list")
@click.option("--district", default=None)
@click.option("--from", "since", callback=date_option, default=None, metavar="DATE")
@click.option("--to", "until", callback=date_option, default=None, metavar="DATE")
@format_option("table", "json", "csv")
@out_option()
@store_option
def list_cmd(district: str | None, since: dt.date | None, until: dt.date | None, fmt: str, out: Any,
             store_url: str | None) -> None:
    """Registered banquets by day (hosts and phones are left out)."""
    from ontology.banquets import is_large
    from reasoning.banquets import banquets_of

    with open_cli_store(store_url) as store:
        rows = banquets_of(ReadView(store), district=district_id(district) if district else None, since=since,
                           until=until)
    if fmt == "json":
        emit(render.json_text([{"number": b.number, "date": b.date, "place": b.place, "district": b.district_id,
                                "guests": b.guests, "large": is_large(b), "chef": b.chef_id, "station": b.station_id}
                               for b in rows]), out, fmt)
        return
    table = [[b.number, b.date, b.place, b.district_id, b.guests, "是" if is_large(b) else "", b.chef_id] for b in rows]
    emit((render.csv_text if fmt == "csv" else render.text_table)(
        table, ["报备编号", "聚餐日期", "聚餐地点", "所属区县", "就餐人数", "大型聚餐", "厨师"]), out, fmt)


@banquets.command("reminders")
@as_of_option("As of this day (default: today)")
@click.option("--days", type=click.IntRange(0, 3660), default=30, show_default=True, help="Look this many days ahead")
@click.option("--district", default=None)
@format_option("table", "json")
@store_option
def reminders_cmd(as_of: dt.date | None, days: int, district: str | None, fmt: str, store_url: str | None) -> None:
    """Expired and expiring health certificates, large banquets without on-site guidance."""
    from reasoning.banquets import reminders

    with open_cli_store(store_url) as store:
        rows = reminders(ReadView(store), as_of=as_of or today(), days=days,
                         district=district_id(district) if district else None)
    if fmt == "json":
        click.echo(render.json_text([r.to_dict() for r in rows]))
        return
    click.echo(render.text_table([[r.due, _REMINDER[r.kind], r.district_id, r.message] for r in rows],
                                 ["日期", "提醒", "所属区县", "内容"]))


@banquets.command("stats")
@click.option("--from", "since", callback=date_option, required=True, metavar="DATE")
@click.option("--to", "until", callback=date_option, required=True, metavar="DATE")
@format_option("table", "json", "csv")
@out_option()
@store_option
def stats_cmd(since: dt.date, until: dt.date, fmt: str, out: Any, store_url: str | None) -> None:
    """Per district: banquets registered against the census (摸底) counts, guests, large banquets guided."""
    from reasoning.banquets import district_stats

    if until < since:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    with open_cli_store(store_url) as store:
        rows = district_stats(ReadView(store), since=since, until=until)
    if fmt == "json":
        emit(render.json_text([r.to_dict() for r in rows]), out, fmt)
        return
    table = [[r.district_id, r.registered, r.expected, render.fmt_share(r.rate), r.guests, r.large, r.large_guided,
              r.guided] for r in rows]
    emit((render.csv_text if fmt == "csv" else render.text_table)(
        table, ["所属区县", "报备数", "摸底数", "报备率", "就餐人数", "大型聚餐", "大型聚餐已指导", "已指导"]), out, fmt)


COMMANDS = (banquets,)
