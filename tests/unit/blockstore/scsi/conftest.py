"""A real logical unit on a real sparse temp file, and CDB helpers."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from blockstore.scsi import LogicalUnit, Nexus, ScsiCommand, ScsiResult, decode_sense

BLOCKS = 2048
NEXUS_A = Nexus("iqn.2024-01.test:a,i,0x400001370000", "iqn.2024-01.test:t,t,0x0001")
NEXUS_B = Nexus("iqn.2024-01.test:b,i,0x400001370001", "iqn.2024-01.test:t,t,0x0001")


def make_file(path: Path, blocks: int = BLOCKS, block_size: int = 512) -> Path:
    with open(path, "wb") as f:
        f.truncate(blocks * block_size)
    return path


@pytest.fixture
async def lu(tmp_path: Path):
    unit = LogicalUnit(make_file(tmp_path / "vol.img"), serial="vol-0001")
    await unit.open()
    yield unit
    await unit.close()


async def run(
    unit: LogicalUnit, cdb: bytes, data: bytes | None = None, nexus: Nexus = NEXUS_A
) -> ScsiResult:
    view = memoryview(data) if data is not None else None
    cmd = ScsiCommand(cdb, nexus, view, len(data) if data else 0)
    return await unit.execute(cmd)


def sense_of(result: ScsiResult) -> tuple[int, int, int]:
    assert result.status == 0x02, f"expected CHECK CONDITION, got {result.status:#x}"
    assert result.sense is not None
    return decode_sense(result.sense)


def read10(lba: int, blocks: int, flags: int = 0) -> bytes:
    return struct.pack(">BBIBHB", 0x28, flags, lba, 0, blocks, 0)


def write10(lba: int, blocks: int, flags: int = 0) -> bytes:
    return struct.pack(">BBIBHB", 0x2A, flags, lba, 0, blocks, 0)


def read16(lba: int, blocks: int, flags: int = 0) -> bytes:
    return struct.pack(">BBQIBB", 0x88, flags, lba, blocks, 0, 0)


def write16(lba: int, blocks: int, flags: int = 0) -> bytes:
    return struct.pack(">BBQIBB", 0x8A, flags, lba, blocks, 0, 0)


def inquiry(evpd: bool = False, page: int = 0, alloc: int = 255) -> bytes:
    return struct.pack(">BBBHB", 0x12, int(evpd), page, alloc, 0)
