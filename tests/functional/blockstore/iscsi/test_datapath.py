"""SCSI commands through the target: data-out paths, Data-In, residuals, errors, pipelining."""

from __future__ import annotations

import asyncio
import os
import struct
from pathlib import Path

import pytest

from blockstore.iscsi import Target, TargetServer
from blockstore.scsi import LogicalUnit
from tests.functional.blockstore.iscsi.conftest import IQN, make_backing
from tests.functional.blockstore.iscsi.initiator import session

HOST = "127.0.0.1"


def backing_bytes(unit: LogicalUnit, offset: int, length: int) -> bytes:
    with open(unit.path, "rb") as f:
        f.seek(offset)
        return f.read(length)


WRITE_PATHS = {
    # name: operational keys offered by the initiator
    "immediate+unsolicited": {"InitialR2T": "No", "ImmediateData": "Yes"},
    "r2t-only": {"InitialR2T": "Yes", "ImmediateData": "No"},
    "immediate+r2t": {"InitialR2T": "Yes", "ImmediateData": "Yes"},
    "unsolicited-only": {"InitialR2T": "No", "ImmediateData": "No"},
    "small-bursts": {
        "InitialR2T": "Yes",
        "MaxBurstLength": "8192",
        "FirstBurstLength": "4096",
        "MaxOutstandingR2T": "1",
    },
    "parallel-r2t": {"InitialR2T": "Yes", "MaxBurstLength": "8192", "MaxOutstandingR2T": "4"},
    "small-segments": {
        "MaxRecvDataSegmentLength": "512",
        "InitialR2T": "No",
        "FirstBurstLength": "4096",
        "MaxBurstLength": "16384",
    },
}


@pytest.mark.parametrize("path", WRITE_PATHS, ids=list(WRITE_PATHS))
async def test_writes_land_on_disk_and_read_back(server, target, unit, path: str) -> None:
    data = os.urandom(200 * 1024)
    async with session(HOST, server.port, IQN, operational=WRITE_PATHS[path]) as ini:
        if "MaxRecvDataSegmentLength" in WRITE_PATHS[path]:
            ini.target_mrdsl = 8192  # our own PDUs stay small too
        reply = await ini.write16(100, data)
        assert reply.status == 0 and not reply.overflow and not reply.underflow
        if ini.initial_r2t and not ini.immediate_data:
            assert reply.r2ts and reply.r2ts[0][0] == 0
        assert backing_bytes(unit, 100 * 512, len(data)) == data
        back = await ini.read16(100, len(data) // 512)
        assert back.status == 0 and back.data == data
        if path == "small-segments":
            assert back.data_in_pdus == len(data) // 512  # one Data-In per 512 bytes


async def test_r2t_bursts_cover_the_rest_of_the_buffer(server, target) -> None:
    ops = {"InitialR2T": "Yes", "ImmediateData": "Yes", "MaxBurstLength": "65536",
           "FirstBurstLength": "16384"}  # fmt: skip
    async with session(HOST, server.port, IQN, operational=ops) as ini:
        ini.target_mrdsl = 16384
        reply = await ini.write16(0, os.urandom(200 * 1024))
        assert reply.status == 0
        assert reply.r2ts == [(16384, 65536), (81920, 65536), (147456, 57344)]


async def test_read_residuals_and_truncation(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        await ini.write16(0, b"\xab" * 1024)
        cdb = struct.pack(">BBQIBB", 0x88, 0, 0, 2, 0, 0)
        short = await ini.command(cdb, read_len=1024, edtl=700)
        assert short.status == 0 and short.overflow and short.residual == 324
        assert short.data == b"\xab" * 700
        long = await ini.command(cdb, read_len=1024, edtl=4096)
        assert long.status == 0 and long.underflow and long.residual == 3072
        assert len(long.data) == 1024


async def test_write_residuals_come_from_the_cdb(server, target, unit) -> None:
    async with session(HOST, server.port, IQN) as ini:
        cdb = struct.pack(">BBQIBB", 0x8A, 0, 8, 1, 0, 0)  # WRITE(16) of one block
        more = await ini.command(cdb, data_out=b"\x11" * 2048)
        assert more.status == 0 and more.underflow and more.residual == 1536
        assert backing_bytes(unit, 8 * 512, 1024) == b"\x11" * 512 + bytes(512)
        two = struct.pack(">BBQIBB", 0x8A, 0, 20, 2, 0, 0)
        less = await ini.command(two, data_out=b"\x22" * 512)
        assert less.status == 0 and less.overflow and less.residual == 512


async def test_check_condition_carries_sense(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        beyond = await ini.read16(1 << 40, 1)
        assert beyond.status == 2 and beyond.sense_key == 0x05  # ILLEGAL REQUEST
        assert beyond.sense[12] == 0x21  # LBA OUT OF RANGE
        assert beyond.data == b""


async def test_missing_lun_and_report_luns(server, target: Target, tmp_path: Path) -> None:
    async with session(HOST, server.port, IQN) as ini:
        inq = await ini.command(bytes((0x12, 0, 0, 0, 36, 0)), lun=5, read_len=36)
        assert inq.status == 0 and inq.data[0] == 0x7F  # peripheral qualifier 3
        tur = await ini.test_unit_ready(lun=5)
        assert tur.status == 2 and tur.sense[12] == 0x25  # LOGICAL UNIT NOT SUPPORTED
        report = struct.pack(">BBBBBBIBB", 0xA0, 0, 0, 0, 0, 0, 4096, 0, 0)
        luns = await ini.command(report, lun=5, read_len=4096)
        assert luns.status == 0 and struct.unpack(">I", luns.data[:4])[0] == 8
        extra = LogicalUnit(make_backing(tmp_path / "lun3.img", 1 << 20))
        await extra.open()
        target.add_lun(3, extra)  # live: no restart, no new login
        luns = await ini.command(report, read_len=4096)
        assert struct.unpack(">I", luns.data[:4])[0] == 16
        assert (await ini.test_unit_ready(lun=3)).status in (0, 2)  # UA allowed first
        target.remove_lun(3)
        assert (await ini.test_unit_ready(lun=3)).sense[12] == 0x25
        await extra.close()


async def test_read_only_lun_refuses_writes(server: TargetServer, tmp_path: Path) -> None:
    unit = LogicalUnit(make_backing(tmp_path / "ro.img", 1 << 20), read_only=True)
    await unit.open()
    target = server.add_target("iqn.2024-01.org.stratus.test:ro")
    target.add_lun(0, unit)
    target.allow_any_initiator = True
    async with session(HOST, server.port, target.iqn) as ini:
        reply = await ini.write16(0, b"x" * 512)
        assert reply.status == 2 and reply.sense_key == 0x07  # DATA PROTECT
        assert (await ini.read16(0, 1)).status == 0
    await unit.close()


async def test_bad_datasn_fails_the_command_not_the_medium(server, target, unit) -> None:
    ops = {"InitialR2T": "Yes", "ImmediateData": "No"}
    async with session(HOST, server.port, IQN, operational=ops) as ini:
        ini.target_mrdsl = 512
        reply = await ini.write16(0, b"\x55" * 1024, datasn_fault=0)  # DataSN 0, 0
        assert reply.status == 2 and reply.sense_key == 0x0B  # ABORTED COMMAND
        assert backing_bytes(unit, 0, 1024) == bytes(1024)
        reply = await ini.write16(0, b"\x55" * 512, datasn_fault=27)
        assert reply.status == 2
        assert (await ini.write16(0, b"\x66" * 1024)).status == 0  # the session goes on
        assert backing_bytes(unit, 0, 1024) == b"\x66" * 1024


async def test_many_commands_in_flight(server, target) -> None:
    """Pipelined commands finish in any order; each gets its own data back."""
    async with session(HOST, server.port, IQN) as ini:
        blocks = {i: os.urandom(4096) for i in range(48)}
        writes = [ini.write16(i * 8, data) for i, data in blocks.items()]
        assert all(r.status == 0 for r in await asyncio.gather(*writes))
        reads = await asyncio.gather(*(ini.read16(i * 8, 8) for i in blocks))
        assert [r.data for r in reads] == list(blocks.values())


async def test_immediate_scsi_command(server, target) -> None:
    async with session(HOST, server.port, IQN) as ini:
        before = ini.cmd_sn
        assert (await ini.test_unit_ready(immediate=True)).status == 0
        assert ini.cmd_sn == before


async def test_oversized_write_is_refused_before_any_data(unit, target, server) -> None:
    server.max_write_bytes = 64 * 1024
    async with session(HOST, server.port, IQN, operational={"InitialR2T": "Yes"}) as ini:
        reply = await ini.write16(0, os.urandom(128 * 1024))
        assert reply.status == 2 and reply.sense_key == 0x05
        assert reply.r2ts == []  # no R2T was spent on it


async def test_write_budget_answers_task_set_full(unit, target, server) -> None:
    server.write_budget = 64 * 1024
    ops = {"InitialR2T": "Yes", "ImmediateData": "No"}
    async with session(HOST, server.port, IQN, operational=ops) as ini:
        results = await asyncio.gather(*(ini.write16(i * 128, os.urandom(48 * 1024))
                                         for i in range(4)))  # fmt: skip
        statuses = sorted(r.status for r in results)
        assert 0 in statuses and 0x28 in statuses  # some run, some are told to retry
        assert set(statuses) <= {0, 0x28}
        assert (await ini.write16(0, os.urandom(48 * 1024))).status == 0  # budget came back


async def test_reused_data_out_buffers_never_mix_writes(server, target, unit) -> None:
    """Large writes share the connection's pooled buffers; each lands with its own bytes.

    FUA writes run in the I/O pool, so several are in flight at once, each
    holding a buffer while the next ones arrive.
    """

    def write_fua(lba: int, data: bytes):
        cdb = struct.pack(">BBQIBB", 0x8A, 0x08, lba, len(data) // 512, 0, 0)
        return ini.command(cdb, data_out=data)

    async with session(HOST, server.port, IQN) as ini:
        for rounds in range(3):
            chunks = {i: os.urandom(256 * 1024) for i in range(8)}
            step = 256 * 1024 // 512
            replies = await asyncio.gather(*(write_fua(i * step, d) for i, d in chunks.items()))
            assert all(r.status == 0 for r in replies)
            for i, data in chunks.items():
                assert backing_bytes(unit, i * 256 * 1024, len(data)) == data, (rounds, i)
        # A short write into a reused buffer leaves nothing of the last command behind.
        reply = await ini.write16(0, b"\x11" * (128 * 1024))
        assert reply.status == 0
        assert backing_bytes(unit, 0, 128 * 1024) == b"\x11" * (128 * 1024)
        [conn] = [s.connection for s in server.sessions if s.connection is not None]
        assert conn.scsi.pool.idle > 0  # the buffers did come back for reuse
