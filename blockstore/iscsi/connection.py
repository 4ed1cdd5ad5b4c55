"""One iSCSI connection: PDU framing and digests, the full-feature dispatch loop.

Login (``login.py``) turns a fresh TCP connection into a session; then
this loop reads one PDU at a time and hands it to its handler. A SCSI
command starts at once on this loop's stack (``datapath.py``); one that has
to wait (disk I/O in the pool, a CmdSN gap) carries on as its own asyncio
task, so many are in flight at once and their responses leave in whatever
order they finish.
StatSN is taken at the moment a status PDU is written, so it always rises
on the wire. Any malformed PDU ends in a Reject or a closed connection,
never in an exception that escapes this connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from crc32c import crc32c

from blockstore.iscsi import pdu as P
from blockstore.iscsi.datapath import DataPath
from blockstore.iscsi.discovery import TextExchange
from blockstore.iscsi.login import Login, LoginFailed
from blockstore.iscsi.negotiate import SessionParams
from blockstore.iscsi.session import Admission, Session, SessionType
from blockstore.iscsi.stream import PduStream, StreamClosed
from blockstore.iscsi.tmf import handle_task_management

if TYPE_CHECKING:
    from blockstore.iscsi.portals import Portal
    from blockstore.iscsi.server import TargetServer

log = logging.getLogger(__name__)

LOGIN_MAX_DATA = 8192  # MaxRecvDataSegmentLength in force until login completes


# Full feature phase: opcode -> (handler, allowed in a discovery session, what it does).
FULL_FEATURE: dict[int, tuple[str, bool, str]] = {
    P.Op.SCSI_COMMAND: ("scsi.on_command", False,
                        "executed on the LUN; immediate data, several commands at once"),
    P.Op.DATA_OUT: ("scsi.on_data_out", False,
                    "unsolicited and R2T-solicited; DataSN, offset and bounds checked"),
    P.Op.NOP_OUT: ("_on_nop_out", True, "pings answered with NOP-In; answers to our pings"),
    P.Op.TASK_MGMT: ("_on_task_mgmt", False, "see Task management below"),
    P.Op.TEXT: ("_on_text", True, "SendTargets; long answers continued with the C bit"),
    P.Op.LOGOUT: ("_on_logout", True, "close session / connection; recovery: not supported"),
}  # fmt: skip
# Everything else gets a Reject (and, for a Login, the connection closes).
REJECTED: dict[int, str] = {
    P.Op.SNACK: "Reject (SNACK Reject): ErrorRecoveryLevel is 0",
    P.Op.LOGIN: "Reject (Protocol Error), then the connection closes",
}


class ProtocolError(Exception):
    """The peer broke the protocol; the connection is closed (after a Reject if given)."""

    def __init__(self, message: str, pdu: P.Pdu | None = None, reason: int = 0) -> None:
        super().__init__(message)
        self.pdu = pdu
        self.reason = reason or P.RejectReason.PROTOCOL_ERROR


class Connection:
    """The target's side of one TCP connection, from login to close."""

    def __init__(self, server: TargetServer, stream: PduStream, portal: Portal) -> None:
        self.server = server
        self.stream = stream
        self.portal = portal  # the portal (and so the portal group) it came in through
        self.session: Session | None = None
        self.params = SessionParams()
        self.header_digest = False
        self.data_digest = False
        self.stat_sn = 0
        self.cid = 0
        self.loop = asyncio.get_running_loop()
        self.last_rx = self.loop.time()
        self.scsi = DataPath(self)
        self.text = TextExchange(self)
        self._ttt = 0
        self._closing = False
        self._logout_requested = asyncio.Event()
        self._done = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------

    async def run(self) -> None:
        try:
            try:
                async with asyncio.timeout(self.server.login_timeout):
                    session = await Login(self).run()
            except TimeoutError:
                log.info("login from %s timed out", self.stream.peer)
                return
            self.session = session
            self.params = session.params
            self.header_digest = session.params.header_digest
            self.data_digest = session.params.data_digest
            self._spawn(self._watchdog())
            await self._full_feature()
        except (LoginFailed, StreamClosed):
            pass
        except ProtocolError as exc:
            log.info("closing %s: %s", self.stream.peer, exc)
            if exc.pdu is not None:
                with contextlib.suppress(StreamClosed):
                    self.reject(exc.pdu, exc.reason)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("connection %s failed", self.stream.peer)
        finally:
            await self._cleanup()

    async def _cleanup(self) -> None:
        self._closing = True
        self.scsi.abort_all()
        for task in list(self._background):
            task.cancel()
        if self.session is not None:
            self.server.session_ended(self.session)
        self.stream.close()
        self._done.set()

    def shutdown(self) -> None:
        """Drop the connection now (session reinstatement, target removal, stop)."""
        self._closing = True
        self.stream.abort()
        if self.stream.task is not None and not self.stream.task.done():
            self.stream.task.cancel()

    def close_after_this(self) -> None:
        """End the connection once the current PDU is handled (its answers are sent)."""
        self._closing = True

    async def wait_closed(self) -> None:
        await self._done.wait()

    async def request_logout(self, grace: float) -> None:
        """Ask the initiator to log out (Async Message), then close after ``grace``."""
        if self.session is not None and not self.stream.closed:
            with contextlib.suppress(StreamClosed):
                self.send_async(P.AsyncEvent.REQUEST_LOGOUT, p3=max(1, int(grace)))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await self._done.wait()
        self.shutdown()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._done.wait()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = self.loop.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # -- framing ----------------------------------------------------------------------

    async def read_header(self, max_data: int) -> P.Pdu:
        """The next PDU's BHS (and AHS), header digest checked; data not yet read."""
        raw = await self.stream.read_exactly(P.BHS_LEN)
        pdu = P.Pdu(raw)
        if pdu.ahs_len:
            pdu.ahs = await self.stream.read_exactly(pdu.ahs_len)
        if self.header_digest:
            digest = await self.stream.read_exactly(4)
            crc = crc32c(pdu.ahs, crc32c(raw)) if pdu.ahs else crc32c(raw)
            if int.from_bytes(digest, "little") != crc:
                # The header cannot be trusted, so neither can the framing: close.
                raise ProtocolError("header digest error")
        self.last_rx = self.loop.time()
        if pdu.dlen > max_data:
            raise ProtocolError(f"data segment of {pdu.dlen} bytes is too large", pdu)
        return pdu

    async def read_data(self, pdu: P.Pdu, into: memoryview | None = None) -> bytes | memoryview:
        """The PDU's data segment (into ``into`` when given), padding and digest consumed."""
        n = pdu.dlen
        if not n:
            return b""
        if into is not None:
            await self.stream.read_into(into)
            data: bytes | memoryview = into
        else:
            data = await self.stream.read_exactly(n)
        pad = P.pad_len(n)
        padding = await self.stream.read_exactly(pad) if pad else b""
        if self.data_digest:
            digest = await self.stream.read_exactly(4)
            crc = crc32c(padding, crc32c(data)) if pad else crc32c(data)
            if int.from_bytes(digest, "little") != crc:
                raise ProtocolError("data digest error", pdu, P.RejectReason.DATA_DIGEST_ERROR)
        pdu.data = data
        return data

    async def discard_data(self, pdu: P.Pdu) -> None:
        if pdu.dlen:
            await self.read_data(pdu)

    def send(self, header: bytes, data: bytes | bytearray | memoryview = b"") -> None:
        """Write one PDU: header (+ digest), data (+ padding, + digest)."""
        buffers: list[bytes | bytearray | memoryview] = [header]
        if self.header_digest:
            buffers.append(crc32c(header).to_bytes(4, "little"))
        n = len(data)
        if n:
            buffers.append(data)
            pad = P.pad_len(n)
            if pad:
                buffers.append(bytes(pad))
            if self.data_digest:
                crc = crc32c(data)
                if pad:
                    crc = crc32c(bytes(pad), crc)
                buffers.append(crc.to_bytes(4, "little"))
        self.stream.write(buffers)

    async def drain(self) -> None:
        if self.stream.must_drain:
            await self.stream.drain()

    def next_stat_sn(self) -> int:
        """The StatSN for a status-carrying PDU; advances the counter."""
        sn = self.stat_sn
        self.stat_sn = (sn + 1) & 0xFFFFFFFF
        return sn

    def windows(self) -> tuple[int, int]:
        s = self.session
        return (s.exp_cmd_sn, s.max_cmd_sn) if s is not None else (0, 0)

    def new_ttt(self) -> int:
        self._ttt = (self._ttt + 1) & 0x7FFFFFFF or 1
        return self._ttt

    # -- full feature phase -----------------------------------------------------------

    async def _full_feature(self) -> None:
        handlers = {op: attrgetter(path)(self) for op, (path, _, _) in FULL_FEATURE.items()}
        assert self.session is not None
        refused: set[int] = set()  # known opcodes a discovery session may not send
        if self.session.kind is SessionType.DISCOVERY:
            refused = {op for op, (_, ok, _) in FULL_FEATURE.items() if not ok}
        while not self._closing:
            pdu = await self.read_header(self.params.target_max_recv)
            handler = handlers.get(pdu.opcode)
            if handler is None:
                await self._on_unsupported(pdu)
                continue
            if pdu.opcode in refused:
                await self.discard_data(pdu)
                self.reject(pdu, P.RejectReason.PROTOCOL_ERROR)
                continue
            await handler(pdu)

    async def _on_unsupported(self, pdu: P.Pdu) -> None:
        if pdu.opcode == P.Op.LOGIN:
            raise ProtocolError("Login request in full feature phase", pdu)
        await self.discard_data(pdu)
        reason = (
            P.RejectReason.SNACK_REJECT
            if pdu.opcode == P.Op.SNACK
            else P.RejectReason.COMMAND_NOT_SUPPORTED
        )
        self.reject(pdu, reason)

    def admit(self, pdu: P.Pdu) -> Admission:
        assert self.session is not None
        return self.session.admit(pdu.f24, pdu.immediate)

    def release(self, pdu: P.Pdu, admission: Admission) -> None:
        if admission is not Admission.DROP and not pdu.immediate and self.session is not None:
            self.session.release()

    async def _in_order(self, pdu: P.Pdu, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work()`` for a non-SCSI command once its CmdSN comes up."""
        admission = self.admit(pdu)
        if admission is Admission.DROP:
            return
        if admission is Admission.QUEUED:

            async def later() -> None:
                assert self.session is not None
                await self.session.turn(pdu.f24)
                try:
                    await work()
                finally:
                    self.release(pdu, admission)

            self._spawn(later())
            return
        try:
            await work()
        finally:
            self.release(pdu, admission)

    async def _on_nop_out(self, pdu: P.Pdu) -> None:
        data = await self.read_data(pdu)
        if pdu.itt == P.RESERVED_TAG:
            return  # an answer to our NOP-In, or a ping that wants no answer
        ping = bytes(data[: self.params.initiator_max_recv])

        async def answer() -> None:
            exp, mx = self.windows()
            header = P.pack(
                P.Op.NOP_IN, dlen=len(ping), lun=pdu.lun, f16=pdu.itt, f20=P.RESERVED_TAG,
                f24=self.next_stat_sn(), f28=exp, f32=mx,
            )  # fmt: skip
            self.send(header, ping)

        await self._in_order(pdu, answer)

    async def _on_task_mgmt(self, pdu: P.Pdu) -> None:
        await self.discard_data(pdu)
        await self._in_order(pdu, lambda: handle_task_management(self, pdu))

    async def _on_text(self, pdu: P.Pdu) -> None:
        await self.read_data(pdu)
        await self._in_order(pdu, lambda: self.text.handle(pdu))

    async def _on_logout(self, pdu: P.Pdu) -> None:
        await self.discard_data(pdu)

        async def logout() -> None:
            reason = pdu.flags & 0x7F
            response = 0
            if reason == 2:
                response = 2  # connection recovery is not supported (ErrorRecoveryLevel 0)
            elif reason not in (0, 1):
                raise ProtocolError("bad logout reason", pdu, P.RejectReason.INVALID_PDU_FIELD)
            elif (pdu.f20 >> 16) != self.cid and reason == 1:
                response = 1  # CID not found
            if response == 0:
                await self.scsi.wait_idle(self.server.logout_grace)
            exp, mx = self.windows()
            p = self.params
            header = P.pack(
                P.Op.LOGOUT_RESPONSE, b2=response, f16=pdu.itt, f24=self.next_stat_sn(),
                f28=exp, f32=mx, f40=(p.default_time2wait << 16) | p.default_time2retain,
            )  # fmt: skip
            self.send(header)
            if response == 0:
                self._closing = True
                with contextlib.suppress(StreamClosed):
                    await self.stream.drain()
                self.stream.close()

        await self._in_order(pdu, logout)

    # -- PDUs the target starts -------------------------------------------------------

    def reject(self, bad: P.Pdu, reason: int) -> None:
        exp, mx = self.windows()
        header = P.pack(
            P.Op.REJECT, b2=int(reason), dlen=P.BHS_LEN, f24=self.next_stat_sn(), f28=exp, f32=mx
        )
        self.send(header, bad.raw)

    def send_async(self, event: int, p1: int = 0, p2: int = 0, p3: int = 0) -> None:
        exp, mx = self.windows()
        header = P.pack(
            P.Op.ASYNC, f24=self.next_stat_sn(), f28=exp, f32=mx,
            f36=(event << 24) | (p1 & 0xFFFF), f40=((p2 & 0xFFFF) << 16) | (p3 & 0xFFFF),
        )  # fmt: skip
        self.send(header)

    async def _watchdog(self) -> None:
        """Ping an idle initiator with NOP-In; drop the connection if it stays silent."""
        with contextlib.suppress(StreamClosed):
            await self._ping_while_idle()

    async def _ping_while_idle(self) -> None:
        interval, timeout = self.server.nop_interval, self.server.nop_timeout
        if not interval:
            return
        loop = self.loop
        while not self._closing:
            idle = loop.time() - self.last_rx
            if idle < interval:
                await asyncio.sleep(interval - idle)
                continue
            exp, mx = self.windows()
            sent = loop.time()
            ping = P.pack(
                P.Op.NOP_IN, f16=P.RESERVED_TAG, f20=self.new_ttt(), f24=self.stat_sn,
                f28=exp, f32=mx,
            )  # fmt: skip
            self.send(ping)
            await asyncio.sleep(timeout)
            if self.last_rx < sent:
                log.info("initiator at %s did not answer NOP-In: closing", self.stream.peer)
                self.shutdown()
                return
