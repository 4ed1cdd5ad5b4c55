"""REPORT SUPPORTED OPERATION CODES, generated from the opcode table."""

from __future__ import annotations

import struct

from blockstore.scsi import LogicalUnit
from blockstore.scsi.opcodes import TABLE

from .conftest import run, sense_of


def rsoc(options: int, op: int = 0, sa: int = 0, rctd: bool = False, alloc: int = 65535):
    return struct.pack(">BBBBHIBB", 0xA3, 0x0C, (0x80 if rctd else 0) | options, op, sa, alloc,
                       0, 0)  # fmt: skip


def _all(data: bytes, rctd: bool) -> list[tuple[int, int, int, int]]:
    length = struct.unpack(">I", data[:4])[0]
    out, at, step = [], 4, 20 if rctd else 8
    while at < 4 + length:
        op, sa, flags, cdb_len = struct.unpack(">BxHxBH", data[at : at + 8])
        out.append((op, sa, flags, cdb_len))
        if rctd:
            assert struct.unpack(">H", data[at + 8 : at + 10])[0] == 0x0A
        at += step
    return out


async def test_all_commands_lists_the_table(lu: LogicalUnit) -> None:
    listed = _all(bytes((await run(lu, rsoc(0))).data), rctd=False)
    assert len(listed) == len(TABLE.all())
    assert (0x28, 0, 0, 10) in listed  # READ(10)
    assert (0x9E, 0x10, 0x01, 16) in listed  # READ CAPACITY(16), SERVACTV
    for _op, sa, flags, _ in listed:
        assert flags & 0x01 or sa == 0
    with_timeouts = _all(bytes((await run(lu, rsoc(0, rctd=True))).data), rctd=True)
    assert all(flags & 0x02 for _, _, flags, _ in with_timeouts)


async def test_one_command_reports_usage_data_that_starts_with_the_opcode(lu) -> None:
    for command in TABLE.all():
        has_sa = command.sa is not None
        res = await run(lu, rsoc(2 if has_sa else 1, command.opcode, command.sa or 0))
        data = bytes(res.data)
        assert data[1] & 0x07 == 0x03, command.name
        size = struct.unpack(">H", data[2:4])[0]
        assert size == len(command.usage) and data[4] == command.opcode
        wrong = await run(lu, rsoc(1 if has_sa else 2, command.opcode, command.sa or 0))
        assert sense_of(wrong)[:2] == (0x05, 0x24), command.name


async def test_an_unknown_opcode_is_reported_as_not_supported(lu: LogicalUnit) -> None:
    data = bytes((await run(lu, rsoc(1, 0xC0))).data)
    assert data[1] & 0x07 == 0x01
