"""Writes of one object that take turns in this proxy process: legacy versioned writes.

Swift's legacy versioned writes (``X-Versions-Location`` / ``X-History-Location``,
middleware/versioned_writes.py) keep Swift's visible layout: the archive
container holds the previous versions only, each named by its own
timestamp, and a PUT first copies the current object there, then replaces
it. Two PUTs of one key at once would both archive the same current
version and each replace it with its own: every acknowledged version but
the last would be lost. Swift has that race itself (its middleware takes no
lock); here the writes of one key wait for each other in this process, so
through one proxy none is lost. Writes through another proxy are not seen
(docs/consistency.md, promise 7). S3 versioning and Swift's object
versioning (``X-Versions-Enabled``) need no turn: each write stores its own
version first, under its own id (s3compat/versioning.py,
middleware/object_versioning.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

_TURNS: dict[tuple[str, str, str], tuple[asyncio.Lock, list[object]]] = {}


@contextlib.asynccontextmanager
async def key_turn(account: str, container: str, obj: str) -> AsyncIterator[None]:
    """Wait for the earlier writes of this object in this process, then hold the turn."""
    slot = (account, container, obj)
    lock, users = _TURNS.setdefault(slot, (asyncio.Lock(), []))
    token = object()
    users.append(token)
    try:
        async with lock:
            yield
    finally:
        users.remove(token)
        if not users:
            _TURNS.pop(slot, None)
