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
from s3compat import access, meta, system_text, versioning
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
    encoded = meta.encode_tags(pairs)
    if not system_text.fits(encoded):  # an object's metadata is one request, no parts
        raise S3Error("InvalidTag", "Object tags over 4 KiB (UTF-8) are not supported")
    return empty(200, await _set_object_tags(ctx, encoded))


async def handle_delete_object_tagging(ctx: S3Context) -> web.StreamResponse:
    return empty(204, await _set_object_tags(ctx, None))


async def handle_get_bucket_tagging(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    stored = system_text.text_of(ctx.bucket.system, BUCKET_TAGS)
    if not stored:
        raise S3Error("NoSuchTagSet", extra={"BucketName": ctx.bucket_name})
    return xml_response("Tagging", _tag_set(meta.decode_tags(stored)))


async def handle_put_bucket_tagging(ctx: S3Context) -> web.StreamResponse:
    pairs = await _parse(ctx, MAX_BUCKET_TAGS)
    encoded = meta.encode_tags(pairs)
    assert ctx.bucket is not None
    system = ctx.bucket.system
    await system_text.write(ctx.core, ctx.account, ctx.bucket_name, BUCKET_TAGS, encoded, system)
    return empty(204)


async def handle_delete_bucket_tagging(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    system = ctx.bucket.system
    await system_text.write(ctx.core, ctx.account, ctx.bucket_name, BUCKET_TAGS, "", system)
    return empty(204)
