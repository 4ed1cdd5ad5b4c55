"""Objects stored as segments (multipart uploads): presenting and reading them.

A completed multipart upload is a manifest object in the bucket (see
:mod:`objectstore.proxy.manifest`) whose segments live in the hidden
container ``<bucket>+segments``, one per part, named
``<key>/<upload id>/<part number>``. Its S3 ETag (``md5-of-md5s-N``) and
whole size are system metadata of the manifest. In listings the row of a
manifest carries them as content-type parameters (``swift_bytes`` and
``s3_etag``, as Swift does), which :func:`listing_row` reads back.

When a manifest is overwritten or deleted in a bucket that keeps no
versions, its segments are deleted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Protocol

from objectstore.proxy import errors as core_errors
from objectstore.proxy import manifest
from objectstore.proxy.models import ObjectInfo
from s3compat import checksums, meta
from s3compat.context import S3Context
from stratus.digits import ascii_uint

log = logging.getLogger("stratus.s3")

SUFFIX = "+segments"
MPU_FLAG = "s3-mpu"  # container system metadata: this bucket has had multipart uploads
DELETE_CONCURRENCY = 8
HEAD_CONCURRENCY = 16


def container_for(bucket: str) -> str:
    return bucket + SUFFIX


def is_manifest(info: ObjectInfo) -> bool:
    return manifest.is_manifest(info.system)


def presented(info: ObjectInfo) -> ObjectInfo:
    """The object as S3 shows it: a manifest's whole size and multipart ETag."""
    return manifest.present(info)


def strip_params(content_type: str) -> str:
    """Drop the listing parameters a manifest's content type carries."""
    return manifest.strip_listing_params(content_type)


def manifest_content_type(
    content_type: str, size: int, etag: str, checksum: str | None = None
) -> str:
    """A multipart object's content type (``checksum``: its meta.CHECKSUM "ALG:value")."""
    ctype = f"{content_type};swift_bytes={size};s3_etag={etag}"
    if not checksum:
        return ctype
    algorithm, _, value = checksum.partition(":")
    return with_checksum(ctype, algorithm, meta.checksum_type(value))


def with_checksum(content_type: str, algorithm: str | None, kind: str = "FULL_OBJECT") -> str:
    """The content type with the listing parameter that names the object's checksum
    algorithm and type, so listings show both without reading each object (never shown as
    the Content-Type: manifest.OBJECT_PARAMS)."""
    base = manifest.strip_object_params(content_type)
    return f"{base};{manifest.S3_CHECKSUM}={algorithm}.{kind}" if algorithm else base


def listed_checksum(content_type: str) -> dict[str, Any]:
    """ChecksumAlgorithm / ChecksumType of a listing row (none for rows written without)."""
    found = manifest.split_listing_params(content_type)[1].get(manifest.S3_CHECKSUM, "")
    algorithm, _, kind = found.partition(".")
    if algorithm not in checksums.ALGORITHMS or kind not in ("FULL_OBJECT", "COMPOSITE"):
        return {}
    return {"ChecksumAlgorithm": [algorithm], "ChecksumType": kind}


def listing_row(content_type: str, size: int, etag: str) -> tuple[str, int, str]:
    """(content type, size, ETag) of a listing row, manifests read back."""
    if "swift_bytes=" not in content_type:
        return content_type, size, etag
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name == "swift_bytes" and ascii_uint(value) is not None:
            size = int(value)
        elif name == "s3_etag" and value:
            etag = value
    return strip_params(content_type), size, etag


def part_count(info: ObjectInfo) -> int | None:
    raw = info.system.get(meta.PARTS)
    return ascii_uint(raw) if raw else None


async def load(ctx: S3Context, account: str, container: str, name: str) -> list[manifest.Segment]:
    """The segments a manifest object lists (its body, read whole: it is small)."""
    info, body = await ctx.core.get_object(account, container, name, raw=True)
    try:
        return manifest.load(info.system, await body.read())  # S3's form, or a Swift SLO
    finally:
        body.close()


def part_spans(segs: list[manifest.Segment]) -> list[tuple[int, int]]:
    return manifest.offsets(segs)


class _Closes(Protocol):
    def close(self) -> None: ...


class BodySource:
    """An async iterator of body chunks that can be closed early."""

    def __init__(self, chunks: AsyncIterator[bytes], closer: _Closes) -> None:
        self._chunks = chunks
        self._closer = closer

    def __aiter__(self) -> BodySource:
        return self

    async def __anext__(self) -> bytes:
        return await anext(self._chunks)

    async def aclose(self) -> None:
        if isinstance(self._chunks, AsyncGenerator):  # the bodies' chunks() generators
            with contextlib.suppress(Exception):
                await self._chunks.aclose()
        self._closer.close()


def segmented_source(
    ctx: S3Context,
    account: str,
    segs: list[manifest.Segment],
    span: tuple[int, int] | None,
    getter: manifest.Getter | None = None,
) -> BodySource:
    """A manifest's bytes (or a span); ``getter`` reads the segments (default: the core)."""
    ranges = [span] if span is not None else None
    body = manifest.SegmentedBody(getter or ctx.core, account, segs, ranges)
    return BodySource(body.chunks(), body)


async def stored_checksums(ctx: S3Context, container: str, names: list[str]) -> list[str]:
    """Each named segment's (or part's) stored checksum, ``ALG:value`` ("" when none)."""
    sem = asyncio.Semaphore(HEAD_CONCURRENCY)

    async def one(name: str) -> str:
        async with sem:
            try:
                info = await ctx.core.head_object(ctx.account, container, name)
            except core_errors.NotFound:
                return ""
            return info.system.get(meta.CHECKSUM, "")

    return list(await asyncio.gather(*(one(n) for n in names)))


async def delete_names(ctx: S3Context, account: str, container: str, names: list[str]) -> None:
    """Delete objects, a few at a time; missing ones are fine, failures are logged.

    A segment's lock follows its manifest's (:mod:`s3compat.segment_lock`); the S3 layer
    deletes segments only once it has judged their manifest deletable, so it bypasses it.
    """
    sem = asyncio.Semaphore(DELETE_CONCURRENCY)
    judged = container.endswith(SUFFIX)  # only S3's own segments: not a Swift SLO's

    async def one(name: str) -> None:
        async with sem:
            try:
                await ctx.core.delete_object(account, container, name, bypass_retention=judged)
            except core_errors.NotFound:
                pass
            except core_errors.ProxyError as exc:
                log.warning("could not delete %s/%s: %r", container, name, exc)

    await asyncio.gather(*(one(n) for n in names))


async def delete_all(ctx: S3Context, account: str, segs: list[manifest.Segment]) -> None:
    """Delete a manifest's segments."""
    by_container: dict[str, list[str]] = {}
    for seg in segs:
        if seg.data is not None:  # a Swift SLO's inline bytes: no object
            continue
        by_container.setdefault(seg.container, []).append(seg.name)
    for container, names in by_container.items():
        await delete_names(ctx, account, container, names)


async def drop_manifest_segments(ctx: S3Context, account: str, old: ObjectInfo | None) -> None:
    """Delete the segments of a manifest that is no longer referenced."""
    if old is None or not is_manifest(old):
        return
    try:
        segs = await load(ctx, account, ctx.bucket_name, old.name)
    except core_errors.NotFound:
        return
    await delete_all(ctx, account, segs)


async def after_overwrite(ctx: S3Context, old: ObjectInfo | None) -> None:
    """A manifest just replaced in a bucket without versions: its segments go.

    ``old`` was read before the write; the manifest body is gone now, so its
    segments were remembered by :func:`remember_segments` beforehand.
    """
    segs = ctx.extra.pop("old_segments", None)
    if segs:
        await delete_all(ctx, ctx.account, segs)


async def remember_segments(ctx: S3Context, old: ObjectInfo | None) -> None:
    """Before overwriting ``old`` (no versions kept), note the segments it lists."""
    if old is None or not is_manifest(old):
        return
    with contextlib.suppress(core_errors.NotFound):
        ctx.extra["old_segments"] = await load(ctx, ctx.account, ctx.bucket_name, old.name)
