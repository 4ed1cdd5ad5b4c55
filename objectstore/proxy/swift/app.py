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
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from objectstore.client import TRANS_ID
from objectstore.proxy import errors as core_errors
from objectstore.proxy.core import ProxyCore
from objectstore.proxy.swift import account, auth, container, info, obj
from objectstore.proxy.swift.constraints import parse_query, split_path
from objectstore.proxy.swift.errors import SwiftError, error_response, from_core
from stratus.authlimit import AuthLimits, FailureLimiter

log = logging.getLogger(__name__)

CLIENT_MAX_SIZE = 1024 * 1024
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tf txn=%{X-Trans-Id}o'
CORE: web.AppKey[ProxyCore] = web.AppKey("core", ProxyCore)
IDENTITY: web.AppKey[Any] = web.AppKey("identity", object)
TOKENS: web.AppKey[auth.TokenCache] = web.AppKey("tokens", auth.TokenCache)
CONFIG: web.AppKey[Any] = web.AppKey("config", object)
# Failed authentications per client address; the S3 API in the same process shares it.
AUTH_LIMITER: web.AppKey[FailureLimiter] = web.AppKey("auth_limiter", FailureLimiter)
TX: web.RequestKey[str] = web.RequestKey("tx", str)

Handler = Callable[["Ctx"], Awaitable[web.StreamResponse]]


@dataclass
class Ctx:
    """One parsed API request, as the handlers see it."""

    request: web.Request
    core: ProxyCore
    identity: Any
    account: str
    container: str | None
    obj: str | None
    params: dict[str, str]
    principal: Any | None

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def headers(self) -> Any:
        return self.request.headers


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
    "objectstore.proxy.errorlimit",
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


@web.middleware
async def swift_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Transaction id in, Swift's error form out."""
    tx = request.headers.get("X-Trans-Id-Extra")
    tx = new_trans_id() + (f"-{tx[:32]}" if tx and tx.isalnum() else "")
    request[TX] = tx
    TRANS_ID.set(tx)
    try:
        return await handler(request)
    except SwiftError as exc:
        return exc.response()
    except core_errors.ProxyError as exc:
        mapped = from_core(exc)
        assert mapped is not None
        return mapped.response()
    except (web.HTTPException, obj.StreamBroken):
        raise  # a broken stream must close the connection: its headers are gone
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500)


async def _trans_headers(request: web.Request, response: web.StreamResponse) -> None:
    tx = request.get(TX)
    if tx:
        response.headers["X-Trans-Id"] = tx
        response.headers["X-Openstack-Request-Id"] = tx


async def handle_api(request: web.Request) -> web.StreamResponse:
    """Everything under /v1: parse, authenticate, authorize, dispatch."""
    version, acct, cont, name = split_path(request.rel_url.raw_path)
    del version
    app = request.app
    ctx = Ctx(
        request=request,
        core=app[CORE],
        identity=app[IDENTITY],
        account=acct or "",
        container=cont,
        obj=name,
        params=parse_query(request.rel_url.raw_query_string),
        principal=app[TOKENS].authenticate(request.headers.get("X-Auth-Token")),
    )
    if name is not None:
        return await obj.dispatch(ctx)
    if cont is not None:
        return await container.dispatch(ctx)
    return await account.dispatch(ctx)


async def handle_healthcheck(request: web.Request) -> web.Response:
    return web.Response(text="OK")


def make_app(core: ProxyCore, identity: Any, config: Any) -> web.Application:
    """The native API application (auth, /info, /v1) over ``core``."""
    from stratus.identity.tempauth import make_auth_routes

    install_log_filter()
    app = web.Application(client_max_size=CLIENT_MAX_SIZE, middlewares=[swift_errors])
    app[CORE] = core
    app[IDENTITY] = identity
    app[TOKENS] = auth.TokenCache(identity)
    app[CONFIG] = config
    app[AUTH_LIMITER] = limiter = FailureLimiter(AuthLimits.from_config(config))
    base = getattr(config.identity, "storage_url_base", "")
    app.add_routes(
        make_auth_routes(
            identity, config.identity.token_lifetime, storage_url_base=base, limiter=limiter
        )
    )
    app.router.add_route("*", "/info", info.handle_info)
    app.router.add_route("GET", "/healthcheck", handle_healthcheck)
    app.router.add_route("*", "/{tail:.*}", handle_api)
    app.on_response_prepare.append(_trans_headers)
    return app


def make_app_from_config(config: Any) -> web.Application:
    """Everything the proxy process needs, built from the configuration.

    Rings from ``<data>/rings``, the identity store from ``<data>/identity``
    and one keep-alive session to the storage nodes, opened and closed with
    the application (``cleanup_ctx``).
    """
    from objectstore.client import NodeClient
    from objectstore.proxy.core import Rings
    from stratus.identity import IdentityStore, identity_dir

    identity = IdentityStore(identity_dir(config.data.dir))
    # The node client needs a session, and a session needs the running loop:
    # it is made in the app's lifecycle, before the first request.
    core = ProxyCore(config, Rings.from_config(config), None)  # type: ignore[arg-type]
    app = make_app(core, identity, config)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        session = NodeClient.make_session()
        core.client = NodeClient(session, node_timeout=config.proxy.node_timeout)
        try:
            yield
        finally:
            await session.close()
            identity.close()

    app.cleanup_ctx.append(lifecycle)
    return app
