"""The in-process volume I/O the backup engine uses: ranges read with holes found, writes
in place, zeros punched as holes."""

from __future__ import annotations

import os
from pathlib import Path

from blockstore.backend.volumeio import FileReader, FileWriter, chunks_of_extents, range_digest

KiB = 1024


def test_chunks_of_extents_counts_every_chunk_an_extent_touches() -> None:
    assert chunks_of_extents([], 64 * KiB) == set()
    assert chunks_of_extents([(0, 1)], 64 * KiB) == {0}
    assert chunks_of_extents([(64 * KiB - 1, 64 * KiB + 1), (640 * KiB, 641 * KiB)], 64 * KiB) == {
        0,
        1,
        10,
    }


def test_reader_finds_data_chunks_and_pads_past_the_end(tmp_path: Path) -> None:
    path = tmp_path / "v.img"
    with open(path, "wb") as f:
        f.truncate(4 * 64 * KiB)
        f.seek(2 * 64 * KiB + 5)
        f.write(b"data")
    reader = FileReader(path)
    try:
        assert reader.data_chunks(4 * 64 * KiB, 64 * KiB) == {2}
        assert reader.read(2 * 64 * KiB, 16) == bytes(5) + b"data" + bytes(7)
        assert reader.read(4 * 64 * KiB - 2, 8) == bytes(8)  # past the end: zeros
    finally:
        reader.close()
    reader.close()  # twice is harmless


def test_writer_writes_in_place_and_punches_zeros(tmp_path: Path) -> None:
    path = tmp_path / "v.img"
    with open(path, "wb") as f:
        f.write(os.urandom(256 * KiB))
    writer = FileWriter(path)
    try:
        writer.write(0, b"new!", range_digest(b"new!"))
        writer.zero(64 * KiB, 128 * KiB)
        writer.flush()
    finally:
        writer.close()
    body = path.read_bytes()
    assert body[:4] == b"new!" and body[64 * KiB : 192 * KiB] == bytes(128 * KiB)
    assert len(body) == 256 * KiB
