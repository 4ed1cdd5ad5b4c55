"""Swift's legacy versioned writes: ``X-Versions-Location`` and ``X-History-Location``.

A container names an archive container (one of the account's own, which
the client makes); each PUT over an object first copies the object there
as ``<3 hex digits: name length><name>/<timestamp>`` (the timestamp of the
version kept). The headers differ on DELETE:

- ``X-Versions-Location`` (stack): the newest archived version is copied
  back and removed from the archive, so an object with five versions needs
  five DELETEs to go;
- ``X-History-Location`` (history): the object is archived, a zero-byte
  delete marker is archived after it, and the object goes.

Both at once are a 400; an empty value or ``X-Remove-*-Location`` turns it
off. The copies are made for the writer, who needs write access to the
versioned container only (as in Swift). Statuses and bodies are Swift
2.38's: a missing or unwritable archive makes the write a 412.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy import turns
from objectstore.proxy.models import ListParams, ObjectInfo, ObjectMetadata, ObjectRow
from objectstore.proxy.swift import obj
from objectstore.proxy.swift.constraints import blen
from objectstore.proxy.swift.errors import HTML, SwiftError, status_response
from objectstore.proxy.swift.middleware import object_versioning as ov
from objectstore.proxy.swift.middleware import versions_names as vn
from objectstore.proxy.swift.pipeline import Feature, Next
from objectstore.timestamp import Timestamp

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

VERSIONS_HEADER = "X-Versions-Location"
HISTORY_HEADER = "X-History-Location"
REMOVE_HEADERS = ("X-Remove-Versions-Location", "X-Remove-History-Location")
LOCATION = ov.LEGACY  # container system entries: the archive container, as given
MODE = "versions-mode"  # ... and "stack" or "history"
PAGE = 1000


def archive_prefix(name: str) -> str:
    """Every archived version of ``name`` starts with this (its length in UTF-8 bytes)."""
    return f"{blen(name):03x}{name}/"


def archive_name(name: str, timestamp: Timestamp) -> str:
    return archive_prefix(name) + timestamp.normal


# --- containers -----------------------------------------------------------------


def _requested(ctx: Ctx) -> dict[str, str] | None:
    """The system entries a container PUT/POST asks for (None: no change)."""
    versions = ctx.headers.get(VERSIONS_HEADER)
    history = ctx.headers.get(HISTORY_HEADER)
    if versions is not None and history is not None:
        if not history:
            history = None
        elif versions:
            raise SwiftError(
                400,
                "Only one of x-versions-location or x-history-location may be specified",
                content_type="text/plain",
            )
        else:
            versions = None
    if versions is not None or history is not None:
        value, mode = (versions, "stack") if versions is not None else (history or "", "history")
        if value:
            if "/" in value:
                raise SwiftError(412, "Container name cannot contain slashes", content_type=HTML)
            return {LOCATION: value, MODE: mode}
        return {LOCATION: "", MODE: ""}
    if any(ctx.headers.get(h) for h in REMOVE_HEADERS):
        return {LOCATION: "", MODE: ""}
    return None


async def _container(ctx: Ctx, next: Next) -> web.StreamResponse:
    assert ctx.container is not None
    if ctx.method in ("PUT", "POST"):
        changes = _requested(ctx)
        resp = await next(ctx)
        if changes is not None and resp.status < 300:
            await ctx.core.post_container(ctx.account, ctx.container, system=changes)
        return resp
    resp = await next(ctx)
    if ctx.method in ("GET", "HEAD") and resp.status < 300 and not resp.prepared:
        system = await ov.container_system(ctx, ctx.account, ctx.container)
        location = system.get(LOCATION)
        if location:
            header = HISTORY_HEADER if system.get(MODE) == "history" else VERSIONS_HEADER
            resp.headers[header] = location
    return resp


# --- objects --------------------------------------------------------------------


def _failed(exc: core_errors.ProxyError) -> SwiftError:
    """Swift's _check_response_error: a client error is 412, anything else 503."""
    return SwiftError(412 if 400 <= exc.status < 500 else 503)


async def _copy(ctx: Ctx, src: tuple[str, str, str], dst: tuple[str, str, str]) -> bool:
    """A version copied as stored (False: the source is gone)."""
    try:
        info = await ctx.core.head_object(*src, raw=True, newest=True)
        md = ObjectMetadata(delete_at=info.delete_at)
        await ctx.core.copy_object(src, dst, md, raw=True)
    except core_errors.ObjectNotFound:
        return False
    except core_errors.ProxyError as exc:
        raise _failed(exc) from None
    return True


async def _current(ctx: Ctx) -> ObjectInfo | None:
    try:
        return await ov.current_object(ctx)
    except core_errors.ProxyError as exc:
        raise _failed(exc) from None


async def _keep_current(ctx: Ctx, archive: str) -> None:
    """Copy the object (if any) into the archive, named by its own timestamp."""
    assert ctx.container is not None and ctx.obj is not None
    await obj.authorize(ctx, ctx.account, ctx.container, ctx.method)
    current = await _current(ctx)
    if current is None:
        return
    name = archive_name(ctx.obj, current.timestamp)
    await _copy(ctx, (ctx.account, ctx.container, ctx.obj), (ctx.account, archive, name))


async def _delete_history(ctx: Ctx, next: Next, archive: str) -> web.StreamResponse:
    assert ctx.obj is not None
    await _keep_current(ctx, archive)
    md = ObjectMetadata(content_type=vn.DELETE_MARKER)
    marker = archive_name(ctx.obj, Timestamp.now())
    try:
        await ctx.core.put_object(ctx.account, archive, marker, b"", md)
    except core_errors.ProxyError as exc:
        raise _failed(exc) from None
    return await next(ctx)


async def _archived(ctx: Ctx, archive: str, prefix: str) -> AsyncIterator[ObjectRow]:
    """The archived versions of one object, newest first."""
    marker = ""
    while True:
        params = ListParams(limit=PAGE, prefix=prefix, marker=marker, reverse=True)
        try:
            _info, rows = await ctx.core.list_objects(ctx.account, archive, params)
        except core_errors.ContainerNotFound:
            return
        except core_errors.ProxyError as exc:
            raise _failed(exc) from None
        for row in rows:
            if isinstance(row, ObjectRow):
                yield row
        if len(rows) < PAGE:
            return
        marker = rows[-1].name


async def _remove(ctx: Ctx, archive: str, name: str) -> web.StreamResponse:
    """The DELETE of an archived entry, made for the writer (Swift's pre-authed request)."""
    try:
        await ctx.core.delete_object(ctx.account, archive, name)
    except core_errors.ObjectNotFound:
        return status_response(404)
    return web.Response(status=204, headers={"Content-Type": HTML})


async def _delete_stack(ctx: Ctx, next: Next, archive: str) -> web.StreamResponse:
    """The newest archived version comes back in place of the object (Swift's pop)."""
    assert ctx.container is not None and ctx.obj is not None
    here = (ctx.account, ctx.container, ctx.obj)
    versions = _archived(ctx, archive, archive_prefix(ctx.obj))
    authorized = False
    async for previous in versions:
        if not authorized:
            await obj.authorize(ctx, ctx.account, ctx.container, "DELETE")
            authorized = True
        if previous.content_type != vn.DELETE_MARKER:
            if not await _copy(ctx, (ctx.account, archive, previous.name), here):
                continue
            return await _remove(ctx, archive, previous.name)
        # A history-mode marker on top: the object stays deleted unless it is back.
        if await _current(ctx) is not None:
            break
        async for older in versions:
            if older.content_type == vn.DELETE_MARKER:
                break
            if not await _copy(ctx, (ctx.account, archive, older.name), here):
                continue
            await _remove(ctx, archive, older.name)
            break
        return await _remove(ctx, archive, previous.name)
    return await next(ctx)


async def _object(ctx: Ctx, next: Next) -> web.StreamResponse:
    assert ctx.container is not None
    system = await ov.container_system(ctx, ctx.account, ctx.container)
    location = system.get(LOCATION)
    if not location:
        return await next(ctx)
    archive = unquote(location).split("/")[0]
    assert ctx.obj is not None
    # One at a time in this proxy: two overwrites at once would both archive the same
    # version and lose the other's; across proxies as in Swift (objectstore/proxy/turns.py).
    async with turns.key_turn(ctx.account, ctx.container, ctx.obj):
        if ctx.method == "PUT":
            await _keep_current(ctx, archive)
            return await next(ctx)
        if system.get(MODE) == "history":
            return await _delete_history(ctx, next, archive)
        return await _delete_stack(ctx, next, archive)


async def handle(ctx: Ctx, next: Next) -> web.StreamResponse:
    if ctx.container is None:
        return await next(ctx)
    if ctx.obj is None:
        return await _container(ctx, next)
    if ctx.method == "COPY":
        put = ov.copy_as_put(ctx)
        if put is not None and await _legacy(put):
            return await _object(put, next)
        return await next(ctx)
    if ctx.method in ("PUT", "DELETE"):
        return await _object(ctx, next)
    return await next(ctx)


async def _legacy(ctx: Ctx) -> bool:
    assert ctx.container is not None
    return bool((await ov.container_system(ctx, ctx.account, ctx.container)).get(LOCATION))


def info() -> dict[str, Any]:
    return {"allowed_flags": ["x-versions-location", "x-history-location"]}


FEATURE = Feature("versioned_writes", handle, info)
