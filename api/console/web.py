"""What every console page shares: the signed-in user (a FastAPI dependency), CSRF, languages, rendering, errors.

* :func:`staff` is the console's counterpart of :func:`api.service.security.require`: the session cookie instead
  of an API key, then the same permission table (:func:`api.service.security.authorize`) and the same audit entry
  (the user as a principal ``user:NAME``, :func:`api.console.accounts.principal`). No session (or an expired one)
  sends a browser to the sign-in page (an htmx request gets 401 with ``HX-Redirect``); a state-changing request
  (POST) must carry the session's CSRF token, as the form field ``csrf`` or the ``X-CSRF-Token`` header
  (htmx sends it from the ``hx-headers`` of the page), else 403.
* Pages are Chinese first; ``?lang=en`` switches to English (remembered in a cookie), ``?lang=zh`` back.
  Templates pick a text with ``tr("中文", "English")``.
* An error on a console path is an HTML page (status and reason), not problem+json.
* :class:`graph.store.Memo` (re-exported here) keeps the answers of heavy read-only computations (the early
  warnings, case lists) per worker process until anything is written to the store.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from graph.store import Memo
from ontology.errors import FoodtraceError

from ..service.pages import TIME_FILTERS
from ..service.security import audit_state, authorize
from ..service.servicedb import ApiKey
from .accounts import Accounts, Session, StaffUser, principal

__all__ = ["PREFIX", "COOKIE", "Staff", "SignInRequired", "staff", "language", "render", "install_errors", "Memo",
           "NAV", "safe_next", "client_of", "set_session_cookie"]


#: where the console lives
PREFIX = "/console"
#: the session cookie (HttpOnly, SameSite=Lax; Secure over https)
COOKIE = "ft_session"
LANG_COOKIE = "ft_lang"

#: the navigation: (path, Chinese, English, permission needed)
NAV: tuple[tuple[str, str, str, str | None], ...] = (
    ("/console/", "查询", "Search", None),
    ("/console/trace", "追溯", "Trace", "trace"),
    ("/console/outbreak", "暴发溯源", "Outbreak", "outbreak"),
    ("/console/grades", "风险分级", "Grades", "grades.read"),
    ("/console/warnings", "风险预警", "Warnings", "warnings"),
    ("/console/disposal", "核查处置", "Disposal", "disposal.read"),
    ("/console/complaints", "投诉举报", "Complaints", "disposal.read"),
    ("/console/indicators", "示范城市指标", "Indicators", "indicators"),
    ("/console/schools", "学校食品安全", "Schools", "warnings"),
    ("/console/kitchens", "明厨亮灶", "Kitchens", "indicators"),
    ("/console/events", "重大活动", "Major events", "profile"),
    ("/console/banquets", "农村集体聚餐", "Banquets", "disposal.read"),
    ("/console/report", "风险会商", "Consultation", "report"),
    ("/console/loads", "数据导入", "Loads", "capture"),
)


@dataclass(frozen=True)
class Staff:
    """The signed-in user of a request: the account, its principal (for permissions and audit) and the session."""

    user: StaffUser
    key: ApiKey
    session: Session

    def can(self, permission: str) -> bool:
        try:
            authorize(self.key, permission)
        except StarletteHTTPException:
            return False
        return True

    @property
    def district(self) -> str | None:
        """A district officer's district (None: every district)."""
        return self.key.district if self.key.role == "district" else None


class SignInRequired(Exception):
    """No live session: the browser goes to the sign-in page (``why``: none, expired, ended)."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def safe_next(target: str | None) -> str:
    """A console path to return to after signing in (anything else: the console's first page).

    >>> safe_next("/console/lots/x?y=1"), safe_next("https://evil.example/"), safe_next("//evil.example")
    ('/console/lots/x?y=1', '/console/', '/console/')
    """
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https",
                        path=PREFIX)


def staff(permission: str | None = None, *, password_change: bool = False) -> Callable[..., Any]:
    """A FastAPI dependency: the signed-in :class:`Staff`, whose role must hold ``permission`` (None: any role).

    A user who must change the password is sent to the password page first (``password_change``: this is it).
    """

    async def dependency(request: Request) -> Staff:
        state = audit_state(request)
        accounts: Accounts = request.app.state.accounts
        session, why = accounts.session(request.cookies.get(COOKIE))
        if session is None:
            state["event"] = "session.expired" if why == "expired" else "session.none"
            raise SignInRequired(why or "none")
        key = principal(session.user)
        state["key"] = key
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = request.headers.get("x-csrf-token")
            if sent is None and request.headers.get("content-type", "").startswith(
                    ("application/x-www-form-urlencoded", "multipart/form-data")):
                form = await request.form()
                value = form.get("csrf")
                sent = value if isinstance(value, str) else None
            if not sent or not hmac.compare_digest(sent, session.csrf):
                state["event"] = "csrf.refused"
                raise StarletteHTTPException(403, "the form is stale or was not sent by this console (CSRF token "
                                                  "missing or wrong): reload the page and try again")
        who = Staff(session.user, key, session)
        request.state.staff = who
        if not password_change and session.password_expired():
            raise _Redirect(PREFIX + "/password")
        if permission is not None:
            authorize(key, permission)
        return who

    dependency.__name__ = f"staff_{(permission or 'any').replace('.', '_')}"
    return dependency


class _Redirect(Exception):
    def __init__(self, to: str):
        super().__init__(to)
        self.to = to


def language(request: Request) -> str:
    """``zh`` (the default) or ``en``: ``?lang=`` first, then the cookie the switch left."""
    lang = (request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh").lower()
    return lang if lang in ("zh", "en") else "zh"


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=PackageLoader("api.console", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["q"] = lambda v: quote(str(v or ""), safe="")
    env.filters.update(TIME_FILTERS)
    return env


def _lang_url(request: Request, lang: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return request.url.path + "?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params)


def render(request: Request, template: str, who: Staff | None, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A console page in the request's language, with the navigation ``who`` may use."""
    lang = language(request)

    def tr(zh: Any, en: Any = None) -> Any:
        return en if lang == "en" and en is not None else zh

    def label(scheme: str, code: Any) -> Any:
        if code is None or code == "":
            return ""
        found = _labels(scheme).get(code)
        return (found[1] if lang == "en" else found[0]) if found else code

    nav = [(path, tr(zh, en)) for path, zh, en, perm in NAV if who is not None and (perm is None or who.can(perm))]
    body = _env().get_template(template).render(
        request=request, lang=lang, tr=tr, who=who, nav=nav, path=request.url.path, label=label,
        region=lambda code: label("region", code), role_zh=lambda role: _ROLES_ZH.get(role, role),
        csrf=who.session.csrf if who is not None else context.pop("login_csrf", ""),
        other_lang_url=_lang_url(request, "zh" if lang == "en" else "en"), **context)
    response = HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", path=PREFIX, max_age=365 * 86400)
    return response


_ROLES_ZH = {"investigator": "稽查", "analyst": "风险分析", "credit": "信用监管", "district": "区县局", "admin": "管理员"}


@lru_cache(maxsize=None)
def _labels(scheme: str) -> dict[str, tuple[str, str]]:
    from ontology.vocab import labels

    return labels(scheme)


_TITLES = {401: ("需要登录", "Please sign in"), 403: ("无权访问", "Not allowed"), 404: ("未找到", "Not found"),
           409: ("与现有记录冲突", "Conflict"), 413: ("文件过大", "Too large"), 422: ("输入有误", "Invalid input"),
           429: ("请求过于频繁", "Too many requests")}


def _error_page(request: Request, status: int, detail: str | None) -> Response:
    zh, en = _TITLES.get(status, ("服务出错", "Something went wrong") if status >= 500 else ("请求有误", "Bad request"))
    who = getattr(request.state, "staff", None)
    return render(request, "error.html", who, status=status, heading_zh=zh, heading_en=en,
                  detail=detail if status < 500 else None)


def install_errors(app: FastAPI) -> None:
    """Errors on console paths become console pages; elsewhere the service's handlers answer as before."""
    previous = dict(app.exception_handlers)

    def wrap(cls: type, status_of: Callable[[Any], int], detail_of: Callable[[Any], str | None]) -> None:
        original = previous.get(cls)

        async def handler(request: Request, exc: Any) -> Response:
            if request.url.path.startswith(PREFIX + "/") or request.url.path == PREFIX:
                return _error_page(request, status_of(exc), detail_of(exc))
            return await original(request, exc)  # type: ignore[misc]

        app.add_exception_handler(cls, handler)

    from ..service.problems import status_of as domain_status

    wrap(StarletteHTTPException, lambda e: e.status_code, lambda e: e.detail if isinstance(e.detail, str) else None)
    wrap(RequestValidationError, lambda e: 422,
         lambda e: "; ".join(f"{'.'.join(str(p) for p in x.get('loc', ()))}: {x.get('msg', '')}" for x in e.errors()))
    wrap(FoodtraceError, domain_status, str)
    wrap(Exception, lambda e: 500, lambda e: None)

    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        target = PREFIX + "/login?next=" + quote(request.url.path + ("?" + request.url.query if request.url.query
                                                                     else ""), safe="")
        if exc.why == "expired":
            target += "&expired=1"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        if request.method in ("GET", "HEAD"):
            return RedirectResponse(target, status_code=303)
        return _error_page(request, 401, "your session has ended: sign in again / 会话已结束，请重新登录")

    async def redirect(request: Request, exc: _Redirect) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": exc.to})
        return RedirectResponse(exc.to, status_code=303)

    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(_Redirect, redirect)
