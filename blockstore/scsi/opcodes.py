"""The opcode table: every command the logical unit serves, in one place.

Each entry names its handler, its CDB usage data (reported by REPORT
SUPPORTED OPERATION CODES), how persistent reservations treat it, and
whether unit attentions pass it by. Dispatch, RSOC and the compatibility
matrix in docs/scsi.md are all generated from this table, so they cannot
drift apart.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from blockstore.scsi import device, inquiry, media, mode, provisioning, reservations
from blockstore.scsi.cdb import u16, u32
from blockstore.scsi.command import ScsiCommand, ScsiResult, allocation, good
from blockstore.scsi.constants import (
    MI_REPORT_SUPPORTED_OPERATION_CODES,
    SAI_GET_LBA_STATUS,
    SAI_READ_CAPACITY_16,
    Op,
)
from blockstore.scsi.sense import invalid_cdb

if TYPE_CHECKING:
    from blockstore.scsi.unit import LogicalUnit

Handler = Callable[["LogicalUnit", ScsiCommand], Awaitable[ScsiResult]]

# How a persistent reservation held by another I_T nexus treats a command
# (SPC-4 table 53): ALLOWED always, READ conflicts under the exclusive-access
# types, WRITE conflicts under every type (registrants pass the RO/AR types).
ALLOWED, READ, WRITE = "allowed", "read", "write"


@dataclass(frozen=True)
class Command:
    opcode: int
    name: str
    handler: Handler
    usage: bytes  # CDB usage data; its length is the CDB length
    sa: int | None = None  # service action, for opcodes that have them
    access: str | Callable[[bytes], str] = ALLOWED
    ua_exempt: bool = False  # INQUIRY, REPORT LUNS, REQUEST SENSE (SPC-4 5.14)
    thin_only: bool = False  # served (and reported) only by thin-provisioned LUs
    legacy_ok: bool = False  # passes another nexus's RESERVE(6/10) reservation

    def access_for(self, cdb: bytes) -> str:
        return self.access(cdb) if callable(self.access) else self.access


def _u(*fields: int) -> bytes:
    return bytes(fields)


F4, F8 = (0xFF,) * 4, (0xFF,) * 8


def _start_stop_access(cdb: bytes) -> str:
    return ALLOWED if cdb[4] & 0x01 else WRITE


def _prevent_access(cdb: bytes) -> str:
    return WRITE if cdb[4] & 0x03 else ALLOWED


COMMANDS: list[Command] = [
    Command(Op.TEST_UNIT_READY, "TEST UNIT READY", device.handle_test_unit_ready,
            _u(0, 0, 0, 0, 0, 0)),
    Command(Op.REQUEST_SENSE, "REQUEST SENSE", device.handle_request_sense,
            _u(0x03, 0x01, 0, 0, 0xFF, 0), ua_exempt=True, legacy_ok=True),
    Command(Op.INQUIRY, "INQUIRY", inquiry.handle_inquiry, _u(0x12, 0x01, 0xFF, 0xFF, 0xFF, 0),
            ua_exempt=True, legacy_ok=True),
    Command(Op.REPORT_LUNS, "REPORT LUNS", device.handle_report_luns,
            _u(0xA0, 0, 0xFF, 0, 0, 0, *F4, 0, 0), ua_exempt=True, legacy_ok=True),
    Command(Op.READ_CAPACITY_10, "READ CAPACITY(10)", device.handle_read_capacity_10,
            _u(0x25, 0, *F4, 0, 0, 0x01, 0)),
    Command(0x9E, "READ CAPACITY(16)", device.handle_read_capacity_16,
            _u(0x9E, 0x1F, *F8, *F4, 0x01, 0), sa=SAI_READ_CAPACITY_16),
    Command(Op.READ_6, "READ(6)", media.handle_read, _u(0x08, 0x1F, 0xFF, 0xFF, 0xFF, 0),
            access=READ),
    Command(Op.READ_10, "READ(10)", media.handle_read, _u(0x28, 0x18, *F4, 0, 0xFF, 0xFF, 0),
            access=READ),
    Command(Op.READ_12, "READ(12)", media.handle_read, _u(0xA8, 0x18, *F4, *F4, 0, 0),
            access=READ),
    Command(Op.READ_16, "READ(16)", media.handle_read, _u(0x88, 0x18, *F8, *F4, 0, 0),
            access=READ),
    Command(Op.WRITE_6, "WRITE(6)", media.handle_write, _u(0x0A, 0x1F, 0xFF, 0xFF, 0xFF, 0),
            access=WRITE),
    Command(Op.WRITE_10, "WRITE(10)", media.handle_write, _u(0x2A, 0x18, *F4, 0, 0xFF, 0xFF, 0),
            access=WRITE),
    Command(Op.WRITE_12, "WRITE(12)", media.handle_write, _u(0xAA, 0x18, *F4, *F4, 0, 0),
            access=WRITE),
    Command(Op.WRITE_16, "WRITE(16)", media.handle_write, _u(0x8A, 0x18, *F8, *F4, 0, 0),
            access=WRITE),
    Command(Op.WRITE_AND_VERIFY_10, "WRITE AND VERIFY(10)", media.handle_write,
            _u(0x2E, 0x12, *F4, 0, 0xFF, 0xFF, 0), access=WRITE),
    Command(Op.WRITE_AND_VERIFY_16, "WRITE AND VERIFY(16)", media.handle_write,
            _u(0x8E, 0x12, *F8, *F4, 0, 0), access=WRITE),
    Command(Op.VERIFY_10, "VERIFY(10)", media.handle_verify,
            _u(0x2F, 0x16, *F4, 0, 0xFF, 0xFF, 0), access=READ),
    Command(Op.WRITE_AND_VERIFY_12, "WRITE AND VERIFY(12)", media.handle_write,
            _u(0xAE, 0x12, *F4, *F4, 0, 0), access=WRITE),
    Command(Op.VERIFY_12, "VERIFY(12)", media.handle_verify, _u(0xAF, 0x16, *F4, *F4, 0, 0),
            access=READ),
    Command(Op.ORWRITE_16, "ORWRITE(16)", media.handle_orwrite, _u(0x8B, 0x18, *F8, *F4, 0, 0),
            access=WRITE),
    Command(Op.PRE_FETCH_10, "PRE-FETCH(10)", media.handle_prefetch,
            _u(0x34, 0x02, *F4, 0, 0xFF, 0xFF, 0), access=READ),
    Command(Op.PRE_FETCH_16, "PRE-FETCH(16)", media.handle_prefetch,
            _u(0x90, 0x02, *F8, *F4, 0, 0), access=READ),
    Command(Op.READ_DEFECT_DATA_10, "READ DEFECT DATA(10)", device.handle_read_defect_data,
            _u(0x37, 0, 0x1F, 0, 0, 0, 0, 0xFF, 0xFF, 0), access=READ),
    Command(Op.READ_DEFECT_DATA_12, "READ DEFECT DATA(12)", device.handle_read_defect_data,
            _u(0xB7, 0x1F, 0, 0, 0, 0, *F4, 0, 0), access=READ),
    Command(Op.VERIFY_16, "VERIFY(16)", media.handle_verify, _u(0x8F, 0x16, *F8, *F4, 0, 0),
            access=READ),
    Command(Op.COMPARE_AND_WRITE, "COMPARE AND WRITE", media.handle_compare_and_write,
            _u(0x89, 0x18, *F8, 0, 0, 0, 0xFF, 0, 0), access=WRITE),
    Command(Op.SYNCHRONIZE_CACHE_10, "SYNCHRONIZE CACHE(10)", media.handle_synchronize_cache,
            _u(0x35, 0x02, *F4, 0, 0xFF, 0xFF, 0), access=WRITE),
    Command(Op.SYNCHRONIZE_CACHE_16, "SYNCHRONIZE CACHE(16)", media.handle_synchronize_cache,
            _u(0x91, 0x02, *F8, *F4, 0, 0), access=WRITE),
    Command(Op.MODE_SENSE_6, "MODE SENSE(6)", mode.handle_mode_sense,
            _u(0x1A, 0x08, 0xFF, 0xFF, 0xFF, 0), access=READ),
    Command(Op.MODE_SENSE_10, "MODE SENSE(10)", mode.handle_mode_sense,
            _u(0x5A, 0x18, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0), access=READ),
    Command(Op.MODE_SELECT_6, "MODE SELECT(6)", mode.handle_mode_select,
            _u(0x15, 0x11, 0, 0, 0xFF, 0), access=WRITE),
    Command(Op.MODE_SELECT_10, "MODE SELECT(10)", mode.handle_mode_select,
            _u(0x55, 0x11, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0), access=WRITE),
    Command(Op.START_STOP_UNIT, "START STOP UNIT", device.handle_start_stop_unit,
            _u(0x1B, 0x01, 0, 0x0F, 0xF7, 0), access=_start_stop_access),
    Command(Op.PREVENT_ALLOW_MEDIUM_REMOVAL, "PREVENT ALLOW MEDIUM REMOVAL",
            device.handle_prevent_allow, _u(0x1E, 0, 0, 0, 0x03, 0), access=_prevent_access),
    Command(Op.WRITE_SAME_10, "WRITE SAME(10)", provisioning.handle_write_same,
            _u(0x41, 0x08, *F4, 0, 0xFF, 0xFF, 0), access=WRITE),
    Command(Op.WRITE_SAME_16, "WRITE SAME(16)", provisioning.handle_write_same,
            _u(0x93, 0x09, *F8, *F4, 0, 0), access=WRITE),
    Command(Op.UNMAP, "UNMAP", provisioning.handle_unmap, _u(0x42, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0),
            access=WRITE, thin_only=True),
    Command(Op.SANITIZE, "SANITIZE / BLOCK ERASE", provisioning.handle_sanitize,
            _u(0x48, 0x9F, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0), sa=provisioning.SANITIZE_BLOCK_ERASE,
            access=WRITE, thin_only=True),
    Command(Op.SANITIZE, "SANITIZE / EXIT FAILURE MODE", provisioning.handle_sanitize,
            _u(0x48, 0x9F, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0),
            sa=provisioning.SANITIZE_EXIT_FAILURE_MODE, access=WRITE, thin_only=True),
    Command(0x9E, "GET LBA STATUS", provisioning.handle_get_lba_status,
            _u(0x9E, 0x1F, *F8, *F4, 0, 0), sa=SAI_GET_LBA_STATUS, access=READ),
    Command(Op.RESERVE_6, "RESERVE(6)", reservations.handle_reserve, _u(0x16, 0, 0, 0, 0, 0)),
    Command(Op.RELEASE_6, "RELEASE(6)", reservations.handle_release, _u(0x17, 0, 0, 0, 0, 0),
            legacy_ok=True),
    Command(Op.RESERVE_10, "RESERVE(10)", reservations.handle_reserve,
            _u(0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
    Command(Op.RELEASE_10, "RELEASE(10)", reservations.handle_release,
            _u(0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0), legacy_ok=True),
]  # fmt: skip

_PR_IN_NAMES = ("READ KEYS", "READ RESERVATION", "REPORT CAPABILITIES", "READ FULL STATUS")
_PR_OUT_NAMES = ("REGISTER", "RESERVE", "RELEASE", "CLEAR", "PREEMPT", "PREEMPT AND ABORT",
                 "REGISTER AND IGNORE EXISTING KEY")  # fmt: skip
COMMANDS += [
    Command(Op.PERSISTENT_RESERVE_IN, f"PERSISTENT RESERVE IN / {name}",
            reservations.handle_pr_in, _u(0x5E, 0x1F, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0), sa=sa)
    for sa, name in enumerate(_PR_IN_NAMES)
]  # fmt: skip
COMMANDS += [
    Command(Op.PERSISTENT_RESERVE_OUT, f"PERSISTENT RESERVE OUT / {name}",
            reservations.handle_pr_out, _u(0x5F, 0x1F, 0xFF, 0, 0, *F4, 0), sa=sa)
    for sa, name in enumerate(_PR_OUT_NAMES)
]  # fmt: skip


async def handle_report_supported_opcodes(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """REPORT SUPPORTED OPERATION CODES: all commands, or one command's usage data."""
    cdb = cmd.cdb
    rctd = bool(cdb[2] & 0x80)
    options = cdb[2] & 0x07
    op, sa, alloc = cdb[3], u16(cdb, 4), u32(cdb, 6)
    timeouts = struct.pack(">HBBII", 10, 0, 0, 0, 30) if rctd else b""
    if options == 0:
        body = bytearray()
        for c in TABLE.all(thin=lu.thin):
            flags = (0x02 if rctd else 0) | (0x01 if c.sa is not None else 0)
            body += struct.pack(">BBHBBH", c.opcode, 0, c.sa or 0, 0, flags, len(c.usage))
            body += timeouts
        return good(allocation(struct.pack(">I", len(body)) + body, alloc))
    if options not in (1, 2, 3):
        raise invalid_cdb(2, 2)
    has_sa = TABLE.has_service_actions(op)
    if options == 1 and has_sa:
        raise invalid_cdb(2, 2)
    if options == 2 and not has_sa and TABLE.known(op):
        raise invalid_cdb(2, 2)
    found = TABLE.lookup(op, sa if has_sa else None)
    if found is not None and found.thin_only and not lu.thin:
        found = None
    if found is None:
        data = struct.pack(">BBH", 0, 0x01, 0)  # SUPPORT 001b: not supported
    else:
        support = (0x80 if rctd else 0) | 0x03  # CTDP, SUPPORT 011b
        data = struct.pack(">BBH", 0, support, len(found.usage)) + found.usage + timeouts
    return good(allocation(data, alloc))


COMMANDS.append(
    Command(Op.MAINTENANCE_IN, "REPORT SUPPORTED OPERATION CODES",
            handle_report_supported_opcodes,
            _u(0xA3, 0x1F, 0x87, 0xFF, 0xFF, 0xFF, *F4, 0, 0),
            sa=MI_REPORT_SUPPORTED_OPERATION_CODES, legacy_ok=True)
)  # fmt: skip


class CommandTable:
    """Lookup by (opcode, service action)."""

    def __init__(self, commands: list[Command]) -> None:
        self._by_key = {(c.opcode, c.sa): c for c in commands}
        self._with_sa = {c.opcode for c in commands if c.sa is not None}

    def all(self, thin: bool = True) -> list[Command]:
        found = [c for c in self._by_key.values() if thin or not c.thin_only]
        return sorted(found, key=lambda c: (c.opcode, c.sa or 0))

    def known(self, opcode: int) -> bool:
        return opcode in self._with_sa or (opcode, None) in self._by_key

    def has_service_actions(self, opcode: int) -> bool:
        return opcode in self._with_sa

    def lookup(self, opcode: int, sa: int | None) -> Command | None:
        return self._by_key.get((opcode, sa))

    def for_cdb(self, cdb: bytes) -> Command | None:
        """The command a CDB names; None for an unknown opcode.

        Raises INVALID FIELD IN CDB for an unknown service action of a known opcode.
        """
        op = cdb[0]
        if op in self._with_sa:
            found = self._by_key.get((op, cdb[1] & 0x1F))
            if found is None:
                raise invalid_cdb(1, 4)
            return found
        return self._by_key.get((op, None))


TABLE = CommandTable(COMMANDS)
