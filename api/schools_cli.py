"""School supervisors' commands (校园食品安全): ``foodtrace schools ...``.

* ``schools supply`` lists every lot a school canteen, a district's schools or a central distributor's schools
  received in a period, with supplier, origin, certificate, ticket, the supplier's grade and failed samples, and
  the gaps (:func:`reasoning.schools.school_supply`);
* ``schools alerts`` prints the in-app alert list (:func:`reasoning.schools.alerts_of`);
* ``schools check`` raises the alerts of what changed once; ``schools watch`` keeps doing it and sends the
  webhook deliveries (:mod:`api.school_alerts`), as each ``foodtrace serve`` worker does;
* ``schools subscribe`` / ``subscriptions`` / ``unsubscribe`` / ``deliveries``: webhook subscriptions (the secret
  is printed once) and their delivery log (:mod:`api.webhooks`).
"""

from __future__ import annotations

import datetime as dt
import signal
from typing import Any

import click

from graph.view import ReadView
from ontology.handling import district_id
from ontology.records import to_dict

from . import render
from .cli_common import date_option, emit, format_option, open_cli_store, out_option, store_option
from .settings import get_settings

__all__ = ["COMMANDS", "schools", "supply_table", "supply_csv"]

_SUPPLY_HEADERS = {
    "zh": ["学校食堂", "所属区县", "交付", "发货时间", "批次", "批号", "产品", "供应商", "生产者", "产地", "合格证明", "票据",
           "供应商风险等级", "失信名单", "供应商近12个月不合格样品", "学校预警", "缺口"],
    "en": ["school", "district", "delivery", "time", "lot", "lot number", "product", "supplier", "producer", "origin",
           "certificate", "ticket", "supplier grade", "listed", "supplier failed samples (12 months)", "school alerts",
           "gaps"]}
_ALERT_HEADERS = {"zh": ["预警时间", "预警类型", "学校食堂", "所属区县", "预警内容", "样品", "到校批次", "批次关系", "可信度", "供应商"],
                  "en": ["raised", "kind", "school", "district", "message", "sample", "lot", "relation", "tier",
                         "supplier"]}
_SERVICE_DB = click.option("--service-db", default=None, help="Service database file holding subscriptions, outbox "
                                                              "and delivery log (default: $FOODTRACE_SERVICE_DB)")


def _hooks(path: str | None) -> Any:
    from .webhooks import Webhooks

    return Webhooks(path or get_settings().service_db)


def _district(text: str | None) -> str | None:
    return district_id(text) if text else None


@click.group("schools")
def schools() -> None:
    """校园食品安全: school supply chains, real-time alerts and their webhooks."""


@schools.command("supply")
@click.option("--school", "school_ids", multiple=True, help="A school canteen (any identifier form); repeatable")
@click.option("--district", default=None, help="The school canteens of this district (name or code)")
@click.option("--distributor", default=None, help="The schools this central distributor (学校食材统一配送) served")
@click.option("--from", "since", required=True, callback=date_option, metavar="DATE", help="First day")
@click.option("--to", "until", required=True, callback=date_option, metavar="DATE", help="Last day")
@format_option("table", "json", "csv")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of headers")
@out_option()
@store_option
def supply_cmd(school_ids: tuple[str, ...], district: str | None, distributor: str | None, since: dt.date,
               until: dt.date, fmt: str, lang: str, out: Any, store_url: str | None) -> None:
    """Every lot the schools received in the period, with its chain, the supplier's standing and the gaps."""
    from reasoning.schools import school_supply

    if until < since:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    with open_cli_store(store_url) as store:
        view = ReadView(store)
        ids = view.require_many(school_ids, "operator", what="school canteen") if school_ids else None
        rows = school_supply(view, school_ids=ids,
                             district=_district(district),
                             distributor=view.require(distributor, "operator") if distributor else None,
                             since=since, until=until)
    if fmt == "json":
        emit(render.json_text([r.to_dict() for r in rows]), out, fmt)
        return
    text = (render.csv_text if fmt == "csv" else render.text_table)(supply_table(rows, lang), _SUPPLY_HEADERS[lang])
    emit(text, out, fmt)


def supply_table(rows: Any, lang: str) -> list[list[Any]]:
    """The rows of ``schools supply``'s table and CSV (headers: :func:`supply_csv`), in ``lang``."""
    from reasoning.schools import GAPS

    gap = 0 if lang == "zh" else 1
    return [[r.school or r.school_id, r.district_id, r.delivery_id, r.time, r.lot_id, r.lot_number, r.product,
             r.supplier or r.supplier_id, r.producer_id, r.origin_id, r.certificate_id, r.ticket_id, r.supplier_grade,
             "是" if r.supplier_listed and lang == "zh" else r.supplier_listed if lang == "en" else "",
             " ".join(r.supplier_failed_samples), len(r.open_alerts), "、".join(GAPS[g][gap] for g in r.gaps)]
            for r in rows]


def supply_csv(rows: Any, lang: str = "zh") -> str:
    """``foodtrace schools supply --format csv``: the supply rows as CSV text (the console's download)."""
    return render.csv_text(supply_table(rows, lang), _SUPPLY_HEADERS[lang])


@schools.command("alerts")
@click.option("--district", default=None, help="Alerts of this district's schools")
@click.option("--school", default=None, help="Alerts of this school canteen")
@click.option("--kind", type=click.Choice(["failed_sample", "supplier_grade", "supplier_listed"]), default=None)
@format_option("table", "json", "csv")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of headers")
@out_option()
@store_option
def alerts_cmd(district: str | None, school: str | None, kind: str | None, fmt: str, lang: str, out: Any,
               store_url: str | None) -> None:
    """The school alerts, newest first (the in-app list)."""
    from reasoning.schools import alerts_of

    with open_cli_store(store_url) as store:
        view = ReadView(store)
        alerts = alerts_of(view, district=_district(district),
                           school=view.require(school, "operator") if school else None, kind=kind)
        names = {k: v.name for k, v in view.get_many("operator", {a.school_id for a in alerts}).items()}
    if fmt == "json":
        emit(render.json_text([to_dict(a) for a in alerts]), out, fmt)
        return
    table = [[a.raised, a.kind, names.get(a.school_id, a.school_id), a.district_id, a.message, a.sample_id,
              a.lot_id, a.relation, a.tier, a.supplier_id] for a in alerts]
    emit((render.csv_text if fmt == "csv" else render.text_table)(table, _ALERT_HEADERS[lang]), out, fmt)


@schools.command("kitchens")
@click.option("--from", "since", required=True, callback=date_option, metavar="DATE", help="First day")
@click.option("--to", "until", required=True, callback=date_option, metavar="DATE", help="Last day")
@click.option("--district", default=None, help="Only this district's school canteens")
@click.option("--scope", type=click.Choice(["all", "school", "district", "city"]), default="all", show_default=True)
@format_option("table", "json", "csv")
@out_option()
@store_option
def kitchens_cmd(since: dt.date, until: dt.date, district: str | None, scope: str, fmt: str, out: Any,
                 store_url: str | None) -> None:
    """互联网+明厨亮灶: 接入率, 在线率, 上传率 and 整改闭环率 per school canteen, district and the city, against targets."""
    from reasoning.kitchens import TARGETS, kitchen_rates

    if until < since:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    with open_cli_store(store_url) as store:
        rows = [r for r in kitchen_rates(ReadView(store), since=since, until=until, district=_district(district))
                if scope == "all" or r.scope == scope]
    if fmt == "json":
        emit(render.json_text([r.to_dict() for r in rows]), out, fmt)
        return
    headers = ["范围", "标识", "名称", "学校数"] + [f"{TARGETS[k][0]}（目标{render.fmt_share(TARGETS[k][1])}）"
                                                for k in TARGETS] + ["未达标"]
    table = [[{"school": "学校", "district": "区县", "city": "全市"}[r.scope], r.id, r.name, r.schools]
             + [render.fmt_share(r.rates[k]) for k in TARGETS] + ["、".join(TARGETS[k][0] for k in r.missed)]
             for r in rows]
    emit((render.csv_text if fmt == "csv" else render.text_table)(table, headers), out, fmt)


@schools.command("check")
@_SERVICE_DB
@store_option
def check_cmd(service_db: str | None, store_url: str | None) -> None:
    """Raise the school alerts of everything not yet checked, once (prints what it did as JSON)."""
    from .school_alerts import AlertChecker

    hooks = _hooks(service_db)
    try:
        with open_cli_store(store_url) as store:
            click.echo(render.json_text(AlertChecker(store, hooks).check(force=True).to_dict()))
    finally:
        hooks.close()


@schools.command("watch")
@_SERVICE_DB
@click.option("--poll", type=float, default=None,
              help="Seconds between two looks (default: $FOODTRACE_SCHOOL_ALERT_POLL)")
@store_option
def watch_cmd(service_db: str | None, poll: float | None, store_url: str | None) -> None:
    """Raise school alerts as the store changes and send the webhook deliveries, until interrupted."""
    from .school_alerts import AlertChecker, AlertWorker

    settings = get_settings()
    hooks = _hooks(service_db)
    with open_cli_store(store_url) as store:
        worker = AlertWorker(AlertChecker(store, hooks), poll=poll or settings.school_alert_poll,
                             deliver=settings.webhook_options())
        stop = {"now": False}

        def _stop(*_: Any) -> None:
            stop["now"] = True

        signal.signal(signal.SIGTERM, _stop)
        worker.start()
        click.echo("watching for school alerts (Ctrl-C stops)", err=True)
        try:
            while not stop["now"] and worker.is_alive():
                worker.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            worker.stop()
            hooks.close()


@schools.command("subscribe")
@click.argument("url")
@click.option("--kind", "kinds", multiple=True,
              type=click.Choice(["failed_sample", "supplier_grade", "supplier_listed"]),
              help="Only alerts of this kind; repeatable (default: every kind)")
@click.option("--district", default=None, help="Only alerts of this district's schools")
@click.option("--name", default=None, help="Who receives it (e.g. 市教育局)")
@_SERVICE_DB
def subscribe_cmd(url: str, kinds: tuple[str, ...], district: str | None, name: str | None,
                  service_db: str | None) -> None:
    """Subscribe a webhook (http or https URL) to school alerts; prints its id and secret (shown once)."""
    hooks = _hooks(service_db)
    try:
        sub, secret = hooks.subscribe(url, kinds=kinds, district=_district(district), name=name)
    finally:
        hooks.close()
    click.echo(f"{sub.id}\t{secret}")
    click.echo("the secret signs every call (X-Foodtrace-Signature); it is not shown again", err=True)


@schools.command("subscriptions")
@_SERVICE_DB
def subscriptions_cmd(service_db: str | None) -> None:
    """The webhook subscriptions (never their secrets)."""
    hooks = _hooks(service_db)
    try:
        rows = [[s.id, s.url, " ".join(s.kinds) or "*", s.district or "*", s.name, s.created]
                for s in hooks.subscriptions()]
    finally:
        hooks.close()
    click.echo(render.text_table(rows, ["id", "url", "kinds", "district", "name", "created"]))


@schools.command("unsubscribe")
@click.argument("subscription_id")
@_SERVICE_DB
def unsubscribe_cmd(subscription_id: str, service_db: str | None) -> None:
    """End a webhook subscription (kept with its delivery log; pending deliveries dropped)."""
    hooks = _hooks(service_db)
    try:
        hooks.disable(subscription_id)
    finally:
        hooks.close()


@schools.command("deliveries")
@click.option("--subscription", "subscription_id", default=None, help="Only this subscription's")
@format_option("table", "json")
@_SERVICE_DB
def deliveries_cmd(subscription_id: str | None, fmt: str, service_db: str | None) -> None:
    """The webhook delivery log: every attempt with its status or error."""
    hooks = _hooks(service_db)
    try:
        log = hooks.deliveries(subscription_id=subscription_id)
    finally:
        hooks.close()
    if fmt == "json":
        click.echo(render.json_text([d.to_dict() for d in log]))
        return
    click.echo(render.text_table([[d.seq, d.time, d.subscription_id, d.alert_id, d.attempt, d.status, d.error,
                                   d.duration_ms] for d in log],
                                 ["seq", "time", "subscription", "alert", "attempt", "status", "error", "ms"]))


COMMANDS = (schools,)
