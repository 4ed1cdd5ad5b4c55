"""``DELETE ?multipart-manifest=delete``: a static large object with all its segments.

As Swift's ``handle_multipart_delete``: a 200 goes out at once, whitespace
keeps the connection alive, and the body ends with the bulk-delete report
(``Number Deleted``, ``Number Not Found``, ``Response Status``, the errors)
as text, JSON or XML after Accept. Segments are deleted first, nested
manifests' segments before those manifests, the manifest itself last; each
DELETE is the client's own (its write access counts). ``async=yes`` deletes
the manifest at once and its segments after the answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy import manifest
from objectstore.proxy.swift import obj, subrequest
from objectstore.proxy.swift.errors import HTML, SwiftError, reason
from objectstore.proxy.swift.headers import truthy
from objectstore.proxy.swift.heartbeat import XML_DECL, out_type, render
from objectstore.proxy.swift.middleware import slo_manifest
from objectstore.proxy.swift.pipeline import Next

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

log = logging.getLogger(__name__)

YIELD_FREQUENCY = 10
_BACKGROUND: set[asyncio.Task[None]] = set()  # async deletes still running


@dataclass
class Doomed:
    """An object to delete: ``/container/object``; ``error`` when its manifest could not
    be read (code, message)."""

    name: str
    nested: bool = False
    error: tuple[int, str] | None = None


@dataclass
class Report:
    deleted: int = 0
    not_found: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    bad_gateway: bool = False
    status: str = ""
    body: str = ""

    def fields(self) -> dict[str, object]:
        status = self.status
        if not status:
            if self.errors:
                status = "502 Bad Gateway" if self.bad_gateway else "400 Bad Request"
            elif not (self.deleted or self.not_found):
                status, self.body = "400 Bad Request", "Invalid bulk delete."
            else:
                status = "200 OK"
        return {
            "Response Status": status,
            "Response Body": self.body,
            "Number Deleted": self.deleted,
            "Number Not Found": self.not_found,
        }


async def handle_delete(ctx: Ctx, next: Next) -> web.StreamResponse:
    if truthy(ctx.params.get("async")):
        return await _async_delete(ctx, next)
    media = out_type(ctx.headers.get("Accept"))
    resp = web.StreamResponse(status=200, headers={"Content-Type": media or HTML})
    await resp.prepare(ctx.request)
    report = Report()
    task = asyncio.ensure_future(_delete_all(ctx, next, media, report))
    first, separator = (XML_DECL if media and media.endswith("/xml") else b" "), b""
    try:
        while not task.done():
            done, _pending = await asyncio.wait({task}, timeout=YIELD_FREQUENCY)
            if not done:
                await resp.write(first)
                first, separator = b" ", b"\r\n\r\n"
        task.result()
    finally:
        task.cancel()
    body = render(media, report.fields(), report.errors, "delete")
    await resp.write(separator + body)
    await resp.write_eof()
    return resp


async def _delete_all(ctx: Ctx, next: Next, media: str | None, report: Report) -> None:
    if media is None:
        report.status = "406 Not Acceptable"
        return
    try:
        async for item in _doomed(ctx):
            if item.error is not None:
                code, message = item.error
                if code == 404:
                    report.not_found += 1
                else:
                    report.errors.append((quote(item.name), message))
                continue
            path = f"/v1/{ctx.account}/{item.name.lstrip('/')}"
            status = await subrequest.status(ctx, next, "DELETE", path)
            if 200 <= status < 300:
                report.deleted += 1
            elif status == 404:
                report.not_found += 1
            else:
                report.bad_gateway |= status >= 500
                report.errors.append((quote(item.name), f"{status} {reason(status)}"))
    except SwiftError as exc:
        report.status = f"{exc.status} {reason(exc.status)}"
        report.body = exc.body or ""


async def _doomed(ctx: Ctx) -> AsyncIterator[Doomed]:
    """Swift's get_segments_to_delete_iter: segments (nested ones expanded), then manifests."""
    queue = [Doomed(f"/{ctx.container}/{ctx.obj}", nested=True)]
    limit = slo_manifest.MAX_MANIFEST_SEGMENTS * 10
    while queue:
        if len(queue) > limit:
            raise SwiftError(400, "Too many buffered slo segments to delete.", content_type=HTML)
        item = queue.pop(0)
        if item.nested:
            try:
                queue.extend(await _segments(ctx, item.name))
            except SwiftError as exc:
                item.error = (exc.status, exc.body or "")
            item.nested = False
            queue.append(item)
        else:
            yield item


async def _segments(ctx: Ctx, name: str) -> list[Doomed]:
    """The entries of the manifest ``/container/object`` (Swift's get_slo_segments)."""
    container, _, obj_name = name.lstrip("/").partition("/")
    try:
        await obj.authorize(ctx, ctx.account, container, "GET")
        info, body = await ctx.core.get_object(ctx.account, container, obj_name, raw=True)
    except SwiftError as exc:
        if exc.status == 401:
            raise SwiftError(401, "401 Unauthorized", content_type=HTML) from None
        raise SwiftError(
            500, "Unable to load SLO manifest or segment.", content_type=HTML
        ) from None
    except core_errors.NotFound:
        raise SwiftError(404, "SLO manifest not found", content_type=HTML) from None
    except core_errors.ProxyError:
        raise SwiftError(
            500, "Unable to load SLO manifest or segment.", content_type=HTML
        ) from None
    try:
        if not manifest.is_slo(info.system):
            raise SwiftError(400, "Not an SLO manifest", content_type=HTML)
        data = await body.read()
    finally:
        body.close()
    try:
        entries: list[dict[str, Any]] = json.loads(data)
    except ValueError:
        raise SwiftError(500, "Unable to load SLO manifest", content_type=HTML) from None
    return [
        Doomed(str(e["name"]), nested=bool(e.get("sub_slo"))) for e in entries if "data" not in e
    ]


async def _async_delete(ctx: Ctx, next: Next) -> web.StreamResponse:
    """Swift's handle_async_delete: one container of plain segments; the manifest now."""
    assert ctx.container is not None and ctx.obj is not None
    segments = await _segments(ctx, f"/{ctx.container}/{ctx.obj}")
    if not segments:
        return await next(_plain_delete(ctx))
    containers = {s.name.lstrip("/").partition("/")[0] for s in segments}
    if len(containers) > 1:
        listed = ", ".join(f'"{quote(c)}"' for c in containers)
        raise SwiftError(
            400,
            f"All segments must be in one container. Found segments in {listed}",
            content_type=HTML,
        )
    if any(s.nested for s in segments):
        raise SwiftError(400, "No segments may be large objects.", content_type=HTML)
    await obj.authorize(ctx, ctx.account, ctx.container, "DELETE")
    (container,) = containers
    await obj.authorize(ctx, ctx.account, container, "DELETE")
    resp = await next(_plain_delete(ctx))
    if 200 <= resp.status < 300:
        task = asyncio.ensure_future(_delete_later(ctx, container, segments))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)
    return resp


def _plain_delete(ctx: Ctx) -> Ctx:
    import dataclasses

    params = {k: v for k, v in ctx.params.items() if k not in ("multipart-manifest", "async")}
    return dataclasses.replace(ctx, params=params)


async def _delete_later(ctx: Ctx, container: str, segments: list[Doomed]) -> None:
    """The segments of an async delete, after the answer (the expirer's work in Swift)."""
    for seg in segments:
        name = seg.name.lstrip("/").partition("/")[2]
        try:
            await ctx.core.delete_object(ctx.account, container, name)
        except core_errors.NotFound:
            pass
        except core_errors.ProxyError as exc:
            log.warning("async SLO delete left %s/%s: %r", container, name, exc)
