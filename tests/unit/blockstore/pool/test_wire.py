"""The data map a backend sends for a backup: a bitmap of the chunks that hold data."""

from __future__ import annotations

from pathlib import Path

from blockstore.pool import wire


def test_bitmap_round_trip_and_bounds() -> None:
    found = {0, 7, 8, 63, 64, 1000}
    bits = wire.bitmap(found, 1001)
    assert len(bits) == 126 and bits[0] == 0x81 and bits[1] == 0x01
    assert wire.indexes(bits, 1001) == found
    assert wire.bitmap({5, 2000, -1}, 10) == bytes([0x20, 0])  # out of range: dropped
    assert wire.indexes(b"\xff\xff", 10) == set(range(10))  # bits past count ignored
    assert wire.bitmap(set(), 0) == b"" and wire.indexes(b"", 0) == set()


def test_content_digest_ignores_allocation_but_not_bytes(tmp_path: Path) -> None:
    """A live migration's two copies compare equal when they read the same, whether the
    zeros are holes or written; one changed byte, or another size, differs."""
    chunk = 64 * 1024
    sparse, dense = tmp_path / "sparse", tmp_path / "dense"
    with sparse.open("wb") as f:
        f.truncate(16 * chunk)
        f.seek(5 * chunk + 3)
        f.write(b"data")
    body = bytearray(16 * chunk)
    body[5 * chunk + 3 : 5 * chunk + 7] = b"data"
    dense.write_bytes(bytes(body))
    digest = wire.content_digest(sparse, chunk)
    assert digest == wire.content_digest(dense, chunk)
    with dense.open("r+b") as f:
        f.seek(15 * chunk + 1)
        f.write(b"\x01")
    assert wire.content_digest(dense, chunk) != digest
    with sparse.open("r+b") as f:
        f.truncate(17 * chunk)
    assert wire.content_digest(sparse, chunk) != digest
