"""Cinder's error answers, in one place: ``{"<fault>": {"message": ..., "code": N}}``.

Handlers and the manager raise :class:`~blockstore.manager.errors.VolumeError`
subclasses; the middleware turns them, aiohttp's own HTTP errors (unknown
path, wrong method, body too large) and anything unexpected into the JSON
body and status Cinder would send, through the shared middleware of
:mod:`stratus.http.errors`. Unexpected errors are logged with the request
id and answered 500 without internals.
"""

from __future__ import annotations

import logging

from aiohttp import web

from blockstore.manager.errors import VolumeError
from stratus.http import errors
from stratus.http.requestid import REQUEST_ID

log = logging.getLogger("blockstore.api")

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


def _answer(request: web.Request, exc: Exception) -> web.StreamResponse | None:
    if isinstance(exc, ApiError):
        return fault(exc.status, str(exc), exc.headers)
    if isinstance(exc, VolumeError):
        return fault(exc.status, str(exc))
    if isinstance(exc, web.HTTPException) and exc.status >= 400:
        return from_http(exc)
    return None


def _crash(request: web.Request) -> web.StreamResponse:
    rid = request.get(REQUEST_ID, "-")
    return fault(
        500,
        f"The server has either erred or is incapable of performing the "
        f"requested operation. (request {rid})",
    )


#: The shared middleware (request id included) answering in Cinder's form.
cinder_errors = errors.error_middleware(_answer, _crash, logger=log)
