"""A real volume manager on a temp directory: LMDB records, sparse files, and
(``target=True``) the built-in iSCSI target on a free loopback port.

``volumes`` is a :class:`Rig`; ``await rig.restart()`` closes the manager
and opens a new one on the same records and files, which is what a service
restart does (the target restarts empty, as a new process's would).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from blockstore.backend import FileBackend
from blockstore.manager import Caller, Settings, Store
from blockstore.manager.manager import Manager
from blockstore.manager.reconcile import Reconciled

ALICE = Caller("alpha", "alice", ("member",))
BOB = Caller("beta", "bob", ("member",))
READER = Caller("alpha", "rita", ("reader",))
ADMIN = Caller("admin", "admin", ("admin",))


@dataclass
class Rig:
    root: Path
    settings: Settings
    target: bool
    manager: Manager = field(init=False)
    store: Store = field(init=False)
    backend: FileBackend = field(init=False)
    driver: Any = None
    server: Any = None
    reconciled: Reconciled | None = None
    port: int = 0

    async def open(self) -> Rig:
        self.store = Store(self.root / "records")
        self.backend = FileBackend(self.root / "files")
        if self.target:
            from blockstore.export.userspace import UserspaceDriver
            from blockstore.iscsi import TargetServer

            self.server = TargetServer("127.0.0.1", self.port, nop_interval=0, logout_grace=0.2)
            await self.server.start()
            self.port = self.server.port  # a restart listens where initiators were told
            self.driver = UserspaceDriver(self.server)
        self.manager = Manager(self.store, self.backend, self.driver, self.settings)
        self.reconciled = await self.manager.start()
        return self

    async def close(self) -> None:
        await self.manager.close()
        if self.driver is not None:
            await self.driver.close()
        if self.server is not None:
            await self.server.stop()
        self.store.close()

    async def restart(self) -> Reconciled:
        await self.close()
        await self.open()
        assert self.reconciled is not None
        return self.reconciled

    async def idle(self) -> None:
        await self.manager.wait_idle()

    async def wait_status(self, caller: Caller, volume_id: str, status: str) -> Any:
        await self.idle()
        vol = self.manager.get_volume(caller, volume_id)
        assert vol.status == status, (vol.status, vol.fail_reason)
        return vol


def small_settings(**quota: int) -> Settings:
    s = Settings()
    s.quota_defaults.update(quota)
    s.max_volume_gb = 64
    return s


@pytest.fixture
async def volumes(tmp_path: Path) -> AsyncIterator[Rig]:
    rig = await Rig(tmp_path / "svc", small_settings(), target=False).open()
    yield rig
    await rig.close()


@pytest.fixture
async def targeted(tmp_path: Path) -> AsyncIterator[Rig]:
    """A rig whose manager exports through the userspace target."""
    rig = await Rig(tmp_path / "svc", small_settings(), target=True).open()
    yield rig
    await asyncio.wait_for(rig.close(), 30)
