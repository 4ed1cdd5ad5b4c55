"""Writes of one object that take turns in this proxy process.

In a versioned container (S3 versioning, Swift's object versioning) a write
first keeps the current version, then replaces it. Two writes of one key at
once would both keep the same current version, and each would replace it
with its own: every acknowledged version but the last would be lost. So the
writes of a key in a versioned container wait for each other here. The table
is the process's, shared by both APIs (one proxy serves both), so an S3 PUT
and a Swift PUT of the same key take turns too. Writes through another proxy
are not seen (docs/consistency.md).
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
