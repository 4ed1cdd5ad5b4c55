"""TEST UNIT READY, REQUEST SENSE, READ CAPACITY, START STOP, PREVENT ALLOW."""

from __future__ import annotations

import struct

from blockstore.scsi import LogicalUnit

from .conftest import BLOCKS, run, sense_of


async def test_read_capacity_10_and_16(lu: LogicalUnit) -> None:
    res = await run(lu, struct.pack(">BBIBBBB", 0x25, 0, 0, 0, 0, 0, 0))
    assert struct.unpack(">II", bytes(res.data)) == (BLOCKS - 1, 512)
    rc16 = struct.pack(">BBQIBB", 0x9E, 0x10, 0, 32, 0, 0)
    data = bytes((await run(lu, rc16)).data)
    assert len(data) == 32
    assert struct.unpack(">QI", data[:12]) == (BLOCKS - 1, 512)
    assert data[13] & 0x0F == 0  # one logical block per physical block
    assert data[14] & 0x80  # LBPME: thin


async def test_read_capacity_10_lba_without_pmi_is_invalid(lu: LogicalUnit) -> None:
    res = await run(lu, struct.pack(">BBIBBBB", 0x25, 0, 7, 0, 0, 0, 0))
    assert sense_of(res)[:2] == (0x05, 0x24)


async def test_request_sense_without_a_condition_is_no_sense(lu: LogicalUnit) -> None:
    res = await run(lu, bytes((0x03, 0, 0, 0, 252, 0)))
    assert res.status == 0 and res.data[0] == 0x70 and res.data[2] == 0
    res = await run(lu, bytes((0x03, 0x01, 0, 0, 252, 0)))  # DESC
    assert res.data[0] == 0x72


async def test_start_stop_and_prevent_allow_are_accepted(lu: LogicalUnit) -> None:
    assert (await run(lu, bytes((0x1B, 0, 0, 0, 0x01, 0)))).status == 0
    assert (await run(lu, bytes((0x1E, 0, 0, 0, 0x01, 0)))).status == 0
    assert (await run(lu, bytes((0x1E, 0, 0, 0, 0x00, 0)))).status == 0
    assert sense_of(await run(lu, bytes((0x1E, 0, 0, 0, 0x02, 0))))[:2] == (0x05, 0x24)


async def test_read_defect_data_reports_empty_lists(lu: LogicalUnit) -> None:
    rdd10 = struct.pack(">BBBxxxxHB", 0x37, 0, 0x18, 32, 0)
    data = bytes((await run(lu, rdd10)).data)
    assert data == bytes((0, 0x18, 0, 0))
    rdd12 = struct.pack(">BBxxxxIBB", 0xB7, 0x18, 32, 0, 0)
    assert bytes((await run(lu, rdd12)).data) == bytes((0, 0x18)) + bytes(6)
