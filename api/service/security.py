"""Who may do what: API keys with roles, the permission table, and the audit log.

A caller sends ``Authorization: Bearer KEY``. Public lookups need no key. Every
other endpoint depends on :func:`require` with a permission name; the table
:data:`PERMISSIONS` says which roles hold it (admin holds all). No key or an
unknown/revoked key is 401, a key whose role lacks the permission 403.

Every request to a non-public endpoint (allowed or not) is written to the audit
log by :class:`AuditMiddleware` once the response status is known: time, key id,
role, key name, method, path, query, status, client address and the entity ids
the endpoint named with :func:`audit_entities`.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import anyio
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ontology.errors import NotFound

from .servicedb import ApiKey, ServiceDB

__all__ = ["MAX_ID", "audited_require", "PERMISSIONS", "require", "audit_entities", "AuditMiddleware", "roles_with",
           "district_scope", "audit_state", "authorize", "check_district", "actor_of"]

log = logging.getLogger("foodtrace.service")

#: permission -> roles holding it (``admin`` holds every permission)
PERMISSIONS: dict[str, frozenset[str]] = {
    # investigators (稽查): traces, outbreak ranking, recall lists, operator profiles
    "trace": frozenset({"investigator", "analyst"}),
    "outbreak": frozenset({"investigator", "analyst"}),
    "recall": frozenset({"investigator"}),
    "profile": frozenset({"investigator", "analyst", "credit", "district"}),
    # risk analysts and the credit team: grades and their explanations
    "grades.read": frozenset({"analyst", "credit"}),
    # the credit team alone sets grades by hand
    "grades.write": frozenset({"credit"}),
    # 核查处置 and 投诉举报: district officers act on their own district only (district_scope), investigators
    # on any; analysts read them and the indicators
    "disposal.read": frozenset({"district", "investigator", "analyst"}),
    "disposal.write": frozenset({"district", "investigator"}),
    "indicators": frozenset({"district", "analyst"}),
    # the early warnings (a district officer: those of their district's businesses) and the consultation report
    "warnings": frozenset({"investigator", "analyst", "credit", "district"}),
    "report": frozenset({"analyst"}),
    # a record's sources and changes (its history): staff who read records
    "records.read": frozenset({"investigator", "analyst", "credit"}),
    # corrections and deletions of records, erasure of a natural person's personal data: admin only
    "records.write": frozenset(),
    "records.erase": frozenset(),
    # data capture (EPCIS capture interface, template uploads): systems and staff with an admin key
    "capture": frozenset(),
    # the audit log and key administration
    "admin": frozenset(),
}


def actor_of(key: Any) -> str:
    """Who a request acts for, as the store's batches and versions record it: the key's holder and id."""
    return f"{key.name or key.role} (key {key.id})"


def roles_with(permission: str) -> list[str]:
    """The roles that hold ``permission`` (admin last).

    >>> roles_with("grades.write")
    ['credit', 'admin']
    """
    return sorted(PERMISSIONS[permission]) + ["admin"]


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer KEY` "
                     "(created with `foodtrace keys create --role ROLE`)")


def audit_state(request: Request) -> dict[str, Any]:
    """The request's audit entry in the making (``key``, ``entities``, ``event``): a request that has one is
    written to the audit log when it is answered."""
    return _audit_state(request)


def authorize(key: ApiKey, permission: str) -> ApiKey:
    """``key`` if its role holds ``permission``, else 403 (the one check of the permission table)."""
    if key.role not in PERMISSIONS[permission] | {"admin"}:
        raise HTTPException(403, f"a key of role {key.role!r} may not do this; "
                                 f"it needs one of: {', '.join(roles_with(permission))}")
    return key


def _audit_state(request: Request) -> dict[str, Any]:
    state = request.scope.setdefault("state", {})
    return state.setdefault("audit", {"key": None, "entities": []})


def audit_entities(request: Request, *ids: str | None) -> None:
    """Name the entities a non-public request touched (written to its audit entry)."""
    _audit_state(request)["entities"].extend(i for i in ids if i)


#: the longest identifier a request may name (longer ones name nothing: 404)
MAX_ID = 2000


def audited_require(request: Request, store: Any, identifier: str, table: str = "operator") -> str:
    """The canonical id of ``identifier`` (any form, :meth:`graph.store.Store.require`), both named in the
    request's audit entry; :class:`ontology.errors.NotFound` for an unknown or over-long identifier."""
    audit_entities(request, identifier)
    if len(identifier) > MAX_ID:
        raise NotFound(f"no {table.replace('_', ' ')} has the identifier {identifier!r}")
    found = store.require(identifier, table)
    if found != identifier:
        audit_entities(request, found)
    return found


def district_scope(key: ApiKey, district: str | None) -> str | None:
    """The district a request acts on: a district officer's own (asking for another is 403); any other key's
    ``district`` as asked (None: all)."""
    if key.role != "district":
        return district
    if district is not None and district != key.district:
        raise HTTPException(403, f"a district officer's key acts on its own district ({key.district}) only, "
                                 f"not on {district}")
    return key.district


def check_district(key: ApiKey, view: Any, table: str, record_id: str) -> None:
    """403 unless the record falls under a district officer's own district (:mod:`reasoning.scope`); nothing is
    checked for any other role."""
    if key.role != "district":
        return
    from reasoning.scope import districts_of

    if key.district not in districts_of(view, table, record_id):
        raise HTTPException(403, f"a district officer acts on their own district ({key.district}) only; "
                                 f"{table.replace('_', ' ')} {record_id} is not in it")


def require(permission: str) -> Callable[..., Any]:
    """A FastAPI dependency: the caller's key, which must hold ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    async def dependency(request: Request,
                         credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> ApiKey:
        state = _audit_state(request)
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise HTTPException(401, "an API key is required: send `Authorization: Bearer KEY`",
                                headers={"WWW-Authenticate": 'Bearer realm="foodtrace"'})
        db: ServiceDB = request.app.state.service_db
        key = await anyio.to_thread.run_sync(db.authenticate, credentials.credentials)
        if key is None:
            raise HTTPException(401, "the API key is unknown or revoked",
                                headers={"WWW-Authenticate": 'Bearer realm="foodtrace", error="invalid_token"'})
        state["key"] = key
        return authorize(key, permission)

    dependency.__name__ = f"require_{permission.replace('.', '_')}"
    return dependency


class AuditMiddleware:
    """Pure ASGI middleware writing one audit entry per non-public request (public ones cost nothing)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: list[int | None] = [None]

        async def _send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            audit = (scope.get("state") or {}).get("audit")
            if audit is not None:
                await self._write(scope, audit, status[0] if status[0] is not None else 500)

    @staticmethod
    async def _write(scope: dict[str, Any], audit: dict[str, Any], status: int) -> None:
        app = scope.get("app")
        db: ServiceDB | None = getattr(getattr(app, "state", None), "service_db", None)
        if db is None:
            return
        client = scope.get("client")
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            await anyio.to_thread.run_sync(lambda: db.audit(
                key=audit["key"], method=scope["method"], path=scope["path"], query=query, status=status,
                entities=audit["entities"], client=f"{client[0]}:{client[1]}" if client else None,
                event=audit.get("event")))
        except Exception:  # the audit log must not turn a served answer into an error
            log.exception("could not write the audit entry for %s %s", scope["method"], scope["path"])
