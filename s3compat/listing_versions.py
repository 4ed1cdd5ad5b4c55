"""ListObjectVersions: the bucket's current versions merged with its versions container.

Each key's entries come out newest first: the current object (from the
bucket, whose version id a HEAD reads) and then the versions and delete
markers (from ``<bucket>+versions``, whose names already sort newest
first; the entry of the current version itself is dropped, as the
bucket's object shows it). The first entry of a key is its latest. Long keys' entries carry a
digest instead of the key (see ``versioning``), so their keys come in order
from ``<bucket>+versionkeys`` and each one's entries from a listing of its
own; three sorted streams are merged. Delimiter roll-ups are computed here
on the keys of all sources; paging uses S3's key marker and version id
marker. A marker past the core's 1,024-byte limit (a long key plus a
suffix) is cut to fit and the few names it then lets through are dropped
here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ListParams, ObjectInfo, ObjectRow
from objectstore.proxy.names import MAX_OBJECT_NAME
from objectstore.timestamp import Timestamp
from s3compat import acl, object_owners, segments, versioning
from s3compat.context import S3Context, to_datetime, xml_response
from s3compat.errors import S3Error
from s3compat.listing import encoder, max_keys

PAGE = 1000
HEAD_CONCURRENCY = 16
_TOP = "\U0010ffff"


@dataclass
class Entry:
    key: str
    row: ObjectRow
    current: bool  # from the bucket (its id needs a HEAD)
    vid: str | None = None
    info: ObjectInfo | None = None
    latest: bool = False

    @property
    def marker(self) -> bool:
        return not self.current and versioning.is_marker(self.row)


def _fit(text: str) -> str:
    """The longest head of ``text`` within the core's name limit."""
    raw = text.encode("utf-8")
    if len(raw) <= MAX_OBJECT_NAME:
        return text
    return raw[:MAX_OBJECT_NAME].decode("utf-8", errors="ignore")


async def _rows(
    ctx: S3Context, container: str, prefix: str, marker: str
) -> AsyncIterator[ObjectRow]:
    """The rows named after ``marker`` (code point order is the nodes' byte order)."""
    if len(prefix.encode("utf-8")) > MAX_OBJECT_NAME:
        return  # no name starts with it
    asked = _fit(marker)
    while True:
        params = ListParams(limit=PAGE, prefix=prefix, marker=asked)
        try:
            _info, rows = await ctx.core.list_objects(ctx.account, container, params)
        except core_errors.ContainerNotFound:
            return
        for row in rows:
            if isinstance(row, ObjectRow) and row.name > marker:
                yield row
        if len(rows) < PAGE:
            return
        asked = rows[-1].name


@dataclass
class Start:
    """Where each source's listing starts (exclusive markers)."""

    bucket: str = ""
    versions: str = ""
    index: str = ""
    first_long: str | None = None  # a long key whose entries come before the index's


async def _current(ctx: S3Context, prefix: str, marker: str) -> AsyncIterator[Entry]:
    async for row in _rows(ctx, ctx.bucket_name, prefix, marker):
        yield Entry(row.name, row, True)


async def _plain(ctx: S3Context, prefix: str, marker: str) -> AsyncIterator[Entry]:
    """Archived entries of keys that keep the plain name, in key order."""
    escaped = versioning.escape(prefix)
    if len(escaped.encode("utf-8")) > versioning.SHORT_MAX:
        return
    cont = versioning.container_for(ctx.bucket_name)
    async for row in _rows(ctx, cont, escaped, max(marker, versioning.LONG_END)):
        key, vid, _ticks = versioning.parse_entry(row.name)
        yield Entry(key, row, False, vid)


async def _long(ctx: S3Context, prefix: str, start: Start) -> AsyncIterator[Entry]:
    """Archived entries of long keys: keys from the index, each one's entries newest first."""

    async def keys() -> AsyncIterator[str]:
        if start.first_long is not None and start.first_long.startswith(prefix):
            yield start.first_long
        async for row in _rows(ctx, versioning.index_for(ctx.bucket_name), prefix, start.index):
            yield row.name

    async for key in keys():
        async for row in versioning.entries(ctx, key):
            yield Entry(key, row, False, versioning.entry_version(row.name)[0])


async def _merged(ctx: S3Context, prefix: str, start: Start) -> AsyncIterator[Entry]:
    """Every entry from the markers on, in S3's order (key, then newest first).

    A key's current object comes before its archived entries; a key's
    archived entries all come from one stream (plain or long), in its order.
    """
    streams = [
        aiter(_current(ctx, prefix, start.bucket)),
        aiter(_plain(ctx, prefix, start.versions)),
        aiter(_long(ctx, prefix, start)),
    ]
    heads = [await anext(s, None) for s in streams]
    while True:
        live = [(e.key, not e.current, i) for i, e in enumerate(heads) if e is not None]
        if not live:
            return
        i = min(live)[2]
        head = heads[i]
        assert head is not None
        yield head
        heads[i] = await anext(streams[i], None)


async def _current_ids(ctx: S3Context, entries: list[Entry]) -> None:
    sem = asyncio.Semaphore(HEAD_CONCURRENCY)

    async def one(e: Entry) -> None:
        async with sem:
            try:
                e.info = await ctx.core.head_object(ctx.account, ctx.bucket_name, e.key, raw=True)
            except core_errors.NotFound:
                return
            e.vid = versioning.version_of(e.info)

    await asyncio.gather(*(one(e) for e in entries if e.current))


def _start_markers(key_marker: str, vid_marker: str) -> Start:
    """After ``key_marker``, or at its entries when a version id marker follows it."""
    if not key_marker:
        return Start()
    if not vid_marker:
        return Start(key_marker, versioning.key_prefix(key_marker) + _TOP, key_marker)
    first = key_marker if versioning.is_long(key_marker) else None
    return Start(key_marker, versioning.key_prefix(key_marker), key_marker, first)


def _past(common: str) -> Start:
    """After every key starting with ``common`` (a delimiter roll-up)."""
    return Start(common + _TOP, versioning.escape(common) + _TOP, common + _TOP)


async def _collect(ctx: S3Context, limit: int) -> tuple[list[Entry | str], bool]:
    """Up to ``limit`` entries and common prefixes, and whether more follow."""
    q = ctx.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker, vid_marker = q.get("key-marker", ""), q.get("version-id-marker", "")
    start = _start_markers(key_marker, vid_marker)
    skipping = bool(vid_marker)
    if skipping:
        try:
            now = await ctx.core.head_object(ctx.account, ctx.bucket_name, key_marker, raw=True)
            skipping = versioning.version_of(now) != vid_marker
        except core_errors.NotFound:
            pass
    out: list[Entry | str] = []
    stream = _merged(ctx, prefix, start)
    while True:
        e = await anext(stream, None)
        if e is None:
            return out, False
        if skipping and e.key == key_marker:
            skipping = e.vid != vid_marker
            continue
        if vid_marker and e.key == key_marker and e.vid == vid_marker:
            continue  # the history's entry of the current version the last page ended with
        skipping = False
        if delimiter and delimiter in e.key[len(prefix) :]:
            common = e.key[: e.key.index(delimiter, len(prefix)) + len(delimiter)]
            if common > key_marker:  # else a page before this one showed it (S3 does the same)
                if len(out) >= limit:
                    return out, True
                out.append(common)
            stream = _merged(ctx, prefix, _past(common))  # jump past the whole common prefix
            continue
        if len(out) >= limit:
            return out, True
        out.append(e)


def _latest_and_dedupe(items: list[Entry | str], first_key_seen: str | None) -> list[Entry | str]:
    kept: list[Entry | str] = []
    current_vid: dict[str, str | None] = {}
    last_key = first_key_seen
    for item in items:
        if isinstance(item, str):
            kept.append(item)
            continue
        if item.current:
            current_vid[item.key] = item.vid
        elif current_vid.get(item.key) == item.vid:
            continue  # the history's entry of the current version (versioning's layout)
        item.latest = item.key != last_key
        last_key = item.key
        kept.append(item)
    return kept


def _version(e: Entry, enc: Any, owner: dict[str, str]) -> tuple[str, dict[str, Any]]:
    latest = e.latest
    if e.current and e.info is not None:
        info = versioning.present(e.info)
        return "Version", {
            "Key": enc(e.key),
            "VersionId": e.vid,
            "IsLatest": latest,
            "LastModified": to_datetime(info.last_modified),
            "ETag": f'"{info.etag}"',
            **segments.listed_checksum(e.info.content_type),  # (raw: it has the parameter)
            "Size": info.size,
            "StorageClass": "STANDARD",
            "Owner": owner,
        }
    ticks = versioning.entry_version(e.row.name)[1]
    when = to_datetime(Timestamp.from_ticks(ticks)) if ticks else to_datetime(e.row.last_modified)
    if e.marker:
        return "DeleteMarker", {
            "Key": enc(e.key),
            "VersionId": e.vid,
            "IsLatest": latest,
            "LastModified": when,
            "Owner": owner,
        }
    _ctype, size, etag = segments.listing_row(e.row.content_type, e.row.size, e.row.etag)
    return "Version", {
        "Key": enc(e.key),
        "VersionId": e.vid,
        "IsLatest": latest,
        "LastModified": when,
        "ETag": f'"{etag}"',
        **segments.listed_checksum(e.row.content_type),
        "Size": size,
        "StorageClass": "STANDARD",
        "Owner": owner,
    }


def _check_markers(q: Any) -> None:
    """A version-id-marker needs a key-marker parameter (even empty) and a real id (AWS)."""
    vid_marker = q.get("version-id-marker")
    if vid_marker is None:
        return
    if "key-marker" not in q:
        raise S3Error(
            "InvalidArgument", "A version-id marker cannot be specified without a key marker."
        )
    if vid_marker:
        versioning.check_version_id(vid_marker)


async def handle_list_object_versions(ctx: S3Context) -> web.StreamResponse:
    q = ctx.query
    _check_markers(q)
    limit = max_keys(ctx)
    enc = encoder(ctx)
    items, truncated = await _collect(ctx, limit)
    await _current_ids(ctx, [e for e in items if isinstance(e, Entry)])
    items = [e for e in items if not (isinstance(e, Entry) and e.current and e.info is None)]
    key_marker = q.get("key-marker")
    first_seen = key_marker if key_marker and q.get("version-id-marker") else None
    items = _latest_and_dedupe(items, first_seen)
    owner = acl.owner_of(ctx.account)
    versions: list[dict[str, Any]] = []
    markers: list[dict[str, Any]] = []
    prefixes: list[dict[str, str]] = []
    listed: list[dict[str, Any]] = []
    entries: list[Entry] = []
    for item in items:
        if isinstance(item, str):
            prefixes.append({"Prefix": enc(item)})
            continue
        kind, row = _version(item, enc, owner)
        (versions if kind == "Version" else markers).append(row)
        listed.append(row)
        entries.append(item)
    # Each version's own owner (another project's writes under ObjectWriter): the current
    # ones were read already; history entries are read only in buckets others write into.
    await object_owners.fill(
        ctx,
        listed,
        [e.row.name for e in entries],
        container=versioning.container_for(ctx.bucket_name),
        known={i: e.info.system for i, e in enumerate(entries) if e.current and e.info},
    )
    last = items[-1] if items else None
    body: dict[str, Any] = {
        "Name": ctx.bucket_name,
        "Prefix": enc(q.get("prefix", "")),
        "KeyMarker": enc(q.get("key-marker", "")),
        "VersionIdMarker": q.get("version-id-marker", ""),
        "NextKeyMarker": None,
        "NextVersionIdMarker": None,
        "MaxKeys": limit,
        "Delimiter": enc(q["delimiter"]) if q.get("delimiter") else None,
        "IsTruncated": truncated,
        "EncodingType": q.get("encoding-type"),
        "Version": versions,
        "DeleteMarker": markers,
        "CommonPrefixes": prefixes,
    }
    if truncated and last is not None:
        body["NextKeyMarker"] = enc(last if isinstance(last, str) else last.key)
        body["NextVersionIdMarker"] = None if isinstance(last, str) else last.vid
    return xml_response("ListVersionsResult", body)
