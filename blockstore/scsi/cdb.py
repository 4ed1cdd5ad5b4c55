"""Decoding of command descriptor blocks shared by several handlers."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from blockstore.scsi.sense import ScsiError, invalid_cdb

Bytes = bytes | bytearray | memoryview  # a CDB, or a parameter list read in place

# CDB length by group code (SPC-4 4.2.5.1); None: vendor specific or variable.
_GROUP_LENGTH = {0: 6, 1: 10, 2: 10, 3: None, 4: 16, 5: 12, 6: None, 7: None}


def cdb_length(opcode: int) -> int | None:
    return _GROUP_LENGTH[opcode >> 5]


def u16(cdb: Bytes, at: int) -> int:
    return struct.unpack_from(">H", cdb, at)[0]


def u32(cdb: Bytes, at: int) -> int:
    return struct.unpack_from(">I", cdb, at)[0]


def u64(cdb: Bytes, at: int) -> int:
    return struct.unpack_from(">Q", cdb, at)[0]


@dataclass(frozen=True)
class Rw:
    """The addressing fields of a READ/WRITE/VERIFY-style CDB."""

    lba: int
    blocks: int
    flags: int  # byte 1 (protect field, DPO, FUA, BYTCHK ...)
    len_at: int  # byte offset of the transfer length field (for the field pointer)

    @property
    def protect(self) -> int:
        return self.flags >> 5

    @property
    def fua(self) -> bool:
        return bool(self.flags & 0x08)


def rw6(cdb: bytes) -> Rw:
    lba = ((cdb[1] & 0x1F) << 16) | u16(cdb, 2)
    return Rw(lba, cdb[4] or 256, 0, 4)


def rw10(cdb: bytes) -> Rw:
    return Rw(u32(cdb, 2), u16(cdb, 7), cdb[1], 7)


def rw12(cdb: bytes) -> Rw:
    return Rw(u32(cdb, 2), u32(cdb, 6), cdb[1], 6)


def rw16(cdb: bytes) -> Rw:
    return Rw(u64(cdb, 2), u32(cdb, 10), cdb[1], 10)


_DECODERS = {6: rw6, 10: rw10, 12: rw12, 16: rw16}


def decode_rw(cdb: bytes) -> Rw:
    """Decode the LBA / length fields of any READ, WRITE or VERIFY size."""
    size = cdb_length(cdb[0])
    assert size is not None
    return _DECODERS[size](cdb)


def require_zero_protect(rw: Rw) -> None:
    """We format without protection information: any *PROTECT field must be 0."""
    if rw.protect:
        raise invalid_cdb(1, 7)


def check_control(cdb: bytes, size: int) -> None:
    """NACA (ACA) is not supported; the LINK bit is obsolete."""
    control = cdb[size - 1]
    if control & 0x04:
        raise invalid_cdb(size - 1, 2)
    if control & 0x01:
        raise invalid_cdb(size - 1, 0)


def too_short() -> ScsiError:
    return invalid_cdb(0)
