"""Object and bucket tagging: Get/Put/DeleteObjectTagging, Get/Put/DeleteBucketTagging.

Tags are kept URL-encoded (the ``x-amz-tagging`` form) in the object's or
the container's system metadata; an object keeps at most 10, a bucket 50.
Changing an object's tags rewrites its metadata and nothing else.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from aiohttp import web

from objectstore.proxy.models import ObjectInfo
from s3compat import access, meta, versioning
from s3compat.context import S3Context, empty, xml_response
from s3compat.errors import S3Error

BUCKET_TAGS = "s3-tags"
MAX_BUCKET_TAGS = 50


def _tag_set(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {"TagSet": {"Tag": [{"Key": k, "Value": v} for k, v in pairs]}}


async def _parse(ctx: S3Context, limit: int) -> list[tuple[str, str]]:
    pairs = pairs_from_xml(await ctx.read_xml("Tagging"))
    meta.check_tags(pairs, limit)
    return pairs


def pairs_from_xml(root: Element) -> list[tuple[str, str]]:
    """The (key, value) pairs of a parsed ``<Tagging>`` document, not yet validated."""
    pairs: list[tuple[str, str]] = []
    for tag in root.findall("TagSet/Tag"):
        key, value = tag.find("Key"), tag.find("Value")
        if key is None or value is None:
            raise S3Error("MalformedXML", "A Tag needs a Key and a Value")
        pairs.append((key.text or "", value.text or ""))
    return pairs


def _version_header(info: ObjectInfo) -> dict[str, str]:
    vid = info.system.get(meta.VERSION_ID)
    return {"x-amz-version-id": vid} if vid else {}


async def _set_object_tags(ctx: S3Context, tags: str | None) -> dict[str, str]:
    info = await versioning.head_for_request(ctx)
    system = dict(info.system)
    if tags:
        system[meta.TAGS] = tags
    else:
        system.pop(meta.TAGS, None)
    await versioning.set_system(ctx, info, system)
    return _version_header(info)


async def handle_get_object_tagging(ctx: S3Context) -> web.StreamResponse:
    info = await versioning.head_for_request(ctx)
    access.check_object_acl(ctx, info.system.get(meta.ACL))  # tags: for who may read the object
    resp = xml_response("Tagging", _tag_set(meta.decode_tags(info.system.get(meta.TAGS))))
    resp.headers.update(_version_header(info))
    return resp


async def handle_put_object_tagging(ctx: S3Context) -> web.StreamResponse:
    pairs = await _parse(ctx, meta.MAX_TAGS)
    return empty(200, await _set_object_tags(ctx, meta.encode_tags(pairs)))


async def handle_delete_object_tagging(ctx: S3Context) -> web.StreamResponse:
    return empty(204, await _set_object_tags(ctx, None))


async def handle_get_bucket_tagging(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    stored = ctx.bucket.system.get(BUCKET_TAGS)
    if not stored:
        raise S3Error("NoSuchTagSet", extra={"BucketName": ctx.bucket_name})
    return xml_response("Tagging", _tag_set(meta.decode_tags(stored)))


async def handle_put_bucket_tagging(ctx: S3Context) -> web.StreamResponse:
    pairs = await _parse(ctx, MAX_BUCKET_TAGS)
    encoded = meta.encode_tags(pairs)
    if len(encoded.encode()) > 4096:
        raise S3Error("InvalidTag", "Bucket tags over 4096 bytes are not supported")
    await ctx.core.post_container(ctx.account, ctx.bucket_name, system={BUCKET_TAGS: encoded})
    return empty(204)


async def handle_delete_bucket_tagging(ctx: S3Context) -> web.StreamResponse:
    await ctx.core.post_container(ctx.account, ctx.bucket_name, system={BUCKET_TAGS: ""})
    return empty(204)
