"""Writing a request body as an object: the path PutObject and UploadPart share.

Small bodies (up to the core's ``BUFFER_LIMIT``, read by the core's own
prefix reader) are read and verified whole before the core is called, so a
trailing checksum is known in time to be stored with the object and a bad
body never reaches a storage node. Larger bodies stream into the core as
they arrive; their checksum, known only at the end (a trailer, or computed
on the way), is the write's footer: the core sends it after the last byte
and each storage node commits it with the object, in the same write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ObjectInfo, ObjectMetadata, PutResult
from objectstore.proxy.writes import BUFFER_LIMIT, read_prefix
from s3compat import access, checksums, inflight, meta, segments, sse, versioning
from s3compat.context import S3Context
from s3compat.errors import S3Error


async def check_write_conditions(ctx: S3Context) -> None:
    """If-None-Match: * (create only) and If-Match: <etag> (replace only) on PutObject and
    CompleteMultipartUpload: 412 PreconditionFailed, or 404 NoSuchKey for If-Match on no object."""
    none_match = ctx.headers.get("if-none-match")
    match = ctx.headers.get("if-match")
    if none_match is None and match is None:
        return
    if none_match is not None and none_match.strip() != "*":
        raise S3Error("NotImplemented", "If-None-Match on writes supports only '*'")
    if inflight.conflicts(ctx):  # an earlier write of this key may still change the answer
        raise S3Error("ConditionalRequestConflict")
    try:
        info: ObjectInfo | None = await ctx.core.head_object(ctx.account, ctx.bucket_name, ctx.key)
    except core_errors.NotFound:
        info = None
    if none_match is not None and info is not None:
        raise S3Error("PreconditionFailed", extra={"Condition": "If-None-Match"})
    if match is not None:
        if info is None:
            raise access.hide_missing(ctx, S3Error("NoSuchKey", extra={"Key": ctx.key}))
        if match.strip().strip('"') not in ("*", info.etag):
            raise S3Error("PreconditionFailed", extra={"Condition": "If-Match"})


async def _chain(first: list[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in first:
        yield chunk
    async for chunk in rest:
        yield chunk


def _checksum(ctx: S3Context) -> dict[str, str]:
    """The system entry of the body's checksum (none while it is not known)."""
    body = ctx.body
    assert body is not None
    if body.checksum_algorithm is not None and body.checksum_value is not None:
        return {meta.CHECKSUM: f"{body.checksum_algorithm}:{body.checksum_value}"}
    return {}


def _store_checksum(ctx: S3Context, md: ObjectMetadata) -> None:
    if entry := _checksum(ctx):
        md.system = {**(md.system or {}), **entry}


async def store_body(
    ctx: S3Context,
    account: str,
    container: str,
    name: str,
    md: ObjectMetadata,
    protect: sse.Protection | None = None,
) -> PutResult:
    """Stream the verified request body into ``account/container/name`` (encrypted when
    ``protect`` says so)."""
    body = ctx.body
    assert body is not None
    if body.content_md5 is not None:
        md.etag = body.content_md5
    seal = protect.seal(md) if protect is not None else None
    first, _size, rest = await read_prefix(body, BUFFER_LIMIT)
    if seal is not None:
        first = [seal(chunk) for chunk in first]
    _store_checksum(ctx, md)
    if rest is None:
        return await ctx.core.put_object(account, container, name, b"".join(first), md)
    if seal is not None:
        rest = sse.transformed(rest, seal)
    late = body.checksum_algorithm is not None and body.checksum_value is None
    result = await ctx.core.put_object(
        account,
        container,
        name,
        _chain(first, rest),
        md,
        content_length=body.content_length,
        footer=(lambda: _checksum(ctx)) if late else None,
    )
    _store_checksum(ctx, md)  # what the write stored, for the response's headers
    return result


async def put_from_request(ctx: S3Context, md: ObjectMetadata) -> tuple[PutResult, ObjectMetadata]:
    """PutObject's write: versioning and old segments handled, then the body stored."""
    protect = await sse.for_write(ctx)
    current = await versioning.current_if_needed(ctx)
    md = await versioning.before_put(ctx, md, current)
    result = await store_body(ctx, *versioning.destination(ctx, md), md, protect)
    await versioning.after_put(ctx, md)
    ctx.extra["sse"] = protect
    await segments.after_overwrite(ctx, current)
    return result, md


def result_headers(ctx: S3Context, md: ObjectMetadata) -> dict[str, str]:
    """Version id, checksum and encryption echoed by a write."""
    protect: sse.Protection | None = ctx.extra.get("sse")
    out: dict[str, str] = protect.headers() if protect is not None else {}
    vid = (md.system or {}).get(meta.VERSION_ID)
    if vid is not None and vid != "null":
        out["x-amz-version-id"] = vid
    stored = (md.system or {}).get(meta.CHECKSUM)
    if stored:
        algorithm, _, value = stored.partition(":")
        out[checksums.header_name(algorithm)] = value
    return out
