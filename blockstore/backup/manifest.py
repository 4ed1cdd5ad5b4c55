"""The backup manifest: which chunk holds each stretch of the volume, versioned.

Stored as the object ``manifests/<backup id>``: ``STBM`` magic, a version
byte, then msgpack. Every manifest lists every chunk of its volume (a hole
is ``None``), so a restore reads one manifest, an incremental backup needs
no chain, and deleting a backup frees exactly the chunks no other manifest
names.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import msgpack

from blockstore.backup.chunks import MAX_CHUNK_SIZE, MIN_CHUNK_SIZE

MAGIC = b"STBM"
VERSION = 1
PREFIX = "manifests/"
_FIXED = 4096  # the manifest's fields other than its chunk list, with room to spare
_PER_CHUNK = 18  # a 16-byte digest as msgpack bin 8


def max_bytes(size: int, chunks: int | None = None) -> int:
    """The largest manifest a backup of ``size`` bytes (of ``chunks`` chunks, when the
    records know) can have: reads stop there."""
    return _FIXED + _PER_CHUNK * (chunks if chunks else -(-size // MIN_CHUNK_SIZE))


class ManifestError(Exception):
    """Not a manifest this code can read."""


def object_name(backup_id: str) -> str:
    return PREFIX + backup_id


@dataclass
class Manifest:
    backup_id: str
    volume_id: str
    size: int  # bytes of the volume backed up
    chunk_size: int
    chunks: list[bytes | None] = field(default_factory=list)  # xxh3_128 digests
    parent_id: str | None = None
    incremental: bool = False
    compression: str = "zstd"
    created: float = field(default_factory=time.time)

    def encode(self) -> bytes:
        body = {
            "backup_id": self.backup_id,
            "volume_id": self.volume_id,
            "size": self.size,
            "chunk_size": self.chunk_size,
            "chunks": self.chunks,
            "parent_id": self.parent_id,
            "incremental": self.incremental,
            "compression": self.compression,
            "created": self.created,
        }
        return MAGIC + bytes([VERSION]) + msgpack.packb(body, use_bin_type=True)

    @classmethod
    def decode(
        cls,
        raw: bytes,
        *,
        backup_id: str | None = None,
        size: int | None = None,
        chunks: int | None = None,
    ) -> Manifest:
        """Parse and check a manifest; ``backup_id``, ``size`` and ``chunks`` (count) are
        what the records say it must describe (the object is in the tenant's account: it
        may have been edited)."""
        if raw[:4] != MAGIC or len(raw) < 5:
            raise ManifestError("not a backup manifest")
        if raw[4] != VERSION:
            raise ManifestError(f"manifest version {raw[4]} is not supported")
        try:
            body = msgpack.unpackb(raw[5:], raw=False)
            man = cls(
                backup_id=str(body["backup_id"]),
                volume_id=str(body["volume_id"]),
                size=int(body["size"]),
                chunk_size=int(body["chunk_size"]),
                chunks=list(body["chunks"]),
                parent_id=body.get("parent_id"),
                incremental=bool(body.get("incremental", False)),
                compression=str(body.get("compression", "zstd")),
                created=float(body.get("created", 0.0)),
            )
        except (ValueError, KeyError, TypeError, msgpack.UnpackException) as exc:
            raise ManifestError(f"corrupt manifest: {exc}") from None
        if backup_id is not None and man.backup_id != backup_id:
            raise ManifestError("manifest names another backup")
        if size is not None and man.size != size:
            raise ManifestError(f"manifest size {man.size} differs from the backup's {size}")
        if not MIN_CHUNK_SIZE <= man.chunk_size <= MAX_CHUNK_SIZE or man.size < 0:
            raise ManifestError(f"manifest chunk size {man.chunk_size} is out of range")
        if chunks is not None and len(man.chunks) != chunks:
            raise ManifestError(f"manifest lists {len(man.chunks)} chunks, not {chunks}")
        if len(man.chunks) != -(-man.size // man.chunk_size):
            raise ManifestError("manifest chunk count does not match its size")
        if any(c is not None and (not isinstance(c, bytes) or len(c) != 16) for c in man.chunks):
            raise ManifestError("manifest holds a malformed chunk digest")
        return man

    def digests(self) -> set[bytes]:
        return {c for c in self.chunks if c is not None}
