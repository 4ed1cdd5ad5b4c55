"""The identity service's aiohttp app: version discovery, ``/v3/auth``, the resources.

Every failure is Keystone's JSON error (never a 500 page or an HTML 404),
and a 401 carries ``WWW-Authenticate: Keystone uri="<base>"`` as Keystone's
does, so clients know where to log in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from stratus.authlimit import AuthLimits, FailureLimiter
from stratus.identity.keystone import auth, ec2, resources
from stratus.identity.keystone.catalog import Catalog
from stratus.identity.keystone.context import SERVICE, Service, reply, service
from stratus.identity.keystone.errors import KeystoneError, response
from stratus.identity.store import IdentityStore

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


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def keystone_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Keystone's error JSON for our errors and aiohttp's (404, 405, 413)."""
    try:
        return await handler(request)
    except KeystoneError as exc:
        err = exc
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        err = KeystoneError(
            exc.status,
            exc.reason,
            {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None,
        )
    headers = dict(err.headers or {})
    if err.code == 401:
        headers["WWW-Authenticate"] = f'Keystone uri="{service(request).base(request)}"'
    return response(err.code, err.message, headers)


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
    return app
