from __future__ import annotations

import json
import struct
import sys
from array import array
from pathlib import Path

import pytest
import xxhash

from ring import Device, RingFileError
from ring.ringfile import (
    FORMAT_VERSION,
    MAGIC,
    RingData,
    decode,
    encode,
    read_ring_file,
    write_ring_file,
)


def _data(part_power: int = 4, replicas: int = 3) -> RingData:
    devices = [Device(i * 2, 1, i, f"10.0.0.{i}", 6200, "d0", 1.0) for i in range(replicas)]
    parts = 1 << part_power
    table = [array("H", [(p + r) % replicas for p in range(parts)]) for r in range(replicas)]
    return RingData(part_power, replicas, devices, table, ring_version=7)


def _reseal(body: bytes) -> bytes:
    """Recompute the trailing checksum, as a well-meaning but wrong writer would."""
    return body + struct.pack("<Q", xxhash.xxh3_64_intdigest(body))


def test_round_trip(tmp_path: Path) -> None:
    data = _data()
    write_ring_file(tmp_path / "x.ring", data)
    back = read_ring_file(tmp_path / "x.ring")
    assert (back.part_power, back.replicas, back.ring_version) == (4, 3, 7)
    assert back.devices == data.devices
    assert back.table == data.table
    assert not list(tmp_path.glob(".*tmp"))  # no temp files left behind


def test_layout_is_magic_version_header_table_check() -> None:
    blob = encode(_data())
    assert blob.startswith(MAGIC)
    version, flags, hlen = struct.unpack_from("<HHI", blob, len(MAGIC))
    assert (version, flags) == (FORMAT_VERSION, 0)
    header = json.loads(blob[16 : 16 + hlen])
    assert header["part_power"] == 4
    assert len(blob) == 16 + hlen + 3 * 16 * 2 + 8


def test_newer_version_is_refused_clearly() -> None:
    blob = bytearray(encode(_data()))
    struct.pack_into("<H", blob, len(MAGIC), FORMAT_VERSION + 1)
    with pytest.raises(RingFileError, match="newer"):
        decode(bytes(blob))
    # even when the rest of the file is something we cannot parse at all
    with pytest.raises(RingFileError, match="newer"):
        decode(MAGIC + struct.pack("<HHI", 9, 0, 0) + b"\x00" * 64)


@pytest.mark.parametrize("cut", [0, 5, 15, 100, -9, -1])
def test_truncated_files_are_refused(cut: int) -> None:
    blob = encode(_data())
    with pytest.raises(RingFileError):
        decode(blob[:cut])


def test_every_flipped_byte_is_caught() -> None:
    blob = encode(_data(part_power=2, replicas=2))
    for i in range(len(blob)):
        broken = bytearray(blob)
        broken[i] ^= 0x41
        with pytest.raises(RingFileError):
            decode(bytes(broken))


def test_bad_magic() -> None:
    with pytest.raises(RingFileError, match="magic"):
        decode(b"NOTARING" + encode(_data())[8:])


def test_table_naming_unknown_device_is_refused_even_with_a_good_checksum() -> None:
    data = _data()
    data.table[1][3] = 9  # only 3 devices listed
    with pytest.raises(RingFileError, match="not listed"):
        decode(encode(data))


def test_header_problems_are_refused() -> None:
    good = encode(_data())
    hlen = struct.unpack_from("<I", good, 12)[0]
    header = json.loads(good[16 : 16 + hlen])
    table = good[16 + hlen : -8]
    for change in ({"part_power": -1}, {"replicas": 0}, {"devices": []}, {"devices": [{"id": 1}]}):
        bad = dict(header, **change)
        raw = json.dumps(bad).encode()
        body = MAGIC + struct.pack("<HHI", FORMAT_VERSION, 0, len(raw)) + raw + table
        with pytest.raises(RingFileError):
            decode(_reseal(body))
    raw = b"{not json"
    body = MAGIC + struct.pack("<HHI", FORMAT_VERSION, 0, len(raw)) + raw + table
    with pytest.raises(RingFileError, match="JSON"):
        decode(_reseal(body))


def test_table_size_must_match_header() -> None:
    blob = encode(_data())
    with pytest.raises(RingFileError, match="table size"):
        decode(_reseal(blob[:-10]))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RingFileError, match="cannot read"):
        read_ring_file(tmp_path / "nope.ring")


@pytest.mark.parametrize("limit", [1, 2, 255, 256, 257, 1000, 65535, 65536])
def test_indexes_below(limit: int) -> None:
    from ring.ringfile import indexes_below

    values = sorted({0, limit - 1, limit // 2, max(0, limit - 256), min(limit - 1, 255)})
    ok = array("H", values * 3).tobytes() if sys.byteorder == "little" else None
    if ok is None:
        pytest.skip("little-endian host assumed by this test's packing")
    assert indexes_below(ok, limit)
    if limit <= 0xFFFF:
        for bad in {limit, limit + 1, (limit | 0xFF) + 1, 0xFFFF} - {0x10000, 0x10001}:
            if bad <= 0xFFFF:
                assert not indexes_below(array("H", [*values, bad]).tobytes(), limit)
