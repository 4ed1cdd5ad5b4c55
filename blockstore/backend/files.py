"""The file backend: one sparse file per volume and per snapshot under one directory.

Layout under ``root``: ``volumes/<id>.img``, ``snapshots/<id>.img`` and
``tmp/``. Every file is built under ``tmp/`` and renamed into place only
once complete and fsynced (the directory too), so after a crash a final
name always means finished bytes: the manager's reconcile relies on that.
Snapshots and clones are reflinks where the filesystem allows, copies that
keep holes where it does not. Thick volumes are fully allocated
(``posix_fallocate``); thin ones are sparse. Every method blocks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from blockstore.backend.copy import clone_file
from blockstore.backend.volumeio import FileReader, FileWriter
from stratus import durable
from stratus.private import private_dir

GiB = 1024**3


@dataclass(frozen=True)
class BackendStats:
    """Bytes the backend may hand out: filesystem (or configured) total and free."""

    total: int
    free: int
    allocated: int  # bytes the volume and snapshot files really use


class FileBackend:
    """Volumes as files; names are the manager's ids (checked, never paths)."""

    def __init__(self, root: str | Path, *, capacity_bytes: int = 0) -> None:
        self.root = Path(root)
        self.volumes = self.root / "volumes"
        self.snapshots = self.root / "snapshots"
        self.tmp = self.root / "tmp"
        for d in (self.volumes, self.snapshots, self.tmp):
            private_dir(d)  # 0700, missing parents too
        # A volume's rename into volumes/ is synced there; the directories themselves
        # must keep their names through a power cut too (strict POSIX).
        durable.sync_entries(self.root, levels=2)
        self.capacity_bytes = capacity_bytes
        self.last_clone_method = ""

    # -- names -------------------------------------------------------------------

    @staticmethod
    def _check_id(ident: str) -> str:
        if not ident or "/" in ident or ident in (".", "..") or "\0" in ident:
            raise ValueError(f"bad backend id {ident!r}")
        return ident

    def volume_path(self, volume_id: str) -> Path:
        return self.volumes / f"{self._check_id(volume_id)}.img"

    def snapshot_path(self, snapshot_id: str) -> Path:
        return self.snapshots / f"{self._check_id(snapshot_id)}.img"

    def _tmp_path(self, final: Path) -> Path:
        return self.tmp / f"{final.parent.name}-{final.name}.part"

    # -- creation ------------------------------------------------------------------

    def create_volume(self, volume_id: str, size: int, thick: bool = False) -> None:
        """A new volume of ``size`` bytes reading as zeros."""
        final = self.volume_path(volume_id)
        self._build(final, lambda fd: self._size(fd, size, thick))

    def clone_volume(self, source: Path, volume_id: str, size: int, *, thick: bool = False) -> str:
        """A new volume holding ``source``'s bytes, grown to ``size``; returns how it copied."""
        final = self.volume_path(volume_id)
        method = ""

        def fill(fd: int) -> None:
            nonlocal method
            with open(source, "rb") as src:
                method = clone_file(src.fileno(), fd)
            self._size(fd, max(size, os.fstat(fd).st_size), thick)

        self._build(final, fill)
        self.last_clone_method = method
        return method

    def snapshot_volume(self, volume_id: str, snapshot_id: str) -> str:
        """The snapshot file: the volume's bytes as of now."""
        final = self.snapshot_path(snapshot_id)
        method = ""

        def fill(fd: int) -> None:
            nonlocal method
            with open(self.volume_path(volume_id), "rb") as src:
                method = clone_file(src.fileno(), fd)

        self._build(final, fill)
        self.last_clone_method = method
        return method

    def _build(self, final: Path, fill: Callable[[int], None]) -> None:
        tmp = self._tmp_path(final)
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            fill(fd)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.rename(tmp, final)
        _fsync_dir(final.parent)

    def open_partial_volume(self, volume_id: str) -> tuple[int, Path]:
        """A new, empty partial file for a volume filled from elsewhere (an image)."""
        tmp = self._tmp_path(self.volume_path(volume_id))
        return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600), tmp

    def commit_partial_volume(
        self, volume_id: str, fd: int, size: int, thick: bool = False
    ) -> None:
        """Size, sync and rename a partial file into place (closes ``fd``)."""
        try:
            self._size(fd, max(size, os.fstat(fd).st_size), thick)
            os.fsync(fd)
        finally:
            os.close(fd)
        final = self.volume_path(volume_id)
        os.rename(self._tmp_path(final), final)
        _fsync_dir(final.parent)

    @staticmethod
    def _size(fd: int, size: int, thick: bool) -> None:
        os.ftruncate(fd, size)
        if thick and size:
            os.posix_fallocate(fd, 0, size)

    # -- changes -------------------------------------------------------------------

    def extend_volume(self, volume_id: str, size: int, thick: bool = False) -> None:
        """Grow a volume to ``size`` bytes (never shrinks)."""
        fd = os.open(self.volume_path(volume_id), os.O_RDWR | os.O_CLOEXEC)
        try:
            if os.fstat(fd).st_size < size:
                self._size(fd, size, thick)
            os.fsync(fd)
        finally:
            os.close(fd)

    def delete_volume(self, volume_id: str) -> None:
        _unlink(self.volume_path(volume_id))
        _unlink(self._tmp_path(self.volume_path(volume_id)))

    def delete_snapshot(self, snapshot_id: str) -> None:
        _unlink(self.snapshot_path(snapshot_id))
        _unlink(self._tmp_path(self.snapshot_path(snapshot_id)))

    def discard_partial_volume(self, volume_id: str) -> None:
        """Drop what an interrupted create left under ``tmp/``."""
        _unlink(self._tmp_path(self.volume_path(volume_id)))

    def discard_partial_snapshot(self, snapshot_id: str) -> None:
        _unlink(self._tmp_path(self.snapshot_path(snapshot_id)))

    # -- bytes by range (backups and restores) ---------------------------------------

    def volume_reader(self, volume_id: str) -> FileReader:
        return FileReader(self.volume_path(volume_id))

    def snapshot_reader(self, snapshot_id: str) -> FileReader:
        return FileReader(self.snapshot_path(snapshot_id))

    def volume_writer(self, volume_id: str) -> FileWriter:
        return FileWriter(self.volume_path(volume_id))

    # -- facts ---------------------------------------------------------------------

    def volume_size(self, volume_id: str) -> int | None:
        """Bytes of the volume's file, or None when it does not exist."""
        try:
            return self.volume_path(volume_id).stat().st_size
        except FileNotFoundError:
            return None

    def snapshot_exists(self, snapshot_id: str) -> bool:
        return self.snapshot_path(snapshot_id).exists()

    def stats(self) -> BackendStats:
        fs = os.statvfs(self.root)
        total = self.capacity_bytes or fs.f_blocks * fs.f_frsize
        free = fs.f_bavail * fs.f_frsize
        allocated = 0
        for d in (self.volumes, self.snapshots):
            with os.scandir(d) as it:
                for entry in it:
                    with contextlib.suppress(FileNotFoundError):
                        allocated += entry.stat().st_blocks * 512
        if self.capacity_bytes:
            free = min(free, max(0, total - allocated))
        return BackendStats(total=total, free=free, allocated=allocated)

    def clean_tmp(self) -> None:
        """Remove every partial file (at start-up, before anything is in flight)."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
        durable.fsync_dir(self.root)  # the new tmp/ is there after a power cut


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
