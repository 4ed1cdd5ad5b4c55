"""Target-level REPORT LUNS and commands to an absent LUN."""

from __future__ import annotations

import struct

from blockstore.scsi import ScsiCommand, lun_not_supported_result, report_luns_result

from .conftest import NEXUS_A, inquiry, sense_of


def _cmd(cdb: bytes) -> ScsiCommand:
    return ScsiCommand(cdb, NEXUS_A)


def report_luns(alloc: int, select: int = 0) -> bytes:
    return struct.pack(">BBBBBBIBB", 0xA0, 0, select, 0, 0, 0, alloc, 0, 0)


def test_report_luns_lists_luns_in_single_level_format() -> None:
    res = report_luns_result([3, 0, 300], _cmd(report_luns(4096)))
    data = bytes(res.data)
    assert struct.unpack(">I", data[:4])[0] == 24
    assert data[8:16] == bytes(8)
    assert data[16:18] == b"\x00\x03"
    assert data[24:26] == bytes((0x41, 0x2C))  # flat space addressing for 300


def test_report_luns_honours_the_allocation_length() -> None:
    res = report_luns_result([0, 1, 2], _cmd(report_luns(16)))
    assert len(res.data) == 16 and struct.unpack(">I", bytes(res.data[:4]))[0] == 24
    assert sense_of(report_luns_result([0], _cmd(report_luns(3))))[:2] == (0x05, 0x24)
    assert sense_of(report_luns_result([0], _cmd(report_luns(64, select=0x07))))[:2] == (5, 0x24)


def test_inquiry_on_a_missing_lun_has_qualifier_011b() -> None:
    res = lun_not_supported_result(_cmd(inquiry()))
    assert res.status == 0 and res.data[0] == 0x7F


def test_other_commands_on_a_missing_lun_fail_with_lun_not_supported() -> None:
    assert sense_of(lun_not_supported_result(_cmd(bytes(6)))) == (0x05, 0x25, 0x00)
    res = lun_not_supported_result(_cmd(bytes((0x03, 0, 0, 0, 18, 0))))
    assert res.status == 0 and res.data[2] == 0x05 and res.data[12] == 0x25
