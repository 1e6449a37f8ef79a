"""Signing in and out of the console: the password form, password changes, optional OpenID Connect single sign-on.

Every attempt is audited (``event``: signin, signin.failed, signin.locked, signin.throttled, signout,
csrf.refused) with the user name tried; a refused attempt says only that the name or password is wrong (never
which). The sign-in form carries its own CSRF token (a random value in a cookie and in the form, which must
match), since there is no session yet.

Single sign-on (optional): with ``FOODTRACE_OIDC_ISSUER``, ``_CLIENT_ID`` and ``_CLIENT_SECRET`` set, the
sign-in page offers the bureau's provider. ``/console/sso`` sends the browser there (authorization code flow with
PKCE, a state and a nonce kept in the service database for 10 minutes); ``/console/sso/callback`` exchanges the
code, checks the ID token's signature (the provider's JWKS), issuer, audience, expiry and nonce (Authlib), and
opens a session for the staff account named by the ``FOODTRACE_OIDC_USERNAME_CLAIM`` claim, which must exist
and be enabled (its role and district are the account's, never the provider's).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ontology.errors import FoodtraceError

from ..service.security import audit_entities, audit_state
from .accounts import Accounts, password_problems, principal
from .web import COOKIE, PREFIX, Staff, client_of, render, safe_next, set_session_cookie, staff

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

_LOGIN_CSRF = "ft_login_csrf"


def _accounts(request: Request) -> Accounts:
    return request.app.state.accounts


def _sso_enabled(request: Request) -> bool:
    s = request.app.state.settings
    return bool(s.oidc_issuer and s.oidc_client_id)


def _login_page(request: Request, *, status: int = 200, message: str | None = None, username: str = "",
                next_url: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    expired = request.query_params.get("expired") == "1"
    response = render(request, "login.html", None, status=status, login_csrf=token, message=message,
                      username=username, next_url=safe_next(next_url or request.query_params.get("next")),
                      expired=expired, sso=_sso_enabled(request))
    response.set_cookie(_LOGIN_CSRF, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        path=PREFIX)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    session, _why = _accounts(request).session(request.cookies.get(COOKIE), touch=False)
    if session is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request)


@router.post("/login")
async def login(request: Request, username: str = Form("", max_length=200), password: str = Form("", max_length=500),
                csrf: str = Form(""), next: str = Form("")) -> Response:  # noqa: A002
    state = audit_state(request)
    username = username.strip()
    audit_entities(request, f"user:{username}" if username else None)
    cookie = request.cookies.get(_LOGIN_CSRF) or ""
    if not cookie or not csrf or not hmac.compare_digest(cookie, csrf):
        state["event"] = "csrf.refused"
        return _login_page(request, status=403, username=username, next_url=next,
                           message="登录表单已过期，请重试 / The form expired: please try again")
    result = await anyio.to_thread.run_sync(lambda: _accounts(request).sign_in(username, password,
                                                                                client=client_of(request)))
    if result.outcome == "ok":
        state["event"] = "signin"
        state["key"] = principal(result.user)
        target = PREFIX + "/password" if result.session.password_expired() else safe_next(next)
        response = RedirectResponse(target, status_code=303)
        set_session_cookie(request, response, result.token)
        response.delete_cookie(_LOGIN_CSRF, path=PREFIX)
        return response
    if result.outcome in ("locked", "throttled"):
        state["event"] = f"signin.{result.outcome}"
        minutes = max(1, (result.retry_after or 60) // 60)
        text = (f"登录失败次数过多，账号已临时锁定，请 {minutes} 分钟后再试 / Too many failed sign-ins: the account is "
                f"locked for {minutes} min" if result.outcome == "locked" else
                f"本机登录失败次数过多，请 {minutes} 分钟后再试 / Too many failed sign-ins from this address: try again "
                f"in {minutes} min")
        response = _login_page(request, status=429, message=text, username=username, next_url=next)
        response.headers["Retry-After"] = str(result.retry_after or 60)
        return response
    state["event"] = "signin.failed"
    return _login_page(request, status=401, username=username, next_url=next,
                       message="用户名或口令错误 / Wrong user name or password")


@router.post("/logout")
def logout(request: Request, who: Staff = Depends(staff(password_change=True))) -> Response:
    audit_state(request)["event"] = "signout"
    _accounts(request).end(who.session.token_hash, "signout")
    response = RedirectResponse(PREFIX + "/login", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("/password")
def password_form(request: Request, who: Staff = Depends(staff(password_change=True))) -> Response:
    return render(request, "password.html", who, problems=None, must=who.session.password_expired())


@router.post("/password")
def change_password(request: Request, current: str = Form("", max_length=500), new: str = Form("", max_length=500),
                    again: str = Form("", max_length=500),
                    who: Staff = Depends(staff(password_change=True))) -> Response:
    acc = _accounts(request)
    username = who.user.username
    problems: list[str] = []
    if not acc.check_password(username, current):
        problems.append("the current password is wrong / 原口令不正确")
    elif new != again:
        problems.append("the two new passwords differ / 两次输入的新口令不一致")
    else:
        try:
            acc.set_password(username, new, by_admin=False)
        except FoodtraceError:
            problems = password_problems(new, username, previous_hash=None) or ["not the same as the current "
                                                                                "password / 不得与原口令相同"]
    if problems:
        audit_state(request)["event"] = "password.refused"
        return render(request, "password.html", who, status=422, problems=problems,
                      must=who.session.password_expired())
    audit_state(request)["event"] = "password.changed"
    return RedirectResponse(PREFIX + "/", status_code=303)


# -- single sign-on --------------------------------------------------------------------------------------------


def _http(request: Request) -> Any:
    import httpx

    return httpx.AsyncClient(transport=getattr(request.app.state, "oidc_transport", None), timeout=10)


async def _metadata(request: Request) -> dict[str, Any]:
    cached = getattr(request.app.state, "oidc_metadata", None)
    if cached is not None:
        return cached
    issuer = request.app.state.settings.oidc_issuer.rstrip("/")
    async with _http(request) as http:
        r = await http.get(issuer + "/.well-known/openid-configuration")
        r.raise_for_status()
        meta = r.json()
        jwks = (await http.get(meta["jwks_uri"])).json()
    meta["_jwks"] = jwks
    request.app.state.oidc_metadata = meta
    return meta


def _client(request: Request, meta: dict[str, Any]) -> Any:
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    s = request.app.state.settings
    return AsyncOAuth2Client(client_id=s.oidc_client_id, client_secret=s.oidc_client_secret or None,
                             scope="openid profile email", redirect_uri=str(request.url_for("sso_callback")),
                             code_challenge_method="S256", token_endpoint=meta["token_endpoint"],
                             transport=getattr(request.app.state, "oidc_transport", None))


@router.get("/sso")
async def sso(request: Request) -> Response:
    if not _sso_enabled(request):
        raise StarletteHTTPException(404, "single sign-on is not configured")
    meta = await _metadata(request)
    state, nonce, verifier = (secrets.token_urlsafe(24) for _ in range(3))
    async with _client(request, meta) as client:
        url, _ = client.create_authorization_url(meta["authorization_endpoint"], state=state, nonce=nonce,
                                                 code_verifier=verifier)
    _accounts(request).put_oidc_state(state, nonce, verifier, safe_next(request.query_params.get("next")))
    return RedirectResponse(url, status_code=303)


#: signature algorithms accepted on an ID token (asymmetric only: the provider signs, the console verifies)
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


@router.get("/sso/callback", name="sso_callback")
async def sso_callback(request: Request, code: str = "", state: str = "") -> Response:
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    if not _sso_enabled(request):
        raise StarletteHTTPException(404, "single sign-on is not configured")
    audit = audit_state(request)
    kept = _accounts(request).take_oidc_state(state) if state else None
    if kept is None or not code:
        audit["event"] = "signin.failed"
        return _login_page(request, status=401, message="单点登录已过期，请重试 / Single sign-on expired: try again")
    nonce, verifier, next_url = kept
    settings = request.app.state.settings
    meta = await _metadata(request)
    try:
        async with _client(request, meta) as client:
            token = await client.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
        # the ID token of OpenID Connect Core 3.1.3.7: signed by a key of the provider's set, for this client,
        # from this issuer, not expired, naming a subject, with the nonce this sign-in sent
        decoded = jwt.decode(token["id_token"], KeySet.import_key_set(meta["_jwks"]), algorithms=ID_TOKEN_ALGORITHMS)
        jwt.JWTClaimsRegistry(iss={"essential": True, "value": meta.get("issuer")},
                              aud={"essential": True, "value": settings.oidc_client_id},
                              sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                              nonce={"essential": True, "value": nonce}).validate(decoded.claims)
        claims = decoded.claims
    except (JoseError, KeyError, ValueError, Exception) as e:  # noqa: B014 - any failure of the provider's answer
        audit["event"] = "signin.failed"
        return _login_page(request, status=401, message=f"单点登录失败 / Single sign-on failed ({type(e).__name__})")
    username = str(claims.get(settings.oidc_username_claim) or "")
    audit_entities(request, f"user:{username}" if username else None)
    result = _accounts(request).sign_in_sso(username)
    if result.outcome != "ok":
        audit["event"] = "signin.failed"
        return _login_page(request, status=403, message="该统一身份账号未在本系统开通 / This single sign-on account "
                                                        "has no staff account here")
    audit["event"] = "signin"
    audit["key"] = principal(result.user)
    response = RedirectResponse(safe_next(next_url), status_code=303)
    set_session_cookie(request, response, result.token)
    return response
