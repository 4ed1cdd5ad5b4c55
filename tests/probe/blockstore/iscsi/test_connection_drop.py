"""Initiators vanish mid-write: the target survives, and no other data is touched.

A connection is reset (RST, no logout) at every stage of a write: right
after the command, halfway through its data, after all of it. Meanwhile
another session keeps writing and reading its own blocks. Afterwards the
acknowledged data is intact, the dropped write's region is either wholly
old or wholly new, and new sessions work.
"""

from __future__ import annotations

import asyncio
import os
import struct

import pytest

from blockstore.iscsi import pdu as P
from tests.functional.blockstore.iscsi.conftest import IQN
from tests.functional.blockstore.iscsi.initiator import Initiator, session

HOST = "127.0.0.1"
MiB = 1024 * 1024
ONE_BY_ONE = {"InitialR2T": "Yes", "ImmediateData": "No", "MaxBurstLength": "262144"}


def region(unit, offset: int, length: int) -> bytes:
    with open(unit.path, "rb") as f:
        f.seek(offset)
        return f.read(length)


async def dropped_write(port: int, lba: int, data: bytes, stage: str) -> None:
    """Start a WRITE(16) and reset the connection at ``stage``."""
    ini = Initiator(HOST, port)
    await ini.login(IQN, operational=ONE_BY_ONE)
    itt = ini.next_itt()
    queue = ini._open(itt)
    cdb = struct.pack(">BBQIBB", 0x8A, 0, lba, len(data) // 512, 0, 0)
    header = P.pack(
        P.Op.SCSI_COMMAND, P.F_FINAL | P.F_WRITE | 1, 0, 0, 0, P.encode_lun(0), itt, len(data),
        ini._take_cmd_sn(False), ini.exp_stat_sn, *struct.unpack(">4I", cdb),
    )  # fmt: skip
    await ini.send(header)
    sent = 0
    while stage != "after-command":
        r2t = await asyncio.wait_for(queue.get(), 10)
        if r2t.opcode != P.Op.R2T:
            break  # the command completed: every byte was sent
        offset, length = r2t.f40, r2t.f44
        if stage == "mid-data" and sent + length > len(data) // 2:
            length //= 2  # half a burst, no F bit
            out = P.pack(P.Op.DATA_OUT, 0, 0, 0, length, P.encode_lun(0), itt, r2t.f20, 0,
                         ini.exp_stat_sn, 0, 0, offset)  # fmt: skip
            await ini.send(out, data[offset : offset + length])
            break
        await ini._data_out(itt, 0, r2t.f20, data, offset, length, None)
        sent += length
        if stage == "all-data" and sent == len(data):
            break
    ini.abort()


async def busy_neighbour(port: int, stop: asyncio.Event, lba: int) -> int:
    """Write and verify our own blocks until told to stop; returns rounds done."""
    rounds = 0
    async with session(HOST, port, IQN) as ini:
        while not stop.is_set() and rounds < 200:
            data = os.urandom(64 * 1024)
            assert (await ini.write16(lba, data)).status == 0
            assert (await ini.read16(lba, len(data) // 512)).data == data
            rounds += 1
    return rounds


@pytest.mark.parametrize("stage", ["after-command", "mid-data", "all-data"])
async def test_dropped_write_leaves_other_data_alone(server, target, unit, stage: str) -> None:
    acknowledged = os.urandom(MiB)
    async with session(HOST, server.port, IQN) as ini:
        assert (await ini.write16(0, acknowledged)).status == 0
    stop = asyncio.Event()
    neighbour = asyncio.ensure_future(busy_neighbour(server.port, stop, lba=12 * MiB // 512))
    new = os.urandom(2 * MiB)
    for _ in range(3):
        await dropped_write(server.port, 4 * MiB // 512, new, stage)
    stop.set()
    assert await asyncio.wait_for(neighbour, 60) >= 1
    async with session(HOST, server.port, IQN) as ini:  # the target still serves
        assert (await ini.read16(0, MiB // 512)).data == acknowledged
        after = (await ini.read16(4 * MiB // 512, len(new) // 512)).data
    assert region(unit, 0, MiB) == acknowledged
    assert after in (bytes(len(new)), new), "a dropped write was torn or mixed"
    if stage != "all-data":
        assert after == bytes(len(new)), "an incomplete write must never reach the medium"
    for _ in range(100):  # the dropped connections' sessions are gone
        if len(server.sessions) == 0:
            break
        await asyncio.sleep(0.02)
    assert server.sessions == []
