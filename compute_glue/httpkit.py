"""What the image, compute and network APIs share: token auth, errors, JSON bodies.

Each API passes its own ``render(status, kind, message)`` so errors come
out in that protocol's own form (Glance, Nova or Neutron), mapped in one
place over the shared middleware of :mod:`stratus.http.errors` (request
id included); nothing unexpected ever leaks a traceback to the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from compute_glue.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
)
from stratus.http import errors, requestid
from stratus.http.requestid import IdStyle

log = logging.getLogger("compute_glue.http")

Render = Callable[[int, str, str], web.Response]
PRINCIPAL: web.RequestKey[Any] = web.RequestKey("principal", object)
IDENTITY: web.AppKey[Any] = web.AppKey("identity", object)
MAX_JSON = 1024 * 1024


def error_middleware(
    render: Render, ids: IdStyle = requestid.OPENSTACK, *, http_errors: bool = True
) -> Any:
    """The shared error middleware, answering in ``render``'s form (``ids``: request-id style).

    ApiError, aiohttp's own HTTP errors (unless ``http_errors`` is False:
    then they go out as aiohttp sends them) and crashes all come out
    through ``render``; a crash is logged, never shown.
    """

    def answer(request: web.Request, exc: Exception) -> web.StreamResponse | None:
        if isinstance(exc, ApiError):
            return render(exc.status, exc.kind, exc.message)
        if not http_errors or not isinstance(exc, web.HTTPException):
            return None
        if isinstance(exc, web.HTTPNotFound):
            return render(404, NotFound.kind, "The resource could not be found.")
        if isinstance(exc, web.HTTPMethodNotAllowed):
            return render(405, MethodNotAllowed.kind, "The method is not allowed here.")
        if isinstance(exc, web.HTTPRequestEntityTooLarge):
            return render(413, "RequestEntityTooLarge", "The request body is too large.")
        return render(exc.status, exc.reason or "Error", exc.text or exc.reason or "")

    def crash(request: web.Request) -> web.StreamResponse:
        return render(500, "InternalError", "The server has either erred or is incapable.")

    return errors.error_middleware(answer, crash, ids=ids, logger=log)


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
