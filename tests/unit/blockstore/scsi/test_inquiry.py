"""INQUIRY standard data and VPD pages."""

from __future__ import annotations

import struct

from blockstore.scsi import LogicalUnit

from .conftest import inquiry, run, sense_of


async def test_standard_inquiry_describes_a_disk(lu: LogicalUnit) -> None:
    data = bytes((await run(lu, inquiry())).data)
    assert data[0] == 0x00 and data[2] == 0x06 and data[3] & 0x0F == 2
    assert data[4] == len(data) - 5
    assert data[8:16] == b"STRATUS " and data[16:32] == b"VOLUME".ljust(16)
    assert data[7] & 0x02  # CMDQUE


async def test_allocation_length_truncates(lu: LogicalUnit) -> None:
    assert len((await run(lu, inquiry(alloc=5))).data) == 5


async def test_page_code_without_evpd_is_invalid(lu: LogicalUnit) -> None:
    res = await run(lu, inquiry(False, 0x80))
    assert sense_of(res) == (0x05, 0x24, 0x00)
    assert res.sense[15] & 0xC0 == 0xC0 and res.sense[17] == 2


async def test_supported_pages_lists_every_page_it_serves(lu: LogicalUnit) -> None:
    data = bytes((await run(lu, inquiry(True, 0x00))).data)
    pages = list(data[4 : 4 + data[3]])
    assert pages == [0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2]
    for page in pages:
        body = bytes((await run(lu, inquiry(True, page))).data)
        assert body[1] == page
        assert struct.unpack(">H", body[2:4])[0] == len(body) - 4


async def test_unit_serial_number(lu: LogicalUnit) -> None:
    data = bytes((await run(lu, inquiry(True, 0x80))).data)
    assert data[4:] == b"vol-0001"


def _designators(page: bytes) -> list[tuple[int, int, bytes]]:
    out, at = [], 4
    while at < len(page):
        length = page[at + 3]
        out.append((page[at] & 0x0F, page[at + 1], page[at + 4 : at + 4 + length]))
        at += 4 + length
    return out


async def test_device_identification_has_naa6_and_target_port(lu: LogicalUnit) -> None:
    page = bytes((await run(lu, inquiry(True, 0x83))).data)
    found = _designators(page)
    naa = [v for cs, b1, v in found if b1 & 0x3F == 0x03]
    assert len(naa) == 1 and len(naa[0]) == 16 and naa[0][0] >> 4 == 6
    assert naa[0] == lu.device_id
    rel = [v for cs, b1, v in found if b1 & 0x3F == 0x14]
    assert rel == [b"\x00\x00\x00\x01"]
    names = [v.rstrip(b"\x00") for cs, b1, v in found if b1 & 0x3F == 0x18]
    assert names == [b"iqn.2024-01.test:t,t,0x0001"]


async def test_block_limits_and_provisioning_when_thin(lu: LogicalUnit) -> None:
    b0 = bytes((await run(lu, inquiry(True, 0xB0))).data)
    assert b0[4] & 0x01  # WSNZ
    max_xfer = struct.unpack(">I", b0[8:12])[0]
    assert max_xfer * 512 == 8 << 20
    assert struct.unpack(">I", b0[24:28])[0] > 0  # unmap descriptors
    b1 = bytes((await run(lu, inquiry(True, 0xB1))).data)
    assert b1[4:6] == b"\x00\x01"  # non-rotating
    b2 = bytes((await run(lu, inquiry(True, 0xB2))).data)
    assert b2[5] & 0xE0 == 0xE0 and b2[6] & 0x07 == 2
