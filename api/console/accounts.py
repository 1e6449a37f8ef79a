"""Staff accounts of the console: users, Argon2id passwords, server-side sessions, throttling and lock-out.

Kept in the service database (:mod:`api.service.servicedb`'s SQLite file, tables ``staff_user``,
``staff_session``, ``signin_failure`` and ``oidc_state``), apart from the record store.

* **Passwords** are hashed with Argon2id (argon2-cffi's defaults: 3 passes over 64 MiB, 4 lanes) and checked
  against :func:`password_problems`, a policy in the spirit of 等保 2.0 level 3 (GB/T 22239-2019 8.1.4.1:
  identification unique, passwords complex and changed periodically, failed sign-ins limited, sessions ending
  when idle): at least 10 characters of at least three kinds (upper case, lower case, digits, other), not
  containing the user name, not the same as the one it replaces; a password set by an administrator
  (``users create`` / ``reset-password``) must be changed at the first sign-in, and one older than
  :data:`PASSWORD_MAX_AGE_DAYS` must be changed too.
* **Sessions** are 256-bit random tokens kept by the browser in an HttpOnly cookie; only their SHA-256 is
  stored, with the user, when the session started and was last used, and its CSRF token. A session ends after
  ``idle`` seconds without a request (30 minutes) or ``absolute`` seconds after it started (8 hours), at
  sign-out, when the user is disabled or the password reset.
* **Lock-out**: ``max_failures`` failed sign-ins of one user within ``lock_seconds`` lock the account for
  ``lock_seconds`` (a correct password is refused meanwhile); more than ``client_failures`` failures from one
  address within ``lock_seconds`` throttle that address (every attempt refused until they age out).

>>> import tempfile, os
>>> acc = Accounts(os.path.join(tempfile.mkdtemp(), "s.db"))
>>> u = acc.create_user("zhang", role="investigator", name="张三", password="Nantong-2026!")
>>> acc.sign_in("zhang", "wrong", client="c").outcome, acc.sign_in("zhang", "Nantong-2026!", client="c").outcome
('failed', 'ok')
>>> password_problems("short", "zhang")[0]
'at least 10 characters / 至少 10 个字符'
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ontology import times
from ontology.errors import FoodtraceError, NotFound

from ..service.servicedb import ApiKey, open_tables

__all__ = ["STAFF_ROLES", "PASSWORD_MAX_AGE_DAYS", "StaffUser", "Session", "SignIn", "Accounts", "password_problems",
           "principal"]

#: the roles a staff account can have (``public`` is for machines' keys only)
STAFF_ROLES: tuple[str, ...] = ("investigator", "analyst", "credit", "district", "admin")

#: a password older than this must be changed at the next sign-in (等保: 定期更换)
PASSWORD_MAX_AGE_DAYS = 90

_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_user (
    username TEXT PRIMARY KEY, name TEXT, role TEXT NOT NULL, district TEXT, hash TEXT,
    created TEXT NOT NULL, password_set REAL, must_change INTEGER NOT NULL DEFAULT 1, disabled TEXT,
    failures INTEGER NOT NULL DEFAULT 0, first_failure REAL, locked_until REAL, sso INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS staff_session (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, created REAL NOT NULL, last_seen REAL NOT NULL,
    csrf TEXT NOT NULL, ended REAL, how TEXT);
CREATE INDEX IF NOT EXISTS staff_session_user ON staff_session(username);
CREATE TABLE IF NOT EXISTS signin_failure (time REAL NOT NULL, username TEXT, client TEXT);
CREATE INDEX IF NOT EXISTS signin_failure_client ON signin_failure(client, time);
CREATE TABLE IF NOT EXISTS oidc_state (
    state TEXT PRIMARY KEY, nonce TEXT NOT NULL, verifier TEXT NOT NULL, next TEXT, created REAL NOT NULL);
"""

_hasher = PasswordHasher()  # Argon2id, RFC 9106's second recommended profile (t=3, m=64 MiB, p=4)


@functools.cache
def _dummy() -> str:
    """A hash verified when the user name is unknown, so that a miss takes as long as a wrong password (made at
    the first sign-in, not at import: hashing costs 0.35 s and 64 MiB, which every `foodtrace` command paid)."""
    return _hasher.hash(secrets.token_hex(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def password_problems(password: str, username: str, *, previous_hash: str | None = None) -> list[str]:
    """What is wrong with ``password`` for ``username`` (empty: acceptable), each reason in English and Chinese.

    >>> password_problems("Nantong-2026!", "zhang")
    []
    >>> password_problems("zhangzhang2026", "zhang")
    ['three kinds of characters (upper case, lower case, digits, other) / 大写字母、小写字母、数字、其他字符中至少三类', 'not containing the user name / 不得包含用户名']
    """
    out = []
    if len(password) < 10:
        out.append("at least 10 characters / 至少 10 个字符")
    kinds = sum((any(c.isupper() for c in password), any(c.islower() for c in password),
                 any(c.isdigit() for c in password), any(not c.isalnum() for c in password)))
    if kinds < 3:
        out.append("three kinds of characters (upper case, lower case, digits, other) / "
                   "大写字母、小写字母、数字、其他字符中至少三类")
    if username and username.lower() in password.lower():
        out.append("not containing the user name / 不得包含用户名")
    if previous_hash:
        try:
            if _hasher.verify(previous_hash, password):
                out.append("not the same as the current password / 不得与原口令相同")
        except (VerificationError, InvalidHashError):
            pass
    return out


@dataclass(frozen=True)
class StaffUser:
    username: str
    name: str | None
    role: str
    district: str | None
    created: str
    disabled: str | None
    must_change: bool
    locked_until: float | None
    sso: bool
    password_set: float | None

    @property
    def display(self) -> str:
        return self.name or self.username


def principal(user: StaffUser) -> ApiKey:
    """The user as the service's principal: what :mod:`api.service.security`'s permission table, district scope
    and audit log take for a key (id ``user:NAME``)."""
    return ApiKey(id=f"user:{user.username}", role=user.role, name=user.display, created=user.created,
                  district=user.district)


@dataclass(frozen=True)
class Session:
    token_hash: str
    user: StaffUser
    created: float
    last_seen: float
    csrf: str

    def password_expired(self, now: float | None = None) -> bool:
        """Whether the user must change the password before anything else."""
        if self.user.sso:
            return False
        if self.user.must_change:
            return True
        age = (now or time.time()) - (self.user.password_set or 0)
        return age > PASSWORD_MAX_AGE_DAYS * 86400


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt gave: ``ok`` (with the session token), ``failed``, ``locked`` or ``throttled``."""

    outcome: str
    user: StaffUser | None = None
    token: str | None = None
    session: Session | None = None
    retry_after: int | None = None


_USER_COLUMNS = ("username, name, role, district, created, disabled, must_change, locked_until, sso, password_set, "
                 "hash, failures, first_failure")


class Accounts:
    """Users, sessions and sign-in failures in the service database (safe across threads and processes)."""

    def __init__(self, path: str, *, idle: int = 30 * 60, absolute: int = 8 * 3600, max_failures: int = 5,
                 lock_seconds: int = 15 * 60, client_failures: int = 20):
        self.path = str(path)
        self.idle, self.absolute = idle, absolute
        self.max_failures, self.lock_seconds, self.client_failures = max_failures, lock_seconds, client_failures
        self._lock = threading.Lock()
        self._db = open_tables(self.path, _SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _x(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    # -- users ------------------------------------------------------------------------------

    @staticmethod
    def _user(r: tuple[Any, ...]) -> StaffUser:
        return StaffUser(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], bool(r[8]), r[9])

    def _row(self, username: str) -> tuple[Any, ...] | None:
        rows = self._x(f"SELECT {_USER_COLUMNS} FROM staff_user WHERE username = ?", (username,))
        return rows[0] if rows else None

    def user(self, username: str) -> StaffUser | None:
        r = self._row(username)
        return self._user(r) if r else None

    def users(self) -> list[StaffUser]:
        return [self._user(r) for r in self._x(f"SELECT {_USER_COLUMNS} FROM staff_user ORDER BY username")]

    def create_user(self, username: str, *, role: str, password: str | None, name: str | None = None,
                    district: str | None = None, sso: bool = False) -> StaffUser:
        """A new account. Its password (checked against the policy) must be changed at the first sign-in; an
        ``sso`` account signs in through the bureau's OpenID Connect provider only (no password)."""
        username = (username or "").strip()
        if not username or len(username) > 64 or any(c.isspace() for c in username):
            raise FoodtraceError("a user name is 1 to 64 characters without spaces")
        if role not in STAFF_ROLES:
            raise FoodtraceError(f"unknown role {role!r}; roles: {', '.join(STAFF_ROLES)}")
        if (role == "district") != (district is not None):
            raise FoodtraceError("a district officer names its district (--district), and only a district officer does")
        if self._row(username):
            raise FoodtraceError(f"a user named {username!r} exists already")
        digest = None
        if not sso or password:
            problems = password_problems(password or "", username)
            if problems:
                raise FoodtraceError("the password must have " + "; ".join(problems))
            digest = _hasher.hash(password or "")
        self._x("INSERT INTO staff_user(username, name, role, district, hash, created, password_set, must_change, "
                "sso) VALUES (?,?,?,?,?,?,?,?,?)",
                (username, name, role, district, digest, times.now_iso("seconds"), time.time(), 1, int(sso)))
        return self.user(username)  # type: ignore[return-value]

    def _require(self, username: str) -> tuple[Any, ...]:
        r = self._row(username)
        if r is None:
            raise NotFound(f"no user has the name {username!r}")
        return r

    def disable(self, username: str) -> None:
        """Disable an account (kept, never deleted) and end its sessions."""
        self._require(username)
        now = time.time()
        self._x("UPDATE staff_user SET disabled = ? WHERE username = ? AND disabled IS NULL",
                (times.now_iso("seconds"), username))
        self._x("UPDATE staff_session SET ended = ?, how = 'disabled' WHERE username = ? AND ended IS NULL",
                (now, username))

    def enable(self, username: str) -> None:
        self._require(username)
        self._x("UPDATE staff_user SET disabled = NULL, failures = 0, locked_until = NULL WHERE username = ?",
                (username,))

    def set_password(self, username: str, password: str, *, by_admin: bool) -> None:
        """Set a password (policy checked). Set by an administrator (``reset-password``) it must be changed at the
        next sign-in, and the lock-out and every session of the user end."""
        r = self._require(username)
        problems = password_problems(password, username, previous_hash=r[10])
        if problems:
            raise FoodtraceError("the password must have " + "; ".join(problems))
        now = time.time()
        self._x("UPDATE staff_user SET hash = ?, password_set = ?, must_change = ?, failures = 0, "
                "locked_until = NULL WHERE username = ?", (_hasher.hash(password), now, int(by_admin), username))
        if by_admin:
            self._x("UPDATE staff_session SET ended = ?, how = 'reset' WHERE username = ? AND ended IS NULL",
                    (now, username))

    def check_password(self, username: str, password: str) -> bool:
        r = self._row(username)
        return bool(r and r[10]) and _verify(r[10], password)

    # -- signing in ------------------------------------------------------------------------

    def sign_in(self, username: str, password: str, *, client: str | None) -> SignIn:
        """Check a password and open a session; every refusal counts towards the lock-out."""
        now = time.time()
        since = now - self.lock_seconds
        if client is not None:
            (n,), = self._x("SELECT COUNT(*) FROM signin_failure WHERE client = ? AND time >= ?", (client, since))
            if n >= self.client_failures:
                oldest = self._x("SELECT MIN(time) FROM signin_failure WHERE client = ? AND time >= ?",
                                 (client, since))[0][0]
                return SignIn("throttled", retry_after=int(oldest + self.lock_seconds - now) + 1)
        r = self._row(username)
        if r is not None and r[7] and r[7] > now:
            return SignIn("locked", user=self._user(r), retry_after=int(r[7] - now) + 1)
        ok = _verify(r[10] if r is not None and r[10] else _dummy(), password) and r is not None and bool(r[10])
        if not ok or r is None or r[5]:
            self._fail(username, client, r, now)
            again = self._row(username)
            if again is not None and again[7] and again[7] > now:
                return SignIn("locked", user=self._user(again), retry_after=int(again[7] - now) + 1)
            return SignIn("failed", user=self._user(r) if r is not None else None)
        if _hasher.check_needs_rehash(r[10]):
            self._x("UPDATE staff_user SET hash = ? WHERE username = ?", (_hasher.hash(password), username))
        self._x("UPDATE staff_user SET failures = 0, first_failure = NULL, locked_until = NULL WHERE username = ?",
                (username,))
        return self._open(self._user(r), now, "password")

    def _fail(self, username: str, client: str | None, r: tuple[Any, ...] | None, now: float) -> None:
        self._x("INSERT INTO signin_failure(time, username, client) VALUES (?,?,?)", (now, username[:64], client))
        self._x("DELETE FROM signin_failure WHERE time < ?", (now - 86400,))
        if r is None:
            return
        failures, first = r[11], r[12]
        if first is None or first < now - self.lock_seconds:
            failures, first = 0, now
        failures += 1
        locked = now + self.lock_seconds if failures >= self.max_failures else None
        self._x("UPDATE staff_user SET failures = ?, first_failure = ?, locked_until = ? WHERE username = ?",
                (0 if locked else failures, None if locked else first, locked, username))

    def sign_in_sso(self, username: str) -> SignIn:
        """Open a session for a user the OpenID Connect provider vouched for (an enabled, known account)."""
        r = self._row(username)
        if r is None or r[5]:
            return SignIn("failed", user=self._user(r) if r else None)
        return self._open(self._user(r), time.time(), "oidc")

    def _open(self, user: StaffUser, now: float, how: str) -> SignIn:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        self._x("INSERT INTO staff_session(token_hash, username, created, last_seen, csrf, how) VALUES (?,?,?,?,?,?)",
                (_digest(token), user.username, now, now, csrf, how))
        self._x("DELETE FROM staff_session WHERE last_seen < ?", (now - 30 * 86400,))
        return SignIn("ok", user=user, token=token, session=Session(_digest(token), user, now, now, csrf))

    # -- sessions ---------------------------------------------------------------------------

    def session(self, token: str | None, *, touch: bool = True) -> tuple[Session | None, str | None]:
        """The live session of a cookie's token, or ``(None, why)``: ``none``, ``expired`` (idle or absolute
        timeout: ended now), ``ended`` (signed out, disabled, reset)."""
        if not token:
            return None, "none"
        digest = _digest(token)
        rows = self._x("SELECT s.created, s.last_seen, s.csrf, s.ended, " + ", ".join(
            f"u.{c.strip()}" for c in _USER_COLUMNS.split(",")) +
            " FROM staff_session s JOIN staff_user u ON u.username = s.username WHERE s.token_hash = ?", (digest,))
        if not rows:
            return None, "none"
        created, last_seen, csrf, ended, *u = rows[0]
        if ended is not None:
            return None, "ended"
        user = self._user(tuple(u))
        now = time.time()
        if user.disabled:
            return None, "ended"
        if now - last_seen > self.idle or now - created > self.absolute:
            self._x("UPDATE staff_session SET ended = ?, how = 'expired' WHERE token_hash = ?", (now, digest))
            return None, "expired"
        if touch:
            self._x("UPDATE staff_session SET last_seen = ? WHERE token_hash = ?", (now, digest))
        return Session(digest, user, created, now if touch else last_seen, csrf), None

    def end(self, token_hash: str, how: str = "signout") -> None:
        self._x("UPDATE staff_session SET ended = ?, how = ? WHERE token_hash = ? AND ended IS NULL",
                (time.time(), how, token_hash))

    def age_session(self, token: str, seconds: float) -> None:
        """Move a session's times ``seconds`` into the past (tests of the timeouts)."""
        self._x("UPDATE staff_session SET created = created - ?, last_seen = last_seen - ? WHERE token_hash = ?",
                (seconds, seconds, _digest(token)))

    # -- single sign-on state -----------------------------------------------------------------

    def put_oidc_state(self, state: str, nonce: str, verifier: str, next_url: str | None) -> None:
        now = time.time()
        self._x("DELETE FROM oidc_state WHERE created < ?", (now - 600,))
        self._x("INSERT INTO oidc_state(state, nonce, verifier, next, created) VALUES (?,?,?,?,?)",
                (state, nonce, verifier, next_url, now))

    def take_oidc_state(self, state: str) -> tuple[str, str, str | None] | None:
        """The nonce, PKCE verifier and target of a sign-in started within 10 minutes (used once)."""
        rows = self._x("SELECT nonce, verifier, next, created FROM oidc_state WHERE state = ?", (state,))
        self._x("DELETE FROM oidc_state WHERE state = ?", (state,))
        if not rows or rows[0][3] < time.time() - 600:
            return None
        return rows[0][0], rows[0][1], rows[0][2]


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def iso(ts: float | None) -> str | None:
    """A stored epoch time as ISO 8601 Beijing time (for lists)."""
    return times.format_instant(ts) if ts else None

