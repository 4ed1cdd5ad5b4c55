"""A short-lived memory of what the proxy learnt about accounts and containers.

An object PUT needs to know that its container exists; asking a container
replica every time would cost a round trip per write. What a proxy saw is
trusted for ``ttl`` seconds (another proxy's change shows after at most that
long, as in Swift's memcache of container info). The cache is bounded: when
full it is emptied, which costs at most one extra lookup per entry.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
MAX_ENTRIES = 100_000


class InfoCache(Generic[V]):
    """``key -> value`` entries that expire ``ttl`` seconds after they were put."""

    def __init__(self, ttl: float, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable) -> V | None:
        hit = self._entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def put(self, key: Hashable, value: V) -> None:
        if len(self._entries) > self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, value)

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)
