"""The userspace ExportDriver on a real TargetServer: converging, idempotent, tidy."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockstore.export.base import Acl, ExportDriver, ExportError, ExportSpec
from blockstore.export.userspace import UserspaceDriver
from blockstore.iscsi import TargetServer
from tests.functional.blockstore.iscsi.initiator import LoginError, session

IQN = "iqn.2026-11.io.stratus:volume-v1"
HOST_A = "iqn.2024-01.org.stratus.test:host-a"
HOST_B = "iqn.2024-01.org.stratus.test:host-b"


@pytest.fixture
async def driver(tmp_path: Path):
    server = TargetServer("127.0.0.1", 0, nop_interval=0, logout_grace=0.2)
    await server.start()
    drv = UserspaceDriver(server)
    yield drv
    await drv.close()
    await server.stop()


def spec_for(path: Path, *acls: Acl, read_only: bool = False) -> ExportSpec:
    return ExportSpec("v1", str(path), IQN, 0, read_only, tuple(acls))


def backing(tmp_path: Path) -> Path:
    path = tmp_path / "v1.img"
    with open(path, "wb") as f:
        f.truncate(1 << 20)
    return path


async def test_it_is_an_export_driver_and_converges(
    driver: UserspaceDriver, tmp_path: Path
) -> None:
    assert isinstance(driver, ExportDriver)
    path = backing(tmp_path)
    acl = Acl(HOST_A, "user-a", "secret-a-123456")
    info = await driver.ensure_export(spec_for(path, acl))
    unit = driver.unit(IQN)
    again = await driver.ensure_export(spec_for(path, acl))
    assert driver.unit(IQN) is unit  # nothing reopened
    assert info == again and info.auth_username == "user-a"
    assert await driver.list_exports() == [IQN]
    await driver.ensure_export(spec_for(path, acl, read_only=True))
    assert driver.unit(IQN) is not unit and driver.unit(IQN).read_only


async def test_acl_changes_end_the_sessions_that_lost_access(
    driver: UserspaceDriver, tmp_path: Path
) -> None:
    path = backing(tmp_path)
    a, b = Acl(HOST_A, "user-a", "secret-a-123456"), Acl(HOST_B, "user-b", "secret-b-123456")
    await driver.ensure_export(spec_for(path, a, b))
    port = driver.server.port
    async with session(
        "127.0.0.1", port, IQN, name=HOST_B, chap=("user-b", "secret-b-123456")
    ) as s:
        await driver.ensure_export(spec_for(path, a))
        await s.wait_closed(timeout=10)
    with pytest.raises(LoginError):
        async with session("127.0.0.1", port, IQN, name=HOST_B, chap=("user-b", "secret-b-123456")):
            pass
    async with session("127.0.0.1", port, IQN, name=HOST_A, chap=("user-a", "secret-a-123456")):
        pass


async def test_remove_is_idempotent_and_missing_files_are_refused(
    driver: UserspaceDriver, tmp_path: Path
) -> None:
    await driver.remove_export(IQN)
    with pytest.raises(ExportError):
        await driver.ensure_export(spec_for(tmp_path / "missing.img"))
    path = backing(tmp_path)
    await driver.ensure_export(spec_for(path, Acl(HOST_A, "u", "secret-a-123456")))
    await driver.remove_export(IQN)
    assert await driver.list_exports() == []
