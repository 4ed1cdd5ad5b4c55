"""Object index operations of the background work: merge, hand back, quarantine, expire.

Like ``objects``, each ``*_op`` returns a function of one write transaction
that decides before it writes. Merging is last-writer-wins on two clocks:
the data timestamp picks the version (or tombstone), the metadata
timestamp picks the metadata (a POST), so replicas converge whatever order
versions and POSTs reach them in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from objectstore.node.kv import WriteTxn
from objectstore.node.objects import (
    EXPIRY,
    HASHES,
    INLINE_TABLE,
    OBJECTS,
    PENDING,
    current_record,
    drop_record,
    is_expired,
    write_record,
)
from objectstore.node.records import INLINE, TOMBSTONE, ObjectRecord, PendingRecord

# Merge outcomes (also the statuses of the push endpoint).
STORED = 201  # the incoming version (data or tombstone) replaced ours or was new
META = 202  # only the incoming metadata was newer
UP_TO_DATE = 409  # ours is at least as new: nothing changed
NEED_BODY = 412  # a metadata-only push for a data version we do not hold


def _take_metadata(dst: ObjectRecord, src: ObjectRecord) -> None:
    dst.metadata = dict(src.metadata)
    dst.meta_timestamp = src.meta_timestamp
    dst.delete_at = src.delete_at
    dst.content_type = src.content_type


def merge_op(
    root: str,
    key: bytes,
    incoming: ObjectRecord,
    inline: bytes | None,
    *,
    meta_only: bool = False,
) -> Callable[[WriteTxn], int]:
    """Merge a replicated entry (its body already durable when it is a file).

    ``incoming.path`` must already be this device's body path (FILE) or ""
    (INLINE with ``inline`` bytes, or a tombstone). A body that ends up unused
    is the caller's to unlink (anything but STORED). ``meta_only``: the
    sender believed we hold this data version and sent no body; NEED_BODY
    when we do not.
    """

    def op(txn: WriteTxn) -> int:
        cur = current_record(txn, key)
        if cur is None or incoming.timestamp > cur.timestamp:  # newer
            if meta_only and incoming.kind != TOMBSTONE:
                return NEED_BODY
            new = ObjectRecord.decode(incoming.encode())
            if (
                cur is not None
                and cur.kind != TOMBSTONE
                and new.kind != TOMBSTONE
                and cur.meta_timestamp > new.newest
            ):  # a POST newer than the incoming version outlives it here
                _take_metadata(new, cur)
            write_record(txn, root, key, cur, new)
            if new.kind == INLINE:
                txn.put(INLINE_TABLE, key, inline or b"")
            return STORED
        if (
            cur.kind != TOMBSTONE
            and incoming.kind != TOMBSTONE
            and incoming.meta_timestamp > cur.newest
        ):
            new = ObjectRecord.decode(cur.encode())
            _take_metadata(new, incoming)
            write_record(txn, root, key, cur, new)
            return META
        return UP_TO_DATE

    return op


@dataclass(frozen=True, slots=True)
class Seen:
    """A version as it was when a peer confirmed holding it (or something newer)."""

    key: bytes
    timestamp: int
    meta_timestamp: int


def remove_synced_op(root: str, items: list[Seen]) -> Callable[[WriteTxn], int]:
    """Drop handoff entries every primary confirmed, unless they changed since."""

    def op(txn: WriteTxn) -> int:
        removed = 0
        for it in items:
            cur = current_record(txn, it.key)
            if cur is None:
                continue
            if (cur.timestamp, cur.meta_timestamp) != (it.timestamp, it.meta_timestamp):
                continue
            drop_record(txn, root, it.key, cur)
            removed += 1
        for prefix in {it.key[:4] for it in items}:
            first = next(iter(txn.scan(OBJECTS, prefix)), None)
            if first is None or first[0][:4] != prefix:
                txn.delete(HASHES, prefix)  # the partition left this device
        return removed

    return op


def quarantine_op(root: str, key: bytes, rec: ObjectRecord) -> Callable[[WriteTxn], bool]:
    """Forget a corrupt replica (no tombstone: replication restores it).

    The body file itself is not deleted here: the caller has moved it to the
    quarantine directory already; only the index entry (and an inline body)
    goes. Nothing happens if a newer version replaced it meanwhile.
    """

    def op(txn: WriteTxn) -> bool:
        cur = current_record(txn, key)
        if cur is None or (cur.timestamp, cur.meta_timestamp, cur.path) != (
            rec.timestamp,
            rec.meta_timestamp,
            rec.path,
        ):
            return False
        drop_record(txn, root, key, cur, keep_body=True)
        return True

    return op


def expire_op(
    root: str,
    key: bytes,
    delete_at: int,
    ticks: int,
    pending: tuple[bytes, PendingRecord] | None,
) -> Callable[[WriteTxn], int | None]:
    """Replace an expired version by a tombstone; its timestamp, or None if nothing to do.

    ``ticks`` is the tombstone's timestamp: the delete-at time (or just after
    the newest write, if one came later), so every replica's expirer writes
    the very same tombstone and replication has nothing to reconcile.
    """

    def op(txn: WriteTxn) -> int | None:
        cur = current_record(txn, key)
        if cur is None or cur.kind == TOMBSTONE or cur.delete_at != delete_at:
            return None
        if not is_expired(cur) or cur.newest >= ticks:
            return None
        write_record(txn, root, key, cur, ObjectRecord(cur.name, ticks))
        if pending is not None:
            txn.put(PENDING, pending[0], pending[1].encode())
        return ticks

    return op


def forget_expiry_op(index_key: bytes) -> Callable[[WriteTxn], None]:
    """Drop a delete-at index entry that no longer matches its object."""

    def op(txn: WriteTxn) -> None:
        txn.delete(EXPIRY, index_key)

    return op


__all__ = [
    "META",
    "NEED_BODY",
    "OBJECTS",
    "STORED",
    "UP_TO_DATE",
    "Seen",
    "expire_op",
    "forget_expiry_op",
    "merge_op",
    "quarantine_op",
    "remove_synced_op",
]
