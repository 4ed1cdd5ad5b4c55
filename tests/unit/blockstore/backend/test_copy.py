"""Copies keep holes; reflink is used where the filesystem has it."""

from __future__ import annotations

import os
from pathlib import Path

from blockstore.backend.copy import clone_file, data_extents

MiB = 1024 * 1024


def sparse_file(path: Path) -> None:
    with open(path, "wb") as f:
        f.truncate(64 * MiB)
        f.seek(1 * MiB)
        f.write(b"a" * MiB)
        f.seek(40 * MiB)
        f.write(b"b" * 4096)


def test_clone_is_identical_and_stays_sparse(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    sparse_file(src)
    with open(src, "rb") as s, open(dst, "wb") as d:
        method = clone_file(s.fileno(), d.fileno())
    assert method in ("reflink", "copy")
    assert src.read_bytes() == dst.read_bytes()
    # Much less than 64 MiB is allocated: the holes were not written.
    assert os.stat(dst).st_blocks * 512 < 8 * MiB


def test_data_extents_skip_holes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    sparse_file(src)
    with open(src, "rb") as f:
        runs = list(data_extents(f.fileno(), 64 * MiB))
    covered = sum(end - start for start, end in runs)
    assert covered < 8 * MiB
    assert any(start <= 1 * MiB < end for start, end in runs)
    assert any(start <= 40 * MiB < end for start, end in runs)


def test_empty_source(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(b"")
    with open(src, "rb") as s, open(dst, "wb") as d:
        clone_file(s.fileno(), d.fileno())
    assert dst.read_bytes() == b""
