"""Task management: aborts end tasks silently, resets leave unit attentions."""

from __future__ import annotations

import asyncio
import struct

from blockstore.iscsi import pdu as P
from tests.functional.blockstore.iscsi.conftest import IQN
from tests.functional.blockstore.iscsi.initiator import Initiator, session

HOST = "127.0.0.1"
F, R = P.TmfFunction, P.TmfResponse


async def start_write_waiting_for_r2t(ini: Initiator, lba: int = 0) -> tuple[int, int, object]:
    """A WRITE(16) whose data the target has asked for (R2T) but not received."""
    itt = ini.next_itt()
    queue = ini._open(itt)
    cmd_sn = ini.cmd_sn
    cdb = struct.pack(">BBQIBB", 0x8A, 0, lba, 8, 0, 0)
    header = P.pack(
        P.Op.SCSI_COMMAND, P.F_FINAL | P.F_WRITE | 1, 0, 0, 0, P.encode_lun(0), itt, 4096,
        ini._take_cmd_sn(False), ini.exp_stat_sn, *struct.unpack(">4I", cdb),
    )  # fmt: skip
    await ini.send(header)
    r2t = await asyncio.wait_for(queue.get(), 5)
    assert r2t.opcode == P.Op.R2T
    return itt, cmd_sn, queue


OPS = {"InitialR2T": "Yes", "ImmediateData": "No"}


async def test_abort_task_ends_it_without_a_response(server, target, unit) -> None:
    async with session(HOST, server.port, IQN, operational=OPS) as ini:
        itt, cmd_sn, queue = await start_write_waiting_for_r2t(ini)
        assert await ini.tmf(F.ABORT_TASK, ref_itt=itt, ref_cmd_sn=cmd_sn) == R.FUNCTION_COMPLETE
        late = P.pack(P.Op.DATA_OUT, P.F_FINAL, 0, 0, 4096, P.encode_lun(0), itt, 1)
        await ini.send(late, b"\x99" * 4096)  # data for the aborted task is dropped
        assert (await ini.test_unit_ready()).status == 0
        assert queue.empty()  # type: ignore[attr-defined]
        with open(unit.path, "rb") as f:
            assert f.read(4096) == bytes(4096)
        gone = await ini.tmf(F.ABORT_TASK, ref_itt=itt, ref_cmd_sn=cmd_sn)
        assert gone == R.TASK_DOES_NOT_EXIST


async def test_abort_task_set_and_clear_task_set(server, target) -> None:
    async with session(HOST, server.port, IQN, operational=OPS) as ini:
        for function in (F.ABORT_TASK_SET, F.CLEAR_TASK_SET):
            _, _, queue = await start_write_waiting_for_r2t(ini)
            assert await ini.tmf(function) == R.FUNCTION_COMPLETE
            assert (await ini.test_unit_ready()).status == 0
            assert queue.empty()  # type: ignore[attr-defined]
        assert await ini.tmf(F.ABORT_TASK_SET, lun=9) == R.LUN_DOES_NOT_EXIST


async def test_lun_reset_leaves_a_unit_attention_for_every_nexus(server, target) -> None:
    async with (
        session(HOST, server.port, IQN) as a,
        session(HOST, server.port, IQN, name="iqn.2024-01.org.stratus.test:b") as b,
    ):
        for ini in (a, b):  # clear the power-on unit attention first
            while (await ini.test_unit_ready()).status != 0:
                pass
        assert await a.tmf(F.LOGICAL_UNIT_RESET) == R.FUNCTION_COMPLETE
        for ini in (a, b):
            reply = await ini.test_unit_ready()
            assert reply.status == 2 and reply.sense_key == 0x06  # UNIT ATTENTION
            assert (reply.sense[12], reply.sense[13]) == (0x29, 0x03)
            assert (await ini.test_unit_ready()).status == 0
        assert await a.tmf(F.LOGICAL_UNIT_RESET, lun=4) == R.LUN_DOES_NOT_EXIST
        assert await a.tmf(F.TARGET_WARM_RESET) == R.FUNCTION_COMPLETE
        assert (await b.test_unit_ready()).sense_key == 0x06


async def test_other_functions_are_not_supported(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        for function in (F.CLEAR_ACA, F.TASK_REASSIGN, 11):
            assert await ini.tmf(function) == R.NOT_SUPPORTED
        assert (await ini.test_unit_ready()).status in (0, 2)


async def test_target_cold_reset_closes_every_connection(server, target) -> None:
    async with (
        session(HOST, server.port, IQN) as a,
        session(HOST, server.port, IQN, name="iqn.2024-01.org.stratus.test:b") as b,
    ):
        assert await a.tmf(F.TARGET_COLD_RESET) == R.FUNCTION_COMPLETE
        await a.wait_closed()
        await b.wait_closed()
    async with session(HOST, server.port, IQN) as c:  # and the target takes new logins
        reply = await c.test_unit_ready()
        assert reply.status == 0 or reply.sense_key == 0x06
