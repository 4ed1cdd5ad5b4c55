"""MODE SENSE and MODE SELECT."""

from __future__ import annotations

import struct

from blockstore.scsi import LogicalUnit

from .conftest import NEXUS_B, run, sense_of, write10


def sense6(page: int, pc: int = 0, dbd: bool = False, alloc: int = 255) -> bytes:
    return bytes((0x1A, 0x08 if dbd else 0, (pc << 6) | page, 0, alloc, 0))


def sense10(page: int, pc: int = 0, llbaa: bool = False, alloc: int = 1024) -> bytes:
    return struct.pack(">BBBBBBBHB", 0x5A, 0x10 if llbaa else 0, (pc << 6) | page, 0, 0, 0, 0,
                       alloc, 0)  # fmt: skip


def _pages(body: bytes) -> dict[int, bytes]:
    out, at = {}, 0
    while at < len(body):
        out[body[at] & 0x3F] = body[at : at + 2 + body[at + 1]]
        at += 2 + body[at + 1]
    return out


async def test_mode_sense_6_all_pages_with_block_descriptor(lu: LogicalUnit) -> None:
    data = bytes((await run(lu, sense6(0x3F))).data)
    assert data[0] == len(data) - 1 and data[3] == 8
    assert struct.unpack(">I", data[4:8])[0] == lu.blocks
    assert struct.unpack(">I", data[8:12])[0] & 0xFFFFFF == 512
    pages = _pages(data[12:])
    assert set(pages) == {0x01, 0x08, 0x0A, 0x1C}
    assert pages[0x08][2] & 0x04  # WCE


async def test_mode_sense_10_long_lba_descriptor(lu: LogicalUnit) -> None:
    data = bytes((await run(lu, sense10(0x08, llbaa=True))).data)
    assert struct.unpack(">H", data[:2])[0] == len(data) - 2
    assert data[4] & 0x01 and struct.unpack(">H", data[6:8])[0] == 16
    assert struct.unpack(">Q", data[8:16])[0] == lu.blocks


async def test_saved_values_are_not_supported(lu: LogicalUnit) -> None:
    assert sense_of(await run(lu, sense6(0x08, pc=3))) == (0x05, 0x39, 0x00)


async def test_changeable_values_show_wce(lu: LogicalUnit) -> None:
    data = bytes((await run(lu, sense6(0x08, pc=1, dbd=True))).data)
    assert data[4 + 2] == 0x04


async def test_mode_select_clears_wce_and_tells_other_nexuses(lu: LogicalUnit) -> None:
    await run(lu, bytes(6), nexus=NEXUS_B)
    page = bytearray(_pages(bytes((await run(lu, sense6(0x08, dbd=True))).data)[4:])[0x08])
    page[2] &= ~0x04
    params = bytes(4) + bytes(page)
    res = await run(lu, bytes((0x15, 0x10, 0, 0, len(params), 0)), params)
    assert res.status == 0 and not lu.mode.wce
    assert (await run(lu, write10(0, 1), b"w" * 512)).status == 0  # write-through path
    assert sense_of(await run(lu, bytes(6), nexus=NEXUS_B)) == (0x06, 0x2A, 0x01)


async def test_mode_select_refuses_changes_to_unchangeable_bits(lu: LogicalUnit) -> None:
    page = bytearray(_pages(bytes((await run(lu, sense6(0x0A, dbd=True))).data)[4:])[0x0A])
    page[3] ^= 0x10  # queue algorithm modifier is not changeable
    params = bytes(4) + bytes(page)
    res = await run(lu, bytes((0x15, 0x10, 0, 0, len(params), 0)), params)
    assert sense_of(res) == (0x05, 0x26, 0x00)
    assert res.sense[15] & 0xC0 == 0x80 and res.sense[17] == 4 + 3


async def test_software_write_protect_through_the_control_page(lu: LogicalUnit) -> None:
    page = bytearray(_pages(bytes((await run(lu, sense6(0x0A, dbd=True))).data)[4:])[0x0A])
    page[4] |= 0x08  # SWP
    params = bytes(4) + bytes(page)
    assert (await run(lu, bytes((0x15, 0x10, 0, 0, len(params), 0)), params)).status == 0
    assert sense_of(await run(lu, write10(0, 1), bytes(512))) == (0x07, 0x27, 0x02)
    data = bytes((await run(lu, sense6(0x0A))).data)
    assert data[2] & 0x80  # WP in the device-specific parameter
    page[4] &= ~0x08
    params = bytes(4) + bytes(page)
    assert (await run(lu, bytes((0x15, 0x10, 0, 0, len(params), 0)), params)).status == 0
    assert (await run(lu, write10(0, 1), bytes(512))).status == 0
