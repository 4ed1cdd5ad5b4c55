"""Rows of names past LMDB's key limit between real nodes: replication, and an
update that can never be stored dropped once (not retried forever)."""

from __future__ import annotations

import logging
import time

import aiohttp

from objectstore.client import AccountRowUpdate, ContainerRowUpdate
from objectstore.node import objects
from objectstore.node.records import PendingRecord
from objectstore.timestamp import Timestamp

A = "AUTH_long"
HEAD = "s" * 300 + "€" * 100  # 600 bytes shared by many names
NAMES = ["a" * 1024, "€" * 341 + "x", HEAD] + [f"{HEAD}{i:03d}{'y' * 400}" for i in range(12)]


async def test_long_rows_replicate_to_every_replica(ring_cluster) -> None:
    c = await ring_cluster()
    part, primaries = c.ring("container").get_nodes(A, "box")
    ts = Timestamp.now()
    await c.client.put_container(primaries[0], part, A, "box", timestamp=ts)
    rows = [
        ContainerRowUpdate(part, A, "box", n, Timestamp(ts.seconds + 1), 3, "e" * 32, "t", False)
        for n in NAMES
    ]
    assert await c.client.update_container_rows(primaries[0], rows) == [201] * len(NAMES)
    # A delete of one long name reached only the second replica.
    await c.client.put_container(primaries[1], part, A, "box", timestamp=ts)
    gone = ContainerRowUpdate(part, A, "box", NAMES[1], Timestamp(ts.seconds + 9), 0, "", "", True)
    assert await c.client.update_container_rows(primaries[1], [gone]) == [204]
    await c.replicate()
    expected = sorted((n for n in NAMES if n != NAMES[1]), key=str.encode)
    for dev in primaries:
        listing = await c.client.list_objects(dev, part, A, "box")
        assert [r.name for r in listing] == expected
        assert listing.info.object_count == len(expected)
        assert listing.info.bytes_used == 3 * len(expected)
        page = await c.client.list_objects(dev, part, A, "box", marker=expected[5], limit=3)
        assert [r.name for r in page] == expected[6:9]
    digests = [await c.client.db_digests(d, "c", part) for d in primaries]
    assert digests[0] == digests[1] == digests[2]


async def test_account_rows_of_containers_at_the_limit_replicate(ring_cluster) -> None:
    """Container names up to 256 bytes (multi-byte too) reach every account replica."""
    c = await ring_cluster()
    part, primaries = c.ring("account").get_nodes(A)
    ts = Timestamp.now()
    names = ["€" * 85 + "c", "c" * 256, "c" * 255]
    assert all(len(n.encode()) <= 256 for n in names)
    rows = [AccountRowUpdate(part, A, n, ts, None, 2, 20, ts) for n in names]
    assert await c.client.update_account_rows(primaries[0], rows) == [201] * len(names)
    await c.replicate()
    for dev in primaries:
        listing = await c.client.list_containers(dev, part, A)
        assert [(r.name, r.object_count) for r in listing] == [
            (n, 2) for n in sorted(names, key=str.encode)
        ]
        assert listing.info.container_count == len(names)


async def test_an_update_that_can_never_be_stored_is_dropped_once(
    start_node, client, caplog
) -> None:
    node = await start_node(updater_interval=3600)  # passes run when the test says
    state, dev = node.state, node.state.devices["d0"]
    ts = Timestamp.now()
    await client.put_container(node.dev(), 0, A, "box", timestamp=ts)
    host = ["127.0.0.1", node.port, "d0"]
    # A refused row (an object name with a NUL: 400 on the container node) and a good one,
    # queued long enough ago for the updater to take them.
    bad = ContainerRowUpdate(0, A, "box", "o\x00", ts, 1, "e", "t", False)
    good = ContainerRowUpdate(0, A, "box", "ok", ts, 1, "e", "t", False)
    queued = time.time_ns() - 10**10
    keys = [(queued + i).to_bytes(8, "big") + bytes(28) for i in range(2)]

    def enqueue(txn) -> None:
        for key, row in zip(keys, (bad, good), strict=True):
            txn.put(objects.PENDING, key, PendingRecord(host, row.pack()).encode())

    await dev.submit(enqueue)
    with caplog.at_level(logging.ERROR, logger="objectstore.node.updater"):
        assert await state.updater.run_once() == 1  # the good one
        await state.updater.run_once()  # nothing left: no second error
    dropped = [r for r in caplog.records if "dropping update" in r.getMessage()]
    assert len(dropped) == 1 and "400" in dropped[0].getMessage()
    assert state.async_pending() == {"d0": 0}
    assert state.stats()["async_dropped"] == 1
    assert [r.name for r in await client.list_objects(node.dev(), 0, A, "box")] == ["ok"]
    url = f"http://127.0.0.1:{node.port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        metrics = await resp.text()
    assert 'stratus_async_dropped_total{update="container"} 1.0' in metrics
