"""Single sign-on through a real (local) OpenID Connect provider over HTTP.

The provider is a small authorization server in this process (discovery document, JWKS, token endpoint with PKCE)
that signs its ID tokens with a fresh RSA key (Authlib's JOSE); the console runs as ``foodtrace serve`` with
``FOODTRACE_OIDC_*`` pointing at it. No bureau provider is reachable here: this one stands in for it and speaks
the same protocol (authorization code flow, S256 PKCE, nonce), so the console's whole path is exercised:
redirect, state kept, code exchanged, signature, issuer, audience, expiry and nonce checked, session opened for
the staff account the token names (its role and district the account's), and every refusal audited.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from api.console.accounts import Accounts
from api.service.servicedb import ServiceDB

from ...conftest import missing_tool
from ..service.conftest import LiveServer
from .conftest import build

CLIENT_ID = "foodtrace-console"
SECRET = "s3cret-of-the-console"


class Provider:
    """A minimal OpenID Connect provider: what the next token says is set by the test (``claims``, ``sign_with``)."""

    def __init__(self) -> None:
        from joserfc.jwk import RSAKey

        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
        self.codes: dict[str, dict[str, Any]] = {}
        self.overrides: dict[str, Any] = {}
        self.sign_with = self.key
        self.token_requests = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path == "/.well-known/openid-configuration":
                    self._json(200, provider.metadata())
                elif self.path == "/jwks":
                    self._json(200, {"keys": [provider.key.as_dict(private=False)]})
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                if self.path != "/token":
                    return self._json(404, {"error": "not_found"})
                provider.token_requests += 1
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                        .items()}
                auth = self.headers.get("Authorization", "")
                basic = base64.b64decode(auth.removeprefix("Basic ")).decode() if auth.startswith("Basic ") else ""
                client_id, _, secret = basic.partition(":")
                if (client_id or form.get("client_id")) != CLIENT_ID or (secret or form.get("client_secret")) != SECRET:
                    return self._json(401, {"error": "invalid_client"})
                grant = provider.codes.pop(form.get("code", ""), None)
                if grant is None:
                    return self._json(400, {"error": "invalid_grant"})
                challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode())
                                                     .digest()).rstrip(b"=").decode()
                if challenge != grant["code_challenge"]:
                    return self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                self._json(200, {"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                                 "id_token": provider.id_token(grant)})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def metadata(self) -> dict[str, Any]:
        return {"issuer": self.url, "authorization_endpoint": self.url + "/authorize",
                "token_endpoint": self.url + "/token", "jwks_uri": self.url + "/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"]}

    def authorize(self, url: str, username: str) -> str:
        """What the provider does when the user signs in there: a code for the request the console made."""
        q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert q["client_id"] == CLIENT_ID and q["response_type"] == "code" and q["code_challenge_method"] == "S256"
        assert "openid" in q["scope"].split()
        code = f"code-{len(self.codes)}-{time.monotonic_ns()}"
        self.codes[code] = {**q, "username": username}
        return code

    def id_token(self, grant: dict[str, Any]) -> str:
        from joserfc import jwt

        now = int(time.time())
        claims = {"iss": self.url, "sub": "sub-" + grant["username"], "aud": CLIENT_ID, "iat": now,
                  "exp": now + 300, "nonce": grant["nonce"], "preferred_username": grant["username"]}
        claims.update(self.overrides)
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.sign_with)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def sso(tmp_path_factory):
    try:
        import authlib  # noqa: F401 - a dependency of the console (pyproject)
    except ImportError:
        missing_tool("authlib is not installed (a dependency of the console)")
    tmp = tmp_path_factory.mktemp("sso")
    provider = Provider()
    build(str(tmp / "store.db"))
    service_db = str(tmp / "service.db")
    acc = Accounts(service_db)
    acc.create_user("wang.li", role="district", name="王丽", district="urn:foodtrace:region:320602", password=None,
                    sso=True)
    acc.create_user("gone", role="investigator", name="离职", password=None, sso=True)
    acc.disable("gone")
    acc.close()
    server = LiveServer(str(tmp / "store.db"), service_db, env={
        "FOODTRACE_OIDC_ISSUER": provider.url, "FOODTRACE_OIDC_CLIENT_ID": CLIENT_ID,
        "FOODTRACE_OIDC_CLIENT_SECRET": SECRET})
    try:
        yield provider, server
    finally:
        server.stop()
        provider.stop()


def _start(server: LiveServer, client: httpx.Client) -> str:
    """Open the sign-in page, follow its single sign-on link: the provider's authorization URL."""
    page = client.get("/console/login")
    assert page.status_code == 200 and 'id="sso"' in page.text
    r = client.get("/console/sso", params={"next": "/console/grades"})
    assert r.status_code == 303
    return r.headers["location"]


def _finish(server: LiveServer, client: httpx.Client, provider: Provider, url: str, username: str) -> httpx.Response:
    state = parse_qs(urlsplit(url).query)["state"][0]
    return client.get("/console/sso/callback", params={"code": provider.authorize(url, username), "state": state})


def _audit(server: LiveServer) -> list[dict[str, Any]]:
    time.sleep(0.3)  # the audit entry is written once the answer is sent
    db = ServiceDB(server.service_db)
    try:
        return [dataclasses.asdict(e) for e in db.audit_entries() if (e.path or "").startswith("/console/sso")]
    finally:
        db.close()


def test_sso_signs_in_the_staff_account_the_provider_names(sso):
    provider, server = sso
    with httpx.Client(base_url=server.url, timeout=60) as c:
        url = _start(server, c)
        assert url.startswith(provider.url + "/authorize?")
        r = _finish(server, c, provider, url, "wang.li")
        assert r.status_code == 303 and r.headers["location"] == "/console/grades"
        page = c.get("/console/")
        assert page.status_code == 200 and "王丽" in page.text
        # the account's role and district, not the provider's: a district officer
        assert c.get("/console/operators/urn:foodtrace:operator:ha-shop").status_code == 403
    entries = _audit(server)
    assert any(e["event"] == "signin" and "wang.li" in json.dumps(e, ensure_ascii=False) for e in entries), entries


@pytest.mark.parametrize("change, why", [
    ({"overrides": {"nonce": "not-the-one-sent"}}, "nonce"),
    ({"overrides": {"aud": "another-app"}}, "audience"),
    ({"overrides": {"iss": "http://127.0.0.1:1/evil"}}, "issuer"),
    ({"overrides": {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}}, "expired"),
    ({"sign_with": "other_key"}, "signature"),
])
def test_sso_refuses_a_token_that_does_not_check(sso, change, why):
    provider, server = sso
    provider.overrides = change.get("overrides", {})
    provider.sign_with = getattr(provider, change.get("sign_with", "key"))
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            r = _finish(server, c, provider, _start(server, c), "wang.li")
            assert r.status_code == 401 and "单点登录失败" in r.text, why
            assert c.get("/console/").status_code in (303, 307) or "/console/login" in c.get("/console/").url.path
    finally:
        provider.overrides, provider.sign_with = {}, provider.key


def test_sso_refuses_unknown_and_disabled_accounts_and_a_replayed_state(sso):
    provider, server = sso
    with httpx.Client(base_url=server.url, timeout=60) as c:
        for who in ("nobody", "gone"):
            r = _finish(server, c, provider, _start(server, c), who)
            assert r.status_code == 403 and "未在本系统开通" in r.text, who
        url = _start(server, c)
        assert _finish(server, c, provider, url, "wang.li").status_code == 303
        # the same state again (a replayed callback): refused, the state was used up
        again = _finish(server, c, provider, url, "wang.li")
        assert again.status_code == 401 and "已过期" in again.text
    failed = [e for e in _audit(server) if e["event"] == "signin.failed"]
    assert len(failed) >= 3
