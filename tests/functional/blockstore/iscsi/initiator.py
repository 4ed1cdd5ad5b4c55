"""A small iSCSI initiator for tests: enough to drive every corner of the target.

It speaks the protocol the way RFC 7143 says an initiator does (login
stages, CHAP, digests, immediate/unsolicited/solicited data, CmdSN), and it
can also misbehave on purpose: raw PDUs, wrong DataSN, out-of-window CmdSN,
dropped connections. libiscsi's tools and QEMU are the real clients; this
one reaches what they never send.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import struct
from dataclasses import dataclass, field

from crc32c import crc32c

from blockstore.iscsi import pdu as P
from blockstore.iscsi.textkeys import encode_text, parse_text

INITIATOR = "iqn.2024-01.org.stratus.test:initiator"
_STATUS_PDUS = {
    P.Op.SCSI_RESPONSE, P.Op.NOP_IN, P.Op.TEXT_RESPONSE, P.Op.TASK_MGMT_RESPONSE,
    P.Op.LOGOUT_RESPONSE, P.Op.REJECT, P.Op.ASYNC,
}  # fmt: skip


@dataclass
class Reply:
    """What came back for one SCSI command."""

    status: int
    data: bytes = b""
    sense: bytes = b""
    flags: int = 0
    residual: int = 0
    data_in_pdus: int = 0
    r2ts: list[tuple[int, int]] = field(default_factory=list)

    @property
    def overflow(self) -> bool:
        return bool(self.flags & P.F_OVERFLOW)

    @property
    def underflow(self) -> bool:
        return bool(self.flags & P.F_UNDERFLOW)

    @property
    def sense_key(self) -> int:
        return self.sense[2] & 0x0F if len(self.sense) > 2 else -1


class LoginError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"login failed with status {status:#06x}")
        self.status = status


def chap_response(identifier: int, secret: str, challenge: bytes) -> bytes:
    return hashlib.md5(bytes((identifier,)) + secret.encode() + challenge).digest()


class Initiator:
    """One connection (and its session) to a target."""

    def __init__(self, host: str, port: int, name: str = INITIATOR, isid: bytes | None = None):
        self.host, self.port, self.name = host, port, name
        self.isid = isid or bytes((0x80,)) + os.urandom(5)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cmd_sn = 1
        self.exp_stat_sn = 0
        self.max_cmd_sn = 1
        self.itt = 0
        self.tsih = 0
        self.header_digest = False
        self.data_digest = False
        self.keys: dict[str, str] = {}  # what the target answered at login
        self.target_mrdsl = 8192
        self.first_burst = 65536
        self.max_burst = 262144
        self.immediate_data = True
        self.initial_r2t = True
        self._queues: dict[int, asyncio.Queue[P.Pdu]] = {}
        self.unsolicited: asyncio.Queue[P.Pdu] = asyncio.Queue()
        self._reader_task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    # -- connection -------------------------------------------------------------------

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
        if self.writer is not None:
            self.writer.close()

    def abort(self) -> None:
        """Drop the TCP connection without a FIN handshake (RST)."""
        if self.writer is not None:
            sock = self.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    async def __aenter__(self) -> Initiator:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def next_itt(self) -> int:
        self.itt += 1
        return self.itt

    async def send_raw(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, header: bytes, data: bytes = b"") -> None:
        parts = [header]
        if self.header_digest:
            parts.append(crc32c(header).to_bytes(4, "little"))
        if data:
            padded = data + bytes(P.pad_len(len(data)))
            parts.append(padded)
            if self.data_digest:
                parts.append(crc32c(padded).to_bytes(4, "little"))
        await self.send_raw(b"".join(parts))

    async def read_pdu(self) -> P.Pdu:
        """Read one PDU straight off the socket (before the dispatcher runs)."""
        assert self.reader is not None
        pdu = P.Pdu(await self.reader.readexactly(P.BHS_LEN))
        if pdu.ahs_len:
            pdu.ahs = await self.reader.readexactly(pdu.ahs_len)
        if self.header_digest:
            digest = await self.reader.readexactly(4)
            assert int.from_bytes(digest, "little") == crc32c(pdu.raw + pdu.ahs), "header digest"
        if pdu.dlen:
            padded = await self.reader.readexactly(pdu.dlen + P.pad_len(pdu.dlen))
            if self.data_digest:
                digest = await self.reader.readexactly(4)
                assert int.from_bytes(digest, "little") == crc32c(padded), "data digest"
            pdu.data = padded[: pdu.dlen]
        return pdu

    # -- login ------------------------------------------------------------------------

    async def login_exchange(
        self, keys: list[tuple[str, str]], *, csg: int, nsg: int, transit: bool = True
    ) -> tuple[P.Pdu, dict[str, str]]:
        """One Login Request / Response."""
        data = encode_text(keys)
        flags = (P.F_TRANSIT if transit else 0) | (csg << 2) | nsg
        isid_tsih = self.isid + self.tsih.to_bytes(2, "big")
        header = P.pack(
            P.Op.LOGIN | P.IMMEDIATE, flags, 0, 0, len(data), isid_tsih, self.itt, 0, self.cmd_sn,
            self.exp_stat_sn,
        )  # fmt: skip
        await self.send(header, data)
        reply = await self.read_pdu()
        assert reply.opcode == P.Op.LOGIN_RESPONSE, reply
        self.exp_stat_sn = (reply.f24 + 1) & 0xFFFFFFFF
        status = reply.f36 >> 16
        if status:
            raise LoginError(status)
        return reply, dict(parse_text(reply.data))

    async def login(
        self,
        target: str | None = None,
        *,
        chap: tuple[str, str] | None = None,
        mutual: tuple[str, str] | None = None,
        operational: dict[str, str] | None = None,
        header_digest: bool = False,
        data_digest: bool = False,
        skip_security: bool = False,
    ) -> dict[str, str]:
        """Log in (a discovery session when ``target`` is None); start the dispatcher."""
        if self.reader is None:
            await self.connect()
        first = [("InitiatorName", self.name)]
        first.append(("SessionType", "Normal" if target else "Discovery"))
        if target:
            first.append(("TargetName", target))
        answers: dict[str, str] = {}
        if not skip_security:
            method = "CHAP,None" if chap else "None"
            reply, got = await self.login_exchange(
                [*first, ("AuthMethod", method)], csg=0, nsg=1, transit=not chap
            )
            answers |= got
            if chap:
                assert got.get("AuthMethod") == "CHAP", got
                _, got = await self.login_exchange([("CHAP_A", "5")], csg=0, nsg=1, transit=False)
                answers |= got
                ident, challenge = int(got["CHAP_I"]), bytes.fromhex(got["CHAP_C"][2:])
                keys = [("CHAP_N", chap[0])]
                keys.append(("CHAP_R", "0x" + chap_response(ident, chap[1], challenge).hex()))
                my_id, my_challenge = 7, os.urandom(16)
                if mutual:
                    keys += [("CHAP_I", str(my_id)), ("CHAP_C", "0x" + my_challenge.hex())]
                reply, got = await self.login_exchange(keys, csg=0, nsg=1, transit=True)
                answers |= got
                if mutual:
                    assert got["CHAP_N"] == mutual[0]
                    proof = chap_response(my_id, mutual[1], my_challenge)
                    assert got["CHAP_R"] == "0x" + proof.hex(), "target failed mutual CHAP"
            assert reply.flags & P.F_TRANSIT, "target did not leave the security stage"
            first = []
        ops = {
            "HeaderDigest": "CRC32C,None" if header_digest else "None",
            "DataDigest": "CRC32C,None" if data_digest else "None",
            "MaxRecvDataSegmentLength": "262144",
            "ErrorRecoveryLevel": "0",
            "MaxConnections": "1",
        }
        if target:
            ops |= {"InitialR2T": "No", "ImmediateData": "Yes", "FirstBurstLength": "262144",
                    "MaxBurstLength": "1048576", "MaxOutstandingR2T": "1"}  # fmt: skip
        ops |= operational or {}
        reply, got = await self.login_exchange([*first, *ops.items()], csg=1, nsg=3)
        answers |= got
        assert reply.flags & P.F_TRANSIT and reply.flags & 3 == 3, "no transit to full feature"
        self.tsih = int.from_bytes(reply.lun[6:8], "big")
        self.cmd_sn = reply.f28
        self.max_cmd_sn = reply.f32
        self.keys = answers
        self.header_digest = answers.get("HeaderDigest") == "CRC32C"
        self.data_digest = answers.get("DataDigest") == "CRC32C"
        self.target_mrdsl = int(answers.get("MaxRecvDataSegmentLength", "8192"))
        self.first_burst = int(answers.get("FirstBurstLength", "65536"))
        self.max_burst = int(answers.get("MaxBurstLength", "262144"))
        self.immediate_data = answers.get("ImmediateData", "Yes") == "Yes"
        self.initial_r2t = answers.get("InitialR2T", "Yes") == "Yes"
        self._reader_task = asyncio.get_running_loop().create_task(self._dispatch())
        return answers

    async def _dispatch(self) -> None:
        try:
            while True:
                pdu = await self.read_pdu()
                status_pdu = pdu.opcode in _STATUS_PDUS or (
                    pdu.opcode == P.Op.DATA_IN and pdu.flags & P.F_STATUS
                )
                if status_pdu and not (pdu.opcode == P.Op.NOP_IN and pdu.itt == P.RESERVED_TAG):
                    self.exp_stat_sn = (pdu.f24 + 1) & 0xFFFFFFFF
                if pdu.opcode != P.Op.REJECT:
                    self.max_cmd_sn = pdu.f32
                queue = self._queues.get(pdu.itt)
                if queue is not None and pdu.itt != P.RESERVED_TAG:
                    queue.put_nowait(pdu)
                else:
                    self.unsolicited.put_nowait(pdu)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed.set()

    def _open(self, itt: int) -> asyncio.Queue[P.Pdu]:
        queue: asyncio.Queue[P.Pdu] = asyncio.Queue()
        self._queues[itt] = queue
        return queue

    async def _next(self, queue: asyncio.Queue[P.Pdu], timeout: float = 10) -> P.Pdu:
        async with asyncio.timeout(timeout):
            return await queue.get()

    def _take_cmd_sn(self, immediate: bool) -> int:
        sn = self.cmd_sn
        if not immediate:
            self.cmd_sn = (sn + 1) & 0xFFFFFFFF
        return sn

    # -- full feature phase -----------------------------------------------------------

    async def command(
        self,
        cdb: bytes,
        *,
        lun: int = 0,
        data_out: bytes = b"",
        read_len: int = 0,
        edtl: int | None = None,
        datasn_fault: int | None = None,
        immediate: bool = False,
        timeout: float = 10,
    ) -> Reply:
        """One SCSI command, its data-out (immediate, unsolicited, solicited) and reply."""
        itt = self.next_itt()
        queue = self._open(itt)
        try:
            write = bool(data_out)
            length = edtl if edtl is not None else (len(data_out) if write else read_len)
            first = 0
            if write and self.immediate_data:
                first = min(len(data_out), self.first_burst, self.target_mrdsl)
            unsolicited_end = first
            if write and not self.initial_r2t:
                unsolicited_end = min(len(data_out), self.first_burst)
            flags = P.F_FINAL if unsolicited_end == first else 0
            flags |= (P.F_READ if read_len else 0) | (P.F_WRITE if write else 0) | 1
            cdb16 = cdb.ljust(16, b"\0")[:16]
            header = P.pack(
                P.Op.SCSI_COMMAND | (P.IMMEDIATE if immediate else 0), flags, 0, 0, first,
                P.encode_lun(lun), itt, length, self._take_cmd_sn(immediate), self.exp_stat_sn,
                *struct.unpack(">4I", cdb16),
            )  # fmt: skip
            await self.send(header, data_out[:first])
            if unsolicited_end > first:
                await self._data_out(itt, lun, P.RESERVED_TAG, data_out, first,
                                     unsolicited_end - first, datasn_fault)  # fmt: skip
            reply = Reply(0)
            data = bytearray()
            while True:
                pdu = await self._next(queue, timeout)
                if pdu.opcode == P.Op.R2T:
                    reply.r2ts.append((pdu.f40, pdu.f44))
                    await self._data_out(itt, lun, pdu.f20, data_out, pdu.f40, pdu.f44,
                                         datasn_fault)  # fmt: skip
                elif pdu.opcode == P.Op.DATA_IN:
                    assert pdu.f36 == reply.data_in_pdus, "DataSN out of order"
                    assert pdu.f40 == len(data), "buffer offset out of order"
                    data += pdu.data
                    reply.data_in_pdus += 1
                    if pdu.flags & P.F_STATUS:
                        reply.status, reply.flags, reply.residual = pdu.b3, pdu.flags, pdu.f44
                        break
                elif pdu.opcode == P.Op.SCSI_RESPONSE:
                    reply.status, reply.flags, reply.residual = pdu.b3, pdu.flags, pdu.f44
                    if pdu.dlen >= 2:
                        n = int.from_bytes(pdu.data[:2], "big")
                        reply.sense = bytes(pdu.data[2 : 2 + n])
                    break
                else:
                    raise AssertionError(f"unexpected {pdu!r} for a SCSI command")
            reply.data = bytes(data)
            return reply
        finally:
            self._queues.pop(itt, None)

    async def _data_out(
        self, itt: int, lun: int, ttt: int, data: bytes, offset: int, length: int,
        datasn_fault: int | None,
    ) -> None:  # fmt: skip
        end, sn = offset + length, 0
        while offset < end:
            n = min(self.target_mrdsl, end - offset)
            last = offset + n == end
            data_sn = datasn_fault if datasn_fault is not None else sn
            header = P.pack(
                P.Op.DATA_OUT, P.F_FINAL if last else 0, 0, 0, n, P.encode_lun(lun), itt, ttt,
                0, self.exp_stat_sn, 0, data_sn, offset, 0,
            )  # fmt: skip
            await self.send(header, data[offset : offset + n])
            offset, sn = offset + n, sn + 1

    async def read16(self, lba: int, blocks: int, block_size: int = 512, **kw) -> Reply:
        cdb = struct.pack(">BBQIBB", 0x88, 0, lba, blocks, 0, 0)
        return await self.command(cdb, read_len=blocks * block_size, **kw)

    async def write16(self, lba: int, data: bytes, block_size: int = 512, **kw) -> Reply:
        cdb = struct.pack(">BBQIBB", 0x8A, 0, lba, len(data) // block_size, 0, 0)
        return await self.command(cdb, data_out=data, **kw)

    async def test_unit_ready(self, **kw) -> Reply:
        return await self.command(bytes(6), **kw)

    async def request(
        self,
        opcode: int,
        *,
        flags: int = P.F_FINAL,
        data: bytes = b"",
        immediate: bool = True,
        lun: bytes = bytes(8),
        f20: int = P.RESERVED_TAG,
        f32: int = 0,
        timeout: float = 10,
        itt: int | None = None,
    ) -> P.Pdu:
        """Send a non-SCSI request PDU and return the target's reply to it."""
        itt = self.next_itt() if itt is None else itt
        queue = self._open(itt)
        try:
            header = P.pack(
                opcode | (P.IMMEDIATE if immediate else 0), flags, 0, 0, len(data), lun, itt,
                f20, self._take_cmd_sn(immediate), self.exp_stat_sn, f32,
            )  # fmt: skip
            await self.send(header, data)
            return await self._next(queue, timeout)
        finally:
            self._queues.pop(itt, None)

    async def nop(self, data: bytes = b"", **kw) -> P.Pdu:
        return await self.request(P.Op.NOP_OUT, data=data, **kw)

    async def text(self, keys: list[tuple[str, str]]) -> dict[str, list[str]]:
        """A Text exchange (following C-bit continuations); values per key, in order."""
        reply = await self.request(P.Op.TEXT, data=encode_text(keys), immediate=False)
        text = bytearray(reply.data)
        while reply.flags & P.F_CONTINUE:
            reply = await self.request(P.Op.TEXT, immediate=False, f20=reply.f20, itt=reply.itt)
            text += reply.data
        out: dict[str, list[str]] = {}
        for k, v in parse_text(bytes(text)):
            out.setdefault(k, []).append(v)
        return out

    async def tmf(self, function: int, *, lun: int = 0, ref_itt: int = P.RESERVED_TAG,
                  ref_cmd_sn: int = 0) -> int:  # fmt: skip
        reply = await self.request(
            P.Op.TASK_MGMT, flags=P.F_FINAL | function, lun=P.encode_lun(lun), f20=ref_itt,
            f32=ref_cmd_sn,
        )  # fmt: skip
        assert reply.opcode == P.Op.TASK_MGMT_RESPONSE, reply
        return reply.b2

    async def logout(self, reason: int = 0) -> P.Pdu:
        reply = await self.request(P.Op.LOGOUT, flags=P.F_FINAL | reason, immediate=True, f20=0)
        assert reply.opcode == P.Op.LOGOUT_RESPONSE, reply
        return reply

    async def next_unsolicited(self, timeout: float = 10) -> P.Pdu:
        async with asyncio.timeout(timeout):
            return await self.unsolicited.get()

    async def wait_closed(self, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            await self.closed.wait()


@contextlib.asynccontextmanager
async def session(host: str, port: int, target: str | None, **login_kw):  # type: ignore[no-untyped-def]
    """A logged-in initiator, closed on exit."""
    ini = Initiator(host, port, **{k: login_kw.pop(k) for k in ("name", "isid") if k in login_kw})
    await ini.connect()
    try:
        await ini.login(target, **login_kw)
        yield ini
    finally:
        ini.close()
