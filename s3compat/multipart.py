"""Multipart uploads: Create, UploadPart, UploadPartCopy, Abort, ListParts, ListMultipartUploads.

Everything lives in the bucket's hidden ``<bucket>+segments`` container:

- the upload record ``u/<escaped key>\\x01\\x01<upload id>``: an empty object
  whose metadata is what the finished object will carry (content type,
  x-amz-meta-*, tags, ACL, storage class, checksum algorithm); a key too
  long for that name gets a digest name instead (see :mod:`s3compat.upload_keys`);
- each part ``p/<upload id>/<part number, 5 digits>``: an ordinary object
  streamed from the request, with its checksum in its system metadata.

Upload ids are 14 hex digits of the start time and 18 random ones, so one
key's uploads list in the order they began. Completing (see
:mod:`s3compat.complete`) writes a manifest that names the parts, which
then stay where they are as the object's segments; aborting deletes the
parts and the record, so an aborted upload leaves nothing behind. The
upload record's lifecycle is the state machine: present = uploading,
gone = completed or aborted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ListParams, ObjectInfo, ObjectMetadata, ObjectRow
from objectstore.timestamp import Timestamp
from s3compat import (
    access,
    acl,
    checksums,
    copy,
    meta,
    mpu_checksums,
    object_owners,
    segments,
    sse,
    upload_keys,
    writes,
)
from s3compat.context import S3Context, empty, etag_header, to_datetime, xml_response
from s3compat.errors import S3Error
from stratus.digits import ascii_uint

log = logging.getLogger("stratus.s3")

MAX_PARTS = 10000
MAX_PART_SIZE = 5 * 1024**3
LIST_LIMIT = 1000
ALGORITHM = "s3-checksum-algorithm"
CHECKSUM_TYPE = "s3-checksum-type"
UPLOAD_ID = "s3-upload-id"  # on a completed object: the upload that made it
INITIATOR = "s3-initiator"  # on an upload record: who began it (project:user)
DELETE_PAGE = 1000
HEAD_CONCURRENCY = 16  # upload records read at once for a listing's checksum fields
MAX_SWEEPS = 10000  # pages of leftovers abort_all deletes before it gives up


def new_upload_id() -> str:
    return f"{Timestamp.now().ticks:014x}{secrets.token_hex(9)}"


def check_upload_id(uid: str) -> None:
    if len(uid) != 32 or any(c not in "0123456789abcdef" for c in uid):
        raise S3Error("NoSuchUpload", extra={"UploadId": uid})


record_prefix = upload_keys.record_prefix
record_name = upload_keys.record_name
parse_record = upload_keys.parse_record


def part_name(uid: str, number: int) -> str:
    return f"p/{uid}/{number:05d}"


def part_number(value: str | None) -> int:
    number = ascii_uint(value) if value is not None else None
    if number is None or not 1 <= number <= MAX_PARTS:
        raise S3Error("InvalidArgument", f"Part number must be between 1 and {MAX_PARTS}")
    return number


def _segments(ctx: S3Context) -> str:
    return segments.container_for(ctx.bucket_name)


async def ensure_segments_container(ctx: S3Context) -> None:
    assert ctx.bucket is not None
    await ctx.core.put_container(ctx.account, _segments(ctx))
    if segments.MPU_FLAG not in ctx.bucket.system:
        await ctx.core.post_container(ctx.account, ctx.bucket_name, system={segments.MPU_FLAG: "1"})


async def upload_record(ctx: S3Context, uid: str) -> ObjectInfo:
    """The record of upload ``uid`` of the request's key (NoSuchUpload)."""
    check_upload_id(uid)
    try:
        return await ctx.core.head_object(ctx.account, _segments(ctx), record_name(ctx.key, uid))
    except core_errors.NotFound:
        raise S3Error("NoSuchUpload", extra={"UploadId": uid}) from None


async def handle_create_multipart_upload(ctx: S3Context) -> web.StreamResponse:
    md = meta.metadata_for_put(ctx)
    system = dict(md.system or {})
    wanted = mpu_checksums.for_create(ctx.headers)
    if wanted is not None:
        system[ALGORITHM] = wanted.algorithm
        system[CHECKSUM_TYPE] = wanted.kind
    system[INITIATOR] = access.initiator_of(ctx.principal)
    protect = await sse.for_write(ctx)
    if protect is not None:
        system.update(protect.entries())  # every part is sealed with this data key
    md.system = system
    uid = new_upload_id()
    await ensure_segments_container(ctx)
    await upload_keys.add(ctx, ctx.key)
    await ctx.core.put_object(ctx.account, _segments(ctx), record_name(ctx.key, uid), b"", md)
    await upload_keys.add(ctx, ctx.key)  # again, in case a remover took it meanwhile
    body = {"Bucket": ctx.bucket_name, "Key": ctx.key, "UploadId": uid}
    resp = xml_response("InitiateMultipartUploadResult", body)
    if wanted is not None:
        resp.headers["x-amz-checksum-algorithm"] = wanted.algorithm
        resp.headers["x-amz-checksum-type"] = wanted.kind
    if protect is not None:
        resp.headers.update(protect.headers())
    return resp


async def handle_upload_part(ctx: S3Context) -> web.StreamResponse:
    number = part_number(ctx.query.get("partNumber"))
    uid = ctx.query.get("uploadId", "")
    record = await upload_record(ctx, uid)
    body = ctx.body
    assert body is not None
    body.digest_in_base64 = True  # AWS names UploadPart's ExpectedDigest in base64
    if body.content_length is not None and body.content_length > MAX_PART_SIZE:
        raise S3Error("EntityTooLarge")
    computed = mpu_checksums.for_part(upload_checksum(record), body.checksum_algorithm)
    if computed is not None:
        body.compute_checksum(computed)
    protect = sse.for_part(ctx, record.system)
    ctx.extra["sse"] = protect
    md = ObjectMetadata(content_type="application/octet-stream", system={})
    result = await writes.store_body(
        ctx, ctx.account, _segments(ctx), part_name(uid, number), md, protect
    )
    headers = {"ETag": etag_header(result.etag)}
    headers.update(writes.result_headers(ctx, md))
    return empty(200, headers)


def upload_checksum(record: ObjectInfo) -> mpu_checksums.UploadChecksum | None:
    """The checksum algorithm and type upload ``record`` was created with."""
    return mpu_checksums.stored(record.system.get(ALGORITHM), record.system.get(CHECKSUM_TYPE))


async def _summed(chunks: AsyncIterator[bytes], hasher: checksums.Hasher) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        hasher.update(chunk)
        yield chunk


def _copy_range(ctx: S3Context, size: int) -> tuple[int, int] | None:
    raw = ctx.headers.get("x-amz-copy-source-range")
    if raw is None:
        return None
    from s3compat.objects import parse_range

    first, last = parse_range(raw) or (None, None)
    if first is None or last is None:
        raise S3Error("InvalidArgument", "x-amz-copy-source-range must be bytes=first-last")
    if last >= size:
        raise S3Error("InvalidRange", extra={"ActualObjectSize": str(size)})
    return first, last + 1


async def handle_upload_part_copy(ctx: S3Context) -> web.StreamResponse:
    number = part_number(ctx.query.get("partNumber"))
    uid = ctx.query.get("uploadId", "")
    record = await upload_record(ctx, uid)
    protect = sse.for_part(ctx, record.system)
    src = await copy.open_source(ctx)
    size = src.info.size
    span = _copy_range(ctx, size)
    length = span[1] - span[0] if span is not None else size
    if length > MAX_PART_SIZE:
        raise S3Error("EntityTooLarge")
    chunks = await copy.source_chunks(ctx, src, span)
    md = ObjectMetadata(content_type="application/octet-stream", system={})
    wanted = upload_checksum(record)
    hasher = checksums.new(wanted.algorithm) if wanted is not None else None
    source = _summed(chunks, hasher) if hasher is not None else chunks

    def footer() -> dict[str, str]:  # the copied bytes' checksum, once they are all read
        assert wanted is not None and hasher is not None
        return {meta.CHECKSUM: f"{wanted.algorithm}:{checksums.encode(hasher.digest())}"}

    try:
        result = await ctx.core.put_object(
            ctx.account,
            _segments(ctx),
            part_name(uid, number),
            sse.encrypting(protect, md, source),
            md,
            content_length=length,
            footer=footer if hasher is not None else None,
        )
    finally:
        await chunks.aclose()
    answer: dict[str, Any] = {
        "ETag": etag_header(result.etag),
        "LastModified": to_datetime(result.timestamp),
    }
    if wanted is not None:
        algorithm, _, value = footer()[meta.CHECKSUM].partition(":")
        answer[f"Checksum{algorithm}"] = value
    resp = xml_response("CopyPartResult", answer)
    if protect is not None:
        resp.headers.update(protect.headers())
    if src.raw is not None and meta.VERSION_ID in src.raw.system:
        resp.headers["x-amz-copy-source-version-id"] = src.raw.system[meta.VERSION_ID]
    return resp


async def part_rows(ctx: S3Context, uid: str, after: int = 0) -> AsyncIterator[ObjectRow]:
    """The stored parts of an upload in part order, from part ``after + 1``."""
    prefix = f"p/{uid}/"
    marker = part_name(uid, after) if after else ""
    for _ in range(MAX_PARTS // LIST_LIMIT + 1):
        params = ListParams(limit=LIST_LIMIT, prefix=prefix, marker=marker)
        try:
            _info, rows = await ctx.core.list_objects(ctx.account, _segments(ctx), params)
        except core_errors.ContainerNotFound:
            return
        for row in rows:
            if isinstance(row, ObjectRow):
                yield row
        if len(rows) < LIST_LIMIT:
            return
        marker = rows[-1].name


def row_part_number(row: ObjectRow) -> int:
    return int(row.name.rsplit("/", 1)[1])


async def handle_list_parts(ctx: S3Context) -> web.StreamResponse:
    uid = ctx.query.get("uploadId", "")
    record = await upload_record(ctx, uid)
    access.check_initiator(ctx, record.system.get(INITIATOR))
    marker_raw = ctx.query.get("part-number-marker", "0")
    limit_raw = ctx.query.get("max-parts", str(LIST_LIMIT))
    marker, limit = ascii_uint(marker_raw), ascii_uint(limit_raw)
    if marker is None or limit is None:
        raise S3Error("InvalidArgument", "part-number-marker and max-parts must be integers")
    limit = min(limit, LIST_LIMIT)
    parts: list[dict[str, Any]] = []
    rows: list[ObjectRow] = []
    truncated = False
    async for row in part_rows(ctx, uid, marker):
        if len(parts) >= limit:
            truncated = True
            break
        rows.append(row)
        parts.append(
            {
                "PartNumber": row_part_number(row),
                "LastModified": to_datetime(row.last_modified),
                "ETag": etag_header(row.etag),
                "Size": row.size,
            }
        )
    wanted = upload_checksum(record)
    if wanted is not None:  # each part's checksum, as its UploadPart stored it
        sums = await segments.stored_checksums(ctx, _segments(ctx), [r.name for r in rows])
        for part, stored in zip(parts, sums, strict=True):
            algorithm, _, value = stored.partition(":")
            if value:
                part[f"Checksum{algorithm}"] = value
    assert ctx.bucket is not None
    owner = object_owners.owner_from(record.system, ctx.bucket)
    body = {
        "Bucket": ctx.bucket_name,
        "Key": ctx.key,
        "UploadId": uid,
        "Initiator": object_owners.initiator_from(record.system.get(INITIATOR), owner),
        "Owner": owner,
        "StorageClass": record.system.get(meta.STORAGE_CLASS, "STANDARD"),
        "PartNumberMarker": marker,
        "NextPartNumberMarker": parts[-1]["PartNumber"] if parts else marker,
        "MaxParts": limit,
        "IsTruncated": truncated,
        "ChecksumAlgorithm": wanted.algorithm if wanted is not None else None,
        "ChecksumType": wanted.kind if wanted is not None else None,
        "Part": parts,
    }
    return xml_response("ListPartsResult", body)


async def delete_parts(ctx: S3Context, uid: str, keep: set[int] | None = None) -> None:
    """Delete an upload's parts (all, or those not in ``keep``)."""
    doomed = [
        row.name
        async for row in part_rows(ctx, uid)
        if keep is None or row_part_number(row) not in keep
    ]
    await segments.delete_names(ctx, ctx.account, _segments(ctx), doomed)


async def handle_abort_multipart_upload(ctx: S3Context) -> web.StreamResponse:
    uid = ctx.query.get("uploadId", "")
    record = await upload_record(ctx, uid)
    access.check_initiator(ctx, record.system.get(INITIATOR))
    await delete_parts(ctx, uid)
    await drop_record(ctx, uid)
    return empty(204)


async def drop_record(ctx: S3Context, uid: str) -> None:
    """End upload ``uid`` of the request's key: its record goes (and a long key's index entry)."""
    with contextlib.suppress(core_errors.NotFound):
        # The record carries the lock the object will have, not one of its own.
        await ctx.core.delete_object(
            ctx.account, _segments(ctx), record_name(ctx.key, uid), bypass_retention=True
        )
    await upload_keys.forget_if_unused(ctx, ctx.key)


def _int_query(ctx: S3Context, name: str, default: int) -> int:
    value = ascii_uint(ctx.query.get(name, str(default)))
    if value is None:
        raise S3Error("InvalidArgument", f"{name} must be an integer")
    return value


async def handle_list_multipart_uploads(ctx: S3Context) -> web.StreamResponse:
    q = ctx.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker, uid_marker = q.get("key-marker", ""), q.get("upload-id-marker", "")
    limit = min(_int_query(ctx, "max-uploads", LIST_LIMIT), LIST_LIMIT)
    uploads: list[dict[str, Any]] = []
    common: list[str] = []
    truncated = False
    next_key: str | None = None
    next_uid: str | None = None
    owner = acl.owner_of(ctx.account)
    async for key, uid in upload_keys.uploads(ctx, prefix, key_marker, uid_marker):
        if delimiter and delimiter in key[len(prefix) :]:
            rolled = key[: key.index(delimiter, len(prefix)) + len(delimiter)]
            if (common and common[-1] == rolled) or rolled <= key_marker:
                continue  # shown already (on this page or an earlier one, as S3 does)
            if len(uploads) + len(common) >= limit:
                truncated = True
                break
            common.append(rolled)
            next_key, next_uid = rolled, None
            continue
        if len(uploads) + len(common) >= limit:
            truncated = True
            break
        initiated = Timestamp.from_ticks(int(uid[:14], 16))
        uploads.append(
            {
                "Key": key,
                "UploadId": uid,
                "Initiator": owner,
                "Owner": owner,
                "StorageClass": "STANDARD",
                "Initiated": to_datetime(initiated),
            }
        )
        next_key, next_uid = key, uid
    await _with_checksums(ctx, uploads)
    body = {
        "Bucket": ctx.bucket_name,
        "KeyMarker": key_marker,
        "UploadIdMarker": uid_marker,
        "NextKeyMarker": next_key if truncated else None,
        "NextUploadIdMarker": next_uid if truncated else None,
        "Prefix": prefix,
        "Delimiter": delimiter or None,
        "MaxUploads": limit,
        "IsTruncated": truncated,
        "Upload": uploads,
        "CommonPrefixes": [{"Prefix": p} for p in common],
    }
    return xml_response("ListMultipartUploadsResult", body)


async def _with_checksums(ctx: S3Context, uploads: list[dict[str, Any]]) -> None:
    """Each listed upload's ChecksumAlgorithm and ChecksumType (its record says them)."""
    sem = asyncio.Semaphore(HEAD_CONCURRENCY)

    async def one(upload: dict[str, Any]) -> None:
        async with sem:
            try:
                record = await ctx.core.head_object(
                    ctx.account, _segments(ctx), record_name(upload["Key"], upload["UploadId"])
                )
            except core_errors.NotFound:
                return
        assert ctx.bucket is not None
        owner = upload["Owner"] = object_owners.owner_from(record.system, ctx.bucket)
        upload["Initiator"] = object_owners.initiator_from(record.system.get(INITIATOR), owner)
        wanted = upload_checksum(record)
        if wanted is not None:
            upload["ChecksumAlgorithm"] = wanted.algorithm
            upload["ChecksumType"] = wanted.kind

    await asyncio.gather(*(one(u) for u in uploads))


async def abort_all(ctx: S3Context) -> None:
    """Empty the bucket's segments container (the bucket itself is already gone).

    With no object left in the bucket or its versions, every segment there
    is a part of an unfinished upload or an orphan.
    """
    await upload_keys.drop_index(ctx)
    cont = _segments(ctx)
    for _ in range(MAX_SWEEPS):
        try:
            _info, rows = await ctx.core.list_objects(
                ctx.account, cont, ListParams(limit=DELETE_PAGE)
            )
        except core_errors.ContainerNotFound:
            return
        names = [r.name for r in rows if isinstance(r, ObjectRow)]
        if not names:
            return
        await segments.delete_names(ctx, ctx.account, cont, names)
