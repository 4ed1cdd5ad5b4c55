"""Object requests: GET/HEAD (ranges, conditions), PUT (streamed), POST, DELETE, COPY.

PUT streams the request body into the core as it arrives; GET streams the
node's body out (small bodies go out in one write). Server-side copies are
``COPY`` with ``Destination`` or ``PUT`` with ``X-Copy-From``; the source
needs read access, the destination write access.
"""

from __future__ import annotations

import logging
import mimetypes
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.conditional import http_date
from objectstore.proxy.manifest import SegmentedBody
from objectstore.proxy.models import ObjectInfo, ObjectMetadata
from objectstore.proxy.ranges import content_range
from objectstore.proxy.reads import ObjectBody
from objectstore.proxy.swift import auth, conditional
from objectstore.proxy.swift.constraints import (
    check_account_name,
    check_container_name,
    check_metadata,
    check_object_name,
    is_utf8,
    name_too_long,
)
from objectstore.proxy.swift.errors import HTML, SwiftError, status_response
from objectstore.proxy.swift.headers import (
    attribute_headers,
    content_attributes,
    delete_at,
    meta_headers,
    truthy,
    user_metadata,
)
from objectstore.proxy.swift.ranges import (
    closing,
    multipart_content_type,
    multipart_length,
    new_boundary,
    parse_range,
    part_head,
)

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

log = logging.getLogger(__name__)

ALLOW = "COPY, DELETE, GET, HEAD, POST, PUT"
ONE_WRITE = 64 * 1024  # bodies up to this size are sent in one write


class StreamBroken(Exception):
    """The body failed after the headers went out: the connection must close."""


async def dispatch(ctx: Ctx) -> web.StreamResponse:
    """Authorize, then run the method's handler.

    As in Swift, no container or object has an overlong name, so after
    authorization such a request finds nothing (404), except a PUT of an
    overlong object name into an existing container: 400.
    """
    assert ctx.container is not None and ctx.obj is not None
    check_account_name(ctx.account)
    handler = HANDLERS.get(ctx.method)
    if handler is None:
        raise SwiftError(405, headers={"Allow": ALLOW})
    method = "GET" if ctx.method == "COPY" else ctx.method
    await authorize(ctx, ctx.account, ctx.container, method)
    if name_too_long(ctx.container):
        raise SwiftError(404)
    if name_too_long(ctx.container, ctx.obj):
        if ctx.method == "PUT":
            await ctx.core.head_container(ctx.account, ctx.container)  # 404 first, as Swift
            check_object_name(ctx.obj)
        raise SwiftError(404)
    return await handler(ctx)


async def authorize(ctx: Ctx, account: str, container: str, method: str) -> auth.Access:
    """Owner rights, else what the container's ACLs grant (401/403 otherwise)."""
    access = auth.owner_access(ctx.principal, account)
    if access is not None:
        return auth.check_owner(access, ctx.principal, method)
    info = await ctx.core.container_info(account, container)
    return auth.acl_access(
        ctx.principal, info, method, obj=True, referer=ctx.headers.get("Referer")
    )


def object_headers(info: ObjectInfo) -> dict[str, str]:
    headers = {
        "Content-Type": info.content_type,
        "Etag": info.etag,
        "Last-Modified": http_date(info.last_modified.seconds),
        "X-Timestamp": info.last_modified.normal,
        "Accept-Ranges": "bytes",
    }
    headers.update(meta_headers(info.user, "object"))
    headers.update(attribute_headers(info.attributes))
    if info.delete_at is not None:
        headers["X-Delete-At"] = str(info.delete_at)
    return headers


def _precondition(ctx: Ctx, info: ObjectInfo) -> web.Response | None:
    status = conditional.evaluate(ctx.method, ctx.headers, info.etag, info.last_modified.seconds)
    if status is None:
        return None
    if status == 304:
        hdrs = {k: v for k, v in object_headers(info).items() if k != "Content-Type"}
        return web.Response(status=304, headers=hdrs)
    return status_response(412)


async def handle_head(ctx: Ctx) -> web.StreamResponse:
    assert ctx.container is not None and ctx.obj is not None
    try:
        info = await ctx.core.head_object(
            ctx.account, ctx.container, ctx.obj, newest=truthy(ctx.headers.get("X-Newest"))
        )
    except core_errors.ObjectNotFound:
        raise SwiftError(conditional.missing_object_status(ctx.headers)) from None
    stop = _precondition(ctx, info)
    if stop is not None:
        return stop
    resp = web.StreamResponse(status=200, headers=object_headers(info))
    resp.content_length = info.size
    await resp.prepare(ctx.request)
    await resp.write_eof()
    return resp


async def handle_get(ctx: Ctx) -> web.StreamResponse:
    assert ctx.container is not None and ctx.obj is not None
    try:
        info, body = await ctx.core.get_object(
            ctx.account, ctx.container, ctx.obj, newest=truthy(ctx.headers.get("X-Newest"))
        )
    except core_errors.ObjectNotFound:
        raise SwiftError(conditional.missing_object_status(ctx.headers)) from None
    try:
        stop = _precondition(ctx, info)
        if stop is not None:
            return stop
        specs = parse_range(ctx.headers.get("Range"))
        if specs is not None:
            body.select(specs)
        return await _send_body(ctx, info, body)
    finally:
        body.close()


async def _send_body(
    ctx: Ctx, info: ObjectInfo, body: ObjectBody | SegmentedBody
) -> web.StreamResponse:
    headers = object_headers(info)
    ranges = body.ranges
    if ranges is None:
        if info.size <= ONE_WRITE:
            return web.Response(status=200, body=await body.read(), headers=headers)
        return await _stream(ctx, 200, headers, info.size, body.chunks())
    if len(ranges) == 1:
        start, stop = ranges[0]
        headers["Content-Range"] = content_range(start, stop, info.size)
        return await _stream(ctx, 206, headers, stop - start, body.chunks())
    boundary = new_boundary()
    ctype = info.content_type
    headers["Content-Type"] = multipart_content_type(boundary)
    length = multipart_length(boundary, ctype, ranges, info.size)

    async def parts() -> Any:
        for start, stop in ranges:
            yield part_head(boundary, ctype, start, stop, info.size)
            async for chunk in body.range_chunks(start, stop):
                yield chunk
            yield b"\r\n"
        yield closing(boundary)

    return await _stream(ctx, 206, headers, length, parts())


async def _stream(
    ctx: Ctx, status: int, headers: dict[str, str], length: int, chunks: Any
) -> web.StreamResponse:
    resp = web.StreamResponse(status=status, headers=headers)
    resp.content_length = length
    await resp.prepare(ctx.request)
    sent = 0
    try:
        async for chunk in chunks:
            sent += len(chunk)
            await resp.write(chunk)
    except Exception as exc:
        log.warning("object body failed after %d of %d bytes: %r", sent, length, exc)
        raise StreamBroken(repr(exc)) from exc
    await resp.write_eof()
    return resp


def _content_type(ctx: Ctx, name: str) -> str:
    given = ctx.headers.get("Content-Type")
    if not given or truthy(ctx.headers.get("X-Detect-Content-Type")):
        guessed, _enc = mimetypes.guess_type(name, strict=False)
        return guessed or "application/octet-stream"
    return given


def _put_metadata(ctx: Ctx, name: str) -> ObjectMetadata:
    """The checks of Swift's check_object_creation and check_content_type, in their order."""
    ctype = _content_type(ctx, name)
    expires = delete_at(ctx.headers)
    if not is_utf8(ctype):
        raise SwiftError(400, "Invalid Content-Type")
    check_metadata(ctx.headers, "object")
    if any(p.lstrip().startswith("swift_") for p in ctype.split(";")[1:]):
        raise SwiftError(
            400, "Invalid Content-Type, swift_* is not a valid parameter name.", content_type=HTML
        )
    etag = ctx.headers.get("ETag")
    user = user_metadata(ctx.headers, "object", removals=False)
    return ObjectMetadata(
        content_type=ctype,
        user={k: v for k, v in user.items() if v},
        attributes=content_attributes(ctx.headers),
        delete_at=expires,
        etag=etag.strip().strip('"').lower() if etag else None,
    )


async def handle_put(ctx: Ctx) -> web.StreamResponse:
    assert ctx.container is not None and ctx.obj is not None
    if "X-Copy-From" in ctx.headers:
        if ctx.request.content_length:
            raise SwiftError(400, "Copy requests require a zero byte body")
        src = _copy_source(ctx)
        return await _copy(ctx, src, (ctx.account, ctx.container, ctx.obj))
    length = ctx.request.content_length
    chunked = "chunked" in ctx.headers.get("Transfer-Encoding", "").lower()
    if length is not None and length > ctx.core.max_object_size:
        raise SwiftError(413, "Your request is too large.")
    if length is None and not chunked:
        raise SwiftError(411, "Missing Content-Length header.")
    md = _put_metadata(ctx, ctx.obj)
    await _if_none_match(ctx)
    body: Any = b"" if length == 0 else ctx.request.content.iter_any()
    result = await ctx.core.put_object(
        ctx.account, ctx.container, ctx.obj, body, md, content_length=length
    )
    return web.Response(
        status=201,
        headers={
            "Etag": result.etag,
            "Last-Modified": http_date(result.timestamp.seconds),
            "Content-Type": HTML,
        },
    )


async def _if_none_match(ctx: Ctx) -> None:
    """``If-None-Match: *`` on PUT: 412 when the object exists (a list must hold ``*``)."""
    value = ctx.headers.get("If-None-Match")
    if value is None:
        return
    if "*" not in (v.strip() for v in value.split(",")):
        raise SwiftError(400, "If-None-Match only supports *")
    assert ctx.container is not None and ctx.obj is not None
    try:
        await ctx.core.head_object(ctx.account, ctx.container, ctx.obj)
    except core_errors.ObjectNotFound:
        return
    raise SwiftError(412)


async def handle_post(ctx: Ctx) -> web.StreamResponse:
    """Replace user metadata and content attributes; 202."""
    assert ctx.container is not None and ctx.obj is not None
    check_metadata(ctx.headers, "object")
    ctype = ctx.headers.get("Content-Type")
    if ctype is not None and not is_utf8(ctype):
        raise SwiftError(400, "Invalid Content-Type")
    user = user_metadata(ctx.headers, "object", removals=False)
    md = ObjectMetadata(
        content_type=ctype or None,
        user={k: v for k, v in user.items() if v},
        attributes=content_attributes(ctx.headers),
        delete_at=delete_at(ctx.headers),
    )
    await ctx.core.post_object(ctx.account, ctx.container, ctx.obj, md)
    return status_response(202)


async def handle_delete(ctx: Ctx) -> web.StreamResponse:
    assert ctx.container is not None and ctx.obj is not None
    await ctx.core.delete_object(ctx.account, ctx.container, ctx.obj)
    return web.Response(status=204, headers={"Content-Type": HTML})


def _split_target(value: str, header: str) -> tuple[str, str]:
    """``[/]container/object`` (percent-encoded or not) -> (container, object)."""
    try:
        path = unquote(value.strip(), errors="strict").lstrip("/")
    except UnicodeDecodeError:
        raise SwiftError(412, "Invalid UTF8 or contains NULL", content_type=HTML) from None
    cont, _, name = path.partition("/")
    if not cont or not name:
        raise SwiftError(
            412,
            f"{header} header must be of the form <container name>/<object name>",
            content_type=HTML,
        )
    check_container_name(cont)
    check_object_name(name)
    return cont, name


def _copy_source(ctx: Ctx) -> tuple[str, str, str]:
    cont, name = _split_target(ctx.headers["X-Copy-From"], "X-Copy-From")
    account = unquote(ctx.headers.get("X-Copy-From-Account", ctx.account))
    check_account_name(account)
    return account, cont, name


async def handle_copy(ctx: Ctx) -> web.StreamResponse:
    """COPY <source> with ``Destination: container/object`` (and Destination-Account)."""
    assert ctx.container is not None and ctx.obj is not None
    dest = ctx.headers.get("Destination")
    if not dest:
        raise SwiftError(412, "Destination header required", content_type=HTML)
    cont, name = _split_target(dest, "Destination")
    account = unquote(ctx.headers.get("Destination-Account", ctx.account))
    check_account_name(account)
    return await _copy(ctx, (ctx.account, ctx.container, ctx.obj), (account, cont, name))


async def _copy(
    ctx: Ctx, src: tuple[str, str, str], dst: tuple[str, str, str]
) -> web.StreamResponse:
    await authorize(ctx, src[0], src[1], "GET")
    await authorize(ctx, dst[0], dst[1], "PUT")
    check_metadata(ctx.headers, "object")
    ctype = ctx.headers.get("Content-Type")
    md = ObjectMetadata(
        content_type=ctype or None,
        user=user_metadata(ctx.headers, "object", removals=True),
        attributes=content_attributes(ctx.headers),
        delete_at=delete_at(ctx.headers),
    )
    fresh = truthy(ctx.headers.get("X-Fresh-Metadata"))
    try:
        result, source = await ctx.core.copy_object(src, dst, md, fresh=fresh)
    except core_errors.ObjectNotFound:
        raise SwiftError(404) from None
    return web.Response(
        status=201,
        headers={
            "Etag": result.etag,
            "Last-Modified": http_date(result.timestamp.seconds),
            "X-Copied-From": quote(f"{src[1]}/{src[2]}"),
            "X-Copied-From-Account": quote(src[0]),
            "X-Copied-From-Last-Modified": http_date(source.last_modified.seconds),
            "Content-Type": HTML,
        },
    )


HANDLERS = {
    "GET": handle_get,
    "HEAD": handle_head,
    "PUT": handle_put,
    "POST": handle_post,
    "DELETE": handle_delete,
    "COPY": handle_copy,
}
