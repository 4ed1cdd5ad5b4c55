"""A device on each engine: the same tests run on LMDB and in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from objectstore.node.device import Device, DeviceConfig, make_hasher


@pytest.fixture(params=["lmdb", "memory"])
async def device(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Device]:
    dev = Device(
        "d0",
        str(tmp_path / "d0"),
        make_hasher("pre", "suf"),
        DeviceConfig(inline_threshold=100, engine=request.param, fsync=request.param == "lmdb"),
    )
    yield dev
    await dev.close()
