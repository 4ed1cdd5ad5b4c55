"""Object requests: GET/HEAD (ranges, conditions), PUT (streamed), POST, DELETE, COPY.

PUT streams the request body into the core as it arrives; GET streams the
node's body out (small bodies go out in one write). Server-side copies are
``COPY`` with ``Destination`` or ``PUT`` with ``X-Copy-From``; the source
needs read access, the destination write access.
"""

from __future__ import annotations

import dataclasses
import logging
import mimetypes
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy import sealed
from objectstore.proxy.conditional import http_date
from objectstore.proxy.manifest import SegmentedBody, strip_object_params
from objectstore.proxy.models import ObjectInfo, ObjectMetadata
from objectstore.proxy.ranges import content_range, unsatisfied_range
from objectstore.proxy.reads import ObjectBody
from objectstore.proxy.swift import auth, conditional, cors
from objectstore.proxy.swift.constraints import (
    RESERVED,
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

ALLOW = cors.ALLOW  # what Swift's 405 lists, OPTIONS included, in its order
ONE_WRITE = 64 * 1024  # bodies up to this size are sent in one write
# Hooks for filters (``ctx.environ`` keys, each a list of functions):
# INSPECT: ``fn(info)`` sees the object a GET/HEAD found, before its preconditions and
# body; it may raise (symlink follows its link, staticweb refuses directory markers).
# The innermost filter's hook runs first.
# PUT_EDITS: ``fn(metadata) -> metadata`` changes what a PUT stores (system entries).
INSPECT = "stratus.obj.inspect"
PUT_EDITS = "stratus.obj.put_edits"
# PUT_PLACE: ``fn((account, container, name)) -> (account, container, name)``: where a
# PUT (or copy) stores the object, once the request's own path was authorized and checked.
PUT_PLACE = "stratus.obj.put_place"
# READ_RAW: a flag: GET, HEAD and copies read a manifest as stored (multipart-manifest=get).
# PRESENT: ``async fn(ctx, info, body) -> (info, body)`` shows what a GET, a HEAD (body
# None) or a copy found as a filter presents it (dlo: the segments' bytes); the innermost
# filter's runs first; a function that replaces the body closes the one it was given.
READ_RAW = "stratus.obj.read_raw"
PRESENT = "stratus.obj.present"
Body = ObjectBody | SegmentedBody


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
    signed = auth.signed_access(ctx.environ, account, container)  # tempurl, formpost
    if signed is not None:
        return signed
    info = await ctx.core.container_info(account, container)
    return auth.acl_access(
        ctx.principal, info, method, obj=True, referer=ctx.headers.get("Referer")
    )


def refuse_sealed(info: ObjectInfo) -> None:
    """403 for the bytes of an object S3's server-side encryption sealed (see sealed.py)."""
    if sealed.sealed_by(info.system):
        raise SwiftError(403)


def inspect(ctx: Ctx, info: ObjectInfo) -> None:
    """Run the filters' INSPECT hooks on the object a GET/HEAD found."""
    for hook in reversed(ctx.environ.get(INSPECT, ())):
        hook(info)


async def present(ctx: Ctx, info: ObjectInfo, body: Body | None) -> tuple[ObjectInfo, Body | None]:
    """Run the filters' PRESENT hooks on what a GET, HEAD or copy found."""
    for hook in reversed(ctx.environ.get(PRESENT, ())):
        info, body = await hook(ctx, info, body)
    return info, body


def object_headers(info: ObjectInfo) -> dict[str, str]:
    headers = {
        "Content-Type": strip_object_params(info.content_type),  # (S3's listing parameter)
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
        return web.Response(status=304, headers=object_headers(info))
    # the object server's 412: no body, the object's validators
    hdrs = object_headers(info)
    keep = {k: hdrs[k] for k in ("Etag", "Last-Modified", "X-Timestamp")}
    return web.Response(status=412, headers={"Content-Type": HTML, **keep})


async def handle_head(ctx: Ctx) -> web.StreamResponse:
    assert ctx.container is not None and ctx.obj is not None
    try:
        info = await ctx.core.head_object(
            ctx.account,
            ctx.container,
            ctx.obj,
            newest=truthy(ctx.headers.get("X-Newest")),
            raw=bool(ctx.environ.get(READ_RAW)),
        )
    except core_errors.ObjectNotFound:
        raise SwiftError(conditional.missing_object_status(ctx.headers)) from None
    inspect(ctx, info)
    # A presenter may narrow a HEAD to one span (an SLO's ?part-number): a body with it.
    info, span = await present(ctx, info, None)
    stop = _precondition(ctx, info)
    if stop is not None:
        return stop
    resp = web.StreamResponse(status=200, headers=object_headers(info))
    resp.content_length = info.size
    if span is not None and span.ranges:
        start, end = span.ranges[0]
        resp.set_status(206)
        resp.headers["Content-Range"] = content_range(start, end, info.size)
        resp.content_length = end - start
        span.close()
    await resp.prepare(ctx.request)
    await resp.write_eof()
    return resp


async def handle_get(ctx: Ctx) -> web.StreamResponse:
    assert ctx.container is not None and ctx.obj is not None
    try:
        info, found = await ctx.core.get_object(
            ctx.account,
            ctx.container,
            ctx.obj,
            newest=truthy(ctx.headers.get("X-Newest")),
            raw=bool(ctx.environ.get(READ_RAW)),
        )
    except core_errors.ObjectNotFound:
        raise SwiftError(conditional.missing_object_status(ctx.headers)) from None
    body: Body | None = found
    try:
        inspect(ctx, info)
        refuse_sealed(info)
        info, body = await present(ctx, info, found)
        assert body is not None
        stop = _precondition(ctx, info)
        if stop is not None:
            return stop
        select_range(ctx, info, body)
        return await _send_body(ctx, info, body)
    finally:
        (body or found).close()


def select_range(ctx: Ctx, info: ObjectInfo, body: Body) -> None:
    """Narrow ``body`` to the request's ``Range`` (a GET's, or a copy's source read)."""
    specs = parse_range(ctx.headers.get("Range"))
    if specs is not None:
        try:
            body.select(specs)
        except core_errors.RangeNotSatisfiable as exc:  # swob's 416 keeps the headers
            hdrs = {**object_headers(info), "Content-Range": unsatisfied_range(exc.size)}
            raise SwiftError(416, headers=hdrs) from None


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
    headers["Content-Type"] = multipart_content_type(boundary)
    length = multipart_length(boundary, info.content_type, ranges, info.size)
    return await _stream(ctx, 206, headers, length, _byteranges(info, body, ranges, boundary))


async def _byteranges(
    info: ObjectInfo, body: Body, ranges: list[tuple[int, int]], boundary: str
) -> AsyncIterator[bytes]:
    """The ``multipart/byteranges`` body of several ranges."""
    for start, stop in ranges:
        yield part_head(boundary, info.content_type, start, stop, info.size)
        async for chunk in body.range_chunks(start, stop):
            yield chunk
        yield b"\r\n"
    yield closing(boundary)


async def _stream(
    ctx: Ctx, status: int, headers: dict[str, str], length: int, chunks: Any
) -> web.StreamResponse:
    # The first chunk is read before the headers go out: a body that fails at once (a
    # large object's first segment gone) is answered as an error, as Swift's
    # validate_first_segment does; later failures can only break the stream.
    source = aiter(chunks)
    first = await anext(source, b"")
    resp = web.StreamResponse(status=status, headers=headers)
    resp.content_length = length
    await resp.prepare(ctx.request)
    sent = 0
    try:
        await resp.write(first)
        sent = len(first)
        async for chunk in source:
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
        with cors.unstamped(ctx):  # Swift's copy filter refuses these itself
            if ctx.content_length:
                raise SwiftError(400, "Copy requests require a zero byte body")
            src = _copy_source(ctx)
        return await _copy(ctx, src, (ctx.account, ctx.container, ctx.obj))
    length = ctx.content_length
    chunked = "chunked" in ctx.headers.get("Transfer-Encoding", "").lower()
    if length is not None and length > ctx.core.max_object_size:
        raise SwiftError(413, "Your request is too large.")
    if length is None and not chunked:
        raise SwiftError(411, "Missing Content-Length header.")
    md = _put_metadata(ctx, ctx.obj)
    for edit in ctx.environ.get(PUT_EDITS, ()):
        md = edit(md)
    await _if_none_match(ctx)
    await ctx.core.require_unretained(ctx.account, ctx.container, ctx.obj)  # 409 (S3 lock)
    body: Any = b"" if length == 0 else ctx.body_chunks()
    dest = placed(ctx, (ctx.account, ctx.container, ctx.obj))
    result = await ctx.core.put_object(*dest, body, md, content_length=length)
    return web.Response(
        status=201,
        headers={
            "Etag": result.etag,
            "Last-Modified": http_date(result.timestamp.seconds),
            "Content-Type": HTML,
        },
    )


def placed(ctx: Ctx, path: tuple[str, str, str]) -> tuple[str, str, str]:
    """Where a write of ``path`` stores its object (the PUT_PLACE hooks')."""
    for place in ctx.environ.get(PUT_PLACE, ()):
        path = place(path)
    return path


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
    if "\x00" in path or path.startswith(RESERVED):  # no client names a reserved container
        raise SwiftError(412, "Invalid UTF8 or contains NULL", content_type=HTML)
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
    with cors.unstamped(ctx):  # Swift's copy filter refuses these itself
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
    await ctx.core.require_unretained(*dst)  # 409: a retained version is never replaced
    dst = placed(ctx, dst)
    check_metadata(ctx.headers, "object")
    ctype = ctx.headers.get("Content-Type")
    md = ObjectMetadata(
        content_type=ctype or None,
        user=user_metadata(ctx.headers, "object", removals=True),
        attributes=content_attributes(ctx.headers),
        delete_at=delete_at(ctx.headers),
    )
    for edit in ctx.environ.get(PUT_EDITS, ()):  # a copy is a PUT too
        md = edit(md)
    fresh = truthy(ctx.headers.get("X-Fresh-Metadata"))
    raw = bool(ctx.environ.get(READ_RAW))
    try:
        info, found = await ctx.core.get_object(*src, raw=raw)
    except core_errors.ObjectNotFound:
        raise SwiftError(404) from None
    body: Body | None = found
    try:
        refuse_sealed(info)
        info, body = await present(ctx, info, found)
        assert body is not None
        select_range(ctx, info, body)  # Swift's copy reads its source with the request's Range
        part, part_type = _copied_part(info, body)
        if part_type is not None and not ctype:
            md = dataclasses.replace(md, content_type=part_type)
        result, source = await ctx.core.copy_object(
            src, dst, md, fresh=fresh, raw=raw, source=(info, body), part=part
        )
    finally:
        (body or found).close()
    headers = {
        "Etag": result.etag,
        "Last-Modified": http_date(result.timestamp.seconds),
        "X-Copied-From": quote(f"{src[1]}/{src[2]}"),
        "X-Copied-From-Account": quote(src[0]),
        "X-Copied-From-Last-Modified": http_date(source.last_modified.seconds),
        "Content-Type": HTML,
    }
    # Swift's copy answers with the new object's metadata too (its _copy_headers).
    user = {} if fresh else dict(source.user)
    user.update(md.user)
    headers.update(meta_headers({k: v for k, v in user.items() if v}, "object"))
    if md.delete_at is not None:
        headers["X-Delete-At"] = str(md.delete_at)
    return web.Response(status=201, headers=headers)


def _copied_part(
    info: ObjectInfo, body: Body
) -> tuple[tuple[AsyncIterable[bytes], int] | None, str | None]:
    """What a ranged copy stores: the range, or the ``multipart/byteranges`` answer that
    Swift's source GET gives for several (with its content type); (None, None) if whole."""
    ranges = body.ranges
    if ranges is None:
        return None, None
    if len(ranges) == 1:
        start, stop = ranges[0]
        return (body.chunks(), stop - start), None
    boundary = new_boundary()
    length = multipart_length(boundary, info.content_type, ranges, info.size)
    chunks = _byteranges(info, body, ranges, boundary)
    return (chunks, length), multipart_content_type(boundary)


HANDLERS = {
    "GET": handle_get,
    "HEAD": handle_head,
    "PUT": handle_put,
    "POST": handle_post,
    "DELETE": handle_delete,
    "COPY": handle_copy,
}
