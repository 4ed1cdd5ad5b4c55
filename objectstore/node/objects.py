"""Object index operations: functions of one write transaction.

Each ``*_op`` returns a function that the device's group committer runs in
its writer thread. Ops decide (last writer wins by timestamp) before they
write anything, so a refused op leaves no trace in the shared transaction.
Reads (``read_object``) run on the event loop: an LMDB read is a few
microseconds and needs no thread hop.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from objectstore.common import retention
from objectstore.node.errors import Missing, StaleWrite
from objectstore.node.kv import ReadTxn, WriteTxn
from objectstore.node.records import FILE, INLINE, TOMBSTONE, ObjectRecord, PendingRecord

OBJECTS = "objects"
INLINE_TABLE = "inline"
PENDING = "pending"
HASHES = "hashes"
EXPIRY = "expiry"
DIRTY = b"\x00"  # first byte of a hash-cache entry that says "recompute me"
_marks = itertools.count(int.from_bytes(os.urandom(4), "big") << 24)


def object_key(part: int, name_hash: bytes) -> bytes:
    """Index key: partition first, so a partition's objects are one key range."""
    return part.to_bytes(4, "big") + name_hash


def pending_key(obj_key: bytes, ticks: int) -> bytes:
    """Queue key: oldest first, one entry per object version update."""
    return time.time_ns().to_bytes(8, "big") + obj_key + ticks.to_bytes(8, "big")


def is_expired(rec: ObjectRecord, now: float | None = None) -> bool:
    """Past its X-Delete-At, and not retained (a retained version waits: never expires)."""
    now = now if now is not None else time.time()
    if rec.delete_at is None or rec.delete_at > now:
        return False
    return not retention.node_retained(rec.metadata, now)


@dataclass(slots=True)
class Found:
    """A live object version read from the index (body inline or by path)."""

    record: ObjectRecord
    body: bytes | None  # inline body, when kind == INLINE


def read_object(txn: ReadTxn, key: bytes, *, with_body: bool) -> Found:
    """The live version under ``key``; Missing (with the tombstone's ticks) otherwise."""
    raw = txn.get(OBJECTS, key)
    if raw is None:
        raise Missing()
    rec = ObjectRecord.decode(raw)
    if rec.kind == TOMBSTONE:
        raise Missing(rec.timestamp)
    if is_expired(rec):
        raise Missing(rec.newest)
    body = None
    if with_body and rec.kind == INLINE:
        body = txn.get(INLINE_TABLE, key)
        if body is None:
            body = b""
    return Found(rec, body)


def expiry_key(delete_at: int, key: bytes) -> bytes:
    """Delete-at index key: due time first, so the expirer reads the due ones in order."""
    return delete_at.to_bytes(8, "big") + key


def mark_changed(txn: WriteTxn, key: bytes) -> None:
    """Every change of a partition's objects spoils its cached suffix hashes.

    The mark is unique, so a hash computed from a snapshot taken before this
    write can tell, when it comes to be cached, that it is already stale.
    """
    txn.put(HASHES, key[:4], DIRTY + next(_marks).to_bytes(8, "big"))


def _index(txn: WriteTxn, key: bytes, old: ObjectRecord | None, new: ObjectRecord | None) -> None:
    """Keep the delete-at index and the hash cache in step with a record change."""
    old_at = old.delete_at if old is not None and old.kind != TOMBSTONE else None
    new_at = new.delete_at if new is not None and new.kind != TOMBSTONE else None
    if old_at != new_at:
        if old_at is not None:
            txn.delete(EXPIRY, expiry_key(old_at, key))
        if new_at is not None:
            txn.put(EXPIRY, expiry_key(new_at, key), b"")
    mark_changed(txn, key)


def write_record(
    txn: WriteTxn, root: str, key: bytes, old: ObjectRecord | None, new: ObjectRecord
) -> None:
    """Write ``new`` over ``old``; the old body goes away after the commit."""
    txn.put(OBJECTS, key, new.encode())
    if old is not None:
        if old.kind == INLINE and new.kind != INLINE:
            txn.delete(INLINE_TABLE, key)
        elif old.kind == FILE and old.path != new.path:
            txn.garbage.append(os.path.join(root, old.path))
    _index(txn, key, old, new)


def drop_record(
    txn: WriteTxn, root: str, key: bytes, old: ObjectRecord, *, keep_body: bool = False
) -> None:
    """Remove an entry outright (no tombstone): replication may bring it back.

    ``keep_body``: the body file was moved elsewhere (quarantine); leave it.
    """
    txn.delete(OBJECTS, key)
    if old.kind == INLINE:
        txn.delete(INLINE_TABLE, key)
    elif old.kind == FILE and old.path and not keep_body:
        txn.garbage.append(os.path.join(root, old.path))
    _index(txn, key, old, None)


def current_record(txn: WriteTxn, key: bytes) -> ObjectRecord | None:
    raw = txn.get(OBJECTS, key)
    return ObjectRecord.decode(raw) if raw is not None else None


def put_op(
    root: str,
    key: bytes,
    record: ObjectRecord,
    inline: bytes | None,
    pending: tuple[bytes, PendingRecord] | None,
) -> Callable[[WriteTxn], ObjectRecord | None]:
    """Store a new version (StaleWrite if one at least as new exists).

    ``pending`` is the container update, queued in the same transaction so
    that a crash before it is delivered cannot lose it; the caller removes
    it once delivered. Returns the replaced record, if any.
    """

    def op(txn: WriteTxn) -> ObjectRecord | None:
        old = current_record(txn, key)
        if old is not None and old.timestamp >= record.timestamp:
            raise StaleWrite(old.timestamp)
        write_record(txn, root, key, old, record)
        if inline is not None:
            txn.put(INLINE_TABLE, key, inline)
        if pending is not None:
            txn.put(PENDING, pending[0], pending[1].encode())
        return old

    return op


def delete_op(
    root: str,
    key: bytes,
    name: str,
    ticks: int,
    pending: tuple[bytes, PendingRecord] | None,
) -> Callable[[WriteTxn], bool]:
    """Write a tombstone; returns whether a live version was there (Swift
    writes the tombstone even when nothing was, so that it replicates)."""

    def op(txn: WriteTxn) -> bool:
        old = current_record(txn, key)
        if old is not None and old.timestamp >= ticks:
            raise StaleWrite(old.timestamp)
        write_record(txn, root, key, old, ObjectRecord(name, ticks))
        if pending is not None:
            txn.put(PENDING, pending[0], pending[1].encode())
        return old is not None and old.kind != TOMBSTONE and not is_expired(old)

    return op


def post_op(
    key: bytes,
    ticks: int,
    metadata: dict[str, str],
    content_type: str | None,
    delete_at: int | None,
) -> Callable[[WriteTxn], ObjectRecord]:
    """Replace user metadata (and X-Delete-At; content type when given)."""

    def op(txn: WriteTxn) -> ObjectRecord:
        old = current_record(txn, key)
        if old is None:
            raise Missing()
        if old.kind == TOMBSTONE or is_expired(old):
            raise Missing(old.newest)
        if old.newest >= ticks:
            raise StaleWrite(old.newest)
        new = ObjectRecord.decode(old.encode())
        new.metadata = metadata
        new.meta_timestamp = ticks
        new.delete_at = delete_at
        if content_type is not None:
            new.content_type = content_type
        txn.put(OBJECTS, key, new.encode())
        _index(txn, key, old, new)
        return new

    return op


def remove_pending_op(pkey: bytes) -> Callable[[WriteTxn], None]:
    def op(txn: WriteTxn) -> None:
        txn.delete(PENDING, pkey)

    return op


def reschedule_pending_op(pkey: bytes, rec: PendingRecord) -> Callable[[WriteTxn], None]:
    def op(txn: WriteTxn) -> None:
        if txn.get(PENDING, pkey) is not None:
            txn.put(PENDING, pkey, rec.encode())

    return op


def scan_pending(txn: ReadTxn, limit: int) -> list[tuple[bytes, PendingRecord]]:
    """The oldest queued container updates, at most ``limit``."""
    out = []
    for k, v in txn.scan(PENDING, b""):
        out.append((bytes(k), PendingRecord.decode(v)))
        if len(out) >= limit:
            break
    return out
