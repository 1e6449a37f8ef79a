"""``foodtrace serve``, ``foodtrace keys ...`` and ``foodtrace audit``: running and administering the service."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any, Iterator

import click

from .cli_common import open_cli_store, store_option
from .render import text_table
from .service.servicedb import ROLES, ServiceDB
from .settings import get_settings

__all__ = ["COMMANDS", "serve", "keys", "audit", "audit_rotate", "public_cache"]


def _db(path: str | None) -> ServiceDB:
    return ServiceDB(path or get_settings().service_db)


@click.command("serve")
@store_option
@click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")
@click.option("--host", default=None, help="Listen address (default: $FOODTRACE_HOST, 127.0.0.1)")
@click.option("--port", type=int, default=None, help="Port (default: $FOODTRACE_PORT, 8000)")
@click.option("--workers", type=int, default=None, help="Worker processes (default: $FOODTRACE_WORKERS, 1)")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve(store_url: str | None, service_db: str | None, host: str | None, port: int | None,
          workers: int | None, log_level: str) -> None:
    """Run the web service (public QR lookups, investigator, credit and capture endpoints)."""
    import uvicorn

    # every worker process builds its app from the environment, so the options travel there
    for name, value in (("STORE", store_url), ("SERVICE_DB", service_db)):
        if value is not None:
            os.environ[f"FOODTRACE_{name}"] = value
    settings = get_settings()
    db = ServiceDB(settings.service_db)  # create it (and fail early) before the workers start
    try:
        interrupted = db.fail_interrupted_jobs()
    finally:
        db.close()
    if interrupted:
        click.echo(f"foodtrace serve: {interrupted} capture job(s) interrupted by the last stop marked failed", err=True)
    click.echo(f"foodtrace serve: store {settings.store}, service db {settings.service_db}, "
               f"http://{host or settings.host}:{port or settings.port}/ ({workers or settings.workers} worker(s))",
               err=True)
    uvicorn.run("api.service.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
                workers=workers or settings.workers, log_level=log_level, access_log=False,
                proxy_headers=True, server_header=False, timeout_worker_healthcheck=settings.worker_healthcheck)


@click.group("keys")
def keys() -> None:
    """API keys of the service (stored hashed in the service database)."""


@keys.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the key may do")
@click.option("--name", default=None, help="Who holds it (shown in the audit log)")
@click.option("--district", default=None, help="A district officer's district (崇川区, 320602 ...): the only one "
                                                 "its key acts on (role district)")
@click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")
def keys_create(role: str, name: str | None, district: str | None, service_db: str | None) -> None:
    """Create a key; the key is printed once (on standard output) and never stored."""
    from ontology.handling import district_id

    db = _db(service_db)
    try:
        key, token = db.create_key(role, name=name, district=district_id(district))
    finally:
        db.close()
    click.echo(f"key id {key.id}, role {key.role}: store the key now, it is not shown again", err=True)
    click.echo(token)


@keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys")
@click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")
def keys_list(include_revoked: bool, service_db: str | None) -> None:
    """List keys (ids, roles, holders; never the keys)."""
    db = _db(service_db)
    try:
        rows = [[k.id, k.role, k.name or "", k.district or "", k.created, k.revoked or ""]
                for k in db.keys(include_revoked=include_revoked)]
    finally:
        db.close()
    click.echo(text_table(rows, ["密钥/key id", "角色/role", "持有人/name", "区县/district", "创建/created",
                                 "撤销/revoked"]))


@keys.command("revoke")
@click.argument("key_id")
@click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")
def keys_revoke(key_id: str, service_db: str | None) -> None:
    """Revoke a key by its id (requests with it get 401 from then on)."""
    db = _db(service_db)
    try:
        db.revoke_key(key_id)
    finally:
        db.close()
    click.echo(f"key {key_id} revoked")


def _archive(service_db: str | None) -> str:
    settings = get_settings()
    return settings.audit_archive or os.path.join(os.path.dirname(os.path.abspath(service_db or settings.service_db)),
                                                  "audit-archive")


@click.command("audit")
@click.option("--since", default=None, help="Only entries at or after this ISO time / date")
@click.option("--key", "key_id", default=None, help="Only this key id")
@click.option("--archived", is_flag=True, help="Include the entries moved to the archive files (audit-rotate)")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")
def audit(since: str | None, key_id: str | None, archived: bool, fmt: str, service_db: str | None) -> None:
    """The service's audit log: who asked what, when, about which entities."""
    db = _db(service_db)
    try:
        entries = db.audit_entries(since=since, key_id=key_id)
        if archived:
            entries = db.archived_entries(_archive(service_db), since=since, key_id=key_id) + entries
    finally:
        db.close()
    if fmt == "json":
        click.echo(json.dumps([e.as_dict() for e in entries], ensure_ascii=False, indent=1))
        return
    rows = [[e.time, e.key_id or "-", e.role or "-", e.name or "", e.method, e.path + (f"?{e.query}" if e.query else ""),
             e.status, " ".join(e.entities)] for e in entries]
    click.echo(text_table(rows, ["时间/time", "密钥/key", "角色/role", "持有人/name", "方法/method", "路径/path",
                                 "状态/status", "实体/entities"]))


@click.command("audit-rotate")
@click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")
def audit_rotate(service_db: str | None) -> None:
    """Move audit entries older than FOODTRACE_AUDIT_LIVE_DAYS into monthly archive files and delete archive
    files older than FOODTRACE_AUDIT_RETENTION_DAYS (at least six months); run daily (README: operations)."""
    settings = get_settings()
    db = _db(service_db)
    try:
        done = db.rotate_audit(_archive(service_db), live_days=settings.audit_live_days,
                               retention_days=settings.audit_retention_days)
    finally:
        db.close()
    click.echo(f"{done['archived']} audit entries before {done['cutoff']} archived in {_archive(service_db)}"
               + (f" ({', '.join(done['months'])})" if done["months"] else "")
               + (f"; expired archives deleted: {', '.join(done['expired'])}" if done["expired"] else ""))


# -- the public read model -------------------------------------------------------------------------

@click.group("public-cache")
def public_cache() -> None:
    """The stored answers of public QR lookups (kept current from the store's change log)."""


@contextmanager
def _public_views(store_url: str | None, service_db: str | None) -> Iterator[Any]:
    """The store and its public read model (``PublicViews``), from the options or the settings."""
    from .service.projection import PublicViews

    with open_cli_store(store_url) as store:
        pv = PublicViews(service_db or get_settings().service_db, store)
        try:
            yield pv
        finally:
            pv.close()


def _warm_keys(store: Any, day: str | None) -> list[tuple[str, str | None]]:
    """(lot, None) of every lot and (lot, code) of every trace code, or only of the lots delivered on or after
    ``day`` (a Beijing calendar day)."""
    recent: set[str] | None = None
    if day is not None:
        import numpy as np

        from ontology.times import days_of

        recent = set()  # read page by page: ten million deliveries are not held at once
        for rows in store.column_pages("delivery", ["lot_id", "time"]):
            late = np.flatnonzero(days_of([t for _, t in rows]) >= np.datetime64(day))
            recent.update(rows[i][0] for i in late.tolist())
    keys: list[tuple[str, str | None]] = [(lot, None) for lot in sorted(recent)] if recent is not None \
        else [(r.id, None) for r in store.scan("lot")]
    keys += [(r.lot_id, r.code) for r in store.scan("trace_code")
             if r.lot_id and r.code and (recent is None or r.lot_id in recent)]
    return keys


def _warm_part(store_url: str, service_db: str, keys: list[tuple[str, str | None]], lang: str | None = None) -> int:
    from graph.view import ReadView
    from reasoning.lookup import public_code, public_lot

    with _public_views(store_url, service_db) as pv:
        view = ReadView(pv.store)
        render = None
        if lang:
            from .service.public import render_page

            render = lambda data: render_page(data, lang)  # noqa: E731
        return pv.warm(keys, lambda lot, code: public_code(view, code) if code else public_lot(view, lot),
                       render, lang or "zh")


@public_cache.command("warm")
@store_option
@click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")
@click.option("--processes", type=int, default=1, show_default=True, help="Worker processes")
@click.option("--pages", "lang", type=click.Choice(["zh", "en"]), default=None,
              help="Also render and store the consumer pages in this language")
@click.option("--since", default=None, metavar="DATE",
              help="Only the lots delivered on or after this day (Beijing time) and their trace codes: the lots "
                   "shoppers still scan; the others are computed at their first lookup")
def public_cache_warm(store_url: str | None, service_db: str | None, processes: int, lang: str | None,
                      since: str | None) -> None:
    """Compute the public answer of every lot and every trace code that has none current (after a bulk load)."""
    import time
    from concurrent.futures import ProcessPoolExecutor

    settings = get_settings()
    store_url, service_db = store_url or settings.store, service_db or settings.service_db
    day = None
    if since:
        from ontology.times import day_of

        day = day_of(since)
        if day is None:
            raise click.BadParameter(f"{since!r} is not a date (e.g. 2026-11-01)", param_hint="--since")
    with _public_views(store_url, service_db) as pv:
        if not pv.enabled:
            raise click.UsageError(f"the {pv.store.name} store keeps no change log: its lookups are always computed live")
        keys = _warm_keys(pv.store, day)
    t0 = time.perf_counter()
    if processes <= 1:
        n = _warm_part(store_url, service_db, keys, lang)
    else:
        from ontology.processes import die_with_parent

        with ProcessPoolExecutor(processes, initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
            n = sum(pool.map(_warm_part, [store_url] * processes, [service_db] * processes,
                             [keys[i::processes] for i in range(processes)], [lang] * processes))
    elapsed = time.perf_counter() - t0
    click.echo(f"{n} computed of {len(keys):,} lookups (lots and trace codes) in {elapsed:.1f} s "
               f"({len(keys) / max(elapsed, 1e-9):,.0f}/s)")


@public_cache.command("stats")
@store_option
@click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")
def public_cache_stats(store_url: str | None, service_db: str | None) -> None:
    """Stored answers, their size, and how far the change log has been followed (JSON)."""
    with _public_views(store_url, service_db) as pv:
        click.echo(json.dumps(pv.stats()))


@public_cache.command("clear")
@store_option
@click.option("--service-db", default=None, help="Service database file (default: $FOODTRACE_SERVICE_DB)")
def public_cache_clear(store_url: str | None, service_db: str | None) -> None:
    """Drop every stored answer (they are computed again on demand)."""
    with _public_views(store_url, service_db) as pv:
        pv.clear()
    click.echo("public answers cleared")


#: the commands of this module, added to the root group by :mod:`api.cli`
COMMANDS = (serve, keys, audit, audit_rotate, public_cache)
