"""The request id: made once per request, carried in a context variable, logged, returned.

Each service answers with the headers its OpenStack peer sends (Cinder,
Glance, Neutron: ``X-Openstack-Request-Id``; Nova adds
``X-Compute-Request-Id``; Swift: ``X-Trans-Id`` and
``X-Openstack-Request-Id``). aiohttp runs every request in its own task, so
the variable set for one request is seen by everything it awaits, by the
tasks it starts, and by the access log line written after it, and by no
other request.

A service called by another (compute calling volume) also records the
caller's id, as OpenStack's "global request id": the caller sends its own id
(or the global id it was given) in ``X-Openstack-Request-Id``; an id of the
exact form ``req-<uuid>`` is kept in :data:`GLOBAL`, logged beside the
local one and passed on by :mod:`stratus.http.client`. Any other value is
ignored: a client's string is never logged or echoed.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass

from aiohttp import web

#: The id of the request being served in this context (None: none).
CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
#: The same id on the request itself, for handlers that prefer it.
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)
#: The caller's (global) request id of the request being served, if it sent a valid one.
GLOBAL: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "global_request_id", default=None
)
#: The request header a caller names its request id in.
GLOBAL_HEADER = "X-Openstack-Request-Id"
#: The only form accepted as a global id (oslo.context's check).
GLOBAL_FORM = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def current() -> str | None:
    """The id of the request this code runs for, if any."""
    return CURRENT.get()


def outgoing() -> str | None:
    """The id to send on to the services this request calls: the global one, else ours."""
    return GLOBAL.get() or CURRENT.get()


def global_id(request: web.Request) -> str | None:
    """The caller's request id when it is exactly ``req-<uuid>`` (anything else: None)."""
    value = request.headers.get(GLOBAL_HEADER)
    if value is None or not GLOBAL_FORM.fullmatch(value):
        return None
    return value


def openstack_id(request: web.Request | None = None) -> str:
    """``req-<uuid4>``, as oslo.context makes them."""
    return "req-" + str(uuid.uuid4())


@dataclass(frozen=True)
class IdStyle:
    """How one protocol names its request ids: the response headers and the maker."""

    headers: tuple[str, ...]
    new: Callable[[web.Request], str] = openstack_id


OPENSTACK = IdStyle(("X-Openstack-Request-Id",))
COMPUTE = IdStyle(("X-Openstack-Request-Id", "X-Compute-Request-Id"))
_STYLE: web.RequestKey[IdStyle] = web.RequestKey("request_id_style", IdStyle)


def begin(request: web.Request, style: IdStyle) -> str:
    """Give ``request`` a new id in ``style`` and make it this context's id.

    A request that already has one (an app's middleware ran before its
    sub-app's) keeps it, answered in the innermost app's style. The
    caller's valid ``X-Openstack-Request-Id`` becomes the context's global id.
    """
    rid = request.get(REQUEST_ID) or style.new(request)
    request[REQUEST_ID] = rid
    request[_STYLE] = style
    CURRENT.set(rid)
    GLOBAL.set(global_id(request))
    return rid


def stamp_headers(request: web.Request, headers: MutableMapping[str, str]) -> None:
    """Put the request's id on ``headers`` (a response's or an HTTPException's)."""
    style = request.get(_STYLE)
    rid = request.get(REQUEST_ID)
    if style is None or rid is None:
        return
    for name in style.headers:
        headers[name] = rid


async def stamp(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: every answer, streamed or raised, carries the id."""
    stamp_headers(request, response.headers)


class LogFilter(logging.Filter):
    """Sets the ids of the request being served on the record, for the log format.

    ``request_id``: ours (``-`` outside a request); ``global_request_id``:
    the caller's (``-``: none); ``request_ids``: ours, followed by
    ``(global <id>)`` when there is a caller's.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        rid: str = getattr(record, "request_id", None) or CURRENT.get() or "-"
        gid: str = getattr(record, "global_request_id", None) or GLOBAL.get() or "-"
        record.request_id = rid
        record.global_request_id = gid
        if not hasattr(record, "request_ids"):
            record.request_ids = rid + (f" (global {gid})" if gid != "-" else "")
        return True
