"""The file backend: sizes, clones, snapshots, thick allocation, partial files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from blockstore.backend import FileBackend

MiB = 1024 * 1024


@pytest.fixture
def backend(tmp_path: Path) -> FileBackend:
    return FileBackend(tmp_path / "vols")


def test_create_is_sparse_and_thick_is_allocated(backend: FileBackend) -> None:
    backend.create_volume("a", 32 * MiB)
    backend.create_volume("b", 8 * MiB, thick=True)
    assert backend.volume_size("a") == 32 * MiB
    assert os.stat(backend.volume_path("a")).st_blocks == 0
    assert os.stat(backend.volume_path("b")).st_blocks * 512 >= 8 * MiB
    assert backend.stats().allocated >= 8 * MiB


def test_snapshot_keeps_old_bytes_and_clone_grows(backend: FileBackend) -> None:
    backend.create_volume("a", 4 * MiB)
    with open(backend.volume_path("a"), "r+b") as f:
        f.write(b"old")
    backend.snapshot_volume("a", "s")
    with open(backend.volume_path("a"), "r+b") as f:
        f.write(b"new")
    backend.clone_volume(backend.snapshot_path("s"), "c", 8 * MiB)
    assert backend.volume_path("c").read_bytes()[:3] == b"old"
    assert backend.volume_size("c") == 8 * MiB
    assert backend.last_clone_method in ("reflink", "copy")


def test_extend_never_shrinks(backend: FileBackend) -> None:
    backend.create_volume("a", 4 * MiB)
    backend.extend_volume("a", 8 * MiB)
    backend.extend_volume("a", 2 * MiB)
    assert backend.volume_size("a") == 8 * MiB


def test_failed_build_leaves_no_file(backend: FileBackend, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        backend.clone_volume(tmp_path / "missing", "x", MiB)
    assert backend.volume_size("x") is None
    assert list(backend.tmp.iterdir()) == []


def test_delete_is_idempotent_and_ids_are_checked(backend: FileBackend) -> None:
    backend.create_volume("a", MiB)
    backend.delete_volume("a")
    backend.delete_volume("a")
    assert backend.volume_size("a") is None
    for bad in ("", "../x", "a/b", ".."):
        with pytest.raises(ValueError):
            backend.volume_path(bad)


def test_configured_capacity(tmp_path: Path) -> None:
    b = FileBackend(tmp_path / "v", capacity_bytes=100 * MiB)
    b.create_volume("t", 10 * MiB, thick=True)
    stats = b.stats()
    assert stats.total == 100 * MiB and stats.free <= 90 * MiB
