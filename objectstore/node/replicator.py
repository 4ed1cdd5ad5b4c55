"""The object replicator: make every partition's primaries hold what any replica holds.

For each partition a device holds, the replicator compares suffix hashes
with the partition's other primaries (``GET /ro/<dev>/<part>``), lists the
suffixes that differ on the peer, and pushes what the peer lacks or holds
in an older version: tombstones and metadata included, small bodies in
batches, large bodies streamed. It only pushes; each peer pushes the other
way in its own pass.

A device that is not one of the partition's primaries (a handoff that
stood in for a failed node, or the old home of a partition a rebalance
moved) pushes to every primary and then removes exactly the versions all
of them confirmed, so nothing is dropped before it is safe elsewhere.
A primary whose peer answers 507 (failed or full device) pushes to a
handoff instead, to keep the replica count.

Bodies are re-hashed by the receiver, which refuses one that does not
match its ETag (422); the sender then quarantines its own corrupt copy.

A peer that keeps failing is skipped for the rest of a pass (the node's
error limiter); each pass first asks every peer node it holds limited
whether it answers again, so a node that restarted is healed by the next
pass, not a limit interval later.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from objectstore.common import values as nc
from objectstore.node import hashes, merge
from objectstore.node.bodies import read_range
from objectstore.node.device import Device
from objectstore.node.objects import INLINE_TABLE
from objectstore.node.peers import recheck_limited
from objectstore.node.records import FILE, INLINE, TOMBSTONE, ObjectRecord
from objectstore.node.worker import Pacer, Worker
from objectstore.timestamp import TICKS_PER_SECOND

if TYPE_CHECKING:
    from objectstore.node.server import NodeState

log = logging.getLogger(__name__)
BATCH_BYTES = 2 * 1024 * 1024
BATCH_ITEMS = 256
CHUNK = 262144
CONFIRMED = (merge.STORED, merge.META, merge.UP_TO_DATE)


@dataclass
class PassStats:
    partitions: int = 0
    handoff_partitions: int = 0
    synced: int = 0  # (partition, peer) syncs that succeeded
    failed: int = 0
    suffixes: int = 0
    pushed: int = 0
    pushed_bytes: int = 0
    handoff_removed: int = 0
    quarantined: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["errors"] = self.errors[:10]
        return out


class _Failed(Exception):
    """A sync with one peer failed (the peer's error, or ours)."""

    def __init__(self, why: str, full: bool = False) -> None:
        super().__init__(why)
        self.full = full


class ObjectReplicator(Worker):
    name = "object-replicator"

    def __init__(self, state: NodeState) -> None:
        s = state.settings
        super().__init__(s.replicator_interval)
        self.state = state
        self.concurrency = max(1, s.replicator_concurrency)
        self.bytes = Pacer(s.replicator_bytes_per_second)
        self.items = Pacer(s.replicator_items_per_second)

    def after_pass(self, result: dict[str, Any], seconds: float) -> None:
        self.state.metrics.worker_done(self.name, result, seconds, self.last_end)

    async def run_pass(self) -> dict[str, Any]:
        rings = self.state.rings
        ring = rings.refresh("o") if rings is not None else None
        if ring is None:
            return {"skipped": "no object ring or node address"}
        await recheck_limited(self.state.limiter, self.state.client, ring)
        stats = PassStats()
        sem = asyncio.Semaphore(self.concurrency)

        async def one(dev: Device, part: int) -> None:
            async with sem:
                if dev.unavailable is None:
                    await self.partition(dev, part, stats)

        jobs = []
        for dev in self.state.live_devices():
            with dev.read() as txn:
                parts = list(hashes.partitions(txn))
            jobs += [one(dev, part) for part in parts]
        await asyncio.gather(*jobs)
        return stats.as_dict()

    async def partition(self, dev: Device, part: int, stats: PassStats) -> None:
        """Replicate one partition of one device (errors are counted, not raised)."""
        rings = self.state.rings
        assert rings is not None
        ring = rings.ring("o")
        assert ring is not None
        if part >= ring.partition_count:
            stats.errors.append(f"{dev.name}: partition {part} is not in the ring")
            return
        stats.partitions += 1
        primaries = ring.get_part_nodes(part)
        me = rings.my_index(primaries, dev.name)
        handoff = me is None
        peers = list(primaries) if handoff else [p for i, p in enumerate(primaries) if i != me]
        if handoff:
            stats.handoff_partitions += 1
        local = await hashes.get_hashes(dev, part, self.state.reclaim_before())
        if not local:
            return
        confirmed: dict[bytes, merge.Seen] | None = None
        all_ok = True
        spare = rings.handoffs(ring, part, dev.name)
        for peer in peers:
            try:
                got = await self.sync(dev, part, peer, local, want_all=handoff, stats=stats)
            except _Failed as exc:
                stats.failed += 1
                all_ok = False
                stats.errors.append(f"{dev.name}/{part} -> {_show(peer)}: {exc}")
                if exc.full and not handoff:
                    await self._to_spare(dev, part, spare, primaries, local, stats)
                continue
            stats.synced += 1
            confirmed = got if confirmed is None else _intersect(confirmed, got)
        if handoff and all_ok and confirmed:
            removed = await dev.submit(merge.remove_synced_op(dev.root, list(confirmed.values())))
            stats.handoff_removed += removed

    async def _to_spare(
        self,
        dev: Device,
        part: int,
        spare: Any,
        primaries: list[Any],
        local: dict[int, int],
        stats: PassStats,
    ) -> None:
        """A primary peer's device failed: keep the replica count on a handoff."""
        taken = {(p.ip, p.port, p.device) for p in primaries}
        for _ in range(len(primaries)):
            node = next(spare, None)
            if node is None:
                return
            if (node.ip, node.port, node.device) in taken:
                continue
            try:
                await self.sync(dev, part, node, local, want_all=False, stats=stats)
            except _Failed:
                continue
            return

    async def sync(
        self,
        dev: Device,
        part: int,
        peer: Any,
        local: dict[int, int],
        *,
        want_all: bool,
        stats: PassStats,
    ) -> dict[bytes, merge.Seen]:
        """Bring ``peer`` up to date with this device's ``part``.

        Returns the local versions the peer now holds (or holds newer): all
        of them when ``want_all`` (a handoff needs them to clean up), else
        those of the suffixes that differed.
        """
        limiter = self.state.limiter
        if limiter.is_limited(peer):
            raise _Failed("error-limited")
        client = self.state.client
        try:
            remote = await client.replicate_hashes(peer, part)
            diff = hashes.differing(local, remote)
            theirs = await client.replicate_list(peer, part, diff) if diff else {}
        except nc.InsufficientStorage as exc:
            limiter.limit_now(peer, repr(exc))
            raise _Failed(repr(exc), full=True) from exc
        except nc.NodeClientError as exc:
            limiter.record_error(peer, repr(exc))
            raise _Failed(repr(exc)) from exc
        stats.suffixes += len(diff)
        wanted = set(diff)
        mine = await hashes.read_entries(
            dev, part, range(hashes.SUFFIXES) if want_all else wanted, self.state.reclaim_before()
        )
        confirmed: dict[bytes, merge.Seen] = {}
        to_send: list[tuple[bytes, ObjectRecord, bool]] = []
        for key, rec in mine:
            seen = merge.Seen(key, rec.timestamp, rec.meta_timestamp)
            if hashes.suffix_of(key) not in wanted:
                confirmed[key] = seen
                continue
            action = _decide(rec, theirs.get(key[4:]))
            if action is None:
                confirmed[key] = seen
            else:
                to_send.append((key, rec, action == "meta"))
        if to_send:
            await self._push(dev, part, peer, to_send, confirmed, stats)
        return confirmed

    async def _push(
        self,
        dev: Device,
        part: int,
        peer: Any,
        to_send: list[tuple[bytes, ObjectRecord, bool]],
        confirmed: dict[bytes, merge.Seen],
        stats: PassStats,
    ) -> None:
        batch: list[tuple[bytes, ObjectRecord, bytes | None, bool]] = []
        size = 0
        for key, rec, meta_only in to_send:
            body = None
            if rec.kind == INLINE and not meta_only:
                with dev.read() as txn:
                    raw = txn.get(INLINE_TABLE, key)
                body = bytes(raw) if raw is not None else b""
            if not meta_only and (rec.kind == FILE or len(body or b"") > BATCH_BYTES // 2):
                await self._flush(dev, part, peer, batch, confirmed, stats)
                batch, size = [], 0
                await self._push_body(dev, part, peer, key, rec, body, confirmed, stats)
                continue
            batch.append((key, rec, body, meta_only))
            size += len(body or b"") + 512
            if size >= BATCH_BYTES or len(batch) >= BATCH_ITEMS:
                await self._flush(dev, part, peer, batch, confirmed, stats)
                batch, size = [], 0
        await self._flush(dev, part, peer, batch, confirmed, stats)

    async def _flush(
        self,
        dev: Device,
        part: int,
        peer: Any,
        batch: list[tuple[bytes, ObjectRecord, bytes | None, bool]],
        confirmed: dict[bytes, merge.Seen],
        stats: PassStats,
    ) -> None:
        if not batch:
            return
        await self.items.spend(len(batch))
        body_bytes = sum(len(b or b"") for _, _, b, _ in batch)
        await self.bytes.spend(body_bytes)
        items = [(k[4:], _wire_record(r), b, m) for k, r, b, m in batch]
        try:
            statuses = await self.state.client.replicate_push(peer, part, items)
        except nc.NodeClientError as exc:
            self.state.limiter.record_error(peer, repr(exc))
            raise _Failed(repr(exc), full=isinstance(exc, nc.InsufficientStorage)) from exc
        stats.pushed_bytes += body_bytes
        for (key, rec, _body, _m), status in zip(batch, statuses, strict=True):
            await self._settle(dev, key, rec, status, confirmed, stats)

    async def _push_body(
        self,
        dev: Device,
        part: int,
        peer: Any,
        key: bytes,
        rec: ObjectRecord,
        inline: bytes | None,
        confirmed: dict[bytes, merge.Seen],
        stats: PassStats,
    ) -> None:
        """One entry with its body streamed (a file, or an inline body too big to batch)."""
        await self.items.spend(1)
        if inline is not None:
            chunks = self._bytes_chunks(inline)
        else:
            path = dev.body_path(rec.path)
            if not os.path.exists(path):
                return  # replaced or quarantined since it was listed: next pass
            chunks = self._file_chunks(path, rec.size)
        try:
            status = await self.state.client.replicate_body(
                peer, part, key[4:], _wire_record(rec), chunks, rec.size
            )
        except nc.NodeClientError as exc:
            self.state.limiter.record_error(peer, repr(exc))
            raise _Failed(repr(exc), full=isinstance(exc, nc.InsufficientStorage)) from exc
        if status == merge.STORED:
            stats.pushed_bytes += rec.size
        await self._settle(dev, key, rec, status, confirmed, stats)

    async def _bytes_chunks(self, data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), CHUNK):
            chunk = data[start : start + CHUNK]
            await self.bytes.spend(len(chunk))
            yield chunk

    async def _file_chunks(self, path: str, size: int) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        chunks = read_range(path, 0, size, CHUNK)
        try:
            while True:
                chunk = await loop.run_in_executor(None, next, chunks, None)
                if chunk is None:
                    return
                await self.bytes.spend(len(chunk))
                yield chunk
        finally:
            chunks.close()

    async def _settle(
        self,
        dev: Device,
        key: bytes,
        rec: ObjectRecord,
        status: int,
        confirmed: dict[bytes, merge.Seen],
        stats: PassStats,
    ) -> None:
        if status in CONFIRMED:
            if status != merge.UP_TO_DATE:
                stats.pushed += 1
            confirmed[key] = merge.Seen(key, rec.timestamp, rec.meta_timestamp)
        elif status == 422:  # our copy does not match its ETag: the peer refused it
            if await self.state.quarantine(dev, key, rec, "replicator"):
                stats.quarantined += 1
        else:
            stats.errors.append(f"{dev.name}: push of {key.hex()} answered {status}")


def _decide(rec: ObjectRecord, theirs: tuple[int, int, bool] | None) -> str | None:
    """What the peer needs of ``rec``: "full", "meta", or None (it is up to date)."""
    if theirs is None:
        return "full"
    ts, mts, deleted = theirs
    if ts < rec.timestamp:
        return "full"
    if rec.kind == TOMBSTONE or deleted:
        return None
    if rec.meta_timestamp > max(ts, mts):
        return "meta"
    return None


def _wire_record(rec: ObjectRecord) -> bytes:
    """The record as sent: the receiver chooses its own body layout."""
    out = ObjectRecord.decode(rec.encode())
    out.path = ""
    return out.encode()


def _intersect(a: dict[bytes, merge.Seen], b: dict[bytes, merge.Seen]) -> dict[bytes, merge.Seen]:
    return {k: v for k, v in a.items() if b.get(k) == v}


def _show(dev: Any) -> str:
    return f"{dev.ip}:{dev.port}/{dev.device}"


def reclaim_before(reclaim_age: float) -> int:
    """Ticks before which a tombstone may be reclaimed."""
    return int((time.time() - reclaim_age) * TICKS_PER_SECOND)
