"""The logical unit: a file served as a SCSI direct-access block device (SBC-3).

``execute`` is the whole interface a transport needs: it looks the command
up in the opcode table, applies the checks every command shares (CDB
length, NACA, unit attentions, persistent reservations), runs the handler
and turns any :class:`ScsiError` into CHECK CONDITION with sense data.
File I/O that may wait on the disk runs in a small thread pool; page-cache
hits are served on the event loop.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import hashlib
import logging
import os
from collections.abc import Callable
from typing import Any

from blockstore.scsi.backing import BackingFile, io_pool
from blockstore.scsi.cdb import cdb_length, check_control
from blockstore.scsi.command import Nexus, ScsiCommand, ScsiResult, error_result
from blockstore.scsi.constants import (
    BUS_DEVICE_RESET,
    CAPACITY_DATA_HAS_CHANGED,
    INTERNAL_TARGET_FAILURE,
    INVALID_COMMAND_OPERATION_CODE,
    MODE_PARAMETERS_CHANGED,
    SOFTWARE_WRITE_PROTECTED,
    SPACE_ALLOCATION_FAILED,
    UNRECOVERED_READ_ERROR,
    WRITE_ERROR,
    SenseKey,
    Status,
)
from blockstore.scsi.gate import SharedExclusive
from blockstore.scsi.inquiry import MAX_TRANSFER_BYTES
from blockstore.scsi.mode import ModePages
from blockstore.scsi.opcodes import TABLE, Command
from blockstore.scsi.reservations import Reservations
from blockstore.scsi.sense import (
    ScsiError,
    Sense,
    check,
    invalid_cdb,
    lba_out_of_range,
    reservation_conflict,
    write_protected,
)

# IEEE company ID used in generated NAA 6 designators: a locally administered
# value, since Stratus has no OUI of its own. Pass device_id to override.
LOCAL_OUI = 0x025354

_MAX_PENDING_UA = 8
log = logging.getLogger(__name__)


def naa6_from(seed: str) -> bytes:
    """A stable 16-byte NAA IEEE Registered Extended identifier derived from ``seed``."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:13], "big")
    value = (0x6 << 124) | (LOCAL_OUI << 100) | (digest & ((1 << 100) - 1))
    return value.to_bytes(16, "big")


# Reads and buffered writes up to this size are tried on the event loop first
# (BackingFile.read_nowait, write_cached): a page-cache copy costs less than
# the thread hand-off it saves, even at 1 MiB (~100 us of memcpy; through the
# pool a 1 MiB read cost the process twice the CPU, GIL hand-offs included).
INLINE_IO_BYTES = 1024 * 1024
# Buffered writes that extend one run of nearby offsets start the run's writeback
# (BackingFile.start_writeback) each time it grows by this much: the disk writes
# a sequential stream while it arrives, and the next SYNCHRONIZE CACHE waits for
# little (1 MiB writes with a flush every 16 MiB: the flush took half the time).
# Scattered writes never form a run and are left to the kernel's own writeback.
WRITEBACK_AHEAD_BYTES = 4 * 1024 * 1024
RUN_WRITE_MIN = 128 * 1024  # smaller writes neither start nor extend a run
_RUN_WINDOW = 8 * 1024 * 1024  # how far from the run a write may land (QD > 1 reorders)


class IoCounters:
    """Media reads and writes of one LU, as plain ints: the data path only adds to them
    (no lock, no metrics call); the volume service's collector reads them when scraped."""

    __slots__ = ("read_bytes", "reads", "writes", "written_bytes")

    def __init__(self) -> None:
        self.reads = 0
        self.writes = 0
        self.read_bytes = 0
        self.written_bytes = 0


class LogicalUnit:
    """One LU backed by a file of whole blocks (sparse when ``thin``)."""

    revision = "0001"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        block_size: int = 512,
        serial: str | None = None,
        device_id: bytes | None = None,
        vendor: str = "STRATUS",
        product: str = "VOLUME",
        thin: bool = True,
    ) -> None:
        if block_size not in (512, 1024, 2048, 4096):
            raise ValueError(f"unsupported block size {block_size}")
        self.path = os.path.abspath(os.fspath(path))
        self.read_only = read_only
        self.block_size = block_size
        seed = serial or self.path
        self.serial = serial or hashlib.sha256(self.path.encode()).hexdigest()[:20]
        if not self.serial.isascii() or not self.serial.isprintable() or len(self.serial) > 64:
            raise ValueError("serial must be printable ASCII, at most 64 characters")
        if device_id is not None and (len(device_id) != 16 or device_id[0] >> 4 != 6):
            raise ValueError("device_id must be a 16-byte NAA 6 identifier")
        self.device_id = device_id or naa6_from(seed)
        self.vendor = vendor
        self.product = product
        self.thin = thin
        self.backing = BackingFile(self.path, read_only=read_only)
        self.mode = ModePages()
        self.reservations = Reservations()
        self.write_gate = SharedExclusive()
        self.luns: Callable[[], list[int]] = lambda: [0]
        self.counters = IoCounters()
        self._blocks = 0
        self._ua: dict[Nexus, list[tuple[int, int]]] = {}
        self._prevent: set[Nexus] = set()
        self._open = False
        self.writeback_ahead = WRITEBACK_AHEAD_BYTES  # 0: off
        self._run_end = self._run_kicked = 0  # the run: [kicked, end) not yet written back

    # -- lifecycle -------------------------------------------------------

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(io_pool(), self.backing.open)
        self._blocks = self.backing.size() // self.block_size
        self._open = True

    async def close(self) -> None:
        if self._open:
            self._open = False
            if not self.read_only:
                await self.io(self.backing.flush)
            self.backing.close()

    @property
    def blocks(self) -> int:
        return self._blocks

    @property
    def size(self) -> int:
        return self._blocks * self.block_size

    @property
    def write_protected(self) -> bool:
        return self.read_only or self.mode.swp

    # -- events from outside ---------------------------------------------

    def reset(self) -> None:
        """LUN RESET / TARGET WARM RESET: a unit attention for every nexus.

        Persistent reservations survive a reset (SPC-4 5.13.1); RESERVE(6/10)
        reservations and prevention of medium removal do not.
        """
        self._prevent.clear()
        self.reservations.legacy = None
        self._broadcast(BUS_DEVICE_RESET, replace=True)

    def nexus_lost(self, nexus: Nexus) -> None:
        """The transport lost an I_T nexus (logout, dropped connection, session reinstated).

        Its RESERVE(6/10) reservation and medium removal prevention end; its
        persistent reservation registrations stay (SPC-4 5.13.1).
        """
        self.reservations.nexus_lost(nexus)
        self._prevent.discard(nexus)
        self._ua.pop(nexus, None)  # a later login is a new nexus, with nothing pending

    def capacity_changed(self) -> None:
        """The backing file grew: re-read its size, tell every nexus."""
        self._blocks = self.backing.size() // self.block_size
        self._broadcast(CAPACITY_DATA_HAS_CHANGED)

    def mode_changed(self, by: Nexus) -> None:
        self._broadcast(MODE_PARAMETERS_CHANGED, skip=by)

    # -- unit attentions ---------------------------------------------------

    def seen(self, nexus: Nexus) -> None:
        self._ua.setdefault(nexus, [])

    def add_unit_attention(self, nexus: Nexus, pair: tuple[int, int]) -> None:
        pending = self._ua.setdefault(nexus, [])
        if pair not in pending and len(pending) < _MAX_PENDING_UA:
            pending.append(pair)

    def _broadcast(self, pair: tuple[int, int], *, skip: Nexus | None = None, replace=False):
        for nexus, pending in self._ua.items():
            if nexus == skip:
                continue
            if replace:
                pending.clear()  # a reset supersedes what was pending before it
            if pair not in pending:
                pending.append(pair)

    def take_unit_attention(self, nexus: Nexus) -> tuple[int, int] | None:
        pending = self._ua.get(nexus)
        return pending.pop(0) if pending else None

    def set_prevent(self, nexus: Nexus, prevent: bool) -> None:
        if prevent:
            self._prevent.add(nexus)
        else:
            self._prevent.discard(nexus)

    # -- helpers for handlers ---------------------------------------------

    async def io(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking file operation in the I/O pool."""
        call = functools.partial(fn, *args, **kwargs) if kwargs else functools.partial(fn, *args)
        return await asyncio.get_running_loop().run_in_executor(io_pool(), call)

    async def read_into(self, buf: memoryview, offset: int) -> None:
        """Fill ``buf``: from the page cache on the loop when it can, else in the pool."""
        done = 0
        if len(buf) <= INLINE_IO_BYTES:
            done = self.backing.read_nowait(buf, offset)
        if done < len(buf):
            await self.io(self.backing.read_into, buf[done:], offset + done)

    async def write(self, data: memoryview, offset: int, *, sync: bool) -> None:
        """Write ``data``; small buffered writes that need not block skip the pool."""
        done = 0
        if not sync and len(data) <= INLINE_IO_BYTES:
            done = self.backing.write_cached(data, offset)
        if done < len(data):
            await self.io(self.backing.write, data[done:], offset + done, sync=sync)
        if not sync and self.writeback_ahead and len(data) >= RUN_WRITE_MIN:
            self._extend_run(offset, offset + len(data))

    def _extend_run(self, start: int, end: int) -> None:
        """Track one run of sequential buffered writes; start its writeback as it grows."""
        if not self._run_kicked - _RUN_WINDOW <= start <= self._run_end + _RUN_WINDOW:
            self._run_kicked, self._run_end = start, end  # far from the run: a new one
            return
        self._run_end = max(self._run_end, end)
        if self._run_end - self._run_kicked >= self.writeback_ahead:
            kick, self._run_kicked = self._run_kicked, self._run_end
            io_pool().submit(self.backing.start_writeback, kick, self._run_end - kick)

    def check_range(self, lba: int, blocks: int) -> None:
        if lba + blocks > self._blocks or lba > self._blocks:
            raise lba_out_of_range()

    def check_transfer(self, blocks: int, len_at: int) -> None:
        if blocks * self.block_size > MAX_TRANSFER_BYTES:
            raise invalid_cdb(len_at)

    def check_writable(self) -> None:
        if self.read_only:
            raise write_protected()
        if self.mode.swp:  # LOGICAL UNIT SOFTWARE WRITE PROTECTED
            raise check(SenseKey.DATA_PROTECT, SOFTWARE_WRITE_PROTECTED)

    def data_out(self, cmd: ScsiCommand, want: int) -> memoryview:
        """Up to ``want`` bytes of the command's data-out (fewer if fewer arrived)."""
        data = cmd.data_out
        if data is None:
            return memoryview(b"")
        view = data if isinstance(data, memoryview) else memoryview(data)
        return view[:want]

    def written(self, blocks: int) -> ScsiResult:
        """GOOD for a data-out command of ``blocks`` blocks (for write residuals)."""
        return ScsiResult(Status.GOOD, transfer_length=blocks * self.block_size)

    # -- dispatch ----------------------------------------------------------

    async def execute(self, cmd: ScsiCommand) -> ScsiResult:
        """Run one command; never raises for anything the initiator sent."""
        try:
            return await self._execute(cmd)
        except ScsiError as err:
            return error_result(err, self.mode.d_sense)

    async def _execute(self, cmd: ScsiCommand) -> ScsiResult:
        cdb = cmd.cdb
        if not cdb:
            raise check(SenseKey.ILLEGAL_REQUEST, INVALID_COMMAND_OPERATION_CODE)
        size = cdb_length(cdb[0])
        if size is None or len(cdb) < size:
            raise check(SenseKey.ILLEGAL_REQUEST, INVALID_COMMAND_OPERATION_CODE)
        command = TABLE.for_cdb(cdb)
        if command is not None and command.thin_only and not self.thin:
            if command.sa is not None:
                raise invalid_cdb(1, 4)
            command = None
        if command is None:
            raise check(SenseKey.ILLEGAL_REQUEST, INVALID_COMMAND_OPERATION_CODE)
        self.seen(cmd.nexus)
        if not command.ua_exempt:
            pending = self.take_unit_attention(cmd.nexus)
            if pending is not None:
                raise ScsiError(Sense(SenseKey.UNIT_ATTENTION, *pending))
        check_control(cdb, size)
        self.check_access(cmd, command)
        if not self._open:
            raise RuntimeError("logical unit is not open")
        try:
            return await command.handler(self, cmd)
        except OSError as err:
            raise self._io_error(err, command.name, command.access_for(cmd.cdb)) from err

    def _io_error(self, err: OSError, name: str, access: str) -> ScsiError:
        """The sense an initiator gets when the backing file fails us."""
        log.error("%s on %s failed: %s", name, self.path, err)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return check(SenseKey.DATA_PROTECT, SPACE_ALLOCATION_FAILED)
        if access == "write":
            return check(SenseKey.MEDIUM_ERROR, WRITE_ERROR)
        if access == "read":
            return check(SenseKey.MEDIUM_ERROR, UNRECOVERED_READ_ERROR)
        return check(SenseKey.HARDWARE_ERROR, INTERNAL_TARGET_FAILURE)

    def check_access(self, cmd: ScsiCommand, command: Command) -> None:
        """RESERVATION CONFLICT where another nexus's reservation forbids the command."""
        access = command.access_for(cmd.cdb)
        if self.reservations.conflicts(cmd.nexus, access, legacy_ok=command.legacy_ok):
            raise reservation_conflict()
