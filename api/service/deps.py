"""FastAPI dependencies shared by the routers: the store, a read view, the service database, settings.

They are ``async`` (they do no I/O) so that FastAPI calls them on the event loop rather than
sending each through the thread pool. :func:`store_call` runs store work for an ``async``
endpoint: inline for the embedded store (sub-millisecond local reads; a thread-pool hop and the
GIL hand-over between threads cost more than the read itself), in the thread pool for a server
backend whose reads wait on the network.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from graph.store import Store
from graph.view import ReadView

from ..settings import Settings
from .servicedb import ServiceDB

__all__ = ["get_store", "get_view", "get_db", "get_service_settings", "store_call", "StoreDep", "ViewDep", "DbDep",
           "SettingsDep"]

T = TypeVar("T")


async def get_store(request: Request) -> Store:
    """The store the service was started on (one per process)."""
    return request.app.state.store


async def get_view(request: Request) -> ReadView:
    """A read-only view of the store."""
    return ReadView(request.app.state.store)


async def get_db(request: Request) -> ServiceDB:
    """The service database (keys, audit log, capture jobs)."""
    return request.app.state.service_db


async def get_service_settings(request: Request) -> Settings:
    """The settings the service was started with."""
    return request.app.state.settings


#: a route's store (``store: StoreDep``), read view, service database and settings
StoreDep = Annotated[Store, Depends(get_store)]
ViewDep = Annotated[ReadView, Depends(get_view)]
DbDep = Annotated[ServiceDB, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_service_settings)]


async def store_call(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``: inline on the embedded store, in the thread pool on a server store."""
    if request.app.state.store.local_reads:
        return fn(*args)
    return await run_in_threadpool(fn, *args)
