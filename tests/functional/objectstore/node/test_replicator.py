"""The object replicator between real nodes on loopback, passes driven by the test."""

from __future__ import annotations

import os
import shutil

import pytest

from objectstore.client import NodeClient, NotFound
from objectstore.node import hashes
from objectstore.timestamp import Timestamp
from tests.functional.objectstore.node.conftest import RingCluster

A, C = "AUTH_repl", "cont"


async def put(client: NodeClient, dev, part: int, name: str, body: bytes, ts=None, **kw):
    return await client.put_object(
        dev,
        part,
        A,
        C,
        name,
        timestamp=ts or Timestamp.now(),
        body=body,
        content_length=len(body),
        content_type="text/plain",
        metadata=kw.pop("metadata", {}),
        container_update=None,
        **kw,
    )


async def holders(c: RingCluster, name: str, devs) -> list[bytes | None]:
    """Each device's body of ``name`` (None when it has none)."""
    part, _ = c.ring().get_nodes(A, C, name)
    out = []
    for dev in devs:
        try:
            stream = await c.client.get_object(dev, part, A, C, name)
        except NotFound:
            out.append(None)
            continue
        out.append(await stream.read())
    return out


@pytest.mark.parametrize("size", [100, 300_000])  # inline (threshold 1024) and file bodies
async def test_an_object_on_one_primary_reaches_the_others(ring_cluster, size: int) -> None:
    c = await ring_cluster()
    part, primaries = c.ring().get_nodes(A, C, "lonely")
    body = os.urandom(size)
    await put(c.client, primaries[0], part, "lonely", body, metadata={"k": "v"})
    assert await holders(c, "lonely", primaries) == [body, None, None]
    await c.replicate()
    assert await holders(c, "lonely", primaries) == [body] * 3
    info = await c.client.head_object(primaries[2], part, A, C, "lonely")
    assert info.metadata == {"k": "v"} and info.etag
    # Converged: every replica now hashes the partition the same way.
    sums = [await c.client.replicate_hashes(d, part) for d in primaries]
    assert sums[0] == sums[1] == sums[2] and sums[0]


async def test_newest_version_and_tombstones_win(ring_cluster) -> None:
    c = await ring_cluster()
    part, primaries = c.ring().get_nodes(A, C, "o")
    t1, t2, t3 = (Timestamp(Timestamp.now().seconds + i) for i in range(3))
    for dev in primaries:
        await put(c.client, dev, part, "o", b"old", t1)
    await put(c.client, primaries[1], part, "o", b"new", t2)
    await c.replicate()
    assert await holders(c, "o", primaries) == [b"new"] * 3
    # A DELETE that reached one replica wins over the data on the others.
    await c.client.delete_object(primaries[0], part, A, C, "o", timestamp=t3, container_update=None)
    await c.replicate()
    for dev in primaries:
        with pytest.raises(NotFound) as err:
            await c.client.head_object(dev, part, A, C, "o")
        assert err.value.timestamp == t3


async def test_a_post_reaches_every_replica_without_its_body(ring_cluster) -> None:
    c = await ring_cluster()
    part, primaries = c.ring().get_nodes(A, C, "m")
    ts = Timestamp.now()
    for dev in primaries:
        await put(c.client, dev, part, "m", b"x" * 5000, ts, metadata={"a": "1"})
    post_ts = Timestamp(ts.seconds + 1)
    await c.client.post_object(
        primaries[0], part, A, C, "m", timestamp=post_ts, metadata={"a": "2"}, delete_at=4102444800
    )
    results = await c.run("object")
    assert results[0]["last"]["pushed_bytes"] == 0  # metadata only
    for dev in primaries:
        info = await c.client.head_object(dev, part, A, C, "m")
        assert info.metadata == {"a": "2"} and info.meta_timestamp == post_ts
        assert info.delete_at == 4102444800


async def test_a_handoff_hands_back_and_then_forgets(ring_cluster) -> None:
    c = await ring_cluster(nodes=4)
    ring = c.ring()
    part, primaries = ring.get_nodes(A, C, "h")
    handoff = next(ring.get_more_nodes(part))
    await put(c.client, handoff, part, "h", b"stood in" * 1000)
    # One primary down: the handoff pushes to the others but keeps its copy.
    down = c.node_of(primaries[2])
    await down.stop()
    await c.run("object")
    assert (await holders(c, "h", primaries[:2])) == [b"stood in" * 1000] * 2
    assert part in (await c.client.device_partitions(handoff))["object"]
    await down.start()
    result = (await c.run("object", [c.node_of(handoff)]))[0]["last"]
    assert result["handoff_removed"] == 1
    assert await holders(c, "h", primaries) == [b"stood in" * 1000] * 3
    assert await holders(c, "h", [handoff]) == [None]
    assert part not in (await c.client.device_partitions(handoff))["object"]


async def test_a_wiped_device_is_refilled(ring_cluster) -> None:
    c = await ring_cluster()
    ring = c.ring()
    names = [f"obj{i}" for i in range(30)]
    bodies = {n: os.urandom(50 if i % 2 else 3000) for i, n in enumerate(names)}
    for n in names:
        part, primaries = ring.get_nodes(A, C, n)
        for dev in primaries:
            await put(c.client, dev, part, n, bodies[n])
    victim = c.nodes[1]
    await victim.stop()
    shutil.rmtree(victim.settings.devices_dir)
    await victim.start()
    assert (await c.client.device_partitions(victim.dev()))["object"] == []
    await c.replicate()
    for n in names:
        assert await holders(c, n, [victim.dev()]) == [bodies[n]]


async def test_a_corrupt_sender_is_refused_and_quarantined(ring_cluster) -> None:
    c = await ring_cluster()
    part, primaries = c.ring().get_nodes(A, C, "rot")
    body = os.urandom(4000)
    await put(c.client, primaries[0], part, "rot", body)
    dev = c.device_of(primaries[0])
    with dev.read() as txn:
        ((_key, rec),) = hashes.entries(txn, part, range(256), 0)
    with open(dev.body_path(rec.path), "r+b") as fh:
        fh.seek(100)
        fh.write(b"\xff\xfe")
    result = (await c.run("object", [c.node_of(primaries[0])]))[0]["last"]
    assert result["quarantined"] == 1
    assert await holders(c, "rot", primaries) == [None, None, None]  # never spread
    qdir = os.path.join(dev.root, "quarantined", "objects")
    assert any(n.endswith(".data") for n in os.listdir(qdir))


async def test_old_tombstones_are_reclaimed(ring_cluster) -> None:
    c = await ring_cluster(reclaim_age=3600.0)
    part, primaries = c.ring().get_nodes(A, C, "old")
    long_ago = Timestamp(Timestamp.now().seconds - 7200)
    recent = Timestamp.now()
    for dev in primaries:
        with pytest.raises(NotFound):  # nothing was there: the tombstone is written anyway
            await c.client.delete_object(
                dev, part, A, C, "old", timestamp=long_ago, container_update=None
            )
    rpart, rprimaries = c.ring().get_nodes(A, C, "recent")
    with pytest.raises(NotFound):
        await c.client.delete_object(
            rprimaries[0], rpart, A, C, "recent", timestamp=recent, container_update=None
        )
    await c.replicate()
    for dev in primaries:
        with pytest.raises(NotFound) as err:
            await c.client.head_object(dev, part, A, C, "old")
        assert err.value.timestamp is None  # no tombstone left
    for dev in rprimaries:
        with pytest.raises(NotFound) as err:
            await c.client.head_object(dev, rpart, A, C, "recent")
        assert err.value.timestamp == recent  # young tombstones replicate


async def test_a_large_inline_body_is_streamed_not_batched(ring_cluster) -> None:
    from objectstore.node.device import DeviceConfig

    c = await ring_cluster(device=DeviceConfig(inline_threshold=4 << 20, fsync=True))
    part, primaries = c.ring().get_nodes(A, C, "fat")
    body = os.urandom(3 << 20)  # inline here, and larger than a push batch
    await put(c.client, primaries[0], part, "fat", body)
    (result,) = await c.run("object", [c.node_of(primaries[0])])
    assert result["last"]["pushed_bytes"] == 2 * len(body)
    assert await holders(c, "fat", primaries) == [body] * 3


async def test_a_failed_peer_device_is_stood_in_for_by_a_handoff(ring_cluster) -> None:
    c = await ring_cluster(nodes=4)
    ring = c.ring()
    part, primaries = ring.get_nodes(A, C, "spare")
    c.device_of(primaries[2]).unavailable = "failed: test"
    await put(c.client, primaries[0], part, "spare", b"keep three copies")
    await c.run("object", [c.node_of(primaries[0])])
    handoff = next(d for d in ring.get_more_nodes(part))
    assert await holders(c, "spare", [primaries[1], handoff]) == [b"keep three copies"] * 2


async def test_a_peer_limited_by_an_earlier_pass_is_served_once_it_answers(ring_cluster) -> None:
    """A limit left while the peer was down must not make the next pass skip it."""
    c = await ring_cluster()
    part, primaries = c.ring().get_nodes(A, C, "back")
    sender = c.node_of(primaries[0])
    sender.state.limiter.limit_now(primaries[1], "down a moment ago")
    await put(c.client, primaries[0], part, "back", b"heal me")
    (status,) = await c.run("object", [sender])
    assert status["last"]["failed"] == 0, status
    assert await holders(c, "back", primaries[:2]) == [b"heal me"] * 2
    assert not sender.state.limiter.is_limited(primaries[1])
