"""The volume API: Cinder v3 over aiohttp, one module per resource family.

``make_app(manager, identity)`` mounts the version documents at ``/`` and
``/v3/``, and every resource under ``/v3/{project_id}/``. A token from
identity (``X-Auth-Token``) is required there; its project must be the one
in the URL, and every lookup is scoped to it, so another project's volume
is simply not found. Microversions (``OpenStack-API-Version: volume 3.x``)
are accepted up to :data:`MAX_VERSION`; answers carry the version used.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler

from blockstore.api import (
    attachments,
    backups,
    iscsi_sessions,
    limits,
    services,
    snapshots,
    types,
    volumes,
)
from blockstore.api.context import COMPUTE_URL, CTX, IDENTITY, MANAGER, Ctx, ok
from blockstore.api.errors import ApiError, cinder_errors
from blockstore.manager.core import Caller
from stratus.http import requestid
from stratus.metrics import ServiceMetrics

if TYPE_CHECKING:
    from blockstore.services import VolumeServices
    from stratus.identity import IdentityStore

log = logging.getLogger("blockstore.api")
CLIENT_MAX_SIZE = 1024 * 1024
MIN_VERSION = (3, 0)
# 3.66 and no further: 3.67 makes the project id in URLs optional and 3.68 adds re-imaging,
# neither of which this service does; every change up to 3.66 that touches what it serves
# is honoured (3.27/3.44/3.54 attachments, 3.42 in-use extend, 3.64/3.65 fields, 3.66
# snapshots of in-use volumes without force).
MAX_VERSION = (3, 66)
VERSION_HEADER = "OpenStack-API-Version"
_VERSION = re.compile(r"^volume\s+(\d+)\.(\d+)$|^volume\s+latest$", re.IGNORECASE)
_PROJECT_PATH = re.compile(r"^/v3/([^/]+)(/|$)")


def base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def version_doc(base: str) -> dict[str, Any]:
    return {
        "id": "v3.0",
        "status": "CURRENT",
        "version": "{}.{}".format(*MAX_VERSION),
        "min_version": "{}.{}".format(*MIN_VERSION),
        "updated": "2024-01-01T00:00:00Z",
        "links": [{"rel": "self", "href": f"{base}/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}
        ],
    }


async def handle_versions(request: web.Request) -> web.Response:
    return ok({"versions": [version_doc(base_url(request))]}, 300)


async def handle_v3(request: web.Request) -> web.Response:
    return ok({"versions": [version_doc(base_url(request))]})


async def handle_healthcheck(request: web.Request) -> web.Response:
    return web.Response(text="OK")


def _microversion(request: web.Request) -> tuple[int, int]:
    raw = request.headers.get(VERSION_HEADER)
    if raw is None:
        return MIN_VERSION
    m = _VERSION.match(raw.strip())
    if m is None:
        raise ApiError(400, f"Invalid API version request {raw[:40]!r}.")
    if m.group(1) is None:
        return MAX_VERSION
    wanted = (int(m.group(1)), int(m.group(2)))
    if not MIN_VERSION <= wanted <= MAX_VERSION:
        raise ApiError(406, "Version {}.{} is not supported by the API.".format(*wanted))
    return wanted


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    m = _PROJECT_PATH.match(request.path)
    if m is None:
        return await handler(request)
    token = request.headers.get("X-Auth-Token", "")
    principal = request.app[IDENTITY].authenticate_token(token) if token else None
    if principal is None:
        raise ApiError(
            401,
            "The request you have made requires authentication.",
            {"WWW-Authenticate": 'Keystone uri="/auth/v1.0"'},
        )
    service = False
    service_token = request.headers.get("X-Service-Token", "")
    if service_token:
        # Cinder honours a service token of a service role; here: of a cloud admin (the
        # compute service issues one for itself). A bad one is refused, as keystonemiddleware does.
        svc = request.app[IDENTITY].authenticate_token(service_token)
        if svc is None:
            raise ApiError(401, "The service token (X-Service-Token) is not valid.")
        service = svc.is_reseller_admin
    if m.group(1) != principal.project:
        raise ApiError(403, f"Project {m.group(1)[:64]} in the URL is not the token's project.")
    version = _microversion(request)
    caller = dataclasses.replace(Caller.from_principal(principal), service=service)
    if not caller.can_read:
        raise ApiError(403, "Policy doesn't allow this role to use the volume service.")
    request[CTX] = Ctx(request, request.app[MANAGER], caller, base_url(request), version)
    resp = await handler(request)
    resp.headers[VERSION_HEADER] = "volume {}.{}".format(*version)
    resp.headers["Vary"] = VERSION_HEADER
    return resp


def make_app(
    manager: VolumeServices | None,
    identity: IdentityStore | None,
    compute_url: str | None = None,
) -> web.Application:
    """The aiohttp application; ``manager`` must be started, ``identity`` authenticates
    (both None: the routes alone, for listing them).

    ``compute_url`` is the compute API told of force-detached server volumes (None: none).
    """
    app = web.Application(
        client_max_size=CLIENT_MAX_SIZE, middlewares=[cinder_errors, authenticate]
    )
    app.on_response_prepare.append(requestid.stamp)
    app[MANAGER] = manager
    app[IDENTITY] = identity
    app[COMPUTE_URL] = compute_url or ""
    app.router.add_get("/", handle_versions)
    app.router.add_get("/v3", handle_v3)
    app.router.add_get("/v3/", handle_v3)
    app.router.add_get("/healthcheck", handle_healthcheck)
    ServiceMetrics().install(app, "volume")  # GET /metrics; records and LUNs: service.py
    for family in (
        volumes,
        snapshots,
        attachments,
        backups,
        types,
        limits,
        services,
        iscsi_sessions,
    ):
        family.add_routes(app.router, "/v3/{project_id}")
    return app
