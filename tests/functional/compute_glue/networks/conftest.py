"""The network API with a real host side (bridges and taps), under a prefix unique to the test.

Every test gets its own interface prefix, so reconciliation in one test can
never touch another's interfaces, and the fixture removes whatever a failed
test left behind.
"""

from __future__ import annotations

import contextlib
import os
import random
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from compute_glue.networks import nat
from compute_glue.networks.api import make_app
from compute_glue.networks.client import NetworkClient
from compute_glue.networks.manager import NetSettings, NetworkManager
from compute_glue.networks.netlink import HostNet
from stratus.http.server import listen, serving
from stratus.identity import AlreadyExists, IdentityStore, NotFound
from tests.helpers.tools import missing_tool


def unique_prefix() -> str:
    """4 characters: 'z' and three random letters/digits."""
    return "z" + "".join(random.choices(string.ascii_lowercase + string.digits, k=3))


def need_net_admin() -> None:
    if os.geteuid() != 0:
        missing_tool("root (CAP_NET_ADMIN) is needed to make bridges and taps")


@dataclass
class NetRig:
    root: Path
    prefix: str
    identity: IdentityStore
    host: HostNet = field(default_factory=HostNet)
    manager: NetworkManager | None = None
    url: str = ""
    nat: bool = False
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    async def start(self) -> dict[str, list[str]]:
        self._stack = contextlib.AsyncExitStack()
        self.manager = NetworkManager(
            self.root / "records", self.host, NetSettings(self.prefix, self.nat)
        )
        report = await self.manager.start()
        root = web.Application()
        root.add_subapp("/v2.0", make_app(self.manager, self.identity))
        port = await self._stack.enter_async_context(serving(root, listen("127.0.0.1", 0)))
        self.url = f"http://127.0.0.1:{port}"
        return report

    async def stop(self) -> None:
        await self._stack.aclose()
        if self.manager is not None:
            self.manager.close()
            self.manager = None

    def token(self, project: str, user: str = "user", role: str = "member") -> str:
        with contextlib.suppress(AlreadyExists):
            self.identity.create_project(project)
        try:
            self.identity.get_user(project, user)
            self.identity.set_role(project, user, role)
        except NotFound:
            self.identity.create_user(project, user, role=role)
        return self.identity.issue_token(project, user, 3600)[0]

    async def client(self, project: str, user: str = "user", role: str = "member") -> NetworkClient:
        c = NetworkClient(self.url, self.token(project, user, role))
        self._stack.push_async_callback(c.close)
        return c

    async def links(self) -> dict[str, dict]:
        return await self.host.links(self.prefix)


@pytest.fixture
async def nets(tmp_path: Path) -> AsyncIterator[NetRig]:
    need_net_admin()
    identity = IdentityStore(tmp_path / "identity")
    rig = NetRig(tmp_path / "net", unique_prefix(), identity)
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()
        left = await rig.host.links(rig.prefix)
        for name in sorted(left, key=lambda n: left[n]["kind"] == "bridge"):
            await rig.host.delete(name)
        await nat.remove(rig.prefix)
        identity.close()
