"""GetObjectAttributes: ETag, checksum, parts, storage class and size in one answer."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from objectstore.proxy.conditional import http_date
from s3compat import access, meta, segments, sse, versioning
from s3compat.context import S3Context, xml_response
from s3compat.errors import S3Error
from stratus.digits import ascii_uint

KNOWN = frozenset({"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"})
MAX_PARTS = 1000


def _wanted(ctx: S3Context) -> set[str]:
    raw = ctx.headers.get("x-amz-object-attributes", "")
    wanted = {a.strip() for a in raw.split(",") if a.strip()}
    if not wanted:
        raise S3Error("InvalidArgument", "x-amz-object-attributes header is required")
    unknown = wanted - KNOWN
    if unknown:
        raise S3Error("InvalidArgument", f"Invalid attribute name specified: {sorted(unknown)[0]}")
    return wanted


def _int_header(ctx: S3Context, name: str, default: int) -> int:
    raw = ctx.headers.get(name)
    if raw is None:
        return default
    value = ascii_uint(raw)
    if value is None:
        raise S3Error("InvalidArgument", f"{name} must be a non-negative integer")
    return value


async def _parts(ctx: S3Context, loc: tuple[str, str, str], summed: bool) -> dict[str, Any]:
    """ObjectParts: a page of the parts, each with its checksum when the object has one."""
    segs = await segments.load(ctx, *loc)
    marker = _int_header(ctx, "x-amz-part-number-marker", 0)
    limit = min(_int_header(ctx, "x-amz-max-parts", MAX_PARTS), MAX_PARTS)
    numbered = list(enumerate(segs, start=1))[marker:]
    page = numbered[:limit]
    truncated = len(numbered) > limit
    listed: list[dict[str, Any]] = [{"PartNumber": n, "Size": s.size} for n, s in page]
    if summed and page:
        cont = page[0][1].container
        sums = await segments.stored_checksums(ctx, cont, [s.name for _n, s in page])
        for part, stored in zip(listed, sums, strict=True):
            algorithm, _, value = stored.partition(":")
            if value:
                part[f"Checksum{algorithm}"] = value
    return {
        "PartsCount": len(segs),  # boto3 calls it TotalPartsCount; this is the wire name
        "PartNumberMarker": marker,
        "NextPartNumberMarker": page[-1][0] if page else marker,
        "MaxParts": limit,
        "IsTruncated": truncated,
        "Part": listed,
    }


async def handle_get_object_attributes(ctx: S3Context) -> web.StreamResponse:
    wanted = _wanted(ctx)
    loc = await versioning.location(ctx)
    raw = await versioning.head_for_request(ctx)
    access.check_object_acl(ctx, raw.system.get(meta.ACL))
    sse.for_read(ctx, raw.system)  # an SSE-C object's attributes need its key too (AWS)
    info = versioning.present(raw)
    body: dict[str, Any] = {}
    if "ETag" in wanted:
        body["ETag"] = info.etag
    if "Checksum" in wanted and meta.CHECKSUM in info.system:
        algorithm, _, value = info.system[meta.CHECKSUM].partition(":")
        kind = meta.checksum_type(value)
        # The checksum of checksums without its "-<parts>" (as AWS's own samples compare it).
        whole = value.partition("-")[0]
        body["Checksum"] = {f"Checksum{algorithm}": whole, "ChecksumType": kind}
    if "ObjectParts" in wanted and segments.is_manifest(raw):
        body["ObjectParts"] = await _parts(ctx, loc, meta.CHECKSUM in info.system)
    if "StorageClass" in wanted:
        body["StorageClass"] = info.system.get(meta.STORAGE_CLASS, "STANDARD")
    if "ObjectSize" in wanted:
        body["ObjectSize"] = info.size
    resp = xml_response("GetObjectAttributesResponse", body)
    resp.headers["Last-Modified"] = http_date(info.last_modified)
    if meta.VERSION_ID in info.system:
        resp.headers["x-amz-version-id"] = info.system[meta.VERSION_ID]
    return resp
