"""INQUIRY: standard data and the vital product data pages (SPC-4 6.6, 7.8; SBC-3 6.6)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from blockstore.scsi.cdb import u16
from blockstore.scsi.command import ScsiCommand, ScsiResult, allocation, good
from blockstore.scsi.sense import invalid_cdb

if TYPE_CHECKING:
    from blockstore.scsi.unit import LogicalUnit

TYPE_DISK = 0x00
PROTOCOL_ISCSI = 0x5

# Version descriptors (SPC-4 table 143): SAM-5, SPC-4, SBC-3, iSCSI (no version).
_VERSION_DESCRIPTORS = (0x00A0, 0x0460, 0x04C0, 0x0960)

# Limits advertised in the block limits page and enforced by the handlers.
MAX_TRANSFER_BYTES = 8 << 20
OPTIMAL_TRANSFER_BYTES = 1 << 20
MAX_COMPARE_AND_WRITE_BLOCKS = 128
MAX_UNMAP_DESCRIPTORS = 256
MAX_UNMAP_BLOCKS = 0xFFFFFFFF
MAX_WRITE_SAME_BLOCKS = 0xFFFF  # larger ranges: UNMAP, or several commands


def _ascii(text: str, size: int) -> bytes:
    raw = text.encode("ascii", "replace")[:size]
    return raw.ljust(size, b" ")


def standard_inquiry(lu: LogicalUnit) -> bytes:
    """Standard INQUIRY data: a direct-access block device, SPC-4, HISUP, CMDQUE."""
    out = bytearray(74)
    out[0] = TYPE_DISK
    out[1] = 0  # RMB: not removable
    out[2] = 0x06  # VERSION: SPC-4
    out[3] = 0x10 | 0x02  # HISUP, RESPONSE DATA FORMAT 2
    out[4] = len(out) - 5
    out[6] = 0
    out[7] = 0x02  # CMDQUE
    out[8:16] = _ascii(lu.vendor, 8)
    out[16:32] = _ascii(lu.product, 16)
    out[32:36] = _ascii(lu.revision, 4)
    for i, desc in enumerate(_VERSION_DESCRIPTORS):
        struct.pack_into(">H", out, 58 + 2 * i, desc)
    return bytes(out)


def _vpd(code: int, body: bytes) -> bytes:
    return struct.pack(">BBH", TYPE_DISK, code, len(body)) + body


def _supported_pages(lu: LogicalUnit, cmd: ScsiCommand) -> bytes:
    return _vpd(0x00, bytes(sorted(VPD_PAGES)))


def _unit_serial(lu: LogicalUnit, cmd: ScsiCommand) -> bytes:
    return _vpd(0x80, lu.serial.encode("ascii"))


def _designator(code_set: int, assoc_type: int, value: bytes, protocol: int = 0) -> bytes:
    """One designation descriptor; ``assoc_type`` is byte 1 (PIV, ASSOCIATION, TYPE)."""
    piv = 0x80 if protocol else 0
    return bytes(((protocol << 4) | code_set, piv | assoc_type, 0, len(value))) + value


def _name_string(name: str) -> bytes:
    """A SCSI name string: UTF-8, NUL-terminated, padded to a multiple of 4."""
    raw = name.encode("utf-8") + b"\x00"
    return raw + bytes(-len(raw) % 4)


def _device_identification(lu: LogicalUnit, cmd: ScsiCommand) -> bytes:
    nexus = cmd.nexus
    target_name = nexus.target_port.split(",", 1)[0]
    descs = [
        # Logical unit: NAA IEEE Registered Extended (binary), and T10 vendor ID.
        _designator(0x1, 0x03, lu.device_id),
        _designator(0x2, 0x01, _ascii(lu.vendor, 8) + lu.serial.encode("ascii")),
        # Target port: relative target port and the port's SCSI name string.
        _designator(0x1, 0x14, struct.pack(">HH", 0, nexus.relative_port), PROTOCOL_ISCSI),
        _designator(0x3, 0x18, _name_string(nexus.target_port), PROTOCOL_ISCSI),
        # Target device: its iSCSI name.
        _designator(0x3, 0x28, _name_string(target_name), PROTOCOL_ISCSI),
    ]
    return _vpd(0x83, b"".join(descs))


def _block_limits(lu: LogicalUnit, cmd: ScsiCommand) -> bytes:
    bs = lu.block_size
    thin = lu.thin
    body = struct.pack(
        ">BBHIIIIIII",
        0x01,  # WSNZ: a WRITE SAME of zero blocks is refused
        MAX_COMPARE_AND_WRITE_BLOCKS,
        max(1, 4096 // bs),  # optimal transfer length granularity
        MAX_TRANSFER_BYTES // bs,
        OPTIMAL_TRANSFER_BYTES // bs,
        0,  # maximum prefetch length
        MAX_UNMAP_BLOCKS if thin else 0,
        MAX_UNMAP_DESCRIPTORS if thin else 0,
        max(1, 4096 // bs) if thin else 0,  # optimal unmap granularity
        0,  # unmap granularity alignment (UGAVALID 0)
    )
    body += struct.pack(">Q", MAX_WRITE_SAME_BLOCKS) + bytes(20)
    return _vpd(0xB0, body)


def _block_characteristics(lu: LogicalUnit, cmd: ScsiCommand) -> bytes:
    # MEDIUM ROTATION RATE 1: non-rotating. WABEREQ 01b: after a SANITIZE BLOCK
    # ERASE, reads succeed (and return zeros).
    wabereq = 0x40 if lu.thin else 0
    return _vpd(0xB1, struct.pack(">HBB", 1, 0, wabereq) + bytes(56))


def _logical_block_provisioning(lu: LogicalUnit, cmd: ScsiCommand) -> bytes:
    if lu.thin:
        flags = 0x80 | 0x40 | 0x20 | 0x04  # LBPU, LBPWS, LBPWS10, LBPRZ
        ptype = 0x02  # thin provisioned
    else:
        flags, ptype = 0, 0
    return _vpd(0xB2, bytes((0, flags, ptype, 0)))


# Every page is made from the unit and the command (device identification names the port).
VPD_PAGES: dict[int, Callable[[LogicalUnit, ScsiCommand], bytes]] = {
    0x00: _supported_pages,
    0x80: _unit_serial,
    0x83: _device_identification,
    0xB0: _block_limits,
    0xB1: _block_characteristics,
    0xB2: _logical_block_provisioning,
}


async def handle_inquiry(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    cdb = cmd.cdb
    alloc = u16(cdb, 3)
    if cdb[1] & 0x02:  # CMDDT is obsolete
        raise invalid_cdb(1, 1)
    if not cdb[1] & 0x01:
        if cdb[2]:
            raise invalid_cdb(2)
        return good(allocation(standard_inquiry(lu), alloc))
    page = VPD_PAGES.get(cdb[2])
    if page is None:
        raise invalid_cdb(2)
    data = page(lu, cmd)
    return good(allocation(data, alloc))
