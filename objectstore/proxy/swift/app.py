"""The native (Swift) API as one aiohttp application over the proxy core.

``make_app(core, identity, config)`` mounts GET /auth/v1.0 (identity's
tempauth handler), GET /info, /healthcheck and /v1/... . Every request gets
a transaction id (``tx<hex>-<hex time>``) that is sent back as X-Trans-Id
and X-Openstack-Request-Id, passed to the storage nodes, and appended to
every log line of the request, as Swift does. Errors of the handlers and of
the core are turned into Swift's answers in one middleware.

Request bodies are never read whole: object bodies stream through the core;
``client_max_size`` only bounds what aiohttp itself would buffer.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web
from aiohttp.typedefs import Handler as RequestHandler
from multidict import CIMultiDict, CIMultiDictProxy

from objectstore.client import TRANS_ID
from objectstore.proxy import errors as core_errors
from objectstore.proxy.core import ProxyCore
from objectstore.proxy.swift import account, auth, container, cors, info, listing, obj, pipeline
from objectstore.proxy.swift.constraints import (
    MAX_HEADER_SIZE,
    MAX_REQUEST_LINE,
    VALID_API_VERSIONS,
    parse_query,
    split_path,
)
from objectstore.proxy.swift.errors import HTML, SwiftError, error_response, from_core
from objectstore.proxy.swift.middleware import tempauth
from stratus.authlimit import AuthLimits, FailureLimiter
from stratus.config import Config
from stratus.http import errors, requestid
from stratus.identity import IdentityStore, Principal
from stratus.metrics import ServiceMetrics, method_label

log = logging.getLogger(__name__)

CLIENT_MAX_SIZE = 1024 * 1024
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tf txn=%{X-Trans-Id}o'
CORE: web.AppKey[ProxyCore] = web.AppKey("core", ProxyCore)
IDENTITY: web.AppKey[IdentityStore] = web.AppKey("identity", IdentityStore)
TOKENS: web.AppKey[auth.TokenCache] = web.AppKey("tokens", auth.TokenCache)
CONFIG: web.AppKey[Config] = web.AppKey("config", Config)
# Failed authentications per client address; the S3 API in the same process shares it.
AUTH_LIMITER: web.AppKey[FailureLimiter] = web.AppKey("auth_limiter", FailureLimiter)
PIPELINE: web.AppKey[Any] = web.AppKey("pipeline", object)

Handler = Callable[["Ctx"], Awaitable[web.StreamResponse]]


@dataclass
class Ctx:
    """One parsed API request, as the filters and handlers see it.

    A filter (``pipeline``) may hand the rest of the pipeline a changed copy
    (``dataclasses.replace``: another method, path, headers or query), as a
    Swift middleware rewrites its WSGI environment. ``environ`` and
    ``on_prepare`` are shared by every copy of one request: ``environ`` for
    what one filter tells another (Swift's ``swift.*`` keys), ``on_prepare``
    for changes to the answer's headers just before they are sent (handlers
    stream their answers themselves, so a filter cannot edit them after).
    """

    request: web.Request
    core: ProxyCore
    identity: IdentityStore
    account: str
    container: str | None
    obj: str | None
    params: dict[str, str]
    principal: Principal | None
    method: str = ""
    headers: CIMultiDictProxy[str] = field(default_factory=lambda: CIMultiDictProxy(CIMultiDict()))
    environ: dict[str, Any] = field(default_factory=lambda: dict[str, Any]())
    on_prepare: list[Callable[[web.StreamResponse], None]] = field(
        default_factory=lambda: list[Callable[[web.StreamResponse], None]]()
    )
    # A filter's subrequest carries its own body (an archive member, a form file):
    # handlers read ``body_chunks()`` and ``content_length``, never the request's directly.
    body: AsyncIterable[bytes] | None = None

    @property
    def content_length(self) -> int | None:
        """Content-Length of this (sub)request's body, None when absent (chunked)."""
        if self.body is None:
            return self.request.content_length
        value = self.headers.get("Content-Length")
        return int(value) if value is not None else None

    def body_chunks(self) -> AsyncIterable[bytes]:
        """The body as it arrives: the subrequest's own, else the client's."""
        return self.body if self.body is not None else self.request.content.iter_any()


# The request's Ctx (request[CTX]), for on_response_prepare.
CTX: web.RequestKey[Ctx] = web.RequestKey("stratus.swift.ctx", Ctx)


def new_trans_id() -> str:
    """Swift's form: ``tx`` + 21 hex digits + ``-`` + the time in hex."""
    return f"tx{os.urandom(11).hex()[:21]}-{int(time.time()):010x}"


class TransIdFilter(logging.Filter):
    """Appends ``(txn: tx...)`` to log lines written while a request runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        tx = TRANS_ID.get()
        if tx and not getattr(record, "txn_id", None):
            record.txn_id = tx
            record.msg = f"{record.msg} (txn: {tx})"
        return True


_FILTER = TransIdFilter()
_LOGGERS = (
    "objectstore.proxy.core",
    "objectstore.proxy.placement",
    "objectstore.proxy.reads",
    "objectstore.proxy.writes",
    "objectstore.common.errorlimit",
    "objectstore.proxy.swift.app",
    "objectstore.proxy.swift.obj",
    "aiohttp.access",
    "aiohttp.server",
)


def install_log_filter() -> None:
    """Put the transaction id on every log line of the proxy's modules."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def _trans_id(request: web.Request) -> str:
    """A new transaction id, with the client's ``X-Trans-Id-Extra`` appended as Swift does."""
    extra = request.headers.get("X-Trans-Id-Extra")
    return new_trans_id() + (f"-{extra[:32]}" if extra and extra.isalnum() else "")


#: Swift's transaction ids, returned under both names Swift's clients read.
TRANS_IDS = requestid.IdStyle(("X-Trans-Id", "X-Openstack-Request-Id"), _trans_id)


def _answer(request: web.Request, exc: Exception) -> web.StreamResponse | None:
    if isinstance(exc, core_errors.ProxyError):
        mapped = from_core(exc)
        assert mapped is not None
        exc = mapped
    if isinstance(exc, SwiftError):
        if exc.status == 404 and exc.body is None and request.method == "HEAD":
            # the backend's bodiless 404: Content-Length 0 (aiohttp sends none for b"")
            exc.body, exc.content_type = "", HTML
            exc.headers.setdefault("Content-Length", "0")
        if exc.status == 401:
            exc.headers.setdefault("Www-Authenticate", www_authenticate(request.raw_path))
        return exc.response()
    return None


def www_authenticate(raw_path: str) -> str:
    """swob's challenge on every 401: ``Swift realm="<account>"`` (else "unknown")."""
    parts = raw_path.partition("?")[0].split("/", 3)
    realm = parts[2] if len(parts) > 2 and parts[1] and parts[2] else "unknown"
    if realm in ("v1.0", "auth"):
        realm = "unknown"
    return f'Swift realm="{quote(unquote(realm))}"'


def _crash(request: web.Request) -> web.StreamResponse:
    return error_response(500)


#: Transaction id in (also sent to the storage nodes), Swift's error form out: the shared
#: middleware. A broken stream must close the connection: its headers are gone.
swift_errors = errors.error_middleware(
    _answer,
    _crash,
    ids=TRANS_IDS,
    passthrough=(web.HTTPException, obj.StreamBroken),
    logger=log,
)


# aiohttp's parser limits sit above Swift's, so that the lines between are answered as
# Swift's server (eventlet) answers them, by ``line_limits``; beyond, aiohttp's own 400.
PARSER_LINE_LIMIT = 8 * MAX_REQUEST_LINE
MAX_TOTAL_HEADER_SIZE = 65536  # eventlet's


@web.middleware
async def line_limits(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    """eventlet's limits under Swift: a request line of ``max_request_line`` bytes or more
    (CRLF included) is 414, a header line of ``max_header_size`` or more is 400 "Header
    Line Too Long", more than 64 KiB of headers 400 "Headers Too Large"; no body, and the
    connection closes."""
    version = request.version
    target = request.raw_path.encode("utf-8", "surrogateescape")
    line = len(request.method) + len(target) + len(f"HTTP/{version.major}.{version.minor}") + 4
    if line >= MAX_REQUEST_LINE:
        return _line_error(414, "Request URI Too Long")
    total = 2
    for name, value in request.raw_headers:
        size = len(name) + len(value) + 4
        if size >= MAX_HEADER_SIZE:
            return _line_error(400, "Header Line Too Long")
        total += size
    if total > MAX_TOTAL_HEADER_SIZE:
        return _line_error(400, "Headers Too Large")
    return await handler(request)


def _line_error(status: int, reason: str) -> web.Response:
    resp = web.Response(status=status, reason=reason, headers={"Connection": "close"})
    resp.force_close()
    return resp


async def handle_api(request: web.Request) -> web.StreamResponse:
    """Everything under /v1: parse, authenticate, authorize, dispatch."""
    version, acct, cont, name = split_path(request.rel_url.raw_path)
    del version
    app = request.app
    params = parse_query(request.rel_url.raw_query_string)
    if name is None and request.method in ("GET", "HEAD"):
        # Swift's listing_formats sits before its auth: 406 / 400 come first.
        listing.listing_type(params.get("format"), request.headers.get("Accept"))
    ctx = Ctx(
        request=request,
        core=app[CORE],
        identity=app[IDENTITY],
        account=acct or "",
        container=cont,
        obj=name,
        params=params,
        principal=None,
        method=request.method,
        headers=request.headers,
    )
    try:
        ctx.principal = app[TOKENS].authenticate(request.headers.get("X-Auth-Token"))
    except SwiftError as exc:  # refused where Swift's auth sits in the pipeline
        ctx.environ[tempauth.AUTH_ERROR] = exc
    request[CTX] = ctx
    return await app[PIPELINE](ctx)


async def dispatch(ctx: Ctx) -> web.StreamResponse:
    """The end of the pipeline: the account, container or object handlers (and CORS)."""
    if ctx.method == "OPTIONS":
        return await cors.preflight(ctx)
    await cors.begin(ctx)
    if ctx.obj is not None:
        return await obj.dispatch(ctx)
    if ctx.container is not None:
        return await container.dispatch(ctx)
    return await account.dispatch(ctx)


async def _run_on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the filters' header changes (``Ctx.on_prepare``)."""
    ctx = request.get(CTX)
    if ctx is not None:
        for change in ctx.on_prepare:
            change(response)


async def handle_healthcheck(request: web.Request) -> web.Response:
    return web.Response(body=b"OK", headers={"Content-Type": "text/plain"})  # as Swift's


_TOP_OPERATIONS = {
    "/auth/v1.0": "auth",
    "/info": "info",
    "/healthcheck": "healthcheck",
    "/metrics": "metrics",
}


def swift_operation(request: web.Request) -> str:
    """The metrics label of a request: ``GET object``, ``PUT container``... (no names)."""
    path = request.raw_path.partition("?")[0]
    parts = path.split("/", 4)
    if len(parts) < 3 or parts[1] not in VALID_API_VERSIONS:
        kind = _TOP_OPERATIONS.get(path, "other")
    elif len(parts) > 4 and parts[4]:
        kind = "object"
    elif len(parts) > 3 and parts[3]:
        kind = "container"
    else:
        kind = "account"
    return f"{method_label(request)} {kind}"


def make_app(core: ProxyCore, identity: IdentityStore, config: Config) -> web.Application:
    """The native API application (auth, /info, /v1) over ``core``."""
    from stratus.identity.tempauth import make_auth_routes

    install_log_filter()
    app = web.Application(
        client_max_size=CLIENT_MAX_SIZE,
        middlewares=[line_limits, swift_errors],
        handler_args={"max_line_size": PARSER_LINE_LIMIT, "max_field_size": PARSER_LINE_LIMIT},
    )
    app[CORE] = core
    app[IDENTITY] = identity
    app[TOKENS] = auth.TokenCache(identity)
    app[CONFIG] = config
    app[cors.POLICY] = cors.Policy.from_config(config.proxy)
    app[AUTH_LIMITER] = limiter = FailureLimiter(AuthLimits.from_config(config))
    app[PIPELINE] = pipeline.build(dispatch)
    app.add_routes(
        make_auth_routes(
            identity,
            config.identity.token_lifetime,
            storage_url_base=config.identity.storage_url_base,
            limiter=limiter,
        )
    )
    app.router.add_route("*", "/info", info.handle_info)
    app.router.add_route("GET", "/healthcheck", handle_healthcheck)
    # Requests of both APIs (the S3 app shares it) and GET /metrics, before the catch-all.
    metrics = ServiceMetrics().install(app, "swift", swift_operation)
    metrics.gauge(
        "stratus_proxy_ring_version",
        "Version of each ring this proxy places with (the nodes' are in their /stats).",
        ["ring"],
        lambda: {
            (name,): float(getattr(core.rings, name).ring_version)
            for name in ("account", "container", "object")
        },
    )
    app.router.add_route("*", "/{tail:.*}", handle_api)
    app.on_response_prepare.append(_run_on_prepare)
    app.on_response_prepare.append(requestid.stamp)
    return app


def make_app_from_config(config: Config) -> web.Application:
    """Everything the proxy process needs, built from the configuration.

    Rings from ``<data>/rings``, the identity store from ``<data>/identity``
    and one keep-alive session to the storage nodes, opened and closed with
    the application (``cleanup_ctx``).
    """
    from objectstore.client import NodeClient
    from objectstore.proxy.core import Rings
    from stratus.identity import identity_dir

    identity = IdentityStore(identity_dir(config.data.dir))
    # The node client needs a session, and a session needs the running loop:
    # it is made in the app's lifecycle, before the first request (None until then).
    core = ProxyCore(config, Rings.from_config(config), None)  # pyright: ignore[reportArgumentType]
    app = make_app(core, identity, config)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        session = NodeClient.make_session()
        core.client = NodeClient(
            session,
            conn_timeout=config.proxy.conn_timeout,
            node_timeout=config.proxy.node_timeout,
        )
        try:
            yield
        finally:
            await session.close()
            identity.close()

    app.cleanup_ctx.append(lifecycle)
    return app
