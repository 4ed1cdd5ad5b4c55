"""Flipped bytes in a stored replica: found, set aside, never served, repaired."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.probe.objectstore.harness import body_for, flip_byte, md5, probe_cluster

SMALL, BIG = 200_000, 3 * 1024 * 1024  # checked before sending / checked while streaming


async def _get_all(swift, name: str, body: bytes, times: int) -> tuple[int, int]:
    """(good answers, failed answers); a 200 with wrong bytes fails the test at once."""
    good = failed = 0
    for _ in range(times):
        try:
            status, got, _ = await swift.request("GET", f"/rot/{name}")
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
            failed += 1  # cut short: the client knows it did not get the object
            continue
        assert status == 200 and got == body, (name, status, len(got), md5(got))
        good += 1
    return good, failed


async def test_corrupt_replicas_are_quarantined_never_served_and_repaired(tmp_path: Path) -> None:
    async with probe_cluster(tmp_path) as c:
        swift = await c.swift()
        await swift.request("PUT", "/rot")
        bodies = {"small": body_for("small", SMALL), "big": body_for("big", BIG)}
        for name, body in bodies.items():
            assert (await swift.request("PUT", f"/rot/{name}", body))[0] == 201
        node1 = c.node_devices()[1]
        for name, body in bodies.items():
            flip_byte(c.body_file(1, "rot", name), len(body) - 3)
        # The auditor finds both.
        result = await c.client.replicate_now(node1, ["auditor"], timeout=60)
        assert result["auditor"]["last"]["quarantined"] == 2
        quarantine = c.device_dir(1) / "quarantined" / "objects"
        assert len(list(quarantine.glob("*.data"))) == 2
        metrics = await c.client.node_metrics(node1)
        assert 'stratus_objects_quarantined_total{by="auditor",device="d0"} 2.0' in metrics
        for name, body in bodies.items():
            assert await _get_all(swift, name, body, 4) == (4, 0)
            assert (await c.holders("rot", name))[0].count(None) == 1
        await c.replicate()
        for name, body in bodies.items():
            assert (await c.holders("rot", name))[0] == [md5(body)] * 3
        # No auditor this time: the GETs themselves catch the rot.
        for index in (0, 2):  # two of three replicas at once
            for name in bodies:
                flip_byte(c.body_file(index, "rot", name), 1000)
        good, failed = await _get_all(swift, "small", bodies["small"], 6)
        assert (good, failed) == (6, 0)  # whole body checked before the first byte goes out
        good, failed = await _get_all(swift, "big", bodies["big"], 6)
        assert good >= 4 and failed <= 2  # at worst cut short, once per corrupt replica
        await c.replicate()
        await c.replicate()
        for name, body in bodies.items():
            assert (await c.holders("rot", name))[0] == [md5(body)] * 3
        stats = await c.client.node_stats(c.node_devices()[0])
        assert stats["quarantined"] >= 1
