"""The expirer: turn objects whose X-Delete-At has passed into tombstones.

Reads already hide an expired object; the expirer makes it gone for good:
a tombstone stamped with the delete-at time replaces the version (on every
replica, by each replica's own expirer, so they agree without talking),
the container listing row is removed through the updater's durable queue
(replica i tells container replica i, as the PUT did), and the body's
space is freed. Due objects are found in the per-device ``expiry`` index
(delete-at time first), so a pass reads only what is due.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from objectstore.common.values import ContainerRowUpdate
from objectstore.node import merge, objects
from objectstore.node.device import Device
from objectstore.node.records import TOMBSTONE, ObjectRecord, PendingRecord
from objectstore.node.sender import Target
from objectstore.node.worker import Pacer, Worker
from objectstore.timestamp import Timestamp
from ring import part_of

if TYPE_CHECKING:
    from objectstore.node.server import NodeState

log = logging.getLogger(__name__)
BATCH = 500


class Expirer(Worker):
    name = "expirer"

    def __init__(self, state: NodeState) -> None:
        s = state.settings
        super().__init__(s.expirer_interval)
        self.state = state
        self.items = Pacer(s.replicator_items_per_second)

    def after_pass(self, result: dict[str, Any], seconds: float) -> None:
        self.state.metrics.worker_done(self.name, result, seconds, self.last_end)

    async def run_pass(self) -> dict[str, Any]:
        stats = {"expired": 0, "stale_entries": 0}
        for dev in self.state.live_devices():
            await self.expire_device(dev, stats)
        return stats

    async def expire_device(self, dev: Device, stats: dict[str, Any]) -> None:
        start = b""
        while dev.unavailable is None:
            now = int(time.time())
            due: list[tuple[bytes, int, bytes, ObjectRecord | None]] = []
            with dev.read() as txn:
                for ikey, _ in txn.scan(objects.EXPIRY, start):
                    ikey = bytes(ikey)
                    at = int.from_bytes(ikey[:8], "big")
                    if at > now or len(due) >= BATCH:
                        break
                    key = ikey[8:]
                    raw = txn.get(objects.OBJECTS, key)
                    due.append((ikey, at, key, ObjectRecord.decode(raw) if raw else None))
            if not due:
                return
            start = due[-1][0] + b"\x00"
            for ikey, at, key, rec in due:
                if rec is None or rec.kind == TOMBSTONE or rec.delete_at != at:
                    await dev.submit(merge.forget_expiry_op(ikey))
                    stats["stale_entries"] += 1
                    continue
                await self.items.spend(1)
                if await self.expire(dev, key, rec):
                    stats["expired"] += 1
                    self.state.metrics.expired.inc()

    async def expire(self, dev: Device, key: bytes, rec: ObjectRecord) -> bool:
        """Tombstone one expired version (and queue its listing update)."""
        assert rec.delete_at is not None
        a, c, o = rec.name.split("/", 2)
        target = self._container_target(dev, key, a, c)
        ticks = max(rec.delete_at * 100_000, rec.newest + 1)
        pending = row = None
        if target is not None:
            node, cpart = target
            row = ContainerRowUpdate(cpart, a, c, o, Timestamp.from_ticks(ticks), 0, "", "", True)
            pkey = objects.pending_key(key, ticks)
            pending = (pkey, PendingRecord([node.ip, node.port, node.device], row.pack()))
        done = await dev.submit(merge.expire_op(dev.root, key, rec.delete_at, ticks, pending))
        if done is None:
            return False
        if pending is not None and row is not None and target is not None:
            await self.state.updater.deliver(dev, pending[0], target[0], row)
        return True

    def _container_target(
        self, dev: Device, key: bytes, account: str, container: str
    ) -> tuple[Target, int] | None:
        """Container replica i for object replica i (None on a handoff or without rings)."""
        rings = self.state.rings
        if rings is None:
            return None
        oring, cring = rings.ring("o"), rings.ring("c")
        if oring is None or cring is None:
            return None
        part = int.from_bytes(key[:4], "big")
        if part >= oring.partition_count:
            return None
        index = rings.my_index(oring.get_part_nodes(part), dev.name)
        if index is None:
            return None
        cpart = part_of(dev.hasher(account, container, None), cring.part_power)
        cnodes = cring.get_part_nodes(cpart)
        node = cnodes[index % len(cnodes)]
        return Target(node.ip, node.port, node.device), cpart
