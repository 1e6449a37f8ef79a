"""Routes for administrators: the audit log and the list of keys (keys are created on the command line)."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Depends, Query

from .deps import DbDep
from .security import require

__all__ = ["router"]

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/audit", summary="审计日志 / the audit log of non-public requests")
async def audit_log(*, since: str | None = Query(None, description="ISO time; entries at or after it"),
                    key_id: str | None = Query(None, description="only this key's requests"),
                    limit: int = Query(1000, ge=1, le=100000),
                    db: DbDep, _key: Any = Depends(require("admin"))) -> list[dict[str, Any]]:
    entries = await anyio.to_thread.run_sync(lambda: db.audit_entries(since=since, key_id=key_id, limit=limit))
    return [e.as_dict() for e in entries]


@router.get("/keys", summary="API 密钥 / active API keys (ids and roles, never the keys)")
async def keys(*, db: DbDep, _key: Any = Depends(require("admin"))) -> list[dict[str, Any]]:
    return [k.__dict__ for k in db.keys()]
