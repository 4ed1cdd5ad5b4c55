"""Commands about the device as a whole: TEST UNIT READY, REQUEST SENSE, READ CAPACITY,
START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL and the LU's own REPORT LUNS."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from blockstore.scsi.cdb import u16, u32, u64
from blockstore.scsi.command import ScsiCommand, ScsiResult, allocation, good
from blockstore.scsi.constants import NO_ADDITIONAL_SENSE, Op, SenseKey
from blockstore.scsi.luns import report_luns_result
from blockstore.scsi.sense import Sense, invalid_cdb

if TYPE_CHECKING:
    from blockstore.scsi.unit import LogicalUnit


async def handle_test_unit_ready(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    return good()


async def handle_request_sense(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """With autosense there is no deferred sense; a pending unit attention is returned
    (and cleared), otherwise NO SENSE."""
    desc = bool(cmd.cdb[1] & 0x01)
    alloc = cmd.cdb[4]
    pending = lu.take_unit_attention(cmd.nexus)
    if pending is not None:
        sense = Sense(SenseKey.UNIT_ATTENTION, *pending)
    else:
        sense = Sense(SenseKey.NO_SENSE, *NO_ADDITIONAL_SENSE)
    return good(allocation(sense.encode(desc), alloc))


async def handle_read_capacity_10(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    cdb = cmd.cdb
    pmi = cdb[8] & 0x01
    if not pmi and u32(cdb, 2):
        raise invalid_cdb(2)
    last = lu.blocks - 1
    return good(struct.pack(">II", min(last, 0xFFFFFFFF), lu.block_size))


async def handle_read_capacity_16(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    cdb = cmd.cdb
    alloc = u32(cdb, 10)
    if not cdb[14] & 0x01 and u64(cdb, 2):
        raise invalid_cdb(2)
    # LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT stays 0: GET LBA STATUS answers
    # per logical block, and a larger exponent would suggest otherwise.
    lbp = (0x80 | 0x40) if lu.thin else 0  # LBPME, LBPRZ
    data = struct.pack(">QIBBBB", lu.blocks - 1, lu.block_size, 0, 0, lbp, 0)
    return good(allocation(data + bytes(16), alloc))


async def handle_start_stop_unit(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """A fixed disk that is always spinning: accepted, nothing to do.

    LOEJ on a non-removable medium and power conditions other than START_VALID
    are not supported.
    """
    cdb = cmd.cdb
    condition = cdb[4] >> 4
    if condition not in (0x0, 0x1, 0x2, 0x3, 0x7, 0xA, 0xB):
        raise invalid_cdb(4, 7)
    if condition == 0 and cdb[4] & 0x02:  # LOEJ: no medium to eject
        raise invalid_cdb(4, 1)
    return good()


async def handle_prevent_allow(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """Removal of a fixed medium cannot happen; prevention is recorded per nexus."""
    prevent = cmd.cdb[4] & 0x03
    if prevent not in (0, 1):
        raise invalid_cdb(4, 1)
    lu.set_prevent(cmd.nexus, bool(prevent))
    return good()


async def handle_read_defect_data(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """READ DEFECT DATA(10/12): a file has no grown or primary defects: empty lists."""
    cdb = cmd.cdb
    if cdb[0] == Op.READ_DEFECT_DATA_10:
        flags, alloc = cdb[2], u16(cdb, 7)
        data = struct.pack(">BBH", 0, flags & 0x1F, 0)
    else:
        flags, alloc = cdb[1], u32(cdb, 6)
        data = struct.pack(">BBHI", 0, flags & 0x1F, 0, 0)
    return good(allocation(data, alloc))


async def handle_report_luns(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """REPORT LUNS sent to this LU: the transport tells us the LUNs of the target."""
    return report_luns_result(lu.luns(), cmd)
