"""What every handler shares: the store, the catalog, the caller, JSON in and out."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from stratus.authlimit import FailureLimiter
from stratus.identity.keystone.catalog import Catalog
from stratus.identity.keystone.errors import bad_request, forbidden, unauthorized
from stratus.identity.records import TokenInfo
from stratus.identity.store import IdentityStore


@dataclass
class Service:
    """The identity service's state, one per app."""

    store: IdentityStore
    catalog: Catalog
    token_lifetime: float
    public_url: str  # empty: each request's own scheme and host
    failures: FailureLimiter
    checks: asyncio.Semaphore

    def base(self, request: web.Request) -> str:
        """Where the client reached us, for links (Keystone's ``public_endpoint``)."""
        return self.public_url or f"{request.scheme}://{request.host}"


SERVICE: web.AppKey[Service] = web.AppKey("keystone_service", Service)


def service(request: web.Request) -> Service:
    return request.app[SERVICE]


def caller(request: web.Request) -> TokenInfo:
    """The live token in X-Auth-Token (scoped or not); 401 without one."""
    token = request.headers.get("X-Auth-Token", "")
    info = service(request).store.token_info(token) if token else None
    if info is None:
        raise unauthorized()
    return info


def is_cloud_admin(info: TokenInfo) -> bool:
    """Keystone's ``admin_required``: the admin role on project ``admin``, in scope."""
    return info.scoped and info.principal.is_reseller_admin


def require_admin(request: web.Request) -> TokenInfo:
    info = caller(request)
    if not is_cloud_admin(info):
        raise forbidden()
    return info


async def json_body(request: web.Request, key: str) -> dict[str, Any]:
    """The object under ``key`` in a JSON request body; 400 otherwise."""
    try:
        body = json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise bad_request(f"Expecting to find {key} in request body.")
    return body[key]


def reply(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


def text_field(obj: dict[str, Any], name: str, where: str, *, required: bool = True) -> str | None:
    """A string member of a request object; 400 when mistyped (or missing and required)."""
    value = obj.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise bad_request(f"Invalid input for field '{where}.{name}': expected a string.")
    return value
