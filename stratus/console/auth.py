"""Login, the session cookie, CSRF and roles: what every console page stands on.

- The cookie holds only a random session id (HttpOnly, SameSite=Strict,
  Secure when the console serves TLS).
- Every request of a logged-in page checks the session's identity token
  again (a fast, read-only lookup), so a changed key, a deleted user or a
  deleted S3 access key ends the session at once, and the role shown is
  the role the user has now.
- Every request that changes something (any method but GET/HEAD) must carry
  the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``)
  and, when the browser sends one, a same-origin ``Origin``; the login form
  uses a double-submit cookie, since there is no session yet.
- :func:`page` wraps a handler: login required, and a minimum role; a page
  that refuses answers 403 whatever the buttons showed.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from stratus.authlimit import FailureLimiter, retry_after_header
from stratus.identity import IdentityError, IdentityStore
from stratus.identity.errors import NotFound
from stratus.identity.names import parse_user_spec
from stratus.identity.records import Principal

from .sessions import Session, SessionStore

COOKIE = "stratus_console"
LOGIN_COOKIE = "stratus_console_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset(("GET", "HEAD"))
ROLES = ("reader", "member", "admin")  # each may do what the ones before it may


IDENTITY: web.AppKey[IdentityStore] = web.AppKey("console_identity", IdentityStore)
SESSIONS: web.AppKey[SessionStore] = web.AppKey("console_sessions", SessionStore)
LIMITER: web.AppKey[FailureLimiter] = web.AppKey("console_limiter", FailureLimiter)
SETTINGS: web.AppKey[Any] = web.AppKey("console_settings", object)


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page: the session and the principal (role read just now)."""

    session: Session
    principal: Principal

    @property
    def role(self) -> str:
        roles = self.principal.roles
        return next((r for r in reversed(ROLES) if r in roles), "")

    def may(self, role: str) -> bool:
        """At least ``role``: reader < member < admin."""
        return self.role in ROLES and ROLES.index(self.role) >= ROLES.index(role)

    @property
    def csrf(self) -> str:
        return self.session.csrf


VIEWER: web.RequestKey[Viewer] = web.RequestKey("console_viewer", Viewer)


def viewer(request: web.Request) -> Viewer:
    """The logged-in viewer of a request that went through :func:`page`."""
    return request[VIEWER]


class Forbidden(web.HTTPForbidden):
    """Refused: the page shows ``reason`` (no detail of what exists)."""

    def __init__(self, reason: str) -> None:
        super().__init__(text=reason)
        self.reason_text = reason


def page(role: str = "reader") -> Callable[[Handler], Handler]:
    """Login required, at least ``role``, CSRF checked on changes: wrap every console handler."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            who = current_viewer(request)
            if who is None:
                if request.method in SAFE_METHODS and not request.headers.get("HX-Request"):
                    dest = quote(request.path_qs, safe="")
                    raise web.HTTPSeeOther(f"/login?next={dest}")
                raise web.HTTPUnauthorized(text="log in first")
            if request.method not in SAFE_METHODS:
                await check_csrf(request, who.session.csrf)
            if not who.may(role):
                raise Forbidden(f"your role ({who.role or 'none'}) does not allow this")
            request[VIEWER] = who
            return await handler(request)

        return wrapped

    return wrap


def current_viewer(request: web.Request) -> Viewer | None:
    """The session of the request's cookie, if it is still good (token, user, S3 key)."""
    sessions = request.app[SESSIONS]
    session = sessions.get(request.cookies.get(COOKIE))
    if session is None:
        return None
    store = request.app[IDENTITY]
    principal = store.authenticate_token(session.token)
    if principal is not None and session.access_key is not None:
        try:
            store.lookup_credential(session.access_key)
        except NotFound:
            principal = None
    if principal is None:
        sessions.drop(session.sid)
        return None
    return Viewer(session, principal)


def same_origin(request: web.Request) -> bool:
    """False when the browser says the request comes from another site (or an opaque origin)."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.host and parts.scheme == request.scheme


async def check_csrf(request: web.Request, expected: str) -> None:
    """403 unless the request carries ``expected`` and does not come from another origin."""
    if not same_origin(request):
        raise Forbidden("cross-site request refused")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("missing or wrong CSRF token: reload the page and try again")


# -- logging in and out ------------------------------------------------------------------


class LoginFailed(Exception):
    """Wrong name, key or secret (never says which), or too many failures."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def login_csrf(request: web.Request) -> str:
    """The login form's token: the cookie's, or a new one (the caller sets the cookie)."""
    current = request.cookies.get(LOGIN_COOKIE, "")
    return current if 20 <= len(current) <= 64 else secrets.token_urlsafe(24)


async def log_in(request: web.Request, name: str, secret: str) -> Session:
    """A new session for ``project:user`` + key, or S3 access key + secret."""
    limiter = request.app[LIMITER]
    wait = limiter.charge(request.remote)
    if wait:
        raise LoginFailed("too many failed logins: wait a little", wait)
    store = request.app[IDENTITY]
    lifetime = request.app[SETTINGS].session_lifetime
    access: str | None = None
    try:
        if ":" in name:
            project, user = parse_user_spec(name)
            result = await asyncio.to_thread(store.login, project, user, secret, lifetime)
        else:
            result = await asyncio.to_thread(_s3_login, store, name, secret, lifetime)
            access = name
    except IdentityError:
        result = None
    if result is None:
        raise LoginFailed("wrong user name, key or secret")
    limiter.refund(request.remote)
    token, principal = result
    assert principal.expires is not None
    return request.app[SESSIONS].create(
        token, principal.project, principal.user, principal.expires, access_key=access
    )


def _s3_login(
    store: IdentityStore, access: str, secret: str, lifetime: float
) -> tuple[str, Principal] | None:
    try:
        stored, principal = store.lookup_credential(access)
    except NotFound:
        return None
    if not hmac.compare_digest(stored.encode(), secret.encode()):
        return None
    return store.issue_token(principal.project, principal.user, lifetime)


def log_out(request: web.Request, session: Session) -> None:
    request.app[SESSIONS].drop(session.sid)
    request.app[IDENTITY].revoke_token(session.token)


def set_session_cookie(request: web.Request, resp: web.StreamResponse, session: Session) -> None:
    resp.set_cookie(
        COOKIE,
        session.sid,
        max_age=max(1, int(session.expires - request.app[SESSIONS].clock())),
        httponly=True,
        samesite="Strict",
        secure=request.app[SETTINGS].scheme == "https",
        path="/",
    )


def login_retry_header(exc: LoginFailed) -> dict[str, str]:
    return {"Retry-After": retry_after_header(exc.retry_after)} if exc.retry_after else {}
