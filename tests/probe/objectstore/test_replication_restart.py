"""A peer that was down during a pass is served by the first pass after it is back.

The node's error limiter spares a pass from failing on a dead peer partition
after partition. Before the fix it also made the passes of the next 60 s skip
a peer that had long restarted ("error-limited"), while the durability
contract (docs/durability.md) is that the next pass heals it: the soak probe
saw a replica left one version behind after two passes, 2 runs in 5.

Real `stratus node` / `stratus proxy` processes on loopback (see harness).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.probe.objectstore.harness import body_for, md5, probe_cluster

NAMES = [f"obj-{i:02d}" for i in range(24)]  # spread over many partitions (64 in all)


def _object_pass(results: dict[int, Any], port: int) -> dict[str, Any]:
    return results[port]["object-replicator"]["last"]


async def test_a_pass_after_a_restart_does_not_skip_the_restarted_peer(tmp_path: Path) -> None:
    async with probe_cluster(tmp_path) as c:
        swift = await c.swift()
        assert (await swift.request("PUT", "/back"))[0] in (201, 202)
        for name in NAMES:
            assert (await swift.request("PUT", f"/back/{name}", body_for(name, 100, 1)))[0] == 201
        c.kill9(1)
        for name in NAMES:  # acknowledged by nodes 0 and 2 (a quorum): node 1 misses them
            assert (await swift.request("PUT", f"/back/{name}", body_for(name, 100, 2)))[0] == 201
        # Passes while node 1 is dead, until both other replicators hold it error-limited
        # (one failed sync per partition and pass; the limit is a few errors).
        ports = [c.node_devices()[i].port for i in (0, 2)]
        limited: set[int] = set()
        for _ in range(10):
            results = await c.replicate(("object",))
            for port in ports:
                if any("error-limited" in e for e in _object_pass(results, port)["errors"]):
                    limited.add(port)
            if limited == set(ports):
                break
        else:
            raise AssertionError(f"node 1 never became error-limited: {results}")

        await c.start_node(1)
        results = await c.replicate(("object",))  # one pass, every node, node 1 back
        for name in NAMES:
            etags, _ = await c.holders("back", name)
            assert etags == [md5(body_for(name, 100, 2))] * 3, (name, etags, results)
        for port in ports:
            assert _object_pass(results, port)["failed"] == 0, _object_pass(results, port)
