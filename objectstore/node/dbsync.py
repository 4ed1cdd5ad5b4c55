"""Container and account replication, store side: digests, row pages and merges.

A container (or account) replica is summed up by one 64-bit digest: its
put/delete timestamps and metadata, XOR the ``rows_digest`` that every row
write keeps up to date (see ``records.row_digest``). Replicas of a
partition swap their ``{owner hash: digest}`` maps; where digests differ
the replicator pushes the info and every row, and the receiver merges:
newest timestamps win, per metadata key too, and a row replaces another
only when it is newer, so a push is idempotent and order does not matter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import xxhash

from objectstore.node import dbs
from objectstore.node.dbs import AINFO, AROWS, CINFO, CROWS
from objectstore.node.kv import ReadTxn, WriteTxn
from objectstore.node.records import (
    AccountInfoRecord,
    ContainerInfoRecord,
    ContainerRowRecord,
    ObjectRowRecord,
    row_digest,
)
from objectstore.node.rowkeys import get_row, put_row, scan_rows

KINDS = {"c": (CINFO, CROWS), "a": (AINFO, AROWS)}


def _meta_digest(put: int, delete: int, metadata: dict[str, list[Any]]) -> int:
    blob = msgpack.packb([put, delete, sorted((k, v[0], v[1]) for k, v in metadata.items())])
    return xxhash.xxh3_64_intdigest(blob)


def decode_info(kind: str, raw: bytes) -> ContainerInfoRecord | AccountInfoRecord:
    return ContainerInfoRecord.decode(raw) if kind == "c" else AccountInfoRecord.decode(raw)


def digest_of(info: ContainerInfoRecord | AccountInfoRecord) -> int:
    """What two replicas compare: equal digests mean equal info and rows."""
    return _meta_digest(info.put_timestamp, info.delete_timestamp, info.metadata) ^ info.rows_digest


def digests(txn: ReadTxn, kind: str, part: int) -> dict[bytes, int]:
    """``{owner hash: digest}`` of every container (``c``) or account (``a``) of a partition."""
    table = KINDS[kind][0]
    prefix = part.to_bytes(4, "big")
    out = {}
    for key, raw in txn.scan(table, prefix):
        if key[:4] != prefix:
            break
        out[bytes(key[4:])] = digest_of(decode_info(kind, raw))
    return out


def info_raw(txn: ReadTxn, kind: str, part: int, owner: bytes) -> bytes | None:
    raw = txn.get(KINDS[kind][0], part.to_bytes(4, "big") + owner)
    return bytes(raw) if raw is not None else None


def rows(
    txn: ReadTxn, kind: str, owner: bytes, after: bytes | None
) -> Iterator[tuple[bytes, bytes]]:
    """``(name, stored row)`` of one owner, by name, after ``after`` (None: from the start)."""
    start = after + b"\x00" if after is not None else None
    yield from scan_rows(txn, KINDS[kind][1], owner, start)


def _merge_meta(cur: dict[str, list[Any]], inc: dict[str, list[Any]]) -> dict[str, list[Any]]:
    merged = dict(cur)
    for key, (value, ticks) in inc.items():
        old = merged.get(key)
        if old is None or old[1] < ticks:
            merged[key] = [value, ticks]
    return merged


def _merge_info(cur: Any, inc: Any) -> Any:
    """The info after merging ``inc`` into ``cur`` (counts and digests stay ``cur``'s)."""
    if cur is None:
        new = type(inc).decode(inc.encode())
        new.object_count = new.bytes_used = new.rows_digest = 0
        if isinstance(new, ContainerInfoRecord):
            new.account_update = None
            new.stats_timestamp = 0
        else:
            new.container_count = 0
        return new
    cur.put_timestamp = max(cur.put_timestamp, inc.put_timestamp)
    cur.delete_timestamp = max(cur.delete_timestamp, inc.delete_timestamp)
    cur.metadata = _merge_meta(cur.metadata, inc.metadata)
    if not cur.created_at:
        cur.created_at = inc.created_at
    return cur


def _object_row(info: ContainerInfoRecord, old: bytes | None, new: bytes) -> bool:
    """Count ``new`` replacing ``old`` into ``info``; False when ``new`` is not newer."""
    row = ObjectRowRecord.decode(new)
    prev = ObjectRowRecord.decode(old) if old is not None else None
    if prev is not None and prev.timestamp >= row.timestamp:
        return False
    if prev is not None and not prev.deleted:
        info.object_count -= 1
        info.bytes_used -= prev.size
    if not row.deleted:
        info.object_count += 1
        info.bytes_used += row.size
    info.stats_timestamp = max(info.stats_timestamp, row.timestamp)
    return True


def _container_row(info: AccountInfoRecord, old: bytes | None, new: bytes) -> bytes | None:
    """The merged account row (bytes) when it changes, else None; counts go into ``info``."""
    inc = ContainerRowRecord.decode(new)
    prev = ContainerRowRecord.decode(old) if old is not None else None
    if prev is None:
        merged = inc
    else:
        merged = ContainerRowRecord(
            max(prev.put_timestamp, inc.put_timestamp),
            max(prev.delete_timestamp, inc.delete_timestamp),
            prev.object_count,
            prev.bytes_used,
            prev.stats_timestamp,
        )
        if inc.stats_timestamp > prev.stats_timestamp:
            merged.object_count, merged.bytes_used = inc.object_count, inc.bytes_used
            merged.stats_timestamp = inc.stats_timestamp
    value = merged.encode()
    if old is not None and value == old:
        return None
    if prev is not None and not prev.deleted:
        info.container_count -= 1
        info.object_count -= prev.object_count
        info.bytes_used -= prev.bytes_used
    if not merged.deleted:
        info.container_count += 1
        info.object_count += merged.object_count
        info.bytes_used += merged.bytes_used
    return value


def merge_op(
    kind: str,
    part: int,
    owner: bytes,
    incoming: ContainerInfoRecord | AccountInfoRecord,
    new_rows: list[tuple[bytes, bytes]],
    account_update: list[Any] | None = None,
) -> Callable[[WriteTxn], int]:
    """Merge a replica's info and a page of its rows; returns rows that changed.

    ``account_update`` (containers only) is where this replica reports its
    stats when it had no record yet (the proxy told the original replicas).
    """
    info_table, row_table = KINDS[kind]
    ikey = part.to_bytes(4, "big") + owner

    def op(txn: WriteTxn) -> int:
        raw = txn.get(info_table, ikey)
        cur = decode_info(kind, raw) if raw is not None else None
        info = _merge_info(cur, incoming)
        if cur is None and account_update is not None and isinstance(info, ContainerInfoRecord):
            info.account_update = account_update
        before = bytes(raw) if raw is not None else None
        changed = 0
        for name, value in new_rows:
            old = get_row(txn, row_table, owner, name)
            if isinstance(info, ContainerInfoRecord):  # kind "c": the info follows the kind
                if not _object_row(info, old, value):
                    continue
                stored = value
            else:
                merged = _container_row(info, old, value)
                if merged is None:
                    continue
                stored = merged
            info.rows_digest ^= row_digest(name, old) ^ row_digest(name, stored)
            put_row(txn, row_table, owner, name, stored)
            changed += 1
        after = info.encode()
        if after != before:
            txn.put(info_table, ikey, after)
            if kind == "c":
                dbs.mark_dirty(txn, ikey)  # the account hears of the new stats
        return changed

    return op
