"""FastAPI dependencies shared by the routers: the store, a read view, the service database, settings."""

from __future__ import annotations

from fastapi import Request

from graph.store import Store
from graph.view import ReadView

from ..settings import Settings
from .servicedb import ServiceDB

__all__ = ["get_store", "get_view", "get_db", "get_service_settings"]


def get_store(request: Request) -> Store:
    """The store the service was started on (one per process)."""
    return request.app.state.store


def get_view(request: Request) -> ReadView:
    """A read-only view of the store."""
    return ReadView(request.app.state.store)


def get_db(request: Request) -> ServiceDB:
    """The service database (keys, audit log, capture jobs)."""
    return request.app.state.service_db


def get_service_settings(request: Request) -> Settings:
    """The settings the service was started with."""
    return request.app.state.settings
