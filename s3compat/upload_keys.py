"""Names of upload records, long keys included, and the order ListMultipartUploads shows.

An upload record lives in ``<bucket>+segments`` as ``u/`` + escaped key +
``\\x01\\x01`` + upload id (see :mod:`s3compat.multipart`). A key whose
escaped form leaves no room for the 36 characters around it within the
core's 1,024-byte name limit (a key near S3's own limit, or one full of
``\\x01``) is "long", as in :mod:`s3compat.versioning`: its records are
named::

    "u/\\x01\\x01" + sha256(key) in hex + "\\x01\\x01" + upload id

No escaped key starts with ``\\x01\\x01``, so these names form one block
right after ``u/``, apart from every plain record, and records of keys that
fit keep exactly the names they always had. The real key of a long record
is kept in ``<bucket>+uploadkeys``: one empty object per long key with
uploads, named by the key itself (an S3 key always fits; nothing else lives
there, and the record's metadata, which becomes the object's, stays
untouched). Its listing gives long keys in key order, so ListMultipartUploads
merges it with the plain records. A creator names the key there before and
again after writing the record; whoever removes a key's last record takes
the index object away and puts it back if a record appeared meanwhile.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ListParams, ObjectMetadata, ObjectRow
from objectstore.proxy.names import MAX_OBJECT_NAME
from s3compat import segments, versioning
from s3compat.context import S3Context

TAG = "u/"
SEP = versioning.SEP
UID_LEN = 32
INDEX_SUFFIX = "+uploadkeys"
INDEX_TYPE = "application/x-s3-upload-key"
PAGE = 1000
#: The longest escaped key (in UTF-8 bytes) whose records keep the plain name.
SHORT_MAX = MAX_OBJECT_NAME - len(TAG) - len(SEP) - UID_LEN
LONG_TAG = TAG + SEP  # starts every long key's record name
#: A marker past every long key's record (digests are hex) and before every plain one.
LONG_END = LONG_TAG + "\U0010ffff"
_TOP = "\U0010ffff"


def index_for(bucket: str) -> str:
    """The hidden container naming the long keys that have uploads."""
    return bucket + INDEX_SUFFIX


def is_long(key: str) -> bool:
    """Whether ``key``'s records take the digest name (the plain one would not fit)."""
    return len(versioning.escape(key).encode("utf-8")) > SHORT_MAX


def record_prefix(key: str) -> str:
    """Every record of ``key`` (and only of ``key``) starts with this."""
    if is_long(key):
        return LONG_TAG + hashlib.sha256(key.encode("utf-8")).hexdigest() + SEP
    return TAG + versioning.key_prefix(key)


def record_name(key: str, uid: str) -> str:
    return record_prefix(key) + uid


def parse_record(name: str) -> tuple[str, str]:
    """(key, upload id) of a plain (not long) record's name."""
    body = name[len(TAG) :]
    return body[: -UID_LEN - len(SEP)].replace("\x01\x02", "\x01"), body[-UID_LEN:]


def _fit(text: str) -> str:
    """The longest head of ``text`` within the core's name limit (a lower marker)."""
    raw = text.encode("utf-8")
    if len(raw) <= MAX_OBJECT_NAME:
        return text
    return raw[:MAX_OBJECT_NAME].decode("utf-8", errors="ignore")


async def _names(ctx: S3Context, container: str, prefix: str, marker: str) -> AsyncIterator[str]:
    """Object names after ``marker`` starting with ``prefix``, in order (bounded pages)."""
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
                yield row.name
        if len(rows) < PAGE:
            return
        asked = rows[-1].name


async def add(ctx: S3Context, key: str) -> None:
    """Name a long key in the index (before and after its record is written)."""
    if not is_long(key):
        return
    md = ObjectMetadata(content_type=INDEX_TYPE)
    cont = index_for(ctx.bucket_name)
    try:
        await ctx.core.put_object(ctx.account, cont, key, b"", md)
    except core_errors.ContainerNotFound:
        await ctx.core.put_container(ctx.account, cont)
        await ctx.core.put_object(ctx.account, cont, key, b"", md)


async def _has_records(ctx: S3Context, key: str) -> bool:
    async for _name in _names(ctx, segments.container_for(ctx.bucket_name), record_prefix(key), ""):
        return True
    return False


async def forget_if_unused(ctx: S3Context, key: str) -> None:
    """Drop a long key's index object once its last upload record went."""
    if not is_long(key) or await _has_records(ctx, key):
        return
    with contextlib.suppress(core_errors.NotFound):
        await ctx.core.delete_object(ctx.account, index_for(ctx.bucket_name), key)
    if await _has_records(ctx, key):  # an upload began meanwhile: keep it listed
        await add(ctx, key)


async def drop_index(ctx: S3Context) -> None:
    """Remove the index of a bucket being deleted (its records are gone)."""
    cont = index_for(ctx.bucket_name)
    while True:
        try:
            _info, rows = await ctx.core.list_objects(ctx.account, cont, ListParams(limit=PAGE))
        except core_errors.ContainerNotFound:
            return
        names = [r.name for r in rows if isinstance(r, ObjectRow)]
        if not names:
            break
        await segments.delete_names(ctx, ctx.account, cont, names)
        if len(rows) < PAGE:
            break
    with contextlib.suppress(core_errors.NotFound, core_errors.ContainerNotEmpty):
        await ctx.core.delete_container(ctx.account, cont)


async def _plain(ctx: S3Context, prefix: str, marker: str) -> AsyncIterator[tuple[str, str]]:
    escaped = versioning.escape(prefix)
    if len(escaped.encode("utf-8")) > SHORT_MAX:
        return  # every key starting with it is long
    cont = segments.container_for(ctx.bucket_name)
    async for name in _names(ctx, cont, TAG + escaped, max(marker, LONG_END)):
        yield parse_record(name)


async def _long(
    ctx: S3Context, prefix: str, key_marker: str, uid_marker: str
) -> AsyncIterator[tuple[str, str]]:
    async def keys() -> AsyncIterator[str]:
        if key_marker and uid_marker and is_long(key_marker) and key_marker.startswith(prefix):
            yield key_marker  # the rest of its uploads come first
        async for name in _names(ctx, index_for(ctx.bucket_name), prefix, key_marker):
            yield name

    cont = segments.container_for(ctx.bucket_name)
    async for key in keys():
        async for name in _names(ctx, cont, record_prefix(key), ""):
            yield key, name[-UID_LEN:]


async def uploads(
    ctx: S3Context, prefix: str, key_marker: str, uid_marker: str
) -> AsyncIterator[tuple[str, str]]:
    """(key, upload id) of every upload after the markers, in S3's order (key, then id)."""
    after = (key_marker, uid_marker or _TOP) if key_marker else ("", "")
    plain_marker = ""
    if key_marker:
        plain_marker = TAG + versioning.key_prefix(key_marker) + (uid_marker or _TOP)
    streams = [
        aiter(_plain(ctx, prefix, plain_marker)),
        aiter(_long(ctx, prefix, key_marker, uid_marker)),
    ]
    heads = [await anext(s, None) for s in streams]
    while True:
        live = [(h, i) for i, h in enumerate(heads) if h is not None]
        if not live:
            return
        head, i = min(live)
        if head > after:
            yield head
        heads[i] = await anext(streams[i], None)
