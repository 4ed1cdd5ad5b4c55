"""The console's aiohttp application: login, logout, static files, and the sections.

``make_app(cfg)`` builds it; :func:`serve` runs it until told to stop
(`python -m stratus.console`, started by `stratus up`). Every page answers
with a strict Content-Security-Policy (scripts and styles from the console
itself only, no inline script), ``no-store`` caching, and no framing.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from stratus import config
from stratus.authlimit import AuthLimits, FailureLimiter
from stratus.http import errors, requestid
from stratus.http import server as httpserver
from stratus.identity import IdentityStore, identity_dir
from stratus.metrics import ServiceMetrics

from . import auth
from .cloudapi import CONFIG
from .services import SERVICES, Endpoints, ServiceError, Services
from .sessions import SessionStore
from .templating import ENV, NAV, make_env, render

log = logging.getLogger("stratus.console")

STATIC = Path(__file__).parent / "static"
# Modules under stratus.console.views, each with setup(app): its routes and nav entries.
SECTIONS = ("objects", "volumes", "compute", "cluster")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
# Uploads stream through; this only bounds what aiohttp itself would buffer (forms).
CLIENT_MAX_SIZE = 1024 * 1024


def endpoints_from_config(cfg: config.Config) -> Endpoints:
    url = httpserver.base_url
    return Endpoints(
        proxy=url(cfg.proxy.host, cfg.proxy.port),
        s3=url(cfg.s3.host, cfg.s3.port, cfg.s3.scheme),
        s3_region=cfg.s3.region,
        volume=url(cfg.volume.host, cfg.volume.port),
        compute=url(cfg.compute.host, cfg.compute.port),
        image=url(cfg.image.host, cfg.image.port),
        network=url(cfg.network.host, cfg.network.port),
        nodes=tuple(
            url(cfg.storage.host, cfg.storage.base_port + i) for i in range(cfg.storage.nodes)
        ),
    )


def _answer(request: web.Request, exc: Exception) -> web.StreamResponse | None:
    """API errors and refusals as pages; a 401 or a redirect goes out as raised."""
    if isinstance(exc, auth.Forbidden):
        return _error_page(request, 403, exc.reason_text)
    if isinstance(exc, ServiceError):
        return _error_page(request, exc.status if exc.status >= 400 else 502, exc.message)
    if isinstance(exc, web.HTTPException) and exc.status >= 400 and exc.status != 401:
        return _error_page(request, exc.status, exc.text or exc.reason)
    return None


def _crash(request: web.Request) -> web.StreamResponse:
    return _error_page(request, 500, "Something went wrong; the error is logged.")


@web.middleware
async def _headers(request: web.Request, handler: auth.Handler) -> web.StreamResponse:
    """Security headers on every answer, error pages included."""
    resp = await handler(request)
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Not no-referrer: with it browsers send ``Origin: null`` on the console's own forms.
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    if not request.path.startswith("/static/"):
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def _error_page(request: web.Request, status: int, message: str) -> web.Response:
    if request.headers.get("HX-Request") or request.headers.get(auth.CSRF_HEADER):
        return web.Response(status=status, text=message)
    return render(request, "error.html", status=status, status_code=status, message=message)


async def _healthcheck(request: web.Request) -> web.Response:
    return web.Response(text="OK")


async def _root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/objects")


def _safe_next(value: str) -> str:
    """Only a path of this site (no scheme, no host, no //): never an open redirect."""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/objects"
    if "\\" in value:
        return "/objects"
    return value


async def _login_form(request: web.Request) -> web.StreamResponse:
    if auth.current_viewer(request) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next", "/objects")))
    return _login_page(request, "")


def _login_page(
    request: web.Request, error: str, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    token = auth.login_csrf(request)
    resp = render(
        request,
        "login.html",
        status=status,
        headers=headers,
        error=error,
        login_csrf=token,
        next=_safe_next(request.query.get("next", "/objects")),
    )
    resp.set_cookie(
        auth.LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.app[auth.SETTINGS].scheme == "https",
        path="/login",
    )
    return resp


async def _login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    sent = str(form.get(auth.CSRF_FIELD, ""))
    cookie = request.cookies.get(auth.LOGIN_COOKIE, "")
    if not (auth.same_origin(request) and cookie and sent == cookie):
        return _login_page(request, "The form expired: please try again.", 403)
    name = str(form.get("name", "")).strip()
    secret = str(form.get("secret", ""))
    try:
        session = await auth.log_in(request, name, secret)
    except auth.LoginFailed as exc:
        log.info("console login refused for %r from %s", name[:64], request.remote)
        status = 429 if exc.retry_after else 401
        return _login_page(request, str(exc), status, auth.login_retry_header(exc))
    log.info("console login of %s", session.name)
    resp = web.HTTPSeeOther(_safe_next(str(form.get("next", "/objects"))))
    auth.set_session_cookie(request, resp, session)
    resp.del_cookie(auth.LOGIN_COOKIE, path="/login")
    raise resp


@auth.page("reader")
async def _logout(request: web.Request) -> web.StreamResponse:
    auth.log_out(request, auth.viewer(request).session)
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(auth.COOKIE, path="/")
    raise resp


def make_app(cfg: config.Config, identity: IdentityStore | None = None) -> web.Application:
    """The console for ``cfg`` (its identity store opened here unless given)."""
    app = web.Application(
        middlewares=[_headers, errors.error_middleware(_answer, _crash, logger=log)],
        client_max_size=CLIENT_MAX_SIZE,
    )
    app.on_response_prepare.append(requestid.stamp)
    store = identity or IdentityStore(identity_dir(cfg.data_dir))
    app[auth.IDENTITY] = store
    app[auth.SESSIONS] = SessionStore()
    app[auth.LIMITER] = FailureLimiter(AuthLimits.from_config(cfg))
    app[auth.SETTINGS] = cfg.console
    app[SERVICES] = Services(endpoints_from_config(cfg))
    app[CONFIG] = cfg
    app[ENV] = make_env()
    app[NAV] = []
    app.router.add_get("/healthcheck", _healthcheck)
    ServiceMetrics().install(app, "console")
    app.router.add_get("/", _root)
    app.router.add_get("/login", _login_form)
    app.router.add_post("/login", _login)
    app.router.add_post("/logout", _logout)
    app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
    for name in SECTIONS:
        importlib.import_module(f"stratus.console.views.{name}").setup(app)

    async def close(app: web.Application) -> None:
        await app[SERVICES].close()
        if identity is None:
            store.close()

    app.on_cleanup.append(close)
    return app


def tls_context(section: config.ConsoleSection) -> ssl.SSLContext | None:
    if not section.tls_cert:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(section.tls_cert, section.tls_key)
    return ctx


async def serve(cfg: config.Config, stop: asyncio.Event) -> None:
    """Serve the console until ``stop`` is set."""
    sock = httpserver.listen(cfg.console.host, cfg.console.port)
    limits = httpserver.ServerLimits.from_config(cfg)
    tls = tls_context(cfg.console)
    async with httpserver.serving(
        make_app(cfg), sock, limits, ssl_context=tls, shutdown_timeout=60
    ):
        log.info(
            "console listening on %s://%s:%d",
            cfg.console.scheme,
            cfg.console.host,
            cfg.console.port,
        )
        await stop.wait()
