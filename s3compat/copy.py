"""CopyObject: a server-side copy, within a bucket or across buckets.

The source is read through the core (a multipart source through its
segments, so the copy is a whole new object that shares nothing with the
source) and streamed into the destination's PUT. The metadata directive
decides whether the destination keeps the source's metadata (COPY) or
takes the request's (REPLACE); the tagging directive does the same for
tags. ``x-amz-copy-source-if-*`` conditions are judged against the source.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ObjectInfo, ObjectMetadata
from objectstore.proxy.ranges import RangeSpec
from s3compat import (
    access,
    acl,
    conditional,
    meta,
    namespace,
    policy,
    segments,
    sse,
    versioning,
)
from s3compat.context import Bucket, S3Context, to_datetime, xml_response
from s3compat.errors import S3Error
from s3compat.router import Permission, S3Request, validate_bucket_name, validate_key


@dataclass
class Source:
    bucket: Bucket
    key: str
    version_id: str | None
    loc: tuple[str, str, str] = ("", "", "")
    raw: ObjectInfo | None = None
    opener: sse.Opener | None = None  # an encrypted source's key

    @property
    def stored(self) -> ObjectInfo:
        """The source as stored (a manifest is not presented whole); set once it is found."""
        assert self.raw is not None
        return self.raw

    @property
    def info(self) -> ObjectInfo:
        return versioning.present(self.stored)


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """``/bucket/key?versionId=v`` (URL-encoded) as (bucket, key, version id)."""
    path, sep, query = value.partition("?")
    version = None
    if sep:
        name, _, version = query.partition("=")
        if name != "versionId" or not version:
            raise S3Error("InvalidArgument", "Unsupported copy source parameter")
        version = unquote(version)
    path = unquote(path).lstrip("/")
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key")
    validate_bucket_name(bucket)
    validate_key(key)
    return bucket, key, version


async def open_source(ctx: S3Context) -> Source:
    """Resolve, authorise and describe the copy source (NoSuchKey / AccessDenied)."""
    bucket_name, key, version = parse_copy_source(ctx.headers["x-amz-copy-source"])
    bucket = await namespace.find_bucket(ctx, bucket_name)
    access.check_expected_owner(ctx, bucket, "x-amz-source-expected-bucket-owner")
    action = policy.action_of("GetObject", version=version is not None)
    by_owner = access.check(ctx, bucket, Permission.READ, action, key)
    src = Source(bucket, key, version)
    sub = source_context(ctx, src)
    src.loc = await versioning.location(sub)
    try:
        src.raw = await ctx.core.head_object(*src.loc, raw=True)
    except core_errors.NotFound:
        raise await versioning.no_such_key(sub) from None
    if not by_owner and not access_object_read(ctx, src.raw, bucket):
        raise S3Error("AccessDenied")
    src.opener = sse.for_read(ctx, src.raw.system, copy_source=True)
    conditional.evaluate(
        ctx.headers,
        src.info.etag,
        float(src.info.last_modified),
        prefix="x-amz-copy-source-",
    )
    return src


def access_object_read(ctx: S3Context, raw: ObjectInfo, bucket: Bucket) -> bool:
    return acl.object_acl_allows(ctx, raw.system.get(meta.ACL), bucket.system, bucket.account)


def source_context(ctx: S3Context, src: Source) -> S3Context:
    """A view of the request as if it addressed the source object."""
    query = {"versionId": src.version_id} if src.version_id is not None else {}
    s3 = S3Request(ctx.s3.op, src.bucket.name, src.key, ctx.s3.virtual_host)
    return replace(ctx, s3=s3, query=query, bucket=src.bucket, extra={})


async def source_chunks(
    ctx: S3Context, src: Source, span: tuple[int, int] | None = None
) -> segments.BodySource:
    """The source's bytes (or a span of them), manifests read through their segments."""
    raw = src.raw
    assert raw is not None
    if segments.is_manifest(raw):
        segs = await segments.load(ctx, *src.loc)
        getter = sse.DecryptingGetter(ctx.core, src.opener) if src.opener is not None else None
        return segments.segmented_source(ctx, src.loc[0], segs, span, getter)
    ranges: list[RangeSpec] | None = None
    if span is not None and span[1] > span[0]:
        ranges = [(span[0], span[1] - 1)]
    info, body = await ctx.core.get_object(*src.loc, ranges, raw=True)
    if info.timestamp != raw.timestamp:
        body.close()
        raise S3Error("OperationAborted", "The copy source changed during the copy")
    if src.opener is not None:
        body = sse.decrypted(src.opener, info, body)
    return segments.BodySource(body.chunks(), body)


def _destination_metadata(ctx: S3Context, src: Source) -> ObjectMetadata:
    info = src.info
    directive = (ctx.headers.get("x-amz-metadata-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata directive.")
    requested = meta.metadata_for_put(ctx)
    system = dict(requested.system or {})
    if directive == "COPY":
        md = ObjectMetadata(
            content_type=info.content_type, user=dict(info.user), attributes=dict(info.attributes)
        )
        if "x-amz-storage-class" not in ctx.headers and meta.STORAGE_CLASS in info.system:
            system[meta.STORAGE_CLASS] = info.system[meta.STORAGE_CLASS]
        system.pop(meta.EMPTY_USER, None)  # the source's metadata, empty items included
        if meta.EMPTY_USER in info.system:
            system[meta.EMPTY_USER] = info.system[meta.EMPTY_USER]
    else:
        md = ObjectMetadata(
            content_type=requested.content_type,
            user=requested.user,
            attributes=requested.attributes,
        )
    tagging = (ctx.headers.get("x-amz-tagging-directive") or "COPY").upper()
    if tagging == "COPY":
        system.pop(meta.TAGS, None)
        if meta.TAGS in info.system:
            system[meta.TAGS] = info.system[meta.TAGS]
    if meta.CHECKSUM in info.system and not segments.is_manifest(src.stored):
        system[meta.CHECKSUM] = info.system[meta.CHECKSUM]
    md.system = system
    same = (src.bucket.account, src.bucket.name, src.key) == (ctx.account, ctx.bucket_name, ctx.key)
    if (
        same
        and directive == "COPY"
        and "x-amz-storage-class" not in ctx.headers
        and not sse.requested(ctx)
    ):
        raise S3Error(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect "
            "location or encryption attributes.",
        )
    return md


async def handle_copy_object(ctx: S3Context) -> web.StreamResponse:
    src = await open_source(ctx)
    md = _destination_metadata(ctx, src)
    protect = await sse.for_write(ctx)
    current = await versioning.current_if_needed(ctx)
    md = await versioning.before_put(ctx, md, current)
    chunks = await source_chunks(ctx, src)
    try:
        result = await ctx.core.put_object(
            *versioning.destination(ctx, md),
            sse.encrypting(protect, md, chunks),
            md,
            content_length=src.info.size,
        )
    finally:
        await chunks.aclose()
    await versioning.after_put(ctx, md)
    await segments.after_overwrite(ctx, current)
    headers: dict[str, Any] = protect.headers() if protect is not None else {}
    vid = (md.system or {}).get(meta.VERSION_ID)
    if vid is not None and vid != versioning.NULL:
        headers["x-amz-version-id"] = vid
    if src.raw is not None and meta.VERSION_ID in src.raw.system:
        headers["x-amz-copy-source-version-id"] = src.raw.system[meta.VERSION_ID]
    body = {"ETag": f'"{result.etag}"', "LastModified": to_datetime(result.timestamp)}
    resp = xml_response("CopyObjectResult", body)
    resp.headers.update(headers)
    return resp
