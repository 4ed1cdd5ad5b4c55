"""The proxy's short memory of accounts and containers: entries expire, the cache is bounded."""

from __future__ import annotations

import pytest

from objectstore.proxy import infocache
from objectstore.proxy.infocache import InfoCache


def test_entries_expire_after_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(infocache.time, "monotonic", lambda: now[0])
    cache: InfoCache[str] = InfoCache(10.0)
    cache.put(("a", "c"), "info")
    assert cache.get(("a", "c")) == "info"
    now[0] = 109.9
    assert cache.get(("a", "c")) == "info"
    now[0] = 110.0
    assert cache.get(("a", "c")) is None


def test_forget_and_the_bound() -> None:
    cache: InfoCache[int] = InfoCache(10.0, max_entries=3)
    for i in range(4):
        cache.put(i, i)
    cache.forget(3)
    assert [cache.get(i) for i in range(4)] == [0, 1, 2, None]
    cache.put(3, 3)
    cache.put(4, 4)  # over the bound: emptied first, the newest kept
    assert [cache.get(i) for i in range(5)] == [None, None, None, None, 4]
