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

Writes: every write of a versioned key stores ITS OWN version in the
versions container first, named by its own id (its own time), so two
writers never write the same name: a PUT its body (Enabled: a fresh id;
Suspended: the "null" version, and older null entries go), a DELETE
without an id its delete marker. Then :func:`settle` makes the bucket's
object a copy of the key's newest entry (marked ``s3-kept``), or removes
it when the newest is a marker. The copy is written with the version's
own timestamp, so the nodes keep the newest of racing copies, and each
writer checks again after its change (a removed version can make an older
one current, which needs a newer timestamp): whichever writer finishes
last leaves the newest version current, and no write can lose another's,
through any number of proxies. DELETE with an id removes that version's
entry for good and settles. A version id is kept with each object
(``s3-version-id``), so the bucket's copy answers GET ?versionId directly.

Stored before this layout (or written through the native API): the
bucket's object is not in the history (no ``s3-kept``). A versioned write
that finds it there archives it first, as before (an idempotent copy
under its own id); ListObjectVersions shows the bucket's object and drops
the history entry of the same id, so both layouts list alike and nothing
is migrated ahead of use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator

from aiohttp import web

from objectstore.common import retention
from objectstore.proxy import errors as core_errors
from objectstore.proxy.conditional import http_date
from objectstore.proxy.models import ListParams, ObjectInfo, ObjectMetadata, ObjectRow
from objectstore.proxy.names import MAX_OBJECT_NAME
from objectstore.timestamp import Timestamp
from s3compat import access, acl, lock_state, meta, namespace, object_owners, segments, xmlio
from s3compat.context import S3Context, empty, xml_response
from s3compat.errors import S3Error

log = logging.getLogger(__name__)

STATUS = "s3-versioning"
#: On the bucket's object: it copies the history entry whose name ends with this value.
KEPT = "s3-kept"
#: Rounds of :func:`settle` before it gives up (each round follows a concurrent change).
SETTLE_ROUNDS = 12
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


def new_version_id(when: Timestamp | None = None) -> str:
    ticks = (when or Timestamp.now()).ticks
    return f"{ticks:014x}{secrets.randbelow(0xFFFFFF) + 1:06x}"


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


def kept(info: ObjectInfo) -> bool:
    """Whether the bucket's object is a copy of its history entry (this layout)."""
    return bool(info.system.get(KEPT))


def created(info: ObjectInfo) -> Timestamp:
    """When the version was written (a copy keeps its original time in ``s3-mtime``)."""
    mtime = info.system.get(MTIME)
    return Timestamp(mtime) if mtime else info.last_modified


def entry_of(info: ObjectInfo) -> str:
    """The name of the history entry of the bucket's object ``info``."""
    if kept(info):
        return entry_prefix(info.name) + info.system[KEPT]
    return entry_name(info.name, version_of(info), created(info).ticks)


def present(info: ObjectInfo) -> ObjectInfo:
    """An object as S3 shows it: original Last-Modified, multipart size and ETag."""
    mtime = info.system.get(MTIME)
    if mtime:
        info = dataclasses.replace(info, timestamp=Timestamp(mtime), meta_timestamp=None)
    return segments.presented(info)


async def current(ctx: S3Context, *, newest: bool = False) -> ObjectInfo | None:
    try:
        return await ctx.core.head_object(
            ctx.account, ctx.bucket_name, ctx.key, raw=True, newest=newest
        )
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
    ctx: S3Context,
    src: tuple[str, str, str],
    dst: tuple[str, str, str],
    system: dict[str, str],
    timestamp: Timestamp | None = None,
) -> None:
    """Copy an object exactly as stored (a manifest stays a manifest), adding ``system``
    (and its original Last-Modified, when it has none yet)."""
    info, body = await ctx.core.get_object(*src, raw=True, newest=True)
    try:
        md = ObjectMetadata(
            content_type=info.content_type,
            user=info.user,
            attributes=info.attributes,
            delete_at=info.delete_at,
            etag=info.etag,
            system={MTIME: info.last_modified.normal, **info.system, **system},
            timestamp=timestamp,
        )
        await ctx.core.put_object(*dst, body.chunks(), md, content_length=info.size)
    finally:
        body.close()


async def archive(ctx: S3Context, info: ObjectInfo) -> None:
    """Copy the bucket's object, written outside the history, into it (idempotent: the
    entry is named by the version's own id)."""
    vid = version_of(info)
    name = entry_of(info)
    system = {meta.VERSION_ID: vid, MTIME: created(info).normal}
    src = (ctx.account, ctx.bucket_name, info.name)
    dst = (ctx.account, container_for(ctx.bucket_name), name)
    await _index(ctx, info.name)
    try:
        await copy_stored(ctx, src, dst, system)
    except core_errors.ContainerNotFound:
        await _ensure_container(ctx)
        await copy_stored(ctx, src, dst, system)


async def _put_marker(ctx: S3Context, vid: str, when: Timestamp) -> None:
    system = {meta.VERSION_ID: vid}
    owned = acl.object_acl_for_write(ctx)  # the marker is its deleter's, as on AWS
    if owned is not None:
        system[meta.ACL] = owned
        await object_owners.note_writer(ctx)
    md = ObjectMetadata(content_type=MARKER_TYPE, system=system, timestamp=when)
    name = entry_name(ctx.key, vid, when.ticks)
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


async def _delete_entry(ctx: S3Context, name: str, *, drop_segments: bool) -> None:
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
        await ctx.core.delete_object(ctx.account, cont, name, bypass_retention=_bypass(ctx))


async def _drop_older_nulls(ctx: S3Context, when: Timestamp) -> None:
    """A new null version (or null marker) replaces every older null entry (a newer one,
    written meanwhile by another writer, replaces this one in its turn)."""
    doomed = [
        row.name
        async for row in entries(ctx, ctx.key)
        if entry_version(row.name)[0] == NULL and entry_version(row.name)[1] < when.ticks
    ]
    for name in doomed:
        await _delete_entry(ctx, name, drop_segments=True)


async def _newest_entry(ctx: S3Context) -> ObjectRow | None:
    params = ListParams(limit=1, prefix=entry_prefix(ctx.key))
    try:
        _info, rows = await ctx.core.list_objects(
            ctx.account, container_for(ctx.bucket_name), params
        )
    except core_errors.ContainerNotFound:
        return None
    return next((r for r in rows if isinstance(r, ObjectRow)), None)


def _stamp(cur: ObjectInfo | None, when: Timestamp, again: bool) -> Timestamp:
    """The version's own time, so the nodes keep the newest of racing copies; now when
    the bucket holds a newer write, or the nodes refused the same change (a newer
    tombstone): a removed version can make an older one current."""
    if again or (cur is not None and cur.timestamp >= when):
        return Timestamp.now()
    return when


async def settle(ctx: S3Context, own: Timestamp | None) -> None:
    """Make the bucket's object the key's newest history entry (none after a marker).

    ``own``: the time of this writer's entry. A bucket object outside the
    history and newer than it (a native-API write meanwhile) is archived
    first, so it counts as a version. Every change is checked again: a
    concurrent writer may have changed the history or the bucket meanwhile.
    """
    last = ""  # this writer's previous change: the same again means the nodes refused it
    for _ in range(SETTLE_ROUNDS):
        cur = await current(ctx, newest=True)
        if cur is not None and not kept(cur) and (own is None or cur.timestamp > own):
            await archive(ctx, cur)
        row = await _newest_entry(ctx)
        if row is None or is_marker(row):
            if cur is None:
                return
            change = "-" + (row.name if row else "")
            when = Timestamp.from_ticks(entry_version(row.name)[1]) if row else Timestamp.now()
            with contextlib.suppress(core_errors.NotFound, core_errors.Conflict):
                await ctx.core.delete_object(
                    ctx.account,
                    ctx.bucket_name,
                    ctx.key,
                    bypass_retention=True,  # a copy: the history keeps the version
                    timestamp=_stamp(cur, when, change == last),
                )
            last = change
            continue
        if cur is not None and entry_of(cur) == row.name:
            return
        when = Timestamp.from_ticks(entry_version(row.name)[1])
        src = (ctx.account, container_for(ctx.bucket_name), row.name)
        dst = (ctx.account, ctx.bucket_name, ctx.key)
        stamp = _stamp(cur, when, row.name == last)
        with contextlib.suppress(core_errors.NotFound):  # the entry went meanwhile
            await copy_stored(ctx, src, dst, {KEPT: row.name[-_SUFFIX_LEN:]}, stamp)
        last = row.name
    log.warning(
        "versions of %s/%s still changing after %d rounds", ctx.bucket_name, ctx.key, SETTLE_ROUNDS
    )


async def before_put(ctx: S3Context, md: ObjectMetadata, cur: ObjectInfo | None) -> ObjectMetadata:
    """Keep the bucket's object when it is outside the history; give the new one its id
    and time. The caller stores it at :func:`destination`, then calls :func:`after_put`."""
    st = status(ctx)
    if st is None:
        await segments.remember_segments(ctx, cur)
        return md
    await _keep_outside(ctx, cur, st)
    when = Timestamp.now()
    vid = new_version_id(when) if st == "Enabled" else NULL
    await _index(ctx, ctx.key)
    md.system = {**lock_state.with_default(ctx, md.system), meta.VERSION_ID: vid}
    md.timestamp = when
    return md


async def _keep_outside(ctx: S3Context, cur: ObjectInfo | None, st: str) -> None:
    """The bucket's object, when outside the history: archived (a null one that a
    suspended write replaces: its segments noted, to go after the write)."""
    if cur is None or kept(cur):
        return
    if st == "Enabled" or version_of(cur) != NULL:
        await archive(ctx, cur)
    else:
        await segments.remember_segments(ctx, cur)


def destination(ctx: S3Context, md: ObjectMetadata) -> tuple[str, str, str]:
    """Where a write stores its object: its own history entry when versioned."""
    if status(ctx) is None:
        return ctx.account, ctx.bucket_name, ctx.key
    assert md.timestamp is not None and md.system is not None
    name = entry_name(ctx.key, md.system[meta.VERSION_ID], md.timestamp.ticks)
    return ctx.account, container_for(ctx.bucket_name), name


async def after_put(ctx: S3Context, md: ObjectMetadata) -> None:
    """After the write stored its entry: older null entries go, the newest becomes current."""
    if status(ctx) is None:
        return
    assert md.timestamp is not None
    if status(ctx) != "Enabled":
        await _drop_older_nulls(ctx, md.timestamp)
    await settle(ctx, md.timestamp)


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
    await _keep_outside(ctx, cur, st)
    when = Timestamp.now()
    marker = new_version_id(when) if st == "Enabled" else NULL
    await _put_marker(ctx, marker, when)
    if st != "Enabled":
        await _drop_older_nulls(ctx, when)
    await settle(ctx, when)
    await segments.after_overwrite(ctx, None)
    return {"x-amz-delete-marker": "true", "x-amz-version-id": marker}


async def _delete_current(ctx: S3Context) -> None:
    with contextlib.suppress(core_errors.NotFound):
        await ctx.core.delete_object(
            ctx.account, ctx.bucket_name, ctx.key, bypass_retention=_bypass(ctx)
        )


def _bypass(ctx: S3Context) -> bool:
    """Delete a retained version anyway: the request may bypass its GOVERNANCE retention
    (object_lock.check_delete)."""
    return bool(ctx.extra.get(lock_state.BYPASSED))


async def _delete_version(ctx: S3Context, vid: str) -> dict[str, str]:
    headers = await _delete_version_entry(ctx, vid)
    await _unindex_if_empty(ctx, ctx.key)
    return headers


async def _delete_version_entry(ctx: S3Context, vid: str) -> dict[str, str]:
    """The version's entry goes (and the bucket's object, when outside the history and
    that version); then the newest remaining version is made current."""
    headers = {"x-amz-version-id": vid}
    cur = await current(ctx)
    dropped = False
    if cur is not None and version_of(cur) == vid and not kept(cur):
        await segments.remember_segments(ctx, cur)
        await _delete_current(ctx)
        await segments.after_overwrite(ctx, None)
        dropped = True
    if status(ctx) is None and (dropped or vid != NULL):
        return headers
    entry = await find_entry(ctx, ctx.key, vid)
    if entry is not None:
        marker = is_marker(entry)
        if marker:
            headers["x-amz-delete-marker"] = "true"
        drop = not marker and not dropped
        await _delete_entry(ctx, _entry_name_of(ctx, entry, vid), drop_segments=drop)
    if status(ctx) is not None:
        await settle(ctx, None)
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
    """Replace the requested version's metadata (all of it: build ``md`` from ``info``);
    the bucket's copy of a version and its history entry both."""
    loc = await location(ctx)
    try:
        await ctx.core.post_object(*loc, md)
    except core_errors.NotFound:
        raise await no_such_key(ctx) from None
    if loc[1] == ctx.bucket_name and kept(info):
        system = {k: v for k, v in (md.system or {}).items() if k != KEPT}
        entry = (ctx.account, container_for(ctx.bucket_name), entry_of(info))
        with contextlib.suppress(core_errors.NotFound):  # removed meanwhile
            await ctx.core.post_object(*entry, dataclasses.replace(md, system=system))


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
