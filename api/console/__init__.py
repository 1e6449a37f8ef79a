"""The staff console: signed-in pages for investigators, analysts, the credit team and district officers.

A room of its own inside the service (``/console``): routes (:mod:`.signin`, :mod:`.entities`, :mod:`.tracing`,
:mod:`.credit`, :mod:`.work`, :mod:`.programmes`), Jinja2 templates (``templates/``) and static assets served
locally (``static/``: htmx 2, vendored from npm with its licence, one stylesheet, one script; nothing from a CDN).
Pages call ``reasoning`` and ``graph`` exactly as the service's routers do, with the same dependencies
(:mod:`api.service.deps`), permission table, district rule and audit log (:mod:`api.service.security`);
accounts and sessions live in the service database (:mod:`.accounts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

__all__ = ["install", "open_accounts", "routers"]


def open_accounts(settings: Any) -> Any:
    """The accounts store of the service database named by ``settings``, with its timeouts and lock-out."""
    from .accounts import Accounts

    return Accounts(settings.service_db, idle=settings.session_idle_minutes * 60,
                    absolute=int(settings.session_absolute_hours * 3600), max_failures=settings.signin_max_failures,
                    lock_seconds=settings.signin_lock_minutes * 60)


def routers() -> tuple[Any, ...]:
    """Every router of the console (what :func:`install` adds; the access tests enumerate their routes)."""
    from . import credit, entities, programmes, signin, tracing, work

    return tuple(m.router for m in (signin, entities, tracing, credit, work, programmes))


def install(app: FastAPI) -> None:
    """Add the console's routes, static assets and error pages to the service's application."""
    from .web import PREFIX, install_errors

    for router in routers():
        app.include_router(router)
    app.mount(PREFIX + "/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")
    install_errors(app)
