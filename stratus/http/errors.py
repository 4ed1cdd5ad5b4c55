"""The one error middleware of the aiohttp services, parameterised by the error body.

Every service puts it in its app's middlewares, giving:

- ``answer(request, exc)``: the protocol's answer to an error it knows
  (its own error classes, aiohttp's 404/405/413...), or None when ``exc``
  is not one; an HTTPException it does not answer goes out as aiohttp
  sends it;
- ``crash(request)``: the protocol's 500 body for anything unexpected; the
  exception is logged with the request id, never sent to the client;
- ``ids``: the request-id style (:mod:`stratus.http.requestid`).

Put it outside every middleware that can raise, so their errors get the
protocol's body and the request id too. The middleware stamps the id on
the answers it returns; an app whose handlers stream (prepare a response
themselves) also appends :func:`stratus.http.requestid.stamp` to
``app.on_response_prepare``, which stamps every answer as it is sent::

    app = web.Application(middlewares=[error_middleware(answer, crash), authenticate])
    app.on_response_prepare.append(requestid.stamp)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from stratus.http import requestid
from stratus.http.requestid import OPENSTACK, IdStyle

log = logging.getLogger("stratus.http")

Answer = Callable[[web.Request, Exception], web.StreamResponse | None]
Crash = Callable[[web.Request], web.StreamResponse]


def error_middleware(
    answer: Answer,
    crash: Crash,
    *,
    ids: IdStyle = OPENSTACK,
    passthrough: tuple[type[BaseException], ...] = (),
    logger: logging.Logger = log,
) -> Any:
    """Request ids in, the protocol's error answers out (see the module docstring).

    ``passthrough``: exceptions raised on untouched, before ``answer`` sees
    them (a body stream broken after its headers went out must close the
    connection, not get an error body).
    """

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        requestid.begin(request, ids)
        try:
            resp = await handler(request)
        except passthrough:
            raise
        except Exception as exc:
            answered = answer(request, exc)
            if answered is None:
                if isinstance(exc, web.HTTPException):
                    requestid.stamp_headers(request, exc.headers)
                    raise
                logger.exception(
                    "%s %s failed (request %s)",
                    request.method,
                    request.path,
                    request[requestid.REQUEST_ID],
                )
                answered = crash(request)
            resp = answered
        if not resp.prepared:
            requestid.stamp_headers(request, resp.headers)
        return resp

    return errors
