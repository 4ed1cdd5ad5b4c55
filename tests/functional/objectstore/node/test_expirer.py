"""The expirer: objects past X-Delete-At become tombstones and leave their listing."""

from __future__ import annotations

import time

import pytest

from objectstore.client import ContainerUpdate, NotFound
from objectstore.timestamp import Timestamp

A, C = "AUTH_exp", "box"


async def test_expired_objects_become_tombstones_everywhere(ring_cluster) -> None:
    c = await ring_cluster()
    cpart, cnodes = c.ring("container").get_nodes(A, C)
    for dev in cnodes:
        await c.client.put_container(dev, cpart, A, C, timestamp=Timestamp.now())
    part, primaries = c.ring().get_nodes(A, C, "short-lived")
    keep_part, keep_nodes = c.ring().get_nodes(A, C, "kept")
    ts = Timestamp.now()
    past = int(time.time()) - 5
    for i, dev in enumerate(primaries):
        await c.client.put_object(
            dev, part, A, C, "short-lived", timestamp=ts, body=b"bye", content_length=3,
            content_type="text/plain", metadata={}, delete_at=past,
            container_update=ContainerUpdate(cnodes[i], cpart),
        )  # fmt: skip
    for i, dev in enumerate(keep_nodes):
        await c.client.put_object(
            dev, keep_part, A, C, "kept", timestamp=ts, body=b"hi", content_length=2,
            content_type="text/plain", metadata={}, delete_at=int(time.time()) + 3600,
            container_update=ContainerUpdate(cnodes[i], cpart),
        )  # fmt: skip
    listing = await c.client.list_objects(cnodes[0], cpart, A, C)
    assert sorted(r.name for r in listing) == ["kept", "short-lived"]
    results = await c.run("expirer")
    assert sum(r["last"]["expired"] for r in results) == 3  # one per replica
    stones = set()
    for dev in primaries:
        with pytest.raises(NotFound) as err:
            await c.client.head_object(dev, part, A, C, "short-lived")
        stones.add(err.value.timestamp)
    assert len(stones) == 1 and next(iter(stones)) > ts  # the same tombstone on every replica
    for dev in cnodes:
        listing = await c.client.list_objects(dev, cpart, A, C)
        assert [r.name for r in listing] == ["kept"]
    # Nothing is due any more: a second pass does nothing.
    assert sum(r["last"]["expired"] for r in await c.run("expirer")) == 0
    # Replicas agree already: replication has nothing to push.
    for r in await c.run("object"):
        assert r["last"]["pushed"] == 0


async def test_posts_and_overwrites_move_the_expiry(ring_cluster) -> None:
    c = await ring_cluster(nodes=1, replicas=1)
    ring = c.ring()
    now = int(time.time())
    ts = Timestamp.now()

    async def put(name: str, delete_at: int | None, when: Timestamp = ts) -> int:
        part, (dev,) = ring.get_nodes(A, C, name)
        await c.client.put_object(
            dev, part, A, C, name, timestamp=when, body=b"x", content_length=1,
            content_type="text/plain", metadata={}, delete_at=delete_at, container_update=None,
        )  # fmt: skip
        return part

    # A POST brings a far delete-at into the past: the expirer follows it.
    part = await put("posted", now + 3600)
    (dev,) = ring.get_part_nodes(part)
    await c.client.post_object(
        dev, part, A, C, "posted", timestamp=Timestamp(ts.seconds + 1), metadata={},
        delete_at=now - 1,
    )  # fmt: skip
    # An overwrite without X-Delete-At cancels an expiry that had passed.
    part2 = await put("rewritten", now - 1)
    await put("rewritten", None, Timestamp(ts.seconds + 2))
    (result,) = await c.run("expirer")
    assert result["last"] == {"expired": 1, "stale_entries": 0}
    with pytest.raises(NotFound):
        await c.client.head_object(dev, part, A, C, "posted")
    (dev2,) = ring.get_part_nodes(part2)
    assert (await c.client.head_object(dev2, part2, A, C, "rewritten")).delete_at is None
