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
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
