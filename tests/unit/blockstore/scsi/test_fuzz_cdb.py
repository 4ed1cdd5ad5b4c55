"""Fuzz: random CDBs (every opcode the table serves, with random fields) on a real LU.

Each example runs a few commands, from two initiators, against a logical
unit on a real sparse file. Every command must come back as a SCSI status:
GOOD, or CHECK CONDITION with decodable sense, or RESERVATION CONFLICT;
``execute`` never raises. Length and allocation fields may claim up to 4 GiB:
the memory Python allocates while a command runs stays bounded
(tracemalloc's peak), so no field sizes a buffer by itself.
"""

from __future__ import annotations

import asyncio
import struct
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blockstore.scsi import LogicalUnit, ScsiCommand, Status, decode_sense
from blockstore.scsi.cdb import cdb_length
from blockstore.scsi.opcodes import TABLE
from tests.helpers.fuzz import budget
from tests.unit.blockstore.scsi.conftest import NEXUS_A, NEXUS_B, make_file

OPCODES = sorted({c.opcode for c in TABLE.all(thin=True)})
PEAK_LIMIT = 48 * 1024 * 1024  # an 8 MiB transfer and its copies, not a 4 GiB field
BIG = [0, 1, 0xFF, 0xFFFF, 0xFFFFFFFF, 2047, 2048, 2**63]


@st.composite
def cdbs(draw: st.DrawFn) -> bytes:
    opcode = draw(st.sampled_from(OPCODES) | st.integers(0, 255))
    size = cdb_length(opcode) or draw(st.sampled_from([6, 10, 12, 16, 32]))
    cdb = bytearray(draw(st.binary(min_size=size, max_size=size)))
    cdb[0] = opcode
    if draw(st.booleans()):
        cdb[size - 1] = 0  # a clean CONTROL byte reaches the handler more often
    if draw(st.booleans()) and size >= 10:  # a boundary value in an LBA / length field
        at = draw(st.integers(1, size - 4))
        value = draw(st.sampled_from(BIG)) & 0xFFFFFFFF
        cdb[at : at + 4] = struct.pack(">I", value)
    cut = draw(st.sampled_from([size, size, size, size - 1, 0]))
    return bytes(cdb[:cut])


@st.composite
def commands(draw: st.DrawFn) -> list[ScsiCommand]:
    out = []
    for _ in range(draw(st.integers(1, 4))):
        data = draw(st.none() | st.binary(max_size=2048))
        expected = draw(st.sampled_from([len(data or b""), 0, 512, 0xFFFFFFFF]))
        nexus = draw(st.sampled_from([NEXUS_A, NEXUS_B]))
        view = memoryview(data) if data is not None else None
        out.append(ScsiCommand(draw(cdbs()), nexus, view, expected))
    return out


@pytest.fixture(scope="module")
def backing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_file(tmp_path_factory.mktemp("fuzz") / "vol.img")


async def run_all(path: Path, cmds: list[ScsiCommand]) -> None:
    unit = LogicalUnit(path, serial="fuzz-0001")
    await unit.open()
    try:
        for cmd in cmds:
            tracemalloc.reset_peak()
            result = await unit.execute(cmd)
            assert tracemalloc.get_traced_memory()[1] < PEAK_LIMIT, cmd.cdb.hex()
            ok = (Status.GOOD, Status.CONDITION_MET, Status.RESERVATION_CONFLICT)
            assert result.status in (*ok, Status.CHECK_CONDITION), (cmd.cdb.hex(), result)
            if result.status == Status.CHECK_CONDITION:
                assert result.sense is not None, cmd.cdb.hex()
                decode_sense(result.sense)
            assert len(result.data) <= 8 << 20
    finally:
        await unit.close()


@budget(120)
@given(cmds=commands())
def test_fuzz_cdbs(backing: Path, cmds: list[ScsiCommand]) -> None:
    tracemalloc.start()
    try:
        asyncio.run(run_all(backing, cmds))
    finally:
        tracemalloc.stop()
