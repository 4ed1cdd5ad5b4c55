"""SCSI commands over one connection: data-out collection, R2T, execution, data-in.

A write's data arrives as immediate data (in the command PDU), unsolicited
Data-Out (up to FirstBurstLength when InitialR2T=No) and solicited Data-Out
answering our R2Ts (bursts of at most MaxBurstLength, at most
MaxOutstandingR2T at a time). Every payload is received straight into the
command's one data-out buffer. Each Data-Out sequence is checked (DataSN,
offset, bounds); a broken sequence ends the command in CHECK CONDITION
once its last PDU (F bit) is in, without touching the medium.

Once its data is in, a command runs at once on the reader's stack
(``eager.start_eagerly``): served from the page cache it answers before the
next PDU is read, with no task of its own; one that waits becomes a task.

Reads go out as Data-In PDUs of the initiator's MaxRecvDataSegmentLength,
slices of one memoryview, the status folded into the last one when there is
no sense data to send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from blockstore.iscsi import pdu as P
from blockstore.iscsi.buffers import BufferPool
from blockstore.iscsi.eager import start_eagerly
from blockstore.iscsi.session import Admission
from blockstore.iscsi.stream import StreamClosed
from blockstore.scsi import ScsiCommand, ScsiResult, lun_not_supported_result, report_luns_result

if TYPE_CHECKING:
    from blockstore.iscsi.connection import Connection

log = logging.getLogger(__name__)

REPORT_LUNS = 0xA0
CHECK_CONDITION = 0x02
_SCSI_RESPONSE, _DATA_IN = int(P.Op.SCSI_RESPONSE), int(P.Op.DATA_IN)  # plain ints: hot path
_NO_LUN = bytes(8)
TASK_SET_FULL = 0x28
MAX_IMMEDIATE_TASKS = 16


def sense_result(key: int, asc: int, ascq: int) -> ScsiResult:
    """CHECK CONDITION with fixed-format sense, for failures found by the transport."""
    sense = bytearray(18)
    sense[0], sense[2], sense[7], sense[12], sense[13] = 0x70, key, 10, asc, ascq
    return ScsiResult(CHECK_CONDITION, b"", bytes(sense))


def data_phase_error() -> ScsiResult:
    return sense_result(0x0B, 0x4B, 0x00)  # ABORTED COMMAND, DATA PHASE ERROR


class Burst:
    """One Data-Out sequence: unsolicited (TTT 0xffffffff) or answering one R2T."""

    __slots__ = ("end", "next_offset", "next_sn", "start", "ttt")

    def __init__(self, ttt: int, start: int, end: int) -> None:
        self.ttt, self.start, self.end = ttt, start, end
        self.next_offset = start
        self.next_sn = 0


class ScsiTask:
    """One SCSI command from arrival to its response."""

    __slots__ = (
        "admission", "buffer", "bursts", "cdb", "cmd_sn", "edtl", "failure", "finished",
        "immediate", "itt", "lun", "lun_field", "r2t_end", "r2t_next", "r2t_sn", "read",
        "read_limit", "runner", "started", "unsolicited", "write",
    )  # fmt: skip

    def __init__(self, pdu: P.Pdu, admission: Admission) -> None:
        self.itt = pdu.itt
        self.lun_field = pdu.lun
        self.lun = P.decode_lun(pdu.lun)
        self.cdb = P.extended_cdb(pdu) if pdu.ahs else pdu.raw[32:48]
        self.edtl = pdu.f20
        self.cmd_sn = pdu.f24
        self.immediate = pdu.immediate
        self.admission = admission
        self.read = bool(pdu.flags & P.F_READ)
        self.write = bool(pdu.flags & P.F_WRITE)
        bidi = P.bidi_read_length(pdu) if self.read and self.write else None
        self.read_limit = bidi if bidi is not None else (self.edtl if self.read else 0)
        self.buffer: bytearray | None = None
        self.unsolicited: Burst | None = None
        self.bursts: dict[int, Burst] = {}
        self.r2t_next = 0
        self.r2t_end = 0
        self.r2t_sn = 0
        self.failure: ScsiResult | None = None
        self.runner: asyncio.Task[None] | None = None  # only while it waits on something
        self.started = False
        self.finished = False

    def fail(self, result: ScsiResult) -> None:
        if self.failure is None:
            self.failure = result

    @property
    def data_complete(self) -> bool:
        return self.unsolicited is None and not self.bursts and self.r2t_next >= self.r2t_end


class DataPath:
    """The SCSI tasks of one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.tasks: dict[int, ScsiTask] = {}
        self.by_ttt: dict[int, tuple[ScsiTask, Burst]] = {}
        self.buffered = 0  # bytes of data-out buffers held by live tasks
        self.pool = BufferPool()  # data-out buffers of finished commands, for the next ones
        self._immediate = 0
        self._aborted_ahead: set[int] = set()  # ITTs aborted before their command came
        self._idle = asyncio.Event()
        self._idle.set()

    # -- arrival ----------------------------------------------------------------------

    async def on_command(self, pdu: P.Pdu) -> None:
        conn, params = self.conn, self.conn.params
        admission = conn.admit(pdu)
        if admission is Admission.DROP:
            await conn.discard_data(pdu)
            return
        write, dsl, edtl = bool(pdu.flags & P.F_WRITE), pdu.dlen, pdu.f20
        bad = None
        if pdu.itt == P.RESERVED_TAG:
            bad = P.RejectReason.INVALID_PDU_FIELD
        elif pdu.itt in self._aborted_ahead:
            self._aborted_ahead.discard(pdu.itt)
            await conn.discard_data(pdu)
            conn.release(pdu, admission)
            return
        elif pdu.itt in self.tasks:
            bad = P.RejectReason.TASK_IN_PROGRESS
        elif pdu.immediate and self._immediate >= MAX_IMMEDIATE_TASKS:
            bad = P.RejectReason.IMMEDIATE_COMMAND_REJECT
        elif dsl and (not write or not params.immediate_data or dsl > edtl):
            bad = P.RejectReason.PROTOCOL_ERROR  # immediate data it may not send
        elif dsl > params.first_burst_length:  # more than a first burst
            bad = P.RejectReason.PROTOCOL_ERROR
        if bad is not None:
            await conn.discard_data(pdu)
            conn.release(pdu, admission)
            conn.reject(pdu, bad)
            return
        task = ScsiTask(pdu, admission)
        self._track(task)
        if write and edtl:
            server = conn.server
            if edtl > server.max_write_bytes:
                task.fail(sense_result(0x05, 0x24, 0x00))  # ILLEGAL REQUEST, INVALID FIELD IN CDB
            elif self.buffered + edtl > server.write_budget:
                task.fail(ScsiResult(TASK_SET_FULL))
            else:
                task.buffer = self.pool.take(edtl)
                self.buffered += edtl
        if dsl:
            if task.buffer is not None:
                await conn.read_data(pdu, memoryview(task.buffer)[:dsl])
            else:
                await conn.discard_data(pdu)
        if write:
            unsolicited_end = dsl
            if not params.initial_r2t and not pdu.flags & P.F_FINAL:
                unsolicited_end = max(dsl, min(params.first_burst_length, edtl))
            if unsolicited_end > dsl:
                task.unsolicited = Burst(P.RESERVED_TAG, dsl, unsolicited_end)
            task.r2t_next = unsolicited_end
            task.r2t_end = edtl if task.buffer is not None else unsolicited_end
        self.issue_r2ts(task)
        if task.data_complete:
            self._start(task)

    async def on_data_out(self, pdu: P.Pdu) -> None:
        conn = self.conn
        task = self.tasks.get(pdu.itt)
        if task is None or task.started:
            await conn.discard_data(pdu)  # aborted or finished: late data is dropped
            return
        ttt = pdu.f20
        if ttt == P.RESERVED_TAG:
            burst = task.unsolicited
        else:
            entry = self.by_ttt.get(ttt)
            burst = entry[1] if entry is not None and entry[0] is task else None
        if burst is None:
            await conn.discard_data(pdu)
            task.fail(data_phase_error())
            return
        offset, n = pdu.f40, pdu.dlen
        in_order = pdu.f36 == burst.next_sn and offset == burst.next_offset
        in_order = in_order and offset + n <= burst.end
        burst.next_sn += 1
        if in_order and task.buffer is not None and n:
            await conn.read_data(pdu, memoryview(task.buffer)[offset : offset + n])
        else:
            await conn.discard_data(pdu)
        if in_order:
            burst.next_offset = offset + n
        else:
            task.fail(data_phase_error())
        if pdu.flags & P.F_FINAL:
            if burst.next_offset != burst.end:
                task.fail(data_phase_error())
            if burst is task.unsolicited:
                task.unsolicited = None
            else:
                del task.bursts[burst.ttt]
                del self.by_ttt[burst.ttt]
            self.issue_r2ts(task)
            if task.data_complete:
                self._start(task)

    def issue_r2ts(self, task: ScsiTask) -> None:
        """Ask for the next bursts, up to MaxOutstandingR2T at a time."""
        conn, params = self.conn, self.conn.params
        if task.failure is not None:
            task.r2t_end = task.r2t_next  # no more data wanted; finish what is in flight
        while task.r2t_next < task.r2t_end and len(task.bursts) < params.max_outstanding_r2t:
            offset = task.r2t_next
            length = min(params.max_burst_length, task.r2t_end - offset)
            burst = Burst(conn.new_ttt(), offset, offset + length)
            task.bursts[burst.ttt] = burst
            self.by_ttt[burst.ttt] = (task, burst)
            exp, mx = conn.windows()
            r2t = P.pack(
                P.Op.R2T, lun=task.lun_field, f16=task.itt, f20=burst.ttt,
                f24=conn.stat_sn, f28=exp, f32=mx, f36=task.r2t_sn, f40=offset, f44=length,
            )  # fmt: skip
            conn.send(r2t)
            task.r2t_sn += 1
            task.r2t_next += length

    # -- execution --------------------------------------------------------------------

    def _track(self, task: ScsiTask) -> None:
        self.tasks[task.itt] = task
        if task.immediate:
            self._immediate += 1
        self._idle.clear()

    def _start(self, task: ScsiTask) -> None:
        """Run the command now; a task carries on only if it has to wait."""
        task.started = True
        task.runner = start_eagerly(self.conn.loop, self._run(task))

    async def _run(self, task: ScsiTask) -> None:
        reusable = False  # whether the logical unit is done with the data-out buffer
        try:
            session = self.conn.session
            assert session is not None
            if task.admission is Admission.QUEUED:
                await session.turn(task.cmd_sn)
            result = task.failure or await self._execute(task)
            reusable = True
            await self._respond(task, result)
        except (asyncio.CancelledError, StreamClosed):
            pass
        except Exception:
            log.exception("SCSI command %s failed in the transport", task.cdb[:1].hex())
            with contextlib.suppress(Exception):  # still answer, so the initiator need not time out
                await self._respond(task, sense_result(0x04, 0x44, 0x00))
        finally:
            buffer = task.buffer
            self._finish(task)
            # Not after a cancellation: a pool thread may still be writing from it.
            if reusable and buffer is not None:
                self.pool.give(buffer)

    async def _execute(self, task: ScsiTask) -> ScsiResult:
        session = self.conn.session
        assert session is not None and session.target is not None
        target = session.target
        cmd = ScsiCommand(
            cdb=task.cdb,
            nexus=session.nexus,
            data_out=memoryview(task.buffer) if task.buffer is not None else None,
            expected_length=task.edtl,
            task_tag=task.itt,
        )
        unit = target.luns.get(task.lun) if task.lun is not None else None
        if unit is None:
            if task.cdb[0] == REPORT_LUNS:
                return report_luns_result(target.lun_ids(), cmd)
            return lun_not_supported_result(cmd)
        try:
            return await unit.execute(cmd)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("logical unit failed on opcode %s", task.cdb[:1].hex())
            return sense_result(0x04, 0x44, 0x00)  # HARDWARE ERROR, INTERNAL TARGET FAILURE

    async def _respond(self, task: ScsiTask, result: ScsiResult) -> None:
        conn = self.conn
        flags, residual, data_pdus = 0, 0, 0
        if not task.write or task.read:
            data = result.data
            total, limit = len(data), task.read_limit
            if total > limit:
                flags, residual = P.F_OVERFLOW, total - limit
            elif total < limit and task.read:
                flags, residual = P.F_UNDERFLOW, limit - total
            sent = min(total, limit) if task.read else 0
            if sent:
                collapse = result.sense is None
                view = memoryview(data)[:sent]
                data_pdus = await self._send_data_in(task, view, result.status, flags, residual,
                                                     collapse)  # fmt: skip
                if collapse:
                    return
        if task.write and not task.read:
            wanted = result.transfer_length
            if wanted is not None and wanted > task.edtl:
                flags, residual = P.F_OVERFLOW, wanted - task.edtl
            elif wanted is not None and wanted < task.edtl:
                flags, residual = P.F_UNDERFLOW, task.edtl - wanted
        body = b""
        if result.sense:
            body = len(result.sense).to_bytes(2, "big") + bytes(result.sense)
        exp, mx = conn.windows()
        header = P.pack(
            _SCSI_RESPONSE, P.F_FINAL | flags, 0, result.status, len(body), _NO_LUN,
            task.itt, 0, conn.next_stat_sn(), exp, mx, data_pdus + task.r2t_sn, 0, residual,
        )  # fmt: skip
        conn.send(header, body)
        if conn.stream.must_drain:
            await conn.stream.drain()

    async def _send_data_in(
        self, task: ScsiTask, view: memoryview, status: int, flags: int, residual: int,
        collapse: bool,
    ) -> int:  # fmt: skip
        """Data-In PDUs for ``view``; the last carries the status when ``collapse``."""
        conn = self.conn
        segment = conn.params.initiator_max_recv
        burst = conn.params.max_burst_length
        total, offset, data_sn = len(view), 0, 0
        while offset < total:
            n = min(segment, total - offset, burst - offset % burst)
            end = offset + n
            last = end == total
            pflags = P.F_FINAL if (last or end % burst == 0) else 0
            stat_sn = st = res = 0
            if last and collapse:
                pflags |= P.F_STATUS | flags
                st, res = status, residual
                stat_sn = conn.next_stat_sn()
            exp, mx = conn.windows()
            header = P.pack(
                _DATA_IN, pflags, 0, st, n, task.lun_field, task.itt, P.RESERVED_TAG,
                stat_sn, exp, mx, data_sn, offset, res,
            )  # fmt: skip
            conn.send(header, view[offset:end])
            if conn.stream.must_drain:
                await conn.stream.drain()
            offset, data_sn = end, data_sn + 1
        return data_sn

    # -- ending -----------------------------------------------------------------------

    def _finish(self, task: ScsiTask) -> None:
        if task.finished:
            return
        task.finished = True
        if self.tasks.get(task.itt) is task:
            del self.tasks[task.itt]
        for ttt in task.bursts:
            self.by_ttt.pop(ttt, None)
        task.bursts.clear()
        if task.buffer is not None:
            self.buffered -= len(task.buffer)
            task.buffer = None
        if task.immediate:
            self._immediate -= 1
        elif task.admission is not Admission.DROP and self.conn.session is not None:
            self.conn.session.release()
        if not self.tasks:
            self._idle.set()

    def abort(self, task: ScsiTask) -> None:
        """Terminate ``task`` without a response (ABORT TASK and friends)."""
        if task.runner is not None and not task.runner.done():
            task.runner.cancel()
        self._finish(task)

    def abort_ahead(self, itt: int) -> None:
        """Remember to drop a command that an ABORT TASK named before it arrived."""
        if len(self._aborted_ahead) < 1024:
            self._aborted_ahead.add(itt)

    def abort_where(self, lun: int | None) -> int:
        """Abort every task (of one LUN, or all); returns how many."""
        victims = [t for t in self.tasks.values() if lun is None or t.lun == lun]
        for task in victims:
            self.abort(task)
        return len(victims)

    def abort_all(self) -> None:
        self.abort_where(None)

    async def wait_idle(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._idle.wait()
