"""Sense data (SPC-4 4.5) and the exception that carries it out of a handler.

Handlers raise :class:`ScsiError`; the logical unit turns it into a CHECK
CONDITION with fixed-format (70h) or descriptor-format (72h) sense data, so
every error of the command set is built and encoded in this one place.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from blockstore.scsi.constants import (
    INVALID_FIELD_IN_CDB,
    INVALID_FIELD_IN_PARAMETER_LIST,
    LBA_OUT_OF_RANGE,
    PARAMETER_LIST_LENGTH_ERROR,
    WRITE_PROTECTED,
    SenseKey,
    Status,
)

FIXED_CURRENT = 0x70
DESCRIPTOR_CURRENT = 0x72


@dataclass(frozen=True)
class Sense:
    """One sense condition: key, ASC/ASCQ, and the optional fields around them."""

    key: int
    asc: int
    ascq: int
    info: int | None = None  # INFORMATION field (e.g. miscompare offset)
    sks: bytes | None = None  # 3 bytes of sense-key specific data, SKSV set

    def encode(self, descriptor: bool = False) -> bytes:
        """Fixed format by default; descriptor format when D_SENSE is set."""
        if descriptor:
            return self._descriptor()
        out = bytearray(18)
        out[0] = FIXED_CURRENT
        out[2] = self.key & 0x0F
        if self.info is not None:
            out[0] |= 0x80  # VALID: the INFORMATION field means something
            struct.pack_into(">I", out, 3, self.info & 0xFFFFFFFF)
        out[7] = 10  # additional sense length
        out[12] = self.asc
        out[13] = self.ascq
        if self.sks is not None:
            out[15:18] = self.sks
        return bytes(out)

    def _descriptor(self) -> bytes:
        body = bytearray()
        if self.info is not None:
            body += bytes((0x00, 0x0A, 0x80, 0)) + struct.pack(">Q", self.info)
        if self.sks is not None:
            body += bytes((0x02, 0x06, 0, 0)) + self.sks + b"\x00"
        head = bytes((DESCRIPTOR_CURRENT, self.key & 0x0F, self.asc, self.ascq, 0, 0, 0, len(body)))
        return head + bytes(body)


class ScsiError(Exception):
    """A command ends with a status other than GOOD (usually CHECK CONDITION)."""

    def __init__(self, sense: Sense | None, status: int = Status.CHECK_CONDITION) -> None:
        super().__init__(sense)
        self.sense = sense
        self.status = status


def check(key: int, pair: tuple[int, int], *, info: int | None = None) -> ScsiError:
    """A CHECK CONDITION with the given sense key and (ASC, ASCQ)."""
    return ScsiError(Sense(key, pair[0], pair[1], info=info))


def field_pointer(byte: int, bit: int | None = None, *, in_cdb: bool = True) -> bytes:
    """Sense-key specific FIELD POINTER bytes (SPC-4 4.5.2.4.2)."""
    first = 0x80 | (0x40 if in_cdb else 0)
    if bit is not None:
        first |= 0x08 | (bit & 0x07)
    return bytes((first, (byte >> 8) & 0xFF, byte & 0xFF))


def invalid_cdb(byte: int, bit: int | None = None) -> ScsiError:
    """ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at the bad field."""
    asc, ascq = INVALID_FIELD_IN_CDB
    return ScsiError(Sense(SenseKey.ILLEGAL_REQUEST, asc, ascq, sks=field_pointer(byte, bit)))


def invalid_param(byte: int, bit: int | None = None) -> ScsiError:
    """ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST, pointing at the bad field."""
    asc, ascq = INVALID_FIELD_IN_PARAMETER_LIST
    sks = field_pointer(byte, bit, in_cdb=False)
    return ScsiError(Sense(SenseKey.ILLEGAL_REQUEST, asc, ascq, sks=sks))


def param_list_length_error() -> ScsiError:
    return check(SenseKey.ILLEGAL_REQUEST, PARAMETER_LIST_LENGTH_ERROR)


def lba_out_of_range() -> ScsiError:
    return check(SenseKey.ILLEGAL_REQUEST, LBA_OUT_OF_RANGE)


def write_protected() -> ScsiError:
    return check(SenseKey.DATA_PROTECT, WRITE_PROTECTED)


def reservation_conflict() -> ScsiError:
    return ScsiError(None, Status.RESERVATION_CONFLICT)


def decode(sense: bytes) -> tuple[int, int, int]:
    """(key, ASC, ASCQ) of fixed or descriptor sense data; for tests and logs."""
    if not sense:
        raise ValueError("empty sense data")
    code = sense[0] & 0x7F
    if code in (0x70, 0x71):
        return sense[2] & 0x0F, sense[12], sense[13]
    if code in (0x72, 0x73):
        return sense[1] & 0x0F, sense[2], sense[3]
    raise ValueError(f"unknown sense response code {code:#x}")
