"""iSCSI PDUs (RFC 7143 section 11): the 48-byte Basic Header Segment and builders.

Every PDU starts with the same BHS shape: four single bytes (opcode, flags,
two opcode-specific bytes), TotalAHSLength + DataSegmentLength in one word,
an 8-byte LUN-or-ISID field, and eight 32-bit words at offsets 16..44. One
``struct`` call parses or packs the whole header; handlers read the words
under the names RFC 7143 gives them for their opcode.
"""

from __future__ import annotations

import struct
from enum import IntEnum

BHS_LEN = 48
RESERVED_TAG = 0xFFFFFFFF
MAX_DATA_SEGMENT = (1 << 24) - 1
_BHS = struct.Struct(">BBBBI8s8I")


class Op(IntEnum):
    """Opcodes: initiator PDUs below 0x20, target PDUs from 0x20."""

    NOP_OUT = 0x00
    SCSI_COMMAND = 0x01
    TASK_MGMT = 0x02
    LOGIN = 0x03
    TEXT = 0x04
    DATA_OUT = 0x05
    LOGOUT = 0x06
    SNACK = 0x10
    NOP_IN = 0x20
    SCSI_RESPONSE = 0x21
    TASK_MGMT_RESPONSE = 0x22
    LOGIN_RESPONSE = 0x23
    TEXT_RESPONSE = 0x24
    DATA_IN = 0x25
    LOGOUT_RESPONSE = 0x26
    R2T = 0x31
    ASYNC = 0x32
    REJECT = 0x3F


class RejectReason(IntEnum):
    DATA_DIGEST_ERROR = 0x02
    SNACK_REJECT = 0x03
    PROTOCOL_ERROR = 0x04
    COMMAND_NOT_SUPPORTED = 0x05
    IMMEDIATE_COMMAND_REJECT = 0x06
    TASK_IN_PROGRESS = 0x07
    INVALID_DATA_ACK = 0x08
    INVALID_PDU_FIELD = 0x09
    LONG_OP_REJECT = 0x0A
    WAITING_FOR_LOGOUT = 0x0C


class TmfFunction(IntEnum):
    ABORT_TASK = 1
    ABORT_TASK_SET = 2
    CLEAR_ACA = 3
    CLEAR_TASK_SET = 4
    LOGICAL_UNIT_RESET = 5
    TARGET_WARM_RESET = 6
    TARGET_COLD_RESET = 7
    TASK_REASSIGN = 8


class TmfResponse(IntEnum):
    FUNCTION_COMPLETE = 0
    TASK_DOES_NOT_EXIST = 1
    LUN_DOES_NOT_EXIST = 2
    TASK_STILL_ALLEGIANT = 3
    REASSIGNMENT_NOT_SUPPORTED = 4
    NOT_SUPPORTED = 5
    AUTHORIZATION_FAILED = 6
    REJECTED = 255


class AsyncEvent(IntEnum):
    SCSI_EVENT = 0
    REQUEST_LOGOUT = 1
    DROP_CONNECTION = 2
    DROP_ALL_CONNECTIONS = 3
    REQUEST_NEGOTIATION = 4


# Flag bits of byte 1.
F_FINAL = 0x80
F_CONTINUE = 0x40  # Login, Text
F_TRANSIT = 0x80  # Login
F_READ = 0x40  # SCSI Command
F_WRITE = 0x20  # SCSI Command
F_OVERFLOW = 0x04  # SCSI Response, Data-In
F_UNDERFLOW = 0x02
F_STATUS = 0x01  # Data-In: status collapsed into the last PDU
IMMEDIATE = 0x40  # byte 0


class Pdu:
    """A received PDU: its parsed BHS words, AHS bytes and data segment.

    ``f16``..``f44`` are the 32-bit words at those byte offsets; each
    handler names them as RFC 7143 does for its opcode (for a SCSI Command,
    ``f20`` is the Expected Data Transfer Length and ``f24`` the CmdSN).
    """

    __slots__ = (
        "ahs",
        "ahs_len",
        "b2",
        "b3",
        "data",
        "dlen",
        "f16",
        "f20",
        "f24",
        "f28",
        "f32",
        "f36",
        "f40",
        "f44",
        "flags",
        "immediate",
        "lun",
        "opcode",
        "raw",
    )

    def __init__(self, raw: bytes) -> None:
        if len(raw) != BHS_LEN:
            raise ValueError("a BHS is 48 bytes")
        (b0, self.flags, self.b2, self.b3, lengths, self.lun, *words) = _BHS.unpack(raw)
        self.raw = raw
        self.opcode = b0 & 0x3F
        self.immediate = bool(b0 & IMMEDIATE)
        self.ahs_len = (lengths >> 24) * 4
        self.dlen = lengths & 0xFFFFFF
        (self.f16, self.f20, self.f24, self.f28, self.f32, self.f36, self.f40, self.f44) = words
        self.ahs = b""
        self.data: bytes | memoryview = b""

    @property
    def itt(self) -> int:
        return self.f16

    def __repr__(self) -> str:
        name = Op(self.opcode).name if self.opcode in Op._value2member_map_ else hex(self.opcode)
        return f"<Pdu {name} itt={self.f16:#x} dlen={self.dlen}>"


def pad_len(n: int) -> int:
    """Bytes of padding after a data segment of ``n`` bytes (to a 4-byte boundary)."""
    return -n & 3


def pack(
    opcode: int,
    flags: int = F_FINAL,
    b2: int = 0,
    b3: int = 0,
    dlen: int = 0,
    lun: bytes = bytes(8),
    f16: int = RESERVED_TAG,
    f20: int = 0,
    f24: int = 0,
    f28: int = 0,
    f32: int = 0,
    f36: int = 0,
    f40: int = 0,
    f44: int = 0,
    ahs_words: int = 0,
) -> bytes:
    """One BHS from its fields (words by byte offset, as :class:`Pdu` reads them)."""
    return _BHS.pack(
        opcode,
        flags,
        b2,
        b3,
        (ahs_words << 24) | dlen,
        lun,
        f16,
        f20,
        f24,
        f28,
        f32,
        f36,
        f40,
        f44,
    )


def encode_lun(lun: int) -> bytes:
    """SAM single-level LUN: peripheral (< 256) or flat space (< 16384) addressing."""
    if lun < 256:
        return bytes((0, lun, 0, 0, 0, 0, 0, 0))
    return bytes((0x40 | (lun >> 8), lun & 0xFF, 0, 0, 0, 0, 0, 0))


def decode_lun(field: bytes) -> int | None:
    """The LUN of an 8-byte LUN field, or None for addressing we do not serve."""
    method = field[0] >> 6
    if method == 0 and field[0] == 0:
        return field[1]
    if method == 1:
        return ((field[0] & 0x3F) << 8) | field[1]
    return None


def extended_cdb(pdu: Pdu) -> bytes:
    """The CDB of a SCSI Command, with an Extended CDB AHS (type 1) appended when present."""
    cdb = pdu.raw[32:48]
    ahs = pdu.ahs
    pos = 0
    while pos + 4 <= len(ahs):
        length = int.from_bytes(ahs[pos : pos + 2], "big")
        kind = ahs[pos + 2]
        if kind == 1 and length > 1:  # a reserved byte, then the CDB bytes past 16
            return cdb + bytes(ahs[pos + 4 : pos + 3 + length])
        pos += (3 + length + 3) & ~3
    return cdb


def bidi_read_length(pdu: Pdu) -> int | None:
    """The Bidirectional Read Expected Data Transfer Length AHS (type 2), if any."""
    ahs = pdu.ahs
    pos = 0
    while pos + 4 <= len(ahs):
        length = int.from_bytes(ahs[pos : pos + 2], "big")
        if ahs[pos + 2] == 2 and length == 5 and pos + 8 <= len(ahs):
            return int.from_bytes(ahs[pos + 4 : pos + 8], "big")
        pos += (3 + length + 3) & ~3
    return None
