"""ListObjects, ListObjectsV2 and ListObjectVersions over the core's container listings.

Prefix, delimiter and marker are the storage node's own (a delimiter
roll-up costs one seek per common prefix). S3 counts keys and common
prefixes together against ``max-keys``; one row more than asked tells
whether the listing is truncated. ``encoding-type=url`` percent-encodes
every key and prefix in the answer. ListObjectsV2 continuation tokens are
the last name returned, base64-encoded, so they stay opaque.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote

from aiohttp import web

from objectstore.proxy.models import ListParams, ObjectRow, SubdirRow
from s3compat import acl, object_owners, segments
from s3compat.context import S3Context, to_datetime, xml_response
from s3compat.errors import S3Error
from stratus.digits import ascii_uint

MAX_KEYS = 1000


def max_keys(ctx: S3Context) -> int:
    raw = ctx.query.get("max-keys", str(MAX_KEYS))
    value = ascii_uint(raw)
    if value is None:
        raise S3Error("InvalidArgument", "Provided max-keys not an integer or within integer range")
    return min(value, MAX_KEYS)


def encoder(ctx: S3Context) -> Any:
    kind = ctx.query.get("encoding-type")
    if kind is None:
        return lambda s: s
    if kind != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request")
    return lambda s: quote(s, safe="/") if s else s


async def _page(
    ctx: S3Context, prefix: str, delimiter: str, marker: str, limit: int
) -> tuple[list[ObjectRow | SubdirRow], bool]:
    """Up to ``limit`` rows after ``marker``, and whether more follow."""
    if limit == 0:
        return [], False
    params = ListParams(limit=limit + 1, marker=marker, prefix=prefix, delimiter=delimiter)
    _info, rows = await ctx.core.list_objects(ctx.account, ctx.bucket_name, params)
    return rows[:limit], len(rows) > limit


def _contents(row: ObjectRow, enc: Any, owner: dict[str, str] | None) -> dict[str, Any]:
    _ctype, size, etag = segments.listing_row(row.content_type, row.size, row.etag)
    return {
        "Key": enc(row.name),
        "LastModified": to_datetime(row.last_modified),
        "ETag": f'"{etag}"',
        **segments.listed_checksum(row.content_type),
        "Size": size,
        "Owner": owner,
        "StorageClass": "STANDARD",
    }


def _split(rows: list[ObjectRow | SubdirRow], enc: Any, owner: dict[str, str] | None) -> Any:
    contents = [_contents(r, enc, owner) for r in rows if isinstance(r, ObjectRow)]
    prefixes = [{"Prefix": enc(r.subdir)} for r in rows if isinstance(r, SubdirRow)]
    return contents, prefixes


async def handle_list_objects(ctx: S3Context) -> web.StreamResponse:
    q = ctx.query
    prefix, delimiter, marker = q.get("prefix", ""), q.get("delimiter", ""), q.get("marker", "")
    limit = max_keys(ctx)
    enc = encoder(ctx)
    rows, truncated = await _page(ctx, prefix, delimiter, marker, limit)
    owner = acl.owner_of(ctx.account)
    contents, prefixes = _split(rows, enc, owner)
    await object_owners.fill(ctx, contents, [r.name for r in rows if isinstance(r, ObjectRow)])
    body: dict[str, Any] = {
        "Name": ctx.bucket_name,
        "Prefix": enc(prefix),
        "Marker": enc(marker),
        "NextMarker": enc(rows[-1].name) if truncated and delimiter and rows else None,
        "MaxKeys": limit,
        "Delimiter": enc(delimiter) if delimiter else None,
        "IsTruncated": truncated,
        "EncodingType": q.get("encoding-type"),
        "Contents": contents,
        "CommonPrefixes": prefixes,
    }
    return xml_response("ListBucketResult", body)


def token_for(name: str) -> str:
    """An opaque continuation token resuming after ``name``."""
    return base64.urlsafe_b64encode(name.encode()).decode()


def name_from_token(token: str) -> str:
    """The name a continuation token stands for (InvalidArgument when it is none of ours)."""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect") from None


async def handle_list_objects_v2(ctx: S3Context) -> web.StreamResponse:
    q = ctx.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    token = q.get("continuation-token")
    start_after = q.get("start-after", "")
    marker = name_from_token(token) if token is not None else start_after
    limit = max_keys(ctx)
    enc = encoder(ctx)
    rows, truncated = await _page(ctx, prefix, delimiter, marker, limit)
    owner = acl.owner_of(ctx.account) if q.get("fetch-owner") == "true" else None
    contents, prefixes = _split(rows, enc, owner)
    await object_owners.fill(ctx, contents, [r.name for r in rows if isinstance(r, ObjectRow)])
    body: dict[str, Any] = {
        "Name": ctx.bucket_name,
        "Prefix": enc(prefix),
        "StartAfter": enc(start_after) if start_after else None,
        "ContinuationToken": token,
        "NextContinuationToken": token_for(rows[-1].name) if truncated and rows else None,
        "KeyCount": len(rows),
        "MaxKeys": limit,
        "Delimiter": enc(delimiter) if delimiter else None,
        "IsTruncated": truncated,
        "EncodingType": q.get("encoding-type"),
        "Contents": contents,
        "CommonPrefixes": prefixes,
    }
    return xml_response("ListBucketResult", body)
