"""Versioned stored values of a device (msgpack behind a version byte).

Every value starts with one byte naming its format version; decoders
accept every version they have ever written. Timestamps are stored as
integer ticks (see ``objectstore.timestamp``), 0 meaning "none".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack
import xxhash

V1 = b"\x01"

# Where an object's body lives.
TOMBSTONE = 0
INLINE = 1
FILE = 2


class CorruptRecord(ValueError):
    """A stored value that no decoder understands."""


def _pack(fields: list[Any]) -> bytes:
    return V1 + msgpack.packb(fields, use_bin_type=True)


def _unpack(value: bytes, what: str) -> list[Any]:
    if not value or value[:1] != V1:
        raise CorruptRecord(f"{what}: unknown format version {value[:1]!r}")
    try:
        return msgpack.unpackb(value[1:], raw=False, strict_map_key=False)
    except Exception as exc:
        raise CorruptRecord(f"{what}: {exc}") from None


@dataclass(slots=True)
class ObjectRecord:
    """The index entry of one object version (or its tombstone)."""

    name: str  # "account/container/object", for the replicator and auditor
    timestamp: int
    size: int = 0
    etag: str = ""
    content_type: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    delete_at: int | None = None
    kind: int = TOMBSTONE
    path: str = ""  # body file, relative to the device root, when kind == FILE
    meta_timestamp: int = 0

    @property
    def deleted(self) -> bool:
        return self.kind == TOMBSTONE

    @property
    def newest(self) -> int:
        return max(self.timestamp, self.meta_timestamp)

    def encode(self) -> bytes:
        return _pack(
            [
                self.name,
                self.timestamp,
                self.meta_timestamp,
                self.size,
                self.etag,
                self.content_type,
                self.metadata,
                self.delete_at,
                self.kind,
                self.path,
            ]
        )

    @classmethod
    def decode(cls, value: bytes) -> ObjectRecord:
        f = _unpack(value, "object record")
        name, ts, mts, size, etag, ctype, meta, delete_at, kind, path = f
        return cls(name, ts, size, etag, ctype, meta, delete_at, kind, path, mts)


@dataclass(slots=True)
class ContainerInfoRecord:
    account: str
    container: str
    put_timestamp: int
    delete_timestamp: int = 0
    created_at: int = 0
    object_count: int = 0
    bytes_used: int = 0
    metadata: dict[str, list[Any]] = field(default_factory=dict)  # key -> [value, ticks]
    account_update: list[Any] | None = None  # [ip, port, device, part]
    stats_timestamp: int = 0  # newest row change counted in object_count/bytes_used
    #: XOR of every row's digest (see ``row_digest``): replicas compare it, not rows.
    rows_digest: int = 0

    @property
    def deleted(self) -> bool:
        return self.delete_timestamp > self.put_timestamp

    def encode(self) -> bytes:
        return _pack(
            [
                self.account,
                self.container,
                self.put_timestamp,
                self.delete_timestamp,
                self.created_at,
                self.object_count,
                self.bytes_used,
                self.metadata,
                self.account_update,
                self.stats_timestamp,
                self.rows_digest,
            ]
        )

    @classmethod
    def decode(cls, value: bytes) -> ContainerInfoRecord:
        # Records written before rows_digest existed have 10 fields (digest 0).
        return cls(*_unpack(value, "container info"))


@dataclass(slots=True)
class ObjectRowRecord:
    """An object's row in a container listing (kept when deleted, for ordering)."""

    timestamp: int
    size: int = 0
    etag: str = ""
    content_type: str = ""
    deleted: bool = False

    def encode(self) -> bytes:
        return _pack([self.timestamp, self.size, self.etag, self.content_type, self.deleted])

    @classmethod
    def decode(cls, value: bytes) -> ObjectRowRecord:
        return cls(*_unpack(value, "object row"))


@dataclass(slots=True)
class AccountInfoRecord:
    account: str
    put_timestamp: int
    delete_timestamp: int = 0
    created_at: int = 0
    container_count: int = 0
    object_count: int = 0
    bytes_used: int = 0
    metadata: dict[str, list[Any]] = field(default_factory=dict)
    #: XOR of every container row's digest (see ``row_digest``).
    rows_digest: int = 0

    @property
    def deleted(self) -> bool:
        return self.delete_timestamp > self.put_timestamp

    def encode(self) -> bytes:
        return _pack(
            [
                self.account,
                self.put_timestamp,
                self.delete_timestamp,
                self.created_at,
                self.container_count,
                self.object_count,
                self.bytes_used,
                self.metadata,
                self.rows_digest,
            ]
        )

    @classmethod
    def decode(cls, value: bytes) -> AccountInfoRecord:
        # Records written before rows_digest existed have 8 fields (digest 0).
        return cls(*_unpack(value, "account info"))


@dataclass(slots=True)
class ContainerRowRecord:
    """A container's row in an account listing, with its last reported stats."""

    put_timestamp: int
    delete_timestamp: int = 0
    object_count: int = 0
    bytes_used: int = 0
    stats_timestamp: int = 0

    @property
    def deleted(self) -> bool:
        return self.delete_timestamp > self.put_timestamp

    def encode(self) -> bytes:
        return _pack(
            [
                self.put_timestamp,
                self.delete_timestamp,
                self.object_count,
                self.bytes_used,
                self.stats_timestamp,
            ]
        )

    @classmethod
    def decode(cls, value: bytes) -> ContainerRowRecord:
        return cls(*_unpack(value, "container row"))


@dataclass(slots=True)
class PendingRecord:
    """A container row update that could not be delivered yet (durable queue)."""

    host: list[Any]  # [ip, port, device]
    row: list[Any]  # ContainerRowUpdate.pack()
    attempts: int = 0
    not_before: float = 0.0  # unix seconds: backoff

    def encode(self) -> bytes:
        return _pack([self.host, self.row, self.attempts, self.not_before])

    @classmethod
    def decode(cls, value: bytes) -> PendingRecord:
        return cls(*_unpack(value, "pending update"))


def row_digest(name: bytes, value: bytes | None) -> int:
    """A listing row's contribution to its owner's ``rows_digest`` (0 for no row).

    XOR-combined, so a row change updates the owner's digest in O(1) and two
    replicas holding the same rows hold the same digest, whatever the order
    the rows arrived in.
    """
    if value is None:
        return 0
    return xxhash.xxh3_64_intdigest(len(name).to_bytes(4, "big") + name + value)


def merge_metadata(
    stored: dict[str, list[Any]], updates: dict[str, str], ticks: int
) -> dict[str, list[Any]]:
    """Per-key last writer wins; an empty value is kept as a removal marker."""
    merged = dict(stored)
    for key, value in updates.items():
        old = merged.get(key)
        if old is None or old[1] < ticks:
            merged[key] = [value, ticks]
    return merged


def visible_metadata(stored: dict[str, list[Any]]) -> dict[str, str]:
    return {k: v for k, (v, _ts) in stored.items() if v != ""}
