"""A real volume manager on a temp directory: LMDB records, sparse files, and
(``target=True``) the built-in iSCSI target on a free loopback port.

``volumes`` is a :class:`Rig`; ``await rig.restart()`` closes the manager
and opens a new one on the same records and files, which is what a service
restart does (the target restarts empty, as a new process's would).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from blockstore.backend import FileBackend
from blockstore.manager import Caller, Settings, Store
from blockstore.manager.reconcile import Reconciled
from blockstore.services import VolumeServices as Manager

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
    objects: Any = None

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
        self.manager = Manager(
            self.store, self.backend, self.driver, self.settings, objects=self.objects
        )
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


# -- the HTTP API on a free port, with identity tokens --------------------------------


@dataclass
class Api:
    """The volume API served from a rig's manager; clients per project."""

    rig: Rig
    url: str
    identity: Any
    runner: Any
    clients: dict[str, Any] = field(default_factory=dict)

    def token(self, project: str, user: str, role: str = "member") -> str:
        from stratus.identity import AlreadyExists, NotFound

        with contextlib.suppress(AlreadyExists):
            self.identity.create_project(project)
        try:
            self.identity.get_user(project, user)
        except NotFound:
            self.identity.create_user(project, user, role=role)
        return self.identity.issue_token(project, user, 3600)[0]

    def client(self, project: str, user: str = "user", role: str = "member") -> Any:
        from blockstore.client import VolumeClient

        key = f"{project}:{user}"
        if key not in self.clients:
            self.clients[key] = VolumeClient(self.url, self.token(project, user, role), project)
        return self.clients[key]

    async def close(self) -> None:
        for c in self.clients.values():
            await c.close()
        await self.runner.cleanup()


async def start_api(rig: Rig, identity: Any) -> Api:
    from aiohttp import web

    from blockstore.api import make_app
    from tests.helpers.net import free_port

    runner = web.AppRunner(make_app(rig.manager, identity), access_log=None, shutdown_timeout=5)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, reuse_address=True).start()
    return Api(rig, f"http://127.0.0.1:{port}", identity, runner)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """The API over a targeted rig (no object store: backups answer 400)."""
    from stratus.identity import IdentityStore

    identity = IdentityStore(tmp_path / "identity")
    rig = await Rig(tmp_path / "svc", small_settings(), target=True).open()
    served = await start_api(rig, identity)
    yield served
    await served.close()
    await asyncio.wait_for(rig.close(), 30)
    identity.close()


# -- backups: a real object store (one node, one replica) behind ObjectAccess ---------

from tests.functional.objectstore.conftest import make_cluster  # noqa: E402, F401 (fixture)


@pytest.fixture
async def backups(tmp_path: Path, make_cluster) -> AsyncIterator[Rig]:  # type: ignore[no-untyped-def]  # noqa: F811
    """A rig whose backups go to a real proxy; 1 MiB chunks keep the tests small."""
    from blockstore.backup.objects import ObjectAccess
    from blockstore.manager.core import BackupSettings

    cluster = await make_cluster(nodes=1, replicas=1)
    cluster.token("alpha", "alice")  # creates the project and user the tests act as
    cluster.token("beta", "bob")
    settings = small_settings()
    settings.backup = BackupSettings(chunk_size=1024 * 1024, concurrency=4)
    rig = Rig(tmp_path / "svc", settings, target=False)
    rig.objects = ObjectAccess(cluster.url, cluster.identity)
    await rig.open()
    rig.cluster = cluster  # type: ignore[attr-defined]
    yield rig
    await rig.close()
    await rig.objects.close()
