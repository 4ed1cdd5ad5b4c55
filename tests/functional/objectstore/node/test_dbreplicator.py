"""Container and account replication between real nodes."""

from __future__ import annotations

import pytest

from objectstore.client import AccountRowUpdate, ContainerRowUpdate, NotFound
from objectstore.node import dbreplicator
from objectstore.timestamp import Timestamp

A = "AUTH_db"


async def test_a_container_on_one_replica_reaches_the_others(ring_cluster) -> None:
    c = await ring_cluster()
    part, primaries = c.ring("container").get_nodes(A, "box")
    ts = Timestamp.now()
    await c.client.put_container(primaries[0], part, A, "box", timestamp=ts, metadata={"m": "1"})
    rows = [
        ContainerRowUpdate(
            part, A, "box", f"o{i:04d}", Timestamp(ts.seconds + i), i, "e" * 32, "t", False
        )
        for i in range(1, 2501)  # more than one page of rows
    ]
    for start in range(0, len(rows), 500):
        await c.client.update_container_rows(primaries[0], rows[start : start + 500])
    # A delete of one row reached only the second replica (which lacks the container).
    await c.client.put_container(primaries[1], part, A, "box", timestamp=ts)
    gone = ContainerRowUpdate(
        part, A, "box", "o0001", Timestamp(ts.seconds + 9999), 0, "", "", True
    )
    await c.client.update_container_rows(primaries[1], [gone])
    await c.replicate()
    listings = [await c.client.list_objects(dev, part, A, "box", limit=10000) for dev in primaries]
    names = [[r.name for r in listing] for listing in listings]
    assert names[0] == names[1] == names[2]
    assert len(names[0]) == 2499 and "o0001" not in names[0]
    for listing in listings:
        assert listing.info.object_count == 2499
        assert listing.info.bytes_used == sum(range(2, 2501))
        assert listing.info.metadata == {"m": "1"}
    digests = [await c.client.db_digests(d, "c", part) for d in primaries]
    assert digests[0] == digests[1] == digests[2]


async def test_a_container_delete_replicates(ring_cluster) -> None:
    c = await ring_cluster()
    part, primaries = c.ring("container").get_nodes(A, "tmp")
    t1 = Timestamp.now()
    for dev in primaries:
        await c.client.put_container(dev, part, A, "tmp", timestamp=t1)
    t2 = Timestamp(t1.seconds + 1)
    await c.client.delete_container(primaries[2], part, A, "tmp", timestamp=t2)
    await c.replicate()
    for dev in primaries:
        with pytest.raises(NotFound) as err:
            await c.client.head_container(dev, part, A, "tmp")
        assert err.value.timestamp == t2


async def test_account_rows_replicate_and_handoffs_hand_back(ring_cluster) -> None:
    c = await ring_cluster(nodes=4)
    ring = c.ring("account")
    part, primaries = ring.get_nodes(A)
    handoff = next(ring.get_more_nodes(part))
    ts = Timestamp.now()
    row = AccountRowUpdate(part, A, "cont", ts, None, 7, 700, ts)
    assert await c.client.update_account_rows(handoff, [row]) == [201]
    await c.replicate()
    for dev in primaries:
        listing = await c.client.list_containers(dev, part, A)
        assert [(r.name, r.object_count, r.bytes_used) for r in listing] == [("cont", 7, 700)]
        assert listing.info.container_count == 1
    assert part not in (await c.client.device_partitions(handoff))["account"]


async def test_remove_op_leaves_a_database_that_changed(ring_cluster) -> None:
    c = await ring_cluster(nodes=3)
    part, primaries = c.ring("container").get_nodes(A, "keep")
    await c.client.put_container(primaries[0], part, A, "keep", timestamp=Timestamp.now())
    dev = c.device_of(primaries[0])
    from objectstore.node import dbsync

    with dev.read() as txn:
        ((owner, digest),) = dbsync.digests(txn, "c", part).items()
    row = ContainerRowUpdate(part, A, "keep", "new", Timestamp.now(), 1, "e" * 32, "t", False)
    await c.client.update_container_rows(primaries[0], [row])
    assert not await dev.submit(dbreplicator.remove_op("c", part, owner, digest))
    assert len(await c.client.list_objects(primaries[0], part, A, "keep")) == 1


async def test_a_container_pass_serves_a_peer_limited_by_an_earlier_pass(ring_cluster) -> None:
    """A container-only pass asks a limited peer again, as the object pass does."""
    c = await ring_cluster()
    part, primaries = c.ring("container").get_nodes(A, "back")
    sender = c.node_of(primaries[0])
    sender.state.limiter.limit_now(primaries[1], "down a moment ago")
    await c.client.put_container(primaries[0], part, A, "back", timestamp=Timestamp.now())
    (status,) = await c.run("container", [sender])
    assert status["last"]["failed"] == 0, status
    await c.client.head_container(primaries[1], part, A, "back")
    assert not sender.state.limiter.is_limited(primaries[1])
