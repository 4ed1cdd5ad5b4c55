"""Who owns each object a listing shows, and who began each upload.

Under ObjectWriter (and BucketOwnerPreferred without ``bucket-owner-full-control``)
an object another project writes is owned by that project;
:func:`s3compat.acl.object_acl_for_write` keeps the owner in the object's
``s3-acl`` entry. A listing row carries no metadata, so knowing it would cost
one HEAD per row: instead a bucket is marked (:data:`FOREIGN_WRITER`, a
container system flag) the first time another project writes into it, and
only listings of marked buckets read their objects' owners. Every other
bucket's objects are its owner's. Upload records carry the same entry (and
who began the upload), and ListMultipartUploads reads each record anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from objectstore.proxy import errors as core_errors
from s3compat import access_state, acl, meta
from s3compat.context import Bucket, S3Context

FOREIGN_WRITER = "s3-foreign-writer"  # "1": another project has written objects here
HEAD_CONCURRENCY = 16


def owner_from(system: Mapping[str, str], bucket: Bucket) -> dict[str, str]:
    """The Owner of an object (or upload) with these system entries, in ``bucket``."""
    bucket_owner = acl.owner_of(bucket.account)
    if access_state.acls_disabled(bucket.system):  # BucketOwnerEnforced: the bucket owner's
        return bucket_owner
    owner = acl.ObjectAcl.parse(system.get(meta.ACL), bucket_owner["ID"]).owner
    return acl.owner_of(owner)


def initiator_from(recorded: str | None, owner: dict[str, str]) -> dict[str, str]:
    """An upload's Initiator: the user who began it (``project:user``), else its owner."""
    if not recorded:
        return owner
    return {"ID": recorded, "DisplayName": recorded.partition(":")[2] or recorded}


async def note_writer(ctx: S3Context) -> None:
    """Before a write that may store an object another project owns: mark the bucket once."""
    bucket, p = ctx.bucket, ctx.principal
    if bucket is None or p is None or p.account == bucket.account:
        return
    if bucket.system.get(FOREIGN_WRITER) == "1":
        return
    if access_state.acls_disabled(bucket.system):
        return  # the bucket owner owns everything written while enforced
    await ctx.core.post_container(bucket.account, bucket.name, system={FOREIGN_WRITER: "1"})


def foreign_writers(ctx: S3Context) -> bool:
    """True when objects of this bucket may be owned by another project than its own."""
    bucket = ctx.bucket
    if bucket is None or bucket.system.get(FOREIGN_WRITER) != "1":
        return False
    return not access_state.acls_disabled(bucket.system)


async def fill(
    ctx: S3Context,
    contents: list[dict[str, Any]],
    names: list[str],
    *,
    container: str | None = None,
    known: Mapping[int, Mapping[str, str]] | None = None,
) -> None:
    """Set each listed object's Owner (``contents[i]`` is object ``names[i]`` of the bucket,
    or of ``container``; ``known[i]``: that object's system entries, already read)."""
    bucket = ctx.bucket
    if bucket is None or not contents or contents[0].get("Owner") is None:
        return
    if not foreign_writers(ctx):
        return
    sem = asyncio.Semaphore(HEAD_CONCURRENCY)
    where = container or bucket.name

    async def one(i: int, entry: dict[str, Any], name: str) -> None:
        system = (known or {}).get(i)
        if system is None:
            async with sem:
                try:
                    info = await ctx.core.head_object(bucket.account, where, name, raw=True)
                except core_errors.NotFound:
                    return  # gone since the listing was read: keep the bucket owner
            system = info.system
        entry["Owner"] = owner_from(system, bucket)

    await asyncio.gather(
        *(one(i, c, n) for i, (c, n) in enumerate(zip(contents, names, strict=True)))
    )
