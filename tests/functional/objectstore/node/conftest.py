"""Real storage nodes on free loopback ports, driven through NodeClient."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from objectstore.client import NodeClient
from objectstore.node.device import DeviceConfig, make_hasher
from objectstore.node.server import STATE, NodeSettings, NodeState, make_app
from tests.helpers.net import free_port


@dataclass(frozen=True)
class Dev:
    """Stands in for ring.Device: what NodeClient needs."""

    ip: str
    port: int
    device: str


@dataclass
class RunningNode:
    port: int
    runner: web.AppRunner
    settings: NodeSettings

    @property
    def state(self) -> NodeState:
        return self.runner.app[STATE]

    def dev(self, name: str = "d0") -> Dev:
        return Dev("127.0.0.1", self.port, name)

    async def stop(self) -> None:
        await self.runner.cleanup()


NodeFactory = Callable[..., "RunningNode"]


@pytest.fixture
async def start_node(tmp_path: Path) -> AsyncIterator[Callable]:
    nodes: list[RunningNode] = []
    count = 0

    async def start(
        devices: tuple[str, ...] = ("d0",),
        *,
        port: int | None = None,
        root: Path | None = None,
        **settings_kw,
    ) -> RunningNode:
        nonlocal count
        count += 1
        dev_cfg = settings_kw.pop("device", DeviceConfig(inline_threshold=1024, fsync=True))
        settings = NodeSettings(
            devices_dir=str(root or tmp_path / f"node{count}"),
            devices=list(devices),
            hasher=make_hasher("pre", "suf"),
            device=dev_cfg,
            updater_interval=settings_kw.pop("updater_interval", 0.2),
            account_debounce=settings_kw.pop("account_debounce", 0.05),
            **settings_kw,
        )
        port = port or free_port()
        runner = web.AppRunner(make_app(settings), access_log=None, shutdown_timeout=5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        node = RunningNode(port, runner, settings)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        await node.runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[NodeClient]:
    session = NodeClient.make_session()
    yield NodeClient(session, conn_timeout=1.0, node_timeout=5.0)
    await session.close()
