"""A volume's bytes for the backup engine: read by range, written by range.

Backups read a volume (or a backup's temporary snapshot) and restores write one through
these two small interfaces, whoever holds the file: :class:`FileReader` and
:class:`FileWriter` open it in this process (the one-backend service); the pool's
remote reader and writer (``blockstore.pool.volumeio``) send the same calls as ranges to
the backend process that holds it. Every method blocks (callers run them off the event
loop). A range carries the xxh3-128 digest of its bytes, the digest a backup chunk is
named by, so a byte changed between a remote backend and the engine is caught.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import xxhash

from blockstore.backend.copy import data_extents
from blockstore.scsi.backing import BackingFile


def range_digest(data: bytes | memoryview) -> bytes:
    """xxh3-128 of a range (the backup chunks' digest)."""
    return xxhash.xxh3_128_digest(data)


class VolumeReader(Protocol):
    """A volume's or a snapshot's bytes, read by range."""

    def data_chunks(self, size: int, chunk_size: int) -> set[int]:
        """Indexes of the ``chunk_size`` chunks of the first ``size`` bytes that hold any
        data (the others are holes and read as zeros)."""
        ...

    def read(self, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes from ``offset`` (zeros past the end of the file)."""
        ...

    def close(self) -> None: ...


class VolumeWriter(Protocol):
    """An existing volume's bytes, written by range (never past its size)."""

    def write(self, offset: int, data: bytes, digest: bytes) -> None:
        """Write ``data`` (whose :func:`range_digest` is ``digest``) at ``offset``."""
        ...

    def zero(self, offset: int, length: int) -> None:
        """Make a range read as zeros (a hole where the filesystem can)."""
        ...

    def flush(self) -> None:
        """Make every write so far durable."""
        ...

    def close(self) -> None: ...


def chunks_of_extents(extents: list[tuple[int, int]], chunk_size: int) -> set[int]:
    found: set[int] = set()
    for start, end in extents:
        found.update(range(start // chunk_size, (end - 1) // chunk_size + 1))
    return found


class FileReader:
    """A file of this process, read with ``pread`` (holes found with SEEK_DATA)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)

    def data_chunks(self, size: int, chunk_size: int) -> set[int]:
        return chunks_of_extents(list(data_extents(self.fd, size)), chunk_size)

    def read(self, offset: int, length: int) -> bytes:
        data = os.pread(self.fd, length, offset)
        if len(data) < length:
            data += bytes(length - len(data))
        return data

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class FileWriter:
    """A volume file of this process, written in place (zeros punched as holes)."""

    def __init__(self, path: Path) -> None:
        self.backing = BackingFile(path, read_only=False)
        self.backing.open()

    def write(self, offset: int, data: bytes, digest: bytes) -> None:
        # In-process: the caller checked ``digest`` against ``data`` already.
        self.backing.write(memoryview(data), offset)

    def zero(self, offset: int, length: int) -> None:
        self.backing.zero(offset, length)

    def flush(self) -> None:
        self.backing.flush()

    def close(self) -> None:
        self.backing.close()
