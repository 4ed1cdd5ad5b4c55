"""Target-level answers that need no logical unit: REPORT LUNS and absent LUNs."""

from __future__ import annotations

import struct

from blockstore.scsi.cdb import u32
from blockstore.scsi.command import ScsiCommand, ScsiResult, allocation, error_result, good
from blockstore.scsi.constants import LOGICAL_UNIT_NOT_SUPPORTED, Op, SenseKey, Status
from blockstore.scsi.sense import ScsiError, Sense, check, invalid_cdb

# SELECT REPORT values we answer: all LUNs (00h), well-known (01h, none), all (02h).
_SELECT_REPORT = {0x00, 0x01, 0x02, 0x10, 0x11, 0x12}


def encode_lun(lun: int) -> bytes:
    """SAM-5 single-level LUN: peripheral (< 256) or flat space (< 16384) addressing."""
    if not 0 <= lun < 16384:
        raise ValueError(f"LUN {lun} cannot be encoded in single-level format")
    if lun < 256:
        return bytes((0, lun)) + bytes(6)
    return bytes((0x40 | (lun >> 8), lun & 0xFF)) + bytes(6)


def report_luns_result(luns: list[int], cmd: ScsiCommand) -> ScsiResult:
    """REPORT LUNS for a target holding ``luns`` (the ALLOCATION LENGTH is honoured)."""
    cdb = cmd.cdb
    try:
        if len(cdb) < 12:
            raise invalid_cdb(0)
        select = cdb[2]
        if select not in _SELECT_REPORT:
            raise invalid_cdb(2)
        alloc = u32(cdb, 6)
        if alloc < 4:  # SPC-4: an allocation length below 4 is an error
            raise invalid_cdb(6)
        listed = [] if select in (0x01, 0x11) else sorted(set(luns))
        body = b"".join(encode_lun(lun) for lun in listed)
        data = struct.pack(">II", len(body), 0) + body
        return good(allocation(data, alloc))
    except ScsiError as err:
        return error_result(err)


def lun_not_supported_result(cmd: ScsiCommand) -> ScsiResult:
    """A command addressed to a LUN the target does not have (SPC-4 4.6.4.1)."""
    op = cmd.cdb[0] if cmd.cdb else -1
    if op == Op.INQUIRY:
        if cmd.cdb[1] & 0x01:  # no VPD pages for a missing LU
            return error_result(invalid_cdb(1, 0))
        data = bytearray(36)
        data[0] = (0b011 << 5) | 0x1F  # not capable of a LU here; unknown device type
        data[2] = 0x06
        data[3] = 0x12
        data[4] = len(data) - 5
        alloc = struct.unpack_from(">H", cmd.cdb, 3)[0]
        return good(allocation(data, alloc))
    if op == Op.REPORT_LUNS:
        return report_luns_result([], cmd)
    if op == Op.REQUEST_SENSE:
        pair = LOGICAL_UNIT_NOT_SUPPORTED
        sense = Sense(SenseKey.ILLEGAL_REQUEST, *pair).encode(bool(cmd.cdb[1] & 0x01))
        return good(allocation(sense, cmd.cdb[4]))
    err = check(SenseKey.ILLEGAL_REQUEST, LOGICAL_UNIT_NOT_SUPPORTED)
    result = error_result(err)
    assert result.status == Status.CHECK_CONDITION
    return result
