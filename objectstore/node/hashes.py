"""Suffix hashes: how two replicas of a partition find out, cheaply, where they differ.

A partition's objects are split into 256 suffixes by the last byte of
their name hash. A suffix's hash is xxh3-64 over its entries in key order
(name hash, data timestamp, metadata timestamp, deleted flag), so two
replicas holding the same versions hold the same hashes, whatever the
inline threshold or body layout of each. Replicators compare the 256
hashes and then list only the suffixes that differ.

The hashes of a partition are cached in the ``hashes`` table. Every write
to the partition replaces the cache entry with a unique dirty mark (see
``objects.mark_changed``), in the same transaction; a recomputed value is
cached only if the mark it was computed under is still there, so a write
racing a recomputation can never leave stale hashes cached.

Tombstones older than the reclaim age are left out of hashes and listings
and removed when the partition is hashed: by then every replica has had
many replication passes to receive them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import msgpack
import xxhash

from objectstore.node.kv import ReadTxn, WriteTxn
from objectstore.node.objects import HASHES, OBJECTS, drop_record
from objectstore.node.records import TOMBSTONE, V1, CorruptRecord, ObjectRecord

if TYPE_CHECKING:
    from objectstore.node.device import Device

SUFFIXES = 256
_U64 = (1 << 64) - 1


def suffix_of(key: bytes) -> int:
    return key[-1]


def part_prefix(part: int) -> bytes:
    return part.to_bytes(4, "big")


def partition_records(txn: ReadTxn, part: int) -> Iterator[tuple[bytes, ObjectRecord]]:
    """Every entry of one partition, in key order."""
    prefix = part_prefix(part)
    for key, raw in txn.scan(OBJECTS, prefix):
        if key[:4] != prefix:
            return
        yield bytes(key), ObjectRecord.decode(raw)


def partitions(txn: ReadTxn, table: str = OBJECTS) -> Iterator[int]:
    """The partitions that hold at least one key of ``table`` (a seek each)."""
    start = b""
    while True:
        first = next(iter(txn.scan(table, start)), None)
        if first is None:
            return
        part = int.from_bytes(first[0][:4], "big")
        yield part
        if part >= 0xFFFFFFFF:
            return
        start = part_prefix(part + 1)


def is_reclaimable(rec: ObjectRecord, reclaim_before: int) -> bool:
    """A tombstone older than the reclaim age (``reclaim_before`` is in ticks)."""
    return rec.kind == TOMBSTONE and rec.timestamp < reclaim_before


def entry_bytes(key: bytes, rec: ObjectRecord) -> bytes:
    deleted = b"\x01" if rec.kind == TOMBSTONE else b"\x00"
    return (
        key[4:] + rec.timestamp.to_bytes(8, "big") + rec.meta_timestamp.to_bytes(8, "big") + deleted
    )


def compute(
    txn: ReadTxn, part: int, reclaim_before: int
) -> tuple[dict[int, int], list[tuple[bytes, int]]]:
    """(suffix -> hash, reclaimable tombstones as (key, timestamp)) of one partition."""
    hashers: dict[int, xxhash.xxh3_64] = {}
    reclaim = []
    for key, rec in partition_records(txn, part):
        if is_reclaimable(rec, reclaim_before):
            reclaim.append((key, rec.timestamp))
            continue
        sfx = suffix_of(key)
        h = hashers.get(sfx)
        if h is None:
            h = hashers[sfx] = xxhash.xxh3_64()
        h.update(entry_bytes(key, rec))
    return {sfx: h.intdigest() for sfx, h in hashers.items()}, reclaim


def read_cache(txn: ReadTxn, part: int) -> tuple[bytes | None, dict[int, int] | None]:
    """(the raw cache entry as seen, the cached hashes or None when absent/dirty)."""
    raw = txn.get(HASHES, part_prefix(part))
    if raw is None:
        return None, None
    raw = bytes(raw)
    if raw[:1] != V1:
        return raw, None
    try:
        hashes = msgpack.unpackb(raw[1:], strict_map_key=False)
    except Exception:
        raise CorruptRecord("suffix hash cache: undecodable") from None
    return raw, {int(k): int(v) for k, v in hashes.items()}


def finish_op(
    root: str,
    part: int,
    seen: bytes | None,
    hashes: dict[int, int],
    reclaim: list[tuple[bytes, int]],
) -> Callable[[WriteTxn], bool]:
    """Reclaim old tombstones, then cache ``hashes`` unless the partition changed since."""

    def op(txn: WriteTxn) -> bool:
        current = txn.get(HASHES, part_prefix(part))
        unchanged = (bytes(current) if current is not None else None) == seen
        for key, ts in reclaim:
            raw = txn.get(OBJECTS, key)
            if raw is None:
                continue
            rec = ObjectRecord.decode(raw)
            if rec.kind == TOMBSTONE and rec.timestamp == ts:
                drop_record(txn, root, key, rec)
        if not unchanged:
            return False
        if not hashes:  # nothing left in the partition: no cache entry either
            txn.delete(HASHES, part_prefix(part))
            return True
        txn.put(HASHES, part_prefix(part), V1 + msgpack.packb(hashes))
        return True

    return op


def _compute_snapshot(
    dev: Device, part: int, reclaim_before: int
) -> tuple[bytes | None, dict[int, int] | None, list[tuple[bytes, int]]]:
    with dev.read() as txn:
        seen, cached = read_cache(txn, part)
        if cached is not None:
            return seen, cached, []
        hashes, reclaim = compute(txn, part, reclaim_before)
    return seen, hashes, reclaim


async def get_hashes(dev: Device, part: int, reclaim_before: int) -> dict[int, int]:
    """The partition's suffix hashes: cached, or recomputed (off the loop) and cached."""
    with dev.read() as txn:
        seen, cached = read_cache(txn, part)
    if cached is not None:
        return cached
    loop = asyncio.get_running_loop()
    seen, hashes, reclaim = await loop.run_in_executor(
        None, _compute_snapshot, dev, part, reclaim_before
    )
    assert hashes is not None
    dirty = seen is not None and seen[:1] != V1
    if reclaim or dirty or (hashes and seen is None):
        await dev.submit(finish_op(dev.root, part, seen, hashes, reclaim))
    return hashes


def entries(
    txn: ReadTxn, part: int, suffixes: Iterable[int], reclaim_before: int
) -> list[tuple[bytes, ObjectRecord]]:
    """Entries of the given suffixes (reclaimable tombstones left out)."""
    wanted = set(suffixes)
    return [
        (key, rec)
        for key, rec in partition_records(txn, part)
        if suffix_of(key) in wanted and not is_reclaimable(rec, reclaim_before)
    ]


async def read_entries(
    dev: Device, part: int, suffixes: Iterable[int], reclaim_before: int
) -> list[tuple[bytes, ObjectRecord]]:
    """:func:`entries` read off the event loop (a partition can be large)."""

    def read() -> list[tuple[bytes, ObjectRecord]]:
        with dev.read() as txn:
            return entries(txn, part, suffixes, reclaim_before)

    return await asyncio.get_running_loop().run_in_executor(None, read)


def differing(local: dict[int, int], remote: dict[int, int]) -> list[int]:
    """Suffixes whose hash differs, or that only one side has."""
    return sorted(s for s in local.keys() | remote.keys() if local.get(s) != remote.get(s))
