"""PutObject, GetObject, HeadObject and DeleteObject.

Bodies stream both ways: an upload goes from the verifying request body
(:class:`s3compat.auth.RequestBody`) straight into the core's PUT, a
download from the core (or from a multipart object's segments, see
:mod:`s3compat.segments`) straight to the client. Versioned buckets route
through :mod:`s3compat.versioning`, which decides where a version lives.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy import manifest, ranges
from objectstore.proxy.models import ObjectInfo, ObjectMetadata, PutResult
from s3compat import (
    access,
    checksums,
    conditional,
    lifecycle,
    meta,
    object_lock,
    segments,
    sse,
    versioning,
    writes,
)
from s3compat.context import S3Context, empty, etag_header
from s3compat.errors import S3Error
from stratus.digits import ascii_uint

log = logging.getLogger("stratus.s3")

_RANGE = re.compile(r"^bytes=([0-9]{0,64})-([0-9]{0,64})$")  # ASCII: int() takes no more


def parse_range(value: str | None) -> ranges.RangeSpec | None:
    """One ``bytes=a-b`` range; anything else (several ranges, junk) means the whole object."""
    if not value:
        return None
    m = _RANGE.match(value.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    first = int(m.group(1)) if m.group(1) else None
    last = int(m.group(2)) if m.group(2) else None
    if first is not None and last is not None and last < first:
        return None
    return first, last


def resolve_range(spec: ranges.RangeSpec, size: int) -> tuple[int, int]:
    """Half-open (start, stop) within ``size`` bytes (the core's resolution), or InvalidRange."""
    found = ranges.resolve([spec], size)
    if not found:
        raise _invalid_range(spec, size)
    return found[0]


def _invalid_range(spec: ranges.RangeSpec, size: int) -> S3Error:
    first, last = spec
    shown = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    return S3Error(
        "InvalidRange",
        extra={"RangeRequested": shown, "ActualObjectSize": str(size)},
        headers={"Content-Range": ranges.unsatisfied_range(size)},
    )


async def handle_put_object(ctx: S3Context) -> web.StreamResponse:
    md = meta.metadata_for_put(ctx)
    await writes.check_write_conditions(ctx)
    if ctx.settings.default_checksum and ctx.body is not None:
        ctx.body.sum_unless_declared(checksums.DEFAULT)  # AWS's default for an upload
    if ctx.body is not None and ctx.body.checksum_algorithm is not None:  # for listings
        md.content_type = segments.with_checksum(md.content_type or "", ctx.body.checksum_algorithm)
    result, md = await writes.put_from_request(ctx, md)
    headers = {"ETag": etag_header(result.etag)}
    headers.update(writes.result_headers(ctx, md))
    system = md.system or {}
    if meta.CHECKSUM in system:
        headers["x-amz-checksum-type"] = "FULL_OBJECT"  # a PutObject's is always (AWS)
    created = float(result.timestamp)
    headers.update(lifecycle.expiration_headers(ctx, ctx.key, created, result.size, system))
    return empty(200, headers)


def _part_number(ctx: S3Context) -> int | None:
    raw = ctx.query.get("partNumber")
    if raw is None:
        return None
    number = ascii_uint(raw)
    if number is None or not 1 <= number <= 10000:
        raise S3Error(
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
            extra={"ArgumentName": "partNumber", "ArgumentValue": raw[:64]},
        )
    return number


@dataclass
class Reading:
    """What a GET or HEAD found: the object as S3 shows it and how to read its bytes."""

    loc: tuple[str, str, str]
    raw: ObjectInfo  # as stored (a manifest's own size and ETag)
    info: ObjectInfo  # as presented
    segs: list[manifest.Segment] | None = None
    body: Any = None  # an open core body (plain objects, GET only)
    span: tuple[int, int] | None = None
    opener: sse.Opener | None = None  # how an encrypted object is read back
    ranged: bool = False  # a Range header chose the span (206 even when it is all the bytes)
    part_checksum: str | None = None  # partNumber of a multipart object: that part's "ALG:value"

    def close(self) -> None:
        if self.body is not None:
            self.body.close()
            self.body = None


async def _find(ctx: S3Context, *, body: bool) -> Reading:
    """Locate the requested version and open it (GET) or just describe it (HEAD)."""
    loc = await versioning.location(ctx)
    if "partNumber" in ctx.query and "range" in ctx.headers:  # before a bad partNumber (AWS)
        raise S3Error(
            "InvalidRequest", "Cannot specify both Range header and partNumber query parameter"
        )
    part = _part_number(ctx)
    spec = parse_range(ctx.headers.get("range")) if part is None else None
    core = ctx.core
    try:
        if body:
            raw, opened = await core.get_object(
                *loc, [spec] if spec is not None else None, raw=True
            )
        else:
            raw, opened = await core.head_object(*loc, raw=True), None
    except core_errors.RangeNotSatisfiable:
        raw, opened = await core.head_object(*loc, raw=True), None
        if not segments.is_manifest(raw):
            assert spec is not None  # only a range is ever unsatisfiable
            raise _invalid_range(spec, raw.size) from None
    except core_errors.NotFound:
        raise await versioning.no_such_key(ctx) from None
    r = Reading(loc, raw, versioning.present(raw), body=opened)
    try:
        await _shape(ctx, r, part, spec)
    except BaseException:
        r.close()
        raise
    return r


async def _shape(ctx: S3Context, r: Reading, part: int | None, spec: Any) -> None:
    """Decide the byte span (range or part) and, for manifests, load the segment list."""
    size = r.info.size
    if segments.is_manifest(r.raw):
        if r.body is not None and r.body.ranges is None:
            r.segs = manifest.load(r.raw.system, await r.body.read())
        elif part is not None or spec is not None or r.body is not None:
            r.segs = await segments.load(ctx, *r.loc)
        r.close()
    if part is not None:
        if r.segs is None:
            if part != 1:
                raise S3Error("InvalidPartNumber")
            r.span = (0, size)
        else:
            spans = segments.part_spans(r.segs)
            if part > len(spans):
                raise S3Error("InvalidPartNumber")
            r.span = spans[part - 1]
        if r.segs is not None and meta.CHECKSUM in r.raw.system and _checksum_mode(ctx):
            seg = r.segs[part - 1]
            stored = await segments.stored_checksums(ctx, seg.container, [seg.name])
            r.part_checksum = stored[0] or None
    elif spec is not None:
        r.ranged = True
        if r.body is not None and r.body.ranges:
            r.span = r.body.ranges[0]
        else:
            r.span = resolve_range(spec, size)


def _checksum_mode(ctx: S3Context) -> bool:
    """``x-amz-checksum-mode: ENABLED`` asks GET and HEAD for the stored checksum."""
    raw = ctx.headers.get("x-amz-checksum-mode")
    if raw is None:
        return False
    if raw.strip().upper() != "ENABLED":
        raise S3Error("InvalidRequest", "Value for x-amz-checksum-mode header is invalid.")
    return True


def _headers(ctx: S3Context, r: Reading) -> tuple[dict[str, str], int]:
    access.check_object_acl(ctx, r.raw.system.get(meta.ACL))
    r.opener = sse.for_read(ctx, r.raw.system)
    headers = meta.object_headers(r.info, checksum_mode=_checksum_mode(ctx))
    if r.opener is not None:
        headers.update(r.opener.headers())
    conditional.evaluate(
        ctx.headers,
        r.info.etag,
        float(r.info.last_modified),
        reading=True,
        extra_headers={k: headers[k] for k in ("ETag", "Last-Modified") if k in headers},
    )
    meta.response_overrides(ctx, headers)
    size = r.info.size
    if r.loc[1] == ctx.bucket_name:  # the current version: a rule may expire it
        created = float(r.info.last_modified)
        headers.update(lifecycle.expiration_headers(ctx, ctx.key, created, size, r.raw.system))
    status = 200
    if "partNumber" in ctx.query:
        headers["x-amz-mp-parts-count"] = str(len(r.segs) if r.segs is not None else 1)
    if r.span is not None and ("partNumber" in ctx.query or r.ranged or r.span != (0, size)):
        status = 206
        headers["Content-Range"] = ranges.content_range(*r.span, size)
        if r.span != (0, size) or r.part_checksum is not None:
            # Only a span of every byte keeps the object's checksum; a part has its own.
            kind = headers.get("x-amz-checksum-type")
            for name in [h for h in headers if h.startswith("x-amz-checksum-")]:
                del headers[name]
            if r.part_checksum is not None and kind is not None:
                algorithm, _, value = r.part_checksum.partition(":")
                headers[checksums.header_name(algorithm)] = value
                headers["x-amz-checksum-type"] = kind
    headers["Content-Length"] = str(r.span[1] - r.span[0] if r.span is not None else size)
    return headers, status


async def handle_head_object(ctx: S3Context) -> web.StreamResponse:
    r = await _find(ctx, body=False)
    headers, status = _headers(ctx, r)
    resp = web.StreamResponse(status=status, headers=headers)
    resp.content_length = int(headers["Content-Length"])
    await resp.prepare(ctx.request)
    await resp.write_eof()
    return resp


def _source(ctx: S3Context, r: Reading) -> segments.BodySource:
    opener = r.opener
    if r.segs is not None:
        getter = sse.DecryptingGetter(ctx.core, opener) if opener is not None else None
        return segments.segmented_source(ctx, r.loc[0], r.segs, r.span, getter)
    body = r.body
    r.body = None
    if opener is not None:
        body = sse.decrypted(opener, r.raw, body)
    return segments.BodySource(body.chunks(), body)


async def handle_get_object(ctx: S3Context) -> web.StreamResponse:
    r = await _find(ctx, body=True)
    try:
        headers, status = _headers(ctx, r)
    except BaseException:
        r.close()
        raise
    source = _source(ctx, r)
    resp = web.StreamResponse(status=status, headers=headers)
    resp.content_length = int(headers["Content-Length"])
    try:
        first = await _first_chunk(source)
        await resp.prepare(ctx.request)
        if first:
            await resp.write(first)
        async for chunk in source:
            await resp.write(chunk)
        await resp.write_eof()
    except (core_errors.ProxyError, S3Error) as exc:
        if not resp.prepared:
            raise
        # Headers are gone: the only honest signal left is a cut connection.
        log.warning("GET %s/%s failed mid-body: %r", ctx.bucket_name, ctx.key, exc)
        if ctx.request.transport is not None:
            ctx.request.transport.close()
    finally:
        await source.aclose()
    return resp


async def _first_chunk(source: segments.BodySource) -> bytes:
    """Read the first chunk before headers go out, so early failures get a real error."""
    try:
        return await anext(source)
    except StopAsyncIteration:
        return b""


async def handle_delete_object(ctx: S3Context) -> web.StreamResponse:
    await object_lock.check_version_delete(ctx)
    headers = await versioning.delete_for_request(ctx)
    return empty(204, headers)


async def put_plain(
    ctx: S3Context, account: str, container: str, name: str, data: bytes, md: ObjectMetadata
) -> PutResult:
    """A small in-memory PUT (manifests, markers)."""
    return await ctx.core.put_object(account, container, name, data, md)


async def delete_quietly(ctx: S3Context, account: str, container: str, name: str) -> None:
    with contextlib.suppress(core_errors.NotFound):
        await ctx.core.delete_object(account, container, name)
