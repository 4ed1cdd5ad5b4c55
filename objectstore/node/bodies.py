"""Object bodies: inline in the index when small, durable files when large.

A PUT body is received by a :class:`BodySink`: it is hashed (MD5) on the
way and kept in memory up to the inline threshold; past it, the bytes spill
to a temp file in the device's ``tmp/`` directory. A file body becomes
durable in Swift's order: write, fsync the file, rename it to its final
name, fsync the directory; only then is the index entry committed, so the
index never points at a body that a crash could lose.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets

TMP_DIR = "tmp"
_IOV_MAX = 1024
OBJECTS_DIR = "objects"


class BodySink:
    """Collects one PUT body; call :meth:`abort` on any failure path."""

    def __init__(self, root: str, threshold: int, *, fsync: bool = True) -> None:
        self.root = root
        self.threshold = threshold
        self.fsync = fsync
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self._buf: bytearray | None = bytearray()
        self._fd: int | None = None
        self.tmp_path: str | None = None

    @property
    def inline(self) -> bytes | None:
        """The whole body when it stayed under the threshold (else None)."""
        return bytes(self._buf) if self._buf is not None else None

    def write(self, chunk: bytes) -> None:
        self.md5.update(chunk)
        self.size += len(chunk)
        if self._buf is not None:
            if len(self._buf) + len(chunk) <= self.threshold:
                self._buf += chunk
                return
            self._spill()
        assert self._fd is not None  # spilled: the file takes every byte from now on
        _write_all(self._fd, chunk)

    def write_many(self, chunks: list[bytes]) -> None:
        """Hash and append a batch of chunks to the spilled file (blocking: run in a thread).

        One hand-off per batch instead of per socket read: the thread
        wake-ups cost more than the writes for small chunks. MD5 and the
        write both release the GIL, so the loop keeps receiving meanwhile.
        """
        assert self._fd is not None
        total = 0
        for chunk in chunks:
            self.md5.update(chunk)
            total += len(chunk)
        self.size += total
        written = os.writev(self._fd, chunks) if len(chunks) <= _IOV_MAX else 0
        if written < total:
            _write_all(self._fd, memoryview(b"".join(chunks))[written:])

    def _spill(self) -> None:
        tmp_dir = os.path.join(self.root, TMP_DIR)
        os.makedirs(tmp_dir, mode=0o700, exist_ok=True)
        self.tmp_path = os.path.join(tmp_dir, f"put-{secrets.token_hex(8)}")
        self._fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        assert self._buf is not None
        if self._buf:
            _write_all(self._fd, self._buf)
        self._buf = None

    @property
    def spilled(self) -> bool:
        """True once the body goes to a file (writes may block: use a thread)."""
        return self._fd is not None

    def spill(self) -> None:
        """Force the body into a file (a size that is known to be large)."""
        if self._buf is not None:
            self._spill()

    @property
    def etag(self) -> str:
        return self.md5.hexdigest()

    def commit_file(self, part: int, key_hex: str, ts_normal: str) -> str:
        """Make the spilled body durable under its final name (blocking: run in a thread).

        Returns the path relative to the device root, for the index entry.
        """
        assert self._fd is not None and self.tmp_path is not None
        if self.fsync:
            os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        rel = os.path.join(
            OBJECTS_DIR, str(part), f"{key_hex}.{ts_normal}.{secrets.token_hex(4)}.data"
        )
        final = os.path.join(self.root, rel)
        part_dir = os.path.dirname(final)
        new_dir = not os.path.isdir(part_dir)
        if new_dir:
            os.makedirs(part_dir, mode=0o700, exist_ok=True)
        os.rename(self.tmp_path, final)
        self.tmp_path = None
        if self.fsync:
            _fsync_dir(part_dir)
            if new_dir:
                _fsync_dir(os.path.dirname(part_dir))
        return rel

    def abort(self) -> None:
        """Drop whatever was received (the temp file included)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.tmp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp_path)
            self.tmp_path = None
        self._buf = None


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean_tmp(root: str) -> int:
    """Remove temp files left by a crash (at start-up, before serving)."""
    tmp_dir = os.path.join(root, TMP_DIR)
    removed = 0
    if os.path.isdir(tmp_dir):
        for name in os.listdir(tmp_dir):
            try:
                os.unlink(os.path.join(tmp_dir, name))
                removed += 1
            except OSError:
                pass
    return removed


def read_range(path: str, offset: int, count: int, chunk: int = 262144):
    """Yield ``count`` bytes of ``path`` from ``offset`` (blocking reads; use in a thread)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        while count > 0:
            data = os.pread(fd, min(chunk, count), offset)
            if not data:
                raise OSError(f"{path}: body file shorter than its index entry")
            offset += len(data)
            count -= len(data)
            yield data
    finally:
        os.close(fd)
