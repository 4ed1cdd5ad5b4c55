"""The data map a backend sends for a backup: a bitmap of the chunks that hold data."""

from __future__ import annotations

from blockstore.pool import wire


def test_bitmap_round_trip_and_bounds() -> None:
    found = {0, 7, 8, 63, 64, 1000}
    bits = wire.bitmap(found, 1001)
    assert len(bits) == 126 and bits[0] == 0x81 and bits[1] == 0x01
    assert wire.indexes(bits, 1001) == found
    assert wire.bitmap({5, 2000, -1}, 10) == bytes([0x20, 0])  # out of range: dropped
    assert wire.indexes(b"\xff\xff", 10) == set(range(10))  # bits past count ignored
    assert wire.bitmap(set(), 0) == b"" and wire.indexes(b"", 0) == set()
