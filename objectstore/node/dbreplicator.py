"""The container and account replicators: one digest per database, rows pushed on mismatch.

Per partition, a device swaps ``{owner hash: digest}`` maps with the other
primaries (``GET /rc|ra/<dev>/<part>``); for every container (account)
whose digest the peer lacks or holds differently, it pushes the info and
all rows in pages (``POST .../push``). Merges are idempotent and keep the
newest of everything, so two replicas converge after each has pushed to
the other. A handoff pushes to every primary and then removes the
databases that did not change meanwhile.

Deleted databases are removed once their delete timestamp is older than
the reclaim age (by then every replica has had many passes to learn of
the delete). Known limit: there are no sync points, so a container whose
digests differ is pushed whole; rows of deleted objects are kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from objectstore.common import values as nc
from objectstore.node import dbsync, hashes
from objectstore.node.dbs import CDIRTY
from objectstore.node.device import Device
from objectstore.node.kv import WriteTxn
from objectstore.node.peers import recheck_limited
from objectstore.node.worker import Pacer, Worker

if TYPE_CHECKING:
    from objectstore.node.server import NodeState

log = logging.getLogger(__name__)
ROWS_PER_PUSH = 1000


def remove_op(kind: str, part: int, owner: bytes, expected: int) -> Callable[[WriteTxn], bool]:
    """Remove a database (info, rows, report mark) if its digest is still ``expected``."""
    info_table, row_table = dbsync.KINDS[kind]
    ikey = part.to_bytes(4, "big") + owner

    def op(txn: WriteTxn) -> bool:
        raw = txn.get(info_table, ikey)
        if raw is None or dbsync.digest_of(dbsync.decode_info(kind, raw)) != expected:
            return False
        doomed = [bytes(k) for k, _ in _owner_rows(txn, row_table, owner)]
        for key in doomed:
            txn.delete(row_table, key)
        txn.delete(info_table, ikey)
        if kind == "c":
            txn.delete(CDIRTY, ikey)
        return True

    return op


def _owner_rows(txn: Any, table: str, owner: bytes) -> Any:
    for key, value in txn.scan(table, owner):
        if key[:16] != owner:
            return
        yield key, value


class DbReplicator(Worker):
    """Replicates containers (``kind="c"``) or accounts (``kind="a"``)."""

    def __init__(self, state: NodeState, kind: str) -> None:
        s = state.settings
        super().__init__(s.replicator_interval)
        self.name = "container-replicator" if kind == "c" else "account-replicator"
        self.kind = kind
        self.state = state
        self.items = Pacer(s.replicator_items_per_second)

    def after_pass(self, result: dict[str, Any], seconds: float) -> None:
        self.state.metrics.worker_done(self.name, result, seconds, self.last_end)

    async def run_pass(self) -> dict[str, Any]:
        rings = self.state.rings
        ring = rings.refresh(self.kind) if rings is not None else None
        if ring is None:
            return {"skipped": "no ring or node address"}
        await recheck_limited(self.state.limiter, self.state.client, ring)
        stats: dict[str, Any] = {
            "partitions": 0,
            "handoff_partitions": 0,
            "synced": 0,
            "failed": 0,
            "pushed": 0,
            "handoff_removed": 0,
            "reclaimed": 0,
            "errors": [],
        }
        table = dbsync.KINDS[self.kind][0]
        sem = asyncio.Semaphore(max(1, self.state.settings.replicator_concurrency))

        async def one(dev: Device, part: int) -> None:
            async with sem:
                if dev.unavailable is None:
                    await self.partition(dev, part, stats)

        jobs = []
        for dev in self.state.live_devices():
            with dev.read() as txn:
                jobs += [one(dev, p) for p in hashes.partitions(txn, table)]
        await asyncio.gather(*jobs)
        stats["errors"] = stats["errors"][:10]
        return stats

    async def partition(self, dev: Device, part: int, stats: dict[str, Any]) -> None:
        rings = self.state.rings
        assert rings is not None
        ring = rings.ring(self.kind)
        assert ring is not None
        if part >= ring.partition_count:
            stats["errors"].append(f"{dev.name}: partition {part} is not in the ring")
            return
        stats["partitions"] += 1
        primaries = ring.get_part_nodes(part)
        me = rings.my_index(primaries, dev.name)
        handoff = me is None
        stats["handoff_partitions"] += handoff
        peers = list(primaries) if handoff else [p for i, p in enumerate(primaries) if i != me]
        with dev.read() as txn:
            local = dbsync.digests(txn, self.kind, part)
        local = await self._reclaim(dev, part, local, stats)
        if not local:
            return
        all_ok = True
        for peer in peers:
            try:
                await self.sync(dev, part, peer, local, stats)
                stats["synced"] += 1
            except nc.NodeClientError as exc:
                all_ok = False
                stats["failed"] += 1
                stats["errors"].append(f"{dev.name}/{part} -> {peer.ip}:{peer.port}: {exc!r}")
                if isinstance(exc, nc.InsufficientStorage):
                    self.state.limiter.limit_now(peer, repr(exc))
                else:
                    self.state.limiter.record_error(peer, repr(exc))
        if handoff and all_ok:
            for owner, digest in local.items():
                op = remove_op(self.kind, part, owner, digest)
                stats["handoff_removed"] += bool(await dev.submit(op))

    async def _reclaim(
        self, dev: Device, part: int, local: dict[bytes, int], stats: dict[str, Any]
    ) -> dict[bytes, int]:
        """Drop databases deleted longer ago than the reclaim age (and empty)."""
        cutoff = self.state.reclaim_before()
        doomed = []
        with dev.read() as txn:
            for owner, digest in local.items():
                raw = dbsync.info_raw(txn, self.kind, part, owner)
                if raw is None:
                    continue
                info = dbsync.decode_info(self.kind, raw)
                empty = info.object_count == 0 and getattr(info, "container_count", 0) == 0
                if info.deleted and info.delete_timestamp < cutoff and empty:
                    doomed.append((owner, digest))
        for owner, digest in doomed:
            if await dev.submit(remove_op(self.kind, part, owner, digest)):
                stats["reclaimed"] += 1
                local.pop(owner, None)
        return local

    async def sync(
        self, dev: Device, part: int, peer: Any, local: dict[bytes, int], stats: dict[str, Any]
    ) -> None:
        """Push every database the peer lacks or holds differently (raises NodeClientError)."""
        if self.state.limiter.is_limited(peer):
            raise nc.NodeUnavailable(f"{peer.ip}:{peer.port}", "error-limited")
        client = self.state.client
        remote = await client.db_digests(peer, self.kind, part)
        for owner, digest in local.items():
            if remote.get(owner) == digest:
                continue
            after: bytes | None = None
            while True:
                with dev.read() as txn:
                    info = dbsync.info_raw(txn, self.kind, part, owner)
                    if info is None:
                        break
                    page = []
                    for name, value in dbsync.rows(txn, self.kind, owner, after):
                        page.append((name, value))
                        if len(page) >= ROWS_PER_PUSH:
                            break
                await self.items.spend(len(page) + 1)
                await client.db_push(peer, self.kind, part, owner, info, page)
                stats["pushed"] += len(page) + 1
                if len(page) < ROWS_PER_PUSH:
                    break
                after = page[-1][0]
