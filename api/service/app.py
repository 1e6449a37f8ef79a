"""The foodtrace web service: public QR / Digital Link lookups and endpoints for staff.

``create_app(settings)`` builds the FastAPI application; ``foodtrace serve`` runs
it under uvicorn (``create_app`` is the factory each worker process calls, reading
the settings from ``FOODTRACE_*`` environment variables).

Routers, one module each: :mod:`.public` (no key), :mod:`.investigate`
(investigators and analysts), :mod:`.credit` (grades), :mod:`.capture` (EPCIS
capture and template uploads), :mod:`.admin` (audit log). Access rules live in
:mod:`.security`, error bodies in :mod:`.problems`. The staff console (:mod:`api.console`, signed-in pages
under ``/console``) is added to the same application.
"""

from __future__ import annotations

import logging
import multiprocessing
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from fastapi.responses import JSONResponse, Response

from graph.store import open_store
from ontology.processes import die_with_parent

from .. import console
from ..grades import grade_table
from ..settings import Settings, get_settings
from . import (admin, banquets, capture, credit, disposal, events, investigate, problems, public, records,
               schools)
from ..school_alerts import AlertChecker, AlertWorker
from ..webhooks import Webhooks
from .hardening import RateLimitMiddleware, SecurityHeadersMiddleware
from .projection import PublicViews
from .tracing import TraceIndexHolder
from .security import AuditMiddleware
from .servicedb import ServiceDB

__all__ = ["create_app", "API_VERSION"]

API_VERSION = "1.0.0"

log = logging.getLogger("foodtrace.service")

_DESCRIPTION = """\
foodtrace: lot-level food traceability for the market-supervision bureau (一证一票一码).

* **Public** (no key): GS1 Digital Link resolver `/01/{gtin}/10/{lot}`, local trace codes `/t/{code}`,
  QR codes `/qr/...`. Browsers get a Chinese mobile page, API clients JSON, JSON-LD or an RFC 9264 linkset.
* **Staff** (`Authorization: Bearer KEY`, keys by role: public, investigator, analyst, credit, admin):
  traces, outbreak ranking, recall lists, operator profiles, grades and overrides, EPCIS capture, uploads.

Errors are RFC 9457 problem details (`application/problem+json`).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application over the store and service database named by ``settings``."""
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid:  # a worker of `foodtrace serve --workers N`: it dies with the supervisor
        die_with_parent(parent.pid)
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = open_store(settings.store, settings.store_options())
        app.state.service_db = ServiceDB(settings.service_db)
        app.state.public_views = PublicViews(settings.service_db, app.state.store)
        app.state.accounts = console.open_accounts(settings)
        app.state.trace_index = TraceIndexHolder(app.state.store, settings.trace_index)
        app.state.trace_index.current()  # start building now: an investigator's first trace should not wait
        app.state.grade_table = grade_table()
        app.state.webhooks = Webhooks(settings.service_db)
        worker = None
        if settings.school_alerts:
            worker = AlertWorker(AlertChecker(app.state.store, app.state.webhooks, holder=app.state.trace_index),
                                 poll=settings.school_alert_poll, deliver=settings.webhook_options())
            worker.start()
        app.state.alert_worker = worker
        try:
            yield
        finally:
            # a check in progress ends at its next piece of samples before the store it reads is closed; one still
            # running after a minute (an index being built) keeps the store and its webhook queue open under it
            stopped = worker is None or worker.stop()
            if not stopped:
                log.warning("school alerts: a check was still running at shutdown; its store is left open")
            app.state.accounts.close()
            app.state.public_views.close()
            if stopped:
                app.state.webhooks.close()
                app.state.store.close()
            app.state.service_db.close()

    # the interactive docs (/docs Swagger UI, /redoc ReDoc) with their bundles served by this service
    # (fastapi-offline), so they work offline like every other page: no CDN
    app = FastAPIOffline(title="foodtrace", version=API_VERSION, description=_DESCRIPTION, lifespan=lifespan,
                         static_url="/docs/static", favicon_url="/favicon.ico",
                         openapi_tags=[
                             {"name": "public", "description": "公众查询 / public lookups (no key)"},
                             {"name": "investigation", "description": "稽查溯源 / traces, outbreaks, recalls, profiles"},
                             {"name": "credit", "description": "风险分级与信用 / grades, explanations, overrides"},
                             {"name": "disposal", "description": "核查处置与投诉举报 / disposal cases, complaints, "
                                                                 "indicators (district officers act on their own district)"},
                             {"name": "records", "description": "记录更正与删除 / history, corrections, deletion, erasure"},
                             {"name": "schools", "description": "校园食品安全 / school alerts, supply lists, webhook "
                                                                "subscriptions"},
                             {"name": "banquets", "description": "农村集体聚餐 / banquet registrations, chefs, guidance, "
                                                                 "reminders, statistics (district officers: own district)"},
                             {"name": "events", "description": "重大活动食品安全保障 / major events, supplier vetting report"},
                             {"name": "capture", "description": "数据采集 / EPCIS capture and template uploads"},
                             {"name": "admin", "description": "管理 / audit log"},
                         ])
    app.state.settings = settings
    problems.install(app)
    app.add_middleware(AuditMiddleware)
    app.add_middleware(RateLimitMiddleware, rate_per_minute=settings.public_rate, burst=settings.public_burst)
    app.add_middleware(SecurityHeadersMiddleware)

    @app.get("/healthz", tags=["public"], summary="Liveness: the service answers and its store is open")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "store": app.state.store.name, "version": API_VERSION}

    @app.get("/readyz", tags=["public"], summary="Readiness: the work a start leaves in the background is done",
             responses={503: {"description": "still starting: what it waits for is listed"}})
    def readyz() -> JSONResponse:
        """200 once this worker process's first trace index build has ended (or indexes are switched off) and its
        school-alert worker has made its first check (or another process makes them); 503 with what is still going
        on before. Ready stays ready: the rebuilds after writes do not take a worker out. A load balancer sends
        shoppers to a worker once it is ready; a benchmark measures after it."""
        waiting = []
        if not app.state.trace_index.started.is_set():
            waiting.append("trace_index")
        worker = getattr(app.state, "alert_worker", None)
        if worker is not None and not worker.first_check.is_set():
            waiting.append("school_alerts")
        return JSONResponse({"status": "starting" if waiting else "ready", "waiting": waiting},
                            status_code=503 if waiting else 200)

    favicon = (Path(__file__).parents[1] / "console" / "static" / "favicon.svg").read_bytes()

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon_ico() -> Response:
        """The site icon browsers ask for on every page (an SVG; served from here, no CDN)."""
        return Response(favicon, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

    for module in (public, investigate, credit, disposal, records, schools, banquets, events, capture, admin):
        app.include_router(module.router)
    console.install(app)
    return app
