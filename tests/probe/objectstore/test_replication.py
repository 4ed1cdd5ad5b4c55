"""Replication heals: a node killed mid-stream, a wiped disk, a delete missed by a dead node.

Real `stratus node` / `stratus proxy` processes on loopback (see harness).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.probe.objectstore.harness import (
    ACCOUNT,
    ProbeCluster,
    body_for,
    clear_device,
    md5,
    probe_cluster,
)

SIZES = (100, 20_000, 300_000)  # inline, small file, larger file (inline threshold 16 KiB)


async def _listing(c: ProbeCluster, swift, container: str) -> set[str]:
    status, body, _ = await swift.request("GET", f"/{container}?format=json")
    assert status in (200, 204), status
    import json

    return {row["name"] for row in json.loads(body or b"[]")}


async def _all_on_primaries(c: ProbeCluster, container: str, acked: dict[str, bytes]) -> None:
    for name, body in acked.items():
        etags, primaries = await c.holders(container, name)
        assert etags == [md5(body)] * 3, (name, etags, [p.port for p in primaries])


async def test_kill9_during_puts_then_one_pass_restores_every_replica(tmp_path: Path) -> None:
    async with probe_cluster(tmp_path) as c:
        swift = await c.swift()
        assert (await swift.request("PUT", "/stream"))[0] in (201, 202)
        acked: dict[str, bytes] = {}
        failed: list[str] = []
        names = iter(f"obj-{i:03d}" for i in range(72))
        killed = asyncio.Event()

        async def writer() -> None:
            for name in names:
                body = body_for(name, SIZES[int(name[-3:]) % 3])
                try:
                    status, _, headers = await swift.request("PUT", f"/stream/{name}", body)
                except Exception as exc:  # a cut connection: not acknowledged
                    failed.append(f"{name}: {exc!r}")
                    continue
                if status == 201:
                    assert headers["Etag"] == md5(body)
                    acked[name] = body
                else:
                    failed.append(f"{name}: {status}")
                if len(acked) == 20 and not killed.is_set():
                    killed.set()
                    c.kill9(1)  # in the middle of the other writers' bodies

        await asyncio.gather(*(writer() for _ in range(4)))
        assert killed.is_set() and len(acked) >= 60, failed
        for name, body in acked.items():  # every acknowledged PUT reads back, node 1 still dead
            status, got, _ = await swift.request("GET", f"/stream/{name}")
            assert (status, got == body) == (200, True), name
        await c.start_node(1)
        missing = 0
        for name in acked:
            missing += (await c.holders("stream", name))[0].count(None)
        assert missing > 0  # writes made while node 1 was dead are not on it yet
        await c.replicate()  # one pass, every node
        await _all_on_primaries(c, "stream", acked)
        assert await c.misplaced() == []  # the handoffs handed everything back


async def test_a_wiped_device_is_refilled(tmp_path: Path) -> None:
    async with probe_cluster(tmp_path) as c:
        swift = await c.swift()
        await swift.request("PUT", "/wipe")
        acked = {}
        for i in range(45):
            name = f"w/{i}"
            body = body_for(name, SIZES[i % 3])
            assert (await swift.request("PUT", f"/wipe/{name}", body))[0] == 201
            acked[name] = body
        c.stop_node(2)
        clear_device(c, 2)  # the whole data directory of the device: index, bodies, listings
        await c.start_node(2)
        held = await c.client.device_partitions(c.node_devices()[2])
        assert held == {"object": [], "container": [], "account": []}
        await c.replicate()
        await _all_on_primaries(c, "wipe", acked)
        # The device's container and account databases are back too.
        rings = c.rings()
        cpart, cnodes = rings.container.get_nodes(ACCOUNT, "wipe")
        listings = [
            {r.name for r in await c.client.list_objects(d, cpart, ACCOUNT, "wipe")} for d in cnodes
        ]
        assert listings == [set(acked)] * 3
        apart, anodes = rings.account.get_nodes(ACCOUNT)
        for dev in anodes:
            names = {r.name for r in await c.client.list_containers(dev, apart, ACCOUNT)}
            assert "wipe" in names


async def test_a_delete_missed_by_a_dead_node_does_not_resurrect(tmp_path: Path) -> None:
    async with probe_cluster(tmp_path) as c:
        swift = await c.swift()
        await swift.request("PUT", "/del")
        names = [f"d{i}" for i in range(12)]
        for name in names:
            assert (await swift.request("PUT", f"/del/{name}", body_for(name, 3000)))[0] == 201
        c.kill9(0)
        doomed, kept = names[:6], names[6:]
        for name in doomed:
            assert (await swift.request("DELETE", f"/del/{name}"))[0] == 204
        await c.start_node(0)  # it still holds the old data of every doomed object
        for name in doomed:  # the read quorum sees a newer tombstone already
            assert (await swift.request("GET", f"/del/{name}"))[0] == 404
        await c.replicate()
        for name in doomed:
            etags, _ = await c.holders("del", name)
            assert etags == [None, None, None], name
            assert (await swift.request("GET", f"/del/{name}"))[0] == 404
        for name in kept:
            status, got, _ = await swift.request("GET", f"/del/{name}")
            assert status == 200 and got == body_for(name, 3000)
        # A second pass after the node's own replicator ran changes nothing back.
        await c.replicate()
        for name in doomed:
            assert (await c.holders("del", name))[0] == [None, None, None]
        # The listing forgets them on every container replica (queued updates drain).
        for _ in range(150):
            if await _listing(c, swift, "del") == set(kept):
                break
            await asyncio.sleep(0.2)
        assert await _listing(c, swift, "del") == set(kept)
