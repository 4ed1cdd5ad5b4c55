"""Swift's ``container_quotas``: a byte and an object-count limit per container.

The limits are the container's own metadata, ``X-Container-Meta-Quota-Bytes``
and ``-Quota-Count``, so whoever may set container metadata sets them (the
account's owner); a PUT or POST of the container with a value that is not
all digits is refused (400 ``Invalid bytes quota.`` / ``Invalid count
quota.``). An object write (a PUT, a copy's destination) that would take
the container past a limit gets 413 ``Upload exceeds quota.``, but only
after the caller's own 401/403, so the quota tells a stranger nothing.

As in Swift, the size is the request's Content-Length (a copy's: its
source's size), so a chunked upload is let through while the container is
within its quota; it is refused once the container is over. Swift reads
the container's stats from its info cache, so a burst of uploads can
overshoot; Stratus reads them fresh when the container has a quota.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.swift import pipeline
from objectstore.proxy.swift.errors import HTML, SwiftError
from objectstore.proxy.swift.upload import incoming, refuse

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

BYTES, COUNT = "quota-bytes", "quota-count"  # the container metadata names
EXCEEDED = "Upload exceeds quota."


async def handle(ctx: Ctx, next: pipeline.Next) -> web.StreamResponse:
    if ctx.container is None:
        return await next(ctx)
    if ctx.obj is None and ctx.method in ("PUT", "POST"):
        for name, what in ((BYTES, "bytes"), (COUNT, "count")):
            value = ctx.headers.get(f"X-Container-Meta-{name}")
            if value and not value.isdigit():
                raise SwiftError(400, f"Invalid {what} quota.", content_type=HTML)
    elif ctx.obj is not None:
        await _enforce(ctx)
    return await next(ctx)


async def _enforce(ctx: Ctx) -> None:
    """413 when the write would take its container past a quota."""
    upload = incoming(ctx)
    if upload is None:
        return
    try:
        info = await ctx.core.container_info(upload.account, upload.container)
    except core_errors.InvalidInput:
        return  # an overlong name: the handler gives Swift's answer
    if info is None:
        return  # the handler answers 404
    max_bytes, max_count = info.user.get(BYTES, ""), info.user.get(COUNT, "")
    if not (max_bytes.isdigit() or max_count.isdigit()):
        return
    length = await upload.length(ctx)
    if length is None:
        return  # the copy fails on its own
    try:
        now = await ctx.core.head_container(upload.account, upload.container)
    except core_errors.ContainerNotFound:
        return
    if (max_bytes.isdigit() and int(max_bytes) < now.bytes_used + length) or (
        max_count.isdigit() and int(max_count) < now.object_count + 1
    ):
        raise await refuse(ctx, upload, EXCEEDED)


FEATURE = pipeline.Feature("container_quotas", handle, lambda: {})
