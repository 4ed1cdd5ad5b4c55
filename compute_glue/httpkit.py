"""What the image, compute and network APIs share: token auth, errors, JSON bodies.

Each API passes its own ``render(status, kind, message)`` so errors come
out in that protocol's own form (Glance, Nova or Neutron), mapped in one
place; nothing unexpected ever leaks a traceback to the client.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from compute_glue.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
)

log = logging.getLogger("compute_glue.http")

Render = Callable[[int, str, str], web.Response]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PRINCIPAL: web.RequestKey[Any] = web.RequestKey("principal", object)
IDENTITY: web.AppKey[Any] = web.AppKey("identity", object)
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
MAX_JSON = 1024 * 1024


def error_middleware(render: Render) -> Any:
    """Turn ApiError, aiohttp's own HTTP errors and crashes into ``render``'s form."""

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[REQUEST_ID] = "req-" + str(uuid.uuid4())
        try:
            resp = await handler(request)
        except ApiError as exc:
            resp = render(exc.status, exc.kind, exc.message)
        except web.HTTPNotFound:
            resp = render(404, NotFound.kind, "The resource could not be found.")
        except web.HTTPMethodNotAllowed:
            resp = render(405, MethodNotAllowed.kind, "The method is not allowed here.")
        except web.HTTPRequestEntityTooLarge:
            resp = render(413, "RequestEntityTooLarge", "The request body is too large.")
        except web.HTTPException as exc:
            resp = render(exc.status, exc.reason or "Error", exc.text or exc.reason or "")
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            resp = render(500, "InternalError", "The server has either erred or is incapable.")
        if not resp.prepared:
            resp.headers["X-Openstack-Request-Id"] = request[REQUEST_ID]
        return resp

    return errors


def auth_middleware(protected: Callable[[str], bool]) -> Any:
    """Require a live identity token (``X-Auth-Token``) on every ``protected`` path."""

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if protected(request.path):
            token = request.headers.get("X-Auth-Token", "")
            principal = request.app[IDENTITY].authenticate_token(token) if token else None
            if principal is None:
                raise Unauthorized("The request you have made requires authentication.")
            if not principal.can_read:  # an ACL-only user: object-store ACLs only
                raise Forbidden("Policy doesn't allow this role to use this service.")
            request[PRINCIPAL] = principal
        return await handler(request)

    return authenticate


def principal(request: web.Request) -> Any:
    found = request.get(PRINCIPAL)
    if found is None:
        raise Unauthorized("The request you have made requires authentication.")
    return found


async def read_json(request: web.Request, key: str | None = None) -> Any:
    """The JSON body (or its ``key`` element, which must be an object)."""
    if request.content_length is not None and request.content_length > MAX_JSON:
        raise BadRequest("The request body is too large.")
    raw = await request.read()
    if not raw:
        raise BadRequest("The request body is empty; JSON was expected.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed request body: not valid JSON.") from None
    if key is None:
        return data
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise BadRequest(f"Missing or invalid element '{key}' in the request body.")
    return data[key]


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda v: json.dumps(v, sort_keys=False))


def int_param(query: Any, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer.") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}.")
    return value
