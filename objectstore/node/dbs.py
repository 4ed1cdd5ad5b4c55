"""Container and account databases: info records, listing rows, stats.

A container's info lives under ``part + hash(a, c)`` and its object rows
under ``hash(a, c) + name``; an account's info under ``part + hash(a)``
and its container rows under ``hash(a) + name`` (names longer than LMDB's
key limit allows are spread over a trie of keys: see ``rowkeys``). Row updates are
idempotent and ordered by timestamp: replaying one, or receiving an older
one after a newer one, changes nothing. Every change of a container's
stats marks it in ``cdirty`` (same transaction) for the account reporter,
which makes that queue durable by construction.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import Any

from objectstore.common.values import AccountRowUpdate, ContainerRowUpdate
from objectstore.node.errors import Missing, NotEmpty, StaleWrite
from objectstore.node.kv import ReadTxn, WriteTxn
from objectstore.node.records import (
    AccountInfoRecord,
    ContainerInfoRecord,
    ContainerRowRecord,
    ObjectRowRecord,
    merge_metadata,
    row_digest,
)
from objectstore.node.rowkeys import get_row, put_row

CINFO, CROWS, CDIRTY, AINFO, AROWS = "cinfo", "crows", "cdirty", "ainfo", "arows"
OWNER_LEN = 16  # rows are addressed by owner hash (16 bytes) + name
_stamp = itertools.count(int.from_bytes(os.urandom(4), "big") << 24)


def info_key(part: int, owner: bytes) -> bytes:
    return part.to_bytes(4, "big") + owner


def mark_dirty(txn: WriteTxn, ikey: bytes) -> None:
    txn.put(CDIRTY, ikey, next(_stamp).to_bytes(8, "big"))


def read_container(
    txn: ReadTxn, ikey: bytes, *, allow_deleted: bool = False
) -> ContainerInfoRecord:
    raw = txn.get(CINFO, ikey)
    if raw is None:
        raise Missing()
    info = ContainerInfoRecord.decode(raw)
    if info.deleted and not allow_deleted:
        raise Missing(info.delete_timestamp)
    return info


def read_account(txn: ReadTxn, ikey: bytes) -> AccountInfoRecord:
    raw = txn.get(AINFO, ikey)
    if raw is None:
        raise Missing()
    info = AccountInfoRecord.decode(raw)
    if info.deleted:
        raise Missing(info.delete_timestamp)
    return info


# --- containers ---------------------------------------------------------------
def put_container_op(
    ikey: bytes,
    account: str,
    container: str,
    ticks: int,
    metadata: dict[str, str],
    account_update: list[Any] | None,
) -> Callable[[WriteTxn], bool]:
    """Create, revive or re-stamp a container; True when it (re)appeared."""

    def op(txn: WriteTxn) -> bool:
        raw = txn.get(CINFO, ikey)
        created = raw is None
        if raw is None:
            info = ContainerInfoRecord(account, container, ticks, created_at=ticks)
        else:
            info = ContainerInfoRecord.decode(raw)
            if info.deleted:
                if ticks <= info.delete_timestamp:
                    raise StaleWrite(info.delete_timestamp)
                created = True
                info.created_at = ticks
            info.put_timestamp = max(info.put_timestamp, ticks)
        info.metadata = merge_metadata(info.metadata, metadata, ticks)
        if account_update is not None:
            info.account_update = account_update
        txn.put(CINFO, ikey, info.encode())
        mark_dirty(txn, ikey)
        return created

    return op


def delete_container_op(
    ikey: bytes, ticks: int, account_update: list[Any] | None
) -> Callable[[WriteTxn], None]:
    """Mark deleted (NotEmpty while it lists objects; rows stay as tombstones)."""

    def op(txn: WriteTxn) -> None:
        info = read_container(txn, ikey)
        if info.object_count > 0:
            raise NotEmpty(info.put_timestamp, "container not empty")
        if ticks <= info.put_timestamp:
            raise StaleWrite(info.put_timestamp)
        info.delete_timestamp = ticks
        if account_update is not None:
            info.account_update = account_update
        txn.put(CINFO, ikey, info.encode())
        mark_dirty(txn, ikey)

    return op


def post_container_op(
    ikey: bytes, ticks: int, metadata: dict[str, str]
) -> Callable[[WriteTxn], None]:
    def op(txn: WriteTxn) -> None:
        info = read_container(txn, ikey)
        info.metadata = merge_metadata(info.metadata, metadata, ticks)
        txn.put(CINFO, ikey, info.encode())

    return op


def object_rows_op(
    items: list[tuple[bytes, bytes, ContainerRowUpdate]],
) -> Callable[[WriteTxn], list[int]]:
    """Apply object rows ``(info key, owner + name, update)``; a status per row."""

    def op(txn: WriteTxn) -> list[int]:
        statuses = []
        infos: dict[bytes, ContainerInfoRecord | None] = {}  # read and written once per batch
        changed: dict[bytes, ContainerInfoRecord] = {}
        for ikey, rkey, upd in items:
            if ikey not in infos:
                raw = txn.get(CINFO, ikey)
                info = ContainerInfoRecord.decode(raw) if raw is not None else None
                # A deleted container refuses rows (Swift's answer too); the sender retries.
                infos[ikey] = None if info is None or info.deleted else info
            info = infos[ikey]
            if info is None:
                statuses.append(404)
                continue
            ticks = upd.timestamp.ticks
            owner, name = rkey[:OWNER_LEN], rkey[OWNER_LEN:]
            old_raw = get_row(txn, CROWS, owner, name)
            old = ObjectRowRecord.decode(old_raw) if old_raw is not None else None
            if old is not None and old.timestamp >= ticks:
                statuses.append(202)  # already as new: idempotent
                continue
            if old is not None and not old.deleted:
                info.object_count -= 1
                info.bytes_used -= old.size
            if not upd.deleted:
                info.object_count += 1
                info.bytes_used += upd.size
            info.stats_timestamp = max(info.stats_timestamp, ticks)
            row = ObjectRowRecord(ticks, upd.size, upd.etag, upd.content_type, upd.deleted)
            value = row.encode()
            info.rows_digest ^= row_digest(name, old_raw) ^ row_digest(name, value)
            put_row(txn, CROWS, owner, name, value)
            changed[ikey] = info
            statuses.append(204 if upd.deleted else 201)
        for ikey, info in changed.items():
            txn.put(CINFO, ikey, info.encode())
            mark_dirty(txn, ikey)
        return statuses

    return op


def scan_dirty(
    txn: ReadTxn, limit: int, only: bytes | None = None
) -> list[tuple[bytes, bytes, ContainerInfoRecord]]:
    """Containers whose stats the account has not acknowledged yet (just ``only``'s if given)."""
    if only is not None:
        stamp, raw = txn.get(CDIRTY, only), txn.get(CINFO, only)
        if stamp is None or raw is None:
            return []
        return [(only, bytes(stamp), ContainerInfoRecord.decode(raw))]
    out = []
    for k, stamp in txn.scan(CDIRTY, b""):
        raw = txn.get(CINFO, k)
        if raw is not None:
            out.append((bytes(k), bytes(stamp), ContainerInfoRecord.decode(raw)))
        if len(out) >= limit:
            break
    return out


def clear_dirty_op(done: list[tuple[bytes, bytes]]) -> Callable[[WriteTxn], None]:
    """Unmark containers reported, unless they changed again meanwhile."""

    def op(txn: WriteTxn) -> None:
        for ikey, stamp in done:
            if txn.get(CDIRTY, ikey) == stamp:
                txn.delete(CDIRTY, ikey)

    return op


# --- accounts -----------------------------------------------------------------
def put_account_op(
    ikey: bytes, account: str, ticks: int, metadata: dict[str, str]
) -> Callable[[WriteTxn], bool]:
    def op(txn: WriteTxn) -> bool:
        raw = txn.get(AINFO, ikey)
        created = raw is None
        if raw is None:
            info = AccountInfoRecord(account, ticks, created_at=ticks)
        else:
            info = AccountInfoRecord.decode(raw)
            if info.deleted:
                if ticks <= info.delete_timestamp:
                    raise StaleWrite(info.delete_timestamp)
                created = True
                info.created_at = ticks
            info.put_timestamp = max(info.put_timestamp, ticks)
        info.metadata = merge_metadata(info.metadata, metadata, ticks)
        txn.put(AINFO, ikey, info.encode())
        return created

    return op


def delete_account_op(ikey: bytes, ticks: int) -> Callable[[WriteTxn], None]:
    def op(txn: WriteTxn) -> None:
        info = read_account(txn, ikey)
        if ticks <= info.put_timestamp:
            raise StaleWrite(info.put_timestamp)
        info.delete_timestamp = ticks
        txn.put(AINFO, ikey, info.encode())

    return op


def post_account_op(
    ikey: bytes, ticks: int, metadata: dict[str, str]
) -> Callable[[WriteTxn], None]:
    def op(txn: WriteTxn) -> None:
        info = read_account(txn, ikey)
        info.metadata = merge_metadata(info.metadata, metadata, ticks)
        txn.put(AINFO, ikey, info.encode())

    return op


def _merge_row(old: ContainerRowRecord | None, upd: AccountRowUpdate) -> ContainerRowRecord | None:
    """The row after ``upd``, or None when ``upd`` brings nothing newer."""
    put = upd.put_timestamp.ticks
    dele = upd.delete_timestamp.ticks if upd.delete_timestamp else 0
    stats = upd.stats_timestamp.ticks
    if old is None:
        return ContainerRowRecord(put, dele, upd.object_count, upd.bytes_used, stats)
    newer_state = put > old.put_timestamp or dele > old.delete_timestamp
    newer_stats = stats > old.stats_timestamp or (
        stats == old.stats_timestamp
        and (upd.object_count, upd.bytes_used) != (old.object_count, old.bytes_used)
        and newer_state
    )
    if not newer_state and not newer_stats:
        return None
    row = ContainerRowRecord(
        max(put, old.put_timestamp),
        max(dele, old.delete_timestamp),
        old.object_count,
        old.bytes_used,
        max(stats, old.stats_timestamp),
    )
    if newer_stats:
        row.object_count, row.bytes_used = upd.object_count, upd.bytes_used
    return row


def container_rows_op(
    items: list[tuple[bytes, bytes, AccountRowUpdate]],
) -> Callable[[WriteTxn], list[int]]:
    """Apply container rows ``(account info key, owner + name, update)``; the account
    is created on first use (Swift's account auto-create)."""

    def op(txn: WriteTxn) -> list[int]:
        statuses = []
        for ikey, rkey, upd in items:
            raw = txn.get(AINFO, ikey)
            if raw is None:
                ticks = upd.put_timestamp.ticks
                info = AccountInfoRecord(upd.account, ticks, created_at=ticks)
            else:
                info = AccountInfoRecord.decode(raw)
            owner, name = rkey[:OWNER_LEN], rkey[OWNER_LEN:]
            old_raw = get_row(txn, AROWS, owner, name)
            old = ContainerRowRecord.decode(old_raw) if old_raw is not None else None
            row = _merge_row(old, upd)
            if row is None:
                statuses.append(202)
                continue
            if old is not None and not old.deleted:
                info.container_count -= 1
                info.object_count -= old.object_count
                info.bytes_used -= old.bytes_used
            if not row.deleted:
                info.container_count += 1
                info.object_count += row.object_count
                info.bytes_used += row.bytes_used
            value = row.encode()
            info.rows_digest ^= row_digest(name, old_raw) ^ row_digest(name, value)
            put_row(txn, AROWS, owner, name, value)
            txn.put(AINFO, ikey, info.encode())
            statuses.append(204 if row.deleted else 201)
        return statuses

    return op
