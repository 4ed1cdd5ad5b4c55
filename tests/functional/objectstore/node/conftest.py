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

    @property
    def running(self) -> bool:
        return self.runner is not None and self.runner.server is not None

    async def start(self) -> None:
        """Start (or restart, on the same port and directories) the node's app."""
        runner = web.AppRunner(make_app(self.settings), access_log=None, shutdown_timeout=5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start()
        self.runner = runner

    async def stop(self) -> None:
        if self.running:
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
        port = port or free_port()
        if settings_kw.get("ip"):
            settings_kw.setdefault("port", port)
        settings = NodeSettings(
            devices_dir=str(root or tmp_path / f"node{count}"),
            devices=list(devices),
            hasher=make_hasher("pre", "suf"),
            device=dev_cfg,
            updater_interval=settings_kw.pop("updater_interval", 0.2),
            account_debounce=settings_kw.pop("account_debounce", 0.05),
            **settings_kw,
        )
        node = RunningNode(port, None, settings)  # type: ignore[arg-type]
        await node.start()
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        await node.stop()


@pytest.fixture
async def client() -> AsyncIterator[NodeClient]:
    session = NodeClient.make_session()
    yield NodeClient(session, conn_timeout=1.0, node_timeout=5.0)
    await session.close()


# --- several nodes sharing rings (replicator, auditor, expirer) ---------------
@dataclass
class RingCluster:
    """Nodes on loopback with rings naming them; background workers run only when asked."""

    ring_dir: Path
    nodes: list[RunningNode]
    client: NodeClient

    def ring(self, kind: str = "object"):
        from ring import Ring

        return Ring(self.ring_dir / f"{kind}.ring", hash_path_prefix="pre", hash_path_suffix="suf")

    def node_of(self, dev) -> RunningNode:
        return next(n for n in self.nodes if n.port == dev.port)

    def device_of(self, dev):
        """The node-side Device object behind a ring device."""
        return self.node_of(dev).state.devices[dev.device]

    async def run(self, worker: str, nodes: list[RunningNode] | None = None) -> list[dict]:
        """One pass of ``worker`` (name prefix: object, container, account, auditor,
        expirer) on each running node, one node after the other."""
        results = []
        for node in nodes or self.nodes:
            if not node.running:
                continue
            (w,) = [w for w in node.state.workers if w.name.startswith(worker)]
            results.append(await w.trigger(30))
        return results

    async def replicate(self, rounds: int = 1) -> None:
        for _ in range(rounds):
            for kind in ("object", "container", "account"):
                await self.run(kind)


@pytest.fixture
async def ring_cluster(start_node, tmp_path: Path, client: NodeClient) -> Callable:
    from ring import build_cluster_rings

    async def make(
        nodes: int = 3, devices: tuple[str, ...] = ("d0",), replicas: int = 3, **settings_kw
    ) -> RingCluster:
        ring_dir = tmp_path / "rings"
        ports = [free_port() for _ in range(nodes)]
        build_cluster_rings(
            ring_dir,
            [("127.0.0.1", p, list(devices)) for p in ports],
            part_power=4,
            replicas=replicas,
            min_part_hours=0,
        )
        started = []
        for port in ports:
            node = await start_node(
                devices,
                port=port,
                ring_dir=str(ring_dir),
                ip="127.0.0.1",
                workers=False,
                **settings_kw,
            )
            started.append(node)
        return RingCluster(ring_dir, started, client)

    return make
