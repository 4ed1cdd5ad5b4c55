"""DeleteObjects: up to 1000 keys (optionally versions) in one request.

Each key is deleted as DeleteObject would delete it (versioning included),
a few keys at a time (one key's versions in turn); each gets its own
result, and a failure on one key never stops the others. Quiet mode
reports errors only.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from aiohttp import web

from objectstore.proxy.errors import ProxyError
from s3compat import access, object_lock, policy, versioning, xmlio
from s3compat.context import S3Context, s3_error_from_core, xml_response
from s3compat.errors import S3Error
from s3compat.router import Permission, S3Request, validate_key

MAX_KEYS = 1000
CONCURRENCY = 16


def _parse(root: Any) -> tuple[bool, list[tuple[str, str | None]]]:
    quiet = (xmlio.text(root, "Quiet") or "false").strip().lower() == "true"
    items = []
    for obj in root.findall("Object"):
        key = xmlio.text(obj, "Key")
        if key is None:
            raise S3Error("MalformedXML", "Each Object needs a Key")
        items.append((key, xmlio.text(obj, "VersionId")))
    if not items or len(items) > MAX_KEYS:
        raise S3Error("MalformedXML", f"A delete request names 1 to {MAX_KEYS} objects")
    return quiet, items


async def _delete_one(ctx: S3Context, key: str, vid: str | None) -> dict[str, Any]:
    assert ctx.bucket is not None
    query = {"versionId": vid} if vid is not None else {}
    sub = replace(ctx, s3=S3Request(ctx.s3.op, ctx.bucket_name, key, False), query=query, extra={})
    try:
        validate_key(key)
        action = policy.action_of("DeleteObject", version=vid is not None)
        access.check(sub, ctx.bucket, Permission.WRITE, action, key)
        await object_lock.check_version_delete(sub)
        headers = await versioning.delete_for_request(sub)
    except S3Error as err:
        return {"Error": {"Key": key, "VersionId": vid, "Code": err.code, "Message": err.message}}
    except ProxyError as exc:
        err = s3_error_from_core(exc)
        return {"Error": {"Key": key, "VersionId": vid, "Code": err.code, "Message": err.message}}
    done: dict[str, Any] = {"Key": key, "VersionId": vid}
    if headers.get("x-amz-delete-marker") == "true":
        done["DeleteMarker"] = True
        if vid is None:
            done["DeleteMarkerVersionId"] = headers.get("x-amz-version-id")
    return {"Deleted": done}


async def handle_delete_objects(ctx: S3Context) -> web.StreamResponse:
    body = ctx.body
    if body is None or (body.content_md5 is None and body.checksum_algorithm is None):
        raise S3Error(
            "InvalidRequest",
            "Missing required header for this request: Content-MD5 OR x-amz-checksum-*",
        )
    body.digest_in_base64 = True  # AWS names this operation's ExpectedDigest in base64
    quiet, items = _parse(await ctx.read_xml("Delete"))
    sem = asyncio.Semaphore(CONCURRENCY)
    by_key: dict[str, list[int]] = {}
    for i, (key, _vid) in enumerate(items):
        by_key.setdefault(key, []).append(i)
    results: list[dict[str, Any]] = [{} for _ in items]

    async def one_key(indexes: list[int]) -> None:
        # One key's versions in turn: deleting the current one restores another,
        # which must not race the deletion of that other one. Last named first:
        # a listing names them newest first, so the current one goes last and
        # its deletion has nothing left to copy back.
        async with sem:
            for i in reversed(indexes):
                results[i] = await _delete_one(ctx, *items[i])

    await asyncio.gather(*(one_key(indexes) for indexes in by_key.values()))
    deleted = [r["Deleted"] for r in results if "Deleted" in r and not quiet]
    errors = [r["Error"] for r in results if "Error" in r]
    return xml_response("DeleteResult", {"Deleted": deleted, "Error": errors})
