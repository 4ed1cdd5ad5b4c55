"""Bucket versioning over the core: where each version of a key lives.

Design. The bucket (the container) always holds the *current* version of
each key, so the native API reads exactly what S3 calls the latest
object. Every other version, and every delete marker, lives in the hidden
container ``<bucket>+versions`` under the name::

    escape(key) + "\\x01\\x01" + inverted(version id)

``escape`` doubles nothing but ``\\x01`` (as ``\\x01\\x02``), so the entries
of one key are contiguous, keys keep their order, and no key's entries
can be mistaken for another's. A version id is 20 hex digits: 14 of the
creation time in 10 µs ticks and 6 random (never all zero), so ids sort by
time; ``inverted`` maps each hex digit d to 15-d, so a listing shows each
key's versions newest first. The "null" version (written while versioning
was off or suspended) is named by its own time with the random part zero.
Delete markers are empty entries with content type ``MARKER_TYPE``; an
archived version keeps its original Last-Modified in ``s3-mtime``.

Long keys. A key whose escaped form leaves no room for the 22 characters
after it within the core's 1,024-byte name limit (a key at S3's own limit,
or one full of ``\\x01``) is "long": its entries are named::

    "\\x01\\x01" + sha256(key) in hex + "\\x01\\x01" + inverted(version id)

so a key's entries stay contiguous and newest first, whatever its length.
No escaped key is empty, so these names form one block at the very start
of the container, apart from every plain name, and plain names are kept
exactly as before. Digests do not sort like keys, so ListObjectVersions
takes the order of long keys from ``<bucket>+versionkeys``: one empty
object per long key with entries, named by the key itself (a key always
fits: S3 keys are at most 1,024 bytes, and nothing else lives there). A
writer adds that index object before the entry, and the last entry's
remover takes it away (and puts it back if an entry appeared meanwhile);
an index object without entries only costs a listing one empty look.

Writes: PUT with versioning Enabled copies the current version (if any)
into the versions container, then writes the new one with a fresh id.
Suspended writes the "null" version (replacing the previous null one).
DELETE without an id archives the current version and adds a marker;
DELETE with an id removes that version for good, and when the current
version (or the newest marker) goes, the newest remaining version is
copied back into the bucket. A version id is kept with each object
(``s3-version-id``), so the bucket's copy answers GET ?versionId directly.

Through one proxy the writes of a key take turns (``inflight.one_at_a_time`` over
``objectstore.proxy.turns``, shared with the native API),
so concurrent creates and removes keep every version; two writers racing on
one key through two proxies may still lose one history entry (each archives
what it saw).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import secrets
from collections.abc import AsyncIterator

from aiohttp import web

from objectstore.common import retention
from objectstore.proxy import errors as core_errors
from objectstore.proxy.conditional import http_date
from objectstore.proxy.models import ListParams, ObjectInfo, ObjectMetadata, ObjectRow
from objectstore.proxy.names import MAX_OBJECT_NAME
from objectstore.timestamp import Timestamp
from s3compat import access, lock_state, meta, namespace, segments, xmlio
from s3compat.context import S3Context, empty, xml_response
from s3compat.errors import S3Error

STATUS = "s3-versioning"
SUFFIX = "+versions"
INDEX_SUFFIX = "+versionkeys"
SEP = "\x01\x01"
MARKER_TYPE = "application/x-s3-delete-marker"
MTIME = "s3-mtime"
NULL = "null"
_SUFFIX_LEN = 20
_INVERT = str.maketrans("0123456789abcdef", "fedcba9876543210")
_HEX = frozenset("0123456789abcdef")
SCAN_PAGE = 1000
#: The longest escaped key (in UTF-8 bytes) whose entries keep the plain name.
SHORT_MAX = MAX_OBJECT_NAME - len(SEP) - _SUFFIX_LEN
LONG_TAG = SEP  # starts every long key's entry name (no escaped key is empty)
#: A versions-container marker past every long key's entry (digests are hex).
LONG_END = LONG_TAG + "\U0010ffff"


def status(ctx: S3Context) -> str | None:
    assert ctx.bucket is not None
    return ctx.bucket.system.get(STATUS) or None


def container_for(bucket: str) -> str:
    return bucket + SUFFIX


def index_for(bucket: str) -> str:
    """The hidden container naming the long keys that have entries (see above)."""
    return bucket + INDEX_SUFFIX


def new_version_id() -> str:
    return f"{Timestamp.now().ticks:014x}{secrets.randbelow(0xFFFFFF) + 1:06x}"


def escape(key: str) -> str:
    return key.replace("\x01", "\x01\x02")


def key_prefix(key: str) -> str:
    """Every entry of ``key`` (and only of ``key``) starts with this."""
    return escape(key) + SEP


def is_long(key: str) -> bool:
    """Whether ``key``'s entries take the digest name (the plain one would not fit)."""
    return len(escape(key).encode("utf-8")) > SHORT_MAX


def is_long_entry(name: str) -> bool:
    return name.startswith(LONG_TAG)


def entry_prefix(key: str) -> str:
    """Every entry of ``key`` (and only of ``key``) is named with this prefix."""
    if is_long(key):
        return LONG_TAG + hashlib.sha256(key.encode("utf-8")).hexdigest() + SEP
    return key_prefix(key)


def entry_name(key: str, vid: str, ticks: int = 0) -> str:
    suffix = f"{ticks:014x}000000" if vid == NULL else vid
    return entry_prefix(key) + suffix.translate(_INVERT)


def entry_version(name: str) -> tuple[str, int]:
    """(version id, creation ticks) of any versions-container entry."""
    raw = name[-_SUFFIX_LEN:].translate(_INVERT)
    return (NULL if raw.endswith("000000") else raw), int(raw[:14], 16)


def parse_entry(name: str) -> tuple[str, str, int]:
    """(key, version id, creation ticks) of a plain-named (not long) entry."""
    key = name[: -_SUFFIX_LEN - len(SEP)].replace("\x01\x02", "\x01")
    return key, *entry_version(name)


def check_version_id(vid: str) -> None:
    if vid != NULL and (len(vid) != _SUFFIX_LEN or not set(vid) <= _HEX or vid.endswith("000000")):
        raise S3Error("InvalidArgument", "Invalid version id specified")


def version_of(info: ObjectInfo) -> str:
    return info.system.get(meta.VERSION_ID, NULL)


def present(info: ObjectInfo) -> ObjectInfo:
    """An object as S3 shows it: original Last-Modified, multipart size and ETag."""
    mtime = info.system.get(MTIME)
    if mtime:
        info = dataclasses.replace(info, timestamp=Timestamp(mtime), meta_timestamp=None)
    return segments.presented(info)


async def current(ctx: S3Context) -> ObjectInfo | None:
    try:
        return await ctx.core.head_object(ctx.account, ctx.bucket_name, ctx.key, raw=True)
    except core_errors.NotFound:
        return None


async def current_if_needed(ctx: S3Context) -> ObjectInfo | None:
    """The current object, when a write must know it (versioning, old segments)."""
    assert ctx.bucket is not None
    if status(ctx) is None and segments.MPU_FLAG not in ctx.bucket.system:
        return None
    return await current(ctx)


async def _ensure_container(ctx: S3Context) -> None:
    assert ctx.bucket is not None
    locked = lock_state.enabled(ctx.bucket.system)  # it holds retained versions (object_lock)
    system = {retention.CONTAINER_FLAG: "on"} if locked else None
    await ctx.core.put_container(ctx.account, container_for(ctx.bucket_name), system=system)


async def _index(ctx: S3Context, key: str) -> None:
    """Name a long key in the index before any entry of it is written."""
    if not is_long(key):
        return
    md = ObjectMetadata(content_type="application/x-s3-version-key")
    cont = index_for(ctx.bucket_name)
    try:
        await ctx.core.put_object(ctx.account, cont, key, b"", md)
    except core_errors.ContainerNotFound:
        await ctx.core.put_container(ctx.account, cont)
        await ctx.core.put_object(ctx.account, cont, key, b"", md)


async def _has_entries(ctx: S3Context, key: str) -> bool:
    async for _row in entries(ctx, key):
        return True
    return False


async def _unindex_if_empty(ctx: S3Context, key: str) -> None:
    """Drop a long key's index object once its last entry went."""
    if not is_long(key) or status(ctx) is None or await _has_entries(ctx, key):
        return  # (a bucket never versioned has no entries)
    with contextlib.suppress(core_errors.NotFound):
        await ctx.core.delete_object(ctx.account, index_for(ctx.bucket_name), key)
    if await _has_entries(ctx, key):  # a writer archived meanwhile: keep it listed
        await _index(ctx, key)


async def drop_index(ctx: S3Context) -> None:
    """Remove the long-key index of a bucket being deleted (its entries are gone)."""
    cont = index_for(ctx.bucket_name)
    marker = ""
    while True:
        params = ListParams(limit=SCAN_PAGE, marker=marker)
        try:
            _info, rows = await ctx.core.list_objects(ctx.account, cont, params)
        except core_errors.ContainerNotFound:
            return
        for row in rows:
            if isinstance(row, ObjectRow):
                with contextlib.suppress(core_errors.NotFound):
                    await ctx.core.delete_object(ctx.account, cont, row.name)
        if len(rows) < SCAN_PAGE:
            break
        marker = rows[-1].name
    with contextlib.suppress(core_errors.NotFound, core_errors.ContainerNotEmpty):
        await ctx.core.delete_container(ctx.account, cont)


async def copy_stored(
    ctx: S3Context, src: tuple[str, str, str], dst: tuple[str, str, str], system: dict[str, str]
) -> None:
    """Copy an object exactly as stored (a manifest stays a manifest), adding ``system``."""
    info, body = await ctx.core.get_object(*src, raw=True)
    try:
        md = ObjectMetadata(
            content_type=info.content_type,
            user=info.user,
            attributes=info.attributes,
            delete_at=info.delete_at,
            etag=info.etag,
            system={**info.system, **system},
        )
        await ctx.core.put_object(*dst, body.chunks(), md, content_length=info.size)
    finally:
        body.close()


async def archive(ctx: S3Context, info: ObjectInfo) -> None:
    """Copy the current version into the versions container."""
    vid = version_of(info)
    name = entry_name(info.name, vid, info.last_modified.ticks)
    system = {meta.VERSION_ID: vid, MTIME: info.system.get(MTIME) or info.last_modified.normal}
    src = (ctx.account, ctx.bucket_name, info.name)
    dst = (ctx.account, container_for(ctx.bucket_name), name)
    await _index(ctx, info.name)
    try:
        await copy_stored(ctx, src, dst, system)
    except core_errors.ContainerNotFound:
        await _ensure_container(ctx)
        await copy_stored(ctx, src, dst, system)


async def _put_marker(ctx: S3Context, vid: str) -> None:
    ticks = Timestamp.now().ticks
    md = ObjectMetadata(content_type=MARKER_TYPE, system={meta.VERSION_ID: vid})
    name = entry_name(ctx.key, vid, ticks)
    cont = container_for(ctx.bucket_name)
    await _index(ctx, ctx.key)
    try:
        await ctx.core.put_object(ctx.account, cont, name, b"", md)
    except core_errors.ContainerNotFound:
        await _ensure_container(ctx)
        await ctx.core.put_object(ctx.account, cont, name, b"", md)


async def entries(ctx: S3Context, key: str) -> AsyncIterator[ObjectRow]:
    """Every stored entry of ``key``, newest first (bounded pages)."""
    prefix = entry_prefix(key)
    marker = ""
    cont = container_for(ctx.bucket_name)
    while True:
        params = ListParams(limit=SCAN_PAGE, prefix=prefix, marker=marker)
        try:
            _info, rows = await ctx.core.list_objects(ctx.account, cont, params)
        except core_errors.ContainerNotFound:
            return
        for row in rows:
            if isinstance(row, ObjectRow):
                yield row
        if len(rows) < SCAN_PAGE:
            return
        marker = rows[-1].name


async def find_entry(ctx: S3Context, key: str, vid: str) -> ObjectRow | ObjectInfo | None:
    """The entry holding version ``vid`` of ``key`` (row or info), or None."""
    if vid != NULL:
        try:
            return await ctx.core.head_object(
                ctx.account, container_for(ctx.bucket_name), entry_name(key, vid), raw=True
            )
        except core_errors.NotFound:
            return None
    async for row in entries(ctx, key):
        if entry_version(row.name)[0] == NULL:
            return row
    return None


def is_marker(entry: ObjectRow | ObjectInfo) -> bool:
    return entry.content_type == MARKER_TYPE


async def _delete_entry(
    ctx: S3Context, name: str, *, drop_segments: bool, moved: bool = False
) -> None:
    cont = container_for(ctx.bucket_name)
    if drop_segments:
        try:
            info = await ctx.core.head_object(ctx.account, cont, name, raw=True)
            if segments.is_manifest(info):
                segs = await segments.load(ctx, ctx.account, cont, name)
                await segments.delete_all(ctx, ctx.account, segs)
        except core_errors.NotFound:
            return
    with contextlib.suppress(core_errors.NotFound):
        await ctx.core.delete_object(ctx.account, cont, name, bypass_retention=_bypass(ctx, moved))


async def _drop_null_entries(ctx: S3Context) -> None:
    """A new null version (or null marker) replaces every older null entry."""
    doomed = [row.name async for row in entries(ctx, ctx.key) if entry_version(row.name)[0] == NULL]
    for name in doomed:
        await _delete_entry(ctx, name, drop_segments=True)


async def restore_latest(ctx: S3Context) -> None:
    """After the current version went: the newest remaining version becomes current."""
    async for row in entries(ctx, ctx.key):
        if is_marker(row):
            return
        cont = container_for(ctx.bucket_name)
        src = (ctx.account, cont, row.name)
        try:
            await copy_stored(ctx, src, (ctx.account, ctx.bucket_name, ctx.key), {})
        except core_errors.NotFound:
            continue
        await _delete_entry(ctx, row.name, drop_segments=False, moved=True)
        return


async def before_put(ctx: S3Context, md: ObjectMetadata, cur: ObjectInfo | None) -> ObjectMetadata:
    """Archive what a PUT replaces and give the new object its version id."""
    st = status(ctx)
    if st is None:
        await segments.remember_segments(ctx, cur)
        return md
    vid = new_version_id() if st == "Enabled" else NULL
    if cur is not None:
        if st == "Enabled" or version_of(cur) != NULL:
            await archive(ctx, cur)
        else:
            await segments.remember_segments(ctx, cur)
    if st != "Enabled":
        await _drop_null_entries(ctx)
        await _unindex_if_empty(ctx, ctx.key)
    md.system = {**lock_state.with_default(ctx, md.system), meta.VERSION_ID: vid}
    return md


async def delete_for_request(ctx: S3Context) -> dict[str, str]:
    """DeleteObject, with or without ?versionId; the response headers."""
    vid = ctx.query.get("versionId")
    if vid is not None:
        check_version_id(vid)
        return await _delete_version(ctx, vid)
    st = status(ctx)
    cur = await current_if_needed(ctx)
    if st is None:
        await segments.remember_segments(ctx, cur)
        await _delete_current(ctx)
        await segments.after_overwrite(ctx, None)
        return {}
    if cur is not None:
        archived = st == "Enabled" or version_of(cur) != NULL
        if archived:
            await archive(ctx, cur)
        else:
            await segments.remember_segments(ctx, cur)
        await _delete_current(ctx, moved=archived)
        await segments.after_overwrite(ctx, None)
    marker = new_version_id() if st == "Enabled" else NULL
    if st != "Enabled":
        await _drop_null_entries(ctx)
    await _put_marker(ctx, marker)
    return {"x-amz-delete-marker": "true", "x-amz-version-id": marker}


async def _delete_current(ctx: S3Context, *, moved: bool = False) -> None:
    with contextlib.suppress(core_errors.NotFound):
        await ctx.core.delete_object(
            ctx.account, ctx.bucket_name, ctx.key, bypass_retention=_bypass(ctx, moved)
        )


def _bypass(ctx: S3Context, moved: bool) -> bool:
    """Delete a retained version anyway: it was moved (archived or restored, a copy lives
    on), or the request may bypass its GOVERNANCE retention (object_lock.check_delete)."""
    return moved or bool(ctx.extra.get(lock_state.BYPASSED))


async def _delete_version(ctx: S3Context, vid: str) -> dict[str, str]:
    headers = await _delete_version_entry(ctx, vid)
    await _unindex_if_empty(ctx, ctx.key)
    return headers


async def _delete_version_entry(ctx: S3Context, vid: str) -> dict[str, str]:
    headers = {"x-amz-version-id": vid}
    cur = await current(ctx)
    if cur is not None and version_of(cur) == vid:
        await segments.remember_segments(ctx, cur)
        await _delete_current(ctx)
        await segments.after_overwrite(ctx, None)
        if status(ctx) is not None:
            await restore_latest(ctx)
        return headers
    if status(ctx) is None and vid != NULL:
        return headers
    entry = await find_entry(ctx, ctx.key, vid)
    if entry is None:
        return headers
    marker = is_marker(entry)
    if marker:
        headers["x-amz-delete-marker"] = "true"
    await _delete_entry(ctx, _entry_name_of(ctx, entry, vid), drop_segments=not marker)
    if cur is None:
        await restore_latest(ctx)
    return headers


def _entry_name_of(ctx: S3Context, entry: ObjectRow | ObjectInfo, vid: str) -> str:
    return entry.name if isinstance(entry, ObjectRow) else entry_name(ctx.key, vid)


async def location(ctx: S3Context) -> tuple[str, str, str]:
    """Where the requested version lives (NoSuchKey, NoSuchVersion, or 405 for a marker)."""
    vid = ctx.query.get("versionId")
    if vid is None:
        return ctx.account, ctx.bucket_name, ctx.key
    check_version_id(vid)
    cur = await current(ctx)
    if cur is not None and version_of(cur) == vid:
        return ctx.account, ctx.bucket_name, ctx.key
    entry = await find_entry(ctx, ctx.key, vid) if status(ctx) is not None else None
    if entry is None:
        raise access.hide_missing(
            ctx, S3Error("NoSuchVersion", extra={"Key": ctx.key, "VersionId": vid})
        )
    if is_marker(entry):
        if not access.may_list(ctx):
            raise access.denied()
        raise S3Error(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            headers={
                "x-amz-delete-marker": "true",
                "x-amz-version-id": vid,
                "Allow": "DELETE",
                "Last-Modified": http_date(entry_version(_entry_name_of(ctx, entry, vid))[1] / 1e5),
            },
        )
    return ctx.account, container_for(ctx.bucket_name), _entry_name_of(ctx, entry, vid)


async def no_such_key(ctx: S3Context) -> S3Error:
    """NoSuchKey, saying so when the latest version is a delete marker.

    AccessDenied instead for a caller who may not list the bucket: whether a
    key exists is for those who may list it to know.
    """
    if not access.may_list(ctx):
        return access.denied()
    err = S3Error("NoSuchKey", extra={"Key": ctx.key})
    if status(ctx) is not None and "versionId" not in ctx.query:
        async for row in entries(ctx, ctx.key):
            if is_marker(row):
                err.headers["x-amz-delete-marker"] = "true"
                err.headers["x-amz-version-id"] = entry_version(row.name)[0]
            break
    return err


async def head_for_request(ctx: S3Context) -> ObjectInfo:
    """The raw stored info of the requested version (for metadata updates)."""
    loc = await location(ctx)
    try:
        return await ctx.core.head_object(*loc, raw=True)
    except core_errors.NotFound:
        raise await no_such_key(ctx) from None


async def info_for_request(ctx: S3Context) -> ObjectInfo:
    return await head_for_request(ctx)


async def post_for_request(ctx: S3Context, md: ObjectMetadata, info: ObjectInfo) -> None:
    """Replace the requested version's metadata (all of it: build ``md`` from ``info``)."""
    loc = await location(ctx)
    try:
        await ctx.core.post_object(*loc, md)
    except core_errors.NotFound:
        raise await no_such_key(ctx) from None


def with_system(info: ObjectInfo, system: dict[str, str]) -> ObjectMetadata:
    """``info``'s metadata (as stored) with other system entries: what a POST re-sends."""
    return ObjectMetadata(
        content_type=info.content_type,
        user=info.user,
        attributes=info.attributes,
        delete_at=info.delete_at,
        system=system,
    )


async def set_system(ctx: S3Context, info: ObjectInfo, system: dict[str, str]) -> None:
    """Replace the requested version's system entries (``info``: it, as stored), nothing else."""
    await post_for_request(ctx, with_system(info, system), info)


async def handle_get_bucket_versioning(ctx: S3Context) -> web.StreamResponse:
    st = status(ctx)
    return xml_response("VersioningConfiguration", {"Status": st} if st else {})


async def handle_put_bucket_versioning(ctx: S3Context) -> web.StreamResponse:
    root = await ctx.read_xml("VersioningConfiguration")
    st = xmlio.text(root, "Status")
    if st not in ("Enabled", "Suspended"):
        raise S3Error("MalformedXML")  # Status must be Enabled or Suspended
    if st != "Enabled" and lock_state.enabled(ctx.bucket.system if ctx.bucket else {}):
        raise S3Error(
            "InvalidBucketState",
            "An Object Lock configuration is present on this bucket, "
            "so the versioning state cannot be changed.",
        )
    if xmlio.text(root, "MfaDelete") == "Enabled":
        raise S3Error("NotImplemented", "MFA delete is not implemented by Stratus")
    if st == "Enabled":
        await _ensure_container(ctx)
    if st == "Suspended" and status(ctx) is None:
        return empty(200)
    await ctx.core.post_container(ctx.account, ctx.bucket_name, system={STATUS: st})
    await namespace.refresh(ctx)
    return empty(200)
