"""Full feature phase housekeeping: NOP, Reject, Logout, CmdSN windows, digests, pings."""

from __future__ import annotations

import asyncio

from blockstore.iscsi import TargetServer
from blockstore.iscsi import pdu as P
from tests.functional.blockstore.iscsi.conftest import IQN
from tests.functional.blockstore.iscsi.initiator import Initiator, session

HOST = "127.0.0.1"


async def test_nop_out_ping_is_echoed(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        reply = await ini.nop(b"ping-data")
        assert reply.opcode == P.Op.NOP_IN and reply.f20 == P.RESERVED_TAG
        assert bytes(reply.data) == b"ping-data"
        reply = await ini.nop(b"", immediate=False)  # a non-immediate ping uses a CmdSN
        assert reply.opcode == P.Op.NOP_IN


async def test_stat_sn_rises_by_one_per_status(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        first = (await ini.nop()).f24
        await ini.test_unit_ready()
        third = (await ini.nop()).f24
        assert third == (first + 2) & 0xFFFFFFFF


async def test_unknown_opcode_is_rejected_and_the_session_goes_on(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        bad = P.pack(0x1C | P.IMMEDIATE, f16=99, dlen=5)
        await ini.send(bad, b"hello")
        reject = await ini.next_unsolicited()
        assert reject.opcode == P.Op.REJECT and reject.b2 == P.RejectReason.COMMAND_NOT_SUPPORTED
        assert bytes(reject.data)[:1] == bad[:1]  # the rejected header comes back
        await ini.send(P.pack(P.Op.SNACK, f16=100))
        reject = await ini.next_unsolicited()
        assert reject.b2 == P.RejectReason.SNACK_REJECT
        assert (await ini.test_unit_ready()).status == 0


async def test_too_large_data_segment_is_rejected_then_closed(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        await ini.send_raw(P.pack(P.Op.NOP_OUT | P.IMMEDIATE, f16=7, dlen=P.MAX_DATA_SEGMENT))
        reject = await ini.next_unsolicited()
        assert reject.opcode == P.Op.REJECT and reject.b2 == P.RejectReason.PROTOCOL_ERROR
        await ini.wait_closed()
    async with session(HOST, server.port, IQN) as ini:  # and the target serves the next one
        assert (await ini.test_unit_ready()).status == 0


async def test_login_request_in_full_feature_phase_closes(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        await ini.send(P.pack(P.Op.LOGIN | P.IMMEDIATE, f16=5))
        reject = await ini.next_unsolicited()
        assert reject.opcode == P.Op.REJECT
        await ini.wait_closed()


async def test_header_digest_error_closes_the_connection(server, target) -> None:
    async with session(HOST, server.port, IQN, header_digest=True) as ini:
        ini.header_digest = False  # send a header with garbage where the digest goes
        await ini.send_raw(P.pack(P.Op.NOP_OUT | P.IMMEDIATE, f16=3) + b"\0\0\0\0")
        await ini.wait_closed()


async def test_data_digest_error_is_rejected(server, target) -> None:
    async with session(HOST, server.port, IQN, data_digest=True) as ini:
        header = P.pack(P.Op.NOP_OUT | P.IMMEDIATE, f16=4, dlen=4)
        await ini.send_raw(header + b"abcd" + b"\0\0\0\0")
        reject = await ini.next_unsolicited()
        assert reject.b2 == P.RejectReason.DATA_DIGEST_ERROR
        await ini.wait_closed()


async def test_out_of_window_commands_are_ignored(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        good = ini.cmd_sn
        ini.cmd_sn = (ini.max_cmd_sn + 1) & 0xFFFFFFFF  # too high
        itt = ini.next_itt()
        queue = ini._open(itt)
        await ini.send(P.pack(P.Op.NOP_OUT, f16=itt, f20=P.RESERVED_TAG, f24=ini.cmd_sn))
        ini.cmd_sn = (good - 5) & 0xFFFFFFFF  # too low
        await ini.send(P.pack(P.Op.NOP_OUT, f16=itt, f20=P.RESERVED_TAG, f24=ini.cmd_sn))
        ini.cmd_sn = good
        assert (await ini.test_unit_ready()).status == 0  # answered; the others never are
        assert queue.empty()


async def test_a_cmdsn_gap_holds_later_commands(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        first = ini.cmd_sn
        ini.cmd_sn = first + 1
        later = asyncio.ensure_future(ini.test_unit_ready())  # CmdSN first+1: must wait
        await asyncio.sleep(0.2)
        assert not later.done()
        ini.cmd_sn = first
        assert (await ini.nop(immediate=False)).opcode == P.Op.NOP_IN  # fills the gap
        assert (await asyncio.wait_for(later, 5)).status == 0


async def test_logout_closes_the_session(server, target) -> None:
    ini = Initiator(HOST, server.port)
    await ini.login(IQN)
    assert len(server.sessions) == 1
    reply = await ini.logout()
    assert reply.b2 == 0 and reply.f40 >> 16 == 2  # closed; Time2Wait
    await ini.wait_closed()
    ini.close()
    for _ in range(50):
        if not server.sessions:
            break
        await asyncio.sleep(0.02)
    assert server.sessions == []


async def test_logout_for_recovery_is_not_supported(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        assert (await ini.logout(reason=2)).b2 == 2
        assert (await ini.test_unit_ready()).status == 0


async def test_discovery_session_refuses_scsi_commands(server, target) -> None:
    async with session(HOST, server.port, None) as ini:
        await ini.send(P.pack(P.Op.SCSI_COMMAND | P.IMMEDIATE, P.F_FINAL, f16=9))
        reject = await ini.next_unsolicited()
        assert reject.opcode == P.Op.REJECT and reject.b2 == P.RejectReason.PROTOCOL_ERROR


async def test_idle_initiator_is_pinged_then_dropped(unit) -> None:
    server = TargetServer(HOST, 0, nop_interval=0.2, nop_timeout=0.3)
    await server.start()
    try:
        target = server.add_target(IQN)
        target.add_lun(0, unit)
        target.allow_any_initiator = True
        async with session(HOST, server.port, IQN) as ini:
            ping = await ini.next_unsolicited(timeout=5)
            assert ping.opcode == P.Op.NOP_IN and ping.itt == P.RESERVED_TAG
            assert ping.f20 != P.RESERVED_TAG
            answer = P.pack(P.Op.NOP_OUT | P.IMMEDIATE, f16=P.RESERVED_TAG, f20=ping.f20)
            await ini.send(answer)  # answered: the connection stays
            again = await ini.next_unsolicited(timeout=5)
            assert again.opcode == P.Op.NOP_IN
            await ini.wait_closed(timeout=5)  # not answered this time: dropped
    finally:
        await server.stop()
