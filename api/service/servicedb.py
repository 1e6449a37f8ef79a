"""The service's own SQLite file: hashed API keys, the audit log and capture jobs.

Kept apart from the record store (which may be a Neo4j server): these are facts
about the service, not about food. Every process of the service opens the same
file (WAL mode), so a capture job accepted by one worker can be polled on another.

Keys are 256-bit random tokens (``ft_`` + 43 URL-safe characters). Only their
SHA-256 is stored: a token of that entropy needs no slow password hash, and a
stolen database gives no usable key. A key's public id is the first 12 hex
digits of its hash; it is what the audit log and ``foodtrace keys list`` show.

>>> import tempfile, os
>>> db = ServiceDB(os.path.join(tempfile.mkdtemp(), "s.db"))
>>> key, token = db.create_key("investigator", name="张三")
>>> db.authenticate(token).role, db.authenticate("ft_wrong") is None
('investigator', True)
>>> db.revoke_key(key.id); db.authenticate(token) is None
True
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

from ontology.errors import FoodtraceError, NotFound
from ontology import times

__all__ = ["ROLES", "ApiKey", "AuditEntry", "CaptureJob", "ServiceDB", "connect", "open_tables", "hash_token", "now_iso"]

#: the roles a key can have, in the order shown to users
ROLES: tuple[str, ...] = ("public", "investigator", "analyst", "credit", "district", "admin")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_key (
    id TEXT PRIMARY KEY, hash TEXT UNIQUE NOT NULL, role TEXT NOT NULL, name TEXT,
    created TEXT NOT NULL, revoked TEXT);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, key_id TEXT, role TEXT, name TEXT,
    method TEXT NOT NULL, path TEXT NOT NULL, query TEXT, status INTEGER, entities TEXT, client TEXT);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time);
CREATE INDEX IF NOT EXISTS audit_key ON audit(key_id);
CREATE TABLE IF NOT EXISTS capture_job (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, finished TEXT, status TEXT NOT NULL,
    kind TEXT, source TEXT, key_id TEXT, errors TEXT, counts TEXT, behaviour TEXT);
CREATE INDEX IF NOT EXISTS capture_job_created ON capture_job(created, id);
"""


def connect(path: str) -> sqlite3.Connection:
    """A connection to the service database file, shared by threads and processes (WAL, autocommit)."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def open_tables(path: str, schema: str) -> sqlite3.Connection:
    """A connection to the service database file at ``path`` with the tables of ``schema`` created where missing
    (each part of the service keeps its own tables there); :class:`FoodtraceError` naming the file if it cannot."""
    try:
        db = connect(path)
        db.executescript(schema)
        return db
    except sqlite3.Error as e:
        raise FoodtraceError(f"cannot open the service database {path}: {e}") from e


#: the change-log readers' positions (each part of the service that follows the store's change log)
READERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS change_reader (name TEXT PRIMARY KEY, seq INTEGER NOT NULL, updated REAL NOT NULL)
WITHOUT ROWID;
"""
#: a reader not heard of for this long no longer holds the change log back (it sees a gap when it comes back,
#: and treats everything as changed, as after a restore)
READER_STALE_AFTER = 7 * 24 * 3600.0


def note_reader(db: sqlite3.Connection, name: str, seq: int) -> None:
    """Record that the change-log reader ``name`` has followed the log up to ``seq`` (never backwards); ``db``
    holds the tables of :data:`READERS_SCHEMA` (part of the schema of each reader's tables)."""
    db.execute("INSERT INTO change_reader(name, seq, updated) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
               "seq = max(seq, excluded.seq), updated = excluded.updated", (name, int(seq), time.time()))


def oldest_reader(db: sqlite3.Connection, stale_after: float = READER_STALE_AFTER) -> int | None:
    """The lowest position any change-log reader heard of within ``stale_after`` seconds still needs: the
    change log may be pruned up to it, not beyond (None: no reader known).

    >>> db = sqlite3.connect(":memory:")
    >>> db.executescript(READERS_SCHEMA) and None
    >>> note_reader(db, "public", 120); note_reader(db, "school_alerts", 80); note_reader(db, "public", 90)
    >>> oldest_reader(db)
    80
    """
    (low,) = db.execute("SELECT min(seq) FROM change_reader WHERE updated >= ?", (time.time() - stale_after,)).fetchone()
    return None if low is None else int(low)


def now_iso() -> str:
    """The current time, ISO 8601 with the China offset (+08:00), to the millisecond."""
    return times.now_iso("milliseconds")


def hash_token(token: str) -> str:
    """SHA-256 hex of a key token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    id: str
    role: str
    name: str | None
    created: str
    revoked: str | None = None
    #: a district officer's district (region id): the only district the key acts on
    district: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: str
    key_id: str | None
    role: str | None
    name: str | None
    method: str
    path: str
    query: str | None
    status: int | None
    entities: list[str]
    client: str | None
    #: what happened beyond the request itself: signin, signin.failed, signin.locked, signin.throttled, signout,
    #: session.expired, session.none, csrf.refused (console sign-in and sessions); None for other requests
    event: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CaptureJob:
    id: str
    created: str
    status: str  # accepted | running | succeeded | failed
    finished: str | None
    kind: str | None
    source: str | None
    key_id: str | None
    errors: list[dict[str, Any]]
    counts: dict[str, Any]
    behaviour: str = "rollback"  # the GS1-Capture-Error-Behaviour asked for: rollback | proceed

    @property
    def running(self) -> bool:
        return self.status in ("accepted", "running")


def _read_archive(path: Any) -> list[dict[str, Any]]:
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


class ServiceDB:
    """Keys, audit log and capture jobs in one SQLite file (safe across threads and processes)."""

    def __init__(self, path: str):
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = open_tables(self.path, _SCHEMA)
        try:
            cols = {r[1] for r in self._db.execute("PRAGMA table_info(capture_job)")}
            if "behaviour" not in cols:  # a file made before the column existed
                self._db.execute("ALTER TABLE capture_job ADD COLUMN behaviour TEXT")
            if "district" not in {r[1] for r in self._db.execute("PRAGMA table_info(api_key)")}:
                self._db.execute("ALTER TABLE api_key ADD COLUMN district TEXT")
            if "event" not in {r[1] for r in self._db.execute("PRAGMA table_info(audit)")}:
                self._db.execute("ALTER TABLE audit ADD COLUMN event TEXT")
        except sqlite3.Error as e:
            raise FoodtraceError(f"cannot open the service database {self.path}: {e}") from e

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _x(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    # -- keys -------------------------------------------------------------------------------

    def create_key(self, role: str, *, name: str | None = None, district: str | None = None) -> tuple[ApiKey, str]:
        """A new key of ``role``: the stored key and the token (shown once, never stored). A ``district`` key is
        bound to one district (a region id), which it needs; no other role has one."""
        if role not in ROLES:
            raise FoodtraceError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        if (role == "district") != (district is not None):
            raise FoodtraceError("a district officer's key names its district (--district), and only such a key does")
        token = "ft_" + secrets.token_urlsafe(32)
        digest = hash_token(token)
        key = ApiKey(id=digest[:12], role=role, name=name, created=now_iso(), district=district)
        self._x("INSERT INTO api_key(id, hash, role, name, created, district) VALUES (?,?,?,?,?,?)",
                (key.id, digest, key.role, key.name, key.created, key.district))
        return key, token

    def authenticate(self, token: str) -> ApiKey | None:
        """The active key of this token, or None."""
        rows = self._x("SELECT id, role, name, created, revoked, district FROM api_key WHERE hash = ? "
                       "AND revoked IS NULL", (hash_token(token),))
        return ApiKey(*rows[0]) if rows else None

    def keys(self, *, include_revoked: bool = False) -> list[ApiKey]:
        sql = "SELECT id, role, name, created, revoked, district FROM api_key"
        if not include_revoked:
            sql += " WHERE revoked IS NULL"
        return [ApiKey(*r) for r in self._x(sql + " ORDER BY created, id")]

    def revoke_key(self, key_id: str) -> None:
        rows = self._x("SELECT id FROM api_key WHERE id = ?", (key_id,))
        if not rows:
            raise NotFound(f"no API key has the id {key_id!r}")
        self._x("UPDATE api_key SET revoked = ? WHERE id = ? AND revoked IS NULL", (now_iso(), key_id))

    # -- audit ------------------------------------------------------------------------------

    def audit(self, *, key: ApiKey | None, method: str, path: str, query: str | None, status: int | None,
              entities: Iterable[str] = (), client: str | None = None, event: str | None = None) -> None:
        """Append one audit entry (never updated, never deleted by the service)."""
        ents = sorted(dict.fromkeys(e for e in entities if e))
        self._x("INSERT INTO audit(time, key_id, role, name, method, path, query, status, entities, client, event) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (now_iso(), key.id if key else None, key.role if key else None, key.name if key else None,
                 method, path, query or None, status, json.dumps(ents, ensure_ascii=False), client, event))

    def audit_entries(self, *, since: str | None = None, key_id: str | None = None,
                      limit: int | None = None) -> list[AuditEntry]:
        sql, params = ("SELECT seq, time, key_id, role, name, method, path, query, status, entities, client, event "
                       "FROM audit WHERE 1=1"), []
        if since:
            sql += " AND time >= ?"
            params.append(since)
        if key_id:
            sql += " AND key_id = ?"
            params.append(key_id)
        sql += " ORDER BY seq"
        if limit:
            sql += " LIMIT ?"
            params.append(int(limit))
        out = []
        for r in self._x(sql, params):
            out.append(AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                                  json.loads(r[9] or "[]"), r[10], r[11]))
        return out

    # -- backup and restore --------------------------------------------------------------------

    #: tables derived from the store (the public read model): left out of a backup, rebuilt on demand
    DERIVED_TABLES = ("public_answer", "public_changed", "public_meta", "holding_kept")

    def backup_to(self, path: str) -> dict[str, int]:
        """A consistent copy of the keys, the audit log and the capture jobs at ``path`` (SQLite's online
        backup API; the derived public read model left out); their counts."""
        import os

        if os.path.exists(path):
            os.unlink(path)
        dst = sqlite3.connect(path)
        try:
            with self._lock:
                self._db.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")
            for table in self.DERIVED_TABLES:
                dst.execute(f"DROP TABLE IF EXISTS {table}")
            dst.commit()
            dst.execute("VACUUM")
            return {t: dst.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("api_key", "audit", "capture_job")}
        finally:
            dst.close()

    def restore_from(self, path: str) -> None:
        """Replace the keys, audit log and capture jobs by the copy at ``path`` (the public read model is
        emptied: it is rebuilt from the store on demand)."""
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            with self._lock:
                src.backup(self._db, pages=-1)
        finally:
            src.close()
        self._db.executescript(_SCHEMA)

    # -- audit retention ----------------------------------------------------------------------

    def rotate_audit(self, archive: str, *, live_days: int, retention_days: int,
                     now: str | None = None) -> dict[str, Any]:
        """Move the audit entries older than ``live_days`` into monthly archive files in ``archive``
        (``audit-YYYY-MM.jsonl.gz``, one JSON object per entry, rewritten whole under a temporary name and
        renamed, then the entries leave the database), and delete archive files whose month ended more than
        ``retention_days`` ago (entries are kept at least that long). Returns what it did.
        """
        import datetime as dt
        import gzip
        import os
        from pathlib import Path

        if live_days > retention_days:
            raise FoodtraceError(f"audit entries cannot stay live ({live_days} days) longer than they are kept "
                                 f"({retention_days} days)")
        today = times.parse_instant(now) if now else times.now()
        cutoff = (today - dt.timedelta(days=live_days)).isoformat(timespec="milliseconds")
        folder = Path(archive)
        folder.mkdir(parents=True, exist_ok=True)
        rows = self._x("SELECT * FROM audit WHERE time < ? ORDER BY seq", (cutoff,))
        by_month: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            e = AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], json.loads(r[9] or "[]"), r[10])
            by_month.setdefault(e.time[:7], []).append(e.as_dict())
        for month, entries in by_month.items():
            path = folder / f"audit-{month}.jsonl.gz"
            old = _read_archive(path) if path.exists() else []
            seen = {e["seq"] for e in old}
            merged = old + [e for e in entries if e["seq"] not in seen]
            part = path.with_name(path.name + ".part")
            with gzip.open(part, "wt", encoding="utf-8") as fh:
                for e in sorted(merged, key=lambda e: e["seq"]):
                    fh.write(json.dumps(e, ensure_ascii=False) + "\n")
            with open(part, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(part, path)
        if rows:
            self._x("DELETE FROM audit WHERE time < ? AND seq <= ?", (cutoff, rows[-1][0]))
        expired = []
        limit = (today - dt.timedelta(days=retention_days)).date()
        for path in sorted(folder.glob("audit-*.jsonl.gz")):
            year, month = (int(x) for x in path.name[len("audit-"):len("audit-") + 7].split("-"))
            month_end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
            if month_end < limit:
                path.unlink()
                expired.append(path.name)
        return {"archived": len(rows), "months": sorted(by_month), "expired": expired, "cutoff": cutoff}

    def archived_entries(self, archive: str, *, since: str | None = None,
                         key_id: str | None = None) -> list[AuditEntry]:
        """The entries of the archive files in ``archive`` (oldest first), filtered like :meth:`audit_entries`."""
        from pathlib import Path

        out = []
        for path in sorted(Path(archive).glob("audit-*.jsonl.gz")):
            for e in _read_archive(path):
                if (since and e["time"] < since) or (key_id and e["key_id"] != key_id):
                    continue
                out.append(AuditEntry(**e))
        return out

    # -- capture jobs -----------------------------------------------------------------------

    def new_job(self, *, kind: str, source: str | None, key_id: str | None,
                behaviour: str = "rollback") -> CaptureJob:
        job_id = secrets.token_hex(8)
        created = now_iso()
        self._x("INSERT INTO capture_job(id, created, status, kind, source, key_id, errors, counts, behaviour) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (job_id, created, "accepted", kind, source, key_id, "[]", "{}", behaviour))
        return self.job(job_id)  # type: ignore[return-value]

    def update_job(self, job_id: str, *, status: str, errors: list[dict[str, Any]] | None = None,
                   counts: dict[str, Any] | None = None) -> None:
        finished = now_iso() if status in ("succeeded", "failed") else None
        self._x("UPDATE capture_job SET status = ?, finished = COALESCE(?, finished), "
                "errors = COALESCE(?, errors), counts = COALESCE(?, counts) WHERE id = ?",
                (status, finished, None if errors is None else json.dumps(errors, ensure_ascii=False),
                 None if counts is None else json.dumps(counts, ensure_ascii=False), job_id))

    def fail_interrupted_jobs(self) -> int:
        """Mark capture jobs left accepted or running by a service that stopped as failed (nothing of an
        interrupted job was written: a job is written in one transaction at its end). Called once when
        ``foodtrace serve`` starts, before its workers; the number of jobs marked."""
        rows = self._x("SELECT id FROM capture_job WHERE status IN ('accepted', 'running')")
        error = [{"type": "epcisException:ImplementationException", "title": "任务中断 / job interrupted",
                  "status": 500, "event": "document",
                  "detail": "the service stopped before the job finished; nothing was stored: send the document again"}]
        for (job_id,) in rows:
            self.update_job(job_id, status="failed", errors=error)
        return len(rows)

    _JOB_COLUMNS = "id, created, status, finished, kind, source, key_id, errors, counts, behaviour"

    @staticmethod
    def _job_of(r: tuple[Any, ...]) -> CaptureJob:
        return CaptureJob(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7] or "[]"),
                          json.loads(r[8] or "{}"), r[9] or "rollback")

    def job(self, job_id: str) -> CaptureJob | None:
        rows = self._x(f"SELECT {self._JOB_COLUMNS} FROM capture_job WHERE id = ?", (job_id,))
        return self._job_of(rows[0]) if rows else None

    def jobs(self, *, limit: int = 100, after: tuple[str, str] | None = None) -> list[CaptureJob]:
        """Jobs, newest first; ``after`` = (created, id) of the last job of the previous page."""
        sql, params = f"SELECT {self._JOB_COLUMNS} FROM capture_job", []
        if after is not None:
            sql += " WHERE (created < ?) OR (created = ? AND id < ?)"
            params += [after[0], after[0], after[1]]
        sql += " ORDER BY created DESC, id DESC LIMIT ?"
        params.append(int(limit))
        return [self._job_of(r) for r in self._x(sql, params)]
