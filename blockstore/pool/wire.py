"""What the volume API and a backend process agree on over the internal API: the secret's
header, the data-extent frames a whole volume file travels in (a migration's copy, a
volume filled from an image), and the bounds and digest header of a range (backups and
restores read and write volumes by range)."""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from blockstore.backend.copy import data_extents

TOKEN_HEADER = "X-Backend-Token"
DIGEST_HEADER = "X-Range-Digest"  # xxh3-128 (hex) of a range's bytes
CHUNK = 4 * 1024 * 1024
FRAME = struct.Struct(">QQ")  # one data extent of a volume file: offset, length
MAX_RANGE = 64 * 1024 * 1024  # a range's bytes (the largest backup chunk)
MAX_MAP_CHUNKS = 1 << 24  # chunks a data map may cover (a bitmap of 2 MiB)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def content_digest(path: Path, chunk: int = 1024 * 1024) -> str:
    """SHA-256 of what the file reads as, whatever its allocation: its size, then each
    ``chunk`` that holds a non-zero byte with its index. Holes are never read, so two
    copies of a mostly empty volume compare in the time their data takes (a live
    migration hashes both while the guest is paused)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        h.update(size.to_bytes(8, "big"))
        done = -1
        for start, end in data_extents(f.fileno(), size):
            for index in range(max(start // chunk, done + 1), -(-end // chunk)):
                data = os.pread(f.fileno(), chunk, index * chunk)
                done = index
                if data.count(0) != len(data):
                    h.update(index.to_bytes(8, "big") + data)
    return h.hexdigest()


def frames(path: Path) -> Iterator[bytes]:
    """The file as frames of its data extents (holes are not sent), CHUNK bytes at most each."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        for start, end in data_extents(f.fileno(), size):
            for offset in range(start, end, CHUNK):
                data = os.pread(f.fileno(), min(CHUNK, end - offset), offset)
                yield FRAME.pack(offset, len(data)) + data


def bitmap(indexes: set[int], count: int) -> bytes:
    """``count`` bits, bit ``i`` (of byte ``i // 8``, low bit first) set for ``i`` in
    ``indexes``: a volume's chunks that hold data."""
    out = bytearray(-(-count // 8))
    for i in indexes:
        if 0 <= i < count:
            out[i >> 3] |= 1 << (i & 7)
    return bytes(out)


def indexes(bits: bytes, count: int) -> set[int]:
    """The inverse of :func:`bitmap`."""
    found: set[int] = set()
    for n, byte in enumerate(bits):
        if byte:
            found.update(n * 8 + j for j in range(8) if byte >> j & 1 and n * 8 + j < count)
    return found
