"""WRITE SAME, UNMAP and GET LBA STATUS against a real sparse file."""

from __future__ import annotations

import os
import struct

import pytest

from blockstore.scsi import LogicalUnit

from .conftest import BLOCKS, make_file, read10, run, sense_of, write10

# 4 KiB filesystem blocks hold 8 logical blocks: keep tests on those boundaries.


def ws10(lba: int, blocks: int, flags: int = 0) -> bytes:
    return struct.pack(">BBIBHB", 0x41, flags, lba, 0, blocks, 0)


def ws16(lba: int, blocks: int, flags: int = 0) -> bytes:
    return struct.pack(">BBQIBB", 0x93, flags, lba, blocks, 0, 0)


def unmap_list(*ranges: tuple[int, int]) -> bytes:
    descs = b"".join(struct.pack(">QI4x", lba, n) for lba, n in ranges)
    return struct.pack(">HH4x", len(descs) + 6, len(descs)) + descs


def unmap(length: int) -> bytes:
    return struct.pack(">BBIBHB", 0x42, 0, 0, 0, length, 0)


def get_lba_status(lba: int, alloc: int = 4096) -> bytes:
    return struct.pack(">BBQIBB", 0x9E, 0x12, lba, alloc, 0, 0)


def allocated(path: str) -> int:
    return os.stat(path).st_blocks * 512


async def test_write_same_repeats_one_block(lu: LogicalUnit) -> None:
    block = bytes(range(256)) * 2
    assert (await run(lu, ws10(16, 40), block)).status == 0
    data = bytes((await run(lu, read10(16, 40))).data)
    assert data == block * 40
    assert bytes((await run(lu, read10(56, 1))).data) == bytes(512)


async def test_write_same_with_unmap_punches_a_hole(lu: LogicalUnit) -> None:
    await run(lu, write10(0, 256), b"\xff" * 256 * 512)
    before = allocated(lu.path)
    res = await run(lu, ws16(0, 256, flags=0x08), b"\xff" * 512)  # UNMAP, any data
    assert res.status == 0
    assert bytes((await run(lu, read10(0, 256))).data) == bytes(256 * 512)
    assert allocated(lu.path) < before


async def test_write_same_ndob_zeroes_without_data(lu: LogicalUnit) -> None:
    await run(lu, write10(8, 8), b"\x01" * 8 * 512)
    assert (await run(lu, ws16(8, 8, flags=0x08 | 0x01))).status == 0
    assert bytes((await run(lu, read10(8, 8))).data) == bytes(8 * 512)


async def test_write_same_field_checks(lu: LogicalUnit) -> None:
    one = bytes(512)
    assert sense_of(await run(lu, ws10(0, 0), one))[:2] == (0x05, 0x24)  # WSNZ
    assert sense_of(await run(lu, ws10(0, 1, flags=0x10), one))[:2] == (0x05, 0x24)  # ANCHOR
    assert sense_of(await run(lu, ws10(BLOCKS, 1), one)) == (0x05, 0x21, 0x00)
    assert sense_of(await run(lu, ws10(0, 1), bytes(256)))[:2] == (0x05, 0x24)  # short
    assert sense_of(await run(lu, ws10(0, 1), bytes(1024)))[:2] == (0x05, 0x24)  # long


async def test_unmap_deallocates_and_reads_zero(lu: LogicalUnit) -> None:
    await run(lu, write10(0, 64), b"a" * 64 * 512)
    params = unmap_list((0, 16), (32, 16), (100, 0))
    assert (await run(lu, unmap(len(params)), params)).status == 0
    data = bytes((await run(lu, read10(0, 64))).data)
    assert data == bytes(16 * 512) + b"a" * 16 * 512 + bytes(16 * 512) + b"a" * 16 * 512


async def test_unmap_validates_the_whole_list_before_acting(lu: LogicalUnit) -> None:
    await run(lu, write10(0, 8), b"a" * 8 * 512)
    params = unmap_list((0, 8), (BLOCKS - 1, 2))
    assert sense_of(await run(lu, unmap(len(params)), params)) == (0x05, 0x21, 0x00)
    assert bytes((await run(lu, read10(0, 8))).data) == b"a" * 8 * 512
    assert sense_of(await run(lu, unmap(4), b"\x00" * 4)) == (0x05, 0x1A, 0x00)
    bad = bytearray(unmap_list((0, 8)))
    bad[3] = 15  # descriptor data length not a multiple of 16
    assert sense_of(await run(lu, unmap(len(bad)), bytes(bad)))[:2] == (0x05, 0x26)
    assert (await run(lu, unmap(0))).status == 0
    empty = unmap_list()
    assert (await run(lu, unmap(len(empty)), empty)).status == 0


def _descriptors(data: bytes) -> list[tuple[int, int, int]]:
    length = struct.unpack(">I", data[:4])[0]
    out = []
    for at in range(8, 4 + length, 16):
        lba, n, status = struct.unpack(">QIB", data[at : at + 13])
        out.append((lba, n, status & 0x0F))
    return out


async def test_get_lba_status_maps_written_and_punched_runs(lu: LogicalUnit) -> None:
    await run(lu, write10(64, 64), b"m" * 64 * 512)
    descs = _descriptors(bytes((await run(lu, get_lba_status(0))).data))
    assert descs == [(0, 64, 1), (64, 64, 0), (128, BLOCKS - 128, 1)]
    params = unmap_list((80, 16))
    await run(lu, unmap(len(params)), params)
    descs = _descriptors(bytes((await run(lu, get_lba_status(70))).data))
    assert descs[:3] == [(70, 10, 0), (80, 16, 1), (96, 32, 0)]


async def test_get_lba_status_honours_allocation_and_range(lu: LogicalUnit) -> None:
    await run(lu, write10(64, 8), b"m" * 8 * 512)
    data = bytes((await run(lu, get_lba_status(0, alloc=24))).data)
    assert len(data) == 24 and _descriptors(data)[:1] == [(0, 64, 1)]
    assert sense_of(await run(lu, get_lba_status(BLOCKS))) == (0x05, 0x21, 0x00)
    assert sense_of(await run(lu, get_lba_status(2**64 - 1))) == (0x05, 0x21, 0x00)


@pytest.fixture
async def thick(tmp_path):
    unit = LogicalUnit(make_file(tmp_path / "thick.img"), thin=False)
    await unit.open()
    yield unit
    await unit.close()


async def test_a_thick_unit_refuses_unmap(thick: LogicalUnit) -> None:
    params = unmap_list((0, 8))
    assert sense_of(await run(thick, unmap(len(params)), params)) == (0x05, 0x20, 0x00)
    assert sense_of(await run(thick, ws10(0, 8, flags=0x08), bytes(512)))[:2] == (0x05, 0x24)
    assert (await run(thick, ws10(0, 8), bytes(512))).status == 0


async def test_write_same_of_zeros_without_unmap_stays_mapped(lu: LogicalUnit) -> None:
    await run(lu, write10(0, 16), b"z" * 16 * 512)
    assert (await run(lu, ws10(0, 16), bytes(512))).status == 0
    assert bytes((await run(lu, read10(0, 16))).data) == bytes(16 * 512)
    assert _descriptors(bytes((await run(lu, get_lba_status(0))).data))[0] == (0, 16, 0)


def sanitize(sa: int, length: int = 0, flags: int = 0) -> bytes:
    return struct.pack(">BB5xHB", 0x48, flags | sa, length, 0)


async def test_sanitize_block_erase_deallocates_everything(lu: LogicalUnit) -> None:
    await run(lu, write10(0, 16), b"s" * 16 * 512)
    await run(lu, write10(BLOCKS - 16, 16), b"s" * 16 * 512)
    assert (await run(lu, sanitize(0x02))).status == 0
    assert _descriptors(bytes((await run(lu, get_lba_status(0))).data)) == [(0, BLOCKS, 1)]
    assert bytes((await run(lu, read10(BLOCKS - 16, 16))).data) == bytes(16 * 512)
    assert os.path.getsize(lu.path) == BLOCKS * 512


async def test_sanitize_field_checks(lu: LogicalUnit) -> None:
    assert sense_of(await run(lu, sanitize(0x02, length=8), bytes(8)))[:2] == (0x05, 0x24)
    assert sense_of(await run(lu, sanitize(0x02, flags=0x40)))[:2] == (0x05, 0x24)
    for sa in (0x00, 0x01, 0x03, 0x04, 0x1E):
        assert sense_of(await run(lu, sanitize(sa)))[:2] == (0x05, 0x24)
    assert (await run(lu, sanitize(0x1F))).status == 0
    bad = bytearray(sanitize(0x02))
    bad[4] = 4
    assert sense_of(await run(lu, bytes(bad)))[:2] == (0x05, 0x24)


async def test_thick_units_neither_serve_nor_report_unmap_or_sanitize(thick) -> None:
    assert sense_of(await run(thick, sanitize(0x02)))[:2] == (0x05, 0x24)
    rsoc_all = struct.pack(">BBBBHIBB", 0xA3, 0x0C, 0, 0, 0, 65535, 0, 0)
    data = bytes((await run(thick, rsoc_all)).data)
    ops = {data[i] for i in range(4, len(data), 8)}
    assert 0x42 not in ops and 0x48 not in ops and 0x2A in ops
    one = struct.pack(">BBBBHIBB", 0xA3, 0x0C, 1, 0x42, 0, 65535, 0, 0)
    assert bytes((await run(thick, one)).data)[1] & 0x07 == 0x01
