"""Writes in flight per key: where AWS answers 409 ConditionalRequestConflict.

A conditional write (``If-None-Match: *`` or ``If-Match`` on PutObject or
CompleteMultipartUpload) decides on what it finds when it starts; a write to
the same key already under way could still change that. AWS refuses the
later request with ``409 ConditionalRequestConflict`` (retry it) rather than
let both succeed, and so does this proxy: every write to a key registers
here for its duration (:func:`writing`, around the handler), and a
conditional one that finds an earlier write of its key still running is
refused (:func:`conflicts`). The registry is this proxy process's: writes
through another proxy are not seen.

In a versioned bucket the writes of one key also take turns
(:func:`one_at_a_time`): each archives the current version before replacing
it, and two at once would both archive the same one and lose the other's
(a version listing after concurrent creates and removes must show them all).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

from objectstore.proxy import turns
from s3compat import versioning
from s3compat.context import S3Context

# Operations that write an object's key (the PostObject key comes from its form).
KEY_WRITES = frozenset(
    {"PutObject", "CopyObject", "PostObject", "CompleteMultipartUpload", "DeleteObject"}
)
_TOKEN = "inflight_token"
_ACTIVE: dict[tuple[str, str, str], list[object]] = {}


def _slot(ctx: S3Context) -> tuple[str, str, str]:
    return ctx.account, ctx.bucket_name, ctx.key


@contextlib.contextmanager
def writing(ctx: S3Context) -> Iterator[None]:
    """Register the request's write of its key, in arrival order, while it runs."""
    slot = _slot(ctx)
    token = object()
    ctx.extra[_TOKEN] = token
    queue = _ACTIVE.setdefault(slot, [])
    queue.append(token)
    try:
        yield
    finally:
        queue.remove(token)
        if not queue:
            _ACTIVE.pop(slot, None)


def conflicts(ctx: S3Context) -> bool:
    """Did another write of this key start before this request, and is it still running?"""
    queue = _ACTIVE.get(_slot(ctx))
    return bool(queue) and queue[0] is not ctx.extra.get(_TOKEN)


def running(account: str, bucket: str, key: str) -> int:
    """How many writes of a key this proxy is running now."""
    return len(_ACTIVE.get((account, bucket, key), ()))


@contextlib.asynccontextmanager
async def one_at_a_time(ctx: S3Context) -> AsyncIterator[None]:
    """In a versioned bucket, the request's write of its key waits for the earlier ones
    (the proxy's one table: Swift's writes of the same key take turns with it)."""
    if ctx.bucket is None or not ctx.bucket.system.get(versioning.STATUS):
        yield
        return
    async with turns.key_turn(ctx.account, ctx.bucket_name, ctx.key):
        yield
