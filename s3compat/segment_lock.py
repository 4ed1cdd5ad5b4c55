"""Object Lock for the segments of a locked multipart object.

A completed multipart upload is a manifest whose bytes live in the bucket's
``+segments`` container. Locking only the manifest would leave its bytes
deletable through the native API; so whenever a manifest version's retention
or legal hold is set (CompleteMultipartUpload with lock headers or a default
retention, PutObjectRetention, PutObjectLegalHold), the same two entries are
written on each of its segments, and the segments container carries the
retention flag. The core and the storage nodes then refuse to delete or
replace a segment, through every API, until the manifest may go too (see
:mod:`objectstore.common.retention`). S3's own deletes of segments follow a
judgement already made on the manifest, so they bypass the check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from objectstore.common import retention
from objectstore.proxy import errors as core_errors
from objectstore.proxy import manifest
from s3compat import lock_state, segments, versioning
from s3compat.context import S3Context

ENTRIES = (retention.RETAIN_UNTIL, retention.LEGAL_HOLD)
STAMP_CONCURRENCY = 8


def _lock_of(system: Mapping[str, str]) -> dict[str, str]:
    return {k: system[k] for k in ENTRIES if system.get(k)}


async def follow(
    ctx: S3Context,
    account: str,
    container: str,
    name: str,
    system: Mapping[str, str],
    before: Mapping[str, str] | None = None,
) -> None:
    """Give manifest ``container/name`` (its new ``system``) segments its lock entries.

    ``before``: the version's entries until now (nothing to do when its lock
    did not change). A plain object, or a bucket without Object Lock, costs nothing.
    """
    if ctx.bucket is None or not lock_state.enabled(ctx.bucket.system):
        return
    if not manifest.is_manifest(system):
        return
    wanted = _lock_of(system)
    if before is not None and _lock_of(before) == wanted:
        return
    try:
        segs = await segments.load(ctx, account, container, name)
    except core_errors.NotFound:
        return
    flagged: set[str] = set()
    for seg in segs:
        if seg.data is None and seg.container not in flagged:
            flagged.add(seg.container)
            await ctx.core.post_container(
                account, seg.container, system={retention.CONTAINER_FLAG: "on"}
            )
    sem = asyncio.Semaphore(STAMP_CONCURRENCY)

    async def stamp(seg: manifest.Segment) -> None:
        async with sem:
            await _stamp(ctx, account, seg.container, seg.name, wanted)

    await asyncio.gather(*(stamp(s) for s in segs if s.data is None))


async def _stamp(
    ctx: S3Context, account: str, container: str, name: str, wanted: Mapping[str, str]
) -> None:
    try:
        info = await ctx.core.head_object(account, container, name, raw=True)
    except core_errors.NotFound:
        return
    system = {k: v for k, v in info.system.items() if k not in ENTRIES}
    system.update(wanted)
    if system == info.system:
        return
    await ctx.core.post_object(account, container, name, versioning.with_system(info, system))
