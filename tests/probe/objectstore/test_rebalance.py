"""A node joins and the rings are rebalanced while clients read and write.

The new ring reaches the nodes within seconds and the proxy within its
reload interval (15 s); meanwhile both placements are in use at once. No
request may fail beyond one retry, no acknowledged write may be lost, and
after replication every partition sits only where the new ring says.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from ring.ringfile import read_ring_file
from stratus.cli import cluster as layout
from tests.probe.objectstore.consistency import Checker
from tests.probe.objectstore.harness import md5, probe_cluster

PROXY_RING_RELOAD = 15.0  # objectstore.proxy rings: ring.Ring's default reload interval


async def test_add_a_node_and_rebalance_under_load(tmp_path: Path) -> None:
    async with probe_cluster(tmp_path, nodes=4, ring_nodes=3) as c:
        swift = await c.swift()
        assert (await swift.request("PUT", "/grow"))[0] in (201, 202)
        checker = Checker(swift, "grow", workers=4, keys=25)
        stop = asyncio.Event()
        load = asyncio.ensure_future(checker.run(stop))
        try:
            await asyncio.sleep(3)
            await c.start_node(3)
            c.rebalance(4)  # what `stratus ring add ... && stratus ring rebalance` writes
            before = checker.report.ops
            # Keep the load on until every process uses the new ring, replicating meanwhile.
            for _ in range(int(PROXY_RING_RELOAD / 3) + 2):
                await asyncio.sleep(3)
                await c.replicate()
            assert checker.report.ops > before + 100
        finally:
            stop.set()
            await load
        await c.replicate()
        await c.replicate()
        await checker.final_check()
        report = checker.report.to_dict()
        print(json.dumps({"rebalance_load": report}))
        assert report["failed"] == 0 and report["lost"] == 0 and report["stale"] == 0, report
        assert await c.misplaced() == []
        # Every node reports serving with the rebalanced rings (what `stratus status`
        # and the console show per host).
        wanted = {
            name: read_ring_file(layout.ring_dir(c.cfg) / f"{name}.ring").ring_version
            for name in ("object", "container", "account")
        }
        for dev in c.node_devices():
            assert (await c.client.node_stats(dev))["rings"] == wanted
        new_node = c.node_devices()[3]
        held = await c.client.device_partitions(new_node)
        assert held["object"] and held["container"] is not None
        for key, body in checker.settled().items():
            etags, _ = await c.holders("grow", key)
            assert etags == [md5(body)] * 3, key
