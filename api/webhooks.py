"""Webhook subscriptions of school alerts, their outbox and delivery log, in the service database.

A subscription is a URL (http or https only), a secret (shown once when created, kept to sign) and optional
filters (alert kinds, one district). Raising an alert (:mod:`api.school_alerts`) only *enqueues* one outbox row
per matching subscription in the service database; a background worker (:func:`deliver_due`, run by
``foodtrace serve`` and ``foodtrace schools watch``) sends them. Nothing a receiver does - answering slowly,
failing, being down - can reach a load: loads never send anything.

Each POST carries the alert as JSON and the headers ``X-Foodtrace-Event: school_alert``,
``X-Foodtrace-Delivery`` (the outbox id: a receiver drops repeats by it) and ``X-Foodtrace-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body under the secret>`` (:func:`sign`, :func:`verify`). A
2xx answer delivers it; anything else (another status, a refused connection, a time-out) is retried with
exponential back-off (``backoff`` seconds, doubled each attempt, at most an hour) until ``max_attempts``, then
marked failed. Every attempt is logged (time, status or error, duration).

>>> import tempfile, os
>>> hooks = Webhooks(os.path.join(tempfile.mkdtemp(), "s.db"))
>>> sub, secret = hooks.subscribe("https://example.org/hook", name="教育局")
>>> secret.startswith("whsec_"), sub.url
(True, 'https://example.org/hook')
>>> hooks.subscribe("ftp://example.org/x")
Traceback (most recent call last):
...
ontology.errors.InvalidRecord: a webhook URL must start with http:// or https:// and name a host, not ...
>>> header = sign("k", b"{}", 1700000000)
>>> verify("k", header, b"{}", now=1700000010), verify("other", header, b"{}", now=1700000010)
(True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

import httpx

from ontology import times
from ontology.errors import InvalidRecord, NotFound
from ontology.records import SchoolAlert, to_dict

from .service.servicedb import READERS_SCHEMA, note_reader, open_tables

__all__ = ["Webhooks", "Subscription", "Delivery", "sign", "verify", "KINDS"]

#: the alert kinds a subscription may filter on
KINDS = ("failed_sample", "supplier_grade", "supplier_listed")
#: the longest wait between two attempts
_MAX_BACKOFF = 3600.0
#: a claimed row not finished within this many seconds (a worker that died) may be claimed again
_LEASE = 120.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_subscription (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL, kinds TEXT, district TEXT, name TEXT,
    created TEXT NOT NULL, created_by TEXT, disabled TEXT);
CREATE TABLE IF NOT EXISTS webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, subscription_id TEXT NOT NULL, alert_id TEXT NOT NULL,
    payload TEXT NOT NULL, created TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL, claimed REAL, delivered TEXT, last_error TEXT,
    UNIQUE (subscription_id, alert_id));
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox(status, next_attempt);
CREATE TABLE IF NOT EXISTS webhook_delivery (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, outbox_id INTEGER NOT NULL, subscription_id TEXT NOT NULL,
    alert_id TEXT NOT NULL, attempt INTEGER NOT NULL, time TEXT NOT NULL, status INTEGER, error TEXT,
    duration_ms REAL);
CREATE INDEX IF NOT EXISTS webhook_delivery_sub ON webhook_delivery(subscription_id, seq);
CREATE TABLE IF NOT EXISTS school_alert_checked (sample_id TEXT PRIMARY KEY, checked TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS school_alert_state (key TEXT PRIMARY KEY, value TEXT);
"""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Foodtrace-Signature`` header of ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str | None, body: bytes, *, now: float | None = None, tolerance: float = 300) -> bool:
    """Whether ``header`` signs ``body`` under ``secret`` and was made within ``tolerance`` seconds of ``now``
    (what a receiver checks)."""
    try:
        parts = dict(p.split("=", 1) for p in (header or "").split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, ts), f"t={ts},v1={parts.get('v1', '')}")


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    kinds: tuple[str, ...]
    district: str | None
    name: str | None
    created: str
    created_by: str | None
    disabled: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def wants(self, alert: SchoolAlert) -> bool:
        return (not self.kinds or alert.kind in self.kinds) and (self.district is None
                                                                 or alert.district_id == self.district)


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver one alert to one subscription."""

    seq: int
    outbox_id: int
    subscription_id: str
    alert_id: str
    attempt: int
    time: str
    status: int | None
    error: str | None
    duration_ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRecord(f"a webhook URL must start with http:// or https:// and name a host, not {url!r}")
    return url


class Webhooks:
    """Subscriptions, outbox, delivery log and the alert checker's bookkeeping in the service database file."""

    def __init__(self, path: str):
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = open_tables(self.path, _SCHEMA + READERS_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (taken at once: two workers never claim the same row), under the lock."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _x(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    # -- subscriptions -------------------------------------------------------------------------

    def subscribe(self, url: str, *, kinds: Iterable[str] = (), district: str | None = None,
                  name: str | None = None, by: str | None = None) -> tuple[Subscription, str]:
        """A new subscription and its secret (shown once). A URL that is not http(s), or an unknown kind, is
        refused and nothing is stored."""
        url = _check_url(url)
        kinds = tuple(dict.fromkeys(kinds))
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            raise InvalidRecord(f"unknown alert kind {bad[0]!r}; kinds: {', '.join(KINDS)}")
        secret = "whsec_" + secrets.token_urlsafe(32)
        sub = Subscription(id="wh_" + secrets.token_hex(6), url=url, kinds=kinds, district=district, name=name,
                           created=times.now_iso("milliseconds"), created_by=by)
        self._x("INSERT INTO webhook_subscription(id, url, secret, kinds, district, name, created, created_by) "
                "VALUES (?,?,?,?,?,?,?,?)", (sub.id, sub.url, secret, " ".join(kinds) or None, district, name,
                                            sub.created, by))
        return sub, secret

    @staticmethod
    def _sub(r: tuple[Any, ...]) -> Subscription:
        return Subscription(r[0], r[1], tuple((r[2] or "").split()), r[3], r[4], r[5], r[6], r[7])

    _SUB = "id, url, kinds, district, name, created, created_by, disabled"

    def subscriptions(self, *, include_disabled: bool = False) -> list[Subscription]:
        sql = f"SELECT {self._SUB} FROM webhook_subscription"
        if not include_disabled:
            sql += " WHERE disabled IS NULL"
        return [self._sub(r) for r in self._x(sql + " ORDER BY created, id")]

    def subscription(self, sub_id: str) -> Subscription:
        rows = self._x(f"SELECT {self._SUB} FROM webhook_subscription WHERE id = ?", (sub_id,))
        if not rows:
            raise NotFound(f"no webhook subscription has the id {sub_id!r}")
        return self._sub(rows[0])

    def disable(self, sub_id: str) -> None:
        """End a subscription (kept, with its log; its pending deliveries are dropped)."""
        self.subscription(sub_id)
        now = times.now_iso("milliseconds")
        self._x("UPDATE webhook_subscription SET disabled = ? WHERE id = ? AND disabled IS NULL", (now, sub_id))
        self._x("UPDATE webhook_outbox SET status = 'dropped' WHERE subscription_id = ? AND status = 'pending'",
                (sub_id,))

    # -- the outbox ------------------------------------------------------------------------------

    def enqueue(self, alerts: Iterable[SchoolAlert], *, now: float | None = None) -> int:
        """One pending delivery per alert and active subscription that wants it (once: enqueuing again adds
        nothing); the number added."""
        subs = self.subscriptions()
        t = time.time() if now is None else now
        created = times.now_iso("milliseconds")
        rows = [(s.id, a.id, json.dumps({"event": "school_alert", "alert": to_dict(a)}, ensure_ascii=False),
                 created, t) for a in alerts for s in subs if s.wants(a)]
        if not rows:
            return 0
        with self._transaction():
            before = self._db.total_changes
            self._db.executemany("INSERT OR IGNORE INTO webhook_outbox(subscription_id, alert_id, payload, created, "
                                 "status, next_attempt) VALUES (?,?,?,?,'pending',?)", rows)
            return self._db.total_changes - before

    def outbox(self, *, status: str | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT id, subscription_id, alert_id, status, attempts, next_attempt, delivered, last_error "
               "FROM webhook_outbox")
        params: list[Any] = []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        keys = ("id", "subscription", "alert", "status", "attempts", "next_attempt", "delivered", "last_error")
        return [dict(zip(keys, r)) for r in self._x(sql + " ORDER BY id", params)]

    def deliveries(self, *, subscription_id: str | None = None, limit: int = 1000) -> list[Delivery]:
        sql = ("SELECT seq, outbox_id, subscription_id, alert_id, attempt, time, status, error, duration_ms "
               "FROM webhook_delivery")
        params: list[Any] = []
        if subscription_id:
            sql += " WHERE subscription_id = ?"
            params.append(subscription_id)
        params.append(int(limit))
        return [Delivery(*r) for r in self._x(sql + " ORDER BY seq LIMIT ?", params)]

    def _claim(self, now: float, limit: int) -> list[tuple[Any, ...]]:
        with self._transaction():
            rows = self._db.execute(
                "SELECT o.id, o.subscription_id, o.alert_id, o.payload, o.attempts, s.url, s.secret "
                "FROM webhook_outbox o JOIN webhook_subscription s ON s.id = o.subscription_id "
                "WHERE o.status = 'pending' AND o.next_attempt <= ? AND (o.claimed IS NULL OR o.claimed < ?) "
                "ORDER BY o.next_attempt, o.id LIMIT ?", (now, now - _LEASE, limit)).fetchall()
            self._db.executemany("UPDATE webhook_outbox SET claimed = ? WHERE id = ?", [(now, r[0]) for r in rows])
        return rows

    def deliver_due(self, *, timeout: float = 5.0, max_attempts: int = 8, backoff: float = 10.0,
                    limit: int = 50, client: httpx.Client | None = None) -> int:
        """Send the pending deliveries that are due (see the module docstring); the number of attempts made."""
        rows = self._claim(time.time(), limit)
        if not rows:
            return 0
        own = client is None
        http = client or httpx.Client(timeout=timeout, follow_redirects=False)
        try:
            for oid, sub_id, alert_id, payload, attempts, url, secret in rows:
                body = payload.encode("utf-8")
                attempt = attempts + 1
                headers = {"Content-Type": "application/json; charset=utf-8", "X-Foodtrace-Event": "school_alert",
                           "X-Foodtrace-Delivery": str(oid),
                           "X-Foodtrace-Signature": sign(secret, body, int(time.time())),
                           "User-Agent": "foodtrace-webhooks/1"}
                t0 = time.perf_counter()
                status, error = None, None
                try:
                    status = http.post(url, content=body, headers=headers, timeout=timeout).status_code
                    if not 200 <= status < 300:
                        error = f"HTTP {status}"
                except httpx.HTTPError as e:
                    error = f"{type(e).__name__}: {e}"
                ms = (time.perf_counter() - t0) * 1000
                now_iso = times.now_iso("milliseconds")
                self._x("INSERT INTO webhook_delivery(outbox_id, subscription_id, alert_id, attempt, time, status, "
                        "error, duration_ms) VALUES (?,?,?,?,?,?,?,?)",
                        (oid, sub_id, alert_id, attempt, now_iso, status, error, round(ms, 1)))
                if error is None:
                    self._x("UPDATE webhook_outbox SET status = 'delivered', attempts = ?, delivered = ?, "
                            "claimed = NULL, last_error = NULL WHERE id = ?", (attempt, now_iso, oid))
                elif attempt >= max_attempts:
                    self._x("UPDATE webhook_outbox SET status = 'failed', attempts = ?, claimed = NULL, "
                            "last_error = ? WHERE id = ?", (attempt, error, oid))
                else:
                    wait = min(_MAX_BACKOFF, backoff * 2 ** (attempt - 1))
                    self._x("UPDATE webhook_outbox SET attempts = ?, next_attempt = ?, claimed = NULL, "
                            "last_error = ? WHERE id = ?", (attempt, time.time() + wait, error, oid))
        finally:
            if own:
                http.close()
        return len(rows)

    # -- the alert checker's bookkeeping -------------------------------------------------------------

    def checked_samples(self) -> set[str]:
        return {r[0] for r in self._x("SELECT sample_id FROM school_alert_checked")}

    def mark_checked(self, sample_ids: Iterable[str]) -> None:
        now = times.now_iso("milliseconds")
        with self._transaction():
            self._db.executemany("INSERT OR IGNORE INTO school_alert_checked(sample_id, checked) VALUES (?,?)",
                                 [(s, now) for s in sample_ids])

    def state(self, key: str) -> str | None:
        rows = self._x("SELECT value FROM school_alert_state WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def note_position(self, seq: int) -> None:
        """The alert checker has followed the store's change log up to ``seq`` (the change log is not pruned
        beyond the oldest such position of the service database's readers)."""
        with self._transaction():
            note_reader(self._db, "school_alerts", seq)

    def set_state(self, key: str, value: str | None) -> None:
        self._x("INSERT INTO school_alert_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                "value = excluded.value", (key, value))
