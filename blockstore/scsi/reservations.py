"""Reservations: persistent (SPC-4 5.13, PERSISTENT RESERVE IN/OUT) and the older
RESERVE/RELEASE(6/10) kind, and the conflict rules both impose on other commands.

Registrations are per I_T nexus (ALL_TG_PT, SPEC_I_PT and APTPL are refused);
state lives in memory with the LU, as APTPL is not offered.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from blockstore.scsi.cdb import u16, u32
from blockstore.scsi.command import Nexus, ScsiCommand, ScsiResult, allocation, good
from blockstore.scsi.constants import (
    REGISTRATIONS_PREEMPTED,
    RESERVATIONS_PREEMPTED,
    RESERVATIONS_RELEASED,
    SenseKey,
)
from blockstore.scsi.sense import (
    check,
    invalid_cdb,
    invalid_param,
    param_list_length_error,
    reservation_conflict,
)

if TYPE_CHECKING:
    from blockstore.scsi.unit import LogicalUnit

WE, EA, WERO, EARO, WEAR, EAAR = 0x1, 0x3, 0x5, 0x6, 0x7, 0x8
TYPES = {WE, EA, WERO, EARO, WEAR, EAAR}
ALL_REGISTRANTS = {WEAR, EAAR}
REGISTRANTS_ONLY = {WERO, EARO}
WRITE_EXCLUSIVE = {WE, WERO, WEAR}
INVALID_RELEASE = (0x26, 0x04)  # INVALID RELEASE OF PERSISTENT RESERVATION

(REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT_AND_ABORT, REGISTER_AND_IGNORE) = range(7)
READ_KEYS, READ_RESERVATION, REPORT_CAPABILITIES, READ_FULL_STATUS = range(4)
PROTOCOL_ISCSI = 0x5


@dataclass
class Reservations:
    """Reservation state of one logical unit."""

    generation: int = 0
    keys: dict[Nexus, int] = field(default_factory=dict)  # registrations, in order
    rtype: int = 0  # 0: no persistent reservation
    holder: Nexus | None = None  # the holder, for types that are not all-registrants
    legacy: Nexus | None = None  # RESERVE(6/10) holder

    def bump(self) -> None:
        self.generation = (self.generation + 1) & 0xFFFFFFFF

    def is_holder(self, nexus: Nexus) -> bool:
        if not self.rtype:
            return False
        if self.rtype in ALL_REGISTRANTS:
            return nexus in self.keys
        return self.holder == nexus

    def holder_key(self) -> int:
        if self.rtype in ALL_REGISTRANTS or self.holder is None:
            return 0
        return self.keys.get(self.holder, 0)

    def release(self) -> None:
        self.rtype, self.holder = 0, None

    def conflicts(self, nexus: Nexus, access: str, *, legacy_ok: bool = False) -> bool:
        """Whether a command of class ``access`` from ``nexus`` meets a conflict."""
        if self.legacy is not None and self.legacy != nexus and not legacy_ok:
            return True
        if access == "allowed" or not self.rtype or self.is_holder(nexus):
            return False
        if self.rtype not in (WE, EA) and nexus in self.keys:
            return False  # registrants pass the registrants-only and all-registrants types
        if self.rtype in WRITE_EXCLUSIVE:
            return access == "write"
        return True

    def nexus_lost(self, nexus: Nexus) -> None:
        """I_T nexus loss or reset: RESERVE(6/10) reservations go, persistent ones stay."""
        if self.legacy == nexus:
            self.legacy = None


def _others(lu: LogicalUnit, res: Reservations, me: Nexus) -> list[Nexus]:
    return [n for n in res.keys if n != me]


def _unregister(lu: LogicalUnit, res: Reservations, nexus: Nexus) -> None:
    """Drop a registration; a holder's reservation goes with it (SPC-4 5.13.11.2.3)."""
    del res.keys[nexus]
    if res.rtype in ALL_REGISTRANTS:
        if not res.keys:
            res.release()
    elif res.holder == nexus:
        released = res.rtype
        res.release()
        if released in REGISTRANTS_ONLY:
            for other in res.keys:
                lu.add_unit_attention(other, RESERVATIONS_RELEASED)


def _register(lu: LogicalUnit, res: Reservations, nexus: Nexus, key: int, sa_key: int, ignore):
    current = res.keys.get(nexus)
    if current is None:
        if key and not ignore:
            raise reservation_conflict()
        if sa_key:
            res.keys[nexus] = sa_key
            res.bump()
        return
    if not ignore and key != current:
        raise reservation_conflict()
    if sa_key:
        res.keys[nexus] = sa_key
    else:
        _unregister(lu, res, nexus)
    res.bump()


def _reserve(res: Reservations, nexus: Nexus, rtype: int) -> None:
    if res.rtype:
        if res.is_holder(nexus) and res.rtype == rtype:
            return
        raise reservation_conflict()
    res.rtype = rtype
    res.holder = nexus


def _release(lu: LogicalUnit, res: Reservations, nexus: Nexus, rtype: int) -> None:
    if not res.rtype or not res.is_holder(nexus):
        return
    if res.rtype != rtype:
        raise check(SenseKey.ILLEGAL_REQUEST, INVALID_RELEASE)
    released = res.rtype
    res.release()
    if released in REGISTRANTS_ONLY | ALL_REGISTRANTS:
        for other in _others(lu, res, nexus):
            lu.add_unit_attention(other, RESERVATIONS_RELEASED)


def _clear(lu: LogicalUnit, res: Reservations, nexus: Nexus) -> None:
    for other in _others(lu, res, nexus):
        lu.add_unit_attention(other, RESERVATIONS_PREEMPTED)
    res.keys.clear()
    res.release()
    res.bump()


def _remove_key(lu: LogicalUnit, res: Reservations, nexus: Nexus, sa_key: int) -> int:
    victims = [n for n, k in res.keys.items() if k == sa_key and n != nexus]
    for victim in victims:
        del res.keys[victim]
        lu.add_unit_attention(victim, REGISTRATIONS_PREEMPTED)
    return len(victims)


def _preempt(lu: LogicalUnit, res: Reservations, nexus: Nexus, sa_key: int, rtype: int) -> None:
    """PREEMPT (and PREEMPT AND ABORT; we hold no task set to abort)."""
    if not res.rtype or (res.rtype not in ALL_REGISTRANTS and sa_key != res.holder_key()):
        if sa_key == 0:
            raise invalid_param(8)
        if not _remove_key(lu, res, nexus, sa_key):
            raise reservation_conflict()
        res.bump()
        return
    if res.rtype in ALL_REGISTRANTS and sa_key:
        if not _remove_key(lu, res, nexus, sa_key):
            raise reservation_conflict()
        res.bump()
        return
    # Take over the reservation (a non-AR holder's key, or AR with key 0).
    old_type = res.rtype
    if res.rtype in ALL_REGISTRANTS:
        victims = _others(lu, res, nexus)
        for victim in victims:
            del res.keys[victim]
            lu.add_unit_attention(victim, REGISTRATIONS_PREEMPTED)
    else:
        _remove_key(lu, res, nexus, sa_key)
    res.rtype, res.holder = rtype, nexus
    if old_type != rtype:
        for other in _others(lu, res, nexus):
            lu.add_unit_attention(other, RESERVATIONS_RELEASED)
    res.bump()


async def handle_pr_out(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    cdb = cmd.cdb
    action = cdb[1] & 0x1F
    scope, rtype = cdb[2] >> 4, cdb[2] & 0x0F
    length = u32(cdb, 5)
    if length != 24:
        raise param_list_length_error()
    params = lu.data_out(cmd, length)
    if len(params) < 24:
        raise param_list_length_error()
    key, sa_key = struct.unpack_from(">QQ", params, 0)
    flags = params[20]
    if flags & 0x08:  # SPEC_I_PT: not supported (SIP_C 0)
        raise invalid_param(20, 3)
    if flags & 0x04:  # ALL_TG_PT: not supported (ATP_C 0)
        raise invalid_param(20, 2)
    if flags & 0x01:  # APTPL: persistence through power loss is not offered
        raise invalid_param(20, 0)
    if action in (RESERVE, RELEASE, PREEMPT, PREEMPT_AND_ABORT):
        if scope != 0:
            raise invalid_cdb(2, 7)
        if rtype not in TYPES:
            raise invalid_cdb(2, 3)
    res, nexus = lu.reservations, cmd.nexus
    if action in (REGISTER, REGISTER_AND_IGNORE):
        _register(lu, res, nexus, key, sa_key, action == REGISTER_AND_IGNORE)
        return good()
    if res.keys.get(nexus) != key or nexus not in res.keys:
        raise reservation_conflict()
    if action == RESERVE:
        _reserve(res, nexus, rtype)
    elif action == RELEASE:
        _release(lu, res, nexus, rtype)
    elif action == CLEAR:
        _clear(lu, res, nexus)
    else:
        _preempt(lu, res, nexus, sa_key, rtype)
    return good()


def transport_id(nexus: Nexus) -> bytes:
    """An iSCSI TransportID, initiator port format (name,i,0x<ISID>)."""
    name = nexus.initiator_port.encode("utf-8") + b"\x00"
    name += bytes(-len(name) % 4)
    if len(name) < 20:
        name += bytes(20 - len(name))
    return struct.pack(">BBH", 0x40 | PROTOCOL_ISCSI, 0, len(name)) + name


def _full_status(res: Reservations) -> bytes:
    out = bytearray()
    for nexus, key in res.keys.items():
        holder = res.is_holder(nexus)
        tid = transport_id(nexus)
        out += struct.pack(
            ">Q4xBB4xHI",
            key,
            0x01 if holder else 0,  # R_HOLDER (ALL_TG_PT 0)
            res.rtype if holder else 0,
            nexus.relative_port,
            len(tid),
        )
        out += tid
    return bytes(out)


async def handle_pr_in(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    cdb = cmd.cdb
    action, alloc = cdb[1] & 0x1F, u16(cdb, 7)
    res = lu.reservations
    if action == READ_KEYS:
        body = b"".join(struct.pack(">Q", k) for k in res.keys.values())
        data = struct.pack(">II", res.generation, len(body)) + body
    elif action == READ_RESERVATION:
        body = b""
        if res.rtype:
            body = struct.pack(">Q4xBBH", res.holder_key(), 0, res.rtype, 0)
        data = struct.pack(">II", res.generation, len(body)) + body
    elif action == REPORT_CAPABILITIES:
        # CRH: RESERVE/RELEASE meet registrations as SPC-3 5.6.3 says; TMV; type mask
        data = struct.pack(">HBBBBH", 8, 0x10, 0x80, 0x80 | 0x40 | 0x20 | 0x08 | 0x02, 0x01, 0)
    else:
        body = _full_status(res)
        data = struct.pack(">II", res.generation, len(body)) + body
    return good(allocation(data, alloc))


async def handle_reserve(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """RESERVE(6/10): a whole-LU reservation for this nexus (3rd-party form refused)."""
    cdb = cmd.cdb
    if cdb[0] == 0x56 and cdb[1] & 0x02:  # 3RDPTY
        raise invalid_cdb(1, 1)
    res = lu.reservations
    if res.keys or res.rtype:
        raise reservation_conflict()
    if res.legacy is not None and res.legacy != cmd.nexus:
        raise reservation_conflict()
    res.legacy = cmd.nexus
    return good()


async def handle_release(lu: LogicalUnit, cmd: ScsiCommand) -> ScsiResult:
    """RELEASE(6/10): drops our own RESERVE; a no-op for anyone else."""
    cdb = cmd.cdb
    if cdb[0] == 0x57 and cdb[1] & 0x02:
        raise invalid_cdb(1, 1)
    res = lu.reservations
    if res.keys or res.rtype:
        raise reservation_conflict()
    if res.legacy == cmd.nexus:
        res.legacy = None
    return good()
