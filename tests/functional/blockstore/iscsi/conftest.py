"""A real target on a loopback port serving a real logical unit on a sparse temp file.

These run on the default asyncio loop; the e2e tests run the target as
``stratus target export``, on uvloop, so both loops are exercised.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from blockstore.iscsi import TargetServer
from blockstore.scsi import LogicalUnit

IQN = "iqn.2024-01.org.stratus.test:vol0"
LUN_BYTES = 16 * 1024 * 1024


def make_backing(path: Path, size: int = LUN_BYTES) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)
    return path


@pytest.fixture
async def unit(tmp_path: Path):
    lu = LogicalUnit(make_backing(tmp_path / "vol0.img"), serial="vol0")
    await lu.open()
    yield lu
    await lu.close()


@pytest.fixture
async def server():
    srv = TargetServer("127.0.0.1", 0, nop_interval=0)
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def target(server: TargetServer, unit: LogicalUnit):
    tgt = server.add_target(IQN, alias="test volume")
    tgt.add_lun(0, unit)
    tgt.allow_any_initiator = True
    return tgt
