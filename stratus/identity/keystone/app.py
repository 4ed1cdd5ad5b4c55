"""The identity service's aiohttp app: version discovery, ``/v3/auth``, the resources.

Every failure is Keystone's JSON error (never a 500 page or an HTML 404;
the shared middleware of :mod:`stratus.http.errors`, request id included),
and a 401 carries ``WWW-Authenticate: Keystone uri="<base>"`` as Keystone's
does, so clients know where to log in.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from stratus.authlimit import AuthLimits, FailureLimiter
from stratus.http import errors, requestid
from stratus.identity.keystone import auth, ec2, resources
from stratus.identity.keystone.catalog import Catalog
from stratus.identity.keystone.context import SERVICE, Service, reply, service
from stratus.identity.keystone.errors import KeystoneError, response
from stratus.identity.store import IdentityStore
from stratus.metrics import ServiceMetrics

log = logging.getLogger("stratus.identity.keystone")

API_VERSION = "v3.14"
API_UPDATED = "2020-04-07T00:00:00Z"
MEDIA_TYPES = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
MAX_BODY = 64 * 1024


def version(base: str) -> dict[str, object]:
    """The v3 version document keystoneauth's discovery reads."""
    return {
        "id": API_VERSION,
        "status": "stable",
        "updated": API_UPDATED,
        "links": [{"rel": "self", "href": f"{base}/v3/"}],
        "media-types": MEDIA_TYPES,
    }


async def versions(request: web.Request) -> web.Response:
    """GET /: every version (one), 300 Multiple Choices as Keystone answers."""
    base = service(request).base(request)
    return reply({"versions": {"values": [version(base)]}}, 300)


async def v3(request: web.Request) -> web.Response:
    return reply({"version": version(service(request).base(request))})


async def healthcheck(request: web.Request) -> web.Response:
    return web.Response(text="OK")


def _answer(request: web.Request, exc: Exception) -> web.StreamResponse | None:
    """Keystone's error JSON for our errors and aiohttp's (404, 405, 413)."""
    if isinstance(exc, KeystoneError):
        err = exc
    elif isinstance(exc, web.HTTPException) and exc.status >= 400:
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        err = KeystoneError(exc.status, exc.reason, allow)
    else:
        return None
    headers = dict(err.headers or {})
    if err.code == 401:
        headers["WWW-Authenticate"] = f'Keystone uri="{service(request).base(request)}"'
    return response(err.code, err.message, headers)


def _crash(request: web.Request) -> web.StreamResponse:
    return response(500, "An unexpected error prevented the server from fulfilling your request.")


#: The shared middleware (request id included) answering in Keystone's form.
keystone_errors = errors.error_middleware(_answer, _crash, logger=log)


def make_app(
    store: IdentityStore,
    catalog: Catalog,
    *,
    token_lifetime: float,
    public_url: str = "",
    limiter: FailureLimiter | None = None,
    max_concurrent_checks: int = 2,
) -> web.Application:
    """The Keystone v3 app over ``store``; ``public_url`` empty: each request's own host."""
    app = web.Application(middlewares=[keystone_errors], client_max_size=MAX_BODY)
    app.on_response_prepare.append(requestid.stamp)
    app[SERVICE] = Service(
        store=store,
        catalog=catalog,
        token_lifetime=token_lifetime,
        public_url=public_url.rstrip("/"),
        failures=limiter if limiter is not None else FailureLimiter(AuthLimits()),
        checks=asyncio.Semaphore(max_concurrent_checks),
    )
    app.add_routes(
        [
            web.get("/", versions),
            web.get("/v3", v3),
            web.get("/v3/", v3),
            web.get("/healthcheck", healthcheck),
            *auth.ROUTES,
            *resources.ROUTES,
            *ec2.ROUTES,
        ]
    )
    metrics = ServiceMetrics().install(app, "identity")
    metrics.gauge(
        "stratus_identity_tokens",
        "Stored tokens (live, or expired and not yet reaped).",
        [],
        lambda: {(): store.count_tokens()},
    )
    return app
