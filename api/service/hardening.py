"""Security headers on every answer, and rate limits on the public routes.

:class:`SecurityHeadersMiddleware` adds, to every response: a Content-Security-Policy (the pages load
nothing from elsewhere: no script, styles only inline, images only from the service itself; the
interactive API docs at ``/docs`` and ``/redoc`` run the bundles this service serves), ``X-Frame-Options:
DENY`` and ``frame-ancestors 'none'`` (no page of the service inside another site's frame),
``Referrer-Policy: no-referrer`` (a lookup URL holding a trace code is not sent on), ``X-Content-Type-Options:
nosniff`` and a ``Permissions-Policy`` that switches off camera, microphone and location; and
``Strict-Transport-Security`` when the request came in over TLS (directly, or through a proxy that says so in
``X-Forwarded-Proto`` and that ``foodtrace serve`` trusts: see the README's operations section).

:class:`RateLimitMiddleware` limits the public routes (QR lookups, QR images) per client address with a token
bucket: ``FOODTRACE_PUBLIC_RATE`` requests a minute on average, bursts of ``FOODTRACE_PUBLIC_BURST``; over it,
429 with ``Retry-After`` (problem+json). Staff routes need a key and are not limited here. Each worker
process keeps its own buckets (a client may get up to N times the rate from N workers); at most
:data:`MAX_CLIENTS` addresses are remembered (the least recently seen are forgotten), so the memory stays
flat whatever the number of clients. 0 switches the limit off (a load generator on one address).

>>> b = TokenBuckets(rate_per_minute=60, burst=2, max_clients=10)
>>> [b.take("a", now=0.0) for _ in range(3)], b.take("a", now=1.0), b.take("b", now=1.0)
([0.0, 0.0, 1.0], 0.0, 0.0)
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import time
from collections import OrderedDict
from typing import Any

import orjson

__all__ = ["SecurityHeadersMiddleware", "RateLimitMiddleware", "TokenBuckets", "PUBLIC_PREFIXES", "MAX_CLIENTS",
           "CSP", "CONSOLE_CSP", "inline_scripts_csp"]

#: the public routes that are rate-limited (no key needed)
PUBLIC_PREFIXES = ("/01/", "/t/", "/qr/")
#: client addresses remembered per worker
MAX_CLIENTS = 50_000

#: the pages' policy: nothing from elsewhere, no script, inline styles, images of this service
CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
#: the staff console's pages: the same, plus its own scripts (htmx and console.js, served by us) and their
#: requests to this service
CONSOLE_CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_CONSOLE = "/console"
#: the interactive docs (Swagger UI and ReDoc, their bundles served by us; their pages start them inline)
_DOCS_CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
             "img-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; frame-ancestors 'none'")
_DOCS = ("/docs", "/redoc")
_COMMON = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
           (b"cross-origin-opener-policy", b"same-origin")]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeadersMiddleware:
    """Pure ASGI middleware adding the security headers to every HTTP response."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        csp = (_DOCS_CSP if path.startswith(_DOCS) else CONSOLE_CSP if path.startswith(_CONSOLE) else CSP).encode()
        tls = scope.get("scheme") == "https"

        async def _send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _COMMON if k not in have]
                if b"content-security-policy" not in have:
                    extra.append((b"content-security-policy", csp))
                if tls:
                    extra.append(_HSTS)
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, _send)


_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def inline_scripts_csp(html: str) -> str:
    """The policy of a self-contained page whose scripts are written inside it (the trace graph): only those
    scripts run, each allowed by its SHA-256 (a script injected into the page would not match), nothing is
    loaded from elsewhere.

    >>> inline_scripts_csp("<p>x</p><script>var a = 1;</script>").split("; ")[1]
    "script-src 'sha256-+dZ6udsWxNVoGfScAq7t5IIF5UJb4F6RhjbN6oe1p4w='"
    """
    hashes = sorted({"'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
                     for m in _SCRIPT.findall(html)})
    return (f"default-src 'none'; script-src {' '.join(hashes) or chr(39) + 'none' + chr(39)}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; base-uri 'none'; "
            "form-action 'self'; "
            "frame-ancestors 'none'")


class TokenBuckets:
    """Token buckets per key: ``rate_per_minute`` on average, bursts of ``burst``, the least recently seen
    keys forgotten beyond ``max_clients``. :meth:`take` answers 0 (allowed) or the seconds to wait."""

    def __init__(self, rate_per_minute: float, burst: int, max_clients: int = MAX_CLIENTS):
        self.rate = rate_per_minute / 60.0
        self.burst = max(1, burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate if self.rate > 0 else math.inf
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimitMiddleware:
    """Pure ASGI middleware limiting the public routes per client address (see the module's text)."""

    def __init__(self, app: Any, rate_per_minute: float, burst: int):
        self.app = app
        self.buckets = TokenBuckets(rate_per_minute, burst) if rate_per_minute > 0 else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.buckets is None or scope["type"] != "http" or not scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.buckets.take(client[0] if client else "-")
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry = str(max(1, math.ceil(wait)) if math.isfinite(wait) else 3600)
        body = orjson.dumps({"type": "about:blank", "title": "Too Many Requests", "status": 429,
                             "detail": f"too many lookups from this address: try again in {retry} s "
                                       "(查询过于频繁，请稍后再试)", "instance": scope["path"]})
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", b"application/problem+json"), (b"retry-after", retry.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
