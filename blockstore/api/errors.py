"""Cinder's error answers, in one place: ``{"<fault>": {"message": ..., "code": N}}``.

Handlers and the manager raise :class:`~blockstore.manager.errors.VolumeError`
subclasses; the middleware turns them, aiohttp's own HTTP errors (unknown
path, wrong method, body too large) and anything unexpected into the JSON
body and status Cinder would send. Unexpected errors are logged with the
request id and answered 500 without internals.
"""

from __future__ import annotations

import logging

from aiohttp import web

from blockstore.manager.errors import VolumeError

log = logging.getLogger("blockstore.api")
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)

FAULTS = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "notAcceptable",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    500: "computeFault",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def fault(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    name = FAULTS.get(status, "computeFault" if status >= 500 else "badRequest")
    return web.json_response(
        {name: {"message": message, "code": status}}, status=status, headers=headers
    )


class ApiError(VolumeError):
    """An HTTP-level refusal raised by the API itself (auth, body, version)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def from_http(exc: web.HTTPException) -> web.Response:
    messages = {
        404: "The resource could not be found.",
        405: "The method is not allowed for this resource.",
        413: "Request is too large.",
    }
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    return fault(exc.status, messages.get(exc.status, exc.reason), headers)


@web.middleware
async def cinder_errors(request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except ApiError as exc:
        return fault(exc.status, str(exc), exc.headers)
    except VolumeError as exc:
        return fault(exc.status, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return from_http(exc)
    except Exception:
        rid = request.get(REQUEST_ID, "-")
        log.exception("unexpected error in %s %s (%s)", request.method, request.path, rid)
        return fault(
            500,
            f"The server has either erred or is incapable of performing the "
            f"requested operation. (request {rid})",
        )
