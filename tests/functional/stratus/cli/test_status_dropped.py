"""`stratus status` counts container updates dropped because they can never be stored."""

from __future__ import annotations

import json
import time
from pathlib import Path

from objectstore.client import ContainerRowUpdate
from objectstore.node import objects
from objectstore.node.records import PendingRecord
from objectstore.timestamp import Timestamp
from tests.functional.objectstore.node.conftest import (  # noqa: F401  (fixtures)
    client,
    ring_cluster,
    start_node,
)
from tests.functional.stratus.cli.test_status_cmd import _config, _run


async def test_a_dropped_update_shows_in_status(ring_cluster, tmp_path: Path) -> None:  # noqa: F811
    c = await ring_cluster(updater_interval=3600)
    cfg = _config(tmp_path, c.ring_dir)
    node = c.nodes[0]
    dev = node.state.devices["d0"]
    await c.client.put_container(node.dev(), 0, "AUTH_s", "c", timestamp=Timestamp.now())
    # An update the container node refuses for good (a NUL in the name: 400), queued
    # long enough ago for the updater to take it.
    row = ContainerRowUpdate(0, "AUTH_s", "c", "o\x00", Timestamp.now(), 1, "e", "t", False)
    key = (time.time_ns() - 10**10).to_bytes(8, "big") + bytes(28)
    rec = PendingRecord(["127.0.0.1", node.port, "d0"], row.pack())
    await dev.submit(lambda txn: txn.put(objects.PENDING, key, rec.encode()))
    await node.state.updater.run_once()
    code, out = await _run("--config", str(cfg), "status", "--json")
    assert code == 0, out
    status = json.loads(out)
    assert status["async_pending"] == 0 and status["async_dropped"] == 1
    code, out = await _run("--config", str(cfg), "status")
    assert code == 0 and "async pending 0, async dropped 1" in out, out
