"""Writeback ahead: a sequential stream of buffered writes starts its own writeback."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from blockstore.scsi import LogicalUnit
from blockstore.scsi.backing import BackingFile
from blockstore.scsi.unit import WRITEBACK_AHEAD_BYTES
from tests.unit.blockstore.scsi.conftest import make_file

MiB = 1024 * 1024


class RecordingBacking(BackingFile):
    """The real backing file, noting each range whose writeback started."""

    def __init__(self, path: str, *, read_only: bool) -> None:
        super().__init__(path, read_only=read_only)
        self.kicked: list[tuple[int, int]] = []

    def start_writeback(self, offset: int, length: int) -> None:
        super().start_writeback(offset, length)
        self.kicked.append((offset, length))


async def unit_on(tmp_path: Path, mib: int = 32) -> tuple[LogicalUnit, RecordingBacking]:
    unit = LogicalUnit(make_file(tmp_path / "vol.img", blocks=mib * MiB // 512))
    backing = RecordingBacking(unit.path, read_only=False)
    unit.backing = backing
    await unit.open()
    return unit, backing


async def settle(backing: RecordingBacking, count: int = 0) -> None:
    """Give the I/O pool time to run the writeback calls (``count`` of them, when known)."""
    for _ in range(1000 if count else 30):
        await asyncio.sleep(0.01)
        if count and len(backing.kicked) >= count:
            return


async def test_a_sequential_stream_is_written_back_as_it_grows(tmp_path: Path) -> None:
    unit, backing = await unit_on(tmp_path)
    data = memoryview(os.urandom(MiB))
    for i in range(16):
        await unit.write(data, i * MiB, sync=False)
    step = WRITEBACK_AHEAD_BYTES
    await settle(backing, 16 * MiB // step)
    assert sorted(backing.kicked) == [(k * step, step) for k in range(16 * MiB // step)]
    assert backing.can_writeback  # the real sync_file_range call worked
    await unit.close()
    with open(unit.path, "rb") as f:
        f.seek(15 * MiB)
        assert f.read(MiB) == bytes(data)


async def test_writes_slightly_out_of_order_still_extend_the_run(tmp_path: Path) -> None:
    unit, backing = await unit_on(tmp_path)
    data = memoryview(os.urandom(MiB))
    for i in (1, 0, 3, 2, 5, 4, 7, 6):  # what a queue depth of 2 can do
        await unit.write(data, i * MiB, sync=False)
    await settle(backing, 2)
    assert sum(n for _, n in backing.kicked) == 8 * MiB
    await unit.close()


async def test_scattered_small_and_sync_writes_start_nothing(tmp_path: Path) -> None:
    unit, backing = await unit_on(tmp_path)
    block = memoryview(os.urandom(4096))
    for i in range(2048):
        await unit.write(block, (i * 7919 * 4096) % (32 * MiB), sync=False)
    big = memoryview(os.urandom(MiB))
    for i in range(8):
        await unit.write(big, i * MiB, sync=True)  # FUA: already on the disk
    for i in range(8):  # far apart: each starts a new run
        await unit.write(big, ((i * 13) % 32) * MiB, sync=False)
    await settle(backing)
    assert backing.kicked == []
    await unit.close()


async def test_writeback_ahead_can_be_turned_off(tmp_path: Path) -> None:
    unit, backing = await unit_on(tmp_path)
    unit.writeback_ahead = 0
    data = memoryview(os.urandom(MiB))
    for i in range(16):
        await unit.write(data, i * MiB, sync=False)
    await settle(backing)
    assert backing.kicked == []
    await unit.close()
